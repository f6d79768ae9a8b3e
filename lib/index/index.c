/* SPDX-License-Identifier: MIT */
/*
 * The index layer: a B+tree of item pointers (index.h says why this shape).
 *
 * Conventions used throughout:
 * - A path is the inner nodes from the root down to a leaf's parent, with
 *   the child index taken at each (struct idx_cursor). Levels are numbered
 *   from the root: node[0] is the root when height > 1, node[height - 2] is
 *   the leaf's parent.
 * - Separators are exact: separator i (sep_at(), in key order; key[] keeps
 *   them in search order) is the smallest key under child[i + 1].
 *   So a leaf's smallest key is the separator of the nearest ancestor where
 *   the path did not go leftmost, and every change of a leaf's first item
 *   updates that separator (set_lo()).
 * - Unused separator slots hold UINT64_MAX, so that the search over an
 *   inner node's keys runs a fixed number of steps with no length check.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"

/* Chunks of node memory; the header takes the first leaf-sized unit. */
struct idx_chunk {
	struct idx_chunk *next;
	size_t bytes;
};

#define UNIT		128
#define CHUNK_MIN	(4u << 10)
#define CHUNK_MAX	(64u << 10)

_Static_assert(sizeof(struct idx_chunk) <= UNIT, "chunk header fits a unit");
_Static_assert(IDX_MIN_LEAF == 7, "prefetch_items() spells out 7 slots");

/* ---- node memory -------------------------------------------------------- */

static void
spare_push(void **list, size_t *n, void *node)
{
	*(void **)node = *list;
	*list = node;
	(*n)++;
}

static void *
spare_pop(void **list, size_t *n)
{
	void *node = *list;

	*list = *(void **)node;
	(*n)--;
	return node;
}

/*
 * Make room for @size bytes in the newest chunk, adding a chunk if needed
 * (one allocation, so a failure changes nothing). 0 or -ENOMEM.
 */
static int
room(struct idx *ix, size_t size)
{
	struct idx_chunk *c;
	size_t bytes;

	if ((size_t)(ix->bump_end - ix->bump) >= size)
		return 0;
	/* small chunks while the index is small: small VMs stay small */
	bytes = ix->bytes < CHUNK_MAX ? CHUNK_MIN : CHUNK_MAX;
	if (bytes < size + UNIT)
		bytes = (size + UNIT + CHUNK_MIN - 1) / CHUNK_MIN * CHUNK_MIN;
	c = aligned_alloc(64, bytes);
	if (!c)
		return -ENOMEM;
	c->next = ix->chunks;
	c->bytes = bytes;
	ix->chunks = c;
	ix->bytes += bytes;
	ix->bump = (char *)c + UNIT;
	ix->bump_end = (char *)c + bytes;
	return 0;
}

static void *
carve(struct idx *ix, size_t size)
{
	void *p = ix->bump;

	ix->bump += size;
	return p;
}

int
idx_reserve(struct idx *ix, unsigned inserts)
{
	size_t need_i = idx_inner_need(ix, inserts);
	size_t leaves = ix->n_spare_leaf < inserts ? inserts - ix->n_spare_leaf : 0;
	size_t inners = ix->n_spare_inner < need_i ? need_i - ix->n_spare_inner : 0;

	if (room(ix, leaves * sizeof(struct idx_leaf) +
		     inners * sizeof(struct idx_inner)))
		return -ENOMEM;
	while (leaves--)
		spare_push(&ix->spare_leaf, &ix->n_spare_leaf,
			   carve(ix, sizeof(struct idx_leaf)));
	while (inners--)
		spare_push(&ix->spare_inner, &ix->n_spare_inner,
			   carve(ix, sizeof(struct idx_inner)));
	return 0;
}

/*
 * The most levels @ix can have after @inserts more inserts. Non-root inner
 * nodes keep at least IDX_MIN_FANOUT children (splits halve 17 into 9 and
 * 8, removals rebalance), and the root at least 2, so h levels need at
 * least 2 * 8^(h - 2) leaves; there are at most count + inserts leaves.
 */
static unsigned
max_height(const struct idx *ix, size_t inserts)
{
	size_t leaves = ix->count + inserts, reach = 2;
	unsigned h = 2;

	while (reach < leaves) {
		reach = reach > SIZE_MAX / IDX_MIN_FANOUT ? SIZE_MAX
							  : reach * IDX_MIN_FANOUT;
		h++;
	}
	return h > ix->height + 1 ? h : ix->height + 1;
}

int
idx_reserve_many(struct idx *ix, size_t inserts)
{
	/* an insert splits at most its leaf, every inner node above, and
	 * adds a root: one leaf and (height - 1) + 1 inner nodes */
	size_t inners = inserts * max_height(ix, inserts);
	size_t leaves = inserts;
	size_t bytes = 0;

	if (ix->n_spare_leaf < leaves)
		bytes += (leaves - ix->n_spare_leaf) * sizeof(struct idx_leaf);
	if (ix->n_spare_inner < inners)
		bytes += (inners - ix->n_spare_inner) * sizeof(struct idx_inner);
	return room(ix, bytes);
}

void
idx_mark(const struct idx *ix, struct idx_mark *m)
{
	m->spare_leaf = ix->spare_leaf;
	m->spare_inner = ix->spare_inner;
	m->n_spare_leaf = ix->n_spare_leaf;
	m->n_spare_inner = ix->n_spare_inner;
	m->chunks = ix->chunks;
	m->bump = ix->bump;
	m->bump_end = ix->bump_end;
	m->bytes = ix->bytes;
}

void
idx_rewind(struct idx *ix, const struct idx_mark *m)
{
	while (ix->chunks != m->chunks) {
		struct idx_chunk *c = ix->chunks;

		ix->chunks = c->next;
		free(c);
	}
	ix->spare_leaf = m->spare_leaf;
	ix->spare_inner = m->spare_inner;
	ix->n_spare_leaf = m->n_spare_leaf;
	ix->n_spare_inner = m->n_spare_inner;
	ix->bump = m->bump;
	ix->bump_end = m->bump_end;
	ix->bytes = m->bytes;
}

static void *
take(struct idx *ix, void **list, size_t *n, size_t size)
{
	void *p;

	if (*n)
		return spare_pop(list, n);
	/* nobody reserved: a library bug, but allocate if we can */
	if (room(ix, size)) {
		fprintf(stderr, "libgpuva: index insert without reserved nodes "
			"and out of memory\n");
		abort();
	}
	p = carve(ix, size);
	return p;
}

/*
 * What a leaf's slots past n point to: an item whose key is UINT64_MAX.
 * A leaf search can then bisect all IDX_LEAF_CAP slots in fixed steps, and
 * prefetch them all, the padding being one line that stays cached.
 */
static const uint64_t idx_pad_key = UINT64_MAX;
#define IDX_PAD ((void *)(uintptr_t)&idx_pad_key)

/* Pad @l's slots from l->n on; after every change that lowers l->n. */
static inline void
leaf_pad(struct idx_leaf *l)
{
	for (unsigned i = l->n; i < IDX_LEAF_CAP; i++)
		l->slot[i] = IDX_PAD;
}

static struct idx_leaf *
take_leaf(struct idx *ix)
{
	struct idx_leaf *l = take(ix, &ix->spare_leaf, &ix->n_spare_leaf,
				  sizeof(*l));

	l->n = 0;
	leaf_pad(l);
	return l;
}

static struct idx_inner *
take_inner(struct idx *ix)
{
	struct idx_inner *in = take(ix, &ix->spare_inner, &ix->n_spare_inner,
				    sizeof(*in));

	in->n = 0;
	for (unsigned i = 0; i < IDX_FANOUT - 1; i++)
		in->key[i] = UINT64_MAX;
	return in;
}

static void
give_leaf(struct idx *ix, struct idx_leaf *l)
{
	spare_push(&ix->spare_leaf, &ix->n_spare_leaf, l);
}

static void
give_inner(struct idx *ix, struct idx_inner *in)
{
	spare_push(&ix->spare_inner, &ix->n_spare_inner, in);
}

void
idx_init(struct idx *ix)
{
	memset(ix, 0, sizeof(*ix));
}

void
idx_fini(struct idx *ix)
{
	while (ix->chunks) {
		struct idx_chunk *c = ix->chunks;

		ix->chunks = c->next;
		free(c);
	}
	idx_init(ix);
}

/* ---- searching ------------------------------------------------------------ */

static void *cursor_step(struct idx *ix, int dir);

/*
 * Separators are stored in breadth-first (Eytzinger) order: the implicit
 * binary tree's node j (1 to 15) is key[j - 1], its children are nodes 2j
 * (smaller) and 2j + 1 (larger), and the median comes first. A search is
 * then j = 2j + (key[j - 1] <= key) four times: no index arithmetic but a
 * doubling, which x86 does in one add-with-carry after the compare. The
 * 16 leaves of that tree, j = 16 to 31, are the children in order, so
 * j - 16 is the child. idx_ey[i] is where the i-th smallest separator is.
 */
static const unsigned char idx_ey[IDX_FANOUT - 1] = {
	7, 3, 8, 1, 9, 4, 10, 0, 11, 5, 12, 2, 13, 6, 14,
};

/* Separator @i in key order: the smallest key under child i + 1. */
static inline uint64_t
sep_at(const struct idx_inner *in, unsigned i)
{
	return in->key[idx_ey[i]];
}

static inline void
set_sep(struct idx_inner *in, unsigned i, uint64_t key)
{
	in->key[idx_ey[i]] = key;
}

/* All separators in key order, for the rare changes that move them. */
static void
seps_load(const struct idx_inner *in, uint64_t s[IDX_FANOUT - 1])
{
	for (unsigned i = 0; i < IDX_FANOUT - 1; i++)
		s[i] = sep_at(in, i);
}

/* Store the first in->n - 1 of @s, and UINT64_MAX in the unused slots. */
static void
seps_store(struct idx_inner *in, const uint64_t *s)
{
	for (unsigned i = 0; i < IDX_FANOUT - 1; i++)
		set_sep(in, i, i + 1 < in->n ? s[i] : UINT64_MAX);
}

/*
 * j = 2j + (separator at node j <= key), with key1 = key + 1. x86-64 with
 * GNU C: the compare's carry is the bit, so cmp + adc (gcc makes four
 * instructions of the C form). GPUVA_NO_ASM selects the C form anywhere;
 * the test suite's sanitizer build uses it, so both forms are tested.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(GPUVA_NO_ASM)
#define EY_STEP(in, j, key1)						\
	__asm__("cmpq %2, %1\n\tadcq %0, %0"				\
		: "+r"(j) : "m"((in)->key[(j) - 1]), "r"(key1) : "cc")
#else
#define EY_STEP(in, j, key1)	((j) = 2 * (j) + ((in)->key[(j) - 1] < (key1)))
#endif

/*
 * Which child of @in holds @key: the number of separators <= key. The
 * unused separators hold UINT64_MAX, which is never <= key here: the
 * caller sends key == UINT64_MAX to inner_slot_max() instead, which is also
 * why key + 1 cannot wrap.
 */
static inline unsigned
inner_slot(const struct idx_inner *in, uint64_t key)
{
	uint64_t key1 = key + 1;	/* sep <= key: sep < key1, the carry */
	size_t j = 1;

	EY_STEP(in, j, key1);
	EY_STEP(in, j, key1);
	EY_STEP(in, j, key1);
	EY_STEP(in, j, key1);
	return (unsigned)(j - IDX_FANOUT);
}

/* inner_slot() for key == UINT64_MAX: every separator is <= it. */
static inline unsigned
inner_slot_max(const struct idx_inner *in)
{
	return in->n - 1;
}

/* Ask for every line of a node at once, not one per step of the search. */
static inline void
prefetch_inner(const void *p)
{
	const char *c = p;

	__builtin_prefetch(c);
	__builtin_prefetch(c + 64);
	__builtin_prefetch(c + 128);
	__builtin_prefetch(c + 192);
}

static inline void
prefetch_leaf(const void *p)
{
	const char *c = p;

	__builtin_prefetch(c);
	__builtin_prefetch(c + 64);
}

/*
 * Ask for every item of @l at once, so that their misses overlap: the keys
 * are in the items, each likely a miss of its own. Slots past l->n hold the
 * padding item, which is cached, so asking for all of them wastes no fill
 * buffer and needs no test. Always inline: out of line, gcc finds this
 * void function pure (a prefetch has no side effect) and drops every call.
 */
static inline __attribute__((always_inline)) void
prefetch_items(const struct idx_leaf *l)
{
	_Static_assert(IDX_LEAF_CAP == 15, "15 slots are asked for");
	__builtin_prefetch(l->slot[0]);
	__builtin_prefetch(l->slot[1]);
	__builtin_prefetch(l->slot[2]);
	__builtin_prefetch(l->slot[3]);
	__builtin_prefetch(l->slot[4]);
	__builtin_prefetch(l->slot[5]);
	__builtin_prefetch(l->slot[6]);
	__builtin_prefetch(l->slot[7]);
	__builtin_prefetch(l->slot[8]);
	__builtin_prefetch(l->slot[9]);
	__builtin_prefetch(l->slot[10]);
	__builtin_prefetch(l->slot[11]);
	__builtin_prefetch(l->slot[12]);
	__builtin_prefetch(l->slot[13]);
	__builtin_prefetch(l->slot[14]);
}

/*
 * Number of items in @l with key <= @key: four fixed steps over the 15
 * slots, as inner_slot() does over separators (no branch on the outcome of
 * a compare). The padding's key is UINT64_MAX, so it is counted for key ==
 * UINT64_MAX only, which the clamp to l->n takes back.
 */
static inline unsigned
leaf_count_le(const struct idx_leaf *l, uint64_t key)
{
	size_t i = 0;

	prefetch_items(l);
	i += (size_t)(idx_key(l->slot[7]) <= key) << 3;
	i += (size_t)(idx_key(l->slot[i + 3]) <= key) << 2;
	i += (size_t)(idx_key(l->slot[i + 1]) <= key) << 1;
	i += (size_t)(idx_key(l->slot[i]) <= key);
	return i < l->n ? (unsigned)i : l->n;
}

/*
 * Slot of @item in @l, or -1. Compares pointers only: no item is read.
 * Every slot, with no test of l->n: the padding is never an item.
 */
static inline int
leaf_find_ptr(const struct idx_leaf *l, const void *item)
{
	for (unsigned i = 0; i < IDX_LEAF_CAP; i++)
		if (l->slot[i] == item)
			return (int)i;
	return -1;
}

/*
 * Recompute the cursor's leaf bounds from its path: the deepest levels
 * where it did not go leftmost (lo) and rightmost (hi). Usually the
 * parent has both.
 */
static inline void
cursor_bounds(const struct idx *ix, struct idx_cursor *c)
{
	int k = (int)ix->height - 2;
	bool lo = false, hi = false;

	if (k >= 0) {
		const struct idx_inner *in = c->node[k];
		unsigned i = c->ci[k];

		if (i > 0 && i + 1 < in->n) {
			/* the usual case: the parent has both */
			c->lo = sep_at(in, i - 1);
			c->hi = sep_at(in, i);
			return;
		}
	}
	/* none found: 0 and UINT64_MAX, which bound every key but the last */
	c->lo = 0;
	c->hi = UINT64_MAX;
	for (; k >= 0 && !(lo && hi); k--) {
		const struct idx_inner *in = c->node[k];
		unsigned i = c->ci[k];

		if (!lo && i > 0) {
			c->lo = sep_at(in, i - 1);
			lo = true;
		}
		if (!hi && i + 1 < in->n) {
			c->hi = sep_at(in, i);
			hi = true;
		}
	}
}

/* Forget the cursor: no key is in its (empty) bounds. */
static inline void
cursor_drop(struct idx_cursor *c)
{
	c->valid = false;
	c->lo = UINT64_MAX;
	c->hi = 0;
}

/*
 * Descend to the leaf where @key belongs from path level @from (0: the
 * root; else the cursor's path above @from is kept), recording the path.
 * The leaf's bounds come from the deepest levels that have them, found
 * after the descent rather than tracked at every level.
 */
static struct idx_leaf *
descend_from(struct idx *ix, unsigned from, uint64_t key)
{
	struct idx_cursor *c = &ix->cur;
	void *n = from ? c->node[from] : ix->root;
	unsigned inner = ix->height - 1;

	for (unsigned d = from; d < inner; d++) {
		struct idx_inner *in = n;
		unsigned i = key != UINT64_MAX ? inner_slot(in, key)
					       : inner_slot_max(in);

		c->node[d] = in;
		c->ci[d] = (unsigned char)i;
		n = in->child[i];
		/*
		 * Not the leaf: the leaf search reads every slot's address at
		 * once, which asks for both its lines anyway.
		 */
		if (d + 1 < inner)
			prefetch_inner(n);
	}
	c->leaf = n;
	c->pos = 0;
	c->valid = true;
	cursor_bounds(ix, c);
	return n;
}

static struct idx_leaf *
descend(struct idx *ix, uint64_t key)
{
	return descend_from(ix, 0, key);
}

static inline bool
cursor_covers(const struct idx_cursor *c, uint64_t key)
{
	/* a dropped cursor's bounds hold nothing */
	return c->lo <= key && key < c->hi;
}

/*
 * Does the subtree of the cursor's path node at level @k hold @key's
 * place? Its own first and last separators usually tell; past them, the
 * bounds come from the nearest ancestors that have them.
 */
static inline bool
level_covers(const struct idx_cursor *c, int k, uint64_t key)
{
	const struct idx_inner *in = c->node[k];
	int j;

	if (key < sep_at(in, 0)) {
		for (j = k - 1; j >= 0 && !c->ci[j]; j--)
			;
		if (j >= 0 && key < sep_at(c->node[j], c->ci[j] - 1u))
			return false;
	}
	if (key >= sep_at(in, in->n - 2)) {
		for (j = k - 1; j >= 0 && c->ci[j] + 1u == c->node[j]->n; j--)
			;
		if (j >= 0 && key >= sep_at(c->node[j], c->ci[j]))
			return false;
	}
	return true;
}

/*
 * The leaf where @key belongs, descending from the deepest of the cursor's
 * @levels path levels above its leaf (not the root) whose subtree covers
 * @key; NULL when none does. The cursor must be valid.
 */
static inline struct idx_leaf *
descend_near(struct idx *ix, uint64_t key, int levels)
{
	int k = (int)ix->height - 2, stop = k > levels ? k - levels : 0;

	for (; k > stop; k--)
		if (level_covers(&ix->cur, k, key))
			return descend_from(ix, (unsigned)k, key);
	return NULL;
}

/*
 * The leaf where @key belongs: the cursor's if it covers @key; else, when
 * the cursor's parent or grandparent covers it (binds walking pages in
 * order step into the next leaf), a descent from there; else one from the
 * root. Random keys never land near the cursor, so trying costs them a few
 * compares for nothing: a two-bit counter keeps trying while it pays, and
 * retries every 16th time.
 */
static inline struct idx_leaf *
leaf_for(struct idx *ix, uint64_t key)
{
	struct idx_cursor *c = &ix->cur;

	if (cursor_covers(c, key))
		return c->leaf;
	/* the counter first: random keys pass two tests, not four */
	if ((c->near || !(++c->probe & 15)) && c->valid) {
		struct idx_leaf *l = descend_near(ix, key, 2);

		if (l) {
			c->near += c->near < 3;
			return l;
		}
		c->near -= c->near > 0;
	}
	return descend(ix, key);
}

/*
 * The leaf where @key belongs, for a key expected near the cursor but not
 * in its leaf: from the parent when that covers it, else from the root.
 * Out of line, so that callers whose key usually is in the cursor's leaf
 * need no frame for this.
 */
static __attribute__((noinline)) struct idx_leaf *
leaf_near_slow(struct idx *ix, uint64_t key)
{
	struct idx_leaf *l = ix->cur.valid ? descend_near(ix, key, 1) : NULL;

	return l ? l : descend(ix, key);
}

/*
 * locate() when @item is not in the cursor's leaf: a list applied after
 * its plan walked into the next leaf finds it in a sibling.
 */
static __attribute__((noinline)) void
locate_slow(struct idx *ix, const void *item)
{
	int i = leaf_find_ptr(leaf_near_slow(ix, idx_key(item)), item);

	ix->cur.pos = i < 0 ? 0 : (unsigned)i;
}

/* Put the cursor on @item, which must be in the index. */
static void
locate(struct idx *ix, const void *item)
{
	struct idx_cursor *c = &ix->cur;
	int i;

	if (c->valid) {
		struct idx_leaf *l = c->leaf;
		unsigned p = c->pos;

		/* a walk's next item, or the one it just stepped past */
		if (l->slot[p] == item)
			return;
		if (p > 0 && l->slot[p - 1] == item) {
			c->pos = p - 1;
			return;
		}
		i = leaf_find_ptr(l, item);
		if (i >= 0) {
			c->pos = (unsigned)i;
			return;
		}
	}
	locate_slow(ix, item);
}

/* The leaf where @key belongs (NULL: empty index), and in *@n its count. */
static inline struct idx_leaf *
leaf_search(struct idx *ix, uint64_t key, unsigned *n)
{
	struct idx_leaf *l;

	if (!ix->root)
		return NULL;
	l = leaf_for(ix, key);
	*n = leaf_count_le(l, key);
	return l;
}

void *
idx_find_le(struct idx *ix, uint64_t key)
{
	unsigned n;
	struct idx_leaf *l = leaf_search(ix, key, &n);

	if (!l)
		return NULL;
	/* none: only in the leftmost leaf, since separators are exact */
	ix->cur.pos = n ? n - 1 : 0;
	return n ? l->slot[n - 1] : NULL;
}

void *
idx_find_from(struct idx *ix, uint64_t key)
{
	unsigned n;
	struct idx_leaf *l = leaf_search(ix, key, &n);

	if (!l)
		return NULL;
	if (n && key < idx_extent_end(l->slot[n - 1])) {
		ix->cur.pos = n - 1;
		return l->slot[n - 1];
	}
	/* the next item: in this leaf, or the first of the next one */
	if (n < l->n) {
		ix->cur.pos = n;
		return l->slot[n];
	}
	ix->cur.pos = n - 1;
	return cursor_step(ix, 1);
}

void *
idx_find(struct idx *ix, uint64_t key)
{
	void *it = idx_find_le(ix, key);

	return it && idx_key(it) == key ? it : NULL;
}

/* Move the cursor to the leftmost (dir 0) or rightmost (dir 1) item under level @k. */
static void *
cursor_edge_from(struct idx *ix, unsigned k, void *n, int dir)
{
	struct idx_cursor *c = &ix->cur;
	unsigned inner = ix->height - 1;

	for (; k < inner; k++) {
		struct idx_inner *in = n;
		unsigned i = dir ? in->n - 1 : 0;

		c->node[k] = in;
		c->ci[k] = (unsigned char)i;
		n = in->child[i];
	}
	c->leaf = n;
	c->pos = dir ? c->leaf->n - 1 : 0;
	c->valid = true;
	cursor_bounds(ix, c);
	return c->leaf->slot[c->pos];
}

void *
idx_first(struct idx *ix)
{
	return ix->root ? cursor_edge_from(ix, 0, ix->root, 0) : NULL;
}

void *
idx_last(struct idx *ix)
{
	return ix->root ? cursor_edge_from(ix, 0, ix->root, 1) : NULL;
}

/* Move the cursor one item in @dir (1: next); NULL past either end. */
static void *
cursor_step(struct idx *ix, int dir)
{
	struct idx_cursor *c = &ix->cur;
	int k;

	if (dir ? c->pos + 1 < c->leaf->n : c->pos > 0) {
		c->pos = dir ? c->pos + 1 : c->pos - 1;
		return c->leaf->slot[c->pos];
	}
	/* the deepest ancestor with a sibling subtree on that side */
	for (k = (int)ix->height - 2; k >= 0; k--)
		if (dir ? c->ci[k] + 1u < c->node[k]->n : c->ci[k] > 0)
			break;
	if (k < 0)
		return NULL;	/* the cursor stays where it was */
	c->ci[k] = (unsigned char)(dir ? c->ci[k] + 1 : c->ci[k] - 1);
	return cursor_edge_from(ix, (unsigned)k + 1, c->node[k]->child[c->ci[k]],
				!dir);
}

void *
idx_next(struct idx *ix, const void *item)
{
	struct idx_cursor *c = &ix->cur;

	/* a walk's usual step: on @item, with its successor in the leaf */
	if (c->valid && c->leaf->slot[c->pos] == item && c->pos + 1 < c->leaf->n)
		return c->leaf->slot[++c->pos];
	locate(ix, item);
	return cursor_step(ix, 1);
}

void *
idx_prev(struct idx *ix, const void *item)
{
	locate(ix, item);
	return cursor_step(ix, 0);
}

/*
 * The cursor's leaf now starts with key @key: fix the one separator that
 * names it (at the deepest level where the path did not go leftmost).
 */
static void
set_lo(struct idx *ix, uint64_t key)
{
	struct idx_cursor *c = &ix->cur;

	for (int k = (int)ix->height - 2; k >= 0; k--) {
		if (c->ci[k] > 0) {
			set_sep(c->node[k], c->ci[k] - 1u, key);
			c->lo = key;
			return;
		}
	}
}

/* ---- insert ---------------------------------------------------------------- */

/*
 * Insert child @r, with separator @sep, right of child @i of the node at
 * path level @k, splitting upwards as needed. True if any node split (the
 * cursor's path no longer holds).
 */
static bool
inner_insert(struct idx *ix, int k, unsigned i, uint64_t sep, void *r)
{
	struct idx_cursor *c = &ix->cur;

	for (;; k--) {
		struct idx_inner *in, *right, *root;
		uint64_t keys[IDX_FANOUT], seps[IDX_FANOUT - 1];
		void *kids[IDX_FANOUT + 1];
		unsigned n, left_n;

		if (k < 0) {
			/* the root split: a new root above both halves */
			root = take_inner(ix);
			root->n = 2;
			set_sep(root, 0, sep);
			root->child[0] = ix->root;
			root->child[1] = r;
			ix->root = root;
			ix->height++;
			return true;
		}
		in = c->node[k];
		n = in->n;
		seps_load(in, seps);
		if (n < IDX_FANOUT) {
			memmove(&in->child[i + 2], &in->child[i + 1],
				(n - i - 1) * sizeof(in->child[0]));
			memmove(&seps[i + 1], &seps[i], (n - 1 - i) * sizeof(seps[0]));
			in->child[i + 1] = r;
			seps[i] = sep;
			in->n = n + 1;
			seps_store(in, seps);
			return k < (int)ix->height - 2;
		}
		/* full: lay out all 17 children and 16 keys, then halve */
		memcpy(kids, in->child, (i + 1) * sizeof(void *));
		kids[i + 1] = r;
		memcpy(&kids[i + 2], &in->child[i + 1], (n - i - 1) * sizeof(void *));
		memcpy(keys, seps, i * sizeof(uint64_t));
		keys[i] = sep;
		memcpy(&keys[i + 1], &seps[i], (n - 1 - i) * sizeof(uint64_t));
		left_n = (IDX_FANOUT + 2) / 2;	/* 9 children stay */
		right = take_inner(ix);
		in->n = left_n;
		memcpy(in->child, kids, left_n * sizeof(void *));
		seps_store(in, keys);
		right->n = IDX_FANOUT + 1 - left_n;
		memcpy(right->child, &kids[left_n], right->n * sizeof(void *));
		seps_store(right, &keys[left_n]);
		/* keys[left_n - 1] moves up: the smallest key under right */
		sep = keys[left_n - 1];
		r = right;
		if (k > 0)
			i = c->ci[k - 1];
	}
}

/*
 * Full leaf @l (the cursor's) about to take @key in its middle: move a few
 * items to a sibling under the same parent that has room, instead of
 * splitting. Random inserts then fill leaves to about 80% instead of 70%,
 * two bytes less a mapping. Returns the leaf that now takes @key (the
 * cursor is moved onto it), or NULL when neither sibling has room.
 */
static struct idx_leaf *
spill(struct idx *ix, struct idx_leaf *l, uint64_t key)
{
	struct idx_cursor *c = &ix->cur;
	unsigned k = ix->height - 2;
	struct idx_inner *par = c->node[k];
	unsigned ci = c->ci[k];
	struct idx_leaf *sib;
	unsigned m;

	if (ci + 1 < par->n &&
	    (sib = par->child[ci + 1])->n + 2 <= IDX_LEAF_CAP) {
		/* l's last m items go to the front of its right sibling */
		m = (IDX_LEAF_CAP - sib->n) / 2;
		memmove(&sib->slot[m], sib->slot, sib->n * sizeof(void *));
		memcpy(sib->slot, &l->slot[l->n - m], m * sizeof(void *));
		sib->n += m;
		l->n -= m;
		leaf_pad(l);
		set_sep(par, ci, idx_key(sib->slot[0]));
		if (key > sep_at(par, ci)) {
			c->ci[k] = (unsigned char)(ci + 1);
			l = sib;
		}
	} else if (ci > 0 &&
		   (sib = par->child[ci - 1])->n + 2 <= IDX_LEAF_CAP) {
		/* l's first m items go to the end of its left sibling */
		m = (IDX_LEAF_CAP - sib->n) / 2;
		memcpy(&sib->slot[sib->n], l->slot, m * sizeof(void *));
		memmove(l->slot, &l->slot[m], (l->n - m) * sizeof(void *));
		sib->n += m;
		l->n -= m;
		leaf_pad(l);
		set_lo(ix, idx_key(l->slot[0]));
		if (key < sep_at(par, ci - 1)) {
			c->ci[k] = (unsigned char)(ci - 1);
			l = sib;
		}
	} else {
		return NULL;
	}
	c->leaf = l;
	cursor_bounds(ix, c);
	return l;
}

/*
 * Where @key goes in @l. Usually right after the cursor's item: a map op
 * inserts after the lookup that found its predecessor, a remap's tail
 * piece after its head. Two compares confirm it; else bisect.
 */
static inline unsigned
insert_pos(const struct idx_cursor *c, const struct idx_leaf *l, uint64_t key)
{
	unsigned p = c->pos;

	if (c->leaf == l && p < l->n) {
		uint64_t here = idx_key(l->slot[p]);

		if (here < key) {
			if (p + 1 == l->n || key < idx_key(l->slot[p + 1]))
				return p + 1;
		} else if (p == 0 || idx_key(l->slot[p - 1]) < key) {
			/* just before it: the cursor sits on a removed item's successor */
			return p;
		}
	}
	return leaf_count_le(l, key);
}

void
idx_insert(struct idx *ix, void *item)
{
	uint64_t key = idx_key(item);
	struct idx_leaf *l, *r;
	unsigned n, p, s;

	ix->count++;
	if (!ix->root) {
		l = take_leaf(ix);
		l->n = 1;
		l->slot[0] = item;
		ix->root = l;
		ix->height = 1;
		ix->cur.leaf = l;
		ix->cur.pos = 0;
		ix->cur.lo = 0;
		ix->cur.hi = UINT64_MAX;
		ix->cur.valid = true;
		return;
	}
	/* an insert follows the lookup that found its place: near the cursor */
	l = cursor_covers(&ix->cur, key) ? ix->cur.leaf : leaf_near_slow(ix, key);
	n = l->n;
	p = insert_pos(&ix->cur, l, key);
	if (n == IDX_LEAF_CAP && p + 1 < IDX_LEAF_CAP && p > 0 &&
	    ix->height > 1 && (r = spill(ix, l, key))) {
		l = r;
		n = l->n;
		p = leaf_count_le(l, key);
	}
	if (n < IDX_LEAF_CAP) {
		memmove(&l->slot[p + 1], &l->slot[p], (n - p) * sizeof(void *));
		l->slot[p] = item;
		l->n = n + 1;
		ix->cur.pos = p;
		return;
	}
	/*
	 * Split. Binds that walk pages in order insert at a leaf's end, or
	 * just before its last item (binding a page at the head of a NULL
	 * mapping puts it before the NULL tail); likewise at the start when
	 * walking down. Then the old leaf stays full and the new one takes
	 * one item, so in-order binding fills leaves instead of halving them.
	 */
	s = p + 1 >= IDX_LEAF_CAP ? IDX_LEAF_CAP : p == 0 ? 1 : (IDX_LEAF_CAP + 1) / 2;
	r = take_leaf(ix);
	if (p < s) {
		r->n = IDX_LEAF_CAP - (s - 1);
		memcpy(r->slot, &l->slot[s - 1], r->n * sizeof(void *));
		memmove(&l->slot[p + 1], &l->slot[p], (s - 1 - p) * sizeof(void *));
		l->slot[p] = item;
	} else {
		r->n = IDX_LEAF_CAP - s + 1;
		memcpy(r->slot, &l->slot[s], (p - s) * sizeof(void *));
		r->slot[p - s] = item;
		memcpy(&r->slot[p - s + 1], &l->slot[p],
		       (IDX_LEAF_CAP - p) * sizeof(void *));
	}
	l->n = s;
	leaf_pad(l);
	if (p == 0 && ix->height > 1)
		/* l's first item changed: it is the new one */
		set_lo(ix, key);
	if (inner_insert(ix, (int)ix->height - 2,
			 ix->height > 1 ? ix->cur.ci[ix->height - 2] : 0,
			 idx_key(r->slot[0]), r)) {
		/* the path changed shape: find the item again */
		ix->cur.pos = (unsigned)leaf_find_ptr(descend(ix, key), item);
		return;
	}
	/* only the parent gained a child: the path above still holds */
	if (p >= s) {
		ix->cur.ci[ix->height - 2]++;
		ix->cur.leaf = r;
		p -= s;
	}
	ix->cur.pos = p;
	cursor_bounds(ix, &ix->cur);
}

/* ---- remove ---------------------------------------------------------------- */

/* Drop child @i + 1 and separator @i of @in. */
static void
inner_drop(struct idx_inner *in, unsigned i)
{
	uint64_t s[IDX_FANOUT - 1];

	memmove(&in->child[i + 1], &in->child[i + 2],
		(in->n - i - 2) * sizeof(in->child[0]));
	seps_load(in, s);
	memmove(&s[i], &s[i + 1], (in->n - i - 2) * sizeof(s[0]));
	in->n--;
	seps_store(in, s);
}

/*
 * The cursor's leaf (child @i of @p, the path's last inner node) fell below
 * IDX_MIN_LEAF: merge it with a sibling, or even the two out. Returns true
 * when @p lost a child.
 */
static bool
leaf_rebalance(struct idx *ix, struct idx_inner *p, unsigned i)
{
	/* the pair: l and its right sibling, or its left one at the end */
	unsigned j = i + 1 < p->n ? i : i - 1;
	struct idx_leaf *a = p->child[j], *b = p->child[j + 1];
	unsigned total = a->n + b->n;

	if (total <= IDX_LEAF_CAP) {
		bool a_was_empty = a->n == 0;

		memcpy(&a->slot[a->n], b->slot, b->n * sizeof(void *));
		a->n = total;
		inner_drop(p, j);
		give_leaf(ix, b);
		/* a empty before: its first item is b's, so is its separator */
		if (a_was_empty)
			set_lo(ix, idx_key(a->slot[0]));
		return true;
	}
	/* even out: a gets total / 2 */
	if (a->n < total / 2) {
		unsigned m = total / 2 - a->n;

		memcpy(&a->slot[a->n], b->slot, m * sizeof(void *));
		memmove(b->slot, &b->slot[m], (b->n - m) * sizeof(void *));
		a->n += m;
		b->n -= m;
		leaf_pad(b);
	} else {
		unsigned m = a->n - total / 2;

		memmove(&b->slot[m], b->slot, b->n * sizeof(void *));
		memcpy(b->slot, &a->slot[a->n - m], m * sizeof(void *));
		a->n -= m;
		b->n += m;
		leaf_pad(a);
	}
	set_sep(p, j, idx_key(b->slot[0]));
	return false;
}

/*
 * Inner node @in at path level @k (not the root) fell below
 * IDX_MIN_FANOUT children: merge with a sibling under the parent, or move
 * children across. Returns true when the parent lost a child.
 */
static bool
inner_rebalance(struct idx *ix, unsigned k)
{
	struct idx_cursor *c = &ix->cur;
	struct idx_inner *p = c->node[k - 1];
	unsigned i = c->ci[k - 1];
	unsigned j = i + 1 < p->n ? i : i - 1;
	struct idx_inner *a = p->child[j], *b = p->child[j + 1];
	uint64_t sep = sep_at(p, j);	/* smallest key under b */
	uint64_t sa[IDX_FANOUT - 1], sb[IDX_FANOUT - 1];
	unsigned total = a->n + b->n;

	/* the separators in key order, stored back once the counts are set */
	seps_load(a, sa);
	seps_load(b, sb);
	if (total <= IDX_FANOUT) {
		sa[a->n - 1] = sep;
		memcpy(&sa[a->n], sb, (b->n - 1) * sizeof(uint64_t));
		memcpy(&a->child[a->n], b->child, b->n * sizeof(void *));
		a->n = total;
		seps_store(a, sa);
		inner_drop(p, j);
		give_inner(ix, b);
		return true;
	}
	if (a->n < total / 2) {
		/* b's first m children move to a's end */
		unsigned m = total / 2 - a->n;

		sa[a->n - 1] = sep;
		memcpy(&sa[a->n], sb, (m - 1) * sizeof(uint64_t));
		memcpy(&a->child[a->n], b->child, m * sizeof(void *));
		set_sep(p, j, sb[m - 1]);
		memmove(sb, &sb[m], (b->n - 1 - m) * sizeof(uint64_t));
		memmove(b->child, &b->child[m], (b->n - m) * sizeof(void *));
		a->n += m;
		b->n -= m;
	} else {
		/* a's last m children move to b's start */
		unsigned m = a->n - total / 2;

		memmove(&sb[m], sb, (b->n - 1) * sizeof(uint64_t));
		memmove(&b->child[m], b->child, b->n * sizeof(void *));
		sb[m - 1] = sep;
		memcpy(sb, &sa[a->n - m], (m - 1) * sizeof(uint64_t));
		memcpy(b->child, &a->child[a->n - m], m * sizeof(void *));
		set_sep(p, j, sa[a->n - m - 1]);
		a->n -= m;
		b->n += m;
	}
	seps_store(a, sa);
	seps_store(b, sb);
	return false;
}

void
idx_remove(struct idx *ix, const void *item)
{
	struct idx_cursor *c = &ix->cur;
	struct idx_leaf *l;
	unsigned p;
	int k;

	locate(ix, item);
	l = c->leaf;
	p = c->pos;
	memmove(&l->slot[p], &l->slot[p + 1], (l->n - p - 1) * sizeof(void *));
	l->slot[--l->n] = IDX_PAD;
	ix->count--;
	if (ix->height == 1) {
		if (!l->n) {
			give_leaf(ix, l);
			ix->root = NULL;
			ix->height = 0;
			cursor_drop(c);
		} else {
			c->pos = p < l->n ? p : l->n - 1;
		}
		return;
	}
	if (p == 0 && l->n)
		set_lo(ix, idx_key(l->slot[0]));
	if (l->n >= IDX_MIN_LEAF) {
		c->pos = p < l->n ? p : l->n - 1;
		return;
	}
	/* underflow: rebalance upwards while a node loses a child */
	k = (int)ix->height - 2;
	if (leaf_rebalance(ix, c->node[k], c->ci[k])) {
		for (; k > 0 && c->node[k]->n < IDX_MIN_FANOUT; k--)
			if (!inner_rebalance(ix, (unsigned)k))
				break;
		if (k == 0 && c->node[0]->n == 1) {
			/* the root has one child left: it becomes the root */
			struct idx_inner *old = c->node[0];

			ix->root = old->child[0];
			ix->height--;
			give_inner(ix, old);
		}
	}
	cursor_drop(c);
}

void
idx_replace(struct idx *ix, const void *old, void *new)
{
	struct idx_cursor *c = &ix->cur;

	locate(ix, old);
	c->leaf->slot[c->pos] = new;
	if (c->pos == 0 && idx_key(new) != idx_key(old))
		set_lo(ix, idx_key(new));
}

/* Give @n (a node at @level levels above the leaves) and all below it. */
static void
give_subtree(struct idx *ix, void *n, unsigned level)
{
	if (!level) {
		give_leaf(ix, n);
		return;
	}
	for (unsigned i = 0; i < ((struct idx_inner *)n)->n; i++)
		give_subtree(ix, ((struct idx_inner *)n)->child[i], level - 1);
	give_inner(ix, n);
}

void
idx_clear(struct idx *ix)
{
	if (ix->root)
		give_subtree(ix, ix->root, ix->height - 1);
	ix->root = NULL;
	ix->height = 0;
	ix->count = 0;
	cursor_drop(&ix->cur);
}

/* ---- warm ------------------------------------------------------------------ */

#define WARM_LANES 16

/* The leaf where @key belongs, reading only. */
static const struct idx_leaf *
leaf_of(const struct idx *ix, uint64_t key)
{
	const void *n = ix->root;

	for (unsigned k = 0; k + 1 < ix->height; k++)
		n = ((const struct idx_inner *)n)->child[key != UINT64_MAX ?
							  inner_slot(n, key) :
							  inner_slot_max(n)];
	return n;
}

void
idx_warm(const struct idx *ix, const uint64_t *keys, size_t n,
	 void (*hit)(const void *item))
{
	const struct idx_leaf *leaf[WARM_LANES];

	/*
	 * Lookups that keep landing next to the cursor (binds in address
	 * order) find their leaves in cache already: warming would only add
	 * a descent per request.
	 */
	if (!ix->root || ix->cur.near == 3)
		return;
	for (size_t base = 0; base < n; base += WARM_LANES) {
		size_t m = n - base < WARM_LANES ? n - base : WARM_LANES;

		/* the inner nodes are few and cached: find every leaf first */
		for (size_t i = 0; i < m; i++) {
			leaf[i] = leaf_of(ix, keys[base + i]);
			prefetch_leaf(leaf[i]);
		}
		/* then ask for their items, all of them in flight together */
		for (size_t i = 0; i < m; i++)
			for (unsigned s = 0; s < leaf[i]->n; s++)
				__builtin_prefetch(leaf[i]->slot[s]);
		if (!hit)
			continue;
		for (size_t i = 0; i < m; i++) {
			unsigned c = leaf_count_le(leaf[i], keys[base + i]);

			if (c && idx_key(leaf[i]->slot[c - 1]) == keys[base + i])
				hit(leaf[i]->slot[c - 1]);
		}
	}
}

/* ---- invariants -------------------------------------------------------------- */

struct check {
	const struct idx *ix;
	const char *why;
	size_t items;
	bool have_prev;
	uint64_t prev;		/* last key seen, in order */
};

static int
fail(struct check *ck, const char *why)
{
	ck->why = why;
	return -1;
}

/*
 * Check the subtree @n at level @level (0: root); its keys must be >= @lo
 * (when @has_lo) and < @hi (when @has_hi). *@min receives its smallest key.
 */
static int
check_node(struct check *ck, const void *n, unsigned level, bool has_lo,
	   uint64_t lo, bool has_hi, uint64_t hi, uint64_t *min)
{
	const struct idx *ix = ck->ix;
	bool root = level == 0;

	if (level + 1 == ix->height) {
		const struct idx_leaf *l = n;

		if (l->n < 1 || l->n > IDX_LEAF_CAP)
			return fail(ck, "leaf fill out of bounds");
		for (unsigned i = 0; i < l->n; i++) {
			uint64_t k;

			if (!l->slot[i])
				return fail(ck, "NULL item in a leaf");
			k = idx_key(l->slot[i]);
			if (ck->have_prev && k <= ck->prev)
				return fail(ck, "keys not strictly ascending");
			if ((has_lo && k < lo) || (has_hi && k >= hi))
				return fail(ck, "key outside its separators");
			ck->prev = k;
			ck->have_prev = true;
		}
		for (unsigned i = l->n; i < IDX_LEAF_CAP; i++)
			if (l->slot[i] != IDX_PAD)
				return fail(ck, "a leaf slot past its fill is not padding");
		ck->items += l->n;
		*min = idx_key(l->slot[0]);
		return 0;
	} else {
		const struct idx_inner *in = n;

		if (in->n < 2 || in->n > IDX_FANOUT ||
		    (!root && in->n < IDX_MIN_FANOUT))
			return fail(ck, "inner node fill out of bounds");
		for (unsigned i = in->n - 1; i < IDX_FANOUT - 1; i++)
			if (sep_at(in, i) != UINT64_MAX)
				return fail(ck, "separator padding not UINT64_MAX");
		for (unsigned i = 0; i < in->n; i++) {
			bool l_on = i > 0 ? true : has_lo;
			uint64_t l_k = i > 0 ? sep_at(in, i - 1) : lo;
			bool h_on = i + 1 < in->n ? true : has_hi;
			uint64_t h_k = i + 1 < in->n ? sep_at(in, i) : hi;
			uint64_t cmin = 0;

			if (!in->child[i])
				return fail(ck, "NULL child");
			if (check_node(ck, in->child[i], level + 1, l_on, l_k,
				       h_on, h_k, &cmin))
				return -1;
			if (i > 0 && cmin != sep_at(in, i - 1))
				return fail(ck, "separator is not the smallest key right of it");
			if (i == 0)
				*min = cmin;
		}
		return 0;
	}
}

static size_t
list_len(const void *p)
{
	size_t n = 0;

	for (; p; p = *(void *const *)p)
		n++;
	return n;
}

int
idx_check(const struct idx *ix, const char **why)
{
	struct check ck = { .ix = ix };
	const struct idx_cursor *c = &ix->cur;
	uint64_t min;

	if (why)
		*why = NULL;
	if (list_len(ix->spare_leaf) != ix->n_spare_leaf ||
	    list_len(ix->spare_inner) != ix->n_spare_inner) {
		ck.why = "spare counts wrong";
		goto bad;
	}
	if (!ix->root) {
		if (ix->height || ix->count) {
			ck.why = "empty index with height or count";
			goto bad;
		}
		return 0;
	}
	if (!ix->height || ix->height > IDX_MAX_LEVELS) {
		ck.why = "height out of bounds";
		goto bad;
	}
	if (check_node(&ck, ix->root, 0, false, 0, false, 0, &min))
		goto bad;
	if (ck.items != ix->count) {
		ck.why = "item count wrong";
		goto bad;
	}
	if (c->valid) {
		const void *n = ix->root;
		struct idx_cursor b = *c;

		for (unsigned k = 0; k + 1 < ix->height; k++) {
			if (c->node[k] != n || c->ci[k] >= c->node[k]->n) {
				ck.why = "cursor path broken";
				goto bad;
			}
			n = c->node[k]->child[c->ci[k]];
		}
		if (c->leaf != n || c->pos >= c->leaf->n) {
			ck.why = "cursor leaf or slot wrong";
			goto bad;
		}
		cursor_bounds(ix, &b);
		if (b.lo != c->lo || b.hi != c->hi) {
			ck.why = "cursor bounds stale";
			goto bad;
		}
	}
	return 0;
bad:
	if (why)
		*why = ck.why;
	return -1;
}
