/* SPDX-License-Identifier: MIT */
/**
 * @file
 * What a test can ask the fake render node (libgpuva-shim.so) directly.
 *
 * The shim is loaded with LD_PRELOAD, so tests do not link against it: they
 * look these functions up with dlsym(RTLD_DEFAULT, "gpuva_shim_lookup") and
 * exit 77 when the lookup fails (the shim is not preloaded). The typedefs
 * below give the pointer types for that.
 *
 * The page record is what the fake "GPU page table" holds after every job
 * that has run: one entry per 4 KiB page. It is the shim's own model, kept
 * apart from libgpuva on purpose, so comparing the two is a real check.
 *
 * VM ids: panthor uses the id VM_CREATE returned; msm and nouveau have one
 * VM per file and ignore @p vm_id (pass 0).
 */
#ifndef GPUVA_SHIM_H
#define GPUVA_SHIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/**
 * The environment switches the shim reads on every call (README.md), all
 * but GPUVA_SHIM_DRIVER, as initialisers of a string array: what a test
 * unsets, or puts back, between cases.
 */
#define GPUVA_SHIM_SWITCHES						\
	"GPUVA_SHIM_FAIL_BIND", "GPUVA_SHIM_FAIL_JOB",			\
	"GPUVA_SHIM_EINTR_BIND", "GPUVA_SHIM_NO_TIMELINE",		\
	"GPUVA_SHIM_MSM_PRR", "GPUVA_SHIM_MSM_NO_GPU",			\
	"GPUVA_SHIM_MSM_NO_PPGTT", "GPUVA_SHIM_MSM_VM_ENOMEM",		\
	"GPUVA_SHIM_VERSION"

enum gpuva_shim_page_kind {
	GPUVA_SHIM_PAGE_NONE = 0,	/**< nothing mapped: a GPU access faults */
	GPUVA_SHIM_PAGE_BO = 1,		/**< backed by a BO page */
	GPUVA_SHIM_PAGE_NULL = 2,	/**< msm MAP_NULL (PRR): reads 0, writes dropped */
	GPUVA_SHIM_PAGE_SPARSE = 3,	/**< nouveau sparse region, no backing */
};

struct gpuva_shim_page {
	uint32_t kind;		/**< enum gpuva_shim_page_kind */
	uint32_t handle;	/**< GEM handle the page was mapped with (BO only) */
	uint64_t bo_offset;	/**< byte offset of this page inside the BO */
	uint32_t flags;		/**< the op's flags as the driver received them */
	uint32_t pad;
};

/**
 * Read the page record at @p addr (any byte of the page).
 * @return 0, or -EBADF (not a fake render node fd), -ENOENT (no such VM).
 */
int gpuva_shim_lookup(int fd, uint32_t vm_id, uint64_t addr, struct gpuva_shim_page *page);

/**
 * Number of pages that are not GPUVA_SHIM_PAGE_NONE, or a negative errno.
 */
int64_t gpuva_shim_page_count(int fd, uint32_t vm_id);

/**
 * An order-independent hash of the whole record, to check cheaply that a
 * rejected ioctl changed nothing. Returns 0 for an unknown fd or VM.
 */
uint64_t gpuva_shim_digest(int fd, uint32_t vm_id);

/**
 * Print the record as coalesced runs, one per line, in address order:
 * "0x<start> 0x<size> bo <handle> 0x<bo_offset> flags 0x<flags>" or
 * "0x<start> 0x<size> null flags 0x<flags>", then nouveau's sparse regions
 * as "0x<start> 0x<size> sparse region". Returns 0 or a negative errno.
 */
int gpuva_shim_dump(int fd, uint32_t vm_id, FILE *out);

/**
 * While held, asynchronous bind jobs of this fd are queued but not run: their
 * fences stay unsignalled and the page record does not change. Releasing runs
 * the queue in order. Lets tests observe "signalled on completion".
 * Returns 0 or -EBADF.
 */
int gpuva_shim_hold(int fd, bool hold);

typedef int (*gpuva_shim_lookup_fn)(int, uint32_t, uint64_t, struct gpuva_shim_page *);
typedef int64_t (*gpuva_shim_page_count_fn)(int, uint32_t);
typedef uint64_t (*gpuva_shim_digest_fn)(int, uint32_t);
typedef int (*gpuva_shim_dump_fn)(int, uint32_t, FILE *);
typedef int (*gpuva_shim_hold_fn)(int, bool);

#endif /* GPUVA_SHIM_H */
