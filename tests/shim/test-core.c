/* SPDX-License-Identifier: MIT */
/*
 * The DRM core side of the fake render node, the same for every driver:
 * discovery through libdrm, identification, ioctl dispatch rules
 * (docs/kernels.md 1.1-1.4) and syncobjs. Run once per GPUVA_SHIM_DRIVER.
 */
#include "test-common.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <xf86drm.h>

static const char *
driver(void)
{
	return shim_driver_name();
}

static void
drm_get_devices2_finds_exactly_the_fake_render_node(void **state)
{
	drmDevicePtr devs[8];

	(void)state;
	assert_int_equal(drmGetDevices2(0, NULL, 0), 1);
	assert_int_equal(drmGetDevices2(0, devs, 8), 1);
	assert_true(devs[0]->available_nodes & (1 << DRM_NODE_RENDER));
	assert_string_equal(devs[0]->nodes[DRM_NODE_RENDER], RENDER_NODE);
	if (strcmp(driver(), "nouveau") == 0) {
		assert_int_equal(devs[0]->bustype, DRM_BUS_PCI);
		assert_int_equal(devs[0]->deviceinfo.pci->vendor_id, 0x10de);
	} else {
		assert_int_equal(devs[0]->bustype, DRM_BUS_PLATFORM);
	}
	drmFreeDevices(devs, 1);
}

static void
drm_get_device2_on_an_open_fd_finds_the_same_node(void **state)
{
	int fd = open_node();
	drmDevicePtr dev;

	(void)state;
	assert_int_equal(drmGetDevice2(fd, 0, &dev), 0);
	assert_string_equal(dev->nodes[DRM_NODE_RENDER], RENDER_NODE);
	drmFreeDevice(&dev);
	close(fd);
}

static void
drm_get_version_reports_the_driver_name_and_a_vm_bind_version(void **state)
{
	int fd = open_node();
	drmVersionPtr v = drmGetVersion(fd);

	(void)state;
	assert_non_null(v);
	assert_string_equal(v->name, driver());
	assert_string_equal(v->date, "0");
	assert_int_equal(v->version_major, 1);
	if (strcmp(driver(), "msm") == 0) {
		assert_true(v->version_minor >= 13);
	} else if (strcmp(driver(), "nouveau") == 0) {
		assert_true(v->version_minor >= 4);
	}
	drmFreeVersion(v);
	close(fd);
}

static void
version_copies_at_most_len_bytes_without_a_nul_and_reports_the_full_length(void **state)
{
	int fd = open_node();
	char name[8] = "xxxxxxx";
	struct shim_drm_version v = { .name_len = 2, .name = name };

	(void)state;
	assert_int_equal(xioctl(fd, SHIM_IOCTL_VERSION, &v), 0);
	assert_int_equal(v.name_len, strlen(driver()));
	assert_memory_equal(name, driver(), 2);
	assert_int_equal(name[2], 'x');
	close(fd);
}

static void
the_node_stats_as_character_device_226_128(void **state)
{
	struct stat st;
	int fd = open_node();

	(void)state;
	assert_int_equal(stat(RENDER_NODE, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(major(st.st_rdev), 226);
	assert_int_equal(minor(st.st_rdev), 128);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(minor(st.st_rdev), 128);
	close(fd);
}

static void
other_files_and_fds_are_left_alone(void **state)
{
	int fd = open("/dev/null", O_RDWR);
	struct stat st;
	int arg = 0;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(minor(st.st_rdev), 3);
	/* a DRM request on a non-DRM fd reaches the real kernel */
	assert_int_equal(xioctl(fd, SHIM_IOCTL_GET_CAP, &arg), ENOTTY);
	close(fd);
	assert_int_equal(access("/dev/dri/card0", F_OK), -1);
}

static void
a_request_with_another_type_byte_is_enotty(void **state)
{
	int fd = open_node();
	uint64_t buf[4] = { 0 };

	(void)state;
	assert_int_equal(xioctl(fd, (SHIM_IOCTL_GET_CAP & ~0xff00ul) | ('e' << 8), buf), ENOTTY);
	close(fd);
}

static void
an_unknown_nr_is_einval(void **state)
{
	int fd = open_node();
	uint64_t buf[4] = { 0 };

	(void)state;
	assert_int_equal(xioctl(fd, SHIM_IOC(SHIM_IOC_RW, 0x9f, 16), buf), EINVAL);
	assert_int_equal(xioctl(fd, SHIM_IOC(SHIM_IOC_RW, 0x3f, 16), buf), EINVAL);
	close(fd);
}

static void
get_cap_reports_syncobj_and_timeline_support(void **state)
{
	int fd = open_node();
	uint64_t v = 0;

	(void)state;
	assert_int_equal(drmGetCap(fd, DRM_CAP_SYNCOBJ, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(drmGetCap(fd, DRM_CAP_SYNCOBJ_TIMELINE, &v), 0);
	assert_int_equal(v, 1);
	struct shim_drm_get_cap cap = { .capability = 0x7777 };

	assert_int_equal(xioctl(fd, SHIM_IOCTL_GET_CAP, &cap), EINVAL);
	close(fd);
}

static void
gem_close_of_an_unknown_handle_is_einval(void **state)
{
	int fd = open_node();
	struct shim_drm_gem_close c = { .handle = 4242 };

	(void)state;
	assert_int_equal(xioctl(fd, SHIM_IOCTL_GEM_CLOSE, &c), EINVAL);
	assert_int_equal(drmCloseBufferHandle(fd, 4242), -1);
	close(fd);
}

static void
syncobj_create_rejects_unknown_flags_and_destroy_rejects_pad_and_unknown_handles(void **state)
{
	int fd = open_node();
	struct shim_syncobj_create c = { .flags = 2 };
	uint32_t h = syncobj_new(fd, false);
	struct shim_syncobj_destroy d = { .handle = h, .pad = 1 };

	(void)state;
	assert_int_equal(xioctl(fd, SHIM_IOCTL_SYNCOBJ_CREATE, &c), EINVAL);
	assert_int_equal(xioctl(fd, SHIM_IOCTL_SYNCOBJ_DESTROY, &d), EINVAL);
	d.pad = 0;
	assert_int_equal(xioctl(fd, SHIM_IOCTL_SYNCOBJ_DESTROY, &d), 0);
	assert_int_equal(xioctl(fd, SHIM_IOCTL_SYNCOBJ_DESTROY, &d), EINVAL);
	close(fd);
}

static void
waiting_on_an_unknown_handle_is_enoent(void **state)
{
	int fd = open_node();
	uint32_t h = 999;

	(void)state;
	assert_int_equal(drmSyncobjWait(fd, &h, 1, 0, 0, NULL), -ENOENT);
	close(fd);
}

static void
waiting_without_a_fence_is_einval_and_with_wait_for_submit_times_out(void **state)
{
	int fd = open_node();
	uint32_t h = syncobj_new(fd, false);

	(void)state;
	assert_int_equal(syncobj_wait1(fd, h, 1000000, 0), EINVAL);
	assert_int_equal(syncobj_wait1(fd, h, 1000000, SHIM_SYNCOBJ_WAIT_FOR_SUBMIT), ETIME);
	close(fd);
}

static void
waiting_with_unknown_flags_is_einval_and_zero_handles_return_at_once(void **state)
{
	int fd = open_node();
	struct shim_syncobj_wait w = { .flags = 0x10, .count_handles = 0 };
	struct shim_syncobj_array a = { 0 };

	(void)state;
	assert_int_equal(xioctl(fd, SHIM_IOCTL_SYNCOBJ_WAIT, &w), EINVAL);
	w.flags = 0;
	assert_int_equal(xioctl(fd, SHIM_IOCTL_SYNCOBJ_WAIT, &w), 0);
	assert_int_equal(xioctl(fd, SHIM_IOCTL_SYNCOBJ_RESET, &a), EINVAL);
	assert_int_equal(xioctl(fd, SHIM_IOCTL_SYNCOBJ_SIGNAL, &a), EINVAL);
	struct shim_syncobj_timeline_wait tw = { .flags = 0x10, .count_handles = 0 };
	struct shim_syncobj_timeline_array ta = { 0 };

	assert_int_equal(xioctl(fd, SHIM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &tw), EINVAL);
	tw.flags = SHIM_SYNCOBJ_WAIT_AVAILABLE;
	assert_int_equal(xioctl(fd, SHIM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &tw), 0);
	assert_int_equal(xioctl(fd, SHIM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, &ta), EINVAL);
	assert_int_equal(xioctl(fd, SHIM_IOCTL_SYNCOBJ_QUERY, &ta), EINVAL);
	close(fd);
}

static void
signal_reset_and_wait_through_libdrm(void **state)
{
	int fd = open_node();
	uint32_t h;

	(void)state;
	assert_int_equal(drmSyncobjCreate(fd, DRM_SYNCOBJ_CREATE_SIGNALED, &h), 0);
	assert_int_equal(drmSyncobjWait(fd, &h, 1, INT64_MAX, 0, NULL), 0);
	assert_int_equal(drmSyncobjReset(fd, &h, 1), 0);
	assert_int_equal(drmSyncobjWait(fd, &h, 1, 0, 0, NULL), -EINVAL);
	assert_int_equal(drmSyncobjSignal(fd, &h, 1), 0);
	assert_int_equal(drmSyncobjWait(fd, &h, 1, 0, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, NULL), 0);
	assert_int_equal(drmSyncobjDestroy(fd, h), 0);
	close(fd);
}

static void
timeline_points_signal_query_and_wait(void **state)
{
	int fd = open_node();
	uint32_t h;
	uint64_t p = 5, q = 0;

	(void)state;
	assert_int_equal(drmSyncobjCreate(fd, 0, &h), 0);
	assert_int_equal(drmSyncobjTimelineSignal(fd, &h, &p, 1), 0);
	assert_int_equal(drmSyncobjQuery(fd, &h, &q, 1), 0);
	assert_int_equal(q, 5);
	p = 3;
	assert_int_equal(drmSyncobjTimelineWait(fd, &h, &p, 1, 0, 0, NULL), 0);
	p = 6;
	assert_int_equal(drmSyncobjTimelineWait(fd, &h, &p, 1, 0, 0, NULL), -EINVAL);
	assert_int_equal(drmSyncobjTimelineWait(fd, &h, &p, 1, 0, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, NULL),
			 -ETIME);
	close(fd);
}

static void
without_timeline_support_the_timeline_ioctls_are_eopnotsupp_and_change_nothing(void **state)
{
	int fd = open_node();
	uint32_t h, src = syncobj_new(fd, true);
	uint64_t p = 5, q = 0, v;

	(void)state;
	assert_int_equal(drmSyncobjCreate(fd, 0, &h), 0);
	assert_int_equal(drmSyncobjTimelineSignal(fd, &h, &p, 1), 0);
	setenv("GPUVA_SHIM_NO_TIMELINE", "1", 1);
	assert_int_equal(drmGetCap(fd, DRM_CAP_SYNCOBJ_TIMELINE, &v), 0);
	assert_int_equal(v, 0);
	/* first check of each ioctl: even bad flags or no handles answer so */
	p = 9;
	assert_int_equal(drmSyncobjTimelineSignal(fd, &h, &p, 1), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	assert_int_equal(drmSyncobjQuery(fd, &h, &q, 1), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	assert_int_equal(drmSyncobjTransfer(fd, h, 10, src, 0, 0), -1);
	assert_int_equal(errno, EOPNOTSUPP);
	p = 5;
	assert_int_equal(drmSyncobjTimelineWait(fd, &h, &p, 1, 0, 0, NULL), -EOPNOTSUPP);
	assert_int_equal(drmSyncobjTimelineWait(fd, &h, &p, 0, 0, 0x80, NULL), -EOPNOTSUPP);
	struct shim_syncobj_timeline_array a = { .count_handles = 0 };

	assert_int_equal(xioctl(fd, SHIM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, &a), EOPNOTSUPP);
	assert_int_equal(xioctl(fd, SHIM_IOCTL_SYNCOBJ_QUERY, &a), EOPNOTSUPP);
	/* binary syncobjs still work */
	assert_int_equal(drmSyncobjWait(fd, &src, 1, 0, 0, NULL), 0);
	unsetenv("GPUVA_SHIM_NO_TIMELINE");
	/* nothing was signalled or transferred */
	assert_int_equal(drmSyncobjQuery2(fd, &h, &q, 1, DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED), 0);
	assert_int_equal(q, 5);
	p = 10;
	assert_int_equal(drmSyncobjTimelineWait(fd, &h, &p, 1, 0, 0, NULL), -EINVAL);
	close(fd);
}

static void
old_and_new_struct_sizes_reach_the_same_handler(void **state)
{
	int fd = open_node();
	uint32_t h = syncobj_new(fd, true);
	struct shim_syncobj_wait w = { .handles = (uintptr_t)&h, .count_handles = 1, .timeout_nsec = 0 };

	(void)state;
	/* libdrm 2.4.114 sends 32 bytes, newer headers 40 */
	assert_int_equal(xioctl(fd, SHIM_IOC(SHIM_IOC_RW, SHIM_NR_SYNCOBJ_WAIT, 32), &w), 0);
	assert_int_equal(xioctl(fd, SHIM_IOC(SHIM_IOC_RW, SHIM_NR_SYNCOBJ_WAIT, 40), &w), 0);
	struct shim_syncobj_handle x = { .handle = h };

	assert_int_equal(xioctl(fd, SHIM_IOC(SHIM_IOC_RW, SHIM_NR_SYNCOBJ_HANDLE_TO_FD, 16), &x), 0);
	assert_true(x.fd >= 0);
	close(x.fd);
	close(fd);
}

static void
syncobj_fds_and_sync_files_round_trip(void **state)
{
	int fd = open_node();
	uint32_t h = syncobj_new(fd, true), h2, h3 = syncobj_new(fd, false);
	int sfd, ofd;

	(void)state;
	assert_int_equal(drmSyncobjHandleToFD(fd, h, &ofd), 0);
	assert_int_equal(drmSyncobjFDToHandle(fd, ofd, &h2), 0);
	assert_int_equal(drmSyncobjWait(fd, &h2, 1, 0, 0, NULL), 0);
	assert_int_equal(drmSyncobjExportSyncFile(fd, h, &sfd), 0);
	assert_int_equal(drmSyncobjImportSyncFile(fd, h3, sfd), 0);
	assert_int_equal(drmSyncobjWait(fd, &h3, 1, 0, 0, NULL), 0);
	/* an fd that is not a sync_file */
	assert_int_equal(drmSyncobjImportSyncFile(fd, h3, ofd), -1);
	assert_int_equal(errno, EINVAL);
	close(sfd);
	close(ofd);
	close(fd);
}

static void
transfer_moves_a_binary_fence_to_a_timeline_point(void **state)
{
	int fd = open_node();
	uint32_t src = syncobj_new(fd, true), dst = syncobj_new(fd, false);
	uint64_t p = 7;

	(void)state;
	assert_int_equal(drmSyncobjTransfer(fd, dst, 7, src, 0, 0), 0);
	assert_int_equal(drmSyncobjTimelineWait(fd, &dst, &p, 1, 0, 0, NULL), 0);
	assert_int_equal(drmSyncobjTransfer(fd, dst, 8, 999, 0, 0), -1);
	assert_int_equal(errno, ENOENT);
	close(fd);
}

static void
a_duped_fd_shares_the_file_and_survives_closing_the_original(void **state)
{
	int fd = open_node();
	uint32_t h = syncobj_new(fd, true);
	int fd2 = dup(fd);
	int fd3 = fcntl(fd, F_DUPFD_CLOEXEC, 10);

	(void)state;
	close(fd);
	assert_int_equal(drmSyncobjWait(fd2, &h, 1, 0, 0, NULL), 0);
	assert_int_equal(drmSyncobjWait(fd3, &h, 1, 0, 0, NULL), 0);
	close(fd2);
	close(fd3);
}

int
main(void)
{
	require_shim(NULL);

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(drm_get_devices2_finds_exactly_the_fake_render_node),
		cmocka_unit_test(drm_get_device2_on_an_open_fd_finds_the_same_node),
		cmocka_unit_test(drm_get_version_reports_the_driver_name_and_a_vm_bind_version),
		cmocka_unit_test(version_copies_at_most_len_bytes_without_a_nul_and_reports_the_full_length),
		cmocka_unit_test(the_node_stats_as_character_device_226_128),
		cmocka_unit_test(other_files_and_fds_are_left_alone),
		cmocka_unit_test(a_request_with_another_type_byte_is_enotty),
		cmocka_unit_test(an_unknown_nr_is_einval),
		cmocka_unit_test(get_cap_reports_syncobj_and_timeline_support),
		cmocka_unit_test(gem_close_of_an_unknown_handle_is_einval),
		cmocka_unit_test(syncobj_create_rejects_unknown_flags_and_destroy_rejects_pad_and_unknown_handles),
		cmocka_unit_test(waiting_on_an_unknown_handle_is_enoent),
		cmocka_unit_test(waiting_without_a_fence_is_einval_and_with_wait_for_submit_times_out),
		cmocka_unit_test(waiting_with_unknown_flags_is_einval_and_zero_handles_return_at_once),
		cmocka_unit_test(signal_reset_and_wait_through_libdrm),
		cmocka_unit_test(timeline_points_signal_query_and_wait),
		cmocka_unit_test(without_timeline_support_the_timeline_ioctls_are_eopnotsupp_and_change_nothing),
		cmocka_unit_test(old_and_new_struct_sizes_reach_the_same_handler),
		cmocka_unit_test(syncobj_fds_and_sync_files_round_trip),
		cmocka_unit_test(transfer_moves_a_binary_fence_to_a_timeline_point),
		cmocka_unit_test(a_duped_fd_shares_the_file_and_survives_closing_the_original),
	};

	return cmocka_run_group_tests_name(shim_driver_name(), tests, NULL, NULL);
}
