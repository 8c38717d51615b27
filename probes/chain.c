/*
 * The trust chain, per Region: the Kerberos part of a client's login, hop by hop, and then the
 * login itself, every cycle from nothing.
 *
 *   tgt             AS exchange with the keytab, to the user realm's KDCs;
 *   referral        the inter-realm TGT krbtgt/DB@USER asked for directly (what MySQL and MariaDB
 *                   clients do), and per cluster the referral path (a realm-less host-based SPN,
 *                   what psql does): the user realm's KDC must answer with a referral;
 *   service_ticket  the cluster's SPN from the Region's own KDCs with that TGT;
 *   login           the database login with the ticket (login.h).
 *
 * MIT's step APIs make each KDC request; we carry it ourselves (kdc_transport) to the KDC we
 * choose: the user realm's KDCs, or for the database realm the Region's KDCs only, never another
 * Region's.  An AS-REQ with pre-authentication (the one a wrong key fails, and a directory
 * counts against the account) asks the identity's lockout budget first (lockout.h) and goes to
 * one KDC, once.  Tickets live in a MEMORY cache made for the run and destroyed with it, so a cached
 * ticket never hides a locked principal or a broken trust.
 *
 * A run is one tree of small state machines: the chain (tgt, then the explicit referral), then
 * one branch per cluster (referral path, service ticket, login), all concurrent.  It ends in one
 * probe_done() when every branch has ended.  The stepper is krb_stepper.c, a branch is
 * chain_branch.c; chain_int.h is their shared inside.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>

#include <event2/event.h>
#include <krb5/krb5.h>

#include "../lib/log.h"
#include "../lib/xmalloc.h"
#include "../net/gss_token.h"
#include "chain.h"
#include "chain_int.h"
#include "lockout.h"



static unsigned run_counter;

double
chain_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

void
hop_set(struct hop_result *h, enum kw_reason r, double duration, const char *fmt, ...)
{
	va_list ap;

	h->ran = 1;
	h->reason = r;
	h->duration = duration;
	va_start(ap, fmt);
	vsnprintf(h->detail, sizeof h->detail, fmt, ap);
	va_end(ap);
}

/* ---- the chain ----------------------------------------------------------------------------- */

/* The Region's resolvers as c-ares takes them: "10.0.0.2:53,[fd00::2]:53". */
static void
dns_servers_csv(const struct kw_region *r, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < r->nresolvers && off < len; i++) {
		const struct kw_addr *a = &r->resolvers[i];
		int n = snprintf(buf + off, len - off, "%s%s%s%s:%u", i ? "," : "",
		    strchr(a->host, ':') ? "[" : "", a->host, strchr(a->host, ':') ? "]" : "",
		    a->port ? a->port : 53);
		if (n < 0 || (size_t)n >= len - off) {
			buf[off] = '\0';	/* keep the servers that fit */
			break;
		}
		off += (size_t)n;
	}
}

static void referral_start(struct chain *);

#define LOGIN_CACHE_BRANCHES 8

struct login_cache {
	struct login_cache *next;
	krb5_ccache cc;
	unsigned branches;		/* whose tickets it holds */
	char name[112];
};

/* A new logins' cache with the run's TGTs, the newest of the run. */
static krb5_error_code
login_cache_new(struct chain *ch, struct login_cache **out)
{
	struct login_cache *lc = xcalloc(1, sizeof *lc);
	krb5_error_code rc;

	snprintf(lc->name, sizeof lc->name, "%s-%u", ch->ccname, ++ch->nlc);
	if ((rc = krb5_cc_resolve(ch->ctx, lc->name, &lc->cc)) != 0) {
		free(lc);
		return rc;
	}
	lc->next = ch->lcs;
	ch->lcs = lc;
	lc->branches = LOGIN_CACHE_BRANCHES;	/* not taken again if it cannot be filled */
	if ((rc = krb5_cc_initialize(ch->ctx, lc->cc, ch->me)) != 0 ||
	    (rc = krb5_cc_copy_creds(ch->ctx, ch->cc, lc->cc)) != 0)
		return rc;
	lc->branches = 0;
	*out = lc;
	return 0;
}

krb5_error_code
chain_keep_ticket(struct chain *ch, struct branch *b, krb5_creds *creds)
{
	struct login_cache *lc = b->lc;
	krb5_error_code rc;

	if (lc == NULL) {
		lc = ch->lcs;
		if ((lc == NULL || lc->branches >= LOGIN_CACHE_BRANCHES) &&
		    (rc = login_cache_new(ch, &lc)) != 0)
			return rc;
		lc->branches++;
		b->lc = lc;
	}
	return krb5_cc_store_cred(ch->ctx, lc->cc, creds);
}

const char *
chain_login_cache(const struct branch *b)
{
	return b->lc != NULL ? b->lc->name : "";
}

/* After the logins: their GSS credentials go with the caches (gss_token_forget). */
static void
login_caches_free(struct chain *ch)
{
	struct login_cache *lc, *next;

	for (lc = ch->lcs; lc != NULL; lc = next) {
		next = lc->next;
		gss_token_forget(lc->name);
		krb5_cc_destroy(ch->ctx, lc->cc);
		free(lc);
	}
	ch->lcs = NULL;
}

/*
 * The ticket of the chain's own exchange (the TGT's AS, the referral's TGS) into its hop.  The
 * TGT goes into the run's cache, initialised after the exchange so that the cache records
 * MIT's clock correction (the logins' caches, made from it, too).
 */
static enum kw_reason
hop_ticket(struct chain *ch, struct stepper *st, struct hop_result *h)
{
	krb5_creds creds;
	enum kw_reason r = KW_OK;

	if (st->kind == KRB5_HOP_AS ? krb5_init_creds_get_creds(ch->ctx, st->icc, &creds) != 0 :
	    krb5_tkt_creds_get_creds(ch->ctx, st->tcc, &creds) != 0)
		return KW_R_PROTOCOL;
	if (st->kind == KRB5_HOP_AS && (krb5_cc_initialize(ch->ctx, ch->cc, ch->me) != 0 ||
	    krb5_cc_store_cred(ch->ctx, ch->cc, &creds) != 0))
		r = KW_R_INTERNAL;
	ticket_info(ch->ctx, &creds, h);
	krb5_free_cred_contents(ch->ctx, &creds);
	return r;
}

/* The end of the TGT's or the referral's exchange: the next hop, or the end of the run. */
static void
chain_hop_done(struct stepper *st, krb5_error_code code, enum kw_reason r, const char *detail)
{
	struct chain *ch = st->arg;
	int tgt = ch->state == CH_TGT;
	struct hop_result *h = &ch->hops[tgt ? HOP_TGT : HOP_REFERRAL];
	const char *me = ch->job->conf->principal;
	char what[300];

	(void)code;
	if (tgt)
		snprintf(what, sizeof what, "%s", me);
	else
		snprintf(what, sizeof what, "krbtgt/%s@%s", ch->db_realm, ch->user_realm);
	if (r == KW_OK && (r = hop_ticket(ch, st, h)) != KW_R_PROTOCOL) {
		if (tgt)
			hop_set(h, r, chain_since(&ch->t0), "TGT for %s from %s, %s", me, st->kdc_used,
			    h->enctype);
		else
			hop_set(h, r, chain_since(&ch->t0), "%s from %s, kvno %d, %s", what,
			    st->kdc_used, h->kvno, h->enctype);
	} else
		hop_set(h, r, chain_since(&ch->t0), "%s: %s", what, detail);
	if (tgt)
		ch->held = st->held;
	stepper_cancel(st);
	if (h->reason != KW_OK || ch->db_realm == NULL)
		event_active(ch->finish, 0, 0);
	else if (tgt)
		referral_start(ch);
	else
		branches_start(ch);
}

static void
referral_start(struct chain *ch)
{
	krb5_principal tgs = NULL;

	ch->state = CH_REFERRAL;
	clock_gettime(CLOCK_MONOTONIC, &ch->t0);
	ch->st.done = chain_hop_done;
	ch->st.arg = ch;
	if (krb5_build_principal(ch->ctx, &tgs, (unsigned)strlen(ch->user_realm), ch->user_realm,
	    "krbtgt", ch->db_realm, (char *)NULL) != 0 || stepper_start_tgs(&ch->st, tgs, 0) == -1) {
		hop_set(&ch->hops[HOP_REFERRAL], KW_R_INTERNAL, 0, "cannot request krbtgt/%s@%s",
		    ch->db_realm, ch->user_realm);
		event_active(ch->finish, 0, 0);
	}
	krb5_free_principal(ch->ctx, tgs);
}

static int
tgt_start(struct chain *ch)
{
	krb5_error_code rc;

	ch->state = CH_TGT;
	clock_gettime(CLOCK_MONOTONIC, &ch->t0);
	/* the keytab checked (stat; hashed when it moved), the state file read when it moved */
	lockout_use(ch->job->conf);
	enum kw_reason held_reason = KW_OK;
	char why[256];
	if (lockout_held(&held_reason, why, sizeof why) > 0) {
		/* no AS exchange at all, not even the one without pre-authentication */
		hop_set(&ch->hops[HOP_TGT], held_reason, 0, "%s: %s", ch->job->conf->principal, why);
		ch->held = 1;
		event_active(ch->finish, 0, 0);
		return 0;
	}
	ch->st.kind = KRB5_HOP_AS;
	ch->st.done = chain_hop_done;
	ch->st.arg = ch;
	if ((rc = krb5_get_init_creds_opt_alloc(ch->ctx, &ch->opt)) != 0 ||
	    (rc = krb5_init_creds_init(ch->ctx, ch->me, NULL, NULL, 0, ch->opt, &ch->st.icc)) != 0 ||
	    (rc = krb5_init_creds_set_keytab(ch->ctx, ch->st.icc, ch->kt)) != 0) {
		const char *msg = krb5_get_error_message(ch->ctx, rc);
		hop_set(&ch->hops[HOP_TGT], KW_R_INTERNAL, 0, "cannot start the AS exchange: %s", msg);
		krb5_free_error_message(ch->ctx, msg);
		event_active(ch->finish, 0, 0);
		return 0;
	}
	stepper_step(&ch->st, NULL);
	return 0;
}

/* ---- the end of a run ---------------------------------------------------------------------- */

void
cell_of(struct hop_cell *c, const struct hop_result *h)
{
	c->ran = h->ran;
	c->reason = h->reason;
	c->seconds = h->duration;
	snprintf(c->detail, sizeof c->detail, "%s", h->detail);
	snprintf(c->enctype, sizeof c->enctype, "%s", h->enctype);
	c->kvno = h->kvno;
}

/* A hop the lockout budget held back with the TGT: it did not run, and says why. */
static void
held_cell(struct hop_cell *c, enum kw_reason r)
{
	c->held = 1;
	c->reason = r;
	c->kvno = -1;
	snprintf(c->detail, sizeof c->detail, "not tried: it needs the TGT of the monitoring "
	    "identity, held back so as not to lock the account out (see tgt)");
}

/*
 * The rows of a run: the Region's shared hops, then one row per cluster with every hop of its
 * path.  A cluster's referral holds when the direct request and its referral path both did.
 */
static void
fill_rows(const struct chain *ch, struct probe_result *res)
{
	struct result_row *row = probe_result_add(res, ROW_REGION);

	snprintf(row->name, sizeof row->name, "%s", ch->job->region->name);
	cell_of(&row->hop[KW_HOP_TGT], &ch->hops[HOP_TGT]);
	cell_of(&row->hop[KW_HOP_REFERRAL], &ch->hops[HOP_REFERRAL]);
	if (ch->held && ch->db_realm != NULL)
		held_cell(&row->hop[KW_HOP_REFERRAL], ch->hops[HOP_TGT].reason);
	for (size_t i = 0; i < ch->nbr; i++) {
		const struct branch *b = &ch->br[i];
		struct hop_result ref = ch->hops[HOP_REFERRAL];

		if (ref.ran && ref.reason == KW_OK && b->referral_path.ran && b->referral_path.reason != KW_OK) {
			ref.reason = b->referral_path.reason;
			snprintf(ref.detail, sizeof ref.detail, "%s", b->referral_path.detail);
		}
		row = probe_result_add(res, ROW_CLUSTER);
		snprintf(row->name, sizeof row->name, "%s", b->c->name);
		snprintf(row->cluster, sizeof row->cluster, "%s", b->c->name);
		snprintf(row->endpoint, sizeof row->endpoint, "%s", b->c->host);
		cell_of(&row->hop[KW_HOP_TGT], &ch->hops[HOP_TGT]);
		cell_of(&row->hop[KW_HOP_REFERRAL], &ref);
		cell_of(&row->hop[KW_HOP_SERVICE_TICKET], &b->service);
		cell_of(&row->hop[KW_HOP_LOGIN], &b->login_r);
		cell_of(&row->referral_path, &b->referral_path);
		if (ch->held) {
			held_cell(&row->hop[KW_HOP_SERVICE_TICKET], ch->hops[HOP_TGT].reason);
			held_cell(&row->hop[KW_HOP_LOGIN], ch->hops[HOP_TGT].reason);
		}
		snprintf(row->announced_spn, sizeof row->announced_spn, "%s", b->announced_spn);
		snprintf(row->announced_realm, sizeof row->announced_realm, "%s", b->announced_realm);
	}
}

/*
 * The verdict: the first hop that broke, cluster by cluster in path order (a hop that never
 * ran, an earlier one having broken, did not succeed either); a Region without clusters has no
 * login, and its chain stands for it.
 */
static void
verdict(const struct chain *ch, struct probe_result *res)
{
	const struct hop_cell *bad = NULL;
	const char *cluster = "";
	enum kw_hop hop = KW_HOP_TGT;

	for (size_t i = ch->nbr > 0 ? 1 : 0; i < res->nrows && bad == NULL; i++)
		for (int h = KW_HOP_TGT; h <= KW_HOP_LOGIN && bad == NULL; h++) {
			const struct hop_cell *c = &res->rows[i].hop[h];
			if (c->ran && c->reason != KW_OK) {
				bad = c;
				hop = (enum kw_hop)h;
				cluster = res->rows[i].cluster;
			}
		}
	res->held = ch->held;
	if (bad == NULL) {
		res->reason = KW_OK;
		snprintf(res->detail, sizeof res->detail, "every hop of %zu cluster%s ok", ch->nbr,
		    ch->nbr == 1 ? "" : "s");
		return;
	}
	res->reason = bad->reason;
	snprintf(res->detail, sizeof res->detail, "%.64s%s%.16s: %.150s", cluster,
	    *cluster ? " " : "", hop_name(hop), bad->detail);
	snprintf(res->step, sizeof res->step, "%.64s%s%.16s", cluster, *cluster ? " " : "",
	    hop_name(hop));
}

/* The run's result: when every branch has ended (the finish event), or at the deadline. */
static void
chain_result(void *arg, struct probe_result *res)
{
	struct chain *ch = arg;

	fill_rows(ch, res);
	endpoints_finish(ch, res);	/* after the clusters': a cluster's failure is named first */
	verdict(ch, res);
}

static void
chain_free(void *arg)
{
	struct chain *ch = arg;

	endpoints_free(ch);
	for (size_t i = 0; i < ch->nbr; i++)
		branch_stop(&ch->br[i]);
	stepper_cancel(&ch->st);
	for (size_t i = 0; i < ch->nloc; i++) {
		kdc_locate_cancel(ch->loc[i].op);
		kdc_list_clear(&ch->loc[i].kdcs);
		free(ch->loc[i].waiting);
	}
	free(ch->br);
	if (ch->opt != NULL)
		krb5_get_init_creds_opt_free(ch->ctx, ch->opt);
	login_caches_free(ch);
	if (ch->cc != NULL)
		krb5_cc_destroy(ch->ctx, ch->cc);
	if (ch->kt != NULL)
		krb5_kt_close(ch->ctx, ch->kt);
	if (ch->me != NULL)
		krb5_free_principal(ch->ctx, ch->me);
	if (ch->finish != NULL)
		event_free(ch->finish);
	free(ch);		/* ch->ctx is the Region's (region_context), kept for the next run */
}

/*
 * One krb5 context per Region for as long as the configuration lasts (chain_reloaded), not one
 * per run: what a run leaves in it is only the clock correction of its last AS exchange, and
 * that is reset before each run, so that every run still starts from nothing (its own MEMORY
 * cache, its own AS exchange and referral).
 */
static struct region_ctx {
	char *region;
	krb5_context ctx;
} *rctx;
static size_t nrctx;

void
chain_reloaded(void)
{
	for (size_t i = 0; i < nrctx; i++) {
		krb5_free_context(rctx[i].ctx);
		free(rctx[i].region);
	}
	free(rctx);
	rctx = NULL;
	nrctx = 0;
}

static krb5_context
region_context(const char *region)
{
	struct timeval tv;
	krb5_context k = NULL;

	for (size_t i = 0; i < nrctx && k == NULL; i++)
		if (strcmp(rctx[i].region, region) == 0)
			k = rctx[i].ctx;
	if (k == NULL) {
		if (krb5_init_context(&k) != 0)
			return NULL;
		rctx = xreallocarray(rctx, nrctx + 1, sizeof *rctx);
		rctx[nrctx].region = xstrdup(region);
		rctx[nrctx++].ctx = k;
	}
	gettimeofday(&tv, NULL);
	(void)krb5_set_real_time(k, (krb5_timestamp)tv.tv_sec, (krb5_int32)tv.tv_usec);
	return k;
}

static int
chain_start(struct probe_job *job)
{
	const struct kw_config *conf = job->conf;
	struct chain *ch = xcalloc(1, sizeof *ch);
	krb5_error_code rc;
	const char *msg;

	ch->job = job;
	job->run = ch;
	ch->finish = probe_finish_event(job);
	if (ch->finish == NULL)
		goto fail;
	if ((ch->ctx = region_context(job->region->name)) == NULL)
		goto fail;
	snprintf(ch->ccname, sizeof ch->ccname, "MEMORY:krbwatch-%s-%u", job->region->name, ++run_counter);
	if ((rc = krb5_parse_name(ch->ctx, conf->principal, &ch->me)) != 0 ||
	    (rc = krb5_cc_resolve(ch->ctx, ch->ccname, &ch->cc)) != 0 ||
	    (rc = krb5_kt_resolve(ch->ctx, conf->keytab, &ch->kt)) != 0) {
		msg = krb5_get_error_message(ch->ctx, rc);
		log_err("%s chain: %s", job->region->name, msg);
		krb5_free_error_message(ch->ctx, msg);
		goto fail;
	}
	ch->user_realm = strchr(conf->principal, '@') + 1;
	dns_servers_csv(job->region, ch->dns_servers, sizeof ch->dns_servers);
	ch->st.ch = ch;
	ch->nbr = job->region->nclusters;
	ch->br = xcalloc(ch->nbr ? ch->nbr : 1, sizeof *ch->br);
	branches_init(ch);
	for (int h = 0; h < HOP_COUNT; h++)
		ch->hops[h].kvno = -1;
	endpoints_start(ch);	/* the endpoints' lookups go while the TGT is fetched */
	/* db_realm NULL: realms has the user realm alone and no cluster; tgt_done ends there */
	return tgt_start(ch);
fail:
	job->run = NULL;
	chain_free(ch);
	return -1;
}

/* The deadline: the hop in flight timed out; the result reports every hop as far as it got. */
static void
chain_timeout(void *arg)
{
	struct chain *ch = arg;

	switch (ch->state) {
	case CH_TGT:
		stepper_timeout(&ch->st, &ch->hops[HOP_TGT], &ch->t0, ch->job->conf->principal);
		break;
	case CH_REFERRAL:
		stepper_timeout(&ch->st, &ch->hops[HOP_REFERRAL], &ch->t0, "the referral");
		break;
	default:
		for (size_t i = 0; i < ch->nbr; i++)
			branch_expire(&ch->br[i]);
		endpoints_each(ch, branch_expire);
	}
}

const struct probe_ops probe_chain = PROBE_KIND("chain", PROBE_PER_REGION, 1, chain_start,
    chain_free, chain_timeout, chain_result);
