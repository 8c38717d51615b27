/*
 * The lockout budget of the monitoring identity (lockout.h), the process's view: the keytab's
 * fingerprint, the configuration in use, and the one reservation in flight.  The rules are
 * lockout_budget.c's, the state file lockout_store.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../conf/config.h"
#include "../lib/log.h"
#include "lockout.h"

#define KEYTAB_MAX_BYTES (1024 * 1024)	/* a keytab is a few hundred bytes; this stops a wrong path */
#define STORE_LOCK_TRIES 200		/* x 1 ms: another krbwatch holds the lock for a write at most */

/* ---- the process's view ------------------------------------------------------------------ */

static struct {
	char principal[256];
	char keytab[4096];
	char dir[4096];			/* "" : memory only */
	unsigned max;
	time_t window;
	/* the keytab as last hashed */
	struct stat kst;
	int kst_ok;
	char fp[65];
	int started;			/* the state file was loaded once */
	struct lk_table table;		/* memory only, or the file's content as last loaded */
	/* the one reservation in flight */
	int inflight;
	time_t inflight_at;
	char inflight_principal[256], inflight_fp[65];
	/* words of the last failure that held the identity (memory only: may carry e-text) */
	char detail[200];
} lk;

static int
pid_alive(long pid)
{
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

static struct lk_budget
budget(void)
{
	struct lk_budget b = { lk.max, lk.window, (long)getpid(), pid_alive };
	return b;
}

static int
same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* SHA-256 of the file, its first 128 bits in hex; "unreadable" when it cannot be read (then no AS-REQ can prove a key). */
static void
keytab_fingerprint(const char *path, char *fp, size_t len)
{
	unsigned char *buf, md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	size_t have = 0;
	ssize_t n;
	int fd;

	snprintf(fp, len, "unreadable");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	buf = malloc(KEYTAB_MAX_BYTES);
	while (buf != NULL && have < KEYTAB_MAX_BYTES &&
	    ((n = read(fd, buf + have, KEYTAB_MAX_BYTES - have)) > 0 || (n == -1 && errno == EINTR)))
		if (n > 0)
			have += (size_t)n;
	close(fd);
	/*
	 * 128 bits of the digest tell keytabs apart; a full 256-bit hex run would look like key
	 * material to anyone (or any scanner) reading the state file or a log.
	 */
	if (buf != NULL && EVP_Digest(buf, have, md, &mdlen, EVP_sha256(), NULL) == 1) {
		for (unsigned i = 0; i < mdlen && i < 16 && 2 * i + 2 < len; i++)
			snprintf(fp + 2 * i, len - 2 * i, "%02x", md[i]);
	}
	/* the buffer held the keys: wipe it before it goes back to the allocator */
	if (buf != NULL)
		OPENSSL_cleanse(buf, KEYTAB_MAX_BYTES);
	free(buf);
}

/* Stat first; read and hash only when the stat moved (a rename over it changes the inode). */
static void
keytab_check(void)
{
	struct stat st;
	char fp[65];

	if (stat(lk.keytab, &st) == -1) {
		lk.kst_ok = 0;
		snprintf(lk.fp, sizeof lk.fp, "unreadable");
		return;
	}
	if (lk.kst_ok && same_stat(&st, &lk.kst))
		return;
	keytab_fingerprint(lk.keytab, fp, sizeof fp);
	if (lk.kst_ok && strcmp(fp, lk.fp) != 0)
		log_notice("the keytab %s changed on disk (sha256 %.12s...): a fresh lockout budget, "
		    "the next AS exchange tries the new key", lk.keytab, fp);
	lk.kst = st;
	lk.kst_ok = 1;
	snprintf(lk.fp, sizeof lk.fp, "%s", fp);
}

static void
store_load(void)
{
	struct lk_table t;

	if (lk.dir[0] == '\0' || (!lks_changed(lk.dir) && lk.started))
		return;
	memset(&t, 0, sizeof t);
	if (lks_load(lk.dir, &t) == 0)
		lk.table = t;
}

/*
 * Runs fn on the current table under the state file's lock, then writes it back when fn says
 * it changed something (a Region polling while another exchange runs writes nothing).
 */
static int
store_update(int (*fn)(struct lk_table *, void *), void *arg, int wait)
{
	int fd = -1, rc = 0;

	if (lk.dir[0] != '\0') {
		for (int i = 0; (fd = lks_lock(lk.dir)) == -2 && wait && i < STORE_LOCK_TRIES; i++) {
			struct timespec ms = { 0, 1000000 };
			nanosleep(&ms, NULL);
		}
		if (fd == -2)
			return -2;
		if (fd == -1) {
			log_warn("lockout state in %s: cannot lock: %s", lk.dir, strerror(errno));
			return -1;
		}
		memset(&lk.table, 0, sizeof lk.table);
		if (lks_load(lk.dir, &lk.table) == -1)
			memset(&lk.table, 0, sizeof lk.table);
	}
	int changed = fn(&lk.table, arg);
	if (lk.dir[0] != '\0') {
		if (changed)
			rc = lks_save(lk.dir, &lk.table);
		lks_unlock(fd);
	}
	return rc;
}

static struct lk_record *
current(int create)
{
	struct lk_budget b = budget();
	struct lk_record *r = lk_find(&lk.table, lk.principal, lk.fp, create, time(NULL));

	if (r != NULL)
		lk_normalize(r, &b, time(NULL));
	return r;
}

static int
forget_own_pending(struct lk_table *t, void *arg)
{
	long self = (long)getpid();

	(void)arg;
	/* nothing is in flight at start: a pending attempt under our pid is a dead namesake's */
	for (size_t i = 0; i < t->n; i++)
		for (size_t a = 0; a < t->rec[i].n; a++)
			if (t->rec[i].attempts[a].pid == self)
				t->rec[i].attempts[a].pid = 0;
	return 1;
}

void
lockout_use(const struct kw_config *conf)
{
	const char *dir = conf->state_directory ? conf->state_directory : "";

	if (strcmp(lk.principal, conf->principal) != 0 || strcmp(lk.keytab, conf->keytab) != 0) {
		snprintf(lk.principal, sizeof lk.principal, "%s", conf->principal);
		snprintf(lk.keytab, sizeof lk.keytab, "%s", conf->keytab);
		lk.kst_ok = 0;
		lk.detail[0] = '\0';
	}
	if (strcmp(lk.dir, dir) != 0) {
		snprintf(lk.dir, sizeof lk.dir, "%s", dir);
		lk.started = 0;
		memset(&lk.table, 0, sizeof lk.table);
		if (*dir == '\0')
			log_notice("no state_directory: the lockout budget of %s is kept in memory only "
			    "(a restart forgets it)", conf->principal);
	}
	lk.max = conf->max_failed_attempts;
	lk.window = (time_t)(conf->lockout_window_ms / 1000);
	keytab_check();
	if (lk.dir[0] != '\0' && !lk.started)
		store_update(forget_own_pending, NULL, 1);
	store_load();
	lk.started = 1;
}

static int
lift_hold(struct lk_table *t, void *arg)
{
	struct lk_record *r;

	(void)t;
	(void)arg;
	if ((r = current(0)) != NULL && r->held_until != 0) {
		log_notice("reload: %s may try its key again (%zu of %u attempts of the window used)",
		    lk.principal, lk_counted(r), lk.max);
		r->held_until = 0;
	}
	return 1;
}

void
lockout_reloaded(void)
{
	if (lk.principal[0] != '\0')
		store_update(lift_hold, NULL, 1);
}

static void
words(const struct lk_record *r, enum lockout_verdict v, time_t until, char *why, size_t len)
{
	time_t now = time(NULL);
	long long left = until > now ? (long long)(until - now) : 0;
	char at[32];
	struct tm tm;

	if (v == LOCKOUT_HELD && r->held_until != 0) {
		gmtime_r(&r->held_since, &tm);
		strftime(at, sizeof at, "%H:%M:%S UTC", &tm);
		snprintf(why, len, "held back: the KDC answered %s at %s%s%.120s%s; no AS exchange with "
		    "this keytab (sha256 %.12s) until it changes on disk, a reload, or %lld s "
		    "(identity.lockout_window): fix the keytab", reason_name(r->reason), at,
		    lk.detail[0] ? " (" : "", lk.detail, lk.detail[0] ? ")" : "", r->fp, left);
	} else if (v == LOCKOUT_HELD) {
		snprintf(why, len, "held back: %zu AS exchange%s with pre-authentication in the last "
		    "%lld s failed or got no answer (last: %s), as many as identity.max_failed_attempts "
		    "allows; the next in %lld s unless the keytab changes on disk", lk_counted(r),
		    lk_counted(r) == 1 ? "" : "s", (long long)lk.window,
		    r->reason != KW_OK ? reason_name(r->reason) : "timeout", left);
	} else {
		snprintf(why, len, "waiting for another AS exchange of %s to end (another Region's, "
		    "or krbwatch probe's)", lk.principal);
	}
}

double
lockout_held(enum kw_reason *reason, char *why, size_t len)
{
	struct lk_budget b = budget();
	struct lk_record *r = current(0);
	time_t until;

	why[0] = '\0';
	if (r == NULL || lk_verdict(r, &b, time(NULL), &until) != LOCKOUT_HELD)
		return 0;
	/* the budget spent: the last answer that judged the key, else the silence */
	*reason = r->reason != KW_OK ? r->reason : KW_R_TIMEOUT;
	words(r, LOCKOUT_HELD, until, why, len);
	return (double)(until - time(NULL));
}

struct reserve_arg {
	double deadline_s;
	enum lockout_verdict v;
	time_t until;
	char *why;
	size_t len;
};

static int
do_reserve(struct lk_table *t, void *arg)
{
	struct reserve_arg *a = arg;
	struct lk_budget b = budget();
	struct lk_record *r;
	time_t now = time(NULL);

	(void)t;
	r = current(1);
	a->v = lk_verdict(r, &b, now, &a->until);
	if (a->v == LOCKOUT_GO) {
		/* expires: when a crash would leave it pending, it becomes counted */
		lk_reserve(r, &b, now, now + (time_t)a->deadline_s + 2);
		lk.inflight = 1;
		lk.inflight_at = now;
		snprintf(lk.inflight_principal, sizeof lk.inflight_principal, "%s", lk.principal);
		snprintf(lk.inflight_fp, sizeof lk.inflight_fp, "%s", lk.fp);
		return 1;
	}
	words(r, a->v, a->until, a->why, a->len);
	return 0;
}

enum lockout_verdict
lockout_reserve(double deadline_s, char *why, size_t len)
{
	struct reserve_arg a = { deadline_s, LOCKOUT_HELD, 0, why, len };
	int rc;

	why[0] = '\0';
	if (lk.inflight) {
		/* one at a time: this one learns from the other's answer before it sends its own */
		snprintf(why, len, "waiting for another AS exchange of %s to end (another Region's)",
		    lk.principal);
		return LOCKOUT_WAIT;
	}
	/* the key in the request was read from the keytab in this turn of the loop: hash that one */
	keytab_check();
	rc = store_update(do_reserve, &a, 0);
	if (rc == -2) {
		snprintf(why, len, "waiting for the lockout state in %s (krbwatch probe is writing it)",
		    lk.dir);
		return LOCKOUT_WAIT;
	}
	if (rc == -1) {
		/* an attempt that cannot be recorded is not sent: a restart would not know of it */
		lk.inflight = 0;
		snprintf(why, len, "held back: the lockout state in %s cannot be locked or written "
		    "(see the log)", lk.dir);
		return LOCKOUT_HELD;
	}
	return a.v;
}

struct end_arg {
	enum lockout_outcome o;
	enum kw_reason reason;
};

static int
do_end(struct lk_table *t, void *arg)
{
	struct end_arg *a = arg;
	struct lk_budget b = budget();
	struct lk_record *r = lk_find(t, lk.inflight_principal, lk.inflight_fp, 1, time(NULL));

	lk_normalize(r, &b, time(NULL));
	if (a->o == LOCKOUT_SUCCESS && (r->n > 1 || r->held_until))
		log_notice("%s got a TGT: its lockout budget is whole again", lk.inflight_principal);
	lk_end(r, &b, time(NULL), lk.inflight_at, a->o, a->reason);
	if (a->o == LOCKOUT_KEY_FAILED)
		log_warn("%s for %s (keytab sha256 %.12s): no AS exchange with this keytab until it "
		    "changes, a reload, or %lld s", reason_name(a->reason), lk.inflight_principal,
		    lk.inflight_fp, (long long)b.window);
	else if (a->o == LOCKOUT_MAYBE)
		log_warn("an AS exchange of %s got no answer: counted as a failed attempt (%zu of %u "
		    "in the window)", lk.inflight_principal, lk_counted(r), b.max);
	return 1;
}

void
lockout_end(enum lockout_outcome o, enum kw_reason reason, const char *detail)
{
	struct end_arg a = { o, reason };

	if (!lk.inflight)
		return;
	if (o == LOCKOUT_KEY_FAILED)
		snprintf(lk.detail, sizeof lk.detail, "%s", detail ? detail : "");
	if (store_update(do_end, &a, 1) != 0)
		log_warn("the outcome of the AS exchange of %s is not recorded in %s: it stays "
		    "counted", lk.inflight_principal, lk.dir);
	lk.inflight = 0;
}

static int
do_locked(struct lk_table *t, void *arg)
{
	enum kw_reason *reason = arg;
	struct lk_budget b = budget();
	struct lk_record *r;

	(void)t;
	r = current(1);
	if (r->held_until == 0)
		log_warn("%s for %s: no AS exchange until the keytab changes, a reload, or %lld s",
		    reason_name(*reason), lk.principal, (long long)b.window);
	r->held_since = time(NULL);
	r->held_until = r->held_since + b.window;
	r->reason = *reason;
	return 1;
}

void
lockout_note_locked(enum kw_reason reason, const char *detail)
{
	snprintf(lk.detail, sizeof lk.detail, "%s", detail ? detail : "");
	store_update(do_locked, &reason, 1);
}

double
lockout_backoff_seconds(void)
{
	enum kw_reason r;
	char why[8];
	double s = lockout_held(&r, why, sizeof why);

	return s > 0 ? s : 0;
}

void
lockout_summary(char *buf, size_t len)
{
	enum kw_reason r = KW_OK;
	char why[8];
	double s = lockout_held(&r, why, sizeof why);

	buf[0] = '\0';
	if (s > 0)
		snprintf(buf, len, "identity %s held back %.0f s (%s): fix the keytab", lk.principal, s,
		    reason_name(r));
}
