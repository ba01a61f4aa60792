/*
 * evfut/waker.h: wakers, the handle a pending future leaves behind so that
 * whoever completes the awaited event can have the future polled again.
 *
 * A waker is a pair {data, vtable}, exactly the RawWaker model: clone makes
 * another owned waker for the same target, wake consumes the waker and
 * schedules the target, wake_by_ref schedules it without consuming, drop
 * releases an owned waker. Any code can build a waker from its own static
 * vtable, as a hand-written executor would.
 */
#ifndef EVFUT_WAKER_H
#define EVFUT_WAKER_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct evfut_waker;

/**
 * The four operations of a waker kind.
 *
 * Keep exactly one `static const` vtable per kind of waker:
 * evfut_waker_will_wake() compares vtable pointers, so a duplicated vtable
 * turns equal wakers into "different" ones and costs a clone per poll.
 * Every slot may be called from any thread unless the kind documents
 * otherwise; the task wakers of evfut are all thread-safe.
 */
struct evfut_waker_vtable {
	/** Returns a new owned waker for the same target; must not fail. */
	struct evfut_waker (*clone)(const void *data);
	/** Schedules the target and releases this reference. */
	void (*wake)(const void *data);
	/** Schedules the target; the reference stays owned by the caller. */
	void (*wake_by_ref)(const void *data);
	/** Releases this reference without scheduling. */
	void (*drop)(const void *data);
};

/**
 * An owned waker, passed by value.
 *
 * The all-zero waker {NULL, NULL} is the empty waker: it owns nothing, and
 * waking or dropping it does nothing, so zero-initialised storage slots need
 * no set-up.
 */
struct evfut_waker {
	/* public */
	const void *data;                        /**< The target, opaque. */
	const struct evfut_waker_vtable *vtable; /**< Its operations. */
};

/** The empty waker, for initialising storage slots. */
#define EVFUT_WAKER_EMPTY                                                      \
	{                                                                      \
		NULL, NULL                                                     \
	}

/**
 * A waker that does nothing when woken (for polling by hand and for tests).
 *
 * @return the no-op waker; cloning and dropping it are free.
 * Any thread.
 */
EVFUT_API struct evfut_waker evfut_waker_noop(void);

/**
 * Whether @p waker is the empty waker (owns nothing).
 */
static inline bool
evfut_waker_is_empty(const struct evfut_waker *waker)
{
	return waker->vtable == NULL;
}

/**
 * Clones @p waker (borrowed).
 *
 * @return a new owned waker for the same target; the empty waker for the
 * empty waker. Task wakers are counted references: cloning one allocates
 * nothing. Any thread.
 */
static inline struct evfut_waker
evfut_waker_clone(const struct evfut_waker *waker)
{
	struct evfut_waker empty = EVFUT_WAKER_EMPTY;

	if (waker->vtable == NULL)
		return empty;
	return waker->vtable->clone(waker->data);
}

/**
 * Wakes the target of @p waker and consumes the waker: afterwards @p waker
 * is empty. Waking a finished or cancelled task is a harmless no-op.
 * Any thread.
 */
static inline void
evfut_waker_wake(struct evfut_waker *waker)
{
	struct evfut_waker owned = *waker;

	waker->data = NULL;
	waker->vtable = NULL;
	if (owned.vtable != NULL)
		owned.vtable->wake(owned.data);
}

/**
 * Wakes the target of @p waker (borrowed) without consuming it.
 * Any thread.
 */
static inline void
evfut_waker_wake_by_ref(const struct evfut_waker *waker)
{
	if (waker->vtable != NULL)
		waker->vtable->wake_by_ref(waker->data);
}

/**
 * Releases @p waker; afterwards it is empty. Dropping the empty waker does
 * nothing. Any thread.
 */
static inline void
evfut_waker_drop(struct evfut_waker *waker)
{
	struct evfut_waker owned = *waker;

	waker->data = NULL;
	waker->vtable = NULL;
	if (owned.vtable != NULL)
		owned.vtable->drop(owned.data);
}

/**
 * Whether waking @p a and waking @p b (both borrowed) would wake the same
 * target: the same data and the same vtable pointer. A false "no" only costs
 * a clone; a "yes" is always right.
 */
static inline bool
evfut_waker_will_wake(const struct evfut_waker *a, const struct evfut_waker *b)
{
	return a->data == b->data && a->vtable == b->vtable;
}

/**
 * Keeps the latest waker in @p slot: replaces the waker stored there with a
 * clone of @p waker (borrowed), dropping the old one, unless the two already
 * wake the same target, in which case nothing is cloned or dropped.
 *
 * This is the operation every registration does on each Pending poll.
 * The caller serialises access to @p slot.
 */
static inline void
evfut_waker_store(struct evfut_waker *slot, const struct evfut_waker *waker)
{
	if (evfut_waker_will_wake(slot, waker))
		return;
	evfut_waker_drop(slot);
	*slot = evfut_waker_clone(waker);
}

#ifdef __cplusplus
}
#endif

#endif /* EVFUT_WAKER_H */
