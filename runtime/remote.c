/*
 * The remote queue: a mutex-protected intrusive FIFO. Remote wakes are the
 * slow path (a thread pool finishing, a host thread) and a mutex keeps the
 * end-of-life handshake with evfut_runtime_destroy() simple.
 */
#include "remote.h"

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

bool
evfut__remote_push(struct evfut__remote *remote, struct evfut_task *task)
{
	bool pushed = false;

	pthread_mutex_lock(&remote->lock);
	if (!remote->stopped) {
		bool was_empty = remote->head == NULL;

		task->remote_next = NULL;
		if (was_empty)
			__atomic_store_n(&remote->head, task, __ATOMIC_RELAXED);
		else
			remote->tail->remote_next = task;
		remote->tail = task;
		remote->pushes++;
		pushed = true;
		/* Under the lock, so the fd cannot be closed under us. */
		if (was_empty) {
			evfut__wakeup_signal(&remote->wakeup);
			remote->signals++;
		}
	}
	pthread_mutex_unlock(&remote->lock);
	return pushed;
}

struct evfut_task *
evfut__remote_take(struct evfut__remote *remote)
{
	struct evfut_task *taken;

	pthread_mutex_lock(&remote->lock);
	taken = remote->head;
	__atomic_store_n(&remote->head, NULL, __ATOMIC_RELAXED);
	remote->tail = NULL;
	pthread_mutex_unlock(&remote->lock);
	return taken;
}

struct evfut_task *
evfut__remote_stop(struct evfut__remote *remote)
{
	pthread_mutex_lock(&remote->lock);
	remote->stopped = true;
	pthread_mutex_unlock(&remote->lock);
	return evfut__remote_take(remote);
}
