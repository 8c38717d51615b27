/*
 * The PostgreSQL login: libpq's asynchronous connect (PQconnectStartParams + PQconnectPoll) and
 * one "SELECT current_user", every step driven by the loop.
 *
 * libpq has no per-connection credential cache: its GSSAPI uses the GSS default cache.  Around
 * every libpq call that may run GSSAPI, gss_krb5_ccache_name() selects our MEMORY cache for this
 * (the only) thread and restores the previous name afterwards.  libpq imports the target as the
 * host-based name "krbsrvname@host"; with dns_canonicalize_hostname = false and no domain_realm,
 * MIT turns that into the referral-form principal "postgres/host@" (empty realm) and looks for
 * exactly that name in the cache.  The chain stores the ticket under the explicit name
 * ("postgres/host@REALM"), so before connecting the login stores a copy under the realm-less
 * name when it is missing (pg_ticket).  Without a ticket in the cache GSSAPI would go to a KDC on
 * its own, so the login asks the chain for it first (need_ticket).
 *
 * libpq connects to hostaddr (a numeric address, resolved here through the Region's resolvers
 * with dns_client.c, the one c-ares integration) and uses host for the GSS name and the TLS
 * identity check.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <ares.h>
#include <event2/event.h>
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5/krb5.h>
#include <libpq-fe.h>

#include "../lib/log.h"
#include "../lib/xmalloc.h"
#include "../net/dns_client.h"
#include "login_impl.h"

#define PG_SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"	/* PG15 libpq has no "system" */
#define PG_QUERY "SELECT current_user"

enum pg_state {
	PG_START,		/* the first step is queued */
	PG_RESOLVING,		/* c-ares looks up host */
	PG_TICKET,		/* waiting for the chain to fetch the ticket */
	PG_CONNECTING,		/* PQconnectPoll */
	PG_QUERYING,		/* SELECT current_user */
	PG_DONE,
	PG_STATE_COUNT
};

static const char *const state_names[PG_STATE_COUNT] = {
	"start", "resolving", "waiting for the ticket", "connecting", "querying", "done"
};

struct login {
	struct login_head head;		/* first: login.c reads the row there */
	struct event_base *evb;
	struct login_callbacks cb;
	enum pg_state state;
	int in_callback;		/* a user callback is running: cancel must wait */
	int cancelled;

	char *host, *hostaddr, *port, *dbname, *user, *expect_user, *sslmode, *sslrootcert;
	char *dns_servers;		/* the Region's resolvers for c-ares, NULL: the system's */
	char *krbsrvname, *spn, *ccache;
	char connect_timeout[16];

	struct event *deadline;
	struct event *kick;		/* the next step, always run from the loop */
	struct event *io;		/* on PQsocket(), made anew after every libpq step */
	int io_fd;
	short io_what;

	unsigned timeout_ms;
	struct dns_client *dns;
	int ares_status;		/* -1 while the lookup runs */
	char *ares_addr;		/* the answer, numeric */

	enum kw_reason ticket_reason;	/* login_ticket_ready's answer, KW_R_COUNT: none yet */
	int asked_ticket;

	PGconn *conn;
	int flushed;			/* the query has left our buffer */
	int got_row;
	struct login_result res;
};


static void pg_kick(evutil_socket_t, short, void *);
static void pg_connect_step(struct login *, short);

static void
pg_set_state(struct login *l, enum pg_state s)
{
	if ((int)s < 0 || s >= PG_STATE_COUNT)
		fatalx("login_pg: bad state %d", (int)s);
	if (s != l->state)
		log_debug("login %s: %s -> %s", l->host, state_names[l->state], state_names[s]);
	l->state = s;
}

/* ---- cleanup and the one completion path ---- */

static void
pg_io_clear(struct login *l)
{
	if (l->io != NULL) {
		event_free(l->io);
		l->io = NULL;
	}
	l->io_fd = -1;
	l->io_what = 0;
}

static void
pg_ares_clear(struct login *l)
{
	/* a lookup's callback still due runs inside with ARES_EDESTRUCTION: ignored */
	dns_client_free(l->dns);
	l->dns = NULL;
}

static void
pg_free(struct login *l)
{
	pg_io_clear(l);
	pg_ares_clear(l);
	if (l->conn != NULL)
		PQfinish(l->conn);
	if (l->deadline != NULL)
		event_free(l->deadline);
	if (l->kick != NULL)
		event_free(l->kick);
	free(l->host);
	free(l->hostaddr);
	free(l->port);
	free(l->dbname);
	free(l->user);
	free(l->expect_user);
	free(l->sslmode);
	free(l->sslrootcert);
	free(l->krbsrvname);
	free(l->spn);
	free(l->ccache);
	free(l->dns_servers);
	free(l->ares_addr);
	free(l);
}

static void pg_finish(struct login *, enum kw_reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Ends the login: closes the connection, tells the caller once, frees everything. */
static void
pg_finish(struct login *l, enum kw_reason r, const char *fmt, ...)
{
	va_list ap;

	if (l->state == PG_DONE)
		return;
	pg_set_state(l, PG_DONE);
	l->res.reason = r;
	va_start(ap, fmt);
	vsnprintf(l->res.detail, sizeof l->res.detail, fmt, ap);
	va_end(ap);
	pg_io_clear(l);
	pg_ares_clear(l);
	if (l->conn != NULL) {
		PQfinish(l->conn);
		l->conn = NULL;
	}
	l->in_callback = 1;
	l->cb.done(l->cb.arg, &l->res);
	pg_free(l);
}

/* ---- libpq under our credential cache ---- */

/*
 * Runs one libpq step with GSSAPI's default cache set to ours for this thread.  The old name
 * stays valid until the next gss_krb5_ccache_name() call that asks for one, so restoring it
 * (without asking) is safe.
 */
static PostgresPollingStatusType
pg_poll(struct login *l)
{
	OM_uint32 maj, min;
	const char *old = NULL;
	PostgresPollingStatusType st;

	maj = gss_krb5_ccache_name(&min, l->ccache, &old);
	if (GSS_ERROR(maj))
		return PGRES_POLLING_FAILED;	/* never let libpq use another cache */
	st = PQconnectPoll(l->conn);
	(void)gss_krb5_ccache_name(&min, old, NULL);
	return st;
}

/* Makes the I/O event watch fd for what, as libpq asked; a new event every time. */
static void
pg_io_watch(struct login *l, int fd, short what, event_callback_fn fn)
{
	pg_io_clear(l);
	if ((l->io = event_new(l->evb, fd, what, fn, l)) == NULL)
		fatalx("event_new failed");
	if (event_add(l->io, NULL) == -1)
		fatalx("event_add failed");
	l->io_fd = fd;
	l->io_what = what;
}

/* ---- classification of libpq's words ---- */

static int
has(const char *s, const char *w)
{
	return s != NULL && strstr(s, w) != NULL;
}

/* The first line of libpq's message without the "connection to server ... failed: " prefix. */
static void
pg_message(const char *msg, char *out, size_t n)
{
	const char *p = msg, *f;
	size_t len;

	if (p == NULL)
		p = "";
	if ((f = strstr(p, " failed: ")) != NULL && strncmp(p, "connection to server", 20) == 0)
		p = f + 9;
	while (*p == ' ' || *p == '\n')
		p++;
	len = strcspn(p, "\n");
	snprintf(out, n, "%.*s", (int)len, p);
	for (char *c = out; *c; c++)
		if (*c == '\t' || *c == '\r')
			*c = ' ';
}

/*
 * What a failed connect means.  libpq only gives words: the server's ErrorResponse (with its
 * SQLSTATE, because the verbosity is VERBOSE: "FATAL:  28000: ..."), or libpq's own text for
 * socket, TLS and GSSAPI failures (GSSAPI's minor status text is in it: a KRB-ERROR the server
 * sent back as a GSS token, such as its clock-skew answer, reaches us that way).
 */
static enum kw_reason
pg_classify(const char *msg)
{
	if (has(msg, "Clock skew too great"))
		return KW_R_CLOCK_SKEW;
	if (has(msg, "Key version is not available") || has(msg, "Cannot find key") ||
	    has(msg, "not found in keytab"))
		return KW_R_KEY_VERSION;
	if (has(msg, "Ticket not yet valid"))
		return KW_R_TICKET_NOT_YET_VALID;
	/* the server's ErrorResponse: "FATAL:  28000: ..." */
	if (has(msg, "FATAL:") || has(msg, "ERROR:")) {
		if (has(msg, ":  28") || has(msg, ":  42501") || has(msg, ":  3D000") ||
		    has(msg, "authentication failed for user") || has(msg, "no pg_hba.conf entry"))
			return KW_R_ACCESS_DENIED;
		if (has(msg, ":  57P03"))
			return KW_R_REFUSED;		/* starting up or shutting down */
		return KW_R_PROTOCOL;
	}
	if (has(msg, "Connection refused"))
		return KW_R_REFUSED;
	if (has(msg, "No route to host") || has(msg, "Network is unreachable") ||
	    has(msg, "Host is unreachable"))
		return KW_R_UNREACHABLE;
	if (has(msg, "timed out") || has(msg, "timeout expired"))
		return KW_R_TIMEOUT;
	if (has(msg, "SSL") || has(msg, "certificate") || has(msg, "does not match host name"))
		return KW_R_TLS;
	if (has(msg, "GSS"))
		return KW_R_GSS;
	return KW_R_PROTOCOL;
}

static void
pg_fail_conn(struct login *l, const char *where)
{
	char m[200];
	const char *msg = PQerrorMessage(l->conn);

	pg_message(msg, m, sizeof m);
	pg_finish(l, pg_classify(msg), "%s: %s", where, m[0] ? m : "failed");
}

/* ---- the ticket ---- */

/*
 * The ticket of client for krbsrvname/host in any realm, spn_realm's first, into *best.
 * Returns 1 found, 0 none, -1 when the cache cannot be read.
 */
static int
pg_best_ticket(krb5_context ctx, krb5_ccache cc, krb5_const_principal client,
    const char *krbsrvname, const char *host, const char *spn_realm, krb5_creds *best)
{
	krb5_cc_cursor cur;
	krb5_creds creds;
	int have_best = 0;

	if (krb5_cc_start_seq_get(ctx, cc, &cur) != 0)
		return -1;
	while (krb5_cc_next_cred(ctx, cc, &cur, &creds) == 0) {
		const krb5_principal s = creds.server;
		int match = krb5_principal_compare(ctx, creds.client, client) &&
		    s->length == 2 && s->realm.length > 0 &&
		    s->data[0].length == strlen(krbsrvname) &&
		    memcmp(s->data[0].data, krbsrvname, s->data[0].length) == 0 &&
		    s->data[1].length == strlen(host) &&
		    strncasecmp(s->data[1].data, host, s->data[1].length) == 0;
		int preferred = match && s->realm.length == strlen(spn_realm) &&
		    memcmp(s->realm.data, spn_realm, s->realm.length) == 0;

		if (match && (!have_best || preferred)) {
			if (have_best)
				krb5_free_cred_contents(ctx, best);
			*best = creds;
			have_best = 1;
		} else
			krb5_free_cred_contents(ctx, &creds);
	}
	krb5_cc_end_seq_get(ctx, cc, &cur);
	return have_best;
}

/*
 * Makes sure the cache holds the ticket under the name libpq's GSSAPI looks up:
 * krbsrvname/host@ (host lower-cased, realm empty).  A ticket for krbsrvname/host in any realm
 * (the chain's explicit SPN) is copied under that name.  Returns 0 when the name is there,
 * 1 when no ticket for the service is in the cache, -1 with why filled when the cache is unusable.
 */
static int
pg_ticket(struct login *l, char *why, size_t n)
{
	krb5_context ctx = NULL;
	krb5_ccache cc = NULL;
	krb5_principal client = NULL, want = NULL;
	krb5_creds mcreds, creds, best;
	krb5_error_code rc;
	const char *spn_realm = l->spn ? strrchr(l->spn, '@') : NULL;
	char host[256];
	int ret = -1, have_best = 0;
	size_t i;

	memset(&best, 0, sizeof best);
	snprintf(host, sizeof host, "%s", l->host);
	for (i = 0; host[i]; i++)
		host[i] = (char)tolower((unsigned char)host[i]);
	if (i > 0 && host[i - 1] == '.')
		host[i - 1] = '\0';
	spn_realm = spn_realm ? spn_realm + 1 : "";

	if ((rc = krb5_init_context(&ctx)) != 0) {
		snprintf(why, n, "krb5_init_context: error %d", (int)rc);
		return -1;
	}
	if ((rc = krb5_cc_resolve(ctx, l->ccache, &cc)) != 0 ||
	    (rc = krb5_cc_get_principal(ctx, cc, &client)) != 0 ||
	    (rc = krb5_build_principal(ctx, &want, 0, "", l->krbsrvname, host, (char *)NULL)) != 0) {
		const char *e = krb5_get_error_message(ctx, rc);
		snprintf(why, n, "credential cache %.60s: %.100s", l->ccache, e);
		krb5_free_error_message(ctx, e);
		goto out;
	}
	memset(&mcreds, 0, sizeof mcreds);
	mcreds.client = client;
	mcreds.server = want;
	if (krb5_cc_retrieve_cred(ctx, cc, 0, &mcreds, &creds) == 0) {
		krb5_free_cred_contents(ctx, &creds);
		ret = 0;
		goto out;
	}

	/* no realm-less entry: look for krbsrvname/host@REALM, the SPN's realm first */
	if ((have_best = pg_best_ticket(ctx, cc, client, l->krbsrvname, host, spn_realm,
	    &best)) == -1) {
		snprintf(why, n, "reading credential cache %.60s failed", l->ccache);
		goto out;
	}
	if (!have_best) {
		ret = 1;
		goto out;
	}
	krb5_free_principal(ctx, best.server);
	best.server = want;
	rc = krb5_cc_store_cred(ctx, cc, &best);
	best.server = NULL;		/* still want's */
	krb5_free_cred_contents(ctx, &best);
	if (rc != 0) {
		snprintf(why, n, "storing %.30s/%.60s@ in %.40s failed", l->krbsrvname, host, l->ccache);
		goto out;
	}
	log_debug("login %s: stored the %s/%s ticket under the realm-less name", l->host,
	    l->krbsrvname, host);
	ret = 0;
out:
	krb5_free_principal(ctx, want);
	krb5_free_principal(ctx, client);
	if (cc != NULL)
		krb5_cc_close(ctx, cc);
	krb5_free_context(ctx);
	return ret;
}

/* ---- connect ---- */

static void
pg_conn_event(evutil_socket_t fd, short what, void *arg)
{
	pg_connect_step(arg, what);
}

/* Begins libpq's connect to hostaddr; the ticket is in the cache under libpq's name. */
static void
pg_connect_begin(struct login *l)
{
	const char *const kw[] = {
		"host", "hostaddr", "port", "dbname", "user", "gssencmode", "sslmode",
		"sslrootcert", "krbsrvname", "connect_timeout", "application_name",
		"target_session_attrs", NULL
	};
	const char *const val[] = {
		l->host, l->hostaddr, l->port, l->dbname, l->user, "disable", l->sslmode,
		l->sslrootcert, l->krbsrvname, l->connect_timeout, "krbwatch",
		"any", NULL
	};
	OM_uint32 min;
	const char *old = NULL;

	pg_set_state(l, PG_CONNECTING);
	/* PQconnectStartParams already takes the first step (the socket's connect) */
	if (GSS_ERROR(gss_krb5_ccache_name(&min, l->ccache, &old))) {
		pg_finish(l, KW_R_INTERNAL, "gss_krb5_ccache_name(%s) failed", l->ccache);
		return;
	}
	l->conn = PQconnectStartParams(kw, val, 0);
	(void)gss_krb5_ccache_name(&min, old, NULL);
	if (l->conn == NULL)
		fatalx("PQconnectStartParams: out of memory");
	PQsetErrorVerbosity(l->conn, PQERRORS_VERBOSE);
	if (PQstatus(l->conn) == CONNECTION_BAD) {
		pg_fail_conn(l, "connect");
		return;
	}
	/* as the libpq manual says: behave as if PQconnectPoll had returned WRITING */
	if (PQsocket(l->conn) < 0) {
		pg_fail_conn(l, "connect");
		return;
	}
	pg_io_watch(l, PQsocket(l->conn), EV_WRITE, pg_conn_event);
}

static void pg_query_begin(struct login *);

/*
 * Whether the server proved it holds the service key.  libpq asks for GSS_C_MUTUAL_FLAG, but
 * libpq 15 takes an AuthenticationOk while its context still waits for the AP-REP: an impostor
 * at the database's name (DNS, or the path with sslmode disable/require) that received the
 * ticket and said OK would be believed.  So the context must be complete and mutual, and there
 * must be one: a server that let us in without GSSAPI at all is no Kerberos login.
 */
static int
pg_server_proved(struct login *l)
{
	gss_ctx_id_t ctx = PQgetgssctx(l->conn);
	OM_uint32 major, minor, flags = 0;
	int open = 0;

	if (ctx == GSS_C_NO_CONTEXT) {
		pg_finish(l, KW_R_PROTOCOL, "the server let %s in without a GSSAPI exchange", l->user);
		return 0;
	}
	major = gss_inquire_context(&minor, ctx, NULL, NULL, NULL, NULL, &flags, NULL, &open);
	if (GSS_ERROR(major) || !open || !(flags & GSS_C_MUTUAL_FLAG)) {
		pg_finish(l, KW_R_GSS, "the server said OK without authenticating itself (no AP-REP "
		    "for %s: mutual authentication)", l->spn);
		return 0;
	}
	return 1;
}

static void
pg_connect_step(struct login *l, short what)
{
	PostgresPollingStatusType st;
	int fd;

	/* libpq may close the socket and open another (even with the same number): drop ours first */
	pg_io_clear(l);
	st = pg_poll(l);
	switch (st) {
	case PGRES_POLLING_READING:
	case PGRES_POLLING_WRITING:
		if ((fd = PQsocket(l->conn)) < 0) {
			pg_fail_conn(l, "connect");
			return;
		}
		pg_io_watch(l, fd, st == PGRES_POLLING_READING ? EV_READ : EV_WRITE, pg_conn_event);
		return;
	case PGRES_POLLING_OK:
		if (!pg_server_proved(l))
			return;
		pg_query_begin(l);
		return;
	case PGRES_POLLING_FAILED:
	default:
		pg_fail_conn(l, "connect");
		return;
	}
}

/* ---- SELECT current_user ---- */

static void pg_query_event(evutil_socket_t, short, void *);

static void
pg_query_result(struct login *l, PGresult *res)
{
	const char *state, *text;
	char m[200];

	switch (PQresultStatus(res)) {
	case PGRES_TUPLES_OK:
		if (PQntuples(res) >= 1 && PQnfields(res) >= 1 && !PQgetisnull(res, 0, 0)) {
			snprintf(l->res.current_user, sizeof l->res.current_user, "%s",
			    PQgetvalue(res, 0, 0));
			l->got_row = 1;
		}
		PQclear(res);
		return;
	default:
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		text = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		pg_message(text ? text : PQresultErrorMessage(res), m, sizeof m);
		pg_finish(l, state && strncmp(state, "42501", 5) == 0 ? KW_R_ACCESS_DENIED :
		    KW_R_PROTOCOL, "%s failed: %s%s%s", PG_QUERY, state ? state : "",
		    state ? ": " : "", m);
		PQclear(res);
		return;
	}
}

/* Reads what the server sent; ends the login when the query's results are all in. */
static void
pg_query_read(struct login *l)
{
	PGresult *res;

	if (PQconsumeInput(l->conn) == 0) {
		pg_fail_conn(l, "query");
		return;
	}
	while (!PQisBusy(l->conn)) {
		if ((res = PQgetResult(l->conn)) == NULL) {
			if (!l->got_row)
				pg_finish(l, KW_R_PROTOCOL, "%s returned no row", PG_QUERY);
			else if (l->expect_user != NULL && strcmp(l->expect_user, l->res.current_user) != 0)
				pg_finish(l, KW_R_WRONG_USER, "current_user is %s, expected %s",
				    l->res.current_user, l->expect_user);
			else
				pg_finish(l, KW_OK, "current_user %s", l->res.current_user);
			return;
		}
		pg_query_result(l, res);
		if (l->state == PG_DONE)
			return;
	}
	pg_io_watch(l, PQsocket(l->conn), l->flushed ? EV_READ : EV_READ | EV_WRITE,
	    pg_query_event);
}

static void
pg_query_event(evutil_socket_t fd, short what, void *arg)
{
	struct login *l = arg;
	int r;

	pg_io_clear(l);
	if (!l->flushed) {
		if ((r = PQflush(l->conn)) == -1) {
			pg_fail_conn(l, "query");
			return;
		}
		if (r == 1) {
			if (what & EV_READ)
				pg_query_read(l);	/* PQflush wants input consumed */
			else
				pg_io_watch(l, PQsocket(l->conn), EV_READ | EV_WRITE, pg_query_event);
			return;
		}
		l->flushed = 1;
	}
	pg_query_read(l);
}

static void
pg_query_begin(struct login *l)
{
	int r;

	pg_set_state(l, PG_QUERYING);
	if (PQsetnonblocking(l->conn, 1) != 0 || PQsendQuery(l->conn, PG_QUERY) == 0) {
		pg_fail_conn(l, "query");
		return;
	}
	if ((r = PQflush(l->conn)) == -1) {
		pg_fail_conn(l, "query");
		return;
	}
	l->flushed = r == 0;
	pg_io_watch(l, PQsocket(l->conn), l->flushed ? EV_READ : EV_READ | EV_WRITE,
	    pg_query_event);
}

/* ---- the ticket check, then connect ---- */

static void
pg_after_address(struct login *l)
{
	char why[200];
	int r;

	pg_set_state(l, PG_TICKET);
	if ((r = pg_ticket(l, why, sizeof why)) == -1) {
		pg_finish(l, KW_R_GSS, "%s", why);
		return;
	}
	if (r == 0) {
		pg_connect_begin(l);
		return;
	}
	/* no ticket for the service: ask the chain once, or GSSAPI would go to a KDC itself */
	if (l->asked_ticket || l->cb.need_ticket == NULL) {
		pg_finish(l, KW_R_GSS, "no ticket for %s/%s in %s%s", l->krbsrvname, l->host,
		    l->ccache, l->asked_ticket ? " after need_ticket" : "");
		return;
	}
	l->asked_ticket = 1;
	l->ticket_reason = KW_R_COUNT;
	l->in_callback = 1;
	l->cb.need_ticket(l->cb.arg, l, l->spn);
	l->in_callback = 0;
	if (l->cancelled)
		pg_free(l);
	/* login_ticket_ready() queues the next step */
}

/* ---- resolving host ---- */

static void
pg_dns_done(void *arg, int status, const struct sockaddr *sa, unsigned salen)
{
	struct login *l = arg;
	char buf[INET6_ADDRSTRLEN];

	if (status == ARES_EDESTRUCTION || l->state != PG_RESOLVING)
		return;
	l->ares_status = status;
	if (status == ARES_SUCCESS && sa != NULL && salen > 0 && inet_ntop(sa->sa_family,
	    sa->sa_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
	    buf, sizeof buf) != NULL)
		l->ares_addr = xstrdup(buf);
	/* the client is freed from the loop, in pg_resolved */
	event_active(l->kick, EV_TIMEOUT, 0);
}

static void
pg_resolve_begin(struct login *l)
{
	char why[256];

	pg_set_state(l, PG_RESOLVING);
	/* a third of the login's time for the name, the rest for the database */
	l->dns = dns_client_new_list(l->evb, l->dns_servers, l->timeout_ms / 3, why, sizeof why);
	if (l->dns == NULL) {
		pg_finish(l, KW_R_INTERNAL, "resolving %s: %s", l->host, why);
		return;
	}
	l->ares_status = -1;
	dns_getaddr(l->dns, l->host, pg_dns_done, l);
}

static void
pg_resolved(struct login *l)
{
	int st = l->ares_status;

	pg_ares_clear(l);
	if (st != ARES_SUCCESS || l->ares_addr == NULL) {
		pg_finish(l, st == ARES_SUCCESS ? KW_R_NO_RECORDS : dns_reason(st),
		    "resolving %s: %s", l->host, st == ARES_SUCCESS ? "no address" : ares_strerror(st));
		return;
	}
	l->hostaddr = l->ares_addr;
	l->ares_addr = NULL;
	pg_after_address(l);
}

/* ---- the loop's entry points ---- */

static void
pg_kick(evutil_socket_t fd, short what, void *arg)
{
	struct login *l = arg;

	switch (l->state) {
	case PG_START:
		if (l->hostaddr != NULL)
			pg_after_address(l);
		else
			pg_resolve_begin(l);
		return;
	case PG_RESOLVING:
		if (l->ares_status != -1)
			pg_resolved(l);
		return;
	case PG_TICKET:
		if (l->ticket_reason == KW_R_COUNT)
			return;
		if (l->ticket_reason != KW_OK) {
			pg_finish(l, l->ticket_reason, "fetching the ticket for %s failed", l->spn);
			return;
		}
		pg_after_address(l);
		return;
	default:
		return;
	}
}

static void
pg_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct login *l = arg;

	pg_finish(l, KW_R_TIMEOUT, "no answer within the deadline while %s",
	    state_names[l->state]);
}

/* The service part of an SPN ("postgres/host@REALM" -> "postgres"); default "postgres". */
static char *
pg_service(const char *spn)
{
	const char *slash = spn ? strchr(spn, '/') : NULL;

	if (slash == NULL || slash == spn)
		return xstrdup("postgres");
	char *s;

	xasprintf(&s, "%.*s", (int)(slash - spn), spn);
	return s;
}

struct login *
login_pg_start(struct event_base *evb, const struct kw_cluster *c, const char *ccache,
    const char *dns_servers, const char *spn, unsigned timeout_ms, const struct login_callbacks *cb)
{
	struct login *l;
	struct timeval tv;
	unsigned char abuf[sizeof(struct in6_addr)];
	const char *mode;

	if (c->engine != KW_ENGINE_POSTGRESQL || c->host == NULL || ccache == NULL || cb == NULL ||
	    cb->done == NULL)
		return NULL;
	l = xcalloc(1, sizeof *l);
	l->head.engine = &login_engine_pg;
	l->evb = evb;
	l->cb = *cb;
	l->state = PG_START;
	l->io_fd = -1;
	l->ares_status = -1;
	l->ticket_reason = KW_R_COUNT;
	l->host = xstrdup(c->host);
	/* a numeric host is used as it is (and then is also the GSS name: pitfall 2) */
	if (inet_pton(AF_INET, c->host, abuf) == 1 || inet_pton(AF_INET6, c->host, abuf) == 1)
		l->hostaddr = xstrdup(c->host);
	/* one address of an endpoint (a reader instance): host stays the name (chain_endpoints.c) */
	if (c->connect_addr != NULL && l->hostaddr == NULL)
		l->hostaddr = xstrdup(c->connect_addr);
	xasprintf(&l->port, "%u", c->port ? (unsigned)c->port : 5432u);
	l->dbname = xstrdup(c->database ? c->database : "postgres");
	l->user = xstrdup(c->user ? c->user : "krbmon");
	l->expect_user = c->expect_user ? xstrdup(c->expect_user) : NULL;
	switch (c->tls_mode) {
	case KW_TLS_DISABLE: mode = "disable"; break;
	case KW_TLS_REQUIRE: mode = "require"; break;
	case KW_TLS_VERIFY_CA: mode = "verify-ca"; break;
	case KW_TLS_VERIFY_IDENTITY: default: mode = "verify-full"; break;
	}
	l->sslmode = xstrdup(mode);
	l->sslrootcert = xstrdup(c->tls_ca ? c->tls_ca : PG_SYSTEM_CA);
	l->krbsrvname = pg_service(c->spn ? c->spn : spn);
	if (spn != NULL || c->spn != NULL)
		l->spn = xstrdup(spn ? spn : c->spn);
	else	/* what need_ticket asks for: the chain picks the realm */
		xasprintf(&l->spn, "%s/%s", l->krbsrvname, c->host);
	l->ccache = xstrdup(ccache);
	l->dns_servers = dns_servers != NULL ? xstrdup(dns_servers) : NULL;
	l->timeout_ms = timeout_ms;
	/* only a backstop (libpq ignores it in PQconnectPoll); our deadline decides */
	snprintf(l->connect_timeout, sizeof l->connect_timeout, "%u", timeout_ms / 1000 + 2);

	if ((l->deadline = event_new(evb, -1, 0, pg_deadline, l)) == NULL ||
	    (l->kick = event_new(evb, -1, 0, pg_kick, l)) == NULL)
		fatalx("event_new failed");
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	event_add(l->deadline, &tv);
	/* the first step runs from the loop: no callback from inside login_start */
	event_active(l->kick, EV_TIMEOUT, 0);
	return l;
}

void
login_pg_cancel(struct login *l)
{
	if (l == NULL || l->cancelled)
		return;
	if (l->in_callback) {
		/* inside need_ticket: freed when it returns; inside done: freed anyway */
		l->cancelled = 1;
		return;
	}
	pg_free(l);
}

void
login_pg_ticket_ready(struct login *l, enum kw_reason r)
{
	if (l->state != PG_TICKET || l->ticket_reason != KW_R_COUNT)
		return;
	l->ticket_reason = r;
	event_active(l->kick, EV_TIMEOUT, 0);
}

const struct login_engine login_engine_pg = {
	.start = login_pg_start,
	.cancel = login_pg_cancel,
	.ticket_ready = login_pg_ticket_ready,
};
