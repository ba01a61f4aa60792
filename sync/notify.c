/*
 * Notify: wake one waiting task, or all of them, from any thread.
 *
 * A notified future is initialised with the generation of its notify;
 * notify_waiters() bumps the generation, so every future initialised
 * before it sees a different number and completes (tokio's semantics:
 * a future that had not been polled yet is notified too). Waiters of an
 * older generation stay at the head of the list until notify_waiters()
 * has unlinked them in batches; notify_one() skips them, since they are
 * notified already.
 */
#include <errno.h>
#include <string.h>

#include "evfut/sync.h"

#include "waitlist.h"

enum {
	NOTIFIED_INIT = 0,    /* not polled yet */
	NOTIFIED_WAITING = 1, /* linked */
	NOTIFIED_ONE = 2,     /* chosen by notify_one(), not consumed */
	NOTIFIED_ALL = 3,     /* unlinked by notify_waiters() */
	NOTIFIED_DONE = 4,
};

static enum evfut_poll notified_poll(struct evfut_future *self,
                                     struct evfut_context *cx);
static void notified_drop(struct evfut_future *self);

void
evfut_notify_init(struct evfut_notify *notify)
{
	memset(notify, 0, sizeof(*notify));
}

static struct evfut_notified *
notified_of(struct evfut_waiter *w)
{
	return evfut_container_of(w, struct evfut_notified, node);
}

/*
 * Under the lock: hands the notification to the longest waiter of the
 * current generation and returns its waker, or stores the permit.
 */
static struct evfut_waker
notify_one_locked(struct evfut_notify *notify)
{
	struct evfut_waker none = EVFUT_WAKER_EMPTY;
	struct evfut_waiter *w = notify->waiters.head;

	while (w != NULL && w->word != notify->generation)
		w = w->next;
	if (w == NULL) {
		notify->permit = 1;
		return none;
	}
	evfut__waitlist_remove(&notify->waiters, w);
	notified_of(w)->state = NOTIFIED_ONE;
	return evfut__waiter_take(w);
}

int
evfut_notify_one(struct evfut_notify *notify)
{
	struct evfut_waker waker;

	if (notify == NULL)
		return -EINVAL;
	evfut__spin_lock(&notify->lock);
	waker = notify_one_locked(notify);
	evfut__spin_unlock(&notify->lock);
	evfut_waker_wake(&waker);
	return 0;
}

int
evfut_notify_waiters(struct evfut_notify *notify)
{
	struct evfut__wake_batch batch;
	struct evfut_waiter *w;
	unsigned generation;
	bool more;

	if (notify == NULL)
		return -EINVAL;
	batch.n = 0;
	evfut__spin_lock(&notify->lock);
	generation = notify->generation + 1;
	/* Atomic: evfut_notified_init() reads it without the lock. */
	__atomic_store_n(&notify->generation, generation, __ATOMIC_RELEASE);
	for (;;) {
		w = notify->waiters.head;
		while (w != NULL && w->word != generation &&
		       !evfut__wake_batch_full(&batch)) {
			evfut__waitlist_remove(&notify->waiters, w);
			notified_of(w)->state = NOTIFIED_ALL;
			evfut__wake_batch_add(&batch, evfut__waiter_take(w));
			w = notify->waiters.head;
		}
		/* Decided under the lock: once unlocked, a woken task may
		 * drop (and free) the waiter at the head. */
		more = w != NULL && w->word != generation;
		evfut__spin_unlock(&notify->lock);
		evfut__wake_batch_run(&batch);
		if (!more)
			return 0;
		evfut__spin_lock(&notify->lock);
	}
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
	case NOTIFIED_ONE:
	case NOTIFIED_ALL:
	case NOTIFIED_DONE:
		return true;
	case NOTIFIED_WAITING:
		if (notified->node.word == notify->generation)
			return false;
		evfut__waitlist_remove(&notify->waiters, &notified->node);
		return true;
	default:
		if (notified->node.word != notify->generation)
			return true;
		if (notify->permit) {
			notify->permit = 0;
			return true;
		}
		return false;
	}
}

static enum evfut_poll
notified_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_notified *notified =
	        evfut_container_of(self, struct evfut_notified, base);
	struct evfut_notify *notify = notified->notify;
	struct evfut_waker old = EVFUT_WAKER_EMPTY;

	evfut__spin_lock(&notify->lock);
	if (notified_ready_locked(notified)) {
		notified->state = NOTIFIED_DONE;
		old = evfut__waiter_take(&notified->node);
		evfut__spin_unlock(&notify->lock);
		evfut_waker_drop(&old);
		return EVFUT_READY;
	}
	if (notified->state == NOTIFIED_INIT) {
		evfut__waitlist_push(&notify->waiters, &notified->node);
		notified->state = NOTIFIED_WAITING;
	}
	evfut__waiter_store(&notified->node, cx->waker, &old);
	evfut__spin_unlock(&notify->lock);
	evfut_waker_drop(&old);
	return EVFUT_PENDING;
}

static void
notified_drop(struct evfut_future *self)
{
	struct evfut_notified *notified =
	        evfut_container_of(self, struct evfut_notified, base);
	struct evfut_notify *notify = notified->notify;
	struct evfut_waker old, forward = EVFUT_WAKER_EMPTY;

	/* The state is read under the lock: notifiers change it. */
	if (notify == NULL)
		return;
	evfut__spin_lock(&notify->lock);
	if (notified->state == NOTIFIED_WAITING)
		evfut__waitlist_remove(&notify->waiters, &notified->node);
	else if (notified->state == NOTIFIED_ONE)
		forward = notify_one_locked(notify);
	notified->state = NOTIFIED_DONE;
	old = evfut__waiter_take(&notified->node);
	evfut__spin_unlock(&notify->lock);
	evfut_waker_drop(&old);
	evfut_waker_wake(&forward);
}
