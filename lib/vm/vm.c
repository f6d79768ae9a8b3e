/* SPDX-License-Identifier: MIT */
/*
 * The vm layer: one VA space, its mappings, and their links to BOs.
 *
 * It exists so that every other layer speaks of mappings and BOs, not of
 * tree nodes: it validates ranges, keeps the per-(VM, BO) lists that
 * eviction and BO destruction need, owns the default mapping allocator, and
 * records why a call was rejected. It leaves out op generation (ops layer)
 * and address allocation (heap layer).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "vm_internal.h"

/*
 * Slab pages: 64 KiB of va_size-byte slots (1364 of 48 bytes). A 48-byte
 * slot starts on a 16-byte boundary of a 64-byte aligned page, so a
 * mapping's addr and range (what a leaf search and an overlap test read)
 * share one line.
 */
#define SLAB_PAGE	(64u << 10)

struct vm_slab_page {
	struct vm_slab_page *next;
	uint64_t pad[7];	/* the slots start on a line */
	unsigned char slots[];
};

#define SLAB_SLOTS_BYTES (SLAB_PAGE - offsetof(struct vm_slab_page, slots))

_Static_assert(sizeof(struct gpuva) == 48, "a mapping is 48 bytes");
_Static_assert(sizeof(struct gpuva_bound) == 56, "a bound mapping is 56 bytes");
_Static_assert(offsetof(struct gpuva, addr) == 0, "the index key comes first");
_Static_assert(offsetof(struct gpuva, range) == 8,
	       "the index reads a mapping's extent from its next 8 bytes");
_Static_assert(offsetof(struct vm_slab_page, slots) == 64,
	       "slots start on a cache line");

int
vm_reject(struct gpuva_vm *vm, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err = vm_reject_va(vm, err, fmt, ap);
	va_end(ap);
	return err;
}

/*
 * Under GPUVA_VM_THREADSAFE a reason is kept per thread as well: another
 * thread's call may overwrite the VM's between a failed call and the
 * gpuva_vm_last_error() that reads it, once the lock is released.
 */
static _Thread_local const struct gpuva_vm *tls_vm;
static _Thread_local char tls_error[VM_ERROR_MAX];

int
vm_reject_lost(struct gpuva_vm *vm, const char *what)
{
	return vm_reject(vm, -EPIPE, "%s: the VM is lost; destroy it and create "
			 "a new one", what);
}

int
vm_reject_va(struct gpuva_vm *vm, int err, const char *fmt, va_list ap)
{
	err = util_reject(vm->last_error, sizeof(vm->last_error), vm->log_fn,
			  vm->log_priv, err, fmt, ap);
	if (vm->flags & GPUVA_VM_THREADSAFE) {
		memcpy(tls_error, vm->last_error, sizeof(tls_error));
		tls_vm = vm;
	}
	return err;
}

int
gpuva_vm_reject(struct gpuva_vm *vm, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err = vm_reject_va(vm, err, fmt, ap);
	va_end(ap);
	return err;
}

static int vm_create(const struct gpuva_vm_desc *desc, struct gpuva_vm **out);

int
gpuva_vm_create(const struct gpuva_vm_desc *desc, struct gpuva_vm **out)
{
	struct gpuva_backend *be;
	struct gpuva_vm_desc d;
	void *priv = NULL;
	int ret;

	if (!desc || !out)
		return -EINVAL;
	be = desc->backend;
	if (!be)
		return vm_create(desc, out);
	/* the backend sets the kernel VM up first: it knows the geometry */
	d = *desc;
	ret = be->ops->vm_init(be, &d, &priv);
	if (ret)
		return ret;
	ret = vm_create(&d, out);
	if (ret) {
		be->ops->vm_fini(be, priv);
		return gpuva_backend_reject(be, ret,
					    "vm 0x%" PRIx64 " 0x%" PRIx64
					    ": the kernel's VM geometry is not a valid VM",
					    d.start, d.range);
	}
	(*out)->be_priv = priv;
	be->vm_count++;
	return 0;
}

static int
vm_create(const struct gpuva_vm_desc *desc, struct gpuva_vm **out)
{
	struct gpuva_vm *vm;
	uint64_t ps;

	ps = desc->page_size;
	/* ending exactly at 2^64 is fine: the last byte is what must fit */
	if (desc->range == 0 || desc->range - 1 > UINT64_MAX - desc->start)
		return -EINVAL;
	if (desc->reserved_range &&
	    desc->reserved_range - 1 > UINT64_MAX - desc->reserved_start)
		return -EINVAL;
	if (ps && (!util_is_pow2(ps) || (desc->start | desc->range) & (ps - 1) ||
		   (desc->reserved_range &&
		    (desc->reserved_start | desc->reserved_range) & (ps - 1))))
		return -EINVAL;
	if (desc->flags & ~(uint32_t)(GPUVA_VM_CHECK | GPUVA_VM_THREADSAFE))
		return -EINVAL;
	if (!desc->alloc.va_alloc != !desc->alloc.va_free ||
	    !desc->alloc.vm_bo_alloc != !desc->alloc.vm_bo_free)
		return -EINVAL;

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	idx_init(&vm->index);
	vm->start = desc->start;
	vm->last = desc->start + desc->range - 1;
	vm->rsv_start = desc->reserved_start;
	vm->rsv_range = desc->reserved_range;
	vm->page_size = ps;
	vm->flags = desc->flags;
	vm->alloc = desc->alloc;
	vm->backend = desc->backend;
	vm->va_size = vm->backend ? sizeof(struct gpuva_bound) : sizeof(struct gpuva);
	if (vm->flags & GPUVA_VM_THREADSAFE) {
		pthread_mutexattr_t a;

		/* recursive: gpuva_vm_lock() holders may begin transactions */
		pthread_mutexattr_init(&a);
		pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
		if (pthread_mutex_init(&vm->lock, &a)) {
			pthread_mutexattr_destroy(&a);
			free(vm);
			return -ENOMEM;
		}
		pthread_mutexattr_destroy(&a);
	}
	*out = vm;
	return 0;
}

void
vm_bo_free(struct gpuva_vm *vm, struct gpuva_vm_bo *vb)
{
	struct gpuva_vm_bo **pp;

	for (pp = &vb->bo->vm_bos; *pp != vb; pp = &(*pp)->bo_next)
		;
	*pp = vb->bo_next;
	if (vb->vm_prev)
		vb->vm_prev->vm_next = vb->vm_next;
	else
		vm->vm_bos = vb->vm_next;
	if (vb->vm_next)
		vb->vm_next->vm_prev = vb->vm_prev;
	vm->vm_bo_count--;
	if (vm->alloc.vm_bo_free)
		vm->alloc.vm_bo_free(vm->alloc.priv, vb);
	else
		free(vb);
}

void
gpuva_vm_destroy(struct gpuva_vm *vm)
{
	struct gpuva *va, *tmp;

	if (!vm)
		return;
	if (vm->backend) {
		/* the kernel VM first: it unmaps what the mirror still shows */
		vm->backend->ops->vm_fini(vm->backend, vm->be_priv);
		vm->backend->vm_count--;
	}
	vm_deferred_drop(vm);
	if (vm->backend)
		vm_txn_cache_free(vm);
	gpuva_vm_for_each_va_safe(va, tmp, vm) {
		va->vm_bo = NULL;
		gpuva_vm_va_free(vm, va);
	}
	while (vm->vm_bos)
		vm_bo_free(vm, vm->vm_bos);
	gpuva_heap_destroy(vm->heap);
	idx_fini(&vm->index);
	while (vm->slab_pages) {
		struct vm_slab_page *p = vm->slab_pages;

		vm->slab_pages = p->next;
		free(p);
	}
	if (vm->flags & GPUVA_VM_THREADSAFE)
		pthread_mutex_destroy(&vm->lock);
	free(vm);
}

const char *
gpuva_vm_last_error(const struct gpuva_vm *vm)
{
	if ((vm->flags & GPUVA_VM_THREADSAFE) && tls_vm == vm)
		return tls_error;
	return vm->last_error;
}

void
gpuva_vm_set_log_fn(struct gpuva_vm *vm, gpuva_log_fn fn, void *priv)
{
	vm->log_fn = fn;
	vm->log_priv = priv;
}

void
gpuva_vm_get_info(const struct gpuva_vm *vm, struct gpuva_vm_info *info)
{
	memset(info, 0, sizeof(*info));
	info->start = vm->start;
	info->range = vm->last - vm->start + 1;
	info->reserved_start = vm->rsv_start;
	info->reserved_range = vm->rsv_range;
	info->page_size = vm->page_size;
	info->flags = vm->flags;
	info->lost = vm->lost;
	info->va_count = vm->index.count;
	info->vm_bo_count = vm->vm_bo_count;
	info->bytes = sizeof(*vm) + vm->slab_bytes + vm->index.bytes +
		      (vm->alloc.vm_bo_alloc ? 0 :
		       vm->vm_bo_count * sizeof(struct gpuva_vm_bo));
}

bool
gpuva_vm_range_valid(const struct gpuva_vm *vm, uint64_t addr, uint64_t range)
{
	return !vm_range_problem(vm, addr, range);
}

int
vm_reject_range(struct gpuva_vm *vm, uint64_t addr, uint64_t range,
		const char *why, const char *what)
{
	return vm_reject(vm, -EINVAL,
			 "%s 0x%" PRIx64 " 0x%" PRIx64 ": %s (VM 0x%" PRIx64
			 "-0x%" PRIx64 ", reserved 0x%" PRIx64 " +0x%" PRIx64
			 ", page size 0x%" PRIx64 ")",
			 what, addr, range, why, vm->start, vm->last,
			 vm->rsv_start, vm->rsv_range, vm->page_size);
}

int
vm_reject_bo_range(struct gpuva_vm *vm, const struct gpuva_bo *bo,
		   uint64_t addr, uint64_t range, uint64_t offset,
		   const char *what)
{
	if (vm->page_size && (offset & (vm->page_size - 1)))
		return vm_reject(vm, -EINVAL,
				 "%s 0x%" PRIx64 " 0x%" PRIx64 " offset 0x%" PRIx64
				 ": offset not aligned to the page size 0x%" PRIx64,
				 what, addr, range, offset, vm->page_size);
	return vm_reject(vm, -EINVAL,
			 "%s 0x%" PRIx64 " 0x%" PRIx64 " offset 0x%" PRIx64
			 ": beyond the BO's size 0x%" PRIx64,
			 what, addr, range, offset, bo->size);
}

/* ---- mapping allocation ------------------------------------------------ */

/* cold: a driver's allocator, or a new slab page; see vm_va_alloc() */
struct gpuva *
vm_va_alloc_slow(struct gpuva_vm *vm)
{
	struct vm_slab_page *p;

	if (vm->alloc.va_alloc)
		return vm->alloc.va_alloc(vm->alloc.priv);
	p = aligned_alloc(64, SLAB_PAGE);
	if (!p)
		return NULL;
	p->next = vm->slab_pages;
	vm->slab_pages = p;
	vm->slab_bytes += SLAB_PAGE;
	for (size_t i = SLAB_SLOTS_BYTES / vm->va_size; i-- > 0;) {
		struct gpuva *va = (struct gpuva *)(void *)&p->slots[i * vm->va_size];

		va->addr = (uint64_t)(uintptr_t)vm->slab_free;
		vm->slab_free = va;
	}
	return vm_va_alloc(vm);
}

void
vm_slab_mark(const struct gpuva_vm *vm, struct vm_slab_mark *m)
{
	m->pages = vm->slab_pages;
	m->bytes = vm->slab_bytes;
}

/* Is @va a slot of one of the pages added since @m? */
static bool
slab_is_new(const struct gpuva_vm *vm, const struct vm_slab_mark *m,
	    const struct gpuva *va)
{
	for (const struct vm_slab_page *p = vm->slab_pages; p != m->pages;
	     p = p->next)
		if ((const unsigned char *)va >= p->slots &&
		    (const unsigned char *)va < (const unsigned char *)p + SLAB_PAGE)
			return true;
	return false;
}

void
vm_slab_rewind(struct gpuva_vm *vm, const struct vm_slab_mark *m,
	       struct gpuva *const *vas, size_t n)
{
	struct gpuva *rest;

	if (vm->alloc.va_alloc) {
		while (n--)
			vm->alloc.va_free(vm->alloc.priv, vas[n]);
		return;
	}
	/*
	 * The taken slots were the head of the free list, in order. A page
	 * is added only when that list is empty, so with new pages the old
	 * list ended with the last old slot taken; without, it goes on with
	 * what is free now. Relink the old slots in front of that, newest
	 * first, and drop the new pages.
	 */
	rest = vm->slab_pages != m->pages ? NULL : vm->slab_free;
	while (n--) {
		if (slab_is_new(vm, m, vas[n]))
			continue;
		vas[n]->addr = (uint64_t)(uintptr_t)rest;
		rest = vas[n];
	}
	while (vm->slab_pages != m->pages) {
		struct vm_slab_page *p = vm->slab_pages;

		vm->slab_pages = p->next;
		free(p);
	}
	vm->slab_free = rest;
	vm->slab_bytes = m->bytes;
}

void
vm_deferred_drop(struct gpuva_vm *vm)
{
	while (vm->deferred) {
		struct vm_deferred *d = vm->deferred;

		vm->deferred = d->next;
		free(d);
	}
	vm->deferred_tail = NULL;
}

struct gpuva *
gpuva_vm_va_alloc(struct gpuva_vm *vm)
{
	return vm_va_alloc(vm);
}

void
gpuva_vm_va_free(struct gpuva_vm *vm, struct gpuva *va)
{
	vm_va_free(vm, va);
}

/* ---- BO links ------------------------------------------------------------ */

void
gpuva_bo_init(struct gpuva_bo *bo, uint64_t size)
{
	bo->size = size;
	bo->vm_bos = NULL;
}

int
gpuva_bo_fini(struct gpuva_bo *bo)
{
	if (!bo)
		return 0;
	return bo->vm_bos ? -EBUSY : 0;
}

struct gpuva_vm_bo *
gpuva_vm_bo_find(const struct gpuva_vm *vm, const struct gpuva_bo *bo)
{
	for (struct gpuva_vm_bo *vb = bo->vm_bos; vb; vb = vb->bo_next)
		if (vb->vm == vm)
			return vb;
	return NULL;
}

int
gpuva_vm_bo_obtain(struct gpuva_vm *vm, struct gpuva_bo *bo,
		   struct gpuva_vm_bo **out)
{
	struct gpuva_vm_bo *vb = gpuva_vm_bo_find(vm, bo);

	if (!vb) {
		vb = vm->alloc.vm_bo_alloc ? vm->alloc.vm_bo_alloc(vm->alloc.priv)
					   : calloc(1, sizeof(*vb));
		if (!vb)
			return vm_reject(vm, -ENOMEM,
					 "vm_bo: out of memory for a new (VM, BO) link");
		vb->vm = vm;
		vb->bo = bo;
		vb->bo_next = bo->vm_bos;
		bo->vm_bos = vb;
		vb->vm_next = vm->vm_bos;
		if (vm->vm_bos)
			vm->vm_bos->vm_prev = vb;
		vm->vm_bos = vb;
		vm->vm_bo_count++;
	}
	vb->refs++;
	*out = vb;
	return 0;
}

void
gpuva_vm_bo_put(struct gpuva_vm_bo *vb)
{
	vm_bo_put(vb);
}

/* ---- insert, remove, lookups ---------------------------------------------- */

int
vm_reserve_slow(struct gpuva_vm *vm, unsigned inserts, const char *what)
{
	if (!idx_reserve(&vm->index, inserts))
		return 0;
	return vm_reject(vm, -ENOMEM, "%s: out of memory for index nodes", what);
}

int
gpuva_insert(struct gpuva_vm *vm, struct gpuva *va, struct gpuva_bo *bo)
{
	struct gpuva_vm_bo *vb = NULL;
	struct gpuva *o;
	int ret;

	ret = vm_validate_range(vm, va->addr, va->range, "insert");
	if (ret)
		return ret;
	if (bo) {
		ret = vm_validate_bo_range(vm, bo, va->addr, va->range,
					   va->offset, "insert");
		if (ret)
			return ret;
	}
	o = vm_first_from(vm, va->addr);
	if (o && o->addr < va->addr + va->range)
		return vm_reject(vm, -EEXIST,
				 "insert 0x%" PRIx64 " 0x%" PRIx64
				 ": overlaps the mapping 0x%" PRIx64 " 0x%" PRIx64,
				 va->addr, va->range, o->addr, o->range);
	if (bo) {
		ret = gpuva_vm_bo_obtain(vm, bo, &vb);
		if (ret)
			return ret;
	}
	ret = vm_reserve(vm, 1, "insert");
	if (ret) {
		gpuva_vm_bo_put(vb);
		return ret;
	}
	va->vm_bo = NULL;
	idx_insert(&vm->index, va);
	if (vb) {
		vm_bo_link(va, vb);
		gpuva_vm_bo_put(vb);
	}
	vm_after_change(vm);
	return 0;
}

void
gpuva_remove(struct gpuva_vm *vm, struct gpuva *va)
{
	idx_remove(&vm->index, va);
	vm_bo_unlink(va);
	vm_after_change(vm);
}

struct gpuva *
gpuva_vm_find_first(const struct gpuva_vm *vm, uint64_t addr, uint64_t range)
{
	struct gpuva *va;

	if (range == 0 || addr + range < addr)
		return NULL;
	/* vm_first_from() gives the mapping containing addr, or the next */
	va = vm_first_from(vm, addr);
	return va && (va->addr <= addr || va->addr - addr < range) ? va : NULL;
}

struct gpuva *
gpuva_vm_find(const struct gpuva_vm *vm, uint64_t addr, uint64_t range)
{
	struct gpuva *va = idx_find(vm_index(vm), addr);

	return va && va->range == range ? va : NULL;
}

struct gpuva *
gpuva_vm_find_at(const struct gpuva_vm *vm, uint64_t addr)
{
	struct gpuva *va = idx_find_le(vm_index(vm), addr);

	return va && addr - va->addr < va->range ? va : NULL;
}

struct gpuva *
gpuva_vm_first(const struct gpuva_vm *vm)
{
	return idx_first(vm_index(vm));
}

struct gpuva *
gpuva_vm_last(const struct gpuva_vm *vm)
{
	return idx_last(vm_index(vm));
}

struct gpuva *
gpuva_vm_next(const struct gpuva_vm *vm, const struct gpuva *va)
{
	return idx_next(vm_index(vm), va);
}

struct gpuva *
gpuva_vm_prev(const struct gpuva_vm *vm, const struct gpuva *va)
{
	return idx_prev(vm_index(vm), va);
}

size_t
gpuva_vm_count(const struct gpuva_vm *vm)
{
	return vm->index.count;
}

/* ---- invariants ------------------------------------------------------------ */

int
gpuva_vm_check(struct gpuva_vm *vm)
{
	const char *why;
	struct gpuva *va, *prev = NULL;
	size_t linked = 0, nvb = 0;

	if (idx_check(&vm->index, &why))
		return vm_reject(vm, -EINVAL, "check: index: %s", why);
	gpuva_vm_for_each_va(va, vm) {
		const char *p = vm_range_problem(vm, va->addr, va->range);

		if (p)
			return vm_reject(vm, -EINVAL,
					 "check: mapping 0x%" PRIx64 " 0x%" PRIx64 ": %s",
					 va->addr, va->range, p);
		if (prev && gpuva_end(prev) > va->addr)
			return vm_reject(vm, -EINVAL,
					 "check: mappings 0x%" PRIx64 " and 0x%" PRIx64
					 " overlap", prev->addr, va->addr);
		if (va->vm_bo) {
			if (va->vm_bo->vm != vm)
				return vm_reject(vm, -EINVAL,
						 "check: mapping 0x%" PRIx64
						 " linked to another VM's vm_bo", va->addr);
			linked++;
		} else if (link_ptr(va->bo_link[0]) || link_ptr(va->bo_link[1])) {
			return vm_reject(vm, -EINVAL,
					 "check: NULL mapping 0x%" PRIx64
					 " has BO links", va->addr);
		}
		prev = va;
	}
	for (struct gpuva_vm_bo *vb = vm->vm_bos; vb; vb = vb->vm_next) {
		size_t n = 0;
		struct gpuva *last = NULL;

		nvb++;
		if (gpuva_vm_bo_find(vm, vb->bo) != vb)
			return vm_reject(vm, -EINVAL,
					 "check: vm_bo missing from its BO's list");
		for (va = vb->first; va; va = gpuva_bo_next(va)) {
			if (va->vm_bo != vb || link_ptr(va->bo_link[1]) != last)
				return vm_reject(vm, -EINVAL,
						 "check: BO link list of mapping 0x%" PRIx64
						 " broken", va->addr);
			if (idx_find(&vm->index, va->addr) != va)
				return vm_reject(vm, -EINVAL,
						 "check: linked mapping 0x%" PRIx64
						 " is not in the tree", va->addr);
			last = va;
			n++;
		}
		if (last != vb->last || n != vb->va_count)
			return vm_reject(vm, -EINVAL,
					 "check: vm_bo count %zu, list holds %zu",
					 vb->va_count, n);
		if (n == 0 && vb->refs == 0)
			return vm_reject(vm, -EINVAL, "check: unused vm_bo kept");
		linked -= n;
	}
	if (linked != 0)
		return vm_reject(vm, -EINVAL,
				 "check: mappings and vm_bo lists disagree");
	if (nvb != vm->vm_bo_count)
		return vm_reject(vm, -EINVAL, "check: vm_bo count wrong");
	return 0;
}

void
vm_check_change(struct gpuva_vm *vm)
{
	if (gpuva_vm_check(vm)) {
		/* a library bug, not bad input: stop where it happened */
		fprintf(stderr, "libgpuva: GPUVA_VM_CHECK: %s\n", vm->last_error);
		abort();
	}
}

/*
 * A request that starts exactly on a mapping usually removes it, which
 * unlinks it from its BO's list: a write to each neighbour there, cache
 * misses far from the tree. Ask for them while the other descents run.
 */
static void
warm_bo_links(const void *item)
{
	const struct gpuva *va = item;

	__builtin_prefetch((const void *)va->bo_link[0], 1);
	__builtin_prefetch((const void *)va->bo_link[1], 1);
}

void
gpuva_vm_warm(const struct gpuva_vm *vm, const uint64_t *addrs, size_t count)
{
	if (addrs)
		idx_warm(&vm->index, addrs, count, warm_bo_links);
}
