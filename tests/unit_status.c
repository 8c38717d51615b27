/*
 * Unit tests of the status model, the page and /status.json (daemon/status_*.c) and of the
 * history (daemon/history.c), from results built by hand: two Regions, us-west-2's trust copy
 * broken (every cluster's service ticket fails with trust_key, a server's hostile text in the
 * detail), an endpoint row, a kind without rows, and the ring's bound.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../daemon/history.h"
#include "../daemon/status_model.h"
#include "unit.h"

#define T0 1796284800		/* 2026-12-03 08:00:00 UTC */

static const char *const use1[] = { "mariadb-use1", "postgres-use1", "mysql-use1" };
static const char *const usw2[] = { "mariadb-usw2", "postgres-usw2", "mysql-usw2" };

static void
cell_ok(struct hop_cell *c, int kvno)
{
	memset(c, 0, sizeof *c);
	c->ran = 1;
	c->reason = KW_OK;
	c->seconds = 0.002;
	c->kvno = kvno;
	snprintf(c->detail, sizeof c->detail, "ok");
}

/* A cluster row: TGT to login ok, or broken at the service ticket (then login not reached). */
static void
cluster_row(struct result_row *r, const char *name, int broken)
{
	memset(r, 0, sizeof *r);
	r->kind = ROW_CLUSTER;
	snprintf(r->name, sizeof r->name, "%s", name);
	snprintf(r->cluster, sizeof r->cluster, "%s", name);
	snprintf(r->endpoint, sizeof r->endpoint, "%s.awsmad.kerberos.com", name);
	for (int h = 0; h < KW_HOP_COUNT; h++)
		r->hop[h].kvno = -1;
	cell_ok(&r->hop[KW_HOP_TGT], -1);
	cell_ok(&r->hop[KW_HOP_REFERRAL], 1);
	if (broken) {
		struct hop_cell *c = &r->hop[KW_HOP_SERVICE_TICKET];
		c->ran = 1;
		c->reason = KW_R_TRUST_KEY;
		c->kvno = -1;
		snprintf(c->detail, sizeof c->detail,
		    "KDC returned error string: PROCESS_TGS <script>alert(\"x\")</script> & \"q\"\n\x01");
	} else {
		cell_ok(&r->hop[KW_HOP_SERVICE_TICKET], 2);
		cell_ok(&r->hop[KW_HOP_LOGIN], -1);
	}
}

static void
dns_row(struct result_row *r, const char *q)
{
	memset(r, 0, sizeof *r);
	r->kind = ROW_DNS;
	snprintf(r->name, sizeof r->name, "%s", q);
	cell_ok(&r->hop[KW_HOP_DNS], -1);
}

static int
has(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static char *
render(const struct status_model *m, void (*write)(const struct status_model *, FILE *))
{
	char *out = NULL;
	size_t len;
	FILE *fp = open_memstream(&out, &len);

	write(m, fp);
	fclose(fp);
	return out;
}

static char region_e[] = "us-east-1", region_w[] = "us-west-2", cfg[] = "unit.yml";

struct fixture {
	struct kw_region regions[2];
	struct kw_config conf;
	struct result_row rows_e[4], rows_w[3], dns_e[2];
	struct probe_result chain_e, chain_w, dns_re, dns_rw;
	struct status_job jobs[5];
};

static void
fixture(struct fixture *f, int broken)
{
	memset(f, 0, sizeof *f);
	f->regions[0].name = region_e;
	f->regions[1].name = region_w;
	f->conf.path = cfg;
	f->conf.interval_ms = 60000;
	f->conf.regions = f->regions;
	f->conf.nregions = 2;
	for (int i = 0; i < 3; i++) {
		cluster_row(&f->rows_e[i], use1[i], 0);
		cluster_row(&f->rows_w[i], usw2[i], broken);
	}
	/* an endpoint row (issue 19's kinds): rendered like any other */
	cluster_row(&f->rows_e[3], "mariadb-use1 reader", 0);
	f->rows_e[3].kind = ROW_ENDPOINT;
	snprintf(f->rows_e[3].endpoint, sizeof f->rows_e[3].endpoint, "reader.mariadb-use1.example");
	snprintf(f->rows_e[3].cluster, sizeof f->rows_e[3].cluster, "mariadb-use1");
	dns_row(&f->dns_e[0], "SRV _kerberos._udp.AWSMAD.KERBEROS.COM");
	dns_row(&f->dns_e[1], "SRV _kerberos._tcp.AWSMAD.KERBEROS.COM");
	f->chain_e = (struct probe_result){ .rows = f->rows_e, .nrows = 4 };
	f->chain_w = (struct probe_result){ .rows = f->rows_w, .nrows = 3,
	    .reason = broken ? KW_R_TRUST_KEY : KW_OK };
	f->dns_re = (struct probe_result){ .rows = f->dns_e, .nrows = 2 };
	/* us-west-2's DNS kind reports no rows: its verdict stands for it */
	f->dns_rw = (struct probe_result){ .reason = KW_OK };
	snprintf(f->dns_rw.detail, sizeof f->dns_rw.detail, "2 lookups ok");
	f->jobs[0] = (struct status_job){ region_e, "dns", NULL, &f->dns_re, T0 };
	f->jobs[1] = (struct status_job){ region_e, "chain", NULL, &f->chain_e, T0 };
	f->jobs[2] = (struct status_job){ region_w, "dns", NULL, &f->dns_rw, T0 };
	f->jobs[3] = (struct status_job){ region_w, "chain", NULL, &f->chain_w, T0 };
	f->jobs[4] = (struct status_job){ region_w, "kdc", NULL, NULL, 0 };
}

static void
test_history(void)
{
	struct fixture f;
	struct history *h = history_new();
	const struct history_entry *e;

	fixture(&f, 0);
	for (int i = 0; i < 100; i++)
		history_record(h, region_e, "chain", NULL, &f.chain_e, T0 + i);
	e = history_get(h, region_e, "chain", NULL, &f.rows_e[0]);
	check(e != NULL && e->n == HISTORY_MARKS, "history: the ring holds the last HISTORY_MARKS runs");
	check(e != NULL && history_mark(e, 0)->t == T0 + 100 - HISTORY_MARKS &&
	    history_mark(e, HISTORY_MARKS - 1)->t == T0 + 99, "history: oldest first, newest last");
	check(e != NULL && e->since == T0 && e->last_ok == T0 + 99, "history: ok since the first run");
	check(history_subjects(h) == 5, "history: one subject for the job and one per row");
	history_free(h);
}

/* The model of f's jobs at now (with h's history, when any), and its page. */
static char *
page_of(struct status_model *m, struct fixture *f, struct history *h, time_t now,
    const char *summary)
{
	status_model_build(m, &f->conf, f->jobs, 5, h, now);
	m->version = "0-unit";
	m->config = cfg;
	snprintf(m->summary, sizeof m->summary, "%s", summary);
	return render(m, status_page_write);
}

/*
 * What a rendered text must say: each of in[] stands in it and none of out[]; with times, in[0]
 * stands exactly that many times.  One TAP line, name, per case.
 */
struct text_case {
	const char *in[2], *out[3];
	size_t times;
	const char *name;
};

static void
check_text(const char *text, const struct text_case *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ok = w[i].times == 0 || count(text, w[i].in[0]) == w[i].times;

		for (size_t k = 0; k < 2 && w[i].times == 0; k++)
			ok &= w[i].in[k] == NULL || has(text, w[i].in[k]);
		for (size_t k = 0; k < 3; k++)
			ok &= w[i].out[k] == NULL || !has(text, w[i].out[k]);
		check(ok, w[i].name);
	}
}
#define CHECK_TEXT(text, table) check_text((text), (table), sizeof(table) / sizeof((table)[0]))

/* /status.json of the same model: the same rows, the escaper, the history, the words */
static const struct text_case json_cases[] = {
	{ .in = { "\"name\":\"mariadb-usw2\"", "\"service_ticket\":{\"state\":\"failing\"" },
	    .name = "json: the same rows and cells" },
	{ .in = { "\\\"x\\\"", "\\n\\u0001" }, .name = "json: a server's text through the one escaper" },
	{ .in = { "\"state_since\":1796284770", "\"last_ok\":1796284740" },
	    .name = "json: the history's times" },
	{ .in = { "\"means\":\"the Region's KDC cannot decrypt" }, .name = "json: the words" },
};

static void
test_page(void)
{
	/* the page of two Regions, us-west-2's three clusters failing with trust_key */
	static const struct text_case page_cases[] = {
		{ .in = { "<meta http-equiv=\"refresh\" content=\"60\">" }, .name = "page: refreshes itself" },
		{ .in = { "<title>&#10007; us-west-2 failing &#183; krbwatch</title>" },
		    .name = "page: the title names the failing Region (a browser tab)" },
		{ .in = { "prefers-color-scheme:dark", "name=\"viewport\"" },
		    .name = "page: dark scheme and a phone's viewport" },
		{ .out = { "<script", "src=", "<link" }, .name = "page: no script, no external asset" },
		{ .in = { "data-kind=\"cluster\" data-state=\"failing\"" }, .times = 3,
		    .name = "page: three failing cluster rows" },
		{ .in = { "data-hop=\"service_ticket\" data-state=\"failing\" data-reason=\"trust_key\"" },
		    .times = 3, .name = "page: their service_ticket cells fail with trust_key" },
		{ .in = { "data-hop=\"login\" data-state=\"not_reached\"" }, .times = 3,
		    .name = "page: their login is not reached" },
		{ .in = { "<tr data-row=\"mariadb-use1 reader\" data-kind=\"endpoint\" data-state=\"ok\">" },
		    .name = "page: an endpoint row is a row like a cluster's" },
		{ .in = { "<small>endpoint of mariadb-use1 &#183; reader.mariadb-use1.example</small>" },
		    .name = "page: ... saying whose endpoint it is" },
		{ .in = { "data-hop=\"dns\" data-state=\"ok\">\u2713 ok<small>Region</small>" },
		    .name = "page: a cluster row shows the Region's DNS verdict, marked as shared" },
		{ .in = { "data-hop=\"kdc\" data-state=\"pending\"" },
		    .name = "page: a kind without a run yet is pending" },
		{ .in = { "trust_key: the Region's KDC cannot decrypt the referral",
		    "check: the trust in that Region's directory" },
		    .name = "page: the diagnosis words and the check line of krbwatch probe" },
		{ .in = { "<div class=\"diag\"" }, .times = 1, .name = "page: one diagnosis for the three cells" },
		{ .in = { "<li><b>mariadb-usw2</b>, <b>postgres-usw2</b>, <b>mysql-usw2</b>: KDC returned" },
		    .name = "page: rows with the same detail share one item" },
		{ .in = { "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp;", "failing &lt;b&gt;" },
		    .out = { "<script>alert", "\x01" }, .name = "page: a server's text and the summary are escaped" },
		{ .in = { "data-verdict=\"failing\">&#10007; FAILING: 3 of 3 login paths" },
		    .name = "page: us-west-2's verdict on top, in words" },
		{ .in = { "data-verdict=\"ok\">&#10003; OK: 4 login paths" }, .name = "page: us-east-1's verdict" },
		{ .in = { "aria-label=\"last 4 runs, oldest first: 2 ok, 2 failing\"" },
		    .name = "page: the recent runs, in words for a screen reader" },
		{ .in = { "failing since 07:59:30 UTC (35s ago) &#183; last success 07:59:00 UTC (65s ago)" },
		    .name = "page: when the failing began" },
	};
	struct fixture f;
	struct status_model m = { 0 };
	char *page = NULL, *json = NULL;

	struct history *h = history_new();

	fixture(&f, 0);
	history_record(h, region_w, "chain", NULL, &f.chain_w, T0 - 120);
	history_record(h, region_w, "chain", NULL, &f.chain_w, T0 - 60);
	fixture(&f, 1);
	history_record(h, region_w, "chain", NULL, &f.chain_w, T0 - 30);
	history_record(h, region_w, "chain", NULL, &f.chain_w, T0);
	page = page_of(&m, &f, h, T0 + 5, "us-east-1: ok; us-west-2: failing <b>");
	json = render(&m, status_json_write);

	check(m.regions[0].state == ST_OK && m.regions[1].state == ST_FAILING,
	    "model: us-east-1 ok, us-west-2 failing");
	check(m.regions[1].nfailing == 3 && m.regions[1].nsubjects == 3,
	    "model: 3 of 3 us-west-2 clusters failing");
	check(m.regions[1].since == T0 - 30 && m.regions[1].last_ok == T0 - 60,
	    "model: failing since the first failed run, last success the run before");
	CHECK_TEXT(page, page_cases);
	CHECK_TEXT(json, json_cases);
	/* to look at it in a browser */
	if (getenv("KW_UNIT_STATUS_PAGE") != NULL) {
		FILE *fp = fopen(getenv("KW_UNIT_STATUS_PAGE"), "w");
		if (fp != NULL) {
			fputs(page, fp);
			fclose(fp);
		}
	}
	free(page);
	free(json);
	status_model_free(&m);
	history_free(h);
}

/* One KDC of us-east-1 down, the logins still fine: a row for the KDC, the Region failing. */
static void
test_shared_row(void)
{
	/* us-east-1's page with one of its KDCs refused */
	static const struct text_case kdc_cases[] = {
		{ .in = { "<tr data-row=\"10.211.0.12 udp/88\" data-kind=\"kdc\" data-state=\"failing\">" },
		    .out = { "data-row=\"10.211.0.11 udp/88\"" },
		    .name = "page: the failing KDC has a row, the other not" },
		{ .in = { "data-hop=\"tgt\" data-state=\"none\"" }, .times = 1,
		    .name = "page: a KDC's row has no later hops (none, not 'not reached')" },
		{ .in = { "data-hop=\"kdc\" data-state=\"failing\" data-reason=\"refused\">\u2717 <b>refused</b>"
		    "<small>Region</small>" }, .times = 4,
		    .name = "page: us-east-1's login rows show the Region's KDC failing" },
		{ .in = { "data-verdict=\"failing\">&#10007; FAILING: 10.211.0.12 udp/88" },
		    .name = "page: with every login path fine, the verdict names what fails" },
	};
	struct fixture f;
	struct status_model m = { 0 };
	struct result_row kdc_rows[2];
	struct probe_result kdc;
	char *page;

	fixture(&f, 0);
	for (int i = 0; i < 2; i++) {
		memset(&kdc_rows[i], 0, sizeof kdc_rows[i]);
		kdc_rows[i].kind = ROW_KDC;
		snprintf(kdc_rows[i].name, sizeof kdc_rows[i].name, "10.211.0.1%d udp/88", i + 1);
		cell_ok(&kdc_rows[i].hop[KW_HOP_KDC], -1);
	}
	kdc_rows[1].hop[KW_HOP_KDC].reason = KW_R_REFUSED;
	snprintf(kdc_rows[1].hop[KW_HOP_KDC].detail, sizeof kdc_rows[1].hop[KW_HOP_KDC].detail,
	    "refused");
	kdc = (struct probe_result){ .reason = KW_R_REFUSED, .rows = kdc_rows, .nrows = 2 };
	f.jobs[4] = (struct status_job){ region_e, "kdc", NULL, &kdc, T0 };
	page = page_of(&m, &f, NULL, T0, "");
	CHECK_TEXT(page, kdc_cases);
	check(m.regions[0].state == ST_FAILING && m.regions[0].nfailing == 0 &&
	    m.regions[1].state == ST_OK, "model: us-east-1 failing (a KDC), no login path; us-west-2 ok");
	free(page);
	status_model_free(&m);
}

int
main(void)
{
	test_history();
	test_page();
	test_shared_row();
	return failed;
}
