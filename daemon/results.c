/*
 * Where the results of the probe runs meet, the one fan-out of a run's end (relayd's pfe.c in
 * one process): every kind's probe_done() arrives here through the sink, and here alone the
 * daemon keeps its copy of the job's last result (results_last), counts the generic series,
 * logs a transition, and makes the one-line summary of the Regions (STATUS= only when it
 * changed; the end of `krbwatch probe` once every job ran).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "../lib/log.h"
#include "../lib/metrics.h"
#include "../lib/reason.h"
#include "../probes/lockout.h"
#include "../probes/probe.h"
#include "alert.h"
#include "history.h"
#include "kind_metrics.h"
#include "kwd.h"
#include "notify.h"
#include "results.h"
#include "sched.h"

void
results_summary(struct kwd *d, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t r = 0; r < d->conf->nregions && off < len; r++) {
		const struct kw_region *reg = &d->conf->regions[r];
		const struct probe_job *bad[3];
		size_t nbad = 0;
		int pending = 0, jobs = 0, n;

		/*
		 * A job that names the step that broke (the chain: a cluster's hop) comes first: it is
		 * what users feel.  The others follow in path order (dns before kdc).
		 */
		for (int pass = 0; pass < 2; pass++)
			for (size_t i = 0; i < d->sched->njobs; i++) {
				const struct probe_job *j = d->sched->jobs[i];
				if (j->region != reg)
					continue;
				if (pass == 0) {
					jobs++;
					if (!j->has_result)
						pending = 1;
				}
				if (!j->has_result || j->reason == KW_OK || nbad == 3 ||
				    (pass == 0) != (j->step[0] != '\0'))
					continue;
				bad[nbad++] = j;
			}
		n = snprintf(buf + off, len - off, "%s%s: ", r ? "; " : "", reg->name);
		for (size_t b = 0; b < nbad && n >= 0 && off + (size_t)n < len; b++)
			n += snprintf(buf + off + n, len - off - (size_t)n, "%s%s%s%s failing (%s)",
			    b ? ", " : "", bad[b]->step[0] ? bad[b]->step : bad[b]->ops->name,
			    bad[b]->cluster ? " " : "", bad[b]->cluster ? bad[b]->cluster->name : "",
			    reason_name(bad[b]->reason));
		if (nbad == 0 && n >= 0 && off + (size_t)n < len)
			n += snprintf(buf + off + n, len - off - (size_t)n, "%s",
			    jobs == 0 ? "no probes" : pending ? "starting" : "ok");
		if (n < 0)
			break;
		off += (size_t)n;
		if (off >= len) {
			buf[len - 1] = '\0';
			break;
		}
	}
	/* the cause every Region shares: said once, after them */
	char held[400];
	lockout_summary(held, sizeof held);
	if (held[0] != '\0' && off < len)
		snprintf(buf + off, len - off, "; %s", held);
}

/* After any job finished: readiness for `krbwatch probe`, STATUS= when it changes. */
static void
results_changed(struct kwd *d)
{
	char summary[1024], status[sizeof d->status_sent];

	if (d->stopping)
		return;
	if (d->once) {
		if (sched_all_ran(d->sched))
			event_base_loopexit(d->base, NULL);
		return;
	}
	results_summary(d, summary, sizeof summary);
	/* until a good reload, so that systemctl status keeps saying the edit did not apply */
	if (d->reload_failed)
		snprintf(status, sizeof status, "reload failed, kept the previous configuration; %s",
		    summary);
	else
		snprintf(status, sizeof status, "%s", summary);
	if (strcmp(status, d->status_sent) == 0)
		return;		/* systemd has it already */
	memcpy(d->status_sent, status, sizeof d->status_sent);
	notify_status(status);
}

/* The generic series of a run and its transition, logged once, not every cycle. */
static void
job_counted(struct probe_job *j, int was_ok, int first, enum kw_reason before)
{
	const char *labels[2] = { j->region->name, j->ops->name };
	const char *flabels[3] = { j->region->name, j->ops->name, reason_name(j->reason) };
	const char *target = j->cluster ? j->cluster->name : "";

	mfamily_add(j->d->m.probe_runs, labels, 1);
	mfamily_set(j->d->m.probe_duration, labels, j->duration);
	if (j->reason != KW_OK)
		mfamily_add(j->d->m.probe_failures, flabels, 1);
	if (j->reason == KW_OK && !was_ok)
		log_notice("%s %s%s%s: ok%s", j->region->name, j->ops->name, j->cluster ? " " : "",
		    target, first ? "" : " again");
	else if (j->reason != KW_OK && (was_ok || first || before != j->reason))
		log_warn("%s %s%s%s: failing (%s): %s", j->region->name, j->ops->name,
		    j->cluster ? " " : "", target, reason_name(j->reason), j->detail);
}

/* The first hop of row that broke, KW_HOP_COUNT when none did. */
static enum kw_hop
first_broken(const struct result_row *row)
{
	for (int h = 0; h < KW_HOP_COUNT; h++)
		if (row->hop[h].ran && row->hop[h].reason != KW_OK)
			return (enum kw_hop)h;
	return KW_HOP_COUNT;
}

/*
 * The alert observations a result carries (a kind with `alerts`): every ROW_CLUSTER row is its
 * cluster's (ok when its login held), the run's verdict the Region's, with the first hop that
 * broke (the clusters' rows in order; a Region without clusters, its own row).
 */
static void
observe_result(struct kwd *d, const struct probe_job *j, const struct probe_result *r)
{
	const struct result_row *region_row = NULL;
	enum kw_hop first = KW_HOP_COUNT;
	size_t nclusters = 0;

	if (!j->ops->alerts || r->nrows == 0)
		return;
	for (size_t i = 0; i < r->nrows; i++) {
		const struct result_row *row = &r->rows[i];
		enum kw_hop h = first_broken(row);
		int ok = row->hop[KW_HOP_LOGIN].ran && row->hop[KW_HOP_LOGIN].reason == KW_OK;

		if (row->kind == ROW_REGION)
			region_row = row;
		if (row->kind != ROW_CLUSTER)
			continue;
		nclusters++;
		if (first == KW_HOP_COUNT)
			first = h;
		alerts_observe(d->alerts, j->region->name, row->cluster, ok,
		    h < KW_HOP_COUNT ? hop_name(h) : NULL,
		    h < KW_HOP_COUNT ? reason_name(row->hop[h].reason) : NULL,
		    h < KW_HOP_COUNT ? row->hop[h].detail : NULL);
	}
	if (nclusters == 0 && region_row != NULL)
		first = first_broken(region_row);
	alerts_observe(d->alerts, j->region->name, NULL, r->reason == KW_OK,
	    first < KW_HOP_COUNT ? hop_name(first) : NULL,
	    r->reason != KW_OK ? reason_name(r->reason) : NULL, r->reason != KW_OK ? r->detail : NULL);
}

/* A run ended (probe_done): the scheduler's part, the daemon's copy, then what follows it. */
static void
results_done(struct probe_job *j, const struct probe_result *r)
{
	int was_ok = j->has_result && j->reason == KW_OK, first = !j->has_result;
	enum kw_reason before = j->reason;
	double seconds = sched_job_ended(j);

	probe_result_copy(&j->last, r);
	/* the scheduler measured the run; a result built by hand may carry its own figure */
	if (j->last.seconds <= 0)
		j->last.seconds = seconds;
	j->has_result = 1;
	j->reason = r->reason;
	j->duration = j->last.seconds;
	j->finished = time(NULL);
	if (r->reason == KW_OK)
		j->last_ok = j->finished;
	snprintf(j->detail, sizeof j->detail, "%s", r->detail);
	snprintf(j->step, sizeof j->step, "%s", r->step);
	history_record(j->d->history, j->region->name, j->ops->name,
	    j->cluster ? j->cluster->name : NULL, &j->last, j->finished);
	job_counted(j, was_ok, first, before);
	kind_metrics_write(&j->d->kinds, j, r);
	observe_result(j->d, j, r);
	results_changed(j->d);
}

const struct probe_sink results_sink = { .done = results_done };

const struct probe_result *
results_last(const struct probe_job *j)
{
	return j->has_result ? &j->last : NULL;
}
