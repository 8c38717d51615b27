/*
 * The probes' side of the one way up (probe.h): a run ends in one probe_done(job, result),
 * handed to the daemon through job->sink; the one way every kind ends (cancel, deadline,
 * finish); and the result's copy and release, for whoever keeps one (the daemon keeps the
 * last per job).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "../lib/xmalloc.h"
#include "probe.h"

void
probe_done(struct probe_job *j, const struct probe_result *r)
{
	j->sink->done(j, r);
}

void
probe_end(struct probe_job *j, enum kw_reason reason, const char *fmt, ...)
{
	struct probe_result r;
	va_list ap;

	memset(&r, 0, sizeof r);
	r.reason = reason;
	va_start(ap, fmt);
	vsnprintf(r.detail, sizeof r.detail, fmt, ap);
	va_end(ap);
	probe_done(j, &r);
}

void
probe_cancel(struct probe_job *j)
{
	void *run = j->run;

	if (run == NULL)
		return;
	j->run = NULL;
	j->ops->release(run);
}

void
probe_finish(struct probe_job *j)
{
	struct probe_result r;

	memset(&r, 0, sizeof r);
	j->ops->result(j->run, &r);
	probe_cancel(j);
	probe_done(j, &r);
	probe_result_free(&r);
}

void
probe_expire(struct probe_job *j)
{
	if (j->run == NULL) {
		probe_end(j, KW_R_TIMEOUT, "no answer within the %llu ms deadline",
		    (unsigned long long)j->conf->timeout_ms);
		return;
	}
	if (j->ops->timeout != NULL)
		j->ops->timeout(j->run);
	probe_finish(j);
}

static void
finish_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	probe_finish(arg);
}

struct event *
probe_finish_event(struct probe_job *j)
{
	return event_new(probe_base(j), -1, 0, finish_cb, j);
}

void
probe_result_copy(struct probe_result *dst, const struct probe_result *src)
{
	struct result_row *rows = dst->rows;

	*dst = *src;
	dst->rows = NULL;
	if (src->nrows > 0) {
		rows = xreallocarray(rows, src->nrows, sizeof *rows);
		memcpy(rows, src->rows, src->nrows * sizeof *rows);
		dst->rows = rows;
	} else
		free(rows);
}

struct result_row *
probe_result_add(struct probe_result *r, enum row_kind kind)
{
	struct result_row *row;

	r->rows = xreallocarray(r->rows, r->nrows + 1, sizeof *r->rows);
	row = &r->rows[r->nrows++];
	memset(row, 0, sizeof *row);
	row->kind = kind;
	for (int h = 0; h < KW_HOP_COUNT; h++)
		row->hop[h].kvno = -1;
	return row;
}

void
probe_result_free(struct probe_result *r)
{
	free(r->rows);
	r->rows = NULL;
	r->nrows = 0;
}
