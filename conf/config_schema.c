/*
 * What the keys of krbwatch.yml are, what type each takes, which are required, and their
 * defaults: the walk from libyaml's document tree to struct kw_config.  Every problem is
 * reported and the walk goes on, so that one run shows them all.  The shape (DESIGN.md,
 * "Configuration") is a contract: keys may be added here, never renamed.
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

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_DURATION_MS (24ULL * 3600 * 1000)

/* A known key of a mapping and where it was written (NULL: not written). */
struct field {
	yaml_node_t *key, *val;
};

static yaml_node_t *
node_at(const struct loader *l, yaml_node_item_t i)
{
	return yaml_document_get_node(l->doc, i);
}

static const char *
sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static size_t
npairs(const yaml_node_t *n)
{
	return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

static size_t
nitems(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

/* A plain scalar that YAML reads as null: "key:" with nothing after it, "~", "null". */
static int
is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	for (size_t i = 0; i < NELEM(nulls); i++)
		if (strcmp(sval(n), nulls[i]) == 0)
			return 1;
	return 0;
}

/* What a node is, for "got ..." */
static const char *
describe(const yaml_node_t *n, char *buf, size_t size)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return npairs(n) == 0 ? "an empty mapping" : "a mapping";
	case YAML_SEQUENCE_NODE:
		return nitems(n) == 0 ? "an empty sequence" : "a sequence";
	case YAML_SCALAR_NODE:
		if (is_null(n))
			return "nothing";
		if (n->data.scalar.length == 0)
			return "an empty string";
		if (strlen(sval(n)) != n->data.scalar.length)
			return "text with a NUL character";
		snprintf(buf, size, "\"%.40s%s\"", sval(n), n->data.scalar.length > 40 ? "..." : "");
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
static int
visit(struct loader *l, const yaml_node_t *n)
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

static void
type_error(struct loader *l, const yaml_node_t *n, const char *expected, const char *what)
{
	char buf[64];

	cl_error(l, n->start_mark, "expected %s for %s, got %s", expected, what,
	    describe(n, buf, sizeof(buf)));
}

/* The text of a non-empty scalar, or NULL after a message. */
static const char *
text(struct loader *l, const yaml_node_t *n, const char *expected, const char *what)
{
	if (n->type != YAML_SCALAR_NODE || is_null(n) || n->data.scalar.length == 0 ||
	    strlen(sval(n)) != n->data.scalar.length) {
		type_error(l, n, expected, what);
		return NULL;
	}
	return sval(n);
}

/* "a, b or c" of a list of words, for "expected one of" */
static char *
word_list(const char *const *w, size_t n)
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
static int
fields(struct loader *l, const yaml_node_t *n, const char *expected, const char *where,
    const char *const *keys, size_t nkeys, struct field *f)
{
	memset(f, 0, nkeys * sizeof(*f));
	if (visit(l, n) == -1)
		return -1;
	if (n->type != YAML_MAPPING_NODE) {
		type_error(l, n, expected, where);
		return -1;
	}
	for (size_t i = 0; i < npairs(n); i++) {
		yaml_node_t *k = node_at(l, n->data.mapping.pairs.start[i].key);
		yaml_node_t *v = node_at(l, n->data.mapping.pairs.start[i].value);
		const char *name, *near;
		char *all, buf[48];
		size_t j;

		if (k->type != YAML_SCALAR_NODE || is_null(k)) {
			type_error(l, k, "a key name", where);
			continue;
		}
		name = sval(k);
		for (j = 0; j < nkeys && strcmp(name, keys[j]) != 0; j++)
			;
		if (j == nkeys) {
			if ((near = cp_suggest(name, keys, nkeys)) != NULL) {
				cl_error(l, k->start_mark, "unknown key \"%s\" in %s, did you mean "
				    "\"%s\"?", name, where, near);
			} else {
				all = word_list(keys, nkeys);
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

static int
need(struct loader *l, const yaml_node_t *map, const struct field *f, const char *key,
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
static const char *
entry_name(struct loader *l, const yaml_node_t *map, size_t i, const char *what)
{
	yaml_node_t *k = node_at(l, map->data.mapping.pairs.start[i].key);
	char expected[64], buf[48];

	snprintf(expected, sizeof(expected), "a %s name", what);
	if (text(l, k, expected, "a key") == NULL)
		return NULL;
	for (size_t j = 0; j < i; j++) {
		yaml_node_t *o = node_at(l, map->data.mapping.pairs.start[j].key);

		if (o->type == YAML_SCALAR_NODE && strcmp(sval(o), sval(k)) == 0) {
			cl_error(l, k->start_mark, "duplicate %s \"%s\" (first at %s)", what,
			    sval(k), first_at(o->start_mark, k->start_mark, buf, sizeof(buf)));
			return NULL;
		}
	}
	return sval(k);
}

/* Names that end up in metric labels, alert names and status lines: no surprises there. */
static int
is_label_name(const char *s)
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
static int
is_word(const char *s, const char *also_bad)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f || strchr(also_bad, *s) != NULL)
			return 0;
	return 1;
}

static int
duration(struct loader *l, const yaml_node_t *n, const char *key, uint64_t *ms)
{
	const char *s;
	int rc;

	if ((s = text(l, n, "a duration like 30s", key)) == NULL)
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
static int
port_value(struct loader *l, const yaml_node_t *n, const char *where, uint16_t *port)
{
	const char *s;
	uint64_t v;

	if ((s = text(l, n, "a port number", "port")) == NULL)
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
static void
addr_list(struct loader *l, const yaml_node_t *seq, const char *what, uint16_t port,
    int ip_only, struct kw_addr **out, size_t *n)
{
	*out = xcalloc(nitems(seq), sizeof(**out));
	*n = 0;
	for (size_t i = 0; i < nitems(seq); i++) {
		yaml_node_t *it = node_at(l, seq->data.sequence.items.start[i]);
		struct kw_addr a = { 0 };
		enum cp_addr_kind kind;
		const char *s, *why;
		size_t j;
		int has_port;

		if (visit(l, it) == -1)
			break;
		if ((s = text(l, it, "an address", what)) == NULL)
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
static void
kdcs_value(struct loader *l, const yaml_node_t *n, const char *what, struct kw_kdcs *k)
{
	k->from_dns = 0;
	if (n->type == YAML_SCALAR_NODE && strcmp(sval(n), "dns") == 0) {
		k->from_dns = 1;
	} else if (n->type == YAML_SEQUENCE_NODE && nitems(n) > 0) {
		addr_list(l, n, what, 88, 0, &k->addrs, &k->n);
	} else if (n->type == YAML_SEQUENCE_NODE) {
		cl_error(l, n->start_mark, "expected at least one address or \"dns\" for %s, got an "
		    "empty sequence", what);
	} else {
		type_error(l, n, "a sequence of addresses or \"dns\"", what);
	}
}

/* A realm named in a Region or the principal that realms does not have. */
static void
unknown_realm(struct loader *l, yaml_mark_t mark, const char *name, const char *context)
{
	const struct kw_config *c = l->conf;
	const char **names = xcalloc(c->nrealms, sizeof(*names));
	const char *near;
	char *all;

	for (size_t i = 0; i < c->nrealms; i++)
		names[i] = c->realms[i].name;
	if ((near = cp_suggest(name, names, c->nrealms)) != NULL) {
		cl_error(l, mark, "realm \"%s\" %s is not in realms, did you mean \"%s\"?", name,
		    context, near);
	} else {
		all = word_list(names, c->nrealms);
		cl_error(l, mark, "realm \"%s\" %s is not in realms, expected %s", name, context,
		    all);
		free(all);
	}
	free(names);
}

static void
load_realms(struct loader *l, const yaml_node_t *n)
{
	static const char *const keys[] = { "domain", "kdcs" };
	struct kw_config *c = l->conf;
	struct field f[NELEM(keys)];

	if (n->type != YAML_MAPPING_NODE) {
		type_error(l, n, "a mapping of realm names to their domain and kdcs", "realms");
		return;
	}
	if (npairs(n) == 0) {
		cl_error(l, n->start_mark, "expected at least one realm in realms, got an empty "
		    "mapping");
		return;
	}
	c->realms = xcalloc(npairs(n), sizeof(*c->realms));
	for (size_t i = 0; i < npairs(n) && l->budget > 0; i++) {
		yaml_node_t *k = node_at(l, n->data.mapping.pairs.start[i].key);
		yaml_node_t *v = node_at(l, n->data.mapping.pairs.start[i].value);
		const char *name, *s;
		struct kw_realm *r;
		char *where;

		if ((name = entry_name(l, n, i, "realm")) == NULL)
			continue;
		if (!is_word(name, "@/\\:"))
			cl_error(l, k->start_mark, "bad realm name \"%s\", expected a name like "
			    "ONPREM.EXAMPLE.COM (no space, \"@\", \"/\", \"\\\" or \":\")", name);
		r = &c->realms[c->nrealms++];
		r->name = xstrdup(name);
		r->kdcs.from_dns = 1;
		xasprintf(&where, "realm \"%s\"", name);
		if (fields(l, v, "a mapping with domain and kdcs", where, keys, NELEM(keys), f) == 0) {
			if (need(l, v, &f[0], "domain", where) == 0 &&
			    (s = text(l, f[0].val, "a DNS domain", "domain")) != NULL) {
				if (cp_hostname(s) == -1)
					cl_error(l, f[0].val->start_mark, "bad domain \"%s\" in %s, "
					    "expected a DNS name like onprem.example.com", s, where);
				else
					r->domain = xstrdup(s);
			}
			if (f[1].val != NULL) {
				r->kdcs_given = 1;
				kdcs_value(l, f[1].val, "kdcs", &r->kdcs);
			}
		}
		free(where);
	}
	l->realms_ok = c->nrealms > 0;
}

/* Cluster names are metric labels and alert names: unique in the whole file. */
static void
cluster_name(struct loader *l, const yaml_node_t *n, struct kw_cluster *c)
{
	const char *s;
	size_t i;

	if ((s = text(l, n, "a cluster name", "name")) == NULL)
		return;
	if (!is_label_name(s)) {
		cl_error(l, n->start_mark, "bad cluster name \"%s\", expected letters, digits, "
		    "\".\", \"_\" and \"-\" (e.g. aurora-east)", s);
		return;
	}
	for (i = 0; i < l->ncluster_names; i++)
		if (strcmp(l->cluster_names[i], s) == 0)
			break;
	if (i < l->ncluster_names) {
		cl_error(l, n->start_mark, "duplicate cluster name \"%s\" (first at line %d)", s,
		    l->cluster_lines[i]);
		return;
	}
	l->cluster_names = xreallocarray(l->cluster_names, i + 1, sizeof(*l->cluster_names));
	l->cluster_lines = xreallocarray(l->cluster_lines, i + 1, sizeof(*l->cluster_lines));
	l->cluster_names[i] = s;
	l->cluster_lines[i] = (int)n->start_mark.line + 1;
	l->ncluster_names++;
	c->name = xstrdup(s);
}

/* One of a fixed set of words, with a suggestion when it is close to one. */
static int
choice(struct loader *l, const yaml_node_t *n, const char *what, const char *const *words,
    size_t nwords)
{
	const char *s, *near;
	char *all;
	size_t i;

	all = word_list(words, nwords);
	if ((s = text(l, n, all, what)) != NULL) {
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

static void
load_tls(struct loader *l, const yaml_node_t *n, const char *where, struct kw_cluster *c)
{
	static const char *const keys[] = { "mode", "ca" };
	static const char *const modes[] = {
		[KW_TLS_DISABLE] = "disable", [KW_TLS_REQUIRE] = "require",
		[KW_TLS_VERIFY_CA] = "verify-ca", [KW_TLS_VERIFY_IDENTITY] = "verify-identity",
	};
	struct field f[NELEM(keys)];
	const char *s;
	char *tls_where, *resolved;
	int m;

	xasprintf(&tls_where, "the tls of %s", where);
	if (fields(l, n, "a mapping with mode and ca", tls_where, keys, NELEM(keys), f) == 0) {
		if (f[0].val != NULL && (m = choice(l, f[0].val, "tls mode", modes,
		    NELEM(modes))) >= 0)
			c->tls_mode = (enum kw_tls_mode)m;
		if (f[1].val != NULL && (s = text(l, f[1].val, "a CA bundle file", "ca")) != NULL) {
			if (c->tls_mode == KW_TLS_DISABLE && f[0].val != NULL)
				cl_error(l, f[1].key->start_mark, "ca is not used with tls mode "
				    "disable, expected no ca or another mode");
			resolved = cf_resolve(l, s, 0);
			cf_check(l, f[1].val->start_mark, "ca", s, resolved, 0);
			c->tls_ca = cf_absolute(resolved);
			free(resolved);
		}
	}
	free(tls_where);
}

/* The value of key "name" in a mapping, when it is there and is text: to name the cluster. */
static const char *
peek_name(const struct loader *l, const yaml_node_t *n)
{
	if (n->type != YAML_MAPPING_NODE)
		return NULL;
	for (size_t i = 0; i < npairs(n); i++) {
		yaml_node_t *k = node_at(l, n->data.mapping.pairs.start[i].key);
		yaml_node_t *v = node_at(l, n->data.mapping.pairs.start[i].value);

		if (k->type == YAML_SCALAR_NODE && strcmp(sval(k), "name") == 0 &&
		    v->type == YAML_SCALAR_NODE && !is_null(v) && v->data.scalar.length > 0 &&
		    strlen(sval(v)) == v->data.scalar.length)
			return sval(v);
	}
	return NULL;
}

static void
load_cluster(struct loader *l, const yaml_node_t *n, const char *region, size_t idx,
    struct kw_cluster *c)
{
	enum { NAME, ENGINE, HOST, PORT, USER, EXPECT_USER, SPN, DATABASE, TLS };
	static const char *const keys[] = {
		"name", "engine", "host", "port", "user", "expect_user", "spn", "database", "tls",
	};
	static const char *const engines[] = {
		[KW_ENGINE_MYSQL] = "mysql", [KW_ENGINE_MARIADB] = "mariadb",
		[KW_ENGINE_POSTGRESQL] = "postgresql",
	};
	struct field f[NELEM(keys)];
	const char *name = peek_name(l, n), *s, *slash;
	enum cp_addr_kind kind;
	char *where;
	int e = -1;

	if (name != NULL)
		xasprintf(&where, "cluster \"%s\"", name);
	else
		xasprintf(&where, "cluster %zu of Region \"%s\"", idx + 1, region);
	c->line = (int)n->start_mark.line + 1;
	c->col = (int)n->start_mark.column + 1;
	c->tls_mode = KW_TLS_VERIFY_IDENTITY;
	if (fields(l, n, "a mapping with name, engine, host and user", where, keys, NELEM(keys),
	    f) == -1) {
		free(where);
		return;
	}
	if (need(l, n, &f[NAME], "name", where) == 0)
		cluster_name(l, f[NAME].val, c);
	if (need(l, n, &f[ENGINE], "engine", where) == 0 &&
	    (e = choice(l, f[ENGINE].val, "engine", engines, NELEM(engines))) >= 0)
		c->engine = (enum kw_engine)e;
	if (need(l, n, &f[HOST], "host", where) == 0 &&
	    (s = text(l, f[HOST].val, "a host name or an IP address", "host")) != NULL) {
		if (cp_host(s, &kind) == -1)
			cl_error(l, f[HOST].val->start_mark, "bad host \"%s\" in %s, expected %s", s,
			    where, s[0] == '[' ? "an IPv6 address without brackets" :
			    strchr(s, ':') != NULL && strchr(s, ':') == strrchr(s, ':') ?
			    "a host name or an IP address without a port (that goes in port)" :
			    "a host name (RFC 1123) or an IP address");
		else
			c->host = xstrdup(s);
	}
	c->port = e == KW_ENGINE_POSTGRESQL ? 5432 : 3306;
	if (f[PORT].val != NULL)
		port_value(l, f[PORT].val, where, &c->port);
	if (need(l, n, &f[USER], "user", where) == 0 &&
	    (s = text(l, f[USER].val, "a database user name", "user")) != NULL)
		c->user = xstrdup(s);
	if (f[EXPECT_USER].val != NULL &&
	    (s = text(l, f[EXPECT_USER].val, "a user name", "expect_user")) != NULL)
		c->expect_user = xstrdup(s);
	if (f[SPN].val != NULL && (s = text(l, f[SPN].val, "a service principal", "spn")) != NULL) {
		if ((slash = strchr(s, '/')) == NULL || slash == s || slash[1] == '\0' ||
		    !is_word(s, ""))
			cl_error(l, f[SPN].val->start_mark, "bad spn \"%s\", expected SERVICE/HOST "
			    "(e.g. MySQL/db.example.com)", s);
		else
			c->spn = xstrdup(s);
	}
	if (f[DATABASE].val != NULL && e >= 0 && e != KW_ENGINE_POSTGRESQL)
		cl_error(l, f[DATABASE].key->start_mark, "database is only used with engine "
		    "postgresql, expected no database for engine %s", engines[e]);
	else if (f[DATABASE].val != NULL &&
	    (s = text(l, f[DATABASE].val, "a database name", "database")) != NULL)
		c->database = xstrdup(s);
	else if (e == KW_ENGINE_POSTGRESQL && f[DATABASE].val == NULL)
		c->database = xstrdup("postgres");
	if (f[TLS].val != NULL)
		load_tls(l, f[TLS].val, where, c);
	free(where);
}

static void
load_region_kdcs(struct loader *l, const yaml_node_t *n, const char *where, struct kw_region *r)
{
	if (n->type != YAML_MAPPING_NODE) {
		type_error(l, n, "a mapping of realm names to a sequence of addresses or \"dns\"",
		    "kdcs");
		return;
	}
	r->kdcs = xcalloc(npairs(n), sizeof(*r->kdcs));
	for (size_t i = 0; i < npairs(n) && l->budget > 0; i++) {
		yaml_node_t *k = node_at(l, n->data.mapping.pairs.start[i].key);
		yaml_node_t *v = node_at(l, n->data.mapping.pairs.start[i].value);
		struct kw_region_kdcs *rk;
		const char *realm;
		char *what, *context;

		if ((realm = entry_name(l, n, i, "realm")) == NULL)
			continue;
		if (l->realms_ok && config_realm(l->conf, realm) == NULL) {
			xasprintf(&context, "in the kdcs of %s", where);
			unknown_realm(l, k->start_mark, realm, context);
			free(context);
		}
		rk = &r->kdcs[r->nkdcs++];
		rk->realm = xstrdup(realm);
		xasprintf(&what, "the kdcs of %s in %s", realm, where);
		kdcs_value(l, v, what, &rk->kdcs);
		free(what);
	}
}

static void
load_region(struct loader *l, const char *name, const yaml_node_t *k, const yaml_node_t *n,
    struct kw_region *r)
{
	enum { SITE, RESOLVERS, KDCS, CLUSTERS };
	static const char *const keys[] = { "site", "resolvers", "kdcs", "clusters" };
	struct field f[NELEM(keys)];
	const char *s;
	char *where;

	r->name = xstrdup(name);
	r->line = (int)k->start_mark.line + 1;
	r->col = (int)k->start_mark.column + 1;
	if (!is_label_name(name))
		cl_error(l, k->start_mark, "bad Region name \"%s\", expected letters, digits, "
		    "\".\", \"_\" and \"-\" (e.g. us-east-1)", name);
	xasprintf(&where, "Region \"%s\"", name);
	if (fields(l, n, "a mapping with resolvers, kdcs and clusters", where, keys, NELEM(keys),
	    f) == -1) {
		free(where);
		return;
	}
	if (f[SITE].val == NULL)
		r->site = xstrdup(name);
	else if ((s = text(l, f[SITE].val, "an AD site name", "site")) != NULL) {
		if (!is_word(s, ".") || strlen(s) > 63)
			cl_error(l, f[SITE].val->start_mark, "bad site \"%s\", expected an AD site "
			    "name (a DNS label: no dot or space, at most 63 characters)", s);
		else
			r->site = xstrdup(s);
	}
	if (need(l, n, &f[RESOLVERS], "resolvers", where) == 0) {
		yaml_node_t *v = f[RESOLVERS].val;

		if (v->type != YAML_SEQUENCE_NODE || nitems(v) == 0)
			type_error(l, v, "a sequence of IP addresses", "resolvers");
		else
			addr_list(l, v, "resolvers", 53, 1, &r->resolvers, &r->nresolvers);
	}
	if (f[KDCS].val != NULL)
		load_region_kdcs(l, f[KDCS].val, where, r);
	if (f[CLUSTERS].val != NULL) {
		yaml_node_t *v = f[CLUSTERS].val;

		if (v->type != YAML_SEQUENCE_NODE) {
			type_error(l, v, "a sequence (an item per cluster)", "clusters");
		} else {
			r->clusters = xcalloc(nitems(v), sizeof(*r->clusters));
			for (size_t i = 0; i < nitems(v) && l->budget > 0; i++)
				load_cluster(l, node_at(l, v->data.sequence.items.start[i]), name, i,
				    &r->clusters[r->nclusters++]);
		}
	}
	free(where);
}

static void
load_regions(struct loader *l, const yaml_node_t *n)
{
	struct kw_config *c = l->conf;

	if (n->type != YAML_MAPPING_NODE) {
		type_error(l, n, "a mapping of Region names to their settings", "regions");
		return;
	}
	if (npairs(n) == 0) {
		cl_error(l, n->start_mark, "expected at least one Region in regions, got an empty "
		    "mapping");
		return;
	}
	c->regions = xcalloc(npairs(n), sizeof(*c->regions));
	for (size_t i = 0; i < npairs(n) && l->budget > 0; i++) {
		const char *name;

		if ((name = entry_name(l, n, i, "Region")) == NULL)
			continue;
		load_region(l, name, node_at(l, n->data.mapping.pairs.start[i].key),
		    node_at(l, n->data.mapping.pairs.start[i].value), &c->regions[c->nregions++]);
	}
}

static int whole(struct loader *, const yaml_node_t *, const char *, const char *, uint64_t,
    uint64_t, uint64_t *);

static void
load_identity(struct loader *l, const yaml_node_t *n)
{
	enum { PRINCIPAL, KEYTAB, MAX_FAILED, WINDOW };
	static const char *const keys[] = {
		"principal", "keytab", "max_failed_attempts", "lockout_window",
	};
	struct kw_config *c = l->conf;
	struct field f[NELEM(keys)];
	const char *s, *at;
	char *resolved;
	uint64_t v;

	if (fields(l, n, "a mapping with principal and keytab", "identity", keys, NELEM(keys),
	    f) == -1)
		return;
	if (need(l, n, &f[PRINCIPAL], "principal", "identity") == 0 &&
	    (s = text(l, f[PRINCIPAL].val, "a principal like krbmon@ONPREM.EXAMPLE.COM",
	    "principal")) != NULL) {
		if ((at = strrchr(s, '@')) == NULL || at == s || at[1] == '\0' ||
		    !is_word(s, ""))
			cl_error(l, f[PRINCIPAL].val->start_mark, "bad principal \"%s\", expected "
			    "NAME@REALM (e.g. krbmon@ONPREM.EXAMPLE.COM)", s);
		else {
			c->principal = xstrdup(s);
			if (l->realms_ok && config_realm(c, at + 1) == NULL)
				unknown_realm(l, f[PRINCIPAL].val->start_mark, at + 1,
				    "of the principal");
		}
	}
	if (need(l, n, &f[KEYTAB], "keytab", "identity") == 0 &&
	    (s = text(l, f[KEYTAB].val, "a keytab file", "keytab")) != NULL) {
		resolved = cf_resolve(l, s, 1);
		cf_check(l, f[KEYTAB].val->start_mark, "keytab", s, resolved, 1);
		c->keytab = cf_absolute(resolved);
		free(resolved);
	}
	/* the lockout budget: at least one attempt, or krbwatch could never get a TGT */
	if (f[MAX_FAILED].val != NULL &&
	    whole(l, f[MAX_FAILED].val, "max_failed_attempts", "identity", 1,
	    KW_MAX_FAILED_ATTEMPTS, &v) == 0)
		c->max_failed_attempts = (unsigned)v;
	/*
	 * Shorter than a minute would let krbwatch try again before any directory's observation
	 * window (AD's "reset account lockout counter after", MIT's failurecountinterval) is over.
	 */
	if (f[WINDOW].val != NULL &&
	    duration(l, f[WINDOW].val, "lockout_window", &c->lockout_window_ms) == 0 &&
	    c->lockout_window_ms < KW_MIN_LOCKOUT_WINDOW_MS)
		cl_error(l, f[WINDOW].val->start_mark, "bad duration \"%s\" for lockout_window, "
		    "expected at least 1m (the directory's lockout observation window, e.g. 30m)",
		    sval(f[WINDOW].val));
}

/*
 * state_directory: where the lockout budget survives a restart.  Written or not, a directory
 * that exists; krbwatch must be able to create files in it.  Unset: $STATE_DIRECTORY (systemd's
 * StateDirectory=, the first of a colon-separated list), else memory only.
 */
static void
load_state_directory(struct loader *l, const yaml_node_t *n)
{
	struct kw_config *c = l->conf;
	const char *env = getenv("STATE_DIRECTORY"), *s;
	struct stat st;
	char *dir;

	if (n == NULL) {
		if (env != NULL && *env == '/')
			c->state_directory = strndup(env, strcspn(env, ":"));
		return;
	}
	if ((s = text(l, n, "a directory", "state_directory")) == NULL)
		return;
	if (s[0] != '/') {
		cl_error(l, n->start_mark, "bad state_directory \"%s\", expected an absolute path "
		    "(e.g. /var/lib/krbwatch)", s);
		return;
	}
	dir = xstrdup(s);
	if (stat(dir, &st) == -1)
		cl_error(l, n->start_mark, "state_directory \"%s\" cannot be examined: %s, expected "
		    "an existing directory (systemd: StateDirectory=krbwatch)", s, strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		cl_error(l, n->start_mark, "state_directory \"%s\" is not a directory", s);
	else if (access(dir, W_OK | X_OK) == -1)
		cl_error(l, n->start_mark, "state_directory \"%s\" is not writable by uid %u: %s",
		    s, (unsigned)getuid(), strerror(errno));
	else {
		c->state_directory = dir;
		return;
	}
	free(dir);
}

/*
 * A cluster's service ticket comes through the referral from the user realm to the realm its
 * database is joined to: without a second realm there is no chain to watch, and every run would
 * fail.  Said once, at the first cluster.
 */
static void
check_database_realm(struct loader *l)
{
	const struct kw_config *c = l->conf;
	const char *user;

	if (!l->realms_ok || c->principal == NULL || c->nrealms > 1)
		return;
	user = strrchr(c->principal, '@') + 1;
	if (strcmp(c->realms[0].name, user) != 0)
		return;		/* the principal's realm is missing: said already */
	for (size_t i = 0; i < c->nregions; i++) {
		if (c->regions[i].nclusters == 0)
			continue;
		cl_error_at(l, c->regions[i].clusters[0].line, c->regions[i].clusters[0].col,
		    "cluster \"%s\" needs the realm its database is joined to, but realms has only "
		    "%s, the principal's; add the database realm (the one that trusts %s) with its "
		    "domain", c->regions[i].clusters[0].name ? c->regions[i].clusters[0].name : "",
		    user, user);
		return;
	}
}

static int
is_http_url(const char *s)
{
	size_t skip;

	if (strncasecmp(s, "https://", 8) == 0)
		skip = 8;
	else if (strncasecmp(s, "http://", 7) == 0)
		skip = 7;
	else
		return 0;
	if (s[skip] == '\0' || s[skip] == '/')
		return 0;
	return is_word(s, "");
}

/*
 * A URL as an error message may show it: a webhook URL can carry a credential (user:password@,
 * ?token=...), and messages go to the terminal and the journal.  So only the scheme and the
 * host, the rest replaced by "..."; something without "://" is only measured.
 */
static void
url_shown(const char *s, char *buf, size_t len)
{
	const char *p = strstr(s, "://"), *host, *end, *at;

	if (p == NULL || p == s || (size_t)(p - s) > 10) {
		snprintf(buf, len, "(%zu characters, no scheme://)", strlen(s));
		return;
	}
	host = p + 3;
	end = host + strcspn(host, "/?#");
	for (at = end; at > host && at[-1] != '@'; at--)
		;
	if (at > host)
		host = at;	/* user:password@ left out */
	snprintf(buf, len, "\"%.*s://%.*s%s\"", (int)(p - s), s, (int)(end - host) > 60 ? 60 :
	    (int)(end - host), host, *end != '\0' || host != p + 3 ? "..." : "");
}

/* A whole number from min to max for key, or -1 after a message. */
static int
whole(struct loader *l, const yaml_node_t *n, const char *key, const char *where,
    uint64_t min, uint64_t max, uint64_t *v)
{
	const char *s;

	if ((s = text(l, n, "a number", key)) == NULL)
		return -1;
	if (cp_uint(s, max, v) == -1 || *v < min) {
		cl_error(l, n->start_mark, "bad %s \"%s\" in %s, expected a whole number from "
		    "%llu to %llu", key, s, where, (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	return 0;
}

/* An HTTP header name is a token (RFC 9110 5.6.2). */
static int
is_header_name(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("!#$%&'*+-.^_`|~", *s) != NULL))
			return 0;
	return 1;
}

/*
 * Extra headers of a webhook.  The ones krbwatch writes itself are refused rather than sent
 * twice, and so is Authorization when bearer_token_file says it already.
 */
static void
load_headers(struct loader *l, const yaml_node_t *n, const char *where, int has_token,
    struct kw_webhook *w)
{
	static const char *const own[] = {
		"Content-Type", "Content-Length", "Host", "Transfer-Encoding", "Expect",
		"Connection",
	};
	char *hwhere;

	xasprintf(&hwhere, "the headers of %s", where);
	if (visit(l, n) == -1)
		goto out;
	if (n->type != YAML_MAPPING_NODE) {
		type_error(l, n, "a mapping of header names to values", hwhere);
		goto out;
	}
	if (npairs(n) > KW_MAX_HOOK_HEADERS) {
		cl_error(l, n->start_mark, "%zu headers in %s, expected at most %d", npairs(n),
		    where, KW_MAX_HOOK_HEADERS);
		goto out;
	}
	w->headers = xcalloc(npairs(n), sizeof(*w->headers));
	for (size_t i = 0; i < npairs(n); i++) {
		yaml_node_t *k = node_at(l, n->data.mapping.pairs.start[i].key);
		yaml_node_t *v = node_at(l, n->data.mapping.pairs.start[i].value);
		const char *name, *value;
		size_t j;
		int bad = 0;

		if ((name = text(l, k, "a header name", hwhere)) == NULL)
			continue;
		if (!is_header_name(name)) {
			cl_error(l, k->start_mark, "bad header name \"%s\" in %s, expected letters, "
			    "digits and -", name, where);
			continue;
		}
		for (j = 0; j < NELEM(own); j++)
			if (strcasecmp(name, own[j]) == 0)
				break;
		if (j < NELEM(own)) {
			cl_error(l, k->start_mark, "header \"%s\" in %s is written by krbwatch, "
			    "expected another header", name, where);
			continue;
		}
		if (has_token && strcasecmp(name, "Authorization") == 0) {
			cl_error(l, k->start_mark, "header \"%s\" in %s conflicts with "
			    "bearer_token_file, expected one of them", name, where);
			continue;
		}
		for (j = 0; j < w->nheaders; j++)
			if (strcasecmp(w->headers[j].name, name) == 0)
				break;
		if (j < w->nheaders) {
			cl_error(l, k->start_mark, "duplicate header \"%s\" in %s", name, where);
			continue;
		}
		if ((value = text(l, v, "a header value", name)) == NULL)
			continue;
		for (const char *p = value; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				bad = 1;
		if (bad) {
			cl_error(l, v->start_mark, "bad value of header \"%s\" in %s, expected no "
			    "control characters", name, where);
			continue;
		}
		w->headers[w->nheaders].name = xstrdup(name);
		w->headers[w->nheaders++].value = xstrdup(value);
	}
out:
	free(hwhere);
}

static void
load_webhook(struct loader *l, const yaml_node_t *n, size_t idx, struct kw_webhook *w)
{
	enum { URL, TOKEN, TIMEOUT, RETRIES, BACKOFF, QUEUE, HEADERS };
	static const char *const keys[] = {
		"url", "bearer_token_file", "timeout", "max_retries", "backoff", "queue", "headers",
	};
	struct field f[NELEM(keys)];
	const char *s;
	char *where, *resolved;
	uint64_t v;

	w->timeout_ms = KW_DEFAULT_HOOK_TIMEOUT_MS;
	w->max_retries = KW_DEFAULT_HOOK_RETRIES;
	w->backoff_ms = KW_DEFAULT_HOOK_BACKOFF_MS;
	w->queue = KW_DEFAULT_HOOK_QUEUE;
	xasprintf(&where, "webhook %zu", idx + 1);
	if (fields(l, n, "a mapping with url and bearer_token_file", where, keys, NELEM(keys),
	    f) == 0) {
		if (need(l, n, &f[URL], "url", where) == 0 &&
		    (s = text(l, f[URL].val, "an http:// or https:// URL", "url")) != NULL) {
			if (!is_http_url(s)) {
				char shown[128];
				url_shown(s, shown, sizeof shown);
				cl_error(l, f[URL].val->start_mark, "bad url %s in %s, expected "
				    "http://HOST/... or https://HOST/...", shown, where);
			}
			else
				w->url = xstrdup(s);
		}
		if (f[TOKEN].val != NULL &&
		    (s = text(l, f[TOKEN].val, "a file", "bearer_token_file")) != NULL) {
			char *tok, why[160];

			resolved = cf_resolve(l, s, 1);
			/* checked whole now: a token that cannot be sent must fail the load */
			if (cf_check(l, f[TOKEN].val->start_mark, "bearer_token_file", s, resolved,
			    1) == 0) {
				if (config_read_token(resolved, &tok, why, sizeof why) == -1)
					cl_error(l, f[TOKEN].val->start_mark, "bearer_token_file "
					    "\"%s\" %s", s, why);
				else {
					explicit_bzero(tok, strlen(tok));
					free(tok);
				}
			}
			w->bearer_token_file = cf_absolute(resolved);
			free(resolved);
		}
		if (f[TIMEOUT].val != NULL)
			duration(l, f[TIMEOUT].val, "timeout", &w->timeout_ms);
		if (f[BACKOFF].val != NULL)
			duration(l, f[BACKOFF].val, "backoff", &w->backoff_ms);
		if (f[RETRIES].val != NULL && whole(l, f[RETRIES].val, "max_retries", where, 0,
		    KW_MAX_HOOK_RETRIES, &v) == 0)
			w->max_retries = (unsigned)v;
		if (f[QUEUE].val != NULL && whole(l, f[QUEUE].val, "queue", where, 1,
		    KW_MAX_HOOK_QUEUE, &v) == 0)
			w->queue = (size_t)v;
		if (f[HEADERS].val != NULL)
			load_headers(l, f[HEADERS].val, where, f[TOKEN].val != NULL, w);
	}
	free(where);
}

static void
load_alerts(struct loader *l, const yaml_node_t *n)
{
	static const char *const keys[] = { "after_failures", "webhooks" };
	struct kw_config *c = l->conf;
	struct field f[NELEM(keys)];
	const char *s;
	uint64_t v;

	if (fields(l, n, "a mapping with after_failures and webhooks", "alerts", keys,
	    NELEM(keys), f) == -1)
		return;
	if (f[0].val != NULL && (s = text(l, f[0].val, "a number", "after_failures")) != NULL) {
		if (cp_uint(s, UINT_MAX, &v) == -1 || v == 0)
			cl_error(l, f[0].val->start_mark, "bad after_failures \"%s\", expected a "
			    "whole number from 1 to %u", s, UINT_MAX);
		else
			c->after_failures = (unsigned)v;
	}
	if (f[1].val != NULL) {
		yaml_node_t *w = f[1].val;

		if (w->type != YAML_SEQUENCE_NODE) {
			type_error(l, w, "a sequence (an item per webhook)", "webhooks");
			return;
		}
		c->webhooks = xcalloc(nitems(w), sizeof(*c->webhooks));
		for (size_t i = 0; i < nitems(w) && l->budget > 0; i++)
			load_webhook(l, node_at(l, w->data.sequence.items.start[i]), i,
			    &c->webhooks[c->nwebhooks++]);
	}
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
	if ((s = text(l, n, "an address like 127.0.0.1:10088", "listen")) == NULL)
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
	snprintf(ibuf, sizeof(ibuf), "%s", iv->val != NULL ? sval(iv->val) : "30s (the default)");
	snprintf(tbuf, sizeof(tbuf), "%s", to->val != NULL ? sval(to->val) : "10s (the default)");
	if (to->val != NULL)
		cl_error(l, to->val->start_mark, "timeout %s is longer than interval %s, expected "
		    "at most the interval", tbuf, ibuf);
	else
		cl_error(l, iv->val->start_mark, "interval %s is shorter than timeout %s, expected "
		    "at least the timeout", ibuf, tbuf);
}

/*
 * A file of the web settings: checked now (so that --check-config finds a missing one), read
 * when the listener is set up.  Only the key may come from a systemd credential: it is the
 * secret.
 */
static void
web_file(struct loader *l, const yaml_node_t *n, const char *key, int secret,
    struct kw_file *out)
{
	const char *s;
	char *resolved;

	if ((s = text(l, n, "a PEM file", key)) == NULL)
		return;
	resolved = cf_resolve(l, s, secret);
	cf_check(l, n->start_mark, key, s, resolved, secret);
	out->path = cf_absolute(resolved);
	out->line = (int)n->start_mark.line + 1;
	out->col = (int)n->start_mark.column + 1;
	free(resolved);
}

static void
load_web_tls(struct loader *l, const yaml_node_t *n)
{
	enum { CERT, KEY, CLIENT_CA, CLIENT_AUTH, MIN_VERSION };
	static const char *const keys[] = {
		"cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version",
	};
	static const char *const auths[] = {
		[KW_CLIENT_NO_CERT] = "NoClientCert", [KW_CLIENT_REQUEST] = "RequestClientCert",
		[KW_CLIENT_REQUIRE_ANY] = "RequireAnyClientCert",
		[KW_CLIENT_VERIFY_IF_GIVEN] = "VerifyClientCertIfGiven",
		[KW_CLIENT_REQUIRE_AND_VERIFY] = "RequireAndVerifyClientCert",
	};
	static const char *const versions[] = { "TLS10", "TLS11", "TLS12", "TLS13" };
	const char *where = "web.tls_server_config";
	struct kw_web *w = &l->conf->web;
	struct field f[NELEM(keys)];
	int a = -1, v;

	w->tls = 1;
	if (fields(l, n, "a mapping with cert_file and key_file", where, keys, NELEM(keys),
	    f) == -1)
		return;
	if (need(l, n, &f[CERT], "cert_file", where) == 0)
		web_file(l, f[CERT].val, "cert_file", 0, &w->cert);
	if (need(l, n, &f[KEY], "key_file", where) == 0)
		web_file(l, f[KEY].val, "key_file", 1, &w->key);
	if (f[CLIENT_CA].val != NULL)
		web_file(l, f[CLIENT_CA].val, "client_ca_file", 0, &w->client_ca);
	if (f[CLIENT_AUTH].val != NULL &&
	    (a = choice(l, f[CLIENT_AUTH].val, "client_auth_type", auths, NELEM(auths))) >= 0)
		w->client_auth = (enum kw_client_auth)a;
	if (f[MIN_VERSION].val != NULL &&
	    (v = choice(l, f[MIN_VERSION].val, "min_version", versions, NELEM(versions))) >= 0)
		w->min_version = 10 + v;
	/* a CA with nothing to check, or a check without a CA, is a mistake either way */
	if ((a == KW_CLIENT_VERIFY_IF_GIVEN || a == KW_CLIENT_REQUIRE_AND_VERIFY) &&
	    f[CLIENT_CA].val == NULL)
		cl_error(l, f[CLIENT_AUTH].val->start_mark, "client_auth_type %s checks client "
		    "certificates, expected a client_ca_file to check them against", auths[a]);
	if (f[CLIENT_CA].val != NULL && (f[CLIENT_AUTH].val == NULL || a == KW_CLIENT_NO_CERT))
		cl_error(l, f[CLIENT_CA].key->start_mark, "client_ca_file is not used with "
		    "client_auth_type NoClientCert, expected client_auth_type "
		    "RequireAndVerifyClientCert or VerifyClientCertIfGiven");
}

/* What crypt(3) writes for bcrypt: $2y$NN$ then 53 characters of its base64. */
static int
is_bcrypt(const char *s)
{
	if (strlen(s) != 60 || s[0] != '$' || s[1] != '2' || strchr("aby", s[2]) == NULL ||
	    s[3] != '$' || s[4] < '0' || s[4] > '3' || s[5] < '0' || s[5] > '9' || s[6] != '$')
		return 0;
	if ((s[4] - '0') * 10 + (s[5] - '0') < 4 || (s[4] - '0') * 10 + (s[5] - '0') > 31)
		return 0;
	for (s += 7; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '/'))
			return 0;
	return 1;
}

static void
load_web_users(struct loader *l, const yaml_node_t *n)
{
	struct kw_web *w = &l->conf->web;

	if (n->type != YAML_MAPPING_NODE || npairs(n) == 0) {
		type_error(l, n, "a mapping of user names to bcrypt hashes", "basic_auth_users");
		return;
	}
	w->users = xcalloc(npairs(n), sizeof(*w->users));
	for (size_t i = 0; i < npairs(n) && l->budget > 0; i++) {
		yaml_node_t *k = node_at(l, n->data.mapping.pairs.start[i].key);
		yaml_node_t *v = node_at(l, n->data.mapping.pairs.start[i].value);
		const char *name, *hash;

		if (visit(l, v) == -1)
			break;
		if ((name = entry_name(l, n, i, "user")) == NULL)
			continue;
		/* Basic credentials are "user:password": a colon cannot be in a user name */
		if (!is_word(name, ":")) {
			cl_error(l, k->start_mark, "bad user name \"%s\" in basic_auth_users, expected "
			    "no space, control character or \":\"", name);
			continue;
		}
		if ((hash = text(l, v, "a bcrypt hash", "a user of basic_auth_users")) == NULL)
			continue;
		/* the value is not repeated: it might be a password written there by mistake */
		if (!is_bcrypt(hash)) {
			cl_error(l, v->start_mark, "bad password hash for user \"%s\", expected a "
			    "bcrypt hash like $2y$10$... (htpasswd -nBC 10 %s)", name, name);
			continue;
		}
		w->users[w->nusers].name = xstrdup(name);
		w->users[w->nusers].hash = xstrdup(hash);
		w->nusers++;
	}
}

/* web: the HTTP listener's TLS and basic authentication, as in exporter-toolkit's web config. */
static void
load_web(struct loader *l, const yaml_node_t *n)
{
	static const char *const keys[] = { "tls_server_config", "basic_auth_users" };
	struct field f[NELEM(keys)];

	if (fields(l, n, "a mapping with tls_server_config and basic_auth_users", "web", keys,
	    NELEM(keys), f) == -1)
		return;
	if (f[0].val != NULL)
		load_web_tls(l, f[0].val);
	if (f[1].val != NULL)
		load_web_users(l, f[1].val);
}

/*
 * The top level.  Realms are loaded before regions and identity, whatever their order in the
 * file, since those refer to them; messages are put in file order afterwards.
 */
void
cs_load(struct loader *l, yaml_node_t *root)
{
	enum { LISTEN, INTERVAL, TIMEOUT, IDENTITY, REALMS, REGIONS, ALERTS, WEB, STATE_DIR };
	static const char *const keys[] = {
		"listen", "interval", "timeout", "identity", "realms", "regions", "alerts", "web",
		"state_directory",
	};
	struct kw_config *c = l->conf;
	struct field f[NELEM(keys)];
	int ok = 1;

	c->interval_ms = KW_DEFAULT_INTERVAL_MS;
	c->timeout_ms = KW_DEFAULT_TIMEOUT_MS;
	c->after_failures = KW_DEFAULT_AFTER_FAILURES;
	c->max_failed_attempts = KW_DEFAULT_MAX_FAILED_ATTEMPTS;
	c->lockout_window_ms = KW_DEFAULT_LOCKOUT_WINDOW_MS;
	c->web.min_version = 12;
	if (fields(l, root, "a mapping of settings", "the top level", keys, NELEM(keys), f) == -1)
		return;
	load_listen(l, f[LISTEN].val);
	if (f[INTERVAL].val != NULL && duration(l, f[INTERVAL].val, "interval", &c->interval_ms))
		ok = 0;
	if (f[TIMEOUT].val != NULL && duration(l, f[TIMEOUT].val, "timeout", &c->timeout_ms))
		ok = 0;
	if (ok)
		check_timeout(l, &f[INTERVAL], &f[TIMEOUT]);
	need(l, root, &f[IDENTITY], "identity", "the top level");
	need(l, root, &f[REALMS], "realms", "the top level");
	need(l, root, &f[REGIONS], "regions", "the top level");
	if (f[REALMS].val != NULL)
		load_realms(l, f[REALMS].val);
	if (f[REGIONS].val != NULL)
		load_regions(l, f[REGIONS].val);
	if (f[IDENTITY].val != NULL)
		load_identity(l, f[IDENTITY].val);
	check_database_realm(l);
	if (f[ALERTS].val != NULL)
		load_alerts(l, f[ALERTS].val);
	if (f[WEB].val != NULL)
		load_web(l, f[WEB].val);
	load_state_directory(l, f[STATE_DIR].val);
}
