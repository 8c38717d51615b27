/*
 * A stand-in for "krbwatch --check-config FILE" that links only the configuration loader:
 * the same output contract (every message on stderr and exit 1, or "FILE: OK" and exit 0),
 * so that the goldens can be run before or without the daemon.  With -d it also prints the
 * loaded configuration, defaults filled in, to check what the loader understood.
 */
#include <stdio.h>
#include <string.h>

#include "../../conf/config.h"

static void
print_kdcs(const char *indent, const struct kw_kdcs *k)
{
	if (k->from_dns) {
		printf("%sdns\n", indent);
		return;
	}
	for (size_t i = 0; i < k->n; i++)
		printf("%s%s port %u (%d:%d)\n", indent, k->addrs[i].host, k->addrs[i].port,
		    k->addrs[i].line, k->addrs[i].col);
}

static void
dump(const struct kw_config *c)
{
	printf("listen %s port %u\ninterval %llums timeout %llums\n", c->listen.host,
	    c->listen.port, (unsigned long long)c->interval_ms, (unsigned long long)c->timeout_ms);
	printf("principal %s\nkeytab %s\n", c->principal, c->keytab);
	for (size_t i = 0; i < c->nrealms; i++) {
		printf("realm %s domain %s%s\n", c->realms[i].name, c->realms[i].domain,
		    c->realms[i].kdcs_given ? "" : " (kdcs not given)");
		print_kdcs("  kdc ", &c->realms[i].kdcs);
	}
	for (size_t i = 0; i < c->nregions; i++) {
		const struct kw_region *r = &c->regions[i];

		printf("region %s site %s (%d:%d)\n", r->name, r->site, r->line, r->col);
		for (size_t j = 0; j < r->nresolvers; j++)
			printf("  resolver %s port %u\n", r->resolvers[j].host, r->resolvers[j].port);
		for (size_t j = 0; j < c->nrealms; j++) {
			printf("  kdcs of %s:\n", c->realms[j].name);
			print_kdcs("    ", config_region_kdcs(c, r, &c->realms[j]));
		}
		for (size_t j = 0; j < r->nclusters; j++) {
			const struct kw_cluster *k = &r->clusters[j];

			printf("  cluster %s engine %s host %s port %u user %s expect_user %s spn %s "
			    "database %s tls %s ca %s (%d:%d)\n", k->name, engine_name(k->engine),
			    k->host, k->port, k->user, k->expect_user ? k->expect_user : "-",
			    k->spn ? k->spn : "-", k->database ? k->database : "-",
			    tls_mode_name(k->tls_mode), k->tls_ca ? k->tls_ca : "-", k->line, k->col);
		}
	}
	printf("after_failures %u\n", c->after_failures);
	for (size_t i = 0; i < c->nwebhooks; i++)
		printf("webhook %s token %s\n", c->webhooks[i].url,
		    c->webhooks[i].bearer_token_file ? c->webhooks[i].bearer_token_file : "-");
}

int
main(int argc, char **argv)
{
	struct kw_errors errs = { 0 };
	struct kw_config *c;
	int dump_it = argc == 3 && strcmp(argv[1], "-d") == 0;

	if (argc != 2 && !dump_it) {
		fprintf(stderr, "usage: config_main [-d] FILE\n");
		return 2;
	}
	c = config_load(argv[argc - 1], &errs);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	errors_clear(&errs);
	if (c == NULL)
		return 1;
	if (dump_it)
		dump(c);
	else
		printf("%s: OK\n", argv[argc - 1]);
	config_free(c);
	return 0;
}
