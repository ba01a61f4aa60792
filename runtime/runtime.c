/*
 * Creating and destroying a runtime, and reading its counters.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "alloc.h"
#include "runtime.h"

/* The wake-up descriptor is readable: some thread pushed remote work. */
static void
on_wakeup(evutil_socket_t fd, short what, void *arg)
{
	struct evfut_runtime *rt = arg;

	(void)fd;
	(void)what;
	evfut__wakeup_consume(&rt->remote.wakeup);
	evfut__task_take_remote(rt);
}

static struct event_base *
new_base(void)
{
	struct event_config *config = event_config_new();
	struct event_base *base;

	if (config == NULL)
		return NULL;
	/* evfut's wakeups come from its own fd; libevent needs no lock. */
	event_config_set_flag(config, EVENT_BASE_FLAG_NOLOCK);
	base = event_base_new_with_config(config);
	event_config_free(config);
	return base;
}

int
evfut_runtime_create(struct evfut_runtime **out,
                     const struct evfut_runtime_options *options)
{
	struct evfut_runtime *rt;
	int rc;

	if (out == NULL)
		return -EINVAL;
	/* A host's loop blocks where the runtime cannot see it: nothing
	 * could tell when every task is idle, to move the clock. */
	if (options != NULL && options->base != NULL &&
	    options->clock == EVFUT_CLOCK_VIRTUAL)
		return -ENOTSUP;
	rt = evfut__calloc(1, sizeof(*rt));
	if (rt == NULL)
		return -ENOMEM;
	rt->budget = options != NULL && options->budget != 0
	                     ? options->budget
	                     : EVFUT_DEFAULT_BUDGET;
	evfut__pool_init(&rt->pool);
	rt->pooled = options == NULL || !options->unpooled_tasks;
	rc = evfut__remote_init(&rt->remote);
	if (rc < 0)
		goto fail_remote;
	rc = -ENOMEM;
	rt->borrowed = options != NULL && options->base != NULL;
	rt->base = rt->borrowed ? options->base : new_base();
	if (rt->base == NULL)
		goto fail_base;
	if (rt->borrowed && evfut__drain_init(rt) < 0)
		goto fail_drain;
	rt->wakeup_event = event_new(rt->base, rt->remote.wakeup.read_fd,
	                             EV_READ | EV_PERSIST, on_wakeup, rt);
	if (rt->wakeup_event == NULL)
		goto fail_event;
	if (event_add(rt->wakeup_event, NULL) < 0)
		goto fail_add;
	rc = evfut__timers_init(&rt->timers, rt,
	                        options != NULL ? options->clock
	                                        : EVFUT_CLOCK_MONOTONIC);
	if (rc < 0)
		goto fail_add;
	*out = rt;
	return 0;

fail_add:
	event_free(rt->wakeup_event);
fail_event:
	if (rt->drain_event != NULL)
		event_free(rt->drain_event);
fail_drain:
	if (!rt->borrowed)
		event_base_free(rt->base);
fail_base:
	pthread_mutex_destroy(&rt->remote.lock);
	evfut__wakeup_close(&rt->remote.wakeup);
fail_remote:
	evfut__free(rt);
	return rc;
}

void
evfut__runtime_free(struct evfut_runtime *rt)
{
	pthread_mutex_destroy(&rt->remote.lock);
	evfut__pool_finish(&rt->pool);
	evfut__free(rt);
}

void
evfut_runtime_destroy(struct evfut_runtime *rt)
{
	struct evfut_runtime *outer = evfut__current;
	struct evfut_task *queued;
	struct evfut_task *next;
	bool last;

	if (rt == NULL)
		return;
	/*
	 * Queue nothing from now on: a drop function may wake a task that is
	 * cancelled or freed already, and another thread may be waking one.
	 */
	queued = evfut__remote_stop(&rt->remote);
	rt->stopped = true;
	/* Releases during the cancellation below are on this thread. */
	evfut__current = rt;
	evfut__task_clear_ready(rt);
	while (rt->live != NULL)
		evfut__task_cancel(rt, rt->live);
	/* The remote queue's references, now that nothing polls. */
	for (; queued != NULL; queued = next) {
		next = queued->remote_next;
		evfut__task_unref(queued);
	}
	evfut__task_settle(rt);
	evfut__current = outer;
	/* The tasks' jobs are dropped: this only waits for work running. */
	evfut__runtime_pool_finish(rt);
	evfut__timers_finish(&rt->timers);
	event_free(rt->wakeup_event);
	if (rt->borrowed)
		event_free(rt->drain_event);
	else
		event_base_free(rt->base);
	pthread_mutex_lock(&rt->remote.lock);
	rt->remote.closed = true;
	evfut__wakeup_close(&rt->remote.wakeup);
	last = evfut__tasks_released_locked(rt);
	pthread_mutex_unlock(&rt->remote.lock);
	if (last)
		evfut__runtime_free(rt);
}

struct event_base *
evfut_runtime_event_base(struct evfut_runtime *rt)
{
	return rt != NULL ? rt->base : NULL;
}

int
evfut_runtime_stats(struct evfut_runtime *rt, struct evfut_stats *out)
{
	uint64_t freed_remote;

	if (rt == NULL || out == NULL)
		return -EINVAL;
	evfut__task_take_remote(rt); /* and settles: see task.c */
	*out = rt->stats;
	pthread_mutex_lock(&rt->remote.lock);
	out->wakes_remote = rt->remote.pushes;
	out->remote_signals = rt->remote.signals;
	freed_remote = rt->remote.freed;
	pthread_mutex_unlock(&rt->remote.lock);
	out->timers_fired = rt->timers.fired;
	out->timer_arms = rt->timers.arms;
	out->tasks_live = out->tasks_spawned - out->tasks_completed -
	                  out->tasks_cancelled;
	out->tasks_held = rt->allocated - rt->freed_local - freed_remote;
	out->pool_bytes = rt->pool.bytes;
	return 0;
}

int
evfut_runtime_set_trace(struct evfut_runtime *rt, evfut_trace_fn fn, void *arg)
{
	if (rt == NULL)
		return -EINVAL;
	rt->trace = fn;
	rt->trace_arg = arg;
	rt->timers.trace = fn;
	rt->timers.trace_arg = arg;
	return 0;
}

void
evfut__trace(struct evfut_runtime *rt, enum evfut_trace_event event,
             struct evfut_task *task, int flag)
{
	struct evfut_trace_record record = {
	        event,    evfut__clock_ns(CLOCK_MONOTONIC),
	        task->id, task->where,
	        0,        0,
	        0,        0};

	if (event == EVFUT_TRACE_POLL_END)
		record.ready = flag;
	else if (event == EVFUT_TRACE_WAKE)
		record.remote = flag;
	rt->trace(&record, rt->trace_arg);
}

/*
 * A hold counts as a task held, so that the runtime outlives it: a future
 * polled by hand may be dropped after evfut_runtime_destroy(), and the
 * last release then frees the runtime, as a task's last release does.
 */
void
evfut__runtime_hold(struct evfut_runtime *rt)
{
	if (rt == NULL)
		return;
	rt->holds++;
	rt->allocated++;
}

void
evfut__runtime_release(struct evfut_runtime *rt)
{
	bool last;

	if (rt == NULL)
		return;
	if (evfut__current == rt) {
		rt->holds--;
		rt->freed_local++;
		return;
	}
	pthread_mutex_lock(&rt->remote.lock);
	rt->holds--;
	rt->remote.freed++;
	last = rt->remote.closed && evfut__tasks_released_locked(rt);
	pthread_mutex_unlock(&rt->remote.lock);
	if (last)
		evfut__runtime_free(rt);
}

int
evfut_runtime_trim(struct evfut_runtime *rt)
{
	bool idle;

	if (rt == NULL)
		return -EINVAL;
	evfut__task_take_remote(rt); /* and settles: see task.c */
	/* With no task held, no thread can release a block meanwhile. */
	pthread_mutex_lock(&rt->remote.lock);
	idle = evfut__tasks_released_locked(rt);
	pthread_mutex_unlock(&rt->remote.lock);
	if (!idle)
		return -EBUSY;
	evfut__pool_finish(&rt->pool);
	return 0;
}
