/* SPDX-License-Identifier: MIT */
/*
 * The tree layer: a threaded AVL tree with an explicit path stack.
 *
 * Why threaded AVL: a missing child link becomes a thread to the in-order
 * neighbour, so next/prev need neither a parent pointer nor a second list,
 * and a node is just key + two links (24 bytes). Without parent pointers,
 * insert and remove need the path from the root: they take it from the path
 * the last change cached (struct gpuva_tree_path), else descend. An insert
 * starts at that path's end and checks the thread it lands on, which names
 * the in-order neighbour, so a key next to the last change costs a few
 * levels. AVL keeps the height <= 1.44 log2(n), shallower than a red-black
 * tree.
 *
 * What it leaves out: duplicate keys (the heap never has them), interval
 * logic (non-overlapping intervals sorted by start need none), and
 * allocation of any kind.
 *
 * Tags: bit 0 of a link says "thread"; bit 1 says "this side is the taller
 * subtree". Both heavy bits clear means balanced.
 */
#include <stddef.h>
#include <string.h>

#include "tree.h"

typedef struct gpuva_tree_node node_t;

static inline bool
is_thread(const node_t *n, int dir)
{
	return n->link[dir] & TREE_THREAD;
}

static inline bool
is_heavy(const node_t *n, int dir)
{
	return n->link[dir] & TREE_HEAVY;
}

static inline bool
is_balanced(const node_t *n)
{
	return !((n->link[0] | n->link[1]) & TREE_HEAVY);
}

/* Make @c the child on side @dir; keeps the heavy bit of that side. */
static inline void
set_child(node_t *n, int dir, node_t *c)
{
	n->link[dir] = (uintptr_t)c | (n->link[dir] & TREE_HEAVY);
}

/* Make side @dir a thread to @to (may be NULL); keeps the heavy bit. */
static inline void
set_thread(node_t *n, int dir, node_t *to)
{
	n->link[dir] = (uintptr_t)to | TREE_THREAD | (n->link[dir] & TREE_HEAVY);
}

/* heavy: -1 balanced, else the taller side. */
static inline void
set_heavy(node_t *n, int heavy)
{
	n->link[0] &= ~TREE_HEAVY;
	n->link[1] &= ~TREE_HEAVY;
	if (heavy >= 0)
		n->link[heavy] |= TREE_HEAVY;
}

static inline void
augment(const struct gpuva_tree *t, node_t *n)
{
	if (t->augment)
		t->augment(n);
}

void
tree_init(struct gpuva_tree *t, tree_augment_fn fn)
{
	t->root = NULL;
	t->count = 0;
	t->augment = fn;
	t->path.depth = 0;
}

node_t *
tree_edge(const struct gpuva_tree *t, int dir)
{
	node_t *n = t->root;

	if (!n)
		return NULL;
	while (!is_thread(n, dir))
		n = tree_link_ptr(n->link[dir]);
	return n;
}

node_t *
tree_find_le(const struct gpuva_tree *t, uint64_t key)
{
	node_t *n = t->root, *best = NULL;

	while (n) {
		int dir;

		/*
		 * Lookups in a big VM are bound by cache misses, one per
		 * level. Asking for both children while this key is compared
		 * overlaps the next miss with this level's work.
		 */
		__builtin_prefetch(tree_link_ptr(n->link[0]));
		__builtin_prefetch(tree_link_ptr(n->link[1]));
		if (n->key == key)
			return n;
		dir = n->key < key;
		if (dir)
			best = n;
		if (is_thread(n, dir))
			break;
		n = tree_link_ptr(n->link[dir]);
	}
	return best;
}

/*
 * After an insert or remove: the first @keep path entries still lead from
 * the root to where they did. Keep them as the cached path, so that the next
 * lookup or insert nearby (binds walk pages in order; a page unbound is often
 * bound again) starts down there.
 */
static inline void
path_keep(struct gpuva_tree *t, int keep)
{
	t->path.depth = keep > 0 ? (unsigned)keep : 0;
}

/* Index of @n on the cached path, or -1. */
static int
path_index(const struct gpuva_tree *t, const node_t *n)
{
	for (int i = (int)t->path.depth - 1; i >= 0; i--)
		if (t->path.node[i] == n)
			return i;
	return -1;
}

node_t *
tree_find(const struct gpuva_tree *t, uint64_t key)
{
	node_t *n = tree_find_le(t, key);

	return n && n->key == key ? n : NULL;
}

/*
 * Rotations. @p is the subtree root, @dir the side of its taller child c.
 * Threads survive because a subtree that becomes empty on one side of a
 * moved node gets a thread to that node's in-order neighbour, which after
 * the rotation is the node that moved above it. Heavy bits are set by the
 * callers, which know the case; augmented data is redone bottom-up here.
 */
static node_t *
rotate_single(const struct gpuva_tree *t, node_t *p, int dir)
{
	node_t *c = tree_link_ptr(p->link[dir]);

	if (is_thread(c, !dir))
		set_thread(p, dir, c);
	else
		set_child(p, dir, tree_link_ptr(c->link[!dir]));
	set_child(c, !dir, p);
	augment(t, p);
	augment(t, c);
	return c;
}

static node_t *
rotate_double(const struct gpuva_tree *t, node_t *p, int dir)
{
	node_t *c = tree_link_ptr(p->link[dir]);
	node_t *g = tree_link_ptr(c->link[!dir]);
	int gh = is_heavy(g, dir) ? dir : is_heavy(g, !dir) ? !dir : -1;

	if (is_thread(g, dir))
		set_thread(c, !dir, g);
	else
		set_child(c, !dir, tree_link_ptr(g->link[dir]));
	if (is_thread(g, !dir))
		set_thread(p, dir, g);
	else
		set_child(p, dir, tree_link_ptr(g->link[!dir]));
	set_child(g, dir, c);
	set_child(g, !dir, p);

	/* g's taller side decides which of the two ends up lopsided */
	set_heavy(c, gh == !dir ? dir : -1);
	set_heavy(p, gh == dir ? !dir : -1);
	set_heavy(g, -1);
	augment(t, p);
	augment(t, c);
	augment(t, g);
	return g;
}

static inline void
relink(struct gpuva_tree *t, node_t **stk, const unsigned char *dirs, int i,
       node_t *n)
{
	if (i == 0)
		t->root = n;
	else
		set_child(stk[i - 1], dirs[i - 1], n);
}

static inline void
augment_stack(const struct gpuva_tree *t, node_t **stk, int k)
{
	if (t->augment)
		while (k-- > 0)
			t->augment(stk[k]);
}

void
tree_insert(struct gpuva_tree *t, node_t *n)
{
	/* the path arrays double as the stack; what still holds is kept */
	struct gpuva_tree_path *pa = &t->path;
	node_t **stk = pa->node;
	unsigned char *dirs = pa->dir;
	node_t *p = t->root;
	int k = 0, dir = 0;

	t->count++;
	if (!p) {
		n->link[0] = n->link[1] = TREE_THREAD;
		t->root = n;
		augment(t, n);
		stk[0] = n;
		path_keep(t, 1);
		return;
	}
	/*
	 * Start where the cached path ends (usually where the lookup before
	 * this insert stopped). The descent ends on a thread; the slot is
	 * right if n's key lies between the node and the thread's target,
	 * its in-order neighbour. Else start again from the root.
	 */
	bool from_root = true;

	if (pa->depth > 1) {
		k = (int)pa->depth - 1;
		p = pa->node[k];
		from_root = false;
	}
	for (;;) {
		for (;;) {
			dir = p->key < n->key;
			stk[k] = p;
			dirs[k++] = dir;
			if (is_thread(p, dir))
				break;
			p = tree_link_ptr(p->link[dir]);
		}
		node_t *nb = tree_link_ptr(p->link[dir]);

		if (from_root || !nb ||
		    (dir ? n->key < nb->key : nb->key < n->key))
			break;
		k = 0;
		p = t->root;
		from_root = true;
	}
	/* n inherits p's thread on side dir; its other side threads to p */
	n->link[dir] = p->link[dir] & ~TREE_HEAVY;
	n->link[!dir] = (uintptr_t)p | TREE_THREAD;
	set_child(p, dir, n);
	/*
	 * Augmented data first, bottom-up along the path: a rotation keeps
	 * the set of nodes under the subtree root, so the nodes above a
	 * rotation stay right, and the rotation redoes only the nodes it
	 * moves, from children that are right by then.
	 */
	augment(t, n);
	augment_stack(t, stk, k);

	for (int i = k - 1; i >= 0; i--) {
		p = stk[i];
		dir = dirs[i];
		if (is_heavy(p, !dir)) {
			set_heavy(p, -1);
			break;
		}
		if (is_balanced(p)) {
			set_heavy(p, dir);
			continue;
		}
		/* p was already taller on dir and grew again: rotate */
		node_t *c = tree_link_ptr(p->link[dir]), *top;

		if (is_heavy(c, dir)) {
			top = rotate_single(t, p, dir);
			set_heavy(p, -1);
			set_heavy(c, -1);
		} else {
			top = rotate_double(t, p, dir);
		}
		relink(t, stk, dirs, i, top);
		/* top took p's place; the path ends there */
		stk[i] = top;
		path_keep(t, i + 1);
		return;
	}
	/* the path leads to n */
	stk[k] = n;
	path_keep(t, k + 1);
}

/* Path from the root down to the node with @key; returns its depth. */
static int
find_path(const struct gpuva_tree *t, uint64_t key, node_t **stk,
	  unsigned char *dirs)
{
	node_t *p = t->root;
	int k = 0;

	while (p->key != key) {
		int dir = p->key < key;

		stk[k] = p;
		dirs[k++] = dir;
		p = tree_link_ptr(p->link[dir]);
	}
	return k;
}


/*
 * Depth of @n with the path to it in t->path's arrays: the cached path
 * when @n is on it, else a fresh descent written over it.
 */
static int
cached_path(struct gpuva_tree *t, const node_t *n)
{
	int i = path_index(t, n);

	return i >= 0 ? i : find_path(t, n->key, t->path.node, t->path.dir);
}

void
tree_remove(struct gpuva_tree *t, node_t *n)
{
	node_t **stk = t->path.node;
	unsigned char *dirs = t->path.dir;
	int k = cached_path(t, n);
	int top;

	t->path.depth = 0;	/* the arrays are the stack from here on */
	t->count--;
	if (is_thread(n, 1)) {
		/* No right child: the left child, if any, is a leaf (AVL). */
		if (is_thread(n, 0)) {
			if (k == 0)
				t->root = NULL;
			else
				set_thread(stk[k - 1], dirs[k - 1],
					   tree_link_ptr(n->link[dirs[k - 1]]));
		} else {
			node_t *l = tree_link_ptr(n->link[0]);

			l->link[1] = n->link[1] & ~TREE_HEAVY;
			relink(t, stk, dirs, k, l);
		}
		top = k - 1;
	} else {
		node_t *r = tree_link_ptr(n->link[1]);
		int heavy = is_heavy(n, 0) ? 0 : is_heavy(n, 1) ? 1 : -1;

		if (is_thread(r, 0)) {
			/* r is n's successor: it moves up into n's place */
			r->link[0] = n->link[0];
			if (!is_thread(n, 0))
				tree_prev(n)->link[1] =
					(uintptr_t)r | TREE_THREAD;
			set_heavy(r, heavy);
			relink(t, stk, dirs, k, r);
			stk[k] = r;
			dirs[k] = 1;
			top = k;
		} else {
			/* the successor s is deeper: unhook it, put it in n's place */
			int j = k;
			node_t *s;

			stk[j] = n;	/* replaced by s below */
			dirs[j] = 1;
			k++;
			s = r;
			while (!is_thread(s, 0)) {
				stk[k] = s;
				dirs[k++] = 0;
				s = tree_link_ptr(s->link[0]);
			}
			node_t *sp = stk[k - 1];

			if (is_thread(s, 1))
				set_thread(sp, 0, s);
			else
				set_child(sp, 0, tree_link_ptr(s->link[1]));
			s->link[0] = n->link[0];
			s->link[1] = n->link[1];
			if (!is_thread(n, 0))
				tree_prev(n)->link[1] =
					(uintptr_t)s | TREE_THREAD;
			set_heavy(s, heavy);
			relink(t, stk, dirs, j, s);
			stk[j] = s;
			top = k - 1;
		}
	}

	/* augmented data before rotations, as in tree_insert() */
	augment_stack(t, stk, top + 1);

	/*
	 * Rebalance: the subtree on side dirs[i] of stk[i] got shorter.
	 * keep: how many path entries from the root still lead where they
	 * did (n's ancestors, down to the first rotated node).
	 */
	int i, keep = k;

	for (i = top; i >= 0; i--) {
		node_t *p = stk[i];
		int dir = dirs[i];

		if (is_balanced(p)) {
			set_heavy(p, !dir);
			break;
		}
		if (is_heavy(p, dir)) {
			set_heavy(p, -1);
			continue;
		}
		int s = !dir;
		node_t *c = tree_link_ptr(p->link[s]), *nt;

		keep = i < keep ? i : keep;
		if (is_balanced(c)) {
			nt = rotate_single(t, p, s);
			set_heavy(p, s);
			set_heavy(c, dir);
			relink(t, stk, dirs, i, nt);
			break;
		}
		if (is_heavy(c, s)) {
			nt = rotate_single(t, p, s);
			set_heavy(p, -1);
			set_heavy(c, -1);
		} else {
			nt = rotate_double(t, p, s);
		}
		relink(t, stk, dirs, i, nt);
	}
	path_keep(t, keep);
}


/* Returns the height of @n's subtree, or -1 on a broken rule. */
static int
check_node(const node_t *n, const node_t *lo, const node_t *hi, size_t *count,
	   const char **why)
{
	int h[2];
	const node_t *nb[2] = { lo, hi };

	if (((uintptr_t)n & TREE_TAGS) != 0) {
		*why = "misaligned node";
		return -1;
	}
	if (is_heavy(n, 0) && is_heavy(n, 1)) {
		*why = "both sides tagged heavy";
		return -1;
	}
	(*count)++;
	for (int d = 0; d < 2; d++) {
		if (is_thread(n, d)) {
			if (tree_link_ptr(n->link[d]) != nb[d]) {
				*why = "thread does not point at the in-order neighbour";
				return -1;
			}
			h[d] = 0;
			continue;
		}
		const node_t *c = tree_link_ptr(n->link[d]);

		if (!c || (d == 0 ? !(c->key < n->key) : !(c->key > n->key))) {
			*why = "keys out of order";
			return -1;
		}
		if ((d == 0 && lo && !(c->key > lo->key)) ||
		    (d == 1 && hi && !(c->key < hi->key))) {
			*why = "key outside its subtree's window";
			return -1;
		}
		h[d] = check_node(c, d == 0 ? lo : n, d == 0 ? n : hi, count, why);
		if (h[d] < 0)
			return -1;
	}
	int diff = h[1] - h[0];

	if (diff < -1 || diff > 1) {
		*why = "AVL height difference above one";
		return -1;
	}
	if ((diff == 0) != is_balanced(n) || (diff == 1) != is_heavy(n, 1) ||
	    (diff == -1) != is_heavy(n, 0)) {
		*why = "heavy tag disagrees with subtree heights";
		return -1;
	}
	return 1 + (h[0] > h[1] ? h[0] : h[1]);
}

int
tree_check(const struct gpuva_tree *t, const char **why)
{
	const char *dummy;
	size_t count = 0;

	if (!why)
		why = &dummy;
	*why = NULL;
	if (t->root && check_node(t->root, NULL, NULL, &count, why) < 0)
		return -1;
	if (count != t->count) {
		*why = "node count disagrees with the tree's count";
		return -2;
	}
	return 0;
}
