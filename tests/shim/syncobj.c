/* SPDX-License-Identifier: MIT */
/*
 * Fences, syncobjs and the bind job queue of the fake kernel.
 *
 * A fence is just a flag. A syncobj holds a list of (point, fence); a binary
 * payload is the single point 0. Bind jobs run as soon as everything they
 * wait on has signalled, in submission order per file, and signal their
 * fence when done; gpuva_shim_hold() parks them so tests can watch a fence
 * stay unsignalled. Because nothing runs behind the caller's back, waits
 * only ever block on held jobs (or time out).
 *
 * The syncobj ioctls accept both struct sizes (docs/kernels.md 1.4): dispatch
 * keys on nr and zero-fills, so the newer fields (point, deadline) read as 0.
 * Under GPUVA_SHIM_NO_TIMELINE=1 the driver lacks DRIVER_SYNCOBJ_TIMELINE: the
 * four timeline ioctls answer EOPNOTSUPP before anything else.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shim-private.h"

/* ---- fences ---- */

struct shim_fence *
shim_fence_new(bool signalled)
{
	struct shim_fence *f = calloc(1, sizeof(*f));

	if (f) {
		f->refs = 1;
		f->signalled = signalled;
	}
	return f;
}

struct shim_fence *
shim_fence_ref(struct shim_fence *f)
{
	f->refs++;
	return f;
}

void
shim_fence_unref(struct shim_fence *f)
{
	if (f && --f->refs == 0) {
		free(f);
	}
}

void
shim_fence_signal(struct shim_fence *f, int error)
{
	f->signalled = true;
	f->error = error;
	pthread_cond_broadcast(&shim_cond);
}

/* ---- syncobjs ---- */

static struct shim_handle *
handle_slot(struct shim_file *file, uint32_t handle)
{
	for (size_t i = 0; i < file->nsyncobjs; i++) {
		if (file->syncobjs[i].handle == handle) {
			return &file->syncobjs[i];
		}
	}
	return NULL;
}

struct shim_syncobj *
shim_syncobj_get(struct shim_file *file, uint32_t handle)
{
	struct shim_handle *h = handle_slot(file, handle);

	return h ? h->obj : NULL;
}

static int
handle_add(struct shim_file *file, struct shim_syncobj *obj, uint32_t *handle)
{
	if (file->nsyncobjs == file->capsyncobjs) {
		size_t cap = file->capsyncobjs ? file->capsyncobjs * 2 : 16;
		struct shim_handle *t = realloc(file->syncobjs, cap * sizeof(*t));

		if (!t) {
			return -ENOMEM;
		}
		file->syncobjs = t;
		file->capsyncobjs = cap;
	}
	*handle = file->next_syncobj++;
	file->syncobjs[file->nsyncobjs++] = (struct shim_handle){ *handle, obj };
	return 0;
}

void
shim_syncobj_reset(struct shim_syncobj *obj)
{
	for (size_t i = 0; i < obj->n; i++) {
		shim_fence_unref(obj->pts[i].fence);
	}
	obj->n = 0;
}

void
shim_syncobj_unref(struct shim_syncobj *obj)
{
	if (--obj->refs == 0) {
		shim_syncobj_reset(obj);
		free(obj->pts);
		free(obj);
	}
}

void
shim_file_syncobjs_fini(struct shim_file *file)
{
	for (size_t i = 0; i < file->nsyncobjs; i++) {
		shim_syncobj_unref(file->syncobjs[i].obj);
	}
	free(file->syncobjs);
	file->syncobjs = NULL;
	file->nsyncobjs = 0;
}

void
shim_syncobj_install(struct shim_syncobj *obj, uint64_t point, struct shim_fence *f)
{
	if (point == 0) {
		shim_syncobj_reset(obj);
	}
	if (obj->n == obj->cap) {
		size_t cap = obj->cap ? obj->cap * 2 : 4;
		struct shim_point *t = realloc(obj->pts, cap * sizeof(*t));

		if (!t) {
			return;	/* the point is lost: a later wait sees EINVAL */
		}
		obj->pts = t;
		obj->cap = cap;
	}
	size_t i = obj->n;

	/* keep points sorted; a late lower point is inserted in place */
	while (i > 0 && obj->pts[i - 1].point > point) {
		obj->pts[i] = obj->pts[i - 1];
		i--;
	}
	obj->pts[i] = (struct shim_point){ point, shim_fence_ref(f) };
	obj->n++;
}

/* The fence for (point): the head for 0, else the first point >= @point. */
static struct shim_fence *
syncobj_fence(const struct shim_syncobj *obj, uint64_t point)
{
	if (obj->n == 0) {
		return NULL;
	}
	if (point == 0) {
		return obj->pts[obj->n - 1].fence;
	}
	for (size_t i = 0; i < obj->n; i++) {
		if (obj->pts[i].point >= point) {
			return obj->pts[i].fence;
		}
	}
	return NULL;
}

int
shim_syncobj_find_fence(struct shim_file *file, uint32_t handle, uint64_t point, struct shim_fence **out)
{
	struct shim_syncobj *obj = shim_syncobj_get(file, handle);

	if (!obj) {
		return -ENOENT;
	}
	struct shim_fence *f = syncobj_fence(obj, point);

	if (!f) {
		return -EINVAL;
	}
	*out = shim_fence_ref(f);
	return 0;
}

static int
install_stub(struct shim_syncobj *obj, uint64_t point)
{
	struct shim_fence *f = shim_fence_new(true);

	if (!f) {
		return -ENOMEM;
	}
	shim_syncobj_install(obj, point, f);
	shim_fence_unref(f);
	pthread_cond_broadcast(&shim_cond);
	return 0;
}

/* ---- jobs ---- */

static struct shim_job *queue_head, **queue_tail = &queue_head;

struct shim_job *
shim_job_new(struct shim_file *file, struct shim_vm *vm, shim_job_run_fn run)
{
	struct shim_job *job = calloc(1, sizeof(*job));

	if (!job) {
		return NULL;
	}
	job->done = shim_fence_new(false);
	if (!job->done) {
		free(job);
		return NULL;
	}
	job->file = file;
	job->vm = vm;
	job->run = run;
	return job;
}

int
shim_job_add_wait(struct shim_job *job, struct shim_fence *f)
{
	struct shim_fence **t = realloc(job->waits, (job->nwaits + 1) * sizeof(*t));

	if (!t) {
		return -ENOMEM;
	}
	job->waits = t;
	job->waits[job->nwaits++] = shim_fence_ref(f);
	return 0;
}

static void
job_free(struct shim_job *job)
{
	for (size_t i = 0; i < job->nwaits; i++) {
		shim_fence_unref(job->waits[i]);
	}
	free(job->waits);
	shim_fence_unref(job->done);
	free(job->ops);
	free(job);
}

void
shim_job_abort(struct shim_job *job)
{
	shim_fence_signal(job->done, -ECANCELED);
	job_free(job);
}

static bool
job_ready(const struct shim_job *job)
{
	if (job->file->hold) {
		return false;
	}
	for (size_t i = 0; i < job->nwaits; i++) {
		if (!job->waits[i]->signalled) {
			return false;
		}
	}
	return true;
}

static void
queue_remove(struct shim_job **link)
{
	struct shim_job *job = *link;

	*link = job->next;
	if (queue_tail == &job->next) {
		queue_tail = link;
	}
}

void
shim_jobs_run(void)
{
	bool progress = true;

	while (progress) {
		progress = false;
		/* a file whose first pending job is blocked keeps its later jobs queued */
		struct shim_file *blocked[16];
		size_t nblocked = 0;

		for (struct shim_job **link = &queue_head; *link;) {
			struct shim_job *job = *link;
			bool skip = false;

			for (size_t i = 0; i < nblocked; i++) {
				skip |= blocked[i] == job->file;
			}
			if (skip || !job_ready(job)) {
				if (!skip && nblocked < SHIM_ARRAY_SIZE(blocked)) {
					blocked[nblocked++] = job->file;
				}
				link = &job->next;
				continue;
			}
			queue_remove(link);
			job->run(job);
			shim_fence_signal(job->done, job->done->error);
			job_free(job);
			progress = true;
		}
	}
}

void
shim_job_submit(struct shim_job *job)
{
	job->next = NULL;
	*queue_tail = job;
	queue_tail = &job->next;
	shim_jobs_run();
}

/* Dropped jobs still signal: nobody may wait forever on a closed fd's work. */
static void
jobs_drop(struct shim_file *file, struct shim_vm *vm)
{
	for (struct shim_job **link = &queue_head; *link;) {
		struct shim_job *job = *link;

		if ((file && job->file == file) || (vm && job->vm == vm)) {
			queue_remove(link);
			shim_fence_signal(job->done, -ECANCELED);
			job_free(job);
		} else {
			link = &job->next;
		}
	}
}

void
shim_jobs_flush_file(struct shim_file *file)
{
	jobs_drop(file, NULL);
}

void
shim_jobs_flush_vm(struct shim_vm *vm)
{
	jobs_drop(NULL, vm);
}

/* ---- syncobj ioctls ---- */

static int
syncobj_create(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_syncobj_create *args = data;

	(void)user_size;
	if (args->flags & ~SHIM_SYNCOBJ_CREATE_SIGNALED) {
		return -EINVAL;
	}
	struct shim_syncobj *obj = calloc(1, sizeof(*obj));

	if (!obj) {
		return -ENOMEM;
	}
	obj->refs = 1;
	if ((args->flags & SHIM_SYNCOBJ_CREATE_SIGNALED) && install_stub(obj, 0) < 0) {
		shim_syncobj_unref(obj);
		return -ENOMEM;
	}
	if (handle_add(file, obj, &args->handle) < 0) {
		shim_syncobj_unref(obj);
		return -ENOMEM;
	}
	return 0;
}

static int
syncobj_destroy(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_syncobj_destroy *args = data;

	(void)user_size;
	if (args->pad) {
		return -EINVAL;
	}
	struct shim_handle *h = handle_slot(file, args->handle);

	if (!h) {
		return -EINVAL;
	}
	shim_syncobj_unref(h->obj);
	*h = file->syncobjs[--file->nsyncobjs];
	return 0;
}

static int
syncobj_handle_to_fd(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_syncobj_handle *args = data;
	uint32_t export_flags = SHIM_SYNCOBJ_HANDLE_SYNC_FILE | SHIM_SYNCOBJ_HANDLE_TIMELINE;

	(void)user_size;
	if (args->pad) {
		return -EINVAL;
	}
	if (args->flags != 0 && args->flags != SHIM_SYNCOBJ_HANDLE_SYNC_FILE && args->flags != export_flags) {
		return -EINVAL;
	}
	if (args->flags & SHIM_SYNCOBJ_HANDLE_SYNC_FILE) {
		struct shim_fence *f;
		uint64_t point = (args->flags & SHIM_SYNCOBJ_HANDLE_TIMELINE) ? args->point : 0;
		int ret = shim_syncobj_find_fence(file, args->handle, point, &f);

		if (ret) {
			return ret;
		}
		ret = shim_sync_file_create(f);
		shim_fence_unref(f);
		if (ret < 0) {
			return ret;
		}
		args->fd = ret;
		return 0;
	}
	struct shim_syncobj *obj = shim_syncobj_get(file, args->handle);

	if (!obj) {
		return -EINVAL;
	}
	int fd = shim_syncobj_fd_create(obj);

	if (fd < 0) {
		return fd;
	}
	args->fd = fd;
	return 0;
}

static int
syncobj_fd_to_handle(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_syncobj_handle *args = data;
	uint32_t import_flags = SHIM_SYNCOBJ_HANDLE_SYNC_FILE | SHIM_SYNCOBJ_HANDLE_TIMELINE;

	(void)user_size;
	if (args->pad) {
		return -EINVAL;
	}
	if (args->flags != 0 && args->flags != SHIM_SYNCOBJ_HANDLE_SYNC_FILE && args->flags != import_flags) {
		return -EINVAL;
	}
	if (args->flags & SHIM_SYNCOBJ_HANDLE_SYNC_FILE) {
		struct shim_fence *f = shim_sync_file_fence(args->fd);

		if (!f) {
			return -EINVAL;
		}
		struct shim_syncobj *obj = shim_syncobj_get(file, args->handle);

		if (!obj) {
			shim_fence_unref(f);
			return -ENOENT;
		}
		shim_syncobj_install(obj, (args->flags & SHIM_SYNCOBJ_HANDLE_TIMELINE) ? args->point : 0, f);
		shim_fence_unref(f);
		return 0;
	}
	struct shim_syncobj *obj = shim_syncobj_from_fd(args->fd);

	if (!obj) {
		return -EINVAL;
	}
	int ret = handle_add(file, obj, &args->handle);

	if (ret == 0) {
		obj->refs++;
	}
	return ret;
}

/* Looks up @count handles (copied from user memory) with a reference each. */
static int
find_array(struct shim_file *file, uint64_t uptr, uint32_t count, struct shim_syncobj ***out)
{
	uint32_t *handles = calloc(count, sizeof(*handles));
	struct shim_syncobj **objs = calloc(count, sizeof(*objs));
	int ret = handles && objs ? 0 : -ENOMEM;

	if (ret == 0) {
		ret = shim_copy_in(handles, uptr, count * sizeof(*handles));
	}
	for (uint32_t i = 0; ret == 0 && i < count; i++) {
		objs[i] = shim_syncobj_get(file, handles[i]);
		if (!objs[i]) {
			ret = -ENOENT;
		} else {
			objs[i]->refs++;
		}
	}
	free(handles);
	if (ret) {
		for (uint32_t i = 0; objs && i < count && objs[i]; i++) {
			shim_syncobj_unref(objs[i]);
		}
		free(objs);
		return ret;
	}
	*out = objs;
	return 0;
}

static void
put_array(struct shim_syncobj **objs, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		shim_syncobj_unref(objs[i]);
	}
	free(objs);
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * The shared wait loop of SYNCOBJ_WAIT and TIMELINE_WAIT. Sleeps on
 * shim_cond (releasing shim_lock) until done or the absolute timeout.
 */
static int
wait_objs(struct shim_syncobj **objs, const uint64_t *points, uint32_t count, uint32_t flags,
	  int64_t timeout, uint32_t *first)
{
	if (!(flags & SHIM_SYNCOBJ_WAIT_FOR_SUBMIT)) {
		for (uint32_t i = 0; i < count; i++) {
			if (!syncobj_fence(objs[i], points ? points[i] : 0)) {
				return -EINVAL;
			}
		}
	}
	for (;;) {
		uint32_t done = 0, first_done = UINT32_MAX;

		for (uint32_t i = 0; i < count; i++) {
			struct shim_fence *f = syncobj_fence(objs[i], points ? points[i] : 0);
			bool ok = f && ((flags & SHIM_SYNCOBJ_WAIT_AVAILABLE) || f->signalled);

			if (ok) {
				done++;
				if (first_done == UINT32_MAX) {
					first_done = i;
				}
			}
		}
		if ((flags & SHIM_SYNCOBJ_WAIT_ALL) ? done == count : done > 0) {
			if (!(flags & SHIM_SYNCOBJ_WAIT_ALL)) {
				*first = first_done;
			}
			return 0;
		}
		if (timeout <= now_ns()) {
			return -ETIME;
		}
		struct timespec ts = { (time_t)(timeout / 1000000000), (long)(timeout % 1000000000) };

		pthread_cond_timedwait(&shim_cond, &shim_lock, &ts);
	}
}

static int
syncobj_wait(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_syncobj_wait *args = data;
	uint32_t valid = SHIM_SYNCOBJ_WAIT_ALL | SHIM_SYNCOBJ_WAIT_FOR_SUBMIT | SHIM_SYNCOBJ_WAIT_DEADLINE;
	struct shim_syncobj **objs;

	(void)user_size;
	if (args->flags & ~valid) {
		return -EINVAL;
	}
	if (args->count_handles == 0) {
		return 0;
	}
	int ret = find_array(file, args->handles, args->count_handles, &objs);

	if (ret) {
		return ret;
	}
	ret = wait_objs(objs, NULL, args->count_handles, args->flags, args->timeout_nsec, &args->first_signaled);
	put_array(objs, args->count_handles);
	return ret;
}

static int
syncobj_timeline_wait(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_syncobj_timeline_wait *args = data;
	uint32_t valid = SHIM_SYNCOBJ_WAIT_ALL | SHIM_SYNCOBJ_WAIT_FOR_SUBMIT | SHIM_SYNCOBJ_WAIT_AVAILABLE |
			 SHIM_SYNCOBJ_WAIT_DEADLINE;
	struct shim_syncobj **objs;

	(void)user_size;
	if (!shim_has_timeline()) {
		return -EOPNOTSUPP;
	}
	if (args->flags & ~valid) {
		return -EINVAL;
	}
	if (args->count_handles == 0) {
		return 0;
	}
	int ret = find_array(file, args->handles, args->count_handles, &objs);

	if (ret) {
		return ret;
	}
	uint64_t *points = calloc(args->count_handles, sizeof(*points));

	ret = points ? shim_copy_in(points, args->points, args->count_handles * sizeof(*points)) : -ENOMEM;
	if (ret == 0) {
		ret = wait_objs(objs, points, args->count_handles, args->flags, args->timeout_nsec,
				&args->first_signaled);
	}
	free(points);
	put_array(objs, args->count_handles);
	return ret;
}

static int
syncobj_reset_or_signal(struct shim_file *file, void *data, bool signal)
{
	struct shim_syncobj_array *args = data;
	struct shim_syncobj **objs;

	if (args->pad || args->count_handles == 0) {
		return -EINVAL;
	}
	int ret = find_array(file, args->handles, args->count_handles, &objs);

	if (ret) {
		return ret;
	}
	for (uint32_t i = 0; ret == 0 && i < args->count_handles; i++) {
		if (signal) {
			ret = install_stub(objs[i], 0);
		} else {
			shim_syncobj_reset(objs[i]);
		}
	}
	put_array(objs, args->count_handles);
	return ret;
}

static int
syncobj_reset(struct shim_file *file, void *data, unsigned user_size)
{
	(void)user_size;
	return syncobj_reset_or_signal(file, data, false);
}

static int
syncobj_signal(struct shim_file *file, void *data, unsigned user_size)
{
	(void)user_size;
	return syncobj_reset_or_signal(file, data, true);
}

static int
syncobj_timeline_signal(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_syncobj_timeline_array *args = data;
	struct shim_syncobj **objs;

	(void)user_size;
	if (!shim_has_timeline()) {
		return -EOPNOTSUPP;
	}
	if (args->flags || args->count_handles == 0) {
		return -EINVAL;
	}
	int ret = find_array(file, args->handles, args->count_handles, &objs);

	if (ret) {
		return ret;
	}
	uint64_t *points = calloc(args->count_handles, sizeof(*points));

	ret = points ? shim_copy_in(points, args->points, args->count_handles * sizeof(*points)) : -ENOMEM;
	for (uint32_t i = 0; ret == 0 && i < args->count_handles; i++) {
		ret = install_stub(objs[i], points[i]);
	}
	free(points);
	put_array(objs, args->count_handles);
	return ret;
}

static int
syncobj_query(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_syncobj_timeline_array *args = data;
	struct shim_syncobj **objs;

	(void)user_size;
	if (!shim_has_timeline()) {
		return -EOPNOTSUPP;
	}
	if ((args->flags & ~SHIM_SYNCOBJ_QUERY_LAST_SUBMITTED) || args->count_handles == 0) {
		return -EINVAL;
	}
	int ret = find_array(file, args->handles, args->count_handles, &objs);

	if (ret) {
		return ret;
	}
	uint64_t *points = calloc(args->count_handles, sizeof(*points));

	for (uint32_t i = 0; points && i < args->count_handles; i++) {
		const struct shim_syncobj *obj = objs[i];

		if (args->flags & SHIM_SYNCOBJ_QUERY_LAST_SUBMITTED) {
			points[i] = obj->n ? obj->pts[obj->n - 1].point : 0;
			continue;
		}
		/* the last point up to which everything has signalled */
		for (size_t j = 0; j < obj->n && obj->pts[j].fence->signalled; j++) {
			points[i] = obj->pts[j].point;
		}
	}
	ret = points ? shim_copy_out(args->points, points, args->count_handles * sizeof(*points)) : -ENOMEM;
	free(points);
	put_array(objs, args->count_handles);
	return ret;
}

static int
syncobj_transfer(struct shim_file *file, void *data, unsigned user_size)
{
	struct shim_syncobj_transfer *args = data;
	struct shim_fence *f;

	(void)user_size;
	if (!shim_has_timeline()) {
		return -EOPNOTSUPP;
	}
	if (args->pad) {
		return -EINVAL;
	}
	int ret = shim_syncobj_find_fence(file, args->src_handle, args->src_point, &f);

	if (ret) {
		return ret;
	}
	struct shim_syncobj *dst = shim_syncobj_get(file, args->dst_handle);

	if (!dst) {
		ret = -ENOENT;
	} else {
		shim_syncobj_install(dst, args->dst_point, f);
		pthread_cond_broadcast(&shim_cond);
	}
	shim_fence_unref(f);
	return ret;
}

static const struct shim_ioctl_desc syncobj_ioctls[] = {
	SHIM_IOCTL_DEF(SHIM_NR_SYNCOBJ_CREATE, struct shim_syncobj_create, SHIM_IOC_RW, syncobj_create),
	SHIM_IOCTL_DEF(SHIM_NR_SYNCOBJ_DESTROY, struct shim_syncobj_destroy, SHIM_IOC_RW, syncobj_destroy),
	SHIM_IOCTL_DEF(SHIM_NR_SYNCOBJ_HANDLE_TO_FD, struct shim_syncobj_handle, SHIM_IOC_RW,
		       syncobj_handle_to_fd),
	SHIM_IOCTL_DEF(SHIM_NR_SYNCOBJ_FD_TO_HANDLE, struct shim_syncobj_handle, SHIM_IOC_RW,
		       syncobj_fd_to_handle),
	SHIM_IOCTL_DEF(SHIM_NR_SYNCOBJ_WAIT, struct shim_syncobj_wait, SHIM_IOC_RW, syncobj_wait),
	SHIM_IOCTL_DEF(SHIM_NR_SYNCOBJ_RESET, struct shim_syncobj_array, SHIM_IOC_RW, syncobj_reset),
	SHIM_IOCTL_DEF(SHIM_NR_SYNCOBJ_SIGNAL, struct shim_syncobj_array, SHIM_IOC_RW, syncobj_signal),
	SHIM_IOCTL_DEF(SHIM_NR_SYNCOBJ_TIMELINE_WAIT, struct shim_syncobj_timeline_wait, SHIM_IOC_RW,
		       syncobj_timeline_wait),
	SHIM_IOCTL_DEF(SHIM_NR_SYNCOBJ_QUERY, struct shim_syncobj_timeline_array, SHIM_IOC_RW, syncobj_query),
	SHIM_IOCTL_DEF(SHIM_NR_SYNCOBJ_TRANSFER, struct shim_syncobj_transfer, SHIM_IOC_RW, syncobj_transfer),
	SHIM_IOCTL_DEF(SHIM_NR_SYNCOBJ_TIMELINE_SIGNAL, struct shim_syncobj_timeline_array, SHIM_IOC_RW,
		       syncobj_timeline_signal),
};

const struct shim_ioctl_table shim_syncobj_ioctls = {
	syncobj_ioctls, SHIM_ARRAY_SIZE(syncobj_ioctls)
};
