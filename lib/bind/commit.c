/* SPDX-License-Identifier: MIT */
/*
 * Committing a transaction: one backend call, then the mirror.
 *
 * Everything that can fail happens before the call: the net effect is
 * computed, and the VM's index is given room for every insert the outcome
 * may need (idx_reserve_many(), rewound exactly if the call fails), and,
 * for a backend that may report a partial net effect, the mappings that
 * replaying it needs are taken. After the call only pointer moves remain:
 * the VM's hidden mappings leave the index, the transaction's live ones
 * enter it, links follow. So the mirror always ends equal to the kernel.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bind_internal.h"
#include "util/util.h"

#define COMMIT_FLAGS (GPUVA_COMMIT_ASYNC | GPUVA_COMMIT_FENCE_FD_IN | \
		      GPUVA_COMMIT_FENCE_FD_OUT)

static int
check_syncs(struct gpuva_vm *vm, const struct gpuva_sync *s, uint32_t n,
	    const char *what)
{
	if (n && !s)
		return vm_reject(vm, -EINVAL, "commit: %u %s but no array",
				 n, what);
	for (uint32_t i = 0; i < n; i++)
		if (s[i].pad)
			return vm_reject(vm, -EINVAL,
					 "commit: %s[%u]: pad must be 0", what, i);
	return 0;
}

static int
check_commit(struct gpuva_vm *vm, const struct gpuva_commit *c)
{
	int ret;

	if (c->flags & ~(uint32_t)COMMIT_FLAGS)
		return vm_reject(vm, -EINVAL, "commit: unknown flags 0x%" PRIx32,
				 c->flags & ~(uint32_t)COMMIT_FLAGS);
	ret = check_syncs(vm, c->waits, c->wait_count, "waits");
	if (!ret)
		ret = check_syncs(vm, c->signals, c->signal_count, "signals");
	return ret;
}

/* ---- applying the outcome --------------------------------------------------- */

/*
 * Land the state after the first @k requests (all of them: k = count):
 * the VM's mappings cut by one of them leave, the transaction's mappings
 * made by one of them and not cut by another enter. Removed mappings go
 * back to the allocator now, which is what "given back only at commit"
 * means. Cannot fail: the index has room for every made mapping.
 */
static void
land_requests(struct gpuva_bind *txn, uint32_t k)
{
	struct gpuva_vm *vm = txn->vm;
	struct txn_hidden *h = txn->hidden.p;
	struct txn_made *m = txn->made.p;

	/* the ones that stay are VM mappings like any other again */
	txn_unhide(txn, k);
	/* out of the index first: a made mapping may start where one did */
	for (size_t i = 0; i < txn->hidden.n; i++)
		if (h[i].removed < k)
			idx_remove(&vm->index, h[i].va);
	for (size_t i = 0; i < txn->made.n; i++) {
		struct gpuva *va = m[i].va;
		struct gpuva_vm_bo *vb = va->vm_bo;

		txn_bound(va)->priv = 0;
		if (m[i].created >= k || m[i].removed < k) {
			vm_va_free(vm, va);
			continue;
		}
		idx_insert(&vm->index, va);
		/* linked before the cut mappings leave, so no vm_bo drops
		 * to zero mappings on the way */
		va->vm_bo = NULL;
		if (vb)
			vm_bo_link_fresh(va, vb);
	}
	for (size_t i = 0; i < txn->hidden.n; i++) {
		if (h[i].removed >= k)
			continue;
		vm_bo_unlink(h[i].va);
		vm_va_free(vm, h[i].va);
	}
	while (txn->npre)
		vm_va_free(vm, txn->pre[--txn->npre]);
	vm_after_change(vm);
}

/*
 * Land the whole batch, region by region, as op lists would have changed
 * the index: each of the transaction's mappings takes a hidden mapping's
 * slot where the order allows (a replace, no descent), the rest are
 * inserted or removed next to it, walking in address order so the index
 * cursor is near. Cannot fail: the index has room for every made mapping.
 * No idx_warm() first: the requests read these leaves moments ago, and
 * warming them again measured no gain in bind-batch (26M instructions of
 * 800M spent for nothing).
 */
static void
land_all(struct gpuva_bind *txn)
{
	struct gpuva_vm *vm = txn->vm;
	struct idx *ix = &vm->index;
	size_t nh = txn->sorted.n, nm = txn->alive.n;
	struct txn_pos p = { 0, 0 };

	/* linked before the hidden ones leave, so no vm_bo drops to zero */
	for (size_t k = 0; k < nm; k++) {
		struct gpuva *m = txn_alive(txn, k);
		struct gpuva_vm_bo *vb = m->vm_bo;

		txn_bound(m)->priv = 0;
		m->vm_bo = NULL;
		if (vb)
			vm_bo_link_fresh(m, vb);
	}
	/* the regions the net effect found: the same walk, without the search */
	for (size_t r = 0; r < txn->regions.n; r++) {
		uint64_t e = TXN_AT(&txn->regions, struct txn_range, r).end;

		for (;;) {
			struct gpuva *h = p.h < nh && txn_sorted(txn, p.h)->addr < e ?
					  txn_sorted(txn, p.h) : NULL;
			struct gpuva *hn = h && p.h + 1 < nh &&
					   txn_sorted(txn, p.h + 1)->addr < e ?
					   txn_sorted(txn, p.h + 1) : NULL;
			struct gpuva *m = p.m < nm && txn_alive(txn, p.m)->addr < e ?
					  txn_alive(txn, p.m) : NULL;

			if (!h && !m)
				break;
			/* a hidden one leaves at once, while it is in the cache */
			if (h && m && (!hn || m->addr < hn->addr)) {
				idx_replace(ix, h, m);
				vm_bo_unlink(h);
				vm_va_free(vm, h);
				p.h++;
				p.m++;
			} else if (h) {
				idx_remove(ix, h);
				vm_bo_unlink(h);
				vm_va_free(vm, h);
				p.h++;
			} else {
				idx_insert(ix, m);
				p.m++;
			}
		}
	}
	for (size_t k = 0; k < txn->made.n; k++) {
		struct txn_made *mk = &TXN_AT(&txn->made, struct txn_made, k);

		if (mk->removed != TXN_NONE)
			vm_va_free(vm, mk->va);
	}
	while (txn->npre)
		vm_va_free(vm, txn->pre[--txn->npre]);
	vm_after_change(vm);
}

/* Step callbacks applying ops straight to the VM, from a pool of mappings. */
struct replay {
	struct gpuva_bind *txn;
	struct gpuva **pool;
	size_t n;
	uint32_t driver_flags;
};

static struct gpuva *
replay_take(struct replay *r)
{
	return r->pool[--r->n];
}

static int
replay_map(void *priv, const struct gpuva_op *op)
{
	struct replay *r = priv;
	struct gpuva *va = replay_take(r);

	gpuva_map(r->txn->vm, va, &op->map);
	txn_bound(va)->driver_flags = r->driver_flags;
	txn_bound(va)->priv = 0;
	return 0;
}

static int
replay_remap(void *priv, const struct gpuva_op *op)
{
	struct replay *r = priv;
	struct gpuva *old = op->remap.unmap.va;
	struct gpuva *p = op->remap.prev.range ? replay_take(r) : NULL;
	struct gpuva *n = op->remap.next.range ? replay_take(r) : NULL;
	uint32_t df = txn_bound(old)->driver_flags;

	gpuva_remap(r->txn->vm, p, n, &op->remap);
	if (p) {
		txn_bound(p)->driver_flags = df;
		txn_bound(p)->priv = 0;
	}
	if (n) {
		txn_bound(n)->driver_flags = df;
		txn_bound(n)->priv = 0;
	}
	vm_va_free(r->txn->vm, old);
	return 0;
}

static int
replay_unmap(void *priv, const struct gpuva_op *op)
{
	struct replay *r = priv;

	gpuva_unmap(r->txn->vm, &op->unmap);
	vm_va_free(r->txn->vm, op->unmap.va);
	return 0;
}

static const struct gpuva_sm_steps replay_steps = {
	.map = replay_map,
	.remap = replay_remap,
	.unmap = replay_unmap,
};

/*
 * Land the state before the batch with the first @k net-effect entries
 * applied and the first @bytes of entry k, as the kernel applied them:
 * each entry is a request of its own on the VM (the kernel's tree did the
 * same split and merge). The mappings come from @pool, taken before the
 * backend call (three per entry: the two pieces an entry's edges can cut
 * and the new one), and the index has room for two inserts per entry.
 */
static void
land_net(struct gpuva_bind *txn, const struct gpuva_bind_op *net, size_t k,
	 uint64_t bytes, struct gpuva **pool, size_t npool)
{
	struct gpuva_vm *vm = txn->vm;
	struct replay r = { .txn = txn, .pool = pool, .n = npool };

	/* the transaction's own mappings never reach the VM */
	txn_unhide(txn, 0);
	for (size_t i = 0; i < txn->made.n; i++)
		vm_va_free(vm, TXN_AT(&txn->made, struct txn_made, i).va);
	while (txn->npre)
		vm_va_free(vm, txn->pre[--txn->npre]);
	for (size_t i = 0; i <= k; i++) {
		struct gpuva_bind_op e;

		/* entry k exists only when part of it was applied */
		if (i == k && !bytes)
			break;
		e = net[i];
		if (i == k)
			e.range = bytes;
		r.driver_flags = e.driver_flags;
		if (e.kind == GPUVA_BIND_UNMAP) {
			gpuva_vm_sm_unmap(vm, e.addr, e.range, &replay_steps, &r);
		} else {
			struct gpuva_map_req req = {
				.addr = e.addr, .range = e.range,
				.bo = e.kind == GPUVA_BIND_MAP ? e.bo : NULL,
				.offset = e.offset, .flags = e.flags,
			};

			gpuva_vm_sm_map(vm, &req, &replay_steps, &r);
		}
	}
	while (r.n)
		vm_va_free(vm, replay_take(&r));
}

/* ---- deferred VA frees -------------------------------------------------------- */

/* Queue the transaction's heap frees behind job @seq. */
static void
defer_frees(struct gpuva_bind *txn, uint64_t seq, struct vm_deferred **nodes)
{
	struct gpuva_vm *vm = txn->vm;

	for (size_t i = 0; i < txn->frees.n; i++) {
		struct txn_range *f = &TXN_AT(&txn->frees, struct txn_range, i);
		struct vm_deferred *d = nodes[i];

		d->next = NULL;
		d->seq = seq;
		d->addr = f->start;
		d->size = f->end - f->start;
		if (vm->deferred_tail)
			vm->deferred_tail->next = d;
		else
			vm->deferred = d;
		vm->deferred_tail = d;
	}
}

/* The highest job of @vm known to have run. */
static uint64_t
completed(struct gpuva_vm *vm)
{
	struct gpuva_backend *be = vm->backend;

	return be->ops->completed ? be->ops->completed(be, vm->be_priv) : vm->seq;
}

void
vm_reap(struct gpuva_vm *vm)
{
	uint64_t done;

	if (!vm->deferred)
		return;
	done = completed(vm);
	while (vm->deferred && vm->deferred->seq <= done) {
		struct vm_deferred *d = vm->deferred;

		vm->deferred = d->next;
		if (!vm->deferred)
			vm->deferred_tail = NULL;
		/* checked when queued; a failure here is only reported */
		gpuva_vm_free_addr(vm, d->addr, d->size);
		free(d);
	}
}

int
gpuva_vm_wait_idle(struct gpuva_vm *vm, int64_t timeout_ns)
{
	struct gpuva_backend *be = vm->backend;
	uint64_t seq;
	int ret = 0;

	vm_lock(vm);
	/* the last job the backend took: a failed call left nothing to run */
	seq = vm->seq_taken;
	ret = vm_refuse_lost(vm, "wait_idle");
	if (!ret && be && be->ops->completed && completed(vm) < seq) {
		/* under the lock: a backend's calls on one VM never overlap */
		ret = be->ops->wait ? be->ops->wait(be, vm->be_priv, seq, timeout_ns)
				    : -ETIME;
		if (ret == -EPIPE) {
			vm->lost = true;
			ret = vm_reject(vm, ret, "wait_idle: job %" PRIu64 " failed "
					"when it ran: the VM is lost; destroy it and "
					"create a new one (msm: reopen the device)", seq);
		} else if (ret) {
			ret = vm_reject(vm, ret, "wait_idle: job %" PRIu64
					" has not run yet (%d)", seq, ret);
		}
	}
	if (be)
		vm_reap(vm);
	vm_unlock(vm);
	return ret;
}

/* ---- commit -------------------------------------------------------------------- */

/*
 * Everything the outcomes may need after the backend call, taken now:
 * index room, the replay pool, the deferred-free nodes. -ENOMEM with
 * nothing kept (the caller rewinds the index).
 */
static int
prepare(struct gpuva_bind *txn, size_t net_count, struct txn_vec *pool,
	struct vm_deferred **nodes)
{
	struct gpuva_vm *vm = txn->vm;
	bool net_partial = vm->backend->ops->caps & GPUVA_BACKEND_PARTIAL_NET;
	size_t inserts = txn->made.n;

	/* replaying entries: two inserts each, and the top-up one request
	 * reserves in gpuva_vm_sm_map() */
	if (net_partial && 2 * net_count + 2 > inserts)
		inserts = 2 * net_count + 2;
	if (idx_reserve_many(&vm->index, inserts))
		return vm_reject(vm, -ENOMEM, "commit: out of memory for index nodes");
	for (size_t i = 0; i < txn->frees.n; i++) {
		nodes[i] = malloc(sizeof(**nodes));
		if (!nodes[i])
			return vm_reject(vm, -ENOMEM, "commit: out of memory");
	}
	if (!net_partial)
		return 0;
	if (txn_vec_reserve(pool, sizeof(struct gpuva *), 3 * net_count) ||
	    txn_vec_reserve(&txn->taken, sizeof(struct gpuva *), 3 * net_count))
		return vm_reject(vm, -ENOMEM, "commit: out of memory");
	for (size_t i = 0; i < 3 * net_count; i++) {
		struct gpuva *va = vm_va_alloc_raw(vm);

		if (!va)
			return vm_reject(vm, -ENOMEM,
					 "commit: out of memory for mappings");
		/* on the taken list too, so that a rollback rewinds it */
		TXN_AT(&txn->taken, struct gpuva *, txn->taken.n++) = va;
		TXN_AT(pool, struct gpuva *, pool->n++) = va;
	}
	return 0;
}

/* Check what a failing backend said it applied; false if it makes no sense. */
static bool
result_valid(const struct gpuva_bind *txn, const struct gpuva_bind_result *res,
	     const struct txn_vec *net)
{
	switch (res->unit) {
	case GPUVA_BIND_NOTHING:
		return true;
	case GPUVA_BIND_REQUESTS:
		return res->applied <= txn->reqs.n;
	case GPUVA_BIND_NET:
		if (!(txn->vm->backend->ops->caps & GPUVA_BACKEND_PARTIAL_NET))
			return false;
		if (res->applied == net->n)
			return res->applied_bytes == 0;
		return res->applied < net->n &&
		       res->applied_bytes <
		       TXN_AT(net, struct gpuva_bind_op, res->applied).range &&
		       !(txn->vm->page_size &&
			 (res->applied_bytes & (txn->vm->page_size - 1)));
	}
	return false;
}

int
gpuva_bind_commit(struct gpuva_bind *txn, struct gpuva_commit *commit)
{
	struct gpuva_vm *vm = txn->vm;
	struct gpuva_backend *be = vm->backend;
	struct gpuva_commit none = { 0 };
	struct gpuva_bind_result res = { 0 };
	struct txn_vec net = { 0 }, pool = { 0 };
	struct vm_deferred **nodes = NULL;
	struct gpuva_bind_job job;
	struct idx_mark mark;
	int ret;

	if (!commit)
		commit = &none;
	commit->applied_unit = GPUVA_BIND_NOTHING;
	commit->applied = 0;
	commit->applied_bytes = 0;
	commit->net_count = 0;
	ret = txn_usable(txn, "commit");
	if (!ret)
		ret = check_commit(vm, commit);
	if (!ret && (txn_sort(txn) || txn_net_effect(txn, &net)))
		ret = vm_reject(vm, -ENOMEM, "commit: out of memory for the net effect");
	if (!ret && txn->frees.n &&
	    !(nodes = calloc(txn->frees.n, sizeof(*nodes))))
		ret = vm_reject(vm, -ENOMEM, "commit: out of memory");
	idx_mark(&vm->index, &mark);
	if (!ret)
		ret = prepare(txn, net.n, &pool, nodes);
	if (ret)
		goto rollback;

	commit->net_count = net.n;
	job = (struct gpuva_bind_job) {
		.vm = vm, .vm_priv = vm->be_priv, .seq = ++vm->seq,
		.reqs = txn->reqs.p, .req_count = txn->reqs.n,
		.ops = txn->ops.p, .op_count = txn->ops.n,
		.net = net.p, .net_count = net.n,
		.commit = commit,
	};
	ret = be->ops->bind(be, &job, &res);
	if (!ret || res.unit != GPUVA_BIND_NOTHING)
		vm->seq_taken = job.seq;
	if (!ret) {
		land_all(txn);
		defer_frees(txn, job.seq, nodes);
		/* the nodes are the VM's now; the array holding them is not */
		free(nodes);
		nodes = NULL;
		while (pool.n)
			vm_va_free(vm, TXN_AT(&pool, struct gpuva *, --pool.n));
		goto out;
	}
	if (ret == -EPIPE) {
		/* the backend's reason, copied: vm_reject() writes over it */
		char why[sizeof(vm->last_error)];

		snprintf(why, sizeof(why), "%s", vm->last_error);
		vm->lost = true;
		vm_reject(vm, -EPIPE, "commit: %s: the VM is lost (%s); destroy it "
			  "and create a new one (msm: reopen the device)",
			  be->ops->name, why);
		goto rollback;
	}
	if (!result_valid(txn, &res, &net)) {
		/* a backend bug: the kernel state is unknown from here on */
		vm->lost = true;
		vm_reject(vm, -EPIPE, "commit: %s reported an impossible partial "
			  "result (unit %u, %zu applied); the VM is lost",
			  be->ops->name, res.unit, res.applied);
		ret = -EPIPE;
		goto rollback;
	}
	commit->applied_unit = res.unit;
	commit->applied = res.applied;
	commit->applied_bytes = res.applied_bytes;
	/* a partial result of nothing is a failure: roll back, memory too */
	if (!res.applied && !res.applied_bytes)
		goto rollback;
	if (res.unit == GPUVA_BIND_REQUESTS) {
		land_requests(txn, (uint32_t)res.applied);
		while (pool.n)
			vm_va_free(vm, TXN_AT(&pool, struct gpuva *, --pool.n));
		goto out;
	}
	if (res.unit == GPUVA_BIND_NET) {
		land_net(txn, net.p, res.applied, res.applied_bytes, pool.p, pool.n);
		pool.n = 0;
		goto out;
	}
rollback:
	/* nothing changed: index room, mappings and vm_bos go back exactly */
	idx_rewind(&vm->index, &mark);
	txn_rollback(txn);
out:
	if (nodes) {
		for (size_t i = 0; i < txn->frees.n; i++)
			free(nodes[i]);
		free(nodes);
	}
	txn_vec_free(&net);
	txn_vec_free(&pool);
	vm_reap(vm);
	txn_end(txn);
	return ret;
}
