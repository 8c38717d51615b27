/*
 * The process metrics every Prometheus client library exports (process_cpu_seconds_total,
 * process_resident_memory_bytes, process_virtual_memory_bytes, process_open_fds,
 * process_max_fds, process_start_time_seconds), with the HELP texts of client_golang, so that
 * dashboards and rules written for any exporter work on krbwatch too.  Read from /proc/self on
 * every scrape: the unit's ProcSubset=pid and ProtectProc=invisible leave /proc/self readable.
 */
#ifndef KRBWATCH_PROCESS_METRICS_H
#define KRBWATCH_PROCESS_METRICS_H

struct metrics;

/* Registers the families, records the start time (now) and hooks the scrape-time refresh. */
void process_metrics_init(struct metrics *);

#endif
