/*
 * libFuzzer target for the KDC-reply path: kdc_transport.c's TCP framing (a 4-byte big-endian
 * length, then the reply) read from a real socket, then kdc_msg.c's classification of what
 * came back (KRB-ERROR with the KDC's clock, AS-REP, kpasswd reply).  kdc_transport.c is
 * included to reach its static functions.
 *
 * Input: one control byte, then the bytes a KDC sends on TCP.  Bit 0 of the control byte says
 * kpasswd (464) or KDC (88); the rest chooses the size of the pieces the bytes arrive in, so
 * that the framing is read across partial reads.  The bytes after the control byte are also
 * classified as they are, as a UDP reply would be.  Seeds: tests/fuzz/kdc_reply/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../lib/xmalloc.h"
#include "../../probes/kdc_msg.h"
#include "../../net/kdc_transport.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static krb5_context kctx;

struct outcome {
	int done, kpasswd;
	enum kw_reason r;
};

static void
classify(int kpasswd, const unsigned char *p, size_t len)
{
	char why[128];
	double stime;
	int code;

	if (kdc_msg_classify(kctx, kpasswd, p, len, &code, &stime, why, sizeof why) == KW_OK &&
	    code != -1 && stime != stime)
		abort();	/* a KDC time that is NaN would end up as the skew metric */
}

static void
got_reply(void *arg, enum kw_reason r, const unsigned char *reply, size_t len)
{
	struct outcome *o = arg;

	if (o->done++ || (r == KW_OK) != (reply != NULL && len > 0) || len > KDC_MAX_REPLY)
		abort();
	o->r = r;
	if (r == KW_OK)
		classify(o->kpasswd, reply, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome o = { 0 };
	struct kdc_req *req;
	size_t piece, off = 0;
	int sv[2];

	if (kctx == NULL && kdc_msg_context(&kctx) == -1)
		abort();
	if (size < 1)
		return 0;
	o.kpasswd = data[0] & 1;
	piece = 1 + (size_t)(data[0] >> 1) * 13;
	data++;
	size--;
	classify(o.kpasswd, data, size);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == -1)
		abort();
	req = xcalloc(1, sizeof *req);
	req->fd = sv[0];
	req->tcp = 1;
	req->state = KR_READING;
	req->cb = got_reply;
	req->arg = &o;
	while (off < size && !o.done) {
		size_t n = size - off < piece ? size - off : piece;
		ssize_t w = write(sv[1], data + off, n);

		if (w <= 0)
			break;	/* the socket buffer is full: the reader has to make progress */
		off += (size_t)w;
		kr_tcp_read(req);
	}
	if (!o.done) {
		shutdown(sv[1], SHUT_WR);
		kr_tcp_read(req);
	}
	/* a reader that has neither a reply nor the EOF by now would hang the real probe */
	if (!o.done && off == size)
		abort();
	if (!o.done)
		kr_free(req);
	close(sv[1]);
	return 0;
}
