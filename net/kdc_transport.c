/*
 * One request to one KDC: a small state machine on one socket, with one deadline timer and, for
 * UDP, one resend timer.  See kdc_transport.h for the contract.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "../lib/log.h"
#include "../lib/xmalloc.h"
#include "kdc_transport.h"

#define UDP_FIRST_RESEND_MS 1000	/* MIT's client waits 1 s per KDC before the next try */
#define UDP_MAX_DGRAM 65535
/*
 * Connected UDP sockets kept between requests to the same KDC: a socket made, registered with
 * epoll and closed per request cost more than the exchange's own crypto (bench/RESULTS.md 4b).
 * A socket goes back to the pool only after a request that got its reply to a single send, so
 * no other reply to it is on the way (save one the network duplicated); after a timeout, a
 * resend, an error or a cancel it is closed.  Anything arriving on an idle socket closes it, a
 * socket taken is drained before its send, and a stray reply that still slipped through fails
 * MIT's nonce check (krb5_*_step): it is never taken as the answer to a later request.
 */
#define UDP_POOL_PER_KDC 8
#define UDP_POOL_IDLE_S 10

struct udp_sock {
	int fd;
	struct event_base *base;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct event *ev;		/* read, for as long as the socket lives: one epoll entry */
	struct kdc_req *req;		/* the request using it, NULL while in the pool */
	time_t idle_since;
	struct udp_sock *next;		/* in the pool */
};
static struct udp_sock *pool;

enum kr_state { KR_CONNECTING, KR_SENDING, KR_READING };

struct kdc_req {
	int fd;
	int tcp;
	enum kr_state state;
	struct event_base *base;
	struct event *rd;		/* the reply */
	struct event *wr;		/* TCP: connect and send */
	struct event *timer;		/* the deadline; made active at once for an early failure */
	struct event *resend;		/* UDP only */
	unsigned resend_ms;
	struct udp_sock *us;		/* UDP: the socket, from the pool or new */
	int sends;			/* UDP: datagrams sent */
	int reuse;			/* UDP: answered to its one send, the socket may go back */
	enum kw_reason early;		/* a failure kdc_send found, reported from the loop */

	unsigned char *out;		/* TCP: with its length prefix */
	size_t outlen, outoff;
	unsigned char hdr[4];		/* TCP: the reply's length prefix */
	size_t hdroff;
	unsigned char *in;		/* TCP: the reply */
	size_t inlen, inoff;

	kdc_reply_cb *cb;
	void *arg;
};

static void kr_io_cb(evutil_socket_t, short, void *);

enum kw_reason
kdc_errno_reason(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return KW_R_REFUSED;
	case ETIMEDOUT:
		return KW_R_TIMEOUT;
	case ECONNRESET:
	case ECONNABORTED:
	case EPIPE:
		/* something accepted the connection and then dropped it: not a KDC answer */
		return KW_R_PROTOCOL;
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENETDOWN:
	case EADDRNOTAVAIL:
	case EACCES:
	case EPERM:		/* a local firewall rule that rejects */
	default:
		return KW_R_UNREACHABLE;
	}
}

static time_t
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static int
sa_same(const struct sockaddr_storage *a, const struct sockaddr *b, socklen_t blen)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)a, *b4 = (const struct sockaddr_in *)b;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a, *b6 = (const struct sockaddr_in6 *)b;

	if (a->ss_family != b->sa_family)
		return 0;
	if (b->sa_family == AF_INET)
		return blen >= sizeof *b4 && a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (b->sa_family == AF_INET6)
		return blen >= sizeof *b6 && a6->sin6_port == b6->sin6_port &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof a6->sin6_addr) == 0 &&
		    a6->sin6_scope_id == b6->sin6_scope_id;
	return 0;
}

static void
us_close(struct udp_sock *us)
{
	event_free(us->ev);
	close(us->fd);
	free(us);
}

static void
us_unlink(struct udp_sock *us)
{
	for (struct udp_sock **pp = &pool; *pp != NULL; pp = &(*pp)->next)
		if (*pp == us) {
			*pp = us->next;
			return;
		}
}

static void kr_udp_read(struct kdc_req *);

/* A reply for the request using the socket; on an idle one, whatever came ends the socket. */
static void
us_cb(evutil_socket_t fd, short what, void *arg)
{
	struct udp_sock *us = arg;

	(void)fd;
	(void)what;
	if (us->req != NULL) {
		kr_udp_read(us->req);
		return;
	}
	us_unlink(us);
	us_close(us);
}

/* Nothing may wait on a socket taken from the pool: it would be read as the new reply. */
static int
us_drained(struct udp_sock *us)
{
	unsigned char b[1];

	for (;;) {
		if (recv(us->fd, b, sizeof b, MSG_DONTWAIT) >= 0)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK;
	}
}

/* An idle socket to addr on base, drained; the expired ones closed on the way. */
static struct udp_sock *
pool_take(struct event_base *base, const struct sockaddr *addr, socklen_t addrlen)
{
	time_t now = mono_s();
	struct udp_sock **pp = &pool, *us;

	while ((us = *pp) != NULL) {
		int expired = now - us->idle_since > UDP_POOL_IDLE_S;

		if (!expired && (us->base != base || !sa_same(&us->addr, addr, addrlen))) {
			pp = &us->next;
			continue;
		}
		*pp = us->next;
		if (!expired && us_drained(us))
			return us;
		us_close(us);
	}
	return NULL;
}

/* The socket of an ended request: back to the pool when it is clean, else closed. */
static void
pool_put(struct udp_sock *us, int reuse)
{
	size_t same = 0;

	us->req = NULL;
	for (struct udp_sock *p = pool; p != NULL && reuse; p = p->next)
		same += p->base == us->base && sa_same(&p->addr, (struct sockaddr *)&us->addr, us->addrlen);
	if (!reuse || same >= UDP_POOL_PER_KDC) {
		us_close(us);
		return;
	}
	us->idle_since = mono_s();
	us->next = pool;
	pool = us;
}

/* A new pool socket around fd (connected to addr), or NULL (fd left to the caller). */
static struct udp_sock *
us_new(struct event_base *base, int fd, const struct sockaddr *addr, socklen_t addrlen)
{
	struct udp_sock *us = xcalloc(1, sizeof *us);

	us->fd = fd;
	us->base = base;
	memcpy(&us->addr, addr, addrlen);
	us->addrlen = addrlen;
	us->ev = event_new(base, fd, EV_READ | EV_PERSIST, us_cb, us);
	if (us->ev == NULL || event_add(us->ev, NULL) == -1) {
		if (us->ev != NULL)
			event_free(us->ev);
		free(us);
		return NULL;
	}
	return us;
}

static void
kr_free(struct kdc_req *req)
{
	if (req->us != NULL) {
		pool_put(req->us, req->reuse);
		req->fd = -1;
	}
	if (req->rd != NULL)
		event_free(req->rd);
	if (req->wr != NULL)
		event_free(req->wr);
	if (req->timer != NULL)
		event_free(req->timer);
	if (req->resend != NULL)
		event_free(req->resend);
	if (req->fd != -1)
		close(req->fd);
	free(req->out);
	free(req->in);
	free(req);
}

/* The one way out: the request is freed before cb runs, so cb may do anything. */
static void
kr_finish(struct kdc_req *req, enum kw_reason r, const unsigned char *reply, size_t len)
{
	kdc_reply_cb *cb = req->cb;
	void *arg = req->arg;
	unsigned char *keep = req->in;

	req->in = NULL;
	kr_free(req);
	if (r != KW_OK) {
		reply = NULL;
		len = 0;
	}
	cb(arg, r, reply, len);
	free(keep);
}

/* Waits for the socket to become readable (EV_READ) or writable (EV_WRITE), not both. */
static int
kr_wait(struct kdc_req *req, short what)
{
	struct event *on = what == EV_READ ? req->rd : req->wr;
	struct event *off = what == EV_READ ? req->wr : req->rd;

	if (off != NULL)
		event_del(off);
	return event_add(on, NULL);
}

static void
kr_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kdc_req *req = arg;

	(void)fd;
	(void)what;
	kr_finish(req, req->early != KW_OK ? req->early : KW_R_TIMEOUT, NULL, 0);
}

/* A datagram may be lost on the way there or back: send it again, further apart each time. */
static void
kr_resend_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kdc_req *req = arg;
	struct timeval tv;

	(void)fd;
	(void)what;
	req->sends++;
	if (send(req->fd, req->out, req->outlen, MSG_NOSIGNAL) == -1 && errno != EAGAIN &&
	    errno != EWOULDBLOCK && errno != ENOBUFS) {
		kr_finish(req, kdc_errno_reason(errno), NULL, 0);
		return;
	}
	if (req->resend_ms < 16000)
		req->resend_ms *= 2;
	tv.tv_sec = req->resend_ms / 1000;
	tv.tv_usec = (suseconds_t)(req->resend_ms % 1000) * 1000;
	evtimer_add(req->resend, &tv);
}

static void
kr_udp_read(struct kdc_req *req)
{
	static unsigned char buf[UDP_MAX_DGRAM + 1];
	ssize_t n;

	n = recv(req->fd, buf, sizeof buf, 0);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		kr_finish(req, kdc_errno_reason(errno), NULL, 0);
		return;
	}
	if (n == 0 || (size_t)n > UDP_MAX_DGRAM) {
		kr_finish(req, KW_R_PROTOCOL, NULL, 0);
		return;
	}
	req->reuse = req->sends == 1;
	kr_finish(req, KW_OK, buf, (size_t)n);
}

static void
kr_tcp_send(struct kdc_req *req)
{
	while (req->outoff < req->outlen) {
		ssize_t n = send(req->fd, req->out + req->outoff, req->outlen - req->outoff, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			kr_finish(req, kdc_errno_reason(errno), NULL, 0);
			return;
		}
		req->outoff += (size_t)n;
	}
	req->state = KR_READING;
	if (kr_wait(req, EV_READ) == -1)
		kr_finish(req, KW_R_INTERNAL, NULL, 0);
}

static void
kr_tcp_read(struct kdc_req *req)
{
	for (;;) {
		unsigned char *p;
		size_t want;
		ssize_t n;

		if (req->hdroff < sizeof req->hdr) {
			p = req->hdr + req->hdroff;
			want = sizeof req->hdr - req->hdroff;
		} else {
			p = req->in + req->inoff;
			want = req->inlen - req->inoff;
		}
		n = recv(req->fd, p, want, 0);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			kr_finish(req, kdc_errno_reason(errno), NULL, 0);
			return;
		}
		if (n == 0) {
			/* closed before a whole reply: whatever listens there is no KDC that answers */
			kr_finish(req, KW_R_PROTOCOL, NULL, 0);
			return;
		}
		if (req->hdroff < sizeof req->hdr) {
			req->hdroff += (size_t)n;
			if (req->hdroff < sizeof req->hdr)
				continue;
			uint32_t l = (uint32_t)req->hdr[0] << 24 | (uint32_t)req->hdr[1] << 16 |
			    (uint32_t)req->hdr[2] << 8 | req->hdr[3];
			/* the high bit announces RFC 5021 extensions, which a reply never uses */
			if (l == 0 || l > KDC_MAX_REPLY) {
				kr_finish(req, KW_R_PROTOCOL, NULL, 0);
				return;
			}
			req->inlen = l;
			req->in = xmalloc(l);
			continue;
		}
		req->inoff += (size_t)n;
		if (req->inoff == req->inlen) {
			kr_finish(req, KW_OK, req->in, req->inlen);
			return;
		}
	}
}

static void
kr_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kdc_req *req = arg;
	int err = 0;
	socklen_t errlen = sizeof err;

	(void)what;
	switch (req->state) {
	case KR_CONNECTING:
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) == -1)
			err = errno;
		if (err != 0) {
			kr_finish(req, kdc_errno_reason(err), NULL, 0);
			return;
		}
		req->state = KR_SENDING;
		kr_tcp_send(req);
		return;
	case KR_SENDING:
		kr_tcp_send(req);
		return;
	case KR_READING:
		kr_tcp_read(req);
		return;
	}
	fatalx("kdc request in state %d", (int)req->state);
}

/* The request as it goes on the wire: TCP's has the 4-byte big-endian length in front. */
static void
kr_frame(struct kdc_req *req, const void *msg, size_t len)
{
	size_t off = req->tcp ? 4 : 0;

	req->outlen = len + off;
	req->out = xmalloc(req->outlen);
	if (req->tcp) {
		req->out[0] = (unsigned char)(len >> 24);
		req->out[1] = (unsigned char)(len >> 16);
		req->out[2] = (unsigned char)(len >> 8);
		req->out[3] = (unsigned char)len;
	}
	memcpy(req->out + off, msg, len);
}

/*
 * The TCP socket, its connect begun.  A refusal now is req->early, reported from the loop.
 * -1 when no socket could be had.
 */
static int
kr_open_tcp(struct kdc_req *req, const struct sockaddr *addr, socklen_t addrlen)
{
	req->fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (req->fd == -1) {
		/* the caller counts these and logs one line per run: EMFILE must not flood the log */
		log_debug("kdc transport: socket: %s", strerror(errno));
		return -1;
	}
	if (connect(req->fd, addr, addrlen) == 0)
		req->state = KR_SENDING;
	else if (errno == EINPROGRESS)
		req->state = KR_CONNECTING;
	else
		req->early = kdc_errno_reason(errno);
	return 0;
}

/*
 * A connected UDP socket (then an ICMP port unreachable reaches us as ECONNREFUSED), from the
 * pool or new, and the request sent.  A refusal now is req->early.  -1 when no socket.
 */
static int
kr_open_udp(struct kdc_req *req, const struct sockaddr *addr, socklen_t addrlen)
{
	struct udp_sock *us = pool_take(req->base, addr, addrlen);

	if (us == NULL) {
		int fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd == -1) {
			log_debug("kdc transport: socket: %s", strerror(errno));
			return -1;
		}
		if (connect(fd, addr, addrlen) == -1) {
			req->early = kdc_errno_reason(errno);
			req->fd = fd;
			return 0;
		}
		if ((us = us_new(req->base, fd, addr, addrlen)) == NULL) {
			close(fd);
			return -1;
		}
	}
	us->req = req;
	req->us = us;
	req->fd = us->fd;
	req->state = KR_READING;
	req->sends = 1;
	if (send(req->fd, req->out, req->outlen, MSG_NOSIGNAL) == -1 && errno != EAGAIN &&
	    errno != EWOULDBLOCK && errno != ENOBUFS)
		req->early = kdc_errno_reason(errno);
	return 0;
}

static struct timeval
kr_tv(unsigned ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
	return tv;
}

/*
 * The request's whole set-up (copy, socket, the first UDP send, events), every failure
 * through the one `fail:` label.
 */
struct kdc_req *
kdc_send(struct event_base *base, const struct sockaddr *addr, socklen_t addrlen, int flags,
    const void *msg, size_t len, unsigned timeout_ms, kdc_reply_cb *cb, void *arg)
{
	struct kdc_req *req;
	struct timeval tv;
	int use_tcp = (flags & KDC_SEND_TCP) != 0;

	if (len == 0 || (use_tcp ? len > UINT32_MAX >> 1 : len > UDP_MAX_DGRAM))
		return NULL;
	req = xcalloc(1, sizeof *req);
	req->fd = -1;
	req->base = base;
	req->tcp = use_tcp != 0;
	req->cb = cb;
	req->arg = arg;
	req->early = KW_OK;
	kr_frame(req, msg, len);
	if ((req->timer = evtimer_new(base, kr_timer_cb, req)) == NULL ||
	    (req->tcp ? kr_open_tcp : kr_open_udp)(req, addr, addrlen) == -1)
		goto fail;
	if (req->early != KW_OK) {
		/* reported from the loop, never from inside kdc_send */
		event_active(req->timer, EV_TIMEOUT, 0);
		return req;
	}

	/* a UDP reply comes through its pool socket's event (us_cb) */
	if (req->tcp && ((req->rd = event_new(base, req->fd, EV_READ | EV_PERSIST, kr_io_cb, req)) == NULL ||
	    (req->wr = event_new(base, req->fd, EV_WRITE | EV_PERSIST, kr_io_cb, req)) == NULL ||
	    kr_wait(req, EV_WRITE) == -1))
		goto fail;
	if (!req->tcp && !(flags & KDC_SEND_ONCE)) {
		req->resend_ms = UDP_FIRST_RESEND_MS;
		if (req->resend_ms < timeout_ms) {
			tv = kr_tv(req->resend_ms);
			if ((req->resend = evtimer_new(base, kr_resend_cb, req)) == NULL ||
			    evtimer_add(req->resend, &tv) == -1)
				goto fail;
		}
	}
	tv = kr_tv(timeout_ms);
	if (evtimer_add(req->timer, &tv) == -1)
		goto fail;
	return req;
fail:
	kr_free(req);
	return NULL;
}

void
kdc_req_cancel(struct kdc_req *req)
{
	if (req != NULL)
		kr_free(req);
}
