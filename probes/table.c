/* The probe kinds, in the order of the path a client walks: the first failing one names the hop. */
#include <stddef.h>

#include "probe.h"

extern const struct probe_ops probe_dns;
extern const struct probe_ops probe_kdc;
extern const struct probe_ops probe_chain;

const struct probe_ops *const probe_table[] = {
	&probe_dns,
	&probe_kdc,
	&probe_chain,
	NULL
};
