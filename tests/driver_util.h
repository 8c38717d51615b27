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

#endif
