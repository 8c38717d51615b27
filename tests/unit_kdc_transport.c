/*
 * Unit tests of net/kdc_transport.c's UDP socket pool against a "KDC" on 127.0.0.1 that the
 * test drives by hand (it reads a request, answers when told): a socket is reused after a clean
 * exchange, and a reply meant for an earlier request -- late after its timeout, a duplicate, or
 * the answer to a resent datagram -- is never delivered as the answer to a later request.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "../net/kdc_transport.h"
#include "unit.h"

static struct event_base *base;
static int kdc_fd;
static struct sockaddr_in kdc_addr;

/* What one request heard. */
struct heard {
	int done;
	enum kw_reason r;
	char reply[64];
};

static void
reply_cb(void *arg, enum kw_reason r, const unsigned char *reply, size_t len)
{
	struct heard *h = arg;

	h->done++;
	h->r = r;
	snprintf(h->reply, sizeof h->reply, "%.*s", (int)len, reply != NULL ? (const char *)reply : "");
}

/* Runs the loop until h has heard (or 3 s pass: then the check after it fails). */
static void
wait_for(struct heard *h)
{
	for (int i = 0; i < 300 && !h->done; i++) {
		struct timeval tv = { 0, 10000 };

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
}

/* Runs the loop for ms: what is queued gets seen, what is due fires. */
static void
spin(long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* The KDC reads one request (blocking, 2 s at most): the sender's port in *from. */
static int
kdc_read(struct sockaddr_in *from, char *msg, size_t len)
{
	socklen_t fl = sizeof *from;
	struct timeval tv = { 2, 0 };
	ssize_t n;

	setsockopt(kdc_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	n = recvfrom(kdc_fd, msg, len - 1, 0, (struct sockaddr *)from, &fl);
	if (n < 0)
		return -1;
	msg[n] = '\0';
	return 0;
}

static void
kdc_answer(const struct sockaddr_in *to, const char *text)
{
	sendto(kdc_fd, text, strlen(text), 0, (const struct sockaddr *)to, sizeof *to);
}

static struct kdc_req *
send_req(const char *msg, unsigned timeout_ms, int flags, struct heard *h)
{
	memset(h, 0, sizeof *h);
	return kdc_send(base, (struct sockaddr *)&kdc_addr, sizeof kdc_addr, flags, msg, strlen(msg),
	    timeout_ms, reply_cb, h);
}

/*
 * The request after one whose socket (at old) must not be reused: it goes out on another socket,
 * the stale reply then sent to old's socket is not its answer, and it hears its own.
 */
static void
next_not_on(const struct sockaddr_in *old, const char *stale, const char *msg, const char *why)
{
	struct sockaddr_in b;
	struct heard h;
	char m[64], want[80], what[200];

	send_req(msg, 2000, KDC_SEND_ONCE, &h);
	snprintf(what, sizeof what, "request %s", msg);
	check(kdc_read(&b, m, sizeof m) == 0 && strcmp(m, msg) == 0, what);
	check(old->sin_port != b.sin_port, why);
	kdc_answer(old, stale);
	snprintf(want, sizeof want, "reply-%s", msg);
	kdc_answer(&b, want);
	wait_for(&h);
	snprintf(what, sizeof what, "request %s hears its own reply, not %s", msg, stale);
	check(h.done == 1 && strcmp(h.reply, want) == 0, what);
}

int
main(void)
{
	struct sockaddr_in a, b, dup;
	struct heard h1, h2;
	struct kdc_req *r8;
	char m[64];
	uint16_t port;

	base = event_base_new();
	kdc_fd = unit_udp_socket(&port);
	kdc_addr.sin_family = AF_INET;
	kdc_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	kdc_addr.sin_port = htons(port);

	/* a clean exchange: the next request to the KDC goes out on the same socket */
	check(send_req("one", 2000, KDC_SEND_ONCE, &h1) != NULL, "kdc_send");
	check(kdc_read(&a, m, sizeof m) == 0 && strcmp(m, "one") == 0, "the KDC got the request");
	kdc_answer(&a, "reply-one");
	wait_for(&h1);
	check(h1.done == 1 && h1.r == KW_OK && strcmp(h1.reply, "reply-one") == 0, "its reply");
	send_req("two", 2000, KDC_SEND_ONCE, &h2);
	check(kdc_read(&b, m, sizeof m) == 0 && strcmp(m, "two") == 0, "a second request");
	check(a.sin_port == b.sin_port, "it reuses the first one's socket (same source port)");
	/* the network duplicates the reply: the copy must not answer the next request */
	kdc_answer(&b, "reply-two");
	kdc_answer(&b, "reply-two");
	wait_for(&h2);
	check(h2.done == 1 && strcmp(h2.reply, "reply-two") == 0, "its reply, once");
	dup = b;
	send_req("three", 2000, KDC_SEND_ONCE, &h1);
	check(kdc_read(&a, m, sizeof m) == 0 && strcmp(m, "three") == 0, "a third request");
	kdc_answer(&dup, "reply-two");	/* late: to the socket the duplicate went to */
	kdc_answer(&a, "reply-three");
	wait_for(&h1);
	check(h1.done == 1 && strcmp(h1.reply, "reply-three") == 0,
	    "a duplicated reply is not taken as the next request's answer");
	check(a.sin_port != dup.sin_port, "the socket that got a duplicate was not reused");

	/* a request that timed out: its late reply must not answer the next one */
	send_req("four", 200, KDC_SEND_ONCE, &h1);
	check(kdc_read(&a, m, sizeof m) == 0, "a fourth request, left unanswered");
	wait_for(&h1);
	check(h1.done == 1 && h1.r == KW_R_TIMEOUT, "it times out");
	next_not_on(&a, "reply-four", "five", "not on the socket of the request that timed out");

	/* a resent request: the answer to its first datagram may still come */
	send_req("six", 1600, 0, &h1);
	check(kdc_read(&a, m, sizeof m) == 0, "a sixth request, left unanswered");
	spin(1200);
	check(kdc_read(&a, m, sizeof m) == 0 && strcmp(m, "six") == 0, "it is sent again after 1 s");
	kdc_answer(&a, "reply-six");
	wait_for(&h1);
	check(h1.done == 1 && strcmp(h1.reply, "reply-six") == 0, "its reply");
	next_not_on(&a, "reply-six", "seven", "not on the socket of a request sent twice");

	/* two at once: two sockets; a cancelled request's socket is closed, not reused */
	r8 = send_req("eight", 2000, KDC_SEND_ONCE, &h1);
	check(kdc_read(&a, m, sizeof m) == 0, "an eighth request");
	send_req("nine", 2000, KDC_SEND_ONCE, &h2);
	check(kdc_read(&b, m, sizeof m) == 0 && strcmp(m, "nine") == 0, "a ninth, at the same time");
	check(a.sin_port != b.sin_port, "two requests at once use two sockets");
	kdc_answer(&b, "reply-nine");
	wait_for(&h2);
	check(h2.done == 1 && strcmp(h2.reply, "reply-nine") == 0, "each its own reply");
	spin(20);
	check(h1.done == 0, "the other is still waiting");
	kdc_req_cancel(r8);
	next_not_on(&a, "reply-eight", "ten", "not on the cancelled request's socket");
	check(h1.done == 0, "the cancelled request heard nothing");
	event_base_free(base);
	close(kdc_fd);
	return failed;
}
