/* What the login test drivers (login_main.c, login_pg_main.c) share: options and caches. */
#ifndef KRBWATCH_DRIVER_UTIL_H
#define KRBWATCH_DRIVER_UTIL_H

#include "../conf/config.h"

/* The value of option argv[*i] (advancing *i); exits 2 when it has none. */
char *opt(int argc, char **argv, int *i);
/* Copies every credential of src into dst (dst initialised for src's client when init). */
int copy_cache(const char *src, const char *dst, int init);
void destroy_cache(const char *name);
/* "disable", "require", "verify-ca", "verify-identity" -> *mode; -1 for anything else. */
int parse_tls(const char *m, enum kw_tls_mode *mode);

/* What both drivers take from their command line. */
struct driver_opts {
	struct kw_cluster *c;
	const char *ccfile, *spn, *fetch_file;
	unsigned timeout_ms, cancel_ms;
};

/*
 * An option both drivers take, argv[*i] (--host --port --user --expect-user --ca --spn
 * --ccache-file --fetch-file --timeout --cancel-after --tls): 1 taken, 0 not one of these, -1 a
 * bad value (said on stderr).
 */
int driver_opt(struct driver_opts *, int argc, char **argv, int *i);

/*
 * After the options: the usage check, logging, FILE's tickets into mem_ccache, fetch_file as a
 * "FILE:" name, the loop.  NULL (said on stderr) when any of it fails.
 */
struct event_base *driver_setup(struct driver_opts *, const char *argv0, const char *mem_ccache);

#endif
