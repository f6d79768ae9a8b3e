/* SPDX-License-Identifier: MIT */
/* The tools' backend options (backend_opts.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_opts.h"
#include "trace.h"

const char backend_opts_usage[] =
	"  --backend NAME      run on a backend: sim, msm, panthor, nouveau\n"
	"                      (default $GPUVA_BACKEND, else none)\n"
	"  --device PATH       kernel backends: the render node to use\n"
	"  --sim-page-size N   sim page size, a power of two (default 4096)\n"
	"  --sim-fail K:ERRNO[:J]  the K-th backend call fails with ERRNO\n"
	"                      (12 or ENOMEM), after applying J requests\n"
	"  --sim-fail K:lose   the K-th backend call loses the VM\n"
	"  --sim-bookkeeping   sim without a page table\n";

static const struct {
	const char *name;
	int err;
} errnos[] = {
	{ "EPERM", EPERM }, { "ENOENT", ENOENT }, { "EINTR", EINTR },
	{ "EIO", EIO }, { "E2BIG", E2BIG }, { "EBADF", EBADF },
	{ "EAGAIN", EAGAIN }, { "ENOMEM", ENOMEM }, { "EFAULT", EFAULT },
	{ "EBUSY", EBUSY }, { "EEXIST", EEXIST }, { "ENODEV", ENODEV },
	{ "EINVAL", EINVAL }, { "ENOSPC", ENOSPC }, { "EPIPE", EPIPE },
	{ "ENOSYS", ENOSYS }, { "ETIME", ETIME }, { "EOVERFLOW", EOVERFLOW },
	{ "EOPNOTSUPP", EOPNOTSUPP }, { "ENXIO", ENXIO },
};

bool
parse_errno(const char *s, int *err)
{
	uint64_t v;

	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++) {
		if (!strcmp(s, errnos[i].name)) {
			*err = errnos[i].err;
			return true;
		}
	}
	if (!trace_parse_u64(s, &v) || v == 0 || v > 4095)
		return false;
	*err = (int)v;
	return true;
}

/* K:ERRNO, K:ERRNO:J or K:lose into o->fail. */
static bool
parse_fail(struct backend_opts *o, const char *arg)
{
	char buf[64], *f[3], *save = NULL;
	int n = 0, err;
	uint64_t k, j = 0;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (char *t = strtok_r(buf, ":", &save); t && n < 3;
	     t = strtok_r(NULL, ":", &save))
		f[n++] = t;
	if (n < 2 || !trace_parse_u64(f[0], &k) || !k)
		return false;
	memset(&o->fail, 0, sizeof(o->fail));
	o->fail.call = k;
	if (n == 2 && !strcmp(f[1], "lose")) {
		o->fail.kind = GPUVA_SIM_FAIL_LOSE;
	} else {
		if (!parse_errno(f[1], &err) || (n == 3 && !trace_parse_u64(f[2], &j)))
			return false;
		o->fail.kind = n == 3 ? GPUVA_SIM_FAIL_PARTIAL : GPUVA_SIM_FAIL_ERRNO;
		o->fail.err = -err;
		o->fail.applied = (size_t)j;
	}
	o->fail_set = true;
	return true;
}

int
backend_opt_parse(struct backend_opts *o, int argc, char **argv, int i)
{
	const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

	if (!strcmp(a, "--sim-bookkeeping")) {
		o->sim_flags |= GPUVA_SIM_BOOKKEEPING;
		return 1;
	}
	if (strcmp(a, "--backend") && strcmp(a, "--device") &&
	    strcmp(a, "--sim-page-size") && strcmp(a, "--sim-fail"))
		return 0;
	if (!v) {
		fprintf(stderr, "gpuva: %s needs a value\n", a);
		return -1;
	}
	if (!strcmp(a, "--backend")) {
		o->name = v;
	} else if (!strcmp(a, "--device")) {
		o->device = v;
	} else if (!strcmp(a, "--sim-page-size")) {
		if (!trace_parse_u64(v, &o->sim_page_size) || !o->sim_page_size ||
		    (o->sim_page_size & (o->sim_page_size - 1))) {
			fprintf(stderr, "gpuva: --sim-page-size %s: not a power of two\n", v);
			return -1;
		}
	} else if (!parse_fail(o, v)) {
		fprintf(stderr, "gpuva: --sim-fail %s: expected K:ERRNO, K:ERRNO:J "
			"or K:lose (K from 1)\n", v);
		return -1;
	}
	return 2;
}

static void
log_reason(void *priv, const char *reason)
{
	(void)priv;
	fprintf(stderr, "gpuva: %s\n", reason);
}

int
backend_open(struct backend_opts *o, struct gpuva_backend **be,
	     struct gpuva_drm_device **dev)
{
	const char *env = getenv("GPUVA_BACKEND");
	int ret;

	*be = NULL;
	*dev = NULL;
	if (!o->name && env && *env)
		o->name = env;
	if (!o->name)
		return 0;
	if (!gpuva_backend_exists(o->name)) {
		fprintf(stderr, "gpuva: no backend '%s' in this build (have:", o->name);
		for (const char *const *n = gpuva_backend_names(); *n; n++)
			fprintf(stderr, " %s", *n);
		fprintf(stderr, ")\n");
		return -1;
	}
	if ((o->sim_page_size || o->fail_set || o->sim_flags) &&
	    strcmp(o->name, "sim")) {
		fprintf(stderr, "gpuva: --sim-* options need --backend sim\n");
		return -1;
	}
	if (!strcmp(o->name, "sim")) {
		struct gpuva_backend_desc d = {
			.page_size = o->sim_page_size, .flags = o->sim_flags,
			.log_fn = log_reason,
		};

		if (gpuva_sim_create(&d, be))
			return -1;
		if (o->fail_set && gpuva_sim_inject(*be, &o->fail)) {
			fprintf(stderr, "gpuva: --sim-fail: %s\n",
				gpuva_backend_last_error(*be));
			gpuva_backend_destroy(*be);
			*be = NULL;
			return -1;
		}
		return 0;
	} else {
		struct gpuva_drm_open_desc d = {
			.path = o->device, .driver = o->name, .log_fn = log_reason,
		};

		ret = gpuva_drm_open(&d, dev);
		if (ret) {
			fprintf(stderr, "gpuva: cannot open a %s device%s%s: %s\n",
				o->name, o->device ? " at " : "",
				o->device ? o->device : "", strerror(-ret));
			return -1;
		}
		*be = gpuva_drm_backend(*dev);
	}
	return 0;
}

void
backend_close(struct gpuva_backend *be, struct gpuva_drm_device *dev)
{
	if (dev)
		gpuva_drm_close(dev);
	else
		gpuva_backend_destroy(be);
}
