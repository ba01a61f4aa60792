/*
 * The I/O futures. Each poll tries its operation while the registration is
 * ready, forgets the readiness when the kernel says EAGAIN, and otherwise
 * leaves the latest waker in the registration.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "evfut/handle.h"
#include "evfut/io.h"

#include "io-queue.h"
#include "runtime.h"

enum op_kind {
	OP_READABLE,
	OP_WRITABLE,
	OP_READ,
	OP_READ_EXACT,
	OP_WRITE_ALL,
	OP_ACCEPT,
	OP_CONNECT,
	OP_SEND_TO,
	OP_RECV_FROM,
};

/* Accept's back-off when out of descriptors: 1 ms doubling up to 1 s. */
#define BACKOFF_MIN_MS 1
#define BACKOFF_MAX_MS 1000

static enum evfut_poll op_poll(struct evfut_future *self,
                               struct evfut_context *cx);
static void op_drop(struct evfut_future *self);

static void
op_init(struct evfut_io_op *op, struct evfut_io *io, unsigned kind, void *buf,
        size_t len)
{
	memset(op, 0, sizeof(*op));
	op->base.poll = op_poll;
	op->base.drop = op_drop;
	op->io = io;
	op->kind = kind;
	op->buf = buf;
	op->len = len;
}

static unsigned
direction_of(unsigned kind)
{
	switch (kind) {
	case OP_WRITABLE:
	case OP_WRITE_ALL:
	case OP_CONNECT:
	case OP_SEND_TO:
		return EVFUT_WRITABLE;
	default:
		return EVFUT_READABLE;
	}
}

static void
release_backoff(struct evfut_io_op *op)
{
	if (op->backoff != NULL) {
		event_free(op->backoff);
		op->backoff = NULL;
	}
	evfut_waker_drop(&op->backoff_waker);
}

/* Out of the registration's waiters, the waker released. */
static void
release_wait(struct evfut_io_op *op)
{
	evfut__io_unqueue(op);
	evfut_waker_drop(&op->waker);
}

/* The back-off delay has passed: try again. */
static void
on_backoff(evutil_socket_t fd, short what, void *arg)
{
	struct evfut_io_op *op = arg;
	struct evfut_runtime *outer = evfut__current;

	(void)fd;
	(void)what;
	evfut__current = op->io->runtime;
	evfut_waker_wake_by_ref(&op->backoff_waker);
	evfut__current = outer;
}

/*
 * Out of descriptors: accepting again at once would fail again while the
 * connection stays queued and the listener stays readable, spinning the
 * loop. Wait instead, doubling the delay, on a timeout the operation owns
 * (dropping the operation cancels it).
 */
static int
back_off(struct evfut_io_op *op, struct evfut_context *cx, int error)
{
	unsigned ms = op->done == 0 ? BACKOFF_MIN_MS : (unsigned)op->done * 2;
	struct timeval tv;

	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	if (op->backoff == NULL) {
		op->backoff =
		        evtimer_new(op->io->runtime->base, on_backoff, op);
		if (op->backoff == NULL)
			return error;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (evtimer_add(op->backoff, &tv) < 0)
		return error;
	evfut_waker_store(&op->backoff_waker, cx->waker);
	op->done = ms;
	op->io->runtime->stats.accept_backoffs++;
	return 0;
}

/* One attempt: >= 0 done, -EAGAIN not ready, other < 0 failed. */
static ssize_t
attempt(struct evfut_io_op *op)
{
	int fd = op->io->fd;
	char *buf = op->buf;
	ssize_t n;
	int error;
	socklen_t len = sizeof(error);

	switch (op->kind) {
	case OP_READABLE:
	case OP_WRITABLE:
		return 0;
	case OP_READ:
		/* A short read does not clear readiness: end of file or a
		 * reset may have come in the same report (see reactor.md). */
		n = read(fd, buf, op->len);
		break;
	case OP_READ_EXACT:
		n = read(fd, buf + op->done, op->len - op->done);
		if (n > 0 && (op->done += (size_t)n) < op->len)
			return -EINTR; /* more to read: loop */
		return n < 0 ? -errno : (ssize_t)op->done;
	case OP_WRITE_ALL:
		n = send(fd, buf + op->done, op->len - op->done, MSG_NOSIGNAL);
		if (n >= 0 && (op->done += (size_t)n) < op->len)
			return -EINTR;
		return n < 0 ? -errno : (ssize_t)op->done;
	case OP_ACCEPT:
		n = accept4(fd, op->addr, op->addrlen,
		            SOCK_NONBLOCK | SOCK_CLOEXEC);
		break;
	case OP_CONNECT:
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
			return -errno;
		return -error;
	case OP_SEND_TO:
		n = sendto(fd, buf, op->len, MSG_NOSIGNAL, op->addr,
		           op->to_len);
		break;
	default: /* OP_RECV_FROM */
		n = recvfrom(fd, buf, op->len, 0, op->addr, op->addrlen);
		break;
	}
	return n < 0 ? -errno : n;
}

/* 1 ready, 0 queued with the waker of @cx, -EBADF deregistered,
 * -ETIMEDOUT past the deadline (-ENOMEM: its timer could not be armed). */
static int
wait_ready(struct evfut_io_op *op, unsigned direction, struct evfut_context *cx)
{
	int rc = op->io->event == NULL ? -EBADF
	                               : evfut__io_deadline_check(op->io);

	if (rc < 0) {
		release_wait(op);
		return rc;
	}
	if (op->io->ready & direction)
		return 1;
	evfut__io_queue(op, direction, cx);
	return 0;
}

static enum evfut_poll
op_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_io_op *op =
	        evfut_container_of(self, struct evfut_io_op, base);
	unsigned direction = direction_of(op->kind);
	ssize_t n;
	int ready;

	/* An always-ready socket must not hold the executor. */
	if (!evfut_coop_proceed(cx))
		return EVFUT_PENDING;
	for (;;) {
		ready = wait_ready(op, direction, cx);
		if (ready == 0)
			return EVFUT_PENDING;
		if (ready < 0) {
			release_backoff(op);
			op->result = ready;
			return EVFUT_READY;
		}
		n = attempt(op);
		if (n == -EINTR)
			continue;
		if (n == -EAGAIN || n == -EWOULDBLOCK) {
			evfut_io_clear_ready(op->io, direction);
			continue;
		}
		if (op->kind == OP_ACCEPT &&
		    (n == -EMFILE || n == -ENFILE || n == -ENOBUFS ||
		     n == -ENOMEM) &&
		    back_off(op, cx, (int)n) == 0) {
			/* The back-off timer wakes it; queued too, so that
			 * the deadline and deregistering do. */
			evfut__io_queue(op, direction, cx);
			return EVFUT_PENDING;
		}
		/* Completed: nothing stays behind, so the op may be reused. */
		release_backoff(op);
		release_wait(op);
		op->result = n;
		return EVFUT_READY;
	}
}

static void
op_drop(struct evfut_future *self)
{
	struct evfut_io_op *op =
	        evfut_container_of(self, struct evfut_io_op, base);

	release_wait(op);
	release_backoff(op);
}

void
evfut_readable_init(struct evfut_io_op *op, struct evfut_io *io)
{
	op_init(op, io, OP_READABLE, NULL, 0);
}

void
evfut_writable_init(struct evfut_io_op *op, struct evfut_io *io)
{
	op_init(op, io, OP_WRITABLE, NULL, 0);
}

void
evfut_read_init(struct evfut_io_op *op, struct evfut_io *io, void *buf,
                size_t len)
{
	op_init(op, io, OP_READ, buf, len);
}

void
evfut_read_exact_init(struct evfut_io_op *op, struct evfut_io *io, void *buf,
                      size_t len)
{
	op_init(op, io, OP_READ_EXACT, buf, len);
}

void
evfut_write_all_init(struct evfut_io_op *op, struct evfut_io *io,
                     const void *buf, size_t len)
{
	op_init(op, io, OP_WRITE_ALL, (void *)(uintptr_t)buf, len);
}

void
evfut_accept_init(struct evfut_io_op *op, struct evfut_io *io,
                  struct sockaddr *addr, socklen_t *addrlen)
{
	op_init(op, io, OP_ACCEPT, NULL, 0);
	op->addr = addr;
	op->addrlen = addrlen;
}

void
evfut_connect_init(struct evfut_io_op *op, struct evfut_io *io)
{
	op_init(op, io, OP_CONNECT, NULL, 0);
}

void
evfut_send_to_init(struct evfut_io_op *op, struct evfut_io *io, const void *buf,
                   size_t len, const struct sockaddr *to, socklen_t to_len)
{
	op_init(op, io, OP_SEND_TO, (void *)(uintptr_t)buf, len);
	op->addr = (struct sockaddr *)(uintptr_t)to;
	op->to_len = to_len;
}

void
evfut_recv_from_init(struct evfut_io_op *op, struct evfut_io *io, void *buf,
                     size_t len, struct sockaddr *from, socklen_t *from_len)
{
	op_init(op, io, OP_RECV_FROM, buf, len);
	op->addr = from;
	op->addrlen = from_len;
}
