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
#include <profile.h>

#include "../lib/log.h"
#include "../lib/metrics.h"
#include "../lib/xmalloc.h"
#include "../net/dns_client.h"
#include "../net/kdc_transport.h"
#include "../net/krb5_env.h"
#include "probe.h"

#define KDC_PORT 88
#define KPASSWD_PORT 464
#define KRB_ERROR_TAG 0x7e		/* [APPLICATION 30] */
#define AS_REP_TAG 0x6b			/* [APPLICATION 11] */
#define KRB_PRIV_TAG 0x75		/* [APPLICATION 21] */

/* The smallest kpasswd request kadmind answers: length 7, version 1, no AP-REQ, one byte. */
static const unsigned char kpasswd_probe[] = { 0x00, 0x07, 0x00, 0x01, 0x00, 0x00, 0x00 };

enum t_state { T_RESOLVING, T_SENT, T_ENDED };

struct kdc_run;
struct lookup;

/* One KDC on one transport and port. */
struct target {
	struct kdc_run *run;
	enum t_state state;
	const char *realm;		/* the config's */
	char *host;			/* the kdc label: as configured, or an SRV target */
	uint16_t port;
	char port_l[8];
	int tcp, kpasswd;
	struct lookup *lk;		/* resolving host, while T_RESOLVING */
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct kdc_req *req;
	struct timespec sent;
	enum kw_reason reason;
	char why[128];			/* the words behind a failure */
	double rtt;
	int has_time;			/* the reply carried the KDC's time */
	double skew;			/* KDC time minus ours, seconds */
	int krb_error;			/* the KRB-ERROR code seen, -1 if none */
};

enum lk_kind { LK_SRV, LK_ADDR };

/* One DNS question, tried on the Region's resolvers in order while they fail to answer. */
struct lookup {
	struct kdc_run *run;
	enum lk_kind kind;
	char *name;
	int rrtype;
	size_t resolver;
	int done;
	/* LK_SRV */
	const struct kw_realm *realm;
	int tcp, kpasswd;
};

/*
 * What one run takes from DNS.  A resolver decides how many KDCs an SRV answer names: one that
 * named 2,400 made a run open a socket per target (1,023 of 1,024 descriptors), log thousands
 * of "Too many open files" lines, refuse scrapes and leave 4,800 krbwatch_kdc_up series.  An AD
 * site has a handful of DCs and a whole domain rarely more than a few dozen; past 16 per answer
 * (in priority order) the probe would learn nothing a Region's clients use, and 64 per run keeps
 * a run's sockets, and its series, a small fraction of the descriptors a process has.
 */
#define KDC_MAX_SRV_TARGETS	16	/* per SRV answer */
#define KDC_MAX_TARGETS		64	/* per run: endpoints probed, sockets open at once */

struct kdc_run {
	struct probe_job *job;
	struct target **t;
	size_t nt;
	struct lookup **lk;
	size_t nlk;
	struct dns_client **dc;		/* one per resolver of the Region, made on first use */
	size_t ndc;
	size_t pending;			/* targets not ended + lookups not done */
	int ending;			/* dns callbacks that run while clients are freed are ignored */
	struct event *finish;
	/* a realm whose KDCs could not even be found */
	enum kw_reason realm_reason;
	char realm_why[256];
	/* what the bounds left out, logged once per run with the count */
	size_t srv_dropped, targets_dropped, no_socket;
};

static struct {
	struct mfamily *up, *rtt, *skew, *failures;
} m;

static krb5_context kctx;	/* for building AS-REQs and reading KRB-ERRORs; no network ever */

static void target_send(struct target *);
static void target_end(struct target *, enum kw_reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void lookup_send(struct lookup *);

static double
ts_sub(const struct timespec *a, const struct timespec *b)
{
	return (double)(a->tv_sec - b->tv_sec) + (double)(a->tv_nsec - b->tv_nsec) / 1e9;
}

/* ---- the krb5 side ------------------------------------------------------------------------- */

/*
 * A context on a private profile with no KDC for any realm and no DNS: the library can build
 * and parse messages, and any hidden attempt to reach a KDC fails at once (PROTOCOLS.md 6.6).
 * The profile is net/krb5_env.c's, the process's one (a memfd that stays open).
 */
static int
kctx_init(void)
{
	const char *path;
	profile_t prof = NULL;
	long perr;
	krb5_error_code rc;

	if (kctx != NULL)
		return 0;
	if ((path = krb5_env_profile()) == NULL)
		return -1;
	if ((perr = profile_init_path(path, &prof)) != 0) {
		log_err("kdc probe: profile_init_path: %s", error_message(perr));
		return -1;
	}
	rc = krb5_init_context_profile(prof, KRB5_INIT_CONTEXT_SECURE, &kctx);
	profile_release(prof);
	if (rc != 0) {
		log_err("kdc probe: krb5_init_context_profile: %s", error_message(rc));
		kctx = NULL;
		return -1;
	}
	return 0;
}

/*
 * The first AS-REQ of an exchange for the monitoring principal's name in realm, without
 * pre-authentication, made by the library and never sent by it.
 */
static int
build_as_req(const char *principal, const char *realm, krb5_data *out)
{
	krb5_principal me = NULL;
	krb5_get_init_creds_opt *opt = NULL;
	krb5_init_creds_context icc = NULL;
	krb5_data in = { 0 }, rrealm = { 0 };
	unsigned int flags = 0;
	krb5_error_code rc;

	out->data = NULL;
	out->length = 0;
	if ((rc = krb5_parse_name(kctx, principal, &me)) != 0 ||
	    (rc = krb5_set_principal_realm(kctx, me, realm)) != 0 ||
	    (rc = krb5_get_init_creds_opt_alloc(kctx, &opt)) != 0 ||
	    (rc = krb5_init_creds_init(kctx, me, NULL, NULL, 0, opt, &icc)) != 0 ||
	    (rc = krb5_init_creds_step(kctx, icc, &in, out, &rrealm, &flags)) != 0)
		log_warn("kdc probe: building an AS-REQ for %s in %s: %s", principal, realm,
		    error_message(rc));
	else if (!(flags & KRB5_INIT_CREDS_STEP_FLAG_CONTINUE) || out->length == 0)
		rc = -1;
	krb5_free_data_contents(kctx, &rrealm);
	if (icc != NULL)
		krb5_init_creds_free(kctx, icc);
	if (opt != NULL)
		krb5_get_init_creds_opt_free(kctx, opt);
	if (me != NULL)
		krb5_free_principal(kctx, me);
	if (rc != 0)
		krb5_free_data_contents(kctx, out);
	return rc == 0 ? 0 : -1;
}

/* Reads a KRB-ERROR: its code and the KDC's time.  Returns -1 when it does not decode. */
static int
read_krb_error(const unsigned char *p, size_t len, int *code, double *stime)
{
	krb5_data d = { .magic = KV5M_DATA, .length = (unsigned)len, .data = (char *)(uintptr_t)p };
	krb5_error *err = NULL;

	if (len == 0 || p[0] != KRB_ERROR_TAG || krb5_rd_error(kctx, &d, &err) != 0)
		return -1;
	*code = (int)err->error;
	/* MIT 1.20 gets the microseconds wrong within a second (krb5 #9141): good to about 1 s */
	*stime = (double)err->stime + (err->susec >= 0 && err->susec < 1000000 ?
	    (double)err->susec / 1e6 : 0);
	krb5_free_error(kctx, err);
	return 0;
}

/*
 * A kpasswd reply (RFC 3244): length, version, AP-REP length, AP-REP, then KRB-PRIV or KRB-ERROR.
 * Our request has no AP-REQ, so the answer is a KRB-ERROR (MIT: result code 3 in its e-data).
 * A bare KRB-ERROR is accepted too: some servers answer a malformed request that way.
 */
static int
read_kpasswd_reply(const unsigned char *p, size_t len, int *code, double *stime)
{
	size_t msglen, aplen;
	unsigned version;

	if (len > 0 && p[0] == KRB_ERROR_TAG)
		return read_krb_error(p, len, code, stime);
	if (len < 6)
		return -1;
	msglen = (size_t)p[0] << 8 | p[1];
	version = (unsigned)p[2] << 8 | p[3];
	aplen = (size_t)p[4] << 8 | p[5];
	if (msglen != len || (version != 1 && version != 0xff80) || 6 + aplen >= len)
		return -1;
	if (aplen == 0)
		return read_krb_error(p + 6, len - 6, code, stime);
	/* an AP-REP and a KRB-PRIV: a full answer, nothing we can read without a key */
	return p[6 + aplen] == KRB_PRIV_TAG ? 0 : -1;
}

/* ---- targets ------------------------------------------------------------------------------- */

static void
run_check_done(struct kdc_run *run)
{
	if (run->pending == 0 && !run->ending)
		event_active(run->finish, 0, 0);
}

static void
target_end(struct target *t, enum kw_reason r, const char *fmt, ...)
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
	run_check_done(t->run);
}

/*
 * What a reply says: KW_OK for a KRB-ERROR or AS-REP from port 88, or a kpasswd reply from 464;
 * KW_R_PROTOCOL (with why) for anything else.  *code is the KRB-ERROR code or -1, *stime the
 * KDC's clock when *code is not -1.  Apart from the loop so that the fuzz target reaches it.
 */
static enum kw_reason
classify_reply(int kpasswd, const unsigned char *reply, size_t len, int *code, double *stime,
    char *why, size_t whylen)
{
	*code = -1;
	*stime = 0;
	if (kpasswd) {
		if (read_kpasswd_reply(reply, len, code, stime) == -1) {
			snprintf(why, whylen, "a %zu-byte answer that is no kpasswd reply", len);
			return KW_R_PROTOCOL;
		}
	} else if (len > 0 && reply[0] == AS_REP_TAG) {
		/* an AS-REP: the principal needs no pre-authentication here; no clear-text time */
	} else if (read_krb_error(reply, len, code, stime) == -1) {
		snprintf(why, whylen, "a %zu-byte answer that is neither KRB-ERROR nor AS-REP", len);
		return KW_R_PROTOCOL;
	}
	return KW_OK;
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
		target_end(t, r, NULL);
		return;
	}
	if ((r = classify_reply(t->kpasswd, reply, len, &code, &stime, why, sizeof why)) != KW_OK) {
		target_end(t, r, "%s", why);
		return;
	}
	t->krb_error = code;
	if (code != -1 && !t->kpasswd) {
		/* the KDC stamped its reply about half a round trip before it reached us */
		double ours = (double)wall.tv_sec + (double)wall.tv_nsec / 1e9 - t->rtt / 2;
		t->has_time = 1;
		t->skew = stime - ours;
	}
	target_end(t, KW_OK, NULL);
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

static void
target_send(struct target *t)
{
	struct kdc_run *run = t->run;
	krb5_data msg = { 0 };
	const void *p;
	size_t len;

	if (t->kpasswd) {
		p = kpasswd_probe;
		len = sizeof kpasswd_probe;
	} else {
		if (build_as_req(run->job->conf->principal, t->realm, &msg) == -1) {
			target_end(t, KW_R_INTERNAL, "cannot build an AS-REQ");
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
	krb5_free_data_contents(kctx, &msg);
	if (t->req == NULL) {
		t->run->no_socket++;
		target_end(t, KW_R_INTERNAL, "cannot open a socket");
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

static struct lookup *lookup_new(struct kdc_run *, enum lk_kind, const char *name, int rrtype);

/* Adds one KDC on one transport and port, unless the run has it already. */
static void
target_add(struct kdc_run *run, const char *realm, const char *host, uint16_t port, int tcp,
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
		target_send(t);
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
						target_send(t);
						return;
					}
				}
				continue;
			}
			t->lk = lk;
			return;
		}
	}
	t->lk = lookup_new(run, LK_ADDR, host, ns_t_a);
	lookup_send(t->lk);
}

/* ---- DNS ----------------------------------------------------------------------------------- */

static struct lookup *
lookup_new(struct kdc_run *run, enum lk_kind kind, const char *name, int rrtype)
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

static void
lookup_end(struct lookup *lk)
{
	if (lk->done)
		return;
	lk->done = 1;
	lk->run->pending--;
	run_check_done(lk->run);
}

static void
realm_fail(struct kdc_run *run, enum kw_reason r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
realm_fail(struct kdc_run *run, enum kw_reason r, const char *fmt, ...)
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
lookup_srv_answer(struct lookup *lk, int status, const unsigned char *abuf, int alen)
{
	struct kdc_run *run = lk->run;
	struct dns_srv *srv = NULL;
	size_t n = 0;

	if (status == ARES_SUCCESS)
		status = dns_parse_srv(abuf, alen, &srv, &n);
	if (status != ARES_SUCCESS) {
		/* a realm that publishes no kpasswd has none probed; no KDC at all is a failure */
		if (!(lk->kpasswd && (status == ARES_ENODATA || status == ARES_ENOTFOUND)))
			realm_fail(run, dns_reason(status) == KW_OK ? KW_R_PROTOCOL : dns_reason(status),
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
		target_add(run, lk->realm->name, host, srv[i].port, lk->tcp, lk->kpasswd);
	}
	dns_srv_free(srv, n);
	return 1;
}

static int
lookup_addr_answer(struct lookup *lk, int status, const unsigned char *abuf, int alen)
{
	struct kdc_run *run = lk->run;
	struct dns_addr *a = NULL;
	size_t n = 0;

	if (status == ARES_SUCCESS)
		status = dns_parse_addrs(abuf, alen, lk->rrtype, &a, &n);
	if (status == ARES_ENODATA && lk->rrtype == ns_t_a) {
		/* no IPv4 address: try IPv6 before giving up */
		lk->rrtype = ns_t_aaaa;
		lk->resolver = 0;
		lookup_send(lk);
		return 0;
	}
	for (size_t i = 0; i < run->nt; i++) {
		struct target *t = run->t[i];

		if (t->lk != lk || t->state != T_RESOLVING)
			continue;
		if (status != ARES_SUCCESS) {
			enum kw_reason r = dns_reason(status);
			target_end(t, r == KW_OK ? KW_R_PROTOCOL : r, "resolving %s: %s", lk->name,
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
		target_send(t);
	}
	free(a);
	return 1;
}

static void
lookup_cb(void *arg, int status, int timeouts, const unsigned char *abuf, int alen)
{
	struct lookup *lk = arg;
	struct kdc_run *run = lk->run;

	(void)timeouts;
	if (run->ending || lk->done)
		return;
	if (dns_resolver_failed(status) && lk->resolver + 1 < run->job->region->nresolvers &&
	    probe_remaining(run->job) > 0.1) {
		lk->resolver++;
		lookup_send(lk);
		return;
	}
	if (lk->kind == LK_SRV ? lookup_srv_answer(lk, status, abuf, alen) :
	    lookup_addr_answer(lk, status, abuf, alen))
		lookup_end(lk);
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

static void
lookup_send(struct lookup *lk)
{
	struct kdc_run *run = lk->run;
	struct dns_client *dc = run_client(run, lk->resolver);

	if (dc == NULL) {
		/* no resolver (or none usable): nothing can be found; fail what waits on it */
		if (lk->kind == LK_SRV)
			realm_fail(run, KW_R_INTERNAL, "realm %s in %s: no resolver to ask for %s",
			    lk->realm->name, run->job->region->name, lk->name);
		else
			for (size_t i = 0; i < run->nt; i++)
				if (run->t[i]->lk == lk && run->t[i]->state == T_RESOLVING)
					target_end(run->t[i], KW_R_INTERNAL, "no resolver to ask for %s",
					    lk->name);
		lookup_end(lk);
		return;
	}
	dns_query(dc, lk->name, ns_c_in, lk->rrtype, lookup_cb, lk);
}

static void
srv_discover(struct kdc_run *run, const struct kw_realm *r)
{
	static const struct { const char *svc; int tcp, kpasswd; } q[] = {
		{ "_kerberos._udp", 0, 0 }, { "_kerberos._tcp", 1, 0 },
		{ "_kpasswd._udp", 0, 1 }, { "_kpasswd._tcp", 1, 1 },
	};

	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		char name[300];
		struct lookup *lk;

		snprintf(name, sizeof name, "%s.%s", q[i].svc, r->domain);
		lk = lookup_new(run, LK_SRV, name, ns_t_srv);
		lk->realm = r;
		lk->tcp = q[i].tcp;
		lk->kpasswd = q[i].kpasswd;
		lookup_send(lk);
	}
}

/* ---- the run ------------------------------------------------------------------------------- */

static void
run_free(struct kdc_run *run)
{
	run->ending = 1;
	for (size_t i = 0; i < run->nt; i++)
		if (run->t[i]->req != NULL)
			kdc_req_cancel(run->t[i]->req);
	/* their callbacks run now with ARES_EDESTRUCTION and find the run ending */
	for (size_t i = 0; i < run->ndc; i++)
		dns_client_free(run->dc[i]);
	free(run->dc);
	for (size_t i = 0; i < run->nt; i++) {
		free(run->t[i]->host);
		free(run->t[i]);
	}
	free(run->t);
	for (size_t i = 0; i < run->nlk; i++) {
		free(run->lk[i]->name);
		free(run->lk[i]);
	}
	free(run->lk);
	if (run->finish != NULL)
		event_free(run->finish);
	free(run);
}

static const char *
proto_name(const struct target *t)
{
	return t->tcp ? "tcp" : "udp";
}

static void
run_record(struct kdc_run *run)
{
	const char *region = run->job->region->name;
	const char *all[] = { region, NULL, NULL, NULL, NULL };

	/* KDCs may come and go (SRV records, reload): the gauges show this run's set only */
	mfamily_drop_match(m.up, all);
	mfamily_drop_match(m.rtt, all);
	mfamily_drop_match(m.skew, all);
	for (size_t i = 0; i < run->nt; i++) {
		struct target *t = run->t[i];
		const char *v[] = { region, t->realm, t->host, proto_name(t), t->port_l };
		const char *f[] = { region, t->realm, t->host, proto_name(t), t->port_l,
		    reason_name(t->reason) };

		mfamily_set(m.up, v, t->reason == KW_OK);
		if (t->reason == KW_OK)
			mfamily_set(m.rtt, v, t->rtt);
		else
			mfamily_add(m.failures, f, 1);
		probe_trace(run->job, "kdc", t->host, t->reason, t->reason == KW_OK ? t->rtt : 0,
		    "%s KDC %s %s/%s: %s%s%s", t->realm, t->host, proto_name(t), t->port_l,
		    t->reason == KW_OK ? "up" : reason_name(t->reason), t->why[0] ? " - " : "", t->why);
	}
	/* one clock sample per KDC: UDP's port-88 reply if there was one, else TCP's */
	for (size_t i = 0; i < run->nt; i++) {
		struct target *t = run->t[i];
		const char *s[] = { region, t->realm, t->host };
		double old;

		if (!t->has_time)
			continue;
		if (t->tcp && mfamily_get(m.skew, s, &old))
			continue;
		mfamily_set(m.skew, s, t->skew);
	}
}

/* Publishes what the run learnt and ends it: from the finish event, or at the deadline. */
static void
run_end(struct kdc_run *run)
{
	struct probe_job *job = run->job;
	const struct target *bad = NULL;
	enum kw_reason reason = run->realm_reason;
	char detail[256];
	size_t down = 0;

	run_record(run);
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
	if (reason != KW_OK)
		snprintf(detail, sizeof detail, "%s", run->realm_why);
	else if (bad != NULL) {
		reason = bad->reason;
		snprintf(detail, sizeof detail, "realm %s, KDC %s, %s/%s: %s%s%s (%zu of %zu down)",
		    bad->realm, bad->host, proto_name(bad), bad->port_l, reason_name(bad->reason),
		    bad->why[0] ? ": " : "", bad->why, down, run->nt);
	} else if (run->nt == 0)
		snprintf(detail, sizeof detail, "no KDC to probe");
	else
		snprintf(detail, sizeof detail, "%zu KDC endpoint%s answered", run->nt,
		    run->nt == 1 ? "" : "s");
	job->run = NULL;
	run_free(run);
	probe_end(job, reason, "%s", detail);
}

static void
run_finish_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	run_end(arg);
}

static int
kdc_start(struct probe_job *job)
{
	const struct kw_config *conf = job->conf;
	struct kdc_run *run;

	if (kctx_init() == -1)
		return -1;
	run = xcalloc(1, sizeof *run);
	run->job = job;
	run->realm_reason = KW_OK;
	if ((run->finish = event_new(probe_base(job), -1, 0, run_finish_cb, run)) == NULL) {
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
			srv_discover(run, r);
			continue;
		}
		for (size_t j = 0; j < k->n; j++) {
			const struct kw_addr *a = &k->addrs[j];

			target_add(run, r->name, a->host, a->port, 0, 0);
			target_add(run, r->name, a->host, a->port, 1, 0);
			target_add(run, r->name, a->host, KPASSWD_PORT, 0, 1);
			target_add(run, r->name, a->host, KPASSWD_PORT, 1, 1);
		}
	}
	run->pending--;
	run_check_done(run);
	return 0;
}

static void
kdc_cancel(struct probe_job *job)
{
	struct kdc_run *run = job->run;

	if (run == NULL)
		return;
	job->run = NULL;
	run_free(run);
}

static void
kdc_init(struct metrics *reg)
{
	static const char *const ep_l[] = { "aws_region", "realm", "kdc", "proto", "port" };
	static const char *const fail_l[] = { "aws_region", "realm", "kdc", "proto", "port", "reason" };
	static const char *const skew_l[] = { "aws_region", "realm", "kdc" };

	m.up = metrics_family(reg, "krbwatch_kdc_up",
	    "1 when the KDC answered at the protocol level in the last run (port 88: KRB-ERROR or AS-REP to an AS-REQ; 464: a kpasswd reply).",
	    METRIC_GAUGE, 5, ep_l);
	m.rtt = metrics_family(reg, "krbwatch_kdc_rtt_seconds",
	    "Round-trip time of the last answer, from the first send (UDP resends included).",
	    METRIC_GAUGE, 5, ep_l);
	m.skew = metrics_family(reg, "krbwatch_kdc_clock_skew_seconds",
	    "The KDC's clock minus ours, from the time in its KRB-ERROR on port 88 (good to about 1 s with MIT 1.20).",
	    METRIC_GAUGE, 3, skew_l);
	m.failures = metrics_family(reg, "krbwatch_kdc_failures_total",
	    "KDC probes that got no protocol answer, by reason.", METRIC_COUNTER, 6, fail_l);
}

/*
 * The deadline: every KDC still unanswered (or still being resolved, or whose SRV records
 * never came) is down with reason timeout in this run's series, so that no krbwatch_kdc_up of
 * an earlier run outlives it.
 */
static void
kdc_expire(struct probe_job *job)
{
	struct kdc_run *run = job->run;
	unsigned ms = (unsigned)job->conf->timeout_ms;

	if (run == NULL) {
		probe_end(job, KW_R_TIMEOUT, "no answer within the %u ms deadline", ms);
		return;
	}
	run->ending = 1;		/* target_end and lookup_end no longer fire the finish */
	for (size_t i = 0; i < run->nt; i++) {
		struct target *t = run->t[i];

		if (t->state == T_ENDED)
			continue;
		if (t->req != NULL) {
			kdc_req_cancel(t->req);
			t->req = NULL;
		}
		if (t->state == T_RESOLVING)
			target_end(t, KW_R_TIMEOUT, "%s not resolved within the %u ms deadline",
			    t->host, ms);
		else
			target_end(t, KW_R_TIMEOUT, "no answer within the %u ms deadline", ms);
	}
	for (size_t i = 0; i < run->nlk; i++) {
		struct lookup *lk = run->lk[i];

		if (!lk->done && lk->kind == LK_SRV)
			realm_fail(run, KW_R_TIMEOUT, "realm %s in %s: SRV %s: no answer within the "
			    "%u ms deadline", lk->realm->name, job->region->name, lk->name, ms);
		lk->done = 1;
	}
	run_end(run);
}

const struct probe_ops probe_kdc = {
	.name = "kdc",
	.scope = PROBE_PER_REGION,
	.init = kdc_init,
	.start = kdc_start,
	.cancel = kdc_cancel,
	.expire = kdc_expire,
};
