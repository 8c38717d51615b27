/*
 * One Kerberos exchange of the chain, carried by us: a stepper drives one krb5_init_creds or
 * krb5_tkt_creds context (MIT's step APIs make each request), sends each request to the KDC we
 * choose (kdc_transport) -- the user realm's KDCs, or for the database realm the Region's KDCs
 * only, never another Region's -- fails over in order and feeds the reply back.  A
 * pre-authenticated AS-REQ asks the identity's lockout budget first (lockout.h) and goes to one
 * KDC, once.  KDC lists given as "dns" or names are looked up once per run (kdc_locate).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <krb5/krb5.h>

#include "../lib/log.h"
#include "../lib/xmalloc.h"
#include "chain_int.h"
#include "lockout.h"

#define UDP_PREFERENCE_LIMIT 1465	/* MIT's default: larger requests go over TCP first */
#define KDC_TRY_MS 1000			/* per KDC before failing over to the next one */
#define BUDGET_POLL_MS 25		/* asking the lockout budget again while another exchange runs */

static void stepper_route(struct stepper *);
static void as_reply_seen(struct stepper *, int is_error);

static size_t
kdc_current(const struct stepper *st)
{
	return (st->kdc_first + st->kdc_tries) % st->kdcs->n;
}

static size_t
pref_get(const struct chain *ch, const struct kw_kdcs *k)
{
	for (size_t i = 0; i < ch->npref; i++)
		if (ch->pref[i].kdcs == k)
			return ch->pref[i].good;
	return 0;
}

static void
pref_set(struct chain *ch, const struct kw_kdcs *k, size_t good)
{
	size_t i;

	for (i = 0; i < ch->npref; i++)
		if (ch->pref[i].kdcs == k)
			break;
	if (i == ch->npref) {
		if (ch->npref == sizeof ch->pref / sizeof ch->pref[0])
			return;
		ch->npref++;
	}
	ch->pref[i].kdcs = k;
	ch->pref[i].good = good;
}

static int
kdc_sockaddr(const struct kw_addr *a, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, a->host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof *sin;
		return 0;
	}
	if (inet_pton(AF_INET6, a->host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof *sin6;
		return 0;
	}
	return -1;
}

static void stepper_send(struct stepper *);

static void
stepper_fail(struct stepper *st, krb5_error_code code, enum kw_reason r, const char *detail)
{
	krb5_free_data_contents(st->ch->ctx, &st->out);
	st->done(st, code, r, detail);
}

static void
stepper_reply(void *arg, enum kw_reason r, const unsigned char *reply, size_t len)
{
	struct stepper *st = arg;
	const struct kw_addr *kdc = &st->kdcs->addrs[kdc_current(st)];
	krb5_data in;

	st->req = NULL;
	if (r != KW_OK) {
		/*
		 * Fail over to the next KDC of the realm while the deadline allows.  A pre-authenticated
		 * AS-REQ does so only when no KDC can have judged it (refused, unreachable): a slow KDC
		 * may still count it, and the next one would count it again.
		 */
		int reached = r != KW_R_REFUSED && r != KW_R_UNREACHABLE;
		if (st->kdc_tries + 1 < st->kdcs->n && probe_remaining(st->ch->job) > 0.05 &&
		    !(st->once && reached)) {
			log_debug("%s: KDC %s for %s: %s, trying the next one", st->ch->job->region->name,
			    kdc->host, st->realm, reason_name(r));
			st->kdc_tries++;
			stepper_send(st);
			return;
		}
		char detail[400];
		snprintf(detail, sizeof detail, "no KDC of %.100s answered (last: %.64s over %s: %s)%s",
		    st->realm, kdc->host, st->tcp ? "TCP" : "UDP", reason_name(r),
		    st->once && reached ? "; with pre-authentication it is sent to one KDC only, and "
		    "counted as a failed attempt" : "");
		if (st->reserved) {
			st->reserved = 0;
			lockout_end(reached ? LOCKOUT_MAYBE : LOCKOUT_NOT_JUDGED, r, detail);
		}
		stepper_fail(st, -1, r, detail);
		return;
	}
	snprintf(st->kdc_used, sizeof st->kdc_used, "%s", kdc->host);
	pref_set(st->ch, st->kdcs, kdc_current(st));
	st->last_error = 0;
	st->etext[0] = '\0';
	if (len > 0 && reply[0] == 0x7e) {
		/* a KRB-ERROR: keep its code and e-text, the step call only gives a code */
		krb5_data d = { .magic = KV5M_DATA, .length = (unsigned)len, .data = (char *)(uintptr_t)reply };
		krb5_error *err = NULL;
		if (krb5_rd_error(st->ch->ctx, &d, &err) == 0) {
			st->last_error = (int)err->error;
			snprintf(st->etext, sizeof st->etext, "%.*s", (int)err->text.length,
			    err->text.data ? err->text.data : "");
			krb5_free_error(st->ch->ctx, err);
		}
	}
	if (st->kind == KRB5_HOP_AS)
		as_reply_seen(st, len > 0 && reply[0] == 0x7e);
	krb5_free_data_contents(st->ch->ctx, &st->out);
	in.magic = KV5M_DATA;
	in.length = (unsigned)len;
	in.data = (char *)(uintptr_t)reply;
	st->tcp = 0;
	stepper_step(st, &in);
}

static void
stepper_send(struct stepper *st)
{
	struct chain *ch = st->ch;
	const struct kw_addr *kdc = &st->kdcs->addrs[kdc_current(st)];
	struct sockaddr_storage ss;
	socklen_t sslen;
	double left = probe_remaining(ch->job) * 1000;
	/* a silent KDC may cost a share of the deadline, so that the others still get their turn */
	double share = (double)ch->job->conf->timeout_ms / (double)(st->kdcs->n + 1);
	double try = share < KDC_TRY_MS ? share : KDC_TRY_MS;
	unsigned try_ms = (unsigned)(left < try ? left : try);

	/* the last KDC of the list may use all the time that is left, and so may a request sent once */
	if (st->kdc_tries + 1 == st->kdcs->n || st->once)
		try_ms = (unsigned)left;
	if (try_ms < 10)
		try_ms = 10;
	if (kdc_sockaddr(kdc, kdc->port ? kdc->port : 88, &ss, &sslen) == -1) {
		char detail[256];
		snprintf(detail, sizeof detail, "KDC %.64s of %.100s: only numeric addresses can be used here",
		    kdc->host, st->realm);
		stepper_fail(st, -1, KW_R_INTERNAL, detail);
		return;
	}
	st->req = kdc_send(probe_base(ch->job), (struct sockaddr *)&ss, sslen,
	    (st->tcp || st->out.length > UDP_PREFERENCE_LIMIT ? KDC_SEND_TCP : 0) |
	    (st->once ? KDC_SEND_ONCE : 0), (const unsigned char *)st->out.data,
	    st->out.length, try_ms, stepper_reply, st);
	if (st->req == NULL)
		stepper_fail(st, -1, KW_R_INTERNAL, "cannot send to the KDC");
}

/* Which KDCs this Region uses for realm: the user realm's, or the Region's for the database realm. */
static const struct kw_kdcs *
kdcs_for(struct chain *ch, const char *realm)
{
	const struct kw_realm *r = config_realm(ch->job->conf, realm);

	if (r == NULL)
		return NULL;
	return config_region_kdcs(ch->job->conf, ch->job->region, r);
}

/*
 * An AS reply seen (lockout.h).  To a pre-authenticated request: an AS-REP proves the key, a
 * KRB-ERROR saying the key is wrong or the account locked counts and holds, RESPONSE_TOO_BIG
 * keeps the reservation for the TCP resend (the KDC accepted the key: the reply was just too
 * long), anything else did not judge the key.  Without pre-authentication only "locked" matters.
 */
static void
as_reply_seen(struct stepper *st, int is_error)
{
	enum kw_reason r = krb5_reason(ERROR_TABLE_BASE_krb5 + st->last_error, KRB5_HOP_AS, st->etext);
	int key_answer = is_error && (st->last_error == KRB5KDC_ERR_PREAUTH_FAILED - ERROR_TABLE_BASE_krb5 ||
	    st->last_error == KRB5KRB_AP_ERR_BAD_INTEGRITY - ERROR_TABLE_BASE_krb5 ||
	    st->last_error == KRB5KDC_ERR_CLIENT_REVOKED - ERROR_TABLE_BASE_krb5);
	char detail[200];

	snprintf(detail, sizeof detail, "KDC %.64s%s%.100s", st->kdc_used, st->etext[0] ? ": " : "",
	    st->etext);
	if (!st->reserved) {
		if (is_error && st->last_error == KRB5KDC_ERR_CLIENT_REVOKED - ERROR_TABLE_BASE_krb5)
			lockout_note_locked(KW_R_CLIENT_REVOKED, detail);
		return;
	}
	if (is_error && st->last_error == KRB5KRB_ERR_RESPONSE_TOO_BIG - ERROR_TABLE_BASE_krb5)
		return;
	st->reserved = 0;
	if (!is_error)
		lockout_end(LOCKOUT_SUCCESS, KW_OK, detail);
	else if (st->last_error == 0)	/* a KRB-ERROR we could not read: it may say "wrong key" */
		lockout_end(LOCKOUT_MAYBE, KW_R_PROTOCOL, detail);
	else if (key_answer)
		lockout_end(LOCKOUT_KEY_FAILED, r, detail);
	else
		lockout_end(LOCKOUT_NOT_JUDGED, r, detail);
}

static void stepper_reserve(struct stepper *);

static void
budget_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	stepper_reserve(arg);
}

/*
 * A pre-authenticated AS-REQ asks the identity's budget before it leaves: go, wait for another
 * exchange of the identity to end (polled: it ends within its own run's deadline), or held.
 */
static void
stepper_reserve(struct stepper *st)
{
	struct chain *ch = st->ch;
	enum kw_reason r = KW_R_INTERNAL;
	char why[256];
	struct timeval tv = { 0, BUDGET_POLL_MS * 1000 };

	switch (lockout_reserve(probe_remaining(ch->job), st->budget_why, sizeof st->budget_why)) {
	case LOCKOUT_GO:
		st->waiting = 0;
		st->reserved = 1;
		stepper_route(st);
		return;
	case LOCKOUT_WAIT:
		st->waiting = 1;
		if (st->budget_ev == NULL &&
		    (st->budget_ev = evtimer_new(probe_base(ch->job), budget_poll_cb, st)) == NULL) {
			stepper_fail(st, -1, KW_R_INTERNAL, "cannot wait for the lockout budget");
			return;
		}
		evtimer_add(st->budget_ev, &tv);
		return;
	case LOCKOUT_HELD:
		st->waiting = 0;
		st->held = 1;
		lockout_held(&r, why, sizeof why);
		stepper_fail(st, -1, r, st->budget_why);
		return;
	}
}

void
stepper_step(struct stepper *st, krb5_data *in)
{
	struct chain *ch = st->ch;
	krb5_data realm = { 0 };
	unsigned int flags = 0;
	krb5_data empty = { .magic = KV5M_DATA, .length = 0, .data = NULL };
	krb5_error_code rc;

	/* the first step takes an empty reply, not NULL: MIT reads its length */
	if (in == NULL)
		in = &empty;
	st->out.data = NULL;
	st->out.length = 0;
	if (st->icc != NULL)
		rc = krb5_init_creds_step(ch->ctx, st->icc, in, &st->out, &realm, &flags);
	else
		rc = krb5_tkt_creds_step(ch->ctx, st->tcc, in, &st->out, &realm, &flags);

	if (rc == KRB5KRB_ERR_RESPONSE_TOO_BIG) {
		/* the same request is handed back: send it again over TCP, to the same KDC */
		st->tcp = 1;
	} else if (rc == KRB5_KDC_UNREACH) {
		/*
		 * We carry every request ourselves, so the library never fails to reach a KDC: this is
		 * its word for a referral that leads back to a realm already asked.
		 */
		char detail[256];
		snprintf(detail, sizeof detail, "referral loop: %.200s", st->realms);
		krb5_free_data_contents(ch->ctx, &realm);
		stepper_fail(st, rc, KW_R_REFERRAL_LOOP, detail);
		return;
	} else if (rc != 0) {
		const char *msg = krb5_get_error_message(ch->ctx, rc);
		char detail[256];
		snprintf(detail, sizeof detail, "%s%s%s%s%s", msg, st->kdc_used[0] ? " (KDC " : "",
		    st->kdc_used, st->kdc_used[0] ? ")" : "", "");
		krb5_free_error_message(ch->ctx, msg);
		krb5_free_data_contents(ch->ctx, &realm);
		stepper_fail(st, rc, krb5_reason(rc, st->kind, st->etext), detail);
		return;
	} else if (!(flags & KRB5_INIT_CREDS_STEP_FLAG_CONTINUE)) {
		krb5_free_data_contents(ch->ctx, &realm);
		stepper_fail(st, 0, KW_OK, "");
		return;
	}

	snprintf(st->realm, sizeof st->realm, "%.*s", (int)realm.length, realm.data ? realm.data : "");
	krb5_free_data_contents(ch->ctx, &realm);
	if (!st->tcp) {
		size_t used = strlen(st->realms);
		snprintf(st->realms + used, sizeof st->realms - used, "%s%.60s", used ? " -> " : "", st->realm);
	}
	if (st->watch != NULL && st->watch(st, st->realm))
		return;		/* the watcher ended the stepper */
	/* requests made of the user realm, not sends: failover and TCP resend the same one */
	if (!st->tcp && strcmp(st->realm, ch->user_realm) == 0)
		st->requests++;
	if (st->tcp) {
		stepper_send(st);	/* the same request again, under the same reservation */
		return;
	}
	st->once = st->kind == KRB5_HOP_AS &&
	    lockout_as_req_has_preauth((const unsigned char *)st->out.data, st->out.length);
	if (st->once) {
		stepper_reserve(st);
		return;
	}
	stepper_route(st);
}

static void
located_cb(void *arg, enum kw_reason r, const char *detail, struct kw_kdcs *found)
{
	struct located *lo = arg;

	lo->done = 1;
	lo->reason = r;
	snprintf(lo->detail, sizeof lo->detail, "%s", detail);
	lo->kdcs = *found;
	/* each waiting stepper goes on (or fails); none is added while this runs */
	for (size_t i = 0; i < lo->nwaiting; i++) {
		struct stepper *st = lo->waiting[i];
		st->parked = 0;
		stepper_route(st);
	}
	lo->nwaiting = 0;
}

/*
 * Sends a new request to the realm's KDCs for this Region, looking them up first when the
 * configuration gives "dns" or names (the stepper waits meanwhile).
 */
static void
stepper_route(struct stepper *st)
{
	struct chain *ch = st->ch;
	const struct kw_kdcs *k = kdcs_for(ch, st->realm);
	char detail[256];

	if (k == NULL) {
		snprintf(detail, sizeof detail, "no KDC known for realm %.100s in %.64s", st->realm,
		    ch->job->region->name);
		stepper_fail(st, -1, KW_R_NO_REFERRAL, detail);
		return;
	}
	if (!kdc_list_numeric(k)) {
		struct located *lo = NULL;
		const struct kw_realm *realm = config_realm(ch->job->conf, st->realm);

		for (size_t i = 0; i < ch->nloc; i++)
			if (ch->loc[i].src == k)
				lo = &ch->loc[i];
		if (lo == NULL) {
			if (ch->nloc == sizeof ch->loc / sizeof ch->loc[0]) {
				stepper_fail(st, -1, KW_R_INTERNAL, "too many realms to look up");
				return;
			}
			lo = &ch->loc[ch->nloc++];
			lo->ch = ch;
			lo->src = k;
		}
		if (!lo->done) {
			lo->waiting = xreallocarray(lo->waiting, lo->nwaiting + 1, sizeof *lo->waiting);
			lo->waiting[lo->nwaiting++] = st;
			st->parked = 1;
			st->kdcs = NULL;
			if (lo->op == NULL) {
				double left = probe_remaining(ch->job) * 1000 / 2;
				lo->op = kdc_locate_start(probe_base(ch->job), ch->job->region, realm, k,
				    left > 1 ? (unsigned)left : 1, located_cb, lo);
			}
			return;
		}
		if (lo->reason != KW_OK) {
			snprintf(detail, sizeof detail, "finding the KDCs of %.100s in %.64s: %.60s",
			    st->realm, ch->job->region->name, lo->detail);
			stepper_fail(st, -1, lo->reason, detail);
			return;
		}
		k = &lo->kdcs;
	}
	if (k->n == 0) {
		snprintf(detail, sizeof detail, "no KDC known for realm %.100s in %.64s", st->realm,
		    ch->job->region->name);
		stepper_fail(st, -1, KW_R_INTERNAL, detail);
		return;
	}
	/* a new request begins with the KDC that answered last in this run */
	st->kdcs = k;
	st->kdc_first = pref_get(ch, k);
	st->kdc_tries = 0;
	stepper_send(st);
}

void
stepper_cancel(struct stepper *st)
{
	if (st->req != NULL) {
		kdc_req_cancel(st->req);
		st->req = NULL;
	}
	if (st->reserved) {
		/* ended before its answer (deadline, reload, stop): the KDC may have judged it */
		st->reserved = 0;
		lockout_end(LOCKOUT_MAYBE, KW_R_TIMEOUT, "no answer within the deadline");
	}
	if (st->budget_ev != NULL) {
		event_free(st->budget_ev);
		st->budget_ev = NULL;
	}
	st->waiting = 0;
	if (st->ch != NULL && st->ch->ctx != NULL) {
		krb5_free_data_contents(st->ch->ctx, &st->out);
		if (st->icc != NULL)
			krb5_init_creds_free(st->ch->ctx, st->icc);
		if (st->tcc != NULL)
			krb5_tkt_creds_free(st->ch->ctx, st->tcc);
	}
	st->icc = NULL;
	st->tcc = NULL;
}

/* The enctype and key version of a ticket, as klist -e and kvno print them. */
void
ticket_info(krb5_context ctx, const krb5_creds *creds, struct hop_result *h)
{
	krb5_ticket *tkt = NULL;

	h->enctype[0] = '\0';
	h->kvno = -1;
	if (krb5_decode_ticket(&creds->ticket, &tkt) != 0)
		return;
	if (krb5_enctype_to_name(tkt->enc_part.enctype, 0, h->enctype, sizeof h->enctype) != 0)
		snprintf(h->enctype, sizeof h->enctype, "%d", (int)tkt->enc_part.enctype);
	h->kvno = (int)tkt->enc_part.kvno;
	krb5_free_ticket(ctx, tkt);
}

/* Starts a TGS request for server on the run's cache. */
int
stepper_start_tgs(struct stepper *st, krb5_principal server, krb5_flags options)
{
	struct chain *ch = st->ch;
	krb5_creds in = { 0 };

	in.client = ch->me;
	in.server = server;
	st->kind = KRB5_HOP_TGS;
	st->kdcs = NULL;
	st->kdc_first = st->kdc_tries = 0;
	st->kdc_used[0] = '\0';
	st->realms[0] = '\0';
	if (krb5_tkt_creds_init(ch->ctx, ch->cc, &in, options, &st->tcc) != 0)
		return -1;
	stepper_step(st, NULL);
	return 0;
}

/* What a stepper was waiting for when the deadline came, in words. */
void
stepper_timeout(struct stepper *st, struct hop_result *h, const struct timespec *t0, const char *what)
{
	const char *kdc = st->kdcs && st->kdcs->n ? st->kdcs->addrs[kdc_current(st)].host : "";

	if (st->waiting) {
		hop_set(h, KW_R_TIMEOUT, chain_since(t0), "%s: no answer within the deadline (%s)", what,
		    st->budget_why);
		return;
	}
	if (st->parked) {
		hop_set(h, KW_R_TIMEOUT, chain_since(t0), "%s: no answer within the deadline (looking up the "
		    "KDCs of %.100s through the Region's resolvers)", what, st->realm);
		return;
	}

	hop_set(h, KW_R_TIMEOUT, chain_since(t0), "%s: no answer within the deadline%s%.64s%s%.100s%s", what,
	    *kdc ? " (waiting for KDC " : "", kdc, *kdc ? " of " : "", *kdc ? st->realm : "",
	    *kdc ? ")" : "");
}
