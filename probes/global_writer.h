/*
 * A global writer endpoint as one Region sees it (an Aurora Global Database): which member
 * cluster the CNAME chain through that Region's resolvers leads to, the login through the
 * endpoint, and whether the Region, as a secondary, could take a failover.  The chain run of
 * each Region looks it up and logs in (chain_endpoints.c); this file reads the answer and
 * writes the row and the words.
 */
#ifndef KRBWATCH_GLOBAL_WRITER_H
#define KRBWATCH_GLOBAL_WRITER_H

#include <stddef.h>

#include "../conf/config.h"
#include "../lib/reason.h"

struct branch;
struct chain;
struct chain_endpoints;

struct global_view {
	struct chain_endpoints *ep;
	const struct kw_config *conf;
	const struct kw_global_db *g;
	const struct kw_region *region;	/* whose resolvers answered */
	int status;			/* ARES_* of the lookup, -1 while it runs */
	char names[512];		/* the CNAME chain, "a -> b -> c" */
	unsigned ttl;			/* of the answer, the CNAMEs' included */
	long member;			/* the member cluster it names (g->members), -1: none */
};

void global_view_init(struct global_view *, struct chain_endpoints *, const struct kw_config *,
    const struct kw_global_db *, const struct kw_region *);
/* The endpoint's A answer: its CNAME chain (NULL when there is none). */
struct dns_cname_chain;
void global_parse(struct global_view *, int status, const struct dns_cname_chain *);
/* The member cluster the endpoint leads to, NULL if none. */
const struct kw_cluster *global_writer_cluster(const struct global_view *);
/*
 * The ROW_GLOBAL row of one run and its `krbwatch probe` lines; login is the branch that logged
 * in through the endpoint (NULL: none ran).  daemon/metrics_endpoints.c writes its series.
 */
struct probe_result;
void global_finish(const struct chain *, const struct global_view *, const struct branch *login,
    struct probe_result *);

#endif
