/* SPDX-License-Identifier: MIT */
/*
 * gpuva: the command-line face of libgpuva.
 *
 *   gpuva replay [--ops-list] [--check] [--stats] [BACKEND OPTIONS] [FILE|-]
 *   gpuva map [--svg FILE] [--ops-list] [--check] [BACKEND OPTIONS] [FILE|-]
 *   gpuva info [RENDER_NODE]
 *   gpuva bench SCENARIO [--n N] [--seed S] [--ops-list] [--warm K] [--check]
 *   gpuva bench heap-churn|heap-frag [--n N] [--ops M] [--list-ops L] [--seed S] [--reps R]
 *   gpuva heap-map [FILE|-]
 *
 * `replay` prints exactly what docs/trace-format.md specifies; other tools
 * diff against it, so its default output never changes. `map` replays a
 * trace and draws the final layout instead (map.c). `bench` runs the
 * benchmark scenarios (bench.c) and prints a `key value` summary.
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
	fprintf(f, "usage: gpuva replay [--ops-list] [--check] [--stats] [BACKEND OPTIONS] [FILE|-]\n"
	      "       gpuva map [--svg FILE] [--ops-list] [--check] [BACKEND OPTIONS] [FILE|-]\n"
	      "       gpuva info [RENDER_NODE]\n"
	      "       gpuva bench SCENARIO [--n N] [--seed S] [--ops-list] [--warm K] [--check]\n"
	      "       gpuva bench heap-churn|heap-frag [--n N] [--ops M] [--list-ops L] [--seed S] [--reps R]\n"
	      "       gpuva heap-map [FILE|-]\n"
	      "\n"
	      "replay: run a bind trace (docs/trace-format.md), print the\n"
	      "        generated ops and every dump.\n"
	      "  --ops-list  plan each request into an op list, then apply it\n"
	      "              (default: step callbacks); the output is the same\n"
	      "  --check     check every invariant after each request; on a\n"
	      "              backend also that its state equals the mirror\n"
	      "              after every commit (sim: page by page)\n"
	      "  --stats     print counters and ops_hash to stderr at the end\n"
	      "  transactions: lines begin, commit, abort (need a backend)\n"
	      "map:    replay a trace without printing it, then draw the final\n"
	      "        layout of the mapped part of the VM: a letter per BO,\n"
	      "        - NULL, . hole, # reserved, and a legend\n"
	      "  --svg FILE  also write the picture to FILE as SVG\n"
	      "backend options (replay, map):\n%s"
	      "info:   list the render nodes and what libgpuva can do with each\n"
	      "bench:  scenarios random, sparse-seq, big-remap, populate\n"
	      "        heap-churn, heap-frag: the VA heap against two first-fit hole\n"
	      "        lists (list: util_vma_heap's way, vma: its own algorithm),\n"
	      "        ns/op of each and the ratios; without --n, at 100000 and\n"
	      "        at 100 live allocations\n"
	      "heap-map: run an allocation script on a heap and print the map:\n"
	      "        heap START RANGE | alloc NAME SIZE [align=A] [high] [nospan=K]\n"
	      "        [window=ADDR,RANGE] | fixed NAME ADDR SIZE | reserve ADDR SIZE |\n"
	      "        unreserve ADDR SIZE | free NAME | free ADDR SIZE | map\n",
	      backend_opts_usage);
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
		} else if (svg && !strcmp(argv[i], "--svg")) {
			if (i + 1 == argc) {
				fprintf(stderr, "gpuva %s: --svg needs a file\n", cmd);
				return 2;
			}
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
	struct gpuva_backend *be;
	int ret;

	ret = replay_setup("replay", argc, argv, &p, &b, &bo, &dev, NULL);
	for (size_t i = 0; i < b.n && !ret; i++)
		ret = player_run(&p, &b.r[i]) ? 1 : 0;
	if (!ret)
		player_finish(&p);
	fflush(stdout);
	if (p.stats && !ret)
		player_print_stats(&p, stderr);
	be = p.be;	/* the player's VM goes first, then its backend */
	player_fini(&p);
	backend_close(be, dev);
	trace_buf_fini(&b);
	return ret;
}

/* `gpuva info`: every render node, and what libgpuva can do with it. */
static int
cmd_info(int argc, char **argv)
{
	struct gpuva_drm_node *nodes, one;
	size_t n;
	int ret;

	if (argc > 1 || (argc == 1 && argv[0][0] == '-')) {
		fprintf(stderr, "usage: gpuva info [RENDER_NODE]\n");
		return 2;
	}
	if (argc == 1) {
		ret = gpuva_drm_probe(argv[0], &one);
		nodes = &one;
		n = 1;
		if (ret && !one.why[0])
			snprintf(one.why, sizeof(one.why), "%s", strerror(-ret));
	} else if ((ret = gpuva_drm_list(&nodes, &n))) {
		fprintf(stderr, "gpuva info: %s\n", strerror(-ret));
		return 1;
	}
	printf("backends built: ");
	for (const char *const *b = gpuva_backend_names(); *b; b++)
		printf("%s%s", *b, b[1] ? ", " : "\n");
	if (!n)
		printf("no render nodes\n");
	for (size_t i = 0; i < n; i++) {
		const struct gpuva_drm_node *d = &nodes[i];

		printf("%s\n", d->path);
		if (d->driver[0])
			printf("  driver     %s %d.%d.%d\n", d->driver,
			       d->version[0], d->version[1], d->version[2]);
		if (!d->vm_bind) {
			printf("  vm_bind    no: %s\n", d->why);
			continue;
		}
		printf("  vm_bind    yes\n"
		       "  va         0x%" PRIx64 " +0x%" PRIx64 "\n"
		       "  page_size  0x%" PRIx64 "\n"
		       "  null       %s\n", d->va_start, d->va_range,
		       d->page_size, d->null_mode);
	}
	if (nodes != &one)
		gpuva_drm_list_free(nodes);
	return 0;
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
	if (!strcmp(argv[1], "map"))
		return cmd_map(argc - 2, argv + 2);
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc - 2, argv + 2);
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
