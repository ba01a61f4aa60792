/*
 * timer-future: the classic TimerFuture, awaited with block_on.
 *
 * Run: ./build/demo/examples/timer-future [SECONDS]   (default 3)
 *
 * A thread sleeps, marks the timer completed and wakes the waker the future
 * stored on its last Pending poll. The future is awaited twice: by the
 * standalone evfut_block_on(), which parks this thread, and by a runtime's
 * evfut_runtime_block_on(), where the wake crosses threads through the
 * runtime's remote queue.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <evfut.h>

struct timer_future {
	struct evfut_future base;
	pthread_mutex_t lock;
	bool completed;           /* set by the thread, under the lock */
	struct evfut_waker waker; /* the latest waker, under the lock */
	double seconds;
	pthread_t thread;
};

static double
elapsed(void)
{
	static struct timespec start;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (start.tv_sec == 0 && start.tv_nsec == 0)
		start = now;
	return (double)(now.tv_sec - start.tv_sec) +
	       (double)(now.tv_nsec - start.tv_nsec) / 1e9;
}

static void *
timer_thread(void *arg)
{
	struct timer_future *f = arg;
	struct timespec ts = {(time_t)f->seconds,
	                      (long)((f->seconds - (time_t)f->seconds) * 1e9)};
	struct evfut_waker waker;

	nanosleep(&ts, NULL);
	pthread_mutex_lock(&f->lock);
	f->completed = true;
	waker = f->waker; /* take it: wake consumes */
	f->waker.vtable = NULL;
	pthread_mutex_unlock(&f->lock);
	printf("[%7.3f s] timer thread: fired, waking the stored waker\n",
	       elapsed());
	evfut_waker_wake(&waker);
	return NULL;
}

static enum evfut_poll
timer_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct timer_future *f =
	        evfut_container_of(self, struct timer_future, base);
	enum evfut_poll result = EVFUT_READY;

	pthread_mutex_lock(&f->lock);
	if (!f->completed) {
		/* Keep the latest waker: the task polling now is the one. */
		evfut_waker_store(&f->waker, cx->waker);
		result = EVFUT_PENDING;
	}
	pthread_mutex_unlock(&f->lock);
	printf("[%7.3f s] poll: %s\n", elapsed(),
	       result == EVFUT_READY ? "Ready" : "Pending (waker stored)");
	return result;
}

static int
timer_future_init(struct timer_future *f, double seconds)
{
	struct timer_future init = {
	        .base = EVFUT_FUTURE_INIT(timer_poll, NULL),
	        .seconds = seconds,
	};

	*f = init;
	pthread_mutex_init(&f->lock, NULL);
	return pthread_create(&f->thread, NULL, timer_thread, f);
}

static void
timer_future_finish(struct timer_future *f)
{
	pthread_join(f->thread, NULL);
	evfut_waker_drop(&f->waker);
	pthread_mutex_destroy(&f->lock);
}

int
main(int argc, char **argv)
{
	double seconds = argc > 1 ? strtod(argv[1], NULL) : 3.0;
	struct evfut_runtime *rt;
	struct timer_future f;
	int rc;

	if (seconds < 0 || seconds > 3600) {
		fprintf(stderr, "timer-future: SECONDS must be in [0, 3600]\n");
		return 2;
	}
	elapsed();
	printf("[%7.3f s] evfut_block_on: a %.3f s TimerFuture\n", elapsed(),
	       seconds);
	if (timer_future_init(&f, seconds) != 0)
		return 1;
	rc = evfut_block_on(&f.base);
	timer_future_finish(&f);
	if (rc < 0)
		goto fail;

	rc = evfut_runtime_create(&rt, NULL);
	if (rc < 0)
		goto fail;
	printf("[%7.3f s] evfut_runtime_block_on: the same, on a runtime\n",
	       elapsed());
	if (timer_future_init(&f, seconds) != 0) {
		evfut_runtime_destroy(rt);
		return 1;
	}
	rc = evfut_runtime_block_on(rt, &f.base);
	timer_future_finish(&f);
	evfut_runtime_destroy(rt);
	if (rc < 0)
		goto fail;
	printf("[%7.3f s] done\n", elapsed());
	return 0;
fail:
	fprintf(stderr, "timer-future: %s\n", strerror(-rc));
	return 1;
}
