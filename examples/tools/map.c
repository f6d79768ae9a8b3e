/* SPDX-License-Identifier: MIT */
/*
 * gpuva map: replay a trace, then draw the VM's final layout, so that a
 * trace's end state can be seen at a glance rather than read from `va`
 * lines.
 *
 *   gpuva map [--svg FILE] [--ops-list] [--check] [BACKEND OPTIONS] TRACE
 *
 * The picture covers the mapped part of the VM (first mapped byte to last;
 * the whole VM when nothing is mapped), in rows of 64 cells. A cell is a
 * power of two of bytes: fine enough that the view takes at least 64 cells,
 * coarser again when every edge in it falls on a coarser boundary (a cell
 * then never straddles two mappings), and coarse enough that it takes at
 * most 256. A cell shows the BO mapping covering most of it, else NULL
 * ('-'), else the reserved range ('#'), else a hole ('.'): nothing that is
 * mapped ever disappears, however small. BOs are told apart by letters and
 * digits, in the order they first appear by address; a legend names them.
 *
 * With --svg the same layout goes to FILE as an SVG picture, drawn to exact
 * scale within each row (no cells), with the same legend; each mapping is a
 * rectangle carrying its address (data-va) and a tooltip.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools.h"

#define ROW_CELLS	64
#define MIN_CELLS	64
#define MAX_CELLS	256

/* The marks, and their rank: what wins a cell that holds several things. */
#define MARK_HOLE	'.'
#define MARK_RESERVED	'#'
#define MARK_NULL	'-'
#define MARK_OTHER	'*'	/* BOs past the 62 letters and digits */

static const char bo_marks[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* One BO of the final layout, with what the legend says of it. */
struct map_bo {
	const struct gpuva_bo *bo;
	uint32_t id;		/* the trace's number */
	int rank;		/* order of first appearance by address; -1: unseen */
	uint64_t count, bytes;
};

struct map {
	const struct player *p;
	struct gpuva_vm_info info;
	struct map_bo *bos;	/* sorted by pointer, for the lookups */
	size_t nbos;
	size_t seen;		/* BOs that have a rank */
	uint64_t null_count, null_bytes;
	/* the view: mapped bytes [lo, last]; cells from base, cell bytes each */
	uint64_t lo, last, base, cell;
	size_t ncells;
	bool whole;		/* nothing mapped: the view is the whole VM */
	char cells[MAX_CELLS];
	uint64_t cell_best[MAX_CELLS];	/* bytes of the mapping shown there */
};

static int
bo_cmp(const void *a, const void *b)
{
	const struct map_bo *x = a, *y = b;

	return x->bo < y->bo ? -1 : x->bo > y->bo;
}

static struct map_bo *
find_bo(const struct map *m, const struct gpuva_bo *bo)
{
	struct map_bo key = { .bo = bo };

	return bsearch(&key, m->bos, m->nbos, sizeof(key), bo_cmp);
}

/* The player's BOs (every one the trace used), by pointer. */
static int
collect_bos(struct map *m)
{
	const struct player *p = m->p;

	m->bos = calloc(p->nbos ? p->nbos : 1, sizeof(*m->bos));
	if (!m->bos)
		return -ENOMEM;
	for (uint32_t id = 1; id < p->nbos; id++) {
		if (p->bos[id])
			m->bos[m->nbos++] = (struct map_bo) {
				.bo = p->bos[id], .id = id, .rank = -1,
			};
	}
	qsort(m->bos, m->nbos, sizeof(*m->bos), bo_cmp);
	return 0;
}

static char
bo_mark(const struct map_bo *b)
{
	return b->rank < (int)sizeof(bo_marks) - 1 ? bo_marks[b->rank] : MARK_OTHER;
}

/* How many cells of @cell bytes the view [lo, last] takes. */
static uint64_t
cells_for(const struct map *m, uint64_t cell)
{
	uint64_t mask = ~(cell - 1);

	return ((m->last & mask) - (m->lo & mask)) / cell + 1;
}

/* Choose the view and the cell size (the file comment says how). */
static void
choose_view(struct map *m)
{
	const struct gpuva_vm *vm = m->p->vm;
	struct gpuva *first = gpuva_vm_first(vm), *va;
	uint64_t edges = 0, align, cell = 1ull << 63;

	if (first) {
		m->lo = first->addr;
		m->last = gpuva_end(gpuva_vm_last(vm)) - 1;
		gpuva_vm_for_each_va(va, vm)
			edges |= va->addr | gpuva_end(va);
	} else {
		m->whole = true;
		m->lo = m->info.start;
		m->last = m->info.start + (m->info.range - 1);
		edges = m->info.start | (m->info.start + m->info.range);
	}
	edges |= m->lo;
	align = edges ? edges & -edges : 1ull << 63;
	while (cell > 1 && cells_for(m, cell) < MIN_CELLS)
		cell >>= 1;
	if (align < cell)
		cell = align;
	while (cells_for(m, cell) > MAX_CELLS)
		cell <<= 1;
	m->cell = cell;
	m->base = m->lo & ~(cell - 1);
	m->ncells = (size_t)cells_for(m, cell);
}

static int
rank_of(char c)
{
	return c == MARK_HOLE ? 0 : c == MARK_RESERVED ? 1 : c == MARK_NULL ? 2 : 3;
}

/*
 * Let [addr, addr + range) claim the cells it touches with @mark: a higher
 * rank wins, and between BO mappings the one covering more of the cell.
 */
static void
paint(struct map *m, uint64_t addr, uint64_t range, char mark)
{
	uint64_t last = addr + (range - 1);

	if (last < m->base || addr > m->base + (m->ncells * m->cell - 1))
		return;
	if (addr < m->base)
		addr = m->base;
	for (size_t c = (size_t)((addr - m->base) / m->cell); c < m->ncells; c++) {
		uint64_t c0 = m->base + c * m->cell, c1 = c0 + (m->cell - 1);
		uint64_t bytes;

		if (c0 > last)
			break;
		bytes = (last < c1 ? last : c1) - (addr > c0 ? addr : c0) + 1;
		if (rank_of(mark) > rank_of(m->cells[c]) ||
		    (rank_of(mark) == 3 && rank_of(m->cells[c]) == 3 &&
		     bytes > m->cell_best[c])) {
			m->cells[c] = mark;
			m->cell_best[c] = bytes;
		}
	}
}

/* Count every mapping, rank the BOs, fill the cells. */
static void
build(struct map *m)
{
	const struct gpuva_vm *vm = m->p->vm;
	struct gpuva *va;

	memset(m->cells, MARK_HOLE, sizeof(m->cells));
	if (m->info.reserved_range)
		paint(m, m->info.reserved_start, m->info.reserved_range,
		      MARK_RESERVED);
	gpuva_vm_for_each_va(va, vm) {
		struct gpuva_bo *bo = gpuva_bo_of(va);
		struct map_bo *b = bo ? find_bo(m, bo) : NULL;

		if (!bo) {
			m->null_count++;
			m->null_bytes += va->range;
			paint(m, va->addr, va->range, MARK_NULL);
			continue;
		}
		if (!b)		/* not the player's: cannot happen */
			continue;
		if (b->rank < 0)
			b->rank = (int)m->seen++;
		b->count++;
		b->bytes += va->range;
		paint(m, va->addr, va->range, bo_mark(b));
	}
}

/* The BOs in legend order (by rank); the caller frees the array. */
static const struct map_bo **
legend_order(const struct map *m)
{
	const struct map_bo **order = calloc(m->seen ? m->seen : 1, sizeof(*order));

	if (!order)
		return NULL;
	for (size_t i = 0; i < m->nbos; i++)
		if (m->bos[i].rank >= 0)
			order[m->bos[i].rank] = &m->bos[i];
	return order;
}

static const char *
plural(uint64_t n)
{
	return n == 1 ? "mapping" : "mappings";
}

/* One legend line: its mark, what it is, how much of the VM it takes. */
static void
legend_line(FILE *f, char mark, const char *what, uint64_t count,
	    uint64_t bytes)
{
	fprintf(f, "%c  %-8s %" PRIu64 " %s, 0x%" PRIx64 " bytes\n", mark, what,
		count, plural(count), bytes);
}

/* The first line of both pictures: the VM and what is in it. */
static void
print_head(const struct map *m, FILE *f)
{
	fprintf(f, "vm 0x%" PRIx64 " 0x%" PRIx64, m->info.start, m->info.range);
	if (m->info.reserved_range)
		fprintf(f, " reserved 0x%" PRIx64 " 0x%" PRIx64,
			m->info.reserved_start, m->info.reserved_range);
	fprintf(f, ", %zu %s, %zu BO%s", m->info.va_count,
		plural(m->info.va_count), m->seen, m->seen == 1 ? "" : "s");
}

static void
print_view(const struct map *m, FILE *f)
{
	fprintf(f, "view 0x%" PRIx64 " 0x%" PRIx64 " (%s), %zu cells of 0x%"
		PRIx64, m->lo, m->last - m->lo + 1,
		m->whole ? "the whole VM: nothing is mapped" : "the mapped part",
		m->ncells, m->cell);
}

static int
hex_width(uint64_t v)
{
	int w = 3;	/* "0x" and one digit */

	while (v >>= 4)
		w++;
	return w;
}

/* The terminal picture. */
static void
draw_text(const struct map *m, const struct map_bo **order, FILE *f)
{
	size_t rows = (m->ncells + ROW_CELLS - 1) / ROW_CELLS;
	int aw = hex_width(m->base + (rows - 1) * ROW_CELLS * m->cell);
	int col = 0;
	bool any = false;
	char label[32];

	print_head(m, f);
	fputc('\n', f);
	print_view(m, f);
	fputc('\n', f);
	/* the scale: the offset within a row, every 16 cells where it fits */
	fprintf(f, "%*s", aw + 2, "");
	for (size_t c = 0; c < ROW_CELLS && c < m->ncells; c += 16) {
		int n = snprintf(label, sizeof(label), "+0x%" PRIx64,
				 (uint64_t)c * m->cell);

		if (any && (int)c <= col)
			continue;	/* the last label reaches here */
		fprintf(f, "%*s%s", (int)c - col, "", label);
		col = (int)c + n;
		any = true;
	}
	fputc('\n', f);
	for (size_t r = 0; r < rows; r++) {
		size_t c0 = r * ROW_CELLS;
		size_t n = m->ncells - c0 < ROW_CELLS ? m->ncells - c0 : ROW_CELLS;

		snprintf(label, sizeof(label), "0x%" PRIx64, m->base + c0 * m->cell);
		fprintf(f, "%-*s |%.*s|\n", aw, label, (int)n, m->cells + c0);
	}
	for (size_t i = 0; i < m->seen; i++) {
		snprintf(label, sizeof(label), "bo %" PRIu32, order[i]->id);
		legend_line(f, bo_mark(order[i]), label, order[i]->count,
			    order[i]->bytes);
	}
	if (m->null_count)
		legend_line(f, MARK_NULL, "NULL", m->null_count, m->null_bytes);
	fprintf(f, "%c  hole\n", MARK_HOLE);
	if (m->info.reserved_range) {
		uint64_t rs = m->info.reserved_start;
		uint64_t rl = rs + (m->info.reserved_range - 1);
		uint64_t vl = m->base + (m->ncells * m->cell - 1);

		fprintf(f, "%c  reserved 0x%" PRIx64 " 0x%" PRIx64 "%s\n",
			MARK_RESERVED, rs, m->info.reserved_range,
			rl < m->base || rs > vl ? " (outside the view)" : "");
	}
}

/* ---- SVG ------------------------------------------------------------------------ */

#define SVG_CELL	12	/* px per cell */
#define SVG_ROW_H	26
#define SVG_ROW_GAP	12
#define SVG_FONT	12

/* A fill for the BO of rank @i: hues spread by the golden angle. */
static void
svg_fill(char *buf, size_t n, int rank)
{
	snprintf(buf, n, "hsl(%d,65%%,%d%%)", (rank * 137) % 360,
		 rank % 2 ? 62 : 48);
}

/*
 * Draw [addr, addr + range) clipped to each row it crosses, as rectangles
 * to exact scale (at least one pixel wide).
 */
static void
svg_span(const struct map *m, FILE *f, double x0, double y0, uint64_t addr,
	 uint64_t range, const char *cls, const char *fill, const char *tip)
{
	uint64_t row_bytes = ROW_CELLS * m->cell;
	uint64_t last = addr + (range - 1);
	size_t rows = (m->ncells + ROW_CELLS - 1) / ROW_CELLS;

	for (size_t r = 0; r < rows; r++) {
		uint64_t r0 = m->base + r * row_bytes;
		uint64_t r1 = r0 + (row_bytes - 1);
		uint64_t a = addr > r0 ? addr : r0, l = last < r1 ? last : r1;
		double x, w;

		if (addr > r1 || last < r0)
			continue;
		x = x0 + (double)(a - r0) / (double)m->cell * SVG_CELL;
		w = ((double)(l - a) + 1.0) / (double)m->cell * SVG_CELL;
		fprintf(f, "  <rect class=\"%s\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\""
			" height=\"%d\" fill=\"%s\"", cls, x,
			y0 + (double)r * (SVG_ROW_H + SVG_ROW_GAP), w < 1 ? 1.0 : w,
			SVG_ROW_H, fill);
		if (!strcmp(cls, "va"))	/* outlined: neighbours stay apart */
			fprintf(f, " stroke=\"#333\" stroke-width=\"0.5\""
				" data-va=\"0x%" PRIx64 "\"", addr);
		fprintf(f, "><title>%s</title></rect>\n", tip);
	}
}

static void
svg_legend_item(FILE *f, double x, double y, const char *fill,
		const char *text)
{
	fprintf(f, "  <rect x=\"%.0f\" y=\"%.0f\" width=\"14\" height=\"14\" "
		"fill=\"%s\" stroke=\"#555\"/>\n"
		"  <text x=\"%.0f\" y=\"%.0f\">%s</text>\n",
		x, y, fill, x + 20, y + 11, text);
}

static int
draw_svg(const struct map *m, const struct map_bo **order, const char *path)
{
	size_t rows = (m->ncells + ROW_CELLS - 1) / ROW_CELLS;
	int aw = hex_width(m->base + (rows - 1) * ROW_CELLS * m->cell);
	double x0 = 28 + aw * 7.5, y0 = 82;
	double legend_y = y0 + (double)rows * (SVG_ROW_H + SVG_ROW_GAP) + 8;
	size_t items = m->seen + 2 + (m->null_count ? 1 : 0) +
		       (m->info.reserved_range ? 1 : 0);
	double width = x0 + ROW_CELLS * SVG_CELL + 24;
	double height = legend_y + (double)items * 20 + 12;
	char fill[32], tip[160], text[160];
	struct gpuva *va;
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "gpuva map: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
		"height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"monospace\" "
		"font-size=\"%d\">\n"
		"  <defs><pattern id=\"hatch\" width=\"6\" height=\"6\" "
		"patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
		"<rect width=\"6\" height=\"6\" fill=\"#bbb\"/>"
		"<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#555\" "
		"stroke-width=\"3\"/></pattern></defs>\n"
		"  <rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
		"  <text x=\"16\" y=\"20\" font-weight=\"bold\">gpuva map</text>\n"
		"  <text x=\"16\" y=\"38\">", width, height, width, height,
		SVG_FONT);
	print_head(m, f);
	fputs("</text>\n  <text x=\"16\" y=\"54\">", f);
	print_view(m, f);
	fputs("</text>\n", f);
	/* the scale and the rows: their addresses, and holes as the background */
	for (size_t c = 0; c < ROW_CELLS && c < m->ncells; c += 16)
		fprintf(f, "  <text x=\"%.0f\" y=\"%.0f\">+0x%" PRIx64 "</text>\n",
			x0 + (double)c * SVG_CELL, y0 - 6, (uint64_t)c * m->cell);
	for (size_t r = 0; r < rows; r++) {
		size_t n = m->ncells - r * ROW_CELLS;
		double y = y0 + (double)r * (SVG_ROW_H + SVG_ROW_GAP);

		fprintf(f, "  <text x=\"16\" y=\"%.0f\">0x%" PRIx64 "</text>\n"
			"  <rect class=\"hole\" x=\"%.0f\" y=\"%.0f\" width=\"%d\" "
			"height=\"%d\" fill=\"white\" stroke=\"#999\"/>\n",
			y + SVG_ROW_H / 2 + 4,
			m->base + r * ROW_CELLS * m->cell, x0, y,
			(int)(n < ROW_CELLS ? n : ROW_CELLS) * SVG_CELL, SVG_ROW_H);
	}
	if (m->info.reserved_range) {
		snprintf(tip, sizeof(tip), "reserved 0x%" PRIx64 " 0x%" PRIx64,
			 m->info.reserved_start, m->info.reserved_range);
		svg_span(m, f, x0, y0, m->info.reserved_start,
			 m->info.reserved_range, "reserved", "url(#hatch)", tip);
	}
	gpuva_vm_for_each_va(va, m->p->vm) {
		const struct map_bo *b = gpuva_bo_of(va) ?
					 find_bo(m, gpuva_bo_of(va)) : NULL;

		if (b) {
			svg_fill(fill, sizeof(fill), b->rank);
			snprintf(tip, sizeof(tip), "va 0x%" PRIx64 " 0x%" PRIx64
				 " bo %" PRIu32 " 0x%" PRIx64, va->addr,
				 va->range, b->id, va->offset);
		} else {
			snprintf(fill, sizeof(fill), "#e4e4e4");
			snprintf(tip, sizeof(tip), "va 0x%" PRIx64 " 0x%" PRIx64
				 " NULL", va->addr, va->range);
		}
		svg_span(m, f, x0, y0, va->addr, va->range, "va", fill, tip);
	}
	for (size_t i = 0; i < m->seen; i++) {
		svg_fill(fill, sizeof(fill), order[i]->rank);
		snprintf(text, sizeof(text), "%c bo %" PRIu32 ": %" PRIu64
			 " %s, 0x%" PRIx64 " bytes", bo_mark(order[i]),
			 order[i]->id, order[i]->count, plural(order[i]->count),
			 order[i]->bytes);
		svg_legend_item(f, 16, legend_y, fill, text);
		legend_y += 20;
	}
	if (m->null_count) {
		snprintf(text, sizeof(text), "- NULL (reads as zero): %" PRIu64
			 " %s, 0x%" PRIx64 " bytes", m->null_count,
			 plural(m->null_count), m->null_bytes);
		svg_legend_item(f, 16, legend_y, "#e4e4e4", text);
		legend_y += 20;
	}
	svg_legend_item(f, 16, legend_y, "white", ". hole (unmapped)");
	legend_y += 20;
	if (m->info.reserved_range) {
		snprintf(text, sizeof(text), "# reserved 0x%" PRIx64 " 0x%" PRIx64,
			 m->info.reserved_start, m->info.reserved_range);
		svg_legend_item(f, 16, legend_y, "url(#hatch)", text);
	}
	fputs("</svg>\n", f);
	if (fclose(f)) {
		fprintf(stderr, "gpuva map: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
cmd_map(int argc, char **argv)
{
	struct player p = { .out = NULL };	/* no ops, no dumps */
	struct trace_buf b = { 0 };
	struct backend_opts bo = { 0 };
	struct gpuva_drm_device *dev = NULL;
	const char *svg = NULL;
	const struct map_bo **order = NULL;
	struct map m = { .p = &p };
	struct gpuva_backend *be;
	int ret;

	ret = replay_setup("map", argc, argv, &p, &b, &bo, &dev, &svg);
	for (size_t i = 0; i < b.n && !ret; i++)
		ret = player_run(&p, &b.r[i]) ? 1 : 0;
	if (!ret)
		player_finish(&p);
	if (!ret && !p.vm) {
		fprintf(stderr, "gpuva map: no VM to draw (the trace's vm line "
			"makes none the library accepts)\n");
		ret = 1;
	}
	if (!ret && !collect_bos(&m)) {
		gpuva_vm_get_info(p.vm, &m.info);
		choose_view(&m);
		build(&m);
		order = legend_order(&m);
	}
	if (!ret && !order) {
		fprintf(stderr, "gpuva map: out of memory\n");
		ret = 1;
	}
	if (!ret) {
		draw_text(&m, order, stdout);
		if (svg && draw_svg(&m, order, svg))
			ret = 1;
	}
	fflush(stdout);
	free(order);
	free(m.bos);
	be = p.be;	/* player_fini() clears it; the VM goes before its backend */
	player_fini(&p);
	backend_close(be, dev);
	trace_buf_fini(&b);
	return ret;
}
