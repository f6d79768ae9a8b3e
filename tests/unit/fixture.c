/* SPDX-License-Identifier: MIT */
/*
 * The unit tests' fixture (fixture.h says what it offers). It exists so
 * that every test drives the library the same way a driver would, in both
 * ways of consuming ops, and compares text, not structs.
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

#include "fixture.h"

#define FX_MAGIC 0x6670766121ull

/* ---- text ------------------------------------------------------------------ */

static void
buf_append(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);

	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap : 256;

		while (*len + n + 1 > c)
			c *= 2;
		*buf = realloc(*buf, c);
		assert_non_null(*buf);
		*cap = c;
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
}

static void
buf_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
buf_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	buf_append(buf, len, cap, tmp);
}

unsigned
fx_bo_id(const struct gpuva_bo *bo)
{
	return bo ? gpuva_container_of(bo, struct fx_bo, base)->id : 0;
}

static int
piece_text(char *buf, size_t size, const struct gpuva_op_map *m)
{
	if (!m->range)
		return snprintf(buf, size, "-");
	return snprintf(buf, size, "0x%" PRIx64 ",0x%" PRIx64 ",%u,0x%" PRIx64,
			m->addr, m->range, fx_bo_id(m->bo), m->offset);
}

void
fx_op_text(const struct gpuva_op *op, char *buf, size_t size)
{
	const struct gpuva *v;
	char p[128], n[128];

	switch (op->type) {
	case GPUVA_OP_MAP:
		snprintf(buf, size, "map 0x%" PRIx64 " 0x%" PRIx64 " %u 0x%" PRIx64,
			 op->map.addr, op->map.range, fx_bo_id(op->map.bo),
			 op->map.offset);
		break;
	case GPUVA_OP_REMAP:
		v = op->remap.unmap.va;
		piece_text(p, sizeof(p), &op->remap.prev);
		piece_text(n, sizeof(n), &op->remap.next);
		snprintf(buf, size, "remap 0x%" PRIx64 " 0x%" PRIx64
			 " keep=%d prev=%s next=%s", v->addr, v->range,
			 op->remap.unmap.keep, p, n);
		break;
	case GPUVA_OP_UNMAP:
		v = op->unmap.va;
		snprintf(buf, size, "unmap 0x%" PRIx64 " 0x%" PRIx64 " %u 0x%" PRIx64
			 " keep=%d", v->addr, v->range, fx_bo_id(gpuva_bo_of(v)),
			 v->offset, op->unmap.keep);
		break;
	case GPUVA_OP_PREFETCH:
		v = op->prefetch.va;
		snprintf(buf, size, "prefetch 0x%" PRIx64 " 0x%" PRIx64 " %u 0x%" PRIx64,
			 v->addr, v->range, fx_bo_id(gpuva_bo_of(v)), v->offset);
		break;
	default:
		snprintf(buf, size, "bad op type %d", (int)op->type);
		break;
	}
}

static void
log_clear(struct fx *fx)
{
	fx->log_len = 0;
	if (fx->log)
		fx->log[0] = '\0';
	fx->calls = 0;
}

static void
log_op(struct fx *fx, const struct gpuva_op *op)
{
	char line[512];

	fx_op_text(op, line, sizeof(line));
	buf_append(&fx->log, &fx->log_len, &fx->log_cap, line);
	buf_append(&fx->log, &fx->log_len, &fx->log_cap, "\n");
}

void
fx_log_list(struct fx *fx, const struct gpuva_ops *ops)
{
	log_clear(fx);
	buf_append(&fx->log, &fx->log_len, &fx->log_cap, "");
	for (size_t i = 0; i < ops->count; i++)
		log_op(fx, &ops->ops[i]);
}

/* ---- allocator ----------------------------------------------------------- */

static struct gpuva *
fx_va_alloc(void *priv)
{
	struct fx *fx = priv;
	struct fx_va *v;

	fx->va_allocs++;
	if (fx->fail_va_alloc_at && fx->va_allocs == fx->fail_va_alloc_at)
		return NULL;
	v = calloc(1, sizeof(*v));
	assert_non_null(v);
	v->magic = FX_MAGIC;
	fx->live_vas++;
	return &v->base;
}

static void
fx_va_free(void *priv, struct gpuva *va)
{
	struct fx *fx = priv;
	struct fx_va *v = gpuva_container_of(va, struct fx_va, base);

	assert_true(v->magic == FX_MAGIC);
	v->magic = 0;
	fx->va_frees++;
	fx->live_vas--;
	free(v);
}

static struct gpuva_vm_bo *
fx_vm_bo_alloc(void *priv)
{
	struct fx *fx = priv;
	struct gpuva_vm_bo *vb;

	if (fx->fail_vm_bo_alloc)
		return NULL;
	vb = calloc(1, sizeof(*vb));
	assert_non_null(vb);
	fx->live_vm_bos++;
	return vb;
}

static void
fx_vm_bo_free(void *priv, struct gpuva_vm_bo *vb)
{
	struct fx *fx = priv;

	fx->live_vm_bos--;
	free(vb);
}

/* ---- VM lifetime --------------------------------------------------------- */

struct fx_opts
fx_default_opts(void)
{
	struct fx_opts o = { .start = 0, .range = 0x100000 };

	return o;
}

static void
fx_create(struct fx *fx)
{
	struct gpuva_vm_desc d = {
		.start = fx->opts.start,
		.range = fx->opts.range,
		.reserved_start = fx->opts.rsv_start,
		.reserved_range = fx->opts.rsv_range,
		.page_size = fx->opts.page_size,
		.flags = fx->opts.flags,
	};

	if (fx->opts.custom_alloc) {
		d.alloc.va_alloc = fx_va_alloc;
		d.alloc.va_free = fx_va_free;
		d.alloc.vm_bo_alloc = fx_vm_bo_alloc;
		d.alloc.vm_bo_free = fx_vm_bo_free;
		d.alloc.priv = fx;
	}
	fx->vm = NULL;
	assert_int_equal(gpuva_vm_create(&d, &fx->vm), 0);
	assert_non_null(fx->vm);
}

/*
 * Check and destroy the VM; say what was wrong (NULL: nothing) without
 * failing, so that the caller can free the fixture first.
 */
static const char *
fx_destroy(struct fx *fx)
{
	static char why[512];
	const char *bad = NULL;

	if (!fx->vm)
		return NULL;
	if (gpuva_vm_check(fx->vm)) {
		snprintf(why, sizeof(why), "gpuva_vm_check: %s",
			 gpuva_vm_last_error(fx->vm));
		bad = why;
	}
	gpuva_ops_fini(&fx->ops);
	gpuva_vm_destroy(fx->vm);
	fx->vm = NULL;
	/* destroy must leave no BO linked and hand back everything */
	for (unsigned i = 1; i < FX_NBOS && !bad; i++)
		if (gpuva_bo_fini(&fx->bos[i].base))
			bad = "a BO is still linked after gpuva_vm_destroy()";
	if (!bad && (fx->live_vas || fx->live_vm_bos)) {
		snprintf(why, sizeof(why), "after gpuva_vm_destroy(): %ld mappings"
			 " and %ld vm_bos not given back", fx->live_vas,
			 fx->live_vm_bos);
		bad = why;
	}
	return bad;
}

void
fx_recreate(struct fx *fx, const struct fx_opts *o)
{
	struct fx_opts copy = *o;
	const char *bad = fx_destroy(fx);

	if (bad)
		fail_msg("%s", bad);
	fx->opts = copy;
	fx->stop_at = 0;
	fx->stop_ret = 0;
	fx->fail_va_alloc_at = 0;
	fx->fail_vm_bo_alloc = false;
	fx->va_allocs = fx->va_frees = 0;
	log_clear(fx);
	fx_create(fx);
}

int
fx_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	for (unsigned i = 1; i < FX_NBOS; i++) {
		gpuva_bo_init(&fx->bos[i].base, 0);
		fx->bos[i].id = i;
	}
	gpuva_ops_init(&fx->ops);
	fx->opts = fx_default_opts();
	fx_create(fx);
	*state = fx;
	return 0;
}

int
fx_teardown(void **state)
{
	struct fx *fx = *state;
	const char *bad = fx_destroy(fx);

	free(fx->log);
	free(fx);
	if (bad)
		fail_msg("teardown: %s", bad);
	return 0;
}

int
fx_mode_first(struct fx *fx)
{
	fx->mode = FX_STEPS;
	return 1;
}

int
fx_mode_next(struct fx *fx)
{
	if (fx->mode != FX_STEPS)
		return 0;
	fx_recreate(fx, &fx->opts);
	fx->mode = FX_LIST;
	return 1;
}

const char *
fx_mode_name(const struct fx *fx)
{
	return fx->mode == FX_STEPS ? "step callbacks" : "op list";
}

struct gpuva_bo *
fx_bo(struct fx *fx, unsigned id)
{
	assert_true(id < FX_NBOS);
	return id ? &fx->bos[id].base : NULL;
}

/* ---- requests ---------------------------------------------------------------- */

static int
step(struct fx *fx, const struct gpuva_op *op, enum gpuva_op_type want)
{
	struct gpuva_vm *vm = fx->vm;

	fx->calls++;
	assert_int_equal(op->type, want);
	log_op(fx, op);
	if (fx->stop_at && fx->calls == fx->stop_at)
		return fx->stop_ret;
	switch (op->type) {
	case GPUVA_OP_MAP: {
		struct gpuva *va = gpuva_vm_va_alloc(vm);

		assert_non_null(va);
		assert_int_equal(gpuva_map(vm, va, &op->map), 0);
		break;
	}
	case GPUVA_OP_REMAP: {
		const struct gpuva_op_remap *r = &op->remap;
		struct gpuva *p = NULL, *n = NULL;

		if (gpuva_op_remap_has_prev(r)) {
			p = gpuva_vm_va_alloc(vm);
			assert_non_null(p);
		}
		if (gpuva_op_remap_has_next(r)) {
			n = gpuva_vm_va_alloc(vm);
			assert_non_null(n);
		}
		gpuva_remap(vm, p, n, r);
		gpuva_vm_va_free(vm, r->unmap.va);
		break;
	}
	default:
		gpuva_unmap(vm, &op->unmap);
		gpuva_vm_va_free(vm, op->unmap.va);
		break;
	}
	return 0;
}

static int
step_map(void *priv, const struct gpuva_op *op)
{
	return step(priv, op, GPUVA_OP_MAP);
}

static int
step_remap(void *priv, const struct gpuva_op *op)
{
	return step(priv, op, GPUVA_OP_REMAP);
}

static int
step_unmap(void *priv, const struct gpuva_op *op)
{
	return step(priv, op, GPUVA_OP_UNMAP);
}

static const struct gpuva_sm_steps fx_steps = {
	.map = step_map,
	.remap = step_remap,
	.unmap = step_unmap,
};

static void
check_vm(struct fx *fx)
{
	if (gpuva_vm_check(fx->vm))
		fail_msg("after a request (%s): gpuva_vm_check: %s",
			 fx_mode_name(fx), gpuva_vm_last_error(fx->vm));
}

/* Op-list mode: log and apply a plan made with result @ret. */
static int
apply_planned(struct fx *fx, int ret)
{
	if (ret)
		return ret;
	fx_log_list(fx, &fx->ops);
	ret = gpuva_vm_apply_ops(fx->vm, &fx->ops);
	/* as a driver does: drop the applied plan (and its hold on the
	 * vm_bo), keep the storage */
	gpuva_ops_reset(&fx->ops);
	return ret;
}

int
fx_map_req(struct fx *fx, const struct gpuva_map_req *req)
{
	int ret;

	log_clear(fx);
	if (fx->mode == FX_STEPS)
		ret = gpuva_vm_sm_map(fx->vm, req, &fx_steps, fx);
	else
		ret = apply_planned(fx, gpuva_vm_sm_map_ops(fx->vm, req, &fx->ops));
	if (ret == 0)
		check_vm(fx);
	return ret;
}

int
fx_map(struct fx *fx, uint64_t addr, uint64_t range, unsigned bo,
       uint64_t offset)
{
	struct gpuva_map_req req = {
		.addr = addr, .range = range, .bo = fx_bo(fx, bo), .offset = offset,
	};

	return fx_map_req(fx, &req);
}

int
fx_unmap(struct fx *fx, uint64_t addr, uint64_t range)
{
	int ret;

	log_clear(fx);
	if (fx->mode == FX_STEPS)
		ret = gpuva_vm_sm_unmap(fx->vm, addr, range, &fx_steps, fx);
	else
		ret = apply_planned(fx, gpuva_vm_sm_unmap_ops(fx->vm, addr, range,
							      &fx->ops));
	if (ret == 0)
		check_vm(fx);
	return ret;
}

void
fx_given(struct fx *fx, uint64_t addr, uint64_t range, unsigned bo,
	 uint64_t offset)
{
	int ret = fx_map(fx, addr, range, bo, offset);

	if (ret)
		fail_msg("given map 0x%" PRIx64 " 0x%" PRIx64 " %u 0x%" PRIx64
			 " (%s): %d %s", addr, range, bo, offset,
			 fx_mode_name(fx), ret, gpuva_vm_last_error(fx->vm));
}

/* ---- comparisons ------------------------------------------------------------- */

static char *
join_lines(va_list ap)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	const char *l;

	buf_append(&buf, &len, &cap, "");
	while ((l = va_arg(ap, const char *))) {
		buf_append(&buf, &len, &cap, l);
		buf_append(&buf, &len, &cap, "\n");
	}
	return buf;
}

static void
compare(const struct fx *fx, const char *what, const char *want,
	const char *got, const char *file, int line)
{
	if (strcmp(want, got) == 0)
		return;
	print_error("%s differ (%s)\n--- expected\n%s--- actual\n%s---\n",
		    what, fx_mode_name(fx), want, got);
	_fail(file, line);
}

void
fx_assert_lines_(const struct fx *fx, const char *what, const char *actual,
		 const char *file, int line, ...)
{
	va_list ap;
	char *want;

	va_start(ap, line);
	want = join_lines(ap);
	va_end(ap);
	compare(fx, what, want, actual ? actual : "", file, line);
	free(want);
}

char *
fx_dump(const struct fx *fx)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	struct gpuva *va;

	buf_append(&buf, &len, &cap, "");
	gpuva_vm_for_each_va(va, fx->vm)
		buf_printf(&buf, &len, &cap,
			   "va 0x%" PRIx64 " 0x%" PRIx64 " %u 0x%" PRIx64 "\n",
			   va->addr, va->range, fx_bo_id(gpuva_bo_of(va)),
			   va->offset);
	return buf;
}

void
fx_assert_state_(struct fx *fx, const char *file, int line, ...)
{
	va_list ap;
	char *want, *got = fx_dump(fx);

	va_start(ap, line);
	want = join_lines(ap);
	va_end(ap);
	compare(fx, "states", want, got, file, line);
	free(want);
	free(got);
}

const char *
fx_link_order(struct fx *fx, unsigned bo)
{
	struct gpuva_vm_bo *vb = gpuva_vm_bo_find(fx->vm, fx_bo(fx, bo));
	struct gpuva *va;
	size_t n = 0;

	fx->link_buf[0] = '\0';
	if (!vb)
		return "none";
	gpuva_vm_bo_for_each_va(va, vb)
		n += (size_t)snprintf(fx->link_buf + n, sizeof(fx->link_buf) - n,
				      "%s0x%" PRIx64, n ? " " : "", va->addr);
	return fx->link_buf;
}

struct fx_saved
fx_save(const struct fx *fx)
{
	struct fx_saved s = { NULL };
	size_t len = 0, cap = 0;
	struct gpuva_vm_info info;
	struct gpuva *va;

	gpuva_vm_get_info(fx->vm, &info);
	buf_printf(&s.text, &len, &cap,
		   "info va_count=%zu vm_bo_count=%zu bytes=%zu count=%zu"
		   " live vas=%ld vm_bos=%ld\n",
		   info.va_count, info.vm_bo_count, info.bytes,
		   gpuva_vm_count(fx->vm), fx->live_vas, fx->live_vm_bos);
	gpuva_vm_for_each_va(va, fx->vm)
		buf_printf(&s.text, &len, &cap,
			   "va 0x%" PRIx64 " 0x%" PRIx64 " %u 0x%" PRIx64
			   " flags=0x%x at %p\n", va->addr, va->range,
			   fx_bo_id(gpuva_bo_of(va)), va->offset,
			   gpuva_flags(va), (void *)va);
	for (unsigned i = 1; i < FX_NBOS; i++) {
		struct gpuva_vm_bo *vb =
			gpuva_vm_bo_find(fx->vm, &fx->bos[i].base);

		if (!vb)
			continue;
		buf_printf(&s.text, &len, &cap, "bo %u vm_bo %p va_count=%zu:",
			   i, (void *)vb, vb->va_count);
		gpuva_vm_bo_for_each_va(va, vb)
			buf_printf(&s.text, &len, &cap, " 0x%" PRIx64, va->addr);
		buf_append(&s.text, &len, &cap, "\n");
	}
	return s;
}

void
fx_assert_unchanged_(struct fx *fx, struct fx_saved *saved, const char *file,
		     int line)
{
	struct fx_saved now = fx_save(fx);
	char *want = saved->text;

	saved->text = NULL;
	if (strcmp(want, now.text) != 0) {
		print_error("VM changed (%s)\n--- before\n%s--- after\n%s---\n",
			    fx_mode_name(fx), want, now.text);
		free(want);
		free(now.text);
		_fail(file, line);
	}
	free(want);
	free(now.text);
	if (gpuva_vm_check(fx->vm)) {
		print_error("gpuva_vm_check: %s\n", gpuva_vm_last_error(fx->vm));
		_fail(file, line);
	}
}

void
fx_assert_rejected_(struct fx *fx, int ret, const char *word,
		    struct fx_saved *saved, const char *file, int line)
{
	const char *why = gpuva_vm_last_error(fx->vm);

	if (ret != -EINVAL) {
		print_error("expected -EINVAL (%s), got %d\n", fx_mode_name(fx), ret);
		free(saved->text);
		_fail(file, line);
	}
	if (!strstr(why, word)) {
		print_error("reason \"%s\" does not mention \"%s\" (%s)\n", why,
			    word, fx_mode_name(fx));
		free(saved->text);
		_fail(file, line);
	}
	if (fx->calls != 0 || fx->ops.count != 0 || (fx->log && fx->log[0])) {
		print_error("a rejected request produced ops (%s):\n%s", 
			    fx_mode_name(fx), fx->log ? fx->log : "");
		free(saved->text);
		_fail(file, line);
	}
	fx_assert_unchanged_(fx, saved, file, line);
}
