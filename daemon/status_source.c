/*
 * The running daemon's status model: its jobs' last results, its history, its summary line and
 * the identity's lockout words (status_model.h).  Rendered when a request finds the cached body
 * made from other results, another configuration or another second; else that body is served.
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

static void
model_at(struct status_model *m, struct kwd *d, time_t now)
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
	status_model_build(m, d->conf, m->jobs, n, d->history, now);
	m->version = KRBWATCH_VERSION;
	m->config = d->conf_path;
	results_summary(d, m->summary, sizeof m->summary);
	if (lockout_held(&why, m->held, sizeof m->held) <= 0)
		m->held[0] = '\0';
}

void
status_model_from_kwd(struct status_model *m, struct kwd *d)
{
	model_at(m, d, time(NULL));
}

static size_t
render_at(struct kwd *d, enum status_format f, time_t now, char **out)
{
	struct status_model m;
	size_t len = 0;
	FILE *fp = open_memstream(out, &len);

	if (fp == NULL)
		fatalx("open_memstream: out of memory");
	/* the loop's one thread writes it: no lock per fputs (a page is ~100,000 of them) */
	__fsetlocking(fp, FSETLOCKING_BYCALLER);
	model_at(&m, d, now);
	if (f == STATUS_JSON)
		status_json_write(&m, fp);
	else
		status_page_write(&m, fp);
	status_model_free(&m);
	if (fclose(fp) != 0)
		fatalx("open_memstream: out of memory");
	return len;
}

size_t
status_render(struct kwd *d, enum status_format f, char **out)
{
	return render_at(d, f, time(NULL), out);
}

const char *
status_cache_get(struct status_cache *c, const struct status_key *k,
    size_t (*render)(void *, time_t, char **), void *arg, size_t *len)
{
	if (!c->valid || c->key.results != k->results || c->key.reloads != k->reloads ||
	    c->key.second != k->second) {
		free(c->body);
		c->body = NULL;
		c->len = render(arg, k->second, &c->body);
		c->key = *k;
		c->valid = 1;
	}
	*len = c->len;
	return c->body;
}

void
status_cache_free(struct status_cache *c)
{
	free(c->body);
	memset(c, 0, sizeof *c);
}

struct render_arg {
	struct kwd *d;
	enum status_format f;
};

static size_t
render_cb(void *arg, time_t now, char **out)
{
	struct render_arg *a = arg;

	return render_at(a->d, a->f, now, out);
}

const char *
status_render_cached(struct kwd *d, struct status_cache *c, enum status_format f, size_t *len)
{
	struct status_key k = { results_generation(), d->reload_gen, time(NULL) };
	struct render_arg a = { d, f };

	return status_cache_get(c, &k, render_cb, &a, len);
}
