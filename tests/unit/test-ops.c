/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the ops layer (include/gpuva/ops.h) against drm_gpuvm's
 * split and merge (docs/op-model.md): twelve worked cases, numbered as the
 * project's specification of drm_gpuvm numbers them, in both ways of
 * consuming ops (step callbacks applied as they come, and op lists applied
 * with gpuva_vm_apply_ops()), the other generators, the apply helpers, and
 * every validation rule.
 *
 * Expected ops are written in docs/trace-format.md syntax (BO ids: A = 1,
 * B = 2, C = 3, 0 = NULL), so a failure reads like a `gpuva replay` diff.
 *
 * Case 11 (madvise, "split only") is not here: libgpuva does
 * not implement drm_gpuvm_madvise_ops_create().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

/*
 * This executable links with -Wl,--wrap=realloc (tests/unit/meson.build):
 * the library's realloc calls come here, and fail while realloc_fails is
 * set, so that an op list cannot grow.
 */
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
static bool realloc_fails;

void *
__wrap_realloc(void *p, size_t n)
{
	return realloc_fails ? NULL : __real_realloc(p, n);
}

/*
 * Also -Wl,--wrap=aligned_alloc: the index's node chunks (and the default
 * mapping slab's pages) come from it, so this makes index reserves fail.
 */
void *__real_aligned_alloc(size_t align, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);
static bool aligned_alloc_fails;

void *
__wrap_aligned_alloc(size_t align, size_t n)
{
	return aligned_alloc_fails ? NULL : __real_aligned_alloc(align, n);
}

/* Case 7's start state: three VAs, the middle one of another BO. */
static void
given_case_7_start(struct fx *fx)
{
	fx_given(fx, 0x10000, 0x2000, A, 0x0);
	fx_given(fx, 0x12000, 0x1000, B, 0x0);
	fx_given(fx, 0x14000, 0x2000, A, 0x2000);
}

/* ---- section 8: worked examples ------------------------------------------------ */

static void
sm_map_case_1_map_into_empty_space_emits_only_the_map(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		assert_int_equal(fx_map(fx, 0x10000, 0x4000, A, 0x0), 0);
		fx_assert_ops(fx, "map 0x10000 0x4000 1 0x0");
		fx_assert_state(fx, "va 0x10000 0x4000 1 0x0");
		assert_string_equal(fx_link_order(fx, A), "0x10000");
	}
}

static void
sm_map_case_2a_identical_remap_is_unmap_keep_1_then_map_not_a_no_op(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x10000, 0x4000, A, 0x0);
		assert_int_equal(fx_map(fx, 0x10000, 0x4000, A, 0x0), 0);
		fx_assert_ops(fx,
			"unmap 0x10000 0x4000 1 0x0 keep=1",
			"map 0x10000 0x4000 1 0x0");
		fx_assert_state(fx, "va 0x10000 0x4000 1 0x0");
	}
}

static void
sm_map_case_2b_same_range_new_offset_is_unmap_keep_0_then_map(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x10000, 0x4000, A, 0x0);
		assert_int_equal(fx_map(fx, 0x10000, 0x4000, A, 0x8000), 0);
		fx_assert_ops(fx,
			"unmap 0x10000 0x4000 1 0x0 keep=0",
			"map 0x10000 0x4000 1 0x8000");
		fx_assert_state(fx, "va 0x10000 0x4000 1 0x8000");
	}
}

static void
sm_map_case_3a_request_inside_one_va_same_bo_contiguous_keeps(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x10000, 0x3000, A, 0x0);
		assert_int_equal(fx_map(fx, 0x11000, 0x1000, A, 0x1000), 0);
		fx_assert_ops(fx,
			"remap 0x10000 0x3000 keep=1 prev=0x10000,0x1000,1,0x0 next=0x12000,0x1000,1,0x2000",
			"map 0x11000 0x1000 1 0x1000");
		fx_assert_state(fx,
			"va 0x10000 0x1000 1 0x0",
			"va 0x11000 0x1000 1 0x1000",
			"va 0x12000 0x1000 1 0x2000");
	}
}

static void
sm_map_case_3b_request_inside_one_va_other_bo_does_not_keep(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x10000, 0x3000, A, 0x0);
		assert_int_equal(fx_map(fx, 0x11000, 0x1000, B, 0x0), 0);
		fx_assert_ops(fx,
			"remap 0x10000 0x3000 keep=0 prev=0x10000,0x1000,1,0x0 next=0x12000,0x1000,1,0x2000",
			"map 0x11000 0x1000 2 0x0");
		fx_assert_state(fx,
			"va 0x10000 0x1000 1 0x0",
			"va 0x11000 0x1000 2 0x0",
			"va 0x12000 0x1000 1 0x2000");
		assert_string_equal(fx_link_order(fx, A), "0x10000 0x12000");
		assert_string_equal(fx_link_order(fx, B), "0x11000");
	}
}

static void
sm_map_case_4_request_at_a_va_start_ending_inside_keeps_the_tail(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x10000, 0x2000, A, 0x4000);
		assert_int_equal(fx_map(fx, 0x10000, 0x1000, B, 0x0), 0);
		fx_assert_ops(fx,
			"remap 0x10000 0x2000 keep=0 prev=- next=0x11000,0x1000,1,0x5000",
			"map 0x10000 0x1000 2 0x0");
		fx_assert_state(fx,
			"va 0x10000 0x1000 2 0x0",
			"va 0x11000 0x1000 1 0x5000");
	}
}

static void
sm_map_case_5_request_over_a_va_tail_same_bo_contiguous_keeps(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x10000, 0x2000, A, 0x0);
		assert_int_equal(fx_map(fx, 0x11000, 0x2000, A, 0x1000), 0);
		fx_assert_ops(fx,
			"remap 0x10000 0x2000 keep=1 prev=0x10000,0x1000,1,0x0 next=-",
			"map 0x11000 0x2000 1 0x1000");
		fx_assert_state(fx,
			"va 0x10000 0x1000 1 0x0",
			"va 0x11000 0x2000 1 0x1000");
	}
}

static void
sm_map_case_6a_request_over_a_va_head_other_bo_does_not_keep(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x11000, 0x2000, A, 0x5000);
		assert_int_equal(fx_map(fx, 0x10000, 0x2000, B, 0x0), 0);
		fx_assert_ops(fx,
			"remap 0x11000 0x2000 keep=0 prev=- next=0x12000,0x1000,1,0x6000",
			"map 0x10000 0x2000 2 0x0");
		fx_assert_state(fx,
			"va 0x10000 0x2000 2 0x0",
			"va 0x12000 0x1000 1 0x6000");
	}
}

static void
sm_map_case_6b_request_over_a_va_head_same_bo_contiguous_keeps(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x11000, 0x2000, A, 0x5000);
		assert_int_equal(fx_map(fx, 0x10000, 0x2000, A, 0x4000), 0);
		fx_assert_ops(fx,
			"remap 0x11000 0x2000 keep=1 prev=- next=0x12000,0x1000,1,0x6000",
			"map 0x10000 0x2000 1 0x4000");
		fx_assert_state(fx,
			"va 0x10000 0x2000 1 0x4000",
			"va 0x12000 0x1000 1 0x6000");
	}
}

static void
sm_map_case_7_request_spanning_three_vas_emits_them_in_address_order(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		given_case_7_start(fx);
		assert_int_equal(fx_map(fx, 0x11000, 0x4000, C, 0x0), 0);
		fx_assert_ops(fx,
			"remap 0x10000 0x2000 keep=0 prev=0x10000,0x1000,1,0x0 next=-",
			"unmap 0x12000 0x1000 2 0x0 keep=0",
			"remap 0x14000 0x2000 keep=0 prev=- next=0x15000,0x1000,1,0x3000",
			"map 0x11000 0x4000 3 0x0");
		fx_assert_state(fx,
			"va 0x10000 0x1000 1 0x0",
			"va 0x11000 0x4000 3 0x0",
			"va 0x15000 0x1000 1 0x3000");
		/* B's last mapping went: its vm_bo went with it */
		assert_string_equal(fx_link_order(fx, B), "none");
		assert_string_equal(fx_link_order(fx, A), "0x10000 0x15000");
	}
}

static void
sm_map_case_8a_bo_into_a_null_va_advances_the_null_next_offset(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x10000, 0x4000, NOBO, 0x0);
		assert_int_equal(fx_map(fx, 0x11000, 0x1000, A, 0x0), 0);
		fx_assert_ops(fx,
			"remap 0x10000 0x4000 keep=0 prev=0x10000,0x1000,0,0x0 next=0x12000,0x2000,0,0x2000",
			"map 0x11000 0x1000 1 0x0");
		fx_assert_state(fx,
			"va 0x10000 0x1000 0 0x0",
			"va 0x11000 0x1000 1 0x0",
			"va 0x12000 0x2000 0 0x2000");
		/* NULL pieces belong to no vm_bo */
		assert_null(gpuva_vm_find(fx->vm, 0x12000, 0x2000)->vm_bo);
		assert_string_equal(fx_link_order(fx, A), "0x11000");
	}
}

static void
sm_map_case_8b_identical_null_remap_never_keeps(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x10000, 0x4000, NOBO, 0x0);
		assert_int_equal(fx_map(fx, 0x10000, 0x4000, NOBO, 0x0), 0);
		fx_assert_ops(fx,
			"unmap 0x10000 0x4000 0 0x0 keep=0",
			"map 0x10000 0x4000 0 0x0");
		fx_assert_state(fx, "va 0x10000 0x4000 0 0x0");
	}
}

static void
sm_map_case_9a_superset_of_one_va_same_bo_contiguous_keeps(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x11000, 0x1000, A, 0x1000);
		assert_int_equal(fx_map(fx, 0x10000, 0x3000, A, 0x0), 0);
		fx_assert_ops(fx,
			"unmap 0x11000 0x1000 1 0x1000 keep=1",
			"map 0x10000 0x3000 1 0x0");
		fx_assert_state(fx, "va 0x10000 0x3000 1 0x0");
	}
}

static void
sm_map_case_9b_superset_of_two_vas_keeps_per_va(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x10000, 0x1000, A, 0x0);
		fx_given(fx, 0x11000, 0x1000, B, 0x3000);
		assert_int_equal(fx_map(fx, 0x10000, 0x3000, A, 0x0), 0);
		fx_assert_ops(fx,
			"unmap 0x10000 0x1000 1 0x0 keep=1",
			"unmap 0x11000 0x1000 2 0x3000 keep=0",
			"map 0x10000 0x3000 1 0x0");
		fx_assert_state(fx, "va 0x10000 0x3000 1 0x0");
	}
}

static void
sm_unmap_case_10a_over_three_vas_remaps_the_ends_and_unmaps_the_middle(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		given_case_7_start(fx);
		assert_int_equal(fx_unmap(fx, 0x11000, 0x4000), 0);
		fx_assert_ops(fx,
			"remap 0x10000 0x2000 keep=0 prev=0x10000,0x1000,1,0x0 next=-",
			"unmap 0x12000 0x1000 2 0x0 keep=0",
			"remap 0x14000 0x2000 keep=0 prev=- next=0x15000,0x1000,1,0x3000");
		fx_assert_state(fx,
			"va 0x10000 0x1000 1 0x0",
			"va 0x15000 0x1000 1 0x3000");
	}
}

static void
sm_unmap_case_10b_inside_one_va_leaves_prev_and_next(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x10000, 0x4000, A, 0x8000);
		assert_int_equal(fx_unmap(fx, 0x11000, 0x2000), 0);
		fx_assert_ops(fx,
			"remap 0x10000 0x4000 keep=0 prev=0x10000,0x1000,1,0x8000 next=0x13000,0x1000,1,0xb000");
		fx_assert_state(fx,
			"va 0x10000 0x1000 1 0x8000",
			"va 0x13000 0x1000 1 0xb000");
	}
}

static void
sm_unmap_case_10c_of_a_whole_va_is_an_unmap_that_never_keeps(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x10000, 0x4000, A, 0x8000);
		assert_int_equal(fx_unmap(fx, 0x10000, 0x4000), 0);
		fx_assert_ops(fx, "unmap 0x10000 0x4000 1 0x8000 keep=0");
		fx_assert_empty(fx);
		assert_string_equal(fx_link_order(fx, A), "none");
	}
}

static void
sm_unmap_case_10d_of_a_hole_succeeds_with_no_ops(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		struct fx_saved before;

		/* neighbours that only touch the request are not visited */
		fx_given(fx, 0x10000, 0x1000, A, 0x0);
		fx_given(fx, 0x15000, 0x1000, A, 0x0);
		before = fx_save(fx);
		assert_int_equal(fx_unmap(fx, 0x11000, 0x4000), 0);
		fx_assert_no_ops(fx);
		fx_assert_unchanged(fx, &before);
	}
}

static void
sm_unmap_never_emits_map_nor_keep_even_for_same_bo_runs(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x10000, 0x1000, A, 0x0);
		fx_given(fx, 0x11000, 0x1000, A, 0x1000);
		fx_given(fx, 0x12000, 0x2000, A, 0x2000);
		assert_int_equal(fx_unmap(fx, 0x10000, 0x3000), 0);
		fx_assert_ops(fx,
			"unmap 0x10000 0x1000 1 0x0 keep=0",
			"unmap 0x11000 0x1000 1 0x1000 keep=0",
			"remap 0x12000 0x2000 keep=0 prev=- next=0x13000,0x1000,1,0x3000");
		fx_assert_state(fx, "va 0x13000 0x1000 1 0x3000");
	}
}

/* Case 12's VM: [0x0, 0x100000000) with [0xffff0000, +0x10000) reserved. */
static void
use_case_12_vm(struct fx *fx)
{
	struct fx_opts o = fx_default_opts();

	o.range = 0x100000000ull;
	o.rsv_start = 0xffff0000ull;
	o.rsv_range = 0x10000;
	fx_recreate(fx, &o);
}

/*
 * In list mode, leave fx->ops full (one PREFETCH per mapping) so that a
 * rejected request is seen to empty it ("on any error @ops is left empty").
 */
static void
fill_list(struct fx *fx)
{
	if (fx->mode != FX_LIST)
		return;
	assert_int_equal(gpuva_vm_prefetch_ops(fx->vm, 0, UINT64_MAX, &fx->ops), 0);
	assert_int_equal(fx->ops.count, gpuva_vm_count(fx->vm));
}

#define REJECT_MAP(fx, word, ...) \
	reject_map((fx), (word), __FILE__, __LINE__, \
		   (struct gpuva_map_req){ __VA_ARGS__ })

/* A map request in the current mode that must be rejected for @word. */
static void
reject_map(struct fx *fx, const char *word, const char *file, int line,
	   struct gpuva_map_req req)
{
	struct fx_saved before;
	int ret;

	fill_list(fx);
	before = fx_save(fx);
	ret = fx_map_req(fx, &req);

	fx_assert_rejected_(fx, ret, word, &before, file, line);
}

#define REJECT_UNMAP(fx, word, addr, range) \
	reject_unmap((fx), (word), (addr), (range), __FILE__, __LINE__)

static void
reject_unmap(struct fx *fx, const char *word, uint64_t addr, uint64_t range,
	     const char *file, int line)
{
	struct fx_saved before;
	int ret;

	fill_list(fx);
	before = fx_save(fx);
	ret = fx_unmap(fx, addr, range);

	fx_assert_rejected_(fx, ret, word, &before, file, line);
}

static void
sm_map_case_12_invalid_requests_are_rejected_and_change_nothing(void **state)
{
	struct fx *fx = *state;

	use_case_12_vm(fx);
	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x10000, 0x4000, A, 0x0);
		/* the list mode must empty a list left full by this map */
		REJECT_MAP(fx, "reserved", .addr = 0xfffef000ull, .range = 0x2000,
			   .bo = fx_bo(fx, A));
		REJECT_MAP(fx, "outside", .addr = 0x0, .range = 0x100001000ull,
			   .bo = fx_bo(fx, A));
		REJECT_MAP(fx, "overflow", .addr = 0xfffffffffffff000ull,
			   .range = 0x2000, .bo = fx_bo(fx, A));
		REJECT_MAP(fx, "zero", .addr = 0x60000, .range = 0x0,
			   .bo = fx_bo(fx, A));
		fx_assert_state(fx, "va 0x10000 0x4000 1 0x0");
	}
}

static void
sm_unmap_case_12_invalid_requests_are_rejected_and_change_nothing(void **state)
{
	struct fx *fx = *state;

	use_case_12_vm(fx);
	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x10000, 0x4000, A, 0x0);
		REJECT_UNMAP(fx, "reserved", 0xfffef000ull, 0x2000);
		REJECT_UNMAP(fx, "outside", 0x0, 0x100001000ull);
		REJECT_UNMAP(fx, "overflow", 0xfffffffffffff000ull, 0x2000);
		REJECT_UNMAP(fx, "zero", 0x10000, 0x0);
		fx_assert_state(fx, "va 0x10000 0x4000 1 0x0");
	}
}

/* Appendix B of ops-semantics.md, request by request. */
static void
golden_trace_of_appendix_b(struct fx *fx, uint32_t vm_flags)
{
	struct fx_opts o = fx_default_opts();

	o.range = 0x100000000ull;
	o.rsv_start = 0xffff0000ull;
	o.rsv_range = 0x10000;
	o.flags = vm_flags;
	fx_recreate(fx, &o);
	FX_FOR_EACH_MODE(fx) {
		assert_int_equal(fx_map(fx, 0x10000, 0x4000, 1, 0x0), 0);
		fx_assert_ops(fx, "map 0x10000 0x4000 1 0x0");
		assert_int_equal(fx_map(fx, 0x10000, 0x4000, 1, 0x0), 0);
		fx_assert_ops(fx, "unmap 0x10000 0x4000 1 0x0 keep=1",
			      "map 0x10000 0x4000 1 0x0");
		assert_int_equal(fx_map(fx, 0x10000, 0x4000, 1, 0x8000), 0);
		fx_assert_ops(fx, "unmap 0x10000 0x4000 1 0x0 keep=0",
			      "map 0x10000 0x4000 1 0x8000");
		assert_int_equal(fx_map(fx, 0x11000, 0x1000, 1, 0x9000), 0);
		fx_assert_ops(fx,
			"remap 0x10000 0x4000 keep=1 prev=0x10000,0x1000,1,0x8000 next=0x12000,0x2000,1,0xa000",
			"map 0x11000 0x1000 1 0x9000");
		assert_int_equal(fx_map(fx, 0x12000, 0x1000, 2, 0x0), 0);
		fx_assert_ops(fx,
			"remap 0x12000 0x2000 keep=0 prev=- next=0x13000,0x1000,1,0xb000",
			"map 0x12000 0x1000 2 0x0");
		fx_assert_state(fx,
			"va 0x10000 0x1000 1 0x8000",
			"va 0x11000 0x1000 1 0x9000",
			"va 0x12000 0x1000 2 0x0",
			"va 0x13000 0x1000 1 0xb000");
		assert_int_equal(fx_map(fx, 0x10800, 0x3000, 3, 0x0), 0);
		fx_assert_ops(fx,
			"remap 0x10000 0x1000 keep=0 prev=0x10000,0x800,1,0x8000 next=-",
			"unmap 0x11000 0x1000 1 0x9000 keep=0",
			"unmap 0x12000 0x1000 2 0x0 keep=0",
			"remap 0x13000 0x1000 keep=0 prev=- next=0x13800,0x800,1,0xb800",
			"map 0x10800 0x3000 3 0x0");
		fx_assert_state(fx,
			"va 0x10000 0x800 1 0x8000",
			"va 0x10800 0x3000 3 0x0",
			"va 0x13800 0x800 1 0xb800");
		assert_int_equal(fx_map(fx, 0x40000, 0x10000, 0, 0x0), 0);
		fx_assert_ops(fx, "map 0x40000 0x10000 0 0x0");
		assert_int_equal(fx_map(fx, 0x42000, 0x2000, 1, 0x20000), 0);
		fx_assert_ops(fx,
			"remap 0x40000 0x10000 keep=0 prev=0x40000,0x2000,0,0x0 next=0x44000,0xc000,0,0x4000",
			"map 0x42000 0x2000 1 0x20000");
		assert_int_equal(fx_unmap(fx, 0x42000, 0x2000), 0);
		fx_assert_ops(fx, "unmap 0x42000 0x2000 1 0x20000 keep=0");
		assert_int_equal(fx_unmap(fx, 0x3f000, 0x8000), 0);
		fx_assert_ops(fx,
			"unmap 0x40000 0x2000 0 0x0 keep=0",
			"remap 0x44000 0xc000 keep=0 prev=- next=0x47000,0x9000,0,0x7000");
		assert_int_equal(fx_unmap(fx, 0x50000, 0x1000), 0);
		fx_assert_no_ops(fx);
		assert_int_equal(fx_map(fx, 0x60000, 0x0, 1, 0x0), -EINVAL);
		assert_int_equal(fx_map(fx, 0xfffef000ull, 0x2000, 1, 0x0), -EINVAL);
		assert_int_equal(fx_map(fx, 0x0, 0x100001000ull, 1, 0x0), -EINVAL);
		fx_assert_state(fx,
			"va 0x10000 0x800 1 0x8000",
			"va 0x10800 0x3000 3 0x0",
			"va 0x13800 0x800 1 0xb800",
			"va 0x47000 0x9000 0 0x7000");
	}
}

static void
golden_trace_of_appendix_b_gives_the_same_ops_in_both_modes(void **state)
{
	golden_trace_of_appendix_b(*state, GPUVA_VM_NO_FLAGS);
}

/* GPUVA_VM_CHECK: every invariant holds after each single change */
static void
golden_trace_of_appendix_b_keeps_every_invariant_after_each_change(void **state)
{
	golden_trace_of_appendix_b(*state, GPUVA_VM_CHECK);
}

/* Splits deep inside a big tree (remap replaces nodes that have parents). */
static void
splits_and_unmaps_inside_a_tree_of_many_vas_keep_it_consistent(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		struct gpuva *va;
		uint64_t expect = 0;

		for (unsigned i = 0; i < 200; i++)
			fx_given(fx, 0x1000 * (uint64_t)i, 0x800, 1 + i % 3,
				 0x800 * (uint64_t)i);
		/* cut every VA in [0x40000, 0x80000) in its middle */
		for (uint64_t a = 0x40000; a < 0x80000; a += 0x1000) {
			assert_int_equal(fx_unmap(fx, a + 0x200, 0x400), 0);
			assert_int_equal(fx->log_len > 0, 1);
		}
		assert_int_equal(gpuva_vm_count(fx->vm), 200 + 64);
		/* one map over the middle of it all */
		assert_int_equal(fx_map(fx, 0x20400, 0x80000, C, 0x0), 0);
		/* one remap at each end, every VA in between unmapped */
		assert_non_null(strstr(fx->log,
			"remap 0x20000 0x800 keep=0 prev=0x20000,0x400,3,0x10000 next=-\n"
			"unmap 0x21000 0x800 1 0x10800 keep=0\n"));
		assert_non_null(strstr(fx->log,
			"remap 0xa0000 0x800 keep=0 prev=- next=0xa0400,0x400,2,0x50400\n"
			"map 0x20400 0x80000 3 0x0\n"));
		gpuva_vm_for_each_va(va, fx->vm) {
			assert_true(va->addr >= expect);
			expect = gpuva_end(va);
		}
		assert_int_equal(fx_unmap(fx, 0x0, 0x100000), 0);
		fx_assert_empty(fx);
		assert_null(gpuva_vm_bo_find(fx->vm, fx_bo(fx, A)));
	}
}

/* ---- section 7: validation, in both modes ---------------------------------------- */

static void
map_and_unmap_with_zero_range_are_rejected(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		/* drm_gpuvm would split this VA at 0x11000 (degenerate) */
		fx_given(fx, 0x10000, 0x4000, A, 0x0);
		REJECT_MAP(fx, "zero", .addr = 0x11000, .range = 0,
			   .bo = fx_bo(fx, A));
		REJECT_MAP(fx, "zero", .addr = 0x11000, .range = 0);
		REJECT_UNMAP(fx, "zero", 0x11000, 0);
	}
}

static void
map_and_unmap_whose_end_overflows_64_bits_are_rejected(void **state)
{
	struct fx *fx = *state;
	struct fx_opts o = fx_default_opts();

	o.start = 0xffffffff00000000ull;
	o.range = 0xfffff000ull;
	fx_recreate(fx, &o);
	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0xffffffff00010000ull, 0x1000, A, 0x0);
		REJECT_MAP(fx, "overflow", .addr = 0xffffffff00010000ull,
			   .range = 0xffffffff00000000ull, .bo = fx_bo(fx, A));
		REJECT_MAP(fx, "overflow", .addr = 0xfffffffffffff000ull,
			   .range = 0x1000);
		REJECT_UNMAP(fx, "overflow", 0xffffffff00010000ull,
			     0xffffffff00000000ull);
		REJECT_UNMAP(fx, "overflow", 0xfffffffffffff000ull, 0x1000);
	}
}

static void
map_and_unmap_outside_the_vm_are_rejected_and_its_edges_are_fine(void **state)
{
	struct fx *fx = *state;
	struct fx_opts o = fx_default_opts();

	o.start = 0x10000;
	o.range = 0x10000;
	fx_recreate(fx, &o);
	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x14000, 0x1000, A, 0x0);
		REJECT_MAP(fx, "outside", .addr = 0xf000, .range = 0x2000,
			   .bo = fx_bo(fx, A));
		REJECT_MAP(fx, "outside", .addr = 0x0, .range = 0x1000);
		REJECT_MAP(fx, "outside", .addr = 0x1f000, .range = 0x2000,
			   .bo = fx_bo(fx, B));
		REJECT_MAP(fx, "outside", .addr = 0x20000, .range = 0x1000);
		REJECT_UNMAP(fx, "outside", 0xf000, 0x2000);
		REJECT_UNMAP(fx, "outside", 0x1f000, 0x2000);
		/* starting at the start and ending exactly at the top: fine */
		assert_int_equal(fx_map(fx, 0x10000, 0x1000, B, 0x0), 0);
		assert_int_equal(fx_map(fx, 0x1f000, 0x1000, B, 0x1000), 0);
		assert_int_equal(fx_unmap(fx, 0x10000, 0x10000), 0);
		fx_assert_empty(fx);
	}
}

static void
map_and_unmap_overlapping_the_reserved_range_are_rejected_touching_is_fine(void **state)
{
	struct fx *fx = *state;
	struct fx_opts o = fx_default_opts();

	o.rsv_start = 0x80000;
	o.rsv_range = 0x10000;
	fx_recreate(fx, &o);
	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x10000, 0x1000, A, 0x0);
		REJECT_MAP(fx, "reserved", .addr = 0x7f000, .range = 0x2000,
			   .bo = fx_bo(fx, A));
		REJECT_MAP(fx, "reserved", .addr = 0x8f000, .range = 0x2000);
		REJECT_MAP(fx, "reserved", .addr = 0x84000, .range = 0x1000,
			   .bo = fx_bo(fx, B));
		REJECT_MAP(fx, "reserved", .addr = 0x0, .range = 0x100000,
			   .bo = fx_bo(fx, B));
		REJECT_UNMAP(fx, "reserved", 0x7f000, 0x2000);
		REJECT_UNMAP(fx, "reserved", 0x0, 0x100000);
		/* touching the reserved range on either side is fine */
		assert_int_equal(fx_map(fx, 0x7f000, 0x1000, B, 0x0), 0);
		assert_int_equal(fx_map(fx, 0x90000, 0x1000, B, 0x1000), 0);
		fx_assert_state(fx,
			"va 0x10000 0x1000 1 0x0",
			"va 0x7f000 0x1000 2 0x0",
			"va 0x90000 0x1000 2 0x1000");
		assert_int_equal(fx_unmap(fx, 0x70000, 0x10000), 0);
		assert_int_equal(fx_unmap(fx, 0x90000, 0x10000), 0);
		fx_assert_state(fx, "va 0x10000 0x1000 1 0x0");
	}
}

static void
map_and_unmap_misaligned_for_the_page_size_are_rejected(void **state)
{
	struct fx *fx = *state;
	struct fx_opts o = fx_default_opts();

	o.page_size = 0x1000;
	fx_recreate(fx, &o);
	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x10000, 0x4000, A, 0x0);
		REJECT_MAP(fx, "aligned", .addr = 0x10800, .range = 0x1000,
			   .bo = fx_bo(fx, A));
		REJECT_MAP(fx, "aligned", .addr = 0x11000, .range = 0x800,
			   .bo = fx_bo(fx, A));
		REJECT_MAP(fx, "offset", .addr = 0x11000, .range = 0x1000,
			   .bo = fx_bo(fx, B), .offset = 0x10);
		REJECT_MAP(fx, "aligned", .addr = 0x11000, .range = 0x1001);
		REJECT_UNMAP(fx, "aligned", 0x10800, 0x1000);
		REJECT_UNMAP(fx, "aligned", 0x11000, 0x800);
		assert_int_equal(fx_map(fx, 0x11000, 0x1000, B, 0x3000), 0);
		fx_assert_ops(fx,
			"remap 0x10000 0x4000 keep=0 prev=0x10000,0x1000,1,0x0 next=0x12000,0x2000,1,0x2000",
			"map 0x11000 0x1000 2 0x3000");
	}
}

static void
map_beyond_the_size_of_a_sized_bo_is_rejected_up_to_the_size_is_fine(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		/* B is unmapped in every mode here, so it can be resized */
		gpuva_bo_init(fx_bo(fx, B), 0x4000);
		fx_given(fx, 0x10000, 0x4000, A, 0x0);
		REJECT_MAP(fx, "size", .addr = 0x20000, .range = 0x2000,
			   .bo = fx_bo(fx, B), .offset = 0x3000);
		REJECT_MAP(fx, "size", .addr = 0x20000, .range = 0x5000,
			   .bo = fx_bo(fx, B));
		REJECT_MAP(fx, "size", .addr = 0x20000, .range = 0x1000,
			   .bo = fx_bo(fx, B), .offset = 0x5000);
		/* offset + range wraps: must not pass the check */
		REJECT_MAP(fx, "size", .addr = 0x20000, .range = 0x2000,
			   .bo = fx_bo(fx, B), .offset = 0xfffffffffffff000ull);
		/* over an existing mapping too: nothing is split */
		REJECT_MAP(fx, "size", .addr = 0x11000, .range = 0x2000,
			   .bo = fx_bo(fx, B), .offset = 0x3000);
		assert_int_equal(fx_map(fx, 0x20000, 0x1000, B, 0x3000), 0);
		fx_assert_ops(fx, "map 0x20000 0x1000 2 0x3000");
		assert_int_equal(fx_map(fx, 0x30000, 0x4000, B, 0x0), 0);
		fx_assert_ops(fx, "map 0x30000 0x4000 2 0x0");
	}
}

static void
map_with_unknown_flags_is_rejected(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x10000, 0x4000, A, 0x0);
		REJECT_MAP(fx, "flags", .addr = 0x11000, .range = 0x1000,
			   .bo = fx_bo(fx, A), .flags = GPUVA_FLAGS_MASK + 1);
		REJECT_MAP(fx, "flags", .addr = 0x11000, .range = 0x1000,
			   .flags = 0x80000000u);
		struct gpuva_map_req req = {
			.addr = 0x20000, .range = 0x1000, .bo = fx_bo(fx, B),
			.flags = GPUVA_FLAGS_MASK,
		};
		assert_int_equal(fx_map_req(fx, &req), 0);
		assert_int_equal(gpuva_flags(gpuva_vm_find(fx->vm, 0x20000, 0x1000)),
				 GPUVA_FLAGS_MASK);
	}
}

/* ---- keep ------------------------------------------------------------------------ */

static void
keep_compares_bo_and_offset_only_not_flags(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		struct gpuva_map_req req = {
			.addr = 0x10000, .range = 0x2000, .bo = fx_bo(fx, A),
			.flags = GPUVA_SPARSE | GPUVA_USER1,
		};

		assert_int_equal(fx_map_req(fx, &req), 0);
		req.flags = GPUVA_NO_FLAGS;
		req.addr = 0x11000;
		req.range = 0x1000;
		req.offset = 0x1000;
		assert_int_equal(fx_map_req(fx, &req), 0);
		fx_assert_ops(fx,
			"remap 0x10000 0x2000 keep=1 prev=0x10000,0x1000,1,0x0 next=-",
			"map 0x11000 0x1000 1 0x1000");
	}
}

static void
keep_is_computed_per_va_from_where_each_starts(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x10000, 0x2000, A, 0x0);	/* before: contiguous */
		fx_given(fx, 0x12000, 0x1000, A, 0x2000); /* after: contiguous */
		fx_given(fx, 0x13000, 0x1000, A, 0x9000); /* after: not */
		fx_given(fx, 0x14000, 0x1000, NOBO, 0x4000); /* NULL: never */
		fx_given(fx, 0x15000, 0x2000, A, 0x5000); /* after, ends after */
		assert_int_equal(fx_map(fx, 0x11000, 0x5000, A, 0x1000), 0);
		fx_assert_ops(fx,
			"remap 0x10000 0x2000 keep=1 prev=0x10000,0x1000,1,0x0 next=-",
			"unmap 0x12000 0x1000 1 0x2000 keep=1",
			"unmap 0x13000 0x1000 1 0x9000 keep=0",
			"unmap 0x14000 0x1000 0 0x4000 keep=0",
			"remap 0x15000 0x2000 keep=1 prev=- next=0x16000,0x1000,1,0x6000",
			"map 0x11000 0x5000 1 0x1000");
		fx_assert_state(fx,
			"va 0x10000 0x1000 1 0x0",
			"va 0x11000 0x5000 1 0x1000",
			"va 0x16000 0x1000 1 0x6000");
	}
}

static void
null_request_over_a_null_va_never_keeps(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x10000, 0x4000, NOBO, 0x0);
		assert_int_equal(fx_map(fx, 0x11000, 0x1000, NOBO, 0x1000), 0);
		fx_assert_ops(fx,
			"remap 0x10000 0x4000 keep=0 prev=0x10000,0x1000,0,0x0 next=0x12000,0x2000,0,0x2000",
			"map 0x11000 0x1000 0 0x1000");
	}
}

/* ---- flags ----------------------------------------------------------------------- */

static void
map_op_carries_the_request_flags_and_remap_pieces_the_old_flags(void **state)
{
	struct fx *fx = *state;
	const uint32_t old = GPUVA_SPARSE | GPUVA_USER2 | GPUVA_USER3;

	FX_FOR_EACH_MODE(fx) {
		struct gpuva_map_req req = {
			.addr = 0x10000, .range = 0x4000, .bo = fx_bo(fx, A),
			.flags = old,
		};
		struct gpuva_ops plan = { 0 };

		assert_int_equal(fx_map_req(fx, &req), 0);
		assert_int_equal(gpuva_flags(gpuva_vm_find(fx->vm, 0x10000, 0x4000)),
				 old);

		req = (struct gpuva_map_req){
			.addr = 0x11000, .range = 0x1000, .bo = fx_bo(fx, B),
			.flags = GPUVA_USER0 | GPUVA_INVALIDATED,
		};
		/* the plan: pieces carry the old mapping's flags */
		assert_int_equal(gpuva_vm_sm_map_ops(fx->vm, &req, &plan), 0);
		assert_int_equal(plan.count, 2);
		assert_int_equal(plan.ops[0].type, GPUVA_OP_REMAP);
		assert_int_equal(plan.ops[0].remap.prev.flags, old);
		assert_int_equal(plan.ops[0].remap.next.flags, old);
		assert_ptr_equal(plan.ops[0].remap.prev.vm_bo,
				 gpuva_vm_bo_find(fx->vm, fx_bo(fx, A)));
		assert_int_equal(plan.ops[1].type, GPUVA_OP_MAP);
		assert_int_equal(plan.ops[1].map.flags, req.flags);
		assert_ptr_equal(plan.ops[1].map.vm_bo,
				 gpuva_vm_bo_find(fx->vm, fx_bo(fx, B)));
		gpuva_ops_fini(&plan);

		/* applied in this mode */
		assert_int_equal(fx_map_req(fx, &req), 0);
		assert_int_equal(gpuva_flags(gpuva_vm_find(fx->vm, 0x10000, 0x1000)),
				 old);
		assert_int_equal(gpuva_flags(gpuva_vm_find(fx->vm, 0x11000, 0x1000)),
				 req.flags);
		assert_int_equal(gpuva_flags(gpuva_vm_find(fx->vm, 0x12000, 0x2000)),
				 old);
	}
}

static void
flags_set_after_mapping_are_propagated_into_remap_pieces(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		fx_given(fx, 0x10000, 0x4000, NOBO, 0x0);
		gpuva_set_flags(gpuva_vm_find(fx->vm, 0x10000, 0x4000),
				GPUVA_SPARSE | GPUVA_USER1);
		assert_int_equal(fx_unmap(fx, 0x11000, 0x1000), 0);
		assert_int_equal(gpuva_flags(gpuva_vm_find(fx->vm, 0x10000, 0x1000)),
				 GPUVA_SPARSE | GPUVA_USER1);
		assert_int_equal(gpuva_flags(gpuva_vm_find(fx->vm, 0x12000, 0x2000)),
				 GPUVA_SPARSE | GPUVA_USER1);
	}
}

/* ---- remap hole ------------------------------------------------------------------ */

static void
assert_hole(struct gpuva_vm *vm, const struct gpuva_map_req *req,
	    uint64_t want_addr, uint64_t want_range)
{
	struct gpuva_ops plan = { 0 };
	uint64_t addr = 0, range = 0;

	assert_int_equal(gpuva_vm_sm_map_ops(vm, req, &plan), 0);
	assert_true(plan.count >= 1);
	assert_int_equal(plan.ops[0].type, GPUVA_OP_REMAP);
	gpuva_op_remap_hole(&plan.ops[0].remap, &addr, &range);
	assert_int_equal(addr, want_addr);
	assert_int_equal(range, want_range);
	gpuva_ops_fini(&plan);
}

static void
remap_hole_is_what_lies_between_the_pieces_or_the_va_ends(void **state)
{
	struct fx *fx = *state;
	struct gpuva_ops plan = { 0 };
	uint64_t addr, range;

	fx_given(fx, 0x10000, 0x3000, A, 0x0);	/* both pieces */
	fx_given(fx, 0x20000, 0x2000, A, 0x0);	/* prev only */
	fx_given(fx, 0x31000, 0x2000, A, 0x0);	/* next only */
	assert_hole(fx->vm, &(struct gpuva_map_req){ .addr = 0x11000,
		    .range = 0x1000 }, 0x11000, 0x1000);
	assert_hole(fx->vm, &(struct gpuva_map_req){ .addr = 0x21000,
		    .range = 0x2000 }, 0x21000, 0x1000);
	assert_hole(fx->vm, &(struct gpuva_map_req){ .addr = 0x30000,
		    .range = 0x2000 }, 0x31000, 0x1000);

	/* and for an unmap request, in the middle of a VA */
	assert_int_equal(gpuva_vm_sm_unmap_ops(fx->vm, 0x10800, 0x1000, &plan), 0);
	assert_int_equal(plan.count, 1);
	assert_true(gpuva_op_remap_has_prev(&plan.ops[0].remap));
	assert_true(gpuva_op_remap_has_next(&plan.ops[0].remap));
	gpuva_op_remap_hole(&plan.ops[0].remap, &addr, &range);
	assert_int_equal(addr, 0x10800);
	assert_int_equal(range, 0x1000);
	gpuva_ops_fini(&plan);
}

/* ---- step callbacks -------------------------------------------------------------- */

static void
step_callback_returning_non_zero_stops_the_walk_with_that_value(void **state)
{
	struct fx *fx = *state;

	fx->mode = FX_STEPS;
	given_case_7_start(fx);
	fx->stop_at = 2;	/* the unmap of B */
	fx->stop_ret = 42;
	assert_int_equal(fx_map(fx, 0x11000, 0x4000, C, 0x0), 42);
	fx_assert_ops(fx,
		"remap 0x10000 0x2000 keep=0 prev=0x10000,0x1000,1,0x0 next=-",
		"unmap 0x12000 0x1000 2 0x0 keep=0");
	/* the first op stays applied; the caller owns rollback */
	fx_assert_state(fx,
		"va 0x10000 0x1000 1 0x0",
		"va 0x12000 0x1000 2 0x0",
		"va 0x14000 0x2000 1 0x2000");
	/* the walk dropped its hold on C's vm_bo */
	assert_string_equal(fx_link_order(fx, C), "none");

	/* the map step's result is returned too (0x10000 only touches) */
	fx->stop_at = 3;
	fx->stop_ret = -EIO;
	assert_int_equal(fx_map(fx, 0x11000, 0x4000, C, 0x0), -EIO);
	fx_assert_ops(fx,
		"unmap 0x12000 0x1000 2 0x0 keep=0",
		"remap 0x14000 0x2000 keep=0 prev=- next=0x15000,0x1000,1,0x3000",
		"map 0x11000 0x4000 3 0x0");
	fx_assert_state(fx,
		"va 0x10000 0x1000 1 0x0",
		"va 0x15000 0x1000 1 0x3000");
	assert_string_equal(fx_link_order(fx, C), "none");
}

static void
step_callback_returning_non_zero_stops_an_unmap_walk(void **state)
{
	struct fx *fx = *state;

	fx->mode = FX_STEPS;
	given_case_7_start(fx);
	fx->stop_at = 1;
	fx->stop_ret = -ENOSPC;
	assert_int_equal(fx_unmap(fx, 0x10000, 0x6000), -ENOSPC);
	fx_assert_ops(fx, "unmap 0x10000 0x2000 1 0x0 keep=0");
	fx_assert_state(fx,
		"va 0x10000 0x2000 1 0x0",
		"va 0x12000 0x1000 2 0x0",
		"va 0x14000 0x2000 1 0x2000");
}

static int
never_called(void *priv, const struct gpuva_op *op)
{
	fail_msg("a step callback ran");
	return 0;
}

static void
missing_step_callbacks_are_rejected_before_anything_runs(void **state)
{
	struct fx *fx = *state;
	const struct gpuva_sm_steps no_map = { NULL, never_called, never_called };
	const struct gpuva_sm_steps no_remap = { never_called, NULL, never_called };
	const struct gpuva_sm_steps no_unmap = { never_called, never_called, NULL };
	const struct gpuva_map_req req = {
		.addr = 0x11000, .range = 0x1000, .bo = fx_bo(fx, B),
	};
	struct fx_saved before;

	fx_given(fx, 0x10000, 0x4000, A, 0x0);
	before = fx_save(fx);
	assert_int_equal(gpuva_vm_sm_map(fx->vm, &req, NULL, NULL), -EINVAL);
	assert_int_equal(gpuva_vm_sm_map(fx->vm, &req, &no_map, NULL), -EINVAL);
	assert_int_equal(gpuva_vm_sm_map(fx->vm, &req, &no_remap, NULL), -EINVAL);
	assert_int_equal(gpuva_vm_sm_map(fx->vm, &req, &no_unmap, NULL), -EINVAL);
	assert_non_null(strstr(gpuva_vm_last_error(fx->vm), "callback"));
	assert_int_equal(gpuva_vm_sm_unmap(fx->vm, 0x11000, 0x1000, NULL, NULL),
			 -EINVAL);
	assert_int_equal(gpuva_vm_sm_unmap(fx->vm, 0x11000, 0x1000, &no_remap,
					   NULL), -EINVAL);
	assert_int_equal(gpuva_vm_sm_unmap(fx->vm, 0x11000, 0x1000, &no_unmap,
					   NULL), -EINVAL);
	assert_non_null(strstr(gpuva_vm_last_error(fx->vm), "callback"));
	fx_assert_unchanged(fx, &before);
}

static int
count_step(void *priv, const struct gpuva_op *op)
{
	(*(unsigned *)priv)++;
	return 0;
}

static void
sm_unmap_needs_no_map_callback(void **state)
{
	struct fx *fx = *state;
	const struct gpuva_sm_steps steps = { NULL, count_step, count_step };
	unsigned n = 0;

	fx_given(fx, 0x10000, 0x2000, A, 0x0);
	fx_given(fx, 0x12000, 0x2000, A, 0x0);
	/* ops are only counted, not applied: the walk does not need them */
	assert_int_equal(gpuva_vm_sm_unmap(fx->vm, 0x11000, 0x2000, &steps, &n), 0);
	assert_int_equal(n, 2);
	fx_assert_state(fx,
		"va 0x10000 0x2000 1 0x0",
		"va 0x12000 0x2000 1 0x0");
}

static void
map_of_a_bo_new_to_the_vm_links_it_through_a_new_vm_bo(void **state)
{
	struct fx *fx = *state;

	/* a map of a BO new to the VM: the vm_bo exists during the map step */
	fx->mode = FX_STEPS;
	assert_int_equal(fx_map(fx, 0x10000, 0x1000, C, 0x0), 0);
	assert_non_null(gpuva_vm_find(fx->vm, 0x10000, 0x1000)->vm_bo);
	assert_ptr_equal(gpuva_vm_find(fx->vm, 0x10000, 0x1000)->vm_bo->bo,
			 fx_bo(fx, C));
	assert_ptr_equal(gpuva_bo_of(gpuva_vm_find(fx->vm, 0x10000, 0x1000)),
			 fx_bo(fx, C));
}

/* ---- op lists -------------------------------------------------------------------- */

static void
planning_does_not_change_the_tree(void **state)
{
	struct fx *fx = *state;
	struct gpuva_ops plan = { 0 };
	const struct gpuva_map_req req = {
		.addr = 0x11000, .range = 0x4000, .bo = fx_bo(fx, A),
	};
	char *before, *after;

	given_case_7_start(fx);
	before = fx_dump(fx);
	assert_int_equal(gpuva_vm_sm_map_ops(fx->vm, &req, &plan), 0);
	assert_int_equal(plan.count, 4);
	assert_int_equal(gpuva_vm_sm_unmap_ops(fx->vm, 0x10000, 0x6000, &plan), 0);
	assert_int_equal(plan.count, 3);
	after = fx_dump(fx);
	assert_string_equal(before, after);
	assert_string_equal(fx_link_order(fx, A), "0x10000 0x14000");
	free(before);
	free(after);
	gpuva_ops_fini(&plan);
}

static void
op_list_filled_twice_reuses_its_storage(void **state)
{
	struct fx *fx = *state;
	struct gpuva_ops plan;
	const struct gpuva_map_req req = {
		.addr = 0x11000, .range = 0x4000, .bo = fx_bo(fx, C),
	};
	struct gpuva_op *storage;
	size_t cap;

	gpuva_ops_init(&plan);
	assert_null(plan.ops);
	assert_int_equal(plan.count, 0);
	given_case_7_start(fx);
	assert_int_equal(gpuva_vm_sm_map_ops(fx->vm, &req, &plan), 0);
	assert_int_equal(plan.count, 4);
	storage = plan.ops;
	cap = plan.cap;
	assert_non_null(storage);
	assert_true(cap >= 4);

	assert_int_equal(gpuva_vm_sm_unmap_ops(fx->vm, 0x12000, 0x1000, &plan), 0);
	fx_log_list(fx, &plan);
	fx_assert_ops(fx, "unmap 0x12000 0x1000 2 0x0 keep=0");
	assert_ptr_equal(plan.ops, storage);
	assert_int_equal(plan.cap, cap);
	/* refilling dropped the previous plan's hold on C's vm_bo */
	assert_null(gpuva_vm_bo_find(fx->vm, fx_bo(fx, C)));

	assert_int_equal(gpuva_vm_sm_map_ops(fx->vm, &req, &plan), 0);
	fx_log_list(fx, &plan);
	fx_assert_ops(fx,
		"remap 0x10000 0x2000 keep=0 prev=0x10000,0x1000,1,0x0 next=-",
		"unmap 0x12000 0x1000 2 0x0 keep=0",
		"remap 0x14000 0x2000 keep=0 prev=- next=0x15000,0x1000,1,0x3000",
		"map 0x11000 0x4000 3 0x0");
	assert_ptr_equal(plan.ops, storage);

	/* reset drops the ops and the hold, keeps the storage */
	assert_non_null(gpuva_vm_bo_find(fx->vm, fx_bo(fx, C)));
	gpuva_ops_reset(&plan);
	assert_int_equal(plan.count, 0);
	assert_ptr_equal(plan.ops, storage);
	assert_null(gpuva_vm_bo_find(fx->vm, fx_bo(fx, C)));

	gpuva_ops_fini(&plan);
	assert_null(plan.ops);
	assert_int_equal(plan.count, 0);
	gpuva_ops_fini(&plan);	/* twice is fine */
}

static void
op_list_fini_accepts_a_zeroed_list_and_null(void **state)
{
	struct gpuva_ops zeroed;

	memset(&zeroed, 0, sizeof(zeroed));
	gpuva_ops_fini(&zeroed);
	assert_null(zeroed.ops);
	assert_int_equal(zeroed.count, 0);
	gpuva_ops_fini(NULL);
	gpuva_ops_reset(&zeroed);
	assert_int_equal(zeroed.count, 0);
}

static void
op_list_of_a_new_bo_holds_its_vm_bo_until_dropped(void **state)
{
	struct fx *fx = *state;
	struct gpuva_ops plan = { 0 };
	const struct gpuva_map_req req = {
		.addr = 0x11000, .range = 0x1000, .bo = fx_bo(fx, C),
	};

	assert_int_equal(gpuva_vm_sm_map_ops(fx->vm, &req, &plan), 0);
	assert_ptr_equal(plan.ops[0].map.vm_bo,
			 gpuva_vm_bo_find(fx->vm, fx_bo(fx, C)));
	assert_non_null(plan.ops[0].map.vm_bo);
	assert_int_equal(gpuva_vm_check(fx->vm), 0);
	gpuva_ops_fini(&plan);	/* dropped unapplied: no vm_bo left behind */
	assert_null(gpuva_vm_bo_find(fx->vm, fx_bo(fx, C)));
	assert_int_equal(gpuva_bo_fini(fx_bo(fx, C)), 0);
}

/*
 * With the default allocator too, applying takes every mapping before it
 * changes anything: in a new VM the slab has no page yet, and when it gets
 * none the apply is -ENOMEM with a reason, and the VM is as it was.
 */
static void
apply_ops_without_a_slab_page_returns_enomem_and_changes_nothing(void **state)
{
	struct fx *fx = *state;
	struct gpuva_ops plan = { 0 };
	const struct gpuva_map_req req = {
		.addr = 0x11000, .range = 0x2000, .bo = fx_bo(fx, B),
	};
	struct fx_saved before;

	assert_int_equal(gpuva_vm_sm_map_ops(fx->vm, &req, &plan), 0);
	before = fx_save(fx);
	aligned_alloc_fails = true;
	assert_int_equal(gpuva_vm_apply_ops(fx->vm, &plan), -ENOMEM);
	aligned_alloc_fails = false;
	assert_non_null(strstr(gpuva_vm_last_error(fx->vm), "memory"));
	fx_assert_unchanged(fx, &before);
	/* with memory again, the same plan applies */
	assert_int_equal(gpuva_vm_apply_ops(fx->vm, &plan), 0);
	fx_assert_state(fx, "va 0x11000 0x2000 2 0x0");
	gpuva_ops_fini(&plan);
}

static void
apply_ops_out_of_mappings_at_any_point_returns_enomem_and_changes_nothing(void **state)
{
	struct fx *fx = *state;
	struct fx_opts o = fx_default_opts();
	struct gpuva_ops plan = { 0 };
	const struct gpuva_map_req req = {
		.addr = 0x11000, .range = 0x4000, .bo = fx_bo(fx, C),
	};

	o.custom_alloc = true;
	fx_recreate(fx, &o);
	fx->mode = FX_LIST;
	given_case_7_start(fx);
	/* remap prev + remap next + map: three mappings needed */
	assert_int_equal(gpuva_vm_sm_map_ops(fx->vm, &req, &plan), 0);
	for (unsigned k = 1; k <= 3; k++) {
		struct fx_saved before = fx_save(fx);

		fx->va_allocs = 0;
		fx->fail_va_alloc_at = k;
		assert_int_equal(gpuva_vm_apply_ops(fx->vm, &plan), -ENOMEM);
		assert_int_equal(fx->va_allocs, k);
		assert_non_null(strstr(gpuva_vm_last_error(fx->vm), "memory"));
		fx_assert_unchanged(fx, &before);
	}
	fx->fail_va_alloc_at = 0;
	fx->va_allocs = 0;
	fx->va_frees = 0;
	assert_int_equal(gpuva_vm_apply_ops(fx->vm, &plan), 0);
	assert_int_equal(fx->va_allocs, 3);
	assert_int_equal(fx->va_frees, 3);	/* the three old mappings */
	fx_assert_state(fx,
		"va 0x10000 0x1000 1 0x0",
		"va 0x11000 0x4000 3 0x0",
		"va 0x15000 0x1000 1 0x3000");
	gpuva_ops_fini(&plan);
	assert_int_equal(fx->live_vas, 3);
}

static void
apply_ops_refuses_a_prefetch_list_and_changes_nothing(void **state)
{
	struct fx *fx = *state;
	struct gpuva_ops plan = { 0 };
	struct fx_saved before;

	fx_given(fx, 0x10000, 0x1000, A, 0x0);
	before = fx_save(fx);
	assert_int_equal(gpuva_vm_prefetch_ops(fx->vm, 0x0, 0x100000, &plan), 0);
	assert_int_equal(plan.count, 1);
	assert_int_equal(gpuva_vm_apply_ops(fx->vm, &plan), -EINVAL);
	assert_non_null(strstr(gpuva_vm_last_error(fx->vm), "apply"));
	fx_assert_unchanged(fx, &before);
	gpuva_ops_fini(&plan);
}

static void
apply_ops_of_an_empty_list_does_nothing(void **state)
{
	struct fx *fx = *state;
	struct gpuva_ops plan = { 0 };
	struct fx_saved before;

	fx_given(fx, 0x10000, 0x1000, A, 0x0);
	before = fx_save(fx);
	assert_int_equal(gpuva_vm_sm_unmap_ops(fx->vm, 0x20000, 0x1000, &plan), 0);
	assert_int_equal(plan.count, 0);
	assert_int_equal(gpuva_vm_apply_ops(fx->vm, &plan), 0);
	fx_assert_unchanged(fx, &before);
	gpuva_ops_fini(&plan);
}

static void
map_of_a_new_bo_without_memory_for_its_vm_bo_is_enomem_and_calls_nothing(void **state)
{
	struct fx *fx = *state;
	struct fx_opts o = fx_default_opts();

	o.custom_alloc = true;
	fx_recreate(fx, &o);
	FX_FOR_EACH_MODE(fx) {
		struct fx_saved before;

		fx_given(fx, 0x10000, 0x4000, A, 0x0);
		fill_list(fx);
		fx->fail_vm_bo_alloc = true;
		before = fx_save(fx);
		assert_int_equal(fx_map(fx, 0x11000, 0x1000, C, 0x0), -ENOMEM);
		assert_non_null(strstr(gpuva_vm_last_error(fx->vm), "memory"));
		assert_int_equal(fx->calls, 0);
		assert_int_equal(fx->ops.count, 0);
		fx_assert_no_ops(fx);
		fx_assert_unchanged(fx, &before);
		/* BOs that already have a vm_bo, and NULL maps, need none */
		assert_int_equal(fx_map(fx, 0x11000, 0x1000, A, 0x1000), 0);
		assert_int_equal(fx_map(fx, 0x12000, 0x1000, NOBO, 0x0), 0);
		fx_assert_state(fx,
			"va 0x10000 0x1000 1 0x0",
			"va 0x11000 0x1000 1 0x1000",
			"va 0x12000 0x1000 0 0x0",
			"va 0x13000 0x1000 1 0x3000");
		fx->fail_vm_bo_alloc = false;
	}
}

static void
map_op_applied_to_a_stale_tree_under_vm_check_is_eexist_and_changes_nothing(void **state)
{
	struct fx *fx = *state;
	struct fx_opts o = fx_default_opts();
	struct gpuva_ops plan = { 0 };
	const struct gpuva_map_req req = {
		.addr = 0x20000, .range = 0x2000, .bo = fx_bo(fx, C),
	};
	struct fx_saved before;
	struct gpuva *va;

	o.flags = GPUVA_VM_CHECK;
	fx_recreate(fx, &o);
	assert_int_equal(gpuva_vm_sm_map_ops(fx->vm, &req, &plan), 0);
	assert_int_equal(plan.count, 1);
	fx_given(fx, 0x21000, 0x1000, A, 0x0);	/* the plan is now stale */
	before = fx_save(fx);
	va = gpuva_vm_va_alloc(fx->vm);
	assert_int_equal(gpuva_map(fx->vm, va, &plan.ops[0].map), -EEXIST);
	assert_non_null(strstr(gpuva_vm_last_error(fx->vm), "stale"));
	fx_assert_unchanged(fx, &before);
	gpuva_vm_va_free(fx->vm, va);
	gpuva_ops_fini(&plan);
}

/*
 * Under GPUVA_VM_CHECK a stale plan is refused as a whole, before anything
 * is applied (ops-semantics.md 6.3: apply helpers must return errors).
 */
static void
apply_ops_of_a_stale_plan_under_vm_check_reports_the_error(void **state)
{
	struct fx *fx = *state;
	struct fx_opts o = fx_default_opts();
	struct gpuva_ops plan = { 0 };
	const struct gpuva_map_req req = {
		.addr = 0x20000, .range = 0x2000, .bo = fx_bo(fx, C),
	};
	struct fx_saved before;
	int ret;

	o.flags = GPUVA_VM_CHECK;
	o.custom_alloc = true;
	fx_recreate(fx, &o);
	assert_int_equal(gpuva_vm_sm_map_ops(fx->vm, &req, &plan), 0);
	fx_given(fx, 0x21000, 0x1000, A, 0x0);	/* the plan is now stale */
	before = fx_save(fx);
	ret = gpuva_vm_apply_ops(fx->vm, &plan);
	if (ret != -EEXIST) {
		free(before.text);
		gpuva_ops_fini(&plan);
		fail_msg("apply_ops of a stale MAP returned %d, not -EEXIST", ret);
	}
	assert_non_null(strstr(gpuva_vm_last_error(fx->vm), "stale"));
	/* compared while the plan still holds its vm_bo, as when saved */
	fx_assert_unchanged(fx, &before);
	gpuva_ops_fini(&plan);
}

/* The other stale case: a mapping the plan cuts has left the tree. */
static void
apply_ops_of_a_plan_whose_mapping_is_gone_under_vm_check_is_eexist(void **state)
{
	struct fx *fx = *state;
	struct fx_opts o = fx_default_opts();
	struct gpuva_ops plan = { 0 };
	struct fx_saved before;
	struct gpuva *va;

	o.flags = GPUVA_VM_CHECK;
	fx_recreate(fx, &o);
	fx_given(fx, 0x20000, 0x2000, A, 0x0);
	fx_given(fx, 0x30000, 0x1000, B, 0x0);
	assert_int_equal(gpuva_vm_sm_unmap_ops(fx->vm, 0x20000, 0x1000, &plan), 0);
	assert_int_equal(plan.count, 1);
	/* removed by the driver, who keeps the struct: the plan is stale */
	va = gpuva_vm_find(fx->vm, 0x20000, 0x2000);
	assert_non_null(va);
	gpuva_remove(fx->vm, va);
	before = fx_save(fx);
	assert_int_equal(gpuva_vm_apply_ops(fx->vm, &plan), -EEXIST);
	assert_non_null(strstr(gpuva_vm_last_error(fx->vm), "is gone"));
	fx_assert_unchanged(fx, &before);
	gpuva_ops_fini(&plan);
	gpuva_vm_va_free(fx->vm, va);
}

/*
 * An op list that cannot grow: every planning call is -ENOMEM with a
 * reason, leaves the list empty and holding nothing, and the VM as it was
 * (the vm_bo a map created for the plan is gone again).
 */
static void
planning_without_memory_for_the_list_is_enomem_and_changes_nothing(void **state)
{
	struct fx *fx = *state;
	const struct gpuva_map_req req = {
		.addr = 0x20000, .range = 0x2000, .bo = fx_bo(fx, C),
	};
	struct gpuva_ops plan = { 0 };
	struct fx_saved before;

	fx_given(fx, 0x10000, 0x2000, A, 0x0);
	fx_given(fx, 0x12000, 0x1000, B, 0x0);
	for (int i = 0; i < 4; i++) {
		int ret;

		before = fx_save(fx);
		realloc_fails = true;
		switch (i) {
		case 0:
			ret = gpuva_vm_sm_map_ops(fx->vm, &req, &plan);
			break;
		case 1:
			ret = gpuva_vm_sm_unmap_ops(fx->vm, 0x10000, 0x3000, &plan);
			break;
		case 2:
			ret = gpuva_vm_prefetch_ops(fx->vm, 0x10000, 0x3000, &plan);
			break;
		default:
			ret = gpuva_vm_bo_unmap_ops(
				gpuva_vm_bo_find(fx->vm, fx_bo(fx, A)), &plan);
			break;
		}
		realloc_fails = false;
		if (ret != -ENOMEM)
			fail_msg("planning call %d returned %d, not -ENOMEM", i, ret);
		assert_non_null(strstr(gpuva_vm_last_error(fx->vm), "op list"));
		assert_int_equal(plan.count, 0);
		assert_null(plan.hold);
		assert_null(gpuva_vm_bo_find(fx->vm, fx_bo(fx, C)));
		fx_assert_unchanged(fx, &before);
	}
	/* with memory again, the same list plans */
	assert_int_equal(gpuva_vm_sm_map_ops(fx->vm, &req, &plan), 0);
	assert_int_equal(plan.count, 1);
	gpuva_ops_fini(&plan);
}

/*
 * The index nodes applying a request may need are reserved by the planning
 * call. In a new VM nothing is reserved yet, so without memory every
 * planning call, step walks and gpuva_insert() included, is -ENOMEM with a
 * reason, calls no step, and leaves the VM as it was (no vm_bo left over,
 * not a byte more held).
 */
static void
planning_without_memory_for_index_nodes_is_enomem_and_changes_nothing(void **state)
{
	struct fx *fx = *state;
	const struct gpuva_map_req req = {
		.addr = 0x20000, .range = 0x2000, .bo = fx_bo(fx, C),
	};
	struct gpuva_ops plan = { 0 };
	struct gpuva va = { .addr = 0x30000, .range = 0x1000 };
	struct gpuva_op_map op = { .addr = 0x40000, .range = 0x1000 };

	for (int i = 0; i < 6; i++) {
		const struct gpuva_sm_steps counting_steps = {
			count_step, count_step, count_step
		};
		struct fx_saved before = fx_save(fx);
		unsigned step_calls = 0;
		int ret;

		aligned_alloc_fails = true;
		switch (i) {
		case 0:
			ret = gpuva_vm_sm_map_ops(fx->vm, &req, &plan);
			break;
		case 1:
			ret = gpuva_vm_sm_unmap_ops(fx->vm, 0x10000, 0x3000, &plan);
			break;
		case 2:
			ret = gpuva_vm_sm_map(fx->vm, &req, &counting_steps,
					      &step_calls);
			break;
		case 3:
			ret = gpuva_vm_sm_unmap(fx->vm, 0x10000, 0x3000,
						&counting_steps, &step_calls);
			break;
		case 4:
			ret = gpuva_insert(fx->vm, &va, fx_bo(fx, C));
			break;
		default:
			/* an op no planning call produced */
			ret = gpuva_map(fx->vm, &va, &op);
			break;
		}
		aligned_alloc_fails = false;
		if (ret != -ENOMEM)
			fail_msg("call %d returned %d, not -ENOMEM", i, ret);
		assert_non_null(strstr(gpuva_vm_last_error(fx->vm), "index nodes"));
		assert_int_equal(step_calls, 0);
		assert_int_equal(plan.count, 0);
		assert_null(plan.hold);
		assert_null(gpuva_vm_bo_find(fx->vm, fx_bo(fx, C)));
		fx_assert_unchanged(fx, &before);
	}
	/* with memory again, the same calls go through */
	assert_int_equal(gpuva_vm_sm_map_ops(fx->vm, &req, &plan), 0);
	assert_int_equal(gpuva_vm_apply_ops(fx->vm, &plan), 0);
	assert_int_equal(gpuva_insert(fx->vm, &va, fx_bo(fx, C)), 0);
	fx_assert_state(fx, "va 0x20000 0x2000 3 0x0", "va 0x30000 0x1000 3 0x0");
	gpuva_remove(fx->vm, &va);
	gpuva_ops_fini(&plan);
}

/*
 * Commit cannot fail: once a request is planned, applying it needs no
 * memory for the index, even when its inserts split full leaves (15
 * mappings a leaf) up to a new root. Cutting a mapping in two inside a
 * full leaf takes two inserts: the tail piece and the new mapping.
 */
static void
applying_a_plan_allocates_no_index_nodes_even_when_leaves_split(void **state)
{
	struct fx *fx = *state;
	struct gpuva_ops plan = { 0 };
	const struct gpuva_map_req req = {
		.addr = 0x10400, .range = 0x100, .bo = fx_bo(fx, B),
	};

	/* once per mode, so that the 15 mappings were made either way */
	FX_FOR_EACH_MODE(fx) {
		/* these also take the slab page the applied mappings come from */
		for (uint64_t i = 0; i < 15; i++)
			fx_given(fx, 0x10000 + i * 0x1000, 0x1000, A, i * 0x1000);
		assert_int_equal(gpuva_vm_sm_map_ops(fx->vm, &req, &plan), 0);
		aligned_alloc_fails = true;
		assert_int_equal(gpuva_vm_apply_ops(fx->vm, &plan), 0);
		aligned_alloc_fails = false;
		assert_int_equal(gpuva_vm_count(fx->vm), 17);
		assert_int_equal(gpuva_vm_find_at(fx->vm, 0x10450)->addr, 0x10400);
		assert_int_equal(gpuva_vm_check(fx->vm), 0);
		/* the plan holds a vm_bo of this VM, which the next mode drops */
		gpuva_ops_reset(&plan);
	}
	gpuva_ops_fini(&plan);
}

/* ---- prefetch ----------------------------------------------------------------------- */

static void
prefetch_lists_whole_overlapping_vas_in_address_order(void **state)
{
	struct fx *fx = *state;
	struct gpuva_ops plan = { 0 };
	struct fx_saved before;

	fx_given(fx, 0x30000, 0x2000, B, 0x1000);
	fx_given(fx, 0x10000, 0x4000, A, 0x0);
	fx_given(fx, 0x20000, 0x1000, NOBO, 0x0);
	fx_given(fx, 0x40000, 0x1000, A, 0x0);	/* only touches: not listed */
	before = fx_save(fx);
	assert_int_equal(gpuva_vm_prefetch_ops(fx->vm, 0x12000, 0x2e000, &plan), 0);
	fx_log_list(fx, &plan);
	fx_assert_ops(fx,
		"prefetch 0x10000 0x4000 1 0x0",
		"prefetch 0x20000 0x1000 0 0x0",
		"prefetch 0x30000 0x2000 2 0x1000");
	fx_assert_unchanged(fx, &before);
	gpuva_ops_fini(&plan);
}

static void
prefetch_of_a_hole_is_an_empty_list(void **state)
{
	struct fx *fx = *state;
	struct gpuva_ops plan = { 0 };

	fx_given(fx, 0x10000, 0x1000, A, 0x0);
	fx_given(fx, 0x12000, 0x1000, A, 0x0);
	/* fill first: a hole must empty the list */
	assert_int_equal(gpuva_vm_prefetch_ops(fx->vm, 0x0, 0x100000, &plan), 0);
	assert_int_equal(plan.count, 2);
	assert_int_equal(gpuva_vm_prefetch_ops(fx->vm, 0x11000, 0x1000, &plan), 0);
	assert_int_equal(plan.count, 0);
	gpuva_ops_fini(&plan);
}

static void
prefetch_does_not_need_a_range_inside_the_vm(void **state)
{
	struct fx *fx = *state;
	struct gpuva_ops plan = { 0 };
	struct fx_opts o = fx_default_opts();

	o.start = 0x10000;
	o.rsv_start = 0x80000;
	o.rsv_range = 0x10000;
	fx_recreate(fx, &o);
	fx_given(fx, 0x10000, 0x1000, A, 0x0);
	fx_given(fx, 0x90000, 0x1000, A, 0x0);
	/* starts below the VM, crosses the reserved range, ends past the VM */
	assert_int_equal(gpuva_vm_prefetch_ops(fx->vm, 0x0, 0x1000000, &plan), 0);
	fx_log_list(fx, &plan);
	fx_assert_ops(fx,
		"prefetch 0x10000 0x1000 1 0x0",
		"prefetch 0x90000 0x1000 1 0x0");
	gpuva_ops_fini(&plan);
}

static void
prefetch_with_zero_range_or_overflow_is_rejected(void **state)
{
	struct fx *fx = *state;
	struct gpuva_ops plan = { 0 };
	struct fx_saved before;

	fx_given(fx, 0x10000, 0x1000, A, 0x0);
	assert_int_equal(gpuva_vm_prefetch_ops(fx->vm, 0x0, 0x100000, &plan), 0);
	assert_int_equal(plan.count, 1);
	before = fx_save(fx);
	assert_int_equal(gpuva_vm_prefetch_ops(fx->vm, 0x10000, 0, &plan), -EINVAL);
	assert_non_null(strstr(gpuva_vm_last_error(fx->vm), "zero"));
	assert_int_equal(plan.count, 0);
	fx_assert_unchanged(fx, &before);
	before = fx_save(fx);
	assert_int_equal(gpuva_vm_prefetch_ops(fx->vm, 0x10000,
					       0xffffffffffff0000ull, &plan),
			 -EINVAL);
	assert_non_null(strstr(gpuva_vm_last_error(fx->vm), "overflow"));
	assert_int_equal(plan.count, 0);
	fx_assert_unchanged(fx, &before);
	gpuva_ops_fini(&plan);
}

/* ---- bo_unmap -------------------------------------------------------------------------- */

static void
bo_unmap_lists_a_bos_mappings_in_link_order_not_address_order(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		struct gpuva_ops plan = { 0 };

		fx_given(fx, 0x40000, 0x1000, A, 0x4000);
		fx_given(fx, 0x20000, 0x1000, B, 0x0);
		fx_given(fx, 0x10000, 0x1000, A, 0x1000);
		fx_given(fx, 0x30000, 0x1000, NOBO, 0x0);
		fx_given(fx, 0x25000, 0x1000, A, 0x2000);
		assert_int_equal(gpuva_vm_bo_unmap_ops(gpuva_vm_bo_find(fx->vm,
				 fx_bo(fx, A)), &plan), 0);
		fx_log_list(fx, &plan);
		fx_assert_ops(fx,
			"unmap 0x40000 0x1000 1 0x4000 keep=0",
			"unmap 0x10000 0x1000 1 0x1000 keep=0",
			"unmap 0x25000 0x1000 1 0x2000 keep=0");
		assert_int_equal(gpuva_vm_apply_ops(fx->vm, &plan), 0);
		fx_assert_state(fx,
			"va 0x20000 0x1000 2 0x0",
			"va 0x30000 0x1000 0 0x0");
		assert_null(gpuva_vm_bo_find(fx->vm, fx_bo(fx, A)));
		assert_int_equal(gpuva_bo_fini(fx_bo(fx, A)), 0);
		gpuva_ops_fini(&plan);
	}
}

static void
bo_unmap_after_a_split_lists_the_pieces_last_as_they_were_linked(void **state)
{
	struct fx *fx = *state;

	FX_FOR_EACH_MODE(fx) {
		struct gpuva_ops plan = { 0 };

		fx_given(fx, 0x10000, 0x3000, A, 0x0);
		fx_given(fx, 0x40000, 0x1000, A, 0x8000);
		assert_string_equal(fx_link_order(fx, A), "0x10000 0x40000");
		/* ops-semantics.md 3.4: pieces are linked to the old VA's
		 * vm_bo before the old VA is unlinked: they go last */
		assert_int_equal(fx_map(fx, 0x11000, 0x1000, B, 0x0), 0);
		assert_string_equal(fx_link_order(fx, A),
				    "0x40000 0x10000 0x12000");
		assert_int_equal(gpuva_vm_bo_unmap_ops(gpuva_vm_bo_find(fx->vm,
				 fx_bo(fx, A)), &plan), 0);
		fx_log_list(fx, &plan);
		fx_assert_ops(fx,
			"unmap 0x40000 0x1000 1 0x8000 keep=0",
			"unmap 0x10000 0x1000 1 0x0 keep=0",
			"unmap 0x12000 0x1000 1 0x2000 keep=0");
		assert_int_equal(gpuva_vm_apply_ops(fx->vm, &plan), 0);
		fx_assert_state(fx, "va 0x11000 0x1000 2 0x0");
		gpuva_ops_fini(&plan);
	}
}

static void
bo_unmap_of_a_held_vm_bo_without_mappings_is_an_empty_list(void **state)
{
	struct fx *fx = *state;
	struct gpuva_ops plan = { 0 };
	struct gpuva_vm_bo *vb;

	assert_int_equal(gpuva_vm_bo_obtain(fx->vm, fx_bo(fx, A), &vb), 0);
	assert_int_equal(gpuva_vm_bo_unmap_ops(vb, &plan), 0);
	assert_int_equal(plan.count, 0);
	gpuva_vm_bo_put(vb);
	gpuva_ops_fini(&plan);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
		T(sm_map_case_1_map_into_empty_space_emits_only_the_map),
		T(sm_map_case_2a_identical_remap_is_unmap_keep_1_then_map_not_a_no_op),
		T(sm_map_case_2b_same_range_new_offset_is_unmap_keep_0_then_map),
		T(sm_map_case_3a_request_inside_one_va_same_bo_contiguous_keeps),
		T(sm_map_case_3b_request_inside_one_va_other_bo_does_not_keep),
		T(sm_map_case_4_request_at_a_va_start_ending_inside_keeps_the_tail),
		T(sm_map_case_5_request_over_a_va_tail_same_bo_contiguous_keeps),
		T(sm_map_case_6a_request_over_a_va_head_other_bo_does_not_keep),
		T(sm_map_case_6b_request_over_a_va_head_same_bo_contiguous_keeps),
		T(sm_map_case_7_request_spanning_three_vas_emits_them_in_address_order),
		T(sm_map_case_8a_bo_into_a_null_va_advances_the_null_next_offset),
		T(sm_map_case_8b_identical_null_remap_never_keeps),
		T(sm_map_case_9a_superset_of_one_va_same_bo_contiguous_keeps),
		T(sm_map_case_9b_superset_of_two_vas_keeps_per_va),
		T(sm_unmap_case_10a_over_three_vas_remaps_the_ends_and_unmaps_the_middle),
		T(sm_unmap_case_10b_inside_one_va_leaves_prev_and_next),
		T(sm_unmap_case_10c_of_a_whole_va_is_an_unmap_that_never_keeps),
		T(sm_unmap_case_10d_of_a_hole_succeeds_with_no_ops),
		T(sm_unmap_never_emits_map_nor_keep_even_for_same_bo_runs),
		/* case 11 (madvise) is not implemented by libgpuva */
		T(sm_map_case_12_invalid_requests_are_rejected_and_change_nothing),
		T(sm_unmap_case_12_invalid_requests_are_rejected_and_change_nothing),
		T(golden_trace_of_appendix_b_gives_the_same_ops_in_both_modes),
		T(golden_trace_of_appendix_b_keeps_every_invariant_after_each_change),
		T(splits_and_unmaps_inside_a_tree_of_many_vas_keep_it_consistent),
		T(map_and_unmap_with_zero_range_are_rejected),
		T(map_and_unmap_whose_end_overflows_64_bits_are_rejected),
		T(map_and_unmap_outside_the_vm_are_rejected_and_its_edges_are_fine),
		T(map_and_unmap_overlapping_the_reserved_range_are_rejected_touching_is_fine),
		T(map_and_unmap_misaligned_for_the_page_size_are_rejected),
		T(map_beyond_the_size_of_a_sized_bo_is_rejected_up_to_the_size_is_fine),
		T(map_with_unknown_flags_is_rejected),
		T(keep_compares_bo_and_offset_only_not_flags),
		T(keep_is_computed_per_va_from_where_each_starts),
		T(null_request_over_a_null_va_never_keeps),
		T(map_op_carries_the_request_flags_and_remap_pieces_the_old_flags),
		T(flags_set_after_mapping_are_propagated_into_remap_pieces),
		T(remap_hole_is_what_lies_between_the_pieces_or_the_va_ends),
		T(step_callback_returning_non_zero_stops_the_walk_with_that_value),
		T(step_callback_returning_non_zero_stops_an_unmap_walk),
		T(missing_step_callbacks_are_rejected_before_anything_runs),
		T(sm_unmap_needs_no_map_callback),
		T(map_of_a_bo_new_to_the_vm_links_it_through_a_new_vm_bo),
		T(planning_does_not_change_the_tree),
		T(op_list_filled_twice_reuses_its_storage),
		T(op_list_fini_accepts_a_zeroed_list_and_null),
		T(op_list_of_a_new_bo_holds_its_vm_bo_until_dropped),
		T(apply_ops_out_of_mappings_at_any_point_returns_enomem_and_changes_nothing),
		T(apply_ops_without_a_slab_page_returns_enomem_and_changes_nothing),
		T(apply_ops_refuses_a_prefetch_list_and_changes_nothing),
		T(apply_ops_of_an_empty_list_does_nothing),
		T(map_of_a_new_bo_without_memory_for_its_vm_bo_is_enomem_and_calls_nothing),
		T(map_op_applied_to_a_stale_tree_under_vm_check_is_eexist_and_changes_nothing),
		T(apply_ops_of_a_stale_plan_under_vm_check_reports_the_error),
		T(apply_ops_of_a_plan_whose_mapping_is_gone_under_vm_check_is_eexist),
		T(planning_without_memory_for_the_list_is_enomem_and_changes_nothing),
		T(planning_without_memory_for_index_nodes_is_enomem_and_changes_nothing),
		T(applying_a_plan_allocates_no_index_nodes_even_when_leaves_split),
		T(prefetch_lists_whole_overlapping_vas_in_address_order),
		T(prefetch_of_a_hole_is_an_empty_list),
		T(prefetch_does_not_need_a_range_inside_the_vm),
		T(prefetch_with_zero_range_or_overflow_is_rejected),
		T(bo_unmap_lists_a_bos_mappings_in_link_order_not_address_order),
		T(bo_unmap_after_a_split_lists_the_pieces_last_as_they_were_linked),
		T(bo_unmap_of_a_held_vm_bo_without_mappings_is_an_empty_list),
#undef T
	};

	return cmocka_run_group_tests_name("ops", tests, NULL, NULL);
}
