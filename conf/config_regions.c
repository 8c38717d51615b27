/*
 * The keys `realms` and `regions` (with their clusters, KDCs, resolvers and TLS) of
 * krbwatch.yml: the walk from libyaml's nodes to struct kw_realm, kw_region and kw_cluster.
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

/* A realm named in a Region or the principal that realms does not have. */
void
cs_unknown_realm(struct loader *l, yaml_mark_t mark, const char *name, const char *context)
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
		all = cs_word_list(names, c->nrealms);
		cl_error(l, mark, "realm \"%s\" %s is not in realms, expected %s", name, context,
		    all);
		free(all);
	}
	free(names);
}

void
cs_load_realms(struct loader *l, const yaml_node_t *n)
{
	static const char *const keys[] = { "domain", "kdcs" };
	struct kw_config *c = l->conf;
	struct field f[NELEM(keys)];

	if (cs_want_pairs(l, n, "a mapping of realm names to their domain and kdcs", "realms",
	    "realm") == -1)
		return;
	c->realms = xcalloc(cs_npairs(n), sizeof(*c->realms));
	for (struct cs_walk w = { 0 }; cs_next_entry(l, n, "realm", CS_OWN_VISIT, &w);) {
		const char *name = w.name, *s;
		struct kw_realm *r;
		char *where;

		if (!cs_is_word(name, "@/\\:"))
			cl_error(l, w.key->start_mark, "bad realm name \"%s\", expected a name like "
			    "ONPREM.EXAMPLE.COM (no space, \"@\", \"/\", \"\\\" or \":\")", name);
		r = &c->realms[c->nrealms++];
		r->name = xstrdup(name);
		r->kdcs.from_dns = 1;
		xasprintf(&where, "realm \"%s\"", name);
		if (cs_fields(l, w.val, "a mapping with domain and kdcs", where, keys, NELEM(keys),
		    f) == 0) {
			if (cs_need(l, w.val, &f[0], "domain", where) == 0 &&
			    (s = cs_text(l, f[0].val, "a DNS domain", "domain")) != NULL) {
				if (cp_hostname(s) == -1)
					cl_error(l, f[0].val->start_mark, "bad domain \"%s\" in %s, "
					    "expected a DNS name like onprem.example.com", s, where);
				else
					r->domain = xstrdup(s);
			}
			if (f[1].val != NULL) {
				r->kdcs_given = 1;
				cs_kdcs_value(l, f[1].val, "kdcs", &r->kdcs);
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

	if ((s = cs_text(l, n, "a cluster name", "name")) == NULL)
		return;
	if (!cs_is_label_name(s)) {
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
	if (cs_fields(l, n, "a mapping with mode and ca", tls_where, keys, NELEM(keys), f) == 0) {
		if (f[0].val != NULL && (m = cs_choice(l, f[0].val, "tls mode", modes,
		    NELEM(modes))) >= 0)
			c->tls_mode = (enum kw_tls_mode)m;
		if (f[1].val != NULL && (s = cs_text(l, f[1].val, "a CA bundle file", "ca")) != NULL) {
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
	for (size_t i = 0; i < cs_npairs(n); i++) {
		yaml_node_t *k = cs_node_at(l, n->data.mapping.pairs.start[i].key);
		yaml_node_t *v = cs_node_at(l, n->data.mapping.pairs.start[i].value);

		if (k->type == YAML_SCALAR_NODE && strcmp(cs_sval(k), "name") == 0 &&
		    v->type == YAML_SCALAR_NODE && !cs_is_null(v) && v->data.scalar.length > 0 &&
		    strlen(cs_sval(v)) == v->data.scalar.length)
			return cs_sval(v);
	}
	return NULL;
}

/* `database:`, for an engine that takes one (its row's default when none is written). */
static void
cluster_database(struct loader *l, const struct field *f, int e, struct kw_cluster *c)
{
	const char *s;

	if (f->val != NULL && e >= 0 && kw_engines[e].default_database == NULL)
		cl_error(l, f->key->start_mark, "database is only used with engine "
		    "postgresql, expected no database for engine %s", kw_engines[e].name);
	else if (f->val != NULL && (s = cs_text(l, f->val, "a database name", "database")) != NULL)
		c->database = xstrdup(s);
	else if (e >= 0 && kw_engines[e].default_database != NULL && f->val == NULL)
		c->database = xstrdup(kw_engines[e].default_database);
}

static void
load_cluster(struct loader *l, const yaml_node_t *n, const char *region, size_t idx,
    struct kw_cluster *c)
{
	enum { NAME, ENGINE, HOST, PORT, USER, EXPECT_USER, SPN, DATABASE, TLS, ENDPOINTS };
	static const char *const keys[] = {
		"name", "engine", "host", "port", "user", "expect_user", "spn", "database", "tls",
		"endpoints",
	};
	const char *engines[16];
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
	for (size_t i = 0; i < kw_nengines && i < NELEM(engines); i++)
		engines[i] = kw_engines[i].name;
	if (cs_fields(l, n, "a mapping with name, engine, host and user", where, keys, NELEM(keys),
	    f) == -1) {
		free(where);
		return;
	}
	if (cs_need(l, n, &f[NAME], "name", where) == 0)
		cluster_name(l, f[NAME].val, c);
	if (cs_need(l, n, &f[ENGINE], "engine", where) == 0 &&
	    (e = cs_choice(l, f[ENGINE].val, "engine", engines, kw_nengines)) >= 0)
		c->engine = (enum kw_engine)e;
	/* with endpoints, endpoints.writer may stand for host (config_endpoints.c) */
	if ((f[HOST].val != NULL || f[ENDPOINTS].val == NULL) &&
	    cs_need(l, n, &f[HOST], "host", where) == 0 &&
	    (s = cs_text(l, f[HOST].val, "a host name or an IP address", "host")) != NULL) {
		c->host_line = (int)f[HOST].val->start_mark.line + 1;
		c->host_col = (int)f[HOST].val->start_mark.column + 1;
		if (cp_host(s, &kind) == -1)
			cl_error(l, f[HOST].val->start_mark, "bad host \"%s\" in %s, expected %s", s,
			    where, s[0] == '[' ? "an IPv6 address without brackets" :
			    strchr(s, ':') != NULL && strchr(s, ':') == strrchr(s, ':') ?
			    "a host name or an IP address without a port (that goes in port)" :
			    "a host name (RFC 1123) or an IP address");
		else
			c->host = xstrdup(s);
	}
	c->port = kw_engines[e >= 0 ? e : KW_ENGINE_MYSQL].default_port;
	if (f[PORT].val != NULL)
		cs_port_value(l, f[PORT].val, where, &c->port);
	if (cs_need(l, n, &f[USER], "user", where) == 0 &&
	    (s = cs_text(l, f[USER].val, "a database user name", "user")) != NULL)
		c->user = xstrdup(s);
	if (f[EXPECT_USER].val != NULL &&
	    (s = cs_text(l, f[EXPECT_USER].val, "a user name", "expect_user")) != NULL)
		c->expect_user = xstrdup(s);
	if (f[SPN].val != NULL && (s = cs_text(l, f[SPN].val, "a service principal", "spn")) != NULL) {
		if ((slash = strchr(s, '/')) == NULL || slash == s || slash[1] == '\0' ||
		    !cs_is_word(s, ""))
			cl_error(l, f[SPN].val->start_mark, "bad spn \"%s\", expected SERVICE/HOST "
			    "(e.g. MySQL/db.example.com)", s);
		else
			c->spn = xstrdup(s);
	}
	cluster_database(l, &f[DATABASE], e, c);
	if (f[TLS].val != NULL)
		load_tls(l, f[TLS].val, where, c);
	if (f[ENDPOINTS].val != NULL)
		ce_load_endpoints(l, f[ENDPOINTS].val, f[HOST].key, where, c);
	free(where);
}

static void
load_region_kdcs(struct loader *l, const yaml_node_t *n, const char *where, struct kw_region *r)
{
	if (n->type != YAML_MAPPING_NODE) {
		cs_type_error(l, n, "a mapping of realm names to a sequence of addresses or \"dns\"",
		    "kdcs");
		return;
	}
	r->kdcs = xcalloc(cs_npairs(n), sizeof(*r->kdcs));
	for (struct cs_walk w = { 0 }; cs_next_entry(l, n, "realm", CS_OWN_VISIT, &w);) {
		struct kw_region_kdcs *rk;
		char *what, *context;

		if (l->realms_ok && config_realm(l->conf, w.name) == NULL) {
			xasprintf(&context, "in the kdcs of %s", where);
			cs_unknown_realm(l, w.key->start_mark, w.name, context);
			free(context);
		}
		rk = &r->kdcs[r->nkdcs++];
		rk->realm = xstrdup(w.name);
		xasprintf(&what, "the kdcs of %s in %s", w.name, where);
		cs_kdcs_value(l, w.val, what, &rk->kdcs);
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
	if (!cs_is_label_name(name))
		cl_error(l, k->start_mark, "bad Region name \"%s\", expected letters, digits, "
		    "\".\", \"_\" and \"-\" (e.g. us-east-1)", name);
	xasprintf(&where, "Region \"%s\"", name);
	if (cs_fields(l, n, "a mapping with resolvers, kdcs and clusters", where, keys, NELEM(keys),
	    f) == -1) {
		free(where);
		return;
	}
	if (f[SITE].val == NULL)
		r->site = xstrdup(name);
	else if ((s = cs_text(l, f[SITE].val, "an AD site name", "site")) != NULL) {
		if (!cs_is_word(s, ".") || strlen(s) > 63)
			cl_error(l, f[SITE].val->start_mark, "bad site \"%s\", expected an AD site "
			    "name (a DNS label: no dot or space, at most 63 characters)", s);
		else
			r->site = xstrdup(s);
	}
	if (cs_need(l, n, &f[RESOLVERS], "resolvers", where) == 0) {
		yaml_node_t *v = f[RESOLVERS].val;

		if (cs_want_filled(l, v, YAML_SEQUENCE_NODE, "a sequence of IP addresses",
		    "resolvers") == 0)
			cs_addr_list(l, v, "resolvers", 53, 1, &r->resolvers, &r->nresolvers);
	}
	if (f[KDCS].val != NULL)
		load_region_kdcs(l, f[KDCS].val, where, r);
	if (f[CLUSTERS].val != NULL) {
		yaml_node_t *v = f[CLUSTERS].val;

		if (v->type != YAML_SEQUENCE_NODE) {
			cs_type_error(l, v, "a sequence (an item per cluster)", "clusters");
		} else {
			r->clusters = xcalloc(cs_nitems(v), sizeof(*r->clusters));
			for (struct cs_walk w = { 0 }; cs_next_item(l, v, CS_OWN_VISIT, &w);)
				load_cluster(l, w.val, name, w.i, &r->clusters[r->nclusters++]);
		}
	}
	free(where);
}

void
cs_load_regions(struct loader *l, const yaml_node_t *n)
{
	struct kw_config *c = l->conf;

	if (cs_want_pairs(l, n, "a mapping of Region names to their settings", "regions",
	    "Region") == -1)
		return;
	c->regions = xcalloc(cs_npairs(n), sizeof(*c->regions));
	for (struct cs_walk w = { 0 }; cs_next_entry(l, n, "Region", CS_OWN_VISIT, &w);)
		load_region(l, w.name, w.key, w.val, &c->regions[c->nregions++]);
}
