#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "../lib/log.h"
#include "../lib/xmalloc.h"
#include "../probes/probe.h"
#include "kwd.h"
#include "sched.h"

static void job_timer_cb(evutil_socket_t, short, void *);
static void job_deadline_cb(evutil_socket_t, short, void *);

static double
ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(a->tv_sec - b->tv_sec) + (double)(a->tv_nsec - b->tv_nsec) / 1e9;
}

static struct timeval
ms_tv(uint64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
	return tv;
}

static void
ts_add_ms(struct timespec *ts, uint64_t ms)
{
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

struct sched *
sched_new(struct kwd *d)
{
	struct sched *s = xcalloc(1, sizeof *s);

	s->d = d;
	return s;
}

static struct probe_job *
job_new(struct sched *s, const struct probe_ops *ops, const struct kw_config *conf,
    const struct kw_region *r, const struct kw_cluster *c)
{
	struct probe_job *j = xcalloc(1, sizeof *j);

	j->ops = ops;
	j->d = s->d;
	j->sink = s->d->sink;
	j->conf = conf;
	j->region = r;
	j->cluster = c;
	j->timer = evtimer_new(s->d->base, job_timer_cb, j);
	j->deadline = evtimer_new(s->d->base, job_deadline_cb, j);
	if (j->timer == NULL || j->deadline == NULL)
		fatalx("evtimer_new failed");
	s->jobs = xreallocarray(s->jobs, s->njobs + 1, sizeof *s->jobs);
	s->jobs[s->njobs++] = j;
	return j;
}

/* Waits until the job's anchor, plus a little jitter so runs on one interval drift apart. */
static void
job_arm(struct probe_job *j)
{
	struct timespec now;
	uint64_t interval = j->conf->interval_ms, jitter_max = interval / 20;
	double wait;

	clock_gettime(CLOCK_MONOTONIC, &now);
	wait = ts_diff(&j->anchor, &now);
	if (wait < 0) {
		/* the loop was held up (suspend, a slow host): start again from now */
		j->anchor = now;
		wait = 0;
	}
	if (jitter_max > 1000)
		jitter_max = 1000;
	uint64_t ms = (uint64_t)(wait * 1000) + (jitter_max ? arc4random_uniform((uint32_t)jitter_max) : 0);
	struct timeval tv = ms_tv(ms);
	evtimer_add(j->timer, &tv);
}

/*
 * First runs are spread evenly over one interval, each at a random point of its own slot,
 * so that N jobs never start together (chrony's SCH_AddTimeoutInClass does the same).
 */
void
sched_build(struct sched *s, const struct kw_config *conf)
{
	struct timespec now;

	for (size_t r = 0; r < conf->nregions; r++) {
		const struct kw_region *reg = &conf->regions[r];
		for (size_t k = 0; probe_table[k] != NULL; k++) {
			const struct probe_ops *ops = probe_table[k];
			if (ops->scope == PROBE_PER_REGION)
				job_new(s, ops, conf, reg, NULL);
			else
				for (size_t c = 0; c < reg->nclusters; c++)
					job_new(s, ops, conf, reg, &reg->clusters[c]);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	for (size_t i = 0; i < s->njobs; i++) {
		uint64_t slot = conf->interval_ms / s->njobs;
		struct probe_job *j = s->jobs[i];

		j->anchor = now;
		if (s->d->once) {
			/* all at once: a diagnosis wants its answer now, and runs each job only once */
			struct timeval tv = { 0, 0 };
			evtimer_add(j->timer, &tv);
			continue;
		}
		ts_add_ms(&j->anchor, slot * i + (slot ? arc4random_uniform((uint32_t)slot) : 0));
		job_arm(j);
	}
	log_debug("scheduled %zu probe jobs", s->njobs);
}

void
sched_job_release(struct probe_job *j)
{
	if (j->running) {
		j->ops->cancel(j);
		j->running = 0;
	}
	event_free(j->timer);
	event_free(j->deadline);
	probe_result_free(&j->last);
}

static void
job_free(struct probe_job *j)
{
	sched_job_release(j);
	free(j);
}

void
sched_clear(struct sched *s)
{
	free_ptrs(s->jobs, s->njobs, job_free);
}

void
sched_free(struct sched *s)
{
	if (s == NULL)
		return;
	sched_clear(s);
	free(s);
}

int
sched_all_ran(const struct sched *s)
{
	for (size_t i = 0; i < s->njobs; i++)
		if (!s->jobs[i]->has_result)
			return 0;
	return 1;
}

static void
job_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct probe_job *j = arg;

	(void)fd;
	(void)what;
	if (j->running) {
		/*
		 * A late start (a busy loop, jitter) can bring the next turn before this run's
		 * deadline when the timeout is close to the interval: skip the turn, never overlap,
		 * and let the deadline end the run it gave.
		 */
		log_debug("%s %s: still running at its next turn: skipping it", j->region->name,
		    j->ops->name);
		ts_add_ms(&j->anchor, j->conf->interval_ms);
		job_arm(j);
		return;
	}
	ts_add_ms(&j->anchor, j->conf->interval_ms);
	if (!j->d->once)
		job_arm(j);

	clock_gettime(CLOCK_MONOTONIC, &j->started);
	j->running = 1;
	j->run = NULL;
	struct timeval tv = ms_tv(j->conf->timeout_ms);
	evtimer_add(j->deadline, &tv);
	if (j->ops->start(j) == -1 && j->running)
		probe_end(j, KW_R_INTERNAL, "could not start");
}

static void
job_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct probe_job *j = arg;

	(void)fd;
	(void)what;
	if (!j->running)
		return;
	if (j->ops->expire != NULL) {
		j->ops->expire(j);
		if (j->running)
			fatalx("probe %s/%s did not end at its deadline", j->ops->name, j->region->name);
		return;
	}
	j->ops->cancel(j);
	probe_end(j, KW_R_TIMEOUT, "no answer within the %llu ms deadline",
	    (unsigned long long)j->conf->timeout_ms);
}

double
probe_elapsed(const struct probe_job *j)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ts_diff(&now, &j->started);
}

double
probe_remaining(const struct probe_job *j)
{
	double left = (double)j->conf->timeout_ms / 1000.0 - probe_elapsed(j);

	return left > 0 ? left : 0;
}

struct event_base *
probe_base(const struct probe_job *j)
{
	return j->d->base;
}

/*
 * The scheduler's part of a run's end (daemon/results.c calls it first): the job is idle again,
 * its deadline off.  Returns the run's duration in seconds.
 */
double
sched_job_ended(struct probe_job *j)
{
	if (!j->running)
		fatalx("probe %s/%s finished twice", j->ops->name, j->region->name);
	j->running = 0;
	j->run = NULL;
	evtimer_del(j->deadline);
	return probe_elapsed(j);
}
