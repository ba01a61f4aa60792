/*
 * The test harness; see harness.h.
 */
#include <dirent.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"

struct evfut_runtime *harness_rt;

static int fds_at_setup;
static uint64_t expected_live;

int
harness_main(Suite *suite)
{
	SRunner *sr = srunner_create(suite);
	int failed;

	/* CK_SILENT: the TAP stream is all that goes to stdout. */
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int
harness_count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *entry;
	int n = 0;

	ck_assert_msg(dir != NULL, "cannot open /proc/self/fd");
	while ((entry = readdir(dir)) != NULL) {
		if (entry->d_name[0] != '.')
			n++;
	}
	closedir(dir);
	/* The directory's own descriptor is not the test's. */
	return n - 1;
}

struct evfut_stats
harness_stats(struct evfut_runtime *rt)
{
	struct evfut_stats stats;

	ck_assert_int_eq(evfut_runtime_stats(rt, &stats), 0);
	return stats;
}

void
harness_setup(void)
{
	expected_live = 0;
	fds_at_setup = harness_count_fds();
	harness_rt = NULL;
	ck_assert_int_eq(evfut_runtime_create(&harness_rt, NULL), 0);
	ck_assert_ptr_nonnull(harness_rt);
}

void
harness_teardown(void)
{
	struct evfut_runtime *rt = harness_rt;

	harness_alloc_restore();
	harness_rt = NULL;
	if (rt != NULL) {
		struct evfut_stats stats = harness_stats(rt);

		evfut_runtime_destroy(rt);
		ck_assert_msg(stats.tasks_live == expected_live,
		              "%llu tasks alive at teardown, %llu expected",
		              (unsigned long long)stats.tasks_live,
		              (unsigned long long)expected_live);
	}
	ck_assert_int_eq(harness_count_fds(), fds_at_setup);
}

void
harness_expect_live(uint64_t n)
{
	expected_live = n;
}

void
harness_runtime_replace(const struct evfut_runtime_options *options)
{
	evfut_runtime_destroy(harness_rt);
	harness_rt = NULL;
	ck_assert_int_eq(evfut_runtime_create(&harness_rt, options), 0);
}

struct evfut_runtime *
harness_runtime_take(void)
{
	struct evfut_runtime *rt = harness_rt;

	harness_rt = NULL;
	return rt;
}

/* The counting waker. */

static struct evfut_waker counter_clone(const void *data);
static void counter_wake(const void *data);
static void counter_wake_by_ref(const void *data);
static void counter_drop(const void *data);

static const struct evfut_waker_vtable counter_vtable = {
        counter_clone,
        counter_wake,
        counter_wake_by_ref,
        counter_drop,
};

static struct harness_counter *
counter_of(const void *data)
{
	return (struct harness_counter *)data;
}

static struct evfut_waker
counter_clone(const void *data)
{
	struct evfut_waker waker = {data, &counter_vtable};

	atomic_fetch_add(&counter_of(data)->clones, 1);
	atomic_fetch_add(&counter_of(data)->live, 1);
	return waker;
}

static void
counter_wake(const void *data)
{
	atomic_fetch_add(&counter_of(data)->wakes, 1);
	atomic_fetch_sub(&counter_of(data)->live, 1);
}

static void
counter_wake_by_ref(const void *data)
{
	atomic_fetch_add(&counter_of(data)->wake_by_refs, 1);
}

static void
counter_drop(const void *data)
{
	atomic_fetch_add(&counter_of(data)->drops, 1);
	atomic_fetch_sub(&counter_of(data)->live, 1);
}

void
harness_counter_init(struct harness_counter *c)
{
	atomic_init(&c->clones, 0);
	atomic_init(&c->wakes, 0);
	atomic_init(&c->wake_by_refs, 0);
	atomic_init(&c->drops, 0);
	atomic_init(&c->live, 0);
}

struct evfut_waker
harness_counter_waker(struct harness_counter *c)
{
	struct evfut_waker waker = {c, &counter_vtable};

	atomic_fetch_add(&c->live, 1);
	return waker;
}

/* The failing allocator. */

static atomic_ulong alloc_calls;
static atomic_ulong alloc_fail_at;
static atomic_long alloc_live;

/* Counts one allocation; false if it is the one that must fail. */
static int
alloc_allowed(void)
{
	unsigned long k = atomic_fetch_add(&alloc_calls, 1) + 1;

	return k != atomic_load(&alloc_fail_at);
}

static void *
failing_malloc(size_t size)
{
	void *ptr;

	if (!alloc_allowed())
		return NULL;
	ptr = malloc(size);
	if (ptr != NULL)
		atomic_fetch_add(&alloc_live, 1);
	return ptr;
}

static void *
failing_realloc(void *ptr, size_t size)
{
	void *moved;

	if (!alloc_allowed())
		return NULL;
	moved = realloc(ptr, size);
	if (ptr == NULL && moved != NULL)
		atomic_fetch_add(&alloc_live, 1);
	return moved;
}

static void
failing_free(void *ptr)
{
	if (ptr != NULL)
		atomic_fetch_sub(&alloc_live, 1);
	free(ptr);
}

void
harness_alloc_fail_at(unsigned long k)
{
	static const struct evfut_allocator failing = {
	        failing_malloc,
	        failing_realloc,
	        failing_free,
	};

	atomic_store(&alloc_calls, 0);
	atomic_store(&alloc_live, 0);
	atomic_store(&alloc_fail_at, k);
	ck_assert_int_eq(evfut_allocator_set(&failing), 0);
}

unsigned long
harness_alloc_calls(void)
{
	return atomic_load(&alloc_calls);
}

long
harness_alloc_live(void)
{
	return atomic_load(&alloc_live);
}

void
harness_alloc_restore(void)
{
	ck_assert_int_eq(evfut_allocator_set(NULL), 0);
}

/* The quarantine allocator. */

#define POISON 0xa5

/* Placed before each block; a union keeps the block max-aligned. */
union block_header {
	struct {
		size_t size;
		union block_header *next_freed;
	} h;
	max_align_t align;
};

static pthread_mutex_t quarantine_lock = PTHREAD_MUTEX_INITIALIZER;
static union block_header *quarantine;

static void *
quarantine_malloc(size_t size)
{
	union block_header *b;

	if (size > SIZE_MAX - sizeof(*b))
		return NULL;
	b = malloc(sizeof(*b) + size);
	if (b == NULL)
		return NULL;
	b->h.size = size;
	b->h.next_freed = NULL;
	return b + 1;
}

static void
quarantine_free(void *ptr)
{
	union block_header *b;

	if (ptr == NULL)
		return;
	b = (union block_header *)ptr - 1;
	memset(ptr, POISON, b->h.size);
	pthread_mutex_lock(&quarantine_lock);
	b->h.next_freed = quarantine;
	quarantine = b;
	pthread_mutex_unlock(&quarantine_lock);
}

static void *
quarantine_realloc(void *ptr, size_t size)
{
	union block_header *old;
	void *moved;

	if (ptr == NULL)
		return quarantine_malloc(size);
	old = (union block_header *)ptr - 1;
	moved = quarantine_malloc(size);
	if (moved == NULL)
		return NULL;
	memcpy(moved, ptr, old->h.size < size ? old->h.size : size);
	quarantine_free(ptr);
	return moved;
}

void
harness_alloc_quarantine_begin(void)
{
	static const struct evfut_allocator q = {
	        quarantine_malloc,
	        quarantine_realloc,
	        quarantine_free,
	};

	ck_assert_int_eq(evfut_allocator_set(&q), 0);
}

long
harness_alloc_quarantine_end(void)
{
	union block_header *b, *next;
	long dirty = 0;
	size_t i;

	harness_alloc_restore();
	pthread_mutex_lock(&quarantine_lock);
	b = quarantine;
	quarantine = NULL;
	pthread_mutex_unlock(&quarantine_lock);
	for (; b != NULL; b = next) {
		const unsigned char *bytes = (const unsigned char *)(b + 1);

		next = b->h.next_freed;
		for (i = 0; i < b->h.size; i++) {
			if (bytes[i] != POISON) {
				dirty++;
				break;
			}
		}
		free(b);
	}
	return dirty;
}
