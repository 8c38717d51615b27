/* The DNS probe's series, from its result: one row per lookup (a resolver and a question). */
#include <stddef.h>

#include "../lib/metrics.h"
#include "../probes/probe.h"
#include "kind_metrics.h"

static void
lookup_series(struct kind_metrics *km, const char *region, const struct result_row *row,
    const struct hop_cell *c)
{
	const char *v[5] = { region, c->addr, row->qname, row->rrtype, reason_name(c->reason) };

	mfamily_set(km->dns.success, v, c->reason == KW_OK ? 1 : 0);
	mfamily_set(km->dns.duration, v, c->seconds);
	mfamily_set(km->dns.records, v, (double)row->records);
	if (c->reason != KW_OK)
		mfamily_add(km->dns.failures, v, 1);
}

void
metrics_dns_write(struct kind_metrics *km, const struct probe_job *j, const struct probe_result *r)
{
	kind_gauges_fresh(j->region->name, km->dns.success, km->dns.duration, km->dns.records);
	kind_rows_ran(km, j->region->name, r, ROW_DNS, KW_HOP_DNS, lookup_series);
}
