/*
 * TLS and basic authentication of the HTTP listener; see web.h.  OpenSSL makes the server
 * context, libxcrypt checks bcrypt hashes (crypt_rn: $2y$, $2b$, $2a$).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <strings.h>
#include <crypt.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "../lib/clock.h"
#include "../lib/log.h"
#include "web.h"
#include "../lib/xmalloc.h"

#define MAC_LEN 32
#define MAX_CREDENTIALS 1024	/* decoded "user:password"; evhttp caps the header anyway */

struct web_user {
	char *name;
	char *hash;
	int cached;			/* mac holds the last credentials that matched hash */
	unsigned char mac[MAC_LEN];
};

/*
 * The bcrypt budget.  A wrong password or an unknown user costs one full bcrypt (cost 10 is
 * about 56 ms here) and it runs on the loop, where probes time their KDC round trips: 64
 * clients guessing made a good scrape wait 9 s and probes record false timeouts.  So checks
 * that can fail are paid from token buckets counted in milliseconds of bcrypt actually spent
 * (measured, so a cost-12 hash is charged four times a cost-10 one): one for the whole
 * process and one per peer address.  While a bucket is empty, a check that is not already
 * known to succeed is refused at once (401) without running bcrypt.  Credentials that
 * matched before are recognised by a keyed MAC (cred_mac) and never touch the budget, so
 * Prometheus keeps scraping through a flood; only a password not yet seen since the start or
 * the last reload may wait for the flood to pass.
 *
 * BUDGET_GLOBAL_MS per second is a tenth of the loop: a stall stays far below any probe
 * deadline; a burst of one second's worth lets a few honest mistypes through at once.
 */
#define BUDGET_GLOBAL_MS	100.0	/* ms of bcrypt per second, the whole process */
#define BUDGET_PEER_MS		30.0	/* ms of bcrypt per second, one peer address */
#define BUDGET_BURST_S		1.0	/* a bucket holds this many seconds of its rate */
#define PEERS			64	/* peers remembered; the least recently seen is reused */
#define PEER_LEN		64	/* an address as evhttp prints it (IPv6 included) */
#define REFUSED_LOG_S		60	/* at most one line a minute about refused checks */

struct bucket {
	double ms;			/* what is left; may go below zero after a long bcrypt */
	double at;			/* monotonic seconds of the last refill */
};

struct peer_bucket {
	char addr[PEER_LEN];
	struct bucket b;
};

struct web {
	SSL_CTX *ctx;			/* NULL: plain HTTP */
	struct web_user *users;
	size_t nusers;
	char dummy[32];			/* a bcrypt setting at the users' highest cost */
	struct bucket global;
	struct peer_bucket peers[PEERS];
	unsigned long refused;		/* checks refused unchecked since the last log line */
	double refused_logged;		/* when that line was written */
};

/*
 * The key of the credential cache, drawn once per process: the cache keeps no password and no
 * fast unkeyed hash of one (which a memory dump would let anyone test guesses against at
 * SHA-256 speed instead of bcrypt's), and it is never written anywhere.
 */
static unsigned char mac_key[MAC_LEN];
static int mac_key_set;

/*
 * The salt of the bcrypt done for an unknown user, so that an unknown user costs as much as a
 * wrong password and the answer's timing does not tell which it was.
 */
#define DUMMY_SALT "abcdefghijklmnopqrstuu"

static void
add_error(struct kw_errors *errs, const struct kw_config *conf, const struct kw_file *f,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
add_error(struct kw_errors *errs, const struct kw_config *conf, const struct kw_file *f,
    const char *fmt, ...)
{
	char *text;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	va_end(ap);
	errs->msg = xreallocarray(errs->msg, errs->n + 1, sizeof(*errs->msg));
	xasprintf(&errs->msg[errs->n++], "%s:%d:%d: %s", conf->path, f->line, f->col, text);
	free(text);
}

/* OpenSSL's last reason, for a message; the error queue is left empty for the next caller. */
static const char *
ssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, len, "unknown error");
	else if (ERR_reason_error_string(e) != NULL)
		snprintf(buf, len, "%s", ERR_reason_error_string(e));
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* RequestClientCert and RequireAnyClientCert ask for a certificate but never judge it. */
static int
accept_any_cert(int preverify_ok, X509_STORE_CTX *x)
{
	(void)preverify_ok;
	(void)x;
	return 1;
}

static SSL_CTX *
tls_ctx_new(const struct kw_config *conf, struct kw_errors *errs)
{
	static const int versions[] = { TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION,
	    TLS1_3_VERSION };
	static const unsigned char sid[] = "krbwatch";
	const struct kw_web *w = &conf->web;
	STACK_OF(X509_NAME) *names;
	SSL_CTX *ctx;
	char why[256];
	int mode = SSL_VERIFY_NONE, ok = 1;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		fatalx("SSL_CTX_new: %s", ssl_reason(why, sizeof why));
	SSL_CTX_set_min_proto_version(ctx, versions[w->min_version - 10]);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
	if (SSL_CTX_use_certificate_chain_file(ctx, w->cert.path) != 1) {
		add_error(errs, conf, &w->cert, "cert_file \"%s\": cannot use it as a PEM "
		    "certificate: %s", w->cert.path, ssl_reason(why, sizeof why));
		ok = 0;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, w->key.path, SSL_FILETYPE_PEM) != 1) {
		/* OpenSSL 3 compares the key with the certificate as it loads it */
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
			add_error(errs, conf, &w->key, "key_file \"%s\" does not belong to "
			    "cert_file \"%s\": %s", w->key.path, w->cert.path,
			    ssl_reason(why, sizeof why));
		else
			add_error(errs, conf, &w->key, "key_file \"%s\": cannot use it as a PEM "
			    "private key: %s", w->key.path, ssl_reason(why, sizeof why));
		ok = 0;
	} else if (ok && SSL_CTX_check_private_key(ctx) != 1) {
		add_error(errs, conf, &w->key, "key_file \"%s\" does not belong to cert_file "
		    "\"%s\": %s", w->key.path, w->cert.path, ssl_reason(why, sizeof why));
		ok = 0;
	}
	if (w->client_ca.path != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, w->client_ca.path, NULL) != 1 ||
		    (names = SSL_load_client_CA_file(w->client_ca.path)) == NULL) {
			add_error(errs, conf, &w->client_ca, "client_ca_file \"%s\": cannot use it "
			    "as PEM CA certificates: %s", w->client_ca.path,
			    ssl_reason(why, sizeof why));
			ok = 0;
		} else
			SSL_CTX_set_client_CA_list(ctx, names);
	}
	switch (w->client_auth) {
	case KW_CLIENT_NO_CERT:
		break;
	case KW_CLIENT_REQUEST:
		mode = SSL_VERIFY_PEER;
		break;
	case KW_CLIENT_REQUIRE_ANY:
		mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		break;
	case KW_CLIENT_VERIFY_IF_GIVEN:
		mode = SSL_VERIFY_PEER;
		break;
	case KW_CLIENT_REQUIRE_AND_VERIFY:
		mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		break;
	}
	SSL_CTX_set_verify(ctx, mode, w->client_auth == KW_CLIENT_REQUEST ||
	    w->client_auth == KW_CLIENT_REQUIRE_ANY ? accept_any_cert : NULL);
	if (!ok) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

struct web *
web_new(const struct kw_config *conf, struct kw_errors *errs)
{
	struct web *web = xcalloc(1, sizeof *web);

	if (!mac_key_set) {
		if (RAND_bytes(mac_key, sizeof mac_key) != 1)
			fatalx("RAND_bytes failed: no key for the credential cache");
		mac_key_set = 1;
	}
	if (conf->web.tls && (web->ctx = tls_ctx_new(conf, errs)) == NULL) {
		web_free(web);
		return NULL;
	}
	web->users = xcalloc(conf->web.nusers, sizeof *web->users);
	for (size_t i = 0; i < conf->web.nusers; i++) {
		web->users[i].name = xstrdup(conf->web.users[i].name);
		web->users[i].hash = xstrdup(conf->web.users[i].hash);
	}
	web->nusers = conf->web.nusers;
	/*
	 * The dummy costs what the dearest user costs: with the first user's cost, users of
	 * a higher cost answered slower than an unknown name and could be told apart.  (A
	 * cheaper user still answers faster than an unknown one; give all users one cost.)
	 */
	if (web->nusers > 0) {
		const char *cost = web->users[0].hash + 4;
		for (size_t i = 1; i < web->nusers; i++)
			if (strncmp(web->users[i].hash + 4, cost, 2) > 0)
				cost = web->users[i].hash + 4;
		snprintf(web->dummy, sizeof web->dummy, "$2b$%.2s$" DUMMY_SALT, cost);
	}
	web->global.ms = BUDGET_GLOBAL_MS * BUDGET_BURST_S;
	return web;
}

void
web_free(struct web *web)
{
	if (web == NULL)
		return;
	/* connections still open hold their own reference to the context */
	SSL_CTX_free(web->ctx);
	for (size_t i = 0; i < web->nusers; i++) {
		free(web->users[i].name);
		/* a hash is a password's verifier: offline guessing starts from it */
		explicit_bzero(web->users[i].hash, strlen(web->users[i].hash));
		free(web->users[i].hash);
	}
	if (web->users != NULL)
		explicit_bzero(web->users, web->nusers * sizeof *web->users);
	free(web->users);
	free(web);
}

int
web_tls(const struct web *web)
{
	return web->ctx != NULL;
}

SSL *
web_ssl_new(struct web *web)
{
	return web->ctx != NULL ? SSL_new(web->ctx) : NULL;
}

int
web_auth_required(const struct web *web)
{
	return web->nusers > 0;
}

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
web_base64_decode(const char *in, size_t inlen, unsigned char *out, size_t outsize,
    size_t *outlen)
{
	uint32_t acc = 0;
	size_t n = 0, bits = 0, i;

	/* padding: at most two "=", only at the end of a whole group */
	if (inlen % 4 == 0)
		for (i = 0; i < 2 && inlen > 0 && in[inlen - 1] == '='; i++)
			inlen--;
	/* a lone last character carries fewer than 8 bits: not base64 */
	if (inlen % 4 == 1)
		return -1;
	for (i = 0; i < inlen; i++) {
		int v = b64_value((unsigned char)in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == outsize)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	*outlen = n;
	return 0;
}

/* The MAC of one user's credentials under the process key. */
static void
cred_mac(const char *user, const unsigned char *pass, size_t passlen, unsigned char *mac)
{
	unsigned char msg[MAX_CREDENTIALS + 256];
	size_t ulen = strlen(user);
	unsigned int maclen = MAC_LEN;

	/* user, a NUL, then the password: no two pairs make the same message */
	memcpy(msg, user, ulen);
	msg[ulen] = '\0';
	memcpy(msg + ulen + 1, pass, passlen);
	if (HMAC(EVP_sha256(), mac_key, sizeof mac_key, msg, ulen + 1 + passlen, mac,
	    &maclen) == NULL)
		fatalx("HMAC-SHA256 failed");
	explicit_bzero(msg, sizeof msg);
}

/* Whether pass matches hash, in time that does not depend on where they differ. */
static int
bcrypt_ok(const char *pass, const char *hash)
{
	static struct crypt_data cd;	/* 32 kB: not on the stack; one loop, one caller */
	const char *out;
	int ok;

	/*
	 * crypt_rn, not crypt_r: the same, with NULL on failure; and GCC's ASan intercepts
	 * crypt_r through a pointer it leaves NULL here (the call jumps to 0).
	 */
	memset(&cd, 0, sizeof cd);
	out = crypt_rn(pass, hash, &cd, sizeof cd);
	ok = out != NULL && strlen(out) == strlen(hash) &&
	    CRYPTO_memcmp(out, hash, strlen(hash)) == 0;
	explicit_bzero(&cd, sizeof cd);
	return ok;
}

static void
bucket_refill(struct bucket *b, double rate, double now)
{
	b->ms += (now - b->at) * rate;
	if (b->ms > rate * BUDGET_BURST_S)
		b->ms = rate * BUDGET_BURST_S;
	b->at = now;
}

/* The peer's bucket; an unknown peer takes the slot seen least recently, full. */
static struct bucket *
peer_bucket(struct web *web, const char *peer, double now)
{
	struct peer_bucket *old = &web->peers[0];

	for (size_t i = 0; i < PEERS; i++) {
		struct peer_bucket *p = &web->peers[i];
		if (p->addr[0] != '\0' && strcmp(p->addr, peer) == 0)
			return &p->b;
		if (p->b.at < old->b.at)
			old = p;
	}
	snprintf(old->addr, sizeof old->addr, "%s", peer);
	old->b.ms = BUDGET_PEER_MS * BUDGET_BURST_S;
	old->b.at = now;
	return &old->b;
}

/*
 * Runs a bcrypt that may fail if the budgets allow one, and charges them its time; -1 when
 * they are spent (the check is refused without running).
 */
static int
bcrypt_budgeted(struct web *web, const char *peer, const char *pass, const char *hash)
{
	double now = clock_seconds(CLOCK_MONOTONIC), spent;
	struct bucket *pb;
	int ok;

	bucket_refill(&web->global, BUDGET_GLOBAL_MS, now);
	pb = peer_bucket(web, peer != NULL ? peer : "", now);
	bucket_refill(pb, BUDGET_PEER_MS, now);
	if (web->global.ms <= 0 || pb->ms <= 0) {
		web->refused++;
		if (now - web->refused_logged >= REFUSED_LOG_S) {
			log_info("basic auth: %lu check(s) refused unchecked, the bcrypt budget "
			    "is spent (last from %s)", web->refused, peer != NULL ? peer : "?");
			web->refused = 0;
			web->refused_logged = now;
		}
		return -1;
	}
	ok = bcrypt_ok(pass, hash);
	spent = (clock_seconds(CLOCK_MONOTONIC) - now) * 1000;
	web->global.ms -= spent;
	pb->ms -= spent;
	return ok;
}

int
web_authorized(struct web *web, const char *authorization, const char *peer)
{
	unsigned char cred[MAX_CREDENTIALS + 1], mac[MAC_LEN];
	const char *p = authorization, *end;
	struct web_user *u = NULL;
	size_t len, ulen;
	unsigned char *colon;
	int ok = 0;

	if (web->nusers == 0)
		return 1;
	if (p == NULL)
		return 0;
	p += strspn(p, " \t");
	if (strncasecmp(p, "Basic", 5) != 0 || (p[5] != ' ' && p[5] != '\t'))
		return 0;
	p += 5;
	p += strspn(p, " \t");
	for (end = p + strlen(p); end > p && (end[-1] == ' ' || end[-1] == '\t'); end--)
		;
	if (web_base64_decode(p, (size_t)(end - p), cred, MAX_CREDENTIALS, &len) == -1 ||
	    (colon = memchr(cred, ':', len)) == NULL)
		return 0;
	ulen = (size_t)(colon - cred);
	cred[len] = '\0';
	/* a NUL would cut the password short for crypt(): refuse it rather than check less */
	if (memchr(cred, '\0', len) != NULL)
		goto out;
	*colon = '\0';
	for (size_t i = 0; i < web->nusers; i++)
		if (strcmp(web->users[i].name, (char *)cred) == 0)
			u = &web->users[i];
	if (u == NULL) {
		(void)bcrypt_budgeted(web, peer, (char *)colon + 1, web->dummy);
		goto out;
	}
	/* known good credentials first: they must not wait behind someone's guesses */
	cred_mac(u->name, colon + 1, len - ulen - 1, mac);
	if (u->cached && CRYPTO_memcmp(mac, u->mac, MAC_LEN) == 0) {
		ok = 1;
	} else if (bcrypt_budgeted(web, peer, (char *)colon + 1, u->hash) == 1) {
		memcpy(u->mac, mac, MAC_LEN);
		u->cached = 1;
		ok = 1;
	}
out:
	explicit_bzero(cred, sizeof cred);
	explicit_bzero(mac, sizeof mac);
	return ok;
}
