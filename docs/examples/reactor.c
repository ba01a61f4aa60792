/*
 * reactor: an echo over a socketpair, both ends driven by futures: one
 * task writes a message and reads the echo back, another echoes.
 *
 * Run: ./build/gcc/docs/examples/reactor
 */
#define _POSIX_C_SOURCE 200809L

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <evfut.h>

/* [echo-once] */
/* Reads once from its registration and writes back what it read. */
struct echo_once {
	struct evfut_future base;
	struct evfut_io *io;
	struct evfut_io_op op;
	int step;
	char buf[64];
};

static enum evfut_poll
echo_once_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct echo_once *e = evfut_container_of(self, struct echo_once, base);

	if (e->step == 0) {
		evfut_read_init(&e->op, e->io, e->buf, sizeof e->buf);
		e->step = 1;
	}
	if (evfut_future_poll(&e->op.base, cx) == EVFUT_PENDING)
		return EVFUT_PENDING;
	if (e->step == 1 && e->op.result > 0) {
		evfut_write_all_init(&e->op, e->io, e->buf,
		                     (size_t)e->op.result);
		e->step = 2;
		return echo_once_poll(self, cx);
	}
	return EVFUT_READY;
}
/* [echo-once] */

/* [client] */
struct client {
	struct evfut_future base;
	struct evfut_io *io;
	struct evfut_io_op op;
	int step;
	char reply[64];
};

static enum evfut_poll
client_poll(struct evfut_future *self, struct evfut_context *cx)
{
	static const char message[] = "hello, reactor";
	struct client *c = evfut_container_of(self, struct client, base);

	switch (c->step) {
	case 0:
		evfut_write_all_init(&c->op, c->io, message, sizeof message);
		c->step = 1;
		/* fall through */
	case 1:
		if (evfut_future_poll(&c->op.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		evfut_read_exact_init(&c->op, c->io, c->reply, sizeof message);
		c->step = 2;
		/* fall through */
	default:
		if (evfut_future_poll(&c->op.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		return EVFUT_READY;
	}
}
/* [client] */

int
main(void)
{
	struct evfut_io ends[2];
	struct evfut_runtime *rt;
	struct echo_once echo = {
	        .base = EVFUT_FUTURE_INIT(echo_once_poll, NULL),
	        .io = &ends[1],
	};
	struct client client = {.base = EVFUT_FUTURE_INIT(client_poll, NULL),
	                        .io = &ends[0]};
	int fds[2];
	int ok;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0 ||
	    evfut_runtime_create(&rt, NULL) < 0)
		return 1;
	evfut_io_register(&ends[0], rt, fds[0]);
	evfut_io_register(&ends[1], rt, fds[1]);
	evfut_task_spawn(rt, &echo.base, sizeof echo);
	evfut_runtime_block_on(rt, &client.base);
	ok = client.op.result == sizeof "hello, reactor" &&
	     strcmp(client.reply, "hello, reactor") == 0;
	evfut_io_close(&ends[0]);
	evfut_io_close(&ends[1]);
	evfut_runtime_run(rt);
	evfut_runtime_destroy(rt);
	return ok ? 0 : 1;
}
