/* The names of the reasons: the values the `reason` label takes. */
#include <stddef.h>

#include "log.h"
#include "reason.h"

static const char *const reason_names[KW_R_COUNT] = {
	[KW_OK] = "ok",
	[KW_R_TIMEOUT] = "timeout",
	[KW_R_REFUSED] = "refused",
	[KW_R_UNREACHABLE] = "unreachable",
	[KW_R_NXDOMAIN] = "nxdomain",
	[KW_R_SERVFAIL] = "servfail",
	[KW_R_DNS_REFUSED] = "dns_refused",
	[KW_R_NO_RECORDS] = "no_records",
	[KW_R_PREAUTH_FAILED] = "preauth_failed",
	[KW_R_PRINCIPAL_UNKNOWN] = "principal_unknown",
	[KW_R_CLIENT_REVOKED] = "client_revoked",
	[KW_R_KEY_EXPIRED] = "key_expired",
	[KW_R_CLOCK_SKEW] = "clock_skew",
	[KW_R_TICKET_NOT_YET_VALID] = "ticket_not_yet_valid",
	[KW_R_ETYPE_NOSUPP] = "etype_nosupp",
	[KW_R_TRUST_KEY] = "trust_key",
	[KW_R_NO_REFERRAL] = "no_referral",
	[KW_R_REFERRAL_LOOP] = "referral_loop",
	[KW_R_ACCESS_DENIED] = "access_denied",
	[KW_R_WRONG_USER] = "wrong_user",
	[KW_R_SPN_MISMATCH] = "spn_mismatch",
	[KW_R_TLS] = "tls",
	[KW_R_GSS] = "gss",
	[KW_R_KEY_VERSION] = "key_version",
	[KW_R_PROTOCOL] = "protocol",
	[KW_R_INTERNAL] = "internal",
};

const char *
reason_name(enum kw_reason r)
{
	if ((unsigned)r >= KW_R_COUNT || reason_names[r] == NULL)
		fatalx("reason %d out of range", (int)r);
	return reason_names[r];
}
