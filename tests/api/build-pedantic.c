/* SPDX-License-Identifier: MIT */
/*
 * The public headers as a driver's compiler sees them: built as C11 and,
 * through build-pedantic.cpp, as C++11 and C++17, with -pedantic, -Werror
 * and most warnings on (tests/api/meson.build), using the static inline
 * helpers and the embedding pattern of style.md. So it is written in the
 * common subset of C and C++. header-alone.sh checks each header alone.
 */
#include <string.h>

#include <gpuva/gpuva.h>

struct drv_va {
	struct gpuva base;
	uint32_t pte_flags;
};

static struct drv_va *
to_drv_va(struct gpuva *va)
{
	return gpuva_container_of(va, struct drv_va, base);
}

int
main(void)
{
	struct drv_va v;
	struct gpuva_op op;

	memset(&v, 0, sizeof(v));
	memset(&op, 0, sizeof(op));
	v.pte_flags = 1;
	op.type = GPUVA_OP_REMAP;

	/* the static inline helpers compile and give the obvious answers */
	return to_drv_va(&v.base) == &v && !gpuva_op_remap_has_prev(&op.remap) &&
	       gpuva_flags(&v.base) == GPUVA_NO_FLAGS ? 0 : 1;
}
