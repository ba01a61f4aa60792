/*
 * evfut-echo: an echo server, one task per connection.
 *
 * Run: ./build/demo/examples/echo/evfut-echo [--port PORT] [--host ADDR]
 *      then, e.g.: socat - TCP:127.0.0.1:7007
 *  or: evfut-echo --unix /tmp/echo.sock; socat - UNIX-CONNECT:/tmp/echo.sock
 *
 * It prints "listening on HOST:PORT" (or "listening on PATH") once ready.
 * A connection that sends nothing for --idle-timeout is closed; past
 * --max-connections, a new connection is accepted and closed at once.
 * SIGINT or SIGTERM stops it (connections still open are cancelled, the
 * socket file is removed). Bad arguments exit 2, failures 1.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../common/listener.h"
#include "echo.h"

/* [server] */
struct server {
	struct evfut_future base;
	struct listener listener;
	struct evfut_io_op accept;
	struct evfut_signal stop;
	struct echo_limits limits;
};

static enum evfut_poll
server_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct server *s = evfut_container_of(self, struct server, base);

	for (;;) {
		if (evfut_future_poll(&s->stop.base, cx) == EVFUT_READY)
			return EVFUT_READY;
		if (evfut_future_poll(&s->accept.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		if (s->accept.result >= 0)
			echo_conn_spawn(&s->limits, (int)s->accept.result, cx);
		else
			fprintf(stderr, "evfut-echo: accept: %s\n",
			        strerror((int)-s->accept.result));
		evfut_accept_init(&s->accept, s->listener.io, NULL, NULL);
	}
}
/* [server] */

int
main(int argc, char **argv)
{
	static const int stop_signals[] = {SIGINT, SIGTERM};
	struct server server = {.base = EVFUT_FUTURE_INIT(server_poll, NULL)};
	struct echo_options options;
	struct evfut_runtime *rt;
	int rc;

	rc = echo_options_parse(&options, argc, argv);
	if (rc >= 0)
		return rc;
	server.limits.idle_timeout = options.idle_timeout;
	server.limits.max_connections = options.max_connections;
	rc = evfut_runtime_create(&rt, NULL);
	if (rc < 0)
		goto fail;
	rc = listener_open(&server.listener, rt, options.host, options.port,
	                   options.unix_path);
	if (rc < 0)
		goto fail_listen;
	rc = evfut_signal_init(&server.stop, rt, stop_signals, 2);
	if (rc < 0)
		goto fail_signal;
	evfut_accept_init(&server.accept, server.listener.io, NULL, NULL);
	fflush(stdout);
	rc = evfut_runtime_block_on(rt, &server.base);
	evfut_future_drop(&server.stop.base);
fail_signal:
	evfut_future_drop(&server.accept.base);
	listener_close(&server.listener);
fail_listen:
	evfut_runtime_destroy(rt);
	if (rc == 0)
		return 0;
fail:
	fprintf(stderr, "evfut-echo: %s%s%s\n",
	        options.unix_path != NULL ? options.unix_path : "",
	        options.unix_path != NULL ? ": " : "", strerror(-rc));
	return 1;
}
