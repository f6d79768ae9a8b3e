/* SPDX-License-Identifier: MIT */
/*
 * gpuva bench heap-churn|heap-frag: the VA allocator against two first-fit
 * hole lists.
 *
 * "list" is Mesa's util_vma_heap's idea with the cheapest arithmetic:
 * holes in a sorted linked list, alloc walks it from the bottom for the
 * first hole that fits after alignment (a mask), free walks it from the
 * bottom to find the neighbours and merges, one malloc per hole. "vma" is
 * util_vma_heap's own algorithm, step for step (see its section below):
 * the same placement, but a division per alignment test and frees that walk
 * from the top, so it is what a driver runs today and the ratio a driver
 * would see. All three sides run the same pre-generated request sequence
 * in the same run, so the ratios do not depend on the machine's mood. Only
 * request processing is timed, never generation. Before timing, the two
 * lists run side by side once and must place every block at the same
 * address, or the bench fails.
 *
 *   heap-churn  n live allocations of 4 KiB..64 MiB, aligned 4 KiB..16 MiB,
 *               then --ops random frees and allocations (live stays near n)
 *   heap-frag   n 16 KiB blocks, every other one freed (n/2 small holes),
 *               then rounds of: alloc 64 KiB (fits no small hole), alloc
 *               4..12 KiB (splits the lowest hole), free both
 *
 * Each side runs --reps times (default 5), each rep starting with the next
 * side; the figures are medians. Without --n both n=100000 and n=100 run.
 * The lists are slow by design; with many live allocations they run only
 * the first --list-ops operations, and each ratio compares the same prefix.
 *
 * Memory, untimed, after that prefix on each side (the same requests, so
 * the same live allocations): bytes per live allocation for the heap
 * (gpuva_heap_get_stats().bytes) and for the list as util_vma_heap keeps
 * it, one 32-byte hole struct per hole and nothing per allocation, counted
 * as malloc'd (48 bytes) and as bare structs (the vma side has the list's
 * holes, so the same figure). The heap's figure after all requests
 * follows.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpuva/heap.h"
#include "tools.h"
#include "util/util.h"

#define KIB UINT64_C(1024)
#define MIB (KIB * 1024)
#define HEAP_START (UINT64_C(1) << 20)
#define HEAP_RANGE (UINT64_C(1) << 47)

static struct trace_rng rng;

static uint64_t
rnd(void)
{
	return trace_rng_next(&rng);
}

/* ---- the request sequence ---- */

enum { REQ_ALLOC, REQ_FREE };

struct req {
	uint8_t kind;
	uint32_t slot;		/* free: index into the live slots */
	uint64_t size, align;	/* alloc */
};

struct seq {
	struct req *r;
	size_t n, cap;
	size_t fill;		/* the first @fill requests set the scene */
	size_t max_live;
};

static void
seq_push(struct seq *s, struct req r)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->r = realloc(s->r, s->cap * sizeof(*s->r));
		if (!s->r) {
			fprintf(stderr, "gpuva bench: out of memory\n");
			exit(1);
		}
	}
	s->r[s->n++] = r;
}

static uint64_t
churn_size(void)
{
	return 4 * KIB * (1 + rnd() % (UINT64_C(1) << (rnd() % 15)));
}

static uint64_t
churn_align(void)
{
	static const uint64_t a[] = { 4 * KIB, 4 * KIB, 4 * KIB, 4 * KIB,
				      64 * KIB, 64 * KIB, 2 * MIB, 16 * MIB };

	return a[rnd() % 8];
}

/* Frees pick a live slot; slots are kept dense (last moves into the hole). */
static void
gen_churn(struct seq *s, uint64_t n, uint64_t ops)
{
	size_t live = 0;

	for (uint64_t i = 0; i < n; i++, live++)
		seq_push(s, (struct req){ REQ_ALLOC, 0, churn_size(), churn_align() });
	s->fill = s->n;
	for (uint64_t i = 0; i < ops; i++) {
		if (live == 0 || (live < 2 * n && rnd() & 1)) {
			seq_push(s, (struct req){ REQ_ALLOC, 0, churn_size(),
						  churn_align() });
			live++;
		} else {
			seq_push(s, (struct req){ REQ_FREE, (uint32_t)(rnd() % live),
						  0, 0 });
			live--;
		}
		if (live > s->max_live)
			s->max_live = live;
	}
	if (s->fill > s->max_live)
		s->max_live = s->fill;
}

static void
gen_frag(struct seq *s, uint64_t n, uint64_t ops)
{
	uint32_t *id_at = malloc(n * sizeof(*id_at));	/* slot -> block */
	uint32_t *slot_of = malloc(n * sizeof(*slot_of));	/* block -> slot */
	size_t live = n;

	if (!id_at || !slot_of) {
		fprintf(stderr, "gpuva bench: out of memory\n");
		exit(1);
	}
	/* n blocks in address order, then every other one freed */
	for (uint32_t i = 0; i < n; i++) {
		seq_push(s, (struct req){ REQ_ALLOC, 0, 16 * KIB, 4 * KIB });
		id_at[i] = slot_of[i] = i;
	}
	for (uint32_t b = 0; b < n; b += 2) {
		uint32_t sl = slot_of[b], last = id_at[--live];

		seq_push(s, (struct req){ REQ_FREE, sl, 0, 0 });
		id_at[sl] = last;
		slot_of[last] = sl;
	}
	free(id_at);
	free(slot_of);
	s->fill = s->n;
	s->max_live = n + 2;
	/*
	 * Rounds: a 64 KiB block, which no small hole takes, and a small one,
	 * which splits the lowest hole; then both go again.
	 */
	for (uint64_t i = 0; i + 4 <= ops; i += 4) {
		seq_push(s, (struct req){ REQ_ALLOC, 0, 64 * KIB, 64 * KIB });
		seq_push(s, (struct req){ REQ_ALLOC, 0, 4 * KIB * (1 + rnd() % 3),
					  4 * KIB });
		seq_push(s, (struct req){ REQ_FREE, (uint32_t)live, 0, 0 });
		seq_push(s, (struct req){ REQ_FREE, (uint32_t)live, 0, 0 });
	}
}

/* ---- the first-fit list (util_vma_heap's way) ---- */

struct lhole {
	struct lhole *next, *prev;
	uint64_t start, size;
};

struct list_heap {
	struct lhole head;	/* sentinel, address order */
	size_t holes;
};

static void
list_init(struct list_heap *l, uint64_t start, uint64_t size)
{
	struct lhole *h = malloc(sizeof(*h));

	h->start = start;
	h->size = size;
	l->head.next = l->head.prev = h;
	h->next = h->prev = &l->head;
	l->holes = 1;
}

static void
list_fini(struct list_heap *l)
{
	struct lhole *h = l->head.next;

	while (h != &l->head) {
		struct lhole *n = h->next;

		free(h);
		h = n;
	}
}

static void
list_unlink(struct list_heap *l, struct lhole *h)
{
	h->prev->next = h->next;
	h->next->prev = h->prev;
	free(h);
	l->holes--;
}

/* Put @h in after @at (either side's list). */
static void
list_link(struct list_heap *l, struct lhole *h, struct lhole *at)
{
	h->prev = at;
	h->next = at->next;
	at->next->prev = h;
	at->next = h;
	l->holes++;
}

static struct lhole *
list_insert_after(struct list_heap *l, struct lhole *at, uint64_t start,
		  uint64_t size)
{
	struct lhole *h = malloc(sizeof(*h));

	if (!h)
		return NULL;
	h->start = start;
	h->size = size;
	list_link(l, h, at);
	return h;
}

/*
 * Fairness: the list rejects what it can see in the same walk, as
 * util_vma_heap asserts it (size 0, a bad alignment, a free that overlaps a
 * hole), so neither side runs unchecked. The heap also catches frees of the
 * wrong size or inside an allocation, which a hole list cannot know.
 */
static int
list_alloc(struct list_heap *l, uint64_t size, uint64_t align, uint64_t *out)
{
	if (size == 0 || !util_is_pow2(align))
		return -EINVAL;
	for (struct lhole *h = l->head.next; h != &l->head; h = h->next) {
		uint64_t x, left, right;

		if (h->size < size)
			continue;
		x = (h->start + align - 1) & ~(align - 1);
		if (x - h->start > h->size - size)
			continue;
		left = x - h->start;
		right = h->size - left - size;
		if (!left && !right) {
			list_unlink(l, h);
		} else if (!left) {
			h->start += size;
			h->size = right;
		} else {
			h->size = left;
			if (right && !list_insert_after(l, h, x + size, right))
				return -ENOMEM;
		}
		*out = x;
		return 0;
	}
	return -ENOSPC;
}

static int
list_free(struct list_heap *l, uint64_t addr, uint64_t size)
{
	struct lhole *h = l->head.next;
	struct lhole *prev;

	if (size == 0 || addr > UINT64_MAX - size)
		return -EINVAL;
	/* the first hole above addr, and the one before it */
	while (h != &l->head && h->start < addr)
		h = h->next;
	prev = h->prev;
	if ((h != &l->head && addr + size > h->start) ||
	    (prev != &l->head && prev->start + prev->size > addr))
		return -EINVAL;	/* overlaps free space: a double free */
	if (prev != &l->head && prev->start + prev->size == addr) {
		prev->size += size;
		if (h != &l->head && addr + size == h->start) {
			prev->size += h->size;
			list_unlink(l, h);
		}
	} else if (h != &l->head && addr + size == h->start) {
		h->start = addr;
		h->size += size;
	} else if (!list_insert_after(l, prev, addr, size)) {
		return -ENOMEM;
	}
	return 0;
}

/*
 * ---- util_vma_heap's own algorithm ----
 *
 * The list above is util_vma_heap's idea with cheaper arithmetic. This one
 * follows what Mesa's util_vma_heap (src/util/vma.c) does in a release
 * build, step for step, so that the ratio against it can be measured here:
 * the holes are kept from the highest down; a lowest-first allocation walks
 * them from the bottom and aligns with a division (offset % alignment), as
 * it takes any alignment, not only powers of two; a split takes its new
 * hole from calloc; a free walks from the top hole down to the first one
 * at or below the address. The checks are the list's, for the same reason.
 * Placement is the list's, so both end with the same holes.
 *
 * It uses the list's hole struct and sentinel (32 bytes, as util_vma_hole)
 * kept the other way round: head.next is the highest hole, and ->next goes
 * down. list_init() starts both (one hole either way), list_fini() ends
 * both.
 */

/* Take [offset, offset + size) out of hole @h, which holds it. */
static int
vma_take(struct list_heap *v, struct lhole *h, uint64_t offset, uint64_t size)
{
	uint64_t above = (h->size - size) - (offset - h->start);
	struct lhole *hi;

	if (offset == h->start && size == h->size) {
		list_unlink(v, h);
	} else if (above == 0) {
		h->size -= size;
	} else if (offset == h->start) {
		h->start += size;
		h->size -= size;
	} else {
		/* the part above goes in front of h: the list runs downwards */
		hi = calloc(1, sizeof(*hi));
		if (!hi)
			return -ENOMEM;
		hi->start = offset + size;
		hi->size = above;
		h->size = offset - h->start;
		list_link(v, hi, h->prev);
	}
	return 0;
}

static int
vma_alloc(struct list_heap *v, uint64_t size, uint64_t align, uint64_t *out)
{
	if (size == 0 || !util_is_pow2(align))
		return -EINVAL;
	for (struct lhole *h = v->head.prev; h != &v->head; h = h->prev) {
		uint64_t offset = h->start, misalign;

		if (size > h->size)
			continue;
		misalign = offset % align;
		if (misalign) {
			if (align - misalign > h->size - size)
				continue;
			offset += align - misalign;
		}
		*out = offset;
		return vma_take(v, h, offset, size);
	}
	return -ENOSPC;
}

static int
vma_free(struct list_heap *v, uint64_t offset, uint64_t size)
{
	struct lhole *high = NULL, *low = NULL, *h;
	bool high_next, low_next;

	if (size == 0 || offset > UINT64_MAX - size)
		return -EINVAL;
	for (h = v->head.next; h != &v->head; h = h->next) {
		if (h->start <= offset) {
			low = h;
			break;
		}
		high = h;
	}
	if ((high && offset + size > high->start) ||
	    (low && low->start + low->size > offset))
		return -EINVAL;	/* overlaps free space: a double free */
	high_next = high && high->start == offset + size;
	low_next = low && low->start + low->size == offset;
	if (high_next && low_next) {
		low->size += size + high->size;
		list_unlink(v, high);
	} else if (low_next) {
		low->size += size;
	} else if (high_next) {
		high->start = offset;
		high->size += size;
	} else {
		h = calloc(1, sizeof(*h));
		if (!h)
			return -ENOMEM;
		h->start = offset;
		h->size = size;
		list_link(v, h, high ? high : &v->head);
	}
	return 0;
}

/* ---- running a sequence ---- */

struct slot {
	uint64_t addr, size;
};

struct run {
	uint64_t fill_ns;	/* the scene */
	uint64_t ops_ns;	/* all requests after the scene */
	uint64_t prefix_ns;	/* the first list_ops of them */
	size_t holes;		/* at the end of the run */
	/* at the end of the prefix, where the list stops: the same requests */
	size_t mid_live, mid_holes;
	size_t mid_bytes;	/* heap: gpuva_heap_get_stats().bytes */
	size_t end_live, end_bytes;
};

/* The three sides of a run. */
enum side { SIDE_HEAP, SIDE_LIST, SIDE_VMA, SIDES };

static const char *const side_name[SIDES] = { "heap", "list", "vma" };

struct impl {
	enum side side;
	struct gpuva_heap *heap;
	struct list_heap list;	/* list or vma: the same struct, kept either way */
};

static int
impl_alloc(struct impl *im, uint64_t size, uint64_t align, uint64_t *addr)
{
	switch (im->side) {
	case SIDE_LIST:
		return list_alloc(&im->list, size, align, addr);
	case SIDE_VMA:
		return vma_alloc(&im->list, size, align, addr);
	default:
		return gpuva_heap_alloc(im->heap, size, align, 0, addr);
	}
}

static int
impl_free(struct impl *im, uint64_t addr, uint64_t size)
{
	switch (im->side) {
	case SIDE_LIST:
		return list_free(&im->list, addr, size);
	case SIDE_VMA:
		return vma_free(&im->list, addr, size);
	default:
		return gpuva_heap_free(im->heap, addr, size);
	}
}

/* Holes now, on any side, and the heap's bytes (0 for a list). */
static size_t
impl_holes(const struct impl *im, size_t *bytes)
{
	struct gpuva_heap_stats st;

	*bytes = 0;
	if (im->side != SIDE_HEAP)
		return im->list.holes;
	gpuva_heap_get_stats(im->heap, &st);
	*bytes = st.bytes;
	return st.holes;
}

/* Run requests [from, to) of @s; the slots move exactly as generated. */
static int
run_reqs(struct impl *im, const struct seq *s, size_t from, size_t to,
	 struct slot *slots, size_t *live)
{
	for (size_t i = from; i < to; i++) {
		const struct req *r = &s->r[i];
		int err;

		if (r->kind == REQ_ALLOC) {
			err = impl_alloc(im, r->size, r->align, &slots[*live].addr);
			slots[*live].size = r->size;
			(*live)++;
		} else {
			struct slot *sl = &slots[r->slot];

			err = impl_free(im, sl->addr, sl->size);
			*sl = slots[--(*live)];
		}
		if (err) {
			fprintf(stderr, "gpuva bench: %s request %zu failed: %d %s\n",
				side_name[im->side], i, err,
				im->side == SIDE_HEAP ?
				gpuva_heap_last_error(im->heap) : "");
			return 1;
		}
	}
	return 0;
}

static int
run_seq(enum side side, const struct seq *s, size_t list_ops, struct run *out)
{
	struct impl im = { .side = side };
	bool is_list = side != SIDE_HEAP;	/* a list stops after the prefix */
	struct slot *slots = calloc(s->max_live + 1, sizeof(*slots));
	size_t live = 0, mid = s->fill + list_ops;
	uint64_t t0, t1, t2, t3, t4;
	int ret;

	if (!slots)
		return 1;
	if (is_list)
		list_init(&im.list, HEAP_START, HEAP_RANGE);
	else if (gpuva_heap_create(HEAP_START, HEAP_RANGE, &im.heap)) {
		free(slots);
		return 1;
	}
	if (mid > s->n)
		mid = s->n;
	t0 = now_ns();
	ret = run_reqs(&im, s, 0, s->fill, slots, &live);
	t1 = now_ns();
	if (!ret)
		ret = run_reqs(&im, s, s->fill, mid, slots, &live);
	t2 = now_ns();
	/* untimed: the memory at the point where the list stops */
	out->mid_live = live;
	out->mid_holes = impl_holes(&im, &out->mid_bytes);
	t3 = now_ns();
	if (!ret && !is_list)
		ret = run_reqs(&im, s, mid, s->n, slots, &live);
	t4 = now_ns();
	out->fill_ns = t1 - t0;
	out->prefix_ns = t2 - t1;
	out->ops_ns = is_list ? t2 - t1 : (t2 - t1) + (t4 - t3);
	out->end_live = live;
	out->holes = impl_holes(&im, &out->end_bytes);
	if (is_list) {
		list_fini(&im.list);
	} else {
		if (gpuva_heap_check(im.heap)) {
			fprintf(stderr, "gpuva bench: %s\n",
				gpuva_heap_last_error(im.heap));
			ret = 1;
		}
		gpuva_heap_destroy(im.heap);
	}
	free(slots);
	return ret;
}

/*
 * Are @l's holes in address order, upwards from head.next (@down false) or
 * downwards (@down true), none touching the next? Each side keeps its list
 * one way; a side that ran the other's code would fail this.
 */
static bool
list_in_order(const struct list_heap *l, bool down)
{
	size_t n = 0;

	for (const struct lhole *h = l->head.next; h != &l->head; h = h->next, n++) {
		const struct lhole *lo = down ? h->next : h, *hi = down ? h : h->next;

		if (h->next != &l->head && lo->start + lo->size >= hi->start)
			return false;
	}
	return n == l->holes;
}

/*
 * Untimed: the list and util_vma_heap's algorithm, run side by side on the
 * first @list_ops requests after the scene, return the same address for
 * every allocation (the list stands for util_vma_heap's placement, so a
 * difference is a bug of this file), end with the same number of holes,
 * and keep their lists in order, each its own way. 0, or 1 with the first
 * difference printed.
 */
static int
check_same_placement(const struct seq *s, size_t list_ops)
{
	struct impl a = { .side = SIDE_LIST }, b = { .side = SIDE_VMA };
	struct slot *sa = calloc(s->max_live + 1, sizeof(*sa));
	struct slot *sb = calloc(s->max_live + 1, sizeof(*sb));
	size_t la = 0, lb = 0, end = s->fill + list_ops;
	int ret = 0;

	if (!sa || !sb) {
		free(sa);
		free(sb);
		return 1;
	}
	list_init(&a.list, HEAP_START, HEAP_RANGE);
	list_init(&b.list, HEAP_START, HEAP_RANGE);
	for (size_t i = 0; i < end && i < s->n && !ret; i++) {
		ret = run_reqs(&a, s, i, i + 1, sa, &la) ||
		      run_reqs(&b, s, i, i + 1, sb, &lb);
		if (!ret && s->r[i].kind == REQ_ALLOC &&
		    sa[la - 1].addr != sb[lb - 1].addr) {
			fprintf(stderr, "gpuva bench: request %zu: list placed"
				" 0x%" PRIx64 ", util_vma_heap's algorithm 0x%"
				PRIx64 "\n", i, sa[la - 1].addr, sb[lb - 1].addr);
			ret = 1;
		}
	}
	if (!ret && a.list.holes != b.list.holes) {
		fprintf(stderr, "gpuva bench: list has %zu holes, util_vma_heap's"
			" algorithm %zu\n", a.list.holes, b.list.holes);
		ret = 1;
	}
	if (!ret && (!list_in_order(&a.list, false) ||
		     !list_in_order(&b.list, true))) {
		fprintf(stderr, "gpuva bench: a hole list is out of order (list:"
			" upwards, util_vma_heap's algorithm: downwards)\n");
		ret = 1;
	}
	list_fini(&a.list);
	list_fini(&b.list);
	free(sa);
	free(sb);
	return ret;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Median of @n values; sorts them. */
static uint64_t
median(uint64_t *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

#define MAX_REPS 64

/*
 * Runs the sequence @reps times on each side, alternating which side goes
 * first so that neither always gets the warmer caches, and reports medians:
 * one noisy run (other jobs on the machine) does not decide the ratio.
 */
static int
bench_one(const char *name, uint64_t n, uint64_t ops, uint64_t list_ops_opt,
	  uint64_t seed, unsigned reps)
{
	uint64_t fill[SIDES][MAX_REPS], pre[SIDES][MAX_REPS], h_ops[MAX_REPS];
	double rmin[SIDES] = { 0 }, rmax[SIDES] = { 0 };
	struct seq s = { 0 };
	struct run run[SIDES];
	const struct run *h = &run[SIDE_HEAP], *l = &run[SIDE_LIST];
	size_t nops, list_ops;

	rng.s = seed;
	if (!strcmp(name, "heap-churn"))
		gen_churn(&s, n, ops);
	else
		gen_frag(&s, n, ops);
	nops = s.n - s.fill;
	/* the lists are O(live) per request: bound their share of the run */
	list_ops = list_ops_opt ? list_ops_opt : n > 10000 ? 20000 : nops;
	if (list_ops > nops)
		list_ops = nops;
	if (check_same_placement(&s, list_ops)) {
		free(s.r);
		return 1;
	}

	for (unsigned i = 0; i < reps; i++) {
		/* each rep starts with the next side: none always goes first */
		for (unsigned k = 0; k < SIDES; k++) {
			enum side sd = (enum side)((i + k) % SIDES);

			if (run_seq(sd, &s, list_ops, &run[sd])) {
				free(s.r);
				return 1;
			}
			fill[sd][i] = run[sd].fill_ns;
			pre[sd][i] = run[sd].prefix_ns;
		}
		h_ops[i] = h->ops_ns;
		for (unsigned sd = SIDE_LIST; sd < SIDES; sd++) {
			double r = per(run[sd].prefix_ns, h->prefix_ns);

			if (i == 0 || r < rmin[sd])
				rmin[sd] = r;
			if (i == 0 || r > rmax[sd])
				rmax[sd] = r;
		}
	}
	printf("scenario %s n=%" PRIu64 " ops=%zu seed=%" PRIu64 " reps=%u"
	       " (medians)\n", name, n, nops, seed, reps);
	printf("  heap fill_ns_per_op %.1f ns_per_op %.1f (all %zu ops)"
	       " prefix_ns_per_op %.1f holes %zu\n",
	       per(median(fill[SIDE_HEAP], reps), s.fill),
	       per(median(h_ops, reps), nops), nops,
	       per(median(pre[SIDE_HEAP], reps), list_ops), h->holes);
	for (unsigned sd = SIDE_LIST; sd < SIDES; sd++)
		printf("  %s fill_ns_per_op %.1f ns_per_op %.1f (first %zu ops)"
		       " holes %zu\n", side_name[sd],
		       per(median(fill[sd], reps), s.fill),
		       per(median(pre[sd], reps), list_ops), list_ops,
		       run[sd].holes);
	for (unsigned sd = SIDE_LIST; sd < SIDES; sd++)
		printf("  ratio %s/heap %.2f (same %zu ops; per run %.2f..%.2f)\n",
		       side_name[sd],
		       per(median(pre[sd], reps), median(pre[SIDE_HEAP], reps)),
		       list_ops, rmin[sd], rmax[sd]);
	/*
	 * Memory after the same requests (the list's prefix), per live
	 * allocation. The list is util_vma_heap's: one 32-byte hole struct per
	 * hole and nothing per allocation; as malloc'd, a 32-byte block takes
	 * 48 (glibc: 8 bytes of header, rounded up to 16), which is what a
	 * driver pays. The heap's figure is gpuva_heap_get_stats().bytes: the
	 * heap and its blocks at their requested sizes.
	 */
	printf("  bytes_per_live heap %.1f list %.1f (48 per hole as malloc'd;"
	       " %.1f counting the 32-byte structs) after %zu ops: %zu live,"
	       " heap %zu bytes %zu holes, list %zu holes\n",
	       per(h->mid_bytes, h->mid_live), per(48 * l->mid_holes, l->mid_live),
	       per(32 * l->mid_holes, l->mid_live), list_ops, h->mid_live,
	       h->mid_bytes, h->mid_holes, l->mid_holes);
	printf("  bytes_per_live heap %.1f at the end (%zu live, %zu bytes,"
	       " %zu holes)\n", per(h->end_bytes, h->end_live), h->end_live,
	       h->end_bytes, h->holes);
	free(s.r);
	return 0;
}

bool
bench_heap_handles(const char *scenario)
{
	return scenario && (!strcmp(scenario, "heap-churn") ||
			    !strcmp(scenario, "heap-frag"));
}

int
cmd_bench_heap(int argc, char **argv)
{
	uint64_t n = 0, ops = 0, list_ops = 0, seed = 1, reps = 5;
	const char *name = NULL;
	int ret = 0;

	for (int i = 0; i < argc; i++) {
		uint64_t *v = !strcmp(argv[i], "--n") ? &n :
			      !strcmp(argv[i], "--ops") ? &ops :
			      !strcmp(argv[i], "--list-ops") ? &list_ops :
			      !strcmp(argv[i], "--seed") ? &seed :
			      !strcmp(argv[i], "--reps") ? &reps : NULL;

		if (v && i + 1 < argc && trace_parse_u64(argv[i + 1], v))
			i++;
		else if (!v && !name && bench_heap_handles(argv[i]))
			name = argv[i];
		else
			goto usage;
	}
	if (!name || n > UINT32_MAX / 4 || reps == 0 || reps > MAX_REPS)
		goto usage;
	if (!ops)
		ops = !strcmp(name, "heap-churn") ? 1000000 : 400000;
	if (n)
		return bench_one(name, n, ops, list_ops, seed, (unsigned)reps);
	ret = bench_one(name, 100000, ops, list_ops, seed, (unsigned)reps);
	if (!ret)
		ret = bench_one(name, 100, ops, list_ops, seed, (unsigned)reps);
	return ret;
usage:
	fprintf(stderr, "usage: gpuva bench heap-churn|heap-frag [--n N (<= %u)]"
		" [--ops M] [--list-ops L] [--seed S] [--reps R (1..%d)]\n",
		UINT32_MAX / 4, MAX_REPS);
	return 2;
}
