/*
 * Suite "blocking": work on the thread pool, awaited as futures and woken
 * from the pool's threads; many tasks at once; futures dropped while their
 * work is queued or running; what a dropped future leaves is discarded
 * exactly once, on the right thread; destroying the pool; the error paths. Runs
 * in the 'threads' meson suite, which CI also runs under ThreadSanitizer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

static intptr_t
twice(void *arg)
{
	return 2 * (intptr_t)arg;
}

/* A gate that blocking work waits on, opened by the test. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int open;
	atomic_int entered;
	atomic_int ran;
};

static void
gate_init(struct gate *g)
{
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->open = 0;
	atomic_init(&g->entered, 0);
	atomic_init(&g->ran, 0);
}

static void
gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->open = 1;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

static void
gate_finish(struct gate *g)
{
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
}

static intptr_t
wait_at_gate(void *arg)
{
	struct gate *g = arg;

	atomic_fetch_add(&g->entered, 1);
	pthread_mutex_lock(&g->lock);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
	atomic_fetch_add(&g->ran, 1);
	return 7;
}

static void
wait_until(atomic_int *v, int want)
{
	while (atomic_load(v) < want)
		sched_yield();
}

START_TEST(test_blocking_completes_through_a_cross_thread_wake)
{
	struct evfut_pool *pool;
	struct evfut_blocking b;
	struct harness_counter c;
	struct gate g;

	ck_assert_int_eq(evfut_pool_create(&pool, 2), 0);
	ck_assert_uint_eq(evfut_pool_threads(pool), 0); /* started lazily */
	ck_assert_int_eq(evfut_blocking_init(&b, pool, twice, (void *)21), 0);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &b.base), 0);
	ck_assert_int_eq(b.result, 0);
	ck_assert_int_eq(b.value, 42);
	ck_assert_uint_eq(evfut_pool_threads(pool), 1);
	evfut_future_drop(&b.base);

	/* Pending first, then woken from the pool thread. */
	gate_init(&g);
	harness_counter_init(&c);
	ck_assert_int_eq(evfut_blocking_init(&b, pool, wait_at_gate, &g), 0);
	ck_assert_int_eq(poll_with(&b.base, &c, NULL), EVFUT_PENDING);
	gate_open(&g);
	while (atomic_load(&c.wakes) < 1)
		sched_yield();
	ck_assert_int_eq(poll_with(&b.base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(b.value, 7);
	evfut_future_drop(&b.base);
	/* The pool thread releases its clone after it woke: a leak hangs
	 * here until the case's timeout. */
	while (atomic_load(&c.live) != 0)
		sched_yield();
	gate_finish(&g);

	/* Without a runtime, evfut_block_on parks the thread meanwhile. */
	ck_assert_int_eq(evfut_blocking_init(&b, pool, twice, (void *)5), 0);
	ck_assert_int_eq(evfut_block_on(&b.base), 0);
	ck_assert_int_eq(b.value, 10);
	evfut_future_drop(&b.base);
	evfut_pool_destroy(pool);
	evfut_pool_destroy(NULL);
}
END_TEST

/* A task that runs jobs one after the other, and maybe abandons one. */
#define TASKS 100
#define JOBS  10

static atomic_long total;
static struct gate slow_gate;

struct worker {
	struct evfut_future base;
	unsigned resume;
	struct evfut_pool *pool;
	int id;
	int i;
	struct evfut_blocking job;
	struct evfut_blocking abandoned;
};

static enum evfut_poll
worker_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct worker *w = evfut_container_of(self, struct worker, base);

	EVFUT_ASYNC_BEGIN(w->resume);
	if (w->id % 10 == 0) {
		/* Start slow work, then lose interest mid-flight. */
		evfut_blocking_init(&w->abandoned, w->pool, wait_at_gate,
		                    &slow_gate);
		ck_assert_int_eq(evfut_future_poll(&w->abandoned.base, cx),
		                 EVFUT_PENDING);
		evfut_future_drop(&w->abandoned.base);
	}
	for (w->i = 0; w->i < JOBS; w->i++) {
		evfut_blocking_init(&w->job, w->pool, twice,
		                    (void *)(intptr_t)(w->id * JOBS + w->i));
		EVFUT_AWAIT(&w->job.base, cx);
		ck_assert_int_eq(w->job.result, 0);
		atomic_fetch_add(&total, (long)w->job.value);
		evfut_future_drop(&w->job.base);
	}
	EVFUT_ASYNC_END();
}

static void
worker_drop(struct evfut_future *self)
{
	struct worker *w = evfut_container_of(self, struct worker, base);

	evfut_future_drop(&w->job.base);
}

START_TEST(test_blocking_many_tasks_share_a_small_pool)
{
	struct evfut_pool *pool;
	long n = (long)TASKS * JOBS;

	atomic_store(&total, 0);
	gate_init(&slow_gate);
	ck_assert_int_eq(evfut_pool_create(&pool, 4), 0);
	for (int id = 0; id < TASKS; id++) {
		struct worker w = {0};

		w.base.poll = worker_poll;
		w.base.drop = worker_drop;
		w.pool = pool;
		w.id = id;
		ck_assert_int_eq(
		        evfut_task_spawn(harness_rt, &w.base, sizeof w), 0);
	}
	/* The abandoned jobs may hold threads; the others must get through. */
	gate_open(&slow_gate);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(atomic_load(&total), n * (n - 1)); /* 2 * sum */
	ck_assert_uint_le(evfut_pool_threads(pool), 4);
	evfut_pool_destroy(pool);
	/* Every abandoned job either ran to the end or was skipped. */
	ck_assert_int_eq(atomic_load(&slow_gate.ran),
	                 atomic_load(&slow_gate.entered));
	gate_finish(&slow_gate);
}
END_TEST

START_TEST(test_blocking_dropped_while_running_is_left_alone)
{
	struct harness_counter c;
	struct evfut_pool *pool;
	struct evfut_blocking *b = malloc(sizeof(*b));
	struct gate g;

	harness_counter_init(&c);
	gate_init(&g);
	ck_assert_int_eq(evfut_pool_create(&pool, 1), 0);
	ck_assert_int_eq(evfut_blocking_init(b, pool, wait_at_gate, &g), 0);
	ck_assert_int_eq(poll_with(&b->base, &c, NULL), EVFUT_PENDING);
	wait_until(&g.entered, 1);
	evfut_future_drop(&b->base);
	free(b); /* the work must not write here (ASan checks) */
	ck_assert_int_eq(atomic_load(&c.live), 0);
	gate_open(&g);
	evfut_pool_destroy(pool); /* waits for the work */
	ck_assert_int_eq(atomic_load(&g.ran), 1);
	ck_assert_int_eq(atomic_load(&c.wakes), 0);
	gate_finish(&g);
}
END_TEST

START_TEST(test_blocking_dropped_while_queued_never_runs)
{
	struct harness_counter c;
	struct evfut_pool *pool;
	struct evfut_blocking first, second;
	struct gate g, never;

	harness_counter_init(&c);
	gate_init(&g);
	gate_init(&never);
	ck_assert_int_eq(evfut_pool_create(&pool, 1), 0);
	evfut_blocking_init(&first, pool, wait_at_gate, &g);
	evfut_blocking_init(&second, pool, wait_at_gate, &never);
	ck_assert_int_eq(poll_with(&first.base, &c, NULL), EVFUT_PENDING);
	wait_until(&g.entered, 1);
	ck_assert_int_eq(poll_with(&second.base, &c, NULL), EVFUT_PENDING);
	evfut_future_drop(&second.base);
	gate_open(&g);
	ck_assert_int_eq(evfut_block_on(&first.base), 0);
	ck_assert_int_eq(first.value, 7);
	evfut_future_drop(&first.base);
	evfut_pool_destroy(pool);
	ck_assert_int_eq(atomic_load(&never.entered), 0);
	ck_assert_int_eq(atomic_load(&c.live), 0);
	gate_finish(&g);
	gate_finish(&never);
}
END_TEST

static void *
destroy_main(void *arg)
{
	evfut_pool_destroy(arg);
	return NULL;
}

/* Waits for @arg's gate up to 10 s: 7 if it opened, -1 if not. */
static intptr_t
wait_at_gate_bounded(void *arg)
{
	struct gate *g = arg;
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	atomic_fetch_add(&g->entered, 1);
	pthread_mutex_lock(&g->lock);
	while (!g->open && rc == 0)
		rc = pthread_cond_timedwait(&g->cond, &g->lock, &until);
	pthread_mutex_unlock(&g->lock);
	return g->open ? 7 : -1;
}

static intptr_t
open_gate(void *arg)
{
	gate_open(arg);
	return 1;
}

/*
 * Two jobs submitted at once to a pool with one idle thread: the second
 * gets a thread of its own (it used to queue behind the first, which
 * waits for it).
 */
START_TEST(test_blocking_burst_gets_a_thread_per_job)
{
	struct harness_counter c;
	struct evfut_pool *pool;
	struct evfut_blocking warm, waiter, opener;
	struct timespec settle = {0, 50 * 1000 * 1000};
	struct gate g;

	harness_counter_init(&c);
	gate_init(&g);
	ck_assert_int_eq(evfut_pool_create(&pool, 4), 0);
	evfut_blocking_init(&warm, pool, twice, (void *)1);
	ck_assert_int_eq(evfut_block_on(&warm.base), 0);
	evfut_future_drop(&warm.base);
	/* Let the thread go idle (the result holds whether it did or not). */
	nanosleep(&settle, NULL);
	evfut_blocking_init(&waiter, pool, wait_at_gate_bounded, &g);
	evfut_blocking_init(&opener, pool, open_gate, &g);
	ck_assert_int_eq(poll_with(&waiter.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(poll_with(&opener.base, &c, NULL), EVFUT_PENDING);
	ck_assert_uint_eq(evfut_pool_threads(pool), 2);
	ck_assert_int_eq(evfut_block_on(&waiter.base), 0);
	ck_assert_int_eq(waiter.value, 7);
	ck_assert_int_eq(evfut_block_on(&opener.base), 0);
	evfut_future_drop(&waiter.base);
	evfut_future_drop(&opener.base);
	evfut_pool_destroy(pool);
	ck_assert_int_eq(atomic_load(&c.live), 0);
	gate_finish(&g);
}
END_TEST

START_TEST(test_blocking_destroy_cancels_queued_work)
{
	struct harness_counter c;
	struct evfut_pool *pool;
	struct evfut_blocking running, queued;
	struct gate g, never;
	pthread_t t;

	harness_counter_init(&c);
	gate_init(&g);
	gate_init(&never);
	ck_assert_int_eq(evfut_pool_create(&pool, 1), 0);
	evfut_blocking_init(&running, pool, wait_at_gate, &g);
	evfut_blocking_init(&queued, pool, wait_at_gate, &never);
	ck_assert_int_eq(poll_with(&running.base, &c, NULL), EVFUT_PENDING);
	wait_until(&g.entered, 1);
	ck_assert_int_eq(poll_with(&queued.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(pthread_create(&t, NULL, destroy_main, pool), 0);
	/* The destroy cancels the queued work first (its waker is woken),
	   then waits for the running work, which waits for the gate. */
	while (atomic_load(&c.wakes) < 1)
		sched_yield();
	ck_assert_int_eq(poll_with(&queued.base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(queued.result, -ECANCELED);
	gate_open(&g);
	pthread_join(t, NULL);
	ck_assert_int_eq(poll_with(&running.base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(running.result, 0);
	ck_assert_int_eq(running.value, 7);
	evfut_future_drop(&running.base);
	evfut_future_drop(&queued.base);
	ck_assert_int_eq(atomic_load(&never.entered), 0);
	ck_assert_int_eq(atomic_load(&c.live), 0);
	gate_finish(&g);
	gate_finish(&never);
}
END_TEST

START_TEST(test_blocking_rejects_bad_arguments_and_reports_enomem)
{
	struct evfut_pool *pool = NULL;
	struct evfut_blocking b;
	struct harness_counter c;

	harness_counter_init(&c);
	ck_assert_int_eq(evfut_pool_create(NULL, 1), -EINVAL);
	ck_assert_int_eq(evfut_pool_create(&pool, 0), -EINVAL);
	for (unsigned long k = 1; k <= 2; k++) {
		harness_alloc_fail_at(k);
		ck_assert_int_eq(evfut_pool_create(&pool, 1), -ENOMEM);
		ck_assert_ptr_null(pool);
		ck_assert_int_eq(harness_alloc_live(), 0);
	}
	harness_alloc_restore();
	ck_assert_int_eq(evfut_pool_create(&pool, 1), 0);
	ck_assert_int_eq(evfut_blocking_init(NULL, pool, twice, NULL), -EINVAL);
	ck_assert_int_eq(evfut_blocking_init(&b, NULL, twice, NULL), -EINVAL);
	ck_assert_int_eq(evfut_blocking_init(&b, pool, NULL, NULL), -EINVAL);
	/* The job record is the one allocation of a blocking future. */
	ck_assert_int_eq(evfut_blocking_init(&b, pool, twice, NULL), 0);
	harness_alloc_fail_at(1);
	ck_assert_int_eq(poll_with(&b.base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(b.result, -ENOMEM);
	evfut_future_drop(&b.base);
	ck_assert_int_eq(atomic_load(&c.live), 0);
	ck_assert_uint_eq(evfut_pool_threads(pool), 0);
	ck_assert_uint_eq(evfut_pool_threads(NULL), 0);
	harness_alloc_restore();
	evfut_pool_destroy(pool);
}
END_TEST

/* What a discard function was given, and on which thread. */
struct discarded {
	atomic_int calls;
	intptr_t value;
	int ran;
	void *arg;
	pthread_t thread;
};

static struct discarded discarded;

static void
record_discard(void *arg, intptr_t value, int ran)
{
	discarded.arg = arg;
	discarded.value = value;
	discarded.ran = ran;
	discarded.thread = pthread_self();
	atomic_fetch_add(&discarded.calls, 1);
}

static void
discard_reset(void)
{
	memset(&discarded, 0, sizeof(discarded));
	atomic_init(&discarded.calls, 0);
}

START_TEST(test_blocking_discard_when_dropped_before_the_first_poll)
{
	struct evfut_pool *pool;
	struct evfut_blocking b;
	int arg;

	discard_reset();
	ck_assert_int_eq(evfut_pool_create(&pool, 1), 0);
	ck_assert_int_eq(evfut_blocking_init(&b, pool, twice, &arg), 0);
	ck_assert_int_eq(evfut_blocking_set_discard(&b, record_discard), 0);
	evfut_future_drop(&b.base);
	ck_assert_int_eq(atomic_load(&discarded.calls), 1);
	ck_assert_ptr_eq(discarded.arg, &arg);
	ck_assert_int_eq(discarded.ran, 0);
	ck_assert(pthread_equal(discarded.thread, pthread_self()));
	evfut_future_drop(&b.base); /* once only */
	ck_assert_int_eq(atomic_load(&discarded.calls), 1);
	evfut_pool_destroy(pool);
}
END_TEST

/* The pool thread that finishes the work after the drop discards it. */
START_TEST(test_blocking_discard_when_dropped_while_running)
{
	struct harness_counter c;
	struct evfut_pool *pool;
	struct evfut_blocking b;
	struct gate g;

	discard_reset();
	harness_counter_init(&c);
	gate_init(&g);
	ck_assert_int_eq(evfut_pool_create(&pool, 1), 0);
	ck_assert_int_eq(evfut_blocking_init(&b, pool, wait_at_gate, &g), 0);
	ck_assert_int_eq(evfut_blocking_set_discard(&b, record_discard), 0);
	ck_assert_int_eq(poll_with(&b.base, &c, NULL), EVFUT_PENDING);
	wait_until(&g.entered, 1);
	evfut_future_drop(&b.base);
	ck_assert_int_eq(atomic_load(&discarded.calls), 0); /* still running */
	gate_open(&g);
	wait_until(&discarded.calls, 1);
	ck_assert_int_eq(discarded.ran, 1);
	ck_assert_int_eq(discarded.value, 7);
	ck_assert(!pthread_equal(discarded.thread, pthread_self()));
	evfut_pool_destroy(pool);
	ck_assert_int_eq(atomic_load(&discarded.calls), 1);
	gate_finish(&g);
}
END_TEST

/* Finished, but never polled again: the value is discarded. */
START_TEST(test_blocking_discard_when_dropped_after_the_work_finished)
{
	struct harness_counter c;
	struct evfut_pool *pool;
	struct evfut_blocking b;

	discard_reset();
	harness_counter_init(&c);
	ck_assert_int_eq(evfut_pool_create(&pool, 1), 0);
	ck_assert_int_eq(evfut_blocking_init(&b, pool, twice, (void *)21), 0);
	ck_assert_int_eq(evfut_blocking_set_discard(&b, record_discard), 0);
	ck_assert_int_eq(poll_with(&b.base, &c, NULL), EVFUT_PENDING);
	while (atomic_load(&c.wakes) < 1) /* the work finished */
		sched_yield();
	ck_assert_int_eq(atomic_load(&discarded.calls), 0);
	evfut_future_drop(&b.base);
	/* Here, or on the pool thread if it still held the job. */
	wait_until(&discarded.calls, 1);
	ck_assert_int_eq(discarded.ran, 1);
	ck_assert_int_eq(discarded.value, 42);
	evfut_pool_destroy(pool);
	ck_assert_int_eq(atomic_load(&discarded.calls), 1);
}
END_TEST

START_TEST(test_blocking_discard_when_dropped_while_queued)
{
	struct harness_counter c;
	struct evfut_pool *pool;
	struct evfut_blocking first, second;
	struct gate g;
	int arg;

	discard_reset();
	harness_counter_init(&c);
	gate_init(&g);
	ck_assert_int_eq(evfut_pool_create(&pool, 1), 0);
	evfut_blocking_init(&first, pool, wait_at_gate, &g);
	evfut_blocking_init(&second, pool, twice, &arg);
	evfut_blocking_set_discard(&second, record_discard);
	ck_assert_int_eq(poll_with(&first.base, &c, NULL), EVFUT_PENDING);
	wait_until(&g.entered, 1);
	ck_assert_int_eq(poll_with(&second.base, &c, NULL), EVFUT_PENDING);
	evfut_future_drop(&second.base);
	gate_open(&g);
	ck_assert_int_eq(evfut_block_on(&first.base), 0);
	evfut_future_drop(&first.base);
	evfut_pool_destroy(pool);
	ck_assert_int_eq(atomic_load(&discarded.calls), 1);
	ck_assert_ptr_eq(discarded.arg, &arg);
	ck_assert_int_eq(discarded.ran, 0);
	ck_assert_int_eq(discarded.value, 0);
	gate_finish(&g);
}
END_TEST

/* Completed, whatever the result: the caller has it all back. */
START_TEST(test_blocking_no_discard_once_completed)
{
	struct harness_counter c;
	struct evfut_pool *pool;
	struct evfut_blocking b;

	discard_reset();
	harness_counter_init(&c);
	ck_assert_int_eq(evfut_pool_create(&pool, 1), 0);
	ck_assert_int_eq(evfut_blocking_init(&b, pool, twice, (void *)1), 0);
	ck_assert_int_eq(evfut_blocking_set_discard(&b, record_discard), 0);
	ck_assert_int_eq(evfut_block_on(&b.base), 0);
	ck_assert_int_eq(b.value, 2);
	ck_assert_int_eq(evfut_blocking_set_discard(&b, record_discard),
	                 -EINVAL);
	evfut_future_drop(&b.base);
	/* The allocator changes below: no pool thread may be freeing. */
	evfut_pool_destroy(pool);
	ck_assert_int_eq(evfut_pool_create(&pool, 1), 0);
	/* Failed at its first poll: the caller's too. */
	ck_assert_int_eq(evfut_blocking_init(&b, pool, twice, (void *)1), 0);
	evfut_blocking_set_discard(&b, record_discard);
	harness_alloc_fail_at(1);
	ck_assert_int_eq(poll_with(&b.base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(b.result, -ENOMEM);
	harness_alloc_restore();
	evfut_future_drop(&b.base);
	ck_assert_int_eq(atomic_load(&discarded.calls), 0);
	ck_assert_int_eq(evfut_blocking_set_discard(NULL, record_discard),
	                 -EINVAL);
	evfut_pool_destroy(pool);
}
END_TEST

static Suite *
blocking_suite(void)
{
	Suite *s = suite_create("blocking");
	TCase *tc;

	tc = tcase_create("pool");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_blocking_completes_through_a_cross_thread_wake);
	tcase_add_test(tc, test_blocking_many_tasks_share_a_small_pool);
	suite_add_tcase(s, tc);

	tc = tcase_create("cancel");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_blocking_dropped_while_running_is_left_alone);
	tcase_add_test(tc, test_blocking_dropped_while_queued_never_runs);
	tcase_add_test(tc, test_blocking_destroy_cancels_queued_work);
	tcase_add_test(tc, test_blocking_burst_gets_a_thread_per_job);
	suite_add_tcase(s, tc);

	tc = tcase_create("discard");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(
	        tc, test_blocking_discard_when_dropped_before_the_first_poll);
	tcase_add_test(tc, test_blocking_discard_when_dropped_while_running);
	tcase_add_test(
	        tc, test_blocking_discard_when_dropped_after_the_work_finished);
	tcase_add_test(tc, test_blocking_discard_when_dropped_while_queued);
	tcase_add_test(tc, test_blocking_no_discard_once_completed);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc,
	               test_blocking_rejects_bad_arguments_and_reports_enomem);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(blocking_suite());
}
