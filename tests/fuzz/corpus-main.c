/* SPDX-License-Identifier: MIT */
/*
 * A main() for fuzz-replay.c without libFuzzer: runs each file named on the
 * command line, or each file in a named directory, through
 * LLVMFuzzerTestOneInput() once. The 'fuzz' suite uses it to replay the
 * seed corpus in every build, with gcc and under ASan, so the fuzzer's
 * checks are regression tests even where clang's libFuzzer is missing.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f) {
		perror(path);
		return 1;
	}
	for (;;) {
		if (n == cap) {
			uint8_t *b = realloc(buf, cap = cap ? 2 * cap : 4096);

			if (!b) {
				fclose(f);
				free(buf);
				return 1;
			}
			buf = b;
		}
		size_t got = fread(buf + n, 1, cap - n, f);

		if (!got)
			break;
		n += got;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	printf("ok %s (%zu bytes)\n", path, n);
	return 0;
}

int
main(int argc, char **argv)
{
	int ret = 0, files = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *e;

		if (stat(argv[i], &st)) {
			perror(argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			ret |= run_file(argv[i]);
			files++;
			continue;
		}
		if (!(d = opendir(argv[i]))) {
			perror(argv[i]);
			return 1;
		}
		while ((e = readdir(d))) {
			char path[4096];

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			ret |= run_file(path);
			files++;
		}
		closedir(d);
	}
	if (!files) {
		fprintf(stderr, "no input\n");
		return 1;
	}
	return ret;
}
