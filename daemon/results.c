/*
 * Where the results of the probe runs meet: the one-line summary of the Regions (STATUS=, the
 * status page, the logs) and what follows a finished job (STATUS= only when it changed; the end
 * of `krbwatch probe` once every job ran).
 */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "../lib/reason.h"
#include "../probes/lockout.h"
#include "../probes/probe.h"
#include "kwd.h"
#include "notify.h"
#include "results.h"
#include "sched.h"

void
results_summary(struct kwd *d, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t r = 0; r < d->conf->nregions && off < len; r++) {
		const struct kw_region *reg = &d->conf->regions[r];
		const struct probe_job *bad[3];
		size_t nbad = 0;
		int pending = 0, jobs = 0, n;

		/*
		 * A job that names the step that broke (the chain: a cluster's hop) comes first: it is
		 * what users feel.  The others follow in path order (dns before kdc).
		 */
		for (int pass = 0; pass < 2; pass++)
			for (size_t i = 0; i < d->sched->njobs; i++) {
				const struct probe_job *j = d->sched->jobs[i];
				if (j->region != reg)
					continue;
				if (pass == 0) {
					jobs++;
					if (!j->has_result)
						pending = 1;
				}
				if (!j->has_result || j->reason == KW_OK || nbad == 3 ||
				    (pass == 0) != (j->step[0] != '\0'))
					continue;
				bad[nbad++] = j;
			}
		n = snprintf(buf + off, len - off, "%s%s: ", r ? "; " : "", reg->name);
		for (size_t b = 0; b < nbad && n >= 0 && off + (size_t)n < len; b++)
			n += snprintf(buf + off + n, len - off - (size_t)n, "%s%s%s%s failing (%s)",
			    b ? ", " : "", bad[b]->step[0] ? bad[b]->step : bad[b]->ops->name,
			    bad[b]->cluster ? " " : "", bad[b]->cluster ? bad[b]->cluster->name : "",
			    reason_name(bad[b]->reason));
		if (nbad == 0 && n >= 0 && off + (size_t)n < len)
			n += snprintf(buf + off + n, len - off - (size_t)n, "%s",
			    jobs == 0 ? "no probes" : pending ? "starting" : "ok");
		if (n < 0)
			break;
		off += (size_t)n;
		if (off >= len) {
			buf[len - 1] = '\0';
			break;
		}
	}
	/* the cause every Region shares: said once, after them */
	char held[400];
	lockout_summary(held, sizeof held);
	if (held[0] != '\0' && off < len)
		snprintf(buf + off, len - off, "; %s", held);
}

/* After any job finished: readiness for `krbwatch probe`, STATUS= when it changes. */
void
results_changed(struct kwd *d)
{
	char summary[1024], status[sizeof d->status_sent];

	if (d->stopping)
		return;
	if (d->once) {
		if (sched_all_ran(d->sched))
			event_base_loopexit(d->base, NULL);
		return;
	}
	results_summary(d, summary, sizeof summary);
	/* until a good reload, so that systemctl status keeps saying the edit did not apply */
	if (d->reload_failed)
		snprintf(status, sizeof status, "reload failed, kept the previous configuration; %s",
		    summary);
	else
		snprintf(status, sizeof status, "%s", summary);
	if (strcmp(status, d->status_sent) == 0)
		return;		/* systemd has it already */
	memcpy(d->status_sent, status, sizeof d->status_sent);
	notify_status(status);
}
