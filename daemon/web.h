/*
 * The HTTP listener's web settings (krbwatch.yml `web:`, shaped like the Prometheus
 * exporter-toolkit's web-config.yml): a TLS server context made from cert_file, key_file and
 * client_ca_file, and HTTP basic authentication against bcrypt hashes.
 *
 * A struct web is made whole or not at all, so that a reload with a broken certificate keeps
 * the running one.  Checking a password costs a bcrypt (tens of milliseconds on the loop): the
 * last good credentials of each user are remembered as an HMAC-SHA256 under a key drawn at
 * start, so a scrape every 15 s costs one bcrypt per user and process, not one per scrape.
 */
#ifndef KRBWATCH_WEB_H
#define KRBWATCH_WEB_H

#include "../conf/config.h"

struct web;
typedef struct ssl_st SSL;

/*
 * Reads the certificate, key and CA of conf->web.  NULL when one cannot be used, with every
 * reason added to errs as "FILE:LINE:COL: ..." (the place in conf->path that names the file).
 */
struct web *web_new(const struct kw_config *conf, struct kw_errors *errs);
void web_free(struct web *);

/* Whether the listener speaks TLS; then web_ssl_new() makes each connection's SSL. */
int web_tls(const struct web *);
SSL *web_ssl_new(struct web *);

/* Whether basic authentication is on. */
int web_auth_required(const struct web *);

/*
 * Whether an Authorization header value (NULL: none) carries the credentials of a user of
 * basic_auth_users.  Always true when basic authentication is off.  peer (the client's
 * address, NULL if unknown) has its own share of the bcrypt budget: while its share or the
 * process's is spent, credentials not already verified are refused without checking.
 */
int web_authorized(struct web *, const char *authorization, const char *peer);

/* Decodes standard base64 (with or without padding) into out; -1 when it is not base64. */
int web_base64_decode(const char *in, size_t inlen, unsigned char *out, size_t outsize,
    size_t *outlen);

#endif
