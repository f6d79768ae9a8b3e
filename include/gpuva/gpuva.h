/* SPDX-License-Identifier: MIT */
/**
 * @file
 * libgpuva: GPU virtual address space management for VM_BIND drivers.
 *
 * The umbrella header: includes every public layer.
 *
 * - vm.h:  the VM, mappings (struct gpuva), BOs and their links
 * - ops.h: split/merge op generation and application
 */
#ifndef GPUVA_GPUVA_H
#define GPUVA_GPUVA_H

#include "gpuva/common.h"
#include "gpuva/vm.h"
#include "gpuva/ops.h"
#include "gpuva/heap.h"

#endif /* GPUVA_GPUVA_H */
