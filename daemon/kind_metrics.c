/*
 * Which series each probe kind has: one row per kind, keyed by the kind's name (the `probe`
 * label).  A new kind with series of its own is a daemon/metrics_NAME.c and a row here.
 */
#include <stddef.h>
#include <string.h>

#include "../probes/probe.h"
#include "kind_metrics.h"

static const struct {
	const char *kind;
	void (*init)(struct kind_metrics *, struct metrics *);
	void (*write)(struct kind_metrics *, const struct probe_job *, const struct probe_result *);
} kinds[] = {
	{ "dns", metrics_dns_init, metrics_dns_write },
	{ "kdc", metrics_kdc_init, metrics_kdc_write },
	{ "chain", metrics_chain_init, metrics_chain_write },
};

void
kind_metrics_init(struct kind_metrics *km, struct metrics *reg)
{
	/* in probe_table's order, so that /metrics lists the families as it always did */
	for (size_t k = 0; probe_table[k] != NULL; k++)
		for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
			if (strcmp(kinds[i].kind, probe_table[k]->name) == 0)
				kinds[i].init(km, reg);
}

void
kind_metrics_write(struct kind_metrics *km, const struct probe_job *j,
    const struct probe_result *r)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(kinds[i].kind, j->ops->name) == 0) {
			kinds[i].write(km, j, r);
			return;
		}
}
