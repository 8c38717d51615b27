/* Unit tests of the JSON strings of the webhook bodies: escapes, UTF-8 kept, bad bytes replaced. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "../lib/json.h"

static int failed;

static void
check_str(const char *in, const char *want, const char *what)
{
	struct evbuffer *b = evbuffer_new();
	size_t len;
	char *got;

	json_str(b, in);
	len = evbuffer_get_length(b);
	got = calloc(1, len + 1);
	evbuffer_remove(b, got, len);
	printf("%s - %s\n", strcmp(got, want) == 0 ? "ok" : "not ok", what);
	if (strcmp(got, want) != 0) {
		printf("#   got:  %s\n#   want: %s\n", got, want);
		failed = 1;
	}
	free(got);
	evbuffer_free(b);
}

int
main(void)
{
	struct evbuffer *b;
	char got[64] = "";

	check_str("", "\"\"", "the empty string");
	check_str("us-east-1 aurora", "\"us-east-1 aurora\"", "plain text is kept");
	check_str("say \"no\" \\ now", "\"say \\\"no\\\" \\\\ now\"", "quote and backslash");
	check_str("a\nb\rc\td", "\"a\\nb\\rc\\td\"", "newline, return, tab");
	check_str("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"", "other control characters");
	check_str("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91\"",
	    "2, 3 and 4 byte UTF-8 is kept");
	check_str("a\xff" "b", "\"a\\ufffdb\"", "a byte that is never UTF-8");
	check_str("\xc0\xaf", "\"\\ufffd\\ufffd\"", "an overlong 2-byte form");
	check_str("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"", "an overlong 3-byte form");
	check_str("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"", "a UTF-16 surrogate");
	check_str("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", "beyond U+10FFFF");
	check_str("end\xe2\x82", "\"end\\ufffd\\ufffd\"", "a character cut at the end");
	check_str("\xc3", "\"\\ufffd\"", "a lead byte alone");

	b = evbuffer_new();
	json_kv(b, 1, "a", "1");
	json_kv(b, 0, "b", "\"");
	evbuffer_remove(b, got, sizeof got - 1);
	printf("%s - json_kv separates pairs with commas\n",
	    strcmp(got, "\"a\":\"1\",\"b\":\"\\\"\"") == 0 ? "ok" : "not ok");
	failed |= strcmp(got, "\"a\":\"1\",\"b\":\"\\\"\"") != 0;
	evbuffer_free(b);
	return failed;
}
