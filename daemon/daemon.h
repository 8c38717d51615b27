/*
 * The process: one event base, the running configuration, the metrics registry, the HTTP
 * listener and the scheduled probes.  Everything here lives on the one loop.
 */
#ifndef KRBWATCH_DAEMON_H
#define KRBWATCH_DAEMON_H

#include <time.h>

#include "kwd.h"

/* Runs the daemon on a loaded configuration until SIGTERM/SIGINT; returns the exit code. */
int daemon_run(const char *conf_path, struct kw_config *conf);

/* Creates the registry with the process's own families and every probe kind's. */
void daemon_register_metrics(struct kwd *);

#endif
