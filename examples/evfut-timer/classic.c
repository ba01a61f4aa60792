/*
 * The classic example: one task awaits one timer, and the log shows the
 * waker's life as it happens. The task polls the timer through a logging
 * waker that wraps its own waker, so each clone, wake and drop the timer
 * does is seen; the runtime's trace hook adds the spawn, the polls, the
 * wake and the timer firing (trace.c).
 */
#include <errno.h>
#include <string.h>

#include "evfut-timer.h"

struct classic {
	struct evfut_future base;
	struct evfut_future *timer; /* a sleep, or the thread's TimerFuture */
	struct evfut_waker logging; /* wraps the task's waker; empty at first */
	unsigned polls;
	evfut_nsec started;
	int result;
};

/* Makes sure the logging waker wraps the waker of this poll: invariant 2
 * of the design, the latest waker wins. A task's waker does not change
 * between polls, so this creates one logging waker and keeps it. */
static int
refresh_logging_waker(struct classic *c, const struct evfut_waker *task)
{
	if (!evfut_waker_is_empty(&c->logging) &&
	    et_logging_waker_wraps(&c->logging, task))
		return 0;
	evfut_waker_drop(&c->logging);
	return et_logging_waker_create(task, &c->logging);
}

static enum evfut_poll
classic_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct classic *c = evfut_container_of(self, struct classic, base);
	struct evfut_context inner = {&c->logging, cx->runtime};
	char took[32];

	c->polls++;
	c->result = refresh_logging_waker(c, cx->waker);
	if (c->result < 0)
		return EVFUT_READY;
	et_log("task", "poll %u: polls the timer with the logging waker",
	       c->polls);
	if (evfut_future_poll(c->timer, &inner) == EVFUT_PENDING) {
		et_log("task",
		       "poll %u -> Pending: the timer stored a clone of "
		       "the waker",
		       c->polls);
		return EVFUT_PENDING;
	}
	et_duration_format(took, sizeof(took), et_log_elapsed() - c->started);
	et_log("task", "poll %u -> Ready, %s after the start", c->polls, took);
	evfut_waker_drop(&c->logging);
	return EVFUT_READY;
}

static void
print_header(const struct et_options *opts)
{
	char d[32];

	et_duration_format(d, sizeof(d), opts->duration);
	printf(ET_NAME ": one task awaits a %s timer (%s, %s clock)\n", d,
	       opts->kind == ET_THREAD ? "a thread per timer"
	                               : "the runtime's timerfd",
	       opts->virtual_clock ? "virtual" : "monotonic");
}

/* Makes the timer the task awaits: a sleep in @sleep, or a thread. */
static int
make_timer(const struct et_options *opts, struct evfut_sleep *sleep,
           struct et_thread_timer **thread, struct evfut_future **out)
{
	int rc;

	if (opts->kind == ET_THREAD) {
		rc = et_thread_timer_create(thread, opts->duration);
		if (rc == 0)
			*out = et_thread_timer_future(*thread);
		return rc;
	}
	evfut_sleep_init(sleep, opts->duration);
	*out = &sleep->base;
	return 0;
}

int
et_classic_run(const struct et_options *opts, struct evfut_runtime *rt)
{
	struct classic c = {.base = EVFUT_FUTURE_INIT(classic_poll, NULL)};
	struct et_thread_timer *thread = NULL;
	struct evfut_sleep sleep;
	int rc;

	print_header(opts);
	c.started = et_log_elapsed();
	rc = make_timer(opts, &sleep, &thread, &c.timer);
	if (rc == 0)
		rc = evfut_runtime_block_on(rt, &c.base);
	if (rc == 0)
		rc = c.result;
	if (rc == 0 && opts->kind == ET_TIMERFD)
		rc = evfut_sleep_result(&sleep);
	if (c.timer != NULL && opts->kind == ET_TIMERFD)
		evfut_future_drop(c.timer);
	et_log_detach();
	evfut_runtime_destroy(rt);
	et_thread_timer_destroy(thread);
	evfut_waker_drop(&c.logging);
	if (rc < 0) {
		fprintf(stderr, ET_NAME ": %s\n", strerror(-rc));
		return ET_EXIT_FAILURE;
	}
	et_log("main", "done");
	return ET_EXIT_OK;
}
