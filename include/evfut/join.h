/*
 * evfut/join.h: combinators: wait for all of N futures (join), for the
 * first of N (select), and give the executor a turn (yield_now).
 *
 * The combinators poll their children with the polling task's own waker,
 * so a child's wake wakes the task, which polls the combinator, which polls
 * the children that are still pending. Results stay in the children's
 * fields. A combinator owns its children as evfut_timeout owns its inner
 * future: it drops each child exactly once, when the combinator is dropped
 * (select also drops the losers as soon as a winner completes, which
 * deregisters their timers and descriptors at once). Read the children's
 * results before dropping the combinator.
 *
 * Threads: like every future, a combinator is polled and dropped by one
 * thread at a time.
 */
#ifndef EVFUT_JOIN_H
#define EVFUT_JOIN_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A future that completes when all of its children have: each poll polls
 * every child that has not completed yet, in index order.
 */
struct evfut_join {
	/* public */
	struct evfut_future base; /**< Poll and drop through this. */
	/* read-only */
	size_t completed; /**< Children completed so far. */
	/* private */
	struct evfut_future *const *children;
	size_t count;
	uint64_t small; /* done bits when count <= 64 */
	uint64_t *bits; /* done bits otherwise, allocated at init */
	unsigned dropped;
};

/**
 * Initialises @p join over the @p count futures of @p children. The array
 * and the futures are retained until @p join is dropped; the futures are
 * dropped by @p join then. With 64 children or fewer nothing is allocated;
 * beyond, one bitmap is allocated here (freed when @p join is dropped).
 * A join of no future completes at its first poll.
 *
 * @return 0; -EINVAL if @p join is NULL, @p children is NULL while
 * @p count is not 0, or a child is NULL or has no poll function; -ENOMEM if
 * the bitmap could not be allocated (@p join is then not initialised).
 * Any thread.
 */
EVFUT_API int evfut_join_init(struct evfut_join *join,
                              struct evfut_future *const *children,
                              size_t count);

/**
 * A future that completes when the first of its children does (a race):
 * each poll polls the children in index order (biased: with several ready,
 * the lowest index wins), and the first that completes is the winner. The
 * losers are dropped at once; the winner, with its result, when the select
 * is dropped.
 */
struct evfut_select {
	/* public */
	struct evfut_future base; /**< Poll and drop through this. */
	/* read-only */
	size_t index; /**< The winner's index, once the select completed. */
	/* private */
	struct evfut_future *const *children;
	size_t count;
	unsigned done;
	unsigned dropped;
};

/**
 * Initialises @p select over the @p count futures of @p children, retained
 * (array and futures) until @p select is dropped.
 *
 * @return 0; -EINVAL if @p select or @p children is NULL, @p count is 0,
 * or a child is NULL or has no poll function. Any thread.
 */
EVFUT_API int evfut_select_init(struct evfut_select *select,
                                struct evfut_future *const *children,
                                size_t count);

/**
 * A future that returns EVFUT_PENDING once, after waking its own task, and
 * completes at the next poll: the task goes to the back of the ready queue,
 * letting other tasks and I/O run.
 */
struct evfut_yield {
	/* public */
	struct evfut_future base; /**< Poll through this; nothing to drop. */
	/* private */
	unsigned yielded;
};

/** Initialises @p yield. Any thread. */
EVFUT_API void evfut_yield_init(struct evfut_yield *yield);

#ifdef __cplusplus
}
#endif

#endif /* EVFUT_JOIN_H */
