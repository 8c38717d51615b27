/*
 * Unit tests of probes/login_gate.c on a real libevent loop: at most `limit` waits hold a slot
 * of one host:port (names without case) at a time, the others go first come first served as
 * slots are given back, another port is another host, a queued wait that leaves never runs, go() never runs inside the call that asked, and pacing spreads starts over a window.
 */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "../probes/login_gate.h"
#include "unit.h"

#define NW 8

static struct event_base *base;
static struct login_gate_wait w[NW];
static int order[NW], norder, holding, peak, inside;

static void
went(void *arg)
{
	int i = (int)((struct login_gate_wait *)arg - w);

	order[norder++] = i;
	holding++;
	if (holding > peak)
		peak = holding;
	check(!inside, "go() runs from the loop, not inside the call that asked");
}

static void
run_loop(void)
{
	event_base_loop(base, EVLOOP_NONBLOCK);
	event_base_loop(base, EVLOOP_NONBLOCK);
}

static void
test_slots(void)
{
	char what[128];

	inside = 1;
	for (int i = 0; i < NW; i++)
		login_gate_enter(base, &w[i], i < 6 ? "db.example" : "DB.example", 5432, 3, went, &w[i]);
	inside = 0;
	run_loop();
	check(norder == 3 && peak == 3, "3 of 8 waits on one host hold a slot at once (limit 3)");
	check(login_gate_queued(&w[3]) && !login_gate_queued(&w[0]), "the 4th waits, the 1st holds");
	login_gate_leave(&w[4]);	/* queued: leaves the line */
	login_gate_leave(&w[4]);	/* idempotent */
	for (int k = 0; k < 4; k++) {
		int i = order[k];

		holding--;
		login_gate_leave(&w[i]);
		run_loop();
	}
	snprintf(what, sizeof what, "given back, the next in line go in order (got %d %d %d %d %d)",
	    order[3], order[4], order[5], order[6], order[7]);
	check(norder == 7 && order[3] == 3 && order[4] == 5 && order[5] == 6 && order[6] == 7, what);
	check(peak == 3, "never more than 3 at a time");
	for (int i = 0; i < NW; i++)
		login_gate_leave(&w[i]);
	check(!login_gate_queued(&w[7]), "every wait left");
}

static void
test_hosts(void)
{
	struct login_gate_wait a = { 0 }, b = { 0 };

	norder = holding = peak = 0;
	login_gate_enter(base, &a, "pg-a", 5432, 1, went, &w[0]);
	login_gate_enter(base, &b, "pg-a", 5433, 1, went, &w[1]);
	run_loop();
	check(norder == 2, "another port is another host: both go with limit 1");
	login_gate_leave(&a);
	login_gate_leave(&b);
}

static void
test_spread(void)
{
	check(login_gate_spread_ms(0, 100, 5000) == 0, "spread: the first starts at once");
	check(login_gate_spread_ms(50, 100, 5000) == 2500, "spread: the middle one half-way");
	check(login_gate_spread_ms(99, 100, 5000) == 4950, "spread: the last before the window ends");
	check(login_gate_spread_ms(0, 1, 5000) == 0, "spread: one alone starts at once");
}

int
main(void)
{
	base = event_base_new();
	test_slots();
	test_hosts();
	test_spread();
	event_base_free(base);
	return failed;
}
