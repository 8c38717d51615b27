/*
 * The daemon's verdict on a reload, for `systemctl reload` to wait for.  Under systemd the unit
 * gives krbwatch a RuntimeDirectory=; after every reload the daemon writes
 * $RUNTIME_DIRECTORY/reload.verdict ("GENERATION ok|failed", then the errors, one a line), and
 * `krbwatch --reload PID` (the unit's ExecReload=) sends SIGHUP to PID and waits until the
 * generation changes, exiting 0 or 1 with the daemon's own verdict.  So a bad edit fails the
 * reload job AND reaches the daemon, which keeps the old configuration and sets
 * krbwatch_config_last_reload_success 0: the unit and the KrbwatchConfigReloadFailed alert agree.
 * A check run beside the daemon could not see what only the daemon sees (a busy new listen
 * address, the files through the service's own sandbox).
 */
#ifndef KRBWATCH_RELOAD_VERDICT_H
#define KRBWATCH_RELOAD_VERDICT_H

#include <stddef.h>

/* Writes the verdict of reload number gen (0: the start); a no-op without $RUNTIME_DIRECTORY. */
void verdict_write(unsigned long gen, int ok, char *const *msgs, size_t nmsgs);

/* krbwatch --reload PID: returns the exit code (0 applied, 1 rejected or no verdict). */
int verdict_reload_main(const char *pid);

#endif
