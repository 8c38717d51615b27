/*
 * libFuzzer target for the MySQL/MariaDB packet parser, probes/mysql_packet.c (included, to
 * reach its static functions).  The input is a byte stream as a server would send it: it is
 * framed into packets, and every payload goes through each parser the login uses (greeting, ERR,
 * OK, authentication packets, the plugins' SPN data, the server's error text) and, in order,
 * through one resultset.  Seeds: tests/fuzz/mysql_packet/.  Run with `make fuzz-mysql`.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../net/gss_token.h"
#include "../../probes/mysql_packet.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct my_resultset rs;
	size_t plen;
	unsigned seq;
	char why[128], a[256], b[128];
	int rs_live = 1;

	memset(&rs, 0, sizeof rs);
	/* the first byte chooses the resultset's flavour, as the capability would */
	if (size > 0) {
		rs.deprecate_eof = data[0] & 1;
		data++;
		size--;
	}
	while (size > 0) {
		const uint8_t *p;
		struct my_handshake h;
		struct my_err e;
		struct my_auth au;

		if (my_frame(data, size, &plen, &seq, why, sizeof why) != MY_FRAME_OK)
			break;
		p = data + MY_HDR_LEN;
		my_parse_handshake(p, plen, &h, why, sizeof why);
		if (my_parse_err(p, plen, &e) == 0)
			gss_token_server_text_reason(e.msg);
		my_parse_ok(p, plen);
		if (my_parse_auth(p, plen, &au, why, sizeof why) != MY_AUTH_BAD &&
		    au.data != NULL) {
			my_parse_krb_info(au.data, au.len, a, sizeof a, b, sizeof b, why, sizeof why);
			my_parse_gssapi_info(au.data, au.len, a, sizeof a, b, sizeof b, why,
			    sizeof why);
		}
		my_parse_krb_info(p, plen, a, sizeof a, b, sizeof b, why, sizeof why);
		my_parse_gssapi_info(p, plen, a, sizeof a, b, sizeof b, why, sizeof why);
		if (rs_live && my_rs_feed(&rs, p, plen, why, sizeof why) != 0)
			rs_live = 0;
		data += MY_HDR_LEN + plen;
		size -= MY_HDR_LEN + plen;
	}
	return 0;
}
