/* SPDX-License-Identifier: MIT */
/*
 * The device layer: render nodes, which driver each belongs to, whether
 * libgpuva can drive it, and opening one with its backend.
 *
 * It exists so that a tool or a driver need not know which kernel it runs
 * on: discovery and the driver-name dispatch are here, once, and each
 * kernel backend only adds a probe (lib/backend/registry.c). A probe runs
 * on a throw-away fd, because setting a device up for VM_BIND is a one-way
 * step on an fd (msm's EN_VM_BIND, nouveau's VM_INIT): the fd a backend
 * then gets is fresh, and the backend sets it up first thing. It leaves
 * out everything a backend does with the device.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xf86drm.h>

#include "backend/registry.h"
#include "gpuva/drm.h"
#include "util/util.h"

struct gpuva_drm_device {
	int fd;
	struct gpuva_backend *be;
	struct gpuva_drm_node node;
};

/* Fill @out's identity from an open fd: driver name and version. */
static int
identify(int fd, struct gpuva_drm_node *out)
{
	drmVersionPtr v = drmGetVersion(fd);

	if (!v)
		return -ENODEV;
	snprintf(out->driver, sizeof(out->driver), "%s", v->name ? v->name : "");
	out->version[0] = v->version_major;
	out->version[1] = v->version_minor;
	out->version[2] = v->version_patchlevel;
	drmFreeVersion(v);
	return 0;
}

int
gpuva_drm_probe(const char *path, struct gpuva_drm_node *out)
{
	const struct backend_entry *e;
	int fd, ret;

	memset(out, 0, sizeof(*out));
	snprintf(out->path, sizeof(out->path), "%s", path);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(out->why, sizeof(out->why), "cannot open: %s",
			 strerror(errno));
		return ret;
	}
	ret = identify(fd, out);
	if (ret) {
		snprintf(out->why, sizeof(out->why), "not a DRM device");
		close(fd);
		return ret;
	}
	e = backend_find(out->driver);
	if (!e || !e->probe) {
		snprintf(out->why, sizeof(out->why),
			 "no libgpuva backend for the %s driver%s", out->driver,
			 !strcmp(out->driver, "msm") || !strcmp(out->driver, "panthor") ||
			 !strcmp(out->driver, "nouveau") ? " in this build" : "");
		close(fd);
		return 0;
	}
	ret = e->probe(fd, out);
	close(fd);
	return ret;
}

int
gpuva_drm_list(struct gpuva_drm_node **nodes, size_t *count)
{
	drmDevicePtr *devs = NULL;
	struct gpuva_drm_node *out = NULL;
	int n, got;
	size_t k = 0;

	*nodes = NULL;
	*count = 0;
	n = drmGetDevices2(0, NULL, 0);
	if (n <= 0)
		return 0;
	devs = calloc((size_t)n, sizeof(*devs));
	out = calloc((size_t)n, sizeof(*out));
	if (!devs || !out) {
		free(devs);
		free(out);
		return -ENOMEM;
	}
	got = drmGetDevices2(0, devs, n);
	for (int i = 0; i < got && i < n; i++) {
		if (!(devs[i]->available_nodes & (1 << DRM_NODE_RENDER)))
			continue;
		/* a node that cannot be opened is listed with its reason */
		gpuva_drm_probe(devs[i]->nodes[DRM_NODE_RENDER], &out[k++]);
	}
	if (got > 0)
		drmFreeDevices(devs, got);
	free(devs);
	*nodes = out;
	*count = k;
	return 0;
}

void
gpuva_drm_list_free(struct gpuva_drm_node *nodes)
{
	free(nodes);
}

/* A node of @desc's driver (any, if NULL) that can do VM_BIND, into @out. */
static int
pick(const struct gpuva_drm_open_desc *desc, struct gpuva_drm_node *out,
     char *why, size_t why_size)
{
	struct gpuva_drm_node *nodes;
	size_t n;
	int ret;

	if (desc->path) {
		ret = gpuva_drm_probe(desc->path, out);
		if (!ret && desc->driver && strcmp(out->driver, desc->driver)) {
			snprintf(why, why_size, "%s is a %s device, not %s",
				 desc->path, out->driver, desc->driver);
			return -ENODEV;
		}
		if (!ret && !out->vm_bind) {
			snprintf(why, why_size, "%s (%s): %s", desc->path,
				 out->driver, out->why);
			return -ENODEV;
		}
		if (ret)
			snprintf(why, why_size, "%s: %s", desc->path, out->why);
		return ret;
	}
	ret = gpuva_drm_list(&nodes, &n);
	if (ret)
		return ret;
	snprintf(why, why_size, "no render node%s%s can do VM_BIND",
		 desc->driver ? " of the driver " : "",
		 desc->driver ? desc->driver : "");
	ret = -ENODEV;
	for (size_t i = 0; i < n; i++) {
		if (!nodes[i].vm_bind ||
		    (desc->driver && strcmp(nodes[i].driver, desc->driver)))
			continue;
		*out = nodes[i];
		ret = 0;
		break;
	}
	gpuva_drm_list_free(nodes);
	return ret;
}

/* Tell the caller's log why an open failed (there is no object to keep it). */
static int
open_fail(const struct gpuva_drm_open_desc *desc, int err, const char *why)
{
	if (desc->log_fn)
		desc->log_fn(desc->log_priv, why);
	return err;
}

int
gpuva_drm_open(const struct gpuva_drm_open_desc *desc,
	       struct gpuva_drm_device **out)
{
	struct gpuva_backend_desc bd = { 0 };
	struct gpuva_drm_device *dev;
	char why[256];
	int ret;

	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return open_fail(desc, -ENOMEM, "drm open: out of memory");
	ret = pick(desc, &dev->node, why, sizeof(why));
	if (ret) {
		free(dev);
		return open_fail(desc, ret, why);
	}
	dev->fd = open(dev->node.path, O_RDWR | O_CLOEXEC);
	if (dev->fd < 0) {
		ret = -errno;
		snprintf(why, sizeof(why), "%s: cannot open: %s", dev->node.path,
			 strerror(errno));
		free(dev);
		return open_fail(desc, ret, why);
	}
	bd.fd = dev->fd;
	bd.flags = desc->flags;
	bd.log_fn = desc->log_fn;
	bd.log_priv = desc->log_priv;
	ret = gpuva_backend_create(dev->node.driver, &bd, &dev->be);
	if (ret) {
		close(dev->fd);
		free(dev);
		return ret;
	}
	*out = dev;
	return 0;
}

void
gpuva_drm_close(struct gpuva_drm_device *dev)
{
	if (!dev)
		return;
	gpuva_backend_destroy(dev->be);
	close(dev->fd);
	free(dev);
}

struct gpuva_backend *
gpuva_drm_backend(const struct gpuva_drm_device *dev)
{
	return dev->be;
}

int
gpuva_drm_fd(const struct gpuva_drm_device *dev)
{
	return dev->fd;
}

const struct gpuva_drm_node *
gpuva_drm_device_node(const struct gpuva_drm_device *dev)
{
	return &dev->node;
}

int
gpuva_drm_vm_create(struct gpuva_drm_device *dev,
		    const struct gpuva_vm_desc *desc, struct gpuva_vm **out)
{
	struct gpuva_vm_desc d = { 0 };

	if (desc)
		d = *desc;
	d.backend = dev->be;
	return gpuva_vm_create(&d, out);
}
