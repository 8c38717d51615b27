/* The DNS probe's series, from its result: one row per lookup (a resolver and a question). */
#include <stddef.h>

#include "../lib/metrics.h"
#include "../probes/probe.h"
#include "kind_metrics.h"


/*
 * The Region's gauges are dropped and written again in one go (no scrape can come in between
 * on this one thread), so that a resolver or a name that a reload took away does not linger,
 * and a run without rows (it could not start) leaves none of an earlier run's.
 */
void
metrics_dns_write(struct kind_metrics *km, const struct probe_job *j, const struct probe_result *r)
{
	const char *region = j->region->name;
	const char *match[4] = { region, NULL, NULL, NULL };

	mfamily_drop_match(km->dns.success, match);
	mfamily_drop_match(km->dns.duration, match);
	mfamily_drop_match(km->dns.records, match);
	for (size_t i = 0; i < r->nrows; i++) {
		const struct result_row *row = &r->rows[i];
		const struct hop_cell *c = &row->hop[KW_HOP_DNS];
		const char *v[5] = { region, c->addr, row->qname, row->rrtype, reason_name(c->reason) };

		if (row->kind != ROW_DNS || !c->ran)
			continue;
		mfamily_set(km->dns.success, v, c->reason == KW_OK ? 1 : 0);
		mfamily_set(km->dns.duration, v, c->seconds);
		mfamily_set(km->dns.records, v, (double)row->records);
		if (c->reason != KW_OK)
			mfamily_add(km->dns.failures, v, 1);
	}
}
