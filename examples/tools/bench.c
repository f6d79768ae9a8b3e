/* SPDX-License-Identifier: MIT */
/*
 * gpuva bench: the benchmark scenarios (README.md, Performance), generated
 * in-process exactly as the reference generates them, then timed phase by
 * phase.
 * Only request processing is timed, never generation. Prints a `key value`
 * summary whose counting keys (requests, ops, live_vas, errors, ops_hash)
 * depend only on the request sequence.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "tools.h"

struct phase_total {
	struct player_stats st;
	uint64_t ns;
};

static void
add_stats(struct player_stats *to, const struct player_stats *a,
	  const struct player_stats *b)
{
	to->requests += a->requests - b->requests;
	to->ops += a->ops - b->ops;
	to->maps += a->maps - b->maps;
	to->remaps += a->remaps - b->remaps;
	to->unmaps += a->unmaps - b->unmaps;
	to->keeps += a->keeps - b->keeps;
	to->errors += a->errors - b->errors;
}

static void
print_summary(const char *name, uint64_t n, uint64_t seed, uint64_t warm,
	      const struct player *p, const struct trace_buf *b,
	      const struct phase_total *pt, uint64_t total_ns)
{
	struct gpuva_vm_info info;
	struct rusage ru;
	uint64_t live;

	gpuva_vm_get_info(p->vm, &info);
	live = info.va_count;
	getrusage(RUSAGE_SELF, &ru);
	printf("scenario %s n=%" PRIu64 " seed=%" PRIu64 " mode=%s warm=%" PRIu64
	       "\n", name, n, seed, p->list_mode ? "ops" : "steps", warm);
	for (size_t k = 0; k < b->nph; k++) {
		const struct player_stats *s = &pt[k].st;

		if (!s->requests && !pt[k].ns)
			continue;	/* reported under its first phase */
		printf("phase %-8s requests=%" PRIu64 " ops=%" PRIu64 " (map=%" PRIu64
		       " remap=%" PRIu64 " unmap=%" PRIu64 " keep=%" PRIu64
		       ") errors=%" PRIu64 " ops/req=%.3f ns/req=%.1f\n",
		       b->ph[k].name, s->requests, s->ops, s->maps, s->remaps,
		       s->unmaps, s->keeps, s->errors, per(s->ops, s->requests),
		       per(pt[k].ns, s->requests));
	}
	printf("requests %" PRIu64 "\n", p->st.requests);
	printf("ops %" PRIu64 "\n", p->st.ops);
	printf("live_vas %" PRIu64 "\n", live);
	printf("errors %" PRIu64 "\n", p->st.errors);
	printf("ops_hash 0x%016" PRIx64 "\n", player_hash(p));
	printf("ops_per_request %.3f\n", per(p->st.ops, p->st.requests));
	printf("peak_live_vas %" PRIu64 "\n", p->peak_live);
	printf("elapsed_ms %.1f\n", (double)total_ns / 1e6);
	printf("ns_per_request %.1f\n", per(total_ns, p->st.requests));
	printf("ns_per_op %.1f\n", per(total_ns, p->st.ops));
	/*
	 * Library memory per live mapping: slab pages (which hold every
	 * mapping whole), vm_bos and the VM. With no mapping left at the end
	 * (populate) the figure is taken at the peak.
	 */
	if (live)
		printf("bytes_per_va %.1f\n", per(info.bytes, live));
	else
		printf("bytes_per_va %.1f\n", per(p->peak_bytes, p->peak_live));
	printf("sizeof_gpuva %zu\n", sizeof(struct gpuva));
	printf("peak_rss_kib %ld\n", ru.ru_maxrss);
}

#define WARM_MAX 64

/*
 * --warm K: run the requests in batches of K, as a driver runs the ops of
 * one VM_BIND array, telling the VM about each batch first. Timed with the
 * requests it serves.
 */
static void
warm_batch(struct player *p, const struct trace_req *r, size_t left,
	   uint64_t k)
{
	uint64_t addrs[WARM_MAX];
	size_t m = left < k ? left : (size_t)k;

	for (size_t j = 0; j < m; j++)
		addrs[j] = r[j].addr;
	gpuva_vm_warm(p->vm, addrs, m);
}

/*
 * Run every request of @b on @p: the vm line untimed, then each phase
 * timed (into @pt, by phase name, and @total_ns).
 */
static int
run_timed(struct player *p, const struct trace_buf *b, uint64_t warm,
	  struct phase_total *pt, uint64_t *total_ns)
{
	int ret = 0;

	/* the vm line comes before the first phase and is not timed */
	for (size_t i = 0; i < b->ph[0].first && !ret; i++)
		ret = player_run(p, &b->r[i]);
	for (size_t k = 0; k < b->nph && !ret; k++) {
		struct player_stats before = p->st;
		size_t same = 0;
		uint64_t t0 = now_ns(), dt;

		for (size_t i = b->ph[k].first; i < b->ph[k].end && !ret; i++) {
			if (warm && (i - b->ph[k].first) % warm == 0)
				warm_batch(p, &b->r[i], b->ph[k].end - i, warm);
			ret = player_run(p, &b->r[i]);
		}
		dt = now_ns() - t0;
		*total_ns += dt;
		/* phases of the same name are reported together */
		while (strcmp(b->ph[same].name, b->ph[k].name))
			same++;
		add_stats(&pt[same].st, &p->st, &before);
		pt[same].ns += dt;
		{
			struct gpuva_vm_info info;

			gpuva_vm_get_info(p->vm, &info);
			if (info.bytes > p->peak_bytes)
				p->peak_bytes = info.bytes;
		}
	}
	return ret;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One run of bind-batch's batches phase, one way; ns of that phase. */
static int
bind_batch_once(const struct trace_buf *b, bool txn, uint64_t *ns,
		struct player *out)
{
	struct player p = { .list_mode = !txn };
	struct gpuva_backend_desc d = { .flags = GPUVA_SIM_BOOKKEEPING };
	struct phase_total pt[2] = { { { 0 }, 0 } };
	uint64_t total = 0;
	int ret;

	if (txn && gpuva_sim_create(&d, &p.be))
		return -1;
	ret = run_timed(&p, b, 0, pt, &total);
	*ns = pt[1].ns;
	*out = p;
	out->vm = NULL;		/* the copy only reports counters */
	out->bos = NULL;
	player_fini(&p);
	gpuva_backend_destroy(out->be);
	out->be = NULL;
	return ret;
}

/*
 * gpuva bench bind-batch: the batches through transactions into the sim
 * backend (bookkeeping only), and the same requests as plain op lists,
 * alternating @reps times; medians and their ratio.
 */
static int
bench_bind_batch(uint64_t n, uint64_t seed, uint64_t reps)
{
	struct trace_buf b = { 0 };
	uint64_t t_txn[16], t_list[16], batch_requests;
	struct player txn, list;

	if (trace_generate("bind-batch", n, seed, &b))
		return 2;
	batch_requests = b.ph[1].end - b.ph[1].first;
	for (uint64_t k = 0; k < reps; k++) {
		bool txn_first = k % 2 == 0;

		if (bind_batch_once(&b, txn_first, txn_first ? &t_txn[k] : &t_list[k],
				    txn_first ? &txn : &list) ||
		    bind_batch_once(&b, !txn_first, txn_first ? &t_list[k] : &t_txn[k],
				    txn_first ? &list : &txn)) {
			trace_buf_fini(&b);
			return 1;
		}
	}
	qsort(t_txn, reps, sizeof(t_txn[0]), cmp_u64);
	qsort(t_list, reps, sizeof(t_list[0]), cmp_u64);
	/* the begin and commit lines are not requests */
	printf("scenario bind-batch n=%" PRIu64 " seed=%" PRIu64 " reps=%" PRIu64
	       " batch=256\n", n, seed, reps);
	printf("requests %" PRIu64 "\n", txn.st.requests - 1);
	printf("commits %" PRIu64 "\n", txn.st.commits);
	printf("commit_errors %" PRIu64 "\n", txn.st.commit_errors);
	printf("ops %" PRIu64 "\n", txn.st.ops);
	printf("ops_hash 0x%016" PRIx64 "\n", player_hash(&txn));
	printf("ops_hash_lists 0x%016" PRIx64 "\n", player_hash(&list));
	printf("net_ops_per_batch %.1f\n",
	       per(txn.st.net_ops - 1, txn.st.commits - 1));
	printf("ns_per_request %.1f\n",
	       per(t_txn[reps / 2], batch_requests - 2 * (txn.st.commits - 1)));
	printf("ns_per_request_lists %.1f\n",
	       per(t_list[reps / 2], batch_requests - 2 * (txn.st.commits - 1)));
	printf("ratio %.3f\n", per(t_txn[reps / 2], t_list[reps / 2]));
	trace_buf_fini(&b);
	return player_hash(&txn) == player_hash(&list) ? 0 : 1;
}

int
cmd_bench(int argc, char **argv)
{
	struct player p = { 0 };
	struct trace_buf b = { 0 };
	struct phase_total *pt;
	uint64_t n = 0, seed = 1, total_ns = 0, warm = 0, reps = 3;
	const char *name = NULL;
	int ret = 0;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--n") && i + 1 < argc) {
			if (!trace_parse_u64(argv[++i], &n) || !n)
				goto usage;
		} else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			if (!trace_parse_u64(argv[++i], &seed))
				goto usage;
		} else if (!strcmp(argv[i], "--warm") && i + 1 < argc) {
			if (!trace_parse_u64(argv[++i], &warm) || warm > WARM_MAX)
				goto usage;
		} else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
			if (!trace_parse_u64(argv[++i], &reps) || !reps || reps > 15)
				goto usage;
		} else if (!strcmp(argv[i], "--ops-list")) {
			p.list_mode = true;
		} else if (!strcmp(argv[i], "--check")) {
			p.check = true;
		} else if (argv[i][0] != '-' && !name) {
			name = argv[i];
		} else {
			goto usage;
		}
	}
	if (!name)
		goto usage;
	if (!n)
		n = trace_default_n(name);
	if (n && !strcmp(name, "bind-batch"))
		return bench_bind_batch(n, seed, reps);
	if (!n || trace_generate(name, n, seed, &b)) {
		fprintf(stderr, "gpuva bench: unknown scenario '%s' or bad --n\n",
			name);
		return 2;
	}
	pt = calloc(b.nph, sizeof(*pt));
	if (!pt)
		return 1;

	ret = run_timed(&p, &b, warm, pt, &total_ns);
	if (!ret)
		print_summary(name, n, seed, warm, &p, &b, pt, total_ns);
	free(pt);
	player_fini(&p);
	trace_buf_fini(&b);
	return ret ? 1 : 0;
usage:
	fprintf(stderr, "usage: gpuva bench SCENARIO [--n N] [--seed S] "
		"[--ops-list] [--warm K (<= %d)] [--check]\n"
		"       gpuva bench bind-batch [--n N] [--seed S] [--reps R (<= 15)]\n",
		WARM_MAX);
	return 2;
}
