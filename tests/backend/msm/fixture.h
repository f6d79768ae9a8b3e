/* SPDX-License-Identifier: MIT */
/*
 * The msm backend's test fixture, under the fake kernel (tests/shim,
 * LD_PRELOAD, GPUVA_SHIM_DRIVER=msm): a device opened through drm.h, a VM
 * on it, a few BOs, batches written in `gpuva replay` syntax, and the one
 * check every test ends with: the library's mirror equals the fake
 * kernel's page record, page by page.
 *
 * Every msm ioctl the library makes goes through drmIoctl(), which the
 * test executables wrap (-Wl,--wrap=drmIoctl): the wrapper counts VM_BINDs
 * (so a test can say "refused before the ioctl"), keeps a copy of the last
 * one that carried ops, and can arm the fake kernel's failure switches for
 * the N-th VM_BIND to come.
 *
 * Include after <cmocka.h>.
 */
#ifndef GPUVA_TESTS_BACKEND_MSM_FIXTURE_H
#define GPUVA_TESTS_BACKEND_MSM_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/msm_abi.h"
#include "gpuva/gpuva.h"
#include "shim.h"

#define RENDER_NODE "/dev/dri/renderD128"
#define PAGE UINT64_C(0x1000)
#define FX_NBOS 4		/* bo ids 1..3; 0 is a NULL mapping */
#define FX_MAX_OPS 64		/* ops of the last VM_BIND kept by the wrapper */

struct fx_shim {
	gpuva_shim_lookup_fn lookup;
	gpuva_shim_page_count_fn page_count;
	gpuva_shim_digest_fn digest;
	gpuva_shim_dump_fn dump;
	gpuva_shim_hold_fn hold;
};

/* What the drmIoctl wrapper saw. */
struct fx_io {
	unsigned vm_binds;		/* every VM_BIND, zero-op ones too */
	unsigned op_binds;		/* VM_BINDs that carried ops */
	unsigned gem_infos;
	struct msm_vm_bind last;	/* the last one with ops, as sent */
	struct msm_vm_bind_op ops[FX_MAX_OPS]; /* its ops (inline one too) */
	struct msm_syncobj outs[8];	/* its out-syncobjs */
	/* arm GPUVA_SHIM_FAIL_BIND=1:<fail[k]> for VM_BIND k + 1 from now */
	const char *fail[8];
	unsigned fail_base;		/* vm_binds when armed */
};

extern struct fx_shim shim;
extern struct fx_io io;

/*
 * Look the shim up; exit 77 when it is not preloaded as msm. Remembers
 * the fake kernel's switches as the environment set them.
 */
void fx_require_shim(void);

/* Set the switches back to what fx_require_shim() found (fx_close() does). */
void fx_restore_switches(void);

/*
 * Arm a failure switch of the fake kernel for its next event: @var one of
 * GPUVA_SHIM_FAIL_BIND, _FAIL_JOB, _EINTR_BIND; @spec "ERRNO" or
 * "ERRNO:OP" (the value becomes "1:ERRNO[:OP]").
 */
void fx_shim_switch(const char *var, const char *spec);

/* Arm the fake kernel's failure of the next VM_BINDs: "ENOMEM", NULL... */
void fx_fail_binds(const char *const *specs, unsigned n);

struct fx {
	struct gpuva_drm_device *dev;
	struct gpuva_backend *be;
	int fd;
	struct gpuva_vm *vm;
	struct gpuva_bo *bos[FX_NBOS];	/* 1..3: 1 MiB each, from the device */
	uint64_t base;			/* the VM's start: addresses are relative */
	uint32_t zero_handle;		/* no PRR: the zero BO, once seen */
};

/* Open the device, a VM over [VA_START, +range) (0: all), three BOs. */
void fx_open(struct fx *fx, uint64_t range);
void fx_close(struct fx *fx);

/* cmocka setup/teardown: fx_open() with the whole window; close. */
int fx_setup(void **state);
int fx_teardown(void **state);

/*
 * Run a batch as one transaction: lines separated by ';', each
 * "map ADDR RANGE BO OFFSET [dump]" or "unmap ADDR RANGE", ADDR relative
 * to the VM's start, BO an fx id (0: NULL). @c may be NULL (synchronous).
 * Returns the first request's error (the transaction is then aborted) or
 * the commit's.
 */
int fx_batch(struct fx *fx, struct gpuva_commit *c, const char *lines);

/* Is the mirror page for page what the fake kernel holds? Fails if not. */
void fx_assert_kernel_is_mirror(struct fx *fx);

/* Everything a refused call must leave as it was. */
struct fx_state {
	char *mirror;			/* every mapping, as text */
	struct gpuva_vm_info info;
	uint64_t digest;		/* the fake kernel's record */
	unsigned vm_binds;
};

struct fx_state fx_save(struct fx *fx);
/* Fails unless nothing changed, and no VM_BIND was made; frees @s. */
void fx_assert_unchanged(struct fx *fx, struct fx_state *s);
/* The same, but VM_BINDs were made (the kernel refused, or failed). */
void fx_assert_rolled_back(struct fx *fx, struct fx_state *s);

/* The mirror as text, for messages. Caller frees. */
char *fx_mirror_text(struct fx *fx);

#endif
