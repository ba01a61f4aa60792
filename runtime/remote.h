/*
 * Private: the remote queue, through which threads other than the
 * runtime's own schedule tasks. A push onto an empty queue signals the loop
 * through the wake-up descriptor: at most one signal per empty-to-non-empty
 * transition. The lock also guards the runtime's end of life, so that a
 * thread waking a task never touches a runtime that is gone.
 */
#ifndef EVFUT_RUNTIME_REMOTE_H
#define EVFUT_RUNTIME_REMOTE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "queue.h"
#include "wakeup.h"

struct evfut__remote {
	pthread_mutex_t lock;
	struct evfut__queue queue; /* head also read without the lock */
	struct evfut__wakeup wakeup;
	bool stopped;    /* being destroyed: push nothing */
	bool closed;     /* destroyed: the last release frees it */
	uint64_t pushes; /* the counters below are under the lock */
	uint64_t signals;
	uint64_t freed; /* tasks released off the runtime's thread */
};

int evfut__remote_init(struct evfut__remote *remote);
void evfut__remote_push(struct evfut__remote *remote, struct evfut_task *task);
/* Moves the remote queue to @to; @traced: mark each task for the trace. */
void evfut__remote_take(struct evfut__remote *remote, struct evfut__queue *to,
                        bool traced);

static inline bool
evfut__remote_pending(struct evfut__remote *remote)
{
	return __atomic_load_n(&remote->queue.head, __ATOMIC_RELAXED) != NULL;
}

#endif
