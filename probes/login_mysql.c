/*
 * The database login for MySQL (authentication_kerberos) and MariaDB (auth_gssapi), driven on the
 * loop: resolve, TCP connect, greeting, SSLRequest + TLS, HandshakeResponse41, the Kerberos
 * plugin exchange, SELECT CURRENT_USER(), COM_QUIT.  PROTOCOLS.md §1 and §2 give the wire facts.
 *
 * The packet parser is mysql_packet.c; this file is the state machine around libevent
 * bufferevents (the TLS one an OpenSSL filter over the socket one), login_mysql_auth.c the
 * HandshakeResponse and the Kerberos plugin exchange (login_mysql_int.h their inside).
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
#include "login_mysql_int.h"
#include "mysql_packet.h"

static const char *const state_names[ST_COUNT] = {
	[ST_RESOLVE] = "resolve", [ST_CONNECT] = "connect", [ST_GREETING] = "greeting",
	[ST_TLS] = "tls", [ST_AUTH] = "auth", [ST_TICKET] = "ticket", [ST_GSS] = "gss",
	[ST_QUERY] = "query", [ST_QUIT] = "quit", [ST_DONE] = "done",
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

void
myl_set_state(struct login *l, enum my_state s)
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
	dns_forget(l->lookup);		/* its callback, if still due, never runs */
	l->lookup = NULL;
	login_base_stop(&l->b);
	event_del(l->connect_timer);
}

static void
login_free(struct login *l)
{
	event_free(l->connect_timer);
	login_base_free(&l->b);
	free(l->name);
	free(l->cfg_spn);
	free(l);
}

/* The one way a login ends: result recorded, I/O stopped, done() runs later from the loop. */
void
myl_finish(struct login *l, enum kw_reason r, const char *fmt, ...)
{
	va_list ap;
	int recorded;

	va_start(ap, fmt);
	recorded = login_base_record(&l->b, r, fmt, ap);
	va_end(ap);
	if (recorded == -1)
		return;
	log_debug("login %s: %s in state %s after %u ms: %s", l->name, reason_name(r),
	    state_names[l->state], elapsed_ms(l), l->b.res.detail);
	teardown(l);
	myl_set_state(l, ST_DONE);
	event_active(l->b.done_ev, EV_TIMEOUT, 0);
}

/*
 * finish's tail, done_cb, deadline_cb as in login_pg.c: the shared part is login_base.c;
 * what is left is each engine's own states and words
 */
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

	if (l->state == ST_TICKET)
		myl_finish(l, KW_R_TIMEOUT, "no ticket for %s after %u ms", l->b.res.announced_spn,
		    elapsed_ms(l));
	else
		myl_finish(l, KW_R_TIMEOUT, "%s%s%s: no answer in state %s after %u ms", l->b.host,
		    l->addrtext[0] ? " " : "", l->addrtext, state_names[l->state], elapsed_ms(l));
}

static void
connect_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct login *l = arg;

	if (l->state == ST_CONNECT)
		myl_finish(l, KW_R_TIMEOUT, "TCP connect to %s timed out after %u ms", l->addrtext,
		    elapsed_ms(l));
	else if (l->state == ST_QUIT)
		myl_finish(l, l->final_reason, "%s", l->final_detail);
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
void
myl_send_packet(struct login *l, const void *payload, size_t len)
{
	uint8_t hdr[MY_HDR_LEN];

	hdr[0] = (uint8_t)len;
	hdr[1] = (uint8_t)(len >> 8);
	hdr[2] = (uint8_t)(len >> 16);
	hdr[3] = (uint8_t)l->seq;
	l->seq = (l->seq + 1) & 0xff;
	bufferevent_write(l->b.bev, hdr, sizeof hdr);
	bufferevent_write(l->b.bev, payload, len);
}

/* SSLRequest sent: everything from here goes through net/tls_client.c's filter over the socket. */
static void
start_tls(struct login *l)
{
	uint8_t req[32];
	struct bufferevent *tls;
	enum kw_reason r;
	char err[256];

	myl_put_client_caps(l, req);
	myl_send_packet(l, req, sizeof req);
	tls = tls_client_wrap(l->base, l->b.bev, l->b.host, l->addrtext, l->tls_mode, l->b.tls_ca, &r, err,
	    sizeof err);
	if (tls == NULL) {
		myl_finish(l, r, "%s", err);
		return;
	}
	l->b.bev = tls;		/* owns the socket bufferevent and the SSL now */
	bufferevent_setcb(tls, login_read_cb, NULL, login_event_cb, l);
	bufferevent_setwatermark(tls, EV_READ, 0, MY_BUFFER_MAX);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
	login_base_wrapped(&l->b);
	myl_set_state(l, ST_TLS);
}

/* Why the TLS handshake failed, in words (net/tls_client.c's). */
static void
finish_tls_error(struct login *l, short what)
{
	char text[sizeof l->b.res.detail];

	tls_client_error(l->b.bev, what, l->addrtext, l->b.host, l->b.tls_ca, text, sizeof text);
	myl_finish(l, KW_R_TLS, "%s", text);
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
			myl_finish(l, KW_R_PROTOCOL, "a truncated ERR packet instead of the greeting");
			return;
		}
		l->b.res.server_error = (int)e.code;
		myl_finish(l, KW_R_ACCESS_DENIED, "the server refused the connection: ERR %u: %s",
		    e.code, e.msg);
		return;
	}
	if (my_parse_handshake(p, n, &l->hs, why, sizeof why) == -1) {
		myl_finish(l, KW_R_PROTOCOL, "%s", why);
		return;
	}
	log_debug("login %s: server %s, connection %u, capabilities 0x%08x, plugin %s", l->name,
	    l->hs.version, l->hs.conn_id, l->hs.caps, l->hs.plugin);
	if ((l->hs.caps & need) != need) {
		myl_finish(l, KW_R_PROTOCOL, "server %s lacks protocol 4.1 or plugin authentication",
		    l->hs.version);
		return;
	}
	l->caps = l->hs.caps & want;
	if (l->tls_mode == KW_TLS_DISABLE) {
		myl_send_handshake_response(l);
		return;
	}
	if (!(l->hs.caps & CLIENT_SSL)) {
		myl_finish(l, KW_R_TLS, "server %s does not offer TLS", l->hs.version);
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
		myl_handle_auth(l, p, n);
		break;
	case ST_QUERY:
		myl_handle_query(l, p, n);
		break;
	default:
		myl_finish(l, KW_R_PROTOCOL, "an unexpected packet in state %s", state_names[l->state]);
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

	while (!l->b.finished && l->b.bev == bev) {
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
			myl_finish(l, KW_R_PROTOCOL, "sequence id %u where %u was due (state %s)", hdr[3],
			    l->seq, state_names[l->state]);
			return;
		}
		switch (my_frame(hdr, evbuffer_get_length(in), &plen, &seq, why, sizeof why)) {
		case MY_FRAME_NEED:
			return;
		case MY_FRAME_BAD:
			myl_finish(l, KW_R_PROTOCOL, "%s", why);
			return;
		case MY_FRAME_OK:
			break;
		}
		if (l->state == ST_TICKET || l->state == ST_TLS) {
			myl_finish(l, KW_R_PROTOCOL, "an unexpected packet in state %s",
			    state_names[l->state]);
			return;
		}
		l->seq = (l->seq + 1) & 0xff;
		/* a copy: handling may free the bufferevent (and its buffer) */
		if (plen > l->b.pktcap) {
			free(l->b.pkt);
			l->b.pktcap = plen;
			l->b.pkt = xmalloc(plen);
		}
		evbuffer_drain(in, MY_HDR_LEN);
		evbuffer_remove(in, l->b.pkt, plen);
		handle_packet(l, l->b.pkt, plen);
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
			myl_set_state(l, ST_GREETING);
		} else if (l->state == ST_TLS) {
			SSL *ssl = bufferevent_openssl_get_ssl(bev);

			log_debug("login %s: %s %s", l->name, SSL_get_version(ssl),
			    SSL_get_cipher_name(ssl));
			tls_client_connected(bev, l->addrtext);
			myl_send_handshake_response(l);
		}
		return;
	}
	if (l->state == ST_TLS) {
		finish_tls_error(l, what);
		return;
	}
	if (l->state == ST_CONNECT) {
		myl_finish(l, errno_reason(e), "TCP connect to %s: %s", l->addrtext,
		    evutil_socket_error_to_string(e));
		return;
	}
	if (l->state == ST_QUIT) {
		myl_finish(l, l->final_reason, "%s", l->final_detail);
		return;
	}
	if ((what & BEV_EVENT_EOF) && evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		myl_finish(l, KW_R_PROTOCOL, "the server closed the connection inside a packet "
		    "(%zu bytes of it arrived, state %s)", evbuffer_get_length(bufferevent_get_input(bev)),
		    state_names[l->state]);
	else if (what & BEV_EVENT_EOF)
		myl_finish(l, KW_R_PROTOCOL, "the server closed the connection in state %s",
		    state_names[l->state]);
	else
		myl_finish(l, KW_R_PROTOCOL, "connection error in state %s: %s", state_names[l->state],
		    evutil_socket_error_to_string(e));
}

static void
start_connect(struct login *l)
{
	struct timeval tv;
	unsigned ms = l->timeout_ms < MY_CONNECT_TIMEOUT_MS ? l->timeout_ms : MY_CONNECT_TIMEOUT_MS;
	int e;

	l->b.bev = bufferevent_socket_new(l->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (l->b.bev == NULL) {
		myl_finish(l, KW_R_INTERNAL, "bufferevent_socket_new failed");
		return;
	}
	bufferevent_setcb(l->b.bev, login_read_cb, NULL, login_event_cb, l);
	bufferevent_setwatermark(l->b.bev, EV_READ, 0, MY_BUFFER_MAX);
	bufferevent_enable(l->b.bev, EV_READ);
	login_base_writes(&l->b, l->base, l->b.bev);
	myl_set_state(l, ST_CONNECT);
	if (bufferevent_socket_connect(l->b.bev, (struct sockaddr *)&l->addr, (int)l->addrlen) == -1) {
		e = EVUTIL_SOCKET_ERROR();
		myl_finish(l, errno_reason(e), "TCP connect to %s: %s", l->addrtext,
		    evutil_socket_error_to_string(e));
		return;
	}
	if (l->b.finished)	/* libevent may report a failed connect from inside the call */
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

	l->lookup = NULL;
	if (status == ARES_EDESTRUCTION || l->b.finished)
		return;
	if (status == ARES_SUCCESS && (sa == NULL || salen > sizeof l->addr))
		status = ARES_ENODATA;
	if (status != ARES_SUCCESS) {
		myl_finish(l, dns_reason(status), "resolving %s: %s", l->b.host, ares_strerror(status));
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
	myl_set_state(l, ST_RESOLVE);
	l->lookup = dns_getaddr_shared(l->base, l->b.dns_servers, l->timeout_ms / 3, l->b.host,
	    resolved, l, why, sizeof why);
	if (l->lookup == NULL)
		myl_finish(l, KW_R_INTERNAL, "resolving %s: %s", l->b.host, why);
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
	l->b.cb = *cb;
	l->engine = c->engine;
	l->name = xstrdup(c->name != NULL ? c->name : c->host);
	login_base_names(&l->b, c, ccache, dns_servers);
	l->b.user = xstrdup(c->user);
	l->b.spn = spn != NULL ? xstrdup(spn) : NULL;
	l->cfg_spn = c->spn != NULL ? xstrdup(c->spn) : NULL;
	l->port = c->port ? c->port : 3306;
	l->tls_mode = c->tls_mode;
	l->timeout_ms = timeout_ms ? timeout_ms : 1;
	l->plugin = c->engine == KW_ENGINE_MYSQL ? PLUGIN_MYSQL_KRB : PLUGIN_MARIADB_GSS;
	l->state = ST_RESOLVE;
	clock_gettime(CLOCK_MONOTONIC, &l->t0);

	l->b.done_ev = event_new(base, -1, 0, done_cb, l);
	l->b.deadline = evtimer_new(base, deadline_cb, l);
	l->connect_timer = evtimer_new(base, connect_timer_cb, l);
	l->b.kick = event_new(base, -1, 0, kick_cb, l);
	if (l->b.done_ev == NULL || l->b.deadline == NULL || l->connect_timer == NULL ||
	    l->b.kick == NULL) {
		login_free(l);
		return NULL;
	}
	tv.tv_sec = l->timeout_ms / 1000;
	tv.tv_usec = (l->timeout_ms % 1000) * 1000;
	event_add(l->b.deadline, &tv);

	/* one address of an endpoint (a reader instance): host stays the TLS name and the SPN's */
	literal = c->connect_addr != NULL ? c->connect_addr : l->b.host;
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
	if (l == NULL || l->b.in_done)
		return;
	teardown(l);
	login_free(l);
}

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct login *l = arg;

	if (l->b.finished || l->state != ST_TICKET)
		return;
	if (l->ticket_reason != KW_OK) {
		myl_finish(l, l->ticket_reason, "no ticket for %s: %s", l->b.res.announced_spn,
		    reason_name(l->ticket_reason));
		return;
	}
	myl_ticket_then_gss(l);
}

void
login_mysql_ticket_ready(struct login *l, enum kw_reason r)
{
	if (l == NULL || l->b.finished || l->state != ST_TICKET)
		return;
	l->ticket_reason = r;
	/* go on from the loop, not from inside the caller (a second answer changes nothing) */
	if (!event_pending(l->b.kick, EV_TIMEOUT, NULL))
		event_active(l->b.kick, EV_TIMEOUT, 0);
}

const struct login_engine login_engine_mysql = {
	.start = login_mysql_start,
	.cancel = login_mysql_cancel,
	.ticket_ready = login_mysql_ticket_ready,
};
