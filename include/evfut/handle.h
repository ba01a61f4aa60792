/*
 * evfut/handle.h: join handles, abort handles and task sets. A task
 * spawned joinable returns a handle that can be awaited for the task's
 * completion (its future's result fields stay readable through the join),
 * aborted, or detached; an abort handle aborts it from any thread, while
 * the join is awaited; a task set awaits its tasks in the order they
 * finish and aborts them together.
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
struct evfut_task_join;

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

/** The alignment a spawned future can ask of evfut_task_spawn_aligned_at(). */
#define EVFUT_TASK_MAX_ALIGN 4096

/**
 * evfut_task_spawn_joinable_at() (or, with @p handle NULL,
 * evfut_task_spawn_at()) for a future whose type needs an alignment above
 * that of max_align_t, which is all the other spawns guarantee to the
 * task's copy: pass `alignof(struct my_future)`. Such a task is one
 * allocation of its own, not a block of the task pool.
 *
 * @return as evfut_task_spawn_at(); -EINVAL also if @p align is not 0 or a
 * power of two up to EVFUT_TASK_MAX_ALIGN. On failure @p handle is
 * untouched.
 */
EVFUT_API int evfut_task_spawn_aligned_at(struct evfut_runtime *rt,
                                          const struct evfut_future *future,
                                          size_t size, size_t align,
                                          const char *where,
                                          struct evfut_join_handle *handle);

/** evfut_task_spawn_aligned_at() recording the caller's location. */
#define evfut_task_spawn_aligned(rt, future, size, align, handle)              \
	evfut_task_spawn_aligned_at((rt), (future), (size), (align),           \
	                            EVFUT_HERE, (handle))

/**
 * Aborts the task of @p handle: it is never polled again, and a join
 * reports -ECANCELED. An idle or queued task's future is dropped at once,
 * within this call (so whatever it held is released before the call
 * returns); a running task's (the caller's own, aborting itself) when its
 * poll returns. Aborting a finished task does nothing. The handle stays
 * owned by the caller. The runtime's thread.
 */
EVFUT_API void evfut_task_abort(struct evfut_join_handle *handle);

/**
 * A counted reference that can abort a task from any thread and tell
 * whether it finished, without awaiting it (tokio's AbortHandle). Give it
 * up with evfut_abort_handle_drop(); the task's memory lives until then.
 */
struct evfut_abort_handle {
	/* private */
	struct evfut_task *task;
};

/**
 * Makes @p out an abort handle of the task of @p handle, which stays
 * owned by the caller (take the abort handle before handing the join
 * handle to evfut_task_join_init()).
 *
 * @return 0; -EINVAL if an argument is NULL or @p handle is empty. The
 * runtime's thread.
 */
EVFUT_API int evfut_task_abort_handle(const struct evfut_join_handle *handle,
                                      struct evfut_abort_handle *out);

/** evfut_task_abort_handle() for the task a join awaits. */
EVFUT_API int evfut_task_join_abort_handle(const struct evfut_task_join *join,
                                           struct evfut_abort_handle *out);

/**
 * Aborts the task of @p handle, as evfut_task_abort(). From a task or a
 * callback of the task's runtime the future is dropped within the call;
 * from anywhere else (another thread, or the runtime's thread outside
 * evfut_runtime_run() and evfut_runtime_block_on()) the abort goes through
 * the runtime's remote queue, and the future is dropped on the runtime's
 * thread at its next turn of the loop (at once if the task is idle or
 * queued then). NULL or an empty handle does nothing; so
 * does aborting a finished task, or one whose runtime is destroyed. Any
 * thread.
 */
EVFUT_API void
evfut_abort_handle_abort(const struct evfut_abort_handle *handle);

/**
 * Whether the task of @p handle finished (completed or aborted). Any
 * thread; from another thread, the answer may be a moment late.
 *
 * @return 1 or 0 (0 also for NULL or an empty handle).
 */
EVFUT_API int
evfut_abort_handle_finished(const struct evfut_abort_handle *handle);

/** Gives up @p handle (NULL or empty is allowed). Any thread. */
EVFUT_API void evfut_abort_handle_drop(struct evfut_abort_handle *handle);

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
 * A set of tasks awaited in the order they finish (tokio's JoinSet): the
 * building block of a graceful shutdown. Embed it, initialise it with
 * evfut_join_set_init(), and end it with evfut_join_set_finish(), which
 * aborts what still runs. The runtime's thread only.
 */
struct evfut_join_set {
	/* private */
	struct evfut_task *running;   /* linked before their headers */
	struct evfut_task *done_head; /* finished, in the order they did */
	struct evfut_task *done_tail;
	size_t len;               /* tasks not taken by a next future */
	struct evfut_waker waker; /* of the next future that waits */
};

/** Initialises @p set empty. */
EVFUT_API void evfut_join_set_init(struct evfut_join_set *set);

/**
 * Spawns a copy of @p future on @p rt as a task of @p set (as
 * evfut_task_spawn_at(); the set keeps a reference to the task).
 *
 * @return 0; -EINVAL if @p set is NULL or as evfut_task_spawn_at(); -ENOMEM
 * (nothing spawned, the set unchanged).
 */
EVFUT_API int evfut_join_set_spawn_at(struct evfut_join_set *set,
                                      struct evfut_runtime *rt,
                                      const struct evfut_future *future,
                                      size_t size, const char *where);

/** evfut_join_set_spawn_at() recording the caller's location. */
#define evfut_join_set_spawn(set, rt, future, size)                            \
	evfut_join_set_spawn_at((set), (rt), (future), (size), EVFUT_HERE)

/** The tasks in @p set, running or finished and not taken yet. */
EVFUT_API size_t evfut_join_set_len(const struct evfut_join_set *set);

/**
 * Aborts every task of @p set, as evfut_task_abort(): idle and queued
 * ones' futures are dropped within the call. They stay in the set, to be
 * taken by next futures with -ECANCELED. NULL is allowed.
 */
EVFUT_API void evfut_join_set_abort_all(struct evfut_join_set *set);

/**
 * Ends @p set: aborts every task still running and gives up every task,
 * finished or not. The set is empty (and may be used again) afterwards.
 * No next future of the set may be alive. NULL is allowed.
 */
EVFUT_API void evfut_join_set_finish(struct evfut_join_set *set);

/** A future that completes when a task of a set finished. */
struct evfut_join_set_next {
	/* public */
	struct evfut_future base; /**< Poll and drop through this. */
	/* read-only */
	int result; /**< 0: a task's future completed; -ECANCELED: the task
	                 was aborted; -ENOENT: the set was empty. */
	/* private */
	struct evfut_join_set *set;
	struct evfut_task *task;
	int waiting;
};

/**
 * Initialises @p next to take the next task of @p set to finish, in the
 * order they finished (at once if one finished already). The task leaves
 * the set when @p next completes; its future's results are then readable
 * through evfut_join_set_next_output() until @p next is dropped. Dropping
 * @p next before it completed takes nothing: no task is lost. One next
 * future of a set at a time (as tokio's join_next takes the set by
 * mutable reference); drop it before the set is finished.
 *
 * @return 0; -EINVAL if an argument is NULL.
 */
EVFUT_API int evfut_join_set_next_init(struct evfut_join_set_next *next,
                                       struct evfut_join_set *set);

/**
 * The finished task's copy of its future (dropped already: read results
 * only), valid until @p next is dropped.
 *
 * @return the future; NULL unless @p next completed with 0.
 */
EVFUT_API const struct evfut_future *
evfut_join_set_next_output(const struct evfut_join_set_next *next);

/**
 * Aborts every task spawned on @p rt (block_on's own future excepted), as
 * evfut_task_abort(): a server's clean stop. Idle and queued tasks'
 * futures are dropped within the call, a running task's (the caller's
 * own) when its poll returns, and evfut_runtime_run() then returns.
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
