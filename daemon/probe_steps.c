/*
 * The steps of `krbwatch probe` from a result's rows (probe_steps.h).  The order is the path's:
 * the Region's shared hops, the hops held back, each cluster's hops, then the endpoints' rows
 * in the order the chain added them.
 */
#include <stdio.h>
#include <string.h>

#include "explain.h"
#include "probe_steps.h"

struct emit {
	probe_step_fn *fn;
	void *arg;
};

static void
cell_step(const struct emit *e, const char *kind, const char *name, const struct hop_cell *c)
{
	if (c->ran)
		e->fn(e->arg, kind, name, c->reason, c->seconds, c->detail);
}

/* A held hop did not run: its cell says why, with the TGT's reason. */
static void
held_step(const struct emit *e, const char *name, const struct hop_cell *c)
{
	if (c->held)
		e->fn(e->arg, "held", name, c->reason, 0, c->detail);
}

/* A cluster's own hops: its referral path, its service ticket, its login. */
static void
cluster_steps(const struct emit *e, const struct result_row *row)
{
	char name[192];

	snprintf(name, sizeof name, "%.64s referral path", row->name);
	cell_step(e, "referral", name, &row->referral_path);
	snprintf(name, sizeof name, "%.64s service_ticket", row->name);
	cell_step(e, "service_ticket", name, &row->hop[KW_HOP_SERVICE_TICKET]);
	snprintf(name, sizeof name, "%.64s login", row->name);
	cell_step(e, "login", name, &row->hop[KW_HOP_LOGIN]);
}

/* A reader endpoint whose lookup failed; its addresses' rows say the rest. */
static void
reader_steps(const struct emit *e, const struct result_row *row)
{
	const struct hop_cell *c = &row->hop[KW_HOP_DNS];
	char name[192];

	if (!c->ran || c->reason == KW_OK)
		return;
	snprintf(name, sizeof name, "%.64s reader", row->cluster);
	e->fn(e->arg, "dns", name, c->reason, 0, c->detail);
}

/* One address behind a reader endpoint: its first failure, or its login. */
static void
instance_steps(const struct emit *e, const struct result_row *row)
{
	const struct hop_cell *st = &row->hop[KW_HOP_SERVICE_TICKET], *lg = &row->hop[KW_HOP_LOGIN];
	const char *detail = lg->detail;
	char name[256], prefix[192], words[600];
	size_t n;

	/* the login cell names the instance for the verdict; the line's name already does */
	n = (size_t)snprintf(prefix, sizeof prefix, "%.100s (%s): ", row->instance, lg->addr);
	if (n < sizeof prefix && strncmp(detail, prefix, n) == 0)
		detail += n;
	snprintf(name, sizeof name, "%.64s reader %.80s (%s)", row->cluster, row->instance, lg->addr);
	if (st->ran && st->reason != KW_OK) {
		snprintf(words, sizeof words, "%s service_ticket: %s", row->endpoint, st->detail);
		e->fn(e->arg, "reader", name, st->reason, st->seconds, words);
	} else if (lg->ran && lg->reason != KW_OK) {
		snprintf(words, sizeof words, "%s login: %s", row->endpoint, detail);
		e->fn(e->arg, "reader", name, lg->reason, lg->seconds, words);
	} else if (lg->ran) {
		snprintf(words, sizeof words, "%s: %s", row->endpoint, detail);
		e->fn(e->arg, "reader", name, KW_OK, lg->seconds, words);
	}
}

/* A global writer endpoint: the writer its name leads to, this Region as a target, a login. */
static void
global_steps(const struct emit *e, const struct result_row *row, const char *region)
{
	const struct hop_cell *st = &row->hop[KW_HOP_SERVICE_TICKET], *lg = &row->hop[KW_HOP_LOGIN];
	const struct hop_cell *c = &row->hop[KW_HOP_DNS];
	char name[256];

	snprintf(name, sizeof name, "%.64s writer", row->name);
	e->fn(e->arg, "global", name, c->reason, 0, c->detail);
	if (row->failover_ready >= 0) {
		snprintf(name, sizeof name, "%.64s failover to %.40s", row->name, region);
		e->fn(e->arg, "failover", name, row->failover_reason, 0, row->failover_detail);
	}
	snprintf(name, sizeof name, "%.64s login through %.100s", row->name, row->endpoint);
	if (st->ran && st->reason != KW_OK)
		cell_step(e, "service_ticket", name, st);
	else
		cell_step(e, "login", name, lg);
}

void
probe_steps(const struct probe_result *res, const char *region, probe_step_fn *fn, void *arg)
{
	const struct emit e = { fn, arg };

	for (size_t i = 0; i < res->nrows; i++) {
		const struct result_row *row = &res->rows[i];

		if (row->kind == ROW_DNS)
			cell_step(&e, "dns", row->qname, &row->hop[KW_HOP_DNS]);
		else if (row->kind == ROW_KDC)
			cell_step(&e, "kdc", row->host, &row->hop[KW_HOP_KDC]);
		else if (row->kind == ROW_REGION) {
			cell_step(&e, "tgt", "tgt", &row->hop[KW_HOP_TGT]);
			cell_step(&e, "referral", "referral", &row->hop[KW_HOP_REFERRAL]);
		}
	}
	for (size_t i = 0; i < res->nrows; i++) {
		const struct result_row *row = &res->rows[i];
		char name[192];

		if (row->kind == ROW_REGION)
			held_step(&e, "referral", &row->hop[KW_HOP_REFERRAL]);
		if (row->kind != ROW_CLUSTER)
			continue;
		snprintf(name, sizeof name, "%.64s service_ticket", row->name);
		held_step(&e, name, &row->hop[KW_HOP_SERVICE_TICKET]);
		snprintf(name, sizeof name, "%.64s login", row->name);
		held_step(&e, name, &row->hop[KW_HOP_LOGIN]);
	}
	for (size_t i = 0; i < res->nrows; i++) {
		const struct result_row *row = &res->rows[i];

		switch (row->kind) {
		case ROW_CLUSTER: cluster_steps(&e, row); break;
		case ROW_ENDPOINT: reader_steps(&e, row); break;
		case ROW_INSTANCE: instance_steps(&e, row); break;
		case ROW_GLOBAL: global_steps(&e, row, region); break;
		default: break;
		}
	}
}

void
probe_step_print(FILE *fp, int colour, const char *kind, const char *name, enum kw_reason r,
    double secs, const char *detail)
{
	const char *means, *check;

	/* a hop held back with the TGT did not fail by itself: its words say why it did not run */
	if (strcmp(kind, "held") == 0) {
		fprintf(fp, "  %s  %-30s %8s     %s\n", colour ? "\033[33mheld\033[0m" : "held", name,
		    "", detail);
		return;
	}
	if (!colour)
		fprintf(fp, "  %s  ", r == KW_OK ? "ok  " : "FAIL");
	else
		fprintf(fp, "  %s  ", r == KW_OK ? "\033[32mok\033[0m  " : "\033[1;31mFAIL\033[0m");
	fprintf(fp, "%-30s %8.1f ms  %s\n", name, secs * 1000, detail);
	if (r == KW_OK)
		return;
	if ((means = explain_means(kind, r)) != NULL)
		fprintf(fp, "        %-30s %s: %s\n", "", reason_name(r), means);
	if ((check = explain_check(kind, r)) != NULL)
		fprintf(fp, "        %-30s check: %s\n", "", check);
}
