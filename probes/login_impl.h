/*
 * Inside the login interface: what login.c dispatches to.  An engine is one row, a
 * `const struct login_engine` in its own file; login.c's table maps the configuration's engines
 * to the rows.  Each engine file defines its own struct login (incomplete everywhere else),
 * whose first member is a struct login_head naming its row: that is all login.c reads of it.
 */
#ifndef KRBWATCH_LOGIN_IMPL_H
#define KRBWATCH_LOGIN_IMPL_H

#include "login.h"

struct login_engine {
	struct login *(*start)(struct event_base *, const struct kw_cluster *, const char *ccache,
	    const char *dns_servers, const char *spn, unsigned timeout_ms,
	    const struct login_callbacks *);
	void (*cancel)(struct login *);
	void (*ticket_ready)(struct login *, enum kw_reason);
};

/* The first member of every engine's struct login. */
struct login_head {
	const struct login_engine *engine;
};

extern const struct login_engine login_engine_mysql;	/* MySQL and MariaDB */
extern const struct login_engine login_engine_pg;

/* MySQL authentication_kerberos and MariaDB auth_gssapi (login_mysql.c) */
struct login *login_mysql_start(struct event_base *, const struct kw_cluster *, const char *ccache,
    const char *dns_servers, const char *spn, unsigned timeout_ms, const struct login_callbacks *);
void login_mysql_cancel(struct login *);
void login_mysql_ticket_ready(struct login *, enum kw_reason);

/* PostgreSQL: its protocol 3.0 on a bufferevent, GSSAPI and TLS as for MySQL (login_pg.c) */
struct login *login_pg_start(struct event_base *, const struct kw_cluster *, const char *ccache,
    const char *dns_servers, const char *spn, unsigned timeout_ms, const struct login_callbacks *);
void login_pg_cancel(struct login *);
void login_pg_ticket_ready(struct login *, enum kw_reason);

#endif
