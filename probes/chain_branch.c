/*
 * One cluster of the chain, a branch: the referral path (a realm-less host-based SPN, what psql
 * asks for: the user realm's KDC must answer with a referral), the service ticket from the
 * Region's own KDCs, then the database login with it (login.h).  The branches of a run go
 * concurrently; the last to end fires the run's finish event (chain.c).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>
#include <krb5/krb5.h>

#include "../lib/log.h"
#include "chain_int.h"

static void branch_next(struct branch *);

/* The database realm: the one whose domain holds the host, else the one that is not the user's. */
static const char *
db_realm_for(const struct kw_config *conf, const char *user_realm, const char *host)
{
	const struct kw_realm *other = NULL;
	size_t hl = strlen(host);

	for (size_t i = 0; i < conf->nrealms; i++) {
		const struct kw_realm *r = &conf->realms[i];
		size_t dl = strlen(r->domain);

		if (strcmp(r->name, user_realm) == 0)
			continue;
		if (hl > dl && host[hl - dl - 1] == '.' && strcasecmp(host + hl - dl, r->domain) == 0)
			return r->name;
		if (other == NULL)
			other = r;
	}
	return other ? other->name : NULL;
}

static const char *
engine_service(enum kw_engine e)
{
	const struct kw_engine_row *r = engine_row(e);

	return r != NULL ? r->service : "host";
}

static void
branch_end(struct branch *b)
{
	struct chain *ch = b->ch;

	if (b->ended)
		return;
	b->ended = 1;
	b->state = BR_DONE;
	if (--ch->pending == 0)
		event_active(ch->finish, 0, 0);
}

static void
login_done(void *arg, const struct login_result *r)
{
	struct branch *b = arg;

	b->login = NULL;
	login_gate_leave(&b->gate);
	hop_set(&b->login_r, r->reason, chain_since(&b->t0), "%s", r->detail);
	snprintf(b->announced_spn, sizeof b->announced_spn, "%s", r->announced_spn);
	snprintf(b->announced_realm, sizeof b->announced_realm, "%s", r->announced_realm);
	branch_end(b);
}

/*
 * The ticket of a branch's exchange into its login's cache: the exchanges run with
 * KRB5_GC_NO_STORE on a cache of the TGTs only (chain_int.h).  0, or the krb5 error.
 */
static krb5_error_code
keep_ticket(struct branch *b, struct stepper *st, struct hop_result *h)
{
	struct chain *ch = b->ch;
	krb5_creds creds;
	krb5_error_code rc;

	if ((rc = krb5_tkt_creds_get_creds(ch->ctx, st->tcc, &creds)) != 0)
		return rc;
	if (h != NULL)
		ticket_info(ch->ctx, &creds, h);
	rc = chain_keep_ticket(ch, b, &creds);
	krb5_free_cred_contents(ch->ctx, &creds);
	return rc;
}

static void
ticket_fetched(struct stepper *st, krb5_error_code code, enum kw_reason r, const char *detail)
{
	struct branch *b = st->arg;

	(void)code;
	if (r == KW_OK && keep_ticket(b, st, NULL) != 0) {
		r = KW_R_INTERNAL;
		detail = "the ticket could not be kept for the login";
	}
	stepper_cancel(st);
	if (b->login != NULL)
		login_ticket_ready(b->login, r);
	if (r != KW_OK)
		log_info("%s %s: fetching the announced SPN failed: %s", b->ch->job->region->name,
		    b->c->name, detail);
}

static void
login_needs_ticket(void *arg, struct login *l, const char *spn)
{
	struct branch *b = arg;
	krb5_principal server;

	(void)l;
	if (krb5_parse_name(b->ch->ctx, spn, &server) != 0) {
		login_ticket_ready(b->login, KW_R_PROTOCOL);
		return;
	}
	b->st.done = ticket_fetched;
	b->st.watch = NULL;
	if (stepper_start_tgs(&b->st, server, KRB5_GC_NO_STORE) == -1)
		login_ticket_ready(b->login, KW_R_INTERNAL);
	krb5_free_principal(b->ch->ctx, server);
}

static void
service_ticket_done(struct stepper *st, krb5_error_code code, enum kw_reason r, const char *detail)
{
	struct branch *b = st->arg;
	krb5_error_code rc;

	(void)code;
	if (r != KW_OK) {
		hop_set(&b->service, r, chain_since(&b->t0), "%s: %s", b->spn, detail);
		stepper_cancel(st);
		branch_end(b);
		return;
	}
	/* login_pg.c asks GSSAPI for exactly this name (the SPN with its realm) */
	if ((rc = keep_ticket(b, st, &b->service)) != 0) {
		const char *msg = krb5_get_error_message(b->ch->ctx, rc);

		hop_set(&b->service, KW_R_INTERNAL, chain_since(&b->t0), "%s: keeping the ticket for "
		    "the login: %s", b->spn, msg);
		krb5_free_error_message(b->ch->ctx, msg);
		stepper_cancel(st);
		branch_end(b);
		return;
	}
	hop_set(&b->service, KW_OK, chain_since(&b->t0), "%s from %s, kvno %d, %s", b->spn, st->kdc_used,
	    b->service.kvno, b->service.enctype);
	stepper_cancel(st);
	b->state = BR_LOGIN;
	branch_next(b);
}

/* The referral path ends as soon as we see where the user realm's KDC sent us. */
static int
referral_watch(struct stepper *st, const char *realm)
{
	struct branch *b = st->arg;
	struct chain *ch = b->ch;

	if (st->tcp)
		return 0;	/* the same request again, over TCP */
	if (strcmp(realm, ch->user_realm) == 0 && st->requests == 0)
		return 0;	/* the first request, to the user realm */
	if (strcmp(realm, ch->db_realm) == 0 && st->requests == 1) {
		hop_set(&b->referral_path, KW_OK, chain_since(&b->t0), "%s referred %s to %s", ch->user_realm,
		    b->spn, realm);
	} else {
		hop_set(&b->referral_path, KW_R_NO_REFERRAL, chain_since(&b->t0),
		    "%s did not refer the host-based %s to %s (next realm asked: %s)", ch->user_realm,
		    b->spn, ch->db_realm, realm);
	}
	stepper_cancel(st);
	b->state = BR_SERVICE_TICKET;
	branch_next(b);
	return 1;
}

static void
referral_path_done(struct stepper *st, krb5_error_code code, enum kw_reason r, const char *detail)
{
	struct branch *b = st->arg;

	(void)code;
	/* it ended before leaving the user realm: no referral, or the KDC did not answer */
	hop_set(&b->referral_path, r == KW_OK || r == KW_R_PRINCIPAL_UNKNOWN ? KW_R_NO_REFERRAL : r,
	    chain_since(&b->t0), "referral path for %s: %s", b->spn, r == KW_OK ? "no referral" : detail);
	stepper_cancel(st);
	b->state = BR_SERVICE_TICKET;
	branch_next(b);
}

/* The login's slot is ours. */
static void
branch_login(void *arg)
{
	struct branch *b = arg;
	struct chain *ch = b->ch;
	struct login_callbacks cb = { .done = login_done, .need_ticket = login_needs_ticket, .arg = b };
	double left = probe_remaining(ch->job) * 1000;

	b->login = login_start(probe_base(ch->job), b->c, chain_login_cache(b), ch->dns_servers, b->spn,
	    left > 1 ? (unsigned)left : 1, &cb);
	if (b->login == NULL) {
		login_gate_leave(&b->gate);
		hop_set(&b->login_r, KW_R_INTERNAL, 0, "the login could not start");
		branch_end(b);
	}
}

static void
branch_go(void *arg)
{
	struct branch *b = arg;

	clock_gettime(CLOCK_MONOTONIC, &b->t0);
	branch_next(b);
}

static void
branch_next(struct branch *b)
{
	struct chain *ch = b->ch;
	krb5_principal server = NULL;
	char host[256];

	switch (b->state) {
	case BR_REFERRAL_PATH: {
		/* the host-based, realm-less name a client without domain_realm asks for */
		const char *slash = strchr(b->spn, '/'), *at = strrchr(b->spn, '@');
		size_t n = at && slash && at > slash ? (size_t)(at - slash - 1) : strlen(slash ? slash + 1 : b->c->host);
		char svc[64];
		snprintf(host, sizeof host, "%.*s", (int)n, slash ? slash + 1 : b->c->host);
		snprintf(svc, sizeof svc, "%.*s", slash ? (int)(slash - b->spn) : 4, slash ? b->spn : "host");
		b->st.done = referral_path_done;
		b->st.watch = referral_watch;
		if (krb5_sname_to_principal(ch->ctx, host, svc, KRB5_NT_SRV_HST, &server) != 0 ||
		    stepper_start_tgs(&b->st, server, KRB5_GC_CANONICALIZE | KRB5_GC_NO_STORE) == -1) {
			hop_set(&b->referral_path, KW_R_INTERNAL, 0, "cannot build %s/%s", svc, host);
			b->state = BR_SERVICE_TICKET;
			branch_next(b);
		}
		krb5_free_principal(ch->ctx, server);
		return;
	}
	case BR_SERVICE_TICKET:
		clock_gettime(CLOCK_MONOTONIC, &b->t0);
		b->st.done = service_ticket_done;
		b->st.watch = NULL;
		b->st.requests = 0;
		if (krb5_parse_name(ch->ctx, b->spn, &server) != 0 ||
		    stepper_start_tgs(&b->st, server, KRB5_GC_NO_STORE) == -1) {
			hop_set(&b->service, KW_R_INTERNAL, 0, "cannot request %s", b->spn);
			branch_end(b);
		}
		krb5_free_principal(ch->ctx, server);
		return;
	case BR_LOGIN:
		/* at most login_concurrency logins at a time to one host: login_gate.h */
		clock_gettime(CLOCK_MONOTONIC, &b->t0);
		login_gate_enter(probe_base(ch->job), &b->gate, b->c->host, b->c->port,
		    ch->job->conf->login_concurrency, branch_login, b);
		return;
	default:
		fatalx("branch in state %d", b->state);
	}
}

void
branches_start(struct chain *ch)
{
	size_t extra;

	ch->state = CH_BRANCHES;
	if (endpoints_wait(ch))
		return;		/* called again when the endpoints are looked up */
	extra = endpoints_branches(ch);
	ch->pending = ch->nbr + extra;
	if (ch->pending == 0) {
		event_active(ch->finish, 0, 0);
		return;
	}
	/* spread over half of what is left of the deadline, the other half for the last one */
	unsigned window = (unsigned)(probe_remaining(ch->job) * 500);

	for (size_t i = 0; i < ch->nbr; i++)
		login_gate_after(probe_base(ch->job), &ch->br[i].gate,
		    login_gate_spread_ms(i, ch->nbr, window), branch_go, &ch->br[i]);
	endpoints_each(ch, branch_begin_service);
}

/* An extra branch skips the referral path: its cluster's branch walks it. */
void
branch_begin_service(struct branch *b)
{
	clock_gettime(CLOCK_MONOTONIC, &b->t0);
	b->state = BR_SERVICE_TICKET;
	branch_next(b);
}

void
branch_spn_for(struct chain *ch, enum kw_engine e, const char *host, char *buf, size_t len)
{
	const char *realm = db_realm_for(ch->job->conf, ch->user_realm, host);

	snprintf(buf, len, "%s/%s@%s", engine_service(e), host, realm ? realm : "");
}

void
branch_setup(struct chain *ch, struct branch *b, const struct kw_cluster *c)
{
	b->ch = ch;
	b->c = c;
	b->st.ch = ch;
	b->st.arg = b;
	b->service.kvno = b->login_r.kvno = b->referral_path.kvno = -1;
	if (c->spn != NULL)
		snprintf(b->spn, sizeof b->spn, "%s", c->spn);
	else
		branch_spn_for(ch, c->engine, c->host, b->spn, sizeof b->spn);
}

/* One branch per cluster of the Region, with its SPN; the database realm from the first. */
void
branches_init(struct chain *ch)
{
	const struct kw_config *conf = ch->job->conf;
	const struct probe_job *job = ch->job;

	ch->db_realm = NULL;
	for (size_t i = 0; i < ch->nbr; i++) {
		struct branch *b = &ch->br[i];
		const struct kw_cluster *c = &job->region->clusters[i];
		const char *realm = db_realm_for(conf, ch->user_realm, c->host);

		branch_setup(ch, b, c);
		if (ch->db_realm == NULL) {
			const char *at = strrchr(b->spn, '@');
			const struct kw_realm *r = at ? config_realm(conf, at + 1) : NULL;
			ch->db_realm = r ? r->name : realm;
		}
	}
	if (ch->db_realm == NULL)
		ch->db_realm = db_realm_for(conf, ch->user_realm, "");
}

/* The deadline: the hop the branch was in timed out. */
void
branch_expire(struct branch *b)
{
	if (b->ended)
		return;
	if (b->state == BR_REFERRAL_PATH && b->st.tcc == NULL)
		hop_set(&b->referral_path, KW_R_TIMEOUT, 0, "not started within the deadline");
	else if (b->state == BR_REFERRAL_PATH)
		stepper_timeout(&b->st, &b->referral_path, &b->t0, "the referral path");
	else if (b->state == BR_SERVICE_TICKET)
		stepper_timeout(&b->st, &b->service, &b->t0, b->spn);
	else if (b->state == BR_LOGIN && b->login != NULL && b->st.tcc != NULL)
		stepper_timeout(&b->st, &b->login_r, &b->t0, "the ticket the server announced");
	else if (b->state == BR_LOGIN && login_gate_queued(&b->gate))
		hop_set(&b->login_r, KW_R_TIMEOUT, chain_since(&b->t0), "%s:%u: no login slot within "
		    "the deadline (login_concurrency %u)", b->c->host, b->c->port,
		    b->ch->job->conf->login_concurrency);
	else
		hop_set(&b->login_r, KW_R_TIMEOUT, chain_since(&b->t0),
		    "%s:%u: no login within the deadline", b->c->host, b->c->port);
}

/* A branch stopped with its run: its login, its login slot or place in line, its exchange. */
void
branch_stop(struct branch *b)
{
	if (b->login != NULL)
		login_cancel(b->login);
	login_gate_leave(&b->gate);
	stepper_cancel(&b->st);
}
