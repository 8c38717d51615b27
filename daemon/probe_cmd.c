/*
 * `krbwatch probe`: every probe once, now, and a readable trace of the path per Region — each
 * step, who answered, how long it took, and for a failure what it means and what to check.  The
 * one command to run on the bastion when users cannot log in.
 *
 * It is the daemon's own machinery (the same scheduler, probes and deadlines) in "once" mode,
 * with no listener and no systemd: the loop ends when every job has a result.  Every step it
 * prints is read from the job's last result (probe_steps.c), as the status page reads it.
 *
 * Exit: 0 when every step passed, 1 when one failed, 2 for a usage or configuration error.
 * --json prints one object (documented in krbwatch(8)); its keys are stable.
 */
#include <event2/event.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../conf/config.h"
#include "../net/krb5_env.h"
#include "../probes/lockout.h"
#include "../probes/probe.h"
#include "daemon.h"
#include "explain.h"
#include "../lib/json.h"
#include "../lib/log.h"
#include "../lib/metrics.h"
#include "probe_cmd.h"
#include "probe_steps.h"
#include "results.h"
#include "sched.h"
#include "status_model.h"
#include "../lib/xmalloc.h"

struct step {
	const struct probe_job *job;
	char *kind, *name, *detail;
	enum kw_reason reason;
	double seconds;
};

struct report {
	struct step *steps;
	size_t n;
	int json, verbose, colour;
};

/* The steps of one job's result, recorded under that job. */
struct recording {
	struct report *rep;
	const struct probe_job *job;
};

static void
record(void *arg, const char *kind, const char *name, enum kw_reason reason, double seconds,
    const char *detail)
{
	struct recording *rc = arg;
	struct report *rep = rc->rep;
	struct step *s;

	rep->steps = xreallocarray(rep->steps, rep->n + 1, sizeof *rep->steps);
	s = &rep->steps[rep->n++];
	s->job = rc->job;
	s->kind = xstrdup(kind);
	s->name = xstrdup(name);
	s->detail = xstrdup(detail);
	s->reason = reason;
	s->seconds = seconds;
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: krbwatch probe [-v] [-c FILE] [--region REGION] [--cluster CLUSTER] [--json]\n"
	    "\n"
	    "Runs every probe once, now, and prints each step of the path per Region: DNS, KDCs,\n"
	    "TGT, referral, service ticket and login, who answered and how long it took, and for a\n"
	    "failure what it means and what to check.  Exit 0 when every step passed, 1 when one\n"
	    "failed, 2 for a usage or configuration error.\n"
	    "\n"
	    "  -c, --config FILE    the configuration (default " KW_DEFAULT_CONFIG ")\n"
	    "  -r, --region REGION  only this Region\n"
	    "  -C, --cluster NAME   only this cluster (and its Region)\n"
	    "  -j, --json           one JSON object instead of text (see krbwatch(8))\n"
	    "  -v, --verbose        also list the DNS lookups and KDC endpoints that passed\n"
	    "  -h, --help           print this help and exit\n");
}

/* ---- text ---------------------------------------------------------------------------------- */

static void
text_job(const struct report *rep, const struct probe_job *j)
{
	int per_item = strcmp(j->ops->name, "dns") == 0 || strcmp(j->ops->name, "kdc") == 0;

	if (per_item)	/* the kind's own summary first: 42 lookups are one line when they pass */
		probe_step_print(stdout, rep->colour, j->ops->name, j->ops->name, j->reason,
		    j->duration, j->detail);
	for (size_t i = 0; i < rep->n; i++) {
		const struct step *s = &rep->steps[i];
		if (s->job != j || (per_item && s->reason == KW_OK && !rep->verbose))
			continue;
		/* a lookup or KDC line goes under its kind's summary, unnamed: its detail names it */
		probe_step_print(stdout, rep->colour, s->kind, per_item ? "" : s->name, s->reason,
		    s->seconds, s->detail);
	}
	/* a run with no steps (it could not start, or a kind without steps): its result */
	if (!per_item) {
		int any = 0;
		for (size_t i = 0; i < rep->n; i++)
			any |= rep->steps[i].job == j;
		if (!any)
			probe_step_print(stdout, rep->colour, j->ops->name, j->ops->name, j->reason,
			    j->duration, j->detail);
	}
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void
json_reason(const char *key, const char *kind, enum kw_reason r)
{
	const char *means = explain_means(kind, r), *check = explain_check(kind, r);

	printf("\"%s\":", key);
	if (r == KW_OK) {
		fputs("null", stdout);
		return;
	}
	json_fputs(stdout, reason_name(r));
	if (means) {
		fputs(",\"means\":", stdout);
		json_fputs(stdout, means);
	}
	if (check) {
		fputs(",\"check\":", stdout);
		json_fputs(stdout, check);
	}
}

static void
json_job(const struct report *rep, const struct probe_job *j)
{
	int first = 1;

	fputs("{\"probe\":", stdout);
	json_fputs(stdout, j->ops->name);
	printf(",\"ok\":%s,", j->reason == KW_OK ? "true" : "false");
	json_reason("reason", j->ops->name, j->reason);
	fputs(",\"failed_step\":", stdout);
	if (j->step[0])
		json_fputs(stdout, j->step);
	else
		fputs("null", stdout);
	printf(",\"seconds\":%.6f,\"detail\":", j->duration);
	json_fputs(stdout, j->detail);
	fputs(",\"steps\":[", stdout);
	for (size_t i = 0; i < rep->n; i++) {
		const struct step *s = &rep->steps[i];
		if (s->job != j)
			continue;
		fputs(first ? "{" : ",{", stdout);
		first = 0;
		fputs("\"kind\":", stdout);
		json_fputs(stdout, s->kind);
		fputs(",\"step\":", stdout);
		json_fputs(stdout, s->name);
		printf(",\"ok\":%s,", s->reason == KW_OK ? "true" : "false");
		json_reason("reason", s->kind, s->reason);
		printf(",\"seconds\":%.6f,\"detail\":", s->seconds);
		json_fputs(stdout, s->detail);
		putchar('}');
	}
	fputs("]}", stdout);
}

/* ---- the run ------------------------------------------------------------------------------- */

static int
region_ok(const struct sched *s, const struct kw_region *r)
{
	for (size_t i = 0; i < s->njobs; i++)
		if (s->jobs[i]->region == r && (!s->jobs[i]->has_result || s->jobs[i]->reason != KW_OK))
			return 0;
	return 1;
}

static void
report(const struct report *rep, struct kwd *d, const char *path)
{
	const struct kw_config *c = d->conf;
	struct status_model m;
	int all = 1;

	for (size_t r = 0; r < c->nregions; r++)
		all &= region_ok(d->sched, &c->regions[r]);
	if (rep->json) {
		fputs("{\"krbwatch\":", stdout);
		json_fputs(stdout, KRBWATCH_VERSION);
		fputs(",\"config\":", stdout);
		json_fputs(stdout, path);
		printf(",\"ok\":%s,\"regions\":[", all ? "true" : "false");
		status_model_from_kwd(&m, d);	/* the rows and cells of /status.json */
		for (size_t r = 0; r < c->nregions; r++) {
			const struct kw_region *reg = &c->regions[r];
			int first = 1;
			printf("%s{\"name\":", r ? "," : "");
			json_fputs(stdout, reg->name);
			printf(",\"ok\":%s,\"probes\":[", region_ok(d->sched, reg) ? "true" : "false");
			for (size_t i = 0; i < d->sched->njobs; i++) {
				if (d->sched->jobs[i]->region != reg)
					continue;
				if (!first)
					putchar(',');
				first = 0;
				json_job(rep, d->sched->jobs[i]);
			}
			fputs("],\"rows\":", stdout);
			status_json_rows(stdout, &m.regions[r]);
			putchar('}');
		}
		fputs("]}\n", stdout);
		status_model_free(&m);
		return;
	}
	printf("krbwatch probe: %s, %zu Region%s, deadline %llu ms per probe\n", path, c->nregions,
	    c->nregions == 1 ? "" : "s", (unsigned long long)c->timeout_ms);
	char held[300];
	enum kw_reason hr;
	if (lockout_held(&hr, held, sizeof held) > 0)
		printf("identity %s: %s\n", c->principal, held);
	for (size_t r = 0; r < c->nregions; r++) {
		const struct kw_region *reg = &c->regions[r];
		printf("\n%s: %s\n", reg->name, region_ok(d->sched, reg) ? "every step passed" :
		    "FAILING");
		for (size_t i = 0; i < d->sched->njobs; i++)
			if (d->sched->jobs[i]->region == reg)
				text_job(rep, d->sched->jobs[i]);
	}
	printf("\n%s\n", all ? "every step passed" : "some steps failed (exit 1)");
}

/*
 * The selection: a shallow copy of the configuration with only the chosen Region and cluster.
 * It borrows every string from conf and owns only its two arrays.
 */
static int
select_scope(const struct kw_config *conf, const char *region, const char *cluster,
    struct kw_config *out)
{
	*out = *conf;
	out->regions = xcalloc(conf->nregions ? conf->nregions : 1, sizeof *out->regions);
	out->nregions = 0;
	for (size_t r = 0; r < conf->nregions; r++) {
		const struct kw_region *reg = &conf->regions[r];
		struct kw_region copy = *reg;

		if (region != NULL && strcmp(reg->name, region) != 0)
			continue;
		if (cluster != NULL) {
			copy.clusters = NULL;
			copy.nclusters = 0;
			for (size_t k = 0; k < reg->nclusters; k++)
				if (strcmp(reg->clusters[k].name, cluster) == 0) {
					copy.clusters = &reg->clusters[k];
					copy.nclusters = 1;
				}
			if (copy.nclusters == 0)
				continue;
		}
		out->regions[out->nregions++] = copy;
	}
	if (out->nregions > 0)
		return 0;
	if (cluster != NULL)
		fprintf(stderr, "krbwatch probe: no cluster \"%s\"%s%s in %s\n", cluster,
		    region ? " in Region " : "", region ? region : "", conf->path);
	else
		fprintf(stderr, "krbwatch probe: no Region \"%s\" in %s\n", region, conf->path);
	free(out->regions);
	out->regions = NULL;
	return -1;
}

/* A backstop: the probes' own deadlines end every run; this only guards against a bug. */
static void
backstop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kwd *d = arg;

	(void)fd;
	(void)what;
	log_err("probes still running past their deadline: stopping");
	event_base_loopexit(d->base, NULL);
}

/* The steps of every job, from its last result. */
static void
steps_from_results(struct report *rep, const struct sched *s)
{
	for (size_t i = 0; i < s->njobs; i++) {
		struct recording rc = { rep, s->jobs[i] };
		const struct probe_result *r = results_last(s->jobs[i]);

		if (r != NULL)
			probe_steps(r, s->jobs[i]->region->name, record, &rc);
	}
}

/* Every job of scope once, now; the report; 1 when a Region is not ok, else 0. */
static int
probe_run(struct kwd *d, struct kw_config *scope, const char *path, struct report *rep)
{
	struct timeval tv = { (time_t)(scope->timeout_ms / 1000) + 5, 0 };
	struct event *backstop;
	int rc = 0;

	rep->colour = !rep->json && isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL &&
	    (getenv("TERM") == NULL || strcmp(getenv("TERM"), "dumb") != 0);
	d->conf_path = path;
	d->conf = scope;
	d->once = 1;
	d->started = time(NULL);
	daemon_register_metrics(d);
	d->sched = sched_new(d);
	sched_build(d->sched, scope);
	backstop = evtimer_new(d->base, backstop_cb, d);
	if (backstop == NULL || evtimer_add(backstop, &tv) == -1)
		fatalx("probe: cannot arm the backstop timer");
	if (d->sched->njobs > 0)
		event_base_dispatch(d->base);

	steps_from_results(rep, d->sched);
	report(rep, d, path);
	for (size_t r = 0; r < scope->nregions; r++)
		if (!region_ok(d->sched, &scope->regions[r]))
			rc = 1;
	event_free(backstop);
	sched_free(d->sched);
	metrics_free(d->metrics);
	event_base_free(d->base);
	return rc;
}

static void
step_free(struct step *st)
{
	free_all(st->kind, st->name, st->detail);
}

static void
report_clear(struct report *rep)
{
	free_array(rep->steps, rep->n, step_free);
}

static const struct option longopts[] = KW_OPTIONS(
	{ "region", required_argument, NULL, 'r' },
	{ "cluster", required_argument, NULL, 'C' },
	{ "json", no_argument, NULL, 'j' }
);

/*
 * Longer than most: options, the scope, the loop and the report in the order a reader follows
 * a `krbwatch probe` run; each part is a call or a few lines.
 */
int
probe_main(int argc, char **argv)
{
	const char *path = KW_DEFAULT_CONFIG, *region = NULL, *cluster = NULL;
	struct report rep = { 0 };
	struct kw_errors errs = { 0 };
	struct kw_config *conf, scope;
	struct kwd d = { 0 };
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:r:C:jvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'r': region = optarg; break;
		case 'C': cluster = optarg; break;
		case 'j': rep.json = 1; break;
		case 'v': rep.verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "krbwatch probe: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	log_init(0);
	log_quiet();
	conf = config_load(path, &errs);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	errors_clear(&errs);
	if (conf == NULL)
		return 2;
	if (select_scope(conf, region, cluster, &scope) == -1) {
		config_free(conf);
		return 2;
	}
	if (krb5_env_init() == -1 || (d.base = event_base_new()) == NULL) {
		free(scope.regions);
		config_free(conf);
		return 2;
	}
	rc = probe_run(&d, &scope, path, &rep);
	report_clear(&rep);
	free(scope.regions);
	config_free(conf);
	return rc;
}
