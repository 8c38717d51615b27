/*
 * A small Prometheus registry: families with HELP and TYPE, series keyed by label values,
 * rendered in the text exposition format 0.0.4 in a stable order (families as registered,
 * series sorted by their labels).  The rendering is cached until a value changes, so a
 * scrape costs a copy, not a format.
 */
#ifndef KRBWATCH_METRICS_H
#define KRBWATCH_METRICS_H

#include <stddef.h>

#define METRICS_MAX_LABELS 8

enum metric_type { METRIC_GAUGE, METRIC_COUNTER };

struct metrics;
struct mfamily;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *);

/* labels: nlabels names; the family lives as long as the registry. */
struct mfamily *metrics_family(struct metrics *, const char *name, const char *help,
    enum metric_type, size_t nlabels, const char *const *labels);

/* One family of a table (metrics_families): where to put it, and what metrics_family takes. */
struct mfamily_spec {
	struct mfamily **out;
	const char *name, *help;
	enum metric_type type;
	size_t nlabels;
	const char *const *labels;
};

/* Registers every family of the table, in its order. */
void metrics_families(struct metrics *, const struct mfamily_spec *, size_t n);

/* values: one per label of the family. */
void mfamily_set(struct mfamily *, const char *const *values, double v);
void mfamily_add(struct mfamily *, const char *const *values, double v);
/* Returns 1 and the value when the series exists. */
int mfamily_get(struct mfamily *, const char *const *values, double *v);
/* Drops the series whose label `label` equals value (all series when label is NULL). */
void mfamily_drop(struct mfamily *, const char *label, const char *value);

/* Drops the series whose labels equal values wherever values[i] is not NULL. */
void mfamily_drop_match(struct mfamily *, const char *const *values);
/* mfamily_drop on every family that has the label. */
void metrics_drop_label_value(struct metrics *, const char *label, const char *value);

/*
 * fn(arg) runs at the start of every metrics_render(), before the cached text is looked at, so
 * that values read at scrape time (the process's own CPU, memory, descriptors) are current.
 * One hook per registry; NULL removes it.
 */
void metrics_on_render(struct metrics *, void (*fn)(void *), void *arg);

/* The exposition text; valid until the next change to the registry. */
const char *metrics_render(struct metrics *, size_t *len);

/* Label value escaping of the text format, exposed for tests. Returns a malloc'd string. */
char *metrics_escape_label(const char *);

#endif
