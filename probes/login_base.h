/*
 * What every engine's login holds and does alike, embedded in each engine's struct login
 * (login_mysql_int.h, login_pg.c) as its member `b`: the cluster's names, the connection, the
 * login's three events, the result, and the one way it ends (recorded once, I/O stopped, done()
 * from the loop).  The engines keep their states, their protocol and their words.
 */
#ifndef KRBWATCH_LOGIN_BASE_H
#define KRBWATCH_LOGIN_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "login.h"

struct bufferevent;
struct event;
struct event_base;
struct evbuffer_cb_entry;
struct gss_token;

struct login_base {
	struct login_callbacks cb;
	char *host, *user, *expect_user, *tls_ca, *ccache, *dns_servers, *spn;
	struct bufferevent *bev;	/* the socket, or the TLS filter over it */
	struct bufferevent *sock;	/* the socket under bev, written by login_base_writes */
	struct event *flush_ev;		/* writes sock's output from the loop's turn */
	struct evbuffer_cb_entry *flush_cbe;
	int write_ev;			/* libevent's write event writes sock from now on */
	struct gss_token *gss;
	struct event *deadline, *kick, *done_ev;
	uint8_t *pkt;			/* the message being handled */
	size_t pktcap;
	struct login_result res;
	int finished, in_done;
};

/* Copies c's host, expect_user, tls_ca, and ccache and the resolvers (user, spn: the engine's). */
void login_base_names(struct login_base *, const struct kw_cluster *c, const char *ccache,
    const char *dns_servers);

/* Records the result unless one is; 0 when this call recorded it, -1 when the login had ended. */
int login_base_record(struct login_base *, enum kw_reason, const char *fmt, va_list)
    __attribute__((format(printf, 3, 0)));

/* From done_ev: hands the result up (the engine frees the login after it). */
void login_base_done(struct login_base *);

/*
 * From now on what the login writes to the connected socket sock (and what a TLS filter over it
 * writes below) goes out with one writev from the loop's turn it was written in, instead of
 * libevent's socket bufferevent arming its write event per message (an epoll_ctl to add
 * EPOLLOUT, a wakeup, the writev, an epoll_ctl to drop it again).  A socket that takes less
 * than all of it, or fails, is handed back to libevent's write event, which finishes the
 * write or reports the error as it always did.  sock's EV_WRITE is disabled here.
 */
void login_base_writes(struct login_base *, struct event_base *, struct bufferevent *sock);

/* A TLS filter was put over sock (it enabled sock's write event again): disabled again. */
void login_base_wrapped(struct login_base *);

/* Stops the connection, the GSS context and the deadline and kick (not done_ev: it is due). */
void login_base_stop(struct login_base *);

/* Frees what login_base holds (the caller frees the login around it). */
void login_base_free(struct login_base *);

#endif
