/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Definitions shared by every libgpuva header: the export macro, the
 * container_of helper and the error convention.
 *
 * Errors: every call that can fail returns 0 or a negative errno, and each
 * errno has one meaning across the library:
 *
 * | errno       | meaning                                              |
 * |-------------|------------------------------------------------------|
 * | -EINVAL     | bad argument, range or flags                         |
 * | -EEXIST     | overlaps an existing VA                              |
 * | -ENOSPC     | no hole fits, or a fixed address is taken            |
 * | -ENOMEM     | an allocation (or allocation callback) failed        |
 * | -EBUSY      | still in use                                         |
 * | -EPIPE      | the VM is lost (sticky)                              |
 * | -EOPNOTSUPP | the backend cannot do this                           |
 *
 * A rejected call changes nothing, and leaves a readable reason on the
 * object it was made on (see gpuva_vm_last_error()).
 */
#ifndef GPUVA_COMMON_H
#define GPUVA_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(GPUVA_BUILDING) && defined(__GNUC__)
#define GPUVA_EXPORT __attribute__((visibility("default")))
#else
#define GPUVA_EXPORT
#endif

/* Alignment of embedded structs whose pointers carry tag bits. */
#ifdef __cplusplus
#define GPUVA_ALIGN8 alignas(8)
#else
#define GPUVA_ALIGN8 _Alignas(8)
#endif

/**
 * Log callback: receives every rejection reason of the object it was set
 * on (VM or heap), one line, no newline. Called from the rejecting call,
 * with whatever lock that call holds. @since 0.1
 */
typedef void (*gpuva_log_fn)(void *priv, const char *reason);

/** Library version, as major * 10000 + minor * 100 + micro. @since 0.1 */
#define GPUVA_VERSION 100

/**
 * Get the struct that embeds @p ptr as its member @p member.
 *
 * libgpuva is intrusive: a driver embeds struct gpuva in its mapping struct
 * and struct gpuva_bo in its BO struct, and gets back to them with this.
 */
#define gpuva_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif /* GPUVA_COMMON_H */
