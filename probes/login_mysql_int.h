/*
 * The inside of the MySQL/MariaDB login, shared by its state machine (login_mysql.c) and its
 * Kerberos plugin exchange (login_mysql_auth.c) and by nothing else: struct login is theirs
 * (login_impl.h leaves it incomplete).  An interface: types and prototypes only.
 */
#ifndef KRBWATCH_LOGIN_MYSQL_INT_H
#define KRBWATCH_LOGIN_MYSQL_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "login_base.h"
#include "login_impl.h"
#include "mysql_packet.h"

struct bufferevent;
struct dns_pending;
struct event;
struct event_base;
struct gss_token;

/* A TCP connect that has not completed by then is a timeout even when time is left. */
#define MY_CONNECT_TIMEOUT_MS	5000
/* After COM_QUIT: how long to wait for the server to close before closing ourselves. */
#define MY_QUIT_GRACE_MS	200

enum my_state {
	ST_RESOLVE,
	ST_CONNECT,
	ST_GREETING,
	ST_TLS,
	ST_AUTH,	/* HandshakeResponse sent; waiting for the switch to the Kerberos plugin */
	ST_TICKET,	/* need_ticket asked; waiting for login_ticket_ready */
	ST_GSS,		/* GSS token sent; waiting for OK/ERR or the server's token */
	ST_QUERY,
	ST_QUIT,
	ST_DONE,
	ST_COUNT
};


struct login {
	struct login_head head;		/* first: login.c reads the row there */
	struct login_base b;		/* names, connection, events, result: login_base.h */
	struct event_base *base;
	enum kw_engine engine;
	char *name;
	char *cfg_spn;			/* the cluster's spn:, NULL: derived (spn_acceptable) */
	uint16_t port;
	enum kw_tls_mode tls_mode;
	unsigned timeout_ms;
	struct timespec t0;
	enum my_state state;

	/* resolution */
	struct dns_pending *lookup;	/* the name, on the Region's shared channel */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char addrtext[INET6_ADDRSTRLEN + 8];

	struct event *connect_timer;	/* the TCP connect's deadline, then COM_QUIT's grace */

	unsigned seq;			/* the sequence id of the next packet, either way */
	struct my_handshake hs;
	uint32_t caps;
	const char *plugin;		/* the Kerberos client plugin in use */
	int switched, gss_started, ticket_asked;
	enum kw_reason ticket_reason;
	struct my_resultset rs;
	enum kw_reason final_reason;	/* decided before COM_QUIT */
	char final_detail[sizeof ((struct login_result *)0)->detail];
};

/* login_mysql.c */
void myl_set_state(struct login *l, enum my_state s);
void myl_finish(struct login *l, enum kw_reason r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void myl_send_packet(struct login *l, const void *payload, size_t len);

/* login_mysql_auth.c: from the HandshakeResponse on */
/* The first 32 bytes of HandshakeResponse41, which are also the whole SSLRequest. */
size_t myl_put_client_caps(const struct login *, uint8_t *);
void myl_send_handshake_response(struct login *);
void myl_ticket_then_gss(struct login *l);
void myl_handle_auth(struct login *l, const uint8_t *p, size_t n);
void myl_handle_query(struct login *l, const uint8_t *p, size_t n);

#endif
