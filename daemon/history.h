/*
 * The recent past, from memory: per subject (a job, or one row of its results: a cluster, an
 * endpoint, a DNS question) the last HISTORY_MARKS runs, when the current state began and the
 * last success.  Fed once per finished run (results.c), read by the status page and
 * /status.json.  Bounded: a fixed ring per subject and at most HISTORY_MAX_SUBJECTS subjects;
 * beyond that the one seen longest ago makes room (a reload that drops clusters leaves its
 * subjects behind until then).  Nothing here survives a restart: on purpose, no disk.
 */
#ifndef KRBWATCH_HISTORY_H
#define KRBWATCH_HISTORY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../probes/result.h"

#define HISTORY_MARKS 60		/* one per run: an hour at the default interval of 1 min */
#define HISTORY_MAX_SUBJECTS 20000	/* some 12 MB when full (HISTORY_MARKS * 8 + 100 each) */

/* One run of one subject. */
struct history_mark {
	uint32_t t;			/* when the run ended, seconds since the epoch (to 2106):
					   8 bytes a mark, not 16 */
	uint8_t reason;			/* enum kw_reason: KW_OK, or why it failed */
	uint8_t hop;			/* enum kw_hop of the first failing cell, KW_HOP_COUNT if none */
};

struct history_entry {
	struct history_mark mark[HISTORY_MARKS];	/* a ring: next is the oldest once full */
	unsigned next, n;
	enum kw_reason state;		/* the last run's */
	time_t since;			/* when the current state began (first seen, or the change) */
	time_t last_ok;			/* 0: never, as far as this process knows */
	time_t seen;			/* the last run */
	char *key;
	struct history_entry *chain;
};

struct history;

struct history *history_new(void);
void history_free(struct history *);

/*
 * One finished run of the job (region, probe, cluster: NULL per Region): a mark for the job and
 * one for each row of the result.  now is the run's end.
 */
void history_record(struct history *, const char *region, const char *probe,
    const char *cluster, const struct probe_result *, time_t now);

/* The subject's past: row NULL for the job itself.  NULL when it has none yet. */
const struct history_entry *history_get(const struct history *, const char *region,
    const char *probe, const char *cluster, const struct result_row *row);

/* The i-th mark, oldest first (i < e->n). */
const struct history_mark *history_mark(const struct history_entry *, unsigned i);

/* How many subjects are held, for tests and the bench. */
size_t history_subjects(const struct history *);

/* A row's verdict: KW_OK, or the reason of its first failing cell (its hop in *hop). */
enum kw_reason history_row_reason(const struct result_row *, enum kw_hop *hop);

#endif
