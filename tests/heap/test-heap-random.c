/* SPDX-License-Identifier: MIT */
/*
 * The heap against a naive model: a byte map of 4096 bytes where each byte
 * names its owner. Random allocations (sizes, alignments, high/low, windows,
 * no-span shifts), fixed allocations, reservations, frees and deliberate
 * misuse (double frees, wrong sizes, bad arguments) run on both; after every
 * step the heap must pass gpuva_heap_check() and tile exactly as the model.
 *
 * Allocation results are compared with a brute-force scan of every position:
 * same errno, and the same address unless the heap legitimately gave up the
 * exact search after more than GPUVA_HEAP_SEARCH_BUDGET near misses (then
 * any valid position will do).
 *
 * Some phases shrink the heap's block capacities (white box: a leaf of 4
 * tiles, an inner node of 3 children, narrow offsets up to 63 units), so
 * that a few hundred tiles make a tree several levels deep, with wide
 * leaves, and every split, merge and re-encoding runs thousands of times.
 *
 *   test-heap-random [--seed S] [--count N]
 *
 * On failure it prints the seed and step, and writes the steps so far as a
 * `gpuva heap-map` script to heap-random-fail.txt.
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

#include "gpuva/heap.h"
#include "heap/heap_internal.h"	/* capacities, depth, leaf formats */
#include "trace.h"	/* the project's one seeded generator */

#define U 4096		/* bytes in the model heap */
#define MAX_RECS 8192	/* live records at once, far above what fits */

static uint64_t opt_seed = 1;
static uint64_t opt_count = 100000;

struct rec {
	uint64_t addr, size;
	int kind;		/* 1 allocated, 2 reserved */
};

struct model {
	uint64_t base;
	int owner[U];		/* 0: free, else index into recs + 1 */
	struct rec recs[MAX_RECS + 1];
	int live[MAX_RECS];	/* record ids, unordered */
	int nlive;
	int free_ids[MAX_RECS];
	int nfree_ids;
	uint32_t used_prefix[U + 1];
};

static struct model M;
static struct gpuva_heap *H;
static struct trace_rng rng;
static size_t step;
static struct {
	uint64_t ok, enospc, einval, over_budget;
	uint64_t leaf_steps, deep_steps, wide_steps, depth_changes;
	uint64_t flat_steps, to_tree, to_flat;
	unsigned max_depth;
} tally;

/*
 * The shape of a phase. "few": records of up to 256 bytes, about 24 live,
 * a heap of one or two leaves. "many": mostly records of 1-4 bytes, the
 * live target swinging between 8 and 768 every 1,500 steps, so that the
 * tree grows several levels and shrinks back to one leaf, again and again.
 */
static struct {
	bool many;
	int want_live;
} shape;
static char *trace;
static size_t trace_len, trace_cap;

static uint64_t
rnd(void)
{
	return trace_rng_next(&rng);
}

static uint64_t
rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void
logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
logf_(const char *fmt, ...)
{
	va_list ap;
	int n;

	if (trace_cap - trace_len < 256) {
		trace_cap = trace_cap ? trace_cap * 2 : 1 << 16;
		trace = realloc(trace, trace_cap);
		assert_non_null(trace);
	}
	va_start(ap, fmt);
	n = vsnprintf(trace + trace_len, trace_cap - trace_len, fmt, ap);
	va_end(ap);
	trace_len += (size_t)n;
}

static void
die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
die(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f = fopen("heap-random-fail.txt", "w");
	if (f) {
		fwrite(trace, 1, trace_len, f);
		fputs("map\n", f);
		fclose(f);
	}
	fail_msg("seed 0x%" PRIx64 " step %zu: %s (last reason: %s; steps so far"
		 " in heap-random-fail.txt)", opt_seed, step, msg,
		 gpuva_heap_last_error(H));
}

/* ---- the model ---- */

static void
model_reset(uint64_t base)
{
	memset(&M, 0, sizeof(M));
	M.base = base;
	for (int i = MAX_RECS; i >= 1; i--)
		M.free_ids[M.nfree_ids++] = i;
}

static void
model_take(uint64_t addr, uint64_t size, int kind)
{
	int id;

	if (!M.nfree_ids)
		die("model out of records");
	id = M.free_ids[--M.nfree_ids];
	M.recs[id] = (struct rec){ addr, size, kind };
	for (uint64_t i = 0; i < size; i++)
		M.owner[addr - M.base + i] = id;
	M.live[M.nlive++] = id;
}

static void
model_drop(int li)
{
	int id = M.live[li];
	struct rec *r = &M.recs[id];

	for (uint64_t i = 0; i < r->size; i++)
		M.owner[r->addr - M.base + i] = 0;
	M.live[li] = M.live[--M.nlive];
	M.free_ids[M.nfree_ids++] = id;
}

/* The live record starting at @addr, as an index into M.live, or -1. */
static int
model_find(uint64_t addr)
{
	for (int i = 0; i < M.nlive; i++)
		if (M.recs[M.live[i]].addr == addr)
			return i;
	return -1;
}

static bool
in_heap(uint64_t addr, uint64_t size)
{
	return size && addr >= M.base && addr - M.base < U &&
	       size <= U - (addr - M.base);
}

static void
model_prefix(void)
{
	for (int i = 0; i < U; i++)
		M.used_prefix[i + 1] = M.used_prefix[i] + (M.owner[i] != 0);
}

/* All of [off, off + size) free; offsets into the model. */
static bool
model_free_at(uint64_t off, uint64_t size)
{
	return M.used_prefix[off + size] == M.used_prefix[off];
}

/* ---- checking ---- */

struct walk {
	uint64_t next;
	size_t used;
	uint64_t free_bytes;
};

static int
check_range(void *priv, const struct gpuva_heap_range *r)
{
	struct walk *w = priv;
	uint64_t off = r->addr - M.base;

	if (r->addr != w->next || r->range == 0 || off >= U || r->range > U - off)
		die("range 0x%" PRIx64 " 0x%" PRIx64 " misplaced", r->addr, r->range);
	w->next = r->addr + r->range;
	if (r->state == GPUVA_HEAP_HOLE) {
		for (uint64_t i = 0; i < r->range; i++)
			if (M.owner[off + i])
				die("hole 0x%" PRIx64 " 0x%" PRIx64 " covers used byte"
				    " 0x%" PRIx64, r->addr, r->range, r->addr + i);
		w->free_bytes += r->range;
	} else {
		int id = M.owner[off];
		struct rec *rc = &M.recs[id];
		int kind = r->state == GPUVA_HEAP_ALLOCATED ? 1 : 2;

		if (!id || rc->addr != r->addr || rc->size != r->range ||
		    rc->kind != kind)
			die("used range 0x%" PRIx64 " 0x%" PRIx64 " state %d not in"
			    " the model", r->addr, r->range, r->state);
		w->used++;
	}
	return 0;
}

static void
check_all(void)
{
	struct walk w = { .next = M.base };
	struct gpuva_heap_stats st;

	if (gpuva_heap_check(H))
		die("gpuva_heap_check: %s", gpuva_heap_last_error(H));
	gpuva_heap_for_each_range(H, check_range, &w);
	if (w.next != M.base + U)
		die("ranges end at 0x%" PRIx64, w.next);
	if (w.used != (size_t)M.nlive)
		die("%zu used ranges, model has %d", w.used, M.nlive);
	gpuva_heap_get_stats(H, &st);
	if (st.free_bytes != w.free_bytes)
		die("free_bytes %" PRIu64 " != %" PRIu64, st.free_bytes, w.free_bytes);
}

static void
expect(int got, int want, const char *what)
{
	if (got != want)
		die("%s returned %d, model says %d", what, got, want);
	if (got == 0)
		tally.ok++;
	else if (got == -ENOSPC)
		tally.enospc++;
	else
		tally.einval++;
}

/* ---- operations ---- */

static bool
crosses(unsigned span, uint64_t x, uint64_t size)
{
	return span && (x >> span) != ((x + size - 1) >> span);
}

static void
op_alloc(void)
{
	uint64_t size, align, wa, wr, lo, last, addr = 0;
	uint32_t flags = 0;
	unsigned span = 0;
	bool window = false, high;
	int want = 0, got;

	size = 1 + rnd_below(UINT64_C(1) << rnd_below(9));
	if (shape.many && rnd_below(8))
		size = 1 + rnd_below(4);
	if (rnd_below(16) == 0)
		size = 1 + rnd_below(U);
	align = UINT64_C(1) << rnd_below(rnd_below(4) ? 7 : 12);
	high = rnd() & 1;
	if (high)
		flags |= GPUVA_HEAP_HIGH;
	if (rnd_below(5) == 0) {
		span = rnd_below(4) ? 4 + (unsigned)rnd_below(8) : 32;
		flags |= GPUVA_HEAP_NO_SPAN(span);
	}
	wa = M.base;
	wr = U;
	if (rnd_below(3) == 0) {
		window = true;
		wa = M.base + rnd_below(U + 64) - 32;
		wr = 1 + rnd_below(U);
		if (rnd_below(50) == 0)
			wr = UINT64_MAX - wa + 1 + rnd_below(2);	/* may overflow */
	}

	/* what the model expects for the arguments */
	if (span && size > (UINT64_C(1) << span))
		want = -EINVAL;
	else if (window && (wr == 0 || wa > UINT64_MAX - (wr - 1)))
		want = -EINVAL;
	else if (window && (wa + (wr - 1) < M.base || wa > M.base + (U - 1)))
		want = -EINVAL;

	logf_("alloc a%zu 0x%" PRIx64 " align=0x%" PRIx64 "%s", step, size, align,
	      high ? " high" : "");
	if (span)
		logf_(" nospan=%u", span);
	if (window)
		logf_(" window=0x%" PRIx64 ",0x%" PRIx64, wa, wr);
	logf_("\n");

	got = window ? gpuva_heap_alloc_in_range(H, size, align, flags, wa, wr,
						 &addr) :
		       gpuva_heap_alloc(H, size, align, flags, &addr);
	if (want) {
		expect(got, want, "alloc with bad arguments");
		return;
	}

	/* brute force: every aligned position in the clipped window */
	lo = wa > M.base ? wa - M.base : 0;
	last = wa + (wr - 1) - M.base < U - 1 ? wa + (wr - 1) - M.base : U - 1;
	model_prefix();

	int64_t best = -1;
	/* runs of free bytes, for the near-miss count */
	int misses = 0;
	int64_t i = high ? U - 1 : 0;

	while (high ? i >= 0 : i < U) {
		int64_t s, e;	/* run [s, e] */

		if (M.owner[i]) {
			i += high ? -1 : 1;
			continue;
		}
		s = e = i;
		if (high)
			while (s > 0 && !M.owner[s - 1])
				s--;
		else
			while (e < U - 1 && !M.owner[e + 1])
				e++;
		i = high ? s - 1 : e + 1;
		if ((uint64_t)e < lo || (uint64_t)s > last)
			continue;
		if ((uint64_t)(e - s + 1) < size)
			continue;
		/* positions inside the run and the window */
		uint64_t a = (uint64_t)s > lo ? (uint64_t)s : lo;
		uint64_t b = (uint64_t)e < last ? (uint64_t)e : last;
		int64_t hit = -1;

		for (uint64_t o = a; o <= b && o + size - 1 <= b; o++) {
			uint64_t x = M.base + o;

			if (x & (align - 1) || crosses(span, x, size))
				continue;
			hit = (int64_t)o;
			if (!high)
				break;
		}
		if (hit >= 0) {
			best = hit;
			break;
		}
		misses++;
	}

	if (best < 0) {
		expect(got, -ENOSPC, "alloc with no fit");
		return;
	}
	expect(got, 0, "alloc with a fit");
	/* valid? */
	if (!in_heap(addr, size) || addr & (align - 1) || crosses(span, addr, size) ||
	    addr - M.base < lo || addr - M.base + size - 1 > last ||
	    !model_free_at(addr - M.base, size))
		die("alloc gave 0x%" PRIx64 ", which does not fit", addr);
	/* the fallback only after more than the budget of near misses */
	if (misses <= GPUVA_HEAP_SEARCH_BUDGET && addr != M.base + (uint64_t)best)
		die("alloc gave 0x%" PRIx64 ", best is 0x%" PRIx64 " after %d near"
		    " misses", addr, M.base + (uint64_t)best, misses);
	if (misses > GPUVA_HEAP_SEARCH_BUDGET)
		tally.over_budget++;
	model_take(addr, size, 1);
	logf_("# = 0x%" PRIx64 "\n", addr);
}

/* A random range around the heap, sometimes outside or overflowing. */
static void
random_range(uint64_t *addr, uint64_t *size)
{
	*addr = M.base + rnd_below(U + 16) - 8;
	*size = 1 + rnd_below(UINT64_C(1) << rnd_below(9));
	if (rnd_below(64) == 0)
		*size = 0;
	if (rnd_below(64) == 0)
		*size = UINT64_MAX - rnd_below(4);
}

static void
op_take(int kind)
{
	uint64_t addr, size;
	int want, got;

	random_range(&addr, &size);
	if (!size || addr > UINT64_MAX - (size - 1) || !in_heap(addr, size)) {
		want = -EINVAL;
	} else {
		model_prefix();
		want = model_free_at(addr - M.base, size) ? 0 : -ENOSPC;
	}
	if (kind == 1) {
		logf_("fixed a%zu 0x%" PRIx64 " 0x%" PRIx64 "\n", step, addr, size);
		got = gpuva_heap_alloc_fixed(H, addr, size);
	} else {
		logf_("reserve 0x%" PRIx64 " 0x%" PRIx64 "\n", addr, size);
		got = gpuva_heap_reserve(H, addr, size);
	}
	expect(got, want, kind == 1 ? "alloc_fixed" : "reserve");
	if (!got)
		model_take(addr, size, kind);
}

static void
op_give_back(uint64_t addr, uint64_t size, bool unreserve)
{
	int li = model_find(addr);
	int want = -EINVAL, got;

	if (li >= 0 && size && M.recs[M.live[li]].size == size &&
	    M.recs[M.live[li]].kind == (unreserve ? 2 : 1))
		want = 0;
	logf_("%s 0x%" PRIx64 " 0x%" PRIx64 "\n", unreserve ? "unreserve" : "free",
	      addr, size);
	got = unreserve ? gpuva_heap_unreserve(H, addr, size) :
			  gpuva_heap_free(H, addr, size);
	expect(got, want, unreserve ? "unreserve" : "free");
	if (!got)
		model_drop(li);
}

static void
op_free_live(void)
{
	struct rec *r;

	if (!M.nlive)
		return;
	r = &M.recs[M.live[rnd_below((uint64_t)M.nlive)]];
	op_give_back(r->addr, r->size, r->kind == 2);
}

static void
op_misuse(void)
{
	uint64_t addr, size, a2 = 0;
	struct rec r;

	switch (rnd_below(6)) {
	case 0:	/* free something random */
		random_range(&addr, &size);
		op_give_back(addr, size, rnd() & 1);
		break;
	case 1:	/* double free */
		if (!M.nlive)
			break;
		r = M.recs[M.live[rnd_below((uint64_t)M.nlive)]];
		op_give_back(r.addr, r.size, r.kind == 2);
		op_give_back(r.addr, r.size, r.kind == 2);
		break;
	case 2:	/* wrong size, or wrong kind */
		if (!M.nlive)
			break;
		r = M.recs[M.live[rnd_below((uint64_t)M.nlive)]];
		op_give_back(r.addr, r.size + 1 + rnd_below(3), r.kind == 2);
		op_give_back(r.addr, r.size, r.kind == 1);
		break;
	case 3:
		logf_("# alloc size 0\n");
		expect(gpuva_heap_alloc(H, 0, 1, 0, &a2), -EINVAL, "alloc size 0");
		break;
	case 4:
		logf_("# alloc align not a power of two\n");
		expect(gpuva_heap_alloc(H, 1, 3 + 2 * rnd_below(100), 0, &a2), -EINVAL,
		       "alloc align 3");
		break;
	default:
		logf_("# alloc unknown flags\n");
		expect(gpuva_heap_alloc(H, 1, 1, 1u << (1 + rnd_below(7)), &a2),
		       -EINVAL, "alloc unknown flags");
		break;
	}
}

/* Does the subtree at @node (level @lv of @H) hold a wide leaf? */
static bool
has_wide(const void *node, unsigned lv)
{
	if (lv == H->depth)
		return ((const struct heap_leaf *)node)->shift == HEAP_WIDE;
	for (unsigned j = 0; j < ((const struct heap_inner *)node)->n; j++)
		if (has_wide(((const struct heap_inner *)node)->child[j], lv + 1))
			return true;
	return false;
}

/*
 * @tiny: a tree of tiny nodes throughout. Else the heap starts flat and
 * switches as its tiles cross @flat_max (down again at half of it).
 */
static void
run_phase(uint64_t base, uint64_t count, bool many, bool tiny,
	  uint32_t flat_max)
{
	unsigned was_depth = 0;
	bool was_flat;

	model_reset(base);
	shape.many = many;
	shape.want_live = 24;
	assert_int_equal(gpuva_heap_create(base, U, &H), 0);
	if (tiny) {
		H->flat_max = 0;
		assert_int_equal(heap_to_tree(H), 0);
		H->leaf_cap = 4;
		H->wide_cap = 3;
		H->inner_cap = 3;
		H->narrow_max = 63;
	} else {
		H->flat_max = flat_max;
	}
	was_flat = heap_is_flat(H);
	logf_("heap 0x%" PRIx64 " 0x%x\n", base, U);
	for (uint64_t i = 0; i < count; i++, step++) {
		uint64_t r = rnd_below(100);
		int p_alloc;

		if (many)
			shape.want_live = (i / 1500) % 2 ? 8 : 768;
		p_alloc = M.nlive < shape.want_live ? (many ? 70 : 50) :
			  (many ? 10 : 35);

		if (r < (uint64_t)p_alloc)
			op_alloc();
		else if (r < 80)
			op_free_live();
		else if (r < 87)
			op_take(1);
		else if (r < 92)
			op_take(2);
		else
			op_misuse();
		check_all();
		tally.to_tree += was_flat && !heap_is_flat(H);
		tally.to_flat += !was_flat && heap_is_flat(H);
		was_flat = heap_is_flat(H);
		if (was_flat) {
			tally.flat_steps++;
			continue;
		}
		if (H->depth)
			tally.deep_steps++;
		else
			tally.leaf_steps++;
		if (H->depth > tally.max_depth)
			tally.max_depth = H->depth;
		tally.depth_changes += H->depth != was_depth;
		was_depth = H->depth;
		tally.wide_steps += has_wide(H->root, 0);
	}
	gpuva_heap_destroy(H);
	H = NULL;
}

static void
random_ops_agree_with_the_byte_map_model(void **state)
{
	/* the 4 GiB boundary mid-heap, a low heap, the top of the space */
	const uint64_t bases[] = {
		(UINT64_C(1) << 32) - U / 2, 0x10000, UINT64_MAX - (U - 1),
	};
	/*
	 * Tiny trees throughout in four phases; in the others the heap starts
	 * flat and switches as its tiles cross flat_max: often at 64 (about
	 * 50 tiles), at the 8-to-768-record swings of a "many" phase, never
	 * in the last two.
	 */
	static const struct {
		int base;
		bool many, tiny;
		uint32_t flat_max;
	} phase[] = {
		{ 0, false, false, 64 },	{ 0, true, true, 0 },
		{ 1, false, true, 0 },		{ 1, true, false, HEAP_FLAT_MAX },
		{ 2, false, true, 0 },		{ 2, true, true, 0 },
		{ 2, false, false, HEAP_FLAT_MAX }, { 1, false, false, HEAP_FLAT_MAX },
	};
	const int nphase = (int)(sizeof(phase) / sizeof(phase[0]));
	uint64_t per = (opt_count + nphase - 1) / nphase;

	rng.s = opt_seed;
	step = 0;
	trace_len = 0;
	for (int i = 0; i < nphase; i++)
		run_phase(bases[phase[i].base], per, phase[i].many, phase[i].tiny,
			  phase[i].flat_max);
	printf("heap-random: seed 0x%" PRIx64 ", %zu steps, all agree: %" PRIu64
	       " ok, %" PRIu64 " -ENOSPC, %" PRIu64 " -EINVAL, %" PRIu64
	       " allocs past the near-miss budget; %" PRIu64 " steps flat (%"
	       PRIu64 " switches to the tree, %" PRIu64 " back), %" PRIu64
	       " in one leaf, %" PRIu64 " in a deeper tree (up to %u inner"
	       " levels, %" PRIu64 " depth changes), %" PRIu64 " with a wide"
	       " leaf\n",
	       opt_seed, step, tally.ok, tally.enospc, tally.einval,
	       tally.over_budget, tally.flat_steps, tally.to_tree,
	       tally.to_flat, tally.leaf_steps, tally.deep_steps,
	       tally.max_depth, tally.depth_changes, tally.wide_steps);
	/* the default run must exercise every shape of the tree */
	if (opt_count >= 100000 && (!tally.leaf_steps || !tally.deep_steps ||
				    tally.max_depth < 3 || tally.depth_changes < 10 ||
				    !tally.wide_steps || tally.flat_steps < 20000 ||
				    tally.to_tree < 5 || tally.to_flat < 5))
		fail_msg("too few steps in some shape of the tree or the flat mode");
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_ops_agree_with_the_byte_map_model),
	};
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc &&
		    trace_parse_u64(argv[i + 1], &opt_seed)) {
			i++;
		} else if (!strcmp(argv[i], "--count") && i + 1 < argc &&
			   trace_parse_u64(argv[i + 1], &opt_count) && opt_count) {
			i++;
		} else {
			fprintf(stderr, "usage: %s [--seed S] [--count N]\n", argv[0]);
			return 2;
		}
	}
	ret = cmocka_run_group_tests_name("heap-random", tests, NULL, NULL);
	free(trace);
	return ret;
}
