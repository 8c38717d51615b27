/*
 * Unit tests of net/dns_client.c against a small DNS responder on the same loop (UDP on
 * 127.0.0.1, answers chosen by the first label of the name), a closed port and a silent one:
 * statuses, callbacks exactly once and never inside dns_query, freeing with queries in flight,
 * freeing and querying from inside a callback, the parse helpers and the reason mapping.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <ares.h>
#include <event2/event.h>

#include "../net/dns_client.h"
#include "unit.h"

static struct event_base *base;

/* --- the responder ------------------------------------------------------------------------ */

static size_t
put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
	return 2;
}

static size_t
put_rr_head(unsigned char *p, int upper_owner, const unsigned char *qname, size_t qlen,
    unsigned type)
{
	size_t n = 0;

	if (upper_owner) {      /* the owner written out, in upper case */
		for (size_t i = 0; i < qlen; i++)
			p[n++] = (unsigned char)toupper(qname[i]);
	} else {
		n += put16(p, 0xc00c); /* a pointer to the question's name */
	}
	n += put16(p + n, type);
	n += put16(p + n, ns_c_in);
	n += put16(p + n, 0);
	n += put16(p + n, 60);  /* TTL */
	return n;
}

static void
responder_cb(evutil_socket_t fd, short what, void *arg)
{
	unsigned char q[512], r[1024];
	struct sockaddr_storage from;
	socklen_t fromlen = sizeof from;
	ssize_t len = recvfrom(fd, q, sizeof q, 0, (struct sockaddr *)&from, &fromlen);
	size_t qend = 12, n, ancount = 0;
	unsigned rcode = 0;
	char first[64];

	(void)what;
	(void)arg;
	if (len < 17)
		return;
	while (qend < (size_t)len && q[qend] != 0)
		qend += q[qend] + 1;
	qend += 1 + 4;          /* root label, qtype, qclass */
	if (qend > (size_t)len || q[12] >= sizeof first)
		return;
	memcpy(first, q + 13, q[12]);
	first[q[12]] = '\0';
	if (strcasecmp(first, "drop") == 0)
		return;
	memcpy(r, q, qend);
	n = qend;
	if (strcasecmp(first, "a") == 0) {
		for (int i = 0; i < 2; i++) {
			n += put_rr_head(r + n, i == 1, q + 12, qend - 4 - 12, ns_t_a);
			n += put16(r + n, 4);
			r[n++] = 192; r[n++] = 0; r[n++] = 2; r[n++] = (unsigned char)(10 + i);
			ancount++;
		}
	} else if (strcasecmp(first, "srv") == 0) {
		static const unsigned prio[] = { 20, 10, 10 }, weight[] = { 0, 5, 50 };
		static const unsigned char target[] = "\x03" "dc1" "\x07" "example" "\x00";
		for (int i = 0; i < 3; i++) {
			n += put_rr_head(r + n, 0, NULL, 0, ns_t_srv);
			n += put16(r + n, 6 + sizeof target - 1);
			n += put16(r + n, prio[i]);
			n += put16(r + n, weight[i]);
			n += put16(r + n, 88 + (unsigned)i);
			memcpy(r + n, target, sizeof target - 1);
			n += sizeof target - 1;
			ancount++;
		}
	} else if (strcasecmp(first, "nx") == 0) {
		rcode = 3;
	} else if (strcasecmp(first, "sf") == 0) {
		rcode = 2;
	} else if (strcasecmp(first, "rf") == 0) {
		rcode = 5;
	}                       /* anything else: NOERROR without answers */
	r[2] = (unsigned char)(0x80 | (q[2] & 0x01) | 0x04);  /* QR, RD copied, AA */
	r[3] = (unsigned char)(0x80 | rcode);                  /* RA */
	put16(r + 6, (unsigned)ancount);
	put16(r + 8, 0);
	put16(r + 10, 0);
	(void)sendto(fd, r, n, 0, (struct sockaddr *)&from, fromlen);
}

/* A UDP socket on 127.0.0.1; with cb NULL nobody reads it (a silent resolver). */
static int
udp_socket(uint16_t *port, event_callback_fn cb, struct event **ev)
{
	int fd = unit_udp_socket(port);

	if (cb != NULL) {
		evutil_make_socket_nonblocking(fd);
		*ev = event_new(base, fd, EV_READ | EV_PERSIST, cb, NULL);
		event_add(*ev, NULL);
	}
	return fd;
}

/* --- the client side ---------------------------------------------------------------------- */

struct answer {
	int calls;
	int status;
	int during_query;
	int records;
	struct dns_srv *srv;
	size_t nsrv;
	struct dns_addr *addr;
	size_t naddr;
	double at;              /* seconds after the query */
	struct timespec sent;
	/* actions from inside the callback */
	struct dns_client *free_me;
	struct dns_client *chain_on;
	struct answer *chain_answer;
};

static int in_query;

static double
since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void query(struct dns_client *, const char *, int, struct answer *);

static void
answer_cb(void *arg, int status, int timeouts, const unsigned char *abuf, int alen)
{
	struct answer *a = arg;

	(void)timeouts;
	a->calls++;
	a->status = status;
	a->during_query |= in_query;
	a->at = since(&a->sent);
	if (status == ARES_SUCCESS) {
		if (dns_parse_srv(abuf, alen, &a->srv, &a->nsrv) != ARES_SUCCESS)
			dns_parse_addrs(abuf, alen, ns_t_a, &a->addr, &a->naddr);
	}
	if (a->chain_on != NULL) {
		struct dns_client *c = a->chain_on;
		a->chain_on = NULL;
		query(c, "a.example", ns_t_a, a->chain_answer);
	}
	if (a->free_me != NULL) {
		struct dns_client *c = a->free_me;
		a->free_me = NULL;
		dns_client_free(c);
	}
}

static void
query(struct dns_client *c, const char *name, int type, struct answer *a)
{
	clock_gettime(CLOCK_MONOTONIC, &a->sent);
	in_query = 1;
	dns_query(c, name, ns_c_in, type, answer_cb, a);
	in_query = 0;
}

static void
guard_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* Runs the loop until every answer has a call, or 3 s passed. */
static void
run_until(struct answer *const *as, size_t n)
{
	int expired = 0;
	struct timeval tv = { 3, 0 };
	struct event *guard = evtimer_new(base, guard_cb, &expired);

	evtimer_add(guard, &tv);
	for (;;) {
		size_t i;
		for (i = 0; i < n && as[i]->calls > 0; i++)
			;
		if (i == n || expired)
			break;
		event_base_loop(base, EVLOOP_ONCE);
	}
	event_free(guard);
}

static void
ignore_addr(void *arg, int status, const struct sockaddr *sa, unsigned salen)
{
}

static struct dns_client *
client(uint16_t port, unsigned timeout_ms)
{
	struct kw_addr ad = { .host = (char *)(uintptr_t)"127.0.0.1", .port = port };

	return dns_client_new(base, &ad, timeout_ms);
}

int
main(void)
{
	struct event *rev = NULL;
	uint16_t port, silent_port, dead_port;
	int silent_fd, dead_fd;
	struct dns_client *c, *c2;
	struct answer a = { 0 }, srv = { 0 }, nx = { 0 }, sf = { 0 }, rf = { 0 }, nodata = { 0 },
	    bad = { 0 }, drop = { 0 }, dead = { 0 };
	char longname[400];
	char what[160];

	base = event_base_new();
	udp_socket(&port, responder_cb, &rev);
	silent_fd = udp_socket(&silent_port, NULL, NULL);
	dead_fd = udp_socket(&dead_port, NULL, NULL);
	close(dead_fd);         /* nothing listens there now: UDP is answered port unreachable */

	{
		struct kw_addr ad = { .host = (char *)(uintptr_t)"resolver.example", .port = 53 };
		check(dns_client_new(base, &ad, 500) == NULL, "a resolver that is not an IP address is refused");
	}
	c = client(port, 600);
	check(c != NULL, "dns_client_new");
	snprintf(what, sizeof what, "127.0.0.1:%u", port);
	check(strcmp(dns_client_resolver(c), what) == 0, "dns_client_resolver is ip:port");
	{
		struct kw_addr ad = { .host = (char *)(uintptr_t)"::1", .port = 5353 };
		struct dns_client *c6 = dns_client_new(base, &ad, 500);
		check(c6 != NULL && strcmp(dns_client_resolver(c6), "[::1]:5353") == 0,
		    "an IPv6 resolver is labelled [v6]:port");
		dns_client_free(c6);
	}

	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	query(c, "a.Example", ns_t_a, &a);
	query(c, "srv.example", ns_t_srv, &srv);
	query(c, "nx.example", ns_t_a, &nx);
	query(c, "sf.example", ns_t_a, &sf);
	query(c, "rf.example", ns_t_a, &rf);
	query(c, "nodata.example", ns_t_aaaa, &nodata);
	query(c, longname, ns_t_a, &bad);
	check(bad.calls == 0, "a query c-ares fails at once is not answered inside dns_query");
	check(dns_client_pending(c) == 7, "seven queries pending");
	{
		struct answer *all[] = { &a, &srv, &nx, &sf, &rf, &nodata, &bad };
		run_until(all, 7);
		int once = 1, inside = 0;
		for (size_t i = 0; i < 7; i++) {
			once &= all[i]->calls == 1;
			inside |= all[i]->during_query;
		}
		check(once, "every callback ran exactly once");
		check(!inside, "no callback ran inside dns_query");
	}
	check(dns_client_pending(c) == 0, "nothing pending after the answers");
	check(a.status == ARES_SUCCESS && a.naddr == 2, "A: 2 addresses (owner names in any case)");
	check(a.naddr == 2 && a.addr[0].family == AF_INET && a.addr[1].addr[3] == 11,
	    "A: the addresses are parsed");
	check(srv.status == ARES_SUCCESS && srv.nsrv == 3, "SRV: 3 records");
	check(srv.nsrv == 3 && srv.srv[0].priority == 10 && srv.srv[0].weight == 50 &&
	    srv.srv[1].weight == 5 && srv.srv[2].priority == 20 && srv.srv[2].port == 88,
	    "SRV: sorted by priority, then weight (highest first)");
	check(srv.nsrv == 3 && strcmp(srv.srv[0].target, "dc1.example") == 0, "SRV: target parsed");
	check(nx.status == ARES_ENOTFOUND, "NXDOMAIN is ARES_ENOTFOUND");
	check(sf.status == ARES_ESERVFAIL, "SERVFAIL is ARES_ESERVFAIL (not ECONNREFUSED)");
	check(rf.status == ARES_EREFUSED, "REFUSED is ARES_EREFUSED (not ECONNREFUSED)");
	check(nodata.status == ARES_ENODATA, "NOERROR without answers is ARES_ENODATA");
	check(bad.status == ARES_EBADNAME, "an over-long name is ARES_EBADNAME");
	{
		struct dns_srv *s;
		struct dns_addr *ad;
		size_t n;
		check(dns_parse_srv(NULL, 0, &s, &n) != ARES_SUCCESS && s == NULL && n == 0,
		    "dns_parse_srv of nothing fails cleanly");
		check(dns_parse_addrs(NULL, 0, ns_t_a, &ad, &n) != ARES_SUCCESS && ad == NULL && n == 0,
		    "dns_parse_addrs of nothing fails cleanly");
	}

	/* a dead port and a silent one */
	c2 = client(dead_port, 600);
	query(c2, "a.example", ns_t_a, &dead);
	{
		struct answer *all[] = { &dead };
		run_until(all, 1);
	}
	check(dead.calls == 1 && dead.status == ARES_ECONNREFUSED, "a closed port is ARES_ECONNREFUSED");
	check(dead.at < 0.3, "... and fails fast");
	dns_client_free(c2);
	c2 = client(silent_port, 600);
	query(c2, "a.example", ns_t_a, &drop);
	{
		struct answer *all[] = { &drop };
		run_until(all, 1);
	}
	check(drop.calls == 1 && drop.status == ARES_ETIMEOUT, "a silent resolver is ARES_ETIMEOUT");
	snprintf(what, sizeof what, "... within the 600 ms budget (after %.3f s)", drop.at);
	check(drop.at >= 0.5 && drop.at < 0.65, what);
	dns_client_free(c2);

	/* freeing with queries in flight, and with answers queued but not delivered */
	{
		struct answer p1 = { 0 }, p2 = { 0 }, p3 = { 0 };
		c2 = client(port, 600);
		query(c2, "drop.example", ns_t_a, &p1);
		query(c2, "drop.example", ns_t_srv, &p2);
		query(c2, longname, ns_t_a, &p3);  /* answered at once: queued, not handed over */
		dns_client_free(c2);
		check(p1.calls == 1 && p1.status == ARES_EDESTRUCTION &&
		    p2.calls == 1 && p2.status == ARES_EDESTRUCTION,
		    "dns_client_free runs pending callbacks once, with ARES_EDESTRUCTION");
		check(p3.calls == 1 && p3.status == ARES_EDESTRUCTION,
		    "an answer queued but not handed over runs once too, as ARES_EDESTRUCTION");
		event_base_loop(base, EVLOOP_NONBLOCK);
		check(p1.calls == 1 && p2.calls == 1 && p3.calls == 1, "and never again afterwards");
	}

	/* freeing the client from inside its own callback, with another answer queued */
	{
		struct answer x1 = { 0 }, x2 = { 0 }, x3 = { 0 };
		c2 = client(port, 600);
		x1.free_me = c2;
		query(c2, longname, ns_t_a, &x1);  /* both answered at once, one batch */
		query(c2, longname, ns_t_a, &x2);
		query(c2, "drop.example", ns_t_a, &x3);
		{
			struct answer *all[] = { &x1, &x2, &x3 };
			run_until(all, 3);
		}
		check(x1.calls == 1 && x1.status == ARES_EBADNAME, "a callback may free its client");
		check(x2.calls == 1 && x2.status == ARES_EDESTRUCTION && x3.calls == 1 &&
		    x3.status == ARES_EDESTRUCTION,
		    "the rest of the batch and the unanswered run once each, with ARES_EDESTRUCTION");
	}

	/* a new query from inside a callback */
	{
		struct answer y1 = { 0 }, y2 = { 0 };
		y1.chain_on = c;
		y1.chain_answer = &y2;
		query(c, "nodata.example", ns_t_a, &y1);
		{
			struct answer *all[] = { &y1, &y2 };
			run_until(all, 2);
		}
		check(y1.calls == 1 && y2.calls == 1 && y2.status == ARES_SUCCESS && !y2.during_query,
		    "a callback may send the next query");
		free(y2.addr);
	}

	/* a query sent from a callback that dns_client_free runs */
	{
		struct answer z1 = { 0 }, z2 = { 0 };
		c2 = client(port, 600);
		z1.chain_on = c2;
		z1.chain_answer = &z2;
		query(c2, "drop.example", ns_t_a, &z1);
		dns_client_free(c2);
		check(z1.calls == 1 && z2.calls == 1 && z2.status == ARES_EDESTRUCTION,
		    "a query sent while the client is being freed is answered ARES_EDESTRUCTION");
	}

	/* the shared clients: a few per resolver list, whatever time the logins have left */
	{
		char servers[64], why[160];
		size_t before = dns_shared_count();
		int made = 1;

		snprintf(servers, sizeof servers, "127.0.0.1:%u", port);
		for (unsigned ms = 1; ms <= 1600; ms++) {
			struct dns_pending *p = dns_getaddr_shared(base, servers, ms, "a.example",
			    ignore_addr, NULL, why, sizeof why);

			made &= p != NULL;
			dns_forget(p);
		}
		event_base_loop(base, EVLOOP_NONBLOCK);
		snprintf(what, sizeof what, "1,600 timeouts share 12 clients (9 powers of two below "
		    "500 ms, 3 steps of 500 ms): %zu", dns_shared_count() - before);
		check(made && dns_shared_count() - before == 12, what);
	}

	check(dns_reason(ARES_SUCCESS) == KW_OK && dns_reason(ARES_ENODATA) == KW_R_NO_RECORDS &&
	    dns_reason(ARES_ENOTFOUND) == KW_R_NXDOMAIN && dns_reason(ARES_ESERVFAIL) == KW_R_SERVFAIL &&
	    dns_reason(ARES_EREFUSED) == KW_R_DNS_REFUSED && dns_reason(ARES_ETIMEOUT) == KW_R_TIMEOUT &&
	    dns_reason(ARES_ECONNREFUSED) == KW_R_REFUSED && dns_reason(ARES_EBADRESP) == KW_R_PROTOCOL &&
	    dns_reason(ARES_ENOMEM) == KW_R_INTERNAL, "dns_reason maps ARES statuses to reasons");
	check(strcmp(dns_rrtype_name(ns_t_a), "A") == 0 && strcmp(dns_rrtype_name(ns_t_aaaa), "AAAA") == 0 &&
	    strcmp(dns_rrtype_name(ns_t_srv), "SRV") == 0, "dns_rrtype_name");

	dns_client_free(c);
	dns_client_free(NULL);
	free(a.addr);
	dns_srv_free(srv.srv, srv.nsrv);
	event_free(rev);
	close(silent_fd);
	event_base_free(base);
	return failed;
}
