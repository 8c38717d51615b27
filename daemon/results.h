/* The results of the probe runs, for the daemon's rooms (results.c). */
#ifndef KRBWATCH_RESULTS_H
#define KRBWATCH_RESULTS_H

#include <stddef.h>

struct kwd;

/* A one-line summary of the Regions' health, for STATUS=, the status page and the logs. */
void results_summary(struct kwd *, char *buf, size_t len);

/* After any job finished (kwd.results_changed): STATUS= when it changed, or the end of a once run. */
void results_changed(struct kwd *);

#endif
