/* SPDX-License-Identifier: MIT */
/*
 * What the ops layer offers the bind layer: the same walk the public
 * functions run, over a view of the VM instead of its index.
 *
 * A transaction keeps its changes out of the VM until it commits (that is
 * what makes its rollback exact), so its requests must see the VM as
 * changed by the transaction's earlier requests. A view supplies that: the
 * mapping containing an address or the next one, and a mapping's
 * successor, as the VM would show them had the earlier requests been
 * applied. The walk is the one ops.c runs for everybody, so a batch's ops
 * are exactly those of its requests one by one.
 */
#ifndef GPUVA_LIB_OPS_INTERNAL_H
#define GPUVA_LIB_OPS_INTERNAL_H

#include "gpuva/ops.h"

struct ops_view {
	/* the mapping containing @addr, or else the first one above it */
	struct gpuva *(*first_from)(struct ops_view *view, uint64_t addr);
	/* the mapping after @va in address order, or NULL */
	struct gpuva *(*next)(struct ops_view *view, const struct gpuva *va);
};

/*
 * Validate a map request against the VM (gpuva_vm_sm_map()'s rules) and
 * take a reference on its vm_bo (NULL for a NULL mapping), which the
 * caller drops with gpuva_vm_bo_put(). 0 or -EINVAL/-ENOMEM with a reason.
 */
int ops_map_prepare(struct gpuva_vm *vm, const struct gpuva_map_req *req,
		    struct gpuva_vm_bo **vb);

/*
 * The walks of gpuva_vm_sm_map() (after ops_map_prepare(), with its vm_bo)
 * and gpuva_vm_sm_unmap() (after range validation) over @view: steps are
 * called as there, and must not fail if the view is to stay consistent.
 * Nothing is reserved in the VM's index: the callbacks change the view,
 * not the VM.
 */
int ops_view_map(struct gpuva_vm *vm, struct ops_view *view,
		 const struct gpuva_map_req *req, struct gpuva_vm_bo *vb,
		 const struct gpuva_sm_steps *steps, void *priv);
int ops_view_unmap(struct gpuva_vm *vm, struct ops_view *view, uint64_t addr,
		   uint64_t range, const struct gpuva_sm_steps *steps,
		   void *priv);

#endif /* GPUVA_LIB_OPS_INTERNAL_H */
