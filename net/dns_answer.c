/*
 * What a DNS answer says, apart from the c-ares channel (dns_client.c): the one mapping of an
 * ARES_* status to a `reason`, and the SRV and address records of a reply.  Pure: nothing here
 * touches the network, so the fuzz target and the unit tests call it with any bytes.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>

#include "../lib/xmalloc.h"
#include "dns_answer.h"

enum kw_reason
dns_reason(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return KW_OK;
	case ARES_ENODATA:
		return KW_R_NO_RECORDS;
	case ARES_ENOTFOUND:
		return KW_R_NXDOMAIN;
	case ARES_ESERVFAIL:
		return KW_R_SERVFAIL;
	case ARES_EREFUSED:
		return KW_R_DNS_REFUSED;
	case ARES_ETIMEOUT:
		return KW_R_TIMEOUT;
	case ARES_ECONNREFUSED:
		return KW_R_REFUSED;
	case ARES_EFORMERR:
	case ARES_ENOTIMP:
	case ARES_EBADRESP:
	case ARES_EOF:
		return KW_R_PROTOCOL;
	default:  /* ENOMEM, EBADNAME, EDESTRUCTION, ...: our side, not the resolver's */
		return KW_R_INTERNAL;
	}
}

static int
srv_cmp(const void *a, const void *b)
{
	const struct dns_srv *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return 0;
}

int
dns_parse_srv(const unsigned char *abuf, int alen, struct dns_srv **out, size_t *n)
{
	struct ares_srv_reply *head = NULL, *r;
	size_t i = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (abuf == NULL || alen <= 0)
		return ARES_EBADRESP;
	if ((rc = ares_parse_srv_reply(abuf, alen, &head)) != ARES_SUCCESS) {
		if (head != NULL)
			ares_free_data(head);
		return rc;
	}
	for (r = head; r != NULL; r = r->next)
		i++;
	if (i == 0) {
		ares_free_data(head);
		return ARES_ENODATA;
	}
	*out = xcalloc(i, sizeof **out);
	for (r = head, i = 0; r != NULL; r = r->next, i++) {
		(*out)[i].target = xstrdup(r->host);
		(*out)[i].priority = r->priority;
		(*out)[i].weight = r->weight;
		(*out)[i].port = r->port;
	}
	*n = i;
	ares_free_data(head);
	qsort(*out, *n, sizeof **out, srv_cmp);
	return ARES_SUCCESS;
}

void
dns_srv_free(struct dns_srv *s, size_t n)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(s[i].target);
	free(s);
}

#define DNS_MAX_ADDRS 256

static void
add_addrs(struct dns_addr **out, size_t *n, int family, const void *first, size_t stride,
    size_t len, int count)
{
	if (count <= 0)
		return;
	*out = xcalloc((size_t)count, sizeof **out);
	for (int i = 0; i < count; i++) {
		(*out)[i].family = family;
		memcpy((*out)[i].addr, (const unsigned char *)first + (size_t)i * stride, len);
	}
	*n = (size_t)count;
}

int
dns_parse_addrs(const unsigned char *abuf, int alen, int rrtype, struct dns_addr **out,
    size_t *n)
{
	int rc, naddr = DNS_MAX_ADDRS;

	*out = NULL;
	*n = 0;
	if (abuf == NULL || alen <= 0)
		return ARES_EBADRESP;
	if (rrtype == ns_t_a) {
		struct ares_addrttl *a = xcalloc(DNS_MAX_ADDRS, sizeof *a);

		if ((rc = ares_parse_a_reply(abuf, alen, NULL, a, &naddr)) == ARES_SUCCESS)
			add_addrs(out, n, AF_INET, &a[0].ipaddr, sizeof *a, 4, naddr);
		free(a);
	} else if (rrtype == ns_t_aaaa) {
		struct ares_addr6ttl *a = xcalloc(DNS_MAX_ADDRS, sizeof *a);

		if ((rc = ares_parse_aaaa_reply(abuf, alen, NULL, a, &naddr)) == ARES_SUCCESS)
			add_addrs(out, n, AF_INET6, &a[0].ip6addr, sizeof *a, 16, naddr);
		free(a);
	} else {
		return ARES_EBADQUERY;
	}
	if (rc == ARES_SUCCESS && *n == 0)
		rc = ARES_ENODATA;
	return rc;
}

const char *
dns_rrtype_name(int rrtype)
{
	switch (rrtype) {
	case ns_t_a:
		return "A";
	case ns_t_aaaa:
		return "AAAA";
	case ns_t_srv:
		return "SRV";
	case ns_t_cname:
		return "CNAME";
	case ns_t_txt:
		return "TXT";
	default:
		return "OTHER";
	}
}

int
dns_resolver_failed(int status)
{
	return status == ARES_ETIMEOUT || status == ARES_ECONNREFUSED || status == ARES_ESERVFAIL ||
	    status == ARES_EREFUSED;
}
