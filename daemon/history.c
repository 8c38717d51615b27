/*
 * The recent past of every subject, in a hash table of fixed rings (history.h).  A subject is
 * named by its job and, for a row, the row's kind and name: the key is those strings joined by
 * a separator no configuration name can hold.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "../lib/xmalloc.h"

#define HISTORY_BUCKETS 8192		/* a power of two */

struct history {
	struct history_entry *bucket[HISTORY_BUCKETS];
	size_t n;
};

struct history *
history_new(void)
{
	return xcalloc(1, sizeof(struct history));
}

void
history_free(struct history *h)
{
	if (h == NULL)
		return;
	for (size_t b = 0; b < HISTORY_BUCKETS; b++)
		for (struct history_entry *e = h->bucket[b], *next; e != NULL; e = next) {
			next = e->chain;
			free(e->key);
			free(e);
		}
	free(h);
}

/* FNV-1a */
static size_t
hash(const char *s)
{
	uint32_t x = 2166136261u;

	for (; *s; s++)
		x = (x ^ (unsigned char)*s) * 16777619u;
	return x & (HISTORY_BUCKETS - 1);
}

/* "region\037probe\037cluster\037kind\037name" into buf; a row NULL is the job itself. */
static void
make_key(char *buf, size_t len, const char *region, const char *probe, const char *cluster,
    const struct result_row *row)
{
	if (row == NULL)
		snprintf(buf, len, "%s\037%s\037%s", region, probe, cluster ? cluster : "");
	else
		snprintf(buf, len, "%s\037%s\037%s\037%d\037%s", region, probe,
		    cluster ? cluster : "", (int)row->kind, row->name);
}

static struct history_entry *
find(const struct history *h, const char *key)
{
	for (struct history_entry *e = h->bucket[hash(key)]; e != NULL; e = e->chain)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

/* Full: the subject seen longest ago goes (a cluster the configuration no longer has). */
static void
evict_oldest(struct history *h)
{
	struct history_entry **victim = NULL;

	for (size_t b = 0; b < HISTORY_BUCKETS; b++)
		for (struct history_entry **p = &h->bucket[b]; *p != NULL; p = &(*p)->chain)
			if (victim == NULL || (*p)->seen < (*victim)->seen)
				victim = p;
	if (victim != NULL) {
		struct history_entry *e = *victim;

		*victim = e->chain;
		free(e->key);
		free(e);
		h->n--;
	}
}

static struct history_entry *
lookup_or_add(struct history *h, const char *key)
{
	struct history_entry *e = find(h, key);
	size_t b;

	if (e != NULL)
		return e;
	if (h->n >= HISTORY_MAX_SUBJECTS)
		evict_oldest(h);
	e = xcalloc(1, sizeof *e);
	e->key = xstrdup(key);
	b = hash(key);
	e->chain = h->bucket[b];
	h->bucket[b] = e;
	h->n++;
	return e;
}

static void
add_mark(struct history_entry *e, enum kw_reason r, enum kw_hop hop, time_t now)
{
	struct history_mark *m = &e->mark[e->next];

	m->t = (uint32_t)now;
	m->reason = (uint8_t)r;
	m->hop = (uint8_t)hop;
	e->next = (e->next + 1) % HISTORY_MARKS;
	if (e->n < HISTORY_MARKS)
		e->n++;
	/* a state begins at the first run this process saw, or where the reason changed */
	if (e->seen == 0 || e->state != r)
		e->since = now;
	e->state = r;
	e->seen = now;
	if (r == KW_OK)
		e->last_ok = now;
}

enum kw_reason
history_row_reason(const struct result_row *row, enum kw_hop *hop)
{
	for (int i = 0; i < KW_HOP_COUNT; i++)
		if (row->hop[i].ran && row->hop[i].reason != KW_OK) {
			if (hop != NULL)
				*hop = (enum kw_hop)i;
			return row->hop[i].reason;
		}
	if (hop != NULL)
		*hop = KW_HOP_COUNT;
	return KW_OK;
}

void
history_record(struct history *h, const char *region, const char *probe, const char *cluster,
    const struct probe_result *res, time_t now)
{
	char key[800];

	if (h == NULL)
		return;		/* krbwatch probe: one run, no past */
	make_key(key, sizeof key, region, probe, cluster, NULL);
	add_mark(lookup_or_add(h, key), res->reason, KW_HOP_COUNT, now);
	for (size_t i = 0; i < res->nrows; i++) {
		const struct result_row *row = &res->rows[i];
		enum kw_hop hop;
		enum kw_reason r = history_row_reason(row, &hop);

		make_key(key, sizeof key, region, probe, cluster, row);
		add_mark(lookup_or_add(h, key), r, hop, now);
	}
}

const struct history_entry *
history_get(const struct history *h, const char *region, const char *probe, const char *cluster,
    const struct result_row *row)
{
	char key[800];

	if (h == NULL)
		return NULL;
	make_key(key, sizeof key, region, probe, cluster, row);
	return find(h, key);
}

const struct history_mark *
history_mark(const struct history_entry *e, unsigned i)
{
	unsigned oldest = e->n < HISTORY_MARKS ? 0 : e->next;

	return &e->mark[(oldest + i) % HISTORY_MARKS];
}

size_t
history_subjects(const struct history *h)
{
	return h->n;
}
