/*
 * The login interface: the cluster's engine picks a row of the table below at the start;
 * afterwards the login's own head names its row.  A new engine is a file with its row, and a
 * line here.
 */
#include <stddef.h>

#include "../lib/log.h"
#include "login_impl.h"

static const struct {
	enum kw_engine engine;
	const struct login_engine *row;
} engines[] = {
	{ KW_ENGINE_MYSQL, &login_engine_mysql },
	{ KW_ENGINE_MARIADB, &login_engine_mysql },
	{ KW_ENGINE_POSTGRESQL, &login_engine_pg },
};

static const struct login_engine *
row_of(const struct login *l)
{
	return ((const struct login_head *)(const void *)l)->engine;
}

struct login *
login_start(struct event_base *base, const struct kw_cluster *c, const char *ccache,
    const char *dns_servers, const char *spn, unsigned timeout_ms, const struct login_callbacks *cb)
{
	for (size_t i = 0; i < sizeof engines / sizeof engines[0]; i++)
		if (engines[i].engine == c->engine)
			return engines[i].row->start(base, c, ccache, dns_servers, spn, timeout_ms, cb);
	fatalx("login_start: unknown engine %d", (int)c->engine);
}

void
login_cancel(struct login *l)
{
	if (l != NULL)
		row_of(l)->cancel(l);
}

void
login_ticket_ready(struct login *l, enum kw_reason r)
{
	if (l != NULL)
		row_of(l)->ticket_ready(l, r);
}
