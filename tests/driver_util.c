/* Helpers of the login test drivers (see driver_util.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <krb5/krb5.h>

#include "../lib/log.h"
#include "../probes/login.h"
#include "driver_util.h"

char *
opt(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		fprintf(stderr, "%s needs a value\n", argv[*i]);
		exit(2);
	}
	return argv[++*i];
}

int
copy_cache(const char *src, const char *dst, int init)
{
	krb5_context ctx;
	krb5_ccache in = NULL, out = NULL;
	krb5_principal p = NULL;
	krb5_error_code rc;

	if (krb5_init_context(&ctx) != 0)
		return -1;
	if ((rc = krb5_cc_resolve(ctx, src, &in)) != 0 ||
	    (rc = krb5_cc_get_principal(ctx, in, &p)) != 0 ||
	    (rc = krb5_cc_resolve(ctx, dst, &out)) != 0 ||
	    (init && (rc = krb5_cc_initialize(ctx, out, p)) != 0) ||
	    (rc = krb5_cc_copy_creds(ctx, in, out)) != 0) {
		const char *e = krb5_get_error_message(ctx, rc);

		fprintf(stderr, "copying %s to %s: %s\n", src, dst, e);
		krb5_free_error_message(ctx, e);
	}
	krb5_free_principal(ctx, p);
	if (in != NULL)
		krb5_cc_close(ctx, in);
	if (out != NULL)
		krb5_cc_close(ctx, out);
	krb5_free_context(ctx);
	return rc ? -1 : 0;
}

void
destroy_cache(const char *name)
{
	krb5_context ctx;
	krb5_ccache cc;

	if (krb5_init_context(&ctx) != 0)
		return;
	if (krb5_cc_resolve(ctx, name, &cc) == 0)
		krb5_cc_destroy(ctx, cc);
	krb5_free_context(ctx);
}

int
parse_tls(const char *m, enum kw_tls_mode *mode)
{
	static const char *const names[] = { "disable", "require", "verify-ca", "verify-identity" };
	static const enum kw_tls_mode modes[] = { KW_TLS_DISABLE, KW_TLS_REQUIRE, KW_TLS_VERIFY_CA,
	    KW_TLS_VERIFY_IDENTITY };
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(m, names[i]) == 0) {
			*mode = modes[i];
			return 0;
		}
	return -1;
}

int
driver_opt(struct driver_opts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i];

	if (strcmp(a, "--host") == 0)
		o->c->host = opt(argc, argv, i);
	else if (strcmp(a, "--port") == 0)
		o->c->port = (uint16_t)atoi(opt(argc, argv, i));
	else if (strcmp(a, "--user") == 0)
		o->c->user = opt(argc, argv, i);
	else if (strcmp(a, "--expect-user") == 0)
		o->c->expect_user = opt(argc, argv, i);
	else if (strcmp(a, "--ca") == 0)
		o->c->tls_ca = opt(argc, argv, i);
	else if (strcmp(a, "--spn") == 0)
		o->spn = opt(argc, argv, i);
	else if (strcmp(a, "--ccache-file") == 0)
		o->ccfile = opt(argc, argv, i);
	else if (strcmp(a, "--fetch-file") == 0)
		o->fetch_file = opt(argc, argv, i);
	else if (strcmp(a, "--timeout") == 0)
		o->timeout_ms = (unsigned)atoi(opt(argc, argv, i));
	else if (strcmp(a, "--cancel-after") == 0)
		o->cancel_ms = (unsigned)atoi(opt(argc, argv, i));
	else if (strcmp(a, "--tls") == 0) {
		const char *m = opt(argc, argv, i);

		if (parse_tls(m, &o->c->tls_mode) == -1) {
			fprintf(stderr, "unknown TLS mode %s\n", m);
			return -1;
		}
	} else
		return 0;
	return 1;
}

struct event_base *
driver_setup(struct driver_opts *o, const char *argv0, const char *mem_ccache)
{
	static char fname[300];
	char ccname[300];

	if (o->c->host == NULL || o->ccfile == NULL) {
		fprintf(stderr, "usage: %s --host H --ccache-file FILE [options]\n", argv0);
		return NULL;
	}
	log_init(getenv("KW_DEBUG") != NULL);
	snprintf(ccname, sizeof ccname, "FILE:%s", o->ccfile);
	if (copy_cache(ccname, mem_ccache, 1) == -1)
		return NULL;
	if (o->fetch_file != NULL) {
		snprintf(fname, sizeof fname, "FILE:%s", o->fetch_file);
		o->fetch_file = fname;
	}
	return event_base_new();
}

void
driver_defaults(struct driver_run *run, enum kw_engine e)
{
	static char user[] = "krbmon", database[32];
	const struct kw_engine_row *row = engine_row(e);
	struct kw_cluster *c = &run->c;

	memset(c, 0, sizeof *c);
	memset(&run->o, 0, sizeof run->o);
	run->o.c = c;
	run->o.timeout_ms = 5000;
	c->name = user;
	c->engine = e;
	c->port = row->default_port;
	c->user = user;
	if (row->default_database != NULL) {
		snprintf(database, sizeof database, "%s", row->default_database);
		c->database = database;
	}
	c->tls_mode = KW_TLS_VERIFY_IDENTITY;
}

/* Every option, then driver_setup: the loop, or NULL (said on stderr). */
static struct event_base *
driver_args(struct driver_opts *o, int argc, char **argv, driver_own_opt own,
    const char *mem_ccache)
{
	int i, r;

	for (i = 1; i < argc; i++) {
		if ((r = driver_opt(o, argc, argv, &i)) == 0)
			r = own(o, argc, argv, &i);
		if (r == -1)
			return NULL;
		if (r == 0) {
			fprintf(stderr, "unknown option %s\n", argv[i]);
			return NULL;
		}
	}
	return driver_setup(o, argv[0], mem_ccache);
}

void
driver_done(struct driver_run *run, const struct login_result *r)
{
	fflush(stdout);
	run->login = NULL;
	run->finished = 1;
	run->exit_code = r->reason == KW_OK ? 0 : 1;
	if (run->breaks)
		event_base_loopbreak(run->evb);
}

static void
fetched(evutil_socket_t fd, short what, void *arg)
{
	struct driver_run *run = arg;
	int ok = copy_cache(run->fetch_file, run->mem_ccache, 0) == 0;

	if (run->login != NULL)
		login_ticket_ready(run->login, ok ? KW_OK : KW_R_PRINCIPAL_UNKNOWN);
}

static void
need_ticket(void *arg, struct login *l, const char *spn)
{
	struct driver_run *run = arg;

	run->need_calls++;
	fprintf(stderr, "need_ticket %s\n", spn);
	if (run->fetch_never)
		return;
	/* answered later, from the loop, as the chain does (or with fetch_now from inside) */
	if (run->fetch_now)
		fetched(-1, 0, run);
	else
		event_base_once(run->evb, -1, EV_TIMEOUT, fetched, run, NULL);
}

static void
cancel_now(evutil_socket_t fd, short what, void *arg)
{
	struct driver_run *run = arg;

	if (run->login != NULL) {
		login_cancel(run->login);
		run->login = NULL;
		printf("%s\n", run->cancelled);
		run->exit_code = 3;
		run->finished = 1;
	}
	if (run->breaks)
		event_base_loopbreak(run->evb);
}

int
driver_start(struct driver_run *run, int argc, char **argv, driver_own_opt own,
    void (*done)(void *, const struct login_result *))
{
	struct login_callbacks cb = { .done = done, .arg = run };
	struct driver_opts *o = &run->o;

	if ((run->evb = driver_args(o, argc, argv, own, run->mem_ccache)) == NULL)
		return 2;
	run->fetch_file = o->fetch_file;
	if (run->fetch_file != NULL || run->fetch_never)
		cb.need_ticket = need_ticket;
	run->login = login_start(run->evb, o->c, run->mem_ccache, getenv("KW_DNS_SERVERS"), o->spn,
	    o->timeout_ms, &cb);
	if (run->login == NULL) {
		fprintf(stderr, "login_start failed\n");
		return 2;
	}
	if (run->finished) {
		fprintf(stderr, "the callback ran inside login_start\n");
		return 2;
	}
	if (o->cancel_ms > 0) {
		struct timeval tv = { o->cancel_ms / 1000, (o->cancel_ms % 1000) * 1000 };

		run->cancel_ev = evtimer_new(run->evb, cancel_now, run);
		evtimer_add(run->cancel_ev, &tv);
	}
	return 0;
}

void
driver_loop_ended(struct driver_run *run)
{
	if (run->cancel_ev != NULL)
		event_free(run->cancel_ev);
	run->cancel_ev = NULL;
	if (!run->finished) {
		fprintf(stderr, "the loop ended without a result\n");
		run->exit_code = 2;
	}
}

int
driver_end(struct driver_run *run)
{
	event_base_free(run->evb);
	destroy_cache(run->mem_ccache);
	return run->exit_code;
}

int
driver_main(struct driver_run *run, const struct driver_kind *kind, int argc, char **argv)
{
	driver_defaults(run, kind->engine);
	if (driver_start(run, argc, argv, kind->own, kind->done) != 0)
		return 2;
	kind->wait(run);
	return driver_end(run);
}
