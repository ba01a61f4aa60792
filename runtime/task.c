/*
 * Tasks: spawning, the task waker, and the state machine that rules out
 * lost wakeups and double scheduling.
 *
 * The state lives where it is used. The runtime's thread keeps a task's
 * scheduling state in plain flags, so a wake and a poll there cost no
 * atomic operation: idle -> scheduled (queued once), running ->
 * running-and-notified (polled once more), complete (nothing). Another
 * thread cannot touch those flags: its wake sets QUEUED with one atomic
 * fetch_or, and whoever sets it first links the task into the remote queue,
 * which holds a reference; the runtime's thread takes the queue, clears
 * QUEUED (the read-modify-write that makes the waker's writes visible to
 * the next poll) and applies the wake to the flags. DONE, set when the task
 * finishes, turns remote wakes into no-ops.
 */
#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "evfut/handle.h"

#include "alloc.h"
#include "runtime.h"

static void task_wake_by_ref(const void *data);
static void task_wake(const void *data);
static void task_drop(const void *data);
static struct evfut_waker task_clone(const void *data);

/* One vtable for every task waker, so that will_wake compares correctly. */
static const struct evfut_waker_vtable task_vtable = {
        task_clone,
        task_wake,
        task_wake_by_ref,
        task_drop,
};

/*
 * A task in caller memory (evfut_task_start, block_on's root) keeps its
 * future and release function in the struct's last fields. A spawned copy
 * is one block from the runtime's pool and stops before them: the future
 * follows the 64-byte header at once, and a joinable task's join waker
 * comes before the header. A task sleeping on a timer is then one block of
 * 128 bytes.
 */
#define TASK_CORE offsetof(struct evfut_task, future)
#define JOIN_SIZE sizeof(struct evfut_waker)
_Static_assert(TASK_CORE % alignof(max_align_t) == 0,
               "a spawned future must start max-aligned after the header");
_Static_assert(JOIN_SIZE % alignof(max_align_t) == 0,
               "the header must stay max-aligned after the join waker");

static bool
external(const struct evfut_task *task)
{
	return task->flags & EVFUT__TASK_EXTERNAL;
}

static struct evfut_future *
task_future(struct evfut_task *task)
{
	return external(task)
	               ? task->future
	               : (struct evfut_future *)((char *)task + TASK_CORE);
}

/* A joinable task's join waker, before its header. */
static struct evfut_waker *
join_waker(struct evfut_task *task)
{
	return (struct evfut_waker *)(void *)((char *)task - JOIN_SIZE);
}

/* Where a spawned copy's memory starts. */
static void *
task_block(struct evfut_task *task)
{
	return task->flags & EVFUT__TASK_JOINABLE ? (void *)join_waker(task)
	                                          : (void *)task;
}

static struct evfut_waker
task_clone(const void *data)
{
	struct evfut_task *task = (struct evfut_task *)data;
	struct evfut_waker waker = {data, &task_vtable};

	__atomic_fetch_add(&task->refs, 1, __ATOMIC_RELAXED);
	return waker;
}

/* A wake on the runtime's thread: plain flags, no atomics. */
static void
wake_local(struct evfut_runtime *rt, struct evfut_task *task)
{
	unsigned remote;

	if (task->flags & (EVFUT__TASK_SCHEDULED | EVFUT__TASK_COMPLETE))
		return;
	if (task->flags & EVFUT__TASK_RUNNING) {
		task->flags |= EVFUT__TASK_NOTIFIED;
		return;
	}
	if (rt->stopped)
		return;
	task->flags |= EVFUT__TASK_SCHEDULED;
	evfut__queue_push(&rt->ready, task);
	remote = task->flags & EVFUT__TASK_WOKEN_REMOTELY;
	if (!remote)
		rt->stats.wakes_local++; /* remote ones count when pushed */
	evfut__kick(rt);
	if (rt->trace != NULL)
		evfut__trace(rt, EVFUT_TRACE_WAKE, task, remote != 0);
}

/* A wake from anywhere else: one fetch_or, and the remote queue once. */
static void
wake_remote(struct evfut_task *task)
{
	unsigned old = __atomic_fetch_or(&task->state, EVFUT__TASK_QUEUED,
	                                 __ATOMIC_ACQ_REL);

	if (old & (EVFUT__TASK_QUEUED | EVFUT__TASK_DONE))
		return;
	__atomic_fetch_add(&task->refs, 1, __ATOMIC_RELAXED);
	if (!evfut__remote_push(&task->runtime->remote, task))
		evfut__task_unref(task); /* the runtime is being destroyed */
}

static void
task_wake_by_ref(const void *data)
{
	struct evfut_task *task = (struct evfut_task *)data;

	if (evfut__current == task->runtime)
		wake_local(task->runtime, task);
	else
		wake_remote(task);
}

/* Applies the remote queue's wakes on the runtime's thread. */
void
evfut__task_take_remote(struct evfut_runtime *rt)
{
	struct evfut_runtime *outer = evfut__current;
	struct evfut_task *task = evfut__remote_take(&rt->remote);
	struct evfut_task *next;

	/* Outside a run (stats, trim), releases are still this thread's. */
	evfut__current = rt;
	for (; task != NULL; task = next) {
		next = task->remote_next;
		__atomic_fetch_and(&task->state, ~EVFUT__TASK_QUEUED,
		                   __ATOMIC_ACQ_REL);
		task->flags |= EVFUT__TASK_WOKEN_REMOTELY;
		wake_local(rt, task);
		task->flags &= ~EVFUT__TASK_WOKEN_REMOTELY;
		evfut__task_unref(task);
	}
	evfut__current = outer;
}

static void
task_wake(const void *data)
{
	task_wake_by_ref(data);
	task_drop(data);
}

/*
 * Frees the task's memory. The runtime outlives every task it allocated:
 * a release off the runtime's thread is counted under the remote lock, and
 * whichever of evfut_runtime_destroy() and the last release comes second
 * frees the runtime.
 */
static void
task_release(struct evfut_task *task)
{
	struct evfut_runtime *rt = task->runtime;
	unsigned cls = task->block;
	void *block = task_block(task);
	bool last;

	if (external(task))
		task->release(task);
	else if (cls == 0)
		evfut__free(block);
	if (evfut__current == rt) {
		if (cls != 0)
			evfut__pool_free(&rt->pool, block, cls);
		rt->freed_local++;
		return;
	}
	pthread_mutex_lock(&rt->remote.lock);
	if (cls != 0)
		evfut__pool_free_remote(&rt->pool, block, cls);
	rt->remote.freed++;
	last = rt->remote.closed && evfut__tasks_released_locked(rt);
	pthread_mutex_unlock(&rt->remote.lock);
	if (last)
		evfut__runtime_free(rt);
}

static void
task_drop(const void *data)
{
	evfut__task_unref((struct evfut_task *)data);
}

void
evfut__task_unref(struct evfut_task *task)
{
	if (__atomic_fetch_sub(&task->refs, 1, __ATOMIC_ACQ_REL) == 1)
		task_release(task);
}

static void
live_link(struct evfut_runtime *rt, struct evfut_task *task)
{
	task->live_prev = NULL;
	task->live_next = rt->live;
	if (rt->live != NULL)
		rt->live->live_prev = task;
	rt->live = task;
}

static void
live_unlink(struct evfut_runtime *rt, struct evfut_task *task)
{
	if (task->live_prev != NULL)
		task->live_prev->live_next = task->live_next;
	else
		rt->live = task->live_next;
	if (task->live_next != NULL)
		task->live_next->live_prev = task->live_prev;
}

/* Makes @task live on @rt and queues its first poll. */
static void
task_launch(struct evfut_runtime *rt, struct evfut_task *task,
            const char *where)
{
	task->state = 0;
	task->flags |= EVFUT__TASK_SCHEDULED;
	task->refs = 1; /* the runtime's, until the task finishes */
	task->holders = 1;
	task->runtime = rt;
	task->where = where != NULL ? where : "unknown";
	task->id = ++rt->next_id;
	live_link(rt, task);
	rt->allocated++;
	rt->stats.tasks_spawned++;
	evfut__queue_push(&rt->ready, task);
	evfut__kick(rt);
	if (rt->trace != NULL)
		evfut__trace(rt, EVFUT_TRACE_SPAWN, task, 0);
}

static void
free_task(struct evfut_task *task)
{
	evfut__free(task);
}

/* Copies @future into a new task, with room for @prefix bytes before its
 * header. */
static int
spawn_copy(struct evfut_runtime *rt, const struct evfut_future *future,
           size_t size, size_t prefix, struct evfut_task **out)
{
	struct evfut_task *task;
	size_t bytes;
	unsigned cls;
	char *block;

	if (rt == NULL || future == NULL || future->poll == NULL ||
	    size < sizeof(*future) || size > SIZE_MAX - TASK_CORE - prefix)
		return -EINVAL;
	bytes = prefix + TASK_CORE + size;
	cls = rt->pooled ? evfut__pool_class(bytes) : 0;
	block = cls != 0 ? evfut__pool_alloc(&rt->pool, cls, &rt->remote.lock)
	                 : evfut__malloc(bytes);
	if (block == NULL)
		return -ENOMEM;
	task = (struct evfut_task *)(void *)(block + prefix);
	memcpy((char *)task + TASK_CORE, future, size);
	task->flags = EVFUT__TASK_OWNS_FUTURE;
	task->block = (uint8_t)cls;
	*out = task;
	return 0;
}

int
evfut_task_spawn_at(struct evfut_runtime *rt, const struct evfut_future *future,
                    size_t size, const char *where)
{
	struct evfut_task *task;
	int rc = spawn_copy(rt, future, size, 0, &task);

	if (rc == 0)
		task_launch(rt, task, where);
	return rc;
}

int
evfut_task_spawn_joinable_at(struct evfut_runtime *rt,
                             const struct evfut_future *future, size_t size,
                             const char *where,
                             struct evfut_join_handle *handle)
{
	struct evfut_waker empty = EVFUT_WAKER_EMPTY;
	struct evfut_task *task;
	int rc;

	if (handle == NULL)
		return -EINVAL;
	rc = spawn_copy(rt, future, size, JOIN_SIZE, &task);
	if (rc < 0)
		return rc;
	task->flags |= EVFUT__TASK_JOINABLE;
	*join_waker(task) = empty;
	task_launch(rt, task, where);
	task->refs++; /* the handle's */
	task->holders++;
	handle->task = task;
	return 0;
}

int
evfut_task_start_at(struct evfut_runtime *rt, struct evfut_task *task,
                    struct evfut_future *future, evfut_task_release_fn release,
                    const char *where)
{
	if (rt == NULL || task == NULL || future == NULL ||
	    future->poll == NULL || release == NULL)
		return -EINVAL;
	task->flags = EVFUT__TASK_OWNS_FUTURE | EVFUT__TASK_EXTERNAL;
	task->block = 0;
	task->future = future;
	task->release = release;
	task_launch(rt, task, where);
	return 0;
}

int
evfut__task_root(struct evfut_runtime *rt, struct evfut_future *future,
                 struct evfut_task **out)
{
	struct evfut_task *task = evfut__malloc(sizeof(*task));

	if (task == NULL)
		return -ENOMEM;
	/* The caller of block_on keeps its future. */
	task->flags = EVFUT__TASK_EXTERNAL;
	task->block = 0;
	task->future = future;
	task->release = free_task;
	task_launch(rt, task, "block_on");
	/* block_on holds a reference of its own to see the completion. */
	task->refs = 2;
	task->holders = 2;
	*out = task;
	return 0;
}

/* Called with the runtime's thread as the only poller of @task. */
static void
task_finish(struct evfut_runtime *rt, struct evfut_task *task)
{
	bool shared;

	task->flags =
	        (task->flags & ~(EVFUT__TASK_RUNNING | EVFUT__TASK_NOTIFIED |
	                         EVFUT__TASK_SCHEDULED)) |
	        EVFUT__TASK_COMPLETE;
	live_unlink(rt, task);
	if (task->flags & EVFUT__TASK_OWNS_FUTURE)
		evfut_future_drop(task_future(task));
	if (task->flags & EVFUT__TASK_JOINABLE)
		evfut_waker_wake(join_waker(task));
	/*
	 * With no reference but the runtime's, no other thread can see the
	 * task: the common case of a task that kept no waker costs no atomic
	 * operation. Otherwise publish DONE before letting go.
	 */
	shared = __atomic_load_n(&task->refs, __ATOMIC_ACQUIRE) > 1;
	if (!shared) {
		task_release(task);
		return;
	}
	__atomic_fetch_or(&task->state, EVFUT__TASK_DONE, __ATOMIC_ACQ_REL);
	evfut__task_unref(task);
}

#ifdef EVFUT_DEBUG_WAKERS
/*
 * A task that returned Pending while no waker of it is alive anywhere and
 * no wake is pending can never be polled again. A pending remote wake
 * holds a reference of the remote queue, taken before the waker's own
 * reference is dropped, so the count alone tells.
 */
static void
check_lost_wakeup(struct evfut_runtime *rt, struct evfut_task *task)
{
	unsigned refs = __atomic_load_n(&task->refs, __ATOMIC_ACQUIRE);

	if (refs > task->holders)
		return;
	rt->stats.lost_wakeups++;
	fprintf(stderr,
	        "evfut: lost wakeup: task %u (spawned at %s) returned Pending "
	        "but kept no waker; it can never be woken\n",
	        (unsigned)task->id, task->where);
}
#else
static void
check_lost_wakeup(struct evfut_runtime *rt, struct evfut_task *task)
{
	(void)rt;
	(void)task;
}
#endif

void
evfut__task_poll(struct evfut_runtime *rt, struct evfut_task *task)
{
	struct evfut_waker waker = {task, &task_vtable};
	struct evfut_context cx = {&waker, rt};
	struct evfut_future *future;
	bool ready;

	if (task->flags & EVFUT__TASK_ABORTED) {
		evfut__task_cancel(rt, task);
		return;
	}
	task->flags =
	        (task->flags & ~EVFUT__TASK_SCHEDULED) | EVFUT__TASK_RUNNING;
	rt->coop = EVFUT_COOP_BUDGET;
	rt->stats.polls++;
	if (rt->trace != NULL)
		evfut__trace(rt, EVFUT_TRACE_POLL_BEGIN, task, 0);
	future = task_future(task);
	ready = future->poll(future, &cx) == EVFUT_READY;
	evfut__timers_flush(&rt->timers);
	if (rt->trace != NULL)
		evfut__trace(rt, EVFUT_TRACE_POLL_END, task, ready);
	if (ready) {
		rt->stats.tasks_completed++;
		task_finish(rt, task);
		return;
	}
	if (task->flags & EVFUT__TASK_ABORTED) {
		/* Aborted by its own poll: finish now, not at the next one. */
		evfut__task_cancel(rt, task);
		return;
	}
	if (!(task->flags & EVFUT__TASK_NOTIFIED)) {
		task->flags &= ~EVFUT__TASK_RUNNING;
		check_lost_wakeup(rt, task);
		return;
	}
	/* Woken while running: poll once more, after the tasks queued now. */
	task->flags &= ~(EVFUT__TASK_RUNNING | EVFUT__TASK_NOTIFIED);
	wake_local(rt, task);
}

void
evfut__task_cancel(struct evfut_runtime *rt, struct evfut_task *task)
{
	task->flags |= EVFUT__TASK_CANCELLED;
	rt->stats.tasks_cancelled++;
	task_finish(rt, task);
}

static bool
finished(const struct evfut_task *task)
{
	return task->flags & EVFUT__TASK_COMPLETE;
}

/* Marks @task aborted and has the executor take it: at once when idle. */
static void
abort_task(struct evfut_task *task)
{
	if (finished(task) || (task->flags & EVFUT__TASK_ABORTED))
		return;
	task->flags |= EVFUT__TASK_ABORTED;
	wake_local(task->runtime, task);
}

void
evfut_task_abort(struct evfut_join_handle *handle)
{
	if (handle != NULL && handle->task != NULL)
		abort_task(handle->task);
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

int
evfut_runtime_shutdown(struct evfut_runtime *rt)
{
	struct evfut_task *task;

	if (rt == NULL)
		return -EINVAL;
	for (task = rt->live; task != NULL; task = task->live_next) {
		if (task->flags & EVFUT__TASK_OWNS_FUTURE)
			abort_task(task);
	}
	return 0;
}

int
evfut_coop_proceed(struct evfut_context *cx)
{
	struct evfut_runtime *rt = cx->runtime;

	if (rt == NULL || evfut__current != rt)
		return 1;
	if (rt->coop > 0) {
		rt->coop--;
		return 1;
	}
	evfut_waker_wake_by_ref(cx->waker);
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
		evfut_waker_store(join_waker(task), cx->waker);
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
		evfut_waker_drop(join_waker(join->handle.task));
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
	return task_future(join->handle.task);
}
