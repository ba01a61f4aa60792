/*
 * evfut/sync.h: Notify and a counting semaphore, for tasks.
 *
 * Both allocate nothing once initialised: a waiting future is a node of an
 * intrusive FIFO list, embedded in the future itself, and dropping the
 * future unlinks it. Every call here may be made from any thread: each
 * object has a small lock of its own (a spin lock held for a few
 * instructions, never while a waker runs), and wakers are woken after it
 * is released. A Notify made by evfut_notify_init_local() is for one
 * thread and takes no lock. The futures are polled by their task, as every
 * future is, and each poll spends one unit of the task's cooperative
 * budget.
 *
 * Notifications and permits are reserved for a waiter and it is woken;
 * its own poll completes. A future dropped at any point loses nothing: a
 * notification or permits reserved for it pass to the next waiter. After
 * a call's last wake the object is not touched again, so a woken task may
 * free it.
 */
#ifndef EVFUT_SYNC_H
#define EVFUT_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "future.h"
#include "waker.h"

#ifdef __cplusplus
extern "C" {
#endif

struct evfut_waitlist;

/**
 * Private: a waiting future's node in a wait list. Embedded in the futures
 * of this header and of evfut/channel.h; every field is private.
 */
struct evfut_waiter {
	/* private */
	struct evfut_waiter *next;
	struct evfut_waiter *prev;
	struct evfut_waitlist *in; /* the list it is linked in, or NULL */
	struct evfut_waker waker;  /* the latest waker of the waiting task */
	uintptr_t word; /* what the wait is for: permits, generation */
};

/** Private: an intrusive FIFO of waiters. */
struct evfut_waitlist {
	/* private */
	struct evfut_waiter *head;
	struct evfut_waiter *tail;
};

/**
 * Wakes one task or all current waiters. notify_one() wakes the waiter that
 * waits longest, or stores one permit (at most one) when nobody waits, which
 * the next evfut_notified future takes at once; notify_waiters() wakes every
 * future that waits, or was initialised, before the call, and stores no
 * permit. Zero-initialise it or use evfut_notify_init().
 */
struct evfut_notify {
	/* private */
	unsigned lock;
	unsigned local; /* evfut_notify_init_local(): no lock */
	unsigned permit;
	unsigned generation; /* bumped by each notify_waiters() */
	struct evfut_waitlist waiters;
	struct evfut_waitlist woken; /* notified, still to wake */
	struct evfut_waker cache;    /* local: the last waiter's waker */
};

/**
 * Initialises @p notify: no permit, no waiter; usable from any thread.
 * Any thread (it is not in use yet).
 */
EVFUT_API void evfut_notify_init(struct evfut_notify *notify);

/**
 * Initialises @p notify as evfut_notify_init() does, for use on one thread
 * only (the tasks of one runtime): every call on it, and the init, polls
 * and drops of its evfut_notified futures, on that thread. It then takes
 * no lock, and keeps the waker of its last waiter for the next waiter of
 * the same task (no clone, no atomic operation): release it with
 * evfut_notify_finish() before @p notify goes away. Any thread (it is not
 * in use yet).
 */
EVFUT_API void evfut_notify_init_local(struct evfut_notify *notify);

/**
 * Releases the waker a local @p notify keeps (it holds its task's memory);
 * nothing for a Notify made by evfut_notify_init(). No future may wait on
 * @p notify any more. NULL is allowed. @p notify's thread.
 */
EVFUT_API void evfut_notify_finish(struct evfut_notify *notify);

/**
 * Wakes the longest waiting evfut_notified future of @p notify, or stores a
 * permit if none waits (a second permit is not stored: permits do not add
 * up).
 *
 * @return 0; -EINVAL if @p notify is NULL. Any thread.
 */
EVFUT_API int evfut_notify_one(struct evfut_notify *notify);

/**
 * Wakes every evfut_notified future of @p notify that was initialised
 * before this call and has not completed; stores no permit. A future
 * initialised after the call is not woken by it. With more waiters than
 * one batch of wakers (32), the call wakes the first batch and the futures
 * it woke wake the rest as they are polled or dropped.
 *
 * @return 0; -EINVAL if @p notify is NULL. Any thread.
 */
EVFUT_API int evfut_notify_waiters(struct evfut_notify *notify);

/**
 * A future that completes when its evfut_notify is notified: by a stored
 * permit, by notify_one() while it waits, or by a notify_waiters() made
 * after it was initialised. Dropping it unlinks it; a notify_one() that
 * chose it and was not consumed passes to the next waiter (or back to the
 * permit), so no notification is lost.
 */
struct evfut_notified {
	/* public */
	struct evfut_future base; /**< Poll and drop through this. */
	/* private */
	struct evfut_notify *notify;
	struct evfut_waiter node;
	unsigned state;
};

/**
 * Initialises @p notified to wait on @p notify (retained until @p notified
 * completes or is dropped). A notify_waiters() made from now on completes
 * it, even before its first poll.
 *
 * @return 0; -EINVAL if an argument is NULL. Any thread.
 */
EVFUT_API int evfut_notified_init(struct evfut_notified *notified,
                                  struct evfut_notify *notify);

/**
 * A counting semaphore with FIFO fairness: an acquire that cannot be served
 * at once waits in line, and a later, smaller acquire does not pass it.
 * Zero-initialise it (no permit) or use evfut_semaphore_init().
 */
struct evfut_semaphore {
	/* private */
	unsigned lock;
	unsigned closed;
	size_t permits;
	struct evfut_waitlist waiters;
	struct evfut_waitlist woken; /* granted or closed, still to wake */
};

/** The most permits a semaphore holds. */
#define EVFUT_SEMAPHORE_MAX_PERMITS (SIZE_MAX >> 1)

/**
 * Initialises @p sem with @p permits permits.
 *
 * @return 0; -EINVAL if @p sem is NULL or @p permits exceeds
 * EVFUT_SEMAPHORE_MAX_PERMITS. Any thread.
 */
EVFUT_API int evfut_semaphore_init(struct evfut_semaphore *sem, size_t permits);

/**
 * Gives @p n permits back to @p sem (or adds new ones), grants them to the
 * waiting acquires at the head of the line that they now satisfy, and
 * wakes those (a batch of 32 at once; the acquires woken wake the rest).
 *
 * @return 0; -EINVAL if @p sem is NULL, @p n is 0 or the total would exceed
 * EVFUT_SEMAPHORE_MAX_PERMITS (nothing is added). Any thread.
 */
EVFUT_API int evfut_semaphore_release(struct evfut_semaphore *sem, size_t n);

/**
 * Takes @p n permits from @p sem if they are there and nobody waits in
 * line.
 *
 * @return 0; -EAGAIN if not (nothing is taken); -EPIPE if @p sem is
 * closed; -EINVAL if @p sem is NULL or @p n is 0. Any thread.
 */
EVFUT_API int evfut_semaphore_try_acquire(struct evfut_semaphore *sem,
                                          size_t n);

/**
 * Closes @p sem: every waiting acquire completes with -EPIPE, and so do
 * the acquires polled afterwards. Permits already taken stay taken.
 *
 * @return 0; -EINVAL if @p sem is NULL. Any thread.
 */
EVFUT_API int evfut_semaphore_close(struct evfut_semaphore *sem);

/** The number of permits @p sem holds now (0 for NULL). Any thread. */
EVFUT_API size_t evfut_semaphore_available(struct evfut_semaphore *sem);

/**
 * A future that takes permits from a semaphore, waiting its turn in line.
 * Once it completed with 0 the permits are the caller's, to give back with
 * evfut_semaphore_release(); dropping it before it completed gives back
 * permits it was granted (up to EVFUT_SEMAPHORE_MAX_PERMITS) and leaves
 * the line.
 */
struct evfut_acquire {
	/* public */
	struct evfut_future base; /**< Poll and drop through this. */
	/* read-only */
	int result; /**< 0: the permits were taken; -EPIPE: closed. */
	/* private */
	struct evfut_semaphore *sem;
	struct evfut_waiter node;
	unsigned state;
};

/**
 * Initialises @p acquire to take @p n permits from @p sem (retained until
 * @p acquire completes or is dropped).
 *
 * @return 0; -EINVAL if an argument is NULL, @p n is 0 or exceeds
 * EVFUT_SEMAPHORE_MAX_PERMITS. Any thread.
 */
EVFUT_API int evfut_acquire_init(struct evfut_acquire *acquire,
                                 struct evfut_semaphore *sem, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* EVFUT_SYNC_H */
