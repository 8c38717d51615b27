/*
 * The global writer endpoint of an Aurora Global Database, seen from one Region: the CNAME
 * chain its resolvers give leads to the writer's cluster endpoint, and so to the member cluster
 * and the Region that hold the writer.  After a switchover or failover the record moves; until
 * every Region's resolvers follow (its TTL), Regions disagree, which is a finding of its own.
 *
 * It is part of each Region's chain run rather than a kind of its own: the login through the
 * endpoint, as users make it, needs that run's TGT and tickets, and a second AS exchange per
 * Region and interval would spend the identity's lockout budget twice (lockout.h).
 *
 * Failover readiness: a Region that holds a member cluster but not the writer is a secondary.
 * "A failover here now would let users authenticate" is what its own chain says of that member
 * (TGT, referral, service ticket from this Region's KDCs, login) in the same run.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <ares.h>
#include <netdb.h>

#include "../lib/metrics.h"
#include "../lib/xmalloc.h"
#include "../net/dns_client.h"
#include "chain_int.h"
#include "global_writer.h"

static struct {
	struct mfamily *info, *dns_success, *changes, *changed, *ttl, *login, *secondary;
} m;

/* The writer each (global database, Region) saw last, to count changes: bounded by the file. */
static struct seen {
	char key[256];
	char writer[128];
} *seen;
static size_t nseen;

void
global_init(struct metrics *reg)
{
	static const char *const info_l[] = { "global_db", "aws_region", "writer_cluster", "writer_region" };
	static const char *const g_l[] = { "global_db", "aws_region" };

	m.info = metrics_family(reg, "krbwatch_global_writer_info",
	    "The member cluster (and its Region) that the global writer endpoint leads to through this Region's resolvers: where the writer is, as seen from aws_region.",
	    METRIC_GAUGE, 4, info_l);
	m.dns_success = metrics_family(reg, "krbwatch_global_writer_dns_success",
	    "Whether the global writer endpoint resolved, through this Region's resolvers, to the cluster endpoint of a member cluster.",
	    METRIC_GAUGE, 2, g_l);
	m.changes = metrics_family(reg, "krbwatch_global_writer_changes_total",
	    "Times the writer seen from this Region moved to another member cluster (switchover or failover).",
	    METRIC_COUNTER, 2, g_l);
	m.changed = metrics_family(reg, "krbwatch_global_writer_changed_timestamp_seconds",
	    "When the writer seen from this Region last changed (or was first seen), in seconds since the epoch.",
	    METRIC_GAUGE, 2, g_l);
	m.ttl = metrics_family(reg, "krbwatch_global_writer_dns_ttl_seconds",
	    "The TTL of the global writer endpoint's answer (its CNAMEs included) through this Region's resolvers.",
	    METRIC_GAUGE, 2, g_l);
	m.login = metrics_family(reg, "krbwatch_global_login_success",
	    "Whether the Kerberos login through the global writer endpoint, from this Region, as its users make it, succeeded in the last run.",
	    METRIC_GAUGE, 2, g_l);
	m.secondary = metrics_family(reg, "krbwatch_global_secondary_auth_success",
	    "For a secondary Region (a member that does not hold the writer): 1 when a failover to it now would let users authenticate, i.e. its chain and the login to its member cluster succeeded in the last run.",
	    METRIC_GAUGE, 2, g_l);
}

void
global_view_init(struct global_view *gv, struct chain_endpoints *ep, const struct kw_config *conf,
    const struct kw_global_db *g, const struct kw_region *region)
{
	memset(gv, 0, sizeof *gv);
	gv->ep = ep;
	gv->conf = conf;
	gv->g = g;
	gv->region = region;
	gv->status = -1;
	gv->member = -1;
}

/* The member whose cluster endpoint (host) is name, -1 if none. */
static long
member_of(const struct global_view *gv, const char *name)
{
	for (size_t i = 0; i < gv->g->nmembers; i++) {
		const struct kw_cluster *c = gv->g->members[i].c;

		if (c->host != NULL && strcasecmp(c->host, name) == 0)
			return (long)i;
	}
	return -1;
}

static void
names_add(struct global_view *gv, const char *name)
{
	size_t off = strlen(gv->names);

	snprintf(gv->names + off, sizeof gv->names - off, "%s%s", off ? " -> " : "", name);
}

void
global_parse(struct global_view *gv, int status, const unsigned char *abuf, int alen)
{
	struct ares_addrttl ttls[8];
	struct hostent *he = NULL;
	int nttl = 8;

	gv->status = status;
	snprintf(gv->names, sizeof gv->names, "%s", gv->g->endpoint.name);
	if (status != ARES_SUCCESS || abuf == NULL)
		return;
	if ((gv->status = ares_parse_a_reply(abuf, alen, &he, ttls, &nttl)) != ARES_SUCCESS)
		return;
	/* the chain in the order the answer gives it: the aliases, then the canonical name */
	gv->names[0] = '\0';
	for (char **a = he->h_aliases; a != NULL && *a != NULL; a++)
		names_add(gv, *a);
	if (he->h_aliases == NULL || he->h_aliases[0] == NULL ||
	    strcasecmp(he->h_aliases[0], gv->g->endpoint.name) != 0) {
		/* c-ares lists the aliases without the name asked: put it first */
		char rest[512];
		snprintf(rest, sizeof rest, "%s", gv->names);
		snprintf(gv->names, sizeof gv->names, "%.250s%s%.250s", gv->g->endpoint.name,
		    rest[0] ? " -> " : "", rest);
	}
	if (he->h_name != NULL && strcasecmp(he->h_name, gv->g->endpoint.name) != 0)
		names_add(gv, he->h_name);
	gv->ttl = nttl > 0 ? (unsigned)ttls[0].ttl : 0;
	/* the first name of the chain that is a member's cluster endpoint */
	for (char **a = he->h_aliases; a != NULL && *a != NULL && gv->member < 0; a++)
		gv->member = member_of(gv, *a);
	if (gv->member < 0 && he->h_name != NULL)
		gv->member = member_of(gv, he->h_name);
	ares_free_hostent(he);
}

const struct kw_cluster *
global_writer_cluster(const struct global_view *gv)
{
	if (gv->member < 0)
		return NULL;
	return gv->g->members[gv->member].c;
}

/* Counts a move of the writer; returns when the view last changed. */
static double
writer_seen(const char *g, const char *region, const char *writer)
{
	const char *v[2] = { g, region };
	char key[256];
	double changed = 0;
	size_t i;

	snprintf(key, sizeof key, "%s\037%s", g, region);
	for (i = 0; i < nseen && strcmp(seen[i].key, key) != 0; i++)
		;
	if (i == nseen) {
		seen = xreallocarray(seen, nseen + 1, sizeof *seen);
		snprintf(seen[nseen].key, sizeof seen[0].key, "%s", key);
		seen[nseen++].writer[0] = '\0';
		mfamily_add(m.changes, v, 0);
	}
	if (strcmp(seen[i].writer, writer) != 0) {
		if (seen[i].writer[0] != '\0')
			mfamily_add(m.changes, v, 1);
		snprintf(seen[i].writer, sizeof seen[0].writer, "%s", writer);
		mfamily_set(m.changed, v, (double)time(NULL));
	}
	mfamily_get(m.changed, v, &changed);
	return changed;
}

static void
set_bad(enum kw_reason *bad, enum kw_reason r, char *step, size_t steplen, const char *s,
    char *detail, size_t detaillen, const char *d)
{
	if (*bad != KW_OK)
		return;
	*bad = r;
	snprintf(step, steplen, "%s", s);
	snprintf(detail, detaillen, "%s", d);
}

/* Where the writer is, as this Region's resolvers say. */
static void
writer_finish(struct chain *ch, const struct global_view *gv, enum kw_reason *bad, char *step,
    size_t steplen, char *detail, size_t detaillen)
{
	const struct probe_job *job = ch->job;
	const char *G = gv->g->name, *R = job->region->name;
	const char *gr[2] = { G, R }, *any[4] = { G, R, NULL, NULL };
	char s[128], d[256];

	snprintf(s, sizeof s, "%.64s writer", G);
	if (gv->member < 0) {
		enum kw_reason r = gv->status == -1 ? KW_R_TIMEOUT :
		    gv->status != ARES_SUCCESS ? dns_reason(gv->status) : KW_R_NO_RECORDS;
		if (gv->status == -1)
			snprintf(d, sizeof d, "%s: no answer from %s's resolvers within the deadline",
			    gv->g->endpoint.name, R);
		else if (gv->status != ARES_SUCCESS)
			snprintf(d, sizeof d, "%s: %s", gv->g->endpoint.name, ares_strerror(gv->status));
		else
			snprintf(d, sizeof d, "%.200s: no member cluster's endpoint in the chain",
			    gv->names);
		probe_trace(job, "global", s, r, 0, "%s", d);
		mfamily_set(m.dns_success, gr, 0);
		mfamily_drop_match(m.info, any);
		set_bad(bad, r, step, steplen, s, detail, detaillen, d);
		return;
	}
	const struct kw_global_member *wm = &gv->g->members[gv->member];
	const char *v[4] = { G, R, wm->c->name, wm->region_name };
	double old;

	if (!mfamily_get(m.info, v, &old))
		mfamily_drop_match(m.info, any);
	mfamily_set(m.info, v, 1);
	mfamily_set(m.dns_success, gr, 1);
	mfamily_set(m.ttl, gr, gv->ttl);
	writer_seen(G, R, wm->c->name);
	probe_trace(job, "global", s, KW_OK, 0, "the writer is %s in %s: %.200s (TTL %u s) through "
	    "%s's resolvers", wm->c->name, wm->region_name, gv->names, gv->ttl, R);
}

/* The first hop that broke for cluster branch b, with the chain's own hops first. */
static const struct hop_result *
first_failure(const struct chain *ch, const struct branch *b, const char **hop)
{
	static const char *const names[] = { "tgt", "referral", "referral path", "service_ticket", "login" };
	const struct hop_result *hs[] = { &ch->hops[HOP_TGT], &ch->hops[HOP_REFERRAL],
	    b ? &b->referral_path : NULL, b ? &b->service : NULL, b ? &b->login_r : NULL };

	for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
		if (hs[i] != NULL && hs[i]->ran && hs[i]->reason != KW_OK) {
			*hop = names[i];
			return hs[i];
		}
	return NULL;
}

/* This Region as a failover target: ready when its own member cluster's login held. */
static void
readiness_finish(struct chain *ch, const struct global_view *gv)
{
	const struct probe_job *job = ch->job;
	const char *gr[2] = { gv->g->name, job->region->name };
	const struct kw_cluster *own = NULL, *writer = global_writer_cluster(gv);
	const struct branch *b = NULL;
	const struct hop_result *f;
	const char *hop = NULL;
	char s[160];

	for (size_t i = 0; i < gv->g->nmembers; i++)
		if (strcmp(gv->g->members[i].region_name, job->region->name) == 0)
			own = gv->g->members[i].c;
	if (own == NULL || writer == own || writer == NULL) {
		/* not a member, the writer's Region, or nobody knows where the writer is */
		mfamily_drop_match(m.secondary, gr);
		return;
	}
	for (size_t i = 0; i < ch->nbr; i++)
		if (ch->br[i].c == own)
			b = &ch->br[i];
	f = first_failure(ch, b, &hop);
	int ready = f == NULL && b != NULL && b->login_r.ran && b->login_r.reason == KW_OK;
	mfamily_set(m.secondary, gr, ready);
	snprintf(s, sizeof s, "%.64s failover to %.40s", gv->g->name, job->region->name);
	if (ready)
		probe_trace(job, "failover", s, KW_OK, 0, "ready: a failover to %s now would let users "
		    "authenticate (%s logged in through %s's KDCs)", job->region->name, own->name,
		    job->region->name);
	else
		probe_trace(job, "failover", s, f ? f->reason : KW_R_TIMEOUT, 0, "not ready: after a "
		    "failover to %s users could not log in: %s %s: %.150s", job->region->name,
		    own->name, f ? hop : "login", f ? f->detail : "did not run");
}

void
global_finish(struct chain *ch, const struct global_view *gv, const struct branch *login,
    enum kw_reason *bad, char *step, size_t steplen, char *detail, size_t detaillen)
{
	const struct probe_job *job = ch->job;
	const char *gr[2] = { gv->g->name, job->region->name };
	const struct hop_result *f;
	const char *hop = NULL;
	char s[192];

	writer_finish(ch, gv, bad, step, steplen, detail, detaillen);
	readiness_finish(ch, gv);
	if (gv->member < 0 && gv->status != -1) {
		mfamily_set(m.login, gr, 0);	/* users' connections go nowhere */
		return;
	}
	if (login == NULL || (!login->service.ran && !login->login_r.ran)) {
		mfamily_drop_match(m.login, gr);	/* not tried this run (the chain broke first) */
		return;
	}
	snprintf(s, sizeof s, "%.64s login through %.100s", gv->g->name, gv->g->endpoint.name);
	f = login->service.ran && login->service.reason != KW_OK ? (hop = "service_ticket", &login->service) :
	    login->login_r.reason != KW_OK ? (hop = "login", &login->login_r) : NULL;
	mfamily_set(m.login, gr, f == NULL);
	if (f != NULL) {
		probe_trace(job, hop, s, f->reason, f->duration, "%s", f->detail);
		set_bad(bad, f->reason, step, steplen, s, detail, detaillen, f->detail);
	} else {
		probe_trace(job, "login", s, KW_OK, login->login_r.duration, "%s", login->login_r.detail);
	}
}
