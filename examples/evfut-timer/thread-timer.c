/*
 * The classic TimerFuture (examples/timer-future.c): a thread sleeps,
 * marks the timer completed, and wakes the waker the future stored on its
 * last Pending poll, from that other thread. The runtime takes the wake
 * through its remote queue and eventfd.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "evfut-timer.h"

struct et_thread_timer {
	struct evfut_future base;
	pthread_mutex_t lock;
	bool completed;           /* set by the thread, under the lock */
	struct evfut_waker waker; /* the latest waker, under the lock */
	evfut_nsec duration;
	pthread_t thread;
};

static void *
timer_thread(void *arg)
{
	struct et_thread_timer *t = arg;
	struct timespec ts = {(time_t)(t->duration / EVFUT_SEC),
	                      (long)(t->duration % EVFUT_SEC)};
	struct evfut_waker waker;

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		continue;
	pthread_mutex_lock(&t->lock);
	t->completed = true;
	waker = t->waker; /* take it: wake consumes */
	t->waker.data = NULL;
	t->waker.vtable = NULL;
	pthread_mutex_unlock(&t->lock);
	et_log("thread", "timer fired: the timer thread wakes the stored "
	                 "waker, from another thread");
	evfut_waker_wake(&waker);
	return NULL;
}

static enum evfut_poll
timer_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct et_thread_timer *t =
	        evfut_container_of(self, struct et_thread_timer, base);
	enum evfut_poll result = EVFUT_READY;

	pthread_mutex_lock(&t->lock);
	if (!t->completed) {
		/* Keep the latest waker: the task polling now is the one. */
		evfut_waker_store(&t->waker, cx->waker);
		result = EVFUT_PENDING;
	}
	pthread_mutex_unlock(&t->lock);
	return result;
}

int
et_thread_timer_create(struct et_thread_timer **out, evfut_nsec duration)
{
	struct et_thread_timer *t = calloc(1, sizeof(*t));
	int rc;

	if (t == NULL)
		return -ENOMEM;
	t->base.poll = timer_poll;
	t->duration = duration;
	rc = pthread_mutex_init(&t->lock, NULL);
	if (rc != 0)
		goto fail_lock;
	et_log("thread", "timer thread started: it sleeps, then wakes");
	rc = pthread_create(&t->thread, NULL, timer_thread, t);
	if (rc != 0)
		goto fail_thread;
	*out = t;
	return 0;

fail_thread:
	pthread_mutex_destroy(&t->lock);
fail_lock:
	free(t);
	return -rc;
}

struct evfut_future *
et_thread_timer_future(struct et_thread_timer *timer)
{
	return &timer->base;
}

void
et_thread_timer_destroy(struct et_thread_timer *timer)
{
	if (timer == NULL)
		return;
	pthread_join(timer->thread, NULL);
	evfut_waker_drop(&timer->waker);
	pthread_mutex_destroy(&timer->lock);
	free(timer);
}
