/* SPDX-License-Identifier: MIT */
/*
 * gpuva: the command-line face of libgpuva.
 *
 *   gpuva replay [--ops-list] [--check] [--stats] [FILE|-]
 *   gpuva bench SCENARIO [--n N] [--seed S] [--ops-list] [--warm K] [--check]
 *   gpuva bench heap-churn|heap-frag [--n N] [--ops M] [--list-ops L] [--seed S] [--reps R]
 *   gpuva heap-map [FILE|-]
 *
 * `replay` prints exactly what shared/docs/trace-format.md specifies; other
 * tools diff against it, so its default output never changes. `bench` runs
 * the scenarios of shared/docs/bench.md and prints a `key value` summary.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools.h"

static void
usage(FILE *f)
{
	fputs("usage: gpuva replay [--ops-list] [--check] [--stats] [FILE|-]\n"
	      "       gpuva bench SCENARIO [--n N] [--seed S] [--ops-list] [--warm K] [--check]\n"
	      "       gpuva bench heap-churn|heap-frag [--n N] [--ops M] [--list-ops L] [--seed S] [--reps R]\n"
	      "       gpuva heap-map [FILE|-]\n"
	      "\n"
	      "replay: run a bind trace (shared/docs/trace-format.md), print the\n"
	      "        generated ops and every dump.\n"
	      "  --ops-list  plan each request into an op list, then apply it\n"
	      "              (default: step callbacks); the output is the same\n"
	      "  --check     check every invariant after each request\n"
	      "  --stats     print counters and ops_hash to stderr at the end\n"
	      "bench:  scenarios random, sparse-seq, big-remap, populate\n"
	      "        heap-churn, heap-frag: the VA heap against a first-fit hole\n"
	      "        list (util_vma_heap's way), ns/op of both and the ratio;\n"
	      "        without --n, at 100000 and at 100 live allocations\n"
	      "heap-map: run an allocation script on a heap and print the map:\n"
	      "        heap START RANGE | alloc NAME SIZE [align=A] [high] [nospan=K]\n"
	      "        [window=ADDR,RANGE] | fixed NAME ADDR SIZE | reserve ADDR SIZE |\n"
	      "        unreserve ADDR SIZE | free NAME | free ADDR SIZE | map\n", f);
}

static int
cmd_replay(int argc, char **argv)
{
	struct player p = { .out = stdout };
	struct trace_buf b = { 0 };
	const char *path = "-";
	bool stats = false;
	int ret = 0;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--ops-list"))
			p.list_mode = true;
		else if (!strcmp(argv[i], "--check"))
			p.check = true;
		else if (!strcmp(argv[i], "--stats"))
			stats = true;
		else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "gpuva replay: unknown option %s\n", argv[i]);
			return 2;
		} else {
			path = argv[i];
		}
	}
	if (trace_read(path, &b)) {
		trace_buf_fini(&b);
		return 2;
	}
	for (size_t i = 0; i < b.n && !ret; i++)
		ret = player_run(&p, &b.r[i]);
	fflush(stdout);
	if (stats)
		fprintf(stderr, "requests %" PRIu64 "\nops %" PRIu64
			"\nlive_vas %zu\nerrors %" PRIu64 "\nops_hash 0x%016" PRIx64 "\n",
			p.st.requests, p.st.ops, p.vm ? gpuva_vm_count(p.vm) : 0,
			p.st.errors, player_hash(&p));
	player_fini(&p);
	trace_buf_fini(&b);
	return ret ? 1 : 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	/* `gpuva COMMAND --help` (or -h) anywhere: the usage, and success */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") ||
		    (i == 1 && !strcmp(argv[i], "help"))) {
			usage(stdout);
			return 0;
		}
	}
	if (!strcmp(argv[1], "replay"))
		return cmd_replay(argc - 2, argv + 2);
	if (!strcmp(argv[1], "bench") && argc > 2 && bench_heap_handles(argv[2]))
		return cmd_bench_heap(argc - 2, argv + 2);
	if (!strcmp(argv[1], "bench"))
		return cmd_bench(argc - 2, argv + 2);
	if (!strcmp(argv[1], "heap-map"))
		return cmd_heap_map(argc - 2, argv + 2);
	fprintf(stderr, "gpuva: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
