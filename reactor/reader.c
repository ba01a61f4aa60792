/*
 * The buffered reader: one buffer, compacted when the bytes kept at its
 * start leave no room at its end. An operation consumes only when it
 * completes, so a dropped one leaves every byte to the next; the bytes it
 * scanned are remembered (relative to the reader's start, which only
 * moves at completion) so that small reads do not rescan a long line.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "evfut/stream.h"

#include "alloc.h"

enum read_kind {
	READ_UNTIL,
	READ_EXACT,
	READ_SOME,
};

/* The internal "no result yet": read(2)'s EAGAIN never escapes fill(). */
#define NOT_YET (-EAGAIN)

static enum evfut_poll read_op_poll(struct evfut_future *self,
                                    struct evfut_context *cx);
static void read_op_drop(struct evfut_future *self);

int
evfut_reader_init(struct evfut_reader *r, struct evfut_io *io, size_t capacity)
{
	if (r == NULL || io == NULL || capacity == 0)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->buf = evfut__malloc(capacity);
	if (r->buf == NULL)
		return -ENOMEM;
	r->io = io;
	r->capacity = capacity;
	return 0;
}

void
evfut_reader_destroy(struct evfut_reader *r)
{
	if (r == NULL)
		return;
	evfut__free(r->buf);
	r->buf = NULL;
	/* No room: an operation dropped after this gives nothing back. */
	r->capacity = r->start = r->end = 0;
}

size_t
evfut_reader_buffered(const struct evfut_reader *r)
{
	return r != NULL ? r->end - r->start : 0;
}

const char *
evfut_reader_peek(const struct evfut_reader *r, size_t *len)
{
	if (len != NULL)
		*len = evfut_reader_buffered(r);
	return r != NULL && r->buf != NULL ? r->buf + r->start : NULL;
}

static void
consume(struct evfut_reader *r, size_t n)
{
	r->start += n;
	if (r->start == r->end)
		r->start = r->end = 0;
}

int
evfut_reader_consume(struct evfut_reader *r, size_t n)
{
	if (r == NULL || n > evfut_reader_buffered(r))
		return -EINVAL;
	if (r->busy != NULL)
		return -EBUSY;
	consume(r, n);
	return 0;
}

/* Makes room for @need bytes from the start (need <= capacity). */
static void
make_room(struct evfut_reader *r, size_t need)
{
	size_t buffered = r->end - r->start;

	if (r->capacity - r->start >= need && r->end < r->capacity)
		return;
	memmove(r->buf, r->buf + r->start, buffered);
	r->start = 0;
	r->end = buffered;
}

/* 1 ready, 0 pending (the waker is queued), < 0 the registration's error. */
static int
wait_readable(struct evfut_read_op *op, struct evfut_context *cx)
{
	if (!op->waiting) {
		evfut_readable_init(&op->ready, op->reader->io);
		op->waiting = 1;
	}
	if (evfut_future_poll(&op->ready.base, cx) == EVFUT_PENDING)
		return 0;
	op->waiting = 0;
	return op->ready.result < 0 ? (int)op->ready.result : 1;
}

/*
 * One read into @dst once the registration is ready: bytes, 0 at end of
 * file, NOT_YET (pending), or a negative errno. Readiness is forgotten
 * only on EAGAIN: a short read proves nothing (reactor.md).
 */
static ssize_t
fill(struct evfut_read_op *op, struct evfut_context *cx, char *dst, size_t room)
{
	struct evfut_io *io = op->reader->io;
	ssize_t n;
	int ready;

	for (;;) {
		ready = wait_readable(op, cx);
		if (ready <= 0)
			return ready == 0 ? NOT_YET : ready;
		n = read(evfut_io_fd(io), dst, room);
		if (n >= 0)
			return n;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			evfut_io_clear_ready(io, EVFUT_READABLE);
		else if (errno != EINTR)
			return -errno;
	}
}

/* Refills the reader past its end: as fill(), the bytes now buffered. */
static ssize_t
fill_reader(struct evfut_read_op *op, struct evfut_context *cx, size_t need)
{
	struct evfut_reader *r = op->reader;
	ssize_t n;

	make_room(r, need);
	n = fill(op, cx, r->buf + r->end, r->capacity - r->end);
	if (n > 0)
		r->end += (size_t)n;
	return n;
}

static ssize_t
poll_until(struct evfut_read_op *op, struct evfut_context *cx)
{
	struct evfut_reader *r = op->reader;
	size_t buffered;
	size_t limit;
	char *found;
	ssize_t n;

	if (op->len == 0 || op->len > r->capacity || op->delimiter < 0 ||
	    op->delimiter > 255)
		return -EINVAL;
	for (;;) {
		buffered = r->end - r->start;
		limit = buffered < op->len ? buffered : op->len;
		op->data = r->buf + r->start;
		found = memchr(r->buf + r->start + op->scanned, op->delimiter,
		               limit - op->scanned);
		if (found != NULL) {
			n = found - op->data + 1;
			consume(r, (size_t)n);
			return n;
		}
		op->scanned = limit;
		if (buffered >= op->len)
			return -EMSGSIZE;
		n = fill_reader(op, cx, op->len);
		op->data = r->buf + r->start; /* the room may have moved it */
		if (n == 0 && buffered > 0) { /* a last line without one */
			consume(r, buffered);
			return (ssize_t)buffered;
		}
		if (n <= 0)
			return n;
	}
}

/* Up to the capacity: gathered in the reader, copied out at the end. */
static ssize_t
poll_exact_buffered(struct evfut_read_op *op, struct evfut_context *cx)
{
	struct evfut_reader *r = op->reader;
	size_t buffered;
	ssize_t n;

	for (;;) {
		buffered = r->end - r->start;
		if (buffered >= op->len)
			break;
		n = fill_reader(op, cx, op->len);
		if (n < 0)
			return n;
		if (n == 0) { /* end of file: what there is */
			op->len = buffered;
			break;
		}
	}
	if (op->len > 0) /* out may be NULL for nothing */
		memcpy(op->out, r->buf + r->start, op->len);
	consume(r, op->len);
	return (ssize_t)op->len;
}

/* Beyond the capacity: the buffered bytes, then straight into out. */
static ssize_t
poll_exact_direct(struct evfut_read_op *op, struct evfut_context *cx)
{
	struct evfut_reader *r = op->reader;
	size_t buffered = r->end - r->start;
	ssize_t n;

	if (op->copied == 0 && buffered > 0) {
		memcpy(op->out, r->buf + r->start, buffered);
		consume(r, buffered);
		op->copied = buffered;
	}
	while (op->copied < op->len) {
		n = fill(op, cx, op->out + op->copied, op->len - op->copied);
		if (n == 0)
			break;
		if (n < 0)
			return n;
		op->copied += (size_t)n;
	}
	n = (ssize_t)op->copied;
	op->copied = 0;
	return n;
}

static ssize_t
poll_some(struct evfut_read_op *op, struct evfut_context *cx)
{
	struct evfut_reader *r = op->reader;
	size_t n;
	ssize_t got;

	if (op->len == 0)
		return 0;
	if (r->end == r->start) {
		if (op->len >= r->capacity)
			return fill(op, cx, op->out, op->len);
		got = fill_reader(op, cx, r->capacity);
		if (got <= 0)
			return got;
	}
	n = r->end - r->start;
	if (n > op->len)
		n = op->len;
	memcpy(op->out, r->buf + r->start, n);
	consume(r, n);
	return (ssize_t)n;
}

/*
 * A direct read_exact that did not complete gives back what it moved when
 * that fits (the reader is empty: the operation took everything buffered
 * and only it reads); otherwise the bytes stay in out, counted in copied.
 */
static void
give_back(struct evfut_read_op *op)
{
	struct evfut_reader *r = op->reader;

	if (op->kind != READ_EXACT || op->copied == 0 ||
	    op->copied > r->capacity - (r->end - r->start))
		return;
	make_room(r, r->capacity);
	memmove(r->buf + op->copied, r->buf + r->start, r->end - r->start);
	memcpy(r->buf, op->out, op->copied);
	r->end = r->end - r->start + op->copied;
	r->start = 0;
	op->copied = 0;
}

static void
release(struct evfut_read_op *op)
{
	if (op->waiting) {
		evfut_future_drop(&op->ready.base);
		op->waiting = 0;
	}
	if (op->reader != NULL && op->reader->busy == op)
		op->reader->busy = NULL;
}

static enum evfut_poll
read_op_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_read_op *op =
	        evfut_container_of(self, struct evfut_read_op, base);
	struct evfut_reader *r = op->reader;
	ssize_t n;

	if (r == NULL || r->buf == NULL ||
	    (op->out == NULL && op->len > 0 && op->kind != READ_UNTIL)) {
		op->result = -EINVAL;
		return EVFUT_READY;
	}
	if (r->busy != NULL && r->busy != op) {
		op->result = -EBUSY;
		return EVFUT_READY;
	}
	r->busy = op;
	if (op->kind == READ_UNTIL)
		n = poll_until(op, cx);
	else if (op->kind == READ_SOME)
		n = poll_some(op, cx);
	else if (op->len <= r->capacity)
		n = poll_exact_buffered(op, cx);
	else
		n = poll_exact_direct(op, cx);
	if (n == NOT_YET)
		return EVFUT_PENDING;
	if (n < 0)
		give_back(op);
	release(op);
	op->result = n;
	return EVFUT_READY;
}

static void
read_op_drop(struct evfut_future *self)
{
	struct evfut_read_op *op =
	        evfut_container_of(self, struct evfut_read_op, base);

	if (op->reader != NULL && op->reader->busy == op)
		give_back(op);
	release(op);
}

static void
read_op_init(struct evfut_read_op *op, struct evfut_reader *r, unsigned kind,
             void *out, size_t len)
{
	memset(op, 0, sizeof(*op));
	op->base.poll = read_op_poll;
	op->base.drop = read_op_drop;
	op->reader = r;
	op->kind = kind;
	op->out = out;
	op->len = len;
}

void
evfut_read_until_init(struct evfut_read_op *op, struct evfut_reader *r,
                      int delimiter, size_t max)
{
	read_op_init(op, r, READ_UNTIL, NULL, max);
	op->delimiter = delimiter;
}

void
evfut_read_line_init(struct evfut_read_op *op, struct evfut_reader *r,
                     size_t max)
{
	evfut_read_until_init(op, r, '\n', max);
}

void
evfut_reader_read_exact_init(struct evfut_read_op *op, struct evfut_reader *r,
                             void *buf, size_t len)
{
	read_op_init(op, r, READ_EXACT, buf, len);
}

void
evfut_reader_read_init(struct evfut_read_op *op, struct evfut_reader *r,
                       void *buf, size_t len)
{
	read_op_init(op, r, READ_SOME, buf, len);
}
