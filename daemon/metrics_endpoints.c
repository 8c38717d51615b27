/*
 * The series of Aurora's endpoints, from the chain's rows (probes/chain_endpoints.c): each
 * address behind a reader endpoint (ROW_ENDPOINT, ROW_INSTANCE) and each global writer
 * endpoint as a Region sees it (ROW_GLOBAL).  The labels are names from the configuration and
 * from its endpoints' DNS (instances, addresses), never free text.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/metrics.h"
#include "../lib/xmalloc.h"
#include "../probes/probe.h"
#include "kind_metrics.h"

/*
 * The writer each (global database, Region) named last, to count its moves.  Bounded by the
 * configuration; it lives as long as the process, as the counters it feeds.
 */
static struct writer_seen {
	char key[256];
	char writer[128];
} *seen;
static size_t nseen;


/* The cell of a login row that broke (its service ticket, else its login), NULL if none. */
static const struct hop_cell *
broken(const struct result_row *row)
{
	const struct hop_cell *st = &row->hop[KW_HOP_SERVICE_TICKET], *lg = &row->hop[KW_HOP_LOGIN];

	if (st->ran && st->reason != KW_OK)
		return st;
	if (lg->ran && lg->reason != KW_OK)
		return lg;
	return NULL;
}

/* One reader endpoint: its addresses, then every address logged in to this run. */
static void
reader_series(struct kind_metrics *km, const char *region, const struct probe_result *r,
    const struct result_row *ep)
{
	const char *any[4] = { region, ep->cluster, NULL, NULL };
	const char *cv[2] = { region, ep->cluster };
	const struct hop_cell *dns = &ep->hop[KW_HOP_DNS];

	mfamily_set(km->endpoints.addrs, cv, dns->reason == KW_OK ? (double)ep->records : 0);
	/* an address the endpoint no longer gives (or that was not tried) has no series */
	mfamily_drop_match(km->endpoints.inst_success, any);
	for (size_t i = 0; i < r->nrows; i++) {
		const struct result_row *row = &r->rows[i];
		const struct hop_cell *bad = broken(row);

		if (row->kind != ROW_INSTANCE || strcmp(row->cluster, ep->cluster) != 0 ||
		    (!row->hop[KW_HOP_LOGIN].ran && bad == NULL))
			continue;
		const char *v[4] = { region, ep->cluster, row->instance, row->hop[KW_HOP_LOGIN].addr };
		mfamily_set(km->endpoints.inst_success, v, bad == NULL);
		if (bad != NULL) {
			const char *f[5] = { v[0], v[1], v[2], v[3], reason_name(bad->reason) };
			mfamily_add(km->endpoints.inst_failures, f, 1);
		}
	}
}

/* Counts a move of the writer seen from region. */
static void
writer_seen(struct kind_metrics *km, const char *g, const char *region, const char *writer)
{
	const char *v[2] = { g, region };
	char key[256];
	size_t i;

	snprintf(key, sizeof key, "%s\037%s", g, region);
	for (i = 0; i < nseen && strcmp(seen[i].key, key) != 0; i++)
		;
	if (i == nseen) {
		seen = xreallocarray(seen, nseen + 1, sizeof *seen);
		snprintf(seen[nseen].key, sizeof seen[0].key, "%s", key);
		seen[nseen++].writer[0] = '\0';
		mfamily_add(km->endpoints.changes, v, 0);
	}
	if (strcmp(seen[i].writer, writer) == 0)
		return;
	if (seen[i].writer[0] != '\0')
		mfamily_add(km->endpoints.changes, v, 1);
	snprintf(seen[i].writer, sizeof seen[0].writer, "%s", writer);
	mfamily_set(km->endpoints.changed, v, (double)time(NULL));
}

/* One global writer endpoint as region sees it. */
static void
global_series(struct kind_metrics *km, const char *region, const struct result_row *row)
{
	const char *gr[2] = { row->name, region }, *any[4] = { row->name, region, NULL, NULL };
	const struct hop_cell *lg = &row->hop[KW_HOP_LOGIN];
	double old;

	if (row->writer[0] != '\0') {
		const char *v[4] = { row->name, region, row->writer, row->writer_region };

		if (!mfamily_get(km->endpoints.info, v, &old))
			mfamily_drop_match(km->endpoints.info, any);
		mfamily_set(km->endpoints.info, v, 1);
		mfamily_set(km->endpoints.ttl, gr, row->ttl);
		writer_seen(km, row->name, region, row->writer);
	} else {
		mfamily_drop_match(km->endpoints.info, any);
	}
	mfamily_set(km->endpoints.dns_success, gr, row->writer[0] != '\0');
	if (row->writer[0] == '\0' && row->hop[KW_HOP_DNS].ran)
		mfamily_set(km->endpoints.login, gr, 0);	/* users' connections lead nowhere */
	else if (row->hop[KW_HOP_SERVICE_TICKET].ran || lg->ran)
		mfamily_set(km->endpoints.login, gr, broken(row) == NULL && lg->ran);
	else
		mfamily_drop_match(km->endpoints.login, gr);	/* not tried: the chain broke first */
	if (row->failover_ready < 0)
		mfamily_drop_match(km->endpoints.secondary, gr);
	else
		mfamily_set(km->endpoints.secondary, gr, row->failover_ready);
}

void
metrics_endpoints_write(struct kind_metrics *km, const struct probe_job *j,
    const struct probe_result *r)
{
	for (size_t i = 0; i < r->nrows; i++) {
		if (r->rows[i].kind == ROW_ENDPOINT)
			reader_series(km, j->region->name, r, &r->rows[i]);
		else if (r->rows[i].kind == ROW_GLOBAL)
			global_series(km, j->region->name, &r->rows[i]);
	}
}
