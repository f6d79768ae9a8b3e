/* SPDX-License-Identifier: MIT */
/*
 * The net effect of a transaction: what the kernel must do to get from the
 * state before the batch to the state after it, in as few entries as can
 * be.
 *
 * Only pages under a mapping the batch cut (a hidden one) or made can
 * differ: a request changes nothing else (unmapping a hole leaves a hole).
 * So the sweep walks the regions where those lie, with the hidden
 * mappings (the state before there) and the transaction's live ones (the
 * state after) side by side, in address order, never reading the VM's
 * index. It cuts a region wherever either side changes and compares page
 * contents (BO and offset, NULL, or nothing; and the driver flags). A
 * stretch that changes becomes an entry holding the after-state, or
 * extends the last entry when it continues it (same kind, driver flags
 * and flags, for a BO the same BO at the next offset). A stretch that does
 * not change is dropped, unless it lies inside the requests' ranges
 * between two changed stretches that one entry covers: re-sending pages
 * that already hold what the entry writes costs the kernel nothing, while
 * splitting the entry around them would cost an op (a map of [0, 6) over
 * a BO's own pages at 2 and 4 stays one entry). For the same reason an unmap runs on over a hole between
 * regions that a request covered (an unmap of two mappings and the hole
 * between them is one entry).
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
	struct gpuva_bind *txn;
	struct txn_vec *v;
	uint64_t ext;
	uint64_t swept;		/* the end of the last region swept */
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

int
txn_sort(struct gpuva_bind *txn)
{
	size_t nh = txn->hidden.n, nm = 0;
	struct util_kv *h;

	if (txn_vec_reserve(&txn->sorted, sizeof(*h), nh) ||
	    txn_vec_reserve(&txn->scratch, sizeof(*h), nh) ||
	    txn_vec_reserve(&txn->alive, sizeof(struct gpuva *),
			    txn->overlay.count))
		return -ENOMEM;
	h = txn->sorted.p;
	for (size_t i = 0; i < nh; i++) {
		struct gpuva *va = TXN_AT(&txn->hidden, struct txn_hidden, i).va;

		h[i].key = va->addr;
		h[i].val = (uintptr_t)va;
	}
	util_sort_kv(h, txn->scratch.p, nh);
	txn->sorted.n = nh;
	/* in order: the overlay index's cursor makes each step O(1) */
	for (struct gpuva *m = idx_first(&txn->overlay); m;
	     m = idx_next(&txn->overlay, m))
		TXN_AT(&txn->alive, struct gpuva *, nm++) = m;
	txn->alive.n = nm;
	return 0;
}

/* The region starting at @p; false when both arrays are used up. */
static bool
txn_region(const struct gpuva_bind *txn, struct txn_pos p, uint64_t *start,
	   uint64_t *end)
{
	size_t nh = txn->sorted.n, nm = txn->alive.n;
	uint64_t s, e;
	bool grew = true;

	if (p.h == nh && p.m == nm)
		return false;
	if (p.m == nm || (p.h < nh && txn_sorted(txn, p.h)->addr <
				      txn_alive(txn, p.m)->addr))
		s = txn_sorted(txn, p.h)->addr;
	else
		s = txn_alive(txn, p.m)->addr;
	e = s;
	/* hidden ones never overlap each other, nor made ones: alternate */
	while (grew) {
		grew = false;
		for (; p.h < nh && (txn_sorted(txn, p.h)->addr < e ||
				    txn_sorted(txn, p.h)->addr == s); p.h++) {
			e = gpuva_end(txn_sorted(txn, p.h)) > e ?
			    gpuva_end(txn_sorted(txn, p.h)) : e;
			grew = true;
		}
		for (; p.m < nm && (txn_alive(txn, p.m)->addr < e ||
				    txn_alive(txn, p.m)->addr == s); p.m++) {
			e = gpuva_end(txn_alive(txn, p.m)) > e ?
			    gpuva_end(txn_alive(txn, p.m)) : e;
			grew = true;
		}
	}
	*start = s;
	*end = e;
	return true;
}

/*
 * Does the union of the requests' ranges hold [s, e)? Built (sorted,
 * merged) on first use: only an unmap that may run on over a hole asks.
 * 1, 0, or -ENOMEM.
 */
static int
requested(struct gpuva_bind *txn, uint64_t s, uint64_t e)
{
	struct util_kv *d;
	size_t lo = 0, hi;

	if (!txn->dirty.n) {
		size_t n = 0;

		if (txn_vec_reserve(&txn->dirty, sizeof(*d), txn->reqs.n) ||
		    txn_vec_reserve(&txn->scratch, sizeof(*d), txn->reqs.n))
			return -ENOMEM;
		d = txn->dirty.p;
		for (size_t i = 0; i < txn->reqs.n; i++) {
			const struct gpuva_bind_op *r =
				&TXN_AT(&txn->reqs, struct gpuva_bind_op, i);

			d[i].key = r->addr;
			d[i].val = r->addr + r->range;
		}
		util_sort_kv(d, txn->scratch.p, txn->reqs.n);
		for (size_t i = 0; i < txn->reqs.n; i++) {
			if (n && d[i].key <= d[n - 1].val) {
				if (d[i].val > d[n - 1].val)
					d[n - 1].val = d[i].val;
			} else {
				d[n++] = d[i];
			}
		}
		txn->dirty.n = n;
	}
	d = txn->dirty.p;
	hi = txn->dirty.n;
	/* the last range starting at or before s: does it reach e? */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d[mid].key <= s)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && d[lo - 1].val >= e;
}

/*
 * [x, end) holds @after; @changed says whether it held something else
 * before. A changed stretch extends the last entry or starts one; an
 * unchanged one only moves how far the last entry may yet reach, and only
 * inside the requests' ranges: pages no request touched (what is left of
 * a mapping a request cut) are not the batch's to re-send.
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
		} else {
			int ret = requested(o->txn, x, end);

			if (ret <= 0)
				return ret;
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

/*
 * Sweep one region [s, e): the state before is the hidden mappings, the
 * state after the live made ones, both from @p on; @p is left past the
 * region.
 */
static int
sweep(struct gpuva_bind *txn, uint64_t s, uint64_t e, struct txn_pos *p,
      struct net_out *out)
{
	size_t nh = txn->sorted.n, nm = txn->alive.n;
	uint64_t x = s;

	while (x < e) {
		struct gpuva *b = p->h < nh ? txn_sorted(txn, p->h) : NULL;
		struct gpuva *a = p->m < nm ? txn_alive(txn, p->m) : NULL;
		struct content before = content_at(b, x, e);
		struct content after = content_at(a, x, e);
		uint64_t end = before.end < after.end ? before.end : after.end;

		if (emit(out, after.va, x, end,
			 !same_page_content(before.va, after.va, x)))
			return -ENOMEM;
		x = end;
		if (b && gpuva_end(b) <= x)
			p->h++;
		if (a && gpuva_end(a) <= x)
			p->m++;
	}
	return 0;
}

int
txn_net_effect(struct gpuva_bind *txn, struct txn_vec *out)
{
	struct net_out o = { txn, out, 0, 0 };
	struct txn_pos p = { 0, 0 };
	uint64_t s, e;

	txn->regions.n = 0;
	while (txn_region(txn, p, &s, &e)) {
		int ret;

		if (txn_vec_reserve(&txn->regions, sizeof(struct txn_range), 1))
			return -ENOMEM;
		TXN_AT(&txn->regions, struct txn_range, txn->regions.n++) =
			(struct txn_range){ s, e };

		/*
		 * A hole between regions a request covered: an unmap that
		 * reached the end of the last region runs on over it.
		 */
		if (o.v->n && o.ext == o.swept && o.ext < s &&
		    TXN_AT(o.v, struct gpuva_bind_op, o.v->n - 1).kind ==
		    GPUVA_BIND_UNMAP) {
			ret = requested(txn, o.ext, s);
			if (ret < 0)
				return ret;
			if (ret)
				o.ext = s;
		}
		ret = sweep(txn, s, e, &p, &o);
		if (ret)
			return ret;
		o.swept = e;
	}
	return 0;
}
