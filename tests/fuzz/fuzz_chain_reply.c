/*
 * libFuzzer target for the chain's KDC reply path (probes/krb_stepper.c, included to reach its static
 * functions): a stepper on a real MIT init_creds context has sent its first AS-REQ, and the
 * input comes back as the KDC's reply through stepper_reply: the KRB-ERROR peek (code, e-text),
 * then krb5_init_creds_step with the reply, then the reason mapping of whatever that returned.
 * No request ever leaves: the watcher ends the stepper before a second one is routed.  The
 * library runs with an empty profile (KRB5_CONFIG=/dev/null): nothing it does can look anything
 * up.  Input: the reply bytes.  Seeds: tests/fuzz/chain_reply/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../probes/krb_stepper.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fz_ended;

static void
fz_done(struct stepper *st, krb5_error_code code, enum kw_reason r, const char *detail)
{
	(void)st;
	(void)code;
	(void)reason_name(r);
	(void)strlen(detail);
	fz_ended = 1;
}

/* Every realm the library names ends the stepper: nothing is routed or sent. */
static int
fz_watch(struct stepper *st, const char *realm)
{
	(void)st;
	(void)strlen(realm);
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static krb5_context ctx;
	static krb5_principal me;
	static char host[] = "192.0.2.88";
	static struct kw_addr addr = { .host = host, .port = 88 };
	static struct kw_kdcs kdcs = { .addrs = &addr, .n = 1 };
	struct chain ch;
	struct stepper *st = &ch.st;

	if (ctx == NULL) {
		setenv("KRB5_CONFIG", "/dev/null", 1);
		if (krb5_init_context(&ctx) != 0 ||
		    krb5_parse_name(ctx, "krbmon@ONPREM.EXAMPLE.COM", &me) != 0)
			abort();
	}
	memset(&ch, 0, sizeof ch);
	ch.ctx = ctx;
	ch.user_realm = "ONPREM.EXAMPLE.COM";
	st->ch = &ch;
	st->kind = KRB5_HOP_AS;
	st->kdcs = &kdcs;
	st->done = fz_done;
	st->watch = fz_watch;
	if (krb5_init_creds_init(ctx, me, NULL, NULL, 0, NULL, &st->icc) != 0 ||
	    krb5_init_creds_set_password(ctx, st->icc, "not-a-password") != 0)
		abort();
	/* the first step: the AS-REQ, kept in st->out as if it had been sent */
	fz_ended = 0;
	stepper_step(st, NULL);
	if (!fz_ended) {
		/* the reply: stepper_reply frees the request and steps with the input */
		stepper_reply(st, KW_OK, data, size);
		if (!fz_ended)
			krb5_free_data_contents(ctx, &st->out);
	}
	krb5_init_creds_free(ctx, st->icc);
	return 0;
}
