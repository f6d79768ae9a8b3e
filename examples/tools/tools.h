/* SPDX-License-Identifier: MIT */
/* The gpuva tool's subcommands. */
#ifndef GPUVA_TOOLS_H
#define GPUVA_TOOLS_H

#include "player.h"
#include "trace.h"

int cmd_bench(int argc, char **argv);

/* bench_heap.c: gpuva bench heap-churn|heap-frag; heap_map.c: gpuva heap-map */
bool bench_heap_handles(const char *scenario);
int cmd_bench_heap(int argc, char **argv);
int cmd_heap_map(int argc, char **argv);

#endif
