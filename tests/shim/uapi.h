/* SPDX-License-Identifier: MIT */
/*
 * The kernel ABI the fake render node speaks, declared from the upstream
 * kernel's uapi headers (drm.h, msm_drm.h, panthor_drm.h, nouveau_drm.h)
 * rather than taken from libdrm: Debian 12's libdrm-dev has no panthor
 * header and stale msm/nouveau headers without VM_BIND. Every layout is
 * checked below, so a typo cannot silently change the ABI the tests and
 * the shim agree on.
 *
 * Names carry a "shim_" prefix so this header can sit next to libdrm's
 * drm.h (pulled in by xf86drm.h) in the tests.
 */
#ifndef GPUVA_SHIM_UAPI_H
#define GPUVA_SHIM_UAPI_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define SHIM_IOC(dir, nr, size) \
	((unsigned long)(((uint32_t)(dir) << 30) | ((uint32_t)(size) << 16) | (0x64u << 8) | (nr)))
#define SHIM_IOC_W	1u
#define SHIM_IOC_R	2u
#define SHIM_IOC_RW	3u
#define SHIM_IOWR(nr, type)	SHIM_IOC(SHIM_IOC_RW, nr, sizeof(type))
#define SHIM_IOW(nr, type)	SHIM_IOC(SHIM_IOC_W, nr, sizeof(type))

#define SHIM_IOC_NR(req)	((unsigned)(req) & 0xffu)
#define SHIM_IOC_TYPE(req)	(((unsigned)(req) >> 8) & 0xffu)
#define SHIM_IOC_SIZE(req)	(((unsigned)(req) >> 16) & 0x3fffu)
#define SHIM_IOC_DIR(req)	(((unsigned)(req) >> 30) & 0x3u)

#define SHIM_COMMAND_BASE	0x40u
#define SHIM_COMMAND_END	0xa0u

#define SHIM_DRM_MAJOR		226
#define SHIM_RENDER_MINOR	128
#define SHIM_PAGE_SIZE		4096ull

#define static_assert_layout(type, field, off) \
	static_assert(offsetof(struct type, field) == (off), #type "." #field)

/* ---- DRM core (drm.h) ---- */

/* Not fixed-width on purpose: the kernel's struct uses int/size_t/pointers. */
struct shim_drm_version {
	int version_major;
	int version_minor;
	int version_patchlevel;
	size_t name_len;
	char *name;
	size_t date_len;
	char *date;
	size_t desc_len;
	char *desc;
};
#if UINTPTR_MAX == UINT64_MAX
static_assert(sizeof(struct shim_drm_version) == 64, "drm_version LP64");
static_assert_layout(shim_drm_version, name_len, 16);
static_assert_layout(shim_drm_version, desc, 56);
#else
static_assert(sizeof(struct shim_drm_version) == 36, "drm_version ILP32");
#endif

struct shim_drm_gem_close {
	uint32_t handle;
	uint32_t pad;
};
static_assert(sizeof(struct shim_drm_gem_close) == 8, "gem_close");

struct shim_drm_get_cap {
	uint64_t capability;
	uint64_t value;
};
static_assert(sizeof(struct shim_drm_get_cap) == 16, "get_cap");

#define SHIM_DRM_CAP_PRIME			0x5
#define SHIM_DRM_CAP_TIMESTAMP_MONOTONIC	0x6
#define SHIM_DRM_CAP_SYNCOBJ			0x13
#define SHIM_DRM_CAP_SYNCOBJ_TIMELINE		0x14

struct shim_syncobj_create {
	uint32_t handle;
	uint32_t flags;
};
static_assert(sizeof(struct shim_syncobj_create) == 8, "syncobj_create");
#define SHIM_SYNCOBJ_CREATE_SIGNALED	1u

struct shim_syncobj_destroy {
	uint32_t handle;
	uint32_t pad;
};
static_assert(sizeof(struct shim_syncobj_destroy) == 8, "syncobj_destroy");

struct shim_syncobj_handle {
	uint32_t handle;
	uint32_t flags;
	int32_t fd;
	uint32_t pad;
	uint64_t point;		/* newer kernels only; libdrm 2.4.114 sends 16 bytes */
};
static_assert(sizeof(struct shim_syncobj_handle) == 24, "syncobj_handle");
static_assert_layout(shim_syncobj_handle, point, 16);
#define SHIM_SYNCOBJ_HANDLE_SYNC_FILE	1u	/* IMPORT_SYNC_FILE / EXPORT_SYNC_FILE */
#define SHIM_SYNCOBJ_HANDLE_TIMELINE	2u

struct shim_syncobj_wait {
	uint64_t handles;
	int64_t timeout_nsec;
	uint32_t count_handles;
	uint32_t flags;
	uint32_t first_signaled;
	uint32_t pad;
	uint64_t deadline_nsec;
};
static_assert(sizeof(struct shim_syncobj_wait) == 40, "syncobj_wait");
static_assert_layout(shim_syncobj_wait, first_signaled, 24);

struct shim_syncobj_timeline_wait {
	uint64_t handles;
	uint64_t points;
	int64_t timeout_nsec;
	uint32_t count_handles;
	uint32_t flags;
	uint32_t first_signaled;
	uint32_t pad;
	uint64_t deadline_nsec;
};
static_assert(sizeof(struct shim_syncobj_timeline_wait) == 48, "timeline_wait");
static_assert_layout(shim_syncobj_timeline_wait, first_signaled, 32);

#define SHIM_SYNCOBJ_WAIT_ALL		1u
#define SHIM_SYNCOBJ_WAIT_FOR_SUBMIT	2u
#define SHIM_SYNCOBJ_WAIT_AVAILABLE	4u
#define SHIM_SYNCOBJ_WAIT_DEADLINE	8u

struct shim_syncobj_array {
	uint64_t handles;
	uint32_t count_handles;
	uint32_t pad;
};
static_assert(sizeof(struct shim_syncobj_array) == 16, "syncobj_array");

struct shim_syncobj_timeline_array {
	uint64_t handles;
	uint64_t points;
	uint32_t count_handles;
	uint32_t flags;
};
static_assert(sizeof(struct shim_syncobj_timeline_array) == 24, "timeline_array");
#define SHIM_SYNCOBJ_QUERY_LAST_SUBMITTED	1u

struct shim_syncobj_transfer {
	uint32_t src_handle;
	uint32_t dst_handle;
	uint64_t src_point;
	uint64_t dst_point;
	uint32_t flags;
	uint32_t pad;
};
static_assert(sizeof(struct shim_syncobj_transfer) == 32, "syncobj_transfer");

struct shim_syncobj_eventfd {
	uint32_t handle;
	uint32_t flags;
	uint64_t point;
	int32_t fd;
	uint32_t pad;
};
static_assert(sizeof(struct shim_syncobj_eventfd) == 24, "syncobj_eventfd");

#define SHIM_NR_VERSION			0x00
#define SHIM_NR_GEM_CLOSE		0x09
#define SHIM_NR_GET_CAP			0x0c
#define SHIM_NR_SYNCOBJ_CREATE		0xbf
#define SHIM_NR_SYNCOBJ_DESTROY		0xc0
#define SHIM_NR_SYNCOBJ_HANDLE_TO_FD	0xc1
#define SHIM_NR_SYNCOBJ_FD_TO_HANDLE	0xc2
#define SHIM_NR_SYNCOBJ_WAIT		0xc3
#define SHIM_NR_SYNCOBJ_RESET		0xc4
#define SHIM_NR_SYNCOBJ_SIGNAL		0xc5
#define SHIM_NR_SYNCOBJ_TIMELINE_WAIT	0xca
#define SHIM_NR_SYNCOBJ_QUERY		0xcb
#define SHIM_NR_SYNCOBJ_TRANSFER	0xcc
#define SHIM_NR_SYNCOBJ_TIMELINE_SIGNAL	0xcd
#define SHIM_NR_SYNCOBJ_EVENTFD		0xcf

#define SHIM_IOCTL_VERSION		SHIM_IOWR(SHIM_NR_VERSION, struct shim_drm_version)
#define SHIM_IOCTL_GEM_CLOSE		SHIM_IOW(SHIM_NR_GEM_CLOSE, struct shim_drm_gem_close)
#define SHIM_IOCTL_GET_CAP		SHIM_IOWR(SHIM_NR_GET_CAP, struct shim_drm_get_cap)
#define SHIM_IOCTL_SYNCOBJ_CREATE	SHIM_IOWR(SHIM_NR_SYNCOBJ_CREATE, struct shim_syncobj_create)
#define SHIM_IOCTL_SYNCOBJ_DESTROY	SHIM_IOWR(SHIM_NR_SYNCOBJ_DESTROY, struct shim_syncobj_destroy)
#define SHIM_IOCTL_SYNCOBJ_HANDLE_TO_FD	SHIM_IOWR(SHIM_NR_SYNCOBJ_HANDLE_TO_FD, struct shim_syncobj_handle)
#define SHIM_IOCTL_SYNCOBJ_FD_TO_HANDLE	SHIM_IOWR(SHIM_NR_SYNCOBJ_FD_TO_HANDLE, struct shim_syncobj_handle)
#define SHIM_IOCTL_SYNCOBJ_WAIT		SHIM_IOWR(SHIM_NR_SYNCOBJ_WAIT, struct shim_syncobj_wait)
#define SHIM_IOCTL_SYNCOBJ_RESET	SHIM_IOWR(SHIM_NR_SYNCOBJ_RESET, struct shim_syncobj_array)
#define SHIM_IOCTL_SYNCOBJ_SIGNAL	SHIM_IOWR(SHIM_NR_SYNCOBJ_SIGNAL, struct shim_syncobj_array)
#define SHIM_IOCTL_SYNCOBJ_TIMELINE_WAIT SHIM_IOWR(SHIM_NR_SYNCOBJ_TIMELINE_WAIT, struct shim_syncobj_timeline_wait)
#define SHIM_IOCTL_SYNCOBJ_QUERY	SHIM_IOWR(SHIM_NR_SYNCOBJ_QUERY, struct shim_syncobj_timeline_array)
#define SHIM_IOCTL_SYNCOBJ_TRANSFER	SHIM_IOWR(SHIM_NR_SYNCOBJ_TRANSFER, struct shim_syncobj_transfer)
#define SHIM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL SHIM_IOWR(SHIM_NR_SYNCOBJ_TIMELINE_SIGNAL, struct shim_syncobj_timeline_array)
#define SHIM_IOCTL_SYNCOBJ_EVENTFD	SHIM_IOWR(SHIM_NR_SYNCOBJ_EVENTFD, struct shim_syncobj_eventfd)

static_assert(SHIM_IOCTL_VERSION == (UINTPTR_MAX == UINT64_MAX ? 0xC0406400ul : 0xC0246400ul), "VERSION");
static_assert(SHIM_IOCTL_GEM_CLOSE == 0x40086409ul, "GEM_CLOSE");
static_assert(SHIM_IOCTL_GET_CAP == 0xC010640Cul, "GET_CAP");
static_assert(SHIM_IOCTL_SYNCOBJ_HANDLE_TO_FD == 0xC01864C1ul, "HANDLE_TO_FD");
static_assert(SHIM_IOCTL_SYNCOBJ_WAIT == 0xC02864C3ul, "SYNCOBJ_WAIT");
static_assert(SHIM_IOCTL_SYNCOBJ_TIMELINE_WAIT == 0xC03064CAul, "TIMELINE_WAIT");
static_assert(SHIM_IOCTL_SYNCOBJ_TRANSFER == 0xC02064CCul, "TRANSFER");
static_assert(SHIM_IOCTL_SYNCOBJ_EVENTFD == 0xC01864CFul, "EVENTFD");

/* ---- msm (msm_drm.h) ---- */

struct shim_msm_param {
	uint32_t pipe;
	uint32_t param;
	uint64_t value;
	uint32_t len;
	uint32_t pad;
};
static_assert(sizeof(struct shim_msm_param) == 24, "msm_param");

#define SHIM_MSM_PIPE_3D0		0x10u
#define SHIM_MSM_PARAM_GPU_ID		0x01u
#define SHIM_MSM_PARAM_GMEM_SIZE	0x02u
#define SHIM_MSM_PARAM_CHIP_ID		0x03u
#define SHIM_MSM_PARAM_MAX_FREQ		0x04u
#define SHIM_MSM_PARAM_TIMESTAMP	0x05u
#define SHIM_MSM_PARAM_GMEM_BASE	0x06u
#define SHIM_MSM_PARAM_PRIORITIES	0x07u
#define SHIM_MSM_PARAM_FAULTS		0x09u
#define SHIM_MSM_PARAM_SUSPENDS		0x0au
#define SHIM_MSM_PARAM_VA_START		0x0eu
#define SHIM_MSM_PARAM_VA_SIZE		0x0fu
#define SHIM_MSM_PARAM_HAS_PRR		0x15u
#define SHIM_MSM_PARAM_EN_VM_BIND	0x16u

struct shim_msm_gem_new {
	uint64_t size;
	uint32_t flags;
	uint32_t handle;
};
static_assert(sizeof(struct shim_msm_gem_new) == 16, "msm_gem_new");
#define SHIM_MSM_BO_SCANOUT		0x1u
#define SHIM_MSM_BO_GPU_READONLY	0x2u
#define SHIM_MSM_BO_NO_SHARE		0x4u
#define SHIM_MSM_BO_CACHE_MASK		0x000f0000u
#define SHIM_MSM_BO_CACHED		0x00010000u
#define SHIM_MSM_BO_WC			0x00020000u
#define SHIM_MSM_BO_UNCACHED		0x00040000u
#define SHIM_MSM_BO_CACHED_COHERENT	0x00080000u

struct shim_msm_gem_info {
	uint32_t handle;
	uint32_t info;
	uint64_t value;
	uint32_t len;
	uint32_t pad;
};
static_assert(sizeof(struct shim_msm_gem_info) == 24, "msm_gem_info");
#define SHIM_MSM_INFO_GET_OFFSET	0u
#define SHIM_MSM_INFO_GET_IOVA		1u
#define SHIM_MSM_INFO_SET_IOVA		4u

struct shim_msm_submitqueue {
	uint32_t flags;
	uint32_t prio;
	uint32_t id;
};
static_assert(sizeof(struct shim_msm_submitqueue) == 12, "msm_submitqueue");
#define SHIM_MSM_SUBMITQUEUE_ALLOW_PREEMPT	1u
#define SHIM_MSM_SUBMITQUEUE_VM_BIND		2u

struct shim_msm_syncobj {
	uint32_t handle;
	uint32_t flags;
	uint64_t point;
};
static_assert(sizeof(struct shim_msm_syncobj) == 16, "msm_syncobj");
#define SHIM_MSM_SYNCOBJ_RESET	1u

struct shim_msm_vm_bind_op {
	uint32_t op;
	uint32_t handle;
	uint64_t obj_offset;
	uint64_t iova;
	uint64_t range;
	uint32_t flags;
	uint32_t pad;
};
static_assert(sizeof(struct shim_msm_vm_bind_op) == 40, "msm_vm_bind_op");
static_assert_layout(shim_msm_vm_bind_op, range, 24);
static_assert_layout(shim_msm_vm_bind_op, flags, 32);
#define SHIM_MSM_VM_BIND_OP_UNMAP	0u
#define SHIM_MSM_VM_BIND_OP_MAP		1u
#define SHIM_MSM_VM_BIND_OP_MAP_NULL	2u
#define SHIM_MSM_VM_BIND_OP_DUMP	1u

struct shim_msm_vm_bind {
	uint32_t flags;
	uint32_t nr_ops;
	int32_t fence_fd;
	uint32_t queue_id;
	uint64_t in_syncobjs;
	uint64_t out_syncobjs;
	uint32_t nr_in_syncobjs;
	uint32_t nr_out_syncobjs;
	uint32_t syncobj_stride;
	uint32_t op_stride;
	union {
		struct shim_msm_vm_bind_op op;	/* nr_ops == 1 */
		uint64_t ops;			/* nr_ops > 1, fixed 40-byte stride */
	};
};
static_assert(sizeof(struct shim_msm_vm_bind) == 88, "msm_vm_bind");
static_assert_layout(shim_msm_vm_bind, syncobj_stride, 40);
static_assert_layout(shim_msm_vm_bind, op, 48);
#define SHIM_MSM_VM_BIND_FENCE_FD_IN	1u
#define SHIM_MSM_VM_BIND_FENCE_FD_OUT	2u

#define SHIM_NR_MSM_GET_PARAM		0x40
#define SHIM_NR_MSM_SET_PARAM		0x41
#define SHIM_NR_MSM_GEM_NEW		0x42
#define SHIM_NR_MSM_GEM_INFO		0x43
#define SHIM_NR_MSM_GEM_SUBMIT		0x46
#define SHIM_NR_MSM_SUBMITQUEUE_NEW	0x4a
#define SHIM_NR_MSM_SUBMITQUEUE_CLOSE	0x4b
#define SHIM_NR_MSM_VM_BIND		0x4d

#define SHIM_IOCTL_MSM_GET_PARAM	SHIM_IOWR(SHIM_NR_MSM_GET_PARAM, struct shim_msm_param)
#define SHIM_IOCTL_MSM_SET_PARAM	SHIM_IOW(SHIM_NR_MSM_SET_PARAM, struct shim_msm_param)
#define SHIM_IOCTL_MSM_GEM_NEW		SHIM_IOWR(SHIM_NR_MSM_GEM_NEW, struct shim_msm_gem_new)
#define SHIM_IOCTL_MSM_GEM_INFO		SHIM_IOWR(SHIM_NR_MSM_GEM_INFO, struct shim_msm_gem_info)
#define SHIM_IOCTL_MSM_SUBMITQUEUE_NEW	SHIM_IOWR(SHIM_NR_MSM_SUBMITQUEUE_NEW, struct shim_msm_submitqueue)
#define SHIM_IOCTL_MSM_SUBMITQUEUE_CLOSE SHIM_IOW(SHIM_NR_MSM_SUBMITQUEUE_CLOSE, uint32_t)
#define SHIM_IOCTL_MSM_VM_BIND		SHIM_IOWR(SHIM_NR_MSM_VM_BIND, struct shim_msm_vm_bind)
static_assert(SHIM_IOCTL_MSM_GET_PARAM == 0xC0186440ul, "MSM_GET_PARAM");
static_assert(SHIM_IOCTL_MSM_SET_PARAM == 0x40186441ul, "MSM_SET_PARAM");
static_assert(SHIM_IOCTL_MSM_GEM_NEW == 0xC0106442ul, "MSM_GEM_NEW");
static_assert(SHIM_IOCTL_MSM_SUBMITQUEUE_NEW == 0xC00C644Aul, "MSM_SUBMITQUEUE_NEW");
static_assert(SHIM_IOCTL_MSM_SUBMITQUEUE_CLOSE == 0x4004644Bul, "MSM_SUBMITQUEUE_CLOSE");
static_assert(SHIM_IOCTL_MSM_VM_BIND == 0xC058644Dul, "MSM_VM_BIND");

/* ---- panthor (panthor_drm.h) ---- */

struct shim_panthor_obj_array {
	uint32_t stride;
	uint32_t count;
	uint64_t array;
};
static_assert(sizeof(struct shim_panthor_obj_array) == 16, "panthor_obj_array");

struct shim_panthor_sync_op {
	uint32_t flags;
	uint32_t handle;
	uint64_t timeline_value;
};
static_assert(sizeof(struct shim_panthor_sync_op) == 16, "panthor_sync_op");
#define SHIM_PANTHOR_SYNC_OP_HANDLE_TYPE_MASK	0xffu
#define SHIM_PANTHOR_SYNC_OP_SYNCOBJ		0u
#define SHIM_PANTHOR_SYNC_OP_TIMELINE_SYNCOBJ	1u
#define SHIM_PANTHOR_SYNC_OP_SIGNAL		0x80000000u

struct shim_panthor_dev_query {
	uint32_t type;
	uint32_t size;
	uint64_t pointer;
};
static_assert(sizeof(struct shim_panthor_dev_query) == 16, "panthor_dev_query");
#define SHIM_PANTHOR_DEV_QUERY_GPU_INFO		0u
#define SHIM_PANTHOR_DEV_QUERY_CSIF_INFO	1u

struct shim_panthor_gpu_info {
	uint32_t gpu_id;
	uint32_t gpu_rev;
	uint32_t csf_id;
	uint32_t l2_features;
	uint32_t tiler_features;
	uint32_t mem_features;
	uint32_t mmu_features;		/* bits 0-7: VA bits */
	uint32_t thread_features;
	uint32_t max_threads;
	uint32_t thread_max_workgroup_size;
	uint32_t thread_max_barrier_size;
	uint32_t coherency_features;
	uint32_t texture_features[4];
	uint32_t as_present;
	uint32_t pad0;
	uint64_t shader_present;
	uint64_t l2_present;
	uint64_t tiler_present;
	uint32_t core_features;
	uint32_t pad;
};
static_assert(sizeof(struct shim_panthor_gpu_info) == 104, "panthor_gpu_info");
static_assert_layout(shim_panthor_gpu_info, mmu_features, 24);
static_assert_layout(shim_panthor_gpu_info, as_present, 64);
static_assert_layout(shim_panthor_gpu_info, shader_present, 72);
static_assert_layout(shim_panthor_gpu_info, core_features, 96);
#define SHIM_PANTHOR_GPU_INFO_MIN_SIZE	96u

struct shim_panthor_csif_info {
	uint32_t csg_slot_count;
	uint32_t cs_slot_count;
	uint32_t cs_reg_count;
	uint32_t scoreboard_slot_count;
	uint32_t unpreserved_cs_reg_count;
	uint32_t pad;
};
static_assert(sizeof(struct shim_panthor_csif_info) == 24, "panthor_csif_info");

struct shim_panthor_vm_create {
	uint32_t flags;
	uint32_t id;
	uint64_t user_va_range;
};
static_assert(sizeof(struct shim_panthor_vm_create) == 16, "panthor_vm_create");

struct shim_panthor_vm_destroy {
	uint32_t id;
	uint32_t pad;
};
static_assert(sizeof(struct shim_panthor_vm_destroy) == 8, "panthor_vm_destroy");

struct shim_panthor_vm_get_state {
	uint32_t vm_id;
	uint32_t state;
};
static_assert(sizeof(struct shim_panthor_vm_get_state) == 8, "panthor_vm_get_state");
#define SHIM_PANTHOR_VM_STATE_USABLE	0u
#define SHIM_PANTHOR_VM_STATE_UNUSABLE	1u

struct shim_panthor_bo_create {
	uint64_t size;
	uint32_t flags;
	uint32_t exclusive_vm_id;
	uint32_t handle;
	uint32_t pad;
};
static_assert(sizeof(struct shim_panthor_bo_create) == 24, "panthor_bo_create");
#define SHIM_PANTHOR_BO_NO_MMAP	1u

struct shim_panthor_bo_mmap_offset {
	uint32_t handle;
	uint32_t pad;
	uint64_t offset;
};
static_assert(sizeof(struct shim_panthor_bo_mmap_offset) == 16, "panthor_bo_mmap_offset");

struct shim_panthor_vm_bind_op {
	uint32_t flags;
	uint32_t bo_handle;
	uint64_t bo_offset;
	uint64_t va;
	uint64_t size;
	struct shim_panthor_obj_array syncs;
};
static_assert(sizeof(struct shim_panthor_vm_bind_op) == 48, "panthor_vm_bind_op");
static_assert_layout(shim_panthor_vm_bind_op, syncs, 32);
#define SHIM_PANTHOR_VM_BIND_OP_MAP_READONLY	0x1u
#define SHIM_PANTHOR_VM_BIND_OP_MAP_NOEXEC	0x2u
#define SHIM_PANTHOR_VM_BIND_OP_MAP_UNCACHED	0x4u
#define SHIM_PANTHOR_VM_BIND_OP_TYPE_MASK	0xf0000000u
#define SHIM_PANTHOR_VM_BIND_OP_TYPE_MAP	0x00000000u
#define SHIM_PANTHOR_VM_BIND_OP_TYPE_UNMAP	0x10000000u
#define SHIM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY	0x20000000u

struct shim_panthor_vm_bind {
	uint32_t vm_id;
	uint32_t flags;
	struct shim_panthor_obj_array ops;
};
static_assert(sizeof(struct shim_panthor_vm_bind) == 24, "panthor_vm_bind");
static_assert_layout(shim_panthor_vm_bind, ops, 8);
#define SHIM_PANTHOR_VM_BIND_ASYNC	1u

#define SHIM_NR_PANTHOR_DEV_QUERY	0x40
#define SHIM_NR_PANTHOR_VM_CREATE	0x41
#define SHIM_NR_PANTHOR_VM_DESTROY	0x42
#define SHIM_NR_PANTHOR_VM_BIND		0x43
#define SHIM_NR_PANTHOR_VM_GET_STATE	0x44
#define SHIM_NR_PANTHOR_BO_CREATE	0x45
#define SHIM_NR_PANTHOR_BO_MMAP_OFFSET	0x46

#define SHIM_IOCTL_PANTHOR_DEV_QUERY	SHIM_IOWR(SHIM_NR_PANTHOR_DEV_QUERY, struct shim_panthor_dev_query)
#define SHIM_IOCTL_PANTHOR_VM_CREATE	SHIM_IOWR(SHIM_NR_PANTHOR_VM_CREATE, struct shim_panthor_vm_create)
#define SHIM_IOCTL_PANTHOR_VM_DESTROY	SHIM_IOWR(SHIM_NR_PANTHOR_VM_DESTROY, struct shim_panthor_vm_destroy)
#define SHIM_IOCTL_PANTHOR_VM_BIND	SHIM_IOWR(SHIM_NR_PANTHOR_VM_BIND, struct shim_panthor_vm_bind)
#define SHIM_IOCTL_PANTHOR_VM_GET_STATE	SHIM_IOWR(SHIM_NR_PANTHOR_VM_GET_STATE, struct shim_panthor_vm_get_state)
#define SHIM_IOCTL_PANTHOR_BO_CREATE	SHIM_IOWR(SHIM_NR_PANTHOR_BO_CREATE, struct shim_panthor_bo_create)
#define SHIM_IOCTL_PANTHOR_BO_MMAP_OFFSET SHIM_IOWR(SHIM_NR_PANTHOR_BO_MMAP_OFFSET, struct shim_panthor_bo_mmap_offset)
static_assert(SHIM_IOCTL_PANTHOR_DEV_QUERY == 0xC0106440ul, "PANTHOR_DEV_QUERY");
static_assert(SHIM_IOCTL_PANTHOR_VM_CREATE == 0xC0106441ul, "PANTHOR_VM_CREATE");
static_assert(SHIM_IOCTL_PANTHOR_VM_DESTROY == 0xC0086442ul, "PANTHOR_VM_DESTROY");
static_assert(SHIM_IOCTL_PANTHOR_VM_BIND == 0xC0186443ul, "PANTHOR_VM_BIND");
static_assert(SHIM_IOCTL_PANTHOR_VM_GET_STATE == 0xC0086444ul, "PANTHOR_VM_GET_STATE");
static_assert(SHIM_IOCTL_PANTHOR_BO_CREATE == 0xC0186445ul, "PANTHOR_BO_CREATE");
static_assert(SHIM_IOCTL_PANTHOR_BO_MMAP_OFFSET == 0xC0106446ul, "PANTHOR_BO_MMAP_OFFSET");

/* ---- nouveau (nouveau_drm.h) ---- */

struct shim_nouveau_getparam {
	uint64_t param;
	uint64_t value;
};
static_assert(sizeof(struct shim_nouveau_getparam) == 16, "nouveau_getparam");
#define SHIM_NOUVEAU_GETPARAM_PCI_VENDOR	3u
#define SHIM_NOUVEAU_GETPARAM_PCI_DEVICE	4u
#define SHIM_NOUVEAU_GETPARAM_BUS_TYPE		5u
#define SHIM_NOUVEAU_GETPARAM_FB_SIZE		8u
#define SHIM_NOUVEAU_GETPARAM_CHIPSET_ID	11u
#define SHIM_NOUVEAU_GETPARAM_GRAPH_UNITS	13u
#define SHIM_NOUVEAU_GETPARAM_PTIMER_TIME	14u
#define SHIM_NOUVEAU_GETPARAM_HAS_BO_USAGE	15u
#define SHIM_NOUVEAU_GETPARAM_HAS_PAGEFLIP	16u
#define SHIM_NOUVEAU_GETPARAM_EXEC_PUSH_MAX	17u
#define SHIM_NOUVEAU_GETPARAM_VRAM_BAR_SIZE	18u
#define SHIM_NOUVEAU_GETPARAM_VRAM_USED		19u
#define SHIM_NOUVEAU_GETPARAM_HAS_VMA_TILEMODE	20u

struct shim_nouveau_vm_init {
	uint64_t kernel_managed_addr;
	uint64_t kernel_managed_size;
};
static_assert(sizeof(struct shim_nouveau_vm_init) == 16, "nouveau_vm_init");

struct shim_nouveau_sync {
	uint32_t flags;
	uint32_t handle;
	uint64_t timeline_value;
};
static_assert(sizeof(struct shim_nouveau_sync) == 16, "nouveau_sync");
#define SHIM_NOUVEAU_SYNC_TYPE_MASK	0xfu
#define SHIM_NOUVEAU_SYNC_SYNCOBJ	0u
#define SHIM_NOUVEAU_SYNC_TIMELINE	1u

struct shim_nouveau_vm_bind_op {
	uint32_t op;
	uint32_t flags;
	uint32_t handle;
	uint32_t pad;
	uint64_t addr;
	uint64_t bo_offset;
	uint64_t range;
};
static_assert(sizeof(struct shim_nouveau_vm_bind_op) == 40, "nouveau_vm_bind_op");
static_assert_layout(shim_nouveau_vm_bind_op, addr, 16);
#define SHIM_NOUVEAU_VM_BIND_OP_MAP	0u
#define SHIM_NOUVEAU_VM_BIND_OP_UNMAP	1u
#define SHIM_NOUVEAU_VM_BIND_SPARSE	0x100u

struct shim_nouveau_vm_bind {
	uint32_t op_count;
	uint32_t flags;
	uint32_t wait_count;
	uint32_t sig_count;
	uint64_t wait_ptr;
	uint64_t sig_ptr;
	uint64_t op_ptr;
};
static_assert(sizeof(struct shim_nouveau_vm_bind) == 40, "nouveau_vm_bind");
static_assert_layout(shim_nouveau_vm_bind, op_ptr, 32);
#define SHIM_NOUVEAU_VM_BIND_RUN_ASYNC	1u

struct shim_nouveau_gem_info {
	uint32_t handle;
	uint32_t domain;
	uint64_t size;
	uint64_t offset;
	uint64_t map_handle;
	uint32_t tile_mode;
	uint32_t tile_flags;
};
static_assert(sizeof(struct shim_nouveau_gem_info) == 40, "nouveau_gem_info");

struct shim_nouveau_gem_new {
	struct shim_nouveau_gem_info info;
	uint32_t channel_hint;
	uint32_t align;
};
static_assert(sizeof(struct shim_nouveau_gem_new) == 48, "nouveau_gem_new");
#define SHIM_NOUVEAU_GEM_DOMAIN_CPU		0x01u
#define SHIM_NOUVEAU_GEM_DOMAIN_VRAM		0x02u
#define SHIM_NOUVEAU_GEM_DOMAIN_GART		0x04u
#define SHIM_NOUVEAU_GEM_DOMAIN_MAPPABLE	0x08u
#define SHIM_NOUVEAU_GEM_DOMAIN_COHERENT	0x10u
#define SHIM_NOUVEAU_GEM_DOMAIN_NO_SHARE	0x20u

#define SHIM_NR_NOUVEAU_GETPARAM	0x40
#define SHIM_NR_NOUVEAU_CHANNEL_ALLOC	0x42
#define SHIM_NR_NOUVEAU_VM_INIT		0x50
#define SHIM_NR_NOUVEAU_VM_BIND		0x51
#define SHIM_NR_NOUVEAU_EXEC		0x52
#define SHIM_NR_NOUVEAU_GEM_NEW		0x80
#define SHIM_NR_NOUVEAU_GEM_PUSHBUF	0x81
#define SHIM_NR_NOUVEAU_GEM_INFO	0x84

#define SHIM_IOCTL_NOUVEAU_GETPARAM	SHIM_IOWR(SHIM_NR_NOUVEAU_GETPARAM, struct shim_nouveau_getparam)
#define SHIM_IOCTL_NOUVEAU_VM_INIT	SHIM_IOWR(SHIM_NR_NOUVEAU_VM_INIT, struct shim_nouveau_vm_init)
#define SHIM_IOCTL_NOUVEAU_VM_BIND	SHIM_IOWR(SHIM_NR_NOUVEAU_VM_BIND, struct shim_nouveau_vm_bind)
#define SHIM_IOCTL_NOUVEAU_GEM_NEW	SHIM_IOWR(SHIM_NR_NOUVEAU_GEM_NEW, struct shim_nouveau_gem_new)
#define SHIM_IOCTL_NOUVEAU_GEM_INFO	SHIM_IOWR(SHIM_NR_NOUVEAU_GEM_INFO, struct shim_nouveau_gem_info)
static_assert(SHIM_IOCTL_NOUVEAU_GETPARAM == 0xC0106440ul, "NOUVEAU_GETPARAM");
static_assert(SHIM_IOCTL_NOUVEAU_VM_INIT == 0xC0106450ul, "NOUVEAU_VM_INIT");
static_assert(SHIM_IOCTL_NOUVEAU_VM_BIND == 0xC0286451ul, "NOUVEAU_VM_BIND");
static_assert(SHIM_IOCTL_NOUVEAU_GEM_NEW == 0xC0306480ul, "NOUVEAU_GEM_NEW");
static_assert(SHIM_IOCTL_NOUVEAU_GEM_INFO == 0xC0286484ul, "NOUVEAU_GEM_INFO");

#endif /* GPUVA_SHIM_UAPI_H */
