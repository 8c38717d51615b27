/*
 * The probe interface.  A probe kind is one `const struct probe_ops` listed in probe_table
 * (probes/table.c); the scheduler knows nothing else about it.  The scheduler creates one job
 * per Region (or per cluster) and kind, starts it on its own jittered timer, arms its deadline,
 * and never lets it overlap itself.  Every run ends in exactly one probe_done(), which hands
 * its one result (result.h) up through job->sink; the daemon alone makes anything of it.
 */
#ifndef KRBWATCH_PROBE_H
#define KRBWATCH_PROBE_H

#include <time.h>

#include "../conf/config.h"
#include "../lib/reason.h"
#include "result.h"

struct kwd;
struct probe_job;

enum probe_scope { PROBE_PER_REGION, PROBE_PER_CLUSTER };

struct probe_ops {
	const char *name;		/* the `probe` label: "dns", "kdc", ... */
	enum probe_scope scope;
	/*
	 * Its result's verdicts feed krbwatch's own alert (KrbwatchAuthFailing): each ROW_CLUSTER
	 * row the cluster's, the run's verdict the Region's (daemon/results.c).
	 */
	int alerts;
	/*
	 * Begins a run of job.  Returns 0 when the run is under way (or already ended through
	 * probe_done), -1 when it could not begin (the scheduler then ends it as "internal").
	 */
	int (*start)(struct probe_job *);
	/* Ends a run early (deadline, shutdown, reload): release everything, no probe_done. */
	void (*cancel)(struct probe_job *);
	/*
	 * Optional: the deadline passed.  Ends the run now, with probe_done(), reporting what it
	 * learnt so far (the step in flight as "timeout").  NULL: cancel, then a plain timeout.
	 */
	void (*expire)(struct probe_job *);
	/*
	 * What the shared ends (probe.c: probe_cancel, probe_expire, probe_finish) are made of, for
	 * a kind whose run is the one pointer job->run (PROBE_KIND).  release frees a run and
	 * publishes nothing; timeout (optional) ends its unanswered parts as "timeout" at the
	 * deadline; result writes its rows and verdict into a zeroed result.
	 */
	void (*release)(void *run);
	void (*timeout)(void *run);
	void (*result)(void *run, struct probe_result *);
};

/*
 * A kind that ends the shared way: every kind ends a deadline, a cancel and a finished run
 * alike (probe_expire, probe_cancel, probe_finish), so its probe_ops names only its own parts.
 */
#define PROBE_KIND(n, sc, al, st, rel, tmo, res) { .name = (n), .scope = (sc), .alerts = (al), \
	.start = (st), .cancel = probe_cancel, .expire = probe_expire, .release = (rel), \
	.timeout = (tmo), .result = (res) }

extern const struct probe_ops *const probe_table[];

/*
 * The way up from a probe to the daemon, filled in by the daemon (daemon/sched.c): a probe
 * includes nothing of the daemon and calls it only through here.
 */
struct probe_sink {
	/* The run ended: its one result, the probe's until the call returns (probe_done). */
	void (*done)(struct probe_job *, const struct probe_result *);
};

struct probe_job {
	const struct probe_ops *ops;
	struct kwd *d;				/* opaque to probes: for sched.c's helpers */
	const struct probe_sink *sink;
	const struct kw_config *conf;
	const struct kw_region *region;
	const struct kw_cluster *cluster;	/* PROBE_PER_CLUSTER only */
	void *run;				/* the kind's state while running */
	struct timespec started;		/* CLOCK_MONOTONIC */

	/* scheduler-private below */
	struct event *timer;
	struct event *deadline;
	struct timespec anchor;			/* nominal start of the next run */
	int running;

	/*
	 * The daemon's copy of the last result (daemon/results.c keeps it, results_last() reads
	 * it; freed with the job), and what the daemon derives from it.  `reason`, `detail` and
	 * `step` repeat last's verdict for the status page and STATUS=.
	 */
	struct probe_result last;
	int has_result;
	enum kw_reason reason;
	char detail[256];
	char step[96];				/* which part failed ("db-east service_ticket"); ""
						   names the kind */
	double duration;			/* seconds */
	time_t finished;			/* wall clock */
	time_t last_ok;
};

/* The one completion path of a run (probe.c): hands result up through job->sink. */
void probe_done(struct probe_job *, const struct probe_result *);
/* A run that ends with a verdict and no rows (it could not start, a deadline before any). */
void probe_end(struct probe_job *, enum kw_reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * The shared ends of a PROBE_KIND run.  probe_cancel: job->run released, nothing published.
 * probe_expire: the deadline (the kind's timeout, then probe_finish).  probe_finish: the run's
 * result taken, the run released, then the result handed up with probe_done (so that nothing
 * of the run outlives it, whatever the sink does).  probe_finish_event: an event of the job
 * that runs probe_finish from the loop when made active (the run owns and frees it).
 */
void probe_cancel(struct probe_job *);
void probe_expire(struct probe_job *);
void probe_finish(struct probe_job *);
struct event *probe_finish_event(struct probe_job *);
/* A deep copy into dst (whose rows it reuses or frees), and the release of a copy's rows. */
void probe_result_copy(struct probe_result *dst, const struct probe_result *src);
void probe_result_free(struct probe_result *);
/* A new row of kind at the end of r's rows, every cell not run (the kind frees them after). */
struct result_row *probe_result_add(struct probe_result *, enum row_kind);

/* Seconds since the run started, and the time left before its deadline (never negative). */
double probe_elapsed(const struct probe_job *);
double probe_remaining(const struct probe_job *);

/* The event base the probe's I/O runs on. */
struct event_base *probe_base(const struct probe_job *);

#endif
