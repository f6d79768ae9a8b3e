/* SPDX-License-Identifier: MIT */
/*
 * Internal interface of the tree layer: a threaded AVL tree, embedded in
 * the heap's hole records. (A VM's mappings live in lib/index instead.)
 *
 * Why this tree: it is a threaded AVL tree keyed by a 64-bit integer. Each
 * node is 24 bytes: the key and two tagged links, where a link is either a
 * child or, when the child is missing, a "thread" to the in-order neighbour
 * on that side. Threads give O(1) amortised next/prev steps without a parent
 * pointer, and the AVL balance bits live in the links' low bits. Insert and
 * remove never allocate and are O(log n) worst case; an optional augment
 * callback keeps per-subtree data (the heap's "largest hole below") up to
 * date, which a B+tree of pointers could not do as cheaply.
 *
 * Keys are unique within a tree; the heap guarantees it, because its
 * holes and allocations never overlap. Nothing here allocates or fails.
 */
#ifndef GPUVA_LIB_TREE_H
#define GPUVA_LIB_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A tree node, embedded in the keyed object. */
struct gpuva_tree_node {
	uint64_t key;		/**< sort key; unique within one tree */
	uintptr_t link[2];	/**< private: left/right child or thread, tag bits */
};

/**
 * Private: the path of the last change, so that the next insert or remove
 * nearby need not descend from the root again.
 */
struct gpuva_tree_path {
	struct gpuva_tree_node *node[96];	/**< root first */
	unsigned char dir[96];			/**< direction taken at each */
	unsigned depth;				/**< entries; 0: no path */
};

/** A tree root. Private fields; zero-initialised means empty, no augment. */
struct gpuva_tree {
	struct gpuva_tree_node *root;	/**< private */
	size_t count;			/**< number of nodes */
	/** private: recompute a node's augmented data from its children */
	void (*augment)(struct gpuva_tree_node *node);
	struct gpuva_tree_path path;	/**< private: lookup cache */
};

/* Link tag bits. Nodes are at least 8-byte aligned, so 3 bits are free. */
#define TREE_THREAD	((uintptr_t)1)	/* link is a thread, not a child */
#define TREE_HEAVY	((uintptr_t)2)	/* this side's subtree is taller by one */
#define TREE_TAGS	((uintptr_t)7)

/* Deeper than any AVL tree that fits in a 64-bit address space. */
#define TREE_MAX_DEPTH	96
_Static_assert(TREE_MAX_DEPTH == sizeof(((struct gpuva_tree_path *)0)->dir),
	       "the cached path holds a whole descent");

typedef void (*tree_augment_fn)(struct gpuva_tree_node *node);

static inline struct gpuva_tree_node *
tree_link_ptr(uintptr_t link)
{
	return (struct gpuva_tree_node *)(link & ~TREE_TAGS);
}

/* The child on side @dir (0 = left, 1 = right), or NULL when it is a thread. */
static inline struct gpuva_tree_node *
tree_child(const struct gpuva_tree_node *n, int dir)
{
	uintptr_t l = n->link[dir];

	return (l & TREE_THREAD) ? NULL : tree_link_ptr(l);
}

static inline struct gpuva_tree_node *
tree_root(const struct gpuva_tree *t)
{
	return t->root;
}

/* In-order successor (dir = 1) or predecessor (dir = 0); O(1) amortised. */
static inline struct gpuva_tree_node *
tree_step(const struct gpuva_tree_node *n, int dir)
{
	uintptr_t l = n->link[dir];
	struct gpuva_tree_node *c;

	if (l & TREE_THREAD)
		return tree_link_ptr(l);
	c = tree_link_ptr(l);
	while (!(c->link[!dir] & TREE_THREAD))
		c = tree_link_ptr(c->link[!dir]);
	return c;
}

static inline struct gpuva_tree_node *
tree_next(const struct gpuva_tree_node *n)
{
	return tree_step(n, 1);
}

static inline struct gpuva_tree_node *
tree_prev(const struct gpuva_tree_node *n)
{
	return tree_step(n, 0);
}

/* Lowest (dir = 0) or highest (dir = 1) node; NULL when empty. O(log n). */
struct gpuva_tree_node *tree_edge(const struct gpuva_tree *t, int dir);

static inline struct gpuva_tree_node *
tree_first(const struct gpuva_tree *t)
{
	return tree_edge(t, 0);
}

static inline struct gpuva_tree_node *
tree_last(const struct gpuva_tree *t)
{
	return tree_edge(t, 1);
}

/* Start empty; @augment may be NULL. */
void tree_init(struct gpuva_tree *t, tree_augment_fn augment);

/* Insert @n (n->key set, not present in the tree). O(log n). */
void tree_insert(struct gpuva_tree *t, struct gpuva_tree_node *n);

/* Remove @n, which must be in @t. O(log n). */
void tree_remove(struct gpuva_tree *t, struct gpuva_tree_node *n);

/* Node with the largest key <= @key, or NULL. O(log n). */
struct gpuva_tree_node *tree_find_le(const struct gpuva_tree *t, uint64_t key);

/* Node with exactly @key, or NULL. O(log n). */
struct gpuva_tree_node *tree_find(const struct gpuva_tree *t, uint64_t key);

/*
 * Check every invariant: order, thread targets, AVL balance and tags, count.
 * Returns 0 or a negative number naming the first broken rule, with a
 * description in @why (may be NULL). O(n); for tests and GPUVA_VM_CHECK.
 */
int tree_check(const struct gpuva_tree *t, const char **why);

#endif /* GPUVA_LIB_TREE_H */
