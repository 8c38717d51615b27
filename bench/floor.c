/*
 * The floor of one cluster cycle: in a tight loop, with the libraries krbwatch links (MIT krb5 and
 * GSSAPI, OpenSSL), only the client-side work a cluster's login cannot avoid, timed with the
 * thread's CPU clock around the client's calls alone (the in-process server's and acceptor's
 * work is left out, as a real server's is):
 *
 *   tgs   the crypto of one TGS exchange (aes256-cts-hmac-sha1-96, the lab's enctype): the
 *         request's keyed checksum, the authenticator's encryption, the reply's decryption;
 *         a cluster cycle has two (the referral path and the service ticket)
 *   tls   one TLS full handshake against the lab's certificate (P-256 ECDSA, signed by the lab
 *         CA), verified against a loaded store with the host name checked; "pg" with the server's
 *         groups restricted to P-256 as PostgreSQL's default ssl_ecdh_curve does, "my" with
 *         OpenSSL's defaults as MariaDB's
 *   gss   the GSS token: gss_init_sec_context for the AP-REQ with a ticket from a MEMORY cache,
 *         and the AP-REP verified (mutual authentication)
 *
 * floor --cert C --key K --ca CA --host H --ccache CC --keytab KT --spn SPN [--iters N]
 * Prints one JSON object: the median and spread of each part in microseconds over batches.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5/krb5.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define BATCHES 9

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "floor: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* ---- tgs ---- */

static krb5_context kctx;
static krb5_keyblock tgs_key;
static krb5_data tgs_body, tgs_auth;
static krb5_enc_data tgs_reply;

static void
tgs_setup(void)
{
	static char body[180], auth[120], reply[300];
	krb5_data plain = { 0, sizeof reply, reply };
	size_t len;

	if (krb5_init_context(&kctx) != 0 ||
	    krb5_c_make_random_key(kctx, ENCTYPE_AES256_CTS_HMAC_SHA1_96, &tgs_key) != 0)
		die("krb5 set-up");
	memset(body, 'b', sizeof body);
	memset(auth, 'a', sizeof auth);
	memset(reply, 'r', sizeof reply);
	tgs_body = (krb5_data){ 0, sizeof body, body };
	tgs_auth = (krb5_data){ 0, sizeof auth, auth };
	krb5_c_encrypt_length(kctx, tgs_key.enctype, sizeof reply, &len);
	tgs_reply.ciphertext.data = malloc(len);
	tgs_reply.ciphertext.length = (unsigned)len;
	if (krb5_c_encrypt(kctx, &tgs_key, KRB5_KEYUSAGE_TGS_REP_ENCPART_SUBKEY, NULL, &plain,
	    &tgs_reply) != 0)
		die("krb5_c_encrypt");
}

static double
tgs_one(void)
{
	krb5_checksum ck;
	krb5_enc_data enc;
	krb5_data out;
	size_t len;
	double t0 = cpu_now();

	if (krb5_c_make_checksum(kctx, CKSUMTYPE_HMAC_SHA1_96_AES256, &tgs_key,
	    KRB5_KEYUSAGE_TGS_REQ_AUTH_CKSUM, &tgs_body, &ck) != 0)
		die("checksum");
	krb5_free_checksum_contents(kctx, &ck);
	krb5_c_encrypt_length(kctx, tgs_key.enctype, tgs_auth.length, &len);
	enc.ciphertext.data = malloc(len);
	enc.ciphertext.length = (unsigned)len;
	if (krb5_c_encrypt(kctx, &tgs_key, KRB5_KEYUSAGE_TGS_REQ_AUTH, NULL, &tgs_auth, &enc) != 0)
		die("encrypt");
	free(enc.ciphertext.data);
	out.data = malloc(tgs_reply.ciphertext.length);
	out.length = tgs_reply.ciphertext.length;
	if (krb5_c_decrypt(kctx, &tgs_key, KRB5_KEYUSAGE_TGS_REP_ENCPART_SUBKEY, NULL, &tgs_reply,
	    &out) != 0)
		die("decrypt");
	free(out.data);
	return cpu_now() - t0;
}

/* ---- tls ---- */

static SSL_CTX *cli_ctx, *srv_ctx_pg, *srv_ctx_my;
static const char *tls_host;

static void
tls_setup(const char *cert, const char *key, const char *ca)
{
	SSL_CTX **s[2] = { &srv_ctx_pg, &srv_ctx_my };

	if ((cli_ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_load_verify_locations(cli_ctx, ca, NULL) != 1)
		die("client context");
	SSL_CTX_set_min_proto_version(cli_ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(cli_ctx, SSL_VERIFY_PEER, NULL);
	for (int i = 0; i < 2; i++) {
		if ((*s[i] = SSL_CTX_new(TLS_server_method())) == NULL ||
		    SSL_CTX_use_certificate_chain_file(*s[i], cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(*s[i], key, SSL_FILETYPE_PEM) != 1)
			die("server context");
		SSL_CTX_set_session_cache_mode(*s[i], SSL_SESS_CACHE_OFF);
		SSL_CTX_set_num_tickets(*s[i], 0);
	}
	if (SSL_CTX_set1_groups_list(srv_ctx_pg, "P-256") != 1)
		die("P-256");
}

/* One full handshake over a BIO pair; the client's CPU only. */
static double
tls_one(SSL_CTX *sctx)
{
	SSL *c = NULL, *s;
	BIO *cb, *sb;
	double spent = 0, t0;
	int cdone = 0, sdone = 0, r;

	if ((s = SSL_new(sctx)) == NULL || BIO_new_bio_pair(&cb, 0, &sb, 0) != 1)
		die("SSL_new");
	t0 = cpu_now();
	if ((c = SSL_new(cli_ctx)) == NULL)
		die("SSL_new");
	SSL_set_tlsext_host_name(c, tls_host);
	X509_VERIFY_PARAM_set_hostflags(SSL_get0_param(c), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	X509_VERIFY_PARAM_set1_host(SSL_get0_param(c), tls_host, 0);
	SSL_set_bio(c, cb, cb);
	SSL_set_connect_state(c);
	spent += cpu_now() - t0;
	SSL_set_bio(s, sb, sb);
	SSL_set_accept_state(s);
	for (int round = 0; round < 20 && !(cdone && sdone); round++) {
		if (!cdone) {
			t0 = cpu_now();
			r = SSL_do_handshake(c);
			spent += cpu_now() - t0;
			if (r == 1)
				cdone = 1;
			else if (SSL_get_error(c, r) != SSL_ERROR_WANT_READ)
				die("client handshake");
		}
		if (!sdone) {
			r = SSL_do_handshake(s);
			if (r == 1)
				sdone = 1;
			else if (SSL_get_error(s, r) != SSL_ERROR_WANT_READ)
				die("server handshake");
		}
	}
	if (!cdone || SSL_get_verify_result(c) != X509_V_OK)
		die("the handshake did not verify");
	t0 = cpu_now();
	SSL_free(c);
	spent += cpu_now() - t0;
	SSL_free(s);
	return spent;
}

/* ---- gss ---- */

static gss_cred_id_t gss_cred;
static gss_name_t gss_target;

static void
gss_setup(const char *ccache, const char *keytab, const char *spn)
{
	gss_key_value_element_desc el = { "ccache", ccache };
	gss_key_value_set_desc store = { 1, &el };
	gss_OID_set_desc mechs = { 1, (gss_OID)gss_mech_krb5 };
	gss_buffer_desc name = { strlen(spn), (void *)(uintptr_t)spn };
	OM_uint32 minor;

	setenv("KRB5_KTNAME", keytab, 1);
	setenv("KRB5RCACHETYPE", "none", 1);	/* the acceptor is the server's, not timed */
	if (GSS_ERROR(gss_acquire_cred_from(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs,
	    GSS_C_INITIATE, &store, &gss_cred, NULL, NULL)) ||
	    GSS_ERROR(gss_import_name(&minor, &name, (gss_OID)GSS_KRB5_NT_PRINCIPAL_NAME,
	    &gss_target)))
		die("gss set-up");
}

static double
gss_one(void)
{
	gss_ctx_id_t ic = GSS_C_NO_CONTEXT, ac = GSS_C_NO_CONTEXT;
	gss_buffer_desc tok = GSS_C_EMPTY_BUFFER, rep = GSS_C_EMPTY_BUFFER, none = GSS_C_EMPTY_BUFFER;
	OM_uint32 maj, minor, flags = 0;
	double spent = 0, t0;

	t0 = cpu_now();
	maj = gss_init_sec_context(&minor, gss_cred, &ic, gss_target, (gss_OID)gss_mech_krb5,
	    GSS_C_MUTUAL_FLAG, 0, GSS_C_NO_CHANNEL_BINDINGS, GSS_C_NO_BUFFER, NULL, &tok, NULL, NULL);
	spent += cpu_now() - t0;
	if (maj != GSS_S_CONTINUE_NEEDED)
		die("gss_init_sec_context (AP-REQ)");
	if (gss_accept_sec_context(&minor, &ac, GSS_C_NO_CREDENTIAL, &tok, GSS_C_NO_CHANNEL_BINDINGS,
	    NULL, NULL, &rep, NULL, NULL, NULL) != GSS_S_COMPLETE)
		die("gss_accept_sec_context (is the service keytab right?)");
	t0 = cpu_now();
	gss_release_buffer(&minor, &tok);
	maj = gss_init_sec_context(&minor, gss_cred, &ic, gss_target, (gss_OID)gss_mech_krb5,
	    GSS_C_MUTUAL_FLAG, 0, GSS_C_NO_CHANNEL_BINDINGS, &rep, NULL, &none, &flags, NULL);
	if (maj != GSS_S_COMPLETE || !(flags & GSS_C_MUTUAL_FLAG))
		die("gss_init_sec_context (AP-REP)");
	gss_delete_sec_context(&minor, &ic, GSS_C_NO_BUFFER);
	spent += cpu_now() - t0;
	gss_release_buffer(&minor, &rep);
	gss_delete_sec_context(&minor, &ac, GSS_C_NO_BUFFER);
	return spent;
}

/* ---- the loop ---- */

/* BATCHES batches of n: the per-call median over batches, with min and max. */
static void
measure(const char *name, double (*one)(void *), void *arg, int n, int last)
{
	double b[BATCHES];

	for (int i = 0; i < 3; i++)
		(void)one(arg);		/* warm caches and lazy initialisation */
	for (int k = 0; k < BATCHES; k++) {
		double sum = 0;

		for (int i = 0; i < n; i++)
			sum += one(arg);
		b[k] = sum / n * 1e6;
	}
	qsort(b, BATCHES, sizeof b[0], cmp_d);
	printf("  \"%s\": {\"median_us\": %.2f, \"min_us\": %.2f, \"max_us\": %.2f, \"n\": %d}%s\n",
	    name, b[BATCHES / 2], b[0], b[BATCHES - 1], n * BATCHES, last ? "" : ",");
}

static double run_tgs(void *a) { (void)a; return tgs_one(); }
static double run_tls(void *a) { return tls_one(a); }
static double run_gss(void *a) { (void)a; return gss_one(); }

int
main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL, *ca = NULL, *cc = NULL, *kt = NULL, *spn = NULL;
	int iters = 200;

	for (int i = 1; i + 1 < argc; i += 2) {
		const char *o = argv[i], *v = argv[i + 1];

		if (!strcmp(o, "--cert")) cert = v;
		else if (!strcmp(o, "--key")) key = v;
		else if (!strcmp(o, "--ca")) ca = v;
		else if (!strcmp(o, "--host")) tls_host = v;
		else if (!strcmp(o, "--ccache")) cc = v;
		else if (!strcmp(o, "--keytab")) kt = v;
		else if (!strcmp(o, "--spn")) spn = v;
		else if (!strcmp(o, "--iters")) iters = atoi(v);
		else die("unknown option");
	}
	if (!cert || !key || !ca || !tls_host || !cc || !kt || !spn || iters < 1)
		die("usage: floor --cert C --key K --ca CA --host H --ccache CC --keytab KT --spn SPN "
		    "[--iters N]");
	tgs_setup();
	tls_setup(cert, key, ca);
	gss_setup(cc, kt, spn);
	printf("{\n  \"openssl\": \"%s\",\n  \"krb5_enctype\": \"aes256-cts-hmac-sha1-96\",\n",
	    OpenSSL_version(OPENSSL_VERSION));
	measure("tgs", run_tgs, NULL, iters * 5, 0);
	measure("tls_pg", run_tls, srv_ctx_pg, iters, 0);
	measure("tls_my", run_tls, srv_ctx_my, iters, 0);
	measure("gss", run_gss, NULL, iters, 1);
	printf("}\n");
	return 0;
}
