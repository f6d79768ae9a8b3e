/* SPDX-License-Identifier: MIT */
/* The gpuva tool's subcommands. */
#ifndef GPUVA_TOOLS_H
#define GPUVA_TOOLS_H

#include <stdint.h>
#include <time.h>

#include "backend_opts.h"
#include "player.h"
#include "trace.h"

/* Monotonic nanoseconds, for the benches. */
static inline uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* a / b, 0 when b is 0. */
static inline double
per(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

int cmd_bench(int argc, char **argv);

/*
 * replay and map: parse their options (map: --svg FILE), read the trace,
 * open the backend. 0, or an exit status after printing why.
 */
int replay_setup(const char *cmd, int argc, char **argv, struct player *p,
		 struct trace_buf *b, struct backend_opts *bo,
		 struct gpuva_drm_device **dev, const char **svg);

/* map.c: gpuva map */
int cmd_map(int argc, char **argv);

/* bench_heap.c: gpuva bench heap-churn|heap-frag; heap_map.c: gpuva heap-map */
bool bench_heap_handles(const char *scenario);
int cmd_bench_heap(int argc, char **argv);
int cmd_heap_map(int argc, char **argv);

#endif
