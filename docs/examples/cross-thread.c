/*
 * cross-thread: a future completed by another thread, awaited with the
 * standalone evfut_block_on() and on a runtime; and a waker that outlives
 * its runtime.
 *
 * Run: ./build/docs/examples/cross-thread   (or: meson test -C build --suite
 * docs)
 *
 * The thread future is the classic TimerFuture reduced to its bones (the
 * full program is examples/timer-future.c): a thread sleeps, marks the
 * future done and wakes the waker the future stored. Exits 0 when every
 * check holds.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include <evfut.h>

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
			        __LINE__, #cond);                              \
			return 1;                                              \
		}                                                              \
	} while (0)

/* [thread-future] */
/* Done when a thread it starts on its first poll has slept 1 ms. */
struct thread_future {
	struct evfut_future base;
	pthread_mutex_t lock;
	bool done;                /* under the lock */
	struct evfut_waker waker; /* the latest waker, under the lock */
	bool started;
	pthread_t thread;
	int rc; /* the result: 0, or -errno if the thread did not start */
};

static void *
thread_main(void *arg)
{
	struct thread_future *f = arg;
	struct timespec ms = {0, 1000000};
	struct evfut_waker waker;

	nanosleep(&ms, NULL);
	pthread_mutex_lock(&f->lock);
	f->done = true;
	waker = f->waker; /* take it: wake consumes */
	f->waker = (struct evfut_waker)EVFUT_WAKER_EMPTY;
	pthread_mutex_unlock(&f->lock);
	/* Outside the lock: waking may take the executor's locks. */
	evfut_waker_wake(&waker);
	return NULL;
}

static enum evfut_poll
thread_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct thread_future *f =
	        evfut_container_of(self, struct thread_future, base);
	bool done;

	/* Test and store under one lock, so that no wake falls between. */
	pthread_mutex_lock(&f->lock);
	done = f->done;
	if (!done)
		evfut_waker_store(&f->waker, cx->waker);
	pthread_mutex_unlock(&f->lock);
	if (done)
		return EVFUT_READY;
	if (!f->started) {
		f->rc = -pthread_create(&f->thread, NULL, thread_main, f);
		if (f->rc < 0)
			return EVFUT_READY; /* the error is the result */
		f->started = true;
	}
	return EVFUT_PENDING;
}

static void
thread_drop(struct evfut_future *self)
{
	struct thread_future *f =
	        evfut_container_of(self, struct thread_future, base);

	/* A real timer would cancel; this one just waits out its 1 ms. */
	if (f->started)
		pthread_join(f->thread, NULL);
	evfut_waker_drop(&f->waker);
	pthread_mutex_destroy(&f->lock);
}

static int
thread_future_init(struct thread_future *f)
{
	struct thread_future init = {
	        .base = EVFUT_FUTURE_INIT(thread_poll, thread_drop),
	        .waker = EVFUT_WAKER_EMPTY,
	};

	*f = init;
	return -pthread_mutex_init(&f->lock, NULL);
}
/* [thread-future] */

/* [standalone-block-on] */
static int
standalone(void)
{
	struct thread_future f;

	CHECK(thread_future_init(&f) == 0);
	/* No runtime: this thread parks until the waker unparks it. */
	CHECK(evfut_block_on(&f.base) == 0);
	CHECK(f.rc == 0 && f.done);
	evfut_future_drop(&f.base); /* block_on borrowed it */
	return 0;
}
/* [standalone-block-on] */

/* [remote-wake] */
static int
on_a_runtime(void)
{
	struct thread_future f;
	struct evfut_runtime *rt;
	struct evfut_stats stats;

	CHECK(thread_future_init(&f) == 0);
	CHECK(evfut_runtime_create(&rt, NULL) == 0);
	CHECK(evfut_runtime_block_on(rt, &f.base) == 0);
	CHECK(f.rc == 0);
	CHECK(evfut_runtime_stats(rt, &stats) == 0);
	/*
	 * One wake. From the thread it goes through the remote queue and one
	 * eventfd write; if it lands while the poll is still running, the
	 * task is simply queued again locally when the poll returns.
	 */
	CHECK(stats.wakes_remote + stats.wakes_local == 1);
	CHECK(stats.remote_signals == stats.wakes_remote);
	evfut_future_drop(&f.base);
	evfut_runtime_destroy(rt);
	return 0;
}
/* [remote-wake] */

/* [outlive] */
/* Hands a clone of its waker to someone else, then waits forever. */
struct handoff_future {
	struct evfut_future base;
	struct evfut_waker *out; /* where the clone goes */
	bool *dropped;
};

static enum evfut_poll
handoff_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct handoff_future *f =
	        evfut_container_of(self, struct handoff_future, base);

	evfut_waker_store(f->out, cx->waker);
	return EVFUT_PENDING;
}

static void
handoff_drop(struct evfut_future *self)
{
	struct handoff_future *f =
	        evfut_container_of(self, struct handoff_future, base);

	*f->dropped = true;
}

static enum evfut_poll
ready_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	(void)cx;
	return EVFUT_READY;
}

static int
outlive(void)
{
	struct evfut_waker kept = EVFUT_WAKER_EMPTY;
	bool dropped = false;
	struct handoff_future h = {
	        .base = EVFUT_FUTURE_INIT(handoff_poll, handoff_drop),
	        .out = &kept,
	        .dropped = &dropped,
	};
	struct evfut_future ready = EVFUT_FUTURE_INIT(ready_poll, NULL);
	struct evfut_runtime *rt;
	struct evfut_stats stats;

	CHECK(evfut_runtime_create(&rt, NULL) == 0);
	CHECK(evfut_task_spawn(rt, &h.base, sizeof h) == 0);
	/* FIFO: the spawned task is polled first, then the root. */
	CHECK(evfut_runtime_block_on(rt, &ready) == 0);
	CHECK(evfut_runtime_stats(rt, &stats) == 0 && stats.tasks_live == 1);
	CHECK(!evfut_waker_is_empty(&kept));
	evfut_runtime_destroy(rt); /* cancels the task: its future is dropped */
	CHECK(dropped);
	/* A no-op wake; it frees the task, then what is left of the runtime. */
	evfut_waker_wake(&kept);
	return 0;
}
/* [outlive] */

int
main(void)
{
	if (standalone() != 0 || on_a_runtime() != 0 || outlive() != 0)
		return 1;
	puts("cross-thread: ok");
	return 0;
}
