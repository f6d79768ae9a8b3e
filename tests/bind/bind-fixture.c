/* SPDX-License-Identifier: MIT */
/*
 * The bind tests' shared pieces (bind-fixture.h says what they are). They
 * exist so that the unit and the property tests look at a transaction the
 * same way: through a backend that writes down what it was handed, and
 * through text renderings that a failure prints as a diff.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bind-fixture.h"

/* ---- text ---------------------------------------------------------------- */

void
bfx_printf(struct bfx_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	if (b->len + (size_t)n + 1 > b->cap) {
		size_t c = b->cap ? b->cap : 256;

		while (b->len + (size_t)n + 1 > c)
			c *= 2;
		b->p = realloc(b->p, c);
		assert_non_null(b->p);
		b->cap = c;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *
bfx_take(struct bfx_buf *b)
{
	char *p;

	if (!b->p)
		bfx_printf(b, "%s", "");
	p = b->p;
	memset(b, 0, sizeof(*b));
	return p;
}

char *
bfx_lines(const char *first, ...)
{
	struct bfx_buf b = { 0 };
	const char *l;
	va_list ap;

	va_start(ap, first);
	for (l = first; l; l = va_arg(ap, const char *))
		bfx_printf(&b, "%s\n", l);
	va_end(ap);
	return bfx_take(&b);
}

void
bfx_same_(const char *what, const char *want, const char *got,
	  const char *file, int line)
{
	if (strcmp(want, got) == 0)
		return;
	print_error("%s differ\n--- expected\n%s--- actual\n%s---\n", what, want,
		    got);
	_fail(file, line);
}

void
bfx_mentions_(const char *text, const char *word, const char *file, int line)
{
	if (strstr(text, word))
		return;
	print_error("\"%s\" does not mention \"%s\"\n", text, word);
	_fail(file, line);
}

char *
bfx_dump(struct gpuva_vm *vm)
{
	struct bfx_buf b = { 0 };
	struct gpuva *va;

	gpuva_vm_for_each_va(va, vm)
		bfx_printf(&b, "va 0x%" PRIx64 " 0x%" PRIx64 " %u 0x%" PRIx64 "\n",
			   va->addr, va->range, fx_bo_id(gpuva_bo_of(va)),
			   va->offset);
	return bfx_take(&b);
}

char *
bfx_net_text(const struct gpuva_bind_op *net, size_t n)
{
	static const char *const kinds[] = { "map", "null", "unmap" };
	struct bfx_buf b = { 0 };

	for (size_t i = 0; i < n; i++) {
		const struct gpuva_bind_op *e = &net[i];

		bfx_printf(&b, "%s 0x%" PRIx64 " 0x%" PRIx64,
			   e->kind <= GPUVA_BIND_UNMAP ? kinds[e->kind] : "bad-kind",
			   e->addr, e->range);
		if (e->kind == GPUVA_BIND_MAP)
			bfx_printf(&b, " %u 0x%" PRIx64, fx_bo_id(e->bo), e->offset);
		else if (e->bo || (e->kind == GPUVA_BIND_UNMAP && e->offset))
			bfx_printf(&b, " stray bo %u offset 0x%" PRIx64,
				   fx_bo_id(e->bo), e->offset);
		if (e->kind != GPUVA_BIND_UNMAP)
			bfx_printf(&b, " df=0x%" PRIx32, e->driver_flags);
		if (e->flags)
			bfx_printf(&b, " flags=0x%" PRIx32, e->flags);
		bfx_printf(&b, "\n");
	}
	return bfx_take(&b);
}

char *
bfx_state(struct gpuva_vm *vm, const struct fx_bo *bos, unsigned nbos,
	  const struct bfx_alloc *a, unsigned how)
{
	bool exact = how & BFX_EXACT;
	bool df = (how & BFX_DRIVER_FLAGS) && gpuva_vm_backend(vm);
	struct gpuva_vm_info info;
	struct bfx_buf b = { 0 };
	struct gpuva *va;

	gpuva_vm_get_info(vm, &info);
	bfx_printf(&b, "info start=0x%" PRIx64 " range=0x%" PRIx64
		   " reserved=0x%" PRIx64 "+0x%" PRIx64 " page=0x%" PRIx64
		   " flags=0x%" PRIx32 " va_count=%zu vm_bo_count=%zu lost=%d",
		   info.start, info.range, info.reserved_start,
		   info.reserved_range, info.page_size, info.flags,
		   info.va_count, info.vm_bo_count, info.lost);
	if (exact)
		bfx_printf(&b, " bytes=%zu", info.bytes);
	bfx_printf(&b, "\ncount=%zu\n", gpuva_vm_count(vm));
	gpuva_vm_for_each_va(va, vm) {
		bfx_printf(&b, "va 0x%" PRIx64 " 0x%" PRIx64 " %u 0x%" PRIx64
			   " flags=0x%" PRIx32, va->addr, va->range,
			   fx_bo_id(gpuva_bo_of(va)), va->offset, gpuva_flags(va));
		if (df)
			bfx_printf(&b, " df=0x%" PRIx32, gpuva_driver_flags(va));
		if (exact)
			bfx_printf(&b, " at %p", (void *)va);
		bfx_printf(&b, "\n");
	}
	for (unsigned i = 1; i < nbos; i++) {
		struct gpuva_vm_bo *vb = gpuva_vm_bo_find(vm, &bos[i].base);

		if (!vb)
			continue;
		bfx_printf(&b, "bo %u va_count=%zu", bos[i].id, vb->va_count);
		if (exact) {
			bfx_printf(&b, " vm_bo %p links", (void *)vb);
			gpuva_vm_bo_for_each_va(va, vb)
				bfx_printf(&b, " 0x%" PRIx64, va->addr);
		} else {
			bfx_printf(&b, " mappings");
			gpuva_vm_for_each_va(va, vm)
				if (gpuva_bo_of(va) == &bos[i].base)
					bfx_printf(&b, " 0x%" PRIx64, va->addr);
		}
		bfx_printf(&b, "\n");
	}
	if (a)
		bfx_printf(&b, "live vas=%ld vm_bos=%ld\n", a->live_vas,
			   a->live_vm_bos);
	return bfx_take(&b);
}

/* ---- allocation callbacks ------------------------------------------------ */

#define BFX_MAGIC 0x62667876615f6f6bull

/* A mapping of exactly a struct gpuva_bound, last, so ASan sees overruns. */
struct bfx_va {
	uint64_t magic;
	struct gpuva_bound b;
};

_Static_assert(sizeof(struct bfx_va) == 8 + sizeof(struct gpuva_bound),
	       "no tail padding after the bound mapping");

static bool
bfx_alloc_fails(struct bfx_alloc *a)
{
	a->calls++;
	if (a->fail_at && a->calls == a->fail_at) {
		a->fail_at = 0;
		return true;
	}
	return false;
}

static struct gpuva *
bfx_va_alloc(void *priv)
{
	struct bfx_alloc *a = priv;
	struct bfx_va *v;

	if (bfx_alloc_fails(a))
		return NULL;
	v = malloc(sizeof(*v));
	assert_non_null(v);
	/* garbage, as the header allows: nothing may rely on zeroes */
	memset(v, 0xa5, sizeof(*v));
	v->magic = BFX_MAGIC;
	a->live_vas++;
	return &v->b.va;
}

static void
bfx_va_free(void *priv, struct gpuva *va)
{
	struct bfx_alloc *a = priv;
	struct bfx_va *v = gpuva_container_of(va, struct bfx_va, b.va);

	assert_true(v->magic == BFX_MAGIC);
	v->magic = 0;
	a->va_frees++;
	a->live_vas--;
	a->last_freed = va;
	free(v);
}

static struct gpuva_vm_bo *
bfx_vm_bo_alloc(void *priv)
{
	struct bfx_alloc *a = priv;
	struct gpuva_vm_bo *vb;

	if (bfx_alloc_fails(a))
		return NULL;
	vb = calloc(1, sizeof(*vb));
	assert_non_null(vb);
	a->live_vm_bos++;
	return vb;
}

static void
bfx_vm_bo_free(void *priv, struct gpuva_vm_bo *vb)
{
	struct bfx_alloc *a = priv;

	a->live_vm_bos--;
	free(vb);
}

void
bfx_alloc_hook(struct gpuva_vm_desc *d, struct bfx_alloc *a)
{
	d->alloc.va_alloc = bfx_va_alloc;
	d->alloc.va_free = bfx_va_free;
	d->alloc.vm_bo_alloc = bfx_vm_bo_alloc;
	d->alloc.vm_bo_free = bfx_vm_bo_free;
	d->alloc.priv = a;
}

void
bfx_alloc_fail_in(struct bfx_alloc *a, unsigned long n)
{
	a->fail_at = a->calls + n;
}

/* ---- the recording backend ------------------------------------------------- */

static struct rec *
to_rec(struct gpuva_backend *be)
{
	return gpuva_container_of(be, struct rec, base);
}

static int
rec_vm_init(struct gpuva_backend *be, struct gpuva_vm_desc *desc,
	    void **vm_priv)
{
	struct rec *r = to_rec(be);

	if (!desc->page_size)
		desc->page_size = r->page_size;
	if (!desc->range)
		desc->range = 1ull << 32;
	r->vms++;
	*vm_priv = r;
	return 0;
}

static void
rec_vm_fini(struct gpuva_backend *be, void *vm_priv)
{
	struct rec *r = to_rec(be);

	assert_ptr_equal(vm_priv, r);
	r->vms--;
}

static int
rec_check(struct gpuva_backend *be, void *vm_priv, struct gpuva_vm *vm,
	  const struct gpuva_bind_op *req, size_t index)
{
	struct rec *r = to_rec(be);

	r->checked++;
	r->check_index = index;
	if (req->driver_flags & REC_REFUSE)
		return gpuva_vm_reject(vm, -EINVAL, "rec: request %zu: driver "
				       "flags 0x%" PRIx32 " refused", index,
				       req->driver_flags);
	return 0;
}

static struct gpuva_bind_op *
copy_entries(const struct gpuva_bind_op *e, size_t n)
{
	struct gpuva_bind_op *c = malloc((n ? n : 1) * sizeof(*c));

	assert_non_null(c);
	if (n)
		memcpy(c, e, n * sizeof(*c));
	return c;
}

static int
rec_bind(struct gpuva_backend *be, const struct gpuva_bind_job *job,
	 struct gpuva_bind_result *res)
{
	struct rec *r = to_rec(be);
	struct bfx_buf ops = { 0 };
	int ret = r->ret;

	r->binds++;
	assert_ptr_equal(job->vm_priv, r);
	r->seq = job->seq;
	free(r->reqs);
	free(r->net);
	free(r->ops);
	r->reqs = copy_entries(job->reqs, job->req_count);
	r->nreqs = job->req_count;
	r->net = copy_entries(job->net, job->net_count);
	r->nnet = job->net_count;
	r->nops = job->op_count;
	for (size_t i = 0; i < job->op_count; i++) {
		char line[512];

		fx_op_text(&job->ops[i], line, sizeof(line));
		bfx_printf(&ops, "%s\n", line);
	}
	r->ops = bfx_take(&ops);
	r->commit_flags = job->commit->flags;

	r->ret = 0;
	if (!ret)
		return 0;
	*res = r->res;
	memset(&r->res, 0, sizeof(r->res));
	return gpuva_vm_reject(job->vm, ret, "rec: bind call %u failed as told "
			       "(%d)", r->binds, ret);
}

static void
rec_destroy(struct gpuva_backend *be)
{
	(void)be;	/* the test owns it: rec_fini() */
}

static const struct gpuva_backend_ops rec_ops = {
	.name = "rec",
	.vm_init = rec_vm_init,
	.vm_fini = rec_vm_fini,
	.check = rec_check,
	.bind = rec_bind,
	.destroy = rec_destroy,
};

static const struct gpuva_backend_ops rec_net_ops = {
	.name = "rec",
	.caps = GPUVA_BACKEND_PARTIAL_NET,
	.vm_init = rec_vm_init,
	.vm_fini = rec_vm_fini,
	.check = rec_check,
	.bind = rec_bind,
	.destroy = rec_destroy,
};

void
rec_init(struct rec *r, uint64_t page_size, bool partial_net)
{
	memset(r, 0, sizeof(*r));
	gpuva_backend_init(&r->base, partial_net ? &rec_net_ops : &rec_ops, NULL);
	r->page_size = page_size;
}

void
rec_fini(struct rec *r)
{
	assert_int_equal(r->vms, 0);
	free(r->reqs);
	free(r->net);
	free(r->ops);
	r->reqs = r->net = NULL;
	r->ops = NULL;
}

void
rec_answer(struct rec *r, int err, uint32_t unit, size_t applied,
	   uint64_t applied_bytes)
{
	r->ret = err;
	r->res.unit = unit;
	r->res.applied = applied;
	r->res.applied_bytes = applied_bytes;
}
