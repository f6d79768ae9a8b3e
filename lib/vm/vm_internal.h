/* SPDX-License-Identifier: MIT */
/*
 * Internal view of the VM, shared by the vm and ops layers (and the layers
 * above, which reach the VM only through these helpers and vm.h).
 */
#ifndef GPUVA_LIB_VM_INTERNAL_H
#define GPUVA_LIB_VM_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "gpuva/backend.h"
#include "gpuva/heap.h"
#include "gpuva/ops.h"
#include "gpuva/vm.h"
#include "index/index.h"

#define VM_ERROR_MAX 256

/*
 * A VA range gpuva_bind_free_addr() gave back, waiting for the batch of
 * job @seq to run before it returns to the VM's heap.
 */
struct vm_deferred {
	struct vm_deferred *next;
	uint64_t seq, addr, size;
};

struct gpuva_vm {
	struct idx index;		/* mappings keyed by addr */
	uint64_t start, last;		/* managed: [start, last] inclusive */
	uint64_t rsv_start, rsv_range;	/* reserved; rsv_range 0: none */
	uint64_t page_size;		/* 0: no alignment rule */
	uint32_t flags;
	struct gpuva_vm_alloc alloc;

	/*
	 * default allocator for mappings: slots of va_size bytes in
	 * malloc'd pages (48: struct gpuva; with a backend 56: struct
	 * gpuva_bound)
	 */
	struct vm_slab_page *slab_pages;
	struct gpuva *slab_free;
	size_t slab_bytes;
	size_t va_size;

	/* all vm_bos of this VM, so destroy finds the unused ones too */
	struct gpuva_vm_bo *vm_bos;
	size_t vm_bo_count;

	struct gpuva_heap *heap;	/* gpuva_vm_alloc_addr(); NULL until used */

	gpuva_log_fn log_fn;
	void *log_priv;
	char last_error[VM_ERROR_MAX];

	/* with a backend (bind.h): the kernel VM and the transactions */
	struct gpuva_backend *backend;
	void *be_priv;			/* what its vm_init() returned */
	struct gpuva_bind *txn;		/* the open transaction, or NULL */
	struct gpuva_bind *txn_cache;	/* the last one's memory, for the next */
	uint64_t seq;			/* jobs handed to the backend */
	uint64_t seq_taken;		/* the last one it applied or queued */
	bool lost;			/* sticky: the kernel poisoned the VM */
	struct vm_deferred *deferred;	/* oldest first */
	struct vm_deferred *deferred_tail;

	pthread_mutex_t lock;		/* GPUVA_VM_THREADSAFE only */
};

/* The VM's lock, under GPUVA_VM_THREADSAFE; nothing without it. */
static inline void
vm_lock(struct gpuva_vm *vm)
{
	if (vm->flags & GPUVA_VM_THREADSAFE)
		pthread_mutex_lock(&vm->lock);
}

static inline void
vm_unlock(struct gpuva_vm *vm)
{
	if (vm->flags & GPUVA_VM_THREADSAFE)
		pthread_mutex_unlock(&vm->lock);
}

/*
 * The slab's state at one moment (vm_slab_mark()), so that the mappings a
 * failed transaction took can be given back exactly: same free list, same
 * pages, same memory figure.
 */
struct vm_slab_mark {
	struct vm_slab_page *pages;
	size_t bytes;
};

void vm_slab_mark(const struct gpuva_vm *vm, struct vm_slab_mark *m);

/*
 * Give back the @n mappings @vas (in the order they were taken, all since
 * the mark, none given back in between) so that the allocator is as at the
 * mark: the slab's free list and pages as they were, or va_free() for
 * each, newest first. Cannot fail.
 */
void vm_slab_rewind(struct gpuva_vm *vm, const struct vm_slab_mark *m,
		    struct gpuva *const *vas, size_t n);

/*
 * Give the deferred VA ranges whose batch has run back to the VM's heap
 * (lib/bind). Cheap when none wait.
 */
void vm_reap(struct gpuva_vm *vm);

/* Free the memory kept for the VM's next transaction (lib/bind). */
void vm_txn_cache_free(struct gpuva_vm *vm);

/* Free the deferred VA ranges without giving them back (destroy). */
void vm_deferred_drop(struct gpuva_vm *vm);

/*
 * The index of a VM taken as const. Lookups move the index's cursor, a
 * cache that changes no answer; every VM comes from gpuva_vm_create()'s
 * calloc, so writing through this is defined. vm.h tells callers that
 * lookups must be serialised like every other call.
 */
static inline struct idx *
vm_index(const struct gpuva_vm *vm)
{
	return (struct idx *)&vm->index;
}

int vm_reserve_slow(struct gpuva_vm *vm, unsigned inserts, const char *what);

/* Index nodes for the next @inserts inserts, or -ENOMEM with a reason. */
static inline int
vm_reserve(struct gpuva_vm *vm, unsigned inserts, const char *what)
{
	if (idx_reserved(&vm->index, inserts))
		return 0;
	return vm_reserve_slow(vm, inserts, what);
}

/* The rejection of vm_refuse_lost(), out of line: rare. */
int vm_reject_lost(struct gpuva_vm *vm, const char *what)
	__attribute__((cold));

/*
 * -EPIPE with the reason "@what: the VM is lost; destroy it and create a
 * new one" when @vm is lost (sticky, bind.h), else 0: what every call a
 * lost VM refuses says. Inline: every bind request asks.
 */
static inline int
vm_refuse_lost(struct gpuva_vm *vm, const char *what)
{
	return vm->lost ? vm_reject_lost(vm, what) : 0;
}

/* vm_reject() with a va_list. */
int vm_reject_va(struct gpuva_vm *vm, int err, const char *fmt, va_list ap);

/* Record a rejection reason, tell the log callback, return @err. */
int vm_reject(struct gpuva_vm *vm, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Why [addr, addr + range) is not a valid request, or NULL. Every mapping
 * obeys it too: requests and inserts are checked, and the pieces a split
 * leaves start and end on request boundaries.
 */
static inline const char *
vm_range_problem(const struct gpuva_vm *vm, uint64_t addr, uint64_t range)
{
	uint64_t ps = vm->page_size;

	if (range == 0)
		return "range is zero";
	if (addr + range < addr)
		return "addr + range overflows 64 bits";
	if (addr < vm->start || addr + range - 1 > vm->last)
		return "outside the VM";
	/* inclusive ends: a reserved range may end exactly at 2^64 */
	if (vm->rsv_range && addr <= vm->rsv_start + (vm->rsv_range - 1) &&
	    vm->rsv_start <= addr + (range - 1))
		return "overlaps the kernel-reserved range";
	if (ps && ((addr | range) & (ps - 1)))
		return "not aligned to the VM's page size";
	return NULL;
}

int vm_reject_range(struct gpuva_vm *vm, uint64_t addr, uint64_t range,
		    const char *why, const char *what);

/*
 * Validate a request range; @what names the request for the reason, which
 * reads "map 0x1000 0x0: range is zero (VM ...)". 0 or -EINVAL. Inline:
 * every request passes here.
 */
static inline int
vm_validate_range(struct gpuva_vm *vm, uint64_t addr, uint64_t range,
		  const char *what)
{
	const char *why = vm_range_problem(vm, addr, range);

	return why ? vm_reject_range(vm, addr, range, why, what) : 0;
}

/* vm_validate_bo_range()'s rejection: out of line, it formats a reason. */
int vm_reject_bo_range(struct gpuva_vm *vm, const struct gpuva_bo *bo,
		       uint64_t addr, uint64_t range, uint64_t offset,
		       const char *what);

/*
 * Validate the BO side of a BO-backed map or insert: @offset a multiple of
 * the page size, [offset, offset + range) inside the BO (if its size is
 * known). 0 or -EINVAL with a reason naming @what. Inline: every BO-backed
 * map passes here.
 */
static inline int
vm_validate_bo_range(struct gpuva_vm *vm, const struct gpuva_bo *bo,
		     uint64_t addr, uint64_t range, uint64_t offset,
		     const char *what)
{
	if ((vm->page_size && (offset & (vm->page_size - 1))) ||
	    (bo->size && (offset > bo->size || range > bo->size - offset)))
		return vm_reject_bo_range(vm, bo, addr, range, offset, what);
	return 0;
}

/* The mapping containing @addr or, failing that, the first one above it. */
static inline struct gpuva *
vm_first_from(const struct gpuva_vm *vm, uint64_t addr)
{
	return idx_find_from(vm_index(vm), addr);
}

/*
 * A free slab slot links to the next through its first word; so do the
 * mappings apply_ops() takes before it commits.
 */
static inline struct gpuva *
slab_link(const struct gpuva *va)
{
	return (struct gpuva *)(uintptr_t)va->addr;
}

/*
 * gpuva_vm_va_alloc() past the fast path: out of line, so that the fast
 * path keeps no frame (gcc inlines it otherwise, 13 instructions a map).
 */
struct gpuva *vm_va_alloc_slow(struct gpuva_vm *vm) __attribute__((noinline));

/*
 * gpuva_vm_va_alloc() for a mapping whose every field is written next (by
 * gpuva_map() or gpuva_remap()): a slab slot is not zeroed first.
 */
static inline struct gpuva *
vm_va_alloc_raw(struct gpuva_vm *vm)
{
	struct gpuva *va = vm->slab_free;

	if (vm->alloc.va_alloc || !va)
		return vm_va_alloc_slow(vm);
	vm->slab_free = slab_link(va);
	return va;
}

/*
 * gpuva_vm_va_alloc(), inline for the library's own callers: with the
 * default allocator, the free list's head, zeroed.
 */
static inline struct gpuva *
vm_va_alloc(struct gpuva_vm *vm)
{
	struct gpuva *va;

	if (vm->alloc.va_alloc || !vm->slab_free)
		return vm_va_alloc_slow(vm);
	va = vm_va_alloc_raw(vm);
	memset(va, 0, sizeof(*va));
	return va;
}

/* gpuva_vm_va_free(), inline for the library's own callers. */
static inline void
vm_va_free(struct gpuva_vm *vm, struct gpuva *va)
{
	if (!va)
		return;
	if (vm->alloc.va_free) {
		vm->alloc.va_free(vm->alloc.priv, va);
		return;
	}
	va->addr = (uint64_t)(uintptr_t)vm->slab_free;
	vm->slab_free = va;
}

/* Free a vm_bo that has neither mappings nor references. */
void vm_bo_free(struct gpuva_vm *vm, struct gpuva_vm_bo *vb);

/*
 * gpuva_vm_bo_obtain() and gpuva_vm_bo_put(), inline where a request takes
 * its reference: the (VM, BO) link usually exists already, and the BO
 * usually lives in one VM, so the fast path is a load, a compare and an
 * increment.
 */
static inline int
vm_bo_obtain(struct gpuva_vm *vm, struct gpuva_bo *bo,
	     struct gpuva_vm_bo **out)
{
	struct gpuva_vm_bo *vb = bo->vm_bos;

	if (vb && vb->vm == vm) {
		vb->refs++;
		*out = vb;
		return 0;
	}
	return gpuva_vm_bo_obtain(vm, bo, out);
}

static inline void
vm_bo_put(struct gpuva_vm_bo *vb)
{
	if (vb && --vb->refs == 0 && vb->va_count == 0)
		vm_bo_free(vb->vm, vb);
}

/*
 * Fill a mapping from a MAP op or a REMAP piece: every field, links NULL
 * (vm_bo_link_fresh() may follow), flags in the links' low bits.
 */
static inline void
vm_va_fill(struct gpuva *va, const struct gpuva_op_map *m)
{
	va->addr = m->addr;
	va->range = m->range;
	va->offset = m->offset;
	va->vm_bo = NULL;
	va->bo_link[0] = va->bo_link[1] = 0;
	gpuva_set_flags(va, m->flags);
}

/* The BO links' low three bits carry the flags (vm.h): keep them. */
#define LINK_TAGS ((uintptr_t)7)

static inline struct gpuva *
link_ptr(uintptr_t l)
{
	return (struct gpuva *)(l & ~LINK_TAGS);
}

static inline void
set_link(uintptr_t *l, struct gpuva *p)
{
	*l = (uintptr_t)p | (*l & LINK_TAGS);
}

/*
 * Link/unlink a mapping to/from a vm_bo, in link order. Inline: every op
 * does one or two. _fresh: the mapping's links are NULL already (fill()
 * leaves them so), and only its flag bits are set.
 */
static inline void
vm_bo_link_fresh(struct gpuva *va, struct gpuva_vm_bo *vb)
{
	va->vm_bo = vb;
	va->bo_link[1] |= (uintptr_t)vb->last;
	if (vb->last)
		set_link(&vb->last->bo_link[0], va);
	else
		vb->first = va;
	vb->last = va;
	vb->va_count++;
}

static inline void
vm_bo_link(struct gpuva *va, struct gpuva_vm_bo *vb)
{
	set_link(&va->bo_link[0], NULL);
	set_link(&va->bo_link[1], NULL);
	vm_bo_link_fresh(va, vb);
}

static inline void
vm_bo_unlink(struct gpuva *va)
{
	struct gpuva_vm_bo *vb = va->vm_bo;
	struct gpuva *next = link_ptr(va->bo_link[0]);
	struct gpuva *prev = link_ptr(va->bo_link[1]);

	if (!vb)
		return;
	if (prev)
		set_link(&prev->bo_link[0], next);
	else
		vb->first = next;
	if (next)
		set_link(&next->bo_link[1], prev);
	else
		vb->last = prev;
	set_link(&va->bo_link[0], NULL);
	set_link(&va->bo_link[1], NULL);
	va->vm_bo = NULL;
	if (--vb->va_count == 0 && vb->refs == 0)
		vm_bo_free(vb->vm, vb);
}

/* gpuva_vm_check() after a change; abort()s on a failure. */
void vm_check_change(struct gpuva_vm *vm);

/* Run gpuva_vm_check() after a change when GPUVA_VM_CHECK is set. */
static inline void
vm_after_change(struct gpuva_vm *vm)
{
	if (vm->flags & GPUVA_VM_CHECK)
		vm_check_change(vm);
}

#endif /* GPUVA_LIB_VM_INTERNAL_H */
