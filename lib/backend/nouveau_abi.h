/* SPDX-License-Identifier: MIT */
/*
 * The part of nouveau's kernel ABI the nouveau backend speaks: VM_INIT,
 * VM_BIND and GEM_NEW (Linux 6.6+, driver 1.4.0), declared here from the
 * facts in docs/kernels.md section 5.
 *
 * Why not libdrm's nouveau_drm.h: Debian 12's libdrm (2.4.114) ships one
 * without VM_INIT, VM_BIND or EXEC, and including it next to this would
 * clash. Every size, offset and request number is checked at compile
 * time below, for the host's ABI; the structs are fixed-width with
 * explicit padding, so i386 and x86_64 agree (docs/kernels.md section 6).
 */
#ifndef GPUVA_LIB_BACKEND_NOUVEAU_ABI_H
#define GPUVA_LIB_BACKEND_NOUVEAU_ABI_H

#include <stddef.h>
#include <stdint.h>
#include <xf86drm.h>	/* DRM_IOWR, DRM_COMMAND_BASE */

/* The VA space every nouveau VM spans: [0, 2^47), a kernel constant. */
#define NV_ABI_VA_END		(1ull << 47)

/* Driver ioctl indices (without DRM_COMMAND_BASE), for drmCommand*(). */
#define NV_ABI_VM_INIT		0x10
#define NV_ABI_VM_BIND		0x11
#define NV_ABI_GEM_NEW		0x40
#define NV_ABI_GEM_INFO		0x44	/* struct nv_abi_gem_info; ENOENT: no such handle */

/* DRM_IOCTL_NOUVEAU_VM_INIT: switch the fd to a userspace-managed VM. */
struct nv_abi_vm_init {
	uint64_t kernel_managed_addr;	/* the window the kernel keeps */
	uint64_t kernel_managed_size;
};

/* One wait or signal point of a VM_BIND. */
struct nv_abi_sync {
	uint32_t flags;			/* NV_ABI_SYNC_* in bits 0-3 */
	uint32_t handle;		/* DRM syncobj */
	uint64_t timeline_value;	/* TIMELINE only */
};

#define NV_ABI_SYNC_SYNCOBJ		0u
#define NV_ABI_SYNC_TIMELINE_SYNCOBJ	1u

/* One op of a VM_BIND. */
struct nv_abi_vm_bind_op {
	uint32_t op;			/* NV_ABI_OP_*: only 0 and 1 are sent */
	uint32_t flags;			/* SPARSE; for a MAP bits 0-7: PTE kind */
	uint32_t handle;		/* GEM handle (MAP) */
	uint32_t pad;
	uint64_t addr;
	uint64_t bo_offset;
	uint64_t range;
};

#define NV_ABI_OP_MAP		0u
#define NV_ABI_OP_UNMAP		1u
#define NV_ABI_BIND_SPARSE	0x100u	/* MAP: create a region; UNMAP: destroy it */
#define NV_ABI_BIND_KIND_MASK	0xffu	/* a MAP's PTE kind */

/* DRM_IOCTL_NOUVEAU_VM_BIND: a batch of ops, one job. */
struct nv_abi_vm_bind {
	uint32_t op_count;
	uint32_t flags;			/* NV_ABI_BIND_RUN_ASYNC */
	uint32_t wait_count;
	uint32_t sig_count;
	uint64_t wait_ptr;		/* struct nv_abi_sync[wait_count] */
	uint64_t sig_ptr;		/* struct nv_abi_sync[sig_count] */
	uint64_t op_ptr;		/* struct nv_abi_vm_bind_op[op_count] */
};

#define NV_ABI_BIND_RUN_ASYNC	1u

/* drm_nouveau_gem_info, the head of GEM_NEW. */
struct nv_abi_gem_info {
	uint32_t handle;		/* out */
	uint32_t domain;		/* NV_ABI_DOMAIN_* */
	uint64_t size;
	uint64_t offset;		/* out: 0 once VM_INIT ran */
	uint64_t map_handle;		/* out: the mmap offset */
	uint32_t tile_mode;
	uint32_t tile_flags;
};

/* DRM_IOCTL_NOUVEAU_GEM_NEW. */
struct nv_abi_gem_new {
	struct nv_abi_gem_info info;
	uint32_t channel_hint;
	uint32_t align;
};

#define NV_ABI_DOMAIN_VRAM	0x02u
#define NV_ABI_DOMAIN_GART	0x04u
#define NV_ABI_DOMAIN_NO_SHARE	0x20u	/* only after VM_INIT */

#define NV_ABI_CHECK(type, field, off) \
	_Static_assert(offsetof(struct type, field) == (off), #type "." #field)

_Static_assert(sizeof(struct nv_abi_vm_init) == 16, "nv_abi_vm_init");
NV_ABI_CHECK(nv_abi_vm_init, kernel_managed_addr, 0);
NV_ABI_CHECK(nv_abi_vm_init, kernel_managed_size, 8);

_Static_assert(sizeof(struct nv_abi_sync) == 16, "nv_abi_sync");
NV_ABI_CHECK(nv_abi_sync, flags, 0);
NV_ABI_CHECK(nv_abi_sync, handle, 4);
NV_ABI_CHECK(nv_abi_sync, timeline_value, 8);

_Static_assert(sizeof(struct nv_abi_vm_bind_op) == 40, "nv_abi_vm_bind_op");
NV_ABI_CHECK(nv_abi_vm_bind_op, op, 0);
NV_ABI_CHECK(nv_abi_vm_bind_op, flags, 4);
NV_ABI_CHECK(nv_abi_vm_bind_op, handle, 8);
NV_ABI_CHECK(nv_abi_vm_bind_op, pad, 12);
NV_ABI_CHECK(nv_abi_vm_bind_op, addr, 16);
NV_ABI_CHECK(nv_abi_vm_bind_op, bo_offset, 24);
NV_ABI_CHECK(nv_abi_vm_bind_op, range, 32);

_Static_assert(sizeof(struct nv_abi_vm_bind) == 40, "nv_abi_vm_bind");
NV_ABI_CHECK(nv_abi_vm_bind, op_count, 0);
NV_ABI_CHECK(nv_abi_vm_bind, flags, 4);
NV_ABI_CHECK(nv_abi_vm_bind, wait_count, 8);
NV_ABI_CHECK(nv_abi_vm_bind, sig_count, 12);
NV_ABI_CHECK(nv_abi_vm_bind, wait_ptr, 16);
NV_ABI_CHECK(nv_abi_vm_bind, sig_ptr, 24);
NV_ABI_CHECK(nv_abi_vm_bind, op_ptr, 32);

_Static_assert(sizeof(struct nv_abi_gem_info) == 40, "nv_abi_gem_info");
NV_ABI_CHECK(nv_abi_gem_info, handle, 0);
NV_ABI_CHECK(nv_abi_gem_info, domain, 4);
NV_ABI_CHECK(nv_abi_gem_info, size, 8);
NV_ABI_CHECK(nv_abi_gem_info, offset, 16);
NV_ABI_CHECK(nv_abi_gem_info, map_handle, 24);
NV_ABI_CHECK(nv_abi_gem_info, tile_mode, 32);
NV_ABI_CHECK(nv_abi_gem_info, tile_flags, 36);

_Static_assert(sizeof(struct nv_abi_gem_new) == 48, "nv_abi_gem_new");
NV_ABI_CHECK(nv_abi_gem_new, info, 0);
NV_ABI_CHECK(nv_abi_gem_new, channel_hint, 40);
NV_ABI_CHECK(nv_abi_gem_new, align, 44);

/* The request numbers drmCommandWriteRead() builds (docs/kernels.md 5.2). */
_Static_assert(DRM_IOWR(DRM_COMMAND_BASE + NV_ABI_VM_INIT,
			struct nv_abi_vm_init) == 0xC0106450u, "VM_INIT");
_Static_assert(DRM_IOWR(DRM_COMMAND_BASE + NV_ABI_VM_BIND,
			struct nv_abi_vm_bind) == 0xC0286451u, "VM_BIND");
_Static_assert(DRM_IOWR(DRM_COMMAND_BASE + NV_ABI_GEM_NEW,
			struct nv_abi_gem_new) == 0xC0306480u, "GEM_NEW");
_Static_assert(DRM_IOWR(DRM_COMMAND_BASE + NV_ABI_GEM_INFO,
			struct nv_abi_gem_info) == 0xC0286484u, "GEM_INFO");

#endif /* GPUVA_LIB_BACKEND_NOUVEAU_ABI_H */
