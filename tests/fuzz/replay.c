/*
 * Replays inputs through a fuzz target without libFuzzer: each argument is a file, or a
 * directory whose files are all replayed.  Built with the ordinary compiler, plain and under
 * ASan+UBSan, so that `make check` keeps every crash the fuzzers found fixed
 * (tests/t_fuzz_regress.sh).  Prints how many inputs ran; a crash ends the process.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (fp == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	do {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((buf = realloc(buf, cap)) == NULL)
				abort();
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
	} while (n > 0);
	fclose(fp);
	/* libFuzzer hands over an exact-size copy: so do we, so that ASan sees overreads */
	uint8_t *exact = malloc(len ? len : 1);
	if (exact == NULL)
		abort();
	memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(int argc, char **argv)
{
	size_t ran = 0;
	int bad = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		struct dirent *de;
		char **names = NULL;
		size_t nnames = 0;
		DIR *dir;

		if (stat(argv[i], &st) == -1 || !S_ISDIR(st.st_mode)) {
			bad |= replay_file(argv[i]) == -1;
			ran++;
			continue;
		}
		if ((dir = opendir(argv[i])) == NULL) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			bad = 1;
			continue;
		}
		while ((de = readdir(dir)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if ((names = realloc(names, (nnames + 1) * sizeof *names)) == NULL)
				abort();
			if (asprintf(&names[nnames++], "%s/%s", argv[i], de->d_name) == -1)
				abort();
		}
		closedir(dir);
		qsort(names, nnames, sizeof *names, name_cmp);
		for (size_t k = 0; k < nnames; k++) {
			bad |= replay_file(names[k]) == -1;
			ran++;
			free(names[k]);
		}
		free(names);
	}
	printf("replayed %zu inputs\n", ran);
	return bad;
}
