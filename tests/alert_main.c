/*
 * A driver for the alerts (daemon/alert.c, daemon/webhook.c), for tests/t_alerts.sh.
 *
 *   alert_main CONFIG <SCRIPT
 *
 * Loads CONFIG, creates the loop, a registry and the alerts, then runs the script from stdin,
 * one command a line, on the loop:
 *
 *   REGION CLUSTER|- ok                          an observation that succeeded
 *   REGION CLUSTER|- fail HOP REASON [DETAIL...] one that failed ("-": the Region as a whole)
 *   pause MS                                     waits MS ms on a loop timer
 *   drain                                        waits until no notification is pending
 *   reload FILE                                  loads FILE and calls alerts_reconfigure
 *   metrics FILE                                 writes the exposition to FILE
 *   mark WORD                                    prints "mark WORD MS" (ms since the start)
 *
 * At the end it drains, frees everything and exits 0; 2 on a usage or set-up error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "../conf/config.h"
#include "../daemon/alert.h"
#include "../lib/log.h"
#include "../lib/metrics.h"

#define MAX_LINES 4096

static struct event_base *evb;
static struct metrics *reg;
static struct alerts *alerts;
static struct kw_config *conf;
static struct event *step_ev;
static char *lines[MAX_LINES];
static size_t nlines, next_line;
static int draining, exit_code;
static struct timespec t0;

static long
elapsed_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
}

static void
again(long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_add(step_ev, &tv);
}

static struct kw_config *
load(const char *path)
{
	struct kw_errors errs = { 0 };
	struct kw_config *c = config_load(path, &errs);

	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	errors_clear(&errs);
	return c;
}

static void
write_metrics(const char *path)
{
	size_t len;
	const char *text = metrics_render(reg, &len);
	FILE *f = fopen(path, "w");

	if (f == NULL || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		exit_code = 2;
	}
}

/* One command; returns the ms to wait before the next one (-1: wait for the queue). */
static long
run(char *line)
{
	char *save = NULL, *w1, *w2, *w3, *hop, *reason, *detail;

	if ((w1 = strtok_r(line, " ", &save)) == NULL)
		return 0;
	w2 = strtok_r(NULL, " ", &save);
	if (strcmp(w1, "pause") == 0 && w2 != NULL)
		return atol(w2);
	if (strcmp(w1, "drain") == 0)
		return -1;
	if (strcmp(w1, "mark") == 0) {
		printf("mark %s %ld\n", w2 ? w2 : "", elapsed_ms());
		fflush(stdout);
		return 0;
	}
	if (strcmp(w1, "metrics") == 0 && w2 != NULL) {
		write_metrics(w2);
		return 0;
	}
	if (strcmp(w1, "reload") == 0 && w2 != NULL) {
		struct kw_config *c = load(w2);

		if (c == NULL) {
			exit_code = 2;
			return 0;
		}
		alerts_reconfigure(alerts, c);
		config_free(conf);
		conf = c;
		return 0;
	}
	if (w2 == NULL || (w3 = strtok_r(NULL, " ", &save)) == NULL) {
		fprintf(stderr, "bad line: %s\n", w1);
		exit_code = 2;
		return 0;
	}
	if (strcmp(w3, "ok") == 0) {
		alerts_observe(alerts, w1, strcmp(w2, "-") ? w2 : NULL, 1, NULL, NULL, NULL);
		return 0;
	}
	hop = strtok_r(NULL, " ", &save);
	reason = strtok_r(NULL, " ", &save);
	detail = strtok_r(NULL, "", &save);
	alerts_observe(alerts, w1, strcmp(w2, "-") ? w2 : NULL, 0, hop, reason, detail);
	return 0;
}

static void
step(evutil_socket_t fd, short what, void *arg)
{
	long ms = 0;

	if (draining) {
		if (alerts_pending(alerts) > 0) {
			again(10);
			return;
		}
		draining = 0;
	}
	while (next_line < nlines && ms == 0)
		ms = run(lines[next_line++]);
	if (ms > 0) {
		again(ms);
	} else if (ms < 0 || next_line == nlines) {
		draining = 1;
		if (next_line == nlines && alerts_pending(alerts) == 0) {
			event_base_loopexit(evb, NULL);
			return;
		}
		again(10);
	}
}

int
main(int argc, char **argv)
{
	char buf[2048];

	if (argc != 2) {
		fprintf(stderr, "usage: alert_main CONFIG <SCRIPT\n");
		return 2;
	}
	log_init(1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (nlines < MAX_LINES && fgets(buf, sizeof buf, stdin) != NULL) {
		buf[strcspn(buf, "\n")] = '\0';
		if (buf[0] != '\0' && buf[0] != '#')
			lines[nlines++] = strdup(buf);
	}
	if ((conf = load(argv[1])) == NULL)
		return 2;
	if ((evb = event_base_new()) == NULL || (step_ev = evtimer_new(evb, step, NULL)) == NULL)
		return 2;
	reg = metrics_new();
	alerts = alerts_new(evb, reg, conf);
	again(0);
	event_base_dispatch(evb);
	printf("done %ld\n", elapsed_ms());

	alerts_free(alerts);
	event_free(step_ev);
	if (event_base_get_num_events(evb, EVENT_BASE_COUNT_ADDED) != 0) {
		fprintf(stderr, "events left on the loop\n");
		exit_code = 2;
	}
	event_base_free(evb);
	metrics_free(reg);
	config_free(conf);
	for (size_t i = 0; i < nlines; i++)
		free(lines[i]);
	return exit_code;
}
