/* SPDX-License-Identifier: MIT */
/*
 * Property test of the VA engine against a naive model.
 *
 * The model is an array with one slot per address unit, each holding a copy
 * of the mapping that covers it (addr, range, bo, offset) or nothing. From
 * it, and from the rules of ops-semantics.md alone, the test derives for
 * every random request the op stream drm_gpuvm would emit and the state
 * after it. Two VMs run every request, one through step callbacks and one
 * through op lists. After each request it checks that:
 *
 *  - both VMs emitted exactly the expected ops (keep flags included);
 *  - applying the emitted ops to the previous model gives the expected
 *    model (every unmapped range was mapped by that VA, every new VA lands
 *    on empty units);
 *  - both trees equal the model, gpuva_vm_check() passes (order, balance,
 *    threads, no overlap, BO links, counts);
 *  - a rejected request returned -EINVAL and changed nothing.
 *
 *   property-ops [--seed S] [--count N] [--units U] [--save FILE]
 *
 * Every fourth request, one of the two VMs is first told to warm its cache
 * toward that request and random addresses (gpuva_vm_warm()); a hint, so
 * both VMs must still match the model.
 *
 * With a large --units the full comparison runs every 4096 requests and in
 * between only around the request (local check). On failure it prints the
 * seed and step and writes the requests so far as a trace for gpuva replay.
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

#include <gpuva/gpuva.h>

#include "trace.h"	/* the project's one seeded generator */

#define NBO 4
#define MAX_OPS 4096

struct slot {
	uint64_t addr, range, offset;
	uint32_t bo;		/* 0: NULL mapping */
	bool used;
};

struct xop {			/* an op, in model terms */
	int type;
	uint64_t addr, range, offset;	/* map; or the cut VA for remap/unmap */
	uint32_t bo;
	bool keep;
	struct slot prev, next;		/* remap pieces (used = present) */
};

struct tbo {
	struct gpuva_bo base;
	uint32_t id;
};

struct req {
	bool map;
	uint64_t addr, range, offset;
	uint32_t bo;
};

static struct {
	uint64_t seed;
	size_t count;
	uint64_t units;
	const char *save;
} opt = { 1, 100000, 2048, "property-ops-failure.trace" };

struct world {
	uint64_t start, units, rsv_start, rsv_range;
	struct slot *model, *scratch, *scratch2;
	struct gpuva_vm *vm[2];		/* [0] step callbacks, [1] op lists */
	struct tbo bos[NBO + 1];
	struct gpuva_ops ops;
	struct xop got[MAX_OPS];
	size_t ngot;
	struct req *log;
	size_t nlog;
	struct trace_rng rng;
};

static uint64_t
below(struct world *w, uint64_t n)
{
	return trace_rng_below(&w->rng, n);
}

/* ---- failure reporting -------------------------------------------------- */

static void
save_trace(struct world *w)
{
	FILE *f = fopen(opt.save, "w");

	if (!f)
		return;
	fprintf(f, "# property-ops seed 0x%" PRIx64 ": requests up to the failure\n",
		opt.seed);
	fprintf(f, "vm 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 " 0x%" PRIx64 "\n",
		w->start, w->units, w->rsv_start, w->rsv_range);
	for (size_t i = 0; i < w->nlog; i++) {
		const struct req *r = &w->log[i];

		if (r->map)
			fprintf(f, "map 0x%" PRIx64 " 0x%" PRIx64 " %" PRIu32 " 0x%" PRIx64 "\n",
				r->addr, r->range, r->bo, r->offset);
		else
			fprintf(f, "unmap 0x%" PRIx64 " 0x%" PRIx64 "\n", r->addr, r->range);
	}
	fprintf(f, "dump\n");
	fclose(f);
}

#define CHECK(w, cond, ...)                                                   \
	do {                                                                  \
		if (!(cond)) {                                                \
			save_trace(w);                                        \
			print_error(__VA_ARGS__);                             \
			fail_msg("seed 0x%" PRIx64 " step %zu: %s (trace: %s)", \
				 opt.seed, (w)->nlog, #cond, opt.save);       \
		}                                                             \
	} while (0)

/* ---- the model ----------------------------------------------------------- */

static struct slot *
unit(struct world *w, struct slot *m, uint64_t addr)
{
	return &m[addr - w->start];
}

static void
fill_units(struct world *w, struct slot *m, const struct slot *s)
{
	for (uint64_t a = s->addr; a < s->addr + s->range; a++)
		*unit(w, m, a) = *s;
}

static bool
valid(const struct world *w, uint64_t addr, uint64_t range)
{
	if (range == 0 || addr + range < addr)
		return false;
	if (addr < w->start || addr + range > w->start + w->units)
		return false;
	return !(addr < w->rsv_start + w->rsv_range && w->rsv_start < addr + range);
}

/*
 * The expected ops of a request, from the model and ops-semantics.md 3.2
 * and 4 only; and the window [*lo, *hi) of units they can change.
 */
static size_t
expect(struct world *w, const struct req *r, struct xop *x, uint64_t *lo,
       uint64_t *hi)
{
	uint64_t A = r->addr, E = r->addr + r->range;
	size_t n = 0;

	*lo = A;
	*hi = E;
	for (uint64_t a = A; a < E; a++) {
		const struct slot *v = unit(w, w->model, a);
		uint64_t e;

		if (!v->used)
			continue;
		/* first time we meet v: at its start, or at A inside it */
		if (v->addr < A ? a != A : a != v->addr)
			continue;
		e = v->addr + v->range;
		*lo = v->addr < *lo ? v->addr : *lo;
		*hi = e > *hi ? e : *hi;
		memset(&x[n], 0, sizeof(x[n]));
		x[n].addr = v->addr;
		x[n].range = v->range;
		x[n].bo = v->bo;
		x[n].offset = v->offset;
		if (r->map && v->bo && v->bo == r->bo)
			x[n].keep = v->addr == A ? v->offset == r->offset :
				    v->addr < A ? v->offset + (A - v->addr) == r->offset :
				    v->offset == r->offset + (v->addr - A);
		if (v->addr < A || e > E) {
			x[n].type = GPUVA_OP_REMAP;
			if (v->addr < A)
				x[n].prev = (struct slot){ v->addr, A - v->addr,
							   v->offset, v->bo, true };
			if (e > E)
				x[n].next = (struct slot){ E, e - E,
							   v->offset + (E - v->addr),
							   v->bo, true };
		} else {
			x[n].type = GPUVA_OP_UNMAP;
		}
		n++;
		a = e - 1;	/* skip the rest of v */
	}
	if (r->map) {
		memset(&x[n], 0, sizeof(x[n]));
		x[n].type = GPUVA_OP_MAP;
		x[n].addr = A;
		x[n].range = r->range;
		x[n].offset = r->offset;
		x[n].bo = r->bo;
		n++;
	}
	return n;
}

/*
 * The state the rules give after the request, straight from the request
 * (not from any op list): units in [A, E) hold the new mapping or nothing;
 * a mapping sticking out on the left keeps [a, A) at its offset; one
 * sticking out on the right keeps [E, e) at its offset plus E - a.
 */
static void
expected_state(struct world *w, const struct req *r, struct slot *m,
	       uint64_t lo, uint64_t hi)
{
	uint64_t A = r->addr, E = r->addr + r->range;
	struct slot left = *unit(w, w->model, A);
	struct slot right = *unit(w, w->model, E - 1);

	memcpy(unit(w, m, lo), unit(w, w->model, lo), (hi - lo) * sizeof(*m));
	if (left.used && left.addr < A)
		fill_units(w, m, &(struct slot){ left.addr, A - left.addr,
						 left.offset, left.bo, true });
	if (right.used && right.addr + right.range > E)
		fill_units(w, m, &(struct slot){ E, right.addr + right.range - E,
						 right.offset + (E - right.addr),
						 right.bo, true });
	for (uint64_t a = A; a < E; a++)
		*unit(w, m, a) = (struct slot){ A, r->range, r->offset, r->bo,
						r->map };
}

/* ---- driving the library --------------------------------------------------- */

static uint32_t
bo_id(const struct gpuva_bo *bo)
{
	return bo ? gpuva_container_of(bo, struct tbo, base)->id : 0;
}

static void
piece_of(struct slot *s, const struct gpuva_op_map *m)
{
	memset(s, 0, sizeof(*s));
	if (!m->range)
		return;
	*s = (struct slot){ m->addr, m->range, m->offset, bo_id(m->bo), true };
}

/* Record an op (before it is applied: it points at live mappings). */
static void
record(struct world *w, const struct gpuva_op *op)
{
	struct xop *x = &w->got[w->ngot++];
	const struct gpuva *v;

	assert_true(w->ngot < MAX_OPS);
	memset(x, 0, sizeof(*x));
	x->type = (int)op->type;
	switch (op->type) {
	case GPUVA_OP_MAP:
		x->addr = op->map.addr;
		x->range = op->map.range;
		x->offset = op->map.offset;
		x->bo = bo_id(op->map.bo);
		return;
	case GPUVA_OP_REMAP:
		v = op->remap.unmap.va;
		x->keep = op->remap.unmap.keep;
		piece_of(&x->prev, &op->remap.prev);
		piece_of(&x->next, &op->remap.next);
		break;
	default:
		v = op->unmap.va;
		x->keep = op->unmap.keep;
		break;
	}
	x->addr = v->addr;
	x->range = v->range;
	x->offset = v->offset;
	x->bo = bo_id(gpuva_bo_of(v));
}

static int
step_map(void *priv, const struct gpuva_op *op)
{
	struct world *w = priv;
	struct gpuva *va = gpuva_vm_va_alloc(w->vm[0]);

	assert_non_null(va);
	record(w, op);
	return gpuva_map(w->vm[0], va, &op->map);
}

static int
step_remap(void *priv, const struct gpuva_op *op)
{
	struct world *w = priv;
	struct gpuva *p = NULL, *n = NULL;

	if (gpuva_op_remap_has_prev(&op->remap))
		p = gpuva_vm_va_alloc(w->vm[0]);
	if (gpuva_op_remap_has_next(&op->remap))
		n = gpuva_vm_va_alloc(w->vm[0]);
	record(w, op);
	gpuva_remap(w->vm[0], p, n, &op->remap);
	gpuva_vm_va_free(w->vm[0], op->remap.unmap.va);
	return 0;
}

static int
step_unmap(void *priv, const struct gpuva_op *op)
{
	struct world *w = priv;

	record(w, op);
	gpuva_unmap(w->vm[0], &op->unmap);
	gpuva_vm_va_free(w->vm[0], op->unmap.va);
	return 0;
}

static const struct gpuva_sm_steps steps = { step_map, step_remap, step_unmap };

static bool
same_slot(const struct slot *a, const struct slot *b)
{
	if (a->used != b->used)
		return false;
	return !a->used || (a->addr == b->addr && a->range == b->range &&
			    a->offset == b->offset && a->bo == b->bo);
}

static bool
same_op(const struct xop *a, const struct xop *b)
{
	return a->type == b->type && a->addr == b->addr && a->range == b->range &&
	       a->offset == b->offset && a->bo == b->bo && a->keep == b->keep &&
	       same_slot(&a->prev, &b->prev) && same_slot(&a->next, &b->next);
}

static void
print_ops(const char *title, const struct xop *x, size_t n)
{
	print_error("%s:\n", title);
	for (size_t i = 0; i < n; i++)
		print_error("  type %d 0x%" PRIx64 " 0x%" PRIx64 " bo %" PRIu32
			    " 0x%" PRIx64 " keep=%d prev=%d,0x%" PRIx64 ",0x%" PRIx64
			    " next=%d,0x%" PRIx64 ",0x%" PRIx64 "\n",
			    x[i].type, x[i].addr, x[i].range, x[i].bo, x[i].offset,
			    x[i].keep, x[i].prev.used, x[i].prev.addr,
			    x[i].prev.range, x[i].next.used, x[i].next.addr,
			    x[i].next.range);
}

/* Apply recorded ops to a copy of the model, checking each step's claims. */
static void
apply_to_model(struct world *w, struct slot *m)
{
	for (size_t i = 0; i < w->ngot; i++) {
		const struct xop *x = &w->got[i];

		if (x->type != GPUVA_OP_MAP) {
			for (uint64_t a = x->addr; a < x->addr + x->range; a++) {
				struct slot *s = unit(w, m, a);

				CHECK(w, s->used && s->addr == x->addr &&
				      s->range == x->range && s->bo == x->bo &&
				      s->offset == x->offset,
				      "op %zu removes a VA the model does not have\n", i);
				s->used = false;
			}
			if (x->prev.used)
				fill_units(w, m, &x->prev);
			if (x->next.used)
				fill_units(w, m, &x->next);
			continue;
		}
		for (uint64_t a = x->addr; a < x->addr + x->range; a++)
			CHECK(w, !unit(w, m, a)->used,
			      "map op %zu lands on a mapped unit 0x%" PRIx64 "\n", i, a);
		fill_units(w, m, &(struct slot){ x->addr, x->range, x->offset,
						 x->bo, true });
	}
}

/* Compare a VM with the model over [lo, hi). */
static void
compare(struct world *w, struct gpuva_vm *vm, uint64_t lo, uint64_t hi)
{
	struct gpuva *va;
	uint64_t a = lo;

	gpuva_vm_for_each_va_range(va, vm, lo, hi) {
		uint64_t s = va->addr < lo ? lo : va->addr;
		uint64_t e = gpuva_end(va) > hi ? hi : gpuva_end(va);

		for (; a < s; a++)
			CHECK(w, !unit(w, w->model, a)->used,
			      "model maps 0x%" PRIx64 ", VM does not\n", a);
		for (; a < e; a++) {
			const struct slot *m = unit(w, w->model, a);

			CHECK(w, m->used && m->addr == va->addr &&
			      m->range == va->range && m->offset == va->offset &&
			      m->bo == bo_id(gpuva_bo_of(va)),
			      "VM and model differ at 0x%" PRIx64 "\n", a);
		}
	}
	for (; a < hi; a++)
		CHECK(w, !unit(w, w->model, a)->used,
		      "model maps 0x%" PRIx64 ", VM does not\n", a);
}

static size_t
model_count(struct world *w)
{
	size_t n = 0;

	for (uint64_t i = 0; i < w->units; i++)
		n += w->model[i].used && w->model[i].addr == w->start + i;
	return n;
}

static struct req
random_req(struct world *w)
{
	struct req r = { 0 };
	uint64_t end = w->start + w->units;
	uint64_t k = below(w, 100);

	r.map = below(w, 100) < 65;
	r.addr = w->start + below(w, w->units);
	/* mostly small; sometimes spanning many mappings (bounded, so the
	 * model's per-unit work stays small in a large VM) */
	if (below(w, w->units > 16384 ? 64 : 8))
		r.range = 1 + below(w, 64);
	else
		r.range = 1 + below(w, (w->units > 65536 ? 65536 : w->units) / 4 + 1);
	if (r.addr + r.range > end)
		r.range = end - r.addr;
	if (k < 3) {		/* invalid ones, all -EINVAL */
		switch (below(w, 4)) {
		case 0: r.range = 0; break;
		case 1: r.addr = w->start - 1 - below(w, 8); break;
		case 2: r.range = end - r.addr + 1 + below(w, 8); break;
		default: r.addr = UINT64_MAX - below(w, 8); r.range = 16; break;
		}
	}
	r.bo = (uint32_t)below(w, NBO + 1);
	r.offset = below(w, 256);
	/* often continue the BO and offset already there: keep=1 cases */
	if (below(w, 2) && valid(w, r.addr, r.range)) {
		const struct slot *s = unit(w, w->model, r.addr);

		if (s->used && s->bo) {
			r.bo = s->bo;
			r.offset = s->offset + (r.addr - s->addr) +
				   (below(w, 4) ? 0 : 1);
		}
	}
	return r;
}

static void
run_one(struct world *w, const struct req *r)
{
	struct xop exp[MAX_OPS];
	bool ok = valid(w, r->addr, r->range);
	uint64_t lo = w->start, hi = w->start + w->units;
	size_t nexp = ok ? expect(w, r, exp, &lo, &hi) : 0;
	bool full = w->units <= 16384 || (w->nlog % 4096) == 0;

	if (!ok)
		hi = lo;	/* nothing may change: the full checks see it */

	w->log[w->nlog++] = *r;
	for (int mode = 0; mode < 2; mode++) {
		struct gpuva_vm *vm = w->vm[mode];
		struct gpuva_map_req mr = {
			.addr = r->addr, .range = r->range, .offset = r->offset,
			.bo = r->bo ? &w->bos[r->bo].base : NULL,
		};
		int ret;

		w->ngot = 0;
		if (mode == 0) {
			ret = r->map ? gpuva_vm_sm_map(vm, &mr, &steps, w)
				     : gpuva_vm_sm_unmap(vm, r->addr, r->range, &steps, w);
		} else {
			ret = r->map ? gpuva_vm_sm_map_ops(vm, &mr, &w->ops)
				     : gpuva_vm_sm_unmap_ops(vm, r->addr, r->range, &w->ops);
			if (!ret) {
				for (size_t i = 0; i < w->ops.count; i++)
					record(w, &w->ops.ops[i]);
				ret = gpuva_vm_apply_ops(vm, &w->ops);
			}
		}
		CHECK(w, ret == (ok ? 0 : -EINVAL), "mode %d returned %d\n", mode, ret);
		if (!ok) {
			CHECK(w, w->ngot == 0 && (mode == 0 || w->ops.count == 0),
			      "a rejected request produced ops\n");
			CHECK(w, gpuva_vm_last_error(vm)[0] != 0, "no reason given\n");
		} else {
			bool same = w->ngot == nexp;

			for (size_t i = 0; same && i < nexp; i++)
				same = same_op(&w->got[i], &exp[i]);
			if (!same) {
				print_ops("expected", exp, nexp);
				print_ops("got", w->got, w->ngot);
			}
			CHECK(w, same, "mode %d: ops differ from the model's\n", mode);
		}
		if (full)
			CHECK(w, gpuva_vm_check(vm) == 0, "%s\n",
			      gpuva_vm_last_error(vm));
	}
	if (ok) {
		/* the emitted ops, applied to the old model, must give the
		 * state the rules give; that state becomes the model */
		struct slot *want = w->scratch, *applied = w->scratch2;

		expected_state(w, r, want, lo, hi);
		memcpy(unit(w, applied, lo), unit(w, w->model, lo),
		       (hi - lo) * sizeof(*applied));
		apply_to_model(w, applied);
		for (uint64_t a = lo; a < hi; a++)
			CHECK(w, same_slot(unit(w, want, a), unit(w, applied, a)),
			      "ops applied to the model disagree with the rules at 0x%"
			      PRIx64 "\n", a);
		memcpy(unit(w, w->model, lo), unit(w, want, lo),
		       (hi - lo) * sizeof(*want));
	}
	if (full) {
		lo = w->start;
		hi = w->start + w->units;
	}
	for (int mode = 0; mode < 2; mode++)
		compare(w, w->vm[mode], lo, hi);
	if (full)
		for (int mode = 0; mode < 2; mode++)
			CHECK(w, gpuva_vm_count(w->vm[mode]) == model_count(w),
			      "VA count differs from the model\n");
}

static void
random_requests_match_the_model(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	struct gpuva_vm_desc desc = { 0 };

	(void)state;
	assert_non_null(w);
	w->rng.s = opt.seed;
	w->start = 0x100;
	w->units = opt.units;
	w->rsv_start = w->start + w->units - w->units / 8;
	w->rsv_range = w->units / 16;
	w->model = calloc(w->units, sizeof(*w->model));
	w->scratch = calloc(w->units, sizeof(*w->scratch));
	w->scratch2 = calloc(w->units, sizeof(*w->scratch2));
	assert_non_null(w->scratch2);
	w->log = calloc(opt.count, sizeof(*w->log));
	assert_non_null(w->model);
	assert_non_null(w->scratch);
	assert_non_null(w->log);
	for (uint32_t i = 1; i <= NBO; i++) {
		gpuva_bo_init(&w->bos[i].base, 0);
		w->bos[i].id = i;
	}
	desc.start = w->start;
	desc.range = w->units;
	desc.reserved_start = w->rsv_start;
	desc.reserved_range = w->rsv_range;
	for (int mode = 0; mode < 2; mode++)
		assert_int_equal(gpuva_vm_create(&desc, &w->vm[mode]), 0);

	for (size_t i = 0; i < opt.count; i++) {
		struct req r = random_req(w);

		/*
		 * Warm one of the two VMs only, toward this request and
		 * anywhere (a mix not drawn from the generator, so seeds
		 * keep their sequences): both must still match the model.
		 */
		if (i % 4 == 0) {
			uint64_t a[20], h = i * 0x9e3779b97f4a7c15ULL;

			a[0] = r.addr;
			a[1] = r.addr + r.range;
			for (size_t j = 2; j < 20; j++) {
				h ^= h >> 29;
				h *= 0xbf58476d1ce4e5b9ULL;
				a[j] = w->start + h % (w->units + 16) - 8;
			}
			gpuva_vm_warm(w->vm[0], a, 2 + i % 19);
		}
		run_one(w, &r);
	}
	for (int mode = 0; mode < 2; mode++) {
		compare(w, w->vm[mode], w->start, w->start + w->units);
		assert_int_equal(gpuva_vm_check(w->vm[mode]), 0);
		gpuva_vm_destroy(w->vm[mode]);
	}
	for (uint32_t i = 1; i <= NBO; i++)
		assert_int_equal(gpuva_bo_fini(&w->bos[i].base), 0);
	gpuva_ops_fini(&w->ops);
	free(w->model);
	free(w->scratch);
	free(w->scratch2);
	free(w->log);
	free(w);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_requests_match_the_model),
	};

	for (int i = 1; i < argc; i++) {
		/* a number as traces write them; a bad one is a usage error */
		uint64_t v = 0;
		bool num = i + 1 < argc && trace_parse_u64(argv[i + 1], &v);

		if (!strcmp(argv[i], "--seed") && num)
			opt.seed = v, i++;
		else if (!strcmp(argv[i], "--count") && num && v && v <= SIZE_MAX)
			opt.count = (size_t)v, i++;
		else if (!strcmp(argv[i], "--units") && num)
			opt.units = v, i++;
		else if (!strcmp(argv[i], "--save") && i + 1 < argc)
			opt.save = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--seed S] [--count N] [--units U] "
				"[--save FILE]\n", argv[0]);
			return 2;
		}
	}
	if (opt.units < 64) {
		fprintf(stderr, "--units must be at least 64\n");
		return 2;
	}
	printf("property-ops: seed 0x%" PRIx64 ", %zu requests, %" PRIu64 " units\n",
	       opt.seed, opt.count, opt.units);
	return cmocka_run_group_tests_name("property-ops", tests, NULL, NULL);
}
