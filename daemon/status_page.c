#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../probes/lockout.h"
#include "../probes/probe.h"
#include "kwd.h"
#include "results.h"
#include "../lib/log.h"
#include "sched.h"
#include "status_page.h"

/* Details can carry text a server sent us: escape everything. */
static void
html(FILE *fp, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", fp); break;
		case '>': fputs("&gt;", fp); break;
		case '&': fputs("&amp;", fp); break;
		case '"': fputs("&quot;", fp); break;
		case '\'': fputs("&#39;", fp); break;
		default: fputc(*s, fp);
		}
	}
}

static void
age(FILE *fp, time_t now, time_t then)
{
	long s = (long)(now - then);

	if (s < 0)
		s = 0;
	if (s < 120)
		fprintf(fp, "%lds ago", s);
	else if (s < 7200)
		fprintf(fp, "%ldm ago", s / 60);
	else
		fprintf(fp, "%ldh ago", s / 3600);
}

static void
job_row(FILE *fp, const struct probe_job *j, time_t now)
{
	const char *cls = !j->has_result ? "wait" : j->reason == KW_OK ? "ok" : "bad";

	fputs("<tr><td>", fp);
	html(fp, j->ops->name);
	if (j->cluster) {
		fputs(" ", fp);
		html(fp, j->cluster->name);
	}
	fprintf(fp, "</td><td class=\"%s\">%s</td><td>", cls,
	    !j->has_result ? "pending" : j->reason == KW_OK ? "ok" : reason_name(j->reason));
	if (j->has_result)
		html(fp, j->detail);
	fputs("</td><td>", fp);
	if (j->has_result) {
		fprintf(fp, "%.1f ms, ", j->duration * 1000);
		age(fp, now, j->finished);
	}
	fputs("</td><td>", fp);
	if (j->last_ok)
		age(fp, now, j->last_ok);
	else
		fputs("never", fp);
	fputs("</td></tr>\n", fp);
}

size_t
status_page_render(struct kwd *d, char **out)
{
	size_t len = 0;
	char summary[1024];
	time_t now = time(NULL);
	FILE *fp = open_memstream(out, &len);

	if (fp == NULL)
		fatalx("open_memstream: out of memory");
	results_summary(d, summary, sizeof summary);
	fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	    "<meta http-equiv=\"refresh\" content=\"10\"><title>krbwatch</title>"
	    "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}"
	    "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
	    ".ok{background:#c8f0c8}.bad{background:#f4c2c2}.wait{background:#eee}</style>"
	    "</head><body>\n<h1>krbwatch</h1>\n<p>", fp);
	html(fp, summary);
	fputs("</p>\n", fp);
	/* the words, not only the summary: why the TGT is held back and what lifts it */
	char held[300];
	enum kw_reason why;
	if (lockout_held(&why, held, sizeof held) > 0) {
		fputs("<p class=\"bad\">Monitoring identity: ", fp);
		html(fp, held);
		fputs("</p>\n", fp);
	}
	fputs("<p>Configuration: ", fp);
	html(fp, d->conf_path);
	fprintf(fp, " &middot; version %s &middot; <a href=\"/metrics\">metrics</a></p>\n",
	    KRBWATCH_VERSION);
	for (size_t r = 0; r < d->conf->nregions; r++) {
		const struct kw_region *reg = &d->conf->regions[r];

		fputs("<h2>", fp);
		html(fp, reg->name);
		fputs("</h2>\n<table><tr><th>step</th><th>state</th><th>last result</th>"
		    "<th>took, when</th><th>last success</th></tr>\n", fp);
		for (size_t i = 0; i < d->sched->njobs; i++)
			if (d->sched->jobs[i]->region == reg)
				job_row(fp, d->sched->jobs[i], now);
		fputs("</table>\n", fp);
	}
	fputs("</body></html>\n", fp);
	if (fclose(fp) != 0)
		fatalx("open_memstream: out of memory");
	return len;
}
