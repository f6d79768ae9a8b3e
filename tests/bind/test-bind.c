/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the bind layer (include/gpuva/bind.h): what a transaction
 * promises, one specification per test. The requests and the ops they
 * generate are written as `gpuva replay` prints them, and net-effect
 * entries as "map|null|unmap 0x<addr> 0x<range> [<bo> 0x<offset>] df=..",
 * so a failure reads like a trace diff.
 *
 * Most tests run on the recording backend (bind-fixture.h), which shows
 * what bind() was handed and answers as told; the sim backend's own
 * promises (sim.h: page table, refusals, failure injection, fake
 * timelines, deferred VA reuse) run on the sim. Every VM takes its
 * mappings and vm_bos from counting callbacks, so a test can fail any
 * allocation and see every one given back; the teardown checks the VM,
 * destroys it and finds nothing left.
 *
 * "One by one" means the same requests through ops.h on a VM without a
 * backend (the unit fixture's struct fx), one request at a time.
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

#define PAGE UINT64_C(0x1000)
#define VM_RANGE UINT64_C(0x100000)
#define D 4	/* a fourth BO, mapped by no "given" state */

/*
 * This executable links with -Wl,--wrap=realloc (meson.build): the
 * library's realloc calls (a transaction's logs grow with it) come here,
 * and the one numbered realloc_fail_at fails.
 */
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
static unsigned long reallocs, realloc_fail_at;

void *
__wrap_realloc(void *p, size_t n)
{
	if (realloc_fail_at && ++reallocs == realloc_fail_at)
		return NULL;
	return __real_realloc(p, n);
}

/* ---- the fixture ------------------------------------------------------------ */

struct t {
	struct gpuva_backend *sim;
	struct rec rec;
	struct gpuva_vm *vm;		/* the VM under test */
	struct bfx_alloc alloc;		/* its allocation callbacks */
	struct fx_bo bos[FX_NBOS];	/* bos[1..7], handles 101.. */
	struct bfx_buf log;		/* requests and ops, as replay prints */
};

/* One request: a map, or an unmap (bo, offset and df unused). */
struct rq {
	bool map;
	uint64_t addr, range;
	unsigned bo;
	uint64_t offset;
	uint32_t df;			/* driver flags */
};

#define MAP(a, r, bo, off, df) { true, (a), (r), (bo), (off), (df) }
#define UNMAP(a, r) { false, (a), (r), 0, 0, 0 }
#define N(arr) (sizeof(arr) / sizeof((arr)[0]))

static struct gpuva_vm *
vm_create_on(struct gpuva_backend *be, uint64_t range, struct bfx_alloc *a)
{
	struct gpuva_vm_desc d = { .start = 0, .range = range, .backend = be };
	struct gpuva_vm *vm = NULL;

	if (a)
		bfx_alloc_hook(&d, a);
	assert_int_equal(gpuva_vm_create(&d, &vm), 0);
	return vm;
}

/* Check and destroy a VM; its allocator must get everything back. */
static void
vm_done(struct gpuva_vm *vm, struct bfx_alloc *a)
{
	if (!vm)
		return;
	if (gpuva_vm_check(vm))
		fail_msg("gpuva_vm_check: %s", gpuva_vm_last_error(vm));
	gpuva_vm_destroy(vm);
	if (a) {
		assert_int_equal(a->live_vas, 0);
		assert_int_equal(a->live_vm_bos, 0);
		memset(a, 0, sizeof(*a));
	}
}

/* Replace the VM under test by an empty one on @be. */
static void
vm_on(struct t *t, struct gpuva_backend *be)
{
	vm_done(t->vm, &t->alloc);
	t->vm = vm_create_on(be, VM_RANGE, &t->alloc);
}

static int
setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	struct gpuva_backend_desc d = { .page_size = PAGE };

	if (!t)
		return -1;
	for (unsigned i = 1; i < FX_NBOS; i++) {
		gpuva_bo_init(&t->bos[i].base, 0);
		t->bos[i].id = i;
		t->bos[i].base.handle = 100 + i;
	}
	if (gpuva_sim_create(&d, &t->sim))
		return -1;
	rec_init(&t->rec, PAGE, false);
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct t *t = *state;

	vm_done(t->vm, &t->alloc);
	for (unsigned i = 1; i < FX_NBOS; i++)
		assert_int_equal(gpuva_bo_fini(&t->bos[i].base), 0);
	gpuva_backend_destroy(t->sim);
	rec_fini(&t->rec);
	free(bfx_take(&t->log));
	free(t);
	return 0;
}

/* Use a recording backend that may report partial net effects. */
static void
use_rec_net(struct t *t)
{
	vm_done(t->vm, &t->alloc);
	t->vm = NULL;
	rec_fini(&t->rec);
	rec_init(&t->rec, PAGE, true);
	vm_on(t, &t->rec.base);
}

/* ---- requests ------------------------------------------------------------- */

static void
log_op(void *priv, const struct gpuva_op *op)
{
	struct t *t = priv;
	char line[512];

	fx_op_text(op, line, sizeof(line));
	bfx_printf(&t->log, "%s\n", line);
}

static struct gpuva_bind *
begin(struct t *t, struct gpuva_vm *vm)
{
	struct gpuva_bind *txn = NULL;
	int ret = gpuva_bind_begin(vm, &txn);

	if (ret)
		fail_msg("begin: %d %s", ret, gpuva_vm_last_error(vm));
	gpuva_bind_set_op_fn(txn, log_op, t);
	return txn;
}

/* Add one request, logging it as replay does (its ops come from log_op). */
static int
req(struct t *t, struct gpuva_bind *txn, const struct rq *r)
{
	int ret;

	if (r->map) {
		struct gpuva_map_req m = {
			.addr = r->addr, .range = r->range,
			.bo = r->bo ? &t->bos[r->bo].base : NULL,
			.offset = r->offset, .driver_flags = r->df,
		};

		bfx_printf(&t->log, "> map 0x%" PRIx64 " 0x%" PRIx64 " %u 0x%"
			   PRIx64 "\n", r->addr, r->range, r->bo, r->offset);
		ret = gpuva_bind_map(txn, &m);
	} else {
		bfx_printf(&t->log, "> unmap 0x%" PRIx64 " 0x%" PRIx64 "\n",
			   r->addr, r->range);
		ret = gpuva_bind_unmap(txn, r->addr, r->range);
	}
	if (ret)
		bfx_printf(&t->log, "error %d\n", ret);
	return ret;
}

/* Add requests that must all be accepted. */
static void
reqs_ok(struct t *t, struct gpuva_bind *txn, const struct rq *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ret = req(t, txn, &r[i]);

		if (ret)
			fail_msg("request %zu: %d %s", i, ret,
				 gpuva_vm_last_error(t->vm));
	}
}

/* Commit @n requests on @vm as one batch that must succeed. */
static void
batch_on(struct t *t, struct gpuva_vm *vm, const struct rq *r, size_t n)
{
	struct gpuva_bind *txn = begin(t, vm);
	int ret;

	for (size_t i = 0; i < n; i++) {
		ret = req(t, txn, &r[i]);
		if (ret)
			fail_msg("request %zu: %d %s", i, ret,
				 gpuva_vm_last_error(vm));
	}
	ret = gpuva_bind_commit(txn, NULL);
	if (ret)
		fail_msg("commit: %d %s", ret, gpuva_vm_last_error(vm));
}

/* Set up state: each request committed alone; the log starts afresh. */
static void
given_on(struct t *t, struct gpuva_vm *vm, const struct rq *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		batch_on(t, vm, &r[i], 1);
	free(bfx_take(&t->log));
}

static void
given(struct t *t, const struct rq *r, size_t n)
{
	given_on(t, t->vm, r, n);
}

/* The log so far (and a fresh one from here). */
static char *
take_log(struct t *t)
{
	return bfx_take(&t->log);
}

/* ---- observing ------------------------------------------------------------- */

static char *
exact(struct t *t)
{
	return bfx_state(t->vm, t->bos, FX_NBOS, &t->alloc,
			 BFX_EXACT | BFX_DRIVER_FLAGS);
}

/* The state without object identities, to compare with another VM. */
static char *
shape(struct t *t, struct gpuva_vm *vm)
{
	return bfx_state(vm, t->bos, FX_NBOS, NULL, BFX_DRIVER_FLAGS);
}

static void
assert_text(const char *what, char *want, char *got)
{
	bfx_same(what, want, got);
	free(want);
	free(got);
}

#define assert_lines(what, got, ...) \
	assert_text((what), BFX_LINES(__VA_ARGS__), (got))
#define assert_no_lines(what, got) \
	assert_text((what), bfx_lines(NULL), (got))

static void
assert_unchanged(struct t *t, char *before)
{
	assert_text("VM states (before, now)", before, exact(t));
	if (gpuva_vm_check(t->vm))
		fail_msg("gpuva_vm_check: %s", gpuva_vm_last_error(t->vm));
}

/* The net effect the recording backend got last. */
static char *
rec_net(struct t *t)
{
	return bfx_net_text(t->rec.net, t->rec.nnet);
}

/*
 * The same requests one by one through ops.h on a VM without a backend,
 * after @given ones: the replay text of @r (requests and ops) and, if
 * @dump, the final dump.
 */
static char *
one_by_one(const struct rq *gv, size_t ng, const struct rq *r, size_t n,
	   char **dump)
{
	struct bfx_buf out = { 0 };
	void *p;
	struct fx *fx;

	assert_int_equal(fx_setup(&p), 0);
	fx = p;
	for (size_t i = 0; i < ng; i++)
		fx_given(fx, gv[i].addr, gv[i].range, gv[i].bo, gv[i].offset);
	for (size_t i = 0; i < n; i++) {
		int ret;

		if (r[i].map) {
			bfx_printf(&out, "> map 0x%" PRIx64 " 0x%" PRIx64 " %u 0x%"
				   PRIx64 "\n", r[i].addr, r[i].range, r[i].bo,
				   r[i].offset);
			ret = fx_map(fx, r[i].addr, r[i].range, r[i].bo,
				     r[i].offset);
		} else {
			bfx_printf(&out, "> unmap 0x%" PRIx64 " 0x%" PRIx64 "\n",
				   r[i].addr, r[i].range);
			ret = fx_unmap(fx, r[i].addr, r[i].range);
		}
		if (ret)
			bfx_printf(&out, "error %d\n", ret);
		else
			bfx_printf(&out, "%s", fx->log ? fx->log : "");
	}
	if (dump)
		*dump = fx_dump(fx);
	assert_int_equal(fx_teardown(&p), 0);
	return bfx_take(&out);
}

/*
 * The shape of a VM on @be after @gv and then @r, each request committed
 * in a transaction of its own: "the requests applied one at a time".
 */
static char *
shape_one_at_a_time(struct t *t, struct gpuva_backend *be, const struct rq *gv,
		    size_t ng, const struct rq *r, size_t n)
{
	struct bfx_alloc a = { 0 };
	struct gpuva_vm *ref = vm_create_on(be, VM_RANGE, &a);
	char *s;

	given_on(t, ref, gv, ng);
	given_on(t, ref, r, n);
	s = shape(t, ref);
	vm_done(ref, &a);
	return s;
}

/* ---- transactions ------------------------------------------------------------ */

static void
begin_on_a_vm_without_a_backend_is_einval(void **state)
{
	struct gpuva_vm_desc d = { .start = 0, .range = VM_RANGE };
	struct gpuva_bind *txn = NULL;
	struct gpuva_vm *vm;

	(void)state;
	assert_int_equal(gpuva_vm_create(&d, &vm), 0);
	assert_int_equal(gpuva_bind_begin(vm, &txn), -EINVAL);
	assert_null(txn);
	bfx_mentions(gpuva_vm_last_error(vm), "backend");
	gpuva_vm_destroy(vm);
}

static void
a_second_begin_while_a_transaction_is_open_is_ebusy(void **state)
{
	struct t *t = *state;
	struct gpuva_bind *txn, *second = NULL;

	vm_on(t, &t->rec.base);
	txn = begin(t, t->vm);
	assert_int_equal(gpuva_bind_begin(t->vm, &second), -EBUSY);
	assert_null(second);
	bfx_mentions(gpuva_vm_last_error(t->vm), "already open");
	gpuva_bind_abort(txn);
	gpuva_bind_abort(begin(t, t->vm));
	gpuva_bind_abort(NULL);
	assert_int_equal(t->rec.binds, 0);
}

static void
later_requests_see_the_earlier_ones_and_generate_the_ops_of_one_by_one(void **state)
{
	static const struct rq r[] = {
		MAP(0x10000, 0x30000, A, 0x0, 0),
		MAP(0x20000, 0x10000, B, 0x0, 0),
		UNMAP(0x18000, 0x10000),
	};
	struct t *t = *state;
	struct gpuva_bind *txn;
	char *ref_dump, *ref, *log, *dump;

	vm_on(t, &t->rec.base);
	txn = begin(t, t->vm);
	reqs_ok(t, txn, r, N(r));
	assert_int_equal(gpuva_bind_count(txn), 3);
	log = take_log(t);
	ref = one_by_one(NULL, 0, r, N(r), &ref_dump);
	bfx_same("ops, of the batch and one by one", ref, log);
	assert_lines("ops of the batch", log,
		     "> map 0x10000 0x30000 1 0x0",
		     "map 0x10000 0x30000 1 0x0",
		     "> map 0x20000 0x10000 2 0x0",
		     "remap 0x10000 0x30000 keep=0 prev=0x10000,0x10000,1,0x0 next=0x30000,0x10000,1,0x20000",
		     "map 0x20000 0x10000 2 0x0",
		     "> unmap 0x18000 0x10000",
		     "remap 0x10000 0x10000 keep=0 prev=0x10000,0x8000,1,0x0 next=-",
		     "remap 0x20000 0x10000 keep=0 prev=- next=0x28000,0x8000,2,0x8000");
	assert_int_equal(gpuva_bind_commit(txn, NULL), 0);
	/* the backend was handed the same ops, in the same order */
	assert_int_equal(t->rec.nops, 5);
	assert_lines("ops the backend got", strdup(t->rec.ops),
		     "map 0x10000 0x30000 1 0x0",
		     "remap 0x10000 0x30000 keep=0 prev=0x10000,0x10000,1,0x0 next=0x30000,0x10000,1,0x20000",
		     "map 0x20000 0x10000 2 0x0",
		     "remap 0x10000 0x10000 keep=0 prev=0x10000,0x8000,1,0x0 next=-",
		     "remap 0x20000 0x10000 keep=0 prev=- next=0x28000,0x8000,2,0x8000");
	dump = bfx_dump(t->vm);
	bfx_same("states, after the batch and one by one", ref_dump, dump);
	assert_lines("state after the commit", dump,
		     "va 0x10000 0x8000 1 0x0",
		     "va 0x28000 0x8000 2 0x8000",
		     "va 0x30000 0x10000 1 0x20000");
	free(ref);
	free(ref_dump);
}

static void
the_mirror_does_not_change_until_the_commit(void **state)
{
	static const struct rq gv[] = { MAP(0x10000, 0x4000, A, 0x0, 7) };
	static const struct rq r[] = {
		UNMAP(0x10000, 0x4000),
		MAP(0x40000, 0x1000, B, 0x0, 9),
	};
	struct t *t = *state;
	struct gpuva_va_info info;
	struct gpuva_bind *txn;
	struct gpuva *old;
	char *before;

	vm_on(t, &t->rec.base);
	given(t, gv, N(gv));
	before = bfx_dump(t->vm);
	old = gpuva_vm_find_at(t->vm, 0x10000);
	txn = begin(t, t->vm);
	reqs_ok(t, txn, r, N(r));
	/* lookups and iterators show the VM as before (the transaction holds
	 * B's new vm_bo already, so that linking at the commit cannot fail) */
	assert_text("mappings", before, bfx_dump(t->vm));
	assert_ptr_equal(gpuva_vm_find_at(t->vm, 0x13fff), old);
	assert_int_equal(gpuva_vm_count(t->vm), 1);
	assert_true(gpuva_vm_lookup(t->vm, 0x12000, &info));
	assert_int_equal(info.addr, 0x10000);
	assert_int_equal(info.range, 0x4000);
	assert_ptr_equal(info.bo, &t->bos[A].base);
	assert_int_equal(info.driver_flags, 7);
	assert_false(gpuva_vm_lookup(t->vm, 0x40000, &info));
	assert_int_equal(gpuva_bind_commit(txn, NULL), 0);
	assert_false(gpuva_vm_lookup(t->vm, 0x12000, &info));
	assert_true(gpuva_vm_lookup(t->vm, 0x40000, &info));
	assert_int_equal(info.driver_flags, 9);
}

/* A state with two BOs, A linked out of address order. */
static const struct rq linked_state[] = {
	MAP(0x30000, 0x2000, A, 0x2000, 1),
	MAP(0x20000, 0x2000, B, 0x0, 2),
	MAP(0x10000, 0x2000, A, 0x0, 1),
	MAP(0x50000, 0x1000, NOBO, 0x0, 3),
};

/* A batch that touches all of it: cuts, removes, a NULL map, a new BO. */
static const struct rq touching_batch[] = {
	MAP(0x11000, 0x20000, C, 0x0, 4),
	UNMAP(0x50000, 0x1000),
	MAP(0x60000, 0x3000, NOBO, 0x0, 5),
	MAP(0x70000, 0x1000, D, 0x1000, 6),
	UNMAP(0x12000, 0x1000),
};

static void
an_aborted_transaction_leaves_the_vm_exactly_as_before_begin(void **state)
{
	struct t *t = *state;
	struct gpuva_bind *txn;
	char *before;

	vm_on(t, &t->rec.base);
	given(t, linked_state, N(linked_state));
	/* A's link order is not its address order: rollback must keep it */
	assert_int_equal(gpuva_vm_bo_find(t->vm, &t->bos[A].base)->first->addr,
			 0x30000);
	before = exact(t);
	txn = begin(t, t->vm);
	reqs_ok(t, txn, touching_batch, N(touching_batch));
	gpuva_bind_abort(txn);
	assert_unchanged(t, before);
	assert_int_equal(t->rec.binds, N(linked_state));
	assert_null(gpuva_vm_bo_find(t->vm, &t->bos[D].base));
}

static void
a_failed_commit_leaves_the_vm_exactly_as_before_begin_and_says_why(void **state)
{
	struct t *t = *state;
	struct gpuva_commit c = { 0 };
	struct gpuva_bind *txn;
	char *before;

	vm_on(t, &t->rec.base);
	given(t, linked_state, N(linked_state));
	before = exact(t);
	txn = begin(t, t->vm);
	reqs_ok(t, txn, touching_batch, N(touching_batch));
	rec_answer(&t->rec, -EIO, GPUVA_BIND_NOTHING, 0, 0);
	assert_int_equal(gpuva_bind_commit(txn, &c), -EIO);
	assert_unchanged(t, before);
	bfx_mentions(gpuva_vm_last_error(t->vm), "rec: bind call");
	assert_int_equal(c.applied_unit, GPUVA_BIND_NOTHING);
	assert_int_equal(c.applied, 0);
	assert_int_equal(c.net_count, t->rec.nnet);
	assert_int_equal(t->rec.nreqs, N(touching_batch));
	/* not lost: the VM takes the next transaction */
	assert_false(gpuva_vm_is_lost(t->vm));
	batch_on(t, t->vm, touching_batch, N(touching_batch));
}

static void
a_partial_success_of_k_requests_leaves_exactly_the_first_k_applied(void **state)
{
	static const struct rq gv[] = { MAP(0x10000, 0x4000, A, 0x0, 1) };
	static const struct rq r[] = {
		MAP(0x12000, 0x4000, B, 0x0, 2),
		UNMAP(0x11000, 0x2000),
		MAP(0x20000, 0x1000, NOBO, 0x0, 3),
		MAP(0x13000, 0x1000, A, 0x3000, 1),
	};
	struct t *t = *state;

	for (size_t k = 0; k <= N(r); k++) {
		struct gpuva_commit c = { 0 };
		struct gpuva_bind *txn;

		vm_on(t, &t->rec.base);
		given(t, gv, N(gv));
		txn = begin(t, t->vm);
		reqs_ok(t, txn, r, N(r));
		rec_answer(&t->rec, -EIO, GPUVA_BIND_REQUESTS, k, 0);
		assert_int_equal(gpuva_bind_commit(txn, &c), -EIO);
		assert_int_equal(c.applied_unit, GPUVA_BIND_REQUESTS);
		assert_int_equal(c.applied, k);
		assert_text("states, k requests landed and applied one at a time",
			    shape_one_at_a_time(t, &t->rec.base, gv, N(gv), r, k),
			    shape(t, t->vm));
		assert_int_equal(gpuva_vm_check(t->vm), 0);
		assert_int_equal(t->alloc.live_vas, (long)gpuva_vm_count(t->vm));
	}
	/* the last one, all four landed, spelled out */
	assert_lines("state after all four", bfx_dump(t->vm),
		     "va 0x10000 0x1000 1 0x0",
		     "va 0x13000 0x1000 1 0x3000",
		     "va 0x14000 0x2000 2 0x2000",
		     "va 0x20000 0x1000 0 0x0");
}

/* A batch whose net effect has one entry of each kind. */
static const struct rq three_kinds_given[] = { MAP(0x10000, 0x4000, A, 0x0, 0) };
static const struct rq three_kinds[] = {
	UNMAP(0x10000, 0x4000),
	MAP(0x20000, 0x3000, B, 0x0, 0),
	MAP(0x30000, 0x2000, NOBO, 0x0, 0),
};

/* Commit three_kinds on a fresh VM, the backend applying k entries + bytes. */
static int
three_kinds_partly(struct t *t, size_t k, uint64_t bytes, struct gpuva_commit *c)
{
	struct gpuva_bind *txn;

	vm_on(t, &t->rec.base);
	given(t, three_kinds_given, N(three_kinds_given));
	txn = begin(t, t->vm);
	reqs_ok(t, txn, three_kinds, N(three_kinds));
	rec_answer(&t->rec, -EIO, GPUVA_BIND_NET, k, bytes);
	return gpuva_bind_commit(txn, c);
}

static void
a_partial_success_of_k_net_entries_and_some_bytes_leaves_exactly_those_applied(void **state)
{
	static const struct {
		size_t k;
		uint64_t bytes;
		const char *dump;
	} cases[] = {
		{ 0, 0, "va 0x10000 0x4000 1 0x0\n" },
		{ 0, 0x1000, "va 0x11000 0x3000 1 0x1000\n" },
		{ 1, 0, "" },
		{ 1, 0x2000, "va 0x20000 0x2000 2 0x0\n" },
		{ 2, 0x1000, "va 0x20000 0x3000 2 0x0\nva 0x30000 0x1000 0 0x0\n" },
		{ 3, 0, "va 0x20000 0x3000 2 0x0\nva 0x30000 0x2000 0 0x0\n" },
	};
	struct t *t = *state;

	use_rec_net(t);
	for (size_t i = 0; i < N(cases); i++) {
		struct gpuva_commit c = { 0 };

		assert_int_equal(three_kinds_partly(t, cases[i].k, cases[i].bytes, &c),
				 -EIO);
		assert_lines("net effect", rec_net(t),
			     "unmap 0x10000 0x4000",
			     "map 0x20000 0x3000 2 0x0 df=0x0",
			     "null 0x30000 0x2000 df=0x0");
		assert_int_equal(c.applied_unit, GPUVA_BIND_NET);
		assert_int_equal(c.applied, cases[i].k);
		assert_int_equal(c.applied_bytes, cases[i].bytes);
		assert_false(gpuva_vm_is_lost(t->vm));
		assert_text("state", strdup(cases[i].dump), bfx_dump(t->vm));
		assert_int_equal(gpuva_vm_check(t->vm), 0);
		assert_int_equal(t->alloc.live_vas, (long)gpuva_vm_count(t->vm));
	}
}

/* A state text as it reads once the VM is lost (info's "lost=1"). */
static char *
as_lost(char *s)
{
	char *p = strstr(s, " lost=0");

	assert_non_null(p);
	p[6] = '1';
	return s;
}

static void
an_impossible_partial_result_loses_the_vm(void **state)
{
	static const struct {
		uint32_t unit;
		size_t applied;
		uint64_t bytes;
		bool net_backend;
	} cases[] = {
		{ GPUVA_BIND_REQUESTS, 4, 0, false },	/* of 3 requests */
		{ GPUVA_BIND_NET, 1, 0, false },	/* not PARTIAL_NET */
		{ 7, 0, 0, false },			/* no such unit */
		{ GPUVA_BIND_NET, 4, 0, true },		/* of 3 entries */
		{ GPUVA_BIND_NET, 3, 0x1000, true },	/* bytes of none */
		{ GPUVA_BIND_NET, 0, 0x4000, true },	/* the whole entry */
		{ GPUVA_BIND_NET, 1, 0x800, true },	/* half a page */
	};
	struct t *t = *state;

	for (size_t i = 0; i < N(cases); i++) {
		struct gpuva_bind *txn;
		char *before;

		if (cases[i].net_backend && !(t->rec.base.ops->caps &
					      GPUVA_BACKEND_PARTIAL_NET))
			use_rec_net(t);
		vm_on(t, &t->rec.base);
		given(t, three_kinds_given, N(three_kinds_given));
		before = exact(t);
		txn = begin(t, t->vm);
		reqs_ok(t, txn, three_kinds, N(three_kinds));
		rec_answer(&t->rec, -EIO, cases[i].unit, cases[i].applied,
			   cases[i].bytes);
		assert_int_equal(gpuva_bind_commit(txn, NULL), -EPIPE);
		bfx_mentions(gpuva_vm_last_error(t->vm), "impossible");
		assert_true(gpuva_vm_is_lost(t->vm));
		/* the mirror is as before; only "lost" changed */
		assert_unchanged(t, as_lost(before));
	}
}

static void
keep_reason(void *priv, const char *reason)
{
	snprintf(priv, 256, "%s", reason);
}

static void
a_lost_vm_is_sticky_and_every_call_says_so(void **state)
{
	struct t *t = *state;
	char reason[256];
	struct gpuva_bind *txn, *again = NULL;
	struct gpuva_vm_info info;
	struct gpuva_commit c = { 0 };
	struct gpuva_heap *heap, *none = NULL;
	struct gpuva_heap_stats hs0, hs1;
	uint64_t addr, other = 0;
	char *before;

	vm_on(t, &t->rec.base);
	given(t, linked_state, N(linked_state));
	assert_int_equal(gpuva_vm_alloc_addr(t->vm, 0x10000, PAGE, 0, &addr), 0);
	assert_int_equal(gpuva_vm_get_heap(t->vm, &heap), 0);
	gpuva_heap_get_stats(heap, &hs0);
	before = exact(t);
	txn = begin(t, t->vm);
	reqs_ok(t, txn, touching_batch, N(touching_batch));
	rec_answer(&t->rec, -EPIPE, GPUVA_BIND_NOTHING, 0, 0);
	assert_int_equal(gpuva_bind_commit(txn, &c), -EPIPE);
	bfx_mentions(gpuva_vm_last_error(t->vm), "lost");
	assert_int_equal(c.applied_unit, GPUVA_BIND_NOTHING);
	assert_true(gpuva_vm_is_lost(t->vm));
	gpuva_vm_get_info(t->vm, &info);
	assert_true(info.lost);
	assert_unchanged(t, as_lost(before));

	/* sticky: every call that can fail now fails the same way, and the
	 * reason reaches the log callback too */
	gpuva_vm_set_log_fn(t->vm, keep_reason, reason);
	for (int i = 0; i < 2; i++) {
		reason[0] = '\0';
		assert_int_equal(gpuva_bind_begin(t->vm, &again), -EPIPE);
		assert_null(again);
		bfx_mentions(gpuva_vm_last_error(t->vm), "lost");
		bfx_mentions(reason, "lost");
		reason[0] = '\0';
		assert_int_equal(gpuva_vm_wait_idle(t->vm, 0), -EPIPE);
		bfx_mentions(gpuva_vm_last_error(t->vm), "lost");
		bfx_mentions(reason, "lost");
		/* the VM's heap too: its addresses belong to a dead VM */
		assert_int_equal(gpuva_vm_alloc_addr(t->vm, 0x1000, PAGE, 0, &other),
				 -EPIPE);
		bfx_mentions(gpuva_vm_last_error(t->vm), "lost");
		assert_int_equal(other, 0);
		assert_int_equal(gpuva_vm_free_addr(t->vm, addr, 0x10000), -EPIPE);
		bfx_mentions(gpuva_vm_last_error(t->vm), "lost");
		assert_int_equal(gpuva_vm_get_heap(t->vm, &none), -EPIPE);
		bfx_mentions(reason, "lost");
		assert_null(none);
	}
	gpuva_heap_get_stats(heap, &hs1);
	assert_memory_equal(&hs0, &hs1, sizeof(hs0));
	assert_false(gpuva_heap_is_free(heap, addr, 0x10000));
	assert_int_equal(t->rec.binds, N(linked_state) + 1);
}

/* ---- allocation failures --------------------------------------------------- */

/* Allocations (va_alloc and vm_bo_alloc calls) @r takes on the VM. */
static unsigned long
allocations_of(struct t *t, const struct rq *r, size_t n)
{
	unsigned long c0 = t->alloc.calls;
	struct gpuva_bind *txn = begin(t, t->vm);

	reqs_ok(t, txn, r, n);
	gpuva_bind_abort(txn);
	free(take_log(t));
	return t->alloc.calls - c0;
}

static void
an_allocation_failure_in_a_request_is_enomem_and_the_transaction_goes_on(void **state)
{
	static const struct rq gv[] = { MAP(0x10000, 0x4000, A, 0x0, 0) };
	static const struct rq r[] = {
		MAP(0x11000, 0x1000, B, 0x0, 1),	/* a new vm_bo, a split */
		UNMAP(0x13000, 0x1000),
		MAP(0x30000, 0x2000, C, 0x0, 2),
		MAP(0x10000, 0x1000, NOBO, 0x0, 3),
		MAP(0x31000, 0x4000, B, 0x4000, 4),
	};
	struct t *t = *state;
	unsigned long total;

	vm_on(t, &t->rec.base);
	given(t, gv, N(gv));
	total = allocations_of(t, r, N(r));
	assert_true(total >= N(r));
	for (unsigned long n = 1; n <= total + 1; n++) {
		for (int commit = 0; commit < 2; commit++) {
			struct rq kept[N(r)];
			size_t nkept = 0, failed = 0;
			struct gpuva_bind *txn;
			char *before;

			vm_on(t, &t->rec.base);
			given(t, gv, N(gv));
			before = exact(t);
			txn = begin(t, t->vm);
			bfx_alloc_fail_in(&t->alloc, n);
			for (size_t i = 0; i < N(r); i++) {
				size_t count = gpuva_bind_count(txn);
				int ret = req(t, txn, &r[i]);

				if (ret == 0) {
					kept[nkept++] = r[i];
					continue;
				}
				assert_int_equal(ret, -ENOMEM);
				bfx_mentions(gpuva_vm_last_error(t->vm), "out of memory");
				assert_int_equal(gpuva_bind_count(txn), count);
				failed++;
			}
			free(take_log(t));
			/* exactly the one allocation failed, until there is none */
			assert_int_equal(failed, n <= total ? 1 : 0);
			if (!commit) {
				gpuva_bind_abort(txn);
				assert_unchanged(t, before);
				continue;
			}
			free(before);
			assert_int_equal(gpuva_bind_commit(txn, NULL), 0);
			assert_text("states, after the batch and its accepted "
				    "requests one at a time",
				    shape_one_at_a_time(t, &t->rec.base, gv, N(gv),
							kept, nkept),
				    shape(t, t->vm));
		}
	}
}

static void
an_allocation_failure_at_the_commit_is_enomem_before_the_backend_call(void **state)
{
	static const struct rq gv[] = { MAP(0x10000, 0x4000, A, 0x0, 0) };
	static const struct rq r[] = {
		MAP(0x20000, 0x1000, B, 0x0, 0),
		UNMAP(0x10000, 0x1000),
	};
	struct t *t = *state;
	unsigned long total, c0;
	struct gpuva_bind *txn;

	/* a backend that may report partial net effects makes the commit
	 * take the mappings replaying them could need */
	use_rec_net(t);
	given(t, gv, N(gv));
	txn = begin(t, t->vm);
	reqs_ok(t, txn, r, N(r));
	c0 = t->alloc.calls;
	assert_int_equal(gpuva_bind_commit(txn, NULL), 0);
	total = t->alloc.calls - c0;
	assert_int_equal(t->rec.nnet, 2);
	assert_int_equal(total, 3 * t->rec.nnet);
	for (unsigned long n = 1; n <= total; n++) {
		unsigned binds;
		char *before;

		vm_on(t, &t->rec.base);
		given(t, gv, N(gv));
		before = exact(t);
		binds = t->rec.binds;
		txn = begin(t, t->vm);
		reqs_ok(t, txn, r, N(r));
		bfx_alloc_fail_in(&t->alloc, n);
		assert_int_equal(gpuva_bind_commit(txn, NULL), -ENOMEM);
		bfx_mentions(gpuva_vm_last_error(t->vm), "out of memory");
		assert_int_equal(t->rec.binds, binds);
		assert_unchanged(t, before);
	}
}

/* ---- the net effect --------------------------------------------------------- */

/* Commit @r as one batch on the recording backend; return its net effect. */
static char *
net_of(struct t *t, const struct rq *r, size_t n)
{
	batch_on(t, t->vm, r, n);
	free(take_log(t));
	return rec_net(t);
}

static void
the_net_effect_is_sorted_by_address_whatever_the_order_of_the_requests(void **state)
{
	static const struct rq r[] = {
		MAP(0x30000, 0x1000, C, 0x0, 0),
		MAP(0x10000, 0x1000, A, 0x0, 0),
		MAP(0x20000, 0x1000, B, 0x0, 0),
	};
	struct t *t = *state;

	vm_on(t, &t->rec.base);
	assert_lines("net effect", net_of(t, r, N(r)),
		     "map 0x10000 0x1000 1 0x0 df=0x0",
		     "map 0x20000 0x1000 2 0x0 df=0x0",
		     "map 0x30000 0x1000 3 0x0 df=0x0");
	/* the requests themselves reach the backend as they came */
	assert_int_equal(t->rec.nreqs, 3);
	assert_int_equal(t->rec.reqs[0].addr, 0x30000);
	assert_int_equal(t->rec.reqs[0].kind, GPUVA_BIND_MAP);
	assert_int_equal(t->rec.reqs[2].addr, 0x20000);
}

static void
a_page_bound_and_unbound_in_one_batch_costs_nothing(void **state)
{
	static const struct rq r[] = {
		MAP(0x10000, 0x2000, A, 0x0, 0),
		UNMAP(0x10000, 0x2000),
	};
	struct t *t = *state;
	struct gpuva_commit c = { .net_count = 99 };
	struct gpuva_bind *txn;

	vm_on(t, &t->rec.base);
	txn = begin(t, t->vm);
	reqs_ok(t, txn, r, N(r));
	assert_int_equal(gpuva_bind_commit(txn, &c), 0);
	assert_int_equal(c.net_count, 0);
	assert_no_lines("net effect", rec_net(t));
	/* still one call, with the requests and their ops */
	assert_int_equal(t->rec.binds, 1);
	assert_int_equal(t->rec.nreqs, 2);
	assert_lines("ops", strdup(t->rec.ops),
		     "map 0x10000 0x2000 1 0x0",
		     "unmap 0x10000 0x2000 1 0x0 keep=0");
	assert_int_equal(gpuva_vm_count(t->vm), 0);
}

static void
an_identical_remap_costs_nothing(void **state)
{
	static const struct rq gv[] = { MAP(0x10000, 0x4000, A, 0x0, 1) };
	struct t *t = *state;

	vm_on(t, &t->rec.base);
	given(t, gv, N(gv));
	assert_no_lines("net effect", net_of(t, gv, N(gv)));
	assert_lines("ops", strdup(t->rec.ops),
		     "unmap 0x10000 0x4000 1 0x0 keep=1",
		     "map 0x10000 0x4000 1 0x0");
}

static void
ranges_the_batch_leaves_as_they_were_are_dropped(void **state)
{
	static const struct rq gv[] = { MAP(0x10000, 0x8000, A, 0x0, 0) };
	static const struct rq put_back[] = {
		UNMAP(0x12000, 0x2000),
		MAP(0x12000, 0x2000, A, 0x2000, 0),
	};
	static const struct rq halve[] = {
		UNMAP(0x10000, 0x8000),
		MAP(0x10000, 0x4000, A, 0x0, 0),
	};
	struct t *t = *state;

	vm_on(t, &t->rec.base);
	given(t, gv, N(gv));
	assert_no_lines("net effect, a range put back", net_of(t, put_back,
								 N(put_back)));
	assert_lines("net effect, the first half put back", net_of(t, halve,
								     N(halve)),
		     "unmap 0x14000 0x4000");
}

static void
a_change_of_driver_flags_alone_is_an_entry(void **state)
{
	static const struct rq gv[] = { MAP(0x10000, 0x2000, A, 0x0, 1) };
	static const struct rq r[] = { MAP(0x10000, 0x2000, A, 0x0, 2) };
	struct t *t = *state;

	vm_on(t, &t->rec.base);
	given(t, gv, N(gv));
	assert_lines("net effect", net_of(t, r, N(r)),
		     "map 0x10000 0x2000 1 0x0 df=0x2");
}

static void
neighbours_of_one_bo_with_contiguous_offsets_and_equal_driver_flags_merge(void **state)
{
	static const struct rq merge[] = {
		MAP(0x10000, 0x2000, A, 0x0, 1),
		MAP(0x12000, 0x2000, A, 0x2000, 1),
	};
	static const struct rq other_flags[] = {
		MAP(0x20000, 0x2000, A, 0x0, 1),
		MAP(0x22000, 0x2000, A, 0x2000, 2),
	};
	static const struct rq offset_gap[] = {
		MAP(0x30000, 0x2000, A, 0x0, 0),
		MAP(0x32000, 0x2000, A, 0x4000, 0),
	};
	static const struct rq other_bo[] = {
		MAP(0x40000, 0x2000, A, 0x0, 0),
		MAP(0x42000, 0x2000, B, 0x2000, 0),
	};
	static const struct rq address_gap[] = {
		MAP(0x50000, 0x2000, A, 0x0, 0),
		MAP(0x53000, 0x2000, A, 0x2000, 0),
	};
	static const struct rq gv[] = { MAP(0x60000, 0x2000, A, 0x0, 1) };
	static const struct rq grow[] = { MAP(0x62000, 0x2000, A, 0x2000, 1) };
	struct t *t = *state;

	vm_on(t, &t->rec.base);
	assert_lines("net effect, merged", net_of(t, merge, N(merge)),
		     "map 0x10000 0x4000 1 0x0 df=0x1");
	assert_lines("net effect, other driver flags",
		     net_of(t, other_flags, N(other_flags)),
		     "map 0x20000 0x2000 1 0x0 df=0x1",
		     "map 0x22000 0x2000 1 0x2000 df=0x2");
	assert_lines("net effect, offsets not contiguous",
		     net_of(t, offset_gap, N(offset_gap)),
		     "map 0x30000 0x2000 1 0x0 df=0x0",
		     "map 0x32000 0x2000 1 0x4000 df=0x0");
	assert_lines("net effect, another BO", net_of(t, other_bo, N(other_bo)),
		     "map 0x40000 0x2000 1 0x0 df=0x0",
		     "map 0x42000 0x2000 2 0x2000 df=0x0");
	assert_lines("net effect, not neighbours",
		     net_of(t, address_gap, N(address_gap)),
		     "map 0x50000 0x2000 1 0x0 df=0x0",
		     "map 0x53000 0x2000 1 0x2000 df=0x0");
	/* a neighbour that was there before is left out: it did not change */
	given(t, gv, N(gv));
	assert_lines("net effect, growing a mapping", net_of(t, grow, N(grow)),
		     "map 0x62000 0x2000 1 0x2000 df=0x1");
}

static void
null_ranges_are_their_own_kind(void **state)
{
	static const struct rq nulls[] = {
		MAP(0x10000, 0x2000, NOBO, 0x0, 0),
		MAP(0x12000, 0x2000, NOBO, 0x0, 0),
	};
	static const struct rq gv[] = {
		MAP(0x20000, 0x1000, A, 0x0, 0),
		MAP(0x21000, 0x1000, B, 0x0, 0),
	};
	static const struct rq r[] = {
		UNMAP(0x20000, 0x2000),
		MAP(0x22000, 0x1000, NOBO, 0x0, 0),
		MAP(0x30000, 0x1000, A, 0x0, 0),
		MAP(0x31000, 0x1000, NOBO, 0x1000, 0),
	};
	struct t *t = *state;

	vm_on(t, &t->rec.base);
	/* a NULL mapping's offset is not used: neighbours merge anyway */
	assert_lines("net effect, NULL neighbours", net_of(t, nulls, N(nulls)),
		     "null 0x10000 0x4000 df=0x0");
	given(t, gv, N(gv));
	/* unmaps of two BOs merge; an unmap, a NULL map and a BO map do not */
	assert_lines("net effect, three kinds side by side", net_of(t, r, N(r)),
		     "unmap 0x20000 0x2000",
		     "null 0x22000 0x1000 df=0x0",
		     "map 0x30000 0x1000 1 0x0 df=0x0",
		     "null 0x31000 0x1000 df=0x0");
}

static void
a_request_inside_another_gives_three_entries_for_two_requests(void **state)
{
	/* the known error of issue #12: the net effect can be longer than
	 * the request list; the bound is 2r - 1 */
	static const struct rq r[] = {
		MAP(0x10000, 0xa000, A, 0x0, 0),
		MAP(0x14000, 0x2000, B, 0x0, 0),
	};
	struct t *t = *state;
	struct gpuva_commit c = { 0 };
	struct gpuva_bind *txn;

	vm_on(t, &t->rec.base);
	txn = begin(t, t->vm);
	reqs_ok(t, txn, r, N(r));
	assert_int_equal(gpuva_bind_commit(txn, &c), 0);
	assert_lines("net effect", rec_net(t),
		     "map 0x10000 0x4000 1 0x0 df=0x0",
		     "map 0x14000 0x2000 2 0x0 df=0x0",
		     "map 0x16000 0x4000 1 0x6000 df=0x0");
	assert_int_equal(c.net_count, 3);
	assert_int_equal(c.net_count, 2 * N(r) - 1);
}

/*
 * A request that cuts many mappings grows the transaction's logs while it
 * walks them; when that runs out of memory the request fails like any
 * other (bind.h: "A request that fails (-EINVAL, -ENOMEM) changes nothing
 * either, and the transaction stays usable").
 */
/* Begin without an op callback: only the library reallocs from here on. */
static struct gpuva_bind *
begin_quiet(struct gpuva_vm *vm)
{
	struct gpuva_bind *txn = NULL;

	assert_int_equal(gpuva_bind_begin(vm, &txn), 0);
	return txn;
}

/* A new VM under test with 48 one-page mappings, every other page. */
static void
forty_eight_mappings(struct t *t)
{
	vm_on(t, &t->rec.base);
	for (uint64_t i = 0; i < 48; i++) {
		const struct rq r = MAP(0x10000 + 2 * i * PAGE, PAGE,
					i % 2 ? A : B, i * PAGE, 0);

		given(t, &r, 1);
	}
}

static void
running_out_of_memory_inside_a_big_request_leaves_the_transaction_usable(void **state)
{
	struct t *t = *state;
	struct gpuva_map_req after = {
		.addr = 0x80000, .range = PAGE, .bo = &t->bos[A].base,
	};
	struct gpuva_bind *txn;
	unsigned long total;
	char *before;

	/* how many reallocs the big unmap makes (a VM keeps a transaction's
	 * memory for the next one: each try starts on a new VM) */
	forty_eight_mappings(t);
	reallocs = 0;
	realloc_fail_at = ~0ul;
	txn = begin_quiet(t->vm);
	assert_int_equal(gpuva_bind_unmap(txn, 0x10000, 0x60000), 0);
	gpuva_bind_abort(txn);
	total = reallocs;
	assert_true(total > 0);
	for (unsigned long n = 1; n <= total; n++) {
		size_t count;
		int ret, next;

		forty_eight_mappings(t);
		before = exact(t);
		txn = begin_quiet(t->vm);
		reallocs = 0;
		realloc_fail_at = n;
		ret = gpuva_bind_unmap(txn, 0x10000, 0x60000);
		realloc_fail_at = 0;
		assert_int_equal(ret, -ENOMEM);
		bfx_mentions(gpuva_vm_last_error(t->vm), "out of memory");
		/* not part of the transaction, which takes the next request */
		count = gpuva_bind_count(txn);
		next = gpuva_bind_map(txn, &after);
		if (count || next)
			print_error("realloc %lu of %lu failed: %zu requests counted; "
				    "the next request: %d %s\n", n, total, count,
				    next, gpuva_vm_last_error(t->vm));
		gpuva_bind_abort(txn);
		/* either way, the abort leaves the VM as it was */
		assert_unchanged(t, before);
		assert_int_equal(count, 0);
		assert_int_equal(next, 0);
	}
}

/* ---- requests, flags, the allocator --------------------------------------- */

/*
 * Unchanged pages between two changes of one entry stay in it: dropping
 * them would cut the entry in two and break the bound of 2r - 1 (each
 * case here is one request).
 */
static void
one_unmap_over_two_mappings_and_the_hole_between_is_one_entry(void **state)
{
	static const struct rq gv[] = {
		MAP(0x10000, 0x1000, A, 0x0, 0),
		MAP(0x12000, 0x1000, B, 0x0, 0),
	};
	static const struct rq r[] = { UNMAP(0x10000, 0x4000) };
	struct t *t = *state;

	vm_on(t, &t->rec.base);
	given(t, gv, N(gv));
	/* the hole at 0x13000 after the last mapping is left out */
	assert_lines("net effect", net_of(t, r, N(r)),
		     "unmap 0x10000 0x3000");
}

static void
a_map_over_pages_that_already_hold_it_is_one_entry(void **state)
{
	static const struct rq gv[] = {
		MAP(0x11000, 0x1000, A, 0x1000, 0),
		MAP(0x13000, 0x1000, A, 0x3000, 0),
		MAP(0x20000, 0x1000, A, 0x1000, 0),
		MAP(0x41000, 0x1000, B, 0x0, 0),
	};
	static const struct rq r[] = {
		MAP(0x10000, 0x4000, A, 0x0, 0),
		/* ends on a page that already holds it: that one is left out */
		MAP(0x1f000, 0x2000, A, 0x0, 0),
	};
	static const struct rq between[] = {
		/* the page in between ends up as it was, but does not hold
		 * what the entry maps: two entries */
		MAP(0x40000, 0x3000, A, 0x0, 0),
		MAP(0x41000, 0x1000, B, 0x0, 0),
	};
	struct t *t = *state;

	vm_on(t, &t->rec.base);
	given(t, gv, N(gv));
	assert_lines("net effect", net_of(t, r, N(r)),
		     "map 0x10000 0x3000 1 0x0 df=0x0",
		     "map 0x1f000 0x1000 1 0x0 df=0x0");
	assert_lines("net effect, another BO in between",
		     net_of(t, between, N(between)),
		     "map 0x40000 0x1000 1 0x0 df=0x0",
		     "map 0x42000 0x1000 1 0x2000 df=0x0");
}

static void
a_rejected_request_changes_nothing_and_the_transaction_stays_usable(void **state)
{
	static const struct rq bad[] = {
		MAP(0xff000, 0x2000, A, 0x0, 0),	/* outside the VM */
		MAP(0x10800, 0x1000, A, 0x0, 0),	/* not page aligned */
		MAP(0x10000, 0x1000, A, 0x800, 0),	/* offset not aligned */
		UNMAP(0x10000, 0x0),			/* zero range */
		MAP(0x10000, 0x1000, B, 0x0, REC_REFUSE), /* the backend's rule */
	};
	static const char *const why[] = {
		"outside the VM", "page size", "page size", "range is zero",
		"rec: request 1: driver flags",
	};
	static const struct rq good[] = {
		MAP(0x10000, 0x4000, A, 0x0, 0),
		UNMAP(0x11000, 0x1000),
	};
	struct t *t = *state;
	struct gpuva_bind *txn;
	char *before;

	vm_on(t, &t->rec.base);
	txn = begin(t, t->vm);
	assert_int_equal(req(t, txn, &good[0]), 0);
	assert_int_equal(t->rec.checked, 1);
	assert_int_equal(t->rec.check_index, 0);
	before = exact(t);
	for (size_t i = 0; i < N(bad); i++) {
		assert_int_equal(req(t, txn, &bad[i]), -EINVAL);
		bfx_mentions(gpuva_vm_last_error(t->vm), why[i]);
		assert_int_equal(gpuva_bind_count(txn), 1);
	}
	/* the backend's check() saw only what passed the library's rules,
	 * with the position the request would have had */
	assert_int_equal(t->rec.checked, 2);
	assert_int_equal(t->rec.check_index, 1);
	/* no vm_bo left behind for B, no mapping taken */
	assert_unchanged(t, before);
	assert_int_equal(req(t, txn, &good[1]), 0);
	assert_int_equal(gpuva_bind_count(txn), 2);
	assert_int_equal(gpuva_bind_commit(txn, NULL), 0);
	/* rejected requests generated nothing; the next one saw the first */
	assert_lines("requests and ops", take_log(t),
		     "> map 0x10000 0x4000 1 0x0",
		     "map 0x10000 0x4000 1 0x0",
		     "> map 0xff000 0x2000 1 0x0",
		     "error -22",
		     "> map 0x10800 0x1000 1 0x0",
		     "error -22",
		     "> map 0x10000 0x1000 1 0x800",
		     "error -22",
		     "> unmap 0x10000 0x0",
		     "error -22",
		     "> map 0x10000 0x1000 2 0x0",
		     "error -22",
		     "> unmap 0x11000 0x1000",
		     "remap 0x10000 0x4000 keep=0 prev=0x10000,0x1000,1,0x0 next=0x12000,0x2000,1,0x2000");
	assert_lines("state", bfx_dump(t->vm),
		     "va 0x10000 0x1000 1 0x0",
		     "va 0x12000 0x2000 1 0x2000");
	assert_int_equal(t->rec.nreqs, 2);
}

static void
the_op_callback_sees_each_op_before_it_is_applied_until_it_is_unset(void **state)
{
	static const struct rq gv[] = { MAP(0x10000, 0x2000, A, 0x0, 0) };
	static const struct rq r[] = {
		UNMAP(0x10000, 0x1000),
		MAP(0x20000, 0x1000, B, 0x0, 0),
	};
	struct t *t = *state;
	struct gpuva_bind *txn;

	vm_on(t, &t->rec.base);
	given(t, gv, N(gv));
	txn = begin(t, t->vm);
	/* logged during the call: the old mapping is still whole then */
	assert_int_equal(req(t, txn, &r[0]), 0);
	assert_lines("ops so far", take_log(t),
		     "> unmap 0x10000 0x1000",
		     "remap 0x10000 0x2000 keep=0 prev=- next=0x11000,0x1000,1,0x1000");
	gpuva_bind_set_op_fn(txn, NULL, NULL);
	assert_int_equal(req(t, txn, &r[1]), 0);
	assert_lines("ops without a callback", take_log(t),
		     "> map 0x20000 0x1000 2 0x0");
	assert_int_equal(gpuva_bind_commit(txn, NULL), 0);
	/* the backend gets every op all the same */
	assert_int_equal(t->rec.nops, 2);
}

static void
driver_flags_reach_the_backend_untouched_and_stay_with_the_mapping(void **state)
{
	static const struct rq r[] = {
		MAP(0x10000, 0x4000, A, 0x0, 0x5a5a0001),
		MAP(0x20000, 0x1000, NOBO, 0x0, 0x40000000),
	};
	static const struct rq split[] = {
		UNMAP(0x11000, 0x1000),
		MAP(0x13000, 0x1000, B, 0x0, 0x22),
	};
	struct t *t = *state;
	struct gpuva_va_info info;
	struct gpuva *va;

	vm_on(t, &t->rec.base);
	batch_on(t, t->vm, r, N(r));
	assert_int_equal(t->rec.reqs[0].driver_flags, 0x5a5a0001);
	assert_int_equal(t->rec.reqs[1].driver_flags, 0x40000000);
	assert_lines("net effect", rec_net(t),
		     "map 0x10000 0x4000 1 0x0 df=0x5a5a0001",
		     "null 0x20000 0x1000 df=0x40000000");
	va = gpuva_vm_find_at(t->vm, 0x10000);
	assert_non_null(va);
	assert_int_equal(gpuva_driver_flags(va), 0x5a5a0001);
	assert_true(gpuva_vm_lookup(t->vm, 0x20fff, &info));
	assert_int_equal(info.driver_flags, 0x40000000);
	assert_null(info.bo);

	/* the pieces of a cut mapping keep its flags; the new one has its own */
	batch_on(t, t->vm, split, N(split));
	assert_lines("net effect of the cut", rec_net(t),
		     "unmap 0x11000 0x1000",
		     "map 0x13000 0x1000 2 0x0 df=0x22");
	for (uint64_t a = 0x10000; a < 0x14000; a += PAGE) {
		bool mapped = gpuva_vm_lookup(t->vm, a, &info);

		assert_int_equal(mapped, a != 0x11000);
		if (mapped)
			assert_int_equal(info.driver_flags,
					 a == 0x13000 ? 0x22 : 0x5a5a0001);
	}
}

static void
mappings_a_batch_removes_go_back_to_the_allocator_only_at_its_commit(void **state)
{
	static const struct rq gv[] = {
		MAP(0x10000, 0x4000, A, 0x0, 0),
		MAP(0x20000, 0x1000, B, 0x0, 0),
	};
	static const struct rq r[] = {
		UNMAP(0x10000, 0x4000),
		MAP(0x20000, 0x1000, C, 0x0, 0),
	};
	struct t *t = *state;
	struct gpuva *old_a, *old_b;
	struct gpuva_bind *txn;
	unsigned long frees;

	vm_on(t, &t->rec.base);
	given(t, gv, N(gv));
	old_a = gpuva_vm_find_at(t->vm, 0x10000);
	old_b = gpuva_vm_find_at(t->vm, 0x20000);
	frees = t->alloc.va_frees;
	txn = begin(t, t->vm);
	reqs_ok(t, txn, r, N(r));
	assert_int_equal(t->alloc.va_frees, frees);
	assert_ptr_equal(gpuva_vm_find_at(t->vm, 0x10000), old_a);
	assert_ptr_equal(gpuva_vm_find_at(t->vm, 0x20000), old_b);
	assert_int_equal(gpuva_bind_commit(txn, NULL), 0);
	/* both old mappings, and the spare ones the requests took, are back */
	assert_true(t->alloc.va_frees >= frees + 2);
	assert_int_equal(t->alloc.live_vas, (long)gpuva_vm_count(t->vm));
	assert_int_equal(gpuva_vm_count(t->vm), 1);
	assert_null(gpuva_vm_find_at(t->vm, 0x10000));
	assert_ptr_not_equal(gpuva_vm_find_at(t->vm, 0x20000), old_b);
	assert_null(gpuva_vm_bo_find(t->vm, &t->bos[A].base));
	assert_null(gpuva_vm_bo_find(t->vm, &t->bos[B].base));
}

/* ---- the sim backend ------------------------------------------------------ */

/* What the sim's page table holds at @addr, as text. */
static char *
page(struct t *t, struct gpuva_vm *vm, uint64_t addr)
{
	struct gpuva_sim_page p;
	struct bfx_buf b = { 0 };

	assert_int_equal(gpuva_sim_translate(t->sim, vm, addr, &p), 0);
	if (p.kind == GPUVA_SIM_BO)
		bfx_printf(&b, "bo %u 0x%" PRIx64 " df=0x%" PRIx32,
			   fx_bo_id(p.bo), p.offset, p.driver_flags);
	else if (p.kind == GPUVA_SIM_NULL)
		bfx_printf(&b, "null df=0x%" PRIx32, p.driver_flags);
	else
		bfx_printf(&b, "unmapped");
	return bfx_take(&b);
}

#define assert_page(t, vm, addr, want) \
	assert_text("page", strdup(want), page((t), (vm), (addr)))

static char *
sim_dump(struct t *t, struct gpuva_vm *vm)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(gpuva_sim_dump(t->sim, vm, f), 0);
	fclose(f);
	return text;
}

static void
assert_sim_matches(struct t *t, struct gpuva_vm *vm)
{
	if (gpuva_sim_compare(t->sim, vm))
		fail_msg("sim compare: %s", gpuva_vm_last_error(vm));
}

static void
the_sim_page_table_follows_every_commit(void **state)
{
	static const struct rq first[] = {
		MAP(0x10000, 0x4000, A, 0x2000, 0x11),
		MAP(0x20000, 0x2000, NOBO, 0x0, 0x22),
	};
	static const struct rq second[] = { UNMAP(0x12000, 0x1000) };
	struct t *t = *state;

	vm_on(t, t->sim);
	batch_on(t, t->vm, first, N(first));
	assert_sim_matches(t, t->vm);
	assert_page(t, t->vm, 0x11800, "bo 1 0x3800 df=0x11");
	assert_page(t, t->vm, 0x20fff, "null df=0x22");
	assert_page(t, t->vm, 0x14000, "unmapped");
	assert_page(t, t->vm, 0xfffff, "unmapped");
	batch_on(t, t->vm, second, N(second));
	assert_sim_matches(t, t->vm);
	assert_page(t, t->vm, 0x12000, "unmapped");
	assert_page(t, t->vm, 0x13000, "bo 1 0x5000 df=0x11");
	assert_lines("page table", sim_dump(t, t->vm),
		     "0x10000 0x2000 bo 101 0x2000 flags 0x11",
		     "0x13000 0x1000 bo 101 0x5000 flags 0x11",
		     "0x20000 0x2000 null flags 0x22");
	free(take_log(t));
}

static void
the_sim_answers_only_for_its_own_vms(void **state)
{
	struct t *t = *state;
	struct gpuva_sim_page p;

	vm_on(t, &t->rec.base);
	assert_int_equal(gpuva_sim_translate(t->sim, t->vm, 0x10000, &p), -EINVAL);
	assert_int_equal(gpuva_sim_compare(t->sim, t->vm), -EINVAL);
	assert_int_equal(gpuva_sim_queued(t->sim, t->vm), 0);
	assert_true(gpuva_backend_is_sim(t->sim));
	assert_false(gpuva_backend_is_sim(&t->rec.base));
	assert_string_equal(gpuva_backend_name(t->sim), "sim");
}

/* One bind() call on the sim, as the library would make it. */
static int
sim_bind_directly(struct t *t, const struct gpuva_bind_op *e, size_t n)
{
	struct gpuva_commit c = { 0 };
	struct gpuva_bind_result res = { 0 };
	struct gpuva_bind_job job = {
		.vm = t->vm, .vm_priv = gpuva_vm_backend_priv(t->vm), .seq = 1,
		.reqs = e, .req_count = n, .net = e, .net_count = n,
		.commit = &c,
	};
	int ret = t->sim->ops->bind(t->sim, &job, &res);

	assert_int_equal(res.unit, GPUVA_BIND_NOTHING);
	return ret;
}

static void
the_sim_refuses_unaligned_entries_and_bo_ranges_beyond_the_bo(void **state)
{
	/* what a page table cannot do; the library's own rules refuse it
	 * first (below), so this calls the sim's bind() the way a backend
	 * caller that skipped them would */
	struct t *t = *state;
	struct gpuva_bo *a = &t->bos[A].base;
	const struct gpuva_bind_op ok = {
		.kind = GPUVA_BIND_MAP, .addr = 0x20000, .range = 0x1000, .bo = a,
	};
	const struct {
		struct gpuva_bind_op e;
		const char *why;
	} bad[] = {
		{ { .kind = GPUVA_BIND_MAP, .addr = 0x10800, .range = 0x1000, .bo = a },
		  "not aligned" },
		{ { .kind = GPUVA_BIND_MAP, .addr = 0x10000, .range = 0x1800, .bo = a },
		  "not aligned" },
		{ { .kind = GPUVA_BIND_MAP, .addr = 0x10000, .range = 0x1000, .bo = a,
		    .offset = 0x800 }, "not aligned" },
		{ { .kind = GPUVA_BIND_UNMAP, .addr = 0x10000, .range = 0x800 },
		  "not aligned" },
		{ { .kind = GPUVA_BIND_MAP, .addr = 0x10000, .range = 0x2000, .bo = a,
		    .offset = 0x1000 }, "beyond the BO" },
		{ { .kind = GPUVA_BIND_MAP, .addr = 0x10000, .range = 0x1000, .bo = a,
		    .offset = 0x3000 }, "beyond the BO" },
	};
	struct gpuva_map_req beyond = {
		.addr = 0x10000, .range = 0x2000, .bo = a, .offset = 0x1000,
	};
	struct gpuva_bind *txn;
	uint64_t calls;

	t->bos[A].base.size = 0x2000;
	vm_on(t, t->sim);
	for (size_t i = 0; i < N(bad); i++) {
		/* a good entry first: the whole call is refused, not a part */
		struct gpuva_bind_op two[2] = { ok, bad[i].e };

		if (two[1].addr < ok.addr) {
			two[0] = bad[i].e;
			two[1] = ok;
		}
		assert_int_equal(sim_bind_directly(t, two, 2), -EINVAL);
		bfx_mentions(gpuva_vm_last_error(t->vm), bad[i].why);
		assert_page(t, t->vm, 0x10000, "unmapped");
		assert_page(t, t->vm, 0x20000, "unmapped");
	}
	/* a NULL map's offset is not the page table's business */
	{
		struct gpuva_bind_op null = {
			.kind = GPUVA_BIND_MAP_NULL, .addr = 0x30000,
			.range = 0x1000, .offset = 0x800,
		};

		assert_int_equal(sim_bind_directly(t, &null, 1), 0);
		assert_page(t, t->vm, 0x30000, "null df=0x0");
	}
	/* and the sim's compare does see a page table that is not the
	 * mirror: the mirror never heard of that NULL page */
	assert_int_equal(gpuva_sim_compare(t->sim, t->vm), -EINVAL);
	bfx_mentions(gpuva_vm_last_error(t->vm), "sim compare at 0x30000");

	/* through the library, the same requests never reach the sim */
	calls = gpuva_sim_bind_calls(t->sim);
	txn = begin(t, t->vm);
	assert_int_equal(gpuva_bind_map(txn, &beyond), -EINVAL);
	bfx_mentions(gpuva_vm_last_error(t->vm), "beyond the BO");
	beyond.offset = 0;
	beyond.addr = 0x10800;
	assert_int_equal(gpuva_bind_map(txn, &beyond), -EINVAL);
	bfx_mentions(gpuva_vm_last_error(t->vm), "page size");
	gpuva_bind_abort(txn);
	assert_int_equal(gpuva_sim_bind_calls(t->sim), calls);
	free(take_log(t));
	/* put the page table back as the mirror has it, for the teardown */
	{
		struct gpuva_bind_op un = {
			.kind = GPUVA_BIND_UNMAP, .addr = 0x30000, .range = 0x1000,
		};

		assert_int_equal(sim_bind_directly(t, &un, 1), 0);
	}
	assert_sim_matches(t, t->vm);
	t->bos[A].base.size = 0;
}

static void
sim_failure_injection_refuses_bad_arguments(void **state)
{
	static const struct gpuva_sim_fail bad[] = {
		{ .call = 1, .kind = 9, .err = -EIO },
		{ .call = 0, .kind = GPUVA_SIM_FAIL_ERRNO, .err = -EIO },
		{ .call = 1, .kind = GPUVA_SIM_FAIL_ERRNO, .err = 0 },
		{ .call = 1, .kind = GPUVA_SIM_FAIL_PARTIAL, .err = EIO },
	};
	struct t *t = *state;

	for (size_t i = 0; i < N(bad); i++) {
		assert_int_equal(gpuva_sim_inject(t->sim, &bad[i]), -EINVAL);
		bfx_mentions(gpuva_backend_last_error(t->sim), "inject");
	}
	assert_int_equal(gpuva_sim_inject(&t->rec.base, &bad[1]), -EINVAL);
}

static int
inject(struct t *t, uint64_t call, uint32_t kind, int err, size_t applied)
{
	struct gpuva_sim_fail f = {
		.call = call, .kind = kind, .err = err, .applied = applied,
	};

	return gpuva_sim_inject(t->sim, &f);
}

/* Commit @r as one batch; the commit's result. */
static int
try_batch(struct t *t, struct gpuva_vm *vm, const struct rq *r, size_t n,
	  struct gpuva_commit *c)
{
	struct gpuva_bind *txn = begin(t, vm);

	reqs_ok(t, txn, r, n);
	free(take_log(t));
	return gpuva_bind_commit(txn, c);
}

static void
an_armed_failure_hits_the_kth_bind_call_of_any_vm_once(void **state)
{
	static const struct rq r[] = { MAP(0x10000, 0x1000, A, 0x0, 0) };
	static const struct rq r2[] = { MAP(0x20000, 0x1000, A, 0x0, 0) };
	struct t *t = *state;
	struct bfx_alloc a = { 0 };
	struct gpuva_vm *other;
	uint64_t calls;

	vm_on(t, t->sim);
	other = vm_create_on(t->sim, VM_RANGE, &a);
	calls = gpuva_sim_bind_calls(t->sim);
	/* calls count across VMs */
	assert_int_equal(inject(t, 2, GPUVA_SIM_FAIL_ERRNO, -EIO, 0), 0);
	assert_int_equal(try_batch(t, t->vm, r, 1, NULL), 0);
	assert_int_equal(try_batch(t, other, r, 1, NULL), -EIO);
	assert_int_equal(gpuva_sim_bind_calls(t->sim), calls + 2);
	/* once: the same batch goes through now */
	assert_int_equal(try_batch(t, other, r, 1, NULL), 0);
	/* arming again replaces */
	assert_int_equal(inject(t, 1, GPUVA_SIM_FAIL_ERRNO, -EIO, 0), 0);
	assert_int_equal(inject(t, 1, GPUVA_SIM_FAIL_ERRNO, -ENOSPC, 0), 0);
	assert_int_equal(try_batch(t, t->vm, r2, 1, NULL), -ENOSPC);
	/* and NONE clears */
	assert_int_equal(inject(t, 1, GPUVA_SIM_FAIL_ERRNO, -EIO, 0), 0);
	assert_int_equal(inject(t, 0, GPUVA_SIM_FAIL_NONE, 0, 0), 0);
	assert_int_equal(try_batch(t, t->vm, r2, 1, NULL), 0);
	assert_sim_matches(t, t->vm);
	assert_sim_matches(t, other);
	vm_done(other, &a);
}

static void
an_injected_errno_leaves_mirror_and_page_table_as_before(void **state)
{
	struct t *t = *state;
	struct gpuva_commit c = { 0 };
	char *before;

	vm_on(t, t->sim);
	given(t, linked_state, N(linked_state));
	before = exact(t);
	assert_int_equal(inject(t, 1, GPUVA_SIM_FAIL_ERRNO, -EIO, 0), 0);
	assert_int_equal(try_batch(t, t->vm, touching_batch, N(touching_batch), &c),
			 -EIO);
	bfx_mentions(gpuva_vm_last_error(t->vm), "injected");
	assert_int_equal(c.applied_unit, GPUVA_BIND_NOTHING);
	assert_unchanged(t, before);
	assert_sim_matches(t, t->vm);
}

static void
an_injected_partial_success_applies_the_first_k_requests_to_both(void **state)
{
	static const struct rq gv[] = { MAP(0x10000, 0x4000, A, 0x0, 1) };
	static const struct rq r[] = {
		MAP(0x12000, 0x4000, B, 0x0, 2),
		UNMAP(0x11000, 0x2000),
		MAP(0x13000, 0x1000, A, 0x3000, 3),
	};
	struct t *t = *state;

	for (size_t k = 0; k <= N(r) + 1; k++) {
		size_t want = k < N(r) ? k : N(r);
		struct gpuva_commit c = { 0 };

		vm_on(t, t->sim);
		given(t, gv, N(gv));
		assert_int_equal(inject(t, 1, GPUVA_SIM_FAIL_PARTIAL, -ENOSPC, k), 0);
		assert_int_equal(try_batch(t, t->vm, r, N(r), &c), -ENOSPC);
		bfx_mentions(gpuva_vm_last_error(t->vm), "injected");
		assert_int_equal(c.applied_unit, GPUVA_BIND_REQUESTS);
		assert_int_equal(c.applied, want);
		assert_text("states, k requests landed and applied one at a time",
			    shape_one_at_a_time(t, t->sim, gv, N(gv), r, want),
			    shape(t, t->vm));
		assert_sim_matches(t, t->vm);
	}
}

static void
an_injected_loss_is_sticky(void **state)
{
	static const struct rq r[] = { MAP(0x20000, 0x1000, A, 0x0, 0) };
	struct t *t = *state;
	struct gpuva_bind *txn = NULL;
	char *before;

	vm_on(t, t->sim);
	given(t, linked_state, N(linked_state));
	before = exact(t);
	assert_int_equal(inject(t, 1, GPUVA_SIM_FAIL_LOSE, 0, 0), 0);
	assert_int_equal(try_batch(t, t->vm, r, N(r), NULL), -EPIPE);
	bfx_mentions(gpuva_vm_last_error(t->vm), "lost");
	assert_true(gpuva_vm_is_lost(t->vm));
	assert_unchanged(t, as_lost(before));
	assert_int_equal(gpuva_bind_begin(t->vm, &txn), -EPIPE);
	assert_int_equal(gpuva_vm_wait_idle(t->vm, 0), -EPIPE);
	bfx_mentions(gpuva_vm_last_error(t->vm), "lost");
}

/* ---- sync points on the sim ------------------------------------------------ */

static uint32_t
new_sync(struct t *t)
{
	uint32_t h = 0;

	assert_int_equal(gpuva_backend_sync_create(t->sim, &h), 0);
	assert_int_not_equal(h, 0);
	return h;
}

static int
signal_point(struct t *t, uint32_t h, uint64_t point)
{
	struct gpuva_sync s = { .handle = h, .point = point };

	return gpuva_backend_sync_signal(t->sim, &s, 1);
}

static int
wait_point(struct t *t, uint32_t h, uint64_t point)
{
	struct gpuva_sync s = { .handle = h, .point = point };

	return gpuva_backend_sync_wait(t->sim, &s, 1, 1000000);
}

/* An asynchronous commit of @r waiting for @wait (and signalling @sig). */
static int
async_batch(struct t *t, const struct rq *r, size_t n,
	    const struct gpuva_sync *wait, const struct gpuva_sync *sig)
{
	struct gpuva_commit c = {
		.flags = GPUVA_COMMIT_ASYNC,
		.wait_count = wait ? 1 : 0, .waits = wait,
		.signal_count = sig ? 1 : 0, .signals = sig,
	};

	return try_batch(t, t->vm, r, n, &c);
}

static void
an_async_batch_waiting_for_an_unsignalled_point_queues_until_it_is_signalled(void **state)
{
	static const struct rq r[] = { MAP(0x10000, 0x2000, A, 0x0, 5) };
	struct t *t = *state;
	uint32_t s = new_sync(t);
	struct gpuva_sync w = { .handle = s, .point = 1 };
	struct gpuva_va_info info;

	vm_on(t, t->sim);
	assert_int_equal(async_batch(t, r, N(r), &w, NULL), 0);
	/* the mirror shows the batch; the page table does not yet */
	assert_true(gpuva_vm_lookup(t->vm, 0x10000, &info));
	assert_int_equal(gpuva_sim_queued(t->sim, t->vm), 1);
	assert_page(t, t->vm, 0x10000, "unmapped");
	assert_int_equal(gpuva_sim_compare(t->sim, t->vm), -EBUSY);
	assert_int_equal(gpuva_vm_wait_idle(t->vm, 0), -ETIME);
	bfx_mentions(gpuva_vm_last_error(t->vm), "has not run");
	/* a point below the one waited for is not enough */
	assert_int_equal(signal_point(t, s, 0), 0);
	assert_int_equal(gpuva_sim_queued(t->sim, t->vm), 1);
	assert_int_equal(signal_point(t, s, 1), 0);
	assert_int_equal(gpuva_sim_queued(t->sim, t->vm), 0);
	assert_page(t, t->vm, 0x11000, "bo 1 0x1000 df=0x5");
	assert_sim_matches(t, t->vm);
	assert_int_equal(gpuva_vm_wait_idle(t->vm, 0), 0);
	gpuva_backend_sync_destroy(t->sim, s);
}

static void
queued_batches_run_in_order(void **state)
{
	static const struct rq first[] = { MAP(0x10000, 0x1000, A, 0x0, 0) };
	static const struct rq second[] = { MAP(0x10000, 0x1000, B, 0x0, 0) };
	struct t *t = *state;
	uint32_t s = new_sync(t);
	struct gpuva_sync w = { .handle = s, .point = 3 };

	vm_on(t, t->sim);
	assert_int_equal(async_batch(t, first, 1, &w, NULL), 0);
	/* no waits of its own, but behind the first one */
	assert_int_equal(async_batch(t, second, 1, NULL, NULL), 0);
	assert_int_equal(gpuva_sim_queued(t->sim, t->vm), 2);
	assert_page(t, t->vm, 0x10000, "unmapped");
	assert_int_equal(signal_point(t, s, 3), 0);
	assert_int_equal(gpuva_sim_queued(t->sim, t->vm), 0);
	/* the second ran last: B, not A, is mapped there */
	assert_page(t, t->vm, 0x10000, "bo 2 0x0 df=0x0");
	assert_sim_matches(t, t->vm);
	gpuva_backend_sync_destroy(t->sim, s);
}

static void
a_synchronous_commit_behind_unsignalled_points_is_etime_and_changes_nothing(void **state)
{
	static const struct rq first[] = { MAP(0x10000, 0x1000, A, 0x0, 0) };
	static const struct rq second[] = { MAP(0x20000, 0x1000, B, 0x0, 0) };
	struct t *t = *state;
	uint32_t s = new_sync(t);
	struct gpuva_sync w = { .handle = s, .point = 1 };
	struct gpuva_commit sync_wait = { .wait_count = 1, .waits = &w };
	char *before;

	vm_on(t, t->sim);
	/* waiting itself */
	before = exact(t);
	assert_int_equal(try_batch(t, t->vm, second, 1, &sync_wait), -ETIME);
	bfx_mentions(gpuva_vm_last_error(t->vm), "asynchronously");
	assert_unchanged(t, before);
	/* behind a queued batch */
	assert_int_equal(async_batch(t, first, 1, &w, NULL), 0);
	before = exact(t);
	assert_int_equal(try_batch(t, t->vm, second, 1, NULL), -ETIME);
	assert_unchanged(t, before);
	assert_int_equal(gpuva_sim_queued(t->sim, t->vm), 1);
	assert_int_equal(signal_point(t, s, 1), 0);
	assert_sim_matches(t, t->vm);
	assert_page(t, t->vm, 0x20000, "unmapped");
	gpuva_backend_sync_destroy(t->sim, s);
}

static void
a_signal_point_is_reached_when_its_batch_has_run(void **state)
{
	static const struct rq first[] = { MAP(0x10000, 0x1000, A, 0x0, 0) };
	static const struct rq second[] = { MAP(0x20000, 0x1000, A, 0x1000, 0) };
	struct t *t = *state;
	uint32_t in = new_sync(t), out = new_sync(t), now = new_sync(t);
	struct gpuva_sync w = { .handle = in, .point = 1 };
	struct gpuva_sync sig = { .handle = out, .point = 1 };
	struct gpuva_sync sig_now = { .handle = now, .point = 5 };
	struct gpuva_sync both[2] = { sig, { .handle = now, .point = 5 } };

	vm_on(t, t->sim);
	assert_int_equal(async_batch(t, first, 1, &w, &sig), 0);
	assert_int_equal(wait_point(t, out, 1), -ETIME);
	assert_int_equal(signal_point(t, in, 1), 0);
	assert_int_equal(wait_point(t, out, 1), 0);
	/* a batch that runs at once signals at once; a timeline point
	 * reaches every point below it, none above */
	assert_int_equal(async_batch(t, second, 1, NULL, &sig_now), 0);
	assert_int_equal(wait_point(t, now, 5), 0);
	assert_int_equal(wait_point(t, now, 3), 0);
	assert_int_equal(wait_point(t, now, 6), -ETIME);
	assert_int_equal(gpuva_backend_sync_wait(t->sim, both, 2, 0), 0);
	both[1].point = 6;
	assert_int_equal(gpuva_backend_sync_wait(t->sim, both, 2, 0), -ETIME);
	assert_sim_matches(t, t->vm);
	gpuva_backend_sync_destroy(t->sim, in);
	gpuva_backend_sync_destroy(t->sim, out);
	gpuva_backend_sync_destroy(t->sim, now);
}

static void
a_binary_sync_object_is_point_zero(void **state)
{
	struct t *t = *state;
	uint32_t s = new_sync(t);

	assert_int_equal(wait_point(t, s, 0), -ETIME);
	assert_int_equal(signal_point(t, s, 0), 0);
	assert_int_equal(wait_point(t, s, 0), 0);
	gpuva_backend_sync_destroy(t->sim, s);
	gpuva_backend_sync_destroy(t->sim, 0);
}

static void
unknown_sync_objects_are_enoent_and_change_nothing(void **state)
{
	static const struct rq r[] = { MAP(0x10000, 0x1000, A, 0x0, 0) };
	struct t *t = *state;
	uint32_t s = new_sync(t);
	struct gpuva_sync pts[2] = { { .handle = s, .point = 1 },
				     { .handle = 999, .point = 1 } };
	struct gpuva_commit c = { .flags = GPUVA_COMMIT_ASYNC, .wait_count = 1,
				  .waits = &pts[1] };
	char *before;

	vm_on(t, t->sim);
	assert_int_equal(gpuva_backend_sync_signal(t->sim, pts, 2), -ENOENT);
	bfx_mentions(gpuva_backend_last_error(t->sim), "unknown sync object");
	/* nothing signalled, the known one included */
	assert_int_equal(wait_point(t, s, 1), -ETIME);
	assert_int_equal(gpuva_backend_sync_wait(t->sim, pts, 2, 0), -ENOENT);
	before = exact(t);
	assert_int_equal(try_batch(t, t->vm, r, N(r), &c), -ENOENT);
	bfx_mentions(gpuva_vm_last_error(t->vm), "unknown sync object");
	assert_unchanged(t, before);
	gpuva_backend_sync_destroy(t->sim, s);
	/* a destroyed one is unknown */
	assert_int_equal(wait_point(t, s, 0), -ENOENT);
}

static void
bad_commit_arguments_are_refused_before_the_backend_is_called(void **state)
{
	static const struct rq r[] = { MAP(0x10000, 0x1000, A, 0x0, 0) };
	struct t *t = *state;
	uint32_t s = new_sync(t);
	struct gpuva_sync padded = { .handle = s, .pad = 1 };
	const struct {
		struct gpuva_commit c;
		int ret;
		const char *why;
	} cases[] = {
		{ { .flags = 1u << 7 }, -EINVAL, "unknown flags" },
		{ { .wait_count = 1, .waits = &padded }, -EINVAL, "pad" },
		{ { .signal_count = 1, .signals = &padded }, -EINVAL, "pad" },
		{ { .wait_count = 2 }, -EINVAL, "no array" },
		{ { .flags = GPUVA_COMMIT_FENCE_FD_OUT }, -EOPNOTSUPP, "sync_file" },
		{ { .flags = GPUVA_COMMIT_FENCE_FD_IN, .fence_fd_in = -1 },
		  -EOPNOTSUPP, "sync_file" },
	};
	char *before;

	vm_on(t, t->sim);
	before = exact(t);
	for (size_t i = 0; i < N(cases); i++) {
		struct gpuva_commit c = cases[i].c;
		uint64_t calls = gpuva_sim_bind_calls(t->sim);

		assert_int_equal(try_batch(t, t->vm, r, N(r), &c), cases[i].ret);
		bfx_mentions(gpuva_vm_last_error(t->vm), cases[i].why);
		/* the library's own refusals never reach the backend */
		assert_int_equal(gpuva_sim_bind_calls(t->sim) - calls,
				 cases[i].ret == -EINVAL ? 0 : 1);
		assert_unchanged(t, strdup(before));
	}
	free(before);
	gpuva_backend_sync_destroy(t->sim, s);
}

/* ---- deferred reuse of VA ranges ------------------------------------------- */

static void
a_range_given_back_in_a_batch_returns_to_the_heap_only_once_the_batch_ran(void **state)
{
	struct t *t = *state;
	uint32_t s = new_sync(t);
	struct gpuva_sync w = { .handle = s, .point = 1 };
	struct gpuva_commit c = { .flags = GPUVA_COMMIT_ASYNC, .wait_count = 1,
				  .waits = &w };
	struct gpuva_bind *txn;
	uint64_t addr = 1, other;

	/* a VM whose heap holds exactly one such range */
	vm_done(t->vm, &t->alloc);
	t->vm = vm_create_on(t->sim, 0x10000, &t->alloc);
	assert_int_equal(gpuva_vm_alloc_addr(t->vm, 0x10000, PAGE, 0, &addr), 0);
	assert_int_equal(addr, 0);
	{
		const struct rq r[] = { MAP(addr, 0x10000, A, 0x0, 0) };

		batch_on(t, t->vm, r, N(r));
	}
	txn = begin(t, t->vm);
	assert_int_equal(gpuva_bind_unmap(txn, addr, 0x10000), 0);
	assert_int_equal(gpuva_bind_free_addr(txn, addr, 0x10000), 0);
	assert_int_equal(gpuva_bind_commit(txn, &c), 0);
	/* the kernel may still map it: the heap must not hand it out */
	assert_int_equal(gpuva_vm_alloc_addr(t->vm, 0x1000, PAGE, 0, &other), -ENOSPC);
	assert_int_equal(gpuva_vm_wait_idle(t->vm, 0), -ETIME);
	assert_int_equal(gpuva_vm_alloc_addr(t->vm, 0x1000, PAGE, 0, &other), -ENOSPC);
	assert_int_equal(signal_point(t, s, 1), 0);
	assert_int_equal(gpuva_vm_wait_idle(t->vm, 0), 0);
	assert_int_equal(gpuva_vm_alloc_addr(t->vm, 0x10000, PAGE, 0, &other), 0);
	assert_int_equal(other, addr);
	assert_sim_matches(t, t->vm);
	free(take_log(t));
	gpuva_backend_sync_destroy(t->sim, s);
}

static void
a_synchronous_batch_gives_its_ranges_back_when_it_returns(void **state)
{
	struct t *t = *state;
	struct gpuva_bind *txn;
	uint64_t addr, other;

	vm_done(t->vm, &t->alloc);
	t->vm = vm_create_on(t->sim, 0x10000, &t->alloc);
	assert_int_equal(gpuva_vm_alloc_addr(t->vm, 0x10000, PAGE, 0, &addr), 0);
	txn = begin(t, t->vm);
	assert_int_equal(gpuva_bind_free_addr(txn, addr, 0x10000), 0);
	assert_int_equal(gpuva_bind_commit(txn, NULL), 0);
	assert_int_equal(gpuva_vm_alloc_addr(t->vm, 0x10000, PAGE, 0, &other), 0);
	assert_int_equal(other, addr);
}

static void
free_addr_takes_only_live_allocations_and_is_dropped_with_its_transaction(void **state)
{
	struct t *t = *state;
	struct gpuva_bind *txn;
	uint64_t addr, other;

	vm_done(t->vm, &t->alloc);
	t->vm = vm_create_on(t->sim, 0x10000, &t->alloc);
	assert_int_equal(gpuva_vm_alloc_addr(t->vm, 0x8000, PAGE, 0, &addr), 0);
	txn = begin(t, t->vm);
	assert_int_equal(gpuva_bind_free_addr(txn, 0x8000, 0x8000), -EINVAL);
	bfx_mentions(gpuva_vm_last_error(t->vm), "not an allocation");
	assert_int_equal(gpuva_bind_free_addr(txn, addr, 0), -EINVAL);
	assert_int_equal(gpuva_bind_free_addr(txn, addr, 0x8000), 0);
	assert_int_equal(gpuva_bind_free_addr(txn, addr, 0x8000), -EINVAL);
	bfx_mentions(gpuva_vm_last_error(t->vm), "already freed");
	gpuva_bind_abort(txn);
	/* aborted: still allocated, so the second half is all there is */
	assert_int_equal(gpuva_vm_alloc_addr(t->vm, 0x8000, PAGE, 0, &other), 0);
	assert_int_not_equal(other, addr);
	assert_int_equal(gpuva_vm_free_addr(t->vm, other, 0x8000), 0);
	/* a failed commit drops it too */
	txn = begin(t, t->vm);
	assert_int_equal(gpuva_bind_free_addr(txn, addr, 0x8000), 0);
	assert_int_equal(inject(t, 1, GPUVA_SIM_FAIL_ERRNO, -EIO, 0), 0);
	assert_int_equal(gpuva_bind_commit(txn, NULL), -EIO);
	assert_int_equal(gpuva_vm_wait_idle(t->vm, 0), 0);
	assert_int_equal(gpuva_vm_free_addr(t->vm, addr, 0x8000), 0);
	/* on a VM without a heap, nothing is an allocation */
	vm_on(t, t->sim);
	txn = begin(t, t->vm);
	assert_int_equal(gpuva_bind_free_addr(txn, 0, 0x1000), -EINVAL);
	gpuva_bind_abort(txn);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(begin_on_a_vm_without_a_backend_is_einval),
		T(a_second_begin_while_a_transaction_is_open_is_ebusy),
		T(later_requests_see_the_earlier_ones_and_generate_the_ops_of_one_by_one),
		T(the_mirror_does_not_change_until_the_commit),
		T(an_aborted_transaction_leaves_the_vm_exactly_as_before_begin),
		T(a_failed_commit_leaves_the_vm_exactly_as_before_begin_and_says_why),
		T(a_partial_success_of_k_requests_leaves_exactly_the_first_k_applied),
		T(a_partial_success_of_k_net_entries_and_some_bytes_leaves_exactly_those_applied),
		T(an_impossible_partial_result_loses_the_vm),
		T(a_lost_vm_is_sticky_and_every_call_says_so),
		T(an_allocation_failure_in_a_request_is_enomem_and_the_transaction_goes_on),
		T(an_allocation_failure_at_the_commit_is_enomem_before_the_backend_call),
		T(the_net_effect_is_sorted_by_address_whatever_the_order_of_the_requests),
		T(a_page_bound_and_unbound_in_one_batch_costs_nothing),
		T(an_identical_remap_costs_nothing),
		T(ranges_the_batch_leaves_as_they_were_are_dropped),
		T(a_change_of_driver_flags_alone_is_an_entry),
		T(neighbours_of_one_bo_with_contiguous_offsets_and_equal_driver_flags_merge),
		T(null_ranges_are_their_own_kind),
		T(a_request_inside_another_gives_three_entries_for_two_requests),
		T(one_unmap_over_two_mappings_and_the_hole_between_is_one_entry),
		T(a_map_over_pages_that_already_hold_it_is_one_entry),
		T(a_rejected_request_changes_nothing_and_the_transaction_stays_usable),
		T(running_out_of_memory_inside_a_big_request_leaves_the_transaction_usable),
		T(the_op_callback_sees_each_op_before_it_is_applied_until_it_is_unset),
		T(driver_flags_reach_the_backend_untouched_and_stay_with_the_mapping),
		T(mappings_a_batch_removes_go_back_to_the_allocator_only_at_its_commit),
		T(the_sim_page_table_follows_every_commit),
		T(the_sim_answers_only_for_its_own_vms),
		T(the_sim_refuses_unaligned_entries_and_bo_ranges_beyond_the_bo),
		T(sim_failure_injection_refuses_bad_arguments),
		T(an_armed_failure_hits_the_kth_bind_call_of_any_vm_once),
		T(an_injected_errno_leaves_mirror_and_page_table_as_before),
		T(an_injected_partial_success_applies_the_first_k_requests_to_both),
		T(an_injected_loss_is_sticky),
		T(an_async_batch_waiting_for_an_unsignalled_point_queues_until_it_is_signalled),
		T(queued_batches_run_in_order),
		T(a_synchronous_commit_behind_unsignalled_points_is_etime_and_changes_nothing),
		T(a_signal_point_is_reached_when_its_batch_has_run),
		T(a_binary_sync_object_is_point_zero),
		T(unknown_sync_objects_are_enoent_and_change_nothing),
		T(bad_commit_arguments_are_refused_before_the_backend_is_called),
		T(a_range_given_back_in_a_batch_returns_to_the_heap_only_once_the_batch_ran),
		T(a_synchronous_batch_gives_its_ranges_back_when_it_returns),
		T(free_addr_takes_only_live_allocations_and_is_dropped_with_its_transaction),
	};
#undef T

	return cmocka_run_group_tests_name("bind", tests, NULL, NULL);
}
