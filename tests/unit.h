/* What the unit tests share: one TAP line per check, and the exit status they add up to. */
#ifndef KRBWATCH_UNIT_H
#define KRBWATCH_UNIT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "../conf/config.h"
#include "../daemon/kwd.h"
#include "../daemon/results.h"
#include "../lib/metrics.h"
#include "../probes/probe.h"

static int failed;

static inline void
check(int cond, const char *what)
{
	printf("%s - %s\n", cond ? "ok" : "not ok", what);
	failed |= !cond;
}

/* A timer's callback that does nothing: for a job's events that the test never fires. */
static inline void
unit_noop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* A UDP socket bound to 127.0.0.1 (nobody reads it unless the caller does): its port in *port. */
static inline int
unit_udp_socket(uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof sin;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) == -1) {
		perror("udp socket");
		exit(2);
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* A new directory $TMPDIR/name.XXXXXX (/tmp without TMPDIR) in buf, or NULL with errno. */
static inline char *
unit_mkdtemp(char *buf, size_t n, const char *name)
{
	const char *t = getenv("TMPDIR");

	if (t == NULL || *t == '\0')
		t = "/tmp";
	/* the six X are mkdtemp's template: it replaces them with the directory's unique name */
	int len = snprintf(buf, n, "%s/%s.XXXXXX", t, name);

	if (len < 0 || (size_t)len >= n) {
		errno = ENAMETOOLONG;	/* the callers' perror says why, as mkdtemp's errno does */
		return NULL;
	}
	return mkdtemp(buf);
}

static inline void
unit_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/*
 * A job of kind in Region 0 of c as the scheduler makes it, running (its timers never fire), its
 * runs ending in d's one fan-out (results_sink).
 */
static inline void
unit_job(struct probe_job *j, const struct probe_ops *ops, struct kwd *d,
    const struct kw_config *c)
{
	memset(j, 0, sizeof *j);
	j->ops = ops;
	j->d = d;
	j->sink = &results_sink;
	j->conf = c;
	j->region = &c->regions[0];
	j->timer = evtimer_new(d->base, unit_noop_cb, NULL);
	j->deadline = evtimer_new(d->base, unit_noop_cb, NULL);
	if (j->timer == NULL || j->deadline == NULL) {
		fprintf(stderr, "evtimer_new failed\n");
		exit(1);
	}
	clock_gettime(CLOCK_MONOTONIC, &j->started);
	j->running = 1;
}

/* Whether /metrics, as a scrape would get it now, holds needle. */
static inline int
unit_rendered(struct metrics *m, const char *needle)
{
	size_t len;
	const char *text = metrics_render(m, &len);

	return strstr(text, needle) != NULL;
}

/* A configuration that did not load: its messages, as TAP comments. */
static inline void
unit_config_errors(const struct kw_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		printf("#   %s\n", errs->msg[i]);
}

/* The configuration at path, loaded as the daemon would (no credentials directory); NULL: said. */
static inline struct kw_config *
unit_config_load(const char *path)
{
	struct kw_errors errs = { 0 };
	struct kw_config *c;

	unsetenv("CREDENTIALS_DIRECTORY");
	if ((c = config_load(path, &errs)) == NULL) {
		unit_config_errors(&errs);
		printf("not ok - the configuration loads\n");
	}
	errors_clear(&errs);
	return c;
}

#endif
