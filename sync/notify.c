/*
 * Notify: a permit and a FIFO of waiting futures, under the notify's spin
 * lock.
 *
 * A notification is reserved, never consumed, by the notifier: notify_one()
 * marks the waiter it chose and wakes it, and the waiter's own poll takes
 * it; a chosen waiter dropped before that passes it on. notify_waiters()
 * marks every current waiter and moves them to the `woken` list, wakes a
 * batch and returns: the futures it woke wake the rest (waitlist.h).
 *
 * A local Notify (one thread) takes no lock, and keeps the waker its last
 * waiter gave up for the next waiter of the same task, which then needs
 * no clone: a ping-pong between two tasks costs no atomic operation.
 */
#include <errno.h>
#include <string.h>

#include "evfut/handle.h"
#include "evfut/sync.h"

#include "waitlist.h"

enum {
	NOTIFIED_INIT = 0,    /* not polled yet */
	NOTIFIED_WAITING = 1, /* in waiters */
	NOTIFIED_ONE = 2,     /* chosen by notify_one(), not consumed */
	NOTIFIED_ALL = 3,     /* taken by notify_waiters() */
	NOTIFIED_DONE = 4,    /* completed or dropped */
};

static enum evfut_poll notified_poll(struct evfut_future *self,
                                     struct evfut_context *cx);
static void notified_drop(struct evfut_future *self);

void
evfut_notify_init(struct evfut_notify *notify)
{
	memset(notify, 0, sizeof(*notify));
}

void
evfut_notify_init_local(struct evfut_notify *notify)
{
	evfut_notify_init(notify);
	notify->local = 1;
}

static struct evfut_notified *
notified_of(struct evfut_waiter *w)
{
	return evfut_container_of(w, struct evfut_notified, node);
}

/*
 * Local only: keeps @waker (moved in) for the next waiter of its task,
 * in place of the one kept so far. Wakers only ever move out of it.
 */
static void
cache_put(struct evfut_notify *notify, struct evfut_waker *waker)
{
	struct evfut_waker old = notify->cache;

	if (waker->vtable == NULL)
		return;
	notify->cache = *waker;
	waker->data = NULL;
	waker->vtable = NULL;
	evfut_waker_drop(&old);
}

/* A waker a waiter gives up: a local notify keeps it, others drop it. */
static void
keep_if_local(struct evfut_notify *notify, struct evfut_waker *waker)
{
	if (notify->local)
		cache_put(notify, waker);
}

/* Under the lock: keeps the latest waker of a waiting @w. */
static void
store_waker(struct evfut_notify *notify, struct evfut_waiter *w,
            const struct evfut_waker *waker, struct evfut_waker *old)
{
	if (notify->local && w->waker.vtable == NULL &&
	    evfut_waker_will_wake(&notify->cache, waker)) {
		w->waker = notify->cache;
		notify->cache.data = NULL;
		notify->cache.vtable = NULL;
		return;
	}
	evfut__waiter_store(w, waker, old);
}

/* Under the lock: chooses the longest waiter, or stores the permit. */
static struct evfut_waker
notify_one_locked(struct evfut_notify *notify)
{
	struct evfut_waker none = EVFUT_WAKER_EMPTY;
	struct evfut_waiter *w = evfut__waitlist_pop(&notify->waiters);

	if (w == NULL) {
		notify->permit = 1;
		return none;
	}
	evfut__state_set(&notified_of(w)->state, NOTIFIED_ONE);
	return evfut__waiter_take(w);
}

int
evfut_notify_one(struct evfut_notify *notify)
{
	struct evfut_waker waker;

	if (notify == NULL)
		return -EINVAL;
	evfut__lock(&notify->lock, notify->local);
	waker = notify_one_locked(notify);
	evfut__unlock(&notify->lock, notify->local);
	if (notify->local) {
		/* Kept before the wake: the wake may free @notify. */
		struct evfut_waker copy = waker;

		cache_put(notify, &waker);
		evfut_waker_wake_by_ref(&copy);
		return 0;
	}
	evfut_waker_wake(&waker);
	return 0;
}

void
evfut_notify_finish(struct evfut_notify *notify)
{
	if (notify != NULL)
		evfut_waker_drop(&notify->cache);
}

int
evfut_notify_waiters(struct evfut_notify *notify)
{
	struct evfut__wake_batch batch;
	struct evfut_waiter *w;

	if (notify == NULL)
		return -EINVAL;
	evfut__lock(&notify->lock, notify->local);
	/* Atomic: evfut_notified_init() reads it without the lock. */
	__atomic_store_n(&notify->generation, notify->generation + 1,
	                 __ATOMIC_RELEASE);
	while ((w = evfut__waitlist_pop(&notify->waiters)) != NULL) {
		evfut__state_set(&notified_of(w)->state, NOTIFIED_ALL);
		evfut__waitlist_push(&notify->woken, w);
	}
	evfut__wake_batch_take(&batch, &notify->woken);
	evfut__unlock(&notify->lock, notify->local);
	evfut__wake_batch_run(&batch);
	return 0;
}

int
evfut_notified_init(struct evfut_notified *notified,
                    struct evfut_notify *notify)
{
	if (notified == NULL || notify == NULL)
		return -EINVAL;
	memset(notified, 0, sizeof(*notified));
	notified->base.poll = notified_poll;
	notified->base.drop = notified_drop;
	notified->notify = notify;
	notified->node.word =
	        __atomic_load_n(&notify->generation, __ATOMIC_ACQUIRE);
	return 0;
}

/* Under the lock: whether @notified completes now. */
static bool
notified_ready_locked(struct evfut_notified *notified)
{
	struct evfut_notify *notify = notified->notify;

	switch (notified->state) {
	case NOTIFIED_INIT:
		if (notified->node.word != notify->generation)
			return true;
		if (notify->permit) {
			notify->permit = 0;
			return true;
		}
		return false;
	case NOTIFIED_WAITING:
		return false;
	default:
		return true; /* chosen, or taken by notify_waiters() */
	}
}

static enum evfut_poll
notified_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_notified *notified =
	        evfut_container_of(self, struct evfut_notified, base);
	struct evfut_notify *notify = notified->notify;
	struct evfut_waker old = EVFUT_WAKER_EMPTY;
	struct evfut__wake_batch batch;
	enum evfut_poll poll = EVFUT_READY;

	if (evfut__state_is(&notified->state, NOTIFIED_DONE))
		return EVFUT_READY;
	if (!evfut_coop_proceed(cx))
		return EVFUT_PENDING;
	evfut__lock(&notify->lock, notify->local);
	if (notified_ready_locked(notified)) {
		evfut__waiter_unlink(&notified->node); /* if still in woken */
		evfut__state_set(&notified->state, NOTIFIED_DONE);
		old = evfut__waiter_take(&notified->node);
	} else {
		if (notified->state == NOTIFIED_INIT) {
			evfut__waitlist_push(&notify->waiters, &notified->node);
			evfut__state_set(&notified->state, NOTIFIED_WAITING);
		}
		store_waker(notify, &notified->node, cx->waker, &old);
		poll = EVFUT_PENDING;
	}
	evfut__wake_batch_take(&batch, &notify->woken);
	keep_if_local(notify, &old);
	evfut__unlock(&notify->lock, notify->local);
	evfut_waker_drop(&old);
	evfut__wake_batch_run(&batch);
	return poll;
}

static void
notified_drop(struct evfut_future *self)
{
	struct evfut_notified *notified =
	        evfut_container_of(self, struct evfut_notified, base);
	struct evfut_notify *notify = notified->notify;
	struct evfut_waker old, forward = EVFUT_WAKER_EMPTY;
	struct evfut__wake_batch batch;

	if (notify == NULL || evfut__state_is(&notified->state, NOTIFIED_DONE))
		return;
	evfut__lock(&notify->lock, notify->local);
	evfut__waiter_unlink(&notified->node);
	if (notified->state == NOTIFIED_ONE)
		forward = notify_one_locked(notify);
	evfut__state_set(&notified->state, NOTIFIED_DONE);
	old = evfut__waiter_take(&notified->node);
	evfut__wake_batch_take(&batch, &notify->woken);
	keep_if_local(notify, &old);
	evfut__unlock(&notify->lock, notify->local);
	evfut_waker_drop(&old);
	evfut_waker_wake(&forward);
	evfut__wake_batch_run(&batch);
}
