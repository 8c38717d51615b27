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

#include "../probes/login.h"
#include "driver_util.h"

static struct driver_run run = {
	.mem_ccache = "MEMORY:kw-login-mysql-test",
	.cancelled = "reason=cancelled user= spn= realm= server_error=0 detail=",
	.exit_code = 2,
};
static int done_calls;

static void
done(void *arg, const struct login_result *r)
{
	if (done_calls++ > 0) {
		fprintf(stderr, "done called twice\n");
		run.exit_code = 2;
		return;
	}
	printf("reason=%s user=%s spn=%s realm=%s server_error=%d detail=%s\n",
	    reason_name(r->reason), r->current_user, r->announced_spn, r->announced_realm,
	    r->server_error, r->detail);
	driver_done(&run, r);
}

/* --engine, --spn-config, --fetch-now, --fetch-never */
static int
own_opt(struct driver_opts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i];

	if (strcmp(a, "--engine") == 0) {
		const char *e = opt(argc, argv, i);

		if (strcmp(e, "mysql") == 0)
			o->c->engine = KW_ENGINE_MYSQL;
		else if (strcmp(e, "mariadb") == 0)
			o->c->engine = KW_ENGINE_MARIADB;
		else {
			fprintf(stderr, "unknown engine %s\n", e);
			return -1;
		}
	} else if (strcmp(a, "--spn-config") == 0)	/* the cluster's spn: (and the chain's) */
		o->spn = o->c->spn = opt(argc, argv, i);
	else if (strcmp(a, "--fetch-now") == 0)
		run.fetch_now = 1;
	else if (strcmp(a, "--fetch-never") == 0)
		run.fetch_never = 1;
	else
		return 0;
	return 1;
}

/* runs until nothing is left: a login that ended must leave no event behind */
static void
wait_login(struct driver_run *r)
{
	while (!r->finished && event_base_loop(r->evb, EVLOOP_ONCE) == 0)
		;
	driver_loop_ended(r);
	if (event_base_loop(r->evb, EVLOOP_NONBLOCK) != 1) {
		fprintf(stderr, "events left after the login ended\n");
		r->exit_code = 2;
	}
	if (done_calls > 1 || r->need_calls > 1) {
		fprintf(stderr, "done called %d times, need_ticket %d times\n", done_calls,
		    r->need_calls);
		r->exit_code = 2;
	}
}

int
main(int argc, char **argv)
{
	static const struct driver_kind mysql = { KW_ENGINE_MARIADB, own_opt, done, wait_login };

	return driver_main(&run, &mysql, argc, argv);
}
