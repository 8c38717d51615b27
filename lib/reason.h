/*
 * Why a step failed: the `reason` label, a documented contract (DESIGN.md).  The ground floor:
 * every floor above names its failures with these, and nothing here knows who failed.
 */
#ifndef KRBWATCH_REASON_H
#define KRBWATCH_REASON_H

/*
 * Why a probe failed: the `reason` label.  A fixed list, never free text; the detail string of
 * probe_done() carries the words for logs and the status page.
 */
enum kw_reason {
	KW_OK = 0,
	KW_R_TIMEOUT,
	KW_R_REFUSED,
	KW_R_UNREACHABLE,
	KW_R_NXDOMAIN,
	KW_R_SERVFAIL,
	KW_R_DNS_REFUSED,
	KW_R_NO_RECORDS,
	KW_R_PREAUTH_FAILED,
	KW_R_PRINCIPAL_UNKNOWN,
	KW_R_CLIENT_REVOKED,
	KW_R_KEY_EXPIRED,
	KW_R_CLOCK_SKEW,
	KW_R_TICKET_NOT_YET_VALID,
	KW_R_ETYPE_NOSUPP,
	KW_R_TRUST_KEY,
	KW_R_NO_REFERRAL,
	KW_R_REFERRAL_LOOP,
	KW_R_ACCESS_DENIED,
	KW_R_WRONG_USER,
	KW_R_SPN_MISMATCH,
	KW_R_TLS,
	KW_R_GSS,
	KW_R_KEY_VERSION,
	KW_R_PROTOCOL,
	KW_R_INTERNAL,
	KW_R_COUNT
};

const char *reason_name(enum kw_reason);

#endif
