/* SPDX-License-Identifier: MIT */
/*
 * The heap layer: GPU address allocation over free holes, in O(log n)
 * (O(t) while there are at most HEAP_FLAT_MAX holes).
 *
 * Why: with VM_BIND every UMD picks its own GPU addresses. Mesa's
 * util_vma_heap keeps holes in a list and walks it on every alloc and free,
 * which is O(n) in the number of holes; a fragmented heap with 100,000 live
 * buffers makes each allocation walk thousands of holes.
 *
 * How: a tree from the tree layer and a hash table. The hole tree is keyed
 * by hole start and augmented with the largest hole size in each subtree,
 * so a search skips every subtree whose largest hole is too small. The
 * record table hashes allocations and reservations by start, so free() can
 * tell a live allocation from a double free or a stray pointer in O(1)
 * expected, where a second tree cost three descents per alloc/free pair.
 * Records need no order of their own: they tile the gaps between holes, so
 * the hole tree gives iteration order and, for error reasons only, the
 * record around an address (O(log n + k)). Nodes come from a per-heap slab;
 * an operation takes the nodes and table room it may need before it
 * changes anything, so -ENOMEM leaves the heap as it was. The table doubles
 * when full (amortised O(1)) and never shrinks.
 *
 * Alignment: a hole of size >= size may still not fit once its start is
 * rounded up to the alignment (a "near miss"). The subtree maximum cannot see
 * that, so the search checks each candidate hole and moves on. To keep the
 * cost bounded it gives up after GPUVA_HEAP_SEARCH_BUDGET near misses and
 * searches instead for holes of size >= size + align - 1 (plus the no-span
 * slack), which fit whatever their offset: that search is O(log n) again.
 * Only when no such hole exists does it go through all near misses.
 *
 * Small heaps: up to HEAP_FLAT_MAX holes live in a sorted array of (start,
 * size) pairs in the heap instead of the tree, and every search is a scan:
 * O(t) for t holes, but without a data-dependent branch per tree level or
 * maxima to redo, which is what made the tree slower than a plain list at
 * a hundred allocations. The search visits the same holes in the same
 * order with the same budget as in the tree, so placement does not depend
 * on the mode. The holes move to the tree when the array overflows and
 * back when the tree is down to HEAP_FLAT_LOW; flat mode keeps enough spare
 * nodes for the move, so a free still needs no memory.
 *
 * What it leaves out: thread safety (the caller's lock, as for the VM),
 * knowledge of mappings (the heap only hands out addresses) and partial
 * frees (util_vma_heap allows them; here a free must match an allocation,
 * which is what catches double frees).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "heap_internal.h"

int
heap_reject(struct gpuva_heap *heap, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err = util_reject(heap->last_error, sizeof(heap->last_error),
			  heap->log_fn, heap->log_priv, err, fmt, ap);
	va_end(ap);
	return err;
}

/* Last byte of [addr, addr + size); size > 0 and no overflow assumed. */
static inline uint64_t
last_of(uint64_t addr, uint64_t size)
{
	return addr + (size - 1);
}

static inline uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* ---- nodes ---------------------------------------------------------- */

/* cold: kept out of line, so the callers' hot paths stay small */
static __attribute__((noinline)) int
spare_refill(struct gpuva_heap *heap, size_t want)
{
	while (heap->spare_count < want) {
		struct heap_slab *s;

		if (heap->fail_refill)
			return -ENOMEM;
		s = malloc(sizeof(*s));
		if (!s)
			return -ENOMEM;
		s->next = heap->slabs;
		heap->slabs = s;
		heap->slab_count++;
		for (size_t i = 0; i < HEAP_SLAB_NODES; i++) {
			s->nodes[i].node.link[0] = (uintptr_t)heap->spare;
			heap->spare = &s->nodes[i];
		}
		heap->spare_count += HEAP_SLAB_NODES;
	}
	return 0;
}

/* Take a spare node; spare_refill() made sure there is one. */
static struct heap_node *
node_get(struct gpuva_heap *heap)
{
	struct heap_node *n = heap->spare;

	heap->spare = (struct heap_node *)n->node.link[0];
	heap->spare_count--;
	return n;
}

static void
node_put(struct gpuva_heap *heap, struct heap_node *n)
{
	n->node.link[0] = (uintptr_t)heap->spare;
	heap->spare = n;
	heap->spare_count++;
}

/* ---- the record table ----------------------------------------------- */

/*
 * Allocations and reservations are looked up only by their exact start
 * (free, unreserve), so a hash table does it in O(1) where a tree took a
 * descent to insert, one to find and one to remove, each rebalancing. The
 * records tile the gaps between holes, so the hole tree still gives address
 * order (iteration) and the record around an address (error reasons).
 */

static inline struct heap_node *
rec_next(const struct heap_node *r)
{
	return (struct heap_node *)r->node.link[0];
}

static inline size_t
rec_bucket(const struct gpuva_heap *heap, uint64_t addr)
{
	/* Fibonacci hashing: the top bits depend on every bit of addr */
	return (size_t)((addr * UINT64_C(0x9e3779b97f4a7c15)) >> heap->hash_shift);
}

static size_t
rec_count(const struct gpuva_heap *heap)
{
	return heap->allocations + heap->reservations;
}

/* The record starting exactly at @addr, or NULL. O(1) expected. */
static struct heap_node *
rec_find(const struct gpuva_heap *heap, uint64_t addr)
{
	if (!heap->hash_size)
		return NULL;
	for (struct heap_node *r = heap->buckets[rec_bucket(heap, addr)]; r;
	     r = rec_next(r)) {
		if (r->node.key == addr)
			return r;
	}
	return NULL;
}

static void
rec_link(struct gpuva_heap *heap, struct heap_node *r)
{
	struct heap_node **b = &heap->buckets[rec_bucket(heap, r->node.key)];

	r->node.link[0] = (uintptr_t)*b;
	*b = r;
}

static void
rec_unlink(struct gpuva_heap *heap, struct heap_node *r)
{
	struct heap_node **p = &heap->buckets[rec_bucket(heap, r->node.key)];

	while (*p != r)
		p = (struct heap_node **)&(*p)->node.link[0];
	*p = rec_next(r);
}

/*
 * Double the record table, rehashing every record: make_room() calls it
 * when the next record would raise the load above one per bucket, before
 * the operation changes anything, so -ENOMEM leaves the heap as it was.
 * O(1) amortised.
 */
static __attribute__((noinline)) int	/* cold, as spare_refill() */
rec_reserve(struct gpuva_heap *heap)
{
	size_t size = heap->hash_size ? heap->hash_size * 2 : HEAP_HASH_MIN;
	unsigned shift = heap->hash_size ? heap->hash_shift - 1 : 60;
	struct heap_node **old = heap->buckets, **b;
	size_t old_size = heap->hash_size;

	_Static_assert(HEAP_HASH_MIN == 1u << (64 - 60), "shift matches");
	if (heap->fail_refill || shift == 0 || size > SIZE_MAX / sizeof(*b))
		return -ENOMEM;
	b = calloc(size, sizeof(*b));
	if (!b)
		return -ENOMEM;
	heap->buckets = b;
	heap->hash_size = size;
	heap->hash_shift = shift;
	for (size_t i = 0; i < old_size; i++) {
		struct heap_node *r = old[i];

		while (r) {
			struct heap_node *next = rec_next(r);

			rec_link(heap, r);
			r = next;
		}
	}
	free(old);
	return 0;
}

static void
hole_augment(struct gpuva_tree_node *tn)
{
	struct heap_node *h = heap_node_of(tn);
	uint64_t m = h->size;

	for (int d = 0; d < 2; d++) {
		struct gpuva_tree_node *c = tree_child(tn, d);

		if (c && heap_node_of(c)->max > m)
			m = heap_node_of(c)->max;
	}
	h->max = m;
}

/*
 * A root-to-node path in the hole tree. The lookups that find a hole keep
 * the path they took, so that when the hole then changes size its cached
 * maxima are redone bottom-up from that path, without a second descent
 * from the root.
 */
struct hole_path {
	struct gpuva_tree_node *n[TREE_MAX_DEPTH];
	int k;			/* n[k - 1] is the hole */
};

/*
 * The hole at the end of @p changed size: redo the cached maxima on its
 * path, bottom up, stopping at the first ancestor whose maximum does not
 * change (none above it can). The tree's shape must not have changed since
 * @p was recorded.
 */
static void
fix_path(const struct hole_path *p)
{
	int k = p->k;

	hole_augment(p->n[--k]);
	while (k-- > 0) {
		uint64_t old = heap_node_of(p->n[k])->max;

		hole_augment(p->n[k]);
		if (heap_node_of(p->n[k])->max == old)
			break;
	}
}

/*
 * The hole at the end of @p grew to @size: a maximum can only rise to it,
 * so no children need reading, and the walk stops at the first node whose
 * maximum is already that large (so is every one above it).
 */
static void
fix_path_grew(const struct hole_path *p, uint64_t size)
{
	for (int k = p->k; k-- > 0;) {
		struct heap_node *a = heap_node_of(p->n[k]);

		if (a->max >= size)
			break;
		a->max = size;
	}
}

/*
 * Descend towards @key and keep the whole path in @p. The hole with the
 * largest key <= @key is p->n[*le - 1], the one with the smallest key > @key
 * is p->n[*gt - 1] (0: no such hole). Both lie on this one descent: they
 * are the last nodes where it turned right and left, so setting p->k to
 * *le or *gt gives that hole's path.
 */
static void
hole_descend(const struct gpuva_heap *heap, uint64_t key, struct hole_path *p,
	     int *le, int *gt)
{
	struct gpuva_tree_node *n = tree_root(&heap->holes);
	int k = 0;

	*le = *gt = 0;
	while (n) {
		p->n[k++] = n;
		if (n->key == key) {
			*le = k;
			break;
		}
		if (n->key < key)
			*le = k;
		else
			*gt = k;
		n = tree_child(n, n->key < key);
	}
	p->k = k;
}

static struct heap_node *
path_node(const struct hole_path *p, int k)
{
	return k ? heap_node_of(p->n[k - 1]) : NULL;
}

static struct heap_node *
hole_root(const struct gpuva_heap *heap)
{
	return heap_node_of(tree_root(&heap->holes));
}

/* ---- flat mode ------------------------------------------------------ */

/*
 * With few holes, a descent of the tree (a data-dependent branch per level,
 * maxima redone on the way back) costs more than reading every hole: the
 * holes then sit in a small sorted array inside the heap, and a search,
 * a free or a fixed range scans them, O(t) for t <= HEAP_FLAT_MAX holes.
 */

/*
 * How many flat holes start at or below @addr. Not a binary search: its
 * steps wait on each other's loads. Counting first the blocks of 16 whose
 * first hole is low enough, then the holes in the last such block, makes
 * every comparison independent of the others (and of branches).
 */
static size_t
flat_upper(const struct gpuva_heap *heap, uint64_t addr)
{
	const struct heap_flat *h = heap->flat_hole;
	size_t n = heap->flat_n, blocks = 0, i, end, c;

	for (i = 0; i < n; i += 16)
		blocks += h[i].addr <= addr;
	if (blocks == 0)
		return 0;
	/* sorted: all of the earlier blocks are at or below addr */
	c = i = (blocks - 1) * 16;
	end = i + 16 < n ? i + 16 : n;
	for (; i < end; i++)
		c += h[i].addr <= addr;
	return c;
}

static void
flat_insert(struct gpuva_heap *heap, size_t i, uint64_t addr, uint64_t size)
{
	struct heap_flat *h = heap->flat_hole;

	memmove(&h[i + 1], &h[i], (heap->flat_n - i) * sizeof(*h));
	h[i].addr = addr;
	h[i].size = size;
	heap->flat_n++;
}

static void
flat_delete(struct gpuva_heap *heap, size_t i)
{
	struct heap_flat *h = heap->flat_hole;

	memmove(&h[i], &h[i + 1], (heap->flat_n - i - 1) * sizeof(*h));
	heap->flat_n--;
}

static uint64_t
flat_largest(const struct gpuva_heap *heap)
{
	uint64_t m = 0;

	for (size_t i = 0; i < heap->flat_n; i++)
		m = heap->flat_hole[i].size > m ? heap->flat_hole[i].size : m;
	return m;
}

/*
 * Move the flat holes into the tree. Takes one spare node per hole: flat
 * mode always keeps HEAP_FLAT_MAX of them, so this cannot fail.
 */
static void
to_tree(struct gpuva_heap *heap)
{
	for (size_t i = 0; i < heap->flat_n; i++) {
		struct heap_node *h = node_get(heap);

		h->node.key = heap->flat_hole[i].addr;
		h->size = heap->flat_hole[i].size;
		tree_insert(&heap->holes, &h->node);
	}
	heap->flat_n = 0;
	heap->flat = false;
}

/*
 * Go flat when the tree has shrunk to HEAP_FLAT_LOW holes, and the spare
 * nodes (with the tree's, given back) cover a later to_tree(); else stay a
 * tree until the next alloc or reserve, which refills them (spare_want()).
 */
static void
maybe_to_flat(struct gpuva_heap *heap)
{
	struct gpuva_tree_node *n, *next;
	size_t i = 0;

	if (heap->holes.count > HEAP_FLAT_LOW ||
	    heap->spare_count + heap->holes.count < HEAP_FLAT_MAX)
		return;
	for (n = tree_first(&heap->holes); n; n = next) {
		next = tree_next(n);
		heap->flat_hole[i].addr = n->key;
		heap->flat_hole[i].size = heap_node_of(n)->size;
		i++;
		node_put(heap, heap_node_of(n));
	}
	tree_init(&heap->holes, hole_augment);
	heap->flat_n = i;
	heap->flat = true;
}

/*
 * Spare nodes an operation that adds a record takes before it starts. Flat
 * mode: the record, and a to_tree() of a full array with its split-off
 * hole. A tree small enough to go flat takes as many, so that it can.
 */
static size_t
spare_want(const struct gpuva_heap *heap)
{
	if (heap->flat || heap->holes.count <= HEAP_FLAT_LOW)
		return HEAP_FLAT_MAX + 2;
	return 2;
}

/*
 * Take the spare nodes and the table room an operation that adds a record
 * may need, before it changes anything. Both are almost always there: the
 * test is inline, the refills are calls.
 */
static inline int
make_room(struct gpuva_heap *heap)
{
	int err = 0;

	if (heap->spare_count < spare_want(heap))
		err = spare_refill(heap, spare_want(heap));
	if (!err && rec_count(heap) >= heap->hash_size)
		err = rec_reserve(heap);
	return err;
}

/* The hole with the largest start <= @addr: false when there is none. */
static bool
hole_le(const struct gpuva_heap *heap, uint64_t addr, uint64_t *hs,
	uint64_t *hlen)
{
	if (heap->flat) {
		size_t i = flat_upper(heap, addr);

		if (i == 0)
			return false;
		*hs = heap->flat_hole[i - 1].addr;
		*hlen = heap->flat_hole[i - 1].size;
		return true;
	}
	struct heap_node *h = heap_node_of(tree_find_le(&heap->holes, addr));

	if (!h)
		return false;
	*hs = h->node.key;
	*hlen = h->size;
	return true;
}

static uint64_t
largest_hole(const struct gpuva_heap *heap)
{
	if (heap->flat)
		return flat_largest(heap);
	return hole_root(heap) ? hole_root(heap)->max : 0;
}

/* ---- lifecycle ------------------------------------------------------ */

int
gpuva_heap_create(uint64_t start, uint64_t range, struct gpuva_heap **out)
{
	struct gpuva_heap *heap;

	if (!out || range == 0 || start > UINT64_MAX - (range - 1))
		return -EINVAL;
	heap = calloc(1, sizeof(*heap));
	if (!heap)
		return -ENOMEM;
	tree_init(&heap->holes, hole_augment);
	heap->start = start;
	heap->last = last_of(start, range);
	/* flat mode keeps HEAP_FLAT_MAX spares: see heap_internal.h */
	if (spare_refill(heap, HEAP_FLAT_MAX)) {
		free(heap);
		return -ENOMEM;
	}
	heap->flat = true;
	heap->flat_n = 1;
	heap->flat_hole[0].addr = start;
	heap->flat_hole[0].size = range;
	heap->free_bytes = range;
	*out = heap;
	return 0;
}

void
gpuva_heap_destroy(struct gpuva_heap *heap)
{
	if (!heap)
		return;
	while (heap->slabs) {
		struct heap_slab *s = heap->slabs;

		heap->slabs = s->next;
		free(s);
	}
	free(heap->buckets);
	free(heap);
}

const char *
gpuva_heap_last_error(const struct gpuva_heap *heap)
{
	return heap->last_error;
}

void
gpuva_heap_set_log_fn(struct gpuva_heap *heap, gpuva_log_fn fn,
		      void *priv)
{
	heap->log_fn = fn;
	heap->log_priv = priv;
}

/* ---- carving and merging -------------------------------------------- */

/* Record [x, x + size) as used; the caller has made room. */
static void
rec_add(struct gpuva_heap *heap, uint64_t x, uint64_t size, enum heap_kind kind)
{
	struct heap_node *rec = node_get(heap);

	rec->node.key = x;
	rec->size = size;
	rec->kind = kind;
	rec_link(heap, rec);

	heap->free_bytes -= size;
	if (kind == HEAP_KIND_ALLOC) {
		heap->allocations++;
		heap->allocated_bytes += size;
	} else {
		heap->reservations++;
		heap->reserved_bytes += size;
	}
}

/*
 * Record [x, x + size), which lies inside the hole at the end of @path, as
 * used (@kind), and cut it out of that hole. Needs up to two spare nodes
 * (record, right remainder) and room in the record table, which the caller
 * has made sure of. Cannot fail.
 */
static void
carve(struct gpuva_heap *heap, const struct hole_path *path, uint64_t x,
      uint64_t size, enum heap_kind kind)
{
	struct heap_node *h = path_node(path, path->k);
	uint64_t s = h->node.key;
	uint64_t left = x - s;
	uint64_t right = h->size - left - size;

	if (left == 0 && right == 0) {
		tree_remove(&heap->holes, &h->node);
		node_put(heap, h);
	} else if (left == 0) {
		/* same in-order position: no other hole lies in between */
		h->node.key = x + size;
		h->size = right;
		fix_path(path);
	} else if (right == 0) {
		h->size = left;
		fix_path(path);
	} else {
		/*
		 * r is h's in-order successor, so it goes in below h: the
		 * insertion redoes the maxima of h and all its ancestors.
		 */
		struct heap_node *r = node_get(heap);

		h->size = left;
		r->node.key = x + size;
		r->size = right;
		tree_insert(&heap->holes, &r->node);
	}
	rec_add(heap, x, size, kind);
	if (heap->holes.count <= HEAP_FLAT_LOW)
		maybe_to_flat(heap);
}

/*
 * carve() for flat mode: [x, x + size) lies in flat hole @i. A split of a
 * full array moves the holes to the tree first (spare_want() covered it).
 */
static void
flat_carve(struct gpuva_heap *heap, size_t i, uint64_t x, uint64_t size,
	   enum heap_kind kind)
{
	struct heap_flat *h = &heap->flat_hole[i];
	uint64_t left = x - h->addr;
	uint64_t right = h->size - left - size;

	if (left && right) {
		if (heap->flat_n == HEAP_FLAT_MAX) {
			struct hole_path path;
			int le, gt;

			to_tree(heap);
			hole_descend(heap, x, &path, &le, &gt);
			path.k = le;
			carve(heap, &path, x, size, kind);
			return;
		}
		h->size = left;
		flat_insert(heap, i + 1, x + size, right);
	} else if (left) {
		h->size = left;
	} else if (right) {
		h->addr = x + size;
		h->size = right;
	} else {
		flat_delete(heap, i);
	}
	rec_add(heap, x, size, kind);
}


/*
 * release() for flat mode, after the counters: merge [addr, addr + size)
 * into the flat holes. A new hole in a full array moves the holes to the
 * tree, with the spare nodes flat mode keeps and @rec for the new one.
 */
static void
flat_release(struct gpuva_heap *heap, struct heap_node *rec)
{
	uint64_t addr = rec->node.key, size = rec->size;
	size_t i = flat_upper(heap, addr);	/* holes [0, i) lie below */
	struct heap_flat *h = heap->flat_hole;
	bool mp = i > 0 && addr - h[i - 1].addr == h[i - 1].size;
	bool mn = i < heap->flat_n && h[i].addr - addr == size;

	if (mp && mn) {
		h[i - 1].size += size + h[i].size;
		flat_delete(heap, i);
	} else if (mp) {
		h[i - 1].size += size;
	} else if (mn) {
		h[i].addr = addr;
		h[i].size += size;
	} else if (heap->flat_n < HEAP_FLAT_MAX) {
		flat_insert(heap, i, addr, size);
	} else {
		to_tree(heap);
		tree_insert(&heap->holes, &rec->node);
		return;
	}
	node_put(heap, rec);
}

/*
 * Turn the used record @rec back into free space, merging with the holes on
 * either side. Reuses @rec's node, so it needs no memory. Cannot fail.
 */
static void
release(struct gpuva_heap *heap, struct heap_node *rec)
{
	uint64_t addr = rec->node.key, size = rec->size;
	struct hole_path path;
	struct heap_node *prev, *next;
	int le, gt;
	bool mp, mn;

	rec_unlink(heap, rec);
	if (rec->kind == HEAP_KIND_ALLOC) {
		heap->allocations--;
		heap->allocated_bytes -= size;
	} else {
		heap->reservations--;
		heap->reserved_bytes -= size;
	}
	heap->free_bytes += size;

	if (heap->flat) {
		flat_release(heap, rec);
		return;
	}
	/* no hole starts at addr (it was used): one descent finds both */
	hole_descend(heap, addr, &path, &le, &gt);
	prev = path_node(&path, le);
	next = path_node(&path, gt);
	mp = prev && addr - prev->node.key == prev->size;
	mn = next && next->node.key - addr == size;

	if (mp && mn) {
		/*
		 * prev and next are neighbours in order, so one is the other's
		 * ancestor. Grow the upper one and remove the lower: the
		 * removal redoes the maxima on the whole path down to it,
		 * through the upper one, so no second pass is needed. Keys
		 * stay put until after the removal, which descends by key.
		 */
		uint64_t total = prev->size + size + next->size;

		if (le < gt) {
			prev->size = total;
			tree_remove(&heap->holes, &next->node);
			node_put(heap, next);
		} else {
			uint64_t key = prev->node.key;

			next->size = total;
			tree_remove(&heap->holes, &prev->node);
			next->node.key = key;	/* same in-order position */
			node_put(heap, prev);
		}
		node_put(heap, rec);
	} else if (mp) {
		prev->size += size;
		path.k = le;
		fix_path_grew(&path, prev->size);
		node_put(heap, rec);
	} else if (mn) {
		/* same in-order position: the range below next was used */
		next->node.key = addr;
		next->size += size;
		path.k = gt;
		fix_path_grew(&path, next->size);
		node_put(heap, rec);
	} else {
		tree_insert(&heap->holes, &rec->node);
	}
	if (heap->holes.count <= HEAP_FLAT_LOW)
		maybe_to_flat(heap);
}

/* ---- the search ----------------------------------------------------- */

struct fit {
	uint64_t size;
	uint64_t mask;		/* align - 1 */
	uint64_t lo, last;	/* window, inclusive, clipped to the heap */
	unsigned span;		/* no-span shift, 0: none */
	bool high;
	uint64_t need;		/* only holes at least this big are candidates */
	int budget;		/* near misses left; < 0: no limit */
	uint64_t addr;		/* result */
	size_t idx;		/* flat mode: the hole it lies in */
	struct hole_path path;	/* to the hole it lies in; carve() wants it */
};

static inline bool
crosses(unsigned span, uint64_t x, uint64_t size)
{
	return span && (x >> span) != (last_of(x, size) >> span);
}

/* The lowest (highest) fitting position in hole [s, s + len), if any. */
static bool
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
 * In-order (reverse order for high) search of the subtree at @tn for the
 * first hole that fits, skipping subtrees whose largest hole is below
 * f->need and holes outside the window. 1: found, 0: none, -1: budget spent.
 */
static int
search(struct fit *f, struct gpuva_tree_node *tn, int depth)
{
	const struct heap_node *h;
	bool below, above;
	int d = f->high, r;

	if (!tn)
		return 0;
	h = heap_node_of(tn);
	if (h->max < f->need)
		return 0;
	/* the recursion's own path: entries above depth are its ancestors */
	f->path.n[depth] = tn;
	/* below: this hole and its left subtree; above: it and its right */
	below = last_of(tn->key, h->size) < f->lo;
	above = tn->key > f->last;

	if (!(d ? above : below)) {
		r = search(f, tree_child(tn, d), depth + 1);
		if (r)
			return r;
	}
	if (!below && !above && h->size >= f->need) {
		uint64_t x;

		if (fit_hole(f, tn->key, h->size, &x)) {
			f->addr = x;
			f->path.k = depth + 1;
			return 1;
		}
		if (f->budget > 0 && --f->budget == 0)
			return -1;
	}
	if (!(d ? below : above))
		return search(f, tree_child(tn, !d), depth + 1);
	return 0;
}

/*
 * search() without a window, as a loop: the same holes in the same order,
 * the same budget, so the same answer, without a call per node. The path
 * doubles as the stack; first[j] says whether n[j + 1] is n[j]'s child on
 * the side searched first.
 */
static int
search_all(struct fit *f, struct gpuva_tree_node *tn)
{
	bool first[TREE_MAX_DEPTH];
	int d = f->high, k = 0;
	struct gpuva_tree_node *c;
	uint64_t x;

	if (!tn || heap_node_of(tn)->max < f->need)
		return 0;
descend:
	/* tn's subtree holds a hole of f->need bytes: go to the first */
	for (;;) {
		f->path.n[k] = tn;
		c = tree_child(tn, d);
		if (c && heap_node_of(c)->max >= f->need) {
			first[k++] = true;
			tn = c;
		} else if (heap_node_of(tn)->size >= f->need) {
			break;
		} else {
			/* neither that side nor tn: the other side has it */
			first[k++] = false;
			tn = tree_child(tn, !d);
		}
	}
	for (;;) {
		/* tn = n[k] is a candidate */
		if (fit_hole(f, tn->key, heap_node_of(tn)->size, &x)) {
			f->addr = x;
			f->path.k = k + 1;
			return 1;
		}
		if (f->budget > 0 && --f->budget == 0)
			return -1;
		/* then the rest of its subtree, then the next ancestor */
		for (;;) {
			c = tree_child(tn, !d);
			if (c && heap_node_of(c)->max >= f->need) {
				first[k++] = false;
				tn = c;
				goto descend;
			}
			do {
				if (k == 0)
					return 0;
				k--;
			} while (!first[k]);
			tn = f->path.n[k];
			if (heap_node_of(tn)->size >= f->need)
				break;
		}
	}
}

/* flat_search()'s test of candidate hole @i; 1 found, 0 go on, -1 budget. */
static inline int
flat_try(const struct gpuva_heap *heap, struct fit *f, size_t i)
{
	const struct heap_flat *h = &heap->flat_hole[i];
	uint64_t x;

	if (!fit_hole(f, h->addr, h->size, &x))
		return f->budget > 0 && --f->budget == 0 ? -1 : 0;
	f->addr = x;
	f->idx = i;
	return 1;
}

/*
 * flat_search() for the usual request: lowest first, no span rule, the
 * whole heap as window. fit_hole() then comes down to the first-fit list's
 * own test, inline: the aligned start leaves room for the size. Rounding
 * past 2^64 wraps to 0, and 0 - s is more than any hole at s can leave.
 */
static int
flat_search_low(const struct gpuva_heap *heap, struct fit *f)
{
	const struct heap_flat *h = heap->flat_hole;
	uint64_t need = f->need, size = f->size, mask = f->mask;
	size_t n = heap->flat_n;
	int budget = f->budget;

	for (size_t i = 0; i < n; i++) {
		uint64_t s, x;

		if (h[i].size < need)
			continue;
		s = h[i].addr;
		x = (s + mask) & ~mask;
		if (x - s <= h[i].size - size) {	/* need >= size */
			f->addr = x;
			f->idx = i;
			return 1;
		}
		if (budget > 0 && --budget == 0)
			return -1;
	}
	return 0;
}

/*
 * search() over the flat holes: the same holes in the same order (address
 * order, reversed for high), the same budget, so the same answer as the
 * tree would give. Sets f->idx.
 */
static int
flat_search(const struct gpuva_heap *heap, struct fit *f)
{
	const struct heap_flat *h = heap->flat_hole;
	uint64_t need = f->need;
	size_t n = heap->flat_n;
	int r;

	if (!f->high && !f->span && f->lo == heap->start &&
	    f->last == heap->last)
		return flat_search_low(heap, f);
	/* the skip tests read sizes first: most holes are too small */
	if (!f->high) {
		for (size_t i = 0; i < n; i++) {
			if (h[i].size < need ||
			    last_of(h[i].addr, h[i].size) < f->lo)
				continue;
			if (h[i].addr > f->last)
				return 0;
			if ((r = flat_try(heap, f, i)) != 0)
				return r;
		}
	} else {
		for (size_t i = n; i-- > 0;) {
			if (h[i].size < need || h[i].addr > f->last)
				continue;
			if (last_of(h[i].addr, h[i].size) < f->lo)
				return 0;
			if ((r = flat_try(heap, f, i)) != 0)
				return r;
		}
	}
	return 0;
}

/* The first fit for @f among the holes; 1, 0 or -1 as search(). */
static int
find_fit(struct gpuva_heap *heap, struct fit *f)
{
	if (heap->flat)
		return flat_search(heap, f);
	if (f->lo == heap->start && f->last == heap->last)
		return search_all(f, tree_root(&heap->holes));
	return search(f, tree_root(&heap->holes), 0);
}

static const char *
dir_name(uint32_t flags)
{
	return flags & GPUVA_HEAP_HIGH ? " high" : "";
}

int
gpuva_heap_alloc_in_range(struct gpuva_heap *heap, uint64_t size,
			  uint64_t align, uint32_t flags, uint64_t win_addr,
			  uint64_t win_range, uint64_t *addr)
{
	const uint32_t known = GPUVA_HEAP_HIGH | GPUVA_HEAP_NO_SPAN_MASK;
	unsigned span = (flags & GPUVA_HEAP_NO_SPAN_MASK) >> 8;
	struct fit f;	/* not zeroed: the path alone is 768 bytes */
	uint64_t win_last;
	int r, err;

#define REQ "alloc 0x%" PRIx64 " align=0x%" PRIx64 " flags=0x%" PRIx32 \
	" window=0x%" PRIx64 ",0x%" PRIx64
#define REQ_ARGS size, align, flags, win_addr, win_range
	if (!addr)
		return heap_reject(heap, -EINVAL, REQ ": no out address", REQ_ARGS);
	if (size == 0)
		return heap_reject(heap, -EINVAL, REQ ": size is zero", REQ_ARGS);
	if (!util_is_pow2(align))
		return heap_reject(heap, -EINVAL,
				   REQ ": align is not a power of two", REQ_ARGS);
	if (flags & ~known)
		return heap_reject(heap, -EINVAL, REQ ": unknown flags 0x%" PRIx32,
				   REQ_ARGS, flags & ~known);
	if (span && size > (UINT64_C(1) << span))
		return heap_reject(heap, -EINVAL,
				   REQ ": size above the no-span block 0x%" PRIx64,
				   REQ_ARGS, UINT64_C(1) << span);
	if (win_range == 0)
		return heap_reject(heap, -EINVAL, REQ ": window is empty", REQ_ARGS);
	if (win_addr > UINT64_MAX - (win_range - 1))
		return heap_reject(heap, -EINVAL, REQ ": window end passes 2^64",
				   REQ_ARGS);
	win_last = last_of(win_addr, win_range);
	if (win_last < heap->start || win_addr > heap->last)
		return heap_reject(heap, -EINVAL,
				   REQ ": window outside the heap [0x%" PRIx64
				   ", 0x%" PRIx64 "]", REQ_ARGS, heap->start,
				   heap->last);

	f.size = size;
	f.mask = align - 1;
	f.lo = win_addr > heap->start ? win_addr : heap->start;
	f.last = win_last < heap->last ? win_last : heap->last;
	f.span = span;
	f.high = flags & GPUVA_HEAP_HIGH;
	f.need = size;
	f.budget = GPUVA_HEAP_SEARCH_BUDGET;

	/* the tree knows its largest hole; flat mode scans only on a miss */
	if (!heap->flat && largest_hole(heap) < size)
		goto no_hole;
	r = find_fit(heap, &f);
	if (r < 0) {
		/* holes this big fit at any offset (and span slack) */
		if (span && align < (UINT64_C(1) << span))
			f.need = sat_add(sat_add(align, size - 1), size - 1);
		else
			f.need = sat_add(align, size - 1);
		f.budget = -1;
		r = find_fit(heap, &f);
		if (r == 0) {
			f.need = size;
			r = find_fit(heap, &f);
		}
	}
	if (r <= 0) {
		if (largest_hole(heap) < size)
			goto no_hole;
		return heap_reject(heap, -ENOSPC, REQ "%s: no hole fits",
				   REQ_ARGS, dir_name(flags));
	}
	/*
	 * The search changed nothing: memory is taken now, before anything
	 * is, and only for a request that will be carved (a refused one
	 * leaves even the heap's memory as it was).
	 */
	err = make_room(heap);
	if (err)
		return heap_reject(heap, err, REQ ": out of memory for a node",
				   REQ_ARGS);
	if (heap->flat)
		flat_carve(heap, f.idx, f.addr, size, HEAP_KIND_ALLOC);
	else
		carve(heap, &f.path, f.addr, size, HEAP_KIND_ALLOC);
	*addr = f.addr;
	return 0;

no_hole:
	return heap_reject(heap, -ENOSPC,
			   REQ "%s: no hole of 0x%" PRIx64 " bytes (largest 0x%"
			   PRIx64 ")", REQ_ARGS, dir_name(flags), size,
			   largest_hole(heap));
#undef REQ
#undef REQ_ARGS
}

int
gpuva_heap_alloc(struct gpuva_heap *heap, uint64_t size, uint64_t align,
		 uint32_t flags, uint64_t *addr)
{
	/* the range fits: it was one at creation */
	return gpuva_heap_alloc_in_range(heap, size, align, flags, heap->start,
					 heap->last - heap->start + 1, addr);
}

/* ---- fixed ranges --------------------------------------------------- */

/*
 * The used record containing @addr, or NULL. For error reasons only: the
 * records between the hole below @addr and @addr are walked one by one, so
 * this is O(log n + k), k = records in that run.
 */
static struct heap_node *
used_at(const struct gpuva_heap *heap, uint64_t addr)
{
	struct heap_node *u;
	uint64_t x, hs, hlen;
	bool h;

	if (addr < heap->start || addr > heap->last)
		return NULL;
	h = hole_le(heap, addr, &hs, &hlen);
	if (h && addr - hs < hlen)
		return NULL;
	/* the hole ends at or below addr <= last: no overflow */
	x = h ? hs + hlen : heap->start;
	while ((u = rec_find(heap, x)) && addr - x >= u->size)
		x += u->size;
	return u;
}

static const char *
a_kind_name(enum heap_kind k)
{
	switch (k) {
	case HEAP_KIND_ALLOC:
		return "an allocation";
	case HEAP_KIND_RESERVED:
		return "a reservation";
	default:
		return "the kernel-reserved range";
	}
}

static const char *
kind_name(enum heap_kind k)
{
	switch (k) {
	case HEAP_KIND_ALLOC:
		return "allocation";
	case HEAP_KIND_RESERVED:
		return "reservation";
	default:
		return "kernel-reserved range";
	}
}

int
heap_take(struct gpuva_heap *heap, uint64_t addr, uint64_t size,
	  enum heap_kind kind, const char *what)
{
	struct hole_path path;
	struct heap_node *u;
	uint64_t taken, hs = 0, hlen = 0;
	size_t i = 0;
	int le, gt, err;
	bool h;

	if (size == 0)
		return heap_reject(heap, -EINVAL, "%s 0x%" PRIx64 " 0x0: size is zero",
				   what, addr);
	if (addr > UINT64_MAX - (size - 1))
		return heap_reject(heap, -EINVAL, "%s 0x%" PRIx64 " 0x%" PRIx64
				   ": end passes 2^64", what, addr, size);
	if (addr < heap->start || last_of(addr, size) > heap->last)
		return heap_reject(heap, -EINVAL, "%s 0x%" PRIx64 " 0x%" PRIx64
				   ": outside the heap [0x%" PRIx64 ", 0x%" PRIx64
				   "]", what, addr, size, heap->start, heap->last);
	if (heap->flat) {
		i = flat_upper(heap, addr);
		h = i > 0;
		if (h) {
			i--;
			hs = heap->flat_hole[i].addr;
			hlen = heap->flat_hole[i].size;
		}
	} else {
		hole_descend(heap, addr, &path, &le, &gt);
		path.k = le;
		h = le > 0;
		if (h) {
			hs = path_node(&path, le)->node.key;
			hlen = path_node(&path, le)->size;
		}
	}
	if (!h || addr - hs >= hlen)
		taken = addr;
	else if (last_of(addr, size) - hs >= hlen)
		taken = hs + hlen;
	else
		goto fits;
	u = used_at(heap, taken);
	return heap_reject(heap, -ENOSPC, "%s 0x%" PRIx64 " 0x%" PRIx64
			   ": byte 0x%" PRIx64 " is taken by the %s 0x%" PRIx64
			   " 0x%" PRIx64, what, addr, size, taken,
			   u ? kind_name(u->kind) : "?", u ? u->node.key : 0,
			   u ? u->size : 0);
fits:
	err = make_room(heap);
	if (err)
		return heap_reject(heap, err, "%s 0x%" PRIx64 " 0x%" PRIx64
				   ": out of memory for a node", what, addr, size);
	if (heap->flat)
		flat_carve(heap, i, addr, size, kind);
	else
		carve(heap, &path, addr, size, kind);
	return 0;
}

int
gpuva_heap_alloc_fixed(struct gpuva_heap *heap, uint64_t addr, uint64_t size)
{
	return heap_take(heap, addr, size, HEAP_KIND_ALLOC, "alloc_fixed");
}

int
gpuva_heap_reserve(struct gpuva_heap *heap, uint64_t addr, uint64_t size)
{
	return heap_take(heap, addr, size, HEAP_KIND_RESERVED, "reserve");
}

/*
 * Why [addr, addr + size) is not a record of @kind to give back: the
 * rejection, from the most basic reason on. Called only once the quick
 * test in give_back() failed, so one of the reasons holds.
 */
static int
refuse_give_back(struct gpuva_heap *heap, uint64_t addr, uint64_t size,
		 enum heap_kind kind, const char *what)
{
	struct heap_node *u;

	if (size == 0)
		return heap_reject(heap, -EINVAL, "%s 0x%" PRIx64 " 0x0: size is zero",
				   what, addr);
	u = rec_find(heap, addr);
	if (!u)
		u = used_at(heap, addr);
	if (!u)
		return heap_reject(heap, -EINVAL, "%s 0x%" PRIx64 " 0x%" PRIx64
				   ": not allocated (free, freed twice or outside"
				   " the heap)", what, addr, size);
	if (u->node.key != addr)
		return heap_reject(heap, -EINVAL, "%s 0x%" PRIx64 " 0x%" PRIx64
				   ": inside the %s 0x%" PRIx64 " 0x%" PRIx64
				   ", not at its start", what, addr, size,
				   kind_name(u->kind), u->node.key, u->size);
	if (u->kind != kind)
		return heap_reject(heap, -EINVAL, "%s 0x%" PRIx64 " 0x%" PRIx64
				   ": is %s, not %s", what, addr, size,
				   a_kind_name(u->kind), a_kind_name(kind));
	/* the record there is of @kind: its size is what differs */
	return heap_reject(heap, -EINVAL, "%s 0x%" PRIx64 " 0x%" PRIx64
			   ": the %s there is 0x%" PRIx64 " bytes", what,
			   addr, size, kind_name(u->kind), u->size);
}

/*
 * Give back the record of @kind at exactly [addr, addr + size). A valid
 * call is decided by one lookup and two comparisons (a record's size is
 * never 0); a refused one is explained by refuse_give_back().
 */
static int
give_back(struct gpuva_heap *heap, uint64_t addr, uint64_t size,
	  enum heap_kind kind, const char *what)
{
	struct heap_node *u = rec_find(heap, addr);

	if (!u || u->kind != kind || u->size != size)
		return refuse_give_back(heap, addr, size, kind, what);
	release(heap, u);
	return 0;
}

int
gpuva_heap_free(struct gpuva_heap *heap, uint64_t addr, uint64_t size)
{
	return give_back(heap, addr, size, HEAP_KIND_ALLOC, "free");
}

int
gpuva_heap_unreserve(struct gpuva_heap *heap, uint64_t addr, uint64_t size)
{
	return give_back(heap, addr, size, HEAP_KIND_RESERVED, "unreserve");
}

/* ---- queries -------------------------------------------------------- */

void
gpuva_heap_get_stats(const struct gpuva_heap *heap,
		     struct gpuva_heap_stats *st)
{
	st->start = heap->start;
	st->range = heap->last - heap->start + 1;
	st->free_bytes = heap->free_bytes;
	st->largest_hole = largest_hole(heap);
	st->holes = heap->flat ? heap->flat_n : heap->holes.count;
	st->allocations = heap->allocations;
	st->allocated_bytes = heap->allocated_bytes;
	st->reservations = heap->reservations;
	st->reserved_bytes = heap->reserved_bytes;
	st->bytes = sizeof(*heap) + heap->slab_count * sizeof(struct heap_slab) +
		    heap->hash_size * sizeof(*heap->buckets);
}

bool
gpuva_heap_is_free(const struct gpuva_heap *heap, uint64_t addr, uint64_t size)
{
	uint64_t hs, hlen;

	if (size == 0 || addr > UINT64_MAX - (size - 1))
		return false;
	return hole_le(heap, addr, &hs, &hlen) && addr - hs < hlen &&
	       last_of(addr, size) - hs < hlen;
}

/* The holes in address order, in either mode. */
struct hole_cur {
	bool ok;
	uint64_t addr, size;
	size_t i;			/* flat */
	struct gpuva_tree_node *tn;	/* tree */
};

static void
cur_load(const struct gpuva_heap *heap, struct hole_cur *c)
{
	if (heap->flat) {
		c->ok = c->i < heap->flat_n;
		if (c->ok) {
			c->addr = heap->flat_hole[c->i].addr;
			c->size = heap->flat_hole[c->i].size;
		}
	} else {
		c->ok = c->tn != NULL;
		if (c->ok) {
			c->addr = c->tn->key;
			c->size = heap_node_of(c->tn)->size;
		}
	}
}

static void
cur_first(const struct gpuva_heap *heap, struct hole_cur *c)
{
	c->i = 0;
	c->tn = heap->flat ? NULL : tree_first(&heap->holes);
	cur_load(heap, c);
}

static void
cur_next(const struct gpuva_heap *heap, struct hole_cur *c)
{
	if (heap->flat)
		c->i++;
	else
		c->tn = tree_next(c->tn);
	cur_load(heap, c);
}

int
gpuva_heap_for_each_hole(const struct gpuva_heap *heap, gpuva_heap_range_fn fn,
			 void *priv)
{
	struct hole_cur c;

	for (cur_first(heap, &c); c.ok; cur_next(heap, &c)) {
		struct gpuva_heap_range r = { c.addr, c.size, GPUVA_HEAP_HOLE };
		int ret = fn(priv, &r);

		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Every range in address order: holes from the hole tree (or array), and in each gap
 * between them the records that tile it, found one after the other by
 * their start. Returns fn's first non-zero value, or 0; on a broken heap
 * (a gap no record starts, a zero-sized record) it stops with 0 and sets
 * *why, for gpuva_heap_check().
 */
static int
heap_walk(const struct gpuva_heap *heap, gpuva_heap_range_fn fn, void *priv,
	  const char **why)
{
	struct hole_cur h;
	uint64_t x = heap->start;
	bool end = false;	/* x passed heap->last */

	cur_first(heap, &h);
	while (h.ok || !end) {
		struct gpuva_heap_range r;
		int ret;

		if (h.ok && (end || h.addr <= x)) {
			r.addr = h.addr;
			r.range = h.size;
			r.state = GPUVA_HEAP_HOLE;
			cur_next(heap, &h);
		} else {
			struct heap_node *u = rec_find(heap, x);

			if (!u || u->size == 0) {
				*why = u ? "an empty record" :
				       "a gap that no hole or record starts";
				return 0;
			}
			r.addr = x;
			r.range = u->size;
			r.state = u->kind == HEAP_KIND_ALLOC ?
				  GPUVA_HEAP_ALLOCATED : GPUVA_HEAP_RESERVED;
		}
		ret = fn(priv, &r);
		if (ret)
			return ret;
		if (r.range == 0)
			continue;
		if (r.addr > heap->last || r.range - 1 >= heap->last - r.addr)
			end = true;
		else
			x = r.addr + r.range;
	}
	return 0;
}

int
gpuva_heap_for_each_range(const struct gpuva_heap *heap,
			  gpuva_heap_range_fn fn, void *priv)
{
	const char *why = NULL;

	return heap_walk(heap, fn, priv, &why);
}

/* ---- checking ------------------------------------------------------- */

/* Recompute the subtree maximum into @max; false when a cached one is off. */
static bool
check_max(const struct gpuva_tree_node *tn, uint64_t *max)
{
	uint64_t m, cm;

	if (!tn) {
		*max = 0;
		return true;
	}
	m = heap_node_of(tn)->size;
	for (int d = 0; d < 2; d++) {
		if (!check_max(tree_child(tn, d), &cm))
			return false;
		if (cm > m)
			m = cm;
	}
	*max = m;
	return heap_node_of(tn)->max == m;
}

struct check_walk {
	uint64_t next;		/* where the next range must start */
	uint64_t covered;	/* bytes seen */
	bool prev_hole;
	uint64_t free_b, alloc_b, rsv_b;
	size_t holes, allocs, rsvs;
	const char *why;
};

static int
check_range(void *priv, const struct gpuva_heap_range *r)
{
	struct check_walk *w = priv;

	if (r->range == 0) {
		w->why = "empty range";
		return -1;
	}
	if (r->addr != w->next) {
		w->why = r->addr < w->next ? "ranges overlap" :
			 "a gap between ranges";
		return -1;
	}
	if (r->state == GPUVA_HEAP_HOLE && w->prev_hole) {
		w->why = "two adjacent holes not merged";
		return -1;
	}
	w->prev_hole = r->state == GPUVA_HEAP_HOLE;
	w->next = r->addr + r->range;
	w->covered += r->range;
	switch (r->state) {
	case GPUVA_HEAP_HOLE:
		w->free_b += r->range;
		w->holes++;
		break;
	case GPUVA_HEAP_ALLOCATED:
		w->alloc_b += r->range;
		w->allocs++;
		break;
	default:
		w->rsv_b += r->range;
		w->rsvs++;
		break;
	}
	return 0;
}

/*
 * Every record in the bucket its start hashes to, the load at most one per
 * bucket, and as many records as the counters say. With the walk, which
 * finds each record by its start, that makes the table and the tiling
 * agree: no record is lost or listed twice.
 */
static int
check_records(const struct gpuva_heap *heap, const char **why)
{
	size_t n = 0, max = rec_count(heap);

	if (max > heap->hash_size) {
		*why = "more records than buckets";
		return -1;
	}
	for (size_t i = 0; i < heap->hash_size; i++) {
		for (struct heap_node *r = heap->buckets[i]; r; r = rec_next(r)) {
			if (++n > max) {
				*why = "more records than allocations and reservations";
				return -1;
			}
			if (rec_bucket(heap, r->node.key) != i) {
				*why = "a record in the wrong bucket";
				return -1;
			}
			if (rec_find(heap, r->node.key) != r) {
				*why = "two records at one address";
				return -1;
			}
		}
	}
	if (n != max) {
		*why = "fewer records than allocations and reservations";
		return -1;
	}
	return 0;
}

/*
 * The representation in use: flat mode has an empty tree, at most
 * HEAP_FLAT_MAX holes in strictly increasing, non-empty order, and the
 * spare nodes a to_tree() needs; tree mode has an empty array.
 */
static int
check_flat(const struct gpuva_heap *heap, const char **why)
{
	if (!heap->flat) {
		if (heap->flat_n) {
			*why = "tree mode with flat holes";
			return -1;
		}
		return 0;
	}
	if (heap->holes.count || tree_root(&heap->holes)) {
		*why = "flat mode with holes in the tree";
		return -1;
	}
	if (heap->flat_n > HEAP_FLAT_MAX) {
		*why = "more flat holes than the array holds";
		return -1;
	}
	for (size_t i = 0; i < heap->flat_n; i++) {
		const struct heap_flat *h = &heap->flat_hole[i];

		if (h->size == 0) {
			*why = "an empty flat hole";
			return -1;
		}
		if (i && h->addr <= h[-1].addr) {
			*why = "flat holes out of order";
			return -1;
		}
	}
	if (heap->spare_count < HEAP_FLAT_MAX) {
		*why = "too few spare nodes to leave flat mode";
		return -1;
	}
	return 0;
}

int
gpuva_heap_check(struct gpuva_heap *heap)
{
	struct check_walk w = { .next = heap->start };
	const char *why;
	uint64_t m;

	if (tree_check(&heap->holes, &why))
		return heap_reject(heap, -EINVAL, "check: hole tree: %s", why);
	why = NULL;
	if (check_flat(heap, &why))
		return heap_reject(heap, -EINVAL, "check: hole mode: %s", why);
	why = NULL;
	if (check_records(heap, &why))
		return heap_reject(heap, -EINVAL, "check: record table: %s", why);
	if (!check_max(tree_root(&heap->holes), &m))
		return heap_reject(heap, -EINVAL,
				   "check: a cached largest hole is wrong");
	why = NULL;
	if (heap_walk(heap, check_range, &w, &why) || why)
		return heap_reject(heap, -EINVAL, "check: at 0x%" PRIx64 ": %s",
				   w.next, why ? why : w.why);
	if (w.covered != heap->last - heap->start + 1 ||
	    (w.next != heap->last + 1))
		return heap_reject(heap, -EINVAL,
				   "check: ranges cover 0x%" PRIx64 " bytes, heap has 0x%"
				   PRIx64, w.covered, heap->last - heap->start + 1);
	if (w.free_b != heap->free_bytes || w.alloc_b != heap->allocated_bytes ||
	    w.rsv_b != heap->reserved_bytes || w.allocs != heap->allocations ||
	    w.rsvs != heap->reservations)
		return heap_reject(heap, -EINVAL, "check: counters disagree");
	return 0;
}
