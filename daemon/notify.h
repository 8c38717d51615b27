/*
 * systemd's side of the daemon, kept thin: readiness, reloads, stopping, the one-line status,
 * and the watchdog ping from a loop timer (so a stuck loop stops pinging).  All calls are
 * no-ops when NOTIFY_SOCKET is not set.
 */
#ifndef KRBWATCH_NOTIFY_H
#define KRBWATCH_NOTIFY_H

struct kwd;

void notify_ready(const char *status);
void notify_reloading(void);
void notify_stopping(void);
void notify_status(const char *status);
/* Arms the WATCHDOG=1 timer at half of WATCHDOG_USEC when systemd asked for it. */
int notify_watchdog_start(struct kwd *);

#endif
