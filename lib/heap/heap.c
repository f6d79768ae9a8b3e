/* SPDX-License-Identifier: MIT */
/*
 * The heap layer: GPU address allocation over free holes, in O(log n).
 *
 * Why: with VM_BIND every UMD picks its own GPU addresses. Mesa's
 * util_vma_heap keeps holes in a list and walks it on every alloc and free,
 * which is O(n) in the number of holes; a fragmented heap with 100,000 live
 * buffers makes each allocation walk thousands of holes. It costs one
 * 32-byte hole struct (48 bytes as malloc'd) per hole and nothing per
 * allocation, and it cannot tell a double free from a good one.
 *
 * How: the heap is a sequence of tiles (holes, allocations, reservations)
 * with no gap between them, so a tile is only its start and its kind, and
 * its size is the distance to the next start. The starts live in a B+tree
 * of 280-byte blocks. A leaf stores up to 62 starts as 32-bit offsets from
 * its base in units of 2^shift (a page, usually), or up to 31 full 64-bit
 * starts when they are too far apart for that, and two 64-bit masks for
 * the kinds: about 5 bytes per tile in a full leaf, where a hole struct and
 * an allocation record took 80. Inner nodes keep per child its first start
 * and its largest hole, so the search skips every child whose largest hole
 * is too small, and a free finds its allocation by address in one descent:
 * the tile must be an allocation, start at the address and have the size,
 * which is what catches a double free, a wrong size or a stray address.
 *
 * A call that adds tiles changes one leaf in place when it has room,
 * which is nearly always; else it plans the split, takes every block it
 * will need, and only then changes anything, so -ENOMEM leaves the heap as
 * it was. Removing tiles needs no memory: a leaf that falls below a
 * quarter merges with or borrows from a neighbour, and empty blocks are
 * freed, so the heap's memory follows its tiles down as well as up.
 *
 * Alignment: a hole of size >= size may still not fit once its start is
 * rounded up to the alignment (a "near miss"). The largest-hole values
 * cannot see that, so the search checks each candidate hole and moves on.
 * To keep the cost bounded it gives up when it meets more than
 * GPUVA_HEAP_SEARCH_BUDGET near misses and searches instead for holes of
 * size >= size + align - 1 (plus the no-span slack), which fit whatever
 * their offset: that search is O(log n) again. Only when no such hole
 * exists does it go through all near misses.
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
#include "heap_fit.h"

/*
 * A rejection keeps its format and arguments, not its text: the text is
 * written only when gpuva_heap_last_error() asks for it. Every format here
 * takes integers and static strings, HEAP_ERR_ARGS at most.
 */

/* Past the flags, width and precision of the conversion at @p (after '%'). */
static const char *
conv_skip(const char *p)
{
	while (*p && strchr("-+ #0123456789.", *p))
		p++;
	return p;
}

/* The length modifier at @p: 0, 'h', 'l', 'L' (ll), 'z' or 'j'; moves @p. */
static char
conv_len(const char **p)
{
	const char *q = *p;
	char m = 0;

	if (*q == 'h') {
		m = 'h';
		q += q[1] == 'h' ? 2 : 1;
	} else if (*q == 'l') {
		m = q[1] == 'l' ? 'L' : 'l';
		q += q[1] == 'l' ? 2 : 1;
	} else if (*q == 'z' || *q == 'j') {
		m = *q++;
	}
	*p = q;
	return m;
}

static const char *heap_format(const struct gpuva_heap *heap, char *text,
			       size_t size);

int
heap_reject(struct gpuva_heap *heap, int err, const char *fmt, ...)
{
	unsigned n = 0;
	va_list ap;

	va_start(ap, fmt);
	for (const char *p = fmt; (p = strchr(p, '%')) != NULL && n < HEAP_ERR_ARGS;) {
		char m, c;

		if (p[1] == '%') {
			p += 2;
			continue;
		}
		p = conv_skip(p + 1);
		m = conv_len(&p);
		c = *p++;
		if (c == 's')
			heap->err_arg[n++] = (uintptr_t)va_arg(ap, const char *);
		else if (m == 'l')
			heap->err_arg[n++] = va_arg(ap, unsigned long);
		else if (m == 'L')
			heap->err_arg[n++] = va_arg(ap, unsigned long long);
		else if (m == 'z')
			heap->err_arg[n++] = va_arg(ap, size_t);
		else if (m == 'j')
			heap->err_arg[n++] = va_arg(ap, uintmax_t);
		else if (c == 'd' || c == 'i')
			heap->err_arg[n++] = (uint64_t)(int64_t)va_arg(ap, int);
		else
			heap->err_arg[n++] = va_arg(ap, unsigned);
	}
	va_end(ap);
	heap->err_fmt = fmt;
	if (heap->log_fn) {
		/* not the thread's buffer: a text the caller holds stays */
		char text[HEAP_ERR_TEXT];

		heap->log_fn(heap->log_priv, heap_format(heap, text, sizeof(text)));
	}
	return err;
}

/* The text of the last rejection into @text (@size bytes); returns @text. */
static const char *
heap_format(const struct gpuva_heap *heap, char *text, size_t size)
{
	size_t at = 0;
	unsigned n = 0;

	text[0] = 0;
	if (!heap->err_fmt)
		return text;
	for (const char *p = heap->err_fmt; *p && at < size - 1;) {
		const char *q;
		char spec[16], m, c;
		uint64_t v;
		int w;

		if (*p != '%' || p[1] == '%') {
			text[at++] = *p;
			p += *p == '%' ? 2 : 1;
			continue;
		}
		q = conv_skip(p + 1);
		m = conv_len(&q);
		c = *q++;
		if ((size_t)(q - p) >= sizeof(spec) || n >= HEAP_ERR_ARGS)
			break;
		memcpy(spec, p, (size_t)(q - p));
		spec[q - p] = 0;
		v = heap->err_arg[n++];
		if (c == 's')
			w = snprintf(text + at, size - at, spec,
				     (const char *)(uintptr_t)v);
		else if (m == 'l')
			w = snprintf(text + at, size - at, spec, (unsigned long)v);
		else if (m == 'L')
			w = snprintf(text + at, size - at, spec,
				     (unsigned long long)v);
		else if (m == 'z')
			w = snprintf(text + at, size - at, spec, (size_t)v);
		else if (m == 'j')
			w = snprintf(text + at, size - at, spec, (uintmax_t)v);
		else if (c == 'd' || c == 'i')
			w = snprintf(text + at, size - at, spec, (int)(int64_t)v);
		else
			w = snprintf(text + at, size - at, spec, (unsigned)v);
		if (w < 0)
			break;
		at += (size_t)w < size - at ? (size_t)w : size - 1 - at;
		p = q;
	}
	text[at] = 0;
	return text;
}

const char *
gpuva_heap_last_error(const struct gpuva_heap *heap)
{
	static _Thread_local char text[HEAP_ERR_TEXT];

	return heap_format(heap, text, sizeof(text));
}

static inline uint64_t
max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* ---- blocks --------------------------------------------------------- */

/*
 * Every leaf and inner node is one HEAP_BLOCK_BYTES block from malloc. A
 * call that may need blocks takes them all into heap->pool first, and
 * gives back what it did not use before it returns: the heap keeps no
 * spare memory between calls.
 */

static void
pool_drain(struct gpuva_heap *heap)
{
	while (heap->pool) {
		void *b = heap->pool;

		heap->pool = *(void **)b;
		free(b);
	}
}

/* cold: kept out of line, so the callers' hot paths stay small */
static __attribute__((noinline)) int
pool_fill(struct gpuva_heap *heap, unsigned n)
{
	while (n--) {
		void *b = heap->fail_alloc ? NULL : malloc(HEAP_BLOCK_BYTES);

		if (!b) {
			pool_drain(heap);
			return -ENOMEM;
		}
		*(void **)b = heap->pool;
		heap->pool = b;
	}
	return 0;
}

/* A block from the pool, which pool_fill() made sure of. */
static void *
block_take(struct gpuva_heap *heap)
{
	void *b = heap->pool;

	heap->pool = *(void **)b;
	heap->blocks++;
	memset(b, 0, HEAP_BLOCK_BYTES);
	return b;
}

static void
block_free(struct gpuva_heap *heap, void *b)
{
	free(b);
	heap->blocks--;
}

/* ---- leaves --------------------------------------------------------- */

static inline bool
leaf_wide(const struct heap_leaf *l)
{
	return l->shift == HEAP_WIDE;
}

/* Start of tile @i. */
static inline uint64_t
lkey(const struct heap_leaf *l, unsigned i)
{
	if (leaf_wide(l))
		return l->key[i];
	return l->base + ((uint64_t)l->off[i] << l->shift);
}

/* Last byte of tile @i, the leaf's tiles ending at @hil. */
static inline uint64_t
tile_last(const struct heap_leaf *l, unsigned i, uint64_t hil)
{
	return i + 1 < l->n ? lkey(l, i + 1) - 1 : hil;
}

static inline bool
bit(uint64_t m, unsigned i)
{
	return (m >> i) & 1;
}

/*
 * The last of the sorted @v[0, n) that is <= @u, v[0] being so: a
 * branchless binary search, six steps for a full leaf.
 */
#define LAST_LE(v, n, u)						\
	do {								\
		unsigned lo_ = 0, len_ = (n);				\
									\
		while (len_ > 1) {					\
			unsigned half_ = len_ / 2;			\
									\
			lo_ = (v)[lo_ + half_] <= (u) ? lo_ + half_ : lo_; \
			len_ -= half_;					\
		}							\
		return lo_;						\
	} while (0)

/*
 * The tile containing @addr: the last one starting at or below it, which
 * the descent guarantees to exist (addr >= the leaf's first start).
 */
static inline unsigned
leaf_find(const struct heap_leaf *l, uint64_t addr)
{
	unsigned n = l->n;

	if (!leaf_wide(l)) {
		uint64_t d = (addr - l->base) >> l->shift;
		uint32_t u = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;

		LAST_LE(l->off, n, u);
	}
	LAST_LE(l->key, n, addr);
}

/* The smallest k with x < 2^k. */
static inline unsigned
bit_len(uint64_t x)
{
	return x ? 64u - (unsigned)__builtin_clzll(x) : 0u;
}

/*
 * The largest hole among the tiles, which end at @hil, the number of holes
 * that large in *count, bit_len() of the next size down in *below, and in
 * *where the first hole that large (untouched when there is none).
 */
static uint64_t
leaf_scan(const struct heap_leaf *l, uint64_t hil, unsigned *count,
	  unsigned *below, unsigned *where)
{
	unsigned last = l->n - 1u, c = 0;
	uint64_t h = l->hole, m = 0, second = 0;

	if (!leaf_wide(l)) {
		/*
		 * Narrow: the tiles before the last in units, a 32-bit
		 * difference each; the same order as their sizes.
		 */
		uint32_t um = 0, us = 0;
		unsigned uc = 0, uw = 0;

		for (h &= ~(UINT64_C(1) << last); h; h &= h - 1) {
			unsigned i = (unsigned)__builtin_ctzll(h);
			uint32_t d = l->off[i + 1] - l->off[i];

			if (d > um) {
				us = um;
				um = d;
				uc = 1;
				uw = i;
			} else if (d == um) {
				uc++;
			} else if (d > us) {
				us = d;
			}
		}
		m = (uint64_t)um << l->shift;
		second = (uint64_t)us << l->shift;
		c = uc;
		if (uc)
			*where = uw;
		h = l->hole & (UINT64_C(1) << last);
	}
	for (; h; h &= h - 1) {
		unsigned i = (unsigned)__builtin_ctzll(h);
		uint64_t size = tile_last(l, i, hil) - lkey(l, i) + 1;

		if (size > m) {
			second = m;
			m = size;
			c = 1;
			*where = i;
		} else if (size == m) {
			c++;
		} else {
			second = max_u64(second, size);
		}
	}
	*count = c;
	*below = bit_len(second);
	return m;
}

/* leaf_scan(), keeping the count and the bound in the leaf. */
static uint64_t
leaf_max(struct heap_leaf *l, uint64_t hil)
{
	unsigned c, b, w = 0;
	uint64_t m = leaf_scan(l, hil, &c, &b, &w);

	l->nmax = (uint8_t)c;
	l->below = (uint8_t)b;
	l->imax = (uint8_t)w;
	return m;
}

/*
 * Can @l take @add more tiles, starting at @k1 <= @k2 (the same key when
 * one), in place? A narrow leaf needs them on its grid (base + a multiple
 * of 2^shift) and within narrow_max units of its base.
 */
static inline bool
leaf_room(const struct gpuva_heap *heap, const struct heap_leaf *l,
	  unsigned add, uint64_t k1, uint64_t k2)
{
	uint64_t grid;

	if (leaf_wide(l))
		return l->n + add <= heap->wide_cap;
	grid = (UINT64_C(1) << l->shift) - 1;
	return l->n + add <= heap->leaf_cap && !((k1 - l->base) & grid) &&
	       !((k2 - l->base) & grid) &&
	       ((k2 - l->base) >> l->shift) <= heap->narrow_max;
}

/*
 * Make room for @k tiles at @at (leaf_room() said yes): the tiles from @at
 * on, their kind bits too, move @k slots up. The caller fills the slots
 * with leaf_set().
 */
static inline void
leaf_open(struct heap_leaf *l, unsigned at, unsigned k)
{
	unsigned n = l->n;
	uint64_t low = (UINT64_C(1) << at) - 1;

	if (!leaf_wide(l))
		memmove(&l->off[at + k], &l->off[at], (n - at) * sizeof(l->off[0]));
	else
		memmove(&l->key[at + k], &l->key[at], (n - at) * sizeof(l->key[0]));
	l->hole = (l->hole & low) | ((l->hole & ~low) << k);
	if (l->rsv)
		l->rsv = (l->rsv & low) | ((l->rsv & ~low) << k);
	if (l->imax >= at)
		l->imax = (uint8_t)(l->imax + k);
	l->n = (uint8_t)(n + k);
}

/* Slot @i, opened by leaf_open(), starts at @key: a hole or a used tile. */
static inline void
leaf_set(struct heap_leaf *l, unsigned i, uint64_t key, bool hole, bool rsv)
{
	if (!leaf_wide(l))
		l->off[i] = (uint32_t)((key - l->base) >> l->shift);
	else
		l->key[i] = key;
	l->hole |= (uint64_t)hole << i;
	l->rsv |= (uint64_t)rsv << i;
}

/* Remove @k tiles from @at, the later ones and their kind bits moving down. */
static inline void
leaf_close(struct heap_leaf *l, unsigned at, unsigned k)
{
	unsigned n = l->n;
	uint64_t low = (UINT64_C(1) << at) - 1;

	if (!leaf_wide(l))
		memmove(&l->off[at], &l->off[at + k], (n - at - k) * sizeof(l->off[0]));
	else
		memmove(&l->key[at], &l->key[at + k], (n - at - k) * sizeof(l->key[0]));
	l->hole = (l->hole & low) | ((l->hole >> k) & ~low);
	if (l->rsv)
		l->rsv = (l->rsv & low) | ((l->rsv >> k) & ~low);
	if (l->imax >= at + k)
		l->imax = (uint8_t)(l->imax - k);
	l->n = (uint8_t)(n - k);
}

/*
 * Tiles decoded from one or two leaves, for the rare changes that
 * re-encode leaves: splits, merges, a start off a leaf's grid.
 */
enum { T_HOLE, T_ALLOC, T_RSV };

struct tiles {
	unsigned n;
	uint64_t key[2 * HEAP_LEAF_NARROW + 2];
	uint8_t kind[2 * HEAP_LEAF_NARROW + 2];
};

static void
tiles_add_leaf(struct tiles *t, const struct heap_leaf *l)
{
	for (unsigned i = 0; i < l->n; i++, t->n++) {
		t->key[t->n] = lkey(l, i);
		t->kind[t->n] = bit(l->hole, i) ? T_HOLE :
				bit(l->rsv, i) ? T_RSV : T_ALLOC;
	}
}

/*
 * How tiles [a, b) of @t go into one leaf: the narrow shift, the largest
 * up to HEAP_SHIFT_MAX that puts every start on the first one's grid
 * within narrow_max units; HEAP_WIDE for 64-bit starts; HEAP_NO_FIT when
 * they fit neither way.
 */
#define HEAP_NO_FIT 0xfe

static unsigned
tiles_format(const struct gpuva_heap *heap, const struct tiles *t, unsigned a,
	     unsigned b)
{
	unsigned s = HEAP_SHIFT_MAX;

	if (b - a <= heap->leaf_cap) {
		for (unsigned i = a + 1; i < b; i++) {
			unsigned z = (unsigned)__builtin_ctzll(t->key[i] - t->key[a]);

			s = z < s ? z : s;
		}
		if (((t->key[b - 1] - t->key[a]) >> s) <= heap->narrow_max)
			return s;
	}
	return b - a <= heap->wide_cap ? HEAP_WIDE : HEAP_NO_FIT;
}

static bool
tiles_fit(const struct gpuva_heap *heap, const struct tiles *t, unsigned a,
	  unsigned b)
{
	return tiles_format(heap, t, a, b) != HEAP_NO_FIT;
}

/* Write tiles [a, b), which fit (tiles_fit()), into leaf @l. */
static void
tiles_store(const struct gpuva_heap *heap, const struct tiles *t, unsigned a,
	    unsigned b, struct heap_leaf *l)
{
	unsigned s = tiles_format(heap, t, a, b);

	if (s == HEAP_NO_FIT)
		abort();	/* the caller planned with tiles_fit() */
	memset(l, 0, HEAP_LEAF_HEAD);
	l->n = (uint8_t)(b - a);
	l->shift = (uint8_t)s;
	l->base = t->key[a];
	for (unsigned i = a; i < b; i++) {
		if (s == HEAP_WIDE)
			l->key[i - a] = t->key[i];
		else
			l->off[i - a] = (uint32_t)((t->key[i] - t->key[a]) >> s);
		l->hole |= (uint64_t)(t->kind[i] == T_HOLE) << (i - a);
		l->rsv |= (uint64_t)(t->kind[i] == T_RSV) << (i - a);
	}
}

/* ---- paths ---------------------------------------------------------- */

/* The child of @in that holds @addr (>= in->key[0]). */
static inline unsigned
inner_find(const struct heap_inner *in, uint64_t addr)
{
	unsigned j = 0;

	while (j + 1u < in->n && in->key[j + 1] <= addr)
		j++;
	return j;
}

/* Last byte of child @j of @in, which ends at @hil. */
static inline uint64_t
child_hil(const struct heap_inner *in, unsigned j, uint64_t hil)
{
	return j + 1u < in->n ? in->key[j + 1] - 1 : hil;
}

static uint64_t
inner_max(const struct heap_inner *in)
{
	uint64_t m = 0;

	for (unsigned j = 0; j < in->n; j++)
		m = max_u64(m, in->max[j]);
	return m;
}

/* Descend to the leaf holding @addr (in the heap). */
static struct heap_leaf *
descend(const struct gpuva_heap *heap, uint64_t addr, struct heap_path *p)
{
	void *n = heap->root;
	uint64_t hil = heap->last;

	for (unsigned lv = 0; lv < heap->depth; lv++) {
		struct heap_inner *in = n;
		unsigned j = inner_find(in, addr);

		p->node[lv] = in;
		p->idx[lv] = (uint8_t)j;
		p->hil[lv] = hil;
		hil = child_hil(in, j, hil);
		n = in->child[j];
	}
	p->hil[heap->depth] = hil;
	p->leaf = n;
	return n;
}

/* The largest hole of the node at level @lv of @p, as its parent has it. */
static uint64_t
path_max(const struct gpuva_heap *heap, const struct heap_path *p, unsigned lv)
{
	return lv ? p->node[lv - 1]->max[p->idx[lv - 1]] : heap->largest;
}

/*
 * The node at level @lv of @p now has @m as its largest hole: store it in
 * its parent and redo the values above, stopping at the first that does
 * not change (none above it can).
 */
static void
path_set_max(struct gpuva_heap *heap, const struct heap_path *p, unsigned lv,
	     uint64_t m)
{
	while (lv-- > 0) {
		struct heap_inner *in = p->node[lv];
		uint64_t *slot = &in->max[p->idx[lv]];

		if (*slot == m)
			return;
		if (m > *slot) {
			/* the node's largest rises to m, if it was below */
			*slot = m;
			if (m <= path_max(heap, p, lv))
				return;
		} else {
			*slot = m;
			m = inner_max(in);
		}
	}
	heap->largest = m;
}

/* Redo the largest hole of @p's leaf and above. */
static void
path_refresh(struct gpuva_heap *heap, const struct heap_path *p)
{
	path_set_max(heap, p, heap->depth,
		     leaf_max(p->leaf, p->hil[heap->depth]));
}

/* The first start under child idx[lv] of @p changed to @key: tell the ancestors. */
static void
path_set_key(const struct heap_path *p, unsigned lv, uint64_t key)
{
	while (lv-- > 0) {
		p->node[lv]->key[p->idx[lv]] = key;
		if (p->idx[lv])
			return;
	}
}

/* ---- lifecycle ------------------------------------------------------ */

int
heap_tree_init(struct gpuva_heap *heap)
{
	struct heap_leaf *l = heap->fail_alloc ? NULL : calloc(1, HEAP_BLOCK_BYTES);
	uint64_t range = heap->last - heap->start + 1;

	if (!l)
		return -ENOMEM;
	/* one tile: the whole range, a hole */
	l->n = 1;
	l->shift = HEAP_SHIFT_MAX;
	l->base = heap->start;
	l->hole = 1;
	l->nmax = 1;
	heap->root = l;
	heap->depth = 0;
	heap->pool = NULL;
	heap->blocks = 1;
	heap->largest = range;
	heap->free_bytes = range;
	heap->allocated_bytes = heap->reserved_bytes = 0;
	heap->holes = 1;
	heap->allocations = heap->reservations = 0;
	return 0;
}

int
gpuva_heap_create(uint64_t start, uint64_t range, struct gpuva_heap **out)
{
	struct gpuva_heap *heap;

	if (!out || range == 0 || start > UINT64_MAX - (range - 1))
		return -EINVAL;
	heap = calloc(1, sizeof(*heap));
	if (!heap)
		return -ENOMEM;
	heap->leaf_cap = HEAP_LEAF_NARROW;
	heap->wide_cap = HEAP_LEAF_WIDE;
	heap->inner_cap = HEAP_INNER_MAX;
	heap->narrow_max = UINT32_MAX;
	heap->flat_max = HEAP_FLAT_MAX;
	heap->start = start;
	heap->last = last_of(start, range);
	heap->free_bytes = range;
	heap->holes = 1;
	if (flat_init(heap)) {
		free(heap);
		return -ENOMEM;
	}
	*out = heap;
	return 0;
}

static void
free_node(struct gpuva_heap *heap, void *n, unsigned lv)
{
	if (lv < heap->depth) {
		struct heap_inner *in = n;

		for (unsigned j = 0; j < in->n; j++)
			free_node(heap, in->child[j], lv + 1);
	}
	free(n);
}

void
heap_tree_fini(struct gpuva_heap *heap)
{
	free_node(heap, heap->root, 0);
	heap->root = NULL;
	heap->depth = 0;
	heap->blocks = 0;
}

void
gpuva_heap_destroy(struct gpuva_heap *heap)
{
	if (!heap)
		return;
	if (heap_is_flat(heap))
		flat_fini(heap);
	else
		heap_tree_fini(heap);
	free(heap);
}

void
gpuva_heap_set_log_fn(struct gpuva_heap *heap, gpuva_log_fn fn,
		      void *priv)
{
	heap->log_fn = fn;
	heap->log_priv = priv;
}

/* ---- splitting ------------------------------------------------------ */

/*
 * Insert @c new children (@ch, their first starts @key and largest holes
 * @max) after child idx[lv] of node[lv] on @p, whose own child now has
 * @m0 as its largest hole. A full node splits in two, and its new half
 * goes into the parent the same way, up to a new root. Blocks come from
 * the pool (leaf_rewrite() counted them).
 */
static void
inner_insert(struct gpuva_heap *heap, const struct heap_path *p, unsigned lv,
	     uint64_t m0, void *const *ch, const uint64_t *key,
	     const uint64_t *max, unsigned c)
{
	struct heap_inner *in = p->node[lv], *r;
	unsigned j = p->idx[lv], n = in->n, total = n + c, h;
	uint64_t k[2 * HEAP_INNER_MAX], mx[2 * HEAP_INNER_MAX];
	void *cp[2 * HEAP_INNER_MAX];

	/* the children in order, the new ones after j */
	memcpy(k, in->key, (j + 1) * sizeof(k[0]));
	memcpy(mx, in->max, (j + 1) * sizeof(mx[0]));
	memcpy(cp, in->child, (j + 1) * sizeof(cp[0]));
	mx[j] = m0;
	memcpy(&k[j + 1], key, c * sizeof(k[0]));
	memcpy(&mx[j + 1], max, c * sizeof(mx[0]));
	memcpy(&cp[j + 1], ch, c * sizeof(cp[0]));
	memcpy(&k[j + 1 + c], &in->key[j + 1], (n - j - 1) * sizeof(k[0]));
	memcpy(&mx[j + 1 + c], &in->max[j + 1], (n - j - 1) * sizeof(mx[0]));
	memcpy(&cp[j + 1 + c], &in->child[j + 1], (n - j - 1) * sizeof(cp[0]));

	h = total <= heap->inner_cap ? total : (total + 1) / 2;
	in->n = (uint8_t)h;
	memcpy(in->key, k, h * sizeof(k[0]));
	memcpy(in->max, mx, h * sizeof(mx[0]));
	memcpy(in->child, cp, h * sizeof(cp[0]));
	if (h == total) {
		path_set_max(heap, p, lv, inner_max(in));
		return;
	}
	r = block_take(heap);
	memset(r, 0, sizeof(*r));
	r->n = (uint8_t)(total - h);
	memcpy(r->key, &k[h], r->n * sizeof(k[0]));
	memcpy(r->max, &mx[h], r->n * sizeof(mx[0]));
	memcpy(r->child, &cp[h], r->n * sizeof(cp[0]));
	if (lv > 0) {
		uint64_t rm = inner_max(r);
		void *rc = r;

		inner_insert(heap, p, lv - 1, inner_max(in), &rc, &r->key[0], &rm, 1);
		return;
	}
	/* a new root over the two halves */
	{
		struct heap_inner *root = block_take(heap);

		memset(root, 0, sizeof(*root));
		root->n = 2;
		root->key[0] = in->key[0];
		root->key[1] = r->key[0];
		root->max[0] = inner_max(in);
		root->max[1] = inner_max(r);
		root->child[0] = in;
		root->child[1] = r;
		heap->root = root;
		heap->depth++;
		heap->largest = max_u64(root->max[0], root->max[1]);
	}
}

/*
 * Where tiles @t split into leaves: 1, 2 or 3 pieces, cut[k] the first
 * tile of piece k and cut[pieces] = t->n; 0 when they do not go into
 * @most pieces. A piece that ends the tiles gets them all but two when
 * @append (tiles added at a leaf's end, as a heap filling upwards does),
 * so that leaves filled in address order stay full.
 */
static unsigned
plan(const struct gpuva_heap *heap, const struct tiles *t, bool append,
     unsigned most, unsigned cut[4])
{
	unsigned n = t->n;

	cut[0] = 0;
	if (tiles_fit(heap, t, 0, n)) {
		cut[1] = n;
		return 1;
	}
	for (int k = append ? 0 : 1; k < 2 && most >= 2; k++) {
		unsigned c = k == 0 ? n - 2 : n / 2;

		if (tiles_fit(heap, t, 0, c) && tiles_fit(heap, t, c, n)) {
			cut[1] = c;
			cut[2] = n;
			return 2;
		}
	}
	if (most >= 3 && tiles_fit(heap, t, 0, n / 3) &&
	    tiles_fit(heap, t, n / 3, 2 * n / 3) &&
	    tiles_fit(heap, t, 2 * n / 3, n)) {
		cut[1] = n / 3;
		cut[2] = 2 * n / 3;
		cut[3] = n;
		return 3;
	}
	return 0;
}

/*
 * Replace the leaf at the end of @p with tiles @t: in place when they fit
 * one leaf, else split into new leaves, which go into the parent (and may
 * split it, up to a new root). Takes every block it needs before it
 * changes anything: 0, or -ENOMEM with the heap as it was.
 */
static int
leaf_rewrite(struct gpuva_heap *heap, const struct heap_path *p,
	     const struct tiles *t, bool append)
{
	unsigned cut[4], pieces, need, add, depth = heap->depth;
	struct heap_leaf *piece[3];
	uint64_t key[3], max[3], hil = p->hil[depth];
	int err;

	pieces = plan(heap, t, append, 3, cut);
	if (!pieces)
		abort();	/* at most leaf_cap + 2 tiles: thirds always fit */
	/* blocks: the new leaves, a half per full inner node above, a root */
	need = add = pieces - 1;
	for (unsigned lv = depth; add && lv-- > 0;) {
		if (p->node[lv]->n + add > heap->inner_cap) {
			need++;
			add = 1;
		} else {
			add = 0;
		}
	}
	need += add;
	if (need && (err = pool_fill(heap, need)) != 0)
		return err;

	piece[0] = p->leaf;
	for (unsigned k = 1; k < pieces; k++)
		piece[k] = block_take(heap);
	for (unsigned k = 0; k < pieces; k++) {
		tiles_store(heap, t, cut[k], cut[k + 1], piece[k]);
		key[k] = t->key[cut[k]];
		max[k] = leaf_max(piece[k], k + 1 < pieces ?
				  t->key[cut[k + 1]] - 1 : hil);
	}
	if (pieces == 1) {
		path_set_max(heap, p, depth, max[0]);
	} else if (depth > 0) {
		inner_insert(heap, p, depth - 1, max[0], (void **)&piece[1],
			     &key[1], &max[1], pieces - 1);
	} else {
		struct heap_inner *root = block_take(heap);

		memset(root, 0, sizeof(*root));
		root->n = (uint8_t)pieces;
		for (unsigned k = 0; k < pieces; k++) {
			root->key[k] = key[k];
			root->max[k] = max[k];
			root->child[k] = piece[k];
		}
		heap->root = root;
		heap->depth = 1;
		heap->largest = inner_max(root);
	}
	pool_drain(heap);	/* nothing left, unless inner_insert() needed fewer */
	return 0;
}

/* ---- carving -------------------------------------------------------- */

/*
 * carve() when the leaf cannot take the new tiles in place: decode it,
 * cut the hole [s, e] there, and let leaf_rewrite() split or re-encode.
 */
static __attribute__((noinline)) int
carve_slow(struct gpuva_heap *heap, const struct heap_path *p, unsigned i,
	   uint64_t s, uint64_t e, uint64_t x, uint64_t size, enum heap_kind kind)
{
	uint8_t k = kind == HEAP_KIND_ALLOC ? T_ALLOC : T_RSV;
	bool right = last_of(x, size) < e;
	struct tiles t;
	unsigned n;

	t.n = 0;
	tiles_add_leaf(&t, p->leaf);
	/* tiles after i move up to make room for the pieces of the hole */
	n = (x > s) + 1 + right;
	memmove(&t.key[i + n], &t.key[i + 1], (t.n - i - 1) * sizeof(t.key[0]));
	memmove(&t.kind[i + n], &t.kind[i + 1], (t.n - i - 1) * sizeof(t.kind[0]));
	t.n += n - 1;
	if (x > s)
		i++;		/* the hole's left part stays at i */
	t.key[i] = x;
	t.kind[i] = k;
	if (right) {
		t.key[i + 1] = x + size;
		t.kind[i + 1] = T_HOLE;
		i++;
	}
	return leaf_rewrite(heap, p, &t, i + 1 == t.n);
}

/*
 * A hole of @p's leaf's largest size shrank to parts of @lp and @rp bytes
 * (0: none), tiles @li and @ri. The parts are smaller, so the largest stays while another
 * hole has it; else the bigger part is the new largest if the other holes
 * are known to be below it; else the leaf is scanned.
 */
static void
shrink_largest(struct gpuva_heap *heap, const struct heap_path *p,
	       uint64_t lp, uint64_t rp, unsigned li, unsigned ri)
{
	struct heap_leaf *l = p->leaf;
	uint64_t big = max_u64(lp, rp), small = lp < rp ? lp : rp;

	if (--l->nmax) {
		l->below = (uint8_t)max_u64(l->below, bit_len(big));
		return;
	}
	if (l->below < 64 && big >= UINT64_C(1) << l->below) {
		l->imax = (uint8_t)(lp >= rp ? li : ri);
		l->nmax = (uint8_t)(1 + (small == big));
		if (small != big)
			l->below = (uint8_t)max_u64(l->below, bit_len(small));
		path_set_max(heap, p, heap->depth, big);
		return;
	}
	path_refresh(heap, p);
}

/*
 * Record [x, x + size), which lies inside hole @i = [s, e] of @p's leaf,
 * as used (@kind), and cut it out of that hole: up to two new tiles, the
 * used one and the hole's right part. 0, or -ENOMEM with the heap
 * unchanged.
 */
static int
carve(struct gpuva_heap *heap, const struct heap_path *p, unsigned i,
      uint64_t s, uint64_t e, uint64_t x, uint64_t size, enum heap_kind kind)
{
	struct heap_leaf *l = p->leaf;
	uint64_t xl = last_of(x, size);
	bool left = x > s, right = xl < e, rsv = kind != HEAP_KIND_ALLOC;

	if (!left && !right) {
		/* the hole becomes the tile: no start changes */
		l->hole &= ~(UINT64_C(1) << i);
		l->rsv |= (uint64_t)rsv << i;
		heap->holes--;
	} else if (leaf_room(heap, l, left + right, left ? x : xl + 1,
			     right ? xl + 1 : x)) {
		leaf_open(l, i + 1, left + right);
		if (left) {
			leaf_set(l, i + 1, x, false, rsv);
		} else {
			l->hole &= ~(UINT64_C(1) << i);
			l->rsv |= (uint64_t)rsv << i;
		}
		if (right)
			leaf_set(l, i + 1 + left, xl + 1, true, false);
		heap->holes += left && right;
	} else {
		int err = carve_slow(heap, p, i, s, e, x, size, kind);

		if (err)
			return err;
		heap->holes += left && right;
		goto counted;	/* leaf_rewrite() redid the largest holes */
	}
	if (e - s + 1 == path_max(heap, p, heap->depth))
		shrink_largest(heap, p, left ? x - s : 0, right ? e - xl : 0,
			       i, i + 1 + left);
counted:
	count_used(heap, size, kind, 1);
	if (kind == HEAP_KIND_KERNEL) {
		heap->kernel_addr = x;
		heap->has_kernel = true;
	}
	return 0;
}

/* ---- removing tiles ------------------------------------------------- */

static unsigned
leaf_min(const struct gpuva_heap *heap)
{
	return heap->leaf_cap / 4 ? heap->leaf_cap / 4u : 1u;
}

static unsigned
inner_min(const struct gpuva_heap *heap)
{
	return heap->inner_cap / 3 > 2 ? heap->inner_cap / 3u : 2u;
}

static void rebalance(struct gpuva_heap *heap, struct heap_path *p, unsigned lv);

/*
 * Child idx[lv] of node[lv] on @p is gone (freed by the caller): drop it
 * from the node, and keep the node's first start, its largest hole and
 * its size right.
 */
static void
inner_drop(struct gpuva_heap *heap, struct heap_path *p, unsigned lv)
{
	struct heap_inner *in = p->node[lv];
	unsigned j = p->idx[lv], rest = in->n - j - 1u;

	memmove(&in->key[j], &in->key[j + 1], rest * sizeof(in->key[0]));
	memmove(&in->max[j], &in->max[j + 1], rest * sizeof(in->max[0]));
	memmove(&in->child[j], &in->child[j + 1], rest * sizeof(in->child[0]));
	in->n--;
	if (j == 0)
		path_set_key(p, lv, in->key[0]);
	path_set_max(heap, p, lv, inner_max(in));
	rebalance(heap, p, lv);
}

/*
 * Leaves @a and @a + 1 of @par (the second ending at @hil) as one leaf,
 * or two even ones: 1 when they became one (the caller drops the second
 * and frees it), 0 otherwise. Out of line, so that the tiles it decodes
 * into are not on the stack of every level rebalance() climbs.
 */
static __attribute__((noinline)) int
leaf_pair(struct gpuva_heap *heap, struct heap_inner *par, unsigned a,
	  uint64_t hil)
{
	struct heap_leaf *la = par->child[a], *lb = par->child[a + 1];
	unsigned cut[4];
	struct tiles t;

	t.n = 0;
	tiles_add_leaf(&t, la);
	tiles_add_leaf(&t, lb);
	switch (plan(heap, &t, false, 2, cut)) {
	case 1:
		tiles_store(heap, &t, 0, t.n, la);
		par->max[a] = leaf_max(la, hil);
		return 1;
	case 2:
		tiles_store(heap, &t, 0, cut[1], la);
		tiles_store(heap, &t, cut[1], t.n, lb);
		par->key[a + 1] = t.key[cut[1]];
		par->max[a] = leaf_max(la, t.key[cut[1]] - 1);
		par->max[a + 1] = leaf_max(lb, hil);
		return 0;
	default:
		return 0;	/* the starts do not fit: leave them */
	}
}

/*
 * Inner nodes @a and @a + 1 of @par as one node, or two even ones: 1 when
 * they became one, as leaf_pair().
 */
static int
inner_pair(const struct gpuva_heap *heap, struct heap_inner *par, unsigned a)
{
	struct heap_inner *na = par->child[a], *nb = par->child[a + 1];
	unsigned total = na->n + nb->n, h;
	uint64_t k[2 * HEAP_INNER_MAX], mx[2 * HEAP_INNER_MAX];
	void *cp[2 * HEAP_INNER_MAX];

	memcpy(k, na->key, na->n * sizeof(k[0]));
	memcpy(&k[na->n], nb->key, nb->n * sizeof(k[0]));
	memcpy(mx, na->max, na->n * sizeof(mx[0]));
	memcpy(&mx[na->n], nb->max, nb->n * sizeof(mx[0]));
	memcpy(cp, na->child, na->n * sizeof(cp[0]));
	memcpy(&cp[na->n], nb->child, nb->n * sizeof(cp[0]));
	h = total <= heap->inner_cap ? total : total / 2;
	na->n = (uint8_t)h;
	memcpy(na->key, k, h * sizeof(k[0]));
	memcpy(na->max, mx, h * sizeof(mx[0]));
	memcpy(na->child, cp, h * sizeof(cp[0]));
	par->max[a] = inner_max(na);
	if (h == total)
		return 1;
	nb->n = (uint8_t)(total - h);
	memcpy(nb->key, &k[h], nb->n * sizeof(k[0]));
	memcpy(nb->max, &mx[h], nb->n * sizeof(mx[0]));
	memcpy(nb->child, &cp[h], nb->n * sizeof(cp[0]));
	par->key[a + 1] = nb->key[0];
	par->max[a + 1] = inner_max(nb);
	return 0;
}

/*
 * Merge the node at level @lv of @p with a neighbour, or even them out,
 * when it has fallen below a quarter (leaves) or a third (inner nodes) of
 * its capacity. Never needs memory; blocks it empties are freed. A root
 * with one child gives way to it.
 */
static void
rebalance(struct gpuva_heap *heap, struct heap_path *p, unsigned lv)
{
	struct heap_inner *par;
	unsigned a;
	void *gone;

	if (lv == 0) {
		struct heap_inner *root = heap->root;

		if (heap->depth && root->n == 1) {
			heap->root = root->child[0];
			heap->depth--;
			block_free(heap, root);
		}
		return;
	}
	par = p->node[lv - 1];
	if (lv == heap->depth ? p->leaf->n >= leaf_min(heap) :
	    p->node[lv]->n >= inner_min(heap))
		return;
	/* the pair: with the right neighbour, or the left one for the last */
	a = p->idx[lv - 1] + 1u < par->n ? p->idx[lv - 1] : p->idx[lv - 1] - 1u;
	gone = par->child[a + 1];
	if (lv == heap->depth ?
	    leaf_pair(heap, par, a, child_hil(par, a + 1, p->hil[lv - 1])) :
	    inner_pair(heap, par, a)) {
		block_free(heap, gone);
		p->idx[lv - 1] = (uint8_t)(a + 1);
		inner_drop(heap, p, lv - 1);
		return;
	}
	path_set_max(heap, p, lv - 1, inner_max(par));
}

/*
 * Remove the tile starting at @key, which is not the heap's first: the
 * tile before it grows over it. A leaf's first start changing goes up to
 * its ancestors, an emptied leaf is freed, a small one rebalanced. The
 * caller redoes the largest hole of the leaf that holds the grown tile.
 */
static void
delete_key(struct gpuva_heap *heap, uint64_t key)
{
	struct heap_path p;
	struct heap_leaf *l = descend(heap, key, &p);
	unsigned i = leaf_find(l, key), depth = heap->depth;

	leaf_close(l, i, 1);
	if (l->n == 0) {
		block_free(heap, l);
		inner_drop(heap, &p, depth - 1);	/* the root has the first tile */
		return;
	}
	if (i == 0)
		path_set_key(&p, depth, lkey(l, 0));
	path_refresh(heap, &p);
	rebalance(heap, &p, depth);
}

/* Is there a hole starting exactly at @key? */
static bool
hole_starts_at(const struct gpuva_heap *heap, uint64_t key)
{
	struct heap_path p;
	struct heap_leaf *l = descend(heap, key, &p);
	unsigned i = leaf_find(l, key);

	return lkey(l, i) == key && bit(l->hole, i);
}

/*
 * release() when the tile merges with a hole in another leaf and
 * release_prev() cannot do it: turn the tile into a hole, then remove the
 * starts that merging takes away, each by its own descent. Rare: a leaf's
 * last tile before a hole, or a merge that would empty a leaf.
 */
static __attribute__((noinline)) void
release_slow(struct gpuva_heap *heap, uint64_t a, uint64_t e)
{
	struct heap_path p;
	struct heap_leaf *l = descend(heap, a, &p);
	unsigned i = leaf_find(l, a);
	uint64_t hs = a;
	bool mn, mp;

	l->hole |= UINT64_C(1) << i;
	l->rsv &= ~(UINT64_C(1) << i);
	heap->holes++;
	mn = e != heap->last && hole_starts_at(heap, e + 1);
	if (a != heap->start) {
		struct heap_leaf *pl = descend(heap, a - 1, &p);
		unsigned pi = leaf_find(pl, a - 1);

		mp = bit(pl->hole, pi);
		if (mp)
			hs = lkey(pl, pi);
	} else {
		mp = false;
	}
	if (mn) {
		delete_key(heap, e + 1);
		heap->holes--;
	}
	if (mp) {
		delete_key(heap, a);
		heap->holes--;
	}
	descend(heap, hs, &p);
	path_refresh(heap, &p);
}

/*
 * The leaf after (@next) or before @p's leaf: up to the first ancestor
 * with a child on that side, then down that child's nearest edge. The
 * caller knows there is one.
 */
static struct heap_leaf *
path_sibling(const struct gpuva_heap *heap, const struct heap_path *p,
	     bool next)
{
	unsigned lv = heap->depth;
	void *n = NULL;

	while (lv-- > 0) {
		const struct heap_inner *in = p->node[lv];
		unsigned j = p->idx[lv];

		if (next ? j + 1u < in->n : j > 0) {
			n = in->child[next ? j + 1 : j - 1];
			break;
		}
	}
	for (lv++; lv < heap->depth; lv++) {
		const struct heap_inner *in = n;

		n = in->child[next ? 0 : in->n - 1u];
	}
	return n;
}

/*
 * release() of @p's leaf's first tile [a, e] when the previous leaf ends
 * with a hole: that hole grows over the tile (and over the hole after it,
 * if any), which leave this leaf, still holding a tile after them. Each
 * leaf's largest hole follows from what changed; a rescan only when this
 * leaf loses the last hole of its largest size.
 */
static __attribute__((noinline)) void
release_prev(struct gpuva_heap *heap, struct heap_path *p, uint64_t a,
	     uint64_t e)
{
	struct heap_leaf *l = p->leaf, *pl;
	unsigned depth = heap->depth, k = 1, lp;
	uint64_t he = e, hs, so, sz, m;
	struct heap_path pp;
	bool rescan = false;

	if (bit(l->hole, 1)) {
		/* this leaf's next tile, a hole, goes too */
		he = tile_last(l, 1, p->hil[depth]);
		if (he - e == path_max(heap, p, depth))
			rescan = --l->nmax == 0;
		k = 2;
		heap->holes--;
	}
	/* the previous leaf's last hole grows to [hs, he] */
	pl = descend(heap, a - 1, &pp);
	lp = pl->n - 1u;
	hs = lkey(pl, lp);
	so = a - hs;
	sz = he - hs + 1;
	m = path_max(heap, &pp, depth);
	pl->nmax -= so == m;
	if (sz > m) {
		if (pl->nmax)
			pl->below = (uint8_t)max_u64(pl->below, bit_len(m));
		pl->nmax = 1;
		pl->imax = (uint8_t)lp;
		path_set_max(heap, &pp, depth, sz);
	} else if (sz == m) {
		pl->nmax++;
	} else {
		pl->below = (uint8_t)max_u64(pl->below, bit_len(sz));
	}
	/* last, as it may rebalance: this leaf now starts after he */
	leaf_close(l, 0, k);
	path_set_key(p, depth, lkey(l, 0));
	if (rescan)
		path_refresh(heap, p);
	if (l->n < leaf_min(heap))
		rebalance(heap, p, depth);
}

/*
 * Turn used tile @i = [a, e] of @p's leaf into free space, merging with the
 * holes on either side. Needs no memory, so cannot fail.
 */
static void
release(struct gpuva_heap *heap, struct heap_path *p, unsigned i, uint64_t a,
	uint64_t e, enum heap_kind kind)
{
	struct heap_leaf *l = p->leaf;
	unsigned depth = heap->depth, n = l->n;
	uint64_t hs = a, he = e, m, size;
	bool mp, mn, slow = false;

	count_used(heap, e - a + 1, kind, -1);
	/*
	 * A neighbour in another leaf matters only when it is a hole: the
	 * merge then changes two leaves. A used one leaves this leaf alone.
	 */
	if (i == 0 && a != heap->start) {
		const struct heap_leaf *pl = path_sibling(heap, p, false);

		if (bit(pl->hole, pl->n - 1u)) {
			/* the common cross-leaf merge, unless the leaf empties */
			if (n > 1u + (n > 1u && bit(l->hole, 1))) {
				release_prev(heap, p, a, e);
				return;
			}
			slow = true;
		}
	}
	if (i + 1u == n && e != heap->last)
		slow |= path_sibling(heap, p, true)->hole & 1;
	if (slow) {
		release_slow(heap, a, e);
		return;
	}
	mp = i > 0 && bit(l->hole, i - 1);
	mn = i + 1u < n && bit(l->hole, i + 1);
	m = path_max(heap, p, depth);
	l->hole |= UINT64_C(1) << i;
	l->rsv &= ~(UINT64_C(1) << i);
	if (mp | mn) {
		/* the neighbours' sizes, before their starts go */
		if (mn) {
			he = tile_last(l, i + 1, p->hil[depth]);
			l->nmax -= he - e == m;		/* that hole merges away */
		}
		if (mp) {
			hs = lkey(l, i - 1);
			l->nmax -= a - hs == m;
		}
		heap->holes -= (size_t)mp + mn - 1;
	} else {
		heap->holes++;
	}
	/*
	 * A hole grew or appeared, bigger than the ones it swallowed: the
	 * largest can only rise to it.
	 */
	size = he - hs + 1;
	if (size > m) {
		/* the holes of the old largest size left, if any, are others now */
		if (l->nmax)
			l->below = (uint8_t)max_u64(l->below, bit_len(m));
		l->nmax = 1;
		l->imax = (uint8_t)(mp ? i - 1 : i);
		path_set_max(heap, p, depth, size);
	} else if (size == m) {
		l->nmax++;
	} else {
		l->below = (uint8_t)max_u64(l->below, bit_len(size));
	}
	/* last: fewer values live across the memmove (imax is below it) */
	if (mp | mn)
		leaf_close(l, mp ? i : i + 1, (unsigned)mp + mn);
	if (l->n < heap->leaf_cap / 4u && depth)
		rebalance(heap, p, depth);
}

/* ---- the search ----------------------------------------------------- */

/*
 * The usual request (low first, no span rule, whole heap) in a narrow
 * leaf: sizes from offset differences, and fit_hole() comes down to the
 * first-fit list's own test, inline: the aligned start leaves room for
 * the size. Rounding past 2^64 wraps to 0, and 0 - s is more than any
 * hole at s can leave.
 */
static int
leaf_search_plain(struct fit *f, const struct heap_leaf *l, uint64_t hil,
		  uint64_t holes)
{
	unsigned last = l->n - 1u, sh = l->shift;
	uint64_t h = holes & ~(UINT64_C(1) << last);
	uint64_t need = f->need, size = f->size, mask = f->mask;
	/* a hole of d units holds need bytes iff d >= need_u */
	uint64_t need_u = (need >> sh) + ((need & ((UINT64_C(1) << sh) - 1)) != 0);

	for (; h; h &= h - 1) {
		unsigned i = (unsigned)__builtin_ctzll(h);
		uint32_t d = l->off[i + 1] - l->off[i];
		uint64_t s, x;

		if (d < need_u)
			continue;
		s = l->base + ((uint64_t)l->off[i] << sh);
		x = (s + mask) & ~mask;
		if (x - s <= ((uint64_t)d << sh) - size) {
			f->addr = x;
			f->s = s;
			f->e = s + ((uint64_t)d << sh) - 1;
			f->i = i;
			return 1;
		}
		if (over_budget(f))
			return -1;
	}
	if (bit(holes, last)) {
		uint64_t s = lkey(l, last), x;

		if (hil - s < need - 1)
			return 0;
		x = (s + mask) & ~mask;
		if (x - s <= hil - s + 1 - size) {
			f->addr = x;
			f->s = s;
			f->e = hil;
			f->i = last;
			return 1;
		}
		if (over_budget(f))
			return -1;
	}
	return 0;
}

/*
 * The holes of leaf @l (tiles ending at @hil, the largest hole @m bytes)
 * in address order, reversed for high, that are at least f->need bytes
 * and meet the window: the first that fits wins (1). 0: none; -1: the
 * budget ran out.
 */
static int
leaf_search(struct fit *f, const struct heap_leaf *l, uint64_t hil, uint64_t m)
{
	uint64_t h = l->hole;

	/*
	 * Only holes of the largest size m can take a request above every
	 * other hole: with one such hole, and the hint right, that hole is
	 * all there is to look at, and the same in every direction and
	 * window as a scan.
	 */
	if (l->nmax == 1 && l->below < 64 && f->need >= UINT64_C(1) << l->below &&
	    bit(h, l->imax) &&
	    tile_last(l, l->imax, hil) - lkey(l, l->imax) == m - 1)
		h = UINT64_C(1) << l->imax;
	if (f->plain && !leaf_wide(l))
		return leaf_search_plain(f, l, hil, h);
	while (h) {
		unsigned i = f->high ? 63u - (unsigned)__builtin_clzll(h) :
			     (unsigned)__builtin_ctzll(h);
		uint64_t s = lkey(l, i), e = tile_last(l, i, hil), x;

		h &= ~(UINT64_C(1) << i);
		if (e - s < f->need - 1 || e < f->lo || s > f->last)
			continue;
		if (fit_hole(f, s, e - s + 1, &x)) {
			f->addr = x;
			f->s = s;
			f->e = e;
			f->i = i;
			return 1;
		}
		if (over_budget(f))
			return -1;
	}
	return 0;
}

static int node_search(const struct gpuva_heap *heap, struct fit *f,
		       void *node, unsigned lv, uint64_t hil);

/*
 * Child @j of @in (level @lv, ending at @hil), whose own tiles end at @ch:
 * search it, and on a find record the step on the path.
 */
static inline int
child_search(const struct gpuva_heap *heap, struct fit *f,
	     struct heap_inner *in, unsigned lv, unsigned j, uint64_t ch,
	     uint64_t hil)
{
	int r;

	if (lv + 1 == heap->depth) {
		r = leaf_search(f, in->child[j], ch, in->max[j]);
		if (r > 0) {
			f->path.leaf = in->child[j];
			f->path.hil[lv + 1] = ch;
		}
	} else {
		r = node_search(heap, f, in->child[j], lv + 1, ch);
	}
	if (r > 0) {
		f->path.node[lv] = in;
		f->path.idx[lv] = (uint8_t)j;
		f->path.hil[lv] = hil;
	}
	return r;
}

/*
 * The subtree at @node (level @lv, its tiles ending at @hil), children in
 * address order (reversed for high), skipping those whose largest hole is
 * below f->need or that miss the window. Records the path on the way back
 * from a find. 1, 0 or -1 as leaf_search().
 */
static int
node_search(const struct gpuva_heap *heap, struct fit *f, void *node,
	    unsigned lv, uint64_t hil)
{
	struct heap_inner *in = node;
	int n = in->n, r;

	if (f->plain) {
		/* no window, low first: the largest holes alone decide */
		for (int j = 0; j < n; j++) {
			if (in->max[j] < f->need)
				continue;
			r = child_search(heap, f, in, lv, (unsigned)j,
					 child_hil(in, (unsigned)j, hil), hil);
			if (r)
				return r;
		}
		return 0;
	}
	for (int k = 0; k < n; k++) {
		unsigned j = f->high ? (unsigned)(n - 1 - k) : (unsigned)k;
		uint64_t ch = child_hil(in, j, hil);

		if (f->high ? ch < f->lo : in->key[j] > f->last)
			return 0;	/* the rest lie beyond the window */
		if (in->max[j] < f->need || ch < f->lo || in->key[j] > f->last)
			continue;
		r = child_search(heap, f, in, lv, j, ch, hil);
		if (r)
			return r;
	}
	return 0;
}

/* The first fit for @f among the holes; 1, 0 or -1 as leaf_search(). */
static int
find_fit(struct gpuva_heap *heap, struct fit *f)
{
	int r;

	if (heap_is_flat(heap))
		return flat_find_fit(heap, f);
	if (heap->largest < f->need)
		return 0;
	if (heap->depth)
		return node_search(heap, f, heap->root, 0, heap->last);
	r = leaf_search(f, heap->root, heap->last, heap->largest);
	if (r > 0) {
		f->path.leaf = heap->root;
		f->path.hil[0] = heap->last;
	}
	return r;
}

static const char *
dir_name(uint32_t flags)
{
	return flags & GPUVA_HEAP_HIGH ? " high" : "";
}

#define REQ "alloc 0x%" PRIx64 " align=0x%" PRIx64 " flags=0x%" PRIx32 \
	" window=0x%" PRIx64 ",0x%" PRIx64
#define REQ_ARGS size, align, flags, win_addr, win_range

/*
 * A checked request, its window [lo, last] clipped to the heap: search
 * and carve. The window as asked for is only for the messages.
 */
static inline int
alloc_checked(struct gpuva_heap *heap, uint64_t size, uint64_t align,
	      uint32_t flags, uint64_t lo, uint64_t last, uint64_t win_addr,
	      uint64_t win_range, uint64_t *addr)
{
	unsigned span = (flags & GPUVA_HEAP_NO_SPAN_MASK) >> 8;
	struct fit f;	/* not zeroed: the path alone is 1.1 KiB */
	int r, err;

	/* the tree knows its largest hole; the flat mode finds out below */
	if (!heap_is_flat(heap) && heap->largest < size)
		goto no_hole;
	f.size = size;
	f.mask = align - 1;
	f.lo = lo;
	f.last = last;
	f.span = span;
	f.high = flags & GPUVA_HEAP_HIGH;
	f.plain = !f.high && !span && lo == heap->start && last == heap->last;
	f.need = size;
	f.budget = GPUVA_HEAP_SEARCH_BUDGET;

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
		if (heap_is_flat(heap) && flat_largest(heap) < size)
			goto no_hole;
		return heap_reject(heap, -ENOSPC, REQ "%s: no hole fits",
				   REQ_ARGS, dir_name(flags));
	}
	/*
	 * The search changed nothing; carve() takes the memory it needs
	 * before it changes anything, and only for a request that will be
	 * carved (a refused one leaves even the heap's memory as it was).
	 */
	if (heap_is_flat(heap)) {
		err = flat_carve(heap, f.i, f.s, f.e, f.addr, size, HEAP_KIND_ALLOC);
		if (err == FLAT_CANNOT) {
			/* the tree places it at the same address */
			err = heap_to_tree(heap);
			if (!err)
				return alloc_checked(heap, size, align, flags, lo,
						     last, win_addr, win_range, addr);
		}
	} else {
		err = carve(heap, &f.path, f.i, f.s, f.e, f.addr, size,
			    HEAP_KIND_ALLOC);
	}
	if (err)
		return heap_reject(heap, err, REQ ": out of memory for a node",
				   REQ_ARGS);
	*addr = f.addr;
	return 0;

no_hole:
	return heap_reject(heap, -ENOSPC,
			   REQ "%s: no hole of 0x%" PRIx64 " bytes (largest 0x%"
			   PRIx64 ")", REQ_ARGS, dir_name(flags), size,
			   heap_is_flat(heap) ? flat_largest(heap) : heap->largest);
}

int
gpuva_heap_alloc_in_range(struct gpuva_heap *heap, uint64_t size,
			  uint64_t align, uint32_t flags, uint64_t win_addr,
			  uint64_t win_range, uint64_t *addr)
{
	const uint32_t known = GPUVA_HEAP_HIGH | GPUVA_HEAP_NO_SPAN_MASK;
	unsigned span = (flags & GPUVA_HEAP_NO_SPAN_MASK) >> 8;
	uint64_t win_last;

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
	return alloc_checked(heap, size, align, flags,
			     win_addr > heap->start ? win_addr : heap->start,
			     win_last < heap->last ? win_last : heap->last,
			     win_addr, win_range, addr);
}
#undef REQ
#undef REQ_ARGS

int
gpuva_heap_alloc(struct gpuva_heap *heap, uint64_t size, uint64_t align,
		 uint32_t flags, uint64_t *addr)
{
	const uint32_t known = GPUVA_HEAP_HIGH | GPUVA_HEAP_NO_SPAN_MASK;
	unsigned span = (flags & GPUVA_HEAP_NO_SPAN_MASK) >> 8;
	/* the range fits: it was one at creation */
	uint64_t range = heap->last - heap->start + 1;

	/* the whole heap is a valid window: the other checks, or the reason */
	if (!addr || size == 0 || !util_is_pow2(align) || (flags & ~known) ||
	    (span && size > (UINT64_C(1) << span)))
		return gpuva_heap_alloc_in_range(heap, size, align, flags,
						 heap->start, range, addr);
	if (!flags && heap_is_flat(heap) && flat_alloc_plain(heap, size, align, addr))
		return 0;
	return alloc_checked(heap, size, align, flags, heap->start, heap->last,
			     heap->start, range, addr);
}

/* ---- fixed ranges --------------------------------------------------- */

static int
tile_kind(const struct gpuva_heap *heap, const struct heap_leaf *l, unsigned i)
{
	if (bit(l->hole, i))
		return 0;
	return used_kind(heap, lkey(l, i), bit(l->rsv, i));
}

/* The tile containing @addr, which is in the heap. O(log n). */
static void
tile_at(const struct gpuva_heap *heap, uint64_t addr, struct tile *t)
{
	struct heap_path p;
	struct heap_leaf *l;
	unsigned i;

	if (heap_is_flat(heap)) {
		flat_tile_at(heap, addr, t);
		return;
	}
	l = descend(heap, addr, &p);
	i = leaf_find(l, addr);

	t->addr = lkey(l, i);
	t->last = tile_last(l, i, p.hil[heap->depth]);
	t->kind = tile_kind(heap, l, i);
}

static const char *
a_kind_name(int k)
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
kind_name(int k)
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

/* [addr, addr + size) cannot be taken: byte @taken is not free. */
static __attribute__((noinline)) int
refuse_take(struct gpuva_heap *heap, uint64_t addr, uint64_t size,
	    uint64_t taken, const char *what)
{
	struct tile u;

	tile_at(heap, taken, &u);
	return heap_reject(heap, -ENOSPC, "%s 0x%" PRIx64 " 0x%" PRIx64
			   ": byte 0x%" PRIx64 " is taken by the %s 0x%" PRIx64
			   " 0x%" PRIx64, what, addr, size, taken,
			   kind_name(u.kind), u.addr, u.last - u.addr + 1);
}

/* heap_take() in the flat mode, whose arguments are checked. */
static int
flat_take(struct gpuva_heap *heap, uint64_t addr, uint64_t size,
	  enum heap_kind kind, const char *what)
{
	uint64_t s, e;
	unsigned i;
	int err;

	if (!flat_hole_at(heap, addr, &i, &s, &e))
		return refuse_take(heap, addr, size, addr, what);
	if (last_of(addr, size) > e)
		return refuse_take(heap, addr, size, e + 1, what);
	err = flat_carve(heap, i, s, e, addr, size, kind);
	if (err == FLAT_CANNOT) {
		err = heap_to_tree(heap);
		if (!err)
			return heap_take(heap, addr, size, kind, what);
	}
	if (err)
		return heap_reject(heap, err, "%s 0x%" PRIx64 " 0x%" PRIx64
				   ": out of memory for a node", what, addr, size);
	return 0;
}

int
heap_take(struct gpuva_heap *heap, uint64_t addr, uint64_t size,
	  enum heap_kind kind, const char *what)
{
	struct heap_path path;
	struct heap_leaf *l;
	uint64_t taken, e;
	unsigned i;
	int err;

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
	if (heap_is_flat(heap))
		return flat_take(heap, addr, size, kind, what);
	l = descend(heap, addr, &path);
	i = leaf_find(l, addr);
	e = tile_last(l, i, path.hil[heap->depth]);
	if (!bit(l->hole, i))
		taken = addr;
	else if (last_of(addr, size) > e)
		taken = e + 1;
	else
		goto fits;
	return refuse_take(heap, addr, size, taken, what);
fits:
	err = carve(heap, &path, i, lkey(l, i), e, addr, size, kind);
	if (err)
		return heap_reject(heap, err, "%s 0x%" PRIx64 " 0x%" PRIx64
				   ": out of memory for a node", what, addr, size);
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
 * Why [addr, addr + size) is not a tile of @kind to give back: the
 * rejection, from the most basic reason on. Called only once the quick
 * test in give_back() failed, so one of the reasons holds.
 */
static __attribute__((noinline)) int
refuse_give_back(struct gpuva_heap *heap, uint64_t addr, uint64_t size,
		 enum heap_kind kind, const char *what)
{
	struct tile u = { 0, 0, 0 };

	if (size == 0)
		return heap_reject(heap, -EINVAL, "%s 0x%" PRIx64 " 0x0: size is zero",
				   what, addr);
	if (addr >= heap->start && addr <= heap->last)
		tile_at(heap, addr, &u);
	if (!u.kind)
		return heap_reject(heap, -EINVAL, "%s 0x%" PRIx64 " 0x%" PRIx64
				   ": not allocated (free, freed twice or outside"
				   " the heap)", what, addr, size);
	if (u.addr != addr)
		return heap_reject(heap, -EINVAL, "%s 0x%" PRIx64 " 0x%" PRIx64
				   ": inside the %s 0x%" PRIx64 " 0x%" PRIx64
				   ", not at its start", what, addr, size,
				   kind_name(u.kind), u.addr, u.last - u.addr + 1);
	if (u.kind != (int)kind)
		return heap_reject(heap, -EINVAL, "%s 0x%" PRIx64 " 0x%" PRIx64
				   ": is %s, not %s", what, addr, size,
				   a_kind_name(u.kind), a_kind_name(kind));
	/* the tile there is of @kind: its size is what differs */
	return heap_reject(heap, -EINVAL, "%s 0x%" PRIx64 " 0x%" PRIx64
			   ": the %s there is 0x%" PRIx64 " bytes", what,
			   addr, size, kind_name(u.kind), u.last - u.addr + 1);
}

/*
 * Give back the tile of @kind at exactly [addr, addr + size). A valid
 * call is decided by one descent and three comparisons (start, kind,
 * size); a refused one is explained by refuse_give_back().
 */
/*
 * After a tree gave a tile back: a heap that shrank to half the flat
 * mode's tiles goes back to it, unless the last try failed (a tile not in
 * units, no memory) fewer calls ago than that try walked tiles.
 */
static void
maybe_flat(struct gpuva_heap *heap)
{
	if (!heap->flat_max || heap_tiles(heap) > heap->flat_max / 2)
		return;
	if (heap->flat_wait) {
		heap->flat_wait--;
		return;
	}
	heap_to_flat(heap);
}

static int
give_back(struct gpuva_heap *heap, uint64_t addr, uint64_t size,
	  enum heap_kind kind, const char *what)
{
	struct heap_path p;
	struct heap_leaf *l;
	unsigned i;

	if (addr < heap->start || addr > heap->last || size == 0)
		return refuse_give_back(heap, addr, size, kind, what);
	if (heap_is_flat(heap)) {
		if (!flat_give_back(heap, addr, size, kind))
			return refuse_give_back(heap, addr, size, kind, what);
		return 0;
	}
	l = descend(heap, addr, &p);
	i = leaf_find(l, addr);
	if (lkey(l, i) != addr || tile_last(l, i, p.hil[heap->depth]) - addr != size - 1 ||
	    (kind == HEAP_KIND_ALLOC ? bit(l->hole | l->rsv, i) :
	     tile_kind(heap, l, i) != (int)kind))
		return refuse_give_back(heap, addr, size, kind, what);
	release(heap, &p, i, addr, last_of(addr, size), kind);
	maybe_flat(heap);
	return 0;
}

int
gpuva_heap_free(struct gpuva_heap *heap, uint64_t addr, uint64_t size)
{
	/* flat_give_back() refuses what give_back() checks first */
	if (heap_is_flat(heap) && flat_give_back(heap, addr, size, HEAP_KIND_ALLOC))
		return 0;
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
	st->largest_hole = heap_is_flat(heap) ? flat_largest(heap) : heap->largest;
	st->holes = heap->holes;
	st->allocations = heap->allocations;
	st->allocated_bytes = heap->allocated_bytes;
	st->reservations = heap->reservations;
	st->reserved_bytes = heap->reserved_bytes;
	st->bytes = sizeof(*heap) + (heap_is_flat(heap) ? flat_bytes(heap) :
				     heap->blocks * HEAP_BLOCK_BYTES);
}

bool
gpuva_heap_is_free(const struct gpuva_heap *heap, uint64_t addr, uint64_t size)
{
	struct tile t;

	if (size == 0 || addr > UINT64_MAX - (size - 1) || addr < heap->start ||
	    addr > heap->last)
		return false;
	if (heap_is_flat(heap)) {
		uint64_t s, e;
		unsigned i;

		return flat_hole_at(heap, addr, &i, &s, &e) &&
		       last_of(addr, size) <= e;
	}
	tile_at(heap, addr, &t);
	return !t.kind && last_of(addr, size) <= t.last;
}

/* Every tile of the subtree at @node (level @lv, ending at @hil), in order. */
static int
walk(const struct gpuva_heap *heap, const void *node, unsigned lv,
     uint64_t hil, bool holes_only, gpuva_heap_range_fn fn, void *priv)
{
	if (lv < heap->depth) {
		const struct heap_inner *in = node;

		for (unsigned j = 0; j < in->n; j++) {
			int ret = walk(heap, in->child[j], lv + 1,
				       child_hil(in, j, hil), holes_only, fn, priv);

			if (ret)
				return ret;
		}
		return 0;
	}
	const struct heap_leaf *l = node;

	for (unsigned i = 0; i < l->n; i++) {
		int k = tile_kind(heap, l, i), ret;
		struct gpuva_heap_range r;

		if (holes_only && k)
			continue;
		r.addr = lkey(l, i);
		r.range = tile_last(l, i, hil) - r.addr + 1;
		r.state = !k ? GPUVA_HEAP_HOLE : k == HEAP_KIND_ALLOC ?
			  GPUVA_HEAP_ALLOCATED : GPUVA_HEAP_RESERVED;
		ret = fn(priv, &r);
		if (ret)
			return ret;
	}
	return 0;
}

int
heap_tree_walk(const struct gpuva_heap *heap, bool holes_only,
	       gpuva_heap_range_fn fn, void *priv)
{
	return walk(heap, heap->root, 0, heap->last, holes_only, fn, priv);
}

int
gpuva_heap_for_each_hole(const struct gpuva_heap *heap, gpuva_heap_range_fn fn,
			 void *priv)
{
	if (heap_is_flat(heap))
		return flat_walk(heap, true, fn, priv);
	return heap_tree_walk(heap, true, fn, priv);
}

int
gpuva_heap_for_each_range(const struct gpuva_heap *heap,
			  gpuva_heap_range_fn fn, void *priv)
{
	if (heap_is_flat(heap))
		return flat_walk(heap, false, fn, priv);
	return heap_tree_walk(heap, false, fn, priv);
}

/* ---- checking ------------------------------------------------------- */

struct check_walk {
	uint64_t next;		/* where the next tile must start */
	bool prev_hole;
	bool end;		/* a tile reached the heap's last byte */
	uint64_t free_b, alloc_b, rsv_b;
	size_t holes, allocs, rsvs, blocks;
	bool kernel_seen;
	const char *why;
};

/* The next tile [a, last] of kind @k (0: a hole), in order, into @w. */
static const char *
check_tile(const struct gpuva_heap *heap, struct check_walk *w, uint64_t a,
	   uint64_t last, int k)
{
	uint64_t size = last - a + 1;

	if (w->end || a != w->next)
		return "tiles do not follow each other";
	if (!k && w->prev_hole)
		return "two adjacent holes not merged";
	w->prev_hole = !k;
	if (k == HEAP_KIND_KERNEL)
		w->kernel_seen = true;
	if (!k) {
		w->free_b += size;
		w->holes++;
	} else if (k == HEAP_KIND_ALLOC) {
		w->alloc_b += size;
		w->allocs++;
	} else {
		w->rsv_b += size;
		w->rsvs++;
	}
	if (last == heap->last)
		w->end = true;
	else
		w->next = last + 1;
	return NULL;
}

/* A leaf's own rules: sizes, masks, the narrow encoding. */
static const char *
check_leaf(const struct gpuva_heap *heap, const struct heap_leaf *l)
{
	uint64_t above = l->n < 64 ? ~UINT64_C(0) << l->n : 0;

	if (l->n == 0)
		return "an empty leaf";
	if (l->n > (leaf_wide(l) ? heap->wide_cap : heap->leaf_cap))
		return "a leaf over its capacity";
	if ((l->hole | l->rsv) & above)
		return "kind bits past a leaf's tiles";
	if (l->hole & l->rsv)
		return "a tile both a hole and reserved";
	if (!leaf_wide(l)) {
		if (l->shift > HEAP_SHIFT_MAX)
			return "a narrow leaf's shift out of range";
		for (unsigned i = 0; i < l->n; i++) {
			if (l->off[i] > heap->narrow_max)
				return "a narrow offset past narrow_max";
			if (l->base > UINT64_MAX - ((uint64_t)l->off[i] << l->shift))
				return "a narrow start past 2^64";
		}
	}
	for (unsigned i = 1; i < l->n; i++)
		if (lkey(l, i) <= lkey(l, i - 1))
			return "starts out of order in a leaf";
	return NULL;
}

/*
 * The subtree at @node (level @lv) must start exactly at @lo and end at
 * @hil; sets *max to its largest hole. Walks the tiles into @w.
 */
static const char *
check_node(const struct gpuva_heap *heap, const void *node, unsigned lv,
	   uint64_t lo, uint64_t hil, uint64_t *max, struct check_walk *w)
{
	const char *why;

	w->blocks++;
	if (lv < heap->depth) {
		const struct heap_inner *in = node;
		uint64_t m = 0, cm = 0;

		if (in->n > heap->inner_cap)
			return "an inner node over its capacity";
		if (in->n < (lv ? inner_min(heap) : 2u))
			return "an inner node under its minimum";
		if (in->key[0] != lo)
			return "an inner node's first start is not its parent's";
		for (unsigned j = 0; j < in->n; j++) {
			uint64_t ch;

			if (j && in->key[j] <= in->key[j - 1])
				return "inner starts out of order";
			if (in->key[j] > hil)
				return "an inner start past its node's end";
			ch = child_hil(in, j, hil);
			why = check_node(heap, in->child[j], lv + 1, in->key[j],
					 ch, &cm, w);
			if (why)
				return why;
			if (cm != in->max[j])
				return "a cached largest hole is wrong";
			m = max_u64(m, cm);
		}
		*max = m;
		return NULL;
	}
	const struct heap_leaf *l = node;
	unsigned c, b, where;

	if ((why = check_leaf(heap, l)) != NULL)
		return why;
	if (lkey(l, 0) != lo)
		return "a leaf's first start is not its parent's";
	if (lkey(l, l->n - 1u) > hil)
		return "a start past its leaf's end";
	*max = leaf_scan(l, hil, &c, &b, &where);
	if (c != l->nmax)
		return "a leaf's count of largest holes is wrong";
	if (b > l->below)
		return "a leaf's bound on its other holes is wrong";
	for (unsigned i = 0; i < l->n; i++)
		if ((why = check_tile(heap, w, lkey(l, i), tile_last(l, i, hil),
				      tile_kind(heap, l, i))) != NULL)
			return why;
	return NULL;
}

struct check_flat {
	const struct gpuva_heap *heap;
	struct check_walk *w;
};

static int
check_flat_tile(void *priv, const struct gpuva_heap_range *r)
{
	struct check_flat *c = priv;
	int k = r->state == GPUVA_HEAP_HOLE ? 0 :
		used_kind(c->heap, r->addr, r->state == GPUVA_HEAP_RESERVED);

	c->w->why = check_tile(c->heap, c->w, r->addr, last_of(r->addr, r->range), k);
	return c->w->why != NULL;
}

int
gpuva_heap_check(struct gpuva_heap *heap)
{
	struct check_walk w = { .next = heap->start };
	const char *why;
	uint64_t m = 0;

	if (heap_is_flat(heap)) {
		struct check_flat c = { heap, &w };

		why = flat_check(heap);
		if (!why && flat_walk(heap, false, check_flat_tile, &c))
			why = w.why ? w.why : "a used tile without its record";
		m = heap->largest;	/* the flat mode keeps none: not compared */
	} else {
		if (heap->depth > HEAP_MAX_DEPTH)
			return heap_reject(heap, -EINVAL, "check: tree deeper than %d",
					   HEAP_MAX_DEPTH);
		why = check_node(heap, heap->root, 0, heap->start, heap->last, &m, &w);
	}
	if (why)
		return heap_reject(heap, -EINVAL, "check: at 0x%" PRIx64 ": %s",
				   w.next, why);
	if (!w.end)
		return heap_reject(heap, -EINVAL, "check: tiles end at 0x%" PRIx64
				   ", the heap at 0x%" PRIx64, w.next, heap->last);
	if (m != heap->largest)
		return heap_reject(heap, -EINVAL,
				   "check: a cached largest hole is wrong");
	if (!heap_is_flat(heap) && w.blocks != heap->blocks)
		return heap_reject(heap, -EINVAL, "check: %zu blocks, %zu counted",
				   w.blocks, heap->blocks);
	if (heap->has_kernel != w.kernel_seen)
		return heap_reject(heap, -EINVAL,
				   "check: the kernel range is not where it was");
	if (w.free_b != heap->free_bytes || w.alloc_b != heap->allocated_bytes ||
	    w.rsv_b != heap->reserved_bytes || w.allocs != heap->allocations ||
	    w.rsvs != heap->reservations || w.holes != heap->holes)
		return heap_reject(heap, -EINVAL, "check: counters disagree");
	if (!heap_is_flat(heap) && heap->pool)
		return heap_reject(heap, -EINVAL, "check: blocks left in the pool");
	return 0;
}
