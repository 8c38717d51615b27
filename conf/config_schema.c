/*
 * What the keys of krbwatch.yml are, what type each takes, which are required, and their
 * defaults: the walk from libyaml's document tree to struct kw_config.  Every problem is
 * reported and the walk goes on, so that one run shows them all.  The shape (DESIGN.md,
 * "Configuration") is a contract: keys may be added here, never renamed.
 *
 * This room holds the top level (cs_load) and the tools every key's loader uses; the keys
 * themselves are in config_regions.c (realms, regions, clusters), config_identity.c (identity,
 * state_directory), config_alerts.c (alerts, webhooks) and config_web.c (web).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "../lib/xmalloc.h"
#include "config.h"
#include "config_int.h"

yaml_node_t *
cs_node_at(const struct loader *l, yaml_node_item_t i)
{
	return yaml_document_get_node(l->doc, i);
}

const char *
cs_sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

size_t
cs_npairs(const yaml_node_t *n)
{
	return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

size_t
cs_nitems(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

/* A plain scalar that YAML reads as null: "key:" with nothing after it, "~", "null". */
int
cs_is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	for (size_t i = 0; i < NELEM(nulls); i++)
		if (strcmp(cs_sval(n), nulls[i]) == 0)
			return 1;
	return 0;
}

/* What a node is, for "got ..." */
static const char *
describe(const yaml_node_t *n, char *buf, size_t size)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return cs_npairs(n) == 0 ? "an empty mapping" : "a mapping";
	case YAML_SEQUENCE_NODE:
		return cs_nitems(n) == 0 ? "an empty sequence" : "a sequence";
	case YAML_SCALAR_NODE:
		if (cs_is_null(n))
			return "nothing";
		if (n->data.scalar.length == 0)
			return "an empty string";
		if (strlen(cs_sval(n)) != n->data.scalar.length)
			return "text with a NUL character";
		snprintf(buf, size, "\"%.40s%s\"", cs_sval(n), n->data.scalar.length > 40 ? "..." : "");
		return buf;
	case YAML_NO_NODE:
		break;
	}
	return "nothing";
}

/* "line 4", or "line 4, column 12" when the repeat is on the same line. */
static const char *
first_at(yaml_mark_t first, yaml_mark_t now, char *buf, size_t size)
{
	if (first.line == now.line)
		snprintf(buf, size, "line %zu, column %zu", first.line + 1, first.column + 1);
	else
		snprintf(buf, size, "line %zu", first.line + 1);
	return buf;
}

/*
 * Counts one visit; once the budget is spent, says so (once) and returns -1 so that the walk
 * winds down.
 */
int
cs_visit(struct loader *l, const yaml_node_t *n)
{
	if (l->budget == 0)
		return -1;
	if (--l->budget == 0) {
		cl_error(l, n->start_mark, "too many settings once aliases are expanded, expected "
		    "a smaller configuration");
		return -1;
	}
	return 0;
}

void
cs_type_error(struct loader *l, const yaml_node_t *n, const char *expected, const char *what)
{
	char buf[64];

	cl_error(l, n->start_mark, "expected %s for %s, got %s", expected, what,
	    describe(n, buf, sizeof(buf)));
}

int
cs_want_pairs(struct loader *l, const yaml_node_t *n, const char *expected, const char *what,
    const char *one)
{
	if (n->type != YAML_MAPPING_NODE) {
		cs_type_error(l, n, expected, what);
		return -1;
	}
	if (cs_npairs(n) == 0) {
		cl_error(l, n->start_mark, "expected at least one %s in %s, got an empty mapping", one,
		    what);
		return -1;
	}
	return 0;
}

/* The text of a non-empty scalar, or NULL after a message. */
const char *
cs_text(struct loader *l, const yaml_node_t *n, const char *expected, const char *what)
{
	if (n->type != YAML_SCALAR_NODE || cs_is_null(n) || n->data.scalar.length == 0 ||
	    strlen(cs_sval(n)) != n->data.scalar.length) {
		cs_type_error(l, n, expected, what);
		return NULL;
	}
	return cs_sval(n);
}

/* "a, b or c" of a list of words, for "expected one of" */
char *
cs_word_list(const char *const *w, size_t n)
{
	char *out = xstrdup(""), *next;

	for (size_t i = 0; i < n; i++) {
		xasprintf(&next, "%s%s%s", out, i == 0 ? "" : i + 1 == n ? " or " : ", ", w[i]);
		free(out);
		out = next;
	}
	return out;
}

/*
 * Checks that n is a mapping whose keys are among keys[], each written once, and fills f[i]
 * for keys[i].  Unknown keys get the nearest known one as a suggestion.  Returns -1 when n is
 * not a mapping.
 */
int
cs_fields(struct loader *l, const yaml_node_t *n, const char *expected, const char *where,
    const char *const *keys, size_t nkeys, struct field *f)
{
	memset(f, 0, nkeys * sizeof(*f));
	if (cs_visit(l, n) == -1)
		return -1;
	if (n->type != YAML_MAPPING_NODE) {
		cs_type_error(l, n, expected, where);
		return -1;
	}
	for (size_t i = 0; i < cs_npairs(n); i++) {
		yaml_node_t *k = cs_node_at(l, n->data.mapping.pairs.start[i].key);
		yaml_node_t *v = cs_node_at(l, n->data.mapping.pairs.start[i].value);
		const char *name, *near;
		char *all, buf[48];
		size_t j;

		if (k->type != YAML_SCALAR_NODE || cs_is_null(k)) {
			cs_type_error(l, k, "a key name", where);
			continue;
		}
		name = cs_sval(k);
		for (j = 0; j < nkeys && strcmp(name, keys[j]) != 0; j++)
			;
		if (j == nkeys) {
			if ((near = cp_suggest(name, keys, nkeys)) != NULL) {
				cl_error(l, k->start_mark, "unknown key \"%s\" in %s, did you mean "
				    "\"%s\"?", name, where, near);
			} else {
				all = cs_word_list(keys, nkeys);
				cl_error(l, k->start_mark, "unknown key \"%s\" in %s, expected %s",
				    name, where, all);
				free(all);
			}
		} else if (f[j].key != NULL) {
			cl_error(l, k->start_mark, "duplicate key \"%s\" in %s (first at %s)", name,
			    where, first_at(f[j].key->start_mark, k->start_mark, buf, sizeof(buf)));
		} else {
			f[j].key = k;
			f[j].val = v;
		}
	}
	return 0;
}

int
cs_need(struct loader *l, const yaml_node_t *map, const struct field *f, const char *key,
    const char *where)
{
	if (f->val != NULL)
		return 0;
	cl_error(l, map->start_mark, "missing required key \"%s\" in %s", key, where);
	return -1;
}

/*
 * The name in the key of a mapping's pair i (a realm, a Region), or NULL after a message: not
 * a scalar, or written before in the same mapping.
 */
const char *
cs_entry_name(struct loader *l, const yaml_node_t *map, size_t i, const char *what)
{
	yaml_node_t *k = cs_node_at(l, map->data.mapping.pairs.start[i].key);
	char expected[64], buf[48];

	snprintf(expected, sizeof(expected), "a %s name", what);
	if (cs_text(l, k, expected, "a key") == NULL)
		return NULL;
	for (size_t j = 0; j < i; j++) {
		yaml_node_t *o = cs_node_at(l, map->data.mapping.pairs.start[j].key);

		if (o->type == YAML_SCALAR_NODE && strcmp(cs_sval(o), cs_sval(k)) == 0) {
			cl_error(l, k->start_mark, "duplicate %s \"%s\" (first at %s)", what,
			    cs_sval(k), first_at(o->start_mark, k->start_mark, buf, sizeof(buf)));
			return NULL;
		}
	}
	return cs_sval(k);
}

int
cs_want_filled(struct loader *l, const yaml_node_t *n, yaml_node_type_t type,
    const char *expected, const char *what)
{
	size_t count = type == YAML_SEQUENCE_NODE ? cs_nitems(n) : cs_npairs(n);

	if (n->type == type && count > 0)
		return 0;
	cs_type_error(l, n, expected, what);
	return -1;
}

int
cs_next_item(struct loader *l, const yaml_node_t *seq, enum cs_visit visit, struct cs_walk *w)
{
	if (w->next >= cs_nitems(seq) || l->budget == 0)
		return 0;
	w->i = w->next++;
	w->val = cs_node_at(l, seq->data.sequence.items.start[w->i]);
	return visit == CS_OWN_VISIT || cs_visit(l, w->val) == 0;
}

int
cs_next_entry(struct loader *l, const yaml_node_t *map, const char *what, enum cs_visit visit,
    struct cs_walk *w)
{
	while (w->next < cs_npairs(map) && l->budget > 0) {
		w->i = w->next++;
		w->key = cs_node_at(l, map->data.mapping.pairs.start[w->i].key);
		w->val = cs_node_at(l, map->data.mapping.pairs.start[w->i].value);
		if (visit == CS_VISIT && cs_visit(l, w->val) == -1)
			return 0;
		if ((w->name = cs_entry_name(l, map, w->i, what)) != NULL)
			return 1;
	}
	return 0;
}

void
cs_load_section(struct loader *l, const yaml_node_t *n, const struct cs_section *s)
{
	const char *names[8] = { NULL };
	struct field f[NELEM(names)];

	if (s->nkeys > NELEM(names))
		abort();
	for (size_t i = 0; i < s->nkeys; i++)
		names[i] = s->keys[i].name;
	if (cs_fields(l, n, s->expected, s->where, names, s->nkeys, f) == -1)
		return;
	for (size_t i = 0; i < s->nkeys; i++)
		if (f[i].val != NULL)
			s->keys[i].load(l, f[i].val);
}

/* Names that end up in metric labels, alert names and status lines: no surprises there. */
int
cs_is_label_name(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

/* No space, control character, or character that means something else in a principal. */
int
cs_is_word(const char *s, const char *also_bad)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f || strchr(also_bad, *s) != NULL)
			return 0;
	return 1;
}

int
cs_duration(struct loader *l, const yaml_node_t *n, const char *key, uint64_t *ms)
{
	const char *s;
	int rc;

	if ((s = cs_text(l, n, "a duration like 30s", key)) == NULL)
		return -1;
	if ((rc = cp_duration(s, ms)) == -1)
		cl_error(l, n->start_mark, "bad duration \"%s\" for %s, expected a number with a "
		    "unit: ms, s, m or h (e.g. 30s)", s, key);
	else if (rc == -2)
		cl_error(l, n->start_mark, "bad duration \"%s\" for %s, expected at most 24h", s,
		    key);
	else if (*ms == 0)
		cl_error(l, n->start_mark, "bad duration \"%s\" for %s, expected more than 0", s,
		    key);
	else if (*ms > MAX_DURATION_MS)
		cl_error(l, n->start_mark, "bad duration \"%s\" for %s, expected at most 24h", s,
		    key);
	else
		return 0;
	return -1;
}

/* A port written on its own ("port: 5432"). */
int
cs_port_value(struct loader *l, const yaml_node_t *n, const char *where, uint16_t *port)
{
	const char *s;
	uint64_t v;

	if ((s = cs_text(l, n, "a port number", "port")) == NULL)
		return -1;
	if (cp_uint(s, 65535, &v) == -1 || v == 0) {
		cl_error(l, n->start_mark, "bad port \"%s\" in %s, expected a number from 1 to "
		    "65535", s, where);
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

/*
 * A sequence of addresses; ip_only for resolvers, which cannot be names since they are how
 * names get resolved.  The same address twice is refused: it would be one metric series.
 */
void
cs_addr_list(struct loader *l, const yaml_node_t *seq, const char *what, uint16_t port,
    int ip_only, struct kw_addr **out, size_t *n)
{
	*out = xcalloc(cs_nitems(seq), sizeof(**out));
	*n = 0;
	for (struct cs_walk w = { 0 }; cs_next_item(l, seq, CS_VISIT, &w);) {
		yaml_node_t *it = w.val;
		struct kw_addr a = { 0 };
		enum cp_addr_kind kind;
		const char *s, *why;
		size_t j;
		int has_port;

		if ((s = cs_text(l, it, "an address", what)) == NULL)
			continue;
		if (cp_addr(s, port, &a, &has_port, &kind, &why) == -1) {
			cl_error(l, it->start_mark, "bad address \"%s\" in %s: %s", s, what, why);
			continue;
		}
		if (ip_only && kind == CP_ADDR_NAME) {
			cl_error(l, it->start_mark, "bad address \"%s\" in %s: a host name, expected "
			    "an IP address", s, what);
			free(a.host);
			continue;
		}
		for (j = 0; j < *n; j++)
			if (strcasecmp((*out)[j].host, a.host) == 0 && (*out)[j].port == a.port)
				break;
		if (j < *n) {
			yaml_mark_t m = { .line = (size_t)(*out)[j].line - 1,
			    .column = (size_t)(*out)[j].col - 1 };
			char buf[48];

			cl_error(l, it->start_mark, "duplicate address \"%s\" in %s (first at %s)", s,
			    what, first_at(m, it->start_mark, buf, sizeof(buf)));
			free(a.host);
			continue;
		}
		a.line = (int)it->start_mark.line + 1;
		a.col = (int)it->start_mark.column + 1;
		(*out)[(*n)++] = a;
	}
}

/* A KDC list: a sequence of addresses (port 88 by default) or "dns". */
void
cs_kdcs_value(struct loader *l, const yaml_node_t *n, const char *what, struct kw_kdcs *k)
{
	k->from_dns = 0;
	if (n->type == YAML_SCALAR_NODE && strcmp(cs_sval(n), "dns") == 0) {
		k->from_dns = 1;
	} else if (n->type == YAML_SEQUENCE_NODE && cs_nitems(n) > 0) {
		cs_addr_list(l, n, what, 88, 0, &k->addrs, &k->n);
	} else if (n->type == YAML_SEQUENCE_NODE) {
		cl_error(l, n->start_mark, "expected at least one address or \"dns\" for %s, got an "
		    "empty sequence", what);
	} else {
		cs_type_error(l, n, "a sequence of addresses or \"dns\"", what);
	}
}

/* One of a fixed set of words, with a suggestion when it is close to one. */
int
cs_choice(struct loader *l, const yaml_node_t *n, const char *what, const char *const *words,
    size_t nwords)
{
	const char *s, *near;
	char *all;
	size_t i;

	all = cs_word_list(words, nwords);
	if ((s = cs_text(l, n, all, what)) != NULL) {
		for (i = 0; i < nwords; i++)
			if (strcmp(s, words[i]) == 0) {
				free(all);
				return (int)i;
			}
		if ((near = cp_suggest(s, words, nwords)) != NULL)
			cl_error(l, n->start_mark, "unknown %s \"%s\", expected %s; did you mean "
			    "\"%s\"?", what, s, all, near);
		else
			cl_error(l, n->start_mark, "unknown %s \"%s\", expected %s", what, s, all);
	}
	free(all);
	return -1;
}

/* A whole number from min to max for key, or -1 after a message. */
int
cs_whole(struct loader *l, const yaml_node_t *n, const char *key, const char *where,
    uint64_t min, uint64_t max, uint64_t *v)
{
	const char *s;

	if ((s = cs_text(l, n, "a number", key)) == NULL)
		return -1;
	if (cp_uint(s, max, v) == -1 || *v < min) {
		cl_error(l, n->start_mark, "bad %s \"%s\" in %s, expected a whole number from "
		    "%llu to %llu", key, s, where, (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	return 0;
}

static void
load_listen(struct loader *l, const yaml_node_t *n)
{
	struct kw_config *c = l->conf;
	enum cp_addr_kind kind;
	const char *s = KW_DEFAULT_LISTEN, *why;
	int has_port;

	if (n == NULL) {
		if (cp_addr(s, 10088, &c->listen, &has_port, &kind, &why) == -1)
			abort();
		return;
	}
	if ((s = cs_text(l, n, "an address like 127.0.0.1:10088", "listen")) == NULL)
		return;
	if (cp_addr(s, 10088, &c->listen, &has_port, &kind, &why) == -1) {
		cl_error(l, n->start_mark, "bad address \"%s\" for listen: %s", s, why);
		return;
	}
	c->listen.line = (int)n->start_mark.line + 1;
	c->listen.col = (int)n->start_mark.column + 1;
}

/* Both durations as written (or the default) for the message that compares them. */
static void
check_timeout(struct loader *l, const struct field *iv, const struct field *to)
{
	const struct kw_config *c = l->conf;
	char ibuf[48], tbuf[48];

	if (c->timeout_ms <= c->interval_ms)
		return;
	snprintf(ibuf, sizeof(ibuf), "%s", iv->val != NULL ? cs_sval(iv->val) : "30s (the default)");
	snprintf(tbuf, sizeof(tbuf), "%s", to->val != NULL ? cs_sval(to->val) : "10s (the default)");
	if (to->val != NULL)
		cl_error(l, to->val->start_mark, "timeout %s is longer than interval %s, expected "
		    "at most the interval", tbuf, ibuf);
	else
		cl_error(l, iv->val->start_mark, "interval %s is shorter than timeout %s, expected "
		    "at least the timeout", ibuf, tbuf);
}

/*
 * The top level.  Realms are loaded before regions and identity, whatever their order in the
 * file, since those refer to them; messages are put in file order afterwards.
 */
void
cs_load(struct loader *l, yaml_node_t *root)
{
	enum { LISTEN, INTERVAL, TIMEOUT, IDENTITY, REALMS, REGIONS, ALERTS, WEB, STATE_DIR, GLOBALS,
	    LOGIN_CONC };
	static const char *const keys[] = {
		"listen", "interval", "timeout", "identity", "realms", "regions", "alerts", "web",
		"state_directory", "global_databases", "login_concurrency",
	};
	uint64_t v;
	struct kw_config *c = l->conf;
	struct field f[NELEM(keys)];
	int ok = 1;

	c->interval_ms = KW_DEFAULT_INTERVAL_MS;
	c->timeout_ms = KW_DEFAULT_TIMEOUT_MS;
	c->login_concurrency = KW_DEFAULT_LOGIN_CONCURRENCY;
	c->after_failures = KW_DEFAULT_AFTER_FAILURES;
	c->max_failed_attempts = KW_DEFAULT_MAX_FAILED_ATTEMPTS;
	c->lockout_window_ms = KW_DEFAULT_LOCKOUT_WINDOW_MS;
	c->web.min_version = 12;
	if (cs_fields(l, root, "a mapping of settings", "the top level", keys, NELEM(keys), f) == -1)
		return;
	load_listen(l, f[LISTEN].val);
	if (f[INTERVAL].val != NULL && cs_duration(l, f[INTERVAL].val, "interval", &c->interval_ms))
		ok = 0;
	if (f[TIMEOUT].val != NULL && cs_duration(l, f[TIMEOUT].val, "timeout", &c->timeout_ms))
		ok = 0;
	if (ok)
		check_timeout(l, &f[INTERVAL], &f[TIMEOUT]);
	if (f[LOGIN_CONC].val != NULL && cs_whole(l, f[LOGIN_CONC].val, "login_concurrency",
	    "the top level", 1, KW_MAX_LOGIN_CONCURRENCY, &v) == 0)
		c->login_concurrency = (unsigned)v;
	cs_need(l, root, &f[IDENTITY], "identity", "the top level");
	cs_need(l, root, &f[REALMS], "realms", "the top level");
	cs_need(l, root, &f[REGIONS], "regions", "the top level");
	if (f[REALMS].val != NULL)
		cs_load_realms(l, f[REALMS].val);
	if (f[REGIONS].val != NULL)
		cs_load_regions(l, f[REGIONS].val);
	if (f[IDENTITY].val != NULL)
		cs_load_identity(l, f[IDENTITY].val);
	cs_check_database_realm(l);
	if (f[ALERTS].val != NULL)
		cs_load_section(l, f[ALERTS].val, &cs_alerts);
	if (f[WEB].val != NULL)
		cs_load_section(l, f[WEB].val, &cs_web);
	cs_load_state_directory(l, f[STATE_DIR].val);
	ce_load_globals(l, f[GLOBALS].val);	/* after the regions: members name their clusters */
}
