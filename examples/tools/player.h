/* SPDX-License-Identifier: MIT */
/*
 * The player runs trace requests on libgpuva the way a driver would: it
 * generates the ops of each request, prints them in the trace format (if
 * asked), folds them into ops_hash, and applies them to the VM. `replay`,
 * `bench` and the fuzzer share it, so they all exercise one code path.
 */
#ifndef GPUVA_TOOLS_PLAYER_H
#define GPUVA_TOOLS_PLAYER_H

#include <stdbool.h>
#include <stdio.h>

#include <gpuva/gpuva.h>

#include "trace.h"

struct player_bo {
	struct gpuva_bo base;
	uint32_t id;
};

struct player_stats {
	uint64_t requests, ops, maps, remaps, unmaps, keeps, errors;
};

struct player {
	struct gpuva_vm *vm;
	struct player_bo **bos;		/* by id, created on first use */
	uint32_t nbos;
	bool list_mode;			/* op lists instead of step callbacks */
	bool check;			/* gpuva_vm_check() after every request */
	FILE *out;			/* print ops here; NULL: don't */
	struct gpuva_ops ops;		/* reused by every request (list mode) */
	struct player_stats st;
	uint64_t hash;			/* running ops_hash, before finalising */
	/*
	 * drm_gpuvm quirks on degenerate vm lines, reproduced by the player
	 * (the library itself refuses such VMs): a VM whose end wraps the
	 * 64-bit space (or of range 0) rejects every request; a reserved
	 * range whose end wraps is checked with the wrapped end.
	 */
	bool vm_degenerate;
	bool rsv_wraps;
	uint64_t rsv_start, rsv_end;	/* rsv_end wrapped, as the kernel has it */
	uint64_t peak_live;
	size_t peak_bytes;
};

/*
 * Run one request. Returns 0 (also for a request the library rejected: that
 * is printed and counted), or a negative errno when the player itself cannot
 * go on (out of memory, a failed check); the reason is on stderr.
 */
int player_run(struct player *p, const struct trace_req *r);

/* Print the VM as `dump` does. */
void player_dump(struct player *p);

/* The finished ops_hash. */
uint64_t player_hash(const struct player *p);

void player_fini(struct player *p);

#endif
