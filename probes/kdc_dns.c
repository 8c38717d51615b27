/*
 * Where the KDC probe's targets come from when the configuration names them by DNS: SRV records
 * of a realm's domain (`kdcs: dns`) and the address of a KDC given by name, asked of the Region's
 * resolvers in order while they fail to answer.  kdc.c's run; kdc_int.h is their inside.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ares.h>
#include <event2/event.h>

#include "../lib/log.h"
#include "../lib/xmalloc.h"
#include "../net/dns_client.h"
#include "../net/dns_records.h"
#include "kdc_int.h"

struct lookup *
kdc_lookup_new(struct kdc_run *run, enum lk_kind kind, const char *name, int rrtype)
{
	struct lookup *lk = xcalloc(1, sizeof *lk);

	lk->run = run;
	lk->kind = kind;
	lk->name = xstrdup(name);
	lk->rrtype = rrtype;
	run->lk = xreallocarray(run->lk, run->nlk + 1, sizeof *run->lk);
	run->lk[run->nlk++] = lk;
	run->pending++;
	return lk;
}

void
kdc_lookup_end(struct lookup *lk)
{
	if (lk->done)
		return;
	lk->done = 1;
	lk->run->pending--;
	kdc_run_check_done(lk->run);
}

/* shaped as gss_token.c's and login_base.c's setters: a realm's first reason, in the run */
void
kdc_realm_fail(struct kdc_run *run, enum kw_reason r, const char *fmt, ...)
{
	va_list ap;

	if (run->realm_reason != KW_OK)
		return;
	run->realm_reason = r;
	va_start(ap, fmt);
	vsnprintf(run->realm_why, sizeof run->realm_why, fmt, ap);
	va_end(ap);
}

/* Returns 1: the lookup has ended (a lookup that asks again returns 0). */
static int
lookup_srv_answer(struct lookup *lk, int status, const struct dns_srv *srv, size_t n)
{
	struct kdc_run *run = lk->run;

	if (status != ARES_SUCCESS) {
		/* a realm that publishes no kpasswd has none probed; no KDC at all is a failure */
		if (!(lk->kpasswd && (status == ARES_ENODATA || status == ARES_ENOTFOUND)))
			kdc_realm_fail(run, dns_reason(status) == KW_OK ? KW_R_PROTOCOL : dns_reason(status),
			    "realm %s in %s: SRV %s: %s", lk->realm->name, run->job->region->name,
			    lk->name, ares_strerror(status));
		return 1;
	}
	if (n > KDC_MAX_SRV_TARGETS)
		run->srv_dropped += n - KDC_MAX_SRV_TARGETS;
	for (size_t i = 0; i < n && i < KDC_MAX_SRV_TARGETS; i++) {
		char host[256];
		size_t hl;

		snprintf(host, sizeof host, "%s", srv[i].target ? srv[i].target : "");
		hl = strlen(host);
		if (hl > 0 && host[hl - 1] == '.')
			host[--hl] = '\0';
		if (hl == 0)
			continue;	/* "." : the service is decidedly not available */
		kdc_target_add(run, lk->realm->name, host, srv[i].port, lk->tcp, lk->kpasswd);
	}
	return 1;
}

static int
lookup_addr_answer(struct lookup *lk, int status, const struct dns_addr *a, size_t n)
{
	struct kdc_run *run = lk->run;

	if (status == ARES_ENODATA && lk->rrtype == ns_t_a) {
		/* no IPv4 address: try IPv6 before giving up */
		lk->rrtype = ns_t_aaaa;
		lk->resolver = 0;
		kdc_lookup_send(lk);
		return 0;
	}
	for (size_t i = 0; i < run->nt; i++) {
		struct target *t = run->t[i];

		if (t->lk != lk || t->state != T_RESOLVING)
			continue;
		if (status != ARES_SUCCESS) {
			enum kw_reason r = dns_reason(status);
			kdc_target_end(t, r == KW_OK ? KW_R_PROTOCOL : r, "resolving %s: %s", lk->name,
			    ares_strerror(status));
			continue;
		}
		memset(&t->ss, 0, sizeof t->ss);
		if (a[0].family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&t->ss;
			sin->sin_family = AF_INET;
			sin->sin_port = htons(t->port);
			memcpy(&sin->sin_addr, a[0].addr, 4);
			t->sslen = sizeof *sin;
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->ss;
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(t->port);
			memcpy(&sin6->sin6_addr, a[0].addr, 16);
			t->sslen = sizeof *sin6;
		}
		kdc_target_send(t);
	}
	return 1;
}

/*
 * 1: the answer is not the lookup's to read: its run ends, it has ended, or its resolver did
 * not answer and the Region's next one is asked.
 */
static void
lookup_resend(void *lk)
{
	kdc_lookup_send(lk);
}

static int
lookup_settled(struct lookup *lk, int status)
{
	struct kdc_run *run = lk->run;

	return run->ending || lk->done || (probe_remaining(run->job) > 0.1 &&
	    dns_failover(status, &lk->resolver, run->job->region->nresolvers, lookup_resend, lk));
}

static void
srv_cb(void *arg, int status, const struct dns_srv *srv, size_t n)
{
	struct lookup *lk = arg;

	if (!lookup_settled(lk, status) && lookup_srv_answer(lk, status, srv, n))
		kdc_lookup_end(lk);
}

static void
addr_cb(void *arg, int status, const struct dns_addr *a, size_t n)
{
	struct lookup *lk = arg;

	if (!lookup_settled(lk, status) && lookup_addr_answer(lk, status, a, n))
		kdc_lookup_end(lk);
}

static struct dns_client *
run_client(struct kdc_run *run, size_t i)
{
	const struct kw_region *reg = run->job->region;

	if (run->dc == NULL) {
		run->ndc = reg->nresolvers;
		run->dc = xcalloc(run->ndc ? run->ndc : 1, sizeof *run->dc);
	}
	if (i >= run->ndc)
		return NULL;
	if (run->dc[i] == NULL) {
		/* two questions in a row at most (SRV, then A): a third of the run each */
		unsigned ms = (unsigned)(run->job->conf->timeout_ms / 3);
		run->dc[i] = dns_client_new(probe_base(run->job), &reg->resolvers[i], ms ? ms : 1);
	}
	return run->dc[i];
}

void
kdc_lookup_send(struct lookup *lk)
{
	struct kdc_run *run = lk->run;
	struct dns_client *dc = run_client(run, lk->resolver);

	if (dc == NULL) {
		/* no resolver (or none usable): nothing can be found; fail what waits on it */
		if (lk->kind == LK_SRV)
			kdc_realm_fail(run, KW_R_INTERNAL, "realm %s in %s: no resolver to ask for %s",
			    lk->realm->name, run->job->region->name, lk->name);
		else
			for (size_t i = 0; i < run->nt; i++)
				if (run->t[i]->lk == lk && run->t[i]->state == T_RESOLVING)
					kdc_target_end(run->t[i], KW_R_INTERNAL, "no resolver to ask for %s",
					    lk->name);
		kdc_lookup_end(lk);
		return;
	}
	if (lk->kind == LK_SRV)
		dns_query_srv(dc, lk->name, srv_cb, lk);
	else
		dns_query_addrs(dc, lk->name, lk->rrtype, addr_cb, lk);
}

void
kdc_srv_discover(struct kdc_run *run, const struct kw_realm *r)
{
	static const struct { const char *svc; int tcp, kpasswd; } q[] = {
		{ "_kerberos._udp", 0, 0 }, { "_kerberos._tcp", 1, 0 },
		{ "_kpasswd._udp", 0, 1 }, { "_kpasswd._tcp", 1, 1 },
	};

	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		char name[300];
		struct lookup *lk;

		snprintf(name, sizeof name, "%s.%s", q[i].svc, r->domain);
		lk = kdc_lookup_new(run, LK_SRV, name, ns_t_srv);
		lk->realm = r;
		lk->tcp = q[i].tcp;
		lk->kpasswd = q[i].kpasswd;
		kdc_lookup_send(lk);
	}
}
