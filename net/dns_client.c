/*
 * c-ares 1.18.1 on libevent, after PgBouncer's src/dnslookup.c: ARES_OPT_SOCK_STATE_CB tells us
 * which sockets to watch, a readiness event calls ares_process_fd(), and one timer follows
 * ares_timeout() (re-armed after every c-ares call).  readable == writable == 0 means the socket
 * is about to close, so its event goes first.
 *
 * c-ares calls our answer function from inside ares_process_fd(), ares_query() (a query that
 * fails at once) and ares_destroy().  None of these is a safe place for the user's code (freeing
 * the client there would destroy the channel under c-ares's feet), so the answer is copied onto
 * a queue and a loop event of the client hands it over.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>
#include <event2/event.h>

#include "../lib/log.h"
#include "../lib/xmalloc.h"
#include "dns_client.h"

/* One query, from dns_query() or dns_getaddr() until its callback ran. */
struct dns_pending {
	struct dns_client *c;
	dns_cb *cb;			/* dns_query's, or */
	dns_addr_cb *acb;		/* dns_getaddr's */
	void *arg;
	int status, timeouts;
	unsigned char *abuf;
	int alen;
	struct sockaddr_storage ss;	/* dns_getaddr: the first address */
	socklen_t sslen;
	int forgotten;			/* dns_forget: its answer is dropped, no callback */
	struct dns_pending *next; /* on the done queue */
};

/* One socket c-ares asked us to watch. */
struct dns_sock {
	ares_socket_t fd;
	short what;
	struct event *ev;
	struct dns_sock *next;
};

struct dns_client {
	struct event_base *base;
	ares_channel channel;
	struct event *timer;
	struct event *deliver;          /* hands the done queue over */
	struct dns_sock *socks;
	struct dns_pending *done, **done_tail;
	size_t pending;                 /* sent, callback not run yet */
	size_t forgotten;               /* of those, dns_forget's: nobody waits for them */
	int delivering;                 /* inside deliver_cb */
	int closing;                    /* dns_client_free has begun */
	char label[64];
};

static void rearm(struct dns_client *);

static void
sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_client *c = arg;

	ares_process_fd(c->channel, (what & EV_READ) ? (ares_socket_t)fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? (ares_socket_t)fd : ARES_SOCKET_BAD);
	rearm(c);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_client *c = arg;

	(void)fd;
	(void)what;
	ares_process_fd(c->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rearm(c);
}

/* The timer follows c-ares's next timeout; nothing pending means no timer. */
static void
rearm(struct dns_client *c)
{
	struct timeval tv, *t;

	if (c->channel == NULL)
		return;
	t = ares_timeout(c->channel, NULL, &tv);
	if (t == NULL)
		evtimer_del(c->timer);
	else
		evtimer_add(c->timer, t);
}

/* Called by c-ares, possibly from inside ares_process_fd: touches only libevent. */
static void
sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns_client *c = data;
	struct dns_sock **pp, *s;
	short what = (short)((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));

	for (pp = &c->socks; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->fd == fd)
			break;
	s = *pp;
	if (what == 0) {
		if (s != NULL) {
			*pp = s->next;
			event_free(s->ev);
			free(s);
		}
		return;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof *s);
		s->fd = fd;
		s->next = c->socks;
		c->socks = s;
	} else if (s->what == what) {
		return;
	} else {
		event_free(s->ev);
	}
	s->what = what;
	s->ev = event_new(c->base, fd, what | EV_PERSIST, sock_cb, c);
	if (s->ev == NULL || event_add(s->ev, NULL) == -1)
		fatalx("dns: cannot watch socket %d", (int)fd);
}

static void
enqueue(struct dns_client *c, struct dns_pending *p)
{
	p->next = NULL;
	*c->done_tail = p;
	c->done_tail = &p->next;
	if (!c->closing)
		event_active(c->deliver, EV_TIMEOUT, 0);
}

static struct dns_pending *
dequeue(struct dns_client *c)
{
	struct dns_pending *p = c->done;

	if (p != NULL) {
		c->done = p->next;
		if (c->done == NULL)
			c->done_tail = &c->done;
	}
	return p;
}

/* c-ares's answer: copied and queued, never handed over from here. */
static void
answer_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dns_pending *p = arg;

	p->status = status;
	p->timeouts = timeouts;
	if (abuf != NULL && alen > 0 && status != ARES_EDESTRUCTION) {
		p->abuf = xmalloc((size_t)alen);
		memcpy(p->abuf, abuf, (size_t)alen);
		p->alen = alen;
	}
	enqueue(p->c, p);
}

/* ares_getaddrinfo's answer: the first address, copied and queued. */
static void
addrinfo_cb(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct dns_pending *p = arg;

	p->status = status;
	p->timeouts = timeouts;
	if (status == ARES_SUCCESS) {
		if (ai != NULL && ai->nodes != NULL &&
		    (size_t)ai->nodes->ai_addrlen <= sizeof p->ss) {
			memcpy(&p->ss, ai->nodes->ai_addr, (size_t)ai->nodes->ai_addrlen);
			p->sslen = (socklen_t)ai->nodes->ai_addrlen;
		} else
			p->status = ARES_ENODATA;	/* an answer without an address */
	}
	ares_freeaddrinfo(ai);
	enqueue(p->c, p);
}

static void
tell(struct dns_pending *p, int destroyed)
{
	if (p->acb != NULL)
		p->acb(p->arg, destroyed ? ARES_EDESTRUCTION : p->status,
		    destroyed || p->sslen == 0 ? NULL : (const struct sockaddr *)&p->ss, (unsigned)p->sslen);
	else if (destroyed)
		p->cb(p->arg, ARES_EDESTRUCTION, p->timeouts, NULL, 0);
	else
		p->cb(p->arg, p->status, p->timeouts, p->abuf, p->alen);
}

static void
run_one(struct dns_client *c, struct dns_pending *p, int destroyed)
{
	c->pending--;
	if (p->forgotten)	/* dns_forget: nobody to tell */
		c->forgotten--;
	else
		tell(p, destroyed);
	free(p->abuf);
	free(p);
}

static void
client_release(struct dns_client *c)
{
	event_free(c->deliver);
	free(c);
}

static void
deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_client *c = arg;
	struct dns_pending *p;

	(void)fd;
	(void)what;
	c->delivering = 1;
	while (!c->closing && (p = dequeue(c)) != NULL)
		run_one(c, p, 0);
	c->delivering = 0;
	if (c->closing)
		client_release(c);  /* a callback freed the client: the rest is done */
}

/* c-ares's global state, once for the process and every client; never undone. */
static int
library_init(void)
{
	static int ready;
	int rc;

	if (ready)
		return 0;
	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		log_err("dns: ares_library_init: %s", ares_strerror(rc));
		return -1;
	}
	ready = 1;
	return 0;
}

static struct dns_client *
client_alloc(struct event_base *base)
{
	struct dns_client *c = xcalloc(1, sizeof *c);

	c->base = base;
	c->done_tail = &c->done;
	c->timer = evtimer_new(base, timer_cb, c);
	c->deliver = event_new(base, -1, 0, deliver_cb, c);
	if (c->timer == NULL || c->deliver == NULL)
		fatalx("dns: event_new failed");
	return c;
}

static void
client_abort(struct dns_client *c)
{
	if (c->channel != NULL)
		ares_destroy(c->channel);
	event_free(c->timer);
	event_free(c->deliver);
	free(c);
}

struct dns_client *
dns_client_new(struct event_base *base, const struct kw_addr *resolver, unsigned timeout_ms)
{
	struct dns_client *c;
	struct ares_options o;
	struct ares_addr_port_node srv;
	char lookups[] = "b";
	int optmask, rc;

	memset(&srv, 0, sizeof srv);
	if (inet_pton(AF_INET, resolver->host, &srv.addr.addr4) == 1)
		srv.family = AF_INET;
	else if (inet_pton(AF_INET6, resolver->host, &srv.addr.addr6) == 1)
		srv.family = AF_INET6;
	else {
		log_err("dns: resolver \"%s\" is not an IP address", resolver->host);
		return NULL;
	}
	srv.udp_port = srv.tcp_port = resolver->port;

	if (library_init() == -1)
		return NULL;
	c = client_alloc(base);
	snprintf(c->label, sizeof c->label, srv.family == AF_INET6 ? "[%s]:%u" : "%s:%u",
	    resolver->host, (unsigned)resolver->port);

	memset(&o, 0, sizeof o);
	/*
	 * NOCHECKRESP: without it c-ares 1.18.1 takes a SERVFAIL, NOTIMP or REFUSED answer for a
	 * broken server, gives up on it and reports ARES_ECONNREFUSED, the status of a port that
	 * is closed.  With it the answer comes through and ares_query maps its rcode.
	 */
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_NOCHECKRESP;
	o.timeout = timeout_ms / 3 > 0 ? (int)(timeout_ms / 3) : 1;
	o.tries = 2;
	o.sock_state_cb = sock_state_cb;
	o.sock_state_cb_data = c;
	/*
	 * Everything c-ares would otherwise read from /etc/resolv.conf and friends is given
	 * (no servers yet, no search domains, no sortlist), so a run opens no file: the server
	 * comes next, from ares_set_servers_ports (ARES_OPT_SERVERS knows only IPv4).
	 */
	o.nservers = 0;
	o.ndomains = 0;
	o.nsort = 0;
	o.ndots = 1;
	o.lookups = lookups;
	optmask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB |
	    ARES_OPT_SERVERS | ARES_OPT_DOMAINS | ARES_OPT_SORTLIST | ARES_OPT_NDOTS |
	    ARES_OPT_LOOKUPS;
	if ((rc = ares_init_options(&c->channel, &o, optmask)) != ARES_SUCCESS) {
		log_err("dns: ares_init_options: %s", ares_strerror(rc));
		goto fail;
	}
	if ((rc = ares_set_servers_ports(c->channel, &srv)) != ARES_SUCCESS) {
		log_err("dns: ares_set_servers_ports %s: %s", c->label, ares_strerror(rc));
		goto fail;
	}
	return c;
fail:
	client_abort(c);
	return NULL;
}

struct dns_client *
dns_client_new_list(struct event_base *base, const char *servers, unsigned timeout_ms,
    char *why, size_t whylen)
{
	struct dns_client *c;
	struct ares_options o;
	size_t n = 1;
	int rc;

	if (library_init() == -1) {
		snprintf(why, whylen, "c-ares cannot start");
		return NULL;
	}
	for (const char *p = servers; p != NULL && *p != '\0'; p++)
		n += *p == ',';
	c = client_alloc(base);
	snprintf(c->label, sizeof c->label, "%.63s", servers != NULL ? servers : "system");
	memset(&o, 0, sizeof o);
	/* NOCHECKRESP: a SERVFAIL or REFUSED answer is reported as such (see dns_client_new) */
	o.flags = ARES_FLAG_NOCHECKRESP;
	/* two tries per server, the second with the double: a lookup ends within timeout_ms */
	o.timeout = timeout_ms / (3 * n) > 0 ? (int)(timeout_ms / (3 * n)) : 1;
	o.tries = 2;
	o.sock_state_cb = sock_state_cb;
	o.sock_state_cb_data = c;
	if ((rc = ares_init_options(&c->channel, &o, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS |
	    ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB)) != ARES_SUCCESS) {
		c->channel = NULL;
		snprintf(why, whylen, "ares_init_options: %s", ares_strerror(rc));
		client_abort(c);
		return NULL;
	}
	if (servers != NULL && (rc = ares_set_servers_ports_csv(c->channel, servers)) != ARES_SUCCESS) {
		snprintf(why, whylen, "resolvers %.200s: %s", servers, ares_strerror(rc));
		client_abort(c);
		return NULL;
	}
	return c;
}

/*
 * A new pending query of c; NULL when c is closing (a call from a callback run by
 * dns_client_free): then the drain there delivers it as ARES_EDESTRUCTION.
 */
static struct dns_pending *
pending_new(struct dns_client *c, dns_cb *cb, dns_addr_cb *acb, void *arg)
{
	struct dns_pending *p = xcalloc(1, sizeof *p);

	p->c = c;
	p->cb = cb;
	p->acb = acb;
	p->arg = arg;
	c->pending++;
	if (c->closing) {
		p->status = ARES_EDESTRUCTION;
		enqueue(c, p);
		return NULL;
	}
	return p;
}

static struct dns_pending *
getaddr_start(struct dns_client *c, const char *host, dns_addr_cb *cb, void *arg)
{
	struct dns_pending *p = pending_new(c, NULL, cb, arg);
	struct ares_addrinfo_hints h;

	if (p == NULL)
		return NULL;
	memset(&h, 0, sizeof h);
	h.ai_family = AF_UNSPEC;
	h.ai_socktype = SOCK_STREAM;
	ares_getaddrinfo(c->channel, host, NULL, &h, addrinfo_cb, p);
	rearm(c);
	return p;
}

void
dns_getaddr(struct dns_client *c, const char *host, dns_addr_cb *cb, void *arg)
{
	(void)getaddr_start(c, host, cb, arg);
}

/*
 * The shared clients: one per base, resolver list and timeout step, never freed (a handful
 * per configuration; a reload that changes a list leaves an idle channel with no socket).
 */
#define SHARED_STEP_MS 500
static struct shared {
	struct event_base *base;
	char *servers;			/* NULL: the system's */
	unsigned ms;
	struct dns_client *c;
} *shared;
static size_t nshared;

/*
 * A timeout_ms rounded down to its step, so that the Region's logins share few channels.  Below
 * the step, to a power of two: a login's timeout is what its run's deadline leaves it, and kept
 * as it was, every login starting late in a loaded run made (and kept) a channel of its own.
 */
static unsigned
shared_ms(unsigned timeout_ms)
{
	unsigned ms = 1;

	if (timeout_ms >= SHARED_STEP_MS)
		return timeout_ms / SHARED_STEP_MS * SHARED_STEP_MS;
	while (ms <= timeout_ms / 2)
		ms *= 2;
	return ms;
}

size_t
dns_shared_count(void)
{
	return nshared;
}

static struct dns_client *
shared_client(struct event_base *base, const char *servers, unsigned timeout_ms, char *why,
    size_t whylen)
{
	unsigned ms = shared_ms(timeout_ms ? timeout_ms : 1);
	struct dns_client *c;

	for (size_t i = 0; i < nshared; i++)
		if (shared[i].base == base && shared[i].ms == ms && (shared[i].servers == NULL) ==
		    (servers == NULL) && (servers == NULL || strcmp(shared[i].servers, servers) == 0))
			return shared[i].c;
	/*
	 * Not ARES_FLAG_STAYOPEN: c-ares closes its sockets when no lookup is left, so a login that
	 * ended leaves no event behind (tests/login_main.c checks it)
	 */
	if ((c = dns_client_new_list(base, servers, ms, why, whylen)) == NULL)
		return NULL;
	shared = xreallocarray(shared, nshared + 1, sizeof *shared);
	shared[nshared].base = base;
	shared[nshared].servers = servers != NULL ? xstrdup(servers) : NULL;
	shared[nshared].ms = ms;
	shared[nshared++].c = c;
	return c;
}

struct dns_pending *
dns_getaddr_shared(struct event_base *base, const char *servers, unsigned timeout_ms,
    const char *host, dns_addr_cb *cb, void *arg, char *why, size_t whylen)
{
	struct dns_client *c = shared_client(base, servers, timeout_ms, why, whylen);

	return c != NULL ? getaddr_start(c, host, cb, arg) : NULL;
}

/*
 * When nobody waits for any lookup of the channel any more, c-ares is told to drop them:
 * otherwise their sockets and timer stay on the loop until the resolver answers, after the
 * login that asked has ended (tests/login_main.c's "events left").  ares_cancel calls back
 * each forgotten one with ARES_ECANCELLED, queued and freed by deliver_cb like any answer.
 */
void
dns_forget(struct dns_pending *p)
{
	struct dns_client *c;

	if (p == NULL || p->forgotten)
		return;
	c = p->c;
	p->forgotten = 1;
	if (++c->forgotten == c->pending && !c->closing) {
		ares_cancel(c->channel);
		rearm(c);
	}
}

void
dns_query(struct dns_client *c, const char *name, int rrclass, int rrtype, dns_cb *cb, void *arg)
{
	struct dns_pending *p = pending_new(c, cb, NULL, arg);

	if (p == NULL)
		return;
	ares_query(c->channel, name, rrclass, rrtype, answer_cb, p);
	rearm(c);
}

void
dns_client_free(struct dns_client *c)
{
	struct dns_pending *p;

	if (c == NULL || c->closing)
		return;
	c->closing = 1;
	/* answers still in c-ares come back as ARES_EDESTRUCTION onto the queue */
	ares_destroy(c->channel);
	c->channel = NULL;
	while ((p = dequeue(c)) != NULL)
		run_one(c, p, 1);
	while (c->socks != NULL) {   /* ares_destroy closed them; this is belt and braces */
		struct dns_sock *s = c->socks;
		c->socks = s->next;
		event_free(s->ev);
		free(s);
	}
	event_free(c->timer);
	c->timer = NULL;
	if (!c->delivering)
		client_release(c);
	/* else deliver_cb, further up the stack, releases it when the callback returns */
}

const char *
dns_client_resolver(const struct dns_client *c)
{
	return c->label;
}

size_t
dns_client_pending(const struct dns_client *c)
{
	return c->pending;
}
