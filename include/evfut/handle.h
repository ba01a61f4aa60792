/*
 * evfut/handle.h: join handles. A task spawned joinable returns a handle
 * that can be awaited for the task's completion (its future's result
 * fields stay readable through the join), aborted, or detached.
 */
#ifndef EVFUT_HANDLE_H
#define EVFUT_HANDLE_H

#include <stddef.h>

#include "common.h"
#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

struct evfut_runtime;
struct evfut_task;

/**
 * A counted reference to a spawned task, on the runtime's thread. Give it
 * up exactly once: to evfut_task_join_init(), or with evfut_task_detach().
 */
struct evfut_join_handle {
	/* private */
	struct evfut_task *task;
};

/**
 * evfut_task_spawn_at() that also returns a join handle in @p handle.
 *
 * @return as evfut_task_spawn_at(); -EINVAL also if @p handle is NULL. On
 * failure @p handle is untouched.
 */
EVFUT_API int evfut_task_spawn_joinable_at(struct evfut_runtime *rt,
                                           const struct evfut_future *future,
                                           size_t size, const char *where,
                                           struct evfut_join_handle *handle);

/** evfut_task_spawn_joinable_at() recording the caller's location. */
#define evfut_task_spawn_joinable(rt, future, size, handle)                    \
	evfut_task_spawn_joinable_at((rt), (future), (size), EVFUT_HERE,       \
	                             (handle))

/**
 * Aborts the task of @p handle: its future is dropped at its next yield
 * point (at once if it is idle or queued, after its poll if it is
 * running), never polled again, and a join reports -ECANCELED. Aborting a
 * finished task does nothing. The handle stays owned by the caller. The
 * runtime's thread.
 */
EVFUT_API void evfut_task_abort(struct evfut_join_handle *handle);

/**
 * Gives up @p handle; the task runs on. NULL or an empty handle is allowed.
 */
EVFUT_API void evfut_task_detach(struct evfut_join_handle *handle);

/** Whether the task of @p handle finished, by completing or by abort. */
EVFUT_API int evfut_task_finished(const struct evfut_join_handle *handle);

/** A future that completes when a joinable task finished. */
struct evfut_task_join {
	/* public */
	struct evfut_future base; /**< Poll and drop through this. */
	/* read-only */
	int result; /**< 0: the task's future completed; -ECANCELED: aborted
	                 (or cancelled by evfut_runtime_shutdown()). */
	/* private */
	struct evfut_join_handle handle;
};

/**
 * Initialises @p join to await the task of @p handle, which it takes over
 * (@p handle is emptied). Dropping @p join detaches the task.
 */
EVFUT_API void evfut_task_join_init(struct evfut_task_join *join,
                                    struct evfut_join_handle *handle);

/**
 * The task's copy of its future, whose result fields can be read once
 * @p join completed with 0 (the future has been dropped: read results
 * only). Valid until @p join is dropped.
 *
 * @return the future, or NULL if @p join holds no task.
 */
EVFUT_API const struct evfut_future *
evfut_task_join_output(const struct evfut_task_join *join);

/**
 * Aborts every task spawned on @p rt (block_on's own future excepted): a
 * server's clean stop. The tasks' futures are dropped as the runtime
 * drains, and evfut_runtime_run() then returns.
 *
 * @return 0; -EINVAL if @p rt is NULL. The runtime's thread.
 */
EVFUT_API int evfut_runtime_shutdown(struct evfut_runtime *rt);

/** Polls a task may make in a row before its I/O reports Pending. */
#define EVFUT_COOP_BUDGET 128

/**
 * Cooperative budget, for futures that can be ready again and again (a
 * socket that always has data): each call spends one unit of the polling
 * task's budget. When the budget is spent it wakes the task and returns 0,
 * and the caller returns EVFUT_PENDING, so that one task cannot starve the
 * others. The budget is refilled at every poll of a task.
 *
 * @return 1 to proceed, 0 to yield.
 */
EVFUT_API int evfut_coop_proceed(struct evfut_context *cx);

#ifdef __cplusplus
}
#endif

#endif /* EVFUT_HANDLE_H */
