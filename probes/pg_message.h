/*
 * PostgreSQL protocol 3.0 messages for login_pg.c: pure functions over a byte buffer, no I/O,
 * every length checked before use.  A message is a type byte and a 32-bit big-endian length
 * that counts itself; the StartupMessage and SSLRequest have no type byte.
 * tests/fuzz/fuzz_pg_classify.c drives pg_error_response with what a hostile server writes.
 */
#ifndef KRBWATCH_PG_MESSAGE_H
#define KRBWATCH_PG_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/reason.h"

#define PG_HDR_LEN	5
#define PG_MSG_MAX	(64U * 1024)	/* tokens, errors, parameters: far below; more is hostile */
#define PG_AUTH_OK		0
#define PG_AUTH_GSS		7
#define PG_AUTH_GSS_CONTINUE	8

extern const uint8_t pg_ssl_request[8];

uint32_t pg_get_u32(const uint8_t *);
/* The header (type byte and length) of a message of len body bytes, into hdr; its size. */
size_t pg_header(uint8_t hdr[PG_HDR_LEN], char type, size_t len);
/*
 * The StartupMessage body (protocol 3.0, user, database, application_name) into out; its length,
 * or 0 when it does not fit.
 */
size_t pg_startup(uint8_t *out, size_t outlen, const char *user, const char *dbname);
/*
 * A DataRow's first column: 1 with the value in out (NUL-terminated), 0 when it is NULL,
 * -1 when the message is malformed or the value does not fit.
 */
int pg_datarow_first(const uint8_t *p, size_t n, char *out, size_t outlen);
/*
 * What an ErrorResponse body means, with "WHAT SEVERITY SQLSTATE: message" in detail.  The
 * server writes the words: the message is cut at a control character and bounded.
 */
enum kw_reason pg_error_response(const uint8_t *p, size_t n, const char *what, char *detail,
    size_t dlen);

#endif
