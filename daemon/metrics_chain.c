/*
 * The chain probe's series, from its result: a ROW_REGION row (the shared hops) and one
 * ROW_CLUSTER row per cluster with every hop of its path.
 */
#include <stddef.h>
#include <time.h>

#include "../lib/metrics.h"
#include "../probes/lockout.h"
#include "../probes/probe.h"
#include "kind_metrics.h"


static void
hop_series(struct kind_metrics *km, const char *region, const char *cluster, enum kw_hop hop,
    const struct hop_cell *h)
{
	const char *v[3] = { region, cluster, hop_name(hop) };

	mfamily_set(km->chain.success, v, h->ran && h->reason == KW_OK);
	if (h->ran)
		mfamily_set(km->chain.duration, v, h->seconds);
	if (h->ran && h->reason == KW_OK)
		mfamily_set(km->chain.last_success, v, (double)time(NULL));
	if (h->ran && h->reason != KW_OK) {
		const char *f[4] = { region, cluster, hop_name(hop), reason_name(h->reason) };
		mfamily_add(km->chain.failures, f, 1);
	}
	if (h->ran && h->reason == KW_OK && h->kvno >= 0 && hop != KW_HOP_TGT) {
		const char *any[4] = { region, cluster, hop_name(hop), NULL };
		const char *e[4] = { region, cluster, hop_name(hop), h->enctype };
		double old;
		if (!mfamily_get(km->chain.enctype, e, &old))
			mfamily_drop_match(km->chain.enctype, any);
		mfamily_set(km->chain.enctype, e, 1);
		mfamily_set(km->chain.kvno, v, h->kvno);
	}
}

/* One series per cluster: what the server said last (Aurora's SPN form is undocumented). */
static void
announced_series(struct kind_metrics *km, const char *region, const struct result_row *row)
{
	const char *any[4] = { region, row->cluster, NULL, NULL };
	const char *v[4] = { region, row->cluster, row->announced_spn, row->announced_realm };
	double old;

	if (row->announced_spn[0] == '\0')
		return;
	if (!mfamily_get(km->chain.announced, v, &old))
		mfamily_drop_match(km->chain.announced, any);
	mfamily_set(km->chain.announced, v, 1);
}

/* krbwatch_identity_backoff_seconds as the lockout budget says now (a run's end, a reload). */
void
metrics_chain_identity(struct kind_metrics *km)
{
	mfamily_set(km->chain.backoff, NULL, lockout_backoff_seconds());
}

/* A run without rows (it could not start) writes nothing. */
void
metrics_chain_write(struct kind_metrics *km, const struct probe_job *j,
    const struct probe_result *r)
{
	const char *region = j->region->name;
	const char *rv[1] = { region };
	size_t nclusters = 0;
	int all_login = 1;

	if (r->nrows == 0)
		return;
	metrics_chain_identity(km);
	for (size_t i = 0; i < r->nrows; i++) {
		const struct result_row *row = &r->rows[i];
		const char *lv[2] = { region, row->cluster };
		int ok = row->hop[KW_HOP_LOGIN].ran && row->hop[KW_HOP_LOGIN].reason == KW_OK;

		if (row->kind != ROW_CLUSTER)
			continue;
		nclusters++;
		for (int h = KW_HOP_TGT; h <= KW_HOP_LOGIN; h++)
			hop_series(km, region, row->cluster, (enum kw_hop)h, &row->hop[h]);
		mfamily_set(km->chain.login_success, lv, ok);
		all_login &= ok;
		announced_series(km, region, row);
	}
	mfamily_set(km->chain.region_up, rv, nclusters > 0 ? all_login : r->reason == KW_OK);
	metrics_endpoints_write(km, j, r);
}
