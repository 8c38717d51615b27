/*
 * JSON text for the webhook bodies and `krbwatch probe --json`: strings that always parse,
 * whatever bytes a library or a server put in a message.  The one escaper of the program.
 */
#include <stdio.h>

#include <event2/buffer.h>

#include "json.h"

/* Bytes of one well-formed UTF-8 character at p, 0 when there is none. */
static size_t
utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xe0 && p[0] <= 0xef) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0))
			return 0;	/* overlong, or a surrogate */
		return 3;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80 ||
		    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/*
 * A JSON string.  Details come from libraries and servers (Kerberos error texts, database
 * messages): control characters are escaped and bytes that are not UTF-8 become U+FFFD, so
 * the body always parses.
 */
void
json_str(struct evbuffer *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	evbuffer_add(b, "\"", 1);
	while (*p != '\0') {
		if ((n = utf8_len(p)) == 0) {
			evbuffer_add(b, "\\ufffd", 6);
			p++;
			continue;
		}
		if (n > 1) {
			evbuffer_add(b, p, n);
			p += n;
			continue;
		}
		switch (*p) {
		case '"':
			evbuffer_add(b, "\\\"", 2);
			break;
		case '\\':
			evbuffer_add(b, "\\\\", 2);
			break;
		case '\n':
			evbuffer_add(b, "\\n", 2);
			break;
		case '\r':
			evbuffer_add(b, "\\r", 2);
			break;
		case '\t':
			evbuffer_add(b, "\\t", 2);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				evbuffer_add_printf(b, "\\u%04x", *p);
			else
				evbuffer_add(b, p, 1);
		}
		p++;
	}
	evbuffer_add(b, "\"", 1);
}

void
json_fputs(FILE *fp, const char *s)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		fputs("\"\"", fp);	/* out of memory: an empty string still parses */
		return;
	}
	json_str(b, s);
	fwrite(evbuffer_pullup(b, -1), 1, evbuffer_get_length(b), fp);
	evbuffer_free(b);
}

/* "key":"value" with a leading comma unless first */
void
json_kv(struct evbuffer *b, int first, const char *k, const char *v)
{
	if (!first)
		evbuffer_add(b, ",", 1);
	json_str(b, k);
	evbuffer_add(b, ":", 1);
	json_str(b, v);
}
