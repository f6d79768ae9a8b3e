/* SPDX-License-Identifier: MIT */
/*
 * Several threads binding into one GPUVA_VM_THREADSAFE VM on the sim
 * backend (issue #12), as a driver's sparse queue and device thread do.
 *
 * Every writer thread owns a region of the VM and shares another one with
 * all the others. It runs transactions of a few maps (BO or NULL) and
 * unmaps in both, ending each with a commit, an abort, or a commit whose
 * backend call fails (an errno, or only the first k requests applied),
 * and keeps a page-by-page model of its own region: nobody else binds
 * there, so whatever the interleaving, its region must hold exactly what
 * its own commits (and the applied part of its failed ones) put there.
 * Between transactions it looks its region up (gpuva_vm_lookup()) against
 * the model; some transactions run inside gpuva_vm_lock() (the lock is
 * recursive), and there the whole region, the sim's page table against
 * the mirror and the VM's invariants are checked. Writers also take VA
 * ranges from the VM's heap, bind them, and give them back through
 * gpuva_bind_free_addr(). One reader thread looks up, iterates between
 * gpuva_vm_lock() and gpuva_vm_unlock(), and compares page table and
 * mirror until the writers are done.
 *
 * Injected failures are deterministic although the interleaving is not: a
 * writer arms the sim's next bind call while it holds the VM's lock, so
 * the call it arms is its own commit's.
 *
 * tests/run.sh runs it natively and under helgrind, which reports any
 * access to the library's state that the VM's lock does not order.
 *
 * usage: threads-stress [--threads N] [--txns N] [--seed N] [--bare-heap]
 *                       [--bare-error]
 *   --bare-heap   call gpuva_vm_alloc_addr()/gpuva_vm_free_addr() without
 *                 holding gpuva_vm_lock(), as vm.h's GPUVA_VM_THREADSAFE
 *                 allows (the VM's heap takes the lock itself)
 *   --bare-error  commit with an injected failure without holding
 *                 gpuva_vm_lock(), then read gpuva_vm_last_error(), which
 *                 is the thread's own reason under the flag
 * meson runs it with both.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpuva/gpuva.h>

#include "trace.h"

#define PAGE		UINT64_C(0x1000)
#define REGION_PAGES	64u		/* each writer's own region, and the shared one */
#define BO_PAGES	256u
#define NBOS		8u
#define MAX_REQS	8u
#define MAX_THREADS	16u
#define VM_START	(UINT64_C(1) << 20)

struct stress {
	struct gpuva_backend *be;
	struct gpuva_vm *vm;
	struct gpuva_bo *bos[NBOS];
	uint64_t shared_base;		/* the region every writer binds into */
	uint64_t txns;			/* per writer */
	uint64_t seed;
	bool bare_heap, bare_error;
	unsigned writers_left;		/* under the VM's lock */
};

struct writer {
	struct stress *st;
	pthread_t thread;
	unsigned id;
	struct trace_rng rng;
	uint64_t base;			/* own region */
	/* what the own region holds, page by page, in the sim's terms */
	struct gpuva_sim_page model[REGION_PAGES];
	uint64_t scratch, scratch_size;	/* a heap range bound to a BO; 0: none */
	uint64_t commits, aborts, errnos, partials, lookups, heap_rounds;
};

static void __attribute__((noreturn, format(printf, 2, 3)))
fail(const struct writer *w, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "threads-stress: %s%u: ", w ? "writer " : "main/reader",
		w ? w->id : 0);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

#define CHECK(w, cond, ...) do { if (!(cond)) fail((w), __VA_ARGS__); } while (0)

static uint64_t
below(struct writer *w, uint64_t n)
{
	return trace_rng_below(&w->rng, n);
}

/* ---- requests and the model -------------------------------------------------- */

/* A random map (BO or NULL) or unmap inside the region at @base. */
static struct gpuva_bind_op
random_request(struct writer *w, uint64_t base)
{
	uint64_t first = below(w, REGION_PAGES);
	uint64_t left = REGION_PAGES - first;
	uint64_t pages = 1 + below(w, left < 16 ? left : 16);
	uint64_t kind = below(w, 10);
	struct gpuva_bind_op op = {
		.addr = base + first * PAGE,
		.range = pages * PAGE,
	};

	if (kind < 5) {
		op.kind = GPUVA_BIND_MAP;
		op.bo = w->st->bos[below(w, NBOS)];
		op.offset = below(w, BO_PAGES - pages + 1) * PAGE;
	} else if (kind < 7) {
		op.kind = GPUVA_BIND_MAP_NULL;
	} else {
		op.kind = GPUVA_BIND_UNMAP;
	}
	if (op.kind != GPUVA_BIND_UNMAP)
		op.driver_flags = (uint32_t)below(w, 4);
	return op;
}

static int
add_request(struct gpuva_bind *txn, const struct gpuva_bind_op *op)
{
	struct gpuva_map_req req = {
		.addr = op->addr, .range = op->range, .bo = op->bo,
		.offset = op->offset, .driver_flags = op->driver_flags,
	};

	if (op->kind == GPUVA_BIND_UNMAP)
		return gpuva_bind_unmap(txn, op->addr, op->range);
	return gpuva_bind_map(txn, &req);
}

/* Apply a request of the own region to the model, page by page. */
static void
model_apply(struct writer *w, const struct gpuva_bind_op *op)
{
	uint64_t first = (op->addr - w->base) / PAGE;

	for (uint64_t i = 0; i < op->range / PAGE; i++) {
		struct gpuva_sim_page *p = &w->model[first + i];

		memset(p, 0, sizeof(*p));
		if (op->kind == GPUVA_BIND_UNMAP)
			continue;
		p->kind = op->kind == GPUVA_BIND_MAP ? GPUVA_SIM_BO : GPUVA_SIM_NULL;
		p->driver_flags = op->driver_flags;
		p->bo = op->bo;
		p->offset = op->bo ? op->offset + i * PAGE : 0;
	}
}

/*
 * Look page @i of the own region up (the thread-safe lookup) and compare
 * it with the model. The mapping found must lie inside the region: no
 * request of another thread reaches it.
 */
static void
check_lookup(struct writer *w, unsigned i)
{
	const struct gpuva_sim_page *m = &w->model[i];
	uint64_t x = w->base + i * PAGE, end = w->base + REGION_PAGES * PAGE;
	struct gpuva_va_info info;
	bool found = gpuva_vm_lookup(w->st->vm, x, &info);

	w->lookups++;
	if (m->kind == GPUVA_SIM_UNMAPPED) {
		CHECK(w, !found, "lookup 0x%" PRIx64 ": found 0x%" PRIx64 " 0x%"
		      PRIx64 ", the model has nothing there", x, info.addr,
		      info.range);
		return;
	}
	CHECK(w, found, "lookup 0x%" PRIx64 ": nothing, the model has a %s page",
	      x, m->kind == GPUVA_SIM_BO ? "BO" : "NULL");
	CHECK(w, info.addr <= x && x - info.addr < info.range &&
	      info.addr >= w->base && info.range <= end - info.addr,
	      "lookup 0x%" PRIx64 ": mapping 0x%" PRIx64 " 0x%" PRIx64
	      " is not around it inside the region", x, info.addr, info.range);
	CHECK(w, info.bo == m->bo && info.driver_flags == m->driver_flags &&
	      (!m->bo || info.offset + (x - info.addr) == m->offset),
	      "lookup 0x%" PRIx64 ": handle %" PRIu32 " offset 0x%" PRIx64
	      " flags 0x%" PRIx32 ", the model has handle %" PRIu32 " offset 0x%"
	      PRIx64 " flags 0x%" PRIx32, x, info.bo ? info.bo->handle : 0,
	      info.offset + (x - info.addr), info.driver_flags,
	      m->bo ? m->bo->handle : 0, m->offset, m->driver_flags);
}

/*
 * With the VM's lock held (no transaction in flight): the VM's invariants,
 * the page table against the mirror, and the whole own region against the
 * model, in the mirror and in the page table.
 */
static void
check_locked(struct writer *w)
{
	struct stress *st = w->st;

	CHECK(w, gpuva_vm_check(st->vm) == 0, "gpuva_vm_check: %s",
	      gpuva_vm_last_error(st->vm));
	CHECK(w, gpuva_sim_compare(st->be, st->vm) == 0, "gpuva_sim_compare: %s",
	      gpuva_vm_last_error(st->vm));
	for (unsigned i = 0; i < REGION_PAGES; i++) {
		struct gpuva_sim_page p;
		const struct gpuva_sim_page *m = &w->model[i];

		CHECK(w, gpuva_sim_translate(st->be, st->vm, w->base + i * PAGE,
					     &p) == 0, "gpuva_sim_translate failed");
		CHECK(w, p.kind == m->kind && p.bo == m->bo &&
		      p.offset == m->offset && p.driver_flags == m->driver_flags,
		      "page table at 0x%" PRIx64 ": kind %" PRIu32 " offset 0x%"
		      PRIx64 ", the model has kind %" PRIu32 " offset 0x%" PRIx64,
		      w->base + i * PAGE, p.kind, p.offset, m->kind, m->offset);
		check_lookup(w, i);
	}
}

/* ---- one transaction ------------------------------------------------------------ */

enum outcome { COMMIT, ABORT, FAIL_ERRNO, FAIL_PARTIAL };

static void
transaction(struct writer *w)
{
	struct stress *st = w->st;
	struct gpuva_bind_op reqs[MAX_REQS];
	bool own[MAX_REQS];
	uint64_t roll = below(w, 100), calls = 0;
	enum outcome how = roll < 70 ? COMMIT : roll < 80 ? ABORT :
			   roll < 90 ? FAIL_ERRNO : FAIL_PARTIAL;
	/*
	 * an injection is armed inside the transaction, so its own commit
	 * consumes it; the lock held around the whole also keeps the reason
	 * and the call count this thread's
	 */
	bool locked = (how >= FAIL_ERRNO && !st->bare_error) || below(w, 5) == 0;
	size_t n = 1 + below(w, MAX_REQS);
	struct gpuva_sim_fail f = { .call = 1 };
	struct gpuva_commit c = { 0 };
	struct gpuva_bind *txn, *other;
	int ret;

	for (size_t i = 0; i < n; i++) {
		own[i] = below(w, 10) < 7;
		reqs[i] = random_request(w, own[i] ? w->base : st->shared_base);
	}
	if (locked) {
		gpuva_vm_lock(st->vm);
		calls = gpuva_sim_bind_calls(st->be);
	}
	ret = gpuva_bind_begin(st->vm, &txn);
	CHECK(w, ret == 0, "begin: %d", ret);
	for (size_t i = 0; i < n; i++) {
		ret = add_request(txn, &reqs[i]);
		CHECK(w, ret == 0, "request %zu: %d (%s)", i, ret,
		      gpuva_vm_last_error(st->vm));
		/* one transaction per VM: the holder's second begin is refused */
		if (i == 0 && below(w, 8) == 0) {
			ret = gpuva_bind_begin(st->vm, &other);
			CHECK(w, ret == -EBUSY, "a second begin in one thread: %d", ret);
		}
	}

	switch (how) {
	case ABORT:
		gpuva_bind_abort(txn);
		w->aborts++;
		break;
	case COMMIT:
		ret = gpuva_bind_commit(txn, &c);
		CHECK(w, ret == 0, "commit: %d", ret);
		for (size_t i = 0; i < n; i++)
			if (own[i])
				model_apply(w, &reqs[i]);
		w->commits++;
		break;
	case FAIL_ERRNO:
	case FAIL_PARTIAL:
		f.kind = how == FAIL_ERRNO ? GPUVA_SIM_FAIL_ERRNO : GPUVA_SIM_FAIL_PARTIAL;
		f.err = how == FAIL_ERRNO ? -EIO : -ENOSPC;
		f.applied = how == FAIL_ERRNO ? 0 : below(w, n + 1);
		CHECK(w, gpuva_sim_inject(st->be, &f) == 0, "inject");
		ret = gpuva_bind_commit(txn, &c);
		CHECK(w, ret == f.err, "commit with an injected %d: %d (%s)",
		      f.err, ret, gpuva_vm_last_error(st->vm));
		CHECK(w, strstr(gpuva_vm_last_error(st->vm), "injected"),
		      "the reason for an injected failure: '%s'",
		      gpuva_vm_last_error(st->vm));
		CHECK(w, c.applied_unit == (how == FAIL_ERRNO ? GPUVA_BIND_NOTHING
				: GPUVA_BIND_REQUESTS) && c.applied == f.applied,
		      "commit with an injected failure kept unit %" PRIu32 ", %zu"
		      " applied; expected %zu", c.applied_unit, c.applied, f.applied);
		for (size_t i = 0; i < f.applied; i++)
			if (own[i])
				model_apply(w, &reqs[i]);
		if (how == FAIL_ERRNO)
			w->errnos++;
		else
			w->partials++;
		break;
	}
	if (locked) {
		/* nobody else bound meanwhile: one call, or none for an abort */
		CHECK(w, gpuva_sim_bind_calls(st->be) == calls + (how != ABORT),
		      "%" PRIu64 " bind calls during one held transaction",
		      gpuva_sim_bind_calls(st->be) - calls);
		check_locked(w);
		gpuva_vm_unlock(st->vm);
	}
}

/* ---- the VM's heap ------------------------------------------------------------ */

static void
heap_lock(struct writer *w)
{
	if (!w->st->bare_heap)
		gpuva_vm_lock(w->st->vm);
}

static void
heap_unlock(struct writer *w)
{
	if (!w->st->bare_heap)
		gpuva_vm_unlock(w->st->vm);
}

/*
 * Take a range from the VM's heap and bind a BO there, or unbind the one
 * taken before and give it back with the transaction. The heap hands each
 * range to one thread only, so the mapping found there is this thread's.
 */
static void
heap_round(struct writer *w)
{
	struct stress *st = w->st;
	struct gpuva_bo *bo = st->bos[w->id % NBOS];
	struct gpuva_va_info info;
	struct gpuva_bind *txn;
	struct gpuva_heap *heap;
	uint64_t addr;
	int ret;

	w->heap_rounds++;
	if (!w->scratch) {
		struct gpuva_map_req req = { .bo = bo, .driver_flags = w->id };

		w->scratch_size = (1 + below(w, 4)) * PAGE;
		heap_lock(w);
		ret = gpuva_vm_alloc_addr(st->vm, w->scratch_size, PAGE, 0, &w->scratch);
		heap_unlock(w);
		CHECK(w, ret == 0, "alloc_addr 0x%" PRIx64 ": %d", w->scratch_size, ret);
		sched_yield();
		/* and one given back at once, never bound */
		heap_lock(w);
		ret = gpuva_vm_alloc_addr(st->vm, PAGE, PAGE, 0, &addr);
		if (!ret)
			ret = gpuva_vm_free_addr(st->vm, addr, PAGE);
		heap_unlock(w);
		CHECK(w, ret == 0, "alloc_addr and free_addr 0x1000: %d", ret);
		req.addr = w->scratch;
		req.range = w->scratch_size;
		CHECK(w, gpuva_bind_begin(st->vm, &txn) == 0, "begin");
		CHECK(w, gpuva_bind_map(txn, &req) == 0, "map the heap range");
		CHECK(w, gpuva_bind_commit(txn, NULL) == 0, "commit the heap range");
		CHECK(w, gpuva_vm_lookup(st->vm, w->scratch + w->scratch_size - PAGE,
					 &info) &&
		      info.addr == w->scratch && info.range == w->scratch_size &&
		      info.bo == bo && info.offset == 0 && info.driver_flags == w->id,
		      "heap range 0x%" PRIx64 ": not the mapping just bound",
		      w->scratch);
		return;
	}
	/* held throughout: once given back the range is anyone's to take */
	gpuva_vm_lock(st->vm);
	CHECK(w, gpuva_bind_begin(st->vm, &txn) == 0, "begin");
	CHECK(w, gpuva_bind_unmap(txn, w->scratch, w->scratch_size) == 0, "unmap");
	ret = gpuva_bind_free_addr(txn, w->scratch, w->scratch_size);
	CHECK(w, ret == 0, "free_addr 0x%" PRIx64 ": %d", w->scratch, ret);
	CHECK(w, gpuva_bind_commit(txn, NULL) == 0, "commit the unbind");
	CHECK(w, !gpuva_vm_lookup(st->vm, w->scratch, &info),
	      "heap range 0x%" PRIx64 ": still mapped", w->scratch);
	/* a synchronous batch has run: the range is back in the heap */
	CHECK(w, gpuva_vm_get_heap(st->vm, &heap) == 0 &&
	      gpuva_heap_is_free(heap, w->scratch, w->scratch_size),
	      "heap range 0x%" PRIx64 ": not given back by the commit", w->scratch);
	gpuva_vm_unlock(st->vm);
	w->scratch = 0;
}

/* ---- threads ------------------------------------------------------------------ */

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct stress *st = w->st;

	/*
	 * Yields between steps: valgrind runs one thread at a time, in long
	 * slices, and helgrind can only see the interleavings that happen.
	 */
	for (uint64_t t = 0; t < st->txns; t++) {
		transaction(w);
		sched_yield();
		for (unsigned k = below(w, 4); k; k--)
			check_lookup(w, (unsigned)below(w, REGION_PAGES));
		if (below(w, 8) == 0) {
			heap_round(w);
			sched_yield();
		}
	}
	if (w->scratch)
		heap_round(w);
	gpuva_vm_lock(st->vm);
	st->writers_left--;
	gpuva_vm_unlock(st->vm);
	return NULL;
}

/*
 * Lookups anywhere, and walks of the whole VM under its lock: in address
 * order, disjoint, as many as it counts, equal to the page table. Runs
 * until every writer is done.
 */
static void *
reader_main(void *arg)
{
	struct stress *st = arg;
	struct trace_rng rng = { st->seed ^ 0x5eed };
	bool done = false;

	while (!done) {
		struct gpuva_va_info info;
		struct gpuva *va;
		uint64_t prev_end = 0;
		size_t count = 0;

		for (int i = 0; i < 16; i++) {
			/* the regions and heap ranges: low in the heap */
			uint64_t x = VM_START + trace_rng_below(&rng, 4096) * PAGE;

			if (gpuva_vm_lookup(st->vm, x, &info))
				CHECK(NULL, info.addr <= x && x - info.addr < info.range,
				      "lookup 0x%" PRIx64 ": mapping 0x%" PRIx64 " 0x%"
				      PRIx64 " does not hold it", x, info.addr, info.range);
		}
		gpuva_vm_lock(st->vm);
		done = st->writers_left == 0;
		gpuva_vm_for_each_va(va, st->vm) {
			CHECK(NULL, va->range && va->addr >= prev_end,
			      "walk: 0x%" PRIx64 " 0x%" PRIx64 " after one ending at 0x%"
			      PRIx64, va->addr, va->range, prev_end);
			prev_end = gpuva_end(va);
			count++;
		}
		CHECK(NULL, count == gpuva_vm_count(st->vm),
		      "walk: %zu mappings, the VM counts %zu", count,
		      gpuva_vm_count(st->vm));
		CHECK(NULL, gpuva_sim_compare(st->be, st->vm) == 0,
		      "gpuva_sim_compare: %s", gpuva_vm_last_error(st->vm));
		CHECK(NULL, gpuva_vm_wait_idle(st->vm, 0) == 0, "wait_idle");
		gpuva_vm_unlock(st->vm);
		sched_yield();
	}
	return NULL;
}

static uint64_t
option(int argc, char **argv, int *i)
{
	uint64_t v;

	if (*i + 1 >= argc || !trace_parse_u64(argv[*i + 1], &v)) {
		fprintf(stderr, "threads-stress: %s needs a number\n", argv[*i]);
		exit(2);
	}
	++*i;
	return v;
}

int
main(int argc, char **argv)
{
	struct stress st = { .txns = 2000, .seed = 1 };
	struct gpuva_vm_desc desc = {
		.start = VM_START, .range = 1ull << 32,
		.flags = GPUVA_VM_THREADSAFE,
	};
	struct writer w[MAX_THREADS];
	uint64_t nthreads = 4, total[4] = { 0 };
	pthread_t reader;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--threads"))
			nthreads = option(argc, argv, &i);
		else if (!strcmp(argv[i], "--txns"))
			st.txns = option(argc, argv, &i);
		else if (!strcmp(argv[i], "--seed"))
			st.seed = option(argc, argv, &i);
		else if (!strcmp(argv[i], "--bare-heap"))
			st.bare_heap = true;
		else if (!strcmp(argv[i], "--bare-error"))
			st.bare_error = true;
		else {
			fprintf(stderr, "usage: %s [--threads N] [--txns N] [--seed N]"
				" [--bare-heap] [--bare-error]\n", argv[0]);
			return 2;
		}
	}
	if (!nthreads || nthreads > MAX_THREADS) {
		fprintf(stderr, "threads-stress: 1 to %u threads\n", MAX_THREADS);
		return 2;
	}

	CHECK(NULL, gpuva_sim_create(NULL, &st.be) == 0, "sim backend");
	desc.backend = st.be;
	CHECK(NULL, gpuva_vm_create(&desc, &st.vm) == 0, "VM");
	for (unsigned i = 0; i < NBOS; i++)
		CHECK(NULL, gpuva_backend_bo_create(st.be, NULL, BO_PAGES * PAGE, 0,
						    &st.bos[i]) == 0, "BO");
	/* the regions come from the VM's heap, as the heap rounds' ranges do */
	CHECK(NULL, gpuva_vm_alloc_addr(st.vm, REGION_PAGES * PAGE, PAGE, 0,
					&st.shared_base) == 0, "shared region");
	st.writers_left = (unsigned)nthreads;
	for (unsigned i = 0; i < nthreads; i++) {
		w[i] = (struct writer) {
			.st = &st, .id = i,
			.rng = { st.seed * 0x9e3779b97f4a7c15ull + i },
		};
		CHECK(NULL, gpuva_vm_alloc_addr(st.vm, REGION_PAGES * PAGE, PAGE, 0,
						&w[i].base) == 0, "region");
	}
	for (unsigned i = 0; i < nthreads; i++)
		CHECK(NULL, pthread_create(&w[i].thread, NULL, writer_main, &w[i]) == 0,
		      "pthread_create");
	CHECK(NULL, pthread_create(&reader, NULL, reader_main, &st) == 0,
	      "pthread_create");
	for (unsigned i = 0; i < nthreads; i++)
		pthread_join(w[i].thread, NULL);
	pthread_join(reader, NULL);

	/* alone again: the final state, page by page */
	CHECK(NULL, gpuva_vm_check(st.vm) == 0, "gpuva_vm_check: %s",
	      gpuva_vm_last_error(st.vm));
	CHECK(NULL, gpuva_sim_compare(st.be, st.vm) == 0, "gpuva_sim_compare: %s",
	      gpuva_vm_last_error(st.vm));
	for (unsigned i = 0; i < nthreads; i++) {
		check_locked(&w[i]);
		total[0] += w[i].commits;
		total[1] += w[i].aborts;
		total[2] += w[i].errnos;
		total[3] += w[i].partials;
	}
	printf("%" PRIu64 " threads x %" PRIu64 " transactions, seed %" PRIu64
	       ": %" PRIu64 " committed, %" PRIu64 " aborted, %" PRIu64
	       " failed, %" PRIu64 " partly applied; %zu mappings left\n",
	       nthreads, st.txns, st.seed, total[0], total[1], total[2],
	       total[3], gpuva_vm_count(st.vm));
	/* a run long enough to mean something took every path */
	if (nthreads * st.txns >= 200)
		CHECK(NULL, total[0] && total[1] && total[2] && total[3],
		      "some outcome never happened");

	gpuva_vm_destroy(st.vm);
	for (unsigned i = 0; i < NBOS; i++)
		CHECK(NULL, gpuva_backend_bo_destroy(st.be, st.bos[i]) == 0,
		      "BO destroy");
	gpuva_backend_destroy(st.be);
	return 0;
}
