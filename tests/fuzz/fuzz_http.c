/*
 * libFuzzer target for the HTTP request handling: the input is what a client sends on one
 * connection, written over loopback TCP to evhttp set up exactly as the daemon sets it up
 * (daemon/http.c is included: its limits, its connection table, its handlers) with basic
 * authentication on (one user, a cheap bcrypt cost so that good credentials stay fast).
 * The loop runs until the server has answered and closed, or gone quiet.  Seeds:
 * tests/fuzz/http/ (an "Authorization: Basic cHJvbTpzM2NyZXQ=" header is prom:s3cret, good).
 * FUZZ_HTTP_ECHO=1 in the environment copies the server's answers to stderr, to check a seed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../daemon/http.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROUNDS 64		/* loop turns per input; loopback delivers at once */
#define QUIET_ROUNDS 4		/* turns without news after which the client half-closes */

static struct kwd d;
static struct http *h;
static struct sockaddr_in server;
static int echo;

static void
setup(void)
{
	static struct kw_web_user user = {
		.name = (char *)(uintptr_t)"prom",
		.hash = (char *)(uintptr_t)"$2b$04$ZEQP0eS7sKo.z1Xuv/CHmOflwTuBRFRg6y2oguVIWfdveMDZNhqgK",
	};
	static struct kw_config conf;
	static const char *const l[] = { "version" };
	const char *v[] = { "fuzz" };
	struct kw_errors errs = { 0 };
	struct evconnlistener *lev;
	socklen_t len = sizeof server;
	struct web *web;

	conf.path = (char *)(uintptr_t)"fuzz/krbwatch.yml";
	conf.web.users = &user;
	conf.web.nusers = 1;
	conf.web.min_version = 12;
	if ((d.base = event_base_new()) == NULL || (web = web_new(&conf, &errs)) == NULL)
		abort();
	d.conf = &conf;
	d.conf_path = conf.path;
	d.metrics = metrics_new();
	d.m.build_info = metrics_family(d.metrics, "krbwatch_build_info", "Fuzzing.",
	    METRIC_GAUGE, 1, l);
	mfamily_set(d.m.build_info, v, 1);
	d.sched = sched_new(&d);
	h = xcalloc(1, sizeof *h);
	h->d = &d;
	h->web = web;
	server.sin_family = AF_INET;
	server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lev = evconnlistener_new_bind(d.base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE |
	    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 128, (struct sockaddr *)&server,
	    sizeof server);
	if (lev == NULL || getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&server,
	    &len) == -1 || http_setup(h, d.base, lev) == -1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[65536];
	size_t off = 0;
	int fd, quiet = 0, half_closed = 0, eof = 0;

	if (h == NULL) {
		setup();
		echo = getenv("FUZZ_HTTP_ECHO") != NULL;
	}
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		abort();
	if (connect(fd, (struct sockaddr *)&server, sizeof server) == -1 && errno != EINPROGRESS)
		abort();
	for (int round = 0; round < ROUNDS && !eof; round++) {
		int news = 0;
		ssize_t n;

		event_base_loop(d.base, EVLOOP_NONBLOCK);
		if (off < size && (n = send(fd, data + off, size - off, MSG_NOSIGNAL)) > 0) {
			off += (size_t)n;
			news = 1;
		}
		while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
			news = 1;
			if (echo && write(2, buf, (size_t)n) < 0)
				abort();
		}
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			eof = 1;
			break;
		}
		quiet = news ? 0 : quiet + 1;
		/* all sent and answered as far as it goes: EOF makes evhttp finish and close */
		if (off == size && quiet >= QUIET_ROUNDS && !half_closed) {
			shutdown(fd, SHUT_WR);
			half_closed = 1;
			quiet = 0;
		}
	}
	close(fd);
	/* let evhttp see the close and free the connection before the next input */
	for (int round = 0; round < 4; round++)
		event_base_loop(d.base, EVLOOP_NONBLOCK);
	return 0;
}
