/*
 * Suite "timers": sleep, sleep_until, reset, interval and timeout on a
 * runtime's timer driver. Deadline order with FIFO ties, never before the
 * deadline, cancellation by dropping, reset, a million timers, tokio's
 * missed-tick policies, timeouts that drop their inner future, far and
 * saturated deadlines, timers dropped while the driver fires, the virtual
 * clock, every -E path, the trace of fired timers and the lazy re-arm of
 * the timerfd.
 *
 * Most tests run on the virtual clock (EVFUT_CLOCK_VIRTUAL), where time
 * moves only when every task is idle or when the test advances it, so that
 * they are exact and fast; the tests that say so run on CLOCK_MONOTONIC and
 * assert "never before the deadline", never an elapsed time. The file must
 * pass with the timerfd source and with -Dtimer_fallback=true.
 *
 * A few tests look at the number of armed timers through the runtime's
 * private struct (evfut_internal_dep exists for such white-box tests).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "../harness.h"

#include "../../runtime/runtime.h"

#define MS   EVFUT_MSEC
#define SEC  EVFUT_SEC
#define DAY  (86400 * SEC)
#define YEAR (365 * DAY)

/* Helpers. */

static uint64_t xorshift_state;

static uint64_t
xorshift64(void)
{
	uint64_t x = xorshift_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	xorshift_state = x;
	return x;
}

static uint64_t
clock_ns(clockid_t id)
{
	struct timespec ts;

	ck_assert_int_eq(clock_gettime(id, &ts), 0);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static void
use_clock(enum evfut_clock clock)
{
	struct evfut_runtime_options options;

	memset(&options, 0, sizeof(options));
	options.clock = clock;
	harness_runtime_replace(&options);
}

static void
use_virtual_clock(void)
{
	use_clock(EVFUT_CLOCK_VIRTUAL);
}

/* The timers armed in @rt's store (white-box: both designs count). */
static size_t
armed_timers(struct evfut_runtime *rt)
{
	return rt->timers.store.impl.count;
}

static uint64_t
timers_fired(struct evfut_runtime *rt)
{
	return harness_stats(rt).timers_fired;
}

/* Polls @future once by hand with @waker (borrowed) on @rt. */
static enum evfut_poll
poll_with(struct evfut_future *future, const struct evfut_waker *waker,
          struct evfut_runtime *rt)
{
	struct evfut_context cx = {waker, rt};

	return evfut_future_poll(future, &cx);
}

/* Polls @sleep by hand with a noop waker and expects it pending. */
static void
arm_by_hand(struct evfut_sleep *sleep, struct evfut_runtime *rt)
{
	struct evfut_waker noop = evfut_waker_noop();

	ck_assert_int_eq(poll_with(&sleep->base, &noop, rt), EVFUT_PENDING);
}

static void
advance(struct evfut_runtime *rt, evfut_nsec duration)
{
	ck_assert_int_eq(evfut_runtime_advance(rt, duration), 0);
}

/*
 * What each task saw, indexed by the task's id: tasks are copied into the
 * runtime when spawned, so they report here.
 */
#define MAX_TASKS 256

struct task_log {
	int polls;
	bool done;
	bool cancelled; /* completed without its sleep (it was dropped) */
	int result;     /* the sleep's */
	evfut_nsec deadline;
	evfut_nsec now;    /* the runtime's clock when the sleep was ready */
	uint64_t clock;    /* log_clock, read when the sleep was ready */
	evfut_nsec polled; /* the runtime's clock at the last poll */
};

static struct task_log tlog[MAX_TASKS];
static int done_order[MAX_TASKS];
static int done_len;
static clockid_t log_clock;

static void
log_reset(clockid_t clock)
{
	memset(tlog, 0, sizeof(tlog));
	done_len = 0;
	log_clock = clock;
}

static void
log_done(int id, const struct evfut_sleep *sleep, struct evfut_runtime *rt)
{
	struct task_log *l = &tlog[id];

	l->clock = clock_ns(log_clock);
	l->now = evfut_runtime_now(rt);
	l->done = true;
	l->result = evfut_sleep_result(sleep);
	l->deadline = evfut_sleep_deadline(sleep);
	ck_assert_int_lt(done_len, MAX_TASKS);
	done_order[done_len++] = id;
}

/* A task that owns a sleep and logs its completion. */
struct sleeper {
	struct evfut_future base;
	struct evfut_sleep sleep;
	int id;
};

static enum evfut_poll
sleeper_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct sleeper *f = evfut_container_of(self, struct sleeper, base);

	tlog[f->id].polls++;
	tlog[f->id].polled = evfut_runtime_now(cx->runtime);
	if (evfut_future_poll(&f->sleep.base, cx) == EVFUT_PENDING)
		return EVFUT_PENDING;
	log_done(f->id, &f->sleep, cx->runtime);
	return EVFUT_READY;
}

static void
sleeper_drop(struct evfut_future *self)
{
	struct sleeper *f = evfut_container_of(self, struct sleeper, base);

	evfut_future_drop(&f->sleep.base);
}

static void
spawn_sleep(struct evfut_runtime *rt, int id, evfut_nsec duration)
{
	struct sleeper f = {
	        .base = EVFUT_FUTURE_INIT(sleeper_poll, sleeper_drop)};

	evfut_sleep_init(&f.sleep, duration);
	f.id = id;
	ck_assert_int_eq(evfut_task_spawn(rt, &f.base, sizeof(f)), 0);
}

static void
spawn_sleep_until(struct evfut_runtime *rt, int id, evfut_nsec deadline)
{
	struct sleeper f = {
	        .base = EVFUT_FUTURE_INIT(sleeper_poll, sleeper_drop)};

	evfut_sleep_until_init(&f.sleep, deadline);
	f.id = id;
	ck_assert_int_eq(evfut_task_spawn(rt, &f.base, sizeof(f)), 0);
}

/*
 * Sleeps shared between tasks (caller-owned memory, so that one task can
 * drop or reset another's sleep), with their watchers' parked wakers.
 */
#define SHARED_N 4

static struct evfut_sleep shared[SHARED_N];
static bool shared_dropped[SHARED_N];
static struct evfut_waker parked[SHARED_N];

static void
shared_reset(void)
{
	memset(shared, 0, sizeof(shared));
	memset(shared_dropped, 0, sizeof(shared_dropped));
	memset(parked, 0, sizeof(parked));
}

/*
 * A task that waits for shared[id]; when it fires and @victim is not -1,
 * it drops shared[victim] (if that one did not complete yet) and wakes its
 * watcher, which then completes as cancelled without polling its sleep.
 */
struct watcher {
	struct evfut_future base;
	int id;
	int victim;
};

static enum evfut_poll
watcher_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct watcher *f = evfut_container_of(self, struct watcher, base);
	int v = f->victim;

	tlog[f->id].polls++;
	tlog[f->id].polled = evfut_runtime_now(cx->runtime);
	if (shared_dropped[f->id]) {
		tlog[f->id].cancelled = true;
		evfut_waker_drop(&parked[f->id]);
		return EVFUT_READY;
	}
	if (evfut_future_poll(&shared[f->id].base, cx) == EVFUT_PENDING) {
		evfut_waker_store(&parked[f->id], cx->waker);
		return EVFUT_PENDING;
	}
	log_done(f->id, &shared[f->id], cx->runtime);
	evfut_waker_drop(&parked[f->id]);
	if (v >= 0 && !tlog[v].done && !shared_dropped[v]) {
		evfut_future_drop(&shared[v].base);
		shared_dropped[v] = true;
		evfut_waker_wake(&parked[v]);
	}
	return EVFUT_READY;
}

static void
spawn_watcher(struct evfut_runtime *rt, int id, int victim)
{
	struct watcher f = {EVFUT_FUTURE_INIT(watcher_poll, NULL), id, victim};

	ck_assert_int_eq(evfut_task_spawn(rt, &f.base, sizeof(f)), 0);
}

/*
 * The recording waker: its data is the address of one sleep of
 * rec_sleeps[], and waking it appends that sleep's index to rec_order[]
 * (it also counts wakes that came before the deadline or, on the virtual
 * clock's jumps, not exactly at it).
 */
static struct evfut_sleep *rec_sleeps;
static uint32_t *rec_order;
static size_t rec_len;
static size_t rec_cap;
static struct evfut_runtime *rec_rt;
static size_t rec_early;
static size_t rec_inexact;

static void rec_wake_by_ref(const void *data);
static void rec_drop(const void *data);

static struct evfut_waker rec_clone(const void *data);

static const struct evfut_waker_vtable rec_vtable = {
        rec_clone,
        rec_wake_by_ref,
        rec_wake_by_ref,
        rec_drop,
};

static struct evfut_waker
rec_clone(const void *data)
{
	struct evfut_waker waker = {data, &rec_vtable};

	return waker;
}

static void
rec_wake_by_ref(const void *data)
{
	const struct evfut_sleep *sleep = data;
	evfut_nsec now = evfut_runtime_now(rec_rt);
	evfut_nsec deadline = evfut_sleep_deadline(sleep);

	if (now < deadline)
		rec_early++;
	if (now != deadline)
		rec_inexact++;
	ck_assert_uint_lt(rec_len, rec_cap);
	rec_order[rec_len++] = (uint32_t)(sleep - rec_sleeps);
}

static void
rec_drop(const void *data)
{
	(void)data;
}

static void
rec_start(struct evfut_runtime *rt, struct evfut_sleep *sleeps, size_t n)
{
	rec_sleeps = sleeps;
	rec_order = calloc(n, sizeof(*rec_order));
	ck_assert_ptr_nonnull(rec_order);
	rec_len = 0;
	rec_cap = n;
	rec_rt = rt;
	rec_early = 0;
	rec_inexact = 0;
}

static void
rec_finish(void)
{
	free(rec_order);
	rec_order = NULL;
}

static enum evfut_poll
rec_poll(size_t i, struct evfut_runtime *rt)
{
	struct evfut_waker waker = {&rec_sleeps[i], &rec_vtable};

	return poll_with(&rec_sleeps[i].base, &waker, rt);
}

/* order */

/* Deadlines, in steps after a base, of the tasks of the order test. */
static const int order_steps[] = {3, 1, 2, 1, 0, 2, 1, 3};
static const int order_expected[] = {4, 1, 3, 6, 2, 5, 0, 7};
#define ORDER_N ((int)(sizeof(order_steps) / sizeof(order_steps[0])))

static const enum evfut_clock both_clocks[] = {EVFUT_CLOCK_VIRTUAL,
                                               EVFUT_CLOCK_MONOTONIC};

START_TEST(test_timers_fire_in_deadline_order_then_arm_order)
{
	enum evfut_clock clock = both_clocks[_i];
	evfut_nsec base;
	int i;

	use_clock(clock);
	log_reset(CLOCK_MONOTONIC);
	/* On the real clock, far enough ahead that every task arms first. */
	base = evfut_runtime_now(harness_rt) + 20 * MS;
	for (i = 0; i < ORDER_N; i++)
		spawn_sleep_until(harness_rt, i,
		                  base + (evfut_nsec)order_steps[i] * 10 * MS);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(done_len, ORDER_N);
	for (i = 0; i < ORDER_N; i++) {
		ck_assert_int_eq(done_order[i], order_expected[i]);
		ck_assert_int_eq(tlog[i].result, 0);
		ck_assert_int_eq(tlog[i].polls, 2);
		ck_assert_uint_ge(tlog[i].now, tlog[i].deadline);
		if (clock == EVFUT_CLOCK_VIRTUAL)
			ck_assert_uint_eq(tlog[i].now, tlog[i].deadline);
	}
	ck_assert_uint_eq(timers_fired(harness_rt), ORDER_N);
}
END_TEST

START_TEST(test_timers_equal_deadlines_fire_in_arm_order)
{
	/* More than one batch of the driver (64) share the deadline. */
	const int n = 200;
	int i;

	use_virtual_clock();
	log_reset(CLOCK_MONOTONIC);
	for (i = 0; i < n; i++)
		spawn_sleep_until(harness_rt, i, 7 * MS);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(done_len, n);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(done_order[i], i);
		ck_assert_uint_eq(tlog[i].now, 7 * MS);
	}
}
END_TEST

START_TEST(test_timers_fifo_follows_arm_order_not_creation_order)
{
	struct evfut_sleep sleeps[8];
	size_t i;

	use_virtual_clock();
	rec_start(harness_rt, sleeps, 8);
	for (i = 0; i < 8; i++) {
		evfut_sleep_until_init(&sleeps[i], (100 + i) * MS);
		ck_assert_int_eq(rec_poll(i, harness_rt), EVFUT_PENDING);
	}
	/* Re-armed last to first, all at one deadline. */
	for (i = 8; i-- > 0;)
		ck_assert_int_eq(evfut_sleep_reset(&sleeps[i], 500 * MS), 0);
	ck_assert_uint_eq(armed_timers(harness_rt), 8);
	advance(harness_rt, SEC);
	ck_assert_uint_eq(rec_len, 8);
	for (i = 0; i < 8; i++)
		ck_assert_uint_eq(rec_order[i], 7 - i);
	for (i = 0; i < 8; i++)
		evfut_future_drop(&sleeps[i].base);
	rec_finish();
}
END_TEST

/* never-early */

static const clockid_t never_early_ids[] = {CLOCK_MONOTONIC, CLOCK_BOOTTIME};
static const enum evfut_clock never_early_clocks[] = {EVFUT_CLOCK_MONOTONIC,
                                                      EVFUT_CLOCK_BOOTTIME};

START_TEST(test_timers_never_fire_before_their_deadline)
{
	const int n = 200;
	int i;

	use_clock(never_early_clocks[_i]);
	log_reset(never_early_ids[_i]);
	xorshift_state = 42;
	for (i = 0; i < n; i++)
		spawn_sleep(harness_rt, i, xorshift64() % (5 * MS + 1));
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(done_len, n);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(tlog[i].result, 0);
		ck_assert_msg(
		        tlog[i].clock >= tlog[i].deadline,
		        "task %d done %llu ns before its deadline", i,
		        (unsigned long long)(tlog[i].deadline - tlog[i].clock));
	}
	ck_assert_uint_eq(armed_timers(harness_rt), 0);
}
END_TEST

/* cancel */

/*
 * Waits for shared[1] (the backup, later); also polls shared[0] until it
 * is dropped, logging whether it ever saw it ready.
 */
static bool cancelled_seen_ready;

static enum evfut_poll
pair_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	tlog[0].polls++;
	tlog[0].polled = evfut_runtime_now(cx->runtime);
	if (!shared_dropped[0] &&
	    evfut_future_poll(&shared[0].base, cx) == EVFUT_READY)
		cancelled_seen_ready = true;
	if (evfut_future_poll(&shared[1].base, cx) == EVFUT_PENDING)
		return EVFUT_PENDING;
	log_done(0, &shared[1], cx->runtime);
	return EVFUT_READY;
}

static enum evfut_poll
cancel_shared0_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	(void)cx;
	evfut_future_drop(&shared[0].base);
	shared_dropped[0] = true;
	return EVFUT_READY;
}

START_TEST(test_timers_cancel_before_fire_never_wakes_the_task)
{
	struct evfut_future pair = EVFUT_FUTURE_INIT(pair_poll, NULL);
	struct evfut_future canceller =
	        EVFUT_FUTURE_INIT(cancel_shared0_poll, NULL);

	use_virtual_clock();
	log_reset(CLOCK_MONOTONIC);
	shared_reset();
	cancelled_seen_ready = false;
	evfut_sleep_until_init(&shared[0], 100 * MS);
	evfut_sleep_until_init(&shared[1], 200 * MS);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &pair, sizeof(pair)), 0);
	ck_assert_int_eq(
	        evfut_task_spawn(harness_rt, &canceller, sizeof(canceller)), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	/* Polled at 0, then only by the backup at 200 ms. */
	ck_assert(!cancelled_seen_ready);
	ck_assert_int_eq(tlog[0].polls, 2);
	ck_assert_uint_eq(tlog[0].polled, 200 * MS);
	ck_assert_uint_eq(timers_fired(harness_rt), 1);
	ck_assert_uint_eq(armed_timers(harness_rt), 0);
	evfut_future_drop(&shared[1].base);
}
END_TEST

START_TEST(test_timers_cancel_drops_the_stored_waker)
{
	struct harness_counter c;
	struct evfut_waker waker;
	struct evfut_sleep sleep;

	use_virtual_clock();
	harness_counter_init(&c);
	waker = harness_counter_waker(&c);
	evfut_sleep_init(&sleep, 100 * MS);
	ck_assert_int_eq(poll_with(&sleep.base, &waker, harness_rt),
	                 EVFUT_PENDING);
	ck_assert_int_eq(atomic_load(&c.live), 2);
	ck_assert_uint_eq(armed_timers(harness_rt), 1);
	evfut_future_drop(&sleep.base);
	ck_assert_uint_eq(armed_timers(harness_rt), 0);
	ck_assert_int_eq(atomic_load(&c.drops), 1);
	ck_assert_int_eq(atomic_load(&c.live), 1);
	advance(harness_rt, SEC);
	ck_assert_int_eq(atomic_load(&c.wakes), 0);
	ck_assert_int_eq(atomic_load(&c.wake_by_refs), 0);
	ck_assert_uint_eq(timers_fired(harness_rt), 0);
	evfut_waker_drop(&waker);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

START_TEST(test_timers_cancel_after_fire_or_twice_is_harmless)
{
	struct harness_counter c;
	struct evfut_waker waker;
	struct evfut_sleep fired, pending, never_polled;

	use_virtual_clock();
	harness_counter_init(&c);
	waker = harness_counter_waker(&c);
	evfut_sleep_init(&fired, 10 * MS);
	evfut_sleep_init(&pending, 100 * MS);
	evfut_sleep_init(&never_polled, 10 * MS);
	ck_assert_int_eq(poll_with(&fired.base, &waker, harness_rt),
	                 EVFUT_PENDING);
	ck_assert_int_eq(poll_with(&pending.base, &waker, harness_rt),
	                 EVFUT_PENDING);
	advance(harness_rt, 10 * MS);
	ck_assert_int_eq(atomic_load(&c.wakes), 1);
	ck_assert_int_eq(poll_with(&fired.base, &waker, harness_rt),
	                 EVFUT_READY);
	ck_assert_int_eq(evfut_sleep_result(&fired), 0);
	/* A completed sleep, twice; a pending one, twice; an unpolled one. */
	evfut_future_drop(&fired.base);
	evfut_future_drop(&fired.base);
	evfut_future_drop(&pending.base);
	evfut_future_drop(&pending.base);
	evfut_future_drop(&never_polled.base);
	evfut_future_drop(&never_polled.base);
	ck_assert_uint_eq(armed_timers(harness_rt), 0);
	ck_assert_int_eq(atomic_load(&c.drops), 1);
	advance(harness_rt, SEC);
	ck_assert_uint_eq(timers_fired(harness_rt), 1);
	ck_assert_int_eq(atomic_load(&c.wakes), 1);
	evfut_waker_drop(&waker);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

START_TEST(test_timers_cancel_among_many_keeps_the_order)
{
	const size_t n = 1000;
	struct evfut_sleep *sleeps = calloc(n, sizeof(*sleeps));
	size_t i;

	ck_assert_ptr_nonnull(sleeps);
	use_virtual_clock();
	rec_start(harness_rt, sleeps, n);
	xorshift_state = 42;
	for (i = 0; i < n; i++) {
		evfut_sleep_until_init(&sleeps[i],
		                       1 + xorshift64() % (50 * MS));
		ck_assert_int_eq(rec_poll(i, harness_rt), EVFUT_PENDING);
	}
	for (i = 1; i < n; i += 2)
		evfut_future_drop(&sleeps[i].base);
	ck_assert_uint_eq(armed_timers(harness_rt), n / 2);
	advance(harness_rt, SEC);
	ck_assert_uint_eq(rec_len, n / 2);
	ck_assert_uint_eq(rec_early, 0);
	for (i = 0; i < rec_len; i++) {
		ck_assert_uint_eq(rec_order[i] % 2, 0);
		if (i > 0)
			ck_assert_uint_le(
			        evfut_sleep_deadline(&sleeps[rec_order[i - 1]]),
			        evfut_sleep_deadline(&sleeps[rec_order[i]]));
	}
	ck_assert_uint_eq(timers_fired(harness_rt), n / 2);
	for (i = 0; i < n; i += 2)
		evfut_future_drop(&sleeps[i].base);
	rec_finish();
	free(sleeps);
}
END_TEST

START_TEST(test_timers_destroy_cancels_sleeping_tasks)
{
	struct evfut_sleep first;

	use_virtual_clock();
	log_reset(CLOCK_MONOTONIC);
	spawn_sleep(harness_rt, 0, 10 * SEC);
	spawn_sleep(harness_rt, 1, EVFUT_NEVER);
	evfut_sleep_init(&first, MS);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &first.base), 0);
	/* A sleep until EVFUT_NEVER waits without taking a place in the store.
	 */
	ck_assert_uint_eq(armed_timers(harness_rt), 1);
	evfut_future_drop(&first.base);
	/* The teardown destroys the runtime with the two tasks asleep. */
	harness_expect_live(2);
}
END_TEST

/* reset */

static evfut_nsec reset_to;

static enum evfut_poll
reset_shared0_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	(void)cx;
	ck_assert_int_eq(evfut_sleep_reset(&shared[0], reset_to), 0);
	return EVFUT_READY;
}

static const evfut_nsec reset_targets[] = {50 * MS, 300 * MS};

START_TEST(test_timers_reset_pending_fires_at_the_new_deadline_only)
{
	struct evfut_future resetter =
	        EVFUT_FUTURE_INIT(reset_shared0_poll, NULL);

	use_virtual_clock();
	log_reset(CLOCK_MONOTONIC);
	shared_reset();
	reset_to = reset_targets[_i];
	evfut_sleep_until_init(&shared[0], 100 * MS);
	spawn_watcher(harness_rt, 0, -1);
	ck_assert_int_eq(
	        evfut_task_spawn(harness_rt, &resetter, sizeof(resetter)), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert(tlog[0].done);
	ck_assert_int_eq(tlog[0].polls, 2);
	ck_assert_uint_eq(tlog[0].deadline, reset_to);
	ck_assert_uint_eq(tlog[0].now, reset_to);
	ck_assert_uint_eq(timers_fired(harness_rt), 1);
	ck_assert_uint_eq(armed_timers(harness_rt), 0);
	evfut_future_drop(&shared[0].base);
}
END_TEST

START_TEST(test_timers_reset_completed_sleep_is_pending_again)
{
	struct harness_counter c;
	struct evfut_waker waker;
	struct evfut_sleep sleep;

	use_virtual_clock();
	harness_counter_init(&c);
	waker = harness_counter_waker(&c);
	evfut_sleep_until_init(&sleep, 100 * MS);
	ck_assert_int_eq(poll_with(&sleep.base, &waker, harness_rt),
	                 EVFUT_PENDING);
	advance(harness_rt, 100 * MS);
	ck_assert_int_eq(poll_with(&sleep.base, &waker, harness_rt),
	                 EVFUT_READY);
	ck_assert_int_eq(evfut_sleep_reset(&sleep, 250 * MS), 0);
	ck_assert_uint_eq(evfut_sleep_deadline(&sleep), 250 * MS);
	ck_assert_int_eq(poll_with(&sleep.base, &waker, harness_rt),
	                 EVFUT_PENDING);
	advance(harness_rt, 100 * MS);
	ck_assert_int_eq(atomic_load(&c.wakes), 1);
	advance(harness_rt, 50 * MS);
	ck_assert_int_eq(atomic_load(&c.wakes), 2);
	ck_assert_int_eq(poll_with(&sleep.base, &waker, harness_rt),
	                 EVFUT_READY);
	ck_assert_int_eq(evfut_sleep_result(&sleep), 0);
	ck_assert_uint_eq(evfut_runtime_now(harness_rt), 250 * MS);
	ck_assert_uint_eq(timers_fired(harness_rt), 2);
	evfut_future_drop(&sleep.base);
	evfut_waker_drop(&waker);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

START_TEST(test_timers_reset_to_past_deadline_completes_on_next_poll)
{
	struct harness_counter c;
	struct evfut_waker waker;
	struct evfut_sleep sleep;

	use_virtual_clock();
	harness_counter_init(&c);
	waker = harness_counter_waker(&c);
	advance(harness_rt, 100 * MS);
	evfut_sleep_until_init(&sleep, SEC);
	ck_assert_int_eq(poll_with(&sleep.base, &waker, harness_rt),
	                 EVFUT_PENDING);
	ck_assert_int_eq(evfut_sleep_reset(&sleep, 50 * MS), 0);
	/* Disarmed, and the task told to poll. */
	ck_assert_uint_eq(armed_timers(harness_rt), 0);
	ck_assert_int_eq(atomic_load(&c.wakes) + atomic_load(&c.wake_by_refs),
	                 1);
	ck_assert_int_eq(poll_with(&sleep.base, &waker, harness_rt),
	                 EVFUT_READY);
	ck_assert_int_eq(evfut_sleep_result(&sleep), 0);
	ck_assert_uint_eq(timers_fired(harness_rt), 0);
	advance(harness_rt, 2 * SEC);
	ck_assert_uint_eq(timers_fired(harness_rt), 0);
	evfut_future_drop(&sleep.base);
	evfut_waker_drop(&waker);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

START_TEST(test_timers_reset_before_first_poll_sets_the_deadline)
{
	struct evfut_sleep sleep;

	use_virtual_clock();
	log_reset(CLOCK_MONOTONIC);
	shared_reset();
	evfut_sleep_init(&shared[0], 10 * MS);
	ck_assert_uint_eq(evfut_sleep_deadline(&shared[0]), EVFUT_NEVER);
	ck_assert_int_eq(evfut_sleep_reset(&shared[0], 70 * MS), 0);
	ck_assert_uint_eq(evfut_sleep_deadline(&shared[0]), 70 * MS);
	spawn_watcher(harness_rt, 0, -1);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_uint_eq(tlog[0].now, 70 * MS);
	evfut_future_drop(&shared[0].base);
	/* And a sleep that was never polled. */
	evfut_sleep_init(&sleep, 0);
	evfut_future_drop(&sleep.base);
}
END_TEST

/* The real clock: the source stays armed at the old deadline and fires
 * early; the driver must find nothing due and wait for the new one. */
static enum evfut_poll
reset_later_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	tlog[0].polls++;
	if (tlog[0].polls == 1) {
		evfut_sleep_until_init(&shared[0],
		                       evfut_runtime_now(cx->runtime) + 2 * MS);
		ck_assert_int_eq(evfut_future_poll(&shared[0].base, cx),
		                 EVFUT_PENDING);
		ck_assert_int_eq(
		        evfut_sleep_reset(&shared[0],
		                          evfut_runtime_now(cx->runtime) +
		                                  20 * MS),
		        0);
	}
	if (evfut_future_poll(&shared[0].base, cx) == EVFUT_PENDING)
		return EVFUT_PENDING;
	log_done(0, &shared[0], cx->runtime);
	return EVFUT_READY;
}

START_TEST(test_timers_reset_later_on_real_clock_is_never_early)
{
	struct evfut_future f = EVFUT_FUTURE_INIT(reset_later_poll, NULL);

	log_reset(CLOCK_MONOTONIC);
	shared_reset();
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &f), 0);
	ck_assert(tlog[0].done);
	ck_assert_uint_ge(tlog[0].clock, tlog[0].deadline);
	/* Woken once, by the new deadline, not by the early source. */
	ck_assert_int_eq(tlog[0].polls, 2);
	ck_assert_uint_eq(timers_fired(harness_rt), 1);
	ck_assert_uint_eq(armed_timers(harness_rt), 0);
	evfut_future_drop(&shared[0].base);
}
END_TEST

/* scale */

#define SCALE_N     1000000
#define SCALE_SPAN  20000 /* deadlines 1 us apart: ~50 timers share each */
#define SCALE_FINAL ((evfut_nsec)SCALE_SPAN * EVFUT_USEC + 1)

struct scale_root {
	struct evfut_future base;
	struct evfut_sleep final;
	int polls;
};

static enum evfut_poll
scale_root_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct scale_root *f =
	        evfut_container_of(self, struct scale_root, base);
	size_t i;

	if (f->polls++ == 0) {
		xorshift_state = 42;
		for (i = 0; i < SCALE_N; i++) {
			evfut_nsec d =
			        1 + (xorshift64() % SCALE_SPAN) * EVFUT_USEC;

			evfut_sleep_until_init(&rec_sleeps[i], d);
			if (rec_poll(i, cx->runtime) != EVFUT_PENDING)
				ck_abort_msg("sleep %zu ready at 0", i);
		}
		evfut_sleep_until_init(&f->final, SCALE_FINAL);
	}
	return evfut_future_poll(&f->final.base, cx);
}

START_TEST(test_timers_million_timers_fire_in_exact_deadline_order)
{
	struct evfut_sleep *sleeps = calloc(SCALE_N, sizeof(*sleeps));
	struct scale_root root = {
	        .base = EVFUT_FUTURE_INIT(scale_root_poll, NULL)};
	size_t i;

	ck_assert_ptr_nonnull(sleeps);
	use_virtual_clock();
	rec_start(harness_rt, sleeps, SCALE_N);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &root.base), 0);
	ck_assert_uint_eq(evfut_runtime_now(harness_rt), SCALE_FINAL);
	ck_assert_uint_eq(rec_len, SCALE_N);
	ck_assert_uint_eq(rec_early, 0);
	/* Each at its own jump of the virtual clock. */
	ck_assert_uint_eq(rec_inexact, 0);
	for (i = 1; i < SCALE_N; i++) {
		uint32_t a = rec_order[i - 1], b = rec_order[i];
		evfut_nsec da = sleeps[a].node.deadline;
		evfut_nsec db = sleeps[b].node.deadline;

		if (da > db || (da == db && a >= b))
			ck_abort_msg("fired %u (%llu) before %u (%llu)", a,
			             (unsigned long long)da, b,
			             (unsigned long long)db);
	}
	ck_assert_uint_eq(timers_fired(harness_rt), SCALE_N + 1);
	ck_assert_uint_eq(armed_timers(harness_rt), 0);
	evfut_future_drop(&root.final.base);
	rec_finish();
	free(sleeps);
}
END_TEST

/* interval */

#define TICKS_MAX 8

struct tick {
	uint64_t ticks;
	evfut_nsec scheduled;
	evfut_nsec now;
};

static struct tick ticks_seen[TICKS_MAX];
static int ticks_len;

/* Polls its interval until it has seen @want ticks, logging each. */
struct ticker {
	struct evfut_future base;
	struct evfut_interval interval;
	int want;
};

static enum evfut_poll
ticker_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct ticker *f = evfut_container_of(self, struct ticker, base);

	while (evfut_future_poll(&f->interval.base, cx) == EVFUT_READY) {
		struct tick t = {f->interval.ticks, f->interval.scheduled,
		                 evfut_runtime_now(cx->runtime)};

		ck_assert_int_eq(f->interval.result, 0);
		ck_assert_int_lt(ticks_len, TICKS_MAX);
		ticks_seen[ticks_len++] = t;
		if (ticks_len == f->want)
			return EVFUT_READY;
	}
	return EVFUT_PENDING;
}

static void
ticker_drop(struct evfut_future *self)
{
	struct ticker *f = evfut_container_of(self, struct ticker, base);

	evfut_future_drop(&f->interval.base);
}

static void
spawn_ticker(struct evfut_runtime *rt, enum evfut_missed_tick missed, int want)
{
	struct ticker f = {.base = EVFUT_FUTURE_INIT(ticker_poll, ticker_drop)};

	ck_assert_int_eq(evfut_interval_init(&f.interval, 100 * MS, missed), 0);
	f.want = want;
	ck_assert_int_eq(evfut_task_spawn(rt, &f.base, sizeof(f)), 0);
}

/*
 * Runs a ticker with period 100 ms started at 0: it takes its first tick
 * at 100 ms, polls again (arming the tick of 200 ms), then stalls: the
 * clock is advanced by @stall from outside the loop before it runs again.
 */
static void
run_stalled_ticker(enum evfut_missed_tick missed, evfut_nsec stall, int want)
{
	struct evfut_sleep first_tick;

	use_virtual_clock();
	ticks_len = 0;
	spawn_ticker(harness_rt, missed, want);
	/* Armed after the interval, at the same deadline: fires after it. */
	evfut_sleep_until_init(&first_tick, 100 * MS);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &first_tick.base),
	                 0);
	ck_assert_int_eq(ticks_len, 1);
	ck_assert_uint_eq(armed_timers(harness_rt), 1);
	advance(harness_rt, stall);
	ck_assert_int_eq(ticks_len, 1);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(ticks_len, want);
}

static void
check_ticks(const struct tick *expected, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		ck_assert_msg(
		        ticks_seen[i].ticks == expected[i].ticks &&
		                ticks_seen[i].scheduled ==
		                        expected[i].scheduled &&
		                ticks_seen[i].now == expected[i].now,
		        "tick %d: ticks %llu scheduled %llu ms now %llu "
		        "ms; expected %llu, %llu ms, %llu ms",
		        i, (unsigned long long)ticks_seen[i].ticks,
		        (unsigned long long)(ticks_seen[i].scheduled / MS),
		        (unsigned long long)(ticks_seen[i].now / MS),
		        (unsigned long long)expected[i].ticks,
		        (unsigned long long)(expected[i].scheduled / MS),
		        (unsigned long long)(expected[i].now / MS));
	}
}

#define TICK(n, scheduled_ms, now_ms)                                          \
	{                                                                      \
		(n), (scheduled_ms)*MS, (now_ms)*MS                            \
	}

static const enum evfut_missed_tick policies[] = {
        EVFUT_MISSED_BURST, EVFUT_MISSED_DELAY, EVFUT_MISSED_SKIP};

START_TEST(test_timers_interval_ticks_every_period_on_time)
{
	static const struct tick expected[] = {
	        TICK(1, 100, 100), TICK(2, 200, 200), TICK(3, 300, 300),
	        TICK(4, 400, 400), TICK(5, 500, 500)};

	use_virtual_clock();
	ticks_len = 0;
	spawn_ticker(harness_rt, policies[_i], 5);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(ticks_len, 5);
	check_ticks(expected, 5);
	ck_assert_uint_eq(armed_timers(harness_rt), 0);
}
END_TEST

/*
 * Stalled from 100 ms to 450 ms: the ticks of 200, 300 and 400 ms were
 * missed. tokio: Burst yields 200, 300, 400 at once, then 500, 600 on the
 * original schedule; Delay yields 200 at 450, then 550, 650 (a period
 * after the late tick); Skip yields 200 at 450, then 500, 600 (the next
 * multiple of the period on the original schedule).
 */
START_TEST(test_timers_interval_burst_catches_up_then_keeps_schedule)
{
	static const struct tick expected[] = {
	        TICK(1, 100, 100), TICK(2, 200, 450), TICK(3, 300, 450),
	        TICK(4, 400, 450), TICK(5, 500, 500), TICK(6, 600, 600)};

	run_stalled_ticker(EVFUT_MISSED_BURST, 350 * MS, 6);
	check_ticks(expected, 6);
}
END_TEST

START_TEST(test_timers_interval_delay_restarts_a_period_after_late_tick)
{
	static const struct tick expected[] = {
	        TICK(1, 100, 100), TICK(2, 200, 450), TICK(3, 550, 550),
	        TICK(4, 650, 650)};

	run_stalled_ticker(EVFUT_MISSED_DELAY, 350 * MS, 4);
	check_ticks(expected, 4);
}
END_TEST

START_TEST(test_timers_interval_skip_fires_once_then_next_multiple)
{
	static const struct tick expected[] = {
	        TICK(1, 100, 100), TICK(2, 200, 450), TICK(3, 500, 500),
	        TICK(4, 600, 600)};

	run_stalled_ticker(EVFUT_MISSED_SKIP, 350 * MS, 4);
	check_ticks(expected, 4);
}
END_TEST

/*
 * Late by 50 ms, less than a period but more than tokio's 5 ms tolerance:
 * tokio's Delay still restarts the schedule a period after the late tick
 * (MissedTickBehavior::Delay: next = now + period); Burst and Skip keep
 * the original schedule (Skip's formula gives the same tick as Burst).
 */
START_TEST(test_timers_interval_late_within_a_period_follows_tokio)
{
	static const struct tick burst[] = {
	        TICK(1, 100, 100), TICK(2, 200, 250), TICK(3, 300, 300),
	        TICK(4, 400, 400)};
	static const struct tick delay[] = {
	        TICK(1, 100, 100), TICK(2, 200, 250), TICK(3, 350, 350),
	        TICK(4, 450, 450)};
	static const struct tick *expected[] = {burst, delay, burst};

	run_stalled_ticker(policies[_i], 150 * MS, 4);
	check_ticks(expected[_i], 4);
}
END_TEST

START_TEST(test_timers_interval_drop_disarms)
{
	struct evfut_interval iv;
	struct harness_counter c;
	struct evfut_waker waker;

	use_virtual_clock();
	harness_counter_init(&c);
	waker = harness_counter_waker(&c);
	ck_assert_int_eq(evfut_interval_init(&iv, 10 * MS, EVFUT_MISSED_BURST),
	                 0);
	ck_assert_int_eq(poll_with(&iv.base, &waker, harness_rt),
	                 EVFUT_PENDING);
	ck_assert_uint_eq(armed_timers(harness_rt), 1);
	evfut_future_drop(&iv.base);
	ck_assert_uint_eq(armed_timers(harness_rt), 0);
	advance(harness_rt, SEC);
	ck_assert_int_eq(atomic_load(&c.wakes), 0);
	evfut_waker_drop(&waker);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

/* timeout */

/*
 * An inner future that keeps the latest waker, and optionally waits for a
 * sleep of its own; its drop is counted.
 */
struct counted {
	struct evfut_future base;
	struct evfut_sleep sleep;
	bool has_sleep;
	struct evfut_waker stored;
	int polls;
	int drops;
};

static enum evfut_poll
counted_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct counted *f = evfut_container_of(self, struct counted, base);

	f->polls++;
	evfut_waker_store(&f->stored, cx->waker);
	if (f->has_sleep)
		return evfut_future_poll(&f->sleep.base, cx);
	return EVFUT_PENDING;
}

static void
counted_drop(struct evfut_future *self)
{
	struct counted *f = evfut_container_of(self, struct counted, base);

	f->drops++;
	evfut_waker_drop(&f->stored);
	evfut_future_drop(&f->sleep.base);
}

static void
counted_init(struct counted *f, bool has_sleep, evfut_nsec duration)
{
	memset(f, 0, sizeof(*f));
	f->base.poll = counted_poll;
	f->base.drop = counted_drop;
	f->has_sleep = has_sleep;
	evfut_sleep_init(&f->sleep, duration);
}

START_TEST(test_timers_timeout_inner_first_completes_and_disarms)
{
	struct counted inner;
	struct evfut_timeout timeout;

	use_virtual_clock();
	counted_init(&inner, true, 50 * MS);
	ck_assert_int_eq(evfut_timeout_init(&timeout, &inner.base, 100 * MS),
	                 0);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &timeout.base), 0);
	ck_assert_int_eq(timeout.result, 0);
	ck_assert_uint_eq(evfut_runtime_now(harness_rt), 50 * MS);
	/* The timeout's own sleep left the store with the completion. */
	ck_assert_uint_eq(armed_timers(harness_rt), 0);
	ck_assert_int_eq(inner.drops, 0);
	advance(harness_rt, SEC);
	ck_assert_uint_eq(timers_fired(harness_rt), 1);
	evfut_future_drop(&timeout.base);
	ck_assert_int_eq(inner.drops, 1);
}
END_TEST

START_TEST(test_timers_timeout_expiry_drops_inner_once_with_its_waker)
{
	struct counted inner;
	struct evfut_timeout timeout;
	struct harness_counter c;
	struct evfut_waker waker;

	use_virtual_clock();
	harness_counter_init(&c);
	waker = harness_counter_waker(&c);
	counted_init(&inner, true, SEC);
	ck_assert_int_eq(evfut_timeout_init(&timeout, &inner.base, 100 * MS),
	                 0);
	ck_assert_int_eq(poll_with(&timeout.base, &waker, harness_rt),
	                 EVFUT_PENDING);
	/* Ours, the inner future's, its sleep's and the timeout's sleep's. */
	ck_assert_int_eq(atomic_load(&c.live), 4);
	ck_assert_uint_eq(armed_timers(harness_rt), 2);
	advance(harness_rt, 100 * MS);
	ck_assert_int_eq(atomic_load(&c.wakes), 1);
	ck_assert_int_eq(poll_with(&timeout.base, &waker, harness_rt),
	                 EVFUT_READY);
	ck_assert_int_eq(timeout.result, -ETIMEDOUT);
	ck_assert_int_eq(inner.drops, 1);
	/* The inner future's waker and its sleep are gone. */
	ck_assert_int_eq(atomic_load(&c.live), 1);
	ck_assert_uint_eq(armed_timers(harness_rt), 0);
	advance(harness_rt, 2 * SEC);
	ck_assert_uint_eq(timers_fired(harness_rt), 1);
	ck_assert_int_eq(atomic_load(&c.wakes), 1);
	evfut_future_drop(&timeout.base);
	ck_assert_int_eq(inner.drops, 1);
	evfut_waker_drop(&waker);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

START_TEST(test_timers_timeout_expires_in_a_task_at_its_deadline)
{
	struct counted inner;
	struct evfut_timeout timeout;

	use_virtual_clock();
	counted_init(&inner, false, 0);
	ck_assert_int_eq(evfut_timeout_init(&timeout, &inner.base, 100 * MS),
	                 0);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &timeout.base), 0);
	ck_assert_int_eq(timeout.result, -ETIMEDOUT);
	ck_assert_uint_eq(evfut_runtime_now(harness_rt), 100 * MS);
	ck_assert_int_eq(inner.drops, 1);
	ck_assert_int_eq(inner.polls, 2);
	evfut_future_drop(&timeout.base);
	ck_assert_int_eq(inner.drops, 1);
}
END_TEST

START_TEST(test_timers_timeout_dropped_while_pending_drops_inner_once)
{
	struct counted inner;
	struct evfut_timeout timeout;
	struct harness_counter c;
	struct evfut_waker waker;

	use_virtual_clock();
	harness_counter_init(&c);
	waker = harness_counter_waker(&c);
	counted_init(&inner, true, SEC);
	ck_assert_int_eq(evfut_timeout_init(&timeout, &inner.base, 100 * MS),
	                 0);
	ck_assert_int_eq(poll_with(&timeout.base, &waker, harness_rt),
	                 EVFUT_PENDING);
	evfut_future_drop(&timeout.base);
	ck_assert_int_eq(inner.drops, 1);
	ck_assert_uint_eq(armed_timers(harness_rt), 0);
	ck_assert_int_eq(atomic_load(&c.live), 1);
	advance(harness_rt, 2 * SEC);
	ck_assert_uint_eq(timers_fired(harness_rt), 0);
	evfut_waker_drop(&waker);
}
END_TEST

/* deadlines */

START_TEST(test_timers_zero_and_past_deadlines_complete_on_first_poll)
{
	evfut_nsec now;
	int i;

	use_clock(both_clocks[_i]);
	log_reset(CLOCK_MONOTONIC);
	if (both_clocks[_i] == EVFUT_CLOCK_VIRTUAL)
		advance(harness_rt, SEC);
	now = evfut_runtime_now(harness_rt);
	spawn_sleep(harness_rt, 0, 0);
	spawn_sleep_until(harness_rt, 1, 0);
	spawn_sleep_until(harness_rt, 2, now - 1);
	spawn_sleep_until(harness_rt, 3, now);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	for (i = 0; i < 4; i++) {
		ck_assert(tlog[i].done);
		ck_assert_int_eq(tlog[i].polls, 1);
		ck_assert_int_eq(tlog[i].result, 0);
	}
	ck_assert_uint_eq(timers_fired(harness_rt), 0);
	ck_assert_uint_eq(armed_timers(harness_rt), 0);
}
END_TEST

START_TEST(test_timers_huge_durations_saturate_and_never_fire)
{
	struct harness_counter c;
	struct evfut_waker waker;
	struct evfut_sleep s[5];
	evfut_nsec start = 5 * SEC;
	int i;

	use_virtual_clock();
	harness_counter_init(&c);
	waker = harness_counter_waker(&c);
	advance(harness_rt, start);
	evfut_sleep_init(&s[0], UINT64_MAX - 1);
	evfut_sleep_init(&s[1], EVFUT_NEVER);
	evfut_sleep_until_init(&s[2], UINT64_MAX - 1);
	evfut_sleep_until_init(&s[3], EVFUT_NEVER);
	evfut_sleep_init(&s[4], UINT64_MAX - 1 - start);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(poll_with(&s[i].base, &waker, harness_rt),
		                 EVFUT_PENDING);
	ck_assert_uint_eq(evfut_sleep_deadline(&s[0]), EVFUT_NEVER);
	ck_assert_uint_eq(evfut_sleep_deadline(&s[1]), EVFUT_NEVER);
	ck_assert_uint_eq(evfut_sleep_deadline(&s[2]), UINT64_MAX - 1);
	ck_assert_uint_eq(evfut_sleep_deadline(&s[3]), EVFUT_NEVER);
	ck_assert_uint_eq(evfut_sleep_deadline(&s[4]), UINT64_MAX - 1);
	/* 500 years in all, and UINT64_MAX - 1 still ahead. */
	advance(harness_rt, 250 * YEAR);
	advance(harness_rt, 250 * YEAR);
	ck_assert_uint_lt(evfut_runtime_now(harness_rt), UINT64_MAX - 1);
	ck_assert_int_eq(atomic_load(&c.wakes), 0);
	ck_assert_uint_eq(timers_fired(harness_rt), 0);
	/* The three at EVFUT_NEVER (saturated or given) are not in the store.
	 */
	ck_assert_uint_eq(armed_timers(harness_rt), 2);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(poll_with(&s[i].base, &waker, harness_rt),
		                 EVFUT_PENDING);
		evfut_future_drop(&s[i].base);
	}
	ck_assert_uint_eq(armed_timers(harness_rt), 0);
	evfut_waker_drop(&waker);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

START_TEST(test_timers_huge_deadlines_leave_real_clock_timers_working)
{
	struct harness_counter c;
	struct evfut_waker waker;
	struct evfut_sleep s[3];
	int i;

	log_reset(CLOCK_MONOTONIC);
	harness_counter_init(&c);
	waker = harness_counter_waker(&c);
	evfut_sleep_init(&s[0], UINT64_MAX - 1);
	evfut_sleep_until_init(&s[1], UINT64_MAX - 1);
	evfut_sleep_init(&s[2], EVFUT_NEVER);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(poll_with(&s[i].base, &waker, harness_rt),
		                 EVFUT_PENDING);
	spawn_sleep(harness_rt, 0, MS);
	spawn_sleep(harness_rt, 1, 3 * MS);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	for (i = 0; i < 2; i++) {
		ck_assert(tlog[i].done);
		ck_assert_uint_ge(tlog[i].clock, tlog[i].deadline);
	}
	ck_assert_int_eq(atomic_load(&c.wakes), 0);
	ck_assert_uint_eq(timers_fired(harness_rt), 2);
	for (i = 0; i < 3; i++)
		evfut_future_drop(&s[i].base);
	evfut_waker_drop(&waker);
}
END_TEST

/* Ascending: 4.3 s, 3 days, 3.26 days, 12 days, a year, 2.28 years... */
static const evfut_nsec far_durations[] = {
        (evfut_nsec)1 << 32, 3 * DAY,   (evfut_nsec)1 << 48, 12 * DAY + 1, YEAR,
        (evfut_nsec)1 << 56, 200 * YEAR};
#define FAR_N ((int)(sizeof(far_durations) / sizeof(far_durations[0])))

static const evfut_nsec far_starts[] = {0, ((evfut_nsec)1 << 40) + 12345};

START_TEST(test_timers_far_deadlines_fire_exactly_at_their_deadline)
{
	evfut_nsec start = far_starts[_i];
	int i;

	use_virtual_clock();
	log_reset(CLOCK_MONOTONIC);
	advance(harness_rt, start);
	/* Spawned far to near, so that the order is the deadlines'. */
	for (i = FAR_N; i-- > 0;)
		spawn_sleep(harness_rt, i, far_durations[i]);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(done_len, FAR_N);
	for (i = 0; i < FAR_N; i++) {
		ck_assert_int_eq(done_order[i], i);
		ck_assert_uint_eq(tlog[i].deadline, start + far_durations[i]);
		ck_assert_uint_eq(tlog[i].now, tlog[i].deadline);
		ck_assert_int_eq(tlog[i].polls, 2);
	}
}
END_TEST

/* drop-in-wake */

#define FILLERS 100

static struct evfut_sleep fillers[FILLERS];

/*
 * Two tasks whose sleeps share a deadline (or, in the second run, whose
 * second sleep is 1 ns later): the first to fire drops the other's sleep
 * and wakes its task, which must complete without its sleep, polled once
 * for the wake. With equal deadlines the dropped sleep had already been
 * detached in the same batch; 1 ns later it is still in the store.
 */
static const evfut_nsec sibling_lag[] = {0, 1};

START_TEST(test_timers_drop_sibling_sleep_from_a_fired_task)
{
	use_virtual_clock();
	log_reset(CLOCK_MONOTONIC);
	shared_reset();
	evfut_sleep_until_init(&shared[0], 100 * MS);
	evfut_sleep_until_init(&shared[1], 100 * MS + sibling_lag[_i]);
	spawn_watcher(harness_rt, 0, 1);
	spawn_watcher(harness_rt, 1, 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert(tlog[0].done);
	ck_assert_uint_eq(tlog[0].now, 100 * MS);
	ck_assert(!tlog[1].done);
	ck_assert(tlog[1].cancelled);
	/* Polled once to arm, once to finish: never twice for one wake. */
	ck_assert_int_eq(tlog[1].polls, 2);
	ck_assert_uint_eq(tlog[1].polled, 100 * MS);
	ck_assert_uint_eq(timers_fired(harness_rt), sibling_lag[_i] ? 1 : 2);
	ck_assert_uint_eq(armed_timers(harness_rt), 0);
	ck_assert_uint_eq(evfut_runtime_now(harness_rt), 100 * MS);
	evfut_future_drop(&shared[0].base);
}
END_TEST

/*
 * A waker of our own whose wake drops, and frees, sleeps: its own (already
 * detached), one detached in the same batch, and one still in the store
 * behind more than a batch of fillers. ASan sees any later touch.
 */
struct dropper {
	struct evfut_sleep *victims[3];
	int wakes;
	int clones;
	int drops;
};

static void dropper_wake_by_ref(const void *data);
static void dropper_wake(const void *data);
static void dropper_drop(const void *data);
static struct evfut_waker dropper_clone(const void *data);

static const struct evfut_waker_vtable dropper_vtable = {
        dropper_clone,
        dropper_wake,
        dropper_wake_by_ref,
        dropper_drop,
};

static struct evfut_waker
dropper_clone(const void *data)
{
	struct evfut_waker waker = {data, &dropper_vtable};

	((struct dropper *)data)->clones++;
	return waker;
}

static void
dropper_wake_by_ref(const void *data)
{
	struct dropper *d = (struct dropper *)data;
	int i;

	d->wakes++;
	for (i = 0; i < 3; i++) {
		if (d->victims[i] != NULL) {
			evfut_future_drop(&d->victims[i]->base);
			free(d->victims[i]);
			d->victims[i] = NULL;
		}
	}
}

static void
dropper_wake(const void *data)
{
	dropper_wake_by_ref(data);
	((struct dropper *)data)->drops++;
}

static void
dropper_drop(const void *data)
{
	((struct dropper *)data)->drops++;
}

static struct dropper the_dropper;
static struct harness_counter same_batch, later_batch;

struct dropper_root {
	struct evfut_future base;
	struct evfut_sleep last;
	int polls;
};

static struct evfut_sleep *
new_sleep_at(evfut_nsec deadline)
{
	struct evfut_sleep *s = malloc(sizeof(*s));

	ck_assert_ptr_nonnull(s);
	evfut_sleep_until_init(s, deadline);
	return s;
}

static void
arm_counted(struct evfut_sleep *s, struct harness_counter *c,
            struct evfut_runtime *rt)
{
	struct evfut_waker waker = harness_counter_waker(c);

	ck_assert_int_eq(poll_with(&s->base, &waker, rt), EVFUT_PENDING);
	evfut_waker_drop(&waker);
}

static enum evfut_poll
dropper_root_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct dropper_root *f =
	        evfut_container_of(self, struct dropper_root, base);
	struct evfut_waker own = {&the_dropper, &dropper_vtable};
	struct dropper *d = &the_dropper;
	int i;

	if (f->polls++ == 0) {
		d->victims[0] = new_sleep_at(100 * MS);
		d->victims[1] = new_sleep_at(100 * MS);
		d->victims[2] = new_sleep_at(100 * MS);
		ck_assert_int_eq(
		        poll_with(&d->victims[0]->base, &own, cx->runtime),
		        EVFUT_PENDING);
		arm_counted(d->victims[1], &same_batch, cx->runtime);
		for (i = 0; i < FILLERS; i++) {
			evfut_sleep_until_init(&fillers[i], 100 * MS);
			arm_by_hand(&fillers[i], cx->runtime);
		}
		arm_counted(d->victims[2], &later_batch, cx->runtime);
		evfut_sleep_until_init(&f->last, 100 * MS);
	}
	return evfut_future_poll(&f->last.base, cx);
}

START_TEST(test_timers_waker_that_drops_sleeps_while_firing_is_safe)
{
	struct dropper_root root = {
	        .base = EVFUT_FUTURE_INIT(dropper_root_poll, NULL)};
	int i;

	use_virtual_clock();
	memset(&the_dropper, 0, sizeof(the_dropper));
	harness_counter_init(&same_batch);
	harness_counter_init(&later_batch);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &root.base), 0);
	ck_assert_int_eq(the_dropper.wakes, 1);
	ck_assert_int_eq(the_dropper.clones, the_dropper.drops);
	for (i = 0; i < 3; i++)
		ck_assert_ptr_null(the_dropper.victims[i]);
	/*
	 * Due at the same instant, right after the dropper, and dropped by
	 * its wake: never woken, as libuv's uv_timer_stop() takes a timer
	 * off its ready queue. So is the one further on.
	 */
	ck_assert_int_eq(atomic_load(&same_batch.wakes), 0);
	ck_assert_int_eq(atomic_load(&same_batch.drops), 2);
	ck_assert_int_eq(atomic_load(&same_batch.live), 0);
	ck_assert_int_eq(atomic_load(&later_batch.wakes), 0);
	ck_assert_int_eq(atomic_load(&later_batch.drops), 2);
	ck_assert_int_eq(atomic_load(&later_batch.live), 0);
	ck_assert_uint_eq(timers_fired(harness_rt), 1 + FILLERS + 1);
	ck_assert_uint_eq(armed_timers(harness_rt), 0);
	evfut_future_drop(&root.last.base);
	for (i = 0; i < FILLERS; i++)
		evfut_future_drop(&fillers[i].base);
}
END_TEST

/* virtual-clock */

static int busy_polls;
static evfut_nsec busy_max_now;
static bool callback_ran;
static evfut_nsec callback_now;

/* Wakes itself 100 times: while it is ready, time must stand still. */
static enum evfut_poll
busy_poll(struct evfut_future *self, struct evfut_context *cx)
{
	evfut_nsec now = evfut_runtime_now(cx->runtime);

	(void)self;
	if (now > busy_max_now)
		busy_max_now = now;
	if (++busy_polls == 100)
		return EVFUT_READY;
	evfut_waker_wake_by_ref(cx->waker);
	return EVFUT_PENDING;
}

static void
record_now(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	callback_ran = true;
	callback_now = evfut_runtime_now(arg);
}

START_TEST(test_timers_virtual_clock_jumps_only_when_all_is_idle)
{
	struct evfut_future busy = EVFUT_FUTURE_INIT(busy_poll, NULL);
	struct timeval zero = {0, 0};
	struct timespec pause = {0, 2000000};

	use_virtual_clock();
	log_reset(CLOCK_MONOTONIC);
	busy_polls = 0;
	busy_max_now = 0;
	callback_ran = false;
	callback_now = EVFUT_NEVER;
	/* Paused: real time passing does not move it. */
	ck_assert_uint_eq(evfut_runtime_now(harness_rt), 0);
	nanosleep(&pause, NULL);
	ck_assert_uint_eq(evfut_runtime_now(harness_rt), 0);
	spawn_sleep(harness_rt, 0, SEC);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &busy, sizeof(busy)), 0);
	ck_assert_int_eq(event_base_once(evfut_runtime_event_base(harness_rt),
	                                 -1, EV_TIMEOUT, record_now, harness_rt,
	                                 &zero),
	                 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(busy_polls, 100);
	ck_assert_uint_eq(busy_max_now, 0);
	ck_assert(callback_ran);
	ck_assert_uint_eq(callback_now, 0);
	ck_assert_uint_eq(tlog[0].now, SEC);
	ck_assert_uint_eq(evfut_runtime_now(harness_rt), SEC);
	ck_assert_uint_eq(harness_stats(harness_rt).timer_arms, 0);
}
END_TEST

START_TEST(test_timers_advance_fires_passed_timers_for_the_next_drain)
{
	struct evfut_sleep last;

	use_virtual_clock();
	log_reset(CLOCK_MONOTONIC);
	spawn_sleep(harness_rt, 0, 30 * MS);
	spawn_sleep(harness_rt, 1, 10 * MS);
	spawn_sleep(harness_rt, 2, 200 * MS);
	evfut_sleep_until_init(&last, 0);
	/* Arms them: the root completes at once, the clock still at 0. */
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &last.base), 0);
	ck_assert_uint_eq(evfut_runtime_now(harness_rt), 0);
	ck_assert_uint_eq(armed_timers(harness_rt), 3);
	advance(harness_rt, 50 * MS);
	ck_assert_uint_eq(evfut_runtime_now(harness_rt), 50 * MS);
	ck_assert_uint_eq(timers_fired(harness_rt), 2);
	ck_assert_int_eq(done_len, 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(done_len, 3);
	ck_assert_int_eq(done_order[0], 1);
	ck_assert_int_eq(done_order[1], 0);
	ck_assert_int_eq(done_order[2], 2);
	ck_assert_uint_eq(tlog[1].now, 50 * MS);
	ck_assert_uint_eq(tlog[0].now, 50 * MS);
	ck_assert_uint_eq(tlog[2].now, 200 * MS);
}
END_TEST

START_TEST(test_timers_advance_rejects_real_clock_and_null)
{
	evfut_nsec before = evfut_runtime_now(harness_rt);

	ck_assert_int_eq(evfut_runtime_advance(harness_rt, SEC), -EINVAL);
	ck_assert_uint_ge(evfut_runtime_now(harness_rt), before);
	ck_assert_uint_lt(evfut_runtime_now(harness_rt), before + SEC);
	ck_assert_int_eq(evfut_runtime_advance(NULL, SEC), -EINVAL);
	ck_assert_uint_eq(evfut_runtime_now(NULL), 0);
	use_virtual_clock();
	ck_assert_uint_eq(evfut_runtime_now(harness_rt), 0);
	ck_assert_int_eq(evfut_runtime_advance(harness_rt, 0), 0);
	ck_assert_uint_eq(evfut_runtime_now(harness_rt), 0);
	advance(harness_rt, 3);
	ck_assert_uint_eq(evfut_runtime_now(harness_rt), 3);
}
END_TEST

/* errors */

START_TEST(test_timers_need_a_runtime)
{
	struct evfut_sleep sleep;
	struct evfut_interval iv;
	struct evfut_timeout timeout;
	struct counted inner;

	evfut_sleep_init(&sleep, MS);
	ck_assert_int_eq(evfut_block_on(&sleep.base), 0);
	ck_assert_int_eq(evfut_sleep_result(&sleep), -EINVAL);
	evfut_future_drop(&sleep.base);
	evfut_sleep_until_init(&sleep, MS);
	ck_assert_int_eq(evfut_block_on(&sleep.base), 0);
	ck_assert_int_eq(evfut_sleep_result(&sleep), -EINVAL);
	evfut_future_drop(&sleep.base);

	ck_assert_int_eq(evfut_interval_init(&iv, MS, EVFUT_MISSED_SKIP), 0);
	ck_assert_int_eq(evfut_block_on(&iv.base), 0);
	ck_assert_int_eq(iv.result, -EINVAL);
	ck_assert_uint_eq(iv.ticks, 0);
	evfut_future_drop(&iv.base);

	counted_init(&inner, false, 0);
	ck_assert_int_eq(evfut_timeout_init(&timeout, &inner.base, MS), 0);
	ck_assert_int_eq(evfut_block_on(&timeout.base), 0);
	ck_assert_int_eq(timeout.result, -EINVAL);
	evfut_future_drop(&timeout.base);
	ck_assert_int_eq(inner.drops, 1);
}
END_TEST

START_TEST(test_timers_init_rejects_invalid_arguments)
{
	struct evfut_interval iv, untouched;
	struct evfut_timeout timeout;
	struct evfut_future no_poll = EVFUT_FUTURE_INIT(NULL, NULL);
	struct counted inner;

	memset(&iv, 0xa5, sizeof(iv));
	untouched = iv;
	ck_assert_int_eq(evfut_interval_init(NULL, MS, EVFUT_MISSED_BURST),
	                 -EINVAL);
	ck_assert_int_eq(evfut_interval_init(&iv, 0, EVFUT_MISSED_BURST),
	                 -EINVAL);
	ck_assert_int_eq(
	        evfut_interval_init(&iv, MS, (enum evfut_missed_tick)3),
	        -EINVAL);
	ck_assert_int_eq(
	        evfut_interval_init(&iv, MS, (enum evfut_missed_tick) - 1),
	        -EINVAL);
	/* A failed call has no side effect. */
	ck_assert_int_eq(memcmp(&iv, &untouched, sizeof(iv)), 0);

	counted_init(&inner, false, 0);
	ck_assert_int_eq(evfut_timeout_init(&timeout, NULL, MS), -EINVAL);
	ck_assert_int_eq(evfut_timeout_init(NULL, &inner.base, MS), -EINVAL);
	ck_assert_int_eq(evfut_timeout_init(&timeout, &no_poll, MS), -EINVAL);
	ck_assert_int_eq(inner.drops, 0);

	ck_assert_int_eq(evfut_sleep_reset(NULL, MS), -EINVAL);
	ck_assert_uint_eq(evfut_sleep_deadline(NULL), EVFUT_NEVER);
	ck_assert_int_eq(evfut_runtime_set_trace(NULL, NULL, NULL), -EINVAL);
}
END_TEST

START_TEST(test_timers_runtime_create_rejects_unknown_clock)
{
	struct evfut_runtime *sentinel = (struct evfut_runtime *)&sentinel;
	struct evfut_runtime *rt = sentinel;
	struct evfut_runtime_options options;
	int fds = harness_count_fds();

	memset(&options, 0, sizeof(options));
	options.clock = (enum evfut_clock)99;
	harness_alloc_fail_at(0);
	ck_assert_int_eq(evfut_runtime_create(&rt, &options), -EINVAL);
	ck_assert_ptr_eq(rt, sentinel);
	ck_assert_int_eq(harness_alloc_live(), 0);
	ck_assert_int_eq(harness_count_fds(), fds);
	options.clock = (enum evfut_clock) - 1;
	ck_assert_int_eq(evfut_runtime_create(&rt, &options), -EINVAL);
	ck_assert_ptr_eq(rt, sentinel);
	ck_assert_int_eq(harness_alloc_live(), 0);
	ck_assert_int_eq(harness_count_fds(), fds);
}
END_TEST

/*
 * Arms 200 timers in one poll with the allocator failing once: the store
 * may have to grow (the heap does, at 64), and the sleep whose arm could
 * not grow it completes with -ENOMEM. A store that never allocates (the
 * wheel) passes only if every timer fires.
 */
#define ENOMEM_N 200

struct enomem_root {
	struct evfut_future base;
	struct evfut_sleep last;
	int polls;
};

static int enomem_failed;
static bool enomem_seen[ENOMEM_N];

static enum evfut_poll
enomem_root_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct enomem_root *f =
	        evfut_container_of(self, struct enomem_root, base);
	size_t i;

	if (f->polls++ == 0) {
		harness_alloc_fail_at(1);
		for (i = 0; i < ENOMEM_N; i++) {
			evfut_sleep_until_init(&rec_sleeps[i],
			                       (ENOMEM_N - i) * MS);
			if (rec_poll(i, cx->runtime) == EVFUT_READY) {
				ck_assert_int_eq(
				        evfut_sleep_result(&rec_sleeps[i]),
				        -ENOMEM);
				enomem_seen[i] = true;
				enomem_failed++;
			}
		}
		harness_alloc_restore();
		evfut_sleep_until_init(&f->last, (ENOMEM_N + 1) * MS);
	}
	return evfut_future_poll(&f->last.base, cx);
}

START_TEST(test_timers_store_growth_failure_completes_with_enomem)
{
	struct evfut_sleep sleeps[ENOMEM_N];
	struct enomem_root root = {
	        .base = EVFUT_FUTURE_INIT(enomem_root_poll, NULL)};
	size_t i, fired;

	use_virtual_clock();
	enomem_failed = 0;
	memset(enomem_seen, 0, sizeof(enomem_seen));
	rec_start(harness_rt, sleeps, ENOMEM_N);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &root.base), 0);
	fired = ENOMEM_N - (size_t)enomem_failed;
	ck_assert_int_le(enomem_failed, 1);
	ck_assert_uint_eq(rec_len, fired);
	ck_assert_uint_eq(rec_early, 0);
	ck_assert_uint_eq(rec_inexact, 0);
	/* Armed last to first with deadlines first to last. */
	for (i = 1; i < rec_len; i++)
		ck_assert_uint_gt(rec_order[i - 1], rec_order[i]);
	for (i = 0; i < rec_len; i++) {
		ck_assert(!enomem_seen[rec_order[i]]);
		ck_assert_int_eq(evfut_sleep_result(&sleeps[rec_order[i]]), 0);
	}
	ck_assert_uint_eq(timers_fired(harness_rt), fired + 1);
	ck_assert_uint_eq(armed_timers(harness_rt), 0);
	for (i = 0; i < ENOMEM_N; i++)
		evfut_future_drop(&sleeps[i].base);
	evfut_future_drop(&root.last.base);
	rec_finish();
	/* Still usable. */
	log_reset(CLOCK_MONOTONIC);
	spawn_sleep(harness_rt, 0, 10 * MS);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert(tlog[0].done);
	ck_assert_int_eq(tlog[0].result, 0);
}
END_TEST

/*
 * Fills the store until arming one more would make it grow, found by
 * arming with the allocator failing: the first arm that fails is at a full
 * store. Then a reset of a fired sleep must grow it too, and fails alike.
 */
#define FILL_MAX 1024

START_TEST(test_timers_reset_growth_failure_returns_enomem)
{
	struct evfut_sleep *far = calloc(FILL_MAX, sizeof(*far));
	struct evfut_sleep near;
	struct harness_counter c;
	struct evfut_waker waker;
	size_t armed = 0;
	bool full = false;
	int i, rc;

	ck_assert_ptr_nonnull(far);
	use_virtual_clock();
	harness_counter_init(&c);
	waker = harness_counter_waker(&c);
	evfut_sleep_until_init(&near, 10 * MS);
	ck_assert_int_eq(poll_with(&near.base, &waker, harness_rt),
	                 EVFUT_PENDING);
	advance(harness_rt, 10 * MS);
	ck_assert_int_eq(poll_with(&near.base, &waker, harness_rt),
	                 EVFUT_READY);
	for (i = 0; i < FILL_MAX && !full; i++) {
		struct evfut_waker noop = evfut_waker_noop();

		evfut_sleep_until_init(&far[i], 10 * SEC);
		harness_alloc_fail_at(1);
		if (poll_with(&far[i].base, &noop, harness_rt) == EVFUT_READY) {
			ck_assert_int_eq(evfut_sleep_result(&far[i]), -ENOMEM);
			full = true;
		} else {
			armed++;
		}
		harness_alloc_restore();
		ck_assert_uint_eq(armed_timers(harness_rt), armed);
	}
	harness_alloc_fail_at(1);
	rc = evfut_sleep_reset(&near, 20 * MS);
	harness_alloc_restore();
	if (full) {
		/* Disarmed; the next poll arms it. */
		ck_assert_int_eq(rc, -ENOMEM);
		ck_assert_uint_eq(armed_timers(harness_rt), armed);
	} else {
		/* A store that never allocates. */
		ck_assert_int_eq(rc, 0);
	}
	ck_assert_int_eq(poll_with(&near.base, &waker, harness_rt),
	                 EVFUT_PENDING);
	ck_assert_uint_eq(armed_timers(harness_rt), armed + 1);
	advance(harness_rt, 10 * MS);
	ck_assert_int_eq(atomic_load(&c.wakes), 2);
	ck_assert_int_eq(poll_with(&near.base, &waker, harness_rt),
	                 EVFUT_READY);
	ck_assert_int_eq(evfut_sleep_result(&near), 0);
	ck_assert_uint_eq(evfut_runtime_now(harness_rt), 20 * MS);
	evfut_future_drop(&near.base);
	if (full) {
		/* A reset clears the -ENOMEM of the sleep that failed. */
		ck_assert_int_eq(evfut_sleep_result(&far[i - 1]), -ENOMEM);
		ck_assert_int_eq(evfut_sleep_reset(&far[i - 1], 30 * SEC), 0);
		ck_assert_int_eq(evfut_sleep_result(&far[i - 1]), 0);
		ck_assert_uint_eq(armed_timers(harness_rt), armed + 1);
	}
	for (; i-- > 0;)
		evfut_future_drop(&far[i].base);
	ck_assert_uint_eq(armed_timers(harness_rt), 0);
	evfut_waker_drop(&waker);
	ck_assert_int_eq(atomic_load(&c.live), 0);
	free(far);
}
END_TEST

/* trace */

#define TRACE_MAX 256

static struct evfut_trace_record trace_log[TRACE_MAX];
static int trace_len;

static void
trace_record(const struct evfut_trace_record *record, void *arg)
{
	(void)arg;
	if (trace_len < TRACE_MAX)
		trace_log[trace_len] = *record;
	trace_len++;
}

static int
trace_find(int from, enum evfut_trace_event event, uint32_t task)
{
	int i;

	for (i = from; i < trace_len; i++) {
		if (trace_log[i].event == event &&
		    (event == EVFUT_TRACE_TIMER_FIRE ||
		     trace_log[i].task == task))
			return i;
	}
	return -1;
}

START_TEST(test_timers_trace_fire_then_wake_then_poll)
{
	static const int steps[] = {4, 1, 3, 2};
	uint32_t ids[4];
	evfut_nsec base;
	int i, n = 0, fires = 0;

	use_clock(both_clocks[_i]);
	log_reset(CLOCK_MONOTONIC);
	trace_len = 0;
	ck_assert_int_eq(
	        evfut_runtime_set_trace(harness_rt, trace_record, NULL), 0);
	base = evfut_runtime_now(harness_rt) + 20 * MS;
	for (i = 0; i < 4; i++)
		spawn_sleep_until(harness_rt, i,
		                  base + (evfut_nsec)steps[i] * 5 * MS);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(evfut_runtime_set_trace(harness_rt, NULL, NULL), 0);
	ck_assert_int_le(trace_len, TRACE_MAX);
	for (i = 0; i < trace_len; i++) {
		if (trace_log[i].event == EVFUT_TRACE_SPAWN) {
			ck_assert_int_lt(n, 4);
			ids[n++] = trace_log[i].task;
		}
		if (trace_log[i].event == EVFUT_TRACE_TIMER_FIRE) {
			fires++;
			ck_assert_uint_ge(trace_log[i].now,
			                  trace_log[i].deadline);
		}
	}
	ck_assert_int_eq(n, 4);
	ck_assert_int_eq(fires, 4);
	for (i = 0; i < 4; i++) {
		int poll1 = trace_find(0, EVFUT_TRACE_POLL_BEGIN, ids[i]);
		int end1 = trace_find(poll1, EVFUT_TRACE_POLL_END, ids[i]);
		int wake = trace_find(end1, EVFUT_TRACE_WAKE, ids[i]);
		int poll2 = trace_find(end1, EVFUT_TRACE_POLL_BEGIN, ids[i]);
		int fire = -1, j;

		for (j = 0; j < trace_len; j++) {
			if (trace_log[j].event == EVFUT_TRACE_TIMER_FIRE &&
			    trace_log[j].deadline == tlog[i].deadline)
				fire = j;
		}
		ck_assert_int_ge(poll1, 0);
		ck_assert_int_ge(end1, 0);
		ck_assert_int_eq(trace_log[end1].ready, 0);
		ck_assert_int_ge(fire, 0);
		ck_assert_int_ge(wake, 0);
		ck_assert_int_ge(poll2, 0);
		ck_assert_int_lt(end1, fire);
		ck_assert_int_lt(fire, wake);
		ck_assert_int_lt(wake, poll2);
		ck_assert_int_eq(
		        trace_find(poll2 + 1, EVFUT_TRACE_POLL_BEGIN, ids[i]),
		        -1);
		ck_assert_int_eq(
		        trace_log[trace_find(poll2, EVFUT_TRACE_POLL_END,
		                             ids[i])]
		                .ready,
		        1);
	}
}
END_TEST

/* rearm */

START_TEST(test_timers_source_rearmed_only_for_an_earlier_deadline)
{
	enum evfut_clock clock = both_clocks[_i];
	struct evfut_sleep s[12];
	evfut_nsec now;
	uint64_t arms = clock == EVFUT_CLOCK_VIRTUAL ? 0 : 1;
	int i;

	use_clock(clock);
	ck_assert_uint_eq(harness_stats(harness_rt).timer_arms, 0);
	now = evfut_runtime_now(harness_rt);
	for (i = 0; i < 10; i++) {
		evfut_sleep_until_init(&s[i],
		                       now + 10 * SEC + (unsigned)i * MS);
		arm_by_hand(&s[i], harness_rt);
	}
	ck_assert_uint_eq(harness_stats(harness_rt).timer_arms, arms);
	evfut_sleep_until_init(&s[10], now + 5 * SEC);
	arm_by_hand(&s[10], harness_rt);
	if (clock != EVFUT_CLOCK_VIRTUAL)
		arms++;
	ck_assert_uint_eq(harness_stats(harness_rt).timer_arms, arms);
	evfut_sleep_until_init(&s[11], now + 20 * SEC);
	arm_by_hand(&s[11], harness_rt);
	ck_assert_uint_eq(harness_stats(harness_rt).timer_arms, arms);
	/* Cancelling the earliest costs no syscall. */
	evfut_future_drop(&s[10].base);
	ck_assert_uint_eq(harness_stats(harness_rt).timer_arms, arms);
	for (i = 0; i < 12; i++) {
		if (i != 10)
			evfut_future_drop(&s[i].base);
	}
	ck_assert_uint_eq(armed_timers(harness_rt), 0);
	ck_assert_uint_eq(timers_fired(harness_rt), 0);
}
END_TEST

/* result: evfut_sleep_result(), and the state kept beside the store */

START_TEST(test_timers_sleep_result_is_zero_pending_and_fired)
{
	struct harness_counter c;
	struct evfut_waker waker;
	struct evfut_sleep sleep, tie;

	use_virtual_clock();
	harness_counter_init(&c);
	waker = harness_counter_waker(&c);
	evfut_sleep_until_init(&sleep, 10 * MS);
	evfut_sleep_until_init(&tie, 10 * MS);
	ck_assert_int_eq(evfut_sleep_result(&sleep), 0);
	ck_assert_int_eq(evfut_sleep_result(NULL), -EINVAL);
	ck_assert_int_eq(poll_with(&sleep.base, &waker, harness_rt),
	                 EVFUT_PENDING);
	arm_by_hand(&tie, harness_rt);
	/* Armed: pending, result 0, the deadline known. */
	ck_assert_uint_eq(armed_timers(harness_rt), 2);
	ck_assert_int_eq(evfut_sleep_result(&sleep), 0);
	ck_assert_uint_eq(evfut_sleep_deadline(&sleep), 10 * MS);
	ck_assert_int_eq(poll_with(&sleep.base, &waker, harness_rt),
	                 EVFUT_PENDING);
	advance(harness_rt, 10 * MS - 1);
	ck_assert_int_eq(atomic_load(&c.wakes), 0);
	advance(harness_rt, 1);
	ck_assert_int_eq(atomic_load(&c.wakes), 1);
	/* Fired by the driver, before any poll: the state is whole. */
	ck_assert_uint_eq(armed_timers(harness_rt), 0);
	ck_assert_int_eq(evfut_sleep_result(&sleep), 0);
	ck_assert_uint_eq(evfut_sleep_deadline(&sleep), 10 * MS);
	ck_assert_uint_eq(evfut_sleep_deadline(&tie), 10 * MS);
	ck_assert_int_eq(poll_with(&sleep.base, &waker, harness_rt),
	                 EVFUT_READY);
	ck_assert_int_eq(poll_with(&sleep.base, &waker, harness_rt),
	                 EVFUT_READY);
	ck_assert_int_eq(evfut_sleep_result(&sleep), 0);
	ck_assert_int_eq(evfut_sleep_result(&tie), 0);
	ck_assert_uint_eq(timers_fired(harness_rt), 2);
	evfut_future_drop(&sleep.base);
	evfut_future_drop(&tie.base);
	evfut_waker_drop(&waker);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

START_TEST(test_timers_sleep_result_einval_then_reset_clears_it)
{
	struct harness_counter c;
	struct evfut_waker waker;
	struct evfut_sleep sleep;

	use_virtual_clock();
	harness_counter_init(&c);
	waker = harness_counter_waker(&c);
	evfut_sleep_init(&sleep, 5 * MS);
	ck_assert_int_eq(evfut_block_on(&sleep.base), 0);
	ck_assert_int_eq(evfut_sleep_result(&sleep), -EINVAL);
	/* Completed: polled again, it stays so. */
	ck_assert_int_eq(poll_with(&sleep.base, &waker, harness_rt),
	                 EVFUT_READY);
	ck_assert_int_eq(evfut_sleep_result(&sleep), -EINVAL);
	/* A reset makes it pending with no error; a poll arms it. */
	ck_assert_int_eq(evfut_sleep_reset(&sleep, 5 * MS), 0);
	ck_assert_int_eq(evfut_sleep_result(&sleep), 0);
	ck_assert_uint_eq(evfut_sleep_deadline(&sleep), 5 * MS);
	ck_assert_int_eq(poll_with(&sleep.base, &waker, harness_rt),
	                 EVFUT_PENDING);
	ck_assert_uint_eq(armed_timers(harness_rt), 1);
	advance(harness_rt, 5 * MS);
	ck_assert_int_eq(poll_with(&sleep.base, &waker, harness_rt),
	                 EVFUT_READY);
	ck_assert_int_eq(evfut_sleep_result(&sleep), 0);
	/* A sleep armed in a runtime, then polled with none, is disarmed. */
	ck_assert_int_eq(evfut_sleep_reset(&sleep, SEC), 0);
	ck_assert_uint_eq(armed_timers(harness_rt), 1);
	ck_assert_int_eq(evfut_block_on(&sleep.base), 0);
	ck_assert_int_eq(evfut_sleep_result(&sleep), -EINVAL);
	ck_assert_uint_eq(armed_timers(harness_rt), 0);
	advance(harness_rt, 2 * SEC);
	ck_assert_uint_eq(timers_fired(harness_rt), 1);
	evfut_future_drop(&sleep.base);
	evfut_waker_drop(&waker);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

/*
 * Random arms, resets (earlier, later, past, never), cancels by drop and
 * re-init, and clock moves over a few sleeps with many equal deadlines,
 * against a model of each sleep: after every step each reports result 0,
 * its deadline, and polls ready exactly when it fired; the store holds
 * exactly the armed ones. The state shares the node with the store's
 * links, so this is where a path that disarms and forgets it would show.
 */
#define CYCLE_N 8

struct cycle_model {
	evfut_nsec deadline; /* EVFUT_NEVER too while not known */
	bool relative;       /* initialised with a duration, not polled yet */
	bool bound;          /* polled in the runtime since its init */
	bool armed;
	bool fired;
};

static void
cycle_check(struct evfut_sleep *s, const struct cycle_model *m)
{
	size_t armed = 0;

	for (int i = 0; i < CYCLE_N; i++) {
		ck_assert_int_eq(evfut_sleep_result(&s[i]), 0);
		ck_assert_uint_eq(evfut_sleep_deadline(&s[i]), m[i].deadline);
		armed += m[i].armed;
	}
	ck_assert_uint_eq(armed_timers(harness_rt), armed);
}

static evfut_nsec
cycle_deadline(evfut_nsec now)
{
	uint64_t r = xorshift64();

	switch (r % 8) {
	case 0:
		return now - (r >> 8) % (now + 1); /* due already */
	case 1:
		return EVFUT_NEVER;
	case 2:
		return now + 1 + (r >> 8) % 1000; /* ns apart */
	default:
		return (now / MS + 1 + (r >> 8) % 4) * MS; /* ties */
	}
}

START_TEST(test_timers_sleep_state_survives_cancel_reset_rearm_cycles)
{
	struct evfut_sleep s[CYCLE_N];
	struct cycle_model m[CYCLE_N];
	struct evfut_waker noop = evfut_waker_noop();
	evfut_nsec now = 0;

	use_virtual_clock();
	xorshift_state = 0x9e3779b97f4a7c15u;
	for (int i = 0; i < CYCLE_N; i++) {
		evfut_sleep_init(&s[i], MS);
		m[i] = (struct cycle_model){EVFUT_NEVER, true, false, false,
		                            false};
	}
	cycle_check(s, m);
	for (int step = 0; step < 20000; step++) {
		uint64_t r = xorshift64();
		int i = (int)((r >> 16) % CYCLE_N);
		struct cycle_model *mi = &m[i];
		evfut_nsec d;

		switch (r % 6) {
		case 0:
		case 1: /* Poll: completes, arms, or stays armed. */
			if (mi->relative)
				mi->deadline = now + MS;
			mi->relative = false;
			/* Due at once: it does not learn the runtime. */
			if (mi->fired || mi->deadline <= now) {
				ck_assert_int_eq(poll_with(&s[i].base, &noop,
				                           harness_rt),
				                 EVFUT_READY);
				mi->fired = true;
				mi->armed = false;
				break;
			}
			ck_assert_int_eq(
			        poll_with(&s[i].base, &noop, harness_rt),
			        EVFUT_PENDING);
			mi->bound = true;
			mi->armed = mi->deadline != EVFUT_NEVER;
			break;
		case 2: /* Reset, pending or fired: pending again. */
			d = cycle_deadline(now);
			ck_assert_int_eq(evfut_sleep_reset(&s[i], d), 0);
			mi->deadline = d;
			mi->relative = false;
			mi->fired = false;
			mi->armed = mi->bound && d != EVFUT_NEVER && d > now;
			break;
		case 3: /* Cancel by drop, then init again. */
			evfut_future_drop(&s[i].base);
			ck_assert_int_eq(evfut_sleep_result(&s[i]), 0);
			ck_assert_uint_eq(evfut_sleep_deadline(&s[i]),
			                  mi->deadline);
			mi->armed = false;
			d = cycle_deadline(now);
			evfut_sleep_until_init(&s[i], d);
			*mi = (struct cycle_model){d, false, false, false,
			                           false};
			break;
		default: /* Move the clock: armed sleeps due fire. */
			advance(harness_rt, (r >> 32) % (2 * MS));
			now = evfut_runtime_now(harness_rt);
			for (int j = 0; j < CYCLE_N; j++) {
				if (m[j].armed && m[j].deadline <= now) {
					m[j].armed = false;
					m[j].fired = true;
				}
			}
			break;
		}
		cycle_check(s, m);
	}
	ck_assert_uint_gt(timers_fired(harness_rt), 500);
	for (int i = 0; i < CYCLE_N; i++)
		evfut_future_drop(&s[i].base);
	ck_assert_uint_eq(armed_timers(harness_rt), 0);
}
END_TEST

static Suite *
timers_suite(void)
{
	Suite *s = suite_create("timers");
	TCase *tc;

	tc = tcase_create("order");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_loop_test(
	        tc, test_timers_fire_in_deadline_order_then_arm_order, 0, 2);
	tcase_add_test(tc, test_timers_equal_deadlines_fire_in_arm_order);
	tcase_add_test(tc,
	               test_timers_fifo_follows_arm_order_not_creation_order);
	suite_add_tcase(s, tc);

	tc = tcase_create("never-early");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_loop_test(tc, test_timers_never_fire_before_their_deadline, 0,
	                    2);
	suite_add_tcase(s, tc);

	tc = tcase_create("cancel");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_timers_cancel_before_fire_never_wakes_the_task);
	tcase_add_test(tc, test_timers_cancel_drops_the_stored_waker);
	tcase_add_test(tc, test_timers_cancel_after_fire_or_twice_is_harmless);
	tcase_add_test(tc, test_timers_cancel_among_many_keeps_the_order);
	tcase_add_test(tc, test_timers_destroy_cancels_sleeping_tasks);
	suite_add_tcase(s, tc);

	tc = tcase_create("reset");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_loop_test(
	        tc, test_timers_reset_pending_fires_at_the_new_deadline_only, 0,
	        2);
	tcase_add_test(tc, test_timers_reset_completed_sleep_is_pending_again);
	tcase_add_test(
	        tc, test_timers_reset_to_past_deadline_completes_on_next_poll);
	tcase_add_test(tc,
	               test_timers_reset_before_first_poll_sets_the_deadline);
	tcase_add_test(tc,
	               test_timers_reset_later_on_real_clock_is_never_early);
	suite_add_tcase(s, tc);

	tc = tcase_create("scale");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc,
	               test_timers_million_timers_fire_in_exact_deadline_order);
	suite_add_tcase(s, tc);

	tc = tcase_create("interval");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_loop_test(tc, test_timers_interval_ticks_every_period_on_time,
	                    0, 3);
	tcase_add_test(
	        tc, test_timers_interval_burst_catches_up_then_keeps_schedule);
	tcase_add_test(
	        tc,
	        test_timers_interval_delay_restarts_a_period_after_late_tick);
	tcase_add_test(tc,
	               test_timers_interval_skip_fires_once_then_next_multiple);
	tcase_add_loop_test(
	        tc, test_timers_interval_late_within_a_period_follows_tokio, 0,
	        3);
	tcase_add_test(tc, test_timers_interval_drop_disarms);
	suite_add_tcase(s, tc);

	tc = tcase_create("timeout");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc,
	               test_timers_timeout_inner_first_completes_and_disarms);
	tcase_add_test(
	        tc, test_timers_timeout_expiry_drops_inner_once_with_its_waker);
	tcase_add_test(tc,
	               test_timers_timeout_expires_in_a_task_at_its_deadline);
	tcase_add_test(
	        tc, test_timers_timeout_dropped_while_pending_drops_inner_once);
	suite_add_tcase(s, tc);

	tc = tcase_create("deadlines");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_loop_test(
	        tc, test_timers_zero_and_past_deadlines_complete_on_first_poll,
	        0, 2);
	tcase_add_test(tc, test_timers_huge_durations_saturate_and_never_fire);
	tcase_add_test(
	        tc, test_timers_huge_deadlines_leave_real_clock_timers_working);
	tcase_add_loop_test(
	        tc, test_timers_far_deadlines_fire_exactly_at_their_deadline, 0,
	        2);
	suite_add_tcase(s, tc);

	tc = tcase_create("drop-in-wake");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_loop_test(
	        tc, test_timers_drop_sibling_sleep_from_a_fired_task, 0, 2);
	tcase_add_test(
	        tc, test_timers_waker_that_drops_sleeps_while_firing_is_safe);
	suite_add_tcase(s, tc);

	tc = tcase_create("virtual-clock");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc,
	               test_timers_virtual_clock_jumps_only_when_all_is_idle);
	tcase_add_test(
	        tc, test_timers_advance_fires_passed_timers_for_the_next_drain);
	tcase_add_test(tc, test_timers_advance_rejects_real_clock_and_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("result");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_timers_sleep_result_is_zero_pending_and_fired);
	tcase_add_test(tc,
	               test_timers_sleep_result_einval_then_reset_clears_it);
	tcase_add_test(
	        tc, test_timers_sleep_state_survives_cancel_reset_rearm_cycles);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_timers_need_a_runtime);
	tcase_add_test(tc, test_timers_init_rejects_invalid_arguments);
	tcase_add_test(tc, test_timers_runtime_create_rejects_unknown_clock);
	tcase_add_test(tc,
	               test_timers_store_growth_failure_completes_with_enomem);
	tcase_add_test(tc, test_timers_reset_growth_failure_returns_enomem);
	suite_add_tcase(s, tc);

	tc = tcase_create("trace");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_loop_test(tc, test_timers_trace_fire_then_wake_then_poll, 0,
	                    2);
	suite_add_tcase(s, tc);

	tc = tcase_create("rearm");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_loop_test(
	        tc, test_timers_source_rearmed_only_for_an_earlier_deadline, 0,
	        2);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return harness_main(timers_suite());
}
