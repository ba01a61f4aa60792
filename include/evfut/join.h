/*
 * evfut/join.h: combinators: wait for all of N futures (join), for the
 * first of N (select), for any of N while keeping the rest (wait_set),
 * and give the executor a turn (yield_now).
 *
 * The combinators poll their children with the polling task's own waker,
 * so a child's wake wakes the task, which polls the combinator, which polls
 * the children that are still pending. Results stay in the children's
 * fields. A combinator owns its children as evfut_timeout owns its inner
 * future: it drops each child exactly once, when the combinator is dropped
 * (select also drops the losers as soon as a winner completes, which
 * deregisters their timers and descriptors at once). Read the children's
 * results before dropping the combinator. The wait set is the exception:
 * it borrows its children and never drops them.
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

/** The most children an evfut_wait_set holds. */
#define EVFUT_WAIT_SET_MAX 64

/**
 * Waits until at least one of up to 64 children has completed, reports
 * which ones did, and keeps the others as they are: the combinator for a
 * loop that waits on a reader, a writer, a deadline and a shutdown notice
 * at once and handles whichever is ready (tokio's select! over `&mut fut`
 * in a loop, or a FuturesUnordered of fixed slots).
 *
 * Each child is armed or disarmed. A poll of the set polls, in index
 * order, every armed child that has not completed yet, once; the set
 * completes (EVFUT_READY) when at least one armed child has completed, or
 * at once when no child is armed at all (evfut_wait_set_next() then
 * returns -1: a loop that disarmed everything ends rather than hangs).
 * evfut_wait_set_next() hands the completed children out, lowest index
 * first, and disarms each; evfut_wait_set_arm() re-arms a child the caller
 * re-initialised.
 *
 * Unlike other futures the set may be polled again after it completed:
 * each poll is a new wait over the children armed then.
 *
 * The set borrows its children: it never drops one, and dropping the set
 * (which holds nothing: its drop is a no-op) leaves every child as it is,
 * for the caller to keep polling elsewhere or to drop.
 */
struct evfut_wait_set {
	/* public */
	struct evfut_future base; /**< Poll through this; nothing to drop. */
	/* private */
	struct evfut_future *const *children;
	size_t count;
	uint64_t armed; /* polled by the set */
	uint64_t done;  /* armed, completed, not handed out yet */
};

/**
 * Initialises @p set over the @p count futures of @p children, all armed
 * and none completed. The array and the futures are borrowed for as long
 * as @p set is polled; the caller keeps owning (and drops) the futures.
 * Nothing is allocated.
 *
 * @return 0; -EINVAL if @p set or @p children is NULL, @p count is 0 or
 * more than EVFUT_WAIT_SET_MAX, or a child is NULL or has no poll
 * function (@p set is then untouched). Any thread.
 */
EVFUT_API int evfut_wait_set_init(struct evfut_wait_set *set,
                                  struct evfut_future *const *children,
                                  size_t count);

/**
 * Hands out the lowest index of a completed child and disarms it: the set
 * never polls it again until evfut_wait_set_arm(). Its result is in its
 * fields.
 *
 * @return the index; -1 when no completed child is left (or @p set is
 * NULL). The thread that polls @p set.
 */
EVFUT_API int evfut_wait_set_next(struct evfut_wait_set *set);

/**
 * Re-arms child @p index, which the caller has re-initialised (or which is
 * still pending, after evfut_wait_set_disarm()): the next poll of the set
 * polls it. A completed child must be re-initialised before it is armed,
 * since a completed future must not be polled again.
 *
 * @return 0; -EINVAL if @p set is NULL or @p index is out of range.
 * The thread that polls @p set.
 */
EVFUT_API int evfut_wait_set_arm(struct evfut_wait_set *set, size_t index);

/**
 * Disarms child @p index: the set stops polling it (a completion not
 * handed out yet is forgotten). The child is not dropped; a pending one
 * keeps whatever it registered until the caller drops or re-arms it.
 *
 * @return 0; -EINVAL if @p set is NULL or @p index is out of range.
 * The thread that polls @p set.
 */
EVFUT_API int evfut_wait_set_disarm(struct evfut_wait_set *set, size_t index);

/** Whether child @p index is armed (0 or 1; 0 for a bad argument). */
EVFUT_API int evfut_wait_set_is_armed(const struct evfut_wait_set *set,
                                      size_t index);

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
