/*
 * The steps `krbwatch probe` prints, read from a run's typed result (probes/result.h): a DNS
 * lookup, a KDC endpoint, the chain's hops (tgt, referral, each cluster's referral path,
 * service ticket and login, the hops the lockout budget held back), a reader instance, a
 * global writer and this Region as its failover target.  Nothing here runs a probe: a result
 * built by hand gives the same lines as a run (tests/unit_probe_steps.c).
 */
#ifndef KRBWATCH_PROBE_STEPS_H
#define KRBWATCH_PROBE_STEPS_H

#include <stdio.h>

#include "../probes/result.h"

/*
 * One step: kind is what sort of step it is for the explanations ("dns", "kdc", "tgt",
 * "referral", "service_ticket", "login", "reader", "global", "failover", or "held" for a hop
 * held back), name what the line says it is ("tgt", "db-east service_ticket").
 */
typedef void probe_step_fn(void *arg, const char *kind, const char *name, enum kw_reason,
    double seconds, const char *detail);

/* Every step of res in the order a reader follows the path; region names this Region. */
void probe_steps(const struct probe_result *res, const char *region, probe_step_fn *, void *);

/* One step as its text line, and for a failure what it means and what to check. */
void probe_step_print(FILE *, int colour, const char *kind, const char *name, enum kw_reason,
    double seconds, const char *detail);

#endif
