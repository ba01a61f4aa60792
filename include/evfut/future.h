/*
 * evfut/future.h: futures, values that are not ready yet.
 *
 * A future is a struct that embeds `struct evfut_future` and whose poll
 * function makes as much progress as it can. Poll returns EVFUT_READY once,
 * when the work is done, and keeps the result in the future's own fields; or
 * it returns EVFUT_PENDING after arranging for the context's waker (or a
 * clone of it) to be woken when progress is possible again.
 */
#ifndef EVFUT_FUTURE_H
#define EVFUT_FUTURE_H

#include "common.h"
#include "waker.h"

#ifdef __cplusplus
extern "C" {
#endif

struct evfut_runtime;
struct evfut_future;

/** What a poll returns. */
enum evfut_poll {
	EVFUT_PENDING = 0, /**< Not done; a waker has been arranged. */
	EVFUT_READY = 1,   /**< Done; the result is in the future's fields. */
};

/**
 * What a poll is given.
 *
 * The waker is borrowed for the duration of the poll: a future that must be
 * woken later stores a clone (see evfut_waker_store()).
 */
struct evfut_context {
	/* read-only */
	const struct evfut_waker *waker; /**< Wakes the polling task. */
	struct evfut_runtime *runtime;   /**< The runtime polling, or NULL. */
};

/**
 * Polls @p self (the embedded base) once. Called by one thread at a time,
 * never again after it returned EVFUT_READY.
 */
typedef enum evfut_poll (*evfut_poll_fn)(struct evfut_future *self,
                                         struct evfut_context *cx);

/**
 * Drops @p self: releases what the future holds (registrations, stored
 * wakers, memory it owns), whether or not it completed. Called at most once,
 * by the future's owner; for a pending future this is cancellation.
 */
typedef void (*evfut_drop_fn)(struct evfut_future *self);

/** The base every future embeds. */
struct evfut_future {
	/* public */
	evfut_poll_fn poll; /**< Required. */
	evfut_drop_fn
	        drop; /**< Optional: NULL when there is nothing to drop. */
};

/** Initialiser for the embedded base. */
#define EVFUT_FUTURE_INIT(poll_fn, drop_fn)                                    \
	{                                                                      \
		(poll_fn), (drop_fn)                                           \
	}

/** Polls @p future once with @p cx; see evfut_poll_fn. */
static inline enum evfut_poll
evfut_future_poll(struct evfut_future *future, struct evfut_context *cx)
{
	return future->poll(future, cx);
}

/** Drops @p future (NULL is allowed); see evfut_drop_fn. */
static inline void
evfut_future_drop(struct evfut_future *future)
{
	if (future != NULL && future->drop != NULL)
		future->drop(future);
}

/**
 * Runs @p future to completion on the calling thread, with no runtime: the
 * thread parks between polls and the future's waker unparks it, from any
 * thread. The context's runtime is NULL, so only futures that need no
 * runtime (a thread that wakes the waker, a channel, another thread's work)
 * can complete here; see evfut_runtime_block_on() for the rest.
 *
 * @p future is borrowed; it is not dropped, and its result is in its fields
 * on return.
 *
 * @return 0 when the future completed; -EINVAL if @p future or its poll
 * function is NULL; -ENOMEM if the parker could not be allocated (the
 * future was not polled). Any thread.
 */
EVFUT_API int evfut_block_on(struct evfut_future *future);

#ifdef __cplusplus
}
#endif

#endif /* EVFUT_FUTURE_H */
