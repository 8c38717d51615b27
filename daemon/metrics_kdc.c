/* The KDC probe's series, from its result: one row per KDC endpoint (host, transport, port). */
#include <stdio.h>

#include "../lib/metrics.h"
#include "../probes/probe.h"
#include "kind_metrics.h"

static void
target_series(struct kind_metrics *km, const char *region, const struct result_row *row,
    const struct hop_cell *c)
{
	char port[8];

	snprintf(port, sizeof port, "%u", row->port);
	const char *v[] = { region, row->realm, row->host, row->proto, port,
	    reason_name(c->reason) };
	mfamily_set(km->kdc.up, v, c->reason == KW_OK);
	if (c->reason == KW_OK)
		mfamily_set(km->kdc.rtt, v, row->rtt);
	else
		mfamily_add(km->kdc.failures, v, 1);
}

/*
 * KDCs may come and go (SRV records, reload): the gauges show this run's set only.  One clock
 * sample per KDC: UDP's reply if there was one, else TCP's.
 */
void
metrics_kdc_write(struct kind_metrics *km, const struct probe_job *j, const struct probe_result *r)
{
	const char *region = j->region->name;

	kind_gauges_fresh(region, km->kdc.up, km->kdc.rtt, km->kdc.skew);
	kind_rows_ran(km, region, r, ROW_KDC, KW_HOP_KDC, target_series);
	for (size_t i = 0; i < r->nrows; i++) {
		const struct result_row *row = &r->rows[i];
		const char *s[] = { region, row->realm, row->host };
		double old;

		if (row->kind != ROW_KDC || !row->has_clock_skew)
			continue;
		if (row->proto[0] == 't' && mfamily_get(km->kdc.skew, s, &old))
			continue;
		mfamily_set(km->kdc.skew, s, row->clock_skew);
	}
}
