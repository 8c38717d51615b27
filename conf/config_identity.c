/*
 * The keys `identity` (principal, keytab, the lockout budget) and `state_directory` of
 * krbwatch.yml, and the check that the clusters' realm is one the identity can reach.
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

void
cs_load_identity(struct loader *l, const yaml_node_t *n)
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

	if (cs_fields(l, n, "a mapping with principal and keytab", "identity", keys, NELEM(keys),
	    f) == -1)
		return;
	if (cs_need(l, n, &f[PRINCIPAL], "principal", "identity") == 0 &&
	    (s = cs_text(l, f[PRINCIPAL].val, "a principal like krbmon@ONPREM.EXAMPLE.COM",
	    "principal")) != NULL) {
		if ((at = strrchr(s, '@')) == NULL || at == s || at[1] == '\0' ||
		    !cs_is_word(s, ""))
			cl_error(l, f[PRINCIPAL].val->start_mark, "bad principal \"%s\", expected "
			    "NAME@REALM (e.g. krbmon@ONPREM.EXAMPLE.COM)", s);
		else {
			c->principal = xstrdup(s);
			if (l->realms_ok && config_realm(c, at + 1) == NULL)
				cs_unknown_realm(l, f[PRINCIPAL].val->start_mark, at + 1,
				    "of the principal");
		}
	}
	if (cs_need(l, n, &f[KEYTAB], "keytab", "identity") == 0 &&
	    (s = cs_text(l, f[KEYTAB].val, "a keytab file", "keytab")) != NULL) {
		resolved = cf_resolve(l, s, 1);
		cf_check(l, f[KEYTAB].val->start_mark, "keytab", s, resolved, 1);
		c->keytab = cf_absolute(resolved);
		free(resolved);
	}
	/* the lockout budget: at least one attempt, or krbwatch could never get a TGT */
	if (f[MAX_FAILED].val != NULL &&
	    cs_whole(l, f[MAX_FAILED].val, "max_failed_attempts", "identity", 1,
	    KW_MAX_FAILED_ATTEMPTS, &v) == 0)
		c->max_failed_attempts = (unsigned)v;
	/*
	 * Shorter than a minute would let krbwatch try again before any directory's observation
	 * window (AD's "reset account lockout counter after", MIT's failurecountinterval) is over.
	 */
	if (f[WINDOW].val != NULL &&
	    cs_duration(l, f[WINDOW].val, "lockout_window", &c->lockout_window_ms) == 0 &&
	    c->lockout_window_ms < KW_MIN_LOCKOUT_WINDOW_MS)
		cl_error(l, f[WINDOW].val->start_mark, "bad duration \"%s\" for lockout_window, "
		    "expected at least 1m (the directory's lockout observation window, e.g. 30m)",
		    cs_sval(f[WINDOW].val));
}

/*
 * state_directory: where the lockout budget survives a restart.  Written or not, a directory
 * that exists; krbwatch must be able to create files in it.  Unset: $STATE_DIRECTORY (systemd's
 * StateDirectory=, the first of a colon-separated list), else memory only.
 */
void
cs_load_state_directory(struct loader *l, const yaml_node_t *n)
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
	if ((s = cs_text(l, n, "a directory", "state_directory")) == NULL)
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
void
cs_check_database_realm(struct loader *l)
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
