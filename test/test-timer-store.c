/*
 * Tests of the timer store (timers/store.h), run against both designs, the
 * heap and the wheel, in one executable: every test is a loop test whose
 * index picks the design.
 *
 * Built by meson (see test/timer-store.meson.snippet), or by hand from the
 * repository root:
 *
 *   cc -std=c11 -Wall -Wextra -O2 -Iinclude -o /tmp/test-timer-store \
 *       test/test-timer-store.c timers/store-heap.c timers/store-wheel.c \
 *       runtime/alloc.c $(pkg-config --cflags --libs check)
 *   /tmp/test-timer-store     # TAP on stdout; exit status 0 if all pass
 *
 * and with sanitizers (CK_FORK=no keeps one process per run for ASan):
 *
 *   clang -std=c11 -g -O1 -fsanitize=address,undefined \
 *       -fno-sanitize-recover=all -Iinclude -o /tmp/test-timer-store-san \
 *       test/test-timer-store.c timers/store-heap.c timers/store-wheel.c \
 *       runtime/alloc.c $(pkg-config --cflags --libs check)
 *   CK_FORK=no /tmp/test-timer-store-san
 *
 * TIMER_STORE_SCALE_N=10000000 makes the "scale" case hold ten million
 * timers instead of one million.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evfut/alloc.h"

#include "../timers/store.h"

#define MS   UINT64_C(1000000)
#define SEC  (1000 * MS)
#define DAY  (86400 * SEC)
#define YEAR (365 * DAY)

/* A plausible CLOCK_MONOTONIC reading, so that high digits are not zero. */
#define BOOT (UINT64_C(123456) * SEC + 789)

/*
 * One table of calls per design. Wrappers rather than casts of the
 * functions themselves, because calling through a pointer of another type is
 * undefined.
 */
struct design {
	const char *name;
	int (*init)(void *s, uint64_t now);
	void (*finish)(void *s);
	int (*insert)(void *s, struct evfut_timer_node *n, uint64_t deadline);
	void (*remove)(void *s, struct evfut_timer_node *n);
	int (*armed)(const struct evfut_timer_node *n);
	uint64_t (*next_deadline)(void *s);
	struct evfut_timer_node *(*pop)(void *s, uint64_t now);
	size_t (*count)(const void *s);
};

#define DESIGN(d)                                                              \
	static int d##_init(void *s, uint64_t now)                             \
	{                                                                      \
		return evfut__timer_##d##_init(s, now);                        \
	}                                                                      \
	static void d##_finish(void *s)                                        \
	{                                                                      \
		evfut__timer_##d##_finish(s);                                  \
	}                                                                      \
	static int d##_insert(void *s, struct evfut_timer_node *n,             \
	                      uint64_t deadline)                               \
	{                                                                      \
		return evfut__timer_##d##_insert(s, n, deadline);              \
	}                                                                      \
	static void d##_remove(void *s, struct evfut_timer_node *n)            \
	{                                                                      \
		evfut__timer_##d##_remove(s, n);                               \
	}                                                                      \
	static uint64_t d##_next_deadline(void *s)                             \
	{                                                                      \
		return evfut__timer_##d##_next_deadline(s);                    \
	}                                                                      \
	static struct evfut_timer_node *d##_pop(void *s, uint64_t now)         \
	{                                                                      \
		return evfut__timer_##d##_pop(s, now);                         \
	}                                                                      \
	static size_t d##_count(const void *s)                                 \
	{                                                                      \
		return evfut__timer_##d##_count(s);                            \
	}

DESIGN(heap)
DESIGN(wheel)

static const struct design designs[] = {
        {"heap", heap_init, heap_finish, heap_insert, heap_remove,
         evfut__timer_heap_armed, heap_next_deadline, heap_pop, heap_count},
        {"wheel", wheel_init, wheel_finish, wheel_insert, wheel_remove,
         evfut__timer_wheel_armed, wheel_next_deadline, wheel_pop, wheel_count},
};

/* The store under test; large enough for either design. */
static union {
	struct evfut__timer_heap heap;
	struct evfut__timer_wheel wheel;
} store;
static const struct design *d;

static void
start(int i, uint64_t now)
{
	d = &designs[i];
	memset(&store, 0, sizeof(store));
	ck_assert_int_eq(d->init(&store, now), 0);
	ck_assert_uint_eq(d->count(&store), 0);
	ck_assert_uint_eq(d->next_deadline(&store), UINT64_MAX);
}

static void
stop(void)
{
	d->finish(&store);
}

static void
arm(struct evfut_timer_node *n, uint64_t deadline)
{
	size_t before = d->count(&store);

	ck_assert_int_eq(d->insert(&store, n, deadline), 0);
	ck_assert(d->armed(n));
	ck_assert_uint_eq(n->deadline, deadline);
	ck_assert_uint_eq(d->count(&store), before + 1);
}

static void
cancel(struct evfut_timer_node *n)
{
	size_t before = d->count(&store);

	d->remove(&store, n);
	ck_assert(!d->armed(n));
	ck_assert_uint_eq(d->count(&store), before - 1);
}

/*
 * How many lower bounds next_deadline may give before the exact deadline,
 * when each is followed by a pop at it: none for the heap, one a level
 * below the top for the wheel (see next_deadline in timers/store.h).
 */
static int
max_rounds(void)
{
	return strcmp(d->name, "heap") == 0 ? 0 : EVFUT__TIMER_WHEEL_LEVELS - 1;
}

/*
 * Follows next_deadline to @want, the earliest armed deadline, as the
 * driver does: every answer is @want or a lower bound of it; popping at a
 * lower bound pops nothing, the next answer is strictly later, and @want
 * comes within max_rounds() answers. Returns the number of lower bounds.
 */
static int
expect_next(uint64_t want)
{
	uint64_t v = d->next_deadline(&store), next;
	int rounds = 0;

	while (v != want) {
		ck_assert_uint_lt(v, want);
		ck_assert_int_lt(rounds, max_rounds());
		rounds++;
		ck_assert_ptr_null(d->pop(&store, v));
		next = d->next_deadline(&store);
		ck_assert_uint_gt(next, v);
		v = next;
	}
	return rounds;
}

/*
 * Pops the earliest node by the driver's loop alone, without knowing its
 * deadline: ask for the next deadline, pop at it, and ask again if nothing
 * was due. A node popped at an answer has exactly that deadline, since the
 * answer is no later than the earliest deadline; and nothing pops one ns
 * before it.
 */
static struct evfut_timer_node *
pop_following_next(void)
{
	uint64_t v = d->next_deadline(&store), next;
	struct evfut_timer_node *n;
	int rounds = 0;

	ck_assert_uint_lt(v, UINT64_MAX);
	for (;;) {
		if (v > 0)
			ck_assert_ptr_null(d->pop(&store, v - 1));
		n = d->pop(&store, v);
		if (n != NULL)
			break;
		ck_assert_int_lt(rounds, max_rounds());
		rounds++;
		next = d->next_deadline(&store);
		ck_assert_uint_gt(next, v);
		v = next;
	}
	ck_assert_uint_eq(n->deadline, v);
	ck_assert(!d->armed(n));
	return n;
}

/* Pops @n at @now, after checking that it does not pop one ns earlier. */
static void
expect_pop(struct evfut_timer_node *n)
{
	struct evfut_timer_node *got;

	expect_next(n->deadline);
	if (n->deadline > 0)
		ck_assert_ptr_null(d->pop(&store, n->deadline - 1));
	got = d->pop(&store, n->deadline);
	ck_assert_ptr_eq(got, n);
	ck_assert(!d->armed(n));
}

static uint64_t
xorshift64(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* ---- order ---- */

START_TEST(test_timer_store_pops_in_deadline_order)
{
	static const uint64_t offsets[] = {
	        500, 3, 70000, 1, 64, 63, 4096, SEC, 65, 0, 2 * SEC, 262144};
	enum { N = sizeof(offsets) / sizeof(offsets[0]) };
	struct evfut_timer_node nodes[N] = {0};
	uint64_t last = 0;

	start(_i, BOOT);
	for (int k = 0; k < N; k++)
		arm(&nodes[k], BOOT + offsets[k]);
	ck_assert_ptr_null(d->pop(&store, BOOT - 1));
	for (int k = 0; k < N; k++) {
		struct evfut_timer_node *n = pop_following_next();

		ck_assert_uint_ge(n->deadline, last);
		last = n->deadline;
	}
	ck_assert_ptr_null(d->pop(&store, UINT64_MAX));
	expect_next(UINT64_MAX);
	stop();
}
END_TEST

START_TEST(test_timer_store_empty_store_pops_nothing)
{
	start(_i, BOOT);
	ck_assert_ptr_null(d->pop(&store, 0));
	ck_assert_ptr_null(d->pop(&store, UINT64_MAX));
	expect_next(UINT64_MAX);
	stop();
}
END_TEST

START_TEST(test_timer_store_past_deadlines_pop_first)
{
	struct evfut_timer_node a = {0}, b = {0}, c = {0}, e = {0}, f = {0};

	start(_i, BOOT);
	arm(&a, BOOT + 10 * SEC);
	arm(&b, BOOT + 20 * SEC);
	/* Let the store run its cursors up to the head. */
	expect_next(BOOT + 10 * SEC);
	expect_pop(&a);
	/* Now armed behind the last fired deadline and the store's "now". */
	arm(&c, BOOT + 5 * SEC);
	expect_next(BOOT + 5 * SEC);
	arm(&e, 0);
	expect_next(0);
	arm(&f, BOOT + 5 * SEC - 1);
	expect_next(0);
	expect_pop(&e);
	expect_pop(&f);
	expect_pop(&c);
	expect_pop(&b);
	stop();
}
END_TEST

START_TEST(test_timer_store_many_past_deadlines_keep_order_and_cancel)
{
	struct evfut_timer_node a = {0}, b = {0}, p[6] = {{0}};
	const uint64_t now = BOOT + 10 * SEC;

	start(_i, BOOT);
	arm(&a, now - 1);
	arm(&b, now + SEC);
	ck_assert_ptr_eq(d->pop(&store, now), &a);
	/* All behind the last pop's now, armed out of order, with ties. */
	arm(&p[0], BOOT + 5 * SEC);
	arm(&p[1], BOOT + 3 * SEC);
	arm(&p[2], BOOT + 5 * SEC);
	arm(&p[3], now - 1);
	arm(&p[4], BOOT + 3 * SEC);
	arm(&p[5], 0);
	cancel(&p[5]);
	cancel(&p[1]);
	expect_next(BOOT + 3 * SEC);
	cancel(&p[3]);
	expect_pop(&p[4]);
	expect_pop(&p[0]);
	ck_assert_ptr_eq(d->pop(&store, now), &p[2]);
	/* The last past node leaves by cancel; the store still works. */
	arm(&p[3], now - 1);
	cancel(&p[3]);
	ck_assert_ptr_null(d->pop(&store, now));
	expect_next(now + SEC);
	arm(&p[3], now - 2);
	expect_pop(&p[3]);
	expect_pop(&b);
	ck_assert_uint_eq(d->count(&store), 0);
	stop();
}
END_TEST

START_TEST(test_timer_store_next_deadline_reaches_exact_after_each_call)
{
	struct evfut_timer_node n[6] = {0};

	start(_i, BOOT);
	arm(&n[0], BOOT + 3 * SEC + 7);
	expect_next(BOOT + 3 * SEC + 7);
	arm(&n[1], BOOT + 3 * SEC + 5);
	expect_next(BOOT + 3 * SEC + 5);
	arm(&n[2], BOOT + 100 * SEC);
	expect_next(BOOT + 3 * SEC + 5);
	arm(&n[3], BOOT + 1);
	expect_next(BOOT + 1);
	cancel(&n[3]);
	expect_next(BOOT + 3 * SEC + 5);
	ck_assert_ptr_null(d->pop(&store, BOOT + 3 * SEC + 4));
	ck_assert_ptr_eq(d->pop(&store, BOOT + 3 * SEC + 6), &n[1]);
	expect_next(BOOT + 3 * SEC + 7);
	arm(&n[4], BOOT + 3 * SEC + 6);
	expect_next(BOOT + 3 * SEC + 6);
	arm(&n[5], BOOT + 3 * SEC + 6);
	ck_assert_ptr_eq(d->pop(&store, BOOT + 3 * SEC + 6), &n[4]);
	expect_next(BOOT + 3 * SEC + 6);
	ck_assert_ptr_eq(d->pop(&store, BOOT + 3 * SEC + 6), &n[5]);
	expect_next(BOOT + 3 * SEC + 7);
	ck_assert_ptr_null(d->pop(&store, BOOT + 3 * SEC + 6));
	cancel(&n[0]);
	expect_next(BOOT + 100 * SEC);
	cancel(&n[2]);
	expect_next(UINT64_MAX);
	stop();
}
END_TEST

/* ---- next ---- */

/*
 * A thousand timers in one coarse slot of a wheel (ms apart, ties every
 * 7th), so that its next_deadline must give lower bounds: followed as the
 * driver follows them, they still lead to every deadline in order.
 */
START_TEST(test_timer_store_lower_bounds_converge_to_each_deadline)
{
	enum { N = 1000 };
	static struct evfut_timer_node nodes[N];
	uint64_t x = 42, last = 0;
	ptrdiff_t last_k = -1;
	int rounds = 0;

	memset(nodes, 0, sizeof(nodes));
	start(_i, BOOT);
	for (int k = 0; k < N; k++) {
		uint64_t ms = k % 7 == 0 ? 3 : xorshift64(&x) % 900;

		arm(&nodes[k], BOOT + 10 * SEC + ms * MS + ms % 3);
	}
	for (int k = 0; k < N; k++) {
		uint64_t want = UINT64_MAX;
		struct evfut_timer_node *n;

		for (int j = 0; j < N; j++) {
			if (d->armed(&nodes[j]) && nodes[j].deadline < want)
				want = nodes[j].deadline;
		}
		rounds += expect_next(want);
		n = pop_following_next();
		ck_assert_uint_eq(n->deadline, want);
		/* Nodes were armed in index order: ties pop in that order. */
		if (k > 0 && n->deadline == last)
			ck_assert_int_gt(n - nodes, last_k);
		last = n->deadline;
		last_k = n - nodes;
	}
	expect_next(UINT64_MAX);
	/* The wheel did take the lower-bound path; the heap never does. */
	if (max_rounds() == 0)
		ck_assert_int_eq(rounds, 0);
	else
		ck_assert_int_gt(rounds, 0);
	stop();
}
END_TEST

/*
 * After pop(t) found nothing due, the next answer is later than t, so a
 * timerfd armed at it cannot spin.
 */
START_TEST(test_timer_store_after_empty_pop_next_is_later)
{
	enum { N = 500 };
	static struct evfut_timer_node nodes[N];
	uint64_t x = 7, now = BOOT;

	memset(nodes, 0, sizeof(nodes));
	start(_i, BOOT);
	for (int k = 0; k < N; k++)
		arm(&nodes[k], BOOT + 1 + xorshift64(&x) % (5 * SEC));
	while (d->count(&store) > 0) {
		uint64_t v;

		while (d->pop(&store, now) != NULL)
			;
		v = d->next_deadline(&store);
		ck_assert_uint_gt(v, now);
		/* A timerfd fires at v, or a little late. */
		now = v + xorshift64(&x) % 3 * (xorshift64(&x) % 5000);
	}
	stop();
}
END_TEST

/* ---- fifo ---- */

START_TEST(test_timer_store_equal_deadlines_pop_in_arm_order)
{
	enum { N = 300 };
	static struct evfut_timer_node nodes[N];
	static const uint64_t groups[] = {BOOT + SEC, BOOT + 5, BOOT + SEC + 1};

	memset(nodes, 0, sizeof(nodes));
	start(_i, BOOT);
	for (int k = 0; k < N; k++)
		arm(&nodes[k], groups[k % 3]);
	/* Each group pops whole, in the order its nodes were armed. */
	for (int g = 0; g < 3; g++) {
		int group = g == 0 ? 1 : g == 1 ? 0 : 2;

		for (int k = group; k < N; k += 3)
			ck_assert_ptr_eq(d->pop(&store, UINT64_MAX), &nodes[k]);
	}
	ck_assert_uint_eq(d->count(&store), 0);
	stop();
}
END_TEST

START_TEST(test_timer_store_fifo_holds_across_cursor_moves)
{
	struct evfut_timer_node a = {0}, b = {0}, c = {0}, e = {0}, f = {0};
	struct evfut_timer_node g = {0};
	const uint64_t t = BOOT + 90 * SEC + 12345;

	start(_i, BOOT);
	/* a is armed far from t; b once the cursor has run up near t. */
	arm(&a, t);
	arm(&g, t - 1000);
	expect_next(t - 1000);
	arm(&b, t);
	expect_pop(&g);
	expect_next(t);
	/* c is armed after the cursor sits on t itself. */
	arm(&c, t);
	/* e, armed earlier than the cursor, rewinds a wheel; f ties with t. */
	arm(&e, BOOT);
	arm(&f, t);
	expect_pop(&e);
	ck_assert_ptr_eq(d->pop(&store, t), &a);
	ck_assert_ptr_eq(d->pop(&store, t), &b);
	ck_assert_ptr_eq(d->pop(&store, t), &c);
	ck_assert_ptr_eq(d->pop(&store, t), &f);
	ck_assert_ptr_null(d->pop(&store, UINT64_MAX));
	stop();
}
END_TEST

/* ---- cancel ---- */

START_TEST(test_timer_store_zero_node_is_not_armed)
{
	struct evfut_timer_node n;

	memset(&n, 0, sizeof(n));
	ck_assert(!designs[_i].armed(&n));
}
END_TEST

START_TEST(test_timer_store_cancelled_timer_never_pops)
{
	struct evfut_timer_node n[4] = {0};

	start(_i, BOOT);
	for (int k = 0; k < 4; k++)
		arm(&n[k], BOOT + (uint64_t)(k + 1) * MS);
	cancel(&n[2]);
	expect_pop(&n[0]);
	expect_pop(&n[1]);
	expect_pop(&n[3]);
	ck_assert_ptr_null(d->pop(&store, UINT64_MAX));
	stop();
}
END_TEST

START_TEST(test_timer_store_cancel_head_moves_next_deadline)
{
	struct evfut_timer_node n[3] = {0};

	start(_i, BOOT);
	arm(&n[0], BOOT + 2 * SEC);
	arm(&n[1], BOOT + SEC);
	arm(&n[2], BOOT + SEC);
	expect_next(BOOT + SEC);
	cancel(&n[1]);
	expect_next(BOOT + SEC);
	cancel(&n[2]);
	expect_next(BOOT + 2 * SEC);
	cancel(&n[0]);
	expect_next(UINT64_MAX);
	ck_assert_ptr_null(d->pop(&store, UINT64_MAX));
	stop();
}
END_TEST

START_TEST(test_timer_store_reset_earlier_and_later)
{
	struct evfut_timer_node a = {0}, b = {0}, c = {0};

	start(_i, BOOT);
	arm(&a, BOOT + 5 * SEC);
	arm(&b, BOOT + 10 * SEC);
	arm(&c, BOOT + 10 * SEC);
	/* Reset later: a now ties with b and c, and was armed last. */
	cancel(&a);
	arm(&a, BOOT + 10 * SEC);
	expect_next(BOOT + 10 * SEC);
	/* Reset c earlier than everything. */
	cancel(&c);
	arm(&c, BOOT + SEC);
	expect_next(BOOT + SEC);
	expect_pop(&c);
	/* b before a: the reset put a behind the ties armed before it. */
	expect_pop(&b);
	expect_pop(&a);
	/* A popped node can be armed again. */
	arm(&b, BOOT + 11 * SEC);
	expect_pop(&b);
	stop();
}
END_TEST

/* ---- far ---- */

START_TEST(test_timer_store_days_and_years_ahead)
{
	static const uint64_t ahead[] = {12 * DAY,
	                                 12 * DAY + 1,
	                                 13 * DAY,
	                                 25 * DAY,
	                                 50 * DAY,
	                                 YEAR,
	                                 10 * YEAR,
	                                 100 * YEAR,
	                                 SEC,
	                                 1,
	                                 49 * DAY + 17 * 3600 * SEC,
	                                 3 * 366 * DAY};
	enum { N = sizeof(ahead) / sizeof(ahead[0]) };
	struct evfut_timer_node nodes[N] = {0}, never = {0}, soon = {0};
	uint64_t now = BOOT, step = 3600 * SEC, last = 0;
	int popped = 0;

	start(_i, BOOT);
	for (int k = 0; k < N; k++)
		arm(&nodes[k], BOOT + ahead[k]);
	arm(&never, UINT64_MAX);
	/*
	 * Walk a virtual clock through 200 years in steps of an hour (then of
	 * a day): every timer pops once its deadline is reached, never before
	 * and in order, which a wrapping wheel gets wrong.
	 */
	while (now < BOOT + 200 * YEAR) {
		struct evfut_timer_node *n;

		while ((n = d->pop(&store, now)) != NULL) {
			ck_assert_uint_le(n->deadline, now);
			ck_assert_uint_gt(n->deadline, now - step);
			ck_assert_uint_ge(n->deadline, last);
			last = n->deadline;
			popped++;
		}
		ck_assert_uint_gt(d->next_deadline(&store), now);
		if (now == BOOT + 20 * DAY) {
			/* A short timer armed late still beats the far ones. */
			arm(&soon, now + SEC);
			expect_next(now + SEC);
		}
		if (now > BOOT + 60 * DAY)
			step = DAY;
		now += step;
	}
	ck_assert_int_eq(popped, N + 1);
	ck_assert_uint_eq(d->count(&store), 1);
	expect_next(UINT64_MAX);
	ck_assert_ptr_null(d->pop(&store, UINT64_MAX - 1));
	ck_assert_ptr_eq(d->pop(&store, UINT64_MAX), &never);
	stop();
}
END_TEST

START_TEST(test_timer_store_near_the_end_of_time)
{
	struct evfut_timer_node n[5] = {0};
	const uint64_t top = UINT64_MAX;

	start(_i, top - 100);
	arm(&n[0], top);
	arm(&n[1], top - 1);
	arm(&n[2], top);
	arm(&n[3], UINT64_C(1) << 63);
	arm(&n[4], top - 64);
	expect_pop(&n[3]);
	expect_pop(&n[4]);
	expect_pop(&n[1]);
	ck_assert_ptr_eq(d->pop(&store, top), &n[0]);
	ck_assert_ptr_eq(d->pop(&store, top), &n[2]);
	ck_assert_ptr_null(d->pop(&store, top));
	stop();
}
END_TEST

/* ---- errors ---- */

static int fail_allocations;

static void *
test_malloc(size_t size)
{
	return fail_allocations ? NULL : malloc(size);
}

static void *
test_realloc(void *ptr, size_t size)
{
	return fail_allocations ? NULL : realloc(ptr, size);
}

static const struct evfut_allocator failing = {test_malloc, test_realloc, free};

START_TEST(test_timer_store_arming_an_armed_node_fails)
{
	struct evfut_timer_node a = {0}, b = {0}, c = {0};

	start(_i, BOOT);
	arm(&a, BOOT + SEC);
	arm(&b, BOOT + 2 * SEC);
	arm(&c, BOOT + SEC);
	ck_assert_int_eq(d->insert(&store, &a, BOOT + 1), -EINVAL);
	ck_assert_int_eq(d->insert(&store, &a, BOOT + SEC), -EINVAL);
	ck_assert_uint_eq(a.deadline, BOOT + SEC);
	ck_assert_uint_eq(d->count(&store), 3);
	expect_next(BOOT + SEC);
	/* a kept its place ahead of c, which ties with it. */
	expect_pop(&a);
	expect_pop(&c);
	expect_pop(&b);
	stop();
}
END_TEST

START_TEST(test_timer_store_heap_growth_failure_changes_nothing)
{
	enum { N = 1000 };
	static struct evfut_timer_node nodes[N + 1];
	int failed = 0;
	size_t count;

	memset(nodes, 0, sizeof(nodes));
	ck_assert_int_eq(evfut_allocator_set(&failing), 0);
	start(_i, BOOT);
	/* Fail every insert that must grow; the others do not allocate. */
	fail_allocations = 1;
	for (int k = 0; k < N; k++) {
		int rc;

		count = d->count(&store);
		rc = d->insert(&store, &nodes[k], BOOT + (uint64_t)(N - k));
		if (rc == 0)
			continue;
		ck_assert_int_eq(rc, -ENOMEM);
		ck_assert(!d->armed(&nodes[k]));
		ck_assert_uint_eq(d->count(&store), count);
		failed++;
		/* The store still works, and grows once memory is back. */
		fail_allocations = 0;
		arm(&nodes[k], BOOT + (uint64_t)(N - k));
		fail_allocations = 1;
	}
	fail_allocations = 0;
	/* Only the heap allocates, and only to grow. */
	if (strcmp(d->name, "heap") == 0)
		ck_assert_int_gt(failed, 0);
	else
		ck_assert_int_eq(failed, 0);
	for (int k = N - 1; k >= 0; k--)
		expect_pop(&nodes[k]);
	stop();
	ck_assert_int_eq(evfut_allocator_set(NULL), 0);
}
END_TEST

START_TEST(test_timer_store_init_failure_returns_enomem)
{
	ck_assert_int_eq(evfut_allocator_set(&failing), 0);
	d = &designs[_i];
	memset(&store, 0, sizeof(store));
	fail_allocations = 1;
	if (strcmp(d->name, "heap") == 0) {
		ck_assert_int_eq(d->init(&store, BOOT), -ENOMEM);
	} else {
		ck_assert_int_eq(d->init(&store, BOOT), 0);
		d->finish(&store);
	}
	fail_allocations = 0;
	ck_assert_int_eq(evfut_allocator_set(NULL), 0);
}
END_TEST

START_TEST(test_timer_store_finish_accepts_null)
{
	if (_i == 0)
		evfut__timer_heap_finish(NULL);
	else
		evfut__timer_wheel_finish(NULL);
}
END_TEST

/* ---- scale ---- */

/* For qsort: by deadline, ties by address, the arm order of an array. */
static int
node_cmp(const void *pa, const void *pb)
{
	const struct evfut_timer_node *a =
	        *(struct evfut_timer_node *const *)pa;
	const struct evfut_timer_node *b =
	        *(struct evfut_timer_node *const *)pb;

	if (a->deadline != b->deadline)
		return a->deadline < b->deadline ? -1 : 1;
	return a < b ? -1 : a > b;
}

START_TEST(test_timer_store_million_random_timers_pop_sorted)
{
	const char *env = getenv("TIMER_STORE_SCALE_N");
	size_t n = env != NULL ? strtoul(env, NULL, 10) : 1000000;
	struct evfut_timer_node *nodes = calloc(n, sizeof(*nodes));
	struct evfut_timer_node **sorted = calloc(n, sizeof(*sorted));
	uint64_t x = 42;

	ck_assert_ptr_nonnull(nodes);
	ck_assert_ptr_nonnull(sorted);
	start(_i, BOOT);
	for (size_t k = 0; k < n; k++) {
		/* A 2^20 ns grain makes many ties; a few are days or years out.
		 */
		uint64_t r = xorshift64(&x);
		uint64_t ahead = (r % 4000) << 20;

		if (r % 1000 == 0)
			ahead = (r >> 8) % (20 * YEAR);
		ck_assert_int_eq(d->insert(&store, &nodes[k], BOOT + ahead), 0);
		sorted[k] = &nodes[k];
	}
	ck_assert_uint_eq(d->count(&store), n);
	qsort(sorted, n, sizeof(*sorted), node_cmp);
	for (size_t k = 0; k < n; k++) {
		struct evfut_timer_node *got;

		expect_next(sorted[k]->deadline);
		got = d->pop(&store, sorted[k]->deadline);
		if (got != sorted[k])
			ck_abort_msg("pop %zu: got deadline %llu node %td", k,
			             got ? (unsigned long long)got->deadline
			                 : 0,
			             got ? got - nodes : (ptrdiff_t)-1);
	}
	ck_assert_uint_eq(d->count(&store), 0);
	stop();
	free(sorted);
	free(nodes);
}
END_TEST

/* ---- model ---- */

/*
 * The reference: an array kept sorted by deadline, ties by the order the
 * model saw each node armed (counted here, not read from the store), where
 * insert and remove move the tail. Trivially right, and slow, which is fine
 * at this size.
 */
struct model {
	struct evfut_timer_node **v;
	size_t n;
	const struct evfut_timer_node *nodes; /* the array v points into */
	uint64_t *armed_at;                   /* by index in nodes */
	uint64_t arms;
};

static int
model_cmp(const struct model *m, const struct evfut_timer_node *a,
          const struct evfut_timer_node *b)
{
	uint64_t oa = m->armed_at[a - m->nodes];
	uint64_t ob = m->armed_at[b - m->nodes];

	if (a->deadline != b->deadline)
		return a->deadline < b->deadline ? -1 : 1;
	return oa < ob ? -1 : oa > ob;
}

static size_t
model_find(const struct model *m, const struct evfut_timer_node *t)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (model_cmp(m, m->v[mid], t) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Records @t, just armed in the store, as armed after every other. */
static void
model_insert(struct model *m, struct evfut_timer_node *t)
{
	size_t i;

	m->armed_at[t - m->nodes] = m->arms++;
	i = model_find(m, t);

	memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(*m->v));
	m->v[i] = t;
	m->n++;
}

static void
model_remove(struct model *m, struct evfut_timer_node *t)
{
	size_t i = model_find(m, t);

	ck_assert_ptr_eq(m->v[i], t);
	memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof(*m->v));
	m->n--;
}

static uint64_t
random_deadline(uint64_t *x, uint64_t now)
{
	uint64_t r = xorshift64(x);

	switch (r % 16) {
	case 0: /* In the past, possibly before the store's cursor. */
		return now - (r >> 8) % (10 * SEC);
	case 1: /* Exactly now, or the very start of time. */
		return (r >> 8) % 2 ? now : 0;
	case 2: /* Days to years ahead. */
		return now + (r >> 8) % (30 * YEAR);
	case 3:
		return UINT64_MAX - (r >> 8) % 3;
	case 4: /* Nanosecond neighbours, across slot boundaries. */
		return now + (r >> 8) % 200;
	default: /* Coarse grain, so that ties are common. */
		return now + ((r >> 8) % 2000) * MS;
	}
}

START_TEST(test_timer_store_matches_sorted_array_model)
{
	enum { NODES = 2000, STEPS = 300000 };
	static struct evfut_timer_node nodes[NODES];
	static struct evfut_timer_node *v[NODES];
	static uint64_t armed_at[NODES];
	struct model m = {v, 0, nodes, armed_at, 0};
	uint64_t x = 42, now = BOOT;

	memset(nodes, 0, sizeof(nodes));
	start(_i, now);
	for (int step = 0; step < STEPS; step++) {
		uint64_t r = xorshift64(&x);
		struct evfut_timer_node *t = &nodes[(r >> 16) % NODES];

		switch (r % 8) {
		case 0:
		case 1:
		case 2: /* Arm, or re-arm (reset) an armed timer. */
			if (d->armed(t)) {
				model_remove(&m, t);
				d->remove(&store, t);
			}
			ck_assert_int_eq(
			        d->insert(&store, t, random_deadline(&x, now)),
			        0);
			model_insert(&m, t);
			break;
		case 3:
		case 4: /* Cancel. */
			if (!d->armed(t))
				break;
			model_remove(&m, t);
			d->remove(&store, t);
			ck_assert(!d->armed(t));
			break;
		case 5:
		case 6: /* Advance virtual time, then pop everything due. */
			now += (r >> 20) % (300 * MS);
			for (;;) {
				struct evfut_timer_node *got =
				        d->pop(&store, now);
				struct evfut_timer_node *want =
				        m.n > 0 && m.v[0]->deadline <= now
				                ? m.v[0]
				                : NULL;

				ck_assert_ptr_eq(got, want);
				if (got == NULL)
					break;
				ck_assert(!d->armed(got));
				model_remove(&m, got);
			}
			break;
		default: /* Pop one, at a time that may be before the head. */
			if (m.n > 0) {
				uint64_t at = m.v[0]->deadline - (r >> 62);

				if (at > m.v[0]->deadline)
					at = 0;
				ck_assert_ptr_eq(d->pop(&store, at),
				                 at >= m.v[0]->deadline ? m.v[0]
				                                        : NULL);
				if (at >= m.v[0]->deadline)
					model_remove(&m, m.v[0]);
			}
			break;
		}
		ck_assert_uint_eq(d->count(&store), m.n);
		/*
		 * Half the time, follow the answers to the exact deadline, as
		 * the driver does; else only check the bound, and leave the
		 * wheel's cursor where it was.
		 */
		if ((r >> 40) & 1) {
			expect_next(m.n > 0 ? m.v[0]->deadline : UINT64_MAX);
		} else {
			uint64_t next = d->next_deadline(&store);
			uint64_t want = m.n > 0 ? m.v[0]->deadline : UINT64_MAX;

			ck_assert_uint_le(next, want);
			if (max_rounds() == 0 || want == UINT64_MAX)
				ck_assert_uint_eq(next, want);
		}
	}
	/* Drain: the rest pops in model order. */
	for (size_t k = 0; m.n > 0; k++) {
		ck_assert_ptr_eq(d->pop(&store, UINT64_MAX), m.v[0]);
		model_remove(&m, m.v[0]);
	}
	ck_assert_ptr_null(d->pop(&store, UINT64_MAX));
	stop();
}
END_TEST

/*
 * The driver's loop on a virtual clock: timers armed strictly after now
 * (near, far, days ahead), cancels, and the clock jumping to next_deadline,
 * then firing what is due. Every timer fires with the clock exactly at its
 * deadline, in deadline order, ties in arm order, however many answers it took.
 */
START_TEST(test_timer_store_virtual_clock_fires_each_timer_on_time)
{
	enum { NODES = 2000, STEPS = 200000 };
	static struct evfut_timer_node nodes[NODES];
	static struct evfut_timer_node *v[NODES];
	static uint64_t armed_at[NODES];
	struct model m = {v, 0, nodes, armed_at, 0};
	uint64_t x = 4242, now = BOOT, fired = 0;

	memset(nodes, 0, sizeof(nodes));
	start(_i, now);
	for (int step = 0; step < STEPS; step++) {
		uint64_t r = xorshift64(&x);
		struct evfut_timer_node *t = &nodes[(r >> 16) % NODES];
		struct evfut_timer_node *got;
		uint64_t ahead = (r >> 24) % 4 == 0   ? (r >> 30) % 200
		                 : (r >> 24) % 4 == 1 ? (r >> 30) % (40 * DAY)
		                                      : (r >> 30) % (3 * SEC);

		switch (r % 5) {
		case 0:
		case 1: /* Arm, as sleep does: strictly after now. */
			if (d->armed(t))
				break;
			ck_assert_int_eq(d->insert(&store, t, now + 1 + ahead),
			                 0);
			model_insert(&m, t);
			break;
		case 2: /* Cancel. */
			if (!d->armed(t))
				break;
			model_remove(&m, t);
			d->remove(&store, t);
			break;
		default: /* Jump to the next answer and fire what is due. */
			if (m.n == 0)
				break;
			now = d->next_deadline(&store);
			ck_assert_uint_le(now, m.v[0]->deadline);
			while ((got = d->pop(&store, now)) != NULL) {
				ck_assert_ptr_eq(got, m.v[0]);
				ck_assert_uint_eq(got->deadline, now);
				model_remove(&m, got);
				fired++;
			}
			ck_assert_uint_gt(d->next_deadline(&store), now);
			break;
		}
		ck_assert_uint_eq(d->count(&store), m.n);
	}
	ck_assert_uint_gt(fired, STEPS / 20);
	stop();
}
END_TEST

static TCase *
tcase(Suite *s, const char *name, int timeout)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return tc;
}

#define ADD(tc, fn) tcase_add_loop_test(tc, fn, 0, 2)

static Suite *
timer_store_suite(void)
{
	Suite *s = suite_create("timer-store");
	TCase *tc;

	tc = tcase(s, "order", 10);
	ADD(tc, test_timer_store_pops_in_deadline_order);
	ADD(tc, test_timer_store_empty_store_pops_nothing);
	ADD(tc, test_timer_store_past_deadlines_pop_first);
	ADD(tc, test_timer_store_many_past_deadlines_keep_order_and_cancel);
	ADD(tc, test_timer_store_next_deadline_reaches_exact_after_each_call);

	tc = tcase(s, "next", 60);
	ADD(tc, test_timer_store_lower_bounds_converge_to_each_deadline);
	ADD(tc, test_timer_store_after_empty_pop_next_is_later);
	ADD(tc, test_timer_store_virtual_clock_fires_each_timer_on_time);

	tc = tcase(s, "fifo", 10);
	ADD(tc, test_timer_store_equal_deadlines_pop_in_arm_order);
	ADD(tc, test_timer_store_fifo_holds_across_cursor_moves);

	tc = tcase(s, "cancel", 10);
	ADD(tc, test_timer_store_zero_node_is_not_armed);
	ADD(tc, test_timer_store_cancelled_timer_never_pops);
	ADD(tc, test_timer_store_cancel_head_moves_next_deadline);
	ADD(tc, test_timer_store_reset_earlier_and_later);

	tc = tcase(s, "far", 30);
	ADD(tc, test_timer_store_days_and_years_ahead);
	ADD(tc, test_timer_store_near_the_end_of_time);

	tc = tcase(s, "errors", 10);
	ADD(tc, test_timer_store_arming_an_armed_node_fails);
	ADD(tc, test_timer_store_heap_growth_failure_changes_nothing);
	ADD(tc, test_timer_store_init_failure_returns_enomem);
	ADD(tc, test_timer_store_finish_accepts_null);

	/* Sized for sanitizer and valgrind runs, not for speed. */
	tc = tcase(s, "scale", 600);
	ADD(tc, test_timer_store_million_random_timers_pop_sorted);

	tc = tcase(s, "model", 600);
	ADD(tc, test_timer_store_matches_sorted_array_model);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(timer_store_suite());
	int failed;

	/*
	 * TAP on stdout and nothing else, as test/harness.c does; this suite
	 * needs no runtime, so it does not link the harness.
	 */
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
