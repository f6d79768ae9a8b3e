/* SPDX-License-Identifier: MIT */
/*
 * gpuva heap-map: run a small allocation script on a struct gpuva_heap and
 * print the heap map (every hole, allocation and reservation, and a picture).
 * For trying placement rules by hand, and for replaying the steps that the
 * random heap test saves when it fails.
 *
 * Script, one request a line, numbers as in traces (0x hex or decimal,
 * trace_parse_u64()), '#' starts a comment:
 *
 *   heap START RANGE                       (first; default 0x100000 0x10000000)
 *   alloc NAME SIZE [align=A] [high] [nospan=K] [window=ADDR,RANGE]
 *   fixed NAME ADDR SIZE
 *   reserve ADDR SIZE
 *   unreserve ADDR SIZE
 *   free NAME | free ADDR SIZE
 *   map
 *
 * Each request prints one line: its result or its errno and reason. The map
 * is printed at each `map` and at the end.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpuva/heap.h"
#include "tools.h"

#define MAX_NAMES 4096
#define PICTURE 64

struct named {
	char name[32];
	uint64_t addr, size;
	bool live;	/* freed names stay, so a double free reaches the heap */
};

struct hm {
	struct gpuva_heap *heap;
	struct named names[MAX_NAMES];
	size_t n;
	FILE *out;
};

static struct named *
find_name(struct hm *hm, const char *name)
{
	for (size_t i = 0; i < hm->n; i++)
		if (!strcmp(hm->names[i].name, name))
			return &hm->names[i];
	return NULL;
}

static const char *
name_at(const struct hm *hm, uint64_t addr)
{
	for (size_t i = 0; i < hm->n; i++)
		if (hm->names[i].addr == addr && hm->names[i].live)
			return hm->names[i].name;
	return "";
}

static void
remember(struct hm *hm, const char *name, uint64_t addr, uint64_t size)
{
	struct named *nm = find_name(hm, name);

	if (!nm && hm->n < MAX_NAMES)
		nm = &hm->names[hm->n++];
	if (!nm)
		return;
	snprintf(nm->name, sizeof(nm->name), "%s", name);
	nm->addr = addr;
	nm->size = size;
	nm->live = true;
}

struct pic {
	const struct hm *hm;
	uint64_t start, col;	/* bytes per column */
	char cells[PICTURE + 1];
};

static int
rank(char c)
{
	return c == '#' ? 3 : c == 'R' ? 2 : c == '.' ? 1 : 0;
}

static int
print_range(void *priv, const struct gpuva_heap_range *r)
{
	struct pic *p = priv;
	static const char *what[] = { "hole", "allocated", "reserved" };
	static const char mark[] = { '.', '#', 'R' };
	uint64_t c0 = (r->addr - p->start) / p->col;
	uint64_t c1 = (r->addr - p->start + (r->range - 1)) / p->col;

	if (r->state == GPUVA_HEAP_ALLOCATED)
		fprintf(p->hm->out, "  0x%016" PRIx64 " 0x%-12" PRIx64 " %-9s %s\n",
			r->addr, r->range, what[r->state], name_at(p->hm, r->addr));
	else
		fprintf(p->hm->out, "  0x%016" PRIx64 " 0x%-12" PRIx64 " %s\n",
			r->addr, r->range, what[r->state]);
	/* a column shows '#' if anything in it is allocated, else 'R', else '.' */
	for (uint64_t c = c0; c <= c1 && c < PICTURE; c++)
		if (rank(mark[r->state]) > rank(p->cells[c]))
			p->cells[c] = mark[r->state];
	return 0;
}

static void
print_map(const struct hm *hm)
{
	struct gpuva_heap_stats st;
	struct pic p = { .hm = hm };

	gpuva_heap_get_stats(hm->heap, &st);
	fprintf(hm->out, "heap 0x%" PRIx64 " 0x%" PRIx64 ": %zu holes (free 0x%"
		PRIx64 ", largest 0x%" PRIx64 "), %zu allocations (0x%" PRIx64
		"), %zu reservations (0x%" PRIx64 ")\n", st.start, st.range,
		st.holes, st.free_bytes, st.largest_hole, st.allocations,
		st.allocated_bytes, st.reservations, st.reserved_bytes);
	p.start = st.start;
	p.col = st.range / PICTURE + (st.range % PICTURE != 0);
	memset(p.cells, ' ', PICTURE);
	p.cells[PICTURE] = 0;
	gpuva_heap_for_each_range(hm->heap, print_range, &p);
	fprintf(hm->out, "  [%s]  # allocated  R reserved  . free\n", p.cells);
}

static int
report(struct hm *hm, const char *line, int err)
{
	if (err)
		fprintf(hm->out, "%s: error %d: %s\n", line, err,
			gpuva_heap_last_error(hm->heap));
	return err;
}

static int
run_alloc(struct hm *hm, char **tok, int ntok, const char *line)
{
	uint64_t size, align = 1, addr = 0, wa = 0, wr = 0, k;
	uint32_t flags = 0;
	bool window = false;
	int err;

	if (ntok < 3 || !trace_parse_u64(tok[2], &size))
		return -1;
	for (int i = 3; i < ntok; i++) {
		char *c;

		if (!strncmp(tok[i], "align=", 6) && trace_parse_u64(tok[i] + 6, &align)) {
			continue;
		} else if (!strcmp(tok[i], "high")) {
			flags |= GPUVA_HEAP_HIGH;
		} else if (!strncmp(tok[i], "nospan=", 7) && trace_parse_u64(tok[i] + 7, &k) &&
			   k < 64) {
			flags |= GPUVA_HEAP_NO_SPAN(k);
		} else if (!strncmp(tok[i], "window=", 7) &&
			   (c = strchr(tok[i], ',')) != NULL) {
			*c = 0;
			if (!trace_parse_u64(tok[i] + 7, &wa) || !trace_parse_u64(c + 1, &wr))
				return -1;
			window = true;
		} else {
			return -1;
		}
	}
	err = window ? gpuva_heap_alloc_in_range(hm->heap, size, align, flags, wa,
						 wr, &addr) :
		       gpuva_heap_alloc(hm->heap, size, align, flags, &addr);
	if (report(hm, line, err))
		return 0;
	remember(hm, tok[1], addr, size);
	fprintf(hm->out, "%s = 0x%" PRIx64 "\n", line, addr);
	return 0;
}

/* One script line; -1 on a syntax error. */
static int
run_line(struct hm *hm, char *line)
{
	char copy[512], *tok[16], *save = NULL;
	int ntok = 0;
	uint64_t a, s;

	line[strcspn(line, "#\r\n")] = 0;
	snprintf(copy, sizeof(copy), "%s", line);
	for (char *t = strtok_r(line, " \t", &save); t && ntok < 16;
	     t = strtok_r(NULL, " \t", &save))
		tok[ntok++] = t;
	if (!ntok)
		return 0;
	while (strlen(copy) && (copy[strlen(copy) - 1] == ' ' ||
				copy[strlen(copy) - 1] == '\t'))
		copy[strlen(copy) - 1] = 0;

	if (!strcmp(tok[0], "heap") && ntok == 3 && trace_parse_u64(tok[1], &a) &&
	    trace_parse_u64(tok[2], &s)) {
		struct gpuva_heap *h;
		int err = gpuva_heap_create(a, s, &h);

		if (err) {
			fprintf(hm->out, "%s: error %d\n", copy, err);
			return -1;
		}
		gpuva_heap_destroy(hm->heap);
		hm->heap = h;
		hm->n = 0;
		return 0;
	}
	if (!hm->heap && gpuva_heap_create(0x100000, 0x10000000, &hm->heap))
		return -1;
	if (!strcmp(tok[0], "alloc"))
		return run_alloc(hm, tok, ntok, copy);
	if (!strcmp(tok[0], "fixed") && ntok == 4 && trace_parse_u64(tok[2], &a) &&
	    trace_parse_u64(tok[3], &s)) {
		if (!report(hm, copy, gpuva_heap_alloc_fixed(hm->heap, a, s))) {
			remember(hm, tok[1], a, s);
			fprintf(hm->out, "%s = 0x%" PRIx64 "\n", copy, a);
		}
		return 0;
	}
	if ((!strcmp(tok[0], "reserve") || !strcmp(tok[0], "unreserve")) &&
	    ntok == 3 && trace_parse_u64(tok[1], &a) && trace_parse_u64(tok[2], &s)) {
		int err = tok[0][0] == 'r' ? gpuva_heap_reserve(hm->heap, a, s) :
					     gpuva_heap_unreserve(hm->heap, a, s);

		if (!report(hm, copy, err))
			fprintf(hm->out, "%s: ok\n", copy);
		return 0;
	}
	if (!strcmp(tok[0], "free") && (ntok == 2 || ntok == 3)) {
		struct named *nm = NULL;

		if (ntok == 3) {
			if (!trace_parse_u64(tok[1], &a) || !trace_parse_u64(tok[2], &s))
				return -1;
		} else if ((nm = find_name(hm, tok[1])) != NULL) {
			a = nm->addr;
			s = nm->size;
		} else {
			fprintf(hm->out, "%s: no allocation named %s\n", copy, tok[1]);
			return 0;
		}
		if (!report(hm, copy, gpuva_heap_free(hm->heap, a, s))) {
			fprintf(hm->out, "%s: ok\n", copy);
			if (nm)
				nm->live = false;
		}
		return 0;
	}
	if (!strcmp(tok[0], "map") && ntok == 1) {
		print_map(hm);
		return 0;
	}
	return -1;
}

int
cmd_heap_map(int argc, char **argv)
{
	static struct hm hm;
	const char *path = "-";
	char line[512];
	unsigned lineno = 0;
	FILE *in;
	int ret = 0;

	if (argc > 1 || (argc == 1 && argv[0][0] == '-' && argv[0][1])) {
		fprintf(stderr, "usage: gpuva heap-map [FILE|-]\n");
		return 2;
	}
	if (argc == 1)
		path = argv[0];
	in = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!in) {
		perror(path);
		return 2;
	}
	hm.out = stdout;
	while (fgets(line, sizeof(line), in)) {
		lineno++;
		if (run_line(&hm, line) < 0) {
			fprintf(stderr, "gpuva heap-map: %s:%u: cannot parse\n", path,
				lineno);
			ret = 2;
			break;
		}
	}
	if (in != stdin)
		fclose(in);
	if (!ret && hm.heap)
		print_map(&hm);
	gpuva_heap_destroy(hm.heap);
	return ret;
}
