/*
 * A driver for the PostgreSQL login (through the login.h dispatcher), for tests/t_login_pg.sh.
 *
 *   login_pg_main --host H --ccache-file FILE [--hostaddr-literal] [--port P] [--user U]
 *       [--expect-user E] [--db D] [--tls MODE] [--ca FILE] [--spn SPN] [--timeout MS]
 *       [--fetch-file FILE2] [--cancel-after MS]
 *
 * The tickets of FILE (made by kinit -k + kvno) are copied into a MEMORY cache, and the login
 * runs on a libevent loop with that cache.  --fetch-file answers need_ticket by copying FILE2's
 * tickets in as well (as the chain would fetch them); --cancel-after cancels the login.
 * Prints "reason=R user=U detail=D"; exits 0 on KW_OK, 1 on any other reason, 3 when cancelled,
 * 2 on a usage or set-up error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <krb5/krb5.h>

#include "../lib/log.h"
#include "../probes/login.h"
#include "driver_util.h"

#define MEM_CCACHE "MEMORY:kw-login-pg-test"

static struct event_base *evb;
static struct login *login;
static const char *fetch_file;
static char default_user[] = "krbmon", default_db[] = "postgres";
static int finished, exit_code = 2, need_calls;

static void
done(void *arg, const struct login_result *r)
{
	printf("reason=%s user=%s detail=%s\n", reason_name(r->reason), r->current_user, r->detail);
	fflush(stdout);
	login = NULL;
	finished = 1;
	exit_code = r->reason == KW_OK ? 0 : 1;
	event_base_loopbreak(evb);
}

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
	/* answered later, from the loop, as the chain does */
	event_base_once(evb, -1, EV_TIMEOUT, fetched, NULL, NULL);
}

static void
cancel_now(evutil_socket_t fd, short what, void *arg)
{
	if (login != NULL) {
		login_cancel(login);
		login = NULL;
		printf("reason=cancelled user= detail=\n");
		exit_code = 3;
		finished = 1;
	}
	event_base_loopbreak(evb);
}

int
main(int argc, char **argv)
{
	struct kw_cluster c;
	struct login_callbacks cb;
	struct driver_opts o = { .c = &c, .timeout_ms = 5000 };
	int i, r;

	memset(&c, 0, sizeof c);
	c.engine = KW_ENGINE_POSTGRESQL;
	c.port = 5432;
	c.user = default_user;
	c.database = default_db;
	c.tls_mode = KW_TLS_VERIFY_IDENTITY;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((r = driver_opt(&o, argc, argv, &i)) == -1)
			return 2;
		else if (r == 1)
			continue;
		if (strcmp(a, "--db") == 0)
			c.database = opt(argc, argv, &i);
		else if (strcmp(a, "--cluster-spn") == 0)
			c.spn = opt(argc, argv, &i);
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
	cb.need_ticket = fetch_file ? need_ticket : NULL;
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
		event_base_once(evb, -1, EV_TIMEOUT, cancel_now, NULL, &tv);
	}
	event_base_dispatch(evb);
	if (!finished) {
		fprintf(stderr, "the loop ended without a result\n");
		exit_code = 2;
	}
	if (need_calls > 1) {
		fprintf(stderr, "need_ticket was called %d times\n", need_calls);
		exit_code = 2;
	}
	/* the loop must be empty now: nothing of the login may still be registered */
	if (exit_code != 2 && event_base_loop(evb, EVLOOP_NONBLOCK) != 1 && o.cancel_ms == 0)
		fprintf(stderr, "events left after the login ended\n");
	event_base_free(evb);
	destroy_cache(MEM_CCACHE);
	return exit_code;
}
