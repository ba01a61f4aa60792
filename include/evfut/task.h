/*
 * evfut/task.h: tasks, the unit the executor schedules.
 *
 * A task owns one future and polls it whenever the task's waker is woken.
 * Task wakers are counted references to the task: cloning one allocates
 * nothing, and the task's memory lives until the task finished and its last
 * waker was dropped. A task is idle, scheduled, running, running-and-notified
 * or complete: a wake while scheduled does nothing, a wake while running has
 * the task polled once more after this poll, a wake while idle schedules it
 * once, and a wake after completion is a no-op. Wakes on the runtime's own
 * thread cost no atomic operation; wakes from other threads take one, and
 * the remote queue.
 */
#ifndef EVFUT_TASK_H
#define EVFUT_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

struct evfut_runtime;
struct evfut_task;

/**
 * Frees the memory of a caller-supplied task (and whatever embeds it) once
 * the task has finished and no waker refers to it any more. May be called
 * on any thread that dropped the last waker.
 */
typedef void (*evfut_task_release_fn)(struct evfut_task *task);

/**
 * A task. Complete so that a caller can embed it (with its future) in its
 * own memory and spawn with evfut_task_start(); every field is private.
 */
struct evfut_task {
	/* private */
	unsigned state;                 /* Atomic: queued remotely, done. */
	unsigned refs;                  /* Atomic reference count. */
	struct evfut_task *next;        /* Ready-queue link. */
	struct evfut_task *remote_next; /* Remote-queue link. */
	struct evfut_task *live_prev;   /* The runtime's list of live */
	struct evfut_task *live_next;   /* tasks, for shutdown. */
	struct evfut_runtime *runtime;  /* Where it is scheduled. */
	const char *where;              /* Where it was spawned. */
	uint32_t id;                    /* For diagnostics. */
	uint16_t flags;                 /* The runtime thread's state. */
	uint8_t holders;                /* References that are not wakers. */
	uint8_t block;                  /* Spawned copies: the pool class of
	                                   their memory, 0 if malloc's. */
	/* A spawned copy has its future right here and keeps no pointer. */
	struct evfut_future *future;   /* What it polls. */
	evfut_task_release_fn release; /* Frees its memory. */
};

/**
 * Spawns a copy of a future as a new task on @p rt, in one block: from the
 * runtime's task pool (see evfut_runtime_trim()), or one allocation of its
 * own for a future over 1 KiB or on a runtime created with unpooled_tasks.
 *
 * @p future points to the first member of a future struct of @p size bytes
 * that has not been polled yet; the struct is copied into the task, so the
 * caller's copy can go out of scope at once. The task polls its copy until
 * it is ready, then drops it. Call through evfut_task_spawn(), which records
 * where the task was spawned.
 *
 * @return 0; -EINVAL if @p rt or @p future is NULL, @p future has no poll
 * function, or @p size is smaller than `struct evfut_future`; -ENOMEM if the
 * task could not be allocated (nothing was spawned). The runtime's thread, or
 * any thread while the runtime is not running.
 */
EVFUT_API int evfut_task_spawn_at(struct evfut_runtime *rt,
                                  const struct evfut_future *future,
                                  size_t size, const char *where);

/** evfut_task_spawn_at() recording the caller's source location. */
#define evfut_task_spawn(rt, future, size)                                     \
	evfut_task_spawn_at((rt), (future), (size), EVFUT_HERE)

/**
 * Spawns @p future as a task on @p rt in caller-supplied memory: nothing is
 * allocated. @p task and @p future are retained until @p release is called
 * with @p task, after the task finished and its last waker was dropped; the
 * task drops @p future when it completes or is cancelled. Call through
 * evfut_task_start(), which records where the task was spawned.
 *
 * @return 0; -EINVAL if an argument is NULL or @p future has no poll
 * function. Same threads as evfut_task_spawn_at().
 */
EVFUT_API int evfut_task_start_at(struct evfut_runtime *rt,
                                  struct evfut_task *task,
                                  struct evfut_future *future,
                                  evfut_task_release_fn release,
                                  const char *where);

/** evfut_task_start_at() recording the caller's source location. */
#define evfut_task_start(rt, task, future, release)                            \
	evfut_task_start_at((rt), (task), (future), (release), EVFUT_HERE)

#ifdef __cplusplus
}
#endif

#endif /* EVFUT_TASK_H */
