/* Plain words for a failed step of the path: what it means, and what to check. */
#ifndef KRBWATCH_EXPLAIN_H
#define KRBWATCH_EXPLAIN_H

#include "../probes/probe.h"

/* kind: "dns", "kdc", "tgt", "referral", "service_ticket", "login".  NULL when nothing fits. */
const char *explain_means(const char *kind, enum kw_reason);
const char *explain_check(const char *kind, enum kw_reason);

#endif
