/*
 * Suite "threads": wakes from other threads. A storm of wakes loses no
 * wakeup and never polls a finished task; wakers woken and dropped on other
 * threads after (and while) the runtime is destroyed stay safe; two runtimes
 * on two threads share nothing. CI also runs this suite under
 * ThreadSanitizer.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <string.h>

#include "harness.h"

static enum evfut_poll
ready_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	(void)cx;
	return EVFUT_READY;
}

/* storm */

#define STORM_THREADS 8
#define STORM_WAKES   100000

/* One task and the thread that hammers it. */
struct storm {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct evfut_waker waker; /* handed from the task to the thread */
	bool published;
	atomic_bool done;
	atomic_bool ready;
	atomic_long polls;
	atomic_long polls_after_ready;
	long wakes; /* the thread's, read after the join */
	pthread_t thread;
};

static struct storm storms[STORM_THREADS];

struct storm_future {
	struct evfut_future base;
	struct storm *s;
};

static enum evfut_poll
storm_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct storm *s =
	        evfut_container_of(self, struct storm_future, base)->s;

	if (atomic_load(&s->ready))
		atomic_fetch_add(&s->polls_after_ready, 1);
	if (atomic_fetch_add(&s->polls, 1) == 0) {
		pthread_mutex_lock(&s->lock);
		s->waker = evfut_waker_clone(cx->waker);
		s->published = true;
		pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->lock);
	}
	if (!atomic_load(&s->done))
		return EVFUT_PENDING;
	atomic_store(&s->ready, true);
	return EVFUT_READY;
}

static void *
storm_thread(void *arg)
{
	struct storm *s = arg;
	struct evfut_waker waker;
	long i;

	pthread_mutex_lock(&s->lock);
	while (!s->published)
		pthread_cond_wait(&s->cond, &s->lock);
	waker = s->waker;
	s->waker.data = NULL;
	s->waker.vtable = NULL;
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < STORM_WAKES; i++)
		evfut_waker_wake_by_ref(&waker);
	atomic_store(&s->done, true);
	evfut_waker_wake_by_ref(&waker);
	s->wakes = STORM_WAKES + 1;
	evfut_waker_drop(&waker);
	return NULL;
}

START_TEST(test_threads_wake_storm_loses_no_wakeup)
{
	struct evfut_stats stats;
	int i;

	for (i = 0; i < STORM_THREADS; i++) {
		struct storm *s = &storms[i];
		struct storm_future f = {EVFUT_FUTURE_INIT(storm_poll, NULL),
		                         s};

		memset(s, 0, sizeof(*s));
		ck_assert_int_eq(pthread_mutex_init(&s->lock, NULL), 0);
		ck_assert_int_eq(pthread_cond_init(&s->cond, NULL), 0);
		atomic_init(&s->done, false);
		atomic_init(&s->ready, false);
		atomic_init(&s->polls, 0);
		atomic_init(&s->polls_after_ready, 0);
		ck_assert_int_eq(
		        evfut_task_spawn(harness_rt, &f.base, sizeof(f)), 0);
		ck_assert_int_eq(
		        pthread_create(&s->thread, NULL, storm_thread, s), 0);
	}
	/* Returns only if every task saw its thread's last wake. */
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	for (i = 0; i < STORM_THREADS; i++) {
		struct storm *s = &storms[i];

		pthread_join(s->thread, NULL);
		ck_assert(atomic_load(&s->ready));
		ck_assert_int_ge(atomic_load(&s->polls), 1);
		ck_assert_int_le(atomic_load(&s->polls), s->wakes + 1);
		ck_assert_int_eq(atomic_load(&s->polls_after_ready), 0);
		ck_assert(evfut_waker_is_empty(&s->waker));
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->lock);
	}
	stats = harness_stats(harness_rt);
	ck_assert_uint_eq(stats.tasks_completed, STORM_THREADS);
	ck_assert_uint_eq(stats.tasks_live, 0);
	ck_assert_uint_gt(stats.wakes_remote, 0);
	ck_assert_uint_gt(stats.remote_signals, 0);
	ck_assert_uint_le(stats.remote_signals, stats.wakes_remote);
}
END_TEST

/* destroy */

static struct evfut_waker kept[2];
static int drops;

struct keeper {
	struct evfut_future base;
	int index;
	struct evfut_waker own;
};

/* Keeps its own waker and a spare for the test; stays pending. */
static enum evfut_poll
keeper_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct keeper *k = evfut_container_of(self, struct keeper, base);

	evfut_waker_store(&k->own, cx->waker);
	evfut_waker_store(&kept[k->index], cx->waker);
	return EVFUT_PENDING;
}

static void
keeper_drop(struct evfut_future *self)
{
	struct keeper *k = evfut_container_of(self, struct keeper, base);

	evfut_waker_drop(&k->own);
	drops++;
}

static struct {
	struct evfut_task task;
	struct keeper future;
	atomic_int releases;
	atomic_bool released_off_thread;
	pthread_t main_thread;
} embedded;

static void
embedded_release(struct evfut_task *task)
{
	/* No Check assertion here: this may run on another thread. */
	if (task == &embedded.task)
		atomic_fetch_add(&embedded.releases, 1);
	atomic_store(&embedded.released_off_thread,
	             !pthread_equal(pthread_self(), embedded.main_thread));
}

/* Spawns one keeper, starts one embedded keeper, and polls both once. */
static void
start_keepers(struct evfut_runtime *rt)
{
	struct keeper k = {EVFUT_FUTURE_INIT(keeper_poll, keeper_drop), 0,
	                   EVFUT_WAKER_EMPTY};
	struct evfut_future ready = EVFUT_FUTURE_INIT(ready_poll, NULL);

	drops = 0;
	memset(&embedded, 0, sizeof(embedded));
	atomic_init(&embedded.releases, 0);
	atomic_init(&embedded.released_off_thread, false);
	embedded.main_thread = pthread_self();
	embedded.future = k;
	embedded.future.index = 1;
	ck_assert_int_eq(evfut_task_spawn(rt, &k.base, sizeof(k)), 0);
	ck_assert_int_eq(evfut_task_start(rt, &embedded.task,
	                                  &embedded.future.base,
	                                  embedded_release),
	                 0);
	ck_assert_int_eq(evfut_runtime_block_on(rt, &ready), 0);
	ck_assert(!evfut_waker_is_empty(&kept[0]));
	ck_assert(!evfut_waker_is_empty(&kept[1]));
	ck_assert_uint_eq(harness_stats(rt).tasks_live, 2);
}

/*
 * Clears the embedded task once released: its stale pointer to the runtime
 * would otherwise keep a leaked runtime "reachable" for LeakSanitizer.
 */
static void
forget_embedded(void)
{
	memset(&embedded.task, 0, sizeof(embedded.task));
}

static void *
wake_kept_thread(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 2; i++) {
		evfut_waker_wake_by_ref(&kept[i]);
		evfut_waker_wake(&kept[i]);
	}
	return NULL;
}

START_TEST(test_threads_wakers_outlive_destroyed_runtime)
{
	struct evfut_runtime *rt = harness_runtime_take();
	pthread_t thread;

	start_keepers(rt);
	evfut_runtime_destroy(rt);
	/* Cancelled: futures dropped, memory kept for the spare wakers. */
	ck_assert_int_eq(drops, 2);
	ck_assert_int_eq(atomic_load(&embedded.releases), 0);
	ck_assert_int_eq(pthread_create(&thread, NULL, wake_kept_thread, NULL),
	                 0);
	pthread_join(thread, NULL);
	/* The last waker was dropped there: the memory went with it. */
	ck_assert_int_eq(atomic_load(&embedded.releases), 1);
	ck_assert(atomic_load(&embedded.released_off_thread));
	ck_assert(evfut_waker_is_empty(&kept[0]));
	ck_assert(evfut_waker_is_empty(&kept[1]));
	ck_assert_int_eq(drops, 2);
	forget_embedded();
}
END_TEST

static atomic_bool stop_waking;
static atomic_long racing_wakes;

/* Wakes both tasks until told to stop, then drops the wakers. */
static void *
racing_wake_thread(void *arg)
{
	int i;

	(void)arg;
	do {
		for (i = 0; i < 2; i++)
			evfut_waker_wake_by_ref(&kept[i]);
		atomic_fetch_add(&racing_wakes, 1);
	} while (!atomic_load(&stop_waking));
	for (i = 0; i < 2; i++)
		evfut_waker_wake(&kept[i]);
	return NULL;
}

START_TEST(test_threads_wakes_racing_destroy_are_safe)
{
	struct evfut_runtime *rt = harness_runtime_take();
	pthread_t thread;

	start_keepers(rt);
	atomic_store(&stop_waking, false);
	atomic_store(&racing_wakes, 0);
	ck_assert_int_eq(
	        pthread_create(&thread, NULL, racing_wake_thread, NULL), 0);
	/* Let the thread get going, so that destroy meets its wakes. */
	while (atomic_load(&racing_wakes) < 100)
		;
	evfut_runtime_destroy(rt);
	atomic_store(&stop_waking, true);
	pthread_join(thread, NULL);
	ck_assert_int_eq(drops, 2);
	ck_assert_int_eq(atomic_load(&embedded.releases), 1);
	forget_embedded();
}
END_TEST

/*
 * A wake from another thread while destroy cancels: the thread wakes an
 * idle task while an earlier-cancelled, freed task is still the remote
 * queue's tail.
 */

static struct evfut_waker idle_waker;   /* the thread's */
static struct evfut_waker queued_waker; /* woken remotely before destroy */
static sem_t go, woken;

static enum evfut_poll
store_in_arg_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct keeper *k = evfut_container_of(self, struct keeper, base);

	evfut_waker_store(k->index == 0 ? &idle_waker : &queued_waker,
	                  cx->waker);
	return EVFUT_PENDING;
}

static enum evfut_poll
own_waker_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct keeper *k = evfut_container_of(self, struct keeper, base);

	evfut_waker_store(&k->own, cx->waker);
	return EVFUT_PENDING;
}

/* Runs inside destroy, on the test's thread: lets the thread wake. */
static void
signalling_drop(struct evfut_future *self)
{
	keeper_drop(self);
	sem_post(&go);
	while (sem_wait(&woken) != 0)
		;
}

static void *
wake_on_signal_thread(void *arg)
{
	(void)arg;
	while (sem_wait(&go) != 0)
		;
	evfut_waker_wake_by_ref(&idle_waker);
	sem_post(&woken);
	evfut_waker_drop(&idle_waker);
	return NULL;
}

/*
 * Regression: evfut_runtime_destroy() once freed tasks still linked in the
 * remote queue, so a wake from another thread in between appended through
 * the freed tail. The quarantine allocator sees any write to a freed block.
 */
START_TEST(test_threads_remote_wake_during_destroy_is_safe)
{
	struct evfut_runtime *rt = NULL;
	struct keeper idle = {EVFUT_FUTURE_INIT(store_in_arg_poll, keeper_drop),
	                      0, EVFUT_WAKER_EMPTY};
	struct keeper signalling = {
	        EVFUT_FUTURE_INIT(own_waker_poll, signalling_drop), 0,
	        EVFUT_WAKER_EMPTY};
	struct keeper queued = {
	        EVFUT_FUTURE_INIT(store_in_arg_poll, keeper_drop), 1,
	        EVFUT_WAKER_EMPTY};
	struct evfut_future ready = EVFUT_FUTURE_INIT(ready_poll, NULL);
	pthread_t thread;

	drops = 0;
	ck_assert_int_eq(sem_init(&go, 0, 0), 0);
	ck_assert_int_eq(sem_init(&woken, 0, 0), 0);
	harness_alloc_quarantine_begin();
	ck_assert_int_eq(evfut_runtime_create(&rt, NULL), 0);
	/* Destroy cancels the newest first: queued, signalling, idle. */
	ck_assert_int_eq(evfut_task_spawn(rt, &idle.base, sizeof(idle)), 0);
	ck_assert_int_eq(
	        evfut_task_spawn(rt, &signalling.base, sizeof(signalling)), 0);
	ck_assert_int_eq(evfut_task_spawn(rt, &queued.base, sizeof(queued)), 0);
	ck_assert_int_eq(evfut_runtime_block_on(rt, &ready), 0);
	/* Not running: this wake goes to the remote queue, and stays. */
	evfut_waker_wake(&queued_waker);
	ck_assert_uint_eq(harness_stats(rt).wakes_remote, 1);
	ck_assert_int_eq(
	        pthread_create(&thread, NULL, wake_on_signal_thread, NULL), 0);
	evfut_runtime_destroy(rt);
	pthread_join(thread, NULL);
	ck_assert_int_eq(drops, 3);
	ck_assert(evfut_waker_is_empty(&idle_waker));
	ck_assert_int_eq(harness_alloc_quarantine_end(), 0);
	sem_destroy(&go);
	sem_destroy(&woken);
}
END_TEST

/* isolation: two runtimes, two threads, at the same time */

#define ISOLATED_TASKS 1000

struct isolated {
	pthread_t thread;
	int rc_create, rc_run;
	struct evfut_stats stats;
	pthread_barrier_t *start;
};

struct bouncer {
	struct evfut_future base;
	int polls;
};

/* Wakes itself twice, then finishes. */
static enum evfut_poll
bouncer_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct bouncer *b = evfut_container_of(self, struct bouncer, base);

	if (++b->polls == 3)
		return EVFUT_READY;
	evfut_waker_wake_by_ref(cx->waker);
	return EVFUT_PENDING;
}

static void *
isolated_thread(void *arg)
{
	struct isolated *iso = arg;
	struct evfut_runtime *rt = NULL;
	struct bouncer b = {EVFUT_FUTURE_INIT(bouncer_poll, NULL), 0};
	int i;

	iso->rc_create = evfut_runtime_create(&rt, NULL);
	if (iso->rc_create != 0)
		return NULL;
	for (i = 0; i < ISOLATED_TASKS; i++)
		evfut_task_spawn(rt, &b.base, sizeof(b));
	pthread_barrier_wait(iso->start);
	iso->rc_run = evfut_runtime_run(rt);
	evfut_runtime_stats(rt, &iso->stats);
	evfut_runtime_destroy(rt);
	return NULL;
}

START_TEST(test_threads_runtimes_share_nothing)
{
	struct isolated iso[2];
	pthread_barrier_t start;
	int i;

	ck_assert_int_eq(pthread_barrier_init(&start, NULL, 2), 0);
	memset(iso, 0, sizeof(iso));
	for (i = 0; i < 2; i++) {
		iso[i].start = &start;
		ck_assert_int_eq(pthread_create(&iso[i].thread, NULL,
		                                isolated_thread, &iso[i]),
		                 0);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(iso[i].thread, NULL);
		ck_assert_int_eq(iso[i].rc_create, 0);
		ck_assert_int_eq(iso[i].rc_run, 0);
		ck_assert_uint_eq(iso[i].stats.tasks_spawned, ISOLATED_TASKS);
		ck_assert_uint_eq(iso[i].stats.tasks_completed, ISOLATED_TASKS);
		ck_assert_uint_eq(iso[i].stats.polls, 3 * ISOLATED_TASKS);
		ck_assert_uint_eq(iso[i].stats.wakes_local, 2 * ISOLATED_TASKS);
		ck_assert_uint_eq(iso[i].stats.wakes_remote, 0);
	}
	pthread_barrier_destroy(&start);
}
END_TEST

/* held: a wake from another thread during a task's last poll */

static void *
wake_thread(void *arg)
{
	evfut_waker_wake(arg);
	return NULL;
}

/* Completes on its first poll, after another thread woke it meanwhile. */
static enum evfut_poll
woken_in_last_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_waker waker = evfut_waker_clone(cx->waker);
	pthread_t thread;

	(void)self;
	ck_assert_int_eq(pthread_create(&thread, NULL, wake_thread, &waker), 0);
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
	return EVFUT_READY;
}

static void
check_nothing_held(struct evfut_runtime *rt)
{
	ck_assert_uint_eq(harness_stats(rt).tasks_held, 0);
	ck_assert_int_eq(evfut_runtime_trim(rt), 0);
}

START_TEST(test_threads_run_holds_no_task_woken_in_its_last_poll)
{
	struct evfut_future f = EVFUT_FUTURE_INIT(woken_in_last_poll, NULL);

	ck_assert_int_eq(evfut_task_spawn(harness_rt, &f, sizeof f), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	check_nothing_held(harness_rt);
}
END_TEST

START_TEST(test_threads_block_on_holds_no_root_woken_in_its_last_poll)
{
	struct evfut_future f = EVFUT_FUTURE_INIT(woken_in_last_poll, NULL);

	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &f), 0);
	check_nothing_held(harness_rt);
}
END_TEST

START_TEST(test_threads_trim_takes_the_remote_queue)
{
	struct evfut_future f = EVFUT_FUTURE_INIT(woken_in_last_poll, NULL);
	struct evfut_runtime *rt = harness_rt;

	ck_assert_int_eq(evfut_task_spawn(rt, &f, sizeof f), 0);
	ck_assert_int_eq(evfut_runtime_run(rt), 0);
	ck_assert_int_eq(evfut_runtime_trim(rt), 0);
}
END_TEST

static Suite *
threads_suite(void)
{
	Suite *s = suite_create("threads");
	TCase *tc;

	tc = tcase_create("storm");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_threads_wake_storm_loses_no_wakeup);
	suite_add_tcase(s, tc);

	tc = tcase_create("destroy");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_threads_wakers_outlive_destroyed_runtime);
	tcase_add_test(tc, test_threads_wakes_racing_destroy_are_safe);
	tcase_add_test(tc, test_threads_remote_wake_during_destroy_is_safe);
	suite_add_tcase(s, tc);

	tc = tcase_create("held");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc,
	               test_threads_run_holds_no_task_woken_in_its_last_poll);
	tcase_add_test(
	        tc, test_threads_block_on_holds_no_root_woken_in_its_last_poll);
	tcase_add_test(tc, test_threads_trim_takes_the_remote_queue);
	suite_add_tcase(s, tc);

	tc = tcase_create("isolation");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_threads_runtimes_share_nothing);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return harness_main(threads_suite());
}
