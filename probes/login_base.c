/* The part of a login every engine shares (login_base.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "../lib/xmalloc.h"
#include "../net/gss_token.h"
#include "login_base.h"

void
login_base_names(struct login_base *b, const struct kw_cluster *c, const char *ccache,
    const char *dns_servers)
{
	b->host = xstrdup(c->host);
	b->expect_user = c->expect_user != NULL ? xstrdup(c->expect_user) : NULL;
	b->tls_ca = c->tls_ca != NULL ? xstrdup(c->tls_ca) : NULL;
	b->ccache = xstrdup(ccache);
	b->dns_servers = dns_servers != NULL ? xstrdup(dns_servers) : NULL;
}

int
login_base_record(struct login_base *b, enum kw_reason r, const char *fmt, va_list ap)
{
	if (b->finished)
		return -1;
	b->finished = 1;
	b->res.reason = r;
	vsnprintf(b->res.detail, sizeof b->res.detail, fmt, ap);
	return 0;
}

void
login_base_done(struct login_base *b)
{
	b->in_done = 1;		/* a cancel from inside done() does nothing: the engine frees after it */
	if (b->cb.done != NULL)
		b->cb.done(b->cb.arg, &b->res);
}

/* Hands sock's writing back to libevent's write event, for the rest of the login. */
static void
writes_to_libevent(struct login_base *b)
{
	b->write_ev = 1;
	bufferevent_enable(b->sock, EV_WRITE);
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct login_base *b = arg;
	struct evbuffer *out;

	if (b->sock == NULL || b->write_ev)
		return;
	out = bufferevent_get_output(b->sock);
	while (evbuffer_get_length(out) > 0)
		if (evbuffer_write(out, bufferevent_getfd(b->sock)) <= 0) {
			writes_to_libevent(b);	/* a full socket or an error: as before */
			return;
		}
}

static void
added_cb(struct evbuffer *out, const struct evbuffer_cb_info *info, void *arg)
{
	struct login_base *b = arg;

	if (info->n_added > 0 && !b->write_ev)
		event_active(b->flush_ev, EV_TIMEOUT, 0);
}

void
login_base_writes(struct login_base *b, struct event_base *base, struct bufferevent *sock)
{
	b->sock = sock;
	if (b->flush_ev == NULL)
		b->flush_ev = event_new(base, -1, 0, flush_cb, b);
	if (b->flush_ev == NULL ||
	    (b->flush_cbe = evbuffer_add_cb(bufferevent_get_output(sock), added_cb, b)) == NULL) {
		writes_to_libevent(b);
		return;
	}
	bufferevent_disable(sock, EV_WRITE);
	if (evbuffer_get_length(bufferevent_get_output(sock)) > 0)
		event_active(b->flush_ev, EV_TIMEOUT, 0);
}

void
login_base_wrapped(struct login_base *b)
{
	if (b->sock != NULL && !b->write_ev)
		bufferevent_disable(b->sock, EV_WRITE);
}

void
login_base_stop(struct login_base *b)
{
	if (b->sock != NULL && b->flush_cbe != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_output(b->sock), b->flush_cbe);
	b->flush_cbe = NULL;
	b->sock = NULL;
	if (b->flush_ev != NULL)
		event_del(b->flush_ev);
	if (b->bev != NULL)
		bufferevent_free(b->bev);	/* and the socket, the SSL and the bev below */
	b->bev = NULL;
	gss_token_free(b->gss);
	b->gss = NULL;
	event_del(b->deadline);
	event_del(b->kick);
}

/* free()s like config.c's, alert.c's, chain_endpoints.c's: other structs, other owners */
void
login_base_free(struct login_base *b)
{
	event_free(b->done_ev);
	if (b->flush_ev != NULL)
		event_free(b->flush_ev);
	event_free(b->deadline);
	event_free(b->kick);
	if (b->pkt != NULL)
		explicit_bzero(b->pkt, b->pktcap);
	free(b->pkt);
	free(b->host);
	free(b->user);
	free(b->expect_user);
	free(b->tls_ca);
	free(b->ccache);
	free(b->dns_servers);
	free(b->spn);
}
