/*
 * Inside the login interface: what login.c dispatches to.  Each engine file defines its own
 * struct login (it stays incomplete everywhere else); the engine functions have the signatures
 * of those in login.h.  login_start picks the engine by the cluster's engine; afterwards
 * login_pg_owns() tells a PostgreSQL login from a MySQL/MariaDB one, so the dispatcher makes no
 * assumption about either engine's struct layout.
 */
#ifndef KRBWATCH_LOGIN_IMPL_H
#define KRBWATCH_LOGIN_IMPL_H

#include "login.h"

/* MySQL authentication_kerberos and MariaDB auth_gssapi (login_mysql.c) */
struct login *login_mysql_start(struct event_base *, const struct kw_cluster *, const char *ccache,
    const char *dns_servers, const char *spn, unsigned timeout_ms, const struct login_callbacks *);
void login_mysql_cancel(struct login *);
void login_mysql_ticket_ready(struct login *, enum kw_reason);

/* PostgreSQL through libpq's asynchronous connect (login_pg.c) */
struct login *login_pg_start(struct event_base *, const struct kw_cluster *, const char *ccache,
    const char *dns_servers, const char *spn, unsigned timeout_ms, const struct login_callbacks *);
void login_pg_cancel(struct login *);
void login_pg_ticket_ready(struct login *, enum kw_reason);
/* 1 when l is a running PostgreSQL login (one login_pg_start returned and that has not ended). */
int login_pg_owns(const struct login *l);

#endif
