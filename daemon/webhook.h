/*
 * Webhook delivery: each configured webhook has a bounded queue of JSON bodies, sent one at a
 * time (so a receiver sees a firing before its resolved) through libcurl's multi interface on
 * the daemon's loop, with a per-attempt timeout and retries with exponential backoff.  A dead
 * receiver costs no memory growth: a full queue drops its oldest notification and counts it.
 *
 * Webhooks are named in logs and metrics by their place in the file ("webhook 1"); neither
 * their URLs nor their tokens are ever logged.
 */
#ifndef KRBWATCH_WEBHOOK_H
#define KRBWATCH_WEBHOOK_H

#include <stddef.h>

struct event_base;
struct metrics;
struct kw_config;
struct webhooks;

/* Registers the notification metric families in the registry; the loop must outlive it. */
struct webhooks *webhooks_new(struct event_base *, struct metrics *);

/*
 * Takes the webhooks of conf (re-reading bearer tokens).  A webhook whose URL is unchanged
 * keeps its queue and any attempt in flight; the notifications of a removed one are discarded.
 */
void webhooks_configure(struct webhooks *, const struct kw_config *);

/* Queues body (copied) on every webhook. */
void webhooks_post(struct webhooks *, const char *body);

/* Notifications queued or in flight on all webhooks. */
size_t webhooks_pending(const struct webhooks *);

/*
 * cb(arg) runs each time the last notification queued or in flight is delivered or given up
 * (the daemon waits for that when it stops); cb NULL: nothing runs.
 */
void webhooks_on_idle(struct webhooks *, void (*cb)(void *), void *arg);

/* Cancels every attempt in flight and discards the queues. */
void webhooks_free(struct webhooks *);

#endif
