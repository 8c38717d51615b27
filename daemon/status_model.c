/*
 * The status model (status_model.h): which rows a Region shows, what each cell says, the
 * Region's verdict.  The rules, in one place for the page and /status.json:
 *   - a cell the row ran is ok or failing;
 *   - a login row (cluster, endpoint, instance, global writer) shows in its DNS and KDC columns
 *     the Region's DNS and KDC verdicts when it did not run those hops itself: a client of that
 *     cluster depends on them ("shared");
 *   - a cell after a failing one that did not run is "not reached"; any other is "none";
 *   - rows of shared hops (DNS questions, KDCs, the Region's TGT) are shown only while they
 *     fail (forty passing lookups are one line above the matrix); a kind that reports no rows
 *     is one row, its verdict.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"
#include "status_model.h"
#include "../lib/xmalloc.h"

const char *
status_state_name(enum status_state s)
{
	static const char *const names[] = {
		[ST_NONE] = "none", [ST_OK] = "ok", [ST_FAILING] = "failing",
		[ST_NOT_REACHED] = "not_reached", [ST_PENDING] = "pending",
	};
	return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "none";
}

const char *
status_means(enum kw_hop h, enum kw_reason r)
{
	return explain_means(hop_name(h), r);
}

const char *
status_check(enum kw_hop h, enum kw_reason r)
{
	return explain_check(hop_name(h), r);
}

static const char *
row_kind_name(enum row_kind k)
{
	switch (k) {
	case ROW_DNS: return "dns";
	case ROW_KDC: return "kdc";
	case ROW_CLUSTER: return "cluster";
	case ROW_ENDPOINT: return "endpoint";
	case ROW_INSTANCE: return "instance";
	case ROW_GLOBAL: return "global";
	case ROW_REGION: return "region";
	default: return "shared";	/* a kind added to result.h since: a Region's shared hops */
	}
}

/*
 * A login path (a cluster, an endpoint...): the rows the verdict counts.  The others carry hops
 * a Region's paths share (a DNS question, a KDC): rows of their own only while they fail.
 */
static int
is_login_row(const struct result_row *row)
{
	return row->kind == ROW_CLUSTER || row->kind == ROW_ENDPOINT || row->kind == ROW_INSTANCE ||
	    row->kind == ROW_GLOBAL;
}

/* The hop a name stands for ("kdc", or the last word of a step "db-east login"). */
static enum kw_hop
hop_of(const char *s)
{
	const char *sp = strrchr(s, ' ');

	if (sp != NULL)
		s = sp + 1;
	for (int h = 0; h < KW_HOP_COUNT; h++)
		if (strcmp(s, hop_name((enum kw_hop)h)) == 0)
			return (enum kw_hop)h;
	return KW_HOP_COUNT;
}

/* Adds one more verdict to a Region's DNS or KDC cell: the first failure wins. */
static void
shared_add(struct status_cell *c, enum status_state st, enum kw_reason r, const char *detail,
    const struct hop_cell *hc)
{
	if (c->state == ST_FAILING)
		return;
	if (st == ST_FAILING || c->state == ST_NONE || (st == ST_PENDING && c->state == ST_OK)) {
		c->state = st;
		c->reason = r;
		c->detail = detail;
		c->hc = hc;
	}
}

/* The Region's DNS and KDC verdicts, from their rows or, for kinds without rows, their jobs. */
static void
region_shared(struct status_region *reg, const struct status_job *jobs, size_t njobs)
{
	for (int s = 0; s < 2; s++)
		reg->shared[s] = (struct status_cell){ .state = ST_NONE, .detail = "", .shared = 1 };
	for (size_t i = 0; i < njobs; i++) {
		const struct status_job *j = &jobs[i];
		const struct probe_result *res = j->result;
		enum kw_hop h = hop_of(j->probe);

		if (strcmp(j->region, reg->name) != 0)
			continue;
		if (res == NULL) {
			if (h == KW_HOP_DNS || h == KW_HOP_KDC)
				shared_add(&reg->shared[h], ST_PENDING, KW_OK, "", NULL);
			continue;
		}
		if (res->nrows == 0 && (h == KW_HOP_DNS || h == KW_HOP_KDC)) {
			shared_add(&reg->shared[h], res->reason == KW_OK ? ST_OK : ST_FAILING,
			    res->reason, res->detail, NULL);
			continue;
		}
		for (size_t k = 0; k < res->nrows; k++) {
			const struct result_row *row = &res->rows[k];
			int s = row->kind == ROW_DNS ? KW_HOP_DNS : row->kind == ROW_KDC ? KW_HOP_KDC : -1;
			const struct hop_cell *hc;

			if (s < 0 || !(hc = &row->hop[s])->ran)
				continue;
			if (s == KW_HOP_DNS)
				reg->ndns++;
			else
				reg->nkdc++;
			shared_add(&reg->shared[s], hc->reason == KW_OK ? ST_OK : ST_FAILING,
			    hc->reason, hc->detail, hc);
		}
	}
}

static void
row_cells(struct status_row *sr, const struct status_region *reg)
{
	const struct result_row *row = sr->row;
	int broke = 0;

	for (int h = 0; h < KW_HOP_COUNT; h++) {
		const struct hop_cell *hc = &row->hop[h];
		struct status_cell *c = &sr->cell[h];

		*c = (struct status_cell){ .state = ST_NONE, .detail = "" };
		if (hc->ran) {
			c->state = hc->reason == KW_OK ? ST_OK : ST_FAILING;
			c->reason = hc->reason;
			c->detail = hc->detail;
			c->hc = hc;
			broke |= hc->reason != KW_OK;
		} else if ((h == KW_HOP_DNS || h == KW_HOP_KDC) && is_login_row(row) &&
		    reg->shared[h].state != ST_NONE)
			*c = reg->shared[h];
		else if (broke && is_login_row(row))	/* a KDC's row has no later hops */
			c->state = ST_NOT_REACHED;
	}
	sr->reason = history_row_reason(row, &sr->hop);
	sr->state = sr->reason == KW_OK ? ST_OK : ST_FAILING;
}

static void
row_label(struct status_row *sr)
{
	const struct status_job *j = sr->job;

	if (sr->row != NULL)
		snprintf(sr->label, sizeof sr->label, "%s", sr->row->name);
	else if (j->cluster != NULL)
		snprintf(sr->label, sizeof sr->label, "%s %s", j->probe, j->cluster);
	else
		snprintf(sr->label, sizeof sr->label, "%s", j->probe);
}

/* A kind without rows: its verdict in the column of the hop it names (or its failed step's). */
static void
job_cells(struct status_row *sr)
{
	const struct probe_result *res = sr->job->result;
	enum kw_hop h = hop_of(sr->job->probe);

	for (int k = 0; k < KW_HOP_COUNT; k++)
		sr->cell[k] = (struct status_cell){ .state = ST_NONE, .detail = "" };
	sr->hop = KW_HOP_COUNT;
	sr->reason = KW_OK;
	if (res == NULL) {
		sr->state = ST_PENDING;
		if (h != KW_HOP_COUNT)
			sr->cell[h].state = ST_PENDING;
		return;
	}
	sr->reason = res->reason;
	sr->state = res->reason == KW_OK ? ST_OK : ST_FAILING;
	if (res->reason != KW_OK && hop_of(res->step) != KW_HOP_COUNT)
		h = hop_of(res->step);
	if (h == KW_HOP_COUNT)
		return;
	sr->hop = res->reason == KW_OK ? KW_HOP_COUNT : h;
	sr->cell[h].state = sr->state;
	sr->cell[h].reason = res->reason;
	sr->cell[h].detail = res->detail;
}

static struct status_row *
add_row(struct status_region *reg, const struct status_job *j, const struct result_row *row,
    const struct history *h)
{
	struct status_row *sr;

	reg->rows = xreallocarray(reg->rows, reg->nrows + 1, sizeof *reg->rows);
	sr = &reg->rows[reg->nrows++];
	memset(sr, 0, sizeof *sr);
	sr->job = j;
	sr->row = row;
	sr->kind = row ? row_kind_name(row->kind) : "probe";
	row_label(sr);
	if (row != NULL)
		row_cells(sr, reg);
	else
		job_cells(sr);
	sr->hist = history_get(h, j->region, j->probe, j->cluster, row);
	return sr;
}

/* Login rows and kinds without rows first, then the DNS questions and KDCs that fail. */
static void
region_rows(struct status_region *reg, const struct status_job *jobs, size_t njobs,
    const struct history *h)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < njobs; i++) {
			const struct status_job *j = &jobs[i];
			const struct probe_result *res = j->result;
			int per_hop = hop_of(j->probe) == KW_HOP_DNS || hop_of(j->probe) == KW_HOP_KDC;

			if (strcmp(j->region, reg->name) != 0)
				continue;
			if (res == NULL || res->nrows == 0) {
				/* a passing DNS or KDC kind is said in the Region's line */
				if (pass == per_hop && !(per_hop && res != NULL && res->reason == KW_OK))
					add_row(reg, j, NULL, h);
				continue;
			}
			for (size_t k = 0; k < res->nrows; k++) {
				const struct result_row *row = &res->rows[k];
				if (is_login_row(row) != (pass == 0))
					continue;
				if (!is_login_row(row) && history_row_reason(row, NULL) == KW_OK)
					continue;
				add_row(reg, j, row, h);
			}
		}
}

/* The verdict on top: failing if a row fails, pending before a result, with its age. */
static void
region_verdict(struct status_region *reg)
{
	int pending = 0, any = 0;

	reg->state = ST_OK;
	for (size_t i = 0; i < reg->nrows; i++) {
		const struct status_row *sr = &reg->rows[i];
		int login = sr->row == NULL || is_login_row(sr->row);

		any = 1;
		pending |= sr->state == ST_PENDING;
		if (login && sr->row != NULL)
			reg->nsubjects++;
		if (sr->state != ST_FAILING)
			continue;
		reg->state = ST_FAILING;
		if (login && sr->row != NULL)
			reg->nfailing++;
	}
	if (reg->state != ST_FAILING && (pending || !any))
		reg->state = pending ? ST_PENDING : ST_NONE;
	for (size_t i = 0; i < reg->nrows; i++) {
		const struct history_entry *e = reg->rows[i].hist;

		if (e == NULL)
			continue;
		if (reg->state == ST_FAILING && reg->rows[i].state == ST_FAILING) {
			if (reg->since == 0 || e->since < reg->since)
				reg->since = e->since;
			if (reg->last_ok == 0 || e->last_ok < reg->last_ok)
				reg->last_ok = e->last_ok;
		} else if (reg->state != ST_FAILING && e->since > reg->since)
			reg->since = e->since;
	}
}

void
status_model_build(struct status_model *m, const struct kw_config *conf,
    const struct status_job *jobs, size_t njobs, const struct history *h, time_t now)
{
	uint64_t refresh = conf->interval_ms / 1000;

	m->now = now;
	m->refresh_s = (unsigned)(refresh < 5 ? 5 : refresh > 60 ? 60 : refresh);
	m->ok = 1;
	m->nregions = conf->nregions;
	m->regions = xcalloc(conf->nregions ? conf->nregions : 1, sizeof *m->regions);
	for (size_t r = 0; r < conf->nregions; r++) {
		struct status_region *reg = &m->regions[r];

		reg->name = conf->regions[r].name;
		region_shared(reg, jobs, njobs);
		region_rows(reg, jobs, njobs, h);
		region_verdict(reg);
		m->ok &= reg->state == ST_OK;
	}
}

void
status_model_free(struct status_model *m)
{
	for (size_t r = 0; r < m->nregions; r++)
		free(m->regions[r].rows);
	free(m->regions);
	free(m->jobs);
	memset(m, 0, sizeof *m);
}
