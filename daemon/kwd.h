/*
 * The process's state, as the daemon's rooms share it: one event base, the running
 * configuration, the metrics registry, the HTTP listener, the scheduled probes, the alerts.
 * Types only (an interface, like probes/probe.h): the functions are daemon.h's and results.h's.
 */
#ifndef KRBWATCH_KWD_H
#define KRBWATCH_KWD_H

#include <time.h>

#include "../conf/config.h"
#include "../lib/version.h"
#include "kind_metrics.h"

struct event_base;
struct event;
struct metrics;
struct mfamily;
struct http;
struct sched;
struct probe_job;
struct probe_sink;
struct alerts;
struct history;

struct kwd {
	struct event_base *base;
	const char *conf_path;
	struct kw_config *conf;
	struct metrics *metrics;
	struct http *http;
	struct sched *sched;
	struct alerts *alerts;		/* krbwatch's own alerts and their webhooks */
	struct history *history;	/* the recent past of every job and row (history.h) */
	struct event *sig_term, *sig_int, *sig_hup;
	struct event *watchdog;
	struct event *drain;		/* stopping: the webhooks' last chance */
	time_t started;
	int stopping;
	unsigned long reload_gen;	/* reloads so far: the verdict file's generation */
	int reload_failed;		/* the last reload kept the old file: STATUS= says so */
	int once;			/* krbwatch probe: each job runs once, now, then the loop ends */
	int exit_code;
	/* the way up from every probe job (results.c's results_sink): the scheduler hands it on */
	const struct probe_sink *sink;
	char status_sent[1200];		/* the last STATUS=, sent again only when it changes */
	struct {
		struct mfamily *build_info;
		struct mfamily *reload_success;
		struct mfamily *reload_timestamp;
		struct mfamily *probe_runs;
		struct mfamily *probe_failures;
		struct mfamily *probe_duration;
		struct mfamily *start_time;
	} m;
	struct kind_metrics kinds;	/* the probe kinds' series, written from their results */
};

#endif
