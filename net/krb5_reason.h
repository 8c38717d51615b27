/* What a Kerberos error means for a hop, as one of the fixed `reason` label values. */
#ifndef KRBWATCH_KRB5_REASON_H
#define KRBWATCH_KRB5_REASON_H

#include <krb5/krb5.h>

#include "../conf/config.h"
#include "../lib/reason.h"

enum krb5_hop_kind {
	KRB5_HOP_AS,		/* our own AS exchange: a bad key here is our keytab */
	KRB5_HOP_TGS,		/* a TGS exchange: a bad key here is a trust or service key */
};

/*
 * code: the step function's return value.  etext: the KDC's e-text when known (MIT reports a
 * trust key that does not match as KRB_ERR_GENERIC "PROCESS_TGS", the real reason only in its log).
 */
enum kw_reason krb5_reason(krb5_error_code code, enum krb5_hop_kind, const char *etext);

#endif
