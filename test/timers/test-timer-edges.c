/*
 * Suite "timers", the edges: a duration never ends before it has passed
 * since the timer's init, however long the executor pass that polls it
 * first; timer futures outlive their runtime safely (dropping one after
 * evfut_runtime_destroy() touches nothing of it); the virtual clock stands
 * still while a blocking-pool job runs, and is refused on a borrowed base.
 *
 * The real-clock tests assert "never before the deadline", never an
 * elapsed time.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "../harness.h"

#define MS EVFUT_MSEC

static evfut_nsec
monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (evfut_nsec)ts.tv_sec * EVFUT_SEC + (evfut_nsec)ts.tv_nsec;
}

/* Keeps the executor's pass busy for @ns. */
static void
spin(evfut_nsec ns)
{
	evfut_nsec end = monotonic() + ns;

	while (monotonic() < end)
		;
}

static enum evfut_poll
spin_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	(void)cx;
	spin(30 * MS);
	return EVFUT_READY;
}

/* never-early */

enum timer_kind { SLEEP, TIMEOUT, INTERVAL };

static enum evfut_poll
never_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	(void)cx;
	return EVFUT_PENDING;
}

/* Inits a 10 ms timer of its kind at its first poll; records when. */
struct timed {
	struct evfut_future base;
	enum timer_kind kind;
	bool started;
	bool spin_first; /* spin 30 ms in the same poll, after a sleep */
	evfut_nsec init_at;
	evfut_nsec done_at;
	struct evfut_sleep early; /* polled before the spin */
	struct evfut_sleep sleep;
	struct evfut_timeout timeout;
	struct evfut_future never;
	struct evfut_interval interval;
};

static struct evfut_future *
timed_future(struct timed *t)
{
	switch (t->kind) {
	case TIMEOUT:
		return &t->timeout.base;
	case INTERVAL:
		return &t->interval.base;
	default:
		return &t->sleep.base;
	}
}

static void
timed_start(struct timed *t, struct evfut_context *cx)
{
	t->started = true;
	if (t->spin_first) {
		evfut_sleep_init(&t->early, 5 * MS);
		ck_assert_int_eq(evfut_future_poll(&t->early.base, cx),
		                 EVFUT_PENDING);
		spin(30 * MS);
	}
	t->init_at = monotonic();
	switch (t->kind) {
	case SLEEP:
		evfut_sleep_init(&t->sleep, 10 * MS);
		break;
	case TIMEOUT:
		t->never.poll = never_poll;
		t->never.drop = NULL;
		ck_assert_int_eq(
		        evfut_timeout_init(&t->timeout, &t->never, 10 * MS), 0);
		break;
	case INTERVAL:
		ck_assert_int_eq(evfut_interval_init(&t->interval, 10 * MS,
		                                     EVFUT_MISSED_BURST),
		                 0);
		break;
	}
}

static enum evfut_poll
timed_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct timed *t = evfut_container_of(self, struct timed, base);

	if (!t->started)
		timed_start(t, cx);
	if (evfut_future_poll(timed_future(t), cx) == EVFUT_PENDING)
		return EVFUT_PENDING;
	t->done_at = monotonic();
	if (t->spin_first)
		evfut_future_drop(&t->early.base);
	evfut_future_drop(timed_future(t));
	return EVFUT_READY;
}

static struct timed timed;

static void
check_never_early(enum timer_kind kind, bool spin_first)
{
	struct evfut_future spinner = EVFUT_FUTURE_INIT(spin_poll, NULL);
	struct evfut_task_join join;
	struct evfut_join_handle handle;

	memset(&timed, 0, sizeof timed);
	timed.base.poll = timed_poll;
	timed.kind = kind;
	timed.spin_first = spin_first;
	/* The spinner takes 30 ms of the pass before the timer's init. */
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &spinner, sizeof spinner),
	                 0);
	ck_assert_int_eq(evfut_task_spawn_joinable(harness_rt, &timed.base,
	                                           sizeof timed, &handle),
	                 0);
	evfut_task_join_init(&join, &handle);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &join.base), 0);
	ck_assert_int_eq(join.result, 0);
	{
		const struct timed *done = (const struct timed *)(const void *)
		        evfut_task_join_output(&join);

		ck_assert_uint_ge(done->done_at - done->init_at, 10 * MS);
	}
	evfut_future_drop(&join.base);
}

START_TEST(test_timers_duration_counts_from_init_after_a_long_pass)
{
	check_never_early((enum timer_kind)_i, false);
}
END_TEST

START_TEST(test_timers_duration_counts_from_init_after_a_long_poll)
{
	check_never_early((enum timer_kind)_i, true);
}
END_TEST

/* after-destroy */

/* Polls @sleep by hand on @rt with @waker, expecting it pending. */
static void
arm(struct evfut_sleep *sleep, const struct evfut_waker *waker,
    struct evfut_runtime *rt)
{
	struct evfut_context cx = {waker, rt};

	ck_assert_int_eq(evfut_future_poll(&sleep->base, &cx), EVFUT_PENDING);
}

/*
 * Sleeps armed in the store (a deadline), waiting for their deadline (a
 * duration, polled outside a task) and an interval and a timeout, each
 * with a waker that is no task's: the quarantine sees any write into the
 * freed runtime when they are dropped after its destroy.
 */
START_TEST(test_timers_drop_after_destroy_touches_nothing)
{
	struct evfut_runtime_options options = {.clock = (enum evfut_clock)_i};
	struct evfut_waker noop = evfut_waker_noop();
	struct harness_counter counter;
	struct evfut_waker counted;
	struct evfut_sleep until, after, reset;
	struct evfut_interval interval;
	struct evfut_timeout timeout;
	struct evfut_future never = EVFUT_FUTURE_INIT(never_poll, NULL);
	struct evfut_context cx = {&noop, NULL};
	struct evfut_runtime *rt;

	harness_counter_init(&counter);
	harness_alloc_quarantine_begin();
	ck_assert_int_eq(evfut_runtime_create(&rt, &options), 0);
	cx.runtime = rt;
	counted = harness_counter_waker(&counter);
	evfut_sleep_until_init(&until, evfut_runtime_now(rt) + 60 * MS);
	arm(&until, &counted, rt);
	evfut_sleep_init(&after, 60 * MS);
	arm(&after, &noop, rt);
	evfut_sleep_init(&reset, 60 * MS);
	arm(&reset, &noop, rt);
	ck_assert_int_eq(
	        evfut_interval_init(&interval, 60 * MS, EVFUT_MISSED_BURST), 0);
	ck_assert_int_eq(evfut_future_poll(&interval.base, &cx), EVFUT_PENDING);
	ck_assert_int_eq(evfut_timeout_init(&timeout, &never, 60 * MS), 0);
	ck_assert_int_eq(evfut_future_poll(&timeout.base, &cx), EVFUT_PENDING);
	evfut_runtime_destroy(rt);
	/* Each is pending still, and dropping or resetting it is a no-op. */
	ck_assert_int_eq(evfut_sleep_result(&until), 0);
	ck_assert_int_eq(evfut_sleep_reset(&reset, 0), 0);
	evfut_future_drop(&until.base);
	evfut_future_drop(&after.base);
	evfut_future_drop(&reset.base);
	evfut_future_drop(&interval.base);
	evfut_future_drop(&timeout.base);
	evfut_waker_drop(&counted);
	ck_assert_int_eq(harness_alloc_quarantine_end(), 0);
	ck_assert_int_eq(atomic_load(&counter.live), 0);
	ck_assert_int_eq(atomic_load(&counter.wakes), 0);
}
END_TEST

/* reset, elapsed: tokio's tests/time_interval.rs and time_sleep.rs */

static void
use_virtual_clock(void)
{
	struct evfut_runtime_options options = {.clock = EVFUT_CLOCK_VIRTUAL};

	harness_runtime_replace(&options);
}

static enum evfut_poll
poll_noop(struct evfut_future *f)
{
	struct evfut_waker noop = evfut_waker_noop();
	struct evfut_context cx = {&noop, harness_rt};

	return evfut_future_poll(f, &cx);
}

static void
advance(evfut_nsec ms)
{
	ck_assert_int_eq(evfut_runtime_advance(harness_rt, ms * MS), 0);
}

/* Expects a tick due at @ms, or (@ms 0) no tick. */
static void
check_tick(struct evfut_interval *iv, evfut_nsec ms)
{
	if (ms == 0) {
		ck_assert_int_eq(poll_noop(&iv->base), EVFUT_PENDING);
		return;
	}
	ck_assert_int_eq(poll_noop(&iv->base), EVFUT_READY);
	ck_assert_int_eq(iv->result, 0);
	ck_assert_uint_eq(iv->scheduled, ms * MS);
}

/* _i: reset, reset_after(20 ms), reset_after(0), reset_at(130 ms). */
START_TEST(test_timers_interval_reset_restarts_the_schedule)
{
	static const evfut_nsec next[4] = {400, 120, 100, 130};
	struct evfut_interval iv;

	use_virtual_clock();
	ck_assert_int_eq(evfut_interval_init(&iv, 300 * MS, EVFUT_MISSED_BURST),
	                 0);
	check_tick(&iv, 0);
	advance(100);
	check_tick(&iv, 0);
	switch (_i) {
	case 0:
		ck_assert_int_eq(evfut_interval_reset(&iv), 0);
		break;
	case 1:
		ck_assert_int_eq(evfut_interval_reset_after(&iv, 20 * MS), 0);
		break;
	case 2:
		ck_assert_int_eq(evfut_interval_reset_after(&iv, 0), 0);
		break;
	default:
		ck_assert_int_eq(evfut_interval_reset_at(&iv, 130 * MS), 0);
	}
	if (next[_i] > 100) {
		advance(next[_i] - 100 - 1);
		check_tick(&iv, 0);
		advance(1);
	}
	check_tick(&iv, next[_i]);
	/* And one period after that, on the new schedule. */
	advance(299);
	check_tick(&iv, 0);
	advance(1);
	check_tick(&iv, next[_i] + 300);
	evfut_future_drop(&iv.base);
}
END_TEST

/* A reset before the first poll counts from the first poll. */
START_TEST(test_timers_interval_reset_before_the_first_poll)
{
	struct evfut_interval iv;

	use_virtual_clock();
	ck_assert_int_eq(evfut_interval_init(&iv, 300 * MS, EVFUT_MISSED_BURST),
	                 0);
	ck_assert_int_eq(evfut_interval_reset_after(&iv, 50 * MS), 0);
	advance(10);
	check_tick(&iv, 0);
	advance(49);
	check_tick(&iv, 0);
	advance(1);
	check_tick(&iv, 60);
	evfut_future_drop(&iv.base);
}
END_TEST

START_TEST(test_timers_interval_reset_errors)
{
	ck_assert_int_eq(evfut_interval_reset(NULL), -EINVAL);
	ck_assert_int_eq(evfut_interval_reset_after(NULL, 1), -EINVAL);
	ck_assert_int_eq(evfut_interval_reset_at(NULL, 1), -EINVAL);
}
END_TEST

/* Elapsed once the driver fired it, before any poll; a reset undoes it. */
START_TEST(test_timers_sleep_elapsed_follows_the_deadline)
{
	struct evfut_sleep s;

	use_virtual_clock();
	ck_assert_int_eq(evfut_sleep_elapsed(NULL), 0);
	evfut_sleep_init(&s, 10 * MS);
	ck_assert_int_eq(evfut_sleep_elapsed(&s), 0);
	ck_assert_int_eq(poll_noop(&s.base), EVFUT_PENDING);
	ck_assert_int_eq(evfut_sleep_elapsed(&s), 0);
	advance(9);
	ck_assert_int_eq(evfut_sleep_elapsed(&s), 0);
	advance(1);
	ck_assert_int_eq(evfut_sleep_elapsed(&s), 1);
	ck_assert_int_eq(poll_noop(&s.base), EVFUT_READY);
	ck_assert_int_eq(evfut_sleep_elapsed(&s), 1);
	ck_assert_int_eq(evfut_sleep_reset(&s, 20 * MS), 0);
	ck_assert_int_eq(evfut_sleep_elapsed(&s), 0);
	advance(10);
	ck_assert_int_eq(evfut_sleep_elapsed(&s), 1);
	evfut_future_drop(&s.base);
	/* Past at the first poll: elapsed by that poll. */
	evfut_sleep_until_init(&s, 0);
	ck_assert_int_eq(evfut_sleep_elapsed(&s), 0);
	ck_assert_int_eq(poll_noop(&s.base), EVFUT_READY);
	ck_assert_int_eq(evfut_sleep_elapsed(&s), 1);
	evfut_future_drop(&s.base);
}
END_TEST

/*
 * On the real clock, a sleep polled with a duration waits for its deadline
 * in the deferred list: not elapsed, and asking its deadline sets it, no
 * earlier than the duration after the init.
 */
START_TEST(test_timers_sleep_elapsed_on_the_real_clock)
{
	evfut_nsec init = evfut_runtime_now(harness_rt);
	struct evfut_sleep s;

	evfut_sleep_init(&s, 5 * MS);
	ck_assert_int_eq(poll_noop(&s.base), EVFUT_PENDING);
	ck_assert_int_eq(evfut_sleep_elapsed(&s), 0);
	ck_assert_uint_ge(evfut_sleep_deadline(&s), init + 5 * MS);
	ck_assert_uint_ne(evfut_sleep_deadline(&s), EVFUT_NEVER);
	ck_assert_int_eq(evfut_sleep_elapsed(&s), 0);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &s.base), 0);
	ck_assert_int_eq(evfut_sleep_elapsed(&s), 1);
	ck_assert_uint_ne(evfut_sleep_deadline(&s), EVFUT_NEVER);
	evfut_future_drop(&s.base);
}
END_TEST

/* A deadline the runtime's clock has read is due at the first poll. */
START_TEST(test_timers_deadline_already_read_is_ready_at_once)
{
	struct evfut_sleep s;

	evfut_sleep_until_init(&s, evfut_runtime_now(harness_rt));
	ck_assert_int_eq(poll_noop(&s.base), EVFUT_READY);
	ck_assert_int_eq(evfut_sleep_result(&s), 0);
	evfut_future_drop(&s.base);
}
END_TEST

/*
 * A deadline that passed after the runtime's latest reading is not read
 * for at the first poll: it waits in the store, and the timer source,
 * armed in the past, completes it at the next loop iteration, never
 * before the deadline.
 */
START_TEST(test_timers_deadline_passed_since_the_reading_fires_next)
{
	evfut_nsec deadline = evfut_runtime_now(harness_rt) + MS;
	struct evfut_sleep s;

	spin(2 * MS);
	evfut_sleep_until_init(&s, deadline);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &s.base), 0);
	ck_assert_int_eq(evfut_sleep_result(&s), 0);
	ck_assert_uint_ge(monotonic(), deadline);
	ck_assert_uint_ge(evfut_runtime_now(harness_rt), deadline);
	evfut_future_drop(&s.base);
}
END_TEST

/* A reset of a sleep waiting for its deadline arms it: no wake. */
START_TEST(test_timers_reset_of_a_deferred_sleep_wakes_nothing)
{
	struct harness_counter counter;
	struct evfut_waker waker;
	struct evfut_context cx = {NULL, NULL};
	struct evfut_sleep s;
	evfut_nsec d;

	harness_counter_init(&counter);
	waker = harness_counter_waker(&counter);
	cx.waker = &waker;
	cx.runtime = harness_rt;
	evfut_sleep_init(&s, 5 * MS);
	ck_assert_int_eq(evfut_future_poll(&s.base, &cx), EVFUT_PENDING);
	d = evfut_sleep_deadline(&s);
	ck_assert_uint_ne(d, EVFUT_NEVER);
	ck_assert_int_eq(evfut_sleep_reset(&s, d + 10 * MS), 0);
	ck_assert_uint_eq(evfut_sleep_deadline(&s), d + 10 * MS);
	/* Deferred again, then reset before any flush. */
	evfut_future_drop(&s.base);
	evfut_sleep_init(&s, 5 * MS);
	ck_assert_int_eq(evfut_future_poll(&s.base, &cx), EVFUT_PENDING);
	ck_assert_int_eq(evfut_sleep_reset(&s, d + 20 * MS), 0);
	ck_assert_uint_eq(evfut_sleep_deadline(&s), d + 20 * MS);
	ck_assert_int_eq(atomic_load(&counter.wakes), 0);
	ck_assert_int_eq(atomic_load(&counter.wake_by_refs), 0);
	evfut_future_drop(&s.base);
	evfut_waker_drop(&waker);
	ck_assert_int_eq(atomic_load(&counter.live), 0);
}
END_TEST

/* virtual-clock */

static intptr_t
slow_job(void *arg)
{
	(void)arg;
	spin(20 * MS);
	return 7;
}

/* tokio holds auto-advance back during spawn_blocking: so does evfut. */
START_TEST(test_timers_virtual_clock_waits_for_a_blocking_job)
{
	struct evfut_blocking job;
	struct evfut_timeout timeout;
	struct evfut_pool *pool;

	use_virtual_clock();
	ck_assert_int_eq(evfut_pool_create(&pool, 1), 0);
	ck_assert_int_eq(evfut_blocking_init(&job, pool, slow_job, NULL), 0);
	ck_assert_int_eq(evfut_timeout_init(&timeout, &job.base, EVFUT_SEC), 0);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &timeout.base), 0);
	ck_assert_int_eq(timeout.result, 0);
	ck_assert_int_eq(job.result, 0);
	ck_assert_int_eq(job.value, 7);
	ck_assert_uint_eq(evfut_runtime_now(harness_rt), 0);
	evfut_future_drop(&timeout.base);
	evfut_pool_destroy(pool);
}
END_TEST

/* A job dropped while it runs lets the clock go at once. */
START_TEST(test_timers_virtual_clock_moves_once_the_job_is_dropped)
{
	struct evfut_blocking job;
	struct evfut_sleep sleep;
	struct evfut_waker noop = evfut_waker_noop();
	struct evfut_context cx = {&noop, NULL};
	struct evfut_pool *pool;

	use_virtual_clock();
	cx.runtime = harness_rt;
	ck_assert_int_eq(evfut_pool_create(&pool, 1), 0);
	ck_assert_int_eq(evfut_blocking_init(&job, pool, slow_job, NULL), 0);
	ck_assert_int_eq(evfut_future_poll(&job.base, &cx), EVFUT_PENDING);
	evfut_future_drop(&job.base);
	evfut_sleep_init(&sleep, EVFUT_SEC);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &sleep.base), 0);
	ck_assert_uint_eq(evfut_runtime_now(harness_rt), EVFUT_SEC);
	evfut_future_drop(&sleep.base);
	evfut_pool_destroy(pool);
}
END_TEST

/* A blocking future dropped after its runtime is gone. */
START_TEST(test_timers_blocking_job_dropped_after_destroy_is_safe)
{
	struct evfut_runtime_options options = {.clock = EVFUT_CLOCK_VIRTUAL};
	struct evfut_waker noop = evfut_waker_noop();
	struct evfut_context cx = {&noop, NULL};
	struct evfut_blocking job;
	struct evfut_runtime *rt;
	struct evfut_pool *pool;

	ck_assert_int_eq(evfut_pool_create(&pool, 1), 0);
	ck_assert_int_eq(evfut_runtime_create(&rt, &options), 0);
	cx.runtime = rt;
	ck_assert_int_eq(evfut_blocking_init(&job, pool, slow_job, NULL), 0);
	ck_assert_int_eq(evfut_future_poll(&job.base, &cx), EVFUT_PENDING);
	evfut_runtime_destroy(rt);
	evfut_future_drop(&job.base);
	evfut_pool_destroy(pool);
}
END_TEST

START_TEST(test_timers_virtual_clock_on_a_borrowed_base_is_refused)
{
	struct evfut_runtime_options options = {.clock = EVFUT_CLOCK_VIRTUAL};
	struct evfut_runtime *rt = NULL;

	options.base = event_base_new();
	ck_assert_ptr_nonnull(options.base);
	ck_assert_int_eq(evfut_runtime_create(&rt, &options), -ENOTSUP);
	ck_assert_ptr_null(rt);
	event_base_free(options.base);
}
END_TEST

static Suite *
timer_edges_suite(void)
{
	Suite *s = suite_create("timers");
	TCase *tc;

	tc = tcase_create("never-early");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_loop_test(
	        tc, test_timers_duration_counts_from_init_after_a_long_pass,
	        SLEEP, INTERVAL + 1);
	tcase_add_loop_test(
	        tc, test_timers_duration_counts_from_init_after_a_long_poll,
	        SLEEP, INTERVAL + 1);
	tcase_add_test(tc, test_timers_deadline_already_read_is_ready_at_once);
	tcase_add_test(
	        tc, test_timers_deadline_passed_since_the_reading_fires_next);
	suite_add_tcase(s, tc);

	tc = tcase_create("after-destroy");
	tcase_add_loop_test(tc, test_timers_drop_after_destroy_touches_nothing,
	                    EVFUT_CLOCK_MONOTONIC, EVFUT_CLOCK_VIRTUAL + 1);
	suite_add_tcase(s, tc);

	tc = tcase_create("reset");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_loop_test(
	        tc, test_timers_interval_reset_restarts_the_schedule, 0, 4);
	tcase_add_test(tc, test_timers_interval_reset_before_the_first_poll);
	tcase_add_test(tc, test_timers_interval_reset_errors);
	tcase_add_test(tc, test_timers_sleep_elapsed_follows_the_deadline);
	tcase_add_test(tc, test_timers_sleep_elapsed_on_the_real_clock);
	tcase_add_test(tc, test_timers_reset_of_a_deferred_sleep_wakes_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("virtual-clock");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_timers_virtual_clock_waits_for_a_blocking_job);
	tcase_add_test(tc,
	               test_timers_virtual_clock_moves_once_the_job_is_dropped);
	tcase_add_test(tc,
	               test_timers_blocking_job_dropped_after_destroy_is_safe);
	tcase_add_test(tc,
	               test_timers_virtual_clock_on_a_borrowed_base_is_refused);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return harness_main(timer_edges_suite());
}
