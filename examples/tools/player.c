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

/*
 * The trace's number for a BO: a player_bo knows it; a kernel backend's BO
 * is found by its GEM handle.
 */
static uint32_t
bo_id(const struct player *p, const struct gpuva_bo *bo)
{
	if (!bo)
		return 0;
	if (p->handle_ids)
		return bo->handle < p->nhandle_ids ? p->handle_ids[bo->handle] : 0;
	return gpuva_container_of(bo, struct player_bo, base)->id;
}

/* Grow a zeroed array of @size-byte items to hold index @i. */
static bool
grow(void **arr, uint32_t *n, uint32_t i, size_t size)
{
	uint32_t m = *n ? *n : 64;
	char *a;

	if (i < *n)
		return true;
	while (m <= i)
		m *= 2;
	a = realloc(*arr, (size_t)m * size);
	if (!a)
		return false;
	memset(a + (size_t)*n * size, 0, (size_t)(m - *n) * size);
	*arr = a;
	*n = m;
	return true;
}

/*
 * A BO of a kernel backend, created on the device at its planned size,
 * private to the trace's VM (panthor's exclusive VM, msm's NO_SHARE), as a
 * driver makes the BOs it never exports.
 */
static struct gpuva_bo *
device_bo(struct player *p, uint32_t id)
{
	uint64_t size = id < p->nbo_sizes && p->bo_sizes[id] ? p->bo_sizes[id] : 1;
	struct gpuva_bo *bo;

	p->bo_error = gpuva_backend_bo_create(p->be, p->vm, size,
					      GPUVA_BACKEND_BO_PRIVATE, &bo);
	if (p->bo_error) {
		fprintf(stderr, "gpuva: bo %" PRIu32 " (0x%" PRIx64 " bytes): %s\n",
			id, size, gpuva_backend_last_error(p->be));
		return NULL;
	}
	if (!grow((void **)&p->handle_ids, &p->nhandle_ids, bo->handle,
		  sizeof(*p->handle_ids))) {
		gpuva_backend_bo_destroy(p->be, bo);
		p->bo_error = -ENOMEM;
		return NULL;
	}
	p->handle_ids[bo->handle] = id;
	return bo;
}

static struct gpuva_bo *
get_bo(struct player *p, uint32_t id)
{
	if (!id)
		return NULL;
	p->bo_error = -ENOMEM;
	if (!grow((void **)&p->bos, &p->nbos, id, sizeof(*p->bos)))
		return NULL;
	if (!p->bos[id] && p->bo_sizes) {
		p->bos[id] = device_bo(p, id);
	} else if (!p->bos[id]) {
		struct player_bo *bo = calloc(1, sizeof(*bo));

		if (!bo)
			return NULL;
		gpuva_bo_init(&bo->base, 0);	/* "large enough": unchecked */
		bo->base.handle = id;		/* what the sim prints */
		bo->id = id;
		p->bos[id] = &bo->base;
	}
	return p->bos[id];
}

int
player_plan_bos(struct player *p, const struct trace_buf *b)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct trace_req *r = &b->r[i];
		uint64_t end = r->offset + r->range;

		if (r->kind != TRACE_MAP || !r->bo)
			continue;
		if (end < r->offset) {
			fprintf(stderr, "gpuva: map 0x%" PRIx64 " 0x%" PRIx64
				" %" PRIu32 " 0x%" PRIx64 ": offset + range "
				"overflows, no device BO can be that big\n",
				r->addr, r->range, r->bo, r->offset);
			return -EINVAL;
		}
		if (!grow((void **)&p->bo_sizes, &p->nbo_sizes, r->bo,
			  sizeof(*p->bo_sizes)))
			return -ENOMEM;
		if (end > p->bo_sizes[r->bo])
			p->bo_sizes[r->bo] = end;
	}
	/* even a trace without maps plans: BOs then come from the device */
	if (!p->bo_sizes && !grow((void **)&p->bo_sizes, &p->nbo_sizes, 0,
				  sizeof(*p->bo_sizes)))
		return -ENOMEM;
	return 0;
}

static void
print_piece(const struct player *p, FILE *f, const struct gpuva_op_map *m)
{
	if (!m->range) {
		fputc('-', f);
		return;
	}
	fprintf(f, "0x%" PRIx64 ",0x%" PRIx64 ",%" PRIu32 ",0x%" PRIx64,
		m->addr, m->range, bo_id(p, m->bo), m->offset);
}

static void
hash_piece(const struct player *p, uint64_t *h, const struct gpuva_op_map *m)
{
	if (!m->range) {
		hmix(h, 0);
		return;
	}
	hmix(h, 1);
	hmix(h, m->addr);
	hmix(h, m->range);
	hmix(h, bo_id(p, m->bo));
	hmix(h, m->offset);
}

/* Print one op as `gpuva replay` shows it; kept out of the hashing path. */
static void __attribute__((noinline, cold))
print_op(const struct player *p, FILE *f, const struct gpuva_op *op)
{
	const struct gpuva *v;

	switch (op->type) {
	case GPUVA_OP_MAP:
		fprintf(f, "map 0x%" PRIx64 " 0x%" PRIx64 " %" PRIu32
			" 0x%" PRIx64 "\n", op->map.addr, op->map.range,
			bo_id(p, op->map.bo), op->map.offset);
		break;
	case GPUVA_OP_REMAP:
		v = op->remap.unmap.va;
		fprintf(f, "remap 0x%" PRIx64 " 0x%" PRIx64 " keep=%d prev=",
			v->addr, v->range, op->remap.unmap.keep);
		print_piece(p, f, &op->remap.prev);
		fputs(" next=", f);
		print_piece(p, f, &op->remap.next);
		fputc('\n', f);
		break;
	default:
		v = op->unmap.va;
		fprintf(f, "unmap 0x%" PRIx64 " 0x%" PRIx64 " %" PRIu32
			" 0x%" PRIx64 " keep=%d\n", v->addr, v->range,
			bo_id(p, gpuva_bo_of(v)), v->offset, op->unmap.keep);
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
		hash_piece(p, &h, &op->map);	/* 1, addr, range, bo, offset */
		break;
	case GPUVA_OP_REMAP:
		v = op->remap.unmap.va;
		p->st.remaps++;
		p->st.keeps += op->remap.unmap.keep;
		hmix(&h, 2);
		hmix(&h, v->addr);
		hmix(&h, v->range);
		hmix(&h, op->remap.unmap.keep);
		hash_piece(p, &h, &op->remap.prev);
		hash_piece(p, &h, &op->remap.next);
		break;
	default:
		v = op->unmap.va;
		p->st.unmaps++;
		p->st.keeps += op->unmap.keep;
		hmix(&h, 3);
		hmix(&h, v->addr);
		hmix(&h, v->range);
		hmix(&h, bo_id(p, gpuva_bo_of(v)));
		hmix(&h, v->offset);
		hmix(&h, op->unmap.keep);
		break;
	}
	p->hash = h;
	if (p->out)
		print_op(p, p->out, op);
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
			bo_id(p, gpuva_bo_of(va)), va->offset);
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
	desc.backend = p->be;
	ret = gpuva_vm_create(&desc, &p->vm);
	/* a backend's reason went to its log callback already (the tools') */
	if (ret)
		fprintf(stderr, "gpuva: vm 0x%" PRIx64 " 0x%" PRIx64
			": cannot create the VM (%s)\n", r->addr, r->range,
			strerror(-ret));
	return ret;
}

/* ---- on a backend: transactions ------------------------------------------------ */

static void
op_seen(void *priv, const struct gpuva_op *op)
{
	account(priv, op);
}

/* Commit @txn; a failure is the caller's to print. */
static int
commit(struct player *p, struct gpuva_bind *txn)
{
	struct gpuva_commit c = { 0 };
	int ret = gpuva_bind_commit(txn, &c);

	p->st.commits++;
	p->st.net_ops += c.net_count;
	if (ret)
		p->st.commit_errors++;
	return ret;
}

/*
 * A map or unmap on a backend: added to the open transaction, or made a
 * transaction of its own (one backend call). Ops are printed as they are
 * generated, exactly as without a backend.
 */
static int
bind_request(struct player *p, const struct trace_req *r,
	     const struct gpuva_map_req *req)
{
	struct gpuva_bind *txn = p->txn;
	int ret;

	if (!txn) {
		ret = gpuva_bind_begin(p->vm, &txn);
		if (ret)
			return ret;
	}
	gpuva_bind_set_op_fn(txn, op_seen, p);
	ret = r->kind == TRACE_MAP ? gpuva_bind_map(txn, req)
				   : gpuva_bind_unmap(txn, r->addr, r->range);
	if (p->txn)
		return ret;
	if (ret) {
		gpuva_bind_abort(txn);
		return ret;
	}
	return commit(p, txn);
}

/* `begin`, `commit`, `abort`: 0, or the errno to print after the line. */
static int
txn_line(struct player *p, const struct trace_req *r)
{
	if (!p->be || !p->vm)
		return -EINVAL;		/* no backend, or a degenerate VM */
	switch (r->kind) {
	case TRACE_BEGIN:
		return gpuva_bind_begin(p->vm, &p->txn);
	case TRACE_COMMIT: {
		struct gpuva_bind *txn = p->txn;

		if (!txn)
			return -EINVAL;
		p->txn = NULL;	/* the commit ends it, whatever comes of it */
		return commit(p, txn);
	}
	default:
		if (!p->txn)
			return -EINVAL;
		gpuva_bind_abort(p->txn);
		p->txn = NULL;
		return 0;
	}
}

/* After a commit: the mirror's invariants, and the sim's page table. */
static int
check_backend(struct player *p)
{
	struct gpuva_backend *be = p->be;

	if (gpuva_backend_is_sim(be) && !gpuva_sim_queued(be, p->vm)) {
		int ret = gpuva_sim_compare(be, p->vm);

		if (ret && ret != -EOPNOTSUPP) {
			fprintf(stderr, "gpuva: check failed: %s\n",
				gpuva_vm_last_error(p->vm));
			return -EINVAL;
		}
	}
	return 0;
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
	case TRACE_BEGIN:
	case TRACE_COMMIT:
	case TRACE_ABORT:
		if (p->out)
			trace_print_req(p->out, r);
		ret = txn_line(p, r);
		if (ret && p->out)
			fprintf(p->out, "error %d\n", ret);
		if (!ret && r->kind == TRACE_COMMIT && p->check)
			return check_backend(p);
		return 0;
	case TRACE_MAP: {
		struct gpuva_map_req req = {
			.addr = r->addr, .range = r->range,
			.bo = get_bo(p, r->bo), .offset = r->offset,
		};

		if (r->bo && !req.bo)
			return p->bo_error;
		if (p->out)
			trace_print_req(p->out, r);
		if (p->be)
			ret = bind_request(p, r, &req);
		else if (p->list_mode)
			ret = run_ops(p, gpuva_vm_sm_map_ops(p->vm, &req, &p->ops));
		else
			ret = gpuva_vm_sm_map(p->vm, &req, &steps, p);
		break;
	}
	default:
		if (p->out)
			trace_print_req(p->out, r);
		if (p->be)
			ret = bind_request(p, r, NULL);
		else if (p->list_mode)
			ret = run_ops(p, gpuva_vm_sm_unmap_ops(p->vm, r->addr,
							       r->range, &p->ops));
		else
			ret = gpuva_vm_sm_unmap(p->vm, r->addr, r->range, &steps, p);
		break;
	}
	p->st.requests++;
rejected:
	/*
	 * Rejected before anything was generated, or (on a backend) refused
	 * by it, or a commit of its own that failed: print and go on.
	 */
	if (ret == -EINVAL || (ret < 0 && p->be)) {
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
	/* a request of its own was a commit: check the page table too */
	if (p->check && p->be && !p->txn)
		return check_backend(p);
	return 0;
}

void
player_print_stats(const struct player *p, FILE *f)
{
	fprintf(f, "requests %" PRIu64 "\nops %" PRIu64 "\nlive_vas %zu\n"
		"errors %" PRIu64 "\nops_hash 0x%016" PRIx64 "\n",
		p->st.requests, p->st.ops, p->vm ? gpuva_vm_count(p->vm) : 0,
		p->st.errors, player_hash(p));
	if (p->be)
		fprintf(f, "commits %" PRIu64 "\ncommit_errors %" PRIu64
			"\nnet_ops %" PRIu64 "\n", p->st.commits,
			p->st.commit_errors, p->st.net_ops);
}

void
player_finish(struct player *p)
{
	if (!p->txn)
		return;
	fprintf(stderr, "gpuva: the trace ends inside a transaction: aborted\n");
	gpuva_bind_abort(p->txn);
	p->txn = NULL;
}

void
player_fini(struct player *p)
{
	gpuva_bind_abort(p->txn);
	gpuva_ops_fini(&p->ops);
	gpuva_vm_destroy(p->vm);
	for (uint32_t i = 0; i < p->nbos; i++) {
		if (!p->bos[i])
			continue;
		if (p->bo_sizes)
			gpuva_backend_bo_destroy(p->be, p->bos[i]);
		else
			free(gpuva_container_of(p->bos[i], struct player_bo, base));
	}
	free(p->bos);
	free(p->bo_sizes);
	free(p->handle_ids);
	memset(p, 0, sizeof(*p));
}
