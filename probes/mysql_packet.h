/*
 * The MySQL/MariaDB packet parser: pure functions over a byte buffer, no I/O, no allocation,
 * every length checked before use.  PROTOCOLS.md sections 1 and 2 give the wire facts; the login
 * state machine around it is login_mysql.c; tests/fuzz/fuzz_mysql_packet.c includes
 * mysql_packet.c to reach its static helpers.
 */
#ifndef KRBWATCH_MYSQL_PACKET_H
#define KRBWATCH_MYSQL_PACKET_H

#include <stddef.h>
#include <stdint.h>

#define MY_HDR_LEN		4
/*
 * The largest packet a login reads.  The protocol allows 16 MiB (and more, split); a hostile
 * server announcing that made each login hold up to ~32 MiB (the input buffer and the copy).
 * What a login reads is a greeting (under 1 KiB), an AuthSwitchRequest with an SPN of at most
 * 256 bytes, an AP-REP (a few hundred bytes), an OK or ERR and a one-row result: 64 KiB is many
 * times all of it, and the read side stops at that much (plus a header) buffered.
 */
#define MY_PAYLOAD_MAX		(64U * 1024)
#define MY_BUFFER_MAX		(MY_PAYLOAD_MAX + 4 + 16 * 1024)
#define MY_NAME_MAX		256		/* SPN and realm, as the MySQL client limits them */

#define CLIENT_LONG_PASSWORD	0x00000001U
#define CLIENT_LONG_FLAG	0x00000004U
#define CLIENT_PROTOCOL_41	0x00000200U
#define CLIENT_SSL		0x00000800U
#define CLIENT_TRANSACTIONS	0x00002000U
#define CLIENT_SECURE_CONNECTION 0x00008000U
#define CLIENT_MULTI_RESULTS	0x00020000U
#define CLIENT_PLUGIN_AUTH	0x00080000U
#define CLIENT_DEPRECATE_EOF	0x01000000U

#define PLUGIN_MYSQL_KRB	"authentication_kerberos_client"
#define PLUGIN_MARIADB_GSS	"auth_gssapi_client"

enum my_frame { MY_FRAME_BAD = -1, MY_FRAME_NEED = 0, MY_FRAME_OK = 1 };

struct my_handshake {
	unsigned protocol;
	char version[64];
	uint32_t conn_id;
	uint32_t caps;
	unsigned charset;
	char plugin[64];
};

struct my_err {
	unsigned code;
	char state[6];
	char msg[512];
};

/* What the server says during authentication. */
enum my_auth_kind {
	MY_AUTH_BAD = -1,
	MY_AUTH_OK,		/* 0x00: authenticated */
	MY_AUTH_ERR,		/* 0xff */
	MY_AUTH_SWITCH,		/* 0xfe: AuthSwitchRequest, plugin name + data */
	MY_AUTH_DATA,		/* 0x01 AuthMoreData (prefix stripped) or a raw plugin packet */
};

struct my_auth {
	enum my_auth_kind kind;
	char plugin[64];
	const uint8_t *data;	/* points into the payload */
	size_t len;
	struct my_err err;
};

/* A text resultset of one statement, fed one payload at a time. */
enum my_rs_state { RS_COUNT, RS_COLDEF, RS_COLEOF, RS_ROWS, RS_DONE };

struct my_resultset {
	enum my_rs_state state;
	int deprecate_eof;	/* the client asked for CLIENT_DEPRECATE_EOF */
	uint64_t ncols, cols;
	unsigned rows;
	int have_value, is_null;
	char value[128];	/* the first row's first column */
	int got_err;
	struct my_err err;
};

#define MY_RS_MAX_COLS 4096

/* The frame at buf: MY_FRAME_OK with the payload's length and sequence id, NEED for more bytes. */
enum my_frame my_frame(const uint8_t *buf, size_t len, size_t *plen, unsigned *seq, char *why,
    size_t whysz);
int my_parse_handshake(const uint8_t *p, size_t n, struct my_handshake *h, char *why, size_t whysz);
int my_parse_err(const uint8_t *p, size_t n, struct my_err *e);
int my_parse_ok(const uint8_t *p, size_t n);
enum my_auth_kind my_parse_auth(const uint8_t *p, size_t n, struct my_auth *a, char *why,
    size_t whysz);
int my_parse_krb_info(const uint8_t *p, size_t n, char *spn, size_t spnsz, char *realm,
    size_t realmsz, char *why, size_t whysz);
int my_parse_gssapi_info(const uint8_t *p, size_t n, char *spn, size_t spnsz, char *mech,
    size_t mechsz, char *why, size_t whysz);
int my_rs_feed(struct my_resultset *rs, const uint8_t *p, size_t n, char *why, size_t whysz);
/* why = the formatted words (a parser's and the login's way to say what was wrong). */
void my_why(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
