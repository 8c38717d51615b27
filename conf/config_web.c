/*
 * The key `web` of krbwatch.yml: the status page's TLS and its users.
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

	if ((s = cs_text(l, n, "a PEM file", key)) == NULL)
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
	if (cs_fields(l, n, "a mapping with cert_file and key_file", where, keys, NELEM(keys),
	    f) == -1)
		return;
	if (cs_need(l, n, &f[CERT], "cert_file", where) == 0)
		web_file(l, f[CERT].val, "cert_file", 0, &w->cert);
	if (cs_need(l, n, &f[KEY], "key_file", where) == 0)
		web_file(l, f[KEY].val, "key_file", 1, &w->key);
	if (f[CLIENT_CA].val != NULL)
		web_file(l, f[CLIENT_CA].val, "client_ca_file", 0, &w->client_ca);
	if (f[CLIENT_AUTH].val != NULL &&
	    (a = cs_choice(l, f[CLIENT_AUTH].val, "client_auth_type", auths, NELEM(auths))) >= 0)
		w->client_auth = (enum kw_client_auth)a;
	if (f[MIN_VERSION].val != NULL &&
	    (v = cs_choice(l, f[MIN_VERSION].val, "min_version", versions, NELEM(versions))) >= 0)
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

	if (cs_want_filled(l, n, YAML_MAPPING_NODE, "a mapping of user names to bcrypt hashes",
	    "basic_auth_users") == -1)
		return;
	w->users = xcalloc(cs_npairs(n), sizeof(*w->users));
	for (struct cs_walk e = { 0 }; cs_next_entry(l, n, "user", CS_VISIT, &e);) {
		const char *name = e.name, *hash;

		/* Basic credentials are "user:password": a colon cannot be in a user name */
		if (!cs_is_word(name, ":")) {
			cl_error(l, e.key->start_mark, "bad user name \"%s\" in basic_auth_users, "
			    "expected no space, control character or \":\"", name);
			continue;
		}
		if ((hash = cs_text(l, e.val, "a bcrypt hash", "a user of basic_auth_users")) == NULL)
			continue;
		/* the value is not repeated: it might be a password written there by mistake */
		if (!is_bcrypt(hash)) {
			cl_error(l, e.val->start_mark, "bad password hash for user \"%s\", expected a "
			    "bcrypt hash like $2y$10$... (htpasswd -nBC 10 %s)", name, name);
			continue;
		}
		w->users[w->nusers].name = xstrdup(name);
		w->users[w->nusers].hash = xstrdup(hash);
		w->nusers++;
	}
}

static const struct cs_key keys[] = {
	{ "tls_server_config", load_web_tls },
	{ "basic_auth_users", load_web_users },
};

/* web: the HTTP listener's TLS and basic authentication, as in exporter-toolkit's web config. */
const struct cs_section cs_web = {
	"web", "a mapping with tls_server_config and basic_auth_users", keys, NELEM(keys)
};
