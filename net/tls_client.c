#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <sys/stat.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../lib/xmalloc.h"
#include "tls_client.h"

/* A handful of (CA file, mode) pairs per configuration; a full table recycles the first. */
#define TLS_CTX_SLOTS	8

static struct tls_ctx_entry {
	char *ca;		/* NULL: the system's trust store */
	int verify;
	struct stat st;
	SSL_CTX *ctx;
} tls_ctxs[TLS_CTX_SLOTS];

/*
 * The key exchange group each server chose last, by its "addr:port": a TLS 1.3 client sends
 * one key share (OpenSSL's first group, X25519), and a server that takes only another (the
 * lab's PostgreSQL: P-256, its default ssl_ecdh_curve) answers with a HelloRetryRequest, a
 * second round trip and a second key generation, every login.  Offered first from the second
 * login on, the group the server chose costs nothing extra; a server that changes its mind
 * still gets the others, and is remembered anew.
 */
#define TLS_LEARNED	64
static struct learned_group {
	char peer[64];
	int nid;
} learned[TLS_LEARNED];
static size_t learned_next;

static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void
entry_clear(struct tls_ctx_entry *e)
{
	SSL_CTX_free(e->ctx);
	free(e->ca);
	memset(e, 0, sizeof *e);
}

void
tls_client_reload(void)
{
	for (size_t i = 0; i < TLS_CTX_SLOTS; i++)
		entry_clear(&tls_ctxs[i]);
	memset(learned, 0, sizeof learned);
	learned_next = 0;
}

static struct learned_group *
learned_find(const char *peer)
{
	for (size_t i = 0; i < TLS_LEARNED; i++)
		if (learned[i].nid != 0 && strcmp(learned[i].peer, peer) == 0)
			return &learned[i];
	return NULL;
}

/* The server's group first, then OpenSSL's usual ones. */
static void
offer_learned(SSL *ssl, const char *peer)
{
	static const int usual[] = { NID_X25519, NID_X9_62_prime256v1, NID_secp384r1,
	    NID_secp521r1, NID_X448 };
	const struct learned_group *g = learned_find(peer);
	int list[1 + sizeof usual / sizeof usual[0]];
	size_t n = 0;

	if (g == NULL || g->nid == usual[0])
		return;
	list[n++] = g->nid;
	for (size_t i = 0; i < sizeof usual / sizeof usual[0]; i++)
		if (usual[i] != g->nid)
			list[n++] = usual[i];
	if (SSL_set1_groups(ssl, list, n) != 1)
		ERR_clear_error();	/* a group this OpenSSL lacks: the usual order, then */
}

void
tls_client_connected(struct bufferevent *tls, const char *peer)
{
	SSL *ssl = bufferevent_openssl_get_ssl(tls);
	struct learned_group *g;
	int nid = ssl != NULL ? SSL_get_negotiated_group(ssl) : 0;

	if (nid <= 0 || strlen(peer) >= sizeof g->peer)
		return;
	if ((g = learned_find(peer)) == NULL) {
		g = &learned[learned_next];
		learned_next = (learned_next + 1) % TLS_LEARNED;
		snprintf(g->peer, sizeof g->peer, "%s", peer);
	}
	g->nid = nid;
}

/* A new context for ca and verify, or NULL with the words in err. */
static SSL_CTX *
ctx_new(const char *ca, int verify, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	char e[160];

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		snprintf(err, errlen, "SSL_CTX_new failed");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (!verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	if ((ca != NULL ? SSL_CTX_load_verify_locations(ctx, ca, NULL) :
	    SSL_CTX_set_default_verify_paths(ctx)) != 1) {
		ERR_error_string_n(ERR_get_error(), e, sizeof e);
		ERR_clear_error();
		snprintf(err, errlen, "cannot load the CA bundle %s: %s", ca ? ca : "(system default)", e);
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

/* The shared context for (ca, verify) with one reference for the caller, or NULL with err. */
static SSL_CTX *
ctx_get(const char *ca, int verify, char *err, size_t errlen)
{
	struct tls_ctx_entry *slot = NULL;
	struct stat st;
	SSL_CTX *ctx;

	memset(&st, 0, sizeof st);
	if (verify && ca != NULL && stat(ca, &st) == -1) {
		snprintf(err, errlen, "cannot load the CA bundle %s: %s", ca, strerror(errno));
		return NULL;
	}
	for (size_t i = 0; i < TLS_CTX_SLOTS; i++) {
		struct tls_ctx_entry *e = &tls_ctxs[i];

		if (e->ctx == NULL) {
			if (slot == NULL)
				slot = e;
			continue;
		}
		if (e->verify != verify || (e->ca == NULL) != (ca == NULL) ||
		    (ca != NULL && strcmp(e->ca, ca) != 0))
			continue;
		if (!verify || ca == NULL || same_file(&e->st, &st)) {
			SSL_CTX_up_ref(e->ctx);
			return e->ctx;
		}
		slot = e;	/* the file changed: this entry is made again */
		break;
	}
	if ((ctx = ctx_new(ca, verify, err, errlen)) == NULL)
		return NULL;
	if (slot == NULL)
		slot = &tls_ctxs[0];
	entry_clear(slot);
	slot->ca = ca != NULL ? xstrdup(ca) : NULL;
	slot->verify = verify;
	slot->st = st;
	slot->ctx = ctx;
	SSL_CTX_up_ref(ctx);
	return ctx;
}

static int
host_is_numeric(const char *host)
{
	struct in6_addr a;

	return evutil_inet_pton(AF_INET, host, &a) == 1 || evutil_inet_pton(AF_INET6, host, &a) == 1;
}

/* An SSL for host in mode on the shared context, or NULL with *reason and err. */
static SSL *
ssl_for(const char *host, const char *peer, enum kw_tls_mode mode, const char *ca,
    enum kw_reason *reason, char *err, size_t errlen)
{
	int verify = mode >= KW_TLS_VERIFY_CA;
	SSL_CTX *ctx = ctx_get(verify ? ca : NULL, verify, err, errlen);
	SSL *ssl;

	if (ctx == NULL) {
		*reason = strncmp(err, "SSL_CTX_new", 11) == 0 ? KW_R_INTERNAL : KW_R_TLS;
		return NULL;
	}
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);		/* the SSL holds its own reference */
	if (ssl == NULL) {
		*reason = KW_R_INTERNAL;
		snprintf(err, errlen, "SSL_new failed");
		return NULL;
	}
	if (!host_is_numeric(host))
		SSL_set_tlsext_host_name(ssl, host);
	offer_learned(ssl, peer);
	if (mode == KW_TLS_VERIFY_IDENTITY) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);

		X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if ((host_is_numeric(host) ? X509_VERIFY_PARAM_set1_ip_asc(vp, host) :
		    X509_VERIFY_PARAM_set1_host(vp, host, 0)) != 1) {
			SSL_free(ssl);
			*reason = KW_R_INTERNAL;
			snprintf(err, errlen, "cannot set the expected TLS name %s", host);
			return NULL;
		}
	}
	return ssl;
}

struct bufferevent *
tls_client_wrap(struct event_base *base, struct bufferevent *under, const char *host,
    const char *peer, enum kw_tls_mode mode, const char *ca, enum kw_reason *reason, char *err,
    size_t errlen)
{
	struct bufferevent *tls;
	SSL *ssl;

	if ((ssl = ssl_for(host, peer, mode, ca, reason, err, errlen)) == NULL)
		return NULL;
	tls = bufferevent_openssl_filter_new(base, under, ssl, BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		SSL_free(ssl);
		*reason = KW_R_INTERNAL;
		snprintf(err, errlen, "bufferevent_openssl_filter_new failed");
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	return tls;
}

void
tls_client_error(struct bufferevent *tls, short what, const char *peer, const char *host,
    const char *ca, char *out, size_t outlen)
{
	SSL *ssl = bufferevent_openssl_get_ssl(tls);
	long vr = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	unsigned long e, last = 0;
	int sockerr = EVUTIL_SOCKET_ERROR();
	char text[160];

	while ((e = bufferevent_get_openssl_error(tls)) != 0)
		last = e;
	ERR_clear_error();
	if (vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH) {
		snprintf(out, outlen, "TLS hostname mismatch: the certificate of %s does not match "
		    "host name %s", peer, host);
	} else if (vr != X509_V_OK) {
		snprintf(out, outlen, "TLS certificate verify failed: %s (CA %s)",
		    X509_verify_cert_error_string(vr), ca ? ca : "system default");
	} else if (last != 0) {
		ERR_error_string_n(last, text, sizeof text);
		snprintf(out, outlen, "TLS handshake failed: %s", text);
	} else if (what & BEV_EVENT_EOF) {
		snprintf(out, outlen, "TLS handshake failed: the server closed the connection");
	} else {
		snprintf(out, outlen, "TLS handshake failed: %s", evutil_socket_error_to_string(sockerr));
	}
}
