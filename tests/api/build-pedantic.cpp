/* SPDX-License-Identifier: MIT */
/*
 * The public headers as a driver's C++ compiler sees them: built with
 * -std=c++11 and -std=c++17, -pedantic, -Werror and most warnings on (tests/api/meson.build),
 * using the static inline helpers and the embedding pattern of style.md.
 * header-alone.sh checks each header on its own.
 */
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
	struct drv_va v = {};
	struct gpuva_op op = {};

	v.pte_flags = 1;
	op.type = GPUVA_OP_REMAP;

	/* the static inline helpers compile and give the obvious answers */
	return to_drv_va(&v.base) == &v && !gpuva_op_remap_has_prev(&op.remap) &&
	       gpuva_flags(&v.base) == GPUVA_NO_FLAGS ? 0 : 1;
}
