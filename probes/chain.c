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
 * probe_done() when every branch has ended.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>
#include <krb5/krb5.h>

#include "../lib/log.h"
#include "../lib/metrics.h"
#include "../lib/xmalloc.h"
#include "../net/kdc_locate.h"
#include "../net/kdc_transport.h"
#include "../net/krb5_reason.h"
#include "lockout.h"
#include "login.h"
#include "probe.h"

#define UDP_PREFERENCE_LIMIT 1465	/* MIT's default: larger requests go over TCP first */
#define KDC_TRY_MS 1000			/* per KDC before failing over to the next one */
#define BUDGET_POLL_MS 25		/* asking the lockout budget again while another exchange runs */

enum hop { HOP_TGT, HOP_REFERRAL, HOP_SERVICE_TICKET, HOP_LOGIN, HOP_COUNT };
static const char *const hop_names[HOP_COUNT] = { "tgt", "referral", "service_ticket", "login" };

struct hop_result {
	int ran;			/* 0: an earlier hop broke, so this one never ran */
	enum kw_reason reason;
	double duration;
	char detail[256];
	char enctype[48];	/* the ticket's enctype, "" if none */
	int kvno;		/* the ticket's key version, -1 if none */
};

struct chain;
struct stepper;
typedef void step_done_fn(struct stepper *, krb5_error_code, enum kw_reason, const char *detail);

/*
 * Drives one krb5_init_creds or krb5_tkt_creds context: each step hands back a request and a
 * realm; we send it to that realm's KDCs for this Region, failing over in order, and feed the
 * reply back.  `watch` sees each realm before its request goes out (the referral path stops there).
 */
struct stepper {
	struct chain *ch;
	krb5_init_creds_context icc;
	krb5_tkt_creds_context tcc;
	enum krb5_hop_kind kind;
	struct kdc_req *req;
	krb5_data out;			/* the request in flight (ours, freed after the reply) */
	char realm[256];
	int tcp;			/* the next send goes over TCP (RESPONSE_TOO_BIG) */
	size_t kdc_first;		/* where in the realm's list this request began */
	size_t kdc_tries;		/* KDCs that failed it so far */
	const struct kw_kdcs *kdcs;
	char kdc_used[64];		/* the KDC that answered last */
	char etext[128];		/* e-text of the last KRB-ERROR seen */
	int last_error;			/* its code, 0 if the last reply was not an error */
	int requests;			/* sent to the user realm, for the referral path */
	int parked;			/* waiting for its realm's KDCs to be looked up */
	char realms[192];		/* the realms asked, in order, for a referral loop's words */
	/*
	 * A pre-authenticated AS-REQ (lockout.h): it holds a reservation of the identity's budget
	 * and goes to one KDC only, once.
	 */
	int once;
	int reserved;
	int waiting;			/* for the budget: another exchange of the identity runs */
	int held;			/* the budget said no */
	struct event *budget_ev;
	char budget_why[256];
	step_done_fn *done;
	int (*watch)(struct stepper *, const char *realm);
	void *arg;
};

struct branch {
	struct chain *ch;
	const struct kw_cluster *c;
	char spn[256];
	struct stepper st;
	struct login *login;
	struct timespec t0;
	struct hop_result referral_path, service, login_r;
	int state;			/* BR_* */
	int ended;
};

enum { BR_REFERRAL_PATH, BR_SERVICE_TICKET, BR_LOGIN, BR_DONE };

struct chain {
	struct probe_job *job;
	krb5_context ctx;
	krb5_ccache cc;
	char ccname[96];
	krb5_principal me;
	krb5_keytab kt;
	krb5_get_init_creds_opt *opt;
	const char *user_realm, *db_realm;
	struct stepper st;
	struct timespec t0;
	struct hop_result hops[HOP_COUNT];	/* tgt and explicit referral; per branch for the rest */
	struct branch *br;
	size_t nbr, pending;
	int state;				/* CH_* */
	int held;				/* the TGT was held back by the lockout budget */
	struct event *finish;			/* ends the run from the loop, never from a callback chain */
	char dns_servers[512];			/* the Region's resolvers, for the logins' lookups */
	/*
	 * The KDC lists this run looked up ("dns" or host names, through the Region's resolvers),
	 * once per list, with the steppers that wait for them.
	 */
	struct located {
		struct chain *ch;
		const struct kw_kdcs *src;	/* the configured list */
		struct kw_kdcs kdcs;		/* numeric, in the order to try */
		struct kdc_locate *op;
		int done;
		enum kw_reason reason;
		char detail[256];
		struct stepper **waiting;
		size_t nwaiting;
	} loc[4];
	size_t nloc;
	/* per KDC list, the KDC that last answered: later requests of the run begin there */
	struct { const struct kw_kdcs *kdcs; size_t good; } pref[4];
	size_t npref;
};

enum { CH_TGT, CH_REFERRAL, CH_BRANCHES, CH_FINISHED };

static struct {
	struct mfamily *success, *duration, *last_success, *failures, *enctype, *kvno;
	struct mfamily *login_success, *region_up, *backoff, *announced;
} m;

static unsigned run_counter;

static void chain_end(struct chain *);
static void branch_next(struct branch *);
static void stepper_step(struct stepper *, krb5_data *in);
static void stepper_route(struct stepper *);
static void stepper_cancel(struct stepper *);
static void as_reply_seen(struct stepper *, int is_error);

static double
since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
hop_set(struct hop_result *h, enum kw_reason r, double duration, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
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

/* ---- routing ------------------------------------------------------------------------------ */

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
	switch (e) {
	case KW_ENGINE_MYSQL: return "mysql";
	case KW_ENGINE_MARIADB: return "mariadb";
	case KW_ENGINE_POSTGRESQL: return "postgres";
	}
	return "host";
}

/* ---- the stepper --------------------------------------------------------------------------- */

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

static void
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

static void
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
static void
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
static int
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

/* ---- per cluster --------------------------------------------------------------------------- */

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
	hop_set(&b->login_r, r->reason, since(&b->t0), "%s", r->detail);
	if (r->announced_spn[0] != '\0') {
		/* one series per cluster: what the server said last (Aurora's SPN form is undocumented) */
		const char *any[4] = { b->ch->job->region->name, b->c->name, NULL, NULL };
		const char *v[4] = { b->ch->job->region->name, b->c->name, r->announced_spn,
		    r->announced_realm };
		double old;
		if (!mfamily_get(m.announced, v, &old))
			mfamily_drop_match(m.announced, any);
		mfamily_set(m.announced, v, 1);
	}
	branch_end(b);
}

static void
ticket_fetched(struct stepper *st, krb5_error_code code, enum kw_reason r, const char *detail)
{
	struct branch *b = st->arg;

	(void)code;
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
	if (stepper_start_tgs(&b->st, server, 0) == -1)
		login_ticket_ready(b->login, KW_R_INTERNAL);
	krb5_free_principal(b->ch->ctx, server);
}

static void
service_ticket_done(struct stepper *st, krb5_error_code code, enum kw_reason r, const char *detail)
{
	struct branch *b = st->arg;
	struct chain *ch = b->ch;
	krb5_creds creds;

	(void)code;
	if (r != KW_OK) {
		hop_set(&b->service, r, since(&b->t0), "%s: %s", b->spn, detail);
		stepper_cancel(st);
		branch_end(b);
		return;
	}
	if (krb5_tkt_creds_get_creds(ch->ctx, st->tcc, &creds) == 0) {
		/* the realm-less copy libpq's GSSAPI looks up is login_pg.c's (pg_ticket), checked */
		ticket_info(ch->ctx, &creds, &b->service);
		krb5_free_cred_contents(ch->ctx, &creds);
	}
	hop_set(&b->service, KW_OK, since(&b->t0), "%s from %s, kvno %d, %s", b->spn, st->kdc_used,
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
		hop_set(&b->referral_path, KW_OK, since(&b->t0), "%s referred %s to %s", ch->user_realm,
		    b->spn, realm);
	} else {
		hop_set(&b->referral_path, KW_R_NO_REFERRAL, since(&b->t0),
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
	    since(&b->t0), "referral path for %s: %s", b->spn, r == KW_OK ? "no referral" : detail);
	stepper_cancel(st);
	b->state = BR_SERVICE_TICKET;
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
		    stepper_start_tgs(&b->st, server, 0) == -1) {
			hop_set(&b->service, KW_R_INTERNAL, 0, "cannot request %s", b->spn);
			branch_end(b);
		}
		krb5_free_principal(ch->ctx, server);
		return;
	case BR_LOGIN: {
		struct login_callbacks cb = { .done = login_done, .need_ticket = login_needs_ticket, .arg = b };
		double left = probe_remaining(ch->job) * 1000;

		clock_gettime(CLOCK_MONOTONIC, &b->t0);
		b->login = login_start(probe_base(ch->job), b->c, ch->ccname, ch->dns_servers, b->spn,
		    left > 1 ? (unsigned)left : 1, &cb);
		if (b->login == NULL) {
			hop_set(&b->login_r, KW_R_INTERNAL, 0, "the login could not start");
			branch_end(b);
		}
		return;
	}
	default:
		fatalx("branch in state %d", b->state);
	}
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
branches_start(struct chain *ch)
{
	ch->state = CH_BRANCHES;
	ch->pending = ch->nbr;
	if (ch->nbr == 0) {
		event_active(ch->finish, 0, 0);
		return;
	}
	for (size_t i = 0; i < ch->nbr; i++) {
		struct branch *b = &ch->br[i];
		clock_gettime(CLOCK_MONOTONIC, &b->t0);
		branch_next(b);
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
		hop_set(h, KW_OK, since(&ch->t0), "krbtgt/%s@%s from %s, kvno %d, %s", ch->db_realm,
		    ch->user_realm, st->kdc_used, h->kvno, h->enctype);
	} else {
		hop_set(h, r == KW_OK ? KW_R_PROTOCOL : r, since(&ch->t0), "krbtgt/%s@%s: %s",
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
		hop_set(h, r, since(&ch->t0), "TGT for %s from %s, %s", ch->job->conf->principal,
		    st->kdc_used, h->enctype);
	} else {
		hop_set(h, r == KW_OK ? KW_R_PROTOCOL : r, since(&ch->t0), "%s: %s",
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

	mfamily_set(m.success, v, h->ran && h->reason == KW_OK);
	if (h->ran)
		mfamily_set(m.duration, v, h->duration);
	if (h->ran && h->reason == KW_OK)
		mfamily_set(m.last_success, v, (double)time(NULL));
	if (h->ran && h->reason != KW_OK) {
		const char *f[4] = { region, c->name, hop_names[hop], reason_name(h->reason) };
		mfamily_add(m.failures, f, 1);
	}
	if (h->ran && h->reason == KW_OK && h->kvno >= 0 && hop != HOP_TGT) {
		const char *any[4] = { region, c->name, hop_names[hop], NULL };
		const char *e[4] = { region, c->name, hop_names[hop], h->enctype };
		double old;
		if (!mfamily_get(m.enctype, e, &old))
			mfamily_drop_match(m.enctype, any);
		mfamily_set(m.enctype, e, 1);
		mfamily_set(m.kvno, v, h->kvno);
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
	mfamily_set(m.backoff, NULL, lockout_backoff_seconds());
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
		mfamily_set(m.login_success, lv, ok);
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
	mfamily_set(m.region_up, rv, ch->nbr > 0 ? all_login : first_bad == NULL);

	enum kw_reason reason = first_bad ? first_bad->reason : KW_OK;
	char detail[256];
	if (first_bad)
		snprintf(detail, sizeof detail, "%.64s%s%.16s: %.150s", first_cluster, *first_cluster ? " " : "",
		    first_hop, first_bad->detail);
	else
		snprintf(detail, sizeof detail, "every hop of %zu cluster%s ok", ch->nbr,
		    ch->nbr == 1 ? "" : "s");
	if (first_bad)
		snprintf(job->failed_step, sizeof job->failed_step, "%.64s%s%.16s", first_cluster,
		    *first_cluster ? " " : "", first_hop);
	job->sink->observe(job, NULL, first_bad == NULL,
	    first_hop, first_bad ? reason_name(reason) : NULL, first_bad ? detail : NULL);
	chain_end(ch);
	probe_done(job, reason, "%s", detail);
}

static void
chain_free(struct chain *ch)
{
	for (size_t i = 0; i < ch->nbr; i++) {
		if (ch->br[i].login != NULL)
			login_cancel(ch->br[i].login);
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
	if (ch->ctx != NULL)
		krb5_free_context(ch->ctx);
	free(ch);
}

static void
chain_end(struct chain *ch)
{
	ch->state = CH_FINISHED;
	ch->job->run = NULL;
	chain_free(ch);
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
	if ((rc = krb5_init_context(&ch->ctx)) != 0) {
		ch->ctx = NULL;
		goto fail;
	}
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
	ch->db_realm = NULL;
	for (size_t i = 0; i < ch->nbr; i++) {
		struct branch *b = &ch->br[i];
		const struct kw_cluster *c = &job->region->clusters[i];
		const char *realm = db_realm_for(conf, ch->user_realm, c->host);

		b->ch = ch;
		b->c = c;
		b->st.ch = ch;
		b->st.arg = b;
		b->service.kvno = b->login_r.kvno = b->referral_path.kvno = -1;
		if (c->spn != NULL)
			snprintf(b->spn, sizeof b->spn, "%s", c->spn);
		else
			snprintf(b->spn, sizeof b->spn, "%s/%s@%s", engine_service(c->engine), c->host,
			    realm ? realm : "");
		if (ch->db_realm == NULL) {
			const char *at = strrchr(b->spn, '@');
			const struct kw_realm *r = at ? config_realm(conf, at + 1) : NULL;
			ch->db_realm = r ? r->name : realm;
		}
	}
	if (ch->db_realm == NULL)
		ch->db_realm = db_realm_for(conf, ch->user_realm, "");
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

/* What a stepper was waiting for when the deadline came, in words. */
static void
stepper_timeout(struct stepper *st, struct hop_result *h, const struct timespec *t0, const char *what)
{
	const char *kdc = st->kdcs && st->kdcs->n ? st->kdcs->addrs[kdc_current(st)].host : "";

	if (st->waiting) {
		hop_set(h, KW_R_TIMEOUT, since(t0), "%s: no answer within the deadline (%s)", what,
		    st->budget_why);
		return;
	}
	if (st->parked) {
		hop_set(h, KW_R_TIMEOUT, since(t0), "%s: no answer within the deadline (looking up the "
		    "KDCs of %.100s through the Region's resolvers)", what, st->realm);
		return;
	}

	hop_set(h, KW_R_TIMEOUT, since(t0), "%s: no answer within the deadline%s%.64s%s%.100s%s", what,
	    *kdc ? " (waiting for KDC " : "", kdc, *kdc ? " of " : "", *kdc ? st->realm : "",
	    *kdc ? ")" : "");
}

/* The deadline: the hop in flight timed out; report every hop as far as the run got. */
static void
chain_expire(struct probe_job *job)
{
	struct chain *ch = job->run;

	if (ch == NULL) {
		probe_done(job, KW_R_TIMEOUT, "no answer within the deadline");
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
		for (size_t i = 0; i < ch->nbr; i++) {
			struct branch *b = &ch->br[i];

			if (b->ended)
				continue;
			if (b->state == BR_REFERRAL_PATH)
				stepper_timeout(&b->st, &b->referral_path, &b->t0, "the referral path");
			else if (b->state == BR_SERVICE_TICKET)
				stepper_timeout(&b->st, &b->service, &b->t0, b->spn);
			else if (b->state == BR_LOGIN && b->login != NULL && b->st.tcc != NULL)
				stepper_timeout(&b->st, &b->login_r, &b->t0, "the ticket the server announced");
			else
				hop_set(&b->login_r, KW_R_TIMEOUT, since(&b->t0),
				    "%s:%u: no login within the deadline", b->c->host, b->c->port);
		}
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

	m.success = metrics_family(reg, "krbwatch_hop_success",
	    "Whether the hop of the login path succeeded in the last run (tgt, referral, service_ticket, login).",
	    METRIC_GAUGE, 3, hop_l);
	m.duration = metrics_family(reg, "krbwatch_hop_duration_seconds",
	    "How long the hop took in the last run.", METRIC_GAUGE, 3, hop_l);
	m.last_success = metrics_family(reg, "krbwatch_hop_last_success_timestamp_seconds",
	    "When the hop last succeeded, in seconds since the epoch.", METRIC_GAUGE, 3, hop_l);
	m.failures = metrics_family(reg, "krbwatch_hop_failures_total",
	    "Failed hops, by reason.", METRIC_COUNTER, 4, fail_l);
	m.enctype = metrics_family(reg, "krbwatch_ticket_enctype_info",
	    "The encryption type of the ticket a hop obtained; arcfour-hmac (RC4) is a warning sign.",
	    METRIC_GAUGE, 4, enc_l);
	m.kvno = metrics_family(reg, "krbwatch_ticket_kvno",
	    "The key version number of the ticket a hop obtained; Regions that differ for the referral missed a trust key rotation.",
	    METRIC_GAUGE, 3, hop_l);
	m.login_success = metrics_family(reg, "krbwatch_login_success",
	    "Whether the Kerberos login to the cluster succeeded in the last run.", METRIC_GAUGE, 2, cl_l);
	m.region_up = metrics_family(reg, "krbwatch_region_auth_up",
	    "1 when every cluster of the Region could be logged in to with Kerberos in the last run.",
	    METRIC_GAUGE, 1, r_l);
	m.backoff = metrics_family(reg, "krbwatch_identity_backoff_seconds",
	    "Seconds until the monitoring identity may send an AS exchange again: held back after preauth_failed or client_revoked, or its identity.max_failed_attempts spent (0: not held back).",
	    METRIC_GAUGE, 0, NULL);
	mfamily_set(m.backoff, NULL, 0);
	m.announced = metrics_family(reg, "krbwatch_login_announced_spn_info",
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
