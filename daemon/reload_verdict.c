#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/log.h"
#include "reload_verdict.h"

#define VERDICT_FILE "reload.verdict"
/* Well inside systemd's default reload timeout (TimeoutStartSec=, 90 s): a load takes ms. */
#define WAIT_MS 60000

static int
verdict_path(char *buf, size_t len)
{
	const char *dir = getenv("RUNTIME_DIRECTORY");
	int n;

	/* systemd may list several directories separated by ':'; ours is the first */
	if (dir == NULL || dir[0] == '\0')
		return -1;
	n = snprintf(buf, len, "%.*s/" VERDICT_FILE, (int)strcspn(dir, ":"), dir);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

void
verdict_write(unsigned long gen, int ok, char *const *msgs, size_t nmsgs)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *fp;

	if (verdict_path(path, sizeof path) == -1)
		return;
	snprintf(tmp, sizeof tmp, "%s.new", path);
	/* written beside and renamed over: the waiting client never reads half a verdict */
	if ((fp = fopen(tmp, "w")) == NULL) {
		log_warn("cannot write %s: %s (systemctl reload will time out)", tmp, strerror(errno));
		return;
	}
	fprintf(fp, "%lu %s\n", gen, ok ? "ok" : "failed");
	for (size_t i = 0; i < nmsgs; i++)
		fprintf(fp, "%s\n", msgs[i]);
	if (fclose(fp) == EOF || rename(tmp, path) == -1) {
		log_warn("cannot write %s: %s (systemctl reload will time out)", path, strerror(errno));
		unlink(tmp);
	}
}

/* The verdict's first line; returns 0 and sets *gen and *ok, -1 when there is none yet. */
static int
verdict_read(const char *path, unsigned long *gen, int *ok, FILE **rest)
{
	char first[64], word[16];
	FILE *fp = fopen(path, "r");

	if (fp == NULL)
		return -1;
	if (fgets(first, sizeof first, fp) == NULL || sscanf(first, "%lu %15s", gen, word) != 2) {
		fclose(fp);
		return -1;
	}
	*ok = strcmp(word, "ok") == 0;
	if (rest != NULL)
		*rest = fp;
	else
		fclose(fp);
	return 0;
}

int
verdict_reload_main(const char *pidarg)
{
	char path[PATH_MAX], line[2048];
	unsigned long gen0 = 0, gen;
	int have0, ok;
	char *end;
	long pid;
	FILE *rest;
	struct timespec tick = { 0, 50 * 1000 * 1000 };

	errno = 0;
	pid = strtol(pidarg, &end, 10);
	if (errno != 0 || *end != '\0' || pid <= 1) {
		fprintf(stderr, "krbwatch --reload: \"%s\" is not a process id "
		    "(the unit passes $MAINPID)\n", pidarg);
		return 2;
	}
	if (verdict_path(path, sizeof path) == -1) {
		fprintf(stderr, "krbwatch --reload: RUNTIME_DIRECTORY is not set: it is meant for "
		    "the unit's ExecReload= (RuntimeDirectory=krbwatch); elsewhere send SIGHUP\n");
		return 2;
	}
	have0 = verdict_read(path, &gen0, &ok, NULL) == 0;
	if (kill((pid_t)pid, SIGHUP) == -1) {
		fprintf(stderr, "krbwatch --reload: cannot signal %ld: %s\n", pid, strerror(errno));
		return 1;
	}
	for (int waited = 0; waited < WAIT_MS; waited += 50) {
		if (verdict_read(path, &gen, &ok, &rest) == 0) {
			if (!have0 || gen != gen0) {
				while (fgets(line, sizeof line, rest) != NULL)
					fputs(line, stderr);
				fclose(rest);
				if (ok)
					return 0;
				fprintf(stderr, "krbwatch --reload: the configuration was rejected; "
				    "krbwatch keeps running the previous one\n");
				return 1;
			}
			fclose(rest);
		}
		if (kill((pid_t)pid, 0) == -1 && errno == ESRCH) {
			fprintf(stderr, "krbwatch --reload: process %ld ended before it answered\n", pid);
			return 1;
		}
		nanosleep(&tick, NULL);
	}
	fprintf(stderr, "krbwatch --reload: no verdict in %s within %d s\n", path, WAIT_MS / 1000);
	return 1;
}
