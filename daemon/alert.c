/*
 * The alert state machines and the Alertmanager-compatible bodies they post.  One post per
 * transition, holding one alert, so that a receiver written for Alertmanager's webhook (version
 * "4") needs nothing special: the same labels in the firing and the resolved body, startsAt
 * when the failures began, endsAt "0001-01-01T00:00:00Z" while firing as Alertmanager writes it.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "../conf/config.h"
#include "alert.h"
#include "../lib/json.h"
#include "../lib/log.h"
#include "../lib/metrics.h"
#include "webhook.h"
#include "../lib/xmalloc.h"

#define MAX_DETAIL 1024		/* bytes of a probe's detail quoted in a description */
#define ZERO_TIME "0001-01-01T00:00:00Z"

enum astate_kind { A_HEALTHY, A_FIRING };

struct astate {
	TAILQ_ENTRY(astate) entry;
	char *region;
	char *cluster;			/* NULL: the Region as a whole */
	enum astate_kind state;
	unsigned failures;		/* consecutive, saturating */
	struct timespec since;		/* the first failure of the streak */
	/* the last failure; frozen while firing so that resolved repeats firing's labels */
	char *hop, *reason, *detail;
	char *instance;			/* as it was when the alert fired (a reload may move it) */
};

struct alerts {
	struct metrics *metrics;
	const struct kw_config *conf;
	unsigned after_failures;
	char instance[300];		/* host:port, the vantage point */
	char url[320];			/* the status page, for generatorURL */
	TAILQ_HEAD(, astate) states;
	struct webhooks *hooks;
	struct mfamily *m_firing, *m_failures;
};

static void
rfc3339(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;
	char s[32];

	gmtime_r(&ts->tv_sec, &tm);
	strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%.20s.%03uZ", s, (unsigned)(ts->tv_nsec / 1000000) % 1000);
}

/* The labels of a state's alert, in a fixed order; returns how many were filled. */
static size_t
labels_of(const struct alerts *a, const struct astate *st, const char *k[8], const char *v[8])
{
	size_t n = 0;

	k[n] = "alertname"; v[n++] = ALERT_NAME;
	k[n] = "aws_region"; v[n++] = st->region;
	if (st->cluster != NULL) {
		k[n] = "db_cluster"; v[n++] = st->cluster;
	}
	if (st->hop != NULL) {
		k[n] = "hop"; v[n++] = st->hop;
	}
	if (st->reason != NULL) {
		k[n] = "reason"; v[n++] = st->reason;
	}
	k[n] = "severity"; v[n++] = "critical";
	k[n] = "instance"; v[n++] = st->instance != NULL ? st->instance : a->instance;
	return n;
}

/* A stable id of the label set, like Alertmanager's fingerprint (FNV-1a, 64 bits). */
static void
fingerprint(const char *const *k, const char *const *v, size_t n, char out[17])
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < n; i++) {
		for (const char *s = k[i]; *s != '\0'; s++)
			h = (h ^ (unsigned char)*s) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;
		for (const char *s = v[i]; *s != '\0'; s++)
			h = (h ^ (unsigned char)*s) * 1099511628211ULL;
		h = (h ^ 0xfe) * 1099511628211ULL;
	}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static void
json_labels(struct evbuffer *b, const char *const *k, const char *const *v, size_t n)
{
	evbuffer_add(b, "{", 1);
	for (size_t i = 0; i < n; i++)
		json_kv(b, i == 0, k[i], v[i]);
	evbuffer_add(b, "}", 1);
}

/*
 * The body of one transition: firing, resolved, or resolved because the Region or cluster is
 * no longer in the configuration (gone).
 */
static char *
make_body(const struct alerts *a, const struct astate *st, int firing, int gone,
    const struct timespec *now)
{
	struct evbuffer *b = evbuffer_new();
	const char *k[8], *v[8], *status = firing ? "firing" : "resolved";
	char starts[48], ends[48], fp[17], *where, *summary, *desc, *out;
	size_t n, len;

	if (b == NULL)
		fatalx("evbuffer_new failed");
	n = labels_of(a, st, k, v);
	fingerprint(k, v, n, fp);
	rfc3339(&st->since, starts, sizeof starts);
	if (firing)
		snprintf(ends, sizeof ends, "%s", ZERO_TIME);
	else
		rfc3339(now, ends, sizeof ends);
	if (st->cluster != NULL)
		xasprintf(&where, "to %s in %s", st->cluster, st->region);
	else
		xasprintf(&where, "in %s", st->region);
	xasprintf(&summary, "Kerberos authentication %s %s", firing ? "failing" : "recovered",
	    where);
	if (firing)
		xasprintf(&desc, "%u consecutive probe runs failed; the first failing hop is %s "
		    "(%s): %.*s", st->failures, st->hop ? st->hop : "unknown",
		    st->reason ? st->reason : "unknown", MAX_DETAIL,
		    st->detail ? st->detail : "no detail");
	else if (gone)
		xasprintf(&desc, "No longer watched: removed from the configuration while failing "
		    "at %s (%s).", st->hop ? st->hop : "unknown", st->reason ? st->reason : "unknown");
	else
		xasprintf(&desc, "The probe succeeded again after failing at %s (%s).",
		    st->hop ? st->hop : "unknown", st->reason ? st->reason : "unknown");

	evbuffer_add_printf(b, "{\"version\":\"4\",\"groupKey\":");
	{
		/* {}:{alertname="...",aws_region="...",db_cluster="..."} */
		char *gk;

		xasprintf(&gk, "{}:{alertname=\"%s\",aws_region=\"%s\"%s%s%s}", ALERT_NAME,
		    st->region, st->cluster ? ",db_cluster=\"" : "", st->cluster ? st->cluster : "",
		    st->cluster ? "\"" : "");
		json_str(b, gk);
		free(gk);
	}
	evbuffer_add_printf(b, ",\"truncatedAlerts\":0,\"status\":\"%s\",", status);
	json_kv(b, 1, "receiver", "krbwatch");
	evbuffer_add_printf(b, ",\"groupLabels\":");
	json_labels(b, k, v, st->cluster ? 3 : 2);
	evbuffer_add_printf(b, ",\"commonLabels\":");
	json_labels(b, k, v, n);
	evbuffer_add_printf(b, ",\"commonAnnotations\":{");
	json_kv(b, 1, "summary", summary);
	json_kv(b, 0, "description", desc);
	evbuffer_add_printf(b, "},");
	json_kv(b, 1, "externalURL", a->url);
	evbuffer_add_printf(b, ",\"alerts\":[{\"status\":\"%s\",\"labels\":", status);
	json_labels(b, k, v, n);
	evbuffer_add_printf(b, ",\"annotations\":{");
	json_kv(b, 1, "summary", summary);
	json_kv(b, 0, "description", desc);
	evbuffer_add_printf(b, "},");
	json_kv(b, 1, "startsAt", starts);
	json_kv(b, 0, "endsAt", ends);
	json_kv(b, 0, "generatorURL", a->url);
	json_kv(b, 0, "fingerprint", fp);
	evbuffer_add_printf(b, "}]}");

	len = evbuffer_get_length(b);
	out = xmalloc(len + 1);
	evbuffer_remove(b, out, len);
	out[len] = '\0';
	evbuffer_free(b);
	free_all(where, summary, desc);
	return out;
}

static void
gauges(struct alerts *a, const struct astate *st)
{
	const char *v[] = { st->region, st->cluster ? st->cluster : "" };

	mfamily_set(a->m_firing, v, st->state == A_FIRING);
	mfamily_set(a->m_failures, v, (double)st->failures);
}

static void
post(struct alerts *a, struct astate *st, int firing, int gone)
{
	struct timespec now;
	char *body;

	clock_gettime(CLOCK_REALTIME, &now);
	body = make_body(a, st, firing, gone, &now);
	log_notice("alert %s %s%s%s: %s%s", ALERT_NAME, st->region, st->cluster ? "/" : "",
	    st->cluster ? st->cluster : "", firing ? "firing" : "resolved",
	    gone ? " (no longer configured)" : "");
	webhooks_post(a->hooks, body);
	free(body);
}

/* Whether the configuration still names this Region (and cluster, in that Region). */
static int
configured(const struct kw_config *conf, const char *region, const char *cluster)
{
	for (size_t r = 0; r < conf->nregions; r++) {
		const struct kw_region *reg = &conf->regions[r];

		if (strcmp(reg->name, region) != 0)
			continue;
		if (cluster == NULL)
			return 1;
		for (size_t c = 0; c < reg->nclusters; c++)
			if (strcmp(reg->clusters[c].name, cluster) == 0)
				return 1;
		return 0;
	}
	return 0;
}

static void
set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src != NULL ? xstrdup(src) : NULL;
}

static void
state_free(struct astate *st)
{
	free_all(st->region, st->cluster, st->hop, st->reason, st->detail, st->instance, st);
}

/* Names the vantage point: the host name and the listener's port. */
static void
set_instance(struct alerts *a, const struct kw_config *conf)
{
	char host[256];

	if (gethostname(host, sizeof host) == -1)
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	snprintf(a->instance, sizeof a->instance, "%s:%u", host, (unsigned)conf->listen.port);
	snprintf(a->url, sizeof a->url, "http://%s/", a->instance);
}

struct alerts *
alerts_new(struct event_base *base, struct metrics *reg, const struct kw_config *conf)
{
	static const char *const l[] = { "aws_region", "db_cluster" };
	struct alerts *a = xcalloc(1, sizeof *a);

	a->metrics = reg;
	TAILQ_INIT(&a->states);
	a->m_firing = metrics_family(reg, "krbwatch_alert_firing",
	    "1 while krbwatch's own alert for the Region (db_cluster empty) or cluster is firing.",
	    METRIC_GAUGE, 2, l);
	a->m_failures = metrics_family(reg, "krbwatch_alert_consecutive_failures",
	    "Consecutive failed observations of the Region (db_cluster empty) or cluster.",
	    METRIC_GAUGE, 2, l);
	a->hooks = webhooks_new(base, reg);
	alerts_reconfigure(a, conf);
	return a;
}

void
alerts_reconfigure(struct alerts *a, const struct kw_config *conf)
{
	struct astate *st, *next;

	a->conf = conf;
	a->after_failures = conf->after_failures > 0 ? conf->after_failures : 1;
	set_instance(a, conf);
	webhooks_configure(a->hooks, conf);
	for (st = TAILQ_FIRST(&a->states); st != NULL; st = next) {
		const char *v[] = { st->region, st->cluster ? st->cluster : "" };

		next = TAILQ_NEXT(st, entry);
		if (configured(conf, st->region, st->cluster))
			continue;
		if (st->state == A_FIRING)
			post(a, st, 0, 1);
		mfamily_drop_match(a->m_firing, v);
		mfamily_drop_match(a->m_failures, v);
		TAILQ_REMOVE(&a->states, st, entry);
		state_free(st);
	}
}

static struct astate *
state_get(struct alerts *a, const char *region, const char *cluster)
{
	struct astate *st;

	TAILQ_FOREACH(st, &a->states, entry)
		if (strcmp(st->region, region) == 0 && (cluster == NULL ? st->cluster == NULL :
		    st->cluster != NULL && strcmp(st->cluster, cluster) == 0))
			return st;
	st = xcalloc(1, sizeof *st);
	st->region = xstrdup(region);
	st->cluster = cluster != NULL ? xstrdup(cluster) : NULL;
	TAILQ_INSERT_TAIL(&a->states, st, entry);
	return st;
}

void
alerts_observe(struct alerts *a, const char *region, const char *cluster, int ok,
    const char *hop, const char *reason, const char *detail)
{
	struct astate *st;

	if (a == NULL || region == NULL)
		return;
	/* only names of the configuration get a state: their number is bounded */
	if (!configured(a->conf, region, cluster)) {
		log_debug("alerts: %s%s%s is not configured, observation ignored", region,
		    cluster ? "/" : "", cluster ? cluster : "");
		return;
	}
	st = state_get(a, region, cluster);
	if (ok) {
		if (st->state == A_FIRING) {
			st->state = A_HEALTHY;
			st->failures = 0;
			post(a, st, 0, 0);
		}
		st->failures = 0;
		gauges(a, st);
		return;
	}
	if (st->failures == 0)
		clock_gettime(CLOCK_REALTIME, &st->since);
	if (st->failures < UINT32_MAX)
		st->failures++;
	if (st->state != A_FIRING) {
		set_str(&st->hop, hop);
		set_str(&st->reason, reason);
		set_str(&st->detail, detail);
		if (st->failures >= a->after_failures) {
			st->state = A_FIRING;
			set_str(&st->instance, a->instance);
			post(a, st, 1, 0);
		}
	}
	gauges(a, st);
}

size_t
alerts_pending(const struct alerts *a)
{
	return a != NULL ? webhooks_pending(a->hooks) : 0;
}

void
alerts_on_idle(struct alerts *a, void (*cb)(void *), void *arg)
{
	webhooks_on_idle(a->hooks, cb, arg);
}

void
alerts_free(struct alerts *a)
{
	struct astate *st;

	if (a == NULL)
		return;
	webhooks_free(a->hooks);
	while ((st = TAILQ_FIRST(&a->states)) != NULL) {
		TAILQ_REMOVE(&a->states, st, entry);
		state_free(st);
	}
	free(a);
}
