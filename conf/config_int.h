/*
 * Inside the configuration loader: what config.c (file, libyaml, messages), config_schema.c
 * (keys and types), config_parse.c (scalar syntax) and config_files.c (paths and files) share.
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
