/* SPDX-License-Identifier: MIT */
/*
 * What the bind tests share: a recording backend, allocation callbacks
 * that count and fail on demand, and the state of a VM rendered as text.
 *
 * - The recording backend ("rec") is a struct gpuva_backend_ops of the
 *   tests' own. Its bind() copies the job it is given (requests, the ops
 *   rendered in `gpuva replay` text, the net effect, the commit flags) and
 *   returns what the test told it: success, a failure applying nothing,
 *   a partial success of k requests or k net-effect entries, or -EPIPE.
 *   Its check() refuses requests whose driver flags hold REC_REFUSE.
 * - The allocation callbacks (struct gpuva_vm_alloc) hand out mappings of
 *   exactly struct gpuva_bound's size behind a magic word, count every
 *   call, and make the n-th one fail.
 * - A VM's state as text: its info, every mapping (BO ids as in traces),
 *   every BO's vm_bo with its link order, the allocator's live counts;
 *   with pointers and memory for "exactly as before", without them for
 *   "the same state as another VM".
 *
 * BOs are the unit fixture's struct fx_bo (an id next to struct gpuva_bo),
 * so that ops are rendered with its fx_op_text(). Include after <cmocka.h>.
 */
#ifndef GPUVA_TESTS_BIND_FIXTURE_H
#define GPUVA_TESTS_BIND_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gpuva/gpuva.h>
#include <gpuva/backend.h>
#include <gpuva/sim.h>

#include "fixture.h"

/* ---- allocation callbacks ---------------------------------------------- */

struct bfx_alloc {
	unsigned long calls;	/* va_alloc and vm_bo_alloc calls so far */
	unsigned long fail_at;	/* the call with this number fails; 0: none */
	unsigned long va_frees;	/* va_free calls */
	long live_vas, live_vm_bos;
	const struct gpuva *last_freed; /* the last mapping given to va_free */
};

/* Route @d's allocations through @a. */
void bfx_alloc_hook(struct gpuva_vm_desc *d, struct bfx_alloc *a);

/* Make the @n-th allocation from now fail (1: the next one). */
void bfx_alloc_fail_in(struct bfx_alloc *a, unsigned long n);

/* ---- the recording backend ---------------------------------------------- */

/* Driver flags the recording backend's check() refuses. */
#define REC_REFUSE (1u << 31)

struct rec {
	struct gpuva_backend base;
	uint64_t page_size;		/* vm_init's answer for 0 */
	unsigned binds;			/* bind() calls */
	unsigned vms;			/* VMs set up and not torn down */
	size_t checked;			/* check() calls */
	size_t check_index;		/* the index the last check() got */

	/* the next bind() call's answer (then success again) */
	int ret;
	struct gpuva_bind_result res;

	/* the last job, copied */
	uint64_t seq;
	struct gpuva_bind_op *reqs, *net;
	size_t nreqs, nnet, nops;
	char *ops;			/* one op per line, trace syntax */
	uint32_t commit_flags;
};

/*
 * Set up a recording backend whose VMs get pages of @page_size; with
 * @partial_net it may report GPUVA_BIND_NET partial success.
 */
void rec_init(struct rec *r, uint64_t page_size, bool partial_net);
/* Free what it recorded; its VMs must be gone. */
void rec_fini(struct rec *r);
/* The next bind() returns @err, having applied what @unit/@applied say. */
void rec_answer(struct rec *r, int err, uint32_t unit, size_t applied,
		uint64_t applied_bytes);

/* ---- text ------------------------------------------------------------------ */

/* A growing string; zero-initialise. */
struct bfx_buf {
	char *p;
	size_t len, cap;
};

void bfx_printf(struct bfx_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The string ("" if nothing was written); the caller frees it. */
char *bfx_take(struct bfx_buf *b);

enum bfx_how {
	/* the same objects and memory: pointers, info.bytes, link order */
	BFX_EXACT = 1u << 0,
	/* driver flags of every mapping (a VM with a backend only) */
	BFX_DRIVER_FLAGS = 1u << 1,
};

/*
 * Everything observable of @vm: gpuva_vm_get_info() field by field, the
 * mappings in address order, each BO of @bos[1..nbos) with a vm_bo: its
 * count and mappings (link order with BFX_EXACT, else address order), and
 * @a's live counts if @a. Free the result.
 */
char *bfx_state(struct gpuva_vm *vm, const struct fx_bo *bos, unsigned nbos,
		const struct bfx_alloc *a, unsigned how);

/* Net-effect entries, one per line: "map 0x.. 0x.. <bo> 0x.. df=0x..". */
char *bfx_net_text(const struct gpuva_bind_op *net, size_t n);

/*
 * The dump as `gpuva replay` prints it ("va 0x.. 0x.. <bo> 0x.." lines,
 * address order, no "end"), as the unit fixture's fx_dump(). Free it.
 */
char *bfx_dump(struct gpuva_vm *vm);

/* Lines joined with newlines: BFX_LINES("a", "b"). Free the result. */
char *bfx_lines(const char *first, ...);
#define BFX_LINES(...) bfx_lines(__VA_ARGS__, (const char *)NULL)

/* Fail at @file:@line if @want and @got differ, printing both. */
void bfx_same_(const char *what, const char *want, const char *got,
	       const char *file, int line);
#define bfx_same(what, want, got) \
	bfx_same_((what), (want), (got), __FILE__, __LINE__)

/* Fail unless @text contains @word. */
void bfx_mentions_(const char *text, const char *word, const char *file,
		   int line);
#define bfx_mentions(text, word) \
	bfx_mentions_((text), (word), __FILE__, __LINE__)

#endif /* GPUVA_TESTS_BIND_FIXTURE_H */
