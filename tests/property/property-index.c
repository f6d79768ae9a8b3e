/* SPDX-License-Identifier: MIT */
/*
 * Randomised test of the index layer (lib/index, the B+tree) against a
 * naive model: a bitmap of which of K slots are in, each slot owning a key
 * range and two objects (twins) that can stand for it.
 *
 * Random inserts (always after idx_reserve(), sometimes two or more inserts
 * on one reservation), removes and replaces (by the twin, with the same key
 * or a key moved inside the gap between the neighbours), in the patterns
 * the VM makes: a third of the steps walk on from the last slot touched,
 * ascending and descending insert runs (sparse binding: leaves split at
 * their end), removal runs, and remaps (replace by a slightly larger key,
 * then insert right after or right before). After every change (every
 * change for K <= 1024; every thousand, and at the end, for large K) the
 * index must pass idx_check(), and its count must be the model's; walks
 * forwards (idx_first/idx_next) and backwards (idx_last/idx_prev) must
 * give exactly the model's items; idx_find_le/idx_find at random probes
 * (0, UINT64_MAX, gaps, members and their neighbours), idx_first/idx_last
 * and idx_next/idx_prev on random members must answer like the model.
 *
 * idx_warm() must change nothing (the struct idx byte for byte), call its
 * hit callback exactly on the items whose keys it was given, and leave the
 * lookups right; also with n = 0 and NULL keys, and on an empty index.
 *
 * Memory: the index takes its chunks from aligned_alloc(), which this
 * executable wraps (-Wl,--wrap=aligned_alloc, tests/property/meson.build).
 * Only idx_reserve() may call it: inserts after a successful reservation,
 * removes, replaces and lookups never do. With aligned_alloc failing,
 * idx_reserve() must return -ENOMEM with the index unchanged (same items,
 * root, height, count and memory; idx_check passes), and a reservation
 * that idx_reserved() calls a no-op must change nothing at all.
 *
 * Every run ends by removing everything in random order (the index must
 * then be empty: no root, height 0) and idx_fini(); idx_fini() is also
 * run on full indexes (the suite runs under ASan and valgrind, which see
 * a leak) and the index must be usable after it.
 *
 * Layouts: spread (slot i near i * 0x10000, slot 0 at key 0), edges
 * (half the slots packed from key 0 up, half down from UINT64_MAX; the
 * first key is 0 and the last UINT64_MAX) and random (distinct random
 * 64-bit keys, ranges reaching 0 and UINT64_MAX).
 *
 *   property-index [--seed S] [--count N] [--keys K]
 *                  [--layout spread|edges|random]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "index/index.h"
#include "trace.h"	/* the project's one seeded generator */

enum layout { LAYOUT_SPREAD, LAYOUT_EDGES, LAYOUT_RANDOM };

static const char *const layout_name[] = { "spread", "edges", "random" };

static struct {
	uint64_t seed;
	size_t count, keys;
	enum layout layout;
} opt = { 1, 200000, 300, LAYOUT_SPREAD };

#define MAX_KEYS	((size_t)1 << 24)

static struct trace_rng rng;

static uint64_t
rnd(void)
{
	return trace_rng_next(&rng);
}

/* A draw in [0, n), n > 0. */
static uint64_t
below(uint64_t n)
{
	return rnd() % n;
}

/* A draw in [lo, hi]. */
static uint64_t
rand_in(uint64_t lo, uint64_t hi)
{
	uint64_t span = hi - lo;

	return span == UINT64_MAX ? rnd() : lo + rnd() % (span + 1);
}

/* ---- aligned_alloc, wrapped --------------------------------------------- */

/*
 * This executable links with -Wl,--wrap=aligned_alloc and --wrap=free:
 * the index's calls come here. aligned_alloc calls are counted; one made
 * while alloc_may is clear (outside idx_reserve) is a stray, and every
 * call fails while alloc_fails is set. The blocks it returned are tracked
 * until freed, so that the test sees the index's memory (ix->bytes) and
 * its leaks itself, not only under ASan or valgrind.
 */
void *__real_aligned_alloc(size_t align, size_t size);
void *__wrap_aligned_alloc(size_t align, size_t size);
void __real_free(void *p);
void __wrap_free(void *p);
static bool alloc_may, alloc_fails;
static size_t alloc_calls, stray_allocs;
static struct block {
	void *p;
	size_t size;
} *blocks;
static size_t nblocks, cap_blocks, live_bytes;

void *
__wrap_aligned_alloc(size_t align, size_t size)
{
	void *p;

	alloc_calls++;
	if (!alloc_may)
		stray_allocs++;
	if (alloc_fails)
		return NULL;
	if (nblocks == cap_blocks) {
		size_t cap = cap_blocks ? 2 * cap_blocks : 64;
		struct block *b = realloc(blocks, cap * sizeof(*b));

		if (!b)
			return NULL;
		blocks = b;
		cap_blocks = cap;
	}
	p = __real_aligned_alloc(align, size);
	if (p) {
		blocks[nblocks].p = p;
		blocks[nblocks++].size = size;
		live_bytes += size;
	}
	return p;
}

void
__wrap_free(void *p)
{
	/* the newest first: the test's own frees search the whole list */
	for (size_t i = nblocks; p && i-- > 0;) {
		if (blocks[i].p == p) {
			live_bytes -= blocks[i].size;
			blocks[i] = blocks[--nblocks];
			break;
		}
	}
	__real_free(p);
}

/* ---- the model ---------------------------------------------------------- */

struct item {
	uint64_t key;		/* first 8 bytes: what the index reads */
	bool in;		/* this object is in the index */
	unsigned hits;		/* idx_warm() hit calls not yet checked */
	size_t slot;
};

static struct model {
	size_t k;			/* slots */
	enum layout layout;
	struct item *a, *b;		/* each slot's two objects (twins) */
	struct item **obj;		/* the slot's object, in or not */
	uint64_t *lo, *hi;		/* the slot's key range; ascending, disjoint */
	uint64_t *bits, *sum;		/* slots in; words of bits not 0 */
	size_t nwords, nsum;
	size_t count;			/* slots in */
	size_t ops;			/* changes made */
	bool small;			/* check everything after every change */
	size_t last;			/* slot last touched */
	/* statistics, printed at the end */
	size_t max_count, max_height, enomem, inserts, removes, replaces;
	size_t warm_hits, warm_full, warm_skipped;
} m;

static const char *g_test = "";
static size_t g_step;

/* The last changes and lookups, printed when a check fails. */
#define LOG_LEN	24
static struct {
	size_t step;
	const char *op;
	size_t slot;
	uint64_t key, key2;
} oplog[LOG_LEN];
static size_t nlog;

static void
note(const char *op, size_t slot, uint64_t key, uint64_t key2)
{
	oplog[nlog % LOG_LEN].step = g_step;
	oplog[nlog % LOG_LEN].op = op;
	oplog[nlog % LOG_LEN].slot = slot;
	oplog[nlog % LOG_LEN].key = key;
	oplog[nlog % LOG_LEN].key2 = key2;
	nlog++;
}

static void fail_at(int line, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
fail_at(int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "last operations (oldest first):\n");
	for (size_t i = nlog > LOG_LEN ? nlog - LOG_LEN : 0; i < nlog; i++)
		fprintf(stderr, "  step %zu: %-12s slot %zu key 0x%" PRIx64
			" 0x%" PRIx64 "\n", oplog[i % LOG_LEN].step,
			oplog[i % LOG_LEN].op, oplog[i % LOG_LEN].slot,
			oplog[i % LOG_LEN].key, oplog[i % LOG_LEN].key2);
	fail_msg("%s: seed 0x%" PRIx64 " keys %zu layout %s, step %zu "
		 "(change %zu, line %d): %s", g_test, opt.seed, m.k,
		 layout_name[m.layout], g_step, m.ops, line, msg);
}

#define FAIL(...)	fail_at(__LINE__, __VA_ARGS__)

static int
cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

static void
model_setup(size_t k, enum layout layout, bool small)
{
	memset(&m, 0, sizeof(m));
	m.k = k;
	m.layout = layout;
	m.small = small;
	g_step = 0;
	stray_allocs = 0;
	alloc_may = alloc_fails = false;
	m.a = calloc(k, sizeof(*m.a));
	m.b = calloc(k, sizeof(*m.b));
	m.obj = calloc(k, sizeof(*m.obj));
	m.lo = calloc(k, sizeof(*m.lo));
	m.hi = calloc(k, sizeof(*m.hi));
	m.nwords = (k + 63) / 64;
	m.nsum = (m.nwords + 63) / 64;
	m.bits = calloc(m.nwords, sizeof(*m.bits));
	m.sum = calloc(m.nsum, sizeof(*m.sum));
	assert_non_null(m.a);
	assert_non_null(m.b);
	assert_non_null(m.obj);
	assert_non_null(m.lo);
	assert_non_null(m.hi);
	assert_non_null(m.bits);
	assert_non_null(m.sum);
	nlog = 0;

	switch (layout) {
	case LAYOUT_SPREAD:
		for (size_t i = 0; i < k; i++)
			m.lo[i] = i * 0x10000 + (i ? below(0x1000) : 0);
		for (size_t i = 0; i + 1 < k; i++)
			m.hi[i] = m.lo[i + 1] - 1;
		m.hi[k - 1] = m.lo[k - 1] + 0xffff;
		break;
	case LAYOUT_EDGES: {
		/* ranges of 1 to 3 keys, from 0 up and from UINT64_MAX down */
		size_t nlow = (k + 1) / 2;

		m.lo[0] = 0;
		for (size_t i = 1; i < nlow; i++) {
			m.lo[i] = m.lo[i - 1] + 1 + below(3);
			m.hi[i - 1] = m.lo[i] - 1;
		}
		m.hi[k - 1] = UINT64_MAX;
		for (size_t i = k - 1; i >= nlow; i--) {
			m.lo[i] = m.hi[i] - below(3);
			m.hi[i - 1] = m.lo[i] - 1;
		}
		break;
	}
	case LAYOUT_RANDOM:
		for (size_t i = 0; i < k; i++)
			m.lo[i] = rnd();
		qsort(m.lo, k, sizeof(*m.lo), cmp_u64);
		m.lo[0] = 0;
		for (size_t i = 1; i < k; i++) {
			/* 64-bit draws collide next to never; make them distinct */
			if (m.lo[i] <= m.lo[i - 1])
				m.lo[i] = m.lo[i - 1] + 1;
			assert_true(m.lo[i] > m.lo[i - 1]);
			m.hi[i - 1] = m.lo[i] - 1;
		}
		m.hi[k - 1] = UINT64_MAX;
		break;
	}
	for (size_t i = 0; i < k; i++) {
		assert_true(m.lo[i] <= m.hi[i]);
		m.a[i].slot = m.b[i].slot = i;
		/* the first slot starts at key 0, the edges' last at UINT64_MAX */
		if (i == 0)
			m.a[i].key = 0;
		else if (i == k - 1 && layout == LAYOUT_EDGES)
			m.a[i].key = UINT64_MAX;
		else if (layout == LAYOUT_SPREAD)
			m.a[i].key = m.lo[i] + below(16);
		else if (layout == LAYOUT_RANDOM)
			m.a[i].key = m.lo[i];
		else
			m.a[i].key = rand_in(m.lo[i], m.hi[i]);
		m.b[i].key = m.a[i].key;
		m.obj[i] = &m.a[i];
	}
}

static void
model_free(void)
{
	free(m.a);
	free(m.b);
	free(m.obj);
	free(m.lo);
	free(m.hi);
	free(m.bits);
	free(m.sum);
	memset(&m, 0, sizeof(m));
}

static bool
is_in(size_t i)
{
	return m.bits[i / 64] >> (i % 64) & 1;
}

static void
set_in(size_t i)
{
	m.bits[i / 64] |= UINT64_C(1) << (i % 64);
	m.sum[i / 4096] |= UINT64_C(1) << (i / 64 % 64);
	m.count++;
}

static void
clear_in(size_t i)
{
	m.bits[i / 64] &= ~(UINT64_C(1) << (i % 64));
	if (!m.bits[i / 64])
		m.sum[i / 4096] &= ~(UINT64_C(1) << (i / 64 % 64));
	m.count--;
}

/* The smallest slot >= @i that is in, or m.k. */
static size_t
next_in(size_t i)
{
	size_t w, s;
	uint64_t x;

	if (i >= m.k)
		return m.k;
	w = i / 64;
	x = m.bits[w] & (~UINT64_C(0) << (i % 64));
	if (x)
		return w * 64 + (size_t)__builtin_ctzll(x);
	if (++w >= m.nwords)
		return m.k;
	s = w / 64;
	x = m.sum[s] & (~UINT64_C(0) << (w % 64));
	while (!x) {
		if (++s >= m.nsum)
			return m.k;
		x = m.sum[s];
	}
	w = s * 64 + (size_t)__builtin_ctzll(x);
	return w * 64 + (size_t)__builtin_ctzll(m.bits[w]);
}

/* The largest slot <= @i that is in, or SIZE_MAX; @i may be SIZE_MAX. */
static size_t
prev_in(size_t i)
{
	size_t w, s;
	uint64_t x;

	if (i == SIZE_MAX)
		return SIZE_MAX;
	if (i >= m.k)
		i = m.k - 1;
	w = i / 64;
	x = m.bits[w] & (~UINT64_C(0) >> (63 - i % 64));
	if (x)
		return w * 64 + 63 - (size_t)__builtin_clzll(x);
	if (w-- == 0)
		return SIZE_MAX;
	s = w / 64;
	x = m.sum[s] & (~UINT64_C(0) >> (63 - w % 64));
	while (!x) {
		if (s-- == 0)
			return SIZE_MAX;
		x = m.sum[s];
	}
	w = s * 64 + 63 - (size_t)__builtin_clzll(x);
	return w * 64 + 63 - (size_t)__builtin_clzll(m.bits[w]);
}

static struct item *
obj_or_null(size_t i)
{
	return i < m.k ? m.obj[i] : NULL;
}

/* The slot whose range holds @key (slot 0's starts at 0). */
static size_t
slot_of(uint64_t key)
{
	size_t lo = 0, hi = m.k;	/* m.lo[lo] <= key; answer < hi */

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (m.lo[mid] <= key)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* The model's answer to "largest key <= @key". */
static struct item *
model_le(uint64_t key)
{
	size_t j = slot_of(key);

	if (is_in(j) && m.obj[j]->key <= key)
		return m.obj[j];
	return j ? obj_or_null(prev_in(j - 1)) : NULL;
}

static struct item *
model_find(uint64_t key)
{
	size_t j = slot_of(key);

	return is_in(j) && m.obj[j]->key == key ? m.obj[j] : NULL;
}

/* Is @p one of the model's objects? (Then it may be read.) */
static bool
is_ours(const void *p)
{
	uintptr_t u = (uintptr_t)p;

	for (int t = 0; t < 2; t++) {
		uintptr_t base = (uintptr_t)(t ? m.b : m.a);

		if (u >= base && u < base + m.k * sizeof(struct item) &&
		    (u - base) % sizeof(struct item) == 0)
			return true;
	}
	return false;
}

static const char *
describe(const void *p)
{
	static char buf[4][64];
	static unsigned n;
	char *s = buf[n++ % 4];

	if (!p)
		snprintf(s, 64, "NULL");
	else if (!is_ours(p))
		snprintf(s, 64, "%p (not an item)", p);
	else
		snprintf(s, 64, "slot %zu key 0x%" PRIx64,
			 ((const struct item *)p)->slot,
			 ((const struct item *)p)->key);
	return s;
}

/* ---- checks ------------------------------------------------------------- */

static void
check_ix(const struct idx *ix)
{
	const char *why = NULL;
	int r = idx_check(ix, &why);

	if (r)
		FAIL("idx_check returned %d: %s", r, why ? why : "(no reason)");
	if (stray_allocs)
		FAIL("idx_check called aligned_alloc");
	if (ix->bytes != live_bytes)
		FAIL("the index says it holds %zu bytes, aligned_alloc gave it "
		     "%zu not freed", ix->bytes, live_bytes);
}

/* The whole index, forwards and backwards, against the model. */
static void
walk_check(struct idx *ix)
{
	size_t j = next_in(0), n = 0;
	void *p;

	if (ix->count != m.count)
		FAIL("count %zu, model %zu", ix->count, m.count);
	for (p = idx_first(ix); p; p = idx_next(ix, p)) {
		if (j >= m.k || p != m.obj[j])
			FAIL("forward walk: item %zu is %s, model %s", n,
			     describe(p), describe(obj_or_null(j)));
		j = next_in(j + 1);
		n++;
	}
	if (j != m.k)
		FAIL("forward walk ends after %zu items, model has %zu",
		     n, m.count);
	j = prev_in(m.k - 1);
	n = 0;
	for (p = idx_last(ix); p; p = idx_prev(ix, p)) {
		if (j == SIZE_MAX || p != m.obj[j])
			FAIL("backward walk: item %zu is %s, model %s", n,
			     describe(p),
			     describe(j == SIZE_MAX ? NULL : m.obj[j]));
		j = j ? prev_in(j - 1) : SIZE_MAX;
		n++;
	}
	if (j != SIZE_MAX)
		FAIL("backward walk ends after %zu items, model has %zu",
		     n, m.count);
	if (stray_allocs)
		FAIL("a walk called aligned_alloc");
}

/* After each change: cheap checks always, the O(n) ones as m.small says. */
static void
after_change(struct idx *ix)
{
	m.ops++;
	if (stray_allocs)
		FAIL("aligned_alloc called outside idx_reserve (%zu times)",
		     stray_allocs);
	if (ix->count != m.count)
		FAIL("count %zu, model %zu", ix->count, m.count);
	if ((ix->count == 0) != (ix->root == NULL) ||
	    (ix->count == 0) != (ix->height == 0))
		FAIL("count %zu but root %p height %u", ix->count, ix->root,
		     ix->height);
	if (m.count > m.max_count)
		m.max_count = m.count;
	if (ix->height > m.max_height)
		m.max_height = ix->height;
	if (m.small || m.ops % 1000 == 0)
		check_ix(ix);
	if (m.small || m.ops % 25000 == 0)
		walk_check(ix);
}

static void
lookup_check(struct idx *ix, uint64_t key)
{
	struct item *want = model_le(key);
	void *got = idx_find_le(ix, key);

	note("find_le", SIZE_MAX, key, 0);
	if (got != want)
		FAIL("idx_find_le(0x%" PRIx64 ") is %s, model %s", key,
		     describe(got), describe(want));
	want = model_find(key);
	got = idx_find(ix, key);
	if (got != want)
		FAIL("idx_find(0x%" PRIx64 ") is %s, model %s", key,
		     describe(got), describe(want));
}

/* ---- changes ------------------------------------------------------------ */

struct state {
	void *root;
	unsigned height;
	size_t count, spare_leaf, spare_inner, bytes;
	struct idx_chunk *chunks;
};

static struct state
state_of(const struct idx *ix)
{
	struct state s = {
		ix->root, ix->height, ix->count, ix->n_spare_leaf,
		ix->n_spare_inner, ix->bytes, ix->chunks,
	};

	return s;
}

/* After a failed reservation: nothing changed but possibly more spares. */
static void
check_unchanged(struct idx *ix, const struct state *s)
{
	if (ix->root != s->root || ix->height != s->height ||
	    ix->count != s->count)
		FAIL("failed idx_reserve changed the tree (root %p->%p, height "
		     "%u->%u, count %zu->%zu)", s->root, ix->root, s->height,
		     ix->height, s->count, ix->count);
	if (ix->n_spare_leaf < s->spare_leaf ||
	    ix->n_spare_inner < s->spare_inner)
		FAIL("failed idx_reserve lost spare nodes");
	if (ix->bytes != s->bytes || ix->chunks != s->chunks)
		FAIL("failed idx_reserve changed the chunks although every "
		     "allocation failed");
	check_ix(ix);
	walk_check(ix);
}

/*
 * idx_reserve(ix, n) as the VM calls it before inserts; sometimes first
 * with every allocation failing, which must either succeed from what the
 * index holds or fail with -ENOMEM changing nothing.
 */
static void
reserve(struct idx *ix, unsigned n)
{
	struct idx snap;
	size_t calls;
	bool noop;
	int r;

	if (below(50) == 0) {
		struct state s = state_of(ix);

		noop = idx_reserved(ix, n);
		alloc_fails = alloc_may = true;
		r = idx_reserve(ix, n);
		alloc_fails = alloc_may = false;
		note("reserve-fail", SIZE_MAX, n, (uint64_t)r);
		if (r == -ENOMEM) {
			if (noop)
				FAIL("idx_reserve(%u) failed although "
				     "idx_reserved said it was a no-op", n);
			m.enomem++;
			check_unchanged(ix, &s);
		} else if (r != 0) {
			FAIL("idx_reserve(%u) returned %d", n, r);
		} else if (!idx_reserved(ix, n)) {
			FAIL("idx_reserved(%u) false after idx_reserve "
			     "succeeded without memory", n);
		}
	}
	noop = idx_reserved(ix, n);
	memcpy(&snap, ix, sizeof(snap));
	calls = alloc_calls;
	alloc_may = true;
	r = idx_reserve(ix, n);
	alloc_may = false;
	note("reserve", SIZE_MAX, n, (uint64_t)r);
	if (r != 0)
		FAIL("idx_reserve(%u) returned %d with memory to spare", n, r);
	if (noop && (alloc_calls != calls || memcmp(&snap, ix, sizeof(snap))))
		FAIL("idx_reserve(%u) changed something although idx_reserved "
		     "said it was a no-op", n);
	if (!idx_reserved(ix, n))
		FAIL("idx_reserved(%u) is false right after idx_reserve", n);
}

/* A key for slot @i's next object, near @old (or anywhere in the range). */
static uint64_t
new_key(size_t i, uint64_t old, int how)
{
	uint64_t lo = m.lo[i], hi = m.hi[i], d = 1 + below(16);

	switch (how) {
	case 0:	/* the same */
		return old;
	case 1:	/* slightly larger, as when a remap cuts a mapping's front */
		return hi - old >= d ? old + d : hi;
	case 2:	/* slightly smaller */
		return old - lo >= d ? old - d : lo;
	case 3:	/* the range's ends: 0 and UINT64_MAX at the edges */
		return below(2) ? lo : hi;
	default:
		return rand_in(lo, hi);
	}
}

/* Insert slot @i (not in), after a reservation the caller made. */
static void
insert_slot(struct idx *ix, size_t i)
{
	struct item *o = m.obj[i];

	if (is_in(i) || o->in)
		FAIL("test bug: slot %zu already in", i);
	/* not in the index, so free to change: the twin, or a new key */
	if (below(4) == 0)
		o = m.obj[i] = o == &m.a[i] ? &m.b[i] : &m.a[i];
	if (below(4) == 0)
		o->key = new_key(i, o->key, 1 + (int)below(5));
	note("insert", i, o->key, 0);
	idx_insert(ix, o);
	o->in = true;
	set_in(i);
	m.last = i;
	m.inserts++;
	after_change(ix);
}

static void
reserve_insert(struct idx *ix, size_t i)
{
	reserve(ix, 1 + (unsigned)below(2));
	insert_slot(ix, i);
}

static void
remove_slot(struct idx *ix, size_t i)
{
	struct item *o = m.obj[i];

	if (!is_in(i) || !o->in)
		FAIL("test bug: slot %zu not in", i);
	note("remove", i, o->key, 0);
	idx_remove(ix, o);
	o->in = false;
	clear_in(i);
	m.last = i;
	m.removes++;
	after_change(ix);
}

/* Put slot @i's twin in its place, keyed by new_key(how). */
static void
replace_slot(struct idx *ix, size_t i, int how)
{
	struct item *old = m.obj[i];
	struct item *new = old == &m.a[i] ? &m.b[i] : &m.a[i];

	if (!is_in(i) || !old->in || new->in)
		FAIL("test bug: slot %zu not in", i);
	new->key = new_key(i, old->key, how);
	note("replace", i, old->key, new->key);
	idx_replace(ix, old, new);
	old->in = false;
	new->in = true;
	m.obj[i] = new;
	m.last = i;
	m.replaces++;
	after_change(ix);
}

/* ---- operations of the random run --------------------------------------- */

/* Look up next to slot @i first, so that the change starts at the cursor. */
static void
pre_lookup(struct idx *ix, size_t i)
{
	uint64_t key = m.obj[i]->key;

	switch (below(4)) {
	case 0:
		lookup_check(ix, key);
		break;
	case 1:
		lookup_check(ix, key - 1);
		break;
	case 2:
		lookup_check(ix, key + 1);
		break;
	default:
		lookup_check(ix, m.lo[i]);
		break;
	}
}

static void
toggle(struct idx *ix, size_t i)
{
	if (!is_in(i))
		reserve_insert(ix, i);
	else if (below(10) < 6)
		remove_slot(ix, i);
	else
		replace_slot(ix, i, (int)below(5));
}

/*
 * Insert a run of slots from @i on in direction @dir, reserving for one
 * to four inserts at a time, as binds of consecutive pages do.
 */
static void
insert_run(struct idx *ix, size_t i, int dir)
{
	size_t len = 1 + below(48);
	unsigned left = 0;

	for (size_t s = 0; s < len; s++) {
		size_t j = dir > 0 ? i + s : i - s;

		if (j >= m.k)	/* also past 0, going down */
			break;
		if (is_in(j))
			continue;
		if (!left) {
			left = 1 + (unsigned)below(4);
			reserve(ix, left);
		}
		insert_slot(ix, j);
		left--;
	}
}

static void
remove_run(struct idx *ix, size_t i, int dir)
{
	size_t len = 1 + below(48);

	for (size_t s = 0; s < len; s++) {
		size_t j = dir > 0 ? i + s : i - s;

		if (j >= m.k)
			break;
		if (is_in(j))
			remove_slot(ix, j);
	}
}

/* Replace by a slightly larger key, then insert right after (or before). */
static void
remap(struct idx *ix, size_t i)
{
	if (!is_in(i))
		reserve_insert(ix, i);
	replace_slot(ix, i, below(4) ? 1 : 0);
	if (below(4)) {
		if (i + 1 < m.k && !is_in(i + 1)) {
			m.obj[i + 1]->key = m.lo[i + 1];	/* right after */
			reserve_insert(ix, i + 1);
		}
	} else if (i > 0 && !is_in(i - 1)) {
		m.obj[i - 1]->key = m.hi[i - 1];	/* right before */
		reserve_insert(ix, i - 1);
	}
}

/* Two (or more) inserts on one reservation, near each other or not. */
static void
multi_insert(struct idx *ix, size_t i)
{
	unsigned n = 2 + (below(4) == 0 ? (unsigned)below(7) : 0);
	size_t todo[8], k = 0;

	for (unsigned t = 0; t < 4 * n && k < n; t++) {
		size_t j = t < n ? i + t : below(m.k);
		bool dup = false;

		if (j >= m.k || is_in(j))
			continue;
		for (size_t x = 0; x < k; x++)
			dup |= todo[x] == j;
		if (!dup)
			todo[k++] = j;
	}
	if (!k)
		return;
	reserve(ix, (unsigned)k);
	for (size_t x = 0; x < k; x++)
		insert_slot(ix, todo[x]);
}

static uint64_t
probe_key(void)
{
	size_t j = below(m.k);

	switch (below(9)) {
	case 0:
		return rnd();
	case 1:
		return below(2) ? 0 : UINT64_MAX;
	case 2:
		return m.obj[j]->key;
	case 3:
		return m.obj[j]->key + 1;
	case 4:
		return m.obj[j]->key - 1;
	case 5:
		return m.lo[j] - 1;
	case 6:
		return m.hi[m.k - 1] + 1 + below(1000);	/* past the end */
	case 7:
		return below(4) ? m.hi[j] : m.hi[j] + 1;
	default:
		return rand_in(m.lo[j], m.hi[j]);
	}
}

static void
lookups(struct idx *ix, size_t i)
{
	size_t p;
	void *got;

	for (int t = 0; t < 4; t++)
		lookup_check(ix, probe_key());
	got = idx_first(ix);
	if (got != obj_or_null(next_in(0)))
		FAIL("idx_first is %s, model %s", describe(got),
		     describe(obj_or_null(next_in(0))));
	p = prev_in(m.k - 1);
	got = idx_last(ix);
	if (got != (p == SIZE_MAX ? NULL : m.obj[p]))
		FAIL("idx_last is %s, model %s", describe(got),
		     describe(p == SIZE_MAX ? NULL : m.obj[p]));

	/* a member near slot @i: its neighbours, then a short walk */
	p = below(2) ? next_in(i) : prev_in(i);
	if (p == SIZE_MAX || p >= m.k)
		return;
	m.last = p;
	got = idx_find(ix, m.obj[p]->key);
	if (got != m.obj[p])
		FAIL("idx_find of member %s is %s", describe(m.obj[p]),
		     describe(got));
	if (m.obj[p]->key > 0) {
		size_t q = p ? prev_in(p - 1) : SIZE_MAX;
		struct item *want = q == SIZE_MAX ? NULL : m.obj[q];

		got = idx_find_le(ix, m.obj[p]->key - 1);
		if (got != want)
			FAIL("idx_find_le(key of %s - 1) is %s, model %s",
			     describe(m.obj[p]), describe(got), describe(want));
	}
	if (below(2)) {
		size_t q = p;
		void *it = m.obj[p];

		for (int s = 1 + (int)below(32); s > 0 && it; s--) {
			q = next_in(q + 1);
			note("next", q, 0, 0);
			got = idx_next(ix, it);
			if (got != obj_or_null(q))
				FAIL("idx_next(%s) is %s, model %s",
				     describe(it), describe(got),
				     describe(obj_or_null(q)));
			it = got;
		}
	} else {
		size_t q = p;
		void *it = m.obj[p];

		for (int s = 1 + (int)below(32); s > 0 && it; s--) {
			q = q ? prev_in(q - 1) : SIZE_MAX;
			note("prev", q, 0, 0);
			got = idx_prev(ix, it);
			if (got != (q == SIZE_MAX ? NULL : m.obj[q]))
				FAIL("idx_prev(%s) is %s, model %s",
				     describe(it), describe(got),
				     describe(q == SIZE_MAX ? NULL : m.obj[q]));
			it = got;
		}
	}
	if (stray_allocs)
		FAIL("a lookup called aligned_alloc");
	if (m.small)
		check_ix(ix);
}

/* What the hit callback was given. */
static const uint64_t *warm_keys;
static size_t warm_n;
static const char *warm_bad;
static const void *warm_bad_item;

static void
on_hit(const void *p)
{
	struct item *it = (struct item *)(uintptr_t)p;
	bool listed = false;

	m.warm_hits++;
	if (warm_bad)
		return;
	if (!is_ours(p)) {
		warm_bad = "hit on a pointer that is no item";
		warm_bad_item = p;
		return;
	}
	for (size_t i = 0; i < warm_n; i++)
		listed |= warm_keys[i] == it->key;
	if (!it->in)
		warm_bad = "hit on an item not in the index";
	else if (!listed)
		warm_bad = "hit on an item whose key was not passed";
	warm_bad_item = p;
	it->hits++;
}

/* idx_warm(@keys, @n) changes nothing and hits exactly what it should. */
static void
warm_check(struct idx *ix, const uint64_t *keys, size_t n, bool with_hit)
{
	struct idx snap;
	size_t hits_before = m.warm_hits;

	memcpy(&snap, ix, sizeof(snap));
	warm_keys = keys;
	warm_n = n;
	warm_bad = NULL;
	note("warm", SIZE_MAX, n, n ? keys[0] : 0);
	idx_warm(ix, keys, n, with_hit ? on_hit : NULL);
	if (memcmp(&snap, ix, sizeof(snap)))
		FAIL("idx_warm changed the struct idx");
	if (stray_allocs)
		FAIL("idx_warm called aligned_alloc");
	if (warm_bad)
		FAIL("idx_warm: %s (%s)", warm_bad, describe(warm_bad_item));
	if (with_hit) {
		size_t present = 0, hits = m.warm_hits - hits_before;

		for (size_t i = 0; i < n; i++)
			present += model_find(keys[i]) != NULL;
		/*
		 * index.c skips the whole warm-up while lookups keep landing
		 * next to the cursor (its leaves are cached already): then no
		 * hit at all. Otherwise every item whose key was passed.
		 */
		if (present && !hits)
			m.warm_skipped++;
		else if (present)
			m.warm_full++;
		for (size_t i = 0; hits && i < n; i++) {
			struct item *o = model_find(keys[i]);
			unsigned mult = 0;

			if (!o)
				continue;
			for (size_t j = 0; j < n; j++)
				mult += keys[j] == keys[i];
			if (o->hits < 1 || o->hits > mult)
				FAIL("idx_warm hit %s %u times, its key was "
				     "passed %u times (%zu hits on %zu keys)",
				     describe(o), o->hits, mult, hits, n);
		}
		for (size_t i = 0; i < n; i++) {
			struct item *o = model_find(keys[i]);

			if (o)
				o->hits = 0;
		}
	}
	if (m.small)
		check_ix(ix);
	for (size_t i = 0; i < n; i++)
		lookup_check(ix, keys[i]);
}

static void
warm_op(struct idx *ix, size_t i)
{
	uint64_t keys[40];
	size_t n = below(41);

	for (size_t t = 0; t < n; t++) {
		switch (below(4)) {
		case 0:	/* the run a bind walks: members from slot i on */
			keys[t] = m.obj[(i + t) % m.k]->key;
			break;
		case 1:
			keys[t] = m.obj[below(m.k)]->key;
			break;
		default:
			keys[t] = probe_key();
			break;
		}
	}
	if (below(2))
		qsort(keys, n, sizeof(keys[0]), cmp_u64);
	warm_check(ix, n ? keys : NULL, n, below(4) != 0);
}

/* idx_warm at the edges: nothing, 0, UINT64_MAX, outside every range. */
static void
warm_edges(struct idx *ix)
{
	uint64_t keys[] = {
		0, UINT64_MAX, m.hi[m.k - 1] + 1, m.lo[m.k / 2],
		UINT64_MAX - 1, 1, m.obj[0]->key, m.obj[m.k - 1]->key,
	};

	warm_check(ix, NULL, 0, true);
	warm_check(ix, NULL, 0, false);
	warm_check(ix, keys, 1, true);
	warm_check(ix, keys + 1, 1, true);
	warm_check(ix, keys, sizeof(keys) / sizeof(keys[0]), true);
	warm_check(ix, keys, sizeof(keys) / sizeof(keys[0]), false);
}

static void
check_empty(struct idx *ix)
{
	if (ix->root || ix->height || ix->count)
		FAIL("not empty: root %p height %u count %zu", ix->root,
		     ix->height, ix->count);
	if (idx_first(ix) || idx_last(ix))
		FAIL("idx_first/idx_last of an empty index not NULL");
	if (idx_find_le(ix, UINT64_MAX) || idx_find(ix, 0) ||
	    idx_find(ix, UINT64_MAX) || idx_find_le(ix, 0))
		FAIL("a lookup in an empty index found something");
	check_ix(ix);
}

/* Remove everything, in random order; the index must end empty. */
static void
drain(struct idx *ix)
{
	size_t *order = malloc((m.count ? m.count : 1) * sizeof(*order));
	size_t n = 0;

	assert_non_null(order);
	for (size_t i = next_in(0); i < m.k; i = next_in(i + 1))
		order[n++] = i;
	if (n != m.count)
		FAIL("test bug: model count");
	for (size_t i = n; i > 1; i--) {
		size_t j = below(i), t = order[i - 1];

		order[i - 1] = order[j];
		order[j] = t;
	}
	for (size_t i = 0; i < n; i++) {
		if (below(8) == 0)
			pre_lookup(ix, order[i]);
		remove_slot(ix, order[i]);
		if (i % 64 == 0)
			lookups(ix, order[i]);
	}
	free(order);
	check_empty(ix);
	warm_edges(ix);
}

/* idx_fini leaves an empty index that idx_check passes and that works. */
static void
fini_check(struct idx *ix)
{
	note("fini", SIZE_MAX, ix->count, ix->bytes);
	for (size_t i = next_in(0); i < m.k; i = next_in(i + 1)) {
		m.obj[i]->in = false;
		clear_in(i);
	}
	idx_fini(ix);
	if (ix->chunks || ix->bytes || ix->n_spare_leaf || ix->n_spare_inner)
		FAIL("idx_fini kept memory (%zu bytes)", ix->bytes);
	if (live_bytes || nblocks)
		FAIL("idx_fini leaked %zu blocks, %zu bytes", nblocks,
		     live_bytes);
	check_empty(ix);
	if (stray_allocs)
		FAIL("idx_fini called aligned_alloc");
}

/* ---- the tests ---------------------------------------------------------- */

static void
random_operations_match_the_model(void **state)
{
	struct idx ix;

	(void)state;
	g_test = "random";
	rng.s = opt.seed;
	model_setup(opt.keys, opt.layout, opt.keys <= 1024);
	idx_init(&ix);
	check_empty(&ix);
	warm_edges(&ix);
	fini_check(&ix);	/* on an index that never allocated */
	idx_init(&ix);

	for (size_t step = 0; step < opt.count; step++) {
		/*
		 * A third of the steps walk on from the last slot touched,
		 * as binds walk pages in order; the rest jump anywhere.
		 */
		size_t i = below(3) ? below(m.k) :
			(m.last + 1 + below(2)) % m.k;
		uint64_t r = below(100);

		g_step = step;
		if (below(2))
			pre_lookup(&ix, i);
		if (r < 36)
			toggle(&ix, i);
		else if (r < 44)
			insert_run(&ix, i, 1);
		else if (r < 48)
			insert_run(&ix, i, -1);
		else if (r < 56)
			remap(&ix, i);
		else if (r < 63)
			remove_run(&ix, i, below(2) ? 1 : -1);
		else if (r < 68)
			multi_insert(&ix, i);
		else if (r < 92)
			lookups(&ix, i);
		else
			warm_op(&ix, i);
		m.last = m.last < m.k ? m.last : 0;
	}
	g_step = opt.count;
	check_ix(&ix);
	walk_check(&ix);
	printf("  %zu changes (%zu inserts, %zu removes, %zu replaces), up to "
	       "%zu items, height %zu, %zu bytes; %zu idx_reserve -ENOMEM; "
	       "idx_warm: %zu hits, %zu calls hit all, %zu skipped\n", m.ops,
	       m.inserts, m.removes, m.replaces, m.max_count, m.max_height,
	       ix.bytes, m.enomem, m.warm_hits, m.warm_full, m.warm_skipped);
	if (m.warm_skipped && !m.warm_full)
		FAIL("idx_warm skipped every call that had items to hit");
	drain(&ix);

	/* fill again and free it full */
	for (size_t i = 0; i < m.k && i < 5000; i++) {
		size_t j = below(m.k);

		if (!is_in(j))
			reserve_insert(&ix, j);
	}
	check_ix(&ix);
	walk_check(&ix);
	fini_check(&ix);
	/* usable after idx_fini */
	reserve_insert(&ix, m.k / 2);
	check_ix(&ix);
	walk_check(&ix);
	fini_check(&ix);
	model_free();
}

/*
 * With aligned_alloc failing, reservations succeed while spares and the
 * newest chunk last, then fail with -ENOMEM and nothing changed; with
 * memory back, they succeed again.
 */
static void
failed_reservation_changes_nothing(void **state)
{
	struct idx ix, snap;
	struct state s;
	size_t calls, fills = 0;
	unsigned big;
	int r;

	(void)state;
	g_test = "enomem";
	rng.s = opt.seed ^ UINT64_C(0x5eed0e0e);
	model_setup(20000, LAYOUT_SPREAD, false);
	idx_init(&ix);

	/* a fresh index holds nothing: its first reservation must allocate */
	memcpy(&snap, &ix, sizeof(snap));
	calls = alloc_calls;
	alloc_fails = alloc_may = true;
	r = idx_reserve(&ix, 1);
	alloc_fails = alloc_may = false;
	if (r != -ENOMEM)
		FAIL("idx_reserve(1) on a fresh index without memory: %d", r);
	if (alloc_calls == calls)
		FAIL("idx_reserve(1) on a fresh index did not allocate");
	if (memcmp(&snap, &ix, sizeof(snap)))
		FAIL("failed idx_reserve changed a fresh index");
	if (idx_reserved(&ix, 1))
		FAIL("idx_reserved(1) after a failed idx_reserve");
	check_empty(&ix);

	/* some items, and spares from removals */
	for (int t = 0; t < 3000; t++) {
		size_t j = below(m.k);

		if (!is_in(j))
			reserve_insert(&ix, j);
	}
	for (int t = 0; t < 1000; t++) {
		size_t j = below(m.k);

		if (is_in(j))
			remove_slot(&ix, j);
	}
	check_ix(&ix);
	walk_check(&ix);

	/* now every allocation fails: insert until a reservation fails */
	for (;;) {
		unsigned n = 1 + (unsigned)below(2);

		s = state_of(&ix);
		alloc_fails = alloc_may = true;
		r = idx_reserve(&ix, n);
		alloc_fails = alloc_may = false;
		note("reserve-fail", SIZE_MAX, n, (uint64_t)r);
		if (r == -ENOMEM) {
			check_unchanged(&ix, &s);
			break;
		}
		if (r != 0)
			FAIL("idx_reserve(%u) returned %d", n, r);
		if (!idx_reserved(&ix, n))
			FAIL("idx_reserved(%u) false after idx_reserve", n);
		for (unsigned t = 0; t < n; t++) {
			size_t j = below(m.k);

			for (int tries = 0; is_in(j) && tries < 64; tries++)
				j = below(m.k);
			if (is_in(j))
				j = next_in(0) ? 0 : next_in(0);
			while (j < m.k && is_in(j))
				j++;
			if (j >= m.k)
				FAIL("%zu items in and idx_reserve never failed",
				     m.count);
			insert_slot(&ix, j);
			fills++;
		}
	}
	if (fills == 0)
		FAIL("test bug: the first reservation failed at once");
	/* the same reservation again, still failing: still nothing changed */
	s = state_of(&ix);
	alloc_fails = alloc_may = true;
	r = idx_reserve(&ix, 2);
	alloc_fails = alloc_may = false;
	if (r != -ENOMEM)
		FAIL("idx_reserve(2) after -ENOMEM, memory still failing: %d", r);
	check_unchanged(&ix, &s);

	/* memory back: reservations succeed and inserts go on */
	for (int t = 0; t < 200; t++) {
		size_t j = below(m.k);

		if (!is_in(j))
			reserve_insert(&ix, j);
	}
	check_ix(&ix);
	walk_check(&ix);

	/* more inserts than all the memory held could serve: must allocate */
	big = (unsigned)(ix.n_spare_leaf + ix.bytes / sizeof(struct idx_leaf)
			 + 1);
	s = state_of(&ix);
	alloc_fails = alloc_may = true;
	r = idx_reserve(&ix, big);
	alloc_fails = alloc_may = false;
	if (r != -ENOMEM)
		FAIL("idx_reserve(%u) beyond all memory held, without memory: %d",
		     big, r);
	check_unchanged(&ix, &s);

	printf("  -ENOMEM after %zu inserts on the memory held\n", fills);
	drain(&ix);
	fini_check(&ix);
	model_free();
}

/*
 * After idx_reserve(ix, k) succeeds, k inserts never call aligned_alloc,
 * wherever they land and whatever they split: random places, ascending
 * and descending runs (which grow the right and left edges), one place.
 */
static void
reserved_inserts_never_allocate(void **state)
{
	struct idx ix;

	(void)state;
	g_test = "reserved";
	rng.s = opt.seed ^ UINT64_C(0x7e5e7fed);
	model_setup(40000, below(2) ? LAYOUT_SPREAD : LAYOUT_EDGES, false);
	idx_init(&ix);
	for (size_t round = 0; m.count < m.k * 3 / 4; round++) {
		unsigned k = 1 + (unsigned)below(round % 3 ? 4 : 16);
		size_t i = below(m.k);
		int dir = below(2) ? 1 : -1;
		size_t todo[16], n = 0;

		g_step = round;
		switch (round % 4) {
		case 0:	/* random places */
			for (unsigned t = 0; t < 4 * k && n < k; t++) {
				size_t j = below(m.k);
				bool dup = false;

				for (size_t x = 0; x < n; x++)
					dup |= todo[x] == j;
				if (!is_in(j) && !dup)
					todo[n++] = j;
			}
			break;
		default:	/* a run */
			for (size_t j = i; j < m.k && n < k; j += (size_t)dir)
				if (!is_in(j))
					todo[n++] = j;
			break;
		}
		if (!n)
			continue;
		reserve(&ix, (unsigned)n);
		for (size_t x = 0; x < n; x++)
			insert_slot(&ix, todo[x]);	/* counts stray allocs */
		/* sometimes give nodes back, so spares come and go */
		if (round % 16 == 15)
			remove_run(&ix, below(m.k), 1);
	}
	check_ix(&ix);
	walk_check(&ix);
	drain(&ix);
	fini_check(&ix);
	model_free();
}

/* idx_fini frees a full index (ASan and valgrind see leaks), twice over. */
static void
fini_frees_a_full_index(void **state)
{
	struct idx ix;

	(void)state;
	g_test = "fini";
	rng.s = opt.seed ^ UINT64_C(0xf1f1);
	model_setup(30000, LAYOUT_RANDOM, false);
	idx_init(&ix);
	for (int round = 0; round < 3; round++) {
		size_t want = round == 2 ? 1 : 1000 + below(m.k - 1000);

		while (m.count < want) {
			size_t j = below(m.k);

			if (!is_in(j))
				reserve_insert(&ix, j);
		}
		check_ix(&ix);
		walk_check(&ix);
		fini_check(&ix);
	}
	idx_fini(&ix);		/* again, on an empty index */
	check_empty(&ix);
	model_free();
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_operations_match_the_model),
		cmocka_unit_test(failed_reservation_changes_nothing),
		cmocka_unit_test(reserved_inserts_never_allocate),
		cmocka_unit_test(fini_frees_a_full_index),
	};
	int rc;

	for (int i = 1; i < argc; i++) {
		/* a number as traces write them; a bad one is a usage error */
		uint64_t v = 0;
		bool num = i + 1 < argc && trace_parse_u64(argv[i + 1], &v);
		bool layout = false;

		if (!strcmp(argv[i], "--layout") && i + 1 < argc) {
			for (int l = 0; l < 3; l++) {
				if (!strcmp(argv[i + 1], layout_name[l])) {
					opt.layout = (enum layout)l;
					layout = true;
				}
			}
		}
		if (layout)
			i++;
		else if (!strcmp(argv[i], "--seed") && num)
			opt.seed = v, i++;
		else if (!strcmp(argv[i], "--count") && num && v && v <= SIZE_MAX)
			opt.count = (size_t)v, i++;
		else if (!strcmp(argv[i], "--keys") && num && v && v <= MAX_KEYS)
			opt.keys = (size_t)v, i++;
		else {
			fprintf(stderr, "usage: %s [--seed S] [--count N] "
				"[--keys K] [--layout spread|edges|random]\n"
				"  (N >= 1, 1 <= K <= %zu)\n", argv[0],
				MAX_KEYS);
			return 2;
		}
	}
	printf("property-index: seed 0x%" PRIx64 ", %zu operations, %zu keys, "
	       "layout %s\n", opt.seed, opt.count, opt.keys,
	       layout_name[opt.layout]);
	rc = cmocka_run_group_tests_name("property-index", tests, NULL, NULL);
	free(blocks);
	return rc;
}
