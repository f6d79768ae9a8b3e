/* SPDX-License-Identifier: MIT */
/*
 * Trace parsing and the benchmark scenario generators. Kept apart from the
 * code that runs requests, so that the fuzzer and the benchmarks read and
 * make requests exactly as `gpuva replay` does.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

static struct trace_req *
push(struct trace_buf *b)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		struct trace_req *r = realloc(b->r, cap * sizeof(*r));

		if (!r) {
			fprintf(stderr, "gpuva: out of memory\n");
			exit(1);
		}
		b->r = r;
		b->cap = cap;
	}
	memset(&b->r[b->n], 0, sizeof(b->r[0]));
	return &b->r[b->n++];
}

static void
phase(struct trace_buf *b, const char *name)
{
	if (b->nph && !strcmp(b->ph[b->nph - 1].name, name) &&
	    b->ph[b->nph - 1].end == b->n)
		return;
	if (b->nph == b->capph) {
		size_t cap = b->capph ? b->capph * 2 : 16;
		struct trace_phase *p = realloc(b->ph, cap * sizeof(*p));

		if (!p) {
			fprintf(stderr, "gpuva: out of memory\n");
			exit(1);
		}
		b->ph = p;
		b->capph = cap;
	}
	if (b->nph)
		b->ph[b->nph - 1].end = b->n;
	snprintf(b->ph[b->nph].name, sizeof(b->ph[0].name), "%s", name);
	b->ph[b->nph].first = b->n;
	b->ph[b->nph].end = b->n;
	b->nph++;
}

static void
close_phases(struct trace_buf *b)
{
	if (b->nph)
		b->ph[b->nph - 1].end = b->n;
}

void
trace_buf_fini(struct trace_buf *b)
{
	free(b->r);
	free(b->ph);
	memset(b, 0, sizeof(*b));
}

void
trace_print_req(FILE *f, const struct trace_req *r)
{
	switch (r->kind) {
	case TRACE_VM:
		fprintf(f, "> vm 0x%" PRIx64 " 0x%" PRIx64, r->addr, r->range);
		if (r->nargs == 4)
			fprintf(f, " 0x%" PRIx64 " 0x%" PRIx64, r->rstart, r->rrange);
		fputc('\n', f);
		break;
	case TRACE_MAP:
		fprintf(f, "> map 0x%" PRIx64 " 0x%" PRIx64 " %" PRIu32 " 0x%" PRIx64
			"\n", r->addr, r->range, r->bo, r->offset);
		break;
	case TRACE_UNMAP:
		fprintf(f, "> unmap 0x%" PRIx64 " 0x%" PRIx64 "\n", r->addr, r->range);
		break;
	case TRACE_BEGIN:
		fputs("> begin\n", f);
		break;
	case TRACE_COMMIT:
		fputs("> commit\n", f);
		break;
	case TRACE_ABORT:
		fputs("> abort\n", f);
		break;
	default:
		fputs("> dump\n", f);
		break;
	}
}

/* The commands without arguments, and their kinds. */
static const struct {
	const char *name;
	uint8_t kind;
} bare[] = {
	{ "dump", TRACE_DUMP },
	{ "begin", TRACE_BEGIN },
	{ "commit", TRACE_COMMIT },
	{ "abort", TRACE_ABORT },
};

int
trace_parse_line(char *line, bool have_vm, struct trace_req *req,
		 char phase_name[32], const char **err)
{
	char *tok[8], *p, *save = NULL, *hash = strchr(line, '#');
	uint64_t v[7];
	int nt = 0;

	if (phase_name)
		phase_name[0] = 0;
	if (hash) {
		if (phase_name && sscanf(hash, "# phase %31s", phase_name) != 1)
			phase_name[0] = 0;
		*hash = 0;
	}
	for (p = strtok_r(line, " \t\r\n", &save); p;
	     p = strtok_r(NULL, " \t\r\n", &save)) {
		if (nt == 8) {
			*err = "too many fields";
			return -1;
		}
		tok[nt++] = p;
	}
	if (!nt)
		return 0;
	for (int i = 1; i < nt; i++) {
		if (!trace_parse_u64(tok[i], &v[i - 1])) {
			*err = "bad number";
			return -1;
		}
	}
	memset(req, 0, sizeof(*req));
	if (!strcmp(tok[0], "vm")) {
		if (have_vm) {
			*err = "second vm line";
			return -1;
		}
		if (nt != 3 && nt != 5) {
			*err = "usage: vm <start> <range> [<reserved_start> <reserved_range>]";
			return -1;
		}
		req->kind = TRACE_VM;
		req->addr = v[0];
		req->range = v[1];
		req->nargs = (uint8_t)(nt - 1);
		if (nt == 5) {
			req->rstart = v[2];
			req->rrange = v[3];
		}
		return 1;
	}
	if (!have_vm) {
		*err = "the first request must be 'vm'";
		return -1;
	}
	if (!strcmp(tok[0], "map")) {
		if (nt != 5) {
			*err = "usage: map <addr> <range> <bo> <offset>";
			return -1;
		}
		if (v[2] > TRACE_MAX_BO) {
			*err = "bo id above 1000000";
			return -1;
		}
		req->kind = TRACE_MAP;
		req->addr = v[0];
		req->range = v[1];
		req->bo = (uint32_t)v[2];
		req->offset = v[3];
		return 1;
	}
	if (!strcmp(tok[0], "unmap")) {
		if (nt != 3) {
			*err = "usage: unmap <addr> <range>";
			return -1;
		}
		req->kind = TRACE_UNMAP;
		req->addr = v[0];
		req->range = v[1];
		return 1;
	}
	for (size_t i = 0; i < sizeof(bare) / sizeof(bare[0]); i++) {
		if (strcmp(tok[0], bare[i].name))
			continue;
		if (nt != 1) {
			*err = "dump, begin, commit and abort take no argument";
			return -1;
		}
		req->kind = bare[i].kind;
		return 1;
	}
	*err = "unknown request";
	return -1;
}

int
trace_read(const char *path, struct trace_buf *b)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *line = NULL, name[32];
	size_t cap = 0;
	unsigned long lineno = 0;
	bool have_vm = false;
	int ret = 0;

	if (!f) {
		fprintf(stderr, "gpuva: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) != -1) {
		struct trace_req req;
		const char *err;
		int r;

		lineno++;
		r = trace_parse_line(line, have_vm, &req, name, &err);
		if (name[0])
			phase(b, name);
		if (r < 0) {
			fprintf(stderr, "gpuva: %s:%lu: %s\n", path, lineno, err);
			ret = -1;
			break;
		}
		if (r == 0)
			continue;
		if (req.kind == TRACE_VM)
			have_vm = true;
		*push(b) = req;
	}
	if (!ret && !have_vm) {
		fprintf(stderr, "gpuva: %s: empty trace, no vm line\n", path);
		ret = -1;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	close_phases(b);
	return ret;
}

/* ---- scenarios ---------------------------------------------------------- */

#define VM_RANGE (1ULL << 47)
#define BASE (1ULL << 32)
#define P4K 0x1000ULL
#define P64K 0x10000ULL
#define NBO 1000

static void
vm_req(struct trace_buf *b)
{
	struct trace_req *r = push(b);

	r->kind = TRACE_VM;
	r->range = VM_RANGE;
	r->nargs = 2;
}

static void
map_req(struct trace_buf *b, uint64_t addr, uint64_t range, uint32_t bo,
	uint64_t off)
{
	struct trace_req *r = push(b);

	r->kind = TRACE_MAP;
	r->addr = addr;
	r->range = range;
	r->bo = bo;
	r->offset = off;
}

static void
unmap_req(struct trace_buf *b, uint64_t addr, uint64_t range)
{
	struct trace_req *r = push(b);

	r->kind = TRACE_UNMAP;
	r->addr = addr;
	r->range = range;
}

/* bo id and a 64 KiB-aligned offset, drawn in that order */
static void
map_page64(struct trace_buf *b, struct trace_rng *r, uint64_t addr)
{
	uint32_t bo = 1 + (uint32_t)trace_rng_below(r, NBO);
	uint64_t off = trace_rng_below(r, 1ULL << 16) * P64K;

	map_req(b, addr, P64K, bo, off);
}

static void
gen_random(struct trace_buf *b, uint64_t n, struct trace_rng *r)
{
	const uint64_t window = (64ULL << 30) / P4K;

	vm_req(b);
	phase(b, "random");
	for (uint64_t i = 0; i < n; i++) {
		uint64_t kind = trace_rng_below(r, 100);
		uint64_t pages = 1 + trace_rng_below(r, 64);
		uint64_t addr = BASE + trace_rng_below(r, window - pages + 1) * P4K;

		if (kind < 70) {
			uint32_t bo = 1 + (uint32_t)trace_rng_below(r, NBO);
			uint64_t off = trace_rng_below(r, 1ULL << 20) * P4K;

			map_req(b, addr, pages * P4K, bo, off);
		} else {
			unmap_req(b, addr, pages * P4K);
		}
	}
}

static void
gen_sparse_seq(struct trace_buf *b, uint64_t n, struct trace_rng *r)
{
	vm_req(b);
	phase(b, "reserve");
	map_req(b, BASE, n * P64K, 0, 0);
	phase(b, "bind");
	for (uint64_t i = 0; i < n; i++)
		map_page64(b, r, BASE + i * P64K);
	phase(b, "unbind");
	for (uint64_t i = 1; i < n; i += 2)
		map_req(b, BASE + i * P64K, P64K, 0, 0);
	phase(b, "rebind");
	for (uint64_t i = 1; i < n; i += 2)
		map_page64(b, r, BASE + i * P64K);
}

static void
gen_big_remap(struct trace_buf *b, uint64_t n, struct trace_rng *r)
{
	const uint64_t w = n - 1 < 1000 ? n - 1 : 1000;

	vm_req(b);
	phase(b, "fill");
	for (uint64_t i = 0; i < n; i++)
		map_page64(b, r, BASE + i * P64K);
	for (int j = 0; j < 1000; j++) {
		uint64_t p = trace_rng_below(r, n - w);
		uint64_t s = trace_rng_below(r, 16);
		uint32_t bo = 1 + (uint32_t)trace_rng_below(r, NBO);
		uint64_t off = trace_rng_below(r, 1ULL << 16) * P64K;
		uint64_t last = p + w + (s ? 1 : 0);

		phase(b, "remap");
		map_req(b, BASE + p * P64K + s * P4K, w * P64K, bo, off);
		phase(b, "refill");
		for (uint64_t i = p; i < last; i++)
			map_page64(b, r, BASE + i * P64K);
	}
}

static void
shuffle(uint64_t *a, uint64_t n, struct trace_rng *r)
{
	for (uint64_t i = n - 1; i > 0; i--) {
		uint64_t j = trace_rng_below(r, i + 1), t = a[i];

		a[i] = a[j];
		a[j] = t;
	}
}

static void
gen_populate(struct trace_buf *b, uint64_t n, struct trace_rng *r)
{
	uint64_t *perm = malloc(n * sizeof(*perm));
	uint64_t *size = malloc(n * sizeof(*size));

	if (!perm || !size) {
		fprintf(stderr, "gpuva: out of memory\n");
		exit(1);
	}
	vm_req(b);
	for (uint64_t i = 0; i < n; i++)
		perm[i] = i;
	shuffle(perm, n, r);
	phase(b, "insert");
	for (uint64_t i = 0; i < n; i++) {
		uint64_t slot = perm[i];
		uint64_t pages = 1 + trace_rng_below(r, 16);
		uint32_t bo = 1 + (uint32_t)trace_rng_below(r, NBO);
		uint64_t off = trace_rng_below(r, 1ULL << 20) * P4K;

		size[slot] = pages * P4K;
		map_req(b, BASE + slot * P64K, size[slot], bo, off);
	}
	for (uint64_t i = 0; i < n; i++)
		perm[i] = i;
	shuffle(perm, n, r);
	phase(b, "remove");
	for (uint64_t i = 0; i < n; i++)
		unmap_req(b, BASE + perm[i] * P64K, size[perm[i]]);
	free(perm);
	free(size);
}

static void
bare_req(struct trace_buf *b, uint8_t kind)
{
	push(b)->kind = kind;
}

/*
 * bind-batch: vkQueueBindSparse-like batches on a 16 GiB sparse resource
 * (one NULL mapping): BATCH random 64 KiB tiles per batch, each bound to
 * a BO or unbound (mapped NULL again), one transaction per batch. Not one
 * of the reference's scenarios: it measures the bind path, against the
 * same requests as plain op lists.
 */
#define BIND_BATCH	256
#define SPARSE_TILES	((16ULL << 30) / P64K)

static void
gen_bind_batch(struct trace_buf *b, uint64_t n, struct trace_rng *r)
{
	vm_req(b);
	phase(b, "reserve");
	map_req(b, BASE, SPARSE_TILES * P64K, 0, 0);
	phase(b, "batches");
	for (uint64_t i = 0; i < n; i++) {
		uint64_t addr = BASE + trace_rng_below(r, SPARSE_TILES) * P64K;

		if (i % BIND_BATCH == 0)
			bare_req(b, TRACE_BEGIN);
		if (trace_rng_below(r, 2))
			map_page64(b, r, addr);
		else
			map_req(b, addr, P64K, 0, 0);
		if (i % BIND_BATCH == BIND_BATCH - 1 || i == n - 1)
			bare_req(b, TRACE_COMMIT);
	}
}

static const struct {
	const char *name;
	uint64_t default_n, min_n;
	void (*gen)(struct trace_buf *b, uint64_t n, struct trace_rng *r);
} scenarios[] = {
	{ "random", 1000000, 1, gen_random },
	{ "sparse-seq", 262144, 1, gen_sparse_seq },
	{ "big-remap", 100000, 2, gen_big_remap },
	{ "populate", 1000000, 1, gen_populate },
	{ "bind-batch", 1000000, 1, gen_bind_batch },
};

uint64_t
trace_default_n(const char *name)
{
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!strcmp(scenarios[i].name, name))
			return scenarios[i].default_n;
	return 0;
}

int
trace_generate(const char *name, uint64_t n, uint64_t seed, struct trace_buf *b)
{
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		struct trace_rng r = { seed };

		if (strcmp(scenarios[i].name, name))
			continue;
		if (n < scenarios[i].min_n)
			return -1;
		scenarios[i].gen(b, n, &r);
		close_phases(b);
		return 0;
	}
	return -1;
}
