#include <string.h>

#include "krb5_reason.h"

enum kw_reason
krb5_reason(krb5_error_code code, enum krb5_hop_kind kind, const char *etext)
{
	switch (code) {
	case 0:
		return KW_OK;
	case KRB5KDC_ERR_PREAUTH_FAILED:
		return KW_R_PREAUTH_FAILED;
	case KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN:
	case KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN:
		return KW_R_PRINCIPAL_UNKNOWN;
	case KRB5KDC_ERR_CLIENT_REVOKED:
		return KW_R_CLIENT_REVOKED;
	case KRB5KDC_ERR_KEY_EXP:
	case KRB5KDC_ERR_NAME_EXP:
		return KW_R_KEY_EXPIRED;
	case KRB5KRB_AP_ERR_SKEW:
		return KW_R_CLOCK_SKEW;
	case KRB5KRB_AP_ERR_TKT_NYV:
		return KW_R_TICKET_NOT_YET_VALID;
	case KRB5KDC_ERR_ETYPE_NOSUPP:
	case KRB5_PROG_ETYPE_NOSUPP:
		return KW_R_ETYPE_NOSUPP;
	case KRB5KRB_AP_ERR_BAD_INTEGRITY:
	case KRB5KRB_AP_ERR_MODIFIED:
	case KRB5KRB_AP_ERR_BADKEYVER:
	case KRB5_KT_NOTFOUND:
	case KRB5_KT_KVNONOTFOUND:
		/* in our AS exchange a key that does not fit is our keytab's, else a trust's */
		return kind == KRB5_HOP_AS ? KW_R_PREAUTH_FAILED : KW_R_TRUST_KEY;
	case KRB5KRB_ERR_GENERIC:
		if (kind == KRB5_HOP_TGS && etext != NULL && strstr(etext, "PROCESS_TGS") != NULL)
			return KW_R_TRUST_KEY;
		return KW_R_PROTOCOL;
	case KRB5KDC_ERR_WRONG_REALM:
	case KRB5_REALM_UNKNOWN:
		return KW_R_NO_REFERRAL;
	case KRB5_KDC_UNREACH:
		/* MIT's word for a referral loop too; the caller tells them apart by the realms seen */
		return KW_R_UNREACHABLE;
	default:
		return KW_R_PROTOCOL;
	}
}
