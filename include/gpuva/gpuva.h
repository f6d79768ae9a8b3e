/* SPDX-License-Identifier: MIT */
/**
 * @file
 * libgpuva: GPU virtual address space management for VM_BIND drivers.
 *
 * The umbrella header: includes every public layer.
 *
 * - vm.h:      the VM, mappings (struct gpuva), BOs and their links
 * - ops.h:     split/merge op generation and application
 * - heap.h:    the VA allocator
 * - bind.h:    transactions: batches sent to a backend, exact rollback
 * - backend.h: backends (sim, msm, panthor, nouveau) and their interface
 * - sim.h:     the sim backend, a software GPU page table
 * - drm.h:     render nodes: discovery, probing, opening
 */
#ifndef GPUVA_GPUVA_H
#define GPUVA_GPUVA_H

#include "gpuva/common.h"
#include "gpuva/vm.h"
#include "gpuva/ops.h"
#include "gpuva/heap.h"
#include "gpuva/bind.h"
#include "gpuva/backend.h"
#include "gpuva/sim.h"
#include "gpuva/drm.h"

#endif /* GPUVA_GPUVA_H */
