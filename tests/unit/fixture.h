/* SPDX-License-Identifier: MIT */
/*
 * Shared fixture of the unit tests: one VM, a handful of BOs known by small
 * ids (as in the trace format: 0 is "no BO"), requests run in either way of
 * consuming ops (step callbacks or op lists), and ops and state rendered as
 * `gpuva replay` text so that a failure reads like a trace diff.
 *
 * Include after <cmocka.h>.
 */
#ifndef GPUVA_TESTS_UNIT_FIXTURE_H
#define GPUVA_TESTS_UNIT_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpuva/gpuva.h"

/* BO ids of ops-semantics.md section 8: A, B, C; 0 is a NULL mapping. */
enum { NOBO = 0, A = 1, B = 2, C = 3, FX_NBOS = 8 };

/* How a request's ops are consumed. */
enum fx_mode {
	FX_STEPS,	/* gpuva_vm_sm_map()/_unmap(), applied in the callbacks */
	FX_LIST,	/* gpuva_vm_sm_*_ops() then gpuva_vm_apply_ops() */
};

/* VM geometry and allocator of a fixture VM. */
struct fx_opts {
	uint64_t start, range;
	uint64_t rsv_start, rsv_range;
	uint64_t page_size;
	uint32_t flags;
	bool custom_alloc;	/* mappings and vm_bos from fx's callbacks */
};

struct fx_bo {
	struct gpuva_bo base;
	unsigned id;
};

/* A driver mapping: struct gpuva embedded, as drivers do. */
struct fx_va {
	uint64_t magic;
	struct gpuva base;
};

struct fx {
	struct gpuva_vm *vm;
	struct fx_opts opts;
	enum fx_mode mode;
	struct fx_bo bos[FX_NBOS];	/* bos[1..7] */

	char *log;			/* ops of the last request, one per line */
	size_t log_len, log_cap;
	unsigned calls;			/* step callbacks of the last request */
	unsigned stop_at;		/* nth callback (1-based) returns stop_ret */
	int stop_ret;
	struct gpuva_ops ops;		/* the list used in FX_LIST mode */

	/* custom allocator (opts.custom_alloc) */
	unsigned va_allocs;		/* calls to va_alloc */
	unsigned va_frees;		/* calls to va_free */
	unsigned fail_va_alloc_at;	/* nth va_alloc call returns NULL; 0 never */
	long live_vas;			/* allocated and not freed */
	bool fail_vm_bo_alloc;		/* vm_bo_alloc returns NULL */
	long live_vm_bos;		/* allocated and not freed */

	char link_buf[1024];		/* fx_link_order() */
};

/* A saved rendering of the whole VM state, for fx_assert_unchanged(). */
struct fx_saved {
	char *text;
};

int fx_setup(void **state);
int fx_teardown(void **state);

/* Default VM: [0x0, 0x100000), no reserved range, no page size. */
struct fx_opts fx_default_opts(void);
/* Check, destroy and recreate the VM with @o (also remembered in fx->opts). */
void fx_recreate(struct fx *fx, const struct fx_opts *o);

/*
 * Run a block once per mode, on a fresh VM (same opts) each time:
 *	FX_FOR_EACH_MODE(fx) { ... }
 */
#define FX_FOR_EACH_MODE(fx) \
	for (int fx_more_ = fx_mode_first(fx); fx_more_; \
	     fx_more_ = fx_mode_next(fx))
int fx_mode_first(struct fx *fx);
int fx_mode_next(struct fx *fx);
const char *fx_mode_name(const struct fx *fx);

struct gpuva_bo *fx_bo(struct fx *fx, unsigned id);
unsigned fx_bo_id(const struct gpuva_bo *bo);

/*
 * Requests in the current mode. The generated ops are rendered into
 * fx->log (before they are applied), the VM is checked afterwards.
 */
int fx_map(struct fx *fx, uint64_t addr, uint64_t range, unsigned bo,
	   uint64_t offset);
int fx_map_req(struct fx *fx, const struct gpuva_map_req *req);
int fx_unmap(struct fx *fx, uint64_t addr, uint64_t range);
/* Set up state: fx_map() that must succeed. */
void fx_given(struct fx *fx, uint64_t addr, uint64_t range, unsigned bo,
	      uint64_t offset);

/* Render one op in trace-format.md syntax (no newline). */
void fx_op_text(const struct gpuva_op *op, char *buf, size_t size);
/* Append a list's ops to fx->log (after clearing it). */
void fx_log_list(struct fx *fx, const struct gpuva_ops *ops);

/* Compare lines. The variadic forms take the expected lines. */
void fx_assert_lines_(const struct fx *fx, const char *what, const char *actual,
		      const char *file, int line, ...);
#define fx_assert_ops(fx, ...) \
	fx_assert_lines_((fx), "ops", (fx)->log, __FILE__, __LINE__, \
			 __VA_ARGS__, (const char *)NULL)
#define fx_assert_no_ops(fx) \
	fx_assert_lines_((fx), "ops", (fx)->log, __FILE__, __LINE__, \
			 (const char *)NULL)
/* The dump (`va 0x.. 0x.. <bo> 0x..` lines, address order, no `end`). */
char *fx_dump(const struct fx *fx);
void fx_assert_state_(struct fx *fx, const char *file, int line, ...);
#define fx_assert_state(fx, ...) \
	fx_assert_state_((fx), __FILE__, __LINE__, __VA_ARGS__, \
			 (const char *)NULL)
#define fx_assert_empty(fx) \
	fx_assert_state_((fx), __FILE__, __LINE__, (const char *)NULL)

/* Everything observable: dump with flags, vm_bos and link orders, info. */
struct fx_saved fx_save(const struct fx *fx);
void fx_assert_unchanged_(struct fx *fx, struct fx_saved *saved,
			  const char *file, int line);
#define fx_assert_unchanged(fx, saved) \
	fx_assert_unchanged_((fx), (saved), __FILE__, __LINE__)

/*
 * A rejected request: @ret is -EINVAL, no callback ran, the op list is
 * empty, the reason names @word, and the VM equals @saved (which is freed).
 */
void fx_assert_rejected_(struct fx *fx, int ret, const char *word,
			 struct fx_saved *saved, const char *file, int line);
#define fx_assert_rejected(fx, ret, word, saved) \
	fx_assert_rejected_((fx), (ret), (word), (saved), __FILE__, __LINE__)

/*
 * Link order of a BO's mappings in the VM: "0x40000 0x10000", "" for a
 * vm_bo without mappings, "none" without a vm_bo. Valid until the next call.
 */
const char *fx_link_order(struct fx *fx, unsigned bo);

#endif /* GPUVA_TESTS_UNIT_FIXTURE_H */
