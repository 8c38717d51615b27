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
#include "../lib/metrics.h"
#include "../lib/xmalloc.h"
#include "chain.h"
#include "chain_int.h"
#include "lockout.h"

static const char *const hop_names[HOP_COUNT] = { "tgt", "referral", "service_ticket", "login" };

struct chain_metrics chain_m;

static unsigned run_counter;

static void chain_end(struct chain *);

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

static void
referral_done(struct stepper *st, krb5_error_code code, enum kw_reason r, const char *detail)
{
	struct chain *ch = st->arg;
	struct hop_result *h = &ch->hops[HOP_REFERRAL];
	krb5_creds creds;

	(void)code;
	if (r == KW_OK && krb5_tkt_creds_get_creds(ch->ctx, st->tcc, &creds) == 0) {
		ticket_info(ch->ctx, &creds, h);
		krb5_free_cred_contents(ch->ctx, &creds);
		hop_set(h, KW_OK, chain_since(&ch->t0), "krbtgt/%s@%s from %s, kvno %d, %s", ch->db_realm,
		    ch->user_realm, st->kdc_used, h->kvno, h->enctype);
	} else {
		hop_set(h, r == KW_OK ? KW_R_PROTOCOL : r, chain_since(&ch->t0), "krbtgt/%s@%s: %s",
		    ch->db_realm, ch->user_realm, detail);
	}
	stepper_cancel(st);
	if (h->reason != KW_OK) {
		event_active(ch->finish, 0, 0);
		return;
	}
	branches_start(ch);
}

static void
referral_start(struct chain *ch)
{
	krb5_principal tgs = NULL;

	ch->state = CH_REFERRAL;
	clock_gettime(CLOCK_MONOTONIC, &ch->t0);
	ch->st.done = referral_done;
	ch->st.arg = ch;
	if (krb5_build_principal(ch->ctx, &tgs, (unsigned)strlen(ch->user_realm), ch->user_realm,
	    "krbtgt", ch->db_realm, (char *)NULL) != 0 || stepper_start_tgs(&ch->st, tgs, 0) == -1) {
		hop_set(&ch->hops[HOP_REFERRAL], KW_R_INTERNAL, 0, "cannot request krbtgt/%s@%s",
		    ch->db_realm, ch->user_realm);
		event_active(ch->finish, 0, 0);
	}
	krb5_free_principal(ch->ctx, tgs);
}

static void
tgt_done(struct stepper *st, krb5_error_code code, enum kw_reason r, const char *detail)
{
	struct chain *ch = st->arg;
	struct hop_result *h = &ch->hops[HOP_TGT];
	krb5_creds creds;

	(void)code;
	if (r == KW_OK && krb5_init_creds_get_creds(ch->ctx, st->icc, &creds) == 0) {
		/* initialised after the exchange, so that the cache records MIT's clock correction */
		if (krb5_cc_initialize(ch->ctx, ch->cc, ch->me) != 0 ||
		    krb5_cc_store_cred(ch->ctx, ch->cc, &creds) != 0)
			r = KW_R_INTERNAL;
		ticket_info(ch->ctx, &creds, h);
		krb5_free_cred_contents(ch->ctx, &creds);
		hop_set(h, r, chain_since(&ch->t0), "TGT for %s from %s, %s", ch->job->conf->principal,
		    st->kdc_used, h->enctype);
	} else {
		hop_set(h, r == KW_OK ? KW_R_PROTOCOL : r, chain_since(&ch->t0), "%s: %s",
		    ch->job->conf->principal, detail);
	}
	ch->held = st->held;
	stepper_cancel(st);
	if (h->reason != KW_OK || ch->db_realm == NULL) {
		event_active(ch->finish, 0, 0);
		return;
	}
	referral_start(ch);
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
	ch->st.done = tgt_done;
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

/* ---- metrics and the end of a run ---------------------------------------------------------- */

static void
record_hop(struct chain *ch, const struct kw_cluster *c, enum hop hop, const struct hop_result *h)
{
	const char *region = ch->job->region->name;
	const char *v[3] = { region, c->name, hop_names[hop] };

	mfamily_set(chain_m.success, v, h->ran && h->reason == KW_OK);
	if (h->ran)
		mfamily_set(chain_m.duration, v, h->duration);
	if (h->ran && h->reason == KW_OK)
		mfamily_set(chain_m.last_success, v, (double)time(NULL));
	if (h->ran && h->reason != KW_OK) {
		const char *f[4] = { region, c->name, hop_names[hop], reason_name(h->reason) };
		mfamily_add(chain_m.failures, f, 1);
	}
	if (h->ran && h->reason == KW_OK && h->kvno >= 0 && hop != HOP_TGT) {
		const char *any[4] = { region, c->name, hop_names[hop], NULL };
		const char *e[4] = { region, c->name, hop_names[hop], h->enctype };
		double old;
		if (!mfamily_get(chain_m.enctype, e, &old))
			mfamily_drop_match(chain_m.enctype, any);
		mfamily_set(chain_m.enctype, e, 1);
		mfamily_set(chain_m.kvno, v, h->kvno);
	}
}

/* Every hop that ran, for `krbwatch probe`: the shared ones once, then each cluster's. */
static void
trace_run(const struct chain *ch)
{
	const struct probe_job *job = ch->job;
	char step[128];

	for (int h = HOP_TGT; h <= HOP_REFERRAL; h++)
		if (ch->hops[h].ran)
			probe_trace(job, hop_names[h], hop_names[h], ch->hops[h].reason,
			    ch->hops[h].duration, "%s", ch->hops[h].detail);
	if (ch->held) {
		/* every hop that needs the TGT says why it did not run */
		const char *need = "not tried: it needs the TGT of the monitoring identity, held back "
		    "so as not to lock the account out (see tgt)";
		if (ch->db_realm != NULL)
			probe_trace(job, "held", "referral", ch->hops[HOP_TGT].reason, 0, "%s", need);
		for (size_t i = 0; i < ch->nbr; i++) {
			snprintf(step, sizeof step, "%.64s service_ticket", ch->br[i].c->name);
			probe_trace(job, "held", step, ch->hops[HOP_TGT].reason, 0, "%s", need);
			snprintf(step, sizeof step, "%.64s login", ch->br[i].c->name);
			probe_trace(job, "held", step, ch->hops[HOP_TGT].reason, 0, "%s", need);
		}
	}
	for (size_t i = 0; i < ch->nbr; i++) {
		const struct branch *b = &ch->br[i];
		const struct { const char *kind, *what; const struct hop_result *r; } st[] = {
			{ "referral", "referral path", &b->referral_path },
			{ "service_ticket", "service_ticket", &b->service },
			{ "login", "login", &b->login_r },
		};
		for (size_t k = 0; k < sizeof st / sizeof st[0]; k++) {
			if (!st[k].r->ran)
				continue;
			snprintf(step, sizeof step, "%.64s %s", b->c->name, st[k].what);
			probe_trace(job, st[k].kind, step, st[k].r->reason, st[k].r->duration, "%s",
			    st[k].r->detail);
		}
	}
}

static void
chain_finish_cb(evutil_socket_t fd, short what, void *arg)
{
	struct chain *ch = arg;
	struct probe_job *job = ch->job;
	struct hop_result first;		/* a copy: the per-cluster referral below is a local */
	const struct hop_result *first_bad = NULL;
	const char *first_hop = NULL, *first_cluster = NULL;
	int all_login = 1;

	(void)fd;
	(void)what;
	trace_run(ch);
	mfamily_set(chain_m.backoff, NULL, lockout_backoff_seconds());
	for (size_t i = 0; i < ch->nbr; i++) {
		struct branch *b = &ch->br[i];
		struct hop_result ref = ch->hops[HOP_REFERRAL];
		const struct hop_result *hs[HOP_COUNT];

		/* the referral hop holds for this cluster when the direct request and its path both did */
		if (ref.ran && ref.reason == KW_OK && b->referral_path.ran && b->referral_path.reason != KW_OK) {
			ref.reason = b->referral_path.reason;
			snprintf(ref.detail, sizeof ref.detail, "%s", b->referral_path.detail);
		}
		hs[HOP_TGT] = &ch->hops[HOP_TGT];
		hs[HOP_REFERRAL] = &ref;
		hs[HOP_SERVICE_TICKET] = &b->service;
		hs[HOP_LOGIN] = &b->login_r;
		int cluster_bad = -1;
		for (int h = 0; h < HOP_COUNT; h++) {
			const struct hop_result *r = hs[h];

			if (r->ran && r->reason != KW_OK && cluster_bad < 0)
				cluster_bad = h;

			/* a hop that never ran (an earlier one broke) did not succeed either */
			if (r->ran && r->reason != KW_OK && first_bad == NULL) {
				first = *r;
				first_bad = &first;
				first_hop = hop_names[h];
				first_cluster = b->c->name;
			}
			record_hop(ch, b->c, (enum hop)h, r);
		}
		const char *lv[2] = { job->region->name, b->c->name };
		int ok = b->login_r.ran && b->login_r.reason == KW_OK;
		mfamily_set(chain_m.login_success, lv, ok);
		all_login &= ok;
		job->sink->observe(job, b->c->name, ok,
		    cluster_bad >= 0 ? hop_names[cluster_bad] : NULL,
		    cluster_bad >= 0 ? reason_name(hs[cluster_bad]->reason) : NULL,
		    cluster_bad >= 0 ? hs[cluster_bad]->detail : NULL);
	}
	/* a Region without clusters has no login: its chain stands for it */
	if (ch->nbr == 0)
		for (int h = HOP_TGT; h <= HOP_REFERRAL; h++)
			if (ch->hops[h].ran && ch->hops[h].reason != KW_OK && first_bad == NULL) {
				first_bad = &ch->hops[h];
				first_hop = hop_names[h];
				first_cluster = "";
			}
	const char *rv[1] = { job->region->name };
	mfamily_set(chain_m.region_up, rv, ch->nbr > 0 ? all_login : first_bad == NULL);

	struct probe_result res;
	memset(&res, 0, sizeof res);
	res.reason = first_bad ? first_bad->reason : KW_OK;
	if (first_bad) {
		snprintf(res.detail, sizeof res.detail, "%.64s%s%.16s: %.150s", first_cluster,
		    *first_cluster ? " " : "", first_hop, first_bad->detail);
		snprintf(res.step, sizeof res.step, "%.64s%s%.16s", first_cluster,
		    *first_cluster ? " " : "", first_hop);
	} else
		snprintf(res.detail, sizeof res.detail, "every hop of %zu cluster%s ok", ch->nbr,
		    ch->nbr == 1 ? "" : "s");
	res.held = ch->held;
	job->sink->observe(job, NULL, first_bad == NULL,
	    first_hop, first_bad ? reason_name(res.reason) : NULL, first_bad ? res.detail : NULL);
	chain_end(ch);
	probe_done(job, &res);
}

static void
chain_free(struct chain *ch)
{
	for (size_t i = 0; i < ch->nbr; i++) {
		if (ch->br[i].login != NULL)
			login_cancel(ch->br[i].login);
		login_gate_leave(&ch->br[i].gate);
		stepper_cancel(&ch->br[i].st);
	}
	stepper_cancel(&ch->st);
	for (size_t i = 0; i < ch->nloc; i++) {
		kdc_locate_cancel(ch->loc[i].op);
		kdc_list_clear(&ch->loc[i].kdcs);
		free(ch->loc[i].waiting);
	}
	free(ch->br);
	if (ch->opt != NULL)
		krb5_get_init_creds_opt_free(ch->ctx, ch->opt);
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

static void
chain_end(struct chain *ch)
{
	ch->state = CH_FINISHED;
	ch->job->run = NULL;
	chain_free(ch);
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
	ch->finish = event_new(probe_base(job), -1, 0, chain_finish_cb, ch);
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
	/* db_realm NULL: realms has the user realm alone and no cluster; tgt_done ends there */
	return tgt_start(ch);
fail:
	job->run = NULL;
	chain_free(ch);
	return -1;
}

static void
chain_cancel(struct probe_job *job)
{
	struct chain *ch = job->run;

	if (ch == NULL)
		return;
	job->run = NULL;
	chain_free(ch);
}


/* The deadline: the hop in flight timed out; report every hop as far as the run got. */
static void
chain_expire(struct probe_job *job)
{
	struct chain *ch = job->run;

	if (ch == NULL) {
		probe_end(job, KW_R_TIMEOUT, "no answer within the deadline");
		return;
	}
	switch (ch->state) {
	case CH_TGT:
		stepper_timeout(&ch->st, &ch->hops[HOP_TGT], &ch->t0, job->conf->principal);
		break;
	case CH_REFERRAL:
		stepper_timeout(&ch->st, &ch->hops[HOP_REFERRAL], &ch->t0, "the referral");
		break;
	default:
		for (size_t i = 0; i < ch->nbr; i++)
			branch_expire(&ch->br[i]);
	}
	chain_finish_cb(-1, 0, ch);
}

static void
chain_init(struct metrics *reg)
{
	static const char *const hop_l[] = { "aws_region", "db_cluster", "hop" };
	static const char *const fail_l[] = { "aws_region", "db_cluster", "hop", "reason" };
	static const char *const enc_l[] = { "aws_region", "db_cluster", "hop", "enctype" };
	static const char *const cl_l[] = { "aws_region", "db_cluster" };
	static const char *const r_l[] = { "aws_region" };
	static const char *const ann_l[] = { "aws_region", "db_cluster", "spn", "realm" };

	chain_m.success = metrics_family(reg, "krbwatch_hop_success",
	    "Whether the hop of the login path succeeded in the last run (tgt, referral, service_ticket, login).",
	    METRIC_GAUGE, 3, hop_l);
	chain_m.duration = metrics_family(reg, "krbwatch_hop_duration_seconds",
	    "How long the hop took in the last run.", METRIC_GAUGE, 3, hop_l);
	chain_m.last_success = metrics_family(reg, "krbwatch_hop_last_success_timestamp_seconds",
	    "When the hop last succeeded, in seconds since the epoch.", METRIC_GAUGE, 3, hop_l);
	chain_m.failures = metrics_family(reg, "krbwatch_hop_failures_total",
	    "Failed hops, by reason.", METRIC_COUNTER, 4, fail_l);
	chain_m.enctype = metrics_family(reg, "krbwatch_ticket_enctype_info",
	    "The encryption type of the ticket a hop obtained; arcfour-hmac (RC4) is a warning sign.",
	    METRIC_GAUGE, 4, enc_l);
	chain_m.kvno = metrics_family(reg, "krbwatch_ticket_kvno",
	    "The key version number of the ticket a hop obtained; Regions that differ for the referral missed a trust key rotation.",
	    METRIC_GAUGE, 3, hop_l);
	chain_m.login_success = metrics_family(reg, "krbwatch_login_success",
	    "Whether the Kerberos login to the cluster succeeded in the last run.", METRIC_GAUGE, 2, cl_l);
	chain_m.region_up = metrics_family(reg, "krbwatch_region_auth_up",
	    "1 when every cluster of the Region could be logged in to with Kerberos in the last run.",
	    METRIC_GAUGE, 1, r_l);
	chain_m.backoff = metrics_family(reg, "krbwatch_identity_backoff_seconds",
	    "Seconds until the monitoring identity may send an AS exchange again: held back after preauth_failed or client_revoked, or its identity.max_failed_attempts spent (0: not held back).",
	    METRIC_GAUGE, 0, NULL);
	mfamily_set(chain_m.backoff, NULL, 0);
	chain_m.announced = metrics_family(reg, "krbwatch_login_announced_spn_info",
	    "The service principal (and, for MySQL authentication_kerberos, the realm) the database server announced in its last login.",
	    METRIC_GAUGE, 4, ann_l);
}

const struct probe_ops probe_chain = {
	.name = "chain",
	.scope = PROBE_PER_REGION,
	.init = chain_init,
	.start = chain_start,
	.cancel = chain_cancel,
	.expire = chain_expire,
};
