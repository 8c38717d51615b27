/*
 * A probe is testable by the record it returns: results built by hand, handed to the daemon's
 * one fan-out (daemon/results.c, the sink every job's probe_done() calls), and what a user then
 * sees: the kind's series on /metrics, the alert state (krbwatch_alert_firing), and the copy the
 * status page reads (results_last).  No probe runs, no server is asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "../conf/config.h"
#include "../daemon/alert.h"
#include "../daemon/daemon.h"
#include "../daemon/results.h"
#include "../daemon/sched.h"
#include "../lib/metrics.h"
#include "../probes/probe.h"
#include "unit.h"

extern const struct probe_ops probe_dns;
extern const struct probe_ops probe_kdc;
extern const struct probe_ops probe_chain;

static struct kwd d;

/* A series /metrics must (or, absent, must not) show: one TAP line, name, per row. */
struct series {
	const char *has, *also;	/* also: a second needle the same line needs, or NULL */
	int absent;
	const char *name;
};

static void
check_series(struct metrics *m, const struct series *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int seen = unit_rendered(m, w[i].has) && (w[i].also == NULL || unit_rendered(m, w[i].also));

		check(w[i].absent ? !unit_rendered(m, w[i].has) : seen, w[i].name);
	}
}
#define CHECK_SERIES(m, table) check_series((m), (table), sizeof(table) / sizeof((table)[0]))

static void
cell(struct hop_cell *c, enum kw_reason r, double s, const char *enctype, int kvno)
{
	c->ran = 1;
	c->reason = r;
	c->seconds = s;
	snprintf(c->detail, sizeof c->detail, "%s", r == KW_OK ? "fine" : "the KDC said no");
	snprintf(c->enctype, sizeof c->enctype, "%s", enctype);
	c->kvno = kvno;
}

/* The chain's record: the Region's shared hops, one cluster whose service ticket broke. */
static void
chain_result(struct probe_result *r, enum kw_reason service)
{
	struct result_row *row;

	memset(r, 0, sizeof *r);
	row = probe_result_add(r, ROW_REGION);
	snprintf(row->name, sizeof row->name, "t-1");
	cell(&row->hop[KW_HOP_TGT], KW_OK, 0.01, "aes256-cts", -1);
	cell(&row->hop[KW_HOP_REFERRAL], KW_OK, 0.02, "aes256-cts", 3);
	row = probe_result_add(r, ROW_CLUSTER);
	snprintf(row->name, sizeof row->name, "db-1");
	snprintf(row->cluster, sizeof row->cluster, "db-1");
	cell(&row->hop[KW_HOP_TGT], KW_OK, 0.01, "aes256-cts", -1);
	cell(&row->hop[KW_HOP_REFERRAL], KW_OK, 0.02, "aes256-cts", 3);
	cell(&row->hop[KW_HOP_SERVICE_TICKET], service, 0.03, service == KW_OK ? "aes256-cts" : "",
	    service == KW_OK ? 7 : -1);
	if (service == KW_OK) {
		cell(&row->hop[KW_HOP_LOGIN], KW_OK, 0.04, "", -1);
		snprintf(row->announced_spn, sizeof row->announced_spn, "mysql/db.t.test@T.TEST");
	}
	r->reason = service;
	snprintf(r->detail, sizeof r->detail, "%s", service == KW_OK ? "every hop of 1 cluster ok" :
	    "db-1 service_ticket: the KDC said no");
	snprintf(r->step, sizeof r->step, "%s", service == KW_OK ? "" : "db-1 service_ticket");
}

static void
chain_checks(const struct kw_config *c)
{
	static const struct series broken[] = {
		{ "krbwatch_hop_success{aws_region=\"t-1\",db_cluster=\"db-1\",hop=\"service_ticket\"} 0",
		    NULL, 0, "chain: the broken hop's krbwatch_hop_success is 0" },
		{ "krbwatch_hop_failures_total{aws_region=\"t-1\",db_cluster=\"db-1\","
		    "hop=\"service_ticket\",reason=\"principal_unknown\"} 1",
		    NULL, 0, "chain: ... counted with its reason" },
		{ "krbwatch_hop_success{aws_region=\"t-1\",db_cluster=\"db-1\",hop=\"login\"} 0",
		    NULL, 0, "chain: a hop that never ran did not succeed either" },
		{ "krbwatch_ticket_kvno{aws_region=\"t-1\",db_cluster=\"db-1\",hop=\"referral\"} 3",
		    NULL, 0, "chain: the referral's kvno" },
		{ "krbwatch_login_success{aws_region=\"t-1\",db_cluster=\"db-1\"} 0",
		    "krbwatch_region_auth_up{aws_region=\"t-1\"} 0", 0,
		    "chain: the cluster's login and the Region are down" },
		{ "krbwatch_alert_firing{aws_region=\"t-1\",db_cluster=\"db-1\"} 1",
		    "krbwatch_alert_firing{aws_region=\"t-1\",db_cluster=\"\"} 1", 0,
		    "chain: the cluster's and the Region's alert fire (after_failures 1)" },
	};
	static const struct series good[] = {
		{ "krbwatch_region_auth_up{aws_region=\"t-1\"} 1",
		    "krbwatch_alert_firing{aws_region=\"t-1\",db_cluster=\"db-1\"} 0", 0,
		    "chain: a good run brings the Region up and resolves the alert" },
		{ "krbwatch_login_announced_spn_info{aws_region=\"t-1\",db_cluster=\"db-1\","
		    "spn=\"mysql/db.t.test@T.TEST\",realm=\"\"} 1", NULL, 0, "chain: the announced SPN" },
	};
	struct probe_job j;
	struct probe_result r;
	const struct probe_result *last;

	unit_job(&j, &probe_chain, &d, c);
	check(results_last(&j) == NULL, "results_last: NULL before the first run ended");
	chain_result(&r, KW_R_PRINCIPAL_UNKNOWN);
	probe_done(&j, &r);
	check(!j.running, "probe_done through the sink ends the job's run");
	CHECK_SERIES(d.metrics, broken);
	last = results_last(&j);
	check(last != NULL && last != &r && last->nrows == 2 && last->rows != r.rows &&
	    strcmp(last->rows[1].hop[KW_HOP_SERVICE_TICKET].detail, "the KDC said no") == 0,
	    "results_last: the daemon's own copy of the rows");
	check(strcmp(j.step, "db-1 service_ticket") == 0 && j.reason == KW_R_PRINCIPAL_UNKNOWN,
	    "the job's verdict and step for STATUS= come from the result");
	probe_result_free(&r);

	j.running = 1;
	chain_result(&r, KW_OK);
	probe_done(&j, &r);
	probe_result_free(&r);
	CHECK_SERIES(d.metrics, good);
	last = results_last(&j);
	check(last != NULL && last->reason == KW_OK && last->rows[1].hop[KW_HOP_LOGIN].ran,
	    "results_last: the last run's copy replaces the one before");
	sched_job_release(&j);
}

/* A KDC endpoint's row of realm T.TEST on port 88, answered in seconds. */
static struct result_row *
kdc_row(struct probe_result *r, const char *host, const char *proto, double seconds)
{
	struct result_row *row = probe_result_add(r, ROW_KDC);

	snprintf(row->realm, sizeof row->realm, "T.TEST");
	snprintf(row->host, sizeof row->host, "%s", host);
	snprintf(row->proto, sizeof row->proto, "%s", proto);
	row->port = 88;
	row->rtt = seconds;
	cell(&row->hop[KW_HOP_KDC], KW_OK, seconds, "", -1);
	return row;
}

static void
kdc_dns_checks(const struct kw_config *c)
{
	static const struct series kdc[] = {
		{ "krbwatch_kdc_up{aws_region=\"t-1\",realm=\"T.TEST\",kdc=\"10.0.1.10\","
		    "proto=\"udp\",port=\"88\"} 1", NULL, 0, "kdc: the endpoint's krbwatch_kdc_up" },
		{ "krbwatch_kdc_rtt_seconds{aws_region=\"t-1\",realm=\"T.TEST\",kdc=\"10.0.1.10\","
		    "proto=\"udp\",port=\"88\"} 0.25", NULL, 0, "kdc: ... its round trip" },
		{ "krbwatch_kdc_clock_skew_seconds{aws_region=\"t-1\",realm=\"T.TEST\",kdc=\"10.0.1.10\"} -2",
		    NULL, 0, "kdc: ... its clock" },
	}, kdc_gone[] = {
		{ "krbwatch_kdc_up{aws_region=\"t-1\"", NULL, 1, "kdc: a run without the KDC drops it" },
	}, dns[] = {
		{ "krbwatch_dns_lookup_success{aws_region=\"t-1\",resolver=\"127.0.0.1:53\","
		    "name=\"_kerberos._udp.t.test\",rrtype=\"SRV\"} 0", NULL, 0, "dns: the lookup's success" },
		{ "krbwatch_dns_lookup_failures_total{aws_region=\"t-1\",resolver=\"127.0.0.1:53\","
		    "name=\"_kerberos._udp.t.test\",rrtype=\"SRV\",reason=\"no_records\"} 1",
		    NULL, 0, "dns: ... its failure with the reason" },
		{ "krbwatch_alert_firing{aws_region=\"t-1\",db_cluster=\"\"} 1", NULL, 1,
		    "dns: a kind without alerts feeds no alert state" },
	};
	struct probe_job j;
	struct probe_result r;
	struct result_row *row;

	unit_job(&j, &probe_kdc, &d, c);
	memset(&r, 0, sizeof r);
	row = kdc_row(&r, "10.0.1.10", "udp", 0.25);
	row->has_clock_skew = 1;
	row->clock_skew = -2;
	probe_done(&j, &r);
	CHECK_SERIES(d.metrics, kdc);
	probe_result_free(&r);
	/* the next run does not name it: no stale "up" */
	j.running = 1;
	memset(&r, 0, sizeof r);
	probe_done(&j, &r);
	CHECK_SERIES(d.metrics, kdc_gone);
	sched_job_release(&j);

	unit_job(&j, &probe_dns, &d, c);
	memset(&r, 0, sizeof r);
	row = probe_result_add(&r, ROW_DNS);
	snprintf(row->qname, sizeof row->qname, "_kerberos._udp.t.test");
	snprintf(row->rrtype, sizeof row->rrtype, "SRV");
	cell(&row->hop[KW_HOP_DNS], KW_R_NO_RECORDS, 0.5, "", -1);
	snprintf(row->hop[KW_HOP_DNS].addr, sizeof row->hop[KW_HOP_DNS].addr, "127.0.0.1:53");
	probe_done(&j, &r);
	probe_result_free(&r);
	CHECK_SERIES(d.metrics, dns);
	sched_job_release(&j);
}

/*
 * Two registries in one process (krbwatch probe beside a daemon's, a test's two): a result goes
 * to its own job's registry.  The kinds' families used to be statics of the probes, pointing at
 * whichever registry registered last (and dangling once it was freed).
 */
static void
two_registries(const struct kw_config *c)
{
	static const struct series own[] = {
		{ "krbwatch_kdc_up{aws_region=\"t-1\",realm=\"T.TEST\",kdc=\"10.0.1.11\",proto=\"tcp\","
		    "port=\"88\"} 1", NULL, 0, "two registries: the job's own registry has its KDC's series" },
	}, not_other[] = {
		{ "kdc=\"10.0.1.11\"", NULL, 1, "two registries: ... and the one registered last has not" },
	};
	struct kwd other = { 0 };
	struct probe_job j;
	struct probe_result r;

	other.base = d.base;
	other.stopping = 1;
	daemon_register_metrics(&other);
	unit_job(&j, &probe_kdc, &d, c);
	memset(&r, 0, sizeof r);
	kdc_row(&r, "10.0.1.11", "tcp", 0.1);
	probe_done(&j, &r);
	probe_result_free(&r);
	CHECK_SERIES(d.metrics, own);
	CHECK_SERIES(other.metrics, not_other);
	sched_job_release(&j);
	metrics_free(other.metrics);
}

int
main(void)
{
	char dir[200], path[300], keytab[300];
	struct kw_config *c;

	if (unit_mkdtemp(dir, sizeof dir, "unit_results") == NULL)
		return 1;
	snprintf(keytab, sizeof keytab, "%s/k.keytab", dir);
	unit_write_file(keytab, "x");
	chmod(keytab, 0600);
	snprintf(path, sizeof path, "%s/c.yml", dir);
	unit_write_file(path,
	    "identity: { principal: m@T.TEST, keytab: k.keytab }\n"
	    "alerts: { after_failures: 1 }\n"
	    "realms:\n"
	    "  T.TEST: { domain: t.test, kdcs: [10.0.1.10] }\n"
	    "  DB.TEST: { domain: db.test }\n"
	    "regions:\n"
	    "  t-1:\n"
	    "    resolvers: [127.0.0.1]\n"
	    "    clusters:\n"
	    "      - { name: db-1, engine: mysql, host: h.db.test, user: m, tls: { mode: disable } }\n");
	if ((c = unit_config_load(path)) == NULL)
		return 1;
	d.base = event_base_new();
	d.stopping = 1;		/* no STATUS= */
	daemon_register_metrics(&d);
	d.alerts = alerts_new(d.base, d.metrics, c);
	chain_checks(c);
	kdc_dns_checks(c);
	two_registries(c);
	alerts_free(d.alerts);
	metrics_free(d.metrics);
	config_free(c);
	event_base_free(d.base);
	unlink(keytab);
	unlink(path);
	rmdir(dir);
	return failed;
}
