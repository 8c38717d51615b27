/* The results of the probe runs, for the daemon's rooms (results.c). */
#ifndef KRBWATCH_RESULTS_H
#define KRBWATCH_RESULTS_H

#include <stddef.h>

struct kwd;
struct probe_job;
struct probe_result;
struct probe_sink;

/*
 * The way up from every probe job (kwd.sink): `done` is the one fan-out of a run's result (the
 * daemon's copy, metrics, the transition log, STATUS=), `observe` a verdict for the alerts.
 */
extern const struct probe_sink results_sink;

/* The daemon's copy of the job's last result; NULL before its first run ended. */
const struct probe_result *results_last(const struct probe_job *);

/* How many results the sink took so far (a change of any job's last result moves it). */
unsigned long results_generation(void);

/* A one-line summary of the Regions' health, for STATUS=, the status page and the logs. */
void results_summary(struct kwd *, char *buf, size_t len);


#endif
