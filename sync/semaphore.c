/*
 * The semaphore: a count of permits and a FIFO of waiting acquires, under
 * the semaphore's spin lock.
 *
 * A release grants permits to the waiters at the head of the line that
 * they satisfy (the permits leave the count, the waiter is marked) and
 * wakes them; the acquire's own poll then completes, and an acquire
 * dropped after its grant gives the permits back. Granted or closed
 * waiters wait in `woken` until their batch is woken (waitlist.h).
 */
#include <errno.h>
#include <string.h>

#include "evfut/handle.h"
#include "evfut/sync.h"

#include "waitlist.h"

enum {
	ACQUIRE_INIT = 0,
	ACQUIRE_WAITING = 1, /* in waiters */
	ACQUIRE_GRANTED = 2, /* permits taken for it by release() */
	ACQUIRE_CLOSED = 3,  /* taken out by close() */
	ACQUIRE_DONE = 4,    /* completed or dropped */
};

static enum evfut_poll acquire_poll(struct evfut_future *self,
                                    struct evfut_context *cx);
static void acquire_drop(struct evfut_future *self);

int
evfut_semaphore_init(struct evfut_semaphore *sem, size_t permits)
{
	if (sem == NULL || permits > EVFUT_SEMAPHORE_MAX_PERMITS)
		return -EINVAL;
	memset(sem, 0, sizeof(*sem));
	sem->permits = permits;
	return 0;
}

static struct evfut_acquire *
acquire_of(struct evfut_waiter *w)
{
	return evfut_container_of(w, struct evfut_acquire, node);
}

/*
 * Under the lock: grants permits to every waiter at the head of the line
 * they satisfy, and takes the first batch of wakers to wake after it.
 */
static void
grant_locked(struct evfut_semaphore *sem, struct evfut__wake_batch *batch)
{
	struct evfut_waiter *w;

	while ((w = sem->waiters.head) != NULL && w->word <= sem->permits) {
		sem->permits -= w->word;
		evfut__waiter_unlink(w);
		evfut__state_set(&acquire_of(w)->state, ACQUIRE_GRANTED);
		evfut__waitlist_push(&sem->woken, w);
	}
	evfut__wake_batch_take(batch, &sem->woken);
}

/* Under the lock: adds @n permits, saturating at the maximum. */
static void
give_back_locked(struct evfut_semaphore *sem, size_t n)
{
	if (sem->permits > EVFUT_SEMAPHORE_MAX_PERMITS - n)
		sem->permits = EVFUT_SEMAPHORE_MAX_PERMITS;
	else
		sem->permits += n;
}

int
evfut_semaphore_release(struct evfut_semaphore *sem, size_t n)
{
	struct evfut__wake_batch batch;

	if (sem == NULL || n == 0 || n > EVFUT_SEMAPHORE_MAX_PERMITS)
		return -EINVAL;
	evfut__spin_lock(&sem->lock);
	if (sem->permits > EVFUT_SEMAPHORE_MAX_PERMITS - n) {
		evfut__spin_unlock(&sem->lock);
		return -EINVAL;
	}
	sem->permits += n;
	grant_locked(sem, &batch);
	evfut__spin_unlock(&sem->lock);
	evfut__wake_batch_run(&batch);
	return 0;
}

int
evfut_semaphore_try_acquire(struct evfut_semaphore *sem, size_t n)
{
	int rc = -EAGAIN;

	if (sem == NULL || n == 0)
		return -EINVAL;
	evfut__spin_lock(&sem->lock);
	if (sem->closed) {
		rc = -EPIPE;
	} else if (evfut__waitlist_empty(&sem->waiters) && sem->permits >= n) {
		sem->permits -= n;
		rc = 0;
	}
	evfut__spin_unlock(&sem->lock);
	return rc;
}

int
evfut_semaphore_close(struct evfut_semaphore *sem)
{
	struct evfut__wake_batch batch;
	struct evfut_waiter *w;

	if (sem == NULL)
		return -EINVAL;
	evfut__spin_lock(&sem->lock);
	sem->closed = 1;
	while ((w = evfut__waitlist_pop(&sem->waiters)) != NULL) {
		evfut__state_set(&acquire_of(w)->state, ACQUIRE_CLOSED);
		evfut__waitlist_push(&sem->woken, w);
	}
	evfut__wake_batch_take(&batch, &sem->woken);
	evfut__spin_unlock(&sem->lock);
	evfut__wake_batch_run(&batch);
	return 0;
}

size_t
evfut_semaphore_available(struct evfut_semaphore *sem)
{
	size_t permits;

	if (sem == NULL)
		return 0;
	evfut__spin_lock(&sem->lock);
	permits = sem->permits;
	evfut__spin_unlock(&sem->lock);
	return permits;
}

int
evfut_acquire_init(struct evfut_acquire *acquire, struct evfut_semaphore *sem,
                   size_t n)
{
	if (acquire == NULL || sem == NULL || n == 0 ||
	    n > EVFUT_SEMAPHORE_MAX_PERMITS)
		return -EINVAL;
	memset(acquire, 0, sizeof(*acquire));
	acquire->base.poll = acquire_poll;
	acquire->base.drop = acquire_drop;
	acquire->sem = sem;
	acquire->node.word = n;
	return 0;
}

/* Under the lock: whether @acquire completes now, with its result set. */
static bool
acquire_ready_locked(struct evfut_acquire *acquire)
{
	struct evfut_semaphore *sem = acquire->sem;

	switch (acquire->state) {
	case ACQUIRE_GRANTED:
		acquire->result = 0;
		return true;
	case ACQUIRE_CLOSED:
		acquire->result = -EPIPE;
		return true;
	case ACQUIRE_WAITING:
		return false;
	default:
		break;
	}
	if (sem->closed) {
		acquire->result = -EPIPE;
		return true;
	}
	if (evfut__waitlist_empty(&sem->waiters) &&
	    sem->permits >= acquire->node.word) {
		sem->permits -= acquire->node.word;
		acquire->result = 0;
		return true;
	}
	return false;
}

static enum evfut_poll
acquire_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_acquire *acquire =
	        evfut_container_of(self, struct evfut_acquire, base);
	struct evfut_semaphore *sem = acquire->sem;
	struct evfut_waker old = EVFUT_WAKER_EMPTY;
	struct evfut__wake_batch batch;
	enum evfut_poll poll = EVFUT_READY;

	if (evfut__state_is(&acquire->state, ACQUIRE_DONE))
		return EVFUT_READY;
	if (!evfut_coop_proceed(cx))
		return EVFUT_PENDING;
	evfut__spin_lock(&sem->lock);
	if (acquire_ready_locked(acquire)) {
		evfut__waiter_unlink(&acquire->node); /* if still in woken */
		evfut__state_set(&acquire->state, ACQUIRE_DONE);
		old = evfut__waiter_take(&acquire->node);
	} else {
		if (acquire->state == ACQUIRE_INIT) {
			evfut__waitlist_push(&sem->waiters, &acquire->node);
			evfut__state_set(&acquire->state, ACQUIRE_WAITING);
		}
		evfut__waiter_store(&acquire->node, cx->waker, &old);
		poll = EVFUT_PENDING;
	}
	evfut__wake_batch_take(&batch, &sem->woken);
	evfut__spin_unlock(&sem->lock);
	evfut_waker_drop(&old);
	evfut__wake_batch_run(&batch);
	return poll;
}

static void
acquire_drop(struct evfut_future *self)
{
	struct evfut_acquire *acquire =
	        evfut_container_of(self, struct evfut_acquire, base);
	struct evfut_semaphore *sem = acquire->sem;
	struct evfut__wake_batch batch;
	struct evfut_waker old;
	unsigned state;

	if (sem == NULL || evfut__state_is(&acquire->state, ACQUIRE_DONE))
		return;
	evfut__spin_lock(&sem->lock);
	state = acquire->state;
	evfut__state_set(&acquire->state, ACQUIRE_DONE);
	old = evfut__waiter_take(&acquire->node);
	evfut__waiter_unlink(&acquire->node);
	/* Leaving the head of the line may let the next waiter through. */
	if (state == ACQUIRE_GRANTED)
		give_back_locked(sem, acquire->node.word);
	if (state == ACQUIRE_WAITING || state == ACQUIRE_GRANTED)
		grant_locked(sem, &batch);
	else
		evfut__wake_batch_take(&batch, &sem->woken);
	evfut__spin_unlock(&sem->lock);
	evfut_waker_drop(&old);
	evfut__wake_batch_run(&batch);
}
