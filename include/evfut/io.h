/*
 * evfut/io.h: the reactor. A registration ties one file descriptor to the
 * runtime's event_base: one persistent edge-triggered libevent event where
 * the backend has edges (epoll), one level-triggered event per direction,
 * watched only while that direction is not known ready, elsewhere (poll,
 * select). It caches readiness per direction (cleared only when an
 * operation returns EAGAIN: a short read proves nothing, see reactor.md)
 * and keeps a waker per pending operation, so any number of operations
 * may wait on one direction.
 *
 * The I/O futures below (read, read_exact, write_all, accept, connect,
 * UDP send/receive, readiness) complete with a byte count, a new file
 * descriptor, 0 or a negative errno in their result field: 0 bytes is end
 * of file; a reset peer is -ECONNRESET or -EPIPE; no call raises SIGPIPE.
 * A registration may carry a deadline (evfut_io_set_deadline()) that every
 * operation on it honours with -ETIMEDOUT, on one lazy timer.
 */
#ifndef EVFUT_IO_H
#define EVFUT_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "common.h"
#include "future.h"
#include "timer.h"
#include "waker.h"

#ifdef __cplusplus
extern "C" {
#endif

struct event;
struct evfut_io_op;
struct evfut_runtime;

/** Readiness directions. */
#define EVFUT_READABLE 1u /**< Data, a connection, end of file or error. */
#define EVFUT_WRITABLE 2u /**< Room to write, a connection result. */

/**
 * A registration of one file descriptor; embed it where the descriptor
 * lives (a connection struct). Every field is private.
 *
 * The registration must outlive the futures that use it: after
 * evfut_io_deregister() they complete with -EBADF at their next poll, but
 * they still read it.
 */
struct evfut_io {
	/* private */
	int fd;
	unsigned ready;         /* EVFUT_READABLE | EVFUT_WRITABLE */
	struct event *event;    /* NULL: not registered, or deregistered */
	struct event *level[2]; /* level-triggered backends: per direction */
	struct evfut_runtime *runtime;
	struct evfut_waker
	        waker[2]; /* evfut_io_poll_ready()'s, per direction */
	struct evfut_io_op *waiters[2]; /* pending operations, per direction */
	evfut_nsec deadline;            /* EVFUT_NO_DEADLINE: none */
	evfut_nsec timer_at; /* where timer is armed; EVFUT_NO_DEADLINE: not */
	struct evfut_sleep timer; /* armed at or before deadline, see
	                             reactor/deadline.c */
};

/** No deadline: evfut_io_set_deadline() with it disables the deadline. */
#define EVFUT_NO_DEADLINE EVFUT_NEVER

/**
 * Registers @p fd with @p rt and makes it non-blocking. @p io is retained
 * until evfut_io_deregister() or evfut_io_close(); @p fd stays the
 * caller's unless evfut_io_close() closes it.
 *
 * @return 0; -EINVAL if @p io or @p rt is NULL; -EBADF if @p fd is not an
 * open descriptor; -ENOMEM if the event could not be allocated; -EPERM if
 * the descriptor cannot be polled (a regular file on epoll; poll and
 * select accept it, always ready); -EMFILE on select for a descriptor at
 * or above FD_SETSIZE. The runtime's thread.
 */
EVFUT_API int evfut_io_register(struct evfut_io *io, struct evfut_runtime *rt,
                                int fd);

/**
 * Removes @p io from its runtime: the event is deleted, the deadline's
 * timer disarmed, the stored wakers are woken (their futures then complete
 * with -EBADF) and dropped. The descriptor is left open. NULL and a
 * deregistered @p io are allowed. Call it (or evfut_io_close()) before the
 * runtime is destroyed.
 */
EVFUT_API void evfut_io_deregister(struct evfut_io *io);

/**
 * evfut_io_deregister(), then closes the descriptor.
 *
 * @return 0, or the negative errno of close(2). NULL is allowed (0).
 */
EVFUT_API int evfut_io_close(struct evfut_io *io);

/** The descriptor of @p io, or -1 when it is deregistered. */
EVFUT_API int evfut_io_fd(const struct evfut_io *io);

/**
 * For hand-written I/O futures: whether @p io is ready in @p direction
 * (one of EVFUT_READABLE, EVFUT_WRITABLE). When it is not, the waker of
 * @p cx is stored as the direction's latest waker (one slot per direction
 * for hand-written futures; the next report wakes and releases it).
 *
 * @return 1 when ready; 0 when not (the waker is stored); -EBADF when the
 * registration was removed; -ETIMEDOUT when its deadline has passed (see
 * evfut_io_set_deadline(); the stored waker is woken when it passes);
 * -ENOMEM when the deadline's timer could not be armed; -EINVAL for a bad
 * argument.
 */
EVFUT_API int evfut_io_poll_ready(struct evfut_io *io, unsigned direction,
                                  struct evfut_context *cx);

/**
 * Sets the deadline of @p io: every operation on it (the I/O futures
 * below, evfut_io_poll_ready(), and so the streams built on it) that is
 * pending when @p deadline passes completes with -ETIMEDOUT, and one polled
 * after it completes with -ETIMEDOUT at once, even when data or room is
 * there (Go's SetDeadline, not tokio's timeout: once the deadline passed,
 * a peer that trickles bytes cannot keep an operation going). Setting a
 * later deadline, or EVFUT_NO_DEADLINE, makes operations started from then
 * on run again.
 *
 * @p deadline is absolute, on the runtime's clock (evfut_runtime_now()),
 * and counts from the runtime's latest clock reading, as evfut_sleep's do:
 * an operation is never failed before the deadline, and one pending then
 * is woken by the registration's timer. A deadline at or before the latest
 * reading wakes the pending operations at once.
 *
 * The registration owns one timer, which only ever moves earlier: moving
 * the deadline later (an idle timeout refreshed at each read) writes a
 * field and touches no timer; when the timer fires before the current
 * deadline it is re-armed once, at it. evfut_io_deregister() and
 * evfut_io_close() disarm it.
 *
 * @return 0; -EINVAL if @p io is NULL; -EBADF if @p io is not registered
 * (or was deregistered); -ENOMEM if the timer could not be armed (the
 * deadline is then unchanged). The runtime's thread.
 */
EVFUT_API int evfut_io_set_deadline(struct evfut_io *io, evfut_nsec deadline);

/**
 * The deadline of @p io, as evfut_io_set_deadline() set it.
 *
 * @return the deadline; EVFUT_NO_DEADLINE when none is set, and for NULL or
 * a registration that was removed. The runtime's thread.
 */
EVFUT_API evfut_nsec evfut_io_deadline(const struct evfut_io *io);

/**
 * For hand-written I/O futures: forgets the readiness of @p direction after
 * an operation returned EAGAIN, so that the next evfut_io_poll_ready()
 * waits for the next edge.
 */
EVFUT_API void evfut_io_clear_ready(struct evfut_io *io, unsigned direction);

/** Shuts down part of a connection: SHUT_RD, SHUT_WR or SHUT_RDWR.
 *  @return 0 or a negative errno of shutdown(2); -EBADF if deregistered. */
EVFUT_API int evfut_io_shutdown(struct evfut_io *io, int how);

/**
 * An I/O operation in progress; see the evfut_*_init() calls below.
 * Dropping a pending operation removes its waker from the registration, so
 * its task is not woken for it. Every operation completes with -EBADF
 * once its registration is removed, and with -ETIMEDOUT (or -ENOMEM if the
 * deadline's timer could not be armed) once its deadline passed, see
 * evfut_io_set_deadline().
 */
struct evfut_io_op {
	/* public */
	struct evfut_future base; /**< Poll and drop through this. */
	/* read-only */
	ssize_t result; /**< Bytes, the accepted fd, 0 or a negative errno. */
	/* private */
	struct evfut_io *io;
	void *buf;
	size_t len;
	size_t done;
	unsigned kind;
	struct evfut_waker waker;  /* while queued in the registration */
	struct evfut_io_op *next;  /* in the direction's waiters */
	struct evfut_io_op **link; /* what points here; NULL: not queued */
	struct sockaddr *addr;
	socklen_t *addrlen;
	socklen_t to_len;
	struct event *backoff; /* accept's delay when out of descriptors */
	struct evfut_waker backoff_waker;
};

/** Completes (result 0) once @p io is readable. */
EVFUT_API void evfut_readable_init(struct evfut_io_op *op, struct evfut_io *io);
/** Completes (result 0) once @p io is writable. */
EVFUT_API void evfut_writable_init(struct evfut_io_op *op, struct evfut_io *io);
/** Reads at most @p len bytes into @p buf (retained until completion);
 *  result: bytes read, 0 at end of file, or a negative errno. */
EVFUT_API void evfut_read_init(struct evfut_io_op *op, struct evfut_io *io,
                               void *buf, size_t len);
/** Reads exactly @p len bytes; result: @p len, or the bytes read before
 *  end of file (fewer than @p len), or a negative errno. */
EVFUT_API void evfut_read_exact_init(struct evfut_io_op *op,
                                     struct evfut_io *io, void *buf,
                                     size_t len);
/** Writes all @p len bytes of @p buf (retained until completion); result:
 *  @p len or a negative errno (-EPIPE, -ECONNRESET: the peer is gone). */
EVFUT_API void evfut_write_all_init(struct evfut_io_op *op, struct evfut_io *io,
                                    const void *buf, size_t len);
/**
 * Accepts a connection on the listening @p io; result: the new descriptor
 * (non-blocking, close-on-exec, now owned by the caller) or a negative
 * errno. @p addr and @p addrlen may be NULL. When the process is out of
 * descriptors (EMFILE, ENFILE) or memory, the operation backs off instead
 * of spinning: it waits, retries after a growing delay (1 ms up to 1 s),
 * and the loop keeps serving everything else meanwhile. Drop the operation
 * before destroying the runtime (tasks' futures are dropped by it).
 */
EVFUT_API void evfut_accept_init(struct evfut_io_op *op, struct evfut_io *io,
                                 struct sockaddr *addr, socklen_t *addrlen);
/** Completes the connection started by evfut_tcp_connect_start(),
 *  evfut_unix_connect_start() or evfut_io_connect_start() (evfut/net.h);
 *  result: 0 or the negative SO_ERROR (-ECONNREFUSED, -ETIMEDOUT, ...). */
EVFUT_API void evfut_connect_init(struct evfut_io_op *op, struct evfut_io *io);
/** Sends one datagram; result: bytes sent or a negative errno. */
EVFUT_API void evfut_send_to_init(struct evfut_io_op *op, struct evfut_io *io,
                                  const void *buf, size_t len,
                                  const struct sockaddr *to, socklen_t to_len);
/** Receives one datagram; result: its size or a negative errno. @p from and
 *  @p from_len may be NULL. */
EVFUT_API void evfut_recv_from_init(struct evfut_io_op *op, struct evfut_io *io,
                                    void *buf, size_t len,
                                    struct sockaddr *from, socklen_t *from_len);

/** evfut_tcp_listen() flags. */
#define EVFUT_REUSEPORT 1u /**< SO_REUSEPORT: one listener per runtime. */

/**
 * Creates a TCP listener on @p host (a numeric IPv4 or IPv6 address; NULL
 * for 127.0.0.1) and @p port (0 for any), with SO_REUSEADDR, and registers
 * it in @p io.
 *
 * @return 0; -EINVAL for a bad host or argument; the negative errno of
 * socket/bind/listen (-EADDRINUSE, -EMFILE, ...); -ENOMEM. On failure no
 * descriptor is left open.
 */
EVFUT_API int evfut_tcp_listen(struct evfut_io *io, struct evfut_runtime *rt,
                               const char *host, uint16_t port, int backlog,
                               unsigned flags);

/** The local port of a bound socket, or a negative errno. */
EVFUT_API int evfut_io_local_port(const struct evfut_io *io);

/**
 * Starts a non-blocking TCP connection to @p host:@p port (numeric
 * address) and registers the new socket in @p io; await the result with
 * evfut_connect_init().
 *
 * @return 0; -EINVAL for a bad address; a negative errno of socket or
 * connect that is known at once.
 */
EVFUT_API int evfut_tcp_connect_start(struct evfut_io *io,
                                      struct evfut_runtime *rt,
                                      const char *host, uint16_t port);

/** Sets TCP_NODELAY on (nonzero) or off. @return 0 or a negative errno. */
EVFUT_API int evfut_tcp_set_nodelay(struct evfut_io *io, int on);

/**
 * Creates a UDP socket bound to @p host:@p port (numeric; NULL for
 * 127.0.0.1; port 0 for any) and registers it in @p io.
 *
 * @return as evfut_tcp_listen().
 */
EVFUT_API int evfut_udp_bind(struct evfut_io *io, struct evfut_runtime *rt,
                             const char *host, uint16_t port);

/** A Unix-domain stream listener at @p path (which must not exist; see
 *  evfut_unix_listener_open() in evfut/net.h to replace a stale socket
 *  file and remove it at close).
 *  @return as evfut_tcp_listen(); -EINVAL for an empty path;
 *  -ENAMETOOLONG for a long path. */
EVFUT_API int evfut_unix_listen(struct evfut_io *io, struct evfut_runtime *rt,
                                const char *path, int backlog);

/** Starts a Unix-domain stream connection to @p path; see
 *  evfut_tcp_connect_start(). */
EVFUT_API int evfut_unix_connect_start(struct evfut_io *io,
                                       struct evfut_runtime *rt,
                                       const char *path);

#ifdef __cplusplus
}
#endif

#endif /* EVFUT_IO_H */
