/*
 * Join handles, abort handles and shutdown: the ways a task's owner waits
 * for it or stops it. A join handle and an abort handle are each a counted
 * reference to the task, so its memory (and its future's results) outlive
 * its end until they are given up.
 */
#include <errno.h>
#include <stdbool.h>

#include "evfut/handle.h"

#include "runtime.h"

static bool
finished(const struct evfut_task *task)
{
	return task->flags & EVFUT__TASK_COMPLETE;
}

void
evfut_task_abort(struct evfut_join_handle *handle)
{
	if (handle != NULL && handle->task != NULL)
		evfut__task_abort(handle->task);
}

void
evfut_task_detach(struct evfut_join_handle *handle)
{
	struct evfut_task *task;

	if (handle == NULL || handle->task == NULL)
		return;
	task = handle->task;
	handle->task = NULL;
	task->holders--;
	evfut__task_unref(task);
}

int
evfut_task_finished(const struct evfut_join_handle *handle)
{
	return handle != NULL && handle->task != NULL && finished(handle->task);
}

static int
abort_handle_of(struct evfut_task *task, struct evfut_abort_handle *out)
{
	if (task == NULL || out == NULL)
		return -EINVAL;
	__atomic_fetch_add(&task->refs, 1, __ATOMIC_RELAXED);
	out->task = task;
	return 0;
}

int
evfut_task_abort_handle(const struct evfut_join_handle *handle,
                        struct evfut_abort_handle *out)
{
	return abort_handle_of(handle != NULL ? handle->task : NULL, out);
}

int
evfut_task_join_abort_handle(const struct evfut_task_join *join,
                             struct evfut_abort_handle *out)
{
	return abort_handle_of(join != NULL ? join->handle.task : NULL, out);
}

/* On another thread, the abort goes through the remote queue. */
void
evfut_abort_handle_abort(const struct evfut_abort_handle *handle)
{
	struct evfut_task *task;

	if (handle == NULL || handle->task == NULL)
		return;
	task = handle->task;
	if (evfut__current == task->runtime)
		evfut__task_abort(task);
	else
		evfut__task_wake_remote(task, EVFUT__TASK_ABORT);
}

int
evfut_abort_handle_finished(const struct evfut_abort_handle *handle)
{
	if (handle == NULL || handle->task == NULL)
		return 0;
	/* The handle's reference makes the task shared: DONE is published. */
	return (__atomic_load_n(&handle->task->state, __ATOMIC_ACQUIRE) &
	        EVFUT__TASK_DONE) != 0;
}

void
evfut_abort_handle_drop(struct evfut_abort_handle *handle)
{
	if (handle == NULL || handle->task == NULL)
		return;
	evfut__task_unref(handle->task);
	handle->task = NULL;
}

int
evfut_runtime_shutdown(struct evfut_runtime *rt)
{
	struct evfut_task *task;

	if (rt == NULL)
		return -EINVAL;
	/* An abort unlinks the task, and its drop may finish others. */
	do {
		for (task = rt->live; task != NULL; task = task->live_next) {
			if ((task->flags & EVFUT__TASK_OWNS_FUTURE) &&
			    !(task->flags & EVFUT__TASK_ABORTED))
				break;
		}
		if (task != NULL)
			evfut__task_abort(task);
	} while (task != NULL);
	return 0;
}

static enum evfut_poll
join_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_task_join *join =
	        evfut_container_of(self, struct evfut_task_join, base);
	struct evfut_task *task = join->handle.task;

	if (task == NULL) {
		join->result = -EINVAL;
		return EVFUT_READY;
	}
	if (!finished(task)) {
		evfut_waker_store(evfut__task_join_waker(task), cx->waker);
		return EVFUT_PENDING;
	}
	join->result = task->flags & EVFUT__TASK_CANCELLED ? -ECANCELED : 0;
	return EVFUT_READY;
}

static void
join_drop(struct evfut_future *self)
{
	struct evfut_task_join *join =
	        evfut_container_of(self, struct evfut_task_join, base);

	if (join->handle.task != NULL && !finished(join->handle.task))
		evfut_waker_drop(evfut__task_join_waker(join->handle.task));
	evfut_task_detach(&join->handle);
}

void
evfut_task_join_init(struct evfut_task_join *join,
                     struct evfut_join_handle *handle)
{
	join->base.poll = join_poll;
	join->base.drop = join_drop;
	join->result = 0;
	join->handle.task = handle != NULL ? handle->task : NULL;
	if (handle != NULL)
		handle->task = NULL;
}

const struct evfut_future *
evfut_task_join_output(const struct evfut_task_join *join)
{
	if (join == NULL || join->handle.task == NULL)
		return NULL;
	return evfut__task_future(join->handle.task);
}
