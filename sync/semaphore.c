/*
 * A counting semaphore with a FIFO line of waiting acquires.
 *
 * Permits go to the head of the line first: release() serves waiters from
 * the head for as long as the head's request fits, and a new acquire takes
 * permits directly only when nobody waits. A waiter that leaves the line
 * (dropped) may unblock the ones behind it, so dropping serves the line
 * again; a waiter dropped after it was granted gives its permits back.
 */
#include <errno.h>
#include <string.h>

#include "evfut/sync.h"

#include "waitlist.h"

enum {
	ACQUIRE_INIT = 0,
	ACQUIRE_WAITING = 1, /* linked */
	ACQUIRE_GRANTED = 2, /* unlinked by release(), permits taken */
	ACQUIRE_CLOSED = 3,  /* unlinked by close() */
	ACQUIRE_DONE = 4,
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
 * Called with the lock held; returns with it released. Grants permits to
 * the head of the line while its request fits, waking the granted in
 * batches with the lock released.
 */
static void
serve_and_unlock(struct evfut_semaphore *sem)
{
	struct evfut__wake_batch batch;
	struct evfut_waiter *w;
	bool more;

	for (;;) {
		batch.n = 0;
		while (!evfut__wake_batch_full(&batch) &&
		       (w = sem->waiters.head) != NULL &&
		       w->word <= sem->permits) {
			sem->permits -= w->word;
			evfut__waitlist_remove(&sem->waiters, w);
			acquire_of(w)->state = ACQUIRE_GRANTED;
			evfut__wake_batch_add(&batch, evfut__waiter_take(w));
		}
		more = evfut__wake_batch_full(&batch);
		evfut__spin_unlock(&sem->lock);
		evfut__wake_batch_run(&batch);
		if (!more)
			return;
		evfut__spin_lock(&sem->lock);
	}
}

int
evfut_semaphore_release(struct evfut_semaphore *sem, size_t n)
{
	if (sem == NULL || n == 0 || n > EVFUT_SEMAPHORE_MAX_PERMITS)
		return -EINVAL;
	evfut__spin_lock(&sem->lock);
	if (sem->permits > EVFUT_SEMAPHORE_MAX_PERMITS - n) {
		evfut__spin_unlock(&sem->lock);
		return -EINVAL;
	}
	sem->permits += n;
	serve_and_unlock(sem);
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
	bool more;

	if (sem == NULL)
		return -EINVAL;
	evfut__spin_lock(&sem->lock);
	sem->closed = 1;
	for (;;) {
		batch.n = 0;
		while (!evfut__wake_batch_full(&batch) &&
		       (w = sem->waiters.head) != NULL) {
			evfut__waitlist_remove(&sem->waiters, w);
			acquire_of(w)->state = ACQUIRE_CLOSED;
			evfut__wake_batch_add(&batch, evfut__waiter_take(w));
		}
		more = sem->waiters.head !=
		       NULL; /* before a woken task frees it */
		evfut__spin_unlock(&sem->lock);
		evfut__wake_batch_run(&batch);
		if (!more)
			return 0;
		evfut__spin_lock(&sem->lock);
	}
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
	case ACQUIRE_DONE:
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
	enum evfut_poll poll = EVFUT_PENDING;

	evfut__spin_lock(&sem->lock);
	if (acquire_ready_locked(acquire)) {
		acquire->state = ACQUIRE_DONE;
		old = evfut__waiter_take(&acquire->node);
		poll = EVFUT_READY;
	} else {
		if (acquire->state == ACQUIRE_INIT) {
			evfut__waitlist_push(&sem->waiters, &acquire->node);
			acquire->state = ACQUIRE_WAITING;
		}
		evfut__waiter_store(&acquire->node, cx->waker, &old);
	}
	evfut__spin_unlock(&sem->lock);
	evfut_waker_drop(&old);
	return poll;
}

static void
acquire_drop(struct evfut_future *self)
{
	struct evfut_acquire *acquire =
	        evfut_container_of(self, struct evfut_acquire, base);
	struct evfut_semaphore *sem = acquire->sem;
	struct evfut_waker old;
	unsigned state;

	if (sem == NULL)
		return;
	evfut__spin_lock(&sem->lock);
	state = acquire->state;
	acquire->state = ACQUIRE_DONE;
	old = evfut__waiter_take(&acquire->node);
	if (state == ACQUIRE_WAITING)
		evfut__waitlist_remove(&sem->waiters, &acquire->node);
	else if (state == ACQUIRE_GRANTED)
		sem->permits += acquire->node.word;
	if (state == ACQUIRE_WAITING || state == ACQUIRE_GRANTED)
		serve_and_unlock(sem);
	else
		evfut__spin_unlock(&sem->lock);
	evfut_waker_drop(&old);
}
