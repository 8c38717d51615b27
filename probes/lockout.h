/*
 * Never lock out the monitoring account: a budget of AS exchanges with pre-authentication.
 *
 * A directory counts a failed pre-authentication against the account (AD's badPwdCount, MIT's
 * "Failed password attempts") and locks it at a threshold.  krbwatch sends at most
 * identity.max_failed_attempts pre-authenticated AS-REQs that may have failed per
 * identity.lockout_window, whatever the interval, the number of Regions and KDCs, restarts and
 * `krbwatch probe` runs:
 *
 *   - an attempt is RESERVED (and, with state_directory, written to disk) before the request
 *     leaves, so that a reply that is lost, a crash or a kill still counts it;
 *   - one reservation at a time per identity: a second Region (or krbwatch probe) waits for the
 *     first one's answer instead of sending its own failing attempt;
 *   - a success releases every attempt (the KDC resets its count too), an answer that proves the
 *     KDC did not judge the key (refused, clock skew, ...) releases that one;
 *   - an answer that says the key is wrong or the account locked (preauth_failed, client_revoked)
 *     HOLDS the identity: no AS exchange at all until the keytab changes on disk, a reload, or
 *     the window has passed.
 *
 * The state is kept per principal and keytab fingerprint (SHA-256 of the keytab file), so a new
 * keytab starts fresh and the old one's record stays until its window passed.  Nothing secret is
 * kept or logged: counts, times, the fingerprint, a reason.
 */
#ifndef KRBWATCH_LOCKOUT_H
#define KRBWATCH_LOCKOUT_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "probe.h"

struct kw_config;

enum lockout_verdict {
	LOCKOUT_GO,		/* reserved: send the request, then report its outcome */
	LOCKOUT_WAIT,		/* another exchange of this identity is in flight: ask again soon */
	LOCKOUT_HELD,		/* do not send; why says so */
};

enum lockout_outcome {
	LOCKOUT_SUCCESS,	/* an AS-REP: the key is good, every attempt is released */
	LOCKOUT_NOT_JUDGED,	/* refused, unreachable, or an answer that did not judge the key */
	LOCKOUT_MAYBE,		/* no answer (timeout, lost reply, cancelled): the KDC may have counted it */
	LOCKOUT_KEY_FAILED,	/* preauth_failed, client_revoked: count it and hold */
};

/*
 * The configuration in use: which principal, keytab, state directory, budget.  Called at the
 * start of every chain run (cheap: a stat of the keytab, a read+hash only when the stat
 * changed, the state file read only when its stat changed).
 */
void lockout_use(const struct kw_config *);

/* A reload of the configuration: lifts a hold of the same identity (the budget stays). */
void lockout_reloaded(void);

/*
 * Whether the identity is held back now.  Returns the seconds left (0: not held) and, when
 * held, the reason to report (preauth_failed, client_revoked, timeout) and the words.
 */
double lockout_held(enum kw_reason *, char *why, size_t len);

/*
 * Just before a pre-authenticated AS-REQ leaves.  deadline_s: how long the caller may take to
 * report the outcome (the run's time left).  On LOCKOUT_GO the caller owns the reservation and
 * must end it with lockout_end() exactly once.
 */
enum lockout_verdict lockout_reserve(double deadline_s, char *why, size_t len);
void lockout_end(enum lockout_outcome, enum kw_reason, const char *detail);

/* An answer to a request without pre-authentication that still says "locked" (client_revoked). */
void lockout_note_locked(enum kw_reason, const char *detail);

/* Seconds until an AS exchange may be sent again (krbwatch_identity_backoff_seconds). */
double lockout_backoff_seconds(void);

/* One line for STATUS= and the status page, "" when not held back. */
void lockout_summary(char *buf, size_t len);

/*
 * Whether an AS-REQ (DER) carries pre-authentication that proves knowledge of the key (PA-ENC-
 * TIMESTAMP, encrypted challenge, FAST, or anything unknown: counted to be safe).  1 yes, 0 no;
 * a request that cannot be parsed counts as yes.
 */
int lockout_as_req_has_preauth(const unsigned char *, size_t);

/* ---- the budget itself, pure, for lockout.c, lockout_store.c and the unit tests ----------- */

#define LK_MAX_ATTEMPTS 100	/* identity.max_failed_attempts at most */
#define LK_MAX_RECORDS 8	/* identities (principal + keytab) remembered */

struct lk_attempt {
	time_t at;		/* when it was reserved */
	long pid;		/* 0: counted; else pending in that process ... */
	time_t expires;		/* ... until then (then counted) */
};

struct lk_record {
	char principal[256];
	char fp[65];		/* SHA-256 of the keytab file, first 128 bits, hex */
	time_t held_until;	/* 0: not held */
	time_t held_since;
	enum kw_reason reason;	/* why held */
	struct lk_attempt attempts[LK_MAX_ATTEMPTS + 1];
	size_t n;
};

struct lk_table {
	struct lk_record rec[LK_MAX_RECORDS];
	size_t n;
};

struct lk_budget {
	unsigned max;		/* identity.max_failed_attempts */
	time_t window;		/* identity.lockout_window, seconds */
	long self;		/* this process's pid */
	int (*alive)(long pid);	/* whether a pending attempt's process still runs */
};

struct lk_record *lk_find(struct lk_table *, const char *principal, const char *fp, int create,
    time_t now);
void lk_normalize(struct lk_record *, const struct lk_budget *, time_t now);
enum lockout_verdict lk_verdict(const struct lk_record *, const struct lk_budget *, time_t now,
    time_t *until);
void lk_reserve(struct lk_record *, const struct lk_budget *, time_t now, time_t expires);
void lk_end(struct lk_record *, const struct lk_budget *, time_t now, time_t reserved_at,
    enum lockout_outcome, enum kw_reason);
size_t lk_counted(const struct lk_record *);

/* lockout_store.c: the state file under state_directory, read and written under a lock. */
int lks_lock(const char *dir);			/* fd, -1 error (errno), -2 busy */
void lks_unlock(int fd);
int lks_load(const char *dir, struct lk_table *);	/* 0, or -1 after a log line */
int lks_save(const char *dir, const struct lk_table *);	/* atomically; 0 or -1 after a log line */
int lks_changed(const char *dir);		/* 1 when the file's stat moved since the last load/save */

#endif
