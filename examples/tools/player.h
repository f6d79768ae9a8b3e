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

/* A trace BO off any device (the sim backend and plain replay). */
struct player_bo {
	struct gpuva_bo base;
	uint32_t id;
};

struct player_stats {
	uint64_t requests, ops, maps, remaps, unmaps, keeps, errors;
	uint64_t commits, commit_errors, net_ops;
};

struct player {
	struct gpuva_vm *vm;
	/*
	 * by id, created on first use: player_bos, or BOs of a kernel
	 * backend (bo_sizes set), whose handles map back to ids in
	 * handle_ids
	 */
	struct gpuva_bo **bos;
	uint32_t nbos;
	/*
	 * A backend: requests become transactions (`begin` ... `commit`, or
	 * one per request), committed to it. NULL: the plain mirror.
	 */
	struct gpuva_backend *be;
	struct gpuva_bind *txn;		/* open since a `begin` */
	uint64_t *bo_sizes;		/* kernel backends: per id, planned */
	uint32_t nbo_sizes;
	uint32_t *handle_ids;		/* kernel backends: handle -> id */
	uint32_t nhandle_ids;
	int bo_error;			/* why the last BO could not be made */
	bool list_mode;			/* op lists instead of step callbacks */
	bool check;			/* gpuva_vm_check() after every request,
					   and the sim's page table */
	bool stats;			/* counters on stderr at the end */
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

/*
 * Kernel backends: size every BO of the trace for its largest use, before
 * the first request (BOs are created on the device on first use). -EINVAL
 * with a message on stderr when a use overflows 64 bits.
 */
int player_plan_bos(struct player *p, const struct trace_buf *b);

/* End of the trace: abort a transaction left open (warns on stderr). */
void player_finish(struct player *p);

/* Print the VM as `dump` does. */
void player_dump(struct player *p);

/* Counters and ops_hash, `key value` lines (replay --stats). */
void player_print_stats(const struct player *p, FILE *f);

/* The finished ops_hash. */
uint64_t player_hash(const struct player *p);

void player_fini(struct player *p);

#endif
