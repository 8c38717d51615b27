/*
 * How the chain's logins are paced, so that krbwatch never makes its own false alarms by
 * exhausting the connections of the databases it watches (issue 21: 1,000 clusters logged in a
 * Region at a time hit a server's max_connections).
 *
 *   pacing  a run's branches start spread over a window instead of all at once
 *           (login_gate_after), as the jobs' start times are spread over the interval;
 *   slots   at most `limit` logins at a time to one database host:port, across every Region's
 *           runs (login_gate_enter); the others wait, first come first served.
 *
 * A wait is the caller's (embedded in its branch); go() runs later from the loop, never inside
 * these calls, and never after login_gate_leave().
 */
#ifndef KRBWATCH_LOGIN_GATE_H
#define KRBWATCH_LOGIN_GATE_H

#include <stddef.h>
#include <stdint.h>

struct event;
struct event_base;
struct gate_host;

struct login_gate_wait {
	struct gate_host *host;		/* the host queued at or holding a slot of, NULL: none */
	struct login_gate_wait *next;	/* in host's queue */
	struct event *ev;
	void (*go)(void *);
	void *arg;
	int state;			/* GATE_* (login_gate.c) */
};

/* The delay of branch i of n spread evenly over window_ms (0 for the first). */
unsigned login_gate_spread_ms(size_t i, size_t n, unsigned window_ms);

/* go(arg) after delay_ms. */
void login_gate_after(struct event_base *, struct login_gate_wait *, unsigned delay_ms,
    void (*go)(void *), void *arg);

/* go(arg) once one of the limit slots of host:port is this wait's. */
void login_gate_enter(struct event_base *, struct login_gate_wait *, const char *host,
    uint16_t port, unsigned limit, void (*go)(void *), void *arg);

/* 1 while the wait waits for a slot (for the deadline's words), else 0. */
int login_gate_queued(const struct login_gate_wait *);

/* Gives the slot back (the next waiter's go runs), or stops waiting.  Idempotent. */
void login_gate_leave(struct login_gate_wait *);

#endif
