/*
 * A database login's TCP connection: the host resolved through the Region's resolvers
 * (dns_client.c; a numeric host used as it is), then a non-blocking connect on a socket
 * bufferevent.  The caller hears exactly once: the connected bufferevent (its own from then on)
 * or the reason and words, and the peer's "addr:port" for its own words either way.
 */
#ifndef KRBWATCH_TCP_DIAL_H
#define KRBWATCH_TCP_DIAL_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/reason.h"

struct bufferevent;
struct event_base;
struct tcp_dial;

/*
 * bev is NULL on failure, with r and detail; peer is "" before an address was known.  A dial
 * started with hold reports the address first (bev NULL, r KW_OK) and connects only on
 * tcp_dial_connect(): a login checks what it needs before the database sees a connection.
 */
typedef void tcp_dial_cb(void *arg, struct bufferevent *bev, enum kw_reason r,
    const char *detail, const char *peer);

/*
 * Starts; cb runs later, from the loop (never inside this call).  dns_servers as
 * dns_client_new_list takes them; dns_timeout_ms bounds the lookup.
 */
struct tcp_dial *tcp_dial_start(struct event_base *, const char *host, uint16_t port,
    const char *dns_servers, unsigned dns_timeout_ms, int hold, tcp_dial_cb *, void *arg);
/* A held dial, its address reported: connect now. */
void tcp_dial_connect(struct tcp_dial *);
/* Stops a dial whose callback has not run; no callback afterwards. */
void tcp_dial_cancel(struct tcp_dial *);
/* The peer's "addr:port" ("[v6]:port") once known, else "". */
const char *tcp_dial_peer(const struct tcp_dial *);

#endif
