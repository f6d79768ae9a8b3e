/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the heap layer: every public function, every error, and
 * after every rejected call a check that the heap did not change.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpuva/gpuva.h"
#include "heap/heap_internal.h"

#define BASE	UINT64_C(0x100000)	/* 1 MiB */
#define RANGE	UINT64_C(0x10000000)	/* 256 MiB */
#define END	(BASE + RANGE)
#define PG	UINT64_C(0x1000)
/* what a refused call must leave in its *addr */
#define UNTOUCHED UINT64_C(0x5a5a5a5a5a5a5a5a)

struct fx {
	struct gpuva_heap *heap;
};

/*
 * The suite runs twice: once on heaps as created (small, so in the flat
 * mode) and once on heaps sent to the tree first, so that every test of
 * the API holds in both representations.
 */
static bool as_tree;

/* Keep @heap a tree from now on (white box): the tests of the tree's shapes. */
static void
fx_tree(struct gpuva_heap *heap)
{
	heap->flat_max = 0;
	if (heap_is_flat(heap))
		assert_int_equal(heap_to_tree(heap), 0);
	assert_false(heap_is_flat(heap));
}

/* gpuva_heap_create(), then the representation this run tests. */
static void
heap_new(uint64_t start, uint64_t range, struct gpuva_heap **out)
{
	assert_int_equal(gpuva_heap_create(start, range, out), 0);
	if (as_tree)
		fx_tree(*out);
}

/* Every range of the heap, for before/after comparisons. */
struct fx_saved {
	struct gpuva_heap_range r[64];
	size_t n;
	struct gpuva_heap_stats st;
};

static int
save_range(void *priv, const struct gpuva_heap_range *r)
{
	struct fx_saved *s = priv;

	assert_true(s->n < 64);
	s->r[s->n++] = *r;
	return 0;
}

static struct fx_saved
fx_save(struct gpuva_heap *heap)
{
	struct fx_saved s;

	memset(&s, 0, sizeof(s));
	gpuva_heap_for_each_range(heap, save_range, &s);
	gpuva_heap_get_stats(heap, &s.st);	/* bytes too: a refusal allocates nothing */
	return s;
}

static void
fx_assert_unchanged(struct gpuva_heap *heap, const struct fx_saved *before)
{
	struct fx_saved now = fx_save(heap);

	assert_int_equal(gpuva_heap_check(heap), 0);
	assert_int_equal(now.n, before->n);
	for (size_t i = 0; i < now.n; i++) {
		assert_int_equal(now.r[i].addr, before->r[i].addr);
		assert_int_equal(now.r[i].range, before->r[i].range);
		assert_int_equal(now.r[i].state, before->r[i].state);
	}
	assert_memory_equal(&now.st, &before->st, sizeof(now.st));
}

/* For heaps with too many ranges to save: check, counters and bytes. */
static struct fx_saved
fx_save_stats(struct gpuva_heap *heap)
{
	struct fx_saved s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(gpuva_heap_check(heap), 0);
	gpuva_heap_get_stats(heap, &s.st);
	return s;
}

static void
fx_assert_stats_unchanged(struct gpuva_heap *heap, const struct fx_saved *before)
{
	struct fx_saved now = fx_save_stats(heap);

	assert_memory_equal(&now.st, &before->st, sizeof(now.st));
}

static void
assert_reason(struct gpuva_heap *heap, const char *needle)
{
	const char *why = gpuva_heap_last_error(heap);

	if (!strstr(why, needle))
		fail_msg("reason \"%s\" lacks \"%s\"", why, needle);
}

static int
fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	heap_new(BASE, RANGE, &fx->heap);
	*state = fx;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(gpuva_heap_check(fx->heap), 0);
	gpuva_heap_destroy(fx->heap);
	free(fx);
	return 0;
}

static uint64_t
fx_alloc(struct fx *fx, uint64_t size, uint64_t align, uint32_t flags)
{
	uint64_t a = 0;
	int r = gpuva_heap_alloc(fx->heap, size, align, flags, &a);

	if (r)
		fail_msg("alloc 0x%" PRIx64 " align 0x%" PRIx64 ": %d %s", size,
			 align, r, gpuva_heap_last_error(fx->heap));
	assert_int_equal(gpuva_heap_check(fx->heap), 0);
	return a;
}

static size_t
fx_holes(struct fx *fx)
{
	struct gpuva_heap_stats st;

	gpuva_heap_get_stats(fx->heap, &st);
	return st.holes;
}

/* ---- lifecycle ---- */

static void
create_rejects_zero_range_overflow_and_null_out(void **state)
{
	/* any non-NULL value: *out must stay as it was on error */
	struct gpuva_heap *const untouched = (struct gpuva_heap *)&state;
	struct gpuva_heap *h = untouched;

	assert_int_equal(gpuva_heap_create(0, 0, &h), -EINVAL);
	assert_int_equal(gpuva_heap_create(UINT64_MAX, 2, &h), -EINVAL);
	assert_int_equal(gpuva_heap_create(0, 1, NULL), -EINVAL);
	assert_ptr_equal(h, untouched);
}

static void
create_makes_one_hole_over_the_whole_range(void **state)
{
	struct fx *fx = *state;
	struct gpuva_heap_stats st;

	gpuva_heap_get_stats(fx->heap, &st);
	assert_int_equal(st.start, BASE);
	assert_int_equal(st.range, RANGE);
	assert_int_equal(st.free_bytes, RANGE);
	assert_int_equal(st.largest_hole, RANGE);
	assert_int_equal(st.holes, 1);
	assert_int_equal(st.allocations, 0);
	assert_true(st.bytes > 0);
	assert_string_equal(gpuva_heap_last_error(fx->heap), "");
}

static void
destroy_accepts_null_and_a_heap_with_live_allocations(void **state)
{
	struct gpuva_heap *h;
	uint64_t a;

	gpuva_heap_destroy(NULL);
	heap_new(0, 1 << 20, &h);
	for (int i = 0; i < 600; i++)	/* many leaves */
		assert_int_equal(gpuva_heap_alloc(h, 0x100, 1, 0, &a), 0);
	assert_int_equal(gpuva_heap_reserve(h, 0xf0000, 0x100), 0);
	gpuva_heap_destroy(h);	/* ASan: no leak */
}

static void
a_heap_at_the_top_of_the_address_space_allocates_and_frees(void **state)
{
	struct gpuva_heap *h;
	uint64_t a;

	heap_new(UINT64_MAX - 0xfffff, 0x100000, &h);
	assert_int_equal(gpuva_heap_alloc(h, 0x1000, 0x1000, GPUVA_HEAP_HIGH, &a), 0);
	assert_int_equal(a, UINT64_MAX - 0xfff);
	assert_int_equal(gpuva_heap_alloc(h, 0x1000, 0x10000, 0, &a), 0);
	assert_int_equal(a, UINT64_MAX - 0xfffff);
	assert_int_equal(gpuva_heap_alloc(h, 0x100000, 1, 0, &a), -ENOSPC);
	assert_int_equal(gpuva_heap_alloc_fixed(h, UINT64_MAX, 1), -ENOSPC);
	assert_int_equal(gpuva_heap_alloc_fixed(h, UINT64_MAX, 2), -EINVAL);
	assert_int_equal(gpuva_heap_free(h, UINT64_MAX - 0xfff, 0x1000), 0);
	assert_int_equal(gpuva_heap_free(h, UINT64_MAX - 0xfffff, 0x1000), 0);
	assert_int_equal(gpuva_heap_check(h), 0);
	assert_true(gpuva_heap_is_free(h, UINT64_MAX - 0xfffff, 0x100000));
	gpuva_heap_destroy(h);

	/* the whole 64-bit space but one byte */
	heap_new(1, UINT64_MAX, &h);
	assert_int_equal(gpuva_heap_alloc(h, 1, 1, GPUVA_HEAP_HIGH, &a), 0);
	assert_int_equal(a, UINT64_MAX);
	assert_int_equal(gpuva_heap_check(h), 0);
	gpuva_heap_destroy(h);
}

/* ---- alloc: placement ---- */

static void
alloc_low_first_packs_from_the_start(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(fx_alloc(fx, 0x1000, PG, 0), BASE);
	assert_int_equal(fx_alloc(fx, 0x3000, PG, 0), BASE + 0x1000);
	assert_int_equal(fx_alloc(fx, 0x1000, PG, 0), BASE + 0x4000);
	assert_int_equal(fx_holes(fx), 1);
}

static void
alloc_high_first_packs_from_the_end(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(fx_alloc(fx, 0x1000, PG, GPUVA_HEAP_HIGH), END - 0x1000);
	assert_int_equal(fx_alloc(fx, 0x3000, PG, GPUVA_HEAP_HIGH), END - 0x4000);
	assert_int_equal(fx_alloc(fx, 0x1000, 0x10000, GPUVA_HEAP_HIGH),
			 END - 0x10000);
	assert_int_equal(fx_holes(fx), 2);
}

static void
alloc_rounds_the_start_up_to_the_alignment(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(fx_alloc(fx, 0x1000, PG, 0), BASE);
	assert_int_equal(fx_alloc(fx, 0x1000, 0x10000, 0), BASE + 0x10000);
	assert_int_equal(fx_alloc(fx, 0x1, 1, 0), BASE + 0x1000);
	assert_int_equal(fx_holes(fx), 2);
}

static void
alloc_takes_the_lowest_exact_fit_below_a_bigger_hole(void **state)
{
	struct fx *fx = *state;
	uint64_t a[4];

	/* hole of exactly 0x10000 at an aligned address, then the big rest */
	a[0] = fx_alloc(fx, 0x10000, PG, 0);
	a[1] = fx_alloc(fx, 0x10000, PG, 0);
	a[2] = fx_alloc(fx, 0x10000, PG, 0);
	(void)a[2];
	assert_int_equal(gpuva_heap_free(fx->heap, a[1], 0x10000), 0);
	assert_int_equal(fx_alloc(fx, 0x10000, 0x10000, 0), a[1]);
	/* the same hole misaligned is skipped */
	assert_int_equal(gpuva_heap_free(fx->heap, a[1], 0x10000), 0);
	a[3] = fx_alloc(fx, 0x1000, PG, 0);
	assert_int_equal(a[3], a[1]);
	assert_int_equal(fx_alloc(fx, 0xf000, 0x10000, 0), BASE + 0x30000);
}

static void
alloc_settles_for_a_guaranteed_hole_after_too_many_near_misses(void **state)
{
	struct fx *fx = *state;
	const uint64_t n = GPUVA_HEAP_SEARCH_BUDGET + 8;
	uint64_t a, fit;

	/* n holes of 0x2000 at odd pages: 0x2000 aligned to 0x2000 misses */
	assert_int_equal(gpuva_heap_alloc_fixed(fx->heap, BASE, 0x1000), 0);
	for (uint64_t i = 0; i < n; i++) {
		assert_int_equal(fx_alloc(fx, 0x2000, PG, 0),
				 BASE + 0x1000 + i * 0x4000);
		assert_int_equal(fx_alloc(fx, 0x2000, PG, 0),
				 BASE + 0x3000 + i * 0x4000);
	}
	/* then a 0x3000 hole that fits, a separator, and the rest */
	fit = fx_alloc(fx, 0x2000, 0x2000, 0);
	assert_int_equal(fit, BASE + 0x2000 + n * 0x4000);
	assert_int_equal(gpuva_heap_alloc_fixed(fx->heap, fit + 0x2000, 0x1000), 0);
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(gpuva_heap_free(fx->heap,
			BASE + 0x1000 + i * 0x4000, 0x2000), 0);
	assert_int_equal(gpuva_heap_free(fx->heap, fit, 0x2000), 0);
	assert_int_equal(gpuva_heap_check(fx->heap), 0);

	/*
	 * Over budget, the search takes the first hole of at least
	 * 0x2000 + 0x1fff bytes: the rest of the heap, not the exact fit.
	 */
	a = fx_alloc(fx, 0x2000, 0x2000, 0);
	assert_int_equal(a, fit + 0x4000);
	assert_int_equal(gpuva_heap_free(fx->heap, a, 0x2000), 0);

	/* with no such hole left, the exact fit is still found */
	assert_int_equal(gpuva_heap_alloc_fixed(fx->heap, fit + 0x3000,
						END - fit - 0x3000), 0);
	assert_int_equal(fx_alloc(fx, 0x2000, 0x2000, 0), fit);
	assert_int_equal(gpuva_heap_alloc(fx->heap, 0x2000, 0x2000, 0, &a),
			 -ENOSPC);
	/* under budget (high first meets no miss): exact fits as usual */
	assert_int_equal(fx_alloc(fx, 0x2000, PG, GPUVA_HEAP_HIGH),
			 BASE + 0x1000 + (n - 1) * 0x4000);
}

/* ---- alloc: errors ---- */

static void
alloc_of_zero_bytes_is_rejected_and_changes_nothing(void **state)
{
	struct fx *fx = *state;
	struct fx_saved before = fx_save(fx->heap);
	uint64_t a = 0x1234;

	assert_int_equal(gpuva_heap_alloc(fx->heap, 0, PG, 0, &a), -EINVAL);
	assert_reason(fx->heap, "size is zero");
	assert_int_equal(a, 0x1234);
	fx_assert_unchanged(fx->heap, &before);
}

static void
alloc_with_an_alignment_not_a_power_of_two_is_rejected(void **state)
{
	struct fx *fx = *state;
	struct fx_saved before = fx_save(fx->heap);
	uint64_t a = UNTOUCHED;

	assert_int_equal(gpuva_heap_alloc(fx->heap, PG, 0x3000, 0, &a), -EINVAL);
	assert_reason(fx->heap, "not a power of two");
	assert_int_equal(gpuva_heap_alloc(fx->heap, PG, 0, 0, &a), -EINVAL);
	fx_assert_unchanged(fx->heap, &before);
	assert_int_equal(a, UNTOUCHED);	/* *addr is untouched on error */
}

static void
alloc_with_unknown_flags_or_no_out_pointer_is_rejected(void **state)
{
	struct fx *fx = *state;
	struct fx_saved before = fx_save(fx->heap);
	uint64_t a = UNTOUCHED;

	assert_int_equal(gpuva_heap_alloc(fx->heap, PG, PG, 1u << 4, &a), -EINVAL);
	assert_reason(fx->heap, "unknown flags 0x10");
	assert_int_equal(gpuva_heap_alloc(fx->heap, PG, PG, 0, NULL), -EINVAL);
	fx_assert_unchanged(fx->heap, &before);
	assert_int_equal(a, UNTOUCHED);	/* *addr is untouched on error */
}

static void
alloc_larger_than_any_hole_returns_enospc_and_changes_nothing(void **state)
{
	struct fx *fx = *state;
	struct fx_saved before;
	uint64_t a = UNTOUCHED;

	fx_alloc(fx, 0x1000, PG, 0);
	before = fx_save(fx->heap);
	assert_int_equal(gpuva_heap_alloc(fx->heap, RANGE, 1, 0, &a), -ENOSPC);
	assert_reason(fx->heap, "largest 0xffff000");
	assert_int_equal(gpuva_heap_alloc(fx->heap, UINT64_MAX, 1, 0, &a), -ENOSPC);
	assert_int_equal(gpuva_heap_alloc(fx->heap, RANGE - 0x1000,
					  UINT64_C(1) << 63, 0, &a), -ENOSPC);
	fx_assert_unchanged(fx->heap, &before);
	assert_int_equal(a, UNTOUCHED);	/* *addr is untouched on error */
}

static void
alloc_when_only_misaligned_room_is_left_returns_enospc(void **state)
{
	struct fx *fx = *state;
	struct fx_saved before;
	uint64_t a = UNTOUCHED;

	assert_int_equal(gpuva_heap_alloc_fixed(fx->heap, BASE, RANGE - 0x3000), 0);
	assert_int_equal(gpuva_heap_alloc_fixed(fx->heap, END - 0x1000, 0x1000), 0);
	/* hole [END - 0x3000, END - 0x1000): 0x2000 bytes, 0x1000-aligned */
	before = fx_save(fx->heap);
	assert_int_equal(gpuva_heap_alloc(fx->heap, 0x2000, 0x4000, 0, &a), -ENOSPC);
	assert_reason(fx->heap, "no hole fits");
	fx_assert_unchanged(fx->heap, &before);
	assert_int_equal(fx_alloc(fx, 0x2000, 0x1000, 0), END - 0x3000);
	assert_int_equal(a, UNTOUCHED);	/* *addr is untouched on error */
}

/*
 * Allocate pages from the start of a fresh heap until its one leaf is full:
 * the next tile it gets needs a block (white box).
 */
static void
fx_fill_leaf(struct fx *fx)
{
	struct heap_leaf *l;

	fx_tree(fx->heap);
	l = fx->heap->root;
	assert_int_equal(fx->heap->depth, 0);
	while (l->n < fx->heap->leaf_cap)
		fx_alloc(fx, PG, PG, 0);
	assert_int_equal(fx->heap->depth, 0);
}

static void
alloc_without_memory_for_a_block_returns_enomem_and_changes_nothing(void **state)
{
	struct fx *fx = *state;
	uint64_t a = UNTOUCHED, top;
	struct fx_saved before;

	/* a leaf with room takes a tile without any memory */
	fx->heap->fail_alloc = true;
	assert_int_equal(fx_alloc(fx, PG, PG, 0), BASE);
	assert_int_equal(gpuva_heap_free(fx->heap, BASE, PG), 0);
	fx->heap->fail_alloc = false;

	fx_fill_leaf(fx);
	top = BASE + (fx->heap->leaf_cap - 1) * PG;	/* the hole above them */
	assert_int_equal(gpuva_heap_free(fx->heap, BASE, PG), 0);
	/* the leaf is full: a hole at BASE, pages, the top hole */
	before = fx_save_stats(fx->heap);
	fx->heap->fail_alloc = true;
	/* half the page: the rest stays a hole, one tile more */
	assert_int_equal(gpuva_heap_alloc(fx->heap, 0x800, 1, 0, &a), -ENOMEM);
	assert_reason(fx->heap, "out of memory");
	assert_int_equal(gpuva_heap_alloc_fixed(fx->heap, top + PG, PG), -ENOMEM);
	assert_int_equal(gpuva_heap_reserve(fx->heap, top + PG, PG), -ENOMEM);
	assert_int_equal(gpuva_heap_alloc(fx->heap, PG, PG, GPUVA_HEAP_HIGH, &a),
			 -ENOMEM);
	assert_null(fx->heap->pool);	/* nothing kept */
	fx_assert_stats_unchanged(fx->heap, &before);
	assert_int_equal(a, UNTOUCHED);	/* *addr is untouched on error */
	/* what adds no tile needs no memory: an exact fit, a free */
	assert_int_equal(fx_alloc(fx, PG, PG, 0), BASE);
	assert_int_equal(gpuva_heap_free(fx->heap, BASE + PG, PG), 0);
	assert_int_equal(gpuva_heap_alloc_fixed(fx->heap, BASE + PG, PG), 0);
	fx->heap->fail_alloc = false;
	/* with memory, the leaf splits */
	assert_int_equal(fx_alloc(fx, PG, PG, GPUVA_HEAP_HIGH), END - PG);
	assert_int_equal(fx->heap->depth, 1);
}

static void
alloc_refused_for_no_fit_takes_no_memory_even_when_there_is_none(void **state)
{
	struct fx *fx = *state;
	struct fx_saved before;
	uint64_t a = UNTOUCHED;

	fx_fill_leaf(fx);
	before = fx_save_stats(fx->heap);
	/*
	 * The largest hole is big enough, but not at a 2^40 boundary: -ENOSPC
	 * after a search, and the search is all it may do. With malloc
	 * failing it is still -ENOSPC, not -ENOMEM.
	 */
	fx->heap->fail_alloc = true;
	assert_int_equal(gpuva_heap_alloc(fx->heap, 0x1000, UINT64_C(1) << 40, 0,
					  &a), -ENOSPC);
	assert_reason(fx->heap, "no hole fits");
	assert_int_equal(a, UNTOUCHED);
	fx->heap->fail_alloc = false;
	fx_assert_stats_unchanged(fx->heap, &before);
	/* and with memory to spare, none is added (stats.bytes compared) */
	assert_int_equal(gpuva_heap_alloc(fx->heap, 0x1000, UINT64_C(1) << 40, 0,
					  &a), -ENOSPC);
	fx_assert_stats_unchanged(fx->heap, &before);
}

/* ---- alloc_in_range ---- */

static void
alloc_in_range_stays_inside_the_window(void **state)
{
	struct fx *fx = *state;
	uint64_t a;

	assert_int_equal(gpuva_heap_alloc_in_range(fx->heap, 0x1000, 0x1000, 0,
		BASE + 0x800000, 0x100000, &a), 0);
	assert_int_equal(a, BASE + 0x800000);
	assert_int_equal(gpuva_heap_alloc_in_range(fx->heap, 0x1000, 0x1000,
		GPUVA_HEAP_HIGH, BASE + 0x800000, 0x100000, &a), 0);
	assert_int_equal(a, BASE + 0x8ff000);
	/* a window starting mid-page: the alignment rounds up inside it */
	assert_int_equal(gpuva_heap_alloc_in_range(fx->heap, 0x1000, 0x1000, 0,
		BASE + 0x800001, 0x3000, &a), 0);
	assert_int_equal(a, BASE + 0x801000);
	/* the window is now too small */
	assert_int_equal(gpuva_heap_alloc_in_range(fx->heap, 0x2000, 0x1000, 0,
		BASE + 0x800000, 0x3000, &a), -ENOSPC);
	assert_int_equal(fx_holes(fx), 3);
}

static void
alloc_in_range_clips_a_window_that_overhangs_the_heap(void **state)
{
	struct fx *fx = *state;
	uint64_t a;

	assert_int_equal(gpuva_heap_alloc_in_range(fx->heap, 0x1000, 1, 0, 0,
						   BASE + 0x2000, &a), 0);
	assert_int_equal(a, BASE);
	assert_int_equal(gpuva_heap_alloc_in_range(fx->heap, 0x1000, 1,
		GPUVA_HEAP_HIGH, END - 0x2000, UINT64_MAX - (END - 0x2000) + 1,
		&a), 0);
	assert_int_equal(a, END - 0x1000);
}

static void
alloc_in_range_with_a_bad_window_is_rejected_and_changes_nothing(void **state)
{
	struct fx *fx = *state;
	struct fx_saved before = fx_save(fx->heap);
	uint64_t a = UNTOUCHED;

	assert_int_equal(gpuva_heap_alloc_in_range(fx->heap, PG, PG, 0, BASE, 0,
						   &a), -EINVAL);
	assert_reason(fx->heap, "window is empty");
	assert_int_equal(gpuva_heap_alloc_in_range(fx->heap, PG, PG, 0,
		UINT64_MAX - 0xfff, 0x2000, &a), -EINVAL);
	assert_reason(fx->heap, "passes 2^64");
	assert_int_equal(gpuva_heap_alloc_in_range(fx->heap, PG, PG, 0, END,
						   0x1000, &a), -EINVAL);
	assert_reason(fx->heap, "window outside the heap");
	assert_int_equal(gpuva_heap_alloc_in_range(fx->heap, PG, PG, 0, 0, BASE,
						   &a), -EINVAL);
	fx_assert_unchanged(fx->heap, &before);
	assert_int_equal(a, UNTOUCHED);	/* *addr is untouched on error */
}

/* ---- no span ---- */

static void
alloc_no_span_never_crosses_the_4gib_boundary(void **state)
{
	struct gpuva_heap *h;
	uint64_t four = UINT64_C(1) << 32, a;

	heap_new(four - 0x3000, 0x10000, &h);
	assert_int_equal(gpuva_heap_alloc(h, 0x1000, 0x1000, GPUVA_HEAP_NO_SPAN(32),
					  &a), 0);
	assert_int_equal(a, four - 0x3000);
	/* 0x4000 from four - 0x2000 would cross: it goes to four */
	assert_int_equal(gpuva_heap_alloc(h, 0x4000, 0x1000, GPUVA_HEAP_NO_SPAN(32),
					  &a), 0);
	assert_int_equal(a, four);
	/* without the rule the gap below is used */
	assert_int_equal(gpuva_heap_alloc(h, 0x2000, 0x1000, GPUVA_HEAP_NO_SPAN(32),
					  &a), 0);
	assert_int_equal(a, four - 0x2000);
	assert_int_equal(gpuva_heap_check(h), 0);
	gpuva_heap_destroy(h);
}

static void
alloc_no_span_high_ends_below_the_boundary(void **state)
{
	struct gpuva_heap *h;
	uint64_t four = UINT64_C(1) << 32, a;

	heap_new(four - 0x10000, 0x12000, &h);
	assert_int_equal(gpuva_heap_alloc(h, 0x4000, 0x1000,
		GPUVA_HEAP_HIGH | GPUVA_HEAP_NO_SPAN(32), &a), 0);
	assert_int_equal(a, four - 0x4000);
	assert_int_equal(gpuva_heap_alloc(h, 0x2000, 0x1000,
		GPUVA_HEAP_HIGH | GPUVA_HEAP_NO_SPAN(32), &a), 0);
	assert_int_equal(a, four);
	/* small blocks: 2^13 = 0x2000 */
	assert_int_equal(gpuva_heap_alloc_in_range(h, 0x2000, 0x1000,
		GPUVA_HEAP_NO_SPAN(13), four - 0x9000, 0x3000, &a), 0);
	assert_int_equal(a, four - 0x8000);
	assert_int_equal(gpuva_heap_check(h), 0);
	gpuva_heap_destroy(h);
}

static void
alloc_no_span_larger_than_the_block_is_rejected(void **state)
{
	struct fx *fx = *state;
	struct fx_saved before = fx_save(fx->heap);
	uint64_t a;

	assert_int_equal(gpuva_heap_alloc(fx->heap, 0x2001, 1,
					  GPUVA_HEAP_NO_SPAN(13), &a), -EINVAL);
	assert_reason(fx->heap, "no-span block 0x2000");
	fx_assert_unchanged(fx->heap, &before);
	assert_int_equal(fx_alloc(fx, 0x2000, 1, GPUVA_HEAP_NO_SPAN(13)), BASE);
}

/* ---- fixed, reserve ---- */

static void
alloc_fixed_takes_exactly_the_range_and_splits_the_hole(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(gpuva_heap_alloc_fixed(fx->heap, BASE + 0x5000, 0x2000), 0);
	assert_int_equal(fx_holes(fx), 2);
	assert_false(gpuva_heap_is_free(fx->heap, BASE + 0x6fff, 1));
	assert_true(gpuva_heap_is_free(fx->heap, BASE, 0x5000));
	assert_true(gpuva_heap_is_free(fx->heap, BASE + 0x7000, RANGE - 0x7000));
	assert_int_equal(fx_alloc(fx, 0x6000, PG, 0), BASE + 0x7000);
	assert_int_equal(gpuva_heap_free(fx->heap, BASE + 0x5000, 0x2000), 0);
}

static void
alloc_fixed_on_a_taken_byte_returns_enospc_naming_the_owner(void **state)
{
	struct fx *fx = *state;
	struct fx_saved before;

	assert_int_equal(gpuva_heap_alloc_fixed(fx->heap, BASE + 0x5000, 0x2000), 0);
	assert_int_equal(gpuva_heap_reserve(fx->heap, BASE + 0x9000, 0x1000), 0);
	before = fx_save(fx->heap);
	assert_int_equal(gpuva_heap_alloc_fixed(fx->heap, BASE + 0x4000, 0x2000),
			 -ENOSPC);
	assert_reason(fx->heap, "byte 0x105000 is taken by the allocation 0x105000 0x2000");
	assert_int_equal(gpuva_heap_alloc_fixed(fx->heap, BASE + 0x6000, 1),
			 -ENOSPC);
	assert_int_equal(gpuva_heap_reserve(fx->heap, BASE + 0x8000, 0x4000),
			 -ENOSPC);
	assert_reason(fx->heap, "taken by the reservation 0x109000 0x1000");
	fx_assert_unchanged(fx->heap, &before);
}

static void
alloc_fixed_with_bad_ranges_is_rejected_and_changes_nothing(void **state)
{
	struct fx *fx = *state;
	struct fx_saved before = fx_save(fx->heap);

	assert_int_equal(gpuva_heap_alloc_fixed(fx->heap, BASE, 0), -EINVAL);
	assert_reason(fx->heap, "size is zero");
	assert_int_equal(gpuva_heap_alloc_fixed(fx->heap, UINT64_MAX, 2), -EINVAL);
	assert_reason(fx->heap, "passes 2^64");
	assert_int_equal(gpuva_heap_alloc_fixed(fx->heap, BASE - 1, 2), -EINVAL);
	assert_reason(fx->heap, "outside the heap");
	assert_int_equal(gpuva_heap_alloc_fixed(fx->heap, END - 1, 2), -EINVAL);
	assert_int_equal(gpuva_heap_reserve(fx->heap, END, 1), -EINVAL);
	fx_assert_unchanged(fx->heap, &before);
}

static void
reserve_keeps_allocations_out_until_unreserved(void **state)
{
	struct fx *fx = *state;
	struct gpuva_heap_stats st;

	assert_int_equal(gpuva_heap_reserve(fx->heap, BASE, 0x10000), 0);
	gpuva_heap_get_stats(fx->heap, &st);
	assert_int_equal(st.reservations, 1);
	assert_int_equal(st.reserved_bytes, 0x10000);
	assert_int_equal(fx_alloc(fx, 0x1000, PG, 0), BASE + 0x10000);
	assert_int_equal(gpuva_heap_unreserve(fx->heap, BASE, 0x10000), 0);
	assert_int_equal(fx_alloc(fx, 0x1000, PG, 0), BASE);
	gpuva_heap_get_stats(fx->heap, &st);
	assert_int_equal(st.reservations, 0);
	assert_int_equal(st.allocations, 2);
}

static void
unreserve_of_anything_but_a_reservation_is_rejected(void **state)
{
	struct fx *fx = *state;
	struct fx_saved before;

	assert_int_equal(gpuva_heap_reserve(fx->heap, BASE, 0x10000), 0);
	assert_int_equal(gpuva_heap_alloc_fixed(fx->heap, BASE + 0x10000, 0x1000), 0);
	before = fx_save(fx->heap);
	assert_int_equal(gpuva_heap_unreserve(fx->heap, BASE + 0x10000, 0x1000),
			 -EINVAL);
	assert_reason(fx->heap, "is an allocation, not a reservation");
	assert_int_equal(gpuva_heap_unreserve(fx->heap, BASE, 0x8000), -EINVAL);
	assert_reason(fx->heap, "the reservation there is 0x10000 bytes");
	assert_int_equal(gpuva_heap_unreserve(fx->heap, BASE + 0x20000, 0x1000),
			 -EINVAL);
	assert_int_equal(gpuva_heap_unreserve(fx->heap, BASE, 0), -EINVAL);
	assert_int_equal(gpuva_heap_free(fx->heap, BASE, 0x10000), -EINVAL);
	assert_reason(fx->heap, "is a reservation, not an allocation");
	fx_assert_unchanged(fx->heap, &before);
}

/* ---- free ---- */

static void
free_merges_with_both_neighbours(void **state)
{
	struct fx *fx = *state;
	uint64_t a = fx_alloc(fx, 0x1000, PG, 0);
	uint64_t b = fx_alloc(fx, 0x1000, PG, 0);
	uint64_t c = fx_alloc(fx, 0x1000, PG, 0);

	fx_alloc(fx, 0x1000, PG, 0);
	assert_int_equal(gpuva_heap_free(fx->heap, a, 0x1000), 0);
	assert_int_equal(gpuva_heap_free(fx->heap, c, 0x1000), 0);
	assert_int_equal(fx_holes(fx), 3);
	assert_int_equal(gpuva_heap_free(fx->heap, b, 0x1000), 0);
	assert_int_equal(fx_holes(fx), 2);
	assert_true(gpuva_heap_is_free(fx->heap, BASE, 0x3000));
}

static void
free_merges_with_the_hole_below_or_above_or_none(void **state)
{
	struct fx *fx = *state;
	uint64_t a = fx_alloc(fx, 0x1000, PG, 0);
	uint64_t b = fx_alloc(fx, 0x1000, PG, 0);
	uint64_t c = fx_alloc(fx, 0x1000, PG, 0);
	struct gpuva_heap_stats st;

	/* above: c touches the big hole */
	assert_int_equal(gpuva_heap_free(fx->heap, c, 0x1000), 0);
	assert_int_equal(fx_holes(fx), 1);
	/* none: a has the heap start below and b above */
	assert_int_equal(gpuva_heap_free(fx->heap, a, 0x1000), 0);
	assert_int_equal(fx_holes(fx), 2);
	/* both */
	assert_int_equal(gpuva_heap_free(fx->heap, b, 0x1000), 0);
	assert_int_equal(fx_holes(fx), 1);
	gpuva_heap_get_stats(fx->heap, &st);
	assert_int_equal(st.free_bytes, RANGE);
	assert_int_equal(st.largest_hole, RANGE);

	/* below only: free the top block of a full heap's upper part */
	a = fx_alloc(fx, 0x1000, PG, 0);
	b = fx_alloc(fx, RANGE - 0x1000, PG, 0);
	assert_int_equal(gpuva_heap_free(fx->heap, a, 0x1000), 0);
	assert_int_equal(gpuva_heap_free(fx->heap, b, RANGE - 0x1000), 0);
	assert_int_equal(fx_holes(fx), 1);
}

static void
free_of_an_address_never_allocated_is_rejected_and_changes_nothing(void **state)
{
	struct fx *fx = *state;
	struct fx_saved before;

	fx_alloc(fx, 0x2000, PG, 0);
	before = fx_save(fx->heap);
	assert_int_equal(gpuva_heap_free(fx->heap, BASE + 0x10000, 0x1000), -EINVAL);
	assert_reason(fx->heap, "not allocated");
	assert_int_equal(gpuva_heap_free(fx->heap, 0, 0x1000), -EINVAL);
	assert_int_equal(gpuva_heap_free(fx->heap, UINT64_MAX, 1), -EINVAL);
	fx_assert_unchanged(fx->heap, &before);
}

static void
double_free_is_rejected_and_changes_nothing(void **state)
{
	struct fx *fx = *state;
	uint64_t a = fx_alloc(fx, 0x2000, PG, 0);
	struct fx_saved before;

	fx_alloc(fx, 0x2000, PG, 0);
	assert_int_equal(gpuva_heap_free(fx->heap, a, 0x2000), 0);
	before = fx_save(fx->heap);
	assert_int_equal(gpuva_heap_free(fx->heap, a, 0x2000), -EINVAL);
	assert_reason(fx->heap, "free 0x100000 0x2000: not allocated");
	fx_assert_unchanged(fx->heap, &before);
}

static void
free_with_a_wrong_size_or_inside_an_allocation_is_rejected(void **state)
{
	struct fx *fx = *state;
	uint64_t a = fx_alloc(fx, 0x2000, PG, 0);
	struct fx_saved before = fx_save(fx->heap);

	assert_int_equal(gpuva_heap_free(fx->heap, a, 0x1000), -EINVAL);
	assert_reason(fx->heap, "the allocation there is 0x2000 bytes");
	assert_int_equal(gpuva_heap_free(fx->heap, a + 0x1000, 0x1000), -EINVAL);
	assert_reason(fx->heap, "inside the allocation 0x100000 0x2000");
	assert_int_equal(gpuva_heap_free(fx->heap, a, 0), -EINVAL);
	assert_reason(fx->heap, "size is zero");
	fx_assert_unchanged(fx->heap, &before);
}

/* ---- queries, iteration, log ---- */

struct walk {
	struct gpuva_heap_range r[16];
	size_t n;
	size_t stop_at;
};

static int
walk_one(void *priv, const struct gpuva_heap_range *r)
{
	struct walk *w = priv;

	w->r[w->n++] = *r;
	return w->n == w->stop_at ? 42 : 0;
}

static void
stats_count_holes_bytes_and_the_largest_hole(void **state)
{
	struct fx *fx = *state;
	struct gpuva_heap_stats st;

	fx_alloc(fx, 0x1000, PG, 0);
	assert_int_equal(gpuva_heap_alloc_fixed(fx->heap, BASE + 0x3000, 0x1000), 0);
	assert_int_equal(gpuva_heap_reserve(fx->heap, END - 0x1000, 0x1000), 0);
	gpuva_heap_get_stats(fx->heap, &st);
	assert_int_equal(st.holes, 2);
	assert_int_equal(st.allocations, 2);
	assert_int_equal(st.allocated_bytes, 0x2000);
	assert_int_equal(st.reservations, 1);
	assert_int_equal(st.reserved_bytes, 0x1000);
	assert_int_equal(st.free_bytes, RANGE - 0x3000);
	assert_int_equal(st.largest_hole, RANGE - 0x5000);
}

static void
for_each_hole_visits_holes_in_order_and_stops_on_non_zero(void **state)
{
	struct fx *fx = *state;
	struct walk w = { .stop_at = 0 };

	fx_alloc(fx, 0x1000, PG, 0);
	assert_int_equal(gpuva_heap_alloc_fixed(fx->heap, BASE + 0x3000, 0x1000), 0);
	assert_int_equal(gpuva_heap_for_each_hole(fx->heap, walk_one, &w), 0);
	assert_int_equal(w.n, 2);
	assert_int_equal(w.r[0].addr, BASE + 0x1000);
	assert_int_equal(w.r[0].range, 0x2000);
	assert_int_equal(w.r[0].state, GPUVA_HEAP_HOLE);
	assert_int_equal(w.r[1].addr, BASE + 0x4000);
	memset(&w, 0, sizeof(w));
	w.stop_at = 1;
	assert_int_equal(gpuva_heap_for_each_hole(fx->heap, walk_one, &w), 42);
	assert_int_equal(w.n, 1);
}

static void
for_each_range_tiles_the_heap_with_every_state(void **state)
{
	struct fx *fx = *state;
	struct walk w = { .stop_at = 0 };

	fx_alloc(fx, 0x1000, PG, 0);
	assert_int_equal(gpuva_heap_reserve(fx->heap, BASE + 0x3000, 0x1000), 0);
	assert_int_equal(gpuva_heap_for_each_range(fx->heap, walk_one, &w), 0);
	assert_int_equal(w.n, 4);
	assert_int_equal(w.r[0].state, GPUVA_HEAP_ALLOCATED);
	assert_int_equal(w.r[1].state, GPUVA_HEAP_HOLE);
	assert_int_equal(w.r[2].state, GPUVA_HEAP_RESERVED);
	assert_int_equal(w.r[3].state, GPUVA_HEAP_HOLE);
	assert_int_equal(w.r[3].addr + w.r[3].range, END);
	memset(&w, 0, sizeof(w));
	w.stop_at = 3;
	assert_int_equal(gpuva_heap_for_each_range(fx->heap, walk_one, &w), 42);
}

static void
is_free_is_false_for_taken_empty_overflowing_or_outside_ranges(void **state)
{
	struct fx *fx = *state;

	fx_alloc(fx, 0x1000, PG, 0);
	assert_false(gpuva_heap_is_free(fx->heap, BASE, 1));
	assert_true(gpuva_heap_is_free(fx->heap, BASE + 0x1000, 1));
	assert_false(gpuva_heap_is_free(fx->heap, BASE + 0x1000, 0));
	assert_false(gpuva_heap_is_free(fx->heap, UINT64_MAX, 2));
	assert_false(gpuva_heap_is_free(fx->heap, END - 1, 2));
	assert_false(gpuva_heap_is_free(fx->heap, 0, 1));
}

static void
log_record(void *priv, const char *reason)
{
	snprintf(priv, 256, "%s", reason);
}

static void
log_fn_receives_each_rejection_reason(void **state)
{
	struct fx *fx = *state;
	char got[256] = "";
	uint64_t a;

	gpuva_heap_set_log_fn(fx->heap, log_record, got);
	assert_int_equal(gpuva_heap_alloc(fx->heap, 0, 1, 0, &a), -EINVAL);
	assert_string_equal(got, gpuva_heap_last_error(fx->heap));
	gpuva_heap_set_log_fn(fx->heap, NULL, NULL);
	got[0] = 0;
	assert_int_equal(gpuva_heap_alloc(fx->heap, 3, 3, 0, &a), -EINVAL);
	assert_string_equal(got, "");
}

/* The whole reason, whatever its length (log_record() keeps 256 bytes). */
static void
log_whole(void *priv, const char *reason)
{
	snprintf(priv, 512, "%s", reason);
}

/* The reason is @want, read twice, and the log function got the same. */
static void
assert_reason_is(struct gpuva_heap *heap, const char *want, const char *logged)
{
	char first[512];

	snprintf(first, sizeof(first), "%s", gpuva_heap_last_error(heap));
	assert_string_equal(first, want);
	assert_string_equal(gpuva_heap_last_error(heap), first);
	assert_string_equal(logged, first);
}

/*
 * The reason heap_take() gives when [addr, addr + size) meets the @owner
 * (its kind's name) at [oaddr, oaddr + osize), which starts inside it.
 */
static void
want_taken(char *want, size_t n, const char *what, uint64_t addr,
	   uint64_t size, const char *owner, uint64_t oaddr, uint64_t osize)
{
	snprintf(want, n, "%s 0x%" PRIx64 " 0x%" PRIx64 ": byte 0x%" PRIx64
		 " is taken by the %s 0x%" PRIx64 " 0x%" PRIx64, what, addr, size,
		 oaddr, owner, oaddr, osize);
}

static void
last_error_keeps_the_longest_reasons_whole_and_log_fn_gets_the_same_text(void **state)
{
	/* a heap over the top half of the space: every number 16 digits */
	const uint64_t start = UINT64_C(0x8000000000001000);
	const uint64_t range = UINT64_C(0x7ffffffffffff000);
	const uint64_t size = UINT64_C(1) << 63, align = UINT64_C(1) << 62;
	const uint64_t wa = UINT64_C(0x8000000000001234);
	const uint64_t wr = UINT64_C(0x7fffffffffffedcc);
	const uint32_t flags = GPUVA_HEAP_HIGH | GPUVA_HEAP_NO_SPAN(63);
	struct gpuva_heap *h;
	char want[512], got[512] = "";
	uint64_t a = UNTOUCHED;

	(void)state;
	heap_new(start, range, &h);
	gpuva_heap_set_log_fn(h, log_whole, got);

	/* the longest rejection of an alloc: seven 64-bit numbers and " high" */
	assert_int_equal(gpuva_heap_alloc_in_range(h, size, align, flags, wa, wr,
						   &a), -ENOSPC);
	snprintf(want, sizeof(want), "alloc 0x%" PRIx64 " align=0x%" PRIx64
		 " flags=0x%" PRIx32 " window=0x%" PRIx64 ",0x%" PRIx64
		 " high: no hole of 0x%" PRIx64 " bytes (largest 0x%" PRIx64 ")",
		 size, align, flags, wa, wr, size, range);
	assert_true(strlen(want) > 150);
	assert_reason_is(h, want, got);

	/* a window below the heap */
	assert_int_equal(gpuva_heap_alloc_in_range(h, size, align, flags,
		UINT64_C(0x7fffffffffff0000), 0x1000, &a), -EINVAL);
	snprintf(want, sizeof(want), "alloc 0x%" PRIx64 " align=0x%" PRIx64
		 " flags=0x%" PRIx32 " window=0x%" PRIx64 ",0x%" PRIx64
		 ": window outside the heap [0x%" PRIx64 ", 0x%" PRIx64 "]",
		 size, align, flags, UINT64_C(0x7fffffffffff0000),
		 UINT64_C(0x1000), start, UINT64_MAX);
	assert_reason_is(h, want, got);
	assert_int_equal(a, UNTOUCHED);
	gpuva_heap_destroy(h);

	/*
	 * Owners named near 2^64, in a heap small enough to stay flat in
	 * the first pass: a reservation, and an allocation to the heap's end.
	 */
	heap_new(UINT64_C(0xfffff00000000000), UINT64_C(1) << 44, &h);
	gpuva_heap_set_log_fn(h, log_whole, got);
	assert_int_equal(gpuva_heap_reserve(h, UINT64_C(0xfffff12345678000),
					    UINT64_C(0x7654321000)), 0);
	assert_int_equal(gpuva_heap_alloc_fixed(h, UINT64_C(0xffffffffff000000),
						0x1000000), 0);
	assert_int_equal(heap_is_flat(h), !as_tree);
	assert_int_equal(gpuva_heap_alloc_fixed(h, UINT64_C(0xfffff12345677000),
						0x2000), -ENOSPC);
	want_taken(want, sizeof(want), "alloc_fixed", UINT64_C(0xfffff12345677000),
		   0x2000, "reservation", UINT64_C(0xfffff12345678000),
		   UINT64_C(0x7654321000));
	assert_reason_is(h, want, got);
	assert_int_equal(gpuva_heap_reserve(h, UINT64_C(0xfffffffffe800000),
					    0x1000000), -ENOSPC);
	want_taken(want, sizeof(want), "reserve", UINT64_C(0xfffffffffe800000),
		   0x1000000, "allocation", UINT64_C(0xffffffffff000000), 0x1000000);
	assert_reason_is(h, want, got);
	assert_int_equal(gpuva_heap_check(h), 0);
	gpuva_heap_destroy(h);
}

/*
 * Each heap keeps its own reason: rejections on another heap do not touch
 * it. The text itself is written into the thread's buffer when asked for
 * (heap.h: dlerror()'s contract), so a caller that reads two heaps'
 * reasons at once copies the first.
 */
static void
count_log(void *priv, const char *msg)
{
	(void)msg;
	(*(int *)priv)++;
}

static void
last_error_of_one_heap_survives_rejections_on_another(void **state)
{
	struct gpuva_heap *h1, *h2;
	const char *why;
	char copy[512];
	int logged = 0;

	(void)state;
	heap_new(BASE, RANGE, &h1);
	heap_new(BASE, RANGE, &h2);
	assert_int_equal(gpuva_heap_free(h1, BASE, PG), -EINVAL);
	snprintf(copy, sizeof(copy), "%s", gpuva_heap_last_error(h1));
	assert_non_null(strstr(copy, "free 0x100000 0x1000: not allocated"));
	assert_int_equal(gpuva_heap_alloc_fixed(h2, END, PG), -EINVAL);
	assert_non_null(strstr(gpuva_heap_last_error(h2), "outside the heap"));
	/* h1's reason is still its own, and reads the same */
	assert_string_equal(gpuva_heap_last_error(h1), copy);
	/* a successful call on h2 leaves h1 alone too */
	assert_int_equal(gpuva_heap_alloc_fixed(h2, BASE, PG), 0);
	assert_string_equal(gpuva_heap_last_error(h1), copy);
	/*
	 * A rejection on h2 with a log function writes its text elsewhere:
	 * the string h1 handed out is still h1's.
	 */
	why = gpuva_heap_last_error(h1);
	gpuva_heap_set_log_fn(h2, count_log, &logged);
	assert_int_equal(gpuva_heap_free(h2, END - PG, PG), -EINVAL);
	assert_int_equal(logged, 1);
	assert_string_equal(why, copy);
	gpuva_heap_destroy(h1);
	gpuva_heap_destroy(h2);
}

static void
free_errors_in_a_long_run_of_allocations_still_name_the_allocation(void **state)
{
	struct fx *fx = *state;
	enum { N = 5000 };
	struct gpuva_heap_stats before, now;
	uint64_t a, mid = BASE + (N / 2) * 2 * PG;

	for (uint64_t i = 0; i < N; i++)
		assert_int_equal(gpuva_heap_alloc(fx->heap, 2 * PG, PG, 0, &a), 0);
	assert_int_equal(gpuva_heap_free(fx->heap, BASE, 2 * PG), 0);
	gpuva_heap_get_stats(fx->heap, &before);	/* too many ranges to save */
	assert_int_equal(gpuva_heap_free(fx->heap, BASE, 2 * PG), -EINVAL);
	assert_reason(fx->heap, "not allocated");
	assert_int_equal(gpuva_heap_free(fx->heap, mid, PG), -EINVAL);
	assert_reason(fx->heap, "the allocation there is 0x2000 bytes");
	assert_int_equal(gpuva_heap_free(fx->heap, mid + PG, 2 * PG), -EINVAL);
	assert_reason(fx->heap, "inside the allocation 0x1488000 0x2000");
	assert_int_equal(gpuva_heap_unreserve(fx->heap, mid, 2 * PG), -EINVAL);
	assert_reason(fx->heap, "is an allocation, not a reservation");
	assert_int_equal(gpuva_heap_alloc_fixed(fx->heap, mid + PG, 1), -ENOSPC);
	assert_reason(fx->heap, "taken by the allocation 0x1488000 0x2000");
	/* past the last allocation, before the top hole */
	assert_int_equal(gpuva_heap_free(fx->heap, BASE + N * 2 * PG, PG), -EINVAL);
	assert_reason(fx->heap, "not allocated");
	assert_int_equal(gpuva_heap_check(fx->heap), 0);
	gpuva_heap_get_stats(fx->heap, &now);
	assert_memory_equal(&now, &before, sizeof(now));
	assert_true(gpuva_heap_is_free(fx->heap, BASE, 2 * PG));
	assert_false(gpuva_heap_is_free(fx->heap, BASE + 2 * PG, 1));
}

/* ---- the tree (white box) ---- */

/* The smallest capacities: a few hundred tiles make a tree several levels deep. */
static void
fx_tiny(struct gpuva_heap *heap)
{
	fx_tree(heap);
	heap->leaf_cap = 4;
	heap->wide_cap = 3;
	heap->inner_cap = 3;
}

/* The leftmost leaf. */
static struct heap_leaf *
first_leaf(struct gpuva_heap *heap)
{
	void *n = heap->root;

	for (unsigned lv = 0; lv < heap->depth; lv++)
		n = ((struct heap_inner *)n)->child[0];
	return n;
}

/* The first leaf of the subtree at @n (level @lv) with a bound @below > 0. */
static struct heap_leaf *
leaf_with_below(struct gpuva_heap *heap, void *n, unsigned lv)
{
	struct heap_inner *in = n;

	if (lv == heap->depth)
		return ((struct heap_leaf *)n)->below ? n : NULL;
	for (unsigned j = 0; j < in->n; j++) {
		struct heap_leaf *l = leaf_with_below(heap, in->child[j], lv + 1);

		if (l)
			return l;
	}
	return NULL;
}

/* Leaves of the subtree at @n (level @lv), and how many are wide. */
static size_t
count_leaves(struct gpuva_heap *heap, void *n, unsigned lv, size_t *wide)
{
	struct heap_inner *in = n;
	size_t c = 0;

	if (lv == heap->depth) {
		*wide += ((struct heap_leaf *)n)->shift == HEAP_WIDE;
		return 1;
	}
	for (unsigned j = 0; j < in->n; j++)
		c += count_leaves(heap, in->child[j], lv + 1, wide);
	return c;
}

/*
 * A free of a leaf's first tile after a hole that ends the leaf before:
 * the hole grows over it (and over the hole after it) in place.
 */
static void
free_of_a_leafs_first_tile_grows_the_hole_that_ends_the_leaf_before(void **state)
{
	struct fx *fx = *state;
	struct gpuva_heap_stats st;
	struct heap_inner *root;
	uint64_t k1, k2;
	size_t blocks;

	fx_tree(fx->heap);
	for (uint64_t i = 0; i < 200; i++)
		assert_int_equal(fx_alloc(fx, PG, PG, 0), BASE + i * PG);
	assert_int_equal(fx->heap->depth, 1);
	root = fx->heap->root;
	assert_true(root->n >= 3);
	k1 = root->key[1];
	k2 = root->key[2];
	blocks = fx->heap->blocks;

	/* the first tile alone leaves its leaf */
	assert_int_equal(gpuva_heap_free(fx->heap, k1 - PG, PG), 0);
	assert_int_equal(gpuva_heap_free(fx->heap, k1, PG), 0);
	assert_int_equal(gpuva_heap_check(fx->heap), 0);
	assert_true(gpuva_heap_is_free(fx->heap, k1 - PG, 2 * PG));
	assert_int_equal(root->key[1], k1 + PG);

	/* the first tile and the hole after it, that leaf's largest */
	assert_int_equal(gpuva_heap_free(fx->heap, k2 + PG, PG), 0);
	assert_int_equal(gpuva_heap_free(fx->heap, k2 - PG, PG), 0);
	assert_int_equal(gpuva_heap_free(fx->heap, k2, PG), 0);
	assert_int_equal(gpuva_heap_check(fx->heap), 0);
	assert_true(gpuva_heap_is_free(fx->heap, k2 - PG, 3 * PG));
	assert_int_equal(root->key[2], k2 + 2 * PG);

	gpuva_heap_get_stats(fx->heap, &st);
	assert_int_equal(st.holes, 3);
	assert_int_equal(st.allocations, 200 - 5);
	assert_int_equal(fx->heap->blocks, blocks);
	/* both grown holes take a request that needs them whole */
	assert_int_equal(fx_alloc(fx, 3 * PG, PG, 0), k2 - PG);
	assert_int_equal(fx_alloc(fx, 2 * PG, PG, 0), k1 - PG);
}

static void
an_empty_heap_costs_at_most_1_kib_and_memory_follows_the_tiles(void **state)
{
	struct fx *fx = *state;
	enum { N = 20000 };
	struct gpuva_heap_stats st;
	size_t floor_bytes;

	gpuva_heap_get_stats(fx->heap, &st);
	floor_bytes = st.bytes;
	assert_true(floor_bytes <= 1024);
	for (uint64_t i = 0; i < N; i++)
		assert_int_equal(fx_alloc(fx, PG, PG, 0), BASE + i * PG);
	gpuva_heap_get_stats(fx->heap, &st);
	assert_true(fx->heap->depth >= 2);
	/* pages in address order fill their leaves: 62 starts in 280 bytes */
	assert_true(st.bytes < 6 * N);
	/* 7919 is prime to N: every page once, in scattered order */
	for (uint64_t i = 0, k = 0; i < N; i++, k = (k + 7919) % N)
		assert_int_equal(gpuva_heap_free(fx->heap, BASE + k * PG, PG), 0);
	assert_int_equal(gpuva_heap_check(fx->heap), 0);
	gpuva_heap_get_stats(fx->heap, &st);
	assert_int_equal(st.holes, 1);
	/* a tree again one leaf, or (not kept a tree) flat again */
	if (as_tree)
		assert_int_equal(fx->heap->depth, 0);
	else
		assert_true(heap_is_flat(fx->heap));
	assert_int_equal(st.bytes, floor_bytes);
}

static void
the_tree_grows_and_shrinks_back_to_one_leaf_repeatedly(void **state)
{
	struct fx *fx = *state;
	const uint64_t n = 200;
	unsigned deepest = 0;

	fx_tiny(fx->heap);
	for (int round = 0; round < 3; round++) {
		for (uint64_t i = 0; i < 2 * n; i++)
			assert_int_equal(fx_alloc(fx, PG, PG, 0), BASE + i * PG);
		/* each even page freed is one more hole */
		for (uint64_t i = 0; i < n; i++) {
			assert_int_equal(gpuva_heap_free(fx->heap,
				BASE + 2 * i * PG, PG), 0);
			assert_int_equal(gpuva_heap_check(fx->heap), 0);
			assert_int_equal(fx_holes(fx), i + 2);
			if (fx->heap->depth > deepest)
				deepest = fx->heap->depth;
		}
		/* the placement rule holds in a deep tree */
		assert_int_equal(fx_alloc(fx, PG, PG, 0), BASE);
		assert_int_equal(fx_alloc(fx, PG, PG, GPUVA_HEAP_HIGH), END - PG);
		assert_int_equal(fx_alloc(fx, 2 * PG, PG, 0), BASE + 2 * n * PG);
		assert_int_equal(gpuva_heap_free(fx->heap, BASE, PG), 0);
		assert_int_equal(gpuva_heap_free(fx->heap, END - PG, PG), 0);
		assert_int_equal(gpuva_heap_free(fx->heap, BASE + 2 * n * PG,
						 2 * PG), 0);
		/* each odd page freed merges two holes, down to one leaf */
		for (uint64_t i = 0; i < n; i++) {
			assert_int_equal(gpuva_heap_free(fx->heap,
				BASE + (2 * i + 1) * PG, PG), 0);
			assert_int_equal(gpuva_heap_check(fx->heap), 0);
			assert_int_equal(fx_holes(fx), n - i);
		}
		assert_int_equal(fx->heap->depth, 0);
		assert_true(gpuva_heap_is_free(fx->heap, BASE, RANGE));
	}
	assert_true(deepest >= 4);
}

static void
a_split_up_to_a_new_root_fails_with_enomem_and_changes_nothing(void **state)
{
	struct fx *fx = *state;
	unsigned failed = 0, new_roots = 0;

	fx_tiny(fx->heap);
	/*
	 * Half pages: every allocation adds a tile, so leaves keep splitting,
	 * and now and then every node on the way up with them. Each one is
	 * tried first without memory: it succeeds without it, or fails and
	 * leaves everything as it was, then succeeds with it.
	 */
	for (uint64_t i = 0; i < 300; i++) {
		struct fx_saved before = fx_save_stats(fx->heap);
		unsigned depth = fx->heap->depth;
		uint64_t a = UNTOUCHED;
		int r;

		fx->heap->fail_alloc = true;
		r = gpuva_heap_alloc(fx->heap, PG / 2, 1, 0, &a);
		fx->heap->fail_alloc = false;
		if (r) {
			assert_int_equal(r, -ENOMEM);
			assert_reason(fx->heap, "out of memory");
			assert_int_equal(a, UNTOUCHED);
			assert_null(fx->heap->pool);
			fx_assert_stats_unchanged(fx->heap, &before);
			assert_int_equal(fx->heap->depth, depth);
			failed++;
			assert_int_equal(fx_alloc(fx, PG / 2, 1, 0), BASE + i * PG / 2);
			new_roots += fx->heap->depth > depth;
		} else {
			assert_int_equal(a, BASE + i * PG / 2);
		}
	}
	assert_true(failed >= 90);	/* every third: tiny leaves fill fast */
	assert_true(new_roots >= 3);
}

static void
free_never_needs_memory_and_gives_blocks_back(void **state)
{
	struct fx *fx = *state;
	enum { N = 500 };
	struct gpuva_heap_stats st;
	size_t floor_bytes;

	fx_tiny(fx->heap);
	gpuva_heap_get_stats(fx->heap, &st);
	floor_bytes = st.bytes;
	for (uint64_t i = 0; i < N; i++)
		fx_alloc(fx, PG, PG, 0);
	fx->heap->fail_alloc = true;
	for (uint64_t i = 0, k = 0; i < N; i++, k = (k + 197) % N) {
		assert_int_equal(gpuva_heap_free(fx->heap, BASE + k * PG, PG), 0);
		assert_int_equal(gpuva_heap_check(fx->heap), 0);
	}
	fx->heap->fail_alloc = false;
	gpuva_heap_get_stats(fx->heap, &st);
	assert_int_equal(st.bytes, floor_bytes);
	assert_int_equal(st.holes, 1);
}

static void
wide_leaves_hold_starts_too_far_apart_for_32_bit_offsets(void **state)
{
	const uint64_t gap = UINT64_C(1) << 40;
	struct gpuva_heap_stats st;
	struct gpuva_heap *h;
	size_t wide = 0, leaves, floor_bytes;
	uint64_t a;

	(void)state;
	/*
	 * One byte at every 2^40 + 1: its start and the hole after it are a
	 * byte apart, the next allocation 2^40 on. No shift puts such starts
	 * within 2^32 units of each other: the leaves hold 64-bit starts.
	 */
	heap_new(0, UINT64_MAX, &h);
	fx_tree(h);
	gpuva_heap_get_stats(h, &st);
	floor_bytes = st.bytes;
	for (uint64_t i = 1; i <= 300; i++)
		assert_int_equal(gpuva_heap_alloc_fixed(h, i * gap + i, 1), 0);
	assert_int_equal(gpuva_heap_check(h), 0);
	leaves = count_leaves(h, h->root, 0, &wide);
	assert_true(wide > 0 && wide >= leaves - 2);
	assert_true(gpuva_heap_is_free(h, 5 * gap + 6, gap - 1));
	assert_false(gpuva_heap_is_free(h, 5 * gap + 5, 1));
	/* placement and errors work across them */
	assert_int_equal(gpuva_heap_alloc(h, gap - 1, 1, 0, &a), 0);
	assert_int_equal(a, 0);
	assert_int_equal(gpuva_heap_alloc(h, gap, 1, 0, &a), 0);
	assert_int_equal(a, gap + 2);	/* the hole after the first byte */
	assert_int_equal(gpuva_heap_free(h, 7 * gap + 7, 2), -EINVAL);
	assert_true(strstr(gpuva_heap_last_error(h), "there is 0x1 bytes") != NULL);
	assert_int_equal(gpuva_heap_free(h, 0, gap - 1), 0);
	assert_int_equal(gpuva_heap_free(h, gap + 2, gap), 0);
	for (uint64_t i = 300; i >= 1; i--) {
		assert_int_equal(gpuva_heap_free(h, i * gap + i, 1), 0);
		if (i % 16 == 0)
			assert_int_equal(gpuva_heap_check(h), 0);
	}
	assert_int_equal(gpuva_heap_check(h), 0);
	gpuva_heap_get_stats(h, &st);
	assert_int_equal(st.holes, 1);
	assert_int_equal(st.bytes, floor_bytes);
	gpuva_heap_destroy(h);
}

static void
check_reports_a_broken_tree(void **state)
{
	struct fx *fx = *state;
	struct heap_inner *root;
	struct heap_leaf *l;
	uint64_t t;

	fx_tiny(fx->heap);
	for (uint64_t i = 0; i < 64; i++)
		fx_alloc(fx, PG, PG, 0);
	for (uint64_t i = 0; i < 64; i += 2)
		assert_int_equal(gpuva_heap_free(fx->heap, BASE + i * PG, PG), 0);
	/* holes of 3 pages among the single ones */
	for (uint64_t i = 1; i < 64; i += 8)
		assert_int_equal(gpuva_heap_free(fx->heap, BASE + i * PG, PG), 0);
	assert_true(fx->heap->depth >= 2);
	root = fx->heap->root;
	l = first_leaf(fx->heap);

#define BREAKS(change, undo, why)					\
	do {								\
		change;							\
		assert_int_equal(gpuva_heap_check(fx->heap), -EINVAL);	\
		assert_reason(fx->heap, why);				\
		undo;							\
		assert_int_equal(gpuva_heap_check(fx->heap), 0);	\
	} while (0)

	BREAKS(root->max[0]++, root->max[0]--, "largest hole is wrong");
	BREAKS(fx->heap->largest++, fx->heap->largest--, "largest hole is wrong");
	BREAKS(fx->heap->free_bytes++, fx->heap->free_bytes--, "counters disagree");
	BREAKS(fx->heap->holes++, fx->heap->holes--, "counters disagree");
	BREAKS(fx->heap->blocks++, fx->heap->blocks--, "blocks");
	BREAKS(root->key[1]++, root->key[1]--, "not its parent's");
	BREAKS(l->nmax++, l->nmax--, "count of largest holes");
	/* a leaf with holes of two sizes: 0 is no bound for the smaller */
	l = leaf_with_below(fx->heap, fx->heap->root, 0);
	assert_non_null(l);
	t = l->below;
	BREAKS(l->below = 0, l->below = (uint8_t)t, "bound on its other holes");
	/* that leaf has two holes, so at least three tiles */
	assert_true(l->n >= 3);
	BREAKS(l->hole |= UINT64_C(1) << l->n, l->hole &= ~(UINT64_C(1) << l->n),
	       "kind bits past");
	BREAKS(l->rsv |= l->hole & -l->hole, l->rsv = 0, "both a hole and reserved");
	t = l->off[1];
	BREAKS(l->off[1] = l->off[2], l->off[1] = (uint32_t)t, "starts out of order");
	t = fx->heap->leaf_cap;
	BREAKS(fx->heap->leaf_cap = (uint8_t)(l->n - 1),
	       fx->heap->leaf_cap = (uint8_t)t, "over its capacity");
#undef BREAKS
}

/* ---- the flat mode (white box) ---- */

/*
 * These tests are about the flat mode itself: each makes its own heaps
 * with gpuva_heap_create(), flat whatever the pass.
 */
static struct gpuva_heap *
flat_new(uint64_t start, uint64_t range, uint32_t flat_max)
{
	struct gpuva_heap *h;

	assert_int_equal(gpuva_heap_create(start, range, &h), 0);
	assert_true(heap_is_flat(h));
	if (flat_max)
		h->flat_max = flat_max;
	return h;
}

/*
 * The same requests on a heap that may be flat (h) and on one kept a tree
 * (ref): the switches must not show in any address or error.
 */
struct twin {
	struct gpuva_heap *h, *ref;
};

static struct twin
twin_new(uint64_t start, uint64_t range, uint32_t flat_max)
{
	struct twin w = { flat_new(start, range, flat_max), NULL };

	assert_int_equal(gpuva_heap_create(start, range, &w.ref), 0);
	fx_tree(w.ref);
	return w;
}

static void
twin_destroy(struct twin *w)
{
	gpuva_heap_destroy(w->h);
	gpuva_heap_destroy(w->ref);
}

/* Both heaps pass their check and hold the same tiles and counters. */
static void
twin_assert_same(struct twin *w)
{
	struct fx_saved a, b;

	assert_int_equal(gpuva_heap_check(w->h), 0);
	assert_int_equal(gpuva_heap_check(w->ref), 0);
	a = fx_save(w->h);
	b = fx_save(w->ref);
	assert_int_equal(a.n, b.n);
	for (size_t i = 0; i < a.n; i++) {
		assert_int_equal(a.r[i].addr, b.r[i].addr);
		assert_int_equal(a.r[i].range, b.r[i].range);
		assert_int_equal(a.r[i].state, b.r[i].state);
	}
	/* only the memory may differ */
	a.st.bytes = b.st.bytes = 0;
	assert_memory_equal(&a.st, &b.st, sizeof(a.st));
}

static uint64_t
twin_alloc(struct twin *w, uint64_t size, uint64_t align, uint32_t flags)
{
	uint64_t a = UNTOUCHED, b = UNTOUCHED;

	assert_int_equal(gpuva_heap_alloc(w->ref, size, align, flags, &b), 0);
	if (gpuva_heap_alloc(w->h, size, align, flags, &a))
		fail_msg("alloc 0x%" PRIx64 ": %s", size,
			 gpuva_heap_last_error(w->h));
	assert_int_equal(a, b);
	twin_assert_same(w);
	return a;
}

/* The same call, which must succeed, on both heaps; then compare them. */
static void
twin_do(struct twin *w, int (*fn)(struct gpuva_heap *, uint64_t, uint64_t),
	uint64_t addr, uint64_t size)
{
	assert_int_equal(fn(w->ref, addr, size), 0);
	assert_int_equal(fn(w->h, addr, size), 0);
	twin_assert_same(w);
}

static void
past_flat_max_tiles_a_heap_is_a_tree_at_the_same_addresses_and_flat_again_at_half(void **state)
{
	enum { N = 24, MAX = 16 };
	struct twin w = twin_new(BASE, RANGE, MAX);
	uint64_t a[N], sz[N];

	(void)state;
	/* a reservation and a fixed allocation: both kinds of record move over */
	twin_do(&w, gpuva_heap_reserve, BASE + 0x100000, 0x3000);
	twin_do(&w, gpuva_heap_alloc_fixed, END - 0x5000, PG);
	assert_true(heap_is_flat(w.h));
	/* sizes, alignments and directions that leave holes between them */
	for (unsigned i = 0; i < N; i++) {
		sz[i] = PG * (1 + i % 3);
		a[i] = twin_alloc(&w, sz[i], i % 4 == 3 ? 0x10000 : PG,
				  i % 5 == 4 ? GPUVA_HEAP_HIGH : 0);
		/* allocations never lower the tiles: flat until past MAX, then a tree */
		assert_int_equal(heap_is_flat(w.h), heap_tiles(w.h) <= MAX);
	}
	assert_false(heap_is_flat(w.h));

	/* freed in a scattered order: a tree until half MAX tiles, then flat */
	twin_do(&w, gpuva_heap_unreserve, BASE + 0x100000, 0x3000);
	for (unsigned i = 0, k = 0; i < N; i++, k = (k + 7) % N) {
		twin_do(&w, gpuva_heap_free, a[k], sz[k]);
		/* frees never raise the tiles; nothing failed, nothing to wait for */
		assert_int_equal(heap_is_flat(w.h), heap_tiles(w.h) <= MAX / 2);
	}
	assert_true(heap_is_flat(w.h));
	assert_int_equal(w.h->flat_wait, 0);
	/* flat again, it places as the tree does */
	twin_alloc(&w, 0x3000, 0x10000, 0);
	twin_alloc(&w, PG, PG, GPUVA_HEAP_HIGH);
	twin_do(&w, gpuva_heap_free, END - 0x5000, PG);
	assert_true(heap_is_flat(w.h));
	twin_destroy(&w);
}

/* What makes a boundary that is not a whole page unit. */
enum off_unit {
	OFF_SIZE,	/* a 0x800-byte allocation */
	OFF_FIXED,	/* alloc_fixed at a half page */
	OFF_START,	/* a page-aligned request in a heap that starts mid-page */
};

static void
off_unit_case(enum off_unit how)
{
	enum { MAX = 16 };
	uint64_t start = how == OFF_START ? BASE + 0x800 : BASE;
	struct twin w = twin_new(start, UINT64_C(1) << 40, MAX);
	uint64_t x, size = PG;
	bool waited = false;
	uint32_t frees, left;

	/* past 4 GiB: the flat mode counts in pages */
	assert_int_equal(w.h->flat.shift, 12);
	for (uint64_t i = 0; i < 4; i++)
		assert_int_equal(twin_alloc(&w, PG, 1, 0), start + i * PG);
	assert_true(heap_is_flat(w.h));

	switch (how) {
	case OFF_SIZE:
		size = 0x800;
		x = twin_alloc(&w, size, 1, 0);
		assert_int_equal(x, start + 4 * PG);
		break;
	case OFF_FIXED:
		x = start + 6 * PG + 0x800;
		twin_do(&w, gpuva_heap_alloc_fixed, x, size);
		break;
	default:
		/* the hole starts at 0x104800: a page boundary is 0x800 into a unit */
		x = twin_alloc(&w, size, PG, 0);
		assert_int_equal(x, BASE + 5 * PG);
		break;
	}
	assert_false(heap_is_flat(w.h));
	assert_true(heap_tiles(w.h) <= MAX / 2);

	/*
	 * While it lives, the heap cannot be flat: each try fails and sets
	 * flat_wait, and the frees in between only count it down.
	 */
	for (unsigned i = 0; i < 2 * (MAX / 2 + 1); i++) {
		uint64_t b = twin_alloc(&w, PG, 1, GPUVA_HEAP_HIGH);

		twin_do(&w, gpuva_heap_free, b, PG);
		assert_false(heap_is_flat(w.h));
		assert_true(w.h->flat_wait <= MAX / 2 + 1);
		waited |= w.h->flat_wait == MAX / 2 + 1;
	}
	assert_true(waited);

	/* once it is gone: the calls still to wait, then the try that works */
	twin_do(&w, gpuva_heap_free, x, size);
	left = w.h->flat_wait;
	for (frees = 0; !heap_is_flat(w.h); frees++) {
		uint32_t wait = w.h->flat_wait;
		uint64_t b;

		assert_true(frees <= left);
		b = twin_alloc(&w, PG, 1, GPUVA_HEAP_HIGH);
		twin_do(&w, gpuva_heap_free, b, PG);
		/* a free either counts down or tries, and the try works */
		if (heap_is_flat(w.h))
			assert_int_equal(wait, 0);
		else
			assert_int_equal(w.h->flat_wait, wait - 1);
	}
	assert_true(frees <= left + 1);
	assert_int_equal(heap_tiles(w.h), 5);
	/* flat again, the same addresses */
	twin_alloc(&w, 3 * PG, 1, 0);
	twin_alloc(&w, PG, 1, GPUVA_HEAP_HIGH);
	assert_true(heap_is_flat(w.h));
	twin_destroy(&w);
}

static void
a_tile_off_the_page_units_keeps_the_heap_a_tree_until_it_is_freed(void **state)
{
	(void)state;
	off_unit_case(OFF_SIZE);
	off_unit_case(OFF_FIXED);
	off_unit_case(OFF_START);
}

/* One used tile more at @x by @op (0: alloc, 1: alloc_fixed, 2: reserve). */
static int
flat_add(struct gpuva_heap *h, int op, uint64_t x, uint64_t *a)
{
	switch (op) {
	case 0:
		return gpuva_heap_alloc(h, PG, PG, 0, a);
	case 1:
		return gpuva_heap_alloc_fixed(h, x, PG);
	default:
		return gpuva_heap_reserve(h, x, PG);
	}
}

/*
 * Would one more used tile make the flat heap grow its arrays? The hole
 * array keeps room for one hole more than the used tiles; the table stays
 * at most 7/8 full with its deleted slots.
 */
static void
flat_needs(const struct gpuva_heap *h, bool *holes, bool *table)
{
	const struct heap_flat *t = &h->flat;
	size_t used = h->allocations + h->reservations;

	*holes = t->cap < (used + 1) + 1;
	*table = (t->used + t->dead + 1) * 8 > t->ng * FLAT_GROUP * 7;
}

static void
flat_requests_without_memory_to_grow_return_enomem_and_change_nothing(void **state)
{
	enum { MAX = 32 };
	struct gpuva_heap *h = flat_new(BASE, RANGE, MAX);
	unsigned grew_holes = 0, grew_table = 0;
	uint64_t a = UNTOUCHED;

	(void)state;
	/* pages from the start: each request adds one used tile */
	for (uint64_t n = 0; heap_tiles(h) < MAX; n++) {
		uint64_t x = BASE + n * PG;
		bool holes, table;

		flat_needs(h, &holes, &table);
		assert_int_equal(h->allocations + h->reservations, n);
		h->fail_alloc = true;
		if (holes || table) {
			struct fx_saved before = fx_save(h);

			for (int op = 0; op < 3; op++) {
				assert_int_equal(flat_add(h, op, x, &a), -ENOMEM);
				assert_reason(h, "out of memory");
			}
			assert_int_equal(a, UNTOUCHED);	/* *addr is untouched on error */
			assert_true(heap_is_flat(h));
			fx_assert_unchanged(h, &before);
			h->fail_alloc = false;
			grew_holes += holes;
			grew_table += table;
		}
		/* what needs no memory succeeds without it */
		assert_int_equal(flat_add(h, (int)(n % 3), x, &a), 0);
		h->fail_alloc = false;
		assert_int_equal(a, n % 3 ? UNTOUCHED : x);
		a = UNTOUCHED;
		assert_int_equal(gpuva_heap_check(h), 0);
		assert_true(heap_is_flat(h));
	}
	assert_true(grew_holes >= 2);
	assert_true(grew_table >= 1);

	/* one tile more goes to the tree, which needs memory as well */
	{
		uint64_t x = BASE + (h->allocations + h->reservations) * PG;
		struct fx_saved before = fx_save(h);

		h->fail_alloc = true;
		for (int op = 0; op < 3; op++)
			assert_int_equal(flat_add(h, op, x, &a), -ENOMEM);
		h->fail_alloc = false;
		assert_int_equal(a, UNTOUCHED);
		assert_true(heap_is_flat(h));
		assert_null(h->root);
		fx_assert_unchanged(h, &before);
		for (int op = 0; op < 3; op++) {
			assert_int_equal(flat_add(h, op, x, &a), 0);
			assert_int_equal(gpuva_heap_check(h), 0);
			x += PG;
		}
		assert_false(heap_is_flat(h));
	}
	gpuva_heap_destroy(h);
}

static void
flat_frees_never_need_memory_and_memory_follows_the_tiles_down(void **state)
{
	enum { N = 200 };
	struct gpuva_heap *h = flat_new(BASE, RANGE, 0);
	struct gpuva_heap_stats st;
	size_t floor_bytes, bytes;

	(void)state;
	gpuva_heap_get_stats(h, &st);
	floor_bytes = st.bytes;
	/* round 0: the second half of the frees with memory; round 1: without */
	for (int round = 0; round < 2; round++) {
		for (uint64_t i = 0; i < N; i++)
			assert_int_equal(gpuva_heap_alloc(h, PG, PG, 0, &(uint64_t){0}), 0);
		gpuva_heap_get_stats(h, &st);
		bytes = st.bytes;
		h->fail_alloc = true;
		for (uint64_t i = 0; i < N; i += 2) {
			assert_int_equal(gpuva_heap_free(h, BASE + i * PG, PG), 0);
			assert_int_equal(gpuva_heap_check(h), 0);
		}
		/* a hole per allocation, and the top one: the most holes there are */
		gpuva_heap_get_stats(h, &st);
		assert_int_equal(st.holes, st.allocations + 1);
		assert_true(heap_is_flat(h));
		h->fail_alloc = round == 1;
		/* 37 is prime to N / 2: every odd page once, scattered */
		for (uint64_t i = 0, k = 0; i < N / 2; i++, k = (k + 37) % (N / 2)) {
			assert_int_equal(gpuva_heap_free(h, BASE + (2 * k + 1) * PG, PG), 0);
			assert_int_equal(gpuva_heap_check(h), 0);
			gpuva_heap_get_stats(h, &st);
			assert_true(st.bytes <= bytes);	/* never more on a free */
			bytes = st.bytes;
		}
		assert_int_equal(st.holes, 1);
		assert_true(heap_is_flat(h));
		if (round == 1) {
			/* what could not be given back goes at the next free with memory */
			h->fail_alloc = false;
			assert_int_equal(gpuva_heap_alloc(h, PG, PG, 0, &(uint64_t){0}), 0);
			assert_int_equal(gpuva_heap_free(h, BASE, PG), 0);
			gpuva_heap_get_stats(h, &st);
		}
		assert_int_equal(st.bytes, floor_bytes);
	}
	gpuva_heap_destroy(h);
}

/* The slot of the record of the used tile at unit @u (white box). */
static size_t
flat_slot_of(const struct gpuva_heap *h, uint32_t u)
{
	const struct heap_flat *t = &h->flat;
	const uint8_t *ctrl = (const uint8_t *)(t->slot + (size_t)t->ng * FLAT_GROUP);

	for (size_t k = 0; k < (size_t)t->ng * FLAT_GROUP; k++)
		if (!(ctrl[k] & 0x80) && (uint32_t)(t->slot[k] >> 32) == u)
			return k;
	fail_msg("no record at unit 0x%" PRIx32, u);
	return 0;
}

static void
check_reports_a_broken_flat_heap(void **state)
{
	struct gpuva_heap *h = flat_new(BASE, RANGE, 0);
	struct heap_flat *t = &h->flat;
	struct flat_hole hole;
	uint8_t *ctrl, tag;
	uint64_t rec;
	uint32_t max;
	size_t k;

	(void)state;
	for (uint64_t i = 0; i < 8; i++)
		assert_int_equal(gpuva_heap_alloc(h, PG, PG, 0, &(uint64_t){0}), 0);
	for (uint64_t i = 1; i < 8; i += 2)
		assert_int_equal(gpuva_heap_free(h, BASE + i * PG, PG), 0);
	assert_int_equal(gpuva_heap_reserve(h, BASE + 0x100000, PG), 0);
	/* holes at pages 1, 3, 5, from 7 to the reservation, and above it */
	assert_true(heap_is_flat(h));
	assert_int_equal(t->nh, 5);
	assert_int_equal(gpuva_heap_check(h), 0);
	ctrl = (uint8_t *)(t->slot + (size_t)t->ng * FLAT_GROUP);

#define BREAKS(change, undo, why)					\
	do {								\
		change;							\
		assert_int_equal(gpuva_heap_check(h), -EINVAL);		\
		assert_reason(h, why);					\
		undo;							\
		assert_int_equal(gpuva_heap_check(h), 0);		\
	} while (0)

	hole = t->hole[0];
	BREAKS((t->hole[0] = t->hole[1], t->hole[1] = hole),
	       (t->hole[1] = t->hole[0], t->hole[0] = hole), "flat holes out of order");
	BREAKS(t->hole[1].len = 0, t->hole[1].len = hole.len, "out of range or empty");
	BREAKS(t->nh--, t->nh++, "hole array's count is not the heap's");
	k = flat_slot_of(h, 2 * PG);
	tag = ctrl[k];
	BREAKS(ctrl[k] = tag ^ 1, ctrl[k] = tag, "under another key's tag");
	BREAKS(t->used++, t->used--, "table's counts are wrong");
	BREAKS(h->holes++, h->holes--, "hole array's count is not the heap's");
	/* page 2 grows over the hole at page 3 without it moving */
	rec = t->slot[k];
	BREAKS(t->slot[k] = rec + 1, t->slot[k] = rec, "do not follow each other");
	max = h->flat_max;
	BREAKS(h->flat_max = (uint32_t)heap_tiles(h) - 1, h->flat_max = max,
	       "more tiles than the flat mode takes");
#undef BREAKS
	gpuva_heap_destroy(h);
}

/* ---- the near-miss budget ---- */

/* Alloc_fixed every byte of the heap but @holes ({addr, size}, sorted). */
static void
leave_holes(struct gpuva_heap *heap, const uint64_t (*holes)[2], size_t n)
{
	uint64_t x = BASE;

	for (size_t i = 0; i <= n; i++) {
		uint64_t next = i < n ? holes[i][0] : END;

		if (next > x)
			assert_int_equal(gpuva_heap_alloc_fixed(heap, x, next - x), 0);
		if (i < n)
			x = holes[i][0] + holes[i][1];
	}
	assert_int_equal(gpuva_heap_check(heap), 0);
}

/*
 * @misses holes of 0x2000 bytes at odd pages, where 0x2000 bytes aligned
 * to 0x2000 do not fit (near misses), then a 0x3000-byte hole where they
 * do, then a big hole, the rest of the heap: in that order for a low
 * search, from the top down for a high one. Returns the address of
 * gpuva_heap_alloc(0x2000, align 0x2000) and the exact fit in *exact, the
 * fallback's choice (the first hole of 0x3fff bytes or more) in
 * *fallback. @tiny: a tree of tiny nodes, the holes over many leaves.
 * @pages: a heap 4 GiB larger, taken above END, so that the flat mode
 * counts in pages: the 0x3000-byte hole is then 3 units, one unit short
 * of the fallback's 0x3fff bytes, not "0x3fff units".
 */
static uint64_t
budget_case(unsigned misses, bool high, bool tiny, bool pages, uint64_t *exact,
	    uint64_t *fallback)
{
	uint64_t holes[GPUVA_HEAP_SEARCH_BUDGET + 8][2], a = 0;
	struct gpuva_heap *h;
	size_t n = 0;

	assert_true(misses + 2 <= GPUVA_HEAP_SEARCH_BUDGET + 8);
	heap_new(BASE, RANGE + (pages ? UINT64_C(1) << 32 : 0), &h);
	if (pages)
		assert_int_equal(gpuva_heap_reserve(h, END, UINT64_C(1) << 32), 0);
	if (tiny)
		fx_tiny(h);
	if (!high) {
		uint64_t f = BASE + 0x1000 + misses * 0x4000;

		for (unsigned i = 0; i < misses; i++) {
			holes[n][0] = BASE + 0x1000 + i * 0x4000;
			holes[n++][1] = 0x2000;
		}
		holes[n][0] = f;		/* fits at f + 0x1000 */
		holes[n++][1] = 0x3000;
		holes[n][0] = f + 0x4000;	/* the rest */
		holes[n++][1] = END - f - 0x4000;
		*exact = f + 0x1000;
		*fallback = f + 0x5000;	/* f + 0x4000 is an odd page */
	} else {
		uint64_t lowest = END - 0x3000 - (misses - 1) * 0x4000;
		uint64_t g = lowest - 0x5000;

		holes[n][0] = BASE;		/* the rest */
		holes[n++][1] = g - 0x1000 - BASE;
		holes[n][0] = g;		/* fits at g */
		holes[n++][1] = 0x3000;
		for (unsigned i = misses; i-- > 0;) {
			holes[n][0] = END - 0x3000 - i * 0x4000;
			holes[n++][1] = 0x2000;
		}
		*exact = g;
		*fallback = g - 0x4000;	/* g - 0x3000 is an odd page */
	}
	leave_holes(h, (const uint64_t (*)[2])holes, n);
	if (tiny)
		assert_true(h->depth >= 3);
	assert_int_equal(gpuva_heap_alloc(h, 0x2000, 0x2000,
					  high ? GPUVA_HEAP_HIGH : 0, &a), 0);
	assert_int_equal(gpuva_heap_check(h), 0);
	gpuva_heap_destroy(h);
	return a;
}

static void
near_miss_budget_exactly_spent_still_takes_the_exact_fit(void **state)
{
	uint64_t exact, fallback, a;

	(void)state;
	for (int shape = 0; shape < 3; shape++) {
		for (int high = 0; high < 2; high++) {
			a = budget_case(GPUVA_HEAP_SEARCH_BUDGET, high, shape == 1,
					shape == 2, &exact, &fallback);
			assert_int_equal(a, exact);
			/* and one fewer, as before */
			a = budget_case(GPUVA_HEAP_SEARCH_BUDGET - 1, high, shape == 1,
					shape == 2, &exact, &fallback);
			assert_int_equal(a, exact);
		}
	}
}

static void
one_near_miss_past_the_budget_takes_the_fallback(void **state)
{
	uint64_t exact, fallback, a;

	(void)state;
	/* bytes, a tree of tiny nodes, pages */
	for (int shape = 0; shape < 3; shape++) {
		for (int high = 0; high < 2; high++) {
			a = budget_case(GPUVA_HEAP_SEARCH_BUDGET + 1, high, shape == 1,
					shape == 2, &exact, &fallback);
			assert_int_equal(a, fallback);
			assert_true(fallback != exact);
		}
	}
}

/* ---- the VM's heap ---- */

static struct gpuva_vm *
make_vm(void)
{
	struct gpuva_vm_desc d = {
		.start = 0x10000, .range = 0x100000,
		.reserved_start = 0x80000, .reserved_range = 0x10000,
		.page_size = 0x1000,
	};
	struct gpuva_vm *vm;

	assert_int_equal(gpuva_vm_create(&d, &vm), 0);
	return vm;
}

static void
vm_alloc_addr_uses_the_vm_range_minus_the_kernel_range(void **state)
{
	struct gpuva_vm *vm = make_vm();
	struct gpuva_heap *heap;
	struct gpuva_heap_stats st;
	uint64_t a;

	assert_int_equal(gpuva_vm_alloc_addr(vm, 0x1000, 1, 0, &a), 0);
	assert_int_equal(a, 0x10000);
	assert_int_equal(gpuva_vm_alloc_addr(vm, 0x70000, 0x1000, 0, &a), 0);
	assert_int_equal(a, 0x90000);	/* above the kernel range */
	assert_int_equal(gpuva_vm_alloc_addr(vm, 0x1000, 0x1000,
					     GPUVA_HEAP_HIGH, &a), 0);
	assert_int_equal(a, 0x10f000);
	assert_true(gpuva_vm_range_valid(vm, a, 0x1000));
	assert_int_equal(gpuva_vm_get_heap(vm, &heap), 0);
	gpuva_heap_get_stats(heap, &st);
	assert_int_equal(st.start, 0x10000);
	assert_int_equal(st.range, 0x100000);
	assert_int_equal(st.reserved_bytes, 0x10000);
	assert_int_equal(gpuva_vm_free_addr(vm, a, 0x1000), 0);
	assert_int_equal(gpuva_heap_check(heap), 0);
	gpuva_vm_destroy(vm);	/* frees the heap with live allocations */
}

static void
vm_alloc_addr_rejects_sizes_off_the_page_size(void **state)
{
	struct gpuva_vm *vm = make_vm();
	struct gpuva_heap *heap;
	struct fx_saved before;
	uint64_t a = UNTOUCHED;

	/* one allocation, so that the heap exists and has something to keep */
	assert_int_equal(gpuva_vm_alloc_addr(vm, 0x1000, 1, 0, &a), 0);
	assert_int_equal(gpuva_vm_get_heap(vm, &heap), 0);
	before = fx_save(heap);
	a = UNTOUCHED;
	assert_int_equal(gpuva_vm_alloc_addr(vm, 0x800, 1, 0, &a), -EINVAL);
	assert_non_null(strstr(gpuva_vm_last_error(vm), "page size 0x1000"));
	assert_int_equal(gpuva_vm_alloc_addr(vm, 0x1000, 3, 0, &a), -EINVAL);
	assert_non_null(strstr(gpuva_vm_last_error(vm), "power of two"));
	assert_int_equal(gpuva_vm_alloc_addr(vm, 0x200000, 1, 0, &a), -ENOSPC);
	assert_int_equal(gpuva_vm_free_addr(vm, 0x20000, 0x1000), -EINVAL);
	assert_non_null(strstr(gpuva_vm_last_error(vm), "not allocated"));
	assert_int_equal(a, UNTOUCHED);
	fx_assert_unchanged(heap, &before);
	gpuva_vm_destroy(vm);
}

static void
vm_free_addr_before_any_alloc_is_rejected(void **state)
{
	struct gpuva_vm *vm = make_vm();

	assert_int_equal(gpuva_vm_free_addr(vm, 0x10000, 0x1000), -EINVAL);
	assert_non_null(strstr(gpuva_vm_last_error(vm), "not allocated"));
	gpuva_vm_destroy(vm);
}

static void
vm_kernel_range_cannot_be_unreserved(void **state)
{
	struct gpuva_vm *vm = make_vm();
	struct gpuva_heap *heap, *again;

	assert_int_equal(gpuva_vm_get_heap(vm, &heap), 0);
	assert_int_equal(gpuva_vm_get_heap(vm, &again), 0);
	assert_ptr_equal(heap, again);
	assert_int_equal(gpuva_heap_unreserve(heap, 0x80000, 0x10000), -EINVAL);
	assert_non_null(strstr(gpuva_heap_last_error(heap),
			       "kernel-reserved range"));
	assert_false(gpuva_heap_is_free(heap, 0x80000, 1));
	gpuva_vm_destroy(vm);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_rejects_zero_range_overflow_and_null_out),
		T(create_makes_one_hole_over_the_whole_range),
		cmocka_unit_test(destroy_accepts_null_and_a_heap_with_live_allocations),
		cmocka_unit_test(a_heap_at_the_top_of_the_address_space_allocates_and_frees),
		T(alloc_low_first_packs_from_the_start),
		T(alloc_high_first_packs_from_the_end),
		T(alloc_rounds_the_start_up_to_the_alignment),
		T(alloc_takes_the_lowest_exact_fit_below_a_bigger_hole),
		T(alloc_settles_for_a_guaranteed_hole_after_too_many_near_misses),
		T(alloc_of_zero_bytes_is_rejected_and_changes_nothing),
		T(alloc_with_an_alignment_not_a_power_of_two_is_rejected),
		T(alloc_with_unknown_flags_or_no_out_pointer_is_rejected),
		T(alloc_larger_than_any_hole_returns_enospc_and_changes_nothing),
		T(alloc_when_only_misaligned_room_is_left_returns_enospc),
		T(alloc_without_memory_for_a_block_returns_enomem_and_changes_nothing),
		T(alloc_refused_for_no_fit_takes_no_memory_even_when_there_is_none),
		T(alloc_in_range_stays_inside_the_window),
		T(alloc_in_range_clips_a_window_that_overhangs_the_heap),
		T(alloc_in_range_with_a_bad_window_is_rejected_and_changes_nothing),
		cmocka_unit_test(alloc_no_span_never_crosses_the_4gib_boundary),
		cmocka_unit_test(alloc_no_span_high_ends_below_the_boundary),
		T(alloc_no_span_larger_than_the_block_is_rejected),
		T(alloc_fixed_takes_exactly_the_range_and_splits_the_hole),
		T(alloc_fixed_on_a_taken_byte_returns_enospc_naming_the_owner),
		T(alloc_fixed_with_bad_ranges_is_rejected_and_changes_nothing),
		T(reserve_keeps_allocations_out_until_unreserved),
		T(unreserve_of_anything_but_a_reservation_is_rejected),
		T(free_merges_with_both_neighbours),
		T(free_merges_with_the_hole_below_or_above_or_none),
		T(free_of_an_address_never_allocated_is_rejected_and_changes_nothing),
		T(double_free_is_rejected_and_changes_nothing),
		T(free_with_a_wrong_size_or_inside_an_allocation_is_rejected),
		T(stats_count_holes_bytes_and_the_largest_hole),
		T(for_each_hole_visits_holes_in_order_and_stops_on_non_zero),
		T(for_each_range_tiles_the_heap_with_every_state),
		T(is_free_is_false_for_taken_empty_overflowing_or_outside_ranges),
		T(log_fn_receives_each_rejection_reason),
		cmocka_unit_test(last_error_keeps_the_longest_reasons_whole_and_log_fn_gets_the_same_text),
		cmocka_unit_test(last_error_of_one_heap_survives_rejections_on_another),
		T(free_errors_in_a_long_run_of_allocations_still_name_the_allocation),
		T(free_of_a_leafs_first_tile_grows_the_hole_that_ends_the_leaf_before),
		T(an_empty_heap_costs_at_most_1_kib_and_memory_follows_the_tiles),
		T(the_tree_grows_and_shrinks_back_to_one_leaf_repeatedly),
		T(a_split_up_to_a_new_root_fails_with_enomem_and_changes_nothing),
		T(free_never_needs_memory_and_gives_blocks_back),
		cmocka_unit_test(wide_leaves_hold_starts_too_far_apart_for_32_bit_offsets),
		T(check_reports_a_broken_tree),
		cmocka_unit_test(past_flat_max_tiles_a_heap_is_a_tree_at_the_same_addresses_and_flat_again_at_half),
		cmocka_unit_test(a_tile_off_the_page_units_keeps_the_heap_a_tree_until_it_is_freed),
		cmocka_unit_test(flat_requests_without_memory_to_grow_return_enomem_and_change_nothing),
		cmocka_unit_test(flat_frees_never_need_memory_and_memory_follows_the_tiles_down),
		cmocka_unit_test(check_reports_a_broken_flat_heap),
		cmocka_unit_test(near_miss_budget_exactly_spent_still_takes_the_exact_fit),
		cmocka_unit_test(one_near_miss_past_the_budget_takes_the_fallback),
		cmocka_unit_test(vm_alloc_addr_uses_the_vm_range_minus_the_kernel_range),
		cmocka_unit_test(vm_alloc_addr_rejects_sizes_off_the_page_size),
		cmocka_unit_test(vm_free_addr_before_any_alloc_is_rejected),
		cmocka_unit_test(vm_kernel_range_cannot_be_unreserved),
	};

	int failed;

	/* the API on heaps as created (flat while small), then on trees */
	failed = cmocka_run_group_tests_name("heap, flat", tests, NULL, NULL);
	as_tree = true;
	failed += cmocka_run_group_tests_name("heap, tree", tests, NULL, NULL);
	return failed;
}
