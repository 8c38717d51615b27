/*
 * GSS-API tokens for the database logins, built only from a named credential cache.
 *
 * The cache is given to GSSAPI through the credential store ({"ccache": name}) of
 * gss_acquire_cred_from, and the target through GSS_KRB5_NT_PRINCIPAL_NAME, so the principal the
 * server announced is used exactly as written (no host canonicalisation, no default-realm
 * guessing).  A token is built with no network I/O as long as the cache holds a ticket for the
 * SPN: check that with gss_token_have_ticket() first, because a missing ticket would make the
 * library go to a KDC on its own (and block the loop).
 */
#ifndef KRBWATCH_GSS_TOKEN_H
#define KRBWATCH_GSS_TOKEN_H

#include <stddef.h>

#include "../conf/config.h"
#include "../lib/reason.h"

struct gss_token;

/* What went wrong, as a reason label and words for the detail string. */
struct gss_token_err {
	enum kw_reason reason;
	char text[200];
};

/*
 * 1 when the cache holds an unexpired ticket for exactly spn (realm included) for the cache's
 * own client, 0 when it does not, -1 (with err filled) when the cache or the name is unusable.
 */
int gss_token_have_ticket(const char *ccache, const char *spn, struct gss_token_err *err);
/* Drops the krb5 context the cache lookups share (a reload: krb5.conf may have changed). */
void gss_token_reload(void);

/*
 * The cache ccache is going away: the credential kept for it (shared by its logins) is released
 * now rather than when its slot is needed again.  A login still using it keeps it.
 */
void gss_token_forget(const char *ccache);

/* A security context for spn with the credentials of ccache. NULL (err filled) on failure. */
struct gss_token *gss_token_new(const char *ccache, const char *spn, struct gss_token_err *err);

/*
 * One gss_init_sec_context step.  in: the server's token (NULL/0 on the first step).  On success
 * returns 0 with *out and *outlen the token to send (may be empty; free with gss_token_release) and
 * *complete set when the context needs no more server tokens.  -1 with err filled on failure.
 */
int gss_token_step(struct gss_token *, const void *in, size_t inlen, void **out, size_t *outlen,
    int *complete, struct gss_token_err *err);
void gss_token_release(void *out, size_t outlen);
/* Whether the context is complete: the server's AP-REP, mutual authentication, was verified. */
int gss_token_complete(const struct gss_token *);
void gss_token_free(struct gss_token *);

/* The reason for a GSS major status with the krb5 mechanism's minor status. */
enum kw_reason gss_token_reason(unsigned major, unsigned minor);
/* The reason for a krb5 error code met during a login (a key problem is the service's key). */
enum kw_reason gss_token_krb5_reason(long code);
/*
 * The reason hidden in a server's error text (MariaDB: "Server GSSAPI error (major M, minor N) :
 * ... Cannot find key for ... kvno 3 in keytab."): from the minor code when it is a krb5 code,
 * else from well-known words.  KW_R_ACCESS_DENIED when nothing more precise is found.
 */
enum kw_reason gss_token_server_text_reason(const char *text);

#endif
