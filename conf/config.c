/*
 * Loading a configuration: the file, libyaml, the messages, and freeing.  What the keys mean
 * is in config_schema.c (the top level and the loaders' tools) and the rooms of the keys
 * (config_regions.c, config_identity.c, config_alerts.c, config_web.c); the syntax of single
 * values in config_parse.c; file checks in config_files.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "../lib/xmalloc.h"
#include "config.h"
#include "config_int.h"

/* A configuration is a few kilobytes; this only stops a wrong path from eating memory. */
#define CONFIG_MAX_BYTES (1024 * 1024)
/*
 * YAML aliases let a small file name the same list thousands of times; the walk stops after
 * this many mappings and list items rather than spend minutes on it.
 */
#define CONFIG_MAX_VISITS 200000

/*
 * Messages are one line each: control characters that came from the file (a newline in a
 * quoted scalar) are written as escapes.
 */
static char *
one_line(const char *s)
{
	size_t n = 0;
	const char *p;
	char *out, *o;

	for (p = s; *p != '\0'; p++)
		n += (unsigned char)*p < 0x20 || *p == 0x7f ? 4 : 1;
	o = out = xmalloc(n + 1);
	for (p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\n')
			memcpy(o, "\\n", 2), o += 2;
		else if (c == '\t')
			memcpy(o, "\\t", 2), o += 2;
		else if (c < 0x20 || c == 0x7f)
			o += sprintf(o, "\\x%02x", c);
		else
			*o++ = (char)c;
	}
	*o = '\0';
	return out;
}

static void
add_msg(struct loader *l, int line, int col, const char *fmt, va_list ap)
{
	char *text, *clean;

	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	clean = one_line(text);
	free(text);
	l->msgs = xreallocarray(l->msgs, l->nmsgs + 1, sizeof(*l->msgs));
	if (line > 0)
		xasprintf(&l->msgs[l->nmsgs].text, "%s:%d:%d: %s", l->file, line, col, clean);
	else
		xasprintf(&l->msgs[l->nmsgs].text, "%s: %s", l->file, clean);
	l->msgs[l->nmsgs].line = line;
	l->msgs[l->nmsgs].col = col;
	l->nmsgs++;
	free(clean);
}

/* Reports a problem at a libyaml mark (0-based) as FILE:LINE:COL (1-based). */
void
cl_error(struct loader *l, yaml_mark_t mark, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_msg(l, (int)mark.line + 1, (int)mark.column + 1, fmt, ap);
	va_end(ap);
}

/* Reports a problem at a 1-based line and column; line 0 means the file as a whole. */
void
cl_error_at(struct loader *l, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_msg(l, line, col, fmt, ap);
	va_end(ap);
}

static int
msg_cmp(const void *a, const void *b)
{
	const struct cl_msg *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return (x->col > y->col) - (x->col < y->col);
}

/*
 * Messages go out in file order; those found at the same place keep the order they were found
 * in (the sort is made stable by sorting a copy with insertion, which is fine for a handful).
 */
static void
hand_over(struct loader *l, struct kw_errors *errs)
{
	for (size_t i = 1; i < l->nmsgs; i++) {
		struct cl_msg m = l->msgs[i];
		size_t j = i;

		for (; j > 0 && msg_cmp(&l->msgs[j - 1], &m) > 0; j--)
			l->msgs[j] = l->msgs[j - 1];
		l->msgs[j] = m;
	}
	errs->msg = xreallocarray(errs->msg, errs->n + l->nmsgs, sizeof(*errs->msg));
	for (size_t i = 0; i < l->nmsgs; i++)
		errs->msg[errs->n++] = l->msgs[i].text;
	free(l->msgs);
	l->msgs = NULL;
	l->nmsgs = 0;
}

/* Reads the whole file; NULL after a message when it cannot. */
static unsigned char *
read_file(struct loader *l, size_t *len)
{
	unsigned char *buf;
	struct stat st;
	size_t have = 0;
	int fd;

	if ((fd = open(l->file, O_RDONLY | O_CLOEXEC)) == -1) {
		cl_error_at(l, 0, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size > CONFIG_MAX_BYTES) {
		if (fstat(fd, &st) == -1)
			cl_error_at(l, 0, 0, "cannot examine: %s", strerror(errno));
		else if (!S_ISREG(st.st_mode))
			cl_error_at(l, 0, 0, "not a regular file, expected a YAML file");
		else
			cl_error_at(l, 0, 0, "larger than %d bytes, expected a configuration file",
			    CONFIG_MAX_BYTES);
		close(fd);
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	for (;;) {
		ssize_t n = read(fd, buf + have, (size_t)st.st_size + 1 - have);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			cl_error_at(l, 0, 0, "cannot read: %s", strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		if (have > (size_t)st.st_size) {
			cl_error_at(l, 0, 0, "changed while it was read, try again");
			free(buf);
			close(fd);
			return NULL;
		}
	}
	close(fd);
	*len = have;
	return buf;
}

/* Where a reader error (bad UTF-8, a control character) sits: libyaml only gives an offset. */
static void
offset_to_mark(const unsigned char *buf, size_t len, size_t off, yaml_mark_t *m)
{
	size_t line = 0, col = 0;

	for (size_t i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n')
			line++, col = 0;
		else if ((buf[i] & 0xc0) != 0x80)
			col++;
	}
	m->line = line;
	m->column = col;
}

static void
syntax_error(struct loader *l, const yaml_parser_t *p, const unsigned char *buf, size_t len)
{
	yaml_mark_t mark = p->problem_mark;
	const char *problem = p->problem != NULL ? p->problem : "cannot parse";

	if (p->error == YAML_READER_ERROR) {
		offset_to_mark(buf, len, p->problem_offset, &mark);
		cl_error(l, mark, "YAML syntax error: %s, expected UTF-8 text", problem);
	} else if (p->context != NULL) {
		cl_error(l, mark, "YAML syntax error: %s (%s at line %zu, column %zu)", problem,
		    p->context, p->context_mark.line + 1, p->context_mark.column + 1);
	} else {
		cl_error(l, mark, "YAML syntax error: %s", problem);
	}
}

static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;

	if (slash == NULL)
		return NULL;
	if (slash == path)
		return xstrdup("/");
	dir = xmalloc((size_t)(slash - path) + 1);
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return dir;
}

/* Parses the one YAML document of the file and hands its root to the schema. */
static void
load_yaml(struct loader *l, const unsigned char *buf, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	yaml_node_t *root, *root2;

	if (!yaml_parser_initialize(&parser))
		abort();
	yaml_parser_set_input_string(&parser, buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		syntax_error(l, &parser, buf, len);
		yaml_parser_delete(&parser);
		return;
	}
	if ((root = yaml_document_get_root_node(&doc)) == NULL) {
		cl_error_at(l, 1, 1, "the file is empty, expected a mapping with at least identity, "
		    "realms and regions");
	} else {
		l->doc = &doc;
		cs_load(l, root);
		l->doc = NULL;
		/* a second document would be ignored silently: say so instead */
		if (!yaml_parser_load(&parser, &extra)) {
			syntax_error(l, &parser, buf, len);
		} else {
			if ((root2 = yaml_document_get_root_node(&extra)) != NULL)
				cl_error(l, extra.start_mark, "a second YAML document, expected only "
				    "one");
			yaml_document_delete(&extra);
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
}

/* The part of a load that is the same for a file and for text in memory. */
static struct kw_config *
load_common(const char *name, const unsigned char *text, size_t textlen, int from_file,
    struct kw_errors *errs)
{
	struct loader l = { .file = name, .budget = CONFIG_MAX_VISITS };
	struct kw_config *conf = xcalloc(1, sizeof(*conf));
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	unsigned char *buf = NULL;
	size_t len = textlen;

	conf->path = xstrdup(name);
	l.conf = conf;
	l.dir = dir_of(name);
	l.creds = creds != NULL && *creds != '\0' ? creds : NULL;
	if (from_file)
		text = buf = read_file(&l, &len);
	else if (len > CONFIG_MAX_BYTES) {
		cl_error_at(&l, 0, 0, "larger than %d bytes, expected a configuration file",
		    CONFIG_MAX_BYTES);
		text = NULL;
	}
	if (text != NULL)
		load_yaml(&l, text, len);
	free_all(buf, l.dir, l.cluster_names, l.cluster_lines);
	if (l.nmsgs > 0) {
		hand_over(&l, errs);
		config_free(conf);
		return NULL;
	}
	free(l.msgs);
	return conf;
}

struct kw_config *
config_load(const char *path, struct kw_errors *errs)
{
	return load_common(path, NULL, 0, 1, errs);
}

struct kw_config *
config_load_buffer(const char *name, const void *text, size_t len, struct kw_errors *errs)
{
	return load_common(name, text, len, 0, errs);
}

/* What each struct of a configuration owns, the arrays through free_array (lib/xmalloc.h). */
static void
free_addr(struct kw_addr *a)
{
	free(a->host);
}

static void
free_kdcs(struct kw_kdcs *k)
{
	free_array(k->addrs, k->n, free_addr);
}

static void
free_realm(struct kw_realm *r)
{
	free_all(r->name, r->domain);
	free_kdcs(&r->kdcs);
}

static void
free_region_kdcs(struct kw_region_kdcs *k)
{
	free(k->realm);
	free_kdcs(&k->kdcs);
}

static void
free_cluster(struct kw_cluster *c)
{
	free_all(c->name, c->host, c->user, c->expect_user, c->spn, c->database, c->tls_ca);
	ce_free_endpoints(&c->endpoints);
}

static void
free_region(struct kw_region *r)
{
	free_all(r->name, r->site);
	free_array(r->resolvers, r->nresolvers, free_addr);
	free_array(r->kdcs, r->nkdcs, free_region_kdcs);
	free_array(r->clusters, r->nclusters, free_cluster);
}

static void
free_header(struct kw_header *h)
{
	free_all(h->name, h->value);
}

static void
free_webhook(struct kw_webhook *w)
{
	free_all(w->url, w->bearer_token_file);
	free_array(w->headers, w->nheaders, free_header);
}

static void
free_user(struct kw_web_user *u)
{
	free_all(u->name, u->hash);
}

void
config_free(struct kw_config *c)
{
	if (c == NULL)
		return;
	free_all(c->path, c->listen.host, c->principal, c->keytab, c->state_directory,
	    c->web.cert.path, c->web.key.path, c->web.client_ca.path);
	free_array(c->realms, c->nrealms, free_realm);
	free_array(c->regions, c->nregions, free_region);
	ce_free_globals(c);
	free_array(c->webhooks, c->nwebhooks, free_webhook);
	free_array(c->web.users, c->web.nusers, free_user);
	free(c);
}

void
errors_clear(struct kw_errors *errs)
{
	free_ptrs(errs->msg, errs->n, free);
}

const struct kw_realm *
config_realm(const struct kw_config *c, const char *name)
{
	for (size_t i = 0; i < c->nrealms; i++)
		if (strcmp(c->realms[i].name, name) == 0)
			return &c->realms[i];
	return NULL;
}

const struct kw_kdcs *
config_region_kdcs(const struct kw_config *c, const struct kw_region *r,
    const struct kw_realm *realm)
{
	(void)c;
	for (size_t i = 0; i < r->nkdcs; i++)
		if (strcmp(r->kdcs[i].realm, realm->name) == 0)
			return &r->kdcs[i].kdcs;
	return &realm->kdcs;
}

const struct kw_engine_row kw_engines[] = {
	[KW_ENGINE_MYSQL] = { "mysql", 3306, NULL, "mysql" },
	[KW_ENGINE_MARIADB] = { "mariadb", 3306, NULL, "mariadb" },
	[KW_ENGINE_POSTGRESQL] = { "postgresql", 5432, "postgres", "postgres" },
};
const size_t kw_nengines = sizeof kw_engines / sizeof kw_engines[0];

const struct kw_engine_row *
engine_row(enum kw_engine e)
{
	return (size_t)e < kw_nengines ? &kw_engines[e] : NULL;
}

const char *
engine_name(enum kw_engine e)
{
	const struct kw_engine_row *r = engine_row(e);

	return r != NULL ? r->name : "?";
}

const char *
tls_mode_name(enum kw_tls_mode m)
{
	switch (m) {
	case KW_TLS_DISABLE:
		return "disable";
	case KW_TLS_REQUIRE:
		return "require";
	case KW_TLS_VERIFY_CA:
		return "verify-ca";
	case KW_TLS_VERIFY_IDENTITY:
		return "verify-identity";
	}
	return "?";
}
