/*
 * libFuzzer target for the configuration loader: the input is a krbwatch.yml.  Besides not
 * crashing, leaking or hanging, every message must keep the promise of config.h: one line that
 * starts with the file's name (FILE:LINE:COL: or FILE: ...), and a loaded configuration comes
 * with no message at all.  Seeds: tests/fuzz/config/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../conf/config.h"

#define NAME "fuzz/krbwatch.yml"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kw_errors errs = { 0 };
	struct kw_config *conf;

	conf = config_load_buffer(NAME, data, size, &errs);
	if ((conf == NULL) == (errs.n == 0))
		abort();
	for (size_t i = 0; i < errs.n; i++)
		if (strncmp(errs.msg[i], NAME ":", sizeof NAME) != 0 ||
		    strchr(errs.msg[i], '\n') != NULL)
			abort();
	config_free(conf);
	errors_clear(&errs);
	return 0;
}
