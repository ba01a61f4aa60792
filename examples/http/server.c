/*
 * server.c: the accept loop and the graceful shutdown of one runtime.
 *
 * The server is the runtime's root future. It accepts connections and
 * spawns a task for each, up to its share of --max-connections; past it,
 * a connection is answered 503 and closed at once. When asked to stop (a
 * byte on its stop pipe, written by whichever server watches the signals)
 * it closes its listener, wakes every connection so that idle ones close,
 * and completes when the last connection is gone, or a little after the
 * grace deadline, when it cancels the stragglers.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "server.h"

/* How long after the grace deadline the server cancels what is left. */
#define BACKSTOP (EVFUT_SEC / 4)

static const char refusal[] = "HTTP/1.1 503 Service Unavailable\r\n"
                              "Content-Type: text/plain\r\n"
                              "Content-Length: 20\r\n"
                              "Connection: close\r\n"
                              "\r\n"
                              "Service Unavailable\n";

/* Past the connection cap: a best-effort 503 (the socket buffer is empty,
 * so it fits), then close. */
static void
refuse(int fd)
{
	ssize_t n = send(fd, refusal, sizeof(refusal) - 1,
	                 MSG_NOSIGNAL | MSG_DONTWAIT);

	(void)n;
	close(fd);
}

/* [accept] */
static enum evfut_poll
accept_loop(struct server *s, struct evfut_context *cx)
{
	for (;;) {
		if (evfut_future_poll(&s->accept.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		if (s->accept.result < 0)
			fprintf(stderr, "evfut-http: accept: %s\n",
			        strerror((int)-s->accept.result));
		else if (s->live >= s->max_live)
			refuse((int)s->accept.result);
		else
			conn_spawn(s, (int)s->accept.result, cx);
		evfut_accept_init(&s->accept, &s->listener, NULL, NULL);
	}
}
/* [accept] */

/* [stop] */
/* Whether a stop was asked; a signal stops every peer, this one too. */
static int
stop_requested(struct server *s, struct evfut_context *cx)
{
	unsigned i;

	if (s->watches_signals &&
	    evfut_future_poll(&s->signal.base, cx) == EVFUT_READY) {
		for (i = 0; i < s->npeers; i++)
			server_stop(s->peers[i]);
		return 1;
	}
	return evfut_future_poll(&s->stop_op.base, cx) == EVFUT_READY;
}

/* Stops accepting and tells every connection; idle ones close. */
static void
begin_drain(struct server *s, struct evfut_context *cx)
{
	struct conn *c;

	evfut_future_drop(&s->accept.base);
	evfut_io_close(&s->listener);
	s->draining = 1;
	s->grace_deadline = evfut_runtime_now(cx->runtime) + s->options->grace;
	evfut_sleep_until_init(&s->backstop, s->grace_deadline + BACKSTOP);
	for (c = s->conns; c != NULL; c = c->next)
		conn_wake(c);
}

static enum evfut_poll
server_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct server *s = evfut_container_of(self, struct server, base);

	if (!s->draining) {
		if (!stop_requested(s, cx))
			return accept_loop(s, cx);
		begin_drain(s, cx);
	}
	if (s->live == 0)
		return EVFUT_READY;
	evfut_waker_store(&s->waker, cx->waker);
	if (evfut_future_poll(&s->backstop.base, cx) == EVFUT_PENDING)
		return EVFUT_PENDING;
	evfut_runtime_shutdown(cx->runtime); /* cancels the stragglers */
	return EVFUT_READY;
}
/* [stop] */

void
server_forget(struct server *s)
{
	s->live--;
	if (s->draining && s->live == 0)
		evfut_waker_wake_by_ref(&s->waker);
}

void
server_stop(struct server *s)
{
	ssize_t n = write(s->stop_pipe[1], "", 1);

	(void)n; /* a full pipe already holds a stop */
}

static int
open_stop_pipe(struct server *s, struct evfut_runtime *rt)
{
	int rc;

	if (pipe(s->stop_pipe) < 0)
		return -errno;
	fcntl(s->stop_pipe[1], F_SETFL, O_NONBLOCK);
	fcntl(s->stop_pipe[0], F_SETFD, FD_CLOEXEC);
	fcntl(s->stop_pipe[1], F_SETFD, FD_CLOEXEC);
	rc = evfut_io_register(&s->stop_io, rt, s->stop_pipe[0]);
	if (rc < 0) {
		close(s->stop_pipe[0]);
		close(s->stop_pipe[1]);
		return rc;
	}
	evfut_readable_init(&s->stop_op, &s->stop_io);
	return 0;
}

int
server_init(struct server *s, struct evfut_runtime *rt,
            const struct http_options *options, uint16_t port,
            unsigned reuseport)
{
	int rc;

	memset(s, 0, sizeof(*s));
	s->base.poll = server_poll;
	s->rt = rt;
	s->options = options;
	s->max_live = (options->max_connections + options->threads - 1) /
	              options->threads;
	rc = evfut_tcp_listen(&s->listener, rt, options->host, port, 4096,
	                      reuseport ? EVFUT_REUSEPORT : 0);
	if (rc < 0)
		return rc;
	rc = open_stop_pipe(s, rt);
	if (rc < 0) {
		evfut_io_close(&s->listener);
		return rc;
	}
	evfut_accept_init(&s->accept, &s->listener, NULL, NULL);
	return 0;
}

int
server_port(const struct server *s)
{
	return evfut_io_local_port(&s->listener);
}

int
server_watch_signals(struct server *s, struct server **peers, unsigned npeers)
{
	static const int stop_signals[] = {SIGINT, SIGTERM};
	int rc;

	rc = evfut_signal_init(&s->signal, s->rt, stop_signals, 2);
	if (rc < 0)
		return rc;
	s->watches_signals = 1;
	s->peers = peers;
	s->npeers = npeers;
	return 0;
}

void
server_finish(struct server *s)
{
	if (s->watches_signals)
		evfut_future_drop(&s->signal.base);
	s->watches_signals = 0;
	if (s->draining)
		evfut_future_drop(&s->backstop.base);
	else
		evfut_future_drop(&s->accept.base);
	evfut_io_close(&s->listener);
	evfut_future_drop(&s->stop_op.base);
	evfut_io_close(&s->stop_io);
	close(s->stop_pipe[1]);
	evfut_waker_drop(&s->waker);
}
