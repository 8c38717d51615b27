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

void
metrics_chain_init(struct kind_metrics *km, struct metrics *reg)
{
	static const char *const hop_l[] = { "aws_region", "db_cluster", "hop" };
	static const char *const fail_l[] = { "aws_region", "db_cluster", "hop", "reason" };
	static const char *const enc_l[] = { "aws_region", "db_cluster", "hop", "enctype" };
	static const char *const cl_l[] = { "aws_region", "db_cluster" };
	static const char *const r_l[] = { "aws_region" };
	static const char *const ann_l[] = { "aws_region", "db_cluster", "spn", "realm" };

	const struct mfamily_spec spec[] = {
		{ &km->chain.success, "krbwatch_hop_success",
		    "Whether the hop of the login path succeeded in the last run (tgt, referral, service_ticket, login).",
		    METRIC_GAUGE, 3, hop_l },
		{ &km->chain.duration, "krbwatch_hop_duration_seconds",
		    "How long the hop took in the last run.",
		    METRIC_GAUGE, 3, hop_l },
		{ &km->chain.last_success, "krbwatch_hop_last_success_timestamp_seconds",
		    "When the hop last succeeded, in seconds since the epoch.",
		    METRIC_GAUGE, 3, hop_l },
		{ &km->chain.failures, "krbwatch_hop_failures_total",
		    "Failed hops, by reason.",
		    METRIC_COUNTER, 4, fail_l },
		{ &km->chain.enctype, "krbwatch_ticket_enctype_info",
		    "The encryption type of the ticket a hop obtained; arcfour-hmac (RC4) is a warning sign.",
		    METRIC_GAUGE, 4, enc_l },
		{ &km->chain.kvno, "krbwatch_ticket_kvno",
		    "The key version number of the ticket a hop obtained; Regions that differ for the referral missed a trust key rotation.",
		    METRIC_GAUGE, 3, hop_l },
		{ &km->chain.login_success, "krbwatch_login_success",
		    "Whether the Kerberos login to the cluster succeeded in the last run.",
		    METRIC_GAUGE, 2, cl_l },
		{ &km->chain.region_up, "krbwatch_region_auth_up",
		    "1 when every cluster of the Region could be logged in to with Kerberos in the last run.",
		    METRIC_GAUGE, 1, r_l },
		{ &km->chain.backoff, "krbwatch_identity_backoff_seconds",
		    "Seconds until the monitoring identity may send an AS exchange again: held back after preauth_failed or client_revoked, or its identity.max_failed_attempts spent (0: not held back).",
		    METRIC_GAUGE, 0, NULL },
		{ &km->chain.announced, "krbwatch_login_announced_spn_info",
		    "The service principal (and, for MySQL authentication_kerberos, the realm) the database server announced in its last login.",
		    METRIC_GAUGE, 4, ann_l },
	};

	metrics_families(reg, spec, sizeof spec / sizeof spec[0]);
	mfamily_set(km->chain.backoff, NULL, 0);
	metrics_endpoints_init(km, reg);
}

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
