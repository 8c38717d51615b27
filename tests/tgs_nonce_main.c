/*
 * The driver of tests/t_chain.sh (its second half): MIT's step API (krb5_tkt_creds_step, which
 * probes/krb_stepper.c drives and whose replies it carries) must refuse a KDC reply that answers
 * another request.  krbwatch matches nothing of a reply itself: a late or duplicated datagram
 * that the transport hands to the wrong exchange is refused here or nowhere.
 *
 * Two TGS requests for the same service from the same cache (each with its own nonce and
 * subkey) go to the KDC; request A is then fed B's real reply, B its own.  Then a third,
 * fresh exchange is fed its own reply, to show that A's refusal is the reply's and not the
 * harness's.
 *
 * tgs_nonce_main CCACHE SPN KDC-USER KDC-DB
 *   CCACHE holds the TGT and the inter-realm TGT (copied into a MEMORY cache: nothing is
 *   stored back); KDC-USER and KDC-DB are the numeric addresses of the user realm's and the
 *   database realm's KDCs.  Prints "name: words" lines; exit 0 when every check held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <krb5/krb5.h>

static krb5_context k;
static krb5_ccache cc;
static krb5_principal me, svc;
static const char *kdc_user, *kdc_db;
static int failed;

static void
die(const char *what, krb5_error_code rc)
{
	const char *m = rc ? krb5_get_error_message(k, rc) : NULL;

	fprintf(stderr, "tgs_nonce_main: %s%s%s\n", what, m ? ": " : "", m ? m : "");
	exit(2);
}

/* The request of a fresh exchange for svc, and the realm it goes to. */
static krb5_tkt_creds_context
start(krb5_data *req, krb5_data *realm)
{
	krb5_tkt_creds_context t;
	krb5_creds in = { 0 };
	unsigned int flags = 0;
	krb5_data empty = { 0 };
	krb5_error_code rc;

	in.client = me;
	in.server = svc;
	if ((rc = krb5_tkt_creds_init(k, cc, &in, KRB5_GC_NO_STORE, &t)) != 0)
		die("krb5_tkt_creds_init", rc);
	if ((rc = krb5_tkt_creds_step(k, t, &empty, req, realm, &flags)) != 0)
		die("the first step", rc);
	if (!(flags & KRB5_TKT_CREDS_STEP_FLAG_CONTINUE))
		die("the service ticket is cached already", 0);
	return t;
}

/* One UDP exchange with the realm's KDC, on a blocking socket with a 5 s timeout. */
static void
exchange(const krb5_data *realm, const krb5_data *req, krb5_data *rep)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(88) };
	struct timeval tv = { 5, 0 };
	const char *ip = realm->length == me->realm.length &&
	    memcmp(realm->data, me->realm.data, realm->length) == 0 ? kdc_user : kdc_db;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	ssize_t n;

	rep->data = malloc(65536);
	if (fd == -1 || rep->data == NULL || inet_pton(AF_INET, ip, &sa.sin_addr) != 1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1 ||
	    sendto(fd, req->data, req->length, 0, (struct sockaddr *)&sa, sizeof sa) == -1 ||
	    (n = recv(fd, rep->data, 65536, 0)) <= 0)
		die("no reply from the KDC", 0);
	close(fd);
	rep->length = (unsigned int)n;
}

/* Feeds rep to t: 0 and *complete when it took it, else the error. */
static krb5_error_code
feed(krb5_tkt_creds_context t, krb5_data *rep, int *complete)
{
	krb5_data out = { 0 }, realm = { 0 };
	unsigned int flags = 0;
	krb5_error_code rc = krb5_tkt_creds_step(k, t, rep, &out, &realm, &flags);

	*complete = rc == 0 && !(flags & KRB5_TKT_CREDS_STEP_FLAG_CONTINUE);
	krb5_free_data_contents(k, &out);
	krb5_free_data_contents(k, &realm);
	return rc;
}

/* Whether t has a ticket to give. */
static int
has_creds(krb5_tkt_creds_context t)
{
	krb5_creds creds;

	if (krb5_tkt_creds_get_creds(k, t, &creds) != 0)
		return 0;
	krb5_free_cred_contents(k, &creds);
	return 1;
}

static void
describe(krb5_error_code rc, char *buf, size_t len)
{
	const char *m = rc ? krb5_get_error_message(k, rc) : NULL;

	snprintf(buf, len, "(%s)", m != NULL ? m : "no error");
	krb5_free_error_message(k, m);
}

static void
check(const char *name, int ok, const char *words)
{
	printf("%s: %s %s\n", name, ok ? "held" : "FAILED", words);
	failed |= !ok;
}

int
main(int argc, char **argv)
{
	krb5_ccache file;
	krb5_tkt_creds_context a, b, c;
	krb5_data req_a, req_b, req_c, realm_a, realm_b, realm_c, rep_a, rep_b;
	krb5_error_code rc;
	int complete;
	char words[300];

	if (argc != 5)
		die("usage: tgs_nonce_main CCACHE SPN KDC-USER KDC-DB", 0);
	kdc_user = argv[3];
	kdc_db = argv[4];
	if ((rc = krb5_init_context(&k)) != 0)
		die("krb5_init_context", rc);
	if ((rc = krb5_cc_resolve(k, argv[1], &file)) != 0 ||
	    (rc = krb5_cc_get_principal(k, file, &me)) != 0 ||
	    (rc = krb5_cc_resolve(k, "MEMORY:tgs-nonce", &cc)) != 0 ||
	    (rc = krb5_cc_initialize(k, cc, me)) != 0 || (rc = krb5_cc_copy_creds(k, file, cc)) != 0 ||
	    (rc = krb5_parse_name(k, argv[2], &svc)) != 0)
		die("the cache", rc);

	a = start(&req_a, &realm_a);
	b = start(&req_b, &realm_b);
	check("two requests", req_a.length != req_b.length ||
	    memcmp(req_a.data, req_b.data, req_a.length) != 0, "differ");
	exchange(&realm_a, &req_a, &rep_a);
	exchange(&realm_b, &req_b, &rep_b);

	/*
	 * MIT refuses it ("Failed to decrypt FAST reply") and, its referral request having failed,
	 * asks again without referrals: no ticket, another request.  That one refuses it too.
	 */
	rc = feed(a, &rep_b, &complete);
	describe(rc, words, sizeof words);
	check("a reply to another request", !complete && !has_creds(a),
	    rc == 0 ? "(no ticket: a new request instead)" : words);
	if (rc == 0) {
		rc = feed(a, &rep_b, &complete);
		describe(rc, words, sizeof words);
		check("the same reply to the request made again", rc != 0 && !complete, words);
	} else {
		check("the same reply to the request made again", 1, "(not asked again)");
	}
	rc = feed(b, &rep_b, &complete);
	describe(rc, words, sizeof words);
	check("the reply to its own request", rc == 0 && complete && has_creds(b),
	    rc == 0 ? "(a ticket)" : words);
	/* a late duplicate: the reply to a request made before this one */
	c = start(&req_c, &realm_c);
	rc = feed(c, &rep_a, &complete);
	describe(rc, words, sizeof words);
	check("a reply to an earlier request", !complete && !has_creds(c),
	    rc == 0 ? "(no ticket: a new request instead)" : words);

	krb5_tkt_creds_free(k, a);
	krb5_tkt_creds_free(k, b);
	krb5_tkt_creds_free(k, c);
	free(rep_a.data);
	free(rep_b.data);
	krb5_free_data_contents(k, &req_a);
	krb5_free_data_contents(k, &req_b);
	krb5_free_data_contents(k, &req_c);
	krb5_free_data_contents(k, &realm_a);
	krb5_free_data_contents(k, &realm_b);
	krb5_free_data_contents(k, &realm_c);
	krb5_free_principal(k, svc);
	krb5_free_principal(k, me);
	krb5_cc_destroy(k, cc);
	krb5_cc_close(k, file);
	krb5_free_context(k);
	return failed;
}
