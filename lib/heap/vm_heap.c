/* SPDX-License-Identifier: MIT */
/*
 * The VM's own heap: the one place where the heap meets the VM.
 *
 * A driver with a VM_BIND VM needs addresses inside that VM, never inside
 * the range the kernel keeps for itself, and aligned to the VM's page size.
 * This file creates the heap lazily over the VM's range, reserves the kernel
 * range for good, and applies the page-size rule, so that an address from
 * gpuva_vm_alloc_addr() is always a valid gpuva_insert() range. It leaves
 * out everything else: the heap stays ignorant of mappings.
 */
#include <errno.h>
#include <inttypes.h>

#include "heap_internal.h"
#include "util/util.h"
#include "vm/vm_internal.h"

static int
get_heap(struct gpuva_vm *vm, struct gpuva_heap **out)
{
	struct gpuva_heap *heap;
	int err;

	if (vm->heap) {
		*out = vm->heap;
		return 0;
	}
	/* range <= 2^64 - 1: it came from a uint64_t */
	err = gpuva_heap_create(vm->start, vm->last - vm->start + 1, &heap);
	if (err)
		return vm_reject(vm, err, "heap: cannot create the VM's heap");
	if (vm->rsv_range) {
		uint64_t a = vm->rsv_start, l = vm->rsv_start + (vm->rsv_range - 1);

		if (a < vm->start)
			a = vm->start;
		if (l > vm->last)
			l = vm->last;
		if (a <= l) {
			err = heap_take(heap, a, l - a + 1, HEAP_KIND_KERNEL,
					"reserve");
			if (err) {
				vm_reject(vm, err, "%s", gpuva_heap_last_error(heap));
				gpuva_heap_destroy(heap);
				return err;
			}
		}
	}
	vm->heap = heap;
	*out = heap;
	return 0;
}

static int
alloc_addr(struct gpuva_vm *vm, uint64_t size, uint64_t align,
	   uint32_t flags, uint64_t *addr)
{
	struct gpuva_heap *heap = NULL;
	int err;

	if (vm->page_size && (size & (vm->page_size - 1)))
		return vm_reject(vm, -EINVAL, "alloc_addr 0x%" PRIx64 " align=0x%"
				 PRIx64 ": size is not a multiple of the page size 0x%"
				 PRIx64, size, align, vm->page_size);
	if (util_is_pow2(align) && align < vm->page_size)
		align = vm->page_size;
	err = get_heap(vm, &heap);
	if (err)
		return err;
	err = gpuva_heap_alloc(heap, size, align, flags, addr);
	if (err)
		return vm_reject(vm, err, "%s", gpuva_heap_last_error(heap));
	return 0;
}

static int
free_addr(struct gpuva_vm *vm, uint64_t addr, uint64_t size)
{
	int err;

	if (!vm->heap)
		return vm_reject(vm, -EINVAL, "free 0x%" PRIx64 " 0x%" PRIx64
				 ": not allocated (nothing was)", addr, size);
	err = gpuva_heap_free(vm->heap, addr, size);
	if (err)
		return vm_reject(vm, err, "%s", gpuva_heap_last_error(vm->heap));
	return 0;
}

/*
 * The public calls: under GPUVA_VM_THREADSAFE the VM's lock covers its
 * heap too, and on a VM with a backend they first take back the ranges
 * whose unmap has run (gpuva_bind_free_addr()). A lost VM refuses them.
 */
int
gpuva_vm_get_heap(struct gpuva_vm *vm, struct gpuva_heap **out)
{
	int err;

	vm_lock(vm);
	err = vm_refuse_lost(vm, "get_heap");
	if (!err)
		err = get_heap(vm, out);
	vm_unlock(vm);
	return err;
}

int
gpuva_vm_alloc_addr(struct gpuva_vm *vm, uint64_t size, uint64_t align,
		    uint32_t flags, uint64_t *addr)
{
	int err;

	vm_lock(vm);
	err = vm_refuse_lost(vm, "alloc_addr");
	if (!err && vm->backend)
		vm_reap(vm);
	if (!err)
		err = alloc_addr(vm, size, align, flags, addr);
	vm_unlock(vm);
	return err;
}

int
gpuva_vm_free_addr(struct gpuva_vm *vm, uint64_t addr, uint64_t size)
{
	int err;

	vm_lock(vm);
	err = vm_refuse_lost(vm, "free_addr");
	if (!err)
		err = free_addr(vm, addr, size);
	vm_unlock(vm);
	return err;
}
