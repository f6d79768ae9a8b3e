/* SPDX-License-Identifier: MIT */
/* The msm backend's test fixture (fixture.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xf86drm.h>

#include "fixture.h"

struct fx_shim shim;
struct fx_io io;

/* ---- the drmIoctl wrapper ------------------------------------------------ */

int __real_drmIoctl(int fd, unsigned long request, void *arg);
int __wrap_drmIoctl(int fd, unsigned long request, void *arg);

static void
record_bind(const struct msm_vm_bind *b)
{
	io.vm_binds++;
	if (!b->nr_ops)
		return;
	io.op_binds++;
	io.last = *b;
	if (b->nr_ops == 1)
		io.ops[0] = b->op;
	else
		memcpy(io.ops, (const void *)(uintptr_t)b->ops,
		       (b->nr_ops < FX_MAX_OPS ? b->nr_ops : FX_MAX_OPS) *
		       sizeof(io.ops[0]));
	if (b->out_syncobjs)
		memcpy(io.outs, (const void *)(uintptr_t)b->out_syncobjs,
		       (b->nr_out_syncobjs < 8 ? b->nr_out_syncobjs : 8) *
		       sizeof(io.outs[0]));
}

int
__wrap_drmIoctl(int fd, unsigned long request, void *arg)
{
	const char *spec = NULL;
	int ret;

	if (request != MSM_IOCTL_VM_BIND) {
		if (request == MSM_IOCTL_GEM_INFO)
			io.gem_infos++;
		return __real_drmIoctl(fd, request, arg);
	}
	if (io.vm_binds - io.fail_base < 8)
		spec = io.fail[io.vm_binds - io.fail_base];
	record_bind(arg);
	/* the shim counts from the moment the value changes: "1:" is this one */
	if (spec)
		fx_shim_switch("GPUVA_SHIM_FAIL_BIND", spec);
	ret = __real_drmIoctl(fd, request, arg);
	if (spec)
		unsetenv("GPUVA_SHIM_FAIL_BIND");
	return ret;
}

void
fx_shim_switch(const char *var, const char *spec)
{
	static unsigned nonce;
	char buf[64];

	/*
	 * The shim restarts its count when it sees a new value, but it only
	 * looks when it counts: unset and set to the same value in between,
	 * the variable would look unchanged. A fourth field it ignores makes
	 * every value new.
	 */
	snprintf(buf, sizeof(buf), "1:%s%s:%u", spec, strchr(spec, ':') ? "" : ":0",
		 ++nonce);
	setenv(var, buf, 1);
}

void
fx_fail_binds(const char *const *specs, unsigned n)
{
	memset(io.fail, 0, sizeof(io.fail));
	for (unsigned i = 0; i < n && i < 8; i++)
		io.fail[i] = specs[i];
	io.fail_base = io.vm_binds;
}

/* ---- the shim ------------------------------------------------------------- */

/* The fake kernel's switches (tests/shim/README.md), all but the driver. */
static const char *const switches[] = { GPUVA_SHIM_SWITCHES };
#define NSWITCHES (sizeof(switches) / sizeof(switches[0]))

/* Their values when the program started (the test's environment). */
static char *initial[NSWITCHES];

void
fx_require_shim(void)
{
	const char *drv = getenv("GPUVA_SHIM_DRIVER");

	shim.lookup = (gpuva_shim_lookup_fn)dlsym(RTLD_DEFAULT, "gpuva_shim_lookup");
	shim.page_count = (gpuva_shim_page_count_fn)dlsym(RTLD_DEFAULT,
							  "gpuva_shim_page_count");
	shim.digest = (gpuva_shim_digest_fn)dlsym(RTLD_DEFAULT, "gpuva_shim_digest");
	shim.dump = (gpuva_shim_dump_fn)dlsym(RTLD_DEFAULT, "gpuva_shim_dump");
	shim.hold = (gpuva_shim_hold_fn)dlsym(RTLD_DEFAULT, "gpuva_shim_hold");
	if (!shim.lookup || !shim.page_count || !shim.digest || !shim.dump ||
	    !shim.hold) {
		fprintf(stderr, "libgpuva-shim.so is not preloaded: skipping\n");
		exit(77);
	}
	if (drv && *drv && strcmp(drv, "msm")) {
		fprintf(stderr, "needs GPUVA_SHIM_DRIVER=msm: skipping\n");
		exit(77);
	}
	for (size_t i = 0; i < NSWITCHES; i++) {
		const char *v = getenv(switches[i]);

		initial[i] = v ? strdup(v) : NULL;
	}
}

void
fx_restore_switches(void)
{
	for (size_t i = 0; i < NSWITCHES; i++) {
		if (initial[i])
			setenv(switches[i], initial[i], 1);
		else
			unsetenv(switches[i]);
	}
}

/* ---- device, VM, BOs ---------------------------------------------------------- */

void
fx_open(struct fx *fx, uint64_t range)
{
	struct gpuva_drm_open_desc od = { .path = RENDER_NODE };
	const struct gpuva_drm_node *node;
	struct gpuva_vm_desc vd = { 0 };
	int ret;

	memset(fx, 0, sizeof(*fx));
	memset(&io, 0, sizeof(io));
	assert_int_equal(gpuva_drm_open(&od, &fx->dev), 0);
	fx->be = gpuva_drm_backend(fx->dev);
	fx->fd = gpuva_drm_fd(fx->dev);
	node = gpuva_drm_device_node(fx->dev);
	if (range) {
		vd.start = node->va_start;
		vd.range = range;
	}
	ret = gpuva_drm_vm_create(fx->dev, &vd, &fx->vm);
	if (ret)
		fail_msg("vm: %d %s", ret, gpuva_backend_last_error(fx->be));
	fx->base = node->va_start;
	for (int i = 1; i < FX_NBOS; i++)
		assert_int_equal(gpuva_backend_bo_create(fx->be, NULL, 0x100000, 0,
							 &fx->bos[i]), 0);
}

void
fx_close(struct fx *fx)
{
	if (fx->vm)
		assert_int_equal(gpuva_vm_check(fx->vm), 0);
	gpuva_vm_destroy(fx->vm);
	for (int i = 1; i < FX_NBOS; i++)
		assert_int_equal(gpuva_backend_bo_destroy(fx->be, fx->bos[i]), 0);
	gpuva_drm_close(fx->dev);
	memset(fx, 0, sizeof(*fx));
	fx_restore_switches();	/* the switches a test set go */
}

int
fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx_open(fx, 0);
	*state = fx;
	return 0;
}

int
fx_teardown(void **state)
{
	struct fx *fx = *state;

	fx_close(fx);
	free(fx);
	return 0;
}

/* ---- batches ---------------------------------------------------------------- */

static int
add_line(struct fx *fx, struct gpuva_bind *txn, const char *line)
{
	char verb[8] = "", flag[8] = "";
	uint64_t a = 0, r = 0, off = 0;
	unsigned bo = 0;
	int n = sscanf(line, " %7s %" SCNx64 " %" SCNx64 " %u %" SCNx64 " %7s",
		       verb, &a, &r, &bo, &off, flag);

	if (!strcmp(verb, "unmap") && n == 3)
		return gpuva_bind_unmap(txn, fx->base + a, r);
	if (strcmp(verb, "map") || n < 5 || bo >= FX_NBOS)
		fail_msg("bad test line '%s'", line);
	return gpuva_bind_map(txn, &(struct gpuva_map_req) {
		.addr = fx->base + a, .range = r, .bo = bo ? fx->bos[bo] : NULL,
		.offset = off,
		.driver_flags = !strcmp(flag, "dump") ? MSM_VM_BIND_OP_DUMP : 0,
	});
}

int
fx_batch(struct fx *fx, struct gpuva_commit *c, const char *lines)
{
	char *copy = strdup(lines), *save = NULL;
	struct gpuva_bind *txn;
	int ret;

	assert_non_null(copy);
	ret = gpuva_bind_begin(fx->vm, &txn);
	if (ret) {
		free(copy);
		return ret;
	}
	for (char *l = strtok_r(copy, ";", &save); l; l = strtok_r(NULL, ";", &save)) {
		ret = add_line(fx, txn, l);
		if (ret) {
			gpuva_bind_abort(txn);
			free(copy);
			return ret;
		}
	}
	free(copy);
	return gpuva_bind_commit(txn, c);
}

/* ---- the mirror against the record ------------------------------------------ */

char *
fx_mirror_text(struct fx *fx)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct gpuva *va;

	assert_non_null(f);
	gpuva_vm_for_each_va(va, fx->vm) {
		struct gpuva_bo *bo = gpuva_bo_of(va);

		fprintf(f, "va 0x%" PRIx64 " 0x%" PRIx64 " handle %" PRIu32
			" 0x%" PRIx64 " flags 0x%" PRIx32 "\n", va->addr - fx->base,
			va->range, bo ? bo->handle : 0, va->offset,
			gpuva_driver_flags(va));
	}
	fclose(f);
	return buf;
}

static void
mismatch(struct fx *fx, uint64_t addr, const char *why)
{
	char *m = fx_mirror_text(fx);

	fprintf(stderr, "mirror:\n%skernel:\n", m);
	shim.dump(fx->fd, 0, stderr);
	free(m);
	fail_msg("page 0x%" PRIx64 " (VM start + 0x%" PRIx64 "): %s", addr,
		 addr - fx->base, why);
}

/* One page of a mapping against the record. */
static void
check_page(struct fx *fx, const struct gpuva *va, uint64_t a)
{
	struct gpuva_shim_page p;
	struct gpuva_bo *bo = gpuva_bo_of(va);

	assert_int_equal(shim.lookup(fx->fd, 0, a, &p), 0);
	if (p.flags != gpuva_driver_flags(va))
		mismatch(fx, a, "flags differ");
	if (bo) {
		if (p.kind != GPUVA_SHIM_PAGE_BO || p.handle != bo->handle ||
		    p.bo_offset != va->offset + (a - va->addr))
			mismatch(fx, a, "the kernel does not map that BO page");
		return;
	}
	if (p.kind == GPUVA_SHIM_PAGE_NULL)
		return;
	/* no PRR: the backend's zero BO, one handle for all NULL pages */
	if (p.kind != GPUVA_SHIM_PAGE_BO || p.bo_offset >= (2u << 20))
		mismatch(fx, a, "a NULL mapping is neither PRR nor the zero BO");
	if (!fx->zero_handle)
		fx->zero_handle = p.handle;
	for (int i = 1; i < FX_NBOS; i++)
		if (fx->bos[i] && p.handle == fx->bos[i]->handle)
			mismatch(fx, a, "a NULL page maps a BO of the test");
	if (p.handle != fx->zero_handle)
		mismatch(fx, a, "NULL pages map two different BOs");
}

void
fx_assert_kernel_is_mirror(struct fx *fx)
{
	int64_t pages = 0;
	struct gpuva *va;

	gpuva_vm_for_each_va(va, fx->vm) {
		for (uint64_t a = va->addr; a < gpuva_end(va); a += PAGE)
			check_page(fx, va, a);
		pages += (int64_t)(va->range / PAGE);
	}
	/* and nothing outside the mirror's mappings */
	if (shim.page_count(fx->fd, 0) != pages)
		mismatch(fx, fx->base, "the kernel maps pages the mirror does not");
}

struct fx_state
fx_save(struct fx *fx)
{
	struct fx_state s = {
		.mirror = fx_mirror_text(fx),
		.digest = shim.digest(fx->fd, 0),
		.vm_binds = io.vm_binds,
	};

	gpuva_vm_get_info(fx->vm, &s.info);
	return s;
}

static void
assert_same(struct fx *fx, struct fx_state *s, bool no_ioctl)
{
	struct fx_state now = fx_save(fx);

	assert_string_equal(now.mirror, s->mirror);
	assert_int_equal(now.info.va_count, s->info.va_count);
	assert_int_equal(now.info.vm_bo_count, s->info.vm_bo_count);
	assert_int_equal(now.info.bytes, s->info.bytes);
	assert_int_equal(now.info.lost, s->info.lost);
	assert_true(now.digest == s->digest);
	if (no_ioctl)
		assert_int_equal(now.vm_binds, s->vm_binds);
	free(now.mirror);
	free(s->mirror);
	s->mirror = NULL;
}

void
fx_assert_unchanged(struct fx *fx, struct fx_state *s)
{
	assert_same(fx, s, true);
}

void
fx_assert_rolled_back(struct fx *fx, struct fx_state *s)
{
	assert_same(fx, s, false);
}
