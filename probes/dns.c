/*
 * The DNS probe: per Region, every name a client needs, asked of each of the Region's resolvers
 * on its own (one dns_client per resolver), so that one dead resolver shows even while the other
 * answers.  All lookups of a run go out at once; when the last is answered the run ends.
 *
 * What is asked, of every resolver:
 *   - A and AAAA of the domain of every realm, and of every cluster host (not of IP literals);
 *   - SRV _kerberos._udp, _kerberos._tcp, _kpasswd._udp, _kpasswd._tcp and _ldap._tcp.dc._msdcs
 *     of every realm's domain;
 *   - SRV _kerberos._tcp.<site>._sites.dc._msdcs.<domain> for the Region's site, in the domains
 *     of the realms the Region lists under `kdcs:` (those are the realms replicated into the
 *     Region, whose AD sites are named after it); when it lists none, in every domain.  An
 *     on-premises forest has sites of its own, so asking it for the Region's site would be a
 *     failure that never heals.
 * Names are lower-cased and asked once each (names compare case-insensitively).
 *
 * What counts as a failure: any error (nxdomain, servfail, dns_refused, timeout, refused, ...);
 * an SRV name without records (no_records).  For addresses, a name needs one of A or AAAA:
 * AAAA without records is a success with 0 records (IPv4-only is normal), and so is A without
 * records when AAAA has some; a name with neither fails on its A series with no_records.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <ares.h>
#include <event2/event.h>

#include "../lib/log.h"
#include "../lib/xmalloc.h"
#include "../net/dns_client.h"
#include "probe.h"

/* One question, asked of every resolver. */
struct dns_question {
	char *name;             /* lower case */
	int rrtype;
	size_t pair;            /* A <-> AAAA of the same name; (size_t)-1 for SRV */
};

struct dns_lookup {
	struct dns_run *run;
	size_t resolver, question;
	struct timespec sent;
	int answered;
	int status;             /* ARES_* */
	size_t records;
	double duration;
};

struct dns_run {
	struct dns_question *q;
	size_t nq;
	struct dns_client **clients;
	size_t nclients;
	struct dns_lookup *lk;  /* nclients * nq, resolver-major */
	size_t nlk, left;
	struct event *finish;   /* ends the run from the loop, outside any dns callback */
};

#define NO_PAIR ((size_t)-1)

static double
since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static char *
lower_dup(const char *s)
{
	char *d = xstrdup(s);

	for (char *p = d; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

static int
is_ip_literal(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Adds name/rrtype unless it is there already; takes name.  Returns its index. */
static size_t
add_question(struct dns_run *r, char *name, int rrtype)
{
	size_t n = strlen(name);

	if (n > 1 && name[n - 1] == '.')
		name[n - 1] = '\0';     /* "example.com." and "example.com" are one name */
	for (size_t i = 0; i < r->nq; i++)
		if (r->q[i].rrtype == rrtype && strcmp(r->q[i].name, name) == 0) {
			free(name);
			return i;
		}
	r->q = xreallocarray(r->q, r->nq + 1, sizeof *r->q);
	r->q[r->nq].name = name;
	r->q[r->nq].rrtype = rrtype;
	r->q[r->nq].pair = NO_PAIR;
	return r->nq++;
}

static void
add_addresses(struct dns_run *r, const char *name)
{
	size_t a = add_question(r, lower_dup(name), ns_t_a);
	size_t aaaa = add_question(r, lower_dup(name), ns_t_aaaa);

	r->q[a].pair = aaaa;
	r->q[aaaa].pair = a;
}

static void
add_srv(struct dns_run *r, const char *prefix, const char *domain)
{
	char *s;

	xasprintf(&s, "%s.%s", prefix, domain);
	add_question(r, lower_dup(s), ns_t_srv);
	free(s);
}

/* Whether the Region's site records are asked in realm's domain (see the top of the file). */
static int
site_realm(const struct kw_region *reg, const struct kw_realm *realm)
{
	if (reg->nkdcs == 0)
		return 1;
	for (size_t i = 0; i < reg->nkdcs; i++)
		if (strcasecmp(reg->kdcs[i].realm, realm->name) == 0)
			return 1;
	return 0;
}

static void
build_questions(struct dns_run *r, const struct kw_config *conf, const struct kw_region *reg)
{
	static const char *const srv[] = { "_kerberos._udp", "_kerberos._tcp", "_kpasswd._udp",
		"_kpasswd._tcp", "_ldap._tcp.dc._msdcs" };

	for (size_t i = 0; i < conf->nrealms; i++)
		add_addresses(r, conf->realms[i].domain);
	for (size_t c = 0; c < reg->nclusters; c++)
		if (!is_ip_literal(reg->clusters[c].host))
			add_addresses(r, reg->clusters[c].host);
	for (size_t i = 0; i < conf->nrealms; i++) {
		const struct kw_realm *realm = &conf->realms[i];

		for (size_t k = 0; k < sizeof srv / sizeof srv[0]; k++)
			add_srv(r, srv[k], realm->domain);
		if (reg->site != NULL && reg->site[0] != '\0' && site_realm(reg, realm)) {
			char *p;

			xasprintf(&p, "_kerberos._tcp.%s._sites.dc._msdcs", reg->site);
			add_srv(r, p, realm->domain);
			free(p);
		}
	}
}

/* The verdict on one lookup (an unanswered one timed out). */
static enum kw_reason
judge(const struct dns_run *r, const struct dns_lookup *l)
{
	const struct dns_question *q = &r->q[l->question];

	if (!l->answered)
		return KW_R_TIMEOUT;
	if (l->status == ARES_SUCCESS)
		return l->records > 0 || q->rrtype != ns_t_srv ? KW_OK : KW_R_NO_RECORDS;
	if (l->status != ARES_ENODATA || q->rrtype == ns_t_srv)
		return dns_reason(l->status);
	if (q->rrtype == ns_t_aaaa)
		return KW_OK;
	/* A without records: fine when the same resolver gave AAAA records for the name */
	if (q->pair != NO_PAIR) {
		const struct dns_lookup *p = &r->lk[l->resolver * r->nq + q->pair];
		if (p->answered && p->status == ARES_SUCCESS && p->records > 0)
			return KW_OK;
	}
	return KW_R_NO_RECORDS;
}

/* One row per lookup: the daemon writes its series, `krbwatch probe` its lines, from them. */
static void
fill_rows(struct dns_run *r, struct probe_result *res)
{
	for (size_t i = 0; i < r->nlk; i++) {
		const struct dns_lookup *l = &r->lk[i];
		const struct dns_question *q = &r->q[l->question];
		struct result_row *row = probe_result_add(res, ROW_DNS);
		struct hop_cell *c = &row->hop[KW_HOP_DNS];
		const char *rrtype = dns_rrtype_name(q->rrtype);

		snprintf(row->name, sizeof row->name, "%s %s", rrtype, q->name);
		snprintf(row->qname, sizeof row->qname, "%s", q->name);
		snprintf(row->rrtype, sizeof row->rrtype, "%s", rrtype);
		row->records = l->records;
		c->ran = 1;
		c->reason = judge(r, l);
		c->seconds = l->answered ? l->duration : since(&l->sent);
		snprintf(c->addr, sizeof c->addr, "%s", dns_client_resolver(r->clients[l->resolver]));
		snprintf(c->detail, sizeof c->detail, "%s %s via %s: %s%s%s, %d record%s", q->name,
		    rrtype, c->addr, c->reason == KW_OK ? "ok" : reason_name(c->reason),
		    c->reason == KW_OK ? "" : " - ", c->reason == KW_OK ? "" : ares_strerror(l->status),
		    (int)l->records, l->records == 1 ? "" : "s");
	}
}

static void
question_free(struct dns_question *q)
{
	free(q->name);
}

static void
run_free(void *arg)
{
	struct dns_run *r = arg;

	/* pending callbacks run here with ARES_EDESTRUCTION and touch nothing */
	free_ptrs(r->clients, r->nclients, dns_client_free);
	if (r->finish != NULL)
		event_free(r->finish);
	free_array(r->q, r->nq, question_free);
	free_all(r->lk, r);
}

/*
 * The run's result, a row per lookup: when all answered (the finish event), or at the deadline,
 * where an unanswered lookup is judged timed out.
 */
static void
run_result(void *arg, struct probe_result *res)
{
	struct dns_run *r = arg;
	const struct dns_lookup *first = NULL;
	size_t failed = 0;

	fill_rows(r, res);
	for (size_t i = 0; i < r->nlk; i++) {
		enum kw_reason w = res->rows[i].hop[KW_HOP_DNS].reason;
		if (w == KW_OK)
			continue;
		if (failed++ == 0) {
			first = &r->lk[i];
			res->reason = w;
		}
	}
	if (first == NULL) {
		snprintf(res->detail, sizeof res->detail, "%zu questions answered by each of %zu "
		    "resolver%s", r->nq, r->nclients, r->nclients == 1 ? "" : "s");
	} else {
		const struct dns_question *q = &r->q[first->question];
		snprintf(res->detail, sizeof res->detail, "resolver %s, %s %s: %s (%s); %zu of %zu "
		    "lookups failed", dns_client_resolver(r->clients[first->resolver]), q->name,
		    dns_rrtype_name(q->rrtype), reason_name(res->reason),
		    first->answered ? ares_strerror(first->status) : "no answer by the deadline",
		    failed, r->nlk);
	}
}

static void
lookup_cb(void *arg, int status, int timeouts, const unsigned char *abuf, int alen)
{
	struct dns_lookup *l = arg;
	struct dns_run *r;
	int rrtype;

	(void)timeouts;
	if (status == ARES_EDESTRUCTION)
		return;         /* the run is being freed */
	r = l->run;
	rrtype = r->q[l->question].rrtype;
	l->answered = 1;
	l->duration = since(&l->sent);
	l->status = status;
	if (status == ARES_SUCCESS) {
		if (rrtype == ns_t_srv) {
			struct dns_srv *s;
			l->status = dns_parse_srv(abuf, alen, &s, &l->records);
			dns_srv_free(s, l->records);
		} else {
			struct dns_addr *a;
			l->status = dns_parse_addrs(abuf, alen, rrtype, &a, &l->records);
			free(a);
		}
	}
	if (--r->left == 0)
		event_active(r->finish, EV_TIMEOUT, 0);
}

static int
dns_start(struct probe_job *j)
{
	const struct kw_region *reg = j->region;
	struct dns_run *r = xcalloc(1, sizeof *r);
	/* c-ares gives up a little before the deadline, so that each lookup says why */
	unsigned budget = (unsigned)(probe_remaining(j) * 1000.0 * 0.85);

	build_questions(r, j->conf, reg);
	r->finish = probe_finish_event(j);
	if (r->finish == NULL)
		fatalx("dns: event_new failed");
	r->clients = xcalloc(reg->nresolvers, sizeof *r->clients);
	for (size_t i = 0; i < reg->nresolvers; i++) {
		r->clients[i] = dns_client_new(probe_base(j), &reg->resolvers[i], budget);
		if (r->clients[i] == NULL) {
			run_free(r);
			return -1;
		}
		r->nclients++;
	}
	r->nlk = r->left = r->nclients * r->nq;
	r->lk = xcalloc(r->nlk ? r->nlk : 1, sizeof *r->lk);
	j->run = r;
	if (r->nlk == 0) {
		event_active(r->finish, EV_TIMEOUT, 0);
		return 0;
	}
	log_debug("%s dns: %zu questions to each of %zu resolvers, %u ms each", reg->name, r->nq,
	    r->nclients, budget);
	for (size_t c = 0; c < r->nclients; c++)
		for (size_t q = 0; q < r->nq; q++) {
			struct dns_lookup *l = &r->lk[c * r->nq + q];

			l->run = r;
			l->resolver = c;
			l->question = q;
			clock_gettime(CLOCK_MONOTONIC, &l->sent);
			dns_query(r->clients[c], r->q[q].name, ns_c_in, r->q[q].rrtype, lookup_cb, l);
		}
	return 0;
}

/* At the deadline nothing more is asked: run_result judges what is unanswered as timed out. */
const struct probe_ops probe_dns = PROBE_KIND("dns", PROBE_PER_REGION, 0, dns_start, run_free,
    NULL, run_result);
