/*
 * Suite "task-api": abort at once, abort handles (from any thread, while
 * the join is awaited), task sets (tokio's JoinSet: next in the order
 * tasks finish, abort all, drop aborts and releases), spawned futures'
 * alignment, and the cooperative budget timers spend. The cases follow
 * tokio's tests/task_abort.rs and tests/task_join_set.rs.
 *
 * Run: meson test -C build --suite core
 */
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include <event2/event.h>

#include "harness.h"

#define MS EVFUT_MSEC

static void
use_virtual_clock(void)
{
	struct evfut_runtime_options options = {.clock = EVFUT_CLOCK_VIRTUAL};

	harness_runtime_replace(&options);
}

/* Sleeps @ms on the runtime's clock, then records its id in order. */
struct sleeper {
	struct evfut_future base;
	struct evfut_sleep sleep;
	int id;
	int *drops;
	int *order; /* the ids, in the order they completed */
	int *count;
};

static enum evfut_poll
sleeper_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct sleeper *s = evfut_container_of(self, struct sleeper, base);

	if (evfut_future_poll(&s->sleep.base, cx) == EVFUT_PENDING)
		return EVFUT_PENDING;
	if (s->order != NULL)
		s->order[(*s->count)++] = s->id;
	return EVFUT_READY;
}

static void
sleeper_drop(struct evfut_future *self)
{
	struct sleeper *s = evfut_container_of(self, struct sleeper, base);

	evfut_future_drop(&s->sleep.base);
	if (s->drops != NULL)
		(*s->drops)++;
}

static struct sleeper
sleeper(int id, evfut_nsec ms, int *drops)
{
	struct sleeper s = {
	        .base = EVFUT_FUTURE_INIT(sleeper_poll, sleeper_drop),
	        .id = id,
	        .drops = drops};

	evfut_sleep_init(&s.sleep, ms * MS);
	return s;
}

/* Runs the loop until every task is parked. */
static void
settle(void)
{
	struct evfut_sleep nap;

	evfut_sleep_init(&nap, 0);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &nap.base), 0);
	evfut_future_drop(&nap.base);
}

static int
join(struct evfut_join_handle *handle)
{
	struct evfut_task_join j;
	int rc;

	evfut_task_join_init(&j, handle);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &j.base), 0);
	rc = j.result;
	evfut_future_drop(&j.base);
	return rc;
}

/* abort */

/* The future of an idle task is dropped within evfut_task_abort(). */
START_TEST(test_task_abort_drops_an_idle_future_at_once)
{
	int drops = 0;
	struct sleeper s = sleeper(0, 1000, &drops);
	struct evfut_join_handle handle;

	ck_assert_int_eq(evfut_task_spawn_joinable(harness_rt, &s.base,
	                                           sizeof s, &handle),
	                 0);
	settle();
	ck_assert_int_eq(drops, 0);
	evfut_task_abort(&handle);
	ck_assert_int_eq(drops, 1);
	ck_assert(evfut_task_finished(&handle));
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_live, 0);
	ck_assert_int_eq(join(&handle), -ECANCELED);
}
END_TEST

/* Queued, never polled: dropped at once too, and never polled after. */
START_TEST(test_task_abort_drops_a_queued_future_at_once)
{
	int drops = 0;
	struct sleeper s = sleeper(0, 1000, &drops);
	struct evfut_join_handle handle;
	uint64_t polls;

	ck_assert_int_eq(evfut_task_spawn_joinable(harness_rt, &s.base,
	                                           sizeof s, &handle),
	                 0);
	polls = harness_stats(harness_rt).polls;
	evfut_task_abort(&handle);
	ck_assert_int_eq(drops, 1);
	ck_assert_int_eq(join(&handle), -ECANCELED);
	/* The join's root was polled; the aborted task never was. */
	ck_assert_uint_eq(harness_stats(harness_rt).polls, polls + 1);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_held, 0);
}
END_TEST

/* A task that aborts itself finishes after its poll, not in it. */
struct self_aborter {
	struct evfut_future base;
	int *drops;
	int dropped_in_poll;
};

static struct evfut_abort_handle own_abort;

static enum evfut_poll
self_aborter_poll(struct evfut_future *f, struct evfut_context *cx)
{
	struct self_aborter *a =
	        evfut_container_of(f, struct self_aborter, base);
	int before = *a->drops;

	(void)cx;
	evfut_abort_handle_abort(&own_abort);
	a->dropped_in_poll = *a->drops != before;
	return EVFUT_PENDING;
}

static void
self_aborter_drop(struct evfut_future *f)
{
	struct self_aborter *a =
	        evfut_container_of(f, struct self_aborter, base);

	ck_assert_int_eq(a->dropped_in_poll, 0);
	(*a->drops)++;
}

/* abort handles */

/* Awaits a join in a task of its own. */
struct joiner {
	struct evfut_future base;
	struct evfut_task_join join;
	int *result;
};

static enum evfut_poll
joiner_poll(struct evfut_future *f, struct evfut_context *cx)
{
	struct joiner *j = evfut_container_of(f, struct joiner, base);

	if (evfut_future_poll(&j->join.base, cx) == EVFUT_PENDING)
		return EVFUT_PENDING;
	*j->result = j->join.result;
	return EVFUT_READY;
}

static void
joiner_drop(struct evfut_future *f)
{
	evfut_future_drop(
	        &evfut_container_of(f, struct joiner, base)->join.base);
}

static struct evfut_abort_handle *the_abort;
static int *the_drops;

static enum evfut_poll
aborter_poll(struct evfut_future *f, struct evfut_context *cx)
{
	(void)f;
	(void)cx;
	evfut_abort_handle_abort(the_abort);
	ck_assert_int_eq(*the_drops, 1);
	return EVFUT_READY;
}

/* tokio's test_abort_wakes_task_3964: the awaiting join is woken. */
START_TEST(test_task_abort_handle_aborts_while_the_join_is_awaited)
{
	int drops = 0;
	int result = 1;
	struct sleeper s = sleeper(0, 1000, &drops);
	struct joiner j = {.base = EVFUT_FUTURE_INIT(joiner_poll, joiner_drop),
	                   .result = &result};
	struct evfut_join_handle handle;
	struct evfut_abort_handle abort;

	ck_assert_int_eq(evfut_task_spawn_joinable(harness_rt, &s.base,
	                                           sizeof s, &handle),
	                 0);
	ck_assert_int_eq(evfut_task_abort_handle(&handle, &abort), 0);
	evfut_task_join_init(&j.join, &handle);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &j.base, sizeof j), 0);
	settle();
	ck_assert(!evfut_abort_handle_finished(&abort));
	ck_assert_int_eq(result, 1);
	/* From a task of the runtime: dropped within the call. */
	the_abort = &abort;
	the_drops = &drops;
	{
		struct evfut_future a = EVFUT_FUTURE_INIT(aborter_poll, NULL);

		ck_assert_int_eq(evfut_task_spawn(harness_rt, &a, sizeof a), 0);
	}
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert(evfut_abort_handle_finished(&abort));
	ck_assert_int_eq(result, -ECANCELED);
	evfut_abort_handle_abort(&abort); /* finished: nothing */
	evfut_abort_handle_drop(&abort);
	evfut_abort_handle_drop(&abort); /* emptied: nothing */
	evfut_abort_handle_drop(NULL);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_held, 0);
}
END_TEST

START_TEST(test_task_abort_handle_of_its_own_task_ends_it_after_the_poll)
{
	int drops = 0;
	struct self_aborter a = {
	        .base = EVFUT_FUTURE_INIT(self_aborter_poll, self_aborter_drop),
	        .drops = &drops};
	struct evfut_join_handle handle;

	ck_assert_int_eq(evfut_task_spawn_joinable(harness_rt, &a.base,
	                                           sizeof a, &handle),
	                 0);
	ck_assert_int_eq(evfut_task_abort_handle(&handle, &own_abort), 0);
	ck_assert_int_eq(join(&handle), -ECANCELED);
	ck_assert_int_eq(drops, 1);
	evfut_abort_handle_drop(&own_abort);
}
END_TEST

struct remote_abort {
	struct evfut_abort_handle handle;
	pthread_t thread;
};

static void *
abort_thread(void *arg)
{
	struct remote_abort *r = arg;

	evfut_abort_handle_abort(&r->handle);
	evfut_abort_handle_drop(&r->handle);
	return NULL;
}

/* tokio's remote_abort_local_set_3929: an abort from another thread. */
START_TEST(test_task_abort_handle_works_from_another_thread)
{
	int drops = 0;
	struct sleeper s = sleeper(0, 3600 * 1000, &drops);
	struct evfut_join_handle handle;
	struct remote_abort r;

	ck_assert_int_eq(evfut_task_spawn_joinable(harness_rt, &s.base,
	                                           sizeof s, &handle),
	                 0);
	ck_assert_int_eq(evfut_task_abort_handle(&handle, &r.handle), 0);
	settle();
	ck_assert_int_eq(pthread_create(&r.thread, NULL, abort_thread, &r), 0);
	/* The join sees -ECANCELED whenever the abort lands. */
	ck_assert_int_eq(join(&handle), -ECANCELED);
	ck_assert_int_eq(pthread_join(r.thread, NULL), 0);
	ck_assert_int_eq(drops, 1);
}
END_TEST

/* An abort that comes after the runtime is gone does nothing. */
START_TEST(test_task_abort_handle_outlives_the_runtime)
{
	struct evfut_runtime *rt = harness_runtime_take();
	int drops = 0;
	struct sleeper s = sleeper(0, 1000, &drops);
	struct evfut_abort_handle abort;
	struct evfut_join_handle handle;
	struct remote_abort r;

	ck_assert_int_eq(
	        evfut_task_spawn_joinable(rt, &s.base, sizeof s, &handle), 0);
	ck_assert_int_eq(evfut_task_abort_handle(&handle, &abort), 0);
	ck_assert_int_eq(evfut_task_abort_handle(&handle, &r.handle), 0);
	evfut_task_detach(&handle);
	evfut_runtime_destroy(rt);
	ck_assert_int_eq(drops, 1);
	ck_assert(evfut_abort_handle_finished(&abort));
	evfut_abort_handle_abort(&abort);
	evfut_abort_handle_drop(&abort);
	ck_assert_int_eq(pthread_create(&r.thread, NULL, abort_thread, &r), 0);
	ck_assert_int_eq(pthread_join(r.thread, NULL), 0);
}
END_TEST

START_TEST(test_task_abort_handle_errors)
{
	struct evfut_join_handle empty = {NULL};
	struct evfut_abort_handle abort = {NULL};

	ck_assert_int_eq(evfut_task_abort_handle(NULL, &abort), -EINVAL);
	ck_assert_int_eq(evfut_task_abort_handle(&empty, &abort), -EINVAL);
	ck_assert_int_eq(evfut_task_join_abort_handle(NULL, &abort), -EINVAL);
	ck_assert_int_eq(evfut_abort_handle_finished(NULL), 0);
	ck_assert_int_eq(evfut_abort_handle_finished(&abort), 0);
	evfut_abort_handle_abort(NULL);
	evfut_abort_handle_abort(&abort);
}
END_TEST

/* task sets */

static int
next_of(struct evfut_join_set *set, int *id)
{
	struct evfut_join_set_next next;
	int rc;

	ck_assert_int_eq(evfut_join_set_next_init(&next, set), 0);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &next.base), 0);
	rc = next.result;
	if (rc == 0 && id != NULL)
		*id = ((const struct sleeper *)(const void *)
		               evfut_join_set_next_output(&next))
		              ->id;
	else
		ck_assert_ptr_null(evfut_join_set_next_output(&next));
	evfut_future_drop(&next.base);
	return rc;
}

/* tokio's test_with_sleep: next in the order tasks finish, then none. */
START_TEST(test_task_set_yields_tasks_in_the_order_they_finish)
{
	static const int ms[5] = {50, 10, 40, 20, 30};
	static const int expected[5] = {1, 3, 4, 2, 0};
	struct evfut_join_set set;
	int i, id;

	use_virtual_clock();
	evfut_join_set_init(&set);
	ck_assert_int_eq(next_of(&set, NULL), -ENOENT);
	for (i = 0; i < 5; i++) {
		struct sleeper s = sleeper(i, (evfut_nsec)ms[i], NULL);

		ck_assert_int_eq(evfut_join_set_spawn(&set, harness_rt, &s.base,
		                                      sizeof s),
		                 0);
	}
	ck_assert_uint_eq(evfut_join_set_len(&set), 5);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(next_of(&set, &id), 0);
		ck_assert_int_eq(id, expected[i]);
		ck_assert_uint_eq(evfut_join_set_len(&set), 4 - (size_t)i);
	}
	ck_assert_int_eq(next_of(&set, NULL), -ENOENT);
	evfut_join_set_finish(&set);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_held, 0);
}
END_TEST

/* tokio's abort_all: every task reports cancelled, then none is left. */
START_TEST(test_task_set_abort_all_drops_every_future_at_once)
{
	struct evfut_join_set set;
	int drops = 0;
	int i;

	evfut_join_set_init(&set);
	for (i = 0; i < 5; i++) {
		struct sleeper s = sleeper(i, 3600 * 1000, &drops);

		ck_assert_int_eq(evfut_join_set_spawn(&set, harness_rt, &s.base,
		                                      sizeof s),
		                 0);
	}
	settle();
	evfut_join_set_abort_all(&set);
	ck_assert_int_eq(drops, 5);
	ck_assert_uint_eq(evfut_join_set_len(&set), 5);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(next_of(&set, NULL), -ECANCELED);
	ck_assert_int_eq(next_of(&set, NULL), -ENOENT);
	evfut_join_set_finish(&set);
}
END_TEST

/* tokio's test_abort_on_drop: finishing the set aborts and releases. */
START_TEST(test_task_set_finish_aborts_and_releases)
{
	struct evfut_join_set set;
	int drops = 0;
	int i;

	use_virtual_clock();
	evfut_join_set_init(&set);
	for (i = 0; i < 4; i++) {
		struct sleeper s =
		        sleeper(i, (evfut_nsec)(i == 0 ? 1 : 1000), &drops);

		ck_assert_int_eq(evfut_join_set_spawn(&set, harness_rt, &s.base,
		                                      sizeof s),
		                 0);
	}
	{
		/* One finishes and is not taken; the others sleep on. */
		struct evfut_sleep nap;

		evfut_sleep_init(&nap, 5 * MS);
		ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &nap.base),
		                 0);
		evfut_future_drop(&nap.base);
	}
	ck_assert_int_eq(drops, 1);
	evfut_join_set_finish(&set);
	ck_assert_int_eq(drops, 4);
	ck_assert_uint_eq(evfut_join_set_len(&set), 0);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_held, 0);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_live, 0);
	/* The set can be used again. */
	ck_assert_int_eq(next_of(&set, NULL), -ENOENT);
}
END_TEST

/* A next future dropped while it waits takes nothing away. */
START_TEST(test_task_set_next_dropped_while_waiting_loses_nothing)
{
	struct evfut_join_set set;
	struct evfut_join_set_next next;
	struct sleeper s = sleeper(7, 10, NULL);
	struct evfut_sleep nap;
	int id = -1;

	use_virtual_clock();
	evfut_join_set_init(&set);
	ck_assert_int_eq(
	        evfut_join_set_spawn(&set, harness_rt, &s.base, sizeof s), 0);
	ck_assert_int_eq(evfut_join_set_next_init(&next, &set), 0);
	{
		struct evfut_waker noop = evfut_waker_noop();
		struct evfut_context cx = {&noop, harness_rt};

		ck_assert_int_eq(evfut_future_poll(&next.base, &cx),
		                 EVFUT_PENDING);
	}
	evfut_future_drop(&next.base);
	evfut_sleep_init(&nap, 20 * MS);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &nap.base), 0);
	evfut_future_drop(&nap.base);
	ck_assert_int_eq(next_of(&set, &id), 0);
	ck_assert_int_eq(id, 7);
	evfut_join_set_finish(&set);
}
END_TEST

/* Spawning while another task is awaited, as a server's accept loop. */
struct spawner {
	struct evfut_future base;
	struct evfut_join_set *set;
	struct evfut_join_set_next next;
	int spawned, taken, ids;
};

static enum evfut_poll
spawner_poll(struct evfut_future *f, struct evfut_context *cx)
{
	struct spawner *sp = evfut_container_of(f, struct spawner, base);

	for (;;) {
		if (sp->spawned < 10) {
			struct sleeper s =
			        sleeper(sp->spawned,
			                (evfut_nsec)(10 - sp->spawned), NULL);

			ck_assert_int_eq(
			        evfut_join_set_spawn(sp->set, cx->runtime,
			                             &s.base, sizeof s),
			        0);
			sp->spawned++;
		}
		if (evfut_future_poll(&sp->next.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		ck_assert_int_eq(sp->next.result, 0);
		sp->ids += ((const struct sleeper *)(const void *)
		                    evfut_join_set_next_output(&sp->next))
		                   ->id;
		evfut_future_drop(&sp->next.base);
		if (++sp->taken == 10)
			return EVFUT_READY;
		evfut_join_set_next_init(&sp->next, sp->set);
	}
}

START_TEST(test_task_set_spawn_while_awaiting_next)
{
	struct evfut_join_set set;
	struct spawner sp = {.base = EVFUT_FUTURE_INIT(spawner_poll, NULL),
	                     .set = &set};

	use_virtual_clock();
	evfut_join_set_init(&set);
	evfut_join_set_next_init(&sp.next, &set);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &sp.base), 0);
	ck_assert_int_eq(sp.ids, 45);
	ck_assert_uint_eq(evfut_join_set_len(&set), 0);
	evfut_join_set_finish(&set);
}
END_TEST

/* A task that finishes its own set: the set lets go of it at once. */
struct finisher {
	struct evfut_future base;
	struct evfut_join_set *set;
};

static enum evfut_poll
finisher_poll(struct evfut_future *f, struct evfut_context *cx)
{
	struct finisher *fi = evfut_container_of(f, struct finisher, base);

	(void)cx;
	evfut_join_set_finish(fi->set);
	return EVFUT_READY;
}

START_TEST(test_task_set_finished_by_its_own_task)
{
	static struct evfut_join_set set;
	struct finisher fi = {.base = EVFUT_FUTURE_INIT(finisher_poll, NULL),
	                      .set = &set};
	int drops = 0;
	struct sleeper s = sleeper(0, 1000, &drops);

	evfut_join_set_init(&set);
	ck_assert_int_eq(
	        evfut_join_set_spawn(&set, harness_rt, &s.base, sizeof s), 0);
	ck_assert_int_eq(
	        evfut_join_set_spawn(&set, harness_rt, &fi.base, sizeof fi), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(drops, 1);
	ck_assert_uint_eq(evfut_join_set_len(&set), 0);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_held, 0);
}
END_TEST

START_TEST(test_task_set_errors)
{
	struct evfut_join_set set;
	struct evfut_join_set_next next;
	struct evfut_future bad = EVFUT_FUTURE_INIT(NULL, NULL);
	struct sleeper s = sleeper(0, 1, NULL);

	evfut_join_set_init(&set);
	ck_assert_int_eq(
	        evfut_join_set_spawn(NULL, harness_rt, &s.base, sizeof s),
	        -EINVAL);
	ck_assert_int_eq(evfut_join_set_spawn(&set, NULL, &s.base, sizeof s),
	                 -EINVAL);
	ck_assert_int_eq(
	        evfut_join_set_spawn(&set, harness_rt, &bad, sizeof bad),
	        -EINVAL);
	ck_assert_uint_eq(evfut_join_set_len(&set), 0);
	ck_assert_uint_eq(evfut_join_set_len(NULL), 0);
	ck_assert_int_eq(evfut_join_set_next_init(NULL, &set), -EINVAL);
	ck_assert_int_eq(evfut_join_set_next_init(&next, NULL), -EINVAL);
	ck_assert_ptr_null(evfut_join_set_next_output(NULL));
	evfut_join_set_abort_all(NULL);
	evfut_join_set_finish(NULL);
	harness_alloc_fail_at(1);
	ck_assert_int_eq(
	        evfut_join_set_spawn(&set, harness_rt, &s.base, sizeof s),
	        -ENOMEM);
	harness_alloc_restore();
	ck_assert_uint_eq(evfut_join_set_len(&set), 0);
	evfut_join_set_finish(&set);
}
END_TEST

/* alignment */

struct wide {
	struct evfut_future base;
	_Alignas(64) unsigned char line[64];
	uintptr_t seen;
};

static enum evfut_poll
wide_poll(struct evfut_future *f, struct evfut_context *cx)
{
	struct wide *w = evfut_container_of(f, struct wide, base);

	(void)cx;
	w->seen = (uintptr_t)w->line;
	return EVFUT_READY;
}

START_TEST(test_task_spawn_aligned_honours_the_alignment)
{
	struct wide w = {.base = EVFUT_FUTURE_INIT(wide_poll, NULL)};
	struct evfut_join_handle handle;
	struct evfut_task_join j;
	const struct wide *copy;

	ck_assert_int_eq(evfut_task_spawn_aligned(harness_rt, &w.base, sizeof w,
	                                          alignof(struct wide),
	                                          &handle),
	                 0);
	evfut_task_join_init(&j, &handle);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &j.base), 0);
	copy = (const struct wide *)(const void *)evfut_task_join_output(&j);
	ck_assert_uint_eq((uintptr_t)copy % alignof(struct wide), 0);
	ck_assert_uint_eq(copy->seen % 64, 0);
	evfut_future_drop(&j.base);
	/* Not joinable, and page-aligned. */
	ck_assert_int_eq(evfut_task_spawn_aligned(harness_rt, &w.base, sizeof w,
	                                          4096, NULL),
	                 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_held, 0);
}
END_TEST

START_TEST(test_task_spawn_aligned_errors)
{
	struct wide w = {.base = EVFUT_FUTURE_INIT(wide_poll, NULL)};

	ck_assert_int_eq(evfut_task_spawn_aligned(harness_rt, &w.base, sizeof w,
	                                          48, NULL),
	                 -EINVAL);
	ck_assert_int_eq(evfut_task_spawn_aligned(harness_rt, &w.base, sizeof w,
	                                          2 * EVFUT_TASK_MAX_ALIGN,
	                                          NULL),
	                 -EINVAL);
	harness_alloc_fail_at(1);
	ck_assert_int_eq(evfut_task_spawn_aligned(harness_rt, &w.base, sizeof w,
	                                          64, NULL),
	                 -ENOMEM);
	harness_alloc_restore();
}
END_TEST

/* coop */

/* Polls sleeps that are due already until one says Pending. */
struct due_loop {
	struct evfut_future base;
	int kind;
	int ready;
	int yielded;
};

static enum evfut_poll
due_loop_poll(struct evfut_future *f, struct evfut_context *cx)
{
	struct due_loop *d = evfut_container_of(f, struct due_loop, base);

	if (d->yielded)
		return EVFUT_READY;
	for (;;) {
		struct evfut_sleep s;
		struct evfut_interval iv;
		struct evfut_future *timer = &s.base;
		enum evfut_poll p;

		if (d->kind == 0) {
			evfut_sleep_init(&s, 0);
		} else {
			evfut_sleep_until_init(&s, 0);
		}
		if (d->kind == 2) {
			/* An interval whose tick is due: reset it to now. */
			evfut_interval_init(&iv, EVFUT_SEC, EVFUT_MISSED_BURST);
			evfut_interval_reset_after(&iv, 0);
			timer = &iv.base;
		}
		p = evfut_future_poll(timer, cx);
		evfut_future_drop(timer);
		if (p == EVFUT_PENDING) {
			d->yielded = 1;
			return EVFUT_PENDING;
		}
		d->ready++;
	}
}

/* Issue 14: each timer ready at its first poll spends a unit. */
START_TEST(test_task_timers_ready_at_once_spend_the_budget)
{
	struct due_loop d = {.base = EVFUT_FUTURE_INIT(due_loop_poll, NULL),
	                     .kind = _i};

	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &d.base), 0);
	ck_assert_int_eq(d.ready, EVFUT_COOP_BUDGET);
	ck_assert_int_eq(d.yielded, 1);
}
END_TEST

/* debt: waker drops on the runtime's thread counted late, never early */

static struct evfut_waker parked_waker;

static enum evfut_poll
park_once_poll(struct evfut_future *f, struct evfut_context *cx)
{
	int *polls = &((struct due_loop *)(void *)f)->ready;

	if ((*polls)++ > 0)
		return EVFUT_READY;
	parked_waker = evfut_waker_clone(cx->waker);
	return EVFUT_PENDING;
}

/* A libevent callback on the runtime's base wakes and drops the waker. */
static void
wake_from_callback(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	evfut_waker_wake(&parked_waker);
}

START_TEST(test_task_waker_dropped_in_a_callback_is_released_by_run)
{
	struct due_loop f = {.base = EVFUT_FUTURE_INIT(park_once_poll, NULL)};
	struct event_base *base = evfut_runtime_event_base(harness_rt);
	struct timeval soon = {0, 1000};
	struct event *ev = evtimer_new(base, wake_from_callback, NULL);

	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(evtimer_add(ev, &soon), 0);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &f.base, sizeof f), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_held, 0);
	event_free(ev);
}
END_TEST

static Suite *
task_api_suite(void)
{
	Suite *s = suite_create("task-api");
	TCase *tc;

	tc = tcase_create("abort");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_task_abort_drops_an_idle_future_at_once);
	tcase_add_test(tc, test_task_abort_drops_a_queued_future_at_once);
	suite_add_tcase(s, tc);

	tc = tcase_create("abort-handle");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc,
	               test_task_abort_handle_aborts_while_the_join_is_awaited);
	tcase_add_test(
	        tc,
	        test_task_abort_handle_of_its_own_task_ends_it_after_the_poll);
	tcase_add_test(tc, test_task_abort_handle_works_from_another_thread);
	tcase_add_test(tc, test_task_abort_handle_outlives_the_runtime);
	tcase_add_test(tc, test_task_abort_handle_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("join-set");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_task_set_yields_tasks_in_the_order_they_finish);
	tcase_add_test(tc, test_task_set_abort_all_drops_every_future_at_once);
	tcase_add_test(tc, test_task_set_finish_aborts_and_releases);
	tcase_add_test(tc,
	               test_task_set_next_dropped_while_waiting_loses_nothing);
	tcase_add_test(tc, test_task_set_spawn_while_awaiting_next);
	tcase_add_test(tc, test_task_set_finished_by_its_own_task);
	tcase_add_test(tc, test_task_set_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("align");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_task_spawn_aligned_honours_the_alignment);
	tcase_add_test(tc, test_task_spawn_aligned_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("debt");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(
	        tc, test_task_waker_dropped_in_a_callback_is_released_by_run);
	suite_add_tcase(s, tc);

	tc = tcase_create("coop");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_loop_test(tc, test_task_timers_ready_at_once_spend_the_budget,
	                    0, 3);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return harness_main(task_api_suite());
}
