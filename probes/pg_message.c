#include <stdio.h>
#include <string.h>

#include "pg_message.h"

#define PG_PROTO_3_0	196608U

/* 80877103: the SSLRequest code, as the server reads it */
const uint8_t pg_ssl_request[8] = { 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f };

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t
pg_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

size_t
pg_header(uint8_t hdr[PG_HDR_LEN], char type, size_t len)
{
	size_t h = 0;

	if (type != 0)
		hdr[h++] = (uint8_t)type;
	put_u32(hdr + h, (uint32_t)(len + 4));
	return h + 4;
}

size_t
pg_startup(uint8_t *out, size_t outlen, const char *user, const char *dbname)
{
	int n;

	if (outlen < 4)
		return 0;
	put_u32(out, PG_PROTO_3_0);
	n = snprintf((char *)out + 4, outlen - 4, "user%c%s%cdatabase%c%s%capplication_name%c"
	    "krbwatch%c", 0, user, 0, 0, dbname, 0, 0, 0);
	if (n < 0 || (size_t)n + 4 + 1 > outlen)
		return 0;
	out[4 + n] = 0;		/* the list's end */
	return 4 + (size_t)n + 1;
}

int
pg_datarow_first(const uint8_t *p, size_t n, char *out, size_t outlen)
{
	uint32_t len;

	if (n < 6 || (p[0] == 0 && p[1] == 0))
		return -1;
	if ((len = pg_get_u32(p + 2)) == 0xffffffffU)
		return 0;
	if (len > n - 6 || len >= outlen)
		return -1;
	memcpy(out, p + 6, len);
	out[len] = '\0';
	return 1;
}

enum kw_reason
pg_error_response(const uint8_t *p, size_t n, const char *what, char *detail, size_t dlen)
{
	const char *sev = "ERROR", *code = "", *msg = "(no message)";
	char m[160];
	size_t i = 0, len;

	while (i < n && p[i] != 0) {
		const char *v = (const char *)p + i + 1;

		if ((len = strnlen(v, n - i - 1)) == n - i - 1)
			break;		/* unterminated: what came before still counts */
		if (p[i] == 'V')
			sev = v;
		else if (p[i] == 'C')
			code = v;
		else if (p[i] == 'M')
			msg = v;
		i += len + 2;
	}
	for (i = 0; i < sizeof m - 1 && msg[i] != '\0' && (unsigned char)msg[i] >= ' '; i++)
		m[i] = msg[i];
	m[i] = '\0';
	snprintf(detail, dlen, "%s%.10s %.5s%s%s", what, sev, code, code[0] ? ": " : "", m);
	if (strncmp(code, "28", 2) == 0 || strcmp(code, "42501") == 0 || strcmp(code, "3D000") == 0)
		return KW_R_ACCESS_DENIED;
	if (strcmp(code, "57P03") == 0 || strncmp(code, "53", 2) == 0)
		return KW_R_REFUSED;	/* starting up, shutting down, too many clients */
	return KW_R_PROTOCOL;
}
