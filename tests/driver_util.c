/* Helpers of the login test drivers (see driver_util.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <krb5/krb5.h>

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
