/* SPDX-License-Identifier: MIT */
/*
 * The bind trace format (docs/trace-format.md): one request per
 * line, parsed into struct trace_req; and the four benchmark scenarios,
 * generated in-process request for request as the reference's gen_trace.py
 * does (same splitmix64, same draw order).
 */
#ifndef GPUVA_TOOLS_TRACE_H
#define GPUVA_TOOLS_TRACE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define TRACE_MAX_BO 1000000u

enum trace_kind {
	TRACE_VM, TRACE_MAP, TRACE_UNMAP, TRACE_DUMP,
	/* transactions (docs/trace-format.md): need a backend */
	TRACE_BEGIN, TRACE_COMMIT, TRACE_ABORT,
};

struct trace_req {
	uint64_t addr, range, offset;	/* TRACE_VM: start, range */
	uint64_t rstart, rrange;	/* TRACE_VM with nargs == 4 */
	uint32_t bo;
	uint8_t kind;
	uint8_t nargs;			/* TRACE_VM: 2 or 4 */
};

struct trace_phase {
	char name[32];
	size_t first, end;		/* [first, end) of the request array */
};

/* A growable request array with named phases. */
struct trace_buf {
	struct trace_req *r;
	size_t n, cap;
	struct trace_phase *ph;
	size_t nph, capph;
};

/*
 * Parse one line (modified in place). Returns 1 with *req filled, 0 for a
 * line without a request (blank, comment; a "# phase NAME" comment copies
 * NAME into @phase, if not NULL, else @phase[0] is set to 0), or -1 with a
 * message in @err. @have_vm says whether a vm line came before.
 */
int trace_parse_line(char *line, bool have_vm, struct trace_req *req,
		     char phase[32], const char **err);

/* Read a whole trace; on error prints "FILE:LINE: why" and returns -1. */
int trace_read(const char *path, struct trace_buf *b);

/* Fill @b with scenario @name; -1 for an unknown name or a bad @n. */
int trace_generate(const char *name, uint64_t n, uint64_t seed,
		   struct trace_buf *b);

/* The scenario's default request count, or 0 for an unknown name. */
uint64_t trace_default_n(const char *name);

void trace_buf_fini(struct trace_buf *b);

/*
 * splitmix64, the generator of the reference's gen_trace.py. The scenarios
 * draw from it, and so do the heap benchmark and the seeded random tests:
 * one generator, so a seed means the same sequence everywhere.
 */
struct trace_rng {
	uint64_t s;	/* the seed, then the state */
};

static inline uint64_t
trace_rng_next(struct trace_rng *r)
{
	uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* A draw in [0, n), n > 0, as gen_trace.py's below(). */
static inline uint64_t
trace_rng_below(struct trace_rng *r, uint64_t n)
{
	return trace_rng_next(r) % n;
}

/*
 * Parse a number as traces write them: 0x hex or decimal (a leading 0 is
 * not octal); no sign, no blanks, no overflow. Inline, so that the tests
 * read their options the same way without the tools' library.
 */
static inline bool
trace_parse_u64(const char *s, uint64_t *out)
{
	int base = 10;
	char *end;
	unsigned long long v;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	for (const char *p = s; *p; p++) {
		if (!(base == 16 ? (p[0] >= '0' && p[0] <= '9') ||
				   (p[0] >= 'a' && p[0] <= 'f') ||
				   (p[0] >= 'A' && p[0] <= 'F')
				 : (p[0] >= '0' && p[0] <= '9')))
			return false;
	}
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* Echo a request as replay does: "> " and the normalised command. */
void trace_print_req(FILE *f, const struct trace_req *r);

#endif
