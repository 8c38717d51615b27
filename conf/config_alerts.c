/*
 * The key `alerts` of krbwatch.yml: the alert rule and its webhooks (URL, headers, token).
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
	return cs_is_word(s, "");
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
	if (cs_visit(l, n) == -1)
		goto out;
	if (n->type != YAML_MAPPING_NODE) {
		cs_type_error(l, n, "a mapping of header names to values", hwhere);
		goto out;
	}
	if (cs_npairs(n) > KW_MAX_HOOK_HEADERS) {
		cl_error(l, n->start_mark, "%zu headers in %s, expected at most %d", cs_npairs(n),
		    where, KW_MAX_HOOK_HEADERS);
		goto out;
	}
	w->headers = xcalloc(cs_npairs(n), sizeof(*w->headers));
	for (size_t i = 0; i < cs_npairs(n); i++) {
		yaml_node_t *k = cs_node_at(l, n->data.mapping.pairs.start[i].key);
		yaml_node_t *v = cs_node_at(l, n->data.mapping.pairs.start[i].value);
		const char *name, *value;
		size_t j;
		int bad = 0;

		if ((name = cs_text(l, k, "a header name", hwhere)) == NULL)
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
		if ((value = cs_text(l, v, "a header value", name)) == NULL)
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
	if (cs_fields(l, n, "a mapping with url and bearer_token_file", where, keys, NELEM(keys),
	    f) == 0) {
		if (cs_need(l, n, &f[URL], "url", where) == 0 &&
		    (s = cs_text(l, f[URL].val, "an http:// or https:// URL", "url")) != NULL) {
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
		    (s = cs_text(l, f[TOKEN].val, "a file", "bearer_token_file")) != NULL) {
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
			cs_duration(l, f[TIMEOUT].val, "timeout", &w->timeout_ms);
		if (f[BACKOFF].val != NULL)
			cs_duration(l, f[BACKOFF].val, "backoff", &w->backoff_ms);
		if (f[RETRIES].val != NULL && cs_whole(l, f[RETRIES].val, "max_retries", where, 0,
		    KW_MAX_HOOK_RETRIES, &v) == 0)
			w->max_retries = (unsigned)v;
		if (f[QUEUE].val != NULL && cs_whole(l, f[QUEUE].val, "queue", where, 1,
		    KW_MAX_HOOK_QUEUE, &v) == 0)
			w->queue = (size_t)v;
		if (f[HEADERS].val != NULL)
			load_headers(l, f[HEADERS].val, where, f[TOKEN].val != NULL, w);
	}
	free(where);
}

static void
load_after_failures(struct loader *l, const yaml_node_t *n)
{
	const char *s;
	uint64_t v;

	if ((s = cs_text(l, n, "a number", "after_failures")) == NULL)
		return;
	if (cp_uint(s, UINT_MAX, &v) == -1 || v == 0)
		cl_error(l, n->start_mark, "bad after_failures \"%s\", expected a whole number from 1 "
		    "to %u", s, UINT_MAX);
	else
		l->conf->after_failures = (unsigned)v;
}

static void
load_webhooks(struct loader *l, const yaml_node_t *n)
{
	struct kw_config *c = l->conf;

	if (n->type != YAML_SEQUENCE_NODE) {
		cs_type_error(l, n, "a sequence (an item per webhook)", "webhooks");
		return;
	}
	c->webhooks = xcalloc(cs_nitems(n), sizeof(*c->webhooks));
	for (struct cs_walk w = { 0 }; cs_next_item(l, n, CS_OWN_VISIT, &w);)
		load_webhook(l, w.val, w.i, &c->webhooks[c->nwebhooks++]);
}

static const struct cs_key keys[] = {
	{ "after_failures", load_after_failures },
	{ "webhooks", load_webhooks },
};

const struct cs_section cs_alerts = {
	"alerts", "a mapping with after_failures and webhooks", keys, NELEM(keys)
};
