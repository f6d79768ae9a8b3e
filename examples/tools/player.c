/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "player.h"

static inline void
hmix(uint64_t *h, uint64_t v)
{
	*h ^= v;
	*h *= 0x100000001b3ULL;
}

uint64_t
player_hash(const struct player *p)
{
	uint64_t h = p->hash;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static uint32_t
bo_id(const struct gpuva_bo *bo)
{
	return bo ? gpuva_container_of(bo, struct player_bo, base)->id : 0;
}

static struct gpuva_bo *
get_bo(struct player *p, uint32_t id)
{
	if (!id)
		return NULL;
	if (id >= p->nbos) {
		uint32_t n = p->nbos ? p->nbos : 64;
		struct player_bo **b;

		while (n <= id)
			n *= 2;
		b = realloc(p->bos, n * sizeof(*b));
		if (!b)
			return NULL;
		memset(b + p->nbos, 0, (n - p->nbos) * sizeof(*b));
		p->bos = b;
		p->nbos = n;
	}
	if (!p->bos[id]) {
		struct player_bo *bo = calloc(1, sizeof(*bo));

		if (!bo)
			return NULL;
		gpuva_bo_init(&bo->base, 0);	/* "large enough": unchecked */
		bo->id = id;
		p->bos[id] = bo;
	}
	return &p->bos[id]->base;
}

static void
print_piece(FILE *f, const struct gpuva_op_map *m)
{
	if (!m->range) {
		fputc('-', f);
		return;
	}
	fprintf(f, "0x%" PRIx64 ",0x%" PRIx64 ",%" PRIu32 ",0x%" PRIx64,
		m->addr, m->range, bo_id(m->bo), m->offset);
}

static void
hash_piece(uint64_t *h, const struct gpuva_op_map *m)
{
	if (!m->range) {
		hmix(h, 0);
		return;
	}
	hmix(h, 1);
	hmix(h, m->addr);
	hmix(h, m->range);
	hmix(h, bo_id(m->bo));
	hmix(h, m->offset);
}

/* Print one op as `gpuva replay` shows it; kept out of the hashing path. */
static void __attribute__((noinline, cold))
print_op(FILE *f, const struct gpuva_op *op)
{
	const struct gpuva *v;

	switch (op->type) {
	case GPUVA_OP_MAP:
		fprintf(f, "map 0x%" PRIx64 " 0x%" PRIx64 " %" PRIu32
			" 0x%" PRIx64 "\n", op->map.addr, op->map.range,
			bo_id(op->map.bo), op->map.offset);
		break;
	case GPUVA_OP_REMAP:
		v = op->remap.unmap.va;
		fprintf(f, "remap 0x%" PRIx64 " 0x%" PRIx64 " keep=%d prev=",
			v->addr, v->range, op->remap.unmap.keep);
		print_piece(f, &op->remap.prev);
		fputs(" next=", f);
		print_piece(f, &op->remap.next);
		fputc('\n', f);
		break;
	default:
		v = op->unmap.va;
		fprintf(f, "unmap 0x%" PRIx64 " 0x%" PRIx64 " %" PRIu32
			" 0x%" PRIx64 " keep=%d\n", v->addr, v->range,
			bo_id(gpuva_bo_of(v)), v->offset, op->unmap.keep);
		break;
	}
}

/*
 * Count and hash one op, before it is applied. The hash is drm_gpuvm's
 * oracle's, field for field, so that ops_hash can be compared.
 */
static void
account(struct player *p, const struct gpuva_op *op)
{
	uint64_t h = p->hash;	/* in a register while this op is mixed in */
	const struct gpuva *v;

	p->st.ops++;
	switch (op->type) {
	case GPUVA_OP_MAP:
		p->st.maps++;
		hash_piece(&h, &op->map);	/* 1, addr, range, bo, offset */
		break;
	case GPUVA_OP_REMAP:
		v = op->remap.unmap.va;
		p->st.remaps++;
		p->st.keeps += op->remap.unmap.keep;
		hmix(&h, 2);
		hmix(&h, v->addr);
		hmix(&h, v->range);
		hmix(&h, op->remap.unmap.keep);
		hash_piece(&h, &op->remap.prev);
		hash_piece(&h, &op->remap.next);
		break;
	default:
		v = op->unmap.va;
		p->st.unmaps++;
		p->st.keeps += op->unmap.keep;
		hmix(&h, 3);
		hmix(&h, v->addr);
		hmix(&h, v->range);
		hmix(&h, bo_id(gpuva_bo_of(v)));
		hmix(&h, v->offset);
		hmix(&h, op->unmap.keep);
		break;
	}
	p->hash = h;
	if (p->out)
		print_op(p->out, op);
}

/* Step callbacks: account, then apply at once, as kernel drivers do. */
static int
step_map(void *priv, const struct gpuva_op *op)
{
	struct player *p = priv;
	struct gpuva *va = gpuva_vm_va_alloc(p->vm);

	if (!va)
		return -ENOMEM;
	account(p, op);
	return gpuva_map(p->vm, va, &op->map);
}

static int
step_remap(void *priv, const struct gpuva_op *op)
{
	struct player *p = priv;
	struct gpuva *prev = NULL, *next = NULL;

	if (gpuva_op_remap_has_prev(&op->remap) &&
	    !(prev = gpuva_vm_va_alloc(p->vm)))
		return -ENOMEM;
	if (gpuva_op_remap_has_next(&op->remap) &&
	    !(next = gpuva_vm_va_alloc(p->vm))) {
		gpuva_vm_va_free(p->vm, prev);
		return -ENOMEM;
	}
	account(p, op);
	gpuva_remap(p->vm, prev, next, &op->remap);
	gpuva_vm_va_free(p->vm, op->remap.unmap.va);
	return 0;
}

static int
step_unmap(void *priv, const struct gpuva_op *op)
{
	struct player *p = priv;

	account(p, op);
	gpuva_unmap(p->vm, &op->unmap);
	gpuva_vm_va_free(p->vm, op->unmap.va);
	return 0;
}

static const struct gpuva_sm_steps steps = {
	.map = step_map,
	.remap = step_remap,
	.unmap = step_unmap,
};

void
player_dump(struct player *p)
{
	struct gpuva *va;

	if (!p->out)
		return;
	if (p->vm)
		gpuva_vm_for_each_va(va, p->vm)
		fprintf(p->out, "va 0x%" PRIx64 " 0x%" PRIx64 " %" PRIu32
			" 0x%" PRIx64 "\n", va->addr, va->range,
			bo_id(gpuva_bo_of(va)), va->offset);
	fputs("end\n", p->out);
}

static int
make_vm(struct player *p, const struct trace_req *r)
{
	struct gpuva_vm_desc desc = {
		.start = r->addr,
		.range = r->range,
		.reserved_start = r->rstart,
		.reserved_range = r->rrange,
	};
	int ret;

	if (p->out)
		trace_print_req(p->out, r);
	/*
	 * drm_gpuvm computes start + range and reserved start + range in 64
	 * bits and only warns when they wrap; requests are then checked
	 * against the wrapped ends. Reproduce that here, so that replay
	 * answers as drm_gpuvm does on any trace.
	 */
	if (r->addr + r->range <= r->addr) {
		p->vm_degenerate = true;	/* every request: -EINVAL */
		return 0;
	}
	if (r->rrange && r->rstart + r->rrange <= r->rstart) {
		p->rsv_wraps = true;
		p->rsv_start = r->rstart;
		p->rsv_end = r->rstart + r->rrange;
		desc.reserved_start = desc.reserved_range = 0;
	}
	ret = gpuva_vm_create(&desc, &p->vm);
	if (ret)
		fprintf(stderr, "gpuva: vm 0x%" PRIx64 " 0x%" PRIx64
			": cannot create the VM (%s)\n", r->addr, r->range,
			strerror(-ret));
	return ret;
}

static int
run_ops(struct player *p, int ret)
{
	if (ret)
		return ret;
	for (size_t i = 0; i < p->ops.count; i++)
		account(p, &p->ops.ops[i]);
	return gpuva_vm_apply_ops(p->vm, &p->ops);
}

/* A request drm_gpuvm rejects only because of a wrapped VM geometry. */
static bool
quirk_rejects(const struct player *p, const struct trace_req *r)
{
	uint64_t end;

	if (p->vm_degenerate)
		return true;
	if (!p->rsv_wraps)
		return false;
	end = r->addr + r->range;
	return end > r->addr && r->addr < p->rsv_end && p->rsv_start < end;
}

int
player_run(struct player *p, const struct trace_req *r)
{
	uint64_t live;
	int ret;

	if (r->kind != TRACE_VM && r->kind != TRACE_DUMP && quirk_rejects(p, r)) {
		if (p->out)
			trace_print_req(p->out, r);
		ret = -EINVAL;
		p->st.requests++;
		goto rejected;
	}

	switch (r->kind) {
	case TRACE_VM:
		return make_vm(p, r);
	case TRACE_DUMP:
		if (p->out)
			trace_print_req(p->out, r);
		player_dump(p);
		return 0;
	case TRACE_MAP: {
		struct gpuva_map_req req = {
			.addr = r->addr, .range = r->range,
			.bo = get_bo(p, r->bo), .offset = r->offset,
		};

		if (r->bo && !req.bo)
			return -ENOMEM;
		if (p->out)
			trace_print_req(p->out, r);
		if (p->list_mode)
			ret = run_ops(p, gpuva_vm_sm_map_ops(p->vm, &req, &p->ops));
		else
			ret = gpuva_vm_sm_map(p->vm, &req, &steps, p);
		break;
	}
	default:
		if (p->out)
			trace_print_req(p->out, r);
		if (p->list_mode)
			ret = run_ops(p, gpuva_vm_sm_unmap_ops(p->vm, r->addr,
							       r->range, &p->ops));
		else
			ret = gpuva_vm_sm_unmap(p->vm, r->addr, r->range, &steps, p);
		break;
	}
	p->st.requests++;
rejected:
	if (ret == -EINVAL) {
		/* rejected before anything was generated: print and go on */
		p->st.errors++;
		hmix(&p->hash, 4);
		hmix(&p->hash, (uint64_t)(int64_t)ret);
		if (p->out)
			fprintf(p->out, "error %d\n", ret);
		ret = 0;
	} else if (ret) {
		fprintf(stderr, "gpuva: %s\n", gpuva_vm_last_error(p->vm));
		return ret;
	}
	if (!p->vm)
		return 0;
	live = gpuva_vm_count(p->vm);
	if (live > p->peak_live)
		p->peak_live = live;
	if (p->check && gpuva_vm_check(p->vm)) {
		fprintf(stderr, "gpuva: check failed: %s\n",
			gpuva_vm_last_error(p->vm));
		return -EINVAL;
	}
	return 0;
}

void
player_fini(struct player *p)
{
	gpuva_ops_fini(&p->ops);
	gpuva_vm_destroy(p->vm);
	for (uint32_t i = 0; i < p->nbos; i++)
		free(p->bos[i]);
	free(p->bos);
	memset(p, 0, sizeof(*p));
}
