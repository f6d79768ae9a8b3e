/* SPDX-License-Identifier: MIT */
/*
 * Internal view of the VM, shared by the vm and ops layers (and the layers
 * above, which reach the VM only through these helpers and vm.h).
 */
#ifndef GPUVA_LIB_VM_INTERNAL_H
#define GPUVA_LIB_VM_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>

#include "gpuva/heap.h"
#include "gpuva/vm.h"
#include "index/index.h"

#define VM_ERROR_MAX 256

struct gpuva_vm {
	struct idx index;		/* mappings keyed by addr */
	uint64_t start, last;		/* managed: [start, last] inclusive */
	uint64_t rsv_start, rsv_range;	/* reserved; rsv_range 0: none */
	uint64_t page_size;		/* 0: no alignment rule */
	uint32_t flags;
	struct gpuva_vm_alloc alloc;

	/* default allocator for mappings: 48-byte slots in malloc'd pages */
	struct vm_slab_page *slab_pages;
	struct gpuva *slab_free;
	size_t slab_bytes;

	/* all vm_bos of this VM, so destroy finds the unused ones too */
	struct gpuva_vm_bo *vm_bos;
	size_t vm_bo_count;

	struct gpuva_heap *heap;	/* gpuva_vm_alloc_addr(); NULL until used */

	gpuva_log_fn log_fn;
	void *log_priv;
	char last_error[VM_ERROR_MAX];
};

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

/*
 * Validate the BO side of a BO-backed map or insert: @offset a multiple of
 * the page size, [offset, offset + range) inside the BO (if its size is
 * known). 0 or -EINVAL with a reason naming @what.
 */
int vm_validate_bo_range(struct gpuva_vm *vm, const struct gpuva_bo *bo,
			 uint64_t addr, uint64_t range, uint64_t offset,
			 const char *what);

/* The mapping containing @addr or, failing that, the first one above it. */
struct gpuva *vm_first_from(const struct gpuva_vm *vm, uint64_t addr);


/* Link/unlink a mapping to/from a vm_bo, in link order. */
void vm_bo_link(struct gpuva *va, struct gpuva_vm_bo *vm_bo);
void vm_bo_unlink(struct gpuva *va);

/* Run gpuva_vm_check() after a change when GPUVA_VM_CHECK is set. */
void vm_after_change(struct gpuva_vm *vm);

#endif /* GPUVA_LIB_VM_INTERNAL_H */
