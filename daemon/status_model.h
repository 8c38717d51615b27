/*
 * The one model of the status page and /status.json: per Region its verdict and one row per
 * subject (cluster, endpoint, instance, global writer; a DNS question or a KDC only while it
 * fails), one cell per hop, each cell ok / failing (reason, words, what to check) / not reached,
 * and each row's recent past (history.h).  Built from the jobs' last results when a body is
 * rendered (status_render_cached); it borrows every string from those results and the
 * configuration, and owns only its arrays.
 */
#ifndef KRBWATCH_STATUS_MODEL_H
#define KRBWATCH_STATUS_MODEL_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "../conf/config.h"
#include "../probes/result.h"
#include "history.h"

struct kwd;

enum status_state {
	ST_NONE,		/* not this row's hop */
	ST_OK,
	ST_FAILING,
	ST_NOT_REACHED,		/* an earlier hop of the row broke */
	ST_PENDING		/* no run yet */
};

/* "none", "ok", "failing", "not_reached", "pending": /status.json's values. */
const char *status_state_name(enum status_state);

/* One job's last result, the model's input. */
struct status_job {
	const char *region;
	const char *probe;			/* the kind: "dns", "kdc", "chain", ... */
	const char *cluster;			/* NULL: one job per Region */
	const struct probe_result *result;	/* NULL: no run yet */
	time_t finished;			/* the last run's end */
};

struct status_cell {
	enum status_state state;
	enum kw_reason reason;			/* KW_OK unless failing */
	const char *detail;			/* "" when none; a server's text: escape it */
	const struct hop_cell *hc;		/* the cell's figures; NULL for a job's verdict */
	int shared;				/* the Region's DNS or KDC verdict, not the row's own */
};

struct status_row {
	const struct status_job *job;
	const struct result_row *row;		/* NULL: the job's verdict (a kind without rows) */
	const char *kind;			/* "cluster", "endpoint", "instance", "global", "dns",
						   "kdc", or "probe" for a job's verdict */
	char label[192];
	enum status_state state;		/* ok, failing or pending */
	enum kw_reason reason;			/* of the first failing cell */
	enum kw_hop hop;			/* that cell's, KW_HOP_COUNT if none */
	struct status_cell cell[KW_HOP_COUNT];
	const struct history_entry *hist;	/* NULL: no past yet */
};

struct status_region {
	const char *name;
	enum status_state state;		/* failing if a row fails, pending before a result */
	struct status_row *rows;		/* the matrix, in order */
	size_t nrows;
	size_t nsubjects, nfailing;		/* login rows (cluster, endpoint, ...), and failing */
	size_t ndns, nkdc;			/* DNS questions and KDCs looked at, failing or not */
	struct status_cell shared[2];		/* the Region's DNS and KDC verdicts */
	time_t since;				/* failing: the oldest failing row's start; else the
						   latest change; 0 unknown */
	time_t last_ok;				/* failing: the oldest last success of a failing row */
};

struct status_model {
	const char *version, *config;
	time_t now;
	unsigned refresh_s;			/* the page reloads itself this often */
	int ok;					/* every Region ok */
	char summary[1024];			/* results_summary() */
	char held[300];				/* the identity held back: why; "" if not */
	struct status_region *regions;
	size_t nregions;
	/* owned: what from_kwd builds the jobs from */
	struct status_job *jobs;
	size_t njobs;
};

/*
 * The model of njobs jobs of conf's Regions, with their past from h (NULL: none).  Borrows the
 * jobs' results; free with status_model_free.  version, config and summary are the caller's.
 */
void status_model_build(struct status_model *, const struct kw_config *,
    const struct status_job *, size_t njobs, const struct history *, time_t now);
/* The running daemon's model. */
void status_model_from_kwd(struct status_model *, struct kwd *);
void status_model_free(struct status_model *);

/* The page (status_page.c) and /status.json (status_json.c, its fields in krbwatch(8)). */
void status_page_write(const struct status_model *, FILE *);
void status_json_write(const struct status_model *, FILE *);
/* A Region's rows as /status.json has them, for `krbwatch probe --json` (probe_cmd.c). */
void status_json_rows(FILE *, const struct status_region *);

/* The words of a failing cell, from daemon/explain.c: NULL when none fit. */
const char *status_means(enum kw_hop, enum kw_reason);
const char *status_check(enum kw_hop, enum kw_reason);

#endif
