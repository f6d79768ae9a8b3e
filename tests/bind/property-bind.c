/* SPDX-License-Identifier: MIT */
/*
 * Property test of bind transactions against a page model.
 *
 * Random batches of 1 to --max-batch requests (maps of four BOs and NULL,
 * unmaps, with driver flags and VA flags, some continuing what is mapped,
 * some invalid) run on three VMs of the same geometry:
 *  - S on the sim backend, the VM whose page table must equal its mirror;
 *  - N on the recording backend (bind-fixture.h), which shows the net
 *    effect and may report partial net effects;
 *  - R without a backend, the same requests one by one through ops.h (the
 *    unit fixture's struct fx): the reference op stream and verdicts.
 * The model is one slot per page: BO and offset, NULL or nothing, driver
 * flags, VA flags, and whether a mapping starts there (so it holds the
 * mappings' shapes, not only their contents), updated by ops-semantics.md's
 * rules for each accepted request.
 *
 * After every batch:
 *  - every request got R's verdict, and S generated R's ops for it;
 *  - S and N equal the model slot for slot (shape, flags, driver flags),
 *    gpuva_vm_check() passes, the sim page table equals S's mirror
 *    (gpuva_sim_compare(); or -EBUSY while an asynchronous batch waits);
 *  - the net effect N's backend got is the canonical one computed from the
 *    models: exactly the changed pages, cut into maximal runs of one
 *    continuing content; applied to the model before, it gives the model
 *    after; and its length keeps the bound below.
 *
 * With --rollback K, every K-th batch is first run to failure, and each
 * time the VMs must come back as the outcome says:
 *  - S: an injected backend failure (then S exactly as before: mappings
 *    and their addresses, vm_bo links in order and counts, info with
 *    bytes, the allocator's live counts); an allocation failure at every
 *    allocation of the batch, through the allocation callbacks (the request
 *    hit is -ENOMEM, the others go on, abort: exactly as before); on a copy
 *    of S, a partial success of every k (the copy equals the model after
 *    exactly k requests, and its page table its mirror); on a copy, a VM
 *    loss (as before, lost, and sticky);
 *  - N: a failure applying nothing; an allocation failure at every
 *    allocation of the batch and of its commit (-ENOMEM before the backend
 *    call); on copies, a partial success of every k net-effect entries and
 *    some bytes of the next.
 *
 * The canonical net effect (bind.h): every page whose content changes is
 * in an entry; an entry is a run of one continuing content (same kind,
 * driver flags and flags, for a BO the next offset), which goes on over
 * unchanged pages of the batch's ranges that continue it when a changed
 * page follows, and starts and ends on changed pages. Its length: a page
 * of the batch's ranges belongs to the last request covering it, the
 * maximal runs of pages of one request are the batch's pieces, and there
 * is at most one entry per piece: at most 2r - 1 for r requests, at most
 * r when no request lies strictly inside another (both checked).
 *
 *   property-bind [--seed S] [--count N] [--pages P] [--max-batch M]
 *                 [--rollback K] [--async 0|1] [--save FILE]
 *
 * --count is the number of requests. On failure it prints the seed, batch
 * and request, and writes the batches so far as a trace (begin/commit) for
 * `gpuva replay --backend sim` (driver flags and BO sizes are not in the
 * trace format: a request refused for BO 4's size replays as accepted).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bind-fixture.h"
#include "trace.h"	/* the project's one seeded generator */

#define PS UINT64_C(0x1000)
#define NBO 4
#define START UINT64_C(0x100000)

static struct {
	uint64_t seed;
	size_t count;
	unsigned pages;
	unsigned max_batch;
	unsigned rollback;
	bool async;
	const char *save;
} opt = { 1, 3000, 256, 64, 1, true, "property-bind-failure.trace" };

/* ---- the page model ------------------------------------------------------- */

enum { PG_NONE, PG_BO, PG_NULL };

struct pg {
	uint8_t kind;
	uint8_t bo;		/* PG_BO */
	uint8_t flags;		/* enum gpuva_flags */
	uint8_t start;		/* a mapping starts here */
	uint32_t df;		/* driver flags */
	uint64_t off;		/* BO offset (carried for NULL too) */
};

struct req {
	bool map;
	uint64_t addr, range, offset;
	unsigned bo;
	uint32_t flags, df;
};

struct world {
	struct trace_rng rng;
	unsigned pages;
	uint64_t rsv_start, rsv_range;

	struct gpuva_backend *sim;
	struct rec rec;
	struct gpuva_vm *s, *n;
	struct bfx_alloc as, an;
	struct fx *ref;
	void *ref_state;
	struct fx_bo bos[FX_NBOS];

	struct pg *before, *after, *tmp, *tmp2;
	int *owner;

	struct req *reqs;		/* this batch */
	bool *ok;			/* R's verdict per request */
	char **ref_ops;			/* R's ops per request */
	size_t nreqs, accepted;

	struct bfx_buf trace;		/* batches so far, for --save */
	size_t batch, requests;

	/* async: a timeline, the point the last queued batch waits for */
	uint32_t sync;
	uint64_t point, signalled;

	/* statistics */
	size_t nets, net_entries, bridged, rollbacks, allocs_failed, partials;
};

static uint64_t
below(struct world *w, uint64_t n)
{
	return trace_rng_below(&w->rng, n);
}

static uint64_t
page_addr(unsigned p)
{
	return START + (uint64_t)p * PS;
}

static unsigned
page_of(uint64_t addr)
{
	return (unsigned)((addr - START) / PS);
}

/* ---- failure reporting ----------------------------------------------------- */

static void
save_trace(struct world *w)
{
	FILE *f = fopen(opt.save, "w");

	if (!f)
		return;
	fprintf(f, "# property-bind seed 0x%" PRIx64 ": batches up to the failure "
		"(batch %zu); replay with --backend sim\n", opt.seed, w->batch);
	fprintf(f, "vm 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 "\n",
		START, (uint64_t)w->pages * PS, w->rsv_start, w->rsv_range);
	fputs(w->trace.p ? w->trace.p : "", f);
	fprintf(f, "begin\n");
	for (size_t i = 0; i < w->nreqs; i++) {
		const struct req *r = &w->reqs[i];

		if (r->map)
			fprintf(f, "map 0x%" PRIx64 " 0x%" PRIx64 " %u 0x%" PRIx64 "\n",
				r->addr, r->range, r->bo, r->offset);
		else
			fprintf(f, "unmap 0x%" PRIx64 " 0x%" PRIx64 "\n", r->addr,
				r->range);
	}
	fprintf(f, "commit\ndump\n");
	fclose(f);
}

#define CHECK(w, cond, ...)                                                   \
	do {                                                                  \
		if (!(cond)) {                                                \
			save_trace(w);                                        \
			print_error(__VA_ARGS__);                             \
			fail_msg("seed 0x%" PRIx64 " batch %zu (request %zu): %s" \
				 " (trace: %s)", opt.seed, (w)->batch,        \
				 (w)->requests, #cond, opt.save);             \
		}                                                             \
	} while (0)

static void
log_batch(struct world *w)
{
	bfx_printf(&w->trace, "begin\n");
	for (size_t i = 0; i < w->nreqs; i++) {
		const struct req *r = &w->reqs[i];

		if (r->map)
			bfx_printf(&w->trace, "map 0x%" PRIx64 " 0x%" PRIx64 " %u 0x%"
				   PRIx64 "\n", r->addr, r->range, r->bo, r->offset);
		else
			bfx_printf(&w->trace, "unmap 0x%" PRIx64 " 0x%" PRIx64 "\n",
				   r->addr, r->range);
	}
	bfx_printf(&w->trace, "commit\n");
}

/* ---- model rules ------------------------------------------------------------ */

/* One accepted request, as ops-semantics.md's rules leave the pages. */
static void
model_apply(struct world *w, struct pg *m, const struct req *r)
{
	unsigned a = page_of(r->addr), e = page_of(r->addr + r->range);

	for (unsigned p = a; p < e; p++) {
		struct pg *s = &m[p];

		memset(s, 0, sizeof(*s));
		if (!r->map)
			continue;
		s->kind = r->bo ? PG_BO : PG_NULL;
		s->bo = (uint8_t)r->bo;
		s->flags = (uint8_t)r->flags;
		s->df = r->df;
		s->off = r->offset + (uint64_t)(p - a) * PS;
		s->start = p == a;
	}
	/* a mapping the request cut on the right goes on as a piece of its own */
	if (e < w->pages && m[e].kind != PG_NONE)
		m[e].start = 1;
}

/* The same page content, as a kernel sees it: what the net effect tracks. */
static bool
pg_same(const struct pg *a, const struct pg *b)
{
	if (a->kind != b->kind || a->df != b->df)
		return false;
	return a->kind != PG_BO || (a->bo == b->bo && a->off == b->off);
}

/* Does page content @b, on the next page, continue @a in one entry? */
static bool
pg_continues(const struct pg *a, const struct pg *b)
{
	if (a->kind != b->kind || a->df != b->df || a->flags != b->flags)
		return false;
	return a->kind != PG_BO || (a->bo == b->bo && b->off == a->off + PS);
}

/* Every field, the mapping starts included. */
static bool
pg_equal(const struct pg *a, const struct pg *b)
{
	if (a->kind != b->kind || a->start != b->start)
		return false;
	if (a->kind == PG_NONE)
		return true;
	return a->bo == b->bo && a->flags == b->flags && a->df == b->df &&
	       a->off == b->off;
}

static void
pg_print(const char *what, unsigned p, const struct pg *s)
{
	print_error("%s page 0x%" PRIx64 ": kind %u bo %u off 0x%" PRIx64
		    " flags 0x%x df 0x%" PRIx32 " start %u\n", what, page_addr(p),
		    s->kind, s->bo, s->off, s->flags, s->df, s->start);
}

/* The model of a VM's mirror (driver flags only with a backend). */
static void
model_of(struct world *w, struct gpuva_vm *vm, struct pg *m)
{
	bool df = gpuva_vm_backend(vm) != NULL;
	struct gpuva *va;

	memset(m, 0, w->pages * sizeof(*m));
	gpuva_vm_for_each_va(va, vm) {
		unsigned a = page_of(va->addr), e = page_of(gpuva_end(va));

		for (unsigned p = a; p < e; p++) {
			struct pg *s = &m[p];

			s->kind = va->vm_bo ? PG_BO : PG_NULL;
			s->bo = (uint8_t)fx_bo_id(gpuva_bo_of(va));
			s->flags = (uint8_t)gpuva_flags(va);
			s->df = df ? gpuva_driver_flags(va) : 0;
			s->off = va->offset + (uint64_t)(p - a) * PS;
			s->start = p == a;
		}
	}
}

/* @vm equals model @want slot for slot (driver flags if @df). */
static void
check_vm(struct world *w, struct gpuva_vm *vm, const struct pg *want, bool df,
	 const char *what)
{
	CHECK(w, gpuva_vm_check(vm) == 0, "%s: %s\n", what, gpuva_vm_last_error(vm));
	model_of(w, vm, w->tmp);
	for (unsigned p = 0; p < w->pages; p++) {
		struct pg a = want[p];

		if (!df)
			a.df = 0;
		if (!pg_equal(&a, &w->tmp[p])) {
			pg_print("model", p, &a);
			pg_print(what, p, &w->tmp[p]);
		}
		CHECK(w, pg_equal(&a, &w->tmp[p]), "%s differs from the model\n", what);
	}
}

/* @vm holds what the kernel would see in model @want (pg_same). */
static void
check_vm_pages(struct world *w, struct gpuva_vm *vm, const struct pg *want,
	       const char *what)
{
	CHECK(w, gpuva_vm_check(vm) == 0, "%s: %s\n", what, gpuva_vm_last_error(vm));
	model_of(w, vm, w->tmp);
	for (unsigned p = 0; p < w->pages; p++) {
		if (!pg_same(&want[p], &w->tmp[p])) {
			pg_print("model", p, &want[p]);
			pg_print(what, p, &w->tmp[p]);
		}
		CHECK(w, pg_same(&want[p], &w->tmp[p]), "%s differs from the model\n",
		      what);
	}
}

/* ---- requests ------------------------------------------------------------- */

static uint32_t
random_flags(struct world *w)
{
	return below(w, 8) ? 0 : GPUVA_USER0;
}

/* A random request; some continue what the model maps, some are invalid. */
static struct req
random_req(struct world *w)
{
	struct req r = { 0 };
	unsigned p = (unsigned)below(w, w->pages);
	unsigned len = below(w, 8) ? 1 + (unsigned)below(w, 8)
				   : 1 + (unsigned)below(w, 64);
	uint64_t roll = below(w, 100);

	if (p + len > w->pages)
		len = w->pages - p;
	r.map = below(w, 100) < 60;
	r.addr = page_addr(p);
	r.range = (uint64_t)len * PS;
	if (r.map) {
		const struct pg *near = &w->after[p ? p - 1 : p];

		r.bo = below(w, 100) < 15 ? 0 : 1 + (unsigned)below(w, NBO);
		r.offset = below(w, 32) * PS;
		r.df = (uint32_t)below(w, 3);
		r.flags = random_flags(w);
		/* continue the mapping on the left: merges, unchanged pages */
		if (roll < 25 && near->kind != PG_NONE) {
			r.bo = near->kind == PG_BO ? near->bo : 0;
			r.offset = near->off + (p ? PS : 0);
			r.df = near->df;
			r.flags = near->flags;
		}
	}
	/* invalid ones: R's verdict says which */
	switch (below(w, 100)) {
	case 0:
		r.addr += PS / 2;		/* not aligned */
		break;
	case 1:
		r.range = 0;
		break;
	case 2:
		r.addr = page_addr(w->pages - 1);
		r.range = 2 * PS;		/* past the end */
		break;
	case 3:
		r.addr = w->rsv_start - PS;	/* into the reserved range */
		r.range = 2 * PS;
		break;
	case 4:
		if (r.map && r.bo) {
			r.bo = 4;		/* beyond BO 4's 32 pages */
			r.offset = 31 * PS;
			r.range = 2 * PS;
		}
		break;
	default:
		break;
	}
	return r;
}

static int
req_on(struct world *w, struct gpuva_bind *txn, const struct req *r)
{
	struct gpuva_map_req m = {
		.addr = r->addr, .range = r->range,
		.bo = r->bo ? &w->bos[r->bo].base : NULL, .offset = r->offset,
		.flags = r->flags, .driver_flags = r->df,
	};

	return r->map ? gpuva_bind_map(txn, &m)
		      : gpuva_bind_unmap(txn, r->addr, r->range);
}

/* ---- the reference ---------------------------------------------------------- */

/*
 * Run the batch on R one request at a time: verdicts, op texts, and the
 * model after (w->after from w->before).
 */
static void
run_reference(struct world *w)
{
	memcpy(w->after, w->before, w->pages * sizeof(*w->after));
	w->accepted = 0;
	for (size_t i = 0; i < w->nreqs; i++) {
		const struct req *r = &w->reqs[i];
		int ret;

		if (r->map) {
			struct gpuva_map_req m = {
				.addr = r->addr, .range = r->range,
				.bo = fx_bo(w->ref, r->bo), .offset = r->offset,
				.flags = r->flags,
			};

			ret = fx_map_req(w->ref, &m);
		} else {
			ret = fx_unmap(w->ref, r->addr, r->range);
		}
		CHECK(w, ret == 0 || ret == -EINVAL, "reference: %d\n", ret);
		w->ok[i] = ret == 0;
		free(w->ref_ops[i]);
		w->ref_ops[i] = strdup(w->ok[i] && w->ref->log ? w->ref->log : "");
		if (w->ok[i]) {
			model_apply(w, w->after, r);
			w->accepted++;
		}
	}
	check_vm(w, w->ref->vm, w->after, false, "R (ops.h one by one)");
}

/* ---- running a batch -------------------------------------------------------- */

struct oplog {
	struct bfx_buf text;
};

static void
log_op(void *priv, const struct gpuva_op *op)
{
	struct oplog *l = priv;
	char line[512];

	fx_op_text(op, line, sizeof(line));
	bfx_printf(&l->text, "%s\n", line);
}

/*
 * Begin on @vm and add the batch. With @compare, each request must get R's
 * verdict and ops. Returns the transaction; *@failed gets the number of
 * requests that failed with -ENOMEM (allocation failures).
 */
static struct gpuva_bind *
add_batch(struct world *w, struct gpuva_vm *vm, bool compare, size_t *nomem)
{
	struct gpuva_bind *txn = NULL;
	struct oplog l = { { 0 } };
	int ret = gpuva_bind_begin(vm, &txn);

	CHECK(w, ret == 0, "begin: %d %s\n", ret, gpuva_vm_last_error(vm));
	if (compare)
		gpuva_bind_set_op_fn(txn, log_op, &l);
	*nomem = 0;
	for (size_t i = 0; i < w->nreqs; i++) {
		size_t count = gpuva_bind_count(txn);

		ret = req_on(w, txn, &w->reqs[i]);
		if (ret == -ENOMEM) {
			(*nomem)++;
			CHECK(w, gpuva_bind_count(txn) == count,
			      "a request that failed was counted\n");
			CHECK(w, strstr(gpuva_vm_last_error(vm), "out of memory"),
			      "reason: %s\n", gpuva_vm_last_error(vm));
			continue;
		}
		CHECK(w, ret == (w->ok[i] ? 0 : -EINVAL),
		      "request %zu: %d, R said %d (%s)\n", i, ret,
		      w->ok[i] ? 0 : -EINVAL, gpuva_vm_last_error(vm));
		CHECK(w, ret == 0 || gpuva_vm_last_error(vm)[0], "no reason\n");
		if (compare) {
			char *got = bfx_take(&l.text);

			if (strcmp(got, w->ref_ops[i]))
				print_error("request %zu\n--- one by one\n%s--- in the "
					    "batch\n%s", i, w->ref_ops[i], got);
			CHECK(w, strcmp(got, w->ref_ops[i]) == 0,
			      "the batch generated other ops\n");
			free(got);
		}
		CHECK(w, gpuva_bind_count(txn) == count + (ret == 0),
		      "gpuva_bind_count\n");
	}
	gpuva_bind_set_op_fn(txn, NULL, NULL);
	free(bfx_take(&l.text));
	return txn;
}

static char *
exact(struct world *w, struct gpuva_vm *vm, const struct bfx_alloc *a)
{
	return bfx_state(vm, w->bos, FX_NBOS, a, BFX_EXACT | BFX_DRIVER_FLAGS);
}

static void
check_unchanged(struct world *w, struct gpuva_vm *vm, const struct bfx_alloc *a,
		const char *before, const char *what)
{
	char *now = exact(w, vm, a);

	if (strcmp(before, now))
		print_error("%s\n--- before\n%s--- now\n%s", what, before, now);
	CHECK(w, strcmp(before, now) == 0, "%s: the VM changed\n", what);
	free(now);
	CHECK(w, gpuva_vm_check(vm) == 0, "%s: %s\n", what, gpuva_vm_last_error(vm));
}

static void
check_sim(struct world *w, struct gpuva_vm *vm, const char *what)
{
	int ret = gpuva_sim_compare(w->sim, vm);

	if (gpuva_sim_queued(w->sim, vm))
		CHECK(w, ret == -EBUSY, "%s: sim compare %d while queued\n", what, ret);
	else
		CHECK(w, ret == 0, "%s: sim compare: %s\n", what,
		      gpuva_vm_last_error(vm));
}

/* A new VM on @be holding @src's mappings (one request each, one batch). */
static struct gpuva_vm *
clone_vm(struct world *w, struct gpuva_vm *src, struct gpuva_backend *be,
	 struct bfx_alloc *a)
{
	struct gpuva_vm_desc d = {
		.start = START, .range = (uint64_t)w->pages * PS,
		.reserved_start = w->rsv_start, .reserved_range = w->rsv_range,
		.backend = be,
	};
	struct gpuva_vm *vm = NULL;
	struct gpuva_bind *txn;
	struct gpuva *va;
	int ret;

	memset(a, 0, sizeof(*a));
	bfx_alloc_hook(&d, a);
	CHECK(w, gpuva_vm_create(&d, &vm) == 0, "clone: create\n");
	CHECK(w, gpuva_bind_begin(vm, &txn) == 0, "clone: begin\n");
	gpuva_vm_for_each_va(va, src) {
		struct gpuva_map_req m = {
			.addr = va->addr, .range = va->range, .bo = gpuva_bo_of(va),
			.offset = va->offset, .flags = gpuva_flags(va),
			.driver_flags = gpuva_driver_flags(va),
		};

		ret = gpuva_bind_map(txn, &m);
		CHECK(w, ret == 0, "clone: map: %s\n", gpuva_vm_last_error(vm));
	}
	ret = gpuva_bind_commit(txn, NULL);
	CHECK(w, ret == 0, "clone: commit: %s\n", gpuva_vm_last_error(vm));
	return vm;
}

static void
drop_vm(struct world *w, struct gpuva_vm *vm, struct bfx_alloc *a)
{
	gpuva_vm_destroy(vm);
	CHECK(w, a->live_vas == 0 && a->live_vm_bos == 0,
	      "destroy left %ld mappings, %ld vm_bos\n", a->live_vas,
	      a->live_vm_bos);
}

static int
inject(struct world *w, uint32_t kind, int err, size_t applied)
{
	struct gpuva_sim_fail f = { .call = 1, .kind = kind, .err = err,
				    .applied = applied };

	return gpuva_sim_inject(w->sim, &f);
}

/* ---- S: rollback -------------------------------------------------------------- */

/* Commit flags for S: asynchronous when it has batches queued. */
static struct gpuva_commit
s_commit(struct world *w)
{
	struct gpuva_commit c = { 0 };

	if (gpuva_sim_queued(w->sim, w->s))
		c.flags = GPUVA_COMMIT_ASYNC;
	return c;
}

static void
s_rollbacks(struct world *w)
{
	char *before = exact(w, w->s, &w->as);
	unsigned long c0, total;
	struct gpuva_bind *txn;
	struct gpuva_commit c;
	size_t nomem;
	int ret;

	/* a backend failure: exactly as before */
	c0 = w->as.calls;
	txn = add_batch(w, w->s, false, &nomem);
	total = w->as.calls - c0;
	CHECK(w, inject(w, GPUVA_SIM_FAIL_ERRNO, -EIO, 0) == 0, "inject\n");
	c = s_commit(w);
	ret = gpuva_bind_commit(txn, &c);
	CHECK(w, ret == -EIO, "injected -EIO: commit %d\n", ret);
	CHECK(w, strstr(gpuva_vm_last_error(w->s), "injected"), "reason: %s\n",
	      gpuva_vm_last_error(w->s));
	check_unchanged(w, w->s, &w->as, before, "S after a backend failure");
	check_sim(w, w->s, "S after a backend failure");
	w->rollbacks++;

	/* an allocation failure at every allocation of the batch */
	for (unsigned long n = 1; n <= total; n++) {
		bfx_alloc_fail_in(&w->as, n);
		txn = add_batch(w, w->s, false, &nomem);
		CHECK(w, nomem == 1, "allocation %lu of %lu: %zu requests failed\n",
		      n, total, nomem);
		gpuva_bind_abort(txn);
		check_unchanged(w, w->s, &w->as, before, "S after an allocation failure");
		w->allocs_failed++;
	}
	free(before);

	/* on copies: a partial success of every k, then a loss */
	for (size_t k = 0; k <= w->accepted + 1; k++) {
		struct bfx_alloc a;
		struct gpuva_vm *cp = clone_vm(w, w->s, w->sim, &a);
		size_t want = k < w->accepted ? k : w->accepted, seen = 0;
		char *was = exact(w, cp, &a);

		memcpy(w->tmp2, w->before, w->pages * sizeof(*w->tmp2));
		for (size_t i = 0; i < w->nreqs && seen < want; i++)
			if (w->ok[i]) {
				model_apply(w, w->tmp2, &w->reqs[i]);
				seen++;
			}
		txn = add_batch(w, cp, false, &nomem);
		if (k <= w->accepted) {
			CHECK(w, inject(w, GPUVA_SIM_FAIL_PARTIAL, -ENOSPC, k) == 0,
			      "inject\n");
			c = (struct gpuva_commit){ 0 };
			ret = gpuva_bind_commit(txn, &c);
			CHECK(w, ret == -ENOSPC, "partial %zu: commit %d\n", k, ret);
			CHECK(w, c.applied_unit == GPUVA_BIND_REQUESTS && c.applied == want,
			      "partial %zu: unit %u applied %zu\n", k, c.applied_unit,
			      c.applied);
			check_vm(w, cp, w->tmp2, true, "a copy of S after a partial success");
			check_sim(w, cp, "a copy of S after a partial success");
			w->partials++;
		} else {
			/* one more than there are: the VM lost instead */
			struct gpuva_bind *again = NULL;
			char *now;

			CHECK(w, inject(w, GPUVA_SIM_FAIL_LOSE, 0, 0) == 0, "inject\n");
			ret = gpuva_bind_commit(txn, NULL);
			CHECK(w, ret == -EPIPE, "loss: commit %d\n", ret);
			CHECK(w, gpuva_vm_is_lost(cp), "not lost\n");
			/* as before, but lost */
			now = exact(w, cp, &a);
			CHECK(w, strstr(now, " lost=1"), "info does not say lost\n");
			strstr(now, " lost=1")[6] = '0';
			if (strcmp(was, now))
				print_error("--- before\n%s--- after\n%s", was, now);
			CHECK(w, strcmp(was, now) == 0, "a lost VM's mirror changed\n");
			free(now);
			CHECK(w, gpuva_bind_begin(cp, &again) == -EPIPE,
			      "begin on a lost VM\n");
			CHECK(w, strstr(gpuva_vm_last_error(cp), "lost"), "reason: %s\n",
			      gpuva_vm_last_error(cp));
		}
		free(was);
		drop_vm(w, cp, &a);
	}
}

/* ---- the net effect ---------------------------------------------------------- */

/* A net-effect entry as the request that replays it. */
static struct req
entry_req(const struct gpuva_bind_op *e)
{
	struct req r = {
		.map = e->kind != GPUVA_BIND_UNMAP, .addr = e->addr,
		.range = e->range, .offset = e->offset, .bo = fx_bo_id(e->bo),
		.flags = e->flags, .df = e->driver_flags,
	};

	return r;
}

/*
 * The net effect @net of the batch from w->before to w->after: its shape,
 * what it does to the model, that it is the canonical one, its length.
 */
static void
check_net(struct world *w, const struct gpuva_bind_op *net, size_t n)
{
	const struct pg *b = w->before, *a = w->after;
	size_t pieces = 0, want = 0, r = w->accepted;
	bool nested = false;

	w->nets++;
	w->net_entries += n;
	/* shape: sorted, apart, aligned, each kind as the header says */
	for (size_t i = 0; i < n; i++) {
		const struct gpuva_bind_op *e = &net[i];

		CHECK(w, e->range && !((e->addr | e->range) & (PS - 1)) &&
		      e->addr >= START && e->addr + e->range <= page_addr(w->pages),
		      "entry %zu: 0x%" PRIx64 " 0x%" PRIx64 "\n", i, e->addr, e->range);
		CHECK(w, !i || net[i - 1].addr + net[i - 1].range <= e->addr,
		      "entry %zu: not sorted or overlapping\n", i);
		CHECK(w, e->kind <= GPUVA_BIND_UNMAP && !e->pad,
		      "entry %zu: kind %u\n", i, e->kind);
		CHECK(w, (e->kind == GPUVA_BIND_MAP) == (e->bo != NULL),
		      "entry %zu: a BO on kind %u\n", i, e->kind);
		CHECK(w, e->kind != GPUVA_BIND_UNMAP ||
		      (!e->offset && !e->driver_flags && !e->flags),
		      "entry %zu: an unmap with an offset or flags\n", i);
	}
	/* applied to the model before, it gives the model after */
	memcpy(w->tmp, b, w->pages * sizeof(*w->tmp));
	for (size_t i = 0; i < n; i++) {
		struct req e = entry_req(&net[i]);

		model_apply(w, w->tmp, &e);
	}
	for (unsigned p = 0; p < w->pages; p++) {
		if (!pg_same(&w->tmp[p], &a[p])) {
			pg_print("after", p, &a[p]);
			pg_print("before + net effect", p, &w->tmp[p]);
		}
		CHECK(w, pg_same(&w->tmp[p], &a[p]),
		      "the net effect does not take before to after\n");
	}

	/* which request each page of the batch's ranges belongs to */
	for (unsigned p = 0; p < w->pages; p++)
		w->owner[p] = -1;
	for (size_t i = 0, k = 0; i < w->nreqs; i++) {
		if (!w->ok[i])
			continue;
		for (unsigned p = page_of(w->reqs[i].addr);
		     p < page_of(w->reqs[i].addr + w->reqs[i].range); p++)
			w->owner[p] = (int)k;
		for (size_t j = 0; j < w->nreqs; j++) {
			const struct req *x = &w->reqs[i], *y = &w->reqs[j];

			if (j != i && w->ok[j] && y->addr < x->addr &&
			    x->addr + x->range < y->addr + y->range)
				nested = true;
		}
		k++;
	}

	/*
	 * The canonical net effect: from a changed page, a run of one
	 * continuing content through the batch's ranges, ending on its last
	 * changed page.
	 */
	for (unsigned p = 0; p < w->pages; p++) {
		const struct gpuva_bind_op *e;
		unsigned q, last = p;

		if (pg_same(&b[p], &a[p]))
			continue;
		CHECK(w, w->owner[p] >= 0, "page 0x%" PRIx64 " changed outside the "
		      "batch's ranges\n", page_addr(p));
		for (q = p + 1; q < w->pages && w->owner[q] >= 0 &&
		     pg_continues(&a[q - 1], &a[q]); q++)
			if (!pg_same(&b[q], &a[q]))
				last = q;
		for (unsigned x = p; x < last; x++)
			if (pg_same(&b[x], &a[x])) {
				w->bridged++;
				break;
			}
		CHECK(w, want < n, "fewer entries than changed runs\n");
		e = &net[want++];
		CHECK(w, e->addr == page_addr(p) &&
		      e->range == (uint64_t)(last + 1 - p) * PS,
		      "entry %zu is 0x%" PRIx64 " 0x%" PRIx64 ", the changed run "
		      "0x%" PRIx64 " 0x%" PRIx64 "\n", want - 1, e->addr, e->range,
		      page_addr(p), (uint64_t)(last + 1 - p) * PS);
		CHECK(w, e->kind == (a[p].kind == PG_NONE ? GPUVA_BIND_UNMAP :
				     a[p].kind == PG_BO ? GPUVA_BIND_MAP :
				     GPUVA_BIND_MAP_NULL),
		      "entry %zu: kind %u\n", want - 1, e->kind);
		if (a[p].kind != PG_NONE)
			CHECK(w, fx_bo_id(e->bo) == a[p].bo && e->offset == a[p].off &&
			      e->driver_flags == a[p].df && e->flags == a[p].flags,
			      "entry %zu: content\n", want - 1);
		p = last;
	}
	CHECK(w, want == n, "%zu entries, %zu changed runs\n", n, want);

	/* the length: at most one entry per piece */
	for (unsigned p = 0; p < w->pages; p++) {
		if (w->owner[p] >= 0 && (!p || w->owner[p - 1] != w->owner[p]))
			pieces++;
	}
	CHECK(w, r ? pieces <= 2 * r - 1 : pieces == 0, "%zu pieces of %zu "
	      "requests\n", pieces, r);
	CHECK(w, nested || pieces <= r, "%zu pieces of %zu requests, none "
	      "nested\n", pieces, r);
	CHECK(w, n <= pieces, "%zu entries for %zu pieces\n", n, pieces);
	CHECK(w, r ? n <= 2 * r - 1 : n == 0, "%zu entries for %zu requests\n",
	      n, r);
	CHECK(w, nested || n <= r, "%zu entries for %zu requests, none nested\n",
	      n, r);
}

/* ---- N: rollback and the net effect -------------------------------------------- */

static void
n_partial_nets(struct world *w, const struct gpuva_bind_op *net, size_t n)
{
	for (size_t k = 0; k <= n; k++) {
		uint64_t bytes = k < n && below(w, 2) ?
				 below(w, net[k].range / PS) * PS : 0;
		struct gpuva_commit c = { 0 };
		struct gpuva_bind *txn;
		struct bfx_alloc a;
		struct gpuva_vm *cp = clone_vm(w, w->n, &w->rec.base, &a);
		size_t nomem;
		int ret;

		memcpy(w->tmp2, w->before, w->pages * sizeof(*w->tmp2));
		for (size_t i = 0; i <= k && i < n; i++) {
			struct req e = entry_req(&net[i]);

			if (i == k)
				e.range = bytes;
			if (e.range)
				model_apply(w, w->tmp2, &e);
		}
		txn = add_batch(w, cp, false, &nomem);
		rec_answer(&w->rec, -EIO, GPUVA_BIND_NET, k, bytes);
		ret = gpuva_bind_commit(txn, &c);
		CHECK(w, ret == -EIO, "partial net %zu+0x%" PRIx64 ": commit %d (%s)\n",
		      k, bytes, ret, gpuva_vm_last_error(cp));
		CHECK(w, w->rec.nnet == n && !memcmp(w->rec.net, net, n * sizeof(*net)),
		      "a copy got another net effect\n");
		CHECK(w, c.applied_unit == GPUVA_BIND_NET && c.applied == k &&
		      c.applied_bytes == bytes, "partial net: what came of it\n");
		check_vm_pages(w, cp, w->tmp2, "a copy of N after a partial net effect");
		w->partials++;
		drop_vm(w, cp, &a);
	}
}

static void
n_batch(struct world *w, bool rollback)
{
	struct gpuva_bind *txn;
	size_t nomem;
	int ret;

	if (rollback) {
		char *before = exact(w, w->n, &w->an);
		unsigned long c0 = w->an.calls, reqs, total;
		struct gpuva_bind_op *net;
		size_t nnet;

		/* a failure applying nothing; its job shows the net effect */
		txn = add_batch(w, w->n, false, &nomem);
		reqs = w->an.calls - c0;
		rec_answer(&w->rec, -EIO, GPUVA_BIND_NOTHING, 0, 0);
		ret = gpuva_bind_commit(txn, NULL);
		CHECK(w, ret == -EIO, "N: commit %d\n", ret);
		total = w->an.calls - c0;
		check_unchanged(w, w->n, &w->an, before, "N after a backend failure");
		nnet = w->rec.nnet;
		net = malloc((nnet ? nnet : 1) * sizeof(*net));
		assert_non_null(net);
		memcpy(net, w->rec.net, nnet * sizeof(*net));
		check_net(w, net, nnet);
		CHECK(w, total - reqs == 3 * nnet,
		      "the commit took %lu mappings for %zu entries\n", total - reqs,
		      nnet);

		/* an allocation failure at every allocation, the commit's too */
		for (unsigned long k = 1; k <= total; k++) {
			unsigned binds = w->rec.binds;

			bfx_alloc_fail_in(&w->an, k);
			txn = add_batch(w, w->n, false, &nomem);
			if (k <= reqs) {
				CHECK(w, nomem == 1, "allocation %lu: %zu failed\n", k,
				      nomem);
				gpuva_bind_abort(txn);
			} else {
				CHECK(w, nomem == 0, "allocation %lu: %zu failed\n", k,
				      nomem);
				ret = gpuva_bind_commit(txn, NULL);
				CHECK(w, ret == -ENOMEM, "commit allocation %lu: %d\n",
				      k, ret);
				CHECK(w, w->rec.binds == binds,
				      "the backend was called after -ENOMEM\n");
			}
			check_unchanged(w, w->n, &w->an, before,
					"N after an allocation failure");
			w->allocs_failed++;
		}
		free(before);
		n_partial_nets(w, net, nnet);
		free(net);
	}
	txn = add_batch(w, w->n, false, &nomem);
	ret = gpuva_bind_commit(txn, NULL);
	CHECK(w, ret == 0, "N: commit %d (%s)\n", ret, gpuva_vm_last_error(w->n));
	check_net(w, w->rec.net, w->rec.nnet);
	check_vm(w, w->n, w->after, true, "N");
}

/* ---- S: the batch -------------------------------------------------------------- */

static size_t
s_batch(struct world *w)
{
	struct gpuva_commit c = s_commit(w);
	struct gpuva_sync wait = { .handle = w->sync };
	struct gpuva_bind *txn;
	size_t nomem;
	int ret;

	txn = add_batch(w, w->s, true, &nomem);
	if (opt.async && !below(w, 4)) {
		/* waits for a point nobody signalled yet: it queues */
		wait.point = ++w->point;
		c.flags = GPUVA_COMMIT_ASYNC;
		c.wait_count = 1;
		c.waits = &wait;
	}
	ret = gpuva_bind_commit(txn, &c);
	CHECK(w, ret == 0, "S: commit %d (%s)\n", ret, gpuva_vm_last_error(w->s));
	check_vm(w, w->s, w->after, true, "S");
	check_sim(w, w->s, "S");
	if (w->point > w->signalled && !below(w, 3)) {
		struct gpuva_sync s = { .handle = w->sync, .point = w->point };

		CHECK(w, gpuva_sim_queued(w->sim, w->s), "nothing queued\n");
		CHECK(w, gpuva_backend_sync_signal(w->sim, &s, 1) == 0, "signal\n");
		w->signalled = w->point;
		CHECK(w, !gpuva_sim_queued(w->sim, w->s), "still queued\n");
		check_sim(w, w->s, "S after its batches ran");
		CHECK(w, gpuva_vm_wait_idle(w->s, 0) == 0, "wait_idle: %s\n",
		      gpuva_vm_last_error(w->s));
	}
	return c.net_count;
}

static void
run_batch(struct world *w)
{
	bool rollback = opt.rollback && w->batch % opt.rollback == 0;
	size_t s_net;

	/* mostly small batches, now and then up to the largest */
	w->nreqs = 1 + (below(w, 4) ? below(w, opt.max_batch < 8 ? opt.max_batch : 8)
				    : below(w, opt.max_batch));
	for (size_t i = 0; i < w->nreqs; i++)
		w->reqs[i] = random_req(w);
	run_reference(w);
	if (rollback)
		s_rollbacks(w);
	s_net = s_batch(w);
	n_batch(w, rollback);
	CHECK(w, s_net == w->rec.nnet, "S's net effect had %zu entries, N's %zu\n",
	      s_net, w->rec.nnet);
	log_batch(w);
	memcpy(w->before, w->after, w->pages * sizeof(*w->before));
	w->batch++;
	w->requests += w->nreqs;
}

static void
random_batches_keep_mirror_page_table_and_model_equal(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	struct gpuva_backend_desc bd = { .page_size = PS };
	struct gpuva_vm_desc d = { .start = START };
	struct fx_opts fo = fx_default_opts();

	(void)state;
	assert_non_null(w);
	w->rng.s = opt.seed;
	w->pages = opt.pages;
	w->rsv_start = page_addr(w->pages - w->pages / 8);
	w->rsv_range = (uint64_t)(w->pages / 16) * PS;
	w->before = calloc(w->pages, sizeof(struct pg));
	w->after = calloc(w->pages, sizeof(struct pg));
	w->tmp = calloc(w->pages, sizeof(struct pg));
	w->tmp2 = calloc(w->pages, sizeof(struct pg));
	w->owner = calloc(w->pages, sizeof(int));
	w->reqs = calloc(opt.max_batch, sizeof(*w->reqs));
	w->ok = calloc(opt.max_batch, sizeof(*w->ok));
	w->ref_ops = calloc(opt.max_batch, sizeof(*w->ref_ops));
	assert_true(w->before && w->after && w->tmp && w->tmp2 && w->owner &&
		    w->reqs && w->ok && w->ref_ops);

	assert_int_equal(gpuva_sim_create(&bd, &w->sim), 0);
	rec_init(&w->rec, PS, true);
	assert_int_equal(gpuva_backend_sync_create(w->sim, &w->sync), 0);
	for (unsigned i = 1; i < FX_NBOS; i++) {
		gpuva_bo_init(&w->bos[i].base, i == 3 ? 128 * PS : i == 4 ? 32 * PS : 0);
		w->bos[i].id = i;
		w->bos[i].base.handle = i;
	}
	d.range = (uint64_t)w->pages * PS;
	d.reserved_start = w->rsv_start;
	d.reserved_range = w->rsv_range;
	d.backend = w->sim;
	bfx_alloc_hook(&d, &w->as);
	assert_int_equal(gpuva_vm_create(&d, &w->s), 0);
	d.backend = &w->rec.base;
	bfx_alloc_hook(&d, &w->an);
	assert_int_equal(gpuva_vm_create(&d, &w->n), 0);
	assert_int_equal(fx_setup(&w->ref_state), 0);
	w->ref = w->ref_state;
	fo.start = START;
	fo.range = d.range;
	fo.rsv_start = w->rsv_start;
	fo.rsv_range = w->rsv_range;
	fo.page_size = PS;
	fx_recreate(w->ref, &fo);
	for (unsigned i = 1; i < FX_NBOS; i++)
		w->ref->bos[i].base.size = w->bos[i].base.size;

	while (w->requests < opt.count)
		run_batch(w);

	/* let whatever still waits run */
	if (w->point > w->signalled) {
		struct gpuva_sync s = { .handle = w->sync, .point = w->point };

		assert_int_equal(gpuva_backend_sync_signal(w->sim, &s, 1), 0);
	}
	check_sim(w, w->s, "S at the end");
	check_vm(w, w->s, w->before, true, "S at the end");
	printf("property-bind: %zu batches, %zu requests; %zu net effects, %zu "
	       "entries, %zu over unchanged pages; %zu rollbacks, %zu allocation "
	       "failures, %zu partial successes\n", w->batch, w->requests, w->nets,
	       w->net_entries, w->bridged, w->rollbacks, w->allocs_failed,
	       w->partials);

	gpuva_vm_destroy(w->s);
	gpuva_vm_destroy(w->n);
	assert_int_equal(w->as.live_vas + w->as.live_vm_bos, 0);
	assert_int_equal(w->an.live_vas + w->an.live_vm_bos, 0);
	assert_int_equal(fx_teardown(&w->ref_state), 0);
	for (unsigned i = 1; i < FX_NBOS; i++)
		assert_int_equal(gpuva_bo_fini(&w->bos[i].base), 0);
	gpuva_backend_sync_destroy(w->sim, w->sync);
	gpuva_backend_destroy(w->sim);
	rec_fini(&w->rec);
	for (unsigned i = 0; i < opt.max_batch; i++)
		free(w->ref_ops[i]);
	free(bfx_take(&w->trace));
	free(w->before);
	free(w->after);
	free(w->tmp);
	free(w->tmp2);
	free(w->owner);
	free(w->reqs);
	free(w->ok);
	free(w->ref_ops);
	free(w);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_batches_keep_mirror_page_table_and_model_equal),
	};

	for (int i = 1; i < argc; i++) {
		uint64_t v = 0;
		bool num = i + 1 < argc && trace_parse_u64(argv[i + 1], &v);

		if (!strcmp(argv[i], "--seed") && num)
			opt.seed = v, i++;
		else if (!strcmp(argv[i], "--count") && num && v && v <= SIZE_MAX)
			opt.count = (size_t)v, i++;
		else if (!strcmp(argv[i], "--pages") && num && v >= 64 && v <= 1u << 20)
			opt.pages = (unsigned)v, i++;
		else if (!strcmp(argv[i], "--max-batch") && num && v >= 1 && v <= 4096)
			opt.max_batch = (unsigned)v, i++;
		else if (!strcmp(argv[i], "--rollback") && num && v <= UINT32_MAX)
			opt.rollback = (unsigned)v, i++;
		else if (!strcmp(argv[i], "--async") && num && v <= 1)
			opt.async = v, i++;
		else if (!strcmp(argv[i], "--save") && i + 1 < argc)
			opt.save = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--seed S] [--count N] [--pages P] "
				"[--max-batch M] [--rollback K] [--async 0|1] "
				"[--save FILE]\n", argv[0]);
			return 2;
		}
	}
	printf("property-bind: seed 0x%" PRIx64 ", %zu requests, %u pages, batches "
	       "of 1-%u, rollback every %u, async %d\n", opt.seed, opt.count,
	       opt.pages, opt.max_batch, opt.rollback, opt.async);
	return cmocka_run_group_tests_name("property-bind", tests, NULL, NULL);
}
