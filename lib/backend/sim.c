/* SPDX-License-Identifier: MIT */
/*
 * The sim backend: a software GPU page table behind the backend interface.
 *
 * It exists so that everything above the ioctl boundary runs, and is
 * checked, without a GPU: the demo, the examples, the tests. Its page
 * table is kept as runs of pages (so a 1-byte page size and huge ranges
 * cost the same), applied entry by entry from each batch's net effect, and
 * compared with the mirror on demand (gpuva_sim_compare()). It models what
 * matters to a driver about a kernel queue: batches run in order, an
 * asynchronous one waits for its sync points, a failure can hit any call
 * (gpuva_sim_inject()). It leaves out timing: nothing runs on its own, so
 * a batch runs when the call that makes it ready returns.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bind/bind_internal.h"
#include "gpuva/sim.h"
#include "index/index.h"
#include "registry.h"
#include "util/util.h"

/* A run of pages holding the same thing; the index's item (key first). */
struct sim_run {
	uint64_t addr, len;	/* key and extent, as the index reads them */
	struct gpuva_bo *bo;	/* GPUVA_SIM_BO */
	uint64_t offset;	/* BO offset of addr */
	uint32_t kind;		/* enum gpuva_sim_page_kind */
	uint32_t driver_flags;
};

/* A batch waiting for its sync points, with what running it takes. */
struct sim_batch {
	struct sim_batch *next;
	uint64_t seq;
	struct gpuva_bind_op *entries;
	size_t n;
	struct gpuva_sync *syncs;	/* waits, then signals */
	uint32_t nwait, nsignal;
	struct sim_run **runs;		/* three per entry, taken at bind */
	size_t nruns;
};

struct sim_vm {
	struct sim_vm *next, *prev;
	struct idx runs;		/* the page table */
	struct sim_batch *queue, *queue_tail;
	size_t queued;
	size_t queued_inserts;		/* reserved in runs for the queue */
	uint64_t last_seq, done_seq;
	bool lost;
};

struct sim_sync {
	bool used, signalled;		/* signalled: the binary state */
	uint64_t value;			/* the timeline's point */
};

struct sim_backend {
	struct gpuva_backend base;
	pthread_mutex_t lock;
	uint64_t page_size;
	uint32_t flags;
	uint64_t calls;
	struct gpuva_sim_fail fail;	/* armed for call fail_at */
	uint64_t fail_at;
	struct sim_sync *syncs;
	uint32_t nsyncs;
	uint32_t next_bo;
	struct sim_vm *vms;
};

struct sim_bo {
	struct gpuva_bo base;
};

static const struct gpuva_backend_ops sim_ops;

static struct sim_backend *
to_sim(const struct gpuva_backend *be)
{
	return gpuva_container_of(be, struct sim_backend, base);
}

bool
gpuva_backend_is_sim(const struct gpuva_backend *be)
{
	return be && be->ops == &sim_ops;
}

static bool
bookkeeping(const struct sim_backend *s)
{
	return s->flags & GPUVA_SIM_BOOKKEEPING;
}

/* ---- sync objects ------------------------------------------------------------ */

static struct sim_sync *
sync_get(struct sim_backend *s, uint32_t handle)
{
	if (!handle || handle > s->nsyncs || !s->syncs[handle - 1].used)
		return NULL;
	return &s->syncs[handle - 1];
}

static bool
sync_reached(struct sim_backend *s, const struct gpuva_sync *p)
{
	struct sim_sync *y = sync_get(s, p->handle);

	return y && (p->point ? y->value >= p->point : y->signalled);
}

static void
sync_set(struct sim_backend *s, const struct gpuva_sync *p)
{
	struct sim_sync *y = sync_get(s, p->handle);

	if (!y)
		return;
	if (!p->point)
		y->signalled = true;
	else if (p->point > y->value)
		y->value = p->point;
}

static bool
all_reached(struct sim_backend *s, const struct gpuva_sync *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (!sync_reached(s, &p[i]))
			return false;
	return true;
}

static int
sim_sync_create(struct gpuva_backend *be, uint32_t *handle)
{
	struct sim_backend *s = to_sim(be);
	uint32_t i;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->nsyncs && s->syncs[i].used; i++)
		;
	if (i == s->nsyncs) {
		struct sim_sync *n = realloc(s->syncs, (s->nsyncs + 16) * sizeof(*n));

		if (!n) {
			ret = gpuva_backend_reject(be, -ENOMEM, "sync_create: out of memory");
			goto out;
		}
		memset(n + s->nsyncs, 0, 16 * sizeof(*n));
		s->syncs = n;
		s->nsyncs += 16;
	}
	memset(&s->syncs[i], 0, sizeof(s->syncs[i]));
	s->syncs[i].used = true;
	*handle = i + 1;
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static void
sim_sync_destroy(struct gpuva_backend *be, uint32_t handle)
{
	struct sim_backend *s = to_sim(be);
	struct sim_sync *y;

	pthread_mutex_lock(&s->lock);
	y = sync_get(s, handle);
	if (y)
		y->used = false;
	pthread_mutex_unlock(&s->lock);
}

/* Unknown handles among @p: -ENOENT with a reason on @be, else 0. */
static int
check_handles(struct sim_backend *s, const struct gpuva_sync *p, uint32_t n,
	      const char *what)
{
	for (uint32_t i = 0; i < n; i++)
		if (!sync_get(s, p[i].handle))
			return gpuva_backend_reject(&s->base, -ENOENT,
						    "%s: unknown sync object %" PRIu32,
						    what, p[i].handle);
	return 0;
}

static void run_ready(struct sim_backend *s);

static int
sim_sync_signal(struct gpuva_backend *be, const struct gpuva_sync *points,
		uint32_t count)
{
	struct sim_backend *s = to_sim(be);
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = check_handles(s, points, count, "sync_signal");
	if (!ret) {
		for (uint32_t i = 0; i < count; i++)
			sync_set(s, &points[i]);
		run_ready(s);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int
sim_sync_wait(struct gpuva_backend *be, const struct gpuva_sync *points,
	      uint32_t count, int64_t timeout_ns)
{
	struct sim_backend *s = to_sim(be);
	int ret;

	(void)timeout_ns;	/* nothing would signal them meanwhile */
	pthread_mutex_lock(&s->lock);
	ret = check_handles(s, points, count, "sync_wait");
	if (!ret && !all_reached(s, points, count))
		ret = -ETIME;
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* ---- the page table ------------------------------------------------------------ */

static struct sim_run *
pool_take(struct sim_run **pool, size_t *n)
{
	return pool[--*n];
}

/* Cut the run holding @x (if it starts before @x) in two at @x. */
static void
cut_at(struct sim_vm *v, uint64_t x, struct sim_run **pool, size_t *n)
{
	struct sim_run *r = idx_find_from(&v->runs, x), *t;

	if (!r || r->addr >= x)
		return;
	t = pool_take(pool, n);
	*t = *r;
	t->addr = x;
	t->len = r->addr + r->len - x;
	t->offset = r->offset + (x - r->addr);
	r->len = x - r->addr;
	idx_insert(&v->runs, t);
}

/*
 * Apply one entry: cut at its edges, drop what lies inside, add what it
 * maps. Takes at most three runs from @pool; the index has room.
 */
static void
apply_entry(struct sim_vm *v, const struct gpuva_bind_op *e,
	    struct sim_run **pool, size_t *n)
{
	uint64_t end = e->addr + e->range;
	struct sim_run *r;

	cut_at(v, e->addr, pool, n);
	cut_at(v, end, pool, n);
	r = idx_find_from(&v->runs, e->addr);
	while (r && r->addr < end) {
		struct sim_run *next = idx_next(&v->runs, r);

		idx_remove(&v->runs, r);
		free(r);
		r = next;
	}
	if (e->kind == GPUVA_BIND_UNMAP)
		return;
	r = pool_take(pool, n);
	r->addr = e->addr;
	r->len = e->range;
	r->kind = e->kind == GPUVA_BIND_MAP ? GPUVA_SIM_BO : GPUVA_SIM_NULL;
	r->bo = e->kind == GPUVA_BIND_MAP ? e->bo : NULL;
	r->offset = e->kind == GPUVA_BIND_MAP ? e->offset : 0;
	r->driver_flags = e->driver_flags;
	idx_insert(&v->runs, r);
}

/* What a page table cannot do: refuse it before anything changes. */
static int
check_entries(struct sim_backend *s, struct gpuva_vm *vm,
	      const struct gpuva_bind_op *e, size_t n)
{
	uint64_t m = s->page_size - 1;

	for (size_t i = 0; i < n; i++, e++) {
		if ((e->addr | e->range) & m ||
		    (e->kind == GPUVA_BIND_MAP && (e->offset & m)))
			return gpuva_vm_reject(vm, -EINVAL,
					       "sim: entry 0x%" PRIx64 " 0x%" PRIx64
					       " offset 0x%" PRIx64 ": not aligned "
					       "to the page size 0x%" PRIx64,
					       e->addr, e->range, e->offset,
					       s->page_size);
		if (e->kind == GPUVA_BIND_MAP && e->bo->size &&
		    (e->offset > e->bo->size || e->range > e->bo->size - e->offset))
			return gpuva_vm_reject(vm, -EINVAL,
					       "sim: map 0x%" PRIx64 " 0x%" PRIx64
					       " offset 0x%" PRIx64 ": beyond the "
					       "BO's size 0x%" PRIx64, e->addr,
					       e->range, e->offset, e->bo->size);
	}
	return 0;
}

/*
 * Take what applying @n entries needs: three runs each and room in the
 * page table's index (on top of what queued batches reserved). -ENOMEM
 * with nothing taken.
 */
static int
take_runs(struct sim_backend *s, struct sim_vm *v, size_t n,
	  struct sim_run ***out)
{
	struct sim_run **pool;
	size_t i;

	*out = NULL;
	if (bookkeeping(s) || !n)
		return 0;
	pool = calloc(3 * n, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	for (i = 0; i < 3 * n; i++)
		if (!(pool[i] = malloc(sizeof(**pool))))
			goto fail;
	/* an entry inserts at most three runs: two cuts and itself */
	if (idx_reserve_many(&v->runs, v->queued_inserts + 3 * n))
		goto fail;
	*out = pool;
	return 0;
fail:
	while (i--)
		free(pool[i]);
	free(pool);
	return -ENOMEM;
}

static void
free_runs(struct sim_run **pool, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(pool[i]);
	free(pool);
}

/* Apply @n entries with a pool from take_runs(), then free what is left. */
static void
apply_entries(struct sim_backend *s, struct sim_vm *v,
	      const struct gpuva_bind_op *e, size_t n, struct sim_run **pool)
{
	size_t left = 3 * n;

	if (bookkeeping(s))
		return;
	for (size_t i = 0; i < n; i++)
		apply_entry(v, &e[i], pool, &left);
	free_runs(pool, left);
}

/* ---- batches and the queue ------------------------------------------------------ */

static void
batch_free(struct sim_batch *b)
{
	if (b->runs)
		free_runs(b->runs, b->nruns);
	free(b->entries);
	free(b->syncs);
	free(b);
}

/* Copy a job that cannot run yet. -ENOMEM with nothing kept. */
static int
queue_job(struct sim_backend *s, struct sim_vm *v, const struct gpuva_bind_job *j)
{
	const struct gpuva_commit *c = j->commit;
	struct sim_batch *b = calloc(1, sizeof(*b));
	uint32_t ns = c->wait_count + c->signal_count;

	if (!b)
		return -ENOMEM;
	b->seq = j->seq;
	b->n = j->net_count;
	b->nwait = c->wait_count;
	b->nsignal = c->signal_count;
	b->entries = malloc((j->net_count ? j->net_count : 1) * sizeof(*b->entries));
	b->syncs = malloc((ns ? ns : 1) * sizeof(*b->syncs));
	if (!b->entries || !b->syncs || take_runs(s, v, j->net_count, &b->runs)) {
		batch_free(b);
		return -ENOMEM;
	}
	b->nruns = b->runs ? 3 * j->net_count : 0;
	/* an empty array may be NULL, which memcpy must not get even for 0 */
	if (j->net_count)
		memcpy(b->entries, j->net, j->net_count * sizeof(*b->entries));
	if (c->wait_count)
		memcpy(b->syncs, c->waits, c->wait_count * sizeof(*b->syncs));
	if (c->signal_count)
		memcpy(b->syncs + c->wait_count, c->signals,
		       c->signal_count * sizeof(*b->syncs));
	if (v->queue_tail)
		v->queue_tail->next = b;
	else
		v->queue = b;
	v->queue_tail = b;
	v->queued++;
	v->queued_inserts += 3 * j->net_count;
	return 0;
}

static void
signal_all(struct sim_backend *s, const struct gpuva_sync *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		sync_set(s, &p[i]);
}

/* Run every queued batch whose waits are met, in order, until none is. */
static void
run_ready(struct sim_backend *s)
{
	bool progress = true;

	while (progress) {
		progress = false;
		for (struct sim_vm *v = s->vms; v; v = v->next) {
			struct sim_batch *b;

			while ((b = v->queue) && all_reached(s, b->syncs, b->nwait)) {
				v->queue = b->next;
				if (!v->queue)
					v->queue_tail = NULL;
				v->queued--;
				v->queued_inserts -= 3 * b->n;
				apply_entries(s, v, b->entries, b->n, b->runs);
				b->runs = NULL;
				signal_all(s, b->syncs + b->nwait, b->nsignal);
				v->done_seq = v->queue ? b->seq : v->last_seq;
				batch_free(b);
				progress = true;
			}
		}
	}
}

/* ---- the backend ops ---------------------------------------------------------- */

/* The injected failure of this call, if one is armed for it. */
static bool
injected(struct sim_backend *s, struct gpuva_sim_fail *f)
{
	if (!s->fail_at || s->fail_at != s->calls)
		return false;
	*f = s->fail;
	s->fail_at = 0;
	s->fail.kind = GPUVA_SIM_FAIL_NONE;
	return true;
}

static int
sim_inject_fail(struct sim_backend *s, struct sim_vm *v,
		const struct gpuva_bind_job *j, const struct gpuva_sim_fail *f,
		struct gpuva_bind_result *res)
{
	struct gpuva_vm *vm = j->vm;
	struct sim_run **pool;
	size_t k;

	if (f->kind == GPUVA_SIM_FAIL_LOSE) {
		v->lost = true;
		return gpuva_vm_reject(vm, -EPIPE, "sim: bind call %" PRIu64
				       " lost the VM (injected)", s->calls);
	}
	if (f->kind == GPUVA_SIM_FAIL_ERRNO)
		return gpuva_vm_reject(vm, f->err, "sim: bind call %" PRIu64
				       " failed (injected errno %d)", s->calls,
				       f->err);
	/* PARTIAL: the first k requests, in order, as the kernel would */
	k = f->applied < j->req_count ? f->applied : j->req_count;
	if (check_entries(s, vm, j->reqs, k))
		return -EINVAL;
	if (take_runs(s, v, k, &pool))
		return gpuva_vm_reject(vm, -ENOMEM, "sim: out of memory");
	apply_entries(s, v, j->reqs, k, pool);
	res->unit = GPUVA_BIND_REQUESTS;
	res->applied = k;
	return gpuva_vm_reject(vm, f->err, "sim: bind call %" PRIu64 " applied "
			       "%zu of %zu requests, then failed (injected errno %d)",
			       s->calls, k, j->req_count, f->err);
}

static int
sim_bind_locked(struct sim_backend *s, const struct gpuva_bind_job *j,
		struct gpuva_bind_result *res)
{
	struct sim_vm *v = j->vm_priv;
	const struct gpuva_commit *c = j->commit;
	struct gpuva_vm *vm = j->vm;
	struct gpuva_sim_fail f;
	struct sim_run **pool;
	int ret;

	v->last_seq = j->seq;
	s->calls++;
	if (v->lost)
		return gpuva_vm_reject(vm, -EPIPE, "sim: the VM is lost");
	if (c->flags & (GPUVA_COMMIT_FENCE_FD_IN | GPUVA_COMMIT_FENCE_FD_OUT))
		return gpuva_vm_reject(vm, -EOPNOTSUPP,
				       "sim: commit: no sync_file fences on sim");
	if (check_handles(s, c->waits, c->wait_count, "commit waits") ||
	    check_handles(s, c->signals, c->signal_count, "commit signals"))
		return gpuva_vm_reject(vm, -ENOENT, "sim: %s",
				       s->base.last_error);
	if (!bookkeeping(s)) {
		ret = check_entries(s, vm, j->net, j->net_count);
		if (ret)
			return ret;
	}
	if (injected(s, &f))
		return sim_inject_fail(s, v, j, &f, res);
	if (v->queue || !all_reached(s, c->waits, c->wait_count)) {
		if (!(c->flags & GPUVA_COMMIT_ASYNC))
			return gpuva_vm_reject(vm, -ETIME,
					       "sim: synchronous commit behind "
					       "unsignalled sync points: nothing "
					       "would signal them (commit it "
					       "asynchronously)");
		if (queue_job(s, v, j))
			return gpuva_vm_reject(vm, -ENOMEM, "sim: out of memory");
		return 0;
	}
	if (take_runs(s, v, j->net_count, &pool))
		return gpuva_vm_reject(vm, -ENOMEM, "sim: out of memory");
	apply_entries(s, v, j->net, j->net_count, pool);
	signal_all(s, c->signals, c->signal_count);
	v->done_seq = j->seq;
	/* batches of other VMs may wait for what this one signalled */
	if (c->signal_count)
		run_ready(s);
	return 0;
}

static int
sim_bind(struct gpuva_backend *be, const struct gpuva_bind_job *j,
	 struct gpuva_bind_result *res)
{
	struct sim_backend *s = to_sim(be);
	struct sim_vm *v = j->vm_priv;
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = sim_bind_locked(s, j, res);
	/* a failed call leaves nothing of its own to run */
	if (ret && !v->queue)
		v->done_seq = j->seq;
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static uint64_t
sim_completed(struct gpuva_backend *be, void *vm_priv)
{
	struct sim_backend *s = to_sim(be);
	struct sim_vm *v = vm_priv;
	uint64_t done;

	pthread_mutex_lock(&s->lock);
	done = v->done_seq;
	pthread_mutex_unlock(&s->lock);
	return done;
}

static int
sim_wait(struct gpuva_backend *be, void *vm_priv, uint64_t seq,
	 int64_t timeout_ns)
{
	(void)timeout_ns;	/* nothing runs meanwhile */
	if (((struct sim_vm *)vm_priv)->lost)
		return -EPIPE;
	return sim_completed(be, vm_priv) >= seq ? 0 : -ETIME;
}

static int
sim_vm_init(struct gpuva_backend *be, struct gpuva_vm_desc *desc, void **priv)
{
	struct sim_backend *s = to_sim(be);
	struct sim_vm *v;

	if (!desc->page_size)
		desc->page_size = s->page_size;
	if (!util_is_pow2(desc->page_size) || desc->page_size < s->page_size)
		return gpuva_backend_reject(be, -EINVAL,
					    "vm: page size 0x%" PRIx64 " is not a "
					    "power of two multiple of the sim's "
					    "page size 0x%" PRIx64,
					    desc->page_size, s->page_size);
	if (!desc->range && !desc->start)
		desc->range = 1ull << 48;	/* a typical GPU's VA space */
	v = calloc(1, sizeof(*v));
	if (!v)
		return gpuva_backend_reject(be, -ENOMEM, "vm: out of memory");
	idx_init(&v->runs);
	pthread_mutex_lock(&s->lock);
	v->next = s->vms;
	if (s->vms)
		s->vms->prev = v;
	s->vms = v;
	pthread_mutex_unlock(&s->lock);
	*priv = v;
	return 0;
}

static void
sim_vm_fini(struct gpuva_backend *be, void *priv)
{
	struct sim_backend *s = to_sim(be);
	struct sim_vm *v = priv;
	struct sim_run *r, *n;

	pthread_mutex_lock(&s->lock);
	if (v->prev)
		v->prev->next = v->next;
	else
		s->vms = v->next;
	if (v->next)
		v->next->prev = v->prev;
	pthread_mutex_unlock(&s->lock);
	while (v->queue) {
		struct sim_batch *b = v->queue;

		v->queue = b->next;
		batch_free(b);
	}
	for (r = idx_first(&v->runs); r; r = n) {
		n = idx_next(&v->runs, r);
		free(r);
	}
	idx_fini(&v->runs);
	free(v);
}

static int
sim_bo_create(struct gpuva_backend *be, void *vm_priv, uint64_t size,
	      uint32_t flags, struct gpuva_bo **out)
{
	struct sim_backend *s = to_sim(be);
	struct sim_bo *bo;
	uint64_t ps = s->page_size;

	(void)vm_priv;
	(void)flags;		/* no sharing on sim: private changes nothing */
	if (size > UINT64_MAX - (ps - 1))
		return gpuva_backend_reject(be, -EINVAL, "bo_create 0x%" PRIx64
					    ": too big", size);
	bo = calloc(1, sizeof(*bo));
	if (!bo)
		return gpuva_backend_reject(be, -ENOMEM, "bo_create: out of memory");
	gpuva_bo_init(&bo->base, (size + ps - 1) & ~(ps - 1));
	pthread_mutex_lock(&s->lock);
	bo->base.handle = ++s->next_bo;
	pthread_mutex_unlock(&s->lock);
	*out = &bo->base;
	return 0;
}

static void
sim_bo_destroy(struct gpuva_backend *be, struct gpuva_bo *bo)
{
	(void)be;
	free(gpuva_container_of(bo, struct sim_bo, base));
}

static void
sim_destroy(struct gpuva_backend *be)
{
	struct sim_backend *s = to_sim(be);

	pthread_mutex_destroy(&s->lock);
	free(s->syncs);
	free(s);
}

static const struct gpuva_backend_ops sim_ops = {
	.name = "sim",
	.caps = GPUVA_BACKEND_SYNCS,
	.vm_init = sim_vm_init,
	.vm_fini = sim_vm_fini,
	.bind = sim_bind,
	.completed = sim_completed,
	.wait = sim_wait,
	.sync_create = sim_sync_create,
	.sync_destroy = sim_sync_destroy,
	.sync_signal = sim_sync_signal,
	.sync_wait = sim_sync_wait,
	.bo_create = sim_bo_create,
	.bo_destroy = sim_bo_destroy,
	.destroy = sim_destroy,
};

int
sim_backend_create(const struct gpuva_backend_desc *desc,
		   struct gpuva_backend **out)
{
	return gpuva_sim_create(desc, out);
}

int
gpuva_sim_create(const struct gpuva_backend_desc *desc,
		 struct gpuva_backend **out)
{
	struct gpuva_backend_desc d = { 0 };
	struct sim_backend *s;
	struct gpuva_backend tmp;

	if (desc)
		d = *desc;
	gpuva_backend_init(&tmp, &sim_ops, &d);
	if (!d.page_size)
		d.page_size = 4096;
	if (!util_is_pow2(d.page_size))
		return gpuva_backend_reject(&tmp, -EINVAL, "sim: page size 0x%"
					    PRIx64 " is not a power of two",
					    d.page_size);
	if (d.flags & ~(uint32_t)GPUVA_SIM_BOOKKEEPING)
		return gpuva_backend_reject(&tmp, -EINVAL, "sim: unknown flags 0x%"
					    PRIx32, d.flags);
	s = calloc(1, sizeof(*s));
	if (!s)
		return gpuva_backend_reject(&tmp, -ENOMEM, "sim: out of memory");
	if (pthread_mutex_init(&s->lock, NULL)) {
		free(s);
		return gpuva_backend_reject(&tmp, -ENOMEM, "sim: no mutex");
	}
	gpuva_backend_init(&s->base, &sim_ops, &d);
	s->page_size = d.page_size;
	s->flags = d.flags;
	*out = &s->base;
	return 0;
}

/* ---- sim.h ---------------------------------------------------------------------- */

int
gpuva_sim_inject(struct gpuva_backend *be, const struct gpuva_sim_fail *fail)
{
	struct sim_backend *s = to_sim(be);

	if (!gpuva_backend_is_sim(be))
		return -EINVAL;
	if (fail->kind > GPUVA_SIM_FAIL_LOSE ||
	    (fail->kind != GPUVA_SIM_FAIL_NONE && !fail->call) ||
	    ((fail->kind == GPUVA_SIM_FAIL_ERRNO ||
	      fail->kind == GPUVA_SIM_FAIL_PARTIAL) && fail->err >= 0))
		return gpuva_backend_reject(be, -EINVAL, "sim: inject: bad failure "
					    "(kind %" PRIu32 ", call %" PRIu64
					    ", err %d)", fail->kind, fail->call,
					    fail->err);
	pthread_mutex_lock(&s->lock);
	s->fail = *fail;
	s->fail_at = fail->kind ? s->calls + fail->call : 0;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

uint64_t
gpuva_sim_bind_calls(const struct gpuva_backend *be)
{
	return to_sim(be)->calls;
}

/* The VM's sim state, if @vm is on @be and @be has a page table. */
static int
sim_vm_of(struct gpuva_backend *be, const struct gpuva_vm *vm,
	  struct sim_vm **out)
{
	if (!gpuva_backend_is_sim(be) || gpuva_vm_backend(vm) != be)
		return -EINVAL;
	if (bookkeeping(to_sim(be)))
		return -EOPNOTSUPP;
	*out = gpuva_vm_backend_priv(vm);
	return 0;
}

static void
fill_page(const struct sim_run *r, uint64_t addr, struct gpuva_sim_page *out)
{
	memset(out, 0, sizeof(*out));
	if (!r || r->addr > addr || addr - r->addr >= r->len)
		return;
	out->kind = r->kind;
	out->driver_flags = r->driver_flags;
	out->bo = r->bo;
	out->offset = r->kind == GPUVA_SIM_BO ? r->offset + (addr - r->addr) : 0;
}

int
gpuva_sim_translate(struct gpuva_backend *be, const struct gpuva_vm *vm,
		    uint64_t addr, struct gpuva_sim_page *out)
{
	struct sim_vm *v;
	int ret = sim_vm_of(be, vm, &v);

	if (ret)
		return ret;
	pthread_mutex_lock(&to_sim(be)->lock);
	fill_page(idx_find_from(&v->runs, addr), addr, out);
	pthread_mutex_unlock(&to_sim(be)->lock);
	return 0;
}

size_t
gpuva_sim_queued(struct gpuva_backend *be, const struct gpuva_vm *vm)
{
	size_t n;

	if (!gpuva_backend_is_sim(be) || gpuva_vm_backend(vm) != be)
		return 0;
	pthread_mutex_lock(&to_sim(be)->lock);
	n = ((struct sim_vm *)gpuva_vm_backend_priv(vm))->queued;
	pthread_mutex_unlock(&to_sim(be)->lock);
	return n;
}

/* The mirror's content at @x, in the page table's terms. */
static void
mirror_page(const struct gpuva *va, uint64_t x, struct gpuva_sim_page *out)
{
	memset(out, 0, sizeof(*out));
	if (!va || va->addr > x)
		return;
	out->kind = va->vm_bo ? GPUVA_SIM_BO : GPUVA_SIM_NULL;
	out->driver_flags = gpuva_driver_flags(va);
	out->bo = gpuva_bo_of(va);
	out->offset = va->vm_bo ? va->offset + (x - va->addr) : 0;
}

static const char *
kind_name(uint32_t k)
{
	return k == GPUVA_SIM_BO ? "bo" : k == GPUVA_SIM_NULL ? "null" : "unmapped";
}

int
gpuva_sim_compare(struct gpuva_backend *be, struct gpuva_vm *vm)
{
	struct sim_backend *s = to_sim(be);
	struct sim_vm *v;
	struct gpuva *m;
	struct sim_run *r;
	uint64_t x;
	int ret = sim_vm_of(be, vm, &v);

	if (ret)
		return ret;
	pthread_mutex_lock(&s->lock);
	if (v->queue) {
		pthread_mutex_unlock(&s->lock);
		return gpuva_vm_reject(vm, -EBUSY, "sim compare: %zu batches "
				       "still queued", v->queued);
	}
	m = gpuva_vm_first(vm);
	r = idx_first(&v->runs);
	x = m && (!r || m->addr < r->addr) ? m->addr : r ? r->addr : 0;
	/* a sweep over both, cut wherever either changes */
	while (m || r) {
		struct gpuva_sim_page a, b;
		uint64_t end = UINT64_MAX;

		mirror_page(m, x, &a);
		fill_page(r, x, &b);
		if (a.kind != b.kind || a.bo != b.bo || a.offset != b.offset ||
		    a.driver_flags != b.driver_flags) {
			ret = gpuva_vm_reject(vm, -EINVAL,
					      "sim compare at 0x%" PRIx64 ": mirror %s"
					      " (handle %" PRIu32 " offset 0x%" PRIx64
					      " flags 0x%" PRIx32 "), page table %s"
					      " (handle %" PRIu32 " offset 0x%" PRIx64
					      " flags 0x%" PRIx32 ")", x,
					      kind_name(a.kind), a.bo ? a.bo->handle : 0,
					      a.offset, a.driver_flags, kind_name(b.kind),
					      b.bo ? b.bo->handle : 0, b.offset,
					      b.driver_flags);
			break;
		}
		if (m)
			end = m->addr > x ? m->addr : gpuva_end(m);
		if (r) {
			uint64_t re = r->addr > x ? r->addr : r->addr + r->len;

			if (re < end)
				end = re;
		}
		x = end;
		if (m && gpuva_end(m) <= x)
			m = gpuva_vm_next(vm, m);
		if (r && r->addr + r->len <= x)
			r = idx_next(&v->runs, r);
		if (!m && !r)
			break;
		/* jump over a stretch where neither holds anything */
		if ((!m || m->addr > x) && (!r || r->addr > x))
			x = m && (!r || m->addr < r->addr) ? m->addr : r->addr;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int
gpuva_sim_dump(struct gpuva_backend *be, const struct gpuva_vm *vm, FILE *f)
{
	struct sim_vm *v;
	int ret = sim_vm_of(be, vm, &v);

	if (ret)
		return ret;
	pthread_mutex_lock(&to_sim(be)->lock);
	for (struct sim_run *r = idx_first(&v->runs); r; r = idx_next(&v->runs, r)) {
		if (r->kind == GPUVA_SIM_BO)
			fprintf(f, "0x%" PRIx64 " 0x%" PRIx64 " bo %" PRIu32
				" 0x%" PRIx64 " flags 0x%" PRIx32 "\n", r->addr,
				r->len, r->bo->handle, r->offset, r->driver_flags);
		else
			fprintf(f, "0x%" PRIx64 " 0x%" PRIx64 " null flags 0x%"
				PRIx32 "\n", r->addr, r->len, r->driver_flags);
	}
	pthread_mutex_unlock(&to_sim(be)->lock);
	return 0;
}
