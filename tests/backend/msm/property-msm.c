/* SPDX-License-Identifier: MIT */
/*
 * Random transactions through the msm backend, against the fake kernel:
 * after every commit (or abort) the library's mirror must be, page for
 * page, what the fake kernel's record holds, NULL pages included, whether
 * NULL mappings are MAP_NULL or the zero BO (GPUVA_SHIM_MSM_PRR=0). Some
 * commits are made to fail in the fake kernel (an errno, ENOMEM and the
 * retry in pieces, a failure between the pieces), which must leave the
 * mirror equal to the kernel just the same.
 *
 *   property-msm [--seed S] [--count N] [--save FILE]
 *
 * N commits (default 1000) from seed S (default 1). The run is written to
 * FILE (default msm-property.trace) as it goes, in `gpuva replay` syntax,
 * and removed when it passes: after a failure it holds the prefix that
 * failed (driver flags and injected failures as comments).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "trace.h"

#define WINDOW_PAGES 4096	/* 16 MiB: NULL ranges span several zero BOs */
#define BO_PAGES 256		/* the fixture's BOs: 1 MiB */
#define MAX_BATCH 8

static uint64_t seed = 1;
static size_t count = 1000;
static const char *save = "msm-property.trace";

struct run {
	struct fx fx;
	struct trace_rng rng;
	FILE *log;
	size_t step;
};

static uint64_t
below(struct run *r, uint64_t n)
{
	return trace_rng_below(&r->rng, n);
}

/* One random request, added to @txn and logged. */
static void
random_request(struct run *r, struct gpuva_bind *txn)
{
	struct fx *fx = &r->fx;
	uint64_t kind = below(r, 100), page = below(r, WINDOW_PAGES), n;
	int ret;

	if (kind < 30) {
		n = 1 + below(r, 1024);
		if (n > WINDOW_PAGES - page)
			n = WINDOW_PAGES - page;
		fprintf(r->log, "unmap 0x%" PRIx64 " 0x%" PRIx64 "\n",
			fx->base + page * PAGE, n * PAGE);
		ret = gpuva_bind_unmap(txn, fx->base + page * PAGE, n * PAGE);
	} else {
		bool null = kind < 50;
		unsigned bo = null ? 0 : 1 + (unsigned)below(r, FX_NBOS - 1);
		uint64_t off;
		uint32_t flags = below(r, 8) == 0 ? MSM_VM_BIND_OP_DUMP : 0;

		n = 1 + below(r, null ? 1536 : 64);
		if (n > WINDOW_PAGES - page)
			n = WINDOW_PAGES - page;
		off = null ? 0 : below(r, BO_PAGES - n + 1) * PAGE;
		fprintf(r->log, "map 0x%" PRIx64 " 0x%" PRIx64 " %u 0x%" PRIx64 "%s\n",
			fx->base + page * PAGE, n * PAGE, bo, off,
			flags ? " # dump" : "");
		ret = gpuva_bind_map(txn, &(struct gpuva_map_req) {
			.addr = fx->base + page * PAGE, .range = n * PAGE,
			.bo = bo ? fx->bos[bo] : NULL, .offset = off,
			.driver_flags = flags,
		});
	}
	if (ret)
		fail_msg("seed 0x%" PRIx64 " step %zu: a valid request refused: %s "
			 "(trace: %s)", seed, r->step, gpuva_vm_last_error(fx->vm),
			 save);
}

/* Maybe make this commit fail in the fake kernel; logged as a comment. */
static void
random_failure(struct run *r)
{
	static const char *const eio[] = { "EIO" };
	static const char *const enomem[] = { "ENOMEM" };
	static const char *const pieces[] = { "ENOMEM", NULL, "EIO" };
	static const struct { const char *const *spec; unsigned n; const char *what; }
	fails[] = {
		{ eio, 1, "EIO" },
		{ enomem, 1, "ENOMEM, then pieces" },
		{ pieces, 3, "ENOMEM, then EIO for the second piece" },
	};
	uint64_t k = below(r, 40);

	if (k >= 3) {
		fx_fail_binds(NULL, 0);
		return;
	}
	fx_fail_binds(fails[k].spec, fails[k].n);
	fprintf(r->log, "# the fake kernel fails this commit: %s\n", fails[k].what);
}

static void
one_step(struct run *r)
{
	struct fx *fx = &r->fx;
	struct gpuva_commit c = { 0 };
	struct gpuva_bind *txn;
	uint64_t nreq = 1 + below(r, MAX_BATCH), how = below(r, 20);
	int ret;

	assert_int_equal(gpuva_bind_begin(fx->vm, &txn), 0);
	fprintf(r->log, "begin\n");
	for (uint64_t i = 0; i < nreq; i++)
		random_request(r, txn);
	if (how == 0) {
		fprintf(r->log, "abort\n");
		gpuva_bind_abort(txn);
		return;
	}
	if (how < 10)
		c.flags = GPUVA_COMMIT_ASYNC;
	random_failure(r);
	fprintf(r->log, "commit\n");
	fflush(r->log);
	ret = gpuva_bind_commit(txn, &c);
	fx_fail_binds(NULL, 0);
	if (ret == -EPIPE || gpuva_vm_is_lost(fx->vm))
		fail_msg("seed 0x%" PRIx64 " step %zu: the VM is lost: %s (trace: %s)",
			 seed, r->step, gpuva_vm_last_error(fx->vm), save);
	/* what the failures give: ENOMEM stays when there is nothing to split */
	if (ret && ret != -EIO && ret != -ENOMEM)
		fail_msg("seed 0x%" PRIx64 " step %zu: commit %d: %s (trace: %s)",
			 seed, r->step, ret, gpuva_vm_last_error(fx->vm), save);
	if (how == 1)
		assert_int_equal(gpuva_vm_wait_idle(fx->vm, INT64_MAX), 0);
}

static void
the_mirror_is_the_kernel_after_every_random_commit(void **state)
{
	struct run *r = calloc(1, sizeof(*r));

	(void)state;
	assert_non_null(r);
	r->rng.s = seed;
	r->log = fopen(save, "w");
	assert_non_null(r->log);
	fx_open(&r->fx, WINDOW_PAGES * PAGE);
	fprintf(r->log, "# property-msm --seed 0x%" PRIx64 ", GPUVA_SHIM_MSM_PRR=%s\n"
		"vm 0x%" PRIx64 " 0x%" PRIx64 "\n", seed,
		getenv("GPUVA_SHIM_MSM_PRR") ? getenv("GPUVA_SHIM_MSM_PRR") : "1",
		r->fx.base, WINDOW_PAGES * PAGE);
	for (r->step = 0; r->step < count; r->step++) {
		one_step(r);
		if (gpuva_vm_check(r->fx.vm))
			fail_msg("seed 0x%" PRIx64 " step %zu: %s (trace: %s)", seed,
				 r->step, gpuva_vm_last_error(r->fx.vm), save);
		fx_assert_kernel_is_mirror(&r->fx);
	}
	fx_close(&r->fx);
	fclose(r->log);
	remove(save);
	free(r);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_mirror_is_the_kernel_after_every_random_commit),
	};

	for (int i = 1; i < argc; i++) {
		uint64_t v = 0;
		bool num = i + 1 < argc && trace_parse_u64(argv[i + 1], &v);

		if (!strcmp(argv[i], "--seed") && num) {
			seed = v;
			i++;
		} else if (!strcmp(argv[i], "--count") && num && v) {
			count = (size_t)v;
			i++;
		} else if (!strcmp(argv[i], "--save") && i + 1 < argc) {
			save = argv[++i];
		} else {
			fprintf(stderr, "usage: %s [--seed S] [--count N] [--save FILE]\n",
				argv[0]);
			return 2;
		}
	}
	/* GPUVA_SHIM_MSM_PRR as set: the test runs once per NULL strategy */
	fx_require_shim();
	return cmocka_run_group_tests_name("msm-property", tests, NULL, NULL);
}
