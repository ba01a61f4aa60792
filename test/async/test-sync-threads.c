/*
 * Suite "sync-threads": the thread-safe calls of the channels and
 * synchronisation futures, used across threads: oneshot values sent from
 * another thread, a Notify ping-pong between a runtime task and a thread,
 * and a semaphore shared by threads and tasks. Runs in the 'threads' meson
 * suite, which CI also runs under ThreadSanitizer.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "common.h"

#define ONESHOTS 2000

static struct evfut_oneshot oneshots[ONESHOTS];
static int values[ONESHOTS];

static void *
send_all(void *arg)
{
	(void)arg;
	for (int i = 0; i < ONESHOTS; i++) {
		if (i % 3 == 0)
			sched_yield();
		values[i] = i;
		if (i % 100 == 99)
			evfut_oneshot_drop_sender(&oneshots[i]);
		else
			ck_assert_int_eq(
			        evfut_oneshot_send(&oneshots[i], &values[i]),
			        0);
	}
	return NULL;
}

START_TEST(test_sync_threads_oneshot_values_from_another_thread)
{
	struct evfut_oneshot_recv rx;
	pthread_t t;

	for (int i = 0; i < ONESHOTS; i++)
		evfut_oneshot_init(&oneshots[i]);
	ck_assert_int_eq(pthread_create(&t, NULL, send_all, NULL), 0);
	for (int i = 0; i < ONESHOTS; i++) {
		evfut_oneshot_recv_init(&rx, &oneshots[i]);
		ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &rx.base),
		                 0);
		if (i % 100 == 99) {
			ck_assert_int_eq(rx.result, -EPIPE);
		} else {
			ck_assert_int_eq(rx.result, 0);
			ck_assert_int_eq(*(int *)rx.value, i);
		}
		evfut_future_drop(&rx.base);
	}
	pthread_join(t, NULL);
}
END_TEST

/* Ping-pong: the task pings, the thread (parked in evfut_block_on) pongs. */
#define ROUNDS 5000

static struct evfut_notify ping, pong;

static void *
ponger(void *arg)
{
	struct evfut_notified n;

	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		evfut_notified_init(&n, &ping);
		ck_assert_int_eq(evfut_block_on(&n.base), 0);
		evfut_future_drop(&n.base);
		evfut_notify_one(&pong);
	}
	return NULL;
}

struct pinger {
	struct evfut_future base;
	unsigned resume;
	int i;
	struct evfut_notified n;
};

static enum evfut_poll
pinger_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct pinger *p = evfut_container_of(self, struct pinger, base);

	EVFUT_ASYNC_BEGIN(p->resume);
	for (p->i = 0; p->i < ROUNDS; p->i++) {
		evfut_notified_init(&p->n, &pong);
		evfut_notify_one(&ping);
		EVFUT_AWAIT(&p->n.base, cx);
		evfut_future_drop(&p->n.base);
	}
	EVFUT_ASYNC_END();
}

START_TEST(test_sync_threads_notify_ping_pong_with_a_thread)
{
	struct pinger p = {0};
	pthread_t t;

	evfut_notify_init(&ping);
	evfut_notify_init(&pong);
	p.base.poll = pinger_poll;
	ck_assert_int_eq(pthread_create(&t, NULL, ponger, NULL), 0);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &p.base), 0);
	ck_assert_int_eq(p.i, ROUNDS);
	pthread_join(t, NULL);
}
END_TEST

/* A semaphore of 3 permits shared by 4 threads and 8 tasks. */
#define HOLDERS 3
#define ROUNDS2 500

static struct evfut_semaphore sem;
static atomic_int inside, max_inside;

static void
enter_and_leave(void)
{
	int now = atomic_fetch_add(&inside, 1) + 1;
	int max = atomic_load(&max_inside);

	while (now > max &&
	       !atomic_compare_exchange_weak(&max_inside, &max, now))
		;
	sched_yield();
	atomic_fetch_sub(&inside, 1);
	ck_assert_int_eq(evfut_semaphore_release(&sem, 1), 0);
}

static void *
sem_thread(void *arg)
{
	struct evfut_acquire a;

	(void)arg;
	for (int i = 0; i < ROUNDS2; i++) {
		evfut_acquire_init(&a, &sem, 1);
		ck_assert_int_eq(evfut_block_on(&a.base), 0);
		ck_assert_int_eq(a.result, 0);
		evfut_future_drop(&a.base);
		enter_and_leave();
	}
	return NULL;
}

struct sem_task {
	struct evfut_future base;
	unsigned resume;
	int i;
	struct evfut_acquire a;
	struct evfut_yield y;
};

static enum evfut_poll
sem_task_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct sem_task *s = evfut_container_of(self, struct sem_task, base);

	EVFUT_ASYNC_BEGIN(s->resume);
	for (s->i = 0; s->i < ROUNDS2; s->i++) {
		evfut_acquire_init(&s->a, &sem, 1);
		EVFUT_AWAIT(&s->a.base, cx);
		ck_assert_int_eq(s->a.result, 0);
		evfut_future_drop(&s->a.base);
		enter_and_leave();
		evfut_yield_init(&s->y);
		EVFUT_AWAIT(&s->y.base, cx);
	}
	EVFUT_ASYNC_END();
}

START_TEST(test_sync_threads_semaphore_bounds_threads_and_tasks)
{
	pthread_t t[4];

	atomic_store(&inside, 0);
	atomic_store(&max_inside, 0);
	ck_assert_int_eq(evfut_semaphore_init(&sem, HOLDERS), 0);
	for (int i = 0; i < 8; i++) {
		struct sem_task s = {0};

		s.base.poll = sem_task_poll;
		ck_assert_int_eq(
		        evfut_task_spawn(harness_rt, &s.base, sizeof s), 0);
	}
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, sem_thread, NULL),
		                 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_le(atomic_load(&max_inside), HOLDERS);
	ck_assert_uint_eq(evfut_semaphore_available(&sem), HOLDERS);
}
END_TEST

static Suite *
sync_threads_suite(void)
{
	Suite *s = suite_create("sync-threads");
	TCase *tc;

	tc = tcase_create("cross-thread");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc,
	               test_sync_threads_oneshot_values_from_another_thread);
	tcase_add_test(tc, test_sync_threads_notify_ping_pong_with_a_thread);
	tcase_add_test(tc,
	               test_sync_threads_semaphore_bounds_threads_and_tasks);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(sync_threads_suite());
}
