/*
 * JSON text for the webhook bodies and `krbwatch probe --json`: strings that always parse,
 * whatever bytes a library or a server put in a message.  The one escaper of the program.
 */
#include <stdio.h>
#include <string.h>

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

/* Where an escaped string goes: an evbuffer (webhook bodies) or a FILE (the rest). */
typedef void (*json_put)(void *arg, const void *p, size_t n);

/* The escape of one ASCII byte into u, NULL when it stands for itself. */
static const char *
escape_byte(unsigned char c, char u[8])
{
	switch (c) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\n': return "\\n";
	case '\r': return "\\r";
	case '\t': return "\\t";
	}
	if (c < 0x20 || c == 0x7f) {
		snprintf(u, 8, "\\u%04x", c);
		return u;
	}
	return NULL;
}

/*
 * A JSON string.  Details come from libraries and servers (Kerberos error texts, database
 * messages): control characters are escaped and bytes that are not UTF-8 become U+FFFD, so
 * the body always parses.
 */
static void
escape(const char *s, json_put put, void *arg)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;
	const char *e;
	char u[8];
	size_t n;

	put(arg, "\"", 1);
	/* bytes that stand for themselves go out in runs, one call each */
	for (; *p != '\0'; p += n) {
		if ((n = utf8_len(p)) > 1 || (n == 1 && (e = escape_byte(*p, u)) == NULL))
			continue;
		if (p > run)
			put(arg, run, (size_t)(p - run));
		if (n == 0) {
			put(arg, "\\ufffd", 6);
			n = 1;
		} else
			put(arg, e, strlen(e));
		run = p + n;
	}
	if (p > run)
		put(arg, run, (size_t)(p - run));
	put(arg, "\"", 1);
}

static void
put_evbuffer(void *arg, const void *p, size_t n)
{
	evbuffer_add(arg, p, n);
}

static void
put_file(void *arg, const void *p, size_t n)
{
	fwrite(p, 1, n, arg);
}

void
json_str(struct evbuffer *b, const char *s)
{
	escape(s, put_evbuffer, b);
}

void
json_fputs(FILE *fp, const char *s)
{
	escape(s, put_file, fp);
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
