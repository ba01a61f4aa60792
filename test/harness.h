/*
 * The test harness shared by the Check suites: a TAP main, a checked
 * fixture that gives each test a fresh runtime, a counting waker and an
 * allocator that fails on request.
 */
#ifndef EVFUT_TEST_HARNESS_H
#define EVFUT_TEST_HARNESS_H

#include <check.h>
#include <stdatomic.h>
#include <stdint.h>

#include "evfut.h"

/*
 * Runs @suite with TAP on stdout (and nothing else there) and returns the
 * process exit code: EXIT_SUCCESS when every test passed.
 */
int harness_main(Suite *suite);

/*
 * The runtime fixture, for tcase_add_checked_fixture(): setup counts the
 * open file descriptors and creates harness_rt with the default options;
 * teardown restores the C library's allocator, checks that the runtime has
 * as many live tasks as the test announced (none unless told), destroys it
 * and checks that the number of open descriptors is back where it was.
 */
extern struct evfut_runtime *harness_rt;
void harness_setup(void);
void harness_teardown(void);

/* Tells the teardown that @n tasks are expected alive (destroy cancels). */
void harness_expect_live(uint64_t n);

/* Replaces harness_rt by a new runtime created with @options. */
void harness_runtime_replace(const struct evfut_runtime_options *options);

/*
 * Hands harness_rt over to the test, which destroys it itself; the teardown
 * still checks the descriptors.
 */
struct evfut_runtime *harness_runtime_take(void);

/* The number of entries in /proc/self/fd. */
int harness_count_fds(void);

/* harness_rt's counters; fails the test if evfut_runtime_stats() does. */
struct evfut_stats harness_stats(struct evfut_runtime *rt);

/*
 * A counting waker: every waker made from one counter shares one static
 * const vtable, and the counter records each operation and the number of
 * references alive (made + clones - wakes - drops). Thread-safe.
 */
struct harness_counter {
	atomic_long clones;
	atomic_long wakes;
	atomic_long wake_by_refs;
	atomic_long drops;
	atomic_long live;
};

void harness_counter_init(struct harness_counter *c);
/* A new owned waker for @c: counts one live reference. */
struct evfut_waker harness_counter_waker(struct harness_counter *c);

/*
 * The failing allocator. harness_alloc_fail_at(k) installs, through
 * evfut_allocator_set(), an allocator backed by malloc/free whose k-th
 * allocation from now returns NULL (k = 0: none fails, it only counts).
 * Since it frees with free(), objects made before or after it was installed
 * may be freed by either allocator. The teardown restores the default.
 */
void harness_alloc_fail_at(unsigned long k);
/* Allocations attempted since harness_alloc_fail_at(). */
unsigned long harness_alloc_calls(void);
/* Successful allocations minus frees since harness_alloc_fail_at(). */
long harness_alloc_live(void);
/* evfut_allocator_set(NULL). */
void harness_alloc_restore(void);

/*
 * A quarantine allocator, to catch writes into freed memory without a
 * sanitizer: freed blocks are filled with a pattern and kept until
 * harness_alloc_quarantine_end(), which checks the pattern, really frees
 * them and restores the default allocator. Every evfut object made while it
 * is installed must be gone before the end (create the runtime after the
 * begin and destroy it before the end).
 *
 * @return (end) the number of freed blocks written to after their free.
 */
void harness_alloc_quarantine_begin(void);
long harness_alloc_quarantine_end(void);

#endif
