/* SPDX-License-Identifier: MIT */
/*
 * Random transactions through the panthor backend on the fake kernel,
 * synchronous or asynchronous: after every commit the mirror equals a
 * naive page model and the fake's page record, blackhole pages included.
 *
 *   test-backend-panthor-random [--mode sync|async] [--seed S] [--count N]
 *
 * Each step is one transaction of one to four requests (a BO map, a NULL
 * map or an unmap, random driver flags) over an 8 MiB window that crosses
 * 2 MiB lines, so NULL mappings take several blackhole chunks. Failures
 * are injected too: in sync mode a VM_BIND failing at a random op (the
 * mirror must keep exactly what the kernel applied; the model then takes
 * the record's word), in async mode a failing job (the VM is lost; a new
 * VM takes its place). On a divergence the failing prefix is written to
 * panthor-random-<seed>.trace for `gpuva replay` (driver flags and
 * injected failures are not in the trace format).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "panthor-fixture.h"
#include "trace.h"	/* the project's seeded generator, trace_parse_u64 */

#define BASE		0x40000000ull
#define NPAGES		2048u		/* 8 MiB: four 2 MiB lines */
#define BO_PAGES	256u
#define NBOS		3
#define MAX_REQS	4
#define LOG_MAX		(1u << 16)

struct page {
	int kind;		/* 0 none, 1 BO, 2 NULL */
	int bo;			/* BO index */
	uint64_t off;		/* BO offset of the page */
	uint32_t df;		/* driver flags */
};

struct rnd {
	struct pdev d;
	struct gpuva_vm *vm;
	struct gpuva_bo *bo[NBOS];
	struct trace_rng rng;
	bool async;
	uint32_t sync;			/* a timeline syncobj async commits use */
	uint64_t point;			/* its last point */
	struct page model[NPAGES];
	char *log;			/* the trace so far */
	size_t log_len;
	FILE *log_f;
	/* what the run went through, printed at its end */
	uint64_t partial, lost, null_maps, pages_checked;
};

static uint64_t seed = 1;
static uint64_t count = 300;
static bool async_mode;

static uint64_t
below(struct rnd *r, uint64_t n)
{
	return trace_rng_below(&r->rng, n);
}

static void
new_vm(struct rnd *r)
{
	struct gpuva_vm_desc desc = { .flags = GPUVA_VM_CHECK };

	assert_int_equal(gpuva_drm_vm_create(r->d.dev, &desc, &r->vm), 0);
	memset(r->model, 0, sizeof(r->model));
	fprintf(r->log_f, "vm 0x0 0x%llx\n", 1ull << 47);
}

/* The model takes the record's word (after an injected partial failure). */
static void
model_from_record(struct rnd *r)
{
	for (unsigned i = 0; i < NPAGES; i++) {
		struct gpuva_shim_page p = page_at(r->d.fd, 1, BASE + i * PAGE);
		struct page *m = &r->model[i];

		memset(m, 0, sizeof(*m));
		if (p.kind == GPUVA_SHIM_PAGE_NONE)
			continue;
		m->df = p.flags;
		m->kind = 2;
		for (int b = 0; b < NBOS; b++)
			if (r->bo[b]->handle == p.handle) {
				m->kind = 1;
				m->bo = b;
				m->off = p.bo_offset;
			}
	}
}

/* Every page of the window: the model says what the mirror must hold. */
static void
assert_model_is_mirror(struct rnd *r, uint64_t step)
{
	for (unsigned i = 0; i < NPAGES; i++) {
		const struct page *m = &r->model[i];
		uint64_t x = BASE + i * PAGE;
		const struct gpuva *va = gpuva_vm_find_at(r->vm, x);
		bool ok;

		if (!m->kind)
			ok = !va;
		else if (!va || gpuva_driver_flags(va) != m->df)
			ok = false;
		else if (m->kind == 2)
			ok = !gpuva_bo_of(va);
		else
			ok = gpuva_bo_of(va) == r->bo[m->bo] &&
			     va->offset + (x - va->addr) == m->off;
		if (!ok)
			fail_msg("seed 0x%" PRIx64 " step %" PRIu64 ": page 0x%" PRIx64
				 ": the mirror differs from the model (kind %d)",
				 seed, step, x, m->kind);
	}
}

struct rreq {
	int kind;		/* 0 map, 1 NULL, 2 unmap */
	unsigned page, npages;
	int bo;
	unsigned bo_page;
	uint32_t df;
};

static struct rreq
random_req(struct rnd *r)
{
	struct rreq q = { 0 };
	uint64_t roll = below(r, 20);

	q.kind = roll < 8 ? 0 : roll < 13 ? 1 : 2;
	q.page = (unsigned)below(r, NPAGES);
	/* mostly small, sometimes across a 2 MiB line or more */
	q.npages = 1 + (unsigned)below(r, below(r, 4) ? 64 : 1024);
	if (q.npages > NPAGES - q.page)
		q.npages = NPAGES - q.page;
	if (q.kind == 0 && q.npages > BO_PAGES)
		q.npages = BO_PAGES;
	q.bo = (int)below(r, NBOS);
	if (q.kind == 0)
		q.bo_page = (unsigned)below(r, BO_PAGES - q.npages + 1);
	q.df = q.kind == 2 ? 0 : (uint32_t)below(r, 8);
	return q;
}

static int
add(struct rnd *r, struct gpuva_bind *txn, const struct rreq *q)
{
	uint64_t a = BASE + q->page * PAGE, n = q->npages * PAGE;
	struct gpuva_map_req m = {
		.addr = a, .range = n, .driver_flags = q->df,
		.bo = q->kind == 0 ? r->bo[q->bo] : NULL,
		.offset = q->kind == 0 ? q->bo_page * PAGE : 0,
	};

	if (q->kind == 2) {
		fprintf(r->log_f, "unmap 0x%" PRIx64 " 0x%" PRIx64 "\n", a, n);
		return gpuva_bind_unmap(txn, a, n);
	}
	fprintf(r->log_f, "map 0x%" PRIx64 " 0x%" PRIx64 " %d 0x%" PRIx64 "\n",
		a, n, q->kind == 0 ? q->bo + 1 : 0, m.offset);
	return gpuva_bind_map(txn, &m);
}

static void
model_apply(struct rnd *r, const struct rreq *q)
{
	for (unsigned i = 0; i < q->npages; i++) {
		struct page *m = &r->model[q->page + i];

		memset(m, 0, sizeof(*m));
		if (q->kind == 2)
			continue;
		m->kind = q->kind == 0 ? 1 : 2;
		m->bo = q->bo;
		m->off = q->kind == 0 ? (q->bo_page + i) * PAGE : 0;
		m->df = q->df;
	}
}

/* Write the trace so far for `gpuva replay`. */
static void
save_trace(struct rnd *r)
{
	char name[64];
	FILE *f;

	fflush(r->log_f);
	snprintf(name, sizeof(name), "panthor-random-%" PRIu64 ".trace", seed);
	f = fopen(name, "w");
	if (!f)
		return;
	fwrite(r->log, 1, r->log_len, f);
	fclose(f);
	fprintf(stderr, "failing prefix written to %s\n", name);
}

/* One transaction, checked; injected failures as the file comment says. */
static void
step(struct rnd *r, uint64_t i)
{
	struct rreq q[MAX_REQS];
	size_t n = 1 + (size_t)below(r, MAX_REQS);
	struct gpuva_sync sig = { .handle = r->sync, .point = r->point + 1 };
	struct gpuva_sync wait = { .handle = r->sync, .point = r->point };
	struct gpuva_commit c = { 0 };
	struct gpuva_bind *txn;
	bool inject = below(r, 16) == 0;
	char sw[48];
	int ret;

	assert_int_equal(gpuva_bind_begin(r->vm, &txn), 0);
	fputs("begin\n", r->log_f);
	for (size_t k = 0; k < n; k++) {
		q[k] = random_req(r);
		r->null_maps += q[k].kind == 1;
		assert_int_equal(add(r, txn, &q[k]), 0);
	}
	fputs("commit\n", r->log_f);
	if (r->async) {
		c.flags = GPUVA_COMMIT_ASYNC;
		c.signal_count = 1;
		c.signals = &sig;
		/* wait for the previous commit's point (it has run) */
		c.wait_count = r->point ? 1 : 0;
		c.waits = &wait;
		if (inject) {
			snprintf(sw, sizeof(sw), "%" PRIu64 ":EIO",
				 1 + below(r, 3));
			setenv("GPUVA_SHIM_FAIL_JOB", sw, 1);
		}
	} else if (inject) {
		snprintf(sw, sizeof(sw), "1:ENOSPC:%" PRIu64, below(r, 8));
		setenv("GPUVA_SHIM_FAIL_BIND", sw, 1);
	}
	ret = gpuva_bind_commit(txn, &c);
	clear_shim_switches();
	if (r->async && !ret) {
		r->point++;
		ret = gpuva_vm_wait_idle(r->vm, INT64_MAX);
	}
	if (ret == -EPIPE && r->async && inject) {
		/* a job failed (if it ran before the batch ended): lost */
		assert_true(gpuva_vm_is_lost(r->vm));
		r->lost++;
		gpuva_vm_destroy(r->vm);
		new_vm(r);
		return;
	}
	if (ret && inject && !r->async) {
		assert_int_equal(ret, -ENOSPC);
		r->partial += c.applied_unit != GPUVA_BIND_NOTHING;
		assert_int_equal(gpuva_vm_check(r->vm), 0);
		assert_mirror_is_record(&r->d, r->vm, 1);
		model_from_record(r);
		assert_model_is_mirror(r, i);
		return;
	}
	if (ret) {
		save_trace(r);
		fail_msg("seed 0x%" PRIx64 " step %" PRIu64 ": commit: %d %s",
			 seed, i, ret, gpuva_vm_last_error(r->vm));
	}
	for (size_t k = 0; k < n; k++)
		model_apply(r, &q[k]);
	assert_model_is_mirror(r, i);
	assert_mirror_is_record(&r->d, r->vm, 1);
	r->pages_checked += (uint64_t)shim.page_count(r->d.fd, 1);
}

static void
random_transactions_keep_the_mirror_equal_to_the_kernel(void **state)
{
	struct rnd *r = calloc(1, sizeof(*r));

	(void)state;
	r->rng.s = seed;
	r->async = async_mode;
	r->log_f = open_memstream(&r->log, &r->log_len);
	pdev_open(&r->d);
	for (int b = 0; b < NBOS; b++)
		r->bo[b] = pdev_bo(&r->d, NULL, BO_PAGES * PAGE);
	r->sync = 0;
	assert_int_equal(gpuva_backend_sync_create(r->d.be, &r->sync), 0);
	new_vm(r);
	for (uint64_t i = 0; i < count; i++)
		step(r, i);
	print_message("%" PRIu64 " steps, %" PRIu64 " NULL maps, %" PRIu64
		      " partial failures, %" PRIu64 " VMs lost, %" PRIu64
		      " pages compared\n", count, r->null_maps, r->partial,
		      r->lost, r->pages_checked);
	gpuva_vm_destroy(r->vm);
	for (int b = 0; b < NBOS; b++)
		assert_int_equal(gpuva_backend_bo_destroy(r->d.be, r->bo[b]), 0);
	gpuva_backend_sync_destroy(r->d.be, r->sync);
	pdev_close(&r->d);
	fclose(r->log_f);
	free(r->log);
	free(r);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_transactions_keep_the_mirror_equal_to_the_kernel),
	};

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : "";

		if (!strcmp(argv[i], "--mode") && (!strcmp(v, "sync") || !strcmp(v, "async")))
			async_mode = !strcmp(argv[++i], "async");
		else if (!strcmp(argv[i], "--seed") && trace_parse_u64(v, &seed))
			i++;
		else if (!strcmp(argv[i], "--count") && trace_parse_u64(v, &count))
			i++;
		else {
			fprintf(stderr, "usage: %s [--mode sync|async] [--seed S] "
				"[--count N]\n", argv[0]);
			return 2;
		}
	}
	require_shim("panthor");
	return cmocka_run_group_tests_name(async_mode ? "backend-panthor-random-async"
					   : "backend-panthor-random-sync",
					   tests, NULL, NULL);
}
