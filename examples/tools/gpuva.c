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

/* Does the trace use transactions (which need a backend)? */
static bool
has_txn_lines(const struct trace_buf *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->r[i].kind >= TRACE_BEGIN)
			return true;
	return false;
}

/*
 * Parse the options shared by replay and map, read the trace and open the
 * backend. 0, or the exit status after printing why.
 */
int
replay_setup(const char *cmd, int argc, char **argv, struct player *p,
	     struct trace_buf *b, struct backend_opts *bo,
	     struct gpuva_drm_device **dev, const char **svg)
{
	const char *path = "-";

	for (int i = 0; i < argc; i++) {
		int n = backend_opt_parse(bo, argc, argv, i);

		if (n < 0)
			return 2;
		if (n) {
			i += n - 1;
		} else if (!strcmp(argv[i], "--ops-list")) {
			p->list_mode = true;
		} else if (!strcmp(argv[i], "--check")) {
			p->check = true;
		} else if (svg && !strcmp(argv[i], "--svg") && i + 1 < argc) {
			*svg = argv[++i];
		} else if (!strcmp(argv[i], "--stats") && !svg) {
			p->stats = true;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "gpuva %s: unknown option %s\n", cmd, argv[i]);
			return 2;
		} else {
			path = argv[i];
		}
	}
	if (trace_read(path, b))
		return 2;
	if (backend_open(bo, &p->be, dev))
		return 2;
	if (!p->be && has_txn_lines(b)) {
		fprintf(stderr, "gpuva %s: %s: begin, commit and abort need a "
			"backend (try --backend sim)\n", cmd, path);
		return 2;
	}
	if (*dev && player_plan_bos(p, b))
		return 2;
	return 0;
}

static int
cmd_replay(int argc, char **argv)
{
	struct player p = { .out = stdout };
	struct trace_buf b = { 0 };
	struct backend_opts bo = { 0 };
	struct gpuva_drm_device *dev = NULL;
	int ret;

	ret = replay_setup("replay", argc, argv, &p, &b, &bo, &dev, NULL);
	for (size_t i = 0; i < b.n && !ret; i++)
		ret = player_run(&p, &b.r[i]) ? 1 : 0;
	if (!ret)
		player_finish(&p);
	fflush(stdout);
	if (p.stats && !ret)
		player_print_stats(&p, stderr);
	player_fini(&p);
	backend_close(p.be, dev);
	trace_buf_fini(&b);
	return ret;
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
