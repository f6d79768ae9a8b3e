/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target over the trace parser and the engine: the input is a
 * bind trace, read line by line by the same parser `gpuva replay` uses and
 * run through the same player, twice side by side, once with step
 * callbacks and once with op lists. After every request both players check
 * every VM invariant (player.check, i.e. gpuva_vm_check()), and the two must
 * have produced the same ops (counts and running ops_hash) and, at the end,
 * the same mappings. The step side is told of each request first
 * (gpuva_vm_warm()), which must change nothing. Anything else aborts, which libFuzzer reports with the
 * input that did it.
 *
 * Sizes are bounded so that one input cannot run long: at most
 * FUZZ_MAX_REQUESTS requests, and BO ids folded into 1..FUZZ_MAX_BO (the
 * player keeps a table indexed by id). Each check is O(n), n <= requests.
 *
 * Built by tests/fuzz/meson.build twice: with -Dfuzzer=true (clang,
 * -fsanitize=fuzzer) as the fuzzer, and in every build with corpus-main.c
 * as a plain program that replays the seed corpus as regression tests.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "player.h"
#include "trace.h"

#define FUZZ_MAX_REQUESTS 2048
#define FUZZ_MAX_BO 64u
#define FUZZ_MAX_INPUT (256 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
die(const char *what, const struct trace_req *r)
{
	fprintf(stderr, "fuzz-replay: %s (request kind %u addr 0x%" PRIx64
		" range 0x%" PRIx64 " bo %" PRIu32 " offset 0x%" PRIx64 ")\n",
		what, r->kind, r->addr, r->range, r->bo, r->offset);
	abort();
}

static void
same_stats(const struct player *a, const struct player *b,
	   const struct trace_req *r)
{
	if (a->hash != b->hash || a->st.ops != b->st.ops ||
	    a->st.maps != b->st.maps || a->st.remaps != b->st.remaps ||
	    a->st.unmaps != b->st.unmaps || a->st.keeps != b->st.keeps ||
	    a->st.errors != b->st.errors || a->st.requests != b->st.requests)
		die("step and op-list modes generated different ops", r);
	if (!a->vm != !b->vm)
		die("one mode has a VM, the other not", r);
	if (a->vm && gpuva_vm_count(a->vm) != gpuva_vm_count(b->vm))
		die("step and op-list modes hold different mapping counts", r);
}

static uint32_t
bo_id(const struct gpuva *va)
{
	struct gpuva_bo *bo = gpuva_bo_of(va);

	return bo ? gpuva_container_of(bo, struct player_bo, base)->id : 0;
}

static void
same_state(const struct player *a, const struct player *b,
	   const struct trace_req *r)
{
	struct gpuva *x = gpuva_vm_first(a->vm), *y = gpuva_vm_first(b->vm);

	for (; x && y; x = gpuva_vm_next(a->vm, x), y = gpuva_vm_next(b->vm, y))
		if (x->addr != y->addr || x->range != y->range ||
		    x->offset != y->offset || bo_id(x) != bo_id(y) ||
		    gpuva_flags(x) != gpuva_flags(y))
			die("step and op-list modes ended with different mappings", r);
	if (x || y)
		die("step and op-list modes ended with different mapping lists", r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct player step = { 0 }, list = { .list_mode = true };
	struct trace_req last = { 0 };
	bool have_vm = false;
	size_t nreq = 0;
	char *buf, *line, *next;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if (!devnull && !(devnull = fopen("/dev/null", "w")))
		abort();
	/* print through the real formatting code, into nothing */
	step.out = devnull;
	step.check = list.check = true;

	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';

	for (line = buf; line && nreq < FUZZ_MAX_REQUESTS; line = next) {
		struct trace_req req;
		const char *err;
		char phase[32];
		int r, rs, rl;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		r = trace_parse_line(line, have_vm, &req, phase, &err);
		if (r < 0)
			break;		/* `gpuva replay` stops here too */
		if (r == 0)
			continue;
		if (req.kind == TRACE_MAP && req.bo > FUZZ_MAX_BO)
			req.bo = req.bo % FUZZ_MAX_BO + 1;
		/* one side hears of the request first: a hint, so both agree */
		if (step.vm && req.kind != TRACE_VM) {
			uint64_t warm[3] = { req.addr, req.addr + req.range,
					     last.addr };

			gpuva_vm_warm(step.vm, warm, 3);
		}
		last = req;
		nreq++;

		rs = player_run(&step, &req);
		rl = player_run(&list, &req);
		if (req.kind == TRACE_VM) {
			if ((rs == 0) != (rl == 0))
				die("the two VMs disagree about creation", &req);
			if (rs)
				break;	/* an invalid VM is a valid rejection */
			have_vm = true;
			continue;
		}
		if (rs || rl)
			die(rs == -EINVAL || rl == -EINVAL ?
			    "player failed: invariant check or unexpected -EINVAL" :
			    "player failed", &req);
		same_stats(&step, &list, &req);
	}
	if (step.vm) {
		same_state(&step, &list, &last);
		if (gpuva_vm_check(step.vm) || gpuva_vm_check(list.vm))
			die("final check failed", &last);
	}
	player_fini(&step);
	player_fini(&list);
	free(buf);
	return 0;
}
