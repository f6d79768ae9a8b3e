/* SPDX-License-Identifier: MIT */
/*
 * The nouveau backend: libgpuva VMs on nouveau's VM_INIT / VM_BIND (Linux
 * 6.6+, driver 1.4.0), the interface NVK uses.
 *
 * It exists so that a driver's one sparse model works on nouveau too. A
 * libgpuva NULL mapping reads as zero; msm has MAP_NULL and panthor a
 * blackhole BO for that, but nouveau has sparse regions instead: a region
 * (MAP|SPARSE) reads zero where nothing is mapped, unmapping inside it makes
 * pages sparse again, it is destroyed only whole (UNMAP|SPARSE), and a MAP
 * must lie inside one region or outside all. So the backend keeps the
 * regions it made, and translates each commit so that afterwards the mirror
 * equals the kernel page by page:
 * - a NULL map inside one region is an UNMAP there (its pages go sparse);
 * - a NULL map touching no region creates one (MAP|SPARSE, after an UNMAP
 *   of BO pages there);
 * - a BO map lies inside one region or outside all, as the kernel wants;
 * - an unmap lies outside all regions or covers whole ones (UNMAP|SPARSE);
 * - anything else is refused when it is added (check()), with what to do
 *   instead. Every page of a region is therefore NULL or BO in the mirror,
 *   and NULL pages exist only inside regions.
 *
 * Regions live in three sorted lists per VM: the committed ones still
 * standing ("kept"), those the open transaction creates ("new") and the
 * committed ones it destroys ("dying"). check() sees request after request
 * and changes the lists with an undo log keyed by request index, so that a
 * request refused after check() passed, an abort or a failed commit rolls
 * them back exactly; bind() commits them once the ioctl succeeded.
 *
 * The ioctl of one commit: UNMAP|SPARSE of every dying region, then the net
 * effect cut at region edges (BO pieces as MAPs, NULL pieces inside kept
 * regions and unmapped pieces outside regions as UNMAPs), then per new region
 * an UNMAP of BO pages it covers, its MAP|SPARSE and the MAPs of its final BO
 * pages. The kernel validates region rules against the regions of before the
 * ioctl and applies ops in order (docs/kernels.md 5.3, 5.4): with a new region
 * never overlapping a dying one (check() refuses that), every op of this order
 * passes both.
 *
 * Left out: channels and EXEC (command submission), tiling (kinds beyond
 * the PTE kind a MAP carries), sync_file fences (VM_BIND has none).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xf86drm.h>

#include "kernel.h"
#include "nouveau_abi.h"
#include "registry.h"

/* The kernel window when the caller names none: NVK's [2^39, 2^40). */
#define NV_WIN_START	(1ull << 39)
#define NV_WIN_SIZE	(1ull << 39)

/* GEM handles a transaction has checked (GEM_INFO), kept for its requests. */
#define NV_KNOWN	8

struct nv_range {
	uint64_t addr, end;	/* [addr, end) */
};

/* Sorted by address, non-overlapping. */
struct nv_set {
	struct nv_range *r;
	size_t n, cap;
};

enum nv_list {
	NV_KEPT,	/* committed, still standing */
	NV_NEW,		/* made by the open transaction */
	NV_DYING,	/* committed, destroyed by the open transaction */
	NV_LISTS,
	NV_OUTSIDE = NV_LISTS,	/* a zone in no region */
};

/* One change of a list by request @req: undone by rewinding past it. */
struct nv_undo {
	uint32_t req;
	uint8_t list;		/* enum nv_list */
	bool added;		/* else removed */
	struct nv_range r;
};

struct nv_vm {
	struct kernel_timeline tl;
	uint64_t start, end;		/* the library VM */
	bool bound;			/* some ops reached the kernel */
	struct nv_set lists[NV_LISTS];
	struct nv_undo *log;
	size_t nlog, caplog;
	struct {
		uint32_t handle;
		uint64_t size;
	} known[NV_KNOWN];
	unsigned nknown;
	struct nv_abi_vm_bind_op *ops;	/* the ioctl being built */
	size_t nops, capops;
	struct nv_abi_sync *syncs;
	size_t capsyncs;
};

struct nouveau_backend {
	struct kernel_backend kb;
	pthread_mutex_t lock;		/* the fields below */
	uint64_t page_size;		/* the CPU's */
	bool inited;			/* VM_INIT done: the window is fixed */
	bool busy;			/* a library VM is on the fd */
	bool dirty;			/* a teardown failed: the kernel VM is not empty */
	uint64_t win_start, win_size;
};

static const struct gpuva_backend_ops nouveau_ops;

static struct nouveau_backend *
to_nv(const struct gpuva_backend *be)
{
	return gpuva_container_of(to_kernel(be), struct nouveau_backend, kb);
}

/* Room for @need items of @size bytes in *@p (capacity *@cap). */
static int
nv_reserve(void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 16;
	void *n;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	n = realloc(*p, c * size);
	if (!n)
		return -ENOMEM;
	*p = n;
	*cap = c;
	return 0;
}

/* ---- region lists --------------------------------------------------------- */

/* Index of the first range of @s ending after @x. */
static size_t
set_lower(const struct nv_set *s, uint64_t x)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->r[mid].end <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The first range of @s overlapping [a, e), or NULL. */
static const struct nv_range *
set_first(const struct nv_set *s, uint64_t a, uint64_t e)
{
	size_t i = set_lower(s, a);

	return i < s->n && s->r[i].addr < e ? &s->r[i] : NULL;
}

/* Insert @r (room reserved); the set stays sorted. */
static void
set_insert(struct nv_set *s, struct nv_range r)
{
	size_t i = set_lower(s, r.addr);

	memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(*s->r));
	s->r[i] = r;
	s->n++;
}

static void
set_remove(struct nv_set *s, uint64_t addr)
{
	size_t i = set_lower(s, addr);

	memmove(&s->r[i], &s->r[i + 1], (s->n - i - 1) * sizeof(*s->r));
	s->n--;
}

/* Room for @more changes by one request: list entries and log records. */
static int
lists_reserve(struct nv_vm *v, size_t more)
{
	for (int l = 0; l < NV_LISTS; l++)
		if (nv_reserve((void **)&v->lists[l].r, &v->lists[l].cap,
			       v->lists[l].n + more, sizeof(struct nv_range)))
			return -ENOMEM;
	return nv_reserve((void **)&v->log, &v->caplog, v->nlog + 2 * more,
			  sizeof(*v->log));
}

/* Change list @l for request @req, logged (room reserved). */
static void
list_change(struct nv_vm *v, uint32_t req, int l, bool add, struct nv_range r)
{
	if (add)
		set_insert(&v->lists[l], r);
	else
		set_remove(&v->lists[l], r.addr);
	v->log[v->nlog++] = (struct nv_undo){ req, (uint8_t)l, add, r };
}

/* Undo every change made by request @k and later ones. */
static void
lists_rewind(struct nv_vm *v, size_t k)
{
	while (v->nlog && v->log[v->nlog - 1].req >= k) {
		const struct nv_undo *u = &v->log[--v->nlog];

		if (u->added)
			set_remove(&v->lists[u->list], u->r.addr);
		else
			set_insert(&v->lists[u->list], u->r);
	}
}

/* The region of kept or new that overlaps [a, e) first, or NULL. */
static const struct nv_range *
live_first(const struct nv_vm *v, uint64_t a, uint64_t e)
{
	const struct nv_range *k = set_first(&v->lists[NV_KEPT], a, e);
	const struct nv_range *n = set_first(&v->lists[NV_NEW], a, e);

	if (!k || (n && n->addr < k->addr))
		return n;
	return k;
}

/* ---- check(): a request against the regions the earlier ones left ------- */

#define RANGE_FMT "[0x%" PRIx64 ", 0x%" PRIx64 ")"

/*
 * Refuse request @r: its text in trace syntax, a colon, the rule (printf
 * style). Formatted only here, so that accepted requests cost no text.
 */
static int __attribute__((format(printf, 4, 5)))
refuse(struct gpuva_vm *vm, int err, const struct gpuva_bind_op *r,
       const char *fmt, ...)
{
	char rule[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rule, sizeof(rule), fmt, ap);
	va_end(ap);
	if (r->kind == GPUVA_BIND_UNMAP)
		return gpuva_vm_reject(vm, err, "unmap 0x%" PRIx64 " 0x%" PRIx64
				       ": %s", r->addr, r->range, rule);
	return gpuva_vm_reject(vm, err, "map 0x%" PRIx64 " 0x%" PRIx64 " %"
			       PRIu32 " 0x%" PRIx64 ": %s", r->addr, r->range,
			       r->bo ? r->bo->handle : 0, r->offset, rule);
}

/*
 * The size of a GEM handle, from the transaction's cache or GEM_INFO:
 * -ENOENT when the fd has no such handle (what VM_BIND would answer).
 */
static int
handle_size(struct nouveau_backend *nb, struct nv_vm *v, uint32_t handle,
	    uint64_t *size)
{
	struct nv_abi_gem_info info = { .handle = handle };
	int ret;

	for (unsigned i = 0; i < v->nknown; i++) {
		if (v->known[i].handle == handle) {
			*size = v->known[i].size;
			return 0;
		}
	}
	ret = drmCommandWriteRead(nb->kb.fd, NV_ABI_GEM_INFO, &info, sizeof(info));
	if (ret)
		return ret;
	/* the oldest entry makes room */
	if (v->nknown == NV_KNOWN)
		memmove(&v->known[0], &v->known[1], sizeof(v->known[0]) * --v->nknown);
	v->known[v->nknown].handle = handle;
	v->known[v->nknown++].size = info.size;
	*size = info.size;
	return 0;
}

static int
check_bo_map(struct nouveau_backend *nb, struct nv_vm *v, struct gpuva_vm *vm,
	     const struct gpuva_bind_op *r)
{
	uint64_t e = r->addr + r->range, size;
	const struct nv_range *g;
	int ret;

	if (r->driver_flags & ~NV_ABI_BIND_KIND_MASK)
		return refuse(vm, -EINVAL, r, "driver flags 0x%" PRIx32 ": "
			      "nouveau's are the PTE kind, bits 0-7",
			      r->driver_flags);
	ret = handle_size(nb, v, r->bo->handle, &size);
	if (ret == -ENOENT)
		return refuse(vm, -ENOENT, r, "the fd has no GEM handle %" PRIu32,
			      r->bo->handle);
	if (ret)
		return refuse(vm, ret, r, "GEM_INFO of handle %" PRIu32 ": %s",
			      r->bo->handle, strerror(-ret));
	if (r->offset >= size || r->range > size - r->offset)
		return refuse(vm, -EINVAL, r, "beyond the end of GEM handle %"
			      PRIu32 " (0x%" PRIx64 " bytes)", r->bo->handle, size);
	g = live_first(v, r->addr, e);
	if (g && (g->addr > r->addr || g->end < e))
		return refuse(vm, -EINVAL, r, "straddles the edge of sparse "
			      "region " RANGE_FMT "; on nouveau a BO map lies "
			      "inside one sparse region or outside all of them",
			      g->addr, g->end);
	if (g)
		return 0;
	g = set_first(&v->lists[NV_DYING], r->addr, e);
	if (g && g->addr <= r->addr && e <= g->end)
		return refuse(vm, -EINVAL, r, "inside sparse region " RANGE_FMT
			      ", which this transaction unmaps; nouveau frees "
			      "a region only once its batch has run: commit the "
			      "unmap first", g->addr, g->end);
	if (g)
		return refuse(vm, -EINVAL, r, "straddles the edge of sparse "
			      "region " RANGE_FMT ", which this transaction "
			      "unmaps; commit the unmap first", g->addr, g->end);
	return 0;
}

static int
check_null_map(struct nv_vm *v, struct gpuva_vm *vm,
	       const struct gpuva_bind_op *r, uint32_t req)
{
	struct nv_range n = { r->addr, r->addr + r->range };
	const struct nv_range *g;

	if (r->driver_flags)
		return refuse(vm, -EINVAL, r, "driver flags 0x%" PRIx32 ": a "
			      "sparse page has no PTE kind on nouveau (flags "
			      "must be 0)", r->driver_flags);
	g = live_first(v, n.addr, n.end);
	if (g && g->addr <= n.addr && n.end <= g->end)
		return 0;	/* an UNMAP inside the region */
	if (g)
		return refuse(vm, -EINVAL, r, "straddles the edge of sparse "
			      "region " RANGE_FMT "; on nouveau a NULL map lies "
			      "inside one sparse region (to unbind pages of a "
			      "sparse resource) or touches none (to make a new "
			      "one)", g->addr, g->end);
	g = set_first(&v->lists[NV_DYING], n.addr, n.end);
	if (g && (g->addr != n.addr || g->end != n.end))
		return refuse(vm, -ENOSPC, r, "overlaps sparse region " RANGE_FMT
			      ", which this transaction unmaps; nouveau frees a "
			      "region only once its batch has run: commit the "
			      "unmap first", g->addr, g->end);
	if (lists_reserve(v, 1))
		return refuse(vm, -ENOMEM, r, "out of memory");
	if (g) {
		/* the same region again: it simply stays */
		list_change(v, req, NV_DYING, false, n);
		list_change(v, req, NV_KEPT, true, n);
	} else {
		list_change(v, req, NV_NEW, true, n);
	}
	return 0;
}

static int
check_unmap(struct nv_vm *v, struct gpuva_vm *vm, const struct gpuva_bind_op *r,
	    uint32_t req)
{
	uint64_t a = r->addr, e = r->addr + r->range;
	size_t count = 0;

	for (int l = NV_KEPT; l <= NV_NEW; l++) {
		const struct nv_set *s = &v->lists[l];

		for (size_t i = set_lower(s, a); i < s->n && s->r[i].addr < e; i++) {
			if (s->r[i].addr < a || s->r[i].end > e)
				return refuse(vm, -EINVAL, r, "cuts sparse region "
					      RANGE_FMT "; unmap the whole region "
					      "to free it, or map NULL over pages "
					      "to unbind them", s->r[i].addr,
					      s->r[i].end);
			count++;
		}
	}
	if (!count)
		return 0;
	if (lists_reserve(v, count))
		return refuse(vm, -ENOMEM, r, "out of memory");
	for (int l = NV_KEPT; l <= NV_NEW; l++) {
		struct nv_set *s = &v->lists[l];
		const struct nv_range *g;

		while ((g = set_first(s, a, e))) {
			struct nv_range gone = *g;

			list_change(v, req, l, false, gone);
			if (l == NV_KEPT)
				list_change(v, req, NV_DYING, true, gone);
		}
	}
	return 0;
}

static int
nouveau_check(struct gpuva_backend *be, void *vm_priv, struct gpuva_vm *vm,
	      const struct gpuva_bind_op *req, size_t index)
{
	struct nv_vm *v = vm_priv;

	lists_rewind(v, index);
	if (index == 0)
		v->nknown = 0;	/* handles may have changed between batches */
	if (req->kind == GPUVA_BIND_MAP)
		return check_bo_map(to_nv(be), v, vm, req);
	if (req->kind == GPUVA_BIND_MAP_NULL)
		return check_null_map(v, vm, req, (uint32_t)index);
	return check_unmap(v, vm, req, (uint32_t)index);
}

/* ---- bind(): the translation into one VM_BIND ------------------------------ */

static int
push_op(struct nv_vm *v, uint32_t op, uint32_t flags, uint64_t addr,
	uint64_t end, const struct gpuva_bo *bo, uint64_t offset)
{
	struct nv_abi_vm_bind_op *l = v->nops ? &v->ops[v->nops - 1] : NULL;

	/* neighbouring plain UNMAPs are one */
	if (l && op == NV_ABI_OP_UNMAP && !flags && l->op == NV_ABI_OP_UNMAP &&
	    !l->flags && l->addr + l->range == addr) {
		l->range = end - l->addr;
		return 0;
	}
	if (nv_reserve((void **)&v->ops, &v->capops, v->nops + 1, sizeof(*v->ops)))
		return -ENOMEM;
	v->ops[v->nops++] = (struct nv_abi_vm_bind_op){
		.op = op, .flags = flags, .handle = bo ? bo->handle : 0,
		.addr = addr, .bo_offset = offset, .range = end - addr,
	};
	return 0;
}

static int
push_map(struct nv_vm *v, const struct gpuva_bind_op *e, uint64_t x,
	 uint64_t end)
{
	return push_op(v, NV_ABI_OP_MAP, e->driver_flags & NV_ABI_BIND_KIND_MASK,
		       x, end, e->bo, e->offset + (x - e->addr));
}

/* What holds @x: a region of one of the lists, or none; and up to where. */
struct nv_zone {
	int list;		/* enum nv_list, or NV_OUTSIDE */
	uint64_t end;		/* the zone ends here, or at the caller's end */
};

static struct nv_zone
zone_at(const struct nv_vm *v, uint64_t x, uint64_t end)
{
	struct nv_zone z = { NV_OUTSIDE, end };

	for (int l = 0; l < NV_LISTS; l++) {
		const struct nv_set *s = &v->lists[l];
		size_t i = set_lower(s, x);

		if (i == s->n)
			continue;
		if (s->r[i].addr <= x) {
			/* the lists do not overlap: no other zone starts inside */
			z.list = l;
			z.end = s->r[i].end < end ? s->r[i].end : end;
			return z;
		}
		if (s->r[i].addr < z.end)
			z.end = s->r[i].addr;
	}
	return z;
}

/* A page the regions say cannot hold what it holds: refuse, send nothing. */
static int
inconsistent(struct gpuva_vm *vm, const struct gpuva_bind_op *e, uint64_t x)
{
	static const char *const kinds[] = { "a BO page", "a NULL page", "no page" };

	return gpuva_vm_reject(vm, -EINVAL, "nouveau: commit: 0x%" PRIx64
			       " would hold %s, which its sparse region state "
			       "forbids (the mirror and the region list "
			       "disagree: a library bug); nothing was sent",
			       x, kinds[e->kind]);
}

/* One net entry, outside the new regions, cut at region edges. */
static int
translate_entry(struct nv_vm *v, struct gpuva_vm *vm,
		const struct gpuva_bind_op *e)
{
	uint64_t x = e->addr, end = e->addr + e->range;

	while (x < end) {
		struct nv_zone z = zone_at(v, x, end);
		int ret = 0;

		if (e->kind == GPUVA_BIND_MAP && z.list != NV_DYING) {
			if (z.list != NV_NEW)
				ret = push_map(v, e, x, z.end);
		} else if (e->kind == GPUVA_BIND_MAP_NULL && z.list == NV_KEPT) {
			/* back to sparse */
			ret = push_op(v, NV_ABI_OP_UNMAP, 0, x, z.end, NULL, 0);
		} else if (e->kind == GPUVA_BIND_UNMAP && z.list == NV_OUTSIDE) {
			ret = push_op(v, NV_ABI_OP_UNMAP, 0, x, z.end, NULL, 0);
		} else if (!(e->kind == GPUVA_BIND_UNMAP && z.list == NV_DYING) &&
			   !(e->kind == GPUVA_BIND_MAP_NULL && z.list == NV_NEW)) {
			return inconsistent(vm, e, x);
		}
		if (ret)
			return ret;
		x = z.end;
	}
	return 0;
}

/*
 * A region the batch creates: clear it of BO pages, make it, and map the
 * BO pages it holds afterwards, which are the net effect's where it has
 * entries and the mirror's (unchanged) elsewhere. *@ni walks the net
 * effect along with the new regions, both sorted.
 */
static int
translate_new(struct nv_vm *v, const struct gpuva_bind_job *job,
	      const struct nv_range *g, size_t *ni)
{
	struct gpuva_vm *vm = job->vm;
	size_t i = *ni;
	uint64_t x = g->addr;
	int ret = 0;

	while (i < job->net_count && job->net[i].addr + job->net[i].range <= g->addr)
		i++;
	*ni = i;

	if (gpuva_vm_find_first(vm, g->addr, g->end - g->addr))
		ret = push_op(v, NV_ABI_OP_UNMAP, 0, g->addr, g->end, NULL, 0);
	if (!ret)
		ret = push_op(v, NV_ABI_OP_MAP, NV_ABI_BIND_SPARSE, g->addr,
			      g->end, NULL, 0);
	while (!ret && x < g->end) {
		const struct gpuva_bind_op *e = i < job->net_count ? &job->net[i] : NULL;
		uint64_t stop = e && e->addr < g->end ? e->addr : g->end;
		const struct gpuva *va;

		if (e && e->addr <= x) {
			uint64_t ee = e->addr + e->range;

			stop = ee < g->end ? ee : g->end;
			if (e->kind == GPUVA_BIND_MAP)
				ret = push_map(v, e, x, stop);
			else if (e->kind == GPUVA_BIND_UNMAP)
				ret = inconsistent(vm, e, x);
			i++;
			x = stop;
			continue;
		}
		/* untouched by the batch: what the mirror holds */
		for (va = gpuva_vm_find_first(vm, x, stop - x);
		     !ret && va && va->addr < stop; va = gpuva_vm_next(vm, va)) {
			uint64_t a = va->addr > x ? va->addr : x;
			uint64_t b = gpuva_end(va) < stop ? gpuva_end(va) : stop;
			struct gpuva_bind_op m = {
				.kind = gpuva_bo_of(va) ? GPUVA_BIND_MAP
							: GPUVA_BIND_MAP_NULL,
				.addr = va->addr,
				.bo = gpuva_bo_of(va), .offset = va->offset,
				.driver_flags = gpuva_driver_flags(va),
			};

			if (!m.bo)
				ret = inconsistent(vm, &m, a);
			else
				ret = push_map(v, &m, a, b);
		}
		x = stop;
	}
	return ret;
}

/* The ops of the whole batch into v->ops (docs/kernels.md 5.3, 5.4 order). */
static int
translate(struct nv_vm *v, const struct gpuva_bind_job *job)
{
	const struct nv_set *dying = &v->lists[NV_DYING], *made = &v->lists[NV_NEW];
	size_t ni = 0;
	int ret = 0;

	v->nops = 0;
	for (size_t i = 0; !ret && i < dying->n; i++)
		ret = push_op(v, NV_ABI_OP_UNMAP, NV_ABI_BIND_SPARSE,
			      dying->r[i].addr, dying->r[i].end, NULL, 0);
	for (size_t i = 0; !ret && i < job->net_count; i++)
		ret = translate_entry(v, job->vm, &job->net[i]);
	for (size_t i = 0; !ret && i < made->n; i++)
		ret = translate_new(v, job, &made->r[i], &ni);
	if (ret == -ENOMEM)
		return gpuva_vm_reject(job->vm, -ENOMEM, "nouveau: commit: out of "
				       "memory for the ioctl's ops");
	return ret;
}

/* What a commit asks that this kernel cannot do. */
static int
check_commit(struct nouveau_backend *nb, struct gpuva_vm *vm,
	     const struct gpuva_commit *c)
{
	struct kernel_backend *kb = &nb->kb;
	int ret;

	if (c->flags & (GPUVA_COMMIT_FENCE_FD_IN | GPUVA_COMMIT_FENCE_FD_OUT))
		return gpuva_vm_reject(vm, -EOPNOTSUPP, "commit: nouveau's "
				       "VM_BIND takes no sync_file fences (use "
				       "syncobjs)");
	ret = kernel_check_points(kb, vm, c->waits, c->wait_count, "wait");
	if (!ret)
		ret = kernel_check_points(kb, vm, c->signals, c->signal_count,
					  "signal");
	if (ret)
		return ret;
	if (!kb->timeline && !(c->flags & GPUVA_COMMIT_ASYNC) &&
	    (c->wait_count || c->signal_count))
		return gpuva_vm_reject(vm, -EOPNOTSUPP, "commit: a synchronous "
				       "commit with sync points waits for its "
				       "job on a timeline syncobj, which this "
				       "kernel lacks; commit asynchronously");
	return 0;
}

static struct nv_abi_sync
nv_sync(const struct gpuva_sync *s)
{
	return (struct nv_abi_sync){
		.flags = s->point ? NV_ABI_SYNC_TIMELINE_SYNCOBJ : NV_ABI_SYNC_SYNCOBJ,
		.handle = s->handle, .timeline_value = s->point,
	};
}

/*
 * Send v->ops. With timeline syncobjs every commit runs as a job
 * (RUN_ASYNC) that also signals point @seq of the VM's timeline, and a
 * synchronous one then waits for that point: the kernel checks the sync
 * objects together with the ops (all or nothing), and the point is reached
 * when the page tables are, even if a synchronous ioctl's own wait were cut
 * short. Without timelines a synchronous commit is a synchronous ioctl.
 * v->syncs has room for every point and the VM's own.
 */
static int
submit(struct nouveau_backend *nb, struct nv_vm *v, const struct gpuva_commit *c,
       uint64_t seq)
{
	struct kernel_backend *kb = &nb->kb;
	bool async = c->flags & GPUVA_COMMIT_ASYNC;
	struct nv_abi_vm_bind b = {
		.op_count = (uint32_t)v->nops,
		.wait_count = c->wait_count, .sig_count = c->signal_count,
		.op_ptr = (uintptr_t)v->ops,
	};
	int ret;

	for (uint32_t i = 0; i < c->wait_count; i++)
		v->syncs[i] = nv_sync(&c->waits[i]);
	for (uint32_t i = 0; i < c->signal_count; i++)
		v->syncs[c->wait_count + i] = nv_sync(&c->signals[i]);
	if (v->tl.handle) {
		struct gpuva_sync own = { .handle = v->tl.handle, .point = seq };

		v->syncs[b.wait_count + b.sig_count++] = nv_sync(&own);
	}
	b.wait_ptr = (uintptr_t)v->syncs;
	b.sig_ptr = (uintptr_t)(v->syncs + c->wait_count);
	if (async || v->tl.handle)
		b.flags = NV_ABI_BIND_RUN_ASYNC;
	ret = drmCommandWriteRead(kb->fd, NV_ABI_VM_BIND, &b, sizeof(b));
	if (ret)
		return ret;
	v->tl.submitted = seq;
	/* the batch is in: a failed wait cannot undo it, so it is not one */
	if (!async && v->tl.handle)
		kernel_timeline_wait(kb, &v->tl, seq, INT64_MAX);
	return 0;
}

/* The batch is in the kernel: its regions are the committed ones now. */
static void
lists_commit(struct nv_vm *v)
{
	struct nv_set *k = &v->lists[NV_KEPT], *m = &v->lists[NV_NEW];
	size_t i = k->n, j = m->n, o = k->n + m->n;

	/* merge from the back; bind() reserved the room */
	while (j) {
		if (i && k->r[i - 1].addr > m->r[j - 1].addr)
			k->r[--o] = k->r[--i];
		else
			k->r[--o] = m->r[--j];
	}
	k->n += m->n;
	m->n = 0;
	v->lists[NV_DYING].n = 0;
	v->nlog = 0;
}

static int
nouveau_bind(struct gpuva_backend *be, const struct gpuva_bind_job *job,
	     struct gpuva_bind_result *res)
{
	struct nouveau_backend *nb = to_nv(be);
	struct nv_vm *v = job->vm_priv;
	const struct gpuva_commit *c = job->commit;
	struct nv_set *k = &v->lists[NV_KEPT];
	int ret;

	(void)res;	/* nouveau applies all ops or none */
	lists_rewind(v, job->req_count);
	ret = check_commit(nb, job->vm, c);
	if (!ret)
		ret = translate(v, job);
	if (!ret && (nv_reserve((void **)&k->r, &k->cap,
				k->n + v->lists[NV_NEW].n, sizeof(*k->r)) ||
		     nv_reserve((void **)&v->syncs, &v->capsyncs,
				(size_t)c->wait_count + c->signal_count + 1,
				sizeof(*v->syncs))))
		ret = gpuva_vm_reject(job->vm, -ENOMEM, "nouveau: commit: out "
				      "of memory");
	if (!ret && v->nops > INT32_MAX / sizeof(*v->ops))
		ret = gpuva_vm_reject(job->vm, -ENOMEM, "nouveau: commit: %zu "
				      "ops are more than one VM_BIND takes",
				      v->nops);
	if (ret)
		goto fail;
	if (!v->nops && !c->wait_count && !c->signal_count) {
		/* nothing for the kernel to do, nothing to signal */
		kernel_timeline_skip(&v->tl, job->seq);
		lists_commit(v);
		return 0;
	}
	ret = submit(nb, v, c, job->seq);
	if ((ret == -EINVAL || ret == -ENOENT) &&
	    kernel_blame_syncs(&nb->kb, job->vm, c, ret))
		goto fail;
	if (ret) {
		ret = gpuva_vm_reject(job->vm, ret, "nouveau: VM_BIND of %zu ops "
				      "(%" PRIu32 " waits, %" PRIu32 " signals) "
				      "failed: %s; nothing changed (nouveau "
				      "applies all ops or none)", v->nops,
				      c->wait_count, c->signal_count,
				      strerror(-ret));
		goto fail;
	}
	v->bound |= v->nops != 0;
	lists_commit(v);
	return 0;
fail:
	kernel_timeline_skip(&v->tl, job->seq);
	lists_rewind(v, 0);
	return ret;
}

static uint64_t
nouveau_completed(struct gpuva_backend *be, void *vm_priv)
{
	return kernel_timeline_completed(to_kernel(be),
					 &((struct nv_vm *)vm_priv)->tl);
}

static int
nouveau_wait(struct gpuva_backend *be, void *vm_priv, uint64_t seq,
	     int64_t timeout_ns)
{
	return kernel_timeline_wait(to_kernel(be), &((struct nv_vm *)vm_priv)->tl,
				    seq, timeout_ns);
}

/* ---- VMs ------------------------------------------------------------------- */

/*
 * The geometry of a new VM: the caller's range inside [0, 2^47) (range 0:
 * all of it), the kernel window (the caller's reserved range, or NVK's
 * default outside the caller's range), the CPU page size.
 */
static int
vm_geometry(struct nouveau_backend *nb, struct gpuva_vm_desc *d,
	    uint64_t *win_start, uint64_t *win_size)
{
	struct gpuva_backend *be = &nb->kb.base;
	uint64_t ps = nb->page_size;

	if (!d->range && d->start)
		return gpuva_backend_reject(be, -EINVAL, "vm 0x%" PRIx64 " 0x0: "
					    "range 0 means all of nouveau's VA "
					    "space [0, 2^47), so start must be 0",
					    d->start);
	if (!d->range) {
		d->range = NV_ABI_VA_END;
		if (!d->reserved_range) {
			d->reserved_start = NV_WIN_START;
			d->reserved_range = NV_WIN_SIZE;
		}
	}
	if (d->start >= NV_ABI_VA_END || d->range > NV_ABI_VA_END - d->start)
		return gpuva_backend_reject(be, -EINVAL, "vm 0x%" PRIx64 " 0x%"
					    PRIx64 ": beyond nouveau's VA space "
					    "[0, 0x%llx)", d->start, d->range,
					    NV_ABI_VA_END);
	if (!d->page_size)
		d->page_size = ps;
	if (d->page_size < ps || d->page_size & (d->page_size - 1))
		return gpuva_backend_reject(be, -EINVAL, "vm: page size 0x%" PRIx64
					    " is not a power-of-two multiple of "
					    "the CPU page size 0x%" PRIx64
					    ", nouveau's bind unit", d->page_size,
					    ps);
	if ((d->start | d->range | d->reserved_start | d->reserved_range) &
	    (d->page_size - 1))
		return gpuva_backend_reject(be, -EINVAL, "vm 0x%" PRIx64 " 0x%"
					    PRIx64 " reserved 0x%" PRIx64 " 0x%"
					    PRIx64 ": not aligned to the page "
					    "size 0x%" PRIx64, d->start, d->range,
					    d->reserved_start, d->reserved_range,
					    d->page_size);
	if (d->reserved_range) {
		if (d->reserved_start >= NV_ABI_VA_END ||
		    d->reserved_range > NV_ABI_VA_END - d->reserved_start)
			return gpuva_backend_reject(be, -EINVAL, "vm: reserved "
						    "range 0x%" PRIx64 " 0x%" PRIx64
						    " (the kernel's window) is "
						    "beyond nouveau's VA space "
						    "[0, 0x%llx)", d->reserved_start,
						    d->reserved_range,
						    NV_ABI_VA_END);
		*win_start = d->reserved_start;
		*win_size = d->reserved_range;
		return 0;
	}
	if (d->start < NV_WIN_START + NV_WIN_SIZE && NV_WIN_START < d->start + d->range)
		return gpuva_backend_reject(be, -EINVAL, "vm 0x%" PRIx64 " 0x%"
					    PRIx64 ": overlaps nouveau's default "
					    "kernel window [0x%llx, 0x%llx); "
					    "give the VM a reserved range for "
					    "the kernel", d->start, d->range,
					    NV_WIN_START, NV_WIN_START + NV_WIN_SIZE);
	*win_start = NV_WIN_START;
	*win_size = NV_WIN_SIZE;
	return 0;
}

/* VM_INIT, once per fd; or the fd's VM again, emptied by its last owner. */
static int
vm_claim(struct nouveau_backend *nb, uint64_t win_start, uint64_t win_size)
{
	struct gpuva_backend *be = &nb->kb.base;
	struct nv_abi_vm_init init = { win_start, win_size };
	int ret;

	if (nb->busy)
		return gpuva_backend_reject(be, -EBUSY, "vm: nouveau has one VM "
					    "per fd and this fd's is in use; open "
					    "the device again for another");
	if (nb->inited && nb->dirty)
		return gpuva_backend_reject(be, -EBUSY, "vm: the fd's VM could "
					    "not be emptied when its last owner "
					    "went; open the device again");
	if (nb->inited && (win_start != nb->win_start || win_size != nb->win_size))
		return gpuva_backend_reject(be, -EBUSY, "vm: kernel window 0x%"
					    PRIx64 " 0x%" PRIx64 ": VM_INIT runs "
					    "once per fd and set 0x%" PRIx64
					    " 0x%" PRIx64 "; open the device "
					    "again for another window", win_start,
					    win_size, nb->win_start, nb->win_size);
	if (!nb->inited) {
		ret = drmCommandWriteRead(nb->kb.fd, NV_ABI_VM_INIT, &init,
					  sizeof(init));
		if (ret == -ENOSYS)
			return gpuva_backend_reject(be, ret, "vm: VM_INIT: VM_BIND "
						    "is off on this fd (a BO or "
						    "channel came first); open "
						    "the device again");
		if (ret)
			return gpuva_backend_reject(be, ret, "vm: VM_INIT 0x%" PRIx64
						    " 0x%" PRIx64 ": %s", win_start,
						    win_size, strerror(-ret));
		nb->inited = true;
		nb->win_start = win_start;
		nb->win_size = win_size;
	}
	nb->busy = true;
	return 0;
}

static void
nv_vm_free(struct nouveau_backend *nb, struct nv_vm *v)
{
	kernel_timeline_fini(&nb->kb, &v->tl);
	for (int l = 0; l < NV_LISTS; l++)
		free(v->lists[l].r);
	free(v->log);
	free(v->ops);
	free(v->syncs);
	free(v);
}

static int
nouveau_vm_init(struct gpuva_backend *be, struct gpuva_vm_desc *desc,
		void **vm_priv)
{
	struct nouveau_backend *nb = to_nv(be);
	uint64_t win_start = 0, win_size = 0;
	struct nv_vm *v;
	int ret;

	ret = vm_geometry(nb, desc, &win_start, &win_size);
	if (ret)
		return ret;
	v = calloc(1, sizeof(*v));
	if (!v)
		return gpuva_backend_reject(be, -ENOMEM, "vm: out of memory");
	ret = kernel_timeline_init(&nb->kb, &v->tl);
	if (ret) {
		free(v);
		return gpuva_backend_reject(be, ret, "vm: timeline syncobj: %s",
					    strerror(-ret));
	}
	v->start = desc->start;
	v->end = desc->start + desc->range;
	pthread_mutex_lock(&nb->lock);
	ret = vm_claim(nb, win_start, win_size);
	pthread_mutex_unlock(&nb->lock);
	if (ret) {
		nv_vm_free(nb, v);
		return ret;
	}
	*vm_priv = v;
	return 0;
}

/* Push an UNMAP of [a, e) minus the kernel window. */
static int
push_unmap_around(struct nouveau_backend *nb, struct nv_vm *v, uint64_t a,
		  uint64_t e)
{
	uint64_t ws = nb->win_start, we = nb->win_start + nb->win_size;
	int ret = 0;

	if (a < ws)
		ret = push_op(v, NV_ABI_OP_UNMAP, 0, a, e < ws ? e : ws, NULL, 0);
	if (!ret && e > we)
		ret = push_op(v, NV_ABI_OP_UNMAP, 0, a > we ? a : we, e, NULL, 0);
	return ret;
}

/*
 * Empty the kernel VM (it lives as long as the fd): every region, every
 * mapping. Queued behind the VM's jobs without waiting, so that a job
 * still waiting for its sync points cannot block the teardown.
 */
static void
nouveau_vm_fini(struct gpuva_backend *be, void *vm_priv)
{
	struct nouveau_backend *nb = to_nv(be);
	struct nv_vm *v = vm_priv;
	const struct nv_set *k = &v->lists[NV_KEPT];
	int ret = 0;

	lists_rewind(v, 0);
	v->nops = 0;
	if (v->bound) {
		for (size_t i = 0; !ret && i < k->n; i++)
			ret = push_op(v, NV_ABI_OP_UNMAP, NV_ABI_BIND_SPARSE,
				      k->r[i].addr, k->r[i].end, NULL, 0);
		if (!ret)
			ret = push_unmap_around(nb, v, v->start, v->end);
	}
	if (!ret && v->nops) {
		struct nv_abi_vm_bind b = {
			.op_count = (uint32_t)v->nops,
			.flags = NV_ABI_BIND_RUN_ASYNC,
			.op_ptr = (uintptr_t)v->ops,
		};

		ret = drmCommandWriteRead(nb->kb.fd, NV_ABI_VM_BIND, &b, sizeof(b));
	}
	if (ret)
		gpuva_backend_reject(be, ret, "vm destroy: the kernel VM could "
				     "not be emptied (%s); the fd takes no "
				     "other VM", strerror(-ret));
	pthread_mutex_lock(&nb->lock);
	nb->busy = false;
	nb->dirty |= ret != 0;
	pthread_mutex_unlock(&nb->lock);
	nv_vm_free(nb, v);
}

/* ---- BOs, the backend ------------------------------------------------------ */

static int
nouveau_bo_create(struct gpuva_backend *be, void *vm_priv, uint64_t size,
		  uint32_t flags, struct gpuva_bo **out)
{
	struct nouveau_backend *nb = to_nv(be);
	uint64_t ps = nb->page_size;
	struct nv_abi_gem_new g = { .info = {
		.domain = NV_ABI_DOMAIN_VRAM | NV_ABI_DOMAIN_GART,
	} };
	struct kernel_bo *bo;
	bool inited;
	int ret;

	pthread_mutex_lock(&nb->lock);
	inited = nb->inited;
	pthread_mutex_unlock(&nb->lock);
	if (!inited)
		return gpuva_backend_reject(be, -EINVAL, "bo_create 0x%" PRIx64
					    ": nouveau needs VM_INIT before any "
					    "BO (a BO first disables VM_BIND for "
					    "good): create the VM first", size);
	if (size > UINT64_MAX - (ps - 1))
		return gpuva_backend_reject(be, -EINVAL, "bo_create 0x%" PRIx64
					    ": too big", size);
	g.info.size = (size + ps - 1) & ~(ps - 1);
	if (flags & GPUVA_BACKEND_BO_PRIVATE)
		g.info.domain |= NV_ABI_DOMAIN_NO_SHARE;
	ret = drmCommandWriteRead(nb->kb.fd, NV_ABI_GEM_NEW, &g, sizeof(g));
	if (ret)
		return gpuva_backend_reject(be, ret, "bo_create 0x%" PRIx64
					    ": GEM_NEW: %s", size, strerror(-ret));
	bo = kernel_bo_new(g.info.handle, g.info.size, vm_priv, flags);
	if (!bo) {
		drmCloseBufferHandle(nb->kb.fd, g.info.handle);
		return gpuva_backend_reject(be, -ENOMEM, "bo_create: out of memory");
	}
	*out = &bo->base;
	return 0;
}

static void
nouveau_destroy(struct gpuva_backend *be)
{
	struct nouveau_backend *nb = to_nv(be);

	pthread_mutex_destroy(&nb->lock);
	free(nb);
}

static const struct gpuva_backend_ops nouveau_ops = {
	.name = "nouveau",
	.caps = GPUVA_BACKEND_SYNCS,
	.vm_init = nouveau_vm_init,
	.vm_fini = nouveau_vm_fini,
	.check = nouveau_check,
	.bind = nouveau_bind,
	.completed = nouveau_completed,
	.wait = nouveau_wait,
	.sync_create = kernel_sync_create,
	.sync_destroy = kernel_sync_destroy,
	.sync_signal = kernel_sync_signal,
	.sync_wait = kernel_sync_wait,
	.bo_create = nouveau_bo_create,
	.bo_destroy = kernel_bo_destroy,
	.destroy = nouveau_destroy,
};

/* Is the fd nouveau 1.4.0 or later? "" if so, else why not into @why. */
static bool
version_ok(int major, int minor, int patch, char *why, size_t size)
{
	if (major > 1 || (major == 1 && minor >= 4))
		return true;
	snprintf(why, size, "driver %d.%d.%d < 1.4.0: no VM_BIND (Linux 6.6 "
		 "or later)", major, minor, patch);
	return false;
}

static long
cpu_page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	return ps > 0 ? ps : 4096;
}

int
nouveau_backend_create(const struct gpuva_backend_desc *desc,
		       struct gpuva_backend **out)
{
	struct gpuva_backend tmp;
	struct nouveau_backend *nb;
	drmVersionPtr ver;
	char why[128];
	bool ok;
	int ret;

	gpuva_backend_init(&tmp, &nouveau_ops, desc);
	if (!desc || desc->fd < 0)
		return gpuva_backend_reject(&tmp, -EINVAL, "nouveau: needs the fd "
					    "of a render node");
	if (desc->flags || desc->page_size)
		return gpuva_backend_reject(&tmp, -EINVAL, "nouveau: flags 0x%"
					    PRIx32 ", page size 0x%" PRIx64
					    ": must be 0 (the page size is the "
					    "CPU's)", desc->flags, desc->page_size);
	/* only DRM_IOCTL_VERSION and GET_CAP: nothing that decides the mode */
	ver = drmGetVersion(desc->fd);
	if (!ver)
		return gpuva_backend_reject(&tmp, -ENODEV, "nouveau: fd %d is not "
					    "a DRM device", desc->fd);
	ok = ver->name && !strcmp(ver->name, "nouveau");
	if (!ok)
		snprintf(why, sizeof(why), "a %s device, not nouveau",
			 ver->name ? ver->name : "nameless");
	else
		ok = version_ok(ver->version_major, ver->version_minor,
				ver->version_patchlevel, why, sizeof(why));
	drmFreeVersion(ver);
	if (!ok)
		return gpuva_backend_reject(&tmp, -ENODEV, "nouveau: fd %d: %s",
					    desc->fd, why);
	nb = calloc(1, sizeof(*nb));
	if (!nb)
		return gpuva_backend_reject(&tmp, -ENOMEM, "nouveau: out of memory");
	if (pthread_mutex_init(&nb->lock, NULL)) {
		free(nb);
		return gpuva_backend_reject(&tmp, -ENOMEM, "nouveau: no mutex");
	}
	ret = kernel_backend_init(&nb->kb, &nouveau_ops, desc);
	if (ret) {
		nouveau_destroy(&nb->kb.base);
		return ret;
	}
	nb->page_size = (uint64_t)cpu_page_size();
	*out = &nb->kb.base;
	return 0;
}

int
nouveau_probe(int fd, struct gpuva_drm_node *node)
{
	struct nv_abi_vm_init init = { NV_WIN_START, NV_WIN_SIZE };
	int ret;

	if (!version_ok(node->version[0], node->version[1], node->version[2],
			node->why, sizeof(node->why)))
		return 0;
	/* the throw-away fd: VM_INIT is the real test, and creates no BO */
	ret = drmCommandWriteRead(fd, NV_ABI_VM_INIT, &init, sizeof(init));
	if (ret) {
		snprintf(node->why, sizeof(node->why), "VM_INIT on a fresh fd: %s",
			 strerror(-ret));
		return 0;
	}
	node->vm_bind = true;
	node->va_start = 0;
	node->va_range = NV_ABI_VA_END;
	node->page_size = (uint64_t)cpu_page_size();
	snprintf(node->null_mode, sizeof(node->null_mode), "sparse regions");
	return 0;
}
