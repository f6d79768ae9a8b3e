/* SPDX-License-Identifier: MIT */
/*
 * The bind layer's transaction, shared by its files: bind.c (requests and
 * the view they are generated against), commit.c (the backend call and what
 * follows) and net.c (the net effect).
 *
 * A transaction never changes the VM before its commit. It keeps aside:
 * - the mappings its requests made ("made"), the live ones also in a small
 *   index of their own ("overlay");
 * - the VM's mappings its requests cut ("hidden"): every mapping of the VM
 *   that overlaps a request's range, marked as such in their private word
 *   so the view tells them at once;
 * - every mapping it took from the VM's allocator, in order, so that a
 *   rollback gives them back exactly (vm_slab_rewind()).
 * Requests are generated against the view "VM minus hidden plus overlay",
 * which is what the VM would show had the earlier requests been applied.
 * At the commit the hidden mappings sorted by address and the live made
 * ones in order tell what changed where: every page a request changed
 * lies under one of them. The net effect and the landing walk those two
 * arrays region by region, never the VM's index.
 */
#ifndef GPUVA_LIB_BIND_INTERNAL_H
#define GPUVA_LIB_BIND_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpuva/backend.h"
#include "gpuva/bind.h"
#include "index/index.h"
#include "ops/ops_internal.h"
#include "util/util.h"
#include "vm/vm_internal.h"

/* No request: a made mapping still alive. */
#define TXN_NONE UINT32_MAX

/* A mapping the transaction made: request @created made it, @removed cut it. */
struct txn_made {
	struct gpuva *va;
	uint32_t created, removed;
};

/*
 * A mapping of the VM that request @removed, of range [.., @end), cut: the
 * view skips the rest of that range at once.
 */
struct txn_hidden {
	struct gpuva *va;
	uint32_t removed;
	uint64_t end;
};

/*
 * The private word of a mapping of a VM with a backend, during a
 * transaction: 0 for the VM's own, TXN_HIDDEN_TAG | (index in hidden + 1)
 * for one a request cut, index in made + 1 for one the transaction made.
 */
#define TXN_HIDDEN_TAG (1u << 31)

/* A growable array of @size-byte items. */
struct txn_vec {
	void *p;
	size_t n, cap;
};

struct txn_range {
	uint64_t start, end;	/* [start, end); requests never reach 2^64 */
};

struct gpuva_bind {
	struct gpuva_vm *vm;
	struct ops_view view;
	struct idx overlay;		/* live made mappings */
	struct txn_vec made;		/* struct txn_made */
	struct txn_vec hidden;		/* struct txn_hidden */
	struct txn_vec taken;		/* struct gpuva *, allocation order */
	struct txn_vec reqs;		/* struct gpuva_bind_op */
	struct txn_vec ops;		/* struct gpuva_op, generated */
	/* at commit (txn_sort()): */
	struct txn_vec sorted;		/* util_kv: addr -> hidden, sorted */
	struct txn_vec alive;		/* struct gpuva *: live made, in order */
	struct txn_vec scratch;		/* for the sorts */
	struct txn_vec dirty;		/* util_kv: requests' union, if asked */
	struct txn_vec regions;		/* struct txn_range, by the net effect */
	struct txn_vec held;		/* struct gpuva_vm_bo *, references */
	struct txn_vec frees;		/* struct txn_range, for the heap */
	struct vm_slab_mark slab;	/* the allocator before the first take */
	/* mappings taken for the current request, not used yet */
	struct gpuva *pre[3];
	unsigned npre;
	uint32_t cur;			/* index of the request being generated */
	uint64_t cur_end;		/* and the end of its range */
	uint32_t cur_driver_flags;
	gpuva_bind_op_fn op_fn;
	void *op_priv;
};

/* The bound part of a mapping of a VM with a backend. */
static inline struct gpuva_bound *
txn_bound(const struct gpuva *va)
{
	return gpuva_container_of(va, struct gpuva_bound, va);
}

/* Made by the open transaction? */
static inline bool
txn_is_made(const struct gpuva *va)
{
	uint32_t p = txn_bound(va)->priv;

	return p && !(p & TXN_HIDDEN_TAG);
}

/* A VM mapping one of the transaction's requests cut? */
static inline bool
txn_is_hidden(const struct gpuva *va)
{
	return txn_bound(va)->priv & TXN_HIDDEN_TAG;
}

#define TXN_AT(vec, type, i) (((type *)(vec)->p)[i])

/* The @i-th hidden mapping in address order, after txn_sort(). */
static inline struct gpuva *
txn_sorted(const struct gpuva_bind *txn, size_t i)
{
	return (struct gpuva *)(uintptr_t)
		((const struct util_kv *)txn->sorted.p)[i].val;
}

int txn_vec_grow(struct txn_vec *v, size_t size, size_t more);

/* Make room for @more items; 0 or -ENOMEM. Inline: every request asks. */
static inline int
txn_vec_reserve(struct txn_vec *v, size_t size, size_t more)
{
	return v->cap - v->n >= more ? 0 : txn_vec_grow(v, size, more);
}
void txn_vec_free(struct txn_vec *v);

/* The @i-th live made mapping in address order, after txn_sort(). */
static inline struct gpuva *
txn_alive(const struct gpuva_bind *txn, size_t i)
{
	return ((struct gpuva *const *)txn->alive.p)[i];
}

/*
 * Before the net effect and the landing: the hidden mappings sorted by
 * address, the live made ones in an array. 0 or -ENOMEM.
 */
int txn_sort(struct gpuva_bind *txn);

/*
 * Positions in those two arrays. A region is a stretch where hidden and
 * made mappings overlap one another, joined while they do: every VM
 * mapping inside one is hidden, and they follow each other in the VM's
 * index.
 */
struct txn_pos {
	size_t h, m;
};

/*
 * The net effect of the transaction's requests (bind.h) into @out, a
 * struct gpuva_bind_op vector, after txn_sort(); the regions it swept go
 * to txn->regions, for the landing. 0 or -ENOMEM.
 */
int txn_net_effect(struct gpuva_bind *txn, struct txn_vec *out);

/* Unmark the hidden mappings from the @k-th on (they stay in the VM). */
void txn_unhide(struct gpuva_bind *txn, uint32_t k);

/* -EPIPE with a reason on a lost VM, else 0. */
static inline int
txn_usable(struct gpuva_bind *txn, const char *what)
{
	return vm_refuse_lost(txn->vm, what);
}

/* End the transaction: drop references, free it, unlock the VM. */
void txn_end(struct gpuva_bind *txn);

/* Give back everything the transaction took: the VM is as before begin. */
void txn_rollback(struct gpuva_bind *txn);

#endif /* GPUVA_LIB_BIND_INTERNAL_H */
