/* SPDX-License-Identifier: MIT */
/*
 * The heap's flat mode: a small heap as a sorted array of holes and a hash
 * table of its allocations and reservations (heap_internal.h has the
 * layout).
 *
 * Why: most heaps a driver keeps are small, a few dozen to a few hundred
 * live allocations, and there the tree's fixed costs dominate: every
 * allocation inserts a start into a leaf and every free removes one.
 * Here an allocation scans a short array of 8-byte holes (the same
 * first-fit scan as util_vma_heap's list, in half the memory) and moves
 * one hole's edge, and a free finds its record with one probe of a group
 * of 16 slots and merges with its neighbours, found by counting the holes
 * below it. Past heap->flat_max tiles the scan would cost more than a
 * descent, and the heap goes to the tree (heap_to_tree()); the switch is
 * invisible to the caller: the same placement, the same errors.
 *
 * Memory is taken before anything changes, as in the tree: flat_room()
 * sizes both arrays first. A free needs none, because the hole array
 * always has room for one hole more than there are used tiles, and no
 * heap has more holes than that.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * A group's 16 control bytes are compared in one SSE2 instruction where
 * there is SSE2, else byte by byte (aarch64, and GPUVA_NO_ASM: the
 * sanitizer pass of tests/run.sh runs that form).
 */
#if defined(__SSE2__) && !defined(GPUVA_NO_ASM)
#define FLAT_SSE2 1
#include <emmintrin.h>
#endif

#include "heap_fit.h"

/*
 * The table is rebuilt to FLAT_LOAD twentieths full (0.8) when it passes
 * 7/8 with its deleted slots, or falls below 4/10: about 11 to 13 bytes per
 * record. A build may set it to measure others (heap-churn at 100 live:
 * 0.75 gave 23.1 bytes per live allocation and no measurable speed-up).
 */
#ifndef FLAT_LOAD
#define FLAT_LOAD 16
#endif
/* Hole slots above the used tiles + 1, so that not every call reallocates. */
#define FLAT_SLACK 4

/* A unit that is not a tile boundary in the flat mode. */
#define NO_UNIT UINT64_MAX

static inline unsigned
unit_shift(const struct gpuva_heap *heap)
{
	return heap->flat.shift;
}

/* The unit of 2^@sh bytes at @b, a boundary below the heap's end: NO_UNIT if not whole. */
static inline uint64_t
unit_at(const struct gpuva_heap *heap, unsigned sh, uint64_t b)
{
	uint64_t d = b - heap->start;

	if (d & ((UINT64_C(1) << sh) - 1))
		return NO_UNIT;
	d >>= sh;
	return d < FLAT_TO_END ? d : NO_UNIT;
}

static inline uint64_t
unit_of(const struct gpuva_heap *heap, uint64_t b)
{
	return unit_at(heap, unit_shift(heap), b);
}

static inline uint64_t
addr_of(const struct gpuva_heap *heap, uint64_t u)
{
	return heap->start + (u << unit_shift(heap));
}

static inline uint64_t
hole_last(const struct gpuva_heap *heap, const struct flat_hole *h)
{
	if (h->len == FLAT_TO_END)
		return heap->last;
	return addr_of(heap, (uint64_t)h->s + h->len) - 1;
}

static inline uint64_t
rec_last(const struct gpuva_heap *heap, uint64_t rec)
{
	uint32_t len = (uint32_t)rec & FLAT_REC_END;

	if (len == FLAT_REC_END)
		return heap->last;
	return addr_of(heap, (rec >> 32) + len) - 1;
}

static void *
flat_malloc(const struct gpuva_heap *heap, size_t n)
{
	return heap->fail_alloc ? NULL : malloc(n);
}

/* ---- the table ------------------------------------------------------ */

static inline uint8_t *
ctrl_of(const struct heap_flat *t)
{
	return (uint8_t *)(t->slot + (size_t)t->ng * FLAT_GROUP);
}

static inline size_t
table_bytes(uint32_t ng)
{
	return (size_t)ng * FLAT_GROUP * (sizeof(uint64_t) + 1);
}

static inline uint64_t
mix(uint32_t su)
{
	return (uint64_t)su * UINT64_C(0x9e3779b97f4a7c15);
}

/* The group where the probe for a key of hash @m starts. */
static inline uint32_t
home(uint32_t ng, uint64_t m)
{
	return (uint32_t)(((m >> 32) * ng) >> 32);
}

static inline uint8_t
tag_of(uint64_t m)
{
	return (uint8_t)((m >> 24) & 0x7f);
}

/* Bit i: control byte i of the group is @c. */
static inline unsigned
group_match(const uint8_t *g, uint8_t c)
{
#ifdef FLAT_SSE2
	__m128i v = _mm_loadu_si128((const __m128i *)g);

	return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)c)));
#else
	unsigned m = 0;

	for (unsigned i = 0; i < FLAT_GROUP; i++)
		m |= (unsigned)(g[i] == c) << i;
	return m;
#endif
}

/* Bit i: slot i of the group is free (empty or deleted: the top bit). */
static inline unsigned
group_free(const uint8_t *g)
{
#ifdef FLAT_SSE2
	return (unsigned)_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)g));
#else
	unsigned m = 0;

	for (unsigned i = 0; i < FLAT_GROUP; i++)
		m |= (unsigned)(g[i] >> 7) << i;
	return m;
#endif
}

/* The slot of the record starting at unit @su, or -1. */
static inline long
table_find(const struct heap_flat *t, uint32_t su)
{
	const uint8_t *ctrl = ctrl_of(t);
	uint64_t m = mix(su);
	uint32_t g = home(t->ng, m);

	for (;;) {
		const uint8_t *c = ctrl + (size_t)g * FLAT_GROUP;
		unsigned hit = group_match(c, tag_of(m));

		for (; hit; hit &= hit - 1) {
			size_t k = (size_t)g * FLAT_GROUP + (unsigned)__builtin_ctz(hit);

			if ((uint32_t)(t->slot[k] >> 32) == su)
				return (long)k;
		}
		/* a group with an empty slot was never full: nothing went past */
		if (group_match(c, FLAT_EMPTY))
			return -1;
		if (++g == t->ng)
			g = 0;
	}
}

/* Put @rec in the first free slot of its probe (the table has room). */
static void
table_put(uint64_t *slot, uint8_t *ctrl, uint32_t ng, uint64_t rec,
	  uint32_t *dead)
{
	uint64_t m = mix((uint32_t)(rec >> 32));
	uint32_t g = home(ng, m);

	for (;;) {
		unsigned fr = group_free(ctrl + (size_t)g * FLAT_GROUP);

		if (fr) {
			size_t k = (size_t)g * FLAT_GROUP + (unsigned)__builtin_ctz(fr);

			*dead -= ctrl[k] == FLAT_DEAD;
			ctrl[k] = tag_of(m);
			slot[k] = rec;
			return;
		}
		if (++g == ng)
			g = 0;
	}
}

static void
table_del(struct heap_flat *t, size_t k)
{
	uint8_t *ctrl = ctrl_of(t);
	const uint8_t *g = ctrl + k / FLAT_GROUP * FLAT_GROUP;

	/* an empty slot in the group: no probe goes past it, none needs this */
	if (group_match(g, FLAT_EMPTY)) {
		ctrl[k] = FLAT_EMPTY;
	} else {
		ctrl[k] = FLAT_DEAD;
		t->dead++;
	}
	t->used--;
}

static uint32_t
groups_for(uint32_t n)
{
	uint32_t g = (uint32_t)(((uint64_t)n * 20 + FLAT_GROUP * FLAT_LOAD - 1) /
				(FLAT_GROUP * FLAT_LOAD));

	return g ? g : 1;
}

/* A table of @ng groups with the records of @t (NULL: none). */
static uint64_t *
table_new(const struct gpuva_heap *heap, const struct heap_flat *t, uint32_t ng)
{
	uint64_t *slot = flat_malloc(heap, table_bytes(ng));
	uint8_t *ctrl;
	uint32_t dead = 0;

	if (!slot)
		return NULL;
	ctrl = (uint8_t *)(slot + (size_t)ng * FLAT_GROUP);
	memset(ctrl, FLAT_EMPTY, (size_t)ng * FLAT_GROUP);
	if (t) {
		const uint8_t *old = ctrl_of(t);

		for (size_t k = 0; k < (size_t)t->ng * FLAT_GROUP; k++)
			if (!(old[k] & 0x80))
				table_put(slot, ctrl, ng, t->slot[k], &dead);
	}
	return slot;
}

static void
table_swap(struct heap_flat *t, uint64_t *slot, uint32_t ng)
{
	free(t->slot);
	t->slot = slot;
	t->ng = ng;
	t->dead = 0;
}

/* ---- the holes ------------------------------------------------------ */

/* The first hole that starts above unit @u (nh if none): the holes at or below it. */
static inline unsigned
hole_after(const struct heap_flat *t, uint64_t u)
{
	const struct flat_hole *h = t->hole;
	unsigned n = t->nh, blocks = 0, i, end, c;

	/*
	 * Not a binary search, whose steps wait on each other's loads: count
	 * the blocks of 16 whose first hole is low enough, then the holes of
	 * the last such block. No comparison waits on another.
	 */
	for (i = 0; i < n; i += 16)
		blocks += h[i].s <= u;
	if (!blocks)
		return 0;
	c = i = (blocks - 1) * 16;
	end = i + 16 < n ? i + 16 : n;
	for (; i < end; i++)
		c += h[i].s <= u;
	return c;
}

static int
holes_resize(const struct gpuva_heap *heap, struct heap_flat *t, uint32_t cap)
{
	struct flat_hole *h = flat_malloc(heap, (size_t)cap * sizeof(*h));

	if (!h)
		return -ENOMEM;
	memcpy(h, t->hole, (size_t)t->nh * sizeof(*h));
	free(t->hole);
	t->hole = h;
	t->cap = cap;
	return 0;
}

/* Room for one hole more than the used tiles, after @used of them. */
static inline uint32_t
holes_cap_for(size_t used)
{
	return (uint32_t)(used + 1 + FLAT_SLACK);
}

/* ---- lifecycle ------------------------------------------------------ */

/* Bytes while every boundary of the range fits 32 bits of them, else pages. */
static uint8_t
shift_for(const struct gpuva_heap *heap)
{
	return heap->last - heap->start < FLAT_TO_END ? 0 : 12;
}

int
flat_init(struct gpuva_heap *heap)
{
	struct heap_flat *t = &heap->flat;

	memset(t, 0, sizeof(*t));
	t->shift = shift_for(heap);
	t->hole = flat_malloc(heap, holes_cap_for(0) * sizeof(*t->hole));
	t->slot = table_new(heap, NULL, 1);
	if (!t->hole || !t->slot) {
		free(t->hole);
		free(t->slot);
		memset(t, 0, sizeof(*t));
		return -ENOMEM;
	}
	t->cap = holes_cap_for(0);
	t->ng = 1;
	t->nh = 1;
	t->hole[0].s = 0;
	t->hole[0].len = FLAT_TO_END;
	return 0;
}

void
flat_fini(struct gpuva_heap *heap)
{
	free(heap->flat.hole);
	free(heap->flat.slot);
	memset(&heap->flat, 0, sizeof(heap->flat));
}

size_t
flat_bytes(const struct gpuva_heap *heap)
{
	return (size_t)heap->flat.cap * sizeof(struct flat_hole) +
	       table_bytes(heap->flat.ng);
}

uint64_t
flat_largest(const struct gpuva_heap *heap)
{
	const struct heap_flat *t = &heap->flat;
	uint64_t m = 0;

	for (unsigned i = 0; i < t->nh; i++) {
		uint64_t len = hole_last(heap, &t->hole[i]) -
			       addr_of(heap, t->hole[i].s) + 1;

		m = len > m ? len : m;
	}
	return m;
}

/* ---- the search ----------------------------------------------------- */

static inline int
found(struct fit *f, unsigned i, uint64_t s, uint64_t e, uint64_t x)
{
	f->addr = x;
	f->s = s;
	f->e = e;
	f->i = i;
	return 1;
}

int
flat_find_fit(const struct gpuva_heap *heap, struct fit *f)
{
	const struct flat_hole *h = heap->flat.hole;
	unsigned n = heap->flat.nh, sh = unit_shift(heap);
	uint64_t need_u = (f->need >> sh) +
			  ((f->need & ((UINT64_C(1) << sh) - 1)) != 0);

	/* a hole of d units holds need bytes iff d >= need_u; the top one says more */
	if (need_u > FLAT_TO_END)
		need_u = FLAT_TO_END;
	/* the usual request has its own loop, flat_alloc_plain() */
	for (unsigned k = 0; k < n; k++) {
		unsigned i = f->high ? n - 1 - k : k;
		uint64_t s, e, x;

		if (h[i].len < need_u)
			continue;
		s = addr_of(heap, h[i].s);
		e = hole_last(heap, &h[i]);
		if (e - s < f->need - 1 || e < f->lo || s > f->last)
			continue;
		if (fit_hole(f, s, e - s + 1, &x))
			return found(f, i, s, e, x);
		if (over_budget(f))
			return -1;
	}
	return 0;
}

/*
 * Room for one used tile more and the hole it may add: both arrays grown
 * as needed, or neither (-ENOMEM), before anything changes.
 */
static int
flat_room(struct gpuva_heap *heap)
{
	struct heap_flat *t = &heap->flat;
	size_t used = heap->allocations + heap->reservations + 1;
	uint64_t *slot = NULL;
	uint32_t ng = 0, cap = 0;

	if (t->cap < used + 1)
		cap = holes_cap_for(used);
	if ((t->used + t->dead + 1) * 8 > t->ng * FLAT_GROUP * 7) {
		ng = groups_for(t->used + 1);
		slot = table_new(heap, t, ng);
		if (!slot)
			return -ENOMEM;
	}
	if (cap && holes_resize(heap, t, cap)) {
		free(slot);
		return -ENOMEM;
	}
	if (slot)
		table_swap(t, slot, ng);
	return 0;
}

/*
 * Make units [xu, eu) of hole @i a used tile of @kind at byte @x, @size
 * bytes, with its record @rec: the hole keeps what is left on either side
 * (@left, @right). flat_room() made the room.
 */
static void
cut(struct gpuva_heap *heap, unsigned i, uint64_t xu, uint64_t eu, bool left,
    bool right, uint64_t rec, uint64_t x, uint64_t size, enum heap_kind kind)
{
	struct heap_flat *t = &heap->flat;
	struct flat_hole *h = t->hole;

	if (left && right) {
		memmove(&h[i + 2], &h[i + 1], (t->nh - i - 1) * sizeof(*h));
		h[i + 1].s = (uint32_t)eu;
		h[i + 1].len = h[i].len == FLAT_TO_END ? FLAT_TO_END :
			       (uint32_t)(h[i].s + h[i].len - eu);
		h[i].len = (uint32_t)(xu - h[i].s);
		t->nh++;
	} else if (left) {
		h[i].len = (uint32_t)(xu - h[i].s);
	} else if (right) {
		if (h[i].len != FLAT_TO_END)
			h[i].len = (uint32_t)(h[i].s + h[i].len - eu);
		h[i].s = (uint32_t)eu;
	} else {
		memmove(&h[i], &h[i + 1], (t->nh - i - 1) * sizeof(*h));
		t->nh--;
	}
	heap->holes = t->nh;
	table_put(t->slot, ctrl_of(t), t->ng, rec, &t->dead);
	t->used++;
	count_used(heap, size, kind, 1);
	if (kind == HEAP_KIND_KERNEL) {
		heap->kernel_addr = x;
		heap->has_kernel = true;
	}
}

/* ---- the usual request, whole ---------------------------------------- */

/*
 * An allocation low first, no span rule, whole heap: the scan and the cut
 * in units, in one pass. Returns 1 when done, 0 when the request needs the
 * general path (flat_find_fit() and flat_carve(): a size or alignment not
 * in units, no fit, no memory, the tree), having changed nothing.
 * It places exactly as flat_find_fit() does: the same holes, in the same
 * order, with the same test, in units instead of bytes.
 */
int
flat_alloc_plain(struct gpuva_heap *heap, uint64_t size, uint64_t align,
		 uint64_t *addr)
{
	struct heap_flat *t = &heap->flat;
	struct flat_hole *h = t->hole;
	unsigned sh = t->shift, n = t->nh, i;
	uint64_t unit = UINT64_C(1) << sh, size_u = size >> sh, mask_u, off_u;
	uint64_t end_u = (heap->last - heap->start + 1) >> sh, s, len, x, right, need_u;
	uint64_t off = (0 - heap->start) & (align - 1);
	int budget = GPUVA_HEAP_SEARCH_BUDGET;
	bool at_end;

	/* whole units, aligned starts in units, tiles to spare */
	if ((size & (unit - 1)) || size_u >= FLAT_REC_END || (off & (unit - 1)) ||
	    heap_tiles(heap) + 2 > heap->flat_max)
		return 0;
	mask_u = align > unit ? (align >> sh) - 1 : 0;
	off_u = off >> sh;
	for (i = 0; i < n; i++) {
		if (h[i].len < size_u)
			continue;	/* most holes: one compare */
		s = h[i].s;
		len = h[i].len == FLAT_TO_END ? end_u - s : h[i].len;
		/* the first x >= s at the alignment: x = off_u modulo align */
		x = s + ((off_u - s) & mask_u);
		if (len < size_u)
			continue;	/* the hole to the end, shorter than it says */
		if (x - s <= len - size_u)
			goto found;
		if (budget-- == 0)
			goto fallback;
	}
	return 0;
fallback:
	/*
	 * alloc_checked()'s fallback, from the hole after: the first hole of
	 * size + align - 1 bytes, which fits at any offset (none before it
	 * is that long: it would have fitted), else the first exact fit.
	 */
	need_u = size_u + ((align + unit - 2) >> sh);
	for (unsigned k = 0; k < 2; k++) {
		for (unsigned j = i + 1; j < n; j++) {
			s = h[j].s;
			len = h[j].len == FLAT_TO_END ? end_u - s : h[j].len;
			x = s + ((off_u - s) & mask_u);
			if (k ? len >= size_u && x - s <= len - size_u : len >= need_u) {
				i = j;
				goto found;
			}
		}
	}
	return 0;
found:
	right = s + len - x - size_u;
	at_end = addr_of(heap, x + size_u) - 1 == heap->last;
	/*
	 * Leave to flat_carve() an end past the units, and the last bytes of
	 * a heap whose end is not a whole unit (the hole keeps them).
	 */
	if (at_end ? false : x + size_u >= FLAT_TO_END ||
	    (!right && h[i].len == FLAT_TO_END))
		return 0;
	if (flat_room(heap))
		return 0;	/* flat_carve() meets it again and says so */
	/* a tile that ends the heap is "to the end", as flat_carve() writes it */
	cut(heap, i, x, x + size_u, x > s, right != 0,
	    x << 32 | (at_end ? FLAT_REC_END : (uint32_t)size_u), addr_of(heap, x),
	    size, HEAP_KIND_ALLOC);
	*addr = addr_of(heap, x);
	return 1;
}

/* ---- carving and giving back ---------------------------------------- */

int
flat_carve(struct gpuva_heap *heap, unsigned i, uint64_t s, uint64_t e,
	   uint64_t x, uint64_t size, enum heap_kind kind)
{
	uint64_t xl = last_of(x, size), xu = unit_of(heap, x), eu = 0, len;
	bool left = x > s, right = xl < e;

	if (xu == NO_UNIT)
		return FLAT_CANNOT;
	if (xl == heap->last) {
		len = FLAT_REC_END;
	} else {
		eu = unit_of(heap, xl + 1);
		if (eu == NO_UNIT || eu - xu >= FLAT_REC_END)
			return FLAT_CANNOT;
		len = eu - xu;
	}
	if (heap_tiles(heap) + left + right > heap->flat_max)
		return FLAT_CANNOT;
	if (flat_room(heap))
		return -ENOMEM;
	cut(heap, i, xu, eu, left, right,
	    xu << 32 | (kind == HEAP_KIND_ALLOC ? 0 : FLAT_RSV) | len, x, size, kind);
	return 0;
}

bool
flat_hole_at(const struct gpuva_heap *heap, uint64_t addr, unsigned *i,
	     uint64_t *s, uint64_t *e)
{
	const struct heap_flat *t = &heap->flat;
	uint64_t u = (addr - heap->start) >> unit_shift(heap);
	unsigned j = hole_after(t, u > FLAT_TO_END ? FLAT_TO_END : u);

	if (j == 0 || hole_last(heap, &t->hole[j - 1]) < addr)
		return false;
	*i = j - 1;
	*s = addr_of(heap, t->hole[j - 1].s);
	*e = hole_last(heap, &t->hole[j - 1]);
	return true;
}

void
flat_tile_at(const struct gpuva_heap *heap, uint64_t addr, struct tile *t)
{
	const struct heap_flat *f = &heap->flat;
	unsigned i;
	uint64_t s, e, p;

	if (flat_hole_at(heap, addr, &i, &s, &e)) {
		t->addr = s;
		t->last = e;
		t->kind = 0;
		return;
	}
	/* used tiles follow the hole before, or the heap's start, unbroken */
	i = hole_after(f, (addr - heap->start) >> unit_shift(heap));
	p = i ? hole_last(heap, &f->hole[i - 1]) + 1 : heap->start;
	for (;;) {
		long k = table_find(f, (uint32_t)unit_of(heap, p));
		uint64_t rec, l;

		if (k < 0)
			break;	/* a broken table: gpuva_heap_check() says so */
		rec = f->slot[k];
		l = rec_last(heap, rec);
		if (addr <= l) {
			t->addr = p;
			t->last = l;
			t->kind = used_kind(heap, p, rec & FLAT_RSV);
			return;
		}
		p = l + 1;
	}
	t->addr = addr;
	t->last = addr;
	t->kind = 0;
}

/*
 * Give back room the heap no longer needs, to the sizes of a new heap when
 * nothing is used; a failed malloc keeps the old arrays.
 */
static __attribute__((noinline)) void
flat_shrink(struct gpuva_heap *heap, size_t used)
{
	struct heap_flat *t = &heap->flat;
	uint32_t ng = groups_for(t->used);
	uint64_t *slot;

	if (t->ng > ng && (slot = table_new(heap, t, ng)) != NULL)
		table_swap(t, slot, ng);
	if (t->cap != holes_cap_for(used))
		holes_resize(heap, t, holes_cap_for(used));
}

/* Is there room to give back (flat_shrink())? */
static inline bool
flat_oversized(const struct heap_flat *t, size_t used)
{
	return (t->ng > 1 && (!used ||
			      (uint64_t)t->used * 10 < (uint64_t)t->ng * FLAT_GROUP * 4)) ||
	       t->cap > holes_cap_for(used) + 2 * FLAT_SLACK ||
	       (!used && t->cap != holes_cap_for(0));
}

bool
flat_give_back(struct gpuva_heap *heap, uint64_t addr, uint64_t size,
	       enum heap_kind kind)
{
	struct heap_flat *t = &heap->flat;
	uint64_t u = unit_of(heap, addr), rec, last, lu;
	struct flat_hole *h = t->hole;
	bool prev, next;
	size_t used;
	unsigned j;
	long k;

	if (u == NO_UNIT || (k = table_find(t, (uint32_t)u)) < 0)
		return false;
	rec = t->slot[k];
	last = rec_last(heap, rec);
	if (last - addr != size - 1 ||
	    used_kind(heap, addr, rec & FLAT_RSV) != (int)kind)
		return false;
	table_del(t, (size_t)k);

	j = hole_after(t, u);
	prev = j > 0 && hole_last(heap, &h[j - 1]) + 1 == addr;
	next = j < t->nh && last != heap->last &&
	       addr_of(heap, h[j].s) == last + 1;
	lu = (uint32_t)rec & FLAT_REC_END;
	if (prev && next) {
		h[j - 1].len = h[j].len == FLAT_TO_END ? FLAT_TO_END :
			       h[j].s + h[j].len - h[j - 1].s;
		memmove(&h[j], &h[j + 1], (t->nh - j - 1) * sizeof(*h));
		t->nh--;
	} else if (prev) {
		h[j - 1].len = lu == FLAT_REC_END ? FLAT_TO_END :
			       (uint32_t)(u + lu - h[j - 1].s);
	} else if (next) {
		if (h[j].len != FLAT_TO_END)
			h[j].len = h[j].s + h[j].len - (uint32_t)u;
		h[j].s = (uint32_t)u;
	} else {
		/* room: holes_cap_for() keeps one more than the used tiles */
		memmove(&h[j + 1], &h[j], (t->nh - j) * sizeof(*h));
		h[j].s = (uint32_t)u;
		h[j].len = lu == FLAT_REC_END ? FLAT_TO_END : (uint32_t)lu;
		t->nh++;
	}
	heap->holes = t->nh;
	count_used(heap, size, kind, -1);
	used = heap->allocations + heap->reservations;
	if (flat_oversized(t, used))
		flat_shrink(heap, used);
	return true;
}

/* ---- walks and checks ----------------------------------------------- */

/* The used tiles in [p, end], in order: they follow each other unbroken. */
static int
walk_used(const struct gpuva_heap *heap, uint64_t p, uint64_t end,
	  gpuva_heap_range_fn fn, void *priv)
{
	while (p <= end) {
		long k = table_find(&heap->flat, (uint32_t)unit_of(heap, p));
		struct gpuva_heap_range r;
		int ret;

		if (k < 0)
			return -EINVAL;	/* flat_check() tells why */
		r.addr = p;
		r.range = rec_last(heap, heap->flat.slot[k]) - p + 1;
		r.state = heap->flat.slot[k] & FLAT_RSV ? GPUVA_HEAP_RESERVED :
			  GPUVA_HEAP_ALLOCATED;
		ret = fn(priv, &r);
		if (ret)
			return ret;
		if (last_of(p, r.range) == heap->last)
			break;
		p += r.range;
	}
	return 0;
}

int
flat_walk(const struct gpuva_heap *heap, bool holes_only,
	  gpuva_heap_range_fn fn, void *priv)
{
	const struct heap_flat *t = &heap->flat;
	uint64_t p = heap->start;	/* where the next tile starts */
	int ret;

	for (unsigned i = 0; i < t->nh; i++) {
		struct gpuva_heap_range r = { .addr = addr_of(heap, t->hole[i].s),
					      .state = GPUVA_HEAP_HOLE };
		uint64_t e = hole_last(heap, &t->hole[i]);

		if (!holes_only && r.addr > p &&
		    (ret = walk_used(heap, p, r.addr - 1, fn, priv)) != 0)
			return ret;
		r.range = e - r.addr + 1;
		if ((ret = fn(priv, &r)) != 0)
			return ret;
		if (e == heap->last)
			return 0;
		p = e + 1;
	}
	return holes_only ? 0 : walk_used(heap, p, heap->last, fn, priv);
}

const char *
flat_check(const struct gpuva_heap *heap)
{
	const struct heap_flat *t = &heap->flat;
	const uint8_t *ctrl = ctrl_of(t);
	uint32_t used = 0, dead = 0;

	if (!t->hole || !t->slot || !t->ng)
		return "a flat heap without its arrays";
	if (t->nh > t->cap || t->cap < heap->allocations + heap->reservations + 1)
		return "the hole array lacks the room a free may need";
	if (t->nh != heap->holes)
		return "the hole array's count is not the heap's";
	for (unsigned i = 0; i < t->nh; i++) {
		if (t->hole[i].s >= FLAT_TO_END || !t->hole[i].len)
			return "a flat hole out of range or empty";
		if (t->hole[i].len == FLAT_TO_END ? i + 1 != t->nh :
		    (uint64_t)t->hole[i].s + t->hole[i].len >= FLAT_TO_END)
			return "a flat hole's end out of range";
		if (i && t->hole[i].s <= t->hole[i - 1].s)
			return "flat holes out of order";
	}
	for (size_t k = 0; k < (size_t)t->ng * FLAT_GROUP; k++) {
		uint64_t rec = t->slot[k];

		if (ctrl[k] == FLAT_DEAD) {
			dead++;
		} else if (ctrl[k] != FLAT_EMPTY) {
			if (ctrl[k] & 0x80)
				return "a control byte neither empty, deleted nor a tag";
			if (ctrl[k] != tag_of(mix((uint32_t)(rec >> 32))))
				return "a record under another key's tag";
			if (table_find(t, (uint32_t)(rec >> 32)) != (long)k)
				return "a record its lookup does not find";
			if (!((uint32_t)rec & FLAT_REC_END))
				return "an empty record";
			used++;
		}
	}
	if (used != t->used || dead != t->dead)
		return "the table's counts are wrong";
	if (used != heap->allocations + heap->reservations)
		return "records and used tiles disagree";
	if ((t->used + t->dead) * 8 > t->ng * FLAT_GROUP * 7)
		return "the table is fuller than 7/8";
	if (heap_tiles(heap) > heap->flat_max)
		return "more tiles than the flat mode takes";
	return NULL;
}

/* ---- switching ------------------------------------------------------ */

struct to_tree {
	struct gpuva_heap *tree;
	int err;
};

static int
take_into_tree(void *priv, const struct gpuva_heap_range *r)
{
	struct to_tree *c = priv;
	enum heap_kind k;

	if (r->state == GPUVA_HEAP_HOLE)
		return 0;
	k = used_kind(c->tree, r->addr, r->state == GPUVA_HEAP_RESERVED);
	c->err = heap_take(c->tree, r->addr, r->range, k, "flat to tree");
	return c->err;
}

int
heap_to_tree(struct gpuva_heap *heap)
{
	struct gpuva_heap tree = *heap;
	struct to_tree c = { &tree, 0 };

	/* a copy that keeps the range, kernel range, capacities and tests' knobs */
	tree.log_fn = NULL;
	tree.root = NULL;
	if (heap_tree_init(&tree))
		return -ENOMEM;
	flat_walk(heap, false, take_into_tree, &c);
	if (c.err) {
		heap_tree_fini(&tree);
		return c.err;
	}
	flat_fini(heap);
	heap->root = tree.root;
	heap->depth = tree.depth;
	heap->blocks = tree.blocks;
	heap->largest = tree.largest;
	return 0;
}

struct to_flat {
	const struct gpuva_heap *heap;
	struct heap_flat *t;
	bool cannot;
};

static int
put_into_flat(void *priv, const struct gpuva_heap_range *r)
{
	struct to_flat *c = priv;
	const struct gpuva_heap *heap = c->heap;	/* still a tree */
	unsigned sh = c->t->shift;
	uint64_t u = unit_at(heap, sh, r->addr), last = last_of(r->addr, r->range);
	uint64_t eu = last == heap->last ? NO_UNIT : unit_at(heap, sh, last + 1);

	if (u == NO_UNIT || (last != heap->last && eu == NO_UNIT)) {
		c->cannot = true;
		return 1;
	}
	if (r->state == GPUVA_HEAP_HOLE) {
		struct flat_hole *h = &c->t->hole[c->t->nh++];

		h->s = (uint32_t)u;
		h->len = last == heap->last ? FLAT_TO_END : (uint32_t)(eu - u);
	} else {
		uint64_t len = last == heap->last ? FLAT_REC_END : eu - u;

		if (len > FLAT_REC_END || (len == FLAT_REC_END && last != heap->last)) {
			c->cannot = true;
			return 1;
		}
		table_put(c->t->slot, ctrl_of(c->t), c->t->ng,
			  u << 32 | (r->state == GPUVA_HEAP_RESERVED ? FLAT_RSV : 0) |
			  len, &c->t->dead);
		c->t->used++;
	}
	return 0;
}

void
heap_to_flat(struct gpuva_heap *heap)
{
	size_t used = heap->allocations + heap->reservations;
	struct heap_flat t = { .shift = shift_for(heap) };
	struct to_flat c = { heap, &t, false };

	t.cap = holes_cap_for(used);
	t.ng = groups_for((uint32_t)used);
	t.hole = flat_malloc(heap, (size_t)t.cap * sizeof(*t.hole));
	t.slot = table_new(heap, NULL, t.ng);
	if (t.hole && t.slot)
		heap_tree_walk(heap, false, put_into_flat, &c);
	if (!t.hole || !t.slot || c.cannot) {
		free(t.hole);
		free(t.slot);
		/* try again only after as many calls as the walk took tiles */
		heap->flat_wait = heap->flat_max / 2 + 1;
		return;
	}
	heap_tree_fini(heap);
	heap->flat = t;
}
