/*
 * conn.c: one task per connection; it echoes what it reads, and closes
 * once the peer is gone or has sent nothing for the idle timeout.
 */
#define _POSIX_C_SOURCE 200809L

#include <unistd.h>

#include "echo.h"

/* [connection] */
struct connection {
	struct evfut_future base;
	int fd; /* registered on the first poll, in the task's copy */
	int registered;
	int writing; /* echoing what was read, not reading */
	struct echo_limits *limits;
	struct evfut_io io;
	struct evfut_io_op op;
	char buf[8192];
};

/* The idle timeout is the registration's deadline: every read and write
 * fails with -ETIMEDOUT once it passed. Moving it later after each read
 * is a field write; the registration's one timer is re-armed only when it
 * fires early. */
static void
refresh_idle(struct connection *c, struct evfut_context *cx)
{
	evfut_io_set_deadline(&c->io, evfut_runtime_now(cx->runtime) +
	                                      c->limits->idle_timeout);
}

static enum evfut_poll
connection_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct connection *c =
	        evfut_container_of(self, struct connection, base);

	if (!c->registered) {
		if (evfut_io_register(&c->io, cx->runtime, c->fd) < 0) {
			close(c->fd);
			return EVFUT_READY;
		}
		c->registered = 1;
		/* Small messages must not wait for Nagle's algorithm. */
		evfut_tcp_set_nodelay(&c->io, 1);
		refresh_idle(c, cx);
		evfut_read_init(&c->op, &c->io, c->buf, sizeof c->buf);
	}
	for (;;) {
		if (evfut_future_poll(&c->op.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		/* End of file, an error, or the idle timeout (-ETIMEDOUT). */
		if (c->op.result <= 0)
			return EVFUT_READY;
		if (c->writing) {
			evfut_read_init(&c->op, &c->io, c->buf, sizeof c->buf);
		} else {
			refresh_idle(c, cx);
			evfut_write_all_init(&c->op, &c->io, c->buf,
			                     (size_t)c->op.result);
		}
		c->writing = !c->writing;
	}
}

/* Runs when the task finishes or is cancelled. */
static void
connection_drop(struct evfut_future *self)
{
	struct connection *c =
	        evfut_container_of(self, struct connection, base);

	if (c->registered) {
		evfut_future_drop(&c->op.base);
		evfut_io_close(&c->io);
	}
	c->limits->live--;
}
/* [connection] */

void
echo_conn_spawn(struct echo_limits *limits, int fd, struct evfut_context *cx)
{
	struct connection c = {
	        .base = EVFUT_FUTURE_INIT(connection_poll, connection_drop),
	        .fd = fd,
	        .limits = limits,
	};

	/* Past the cap, a client learns it at once from the close. */
	if (limits->live >= limits->max_connections) {
		close(fd);
		return;
	}
	limits->live++;
	if (evfut_task_spawn(cx->runtime, &c.base, sizeof c) < 0) {
		limits->live--;
		close(fd);
	}
}
