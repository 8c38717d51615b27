/*
 * The login interface: the cluster's engine chooses the functions at the start; afterwards a
 * login is PostgreSQL's when login_pg_owns() says so, else MySQL/MariaDB's.
 */
#include <stddef.h>

#include "../lib/log.h"
#include "login_impl.h"

struct login *
login_start(struct event_base *base, const struct kw_cluster *c, const char *ccache,
    const char *dns_servers, const char *spn, unsigned timeout_ms, const struct login_callbacks *cb)
{
	switch (c->engine) {
	case KW_ENGINE_MYSQL:
	case KW_ENGINE_MARIADB:
		return login_mysql_start(base, c, ccache, dns_servers, spn, timeout_ms, cb);
	case KW_ENGINE_POSTGRESQL:
		return login_pg_start(base, c, ccache, dns_servers, spn, timeout_ms, cb);
	}
	fatalx("login_start: unknown engine %d", (int)c->engine);
}

void
login_cancel(struct login *l)
{
	if (l == NULL)
		return;
	if (login_pg_owns(l))
		login_pg_cancel(l);
	else
		login_mysql_cancel(l);
}

void
login_ticket_ready(struct login *l, enum kw_reason r)
{
	if (l == NULL)
		return;
	if (login_pg_owns(l))
		login_pg_ticket_ready(l, r);
	else
		login_mysql_ticket_ready(l, r);
}
