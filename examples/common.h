/* SPDX-License-Identifier: MIT */
/*
 * What every example needs but is not its point: picking a backend from the
 * command line, creating the VM and a few BOs on it, printing requests and
 * ops the way `gpuva replay` does (docs/trace-format.md), and the final
 * check. Each example's own file shows the bind calls themselves.
 *
 * Every example runs on the sim backend by default (a software page table,
 * nothing to set up) and on a kernel with
 *
 *   EXAMPLE [--backend msm|panthor|nouveau] [--device /dev/dri/renderD128]
 *
 * ($GPUVA_BACKEND picks one too). Output is the same on every backend: BOs
 * are printed by their number in the example (1, 2, ...), not by the GEM
 * handle the kernel gave them, and the VM is the same window on every
 * kernel (EX_VM_START, EX_VM_RANGE).
 */
#ifndef GPUVA_EXAMPLES_COMMON_H
#define GPUVA_EXAMPLES_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include <gpuva/gpuva.h>

/*
 * The VM every example works in: [4 GiB, 256 GiB), inside what every
 * VM_BIND kernel leaves to userspace (msm's window starts at 4 GiB;
 * nouveau keeps [512 GiB, 1 TiB) for itself when set up as NVK does).
 */
#define EX_VM_START	UINT64_C(0x100000000)
#define EX_VM_RANGE	UINT64_C(0x3f00000000)

#define EX_MAX_BOS	8

struct ex {
	const char *prog;		/* for messages */
	struct gpuva_drm_device *dev;	/* a kernel backend's device, or NULL */
	struct gpuva_backend *be;	/* the backend: sim, or the device's */
	struct gpuva_vm *vm;
	struct gpuva_bo *bos[EX_MAX_BOS]; /* bos[1] prints as bo 1; [0] unused */
	unsigned nbos;
	int failures;			/* checks that did not hold */
};

/*
 * Read --backend/--device, open the backend, create the VM and print it
 * as a trace's `vm` line. 0, or the exit status after saying why on stderr.
 */
int ex_open(struct ex *ex, int argc, char **argv);

/* Create BO number ex->nbos + 1 of @size bytes; NULL after saying why. */
struct gpuva_bo *ex_bo(struct ex *ex, uint64_t size);

/* Its number, as the examples print it (0 for NULL). */
unsigned ex_bo_id(const struct ex *ex, const struct gpuva_bo *bo);

/* Echo one request or transaction line as replay does ("> begin", ...). */
void ex_echo(const char *line);
void ex_echo_map(const struct ex *ex, const struct gpuva_map_req *req);
void ex_echo_unmap(uint64_t addr, uint64_t range);

/*
 * A gpuva_bind_op_fn (gpuva_bind_set_op_fn(txn, ex_print_op, ex)): print
 * each op as it is generated, in replay's words.
 */
void ex_print_op(void *priv, const struct gpuva_op *op);

/*
 * gpuva_bind_begin() on the example's VM, with every op the transaction
 * generates printed (gpuva_bind_set_op_fn(txn, ex_print_op, ex)), and
 * "> begin" echoed. 0 or the errno of gpuva_bind_begin().
 */
int ex_begin(struct ex *ex, struct gpuva_bind **txn);

/* "> dump", a `va` line per mapping, "end". */
void ex_dump(const struct ex *ex);

/*
 * Record a failed check: print @what and the VM's last error, count it.
 * Returns @cond, so that `if (!ex_expect(...))` reads naturally.
 */
bool ex_expect(struct ex *ex, bool cond, const char *what);

/*
 * The checks every example ends with: the VM's invariants, and on sim that
 * its page table is the mirror, page by page (a kernel backend is checked
 * against the fake kernel's record by the shim tests instead).
 */
void ex_check_vm(struct ex *ex);

/* Destroy the VM, the BOs and the backend; the exit status (failures). */
int ex_close(struct ex *ex);

#endif
