/*
 * A registration's deadline, on one lazy timer.
 *
 * An idle timeout is refreshed at every read, so moving the deadline later
 * must cost no timer re-insert: the timer (an evfut_sleep inside the
 * registration) only ever moves earlier, and when it fires before the
 * current deadline it is re-armed once, at it. The sleep is polled with a
 * waker of the registration's own, not a task's: when it fires, the
 * driver's wake lands in on_timer(), which wakes the registration's
 * waiters; they see the deadline at their next poll.
 *
 * That waker is a plain pointer to the registration, counted by nobody:
 * the registration outlives its timer, since deregistering disarms it.
 */
#include <errno.h>

#include "evfut/io.h"

#include "io-queue.h"
#include "runtime.h"

static void on_timer(const void *data);
static struct evfut_waker timer_clone(const void *data);

static void
timer_drop(const void *data)
{
	(void)data;
}

static const struct evfut_waker_vtable timer_vtable = {
        timer_clone,
        on_timer,
        on_timer,
        timer_drop,
};

static struct evfut_waker
timer_clone(const void *data)
{
	struct evfut_waker waker = {data, &timer_vtable};

	return waker;
}

static evfut_nsec
seen(const struct evfut_io *io)
{
	return evfut__timers_seen(&io->runtime->timers);
}

static void
disarm(struct evfut_io *io)
{
	if (io->timer_at == EVFUT_NO_DEADLINE)
		return;
	evfut_future_drop(&io->timer.base);
	io->timer_at = EVFUT_NO_DEADLINE;
}

/* Arms the timer at @at, later than the latest clock reading: 0 or
 * -ENOMEM (the timer is then not armed). */
static int
arm(struct evfut_io *io, evfut_nsec at)
{
	struct evfut_waker waker = timer_clone(io);
	struct evfut_context cx = {&waker, io->runtime};

	disarm(io);
	evfut_sleep_until_init(&io->timer, at);
	if (evfut_future_poll(&io->timer.base, &cx) == EVFUT_READY)
		return evfut_sleep_result(&io->timer);
	io->timer_at = at;
	return 0;
}

/* The timer fired: at the deadline, or before one that moved later. */
static void
on_timer(const void *data)
{
	struct evfut_io *io = (struct evfut_io *)(uintptr_t)data;

	io->timer_at = EVFUT_NO_DEADLINE; /* fired: the sleep holds nothing */
	if (io->deadline == EVFUT_NO_DEADLINE)
		return;
	/* Re-armed at a later deadline, or woken to fail their polls (with
	 * -ENOMEM if even the re-arm failed, see evfut__io_deadline_slow). */
	if (io->deadline <= seen(io) || arm(io, io->deadline) < 0)
		evfut__io_wake_all(io);
}

int
evfut__io_deadline_slow(struct evfut_io *io)
{
	if (io->deadline <= seen(io))
		return -ETIMEDOUT;
	if (io->timer_at == EVFUT_NO_DEADLINE)
		return arm(io, io->deadline);
	return 0;
}

void
evfut__io_deadline_finish(struct evfut_io *io)
{
	disarm(io);
	io->deadline = EVFUT_NO_DEADLINE;
}

int
evfut_io_set_deadline(struct evfut_io *io, evfut_nsec deadline)
{
	evfut_nsec old;
	int rc;

	if (io == NULL)
		return -EINVAL;
	if (io->event == NULL)
		return -EBADF;
	old = io->deadline;
	io->deadline = deadline;
	/* Later than the timer, or none: the timer finds out when it fires. */
	if (deadline == EVFUT_NO_DEADLINE || io->timer_at <= deadline)
		return 0;
	if (deadline <= seen(io)) {
		evfut__io_wake_all(io); /* they fail at their next poll */
		return 0;
	}
	rc = arm(io, deadline);
	if (rc < 0) {
		/* The old timer is gone: the waiters re-arm it as they poll. */
		io->deadline = old;
		evfut__io_wake_all(io);
	}
	return rc;
}

evfut_nsec
evfut_io_deadline(const struct evfut_io *io)
{
	return io != NULL ? io->deadline : EVFUT_NO_DEADLINE;
}
