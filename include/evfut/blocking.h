/*
 * evfut/blocking.h: running blocking work on a small thread pool, awaited
 * as a future.
 *
 * A task must never block its runtime's thread: a blocking call (a
 * getaddrinfo, a synchronous file read, a compression) goes to a pool
 * thread instead, and the task awaits an evfut_blocking future, which the
 * pool thread completes and wakes through the task's waker (a cross-thread
 * wake). Threads start when work arrives, up to the pool's maximum, and
 * then stay until the pool is destroyed.
 */
#ifndef EVFUT_BLOCKING_H
#define EVFUT_BLOCKING_H

#include <stdint.h>

#include "common.h"
#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

struct evfut_pool;
struct evfut_runtime;
struct evfut__job;

/**
 * Blocking work: runs on a pool thread with @p arg, returns the value the
 * future completes with. Must not touch the runtime's tasks except through
 * wakers and thread-safe calls.
 */
typedef intptr_t (*evfut_blocking_fn)(void *arg);

/**
 * Releases what a dropped evfut_blocking future will never read: @p arg,
 * and what fn(arg) returned (@p value, when @p ran is 1; @p ran 0 and
 * @p value 0 when the work never ran). Called once, only when the future
 * is dropped before it completed, on whichever thread lets go of the work
 * last: the dropping thread (before the first poll; or the work finished
 * and its thread let go already), or a pool thread (the work was running,
 * or it skips the work), or the thread destroying the pool. Must not touch
 * the runtime's tasks except through thread-safe calls.
 */
typedef void (*evfut_blocking_discard_fn)(void *arg, intptr_t value, int ran);

/**
 * Creates a pool of at most @p max_threads threads; none is started yet.
 *
 * @param out receives the pool, owned by the caller until
 * evfut_pool_destroy(); untouched on failure.
 * @param max_threads the most threads it starts, lazily, one per queued
 * job while fewer run.
 * @return 0; -EINVAL if @p out is NULL or @p max_threads is 0; -ENOMEM.
 * Any thread.
 */
EVFUT_API int evfut_pool_create(struct evfut_pool **out, unsigned max_threads);

/**
 * Destroys @p pool: work queued and not started yet is cancelled (its
 * futures complete with -ECANCELED), work running is waited for, and the
 * threads are joined. Futures whose work finished stay valid: they no
 * longer refer to the pool. NULL is allowed.
 *
 * Any thread but the pool's own; not concurrently with a first poll of a
 * future of this pool.
 */
EVFUT_API void evfut_pool_destroy(struct evfut_pool *pool);

/** The number of threads @p pool has started so far (0 for NULL). */
EVFUT_API unsigned evfut_pool_threads(struct evfut_pool *pool);

/**
 * A future that runs fn(arg) on a pool thread and completes with its
 * return value. The work is queued at the first poll; the job record it
 * shares with the pool thread is counted, so dropping the future before
 * the work ran cancels it, and dropping it while it runs lets it finish
 * without writing into the dropped future.
 */
struct evfut_blocking {
	/* public */
	struct evfut_future base; /**< Poll and drop through this. */
	/* read-only */
	int result;     /**< 0: @p value is fn's; -ENOMEM: no job record;
	                     -ECANCELED: the pool was destroyed first;
	                     -EAGAIN: the pool has no thread and could not
	                     start one. */
	intptr_t value; /**< What fn returned, once result is 0. */
	/* private */
	struct evfut_pool *pool;
	evfut_blocking_fn fn;
	evfut_blocking_discard_fn discard;
	void *arg;
	struct evfut__job *job;
	unsigned done;
};

/**
 * Initialises @p blocking to run @p fn with @p arg (borrowed by the pool
 * thread until the work finished) on @p pool (retained until the first
 * poll). Nothing runs before the first poll.
 *
 * @return 0; -EINVAL if @p blocking, @p pool or @p fn is NULL. Any thread.
 */
EVFUT_API int evfut_blocking_init(struct evfut_blocking *blocking,
                                  struct evfut_pool *pool, evfut_blocking_fn fn,
                                  void *arg);

/**
 * Hands @p arg, and what fn(arg) returns, to @p blocking until it
 * completes: if it is dropped first, @p discard releases them (see
 * evfut_blocking_discard_fn), on whichever thread lets go of the work
 * last, so a drop never waits for the work and nothing leaks. Once the
 * future completed, they are the caller's again. Call it after
 * evfut_blocking_init(), before the first poll.
 *
 * @return 0; -EINVAL if @p blocking is NULL or was polled already. Any
 * thread.
 */
EVFUT_API int evfut_blocking_set_discard(struct evfut_blocking *blocking,
                                         evfut_blocking_discard_fn discard);

/**
 * The blocking pool of @p rt, which its own calls use (evfut_lookup_host
 * in evfut/net.h) and tasks may share: the one given to
 * evfut_runtime_set_blocking_pool(), or else one of
 * EVFUT_DEFAULT_BLOCKING_THREADS threads created at the first call and
 * destroyed by evfut_runtime_destroy() (after its tasks are dropped; it
 * waits for work still running, such as a getaddrinfo).
 *
 * @param rt the runtime.
 * @param out receives the pool, borrowed until the runtime is destroyed.
 * @return 0; -EINVAL if an argument is NULL; an error of
 * evfut_pool_create() (-ENOMEM...). The runtime's thread.
 */
EVFUT_API int evfut_runtime_blocking_pool(struct evfut_runtime *rt,
                                          struct evfut_pool **out);

/** Threads of the pool a runtime creates for itself. */
#define EVFUT_DEFAULT_BLOCKING_THREADS 4

/**
 * Makes @p pool (borrowed: it must outlive @p rt) the blocking pool of
 * @p rt, in place of the one it would create.
 *
 * @return 0; -EINVAL if an argument is NULL; -EBUSY if @p rt has a pool
 * already. The runtime's thread.
 */
EVFUT_API int evfut_runtime_set_blocking_pool(struct evfut_runtime *rt,
                                              struct evfut_pool *pool);

#ifdef __cplusplus
}
#endif

#endif /* EVFUT_BLOCKING_H */
