/*
 * evfut-chat: a line-based chat server with rooms, one task per client.
 *
 * Run: ./build/gcc/examples/chat/evfut-chat [--port PORT] [--host ADDR]
 *      then, in two terminals: socat - TCP:127.0.0.1:7008
 *      and type "JOIN lobby", then "MSG hello" in one of them.
 *  or: evfut-chat --unix /tmp/chat.sock; socat - UNIX-CONNECT:/tmp/chat.sock
 *
 * It prints "listening on HOST:PORT" (or "listening on PATH") once ready.
 * The protocol is in docs/chat.md. A client that sends no line for
 * --idle-timeout is closed; a member with more than --high-water bytes
 * queued (a reader too slow for its room) is dropped. SIGINT or SIGTERM
 * stops accepting, flushes what is queued to each client within --grace,
 * closes them all, removes the socket file and exits 0. Bad arguments
 * exit 2, failures 1.
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../common/listener.h"
#include "chat.h"

/* [server] */
struct server {
	struct evfut_future base;
	struct chat_server chat;
	struct listener listener;
	struct evfut_io_op accept;
	struct evfut_signal stop;
	struct evfut_notified all_gone;
	int stopping;
};

/* The signal came: no new client; each one flushes and closes. */
static void
begin_stop(struct server *s)
{
	s->stopping = 1;
	evfut_future_drop(&s->accept.base);
	listener_close(&s->listener);
	chat_server_stop(&s->chat);
	evfut_notified_init(&s->all_gone, &s->chat.all_gone);
}

static enum evfut_poll
server_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct server *s = evfut_container_of(self, struct server, base);

	while (!s->stopping) {
		if (evfut_future_poll(&s->stop.base, cx) == EVFUT_READY) {
			begin_stop(s);
			break;
		}
		if (evfut_future_poll(&s->accept.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		if (s->accept.result >= 0)
			chat_conn_spawn(&s->chat, (int)s->accept.result, cx);
		else
			fprintf(stderr, "evfut-chat: accept: %s\n",
			        strerror((int)-s->accept.result));
		evfut_accept_init(&s->accept, s->listener.io, NULL, NULL);
	}
	/* The last connection dropped notifies; a permit is not lost. */
	while (s->chat.live > 0)
		if (evfut_future_poll(&s->all_gone.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		else
			evfut_notified_init(&s->all_gone, &s->chat.all_gone);
	return EVFUT_READY;
}
/* [server] */

int
main(int argc, char **argv)
{
	static const int stop_signals[] = {SIGINT, SIGTERM};
	struct server server = {.base = EVFUT_FUTURE_INIT(server_poll, NULL)};
	struct chat_options options;
	struct evfut_runtime *rt;
	int rc;

	rc = chat_options_parse(&options, argc, argv);
	if (rc >= 0)
		return rc;
	rc = chat_server_init(&server.chat, &options);
	if (rc < 0)
		goto fail;
	rc = evfut_runtime_create(&rt, NULL);
	if (rc < 0)
		goto fail_runtime;
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
	if (server.stopping)
		evfut_future_drop(&server.all_gone.base);
fail_signal:
	if (!server.stopping) {
		evfut_future_drop(&server.accept.base);
		listener_close(&server.listener);
	}
fail_listen:
	evfut_runtime_destroy(rt);
fail_runtime:
	chat_server_finish(&server.chat);
	if (rc == 0)
		return 0;
fail:
	fprintf(stderr, "evfut-chat: %s%s%s\n",
	        options.unix_path != NULL ? options.unix_path : "",
	        options.unix_path != NULL ? ": " : "", strerror(-rc));
	return 1;
}
