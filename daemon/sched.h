/*
 * The scheduler: one job per (probe kind, Region) or (probe kind, cluster), each on its own
 * timer.  Start times are spread over the interval so that many jobs do not fire together,
 * each run has its own deadline, and a job never overlaps itself.
 */
#ifndef KRBWATCH_SCHED_H
#define KRBWATCH_SCHED_H

#include <stddef.h>

struct kwd;
struct kw_config;
struct probe_job;

struct sched {
	struct kwd *d;
	struct probe_job **jobs;	/* in table order within each Region */
	size_t njobs;
};

struct sched *sched_new(struct kwd *);
/* Creates the jobs of conf and arms their timers; conf must outlive them. */
void sched_build(struct sched *, const struct kw_config *);
/* Cancels every running job and frees all jobs. */
void sched_clear(struct sched *);
void sched_free(struct sched *);

/* A run of j ended (results.c, from the sink): j idle, its deadline off; the run's seconds. */
double sched_job_ended(struct probe_job *);

/* Everything a job holds (its run cancelled, its events, the daemon's copy), not the job. */
void sched_job_release(struct probe_job *);

/* 1 when every job has finished at least once (or there is none). */
int sched_all_ran(const struct sched *);

#endif
