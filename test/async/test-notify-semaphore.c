/*
 * Suite "notify-semaphore": Notify and the semaphore on one thread: permit
 * semantics, order, notify_waiters over more than one batch of wakers,
 * fairness, dropped waiters, and the error paths. The counting waker
 * proves that every stored waker is released.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* Notify */

START_TEST(test_sync_notify_one_stores_a_single_permit)
{
	struct harness_counter c;
	struct evfut_notify n;
	struct evfut_notified a, b;

	harness_counter_init(&c);
	evfut_notify_init(&n);
	ck_assert_int_eq(evfut_notify_one(&n), 0);
	ck_assert_int_eq(evfut_notify_one(&n), 0); /* permits do not add up */
	evfut_notified_init(&a, &n);
	evfut_notified_init(&b, &n);
	ck_assert_int_eq(poll_with(&a.base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(poll_with(&b.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(evfut_notify_one(&n), 0);
	ck_assert_int_eq(atomic_load(&c.wakes), 1);
	ck_assert_int_eq(poll_with(&b.base, &c, NULL), EVFUT_READY);
	evfut_future_drop(&a.base);
	evfut_future_drop(&b.base);
	ck_assert_int_eq(atomic_load(&c.live), 0);
	/* notify_waiters stores no permit. */
	ck_assert_int_eq(evfut_notify_waiters(&n), 0);
	evfut_notified_init(&a, &n);
	ck_assert_int_eq(poll_with(&a.base, &c, NULL), EVFUT_PENDING);
	evfut_future_drop(&a.base);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

START_TEST(test_sync_notify_one_wakes_waiters_in_order)
{
	struct harness_counter c[3];
	struct evfut_notify n;
	struct evfut_notified w[3];

	evfut_notify_init(&n);
	for (int i = 0; i < 3; i++) {
		harness_counter_init(&c[i]);
		evfut_notified_init(&w[i], &n);
		ck_assert_int_eq(poll_with(&w[i].base, &c[i], NULL),
		                 EVFUT_PENDING);
	}
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(evfut_notify_one(&n), 0);
		for (int j = 0; j < 3; j++)
			ck_assert_int_eq(atomic_load(&c[j].wakes), j <= i);
	}
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(poll_with(&w[i].base, &c[i], NULL),
		                 EVFUT_READY);
		evfut_future_drop(&w[i].base);
		ck_assert_int_eq(atomic_load(&c[i].live), 0);
	}
}
END_TEST

START_TEST(test_sync_notify_waiters_wakes_all_current_waiters)
{
	enum { N = 70 }; /* more than one batch of wakers */
	static struct evfut_notified w[N];
	struct harness_counter c;
	struct evfut_notify n;
	struct evfut_notified early, late;

	harness_counter_init(&c);
	evfut_notify_init(&n);
	for (int i = 0; i < N; i++) {
		evfut_notified_init(&w[i], &n);
		ck_assert_int_eq(poll_with(&w[i].base, &c, NULL),
		                 EVFUT_PENDING);
	}
	/* Initialised before the call, never polled: notified too. */
	evfut_notified_init(&early, &n);
	ck_assert_int_eq(evfut_notify_waiters(&n), 0);
	evfut_notified_init(&late, &n);
	/* One batch now; each woken poll wakes the next batch. */
	ck_assert_int_gt(atomic_load(&c.wakes), 0);
	ck_assert_int_lt(atomic_load(&c.wakes), N);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(poll_with(&w[i].base, &c, NULL), EVFUT_READY);
		evfut_future_drop(&w[i].base);
	}
	ck_assert_int_eq(atomic_load(&c.wakes), N);
	ck_assert_int_eq(atomic_load(&c.live), 0);
	ck_assert_int_eq(poll_with(&early.base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(poll_with(&late.base, &c, NULL), EVFUT_PENDING);
	evfut_future_drop(&early.base);
	evfut_future_drop(&late.base);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

/*
 * A waiter woken in the first batch of notify_waiters() drops and frees
 * the waiter next in line, which heads the list when the batch is woken:
 * the second batch must not read it (AddressSanitizer would see it).
 */
#define VICTIM_AT 32 /* the first of the second batch */

static struct evfut_notified *victim;
static int freeing_wakes;

static struct evfut_waker freeing_clone(const void *data);
static void freeing_wake(const void *data);
static void freeing_noop(const void *data);

static const struct evfut_waker_vtable freeing_vtable = {
        freeing_clone, freeing_wake, freeing_wake, freeing_noop};

static struct evfut_waker
freeing_clone(const void *data)
{
	struct evfut_waker w = {data, &freeing_vtable};

	return w;
}

static void
freeing_wake(const void *data)
{
	(void)data;
	freeing_wakes++;
	if (victim != NULL) {
		evfut_future_drop(&victim->base);
		free(victim);
		victim = NULL;
	}
}

static void
freeing_noop(const void *data)
{
	(void)data;
}

START_TEST(test_sync_notify_waiters_survives_a_waiter_freed_by_a_wake)
{
	enum { N = 40 };
	struct evfut_notified *w[N];
	struct evfut_waker waker = {NULL, &freeing_vtable};
	struct evfut_context cx = {&waker, NULL};
	struct evfut_notify n;

	evfut_notify_init(&n);
	freeing_wakes = 0;
	for (int i = 0; i < N; i++) {
		w[i] = malloc(sizeof(*w[i]));
		ck_assert_ptr_nonnull(w[i]);
		evfut_notified_init(w[i], &n);
		ck_assert_int_eq(evfut_future_poll(&w[i]->base, &cx),
		                 EVFUT_PENDING);
	}
	victim = w[VICTIM_AT];
	w[VICTIM_AT] = NULL;
	ck_assert_int_eq(evfut_notify_waiters(&n), 0);
	ck_assert_ptr_null(victim);
	ck_assert_int_eq(freeing_wakes, N - 1);
	for (int i = 0; i < N; i++) {
		if (w[i] == NULL)
			continue;
		ck_assert_int_eq(evfut_future_poll(&w[i]->base, &cx),
		                 EVFUT_READY);
		evfut_future_drop(&w[i]->base);
		free(w[i]);
	}
}
END_TEST

START_TEST(test_sync_notify_dropped_chosen_waiter_passes_it_on)
{
	struct harness_counter c;
	struct evfut_notify n;
	struct evfut_notified a, b, d;

	harness_counter_init(&c);
	evfut_notify_init(&n);
	evfut_notified_init(&a, &n);
	evfut_notified_init(&b, &n);
	ck_assert_int_eq(poll_with(&a.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(poll_with(&b.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(evfut_notify_one(&n), 0); /* chooses a */
	evfut_future_drop(&a.base);                /* ... which leaves */
	ck_assert_int_eq(atomic_load(&c.wakes), 2);
	ck_assert_int_eq(poll_with(&b.base, &c, NULL), EVFUT_READY);
	/* With nobody left to take it, it becomes the permit. */
	evfut_notified_init(&a, &n);
	ck_assert_int_eq(poll_with(&a.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(evfut_notify_one(&n), 0);
	evfut_future_drop(&a.base);
	evfut_notified_init(&d, &n);
	ck_assert_int_eq(poll_with(&d.base, &c, NULL), EVFUT_READY);
	evfut_future_drop(&b.base);
	evfut_future_drop(&d.base);
	ck_assert_int_eq(atomic_load(&c.live), 0);
	ck_assert_int_eq(evfut_notify_one(NULL), -EINVAL);
	ck_assert_int_eq(evfut_notify_waiters(NULL), -EINVAL);
	ck_assert_int_eq(evfut_notified_init(NULL, &n), -EINVAL);
	ck_assert_int_eq(evfut_notified_init(&a, NULL), -EINVAL);
}
END_TEST

/* semaphore */

START_TEST(test_sync_semaphore_serves_acquires_in_order)
{
	struct harness_counter c[3];
	struct evfut_semaphore sem;
	struct evfut_acquire acq[3];
	static const size_t want[3] = {2, 1, 1};

	ck_assert_int_eq(evfut_semaphore_init(&sem, 0), 0);
	for (int i = 0; i < 3; i++) {
		harness_counter_init(&c[i]);
		ck_assert_int_eq(evfut_acquire_init(&acq[i], &sem, want[i]), 0);
		ck_assert_int_eq(poll_with(&acq[i].base, &c[i], NULL),
		                 EVFUT_PENDING);
	}
	/* One permit: the head wants two, and the smaller ones may not pass. */
	ck_assert_int_eq(evfut_semaphore_release(&sem, 1), 0);
	ck_assert_int_eq(evfut_semaphore_try_acquire(&sem, 1), -EAGAIN);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(atomic_load(&c[i].wakes), 0);
	ck_assert_int_eq(evfut_semaphore_release(&sem, 1), 0);
	ck_assert_int_eq(atomic_load(&c[0].wakes), 1);
	ck_assert_int_eq(atomic_load(&c[1].wakes), 0);
	ck_assert_int_eq(evfut_semaphore_release(&sem, 3), 0);
	ck_assert_int_eq(atomic_load(&c[1].wakes), 1);
	ck_assert_int_eq(atomic_load(&c[2].wakes), 1);
	ck_assert_uint_eq(evfut_semaphore_available(&sem), 1);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(poll_with(&acq[i].base, &c[i], NULL),
		                 EVFUT_READY);
		ck_assert_int_eq(acq[i].result, 0);
		evfut_future_drop(&acq[i].base);
		ck_assert_int_eq(atomic_load(&c[i].live), 0);
	}
	/* Completed acquires keep their permits after the drop. */
	ck_assert_uint_eq(evfut_semaphore_available(&sem), 1);
	ck_assert_int_eq(evfut_semaphore_try_acquire(&sem, 1), 0);
	ck_assert_int_eq(evfut_semaphore_try_acquire(&sem, 1), -EAGAIN);
}
END_TEST

START_TEST(test_sync_semaphore_dropped_acquires_give_back)
{
	struct harness_counter c;
	struct evfut_semaphore sem;
	struct evfut_acquire big, small, granted;

	harness_counter_init(&c);
	ck_assert_int_eq(evfut_semaphore_init(&sem, 1), 0);
	/* A big request at the head blocks a small one; dropping it lets the
	   small one through. */
	evfut_acquire_init(&big, &sem, 5);
	evfut_acquire_init(&small, &sem, 1);
	ck_assert_int_eq(poll_with(&big.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(poll_with(&small.base, &c, NULL), EVFUT_PENDING);
	evfut_future_drop(&big.base);
	ck_assert_int_eq(atomic_load(&c.wakes), 1);
	/* Granted but dropped before its poll: the permit comes back. */
	evfut_future_drop(&small.base);
	ck_assert_uint_eq(evfut_semaphore_available(&sem), 1);
	ck_assert_int_eq(atomic_load(&c.live), 0);
	/* Close: waiting acquires and later ones get -EPIPE. */
	evfut_acquire_init(&granted, &sem, 2);
	ck_assert_int_eq(poll_with(&granted.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(evfut_semaphore_close(&sem), 0);
	ck_assert_int_eq(poll_with(&granted.base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(granted.result, -EPIPE);
	evfut_future_drop(&granted.base);
	ck_assert_int_eq(evfut_semaphore_try_acquire(&sem, 1), -EPIPE);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

START_TEST(test_sync_semaphore_rejects_bad_arguments)
{
	struct evfut_semaphore sem;
	struct evfut_acquire acq;

	ck_assert_int_eq(evfut_semaphore_init(NULL, 1), -EINVAL);
	ck_assert_int_eq(evfut_semaphore_init(&sem, SIZE_MAX), -EINVAL);
	ck_assert_int_eq(evfut_semaphore_init(&sem, 1), 0);
	ck_assert_int_eq(evfut_semaphore_release(NULL, 1), -EINVAL);
	ck_assert_int_eq(evfut_semaphore_release(&sem, 0), -EINVAL);
	ck_assert_int_eq(
	        evfut_semaphore_release(&sem, EVFUT_SEMAPHORE_MAX_PERMITS),
	        -EINVAL);
	ck_assert_uint_eq(evfut_semaphore_available(&sem), 1);
	ck_assert_int_eq(evfut_semaphore_try_acquire(NULL, 1), -EINVAL);
	ck_assert_int_eq(evfut_semaphore_try_acquire(&sem, 0), -EINVAL);
	ck_assert_int_eq(evfut_semaphore_close(NULL), -EINVAL);
	ck_assert_int_eq(evfut_acquire_init(NULL, &sem, 1), -EINVAL);
	ck_assert_int_eq(evfut_acquire_init(&acq, NULL, 1), -EINVAL);
	ck_assert_int_eq(evfut_acquire_init(&acq, &sem, 0), -EINVAL);
	ck_assert_uint_eq(evfut_semaphore_available(NULL), 0);
}
END_TEST

static Suite *
notify_semaphore_suite(void)
{
	Suite *s = suite_create("notify-semaphore");
	TCase *tc;

	tc = tcase_create("notify");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_sync_notify_one_stores_a_single_permit);
	tcase_add_test(tc, test_sync_notify_one_wakes_waiters_in_order);
	tcase_add_test(tc, test_sync_notify_waiters_wakes_all_current_waiters);
	tcase_add_test(
	        tc, test_sync_notify_waiters_survives_a_waiter_freed_by_a_wake);
	tcase_add_test(tc, test_sync_notify_dropped_chosen_waiter_passes_it_on);
	suite_add_tcase(s, tc);

	tc = tcase_create("semaphore");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_sync_semaphore_serves_acquires_in_order);
	tcase_add_test(tc, test_sync_semaphore_dropped_acquires_give_back);
	tcase_add_test(tc, test_sync_semaphore_rejects_bad_arguments);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(notify_semaphore_suite());
}
