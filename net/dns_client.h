/*
 * A DNS client on the event loop: one c-ares channel bound to ONE resolver address, its sockets
 * and its timer registered with a libevent base (c-ares 1.18.1: ARES_OPT_SOCK_STATE_CB,
 * ares_process_fd, ares_timeout).  One resolver per client, so that one dead resolver is seen
 * even while another answers: c-ares never fails over to a second server behind our back.
 *
 * Callbacks never run inside c-ares, nor inside dns_query(): c-ares's answer is queued and
 * handed over from a loop event of the client.  A callback may therefore start new queries or
 * free the client (its own included), and never re-enters ares_destroy.
 */
#ifndef KRBWATCH_DNS_CLIENT_H
#define KRBWATCH_DNS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "../conf/config.h"
#include "../lib/reason.h"
#include "dns_answer.h"

struct event_base;
struct dns_client;

/*
 * A client of resolver (an IP address literal with its port) on base.  timeout_ms bounds one
 * query: c-ares makes two tries, the first with a third of it, the retry with the double (c-ares
 * doubles per round), so a dead resolver answers ARES_ETIMEOUT within timeout_ms.  Search
 * domains and HOSTALIASES are off; a SERVFAIL/REFUSED/NOTIMP answer is reported as such
 * (ARES_ESERVFAIL, ARES_EREFUSED, ARES_ENOTIMP), not retried, and never confused with a closed
 * port (ARES_ECONNREFUSED).  Returns NULL (and logs why) when resolver is not an IP
 * address or c-ares cannot start.
 */
struct dns_client *dns_client_new(struct event_base *, const struct kw_addr *resolver,
    unsigned timeout_ms);

/*
 * A client of a list of resolvers, "ip[:port],..." (c-ares fails over between them itself), or
 * with servers NULL of the system's resolv.conf and /etc/hosts (the login test drivers' way).
 * For the logins, which want one address for a host name: timeout_ms bounds one dns_getaddr
 * over the whole list, by the same rule as dns_client_new.  NULL with why filled on failure.
 */
struct dns_client *dns_client_new_list(struct event_base *, const char *servers,
    unsigned timeout_ms, char *why, size_t whylen);

/*
 * The answer to one query.  status is an ARES_* code (ARES_SUCCESS, ARES_ENODATA, ARES_ENOTFOUND,
 * ARES_ESERVFAIL, ARES_EREFUSED, ARES_ETIMEOUT, ARES_ECONNREFUSED, ..., ARES_EDESTRUCTION when the
 * client was freed first); abuf/alen is the raw reply when there is one (NULL/0 otherwise), valid
 * only during the call.
 */
typedef void dns_cb(void *arg, int status, int timeouts, const unsigned char *abuf, int alen);

/* Sends name/rrclass/rrtype (ns_c_in, ns_t_srv, ...).  cb runs exactly once, from the loop. */
void dns_query(struct dns_client *, const char *name, int rrclass, int rrtype, dns_cb *,
    void *arg);

/*
 * The first address of a host name (A and AAAA, ares_getaddrinfo), with the port 0: status
 * ARES_SUCCESS with sa, else an ARES_* status (ARES_ENODATA for an answer without an address)
 * and sa NULL.  The same delivery rules as dns_cb: exactly once, from the loop.
 */
struct sockaddr;
typedef void dns_addr_cb(void *arg, int status, const struct sockaddr *sa, unsigned salen);
void dns_getaddr(struct dns_client *, const char *host, dns_addr_cb *, void *arg);

/*
 * dns_getaddr on a client shared by every caller with the same base, resolver list (as
 * dns_client_new_list takes it) and timeout step (timeout_ms rounded down to 500 ms, below
 * 500 ms to a power of two: a lookup still ends within timeout_ms): a Region's logins share a
 * channel instead of making one each, and whatever their deadlines leave them a resolver list
 * has at most 9 channels below 500 ms.  The shared clients live as long as the process.
 * Returns the lookup, for dns_forget until its callback ran; NULL with why filled when no
 * client could be made (cb is then never called).
 */
struct dns_pending;
struct dns_pending *dns_getaddr_shared(struct event_base *, const char *servers,
    unsigned timeout_ms, const char *host, dns_addr_cb *, void *arg, char *why, size_t whylen);
/* A lookup whose callback has not run: it never runs (the answer, when it comes, is dropped). */
void dns_forget(struct dns_pending *);
/* How many shared clients there are (for the tests: they must not grow with the runs). */
size_t dns_shared_count(void);

/*
 * Frees the client.  Every callback not delivered yet runs first, inside this call, with
 * ARES_EDESTRUCTION and no reply; callers must tolerate that.  May be called from a callback of
 * the same client (the rest of its queue is then delivered as ARES_EDESTRUCTION too).  NULL is
 * a no-op, and so is a second call from a callback that runs during the first.
 */
void dns_client_free(struct dns_client *);

/* "ip:port" ("[v6]:port") of the client's resolver: a label value. */
const char *dns_client_resolver(const struct dns_client *);

/* Queries sent whose callback has not run yet. */
size_t dns_client_pending(const struct dns_client *);

#endif
