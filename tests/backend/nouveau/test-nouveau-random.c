/* SPDX-License-Identifier: MIT */
/*
 * The nouveau backend under random batches, against a naive model.
 *
 * Seeded batches of BO maps, NULL maps and unmaps over a small window,
 * committed synchronously or asynchronously (with sync points), aborted,
 * or failed by an injected ioctl error. A model of its own (an array of
 * pages, each with its content and the id of the sparse region holding it)
 * predicts, request by request, what the backend accepts and with which
 * errno, and what every page holds after each batch. After every batch the
 * model, the library's mirror and the fake kernel's page record (a NULL
 * page being a SPARSE one) agree page for page, and the fake's sparse
 * regions are the model's; after every refused request the mirror and the
 * record are what they were.
 *
 *   test-backend-nouveau-random [--seed S] [--count N]
 *
 * On a divergence the batches so far are written as a trace to
 * nouveau-random-{sync,async}-<seed>.trace (`gpuva replay --backend
 * nouveau` reads it).
 */
#include "nouveau-fixture.h"

#include "trace.h"	/* trace_parse_u64 */

#define BASE	((uint64_t)0x100000)
#define WP	48		/* pages in the window */
#define BOP	64		/* pages per BO (the fixture's) */

enum { M_NONE, M_BO, M_NULL };

struct mpage {
	uint8_t kind;		/* M_* */
	uint8_t bo;		/* 1..NBO */
	uint8_t df;		/* PTE kind */
	uint32_t off;		/* BO page */
};

struct mregion {
	int start, end;		/* pages [start, end); start < 0: free slot */
	bool committed;		/* in the kernel since an earlier batch */
};

struct model {
	struct mpage p[WP];
	int rid[WP];		/* 1 + slot of the region holding the page; 0 none */
	struct mregion reg[WP];
	struct mregion dying[WP];	/* committed, destroyed by the batch */
	int ndying;
};

struct run {
	struct nv n;
	bool async;
	uint64_t seed, rng;
	size_t step;
	struct model m, before;
	uint32_t sync;			/* a timeline syncobj of the run */
	uint64_t point, reached;	/* last point asked, last one signalled */
	FILE *trace;
	char *trace_buf;
	size_t trace_len;
	size_t refused, committed, failed, aborted;
};

static uint64_t
rnd(struct run *r, uint64_t n)
{
	r->rng ^= r->rng << 13;
	r->rng ^= r->rng >> 7;
	r->rng ^= r->rng << 17;
	return r->rng % n;
}

#define DIVERGE(r, fmt, ...) do { \
	run_save_trace(r); \
	fail_msg("seed %" PRIu64 " step %zu: " fmt, (r)->seed, (r)->step, \
		 ##__VA_ARGS__); \
} while (0)

static void
run_save_trace(struct run *r)
{
	char name[64];
	FILE *f;

	fflush(r->trace);
	snprintf(name, sizeof(name), "nouveau-random-%s-%" PRIu64 ".trace",
		 r->async ? "async" : "sync", r->seed);
	f = fopen(name, "w");
	if (f) {
		fwrite(r->trace_buf, 1, r->trace_len, f);
		fclose(f);
		fprintf(stderr, "the batches so far: %s\n", name);
	}
}

/* ---- the model -------------------------------------------------------------- */

static int
model_new_region(struct model *m, int a, int e, bool committed)
{
	for (int s = 0; s < WP; s++) {
		if (m->reg[s].start >= 0)
			continue;
		m->reg[s] = (struct mregion){ a, e, committed };
		for (int i = a; i < e; i++)
			m->rid[i] = s + 1;
		return 0;
	}
	return -1;
}

static void
model_drop_region(struct model *m, int id)
{
	struct mregion *g = &m->reg[id - 1];

	if (g->committed)
		m->dying[m->ndying++] = *g;
	for (int i = g->start; i < g->end; i++)
		m->rid[i] = 0;
	g->start = -1;
}

/* The one region holding all of [a, e), 0 if none touches it, -1 if mixed. */
static int
model_region_of(const struct model *m, int a, int e)
{
	int id = m->rid[a];

	for (int i = a; i < e; i++)
		if (m->rid[i] != id)
			return -1;
	return id;
}

/* A dying range overlapping [a, e): its index, or -1. */
static int
model_dying(const struct model *m, int a, int e)
{
	for (int i = 0; i < m->ndying; i++)
		if (m->dying[i].start < e && a < m->dying[i].end)
			return i;
	return -1;
}

/* What the backend must answer to a map, and the model after it. */
static int
model_map(struct model *m, int a, int e, int bo, uint32_t off, uint32_t df)
{
	int id = model_region_of(m, a, e), d = model_dying(m, a, e);

	if (bo && off + (uint32_t)(e - a) > BOP)
		return -EINVAL;
	if (bo ? df > 0xff : df != 0)
		return -EINVAL;
	if (id < 0)
		return -EINVAL;		/* across a region's edge */
	if (bo && !id && d >= 0)
		return -EINVAL;		/* in or across a region the batch destroys */
	if (!bo && !id && d >= 0) {
		if (m->dying[d].start != a || m->dying[d].end != e)
			return -ENOSPC;
		m->dying[d] = m->dying[--m->ndying];
		model_new_region(m, a, e, true);
	} else if (!bo && !id) {
		model_new_region(m, a, e, false);
	}
	for (int i = a; i < e; i++)
		m->p[i] = bo ? (struct mpage){ M_BO, (uint8_t)bo, (uint8_t)df,
					       off + (uint32_t)(i - a) }
			     : (struct mpage){ M_NULL, 0, 0, 0 };
	return 0;
}

static int
model_unmap(struct model *m, int a, int e)
{
	for (int i = a; i < e; i++) {
		const struct mregion *g = m->rid[i] ? &m->reg[m->rid[i] - 1] : NULL;

		if (g && (g->start < a || g->end > e))
			return -EINVAL;
	}
	for (int i = a; i < e; i++) {
		if (m->rid[i])
			model_drop_region(m, m->rid[i]);
		m->p[i] = (struct mpage){ M_NONE, 0, 0, 0 };
	}
	return 0;
}

static bool
same_page(const struct mpage *x, const struct mpage *y)
{
	return x->kind == y->kind &&
	       (x->kind != M_BO || (x->bo == y->bo && x->off == y->off && x->df == y->df));
}

/* Would the batch reach the kernel: a page or the set of regions changed? */
static bool
model_changed(const struct model *before, const struct model *after)
{
	for (int i = 0; i < WP; i++) {
		const struct mregion *x = before->rid[i] ? &before->reg[before->rid[i] - 1] : NULL;
		const struct mregion *y = after->rid[i] ? &after->reg[after->rid[i] - 1] : NULL;

		if (!same_page(&before->p[i], &after->p[i]) || !x != !y ||
		    (x && (x->start != y->start || x->end != y->end)))
			return true;
	}
	return false;
}

static void
model_commit(struct model *m)
{
	for (int s = 0; s < WP; s++)
		m->reg[s].committed = true;
	m->ndying = 0;
}

/* ---- the checks --------------------------------------------------------------- */

static void
check_all(struct run *r)
{
	struct nv *n = &r->n;
	char *regions = record_regions(n), expect[WP * 48] = "";
	int64_t pages = 0;

	for (int i = 0; i < WP; i++) {
		const struct mpage *mp = &r->m.p[i];
		uint64_t x = BASE + P(i);
		const struct gpuva *va = gpuva_vm_find_at(n->vm, x);
		struct gpuva_shim_page p = page_at(n->fd, 0, x);
		struct gpuva_bo *bo = mp->kind == M_BO ? n->bo[mp->bo] : NULL;
		bool mirror_ok, record_ok;

		if (mp->kind == M_NONE) {
			mirror_ok = !va;
			record_ok = p.kind == GPUVA_SHIM_PAGE_NONE;
		} else if (!bo) {
			mirror_ok = va && !gpuva_bo_of(va);
			record_ok = p.kind == GPUVA_SHIM_PAGE_SPARSE;
		} else {
			mirror_ok = va && gpuva_bo_of(va) == bo &&
				    va->offset + (x - va->addr) == P(mp->off) &&
				    gpuva_driver_flags(va) == mp->df;
			record_ok = p.kind == GPUVA_SHIM_PAGE_BO &&
				    p.handle == bo->handle &&
				    p.bo_offset == P(mp->off) && p.flags == mp->df;
		}
		if (!mirror_ok || !record_ok)
			DIVERGE(r, "page 0x%" PRIx64 ": model kind %d bo %d page 0x%"
				PRIx32 " kind 0x%x; mirror %s; record kind %" PRIu32
				" handle %" PRIu32 " 0x%" PRIx64 " flags 0x%" PRIx32,
				x, mp->kind, mp->bo, mp->off, mp->df,
				mirror_ok ? "agrees" : "differs", p.kind, p.handle,
				p.bo_offset, p.flags);
		pages += mp->kind != M_NONE;
	}
	if (shim.page_count(n->fd, 0) != pages)
		DIVERGE(r, "the record holds %" PRId64 " pages, the model %" PRId64,
			shim.page_count(n->fd, 0), pages);
	for (int i = 0; i < WP; i++) {
		const struct mregion *g = r->m.rid[i] ? &r->m.reg[r->m.rid[i] - 1] : NULL;

		if (g && g->start == i)
			snprintf(expect + strlen(expect), sizeof(expect) - strlen(expect),
				 "0x%" PRIx64 " 0x%" PRIx64 " sparse region\n",
				 BASE + P(g->start), P(g->end - g->start));
	}
	/* the shim lists regions in no set order: compare as sets */
	for (char *l = expect, *nl; *l; l = nl + 1) {
		nl = strchr(l, '\n');
		*nl = '\0';
		if (!strstr(regions, l))
			DIVERGE(r, "region %s is not in the record:\n%s", l, regions);
		*nl = '\n';
	}
	if (strlen(regions) != strlen(expect))
		DIVERGE(r, "the record has other regions:\n%s\nmodel:\n%s", regions, expect);
	free(regions);
	assert_int_equal(gpuva_vm_check(n->vm), 0);
}

/* ---- one batch ------------------------------------------------------------------ */

static void
one_request(struct run *r, struct gpuva_bind *t, const char *mirror, uint64_t digest)
{
	uint64_t kind = rnd(r, 100);
	int a = (int)rnd(r, WP), len = 1 + (int)rnd(r, (uint64_t)(WP - a < 12 ? WP - a : 12));
	int e = a + len, bo = 0, want, got;
	uint32_t off = 0, df = 0;
	size_t count = gpuva_bind_count(t);

	if (kind < 65) {
		bo = kind < 35 ? 1 + (int)rnd(r, NBO) : 0;
		if (bo)
			off = (uint32_t)rnd(r, (uint64_t)(BOP - len + (rnd(r, 30) ? 1 : 4)));
		if (rnd(r, 40) == 0)
			df = bo ? 0x100 : 1;
		else if (bo && rnd(r, 8) == 0)
			df = 1 + (uint32_t)rnd(r, 0xff);
		want = model_map(&r->m, a, e, bo, off, df);
		got = txn_map(t, &r->n, BASE + P(a), P(len), bo, P(off), df);
		fprintf(r->trace, "map 0x%" PRIx64 " 0x%" PRIx64 " %d 0x%" PRIx64 "\n",
			BASE + P(a), P(len), bo, P(off));
	} else {
		want = model_unmap(&r->m, a, e);
		got = gpuva_bind_unmap(t, BASE + P(a), P(len));
		fprintf(r->trace, "unmap 0x%" PRIx64 " 0x%" PRIx64 "\n", BASE + P(a), P(len));
	}
	if (got != want)
		DIVERGE(r, "%s pages [%d, %d) bo %d page %" PRIu32 " kind 0x%" PRIx32
			": the backend says %d, the model %d (%s)", kind < 65 ? "map" : "unmap",
			a, e, bo, off, df, got, want, gpuva_vm_last_error(r->n.vm));
	if (!got)
		return;
	r->refused++;
	fprintf(r->trace, "# refused: %d\n", got);
	/* a refused request is no part of the batch, and nothing changed */
	char *now = backend_mirror_text(r->n.vm);

	if (strcmp(now, mirror) || shim.digest(r->n.fd, 0) != digest ||
	    gpuva_bind_count(t) != count)
		DIVERGE(r, "a refused request changed the mirror or the record");
	free(now);
}

static void
one_batch(struct run *r, bool async)
{
	struct nv *n = &r->n;
	struct gpuva_bind *t;
	struct gpuva_sync wait = { .handle = r->sync, .point = r->reached };
	struct gpuva_sync sig = { .handle = r->sync };
	struct gpuva_commit c = { .flags = async ? GPUVA_COMMIT_ASYNC : 0 };
	char *mirror = backend_mirror_text(n->vm);
	uint64_t digest = shim.digest(n->fd, 0), end = rnd(r, 100);
	int requests = 1 + (int)rnd(r, 4), want = 0, got;
	bool inject = end < 6;

	r->before = r->m;
	assert_int_equal(gpuva_bind_begin(n->vm, &t), 0);
	fprintf(r->trace, "begin\n");
	for (int i = 0; i < requests; i++)
		one_request(r, t, mirror, digest);
	if (end >= 92) {
		gpuva_bind_abort(t);
		fprintf(r->trace, "abort\n");
		r->m = r->before;
		r->aborted++;
		goto check;
	}
	if (async || rnd(r, 3) == 0) {
		sig.point = ++r->point;
		c.signal_count = 1;
		c.signals = &sig;
		if (r->reached && rnd(r, 2)) {
			c.wait_count = 1;
			c.waits = &wait;
		}
	}
	if (inject) {
		/* the fake restarts its count when the value changes */
		setenv("GPUVA_SHIM_FAIL_BIND", r->failed % 2 ? "1:ENOMEM" : "1:12", 1);
		/* a batch that changes nothing sends no ioctl: it cannot fail */
		if (model_changed(&r->before, &r->m) || c.signal_count)
			want = -ENOMEM;
	}
	got = gpuva_bind_commit(t, &c);
	unsetenv("GPUVA_SHIM_FAIL_BIND");
	fprintf(r->trace, "commit%s\n", want ? " # injected failure" : "");
	if (got != want)
		DIVERGE(r, "commit: %d, expected %d (%s)", got, want,
			gpuva_vm_last_error(n->vm));
	if (got) {
		r->m = r->before;
		r->failed++;
		char *now = backend_mirror_text(n->vm);

		if (strcmp(now, mirror) || shim.digest(n->fd, 0) != digest)
			DIVERGE(r, "a failed commit changed the mirror or the record");
		free(now);
	} else {
		model_commit(&r->m);
		r->committed++;
		if (c.signal_count) {
			if (gpuva_backend_sync_wait(n->be, &sig, 1, 0))
				DIVERGE(r, "the commit's signal point %" PRIu64
					" is not reached", sig.point);
			r->reached = sig.point;
		}
	}
check:
	free(mirror);
	if (gpuva_vm_wait_idle(n->vm, 0))
		DIVERGE(r, "the VM is not idle after its batch");
	check_all(r);
}

static void
run(uint64_t seed, size_t count, bool async)
{
	struct run *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->seed = seed;
	r->async = async;
	r->rng = seed * 0x9e3779b97f4a7c15ull + (async ? 7 : 3);
	for (int s = 0; s < WP; s++)
		r->m.reg[s].start = -1;
	r->trace = open_memstream(&r->trace_buf, &r->trace_len);
	assert_non_null(r->trace);
	fprintf(r->trace, "# seed %" PRIu64 ", %s commits\nvm 0x0 0x%llx 0x%llx 0x%llx\n",
		seed, async ? "asynchronous" : "synchronous", NV_END, NV_WIN, NV_WIN);
	nv_open(&r->n, NULL);
	assert_int_equal(gpuva_backend_sync_create(r->n.be, &r->sync), 0);
	for (r->step = 0; r->step < count; r->step++)
		one_batch(r, async);
	fprintf(stderr, "seed %" PRIu64 " %s: %zu batches committed, %zu failed, "
		"%zu aborted, %zu requests refused\n", seed, async ? "async" : "sync",
		r->committed, r->failed, r->aborted, r->refused);
	/* every kind of outcome happened: the run tested something */
	assert_true(r->committed > count / 2 && r->failed && r->aborted && r->refused);
	gpuva_backend_sync_destroy(r->n.be, r->sync);
	nv_close(&r->n);
	fclose(r->trace);
	free(r->trace_buf);
	free(r);
}

static uint64_t opt_seed = 1;
static size_t opt_count = 1500;

static void
random_sync_batches_keep_model_mirror_and_kernel_equal(void **state)
{
	(void)state;
	run(opt_seed, opt_count, false);
}

static void
random_async_batches_keep_model_mirror_and_kernel_equal(void **state)
{
	(void)state;
	run(opt_seed, opt_count, true);
}

int
main(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		uint64_t v;

		if (!trace_parse_u64(argv[i + 1], &v) ||
		    (strcmp(argv[i], "--seed") && strcmp(argv[i], "--count"))) {
			fprintf(stderr, "usage: %s [--seed S] [--count N]\n", argv[0]);
			return 2;
		}
		if (!strcmp(argv[i], "--seed"))
			opt_seed = v;
		else
			opt_count = (size_t)v;
	}
	require_shim("nouveau");
	clear_shim_switches();

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_sync_batches_keep_model_mirror_and_kernel_equal),
		cmocka_unit_test(random_async_batches_keep_model_mirror_and_kernel_equal),
	};

	return cmocka_run_group_tests_name("backend-nouveau-random", tests, NULL, NULL);
}
