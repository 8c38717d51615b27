/*
 * The status page's cost at scale (bench/page.sh): 10 Regions of 100 clusters each (1,000
 * clusters, the layout of bench §4b), every job's result with its rows and a full history (60
 * runs), in three states: all ok, one Region failing (its 100 clusters' service ticket,
 * trust_key), every Region failing.  For each state it builds the model and writes the page and
 * /status.json as the daemon does on a request (status_model_build + status_page_write /
 * status_json_write into memory), ITER times, and prints one JSON line per state: bytes, the
 * per-request wall times (median, p90, max) and the median CPU time, in seconds.  Then the same
 * ITER requests as the daemon serves them between two changes of the results: the body from its
 * render cache (status_cache_get, daemon/status_source.c) copied into a reply's buffer
 * (page_cached, json_cached).  With a directory argument it also leaves STATE.html there for a
 * browser to load.
 *
 * usage: page_main [ITER] [DIR]
 */
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "../daemon/history.h"
#include "../daemon/status_model.h"
#include "../daemon/status_page.h"

#define NREGIONS 10
#define NCLUSTERS 100		/* per Region */
#define NDNS 42			/* lookups per Region, as in the lab */
#define NKDC 16

static struct kw_region regions[NREGIONS];
static char region_names[NREGIONS][32];
static struct result_row chain_rows[NREGIONS][NCLUSTERS], dns_rows[NREGIONS][NDNS],
    kdc_rows[NREGIONS][NKDC];
static struct probe_result chain[NREGIONS], dns[NREGIONS], kdc[NREGIONS];
static struct status_job jobs[NREGIONS * 3];

static void
ok_cell(struct hop_cell *c, double s, int kvno, const char *addr)
{
	memset(c, 0, sizeof *c);
	c->ran = 1;
	c->seconds = s;
	c->kvno = kvno;
	snprintf(c->addr, sizeof c->addr, "%s", addr);
	snprintf(c->enctype, sizeof c->enctype, "%s", kvno >= 0 ? "aes256-cts-hmac-sha1-96" : "");
	snprintf(c->detail, sizeof c->detail, "ok in %.1f ms (KDC %s)", s * 1e3, addr);
}

static void
cluster(struct result_row *r, int reg, int k, int broken)
{
	memset(r, 0, sizeof *r);
	r->kind = ROW_CLUSTER;
	snprintf(r->name, sizeof r->name, "db-%03d-%.20s", k, region_names[reg]);
	snprintf(r->cluster, sizeof r->cluster, "%s", r->name);
	snprintf(r->endpoint, sizeof r->endpoint, "%.40s.cluster-c1a2b3.%.20s.rds.amazonaws.com", r->name,
	    region_names[reg]);
	for (int h = 0; h < KW_HOP_COUNT; h++)
		r->hop[h].kvno = -1;
	ok_cell(&r->hop[KW_HOP_TGT], 0.004, -1, "10.210.0.11:88");
	ok_cell(&r->hop[KW_HOP_REFERRAL], 0.003, 3, "10.210.0.11:88");
	if (broken) {
		struct hop_cell *c = &r->hop[KW_HOP_SERVICE_TICKET];
		c->ran = 1;
		c->reason = KW_R_TRUST_KEY;
		snprintf(c->detail, sizeof c->detail, "mysql/%s@AWSMAD.KERBEROS.COM: KDC returned "
		    "error string: PROCESS_TGS (KDC 10.212.0.11)", r->endpoint);
		return;
	}
	ok_cell(&r->hop[KW_HOP_SERVICE_TICKET], 0.003, 2, "10.211.0.11:88");
	ok_cell(&r->hop[KW_HOP_LOGIN], 0.021, -1, "10.211.0.50:3306");
}

static void
build(int failing_regions)
{
	for (int r = 0; r < NREGIONS; r++) {
		for (int k = 0; k < NCLUSTERS; k++)
			cluster(&chain_rows[r][k], r, k, r < failing_regions);
		for (int i = 0; i < NDNS; i++) {
			memset(&dns_rows[r][i], 0, sizeof dns_rows[r][i]);
			dns_rows[r][i].kind = ROW_DNS;
			snprintf(dns_rows[r][i].name, sizeof dns_rows[r][i].name,
			    "SRV _kerberos._udp.dc%02d._msdcs.AWSMAD.KERBEROS.COM", i);
			ok_cell(&dns_rows[r][i].hop[KW_HOP_DNS], 0.001, -1, "10.211.0.11:53");
		}
		for (int i = 0; i < NKDC; i++) {
			memset(&kdc_rows[r][i], 0, sizeof kdc_rows[r][i]);
			kdc_rows[r][i].kind = ROW_KDC;
			snprintf(kdc_rows[r][i].name, sizeof kdc_rows[r][i].name, "10.211.0.%d udp/88",
			    10 + i);
			ok_cell(&kdc_rows[r][i].hop[KW_HOP_KDC], 0.001, -1, "10.211.0.11:88");
		}
		chain[r] = (struct probe_result){ .rows = chain_rows[r], .nrows = NCLUSTERS,
		    .reason = r < failing_regions ? KW_R_TRUST_KEY : KW_OK };
		dns[r] = (struct probe_result){ .rows = dns_rows[r], .nrows = NDNS };
		kdc[r] = (struct probe_result){ .rows = kdc_rows[r], .nrows = NKDC };
	}
}

static double
now_s(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One request: the model, then the page or the JSON, into memory.  Returns its size. */
static size_t
request(const struct kw_config *conf, const struct history *h, int json, char **out)
{
	struct status_model m = { 0 };
	size_t len = 0;
	FILE *fp = open_memstream(out, &len);

	__fsetlocking(fp, FSETLOCKING_BYCALLER);	/* as status_render does */
	status_model_build(&m, conf, jobs, NREGIONS * 3, h, time(NULL));
	m.version = "bench";
	m.config = "/etc/krbwatch/krbwatch.yml";
	snprintf(m.summary, sizeof m.summary, "bench");
	(json ? status_json_write : status_page_write)(&m, fp);
	status_model_free(&m);
	fclose(fp);
	return len;
}

struct req_arg {
	const struct kw_config *conf;
	const struct history *h;
	int json;
};

static size_t
render_cb(void *arg, time_t now, char **out)
{
	struct req_arg *a = arg;

	(void)now;
	return request(a->conf, a->h, a->json, out);
}

/* Between two changes: the cached body, copied into a reply's buffer as send_text does. */
static void
cached(const struct kw_config *conf, const struct history *h, int json, int iter, double *t,
    double *cpu)
{
	struct status_cache c = { 0 };
	struct status_key k = { 1, 0, time(NULL) };
	struct req_arg a = { conf, h, json };
	size_t len;

	status_cache_get(&c, &k, render_cb, &a, &len);	/* the one render of this key */
	for (int i = 0; i < iter; i++) {
		double t0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
		struct evbuffer *reply = evbuffer_new();
		const char *body = status_cache_get(&c, &k, render_cb, &a, &len);

		evbuffer_add(reply, body, len);
		evbuffer_free(reply);
		t[i] = now_s(CLOCK_MONOTONIC) - t0;
		cpu[i] = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	}
	status_cache_free(&c);
}

static void
measure(const char *state, const struct kw_config *conf, const struct history *h, int iter,
    const char *dir)
{
	double *t = calloc((size_t)iter, sizeof *t), *cpu = calloc((size_t)iter, sizeof *cpu);
	size_t bytes[2] = { 0, 0 };

	printf("{\"state\":\"%s\",\"clusters\":%d,\"iterations\":%d,\"history_subjects\":%zu,"
	    "\"history_entry_bytes\":%zu", state, NREGIONS * NCLUSTERS, iter, history_subjects(h),
	    sizeof(struct history_entry));
	for (int json = 0; json < 2; json++) {
		for (int i = 0; i < iter; i++) {
			char *out = NULL;
			double t0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);

			bytes[json] = request(conf, h, json, &out);
			t[i] = now_s(CLOCK_MONOTONIC) - t0;
			cpu[i] = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
			if (i == 0 && dir != NULL) {
				char path[512];
				FILE *fp;
				snprintf(path, sizeof path, "%s/%s.%s", dir, state, json ? "json" : "html");
				if ((fp = fopen(path, "w")) != NULL) {
					fwrite(out, 1, bytes[json], fp);
					fclose(fp);
				}
			}
			free(out);
		}
		qsort(t, (size_t)iter, sizeof *t, cmp);
		qsort(cpu, (size_t)iter, sizeof *cpu, cmp);
		printf(",\"%s\":{\"bytes\":%zu,\"median_s\":%.6f,\"p90_s\":%.6f,\"max_s\":%.6f,"
		    "\"cpu_median_s\":%.6f}", json ? "json" : "page", bytes[json], t[iter / 2],
		    t[iter * 9 / 10], t[iter - 1], cpu[iter / 2]);
		cached(conf, h, json, iter, t, cpu);
		qsort(t, (size_t)iter, sizeof *t, cmp);
		qsort(cpu, (size_t)iter, sizeof *cpu, cmp);
		printf(",\"%s_cached\":{\"median_s\":%.6f,\"p90_s\":%.6f,\"max_s\":%.6f,"
		    "\"cpu_median_s\":%.6f}", json ? "json" : "page", t[iter / 2], t[iter * 9 / 10],
		    t[iter - 1], cpu[iter / 2]);
	}
	printf("}\n");
	free(t);
	free(cpu);
}

int
main(int argc, char **argv)
{
	int iter = argc > 1 ? atoi(argv[1]) : 30;
	const char *dir = argc > 2 ? argv[2] : NULL;
	static const char *const states[] = { "all_ok", "one_region_failing", "all_failing" };
	static const int failing[] = { 0, 1, NREGIONS };
	struct kw_config conf = { .interval_ms = 30000, .regions = regions, .nregions = NREGIONS };

	if (iter < 1)
		iter = 1;
	for (int r = 0; r < NREGIONS; r++) {
		snprintf(region_names[r], sizeof region_names[r], "bench-region-%02d", r);
		regions[r].name = region_names[r];
		jobs[r * 3] = (struct status_job){ region_names[r], "dns", NULL, &dns[r], 1 };
		jobs[r * 3 + 1] = (struct status_job){ region_names[r], "kdc", NULL, &kdc[r], 1 };
		jobs[r * 3 + 2] = (struct status_job){ region_names[r], "chain", NULL, &chain[r], 1 };
	}
	for (size_t s = 0; s < sizeof states / sizeof states[0]; s++) {
		struct history *h = history_new();
		time_t t0 = time(NULL) - HISTORY_MARKS * 30;

		/* a full ring: ok runs, then the last ten in this state */
		for (int run = 0; run < HISTORY_MARKS; run++) {
			build(run < HISTORY_MARKS - 10 ? 0 : failing[s]);
			for (int j = 0; j < NREGIONS * 3; j++)
				history_record(h, jobs[j].region, jobs[j].probe, NULL, jobs[j].result,
				    t0 + run * 30);
		}
		measure(states[s], &conf, h, iter, dir);
		history_free(h);
	}
	return 0;
}
