/* SPDX-License-Identifier: MIT */
/*
 * ioctl dispatch as drm_ioctl() does it (docs/kernels.md 1.1), the DRM core
 * ioctls every driver shares (VERSION, GET_CAP, GEM_CLOSE), GEM handles, and
 * fault injection.
 *
 * The dispatch copies exactly what the kernel copies: the handler is found
 * by nr alone, the user's size decides how much is copied in and back, a
 * larger kernel struct is zero-filled, and the struct is copied back even
 * when the handler fails. That last point is what carries panthor's failing
 * op index back to userspace.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shim-private.h"

/* ---- GEM handles and VMs ---- */

struct shim_bo *
shim_bo_new(struct shim_file *file, uint64_t size)
{
	struct shim_bo *bo = calloc(1, sizeof(*bo));

	if (!bo) {
		return NULL;
	}
	/* Handles are never reused, so the page record names one BO per handle. */
	bo->handle = file->next_handle++;
	bo->size = size;
	bo->mmap_offset = (uint64_t)bo->handle << 32;
	bo->next = file->bos;
	file->bos = bo;
	return bo;
}

struct shim_bo *
shim_bo_get(struct shim_file *file, uint32_t handle)
{
	for (struct shim_bo *bo = file->bos; bo; bo = bo->next) {
		if (bo->handle == handle) {
			return bo->closed ? NULL : bo;
		}
	}
	return NULL;
}

struct shim_vm *
shim_file_vm(struct shim_file *file, uint32_t vm_id)
{
	if (shim_driver() != SHIM_DRIVER_PANTHOR) {
		return file->vm;
	}
	return vm_id < SHIM_ARRAY_SIZE(file->vms) ? file->vms[vm_id] : NULL;
}

/* ---- core ioctls ---- */

struct ident {
	const char *name, *desc;
	int major, minor, patch;
};

static const struct ident idents[] = {
	[SHIM_DRIVER_MSM] = { "msm", "MSM Snapdragon DRM", 1, 13, 0 },
	[SHIM_DRIVER_PANTHOR] = { "panthor", "Panthor DRM driver", 1, 5, 0 },
	[SHIM_DRIVER_NOUVEAU] = { "nouveau", "nVidia Riva/TNT/GeForce/Quadro/Tesla/Ampere", 1, 4, 0 },
};

/* Like the kernel: copy at most *len bytes, no NUL, report the full length. */
static int
copy_field(size_t *len, char *buf, const char *value)
{
	size_t full = strlen(value);
	size_t n = full < *len ? full : *len;

	*len = full;
	if (n && buf) {
		return shim_copy_out((uintptr_t)buf, value, n);
	}
	return 0;
}

/*
 * GPUVA_SHIM_VERSION=MAJOR.MINOR.PATCH: report another driver version, so
 * that the backends' version gates can be tested. Read on every call, like
 * the other switches; a value that does not parse changes nothing.
 */
static void
shim_env_version(struct shim_drm_version *v)
{
	const char *env = getenv("GPUVA_SHIM_VERSION");
	int major, minor, patch;

	if (env && sscanf(env, "%d.%d.%d", &major, &minor, &patch) == 3) {
		v->version_major = major;
		v->version_minor = minor;
		v->version_patchlevel = patch;
	}
}

static int
ioctl_version(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_drm_version *v = data;
	const struct ident *id = &idents[shim_driver()];
	int ret;

	(void)file;
	(void)user_size;
	v->version_major = id->major;
	v->version_minor = id->minor;
	v->version_patchlevel = id->patch;
	shim_env_version(v);
	/* 6.12.117 and later report the deprecated date as "0" */
	if ((ret = copy_field(&v->name_len, v->name, id->name)) ||
	    (ret = copy_field(&v->date_len, v->date, "0")) ||
	    (ret = copy_field(&v->desc_len, v->desc, id->desc))) {
		return ret;
	}
	return 0;
}

static int
ioctl_gem_close(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_drm_gem_close *args = data;
	struct shim_bo *bo = shim_bo_get(file, args->handle);

	(void)user_size;
	if (!bo) {
		return -EINVAL;
	}
	/* Mappings keep the BO: only the handle goes (docs/kernels.md 0, item 6). */
	bo->closed = true;
	return 0;
}

static int
ioctl_get_cap(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_drm_get_cap *args = data;

	(void)file;
	(void)user_size;
	switch (args->capability) {
	case SHIM_DRM_CAP_PRIME:
		args->value = 3;	/* import | export */
		return 0;
	case SHIM_DRM_CAP_TIMESTAMP_MONOTONIC:
	case SHIM_DRM_CAP_SYNCOBJ:
		args->value = 1;
		return 0;
	case SHIM_DRM_CAP_SYNCOBJ_TIMELINE:
		args->value = shim_has_timeline();
		return 0;
	default:
		return -EINVAL;
	}
}

static const struct shim_ioctl_desc core_ioctls[] = {
	SHIM_IOCTL_DEF(SHIM_NR_VERSION, struct shim_drm_version, SHIM_IOC_RW, ioctl_version),
	SHIM_IOCTL_DEF(SHIM_NR_GEM_CLOSE, struct shim_drm_gem_close, SHIM_IOC_W, ioctl_gem_close),
	SHIM_IOCTL_DEF(SHIM_NR_GET_CAP, struct shim_drm_get_cap, SHIM_IOC_RW, ioctl_get_cap),
};

static const struct shim_ioctl_table core_table = {
	core_ioctls, SHIM_ARRAY_SIZE(core_ioctls)
};

static const struct shim_ioctl_desc *
table_find(const struct shim_ioctl_table *t, unsigned nr)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->desc[i].nr == nr) {
			return &t->desc[i];
		}
	}
	return NULL;
}

int
shim_ioctl(struct shim_file *file, unsigned long request, void *arg)
{
	unsigned nr = SHIM_IOC_NR(request);
	unsigned usize = SHIM_IOC_SIZE(request);
	unsigned udir = SHIM_IOC_DIR(request);
	const struct shim_ioctl_desc *d;

	if (SHIM_IOC_TYPE(request) != 0x64) {
		return -ENOTTY;
	}
	if (nr >= SHIM_COMMAND_BASE && nr < SHIM_COMMAND_END) {
		switch (shim_driver()) {
		case SHIM_DRIVER_MSM:
			d = table_find(&shim_msm_ioctls, nr);
			break;
		case SHIM_DRIVER_PANTHOR:
			d = table_find(&shim_panthor_ioctls, nr);
			break;
		default:
			d = table_find(&shim_nouveau_ioctls, nr);
			break;
		}
	} else if (!(d = table_find(&core_table, nr))) {
		d = table_find(&shim_syncobj_ioctls, nr);
	}
	if (!d) {
		return -EINVAL;
	}

	size_t in = (udir & SHIM_IOC_W) && (d->dir & SHIM_IOC_W) ? usize : 0;
	size_t out = (udir & SHIM_IOC_R) && (d->dir & SHIM_IOC_R) ? usize : 0;
	size_t ksize = d->size;

	if (in > ksize) {
		ksize = in;
	}
	if (out > ksize) {
		ksize = out;
	}
	/* 8-byte aligned storage: handlers cast it to their struct */
	uint64_t stack[32];
	void *kdata = ksize <= sizeof(stack) ? stack : malloc(ksize);

	if (!kdata) {
		return -ENOMEM;
	}
	memset(kdata, 0, ksize);
	int ret = shim_copy_in(kdata, (uintptr_t)arg, in);

	if (ret == 0) {
		ret = d->fn(file, kdata, usize);
		if (shim_copy_out((uintptr_t)arg, kdata, out) < 0) {
			ret = -EFAULT;
		}
	}
	if (kdata != stack) {
		free(kdata);
	}
	return ret;
}

/* ---- switches and fault injection ---- */

bool
shim_env_flag(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0") != 0;
}

bool
shim_has_timeline(void)
{
	return !shim_env_flag("GPUVA_SHIM_NO_TIMELINE");
}

struct inject {
	char spec[64];		/* the variable's value the counters belong to */
	unsigned long nth, seen;
	int err;
	uint32_t op;
};

static int
parse_errno(const char *s)
{
	static const struct { const char *name; int value; } names[] = {
		{ "EINVAL", EINVAL }, { "ENOMEM", ENOMEM }, { "EIO", EIO },
		{ "ENOSPC", ENOSPC }, { "EFAULT", EFAULT }, { "EINTR", EINTR },
		{ "EAGAIN", EAGAIN }, { "EBUSY", EBUSY }, { "EPIPE", EPIPE },
		{ "ENODEV", ENODEV }, { "ENOENT", ENOENT }, { "ETIME", ETIME },
	};

	for (size_t i = 0; i < SHIM_ARRAY_SIZE(names); i++) {
		if (strcmp(s, names[i].name) == 0) {
			return names[i].value;
		}
	}
	return (int)strtol(s, NULL, 0);
}

/*
 * "N:ERRNO[:OP]" fails the N-th event counted from the moment the variable
 * got its current value, so a test can setenv() between steps.
 */
static int
inject_check(struct inject *st, const char *var, uint32_t *op)
{
	const char *v = getenv(var);

	if (!v || !*v) {
		st->spec[0] = '\0';
		return 0;
	}
	if (strncmp(v, st->spec, sizeof(st->spec)) != 0) {
		char buf[64], *save = NULL;

		strncpy(st->spec, v, sizeof(st->spec) - 1);
		st->spec[sizeof(st->spec) - 1] = '\0';
		strncpy(buf, v, sizeof(buf) - 1);
		buf[sizeof(buf) - 1] = '\0';
		const char *n = strtok_r(buf, ":", &save);
		const char *e = strtok_r(NULL, ":", &save);
		const char *o = strtok_r(NULL, ":", &save);

		st->nth = n ? strtoul(n, NULL, 0) : 0;
		st->err = e ? parse_errno(e) : EIO;
		st->op = o ? (uint32_t)strtoul(o, NULL, 0) : 0;
		st->seen = 0;
	}
	if (++st->seen != st->nth || st->err <= 0) {
		return 0;
	}
	if (op) {
		*op = st->op;
	}
	return st->err;
}

static struct inject inject_bind, inject_job, inject_eintr;

int
shim_inject_bind(uint32_t *op)
{
	*op = 0;
	return inject_check(&inject_bind, "GPUVA_SHIM_FAIL_BIND", op);
}

int
shim_inject_job(void)
{
	return inject_check(&inject_job, "GPUVA_SHIM_FAIL_JOB", NULL);
}

int
shim_inject_eintr(void)
{
	/* "N": only the count matters, the errno is always EINTR */
	return inject_check(&inject_eintr, "GPUVA_SHIM_EINTR_BIND", NULL) ? EINTR : 0;
}
