/*
 * The last hop: a database login with the service ticket the chain already put in krbwatch's
 * MEMORY credential cache.  One implementation per engine family (login_mysql.c for MySQL's
 * authentication_kerberos and MariaDB's auth_gssapi, login_pg.c for PostgreSQL); the chain probe
 * starts one login per cluster and hears back exactly once.
 *
 * GSSAPI builds its tokens from that cache only (gss_acquire_cred_from with the "ccache" store),
 * so a login never makes GSSAPI go to the network: if the server announces an SPN whose ticket
 * is not in the cache, the login asks the chain for it (need_ticket) and waits for
 * login_ticket_ready() before it goes on.
 */
#ifndef KRBWATCH_LOGIN_H
#define KRBWATCH_LOGIN_H

#include "probe.h"

struct event_base;
struct login;

struct login_result {
	enum kw_reason reason;
	char detail[256];		/* words for logs and the status page */
	char announced_spn[256];	/* the SPN the server announced ("" if none) */
	char announced_realm[128];	/* MySQL authentication_kerberos only */
	char current_user[128];		/* what the server said CURRENT_USER is */
	int server_error;		/* the server's error code (MySQL ERR packet, 0 if none) */
};

struct login_callbacks {
	/* Called once, from the loop, when the login ended.  The login is freed after it returns. */
	void (*done)(void *arg, const struct login_result *);
	/*
	 * The server announced spn and the cache has no ticket for it: fetch it into the cache,
	 * then call login_ticket_ready(login, reason).  NULL: the login fails with "gss".
	 */
	void (*need_ticket)(void *arg, struct login *, const char *spn);
	void *arg;
};

/*
 * Starts the login to cluster c.  ccache names the MEMORY: cache with the tickets; dns_servers
 * the Region's resolvers as c-ares takes them ("10.0.0.2:53,[fd00::2]:53"; NULL: the system's),
 * so that one Region's DNS never decides another Region's login; spn is the principal the chain
 * fetched a ticket for (the login compares it with what the server announces).  Returns NULL
 * (and calls nothing) only when it could not even begin.
 */
struct login *login_start(struct event_base *, const struct kw_cluster *c, const char *ccache,
    const char *dns_servers, const char *spn, unsigned timeout_ms, const struct login_callbacks *);
/* Ends a login early; no callback runs afterwards. */
void login_cancel(struct login *);
/* The answer to need_ticket: KW_OK when the ticket is now in the cache. */
void login_ticket_ready(struct login *, enum kw_reason);

#endif
