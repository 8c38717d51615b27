/*
 * One request to one KDC: a small state machine on one socket, with one deadline timer and, for
 * UDP, one resend timer.  See kdc_transport.h for the contract.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "../lib/log.h"
#include "../lib/xmalloc.h"
#include "kdc_transport.h"

#define UDP_FIRST_RESEND_MS 1000	/* MIT's client waits 1 s per KDC before the next try */
#define UDP_MAX_DGRAM 65535

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

static void
kr_free(struct kdc_req *req)
{
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
	if (!req->tcp) {
		kr_udp_read(req);
		return;
	}
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
 * The socket, connected (even for UDP: then an ICMP port unreachable reaches us as
 * ECONNREFUSED), and a UDP request sent.  A refusal now is req->early, reported from the loop.
 * -1 when no socket could be had.
 */
static int
kr_open(struct kdc_req *req, const struct sockaddr *addr, socklen_t addrlen)
{
	req->fd = socket(addr->sa_family, (req->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (req->fd == -1) {
		/* the caller counts these and logs one line per run: EMFILE must not flood the log */
		log_debug("kdc transport: socket: %s", strerror(errno));
		return -1;
	}
	if (connect(req->fd, addr, addrlen) == -1) {
		if (req->tcp && errno == EINPROGRESS)
			req->state = KR_CONNECTING;
		else
			req->early = kdc_errno_reason(errno);
	} else
		req->state = req->tcp ? KR_SENDING : KR_READING;

	if (req->early == KW_OK && !req->tcp) {
		if (send(req->fd, req->out, req->outlen, MSG_NOSIGNAL) == -1 && errno != EAGAIN &&
		    errno != EWOULDBLOCK && errno != ENOBUFS)
			req->early = kdc_errno_reason(errno);
	}
	return 0;
}

static struct timeval
kr_tv(unsigned ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
	return tv;
}

/*
 * Longer than most: the socket's whole set-up (copy, socket, connect, the first UDP send,
 * events), every failure through the one `fail:` label.
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
	    kr_open(req, addr, addrlen) == -1)
		goto fail;
	if (req->early != KW_OK) {
		/* reported from the loop, never from inside kdc_send */
		event_active(req->timer, EV_TIMEOUT, 0);
		return req;
	}

	req->rd = event_new(base, req->fd, EV_READ | EV_PERSIST, kr_io_cb, req);
	if (req->rd == NULL)
		goto fail;
	if (req->tcp && (req->wr = event_new(base, req->fd, EV_WRITE | EV_PERSIST, kr_io_cb, req)) == NULL)
		goto fail;
	if (kr_wait(req, req->tcp ? EV_WRITE : EV_READ) == -1)
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
