/* The KDC probe's messages (kdc_msg.c): what it sends, and what a reply says. */
#ifndef KRBWATCH_KDC_MSG_H
#define KRBWATCH_KDC_MSG_H

#include <stddef.h>

#include <krb5/krb5.h>

#include "../lib/reason.h"

/*
 * A new context on a private profile with no KDC for any realm and no DNS, for one run (the
 * caller frees it): the library builds and parses messages, and any hidden attempt to reach a
 * KDC fails at once.  -1 (logged) when it cannot be made.
 */
int kdc_msg_context(krb5_context *);

/* The first AS-REQ for principal's name in realm, without pre-authentication, into out. */
int kdc_msg_as_req(krb5_context, const char *principal, const char *realm, krb5_data *out);

/* The 7-byte kpasswd request kadmind answers with a kpasswd reply. */
const void *kdc_msg_kpasswd(size_t *len);

/*
 * What a reply says: KW_OK for a KRB-ERROR or AS-REP from port 88, or a kpasswd reply from 464;
 * KW_R_PROTOCOL (with why) for anything else.  *code is the KRB-ERROR code or -1, *stime the
 * KDC's clock when *code is not -1.
 */
enum kw_reason kdc_msg_classify(krb5_context, int kpasswd, const unsigned char *reply,
    size_t len, int *code, double *stime, char *why, size_t whylen);

#endif
