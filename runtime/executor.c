/*
 * The executor: drain the ready queue with a budget, then run libevent
 * once, non-blocking if work is ready and blocking otherwise.
 */
#include <errno.h>

#include <event2/event.h>

#include "runtime.h"

_Thread_local struct evfut_runtime *evfut__current EVFUT__TLS;

/*
 * Tasks woken together (timers firing by the thousand) are cold by the time
 * the queue reaches them: fetch the next one's header and the start of its
 * future while this one is polled.
 */
static inline void
prefetch_task(const struct evfut_task *task)
{
#if defined(__GNUC__)
	if (task != NULL) {
		__builtin_prefetch(task);
		__builtin_prefetch((const char *)task + 64);
	}
#else
	(void)task;
#endif
}

/* Polls at most a budget of ready tasks, so that I/O is never starved. */
void
evfut__drain(struct evfut_runtime *rt)
{
	struct evfut_task *task;
	unsigned n;

	if (evfut__remote_pending(&rt->remote))
		evfut__task_take_remote(rt);
	for (n = 0; n < rt->budget; n++) {
		task = evfut__queue_pop(&rt->ready);
		if (task == NULL)
			break;
		prefetch_task(rt->ready.head);
		evfut__task_poll(rt, task);
	}
}

static bool
work_ready(struct evfut_runtime *rt)
{
	return !evfut__queue_empty(&rt->ready) ||
	       evfut__remote_pending(&rt->remote);
}

/*
 * On the virtual clock, time stands still while anything can run: the
 * loop first polls I/O without blocking, and only when that made nothing
 * ready does the clock jump to the next deadline.
 */
static bool
advance_virtual_clock(struct evfut_runtime *rt)
{
	uint64_t next;

	if (!rt->timers.virtual_clock || work_ready(rt) || rt->holds > 0)
		return false;
	rt->stats.loop_iterations++;
	/* A failing loop is left to the blocking call, which reports it. */
	if (event_base_loop(rt->base, EVLOOP_ONCE | EVLOOP_NONBLOCK) < 0)
		return false;
	if (work_ready(rt))
		return true;
	next = evfut__timers_next(&rt->timers);
	if (next == UINT64_MAX)
		return false;
	evfut__timers_fire(&rt->timers, next);
	return true;
}

static int
loop_once(struct evfut_runtime *rt)
{
	int flags = EVLOOP_ONCE;

	/* Sleeps polled outside a task's poll (by hand, from a callback). */
	evfut__timers_flush(&rt->timers);
	/* No finished task stays held by a debt while the loop blocks. */
	evfut__task_settle(rt);
	if (advance_virtual_clock(rt))
		return 0;
	if (work_ready(rt))
		flags |= EVLOOP_NONBLOCK;
	rt->stats.loop_iterations++;
	return event_base_loop(rt->base, flags) < 0 ? -EIO : 0;
}

static int
enter(struct evfut_runtime *rt, struct evfut_runtime **outer)
{
	if (rt->running)
		return -EDEADLK;
	rt->running = true;
	*outer = evfut__current;
	evfut__current = rt;
	return 0;
}

/*
 * A wake from another thread that landed during a task's last poll leaves
 * the finished task in the remote queue, which holds a reference: take it
 * before returning, so that a run that returns holds no finished task.
 */
static void
leave(struct evfut_runtime *rt, struct evfut_runtime *outer)
{
	evfut__task_settle(rt);
	evfut__task_take_remote(rt);
	rt->running = false;
	evfut__current = outer;
}

int
evfut_runtime_run(struct evfut_runtime *rt)
{
	struct evfut_runtime *outer;
	int rc;

	if (rt == NULL || rt->borrowed)
		return -EINVAL;
	rc = enter(rt, &outer);
	if (rc < 0)
		return rc;
	for (;;) {
		evfut__drain(rt);
		if (rt->live == NULL)
			break;
		rc = loop_once(rt);
		if (rc < 0)
			break;
	}
	leave(rt, outer);
	return rc;
}

static bool
complete(struct evfut_task *task)
{
	return task->flags & EVFUT__TASK_COMPLETE;
}

/* Runs the loop until @root completes or libevent fails. */
static int
drive(struct evfut_runtime *rt, struct evfut_task *root)
{
	int rc = 0;

	while (rc == 0) {
		evfut__drain(rt);
		if (complete(root))
			break;
		rc = loop_once(rt);
	}
	return rc;
}

int
evfut_runtime_block_on(struct evfut_runtime *rt, struct evfut_future *future)
{
	struct evfut_runtime *outer;
	struct evfut_task *root;
	int rc;

	if (rt == NULL || future == NULL || future->poll == NULL ||
	    rt->borrowed)
		return -EINVAL;
	rc = enter(rt, &outer);
	if (rc < 0)
		return rc;
	rc = evfut__task_root(rt, future, &root);
	if (rc == 0) {
		rc = drive(rt, root);
		if (!complete(root)) {
			/* Nothing may poll the caller's future now. */
			evfut__queue_remove(&rt->ready, root);
			evfut__task_cancel(rt, root);
		}
		evfut__task_unref(root);
	}
	leave(rt, outer);
	return rc;
}

/*
 * Borrowed base: the host's loop runs this event. When the budget runs out
 * with work left, the drain continues from a zero timeout, which libevent
 * runs after its next poll for I/O: re-activating the event here would run
 * it again in the same pass and starve the host's I/O.
 */
static void
on_drain(evutil_socket_t fd, short what, void *arg)
{
	static const struct timeval zero = {0, 0};
	struct evfut_runtime *rt = arg;
	struct evfut_runtime *outer = evfut__current;

	(void)fd;
	(void)what;
	evfut__current = rt;
	rt->draining = true;
	rt->stats.loop_iterations++;
	evfut__drain(rt);
	evfut__timers_flush(&rt->timers);
	evfut__task_settle(rt);
	rt->draining = false;
	evfut__current = outer;
	if (work_ready(rt))
		event_add(rt->drain_event, &zero);
}

int
evfut__drain_init(struct evfut_runtime *rt)
{
	rt->drain_event = event_new(rt->base, -1, 0, on_drain, rt);
	return rt->drain_event != NULL ? 0 : -ENOMEM;
}

void
evfut__drain_later(struct evfut_runtime *rt)
{
	if (!event_pending(rt->drain_event, EV_TIMEOUT, NULL))
		event_active(rt->drain_event, EV_TIMEOUT, 1);
}
