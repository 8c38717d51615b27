/* The MySQL/MariaDB packet parser (mysql_packet.h). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mysql_packet.h"

/* A bounded reader: every take checks the bytes are there; a failed take sets bad. */
struct my_cur {
	const uint8_t *p;
	size_t n;
	int bad;
};

static const uint8_t *
cur_take(struct my_cur *c, size_t n)
{
	const uint8_t *p;

	if (c->bad || c->n < n) {
		c->bad = 1;
		return NULL;
	}
	p = c->p;
	c->p += n;
	c->n -= n;
	return p;
}

static unsigned
cur_u8(struct my_cur *c)
{
	const uint8_t *p = cur_take(c, 1);

	return p ? p[0] : 0;
}

static unsigned
cur_u16(struct my_cur *c)
{
	const uint8_t *p = cur_take(c, 2);

	return p ? (unsigned)p[0] | (unsigned)p[1] << 8 : 0;
}

static uint32_t
cur_u32(struct my_cur *c)
{
	const uint8_t *p = cur_take(c, 4);

	return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24 : 0;
}

/* A NUL-terminated string; *len excludes the NUL. */
static const uint8_t *
cur_nulstr(struct my_cur *c, size_t *len)
{
	const uint8_t *nul;

	if (c->bad || (nul = memchr(c->p, 0, c->n)) == NULL) {
		c->bad = 1;
		return NULL;
	}
	*len = (size_t)(nul - c->p);
	return cur_take(c, *len + 1);
}

/* A length-encoded integer; 0xfb (NULL) sets *is_null, 0xff is not an integer. */
static uint64_t
cur_lenenc(struct my_cur *c, int *is_null)
{
	unsigned b = cur_u8(c);
	const uint8_t *p;
	uint64_t v = 0;
	int i, n;

	if (is_null != NULL)
		*is_null = 0;
	if (c->bad)
		return 0;
	if (b < 0xfb)
		return b;
	if (b == 0xfb) {
		if (is_null == NULL)
			c->bad = 1;
		else
			*is_null = 1;
		return 0;
	}
	n = b == 0xfc ? 2 : b == 0xfd ? 3 : b == 0xfe ? 8 : 0;
	if (n == 0 || (p = cur_take(c, (size_t)n)) == NULL) {
		c->bad = 1;
		return 0;
	}
	for (i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static const uint8_t *
cur_lenenc_str(struct my_cur *c, size_t *len, int *is_null)
{
	uint64_t n = cur_lenenc(c, is_null);

	*len = 0;
	if (c->bad || (is_null != NULL && *is_null))
		return NULL;
	if (n > c->n) {
		c->bad = 1;
		return NULL;
	}
	*len = (size_t)n;
	return cur_take(c, (size_t)n);
}

/* Copies len bytes as a printable C string (truncated to size; other bytes become '?'). */
static void
copy_text(char *dst, size_t size, const uint8_t *src, size_t len)
{
	size_t i;

	if (size == 0)
		return;
	if (len > size - 1)
		len = size - 1;
	for (i = 0; i < len; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
	dst[len] = '\0';
}

void
my_why(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
}


/*
 * The packet at the head of buf: MY_FRAME_OK with its payload length and sequence id when all
 * of it is there, MY_FRAME_NEED when more bytes must come, MY_FRAME_BAD for a payload of 16 MiB
 * or more (nothing krbwatch reads is that large).
 */
enum my_frame
my_frame(const uint8_t *buf, size_t len, size_t *plen, unsigned *seq, char *why, size_t whysz)
{
	size_t n;

	if (len < MY_HDR_LEN)
		return MY_FRAME_NEED;
	n = (size_t)buf[0] | (size_t)buf[1] << 8 | (size_t)buf[2] << 16;
	if (n > MY_PAYLOAD_MAX) {
		my_why(why, whysz, "a packet of %zu bytes, more than the %u a login reads", n,
		    MY_PAYLOAD_MAX);
		return MY_FRAME_BAD;
	}
	if (len - MY_HDR_LEN < n)
		return MY_FRAME_NEED;
	*plen = n;
	*seq = buf[3];
	return MY_FRAME_OK;
}


/* The server's greeting, protocol version 10. */
int
my_parse_handshake(const uint8_t *p, size_t n, struct my_handshake *h, char *why, size_t whysz)
{
	struct my_cur c = { p, n, 0 };
	const uint8_t *s;
	size_t len;
	unsigned authlen = 0;

	memset(h, 0, sizeof *h);
	h->protocol = cur_u8(&c);
	if (c.bad) {
		my_why(why, whysz, "empty greeting");
		return -1;
	}
	if (h->protocol != 10) {
		my_why(why, whysz, "greeting of protocol version %u, not 10", h->protocol);
		return -1;
	}
	if ((s = cur_nulstr(&c, &len)) != NULL)
		copy_text(h->version, sizeof h->version, s, len);
	h->conn_id = cur_u32(&c);
	cur_take(&c, 8);		/* auth-plugin-data part 1 */
	cur_take(&c, 1);		/* filler */
	h->caps = cur_u16(&c);
	if (c.bad) {
		my_why(why, whysz, "truncated greeting");
		return -1;
	}
	if (c.n == 0)
		return 0;		/* a pre-4.1 greeting ends here */
	h->charset = cur_u8(&c);
	cur_u16(&c);			/* status flags */
	h->caps |= (uint32_t)cur_u16(&c) << 16;
	authlen = cur_u8(&c);
	cur_take(&c, 10);		/* reserved (MariaDB: extended capabilities) */
	if (c.bad) {
		my_why(why, whysz, "truncated greeting");
		return -1;
	}
	if (h->caps & CLIENT_SECURE_CONNECTION) {
		size_t part2 = authlen > 8 ? authlen - 8 : 0;

		cur_take(&c, part2 > 13 ? part2 : 13);
	}
	if (c.bad) {
		my_why(why, whysz, "truncated greeting (auth-plugin-data)");
		return -1;
	}
	if (h->caps & CLIENT_PLUGIN_AUTH) {
		/* some servers leave out the final NUL: the name then runs to the end */
		const uint8_t *nul = memchr(c.p, 0, c.n);

		len = nul != NULL ? (size_t)(nul - c.p) : c.n;
		copy_text(h->plugin, sizeof h->plugin, c.p, len);
	}
	return 0;
}


/* An ERR packet (0xff); the SQL state is there only when the server speaks protocol 4.1. */
int
my_parse_err(const uint8_t *p, size_t n, struct my_err *e)
{
	struct my_cur c = { p, n, 0 };
	const uint8_t *s;

	memset(e, 0, sizeof *e);
	if (cur_u8(&c) != 0xff)
		return -1;
	e->code = cur_u16(&c);
	if (c.bad)
		return -1;
	if (c.n >= 6 && c.p[0] == '#') {
		s = cur_take(&c, 6);
		copy_text(e->state, sizeof e->state, s + 1, 5);
	}
	copy_text(e->msg, sizeof e->msg, c.p, c.n);
	return 0;
}

/* An OK packet (0x00): the header, affected rows, last insert id, status, warnings. */
int
my_parse_ok(const uint8_t *p, size_t n)
{
	struct my_cur c = { p, n, 0 };

	if (cur_u8(&c) != 0x00)
		return -1;
	cur_lenenc(&c, NULL);
	cur_lenenc(&c, NULL);
	cur_u16(&c);
	cur_u16(&c);
	return c.bad ? -1 : 0;
}


enum my_auth_kind
my_parse_auth(const uint8_t *p, size_t n, struct my_auth *a, char *why, size_t whysz)
{
	struct my_cur c = { p, n, 0 };
	const uint8_t *s;
	size_t len;

	memset(a, 0, sizeof *a);
	if (n == 0) {
		my_why(why, whysz, "an empty packet during authentication");
		return a->kind = MY_AUTH_BAD;
	}
	switch (p[0]) {
	case 0x00:
		if (my_parse_ok(p, n) == -1) {
			my_why(why, whysz, "a malformed OK packet");
			return a->kind = MY_AUTH_BAD;
		}
		return a->kind = MY_AUTH_OK;
	case 0xff:
		if (my_parse_err(p, n, &a->err) == -1) {
			my_why(why, whysz, "a truncated ERR packet");
			return a->kind = MY_AUTH_BAD;
		}
		return a->kind = MY_AUTH_ERR;
	case 0xfe:
		cur_take(&c, 1);
		if (n == 1) {
			/* the pre-4.1 "use the old password scramble" request */
			snprintf(a->plugin, sizeof a->plugin, "mysql_old_password");
			return a->kind = MY_AUTH_SWITCH;
		}
		if ((s = cur_nulstr(&c, &len)) == NULL || len == 0) {
			my_why(why, whysz, "an AuthSwitchRequest without a plugin name");
			return a->kind = MY_AUTH_BAD;
		}
		copy_text(a->plugin, sizeof a->plugin, s, len);
		a->data = c.p;
		a->len = c.n;
		return a->kind = MY_AUTH_SWITCH;
	case 0x01:
		/* the servers escape plugin data this way (MySQL always, MariaDB when it must) */
		a->data = p + 1;
		a->len = n - 1;
		return a->kind = MY_AUTH_DATA;
	default:
		a->data = p;
		a->len = n;
		return a->kind = MY_AUTH_DATA;
	}
}

/*
 * authentication_kerberos's first server packet: int<2> LE length + SPN, int<2> LE length +
 * realm (the UPN realm; may be empty).  Bytes after the realm are ignored.
 */
int
my_parse_krb_info(const uint8_t *p, size_t n, char *spn, size_t spnsz, char *realm,
    size_t realmsz, char *why, size_t whysz)
{
	struct my_cur c = { p, n, 0 };
	const uint8_t *s;
	unsigned len;

	len = cur_u16(&c);
	if (c.bad || len == 0 || len > MY_NAME_MAX || (s = cur_take(&c, len)) == NULL ||
	    memchr(s, 0, len) != NULL) {
		my_why(why, whysz, "malformed SPN in the authentication_kerberos data (%zu bytes)", n);
		return -1;
	}
	copy_text(spn, spnsz, s, len);
	len = cur_u16(&c);
	if (c.bad || len > MY_NAME_MAX || (s = cur_take(&c, len)) == NULL ||
	    memchr(s, 0, len) != NULL) {
		my_why(why, whysz, "malformed realm in the authentication_kerberos data (%zu bytes)", n);
		return -1;
	}
	copy_text(realm, realmsz, s, len);
	return 0;
}

/* auth_gssapi's first server packet: "SPN\0mech\0" (the mechanism may be missing or empty). */
int
my_parse_gssapi_info(const uint8_t *p, size_t n, char *spn, size_t spnsz, char *mech,
    size_t mechsz, char *why, size_t whysz)
{
	const uint8_t *nul = memchr(p, 0, n);
	size_t len = nul != NULL ? (size_t)(nul - p) : n;

	if (len == 0 || len > MY_NAME_MAX) {
		my_why(why, whysz, "malformed SPN in the auth_gssapi data (%zu bytes)", n);
		return -1;
	}
	copy_text(spn, spnsz, p, len);
	mech[0] = '\0';
	if (nul != NULL && len + 1 < n) {
		const uint8_t *m = p + len + 1;
		const uint8_t *mnul = memchr(m, 0, n - len - 1);

		copy_text(mech, mechsz, m, mnul != NULL ? (size_t)(mnul - m) : n - len - 1);
	}
	return 0;
}


static int
is_eof(const uint8_t *p, size_t n)
{
	return n > 0 && p[0] == 0xfe && n < 9;
}

/*
 * Returns 1 when the resultset (or an ERR instead of it) is complete, 0 for more, -1 if bad.
 * Longer than most: one switch over the resultset's states, each a few checked reads; apart,
 * the states would be read out of their order.
 */
/* An ERR packet ends the resultset: 1, or -1 when it is truncated. */
static int
rs_error(struct my_resultset *rs, const uint8_t *p, size_t n, char *why, size_t whysz)
{
	if (my_parse_err(p, n, &rs->err) == -1) {
		my_why(why, whysz, "a truncated ERR packet");
		return -1;
	}
	rs->got_err = 1;
	rs->state = RS_DONE;
	return 1;
}

static int
rs_count(struct my_resultset *rs, struct my_cur *c, char *why, size_t whysz)
{
	rs->ncols = cur_lenenc(c, NULL);
	if (c->bad || c->n != 0 || rs->ncols == 0 || rs->ncols > MY_RS_MAX_COLS) {
		my_why(why, whysz, "a malformed column count");
		return -1;
	}
	rs->state = RS_COLDEF;
	return 0;
}

static int
rs_coldef(struct my_resultset *rs, struct my_cur *c, char *why, size_t whysz)
{
	size_t len;

	for (int i = 0; i < 6; i++)	/* catalog, schema, table, org_table, name, org_name */
		cur_lenenc_str(c, &len, NULL);
	if (cur_lenenc(c, NULL) >= 12 && !c->bad)
		cur_take(c, 12);	/* charset, length, type, flags, decimals, filler */
	else
		c->bad = 1;
	if (c->bad) {
		my_why(why, whysz, "a malformed column definition");
		return -1;
	}
	if (++rs->cols == rs->ncols)
		rs->state = rs->deprecate_eof ? RS_ROWS : RS_COLEOF;
	return 0;
}

/* A row: the first row's first column is the value; the end is an EOF (or OK under DEPRECATE_EOF). */
static int
rs_row(struct my_resultset *rs, const uint8_t *p, size_t n, struct my_cur *c, char *why,
    size_t whysz)
{
	const uint8_t *s;
	size_t len;
	int is_null;

	if (p[0] == 0xff)
		return rs_error(rs, p, n, why, whysz);
	if (is_eof(p, n) || (rs->deprecate_eof && p[0] == 0xfe)) {
		rs->state = RS_DONE;
		return 1;
	}
	for (uint64_t i = 0; i < rs->ncols; i++) {
		s = cur_lenenc_str(c, &len, &is_null);
		if (c->bad)
			break;
		if (i == 0 && rs->rows == 0) {
			rs->have_value = 1;
			rs->is_null = is_null;
			if (!is_null)
				copy_text(rs->value, sizeof rs->value, s, len);
		}
	}
	if (c->bad || c->n != 0) {
		my_why(why, whysz, "a malformed row");
		return -1;
	}
	rs->rows++;
	return 0;
}

int
my_rs_feed(struct my_resultset *rs, const uint8_t *p, size_t n, char *why, size_t whysz)
{
	struct my_cur c = { p, n, 0 };

	if (n == 0) {
		my_why(why, whysz, "an empty packet in the resultset");
		return -1;
	}
	switch (rs->state) {
	case RS_COUNT:
		if (p[0] == 0xff)
			return rs_error(rs, p, n, why, whysz);
		if (p[0] == 0x00) {
			my_why(why, whysz, "the query returned no resultset");
			return -1;
		}
		return rs_count(rs, &c, why, whysz);
	case RS_COLDEF:
		return rs_coldef(rs, &c, why, whysz);
	case RS_COLEOF:
		if (!is_eof(p, n)) {
			my_why(why, whysz, "no EOF packet after the column definitions");
			return -1;
		}
		rs->state = RS_ROWS;
		return 0;
	case RS_ROWS:
		return rs_row(rs, p, n, &c, why, whysz);
	case RS_DONE:
		my_why(why, whysz, "a packet after the end of the resultset");
		return -1;
	}
	return -1;
}
