/*
 * libcurl's multi interface on the libevent loop (the hiperfifo pattern): curl tells us which
 * sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to wake it (CURLMOPT_TIMERFUNCTION); the
 * loop calls curl_multi_socket_action() and we reap finished transfers with
 * curl_multi_info_read() only after it returned, never from inside a curl callback.
 */
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "../conf/config.h"
#include "kwd.h"
#include "../lib/log.h"
#include "../lib/metrics.h"
#include "webhook.h"
#include "../lib/xmalloc.h"

#define MAX_BACKOFF_MS (10ULL * 60 * 1000)

struct hook;

/* One notification on one webhook's queue. */
struct post {
	TAILQ_ENTRY(post) entry;
	struct hook *hook;
	char *body;
	unsigned attempts;		/* made so far */
	CURL *easy;			/* set while an attempt is in flight */
	struct curl_slist *hdrs;	/* the attempt's headers: curl does not copy them */
};
TAILQ_HEAD(postq, post);

struct hook {
	struct webhooks *w;
	char label[24];			/* its place in the file: "1" */
	char *url;
	char *auth;			/* "Authorization: Bearer ...", wiped when freed */
	char **extra;			/* "Name: value" */
	size_t nextra;
	uint64_t timeout_ms, backoff_ms;
	unsigned max_retries;
	size_t queue_max;
	struct postq queue;		/* the head is the one being sent or waiting to retry */
	size_t n;
	struct event *retry;		/* armed while the head waits for its next attempt */
};

/* A socket curl asked us to watch. */
struct wsock {
	LIST_ENTRY(wsock) entry;
	struct webhooks *w;
	curl_socket_t fd;
	struct event *ev;
};

struct webhooks {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	struct hook **hooks;
	size_t nhooks;
	LIST_HEAD(, wsock) socks;
	struct mfamily *m_notes, *m_retries, *m_queue;
	void (*idle_cb)(void *);
	void *idle_arg;
};

static void hook_kick(struct hook *);

static void
count(struct hook *h, const char *result)
{
	const char *v[] = { h->label, result };

	mfamily_add(h->w->m_notes, v, 1);
}

static void
queue_gauge(struct hook *h)
{
	const char *v[] = { h->label };

	mfamily_set(h->w->m_queue, v, (double)h->n);
}

static void
wipe_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* Ends an attempt in flight; safe outside curl's callbacks only. */
static void
post_cancel(struct post *p)
{
	if (p->easy != NULL) {
		curl_multi_remove_handle(p->hook->w->multi, p->easy);
		curl_easy_cleanup(p->easy);
		p->easy = NULL;
	}
	curl_slist_free_all(p->hdrs);
	p->hdrs = NULL;
}

static void
post_remove(struct post *p)
{
	struct hook *h = p->hook;

	if (p == TAILQ_FIRST(&h->queue))
		evtimer_del(h->retry);
	post_cancel(p);
	TAILQ_REMOVE(&h->queue, p, entry);
	h->n--;
	free(p->body);
	free(p);
	queue_gauge(h);
}

/* The receiver's answer is not needed (only its status); curl would print it on stdout. */
static size_t
discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	return size * nmemb;
}

static int
add_header(struct curl_slist **l, const char *line)
{
	struct curl_slist *n;

	if ((n = curl_slist_append(*l, line)) == NULL)
		return -1;
	*l = n;
	return 0;
}

static int
start_attempt(struct post *p)
{
	struct hook *h = p->hook;
	char ua[64];

	p->attempts++;
	if ((p->easy = curl_easy_init()) == NULL)
		return -1;
	/* Expect: 100-continue would cost a round trip (or a second) on every post */
	if (add_header(&p->hdrs, "Content-Type: application/json") == -1 ||
	    add_header(&p->hdrs, "Expect:") == -1 ||
	    (h->auth != NULL && add_header(&p->hdrs, h->auth) == -1))
		goto fail;
	for (size_t i = 0; i < h->nextra; i++)
		if (add_header(&p->hdrs, h->extra[i]) == -1)
			goto fail;
	snprintf(ua, sizeof ua, "krbwatch/%s", KRBWATCH_VERSION);
	curl_easy_setopt(p->easy, CURLOPT_URL, h->url);
	curl_easy_setopt(p->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(p->easy, CURLOPT_POSTFIELDS, p->body);
	curl_easy_setopt(p->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(p->body));
	curl_easy_setopt(p->easy, CURLOPT_HTTPHEADER, p->hdrs);
	curl_easy_setopt(p->easy, CURLOPT_USERAGENT, ua);
	curl_easy_setopt(p->easy, CURLOPT_TIMEOUT_MS, (long)h->timeout_ms);
	curl_easy_setopt(p->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(p->easy, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(p->easy, CURLOPT_PRIVATE, (void *)p);
	if (curl_multi_add_handle(h->w->multi, p->easy) != CURLM_OK)
		goto fail;
	return 0;
fail:
	curl_easy_cleanup(p->easy);
	p->easy = NULL;
	curl_slist_free_all(p->hdrs);
	p->hdrs = NULL;
	return -1;
}

/*
 * What became of an attempt: delivered, retried after a backoff that doubles, or given up.  A
 * 4xx other than 408 and 429 says the receiver refuses this body; sending it again cannot help.
 */
static void
attempt_done(struct post *p, int ok, int retryable, const char *why)
{
	struct hook *h = p->hook;

	if (ok) {
		log_info("webhook %s: notification delivered (attempt %u)", h->label, p->attempts);
		count(h, "sent");
		post_remove(p);
	} else if (retryable && p->attempts <= h->max_retries) {
		uint64_t ms = h->backoff_ms;
		const char *v[] = { h->label };

		for (unsigned i = 1; i < p->attempts && ms < MAX_BACKOFF_MS; i++)
			ms *= 2;
		if (ms > MAX_BACKOFF_MS)
			ms = MAX_BACKOFF_MS;
		struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

		log_warn("webhook %s: attempt %u of %u failed: %s; retrying in %llu ms", h->label,
		    p->attempts, h->max_retries + 1, why, (unsigned long long)ms);
		mfamily_add(h->w->m_retries, v, 1);
		evtimer_add(h->retry, &tv);
		return;
	} else {
		log_warn("webhook %s: notification not delivered after %u attempt%s: %s", h->label,
		    p->attempts, p->attempts == 1 ? "" : "s", why);
		count(h, "failed");
		post_remove(p);
	}
	hook_kick(h);
	if (h->w->idle_cb != NULL && webhooks_pending(h->w) == 0)
		h->w->idle_cb(h->w->idle_arg);
}

/* Starts the head of the queue unless it is in flight or waiting to retry. */
static void
hook_kick(struct hook *h)
{
	struct post *p;

	if ((p = TAILQ_FIRST(&h->queue)) == NULL || p->easy != NULL ||
	    evtimer_pending(h->retry, NULL))
		return;
	/* out of memory in curl: a failed attempt like any other */
	if (start_attempt(p) == -1)
		attempt_done(p, 0, 1, "cannot start a transfer");
}

static void
reap(struct webhooks *w)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(w->multi, &left)) != NULL) {
		struct post *p;
		char *priv = NULL;
		long code = 0;
		char why[96];
		int ok, retryable = 1;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		p = (struct post *)(void *)priv;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
		/* curl's own words, never its error buffer: that one can carry the URL */
		if (msg->data.result != CURLE_OK) {
			snprintf(why, sizeof why, "%s", curl_easy_strerror(msg->data.result));
			ok = 0;
		} else {
			snprintf(why, sizeof why, "HTTP status %ld", code);
			ok = code >= 200 && code < 300;
			retryable = !(code >= 400 && code < 500 && code != 408 && code != 429);
		}
		post_cancel(p);		/* msg is invalid from here */
		attempt_done(p, ok, retryable, why);
	}
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	hook_kick(arg);
}

static void
on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct webhooks *w = arg;
	int flags = 0, running;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(w->multi, fd, flags, &running);
	reap(w);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct webhooks *w = arg;
	int running;

	curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	reap(w);
}

/* CURLMOPT_TIMERFUNCTION: only arms our timer; calling curl from here is not allowed. */
static int
curl_timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
	struct webhooks *w = arg;

	if (timeout_ms < 0) {
		evtimer_del(w->timer);
	} else {
		struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

		evtimer_add(w->timer, &tv);
	}
	return 0;
}

static void
wsock_free(struct wsock *ws)
{
	LIST_REMOVE(ws, entry);
	if (ws->ev != NULL)
		event_free(ws->ev);
	free(ws);
}

/* CURLMOPT_SOCKETFUNCTION: the events of socket s follow what curl waits for. */
static int
curl_socket_cb(CURL *easy, curl_socket_t s, int what, void *arg, void *sockp)
{
	struct webhooks *w = arg;
	struct wsock *ws = sockp;
	short kind = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (ws != NULL)
			wsock_free(ws);
		return 0;
	}
	if (ws == NULL) {
		ws = xcalloc(1, sizeof *ws);
		ws->w = w;
		ws->fd = s;
		LIST_INSERT_HEAD(&w->socks, ws, entry);
		curl_multi_assign(w->multi, s, ws);
	} else if (ws->ev != NULL) {
		event_free(ws->ev);
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if ((ws->ev = event_new(w->base, s, kind, on_socket, w)) == NULL ||
	    event_add(ws->ev, NULL) == -1)
		fatalx("webhooks: cannot watch a socket");
	return 0;
}

struct webhooks *
webhooks_new(struct event_base *base, struct metrics *reg)
{
	static const char *const note_l[] = { "webhook", "result" };
	static const char *const hook_l[] = { "webhook" };
	static int curl_ready;
	struct webhooks *w = xcalloc(1, sizeof *w);

	/* once per process, before any other curl call; the process has one thread */
	if (!curl_ready && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
	curl_ready = 1;
	w->base = base;
	LIST_INIT(&w->socks);
	if ((w->multi = curl_multi_init()) == NULL ||
	    (w->timer = evtimer_new(base, on_timer, w)) == NULL)
		fatalx("webhooks: cannot set up libcurl on the loop");
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
	curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
	w->m_notes = metrics_family(reg, "krbwatch_alert_notifications_total",
	    "Alert notifications by webhook (its place in the file) and result: sent, failed "
	    "(every attempt failed) or dropped (pushed out of a full queue).", METRIC_COUNTER, 2,
	    note_l);
	w->m_retries = metrics_family(reg, "krbwatch_alert_notification_retries_total",
	    "Attempts to send an alert notification that failed and were retried, by webhook.",
	    METRIC_COUNTER, 1, hook_l);
	w->m_queue = metrics_family(reg, "krbwatch_alert_queue_length",
	    "Alert notifications waiting or in flight, by webhook.", METRIC_GAUGE, 1, hook_l);
	return w;
}

/* The Authorization header of a bearer_token_file (config_read_token checks it), or NULL. */
static char *
read_token(const char *label, const char *path)
{
	char *tok, *out, why[160];

	if (config_read_token(path, &tok, why, sizeof why) == -1) {
		log_err("webhook %s: its bearer_token_file %s", label, why);
		return NULL;
	}
	xasprintf(&out, "Authorization: Bearer %s", tok);
	explicit_bzero(tok, strlen(tok));
	free(tok);
	return out;
}

static void
hook_settings_free(struct hook *h)
{
	wipe_free(h->auth);
	h->auth = NULL;
	for (size_t i = 0; i < h->nextra; i++)
		wipe_free(h->extra[i]);	/* a header may hold a credential too */
	free(h->extra);
	h->extra = NULL;
	h->nextra = 0;
}

static void
hook_set(struct hook *h, size_t idx, const struct kw_webhook *k)
{
	hook_settings_free(h);
	snprintf(h->label, sizeof h->label, "%zu", idx + 1);
	h->timeout_ms = k->timeout_ms;
	h->backoff_ms = k->backoff_ms;
	h->max_retries = k->max_retries;
	h->queue_max = k->queue;
	if (k->bearer_token_file != NULL)
		h->auth = read_token(h->label, k->bearer_token_file);
	h->extra = xcalloc(k->nheaders, sizeof *h->extra);
	for (size_t i = 0; i < k->nheaders; i++)
		xasprintf(&h->extra[h->nextra++], "%s: %s", k->headers[i].name,
		    k->headers[i].value);
}

static void
hook_free(struct hook *h, int say)
{
	struct post *p;

	if (say && h->n > 0)
		log_warn("webhook %s: removed, %zu notification%s not delivered", h->label, h->n,
		    h->n == 1 ? "" : "s");
	while ((p = TAILQ_FIRST(&h->queue)) != NULL)
		post_remove(p);
	event_free(h->retry);
	hook_settings_free(h);
	free(h->url);
	free(h);
}

void
webhooks_configure(struct webhooks *w, const struct kw_config *conf)
{
	struct hook **old = w->hooks, **hooks;
	size_t nold = w->nhooks;

	hooks = xcalloc(conf->nwebhooks, sizeof *hooks);
	for (size_t i = 0; i < conf->nwebhooks; i++) {
		const struct kw_webhook *k = &conf->webhooks[i];
		struct hook *h = NULL;

		for (size_t j = 0; j < nold && h == NULL; j++)
			if (old[j] != NULL && strcmp(old[j]->url, k->url) == 0) {
				h = old[j];
				old[j] = NULL;
			}
		if (h == NULL) {
			h = xcalloc(1, sizeof *h);
			h->w = w;
			h->url = xstrdup(k->url);
			TAILQ_INIT(&h->queue);
			if ((h->retry = evtimer_new(w->base, on_retry, h)) == NULL)
				fatalx("webhooks: evtimer_new failed");
		}
		hook_set(h, i, k);
		hooks[i] = h;
	}
	for (size_t j = 0; j < nold; j++) {
		if (old[j] == NULL)
			continue;
		/* its series go with it: the label is a place in a file that no longer has it */
		if (j >= conf->nwebhooks) {
			mfamily_drop(w->m_notes, "webhook", old[j]->label);
			mfamily_drop(w->m_retries, "webhook", old[j]->label);
			mfamily_drop(w->m_queue, "webhook", old[j]->label);
		}
		hook_free(old[j], 1);
	}
	free(old);
	w->hooks = hooks;
	w->nhooks = conf->nwebhooks;
	for (size_t i = 0; i < w->nhooks; i++) {
		queue_gauge(w->hooks[i]);
		hook_kick(w->hooks[i]);
	}
}

/*
 * A full queue drops its oldest notification that is not on the wire; with room for one only,
 * the one on the wire goes.
 */
static void
drop_oldest(struct hook *h)
{
	struct post *p = TAILQ_FIRST(&h->queue);

	if (p->easy != NULL && TAILQ_NEXT(p, entry) != NULL)
		p = TAILQ_NEXT(p, entry);
	log_warn("webhook %s: queue full (%zu), dropped the oldest notification", h->label,
	    h->queue_max);
	count(h, "dropped");
	post_remove(p);
}

void
webhooks_post(struct webhooks *w, const char *body)
{
	for (size_t i = 0; i < w->nhooks; i++) {
		struct hook *h = w->hooks[i];
		struct post *p;

		while (h->n >= h->queue_max && h->n > 0)
			drop_oldest(h);
		p = xcalloc(1, sizeof *p);
		p->hook = h;
		p->body = xstrdup(body);
		TAILQ_INSERT_TAIL(&h->queue, p, entry);
		h->n++;
		queue_gauge(h);
		hook_kick(h);
	}
}

size_t
webhooks_pending(const struct webhooks *w)
{
	size_t n = 0;

	for (size_t i = 0; i < w->nhooks; i++)
		n += w->hooks[i]->n;
	return n;
}

void
webhooks_on_idle(struct webhooks *w, void (*cb)(void *), void *arg)
{
	w->idle_cb = cb;
	w->idle_arg = arg;
}

void
webhooks_free(struct webhooks *w)
{
	struct wsock *ws;

	if (w == NULL)
		return;
	for (size_t i = 0; i < w->nhooks; i++)
		hook_free(w->hooks[i], 0);
	free(w->hooks);
	/* may still tell curl_socket_cb to forget sockets: w must be whole until it returns */
	curl_multi_cleanup(w->multi);
	while ((ws = LIST_FIRST(&w->socks)) != NULL)
		wsock_free(ws);
	event_free(w->timer);
	free(w);
}
