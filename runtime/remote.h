/*
 * Private: the remote queue, through which threads other than the
 * runtime's own schedule tasks. It links tasks through remote_next, since a
 * task queued locally may be woken remotely too, and it holds a reference
 * to each task it links. A push onto an empty queue signals the loop
 * through the wake-up descriptor: at most one signal per empty-to-non-empty
 * transition. The lock also guards the runtime's end of life, so that a
 * thread waking a task never touches a runtime that is gone.
 */
#ifndef EVFUT_RUNTIME_REMOTE_H
#define EVFUT_RUNTIME_REMOTE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "evfut/task.h"

#include "wakeup.h"

struct evfut__remote {
	pthread_mutex_t lock;
	struct evfut_task *head; /* also read without the lock */
	struct evfut_task *tail;
	struct evfut__wakeup wakeup;
	bool stopped;    /* being destroyed: push nothing */
	bool closed;     /* destroyed: the last release frees it */
	uint64_t pushes; /* the counters below are under the lock */
	uint64_t signals;
	uint64_t freed; /* tasks released off the runtime's thread */
};

int evfut__remote_init(struct evfut__remote *remote);
/* Links @task, whose reference the queue takes; false: stopped, not. */
bool evfut__remote_push(struct evfut__remote *remote, struct evfut_task *task);
/* Unlinks every task, in order: the caller owns their references. */
struct evfut_task *evfut__remote_take(struct evfut__remote *remote);
/* Refuses every push from now on, then takes what was queued. */
struct evfut_task *evfut__remote_stop(struct evfut__remote *remote);

static inline bool
evfut__remote_pending(struct evfut__remote *remote)
{
	return __atomic_load_n(&remote->head, __ATOMIC_RELAXED) != NULL;
}

#endif
