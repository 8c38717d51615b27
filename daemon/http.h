/*
 * The HTTP listener: /metrics, /-/healthy, /-/ready, a status page at / and its model as
 * /status.json.  It serves only
 * what the probes already found (a request never starts a probe, and no part of a request
 * chooses a target: krbwatch holds credentials).  Limits, all on purpose:
 *   - GET and HEAD only (405 otherwise), no request body (413);
 *   - request line and headers at most HTTP_MAX_HEADERS bytes (400 from libevent);
 *   - HTTP_TIMEOUT_S to send a request or read a reply, then the connection is closed;
 *   - at most HTTP_MAX_CONNS connections: a new one beyond that closes the oldest that has
 *     not sent a request, and at most HTTP_ACCEPT_BURST are taken per turn of the loop.  The
 *     cap is high enough that, under a flood of thousands of connections a second, a new
 *     connection lives some 100 ms before it can be closed: time for a scraper to ask.
 * With `web:` in the configuration it speaks only TLS and asks every request, whatever its
 * path, for basic authentication (daemon/web.c).
 */
#ifndef KRBWATCH_HTTP_H
#define KRBWATCH_HTTP_H

#define HTTP_MAX_HEADERS 8192
#define HTTP_TIMEOUT_S 5
#define HTTP_MAX_CONNS 256
#define HTTP_ACCEPT_BURST 16	/* connections accepted in one turn of the loop */

struct kwd;
struct kw_addr;
struct http;
struct web;

/* Binds addr; NULL (and a logged reason) when it cannot.  Takes web (freed on failure too). */
struct http *http_listen(struct kwd *, const struct kw_addr *addr, struct web *web);
/* Replaces the TLS and authentication settings (a reload), freeing the old ones. */
void http_set_web(struct http *, struct web *);
/* Whether it speaks TLS, for logs. */
int http_is_tls(const struct http *);
/* Stops accepting; connections already open are dropped with the event base. */
void http_free(struct http *);
/* "127.0.0.1:10088", for logs. */
const char *http_address(const struct http *);

#endif
