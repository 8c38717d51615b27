/*
 * Where a realm's KDCs are, as one Region sees them (kdc_locate.c): SRV records or host names
 * resolved through the Region's resolvers, on the loop.
 */
#ifndef KRBWATCH_KDC_LOCATE_H
#define KRBWATCH_KDC_LOCATE_H

#include "../conf/config.h"
#include "../lib/reason.h"

struct event_base;
struct kdc_locate;

/*
 * Called once, with KW_OK and the KDCs (numeric addresses with their ports, in the order to try
 * them; the list is the callee's to free with kdc_list_clear), or with the reason and words.
 * It may be called before kdc_locate_start returns.
 */
typedef void kdc_locate_cb(void *arg, enum kw_reason, const char *detail, struct kw_kdcs *found);

/* given: the configured list ("dns", or names).  Each question may take timeout_ms. */
struct kdc_locate *kdc_locate_start(struct event_base *, const struct kw_region *,
    const struct kw_realm *, const struct kw_kdcs *given, unsigned timeout_ms, kdc_locate_cb *,
    void *arg);
/* Frees the lookup, ended or not; no callback afterwards. */
void kdc_locate_cancel(struct kdc_locate *);

/* 1 when every KDC of the list is a numeric address: nothing to look up. */
int kdc_list_numeric(const struct kw_kdcs *);
void kdc_list_clear(struct kw_kdcs *);

#endif
