/* SPDX-License-Identifier: MIT */
/*
 * The fake GPU page table: one hash entry per mapped 4 KiB page, and the
 * functions tests use (through dlsym) to read it.
 *
 * Deliberately naive: no intervals, no split/merge logic, so it shares no
 * reasoning with libgpuva's tree and a disagreement between the two points
 * at a real bug. Open addressing with linear probing and backward-shift
 * deletion keeps it to one allocation per VM.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "shim-private.h"

#define PAGE_SHIFT 12

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static size_t
slot_of(const struct shim_pagemap *m, uint64_t key)
{
	return (size_t)mix(key) & (m->cap - 1);
}

static struct shim_slot *
map_find(const struct shim_pagemap *m, uint64_t page)
{
	if (!m->cap) {
		return NULL;
	}
	uint64_t key = page + 1;

	for (size_t i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i].key == key) {
			return &m->slots[i];
		}
		if (m->slots[i].key == 0) {
			return NULL;
		}
	}
}

static int map_put(struct shim_pagemap *m, uint64_t page, const struct gpuva_shim_page *v);

static int
map_grow(struct shim_pagemap *m)
{
	struct shim_pagemap bigger = { .cap = m->cap ? m->cap * 2 : 256 };

	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	if (!bigger.slots) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (m->slots[i].key) {
			map_put(&bigger, m->slots[i].key - 1, &m->slots[i].page);
		}
	}
	free(m->slots);
	*m = bigger;
	return 0;
}

static int
map_put(struct shim_pagemap *m, uint64_t page, const struct gpuva_shim_page *v)
{
	struct shim_slot *s = map_find(m, page);

	if (s) {
		s->page = *v;
		return 0;
	}
	if ((m->count + 1) * 2 > m->cap) {
		int ret = map_grow(m);

		if (ret) {
			return ret;
		}
	}
	uint64_t key = page + 1;
	size_t i = slot_of(m, key);

	while (m->slots[i].key) {
		i = (i + 1) & (m->cap - 1);
	}
	m->slots[i].key = key;
	m->slots[i].page = *v;
	m->count++;
	return 0;
}

static void
map_del(struct shim_pagemap *m, uint64_t page)
{
	struct shim_slot *s = map_find(m, page);

	if (!s) {
		return;
	}
	size_t hole = (size_t)(s - m->slots);

	/* Pull later members of the probe run back so lookups never stop early. */
	for (size_t i = (hole + 1) & (m->cap - 1); m->slots[i].key; i = (i + 1) & (m->cap - 1)) {
		size_t home = slot_of(m, m->slots[i].key);

		if (((i - home) & (m->cap - 1)) >= ((i - hole) & (m->cap - 1))) {
			m->slots[hole] = m->slots[i];
			hole = i;
		}
	}
	m->slots[hole].key = 0;
	m->count--;
}

struct shim_vm *
shim_vm_new(uint32_t id, uint64_t start, uint64_t end)
{
	struct shim_vm *vm = calloc(1, sizeof(*vm));

	if (vm) {
		vm->id = id;
		vm->start = start;
		vm->end = end;
	}
	return vm;
}

void
shim_vm_free(struct shim_vm *vm)
{
	if (vm) {
		shim_jobs_flush_vm(vm);
		free(vm->pages.slots);
		free(vm->regions);
		free(vm);
	}
}

int
shim_pages_map(struct shim_vm *vm, uint64_t addr, uint64_t size, const struct gpuva_shim_page *tmpl)
{
	struct gpuva_shim_page p = *tmpl;

	for (uint64_t off = 0; off < size; off += SHIM_PAGE_SIZE) {
		p.bo_offset = tmpl->kind == GPUVA_SHIM_PAGE_BO ? tmpl->bo_offset + off : 0;
		int ret = map_put(&vm->pages, (addr + off) >> PAGE_SHIFT, &p);

		if (ret) {
			return ret;
		}
	}
	return 0;
}

/* Calls @fn for every mapped page in the range, visiting whichever is smaller. */
static void
pages_in_range(struct shim_vm *vm, uint64_t addr, uint64_t size, void (*fn)(struct shim_vm *, uint64_t, void *),
	       void *priv)
{
	uint64_t first = addr >> PAGE_SHIFT;
	uint64_t n = size >> PAGE_SHIFT;

	if (n <= vm->pages.cap) {
		for (uint64_t p = first; p < first + n; p++) {
			if (map_find(&vm->pages, p)) {
				fn(vm, p, priv);
			}
		}
		return;
	}
	/* Huge range over a small map: collect first, since fn may delete. */
	uint64_t *keys = malloc((vm->pages.count + 1) * sizeof(*keys));
	size_t nkeys = 0;

	if (!keys) {
		return;
	}
	for (size_t i = 0; i < vm->pages.cap; i++) {
		uint64_t k = vm->pages.slots[i].key;

		if (k && k - 1 >= first && k - 1 - first < n) {
			keys[nkeys++] = k - 1;
		}
	}
	for (size_t i = 0; i < nkeys; i++) {
		fn(vm, keys[i], priv);
	}
	free(keys);
}

static void
unmap_one(struct shim_vm *vm, uint64_t page, void *priv)
{
	(void)priv;
	map_del(&vm->pages, page);
}

void
shim_pages_unmap(struct shim_vm *vm, uint64_t addr, uint64_t size)
{
	pages_in_range(vm, addr, size, unmap_one, NULL);
}

static void
count_one(struct shim_vm *vm, uint64_t page, void *priv)
{
	(void)vm;
	(void)page;
	(*(uint64_t *)priv)++;
}

bool
shim_pages_any(const struct shim_vm *vm, uint64_t addr, uint64_t size)
{
	uint64_t n = 0;

	pages_in_range((struct shim_vm *)vm, addr, size, count_one, &n);
	return n != 0;
}

/* ---- the test API ---- */

static struct shim_vm *
api_vm(int fd, uint32_t vm_id, int *err)
{
	struct shim_file *file = shim_file_from_fd(fd);

	if (!file) {
		*err = -EBADF;
		return NULL;
	}
	struct shim_vm *vm = shim_file_vm(file, vm_id);

	*err = vm ? 0 : -ENOENT;
	return vm;
}

static const struct shim_region *
region_at(const struct shim_vm *vm, uint64_t addr)
{
	for (size_t i = 0; i < vm->nregions; i++) {
		if (addr >= vm->regions[i].addr && addr - vm->regions[i].addr < vm->regions[i].range) {
			return &vm->regions[i];
		}
	}
	return NULL;
}

SHIM_EXPORT int
gpuva_shim_lookup(int fd, uint32_t vm_id, uint64_t addr, struct gpuva_shim_page *page)
{
	int err;

	pthread_mutex_lock(&shim_lock);
	struct shim_vm *vm = api_vm(fd, vm_id, &err);

	if (vm) {
		struct shim_slot *s = map_find(&vm->pages, addr >> PAGE_SHIFT);

		memset(page, 0, sizeof(*page));
		if (s) {
			*page = s->page;
		} else if (region_at(vm, addr)) {
			page->kind = GPUVA_SHIM_PAGE_SPARSE;
		}
	}
	pthread_mutex_unlock(&shim_lock);
	return err;
}

SHIM_EXPORT int64_t
gpuva_shim_page_count(int fd, uint32_t vm_id)
{
	int err;
	int64_t n;

	pthread_mutex_lock(&shim_lock);
	struct shim_vm *vm = api_vm(fd, vm_id, &err);

	if (!vm) {
		n = err;
	} else {
		n = (int64_t)vm->pages.count;
		/* region pages without a mapping count as sparse pages */
		for (size_t i = 0; i < vm->pages.cap; i++) {
			if (vm->pages.slots[i].key && region_at(vm, (vm->pages.slots[i].key - 1) << PAGE_SHIFT)) {
				n--;
			}
		}
		for (size_t i = 0; i < vm->nregions; i++) {
			n += (int64_t)(vm->regions[i].range >> PAGE_SHIFT);
		}
	}
	pthread_mutex_unlock(&shim_lock);
	return n;
}

SHIM_EXPORT uint64_t
gpuva_shim_digest(int fd, uint32_t vm_id)
{
	int err;
	uint64_t h = 0;

	pthread_mutex_lock(&shim_lock);
	struct shim_vm *vm = api_vm(fd, vm_id, &err);

	if (vm) {
		h = mix(vm->pages.count + 0x9e3779b97f4a7c15ull);
		for (size_t i = 0; i < vm->pages.cap; i++) {
			const struct shim_slot *s = &vm->pages.slots[i];

			if (s->key) {
				h += mix(s->key ^ mix(s->page.kind ^ ((uint64_t)s->page.handle << 8) ^
						      mix(s->page.bo_offset ^ ((uint64_t)s->page.flags << 40))));
			}
		}
		for (size_t i = 0; i < vm->nregions; i++) {
			h += mix(mix(vm->regions[i].addr) ^ vm->regions[i].range ^ 0x5bd1e995ull);
		}
	}
	pthread_mutex_unlock(&shim_lock);
	return h;
}

static int
cmp_slot(const void *a, const void *b)
{
	const struct shim_slot *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

static void
dump_run(FILE *out, const struct shim_slot *first, uint64_t pages)
{
	fprintf(out, "0x%" PRIx64 " 0x%" PRIx64, (first->key - 1) << PAGE_SHIFT, pages << PAGE_SHIFT);
	if (first->page.kind == GPUVA_SHIM_PAGE_BO) {
		fprintf(out, " bo %" PRIu32 " 0x%" PRIx64, first->page.handle, first->page.bo_offset);
	} else {
		fprintf(out, " null");
	}
	fprintf(out, " flags 0x%" PRIx32 "\n", first->page.flags);
}

SHIM_EXPORT int
gpuva_shim_dump(int fd, uint32_t vm_id, FILE *out)
{
	int err;

	pthread_mutex_lock(&shim_lock);
	struct shim_vm *vm = api_vm(fd, vm_id, &err);
	struct shim_slot *sorted = NULL;
	size_t n = 0;

	if (vm && vm->pages.count) {
		sorted = malloc(vm->pages.count * sizeof(*sorted));
		if (!sorted) {
			err = -ENOMEM;
			vm = NULL;
		}
	}
	if (vm) {
		for (size_t i = 0; i < vm->pages.cap; i++) {
			if (vm->pages.slots[i].key) {
				sorted[n++] = vm->pages.slots[i];
			}
		}
		if (n)	/* no pages: no array to sort */
			qsort(sorted, n, sizeof(*sorted), cmp_slot);
		for (size_t i = 0; i < n;) {
			size_t j = i + 1;

			while (j < n && sorted[j].key == sorted[j - 1].key + 1 &&
			       sorted[j].page.kind == sorted[i].page.kind &&
			       sorted[j].page.handle == sorted[i].page.handle &&
			       sorted[j].page.flags == sorted[i].page.flags &&
			       sorted[j].page.bo_offset == sorted[j - 1].page.bo_offset +
				       (sorted[i].page.kind == GPUVA_SHIM_PAGE_BO ? SHIM_PAGE_SIZE : 0)) {
				j++;
			}
			dump_run(out, &sorted[i], j - i);
			i = j;
		}
		for (size_t i = 0; i < vm->nregions; i++) {
			fprintf(out, "0x%" PRIx64 " 0x%" PRIx64 " sparse region\n", vm->regions[i].addr,
				vm->regions[i].range);
		}
	}
	free(sorted);
	pthread_mutex_unlock(&shim_lock);
	return err;
}

SHIM_EXPORT int
gpuva_shim_hold(int fd, bool hold)
{
	pthread_mutex_lock(&shim_lock);
	struct shim_file *file = shim_file_from_fd(fd);

	if (file) {
		file->hold = hold;
		if (!hold) {
			shim_jobs_run();
		}
	}
	pthread_mutex_unlock(&shim_lock);
	return file ? 0 : -EBADF;
}
