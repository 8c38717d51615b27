/* Helpers of the login test drivers (see driver_util.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <krb5/krb5.h>

#include "../lib/log.h"
#include "driver_util.h"

char *
opt(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		fprintf(stderr, "%s needs a value\n", argv[*i]);
		exit(2);
	}
	return argv[++*i];
}

int
copy_cache(const char *src, const char *dst, int init)
{
	krb5_context ctx;
	krb5_ccache in = NULL, out = NULL;
	krb5_principal p = NULL;
	krb5_error_code rc;

	if (krb5_init_context(&ctx) != 0)
		return -1;
	if ((rc = krb5_cc_resolve(ctx, src, &in)) != 0 ||
	    (rc = krb5_cc_get_principal(ctx, in, &p)) != 0 ||
	    (rc = krb5_cc_resolve(ctx, dst, &out)) != 0 ||
	    (init && (rc = krb5_cc_initialize(ctx, out, p)) != 0) ||
	    (rc = krb5_cc_copy_creds(ctx, in, out)) != 0) {
		const char *e = krb5_get_error_message(ctx, rc);

		fprintf(stderr, "copying %s to %s: %s\n", src, dst, e);
		krb5_free_error_message(ctx, e);
	}
	krb5_free_principal(ctx, p);
	if (in != NULL)
		krb5_cc_close(ctx, in);
	if (out != NULL)
		krb5_cc_close(ctx, out);
	krb5_free_context(ctx);
	return rc ? -1 : 0;
}

void
destroy_cache(const char *name)
{
	krb5_context ctx;
	krb5_ccache cc;

	if (krb5_init_context(&ctx) != 0)
		return;
	if (krb5_cc_resolve(ctx, name, &cc) == 0)
		krb5_cc_destroy(ctx, cc);
	krb5_free_context(ctx);
}

int
parse_tls(const char *m, enum kw_tls_mode *mode)
{
	static const char *const names[] = { "disable", "require", "verify-ca", "verify-identity" };
	static const enum kw_tls_mode modes[] = { KW_TLS_DISABLE, KW_TLS_REQUIRE, KW_TLS_VERIFY_CA,
	    KW_TLS_VERIFY_IDENTITY };
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(m, names[i]) == 0) {
			*mode = modes[i];
			return 0;
		}
	return -1;
}

int
driver_opt(struct driver_opts *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i];

	if (strcmp(a, "--host") == 0)
		o->c->host = opt(argc, argv, i);
	else if (strcmp(a, "--port") == 0)
		o->c->port = (uint16_t)atoi(opt(argc, argv, i));
	else if (strcmp(a, "--user") == 0)
		o->c->user = opt(argc, argv, i);
	else if (strcmp(a, "--expect-user") == 0)
		o->c->expect_user = opt(argc, argv, i);
	else if (strcmp(a, "--ca") == 0)
		o->c->tls_ca = opt(argc, argv, i);
	else if (strcmp(a, "--spn") == 0)
		o->spn = opt(argc, argv, i);
	else if (strcmp(a, "--ccache-file") == 0)
		o->ccfile = opt(argc, argv, i);
	else if (strcmp(a, "--fetch-file") == 0)
		o->fetch_file = opt(argc, argv, i);
	else if (strcmp(a, "--timeout") == 0)
		o->timeout_ms = (unsigned)atoi(opt(argc, argv, i));
	else if (strcmp(a, "--cancel-after") == 0)
		o->cancel_ms = (unsigned)atoi(opt(argc, argv, i));
	else if (strcmp(a, "--tls") == 0) {
		const char *m = opt(argc, argv, i);

		if (parse_tls(m, &o->c->tls_mode) == -1) {
			fprintf(stderr, "unknown TLS mode %s\n", m);
			return -1;
		}
	} else
		return 0;
	return 1;
}

struct event_base *
driver_setup(struct driver_opts *o, const char *argv0, const char *mem_ccache)
{
	static char fname[300];
	char ccname[300];

	if (o->c->host == NULL || o->ccfile == NULL) {
		fprintf(stderr, "usage: %s --host H --ccache-file FILE [options]\n", argv0);
		return NULL;
	}
	log_init(getenv("KW_DEBUG") != NULL);
	snprintf(ccname, sizeof ccname, "FILE:%s", o->ccfile);
	if (copy_cache(ccname, mem_ccache, 1) == -1)
		return NULL;
	if (o->fetch_file != NULL) {
		snprintf(fname, sizeof fname, "FILE:%s", o->fetch_file);
		o->fetch_file = fname;
	}
	return event_base_new();
}
