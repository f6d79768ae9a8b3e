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
 * Four of its eight phases keep the heap a tree and shrink its block
 * capacities (white box: a leaf of 4 tiles, an inner node of 3 children,
 * narrow offsets up to 63 units), so that a few hundred tiles make a tree
 * several levels deep, with wide leaves, and every split, merge and
 * re-encoding runs thousands of times. The other four start flat; two of
 * them cross flat_max and switch to the tree and back.
 *
 *   test-heap-random [--seed S] [--count N]
 *
 * A second test runs large heaps (page units in the flat mode, past the
 * byte map's reach) against themselves: a heap as created, flat while
 * small, and one kept a tree, under the same requests, must agree on every
 * result, address, reason, tile and counter.
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
	char msg[1024];	/* big_fail() hands on up to 768 bytes */
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

/* ---- the flat mode against the tree, on large heaps ---- */

/*
 * The byte map covers heaps of 4096 bytes, whose flat mode counts in
 * bytes. Above 4 GiB the flat mode counts in pages from the heap's start,
 * and only below 2^32 - 1 of them; there the model is a second heap. Heap
 * A is created as any heap (flat while small), heap B is kept a tree for
 * good, and both run the same requests: same result, address and reason,
 * same tiles and counters. Sizes and alignments keep to whole pages of the
 * heap, so that A stays flat while it is small, except about one request
 * in 200 (a size or an address off by half a page), which sends A to the
 * tree until that tile is given back.
 */
#define PG UINT64_C(4096)
#define BIG_RECS 1024	/* live records at once; the swing tops out near 400 */

struct big_rec {
	uint64_t addr, size;
	int kind;		/* 1 allocated, 2 reserved */
	bool odd;		/* a boundary the flat mode cannot keep */
};

enum big_op { BIG_ALLOC, BIG_FIXED, BIG_RESERVE, BIG_FREE, BIG_UNRESERVE };

/* One request, and its line of the `gpuva heap-map` script. */
struct big_req {
	enum big_op op;
	uint64_t addr, size, align, wa, wr;
	uint32_t flags;
	bool window;
	char text[160];
};

struct big_ranges {
	struct gpuva_heap_range *r;
	size_t n, cap;
};

static struct {
	struct gpuva_heap *a, *b;	/* a: as created; b: a tree for good */
	uint64_t start, range, last, pages;	/* pages: whole ones */
	uint64_t flat_pages;	/* those the flat mode can name */
	unsigned align_bits;	/* alignments up to 2^it keep to the pages */
	struct big_rec live[BIG_RECS];
	int nlive, nodd;
	bool odd_next;		/* give back an odd tile at the next step */
	struct big_ranges ra, rb;
} big;

static struct {
	uint64_t ok, enospc, einval, odd_reqs;
	uint64_t flat_steps, to_tree, to_flat, refused;
} btally;

static const char *
big_mode(const struct gpuva_heap *h)
{
	return heap_is_flat(h) ? "flat" : "tree";
}

/* die(), naming the heap: the steps so far are only this phase's. */
static void
big_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
big_fail(const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	die("heap 0x%" PRIx64 " 0x%" PRIx64 ", A %s now: %s", big.start,
	    big.range, big_mode(big.a), msg);
}

static uint64_t
big_size(void)
{
	return PG * (1 + rnd_below(UINT64_C(1) << rnd_below(15)));
}

/*
 * Pages below which A can stay flat: all but one request in 32, so that
 * a heap larger than the flat units reach still spends most steps flat.
 */
static uint64_t
big_top(void)
{
	return rnd_below(32) ? big.flat_pages : big.pages;
}

/*
 * A page of the heap (a whole unit of the flat mode), mostly near the
 * records or at either end where they pack, so that fixed ranges and
 * windows often collide; sometimes anywhere.
 */
static uint64_t
big_page(void)
{
	uint64_t zone = UINT64_C(1) << (8 + rnd_below(14)), p;

	switch (rnd_below(5)) {
	case 0:
	case 1:
		if (big.nlive) {
			const struct big_rec *r = &big.live[rnd_below((uint64_t)big.nlive)];
			int64_t q;

			p = (r->addr - big.start) / PG;
			if (rnd() & 1)
				p += (r->size + PG - 1) / PG;
			q = (int64_t)p + (int64_t)rnd_below(65) - 32;
			p = q < 0 ? 0 : (uint64_t)q;
			break;
		}
		/* fall through */
	case 2:
		p = rnd_below(zone);
		break;
	case 3:
		p = big_top() - 1 - rnd_below(zone);
		break;
	default:
		p = rnd_below(big_top());
		break;
	}
	return big.start + (p < big.pages ? p : big.pages - 1) * PG;
}

/*
 * Can the flat mode keep [addr, addr + size) (heap_internal.h)? Every
 * boundary but the heap's end a whole page from the start, below
 * FLAT_TO_END pages, and a length below FLAT_REC_END pages unless it runs
 * to the end. Other tiles are given back soon, and only they may keep A
 * from coming back.
 */
static bool
big_in_units(uint64_t addr, uint64_t size)
{
	uint64_t s = addr - big.start, e = s + size;

	if (last_of(addr, size) == big.last)
		return s % PG == 0 && s / PG < FLAT_TO_END;
	return s % PG == 0 && e % PG == 0 && e / PG < FLAT_TO_END &&
	       (e - s) / PG < FLAT_REC_END;
}

static bool
big_overlaps(uint64_t addr, uint64_t size)
{
	for (int i = 0; i < big.nlive; i++) {
		const struct big_rec *r = &big.live[i];

		if (addr <= last_of(r->addr, r->size) && r->addr <= last_of(addr, size))
			return true;
	}
	return false;
}

static void
big_take(uint64_t addr, uint64_t size, int kind)
{
	struct big_rec *r;

	if (big.nlive == BIG_RECS)
		big_fail("more than %d live records", BIG_RECS);
	r = &big.live[big.nlive++];
	*r = (struct big_rec){ addr, size, kind, !big_in_units(addr, size) };
	big.nodd += r->odd;
	/*
	 * While it lives, a free at the low tide fails to bring A back, and A
	 * waits flat_max / 2 more frees there: mostly give it back at once.
	 */
	if (r->odd && rnd_below(8))
		big.odd_next = true;
}

static void
big_drop(uint64_t addr)
{
	for (int i = 0; i < big.nlive; i++) {
		if (big.live[i].addr != addr)
			continue;
		big.nodd -= big.live[i].odd;
		big.live[i] = big.live[--big.nlive];
		return;
	}
	big_fail("gave back 0x%" PRIx64 ", which no record holds", addr);
}

/*
 * What the records say of a request other than an allocation: a second
 * opinion, so that A and B cannot agree on a wrong answer unseen.
 */
static int
big_want(const struct big_req *q)
{
	if (q->op == BIG_FIXED || q->op == BIG_RESERVE) {
		if (!q->size || q->addr > UINT64_MAX - (q->size - 1) ||
		    q->addr < big.start || last_of(q->addr, q->size) > big.last)
			return -EINVAL;
		return big_overlaps(q->addr, q->size) ? -ENOSPC : 0;
	}
	for (int i = 0; i < big.nlive; i++) {
		const struct big_rec *r = &big.live[i];

		if (r->addr == q->addr)
			return r->size == q->size &&
			       r->kind == (q->op == BIG_FREE ? 1 : 2) ? 0 : -EINVAL;
	}
	return -EINVAL;
}

/* An allocation at @x honours its request and overlaps no record. */
static bool
big_fits(const struct big_req *q, uint64_t x)
{
	uint64_t lo = big.start, hi = big.last;

	if (q->window) {
		lo = q->wa > lo ? q->wa : lo;
		hi = last_of(q->wa, q->wr) < hi ? last_of(q->wa, q->wr) : hi;
	}
	return x >= lo && x <= hi && q->size - 1 <= hi - x &&
	       !(x & (q->align - 1)) &&
	       !crosses((q->flags & GPUVA_HEAP_NO_SPAN_MASK) >> 8, x, q->size) &&
	       !big_overlaps(x, q->size);
}

static void
req_add(struct big_req *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
req_add(struct big_req *q, const char *fmt, ...)
{
	size_t n = strlen(q->text);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q->text + n, sizeof(q->text) - n, fmt, ap);
	va_end(ap);
}

static void
big_text(struct big_req *q)
{
	static const char *const verb[] = { "", "fixed", "reserve", "free", "unreserve" };
	const uint32_t known = GPUVA_HEAP_HIGH | GPUVA_HEAP_NO_SPAN_MASK;
	unsigned span = (q->flags & GPUVA_HEAP_NO_SPAN_MASK) >> 8;

	q->text[0] = 0;
	if (q->op == BIG_FIXED)
		req_add(q, "fixed a%zu ", step);
	else if (q->op != BIG_ALLOC)
		req_add(q, "%s ", verb[q->op]);
	if (q->op != BIG_ALLOC) {
		req_add(q, "0x%" PRIx64 " 0x%" PRIx64, q->addr, q->size);
		return;
	}
	/* the script has no words for unknown flags: a comment then */
	req_add(q, "%salloc a%zu 0x%" PRIx64 " align=0x%" PRIx64 "%s",
		q->flags & ~known ? "# " : "", step, q->size, q->align,
		q->flags & GPUVA_HEAP_HIGH ? " high" : "");
	if (span)
		req_add(q, " nospan=%u", span);
	if (q->window)
		req_add(q, " window=0x%" PRIx64 ",0x%" PRIx64, q->wa, q->wr);
	if (q->flags & ~known)
		req_add(q, " flags=0x%" PRIx32, q->flags);
}

static int
big_run(struct gpuva_heap *h, const struct big_req *q, uint64_t *addr)
{
	switch (q->op) {
	case BIG_ALLOC:
		if (q->window)
			return gpuva_heap_alloc_in_range(h, q->size, q->align, q->flags,
							 q->wa, q->wr, addr);
		return gpuva_heap_alloc(h, q->size, q->align, q->flags, addr);
	case BIG_FIXED:
		return gpuva_heap_alloc_fixed(h, q->addr, q->size);
	case BIG_RESERVE:
		return gpuva_heap_reserve(h, q->addr, q->size);
	case BIG_FREE:
		return gpuva_heap_free(h, q->addr, q->size);
	default:
		return gpuva_heap_unreserve(h, q->addr, q->size);
	}
}

/* Run @q on both heaps: they must answer alike, and as the records say. */
static int
big_both(struct big_req *q)
{
	uint64_t xa = UINT64_MAX, xb = UINT64_MAX;	/* untouched on errors */
	const char *was = big_mode(big.a);
	bool may_return = !heap_is_flat(big.a) && !big.a->flat_wait;
	char why[384];
	int ga, gb, want;

	big_text(q);
	logf_("%s\n", q->text);
	want = q->op == BIG_ALLOC ? 0 : big_want(q);
	ga = big_run(big.a, q, &xa);
	/* every heap's reason is written into one buffer: keep A's first */
	snprintf(why, sizeof(why), "%s", ga ? gpuva_heap_last_error(big.a) : "");
	gb = big_run(big.b, q, &xb);
	if (ga != gb || xa != xb)
		big_fail("%s: A (%s before) returned %d, address 0x%" PRIx64
			 "; B (tree) returned %d, address 0x%" PRIx64, q->text, was,
			 ga, xa, gb, xb);
	if (ga && strcmp(why, gpuva_heap_last_error(big.b)))
		big_fail("%s: both returned %d, with other reasons: A (%s before)"
			 " \"%s\", B \"%s\"", q->text, ga, was, why,
			 gpuva_heap_last_error(big.b));
	if (q->op != BIG_ALLOC && ga != want)
		big_fail("%s: both returned %d, the records say %d", q->text, ga, want);
	if (q->op == BIG_ALLOC && !ga && !big_fits(q, xa))
		big_fail("%s: both gave 0x%" PRIx64 ", outside the request or over"
			 " a record", q->text, xa);
	if (ga == 0)
		btally.ok++;
	else if (ga == -ENOSPC)
		btally.enospc++;
	else
		btally.einval++;
	if (ga)
		return ga;
	switch (q->op) {
	case BIG_ALLOC:
		logf_("# = 0x%" PRIx64 "\n", xa);
		big_take(xa, q->size, 1);
		break;
	case BIG_FIXED:
	case BIG_RESERVE:
		big_take(q->addr, q->size, q->op == BIG_FIXED ? 1 : 2);
		break;
	default:
		big_drop(q->addr);
		/* at half of flat_max, with every tile in units, A goes back */
		if (may_return && !heap_is_flat(big.a) && !big.nodd &&
		    heap_tiles(big.a) <= big.a->flat_max / 2)
			big_fail("%s: A stayed a tree of %zu tiles, all in units"
				 " (flat_max %" PRIu32 ")", q->text,
				 heap_tiles(big.a), big.a->flat_max);
		break;
	}
	return 0;
}

static void
big_give_back(uint64_t addr, uint64_t size, bool unreserve)
{
	struct big_req q = { .op = unreserve ? BIG_UNRESERVE : BIG_FREE,
			     .addr = addr, .size = size };

	big_both(&q);
}

static void
big_alloc(bool odd)
{
	struct big_req q = { .op = BIG_ALLOC, .size = big_size() };

	/* units count from the start: one off a page keeps them below a page */
	if (big.align_bits < 12 && rnd_below(50))
		q.align = UINT64_C(1) << rnd_below(big.align_bits + 1);
	else
		q.align = PG << rnd_below(13);
	if (rnd_below(3) == 0)
		q.flags |= GPUVA_HEAP_HIGH;
	if (rnd_below(6) == 0)
		q.flags |= GPUVA_HEAP_NO_SPAN(14 + rnd_below(26));
	if (rnd_below(4) == 0) {
		q.window = true;
		q.wa = big_page();
		q.wr = PG * (1 + rnd_below(UINT64_C(1) << rnd_below(24)));
	} else if (q.flags & GPUVA_HEAP_HIGH && big_top() < big.pages) {
		/* the top of a heap past the flat units: mostly below them */
		q.window = true;
		q.wa = big.start;
		q.wr = big.flat_pages * PG;
	}
	if (odd)
		q.size += PG / 2;
	big_both(&q);
}

static void
big_take_op(enum big_op op, bool odd)
{
	struct big_req q = { .op = op, .addr = big_page(), .size = big_size() };

	if (odd && rnd() & 1)
		q.addr += PG / 2;
	else if (odd)
		q.size += PG / 2;
	big_both(&q);
}

static void
big_free_live(void)
{
	const struct big_rec *r;

	if (!big.nlive)
		return;
	r = &big.live[rnd_below((uint64_t)big.nlive)];
	big_give_back(r->addr, r->size, r->kind == 2);
}

static void
big_free_odd(void)
{
	for (int i = 0; i < big.nlive; i++) {
		if (big.live[i].odd) {
			big_give_back(big.live[i].addr, big.live[i].size,
				      big.live[i].kind == 2);
			return;
		}
	}
}

/*
 * The largest hole taken in whole pages (all of it but a short last unit),
 * again and again, so that at the low tide the heap fills to its end; a
 * request or two on the full heap; then all given back.
 */
static void
big_fill(void)
{
	struct big_req q = { .op = BIG_ALLOC, .align = PG };
	struct gpuva_heap_stats st;
	uint64_t addr[24], size[24];
	int n = 0;

	while (n < 24) {
		gpuva_heap_get_stats(big.a, &st);
		q.size = st.largest_hole / PG * PG;
		q.flags = rnd() & 1 ? GPUVA_HEAP_HIGH : 0;
		if (!q.size || big_both(&q))
			break;
		addr[n] = big.live[big.nlive - 1].addr;	/* big_take() appends */
		size[n++] = q.size;
	}
	big_alloc(false);
	big_take_op(BIG_FIXED, false);
	/* first those too long for the flat mode, which would keep A a tree */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n; i++)
			if (big_in_units(addr[i], size[i]) == pass)
				big_give_back(addr[i], size[i], false);
}

static void
big_misuse(void)
{
	struct big_rec r = { big.start, PG, 1, false };	/* none live: refused too */
	struct big_req q = { .op = BIG_ALLOC, .size = PG, .align = PG };
	uint64_t x;

	if (big.nlive)
		r = big.live[rnd_below((uint64_t)big.nlive)];
	switch (rnd_below(9)) {
	case 0:		/* whatever is there, often inside a record */
		big_give_back(big_page(), big_size(), rnd() & 1);
		break;
	case 1:
		big_give_back(r.addr, r.size, r.kind == 2);
		big_give_back(r.addr, r.size, r.kind == 2);
		break;
	case 2:		/* the wrong size, by a page or half of one */
		x = rnd_below(3);
		big_give_back(r.addr, x == 0 ? r.size + PG : x == 1 ?
			      r.size + PG / 2 : r.size - PG / 2, r.kind == 2);
		break;
	case 3:		/* inside: pages in, or half a page */
		x = r.size > PG && rnd() & 1 ?
		    PG * (1 + rnd_below(r.size / PG - 1)) : PG / 2;
		big_give_back(r.addr + x, r.size - x, r.kind == 2);
		break;
	case 4:		/* the wrong kind */
		big_give_back(r.addr, r.size, r.kind == 1);
		break;
	case 5:		/* allocations with bad arguments, or too large */
		switch (rnd_below(6)) {
		case 0:
			q.size = 0;
			break;
		case 1:
			q.align = 3 * PG;
			break;
		case 2:
			q.flags = 1u << (1 + rnd_below(7));
			break;
		case 3:
			q.flags = GPUVA_HEAP_NO_SPAN(12);
			q.size = 2 * PG;
			break;
		case 4:		/* about the whole heap: larger than any hole */
			q.size = big.range - PG * rnd_below(3);
			break;
		default:	/* windows outside, or past 2^64 */
			q.window = true;
			q.wr = PG * (1 + rnd_below(64));
			if (rnd() & 1) {
				q.wa = big.start - 64 * PG;
			} else if (big.last == UINT64_MAX) {
				q.wa = big.last - PG * rnd_below(8);
				q.wr = UINT64_MAX - q.wa + 1 + rnd_below(2);
			} else {
				q.wa = big.last + 1 + PG * rnd_below(8);
			}
			break;
		}
		big_both(&q);
		break;
	case 6:		/* fixed ranges with bad arguments */
		q.op = rnd() & 1 ? BIG_FIXED : BIG_RESERVE;
		q.addr = big_page();
		switch (rnd_below(4)) {
		case 0:
			q.size = 0;
			break;
		case 1:
			q.addr = big.start - PG;
			q.size = 2 * PG;
			break;
		case 2:		/* past the end, or past 2^64 */
			q.addr = big.last + 1 - PG;
			q.size = 2 * PG;
			break;
		default:
			q.size = UINT64_MAX - rnd_below(4);
			break;
		}
		big_both(&q);
		break;
	case 7:
		big_fill();
		break;
	default:	/* outside the heap, or nothing */
		x = rnd_below(3);
		big_give_back(x == 0 ? big.start - PG : x == 1 ? big.last + 1 : r.addr,
			      x == 2 ? 0 : PG, rnd() & 1);
		break;
	}
}

static int
big_collect(void *priv, const struct gpuva_heap_range *r)
{
	struct big_ranges *c = priv;

	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 1024;
		c->r = realloc(c->r, c->cap * sizeof(*c->r));
		assert_non_null(c->r);
	}
	c->r[c->n++] = *r;
	return 0;
}

/* The heaps alike: a query, the counters, the invariants, every tile. */
static void
big_check(void)
{
	struct gpuva_heap_stats a, b;
	uint64_t x = big_page(), s = big_size();
	size_t n;

	if (heap_is_flat(big.b))
		big_fail("B went flat");
	if (gpuva_heap_is_free(big.a, x, s) != gpuva_heap_is_free(big.b, x, s))
		big_fail("is_free 0x%" PRIx64 " 0x%" PRIx64 ": A says %d",
			 x, s, gpuva_heap_is_free(big.a, x, s));
	gpuva_heap_get_stats(big.a, &a);
	gpuva_heap_get_stats(big.b, &b);
#define SAME(f)								\
	if (a.f != b.f)							\
		big_fail("stats ." #f ": A 0x%" PRIx64 ", B 0x%" PRIx64,	\
			 (uint64_t)a.f, (uint64_t)b.f)
	SAME(start);
	SAME(range);
	SAME(free_bytes);
	SAME(largest_hole);
	SAME(holes);
	SAME(allocations);
	SAME(allocated_bytes);
	SAME(reservations);
	SAME(reserved_bytes);
#undef SAME
	if (a.allocations + a.reservations != (size_t)big.nlive)
		big_fail("%zu used tiles, %d records", a.allocations + a.reservations,
			 big.nlive);
	if (gpuva_heap_check(big.a))
		big_fail("gpuva_heap_check(A): %s", gpuva_heap_last_error(big.a));
	if (gpuva_heap_check(big.b))
		big_fail("gpuva_heap_check(B): %s", gpuva_heap_last_error(big.b));
	big.ra.n = big.rb.n = 0;
	gpuva_heap_for_each_range(big.a, big_collect, &big.ra);
	gpuva_heap_for_each_range(big.b, big_collect, &big.rb);
	n = big.ra.n > big.rb.n ? big.ra.n : big.rb.n;
	for (size_t i = 0; i < n; i++) {
		const struct gpuva_heap_range none = { 0, 0, GPUVA_HEAP_HOLE };
		const struct gpuva_heap_range *ra = i < big.ra.n ? &big.ra.r[i] : &none;
		const struct gpuva_heap_range *rb = i < big.rb.n ? &big.rb.r[i] : &none;

		if (ra->addr != rb->addr || ra->range != rb->range ||
		    ra->state != rb->state)
			big_fail("range %zu of %zu/%zu: A 0x%" PRIx64 " 0x%" PRIx64
				 " state %d, B 0x%" PRIx64 " 0x%" PRIx64 " state %d",
				 i, big.ra.n, big.rb.n, ra->addr, ra->range,
				 ra->state, rb->addr, rb->range, rb->state);
	}
}

static uint64_t
big_phase(uint64_t start, uint64_t range, uint64_t count)
{
	uint64_t flat = 0;
	uint32_t was_wait;
	bool was_flat;

	memset(&big.live, 0, sizeof(big.live));
	big.nlive = big.nodd = 0;
	big.start = start;
	big.range = range;
	big.last = last_of(start, range);
	big.pages = range / PG;
	big.flat_pages = big.pages < FLAT_TO_END - 1 ? big.pages : FLAT_TO_END - 1;
	big.odd_next = false;
	big.align_bits = start % PG ? (unsigned)__builtin_ctzll(start) : 63;
	assert_int_equal(gpuva_heap_create(start, range, &big.a), 0);
	assert_int_equal(gpuva_heap_create(start, range, &big.b), 0);
	big.b->flat_max = 0;
	assert_int_equal(heap_to_tree(big.b), 0);
	H = big.a;	/* die() tells its last reason */
	/* the failure's script: this phase alone, replayable on its own */
	trace_len = 0;
	logf_("heap 0x%" PRIx64 " 0x%" PRIx64 "\n", start, range);
	was_flat = heap_is_flat(big.a);
	was_wait = 0;
	for (uint64_t i = 0; i < count; i++, step++) {
		uint64_t r = rnd_below(100);
		/* A crosses flat_max both ways on each swing */
		int want_live = (i / 2000) % 2 ? 20 : 400;
		uint64_t p_alloc = big.nlive < want_live ? 55 : 15;

		if (big.odd_next) {
			big.odd_next = false;
			big_free_odd();
		} else if (rnd_below(200) == 0) {
			btally.odd_reqs++;
			if (r < 50)
				big_alloc(true);
			else
				big_take_op(r < 75 ? BIG_FIXED : BIG_RESERVE, true);
		} else if (r < p_alloc) {
			big_alloc(false);
		} else if (r < 80) {
			big_free_live();
		} else if (r < 87) {
			big_take_op(BIG_FIXED, false);
		} else if (r < 92) {
			big_take_op(BIG_RESERVE, false);
		} else {
			big_misuse();
		}
		/* a tile off the pages keeps A a tree: give those back soon */
		if (big.nodd && rnd_below(20) == 0)
			big_free_odd();
		big_check();
		btally.to_tree += was_flat && !heap_is_flat(big.a);
		btally.to_flat += !was_flat && heap_is_flat(big.a);
		/* a return to the flat mode refused: it waits again */
		btally.refused += big.a->flat_wait > was_wait;
		was_wait = big.a->flat_wait;
		was_flat = heap_is_flat(big.a);
		flat += was_flat;
	}
	gpuva_heap_destroy(big.a);
	gpuva_heap_destroy(big.b);
	big.a = big.b = NULL;
	H = NULL;
	btally.flat_steps += flat;
	return flat;
}

static void
flat_and_tree_agree_on_large_heaps(void **state)
{
	static const struct {
		uint64_t start, range;
	} phase[] = {
		/* pages from 1 MiB; past 16 TiB no unit: the top is the tree's */
		{ 0x100000, UINT64_C(1) << 47 },
		/* units count from a start that is not a page */
		{ 0x100800, UINT64_C(1) << 44 },
		/* the top of the address space: the heap ends at 2^64 */
		{ UINT64_MAX - ((UINT64_C(1) << 40) - 1), UINT64_C(1) << 40 },
		/*
		 * Just past 4 GiB, so in pages, with a short last unit; small
		 * enough to fill, so that first fits reach the end.
		 */
		{ 0x100000, (UINT64_C(1) << 32) + PG / 2 },
	};
	const int nphase = (int)(sizeof(phase) / sizeof(phase[0]));
	uint64_t flat[sizeof(phase) / sizeof(phase[0])];

	rng.s = opt_seed;
	step = 0;
	memset(&btally, 0, sizeof(btally));
	for (int i = 0; i < nphase; i++)
		flat[i] = big_phase(phase[i].start, phase[i].range,
				    opt_count / nphase + (i < (int)(opt_count % nphase)));
	printf("heap-random large: seed 0x%" PRIx64 ", %zu steps, flat and tree"
	       " agree: %" PRIu64 " ok, %" PRIu64 " -ENOSPC, %" PRIu64 " -EINVAL,"
	       " %" PRIu64 " requests off the pages; A flat in %" PRIu64 " steps"
	       " (%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 " by phase), %"
	       PRIu64 " switches to the tree, %" PRIu64 " back, %" PRIu64
	       " returns refused\n", opt_seed, step, btally.ok, btally.enospc,
	       btally.einval, btally.odd_reqs, btally.flat_steps, flat[0],
	       flat[1], flat[2], flat[3], btally.to_tree, btally.to_flat,
	       btally.refused);
	free(big.ra.r);
	free(big.rb.r);
	memset(&big.ra, 0, sizeof(big.ra));
	memset(&big.rb, 0, sizeof(big.rb));
	/* the default run must keep covering the flat mode and its switches */
	if (opt_count >= 100000 && (btally.flat_steps * 5 < step ||
				    btally.to_tree < 5 || btally.to_flat < 5))
		fail_msg("A was flat in too few steps or switched too rarely");
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_ops_agree_with_the_byte_map_model),
		cmocka_unit_test(flat_and_tree_agree_on_large_heaps),
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
