/*
 * Carries one message to one KDC (or kpasswd server) and back, on the loop, with its own deadline.
 *
 * UDP uses a connected socket, so an ICMP port unreachable comes back as ECONNREFUSED ("refused":
 * nothing listens) and a host or network unreachable as "unreachable"; a lost datagram is sent
 * again (after 1 s, then 2 s, 4 s, ...) until the deadline, as MIT's client does.  TCP frames the
 * message with a 4-byte big-endian length (RFC 4120 7.2.2; kpasswd uses the same framing) and
 * reads one framed reply.  A TCP connect alone is not an answer: only a reply is.
 *
 * Reasons: KW_OK (reply given), KW_R_TIMEOUT (nothing before the deadline, e.g. dropped
 * packets), KW_R_REFUSED, KW_R_UNREACHABLE, KW_R_PROTOCOL (the peer closed or reset the
 * connection, or framed its reply wrongly), KW_R_INTERNAL (no socket).  What the reply means is
 * the caller's business.
 */
#ifndef KRBWATCH_KDC_TRANSPORT_H
#define KRBWATCH_KDC_TRANSPORT_H

#include <stddef.h>
#include <sys/socket.h>

#include "../conf/config.h"
#include "../lib/reason.h"

struct event_base;
struct kdc_req;

#define KDC_MAX_REPLY (256 * 1024)	/* a longer TCP reply is a protocol error */

/*
 * reply/len: the reply without the TCP length prefix, valid only during the call; NULL/0 unless
 * r is KW_OK.  The request is already gone when cb runs: do not cancel it there.
 */
typedef void kdc_reply_cb(void *arg, enum kw_reason r, const unsigned char *reply, size_t len);

#define KDC_SEND_TCP 1	/* TCP rather than UDP */
/*
 * UDP: send the datagram once, never again.  A pre-authenticated AS-REQ that a slow KDC gets
 * twice is judged twice, and each wrong key counts against the account (probes/lockout.h).
 */
#define KDC_SEND_ONCE 2

/*
 * Sends msg (copied; the caller may free it at once) to addr over UDP or TCP (flags: KDC_SEND_*).  cb is called
 * exactly once, from the loop and never from inside kdc_send, unless kdc_req_cancel comes first.
 * Returns NULL only when the request could not be set up at all (then cb is never called).
 */
struct kdc_req *kdc_send(struct event_base *, const struct sockaddr *addr, socklen_t addrlen,
    int flags, const void *msg, size_t len, unsigned timeout_ms, kdc_reply_cb *cb, void *arg);

/* Ends a request before its callback ran: closes its socket, frees it; cb is never called. */
void kdc_req_cancel(struct kdc_req *);

/* The reason a socket error stands for (ECONNREFUSED: refused; EHOSTUNREACH...: unreachable). */
enum kw_reason kdc_errno_reason(int err);

#endif
