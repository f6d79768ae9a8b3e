/* SPDX-License-Identifier: MIT */
/*
 * The preload half of the fake render node: it makes /dev/dri/renderD128
 * exist for this process and routes its fds to the emulated kernel.
 *
 * libdrm finds devices by listing /dev/dri, stat()ing each node and reading
 * /sys/dev/char/MAJ:MIN/device/... (uevent, subsystem link, PCI ids). Rather
 * than faking each read, the shim writes a small sysfs-like tree into a
 * private temporary directory and rewrites the paths that point at the fake
 * device into it; opendir/readdir/fopen/realpath then work unchanged. Only
 * the node itself needs a synthesised stat (a character device), and its
 * fds are /dev/null fds the shim remembers. Every other path and fd goes
 * straight to libc.
 */

/* We define open/fopen/stat themselves, not their 64-bit aliases. */
#undef _FILE_OFFSET_BITS

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim-private.h"

/* recursive: libc calls made under the lock may come back through our wrappers */
pthread_mutex_t shim_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
pthread_cond_t shim_cond;

#define RENDER_NODE "/dev/dri/renderD128"
#define DRI_DIR "/dev/dri"
#define SYS_CHAR "/sys/dev/char/226:128"
#define SYS_CLASS "/sys/class/drm/renderD128"

/* Resolves the next definition of a libc function once, on first use. */
#define REAL(name) \
	static __typeof__(name) *real_##name; \
	if (!real_##name) \
		real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

/* ---- driver choice ---- */

struct device_desc {
	const char *name;	/* GPUVA_SHIM_DRIVER value and DRM driver name */
	const char *sys_dev;	/* the device's directory below /sys */
	const char *bus;	/* "platform" or "pci" */
	const char *uevent;
};

static const struct device_desc devices[] = {
	[SHIM_DRIVER_MSM] = {
		"msm", "/sys/devices/platform/soc@0/3d00000.gpu", "platform",
		"DRIVER=msm\nOF_NAME=gpu\nOF_FULLNAME=/soc@0/gpu@3d00000\n"
		"OF_COMPATIBLE_0=qcom,adreno-43050a01\nOF_COMPATIBLE_1=qcom,adreno\n"
		"OF_COMPATIBLE_N=2\nMODALIAS=of:NgpuT(null)Cqcom,adreno-43050a01Cqcom,adreno\n",
	},
	[SHIM_DRIVER_PANTHOR] = {
		"panthor", "/sys/devices/platform/fb000000.gpu", "platform",
		"DRIVER=panthor\nOF_NAME=gpu\nOF_FULLNAME=/gpu@fb000000\n"
		"OF_COMPATIBLE_0=rockchip,rk3588-mali\nOF_COMPATIBLE_1=arm,mali-valhall-csf\n"
		"OF_COMPATIBLE_N=2\nMODALIAS=of:NgpuT(null)Crockchip,rk3588-maliCarm,mali-valhall-csf\n",
	},
	[SHIM_DRIVER_NOUVEAU] = {
		"nouveau", "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0", "pci",
		"DRIVER=nouveau\nPCI_CLASS=30000\nPCI_ID=10DE:2684\nPCI_SUBSYS_ID=10DE:16F3\n"
		"PCI_SLOT_NAME=0000:01:00.0\nMODALIAS=pci:v000010DEd00002684sv000010DEsd000016F3bc03sc00i00\n",
	},
};

static int driver_choice = -1;

enum shim_driver
shim_driver(void)
{
	if (driver_choice < 0) {
		const char *env = getenv("GPUVA_SHIM_DRIVER");

		driver_choice = SHIM_DRIVER_MSM;
		for (size_t i = 0; env && i < SHIM_ARRAY_SIZE(devices); i++) {
			if (strcmp(env, devices[i].name) == 0) {
				driver_choice = (int)i;
			}
		}
	}
	return (enum shim_driver)driver_choice;
}

/* ---- user memory ---- */

/*
 * process_vm_readv/writev on ourselves report a bad pointer as EFAULT instead
 * of a segfault, which is what the kernel's copy_from_user does.
 */
int
shim_copy_in(void *dst, uint64_t uptr, size_t n)
{
	if (n == 0) {
		return 0;
	}
	struct iovec local = { dst, n };
	struct iovec remote = { (void *)(uintptr_t)uptr, n };
	ssize_t got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);

	if (got < 0 && (errno == ENOSYS || errno == EPERM)) {
		memcpy(dst, (void *)(uintptr_t)uptr, n);
		return 0;
	}
	return got == (ssize_t)n ? 0 : -EFAULT;
}

int
shim_copy_out(uint64_t uptr, const void *src, size_t n)
{
	if (n == 0) {
		return 0;
	}
	struct iovec local = { (void *)src, n };
	struct iovec remote = { (void *)(uintptr_t)uptr, n };
	ssize_t put = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);

	if (put < 0 && (errno == ENOSYS || errno == EPERM)) {
		memcpy((void *)(uintptr_t)uptr, src, n);
		return 0;
	}
	return put == (ssize_t)n ? 0 : -EFAULT;
}

/* ---- the fake sysfs tree ---- */

/* a + b into out, or "" if it does not fit (then the open fails: ENOENT) */
static void
join(char *out, size_t n, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la + lb >= n) {
		out[0] = '\0';
		return;
	}
	memcpy(out, a, la);
	memcpy(out + la, b, lb + 1);
}

static char tree[256];	/* empty until first needed */
static pid_t tree_owner;

static void
tree_mkdirs(const char *rel)
{
	char path[PATH_MAX];

	join(path, sizeof(path), tree, rel);
	for (char *p = path + strlen(tree) + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	}
	mkdir(path, 0755);
}

static void
tree_file(const char *rel, const void *data, size_t len)
{
	REAL(open);
	char path[PATH_MAX];

	join(path, sizeof(path), tree, rel);
	int fd = real_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd >= 0) {
		if (write(fd, data, len) != (ssize_t)len) {
			/* a short tree only makes enumeration fail, which tests report */
		}
		close(fd);
	}
}

static void
tree_text(const char *rel, const char *text)
{
	tree_file(rel, text, strlen(text));
}

/* Symlink <tree>/rel to the absolute (fake) path target, made relative to the tree. */
static void
tree_link(const char *rel, const char *target)
{
	char link[PATH_MAX], dest[PATH_MAX];

	join(link, sizeof(link), tree, rel);
	join(dest, sizeof(dest), tree, target);
	symlink(dest, link);
}

static int
tree_rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

__attribute__((destructor)) static void
tree_remove(void)
{
	if (tree[0] && tree_owner == getpid()) {
		nftw(tree, tree_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	}
}

static void
tree_build(void)
{
	const struct device_desc *d = &devices[shim_driver()];
	const char *tmp = getenv("TMPDIR");
	char buf[PATH_MAX];

	snprintf(tree, sizeof(tree), "%s/gpuva-shim-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tree)) {
		tree[0] = '\0';
		return;
	}
	tree_owner = getpid();

	tree_mkdirs(DRI_DIR);
	tree_text(RENDER_NODE, "");	/* only for the directory listing */

	snprintf(buf, sizeof(buf), "/sys/bus/%s/drivers/%s", d->bus, d->name);
	tree_mkdirs(buf);
	snprintf(buf, sizeof(buf), "%s/drm/renderD128", d->sys_dev);
	tree_mkdirs(buf);
	tree_mkdirs("/sys/dev/char");
	tree_mkdirs("/sys/class/drm");
	tree_link(SYS_CHAR, buf);
	tree_link(SYS_CLASS, buf);

	char link[PATH_MAX + 64];

	snprintf(link, sizeof(link), "%s/device", buf);
	tree_link(link, d->sys_dev);
	snprintf(link, sizeof(link), "%s/dev", buf);
	tree_text(link, "226:128\n");
	snprintf(link, sizeof(link), "%s/uevent", buf);
	tree_text(link, "MAJOR=226\nMINOR=128\nDEVNAME=dri/renderD128\nDEVTYPE=drm_minor\n");

	snprintf(link, sizeof(link), "%s/subsystem", d->sys_dev);
	snprintf(buf, sizeof(buf), "/sys/bus/%s", d->bus);
	tree_link(link, buf);
	snprintf(link, sizeof(link), "%s/driver", d->sys_dev);
	snprintf(buf, sizeof(buf), "/sys/bus/%s/drivers/%s", d->bus, d->name);
	tree_link(link, buf);
	snprintf(link, sizeof(link), "%s/uevent", d->sys_dev);
	tree_text(link, d->uevent);

	if (strcmp(d->bus, "pci") == 0) {
		static const struct { const char *file, *text; } ids[] = {
			{ "vendor", "0x10de\n" }, { "device", "0x2684\n" },
			{ "subsystem_vendor", "0x10de\n" }, { "subsystem_device", "0x16f3\n" },
			{ "revision", "0xa1\n" }, { "class", "0x030000\n" },
		};
		/* PCI config space header: ids, class, revision (libdrm may read it). */
		uint8_t config[256] = {
			0xde, 0x10, 0x84, 0x26, 0x07, 0x04, 0x10, 0x00,
			0xa1, 0x00, 0x00, 0x03,
		};

		config[0x2c] = 0xde;
		config[0x2d] = 0x10;
		config[0x2e] = 0xf3;
		config[0x2f] = 0x16;
		for (size_t i = 0; i < SHIM_ARRAY_SIZE(ids); i++) {
			snprintf(link, sizeof(link), "%s/%s", d->sys_dev, ids[i].file);
			tree_text(link, ids[i].text);
		}
		snprintf(link, sizeof(link), "%s/config", d->sys_dev);
		tree_file(link, config, sizeof(config));
	} else {
		snprintf(link, sizeof(link), "%s/of_node", d->sys_dev);
		tree_mkdirs(link);
	}
}

static bool
has_prefix(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* noinline: libc declares path nonnull, yet a test may pass NULL */
__attribute__((noinline)) static bool
is_render_node(const char *path)
{
	return path && strcmp(path, RENDER_NODE) == 0;
}

/*
 * The path to use instead of @path: inside the fake tree for /dev/dri and
 * the fake device's sysfs entries, else @path itself. Hiding the host's own
 * /dev/dri keeps tests deterministic on machines with a real GPU.
 */
__attribute__((noinline)) static const char *
redirect(const char *path, char *buf, size_t n)
{
	if (!path || path[0] != '/') {
		return path;
	}
	if (!has_prefix(path, DRI_DIR) && !has_prefix(path, SYS_CHAR) &&
	    !has_prefix(path, SYS_CLASS) && !has_prefix(path, devices[shim_driver()].sys_dev)) {
		return path;
	}
	pthread_mutex_lock(&shim_lock);
	if (!tree[0]) {
		tree_build();
	}
	pthread_mutex_unlock(&shim_lock);
	if (!tree[0]) {
		return path;
	}
	join(buf, n, tree, path);
	return buf;
}

/* ---- the fd table ---- */

enum fd_kind {
	FD_NONE,
	FD_RENDER,
	FD_SYNC_FILE,
	FD_SYNCOBJ,
};

struct fd_entry {
	enum fd_kind kind;
	struct shim_file *file;
	struct shim_fence *fence;
	struct shim_syncobj *obj;
};

static struct fd_entry *fd_table;
static size_t fd_table_len;

static struct fd_entry *
fd_get(int fd)
{
	if (fd < 0 || (size_t)fd >= fd_table_len || fd_table[fd].kind == FD_NONE) {
		return NULL;
	}
	return &fd_table[fd];
}

static int
fd_put(int fd, struct fd_entry e)
{
	if ((size_t)fd >= fd_table_len) {
		size_t len = fd_table_len ? fd_table_len : 64;

		while (len <= (size_t)fd) {
			len *= 2;
		}
		struct fd_entry *t = realloc(fd_table, len * sizeof(*t));

		if (!t) {
			return -ENOMEM;
		}
		memset(t + fd_table_len, 0, (len - fd_table_len) * sizeof(*t));
		fd_table = t;
		fd_table_len = len;
	}
	fd_table[fd] = e;
	return 0;
}

static void
file_destroy(struct shim_file *file)
{
	shim_jobs_flush_file(file);
	shim_vm_free(file->vm);
	for (size_t i = 0; i < SHIM_ARRAY_SIZE(file->vms); i++) {
		shim_vm_free(file->vms[i]);
	}
	while (file->bos) {
		struct shim_bo *bo = file->bos;

		file->bos = bo->next;
		free(bo);
	}
	shim_file_syncobjs_fini(file);
	free(file);
}

/* Drops what the fd referenced; the caller closes the real fd. */
static void
fd_forget(int fd)
{
	struct fd_entry *e = fd_get(fd);

	if (!e) {
		return;
	}
	if (e->file && --e->file->refs == 0) {
		file_destroy(e->file);
	}
	if (e->fence) {
		shim_fence_unref(e->fence);
	}
	if (e->obj) {
		shim_syncobj_unref(e->obj);
	}
	memset(e, 0, sizeof(*e));
}

/* A dup'ed fd shares the open file description, as in the kernel. */
static void
fd_dup(int oldfd, int newfd)
{
	if (newfd < 0 || newfd == oldfd) {
		return;
	}
	pthread_mutex_lock(&shim_lock);
	fd_forget(newfd);
	struct fd_entry *e = fd_get(oldfd);

	if (e) {
		struct fd_entry copy = *e;

		if (copy.file) {
			copy.file->refs++;
		}
		if (copy.fence) {
			shim_fence_ref(copy.fence);
		}
		if (copy.obj) {
			copy.obj->refs++;
		}
		fd_put(newfd, copy);
	}
	pthread_mutex_unlock(&shim_lock);
}

struct shim_file *
shim_file_from_fd(int fd)
{
	struct fd_entry *e = fd_get(fd);

	return e && e->kind == FD_RENDER ? e->file : NULL;
}

/*
 * An eventfd stands in for sync_file and syncobj fds: pollable, closable.
 * Creating it is where a full fd table (RLIMIT_NOFILE) gives EMFILE.
 */
int
shim_fd_reserve(void)
{
	int fd = eventfd(1, EFD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

void
shim_fd_unreserve(int fd)
{
	REAL(close);

	real_close(fd);
}

static int
fd_install_special(int fd, struct fd_entry e)
{
	if (fd_put(fd, e) < 0) {
		shim_fd_unreserve(fd);
		return -ENOMEM;
	}
	return fd;
}

static int
fd_new_special(struct fd_entry e)
{
	int fd = shim_fd_reserve();

	return fd < 0 ? fd : fd_install_special(fd, e);
}

/* On failure the fd stays reserved: the caller gives it back. */
int
shim_sync_file_install(int fd, struct shim_fence *f)
{
	struct fd_entry e = { .kind = FD_SYNC_FILE, .fence = f };

	if (fd_put(fd, e) < 0) {
		return -ENOMEM;
	}
	shim_fence_ref(f);
	return fd;
}

int
shim_sync_file_create(struct shim_fence *f)
{
	int fd = shim_fd_reserve();
	int ret = fd < 0 ? fd : shim_sync_file_install(fd, f);

	if (ret < 0 && fd >= 0) {
		shim_fd_unreserve(fd);
	}
	return ret;
}

struct shim_fence *
shim_sync_file_fence(int fd)
{
	struct fd_entry *e = fd_get(fd);

	return e && e->kind == FD_SYNC_FILE ? shim_fence_ref(e->fence) : NULL;
}

int
shim_syncobj_fd_create(struct shim_syncobj *obj)
{
	obj->refs++;
	struct fd_entry e = { .kind = FD_SYNCOBJ, .obj = obj };
	int fd = fd_new_special(e);

	if (fd < 0) {
		obj->refs--;
	}
	return fd;
}

struct shim_syncobj *
shim_syncobj_from_fd(int fd)
{
	struct fd_entry *e = fd_get(fd);

	return e && e->kind == FD_SYNCOBJ ? e->obj : NULL;
}

/* ---- opening the node ---- */

static int
render_open(int flags)
{
	REAL(open);
	int fd = real_open("/dev/null", O_RDWR | (flags & O_CLOEXEC));

	if (fd < 0) {
		return fd;
	}
	struct shim_file *file = calloc(1, sizeof(*file));

	if (!file) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	file->refs = 1;
	file->next_handle = 1;
	file->next_syncobj = 1;
	if (shim_driver() == SHIM_DRIVER_MSM) {
		shim_msm_file_init(file);
	}
	pthread_mutex_lock(&shim_lock);
	int ret = fd_put(fd, (struct fd_entry){ .kind = FD_RENDER, .file = file });
	pthread_mutex_unlock(&shim_lock);
	if (ret < 0) {
		free(file);
		close(fd);
		errno = -ret;
		return -1;
	}
	return fd;
}

static int
open_common(const char *path, int flags, mode_t mode)
{
	REAL(open);
	char buf[PATH_MAX];

	if (is_render_node(path)) {
		return render_open(flags);
	}
	return real_open(redirect(path, buf, sizeof(buf)), flags, mode);
}

static mode_t
open_mode(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) == O_CREAT || (flags & O_TMPFILE) == O_TMPFILE ?
	       (mode_t)va_arg(ap, int) : 0;
}

SHIM_EXPORT int
open(const char *path, int flags, ...)
{
	va_list ap;

	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	return open_common(path, flags, mode);
}

SHIM_EXPORT int
open64(const char *path, int flags, ...)
{
	va_list ap;

	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	return open_common(path, flags, mode);
}

int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);

SHIM_EXPORT int
__open_2(const char *path, int flags)
{
	return open_common(path, flags, 0);
}

SHIM_EXPORT int
__open64_2(const char *path, int flags)
{
	return open_common(path, flags, 0);
}

static int
openat_common(int dirfd, const char *path, int flags, mode_t mode)
{
	REAL(openat);
	char buf[PATH_MAX];

	if (is_render_node(path)) {
		return render_open(flags);
	}
	return real_openat(dirfd, redirect(path, buf, sizeof(buf)), flags, mode);
}

SHIM_EXPORT int
openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;

	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	return openat_common(dirfd, path, flags, mode);
}

SHIM_EXPORT int
openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;

	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	return openat_common(dirfd, path, flags, mode);
}

SHIM_EXPORT FILE *
fopen(const char *path, const char *mode)
{
	REAL(fopen);
	char buf[PATH_MAX];

	return real_fopen(redirect(path, buf, sizeof(buf)), mode);
}

SHIM_EXPORT FILE *
fopen64(const char *path, const char *mode)
{
	REAL(fopen64);
	char buf[PATH_MAX];

	return real_fopen64(redirect(path, buf, sizeof(buf)), mode);
}

SHIM_EXPORT DIR *
opendir(const char *path)
{
	REAL(opendir);
	char buf[PATH_MAX];

	return real_opendir(redirect(path, buf, sizeof(buf)));
}

SHIM_EXPORT int
access(const char *path, int mode)
{
	REAL(access);
	char buf[PATH_MAX];

	if (is_render_node(path)) {
		return (mode & X_OK) ? (errno = EACCES, -1) : 0;
	}
	return real_access(redirect(path, buf, sizeof(buf)), mode);
}

SHIM_EXPORT ssize_t
readlink(const char *path, char *out, size_t size)
{
	REAL(readlink);
	char buf[PATH_MAX];

	return real_readlink(redirect(path, buf, sizeof(buf)), out, size);
}

SHIM_EXPORT char *
realpath(const char *path, char *resolved)
{
	REAL(realpath);
	char buf[PATH_MAX];

	if (is_render_node(path)) {
		char *out = resolved ? resolved : malloc(PATH_MAX);

		if (out) {
			strcpy(out, RENDER_NODE);
		}
		return out;
	}
	return real_realpath(redirect(path, buf, sizeof(buf)), resolved);
}

char *__realpath_chk(const char *path, char *resolved, size_t resolved_len);

SHIM_EXPORT char *
__realpath_chk(const char *path, char *resolved, size_t resolved_len)
{
	(void)resolved_len;
	return realpath(path, resolved);
}

/* ---- stat ---- */

static void
render_stat(struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFCHR | 0666;
	st->st_rdev = makedev(SHIM_DRM_MAJOR, SHIM_RENDER_MINOR);
	st->st_dev = makedev(0, 5);
	st->st_ino = 0x5eed;
	st->st_nlink = 1;
	st->st_blksize = 4096;
}

static bool
fd_is_fake_node(int fd)
{
	pthread_mutex_lock(&shim_lock);
	bool yes = shim_file_from_fd(fd) != NULL;
	pthread_mutex_unlock(&shim_lock);
	return yes;
}

SHIM_EXPORT int
stat(const char *restrict path, struct stat *restrict st)
{
	REAL(stat);
	char buf[PATH_MAX];

	if (is_render_node(path)) {
		render_stat(st);
		return 0;
	}
	return real_stat(redirect(path, buf, sizeof(buf)), st);
}

SHIM_EXPORT int
stat64(const char *restrict path, struct stat64 *restrict st)
{
	REAL(stat64);
	char buf[PATH_MAX];

	if (is_render_node(path)) {
		render_stat((struct stat *)st);
		return 0;
	}
	return real_stat64(redirect(path, buf, sizeof(buf)), st);
}

SHIM_EXPORT int
lstat(const char *restrict path, struct stat *restrict st)
{
	REAL(lstat);
	char buf[PATH_MAX];

	if (is_render_node(path)) {
		render_stat(st);
		return 0;
	}
	return real_lstat(redirect(path, buf, sizeof(buf)), st);
}

SHIM_EXPORT int
lstat64(const char *restrict path, struct stat64 *restrict st)
{
	REAL(lstat64);
	char buf[PATH_MAX];

	if (is_render_node(path)) {
		render_stat((struct stat *)st);
		return 0;
	}
	return real_lstat64(redirect(path, buf, sizeof(buf)), st);
}

SHIM_EXPORT int
fstat(int fd, struct stat *st)
{
	REAL(fstat);

	if (fd_is_fake_node(fd)) {
		render_stat(st);
		return 0;
	}
	return real_fstat(fd, st);
}

SHIM_EXPORT int
fstat64(int fd, struct stat64 *st)
{
	REAL(fstat64);

	if (fd_is_fake_node(fd)) {
		render_stat((struct stat *)st);
		return 0;
	}
	return real_fstat64(fd, st);
}

SHIM_EXPORT int
fstatat(int dirfd, const char *restrict path, struct stat *restrict st, int flags)
{
	REAL(fstatat);
	char buf[PATH_MAX];

	if ((flags & AT_EMPTY_PATH) && !path[0] && fd_is_fake_node(dirfd)) {
		render_stat(st);
		return 0;
	}
	if (is_render_node(path)) {
		render_stat(st);
		return 0;
	}
	return real_fstatat(dirfd, redirect(path, buf, sizeof(buf)), st, flags);
}

SHIM_EXPORT int
fstatat64(int dirfd, const char *restrict path, struct stat64 *restrict st, int flags)
{
	REAL(fstatat64);
	char buf[PATH_MAX];

	if ((flags & AT_EMPTY_PATH) && !path[0] && fd_is_fake_node(dirfd)) {
		render_stat((struct stat *)st);
		return 0;
	}
	if (is_render_node(path)) {
		render_stat((struct stat *)st);
		return 0;
	}
	return real_fstatat64(dirfd, redirect(path, buf, sizeof(buf)), st, flags);
}

/* ---- fd lifetime ---- */

SHIM_EXPORT int
close(int fd)
{
	REAL(close);

	pthread_mutex_lock(&shim_lock);
	fd_forget(fd);
	pthread_mutex_unlock(&shim_lock);
	return real_close(fd);
}

SHIM_EXPORT int
dup(int fd)
{
	REAL(dup);
	int newfd = real_dup(fd);

	fd_dup(fd, newfd);
	return newfd;
}

SHIM_EXPORT int
dup2(int fd, int newfd)
{
	REAL(dup2);
	int ret = real_dup2(fd, newfd);

	fd_dup(fd, ret);
	return ret;
}

SHIM_EXPORT int
dup3(int fd, int newfd, int flags)
{
	REAL(dup3);
	int ret = real_dup3(fd, newfd, flags);

	fd_dup(fd, ret);
	return ret;
}

static int
fcntl_common(int fd, int cmd, void *arg)
{
	REAL(fcntl);
	int ret = real_fcntl(fd, cmd, arg);

	if (ret >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)) {
		fd_dup(fd, ret);
	}
	return ret;
}

SHIM_EXPORT int
fcntl(int fd, int cmd, ...)
{
	va_list ap;

	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...);

SHIM_EXPORT int
fcntl64(int fd, int cmd, ...)
{
	va_list ap;

	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(fd, cmd, arg);
}

/* BO mmap offsets have no backing store here: hand out private zero pages. */
SHIM_EXPORT void *
mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	REAL(mmap);

	if (fd_is_fake_node(fd)) {
		return real_mmap(addr, len, prot,
				 (flags & MAP_FIXED) | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	return real_mmap(addr, len, prot, flags, fd, off);
}

SHIM_EXPORT void *
mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	REAL(mmap64);

	if (fd_is_fake_node(fd)) {
		return real_mmap64(addr, len, prot,
				   (flags & MAP_FIXED) | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	return real_mmap64(addr, len, prot, flags, fd, off);
}

/* ---- ioctl ---- */

SHIM_EXPORT int
ioctl(int fd, unsigned long request, ...)
{
	REAL(ioctl);
	va_list ap;

	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);

	pthread_mutex_lock(&shim_lock);
	struct shim_file *file = shim_file_from_fd(fd);

	if (!file) {
		pthread_mutex_unlock(&shim_lock);
		return real_ioctl(fd, request, arg);
	}
	int ret = shim_ioctl(file, request, arg);

	pthread_mutex_unlock(&shim_lock);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return ret;
}

__attribute__((constructor)) static void
shim_init(void)
{
	pthread_condattr_t attr;

	/* syncobj timeouts are absolute CLOCK_MONOTONIC times */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&shim_cond, &attr);
	pthread_condattr_destroy(&attr);
}
