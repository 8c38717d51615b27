/*
 * The one-line summary of the Regions (daemon/results.c results_summary): what STATUS= carries
 * to `systemctl status krbwatch` and what tops the status page.  Results are built by hand and
 * handed to the daemon's sink; the line must say, for every failing Region, how many of its
 * clusters fail and name the first of them, and no Region may fall off its end.  The status
 * page that shows it is rendered once per change of the results (status_render_cached), and a
 * new result is on the next request's page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "../conf/config.h"
#include "../daemon/alert.h"
#include "../daemon/daemon.h"
#include "../daemon/results.h"
#include "../daemon/sched.h"
#include "../daemon/status_page.h"
#include "../lib/metrics.h"
#include "../probes/probe.h"
#include "unit.h"

extern const struct probe_ops probe_kdc;
extern const struct probe_ops probe_chain;

#define MAX_JOBS 32

static struct kwd d;
static struct sched s;
static struct probe_job jobs[MAX_JOBS], *job_ptr[MAX_JOBS];

/* Region r's next job of kind ops, as the scheduler would list it. */
static struct probe_job *
job_in(const struct kw_config *c, size_t r, const struct probe_ops *ops)
{
	struct probe_job *j = &jobs[s.njobs];

	unit_job(j, ops, &d, c);
	j->region = &c->regions[r];
	job_ptr[s.njobs++] = j;
	return j;
}

/* A chain run of n clusters "PREFIX-1".."PREFIX-n"; cluster i fails at hops[i] with reasons[i]. */
static void
chain_run(struct probe_job *j, const char *prefix, size_t n, const enum kw_hop *hops,
    const enum kw_reason *reasons)
{
	struct probe_result r;
	struct result_row *row;
	char first[128] = "";	/* a copy: the rows move as they are added */

	memset(&r, 0, sizeof r);
	row = probe_result_add(&r, ROW_REGION);
	row->hop[KW_HOP_TGT] = (struct hop_cell){ .ran = 1 };
	for (size_t i = 0; i < n; i++) {
		row = probe_result_add(&r, ROW_CLUSTER);
		snprintf(row->cluster, sizeof row->cluster, "%s-%zu", prefix, i + 1);
		memcpy(row->name, row->cluster, sizeof row->name);
		for (int h = KW_HOP_TGT; h <= KW_HOP_LOGIN; h++) {
			row->hop[h].ran = 1;
			if (hops != NULL && reasons[i] != KW_OK && h == (int)hops[i]) {
				row->hop[h].reason = reasons[i];
				if (r.reason == KW_OK) {
					r.reason = reasons[i];
					memcpy(first, row->cluster, sizeof first);
					snprintf(r.step, sizeof r.step, "%.60s %s", first, hop_name(hops[i]));
				}
				break;
			}
		}
	}
	snprintf(r.detail, sizeof r.detail, "%s", first[0] ? first : "every cluster ok");
	probe_done(j, &r);
	probe_result_free(&r);
}

static void
kdc_run(struct probe_job *j, enum kw_reason reason)
{
	struct probe_result r;

	memset(&r, 0, sizeof r);
	r.reason = reason;
	probe_done(j, &r);
	probe_result_free(&r);
}

static void
jobs_release(void)
{
	for (size_t i = 0; i < s.njobs; i++)
		sched_job_release(&jobs[i]);
	s.njobs = 0;
}

/* The summary now is want. */
static void
summary_is(const char *want, const char *what)
{
	char got[1024];

	results_summary(&d, got, sizeof got);
	check(strcmp(got, want) == 0, what);
	if (strcmp(got, want) != 0)
		printf("#   want: %s\n#   got:  %s\n", want, got);
}

/* Two Regions: the first with five clusters, four failing, and a failing KDC probe. */
static void
counts_and_names(const struct kw_config *c)
{
	static const enum kw_hop hops[] = { KW_HOP_SERVICE_TICKET, KW_HOP_SERVICE_TICKET,
		KW_HOP_SERVICE_TICKET, KW_HOP_LOGIN, KW_HOP_LOGIN };
	static const enum kw_reason bad[] = { KW_R_TRUST_KEY, KW_R_TRUST_KEY, KW_R_TRUST_KEY,
		KW_R_ACCESS_DENIED, KW_OK };
	struct probe_job *a = job_in(c, 0, &probe_chain), *k = job_in(c, 0, &probe_kdc),
	    *b = job_in(c, 1, &probe_chain);

	summary_is("t-1: starting; t-2: starting", "before any result: every Region starting");
	chain_run(a, "db", 5, hops, bad);
	kdc_run(k, KW_OK);
	chain_run(b, "pg", 2, NULL, NULL);
	summary_is("t-1: 4 of 5 clusters: db-1 service_ticket failing (trust_key), db-2 service_ticket "
	    "failing (trust_key), db-3 service_ticket failing (trust_key) +1 more; t-2: ok",
	    "a Region's failing clusters: how many of how many, the first three named, the rest counted");
	a->running = k->running = 1;
	kdc_run(k, KW_R_REFUSED);
	chain_run(a, "db", 2, hops, bad);
	summary_is("t-1: 2 of 2 clusters: db-1 service_ticket failing (trust_key), db-2 service_ticket "
	    "failing (trust_key), kdc failing (refused); t-2: ok",
	    "a failing probe without clusters follows the clusters, in the same bound");
	a->running = 1;
	chain_run(a, "db", 2, NULL, NULL);
	b->running = 1;
	chain_run(b, "pg", 2, hops + 3, bad + 3);
	summary_is("t-1: kdc failing (refused); t-2: 1 of 2 clusters: pg-1 login failing (access_denied)",
	    "every failing Region is named, each with its own count");
	jobs_release();
}

static int renders;
static char body_one[] = "one", body_two[] = "two", body_three[] = "three", body_four[] = "four",
    body_five[] = "five";

static size_t
counting_render(void *arg, time_t now, char **out)
{
	renders++;
	*out = strdup(arg);
	(void)now;
	return strlen(*out);
}

/* The render cache: one render per key, a new one when the results, a reload or the second move. */
static void
render_cache(const struct kw_config *c)
{
	struct status_cache cache = { 0 };
	struct status_key k = { 7, 0, 1000 };
	struct probe_job *a = job_in(c, 0, &probe_chain);
	const char *first, *again;
	unsigned long before;
	size_t len;

	status_cache_get(&cache, &k, counting_render, body_one, &len);
	status_cache_get(&cache, &k, counting_render, body_two, &len);
	check(renders == 1 && len == 3 && strcmp(cache.body, "one") == 0,
	    "render cache: the same key serves the body rendered for it");
	k.results++;
	status_cache_get(&cache, &k, counting_render, body_three, &len);
	k.reloads++;
	status_cache_get(&cache, &k, counting_render, body_four, &len);
	k.second++;
	status_cache_get(&cache, &k, counting_render, body_five, &len);
	check(renders == 4 && strcmp(cache.body, "five") == 0,
	    "render cache: a new result, a reload, the next second: each renders anew");
	status_cache_free(&cache);

	d.conf_path = "c2.yml";
	chain_run(a, "db", 1, NULL, NULL);
	first = status_render_cached(&d, &cache, STATUS_JSON, &len);
	/* (whether the second moved between two requests is the clock's: the key is checked instead) */
	check(cache.valid && cache.key.results == results_generation() && cache.body == first &&
	    strstr(first, "\"summary\":\"t-1: ok; t-2: no probes\"") != NULL,
	    "status.json: rendered from the results the sink holds, and kept under that key");
	before = cache.key.results;
	a->running = 1;
	chain_run(a, "db", 1, (const enum kw_hop[]){ KW_HOP_LOGIN }, (const enum kw_reason[]){ KW_R_TLS });
	again = status_render_cached(&d, &cache, STATUS_JSON, &len);
	check(cache.key.results == before + 1 &&
	    strstr(again, "\"summary\":\"t-1: 1 of 1 cluster: db-1 login failing (tls); "
	    "t-2: no probes\"") != NULL,
	    "status.json: the request after a new result shows it");
	status_cache_free(&cache);
	jobs_release();
}

/* Twelve Regions of three failing clusters with long names: every Region still in the line. */
static void
every_region_fits(const struct kw_config *c)
{
	static const enum kw_hop hops[] = { KW_HOP_LOGIN, KW_HOP_LOGIN, KW_HOP_LOGIN, KW_HOP_LOGIN };
	static const enum kw_reason bad[] = { KW_R_TLS, KW_R_TLS, KW_R_TLS, KW_R_TLS };
	char line[1024], want[64];
	int all = 1;

	for (size_t r = 0; r < c->nregions; r++)
		chain_run(job_in(c, r, &probe_chain), "a-rather-long-cluster-name-of-aurora", 4, hops, bad);
	results_summary(&d, line, sizeof line);
	for (size_t r = 0; r < c->nregions; r++) {
		snprintf(want, sizeof want, "%s: 4 of 4 clusters", c->regions[r].name);
		all &= strstr(line, want) != NULL;
	}
	check(all && strlen(line) < sizeof line - 1,
	    "twelve failing Regions: each one's count is in the line (fewer names, not fewer Regions)");
	printf("#   %s\n", line);
	jobs_release();
}

static struct kw_config *
load(const char *dir, size_t nregions)
{
	char path[300], buf[8192];
	size_t off;
	FILE *f;

	snprintf(path, sizeof path, "%s/c%zu.yml", dir, nregions);
	off = (size_t)snprintf(buf, sizeof buf,
	    "identity: { principal: m@T.TEST, keytab: k.keytab }\n"
	    "realms:\n"
	    "  T.TEST: { domain: t.test, kdcs: [10.0.1.10] }\n"
	    "  DB.TEST: { domain: db.test }\n"
	    "regions:\n");
	for (size_t r = 0; r < nregions && off < sizeof buf; r++)
		off += (size_t)snprintf(buf + off, sizeof buf - off,
		    "  t-%zu:\n    resolvers: [127.0.0.1]\n    clusters:\n"
		    "      - { name: c%zu, engine: mysql, host: h.db.test, user: m, tls: { mode: disable } }\n",
		    r + 1, r);
	if ((f = fopen(path, "w")) == NULL || fputs(buf, f) == EOF || fclose(f) != 0)
		return NULL;
	return unit_config_load(path);
}

int
main(void)
{
	char dir[200], keytab[300], cmd[400];
	struct kw_config *c2, *c12;

	if (unit_mkdtemp(dir, sizeof dir, "unit_summary") == NULL) {
		perror("unit_summary: mkdtemp");
		return 1;
	}
	snprintf(keytab, sizeof keytab, "%s/k.keytab", dir);
	unit_write_file(keytab, "x");
	if (chmod(keytab, 0600) == -1) {
		perror("unit_summary: chmod keytab");
		return 1;
	}
	if ((c2 = load(dir, 2)) == NULL || (c12 = load(dir, 12)) == NULL) {
		fprintf(stderr, "unit_summary: the test configurations in %s do not load\n", dir);
		return 1;
	}
	d.base = event_base_new();
	d.stopping = 1;		/* no STATUS= */
	d.sched = &s;
	s.jobs = job_ptr;
	daemon_register_metrics(&d);
	d.conf = c2;
	d.alerts = alerts_new(d.base, d.metrics, c2);
	counts_and_names(c2);
	render_cache(c2);
	d.conf = c12;
	alerts_reconfigure(d.alerts, c12);
	every_region_fits(c12);
	alerts_free(d.alerts);
	metrics_free(d.metrics);
	config_free(c2);
	config_free(c12);
	event_base_free(d.base);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) != 0 || failed;
}
