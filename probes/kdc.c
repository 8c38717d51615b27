/*
 * The KDC probe, per Region: every KDC of every realm as this Region sees it, on UDP and TCP,
 * port 88 and kpasswd's 464, all at once, each with its own deadline.
 *
 *   88   a real AS-REQ for the monitoring principal's name in the realm probed, without
 *        pre-authentication.  A well-formed KRB-ERROR (PREAUTH_REQUIRED, PRINCIPAL_UNKNOWN, ...)
 *        or AS-REP proves the KDC speaks Kerberos; its stime/susec gives the KDC's clock.
 *   464  the 7-byte kpasswd request 00 07 00 01 00 00 00 (an empty AP-REQ): kadmind answers it
 *        with a kpasswd reply that wraps a KRB-ERROR (PROTOCOLS.md section 6).
 * A TCP connect alone is never "up": only a reply that parses is.
 *
 * Where the KDCs come from: the Region's (or the realm's) list in the configuration; a host name
 * there is resolved through the Region's resolvers (A, then AAAA).  With `kdcs: dns`, the SRV
 * records _kerberos._udp, _kerberos._tcp, _kpasswd._udp and _kpasswd._tcp of the realm's domain
 * name the KDCs per transport, as an MIT client finds them; a realm that publishes no _kpasswd
 * records has no kpasswd probed.  The probe never lets the library near the network: the AS-REQ
 * is built by krb5_init_creds_step in a context whose private profile knows no KDC.
 *
 * The run ends in one probe_done(): ok when every KDC answered everywhere, else the first failure
 * (realm, KDC, transport and port in the detail).
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <ares.h>
#include <event2/event.h>
#include <krb5/krb5.h>

#include "../lib/log.h"
#include "../lib/xmalloc.h"
#include "../net/dns_client.h"
#include "../net/kdc_transport.h"
#include "kdc_int.h"
#include "kdc_msg.h"
#include "probe.h"


static double
ts_sub(const struct timespec *a, const struct timespec *b)
{
	return (double)(a->tv_sec - b->tv_sec) + (double)(a->tv_nsec - b->tv_nsec) / 1e9;
}

/* ---- targets ------------------------------------------------------------------------------- */

void
kdc_run_check_done(struct kdc_run *run)
{
	if (run->pending == 0 && !run->ending)
		event_active(run->finish, 0, 0);
}

void
kdc_target_end(struct target *t, enum kw_reason r, const char *fmt, ...)
{
	va_list ap;

	if (t->state == T_ENDED)
		return;
	t->state = T_ENDED;
	t->reason = r;
	t->why[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(t->why, sizeof t->why, fmt, ap);
		va_end(ap);
	}
	t->run->pending--;
	kdc_run_check_done(t->run);
}

static void
target_reply(void *arg, enum kw_reason r, const unsigned char *reply, size_t len)
{
	struct target *t = arg;
	struct timespec now, wall;
	double stime = 0;
	int code = -1;
	char why[sizeof t->why];

	t->req = NULL;
	clock_gettime(CLOCK_MONOTONIC, &now);
	clock_gettime(CLOCK_REALTIME, &wall);
	t->rtt = ts_sub(&now, &t->sent);
	if (r != KW_OK) {
		kdc_target_end(t, r, NULL);
		return;
	}
	if ((r = kdc_msg_classify(t->run->ctx, t->kpasswd, reply, len, &code, &stime, why,
	    sizeof why)) != KW_OK) {
		kdc_target_end(t, r, "%s", why);
		return;
	}
	t->krb_error = code;
	if (code != -1 && !t->kpasswd) {
		/* the KDC stamped its reply about half a round trip before it reached us */
		double ours = (double)wall.tv_sec + (double)wall.tv_nsec / 1e9 - t->rtt / 2;
		t->has_time = 1;
		t->skew = stime - ours;
	}
	kdc_target_end(t, KW_OK, NULL);
}

static unsigned
target_timeout_ms(const struct kdc_run *run)
{
	double left = probe_remaining(run->job) * 1000;
	/* end a little before the run's deadline, so that a silent KDC is recorded as timeout */
	double margin = left / 10 < 100 ? left / 10 : 100;
	double ms = left - margin;

	return ms < 1 ? 1 : (unsigned)ms;
}

void
kdc_target_send(struct target *t)
{
	struct kdc_run *run = t->run;
	krb5_data msg = { 0 };
	const void *p;
	size_t len;

	if (t->kpasswd) {
		p = kdc_msg_kpasswd(&len);
	} else {
		if (kdc_msg_as_req(run->ctx, run->job->conf->principal, t->realm, &msg) == -1) {
			kdc_target_end(t, KW_R_INTERNAL, "cannot build an AS-REQ");
			return;
		}
		p = msg.data;
		len = msg.length;
	}
	clock_gettime(CLOCK_MONOTONIC, &t->sent);
	t->state = T_SENT;
	t->req = kdc_send(probe_base(run->job), (const struct sockaddr *)&t->ss, t->sslen,
	    t->tcp ? KDC_SEND_TCP : 0, p,
	    len, target_timeout_ms(run), target_reply, t);
	krb5_free_data_contents(run->ctx, &msg);
	if (t->req == NULL) {
		t->run->no_socket++;
		kdc_target_end(t, KW_R_INTERNAL, "cannot open a socket");
	}
}

static int
numeric_addr(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof *sin;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof *sin6;
		return 0;
	}
	return -1;
}

/* Adds one KDC on one transport and port, unless the run has it already. */
void
kdc_target_add(struct kdc_run *run, const char *realm, const char *host, uint16_t port, int tcp,
    int kpasswd)
{
	struct target *t;

	for (size_t i = 0; i < run->nt; i++) {
		t = run->t[i];
		if (t->realm == realm && t->port == port && t->tcp == tcp && strcasecmp(t->host, host) == 0)
			return;
	}
	if (run->nt >= KDC_MAX_TARGETS) {
		run->targets_dropped++;
		return;
	}
	t = xcalloc(1, sizeof *t);
	t->run = run;
	t->realm = realm;
	t->host = xstrdup(host);
	t->port = port;
	snprintf(t->port_l, sizeof t->port_l, "%u", (unsigned)port);
	t->tcp = tcp;
	t->kpasswd = kpasswd;
	t->krb_error = -1;
	t->state = T_RESOLVING;
	run->t = xreallocarray(run->t, run->nt + 1, sizeof *run->t);
	run->t[run->nt++] = t;
	run->pending++;

	if (numeric_addr(host, port, &t->ss, &t->sslen) == 0) {
		kdc_target_send(t);
		return;
	}
	/* a host name: one A lookup per name and run, shared by its targets */
	for (size_t i = 0; i < run->nlk; i++) {
		struct lookup *lk = run->lk[i];
		if (lk->kind == LK_ADDR && strcasecmp(lk->name, host) == 0) {
			if (lk->done) {
				/* the lookup has ended: copy the address a sibling got */
				for (size_t j = 0; j < run->nt; j++) {
					struct target *o = run->t[j];
					if (o != t && o->lk == lk && o->sslen != 0) {
						t->ss = o->ss;
						t->sslen = o->sslen;
						if (t->ss.ss_family == AF_INET)
							((struct sockaddr_in *)&t->ss)->sin_port = htons(port);
						else
							((struct sockaddr_in6 *)&t->ss)->sin6_port = htons(port);
						t->lk = lk;
						kdc_target_send(t);
						return;
					}
				}
				continue;
			}
			t->lk = lk;
			return;
		}
	}
	t->lk = kdc_lookup_new(run, LK_ADDR, host, ns_t_a);
	kdc_lookup_send(t->lk);
}

/* ---- the run ------------------------------------------------------------------------------- */

static void
target_free(struct target *t)
{
	free_all(t->host, t);
}

static void
lookup_free(struct lookup *lk)
{
	free_all(lk->name, lk);
}

static void
run_free(void *arg)
{
	struct kdc_run *run = arg;

	run->ending = 1;
	for (size_t i = 0; i < run->nt; i++)
		if (run->t[i]->req != NULL)
			kdc_req_cancel(run->t[i]->req);
	/* their callbacks run now with ARES_EDESTRUCTION and find the run ending */
	free_ptrs(run->dc, run->ndc, dns_client_free);
	free_ptrs(run->t, run->nt, target_free);
	free_ptrs(run->lk, run->nlk, lookup_free);
	if (run->finish != NULL)
		event_free(run->finish);
	krb5_free_context(run->ctx);
	free(run);
}

static const char *
proto_name(const struct target *t)
{
	return t->tcp ? "tcp" : "udp";
}

/* One row per KDC endpoint: the daemon writes its series, `krbwatch probe` its lines, from them. */
static void
fill_rows(struct kdc_run *run, struct probe_result *res)
{
	for (size_t i = 0; i < run->nt; i++) {
		const struct target *t = run->t[i];
		struct result_row *row = probe_result_add(res, ROW_KDC);
		struct hop_cell *c = &row->hop[KW_HOP_KDC];

		snprintf(row->name, sizeof row->name, "%s %s/%s", t->host, proto_name(t), t->port_l);
		snprintf(row->realm, sizeof row->realm, "%s", t->realm);
		snprintf(row->host, sizeof row->host, "%s", t->host);
		snprintf(row->proto, sizeof row->proto, "%s", proto_name(t));
		row->port = t->port;
		row->rtt = t->reason == KW_OK ? t->rtt : 0;
		row->has_clock_skew = t->has_time;
		row->clock_skew = t->has_time ? t->skew : 0;
		c->ran = 1;
		c->reason = t->reason;
		c->seconds = row->rtt;
		snprintf(c->detail, sizeof c->detail, "%s KDC %s %s/%s: %s%s%s", t->realm, t->host,
		    proto_name(t), t->port_l, t->reason == KW_OK ? "up" : reason_name(t->reason),
		    t->why[0] ? " - " : "", t->why);
		if (t->reason == KW_OK)
			snprintf(c->addr, sizeof c->addr, "%s:%s", t->host, t->port_l);
	}
}

/* The run's result, a row per KDC endpoint: from the finish event, or at the deadline. */
static void
run_result(void *arg, struct probe_result *res)
{
	struct kdc_run *run = arg;
	struct probe_job *job = run->job;
	const struct target *bad = NULL;
	size_t down = 0;

	res->reason = run->realm_reason;
	fill_rows(run, res);
	/* one line per cause and run, whatever the count: a hostile answer cannot flood the log */
	if (run->srv_dropped > 0)
		log_info("%s kdc: SRV answers named %zu KDC(s) more than the %d probed per answer",
		    job->region->name, run->srv_dropped, KDC_MAX_SRV_TARGETS);
	if (run->targets_dropped > 0)
		log_info("%s kdc: %zu KDC endpoint(s) more than the %d probed per run",
		    job->region->name, run->targets_dropped, KDC_MAX_TARGETS);
	if (run->no_socket > 0)
		log_warn("%s kdc: %zu request(s) could not open a socket", job->region->name,
		    run->no_socket);
	for (size_t i = 0; i < run->nt; i++)
		if (run->t[i]->reason != KW_OK) {
			down++;
			if (bad == NULL)
				bad = run->t[i];
		}
	if (res->reason != KW_OK)
		snprintf(res->detail, sizeof res->detail, "%s", run->realm_why);
	else if (bad != NULL) {
		res->reason = bad->reason;
		snprintf(res->detail, sizeof res->detail, "realm %s, KDC %s, %s/%s: %s%s%s (%zu of %zu "
		    "down)", bad->realm, bad->host, proto_name(bad), bad->port_l,
		    reason_name(bad->reason), bad->why[0] ? ": " : "", bad->why, down, run->nt);
	} else if (run->nt == 0)
		snprintf(res->detail, sizeof res->detail, "no KDC to probe");
	else
		snprintf(res->detail, sizeof res->detail, "%zu KDC endpoint%s answered", run->nt,
		    run->nt == 1 ? "" : "s");
}

static int
kdc_start(struct probe_job *job)
{
	const struct kw_config *conf = job->conf;
	struct kdc_run *run;

	run = xcalloc(1, sizeof *run);
	run->job = job;
	if (kdc_msg_context(&run->ctx) == -1) {
		free(run);
		return -1;
	}
	run->realm_reason = KW_OK;
	if ((run->finish = probe_finish_event(job)) == NULL) {
		krb5_free_context(run->ctx);
		free(run);
		return -1;
	}
	job->run = run;
	/* nothing below ends the run: the finish event does, from the loop */
	run->pending++;
	for (size_t i = 0; i < conf->nrealms; i++) {
		const struct kw_realm *r = &conf->realms[i];
		const struct kw_kdcs *k = config_region_kdcs(conf, job->region, r);

		if (k == NULL)
			continue;
		if (k->from_dns) {
			kdc_srv_discover(run, r);
			continue;
		}
		for (size_t j = 0; j < k->n; j++) {
			const struct kw_addr *a = &k->addrs[j];

			kdc_target_add(run, r->name, a->host, a->port, 0, 0);
			kdc_target_add(run, r->name, a->host, a->port, 1, 0);
			kdc_target_add(run, r->name, a->host, KPASSWD_PORT, 0, 1);
			kdc_target_add(run, r->name, a->host, KPASSWD_PORT, 1, 1);
		}
	}
	run->pending--;
	kdc_run_check_done(run);
	return 0;
}

/*
 * The deadline: every KDC still unanswered (or still being resolved, or whose SRV records
 * never came) is down with reason timeout in this run's series, so that no krbwatch_kdc_up of
 * an earlier run outlives it.
 */
static void
run_timeout(void *arg)
{
	struct kdc_run *run = arg;
	struct probe_job *job = run->job;
	unsigned ms = (unsigned)job->conf->timeout_ms;

	run->ending = 1;		/* kdc_target_end and kdc_lookup_end no longer fire the finish */
	for (size_t i = 0; i < run->nt; i++) {
		struct target *t = run->t[i];

		if (t->state == T_ENDED)
			continue;
		if (t->req != NULL) {
			kdc_req_cancel(t->req);
			t->req = NULL;
		}
		if (t->state == T_RESOLVING)
			kdc_target_end(t, KW_R_TIMEOUT, "%s not resolved within the %u ms deadline",
			    t->host, ms);
		else
			kdc_target_end(t, KW_R_TIMEOUT, "no answer within the %u ms deadline", ms);
	}
	for (size_t i = 0; i < run->nlk; i++) {
		struct lookup *lk = run->lk[i];

		if (!lk->done && lk->kind == LK_SRV)
			kdc_realm_fail(run, KW_R_TIMEOUT, "realm %s in %s: SRV %s: no answer within the "
			    "%u ms deadline", lk->realm->name, job->region->name, lk->name, ms);
		lk->done = 1;
	}
}

const struct probe_ops probe_kdc = PROBE_KIND("kdc", PROBE_PER_REGION, 0, kdc_start, run_free,
    run_timeout, run_result);
