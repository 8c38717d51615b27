/*
 * libFuzzer target for the PostgreSQL login's classifier of libpq's words (probes/login_pg.c,
 * included to reach its static functions): pg_message shortens what libpq and the server said
 * into a detail, pg_classify maps it to a reason.  A hostile server chooses much of that text
 * (its ErrorResponse fields end up in PQerrorMessage).  Input: the text, as bytes.
 * Seeds: tests/fuzz/pg_classify/.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../probes/login_pg.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *msg = xmalloc(size + 1), out[256], tiny[2];

	memcpy(msg, data, size);
	msg[size] = '\0';	/* libpq's messages are C strings: a NUL ends them there too */
	(void)pg_classify(msg);
	pg_message(msg, out, sizeof out);
	pg_message(msg, tiny, sizeof tiny);
	(void)reason_name(pg_classify(out));
	free(msg);
	return 0;
}
