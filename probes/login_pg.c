/*
 * The PostgreSQL login, driven on the loop as login_mysql.c drives MySQL's: resolve, the ticket
 * checked (or asked for), TCP connect, SSLRequest + TLS through net/tls_client.c's shared
 * context, StartupMessage, the GSSAPI exchange with net/gss_token.c (tokens from our MEMORY
 * cache only, for the explicit SPN), "SELECT current_user", Terminate (pg_message.c: the bytes).
 *
 * Not libpq: libpq 15 builds an SSL_CTX and loads the CA file for every connection (five times
 * a MariaDB login's CPU at scale, bench/RESULTS.md), has no per-connection credential cache, and
 * takes an AuthenticationOk while its context still waits for the server's AP-REP.  Here the
 * context must be complete (mutual authentication) before an OK counts, and PostgreSQL announces
 * no SPN, so the token is only ever for the configured service and host.
 *
 * Host names are resolved through the Region's resolvers (net/tcp_dial.c with dns_client.c).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "../lib/log.h"
#include "../lib/xmalloc.h"
#include "../net/gss_token.h"
#include "../net/tcp_dial.h"
#include "../net/tls_client.h"
#include "login_base.h"
#include "login_impl.h"
#include "pg_message.h"

#define PG_QUERY	"SELECT current_user"
#define PG_QUIT_GRACE_MS 200		/* after Terminate: the server closes, or we do */

enum pg_state {
	PG_RESOLVE,		/* net/tcp_dial.c finds the address */
	PG_TICKET,		/* the ticket is checked, or the chain fetches it */
	PG_CONNECT,
	PG_SSLREQ,		/* SSLRequest sent: one byte, 'S' or 'N', is due */
	PG_TLS,
	PG_AUTH,		/* StartupMessage sent: authentication until ReadyForQuery */
	PG_QUERY_SENT,
	PG_QUIT,		/* the result is decided; Terminate sent */
	PG_DONE,
	PG_STATE_COUNT
};

static const char *const state_names[PG_STATE_COUNT] = {
	"resolving", "waiting for the ticket", "connecting", "asking for TLS", "TLS handshake",
	"authenticating", "querying", "closing", "done"
};

struct login {
	struct login_head head;		/* first: login.c reads the row there */
	struct login_base b;		/* b.spn: what need_ticket asks for */
	struct event_base *base;
	enum pg_state state;
	char *dbname;
	char *target;			/* the GSS name: spn, with "@" when it names no realm */
	uint16_t port;
	enum kw_tls_mode tls_mode;
	unsigned timeout_ms;

	struct tcp_dial *dial;		/* resolve and connect */
	char addrtext[INET6_ADDRSTRLEN + 8];

	int ticket_asked, authed, null_row;
	enum kw_reason ticket_reason;
	enum kw_reason final_reason;	/* decided before Terminate */
	char final_detail[sizeof ((struct login_result *)0)->detail];
};

static void pg_read_cb(struct bufferevent *, void *);
static void pg_event_cb(struct bufferevent *, short, void *);

static void
set_state(struct login *l, enum pg_state s)
{
	if ((unsigned)s >= PG_STATE_COUNT)
		fatalx("login %s: state %d out of range", l->b.host, (int)s);
	if (s != l->state)
		log_debug("login %s: %s -> %s", l->b.host, state_names[l->state], state_names[s]);
	l->state = s;
}

/* ---- the one way a login ends ---- */

static void
teardown(struct login *l)
{
	tcp_dial_cancel(l->dial);
	l->dial = NULL;
	login_base_stop(&l->b);
}

static void
login_free(struct login *l)
{
	login_base_free(&l->b);
	free(l->dbname);
	free(l->target);
	free(l);
}

static void finish(struct login *, enum kw_reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The result recorded, I/O stopped; done() runs later from the loop. */
static void
finish(struct login *l, enum kw_reason r, const char *fmt, ...)
{
	va_list ap;
	int recorded;

	va_start(ap, fmt);
	recorded = login_base_record(&l->b, r, fmt, ap);
	va_end(ap);
	if (recorded == -1)
		return;
	log_debug("login %s: %s while %s: %s", l->b.host, reason_name(r), state_names[l->state],
	    l->b.res.detail);
	teardown(l);
	set_state(l, PG_DONE);
	event_active(l->b.done_ev, EV_TIMEOUT, 0);
}

static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct login *l = arg;

	login_base_done(&l->b);
	login_free(l);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct login *l = arg;

	if (l->state == PG_QUIT)	/* the grace after Terminate is over */
		finish(l, l->final_reason, "%s", l->final_detail);
	else
		finish(l, KW_R_TIMEOUT, "no answer within the deadline while %s%s%s",
		    state_names[l->state], l->addrtext[0] ? " with " : "", l->addrtext);
}

/* ---- messages ---- */

/* One message: type (0: none, the startup forms), its length, the body. */
static void
pg_send(struct login *l, char type, const void *body, size_t len)
{
	uint8_t hdr[PG_HDR_LEN];

	bufferevent_write(l->b.bev, hdr, pg_header(hdr, type, len));
	if (len > 0)
		bufferevent_write(l->b.bev, body, len);
}

static void
send_startup(struct login *l)
{
	uint8_t body[1024];
	size_t n = pg_startup(body, sizeof body, l->b.user, l->dbname);

	if (n == 0) {
		finish(l, KW_R_INTERNAL, "user and database names too long for the StartupMessage");
		return;
	}
	pg_send(l, 0, body, n);
	set_state(l, PG_AUTH);
}

static void
gss_step(struct login *l, const uint8_t *in, size_t inlen)
{
	struct gss_token_err err;
	void *tok;
	size_t toklen;
	int complete;

	if (l->b.gss == NULL && (l->b.gss = gss_token_new(l->b.ccache, l->target, &err)) == NULL) {
		finish(l, err.reason, "GSS for %s: %s", l->target, err.text);
		return;
	}
	if (gss_token_step(l->b.gss, in, inlen, &tok, &toklen, &complete, &err) == -1) {
		finish(l, err.reason, "GSS for %s: %s", l->target, err.text);
		return;
	}
	if (toklen > 0)
		pg_send(l, 'p', tok, toklen);
	gss_token_release(tok, toklen);
}

/* An Authentication message (R). */
static void
handle_auth(struct login *l, const uint8_t *p, size_t n)
{
	uint32_t code;

	if (n < 4 || l->authed) {
		finish(l, KW_R_PROTOCOL, "a%s Authentication message", n < 4 ? " short" : " second");
		return;
	}
	switch ((code = pg_get_u32(p))) {
	case PG_AUTH_OK:
		if (l->b.gss == NULL) {
			finish(l, KW_R_PROTOCOL, "the server let %s in without a GSSAPI exchange",
			    l->b.user);
			return;
		}
		if (!gss_token_complete(l->b.gss)) {
			finish(l, KW_R_GSS, "the server said OK without authenticating itself (no "
			    "AP-REP for %s: mutual authentication)", l->target);
			return;
		}
		l->authed = 1;
		return;
	case PG_AUTH_GSS:
		if (l->b.gss != NULL) {
			finish(l, KW_R_PROTOCOL, "a second AuthenticationGSS");
			return;
		}
		gss_step(l, NULL, 0);
		return;
	case PG_AUTH_GSS_CONTINUE:	/* the AP-REP, or the server's KRB-ERROR */
		if (l->b.gss == NULL || n == 4) {
			finish(l, KW_R_PROTOCOL, "AuthenticationGSSContinue %s",
			    l->b.gss == NULL ? "before AuthenticationGSS" : "without a token");
			return;
		}
		gss_step(l, p + 4, n - 4);
		return;
	default:
		finish(l, KW_R_ACCESS_DENIED, "the server asks for authentication method %u, not "
		    "GSSAPI: is %s a Kerberos account (pg_hba.conf gss)?", code, l->b.user);
		return;
	}
}

/* The query's answer: RowDescription, DataRow, CommandComplete, then ReadyForQuery. */
static void
handle_query(struct login *l, char type, const uint8_t *p, size_t n)
{
	int r;

	if (type == 'D') {
		r = pg_datarow_first(p, n, l->b.res.current_user, sizeof l->b.res.current_user);
		if (r == -1)
			finish(l, KW_R_PROTOCOL, "%s: a malformed DataRow (%zu bytes)", PG_QUERY, n);
		l->null_row = r == 0;
		return;
	}
	if (type != 'Z')
		return;		/* RowDescription, CommandComplete */
	if (l->null_row || l->b.res.current_user[0] == '\0') {
		l->final_reason = KW_R_PROTOCOL;
		snprintf(l->final_detail, sizeof l->final_detail, "%s returned %s", PG_QUERY,
		    l->null_row ? "NULL" : "no row");
	} else if (l->b.expect_user != NULL && strcmp(l->b.expect_user, l->b.res.current_user) != 0) {
		l->final_reason = KW_R_WRONG_USER;
		snprintf(l->final_detail, sizeof l->final_detail, "current_user is %.100s, expected "
		    "%.100s", l->b.res.current_user, l->b.expect_user);
	} else {
		l->final_reason = KW_OK;
		snprintf(l->final_detail, sizeof l->final_detail, "current_user %.100s with %.130s",
		    l->b.res.current_user, l->target);
	}
	pg_send(l, 'X', NULL, 0);
	set_state(l, PG_QUIT);
	event_add(l->b.deadline, &(struct timeval){ 0, PG_QUIT_GRACE_MS * 1000 });
}

static void
handle_message(struct login *l, char type, const uint8_t *p, size_t n)
{
	char detail[sizeof l->b.res.detail];
	enum kw_reason r;

	if (type == 'E') {
		r = pg_error_response(p, n, l->state == PG_QUERY_SENT ? PG_QUERY " failed: " : "", detail,
		    sizeof detail);
		finish(l, r, "%s", detail);
		return;
	}
	if (type == 'N' || type == 'S' || type == 'K' || type == 'v')
		return;		/* notices, parameters, the cancel key, a minor-version answer */
	if (l->state == PG_QUERY_SENT) {
		handle_query(l, type, p, n);
		return;
	}
	if (type == 'R') {
		handle_auth(l, p, n);
		return;
	}
	if (type == 'Z' && l->authed) {
		pg_send(l, 'Q', PG_QUERY, sizeof PG_QUERY);
		set_state(l, PG_QUERY_SENT);
		return;
	}
	finish(l, KW_R_PROTOCOL, "an unexpected message '%c' (0x%02x) while %s",
	    type > ' ' && type < 127 ? type : '?', (unsigned char)type, state_names[l->state]);
}

/* The connection from here on is bev (the socket, then the TLS filter that owns it). */
static void
pg_take(struct login *l, struct bufferevent *bev)
{
	l->b.bev = bev;
	bufferevent_setcb(bev, pg_read_cb, NULL, pg_event_cb, l);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	if (l->b.sock == NULL)
		login_base_writes(&l->b, l->base, bev);
	else
		login_base_wrapped(&l->b);
}

/* The one byte that answers SSLRequest; nothing may follow it before our ClientHello. */
static void
handle_ssl_answer(struct login *l, struct evbuffer *in)
{
	char a, err[256];
	struct bufferevent *tls;
	enum kw_reason r;

	evbuffer_remove(in, &a, 1);
	if (a != 'S') {
		finish(l, a == 'N' ? KW_R_TLS : KW_R_PROTOCOL, a == 'N' ? "the server does not offer "
		    "TLS (SSLRequest refused)" : "answer 0x%02x to SSLRequest", (unsigned char)a);
		return;
	}
	if (evbuffer_get_length(in) > 0) {	/* injected plaintext (CVE-2021-23222) */
		finish(l, KW_R_PROTOCOL, "%zu bytes after the server's TLS answer",
		    evbuffer_get_length(in));
		return;
	}
	tls = tls_client_wrap(l->base, l->b.bev, l->b.host, l->addrtext, l->tls_mode, l->b.tls_ca, &r, err,
	    sizeof err);
	if (tls == NULL)
		finish(l, r, "%s", err);
	else {
		pg_take(l, tls);
		set_state(l, PG_TLS);
	}
}

static void
pg_read_cb(struct bufferevent *bev, void *arg)
{
	struct login *l = arg;
	struct evbuffer *in;
	const uint8_t *hdr;
	uint32_t len;
	char type;

	while (!l->b.finished && l->b.bev == bev) {
		in = bufferevent_get_input(bev);
		if (l->state == PG_QUIT) {
			evbuffer_drain(in, evbuffer_get_length(in));
			return;
		}
		if (l->state == PG_SSLREQ) {
			if (evbuffer_get_length(in) > 0)
				handle_ssl_answer(l, in);
			return;
		}
		if (evbuffer_get_length(in) < PG_HDR_LEN)
			return;
		hdr = evbuffer_pullup(in, PG_HDR_LEN);
		if ((len = pg_get_u32(hdr + 1)) < 4 || len > PG_MSG_MAX) {
			finish(l, KW_R_PROTOCOL, "a message '%c' of %u bytes (at most %u)", hdr[0] > ' ' &&
			    hdr[0] < 127 ? hdr[0] : '?', len, PG_MSG_MAX);
			return;
		}
		if (evbuffer_get_length(in) < (size_t)len + 1)
			return;
		if (len > l->b.pktcap) {
			free(l->b.pkt);
			l->b.pkt = xmalloc(l->b.pktcap = len);
		}
		type = (char)hdr[0];
		evbuffer_drain(in, PG_HDR_LEN);
		evbuffer_remove(in, l->b.pkt, len - 4);
		/* a copy: handling may free the bufferevent (and its buffer) */
		handle_message(l, type, l->b.pkt, len - 4);
	}
}

static void
pg_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct login *l = arg;
	int e = EVUTIL_SOCKET_ERROR();
	char text[sizeof l->b.res.detail];

	if (what & BEV_EVENT_CONNECTED) {
		if (l->state == PG_TLS) {
			tls_client_connected(bev, l->addrtext);
			send_startup(l);
		}
		return;
	}
	/* a server's last words (a KRB-ERROR token, an ErrorResponse) may come with its close */
	if (l->state != PG_TLS && l->state != PG_QUIT) {
		pg_read_cb(bev, l);
		if (l->b.finished)
			return;
	}
	if (l->state == PG_TLS) {
		tls_client_error(bev, what, l->addrtext, l->b.host, l->b.tls_ca, text, sizeof text);
		finish(l, KW_R_TLS, "%s", text);
	} else if (l->state == PG_QUIT)
		finish(l, l->final_reason, "%s", l->final_detail);
	else if (what & BEV_EVENT_EOF)
		finish(l, KW_R_PROTOCOL, "the server closed the connection while %s",
		    state_names[l->state]);
	else
		finish(l, KW_R_PROTOCOL, "connection error while %s: %s", state_names[l->state],
		    evutil_socket_error_to_string(e));
}

/* ---- connect ---- */
static void ticket_then_connect(struct login *);

static void
dialled(void *arg, struct bufferevent *bev, enum kw_reason r, const char *detail,
    const char *peer)
{
	struct login *l = arg;

	snprintf(l->addrtext, sizeof l->addrtext, "%s", peer);
	if (bev == NULL && r == KW_OK) {	/* the address: the ticket, then connect */
		ticket_then_connect(l);
		return;
	}
	l->dial = NULL;
	if (bev == NULL) {
		finish(l, r, "%s", detail);
		return;
	}
	pg_take(l, bev);
	if (l->tls_mode == KW_TLS_DISABLE) {
		send_startup(l);
		return;
	}
	bufferevent_write(bev, pg_ssl_request, sizeof pg_ssl_request);
	set_state(l, PG_SSLREQ);
}

/* ---- the ticket, before anything goes out ---- */

/* The ticket for target is in the cache, or it is asked for once; GSSAPI never goes to a KDC. */
static void
ticket_then_connect(struct login *l)
{
	struct gss_token_err err;
	int have = gss_token_have_ticket(l->b.ccache, l->target, &err);

	set_state(l, PG_TICKET);
	if (have == -1) {
		finish(l, err.reason == KW_OK ? KW_R_GSS : err.reason, "%s", err.text);
		return;
	}
	if (have == 1) {
		set_state(l, PG_CONNECT);
		tcp_dial_connect(l->dial);
		return;
	}
	if (l->b.cb.need_ticket == NULL || l->ticket_asked) {
		finish(l, KW_R_GSS, "no ticket for %s in %s%s", l->target, l->b.ccache,
		    l->ticket_asked ? " after need_ticket" : "");
		return;
	}
	l->ticket_asked = 1;
	l->ticket_reason = KW_R_COUNT;
	/* the last thing done here: login_ticket_ready (or a cancel) may come from inside */
	l->b.cb.need_ticket(l->b.cb.arg, l, l->b.spn);
}

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct login *l = arg;

	if (l->b.finished || l->state != PG_TICKET || !l->ticket_asked)
		return;
	if (l->ticket_reason != KW_OK)
		finish(l, l->ticket_reason, "fetching the ticket for %s failed: %s", l->b.spn,
		    reason_name(l->ticket_reason));
	else
		ticket_then_connect(l);
}

struct login *
login_pg_start(struct event_base *base, const struct kw_cluster *c, const char *ccache,
    const char *dns_servers, const char *spn, unsigned timeout_ms, const struct login_callbacks *cb)
{
	struct login *l;

	if (base == NULL || c == NULL || c->engine != KW_ENGINE_POSTGRESQL || c->host == NULL ||
	    ccache == NULL || cb == NULL || cb->done == NULL)
		return NULL;
	l = xcalloc(1, sizeof *l);
	l->head.engine = &login_engine_pg;
	l->base = base;
	l->b.cb = *cb;
	login_base_names(&l->b, c, ccache, dns_servers);
	l->b.user = xstrdup(c->user ? c->user : "krbmon");
	l->dbname = xstrdup(c->database ? c->database : "postgres");
	/* the chain's SPN, the cluster's spn:, or postgres/host (the chain picks the realm) */
	if (spn != NULL || c->spn != NULL)
		l->b.spn = xstrdup(spn != NULL ? spn : c->spn);
	else
		xasprintf(&l->b.spn, "postgres/%s", c->host);
	/* a name without a realm is the referral form ("postgres/host@"), as MIT stores it */
	if (strchr(l->b.spn, '@') == NULL)
		xasprintf(&l->target, "%s@", l->b.spn);
	else
		l->target = xstrdup(l->b.spn);
	l->port = c->port ? c->port : 5432;
	l->tls_mode = c->tls_mode;
	l->timeout_ms = timeout_ms ? timeout_ms : 1;
	l->state = PG_RESOLVE;
	l->b.done_ev = event_new(base, -1, 0, done_cb, l);
	l->b.deadline = evtimer_new(base, deadline_cb, l);
	l->b.kick = event_new(base, -1, 0, kick_cb, l);
	if (l->b.done_ev == NULL || l->b.deadline == NULL || l->b.kick == NULL)
		fatalx("event_new failed");
	event_add(l->b.deadline, &(struct timeval){ l->timeout_ms / 1000,
	    (l->timeout_ms % 1000) * 1000 });
	/* a third of the login's time for the name, the rest for the database; from the loop */
	/* one address of an endpoint (a reader instance): host stays the TLS name and the SPN's */
	l->dial = tcp_dial_start(base, c->connect_addr ? c->connect_addr : l->b.host, l->port,
	    l->b.dns_servers, l->timeout_ms / 3, 1, dialled, l);
	return l;
}

void
login_pg_cancel(struct login *l)
{
	if (l == NULL || l->b.in_done)
		return;
	teardown(l);
	login_free(l);
}

void
login_pg_ticket_ready(struct login *l, enum kw_reason r)
{
	if (l == NULL || l->b.finished || l->state != PG_TICKET || !l->ticket_asked ||
	    l->ticket_reason != KW_R_COUNT)
		return;
	l->ticket_reason = r;
	event_active(l->b.kick, EV_TIMEOUT, 0);
}

const struct login_engine login_engine_pg = {
	.start = login_pg_start,
	.cancel = login_pg_cancel,
	.ticket_ready = login_pg_ticket_ready,
};
