/* SPDX-License-Identifier: MIT */
/*
 * The ops layer: turn map/unmap requests into MAP/REMAP/UNMAP ops, as the
 * kernel's drm_gpuvm does (docs/op-model.md; drm_gpuvm is the reference), and
 * apply ops to the tree.
 *
 * One walk serves both ways of consuming ops. It is written once, as an
 * inline function taking an emitter; the two public entry points pass a
 * constant mode, so the compiler builds a callback version and a list
 * version without a branch per op.
 *
 * What it leaves out: transactions and rollback (bind layer), anything that
 * talks to a kernel (backends).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "gpuva/ops.h"
#include "ops_internal.h"
#include "vm/vm_internal.h"

/*
 * EMIT_VIEW: step callbacks over a view (ops_internal.h) instead of the
 * VM's own index; the bind layer's transactions.
 */
enum emit_mode { EMIT_STEPS, EMIT_LIST, EMIT_VIEW };

/*
 * Index inserts a request's ops can make, reserved before the walk so that
 * applying them cannot fail: a map cutting one mapping in two keeps both
 * pieces (one insert) and adds itself (another); an unmap cutting one
 * mapping in two adds its tail piece.
 */
#define MAP_INSERTS	2
#define UNMAP_INSERTS	1

struct emitter {
	enum emit_mode mode;
	const struct gpuva_sm_steps *steps;
	void *priv;
	struct gpuva_ops *ops;
	struct ops_view *view;
};

/* ---- op lists ------------------------------------------------------------ */

void
gpuva_ops_init(struct gpuva_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
}

/* gpuva_ops_reset(), inline where every plan starts. */
static inline void
ops_reset(struct gpuva_ops *ops)
{
	struct gpuva_vm_bo *hold = ops->hold;

	ops->count = 0;
	ops->hold = NULL;
	vm_bo_put(hold);
}

void
gpuva_ops_reset(struct gpuva_ops *ops)
{
	ops_reset(ops);
}

void
gpuva_ops_fini(struct gpuva_ops *ops)
{
	if (!ops)
		return;
	ops_reset(ops);
	free(ops->ops);
	ops->ops = NULL;
	ops->cap = 0;
}

static int
ops_grow(struct gpuva_ops *ops)
{
	size_t cap = ops->cap ? ops->cap * 2 : 16;
	struct gpuva_op *n = realloc(ops->ops, cap * sizeof(*n));

	if (!n)
		return -ENOMEM;
	ops->ops = n;
	ops->cap = cap;
	return 0;
}

/* Next free op slot, or NULL when the list cannot grow. */
static inline struct gpuva_op *
ops_slot(struct gpuva_ops *ops)
{
	if (ops->count == ops->cap && ops_grow(ops))
		return NULL;
	return &ops->ops[ops->count++];
}

/* ---- the walk --------------------------------------------------------------- */

/*
 * Hand over one op. In list mode the op is built in its slot; in steps mode
 * on the stack. Returns 0, a callback's result, or -ENOMEM.
 */
static inline int
emit(struct emitter *em, struct gpuva_op *op)
{
	if (em->mode == EMIT_LIST)
		return 0;	/* already in place */
	switch (op->type) {
	case GPUVA_OP_MAP:
		return em->steps->map(em->priv, op);
	case GPUVA_OP_REMAP:
		return em->steps->remap(em->priv, op);
	default:
		return em->steps->unmap(em->priv, op);
	}
}

static inline struct gpuva_op *
op_begin(struct emitter *em, struct gpuva_op *stack_op)
{
	return em->mode == EMIT_LIST ? ops_slot(em->ops) : stack_op;
}

static inline void
piece(struct gpuva_op_map *p, const struct gpuva *v, uint64_t addr,
      uint64_t range, uint64_t offset)
{
	p->addr = addr;
	p->range = range;
	p->offset = offset;
	p->vm_bo = v->vm_bo;
	p->bo = gpuva_bo_of(v);
	p->flags = gpuva_flags(v);
}

static inline void
no_piece(struct gpuva_op_map *p)
{
	memset(p, 0, sizeof(*p));
}

/*
 * Emit the REMAP or UNMAP for one mapping @v cut by [A, E). Pieces: the
 * head [a, A) keeps v's offset; the tail [E, e) advances it by E - a (also
 * for NULL mappings, as drm_gpuvm does).
 */
static inline int
emit_cut(struct emitter *em, struct gpuva *v, uint64_t A, uint64_t E, bool keep)
{
	struct gpuva_op tmp, *op = op_begin(em, &tmp);
	uint64_t a = v->addr, e = a + v->range;

	/*
	 * Applying this op unlinks v from its BO's list, which writes its
	 * two neighbours there: usually cache misses far from v. Start
	 * loading them now, while the op is built: step callbacks apply it
	 * at once, and a planned list is usually applied right after its
	 * ioctl (without this, `gpuva bench big-remap --ops-list` is slower).
	 */
	__builtin_prefetch((const void *)v->bo_link[0], 1);
	__builtin_prefetch((const void *)v->bo_link[1], 1);
	if (!op)
		return -ENOMEM;
	if (a >= A && e <= E) {
		op->type = GPUVA_OP_UNMAP;
		op->unmap.va = v;
		op->unmap.keep = keep;
		return emit(em, op);
	}
	op->type = GPUVA_OP_REMAP;
	op->remap.unmap.va = v;
	op->remap.unmap.keep = keep;
	if (a < A)
		piece(&op->remap.prev, v, a, A - a, v->offset);
	else
		no_piece(&op->remap.prev);
	if (e > E)
		piece(&op->remap.next, v, E, e - E, v->offset + (E - a));
	else
		no_piece(&op->remap.next);
	return emit(em, op);
}

/*
 * The walk over every mapping [A, E) cuts (ops-semantics.md 3.2 and 4):
 * one REMAP or UNMAP each. @vb and @F are the map request's vm_bo (NULL for
 * a NULL mapping or an unmap, which never keeps) and BO offset. Comparing
 * vm_bos is comparing BOs within one VM, with no pointer chase per mapping.
 */
static inline int
cut_walk(struct emitter *em, struct gpuva_vm *vm, uint64_t A, uint64_t E,
	 const struct gpuva_vm_bo *vb, uint64_t F)
{
	struct gpuva *v = em->mode == EMIT_VIEW ? em->view->first_from(em->view, A)
						: vm_first_from(vm, A);

	while (v && v->addr < E) {
		uint64_t a = v->addr, e = a + v->range;
		/* captured first (a step callback may remove v), and only if
		 * the walk goes on: the next mapping is often a cache miss */
		struct gpuva *next = e >= E ? NULL :
				     em->mode == EMIT_VIEW ? em->view->next(em->view, v) :
				     idx_next(vm_index(vm), v);
		/*
		 * keep: same BO, and v's offset continues the request's: at
		 * A, v holds offset f + (A - a), which must be F. Modulo 2^64
		 * this one equation also covers a > A (f == F + (a - A)).
		 */
		bool keep = vb && v->vm_bo == vb && v->offset + (A - a) == F;
		int ret = emit_cut(em, v, A, E, keep);

		if (ret)
			return ret;
		if (e >= E)
			break;
		v = next;
	}
	return 0;
}

/* The map walk: the cuts, then the MAP. */
static inline int
sm_map_walk(struct emitter *em, struct gpuva_vm *vm,
	    const struct gpuva_map_req *req, struct gpuva_vm_bo *vb)
{
	struct gpuva_op tmp, *op;
	int ret = cut_walk(em, vm, req->addr, req->addr + req->range, vb,
			   req->offset);

	if (ret)
		return ret;
	op = op_begin(em, &tmp);
	if (!op)
		return -ENOMEM;
	op->type = GPUVA_OP_MAP;
	op->map.addr = req->addr;
	op->map.range = req->range;
	op->map.offset = req->offset;
	op->map.bo = req->bo;
	op->map.vm_bo = vb;
	op->map.flags = req->flags;
	return emit(em, op);
}

/* Validate a map request and take a reference on its vm_bo. */
static inline int
map_prepare(struct gpuva_vm *vm, const struct gpuva_map_req *req,
	    struct gpuva_vm_bo **vb)
{
	int ret;

	*vb = NULL;
	ret = vm_validate_range(vm, req->addr, req->range, "map");
	if (ret)
		return ret;
	if (req->flags & ~(uint32_t)GPUVA_FLAGS_MASK)
		return vm_reject(vm, -EINVAL,
				 "map 0x%" PRIx64 " 0x%" PRIx64
				 ": unknown flags 0x%" PRIx32,
				 req->addr, req->range,
				 req->flags & ~(uint32_t)GPUVA_FLAGS_MASK);
	if (!req->bo)
		return 0;
	ret = vm_validate_bo_range(vm, req->bo, req->addr, req->range,
				   req->offset, "map");
	if (ret)
		return ret;
	return vm_bo_obtain(vm, req->bo, vb);
}

static bool
steps_missing(const struct gpuva_sm_steps *s, bool need_map)
{
	return !s || !s->remap || !s->unmap || (need_map && !s->map);
}

int
gpuva_vm_sm_map(struct gpuva_vm *vm, const struct gpuva_map_req *req,
		const struct gpuva_sm_steps *steps, void *priv)
{
	struct emitter em = { .mode = EMIT_STEPS, .steps = steps, .priv = priv };
	struct gpuva_vm_bo *vb;
	int ret;

	if (steps_missing(steps, true))
		return vm_reject(vm, -EINVAL, "map: a step callback is missing");
	ret = map_prepare(vm, req, &vb);
	if (ret)
		return ret;
	ret = vm_reserve(vm, MAP_INSERTS, "map");
	if (!ret)
		ret = sm_map_walk(&em, vm, req, vb);
	vm_bo_put(vb);
	return ret;
}

int
gpuva_vm_sm_unmap(struct gpuva_vm *vm, uint64_t addr, uint64_t range,
		  const struct gpuva_sm_steps *steps, void *priv)
{
	struct emitter em = { .mode = EMIT_STEPS, .steps = steps, .priv = priv };
	int ret;

	if (steps_missing(steps, false))
		return vm_reject(vm, -EINVAL, "unmap: a step callback is missing");
	ret = vm_validate_range(vm, addr, range, "unmap");
	if (ret)
		return ret;
	ret = vm_reserve(vm, UNMAP_INSERTS, "unmap");
	if (ret)
		return ret;
	return cut_walk(&em, vm, addr, addr + range, NULL, 0);
}

/* map_prepare() for the bind layer; the public walks keep it inline. */
int
ops_map_prepare(struct gpuva_vm *vm, const struct gpuva_map_req *req,
		struct gpuva_vm_bo **vb)
{
	return map_prepare(vm, req, vb);
}

int
ops_view_map(struct gpuva_vm *vm, struct ops_view *view,
	     const struct gpuva_map_req *req, struct gpuva_vm_bo *vb,
	     const struct gpuva_sm_steps *steps, void *priv)
{
	struct emitter em = { .mode = EMIT_VIEW, .steps = steps, .priv = priv,
			      .view = view };

	return sm_map_walk(&em, vm, req, vb);
}

int
ops_view_unmap(struct gpuva_vm *vm, struct ops_view *view, uint64_t addr,
	       uint64_t range, const struct gpuva_sm_steps *steps, void *priv)
{
	struct emitter em = { .mode = EMIT_VIEW, .steps = steps, .priv = priv,
			      .view = view };

	return cut_walk(&em, vm, addr, addr + range, NULL, 0);
}

static int
list_failed(struct gpuva_vm *vm, struct gpuva_ops *ops, int ret)
{
	ops_reset(ops);
	if (ret == -ENOMEM)
		return vm_reject(vm, ret, "ops: out of memory for the op list");
	return ret;
}

/*
 * The end of planning a list: the walk's result @ret, then the index nodes
 * for applying it. Reserved last, so that a list that cannot grow has not
 * taken index memory either.
 */
static int
list_planned(struct gpuva_vm *vm, struct gpuva_ops *ops, int ret,
	     unsigned inserts, const char *what)
{
	if (ret)
		return list_failed(vm, ops, ret);
	ret = vm_reserve(vm, inserts, what);
	if (ret)
		ops_reset(ops);
	return ret;
}

int
gpuva_vm_sm_map_ops(struct gpuva_vm *vm, const struct gpuva_map_req *req,
		    struct gpuva_ops *ops)
{
	struct emitter em = { .mode = EMIT_LIST, .ops = ops };
	struct gpuva_vm_bo *vb;
	int ret;

	ops_reset(ops);
	ret = map_prepare(vm, req, &vb);
	if (ret)
		return ret;
	ops->hold = vb;
	return list_planned(vm, ops, sm_map_walk(&em, vm, req, vb),
			    MAP_INSERTS, "map");
}

int
gpuva_vm_sm_unmap_ops(struct gpuva_vm *vm, uint64_t addr, uint64_t range,
		      struct gpuva_ops *ops)
{
	struct emitter em = { .mode = EMIT_LIST, .ops = ops };
	int ret;

	ops_reset(ops);
	ret = vm_validate_range(vm, addr, range, "unmap");
	if (ret)
		return ret;
	return list_planned(vm, ops, cut_walk(&em, vm, addr, addr + range, NULL, 0),
			    UNMAP_INSERTS, "unmap");
}

int
gpuva_vm_prefetch_ops(struct gpuva_vm *vm, uint64_t addr, uint64_t range,
		      struct gpuva_ops *ops)
{
	struct gpuva *v;

	ops_reset(ops);
	if (range == 0 || addr + range < addr)
		return vm_reject(vm, -EINVAL,
				 "prefetch 0x%" PRIx64 " 0x%" PRIx64
				 ": zero range or overflow", addr, range);
	for (v = vm_first_from(vm, addr); v && v->addr < addr + range;
	     v = gpuva_vm_next(vm, v)) {
		struct gpuva_op *op = ops_slot(ops);

		if (!op)
			return list_failed(vm, ops, -ENOMEM);
		op->type = GPUVA_OP_PREFETCH;
		op->prefetch.va = v;
	}
	return 0;
}

int
gpuva_vm_bo_unmap_ops(struct gpuva_vm_bo *vb, struct gpuva_ops *ops)
{
	struct gpuva *v;

	ops_reset(ops);
	gpuva_vm_bo_for_each_va(v, vb) {
		struct gpuva_op *op = ops_slot(ops);

		if (!op)
			return list_failed(vb->vm, ops, -ENOMEM);
		op->type = GPUVA_OP_UNMAP;
		op->unmap.va = v;
		op->unmap.keep = false;
	}
	return 0;
}

/* ---- applying ops ------------------------------------------------------------ */

/*
 * gpuva_map() once its checks passed: apply_ops() made them for the whole
 * list (the reservation, and the plan check under GPUVA_VM_CHECK).
 */
static inline void
map_commit(struct gpuva_vm *vm, struct gpuva *va, const struct gpuva_op_map *op)
{
	vm_va_fill(va, op);
	idx_insert(&vm->index, va);
	if (op->vm_bo)
		vm_bo_link_fresh(va, op->vm_bo);
	vm_after_change(vm);
}

int
gpuva_map(struct gpuva_vm *vm, struct gpuva *va, const struct gpuva_op_map *op)
{
	if (vm->flags & GPUVA_VM_CHECK) {
		struct gpuva *o = vm_first_from(vm, op->addr);

		if (o && o->addr < op->addr + op->range)
			return vm_reject(vm, -EEXIST,
					 "map op 0x%" PRIx64 " 0x%" PRIx64
					 ": stale plan, overlaps 0x%" PRIx64,
					 op->addr, op->range, o->addr);
	}
	if (vm_reserve(vm, 1, "map op"))
		return -ENOMEM;
	map_commit(vm, va, op);
	return 0;
}

int
gpuva_remap(struct gpuva_vm *vm, struct gpuva *prev, struct gpuva *next,
	    const struct gpuva_op_remap *op)
{
	struct gpuva *old = op->unmap.va;
	struct gpuva_vm_bo *vb = old->vm_bo;

	if (op->prev.range && op->next.range &&
	    vm_reserve(vm, 1, "remap op"))
		return -ENOMEM;
	/*
	 * Each piece sits where the old mapping was in address order (the
	 * request's range between them is empty by now), so the first piece
	 * takes over the old one's slot in the index.
	 */
	if (op->prev.range) {
		vm_va_fill(prev, &op->prev);
		idx_replace(&vm->index, old, prev);
		if (op->next.range) {
			vm_va_fill(next, &op->next);
			idx_insert(&vm->index, next);
		}
	} else if (op->next.range) {
		vm_va_fill(next, &op->next);
		idx_replace(&vm->index, old, next);
	} else {
		idx_remove(&vm->index, old);
	}
	/* link the pieces before unlinking old, so vb cannot go away */
	if (vb) {
		if (op->prev.range)
			vm_bo_link_fresh(prev, vb);
		if (op->next.range)
			vm_bo_link_fresh(next, vb);
		vm_bo_unlink(old);
	}
	vm_after_change(vm);
	return 0;
}

void
gpuva_unmap(struct gpuva_vm *vm, const struct gpuva_op_unmap *op)
{
	gpuva_remove(vm, op->va);
}

/* Is @va removed by one of the list's first @n ops? */
static bool
removed_by(const struct gpuva_ops *ops, size_t n, const struct gpuva *va)
{
	for (size_t i = 0; i < n; i++) {
		const struct gpuva_op *op = &ops->ops[i];

		if ((op->type == GPUVA_OP_UNMAP && op->unmap.va == va) ||
		    (op->type == GPUVA_OP_REMAP && op->remap.unmap.va == va))
			return true;
	}
	return false;
}

/*
 * GPUVA_VM_CHECK: is the plan still valid against the tree? Every mapping
 * it removes must be in the tree, and every mapping it creates may only
 * overlap mappings removed before it. O(k^2 + k log n); a debugging aid.
 */
static int
plan_check(struct gpuva_vm *vm, const struct gpuva_ops *ops)
{
	for (size_t i = 0; i < ops->count; i++) {
		const struct gpuva_op *op = &ops->ops[i];
		const struct gpuva *va, *o;

		if (op->type != GPUVA_OP_MAP) {
			va = op->type == GPUVA_OP_REMAP ? op->remap.unmap.va
							: op->unmap.va;
			if (idx_find(vm_index(vm), va->addr) != va)
				return vm_reject(vm, -EEXIST,
						 "apply: stale plan, the mapping 0x%" PRIx64
						 " it removes is gone", va->addr);
			continue;
		}
		for (o = vm_first_from(vm, op->map.addr);
		     o && o->addr < op->map.addr + op->map.range;
		     o = gpuva_vm_next(vm, o))
			if (!removed_by(ops, i, o))
				return vm_reject(vm, -EEXIST,
						 "apply: stale plan, map 0x%" PRIx64 " 0x%" PRIx64
						 " overlaps 0x%" PRIx64, op->map.addr,
						 op->map.range, o->addr);
	}
	return 0;
}

int
gpuva_vm_apply_ops(struct gpuva_vm *vm, const struct gpuva_ops *ops)
{
	struct gpuva *pool = NULL, *va;
	size_t need = 0;
	unsigned inserts = 0;	/* maps, and remaps keeping both pieces */

	for (size_t i = 0; i < ops->count; i++) {
		const struct gpuva_op *op = &ops->ops[i];

		if (op->type == GPUVA_OP_MAP) {
			need++;
			inserts++;
		} else if (op->type == GPUVA_OP_REMAP) {
			bool p = op->remap.prev.range, n = op->remap.next.range;

			need += p + n;
			inserts += p && n;
		} else if (op->type != GPUVA_OP_UNMAP) {
			return vm_reject(vm, -EINVAL,
					 "apply: only MAP, REMAP and UNMAP ops apply");
		}
	}
	if ((vm->flags & GPUVA_VM_CHECK) && plan_check(vm, ops))
		return -EEXIST;
	/* the plan reserved index nodes; make sure nothing used them since */
	if (vm_reserve(vm, inserts, "apply"))
		return -ENOMEM;
	/* take every mapping first, chained through their keys, so that
	 * running out of memory leaves the VM as it was */
	for (size_t i = 0; i < need; i++) {
		va = vm_va_alloc_raw(vm);
		if (!va) {
			while (pool) {
				va = pool;
				pool = slab_link(va);
				vm_va_free(vm, va);
			}
			return vm_reject(vm, -ENOMEM,
					 "apply: out of memory for %zu mappings", need);
		}
		va->addr = (uint64_t)(uintptr_t)pool;
		pool = va;
	}
#define TAKE() (va = pool, pool = slab_link(va), va)
	for (size_t i = 0; i < ops->count; i++) {
		const struct gpuva_op *op = &ops->ops[i];

		switch (op->type) {
		case GPUVA_OP_MAP:
			map_commit(vm, TAKE(), &op->map);
			break;
		case GPUVA_OP_REMAP: {
			struct gpuva *p = op->remap.prev.range ? TAKE() : NULL;
			struct gpuva *n = op->remap.next.range ? TAKE() : NULL;

			gpuva_remap(vm, p, n, &op->remap);
			vm_va_free(vm, op->remap.unmap.va);
			break;
		}
		default:
			gpuva_unmap(vm, &op->unmap);
			vm_va_free(vm, op->unmap.va);
			break;
		}
	}
#undef TAKE
	return 0;
}
