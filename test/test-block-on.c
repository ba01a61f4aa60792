/*
 * Suite "block-on": evfut_runtime_block_on() (results, other tasks meanwhile,
 * -EDEADLK from inside the runtime, -EINVAL, -ENOMEM) and the standalone
 * evfut_block_on(), both driving the classic TimerFuture of the Rust async
 * book, woken from a thread, a thousand times in a row.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "harness.h"

static enum evfut_poll
ready_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	(void)cx;
	return EVFUT_READY;
}

static bool polled;

static enum evfut_poll
flag_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	(void)cx;
	polled = true;
	return EVFUT_READY;
}

/* runtime */

/* Adds 1..3 over three polls, waking itself in between. */
struct sum {
	struct evfut_future base;
	int polls;
	int result;
	int *drops;
};

static enum evfut_poll
sum_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct sum *f = evfut_container_of(self, struct sum, base);

	f->result += ++f->polls;
	if (f->polls == 3)
		return EVFUT_READY;
	evfut_waker_wake_by_ref(cx->waker);
	return EVFUT_PENDING;
}

static void
sum_drop(struct evfut_future *self)
{
	struct sum *f = evfut_container_of(self, struct sum, base);

	(*f->drops)++;
}

START_TEST(test_block_on_returns_result_in_future)
{
	int drops = 0;
	struct sum f = {EVFUT_FUTURE_INIT(sum_poll, sum_drop), 0, 0, &drops};
	struct evfut_stats stats;

	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &f.base), 0);
	ck_assert_int_eq(f.polls, 3);
	ck_assert_int_eq(f.result, 6);
	/* Borrowed: block_on does not drop the caller's future. */
	ck_assert_int_eq(drops, 0);
	stats = harness_stats(harness_rt);
	ck_assert_uint_eq(stats.tasks_spawned, 1);
	ck_assert_uint_eq(stats.tasks_completed, 1);
	ck_assert_uint_eq(stats.polls, 3);
	ck_assert_uint_eq(stats.tasks_live, 0);
}
END_TEST

START_TEST(test_block_on_standalone_returns_result_in_future)
{
	int drops = 0;
	struct sum f = {EVFUT_FUTURE_INIT(sum_poll, sum_drop), 0, 0, &drops};

	ck_assert_int_eq(evfut_block_on(&f.base), 0);
	ck_assert_int_eq(f.polls, 3);
	ck_assert_int_eq(f.result, 6);
	ck_assert_int_eq(drops, 0);
}
END_TEST

/* A helper task and a root that wait for each other. */
static struct {
	struct evfut_waker helper;
	struct evfut_waker root;
	int value;
	bool helper_done;
	int root_polls;
} meet;

static enum evfut_poll
helper_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	if (evfut_waker_is_empty(&meet.root)) {
		evfut_waker_store(&meet.helper, cx->waker);
		return EVFUT_PENDING;
	}
	meet.value = 42;
	meet.helper_done = true;
	evfut_waker_wake(&meet.root);
	return EVFUT_READY;
}

struct root {
	struct evfut_future base;
	int result;
};

static enum evfut_poll
root_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct root *r = evfut_container_of(self, struct root, base);

	meet.root_polls++;
	if (meet.helper_done) {
		r->result = meet.value;
		return EVFUT_READY;
	}
	evfut_waker_store(&meet.root, cx->waker);
	evfut_waker_wake(&meet.helper);
	return EVFUT_PENDING;
}

START_TEST(test_block_on_other_tasks_progress)
{
	struct evfut_future helper = EVFUT_FUTURE_INIT(helper_poll, NULL);
	struct root r = {EVFUT_FUTURE_INIT(root_poll, NULL), 0};
	struct evfut_stats stats;

	memset(&meet, 0, sizeof(meet));
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &helper, sizeof(helper)),
	                 0);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &r.base), 0);
	ck_assert(meet.helper_done);
	ck_assert_int_eq(r.result, 42);
	ck_assert_int_eq(meet.root_polls, 2);
	stats = harness_stats(harness_rt);
	ck_assert_uint_eq(stats.tasks_spawned, 2);
	ck_assert_uint_eq(stats.tasks_completed, 2);
	ck_assert_uint_eq(stats.tasks_live, 0);
	ck_assert(evfut_waker_is_empty(&meet.helper));
	ck_assert(evfut_waker_is_empty(&meet.root));
}
END_TEST

static struct evfut_waker parked_waker;
static int parked_polls;

static enum evfut_poll
parked_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	if (parked_polls++ == 0) {
		evfut_waker_store(&parked_waker, cx->waker);
		return EVFUT_PENDING;
	}
	return EVFUT_READY;
}

START_TEST(test_block_on_returns_with_other_tasks_alive)
{
	struct evfut_future parked = EVFUT_FUTURE_INIT(parked_poll, NULL);
	struct evfut_future ready = EVFUT_FUTURE_INIT(ready_poll, NULL);

	parked_polls = 0;
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &parked, sizeof(parked)),
	                 0);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &ready), 0);
	ck_assert_int_eq(parked_polls, 1);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_live, 1);
	/* The same runtime runs it to the end later. */
	evfut_waker_wake(&parked_waker);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(parked_polls, 2);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_live, 0);
}
END_TEST

/* deadlock */

static int nested_block_on_rc;
static int nested_run_rc;

static void
nest(struct evfut_runtime *rt)
{
	struct evfut_future inner = EVFUT_FUTURE_INIT(flag_poll, NULL);

	polled = false;
	nested_block_on_rc = evfut_runtime_block_on(rt, &inner);
	nested_run_rc = evfut_runtime_run(rt);
}

static enum evfut_poll
nesting_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	nest(cx->runtime);
	return EVFUT_READY;
}

static void
reset_nesting(void)
{
	nested_block_on_rc = 1;
	nested_run_rc = 1;
}

START_TEST(test_block_on_inside_root_task_is_edeadlk)
{
	struct evfut_future outer = EVFUT_FUTURE_INIT(nesting_poll, NULL);

	reset_nesting();
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &outer), 0);
	ck_assert_int_eq(nested_block_on_rc, -EDEADLK);
	ck_assert_int_eq(nested_run_rc, -EDEADLK);
	ck_assert(!polled);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_spawned, 1);
}
END_TEST

START_TEST(test_block_on_inside_spawned_task_is_edeadlk)
{
	struct evfut_future f = EVFUT_FUTURE_INIT(nesting_poll, NULL);

	reset_nesting();
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &f, sizeof(f)), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(nested_block_on_rc, -EDEADLK);
	ck_assert_int_eq(nested_run_rc, -EDEADLK);
	ck_assert(!polled);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_completed, 1);
}
END_TEST

static struct evfut_waker callback_root;
static bool callback_ran;

static void
nesting_callback(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	nest(arg);
	callback_ran = true;
	evfut_waker_wake(&callback_root);
}

/* Pending until the libevent callback has run and woken it. */
static enum evfut_poll
wait_callback_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct timeval now = {0, 0};

	(void)self;
	if (callback_ran)
		return EVFUT_READY;
	if (evfut_waker_is_empty(&callback_root))
		ck_assert_int_eq(
		        event_base_once(evfut_runtime_event_base(cx->runtime),
		                        -1, EV_TIMEOUT, nesting_callback,
		                        cx->runtime, &now),
		        0);
	evfut_waker_store(&callback_root, cx->waker);
	return EVFUT_PENDING;
}

START_TEST(test_block_on_inside_event_callback_is_edeadlk)
{
	struct evfut_future root = EVFUT_FUTURE_INIT(wait_callback_poll, NULL);

	reset_nesting();
	callback_ran = false;
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &root), 0);
	ck_assert(callback_ran);
	ck_assert_int_eq(nested_block_on_rc, -EDEADLK);
	ck_assert_int_eq(nested_run_rc, -EDEADLK);
	ck_assert(!polled);
	ck_assert(evfut_waker_is_empty(&callback_root));
}
END_TEST

/* errors */

START_TEST(test_block_on_rejects_invalid_arguments)
{
	struct evfut_future f = EVFUT_FUTURE_INIT(flag_poll, NULL);
	struct evfut_future no_poll = EVFUT_FUTURE_INIT(NULL, NULL);

	polled = false;
	ck_assert_int_eq(evfut_runtime_block_on(NULL, &f), -EINVAL);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, NULL), -EINVAL);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &no_poll), -EINVAL);
	ck_assert_int_eq(evfut_block_on(NULL), -EINVAL);
	ck_assert_int_eq(evfut_block_on(&no_poll), -EINVAL);
	ck_assert(!polled);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_spawned, 0);
	/* Nothing was left half-entered: the runtime still runs. */
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &f), 0);
	ck_assert(polled);
}
END_TEST

START_TEST(test_block_on_enomem_does_not_poll)
{
	struct evfut_future f = EVFUT_FUTURE_INIT(flag_poll, NULL);

	polled = false;
	harness_alloc_fail_at(1);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &f), -ENOMEM);
	ck_assert(!polled);
	ck_assert_int_eq(harness_alloc_live(), 0);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_spawned, 0);
	harness_alloc_fail_at(1);
	ck_assert_int_eq(evfut_block_on(&f), -ENOMEM);
	ck_assert(!polled);
	ck_assert_int_eq(harness_alloc_live(), 0);
	harness_alloc_restore();
	/* Both work again, and the runtime was not left "running". */
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &f), 0);
	ck_assert(polled);
	polled = false;
	ck_assert_int_eq(evfut_block_on(&f), 0);
	ck_assert(polled);
}
END_TEST

/*
 * timer-future: the TimerFuture of the Rust async book. A thread sleeps a
 * little, sets `completed` and wakes the waker the last poll left.
 */

#define TIMER_RUNS 1000

struct timer_future {
	struct evfut_future base;
	pthread_mutex_t lock;
	bool completed;
	struct evfut_waker waker;
	int polls;
	unsigned delay_us;
	bool wake_under_lock;
	pthread_t thread;
};

static enum evfut_poll
timer_future_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct timer_future *tf =
	        evfut_container_of(self, struct timer_future, base);
	enum evfut_poll ready = EVFUT_PENDING;

	pthread_mutex_lock(&tf->lock);
	tf->polls++;
	if (tf->completed)
		ready = EVFUT_READY;
	else
		evfut_waker_store(&tf->waker, cx->waker);
	pthread_mutex_unlock(&tf->lock);
	return ready;
}

static void *
timer_thread(void *arg)
{
	struct timer_future *tf = arg;
	struct evfut_waker waker;

	if (tf->delay_us != 0)
		usleep(tf->delay_us);
	pthread_mutex_lock(&tf->lock);
	tf->completed = true;
	waker = tf->waker;
	tf->waker.data = NULL;
	tf->waker.vtable = NULL;
	if (tf->wake_under_lock)
		evfut_waker_wake(&waker);
	pthread_mutex_unlock(&tf->lock);
	evfut_waker_wake(&waker);
	return NULL;
}

/* Starts the thread at once, as TimerFuture::new does. */
static void
timer_future_start(struct timer_future *tf, int run)
{
	struct evfut_future base = EVFUT_FUTURE_INIT(timer_future_poll, NULL);

	tf->base = base;
	ck_assert_int_eq(pthread_mutex_init(&tf->lock, NULL), 0);
	tf->completed = false;
	tf->waker.data = NULL;
	tf->waker.vtable = NULL;
	tf->polls = 0;
	/* 0 to 75 us: both "done before the first poll" and "woken later". */
	tf->delay_us = (unsigned)(run % 4) * 25;
	tf->wake_under_lock = run % 2 == 1;
	ck_assert_int_eq(pthread_create(&tf->thread, NULL, timer_thread, tf),
	                 0);
}

/* Joins the thread; false if the future is not in its finished state. */
static bool
timer_future_finish(struct timer_future *tf)
{
	bool ok;

	pthread_join(tf->thread, NULL);
	ok = tf->completed && tf->polls >= 1 &&
	     evfut_waker_is_empty(&tf->waker);
	evfut_waker_drop(&tf->waker);
	pthread_mutex_destroy(&tf->lock);
	return ok;
}

START_TEST(test_block_on_standalone_timer_future_1000_times)
{
	struct timer_future tf;
	int run, bad = 0;

	for (run = 0; run < TIMER_RUNS; run++) {
		int rc;

		timer_future_start(&tf, run);
		rc = evfut_block_on(&tf.base);
		if (!timer_future_finish(&tf) || rc != 0)
			bad++;
	}
	ck_assert_int_eq(bad, 0);
}
END_TEST

START_TEST(test_block_on_runtime_timer_future_1000_times)
{
	struct timer_future tf;
	struct evfut_stats stats;
	int run, bad = 0;

	for (run = 0; run < TIMER_RUNS; run++) {
		int rc;

		timer_future_start(&tf, run);
		rc = evfut_runtime_block_on(harness_rt, &tf.base);
		if (!timer_future_finish(&tf) || rc != 0)
			bad++;
	}
	ck_assert_int_eq(bad, 0);
	stats = harness_stats(harness_rt);
	ck_assert_uint_eq(stats.tasks_spawned, TIMER_RUNS);
	ck_assert_uint_eq(stats.tasks_completed, TIMER_RUNS);
	ck_assert_uint_eq(stats.tasks_live, 0);
	/* The thread's wakes go through the remote queue. */
	ck_assert_uint_gt(stats.wakes_remote, 0);
	ck_assert_uint_eq(stats.wakes_local, 0);
	ck_assert_uint_le(stats.remote_signals, stats.wakes_remote);
}
END_TEST

static Suite *
block_on_suite(void)
{
	Suite *s = suite_create("block-on");
	TCase *tc;

	tc = tcase_create("result");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_block_on_returns_result_in_future);
	tcase_add_test(tc, test_block_on_standalone_returns_result_in_future);
	tcase_add_test(tc, test_block_on_other_tasks_progress);
	tcase_add_test(tc, test_block_on_returns_with_other_tasks_alive);
	suite_add_tcase(s, tc);

	tc = tcase_create("deadlock");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_block_on_inside_root_task_is_edeadlk);
	tcase_add_test(tc, test_block_on_inside_spawned_task_is_edeadlk);
	tcase_add_test(tc, test_block_on_inside_event_callback_is_edeadlk);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_block_on_rejects_invalid_arguments);
	tcase_add_test(tc, test_block_on_enomem_does_not_poll);
	suite_add_tcase(s, tc);

	tc = tcase_create("timer-future");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_block_on_standalone_timer_future_1000_times);
	tcase_add_test(tc, test_block_on_runtime_timer_future_1000_times);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return harness_main(block_on_suite());
}
