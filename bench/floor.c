/*
 * The floor of one cluster cycle: in a tight loop, with the libraries krbwatch links (MIT krb5 and
 * GSSAPI, OpenSSL), only the client-side work a cluster's login cannot avoid, timed with the
 * thread's CPU clock around the client's calls alone (the in-process server's and acceptor's
 * work is left out, as a real server's is):
 *
 *   tgs   one real TGS exchange with MIT's step API (krb5_tkt_creds_step), the cluster's two:
 *         "tgs_ref" the referral path (a host-based name to the user realm's KDC, which answers
 *         with a referral) and "tgs_svc" the service ticket from the Region's KDC with the
 *         cross-realm TGT; the client's CPU only, its one sendto and recv included (the KDC is
 *         another process); "tgs_crypto", for comparison, is the bare crypto of one exchange
 *         (aes256-cts-hmac-sha1-96: request checksum, authenticator, reply)
 *   tls   one TLS full handshake against the lab's certificate (P-256 ECDSA, signed by the lab
 *         CA), verified against a loaded store with the host name checked; "pg" with the server's
 *         groups restricted to P-256 as PostgreSQL's default ssl_ecdh_curve does and the client
 *         offering P-256 first ("pg_hrr": OpenSSL's default X25519 share, so a
 *         HelloRetryRequest), "my" as the lab's MariaDB gives it: OpenSSL's default groups, its
 *         certificate chain (the leaf and the CA: OpenSSL's server builds it from the ssl-ca
 *         store), a CertificateRequest (ssl-ca makes MariaDB ask; the client answers with none)
 *         and two TLS 1.3 session tickets after the handshake, which the client must read
 *         before its first message as every krbwatch login does (it never resumes them)
 *   gss   the GSS token: gss_init_sec_context for the AP-REQ with a ticket from a MEMORY cache,
 *         and the AP-REP verified (mutual authentication)
 *
 * floor --cert C --key K --ca CA --host H --ccache CC --keytab KT --spn SPN --tgs-ccache CC2
 *     --kdc-user IP --kdc-db IP [--iters N]
 * CC holds the service ticket (for the GSS token), CC2 only the TGT and the cross-realm TGT, so
 * that every TGS exchange really goes to a KDC.
 * Prints one JSON object: the median and spread of each part in microseconds over batches.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5/krb5.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define BATCHES 9

/* like daemon/web.c's mono_now, another clock (the thread's CPU); the bench links no daemon code */
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

/* ---- a real TGS exchange ---- */

static krb5_ccache tgs_cc;
static krb5_principal tgs_me, tgs_svc, tgs_ref;
static const char *kdc_user, *kdc_db, *user_realm;

static void
tgs_real_setup(const char *ccache, const char *spn, const char *host)
{
	krb5_ccache file;

	/* a MEMORY cache, as krbwatch's runs have */
	if (krb5_cc_resolve(kctx, ccache, &file) != 0 ||
	    krb5_cc_get_principal(kctx, file, &tgs_me) != 0 ||
	    krb5_cc_resolve(kctx, "MEMORY:floor-tgs", &tgs_cc) != 0 ||
	    krb5_cc_initialize(kctx, tgs_cc, tgs_me) != 0 || krb5_cc_copy_creds(kctx, file, tgs_cc) != 0 ||
	    krb5_parse_name(kctx, spn, &tgs_svc) != 0 ||
	    krb5_sname_to_principal(kctx, host, "postgres", KRB5_NT_SRV_HST, &tgs_ref) != 0)
		die("TGS set-up");
	user_realm = strndup(tgs_me->realm.data, tgs_me->realm.length);
}

/* One UDP exchange with ip:88 on a blocking socket. */
static void
udp_exchange(const char *ip, const krb5_data *req, krb5_data *rep)
{
	static char buf[65536];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(88) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	ssize_t n;

	inet_pton(AF_INET, ip, &sa.sin_addr);
	if (fd < 0 || sendto(fd, req->data, req->length, 0, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    (n = recv(fd, buf, sizeof buf, 0)) <= 0)
		die("KDC exchange");
	close(fd);
	rep->data = buf;
	rep->length = (unsigned)n;
}

/* The client's CPU for one TGS exchange; the referral path ends at the first reply. */
static double
tgs_real_one(krb5_principal server, int referral)
{
	krb5_tkt_creds_context tcc;
	krb5_data in = { 0 }, out = { 0 }, realm = { 0 }, rep;
	unsigned flags = 0;
	double spent = 0, t0 = cpu_now();
	int exchanges = 0;

	if (krb5_tkt_creds_init(kctx, tgs_cc, &(krb5_creds){ .client = tgs_me, .server = server },
	    referral ? KRB5_GC_CANONICALIZE | KRB5_GC_NO_STORE : KRB5_GC_NO_STORE, &tcc) != 0)
		die("krb5_tkt_creds_init");
	for (;;) {
		if (krb5_tkt_creds_step(kctx, tcc, exchanges ? &in : NULL, &out, &realm, &flags) != 0)
			die("krb5_tkt_creds_step");
		if (!(flags & KRB5_TKT_CREDS_STEP_FLAG_CONTINUE) || (referral && exchanges == 1))
			break;
		if (++exchanges > 4)
			die("too many TGS exchanges");
		udp_exchange(realm.length == strlen(user_realm) &&
		    memcmp(realm.data, user_realm, realm.length) == 0 ? kdc_user : kdc_db, &out, &rep);
		krb5_free_data_contents(kctx, &out);
		krb5_free_data_contents(kctx, &realm);
		in = rep;
	}
	krb5_free_data_contents(kctx, &out);
	krb5_free_data_contents(kctx, &realm);
	krb5_tkt_creds_free(kctx, tcc);
	spent = cpu_now() - t0;
	return spent;
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
	}
	/* PostgreSQL: the leaf only, P-256 only, no ticket (it sets SSL_OP_NO_TICKET, no cache) */
	SSL_CTX_set_num_tickets(srv_ctx_pg, 0);
	if (SSL_CTX_set1_groups_list(srv_ctx_pg, "P-256") != 1)
		die("P-256");
	/* MariaDB with ssl-ca: the CA in the chain it sends, a CertificateRequest, two tickets */
	if (SSL_CTX_load_verify_locations(srv_ctx_my, ca, NULL) != 1)
		die("the MariaDB-like server's CA");
	SSL_CTX_set_verify(srv_ctx_my, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_num_tickets(srv_ctx_my, 2);
}

/* One full handshake over a BIO pair; the client's CPU only.  p256_first: offer P-256 first. */
static double
tls_one(SSL_CTX *sctx, int p256_first)
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
	if (p256_first && SSL_set1_groups_list(c, "P-256:X25519") != 1)
		die("groups");
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
	if (sctx == srv_ctx_my) {
		char b[1];

		/* the server's tickets follow its handshake: a read takes them and then wants more */
		t0 = cpu_now();
		r = SSL_read(c, b, sizeof b);
		spent += cpu_now() - t0;
		if (r > 0 || SSL_get_error(c, r) != SSL_ERROR_WANT_READ ||
		    sk_X509_num(SSL_get_peer_cert_chain(c)) != 2)
			die("the MariaDB-like server's chain and tickets");
	}
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
static double run_tgs_svc(void *a) { (void)a; return tgs_real_one(tgs_svc, 0); }
static double run_tgs_ref(void *a) { (void)a; return tgs_real_one(tgs_ref, 1); }
static double run_tls(void *a) { return tls_one(a, 0); }
static double run_tls_p256(void *a) { return tls_one(a, 1); }
static double run_gss(void *a) { (void)a; return gss_one(); }

int
main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL, *ca = NULL, *cc = NULL, *kt = NULL, *spn = NULL;
	const char *tcc = NULL;
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
		else if (!strcmp(o, "--kdc-user")) kdc_user = v;
		else if (!strcmp(o, "--tgs-ccache")) tcc = v;
		else if (!strcmp(o, "--kdc-db")) kdc_db = v;
		else die("unknown option");
	}
	if (!cert || !key || !ca || !tls_host || !cc || !tcc || !kt || !spn || !kdc_user || !kdc_db ||
	    iters < 1)
		die("usage: floor --cert C --key K --ca CA --host H --ccache CC --keytab KT --spn SPN "
		    "--tgs-ccache CC2 --kdc-user IP --kdc-db IP [--iters N]");
	tgs_setup();
	tgs_real_setup(tcc, spn, tls_host);
	tls_setup(cert, key, ca);
	gss_setup(cc, kt, spn);
	printf("{\n  \"openssl\": \"%s\",\n  \"krb5_enctype\": \"aes256-cts-hmac-sha1-96\",\n",
	    OpenSSL_version(OPENSSL_VERSION));
	measure("tgs_crypto", run_tgs, NULL, iters * 5, 0);
	measure("tgs_ref", run_tgs_ref, NULL, iters, 0);
	measure("tgs_svc", run_tgs_svc, NULL, iters, 0);
	measure("tls_pg", run_tls_p256, srv_ctx_pg, iters, 0);
	measure("tls_pg_hrr", run_tls, srv_ctx_pg, iters, 0);
	measure("tls_my", run_tls, srv_ctx_my, iters, 0);
	measure("gss", run_gss, NULL, iters, 1);
	printf("}\n");
	return 0;
}
