/* SPDX-License-Identifier: MIT */
/*
 * The net effect of a transaction: what the kernel must do to get from the
 * state before the batch to the state after it, in as few entries as can
 * be.
 *
 * Only the dirty ranges (the union of the requests' ranges) can differ:
 * outside them the batch left every page alone, and the pieces it re-made
 * around a cut mapping hold what that mapping held. So the sweep walks
 * each dirty range once, with the hidden mappings (inside a dirty range,
 * the state before is exactly those) and the transaction's live mappings
 * (the state after) side by side, never touching the VM's index. It cuts
 * the range wherever either side changes and compares page contents (BO
 * and offset, NULL, or nothing; and the driver flags). A stretch that
 * changes becomes an entry holding the after-state, or extends the last
 * entry when it continues it (same kind, driver flags and flags, for a BO
 * the same BO at the next offset). A stretch that does not change is
 * dropped, unless it lies between two changed stretches that one entry
 * covers: re-sending pages that already hold what the entry writes costs
 * the kernel nothing, while splitting the entry around them would cost an
 * op (a map of [0, 6) over a BO's own pages at 2 and 4 stays one entry).
 *
 * So the entries are sorted, non-overlapping, and at most one per run of
 * pages that one request covers last: at most 2r - 1 for r requests (a
 * request inside another splits it in two), at most r when no request
 * lies inside another, none for pages the batch leaves as they were.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bind_internal.h"
#include "util/util.h"

/* What a stretch of pages holds: a mapping (at @at) or nothing. */
struct content {
	const struct gpuva *va;
	uint64_t end;		/* where this content stops, within the range */
};

/* The content at @x given the next candidate mapping @va, up to @limit. */
static struct content
content_at(const struct gpuva *va, uint64_t x, uint64_t limit)
{
	struct content c = { NULL, limit };

	if (va && va->addr <= x) {
		c.va = va;
		if (gpuva_end(va) < limit)
			c.end = gpuva_end(va);
	} else if (va && va->addr < limit) {
		c.end = va->addr;
	}
	return c;
}

static bool
same_page_content(const struct gpuva *a, const struct gpuva *b, uint64_t x)
{
	if (!a || !b)
		return !a && !b;
	if (a->vm_bo != b->vm_bo)
		return false;
	if (txn_bound(a)->driver_flags != txn_bound(b)->driver_flags)
		return false;
	/* NULL mappings carry an offset no kernel reads */
	return !a->vm_bo || a->offset + (x - a->addr) == b->offset + (x - b->addr);
}

/* The entry that would hold [x, ..) of @after (NULL: nothing). */
static struct gpuva_bind_op
entry_of(const struct gpuva *after, uint64_t x)
{
	struct gpuva_bind_op e = {
		.kind = !after ? GPUVA_BIND_UNMAP :
			after->vm_bo ? GPUVA_BIND_MAP : GPUVA_BIND_MAP_NULL,
		.addr = x,
	};

	if (after) {
		e.driver_flags = txn_bound(after)->driver_flags;
		e.bo = gpuva_bo_of(after);
		e.offset = after->offset + (x - after->addr);
		e.flags = gpuva_flags(after);
	}
	return e;
}

/*
 * The sweep's output: entries so far, and how far the last one could
 * reach over unchanged pages that continue it (@ext; 0 when nothing).
 */
struct net_out {
	struct txn_vec *v;
	uint64_t ext;
};

/* Would extending the last entry to cover @e (which starts at ext) fit? */
static bool
continues_last(const struct net_out *o, const struct gpuva_bind_op *e)
{
	const struct gpuva_bind_op *l;

	if (!o->v->n || o->ext != e->addr)
		return false;
	l = &TXN_AT(o->v, struct gpuva_bind_op, o->v->n - 1);
	return l->kind == e->kind && l->driver_flags == e->driver_flags &&
	       l->flags == e->flags && l->bo == e->bo &&
	       (e->kind != GPUVA_BIND_MAP ||
		l->offset + (e->addr - l->addr) == e->offset);
}

/*
 * [x, end) holds @after; @changed says whether it held something else
 * before. A changed stretch extends the last entry or starts one; an
 * unchanged one only moves how far the last entry may yet reach.
 */
static int
emit(struct net_out *o, const struct gpuva *after, uint64_t x, uint64_t end,
     bool changed)
{
	struct gpuva_bind_op e = entry_of(after, x);

	if (continues_last(o, &e)) {
		if (changed) {
			struct gpuva_bind_op *l = &TXN_AT(o->v, struct gpuva_bind_op,
							  o->v->n - 1);

			l->range = end - l->addr;
		}
		o->ext = end;
		return 0;
	}
	if (!changed)
		return 0;
	if (txn_vec_reserve(o->v, sizeof(e), 1))
		return -ENOMEM;
	e.range = end - x;
	TXN_AT(o->v, struct gpuva_bind_op, o->v->n++) = e;
	o->ext = end;
	return 0;
}

int
txn_sort(struct gpuva_bind *txn)
{
	size_t nr = txn->reqs.n, nh = txn->hidden.n, n = 0;
	struct util_kv *d, *h;

	if (txn_vec_reserve(&txn->dirty, sizeof(*d), nr) ||
	    txn_vec_reserve(&txn->sorted, sizeof(*h), nh) ||
	    txn_vec_reserve(&txn->scratch, sizeof(*d), nr > nh ? nr : nh))
		return -ENOMEM;
	d = txn->dirty.p;
	for (size_t i = 0; i < nr; i++) {
		const struct gpuva_bind_op *r = &TXN_AT(&txn->reqs,
						       struct gpuva_bind_op, i);

		d[i].key = r->addr;
		d[i].val = r->addr + r->range;
	}
	util_sort_kv(d, txn->scratch.p, nr);
	/* merge what overlaps or touches: the dirty set */
	for (size_t i = 0; i < nr; i++) {
		if (n && d[i].key <= d[n - 1].val) {
			if (d[i].val > d[n - 1].val)
				d[n - 1].val = d[i].val;
		} else {
			d[n++] = d[i];
		}
	}
	txn->dirty.n = n;
	h = txn->sorted.p;
	for (size_t i = 0; i < nh; i++) {
		struct gpuva *va = TXN_AT(&txn->hidden, struct txn_hidden, i).va;

		h[i].key = va->addr;
		h[i].val = (uintptr_t)va;
	}
	util_sort_kv(h, txn->scratch.p, nh);
	txn->sorted.n = nh;
	return 0;
}

/*
 * Sweep one dirty range [s, e): the state before is the hidden mappings
 * (every VM mapping in a dirty range is one), from @*hi on in address
 * order; the state after is the overlay's.
 */
static int
sweep(struct gpuva_bind *txn, uint64_t s, uint64_t e, size_t *hi,
      struct net_out *out)
{
	size_t nh = txn->sorted.n;
	struct gpuva *a = txn->overlay.count ? idx_find_from(&txn->overlay, s)
					     : NULL;
	uint64_t x = s;

	while (*hi < nh && gpuva_end(txn_sorted(txn, *hi)) <= s)
		(*hi)++;
	while (x < e) {
		struct gpuva *b = *hi < nh ? txn_sorted(txn, *hi) : NULL;
		struct content before = content_at(b, x, e);
		struct content after = content_at(a, x, e);
		uint64_t end = before.end < after.end ? before.end : after.end;

		if (emit(out, after.va, x, end,
			 !same_page_content(before.va, after.va, x)))
			return -ENOMEM;
		x = end;
		if (b && gpuva_end(b) <= x)
			(*hi)++;
		if (a && gpuva_end(a) <= x)
			a = idx_next(&txn->overlay, a);
	}
	return 0;
}

int
txn_net_effect(struct gpuva_bind *txn, struct txn_vec *out)
{
	struct net_out o = { out, 0 };
	size_t hi = 0;

	for (size_t i = 0; i < txn->dirty.n; i++) {
		const struct util_kv *r = &TXN_AT(&txn->dirty, struct util_kv, i);
		int ret = sweep(txn, r->key, r->val, &hi, &o);

		if (ret)
			return ret;
	}
	return 0;
}
