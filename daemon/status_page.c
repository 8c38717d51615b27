/*
 * The status page at "/", for a person in an incident: per Region its verdict on top, then a
 * matrix (one row per cluster, endpoint or instance, one column per hop), the recent past of
 * each row, and for every failing cell the plain words and what to check (daemon/explain.c,
 * the words `krbwatch probe` prints).  State is said in symbols and words, never by colour
 * alone; the page reloads itself (meta refresh, no script), fits a phone, follows the reader's
 * light or dark scheme, and loads nothing else.  Every string a server or library produced is
 * escaped (html()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/reason.h"
#include "status_model.h"

static const char css[] =
    ":root{color-scheme:light dark;--bg:#fff;--fg:#1b1b1b;--mute:#5f6368;--line:#d0d7de;"
    "--ok:#0f5f2a;--okbg:#dcf5e3;--bad:#9b1c1c;--badbg:#fde4e1;--nr:#6b6b6b;--nrbg:#f1f1f1}"
    "@media (prefers-color-scheme:dark){:root{--bg:#121416;--fg:#e8e8e8;--mute:#a0a6ad;"
    "--line:#3a4148;--ok:#8ee6a8;--okbg:#143a22;--bad:#ffb3ad;--badbg:#4d1a17;--nr:#b0b0b0;"
    "--nrbg:#262a2e}}"
    "body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;padding:.8em;max-width:80em;"
    "background:var(--bg);color:var(--fg)}"
    "h1{font-size:1.3em;margin:.2em 0}h2{font-size:1.2em;margin:1.2em 0 .2em}"
    "h3{font-size:1em;margin:.8em 0 .3em}a{color:inherit}small,.meta{color:var(--mute)}"
    ".verdict{font-weight:600;padding:.3em .6em;border-radius:4px;margin:.2em 0}"
    ".scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;margin:.4em 0}"
    "th,td{border:1px solid var(--line);padding:.25em .45em;text-align:left;vertical-align:top}"
    "td{white-space:nowrap}th small,td small{display:block;font-weight:normal}"
    "th[scope=row]{position:sticky;left:0;background:var(--bg);z-index:1}"
    "td[data-col=past]{white-space:normal;min-width:16em}"
    "th .why{color:var(--bad);font-weight:600}li,p{overflow-wrap:anywhere}"
    ".ok{background:var(--okbg);color:var(--ok)}.bad{background:var(--badbg);color:var(--bad)}"
    ".nr,.pend{background:var(--nrbg);color:var(--nr)}"
    "td[data-state=ok]{background:var(--okbg);color:var(--ok)}"
    "td[data-state=failing]{background:var(--badbg);color:var(--bad)}"
    "td[data-state=not_reached],td[data-state=pending]{background:var(--nrbg);color:var(--nr)}"
    "td[data-state=none]{color:var(--mute)}"
    ".strip{font:1.05em ui-monospace,monospace;letter-spacing:-.05em;white-space:nowrap}"
    ".strip .f{color:var(--bad)}.strip .o{color:var(--ok)}"
    ".diag{border-left:4px solid var(--bad);padding:.1em .8em;margin:.6em 0}"
    ".diag p{margin:.3em 0}.check{font-weight:600}"
    "@media (max-width:40em){body{font-size:14px;padding:.4em}th,td{padding:.2em .3em}}";

/* Text a server or library wrote: everything that means something in HTML is escaped. */
static void
html(FILE *fp, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", fp); break;
		case '>': fputs("&gt;", fp); break;
		case '&': fputs("&amp;", fp); break;
		case '"': fputs("&quot;", fp); break;
		case '\'': fputs("&#39;", fp); break;
		default:
			/* control characters have no business on a page */
			fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, fp);
		}
	}
}

static const char *const hop_title[KW_HOP_COUNT] = {
	"DNS", "KDC", "TGT", "referral", "service ticket", "login"
};

/* "06:40:12 UTC"; with the date when it is not today's */
static void
clock_time(FILE *fp, time_t now, time_t t)
{
	struct tm tm, today;
	char buf[40];

	gmtime_r(&t, &tm);
	gmtime_r(&now, &today);
	strftime(buf, sizeof buf, tm.tm_yday == today.tm_yday && tm.tm_year == today.tm_year ?
	    "%H:%M:%S UTC" : "%Y-%m-%d %H:%M UTC", &tm);
	fputs(buf, fp);
}

/* "06:40:12 UTC (2m ago)" */
static void
when(FILE *fp, time_t now, time_t t)
{
	long s = (long)(now - t);

	clock_time(fp, now, t);
	if (s < 0)
		s = 0;
	if (s < 120)
		fprintf(fp, " (%lds ago)", s);
	else if (s < 7200)
		fprintf(fp, " (%ldm ago)", s / 60);
	else
		fprintf(fp, " (%ldh ago)", s / 3600);
}

static void
last_success(FILE *fp, time_t now, time_t t)
{
	fputs(" &#183; last success ", fp);
	if (t)
		when(fp, now, t);
	else
		fputs("not seen since krbwatch started", fp);
}

static void
cell(FILE *fp, const struct status_cell *c, enum kw_hop h)
{
	fprintf(fp, "<td data-hop=\"%s\" data-state=\"%s\"", hop_name(h), status_state_name(c->state));
	switch (c->state) {
	/* styled by data-state (the css): no class to repeat it, a thousand rows add up */
	case ST_OK:
		fputs(">\u2713 ok", fp);
		break;
	case ST_FAILING:
		fprintf(fp, " data-reason=\"%s\">\u2717 <b>%s</b>", reason_name(c->reason),
		    reason_name(c->reason));
		break;
	case ST_NOT_REACHED:
		fputs(">\u2013 not reached", fp);
		break;
	case ST_PENDING:
		fputs(">\u2026 pending", fp);
		break;
	case ST_NONE:
		fputs(">\u00b7", fp);
		break;
	}
	if (c->shared && c->state != ST_NONE)
		fputs("<small>Region</small>", fp);
	else if (c->state == ST_OK && c->hc != NULL && c->hc->kvno >= 0 && h != KW_HOP_TGT &&
	    h != KW_HOP_LOGIN)
		fprintf(fp, "<small>kvno %d</small>", c->hc->kvno);
	fputs("</td>", fp);
}

/* One mark per run, oldest first: a run of equal marks is one span. */
static void
strip(FILE *fp, const struct history_entry *e)
{
	unsigned bad = 0;
	int open = -1;

	for (unsigned i = 0; i < e->n; i++)
		bad += history_mark(e, i)->reason != KW_OK;
	fprintf(fp, "<span class=\"strip\" role=\"img\" aria-label=\"last %u runs, oldest first: "
	    "%u ok, %u failing\">", e->n, e->n - bad, bad);
	for (unsigned i = 0; i < e->n; i++) {
		int ok = history_mark(e, i)->reason == KW_OK;

		if (ok != open) {
			fprintf(fp, "%s<span class=\"%s\">", open >= 0 ? "</span>" : "", ok ? "o" : "f");
			open = ok;
		}
		fputs(ok ? "\u2713" : "\u2717", fp);	/* ✓ ✗: 3 bytes a mark, not 8 */
	}
	fputs(open >= 0 ? "</span></span>" : "</span>", fp);
}

static void
past(FILE *fp, const struct status_row *sr, time_t now)
{
	const struct history_entry *e = sr->hist;

	fputs("<td data-col=\"past\">", fp);
	if (e == NULL || e->n == 0) {
		fputs("<small>no run yet</small></td>", fp);
		return;
	}
	strip(fp, e);
	fprintf(fp, "<small>%s since ", e->state == KW_OK ? "ok" : "failing");
	when(fp, now, e->since);
	if (e->state != KW_OK)
		last_success(fp, now, e->last_ok);
	fputs("</small></td>", fp);
}

/* What a row is: "cluster · its host", "instance of mariadb-use1 · behind its endpoint". */
static void
row_what(FILE *fp, const struct status_row *sr)
{
	const struct result_row *rr = sr->row;
	const char *sub = rr == NULL ? "" : rr->instance[0] && strcmp(rr->instance, sr->label) != 0 ?
	    rr->instance : rr->endpoint;

	fprintf(fp, "<small>%s", sr->kind);
	if (rr != NULL && rr->kind == ROW_GLOBAL && rr->writer[0]) {
		fputs(" &#183; writer ", fp);
		html(fp, rr->writer);
		if (rr->writer_region[0]) {
			fputs(" in ", fp);
			html(fp, rr->writer_region);
		}
	} else if (rr != NULL && rr->kind != ROW_CLUSTER && rr->cluster[0] &&
	    strcmp(rr->cluster, sr->label) != 0) {
		fputs(" of ", fp);
		html(fp, rr->cluster);
	}
	if (sub[0] && strcmp(sub, sr->label) != 0) {
		fputs(" &#183; ", fp);
		html(fp, sub);
	}
	fputs("</small>", fp);
}

static void
row(FILE *fp, const struct status_row *sr, time_t now)
{
	fputs("<tr data-row=\"", fp);
	html(fp, sr->label);
	fprintf(fp, "\" data-kind=\"%s\" data-state=\"%s\"><th scope=\"row\">", sr->kind,
	    status_state_name(sr->state));
	html(fp, sr->label);
	row_what(fp, sr);
	/* the failing hop beside the name too: on a phone its column may be off the screen */
	if (sr->state == ST_FAILING && sr->hop < KW_HOP_COUNT)
		fprintf(fp, "<small class=\"why\">\u2717 %s: %s</small>", hop_title[sr->hop],
		    reason_name(sr->reason));
	fputs("</th>", fp);
	for (int h = 0; h < KW_HOP_COUNT; h++)
		cell(fp, &sr->cell[h], (enum kw_hop)h);
	past(fp, sr, now);
	fputs("</tr>\n", fp);
}

/* No login path fails: the rows that do (a DNS question, a KDC, a kind's verdict), by name. */
static void
failing_rows(FILE *fp, const struct status_region *reg)
{
	size_t n = 0;

	for (size_t i = 0; i < reg->nrows; i++) {
		if (reg->rows[i].state != ST_FAILING)
			continue;
		if (n++ == 3) {
			fputs(", ...", fp);
			break;
		}
		fputs(n > 1 ? ", " : "", fp);
		html(fp, reg->rows[i].label);
	}
}

/* "✗ FAILING: 3 of 3 clusters · since ... · last success ..." */
static void
verdict(FILE *fp, const struct status_region *reg, time_t now)
{
	const char *cls = reg->state == ST_OK ? "ok" : reg->state == ST_FAILING ? "bad" : "pend";

	fprintf(fp, "<p class=\"verdict %s\" data-verdict=\"%s\">", cls, status_state_name(reg->state));
	switch (reg->state) {
	case ST_OK:
		if (reg->nsubjects > 0)
			fprintf(fp, "&#10003; OK: %zu login path%s, every hop passes", reg->nsubjects,
			    reg->nsubjects == 1 ? "" : "s");
		else
			fputs("&#10003; OK: every probe passes", fp);
		break;
	case ST_FAILING:
		fputs("&#10007; FAILING: ", fp);
		if (reg->nfailing > 0)
			fprintf(fp, "%zu of %zu login path%s", reg->nfailing, reg->nsubjects,
			    reg->nsubjects == 1 ? "" : "s");
		else
			failing_rows(fp, reg);
		break;
	case ST_PENDING:
		fputs("&#8230; STARTING: waiting for the first run of every probe", fp);
		break;
	default:
		fputs("&#183; no probes", fp);
	}
	if (reg->since) {
		fputs(reg->state == ST_FAILING ? " &#183; since " : " &#183; ok since ", fp);
		when(fp, now, reg->since);
	}
	if (reg->state == ST_FAILING && reg->since)
		last_success(fp, now, reg->last_ok);
	fputs("</p>\n", fp);
}

static void
shared_line(FILE *fp, const struct status_region *reg)
{
	static const char *const what[2] = { "DNS", "KDC" };
	const size_t count[2] = { reg->ndns, reg->nkdc };

	fputs("<p class=\"shared\">", fp);
	for (int s = 0; s < 2; s++) {
		const struct status_cell *c = &reg->shared[s];

		fprintf(fp, "%s%s: ", s ? " &#183; " : "", what[s]);
		if (count[s])
			fprintf(fp, "%zu %s, ", count[s], s ? "KDCs" : "lookups");
		if (c->state == ST_FAILING)
			fprintf(fp, "<span class=\"bad\">&#10007; failing (%s)</span>",
			    reason_name(c->reason));
		else
			fprintf(fp, "%s", c->state == ST_OK ? "&#10003; ok" :
			    c->state == ST_PENDING ? "&#8230; pending" : "not probed");
	}
	fputs("</p>\n", fp);
}

static void
diag_head(FILE *fp, enum kw_hop h, enum kw_reason r)
{
	const char *means = status_means(h, r), *check = status_check(h, r);

	fprintf(fp, "<div class=\"diag\" data-hop=\"%s\" data-reason=\"%s\"><h3>&#10007; %s: %s</h3>",
	    hop_name(h), reason_name(r), hop_title[h], reason_name(r));
	if (means)
		fprintf(fp, "<p class=\"means\">%s: %s</p>", reason_name(r), means);
	if (check)
		fprintf(fp, "<p class=\"check\">check: %s</p>", check);
	fputs("<ul>", fp);
}

/*
 * The failing cells of one hop and reason: the words once, then each row's own detail; rows
 * one after the other with the same detail (the Region's TGT in each cluster) share an item.
 */
static void
diag_group(FILE *fp, const struct status_region *reg, enum kw_hop h, enum kw_reason r)
{
	const char *open = NULL;	/* the detail of the item being written */

	for (size_t i = 0; i < reg->nrows; i++) {
		const struct status_cell *c = &reg->rows[i].cell[h];

		if (c->state != ST_FAILING || c->shared || c->reason != r)
			continue;
		if (open == NULL)
			diag_head(fp, h, r);
		else if (strcmp(open, c->detail) == 0) {
			fputs(", <b>", fp);
			html(fp, reg->rows[i].label);
			fputs("</b>", fp);
			continue;
		} else {
			fputs(": ", fp);
			html(fp, open);
			fputs("</li>", fp);
		}
		fputs("<li><b>", fp);
		html(fp, reg->rows[i].label);
		fputs("</b>", fp);
		open = c->detail;
	}
	if (open != NULL) {
		fputs(": ", fp);
		html(fp, open);
		fputs("</li></ul></div>\n", fp);
	}
}

/* Every failing cell, grouped by hop and reason, in path order. */
static void
diagnosis(FILE *fp, const struct status_region *reg)
{
	for (int h = 0; h < KW_HOP_COUNT; h++)
		for (int r = 1; r < KW_R_COUNT; r++)
			diag_group(fp, reg, (enum kw_hop)h, (enum kw_reason)r);
}

static void
region(FILE *fp, const struct status_region *reg, time_t now)
{
	fputs("<section class=\"region\" id=\"region-", fp);
	html(fp, reg->name);
	fprintf(fp, "\" data-region=\"");
	html(fp, reg->name);
	fprintf(fp, "\" data-state=\"%s\">\n<h2>", status_state_name(reg->state));
	html(fp, reg->name);
	fputs("</h2>\n", fp);
	verdict(fp, reg, now);
	shared_line(fp, reg);
	fputs("<div class=\"scroll\"><table class=\"matrix\"><thead><tr><th scope=\"col\">path</th>", fp);
	for (int h = 0; h < KW_HOP_COUNT; h++)
		fprintf(fp, "<th scope=\"col\">%s</th>", hop_title[h]);
	fputs("<th scope=\"col\">recent runs</th></tr></thead><tbody>\n", fp);
	for (size_t i = 0; i < reg->nrows; i++)
		row(fp, &reg->rows[i], now);
	fputs("</tbody></table></div>\n", fp);
	diagnosis(fp, reg);
	fputs("</section>\n", fp);
}

static void
head(FILE *fp, const struct status_model *m)
{
	size_t bad = 0;

	for (size_t r = 0; r < m->nregions; r++)
		bad += m->regions[r].state == ST_FAILING;
	fprintf(fp, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	    "<meta name=\"color-scheme\" content=\"light dark\">"
	    "<meta http-equiv=\"refresh\" content=\"%u\"><title>", m->refresh_s);
	if (bad == 1)	/* a tab's title names the Region */
		for (size_t r = 0; r < m->nregions; r++) {
			if (m->regions[r].state != ST_FAILING)
				continue;
			fputs("&#10007; ", fp);
			html(fp, m->regions[r].name);
			fputs(" failing", fp);
		}
	else if (bad)
		fprintf(fp, "&#10007; %zu Regions failing", bad);
	else
		fputs(m->ok ? "&#10003; ok" : "&#8230; starting", fp);
	fprintf(fp, " &#183; krbwatch</title><style>%s</style></head><body>\n"
	    "<header><h1>krbwatch</h1>\n<p>", css);
	html(fp, m->summary);
	fputs("</p>\n", fp);
	/* the words, not only the summary: why the TGT is held back and what lifts it */
	if (m->held[0]) {
		fputs("<p class=\"bad\" id=\"identity\">Monitoring identity: ", fp);
		html(fp, m->held);
		fputs("</p>\n", fp);
	}
	fputs("<p class=\"meta\">Configuration: ", fp);
	html(fp, m->config);
	fputs(" &#183; version ", fp);
	html(fp, m->version);
	fputs(" &#183; as of ", fp);
	clock_time(fp, m->now, m->now);
	fprintf(fp, ", reloads every %u s &#183; <a href=\"/status.json\">status.json</a> &#183; "
	    "<a href=\"/metrics\">metrics</a></p></header>\n<main>\n", m->refresh_s);
}

void
status_page_write(const struct status_model *m, FILE *fp)
{
	head(fp, m);
	for (size_t r = 0; r < m->nregions; r++)
		region(fp, &m->regions[r], m->now);
	fputs("</main></body></html>\n", fp);
}
