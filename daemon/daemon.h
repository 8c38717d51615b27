/*
 * The process: one event base, the running configuration, the metrics registry, the HTTP
 * listener and the scheduled probes.  Everything here lives on the one loop.
 */
#ifndef KRBWATCH_DAEMON_H
#define KRBWATCH_DAEMON_H

#include <time.h>

#include "../conf/config.h"

#define KRBWATCH_VERSION "0.1.0"

struct event_base;
struct event;
struct metrics;
struct mfamily;
struct http;
struct sched;
struct probe_job;
struct alerts;

struct kwd {
	struct event_base *base;
	const char *conf_path;
	struct kw_config *conf;
	struct metrics *metrics;
	struct http *http;
	struct sched *sched;
	struct alerts *alerts;		/* krbwatch's own alerts and their webhooks */
	struct event *sig_term, *sig_int, *sig_hup;
	struct event *watchdog;
	struct event *drain;		/* stopping: the webhooks' last chance */
	time_t started;
	int stopping;
	unsigned long reload_gen;	/* reloads so far: the verdict file's generation */
	int reload_failed;		/* the last reload kept the old file: STATUS= says so */
	int once;			/* krbwatch probe: each job runs once, now, then the loop ends */
	/* krbwatch probe: hears every step of every run (probe_trace); NULL in the daemon */
	void (*trace)(void *arg, const struct probe_job *, const char *kind, const char *step,
	    int reason, double seconds, const char *detail);
	void *trace_arg;
	int exit_code;
	struct {
		struct mfamily *build_info;
		struct mfamily *reload_success;
		struct mfamily *reload_timestamp;
		struct mfamily *probe_runs;
		struct mfamily *probe_failures;
		struct mfamily *probe_duration;
		struct mfamily *start_time;
	} m;
};

/* Runs the daemon on a loaded configuration until SIGTERM/SIGINT; returns the exit code. */
int daemon_run(const char *conf_path, struct kw_config *conf);

/* Creates the registry with the process's own families and every probe kind's. */
void daemon_register_metrics(struct kwd *);

/* Called by the scheduler after any job finished, to refresh STATUS= and readiness. */
void daemon_results_changed(struct kwd *);

/* The alert state machines, for probes to report to (alerts_observe in alert.h). */
struct alerts *kwd_alerts(struct kwd *);

/* A one-line summary of the Regions' health, for STATUS= and the logs. */
void daemon_summary(struct kwd *, char *buf, size_t len);

#endif
