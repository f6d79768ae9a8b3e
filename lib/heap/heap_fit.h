/* SPDX-License-Identifier: MIT */
/*
 * The search for a fitting hole, shared by the tree (heap.c) and the flat
 * mode (flat.c): one request, and the rule that places it in one hole, so
 * that both modes place every request at the same address.
 */
#ifndef GPUVA_LIB_HEAP_FIT_H
#define GPUVA_LIB_HEAP_FIT_H

#include "heap_internal.h"

/*
 * A root-to-leaf descent: node[lv] and the child idx[lv] taken there for
 * each inner level, the leaf, and hil[lv], the last byte of the node at
 * level lv (hil[depth]: the leaf's). Changes redo the largest-hole values
 * bottom-up along it without a second descent.
 */
struct heap_path {
	struct heap_inner *node[HEAP_MAX_DEPTH];
	uint8_t idx[HEAP_MAX_DEPTH];
	uint64_t hil[HEAP_MAX_DEPTH + 1];
	struct heap_leaf *leaf;
};

/* One allocation request, as the search of the tree or the flat mode sees it. */
struct fit {
	uint64_t size;
	uint64_t mask;		/* align - 1 */
	uint64_t lo, last;	/* window, inclusive, clipped to the heap */
	unsigned span;		/* no-span shift, 0: none */
	bool high;
	bool plain;		/* low, no span, no window: the list's own test */
	uint64_t need;		/* only holes at least this big are candidates */
	int budget;		/* near misses still allowed; < 0: no limit */
	uint64_t addr;		/* result */
	uint64_t s, e;		/* the hole it lies in, first and last byte */
	unsigned i;		/* that hole's tile in path.leaf; flat: its index */
	struct heap_path path;	/* to the hole; carve() wants it (the tree only) */
};

static inline bool
crosses(unsigned span, uint64_t x, uint64_t size)
{
	return span && (x >> span) != (last_of(x, size) >> span);
}

/* The lowest (highest) fitting position in hole [s, s + len), if any. */
static inline bool
fit_hole(const struct fit *f, uint64_t s, uint64_t len, uint64_t *out)
{
	uint64_t a = s > f->lo ? s : f->lo;
	uint64_t b = last_of(s, len) < f->last ? last_of(s, len) : f->last;
	uint64_t x;

	if (a > b || b - a < f->size - 1)
		return false;
	if (!f->high) {
		if (a > UINT64_MAX - f->mask)
			return false;
		x = (a + f->mask) & ~f->mask;
		if (x > b || b - x < f->size - 1)
			return false;
		if (crosses(f->span, x, f->size)) {
			/*
			 * Start at the boundary it crossed. Crossing needs
			 * align < 2^span, so the boundary is aligned too.
			 */
			x = (last_of(x, f->size) >> f->span) << f->span;
			if (x > b || b - x < f->size - 1)
				return false;
		}
	} else {
		x = (b - (f->size - 1)) & ~f->mask;
		if (x < a)
			return false;
		if (crosses(f->span, x, f->size)) {
			/* end just below the boundary; boundary >= 2^span >= size */
			uint64_t bound = (last_of(x, f->size) >> f->span) << f->span;

			x = (bound - f->size) & ~f->mask;
			if (x < a)
				return false;
		}
	}
	*out = x;
	return true;
}

/*
 * A near miss: a hole big enough that failed on alignment or the no-span
 * rule. The search gives up (-1) on the first one past the budget, so it
 * settles for the fallback only after more than GPUVA_HEAP_SEARCH_BUDGET.
 */
static inline bool
over_budget(struct fit *f)
{
	return f->budget >= 0 && f->budget-- == 0;
}

/* The first fit for @f among the holes; 1, 0 or -1 as the tree's search. */
int flat_find_fit(const struct gpuva_heap *heap, struct fit *f);

#endif /* GPUVA_LIB_HEAP_FIT_H */
