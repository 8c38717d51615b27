#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5/krb5.h>

#include "../lib/xmalloc.h"
#include "gss_token.h"

struct gss_token {
	gss_cred_id_t cred;
	struct shared_cred *shared;	/* cred is that slot's (borrowed), or NULL: cred is ours */
	gss_name_t target;		/* the krb5 mechanism's name, ours until names_put */
	char *spn;
	gss_ctx_id_t ctx;
	int complete;
};

/*
 * The targets as the krb5 mechanism's names (gss_canonicalize_name), kept from one login to
 * the next of the same SPN.  With a name that is not yet a mechanism name, MIT's
 * gss_init_sec_context imports it into the mechanism and releases it again on every call, and
 * its krb5 mechanism makes a krb5_context for each (the profile opened again, its file
 * access()ed and stat()ed): four of the six contexts a login made.  A login takes its SPN's
 * name out (another login of the same SPN at the same time makes its own) and puts it back;
 * at most NAMES_MAX are kept.  A name is krb5_parse_name of the SPN, nothing of the
 * configuration: kept across reloads.
 */
#define NAME_BUCKETS 1024
#define NAMES_MAX 4096
static struct kept_name {
	struct kept_name *next;
	gss_name_t name;
	char spn[];
} *names[NAME_BUCKETS];
static size_t nnames;

/*
 * One credential per cache name, shared by the logins that use the cache (a few branches of a
 * run each, probes/chain.c), not acquired per login: gss_init_sec_context reads the cache on
 * each call, so the service tickets stored after the credential was acquired are seen.  A
 * run's caches have names of their own (never reused), so a slot is never stale; its owner
 * releases it with the cache (gss_token_forget), else the least recently used free one goes
 * first.  Every slot busy: the login acquires its own.
 */
#define SHARED_CREDS 64
static struct shared_cred {
	char *ccache;
	gss_cred_id_t cred;
	unsigned refs;			/* tokens using it */
	unsigned long used;		/* when last taken, for the choice of a slot */
} shared_creds[SHARED_CREDS];
static unsigned long creds_clock;

static void
set_err(struct gss_token_err *err, enum kw_reason r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_err(struct gss_token_err *err, enum kw_reason r, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	err->reason = r;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof err->text, fmt, ap);
	va_end(ap);
}

/* Appends every message gss_display_status has for one status value. */
static void
append_status(char *buf, size_t size, OM_uint32 code, int type)
{
	OM_uint32 minor, ctx = 0;
	gss_buffer_desc msg;
	size_t used;

	do {
		if (GSS_ERROR(gss_display_status(&minor, code, type, GSS_C_NO_OID, &ctx, &msg)))
			return;
		used = strlen(buf);
		if (used + 3 < size)
			snprintf(buf + used, size - used, "%s%.*s", used ? ": " : "", (int)msg.length,
			    (const char *)msg.value);
		gss_release_buffer(&minor, &msg);
	} while (ctx != 0);
}

/* The minor status says more than the major one when there is one. */
static void
set_gss_err(struct gss_token_err *err, const char *call, OM_uint32 major, OM_uint32 minor)
{
	char words[160] = "";

	if (err == NULL)
		return;
	if (minor != 0)
		append_status(words, sizeof words, minor, GSS_C_MECH_CODE);
	else
		append_status(words, sizeof words, major, GSS_C_GSS_CODE);
	set_err(err, gss_token_reason(major, minor), "%s: %s", call, words[0] ? words : "failed");
}

enum kw_reason
gss_token_krb5_reason(long code)
{
	switch ((krb5_error_code)code) {
	case 0:
		return KW_OK;
	case KRB5KRB_AP_ERR_SKEW:
		return KW_R_CLOCK_SKEW;
	case KRB5KRB_AP_ERR_TKT_NYV:
		return KW_R_TICKET_NOT_YET_VALID;
	/*
	 * At the login every key problem is the service's key: the server cannot find or use the
	 * key our ticket is encrypted in (stale keytab after a rotation, SPN on another account).
	 */
	case KRB5KRB_AP_ERR_BADKEYVER:
	case KRB5_KT_KVNONOTFOUND:
	case KRB5_KT_NOTFOUND:
	case KRB5KRB_AP_ERR_MODIFIED:
	case KRB5KRB_AP_ERR_BAD_INTEGRITY:
		return KW_R_KEY_VERSION;
	case KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN:
	case KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN:
		return KW_R_PRINCIPAL_UNKNOWN;
	case KRB5KDC_ERR_ETYPE_NOSUPP:
	case KRB5_PROG_ETYPE_NOSUPP:
		return KW_R_ETYPE_NOSUPP;
	case KRB5KDC_ERR_CLIENT_REVOKED:
		return KW_R_CLIENT_REVOKED;
	case KRB5KDC_ERR_KEY_EXP:
		return KW_R_KEY_EXPIRED;
	case KRB5KRB_ERR_GENERIC:
	default:
		return KW_R_GSS;
	}
}

static int
is_krb5_code(long code)
{
	return code >= ERROR_TABLE_BASE_krb5 && code < ERROR_TABLE_BASE_krb5 + 256;
}

enum kw_reason
gss_token_reason(unsigned major, unsigned minor)
{
	long code = (int32_t)minor;
	enum kw_reason r;

	if (minor != 0 && is_krb5_code(code) && (r = gss_token_krb5_reason(code)) != KW_OK)
		return r;
	if (major == GSS_S_COMPLETE)
		return KW_OK;
	return KW_R_GSS;
}

/* Case-insensitive strstr over a NUL-terminated text. */
static int
has_words(const char *text, const char *words)
{
	size_t n = strlen(words);

	for (; *text != '\0'; text++)
		if (strncasecmp(text, words, n) == 0)
			return 1;
	return 0;
}

enum kw_reason
gss_token_server_text_reason(const char *text)
{
	const char *p;
	enum kw_reason r;

	/* "(major 851968, minor 2529638949)": the minor status is a krb5 code as unsigned */
	for (p = text; (p = strstr(p, "minor ")) != NULL; p++) {
		char *end;
		unsigned long long v;

		p += 6;
		if (!isdigit((unsigned char)*p))
			continue;
		v = strtoull(p, &end, 10);
		if (v > 0 && v <= UINT32_MAX && is_krb5_code((int32_t)(uint32_t)v) &&
		    (r = gss_token_krb5_reason((int32_t)(uint32_t)v)) != KW_R_GSS && r != KW_OK)
			return r;
	}
	if (has_words(text, "kvno") || has_words(text, "Cannot find key") ||
	    has_words(text, "Key version"))
		return KW_R_KEY_VERSION;
	if (has_words(text, "Clock skew"))
		return KW_R_CLOCK_SKEW;
	if (has_words(text, "not yet valid"))
		return KW_R_TICKET_NOT_YET_VALID;
	if (has_words(text, "integrity check failed") || has_words(text, "stream modified"))
		return KW_R_KEY_VERSION;
	return KW_R_ACCESS_DENIED;
}

/*
 * The context the cache lookups use: one for the process (MEMORY caches are the process's, not
 * a context's), made again after a reload (gss_token_reload), not once per login.
 */
static krb5_context lookup_ctx;

void
gss_token_reload(void)
{
	if (lookup_ctx != NULL)
		krb5_free_context(lookup_ctx);
	lookup_ctx = NULL;
}

static krb5_context
lookup_context(struct gss_token_err *err)
{
	krb5_error_code ret;

	if (lookup_ctx == NULL && (ret = krb5_init_context(&lookup_ctx)) != 0) {
		lookup_ctx = NULL;
		set_err(err, KW_R_INTERNAL, "krb5_init_context: error %ld", (long)ret);
	}
	return lookup_ctx;
}

int
gss_token_have_ticket(const char *ccache, const char *spn, struct gss_token_err *err)
{
	krb5_context k = NULL;
	krb5_ccache cc = NULL;
	krb5_creds mcreds, creds;
	krb5_principal client = NULL, server = NULL;
	krb5_timestamp now;
	krb5_error_code ret;
	const char *what;
	int have = -1;

	memset(&mcreds, 0, sizeof mcreds);
	if ((k = lookup_context(err)) == NULL)
		return -1;
	what = "resolving the cache";
	if ((ret = krb5_cc_resolve(k, ccache, &cc)) != 0)
		goto fail;
	what = "reading the cache's principal";
	if ((ret = krb5_cc_get_principal(k, cc, &client)) != 0)
		goto fail;
	what = "parsing the SPN";
	if ((ret = krb5_parse_name(k, spn, &server)) != 0)
		goto fail;
	if ((ret = krb5_timeofday(k, &now)) != 0)
		goto fail;
	mcreds.client = client;
	mcreds.server = server;
	mcreds.times.endtime = now;
	ret = krb5_cc_retrieve_cred(k, cc, KRB5_TC_MATCH_TIMES, &mcreds, &creds);
	if (ret == 0) {
		krb5_free_cred_contents(k, &creds);
		have = 1;
	} else if (ret == KRB5_CC_NOTFOUND || ret == KRB5_CC_END) {
		have = 0;
	} else {
		what = "searching the cache";
		goto fail;
	}
	goto out;
fail:
	if (err != NULL) {
		const char *m = krb5_get_error_message(k, ret);

		set_err(err, gss_token_krb5_reason(ret), "%s %s: %s", what, ccache, m);
		krb5_free_error_message(k, m);
	}
out:
	krb5_free_principal(k, server);
	krb5_free_principal(k, client);
	if (cc != NULL)
		krb5_cc_close(k, cc);
	return have;
}

static OM_uint32
cred_acquire(const char *ccache, gss_cred_id_t *cred, struct gss_token_err *err)
{
	gss_key_value_element_desc el = { "ccache", ccache };
	gss_key_value_set_desc store = { 1, &el };
	gss_OID_set_desc mechs = { 1, (gss_OID)gss_mech_krb5 };
	OM_uint32 major, minor;

	major = gss_acquire_cred_from(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs,
	    GSS_C_INITIATE, &store, cred, NULL, NULL);
	if (GSS_ERROR(major))
		set_gss_err(err, "gss_acquire_cred_from", major, minor);
	return major;
}

/* t's credential for ccache: the shared slot's, a new one in a free slot, or its own. */
static int
cred_take(struct gss_token *t, const char *ccache, struct gss_token_err *err)
{
	struct shared_cred *slot = NULL;
	OM_uint32 minor;

	for (size_t i = 0; i < SHARED_CREDS; i++) {
		struct shared_cred *c = &shared_creds[i];

		if (c->ccache != NULL && strcmp(c->ccache, ccache) == 0) {
			slot = c;
			break;
		}
		if (c->refs == 0 && (slot == NULL || c->used < slot->used))
			slot = c;
	}
	if (slot == NULL)	/* every slot in use by other caches' logins */
		return GSS_ERROR(cred_acquire(ccache, &t->cred, err)) ? -1 : 0;
	if (slot->ccache == NULL || strcmp(slot->ccache, ccache) != 0) {
		if (slot->cred != GSS_C_NO_CREDENTIAL)
			gss_release_cred(&minor, &slot->cred);
		free(slot->ccache);
		slot->ccache = NULL;
		if (GSS_ERROR(cred_acquire(ccache, &slot->cred, err)))
			return -1;
		slot->ccache = xstrdup(ccache);
	}
	slot->refs++;
	slot->used = ++creds_clock;
	t->shared = slot;
	t->cred = slot->cred;
	return 0;
}

static size_t
name_bucket(const char *spn)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *spn != '\0'; spn++)
		h = (h ^ (unsigned char)*spn) * 16777619u;
	return h % NAME_BUCKETS;
}

/* The kept name of spn, now the caller's; GSS_C_NO_NAME when none is kept. */
static gss_name_t
names_take(const char *spn)
{
	struct kept_name **pp = &names[name_bucket(spn)], *k;
	gss_name_t name;

	for (; (k = *pp) != NULL; pp = &k->next) {
		if (strcmp(k->spn, spn) != 0)
			continue;
		*pp = k->next;
		name = k->name;
		free(k);
		nnames--;
		return name;
	}
	return GSS_C_NO_NAME;
}

/* Keeps name (a mechanism name of spn) for the next login, or releases it. */
static void
names_put(const char *spn, gss_name_t name)
{
	struct kept_name **pp = &names[name_bucket(spn)], *k;
	size_t len = strlen(spn) + 1;
	OM_uint32 minor;

	for (k = *pp; k != NULL; k = k->next)
		if (strcmp(k->spn, spn) == 0)
			break;
	if (k != NULL || nnames >= NAMES_MAX) {
		gss_release_name(&minor, &name);
		return;
	}
	k = xmalloc(sizeof *k + len);
	memcpy(k->spn, spn, len);
	k->name = name;
	k->next = *pp;
	*pp = k;
	nnames++;
}

void
gss_token_forget(const char *ccache)
{
	OM_uint32 minor;

	for (size_t i = 0; i < SHARED_CREDS; i++) {
		struct shared_cred *c = &shared_creds[i];

		if (c->ccache == NULL || c->refs != 0 || strcmp(c->ccache, ccache) != 0)
			continue;
		gss_release_cred(&minor, &c->cred);
		free(c->ccache);
		c->ccache = NULL;
		c->used = 0;
	}
}

struct gss_token *
gss_token_new(const char *ccache, const char *spn, struct gss_token_err *err)
{
	struct gss_token *t = xcalloc(1, sizeof *t);
	gss_name_t imported = GSS_C_NO_NAME;
	gss_buffer_desc name;
	OM_uint32 major, minor, m2;

	t->cred = GSS_C_NO_CREDENTIAL;
	t->target = GSS_C_NO_NAME;
	t->ctx = GSS_C_NO_CONTEXT;
	if (cred_take(t, ccache, err) == -1)
		goto fail;
	t->spn = xstrdup(spn);
	if ((t->target = names_take(spn)) != GSS_C_NO_NAME)
		return t;
	name.value = (void *)(uintptr_t)spn;
	name.length = strlen(spn);
	major = gss_import_name(&minor, &name, (gss_OID)GSS_KRB5_NT_PRINCIPAL_NAME, &imported);
	/*
	 * Into a new name, not in place: MIT's in-place form reads the new name's attributes back
	 * into itself, which gives it an authdata context that every login's copy of the name
	 * would then copy (the plugin directories opened again).  The words stay the import's.
	 */
	if (!GSS_ERROR(major)) {
		major = gss_canonicalize_name(&minor, imported, (gss_OID)gss_mech_krb5, &t->target);
		gss_release_name(&m2, &imported);
	}
	if (GSS_ERROR(major)) {
		set_gss_err(err, "gss_import_name", major, minor);
		t->target = GSS_C_NO_NAME;
		goto fail;
	}
	return t;
fail:
	gss_token_free(t);
	return NULL;
}

int
gss_token_step(struct gss_token *t, const void *in, size_t inlen, void **out, size_t *outlen,
    int *complete, struct gss_token_err *err)
{
	gss_buffer_desc inb, outb = GSS_C_EMPTY_BUFFER;
	OM_uint32 major, minor, ret_flags;

	*out = NULL;
	*outlen = 0;
	*complete = 0;
	if (t->complete) {
		set_err(err, KW_R_PROTOCOL, "a GSS token after the context was complete");
		return -1;
	}
	inb.value = (void *)(uintptr_t)in;
	inb.length = in != NULL ? inlen : 0;
	/*
	 * Mutual authentication: the server must prove it holds the service key (an AP-REP)
	 * before the context completes.  Without it a server that only received a ticket and
	 * says OK would be believed.  MariaDB's auth_gssapi and the authentication_kerberos
	 * protocol send the AP-REP as one more plugin packet (MySQL Connector/Python asks for it).
	 */
	major = gss_init_sec_context(&minor, t->cred, &t->ctx, t->target, (gss_OID)gss_mech_krb5,
	    GSS_C_MUTUAL_FLAG, 0, GSS_C_NO_CHANNEL_BINDINGS, inb.length ? &inb : GSS_C_NO_BUFFER, NULL, &outb,
	    &ret_flags, NULL);
	if (GSS_ERROR(major)) {
		OM_uint32 m2;

		gss_release_buffer(&m2, &outb);
		set_gss_err(err, "gss_init_sec_context", major, minor);
		return -1;
	}
	if (outb.length > 0) {
		*out = xmalloc(outb.length);
		memcpy(*out, outb.value, outb.length);
		*outlen = outb.length;
	}
	gss_release_buffer(&minor, &outb);
	if (!(major & GSS_S_CONTINUE_NEEDED)) {
		if (!(ret_flags & GSS_C_MUTUAL_FLAG)) {
			set_err(err, KW_R_GSS, "the context completed without mutual authentication");
			gss_token_release(*out, *outlen);
			*out = NULL;
			*outlen = 0;
			return -1;
		}
		t->complete = *complete = 1;
	}
	return 0;
}

int
gss_token_complete(const struct gss_token *t)
{
	return t != NULL && t->complete;
}

void
gss_token_release(void *out, size_t outlen)
{
	if (out != NULL)
		explicit_bzero(out, outlen);
	free(out);
}

void
gss_token_free(struct gss_token *t)
{
	OM_uint32 minor;

	if (t == NULL)
		return;
	if (t->ctx != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&minor, &t->ctx, GSS_C_NO_BUFFER);
	if (t->target != GSS_C_NO_NAME)
		names_put(t->spn, t->target);
	free(t->spn);
	if (t->shared != NULL)
		t->shared->refs--;	/* the slot keeps it for the run's next login */
	else if (t->cred != GSS_C_NO_CREDENTIAL)
		gss_release_cred(&minor, &t->cred);
	free(t);
}
