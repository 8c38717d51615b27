#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "../lib/log.h"
#include "../lib/xmalloc.h"
#include "login_gate.h"

#define GATE_BUCKETS	256

enum { GATE_IDLE, GATE_TIMER, GATE_QUEUED, GATE_READY, GATE_HOLDING };

struct gate_host {
	struct gate_host *next;		/* in its bucket */
	char *key;			/* "host:port", the host lower-cased */
	unsigned active, limit;
	struct login_gate_wait *head, *tail;	/* waiting for a slot, in order */
};

/* Every host a login was gated for (a handful of bytes each; the configuration bounds them). */
static struct gate_host *buckets[GATE_BUCKETS];

static unsigned
bucket_of(const char *key)
{
	unsigned h = 2166136261U;

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 16777619U;
	return h % GATE_BUCKETS;
}

static void
make_key(char *buf, size_t n, const char *host, uint16_t port)
{
	size_t i;

	snprintf(buf, n, "%s:%u", host, port);
	for (i = 0; buf[i]; i++)
		if (buf[i] >= 'A' && buf[i] <= 'Z')
			buf[i] = (char)(buf[i] - 'A' + 'a');
}

static struct gate_host *
host_find(const char *host, uint16_t port, int create)
{
	char key[300];
	struct gate_host *h;
	unsigned b;

	make_key(key, sizeof key, host, port);
	b = bucket_of(key);
	for (h = buckets[b]; h != NULL; h = h->next)
		if (strcmp(h->key, key) == 0)
			return h;
	if (!create)
		return NULL;
	h = xcalloc(1, sizeof *h);
	h->key = xstrdup(key);
	h->next = buckets[b];
	buckets[b] = h;
	return h;
}

unsigned
login_gate_spread_ms(size_t i, size_t n, unsigned window_ms)
{
	return n > 1 ? (unsigned)((unsigned long long)window_ms * i / n) : 0;
}

static void
wait_fire(evutil_socket_t fd, short what, void *arg)
{
	struct login_gate_wait *w = arg;

	if (w->state == GATE_TIMER)
		w->state = GATE_IDLE;
	else if (w->state == GATE_READY)
		w->state = GATE_HOLDING;
	else
		return;
	w->go(w->arg);
}

static void
wait_event(struct event_base *base, struct login_gate_wait *w)
{
	if (w->ev == NULL && (w->ev = event_new(base, -1, 0, wait_fire, w)) == NULL)
		fatalx("event_new failed");
}

void
login_gate_after(struct event_base *base, struct login_gate_wait *w, unsigned delay_ms,
    void (*go)(void *), void *arg)
{
	struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };

	login_gate_leave(w);
	wait_event(base, w);
	w->go = go;
	w->arg = arg;
	w->state = GATE_TIMER;
	event_add(w->ev, &tv);
}

/* The slot is w's: go runs from the loop. */
static void
grant(struct gate_host *h, struct login_gate_wait *w)
{
	h->active++;
	w->state = GATE_READY;
	event_active(w->ev, EV_TIMEOUT, 0);
}

void
login_gate_enter(struct event_base *base, struct login_gate_wait *w, const char *host,
    uint16_t port, unsigned limit, void (*go)(void *), void *arg)
{
	struct gate_host *h = host_find(host, port, 1);

	login_gate_leave(w);
	wait_event(base, w);
	w->go = go;
	w->arg = arg;
	w->host = h;
	h->limit = limit > 0 ? limit : 1;	/* the running configuration's */
	if (h->active < h->limit && h->head == NULL) {
		grant(h, w);
		return;
	}
	w->state = GATE_QUEUED;
	w->next = NULL;
	if (h->tail != NULL)
		h->tail->next = w;
	else
		h->head = w;
	h->tail = w;
}

int
login_gate_queued(const struct login_gate_wait *w)
{
	return w->state == GATE_QUEUED;
}

static void
unqueue(struct gate_host *h, struct login_gate_wait *w)
{
	struct login_gate_wait **p, *prev = NULL;

	for (p = &h->head; *p != NULL; prev = *p, p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			if (h->tail == w)
				h->tail = prev;
			return;
		}
}

void
login_gate_leave(struct login_gate_wait *w)
{
	struct gate_host *h = w->host;

	if (w->ev != NULL && w->state == GATE_IDLE) {
		event_free(w->ev);
		w->ev = NULL;
	}
	if (w->state == GATE_IDLE)
		return;
	if (w->ev != NULL)
		event_del(w->ev);
	if (w->state == GATE_QUEUED)
		unqueue(h, w);
	else if ((w->state == GATE_READY || w->state == GATE_HOLDING) && h->active > 0) {
		h->active--;
		/* the next in line, while the running configuration's limit allows */
		while (h->head != NULL && h->active < h->limit) {
			struct login_gate_wait *n = h->head;

			h->head = n->next;
			if (h->head == NULL)
				h->tail = NULL;
			grant(h, n);
		}
	}
	w->state = GATE_IDLE;
	w->host = NULL;
	if (w->ev != NULL) {
		event_free(w->ev);
		w->ev = NULL;
	}
}
