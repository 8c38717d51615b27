/*
 * How a run ends, for the probe kinds that talk to resolvers and KDCs: a job is started by
 * hand against a resolver that never answers (a bound UDP socket nobody reads), and ended the
 * two ways the scheduler ends it.
 *   expire (the deadline): the run ends in probe_done with "timeout", and what was still
 *          unanswered is published as down with reason timeout: no stale krbwatch_kdc_up
 *          from a previous run, every DNS lookup with its series.
 *   cancel (a reload, a shutdown): nothing is published and probe_done is not called, even
 *          when the clock says the deadline is near.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "../conf/config.h"
#include "../daemon/daemon.h"
#include "../daemon/results.h"
#include "../daemon/sched.h"
#include "../lib/metrics.h"
#include "../probes/probe.h"
#include "unit.h"

extern const struct probe_ops probe_dns;
extern const struct probe_ops probe_kdc;

static struct kwd d;

static void
job_start(struct probe_job *j, const struct probe_ops *ops, const struct kw_config *c)
{
	unit_job(j, ops, &d, c);
	if (ops->start(j) == -1) {
		fprintf(stderr, "%s: start failed\n", ops->name);
		exit(1);
	}
	/* let the queries leave */
	for (int i = 0; i < 5; i++)
		event_base_loop(d.base, EVLOOP_NONBLOCK);
}

int
main(void)
{
	char dir[200], path[300], keytab[300], yml[1024];
	struct kw_config *c;
	struct probe_job j;
	uint16_t port;
	int fd;

	if (unit_mkdtemp(dir, sizeof dir, "unit_probe_end") == NULL) {
		perror("mkdtemp");
		return 1;
	}
	fd = unit_udp_socket(&port);	/* a resolver that never answers */
	snprintf(keytab, sizeof keytab, "%s/k.keytab", dir);
	unit_write_file(keytab, "x");
	chmod(keytab, 0600);
	snprintf(path, sizeof path, "%s/c.yml", dir);
	snprintf(yml, sizeof yml,
	    "timeout: 2s\n"
	    "identity: { principal: m@T.TEST, keytab: k.keytab }\n"
	    "realms:\n"
	    "  T.TEST: { domain: t.test, kdcs: [kdc.silent.test] }\n"
	    "regions:\n"
	    "  t-1:\n"
	    "    resolvers: [\"127.0.0.1:%u\"]\n", port);
	unit_write_file(path, yml);
	if ((c = unit_config_load(path)) == NULL)
		return 1;
	d.base = event_base_new();
	d.stopping = 1;		/* no STATUS=, no sd_notify from probe_done */
	daemon_register_metrics(&d);

	/* the KDC probe at its deadline, its one KDC still being resolved */
	job_start(&j, &probe_kdc, c);
	check(j.running, "kdc: the run waits on the silent resolver");
	check(probe_kdc.expire != NULL, "kdc: the probe has an expire (the deadline ends it itself)");
	if (probe_kdc.expire != NULL)
		probe_kdc.expire(&j);
	check(!j.running && j.reason == KW_R_TIMEOUT, "kdc: expire ends the run, as timeout");
	check(unit_rendered(d.metrics, "krbwatch_kdc_up{aws_region=\"t-1\",realm=\"T.TEST\",kdc=\"kdc.silent.test\","
	    "proto=\"udp\",port=\"88\"} 0"), "kdc: the unanswered KDC is published as down");
	check(unit_rendered(d.metrics, "krbwatch_kdc_failures_total{aws_region=\"t-1\",realm=\"T.TEST\","
	    "kdc=\"kdc.silent.test\",proto=\"tcp\",port=\"464\",reason=\"timeout\"} 1"),
	    "kdc: ... with reason timeout");
	sched_job_release(&j);

	/* the DNS probe cancelled (a reload) when its clock says the deadline is near */
	job_start(&j, &probe_dns, c);
	check(j.running, "dns: the run waits on the silent resolver");
	j.started.tv_sec -= (time_t)(c->timeout_ms / 1000) + 1;
	probe_dns.cancel(&j);
	j.running = 0;
	check(!unit_rendered(d.metrics, "krbwatch_dns_lookup_success{aws_region=\"t-1\""),
	    "dns: cancel publishes nothing, whatever the clock says");
	check(j.has_result == 0, "dns: cancel does not end the run through probe_done");
	sched_job_release(&j);

	/* the DNS probe at its deadline */
	job_start(&j, &probe_dns, c);
	check(probe_dns.expire != NULL, "dns: the probe has an expire");
	if (probe_dns.expire != NULL)
		probe_dns.expire(&j);
	check(!j.running && j.reason == KW_R_TIMEOUT, "dns: expire ends the run, as timeout");
	check(unit_rendered(d.metrics, "krbwatch_dns_lookup_failures_total{aws_region=\"t-1\""),
	    "dns: expire publishes the unanswered lookups");
	check(strstr(j.detail, "127.0.0.1") != NULL, "dns: the detail names the resolver");
	sched_job_release(&j);

	metrics_free(d.metrics);
	config_free(c);
	event_base_free(d.base);
	close(fd);
	unlink(keytab);
	unlink(path);
	rmdir(dir);
	return failed;
}
