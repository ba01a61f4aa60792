/*
 * evfut-echo: a TCP echo server, one task per connection.
 *
 * Run: ./build/demo/examples/evfut-echo [--port PORT] [--host ADDR]
 *      then, e.g.: socat - TCP:127.0.0.1:7007
 *
 * It prints "listening on HOST:PORT" once ready; SIGINT or SIGTERM stops
 * it (connections still open are cancelled).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <evfut.h>

/* [connection] */
struct connection {
	struct evfut_future base;
	int fd; /* registered on the first poll, in the task's copy */
	int registered;
	int writing; /* echoing what was read, not reading */
	struct evfut_io io;
	struct evfut_io_op op;
	char buf[8192];
};

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
		evfut_read_init(&c->op, &c->io, c->buf, sizeof c->buf);
	}
	for (;;) {
		if (evfut_future_poll(&c->op.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		if (c->op.result <= 0) /* end of file, or an error */
			return EVFUT_READY;
		if (c->writing)
			evfut_read_init(&c->op, &c->io, c->buf, sizeof c->buf);
		else
			evfut_write_all_init(&c->op, &c->io, c->buf,
			                     (size_t)c->op.result);
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
}
/* [connection] */

/* [server] */
struct server {
	struct evfut_future base;
	struct evfut_io listener;
	struct evfut_io_op accept;
	struct evfut_signal stop;
};

static enum evfut_poll
server_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct server *s = evfut_container_of(self, struct server, base);
	struct connection c = {
	        .base = EVFUT_FUTURE_INIT(connection_poll, connection_drop),
	};

	for (;;) {
		if (evfut_future_poll(&s->stop.base, cx) == EVFUT_READY)
			return EVFUT_READY;
		if (evfut_future_poll(&s->accept.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		if (s->accept.result >= 0) {
			c.fd = (int)s->accept.result;
			if (evfut_task_spawn(cx->runtime, &c.base, sizeof c) <
			    0)
				close(c.fd);
		} else {
			fprintf(stderr, "evfut-echo: accept: %s\n",
			        strerror((int)-s->accept.result));
		}
		evfut_accept_init(&s->accept, &s->listener, NULL, NULL);
	}
}
/* [server] */

static int
usage(const char *bad)
{
	fprintf(stderr,
	        "evfut-echo: bad argument: %s\n"
	        "usage: evfut-echo [--port PORT] [--host ADDR]\n",
	        bad);
	return 2;
}

static int
parse_args(int argc, char **argv, const char **host, uint16_t *port)
{
	char *end;
	long value;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) {
			*host = argv[++i];
		} else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
			value = strtol(argv[++i], &end, 10);
			if (*end != '\0' || value < 0 || value > 65535)
				return usage(argv[i]);
			*port = (uint16_t)value;
		} else {
			return usage(argv[i]);
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const int stop_signals[] = {SIGINT, SIGTERM};
	struct server server = {.base = EVFUT_FUTURE_INIT(server_poll, NULL)};
	const char *host = "127.0.0.1";
	uint16_t port = 7007;
	struct evfut_runtime *rt;
	int rc;

	rc = parse_args(argc, argv, &host, &port);
	if (rc != 0)
		return rc;
	rc = evfut_runtime_create(&rt, NULL);
	if (rc < 0)
		goto fail;
	rc = evfut_tcp_listen(&server.listener, rt, host, port, 1024, 0);
	if (rc < 0)
		goto fail_listen;
	rc = evfut_signal_init(&server.stop, rt, stop_signals, 2);
	if (rc < 0)
		goto fail_signal;
	evfut_accept_init(&server.accept, &server.listener, NULL, NULL);
	printf("listening on %s:%d\n", host,
	       evfut_io_local_port(&server.listener));
	fflush(stdout);
	rc = evfut_runtime_block_on(rt, &server.base);
	evfut_future_drop(&server.stop.base);
fail_signal:
	evfut_future_drop(&server.accept.base);
	evfut_io_close(&server.listener);
fail_listen:
	evfut_runtime_destroy(rt);
	if (rc == 0)
		return 0;
fail:
	fprintf(stderr, "evfut-echo: %s\n", strerror(-rc));
	return 1;
}
