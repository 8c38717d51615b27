/*
 * Inside the configuration loader: what config.c (file, libyaml, messages), config_schema.c
 * (the top level and the tools of every key's loader), the rooms of the keys (config_regions.c,
 * config_identity.c, config_alerts.c, config_web.c), config_parse.c (scalar syntax) and
 * config_files.c (paths and files) share.
 * Nothing here is used outside conf/.
 */
#ifndef KRBWATCH_CONFIG_INT_H
#define KRBWATCH_CONFIG_INT_H

#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "config.h"

/* One message, kept with its place so that all of them can be put in file order at the end. */
struct cl_msg {
	int line, col;          /* 1-based; 0 when the message is about the whole file */
	char *text;             /* "FILE:LINE:COL: ..." */
};

/* The state of one config_load() call. */
struct loader {
	const char *file;       /* as given to config_load, for messages */
	char *dir;              /* its directory as written ("tests/conf"), NULL when it has none */
	const char *creds;      /* $CREDENTIALS_DIRECTORY, NULL when unset or empty */
	yaml_document_t *doc;
	struct kw_config *conf;
	struct cl_msg *msgs;
	size_t nmsgs;
	int realms_ok;          /* realms loaded: references to them can be checked */
	size_t budget;          /* mappings and list items left to visit (aliases repeat them) */
	/* cluster names seen so far (unique in the whole file), with their line */
	const char **cluster_names;
	int *cluster_lines;
	size_t ncluster_names;
};

/* config.c */
void cl_error(struct loader *, yaml_mark_t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cl_error_at(struct loader *, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* config_schema.c: fills l->conf from the document's root node. */
void cs_load(struct loader *, yaml_node_t *root);

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_DURATION_MS (24ULL * 3600 * 1000)

/* A known key of a mapping and where it was written (NULL: not written). */
struct field {
	yaml_node_t *key, *val;
};

/* config_schema.c: the tools of every key's loader */
yaml_node_t *cs_node_at(const struct loader *l, yaml_node_item_t i);
const char *cs_sval(const yaml_node_t *n);
size_t cs_npairs(const yaml_node_t *n);
size_t cs_nitems(const yaml_node_t *n);
int cs_is_null(const yaml_node_t *n);
int cs_visit(struct loader *l, const yaml_node_t *n);
void cs_type_error(struct loader *l, const yaml_node_t *n, const char *expected, const char *what);
/* 0: n is a mapping with at least one pair; -1 after the message (type error, or none of one). */
int cs_want_pairs(struct loader *l, const yaml_node_t *n, const char *expected, const char *what,
    const char *one);
const char *cs_text(struct loader *l, const yaml_node_t *n, const char *expected, const char *what);
char *cs_word_list(const char *const *w, size_t n);
int cs_fields(struct loader *l, const yaml_node_t *n, const char *expected, const char *where,
    const char *const *keys, size_t nkeys, struct field *f);
int cs_need(struct loader *l, const yaml_node_t *map, const struct field *f, const char *key,
    const char *where);
const char *cs_entry_name(struct loader *l, const yaml_node_t *map, size_t i, const char *what);
/* 0: n is a node of type with at least one item or pair; -1 after a type error. */
int cs_want_filled(struct loader *l, const yaml_node_t *n, yaml_node_type_t type,
    const char *expected, const char *what);

/*
 * The walks over a sequence's items and over a mapping's entries, in order while the visit
 * budget lasts:  for (struct cs_walk w = { 0 }; cs_next_item(l, seq, CS_VISIT, &w);) ...
 * With CS_VISIT each item (an entry's value) counts one visit first and the walk ends once
 * the budget is spent; with CS_OWN_VISIT the item's loader counts it (cs_fields does).
 * cs_next_entry passes over, after its message, an entry whose key is not a name or is
 * written again (cs_entry_name, what: "realm").
 */
enum cs_visit { CS_OWN_VISIT, CS_VISIT };
struct cs_walk {
	size_t i;               /* the place of the item or entry */
	yaml_node_t *key, *val; /* an entry's key (cs_next_entry), the item or the entry's value */
	const char *name;       /* an entry's name */
	size_t next;
};
int cs_next_item(struct loader *l, const yaml_node_t *seq, enum cs_visit visit,
    struct cs_walk *w);
int cs_next_entry(struct loader *l, const yaml_node_t *map, const char *what,
    enum cs_visit visit, struct cs_walk *w);

/*
 * A mapping whose keys load on their own (alerts, web): its known keys, each with its loader.
 * cs_load_section checks them (cs_fields), then calls load(l, value) of each key written, in
 * the table's order.
 */
struct cs_key {
	const char *name;
	void (*load)(struct loader *, const yaml_node_t *value);
};
struct cs_section {
	const char *where, *expected;
	const struct cs_key *keys;
	size_t nkeys;
};
void cs_load_section(struct loader *l, const yaml_node_t *n, const struct cs_section *s);
int cs_is_label_name(const char *s);
int cs_is_word(const char *s, const char *also_bad);
int cs_duration(struct loader *l, const yaml_node_t *n, const char *key, uint64_t *ms);
int cs_port_value(struct loader *l, const yaml_node_t *n, const char *where, uint16_t *port);
void cs_addr_list(struct loader *l, const yaml_node_t *seq, const char *what, uint16_t port,
    int ip_only, struct kw_addr **out, size_t *n);
void cs_kdcs_value(struct loader *l, const yaml_node_t *n, const char *what, struct kw_kdcs *k);
int cs_choice(struct loader *l, const yaml_node_t *n, const char *what, const char *const *words,
    size_t nwords);
int cs_whole(struct loader *l, const yaml_node_t *n, const char *key, const char *where,
    uint64_t min, uint64_t max, uint64_t *v);

/* config_regions.c */
void cs_unknown_realm(struct loader *l, yaml_mark_t mark, const char *name, const char *context);
void cs_load_realms(struct loader *l, const yaml_node_t *n);
void cs_load_regions(struct loader *l, const yaml_node_t *n);

/* config_identity.c */
void cs_load_identity(struct loader *l, const yaml_node_t *n);
void cs_load_state_directory(struct loader *l, const yaml_node_t *n);
void cs_check_database_realm(struct loader *l);

/* config_alerts.c */
extern const struct cs_section cs_alerts;

/* config_endpoints.c: a cluster's endpoints; global_databases after the regions */
void ce_load_endpoints(struct loader *l, const yaml_node_t *n, const yaml_node_t *host_key,
    const char *where, struct kw_cluster *c);
void ce_load_globals(struct loader *l, const yaml_node_t *n);
void ce_free_endpoints(struct kw_endpoints *e);
void ce_free_globals(struct kw_config *c);

/* config_web.c */
extern const struct cs_section cs_web;

/* config_parse.c */
enum cp_addr_kind { CP_ADDR_V4, CP_ADDR_V6, CP_ADDR_NAME };
int cp_addr(const char *s, uint16_t default_port, struct kw_addr *out, int *has_port,
    enum cp_addr_kind *kind, const char **why);
int cp_duration(const char *s, uint64_t *ms);
int cp_hostname(const char *s);
int cp_host(const char *s, enum cp_addr_kind *kind);
int cp_uint(const char *s, uint64_t max, uint64_t *out);
size_t cp_distance(const char *a, const char *b);
const char *cp_suggest(const char *word, const char *const *cands, size_t n);

/* config_files.c */
char *cf_resolve(const struct loader *, const char *path, int use_credentials);
char *cf_absolute(const char *path);
int cf_check(struct loader *, yaml_mark_t, const char *what, const char *written,
    const char *resolved, int secret);

#endif
