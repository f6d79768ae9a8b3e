/* SPDX-License-Identifier: MIT */
/*
 * The bind layer: transactions over a VM with a backend.
 *
 * It exists so that a driver can hand the kernel a whole batch of binds in
 * one call and still trust its mirror: requests are generated one by one
 * exactly as ops.h would (against a view that shows the earlier requests),
 * kept out of the VM until the commit, and the commit either lands them,
 * lands exactly the part the kernel applied, or leaves the VM as it was.
 * This file takes the requests; commit.c talks to the backend; net.c
 * computes what the kernel has to do. It leaves out the kernels themselves
 * (lib/backend) and address allocation (lib/heap).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bind_internal.h"

/* txn_vec_reserve() past the capacity: doubles it until @more fit. */
int
txn_vec_grow(struct txn_vec *v, size_t size, size_t more)
{
	size_t cap;
	void *p;

	cap = v->cap ? v->cap : 16;
	while (cap - v->n < more)
		cap *= 2;
	p = realloc(v->p, cap * size);
	if (!p)
		return -ENOMEM;
	v->p = p;
	v->cap = cap;
	return 0;
}

void
txn_vec_free(struct txn_vec *v)
{
	free(v->p);
	memset(v, 0, sizeof(*v));
}

/* ---- the view: the VM as the earlier requests left it --------------------- */

/*
 * The first mapping of the VM from @v on that is still shown. A hidden one
 * is usually alone (a request cuts one or two), so a few are stepped over;
 * a longer run is jumped over a cutting request's range at a time.
 */
static struct gpuva *
vm_shown_from(struct gpuva_bind *txn, struct gpuva *v)
{
	for (unsigned steps = 0; v && txn_is_hidden(v); steps++) {
		const struct txn_hidden *h;

		if (steps < 4) {
			v = idx_next(vm_index(txn->vm), v);
			continue;
		}
		h = &TXN_AT(&txn->hidden, struct txn_hidden,
			    (txn_bound(v)->priv & ~TXN_HIDDEN_TAG) - 1);
		v = vm_first_from(txn->vm, h->end);
		if (v && v->addr < h->end)
			v = idx_next(vm_index(txn->vm), v);
	}
	return v;
}

static struct gpuva *
lower(struct gpuva *a, struct gpuva *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a->addr < b->addr ? a : b;
}

/*
 * Shown VM mappings and made ones never overlap: a made mapping lies in a
 * request's range or in a VM mapping the request cut, which is hidden. So
 * the view's next mapping is the lower of the two candidates.
 */
static struct gpuva *
view_first_from(struct ops_view *view, uint64_t addr)
{
	struct gpuva_bind *txn = gpuva_container_of(view, struct gpuva_bind, view);
	struct gpuva *v = vm_shown_from(txn, vm_first_from(txn->vm, addr));

	if (!txn->overlay.count)
		return v;
	return lower(v, idx_find_from(&txn->overlay, addr));
}

static struct gpuva *
view_next(struct ops_view *view, const struct gpuva *va)
{
	struct gpuva_bind *txn = gpuva_container_of(view, struct gpuva_bind, view);
	struct gpuva *v, *o;

	if (!txn->overlay.count)
		return vm_shown_from(txn, idx_next(vm_index(txn->vm), va));
	if (txn_is_made(va)) {
		o = idx_next(&txn->overlay, va);
		v = vm_shown_from(txn, vm_first_from(txn->vm, gpuva_end(va)));
	} else {
		v = vm_shown_from(txn, idx_next(vm_index(txn->vm), va));
		o = idx_find_from(&txn->overlay, gpuva_end(va));
	}
	return lower(v, o);
}

/* ---- applying a request's ops to the view --------------------------------- */

/* A mapping taken for this request; make_room() took enough. */
static struct gpuva *
take_pre(struct gpuva_bind *txn)
{
	return txn->pre[--txn->npre];
}

/* A new mapping of the view from a MAP op or a REMAP piece. */
static void
view_add(struct gpuva_bind *txn, const struct gpuva_op_map *m,
	 uint32_t driver_flags)
{
	struct gpuva *va = take_pre(txn);
	struct gpuva_bound *b = txn_bound(va);
	struct txn_made made = { va, txn->cur, TXN_NONE };

	vm_va_fill(va, m);
	/* not linked to the vm_bo until the commit; the pointer is what
	 * "keep" compares and what the commit links to */
	va->vm_bo = m->vm_bo;
	b->driver_flags = driver_flags;
	b->priv = (uint32_t)txn->made.n + 1;
	/* room was made before the walk */
	memcpy((struct txn_made *)txn->made.p + txn->made.n++, &made,
	       sizeof(made));
	idx_insert(&txn->overlay, va);
}

/* @va leaves the view, cut by the current request. Room was made. */
static void
view_remove(struct gpuva_bind *txn, struct gpuva *va)
{
	struct txn_hidden h = { va, txn->cur, txn->cur_end };

	if (txn_is_made(va)) {
		idx_remove(&txn->overlay, va);
		TXN_AT(&txn->made, struct txn_made, txn_bound(va)->priv - 1).removed =
			txn->cur;
		return;
	}
	TXN_AT(&txn->hidden, struct txn_hidden, txn->hidden.n++) = h;
	txn_bound(va)->priv = TXN_HIDDEN_TAG | (uint32_t)txn->hidden.n;
}

void
txn_unhide(struct gpuva_bind *txn, uint32_t k)
{
	for (size_t i = 0; i < txn->hidden.n; i++) {
		struct txn_hidden *h = &TXN_AT(&txn->hidden, struct txn_hidden, i);

		if (h->removed >= k)
			txn_bound(h->va)->priv = 0;
	}
}

/*
 * The walk only logs the ops: a request changes the view after its walk,
 * once everything applying it takes is taken, so that running out of
 * memory at any point leaves the transaction as it was.
 */
static int
step_log(void *priv, const struct gpuva_op *op)
{
	struct gpuva_bind *txn = priv;

	if (txn_vec_reserve(&txn->ops, sizeof(*op), 1))
		return -ENOMEM;	/* stops the walk; nothing changed */
	TXN_AT(&txn->ops, struct gpuva_op, txn->ops.n++) = *op;
	return 0;
}

static const struct gpuva_sm_steps log_steps = {
	.map = step_log,
	.remap = step_log,
	.unmap = step_log,
};

/* The VM mappings the ops from @first cut (those the view will hide). */
static size_t
cuts_of_vm(const struct gpuva_bind *txn, size_t first)
{
	size_t n = 0;

	for (size_t i = first; i < txn->ops.n; i++) {
		const struct gpuva_op *op = &TXN_AT(&txn->ops, struct gpuva_op, i);

		if (op->type == GPUVA_OP_REMAP)
			n += !txn_is_made(op->remap.unmap.va);
		else if (op->type == GPUVA_OP_UNMAP)
			n += !txn_is_made(op->unmap.va);
	}
	return n;
}

/* Apply the current request's ops, from @first, to the view. Cannot fail. */
static void
view_apply(struct gpuva_bind *txn, size_t first)
{
	for (size_t i = first; i < txn->ops.n; i++) {
		const struct gpuva_op *op = &TXN_AT(&txn->ops, struct gpuva_op, i);
		struct gpuva *old;
		uint32_t df;

		if (txn->op_fn)
			txn->op_fn(txn->op_priv, op);
		switch (op->type) {
		case GPUVA_OP_MAP:
			view_add(txn, &op->map, txn->cur_driver_flags);
			break;
		case GPUVA_OP_REMAP:
			old = op->remap.unmap.va;
			df = txn_bound(old)->driver_flags;
			view_remove(txn, old);
			if (op->remap.prev.range)
				view_add(txn, &op->remap.prev, df);
			if (op->remap.next.range)
				view_add(txn, &op->remap.next, df);
			break;
		default:
			view_remove(txn, op->unmap.va);
			break;
		}
	}
}

/* ---- transactions ------------------------------------------------------------ */

int
gpuva_bind_begin(struct gpuva_vm *vm, struct gpuva_bind **out)
{
	struct gpuva_bind *txn;
	int ret;

	if (!vm->backend)
		return vm_reject(vm, -EINVAL,
				 "begin: the VM has no backend; change it with ops.h");
	vm_lock(vm);
	ret = vm_refuse_lost(vm, "begin");
	if (ret) {
		vm_unlock(vm);
		return ret;
	}
	if (vm->txn) {
		vm_unlock(vm);
		return vm_reject(vm, -EBUSY,
				 "begin: a transaction is already open on the VM");
	}
	/* the last transaction's memory, sized by the batches seen so far */
	txn = vm->txn_cache;
	vm->txn_cache = NULL;
	if (!txn && !(txn = calloc(1, sizeof(*txn)))) {
		vm_unlock(vm);
		return vm_reject(vm, -ENOMEM, "begin: out of memory");
	}
	txn->vm = vm;
	txn->view.first_from = view_first_from;
	txn->view.next = view_next;
	vm_slab_mark(vm, &txn->slab);
	vm->txn = txn;
	*out = txn;
	return 0;
}

void
gpuva_bind_set_op_fn(struct gpuva_bind *txn, gpuva_bind_op_fn fn, void *priv)
{
	txn->op_fn = fn;
	txn->op_priv = priv;
}

size_t
gpuva_bind_count(const struct gpuva_bind *txn)
{
	return txn->reqs.n;
}

/*
 * Take what a request of up to @maps new mappings may need, before it
 * changes anything: mappings, overlay nodes, room in every log. 0 or
 * -ENOMEM (nothing the view shows changed; mappings taken stay for the
 * next request).
 */
static int
make_room(struct gpuva_bind *txn, unsigned maps, const char *what)
{
	struct gpuva_vm *vm = txn->vm;

	if (txn_vec_reserve(&txn->taken, sizeof(struct gpuva *), maps) ||
	    txn_vec_reserve(&txn->made, sizeof(struct txn_made), maps) ||
	    txn_vec_reserve(&txn->reqs, sizeof(struct gpuva_bind_op), 1) ||
	    txn_vec_reserve(&txn->held, sizeof(struct gpuva_vm_bo *), 1) ||
	    idx_reserve(&txn->overlay, maps))
		return vm_reject(vm, -ENOMEM, "%s: out of memory", what);
	while (txn->npre < maps) {
		struct gpuva *va = vm_va_alloc_raw(vm);

		if (!va)
			return vm_reject(vm, -ENOMEM,
					 "%s: out of memory for a mapping", what);
		TXN_AT(&txn->taken, struct gpuva *, txn->taken.n++) = va;
		txn->pre[txn->npre++] = va;
	}
	return 0;
}

/* The backend's own rules for a request. */
static int
backend_check(struct gpuva_bind *txn, const struct gpuva_bind_op *r)
{
	struct gpuva_backend *be = txn->vm->backend;

	if (!be->ops->check)
		return 0;
	return be->ops->check(be, txn->vm->be_priv, txn->vm, r, txn->reqs.n);
}

/*
 * A validated request with room made, after its walk logged its ops from
 * @first (@walk: the walk's result): take the rest of what applying it
 * needs, then apply it to the view and log it. On any error the logged
 * ops are dropped and nothing changed.
 */
static int
add_request(struct gpuva_bind *txn, const struct gpuva_bind_op *r,
	    size_t first, int walk, const char *what)
{
	int ret = walk;

	if (!ret && txn_vec_reserve(&txn->hidden, sizeof(struct txn_hidden),
				    cuts_of_vm(txn, first)))
		ret = -ENOMEM;
	if (ret == -ENOMEM)
		ret = vm_reject(txn->vm, -ENOMEM, "%s 0x%" PRIx64 " 0x%" PRIx64
				": out of memory for the transaction's log",
				what, r->addr, r->range);
	if (ret) {
		txn->ops.n = first;
		return ret;
	}
	view_apply(txn, first);
	TXN_AT(&txn->reqs, struct gpuva_bind_op, txn->reqs.n++) = *r;
	return 0;
}

int
gpuva_bind_map(struct gpuva_bind *txn, const struct gpuva_map_req *req)
{
	struct gpuva_vm *vm = txn->vm;
	struct gpuva_bind_op r = {
		.kind = req->bo ? GPUVA_BIND_MAP : GPUVA_BIND_MAP_NULL,
		.driver_flags = req->driver_flags,
		.addr = req->addr, .range = req->range,
		.bo = req->bo, .offset = req->offset, .flags = req->flags,
	};
	size_t first = txn->ops.n;
	struct gpuva_vm_bo *vb;
	int ret;

	ret = txn_usable(txn, "map");
	if (ret)
		return ret;
	ret = ops_map_prepare(vm, req, &vb);
	if (ret)
		return ret;
	/*
	 * The backend's rules before anything is taken; a request it passed
	 * may still fail for memory, which its next check() (same index)
	 * tells it.
	 */
	ret = backend_check(txn, &r);
	if (!ret)
		ret = make_room(txn, 3, "map");
	if (!ret) {
		txn->cur = (uint32_t)txn->reqs.n;
		txn->cur_end = req->addr + req->range;
		txn->cur_driver_flags = req->driver_flags;
		ret = add_request(txn, &r, first,
				  ops_view_map(vm, &txn->view, req, vb,
					       &log_steps, txn), "map");
	}
	if (ret) {
		vm_bo_put(vb);
		return ret;
	}
	/* the reference keeps a new (VM, BO) link alive until the end */
	if (vb)
		TXN_AT(&txn->held, struct gpuva_vm_bo *, txn->held.n++) = vb;
	return 0;
}

int
gpuva_bind_unmap(struct gpuva_bind *txn, uint64_t addr, uint64_t range)
{
	struct gpuva_vm *vm = txn->vm;
	struct gpuva_bind_op r = {
		.kind = GPUVA_BIND_UNMAP, .addr = addr, .range = range,
	};
	size_t first = txn->ops.n;
	int ret;

	ret = txn_usable(txn, "unmap");
	if (!ret)
		ret = vm_validate_range(vm, addr, range, "unmap");
	if (!ret)
		ret = backend_check(txn, &r);
	if (!ret)
		ret = make_room(txn, 2, "unmap");
	if (ret)
		return ret;
	txn->cur = (uint32_t)txn->reqs.n;
	txn->cur_end = addr + range;
	return add_request(txn, &r, first,
			   ops_view_unmap(vm, &txn->view, addr, range,
					  &log_steps, txn), "unmap");
}

int
gpuva_bind_free_addr(struct gpuva_bind *txn, uint64_t addr, uint64_t size)
{
	struct gpuva_vm *vm = txn->vm;
	struct txn_range r = { addr, addr + size };
	int ret;

	ret = txn_usable(txn, "free_addr");
	if (ret)
		return ret;
	if (!vm->heap || !size || addr + size < addr ||
	    gpuva_heap_is_free(vm->heap, addr, size))
		return vm_reject(vm, -EINVAL,
				 "free_addr 0x%" PRIx64 " 0x%" PRIx64
				 ": not an allocation of the VM's heap", addr, size);
	for (size_t i = 0; i < txn->frees.n; i++)
		if (TXN_AT(&txn->frees, struct txn_range, i).start == addr)
			return vm_reject(vm, -EINVAL,
					 "free_addr 0x%" PRIx64 " 0x%" PRIx64
					 ": already freed in this transaction",
					 addr, size);
	if (txn_vec_reserve(&txn->frees, sizeof(r), 1))
		return vm_reject(vm, -ENOMEM, "free_addr: out of memory");
	TXN_AT(&txn->frees, struct txn_range, txn->frees.n++) = r;
	return 0;
}

void
txn_rollback(struct gpuva_bind *txn)
{
	/* nothing reached the VM: unmark, give back what was taken, in order */
	txn_unhide(txn, 0);
	vm_slab_rewind(txn->vm, &txn->slab, txn->taken.p, txn->taken.n);
	txn->taken.n = 0;
	txn->npre = 0;
}

static void
txn_free(struct gpuva_bind *txn)
{
	idx_fini(&txn->overlay);
	txn_vec_free(&txn->made);
	txn_vec_free(&txn->hidden);
	txn_vec_free(&txn->taken);
	txn_vec_free(&txn->reqs);
	txn_vec_free(&txn->ops);
	txn_vec_free(&txn->dirty);
	txn_vec_free(&txn->regions);
	txn_vec_free(&txn->sorted);
	txn_vec_free(&txn->alive);
	txn_vec_free(&txn->scratch);
	txn_vec_free(&txn->held);
	txn_vec_free(&txn->frees);
	free(txn);
}

void
txn_end(struct gpuva_bind *txn)
{
	struct gpuva_vm *vm = txn->vm;

	/* newest first: vm_bos made by the transaction go as they came */
	while (txn->held.n)
		vm_bo_put(TXN_AT(&txn->held, struct gpuva_vm_bo *, --txn->held.n));
	/*
	 * Kept for the VM's next transaction, empty but with its memory:
	 * batches are usually alike, and growing every log anew each time
	 * cost more than the rest of a small batch.
	 */
	idx_clear(&txn->overlay);
	txn->made.n = txn->hidden.n = txn->taken.n = txn->reqs.n = 0;
	txn->ops.n = txn->dirty.n = txn->sorted.n = txn->alive.n = 0;
	txn->regions.n = 0;
	txn->frees.n = 0;
	txn->npre = 0;
	txn->op_fn = NULL;
	txn->op_priv = NULL;
	vm->txn = NULL;
	if (vm->txn_cache)
		txn_free(txn);
	else
		vm->txn_cache = txn;
	vm_unlock(vm);
}

void
vm_txn_cache_free(struct gpuva_vm *vm)
{
	if (vm->txn_cache)
		txn_free(vm->txn_cache);
	vm->txn_cache = NULL;
}

void
gpuva_bind_abort(struct gpuva_bind *txn)
{
	if (!txn)
		return;
	txn_rollback(txn);
	txn_end(txn);
}

/* ---- thread-safe queries ------------------------------------------------------ */

bool
gpuva_vm_is_lost(const struct gpuva_vm *vm)
{
	return vm->lost;
}

bool
gpuva_vm_lookup(struct gpuva_vm *vm, uint64_t addr, struct gpuva_va_info *out)
{
	struct gpuva *va;

	vm_lock(vm);
	va = gpuva_vm_find_at(vm, addr);
	if (va) {
		out->addr = va->addr;
		out->range = va->range;
		out->offset = va->offset;
		out->bo = gpuva_bo_of(va);
		out->flags = gpuva_flags(va);
		out->driver_flags = vm->backend ? txn_bound(va)->driver_flags : 0;
	}
	vm_unlock(vm);
	return va != NULL;
}

void
gpuva_vm_lock(struct gpuva_vm *vm)
{
	vm_lock(vm);
}

void
gpuva_vm_unlock(struct gpuva_vm *vm)
{
	vm_unlock(vm);
}
