/*
 * Suite "async": the async/await macros (loops, conditionals, nested
 * awaits, early return, yield), and the combinators: join, select (with
 * the losers dropped at once, their timers and wakers released), and
 * yield_now.
 */
#include <errno.h>
#include <string.h>

#include "common.h"

/* macros */

/* An async body with a loop, a conditional, an early return and a yield. */
struct looper {
	struct evfut_future base;
	unsigned resume;
	int i;
	int stop_at; /* early return after this round, or -1 */
	int yield_at;
	char log[32];
	int n;
	struct step step;
};

static enum evfut_poll
looper_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct looper *f = evfut_container_of(self, struct looper, base);

	EVFUT_ASYNC_BEGIN(f->resume);
	f->log[f->n++] = 'B';
	for (f->i = 0; f->i < 4; f->i++) {
		step_init(&f->step, f->i, 2);
		f->step.self_wake = 0;
		EVFUT_AWAIT(&f->step.base, cx);
		f->log[f->n++] = (char)('0' + f->i);
		if (f->i == f->yield_at) {
			EVFUT_YIELD(cx);
			f->log[f->n++] = 'y';
		}
		if (f->i == f->stop_at) {
			f->log[f->n++] = 'R';
			EVFUT_ASYNC_RETURN();
		}
	}
	f->log[f->n++] = 'E';
	EVFUT_ASYNC_END();
}

static void
looper_drop(struct evfut_future *self)
{
	struct looper *f = evfut_container_of(self, struct looper, base);

	if (!EVFUT_ASYNC_IS_DONE(f->resume) && f->resume != 0)
		evfut_future_drop(&f->step.base);
}

static void
looper_init(struct looper *f, int stop_at, int yield_at)
{
	memset(f, 0, sizeof(*f));
	f->base.poll = looper_poll;
	f->base.drop = looper_drop;
	f->stop_at = stop_at;
	f->yield_at = yield_at;
}

/* Polls until ready, kicking the step's stored waker between polls. */
static int
drive(struct looper *f, struct harness_counter *c)
{
	int polls = 0;

	for (;;) {
		polls++;
		if (poll_with(&f->base, c, NULL) == EVFUT_READY)
			return polls;
		ck_assert_int_lt(polls, 100);
		evfut_waker_wake(&f->step.waker);
	}
}

START_TEST(test_async_loop_runs_to_the_end)
{
	struct harness_counter c;
	struct looper f;

	harness_counter_init(&c);
	looper_init(&f, -1, -1);
	/* Each of the four awaits is pending once: five polls. */
	ck_assert_int_eq(drive(&f, &c), 5);
	ck_assert_str_eq(f.log, "B0123E");
	ck_assert(EVFUT_ASYNC_IS_DONE(f.resume));
	/* Polling a finished body again is harmless. */
	ck_assert_int_eq(poll_with(&f.base, &c, NULL), EVFUT_READY);
	ck_assert_str_eq(f.log, "B0123E");
	ck_assert_int_eq(atomic_load(&c.live), 0);
	ck_assert_int_eq(atomic_load(&c.wakes), 4);
}
END_TEST

START_TEST(test_async_early_return_and_yield)
{
	struct harness_counter c;
	struct looper f;

	harness_counter_init(&c);
	looper_init(&f, 2, 1);
	/* Awaits for rounds 0, 1, 2 (one pending poll each) and a yield. */
	ck_assert_int_eq(drive(&f, &c), 5);
	ck_assert_str_eq(f.log, "B01y2R");
	ck_assert(EVFUT_ASYNC_IS_DONE(f.resume));
	ck_assert_int_eq(atomic_load(&c.wake_by_refs), 1);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

START_TEST(test_async_drop_mid_body_drops_the_awaited_future)
{
	struct harness_counter c;
	struct looper f;

	harness_counter_init(&c);
	looper_init(&f, -1, -1);
	ck_assert_int_eq(poll_with(&f.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(atomic_load(&c.live), 1); /* the step keeps one */
	evfut_future_drop(&f.base);
	ck_assert_int_eq(f.step.drops, 1);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

/* A body that awaits two looper bodies in turn and waits for a flag. */
struct outer {
	struct evfut_future base;
	unsigned resume;
	struct looper inner;
	int round;
	int flag;
	int result;
};

static enum evfut_poll
outer_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct outer *f = evfut_container_of(self, struct outer, base);

	EVFUT_ASYNC_BEGIN(f->resume);
	for (f->round = 0; f->round < 2; f->round++) {
		looper_init(&f->inner, f->round, -1);
		EVFUT_AWAIT(&f->inner.base, cx);
		f->result += f->inner.n;
	}
	EVFUT_WAIT_UNTIL(f->flag);
	f->result += 100;
	EVFUT_ASYNC_END();
}

START_TEST(test_async_nested_bodies_resume_where_they_stopped)
{
	struct harness_counter c;
	struct outer f;
	int polls = 0;

	harness_counter_init(&c);
	memset(&f, 0, sizeof(f));
	f.base.poll = outer_poll;
	while (poll_with(&f.base, &c, NULL) == EVFUT_PENDING) {
		ck_assert_int_lt(++polls, 50);
		evfut_waker_wake(&f.inner.step.waker);
		if (polls == 10)
			f.flag = 1;
	}
	/* "B0R" (3) then "B01R" (4), then the flag. */
	ck_assert_int_eq(f.result, 107);
	ck_assert_int_eq(polls, 10);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

/* Tasks written with the macros, sleeping on a virtual clock. */
struct sleeper {
	struct evfut_future base;
	unsigned resume;
	int id;
	int i;
	int *log;
	int *log_n;
	struct evfut_sleep sleep;
};

static enum evfut_poll
sleeper_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct sleeper *f = evfut_container_of(self, struct sleeper, base);

	EVFUT_ASYNC_BEGIN(f->resume);
	for (f->i = 0; f->i < 3; f->i++) {
		evfut_sleep_init(&f->sleep,
		                 (evfut_nsec)(f->id + 1) * EVFUT_MSEC);
		EVFUT_AWAIT(&f->sleep.base, cx);
		ck_assert_int_eq(evfut_sleep_result(&f->sleep), 0);
		f->log[(*f->log_n)++] = f->id * 10 + f->i;
	}
	EVFUT_ASYNC_END();
}

static void
sleeper_drop(struct evfut_future *self)
{
	struct sleeper *f = evfut_container_of(self, struct sleeper, base);

	evfut_future_drop(&f->sleep.base);
}

START_TEST(test_async_tasks_interleave_in_deadline_order)
{
	struct evfut_runtime_options opts = {.clock = EVFUT_CLOCK_VIRTUAL};
	int log[6], n = 0;
	/* Deadlines: a at 2, 4, 6 ms; b at 3, 6, 9 ms. */
	static const int want[6] = {10, 20, 11, 21, 12, 22};

	harness_runtime_replace(&opts);
	for (int id = 1; id <= 2; id++) {
		struct sleeper s = {0};

		s.base.poll = sleeper_poll;
		s.base.drop = sleeper_drop;
		s.id = id;
		s.log = log;
		s.log_n = &n;
		ck_assert_int_eq(
		        evfut_task_spawn(harness_rt, &s.base, sizeof s), 0);
	}
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(n, 6);
	ck_assert_mem_eq(log, want, sizeof(want));
}
END_TEST

/* join */

START_TEST(test_async_join_completes_after_every_child)
{
	struct harness_counter c;
	struct step s[3];
	struct evfut_future *children[3] = {&s[0].base, &s[1].base, &s[2].base};
	struct evfut_join join;
	int order[3], n = 0;
	static const int want[3] = {1, 2, 0};
	static const int ready_at[3] = {4, 1, 2};

	harness_counter_init(&c);
	for (int i = 0; i < 3; i++) {
		step_init(&s[i], i, ready_at[i]);
		s[i].self_wake = 0;
		s[i].order = order;
		s[i].order_n = &n;
	}
	ck_assert_int_eq(evfut_join_init(&join, children, 3), 0);
	for (int round = 0; round < 3; round++) {
		ck_assert_int_eq(poll_with(&join.base, &c, NULL),
		                 EVFUT_PENDING);
		/* Every pending child keeps the task's waker. */
		ck_assert_int_eq(atomic_load(&c.live),
		                 3 - (long)join.completed);
	}
	ck_assert_int_eq(poll_with(&join.base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(join.completed, 3);
	ck_assert_mem_eq(order, want, sizeof(want));
	/* Each child was polled until ready and never after. */
	ck_assert_int_eq(s[0].polls, 4);
	ck_assert_int_eq(s[1].polls, 1);
	ck_assert_int_eq(s[2].polls, 2);
	evfut_future_drop(&join.base);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(s[i].drops, 1);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

START_TEST(test_async_join_of_many_and_of_none)
{
	enum { N = 130 };
	static struct step s[N];
	static struct evfut_future *children[N];
	struct evfut_join join;

	for (int i = 0; i < N; i++) {
		step_init(&s[i], i, 1 + i % 5);
		children[i] = &s[i].base;
	}
	ck_assert_int_eq(evfut_join_init(&join, children, N), 0);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &join.base), 0);
	ck_assert_int_eq(join.completed, N);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(s[i].polls, 1 + i % 5);
	evfut_future_drop(&join.base);
	evfut_future_drop(&join.base); /* a second drop does nothing */
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(s[i].drops, 1);

	ck_assert_int_eq(evfut_join_init(&join, NULL, 0), 0);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &join.base), 0);
	evfut_future_drop(&join.base);
}
END_TEST

/* A completed join holds nothing: re-initialising it leaks nothing. */
START_TEST(test_async_completed_join_of_many_holds_nothing)
{
	enum { N = 65 };
	static struct step s[N];
	static struct evfut_future *children[N];
	struct harness_counter c;
	struct evfut_join join;

	harness_counter_init(&c);
	harness_alloc_fail_at(0);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			step_init(&s[i], i, 1);
			children[i] = &s[i].base;
		}
		ck_assert_int_eq(evfut_join_init(&join, children, N), 0);
		ck_assert_int_eq(harness_alloc_live(), 1); /* the bitmap */
		ck_assert_int_eq(poll_with(&join.base, &c, NULL), EVFUT_READY);
		ck_assert_int_eq(harness_alloc_live(), 0);
		/* Polled again, still complete, polling no child. */
		ck_assert_int_eq(poll_with(&join.base, &c, NULL), EVFUT_READY);
	}
	harness_alloc_restore();
}
END_TEST

START_TEST(test_async_join_dropped_early_drops_pending_children)
{
	struct harness_counter c;
	struct step s[2];
	struct evfut_future *children[2] = {&s[0].base, &s[1].base};
	struct evfut_join join;

	harness_counter_init(&c);
	step_init(&s[0], 0, 1);
	step_init(&s[1], 1, 9);
	s[1].self_wake = 0;
	ck_assert_int_eq(evfut_join_init(&join, children, 2), 0);
	ck_assert_int_eq(poll_with(&join.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(atomic_load(&c.live), 1);
	evfut_future_drop(&join.base);
	ck_assert_int_eq(s[0].drops, 1);
	ck_assert_int_eq(s[1].drops, 1);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

/* select */

START_TEST(test_async_select_first_wins_and_losers_drop_at_once)
{
	struct harness_counter c;
	struct step s[3];
	struct evfut_future *children[3] = {&s[0].base, &s[1].base, &s[2].base};
	struct evfut_select sel;

	harness_counter_init(&c);
	step_init(&s[0], 0, 5);
	step_init(&s[1], 1, 2);
	step_init(&s[2], 2, 2);
	for (int i = 0; i < 3; i++)
		s[i].self_wake = 0;
	ck_assert_int_eq(evfut_select_init(&sel, children, 3), 0);
	ck_assert_int_eq(poll_with(&sel.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(atomic_load(&c.live), 3);
	/* 1 and 2 are both ready at the second poll: the lower index wins. */
	ck_assert_int_eq(poll_with(&sel.base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(sel.index, 1);
	ck_assert_int_eq(s[0].drops, 1);
	ck_assert_int_eq(s[1].drops, 0); /* the winner keeps its result */
	ck_assert_int_eq(s[2].drops, 1);
	ck_assert_int_eq(s[2].polls, 1); /* not polled once a winner is found */
	ck_assert_int_eq(atomic_load(&c.live), 0);
	evfut_future_drop(&sel.base);
	ck_assert_int_eq(s[1].drops, 1);
	ck_assert_int_eq(s[0].drops, 1);
}
END_TEST

START_TEST(test_async_select_releases_losing_timers_and_wakers)
{
	struct evfut_runtime_options opts = {.clock = EVFUT_CLOCK_VIRTUAL};
	struct harness_counter c;
	struct evfut_sleep sleeps[3];
	struct evfut_future *children[3] = {&sleeps[0].base, &sleeps[1].base,
	                                    &sleeps[2].base};
	struct evfut_select sel;
	struct evfut_stats before, after;

	harness_runtime_replace(&opts);
	harness_counter_init(&c);
	evfut_sleep_init(&sleeps[0], EVFUT_SEC);
	evfut_sleep_init(&sleeps[1], 10 * EVFUT_MSEC);
	evfut_sleep_init(&sleeps[2], 3600 * EVFUT_SEC);
	ck_assert_int_eq(evfut_select_init(&sel, children, 3), 0);
	ck_assert_int_eq(poll_with(&sel.base, &c, harness_rt), EVFUT_PENDING);
	/* Three armed timers, each holding a clone of the waker. */
	ck_assert_int_eq(atomic_load(&c.live), 3);
	ck_assert_int_eq(evfut_runtime_advance(harness_rt, 10 * EVFUT_MSEC), 0);
	ck_assert_int_eq(atomic_load(&c.wakes), 1);
	ck_assert_int_eq(poll_with(&sel.base, &c, harness_rt), EVFUT_READY);
	ck_assert_int_eq(sel.index, 1);
	ck_assert_int_eq(evfut_sleep_result(&sleeps[1]), 0);
	/* The losers were disarmed: no waker left, and no timer fires. */
	ck_assert_int_eq(atomic_load(&c.live), 0);
	before = harness_stats(harness_rt);
	ck_assert_int_eq(evfut_runtime_advance(harness_rt, 7200 * EVFUT_SEC),
	                 0);
	after = harness_stats(harness_rt);
	ck_assert_uint_eq(after.timers_fired, before.timers_fired);
	ck_assert_int_eq(atomic_load(&c.wakes), 1);
	evfut_future_drop(&sel.base);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

START_TEST(test_async_select_dropped_before_a_winner_drops_all)
{
	struct harness_counter c;
	struct step s[2];
	struct evfut_future *children[2] = {&s[0].base, &s[1].base};
	struct evfut_select sel;

	harness_counter_init(&c);
	step_init(&s[0], 0, 5);
	step_init(&s[1], 1, 5);
	s[0].self_wake = s[1].self_wake = 0;
	ck_assert_int_eq(evfut_select_init(&sel, children, 2), 0);
	ck_assert_int_eq(poll_with(&sel.base, &c, NULL), EVFUT_PENDING);
	evfut_future_drop(&sel.base);
	ck_assert_int_eq(s[0].drops, 1);
	ck_assert_int_eq(s[1].drops, 1);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

/* yield */

START_TEST(test_async_yield_now_is_pending_once_after_waking)
{
	struct harness_counter c;
	struct evfut_yield y;

	harness_counter_init(&c);
	evfut_yield_init(&y);
	ck_assert_int_eq(poll_with(&y.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(atomic_load(&c.wake_by_refs), 1);
	ck_assert_int_eq(atomic_load(&c.live), 0);
	ck_assert_int_eq(poll_with(&y.base, &c, NULL), EVFUT_READY);
	evfut_future_drop(&y.base);
	evfut_yield_init(&y);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &y.base), 0);
}
END_TEST

/* errors */

START_TEST(test_async_combinators_reject_bad_arguments)
{
	struct step s;
	struct evfut_future *children[2] = {&s.base, NULL};
	struct evfut_future nopoll = {NULL, NULL};
	struct evfut_future *bad[1] = {&nopoll};
	struct evfut_join join;
	struct evfut_select sel;

	step_init(&s, 0, 1);
	ck_assert_int_eq(evfut_join_init(NULL, children, 1), -EINVAL);
	ck_assert_int_eq(evfut_join_init(&join, NULL, 1), -EINVAL);
	ck_assert_int_eq(evfut_join_init(&join, children, 2), -EINVAL);
	ck_assert_int_eq(evfut_join_init(&join, bad, 1), -EINVAL);
	ck_assert_int_eq(evfut_select_init(NULL, children, 1), -EINVAL);
	ck_assert_int_eq(evfut_select_init(&sel, NULL, 1), -EINVAL);
	ck_assert_int_eq(evfut_select_init(&sel, children, 0), -EINVAL);
	ck_assert_int_eq(evfut_select_init(&sel, children, 2), -EINVAL);
	ck_assert_int_eq(evfut_select_init(&sel, bad, 1), -EINVAL);
}
END_TEST

START_TEST(test_async_join_of_many_reports_enomem)
{
	enum { N = 65 };
	static struct step s[N];
	static struct evfut_future *children[N];
	struct evfut_join join;

	for (int i = 0; i < N; i++) {
		step_init(&s[i], i, 1);
		children[i] = &s[i].base;
	}
	harness_alloc_fail_at(1);
	ck_assert_int_eq(evfut_join_init(&join, children, N), -ENOMEM);
	ck_assert_int_eq(harness_alloc_live(), 0);
	/* Up to 64 children, nothing is allocated. */
	harness_alloc_fail_at(0);
	ck_assert_int_eq(evfut_join_init(&join, children, 64), 0);
	ck_assert_uint_eq(harness_alloc_calls(), 0);
	evfut_future_drop(&join.base);
}
END_TEST

static Suite *
async_suite(void)
{
	Suite *s = suite_create("async");
	TCase *tc;

	tc = tcase_create("macros");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_async_loop_runs_to_the_end);
	tcase_add_test(tc, test_async_early_return_and_yield);
	tcase_add_test(tc, test_async_drop_mid_body_drops_the_awaited_future);
	tcase_add_test(tc, test_async_nested_bodies_resume_where_they_stopped);
	tcase_add_test(tc, test_async_tasks_interleave_in_deadline_order);
	suite_add_tcase(s, tc);

	tc = tcase_create("join");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_async_join_completes_after_every_child);
	tcase_add_test(tc, test_async_join_of_many_and_of_none);
	tcase_add_test(tc, test_async_completed_join_of_many_holds_nothing);
	tcase_add_test(tc,
	               test_async_join_dropped_early_drops_pending_children);
	suite_add_tcase(s, tc);

	tc = tcase_create("select");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc,
	               test_async_select_first_wins_and_losers_drop_at_once);
	tcase_add_test(tc, test_async_select_releases_losing_timers_and_wakers);
	tcase_add_test(tc, test_async_select_dropped_before_a_winner_drops_all);
	suite_add_tcase(s, tc);

	tc = tcase_create("yield");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_async_yield_now_is_pending_once_after_waking);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_async_combinators_reject_bad_arguments);
	tcase_add_test(tc, test_async_join_of_many_reports_enomem);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(async_suite());
}
