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
static void task_release(struct evfut_task *task);

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
 * comes before the header (and a task set's links before that). A task
 * sleeping on a timer is then one block of 128 bytes.
 */
#define TASK_CORE offsetof(struct evfut_task, future)
#define JOIN_SIZE sizeof(struct evfut_waker)
#define SET_SIZE  sizeof(struct evfut__set_link)
_Static_assert(TASK_CORE % alignof(max_align_t) == 0,
               "a spawned future must start max-aligned after the header");
_Static_assert(JOIN_SIZE % alignof(max_align_t) == 0 &&
                       SET_SIZE % alignof(max_align_t) == 0,
               "the header must stay max-aligned after the prefix");

static bool
external(const struct evfut_task *task)
{
	return task->flags & EVFUT__TASK_EXTERNAL;
}

struct evfut_future *
evfut__task_future(struct evfut_task *task)
{
	return external(task)
	               ? task->future
	               : (struct evfut_future *)((char *)task + TASK_CORE);
}

struct evfut_waker *
evfut__task_join_waker(struct evfut_task *task)
{
	return (struct evfut_waker *)(void *)((char *)task - JOIN_SIZE);
}

struct evfut__set_link *
evfut__task_set_link(struct evfut_task *task)
{
	return (struct evfut__set_link *)(void *)((char *)task - SET_SIZE);
}

/* The bytes before the header of a spawned copy. */
static size_t
prefix_size(unsigned flags)
{
	if (flags & EVFUT__TASK_IN_SET)
		return SET_SIZE;
	return flags & EVFUT__TASK_JOINABLE ? JOIN_SIZE : 0;
}

/* Where a spawned copy's memory starts; an over-aligned one keeps the
 * allocator's pointer in the word before. */
static void *
task_block(struct evfut_task *task)
{
	char *block = (char *)task - prefix_size(task->flags);

	if (task->flags & EVFUT__TASK_ALIGNED)
		return ((void **)(void *)block)[-1];
	return block;
}

/*
 * A waker dropped on the runtime's thread does not decrement the count at
 * once: the runtime keeps a debt of such drops for one task, and a clone
 * of that task's waker on the same thread pays it back, so the common
 * pattern of a timer dropped and another armed by the same task (a
 * per-request timeout) costs no atomic operation. The count only ever
 * overstates the references meanwhile, so nothing is freed early; the
 * debt is settled after each poll and before anything reads the count.
 */
static void
settle(struct evfut_runtime *rt)
{
	struct evfut_task *task = rt->debt_task;
	unsigned n = rt->debt;

	rt->debt = 0;
	rt->debt_task = NULL;
	if (__atomic_fetch_sub(&task->refs, n, __ATOMIC_ACQ_REL) == n)
		task_release(task);
}

void
evfut__task_settle(struct evfut_runtime *rt)
{
	if (rt->debt != 0)
		settle(rt);
}

static struct evfut_waker
task_clone(const void *data)
{
	struct evfut_task *task = (struct evfut_task *)data;
	struct evfut_runtime *rt = task->runtime;
	struct evfut_waker waker = {data, &task_vtable};

	if (evfut__current == rt && rt->debt_task == task && rt->debt != 0)
		rt->debt--;
	else
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

/*
 * A wake (or, with ABORT, an abort) from anywhere else: one fetch_or, and
 * the remote queue once.
 */
void
evfut__task_wake_remote(struct evfut_task *task, unsigned bits)
{
	unsigned old = __atomic_fetch_or(
	        &task->state, EVFUT__TASK_QUEUED | bits, __ATOMIC_ACQ_REL);

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
		evfut__task_wake_remote(task, 0);
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
	evfut__task_settle(rt);
	for (; task != NULL; task = next) {
		unsigned old;

		/* Once QUEUED is clear, another thread may link it again. */
		next = task->remote_next;
		old = __atomic_fetch_and(
		        &task->state, ~(EVFUT__TASK_QUEUED | EVFUT__TASK_ABORT),
		        __ATOMIC_ACQ_REL);
		if (old & EVFUT__TASK_ABORT)
			evfut__task_abort(task);
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
	struct evfut_task *task = (struct evfut_task *)data;
	struct evfut_runtime *rt = task->runtime;

	if (evfut__current != rt) {
		evfut__task_unref(task);
		return;
	}
	if (rt->debt_task != task) {
		evfut__task_settle(rt);
		rt->debt_task = task;
	}
	rt->debt++;
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
void
evfut__task_launch(struct evfut_runtime *rt, struct evfut_task *task,
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

/*
 * A block whose future starts @align-aligned (a power of two above the
 * allocator's max_align_t): the allocator's pointer goes in the word
 * before the prefix.
 */
static char *
alloc_aligned(size_t prefix, size_t bytes, size_t align)
{
	char *raw = evfut__malloc(bytes + align + sizeof(void *));
	uintptr_t future;
	char *block;

	if (raw == NULL)
		return NULL;
	future = (uintptr_t)(raw + sizeof(void *) + prefix + TASK_CORE);
	future = (future + align - 1) & ~(uintptr_t)(align - 1);
	block = (char *)future - TASK_CORE - prefix;
	((void **)(void *)block)[-1] = raw;
	return block;
}

int
evfut__task_spawn_copy(struct evfut_runtime *rt,
                       const struct evfut_future *future, size_t size,
                       size_t align, unsigned flags, struct evfut_task **out)
{
	size_t prefix = prefix_size(flags);
	struct evfut_task *task;
	size_t bytes;
	unsigned cls;
	char *block;

	if (rt == NULL || future == NULL || future->poll == NULL ||
	    size < sizeof(*future) || size > SIZE_MAX / 2 ||
	    align > EVFUT_TASK_MAX_ALIGN || (align & (align - 1)) != 0)
		return -EINVAL;
	bytes = prefix + TASK_CORE + size;
	if (align > alignof(max_align_t)) {
		flags |= EVFUT__TASK_ALIGNED;
		cls = 0;
		block = alloc_aligned(prefix, bytes, align);
	} else {
		cls = rt->pooled ? evfut__pool_class(bytes) : 0;
		block = cls != 0 ? evfut__pool_alloc(&rt->pool, cls,
		                                     &rt->remote.lock)
		                 : evfut__malloc(bytes);
	}
	if (block == NULL)
		return -ENOMEM;
	task = (struct evfut_task *)(void *)(block + prefix);
	memcpy((char *)task + TASK_CORE, future, size);
	task->flags = (uint16_t)(EVFUT__TASK_OWNS_FUTURE | flags);
	task->block = (uint8_t)cls;
	*out = task;
	return 0;
}

int
evfut_task_spawn_at(struct evfut_runtime *rt, const struct evfut_future *future,
                    size_t size, const char *where)
{
	struct evfut_task *task;
	int rc = evfut__task_spawn_copy(rt, future, size, 0, 0, &task);

	if (rc == 0)
		evfut__task_launch(rt, task, where);
	return rc;
}

/* Launches @task with a join handle, which holds a reference. */
static void
launch_joinable(struct evfut_runtime *rt, struct evfut_task *task,
                const char *where, struct evfut_join_handle *handle)
{
	struct evfut_waker empty = EVFUT_WAKER_EMPTY;

	*evfut__task_join_waker(task) = empty;
	evfut__task_launch(rt, task, where);
	task->refs++; /* the handle's */
	task->holders++;
	handle->task = task;
}

int
evfut_task_spawn_joinable_at(struct evfut_runtime *rt,
                             const struct evfut_future *future, size_t size,
                             const char *where,
                             struct evfut_join_handle *handle)
{
	if (handle == NULL)
		return -EINVAL;
	return evfut_task_spawn_aligned_at(rt, future, size, 0, where, handle);
}

int
evfut_task_spawn_aligned_at(struct evfut_runtime *rt,
                            const struct evfut_future *future, size_t size,
                            size_t align, const char *where,
                            struct evfut_join_handle *handle)
{
	struct evfut_task *task;
	int rc;

	rc = evfut__task_spawn_copy(rt, future, size, align,
	                            handle != NULL ? EVFUT__TASK_JOINABLE : 0,
	                            &task);
	if (rc < 0)
		return rc;
	if (handle != NULL)
		launch_joinable(rt, task, where, handle);
	else
		evfut__task_launch(rt, task, where);
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
	evfut__task_launch(rt, task, where);
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
	evfut__task_launch(rt, task, "block_on");
	/* block_on holds a reference of its own to see the completion. */
	task->refs = 2;
	task->holders = 2;
	*out = task;
	return 0;
}

/*
 * Finishes @task's future: dropped if the task owns it, the join woken.
 * The runtime's reference stays, for the caller to let go of.
 */
static void
finish_future(struct evfut_runtime *rt, struct evfut_task *task)
{
	task->flags =
	        (task->flags & ~(EVFUT__TASK_RUNNING | EVFUT__TASK_NOTIFIED |
	                         EVFUT__TASK_SCHEDULED)) |
	        EVFUT__TASK_COMPLETE;
	live_unlink(rt, task);
	if (task->flags & EVFUT__TASK_OWNS_FUTURE)
		evfut_future_drop(evfut__task_future(task));
	/*
	 * With no reference but the runtime's, no other thread can see the
	 * task: the common case of a task that kept no waker costs no atomic
	 * operation. Otherwise publish DONE, for remote wakes and aborts.
	 */
	if (__atomic_load_n(&task->refs, __ATOMIC_ACQUIRE) > 1)
		__atomic_fetch_or(&task->state, EVFUT__TASK_DONE,
		                  __ATOMIC_ACQ_REL);
	if (task->flags & EVFUT__TASK_IN_SET)
		evfut__join_set_finished(task);
	else if (task->flags & EVFUT__TASK_JOINABLE)
		evfut_waker_wake(evfut__task_join_waker(task));
}

/* Lets go of the runtime's reference to a finished task. */
static void
drop_runtime_ref(struct evfut_task *task)
{
	if (__atomic_load_n(&task->refs, __ATOMIC_ACQUIRE) == 1)
		task_release(task);
	else
		evfut__task_unref(task);
}

/* Called with the runtime's thread as the only poller of @task. */
static void
task_finish(struct evfut_runtime *rt, struct evfut_task *task)
{
	finish_future(rt, task);
	drop_runtime_ref(task);
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

	if (task->flags & EVFUT__TASK_COMPLETE) {
		/* Aborted while queued: its future is gone already. */
		drop_runtime_ref(task);
		return;
	}
	task->flags =
	        (task->flags & ~EVFUT__TASK_SCHEDULED) | EVFUT__TASK_RUNNING;
	rt->coop = EVFUT_COOP_BUDGET;
	rt->stats.polls++;
	if (rt->trace != NULL)
		evfut__trace(rt, EVFUT_TRACE_POLL_BEGIN, task, 0);
	future = evfut__task_future(task);
	ready = future->poll(future, &cx) == EVFUT_READY;
	evfut__timers_flush(&rt->timers);
	evfut__task_settle(rt);
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

/*
 * Aborts @task on the runtime's thread: an idle or queued task's future is
 * dropped at once (a queued one stays queued, holding the runtime's
 * reference, until the executor reaches it); a running one's after its
 * poll.
 */
void
evfut__task_abort(struct evfut_task *task)
{
	struct evfut_runtime *rt = task->runtime;

	if (task->flags & (EVFUT__TASK_COMPLETE | EVFUT__TASK_ABORTED))
		return;
	task->flags |= EVFUT__TASK_ABORTED;
	if (task->flags & EVFUT__TASK_RUNNING)
		return;
	task->flags |= EVFUT__TASK_CANCELLED;
	rt->stats.tasks_cancelled++;
	if (task->flags & EVFUT__TASK_SCHEDULED)
		finish_future(rt, task);
	else
		task_finish(rt, task);
}

/* Lets go of the ready queue: a finished task in it holds a reference. */
void
evfut__task_clear_ready(struct evfut_runtime *rt)
{
	struct evfut_task *task;

	while ((task = evfut__queue_pop(&rt->ready)) != NULL) {
		task->flags &= ~EVFUT__TASK_SCHEDULED;
		if (task->flags & EVFUT__TASK_COMPLETE)
			drop_runtime_ref(task);
	}
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
