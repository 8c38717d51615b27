/*
 * /status.json: the status page's model for scripts, field by field as documented in
 * krbwatch(8), "STATUS.JSON".  Every string goes through lib/json.c's one escaper; keys are a
 * contract: added, never renamed.
 */
#include <stdio.h>

#include "../lib/json.h"
#include "../lib/reason.h"
#include "status_model.h"

static void
key(FILE *fp, int first, const char *k)
{
	if (!first)
		fputc(',', fp);
	json_fputs(fp, k);
	fputc(':', fp);
}

static void
str_or_null(FILE *fp, const char *s)
{
	if (s == NULL || s[0] == '\0')
		fputs("null", fp);
	else
		json_fputs(fp, s);
}

static void
time_or_null(FILE *fp, time_t t)
{
	if (t)
		fprintf(fp, "%lld", (long long)t);
	else
		fputs("null", fp);
}

/* reason, means and check of a failure; null when it did not fail */
static void
reason_words(FILE *fp, enum kw_hop h, enum kw_reason r, int failing)
{
	key(fp, 0, "reason");
	str_or_null(fp, failing ? reason_name(r) : NULL);
	key(fp, 0, "means");
	str_or_null(fp, failing && h != KW_HOP_COUNT ? status_means(h, r) : NULL);
	key(fp, 0, "check");
	str_or_null(fp, failing && h != KW_HOP_COUNT ? status_check(h, r) : NULL);
}

static void
cell(FILE *fp, const struct status_cell *c, enum kw_hop h)
{
	const struct hop_cell *hc = c->hc;

	key(fp, h == 0, hop_name(h));
	fputc('{', fp);
	key(fp, 1, "state");
	json_fputs(fp, status_state_name(c->state));
	fprintf(fp, ",\"shared\":%s", c->shared ? "true" : "false");
	reason_words(fp, h, c->reason, c->state == ST_FAILING);
	key(fp, 0, "detail");
	str_or_null(fp, c->detail);
	if (hc != NULL) {
		fprintf(fp, ",\"seconds\":%.6f", hc->seconds);
		key(fp, 0, "addr");
		str_or_null(fp, hc->addr);
		key(fp, 0, "enctype");
		str_or_null(fp, hc->enctype);
		fputs(",\"kvno\":", fp);
		if (hc->kvno >= 0)
			fprintf(fp, "%d", hc->kvno);
		else
			fputs("null", fp);
	}
	fputc('}', fp);
}

static void
history(FILE *fp, const struct history_entry *e)
{
	key(fp, 0, "history");
	if (e == NULL) {
		fputs("null", fp);
		return;
	}
	fputs("{\"state_since\":", fp);
	time_or_null(fp, e->since);
	fputs(",\"last_ok\":", fp);
	time_or_null(fp, e->last_ok);
	fputs(",\"runs\":[", fp);
	for (unsigned i = 0; i < e->n; i++) {
		const struct history_mark *mk = history_mark(e, i);

		/* a passing run is its time alone: 60 runs of 1,000 clusters add up */
		fprintf(fp, "%s{\"t\":%lld", i ? "," : "", (long long)mk->t);
		if (mk->reason != KW_OK) {
			fputs(",\"reason\":", fp);
			json_fputs(fp, reason_name((enum kw_reason)mk->reason));
			fputs(",\"hop\":", fp);
			str_or_null(fp, mk->hop < KW_HOP_COUNT ? hop_name((enum kw_hop)mk->hop) : NULL);
		}
		fputc('}', fp);
	}
	fputs("]}", fp);
}

static void
row(FILE *fp, const struct status_row *sr, int first)
{
	const struct result_row *rr = sr->row;
	const struct probe_result *res = sr->job->result;

	fputs(first ? "{" : ",{", fp);
	key(fp, 1, "probe");
	json_fputs(fp, sr->job->probe);
	key(fp, 0, "kind");
	json_fputs(fp, sr->kind);
	key(fp, 0, "name");
	json_fputs(fp, sr->label);
	key(fp, 0, "cluster");
	str_or_null(fp, rr ? rr->cluster : sr->job->cluster);
	key(fp, 0, "endpoint");
	str_or_null(fp, rr ? rr->endpoint : NULL);
	key(fp, 0, "instance");
	str_or_null(fp, rr ? rr->instance : NULL);
	key(fp, 0, "state");
	json_fputs(fp, status_state_name(sr->state));
	key(fp, 0, "failed_hop");
	str_or_null(fp, sr->hop < KW_HOP_COUNT ? hop_name(sr->hop) : NULL);
	reason_words(fp, sr->hop, sr->reason, sr->state == ST_FAILING);
	key(fp, 0, "detail");
	str_or_null(fp, rr == NULL && res != NULL ? res->detail : NULL);
	key(fp, 0, "finished");
	time_or_null(fp, res != NULL ? sr->job->finished : 0);
	fputs(",\"hops\":{", fp);
	for (int h = 0; h < KW_HOP_COUNT; h++)
		cell(fp, &sr->cell[h], (enum kw_hop)h);
	fputc('}', fp);
	history(fp, sr->hist);
	fputc('}', fp);
}

void
status_json_rows(FILE *fp, const struct status_region *reg)
{
	fputc('[', fp);
	for (size_t i = 0; i < reg->nrows; i++)
		row(fp, &reg->rows[i], i == 0);
	fputc(']', fp);
}

static void
region(FILE *fp, const struct status_region *reg, int first)
{
	fputs(first ? "{" : ",{", fp);
	key(fp, 1, "name");
	json_fputs(fp, reg->name);
	key(fp, 0, "state");
	json_fputs(fp, status_state_name(reg->state));
	fputs(",\"since\":", fp);
	time_or_null(fp, reg->since);
	fputs(",\"last_ok\":", fp);
	time_or_null(fp, reg->state == ST_FAILING ? reg->last_ok : 0);
	fprintf(fp, ",\"paths\":%zu,\"paths_failing\":%zu,\"dns_lookups\":%zu,\"kdcs\":%zu",
	    reg->nsubjects, reg->nfailing, reg->ndns, reg->nkdc);
	fputs(",\"shared\":{", fp);
	cell(fp, &reg->shared[0], KW_HOP_DNS);
	cell(fp, &reg->shared[1], KW_HOP_KDC);
	fputs("},\"rows\":", fp);
	status_json_rows(fp, reg);
	fputc('}', fp);
}

void
status_json_write(const struct status_model *m, FILE *fp)
{
	fputs("{\"krbwatch\":", fp);
	json_fputs(fp, m->version);
	key(fp, 0, "config");
	json_fputs(fp, m->config);
	fprintf(fp, ",\"generated\":%lld,\"refresh_seconds\":%u,\"ok\":%s", (long long)m->now,
	    m->refresh_s, m->ok ? "true" : "false");
	key(fp, 0, "summary");
	json_fputs(fp, m->summary);
	key(fp, 0, "identity_held");
	str_or_null(fp, m->held);
	fputs(",\"hops\":[", fp);
	for (int h = 0; h < KW_HOP_COUNT; h++) {
		if (h)
			fputc(',', fp);
		json_fputs(fp, hop_name((enum kw_hop)h));
	}
	fputs("],\"regions\":[", fp);
	for (size_t r = 0; r < m->nregions; r++)
		region(fp, &m->regions[r], r == 0);
	fputs("]}\n", fp);
}
