/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"

int
main(void)
{
	const struct CMUnitTest tests[] = {
	};

	return cmocka_run_group_tests_name("vm", tests, NULL, NULL);
}
