/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The node and root types of libgpuva's balanced search tree.
 *
 * They are public only because they are embedded: struct gpuva (a mapping)
 * and struct gpuva_heap (the VA allocator) contain them. Their fields are
 * private to the library; drivers never read or write them. The operations
 * are internal (lib/tree/tree.h).
 *
 * Why this tree: it is a threaded AVL tree keyed by a 64-bit integer. Each
 * node is 24 bytes: the key and two tagged links, where a link is either a
 * child or, when the child is missing, a "thread" to the in-order neighbour
 * on that side. Threads give O(1) amortised next/prev steps without a parent
 * pointer or a separate address list (drm_gpuvm keeps both: 40 bytes), and
 * the AVL balance bits live in the links' low bits. That is what lets a whole
 * mapping fit in 64 bytes. Insert and remove never allocate and are
 * O(log n) worst case; an optional augment callback keeps per-subtree data
 * (the heap's "largest hole below") up to date.
 */
#ifndef GPUVA_TREE_H
#define GPUVA_TREE_H

#include <stddef.h>
#include <stdint.h>

/** A tree node, embedded in the keyed object. Private fields. */
struct gpuva_tree_node {
	uint64_t key;		/**< sort key; unique within one tree */
	uintptr_t link[2];	/**< private: left/right child or thread, tag bits */
};

/**
 * Private: the path of the last cached lookup, so that the insert, remove
 * or replace right after it need not descend from the root again.
 */
struct gpuva_tree_path {
	struct gpuva_tree_node *node[96];	/**< root first */
	unsigned char dir[96];			/**< direction taken at each */
	unsigned depth;				/**< entries; 0: no path */
	unsigned char finger;	/**< lookups from the path lately paid (0-3) */
	unsigned char probe;	/**< counts lookups, to retry the path */
};

/** A tree root. Private fields; zero-initialised means empty, no augment. */
struct gpuva_tree {
	struct gpuva_tree_node *root;	/**< private */
	size_t count;			/**< number of nodes */
	/** private: recompute a node's augmented data from its children */
	void (*augment)(struct gpuva_tree_node *node);
	struct gpuva_tree_path path;	/**< private: lookup cache */
};

#endif /* GPUVA_TREE_H */
