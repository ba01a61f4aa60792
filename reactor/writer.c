/*
 * The buffered writer: a list of chunks that pushes copy into (a new one
 * only when the last is full), written by whichever of the writer's
 * futures is polled while bytes are queued, all of them in one writev.
 * A drive waiting for bytes waits in the writer's own list, each with
 * its waker, and a push onto the empty queue wakes it; futures waiting
 * for room wait on the registration, whose report wakes them all.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "evfut/stream.h"

#include "alloc.h"
#include "waitlist.h"

/* A chunk of the queue; one allocation of CHUNK_BYTES holds a standard
 * one, a push larger than that gets one of its own size. */
struct evfut_writer_chunk {
	struct evfut_writer_chunk *next;
	size_t start; /* the first unwritten byte */
	size_t end;   /* one past the last queued byte */
	size_t capacity;
	char data[];
};

#define CHUNK_BYTES 4096
#define CHUNK_DATA  (CHUNK_BYTES - sizeof(struct evfut_writer_chunk))

/* Iovecs per call: 64 chunks are far more than a socket buffer takes. */
#if IOV_MAX < 64
#define WRITE_IOVS IOV_MAX
#else
#define WRITE_IOVS 64
#endif

enum write_kind {
	WRITE_ALL,
	WRITE_FLUSH,
	WRITE_READY,
	WRITE_DRIVE,
};

/* What flush_once() returns when the kernel has no room. */
#define NO_ROOM (-EAGAIN)

static enum evfut_poll write_op_poll(struct evfut_future *self,
                                     struct evfut_context *cx);
static void write_op_drop(struct evfut_future *self);

int
evfut_writer_init(struct evfut_writer *w, struct evfut_io *io, size_t low,
                  size_t high)
{
	if (w == NULL || io == NULL || low > high)
		return -EINVAL;
	memset(w, 0, sizeof(*w));
	w->io = io;
	w->low = low;
	w->high = high;
	return 0;
}

void
evfut_writer_destroy(struct evfut_writer *w)
{
	struct evfut_writer_chunk *c;

	if (w == NULL)
		return;
	while ((c = w->head) != NULL) {
		w->head = c->next;
		evfut__free(c);
	}
	evfut__free(w->spare);
	w->tail = w->spare = NULL;
	w->unsent = 0;
	/* A push after destroy (a room fanning out to a member being torn
	 * down) gets an error instead of a chunk nobody frees. */
	w->error = -EPIPE;
}

size_t
evfut_writer_unsent(const struct evfut_writer *w)
{
	return w != NULL ? w->unsent : 0;
}

int
evfut_writer_error(const struct evfut_writer *w)
{
	return w != NULL ? w->error : -EINVAL;
}

uint64_t
evfut_writer_write_calls(const struct evfut_writer *w)
{
	return w != NULL ? w->write_calls : 0;
}

/* A drive waits for a push in the writer's list, with its latest waker. */
static void
queue_waiter(struct evfut_write_op *op, struct evfut_context *cx)
{
	evfut_waker_store(&op->node.waker, cx->waker);
	if (op->node.in == NULL)
		evfut__waitlist_push(&op->writer->waiters, &op->node);
}

/* Wakes, and so releases, every waiting drive; the last thing a push
 * does. */
static void
wake_waiters(struct evfut_writer *w)
{
	struct evfut_waiter *node;

	while ((node = evfut__waitlist_pop(&w->waiters)) != NULL)
		evfut_waker_wake(&node->waker);
}

/* A chunk for at least @need bytes: the spare when it is big enough. */
static struct evfut_writer_chunk *
new_chunk(struct evfut_writer *w, size_t need)
{
	struct evfut_writer_chunk *c = w->spare;
	size_t capacity = need > CHUNK_DATA ? need : CHUNK_DATA;

	if (c != NULL && capacity == CHUNK_DATA) {
		w->spare = NULL;
	} else {
		if (capacity > SIZE_MAX - sizeof(*c))
			return NULL;
		c = evfut__malloc(sizeof(*c) + capacity);
		if (c == NULL)
			return NULL;
		c->capacity = capacity;
	}
	c->next = NULL;
	c->start = c->end = 0;
	return c;
}

static void
append(struct evfut_writer_chunk *c, const char *buf, size_t len)
{
	memcpy(c->data + c->end, buf, len);
	c->end += len;
}

int
evfut_writer_push(struct evfut_writer *w, const void *buf, size_t len)
{
	struct evfut_writer_chunk *fresh = NULL;
	size_t room;
	size_t take;
	int was_empty;

	if (w == NULL || (buf == NULL && len > 0))
		return -EINVAL;
	if (w->error != 0)
		return w->error;
	if (len == 0)
		return 0;
	room = w->tail != NULL ? w->tail->capacity - w->tail->end : 0;
	take = len < room ? len : room;
	/* All or nothing: the one allocation comes before any copy. */
	if (take < len && (fresh = new_chunk(w, len - take)) == NULL)
		return -ENOMEM;
	if (take > 0)
		append(w->tail, buf, take);
	if (fresh != NULL) {
		append(fresh, (const char *)buf + take, len - take);
		if (w->tail != NULL)
			w->tail->next = fresh;
		else
			w->head = fresh;
		w->tail = fresh;
	}
	was_empty = w->unsent == 0;
	w->unsent += len;
	/* Only a drive waits for bytes, and only on an empty queue. */
	if (was_empty)
		wake_waiters(w);
	return 0;
}

/* Takes @n written bytes off the front; drained chunks are recycled,
 * and the last, when of the standard size, stays for the next pushes. */
static void
advance(struct evfut_writer *w, size_t n)
{
	struct evfut_writer_chunk *c;
	size_t part;

	w->unsent -= n;
	while ((c = w->head) != NULL && n > 0) {
		part = c->end - c->start;
		if (n < part) {
			c->start += n;
			return;
		}
		n -= part;
		if (c == w->tail && c->capacity == CHUNK_DATA) {
			c->start = c->end = 0;
			return;
		}
		w->head = c->next;
		if (c == w->tail)
			w->tail = NULL;
		if (w->spare == NULL && c->capacity == CHUNK_DATA)
			w->spare = c;
		else
			evfut__free(c); /* a large push's chunk is not kept */
	}
}

/*
 * writev on a descriptor that is no socket (a pipe): a reader that went
 * away raises SIGPIPE, so it is blocked for the call and a SIGPIPE the
 * call raised is taken back, leaving a pending one of the program alone.
 */
static ssize_t
writev_quiet(int fd, const struct iovec *iov, int count)
{
	struct timespec zero = {0, 0};
	sigset_t pipe_set;
	sigset_t pending;
	sigset_t old;
	ssize_t n;
	int error;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	n = writev(fd, iov, count);
	error = errno;
	if (n < 0 && error == EPIPE && !sigismember(&pending, SIGPIPE))
		sigtimedwait(&pipe_set, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = error;
	return n;
}

/* sendmsg with MSG_NOSIGNAL on a socket, writev elsewhere. */
static ssize_t
write_iovs(struct evfut_writer *w, struct iovec *iov, int count)
{
	struct msghdr msg;
	ssize_t n;

	if (!w->not_socket) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)count;
		n = sendmsg(evfut_io_fd(w->io), &msg, MSG_NOSIGNAL);
		if (n >= 0 || errno != ENOTSOCK)
			return n;
		w->not_socket = 1;
	}
	return writev_quiet(evfut_io_fd(w->io), iov, count);
}

/* One system call for everything queued (up to WRITE_IOVS chunks): the
 * bytes written, NO_ROOM, or the negative errno of the failure. */
static ssize_t
flush_once(struct evfut_writer *w)
{
	struct iovec iov[WRITE_IOVS];
	struct evfut_writer_chunk *c;
	int count = 0;
	ssize_t n;

	for (c = w->head; c != NULL && count < WRITE_IOVS; c = c->next) {
		iov[count].iov_base = c->data + c->start;
		iov[count].iov_len = c->end - c->start;
		count++;
	}
	do {
		n = write_iovs(w, iov, count);
		w->write_calls++;
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? NO_ROOM
		                                               : -errno;
	advance(w, (size_t)n);
	return n;
}

/* 1 writable, 0 pending (the waker is queued), < 0 the registration's
 * error. */
static int
wait_writable(struct evfut_write_op *op, struct evfut_context *cx)
{
	if (!op->waiting) {
		evfut_writable_init(&op->writable, op->writer->io);
		op->waiting = 1;
	}
	if (evfut_future_poll(&op->writable.base, cx) == EVFUT_PENDING)
		return 0;
	op->waiting = 0;
	return op->writable.result < 0 ? (int)op->writable.result : 1;
}

/* Whether the operation's condition holds (a drive's never does). */
static int
reached(const struct evfut_write_op *op)
{
	const struct evfut_writer *w = op->writer;

	switch (op->kind) {
	case WRITE_ALL:
		return w->unsent <= w->high;
	case WRITE_FLUSH:
		return w->unsent == 0;
	case WRITE_READY:
		return w->unsent <= w->low;
	default:
		return 0;
	}
}

static void
release(struct evfut_write_op *op)
{
	if (op->waiting) {
		evfut_future_drop(&op->writable.base);
		op->waiting = 0;
	}
	evfut__waiter_unlink(&op->node);
	evfut_waker_drop(&op->node.waker);
}

static enum evfut_poll
finish(struct evfut_write_op *op, ssize_t result)
{
	release(op);
	op->result = result;
	return EVFUT_READY;
}

static enum evfut_poll
write_op_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_write_op *op =
	        evfut_container_of(self, struct evfut_write_op, base);
	struct evfut_writer *w = op->writer;
	ssize_t n;
	int rc;

	if (w == NULL || w->io == NULL)
		return finish(op, -EINVAL);
	/* Out of the list while it runs: it joins again to wait for a push. */
	evfut__waiter_unlink(&op->node);
	for (;;) {
		if (w->error != 0)
			return finish(op, w->error);
		if (reached(op)) {
			rc = op->kind == WRITE_ALL
			             ? evfut_writer_push(w, op->buf, op->len)
			             : 0;
			return finish(op, rc < 0 ? rc : (ssize_t)op->len);
		}
		if (w->unsent == 0) {
			/* A drive: waits for a push, not for room, so nothing
			 * but this poll sees that the registration went. */
			if (evfut_io_fd(w->io) < 0)
				return finish(op, -EBADF);
			if (op->waiting) {
				evfut_future_drop(&op->writable.base);
				op->waiting = 0;
			}
			queue_waiter(op, cx);
			return EVFUT_PENDING;
		}
		/* Waits for room; every operation waiting for room is woken
		 * by the same report, so none waits for another's writes. */
		rc = wait_writable(op, cx);
		if (rc <= 0)
			return rc == 0 ? EVFUT_PENDING : finish(op, rc);
		n = flush_once(w);
		if (n == NO_ROOM)
			evfut_io_clear_ready(w->io, EVFUT_WRITABLE);
		else if (n < 0)
			w->error = (int)n;
	}
}

static void
write_op_drop(struct evfut_future *self)
{
	release(evfut_container_of(self, struct evfut_write_op, base));
}

static void
write_op_init(struct evfut_write_op *op, struct evfut_writer *w, unsigned kind,
              const void *buf, size_t len)
{
	memset(op, 0, sizeof(*op));
	op->base.poll = write_op_poll;
	op->base.drop = write_op_drop;
	op->writer = w;
	op->kind = kind;
	op->buf = buf;
	op->len = len;
}

void
evfut_writer_write_init(struct evfut_write_op *op, struct evfut_writer *w,
                        const void *buf, size_t len)
{
	write_op_init(op, w, WRITE_ALL, buf, len);
}

void
evfut_writer_flush_init(struct evfut_write_op *op, struct evfut_writer *w)
{
	write_op_init(op, w, WRITE_FLUSH, NULL, 0);
}

void
evfut_writer_ready_init(struct evfut_write_op *op, struct evfut_writer *w)
{
	write_op_init(op, w, WRITE_READY, NULL, 0);
}

void
evfut_writer_drive_init(struct evfut_write_op *op, struct evfut_writer *w)
{
	write_op_init(op, w, WRITE_DRIVE, NULL, 0);
}
