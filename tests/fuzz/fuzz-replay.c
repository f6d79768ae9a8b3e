/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target over the trace parser and the engine: the input is a
 * bind trace, read line by line by the same parser `gpuva replay` uses and
 * run through the same player, three times side by side: twice on the
 * plain mirror, once with step callbacks and once with op lists, and once
 * on a sim backend, where requests become transactions.
 *
 * The plain sides: after every request both check every VM invariant
 * (player.check, i.e. gpuva_vm_check()), and the two must have produced
 * the same ops (counts and running ops_hash) and, at the end, the same
 * mappings. The step side is told of each request first
 * (gpuva_vm_warm()), which must change nothing.
 *
 * The sim side takes `begin`, `commit` and `abort` lines (a request
 * outside them is a transaction of its own), and lines
 *
 *     # sim-fail K:ERRNO[:J]    the K-th bind call from now fails with
 *     # sim-fail K:lose         ERRNO (after applying J requests), or
 *                               loses the VM (as `gpuva --sim-fail`)
 *
 * which `gpuva replay` reads as comments. The sim's page size is 1, so
 * that it accepts exactly what the plain mirror accepts. A unit of work
 * is one transaction; when it ends:
 * - the VM's invariants hold and, unless the VM is lost, the sim's page
 *   table equals the mirror (gpuva_sim_compare());
 * - a commit fails exactly when a failure was injected into its call;
 * - after an abort or a failure that applied nothing, the VM is as before
 *   the unit: the same mappings, gpuva_vm_get_info() (memory included)
 *   and page table;
 * - the plain sides are given what reached the mirror: every request of a
 *   committed unit, the first J of the batch for a partial one (bind.h),
 *   none for the rest, plus the requests the transaction refused, which
 *   they must refuse too. The sim side must then hold their mappings, and
 *   after a full commit have generated their ops (ops_hash, from a common
 *   start: batched requests generate what they do one by one).
 * Anything else aborts, which libFuzzer reports with the input that did it.
 *
 * Sizes are bounded so that one input cannot run long: at most
 * FUZZ_MAX_REQUESTS lines that do something, and BO ids folded into
 * 1..FUZZ_MAX_BO (the player keeps a table indexed by id). Each check is
 * O(n), n <= requests.
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

#include "backend_opts.h"
#include "player.h"
#include "trace.h"

#define FUZZ_MAX_REQUESTS 2048
#define FUZZ_MAX_BO 64u
#define FUZZ_MAX_INPUT (256 * 1024)
#define SIM_FAIL "# sim-fail "

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
	   const struct trace_req *r, const char *what)
{
	struct gpuva *x = gpuva_vm_first(a->vm), *y = gpuva_vm_first(b->vm);

	for (; x && y; x = gpuva_vm_next(a->vm, x), y = gpuva_vm_next(b->vm, y))
		if (x->addr != y->addr || x->range != y->range ||
		    x->offset != y->offset || bo_id(x) != bo_id(y) ||
		    gpuva_flags(x) != gpuva_flags(y))
			die(what, r);
	if (x || y)
		die(what, r);
}

/* ---- the plain sides ------------------------------------------------------------ */

struct fuzz {
	struct player step, list, sim;
	struct trace_req last;		/* the plain sides' last request */
	struct gpuva_backend *be;
	/* the failure armed in the sim: it hits bind call number @target */
	bool armed;
	uint64_t target;
	struct gpuva_sim_fail fail;
};

/*
 * One line on both plain sides, which must agree on it. Returns what a vm
 * line returned.
 */
static int
run_plain(struct fuzz *f, const struct trace_req *req)
{
	int rs, rl;

	/* one side hears of the request first: a hint, so both agree */
	if (f->step.vm && req->kind != TRACE_VM) {
		uint64_t warm[3] = { req->addr, req->addr + req->range,
				     f->last.addr };

		gpuva_vm_warm(f->step.vm, warm, 3);
	}
	f->last = *req;
	rs = player_run(&f->step, req);
	rl = player_run(&f->list, req);
	if (req->kind == TRACE_VM) {
		if ((rs == 0) != (rl == 0))
			die("the two VMs disagree about creation", req);
		return rs;
	}
	if (rs || rl)
		die(rs == -EINVAL || rl == -EINVAL ?
		    "player failed: invariant check or unexpected -EINVAL" :
		    "player failed", req);
	same_stats(&f->step, &f->list, req);
	return 0;
}

/* ---- the sim side: units of work ------------------------------------------------- */

/* What the VM holds, to compare after a unit that must have changed nothing. */
struct snapshot {
	struct gpuva *vas;		/* copies, in address order */
	size_t n, cap;
	uint32_t *bos;			/* their BO ids */
	struct gpuva_vm_info info;
	char *table;			/* gpuva_sim_dump() */
	size_t table_len;
};

/* A transaction's requests, and which of them it took into its batch. */
struct unit {
	struct trace_req *reqs;
	bool *taken;
	size_t n;
	uint64_t hash;			/* the sim side's ops_hash before it */
	bool lost;			/* the VM was lost before it */
	struct snapshot before;
};

static void
snapshot_take(struct fuzz *f, struct snapshot *s)
{
	struct gpuva_vm *vm = f->sim.vm;
	struct gpuva *va;
	FILE *m;

	s->n = 0;
	gpuva_vm_for_each_va(va, vm) {
		if (s->n == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 64;
			s->vas = realloc(s->vas, s->cap * sizeof(*s->vas));
			s->bos = realloc(s->bos, s->cap * sizeof(*s->bos));
			if (!s->vas || !s->bos)
				abort();
		}
		s->vas[s->n] = *va;
		s->bos[s->n++] = bo_id(va);
	}
	gpuva_vm_get_info(vm, &s->info);
	free(s->table);
	s->table = NULL;
	m = open_memstream(&s->table, &s->table_len);
	if (!m || gpuva_sim_dump(f->be, vm, m) || fclose(m))
		abort();
}

static void
snapshot_fini(struct snapshot *s)
{
	free(s->vas);
	free(s->bos);
	free(s->table);
}

/*
 * The VM equals @before: mappings (links aside: the memory may differ)
 * and counts; with @exact (a failure that was not partial, bind.h) the
 * memory figure and the page table too. Lost may be new.
 */
static void
snapshot_same(struct fuzz *f, const struct snapshot *before, bool exact,
	      const struct trace_req *r)
{
	struct snapshot now = { 0 };
	const struct gpuva_vm_info *a = &before->info, *b = &now.info;

	snapshot_take(f, &now);
	if (now.n != before->n)
		die("a failed or aborted transaction changed the mapping count", r);
	for (size_t i = 0; i < now.n; i++) {
		const struct gpuva *x = &before->vas[i], *y = &now.vas[i];

		if (x->addr != y->addr || x->range != y->range ||
		    x->offset != y->offset || before->bos[i] != now.bos[i] ||
		    gpuva_flags(x) != gpuva_flags(y))
			die("a failed or aborted transaction changed a mapping", r);
	}
	if (a->start != b->start || a->range != b->range ||
	    a->reserved_start != b->reserved_start ||
	    a->reserved_range != b->reserved_range ||
	    a->page_size != b->page_size || a->flags != b->flags ||
	    a->va_count != b->va_count || a->vm_bo_count != b->vm_bo_count ||
	    (exact && a->bytes != b->bytes))
		die("a failed or aborted transaction changed gpuva_vm_get_info() "
		    "(counts or memory)", r);
	if (exact && (now.table_len != before->table_len ||
		      memcmp(now.table, before->table, now.table_len)))
		die("a failed or aborted transaction changed the page table", r);
	snapshot_fini(&now);
}

static void
unit_start(struct fuzz *f, struct unit *u)
{
	u->n = 0;
	u->hash = f->sim.hash;
	u->lost = gpuva_vm_is_lost(f->sim.vm);
	snapshot_take(f, &u->before);
}

/* A request on the sim side, as part of unit @u. */
static void
unit_request(struct fuzz *f, struct unit *u, const struct trace_req *req)
{
	uint64_t commits = f->sim.st.commits;
	size_t count = f->sim.txn ? gpuva_bind_count(f->sim.txn) : 0;
	bool in_txn = f->sim.txn;

	if (player_run(&f->sim, req))
		die("the sim side failed", req);
	u->reqs[u->n] = *req;
	/* taken: into the open transaction, or committed as one of its own */
	u->taken[u->n++] = in_txn ? gpuva_bind_count(f->sim.txn) > count
				  : f->sim.st.commits > commits;
}

/*
 * The unit is over: @applied requests of its batch reached the mirror.
 * Give the plain sides those, and the requests the sim refused (which they
 * must refuse), then compare. After a full commit their ops must be the
 * sim side's: both start from the ops_hash the unit started with.
 */
static void
unit_replay(struct fuzz *f, const struct unit *u, size_t applied, bool full,
	    const struct trace_req *r)
{
	size_t k = 0;

	f->step.hash = f->list.hash = u->hash;
	for (size_t i = 0; i < u->n; i++) {
		uint64_t errors = f->step.st.errors;

		if (u->taken[i] ? k++ >= applied : u->lost)
			continue;
		run_plain(f, &u->reqs[i]);
		if ((f->step.st.errors > errors) == u->taken[i])
			die(u->taken[i] ? "the plain mirror refused a request a "
			    "transaction took" : "the plain mirror took a request "
			    "a transaction refused", &u->reqs[i]);
	}
	same_state(&f->sim, &f->step, r,
		   "the sim side's mirror is not the plain one's after a unit");
	if (full && f->step.hash != f->sim.hash)
		die("a transaction generated other ops than its requests one by one",
		    r);
}

/* The invariants, and the page table unless the VM is lost. */
static void
unit_check(struct fuzz *f, const struct trace_req *r)
{
	if (gpuva_vm_check(f->sim.vm))
		die("gpuva_vm_check failed after a unit", r);
	if (!gpuva_vm_is_lost(f->sim.vm) && !gpuva_sim_queued(f->be, f->sim.vm) &&
	    gpuva_sim_compare(f->be, f->sim.vm))
		die("the sim's page table differs from the mirror after a unit", r);
}

/* A unit that changed nothing: aborted, refused, or on a lost VM. */
static void
unit_unchanged(struct fuzz *f, struct unit *u, const struct trace_req *r)
{
	unit_check(f, r);
	snapshot_same(f, &u->before, true, r);
	unit_replay(f, u, 0, false, r);
}

/*
 * A commit ran (or a request of its own was tried): what came of it must
 * be what was injected, and the VM what the outcome says.
 */
static void
unit_commit(struct fuzz *f, struct unit *u, uint64_t calls, uint64_t commits,
	    uint64_t errors, const struct trace_req *r)
{
	uint64_t now = gpuva_sim_bind_calls(f->be);
	bool injected = now == calls + 1 && f->armed && now == f->target;
	bool failed = f->sim.st.commit_errors > errors;
	size_t batch = 0, applied;

	if (f->sim.st.commits == commits) {
		/* no commit: the request was refused, or the VM is lost */
		unit_unchanged(f, u, r);
		return;
	}
	if (now != calls + 1)
		die("a commit made no bind call, or several", r);
	if (injected)
		f->armed = false;
	if (failed != injected)
		die(failed ? "a commit failed with nothing injected"
			   : "a commit succeeded despite an injected failure", r);
	for (size_t i = 0; i < u->n; i++)
		batch += u->taken[i];
	if (!failed)
		applied = batch;
	else if (f->fail.kind == GPUVA_SIM_FAIL_PARTIAL &&
		 !gpuva_vm_is_lost(f->sim.vm))
		applied = f->fail.applied < batch ? f->fail.applied : batch;
	else
		applied = 0;
	unit_check(f, r);
	/*
	 * a partial failure that applied nothing keeps what it took (slab
	 * pages, index nodes): bind.h promises the memory figure only when
	 * the whole batch failed
	 */
	if (failed && !applied)
		snapshot_same(f, &u->before,
			      f->fail.kind != GPUVA_SIM_FAIL_PARTIAL, r);
	unit_replay(f, u, applied, !failed, r);
}

/* `# sim-fail SPEC`: arm a failure, as `gpuva --sim-fail SPEC` would. */
static void
sim_fail_line(struct fuzz *f, const char *spec)
{
	struct backend_opts o = { 0 };
	char *argv[2] = { "--sim-fail", (char *)spec };

	if (backend_opt_parse(&o, 2, argv, 0) != 2 ||
	    gpuva_sim_inject(f->be, &o.fail))
		return;		/* not a failure the sim takes: a comment */
	f->armed = true;
	f->target = gpuva_sim_bind_calls(f->be) + o.fail.call;
	f->fail = o.fail;
}

/* One line for the sim side; the plain sides get theirs at a unit's end. */
static void
run_sim(struct fuzz *f, struct unit *u, const struct trace_req *req)
{
	uint64_t calls = gpuva_sim_bind_calls(f->be);
	uint64_t commits = f->sim.st.commits, errors = f->sim.st.commit_errors;
	bool open = f->sim.txn;

	switch (req->kind) {
	case TRACE_MAP:
	case TRACE_UNMAP:
		if (open) {
			unit_request(f, u, req);
			return;
		}
		unit_start(f, u);
		unit_request(f, u, req);
		unit_commit(f, u, calls, commits, errors, req);
		return;
	case TRACE_BEGIN:
		if (!open)
			unit_start(f, u);
		break;
	default:
		break;
	}
	if (player_run(&f->sim, req))
		die("the sim side failed", req);
	if (!open)
		return;
	if (req->kind == TRACE_COMMIT)
		unit_commit(f, u, calls, commits, errors, req);
	else if (req->kind == TRACE_ABORT)
		unit_unchanged(f, u, req);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct fuzz f = { .list = { .list_mode = true } };
	struct unit u = { 0 };
	bool have_vm = false;
	size_t nreq = 0;
	char *buf, *line, *next;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	if (!devnull && !(devnull = fopen("/dev/null", "w")))
		abort();
	/* print through the real formatting code, into nothing */
	f.step.out = f.sim.out = devnull;
	f.step.check = f.list.check = true;
	/* page size 1: the sim takes exactly what the plain mirror takes */
	if (gpuva_sim_create(&(struct gpuva_backend_desc){ .page_size = 1 }, &f.be))
		abort();
	f.sim.be = f.be;

	buf = malloc(size + 1);
	u.reqs = malloc(FUZZ_MAX_REQUESTS * sizeof(*u.reqs));
	u.taken = malloc(FUZZ_MAX_REQUESTS * sizeof(*u.taken));
	if (!buf || !u.reqs || !u.taken)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';

	for (line = buf; line && nreq < FUZZ_MAX_REQUESTS; line = next) {
		struct trace_req req;
		const char *err;
		char phase[32];
		int r;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!strncmp(line, SIM_FAIL, strlen(SIM_FAIL))) {
			sim_fail_line(&f, line + strlen(SIM_FAIL));
			continue;
		}
		r = trace_parse_line(line, have_vm, &req, phase, &err);
		if (r < 0)
			break;		/* `gpuva replay` stops here too */
		if (r == 0)
			continue;
		if (req.kind == TRACE_MAP && req.bo > FUZZ_MAX_BO)
			req.bo = req.bo % FUZZ_MAX_BO + 1;
		nreq++;

		if (req.kind == TRACE_VM) {
			int rs = run_plain(&f, &req);

			if ((player_run(&f.sim, &req) == 0) != (rs == 0) ||
			    !f.sim.vm != !f.step.vm)
				die("the sim and plain VMs disagree about creation",
				    &req);
			if (rs)
				break;	/* an invalid VM is a valid rejection */
			have_vm = true;
			continue;
		}
		/* requests reach the plain sides when their unit ends */
		if (req.kind != TRACE_MAP && req.kind != TRACE_UNMAP)
			run_plain(&f, &req);
		/* a degenerate VM (player.h) has no VM object: plain only */
		if (!f.sim.vm) {
			if (req.kind == TRACE_MAP || req.kind == TRACE_UNMAP)
				run_plain(&f, &req);
			continue;
		}
		run_sim(&f, &u, &req);
	}
	if (f.sim.txn) {
		struct trace_req abort_req = { .kind = TRACE_ABORT };

		run_sim(&f, &u, &abort_req);	/* the trace ends inside one */
	}
	if (f.step.vm) {
		same_state(&f.step, &f.list, &f.last,
			   "step and op-list modes ended with different mappings");
		if (gpuva_vm_check(f.step.vm) || gpuva_vm_check(f.list.vm))
			die("final check failed", &f.last);
	}
	if (f.sim.vm)
		same_state(&f.sim, &f.step, &f.last,
			   "the sim side ended with other mappings than the plain one");
	player_fini(&f.step);
	player_fini(&f.list);
	player_fini(&f.sim);
	gpuva_backend_destroy(f.be);
	snapshot_fini(&u.before);
	free(u.reqs);
	free(u.taken);
	free(buf);
	return 0;
}
