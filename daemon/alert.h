/*
 * Alert state machines, one per Region (db_cluster NULL: the Region as a whole) and one per
 * cluster, fed by the probes' observations:
 *
 *   healthy --(alerts.after_failures consecutive failures)--> firing --(one success)--> healthy
 *
 * Each transition into or out of firing is posted to every webhook as an Alertmanager
 * webhook (version 4) body; see webhook.h for the delivery.  Exported as
 * krbwatch_alert_firing and krbwatch_alert_consecutive_failures {aws_region, db_cluster}
 * (db_cluster empty for the Region as a whole).
 */
#ifndef KRBWATCH_ALERT_H
#define KRBWATCH_ALERT_H

#include <stddef.h>

struct event_base;
struct metrics;
struct kw_config;
struct alerts;

#define ALERT_NAME "KrbwatchAuthFailing"

/* conf must stay valid until the next alerts_reconfigure() or alerts_free(). */
struct alerts *alerts_new(struct event_base *, struct metrics *, const struct kw_config *);

/*
 * After a good reload: the new webhooks and threshold.  States of Regions and clusters that
 * still exist are kept; the others are forgotten (a firing one is posted resolved first, so
 * that no receiver keeps it firing forever).
 */
void alerts_reconfigure(struct alerts *, const struct kw_config *);

/*
 * One observation.  hop is the first failing hop (tgt, referral, service_ticket, login) and
 * reason the fixed reason label, both NULL when ok; detail is plain words for the description
 * (may be NULL).  Names not in the configuration are ignored.
 */
void alerts_observe(struct alerts *, const char *aws_region, const char *db_cluster, int ok,
    const char *hop, const char *reason, const char *detail);

/* Notifications queued or in flight (0: all delivered, failed or dropped). */
size_t alerts_pending(const struct alerts *);

/* See webhooks_on_idle(). */
void alerts_on_idle(struct alerts *, void (*cb)(void *), void *arg);

/* Cancels the posts in flight. NULL is fine. */
void alerts_free(struct alerts *);

#endif
