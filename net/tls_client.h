/*
 * TLS for the database logins: one SSL_CTX (with its verified X509_STORE) per CA file and
 * verification mode for the whole process, shared by every engine, and the OpenSSL filter
 * bufferevent a login speaks through once its protocol asked the server for TLS.
 *
 * Loading a CA bundle and making a context cost far more than a handshake's own set-up (Aurora's
 * global bundle holds over a hundred certificates; OpenSSL 3's SSL_CTX_new fetches its
 * algorithms anew): with the cache a login pays SSL_new only.  A bundle that changes on disk
 * (inode, size or time) is loaded again at the next login; tls_client_reload() drops every
 * context (a configuration reload), and logins still running keep theirs until they end.
 */
#ifndef KRBWATCH_TLS_CLIENT_H
#define KRBWATCH_TLS_CLIENT_H

#include <stddef.h>

#include "../conf/config.h"
#include "../lib/reason.h"

struct bufferevent;
struct event_base;

/*
 * Wraps the connected socket bufferevent under in a TLS client filter for host in mode (SNI
 * for a name; with verify-identity the certificate must name host, a name or an address), with
 * the shared context for ca (NULL: the system's trust store).  peer ("addr:port") names the
 * server for the key exchange group it chose last (tls_client_connected).  The filter owns
 * under from then on.  NULL with *reason and err filled when it cannot start (under is still
 * the caller's).
 */
struct bufferevent *tls_client_wrap(struct event_base *, struct bufferevent *under,
    const char *host, const char *peer, enum kw_tls_mode mode, const char *ca,
    enum kw_reason *reason, char *err, size_t errlen);

/* The handshake on tls with peer completed: its group is offered first next time. */
void tls_client_connected(struct bufferevent *tls, const char *peer);

/*
 * Why the handshake on tls failed, in words: the certificate check first (hostname mismatch,
 * verify error with the CA used), then OpenSSL's error, the server's EOF, the socket's error.
 * peer is the address for the words, what the bufferevent event.
 */
void tls_client_error(struct bufferevent *tls, short what, const char *peer, const char *host,
    const char *ca, char *out, size_t outlen);

/* Drops the cached contexts: the next login loads its CA again. */
void tls_client_reload(void);

#endif
