/*
 * A DNS query whose answer comes parsed (dns_records.c): the addresses, the SRV records or the
 * CNAME chain of a name, the name of an address.  Built on dns_client's dns_query and dns_answer's parsers, so that a caller
 * neither parses a reply nor touches c-ares itself.
 */
#ifndef KRBWATCH_DNS_RECORDS_H
#define KRBWATCH_DNS_RECORDS_H

#include <stddef.h>

#include "dns_answer.h"
#include "dns_client.h"

/*
 * The addresses of name, rrtype ns_t_a or ns_t_aaaa (dns_parse_addrs: CNAMEs followed): status
 * ARES_SUCCESS with n > 0 of them, else the ARES_* status (ARES_ENODATA for a reply without
 * any, a reply that does not parse included) and none.
 */
typedef void dns_addrs_cb(void *arg, int status, const struct dns_addr *, size_t n);
void dns_query_addrs(struct dns_client *, const char *name, int rrtype, dns_addrs_cb *,
    void *arg);

/*
 * The SRV records of name (dns_parse_srv: by priority, then weight): status ARES_SUCCESS with
 * n > 0 of them, else the ARES_* status and none.
 */
typedef void dns_srvs_cb(void *arg, int status, const struct dns_srv *, size_t n);
void dns_query_srv(struct dns_client *, const char *name, dns_srvs_cb *, void *arg);

/*
 * The PTR name of an IPv4 or IPv6 address literal: status ARES_SUCCESS with the name, else the
 * ARES_* status (ARES_ENODATA for a reply without one) and NULL.
 */
typedef void dns_name_cb(void *arg, int status, const char *name);
void dns_query_ptr(struct dns_client *, const char *ip, dns_name_cb *, void *arg);

/*
 * The CNAME chain of name's A answer: the aliases in the order the answer gives them (c-ares
 * leaves out the name asked), the canonical name, the first address's TTL (0 if none); status
 * ARES_SUCCESS with it, else the ARES_* status and NULL.
 */
struct dns_cname_chain {
	char *const *aliases;		/* NULL-terminated; NULL when none */
	const char *canonical;		/* NULL when none */
	unsigned ttl;
};
typedef void dns_chain_cb(void *arg, int status, const struct dns_cname_chain *);
void dns_query_chain(struct dns_client *, const char *name, dns_chain_cb *, void *arg);

/*
 * A list of resolvers asked in turn while they fail to answer (dns_resolver_failed): 1 when
 * status says resolver *i did not answer and another follows: *i is then the next one's, and
 * ask(arg) has asked it again; 0 when the answer is to be read.
 */
int dns_failover(int status, size_t *i, size_t n, void (*ask)(void *), void *arg);

/*
 * Every query here delivers as dns_cb does: exactly once, from the loop, ARES_EDESTRUCTION when the client
 * is freed first; what they hand over is valid only during the call.
 */

#endif
