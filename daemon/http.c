#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "kwd.h"
#include "http.h"
#include "../lib/log.h"
#include "../lib/metrics.h"
#include "sched.h"
#include "status_page.h"
#include "web.h"
#include "../lib/xmalloc.h"

/*
 * libevent 2.1 has no connection limit and does not tell us when it frees a connection.  We
 * create each connection's bufferevent ourselves (evhttp_set_bevcb) and hold one reference to
 * it: when evhttp is done, bufferevent_free() clears its callbacks but the object stays ours
 * until we drop our reference, which also closes the socket.
 */
struct http_conn {
	struct bufferevent *bev;
	int evicted;
	int asked;		/* has sent a whole request: a scraper, not an idle socket */
};

struct http {
	struct kwd *d;
	struct web *web;		/* TLS and basic authentication; ours */
	struct evhttp *evh;
	struct event *reaper;
	struct evconnlistener *lev;	/* owned by evh */
	struct event *accept_resume;
	int accepted;		/* in this turn of the loop */
	char address[128];
	struct http_conn conns[HTTP_MAX_CONNS * 2];
	size_t nconns;		/* oldest first */
	/* / and /status.json as last rendered: a request between two changes copies the body */
	struct status_cache status[STATUS_FORMATS];
};

static int
conn_freed_by_evhttp(struct bufferevent *bev)
{
	bufferevent_data_cb r, w;
	bufferevent_event_cb e;
	void *arg;

	bufferevent_getcb(bev, &r, &w, &e, &arg);
	return r == NULL && w == NULL && e == NULL && arg == NULL;
}

static void
conns_reap(struct http *h)
{
	size_t out = 0;

	for (size_t i = 0; i < h->nconns; i++) {
		if (conn_freed_by_evhttp(h->conns[i].bev)) {
			bufferevent_decref(h->conns[i].bev);
			continue;
		}
		h->conns[out++] = h->conns[i];
	}
	h->nconns = out;
	if (h->nconns == 0)
		evtimer_del(h->reaper);
}

static void
reaper_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conns_reap(arg);
}

static size_t
conns_live(const struct http *h)
{
	size_t n = 0;

	for (size_t i = 0; i < h->nconns; i++)
		n += !h->conns[i].evicted;
	return n;
}

static void
conn_evict(struct http_conn *c)
{
	evutil_socket_t fd;

	c->evicted = 1;
	if ((fd = bufferevent_getfd(c->bev)) >= 0)
		shutdown(fd, SHUT_RDWR);
}

/*
 * Makes room by shutting a connection down; evhttp then sees EOF and frees it.  The victim is
 * the oldest connection that never sent a whole request (an idle socket, a slowloris), so that a
 * flood of them cannot cut off a scrape being answered; only when every connection has asked
 * does the oldest of all go.
 */
static void
conns_evict_one(struct http *h)
{
	struct http_conn *oldest = NULL;

	for (size_t i = 0; i < h->nconns; i++) {
		struct http_conn *c = &h->conns[i];

		if (c->evicted)
			continue;
		if (!c->asked) {
			conn_evict(c);
			log_debug("http: %d connections open, closed the oldest idle one",
			    HTTP_MAX_CONNS);
			return;
		}
		if (oldest == NULL)
			oldest = c;
	}
	if (oldest != NULL) {
		conn_evict(oldest);
		log_debug("http: %d connections open, all busy, closed the oldest", HTTP_MAX_CONNS);
	}
}

static void
conn_mark_asked(struct http *h, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;

	for (size_t i = 0; bev != NULL && i < h->nconns; i++)
		if (h->conns[i].bev == bev)
			h->conns[i].asked = 1;
}

static void
accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;

	(void)fd;
	(void)what;
	h->accepted = 0;
	evconnlistener_enable(h->lev);
}

/*
 * libevent accepts everything in the backlog in one go.  Under a connection flood, a scraper's
 * connection would then be accepted and, before the loop ever read its request, pushed out by
 * the flood behind it.  Taking at most HTTP_ACCEPT_BURST connections a turn lets each new
 * connection be read once before the next batch, and HTTP_ACCEPT_BURST < HTTP_MAX_CONNS keeps
 * it from being the oldest by then.
 */
static void
accept_count(struct http *h)
{
	static const struct timeval now = { 0, 0 };

	if (++h->accepted < HTTP_ACCEPT_BURST)
		return;
	evconnlistener_disable(h->lev);
	evtimer_add(h->accept_resume, &now);
}

static struct bufferevent *
new_conn_cb(struct event_base *base, void *arg)
{
	struct http *h = arg;
	struct bufferevent *bev;
	struct timeval tv = { .tv_sec = 1 };

	conns_reap(h);
	accept_count(h);
	if (conns_live(h) >= HTTP_MAX_CONNS)
		conns_evict_one(h);
	if (h->nconns == sizeof h->conns / sizeof h->conns[0]) {
		/* evicted sockets not yet freed by evhttp fill the table: drop the oldest record */
		bufferevent_decref(h->conns[0].bev);
		memmove(&h->conns[0], &h->conns[1], (h->nconns - 1) * sizeof h->conns[0]);
		h->nconns--;
	}
	if (web_tls(h->web)) {
		SSL *ssl = web_ssl_new(h->web);

		/*
		 * Failing here is running out of memory, and NULL would make evhttp serve this
		 * connection in the clear: not an option on a TLS listener.
		 */
		if (ssl == NULL || (bev = bufferevent_openssl_socket_new(base, -1, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)) == NULL)
			fatalx("http: cannot set up TLS for a new connection");
		/* scrapers often close without a TLS close_notify: that is not an error */
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	} else if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) == NULL)
		return NULL;	/* evhttp then makes its own */
	bufferevent_incref(bev);
	h->conns[h->nconns].bev = bev;
	h->conns[h->nconns].evicted = 0;
	h->conns[h->nconns].asked = 0;
	h->nconns++;
	evtimer_add(h->reaper, &tv);
	return bev;
}

static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
	(void)lev;
	(void)arg;
	/* EMFILE and friends: keep listening, the next accept may succeed */
	log_warn("http: accept: %s", strerror(errno));
}

static void
send_text(struct evhttp_request *req, int code, const char *reason, const char *ctype,
    const char *body, size_t len)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);

	evhttp_add_header(hdr, "Content-Type", ctype);
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	evbuffer_add(out, body, len);
	evhttp_send_reply(req, code, reason, NULL);
}

static void
serve_metrics(struct http *h, struct evhttp_request *req)
{
	size_t len;
	const char *text = metrics_render(h->d->metrics, &len);

	send_text(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", text, len);
}

static void
serve_ready(struct http *h, struct evhttp_request *req)
{
	if (h->d->sched != NULL && sched_all_ran(h->d->sched))
		send_text(req, 200, "OK", "text/plain; charset=utf-8", "ready\n", 6);
	else
		send_text(req, 503, "Service Unavailable", "text/plain; charset=utf-8",
		    "not ready: waiting for the first result of every probe\n", 55);
}

static void
serve_status(struct http *h, struct evhttp_request *req, enum status_format f)
{
	size_t len;
	const char *body = status_render_cached(h->d, &h->status[f], f, &len);

	send_text(req, 200, "OK", f == STATUS_JSON ? "application/json" : "text/html; charset=utf-8",
	    body, len);
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct http *h = arg;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	char *peer = NULL;
	ev_uint16_t port;

	conn_mark_asked(h, req);
	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, &peer, &port);
	/* like exporter-toolkit, authentication guards every path, /-/healthy included */
	if (!web_authorized(h->web, evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization"), peer)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
		    "Basic realm=\"krbwatch\"");
		send_text(req, 401, "Unauthorized", "text/plain; charset=utf-8",
		    "Unauthorized\n", 13);
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		send_text(req, 405, "Method Not Allowed", "text/plain; charset=utf-8",
		    "only GET and HEAD\n", 18);
		return;
	}
	/* the query string, if any, is ignored: nothing a client sends chooses what we probe */
	if (path == NULL || strcmp(path, "/metrics") == 0)
		serve_metrics(h, req);
	else if (strcmp(path, "/-/healthy") == 0)
		send_text(req, 200, "OK", "text/plain; charset=utf-8", "healthy\n", 8);
	else if (strcmp(path, "/-/ready") == 0)
		serve_ready(h, req);
	else if (strcmp(path, "/") == 0)
		serve_status(h, req, STATUS_HTML);
	else if (strcmp(path, "/status.json") == 0)
		serve_status(h, req, STATUS_JSON);
	else
		send_text(req, 404, "Not Found", "text/plain; charset=utf-8",
		    "not found: try /metrics, / or /status.json\n", 43);
}

static int
resolve_listen(const struct kw_addr *a, struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *res;
	char port[8];
	int rc;

	snprintf(port, sizeof port, "%u", (unsigned)a->port);
	/* resolving the listen address happens once, before the loop runs */
	if ((rc = getaddrinfo(a->host, port, &hints, &res)) != 0) {
		log_err("listen address %s: %s", a->host, gai_strerror(rc));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Sets evhttp up on a bound listener, which it then owns; -1 (and the listener freed) if not. */
static int
http_setup(struct http *h, struct event_base *base, struct evconnlistener *lev)
{
	struct timeval tv = { .tv_sec = HTTP_TIMEOUT_S };

	if ((h->evh = evhttp_new(base)) == NULL ||
	    (h->reaper = evtimer_new(base, reaper_cb, h)) == NULL ||
	    (h->accept_resume = evtimer_new(base, accept_resume_cb, h)) == NULL ||
	    evhttp_bind_listener(h->evh, lev) == NULL) {
		log_err("cannot set up the HTTP server");
		evconnlistener_free(lev);
		return -1;
	}
	h->lev = lev;
	evconnlistener_set_error_cb(lev, accept_error_cb);
	evhttp_set_bevcb(h->evh, new_conn_cb, h);
	evhttp_set_max_headers_size(h->evh, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(h->evh, 0);
	evhttp_set_timeout_tv(h->evh, &tv);
	evhttp_set_allowed_methods(h->evh, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(h->evh, request_cb, h);
	return 0;
}

struct http *
http_listen(struct kwd *d, const struct kw_addr *addr, struct web *web)
{
	struct http *h = xcalloc(1, sizeof *h);
	struct evconnlistener *lev;
	struct sockaddr_storage ss;
	socklen_t sslen;

	h->d = d;
	h->web = web;
	snprintf(h->address, sizeof h->address, strchr(addr->host, ':') ? "[%s]:%u" : "%s:%u",
	    addr->host, (unsigned)addr->port);
	if (resolve_listen(addr, &ss, &sslen) == -1)
		goto fail;
	lev = evconnlistener_new_bind(d->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 128,
	    (struct sockaddr *)&ss, (int)sslen);
	if (lev == NULL) {
		log_err("cannot listen on %s: %s", h->address, strerror(errno));
		goto fail;
	}
	if (http_setup(h, d->base, lev) == -1)
		goto fail;
	return h;
fail:
	http_free(h);
	return NULL;
}

void
http_set_web(struct http *h, struct web *web)
{
	/* connections already open keep their TLS session; new ones get the new settings */
	web_free(h->web);
	h->web = web;
}

int
http_is_tls(const struct http *h)
{
	return web_tls(h->web);
}

void
http_free(struct http *h)
{
	if (h == NULL)
		return;
	if (h->evh != NULL)
		evhttp_free(h->evh);
	/* evhttp_free freed every connection; our references are the last ones */
	for (size_t i = 0; i < h->nconns; i++)
		bufferevent_decref(h->conns[i].bev);
	if (h->reaper != NULL)
		event_free(h->reaper);
	if (h->accept_resume != NULL)
		event_free(h->accept_resume);
	web_free(h->web);
	for (int f = 0; f < STATUS_FORMATS; f++)
		status_cache_free(&h->status[f]);
	free(h);
}

const char *
http_address(const struct http *h)
{
	return h->address;
}
