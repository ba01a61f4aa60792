/*
 * Private: an I/O operation waits in its registration with its own waker,
 * one list per direction, so two operations on one direction both wake
 * and dropping one never silences the other; and the registration's
 * deadline (reactor/deadline.c) fails them all with -ETIMEDOUT.
 */
#ifndef EVFUT_REACTOR_IO_QUEUE_H
#define EVFUT_REACTOR_IO_QUEUE_H

#include "evfut/io.h"

/* Stores the waker of @cx in @op and queues @op in @direction (once). */
void evfut__io_queue(struct evfut_io_op *op, unsigned direction,
                     struct evfut_context *cx);
/* Takes @op out of its list; a no-op when it is not queued. */
void evfut__io_unqueue(struct evfut_io_op *op);

/* Wakes, and so releases, every waiter of both directions. */
void evfut__io_wake_all(struct evfut_io *io);

int evfut__io_deadline_slow(struct evfut_io *io);
/* Disarms the deadline's timer and clears the deadline. */
void evfut__io_deadline_finish(struct evfut_io *io);

/*
 * What a poll of an operation on @io must return first because of its
 * deadline: 0 (none, or not passed yet: the timer is armed then),
 * -ETIMEDOUT (passed), -ENOMEM (the timer could not be armed). One
 * comparison when @io has no deadline.
 */
static inline int
evfut__io_deadline_check(struct evfut_io *io)
{
	if (io->deadline == EVFUT_NO_DEADLINE)
		return 0;
	return evfut__io_deadline_slow(io);
}

#endif
