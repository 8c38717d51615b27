/*
 * The syntax of single values: durations, addresses, host names, integers, and the distance
 * between words that turns a misspelt key into a suggestion.  Pure functions, no messages.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/xmalloc.h"
#include "config.h"
#include "config_int.h"

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/*
 * A non-negative decimal integer of digits only (no sign, no space, no trailing text) that is
 * at most max.  Returns -1 otherwise.
 */
int
cp_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (!is_digit(*s))
			return -1;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/*
 * One or more "NUMBER UNIT" with units from largest to smallest, each at most once: "500ms",
 * "30s", "1h30m" (the Prometheus form).  Zero is well formed here; callers decide on ranges.
 * Returns -1 when malformed, -2 when well formed but beyond 64 bits of milliseconds.
 */
int
cp_duration(const char *s, uint64_t *ms)
{
	static const uint64_t unit_ms[] = { 3600000, 60000, 1000, 1 }; /* h m s ms */
	uint64_t total = 0;
	int last = -1, overflow = 0;

	if (s == NULL || *s == '\0')
		return -1;
	while (*s != '\0') {
		uint64_t n = 0;
		int unit;

		if (!is_digit(*s))
			return -1;
		for (; is_digit(*s); s++) {
			if (n > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
				overflow = 1;
			else
				n = n * 10 + (uint64_t)(*s - '0');
		}
		if (s[0] == 'm' && s[1] == 's')
			unit = 3, s += 2;
		else if (*s == 'h')
			unit = 0, s++;
		else if (*s == 'm')
			unit = 1, s++;
		else if (*s == 's')
			unit = 2, s++;
		else
			return -1;
		if (unit <= last)
			return -1;
		last = unit;
		if (n > UINT64_MAX / unit_ms[unit] || total > UINT64_MAX - n * unit_ms[unit])
			overflow = 1;
		else
			total += n * unit_ms[unit];
	}
	if (overflow)
		return -2;
	*ms = total;
	return 0;
}

int
config_parse_duration(const char *s, uint64_t *ms)
{
	return cp_duration(s, ms) == 0 ? 0 : -1;
}

/*
 * A DNS host name as RFC 1123 has it: dot-separated labels of 1 to 63 letters, digits and
 * hyphens, no label starting or ending with a hyphen, 253 characters at most, one optional
 * final dot.  A name whose last label is all digits is refused: it is a mistyped IPv4 address
 * (RFC 3696 section 2), not a name.
 */
int
cp_hostname(const char *s)
{
	size_t len = strlen(s), lab = 0, i, lastlab = 0;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return -1;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (lab == 0 || s[i - 1] == '-')
				return -1;
			lab = 0;
			lastlab = i + 1;
			continue;
		}
		if (!is_alnum(c) && c != '-')
			return -1;
		if (c == '-' && lab == 0)
			return -1;
		if (++lab > 63)
			return -1;
	}
	if (s[len - 1] == '-')
		return -1;
	for (i = lastlab; i < len && is_digit(s[i]); i++)
		;
	return i == len ? -1 : 0;
}

static int
all_digits_and_dots(const char *s)
{
	for (; *s != '\0'; s++)
		if (!is_digit(*s) && *s != '.')
			return 0;
	return 1;
}

/* A host without a port: an IPv4 address, a bare IPv6 address, or a host name. */
int
cp_host(const char *s, enum cp_addr_kind *kind)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (strchr(s, ':') != NULL) {
		*kind = CP_ADDR_V6;
		return inet_pton(AF_INET6, s, buf) == 1 ? 0 : -1;
	}
	if (*s != '\0' && all_digits_and_dots(s)) {
		*kind = CP_ADDR_V4;
		return inet_pton(AF_INET, s, buf) == 1 ? 0 : -1;
	}
	*kind = CP_ADDR_NAME;
	return cp_hostname(s);
}

/*
 * "host", "host:port", "v4", "v4:port", "v6", "[v6]", "[v6]:port".  On success out->host is
 * allocated (without brackets) and out->port is the port given or default_port; on failure
 * *why says what is wrong and what was expected, and out is untouched.
 */
int
cp_addr(const char *s, uint16_t default_port, struct kw_addr *out, int *has_port,
    enum cp_addr_kind *kind, const char **why)
{
	unsigned char buf[sizeof(struct in6_addr)];
	const char *colon, *portstr = NULL;
	char *host;
	uint64_t port = default_port;
	size_t hlen;

	*has_port = 0;
	if (*s == '\0') {
		*why = "empty address, expected a host name or an IP address";
		return -1;
	}
	if (*s == '[') {
		const char *end = strchr(s, ']');

		if (end == NULL) {
			*why = "missing \"]\" after the IPv6 address, expected [v6] or [v6]:port";
			return -1;
		}
		if (end[1] != '\0' && end[1] != ':') {
			*why = "unexpected text after \"]\", expected [v6] or [v6]:port";
			return -1;
		}
		if (end[1] == ':')
			portstr = end + 2;
		hlen = (size_t)(end - s - 1);
		host = xmalloc(hlen + 1);
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		*kind = CP_ADDR_V6;
		if (inet_pton(AF_INET6, host, buf) != 1) {
			free(host);
			*why = "not an IPv6 address inside the brackets";
			return -1;
		}
	} else if ((colon = strchr(s, ':')) != NULL && strchr(colon + 1, ':') != NULL) {
		/* two colons or more: a bare IPv6 address, which cannot carry a port */
		*kind = CP_ADDR_V6;
		if (inet_pton(AF_INET6, s, buf) != 1) {
			*why = "not an IPv6 address, expected a bare IPv6 address or [v6]:port";
			return -1;
		}
		host = xstrdup(s);
	} else {
		hlen = colon != NULL ? (size_t)(colon - s) : strlen(s);
		if (colon != NULL)
			portstr = colon + 1;
		host = xmalloc(hlen + 1);
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		if (cp_host(host, kind) == -1) {
			free(host);
			*why = *kind == CP_ADDR_V4 ? "not an IPv4 address, expected four numbers "
			    "from 0 to 255 separated by dots" :
			    "not a host name, expected letters, digits and \"-\" in labels of 1 to "
			    "63 characters separated by dots (RFC 1123), or an IP address";
			return -1;
		}
	}
	if (portstr != NULL) {
		if (cp_uint(portstr, 65535, &port) == -1 || port == 0) {
			free(host);
			*why = "bad port, expected a number from 1 to 65535";
			return -1;
		}
		*has_port = 1;
	}
	out->host = host;
	out->port = (uint16_t)port;
	return 0;
}

int
config_parse_addr(const char *s, uint16_t default_port, struct kw_addr *out, const char **why)
{
	enum cp_addr_kind kind;
	int has_port;
	const char *dummy;

	if (why == NULL)
		why = &dummy;
	if (s == NULL) {
		*why = "empty address, expected a host name or an IP address";
		return -1;
	}
	return cp_addr(s, default_port, out, &has_port, &kind, why);
}

/*
 * The optimal string alignment distance (Levenshtein with transpositions), ignoring ASCII
 * case: "intervall" and "Interval" are 1 away from "interval", "tsl" 1 from "tls".
 */
size_t
cp_distance(const char *a, const char *b)
{
	enum { MAXW = 64 };
	size_t la = strlen(a), lb = strlen(b), d[MAXW + 1][MAXW + 1], i, j;

	if (la > MAXW || lb > MAXW)
		return SIZE_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			size_t cost = lower(a[i - 1]) != lower(b[j - 1]), v = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
			    lower(a[i - 2]) == lower(b[j - 1]) && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/*
 * The candidate nearest to word, when it is near enough to be what was meant: at most 2
 * edits, and no more than half the length of the longer word (so "dns" does not suggest
 * "spn").  NULL when nothing is close.
 */
const char *
cp_suggest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t bestd = SIZE_MAX;

	for (size_t i = 0; i < n; i++) {
		size_t d = cp_distance(word, cands[i]), l1 = strlen(word), l2 = strlen(cands[i]);

		if (d <= 2 && 2 * d <= (l1 > l2 ? l1 : l2) && d < bestd) {
			best = cands[i];
			bestd = d;
		}
	}
	return best;
}
