/*
 * The KDC probe's messages, apart from its run (kdc.c): the AS-REQ it sends to port 88, the
 * kpasswd request to 464, and what a reply says.  Nothing here touches the network; the fuzz
 * target drives kdc_msg_classify with any bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <krb5/krb5.h>
#include <profile.h>

#include "../lib/log.h"
#include "../net/krb5_env.h"
#include "kdc_msg.h"

#define KRB_ERROR_TAG 0x7e		/* [APPLICATION 30] */
#define AS_REP_TAG 0x6b			/* [APPLICATION 11] */
#define KRB_PRIV_TAG 0x75		/* [APPLICATION 21] */

/* The smallest kpasswd request kadmind answers: length 7, version 1, no AP-REQ, one byte. */
static const unsigned char kpasswd_probe[] = { 0x00, 0x07, 0x00, 0x01, 0x00, 0x00, 0x00 };

const void *
kdc_msg_kpasswd(size_t *len)
{
	*len = sizeof kpasswd_probe;
	return kpasswd_probe;
}

/*
 * A context on a private profile with no KDC for any realm and no DNS: the library can build
 * and parse messages, and any hidden attempt to reach a KDC fails at once (PROTOCOLS.md 6.6).
 * The profile is net/krb5_env.c's, the process's one (a memfd that stays open).
 */
int
kdc_msg_context(krb5_context *out)
{
	const char *path;
	profile_t prof = NULL;
	long perr;
	krb5_error_code rc;

	if ((path = krb5_env_profile()) == NULL)
		return -1;
	if ((perr = profile_init_path(path, &prof)) != 0) {
		log_err("kdc probe: profile_init_path: %s", error_message(perr));
		return -1;
	}
	rc = krb5_init_context_profile(prof, KRB5_INIT_CONTEXT_SECURE, out);
	profile_release(prof);
	if (rc != 0) {
		log_err("kdc probe: krb5_init_context_profile: %s", error_message(rc));
		*out = NULL;
		return -1;
	}
	return 0;
}

/*
 * The first AS-REQ of an exchange for the monitoring principal's name in realm, without
 * pre-authentication, made by the library and never sent by it.
 */
int
kdc_msg_as_req(krb5_context kctx, const char *principal, const char *realm, krb5_data *out)
{
	krb5_principal me = NULL;
	krb5_get_init_creds_opt *opt = NULL;
	krb5_init_creds_context icc = NULL;
	krb5_data in = { 0 }, rrealm = { 0 };
	unsigned int flags = 0;
	krb5_error_code rc;

	out->data = NULL;
	out->length = 0;
	if ((rc = krb5_parse_name(kctx, principal, &me)) != 0 ||
	    (rc = krb5_set_principal_realm(kctx, me, realm)) != 0 ||
	    (rc = krb5_get_init_creds_opt_alloc(kctx, &opt)) != 0 ||
	    (rc = krb5_init_creds_init(kctx, me, NULL, NULL, 0, opt, &icc)) != 0 ||
	    (rc = krb5_init_creds_step(kctx, icc, &in, out, &rrealm, &flags)) != 0)
		log_warn("kdc probe: building an AS-REQ for %s in %s: %s", principal, realm,
		    error_message(rc));
	else if (!(flags & KRB5_INIT_CREDS_STEP_FLAG_CONTINUE) || out->length == 0)
		rc = -1;
	krb5_free_data_contents(kctx, &rrealm);
	if (icc != NULL)
		krb5_init_creds_free(kctx, icc);
	if (opt != NULL)
		krb5_get_init_creds_opt_free(kctx, opt);
	if (me != NULL)
		krb5_free_principal(kctx, me);
	if (rc != 0)
		krb5_free_data_contents(kctx, out);
	return rc == 0 ? 0 : -1;
}

/* Reads a KRB-ERROR: its code and the KDC's time.  Returns -1 when it does not decode. */
static int
read_krb_error(krb5_context kctx, const unsigned char *p, size_t len, int *code, double *stime)
{
	krb5_data d = { .magic = KV5M_DATA, .length = (unsigned)len, .data = (char *)(uintptr_t)p };
	krb5_error *err = NULL;

	if (len == 0 || p[0] != KRB_ERROR_TAG || krb5_rd_error(kctx, &d, &err) != 0)
		return -1;
	*code = (int)err->error;
	/* MIT 1.20 gets the microseconds wrong within a second (krb5 #9141): good to about 1 s */
	*stime = (double)err->stime + (err->susec >= 0 && err->susec < 1000000 ?
	    (double)err->susec / 1e6 : 0);
	krb5_free_error(kctx, err);
	return 0;
}

/*
 * A kpasswd reply (RFC 3244): length, version, AP-REP length, AP-REP, then KRB-PRIV or KRB-ERROR.
 * Our request has no AP-REQ, so the answer is a KRB-ERROR (MIT: result code 3 in its e-data).
 * A bare KRB-ERROR is accepted too: some servers answer a malformed request that way.
 */
static int
read_kpasswd_reply(krb5_context kctx, const unsigned char *p, size_t len, int *code, double *stime)
{
	size_t msglen, aplen;
	unsigned version;

	if (len > 0 && p[0] == KRB_ERROR_TAG)
		return read_krb_error(kctx, p, len, code, stime);
	if (len < 6)
		return -1;
	msglen = (size_t)p[0] << 8 | p[1];
	version = (unsigned)p[2] << 8 | p[3];
	aplen = (size_t)p[4] << 8 | p[5];
	if (msglen != len || (version != 1 && version != 0xff80) || 6 + aplen >= len)
		return -1;
	if (aplen == 0)
		return read_krb_error(kctx, p + 6, len - 6, code, stime);
	/* an AP-REP and a KRB-PRIV: a full answer, nothing we can read without a key */
	return p[6 + aplen] == KRB_PRIV_TAG ? 0 : -1;
}

/*
 * What a reply says: KW_OK for a KRB-ERROR or AS-REP from port 88, or a kpasswd reply from 464;
 * KW_R_PROTOCOL (with why) for anything else.  *code is the KRB-ERROR code or -1, *stime the
 * KDC's clock when *code is not -1.
 */
enum kw_reason
kdc_msg_classify(krb5_context kctx, int kpasswd, const unsigned char *reply, size_t len, int *code, double *stime,
    char *why, size_t whylen)
{
	*code = -1;
	*stime = 0;
	if (kpasswd) {
		if (read_kpasswd_reply(kctx, reply, len, code, stime) == -1) {
			snprintf(why, whylen, "a %zu-byte answer that is no kpasswd reply", len);
			return KW_R_PROTOCOL;
		}
	} else if (len > 0 && reply[0] == AS_REP_TAG) {
		/* an AS-REP: the principal needs no pre-authentication here; no clear-text time */
	} else if (read_krb_error(kctx, reply, len, code, stime) == -1) {
		snprintf(why, whylen, "a %zu-byte answer that is neither KRB-ERROR nor AS-REP", len);
		return KW_R_PROTOCOL;
	}
	return KW_OK;
}
