/*
 * The remote queue: a mutex-protected intrusive FIFO. Remote wakes are the
 * slow path (a thread pool finishing, a host thread) and a mutex keeps the
 * end-of-life handshake with evfut_runtime_destroy() simple.
 */
#include "remote.h"
#include "runtime.h"

int
evfut__remote_init(struct evfut__remote *remote)
{
	int rc = evfut__wakeup_open(&remote->wakeup);

	if (rc < 0)
		return rc;
	rc = -pthread_mutex_init(&remote->lock, NULL);
	if (rc < 0)
		evfut__wakeup_close(&remote->wakeup);
	return rc;
}

void
evfut__remote_push(struct evfut__remote *remote, struct evfut_task *task)
{
	pthread_mutex_lock(&remote->lock);
	if (!remote->stopped) {
		bool was_empty = remote->queue.head == NULL;

		task->next = NULL;
		if (was_empty)
			__atomic_store_n(&remote->queue.head, task,
			                 __ATOMIC_RELAXED);
		else
			remote->queue.tail->next = task;
		remote->queue.tail = task;
		remote->pushes++;
		/* Under the lock, so the fd cannot be closed under us. */
		if (was_empty) {
			evfut__wakeup_signal(&remote->wakeup);
			remote->signals++;
		}
	}
	pthread_mutex_unlock(&remote->lock);
}

void
evfut__remote_take(struct evfut__remote *remote, struct evfut__queue *to,
                   bool traced)
{
	struct evfut__queue taken;

	pthread_mutex_lock(&remote->lock);
	taken = remote->queue;
	__atomic_store_n(&remote->queue.head, NULL, __ATOMIC_RELAXED);
	remote->queue.tail = NULL;
	pthread_mutex_unlock(&remote->lock);
	if (traced) {
		struct evfut_task *task;

		for (task = taken.head; task != NULL; task = task->next)
			task->flags |= EVFUT__TASK_WOKEN_REMOTELY;
	}
	evfut__queue_append(to, &taken);
}
