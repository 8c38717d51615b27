#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <ares.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "../lib/log.h"
#include "../lib/xmalloc.h"
#include "dns_client.h"
#include "tcp_dial.h"

struct tcp_dial {
	struct event_base *base;
	char *host, *dns_servers;
	uint16_t port;
	unsigned dns_timeout_ms;
	tcp_dial_cb *cb;
	void *arg;
	struct dns_pending *lookup;	/* on the Region's shared channel (dns_getaddr_shared) */
	struct bufferevent *bev;
	struct event *kick;		/* the first step, and a result known early, from the loop */
	enum kw_reason r;
	char detail[200];
	int ended, hold;
	struct sockaddr_storage ss;
	socklen_t sslen;
	char peer[INET6_ADDRSTRLEN + 8];
};

static void
dial_stop(struct tcp_dial *d)
{
	dns_forget(d->lookup);		/* its callback, if still due, never runs */
	d->lookup = NULL;
	if (d->bev != NULL)
		bufferevent_free(d->bev);
	d->bev = NULL;
}

/* The dial released: its lookup and connection first (dial_stop again is a no-op). */
static void
dial_free(struct tcp_dial *d)
{
	dial_stop(d);
	event_free(d->kick);
	free(d->host);
	free(d->dns_servers);
	free(d);
}

/* Hands the result over and frees the dial. */
static void
dial_end(struct tcp_dial *d, struct bufferevent *bev)
{
	struct bufferevent *mine = d->bev;

	d->bev = NULL;
	if (bev == NULL && mine != NULL)
		bufferevent_free(mine);
	dial_stop(d);
	if (bev != NULL)
		bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
	d->cb(d->arg, bev, bev != NULL ? KW_OK : d->r, bev != NULL ? "" : d->detail, d->peer);
	dial_free(d);
}

static void
dial_fail(struct tcp_dial *d, enum kw_reason r, const char *detail)
{
	d->r = r;
	snprintf(d->detail, sizeof d->detail, "%.199s", detail);
	d->ended = 1;
	event_active(d->kick, EV_TIMEOUT, 0);
}

static enum kw_reason
errno_reason(int e)
{
	return e == ECONNREFUSED ? KW_R_REFUSED : e == ETIMEDOUT ? KW_R_TIMEOUT : KW_R_UNREACHABLE;
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tcp_dial *d = arg;
	int e = EVUTIL_SOCKET_ERROR();
	char why[200];

	if (what & BEV_EVENT_CONNECTED) {
		dial_end(d, bev);
		return;
	}
	snprintf(why, sizeof why, "TCP connect to %s: %s", d->peer, evutil_socket_error_to_string(e));
	dial_fail(d, errno_reason(e), why);
}

static void dial_connect(struct tcp_dial *);

/* The address is known: connect, or report it and wait (hold). */
static void
dial_address(struct tcp_dial *d, const struct sockaddr *sa, socklen_t salen)
{
	struct sockaddr_storage ss;
	char ip[INET6_ADDRSTRLEN];

	memcpy(&ss, sa, salen);
	if (sa->sa_family == AF_INET6) {
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(d->port);
		evutil_inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip, sizeof ip);
		snprintf(d->peer, sizeof d->peer, "[%s]:%u", ip, d->port);
	} else {
		((struct sockaddr_in *)&ss)->sin_port = htons(d->port);
		evutil_inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof ip);
		snprintf(d->peer, sizeof d->peer, "%s:%u", ip, d->port);
	}
	d->ss = ss;
	d->sslen = salen;
	if (d->hold)
		d->cb(d->arg, NULL, KW_OK, "", d->peer);
	else
		dial_connect(d);
}

static void
dial_connect(struct tcp_dial *d)
{
	char why[200];
	int e;

	if ((d->bev = bufferevent_socket_new(d->base, -1, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		dial_fail(d, KW_R_INTERNAL, "bufferevent_socket_new failed");
		return;
	}
	bufferevent_setcb(d->bev, NULL, NULL, event_cb, d);
	if (bufferevent_socket_connect(d->bev, (struct sockaddr *)&d->ss, (int)d->sslen) == -1) {
		e = EVUTIL_SOCKET_ERROR();
		snprintf(why, sizeof why, "TCP connect to %s: %s", d->peer,
		    evutil_socket_error_to_string(e));
		dial_fail(d, errno_reason(e), why);
	}
}

static void
resolved(void *arg, int status, const struct sockaddr *sa, unsigned salen)
{
	struct tcp_dial *d = arg;
	char why[200];

	d->lookup = NULL;
	if (status == ARES_EDESTRUCTION || d->ended)
		return;
	if (status == ARES_SUCCESS && (sa == NULL || salen > sizeof(struct sockaddr_storage)))
		status = ARES_ENODATA;
	if (status != ARES_SUCCESS) {
		snprintf(why, sizeof why, "resolving %s: %s", d->host, ares_strerror(status));
		dial_fail(d, dns_reason(status), why);
		return;
	}
	dial_address(d, sa, (socklen_t)salen);
}

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_dial *d = arg;
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	char why[160];

	if (d->ended) {
		dial_end(d, NULL);
		return;
	}
	if (evutil_inet_pton(AF_INET, d->host, &s4.sin_addr) == 1)
		dial_address(d, (struct sockaddr *)&s4, sizeof s4);
	else if (evutil_inet_pton(AF_INET6, d->host, &s6.sin6_addr) == 1)
		dial_address(d, (struct sockaddr *)&s6, sizeof s6);
	else if ((d->lookup = dns_getaddr_shared(d->base, d->dns_servers, d->dns_timeout_ms, d->host,
	    resolved, d, why, sizeof why)) == NULL) {
		char w[200];

		snprintf(w, sizeof w, "resolving %.30s: %.150s", d->host, why);
		dial_fail(d, KW_R_INTERNAL, w);
	}
}

struct tcp_dial *
tcp_dial_start(struct event_base *base, const char *host, uint16_t port, const char *dns_servers,
    unsigned dns_timeout_ms, int hold, tcp_dial_cb *cb, void *arg)
{
	struct tcp_dial *d = xcalloc(1, sizeof *d);

	d->base = base;
	d->host = xstrdup(host);
	d->dns_servers = dns_servers != NULL ? xstrdup(dns_servers) : NULL;
	d->port = port;
	d->dns_timeout_ms = dns_timeout_ms;
	d->hold = hold;
	d->cb = cb;
	d->arg = arg;
	if ((d->kick = event_new(base, -1, 0, kick_cb, d)) == NULL)
		fatalx("event_new failed");
	event_active(d->kick, EV_TIMEOUT, 0);
	return d;
}

void
tcp_dial_connect(struct tcp_dial *d)
{
	if (d != NULL && d->hold && d->sslen > 0 && d->bev == NULL && !d->ended)
		dial_connect(d);
}

void
tcp_dial_cancel(struct tcp_dial *d)
{
	if (d != NULL)
		dial_free(d);
}

const char *
tcp_dial_peer(const struct tcp_dial *d)
{
	return d->peer;
}
