/*
 * Unit tests of the endpoint keys (conf/config_endpoints.c): a cluster's endpoints, the
 * global databases and their members, and each mistake named at its line and column.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../conf/config.h"
#include "unit.h"

static char dir[200];

#define HEAD \
	"identity: { principal: m@ONPREM.EXAMPLE.COM, keytab: k.keytab }\n" \
	"realms:\n" \
	"  ONPREM.EXAMPLE.COM: { domain: onprem.example.com }\n" \
	"  AWSMAD.KERBEROS.COM: { domain: awsmad.kerberos.com }\n" \
	"regions:\n"

static struct kw_config *
load(const char *text, struct kw_errors *errs)
{
	char name[256];

	snprintf(name, sizeof(name), "%s/c.yml", dir);
	return config_load_buffer(name, text, strlen(text), errs);
}

/* The configuration is refused with one message holding want, at line:col. */
static void
refused(const char *what, const char *text, const char *at, const char *want)
{
	struct kw_errors errs = { 0 };
	struct kw_config *c = load(text, &errs);
	char pos[300];
	int found = 0;

	snprintf(pos, sizeof(pos), "%s/c.yml:%s: ", dir, at);
	for (size_t i = 0; i < errs.n; i++)
		if (strncmp(errs.msg[i], pos, strlen(pos)) == 0 && strstr(errs.msg[i], want) != NULL)
			found = 1;
	check(c == NULL && found, what);
	if (!found)
		for (size_t i = 0; i < errs.n; i++)
			printf("#   got: %s\n", errs.msg[i]);
	config_free(c);
	errors_clear(&errs);
}

static void
test_good(void)
{
	struct kw_errors errs = { 0 };
	struct kw_config *c = load(HEAD
	    "  us-east-1:\n"
	    "    resolvers: [10.0.0.53]\n"
	    "    clusters:\n"
	    "      - name: east\n"
	    "        engine: mysql\n"
	    "        user: u\n"
	    "        endpoints:\n"
	    "          writer: db.cluster-x.us-east-1.rds.amazonaws.com\n"
	    "          reader: db.cluster-ro-x.us-east-1.rds.amazonaws.com\n"
	    "          instances: [db-1.x.us-east-1.rds.amazonaws.com, db-2.x.us-east-1.rds.amazonaws.com]\n"
	    "      - { name: plain, engine: mysql, host: other, user: u }\n"
	    "  us-west-2:\n"
	    "    resolvers: [10.2.0.53]\n"
	    "    clusters:\n"
	    "      - { name: west, engine: mysql, host: db.cluster-y.us-west-2.rds.amazonaws.com, user: u,\n"
	    "          endpoints: { reader: db.cluster-ro-y.us-west-2.rds.amazonaws.com } }\n"
	    "global_databases:\n"
	    "  - name: orders\n"
	    "    endpoint: orders.global-z.global.rds.amazonaws.com\n"
	    "    clusters: [east, west]\n", &errs);
	const struct kw_cluster *e, *p, *w;

	check(c != NULL && errs.n == 0, "endpoints and global_databases load");
	if (c == NULL) {
		unit_config_errors(&errs);
		errors_clear(&errs);
		return;
	}
	e = &c->regions[0].clusters[0];
	p = &c->regions[0].clusters[1];
	w = &c->regions[1].clusters[0];
	check(e->host != NULL && strcmp(e->host, "db.cluster-x.us-east-1.rds.amazonaws.com") == 0,
	    "endpoints.writer is the cluster's host when host is not written");
	check(e->host_line == 13 && e->host_col == 19, "the writer endpoint knows where it was written");
	check(e->endpoints.reader.name != NULL && e->endpoints.ninstances == 2 &&
	    strcmp(e->endpoints.instances[1].name, "db-2.x.us-east-1.rds.amazonaws.com") == 0,
	    "the reader endpoint and both instance endpoints");
	check(p->endpoints.reader.name == NULL && p->endpoints.ninstances == 0 &&
	    strcmp(p->host, "other") == 0, "a cluster without endpoints is its host, as before");
	check(w->endpoints.reader.name != NULL && w->endpoints.ninstances == 0,
	    "a reader without instance endpoints");
	check(c->nglobals == 1 && strcmp(c->globals[0].name, "orders") == 0 &&
	    strcmp(c->globals[0].endpoint.name, "orders.global-z.global.rds.amazonaws.com") == 0 &&
	    c->globals[0].nmembers == 2, "one global database with two members");
	check(config_global_of(c, w) == &c->globals[0] && config_global_of(c, p) == NULL,
	    "config_global_of finds the member's");
	check(c->globals[0].members[1].c == w &&
	    strcmp(c->globals[0].members[1].region_name, "us-west-2") == 0,
	    "a member knows its cluster and its Region");
	config_free(c);
}

static void
test_bad(void)
{
	refused("an unknown member cluster is named, with the near one",
	    HEAD "  us-east-1:\n    resolvers: [10.0.0.53]\n    clusters:\n"
	    "      - { name: east, engine: mysql, host: a, user: u }\n"
	    "global_databases:\n  - { name: g, endpoint: g.example, clusters: [easst] }\n",
	    "11:48", "unknown member cluster \"easst\" in global database \"g\", did you mean \"east\"?");
	refused("two members in one Region",
	    HEAD "  us-east-1:\n    resolvers: [10.0.0.53]\n    clusters:\n"
	    "      - { name: a, engine: mysql, host: a, user: u }\n"
	    "      - { name: b, engine: mysql, host: b, user: u }\n"
	    "global_databases:\n  - { name: g, endpoint: g.example, clusters: [a, b] }\n",
	    "12:51", "a second member cluster of Region \"us-east-1\" in global database \"g\" (\"a\" is one)");
	refused("a member listed twice",
	    HEAD "  us-east-1:\n    resolvers: [10.0.0.53]\n    clusters:\n"
	    "      - { name: a, engine: mysql, host: a, user: u }\n"
	    "global_databases:\n  - { name: g, endpoint: g.example, clusters: [a, a] }\n",
	    "11:51", "duplicate member cluster \"a\" in global database \"g\" (first at line 11, column 48)");
	refused("members of different engines",
	    HEAD "  us-east-1:\n    resolvers: [10.0.0.53]\n    clusters:\n"
	    "      - { name: a, engine: mysql, host: a, user: u }\n"
	    "  us-west-2:\n    resolvers: [10.0.0.53]\n    clusters:\n"
	    "      - { name: b, engine: postgresql, host: b, user: u }\n"
	    "global_databases:\n  - { name: g, endpoint: g.example, clusters: [a, b] }\n",
	    "15:51", "has engine postgresql, expected mysql");
	refused("a reader endpoint that is another cluster's host",
	    HEAD "  us-east-1:\n    resolvers: [10.0.0.53]\n    clusters:\n"
	    "      - { name: a, engine: mysql, host: a.example, user: u }\n"
	    "      - { name: b, engine: mysql, host: b.example, user: u, endpoints: { reader: a.example } }\n",
	    "10:82", "duplicate endpoint \"a.example\" (a reader endpoint; first at line 9, column 41)");
	refused("an instance endpoint listed twice",
	    HEAD "  us-east-1:\n    resolvers: [10.0.0.53]\n    clusters:\n"
	    "      - { name: a, engine: mysql, host: a.example, user: u,\n"
	    "          endpoints: { reader: r.example, instances: [i1.example, I1.example] } }\n",
	    "10:67", "duplicate endpoint \"I1.example\" (an instance endpoint; first at line 10, column 55)");
	refused("a global endpoint that is a cluster's host",
	    HEAD "  us-east-1:\n    resolvers: [10.0.0.53]\n    clusters:\n"
	    "      - { name: a, engine: mysql, host: a.example, user: u }\n"
	    "global_databases:\n  - { name: g, endpoint: a.example, clusters: [a] }\n",
	    "11:26", "duplicate endpoint \"a.example\" (a global writer endpoint");
	refused("no host and no writer endpoint",
	    HEAD "  us-east-1:\n    resolvers: [10.0.0.53]\n    clusters:\n"
	    "      - { name: a, engine: mysql, user: u, endpoints: { reader: r.example } }\n",
	    "9:55", "missing required key \"host\" in cluster \"a\", expected host or endpoints.writer");
	refused("a writer endpoint that is not the host",
	    HEAD "  us-east-1:\n    resolvers: [10.0.0.53]\n    clusters:\n"
	    "      - { name: a, engine: mysql, host: a.example, user: u, endpoints: { writer: b.example } }\n",
	    "9:82", "writer endpoint \"b.example\" is not the host \"a.example\"");
	refused("instances without a reader",
	    HEAD "  us-east-1:\n    resolvers: [10.0.0.53]\n    clusters:\n"
	    "      - { name: a, engine: mysql, host: a.example, user: u, endpoints: { instances: [i.example] } }\n",
	    "9:74", "instances name the addresses of the reader endpoint");
	refused("a bad reader endpoint name",
	    HEAD "  us-east-1:\n    resolvers: [10.0.0.53]\n    clusters:\n"
	    "      - { name: a, engine: mysql, host: a.example, user: u, endpoints: { reader: \"r_1..x\" } }\n",
	    "9:82", "bad reader endpoint \"r_1..x\" in cluster \"a\"");
	refused("an unknown key in endpoints",
	    HEAD "  us-east-1:\n    resolvers: [10.0.0.53]\n    clusters:\n"
	    "      - { name: a, engine: mysql, host: a.example, user: u, endpoints: { raeder: r.example } }\n",
	    "9:74", "unknown key \"raeder\" in cluster \"a\", did you mean \"reader\"?");
	refused("a duplicate global database name",
	    HEAD "  us-east-1:\n    resolvers: [10.0.0.53]\n    clusters:\n"
	    "      - { name: a, engine: mysql, host: a, user: u }\n"
	    "global_databases:\n  - { name: g, endpoint: g1.example, clusters: [a] }\n"
	    "  - { name: g, endpoint: g2.example, clusters: [a] }\n",
	    "12:13", "duplicate global database name \"g\" (first at line 11)");
	refused("a global database without endpoint",
	    HEAD "  us-east-1:\n    resolvers: [10.0.0.53]\n    clusters:\n"
	    "      - { name: a, engine: mysql, host: a, user: u }\n"
	    "global_databases:\n  - { name: g, clusters: [a] }\n",
	    "11:5", "missing required key \"endpoint\" in global database \"g\"");
}

int
main(void)
{
	char keytab[300];
	FILE *fp;

	if (unit_mkdtemp(dir, sizeof dir, "unit_endpoints") == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(keytab, sizeof(keytab), "%s/k.keytab", dir);
	if ((fp = fopen(keytab, "w")) == NULL || fputs("x", fp) == EOF || fclose(fp) != 0) {
		perror(keytab);
		return 1;
	}
	chmod(keytab, 0600);
	unsetenv("CREDENTIALS_DIRECTORY");
	test_good();
	test_bad();
	unlink(keytab);
	rmdir(dir);
	return failed;
}
