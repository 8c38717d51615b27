/*
 * Where a realm's KDCs are, as one Region sees them: the configured list when it names
 * addresses, else the realm's _kerberos._udp SRV records and their targets' addresses, asked
 * of that Region's resolvers (the next one when one fails to answer), on the loop.  The chain
 * uses it so that `kdcs: dns` and host names work without the Kerberos library ever looking
 * anything up itself.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>

#include "../lib/log.h"
#include "../lib/xmalloc.h"
#include "dns_client.h"
#include "dns_records.h"
#include "kdc_locate.h"

/*
 * Bounds on what a resolver's answers add (see kdc.c's): the chain tries the KDCs it finds in
 * order and gives up within one deadline, so past a few targets and a few addresses each, more
 * would only cost memory and questions.  What is left out is counted in the chain's detail.
 */
#define LOCATE_MAX_TARGETS	16	/* SRV targets taken, in priority order */
#define LOCATE_MAX_ADDRS	4	/* addresses taken per name */
#define LOCATE_MAX_FOUND	32	/* addresses in all */

struct kdc_locate {
	struct event_base *base;
	const struct kw_region *region;
	const struct kw_realm *realm;
	const struct kw_kdcs *given;
	unsigned timeout_ms;
	kdc_locate_cb *cb;
	void *arg;

	struct dns_client **dc;		/* one per resolver, made when first needed */
	size_t resolver;		/* the one being asked */
	char **hosts;			/* to resolve: SRV targets or the configured names */
	uint16_t *ports;
	size_t nhosts, next;		/* next: the host being resolved */
	int aaaa;			/* asking for AAAA after A had nothing */
	struct kw_kdcs found;
	size_t left_out;		/* SRV targets past LOCATE_MAX_TARGETS */
	int ended;
};

int
kdc_list_numeric(const struct kw_kdcs *k)
{
	unsigned char buf[16];

	if (k->from_dns)
		return 0;
	for (size_t i = 0; i < k->n; i++)
		if (inet_pton(AF_INET, k->addrs[i].host, buf) != 1 &&
		    inet_pton(AF_INET6, k->addrs[i].host, buf) != 1)
			return 0;
	return 1;
}

void
kdc_list_clear(struct kw_kdcs *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->addrs[i].host);
	free(k->addrs);
	memset(k, 0, sizeof *k);
}

static void ask(void *);

static void
finish(struct kdc_locate *lo, enum kw_reason r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Hands the result over (the list is the callee's from then on) and ends the lookup. */
static void
finish(struct kdc_locate *lo, enum kw_reason r, const char *fmt, ...)
{
	char detail[256] = "";
	va_list ap;

	if (lo->ended)
		return;
	lo->ended = 1;
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof detail, fmt, ap);
		va_end(ap);
	}
	if (r != KW_OK)
		kdc_list_clear(&lo->found);
	if (lo->left_out > 0)	/* one line per lookup, with the count */
		log_info("realm %s: its SRV answer named %zu KDC(s) more than the %d taken",
		    lo->realm->name, lo->left_out, LOCATE_MAX_TARGETS);
	lo->cb(lo->arg, r, detail, &lo->found);
	memset(&lo->found, 0, sizeof lo->found);
}

static void
add_found(struct kdc_locate *lo, const char *addr, uint16_t port)
{
	lo->found.addrs = xreallocarray(lo->found.addrs, lo->found.n + 1, sizeof *lo->found.addrs);
	memset(&lo->found.addrs[lo->found.n], 0, sizeof lo->found.addrs[0]);
	lo->found.addrs[lo->found.n].host = xstrdup(addr);
	lo->found.addrs[lo->found.n].port = port;
	lo->found.n++;
}

static void
next_host(struct kdc_locate *lo)
{
	lo->next++;
	lo->aaaa = 0;
	if (lo->next < lo->nhosts) {
		ask(lo);
		return;
	}
	if (lo->found.n == 0)
		finish(lo, KW_R_NXDOMAIN, "realm %s: no address for any of its %zu KDC name%s",
		    lo->realm->name, lo->nhosts, lo->nhosts == 1 ? "" : "s");
	else
		finish(lo, KW_OK, NULL);
}

/*
 * An answer that needs no handling here: the lookup has ended (or is being freed), or the
 * resolver did not answer at all and the question went to the Region's next one.
 */
static int
settled_elsewhere(struct kdc_locate *lo, int status)
{
	return lo->ended || status == ARES_EDESTRUCTION ||
	    dns_failover(status, &lo->resolver, lo->region->nresolvers, ask, lo);
}

static void
addr_answer(void *arg, int status, const struct dns_addr *a, size_t n)
{
	struct kdc_locate *lo = arg;
	char text[INET6_ADDRSTRLEN];

	if (settled_elsewhere(lo, status))
		return;
	if (status == ARES_ENODATA && !lo->aaaa) {
		lo->aaaa = 1;
		ask(lo);
		return;
	}
	for (size_t i = 0; i < n && i < LOCATE_MAX_ADDRS && lo->found.n < LOCATE_MAX_FOUND; i++)
		if (inet_ntop(a[i].family, a[i].addr, text, sizeof text) != NULL)
			add_found(lo, text, lo->ports[lo->next]);
	next_host(lo);
}

static void
srv_answer(void *arg, int status, const struct dns_srv *srv, size_t n)
{
	struct kdc_locate *lo = arg;

	if (settled_elsewhere(lo, status))
		return;
	if (status != ARES_SUCCESS) {
		enum kw_reason r = dns_reason(status);
		finish(lo, r == KW_OK ? KW_R_PROTOCOL : r, "realm %s: SRV _kerberos._udp.%s: %s",
		    lo->realm->name, lo->realm->domain, ares_strerror(status));
		return;
	}
	/* dns_parse_srv sorts by priority: the order a client tries them in */
	if (n > LOCATE_MAX_TARGETS)
		lo->left_out = n - LOCATE_MAX_TARGETS;
	lo->hosts = xcalloc(n ? n : 1, sizeof *lo->hosts);
	lo->ports = xcalloc(n ? n : 1, sizeof *lo->ports);
	for (size_t i = 0; i < n && lo->nhosts < LOCATE_MAX_TARGETS; i++) {
		size_t hl = srv[i].target ? strlen(srv[i].target) : 0;

		if (hl > 0 && srv[i].target[hl - 1] == '.')
			hl--;
		if (hl == 0)
			continue;	/* "." : decidedly no KDC */
		lo->hosts[lo->nhosts] = xstrndup(srv[i].target, hl);
		lo->ports[lo->nhosts++] = srv[i].port ? srv[i].port : 88;
	}
	if (lo->nhosts == 0) {
		finish(lo, KW_R_NO_RECORDS, "realm %s: SRV _kerberos._udp.%s names no KDC",
		    lo->realm->name, lo->realm->domain);
		return;
	}
	lo->next = 0;
	lo->resolver = 0;
	ask(lo);
}

static void
ask(void *arg)
{
	struct kdc_locate *lo = arg;
	unsigned char buf[16];
	char name[300];

	if (lo->region->nresolvers == 0) {
		finish(lo, KW_R_INTERNAL, "realm %s: the Region has no resolver to find its KDCs",
		    lo->realm->name);
		return;
	}
	if (lo->dc[lo->resolver] == NULL)
		lo->dc[lo->resolver] = dns_client_new(lo->base, &lo->region->resolvers[lo->resolver],
		    lo->timeout_ms);
	if (lo->hosts == NULL) {
		snprintf(name, sizeof name, "_kerberos._udp.%s", lo->realm->domain);
		dns_query_srv(lo->dc[lo->resolver], name, srv_answer, lo);
		return;
	}
	/* a configured address needs no question */
	while (lo->next < lo->nhosts && (inet_pton(AF_INET, lo->hosts[lo->next], buf) == 1 ||
	    inet_pton(AF_INET6, lo->hosts[lo->next], buf) == 1)) {
		add_found(lo, lo->hosts[lo->next], lo->ports[lo->next]);
		lo->next++;
	}
	if (lo->next == lo->nhosts) {
		lo->next--;
		next_host(lo);
		return;
	}
	dns_query_addrs(lo->dc[lo->resolver], lo->hosts[lo->next], lo->aaaa ? ns_t_aaaa : ns_t_a,
	    addr_answer, lo);
}

struct kdc_locate *
kdc_locate_start(struct event_base *base, const struct kw_region *region,
    const struct kw_realm *realm, const struct kw_kdcs *given, unsigned timeout_ms,
    kdc_locate_cb *cb, void *arg)
{
	struct kdc_locate *lo = xcalloc(1, sizeof *lo);

	lo->base = base;
	lo->region = region;
	lo->realm = realm;
	lo->given = given;
	lo->timeout_ms = timeout_ms ? timeout_ms : 1;
	lo->cb = cb;
	lo->arg = arg;
	lo->dc = xcalloc(region->nresolvers ? region->nresolvers : 1, sizeof *lo->dc);
	if (!given->from_dns) {
		lo->hosts = xcalloc(given->n ? given->n : 1, sizeof *lo->hosts);
		lo->ports = xcalloc(given->n ? given->n : 1, sizeof *lo->ports);
		for (size_t i = 0; i < given->n; i++) {
			lo->hosts[i] = xstrdup(given->addrs[i].host);
			lo->ports[i] = given->addrs[i].port ? given->addrs[i].port : 88;
		}
		lo->nhosts = given->n;
	}
	ask(lo);
	return lo;
}

void
kdc_locate_cancel(struct kdc_locate *lo)
{
	if (lo == NULL)
		return;
	lo->ended = 1;
	/* pending callbacks run inside dns_client_free with ARES_EDESTRUCTION: ignored */
	for (size_t i = 0; i < lo->region->nresolvers; i++)
		dns_client_free(lo->dc[i]);
	free(lo->dc);
	free_ptrs(lo->hosts, lo->nhosts, free);
	kdc_list_clear(&lo->found);
	free_all(lo->ports, lo);
}
