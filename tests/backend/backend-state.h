/* SPDX-License-Identifier: MIT */
/*
 * "Nothing changed", as the kernel backends' tests check it on the fake
 * kernel (tests/shim): the library's mirror as text, the VM's info (the
 * memory figure included) and invariants, the fake's page-record digest and
 * page count. Every refusal a backend test provokes ends with it.
 *
 * Include after tests/shim/test-common.h (cmocka and the shim's API).
 */
#ifndef GPUVA_TESTS_BACKEND_STATE_H
#define GPUVA_TESTS_BACKEND_STATE_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <gpuva/gpuva.h>

/* The VM's mappings as text, driver flags included: "addr range handle off df;". */
static inline char *
backend_mirror_text(struct gpuva_vm *vm)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const struct gpuva *va;

	assert_non_null(f);
	gpuva_vm_for_each_va(va, vm)
		fprintf(f, "0x%" PRIx64 " 0x%" PRIx64 " %" PRIu32 " 0x%" PRIx64
			" 0x%" PRIx32 ";", va->addr, va->range,
			gpuva_bo_of(va) ? gpuva_bo_of(va)->handle : 0, va->offset,
			gpuva_driver_flags(va));
	fclose(f);
	return buf;
}

struct backend_state {
	char *mirror;
	struct gpuva_vm_info info;
	uint64_t digest;
	int64_t pages;
};

/* The state of @vm and of the fake's VM @vm_id on @fd. */
static inline struct backend_state
backend_state_save(struct gpuva_vm *vm, int fd, uint32_t vm_id)
{
	struct backend_state s = { .mirror = backend_mirror_text(vm) };

	gpuva_vm_get_info(vm, &s.info);
	s.digest = shim.digest(fd, vm_id);
	s.pages = shim.page_count(fd, vm_id);
	return s;
}

/* Both are what backend_state_save() saw; frees @s's text. */
static inline void
backend_state_assert_unchanged(struct gpuva_vm *vm, int fd, uint32_t vm_id,
			       struct backend_state *s)
{
	char *now = backend_mirror_text(vm);
	struct gpuva_vm_info info;

	gpuva_vm_get_info(vm, &info);
	assert_string_equal(now, s->mirror);
	assert_int_equal(info.va_count, s->info.va_count);
	assert_int_equal(info.vm_bo_count, s->info.vm_bo_count);
	assert_int_equal(info.bytes, s->info.bytes);
	assert_int_equal(info.lost, s->info.lost);
	assert_true(shim.digest(fd, vm_id) == s->digest);
	assert_int_equal(shim.page_count(fd, vm_id), s->pages);
	assert_int_equal(gpuva_vm_check(vm), 0);
	free(now);
	free(s->mirror);
	s->mirror = NULL;
}

#endif /* GPUVA_TESTS_BACKEND_STATE_H */
