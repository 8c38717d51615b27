#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "../net/gss_token.h"
#include "../net/tls_client.h"
#include "../probes/chain.h"
#include "../probes/lockout.h"
#include "../probes/probe.h"
#include "alert.h"
#include "daemon.h"
#include "history.h"
#include "http.h"
#include "kind_metrics.h"
#include "../lib/log.h"
#include "../lib/metrics.h"
#include "notify.h"
#include "process_metrics.h"
#include "reload_verdict.h"
#include "results.h"
#include "sched.h"
#include "web.h"

void
daemon_register_metrics(struct kwd *d)
{
	static const char *const version_l[] = { "version" };
	static const char *const probe_l[] = { "aws_region", "probe" };
	static const char *const fail_l[] = { "aws_region", "probe", "reason" };
	const char *version_v[] = { KRBWATCH_VERSION };

	d->metrics = metrics_new();
	d->m.build_info = metrics_family(d->metrics, "krbwatch_build_info",
	    "krbwatch's version; always 1.", METRIC_GAUGE, 1, version_l);
	d->m.start_time = metrics_family(d->metrics, "krbwatch_start_time_seconds",
	    "When the process started, in seconds since the epoch.", METRIC_GAUGE, 0, NULL);
	d->m.reload_success = metrics_family(d->metrics, "krbwatch_config_last_reload_success",
	    "Whether the last configuration load succeeded (1) or kept the previous one (0).",
	    METRIC_GAUGE, 0, NULL);
	d->m.reload_timestamp = metrics_family(d->metrics,
	    "krbwatch_config_last_reload_success_timestamp_seconds",
	    "When the configuration was last loaded successfully, in seconds since the epoch.",
	    METRIC_GAUGE, 0, NULL);
	d->m.probe_runs = metrics_family(d->metrics, "krbwatch_probe_runs_total",
	    "Probe runs finished, by Region and probe kind.", METRIC_COUNTER, 2, probe_l);
	d->m.probe_failures = metrics_family(d->metrics, "krbwatch_probe_failures_total",
	    "Probe runs that failed, by Region, probe kind and reason.", METRIC_COUNTER, 3, fail_l);
	d->m.probe_duration = metrics_family(d->metrics, "krbwatch_probe_duration_seconds",
	    "How long the last run of a probe took, by Region and probe kind.", METRIC_GAUGE, 2,
	    probe_l);
	kind_metrics_init(&d->kinds, d->metrics);
	process_metrics_init(d->metrics);

	mfamily_set(d->m.build_info, version_v, 1);
	d->sink = &results_sink;
	mfamily_set(d->m.start_time, NULL, (double)d->started);
	mfamily_set(d->m.reload_success, NULL, 1);
	mfamily_set(d->m.reload_timestamp, NULL, (double)time(NULL));
}

/* Within the unit's TimeoutStopSec=5s, so that systemd never has to SIGKILL a draining daemon. */
#define STOP_DRAIN_S 3

static void
drained(void *arg)
{
	struct kwd *d = arg;

	log_info("stopping: the queued notifications are delivered or given up");
	event_base_loopexit(d->base, NULL);
}

static void
drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kwd *d = arg;
	size_t n = alerts_pending(d->alerts);

	(void)fd;
	(void)what;
	log_warn("stopping: %zu notification%s not delivered within %d s", n, n == 1 ? "" : "s",
	    STOP_DRAIN_S);
	event_base_loopexit(d->base, NULL);
}

/*
 * A notification still queued at SIGTERM is often the resolved one: dropping it would leave
 * the alert firing in every receiver.  So the loop runs on, probes stopped, until the webhooks
 * are idle or STOP_DRAIN_S has passed.
 */
static void
stop_after_webhooks(struct kwd *d)
{
	struct timeval tv = { .tv_sec = STOP_DRAIN_S };
	size_t n = alerts_pending(d->alerts);

	if (n == 0 || (d->drain = evtimer_new(d->base, drain_timeout_cb, d)) == NULL) {
		event_base_loopexit(d->base, NULL);
		return;
	}
	log_notice("stopping: delivering %zu queued notification%s first (at most %d s)", n,
	    n == 1 ? "" : "s", STOP_DRAIN_S);
	alerts_on_idle(d->alerts, drained, d);
	evtimer_add(d->drain, &tv);
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct kwd *d = arg;

	(void)what;
	if (d->stopping)
		return;
	d->stopping = 1;
	log_notice("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	notify_stopping();
	/* stop accepting first, then end every probe in flight */
	http_free(d->http);
	d->http = NULL;
	sched_clear(d->sched);
	stop_after_webhooks(d);
}

/* Series of a Region or cluster that the new configuration no longer has must vanish. */
static void
drop_removed(struct kwd *d, const struct kw_config *old, const struct kw_config *new)
{
	for (size_t r = 0; r < old->nregions; r++) {
		const struct kw_region *o = &old->regions[r];
		int region_kept = 0;

		for (size_t s = 0; s < new->nregions; s++)
			if (strcmp(new->regions[s].name, o->name) == 0)
				region_kept = 1;
		if (!region_kept)
			metrics_drop_label_value(d->metrics, "aws_region", o->name);
		for (size_t c = 0; c < o->nclusters; c++) {
			int kept = 0;
			for (size_t s = 0; s < new->nregions; s++)
				for (size_t k = 0; k < new->regions[s].nclusters; k++)
					if (strcmp(new->regions[s].clusters[k].name, o->clusters[c].name) == 0)
						kept = 1;
			if (!kept)
				metrics_drop_label_value(d->metrics, "db_cluster", o->clusters[c].name);
		}
	}
}

static int
same_addr(const struct kw_addr *a, const struct kw_addr *b)
{
	return a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* A reload that kept the previous configuration: said in the log, STATUS= and the verdict. */
static void
reload_kept(struct kwd *d, struct kw_errors *errs)
{
	static char see_log[] = "(see krbwatch's log)";
	char *why[] = { see_log };
	char summary[1024], status[1200];

	for (size_t i = 0; i < errs->n; i++)
		log_err("%s", errs->msg[i]);
	log_err("reload failed (%zu error%s): still running the previous configuration",
	    errs->n, errs->n == 1 ? "" : "s");
	mfamily_set(d->m.reload_success, NULL, 0);
	d->reload_failed = 1;
	results_summary(d, summary, sizeof summary);
	snprintf(status, sizeof status, "reload failed, kept the previous configuration; %s",
	    summary);
	notify_ready(status);
	/*
	 * After READY=1, so the reload job ends with systemd already told.  The listener's
	 * errors are logged, not collected: the verdict then points at the log.
	 */
	if (errs->n > 0)
		verdict_write(d->reload_gen, 0, errs->msg, errs->n);
	else
		verdict_write(d->reload_gen, 0, why, 1);
}

static void
reload(struct kwd *d)
{
	struct kw_errors errs = { 0 };
	struct kw_config *conf;
	struct http *http = NULL;
	struct web *web = NULL;
	char summary[1024];

	/* while the webhooks drain, a reload would start the probes and the listener again */
	if (d->stopping) {
		log_info("SIGHUP: ignored, stopping");
		return;
	}
	notify_reloading();
	log_notice("SIGHUP: reloading %s", d->conf_path);
	conf = config_load(d->conf_path, &errs);
	/* certificates and keys are read again even when the file names did not change */
	if (conf != NULL && (web = web_new(conf, &errs)) == NULL) {
		config_free(conf);
		conf = NULL;
	}
	if (conf != NULL && !same_addr(&conf->listen, &d->conf->listen)) {
		if ((http = http_listen(d, &conf->listen, web)) == NULL) {
			config_free(conf);
			conf = NULL;
		}
		web = NULL;	/* the new listener's, or freed with it */
	}
	d->reload_gen++;
	if (conf == NULL) {
		reload_kept(d, &errs);
		errors_clear(&errs);
		return;
	}
	if (http != NULL) {
		http_free(d->http);
		d->http = http;
		log_notice("listening on %s%s", http_address(http), http_is_tls(http) ? " (TLS)" : "");
	} else {
		http_set_web(d->http, web);
	}
	sched_clear(d->sched);
	drop_removed(d, d->conf, conf);
	config_free(d->conf);
	d->conf = conf;
	alerts_reconfigure(d->alerts, d->conf);
	/* a reload lifts a hold of the identity (the operator says "try again"); its budget stays */
	lockout_use(d->conf);
	lockout_reloaded();
	metrics_chain_identity(&d->kinds);	/* a new identity's, or the lifted hold's, now */
	/* a CA bundle replaced under the same name is read again from the next login on; the
	 * krb5 contexts kept across runs are made again (krb5.conf may have changed) */
	tls_client_reload();
	gss_token_reload();
	chain_reloaded();
	sched_build(d->sched, d->conf);
	mfamily_set(d->m.reload_success, NULL, 1);
	mfamily_set(d->m.reload_timestamp, NULL, (double)time(NULL));
	d->reload_failed = 0;
	log_notice("reloaded %s: %zu Region%s, %zu probe job%s", d->conf_path, conf->nregions,
	    conf->nregions == 1 ? "" : "s", d->sched->njobs, d->sched->njobs == 1 ? "" : "s");
	results_summary(d, summary, sizeof summary);
	notify_ready(summary);
	verdict_write(d->reload_gen, 1, NULL, 0);	/* after READY=1, as above */
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	reload(arg);
}

static struct event *
signal_event(struct kwd *d, int sig, event_callback_fn cb)
{
	struct event *ev = evsignal_new(d->base, sig, cb, d);

	if (ev == NULL || event_add(ev, NULL) == -1)
		fatalx("cannot handle signal %d", sig);
	return ev;
}

int
daemon_run(const char *conf_path, struct kw_config *conf)
{
	struct kwd d = { 0 };
	struct kw_errors errs = { 0 };
	struct web *web;
	char summary[1024];

	d.conf_path = conf_path;
	d.conf = conf;
	d.started = time(NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((d.base = event_base_new()) == NULL) {
		log_err("event_base_new failed");
		config_free(conf);
		return 1;
	}
	daemon_register_metrics(&d);
	d.alerts = alerts_new(d.base, d.metrics, d.conf);
	d.sched = sched_new(&d);
	d.history = history_new();
	if ((web = web_new(conf, &errs)) == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			log_err("%s", errs.msg[i]);
		errors_clear(&errs);
		d.exit_code = 1;
		goto out;
	}
	if ((d.http = http_listen(&d, &conf->listen, web)) == NULL) {
		d.exit_code = 1;
		goto out;
	}
	d.sig_term = signal_event(&d, SIGTERM, on_stop);
	d.sig_int = signal_event(&d, SIGINT, on_stop);
	d.sig_hup = signal_event(&d, SIGHUP, on_hup);
	sched_build(d.sched, d.conf);
	log_notice("krbwatch %s: listening on %s%s, %zu Region%s, %zu probe job%s, interval %llu ms",
	    KRBWATCH_VERSION, http_address(d.http), http_is_tls(d.http) ? " (TLS)" : "",
	    conf->nregions, conf->nregions == 1 ? "" : "s",
	    d.sched->njobs, d.sched->njobs == 1 ? "" : "s", (unsigned long long)conf->interval_ms);
	if (notify_watchdog_start(&d) == -1) {
		d.exit_code = 1;
		goto out;
	}
	results_summary(&d, summary, sizeof summary);
	/* generation 0: a reload client started now waits for the next one, even after a restart */
	verdict_write(0, 1, NULL, 0);
	notify_ready(summary);

	if (event_base_dispatch(d.base) == -1) {
		log_err("event loop failed");
		d.exit_code = 1;
	}
	log_notice("stopped");
out:
	http_free(d.http);
	sched_free(d.sched);
	history_free(d.history);
	alerts_free(d.alerts);		/* before the registry and the loop */
	if (d.sig_term) event_free(d.sig_term);
	if (d.sig_int) event_free(d.sig_int);
	if (d.sig_hup) event_free(d.sig_hup);
	if (d.watchdog) event_free(d.watchdog);
	if (d.drain) event_free(d.drain);
	metrics_free(d.metrics);
	config_free(d.conf);
	event_base_free(d.base);
	return d.exit_code;
}
