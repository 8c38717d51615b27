/*
 * Which series each probe kind has: its families in the one table below, and one row per kind,
 * keyed by the kind's name (the `probe` label), for writing them.  A new kind with series of its
 * own is its rows in the table, a daemon/metrics_NAME.c and a row in kinds[].
 */
#include <stddef.h>
#include <string.h>

#include "../lib/metrics.h"
#include "../probes/probe.h"
#include "kind_metrics.h"

static const char *const dns_l[] = { "aws_region", "resolver", "name", "rrtype" };
static const char *const dns_lf[] = { "aws_region", "resolver", "name", "rrtype", "reason" };
static const char *const kdc_ep_l[] = { "aws_region", "realm", "kdc", "proto", "port" };
static const char *const kdc_fail_l[] = { "aws_region", "realm", "kdc", "proto", "port", "reason" };
static const char *const kdc_skew_l[] = { "aws_region", "realm", "kdc" };
static const char *const chain_hop_l[] = { "aws_region", "db_cluster", "hop" };
static const char *const chain_fail_l[] = { "aws_region", "db_cluster", "hop", "reason" };
static const char *const chain_enc_l[] = { "aws_region", "db_cluster", "hop", "enctype" };
static const char *const chain_cl_l[] = { "aws_region", "db_cluster" };
static const char *const chain_r_l[] = { "aws_region" };
static const char *const chain_ann_l[] = { "aws_region", "db_cluster", "spn", "realm" };
static const char *const endpoints_inst_l[] = { "aws_region", "db_cluster", "db_instance",
    "address" };
static const char *const endpoints_fail_l[] = { "aws_region", "db_cluster", "db_instance", "address",
    "reason" };
static const char *const endpoints_cl_l[] = { "aws_region", "db_cluster" };
static const char *const endpoints_info_l[] = { "global_db", "aws_region", "writer_cluster",
    "writer_region" };
static const char *const endpoints_g_l[] = { "global_db", "aws_region" };

/*
 * Every kind's families, the names and labels that are a contract, in one table: in
 * probe_table's order (dns, kdc, chain, the chain's endpoints), as /metrics always listed them.
 */
void
kind_metrics_init(struct kind_metrics *km, struct metrics *reg)
{
	const struct mfamily_spec spec[] = {
		/* dns */
		{ &km->dns.success, "krbwatch_dns_lookup_success",
		    "Whether the last lookup of a name through one of the Region's resolvers succeeded (1) or not (0). AAAA without records counts as success; a name needs A or AAAA.",
		    METRIC_GAUGE, 4, dns_l },
		{ &km->dns.duration, "krbwatch_dns_lookup_duration_seconds",
		    "How long the last lookup of a name through one of the Region's resolvers took.",
		    METRIC_GAUGE, 4, dns_l },
		{ &km->dns.records, "krbwatch_dns_lookup_records",
		    "How many records of the asked type the last lookup returned.",
		    METRIC_GAUGE, 4, dns_l },
		{ &km->dns.failures, "krbwatch_dns_lookup_failures_total",
		    "Lookups that failed, by Region, resolver, name, record type and reason.",
		    METRIC_COUNTER, 5, dns_lf },
		/* kdc */
		{ &km->kdc.up, "krbwatch_kdc_up",
		    "1 when the KDC answered at the protocol level in the last run (port 88: KRB-ERROR or AS-REP to an AS-REQ; 464: a kpasswd reply).",
		    METRIC_GAUGE, 5, kdc_ep_l },
		{ &km->kdc.rtt, "krbwatch_kdc_rtt_seconds",
		    "Round-trip time of the last answer, from the first send (UDP resends included).",
		    METRIC_GAUGE, 5, kdc_ep_l },
		{ &km->kdc.skew, "krbwatch_kdc_clock_skew_seconds",
		    "The KDC's clock minus ours, from the time in its KRB-ERROR on port 88 (good to about 1 s with MIT 1.20).",
		    METRIC_GAUGE, 3, kdc_skew_l },
		{ &km->kdc.failures, "krbwatch_kdc_failures_total",
		    "KDC probes that got no protocol answer, by reason.",
		    METRIC_COUNTER, 6, kdc_fail_l },
		/* chain */
		{ &km->chain.success, "krbwatch_hop_success",
		    "Whether the hop of the login path succeeded in the last run (tgt, referral, service_ticket, login).",
		    METRIC_GAUGE, 3, chain_hop_l },
		{ &km->chain.duration, "krbwatch_hop_duration_seconds",
		    "How long the hop took in the last run.",
		    METRIC_GAUGE, 3, chain_hop_l },
		{ &km->chain.last_success, "krbwatch_hop_last_success_timestamp_seconds",
		    "When the hop last succeeded, in seconds since the epoch.",
		    METRIC_GAUGE, 3, chain_hop_l },
		{ &km->chain.failures, "krbwatch_hop_failures_total",
		    "Failed hops, by reason.",
		    METRIC_COUNTER, 4, chain_fail_l },
		{ &km->chain.enctype, "krbwatch_ticket_enctype_info",
		    "The encryption type of the ticket a hop obtained; arcfour-hmac (RC4) is a warning sign.",
		    METRIC_GAUGE, 4, chain_enc_l },
		{ &km->chain.kvno, "krbwatch_ticket_kvno",
		    "The key version number of the ticket a hop obtained; Regions that differ for the referral missed a trust key rotation.",
		    METRIC_GAUGE, 3, chain_hop_l },
		{ &km->chain.login_success, "krbwatch_login_success",
		    "Whether the Kerberos login to the cluster succeeded in the last run.",
		    METRIC_GAUGE, 2, chain_cl_l },
		{ &km->chain.region_up, "krbwatch_region_auth_up",
		    "1 when every cluster of the Region could be logged in to with Kerberos in the last run.",
		    METRIC_GAUGE, 1, chain_r_l },
		{ &km->chain.backoff, "krbwatch_identity_backoff_seconds",
		    "Seconds until the monitoring identity may send an AS exchange again: held back after preauth_failed or client_revoked, or its identity.max_failed_attempts spent (0: not held back).",
		    METRIC_GAUGE, 0, NULL },
		{ &km->chain.announced, "krbwatch_login_announced_spn_info",
		    "The service principal (and, for MySQL authentication_kerberos, the realm) the database server announced in its last login.",
		    METRIC_GAUGE, 4, chain_ann_l },
		/* endpoints */
		{ &km->endpoints.inst_success, "krbwatch_reader_instance_login_success",
		    "Whether the Kerberos login to this address of the cluster's reader endpoint (an instance behind it) succeeded in the last run.",
		    METRIC_GAUGE, 4, endpoints_inst_l },
		{ &km->endpoints.inst_failures, "krbwatch_reader_instance_login_failures_total",
		    "Failed Kerberos logins to this address of the cluster's reader endpoint, by reason: one per run while the instance refuses them.",
		    METRIC_COUNTER, 5, endpoints_fail_l },
		{ &km->endpoints.addrs, "krbwatch_reader_endpoint_addresses",
		    "How many addresses the cluster's reader endpoint resolved to through the Region's resolvers in the last run.",
		    METRIC_GAUGE, 2, endpoints_cl_l },
		{ &km->endpoints.info, "krbwatch_global_writer_info",
		    "The member cluster (and its Region) that the global writer endpoint leads to through aws_region's resolvers: where the writer is, as seen from there.",
		    METRIC_GAUGE, 4, endpoints_info_l },
		{ &km->endpoints.dns_success, "krbwatch_global_writer_dns_success",
		    "Whether the global writer endpoint resolved, through this Region's resolvers, to the cluster endpoint of a member cluster.",
		    METRIC_GAUGE, 2, endpoints_g_l },
		{ &km->endpoints.changes, "krbwatch_global_writer_changes_total",
		    "Times the writer seen from this Region moved to another member cluster (switchover or failover).",
		    METRIC_COUNTER, 2, endpoints_g_l },
		{ &km->endpoints.changed, "krbwatch_global_writer_changed_timestamp_seconds",
		    "When the writer seen from this Region last moved (or was first seen), in seconds since the epoch.",
		    METRIC_GAUGE, 2, endpoints_g_l },
		{ &km->endpoints.ttl, "krbwatch_global_writer_dns_ttl_seconds",
		    "The TTL of the global writer endpoint's answer (its CNAMEs included) through this Region's resolvers.",
		    METRIC_GAUGE, 2, endpoints_g_l },
		{ &km->endpoints.login, "krbwatch_global_login_success",
		    "Whether the Kerberos login through the global writer endpoint, from this Region, as its users make it, succeeded in the last run.",
		    METRIC_GAUGE, 2, endpoints_g_l },
		{ &km->endpoints.secondary, "krbwatch_global_secondary_auth_success",
		    "For a secondary Region (a member that does not hold the writer): 1 when a failover to it now would let users authenticate, i.e. its chain and the login to its member cluster succeeded in the last run.",
		    METRIC_GAUGE, 2, endpoints_g_l },
	};

	metrics_families(reg, spec, sizeof spec / sizeof spec[0]);
	mfamily_set(km->chain.backoff, NULL, 0);
}

static const struct {
	const char *kind;
	void (*write)(struct kind_metrics *, const struct probe_job *, const struct probe_result *);
} kinds[] = {
	{ "dns", metrics_dns_write },
	{ "kdc", metrics_kdc_write },
	{ "chain", metrics_chain_write },
};

void
kind_gauges_drop(const char *region, struct mfamily *const *gauges, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mfamily_drop(gauges[i], "aws_region", region);
}

void
kind_rows_ran(struct kind_metrics *km, const char *region, const struct probe_result *r,
    enum row_kind kind, enum kw_hop hop, kind_row_fn *fn)
{
	for (size_t i = 0; i < r->nrows; i++)
		if (r->rows[i].kind == kind && r->rows[i].hop[hop].ran)
			fn(km, region, &r->rows[i], &r->rows[i].hop[hop]);
}

void
kind_metrics_write(struct kind_metrics *km, const struct probe_job *j,
    const struct probe_result *r)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(kinds[i].kind, j->ops->name) == 0) {
			kinds[i].write(km, j, r);
			return;
		}
}
