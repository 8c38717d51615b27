/* What a DNS answer says (dns_answer.c): the status's reason, the records of a reply. */
#ifndef KRBWATCH_DNS_ANSWER_H
#define KRBWATCH_DNS_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/reason.h"

/* The failure reason of an ARES_* status (KW_OK for ARES_SUCCESS). */
enum kw_reason dns_reason(int status);
/* 1 when the resolver did not answer at all (as opposed to an answer that says "no"): ask the next. */
int dns_resolver_failed(int status);

/* One SRV record. */
struct dns_srv {
	char *target;
	uint16_t priority, weight, port;
};

/*
 * The SRV records of a reply, sorted by priority (lowest first), then weight (highest first).
 * Returns an ARES_* status: ARES_SUCCESS with *n > 0, or ARES_ENODATA when the reply holds no
 * SRV record (a reply with only "." as target counts as records: the service says it is absent).
 */
int dns_parse_srv(const unsigned char *abuf, int alen, struct dns_srv **out, size_t *n);
void dns_srv_free(struct dns_srv *, size_t n);

/* One address of an A or AAAA reply. */
struct dns_addr {
	int family;             /* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* 4 or 16 bytes, network order */
};

/*
 * The addresses of an A (rrtype ns_t_a) or AAAA (ns_t_aaaa) reply, following CNAMEs; owner
 * names compare case-insensitively.  Returns ARES_SUCCESS with *n > 0, or an ARES_* status
 * (ARES_ENODATA when there is none).
 */
int dns_parse_addrs(const unsigned char *abuf, int alen, int rrtype, struct dns_addr **out,
    size_t *n);

/* "A", "AAAA", "SRV", ... for the rrtype label. */
const char *dns_rrtype_name(int rrtype);

#endif
