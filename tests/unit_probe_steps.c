/*
 * `krbwatch probe` from the record alone: chain results built by hand (a Region's shared hops,
 * clusters, a reader instance, a global writer, a run the lockout budget held back), turned into
 * the lines the command prints (daemon/probe_steps.c), compared line by line.  No probe runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../daemon/explain.h"
#include "../daemon/probe_steps.h"
#include "unit.h"

static struct result_row rows[8];
static struct probe_result res = { .rows = rows };

static struct result_row *
add(enum row_kind kind, const char *name, const char *cluster)
{
	struct result_row *row = &rows[res.nrows++];

	memset(row, 0, sizeof *row);
	row->kind = kind;
	row->failover_ready = -1;
	snprintf(row->name, sizeof row->name, "%s", name);
	snprintf(row->cluster, sizeof row->cluster, "%s", cluster);
	return row;
}

static void
cell(struct hop_cell *c, enum kw_reason r, double seconds, const char *detail)
{
	c->ran = 1;
	c->reason = r;
	c->seconds = seconds;
	c->kvno = -1;
	snprintf(c->detail, sizeof c->detail, "%s", detail);
}

static void
print_step(void *arg, const char *kind, const char *name, enum kw_reason r, double seconds,
    const char *detail)
{
	probe_step_print(arg, 0, kind, name, r, seconds, detail);
}

/* The lines res prints, explanation lines ("        ...") left out unless explained. */
static char *
lines(int explained)
{
	char *buf = NULL, *out, *line, *save = NULL;
	size_t len = 0, n = 0;
	FILE *fp = open_memstream(&buf, &len);

	if (fp == NULL)
		exit(2);
	probe_steps(&res, "us-east-1", print_step, fp);
	fclose(fp);
	out = calloc(1, len + 1);
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (!explained && strncmp(line, "        ", 8) == 0)
			continue;
		n += (size_t)sprintf(out + n, "%s\n", line);
	}
	free(buf);
	return out;
}

static void
expect(const char *what, const char *want)
{
	char *got = lines(0);

	check(strcmp(got, want) == 0, what);
	if (strcmp(got, want) != 0)
		printf("# got:\n%s# want:\n%s", got, want);
	free(got);
}

/* A healthy Region with one cluster, then one whose login failed. */
static void
test_clusters(void)
{
	struct result_row *reg, *c;
	char *all;

	res.nrows = 0;
	reg = add(ROW_REGION, "us-east-1", "");
	cell(&reg->hop[KW_HOP_TGT], KW_OK, 0.0123, "krbmon@CORP.EXAMPLE from 10.0.1.10");
	cell(&reg->hop[KW_HOP_REFERRAL], KW_OK, 0.002, "krbtgt/AWS.EXAMPLE@CORP.EXAMPLE");
	c = add(ROW_CLUSTER, "db-east", "db-east");
	cell(&c->hop[KW_HOP_TGT], KW_OK, 0.0123, "krbmon@CORP.EXAMPLE from 10.0.1.10");
	cell(&c->hop[KW_HOP_REFERRAL], KW_OK, 0.002, "krbtgt/AWS.EXAMPLE@CORP.EXAMPLE");
	cell(&c->referral_path, KW_OK, 0.001, "CORP.EXAMPLE -> AWS.EXAMPLE");
	cell(&c->hop[KW_HOP_SERVICE_TICKET], KW_OK, 0.003, "mariadb/db-east.aws.example kvno 2");
	cell(&c->hop[KW_HOP_LOGIN], KW_OK, 0.05, "logged in as krbmon");
	c = add(ROW_CLUSTER, "pg-east", "pg-east");
	cell(&c->hop[KW_HOP_SERVICE_TICKET], KW_OK, 0.004, "postgres/pg-east.aws.example kvno 3");
	cell(&c->hop[KW_HOP_LOGIN], KW_R_ACCESS_DENIED, 0.0201, "FATAL: role krbmon denied");
	expect("a Region's shared hops once, then each cluster's referral path, ticket and login",
	    "  ok    tgt                                12.3 ms  krbmon@CORP.EXAMPLE from 10.0.1.10\n"
	    "  ok    referral                            2.0 ms  krbtgt/AWS.EXAMPLE@CORP.EXAMPLE\n"
	    "  ok    db-east referral path               1.0 ms  CORP.EXAMPLE -> AWS.EXAMPLE\n"
	    "  ok    db-east service_ticket              3.0 ms  mariadb/db-east.aws.example kvno 2\n"
	    "  ok    db-east login                      50.0 ms  logged in as krbmon\n"
	    "  ok    pg-east service_ticket              4.0 ms  postgres/pg-east.aws.example kvno 3\n"
	    "  FAIL  pg-east login                      20.1 ms  FATAL: role krbmon denied\n");
	all = lines(1);
	check(strstr(all, "FATAL: role krbmon denied\n        ") != NULL &&
	    strstr(all, "access_denied: ") != NULL, "a failed login says what it means");
	free(all);
}

/* The lockout budget held the identity back: every hop that needs the TGT says so. */
static void
test_held(void)
{
	static const char need[] = "not tried: it needs the TGT";
	struct result_row *reg, *c;

	res.nrows = 0;
	reg = add(ROW_REGION, "us-east-1", "");
	cell(&reg->hop[KW_HOP_TGT], KW_R_CLIENT_REVOKED, 0, "krbmon@CORP.EXAMPLE: 3 failures");
	reg->hop[KW_HOP_REFERRAL].held = 1;
	snprintf(reg->hop[KW_HOP_REFERRAL].detail, sizeof reg->hop[0].detail, "%s", need);
	c = add(ROW_CLUSTER, "db-east", "db-east");
	c->hop[KW_HOP_SERVICE_TICKET].held = c->hop[KW_HOP_LOGIN].held = 1;
	snprintf(c->hop[KW_HOP_SERVICE_TICKET].detail, sizeof c->hop[0].detail, "%s", need);
	snprintf(c->hop[KW_HOP_LOGIN].detail, sizeof c->hop[0].detail, "%s", need);
	res.held = 1;
	expect("a held run: the TGT's failure, then each hop held back, with why",
	    "  FAIL  tgt                                 0.0 ms  krbmon@CORP.EXAMPLE: 3 failures\n"
	    "  held  referral                                    not tried: it needs the TGT\n"
	    "  held  db-east service_ticket                      not tried: it needs the TGT\n"
	    "  held  db-east login                               not tried: it needs the TGT\n");
	res.held = 0;
}

/* A reader endpoint (a failed lookup, an instance) and a global writer seen from here. */
static void
test_endpoints(void)
{
	struct result_row *r;

	res.nrows = 0;
	r = add(ROW_ENDPOINT, "ro.aws.example", "db-west");
	snprintf(r->endpoint, sizeof r->endpoint, "ro.aws.example");
	cell(&r->hop[KW_HOP_DNS], KW_R_NXDOMAIN, 0, "ro.aws.example: Domain name not found");
	r = add(ROW_INSTANCE, "db-east-r1", "db-east");
	snprintf(r->endpoint, sizeof r->endpoint, "ro-east.aws.example");
	snprintf(r->instance, sizeof r->instance, "db-east-r1");
	snprintf(r->hop[KW_HOP_LOGIN].addr, sizeof r->hop[0].addr, "10.0.2.21");
	cell(&r->hop[KW_HOP_SERVICE_TICKET], KW_OK, 0.001, "mariadb/ro-east kvno 2");
	cell(&r->hop[KW_HOP_LOGIN], KW_R_GSS, 0.0105, "db-east-r1 (10.0.2.21): no plugin");
	r = add(ROW_GLOBAL, "gdb", "db-west");
	snprintf(r->endpoint, sizeof r->endpoint, "gdb.global.example");
	cell(&r->hop[KW_HOP_DNS], KW_OK, 0, "the writer is db-west in us-west-2");
	r->failover_ready = 1;
	snprintf(r->failover_detail, sizeof r->failover_detail, "ready: a failover to us-east-1");
	cell(&r->hop[KW_HOP_SERVICE_TICKET], KW_R_KEY_VERSION, 0.002, "kvno 3, keytab has 2");
	cell(&r->hop[KW_HOP_LOGIN], KW_OK, 0.03, "not reached");
	r->hop[KW_HOP_LOGIN].ran = 0;
	expect("a reader's lookup and instance, a global writer, this Region as a target, its login",
	    "  FAIL  db-west reader                      0.0 ms  ro.aws.example: Domain name not found\n"
	    "  FAIL  db-east reader db-east-r1 (10.0.2.21)     10.5 ms  ro-east.aws.example login: no plugin\n"
	    "  ok    gdb writer                          0.0 ms  the writer is db-west in us-west-2\n"
	    "  ok    gdb failover to us-east-1           0.0 ms  ready: a failover to us-east-1\n"
	    "  FAIL  gdb login through gdb.global.example      2.0 ms  kvno 3, keytab has 2\n");
}

/*
 * Every reason the TGT and the service ticket can end with has words of its own hop (the
 * exchange, which realm's KDCs, what to check there), not the words any step gets for it: the
 * same table feeds krbwatch probe and the status page.
 */
static void
test_hop_words(void)
{
	static const struct { const char *kind; enum kw_reason r; } own[] = {
		{ "tgt", KW_R_REFUSED }, { "tgt", KW_R_TIMEOUT }, { "tgt", KW_R_UNREACHABLE },
		{ "tgt", KW_R_PROTOCOL }, { "tgt", KW_R_PRINCIPAL_UNKNOWN }, { "tgt", KW_R_NO_REFERRAL },
		{ "tgt", KW_R_ETYPE_NOSUPP }, { "tgt", KW_R_CLOCK_SKEW }, { "tgt", KW_R_INTERNAL },
		{ "service_ticket", KW_R_REFUSED }, { "service_ticket", KW_R_TIMEOUT },
		{ "service_ticket", KW_R_UNREACHABLE }, { "service_ticket", KW_R_PROTOCOL },
		{ "service_ticket", KW_R_PRINCIPAL_UNKNOWN }, { "service_ticket", KW_R_CLOCK_SKEW },
		{ "service_ticket", KW_R_TICKET_NOT_YET_VALID }, { "service_ticket", KW_R_ETYPE_NOSUPP },
		{ "service_ticket", KW_R_CLIENT_REVOKED }, { "service_ticket", KW_R_NO_REFERRAL },
		{ "service_ticket", KW_R_KEY_EXPIRED }, { "service_ticket", KW_R_TRUST_KEY },
		{ "service_ticket", KW_R_INTERNAL },
	};
	/* the monitoring principal's own answers to its AS exchange: their words are the TGT's */
	static const enum kw_reason as_only[] = { KW_R_PREAUTH_FAILED, KW_R_CLIENT_REVOKED, KW_R_KEY_EXPIRED };
	char *all;
	int every = 1;

	for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
		const char *means = explain_means(own[i].kind, own[i].r), *any = explain_means("", own[i].r);
		int fits = means != NULL && explain_check(own[i].kind, own[i].r) != NULL &&
		    (any == NULL || strcmp(means, any) != 0);

		if (!fits)
			printf("#   %s %s: %s\n", own[i].kind, reason_name(own[i].r), means ? means : "(none)");
		every &= fits;
	}
	for (size_t i = 0; i < sizeof as_only / sizeof as_only[0]; i++)
		every &= explain_means("tgt", as_only[i]) != NULL && explain_check("tgt", as_only[i]) != NULL;
	check(every, "each reason the tgt and service_ticket hops end with has its hop's own words and check line");

	res.nrows = 0;
	cell(&add(ROW_REGION, "us-east-1", "")->hop[KW_HOP_TGT], KW_R_REFUSED, 0.001,
	    "no KDC of CORP.EXAMPLE answered (last: 10.0.1.10 over UDP: refused)");
	all = lines(1);
	check(strstr(all, "        refused: the user realm's KDC refused the connection") != NULL &&
	    strstr(all, "        check: the KDC service on the user realm's DCs") != NULL,
	    "krbwatch probe: a refused TGT says which KDCs and what to check");
	free(all);
}

int
main(void)
{
	test_clusters();
	test_held();
	test_endpoints();
	test_hop_words();
	return failed;
}
