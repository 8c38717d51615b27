/*
 * A driver for the MySQL/MariaDB login (through the login.h dispatcher), for
 * tests/t_login_mysql.sh.
 *
 *   login_main --host H --ccache-file FILE [--engine mysql|mariadb] [--port P] [--user U]
 *       [--expect-user E] [--tls MODE] [--ca FILE] [--spn SPN] [--spn-config SPN] [--timeout MS]
 *       [--fetch-file FILE2 [--fetch-now] | --fetch-never] [--cancel-after MS]
 *
 * The tickets of FILE (made by kinit -k + kvno) are copied into a MEMORY cache, and the login
 * runs on a libevent loop with that cache.  --fetch-file answers need_ticket by copying FILE2's
 * tickets in as well, as the chain would fetch them: from the loop, or with --fetch-now from
 * inside need_ticket itself; --fetch-never never answers.  --cancel-after cancels the login.
 * Prints "reason=R user=U spn=S realm=R server_error=N detail=D"; exits 0 on KW_OK, 1 on any
 * other reason, 3 when cancelled, 2 on a usage or set-up error or a broken contract (a callback
 * inside login_start, done twice, need_ticket twice, events left on the loop).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <krb5/krb5.h>

#include "../lib/log.h"
#include "../probes/login.h"
#include "driver_util.h"

#define MEM_CCACHE "MEMORY:kw-login-mysql-test"

static struct event_base *evb;
static struct login *login;
static const char *fetch_file;
static char default_user[] = "krbmon";
static int finished, exit_code = 2, need_calls, done_calls, fetch_now, fetch_never;

static void
done(void *arg, const struct login_result *r)
{
	if (done_calls++ > 0) {
		fprintf(stderr, "done called twice\n");
		exit_code = 2;
		return;
	}
	printf("reason=%s user=%s spn=%s realm=%s server_error=%d detail=%s\n",
	    reason_name(r->reason), r->current_user, r->announced_spn, r->announced_realm,
	    r->server_error, r->detail);
	fflush(stdout);
	login = NULL;
	finished = 1;
	exit_code = r->reason == KW_OK ? 0 : 1;
}

/*
 * fetched, need_ticket as in login_pg_main.c: each driver's own way to answer (here also
 * --fetch-now, --fetch-never), over its own globals
 */
static void
fetched(evutil_socket_t fd, short what, void *arg)
{
	int ok = copy_cache(fetch_file, MEM_CCACHE, 0) == 0;

	if (login != NULL)
		login_ticket_ready(login, ok ? KW_OK : KW_R_PRINCIPAL_UNKNOWN);
}

static void
need_ticket(void *arg, struct login *l, const char *spn)
{
	need_calls++;
	fprintf(stderr, "need_ticket %s\n", spn);
	if (fetch_never)
		return;
	if (fetch_now)
		fetched(-1, 0, NULL);
	else
		event_base_once(evb, -1, EV_TIMEOUT, fetched, NULL, NULL);
}

static void
cancel_now(evutil_socket_t fd, short what, void *arg)
{
	if (login != NULL) {
		login_cancel(login);
		login = NULL;
		printf("reason=cancelled user= spn= realm= server_error=0 detail=\n");
		exit_code = 3;
		finished = 1;
	}
}

int
main(int argc, char **argv)
{
	struct kw_cluster c;
	struct login_callbacks cb;
	struct event *cancel_ev = NULL;
	struct driver_opts o = { .c = &c, .timeout_ms = 5000 };
	int i, r;

	memset(&c, 0, sizeof c);
	c.name = default_user;
	c.engine = KW_ENGINE_MARIADB;
	c.port = 3306;
	c.user = default_user;
	c.tls_mode = KW_TLS_VERIFY_IDENTITY;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((r = driver_opt(&o, argc, argv, &i)) == -1)
			return 2;
		else if (r == 1)
			continue;
		if (strcmp(a, "--engine") == 0) {
			const char *e = opt(argc, argv, &i);

			if (strcmp(e, "mysql") == 0)
				c.engine = KW_ENGINE_MYSQL;
			else if (strcmp(e, "mariadb") == 0)
				c.engine = KW_ENGINE_MARIADB;
			else {
				fprintf(stderr, "unknown engine %s\n", e);
				return 2;
			}
		} else if (strcmp(a, "--spn-config") == 0)	/* the cluster's spn: (and the chain's) */
			o.spn = c.spn = opt(argc, argv, &i);
		else if (strcmp(a, "--fetch-now") == 0)
			fetch_now = 1;
		else if (strcmp(a, "--fetch-never") == 0)
			fetch_never = 1;
		else {
			fprintf(stderr, "unknown option %s\n", a);
			return 2;
		}
	}
	if ((evb = driver_setup(&o, argv[0], MEM_CCACHE)) == NULL)
		return 2;
	fetch_file = o.fetch_file;
	memset(&cb, 0, sizeof cb);
	cb.done = done;
	cb.need_ticket = fetch_file != NULL || fetch_never ? need_ticket : NULL;
	login = login_start(evb, &c, MEM_CCACHE, getenv("KW_DNS_SERVERS"), o.spn, o.timeout_ms,
	    &cb);
	if (login == NULL) {
		fprintf(stderr, "login_start failed\n");
		return 2;
	}
	if (finished) {
		fprintf(stderr, "the callback ran inside login_start\n");
		return 2;
	}
	if (o.cancel_ms > 0) {
		struct timeval tv = { o.cancel_ms / 1000, (o.cancel_ms % 1000) * 1000 };

		cancel_ev = evtimer_new(evb, cancel_now, NULL);
		evtimer_add(cancel_ev, &tv);
	}
	/* runs until nothing is left: a login that ended must leave no event behind */
	while (!finished && event_base_loop(evb, EVLOOP_ONCE) == 0)
		;
	if (cancel_ev != NULL)
		event_free(cancel_ev);
	if (!finished) {
		fprintf(stderr, "the loop ended without a result\n");
		exit_code = 2;
	}
	if (event_base_loop(evb, EVLOOP_NONBLOCK) != 1) {
		fprintf(stderr, "events left after the login ended\n");
		exit_code = 2;
	}
	if (done_calls > 1 || need_calls > 1) {
		fprintf(stderr, "done called %d times, need_ticket %d times\n", done_calls,
		    need_calls);
		exit_code = 2;
	}
	event_base_free(evb);
	destroy_cache(MEM_CCACHE);
	return exit_code;
}
