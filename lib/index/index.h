/* SPDX-License-Identifier: MIT */
/*
 * Internal interface of the index layer: the B+tree that keeps a VM's
 * mappings in address order.
 *
 * Why a B+tree and not the threaded AVL tree of lib/tree: a lookup in a
 * binary tree of 500,000 mappings reads 19 nodes one after another, and the
 * bottom five or six of them miss the caches; the B+tree reads five inner
 * nodes (a few KiB per thousand mappings, so they stay cached) and one leaf,
 * and its search over keys kept in the inner nodes costs a third of the
 * instructions. The mapping itself then carries no tree links: a struct
 * gpuva is 48 bytes, and the index adds about 15 per mapping, under the 64
 * the AVL node needed.
 *
 * Shape:
 * - Items are the caller's objects; the index reads each one's key from its
 *   first 8 bytes (struct gpuva's addr) and never writes them. Keys are
 *   unique; the VM guarantees it (its mappings never overlap).
 * - Leaves hold up to IDX_LEAF_CAP item pointers, sorted by key. Inner
 *   nodes hold up to IDX_FANOUT children and one separator key fewer;
 *   every separator is exactly the smallest key of the subtree right of it,
 *   so a descent always lands in the leaf that holds the answer.
 * - Leaves keep pointers, not keys, because keys beside the pointers would
 *   cost 8 more bytes a mapping. A leaf search asks for all its items'
 *   lines at once, so their misses overlap, then bisects. Slots past a
 *   leaf's fill point to a padding item keyed UINT64_MAX, so that the
 *   bisect takes four fixed steps and the prefetch needs no test.
 *
 * Allocation: insert and rebalancing never call malloc. Nodes come from a
 * spare list that idx_reserve() fills beforehand, so that an insert made
 * while committing ops cannot fail (the library's "commit cannot fail").
 * Removal returns nodes to the spare lists; nodes are carved from chunks
 * that are freed only by idx_fini().
 *
 * Cursor: the index remembers where the last operation was (leaf, slot, the
 * path down to it and the leaf's key bounds). A lookup whose key falls in
 * that leaf skips the descent, and next/prev/remove/replace of the item at
 * (or near) the cursor find it without a search: binds walk pages in order.
 * Every function keeps the cursor valid or drops it; it is a cache only.
 *
 * Nothing here is thread-safe; the VM's caller serialises.
 */
#ifndef GPUVA_LIB_INDEX_H
#define GPUVA_LIB_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDX_LEAF_CAP	15	/* items a leaf holds: 128 bytes */
#define IDX_FANOUT	16	/* children an inner node holds: 256 bytes */
#define IDX_MIN_LEAF	7	/* a leaf below this after a removal is rebalanced */
#define IDX_MIN_FANOUT	8	/* fewest children of a non-root inner node */
/* Levels: with >= 8 children per inner node, 2^64 items need fewer. */
#define IDX_MAX_LEVELS	24

struct idx_leaf {
	uint32_t n;			/* items held */
	uint32_t unused;
	void *slot[IDX_LEAF_CAP];	/* items, ascending keys */
};

struct idx_inner {
	uint32_t n;			/* children held, >= 2 */
	uint32_t unused;
	/*
	 * Separators, in breadth-first order of a 15-node search tree
	 * (index.c, idx_ey): the i-th smallest is the smallest key under
	 * child[i + 1]; UINT64_MAX past the (n - 1)-th.
	 */
	uint64_t key[IDX_FANOUT - 1];
	void *child[IDX_FANOUT];
};

_Static_assert(sizeof(struct idx_leaf) == 128, "a leaf is two cache lines");
_Static_assert(sizeof(struct idx_inner) == 256, "an inner node is four lines");

/* Where the last operation was. Private to index.c. */
struct idx_cursor {
	struct idx_inner *node[IDX_MAX_LEVELS];	/* root first; leaf's parent last */
	unsigned char ci[IDX_MAX_LEVELS];	/* child taken at each */
	struct idx_leaf *leaf;
	unsigned pos;		/* slot in leaf, < leaf->n */
	/*
	 * The leaf's keys lie in [lo, hi): separators, or 0 and UINT64_MAX
	 * where the leaf is at an edge (so a key of UINT64_MAX is never
	 * "covered"; it takes a descent). Empty when the cursor is dropped.
	 */
	uint64_t lo, hi;
	bool valid;
	unsigned char near;	/* lookups near the cursor lately paid (0-3) */
	unsigned char probe;	/* counts lookups, to retry when near is 0 */
};

struct idx_chunk;

struct idx {
	void *root;		/* a leaf when height == 1; NULL when empty */
	unsigned height;	/* levels, leaves included; 0 when empty */
	size_t count;		/* items */
	struct idx_cursor cur;

	/* spare nodes, linked through their first pointer-sized word */
	void *spare_leaf, *spare_inner;
	size_t n_spare_leaf, n_spare_inner;
	struct idx_chunk *chunks;	/* every chunk, for idx_fini() */
	char *bump, *bump_end;		/* unused part of the newest chunk */
	size_t bytes;			/* chunk memory held */
};

/* The key of an item: its first 8 bytes. */
static inline uint64_t
idx_key(const void *item)
{
	return *(const uint64_t *)item;
}

/*
 * The end of an item's extent, for idx_find_from(): its key plus its next
 * 8 bytes (struct gpuva's addr + range). Read here rather than through a
 * callback: every request's first search ends with it.
 */
static inline uint64_t
idx_extent_end(const void *item)
{
	const uint64_t *w = item;

	return w[0] + w[1];
}

void idx_init(struct idx *ix);

/* Free every node (not the items). The index is then empty and usable. */
void idx_fini(struct idx *ix);

/*
 * Make sure the next @inserts idx_insert() calls cannot run out of nodes,
 * whatever rebalancing they do. 0, or -ENOMEM with nothing changed but
 * possibly more spare nodes. Cheap when already reserved (a compare).
 * Meant for a handful of inserts (one request's worth).
 */
int idx_reserve(struct idx *ix, unsigned inserts);

/*
 * Inner nodes @inserts inserts may need: each may split one node per inner
 * level and add a root, and each may raise the height for the next.
 */
static inline size_t
idx_inner_need(const struct idx *ix, unsigned inserts)
{
	return (size_t)inserts * (ix->height + 1) +
	       (size_t)inserts * (inserts - 1) / 2;
}

/*
 * Make sure the next @inserts idx_insert() calls cannot run out of nodes,
 * for a batch of any size (a transaction's commit). Unlike idx_reserve()
 * it carves nothing: it makes sure the spare lists and the unused part of
 * the newest chunk cover the worst case, which for big batches is far
 * more than is ever used, so that the memory is only taken when touched.
 * 0, or -ENOMEM with nothing changed.
 */
int idx_reserve_many(struct idx *ix, size_t inserts);

/* The index's node memory at one moment (idx_mark()), for idx_rewind(). */
struct idx_mark {
	void *spare_leaf, *spare_inner;
	size_t n_spare_leaf, n_spare_inner;
	struct idx_chunk *chunks;
	char *bump, *bump_end;
	size_t bytes;
};

void idx_mark(const struct idx *ix, struct idx_mark *m);

/*
 * Undo the reservations made since idx_mark(): free the chunks added and
 * put the spare lists back. Only valid when no node was taken or given
 * back since the mark (nothing inserted or removed). Cannot fail.
 */
void idx_rewind(struct idx *ix, const struct idx_mark *m);

/* Would idx_reserve(ix, inserts) be a no-op? Inline: every map asks. */
static inline bool
idx_reserved(const struct idx *ix, unsigned inserts)
{
	return ix->n_spare_leaf >= inserts &&
	       ix->n_spare_inner >= idx_inner_need(ix, inserts);
}

/* The item with the largest key <= @key, or NULL. Moves the cursor there. */
void *idx_find_le(struct idx *ix, uint64_t key);

/*
 * The item whose extent [idx_key(item), idx_extent_end(item)) holds @key
 * or, failing that, the first one above @key; NULL if none. Moves the
 * cursor there. (The VM's "the mapping containing addr, or the next": one
 * search, no second lookup.)
 */
void *idx_find_from(struct idx *ix, uint64_t key);

/* The item with exactly @key, or NULL. */
void *idx_find(struct idx *ix, uint64_t key);

/* Lowest / highest item, or NULL when empty. */
void *idx_first(struct idx *ix);
void *idx_last(struct idx *ix);

/* In-order neighbour of @item (which must be in the index), or NULL. */
void *idx_next(struct idx *ix, const void *item);
void *idx_prev(struct idx *ix, const void *item);

/*
 * Insert @item, whose key is not in the index. Takes nodes reserved by
 * idx_reserve() (one reservation per insert); with none reserved it tries
 * to allocate and aborts if that fails, because a caller that did not
 * reserve is a library bug. O(log n). The cursor ends on @item.
 */
void idx_insert(struct idx *ix, void *item);

/* Remove @item, which must be in the index. Never allocates. O(log n). */
void idx_remove(struct idx *ix, const void *item);

/*
 * Drop every item, keeping the nodes as spares (for an index that is
 * refilled often). O(nodes). Never allocates.
 */
void idx_clear(struct idx *ix);

/*
 * Put @new in @old's slot. @new's key may differ from @old's only if the
 * order stays the same (it stays between @old's neighbours). O(1) near the
 * cursor, else O(log n). Never allocates.
 */
void idx_replace(struct idx *ix, const void *old, void *new);

/*
 * Prefetch what lookups of @keys will read: the inner nodes and leaf of
 * each, then the items in those leaves. @hit (may be NULL) is called on
 * each item whose key is one of @keys. Reads only; changes nothing, the
 * cursor included.
 */
void idx_warm(const struct idx *ix, const uint64_t *keys, size_t n,
	      void (*hit)(const void *item));

/*
 * Check every invariant: key order within and across nodes, exact
 * separators and their padding, fill limits, equal depth of leaves, item
 * count, spare counts, and the cursor's path and bounds. 0, or a negative
 * number with the first broken rule in @why (may be NULL). O(n).
 */
int idx_check(const struct idx *ix, const char **why);

#endif /* GPUVA_LIB_INDEX_H */
