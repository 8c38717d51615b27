/*
 * libFuzzer target for the PostgreSQL login's reading of a server's ErrorResponse
 * (probes/pg_message.c): pg_error_response walks the fields a hostile server writes (code
 * byte, C string, ...), keeps the SQLSTATE and a bounded, printable message for the detail,
 * and maps the SQLSTATE to a reason.  Input: the message body, as bytes.
 * Seeds: tests/fuzz/pg_classify/ (tests/fuzz/make_seeds.py).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/xmalloc.h"
#include "../../probes/pg_message.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *body = xmalloc(size + 1);
	char out[256], tiny[2];

	/* exactly size bytes: an unterminated last field must not be read past */
	memcpy(body, data, size);
	(void)reason_name(pg_error_response(body, size, "", out, sizeof out));
	(void)pg_error_response(body, size, "SELECT current_user failed: ", tiny, sizeof tiny);
	free(body);
	return 0;
}
