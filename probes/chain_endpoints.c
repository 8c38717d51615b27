/*
 * The endpoints of a chain run: every address behind a cluster's reader endpoint, and each
 * global writer endpoint (global_writer.c), logged in to as users do.
 *
 * A reader endpoint is a round-robin name: a user's login lands on one of its instances, so one
 * instance that rejects Kerberos fails one login in N.  Each run therefore resolves the reader
 * endpoint through the Region's resolvers and logs in to EVERY address it gives, one branch per
 * address, keeping the endpoint's name for TLS and the SPN; the address is named by the
 * configured instance endpoint that resolves to it, else by its PTR record, else by itself.
 *
 * The lookups go while the TGT is fetched (endpoints_start); branches_start waits for them
 * (endpoints_wait), then the extra branches start at the service ticket: the referral path is
 * their cluster's.  Their results are their own series (endpoints_finish); a cluster's hop
 * series and verdict stay what its own branch says.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ares.h>
#include <arpa/nameser.h>

#include "../lib/xmalloc.h"
#include "../net/dns_client.h"
#include "../net/dns_records.h"
#include "chain_int.h"
#include "global_writer.h"

#define EP_MAX_ADDRS 8		/* addresses of one reader endpoint logged in to per run */

struct ep_addr {
	char ip[INET_ADDRSTRLEN];
	char name[256];		/* its PTR name, "" if none */
};

struct ep_reader {
	struct chain_endpoints *ep;
	const struct kw_cluster *c;
	int status;		/* ARES_* of the A query, -1 while it runs */
	struct ep_addr a[EP_MAX_ADDRS];
	size_t naddr, nmore;	/* nmore: addresses beyond EP_MAX_ADDRS, not logged in to */
};

struct ep_ptr {			/* one PTR query of a reader's address */
	struct ep_reader *rd;
	size_t i;
};

struct ep_instance {		/* one configured instance endpoint, resolved */
	struct chain_endpoints *ep;
	const char *name;
	char ip[EP_MAX_ADDRS][INET_ADDRSTRLEN];
	size_t nip;
};

enum { EX_READER, EX_GLOBAL };

struct ep_extra {
	int kind;
	size_t ref;		/* the reader or the global view */
	size_t addr;		/* EX_READER: which address */
	struct kw_cluster as;	/* the cluster as this branch logs in: host is the endpoint */
	char spn[256];
	char instance[128];	/* EX_READER: the instance's name, else its address (a row's size) */
};

struct chain_endpoints {
	struct chain *ch;
	struct dns_client *dns;
	size_t pending;		/* queries in flight */
	int want;		/* branches_start waits for the lookups */
	struct ep_reader *rd;
	size_t nrd;
	struct ep_instance *inst;
	size_t ninst;
	struct ep_ptr *ptr;
	size_t nptr;
	struct global_view *gv;
	size_t ngv;
	struct branch *xbr;	/* the extra branches, made once the lookups are in */
	struct ep_extra *xx;
	size_t nx;
};

/* One query ended: when it was the last and branches_start waits, it goes on. */
static void
query_done(struct chain_endpoints *ep)
{
	if (--ep->pending == 0 && ep->want) {
		ep->want = 0;
		branches_start(ep->ch);
	}
}

static void
ptr_cb(void *arg, int status, const char *name)
{
	struct ep_ptr *p = arg;

	if (status == ARES_EDESTRUCTION)
		return;
	if (name != NULL)
		snprintf(p->rd->a[p->i].name, sizeof p->rd->a[0].name, "%s", name);
	query_done(p->rd->ep);
}

static void
reader_cb(void *arg, int status, const struct dns_addr *addrs, size_t n)
{
	struct ep_reader *rd = arg;
	struct chain_endpoints *ep = rd->ep;

	if (status == ARES_EDESTRUCTION)
		return;
	rd->status = status;
	for (size_t i = 0; i < n; i++) {
		if (rd->naddr == EP_MAX_ADDRS) {
			rd->nmore++;
			continue;
		}
		inet_ntop(AF_INET, addrs[i].addr, rd->a[rd->naddr].ip, sizeof rd->a[0].ip);
		ep->ptr[ep->nptr] = (struct ep_ptr){ rd, rd->naddr };
		ep->pending++;
		dns_query_ptr(ep->dns, rd->a[rd->naddr].ip, ptr_cb, &ep->ptr[ep->nptr++]);
		rd->naddr++;
	}
	query_done(ep);
}

static void
instance_cb(void *arg, int status, const struct dns_addr *addrs, size_t n)
{
	struct ep_instance *in = arg;

	if (status == ARES_EDESTRUCTION)
		return;
	for (size_t i = 0; i < n && in->nip < EP_MAX_ADDRS; i++)
		inet_ntop(AF_INET, addrs[i].addr, in->ip[in->nip++], sizeof in->ip[0]);
	query_done(in->ep);
}

static void
global_cb(void *arg, int status, const struct dns_cname_chain *chain)
{
	struct global_view *gv = arg;

	if (status == ARES_EDESTRUCTION)
		return;
	global_parse(gv, status, chain);
	query_done(gv->ep);
}

static void
start_queries(struct chain_endpoints *ep)
{
	const struct kw_config *conf = ep->ch->job->conf;

	for (size_t i = 0; i < ep->nrd; i++) {
		ep->pending++;
		dns_query_addrs(ep->dns, ep->rd[i].c->endpoints.reader.name, ns_t_a, reader_cb,
		    &ep->rd[i]);
	}
	for (size_t i = 0; i < ep->ninst; i++) {
		ep->pending++;
		dns_query_addrs(ep->dns, ep->inst[i].name, ns_t_a, instance_cb, &ep->inst[i]);
	}
	for (size_t i = 0; i < ep->ngv; i++) {
		ep->pending++;
		dns_query_chain(ep->dns, conf->globals[i].endpoint.name, global_cb, &ep->gv[i]);
	}
}

void
endpoints_start(struct chain *ch)
{
	const struct kw_region *reg = ch->job->region;
	const struct kw_config *conf = ch->job->conf;
	struct chain_endpoints *ep;
	size_t nrd = 0, ninst = 0;
	char why[256];

	for (size_t i = 0; i < reg->nclusters; i++)
		if (reg->clusters[i].endpoints.reader.name != NULL) {
			nrd++;
			ninst += reg->clusters[i].endpoints.ninstances;
		}
	if (nrd == 0 && conf->nglobals == 0)
		return;
	ch->ep = ep = xcalloc(1, sizeof *ep);
	ep->ch = ch;
	ep->rd = xcalloc(nrd ? nrd : 1, sizeof *ep->rd);
	ep->inst = xcalloc(ninst ? ninst : 1, sizeof *ep->inst);
	ep->ptr = xcalloc(nrd ? nrd * EP_MAX_ADDRS : 1, sizeof *ep->ptr);
	ep->gv = xcalloc(conf->nglobals ? conf->nglobals : 1, sizeof *ep->gv);
	for (size_t i = 0; i < reg->nclusters; i++) {
		const struct kw_cluster *c = &reg->clusters[i];

		if (c->endpoints.reader.name == NULL)
			continue;
		ep->rd[ep->nrd++] = (struct ep_reader){ .ep = ep, .c = c, .status = -1 };
		for (size_t k = 0; k < c->endpoints.ninstances; k++)
			ep->inst[ep->ninst++] = (struct ep_instance){ .ep = ep,
			    .name = c->endpoints.instances[k].name };
	}
	for (size_t i = 0; i < conf->nglobals; i++)
		global_view_init(&ep->gv[ep->ngv++], ep, conf, &conf->globals[i], reg);
	/* a third of the run for the names, as the logins give theirs */
	ep->dns = dns_client_new_list(probe_base(ch->job), ch->dns_servers,
	    (unsigned)(conf->timeout_ms / 3), why, sizeof why);
	if (ep->dns == NULL) {
		for (size_t i = 0; i < ep->nrd; i++)
			ep->rd[i].status = ARES_ENOTINITIALIZED;
		for (size_t i = 0; i < ep->ngv; i++)
			global_parse(&ep->gv[i], ARES_ENOTINITIALIZED, NULL);
		return;
	}
	start_queries(ep);
}

int
endpoints_wait(struct chain *ch)
{
	if (ch->ep == NULL || ch->ep->pending == 0)
		return 0;
	ch->ep->want = 1;
	return 1;
}

/* The instance endpoint that resolved to ip, else the PTR name, else the address. */
static void
instance_name(const struct chain_endpoints *ep, const struct ep_reader *rd, size_t i,
    char *buf, size_t len)
{
	for (size_t k = 0; k < ep->ninst; k++)
		for (size_t j = 0; j < ep->inst[k].nip; j++)
			if (strcmp(ep->inst[k].ip[j], rd->a[i].ip) == 0) {
				for (size_t n = 0; n < rd->c->endpoints.ninstances; n++)
					if (rd->c->endpoints.instances[n].name == ep->inst[k].name) {
						snprintf(buf, len, "%s", ep->inst[k].name);
						return;
					}
			}
	snprintf(buf, len, "%s", rd->a[i].name[0] ? rd->a[i].name : rd->a[i].ip);
}

/* The reader endpoint's SPN: the cluster's service and realm, the reader's name. */
static void
reader_spn(struct chain *ch, const struct kw_cluster *c, char *buf, size_t len)
{
	const char *slash = c->spn ? strchr(c->spn, '/') : NULL, *at = c->spn ? strrchr(c->spn, '@') : NULL;

	if (slash == NULL) {
		branch_spn_for(ch, c->engine, c->endpoints.reader.name, buf, len);
		return;
	}
	snprintf(buf, len, "%.*s/%s%s", (int)(slash - c->spn), c->spn, c->endpoints.reader.name,
	    at != NULL && at > slash ? at : "");
}

static struct ep_extra *
extra_add(struct chain_endpoints *ep, int kind, size_t ref, const struct kw_cluster *c)
{
	struct ep_extra *x = &ep->xx[ep->nx];

	x->kind = kind;
	x->ref = ref;
	x->as = *c;
	x->as.endpoints = (struct kw_endpoints){ 0 };	/* a copy owns nothing */
	ep->nx++;
	return x;
}

size_t
endpoints_branches(struct chain *ch)
{
	struct chain_endpoints *ep = ch->ep;
	size_t max = 0;

	if (ep == NULL)
		return 0;
	for (size_t i = 0; i < ep->nrd; i++)
		max += ep->rd[i].naddr;
	max += ep->ngv;
	ep->xbr = xcalloc(max ? max : 1, sizeof *ep->xbr);
	ep->xx = xcalloc(max ? max : 1, sizeof *ep->xx);
	for (size_t i = 0; i < ep->nrd; i++) {
		struct ep_reader *rd = &ep->rd[i];

		for (size_t k = 0; k < rd->naddr; k++) {
			struct ep_extra *x = extra_add(ep, EX_READER, i, rd->c);

			x->addr = k;
			x->as.host = rd->c->endpoints.reader.name;
			x->as.connect_addr = rd->a[k].ip;
			reader_spn(ch, rd->c, x->spn, sizeof x->spn);
			x->as.spn = x->spn;
			instance_name(ep, rd, k, x->instance, sizeof x->instance);
		}
	}
	for (size_t i = 0; i < ep->ngv; i++) {
		const struct kw_cluster *writer = global_writer_cluster(&ep->gv[i]);

		if (writer == NULL)
			continue;	/* the endpoint names no member: nothing to log in to */
		struct ep_extra *x = extra_add(ep, EX_GLOBAL, i, writer);
		x->as.host = ep->gv[i].g->endpoint.name;
		/* MySQL and MariaDB clients take the SPN the writer announces, libpq the host's */
		if (writer->spn != NULL)
			snprintf(x->spn, sizeof x->spn, "%s", writer->spn);
		else
			branch_spn_for(ch, writer->engine, writer->engine == KW_ENGINE_POSTGRESQL ?
			    x->as.host : writer->host, x->spn, sizeof x->spn);
		x->as.spn = x->spn;
	}
	for (size_t i = 0; i < ep->nx; i++) {
		branch_setup(ch, &ep->xbr[i], &ep->xx[i].as);
		ep->xbr[i].extra = 1;
	}
	return ep->nx;
}

void
endpoints_each(struct chain *ch, void (*step)(struct branch *))
{
	if (ch->ep == NULL)
		return;
	for (size_t i = 0; i < ch->ep->nx; i++)
		step(&ch->ep->xbr[i]);
}

/* The reader endpoint's row: its lookup and how many addresses it gave. */
static void
reader_row(struct chain_endpoints *ep, const struct ep_reader *rd, struct probe_result *res)
{
	struct result_row *row;
	struct hop_cell *c;

	if (rd->status == -1)
		return;		/* the run ended before the name was looked up: nothing known */
	row = probe_result_add(res, ROW_ENDPOINT);
	snprintf(row->name, sizeof row->name, "%s", rd->c->endpoints.reader.name);
	snprintf(row->cluster, sizeof row->cluster, "%s", rd->c->name);
	snprintf(row->endpoint, sizeof row->endpoint, "%s", rd->c->endpoints.reader.name);
	row->records = rd->naddr + rd->nmore;
	c = &row->hop[KW_HOP_DNS];
	c->ran = 1;
	c->reason = rd->status == ARES_SUCCESS ? KW_OK : dns_reason(rd->status);
	c->kvno = -1;
	if (rd->status == ARES_SUCCESS) {
		snprintf(c->detail, sizeof c->detail, "%zu address%s%s", row->records,
		    row->records == 1 ? "" : "es", rd->nmore ? " (the first 8 logged in to)" : "");
		return;
	}
	snprintf(c->detail, sizeof c->detail, "%s: %s", rd->c->endpoints.reader.name,
	    ares_strerror(rd->status));
}

/* One address of a reader endpoint: its row. */
static void
instance_row(struct chain_endpoints *ep, size_t i, struct probe_result *res)
{
	const struct ep_extra *x = &ep->xx[i];
	const struct branch *b = &ep->xbr[i];
	const struct ep_reader *rd = &ep->rd[x->ref];
	struct result_row *row = probe_result_add(res, ROW_INSTANCE);

	snprintf(row->name, sizeof row->name, "%s", x->instance);
	snprintf(row->cluster, sizeof row->cluster, "%s", rd->c->name);
	snprintf(row->endpoint, sizeof row->endpoint, "%s", rd->c->endpoints.reader.name);
	snprintf(row->instance, sizeof row->instance, "%s", x->instance);
	cell_of(&row->hop[KW_HOP_SERVICE_TICKET], &b->service);
	cell_of(&row->hop[KW_HOP_LOGIN], &b->login_r);
	snprintf(row->hop[KW_HOP_LOGIN].addr, sizeof row->hop[0].addr, "%s", rd->a[x->addr].ip);
	/*
	 * the verdict names the cluster and the hop: the detail names the instance, then as much
	 * of the server's words as the cell holds (`krbwatch probe` prints them after the name)
	 */
	if (b->login_r.ran) {
		char *d = row->hop[KW_HOP_LOGIN].detail;
		size_t n = (size_t)snprintf(d, sizeof row->hop[0].detail, "%.100s (%s): ", x->instance,
		    rd->a[x->addr].ip);

		if (n < sizeof row->hop[0].detail)
			snprintf(d + n, sizeof row->hop[0].detail - n, "%s", b->login_r.detail);
	}
}

void
endpoints_finish(struct chain *ch, struct probe_result *res)
{
	struct chain_endpoints *ep = ch->ep;

	if (ep == NULL)
		return;
	for (size_t i = 0; i < ep->nrd; i++) {
		reader_row(ep, &ep->rd[i], res);
		for (size_t k = 0; k < ep->nx; k++)
			if (ep->xx[k].kind == EX_READER && ep->xx[k].ref == i)
				instance_row(ep, k, res);
	}
	for (size_t i = 0; i < ep->ngv; i++) {
		const struct branch *login = NULL;

		for (size_t k = 0; k < ep->nx; k++)
			if (ep->xx[k].kind == EX_GLOBAL && ep->xx[k].ref == i)
				login = &ep->xbr[k];
		global_finish(ch, &ep->gv[i], login, res);
	}
}

void
endpoints_free(struct chain *ch)
{
	struct chain_endpoints *ep = ch->ep;

	if (ep == NULL)
		return;
	endpoints_each(ch, branch_stop);
	ch->ep = NULL;
	ep->want = 0;
	dns_client_free(ep->dns);	/* its callbacks see ARES_EDESTRUCTION and touch nothing */
	free_all(ep->xbr, ep->xx, ep->rd, ep->inst, ep->ptr, ep->gv, ep);
}
