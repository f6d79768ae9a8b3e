/* SPDX-License-Identifier: MIT */
/* The gpuva tool's subcommands. */
#ifndef GPUVA_TOOLS_H
#define GPUVA_TOOLS_H

#include "player.h"
#include "trace.h"

int cmd_bench(int argc, char **argv);

#endif
