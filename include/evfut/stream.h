/*
 * evfut/stream.h: buffered streams over a registration (evfut/io.h).
 *
 * A reader owns one buffer, allocated at init, and answers read_line,
 * read_until, read_exact and read from it, refilling it from the
 * descriptor. A writer keeps a queue of bytes with a low and a high
 * watermark and writes everything queued in one system call (sendmsg on a
 * socket, writev elsewhere).
 *
 * Every future here is cancel-safe: dropped at any point, it loses and
 * duplicates no byte (the next operation sees what it left). One that
 * waits for the descriptor waits on the registration as the I/O futures
 * do, so an I/O deadline set on the registration ends it with its
 * -ETIMEDOUT, and readiness is forgotten only when the kernel says
 * EAGAIN. Everything here runs on the runtime's thread: a message for
 * another connection is pushed from a task of the same runtime (another
 * thread sends it through a channel).
 */
#ifndef EVFUT_STREAM_H
#define EVFUT_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"
#include "future.h"
#include "io.h"
#include "sync.h"

#ifdef __cplusplus
extern "C" {
#endif

struct evfut_read_op;
struct evfut_write_op;
struct evfut_writer_chunk;

/**
 * A buffered reader over a registration; embed it beside the
 * registration. Every field is private. One operation at a time: a second
 * one polled while another is pending completes with -EBUSY.
 */
struct evfut_reader {
	/* private */
	struct evfut_io *io;
	char *buf;
	size_t capacity;
	size_t start;                     /* the first buffered byte */
	size_t end;                       /* one past the last */
	const struct evfut_read_op *busy; /* the pending operation */
};

/**
 * Sets up @p r over @p io (borrowed: it must outlive the reader) with a
 * buffer of @p capacity bytes, allocated here once and never grown.
 *
 * @return 0; -EINVAL if @p r or @p io is NULL or @p capacity is 0;
 * -ENOMEM if the buffer could not be allocated (nothing to destroy).
 * The runtime's thread.
 */
EVFUT_API int evfut_reader_init(struct evfut_reader *r, struct evfut_io *io,
                                size_t capacity);

/**
 * Frees the buffer; the registration is left as it is. Drop the reader's
 * pending operation first (an operation dropped after the destroy gives
 * nothing back to the reader, and one polled after completes with
 * -EINVAL). NULL is allowed. The runtime's thread.
 */
EVFUT_API void evfut_reader_destroy(struct evfut_reader *r);

/** The bytes read from the descriptor and not consumed yet (0 for
 *  NULL). */
EVFUT_API size_t evfut_reader_buffered(const struct evfut_reader *r);

/**
 * The buffered bytes, without consuming them.
 *
 * @return their address in the reader's buffer (valid until the next
 * operation or consume), their count in @p len (may be NULL); NULL for a
 * NULL or destroyed reader.
 */
EVFUT_API const char *evfut_reader_peek(const struct evfut_reader *r,
                                        size_t *len);

/**
 * Consumes the first @p n buffered bytes, e.g. the start of an over-long
 * line that evfut_read_line_init() refused.
 *
 * @return 0; -EINVAL if @p r is NULL or @p n is more than is buffered;
 * -EBUSY while an operation of the reader is pending.
 */
EVFUT_API int evfut_reader_consume(struct evfut_reader *r, size_t n);

/** One future type for the reader's operations; see each init. */
struct evfut_read_op {
	/* public */
	struct evfut_future base; /**< Poll and drop through this. */
	/* read-only */
	/** Bytes, 0 at end of file, or a negative errno. */
	ssize_t result;
	/** read_line, read_until: the bytes, in the reader's buffer, valid
	 *  until the next operation on the reader. After -EMSGSIZE or an
	 *  error: the buffered bytes, still unconsumed. */
	const char *data;
	/** read_exact beyond the capacity: bytes moved into the caller's
	 *  buffer and left there after an error or a drop (0 when they
	 *  were given back to the reader; see evfut_reader_read_exact_init). */
	size_t copied;
	/* private */
	struct evfut_reader *reader;
	char *out;
	size_t len;
	size_t scanned; /* bytes searched for the delimiter, from the start */
	int delimiter;
	unsigned kind;
	int waiting; /* ready is initialised and pending */
	struct evfut_io_op ready;
};

/**
 * Reads a line ending in a newline, the newline included in result and
 * data, of at most @p max bytes with it. As tokio's read_line: at end of
 * file a last line without a newline is returned as it is (result its
 * length), then 0.
 *
 * The line is consumed when the future completes, and only then: dropped
 * before, it consumed nothing. When @p max bytes are buffered with no
 * newline among them the future completes with -EMSGSIZE and consumes
 * nothing (data points at the bytes; evfut_reader_consume() skips them,
 * or the caller closes): memory never grows past the buffer.
 *
 * result: the length; 0 at end of file with nothing buffered; -EMSGSIZE
 * for an over-long line; -EINVAL if @p r is NULL or destroyed, or @p max
 * is 0 or more than the reader's capacity; -EBUSY if another operation
 * of the reader is pending; a negative errno of read(2) (-ECONNRESET...),
 * -EBADF when the registration was removed, or the registration's
 * -ETIMEDOUT: then the bytes of the unfinished line stay buffered (as
 * tokio leaves them in the caller's string), and the next operation sees
 * them.
 */
EVFUT_API void evfut_read_line_init(struct evfut_read_op *op,
                                    struct evfut_reader *r, size_t max);

/** evfut_read_line_init() with @p delimiter (a byte value, 0..255) in
 *  place of the newline; result -EINVAL for another value. */
EVFUT_API void evfut_read_until_init(struct evfut_read_op *op,
                                     struct evfut_reader *r, int delimiter,
                                     size_t max);

/**
 * Reads exactly @p len bytes into @p buf (retained until completion or
 * drop). Buffered bytes come first; up to the reader's capacity the bytes
 * are gathered in the reader and copied once at completion; beyond, the
 * rest is read straight from the descriptor into @p buf (no copy through
 * the reader).
 *
 * result: @p len; fewer bytes (the count, possibly 0) when end of file
 * came first (tokio's UnexpectedEof), all in @p buf and consumed; -EINVAL
 * if @p r is NULL or destroyed, or @p buf is NULL with @p len > 0; -EBUSY
 * if another operation is pending; a negative errno as for read_line.
 *
 * Dropped or failed before completion it loses nothing: up to the
 * capacity nothing was consumed; beyond, the bytes already moved into
 * @p buf are given back to the reader when they fit in its buffer, and
 * otherwise stay in @p buf with their count in copied, the stream going
 * on after them.
 */
EVFUT_API void evfut_reader_read_exact_init(struct evfut_read_op *op,
                                            struct evfut_reader *r, void *buf,
                                            size_t len);

/**
 * Reads at most @p len bytes into @p buf, as tokio's BufReader does:
 * buffered bytes first; with nothing buffered and @p len at least the
 * capacity, straight from the descriptor; otherwise one read refills the
 * buffer. result: bytes (0 for @p len 0), 0 at end of file, or a negative
 * errno as for read_exact. Dropped before completion it consumed nothing.
 */
EVFUT_API void evfut_reader_read_init(struct evfut_read_op *op,
                                      struct evfut_reader *r, void *buf,
                                      size_t len);

/**
 * A buffered writer over a registration: a queue of bytes, a low and a
 * high watermark, and the sticky error of the first failed write. Every
 * field is private; embed it beside the registration.
 */
struct evfut_writer {
	/* private */
	struct evfut_io *io;
	size_t low;
	size_t high;
	size_t unsent;
	int error;      /* the sticky error; 0 while none */
	int not_socket; /* sendmsg said ENOTSOCK: writev, SIGPIPE blocked */
	uint64_t write_calls;
	struct evfut_writer_chunk *head;
	struct evfut_writer_chunk *tail;
	struct evfut_writer_chunk *spare; /* one drained chunk, for reuse */
	struct evfut_waitlist waiters;    /* drives waiting for a push */
};

/**
 * Sets up @p w over @p io (borrowed: it must outlive the writer) with the
 * watermarks @p low <= @p high, in bytes. Nothing is allocated until the
 * first push.
 *
 * @return 0; -EINVAL if @p w or @p io is NULL or @p low > @p high.
 * The runtime's thread.
 */
EVFUT_API int evfut_writer_init(struct evfut_writer *w, struct evfut_io *io,
                                size_t low, size_t high);

/**
 * Frees what is queued, unsent; the registration is left as it is. Drop
 * the writer's pending operations first. From then on evfut_writer_push()
 * and the writer's futures fail with -EPIPE, allocating nothing, until
 * evfut_writer_init() again. NULL is allowed. The runtime's thread.
 */
EVFUT_API void evfut_writer_destroy(struct evfut_writer *w);

/** Bytes queued and not written yet (also after a write error: what the
 *  peer will never get). */
EVFUT_API size_t evfut_writer_unsent(const struct evfut_writer *w);

/** @return the sticky error (-EPIPE, -ECONNRESET...), 0 while none,
 *  -EINVAL for NULL. */
EVFUT_API int evfut_writer_error(const struct evfut_writer *w);

/** The write system calls (writev or sendmsg) made so far: each writes
 *  everything queued, or as much as the kernel takes. */
EVFUT_API uint64_t evfut_writer_write_calls(const struct evfut_writer *w);

/**
 * Copies @p len bytes of @p buf (borrowed for the call) into the queue at
 * once, whatever the watermarks: the caller compares
 * evfut_writer_unsent() with its own limit (to drop a slow client, say).
 * No allocation while the last chunk has room. A push onto an empty queue
 * wakes the writer's pending drive future, so a message queued by another
 * task is written by the owner's task, in one system call with everything
 * else queued before it runs.
 *
 * @return 0; -EINVAL if @p w is NULL, or @p buf is NULL with @p len > 0;
 * -ENOMEM (nothing queued); the sticky error (nothing queued).
 * The runtime's thread.
 */
EVFUT_API int evfut_writer_push(struct evfut_writer *w, const void *buf,
                                size_t len);

/**
 * One future type for the writer's operations; see each init. Any number
 * may be pending on one writer, in one task or several: each writes
 * what is queued while it waits.
 */
struct evfut_write_op {
	/* public */
	struct evfut_future base; /**< Poll and drop through this. */
	/* read-only */
	ssize_t result; /**< See each init. */
	/* private */
	struct evfut_writer *writer;
	const void *buf;
	size_t len;
	unsigned kind;
	int waiting;              /* writable is initialised and pending */
	struct evfut_waiter node; /* a drive waiting for a push */
	struct evfut_io_op writable;
};

/**
 * Waits until unsent <= the high watermark, writing meanwhile, then
 * queues all of @p buf (retained until completion or drop). All or
 * nothing: dropped before completion, nothing of it was queued.
 *
 * result: @p len; -ENOMEM; -EINVAL if @p w is NULL, or @p buf is NULL
 * with @p len > 0; the sticky error; -EBADF when the registration was
 * removed; the registration's -ETIMEDOUT (neither is sticky).
 */
EVFUT_API void evfut_writer_write_init(struct evfut_write_op *op,
                                       struct evfut_writer *w, const void *buf,
                                       size_t len);

/**
 * Completes once the queue is empty: everything queued before it and
 * while it waits is written. result: 0; the sticky error; -EBADF;
 * -ETIMEDOUT; -EINVAL if @p w is NULL.
 */
EVFUT_API void evfut_writer_flush_init(struct evfut_write_op *op,
                                       struct evfut_writer *w);

/**
 * Backpressure: completes once unsent <= the low watermark, writing
 * meanwhile. result: 0; the sticky error; -EBADF; -ETIMEDOUT; -EINVAL
 * if @p w is NULL.
 */
EVFUT_API void evfut_writer_ready_init(struct evfut_write_op *op,
                                       struct evfut_writer *w);

/**
 * The connection task's background writer: writes whatever is queued
 * whenever it is queued, pending while the queue is empty (a push wakes
 * it). Completes only on an error: the sticky error, -EBADF or
 * -ETIMEDOUT (re-init it to go on after a deadline was moved); -EINVAL
 * if @p w is NULL. While the queue is empty it does not wait on the
 * descriptor: removing the registration does not wake it, its next poll
 * completes it with -EBADF; a deadline ends it only once it has bytes to
 * write.
 */
EVFUT_API void evfut_writer_drive_init(struct evfut_write_op *op,
                                       struct evfut_writer *w);

#ifdef __cplusplus
}
#endif

#endif /* EVFUT_STREAM_H */
