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

#include "../probes/login.h"
#include "driver_util.h"

static struct driver_run run = {
	.mem_ccache = "MEMORY:kw-login-pg-test",
	.cancelled = "reason=cancelled user= detail=",
	.breaks = 1,
	.exit_code = 2,
};

static void
done(void *arg, const struct login_result *r)
{
	printf("reason=%s user=%s detail=%s\n", reason_name(r->reason), r->current_user, r->detail);
	driver_done(&run, r);
}

/* --db, --cluster-spn */
static int
own_opt(struct driver_opts *o, int argc, char **argv, int *i)
{
	if (strcmp(argv[*i], "--db") == 0)
		o->c->database = opt(argc, argv, i);
	else if (strcmp(argv[*i], "--cluster-spn") == 0)
		o->c->spn = opt(argc, argv, i);
	else
		return 0;
	return 1;
}

static void
wait_login(struct driver_run *r)
{
	event_base_dispatch(r->evb);
	driver_loop_ended(r);
	if (r->need_calls > 1) {
		fprintf(stderr, "need_ticket was called %d times\n", r->need_calls);
		r->exit_code = 2;
	}
	/* the loop must be empty now: nothing of the login may still be registered */
	if (r->exit_code != 2 && event_base_loop(r->evb, EVLOOP_NONBLOCK) != 1 && r->o.cancel_ms == 0)
		fprintf(stderr, "events left after the login ended\n");
}

int
main(int argc, char **argv)
{
	static const struct driver_kind pg = { KW_ENGINE_POSTGRESQL, own_opt, done, wait_login };

	return driver_main(&run, &pg, argc, argv);
}
