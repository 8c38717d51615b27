/*
 * Unit tests of the configuration loader: the syntax of durations and addresses at their
 * edges, the suggestion of near keys, and what a loaded configuration holds (defaults,
 * resolved paths).  The golden files in tests/conf/ test the messages through the binary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../conf/config.h"
#include "../conf/config_int.h"
#include "unit.h"


static void
dur_ok(const char *s, uint64_t want)
{
	uint64_t ms = 12345;
	char what[128];

	snprintf(what, sizeof(what), "duration \"%s\" is %llu ms", s, (unsigned long long)want);
	check(config_parse_duration(s, &ms) == 0 && ms == want, what);
}

static void
dur_bad(const char *s)
{
	uint64_t ms = 12345;
	char what[128];

	snprintf(what, sizeof(what), "duration \"%s\" is refused", s);
	check(config_parse_duration(s, &ms) == -1 && ms == 12345, what);
}

static void
addr_ok(const char *s, const char *host, uint16_t port)
{
	struct kw_addr a = { 0 };
	const char *why = NULL;
	char what[400];
	int rc = config_parse_addr(s, 88, &a, &why);

	snprintf(what, sizeof(what), "address \"%s\" is host \"%s\" port %u", s, host, port);
	check(rc == 0 && a.host != NULL && strcmp(a.host, host) == 0 && a.port == port, what);
	if (rc != 0)
		printf("#   why: %s\n", why);
	free(a.host);
}

static void
addr_bad(const char *s, const char *why_part)
{
	struct kw_addr a = { 0 };
	const char *why = NULL;
	char what[400];
	int rc = config_parse_addr(s, 88, &a, &why);

	snprintf(what, sizeof(what), "address \"%s\" is refused (%s)", s, why_part);
	check(rc == -1 && a.host == NULL && why != NULL && strstr(why, why_part) != NULL, what);
	if (rc == -1 && why != NULL && strstr(why, why_part) == NULL)
		printf("#   why: %s\n", why);
	free(a.host);
}

static void
test_durations(void)
{
	dur_ok("500ms", 500);
	dur_ok("1ms", 1);
	dur_ok("30s", 30000);
	dur_ok("5m", 300000);
	dur_ok("1h", 3600000);
	dur_ok("1h30m", 5400000);
	dur_ok("1m500ms", 60500);
	dur_ok("1h1m1s1ms", 3661001);
	dur_ok("0s", 0);
	dur_ok("007s", 7000);
	dur_ok("18446744073709551615ms", UINT64_MAX);
	dur_ok("5124095576030h", 5124095576030ULL * 3600000);
	dur_bad("");
	dur_bad("30");
	dur_bad("s");
	dur_bad("ms");
	dur_bad("1.5s");
	dur_bad("-1s");
	dur_bad("+1s");
	dur_bad(" 1s");
	dur_bad("1s ");
	dur_bad("1 s");
	dur_bad("1S");
	dur_bad("1sec");
	dur_bad("1d");
	dur_bad("1msx");
	dur_bad("30s1m");
	dur_bad("1s1s");
	dur_bad("1s500");
	dur_bad("18446744073709551616ms");
	dur_bad("99999999999999999999999s");
	dur_bad("5124095576031h");
	dur_bad("5124095576030h26m");
	dur_ok("5124095576030h25m", 5124095576030ULL * 3600000 + 25 * 60000);
	check(config_parse_duration(NULL, &(uint64_t){ 0 }) == -1, "duration NULL is refused");
}

static void
test_addrs(void)
{
	char name[400], label[64];

	addr_ok("10.0.0.1", "10.0.0.1", 88);
	addr_ok("10.0.0.1:464", "10.0.0.1", 464);
	addr_ok("0.0.0.0:1", "0.0.0.0", 1);
	addr_ok("255.255.255.255:65535", "255.255.255.255", 65535);
	addr_ok("::1", "::1", 88);
	addr_ok("::", "::", 88);
	addr_ok("[::1]", "::1", 88);
	addr_ok("[::1]:53", "::1", 53);
	addr_ok("2001:db8::1", "2001:db8::1", 88);
	addr_ok("[2001:db8::1]:088", "2001:db8::1", 88);
	addr_ok("::ffff:10.0.0.1", "::ffff:10.0.0.1", 88);
	addr_ok("kdc1.example.com", "kdc1.example.com", 88);
	addr_ok("KDC1.Example.COM:750", "KDC1.Example.COM", 750);
	addr_ok("kdc.example.com.", "kdc.example.com.", 88);
	addr_ok("localhost", "localhost", 88);
	addr_ok("1kdc.example.com", "1kdc.example.com", 88);
	addr_ok("x--y.example", "x--y.example", 88);
	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(name, sizeof(name), "%s.example", label);
	addr_ok(name, name, 88);
	/* 253 characters: 63 + 1 + 63 + 1 + 63 + 1 + 61 */
	snprintf(name, sizeof(name), "%s.%s.%s.%.61s", label, label, label, label);
	check(strlen(name) == 253, "the 253-character name is 253 characters");
	addr_ok(name, name, 88);

	addr_bad("", "empty");
	addr_bad(":88", "not a host name");
	addr_bad("host:", "bad port");
	addr_bad("host:0", "bad port");
	addr_bad("host:65536", "bad port");
	addr_bad("host:+1", "bad port");
	addr_bad("host:-1", "bad port");
	addr_bad("host: 1", "bad port");
	addr_bad("host:1 ", "bad port");
	addr_bad("host:99999999999999999999999", "bad port");
	addr_bad("[::1", "missing \"]\"");
	addr_bad("[::1]x", "unexpected text");
	addr_bad("[::1]:", "bad port");
	addr_bad("[::1]:0", "bad port");
	addr_bad("[]", "not an IPv6");
	addr_bad("[10.0.0.1]", "not an IPv6");
	addr_bad("[fe80::1%eth0]", "not an IPv6");
	addr_bad("::1::", "not an IPv6");
	addr_bad("2001:db8:::1", "not an IPv6");
	addr_bad("1.2.3", "not an IPv4");
	addr_bad("1.2.3.4.5", "not an IPv4");
	addr_bad("256.1.1.1", "not an IPv4");
	addr_bad("1.2.3.4:", "bad port");
	addr_bad("a_b.example", "not a host name");
	addr_bad("-a.example", "not a host name");
	addr_bad("a-.example", "not a host name");
	addr_bad("a..b", "not a host name");
	addr_bad(".example", "not a host name");
	addr_bad("host.123", "not a host name");
	addr_bad("ho st", "not a host name");
	addr_bad("h\xc3\xa9te.example", "not a host name");
	snprintf(name, sizeof(name), "%sa.example", label);
	addr_bad(name, "not a host name");
	snprintf(name, sizeof(name), "%s.%s.%s.%.62s", label, label, label, label);
	addr_bad(name, "not a host name");
	check(config_parse_addr(NULL, 88, &(struct kw_addr){ 0 }, NULL) == -1,
	    "address NULL is refused, why may be NULL");
}

static void
test_suggest(void)
{
	static const char *const keys[] = {
		"listen", "interval", "timeout", "identity", "realms", "regions", "alerts",
	};
	static const char *const ckeys[] = { "name", "engine", "host", "port", "user", "spn", "tls" };
	const char *s;

	check(cp_distance("intervall", "interval") == 1, "distance: one insertion");
	check(cp_distance("tsl", "tls") == 1, "distance: a transposition counts one");
	check(cp_distance("Listen", "listen") == 0, "distance ignores case");
	check(cp_distance("", "abc") == 3, "distance from nothing");
	s = cp_suggest("intervall", keys, 7);
	check(s != NULL && strcmp(s, "interval") == 0, "suggest interval for intervall");
	s = cp_suggest("regoins", keys, 7);
	check(s != NULL && strcmp(s, "regions") == 0, "suggest regions for regoins");
	check(cp_suggest("colour", keys, 7) == NULL, "nothing close to colour");
	check(cp_suggest("dns", ckeys, 7) == NULL, "dns is too short to be a misspelt spn");
	s = cp_suggest("hots", ckeys, 7);
	check(s != NULL && strcmp(s, "host") == 0, "suggest host for hots");
	check(cp_suggest("x", ckeys, 0) == NULL, "nothing to suggest from no candidates");
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(text, fp) == EOF || fclose(fp) != 0) {
		perror(path);
		exit(1);
	}
	chmod(path, mode);
}

static void
test_load(void)
{
	char dir[200], path[256], keytab[256], creds[300], want[400];
	struct kw_errors errs = { 0 };
	struct kw_config *c;
	const struct kw_region *r;
	const struct kw_realm *onprem, *awsmad;
	const struct kw_kdcs *k;

	if (unit_mkdtemp(dir, sizeof dir, "unit_config") == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(keytab, sizeof(keytab), "%s/k.keytab", dir);
	write_file(keytab, "x", 0600);
	snprintf(path, sizeof(path), "%s/c.yml", dir);
	write_file(path,
	    "identity: { principal: m@ONPREM.EXAMPLE.COM, keytab: k.keytab }\n"
	    "realms:\n"
	    "  ONPREM.EXAMPLE.COM: { domain: onprem.example.com, kdcs: [10.0.0.1, \"[::1]:750\"] }\n"
	    "  AWSMAD.KERBEROS.COM: { domain: awsmad.kerberos.com }\n"
	    "regions:\n"
	    "  us-east-1:\n"
	    "    resolvers: [10.0.0.53]\n"
	    "    kdcs: { AWSMAD.KERBEROS.COM: [10.1.0.1] }\n"
	    "    clusters:\n"
	    "      - { name: a, engine: mariadb, host: db, user: u }\n"
	    "      - { name: b, engine: postgresql, host: pg, user: u, tls: { mode: require } }\n",
	    0644);
	unsetenv("CREDENTIALS_DIRECTORY");
	c = config_load(path, &errs);
	check(c != NULL && errs.n == 0, "a small configuration loads");
	if (c == NULL) {
		unit_config_errors(&errs);
		errors_clear(&errs);
		return;
	}
	check(strcmp(c->path, path) == 0, "the path is kept");
	check(strcmp(c->listen.host, "127.0.0.1") == 0 && c->listen.port == 10088,
	    "listen defaults to 127.0.0.1:10088");
	check(c->interval_ms == KW_DEFAULT_INTERVAL_MS && c->timeout_ms == KW_DEFAULT_TIMEOUT_MS,
	    "interval and timeout default to 30s and 10s");
	check(c->login_concurrency == KW_DEFAULT_LOGIN_CONCURRENCY && c->login_concurrency == 4,
	    "login_concurrency defaults to 4 logins at a time per host");
	check(c->after_failures == 3 && c->nwebhooks == 0, "alerts default to 3 and no webhook");
	check(strcmp(c->keytab, keytab) == 0, "a relative keytab is found beside the file");
	check(c->nrealms == 2 && c->nregions == 1, "two realms, one Region");
	onprem = config_realm(c, "ONPREM.EXAMPLE.COM");
	awsmad = config_realm(c, "AWSMAD.KERBEROS.COM");
	check(onprem != NULL && awsmad != NULL && config_realm(c, "onprem.example.com") == NULL,
	    "config_realm finds realms by their exact name");
	if (onprem == NULL || awsmad == NULL)
		goto out;
	check(onprem->kdcs_given && !onprem->kdcs.from_dns && onprem->kdcs.n == 2 &&
	    onprem->kdcs.addrs[0].port == 88 && strcmp(onprem->kdcs.addrs[1].host, "::1") == 0 &&
	    onprem->kdcs.addrs[1].port == 750, "realm KDCs: port 88 unless given");
	check(onprem->kdcs.addrs[0].line == 3 && onprem->kdcs.addrs[0].col == 60,
	    "an address knows its line and column");
	check(!awsmad->kdcs_given && awsmad->kdcs.from_dns, "a realm without kdcs uses dns");
	r = &c->regions[0];
	check(strcmp(r->name, "us-east-1") == 0 && strcmp(r->site, "us-east-1") == 0,
	    "site defaults to the Region's name");
	check(r->nresolvers == 1 && r->resolvers[0].port == 53, "resolvers: port 53 by default");
	k = config_region_kdcs(c, r, awsmad);
	check(k->n == 1 && strcmp(k->addrs[0].host, "10.1.0.1") == 0,
	    "a Region's own KDCs for a realm come first");
	check(config_region_kdcs(c, r, onprem) == &onprem->kdcs,
	    "a realm the Region does not list uses the realm's KDCs");
	check(r->nclusters == 2, "two clusters");
	if (r->nclusters == 2) {
		const struct kw_cluster *a = &r->clusters[0], *b = &r->clusters[1];

		check(a->engine == KW_ENGINE_MARIADB && a->port == 3306 && a->database == NULL &&
		    a->tls_mode == KW_TLS_VERIFY_IDENTITY && a->tls_ca == NULL &&
		    a->expect_user == NULL && a->spn == NULL, "mariadb defaults");
		check(b->engine == KW_ENGINE_POSTGRESQL && b->port == 5432 &&
		    b->database != NULL && strcmp(b->database, "postgres") == 0 &&
		    b->tls_mode == KW_TLS_REQUIRE, "postgresql defaults");
		check(a->line == 10 && a->col == 9, "a cluster knows its line and column");
	}
	check(strcmp(engine_name(KW_ENGINE_POSTGRESQL), "postgresql") == 0 &&
	    strcmp(tls_mode_name(KW_TLS_VERIFY_CA), "verify-ca") == 0, "names of enums");
out:
	config_free(c);

	/* under systemd the same relative keytab is a credential */
	snprintf(creds, sizeof(creds), "%s/creds", dir);
	mkdir(creds, 0700);
	snprintf(want, sizeof(want), "%s/k.keytab", creds);
	write_file(want, "x", 0400);
	setenv("CREDENTIALS_DIRECTORY", creds, 1);
	c = config_load(path, &errs);
	check(c != NULL && strcmp(c->keytab, want) == 0,
	    "with CREDENTIALS_DIRECTORY a relative keytab is a credential");
	config_free(c);
	unlink(want);
	c = config_load(path, &errs);
	check(c == NULL && errs.n == 1 && strstr(errs.msg[0], "/creds/k.keytab) does not exist"),
	    "a missing credential is reported with where it was looked for");
	unsetenv("CREDENTIALS_DIRECTORY");

	/* messages are appended; errors_clear empties */
	write_file(path, "interval: 5\n", 0644);
	c = config_load(path, &errs);
	check(c == NULL && errs.n == 1 + 4, "messages are added to those already there");
	errors_clear(&errs);
	check(errs.n == 0 && errs.msg == NULL, "errors_clear empties the list");
	errors_clear(&errs);
	config_free(NULL);

	unlink(path);
	unlink(keytab);
	rmdir(creds);
	rmdir(dir);
}

int
main(void)
{
	test_durations();
	test_addrs();
	test_suggest();
	test_load();
	return failed ? 1 : 0;
}
