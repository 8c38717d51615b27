/*
 * The lockout state file: STATE_DIRECTORY/lockout.state, a few lines of text (counts, times, the
 * keytab's SHA-256, a reason; never a key), so that a restart, a watchdog kill or
 * Restart=on-failure does not give the budget back, and so that `krbwatch probe` and the daemon
 * share one budget.
 *
 * Every change is a read-modify-write under flock(2) on lockout.lock (the state file itself is
 * replaced by rename, so it cannot carry the lock), written atomically: a temporary file,
 * fsync, rename, fsync of the directory.  This is the one blocking write on the loop, a few
 * hundred bytes at most twice per AS exchange with pre-authentication: the reservation must be
 * on disk before the request leaves.  A file made by root (krbwatch probe run with sudo) is given
 * to the directory's owner, so that the daemon can still read and replace it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/log.h"
#include "lockout.h"

#define STATE_FILE "lockout.state"
#define LOCK_FILE "lockout.lock"
#define STATE_MAX_BYTES 65536

static struct stat seen;		/* the state file as last loaded or saved */
static int seen_ok;

static void
path_of(const char *dir, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name);
}

/* A file root makes here belongs to the directory's owner, as if the daemon had made it. */
static void
give_to_owner(const char *dir, int fd)
{
	struct stat d;

	if (geteuid() != 0 || stat(dir, &d) == -1 || d.st_uid == 0)
		return;
	if (fchown(fd, d.st_uid, d.st_gid) == -1)
		log_warn("lockout state in %s: chown to uid %u: %s", dir, (unsigned)d.st_uid,
		    strerror(errno));
}

int
lks_lock(const char *dir)
{
	char path[4200];
	int fd;

	path_of(dir, LOCK_FILE, path, sizeof path);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1)
		return -1;
	give_to_owner(dir, fd);
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		int e = errno;
		close(fd);
		errno = e;
		return e == EWOULDBLOCK ? -2 : -1;
	}
	return fd;
}

void
lks_unlock(int fd)
{
	if (fd >= 0)
		close(fd);	/* closing drops the flock */
}

static enum kw_reason
reason_by_name(const char *s)
{
	for (int r = 0; r < KW_R_COUNT; r++)
		if (strcmp(reason_name((enum kw_reason)r), s) == 0)
			return (enum kw_reason)r;
	return KW_R_PREAUTH_FAILED;
}

int
lks_changed(const char *dir)
{
	char path[4200];
	struct stat st;

	path_of(dir, STATE_FILE, path, sizeof path);
	if (stat(path, &st) == -1)
		return seen_ok;		/* gone since: that is a change too */
	return !seen_ok || st.st_ino != seen.st_ino || st.st_dev != seen.st_dev ||
	    st.st_size != seen.st_size || st.st_mtim.tv_sec != seen.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != seen.st_mtim.tv_nsec;
}

int
lks_load(const char *dir, struct lk_table *t)
{
	char path[4200], line[512];
	struct lk_record *r = NULL;
	int lineno = 0;
	FILE *fp;

	memset(t, 0, sizeof *t);
	path_of(dir, STATE_FILE, path, sizeof path);
	if ((fp = fopen(path, "re")) == NULL) {
		seen_ok = 0;
		if (errno == ENOENT)
			return 0;		/* nothing recorded yet */
		log_warn("lockout state %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(fp), &seen) == 0)
		seen_ok = 1;
	while (fgets(line, sizeof line, fp) != NULL) {
		char principal[256], fp_hex[65], reason[32];
		long long a, b, c;
		long pid;

		lineno++;
		if (line[0] == '#' || line[0] == '\n' || strncmp(line, "krbwatch-lockout 1", 18) == 0)
			continue;
		if (sscanf(line, "identity %255s %64s %lld %lld %31s", principal, fp_hex, &a, &b,
		    reason) == 5) {
			if (t->n == LK_MAX_RECORDS) {
				r = NULL;
				continue;
			}
			r = &t->rec[t->n++];
			snprintf(r->principal, sizeof r->principal, "%s", principal);
			snprintf(r->fp, sizeof r->fp, "%s", fp_hex);
			r->held_until = (time_t)a;
			r->held_since = (time_t)b;
			r->reason = reason_by_name(reason);
		} else if (sscanf(line, "attempt %lld %ld %lld", &a, &pid, &c) == 3) {
			if (r == NULL || r->n == sizeof r->attempts / sizeof r->attempts[0])
				continue;
			r->attempts[r->n].at = (time_t)a;
			r->attempts[r->n].pid = pid;
			r->attempts[r->n].expires = (time_t)c;
			r->n++;
		} else {
			/* a damaged file must not give the budget back: say so, keep what was read */
			log_warn("lockout state %s:%d: cannot read this line, skipped", path, lineno);
		}
	}
	fclose(fp);
	return 0;
}

int
lks_save(const char *dir, const struct lk_table *t)
{
	char path[4200], tmp[4300];
	FILE *fp;
	int fd, dfd;

	path_of(dir, STATE_FILE, path, sizeof path);
	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1) {
		log_warn("lockout state %s: %s", tmp, strerror(errno));
		return -1;
	}
	give_to_owner(dir, fd);
	if ((fp = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	fprintf(fp, "# krbwatch: the lockout budget of the monitoring identity (krbwatch.yml(5),\n"
	    "# identity.max_failed_attempts).  Counts and times, the keytab's SHA-256; no key.\n"
	    "krbwatch-lockout 1\n");
	for (size_t i = 0; i < t->n; i++) {
		const struct lk_record *r = &t->rec[i];
		fprintf(fp, "identity %s %s %lld %lld %s\n", r->principal, r->fp,
		    (long long)r->held_until, (long long)r->held_since, reason_name(r->reason));
		for (size_t a = 0; a < r->n; a++)
			fprintf(fp, "attempt %lld %ld %lld\n", (long long)r->attempts[a].at,
			    r->attempts[a].pid, (long long)r->attempts[a].expires);
	}
	if (fflush(fp) != 0 || fsync(fileno(fp)) == -1 || ferror(fp)) {
		log_warn("lockout state %s: write: %s", tmp, strerror(errno));
		fclose(fp);
		unlink(tmp);
		return -1;
	}
	fclose(fp);
	if (rename(tmp, path) == -1) {
		log_warn("lockout state %s: rename: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	/* the rename itself is durable only once the directory is */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(dfd);
		close(dfd);
	}
	struct stat st;
	if (stat(path, &st) == 0) {
		seen = st;
		seen_ok = 1;
	}
	return 0;
}
