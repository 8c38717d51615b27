/*
 * Unit tests of daemon/web.c: base64 as HTTP clients write it, and the basic authentication
 * decision (schemes, separators, NUL bytes, unknown users, the cache of good credentials).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../daemon/web.h"
#include "unit.h"


static int
b64(const char *in, const char *want)
{
	unsigned char out[64];
	size_t n;

	if (web_base64_decode(in, strlen(in), out, sizeof out, &n) == -1)
		return want == NULL;
	return want != NULL && n == strlen(want) && memcmp(out, want, n) == 0;
}

int
main(void)
{
	/* prom:s3cret, cost 4: checked in well under a millisecond */
	static char name[] = "prom", path[] = "unit.yml",
	    hash[] = "$2b$04$ZEQP0eS7sKo.z1Xuv/CHmOflwTuBRFRg6y2oguVIWfdveMDZNhqgK";
	static struct kw_web_user users[] = { { name, hash } };
	struct kw_config conf = { .path = path };
	struct kw_errors errs = { 0 };
	struct web *web;

	check(b64("cHJvbTpzM2NyZXQ=", "prom:s3cret"), "base64 with padding");
	check(b64("cHJvbTpzM2NyZXQ", "prom:s3cret"), "base64 without padding");
	check(b64("YQ==", "a") && b64("YWI=", "ab") && b64("YWJj", "abc"), "1, 2 and 3 bytes");
	check(b64("", ""), "empty base64 is empty");
	check(b64("Y", NULL) && b64("YWJjZ", NULL), "a lone last character is refused");
	check(b64("YQ=a", NULL) && b64("Y===", NULL) && b64("=", NULL), "misplaced padding is refused");
	check(b64("YW Jj", NULL) && b64("YW-j", NULL), "characters outside base64 are refused");
	{
		unsigned char out[2];
		size_t n;
		check(web_base64_decode("YWJj", 4, out, sizeof out, &n) == -1,
		    "output larger than the buffer is refused");
	}

	conf.web.min_version = 12;
	web = web_new(&conf, &errs);
	check(web != NULL && !web_tls(web) && !web_auth_required(web),
	    "no web settings: plain, no authentication");
	check(web_authorized(web, NULL, "192.0.2.1"), "without users every request is authorized");
	web_free(web);

	conf.web.users = users;
	conf.web.nusers = 1;
	web = web_new(&conf, &errs);
	check(web != NULL && errs.n == 0 && web_auth_required(web), "users: authentication on");
	check(!web_authorized(web, NULL, "192.0.2.1"), "no Authorization header: refused");
	check(web_authorized(web, "Basic cHJvbTpzM2NyZXQ=", "192.0.2.1"), "the right credentials");
	check(web_authorized(web, "Basic cHJvbTpzM2NyZXQ=", "192.0.2.1"), "the right credentials again (cached)");
	check(web_authorized(web, "  basic \tcHJvbTpzM2NyZXQ=  ", "192.0.2.1"),
	    "scheme in any case, spaces and tabs around the token");
	check(!web_authorized(web, "Basic cHJvbTp3cm9uZw==", "192.0.2.1"), "a wrong password after a good one");
	check(web_authorized(web, "Basic cHJvbTpzM2NyZXQ=", "192.0.2.1"), "the cache survives a wrong password");
	check(!web_authorized(web, "Bearer cHJvbTpzM2NyZXQ=", "192.0.2.1"), "another scheme");
	check(!web_authorized(web, "BasiccHJvbTpzM2NyZXQ=", "192.0.2.1"), "no space after the scheme");
	check(!web_authorized(web, "Basic", "192.0.2.1"), "a scheme without credentials");
	check(!web_authorized(web, "Basic cHJvbXMzY3JldA==", "192.0.2.1"), "no colon (proms3cret)");
	check(!web_authorized(web, "Basic cHJvbjpzM2NyZXQ=", "192.0.2.1"), "an unknown user (pron)");
	check(!web_authorized(web, "Basic cHJvOnMzY3JldA==", "192.0.2.1"), "a prefix of the user (pro)");
	check(!web_authorized(web, "Basic cHJvbTpzM2NyZXQAeA==", "192.0.2.1"),
	    "a NUL inside the password (s3cret\\0x) is not cut to s3cret");
	check(!web_authorized(web, "Basic cHJvbTpzM2NyZXQ=,", "192.0.2.1"), "junk after the token");
	check(!web_authorized(web, "Basic cHJvbTo=", "192.0.2.1"), "an empty password");
	{
		/* a flood spends the bcrypt budget; the verified password still gets in */
		int all_refused = 1;
		for (int i = 0; i < 2000; i++)
			(void)web_authorized(web, "Basic cHJvbTp3cm9uZw==", "192.0.2.66");
		for (int i = 0; i < 5; i++)
			all_refused &= !web_authorized(web, "Basic cHJvbjpzM2NyZXQ=", "192.0.2.67");
		check(all_refused, "during the flood unknown users are still refused");
		check(web_authorized(web, "Basic cHJvbTpzM2NyZXQ=", "192.0.2.1"),
		    "during the flood the verified credentials still pass");
	}
	web_free(web);
	errors_clear(&errs);
	return failed;
}
