/*
 * The running daemon's status model: its jobs' last results, its history, its summary line and
 * the identity's lockout words (status_model.h).  Built on each request of / or /status.json.
 */
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../probes/lockout.h"
#include "../probes/probe.h"
#include "kwd.h"
#include "results.h"
#include "sched.h"
#include "status_model.h"
#include "status_page.h"
#include "../lib/log.h"
#include "../lib/xmalloc.h"

void
status_model_from_kwd(struct status_model *m, struct kwd *d)
{
	size_t n = d->sched ? d->sched->njobs : 0;
	enum kw_reason why;

	memset(m, 0, sizeof *m);
	m->jobs = xcalloc(n ? n : 1, sizeof *m->jobs);
	for (size_t i = 0; i < n; i++) {
		const struct probe_job *j = d->sched->jobs[i];

		m->jobs[i] = (struct status_job){
			.region = j->region->name,
			.probe = j->ops->name,
			.cluster = j->cluster ? j->cluster->name : NULL,
			.result = results_last(j),
			.finished = j->finished,
		};
	}
	m->njobs = n;
	status_model_build(m, d->conf, m->jobs, n, d->history, time(NULL));
	m->version = KRBWATCH_VERSION;
	m->config = d->conf_path;
	results_summary(d, m->summary, sizeof m->summary);
	if (lockout_held(&why, m->held, sizeof m->held) <= 0)
		m->held[0] = '\0';
}

size_t
status_render(struct kwd *d, enum status_format f, char **out)
{
	struct status_model m;
	size_t len = 0;
	FILE *fp = open_memstream(out, &len);

	if (fp == NULL)
		fatalx("open_memstream: out of memory");
	/* the loop's one thread writes it: no lock per fputs (a page is ~100,000 of them) */
	__fsetlocking(fp, FSETLOCKING_BYCALLER);
	status_model_from_kwd(&m, d);
	if (f == STATUS_JSON)
		status_json_write(&m, fp);
	else
		status_page_write(&m, fp);
	status_model_free(&m);
	if (fclose(fp) != 0)
		fatalx("open_memstream: out of memory");
	return len;
}
