/*
 * Registrations: the libevent events of one descriptor, the readiness they
 * reported, and the operations waiting per direction.
 *
 * Readiness is cached until an operation sees EAGAIN, so the events are
 * edge-triggered where the backend allows; on a level-triggered backend a
 * direction is watched only while it is not known ready, or it would fire
 * on every loop iteration while nobody reads. The callback runs on the
 * loop's thread, after the poll that queued the waiter returned, so
 * readiness that arrives between an operation's EAGAIN and the end of that
 * poll is reported by the next wait: nothing is lost in between.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "evfut/io.h"

#include "io-queue.h"
#include "runtime.h"

/*
 * The peer closed its side: reads return end of file from now on, and no
 * new edge will say so again, so readability is never forgotten after it.
 */
#define READ_CLOSED 4u

static int
direction_index(unsigned direction)
{
	return direction == EVFUT_WRITABLE;
}

/* Level-triggered backends: the event of @index, watched only while its
 * direction is not known ready (a ready one would fire on every pass). */
static void
watch(struct evfut_io *io, int index, int on)
{
	struct event *ev = io->level[index];

	if (ev == NULL)
		return;
	if (on)
		event_add(ev, NULL);
	else
		event_del(ev);
}

/* Wakes, and so releases, every waiter of one direction. */
static void
wake_direction(struct evfut_io *io, int index)
{
	struct evfut_io_op *op;

	evfut_waker_wake(&io->waker[index]);
	while ((op = io->waiters[index]) != NULL) {
		evfut__io_unqueue(op);
		evfut_waker_wake(&op->waker);
	}
}

void
evfut__io_wake_all(struct evfut_io *io)
{
	wake_direction(io, 0);
	wake_direction(io, 1);
}

void
evfut__io_queue(struct evfut_io_op *op, unsigned direction,
                struct evfut_context *cx)
{
	struct evfut_io_op **head =
	        &op->io->waiters[direction_index(direction)];

	evfut_waker_store(&op->waker, cx->waker);
	if (op->link != NULL)
		return;
	op->next = *head;
	if (op->next != NULL)
		op->next->link = &op->next;
	op->link = head;
	*head = op;
}

void
evfut__io_unqueue(struct evfut_io_op *op)
{
	if (op->link == NULL)
		return;
	*op->link = op->next;
	if (op->next != NULL)
		op->next->link = op->link;
	op->link = NULL;
	op->next = NULL;
}

static void
set_ready(struct evfut_io *io, unsigned direction)
{
	int index = direction_index(direction);

	if (io->ready & direction)
		return;
	io->ready |= direction;
	watch(io, index, 0);
	wake_direction(io, index);
}

static void
on_event(evutil_socket_t fd, short what, void *arg)
{
	struct evfut_io *io = arg;
	struct evfut_runtime *outer = evfut__current;

	(void)fd;
	/* A host's loop may run this: wakes from here are local. */
	evfut__current = io->runtime;
	if (what & EV_CLOSED)
		io->ready |= READ_CLOSED;
	/*
	 * Only a direction that was not ready wakes: a waiter waits only
	 * while its bit is clear, and the edge that set it woke it already
	 * (epoll reports both directions on every edge, and an idle writer
	 * would be polled again for each segment read).
	 */
	if (what & (EV_READ | EV_CLOSED))
		set_ready(io, EVFUT_READABLE);
	if (what & EV_WRITE)
		set_ready(io, EVFUT_WRITABLE);
	evfut__current = outer;
}

static void
free_events(struct evfut_io *io)
{
	if (io->level[1] != NULL)
		event_free(io->level[1]);
	if (io->event != NULL)
		event_free(io->event);
	io->level[0] = io->level[1] = NULL;
	io->event = NULL;
}

/*
 * One persistent edge-triggered event for both directions where the
 * backend has edges (epoll, kqueue's EV_CLEAR); otherwise one
 * level-triggered event per direction (poll, select), each added only
 * while its direction is not known ready.
 */
static int
add_events(struct evfut_io *io, struct event_base *base)
{
	short closed = EV_CLOSED | EV_PERSIST;

	if (event_base_get_features(base) & EV_FEATURE_ET) {
		io->event = event_new(base, io->fd,
		                      EV_READ | EV_WRITE | EV_ET | closed,
		                      on_event, io);
		if (io->event == NULL)
			return -ENOMEM;
		/* epoll refuses regular files with EPERM. */
		return event_add(io->event, NULL) < 0 ? -EPERM : 0;
	}
	/* select's fd_set has no bit for a higher descriptor. */
	if (io->fd >= FD_SETSIZE &&
	    strcmp(event_base_get_method(base), "select") == 0)
		return -EMFILE;
	io->event = event_new(base, io->fd, EV_READ | closed, on_event, io);
	io->level[0] = io->event;
	io->level[1] =
	        event_new(base, io->fd, EV_WRITE | EV_PERSIST, on_event, io);
	if (io->event == NULL || io->level[1] == NULL)
		return -ENOMEM;
	if (event_add(io->level[0], NULL) < 0 ||
	    event_add(io->level[1], NULL) < 0)
		return -EPERM;
	return 0;
}

int
evfut_io_register(struct evfut_io *io, struct evfut_runtime *rt, int fd)
{
	struct evfut_waker empty = EVFUT_WAKER_EMPTY;
	int flags;
	int rc;

	if (io == NULL || rt == NULL)
		return -EINVAL;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0)
		return -EBADF;
	if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	io->fd = fd;
	io->ready = 0;
	io->runtime = rt;
	io->waker[0] = empty;
	io->waker[1] = empty;
	io->waiters[0] = io->waiters[1] = NULL;
	io->event = io->level[0] = io->level[1] = NULL;
	io->deadline = io->timer_at = EVFUT_NO_DEADLINE;
	rc = add_events(io, rt->base);
	if (rc < 0)
		goto fail;
	return 0;

fail:
	free_events(io);
	/* A failed call has no side effect: the flags go back. */
	fcntl(fd, F_SETFL, flags);
	return rc;
}

void
evfut_io_deregister(struct evfut_io *io)
{
	if (io == NULL || io->event == NULL)
		return;
	free_events(io);
	evfut__io_deadline_finish(io);
	/* Waiters must learn that the descriptor is gone, not hang. */
	evfut__io_wake_all(io);
}

int
evfut_io_close(struct evfut_io *io)
{
	int fd;

	if (io == NULL || io->event == NULL)
		return 0;
	fd = io->fd;
	evfut_io_deregister(io);
	io->fd = -1;
	return close(fd) < 0 ? -errno : 0;
}

int
evfut_io_fd(const struct evfut_io *io)
{
	return io != NULL && io->event != NULL ? io->fd : -1;
}

int
evfut_io_poll_ready(struct evfut_io *io, unsigned direction,
                    struct evfut_context *cx)
{
	int rc;

	if (io == NULL || cx == NULL ||
	    (direction != EVFUT_READABLE && direction != EVFUT_WRITABLE))
		return -EINVAL;
	if (io->event == NULL)
		return -EBADF;
	rc = evfut__io_deadline_check(io);
	if (rc < 0)
		return rc;
	if (io->ready & direction)
		return 1;
	evfut_waker_store(&io->waker[direction_index(direction)], cx->waker);
	return 0;
}

void
evfut_io_clear_ready(struct evfut_io *io, unsigned direction)
{
	if (io == NULL)
		return;
	if (io->ready & READ_CLOSED)
		direction &= ~EVFUT_READABLE;
	direction &= io->ready;
	io->ready &= ~direction;
	if (io->event == NULL)
		return;
	if (direction & EVFUT_READABLE)
		watch(io, 0, 1);
	if (direction & EVFUT_WRITABLE)
		watch(io, 1, 1);
}

int
evfut_io_shutdown(struct evfut_io *io, int how)
{
	if (io == NULL || io->event == NULL)
		return -EBADF;
	return shutdown(io->fd, how) < 0 ? -errno : 0;
}
