/*
 * The keys of Aurora's endpoints: a cluster's `endpoints` (writer, reader, instances) and the
 * top-level `global_databases` (a global writer endpoint and its member clusters across
 * Regions).  A cluster without `endpoints` is its `host`, as before.  Every endpoint name is
 * one subject of the metrics, so a name written twice (two clusters' readers, an instance
 * listed twice, a global endpoint that is also a cluster's) is an error, named where it was
 * written the second time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "../lib/xmalloc.h"
#include "config.h"
#include "config_int.h"

/* A host name of an endpoint key, or NULL after a message. */
static const char *
endpoint_name(struct loader *l, const yaml_node_t *n, const char *key, const char *where)
{
	const char *s = cs_text(l, n, "a host name", key);

	if (s == NULL)
		return NULL;
	if (cp_hostname(s) == -1) {
		cl_error(l, n->start_mark, "bad %s \"%s\" in %s, expected a DNS name (RFC 1123) "
		    "like db.cluster-ro-xxxx.us-east-1.rds.amazonaws.com", key, s, where);
		return NULL;
	}
	return s;
}

static void
name_set(struct kw_name *out, const char *s, const yaml_node_t *n)
{
	out->name = xstrdup(s);
	out->line = (int)n->start_mark.line + 1;
	out->col = (int)n->start_mark.column + 1;
}

static void
load_instances(struct loader *l, const yaml_node_t *n, const char *where, struct kw_cluster *c)
{
	struct kw_endpoints *e = &c->endpoints;

	if (cs_want_filled(l, n, YAML_SEQUENCE_NODE, "a sequence of instance endpoint names",
	    "instances") == -1)
		return;
	e->instances = xcalloc(cs_nitems(n), sizeof(*e->instances));
	for (struct cs_walk w = { 0 }; cs_next_item(l, n, CS_VISIT, &w);) {
		const char *s = endpoint_name(l, w.val, "instance endpoint", where);

		if (s != NULL)
			name_set(&e->instances[e->ninstances++], s, w.val);
	}
}

/*
 * endpoints: { writer, reader, instances }.  host_key is the cluster's host key (NULL when it
 * has none): the writer endpoint is the host, so one of the two must be written, and when both
 * are they must agree.
 */
void
ce_load_endpoints(struct loader *l, const yaml_node_t *n, const yaml_node_t *host_key,
    const char *where, struct kw_cluster *c)
{
	enum { WRITER, READER, INSTANCES };
	static const char *const keys[] = { "writer", "reader", "instances" };
	struct field f[NELEM(keys)];
	const char *s;

	if (cs_fields(l, n, "a mapping with writer, reader and instances", where, keys,
	    NELEM(keys), f) == -1)
		return;
	if (f[WRITER].val != NULL &&
	    (s = endpoint_name(l, f[WRITER].val, "writer endpoint", where)) != NULL) {
		if (host_key == NULL) {
			c->host = xstrdup(s);
			c->host_line = (int)f[WRITER].val->start_mark.line + 1;
			c->host_col = (int)f[WRITER].val->start_mark.column + 1;
		} else if (c->host != NULL && strcasecmp(c->host, s) != 0) {
			cl_error(l, f[WRITER].val->start_mark, "writer endpoint \"%s\" is not the "
			    "host \"%s\" of %s, expected the same name (or only one of the two)", s,
			    c->host, where);
		}
	} else if (f[WRITER].val == NULL && host_key == NULL) {
		cl_error(l, n->start_mark, "missing required key \"host\" in %s, expected host or "
		    "endpoints.writer (the cluster endpoint)", where);
	}
	if (f[READER].val != NULL &&
	    (s = endpoint_name(l, f[READER].val, "reader endpoint", where)) != NULL)
		name_set(&c->endpoints.reader, s, f[READER].val);
	if (f[INSTANCES].val != NULL) {
		if (f[READER].val == NULL)
			cl_error(l, f[INSTANCES].key->start_mark, "instances name the addresses of "
			    "the reader endpoint, expected a reader in the endpoints of %s", where);
		else
			load_instances(l, f[INSTANCES].val, where, c);
	}
}

/* ---- global_databases ------------------------------------------------------------------- */

/* The cluster called name, anywhere: 0 with its place, -1 when there is none. */
static int
find_cluster(const struct kw_config *conf, const char *name, size_t *region, size_t *index)
{
	for (size_t r = 0; r < conf->nregions; r++)
		for (size_t i = 0; i < conf->regions[r].nclusters; i++)
			if (conf->regions[r].clusters[i].name != NULL &&
			    strcmp(conf->regions[r].clusters[i].name, name) == 0) {
				*region = r;
				*index = i;
				return 0;
			}
	return -1;
}

static void
unknown_member(struct loader *l, const yaml_node_t *v, const char *name, const char *where)
{
	const struct kw_config *conf = l->conf;
	const char **names = NULL, *near;
	size_t n = 0;

	for (size_t r = 0; r < conf->nregions; r++)
		for (size_t i = 0; i < conf->regions[r].nclusters; i++)
			if (conf->regions[r].clusters[i].name != NULL) {
				names = xreallocarray(names, n + 1, sizeof(*names));
				names[n++] = conf->regions[r].clusters[i].name;
			}
	near = n > 0 ? cp_suggest(name, names, n) : NULL;
	if (near != NULL)
		cl_error(l, v->start_mark, "unknown member cluster \"%s\" in %s, did you mean "
		    "\"%s\"?", name, where, near);
	else
		cl_error(l, v->start_mark, "unknown member cluster \"%s\" in %s, expected the name "
		    "of a cluster of one of the regions", name, where);
	free(names);
}

static void
load_members(struct loader *l, const yaml_node_t *n, const char *where, struct kw_global_db *g)
{
	const struct kw_config *conf = l->conf;

	if (cs_want_filled(l, n, YAML_SEQUENCE_NODE, "a sequence of cluster names (one per Region)",
	    "clusters") == -1)
		return;
	g->members = xcalloc(cs_nitems(n), sizeof(*g->members));
	for (struct cs_walk w = { 0 }; cs_next_item(l, n, CS_VISIT, &w);) {
		yaml_node_t *v = w.val;
		struct kw_global_member *m;
		const char *s;
		size_t r, c, j;

		if ((s = cs_text(l, v, "a cluster name", "clusters")) == NULL)
			continue;
		if (find_cluster(conf, s, &r, &c) == -1) {
			unknown_member(l, v, s, where);
			continue;
		}
		for (j = 0; j < g->nmembers; j++)
			if (g->members[j].region == r)
				break;
		if (j < g->nmembers && strcmp(g->members[j].cluster, s) == 0) {
			cl_error(l, v->start_mark, "duplicate member cluster \"%s\" in %s (first at "
			    "line %d, column %d)", s, where, g->members[j].line, g->members[j].col);
			continue;
		}
		if (j < g->nmembers) {
			cl_error(l, v->start_mark, "a second member cluster of Region \"%s\" in %s "
			    "(\"%s\" is one), expected one member cluster per Region",
			    conf->regions[r].name, where, g->members[j].cluster);
			continue;
		}
		if (g->nmembers > 0) {
			const struct kw_global_member *first = &g->members[0];
			enum kw_engine e0 = conf->regions[first->region].clusters[first->index].engine;

			if (conf->regions[r].clusters[c].engine != e0) {
				cl_error(l, v->start_mark, "member cluster \"%s\" of %s has engine %s, "
				    "expected %s like \"%s\" (a global database replicates one engine)",
				    s, where, engine_name(conf->regions[r].clusters[c].engine),
				    engine_name(e0), first->cluster);
				continue;
			}
		}
		m = &g->members[g->nmembers++];
		m->cluster = xstrdup(s);
		m->region = r;
		m->index = c;
		m->c = &conf->regions[r].clusters[c];
		m->region_name = conf->regions[r].name;
		m->line = (int)v->start_mark.line + 1;
		m->col = (int)v->start_mark.column + 1;
	}
}

static void
load_global(struct loader *l, const yaml_node_t *n, size_t idx, struct kw_global_db *g)
{
	enum { NAME, ENDPOINT, CLUSTERS };
	static const char *const keys[] = { "name", "endpoint", "clusters" };
	struct kw_config *conf = l->conf;
	struct field f[NELEM(keys)];
	char where[192];
	const char *s;

	snprintf(where, sizeof(where), "global database %zu", idx + 1);
	g->line = (int)n->start_mark.line + 1;
	g->col = (int)n->start_mark.column + 1;
	if (cs_fields(l, n, "a mapping with name, endpoint and clusters", where, keys,
	    NELEM(keys), f) == -1)
		return;
	if (cs_need(l, n, &f[NAME], "name", where) == 0 &&
	    (s = cs_text(l, f[NAME].val, "a global database name", "name")) != NULL) {
		size_t j;

		for (j = 0; j < idx; j++)
			if (conf->globals[j].name != NULL && strcmp(conf->globals[j].name, s) == 0)
				break;
		if (!cs_is_label_name(s))
			cl_error(l, f[NAME].val->start_mark, "bad global database name \"%s\", "
			    "expected letters, digits, \".\", \"_\" and \"-\" (e.g. aurora-global)", s);
		else if (j < idx)
			cl_error(l, f[NAME].val->start_mark, "duplicate global database name \"%s\" "
			    "(first at line %d)", s, conf->globals[j].line);
		else {
			g->name = xstrdup(s);
			snprintf(where, sizeof(where), "global database \"%.120s\"", s);
		}
	}
	if (cs_need(l, n, &f[ENDPOINT], "endpoint", where) == 0 &&
	    (s = endpoint_name(l, f[ENDPOINT].val, "global writer endpoint", where)) != NULL)
		name_set(&g->endpoint, s, f[ENDPOINT].val);
	if (cs_need(l, n, &f[CLUSTERS], "clusters", where) == 0)
		load_members(l, f[CLUSTERS].val, where, g);
}

/* ---- one name, one endpoint ---------------------------------------------------------------- */

struct seen {
	const char *name;
	int line, col;
};

static void
seen_add(struct loader *l, struct seen **s, size_t *n, const char *name, int line, int col,
    const char *what)
{
	if (name == NULL)
		return;
	for (size_t i = 0; i < *n; i++)
		if (strcasecmp((*s)[i].name, name) == 0) {
			cl_error_at(l, line, col, "duplicate endpoint \"%s\" (%s; first at line %d, "
			    "column %d), expected each endpoint once", name, what, (*s)[i].line,
			    (*s)[i].col);
			return;
		}
	*s = xreallocarray(*s, *n + 1, sizeof(**s));
	(*s)[*n] = (struct seen){ name, line, col };
	(*n)++;
}

/*
 * Every endpoint name once.  Two clusters may share a host (two engines on one address, as
 * before these keys); a reader, an instance or a global endpoint is one subject of its own.
 */
static void
check_duplicates(struct loader *l)
{
	const struct kw_config *conf = l->conf;
	struct seen *s = NULL;
	size_t n = 0;

	for (size_t r = 0; r < conf->nregions; r++)
		for (size_t i = 0; i < conf->regions[r].nclusters; i++) {
			const struct kw_cluster *c = &conf->regions[r].clusters[i];

			if (c->host == NULL)
				continue;
			s = xreallocarray(s, n + 1, sizeof(*s));
			s[n++] = (struct seen){ c->host, c->host_line ? c->host_line : c->line,
			    c->host_col ? c->host_col : c->col };
		}
	for (size_t r = 0; r < conf->nregions; r++)
		for (size_t i = 0; i < conf->regions[r].nclusters; i++) {
			const struct kw_endpoints *e = &conf->regions[r].clusters[i].endpoints;

			seen_add(l, &s, &n, e->reader.name, e->reader.line, e->reader.col,
			    "a reader endpoint");
			for (size_t k = 0; k < e->ninstances; k++)
				seen_add(l, &s, &n, e->instances[k].name, e->instances[k].line,
				    e->instances[k].col, "an instance endpoint");
		}
	for (size_t g = 0; g < conf->nglobals; g++)
		seen_add(l, &s, &n, conf->globals[g].endpoint.name, conf->globals[g].endpoint.line,
		    conf->globals[g].endpoint.col, "a global writer endpoint");
	free(s);
}

/* global_databases (n NULL when the file has none), after the regions; then the duplicates. */
void
ce_load_globals(struct loader *l, const yaml_node_t *n)
{
	struct kw_config *conf = l->conf;

	if (n != NULL) {
		if (n->type != YAML_SEQUENCE_NODE) {
			cs_type_error(l, n, "a sequence (an item per global database)",
			    "global_databases");
		} else {
			conf->globals = xcalloc(cs_nitems(n), sizeof(*conf->globals));
			for (struct cs_walk w = { 0 }; cs_next_item(l, n, CS_OWN_VISIT, &w);)
				load_global(l, w.val, w.i, &conf->globals[conf->nglobals++]);
		}
	}
	check_duplicates(l);
}

/* ---- lookups and freeing ------------------------------------------------------------------- */

const struct kw_global_db *
config_global_of(const struct kw_config *conf, const struct kw_cluster *c)
{
	for (size_t g = 0; g < conf->nglobals; g++)
		for (size_t m = 0; m < conf->globals[g].nmembers; m++)
			if (conf->globals[g].members[m].c == c)
				return &conf->globals[g];
	return NULL;
}

static void
free_name(struct kw_name *n)
{
	free(n->name);
}

void
ce_free_endpoints(struct kw_endpoints *e)
{
	free_name(&e->reader);
	free_array(e->instances, e->ninstances, free_name);
}

static void
free_member(struct kw_global_member *m)
{
	free(m->cluster);
}

static void
free_global(struct kw_global_db *g)
{
	free_all(g->name, g->endpoint.name);
	free_array(g->members, g->nmembers, free_member);
}

void
ce_free_globals(struct kw_config *conf)
{
	free_array(conf->globals, conf->nglobals, free_global);
}
