/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the fake kernel's tests: open the node, talk raw
 * ioctls, and read the page record through the dlsym'ed shim API.
 *
 * The tests use only raw ioctls and libdrm, never libgpuva, so they pin
 * the fake to docs/kernels.md on their own.
 */
#ifndef GPUVA_SHIM_TEST_COMMON_H
#define GPUVA_SHIM_TEST_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"
#include "uapi.h"

#define RENDER_NODE "/dev/dri/renderD128"
#define PAGE 4096ull

struct shim_api {
	gpuva_shim_lookup_fn lookup;
	gpuva_shim_page_count_fn page_count;
	gpuva_shim_digest_fn digest;
	gpuva_shim_dump_fn dump;
	gpuva_shim_hold_fn hold;
};

static struct shim_api shim;

/* The driver the shim plays: GPUVA_SHIM_DRIVER, msm when unset or empty. */
static inline const char *
shim_driver_name(void)
{
	const char *env = getenv("GPUVA_SHIM_DRIVER");

	return env && *env ? env : "msm";
}

/* Exits 77 (skipped) unless the shim is preloaded as @driver. */
static inline void
require_shim(const char *driver)
{
	shim.lookup = (gpuva_shim_lookup_fn)dlsym(RTLD_DEFAULT, "gpuva_shim_lookup");
	shim.page_count = (gpuva_shim_page_count_fn)dlsym(RTLD_DEFAULT, "gpuva_shim_page_count");
	shim.digest = (gpuva_shim_digest_fn)dlsym(RTLD_DEFAULT, "gpuva_shim_digest");
	shim.dump = (gpuva_shim_dump_fn)dlsym(RTLD_DEFAULT, "gpuva_shim_dump");
	shim.hold = (gpuva_shim_hold_fn)dlsym(RTLD_DEFAULT, "gpuva_shim_hold");
	if (!shim.lookup || !shim.page_count || !shim.digest || !shim.dump || !shim.hold) {
		fprintf(stderr, "libgpuva-shim.so is not preloaded: skipping\n");
		exit(77);
	}
	if (driver && strcmp(shim_driver_name(), driver) != 0) {
		fprintf(stderr, "needs GPUVA_SHIM_DRIVER=%s: skipping\n", driver);
		exit(77);
	}
}

/*
 * Turn off every fault switch of README.md's table (all but the driver
 * name): a test that set one must not leave it to the next.
 */
static inline void
clear_shim_switches(void)
{
	static const char *const sw[] = { GPUVA_SHIM_SWITCHES };

	for (size_t i = 0; i < sizeof(sw) / sizeof(sw[0]); i++)
		unsetenv(sw[i]);
}

/* The ioctl's errno, or 0: no retry loop, so EINTR/EAGAIN stay visible. */
static inline int
xioctl(int fd, unsigned long request, void *arg)
{
	return ioctl(fd, request, arg) == 0 ? 0 : errno;
}

static inline int
open_node(void)
{
	int fd = open(RENDER_NODE, O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static inline struct gpuva_shim_page
page_at(int fd, uint32_t vm, uint64_t addr)
{
	struct gpuva_shim_page p;

	assert_int_equal(shim.lookup(fd, vm, addr, &p), 0);
	return p;
}

static inline void
assert_page_bo(int fd, uint32_t vm, uint64_t addr, uint32_t handle, uint64_t bo_offset)
{
	struct gpuva_shim_page p = page_at(fd, vm, addr);

	assert_int_equal(p.kind, GPUVA_SHIM_PAGE_BO);
	assert_int_equal(p.handle, handle);
	assert_int_equal(p.bo_offset, bo_offset);
}

static inline void
assert_page_kind(int fd, uint32_t vm, uint64_t addr, uint32_t kind)
{
	assert_int_equal(page_at(fd, vm, addr).kind, kind);
}

static inline uint32_t
syncobj_new(int fd, bool signalled)
{
	struct shim_syncobj_create c = { .flags = signalled ? SHIM_SYNCOBJ_CREATE_SIGNALED : 0 };

	assert_int_equal(xioctl(fd, SHIM_IOCTL_SYNCOBJ_CREATE, &c), 0);
	return c.handle;
}

/* SYNCOBJ_WAIT on one binary syncobj with a relative timeout; returns errno. */
static inline int
syncobj_wait1(int fd, uint32_t handle, int64_t rel_ns, uint32_t flags)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	struct shim_syncobj_wait w = {
		.handles = (uintptr_t)&handle,
		.timeout_nsec = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + rel_ns,
		.count_handles = 1,
		.flags = flags,
	};

	return xioctl(fd, SHIM_IOCTL_SYNCOBJ_WAIT, &w);
}

#endif /* GPUVA_SHIM_TEST_COMMON_H */
