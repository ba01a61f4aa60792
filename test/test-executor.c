/*
 * Suite "executor": scheduling (FIFO order, one re-poll per wake while
 * running, no double queueing), the budget that lets I/O run, the counters,
 * a million tasks, shutdown with live tasks, every -EINVAL and -ENOMEM
 * path, the task pool (reuse, trim, blocks released on other threads), and
 * the lost-wakeup detector of -Ddebug_wakers=true builds.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
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

/* Runs a libevent callback at the executor's next loop iteration. */
static void
at_next_iteration(struct evfut_runtime *rt, event_callback_fn cb, void *arg)
{
	struct timeval now = {0, 0};

	ck_assert_int_eq(event_base_once(evfut_runtime_event_base(rt), -1,
	                                 EV_TIMEOUT, cb, arg, &now),
	                 0);
}

/* order */

#define ORDER_N 16

static int order[ORDER_N];
static int order_len;
static struct evfut_waker slots[ORDER_N];

static void
record(int id)
{
	ck_assert_int_lt(order_len, ORDER_N);
	order[order_len++] = id;
}

struct recorder {
	struct evfut_future base;
	int id;
	int polls;
};

/* First poll: record the id and finish. */
static enum evfut_poll
recorder_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct recorder *f = evfut_container_of(self, struct recorder, base);

	(void)cx;
	record(f->id);
	return EVFUT_READY;
}

START_TEST(test_executor_first_polls_in_spawn_order)
{
	int i;

	order_len = 0;
	for (i = 0; i < ORDER_N; i++) {
		struct recorder f = {EVFUT_FUTURE_INIT(recorder_poll, NULL), i,
		                     0};

		ck_assert_int_eq(
		        evfut_task_spawn(harness_rt, &f.base, sizeof(f)), 0);
	}
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(order_len, ORDER_N);
	for (i = 0; i < ORDER_N; i++)
		ck_assert_int_eq(order[i], i);
}
END_TEST

/* First poll: park the waker in slots[id]; second poll: record and finish. */
static enum evfut_poll
parked_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct recorder *f = evfut_container_of(self, struct recorder, base);

	if (f->polls++ == 0) {
		evfut_waker_store(&slots[f->id], cx->waker);
		return EVFUT_PENDING;
	}
	record(f->id);
	return EVFUT_READY;
}

static const int wake_order[] = {0, 2, 1};

/* Wakes the parked tasks in wake_order, from a task of the runtime. */
static enum evfut_poll
waker_task_poll(struct evfut_future *self, struct evfut_context *cx)
{
	size_t i;

	(void)self;
	(void)cx;
	for (i = 0; i < sizeof(wake_order) / sizeof(wake_order[0]); i++)
		evfut_waker_wake(&slots[wake_order[i]]);
	return EVFUT_READY;
}

static void
spawn_parked(int n)
{
	int i;

	order_len = 0;
	for (i = 0; i < n; i++) {
		struct recorder f = {EVFUT_FUTURE_INIT(parked_poll, NULL), i,
		                     0};

		ck_assert_int_eq(
		        evfut_task_spawn(harness_rt, &f.base, sizeof(f)), 0);
	}
}

START_TEST(test_executor_local_wakes_poll_in_wake_order)
{
	struct evfut_future w = EVFUT_FUTURE_INIT(waker_task_poll, NULL);

	spawn_parked(3);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &w, sizeof(w)), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(order_len, 3);
	ck_assert_int_eq(order[0], 0);
	ck_assert_int_eq(order[1], 2);
	ck_assert_int_eq(order[2], 1);
}
END_TEST

START_TEST(test_executor_remote_wakes_poll_in_wake_order)
{
	struct evfut_future ready = EVFUT_FUTURE_INIT(ready_poll, NULL);
	size_t i;

	spawn_parked(3);
	/* The root is queued after the three: they park their wakers. */
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &ready), 0);
	ck_assert_int_eq(order_len, 0);
	/* Not on the runtime's thread while it runs: the remote queue. */
	for (i = 0; i < sizeof(wake_order) / sizeof(wake_order[0]); i++)
		evfut_waker_wake(&slots[wake_order[i]]);
	ck_assert_uint_eq(harness_stats(harness_rt).wakes_remote, 3);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(order_len, 3);
	ck_assert_int_eq(order[0], 0);
	ck_assert_int_eq(order[1], 2);
	ck_assert_int_eq(order[2], 1);
}
END_TEST

/* One task's observable life, kept outside the task's copy of its future. */
static struct life {
	int polls;
	int polls_after_ready;
	int polls_at_callback;
	bool ready;
	bool finish;
	struct evfut_waker slot;
} life;

static void
life_reset(void)
{
	memset(&life, 0, sizeof(life));
}

static enum evfut_poll
life_ready(void)
{
	life.ready = true;
	return EVFUT_READY;
}

static bool
life_poll_starts(void)
{
	if (life.ready)
		life.polls_after_ready++;
	life.polls++;
	return !life.ready;
}

/*
 * Poll 1 wakes its own waker five times and is pending; later polls finish
 * once told to, parking the waker until then.
 */
static enum evfut_poll
self_waker_poll(struct evfut_future *self, struct evfut_context *cx)
{
	int i;

	(void)self;
	if (!life_poll_starts())
		return EVFUT_READY;
	if (life.polls == 1) {
		for (i = 0; i < 5; i++)
			evfut_waker_wake_by_ref(cx->waker);
		return EVFUT_PENDING;
	}
	if (life.finish)
		return life_ready();
	evfut_waker_store(&life.slot, cx->waker);
	return EVFUT_PENDING;
}

static void
finish_life(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	life.polls_at_callback = life.polls;
	life.finish = true;
	evfut_waker_wake(&life.slot);
}

START_TEST(test_executor_wake_while_running_repolls_once)
{
	struct evfut_future f = EVFUT_FUTURE_INIT(self_waker_poll, NULL);

	life_reset();
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &f, sizeof(f)), 0);
	/* Runs when the ready queue is empty: after the re-poll. */
	at_next_iteration(harness_rt, finish_life, NULL);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(life.polls_at_callback, 2);
	ck_assert_int_eq(life.polls, 3);
	ck_assert_int_eq(life.polls_after_ready, 0);
	ck_assert_uint_eq(harness_stats(harness_rt).polls, 3);
}
END_TEST

/* Poll 1 parks the waker; poll 2 finishes. */
static enum evfut_poll
park_then_ready_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	if (!life_poll_starts())
		return EVFUT_READY;
	if (life.polls == 1) {
		evfut_waker_store(&life.slot, cx->waker);
		return EVFUT_PENDING;
	}
	return life_ready();
}

/* Wakes the parked task five times while it is already queued. */
static enum evfut_poll
five_wakes_poll(struct evfut_future *self, struct evfut_context *cx)
{
	int i;

	(void)self;
	(void)cx;
	for (i = 0; i < 5; i++)
		evfut_waker_wake_by_ref(&life.slot);
	return EVFUT_READY;
}

START_TEST(test_executor_local_wake_while_scheduled_queues_once)
{
	struct evfut_future t = EVFUT_FUTURE_INIT(park_then_ready_poll, NULL);
	struct evfut_future w = EVFUT_FUTURE_INIT(five_wakes_poll, NULL);
	struct evfut_stats stats;

	life_reset();
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &t, sizeof(t)), 0);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &w, sizeof(w)), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(life.polls, 2);
	ck_assert_int_eq(life.polls_after_ready, 0);
	stats = harness_stats(harness_rt);
	ck_assert_uint_eq(stats.wakes_local, 1);
	ck_assert_uint_eq(stats.polls, 3);
	evfut_waker_drop(&life.slot);
}
END_TEST

START_TEST(test_executor_remote_wake_while_scheduled_queues_once)
{
	struct evfut_future t = EVFUT_FUTURE_INIT(park_then_ready_poll, NULL);
	struct evfut_future ready = EVFUT_FUTURE_INIT(ready_poll, NULL);
	struct evfut_stats stats;
	int i;

	life_reset();
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &t, sizeof(t)), 0);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &ready), 0);
	ck_assert_int_eq(life.polls, 1);
	for (i = 0; i < 5; i++)
		evfut_waker_wake_by_ref(&life.slot);
	ck_assert_uint_eq(harness_stats(harness_rt).wakes_remote, 1);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(life.polls, 2);
	ck_assert_int_eq(life.polls_after_ready, 0);
	stats = harness_stats(harness_rt);
	ck_assert_uint_eq(stats.wakes_remote, 1);
	ck_assert_uint_eq(stats.remote_signals, 1);
	ck_assert_uint_eq(stats.tasks_live, 0);
	evfut_waker_drop(&life.slot);
}
END_TEST

/* budget */

static const unsigned budgets[] = {1, 0, 2, 1000};

static bool io_seen;

static void
on_io(evutil_socket_t fd, short what, void *arg)
{
	char byte;

	(void)what;
	(void)arg;
	if (fd >= 0)
		ck_assert_int_eq(read(fd, &byte, 1), 1);
	io_seen = true;
}

/* Re-wakes itself forever, until the I/O callback has run. */
static enum evfut_poll
spinner_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	if (!life_poll_starts())
		return EVFUT_READY;
	if (io_seen)
		return life_ready();
	evfut_waker_wake_by_ref(cx->waker);
	return EVFUT_PENDING;
}

static unsigned
use_budget(int i)
{
	struct evfut_runtime_options options = {.budget = budgets[i]};

	harness_runtime_replace(&options);
	life_reset();
	io_seen = false;
	return budgets[i] != 0 ? budgets[i] : EVFUT_DEFAULT_BUDGET;
}

START_TEST(test_executor_budget_lets_ready_fd_run)
{
	unsigned budget = use_budget(_i);
	struct evfut_future f = EVFUT_FUTURE_INIT(spinner_poll, NULL);
	struct event *ev;
	int fds[2];

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(write(fds[1], "x", 1), 1);
	ev = event_new(evfut_runtime_event_base(harness_rt), fds[0], EV_READ,
	               on_io, NULL);
	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(event_add(ev, NULL), 0);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &f, sizeof(f)), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert(io_seen);
	/* One drain of exactly a budget of polls, then libevent, then one. */
	ck_assert_int_eq(life.polls, (int)budget + 1);
	ck_assert_uint_gt(harness_stats(harness_rt).loop_iterations, 0);
	event_free(ev);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

START_TEST(test_executor_budget_lets_active_event_run)
{
	unsigned budget = use_budget(_i);
	struct evfut_future f = EVFUT_FUTURE_INIT(spinner_poll, NULL);
	struct event *ev;

	ev = event_new(evfut_runtime_event_base(harness_rt), -1, 0, on_io,
	               NULL);
	ck_assert_ptr_nonnull(ev);
	event_active(ev, EV_TIMEOUT, 0);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &f, sizeof(f)), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert(io_seen);
	ck_assert_int_eq(life.polls, (int)budget + 1);
	event_free(ev);
}
END_TEST

/* Activated from inside a poll, while the task spins. */
static enum evfut_poll
activating_spinner_poll(struct evfut_future *self, struct evfut_context *cx)
{
	static struct event *ev;

	if (life.polls == 0) {
		ev = event_new(evfut_runtime_event_base(cx->runtime), -1, 0,
		               on_io, NULL);
		ck_assert_ptr_nonnull(ev);
		event_active(ev, EV_TIMEOUT, 0);
	}
	if (spinner_poll(self, cx) == EVFUT_PENDING)
		return EVFUT_PENDING;
	event_free(ev);
	return EVFUT_READY;
}

START_TEST(test_executor_budget_lets_event_activated_by_task_run)
{
	unsigned budget = use_budget(_i);
	struct evfut_future f =
	        EVFUT_FUTURE_INIT(activating_spinner_poll, NULL);

	ck_assert_int_eq(evfut_task_spawn(harness_rt, &f, sizeof(f)), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert(io_seen);
	ck_assert_int_eq(life.polls, (int)budget + 1);
}
END_TEST

/* stats */

/* Wakes itself once, then finishes. */
static enum evfut_poll
twice_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct recorder *f = evfut_container_of(self, struct recorder, base);

	if (f->polls++ == 0) {
		evfut_waker_wake_by_ref(cx->waker);
		return EVFUT_PENDING;
	}
	return EVFUT_READY;
}

static void
wake_life_slot(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	evfut_waker_wake(&life.slot);
}

START_TEST(test_executor_stats_count_the_work)
{
	struct evfut_future a = EVFUT_FUTURE_INIT(ready_poll, NULL);
	struct recorder b = {EVFUT_FUTURE_INIT(twice_poll, NULL), 0, 0};
	struct evfut_future c = EVFUT_FUTURE_INIT(park_then_ready_poll, NULL);
	struct evfut_stats stats = harness_stats(harness_rt);

	ck_assert_uint_eq(stats.tasks_spawned, 0);
	ck_assert_uint_eq(stats.polls, 0);
	life_reset();
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &a, sizeof(a)), 0);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &b.base, sizeof(b)), 0);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &c, sizeof(c)), 0);
	stats = harness_stats(harness_rt);
	ck_assert_uint_eq(stats.tasks_spawned, 3);
	ck_assert_uint_eq(stats.tasks_live, 3);
	at_next_iteration(harness_rt, wake_life_slot, NULL);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	stats = harness_stats(harness_rt);
	ck_assert_uint_eq(stats.tasks_spawned, 3);
	ck_assert_uint_eq(stats.tasks_completed, 3);
	ck_assert_uint_eq(stats.tasks_cancelled, 0);
	ck_assert_uint_eq(stats.tasks_live, 0);
	ck_assert_uint_eq(stats.polls, 5);
	/* b's wake while running and the callback's wake of c. */
	ck_assert_uint_eq(stats.wakes_local, 2);
	ck_assert_uint_eq(stats.wakes_remote, 0);
	ck_assert_uint_eq(stats.remote_signals, 0);
	ck_assert_uint_gt(stats.loop_iterations, 0);
	ck_assert_uint_eq(stats.lost_wakeups, 0);
}
END_TEST

/* scale */

#define MILLION 1000000

static long million_polls;

static enum evfut_poll
count_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	(void)cx;
	million_polls++;
	return EVFUT_READY;
}

START_TEST(test_executor_million_tasks_complete)
{
	struct evfut_future f = EVFUT_FUTURE_INIT(count_poll, NULL);
	struct evfut_stats stats;
	long i;

	million_polls = 0;
	/* One assertion, not a million: each one costs Check a message. */
	for (i = 0; i < MILLION; i++) {
		if (evfut_task_spawn(harness_rt, &f, sizeof(f)) != 0)
			break;
	}
	ck_assert_int_eq(i, MILLION);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_live, MILLION);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(million_polls, MILLION);
	stats = harness_stats(harness_rt);
	ck_assert_uint_eq(stats.tasks_spawned, MILLION);
	ck_assert_uint_eq(stats.tasks_completed, MILLION);
	ck_assert_uint_eq(stats.polls, MILLION);
	ck_assert_uint_eq(stats.tasks_live, 0);
}
END_TEST

#define VICTIMS_SPAWNED   50
#define VICTIMS_FORGETFUL 4
#define VICTIMS_EMBEDDED  8
#define VICTIMS           (3 * VICTIMS_SPAWNED + VICTIMS_FORGETFUL + VICTIMS_EMBEDDED)

static int victim_polls[VICTIMS];
static int victim_drops[VICTIMS];

struct victim {
	struct evfut_future base;
	int id;
	struct evfut_waker slot;
};

/* Keeps its own waker and stays pending. */
static enum evfut_poll
victim_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct victim *v = evfut_container_of(self, struct victim, base);

	victim_polls[v->id]++;
	evfut_waker_store(&v->slot, cx->waker);
	return EVFUT_PENDING;
}

/* Forgets its waker: a lost task, still cancelled by destroy. */
static enum evfut_poll
forgetful_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct victim *v = evfut_container_of(self, struct victim, base);

	(void)cx;
	victim_polls[v->id]++;
	return EVFUT_PENDING;
}

static void
victim_drop(struct evfut_future *self)
{
	struct victim *v = evfut_container_of(self, struct victim, base);

	victim_drops[v->id]++;
	evfut_waker_drop(&v->slot);
}

static struct embedded_victim {
	struct evfut_task task;
	struct victim future;
	int releases;
} embedded[VICTIMS_EMBEDDED];

static void
embedded_release(struct evfut_task *task)
{
	struct embedded_victim *e =
	        evfut_container_of(task, struct embedded_victim, task);

	e->releases++;
}

static void
spawn_victims(struct evfut_runtime *rt, int *id, int n, evfut_poll_fn poll)
{
	int i;

	for (i = 0; i < n; i++) {
		struct victim v = {EVFUT_FUTURE_INIT(poll, victim_drop),
		                   (*id)++, EVFUT_WAKER_EMPTY};

		ck_assert_int_eq(evfut_task_spawn(rt, &v.base, sizeof(v)), 0);
	}
}

static void
start_victims(struct evfut_runtime *rt, int *id, int first, int n)
{
	int i;

	for (i = first; i < first + n; i++) {
		struct embedded_victim *e = &embedded[i];

		e->releases = 0;
		e->future.base.poll = victim_poll;
		e->future.base.drop = victim_drop;
		e->future.id = (*id)++;
		e->future.slot.data = NULL;
		e->future.slot.vtable = NULL;
		ck_assert_int_eq(evfut_task_start(rt, &e->task, &e->future.base,
		                                  embedded_release),
		                 0);
	}
}

START_TEST(test_executor_destroy_frees_live_tasks)
{
	struct evfut_runtime *rt = harness_runtime_take();
	struct evfut_future ready = EVFUT_FUTURE_INIT(ready_poll, NULL);
	int id = 0, polled, i;

	memset(victim_polls, 0, sizeof(victim_polls));
	memset(victim_drops, 0, sizeof(victim_drops));
	/* Pending tasks: polled once by the block_on below. */
	spawn_victims(rt, &id, VICTIMS_SPAWNED, victim_poll);
	spawn_victims(rt, &id, VICTIMS_FORGETFUL, forgetful_poll);
	start_victims(rt, &id, 0, VICTIMS_EMBEDDED / 2);
	polled = id;
	ck_assert_int_eq(evfut_runtime_block_on(rt, &ready), 0);
	/* Never polled. */
	spawn_victims(rt, &id, 2 * VICTIMS_SPAWNED, victim_poll);
	start_victims(rt, &id, VICTIMS_EMBEDDED / 2, VICTIMS_EMBEDDED / 2);
	ck_assert_int_eq(id, VICTIMS);
	ck_assert_uint_eq(harness_stats(rt).tasks_live, VICTIMS);
	for (i = 0; i < VICTIMS; i++) {
		ck_assert_int_eq(victim_polls[i], i < polled ? 1 : 0);
		ck_assert_int_eq(victim_drops[i], 0);
	}
	for (i = 0; i < VICTIMS_EMBEDDED; i++)
		ck_assert_int_eq(embedded[i].releases, 0);
	evfut_runtime_destroy(rt);
	for (i = 0; i < VICTIMS; i++)
		ck_assert_int_eq(victim_drops[i], 1);
	for (i = 0; i < VICTIMS_EMBEDDED; i++)
		ck_assert_int_eq(embedded[i].releases, 1);
	/* Stale pointers to the runtime would hide a leak of it from LSan. */
	memset(embedded, 0, sizeof(embedded));
}
END_TEST

/*
 * destroy: a drop function that wakes another task while
 * evfut_runtime_destroy() cancels (a channel's sender waking its receiver,
 * a cancelled task waking its joiner).
 */

static struct evfut_waker receiver_waker;
static int closer_drops;

/* The receiver: keeps its waker where the closer finds it. */
static enum evfut_poll
receiver_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	evfut_waker_store(&receiver_waker, cx->waker);
	return EVFUT_PENDING;
}

struct closer {
	struct evfut_future base;
	struct evfut_waker own;
};

static enum evfut_poll
closer_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct closer *c = evfut_container_of(self, struct closer, base);

	evfut_waker_store(&c->own, cx->waker);
	return EVFUT_PENDING;
}

/* Closing wakes the receiver, so that it would see the end. */
static void
closer_drop(struct evfut_future *self)
{
	struct closer *c = evfut_container_of(self, struct closer, base);

	closer_drops++;
	evfut_waker_wake(&receiver_waker);
	evfut_waker_drop(&c->own);
}

/*
 * Regression: evfut_runtime_destroy() once freed cancelled tasks still
 * linked in the ready queue, and a wake from a drop function (here
 * closer_drop()) then wrote into the freed task. The quarantine allocator
 * sees any write to a freed block, in every build.
 */
START_TEST(test_executor_destroy_survives_wakes_from_drop)
{
	struct evfut_runtime *rt = NULL;
	struct evfut_future receiver = EVFUT_FUTURE_INIT(receiver_poll, NULL);
	struct closer closer = {EVFUT_FUTURE_INIT(closer_poll, closer_drop),
	                        EVFUT_WAKER_EMPTY};
	struct evfut_future ready = EVFUT_FUTURE_INIT(ready_poll, NULL);
	struct evfut_future never = EVFUT_FUTURE_INIT(ready_poll, NULL);

	struct evfut_runtime_options unpooled = {.unpooled_tasks = 1};

	closer_drops = 0;
	/* Its own runtime, so that every block it frees is checked: with
	 * the pool, only AddressSanitizer would see a write to a freed task. */
	harness_alloc_quarantine_begin();
	ck_assert_int_eq(evfut_runtime_create(&rt, &unpooled), 0);
	ck_assert_int_eq(evfut_task_spawn(rt, &receiver, sizeof(receiver)), 0);
	ck_assert_int_eq(evfut_task_spawn(rt, &closer.base, sizeof(closer)), 0);
	ck_assert_int_eq(evfut_runtime_block_on(rt, &ready), 0);
	ck_assert(!evfut_waker_is_empty(&receiver_waker));
	/* Queued, never polled; the newest, so destroy cancels it first. */
	ck_assert_int_eq(evfut_task_spawn(rt, &never, sizeof(never)), 0);
	ck_assert_uint_eq(harness_stats(rt).tasks_live, 3);
	evfut_runtime_destroy(rt);
	ck_assert_int_eq(closer_drops, 1);
	ck_assert(evfut_waker_is_empty(&receiver_waker));
	ck_assert_int_eq(harness_alloc_quarantine_end(), 0);
}
END_TEST

/* errors */

START_TEST(test_executor_create_rejects_null_out)
{
	struct evfut_runtime_options options = {.budget = 4};

	ck_assert_int_eq(evfut_runtime_create(NULL, NULL), -EINVAL);
	ck_assert_int_eq(evfut_runtime_create(NULL, &options), -EINVAL);
}
END_TEST

START_TEST(test_executor_spawn_rejects_invalid_arguments)
{
	struct evfut_future f = EVFUT_FUTURE_INIT(ready_poll, NULL);
	struct evfut_future no_poll = EVFUT_FUTURE_INIT(NULL, NULL);
	struct evfut_runtime *rt = harness_rt;

	ck_assert_int_eq(evfut_task_spawn(NULL, &f, sizeof(f)), -EINVAL);
	ck_assert_int_eq(evfut_task_spawn(rt, NULL, sizeof(f)), -EINVAL);
	ck_assert_int_eq(evfut_task_spawn(rt, &no_poll, sizeof(no_poll)),
	                 -EINVAL);
	ck_assert_int_eq(evfut_task_spawn(rt, &f, 0), -EINVAL);
	ck_assert_int_eq(evfut_task_spawn(rt, &f, sizeof(f) - 1), -EINVAL);
	ck_assert_int_eq(evfut_task_spawn(rt, &f, (size_t)-1), -EINVAL);
	ck_assert_int_eq(evfut_task_spawn_at(rt, &f, sizeof(f) - 1, NULL),
	                 -EINVAL);
	ck_assert_uint_eq(harness_stats(rt).tasks_spawned, 0);
	ck_assert_int_eq(evfut_runtime_run(rt), 0);
}
END_TEST

static int releases;

static void
count_release(struct evfut_task *task)
{
	(void)task;
	releases++;
}

START_TEST(test_executor_start_rejects_invalid_arguments)
{
	struct evfut_task task;
	struct evfut_future f = EVFUT_FUTURE_INIT(ready_poll, NULL);
	struct evfut_future no_poll = EVFUT_FUTURE_INIT(NULL, NULL);
	struct evfut_runtime *rt = harness_rt;

	releases = 0;
	ck_assert_int_eq(evfut_task_start(NULL, &task, &f, count_release),
	                 -EINVAL);
	ck_assert_int_eq(evfut_task_start(rt, NULL, &f, count_release),
	                 -EINVAL);
	ck_assert_int_eq(evfut_task_start(rt, &task, NULL, count_release),
	                 -EINVAL);
	ck_assert_int_eq(evfut_task_start(rt, &task, &no_poll, count_release),
	                 -EINVAL);
	ck_assert_int_eq(evfut_task_start(rt, &task, &f, NULL), -EINVAL);
	ck_assert_uint_eq(harness_stats(rt).tasks_spawned, 0);
	ck_assert_int_eq(evfut_runtime_run(rt), 0);
	ck_assert_int_eq(releases, 0);
	/* The same task struct, valid this time, runs and is released. */
	ck_assert_int_eq(evfut_task_start(rt, &task, &f, count_release), 0);
	ck_assert_int_eq(evfut_runtime_run(rt), 0);
	ck_assert_int_eq(releases, 1);
}
END_TEST

START_TEST(test_executor_run_and_stats_reject_null)
{
	struct evfut_stats stats;

	ck_assert_int_eq(evfut_runtime_run(NULL), -EINVAL);
	ck_assert_int_eq(evfut_runtime_stats(NULL, &stats), -EINVAL);
	ck_assert_int_eq(evfut_runtime_stats(harness_rt, NULL), -EINVAL);
	ck_assert_ptr_null(evfut_runtime_event_base(NULL));
	ck_assert_ptr_nonnull(evfut_runtime_event_base(harness_rt));
	evfut_runtime_destroy(NULL);
}
END_TEST

START_TEST(test_executor_allocator_set_rejects_null_member)
{
	struct evfut_allocator a = {malloc, realloc, free};
	struct evfut_future f = EVFUT_FUTURE_INIT(ready_poll, NULL);

	/* Installed first, so that a rejected call can be seen to keep it. */
	harness_alloc_fail_at(0);
	a.malloc = NULL;
	ck_assert_int_eq(evfut_allocator_set(&a), -EINVAL);
	a.malloc = malloc;
	a.realloc = NULL;
	ck_assert_int_eq(evfut_allocator_set(&a), -EINVAL);
	a.realloc = realloc;
	a.free = NULL;
	ck_assert_int_eq(evfut_allocator_set(&a), -EINVAL);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &f, sizeof(f)), 0);
	ck_assert_uint_eq(harness_alloc_calls(), 1);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	/* The task's block stays in the runtime's pool until a trim. */
	ck_assert_int_eq(harness_alloc_live(), 1);
	ck_assert_int_eq(evfut_runtime_trim(harness_rt), 0);
	ck_assert_int_eq(harness_alloc_live(), 0);
	ck_assert_int_eq(evfut_allocator_set(NULL), 0);
}
END_TEST

START_TEST(test_executor_create_fails_cleanly_at_each_allocation)
{
	struct evfut_runtime *sentinel = (struct evfut_runtime *)&sentinel;
	struct evfut_runtime *rt;
	unsigned long k;
	int fds, rc = -1;

	for (k = 1; k < 100; k++) {
		rt = sentinel;
		fds = harness_count_fds();
		harness_alloc_fail_at(k);
		rc = evfut_runtime_create(&rt, NULL);
		if (rc == 0)
			break;
		ck_assert_msg(rc == -ENOMEM, "allocation %lu: %d", k, rc);
		ck_assert_ptr_eq(rt, sentinel);
		ck_assert_int_eq(harness_alloc_live(), 0);
		ck_assert_int_eq(harness_count_fds(), fds);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_gt(k, 1);
	ck_assert_ptr_ne(rt, sentinel);
	harness_alloc_restore();
	evfut_runtime_destroy(rt);
}
END_TEST

static bool polled;

static enum evfut_poll
flag_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	(void)cx;
	polled = true;
	return EVFUT_READY;
}

START_TEST(test_executor_spawn_enomem_leaves_runtime_usable)
{
	struct evfut_future f = EVFUT_FUTURE_INIT(flag_poll, NULL);
	struct evfut_task task;
	struct evfut_stats stats;

	polled = false;
	harness_alloc_fail_at(1);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &f, sizeof(f)), -ENOMEM);
	ck_assert_int_eq(harness_alloc_live(), 0);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_spawned, 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert(!polled);
	/* evfut_task_start() allocates nothing: it works even now. */
	releases = 0;
	harness_alloc_fail_at(1);
	ck_assert_int_eq(evfut_task_start(harness_rt, &task, &f, count_release),
	                 0);
	ck_assert_uint_eq(harness_alloc_calls(), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert(polled);
	ck_assert_int_eq(releases, 1);
	harness_alloc_restore();
	polled = false;
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &f, sizeof(f)), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert(polled);
	stats = harness_stats(harness_rt);
	ck_assert_uint_eq(stats.tasks_spawned, 2);
	ck_assert_uint_eq(stats.tasks_completed, 2);
}
END_TEST

/* pool */

/* Completes at once, keeping a clone of its waker in @kept. */
struct holder {
	struct evfut_future base;
	struct evfut_waker *kept;
};

static enum evfut_poll
holder_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct holder *k = evfut_container_of(self, struct holder, base);

	*k->kept = evfut_waker_clone(cx->waker);
	return EVFUT_READY;
}

/* The address of a task, white-box: a task waker's data is the task. */
static const void *
spawn_holder(struct evfut_runtime *rt, struct evfut_waker *kept)
{
	struct holder k = {EVFUT_FUTURE_INIT(holder_poll, NULL), kept};

	ck_assert_int_eq(evfut_task_spawn(rt, &k.base, sizeof(k)), 0);
	ck_assert_int_eq(evfut_runtime_run(rt), 0);
	return kept->data;
}

START_TEST(test_executor_pool_reuses_a_released_task)
{
	struct evfut_waker kept;
	const void *first = spawn_holder(harness_rt, &kept);
	size_t bytes = harness_stats(harness_rt).pool_bytes;

	ck_assert_uint_gt(bytes, 0);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_held, 1);
	evfut_waker_drop(&kept);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_held, 0);
	ck_assert_ptr_eq(spawn_holder(harness_rt, &kept), first);
	evfut_waker_drop(&kept);
	ck_assert_uint_eq(harness_stats(harness_rt).pool_bytes, bytes);
}
END_TEST

static void *
drop_waker(void *arg)
{
	evfut_waker_drop(arg);
	return NULL;
}

/* A task released by another thread comes back to the runtime's pool. */
START_TEST(test_executor_pool_takes_back_tasks_released_elsewhere)
{
	struct evfut_waker kept;
	const void *first = spawn_holder(harness_rt, &kept);
	pthread_t thread;

	ck_assert_int_eq(pthread_create(&thread, NULL, drop_waker, &kept), 0);
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_held, 0);
	ck_assert_ptr_eq(spawn_holder(harness_rt, &kept), first);
	evfut_waker_drop(&kept);
}
END_TEST

START_TEST(test_executor_trim_waits_for_every_task)
{
	struct evfut_future f = EVFUT_FUTURE_INIT(ready_poll, NULL);
	struct evfut_join_handle handle = {NULL};
	struct evfut_waker kept;

	ck_assert_int_eq(evfut_runtime_trim(NULL), -EINVAL);
	ck_assert_int_eq(evfut_runtime_trim(harness_rt), 0);
	spawn_holder(harness_rt, &kept);
	/* Finished, but a waker refers to it. */
	ck_assert_int_eq(evfut_runtime_trim(harness_rt), -EBUSY);
	evfut_waker_drop(&kept);
	/* Finished, but a join handle refers to it. */
	ck_assert_int_eq(
	        evfut_task_spawn_joinable(harness_rt, &f, sizeof(f), &handle),
	        0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(evfut_runtime_trim(harness_rt), -EBUSY);
	ck_assert_uint_gt(harness_stats(harness_rt).pool_bytes, 0);
	evfut_task_detach(&handle);
	ck_assert_int_eq(evfut_runtime_trim(harness_rt), 0);
	ck_assert_uint_eq(harness_stats(harness_rt).pool_bytes, 0);
	/* And the pool starts afresh. */
	spawn_holder(harness_rt, &kept);
	evfut_waker_drop(&kept);
	ck_assert_uint_gt(harness_stats(harness_rt).pool_bytes, 0);
}
END_TEST

/* Too large for the pool: one allocation of its own, freed at once. */
struct big {
	struct evfut_future base;
	char bytes[2048];
};

START_TEST(test_executor_large_and_unpooled_tasks_use_the_allocator)
{
	struct big big = {EVFUT_FUTURE_INIT(ready_poll, NULL), {0}};
	struct evfut_runtime_options unpooled = {.unpooled_tasks = 1};
	struct evfut_future f = EVFUT_FUTURE_INIT(ready_poll, NULL);

	harness_alloc_fail_at(0);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &big.base, sizeof(big)),
	                 0);
	ck_assert_int_eq(harness_alloc_live(), 1);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(harness_alloc_live(), 0);
	ck_assert_uint_eq(harness_stats(harness_rt).pool_bytes, 0);
	harness_alloc_restore();

	harness_runtime_replace(&unpooled);
	harness_alloc_fail_at(0);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &f, sizeof(f)), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_uint_eq(harness_alloc_calls(), 1);
	ck_assert_int_eq(harness_alloc_live(), 0);
	ck_assert_uint_eq(harness_stats(harness_rt).pool_bytes, 0);
	harness_alloc_restore();
}
END_TEST

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

#ifdef TEST_ASAN
/* The pool poisons a released task: touching it is reported, and fails. */
START_TEST(test_executor_pool_use_after_release_is_reported)
{
	struct evfut_waker kept;
	const volatile char *task =
	        (const volatile char *)spawn_holder(harness_rt, &kept);

	evfut_waker_drop(&kept);
	(void)task[8];
}
END_TEST
#endif

/* lost-wakeup */

/* Pending on poll 1 with every clone of its waker dropped: lost. */
static enum evfut_poll
loser_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_waker w = evfut_waker_clone(cx->waker);

	(void)self;
	life.polls++;
	evfut_waker_drop(&w);
	return EVFUT_PENDING;
}

#ifdef EVFUT_DEBUG_WAKERS
START_TEST(test_executor_lost_wakeup_is_reported)
{
	struct evfut_future bad = EVFUT_FUTURE_INIT(loser_poll, NULL);
	struct evfut_future ready = EVFUT_FUTURE_INIT(ready_poll, NULL);

	life_reset();
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &bad, sizeof(bad)), 0);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &ready), 0);
	ck_assert_int_eq(life.polls, 1);
	ck_assert_uint_eq(harness_stats(harness_rt).lost_wakeups, 1);
	/* Only destroy can end it: the teardown's, which cancels it. */
	harness_expect_live(1);
}
END_TEST

/* Keeps the same waker over five polls, woken each time by a driver. */
static enum evfut_poll
keeper_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	if (!life_poll_starts())
		return EVFUT_READY;
	evfut_waker_store(&life.slot, cx->waker);
	if (life.polls < 5)
		return EVFUT_PENDING;
	evfut_waker_drop(&life.slot);
	return life_ready();
}

static enum evfut_poll
driver_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	if (life.ready)
		return EVFUT_READY;
	evfut_waker_wake_by_ref(&life.slot);
	evfut_waker_wake_by_ref(cx->waker);
	return EVFUT_PENDING;
}

START_TEST(test_executor_kept_waker_is_not_reported)
{
	struct evfut_future keeper = EVFUT_FUTURE_INIT(keeper_poll, NULL);
	struct evfut_future driver = EVFUT_FUTURE_INIT(driver_poll, NULL);

	life_reset();
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &keeper, sizeof(keeper)),
	                 0);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &driver, sizeof(driver)),
	                 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(life.polls, 5);
	ck_assert_int_eq(life.polls_after_ready, 0);
	ck_assert_uint_eq(harness_stats(harness_rt).lost_wakeups, 0);
}
END_TEST

START_TEST(test_executor_self_wake_is_not_reported)
{
	struct recorder f = {EVFUT_FUTURE_INIT(twice_poll, NULL), 0, 0};
	struct evfut_stats stats;

	ck_assert_int_eq(evfut_task_spawn(harness_rt, &f.base, sizeof(f)), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	stats = harness_stats(harness_rt);
	ck_assert_uint_eq(stats.polls, 2);
	ck_assert_uint_eq(stats.lost_wakeups, 0);
}
END_TEST
#else
START_TEST(test_executor_lost_wakeup_not_counted_when_detector_off)
{
	struct evfut_future bad = EVFUT_FUTURE_INIT(loser_poll, NULL);
	struct evfut_future ready = EVFUT_FUTURE_INIT(ready_poll, NULL);

	life_reset();
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &bad, sizeof(bad)), 0);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &ready), 0);
	ck_assert_int_eq(life.polls, 1);
	ck_assert_uint_eq(harness_stats(harness_rt).lost_wakeups, 0);
	harness_expect_live(1);
}
END_TEST
#endif

static Suite *
executor_suite(void)
{
	Suite *s = suite_create("executor");
	TCase *tc;
	int nbudgets = (int)(sizeof(budgets) / sizeof(budgets[0]));

	tc = tcase_create("order");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_executor_first_polls_in_spawn_order);
	tcase_add_test(tc, test_executor_local_wakes_poll_in_wake_order);
	tcase_add_test(tc, test_executor_remote_wakes_poll_in_wake_order);
	tcase_add_test(tc, test_executor_wake_while_running_repolls_once);
	tcase_add_test(tc,
	               test_executor_local_wake_while_scheduled_queues_once);
	tcase_add_test(tc,
	               test_executor_remote_wake_while_scheduled_queues_once);
	suite_add_tcase(s, tc);

	tc = tcase_create("budget");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_loop_test(tc, test_executor_budget_lets_ready_fd_run, 0,
	                    nbudgets);
	tcase_add_loop_test(tc, test_executor_budget_lets_active_event_run, 0,
	                    nbudgets);
	tcase_add_loop_test(
	        tc, test_executor_budget_lets_event_activated_by_task_run, 0,
	        nbudgets);
	suite_add_tcase(s, tc);

	tc = tcase_create("stats");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_executor_stats_count_the_work);
	suite_add_tcase(s, tc);

	tc = tcase_create("scale");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_executor_million_tasks_complete);
	tcase_add_test(tc, test_executor_destroy_frees_live_tasks);
	suite_add_tcase(s, tc);

	tc = tcase_create("destroy");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_executor_destroy_survives_wakes_from_drop);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_executor_create_rejects_null_out);
	tcase_add_test(tc, test_executor_spawn_rejects_invalid_arguments);
	tcase_add_test(tc, test_executor_start_rejects_invalid_arguments);
	tcase_add_test(tc, test_executor_run_and_stats_reject_null);
	tcase_add_test(tc, test_executor_allocator_set_rejects_null_member);
	tcase_add_test(tc,
	               test_executor_create_fails_cleanly_at_each_allocation);
	tcase_add_test(tc, test_executor_spawn_enomem_leaves_runtime_usable);
	suite_add_tcase(s, tc);

	tc = tcase_create("pool");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_executor_pool_reuses_a_released_task);
	tcase_add_test(tc,
	               test_executor_pool_takes_back_tasks_released_elsewhere);
	tcase_add_test(tc, test_executor_trim_waits_for_every_task);
	tcase_add_test(
	        tc, test_executor_large_and_unpooled_tasks_use_the_allocator);
#ifdef TEST_ASAN
	tcase_add_exit_test(
	        tc, test_executor_pool_use_after_release_is_reported, 1);
#endif
	suite_add_tcase(s, tc);

	tc = tcase_create("lost-wakeup");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
#ifdef EVFUT_DEBUG_WAKERS
	tcase_add_test(tc, test_executor_lost_wakeup_is_reported);
	tcase_add_test(tc, test_executor_kept_waker_is_not_reported);
	tcase_add_test(tc, test_executor_self_wake_is_not_reported);
#else
	tcase_add_test(tc,
	               test_executor_lost_wakeup_not_counted_when_detector_off);
#endif
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return harness_main(executor_suite());
}
