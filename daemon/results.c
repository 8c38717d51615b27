/*
 * Where the results of the probe runs meet, the one fan-out of a run's end (relayd's pfe.c in
 * one process): every kind's probe_done() arrives here through the sink, and here alone the
 * daemon keeps its copy of the job's last result (results_last), counts the generic series,
 * logs a transition, and makes the one-line summary of the Regions (STATUS= only when it
 * changed; the end of `krbwatch probe` once every job ran).
 */
#include <stdarg.h>
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

/* The first hop of row that broke, KW_HOP_COUNT when none did. */
static enum kw_hop
first_broken(const struct result_row *row)
{
	for (int h = 0; h < KW_HOP_COUNT; h++)
		if (row->hop[h].ran && row->hop[h].reason != KW_OK)
			return (enum kw_hop)h;
	return KW_HOP_COUNT;
}

#define SUMMARY_NAMES 3		/* failing subjects named per Region; the rest are counted */

/* A bounded writer: what does not fit is cut, and says so (full). */
struct out {
	char *buf;
	size_t len, off;
	int full;
};

static void put(struct out *, const char *, ...) __attribute__((format(printf, 2, 3)));

static void
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->off, o->len - o->off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->off) {
		o->full = 1;
		return;
	}
	o->off += (size_t)n;
}

/* One failing subject of a Region: "a[ b] failing (reason)". */
struct subject {
	const char *a, *b;
	enum kw_reason reason;
};

struct region_tally {
	size_t clusters, failing_clusters, failing;	/* failing: clusters and other jobs */
	int jobs, pending;
	struct subject named[SUMMARY_NAMES];
};

static void
tally_add(struct region_tally *t, unsigned names, const char *a, const char *b, enum kw_reason r)
{
	if (t->failing < names)
		t->named[t->failing] = (struct subject){ a, b, r };
	t->failing++;
}

/*
 * A job's failing subjects: each cluster whose login path broke (its first broken hop), else,
 * when the job failed without a cluster to name, the job itself (its step, or its kind).
 */
static void
tally_job(struct region_tally *t, unsigned names, const struct probe_job *j)
{
	const struct probe_result *r = results_last(j);
	size_t before = t->failing;

	for (size_t i = 0; r != NULL && i < r->nrows; i++) {
		const struct result_row *row = &r->rows[i];
		enum kw_hop h;

		if (row->kind != ROW_CLUSTER || (h = first_broken(row)) == KW_HOP_COUNT)
			continue;
		t->failing_clusters++;
		tally_add(t, names, row->cluster[0] ? row->cluster : row->name, hop_name(h),
		    row->hop[h].reason);
	}
	if (j->reason != KW_OK && t->failing == before)
		tally_add(t, names, j->step[0] ? j->step : j->ops->name,
		    j->cluster ? j->cluster->name : NULL, j->reason);
}

/*
 * A Region's jobs, counted.  A job that names the step that broke (the chain: a cluster's hop)
 * comes first: it is what users feel.  The others follow in path order (dns before kdc).
 */
static void
region_tally(struct kwd *d, const struct kw_region *reg, unsigned names, struct region_tally *t)
{
	memset(t, 0, sizeof *t);
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < d->sched->njobs; i++) {
			const struct probe_job *j = d->sched->jobs[i];
			const struct probe_result *r = results_last(j);

			if (j->region != reg)
				continue;
			if (pass == 0) {
				t->jobs++;
				t->pending |= !j->has_result;
				for (size_t k = 0; r != NULL && k < r->nrows; k++)
					t->clusters += r->rows[k].kind == ROW_CLUSTER;
			}
			if (j->has_result && (pass == 0) == (j->step[0] != '\0'))
				tally_job(t, names, j);
		}
}

/* "R: ok", or "R: N of M clusters: a hop failing (reason), ... +K more" (names of them at most). */
static void
region_part(struct out *o, struct kwd *d, const struct kw_region *reg, unsigned names)
{
	struct region_tally t;

	region_tally(d, reg, names, &t);
	put(o, "%s: ", reg->name);
	if (t.failing == 0) {
		put(o, "%s", t.jobs == 0 ? "no probes" : t.pending ? "starting" : "ok");
		return;
	}
	if (t.failing_clusters > 0)
		put(o, "%zu of %zu cluster%s%s", t.failing_clusters, t.clusters,
		    t.clusters == 1 ? "" : "s", names ? ": " : " failing");
	else if (names == 0)
		put(o, "%zu failing", t.failing);
	for (size_t i = 0; i < t.failing && i < names; i++)
		put(o, "%s%s%s%s failing (%s)", i ? ", " : "", t.named[i].a, t.named[i].b ? " " : "",
		    t.named[i].b ? t.named[i].b : "", reason_name(t.named[i].reason));
	if (names > 0 && t.failing > names)
		put(o, " +%zu more", t.failing - names);
	/* without names, the failing subjects that are not clusters are still counted */
	if (names == 0 && t.failing_clusters > 0 && t.failing > t.failing_clusters)
		put(o, " +%zu more", t.failing - t.failing_clusters);
}

/*
 * Every Region's part, each failing one with its count and the names of its first failing
 * subjects; when all of them do not fit in len, fewer names each (down to the counts alone), so
 * that no Region is cut off the end.  The identity's hold, the cause they share, is said once.
 */
void
results_summary(struct kwd *d, char *buf, size_t len)
{
	char held[400];
	size_t room;

	lockout_summary(held, sizeof held);
	room = held[0] != '\0' && strlen(held) + 2 < len ? len - strlen(held) - 2 : len;
	for (unsigned names = SUMMARY_NAMES;; names--) {
		struct out o = { buf, room, 0, 0 };

		buf[0] = '\0';
		for (size_t r = 0; r < d->conf->nregions; r++) {
			put(&o, "%s", r ? "; " : "");
			region_part(&o, d, &d->conf->regions[r], names);
		}
		if (!o.full || names == 0)
			break;
	}
	if (held[0] != '\0' && strlen(buf) + 2 < len)
		snprintf(buf + strlen(buf), len - strlen(buf), "; %s", held);
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
		log_warn("%s %s%s%s: failing (%s)%s%s", j->region->name, j->ops->name,
		    j->cluster ? " " : "", target, reason_name(j->reason),
		    j->detail[0] != '\0' ? ": " : "", j->detail);
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

/*
 * Results handed up so far, by every job of the process: what the status page's render cache
 * is keyed on (a new result is a new page).  The process's one counter, as there is one sink.
 */
static unsigned long generation;

unsigned long
results_generation(void)
{
	return generation;
}

/* A run ended (probe_done): the scheduler's part, the daemon's copy, then what follows it. */
static void
results_done(struct probe_job *j, const struct probe_result *r)
{
	int was_ok = j->has_result && j->reason == KW_OK, first = !j->has_result;
	enum kw_reason before = j->reason;
	double seconds = sched_job_ended(j);

	probe_result_copy(&j->last, r);
	generation++;
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
