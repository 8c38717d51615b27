/*
 * The one typed result of a probe run: what every kind hands up to the daemon through
 * job->sink when a run ends (in time, at its deadline, or held back), and the only thing the
 * daemon reads of a run.  The daemon alone turns it into metrics, alert state, the status page,
 * /status.json, `krbwatch probe` and STATUS=.  An interface: types only, no .c of its own.
 *
 * A result is a verdict plus rows.  A row is one subject the run looked at: a DNS question, one
 * KDC target, one cluster (or one endpoint, or one instance behind a reader endpoint) walked hop
 * by hop.  Each row carries one cell per hop of the path; a cell that the run never reached says
 * so (ran = 0), and is neither ok nor failing.
 *
 * Ownership: the probe owns the result and its rows until the sink call returns; the daemon
 * copies what it keeps.  Strings are inside the struct, never pointers into the probe's state.
 */
#ifndef KRBWATCH_RESULT_H
#define KRBWATCH_RESULT_H

#include <stddef.h>

#include "../lib/reason.h"

/* The hops of the path, in the order a login walks them: the status page's columns. */
enum kw_hop {
	KW_HOP_DNS,
	KW_HOP_KDC,
	KW_HOP_TGT,
	KW_HOP_REFERRAL,
	KW_HOP_SERVICE_TICKET,
	KW_HOP_LOGIN,
	KW_HOP_COUNT
};

/* One hop of one row. */
struct hop_cell {
	int ran;			/* 0: not reached (an earlier hop broke, or not this kind's) */
	enum kw_reason reason;		/* KW_OK when it held */
	double seconds;			/* how long it took; 0 when it did not run */
	char detail[256];		/* the words: a server's text is in here, escape on output */
	char enctype[48];		/* a ticket's enctype, "" if none */
	int kvno;			/* a ticket's key version, -1 if none */
	char addr[64];			/* the address that answered ("10.0.1.10:88"), "" if none */
	int held;			/* the lockout budget held it back (ran = 0): detail says why */
};

/* What a row stands for. */
enum row_kind {
	ROW_DNS,			/* one DNS question: name is "SRV _kerberos._udp.REALM" */
	ROW_KDC,			/* one KDC target: name is "10.0.1.10 udp/88" */
	ROW_CLUSTER,			/* one cluster's login path */
	ROW_ENDPOINT,			/* one endpoint of a cluster (writer, reader, instance) */
	ROW_INSTANCE,			/* one address behind a reader endpoint */
	ROW_GLOBAL,			/* a global writer endpoint, seen from this Region */
	ROW_REGION			/* the chain's shared hops (tgt, the direct referral) */
};

struct result_row {
	enum row_kind kind;
	char name[128];			/* the subject as a label value: cluster, "10.0.1.10 udp/88" */
	char cluster[128];		/* the cluster it belongs to, "" for Region rows */
	char endpoint[256];		/* the host name logged in to, "" if not a login */
	char instance[128];		/* ROW_INSTANCE: the instance name DNS gave, else the address */
	struct hop_cell hop[KW_HOP_COUNT];
	/* kind-specific figures, 0 / "" when they do not apply */
	double rtt;			/* ROW_KDC: seconds */
	double clock_skew;		/* ROW_KDC: seconds, KDC minus local */
	int has_clock_skew;
	char writer[128];		/* ROW_GLOBAL: the member cluster the global endpoint names */
	char writer_region[64];		/* ROW_GLOBAL: that cluster's Region */
	/* ROW_DNS: the question (hop[KW_HOP_DNS].addr is the resolver asked) */
	char qname[256];		/* the name asked, lower case */
	char rrtype[8];			/* "A", "AAAA", "SRV" */
	size_t records;			/* records of that type in the answer */
	/* ROW_KDC: the endpoint (the `kdc` label is host, as configured or an SRV target) */
	char realm[128];
	char host[256];
	char proto[4];			/* "udp", "tcp" */
	unsigned port;
	/* ROW_CLUSTER: what the database server announced in its login, "" if nothing */
	char announced_spn[256];
	char announced_realm[128];
	/*
	 * ROW_CLUSTER: the referral path to this cluster's realm on its own (hop[KW_HOP_REFERRAL]
	 * is the direct referral and this path together, the verdict a column shows).
	 */
	struct hop_cell referral_path;
	/*
	 * ROW_GLOBAL (hop[KW_HOP_DNS] is the lookup through this Region's resolvers, the service
	 * ticket and login cells the login through the global endpoint): the CNAME chain, its TTL,
	 * and this Region as a failover target (-1: not a secondary; 0 not ready, 1 ready).
	 * ROW_ENDPOINT (a reader endpoint): hop[KW_HOP_DNS] its lookup, records its addresses.
	 */
	char cname_chain[512];
	unsigned ttl;
	int failover_ready;
	/* ROW_GLOBAL, failover_ready >= 0: that readiness in words, and why not */
	enum kw_reason failover_reason;
	char failover_detail[512];
};

struct probe_result {
	enum kw_reason reason;		/* the run's verdict: KW_OK, or the first failure's */
	char step[96];			/* which part failed ("db-east service_ticket"), "" = the kind */
	char detail[256];		/* the verdict's words */
	double seconds;			/* the run's duration */
	int held;			/* the lockout budget held the identity back (lockout.h) */
	size_t nrows;
	struct result_row *rows;	/* the probe's; copied by the daemon */
};

/* "dns", "kdc", "tgt", "referral", "service_ticket", "login": the `hop` label, the columns. */
static inline const char *
hop_name(enum kw_hop h)
{
	static const char *const names[KW_HOP_COUNT] = {
		"dns", "kdc", "tgt", "referral", "service_ticket", "login"
	};
	return (unsigned)h < KW_HOP_COUNT ? names[h] : "unknown";
}

#endif
