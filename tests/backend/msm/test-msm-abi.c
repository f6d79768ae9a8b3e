/* SPDX-License-Identifier: MIT */
/*
 * The msm ABI libgpuva declares itself (lib/backend/msm_abi.h) against the
 * table of requests in docs/kernels.md (section 3.2). The struct sizes and
 * field offsets are static assertions in the header, so this file compiling
 * is half the test; the request numbers, built by the header from those
 * sizes, are compared here with the table's numbers, copied as written.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "backend/msm_abi.h"

/* docs/kernels.md 3.2: ioctl, nr (index), request, dir, struct size */
static const struct {
	const char *name;
	unsigned long ours;
	unsigned nr, index;
	unsigned long request;
	unsigned dir;		/* 3: RW, 1: W */
	unsigned size;
} table[] = {
	{ "DRM_IOCTL_MSM_GET_PARAM", MSM_IOCTL_GET_PARAM, 0x40, 0x00, 0xC0186440, 3, 24 },
	{ "DRM_IOCTL_MSM_SET_PARAM", MSM_IOCTL_SET_PARAM, 0x41, 0x01, 0x40186441, 1, 24 },
	{ "DRM_IOCTL_MSM_GEM_NEW", MSM_IOCTL_GEM_NEW, 0x42, 0x02, 0xC0106442, 3, 16 },
	{ "DRM_IOCTL_MSM_GEM_INFO", MSM_IOCTL_GEM_INFO, 0x43, 0x03, 0xC0186443, 3, 24 },
	{ "DRM_IOCTL_MSM_SUBMITQUEUE_NEW", MSM_IOCTL_SUBMITQUEUE_NEW, 0x4A, 0x0A,
	  0xC00C644A, 3, 12 },
	{ "DRM_IOCTL_MSM_SUBMITQUEUE_CLOSE", MSM_IOCTL_SUBMITQUEUE_CLOSE, 0x4B, 0x0B,
	  0x4004644B, 1, 4 },
	{ "DRM_IOCTL_MSM_VM_BIND", MSM_IOCTL_VM_BIND, 0x4D, 0x0D, 0xC058644D, 3, 88 },
};

static void
every_request_number_is_the_one_in_kernels_md(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (table[i].ours != table[i].request)
			fail_msg("%s: 0x%lx, docs/kernels.md says 0x%lX", table[i].name,
				 table[i].ours, table[i].request);
	}
}

/* Each field of the encoding (docs/kernels.md 1.1), so a wrong one is named. */
static void
every_request_encodes_type_d_its_nr_size_and_direction(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		unsigned long r = table[i].ours;

		assert_int_equal((r >> 8) & 0xff, 'd');
		assert_int_equal(r & 0xff, table[i].nr);
		assert_int_equal(table[i].nr, MSM_COMMAND_BASE + table[i].index);
		assert_int_equal((r >> 16) & 0x3fff, table[i].size);
		assert_int_equal(r >> 30, table[i].dir);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_request_number_is_the_one_in_kernels_md),
		cmocka_unit_test(every_request_encodes_type_d_its_nr_size_and_direction),
	};

	return cmocka_run_group_tests_name("msm-abi", tests, NULL, NULL);
}
