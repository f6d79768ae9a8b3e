/* SPDX-License-Identifier: MIT */
/*
 * Randomised test of the tree layer against a naive sorted array.
 *
 * Random inserts, removes and re-inserts; after every operation the
 * tree must pass tree_check() (order, threads, AVL balance and tags,
 * count), hold exactly the model's keys in order (walked forwards with
 * tree_next and backwards with tree_prev), answer tree_find_le/tree_find
 * like the model at random probes, and carry correct augmented data (here:
 * the largest value in each subtree, as the heap keeps its largest hole).
 * A third of the steps walk on from the last key, so that inserts start
 * from the path the last change left.
 *
 *   property-tree [--seed S] [--count N] [--keys K]
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gpuva/common.h"
#include "tree/tree.h"
#include "trace.h"	/* the project's one seeded generator */

struct item {
	struct gpuva_tree_node node;
	uint64_t value, max;	/* max: largest value in the subtree */
	bool in;
};

static struct {
	uint64_t seed;
	size_t count, keys;
} opt = { 1, 200000, 4096 };

static struct trace_rng rng;

static uint64_t
rnd(void)
{
	return trace_rng_next(&rng);
}

static struct item *
item_of(const struct gpuva_tree_node *n)
{
	return n ? gpuva_container_of(n, struct item, node) : NULL;
}

static void
augment_max(struct gpuva_tree_node *n)
{
	struct item *it = item_of(n);

	it->max = it->value;
	for (int d = 0; d < 2; d++) {
		struct item *c = item_of(tree_child(n, d));

		if (c && c->max > it->max)
			it->max = c->max;
	}
}

/* Recompute every subtree's max the slow way and compare. */
static uint64_t
verify_max(const struct gpuva_tree_node *n, bool *ok)
{
	uint64_t m;

	if (!n)
		return 0;
	m = item_of(n)->value;
	for (int d = 0; d < 2; d++) {
		uint64_t c = verify_max(tree_child(n, d), ok);

		m = c > m ? c : m;
	}
	if (m != item_of(n)->max)
		*ok = false;
	return m;
}

#define FAIL_AT(step, what) \
	fail_msg("seed 0x%" PRIx64 " step %zu: %s", opt.seed, (step), (what))

static void
check_all(struct gpuva_tree *t, struct item *items, size_t step)
{
	const char *why = NULL;
	struct gpuva_tree_node *n;
	size_t k = 0, in = 0;
	bool ok = true;

	if (tree_check(t, &why))
		FAIL_AT(step, why);
	verify_max(tree_root(t), &ok);
	if (!ok)
		FAIL_AT(step, "augmented max wrong");
	/* forwards: exactly the present keys, ascending (key == index * 2) */
	for (n = tree_first(t); n; n = tree_next(n)) {
		while (k < opt.keys && !items[k].in)
			k++;
		if (k == opt.keys || n != &items[k].node)
			FAIL_AT(step, "forward walk differs from the model");
		k++;
		in++;
	}
	/* and no key of the model is left after the walk's end */
	while (k < opt.keys && !items[k].in)
		k++;
	if (k != opt.keys)
		FAIL_AT(step, "the tree lacks a key the model has");
	if (in != t->count)
		FAIL_AT(step, "walk length differs from count");
	/* backwards */
	k = opt.keys;
	for (n = tree_last(t); n; n = tree_prev(n)) {
		while (k > 0 && !items[k - 1].in)
			k--;
		if (k == 0 || n != &items[k - 1].node)
			FAIL_AT(step, "backward walk differs from the model");
		k--;
	}
}

/* The model's answer to "largest key <= @key". */
static struct item *
model_le(struct item *items, uint64_t key)
{
	/* key 2i + 1 belongs to item i: scan down from the probe */
	size_t i = key == 0 ? 0 : (key - 1) / 2 + 1;

	if (i > opt.keys)
		i = opt.keys;
	while (i-- > 0)
		if (items[i].in)
			return &items[i];
	return NULL;
}

static void
probe(struct gpuva_tree *t, struct item *items, size_t step)
{
	uint64_t key = rnd() % (opt.keys * 2 + 2);
	struct item *want = model_le(items, key);

	if (item_of(tree_find_le(t, key)) != want)
		FAIL_AT(step, "tree_find_le differs from the model");
	if (item_of(tree_find(t, key)) !=
	    (want && want->node.key == key ? want : NULL))
		FAIL_AT(step, "tree_find differs from the model");
}

static void
random_operations_keep_every_invariant(void **state)
{
	struct item *items = calloc(opt.keys, sizeof(*items));
	struct gpuva_tree t;

	(void)state;
	assert_non_null(items);
	rng.s = opt.seed;
	tree_init(&t, augment_max);
	for (size_t i = 0; i < opt.keys; i++)
		items[i].node.key = 2 * i + 1;	/* gaps for probes */

	for (size_t step = 0, i = 0; step < opt.count; step++) {
		/*
		 * A third of the steps walk on from the last key, so that
		 * inserts start from the path the last change left; the rest
		 * jump anywhere.
		 */
		i = rnd() % 3 ? rnd() % opt.keys : (i + 1 + rnd() % 2) % opt.keys;
		struct item *it = &items[i];
		uint64_t r = rnd() % 10;

		/* look up at the key, or next to it, before changing */
		if (rnd() % 2) {
			uint64_t key = it->node.key - rnd() % 3 + 1;

			if (item_of(tree_find_le(&t, key)) != model_le(items, key))
				FAIL_AT(step, "tree_find_le differs from the model");
		}

		if (!it->in) {
			it->value = rnd() % 1000000;
			tree_insert(&t, &it->node);
			it->in = true;
		} else if (r < 6) {
			tree_remove(&t, &it->node);
			it->in = false;
		} else {
			/* out and in again with a new value: the augmented
			 * data must follow, from the path the remove left */
			tree_remove(&t, &it->node);
			it->value = rnd() % 1000000;
			tree_insert(&t, &it->node);
		}
		/* full checks are O(n): every step while small, else sampled */
		if (opt.keys <= 512 || step % 1024 == 0 || step + 1 == opt.count)
			check_all(&t, items, step);
		probe(&t, items, step);
	}
	free(items);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_operations_keep_every_invariant),
	};

	for (int i = 1; i < argc; i++) {
		/* a number as traces write them; a bad one is a usage error */
		uint64_t v = 0;
		bool num = i + 1 < argc && trace_parse_u64(argv[i + 1], &v);

		if (!strcmp(argv[i], "--seed") && num)
			opt.seed = v, i++;
		else if (!strcmp(argv[i], "--count") && num && v && v <= SIZE_MAX)
			opt.count = (size_t)v, i++;
		else if (!strcmp(argv[i], "--keys") && num && v <= SIZE_MAX)
			opt.keys = (size_t)v, i++;
		else {
			fprintf(stderr, "usage: %s [--seed S] [--count N] [--keys K]\n",
				argv[0]);
			return 2;
		}
	}
	if (!opt.keys) {
		fprintf(stderr, "--keys must be positive\n");
		return 2;
	}
	printf("property-tree: seed 0x%" PRIx64 ", %zu operations, %zu keys\n",
	       opt.seed, opt.count, opt.keys);
	return cmocka_run_group_tests_name("property-tree", tests, NULL, NULL);
}
