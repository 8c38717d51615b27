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

#include <ares.h>

#include "../net/dns_records.h"
#include "chain_int.h"
#include "global_writer.h"

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
global_parse(struct global_view *gv, int status, const struct dns_cname_chain *ch)
{
	const char *canonical;

	gv->status = status;
	snprintf(gv->names, sizeof gv->names, "%s", gv->g->endpoint.name);
	if (status != ARES_SUCCESS || ch == NULL)
		return;
	canonical = ch->canonical;
	/* the chain in the order the answer gives it: the aliases, then the canonical name */
	gv->names[0] = '\0';
	for (char *const *a = ch->aliases; a != NULL && *a != NULL; a++)
		names_add(gv, *a);
	if (ch->aliases == NULL || ch->aliases[0] == NULL ||
	    strcasecmp(ch->aliases[0], gv->g->endpoint.name) != 0) {
		/* c-ares lists the aliases without the name asked: put it first */
		char rest[512];
		snprintf(rest, sizeof rest, "%s", gv->names);
		snprintf(gv->names, sizeof gv->names, "%.250s%s%.250s", gv->g->endpoint.name,
		    rest[0] ? " -> " : "", rest);
	}
	if (canonical != NULL && strcasecmp(canonical, gv->g->endpoint.name) != 0)
		names_add(gv, canonical);
	gv->ttl = ch->ttl;
	/* the first name of the chain that is a member's cluster endpoint */
	for (char *const *a = ch->aliases; a != NULL && *a != NULL && gv->member < 0; a++)
		gv->member = member_of(gv, *a);
	if (gv->member < 0 && canonical != NULL)
		gv->member = member_of(gv, canonical);
}

const struct kw_cluster *
global_writer_cluster(const struct global_view *gv)
{
	if (gv->member < 0)
		return NULL;
	return gv->g->members[gv->member].c;
}

/* The lookup as the row's DNS cell and the writer it names. */
static void
writer_finish(const struct chain *ch, const struct global_view *gv, struct result_row *row)
{
	const char *R = ch->job->region->name;
	struct hop_cell *c = &row->hop[KW_HOP_DNS];

	snprintf(row->cname_chain, sizeof row->cname_chain, "%s", gv->names);
	row->ttl = gv->ttl;
	c->ran = gv->status != -1;
	c->kvno = -1;
	if (gv->member < 0) {
		c->ran = 1;
		c->reason = gv->status == -1 ? KW_R_TIMEOUT :
		    gv->status != ARES_SUCCESS ? dns_reason(gv->status) : KW_R_NO_RECORDS;
		if (gv->status == -1)
			snprintf(c->detail, sizeof c->detail, "%s: no answer from %s's resolvers "
			    "within the deadline", gv->g->endpoint.name, R);
		else if (gv->status != ARES_SUCCESS)
			snprintf(c->detail, sizeof c->detail, "%s: %s", gv->g->endpoint.name,
			    ares_strerror(gv->status));
		else
			snprintf(c->detail, sizeof c->detail, "%.200s: no member cluster's endpoint "
			    "in the chain", gv->names);
		return;
	}
	const struct kw_global_member *wm = &gv->g->members[gv->member];

	snprintf(row->writer, sizeof row->writer, "%s", wm->c->name);
	snprintf(row->writer_region, sizeof row->writer_region, "%s", wm->region_name);
	snprintf(row->cluster, sizeof row->cluster, "%s", wm->c->name);
	c->reason = KW_OK;
	snprintf(c->detail, sizeof c->detail, "the writer is %s in %s: %.150s (TTL %u s) through "
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

/*
 * This Region as a failover target: ready when its own member cluster's login held; the row's
 * failover words say so, or what broke.
 */
static int
readiness(const struct chain *ch, const struct global_view *gv, struct result_row *row)
{
	const struct probe_job *job = ch->job;
	const struct kw_cluster *own = NULL, *writer = global_writer_cluster(gv);
	const struct branch *b = NULL;
	const struct hop_result *f;
	const char *hop = NULL;
	int ready;

	for (size_t i = 0; i < gv->g->nmembers; i++)
		if (strcmp(gv->g->members[i].region_name, job->region->name) == 0)
			own = gv->g->members[i].c;
	if (own == NULL || writer == own || writer == NULL)
		return -1;	/* not a member, the writer's Region, or the writer is not known */
	for (size_t i = 0; i < ch->nbr; i++)
		if (ch->br[i].c == own)
			b = &ch->br[i];
	f = first_failure(ch, b, &hop);
	ready = f == NULL && b != NULL && b->login_r.ran && b->login_r.reason == KW_OK;
	row->failover_reason = ready ? KW_OK : f ? f->reason : KW_R_TIMEOUT;
	if (ready)
		snprintf(row->failover_detail, sizeof row->failover_detail, "ready: a failover to %s "
		    "now would let users authenticate (%s logged in through %s's KDCs)",
		    job->region->name, own->name, job->region->name);
	else
		snprintf(row->failover_detail, sizeof row->failover_detail, "not ready: after a "
		    "failover to %s users could not log in: %s %s: %.150s", job->region->name,
		    own->name, f ? hop : "login", f ? f->detail : "did not run");
	return ready;
}

void
global_finish(const struct chain *ch, const struct global_view *gv, const struct branch *login,
    struct probe_result *res)
{
	struct result_row *row = probe_result_add(res, ROW_GLOBAL);

	snprintf(row->name, sizeof row->name, "%s", gv->g->name);
	snprintf(row->endpoint, sizeof row->endpoint, "%s", gv->g->endpoint.name);
	writer_finish(ch, gv, row);
	row->failover_ready = readiness(ch, gv, row);
	if (login == NULL)
		return;		/* no member named, or the chain broke before the logins */
	cell_of(&row->hop[KW_HOP_SERVICE_TICKET], &login->service);
	cell_of(&row->hop[KW_HOP_LOGIN], &login->login_r);
}
