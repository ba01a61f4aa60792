/*
 * Registrations: one edge-triggered persistent event per descriptor, the
 * readiness it reported, and the latest waker per direction.
 *
 * Edge-triggered, because readiness is cached here until an operation
 * sees EAGAIN: a level-triggered event would fire on every loop iteration
 * while nobody reads. The callback runs on the loop's thread, after the
 * poll that stored the waker returned, so readiness that arrives between
 * an operation's EAGAIN and the end of that poll is reported by the next
 * epoll_wait and wakes the stored waker: nothing is lost in between.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "evfut/io.h"

#include "runtime.h"

/*
 * The peer closed its side: reads return end of file from now on, and no
 * new edge will say so again, so readability is never forgotten after it
 * (a FIN that came with the last data would otherwise be lost).
 */
#define READ_CLOSED 4u

static int
direction_index(unsigned direction)
{
	return direction == EVFUT_WRITABLE;
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
	 * Only a direction that was not ready wakes: a waker is stored only
	 * while its bit is clear, and the edge that set it woke that waker
	 * already (epoll reports both directions on every edge, and an idle
	 * writer would be polled again for each segment read).
	 */
	if ((what & (EV_READ | EV_CLOSED)) && !(io->ready & EVFUT_READABLE)) {
		io->ready |= EVFUT_READABLE;
		evfut_waker_wake_by_ref(&io->waker[0]);
	}
	if ((what & EV_WRITE) && !(io->ready & EVFUT_WRITABLE)) {
		io->ready |= EVFUT_WRITABLE;
		evfut_waker_wake_by_ref(&io->waker[1]);
	}
	evfut__current = outer;
}

/* Stream sockets, pipes and FIFOs: a read that returns less than asked
 * has emptied the buffer. Datagrams, terminals (a line at a time) and the
 * rest promise no such thing. */
static unsigned
is_stream(int fd)
{
	int type;
	socklen_t len = sizeof(type);
	struct stat st;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0)
		return type == SOCK_STREAM;
	return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
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
	io->stream = is_stream(fd);
	io->ready = 0;
	io->runtime = rt;
	io->waker[0] = empty;
	io->waker[1] = empty;
	rc = -ENOMEM;
	io->event =
	        event_new(rt->base, fd,
	                  EV_READ | EV_WRITE | EV_CLOSED | EV_PERSIST | EV_ET,
	                  on_event, io);
	if (io->event == NULL)
		goto fail_event;
	/* epoll refuses regular files with EPERM. */
	rc = -EPERM;
	if (event_add(io->event, NULL) < 0)
		goto fail_add;
	return 0;

fail_add:
	event_free(io->event);
	io->event = NULL;
fail_event:
	/* A failed call has no side effect: the flags go back. */
	fcntl(fd, F_SETFL, flags);
	return rc;
}

void
evfut_io_deregister(struct evfut_io *io)
{
	if (io == NULL || io->event == NULL)
		return;
	event_free(io->event);
	io->event = NULL;
	/* Waiters must learn that the descriptor is gone, not hang. */
	evfut_waker_wake(&io->waker[0]);
	evfut_waker_wake(&io->waker[1]);
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
	if (io == NULL || cx == NULL ||
	    (direction != EVFUT_READABLE && direction != EVFUT_WRITABLE))
		return -EINVAL;
	if (io->event == NULL)
		return -EBADF;
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
	io->ready &= ~direction;
}

int
evfut_io_shutdown(struct evfut_io *io, int how)
{
	if (io == NULL || io->event == NULL)
		return -EBADF;
	return shutdown(io->fd, how) < 0 ? -errno : 0;
}
