/*
 * The probe kinds' own series, written by the daemon alone from each run's result
 * (probes/result.h): the families in kind_metrics.c's one table, written by one file per kind
 * (metrics_dns.c, metrics_kdc.c, metrics_chain.c), one row per kind in kind_metrics.c's kinds[].
 * The families live in the daemon's state (kwd.kinds), made with the registry and gone with it.
 * The names and labels are a contract (DESIGN.md, monitoring/): never renamed.
 */
#ifndef KRBWATCH_KIND_METRICS_H
#define KRBWATCH_KIND_METRICS_H

#include "../probes/result.h"

struct metrics;
struct mfamily;
struct probe_job;
struct probe_result;

struct kind_metrics {
	struct {
		struct mfamily *success, *duration, *records, *failures;
	} dns;
	struct {
		struct mfamily *up, *rtt, *skew, *failures;
	} kdc;
	struct {
		struct mfamily *success, *duration, *last_success, *failures, *enctype, *kvno;
		struct mfamily *login_success, *region_up, *backoff, *announced;
	} chain;
	struct {		/* the chain's endpoints: metrics_endpoints.c */
		struct mfamily *inst_success, *inst_failures, *addrs;
		struct mfamily *info, *dns_success, *changes, *changed, *ttl, *login, *secondary;
	} endpoints;
};

/* Registers every kind's families, in the order of probe_table (one table). */
void kind_metrics_init(struct kind_metrics *, struct metrics *);

/* Writes the series of job's kind from its run's result (a kind without a row: nothing). */
void kind_metrics_write(struct kind_metrics *, const struct probe_job *,
    const struct probe_result *);

/*
 * Drops the Region's series of each gauge of the list before a kind writes them again from its
 * run's rows, all at once (no scrape comes in between on this one thread): a resolver, a name
 * or a KDC that a reload or DNS took away does not linger, and a run without rows leaves none.
 */
void kind_gauges_drop(const char *region, struct mfamily *const *gauges, size_t n);
#define kind_gauges_fresh(region, ...) kind_gauges_drop(region, \
    (struct mfamily *const[]){ __VA_ARGS__ }, \
    sizeof((struct mfamily *const[]){ __VA_ARGS__ }) / sizeof(struct mfamily *))

/* fn on each row of the kind whose hop ran, with that hop's cell (DNS's lookups, KDC's targets). */
typedef void kind_row_fn(struct kind_metrics *, const char *region, const struct result_row *,
    const struct hop_cell *);
void kind_rows_ran(struct kind_metrics *, const char *region, const struct probe_result *,
    enum row_kind, enum kw_hop, kind_row_fn *fn);

/* metrics_dns.c, metrics_kdc.c, metrics_chain.c: the rows of kind_metrics.c's kinds[] */
void metrics_dns_write(struct kind_metrics *, const struct probe_job *, const struct probe_result *);
void metrics_kdc_write(struct kind_metrics *, const struct probe_job *, const struct probe_result *);
void metrics_chain_write(struct kind_metrics *, const struct probe_job *,
    const struct probe_result *);
/* The identity's back-off now: after a reload too, not only at the next chain run's end. */
void metrics_chain_identity(struct kind_metrics *);
/* the chain's reader and global endpoints (ROW_ENDPOINT, ROW_INSTANCE, ROW_GLOBAL) */
void metrics_endpoints_write(struct kind_metrics *, const struct probe_job *,
    const struct probe_result *);

#endif
