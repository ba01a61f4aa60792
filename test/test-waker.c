/*
 * Suite "waker": the waker contract (clone/drop balance through every path,
 * will_wake, the empty and no-op wakers) and the task waker's lifetime.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "harness.h"

#include "../runtime/runtime.h"

/* contract */

START_TEST(test_waker_store_clones_into_empty_slot)
{
	struct harness_counter c;
	struct evfut_waker w, slot = EVFUT_WAKER_EMPTY;

	harness_counter_init(&c);
	w = harness_counter_waker(&c);
	evfut_waker_store(&slot, &w);
	ck_assert_ptr_eq(slot.data, &c);
	ck_assert_ptr_eq(slot.vtable, w.vtable);
	ck_assert_int_eq(c.clones, 1);
	ck_assert_int_eq(c.live, 2);
	evfut_waker_drop(&slot);
	ck_assert(evfut_waker_is_empty(&slot));
	evfut_waker_drop(&w);
	ck_assert_int_eq(c.drops, 2);
	ck_assert_int_eq(c.live, 0);
}
END_TEST

START_TEST(test_waker_store_replaces_and_drops_old)
{
	struct harness_counter a, b;
	struct evfut_waker wa, wb, slot = EVFUT_WAKER_EMPTY;

	harness_counter_init(&a);
	harness_counter_init(&b);
	wa = harness_counter_waker(&a);
	wb = harness_counter_waker(&b);
	evfut_waker_store(&slot, &wa);
	evfut_waker_store(&slot, &wb);
	ck_assert_ptr_eq(slot.data, &b);
	ck_assert_int_eq(a.clones, 1);
	ck_assert_int_eq(a.drops, 1);
	ck_assert_int_eq(a.live, 1);
	ck_assert_int_eq(b.clones, 1);
	ck_assert_int_eq(b.drops, 0);
	ck_assert_int_eq(b.live, 2);
	evfut_waker_drop(&slot);
	evfut_waker_drop(&wa);
	evfut_waker_drop(&wb);
	ck_assert_int_eq(a.live, 0);
	ck_assert_int_eq(b.live, 0);
}
END_TEST

START_TEST(test_waker_store_same_waker_skips_clone_and_drop)
{
	struct harness_counter c;
	struct evfut_waker w, again, slot = EVFUT_WAKER_EMPTY;

	harness_counter_init(&c);
	w = harness_counter_waker(&c);
	evfut_waker_store(&slot, &w);
	evfut_waker_store(&slot, &w);
	/* Another owned waker for the same target is "the same" too. */
	again = evfut_waker_clone(&w);
	evfut_waker_store(&slot, &again);
	evfut_waker_store(&slot, &slot);
	ck_assert_int_eq(c.clones, 2);
	ck_assert_int_eq(c.drops, 0);
	ck_assert_int_eq(c.live, 3);
	evfut_waker_drop(&again);
	evfut_waker_drop(&slot);
	evfut_waker_drop(&w);
	ck_assert_int_eq(c.live, 0);
}
END_TEST

START_TEST(test_waker_wake_consumes_the_slot)
{
	struct harness_counter c;
	struct evfut_waker w, slot = EVFUT_WAKER_EMPTY;

	harness_counter_init(&c);
	w = harness_counter_waker(&c);
	evfut_waker_store(&slot, &w);
	evfut_waker_wake(&slot);
	ck_assert(evfut_waker_is_empty(&slot));
	ck_assert_ptr_null(slot.data);
	ck_assert_int_eq(c.wakes, 1);
	ck_assert_int_eq(c.drops, 0);
	ck_assert_int_eq(c.live, 1);
	/* The slot is empty now: waking or dropping it again does nothing. */
	evfut_waker_wake(&slot);
	evfut_waker_drop(&slot);
	ck_assert_int_eq(c.wakes, 1);
	ck_assert_int_eq(c.drops, 0);
	evfut_waker_drop(&w);
	ck_assert_int_eq(c.live, 0);
}
END_TEST

START_TEST(test_waker_wake_by_ref_keeps_the_reference)
{
	struct harness_counter c;
	struct evfut_waker w;

	harness_counter_init(&c);
	w = harness_counter_waker(&c);
	evfut_waker_wake_by_ref(&w);
	evfut_waker_wake_by_ref(&w);
	ck_assert(!evfut_waker_is_empty(&w));
	ck_assert_int_eq(c.wake_by_refs, 2);
	ck_assert_int_eq(c.wakes, 0);
	ck_assert_int_eq(c.live, 1);
	evfut_waker_wake(&w);
	ck_assert_int_eq(c.live, 0);
}
END_TEST

START_TEST(test_waker_empty_is_inert)
{
	struct evfut_waker empty = EVFUT_WAKER_EMPTY, copy;

	ck_assert(evfut_waker_is_empty(&empty));
	copy = evfut_waker_clone(&empty);
	ck_assert(evfut_waker_is_empty(&copy));
	ck_assert_ptr_null(copy.data);
	evfut_waker_wake_by_ref(&empty);
	evfut_waker_wake(&empty);
	evfut_waker_drop(&empty);
	ck_assert(evfut_waker_is_empty(&empty));
	ck_assert(evfut_waker_will_wake(&empty, &copy));
	/* Storing the empty waker into an empty slot does nothing. */
	evfut_waker_store(&copy, &empty);
	ck_assert(evfut_waker_is_empty(&copy));
}
END_TEST

START_TEST(test_waker_store_empty_drops_old)
{
	struct harness_counter c;
	struct evfut_waker w, slot = EVFUT_WAKER_EMPTY;
	struct evfut_waker empty = EVFUT_WAKER_EMPTY;

	harness_counter_init(&c);
	w = harness_counter_waker(&c);
	evfut_waker_store(&slot, &w);
	evfut_waker_store(&slot, &empty);
	ck_assert(evfut_waker_is_empty(&slot));
	ck_assert_int_eq(c.drops, 1);
	evfut_waker_drop(&w);
	ck_assert_int_eq(c.live, 0);
}
END_TEST

START_TEST(test_waker_will_wake_compares_data_and_vtable)
{
	struct harness_counter a, b;
	struct evfut_waker wa, wa2, wb, dup_waker, noop;
	/* A duplicate of the counting vtable: same slots, another address. */
	static struct evfut_waker_vtable dup;

	harness_counter_init(&a);
	harness_counter_init(&b);
	wa = harness_counter_waker(&a);
	wa2 = evfut_waker_clone(&wa);
	wb = harness_counter_waker(&b);
	dup = *wa.vtable;
	dup_waker.data = &a;
	dup_waker.vtable = &dup;
	noop = evfut_waker_noop();

	ck_assert(evfut_waker_will_wake(&wa, &wa));
	ck_assert(evfut_waker_will_wake(&wa, &wa2));
	ck_assert(!evfut_waker_will_wake(&wa, &wb));
	ck_assert(!evfut_waker_will_wake(&wa, &dup_waker));
	ck_assert(!evfut_waker_will_wake(&dup_waker, &wa));
	ck_assert(!evfut_waker_will_wake(&wa, &noop));
	evfut_waker_drop(&wa);
	evfut_waker_drop(&wa2);
	evfut_waker_drop(&wb);
	ck_assert_int_eq(a.live, 0);
	ck_assert_int_eq(b.live, 0);
}
END_TEST

START_TEST(test_waker_noop_does_nothing)
{
	struct evfut_waker noop = evfut_waker_noop();
	struct evfut_waker other = evfut_waker_noop();
	struct evfut_waker copy, slot = EVFUT_WAKER_EMPTY;

	ck_assert(!evfut_waker_is_empty(&noop));
	ck_assert(evfut_waker_will_wake(&noop, &other));
	copy = evfut_waker_clone(&noop);
	ck_assert(evfut_waker_will_wake(&noop, &copy));
	evfut_waker_store(&slot, &noop);
	ck_assert(evfut_waker_will_wake(&slot, &noop));
	evfut_waker_wake_by_ref(&copy);
	evfut_waker_wake(&copy);
	ck_assert(evfut_waker_is_empty(&copy));
	evfut_waker_drop(&slot);
	evfut_waker_drop(&other);
	evfut_waker_drop(&noop);
	ck_assert(evfut_waker_is_empty(&noop));
}
END_TEST

/* cancel: a future that stores the waker of each poll, in one slot. */

struct holder {
	struct evfut_future base;
	struct evfut_waker slot;
	struct harness_counter *extra; /* a second waker to hold, or NULL */
	struct evfut_waker extra_slot;
	int *drops;
};

static enum evfut_poll
holder_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct holder *h = evfut_container_of(self, struct holder, base);

	evfut_waker_store(&h->slot, cx->waker);
	if (h->extra != NULL && evfut_waker_is_empty(&h->extra_slot)) {
		struct evfut_waker w = harness_counter_waker(h->extra);

		evfut_waker_store(&h->extra_slot, &w);
		evfut_waker_drop(&w);
	}
	return EVFUT_PENDING;
}

static void
holder_drop(struct evfut_future *self)
{
	struct holder *h = evfut_container_of(self, struct holder, base);

	evfut_waker_drop(&h->slot);
	evfut_waker_drop(&h->extra_slot);
	(*h->drops)++;
}

START_TEST(test_waker_future_drop_releases_its_clone)
{
	struct harness_counter c;
	struct evfut_waker w;
	struct evfut_context cx;
	int drops = 0;
	struct holder h = {EVFUT_FUTURE_INIT(holder_poll, holder_drop),
	                   EVFUT_WAKER_EMPTY, NULL, EVFUT_WAKER_EMPTY, &drops};

	harness_counter_init(&c);
	w = harness_counter_waker(&c);
	cx.waker = &w;
	cx.runtime = NULL;
	/* Three polls with the same waker clone once. */
	ck_assert_int_eq(evfut_future_poll(&h.base, &cx), EVFUT_PENDING);
	ck_assert_int_eq(evfut_future_poll(&h.base, &cx), EVFUT_PENDING);
	ck_assert_int_eq(evfut_future_poll(&h.base, &cx), EVFUT_PENDING);
	ck_assert_int_eq(c.clones, 1);
	ck_assert_int_eq(c.live, 2);
	evfut_future_drop(&h.base);
	ck_assert_int_eq(drops, 1);
	ck_assert_int_eq(c.drops, 1);
	ck_assert_int_eq(c.live, 1);
	evfut_waker_drop(&w);
	ck_assert_int_eq(c.live, 0);
	/* Dropping NULL, or a future without a drop function, is allowed. */
	evfut_future_drop(NULL);
}
END_TEST

static enum evfut_poll
ready_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	(void)cx;
	return EVFUT_READY;
}

START_TEST(test_waker_destroy_drops_wakers_of_cancelled_tasks)
{
	struct evfut_runtime *rt = harness_runtime_take();
	struct harness_counter c;
	int drops = 0;
	struct holder h = {EVFUT_FUTURE_INIT(holder_poll, holder_drop),
	                   EVFUT_WAKER_EMPTY, &c, EVFUT_WAKER_EMPTY, &drops};
	struct evfut_future ready = EVFUT_FUTURE_INIT(ready_poll, NULL);
	struct evfut_stats stats;

	harness_counter_init(&c);
	ck_assert_int_eq(evfut_task_spawn(rt, &h.base, sizeof(h)), 0);
	ck_assert_int_eq(evfut_task_spawn(rt, &h.base, sizeof(h)), 0);
	/* The root runs after both: each keeps a counting waker. */
	ck_assert_int_eq(evfut_runtime_block_on(rt, &ready), 0);
	ck_assert_int_eq(c.clones, 2);
	ck_assert_int_eq(c.drops, 2); /* the temporaries of holder_poll() */
	ck_assert_int_eq(c.live, 2);
	/* And one that is never polled. */
	ck_assert_int_eq(evfut_task_spawn(rt, &h.base, sizeof(h)), 0);
	stats = harness_stats(rt);
	ck_assert_uint_eq(stats.tasks_live, 3);
	ck_assert_int_eq(drops, 0);
	evfut_runtime_destroy(rt);
	ck_assert_int_eq(drops, 3);
	ck_assert_int_eq(c.drops, 4);
	ck_assert_int_eq(c.wakes, 0);
	ck_assert_int_eq(c.live, 0);
}
END_TEST

/* task-wakers */

static struct evfut_waker saved = EVFUT_WAKER_EMPTY;

struct ready_once {
	struct evfut_future base;
	int polls;
	int *drops;
};

/* Keeps a clone of its task's waker in `saved`, and is ready at once. */
static enum evfut_poll
ready_once_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct ready_once *f =
	        evfut_container_of(self, struct ready_once, base);

	f->polls++;
	evfut_waker_store(&saved, cx->waker);
	return EVFUT_READY;
}

static void
ready_once_drop(struct evfut_future *self)
{
	struct ready_once *f =
	        evfut_container_of(self, struct ready_once, base);

	(*f->drops)++;
}

START_TEST(test_waker_wake_after_completion_is_noop)
{
	int drops = 0;
	struct ready_once f = {
	        EVFUT_FUTURE_INIT(ready_once_poll, ready_once_drop), 0, &drops};
	struct evfut_stats stats;

	ck_assert_int_eq(evfut_task_spawn(harness_rt, &f.base, sizeof(f)), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(drops, 1);
	ck_assert(!evfut_waker_is_empty(&saved));
	/* The task is complete: these schedule nothing and free nothing. */
	evfut_waker_wake_by_ref(&saved);
	evfut_waker_wake_by_ref(&saved);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	/* The last reference goes: the task is freed here, once. */
	evfut_waker_wake(&saved);
	ck_assert(evfut_waker_is_empty(&saved));
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	stats = harness_stats(harness_rt);
	ck_assert_uint_eq(stats.polls, 1);
	ck_assert_uint_eq(stats.tasks_completed, 1);
	ck_assert_uint_eq(stats.wakes_local + stats.wakes_remote, 0);
	ck_assert_int_eq(drops, 1);
}
END_TEST

struct embedded {
	struct evfut_task task;
	struct ready_once future;
	int releases;
};

static void
embedded_release(struct evfut_task *task)
{
	struct embedded *e = evfut_container_of(task, struct embedded, task);

	e->releases++;
}

START_TEST(test_waker_task_lives_until_last_waker_dropped)
{
	int drops = 0;
	struct embedded e = {.releases = 0};
	struct evfut_waker second;

	e.future.base.poll = ready_once_poll;
	e.future.base.drop = ready_once_drop;
	e.future.drops = &drops;
	ck_assert_int_eq(evfut_task_start(harness_rt, &e.task, &e.future.base,
	                                  embedded_release),
	                 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	/* Finished and its future dropped, but wakers still refer to it. */
	ck_assert_int_eq(e.future.polls, 1);
	ck_assert_int_eq(drops, 1);
	ck_assert_int_eq(e.releases, 0);
	second = evfut_waker_clone(&saved);
	evfut_waker_drop(&saved);
	ck_assert_int_eq(e.releases, 0);
	evfut_waker_wake(&second);
	ck_assert_int_eq(e.releases, 1);
	ck_assert_int_eq(drops, 1);
}
END_TEST

/* Checks, from inside a poll, that a task waker is a counted reference. */
struct counted {
	struct evfut_future base;
	struct evfut_task *task;
	unsigned refs_before, refs_cloned, refs_stored, refs_after;
	bool same_twice;
};

static unsigned
refs_of(struct evfut_task *task)
{
	struct evfut_runtime *rt = task->runtime;
	unsigned debt = rt->debt_task == task ? rt->debt : 0;

	/* Drops on the runtime's thread are counted as a debt first. */
	return __atomic_load_n(&task->refs, __ATOMIC_RELAXED) - debt;
}

static enum evfut_poll
counted_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct counted *f = evfut_container_of(self, struct counted, base);
	struct evfut_waker slot = EVFUT_WAKER_EMPTY;

	f->refs_before = refs_of(f->task);
	evfut_waker_store(&slot, cx->waker);
	f->refs_cloned = refs_of(f->task);
	evfut_waker_store(&slot, cx->waker);
	f->refs_stored = refs_of(f->task);
	f->same_twice = evfut_waker_will_wake(&slot, cx->waker);
	evfut_waker_drop(&slot);
	f->refs_after = refs_of(f->task);
	return EVFUT_READY;
}

static void
count_release(struct evfut_task *task)
{
	(void)task;
}

START_TEST(test_waker_task_clone_is_a_counted_reference)
{
	struct evfut_task task;
	struct counted f = {EVFUT_FUTURE_INIT(counted_poll, NULL),
	                    &task,
	                    0,
	                    0,
	                    0,
	                    0,
	                    false};

	ck_assert_int_eq(
	        evfut_task_start(harness_rt, &task, &f.base, count_release), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_uint_eq(f.refs_cloned, f.refs_before + 1);
	ck_assert_uint_eq(f.refs_stored, f.refs_cloned);
	ck_assert_uint_eq(f.refs_after, f.refs_before);
	ck_assert(f.same_twice);
}
END_TEST

static Suite *
waker_suite(void)
{
	Suite *s = suite_create("waker");
	TCase *tc;

	tc = tcase_create("contract");
	tcase_add_test(tc, test_waker_store_clones_into_empty_slot);
	tcase_add_test(tc, test_waker_store_replaces_and_drops_old);
	tcase_add_test(tc, test_waker_store_same_waker_skips_clone_and_drop);
	tcase_add_test(tc, test_waker_wake_consumes_the_slot);
	tcase_add_test(tc, test_waker_wake_by_ref_keeps_the_reference);
	tcase_add_test(tc, test_waker_empty_is_inert);
	tcase_add_test(tc, test_waker_store_empty_drops_old);
	suite_add_tcase(s, tc);

	tc = tcase_create("will-wake");
	tcase_add_test(tc, test_waker_will_wake_compares_data_and_vtable);
	tcase_add_test(tc, test_waker_noop_does_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("cancel");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_waker_future_drop_releases_its_clone);
	tcase_add_test(tc, test_waker_destroy_drops_wakers_of_cancelled_tasks);
	suite_add_tcase(s, tc);

	tc = tcase_create("task-wakers");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_waker_wake_after_completion_is_noop);
	tcase_add_test(tc, test_waker_task_lives_until_last_waker_dropped);
	tcase_add_test(tc, test_waker_task_clone_is_a_counted_reference);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return harness_main(waker_suite());
}
