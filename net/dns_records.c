/*
 * Parsed queries (dns_records.h): the caller's callback rides dns_query's arg, and the answer is
 * parsed here, once, before it is handed over.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>

#include "../lib/xmalloc.h"
#include "dns_records.h"

struct dns_parsed {
	int rrtype;			/* ns_t_a, ns_t_aaaa, ns_t_srv or ns_t_ptr */
	dns_addrs_cb *acb;
	dns_srvs_cb *scb;
	dns_name_cb *ncb;
	dns_chain_cb *ccb;
	void *arg;
	int family;			/* ns_t_ptr: the address asked, AF_UNSPEC if none */
	unsigned char addr[16];
};

static void
ptr_answer(const struct dns_parsed *q, int status, const unsigned char *abuf, int alen)
{
	struct hostent *he = NULL;

	if (status == ARES_SUCCESS && q->family == AF_UNSPEC)
		status = ARES_EBADNAME;
	if (status == ARES_SUCCESS)
		status = ares_parse_ptr_reply(abuf, alen, q->addr, q->family == AF_INET ? 4 : 16,
		    q->family, &he);
	if (status == ARES_SUCCESS && he->h_name == NULL)
		status = ARES_ENODATA;
	q->ncb(q->arg, status, status == ARES_SUCCESS ? he->h_name : NULL);
	if (he != NULL)
		ares_free_hostent(he);
}

static void
chain_answer(const struct dns_parsed *q, int status, const unsigned char *abuf, int alen)
{
	struct ares_addrttl ttls[8];
	struct hostent *he = NULL;
	int nttl = 8;
	struct dns_cname_chain c;

	if (status == ARES_SUCCESS)
		status = ares_parse_a_reply(abuf, alen, &he, ttls, &nttl);
	if (status == ARES_SUCCESS && he == NULL)
		status = ARES_EBADRESP;
	if (status != ARES_SUCCESS) {
		q->ccb(q->arg, status, NULL);
		return;
	}
	c.aliases = he->h_aliases;
	c.canonical = he->h_name;
	c.ttl = nttl > 0 ? (unsigned)ttls[0].ttl : 0;
	q->ccb(q->arg, status, &c);
	ares_free_hostent(he);
}

static void
parsed_cb(void *arg, int status, int timeouts, const unsigned char *abuf, int alen)
{
	struct dns_parsed *q = arg;
	struct dns_addr *a = NULL;
	struct dns_srv *srv = NULL;
	size_t n = 0;

	(void)timeouts;
	if (q->rrtype == ns_t_ptr)
		ptr_answer(q, status, abuf, alen);
	else if (q->ccb != NULL)
		chain_answer(q, status, abuf, alen);
	else if (q->rrtype == ns_t_srv) {
		if (status == ARES_SUCCESS)
			status = dns_parse_srv(abuf, alen, &srv, &n);
		q->scb(q->arg, status, srv, n);
	} else {
		if (status == ARES_SUCCESS)
			status = dns_parse_addrs(abuf, alen, q->rrtype, &a, &n);
		q->acb(q->arg, status, a, n);
	}
	dns_srv_free(srv, n);
	free(a);
	free(q);
}

static struct dns_parsed *
parsed_new(int rrtype, void *arg)
{
	struct dns_parsed *q = xcalloc(1, sizeof *q);

	q->rrtype = rrtype;
	q->arg = arg;
	return q;
}

void
dns_query_addrs(struct dns_client *c, const char *name, int rrtype, dns_addrs_cb *cb, void *arg)
{
	struct dns_parsed *q = parsed_new(rrtype, arg);

	q->acb = cb;
	dns_query(c, name, ns_c_in, rrtype, parsed_cb, q);
}

void
dns_query_srv(struct dns_client *c, const char *name, dns_srvs_cb *cb, void *arg)
{
	struct dns_parsed *q = parsed_new(ns_t_srv, arg);

	q->scb = cb;
	dns_query(c, name, ns_c_in, ns_t_srv, parsed_cb, q);
}

void
dns_query_chain(struct dns_client *c, const char *name, dns_chain_cb *cb, void *arg)
{
	struct dns_parsed *q = parsed_new(ns_t_a, arg);

	q->ccb = cb;
	dns_query(c, name, ns_c_in, ns_t_a, parsed_cb, q);
}

/* "4.3.2.1.in-addr.arpa", or the nibbles of an IPv6 address under ip6.arpa. */
static void
reverse_name(const struct dns_parsed *q, char *buf, size_t len)
{
	const unsigned char *b = q->addr;
	size_t off = 0;

	if (q->family == AF_INET) {
		snprintf(buf, len, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
		return;
	}
	for (int i = 15; i >= 0 && off + 4 < len; i--)
		off += (size_t)snprintf(buf + off, len - off, "%x.%x.", b[i] & 0xf, b[i] >> 4);
	snprintf(buf + off, len - off, "ip6.arpa");
}

void
dns_query_ptr(struct dns_client *c, const char *ip, dns_name_cb *cb, void *arg)
{
	struct dns_parsed *q = parsed_new(ns_t_ptr, arg);
	char rev[80];

	q->ncb = cb;
	q->family = inet_pton(AF_INET, ip, q->addr) == 1 ? AF_INET :
	    inet_pton(AF_INET6, ip, q->addr) == 1 ? AF_INET6 : AF_UNSPEC;
	/* not an address: asked as it stands, so that the answer still comes from the loop */
	if (q->family == AF_UNSPEC)
		snprintf(rev, sizeof rev, "%s", ip);
	else
		reverse_name(q, rev, sizeof rev);
	dns_query(c, rev, ns_c_in, ns_t_ptr, parsed_cb, q);
}

int
dns_failover(int status, size_t *i, size_t n, void (*ask)(void *), void *arg)
{
	if (!dns_resolver_failed(status) || *i + 1 >= n)
		return 0;
	++*i;
	ask(arg);
	return 1;
}
