/*
 * The database login for MySQL (authentication_kerberos) and MariaDB (auth_gssapi), driven on the
 * loop: resolve, TCP connect, greeting, SSLRequest + TLS, HandshakeResponse41, the Kerberos
 * plugin exchange, SELECT CURRENT_USER(), COM_QUIT.  PROTOCOLS.md §1 and §2 give the wire facts.
 *
 * The packet parser is mysql_packet.c; this file is the state machine around libevent
 * bufferevents (the TLS one an OpenSSL filter over the socket one).
 *
 * Host names are resolved through the Region's resolvers with dns_client.c (the one c-ares
 * integration, and its reasons); numeric hosts are used as they are.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <ares.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "../lib/log.h"
#include "../lib/xmalloc.h"
#include "../net/dns_client.h"
#include "../net/gss_token.h"
#include "../net/tls_client.h"
#include "login_impl.h"
#include "mysql_packet.h"

/* ------------------------------------------------------------------------------------------- */
/* The login on the loop.  struct login is this file's own (login_impl.h leaves it incomplete). */

/* A TCP connect that has not completed by then is a timeout even when time is left. */
#define MY_CONNECT_TIMEOUT_MS	5000
/* After COM_QUIT: how long to wait for the server to close before closing ourselves. */
#define MY_QUIT_GRACE_MS	200

enum my_state {
	ST_RESOLVE,
	ST_CONNECT,
	ST_GREETING,
	ST_TLS,
	ST_AUTH,	/* HandshakeResponse sent; waiting for the switch to the Kerberos plugin */
	ST_TICKET,	/* need_ticket asked; waiting for login_ticket_ready */
	ST_GSS,		/* GSS token sent; waiting for OK/ERR or the server's token */
	ST_QUERY,
	ST_QUIT,
	ST_DONE,
	ST_COUNT
};

static const char *const state_names[ST_COUNT] = {
	[ST_RESOLVE] = "resolve", [ST_CONNECT] = "connect", [ST_GREETING] = "greeting",
	[ST_TLS] = "tls", [ST_AUTH] = "auth", [ST_TICKET] = "ticket", [ST_GSS] = "gss",
	[ST_QUERY] = "query", [ST_QUIT] = "quit", [ST_DONE] = "done",
};

struct login {
	struct login_head head;		/* first: login.c reads the row there */
	struct event_base *base;
	struct login_callbacks cb;
	enum kw_engine engine;
	char *name, *host, *user, *expect_user, *tls_ca, *ccache, *spn;
	char *cfg_spn;			/* the cluster's spn:, NULL: derived (spn_acceptable) */
	char *dns_servers;		/* the Region's resolvers for c-ares, NULL: the system's */
	uint16_t port;
	enum kw_tls_mode tls_mode;
	unsigned timeout_ms;
	struct timespec t0;
	enum my_state state;

	/* resolution */
	struct dns_client *dns;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char addrtext[INET6_ADDRSTRLEN + 8];

	struct bufferevent *bev;	/* the socket, or the TLS filter over it */
	struct event *deadline, *kick, *done_ev;
	struct event *connect_timer;	/* the TCP connect's deadline, then COM_QUIT's grace */

	unsigned seq;			/* the sequence id of the next packet, either way */
	uint8_t *pkt;			/* the payload being handled */
	size_t pktcap;
	struct my_handshake hs;
	uint32_t caps;
	const char *plugin;		/* the Kerberos client plugin in use */
	int switched, gss_started, ticket_asked;
	enum kw_reason ticket_reason;
	struct gss_token *gss;
	struct my_resultset rs;
	enum kw_reason final_reason;	/* decided before COM_QUIT */
	char final_detail[sizeof ((struct login_result *)0)->detail];

	struct login_result res;
	int finished, in_done;
};

static void login_read_cb(struct bufferevent *, void *);
static void kick_cb(evutil_socket_t, short, void *);
static void login_event_cb(struct bufferevent *, short, void *);

static unsigned
elapsed_ms(const struct login *l)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (unsigned)((now.tv_sec - l->t0.tv_sec) * 1000 + (now.tv_nsec - l->t0.tv_nsec) / 1000000);
}

static void
set_state(struct login *l, enum my_state s)
{
	if ((unsigned)s >= ST_COUNT)
		fatalx("login %s: state %d out of range", l->name, (int)s);
	if (s == l->state)
		return;
	log_debug("login %s: %s -> %s (%u ms)", l->name, state_names[l->state], state_names[s],
	    elapsed_ms(l));
	l->state = s;
}

/* Stops all I/O; the login itself stays until it is freed. */
static void
teardown(struct login *l)
{
	dns_client_free(l->dns);	/* its callback, if still due, runs now as EDESTRUCTION */
	l->dns = NULL;
	if (l->bev != NULL) {
		bufferevent_free(l->bev);	/* and the socket, the SSL and the bev below */
		l->bev = NULL;
	}
	gss_token_free(l->gss);
	l->gss = NULL;
	event_del(l->deadline);
	event_del(l->connect_timer);
	event_del(l->kick);
}

static void
login_free(struct login *l)
{
	event_free(l->done_ev);
	event_free(l->deadline);
	event_free(l->connect_timer);
	event_free(l->kick);
	if (l->pkt != NULL)
		explicit_bzero(l->pkt, l->pktcap);
	free(l->pkt);
	free(l->name);
	free(l->host);
	free(l->user);
	free(l->expect_user);
	free(l->tls_ca);
	free(l->ccache);
	free(l->dns_servers);
	free(l->spn);
	free(l->cfg_spn);
	free(l);
}

/* The one way a login ends: result recorded, I/O stopped, done() runs later from the loop. */
static void
finish(struct login *l, enum kw_reason r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
finish(struct login *l, enum kw_reason r, const char *fmt, ...)
{
	va_list ap;

	if (l->finished)
		return;
	l->finished = 1;
	l->res.reason = r;
	va_start(ap, fmt);
	vsnprintf(l->res.detail, sizeof l->res.detail, fmt, ap);
	va_end(ap);
	log_debug("login %s: %s in state %s after %u ms: %s", l->name, reason_name(r),
	    state_names[l->state], elapsed_ms(l), l->res.detail);
	teardown(l);
	set_state(l, ST_DONE);
	event_active(l->done_ev, EV_TIMEOUT, 0);
}

static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct login *l = arg;

	l->in_done = 1;
	if (l->cb.done != NULL)
		l->cb.done(l->cb.arg, &l->res);
	login_free(l);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct login *l = arg;

	if (l->state == ST_TICKET)
		finish(l, KW_R_TIMEOUT, "no ticket for %s after %u ms", l->res.announced_spn,
		    elapsed_ms(l));
	else
		finish(l, KW_R_TIMEOUT, "%s%s%s: no answer in state %s after %u ms", l->host,
		    l->addrtext[0] ? " " : "", l->addrtext, state_names[l->state], elapsed_ms(l));
}

static void
connect_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct login *l = arg;

	if (l->state == ST_CONNECT)
		finish(l, KW_R_TIMEOUT, "TCP connect to %s timed out after %u ms", l->addrtext,
		    elapsed_ms(l));
	else if (l->state == ST_QUIT)
		finish(l, l->final_reason, "%s", l->final_detail);
}

static enum kw_reason
errno_reason(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return KW_R_REFUSED;
	case ETIMEDOUT:
		return KW_R_TIMEOUT;
	default:
		return KW_R_UNREACHABLE;
	}
}

/* Sends one packet with the next sequence id. */
static void
send_packet(struct login *l, const void *payload, size_t len)
{
	uint8_t hdr[MY_HDR_LEN];

	hdr[0] = (uint8_t)len;
	hdr[1] = (uint8_t)(len >> 8);
	hdr[2] = (uint8_t)(len >> 16);
	hdr[3] = (uint8_t)l->seq;
	l->seq = (l->seq + 1) & 0xff;
	bufferevent_write(l->bev, hdr, sizeof hdr);
	bufferevent_write(l->bev, payload, len);
}

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* The first 32 bytes of HandshakeResponse41, which are also the whole SSLRequest. */
static size_t
put_client_caps(const struct login *l, uint8_t *p)
{
	put_u32(p, l->caps);
	put_u32(p + 4, 16U << 20);	/* max packet */
	p[8] = 33;			/* utf8_general_ci */
	memset(p + 9, 0, 23);
	return 32;
}

static void
send_handshake_response(struct login *l)
{
	size_t ulen = strlen(l->user), plen = strlen(l->plugin), n;
	uint8_t *p = xmalloc(32 + ulen + 1 + 1 + plen + 1);

	n = put_client_caps(l, p);
	memcpy(p + n, l->user, ulen + 1);
	n += ulen + 1;
	p[n++] = 0;			/* no auth-response: the server switches to its plugin */
	memcpy(p + n, l->plugin, plen + 1);
	n += plen + 1;
	send_packet(l, p, n);
	free(p);
	set_state(l, ST_AUTH);
}

/* SSLRequest sent: everything from here goes through net/tls_client.c's filter over the socket. */
static void
start_tls(struct login *l)
{
	uint8_t req[32];
	struct bufferevent *tls;
	enum kw_reason r;
	char err[256];

	put_client_caps(l, req);
	send_packet(l, req, sizeof req);
	tls = tls_client_wrap(l->base, l->bev, l->host, l->addrtext, l->tls_mode, l->tls_ca, &r, err,
	    sizeof err);
	if (tls == NULL) {
		finish(l, r, "%s", err);
		return;
	}
	l->bev = tls;		/* owns the socket bufferevent and the SSL now */
	bufferevent_setcb(tls, login_read_cb, NULL, login_event_cb, l);
	bufferevent_setwatermark(tls, EV_READ, 0, MY_BUFFER_MAX);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
	set_state(l, ST_TLS);
}

/* Why the TLS handshake failed, in words (net/tls_client.c's). */
static void
finish_tls_error(struct login *l, short what)
{
	char text[sizeof l->res.detail];

	tls_client_error(l->bev, what, l->addrtext, l->host, l->tls_ca, text, sizeof text);
	finish(l, KW_R_TLS, "%s", text);
}

static void
start_gss(struct login *l)
{
	struct gss_token_err err;
	void *tok;
	size_t toklen;
	int complete;

	l->gss_started = 1;
	if ((l->gss = gss_token_new(l->ccache, l->res.announced_spn, &err)) == NULL ||
	    gss_token_step(l->gss, NULL, 0, &tok, &toklen, &complete, &err) == -1) {
		finish(l, err.reason, "GSS for %s: %s", l->res.announced_spn, err.text);
		return;
	}
	send_packet(l, tok, toklen);
	gss_token_release(tok, toklen);
	set_state(l, ST_GSS);
}

/* The ticket for the announced SPN is in the cache, or it is asked for. */
static void
ticket_then_gss(struct login *l)
{
	struct gss_token_err err;
	int have = gss_token_have_ticket(l->ccache, l->res.announced_spn, &err);

	if (have == -1) {
		finish(l, err.reason == KW_OK ? KW_R_GSS : err.reason, "%s", err.text);
		return;
	}
	if (have == 1) {
		start_gss(l);
		return;
	}
	if (l->cb.need_ticket == NULL || l->ticket_asked) {
		finish(l, KW_R_GSS, "no ticket for %s in %s%s", l->res.announced_spn, l->ccache,
		    l->ticket_asked ? " after need_ticket" : "");
		return;
	}
	l->ticket_asked = 1;
	set_state(l, ST_TICKET);
	/* login_ticket_ready may come from inside this call: it only schedules the kick */
	l->cb.need_ticket(l->cb.arg, l, l->res.announced_spn);
}

/*
 * Whether the announced SPN is one we may ask a ticket for.  The server chooses the name, and
 * a ticket goes to whoever asks: a server that announced cifs/fileserver.<user realm> got
 * krbmon's ticket for that file server, to relay within the skew window.  So with spn: set,
 * only that name; without it, only <service>/<host> of the configured engine and host (case
 * aside: DNS names and AD's service names are not case-sensitive) in the realm the chain
 * derived (l->spn's, when it has one).  Decided before any ticket is asked for.
 */
static int
spn_acceptable(struct login *l, char *why, size_t whysz)
{
	const char *a = l->res.announced_spn, *svc = l->engine == KW_ENGINE_MYSQL ? "mysql" :
	    "mariadb";
	const char *slash = strchr(a, '/'), *at = strrchr(a, '@');
	const char *want_at = l->spn != NULL ? strrchr(l->spn, '@') : NULL;
	size_t hl;

	if (l->cfg_spn != NULL) {
		if (strcmp(a, l->cfg_spn) == 0)
			return 1;
		my_why(why, whysz, "the server announces %.100s, spn: is %.100s", a, l->cfg_spn);
		return 0;
	}
	hl = strlen(l->host);
	if (slash == NULL || at == NULL || at < slash || (size_t)(slash - a) != strlen(svc) ||
	    strncasecmp(a, svc, strlen(svc)) != 0 || (size_t)(at - slash - 1) != hl ||
	    strncasecmp(slash + 1, l->host, hl) != 0 ||
	    (want_at != NULL && want_at[1] != '\0' && strcmp(at + 1, want_at + 1) != 0)) {
		my_why(why, whysz, "the server announces %.100s, not %s/%.60s@%.60s", a, svc,
		    l->host, want_at != NULL && want_at[1] != '\0' ? want_at + 1 : "REALM");
		return 0;
	}
	return 1;
}

/* The Kerberos plugin's first server packet: the SPN (and for MySQL the realm). */
static void
plugin_first_data(struct login *l, const uint8_t *p, size_t n)
{
	char why[160], mech[64];
	int r;

	if (strcmp(l->plugin, PLUGIN_MYSQL_KRB) == 0)
		r = my_parse_krb_info(p, n, l->res.announced_spn, sizeof l->res.announced_spn,
		    l->res.announced_realm, sizeof l->res.announced_realm, why, sizeof why);
	else
		r = my_parse_gssapi_info(p, n, l->res.announced_spn, sizeof l->res.announced_spn,
		    mech, sizeof mech, why, sizeof why);
	if (r == -1) {
		finish(l, KW_R_PROTOCOL, "%s", why);
		return;
	}
	if (!spn_acceptable(l, why, sizeof why)) {
		finish(l, KW_R_SPN_MISMATCH, "%s", why);
		return;
	}
	ticket_then_gss(l);
}

/* An ERR packet during authentication: the server's words may name a Kerberos reason. */
static void
finish_auth_err(struct login *l, const struct my_err *e)
{
	static const char boiler[] = "Unspecified GSS failure.  Minor code may provide more "
	    "information.";
	char text[sizeof e->msg], *b;
	size_t i, j;

	/* GSSAPI's stock words leave no room in the detail for the reason that follows them */
	snprintf(text, sizeof text, "%s", e->msg);
	if ((b = strstr(text, boiler)) != NULL)
		memmove(b, b + sizeof boiler - 1, strlen(b + sizeof boiler - 1) + 1);
	for (i = j = 0; text[i] != '\0'; i++)
		if (text[i] != ' ' || (j > 0 && text[j - 1] != ' '))
			text[j++] = text[i];
	text[j] = '\0';
	l->res.server_error = (int)e->code;
	finish(l, gss_token_server_text_reason(e->msg), "ERR %u%s%s: %s", e->code,
	    e->state[0] ? " " : "", e->state, text);
}

static void
send_query(struct login *l)
{
	static const char q[] = "\x03" "SELECT CURRENT_USER()";

	l->seq = 0;
	memset(&l->rs, 0, sizeof l->rs);
	l->rs.deprecate_eof = (l->caps & CLIENT_DEPRECATE_EOF) != 0;
	send_packet(l, q, sizeof q - 1);
	set_state(l, ST_QUERY);
}

static void
handle_auth(struct login *l, const uint8_t *p, size_t n)
{
	struct my_auth a;
	char why[128];
	struct gss_token_err err;
	void *tok;
	size_t toklen;
	int complete;

	if (my_parse_auth(p, n, &a, why, sizeof why) == MY_AUTH_BAD) {
		finish(l, KW_R_PROTOCOL, "%s", why);
		return;
	}
	switch (a.kind) {
	case MY_AUTH_OK:
		if (!l->gss_started) {
			finish(l, KW_R_PROTOCOL, "the server let %s in without a Kerberos exchange",
			    l->user);
			return;
		}
		/* an OK before the AP-REP: whoever answers never proved it holds the service key */
		if (!gss_token_complete(l->gss)) {
			finish(l, KW_R_GSS, "the server said OK without authenticating itself "
			    "(no AP-REP for %s: mutual authentication)", l->res.announced_spn);
			return;
		}
		send_query(l);
		return;
	case MY_AUTH_ERR:
		finish_auth_err(l, &a.err);
		return;
	case MY_AUTH_SWITCH:
		if (l->switched || l->gss_started) {
			finish(l, KW_R_PROTOCOL, "a second AuthSwitchRequest (to %s)", a.plugin);
			return;
		}
		l->switched = 1;
		if (strcmp(a.plugin, PLUGIN_MYSQL_KRB) == 0)
			l->plugin = PLUGIN_MYSQL_KRB;
		else if (strcmp(a.plugin, PLUGIN_MARIADB_GSS) == 0)
			l->plugin = PLUGIN_MARIADB_GSS;
		else {
			finish(l, KW_R_ACCESS_DENIED, "the server asks for plugin %s: is %s a "
			    "Kerberos account?", a.plugin, l->user);
			return;
		}
		plugin_first_data(l, a.data, a.len);
		return;
	case MY_AUTH_DATA:
		if (!l->gss_started) {
			plugin_first_data(l, a.data, a.len);
			return;
		}
		if (a.len == 0) {
			finish(l, KW_R_PROTOCOL, "an empty GSS token from the server");
			return;
		}
		if (gss_token_step(l->gss, a.data, a.len, &tok, &toklen, &complete, &err) == -1) {
			finish(l, err.reason, "GSS for %s: %s", l->res.announced_spn, err.text);
			return;
		}
		if (toklen > 0)
			send_packet(l, tok, toklen);
		gss_token_release(tok, toklen);
		return;
	case MY_AUTH_BAD:
		break;
	}
}

static void
handle_query(struct login *l, const uint8_t *p, size_t n)
{
	struct timeval tv;
	char why[128];
	int r = my_rs_feed(&l->rs, p, n, why, sizeof why);

	if (r == -1) {
		finish(l, KW_R_PROTOCOL, "SELECT CURRENT_USER(): %s", why);
		return;
	}
	if (r == 0)
		return;
	if (l->rs.got_err) {
		l->res.server_error = (int)l->rs.err.code;
		finish(l, KW_R_ACCESS_DENIED, "SELECT CURRENT_USER(): ERR %u: %s", l->rs.err.code,
		    l->rs.err.msg);
		return;
	}
	if (!l->rs.have_value || l->rs.is_null) {
		finish(l, KW_R_PROTOCOL, "SELECT CURRENT_USER() returned %s",
		    l->rs.have_value ? "NULL" : "no row");
		return;
	}
	snprintf(l->res.current_user, sizeof l->res.current_user, "%s", l->rs.value);
	if (l->expect_user != NULL && strcmp(l->expect_user, l->rs.value) != 0) {
		l->final_reason = KW_R_WRONG_USER;
		snprintf(l->final_detail, sizeof l->final_detail, "CURRENT_USER() is %.110s, not %.110s",
		    l->rs.value, l->expect_user);
	} else {
		l->final_reason = KW_OK;
		snprintf(l->final_detail, sizeof l->final_detail, "logged in as %.100s with %.130s",
		    l->rs.value, l->res.announced_spn);
	}
	/*
	 * COM_QUIT.  The server closes the connection when it reads it, and that ends the login;
	 * a server that does not gets a short grace (a TLS filter's output may still be queued).
	 */
	l->seq = 0;
	send_packet(l, "\x01", 1);
	set_state(l, ST_QUIT);
	tv.tv_sec = 0;
	tv.tv_usec = MY_QUIT_GRACE_MS * 1000;
	event_add(l->connect_timer, &tv);
}

static void
handle_greeting(struct login *l, const uint8_t *p, size_t n)
{
	char why[128];
	struct my_err e;
	const uint32_t want = CLIENT_LONG_PASSWORD | CLIENT_LONG_FLAG | CLIENT_PROTOCOL_41 |
	    CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION | CLIENT_MULTI_RESULTS |
	    CLIENT_PLUGIN_AUTH;
	const uint32_t need = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH;

	if (n > 0 && p[0] == 0xff) {
		if (my_parse_err(p, n, &e) == -1) {
			finish(l, KW_R_PROTOCOL, "a truncated ERR packet instead of the greeting");
			return;
		}
		l->res.server_error = (int)e.code;
		finish(l, KW_R_ACCESS_DENIED, "the server refused the connection: ERR %u: %s",
		    e.code, e.msg);
		return;
	}
	if (my_parse_handshake(p, n, &l->hs, why, sizeof why) == -1) {
		finish(l, KW_R_PROTOCOL, "%s", why);
		return;
	}
	log_debug("login %s: server %s, connection %u, capabilities 0x%08x, plugin %s", l->name,
	    l->hs.version, l->hs.conn_id, l->hs.caps, l->hs.plugin);
	if ((l->hs.caps & need) != need) {
		finish(l, KW_R_PROTOCOL, "server %s lacks protocol 4.1 or plugin authentication",
		    l->hs.version);
		return;
	}
	l->caps = l->hs.caps & want;
	if (l->tls_mode == KW_TLS_DISABLE) {
		send_handshake_response(l);
		return;
	}
	if (!(l->hs.caps & CLIENT_SSL)) {
		finish(l, KW_R_TLS, "server %s does not offer TLS", l->hs.version);
		return;
	}
	l->caps |= CLIENT_SSL;
	start_tls(l);
}

static void
handle_packet(struct login *l, const uint8_t *p, size_t n)
{
	switch (l->state) {
	case ST_GREETING:
		handle_greeting(l, p, n);
		break;
	case ST_AUTH:
	case ST_GSS:
		handle_auth(l, p, n);
		break;
	case ST_QUERY:
		handle_query(l, p, n);
		break;
	default:
		finish(l, KW_R_PROTOCOL, "an unexpected packet in state %s", state_names[l->state]);
		break;
	}
}

static void
login_read_cb(struct bufferevent *bev, void *arg)
{
	struct login *l = arg;
	struct evbuffer *in;
	const uint8_t *hdr;
	size_t plen;
	unsigned seq;
	char why[128];

	while (!l->finished && l->bev == bev) {
		in = bufferevent_get_input(bev);
		if (l->state == ST_QUIT) {
			/* the result is decided; whatever a server says after COM_QUIT is moot */
			evbuffer_drain(in, evbuffer_get_length(in));
			return;
		}
		if (evbuffer_get_length(in) < MY_HDR_LEN)
			return;
		hdr = evbuffer_pullup(in, MY_HDR_LEN);
		/* the header alone tells a stray sequence id (or bytes that are not MySQL at all) */
		if (hdr[3] != l->seq) {
			finish(l, KW_R_PROTOCOL, "sequence id %u where %u was due (state %s)", hdr[3],
			    l->seq, state_names[l->state]);
			return;
		}
		switch (my_frame(hdr, evbuffer_get_length(in), &plen, &seq, why, sizeof why)) {
		case MY_FRAME_NEED:
			return;
		case MY_FRAME_BAD:
			finish(l, KW_R_PROTOCOL, "%s", why);
			return;
		case MY_FRAME_OK:
			break;
		}
		if (l->state == ST_TICKET || l->state == ST_TLS) {
			finish(l, KW_R_PROTOCOL, "an unexpected packet in state %s",
			    state_names[l->state]);
			return;
		}
		l->seq = (l->seq + 1) & 0xff;
		/* a copy: handling may free the bufferevent (and its buffer) */
		if (plen > l->pktcap) {
			free(l->pkt);
			l->pktcap = plen;
			l->pkt = xmalloc(plen);
		}
		evbuffer_drain(in, MY_HDR_LEN);
		evbuffer_remove(in, l->pkt, plen);
		handle_packet(l, l->pkt, plen);
	}
}

static void
login_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct login *l = arg;
	int e = EVUTIL_SOCKET_ERROR();

	if (what & BEV_EVENT_CONNECTED) {
		if (l->state == ST_CONNECT) {
			event_del(l->connect_timer);
			set_state(l, ST_GREETING);
		} else if (l->state == ST_TLS) {
			SSL *ssl = bufferevent_openssl_get_ssl(bev);

			log_debug("login %s: %s %s", l->name, SSL_get_version(ssl),
			    SSL_get_cipher_name(ssl));
			tls_client_connected(bev, l->addrtext);
			send_handshake_response(l);
		}
		return;
	}
	if (l->state == ST_TLS) {
		finish_tls_error(l, what);
		return;
	}
	if (l->state == ST_CONNECT) {
		finish(l, errno_reason(e), "TCP connect to %s: %s", l->addrtext,
		    evutil_socket_error_to_string(e));
		return;
	}
	if (l->state == ST_QUIT) {
		finish(l, l->final_reason, "%s", l->final_detail);
		return;
	}
	if ((what & BEV_EVENT_EOF) && evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		finish(l, KW_R_PROTOCOL, "the server closed the connection inside a packet "
		    "(%zu bytes of it arrived, state %s)", evbuffer_get_length(bufferevent_get_input(bev)),
		    state_names[l->state]);
	else if (what & BEV_EVENT_EOF)
		finish(l, KW_R_PROTOCOL, "the server closed the connection in state %s",
		    state_names[l->state]);
	else
		finish(l, KW_R_PROTOCOL, "connection error in state %s: %s", state_names[l->state],
		    evutil_socket_error_to_string(e));
}

static void
start_connect(struct login *l)
{
	struct timeval tv;
	unsigned ms = l->timeout_ms < MY_CONNECT_TIMEOUT_MS ? l->timeout_ms : MY_CONNECT_TIMEOUT_MS;
	int e;

	l->bev = bufferevent_socket_new(l->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (l->bev == NULL) {
		finish(l, KW_R_INTERNAL, "bufferevent_socket_new failed");
		return;
	}
	bufferevent_setcb(l->bev, login_read_cb, NULL, login_event_cb, l);
	bufferevent_setwatermark(l->bev, EV_READ, 0, MY_BUFFER_MAX);
	bufferevent_enable(l->bev, EV_READ | EV_WRITE);
	set_state(l, ST_CONNECT);
	if (bufferevent_socket_connect(l->bev, (struct sockaddr *)&l->addr, (int)l->addrlen) == -1) {
		e = EVUTIL_SOCKET_ERROR();
		finish(l, errno_reason(e), "TCP connect to %s: %s", l->addrtext,
		    evutil_socket_error_to_string(e));
		return;
	}
	if (l->finished)	/* libevent may report a failed connect from inside the call */
		return;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	event_add(l->connect_timer, &tv);
}

static void
set_addr(struct login *l, const struct sockaddr *sa, socklen_t len)
{
	char ip[INET6_ADDRSTRLEN];

	memcpy(&l->addr, sa, len);
	l->addrlen = len;
	if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&l->addr;

		s6->sin6_port = htons(l->port);
		evutil_inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
		snprintf(l->addrtext, sizeof l->addrtext, "[%s]:%u", ip, l->port);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&l->addr;

		s4->sin_port = htons(l->port);
		evutil_inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
		snprintf(l->addrtext, sizeof l->addrtext, "%s:%u", ip, l->port);
	}
}

/* The database's address, from dns_client.c: go on connecting, or end with its reason. */
static void
resolved(void *arg, int status, const struct sockaddr *sa, unsigned salen)
{
	struct login *l = arg;

	if (status == ARES_EDESTRUCTION || l->finished)
		return;
	dns_client_free(l->dns);	/* from its own callback: allowed (dns_client.h) */
	l->dns = NULL;
	if (status == ARES_SUCCESS && (sa == NULL || salen > sizeof l->addr))
		status = ARES_ENODATA;
	if (status != ARES_SUCCESS) {
		finish(l, dns_reason(status), "resolving %s: %s", l->host, ares_strerror(status));
		return;
	}
	set_addr(l, sa, (socklen_t)salen);
	start_connect(l);
}

static void
start_resolve(struct login *l)
{
	char why[256];

	/* a third of the login's time for the name, the rest for the database */
	l->dns = dns_client_new_list(l->base, l->dns_servers, l->timeout_ms / 3, why, sizeof why);
	if (l->dns == NULL) {
		finish(l, KW_R_INTERNAL, "resolving %s: %s", l->host, why);
		return;
	}
	set_state(l, ST_RESOLVE);
	dns_getaddr(l->dns, l->host, resolved, l);
}

/* Starts at once what can start; anything that ends the login now reports from the loop. */
struct login *
login_mysql_start(struct event_base *base, const struct kw_cluster *c, const char *ccache,
    const char *dns_servers, const char *spn, unsigned timeout_ms, const struct login_callbacks *cb)
{
	struct login *l;
	struct timeval tv;
	struct in6_addr a6;
	struct in_addr a4;
	const char *literal;

	if (base == NULL || c == NULL || c->host == NULL || c->user == NULL || ccache == NULL ||
	    cb == NULL || (c->engine != KW_ENGINE_MYSQL && c->engine != KW_ENGINE_MARIADB))
		return NULL;
	l = xcalloc(1, sizeof *l);
	l->head.engine = &login_engine_mysql;
	l->base = base;
	l->cb = *cb;
	l->engine = c->engine;
	l->name = xstrdup(c->name != NULL ? c->name : c->host);
	l->host = xstrdup(c->host);
	l->user = xstrdup(c->user);
	l->expect_user = c->expect_user != NULL ? xstrdup(c->expect_user) : NULL;
	l->tls_ca = c->tls_ca != NULL ? xstrdup(c->tls_ca) : NULL;
	l->ccache = xstrdup(ccache);
	l->dns_servers = dns_servers != NULL ? xstrdup(dns_servers) : NULL;
	l->spn = spn != NULL ? xstrdup(spn) : NULL;
	l->cfg_spn = c->spn != NULL ? xstrdup(c->spn) : NULL;
	l->port = c->port ? c->port : 3306;
	l->tls_mode = c->tls_mode;
	l->timeout_ms = timeout_ms ? timeout_ms : 1;
	l->plugin = c->engine == KW_ENGINE_MYSQL ? PLUGIN_MYSQL_KRB : PLUGIN_MARIADB_GSS;
	l->state = ST_RESOLVE;
	clock_gettime(CLOCK_MONOTONIC, &l->t0);

	l->done_ev = event_new(base, -1, 0, done_cb, l);
	l->deadline = evtimer_new(base, deadline_cb, l);
	l->connect_timer = evtimer_new(base, connect_timer_cb, l);
	l->kick = event_new(base, -1, 0, kick_cb, l);
	if (l->done_ev == NULL || l->deadline == NULL || l->connect_timer == NULL || l->kick == NULL) {
		login_free(l);
		return NULL;
	}
	tv.tv_sec = l->timeout_ms / 1000;
	tv.tv_usec = (l->timeout_ms % 1000) * 1000;
	event_add(l->deadline, &tv);

	/* one address of an endpoint (a reader instance): host stays the TLS name and the SPN's */
	literal = c->connect_addr != NULL ? c->connect_addr : l->host;
	if (evutil_inet_pton(AF_INET, literal, &a4) == 1) {
		struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_addr = a4 };

		set_addr(l, (struct sockaddr *)&s4, sizeof s4);
		start_connect(l);
	} else if (evutil_inet_pton(AF_INET6, literal, &a6) == 1) {
		struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_addr = a6 };

		set_addr(l, (struct sockaddr *)&s6, sizeof s6);
		start_connect(l);
	} else {
		start_resolve(l);
	}
	return l;
}

void
login_mysql_cancel(struct login *l)
{
	if (l == NULL || l->in_done)
		return;
	teardown(l);
	login_free(l);
}

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct login *l = arg;

	if (l->finished || l->state != ST_TICKET)
		return;
	if (l->ticket_reason != KW_OK) {
		finish(l, l->ticket_reason, "no ticket for %s: %s", l->res.announced_spn,
		    reason_name(l->ticket_reason));
		return;
	}
	ticket_then_gss(l);
}

void
login_mysql_ticket_ready(struct login *l, enum kw_reason r)
{
	if (l == NULL || l->finished || l->state != ST_TICKET)
		return;
	l->ticket_reason = r;
	/* go on from the loop, not from inside the caller (a second answer changes nothing) */
	if (!event_pending(l->kick, EV_TIMEOUT, NULL))
		event_active(l->kick, EV_TIMEOUT, 0);
}

const struct login_engine login_engine_mysql = {
	.start = login_mysql_start,
	.cancel = login_mysql_cancel,
	.ticket_ready = login_mysql_ticket_ready,
};
