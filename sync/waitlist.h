/*
 * Private: the intrusive wait lists of the channels and synchronisation
 * futures, their spin lock, and a batch of wakers to wake once the lock is
 * released.
 */
#ifndef EVFUT_SYNC_WAITLIST_H
#define EVFUT_SYNC_WAITLIST_H

#include <sched.h>
#include <stdbool.h>

#include "evfut/sync.h"

/*
 * A spin lock for the embeddable objects: a public struct cannot hold a
 * pthread_mutex_t without pulling <pthread.h> into the public headers, and
 * the critical sections are a handful of pointer moves. No waker is ever
 * run under it. Yields the CPU when the holder was preempted.
 */
static inline void
evfut__spin_lock(unsigned *lock)
{
	unsigned spins = 0;

	while (__atomic_exchange_n(lock, 1u, __ATOMIC_ACQUIRE) != 0) {
		while (__atomic_load_n(lock, __ATOMIC_RELAXED) != 0) {
			if (++spins >= 64) {
				spins = 0;
				sched_yield();
			}
		}
	}
}

static inline void
evfut__spin_unlock(unsigned *lock)
{
	__atomic_store_n(lock, 0u, __ATOMIC_RELEASE);
}

/*
 * The lock of an object that may be local (made by an *_init_local() call:
 * every use on one thread, the runtime's), which takes no lock at all.
 */
static inline void
evfut__lock(unsigned *lock, unsigned local)
{
	if (!local)
		evfut__spin_lock(lock);
}

static inline void
evfut__unlock(unsigned *lock, unsigned local)
{
	if (!local)
		evfut__spin_unlock(lock);
}

static inline bool
evfut__waitlist_empty(const struct evfut_waitlist *list)
{
	return list->head == NULL;
}

static inline void
evfut__waitlist_push(struct evfut_waitlist *list, struct evfut_waiter *w)
{
	w->next = NULL;
	w->prev = list->tail;
	if (list->tail != NULL)
		list->tail->next = w;
	else
		list->head = w;
	list->tail = w;
	w->in = list;
}

/* Unlinks @w from the list it is in, if any. */
static inline void
evfut__waiter_unlink(struct evfut_waiter *w)
{
	struct evfut_waitlist *list = w->in;

	if (list == NULL)
		return;
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		list->head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		list->tail = w->prev;
	w->next = NULL;
	w->prev = NULL;
	w->in = NULL;
}

/* Unlinks and returns the head of @list, or NULL. */
static inline struct evfut_waiter *
evfut__waitlist_pop(struct evfut_waitlist *list)
{
	struct evfut_waiter *w = list->head;

	if (w != NULL)
		evfut__waiter_unlink(w);
	return w;
}

/*
 * A waiting future's state word: the other side changes it under the
 * object's lock, and the future's own thread reads it without the lock
 * only to see the final state, which it wrote itself: after completion,
 * a poll or a drop must not touch the object (it may be gone).
 */
static inline void
evfut__state_set(unsigned *state, unsigned value)
{
	__atomic_store_n(state, value, __ATOMIC_RELAXED);
}

static inline bool
evfut__state_is(const unsigned *state, unsigned value)
{
	return __atomic_load_n(state, __ATOMIC_RELAXED) == value;
}

/* Moves the waiter's waker out (the node may be freed once unlocked). */
static inline struct evfut_waker
evfut__waiter_take(struct evfut_waiter *w)
{
	struct evfut_waker waker = w->waker;

	w->waker.data = NULL;
	w->waker.vtable = NULL;
	return waker;
}

/*
 * Keeps the latest waker in @w under the caller's lock: a clone (an atomic
 * increment for task wakers) is made here, but the waker it replaces goes
 * to @old, for the caller to drop once the lock is released.
 */
static inline void
evfut__waiter_store(struct evfut_waiter *w, const struct evfut_waker *waker,
                    struct evfut_waker *old)
{
	if (evfut_waker_will_wake(&w->waker, waker))
		return;
	*old = w->waker;
	w->waker = evfut_waker_clone(waker);
}

/*
 * Wakers collected under a lock and woken after it: tokio's WakeList.
 *
 * A call that has more waiters to wake than a batch holds never takes the
 * lock again once it has woken one (a woken task may free the object):
 * the rest wait, already decided (granted, notified, closed), in the
 * object's `woken` list, and every later poll or drop of one of its
 * futures, which holds the object alive, takes the next batch from it.
 */
#define EVFUT__WAKE_BATCH 32

struct evfut__wake_batch {
	struct evfut_waker wakers[EVFUT__WAKE_BATCH];
	unsigned n;
};

/* Under the lock: moves up to a batch of waiters out of @woken. */
static inline void
evfut__wake_batch_take(struct evfut__wake_batch *batch,
                       struct evfut_waitlist *woken)
{
	struct evfut_waiter *w;

	batch->n = 0;
	while (batch->n < EVFUT__WAKE_BATCH &&
	       (w = evfut__waitlist_pop(woken)) != NULL)
		batch->wakers[batch->n++] = evfut__waiter_take(w);
}

/* After the lock: the call's last touch of anything shared. */
static inline void
evfut__wake_batch_run(struct evfut__wake_batch *batch)
{
	for (unsigned i = 0; i < batch->n; i++)
		evfut_waker_wake(&batch->wakers[i]);
	batch->n = 0;
}

#endif
