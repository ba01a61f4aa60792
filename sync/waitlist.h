/*
 * Private: the intrusive wait lists of the channels and synchronisation
 * futures, their spin lock, and a batch of wakers to wake once the lock is
 * released.
 */
#ifndef EVFUT_RUNTIME_WAITLIST_H
#define EVFUT_RUNTIME_WAITLIST_H

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
}

static inline void
evfut__waitlist_remove(struct evfut_waitlist *list, struct evfut_waiter *w)
{
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
 * Wakers collected under a lock and woken after it: tokio's WakeList. A
 * caller that fills it releases the lock, wakes, and takes the lock again
 * for the rest, so nothing is allocated however many wait.
 */
#define EVFUT__WAKE_BATCH 32

struct evfut__wake_batch {
	struct evfut_waker wakers[EVFUT__WAKE_BATCH];
	unsigned n;
};

static inline bool
evfut__wake_batch_full(const struct evfut__wake_batch *batch)
{
	return batch->n == EVFUT__WAKE_BATCH;
}

static inline void
evfut__wake_batch_add(struct evfut__wake_batch *batch, struct evfut_waker w)
{
	batch->wakers[batch->n++] = w;
}

static inline void
evfut__wake_batch_run(struct evfut__wake_batch *batch)
{
	for (unsigned i = 0; i < batch->n; i++)
		evfut_waker_wake(&batch->wakers[i]);
	batch->n = 0;
}

#endif
