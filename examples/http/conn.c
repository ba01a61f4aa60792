/*
 * conn.c: the connection task, a hand-written future. Its poll loops over
 * one I/O operation at a time (read requests, write the answers, linger
 * before closing), under the registration's deadline (which fails the
 * operation with -ETIMEDOUT), set before each poll of the operation to
 * where the connection is:
 *
 *   between requests    last activity + --idle-timeout (now, when draining)
 *   reading a head      the head's first byte + --header-timeout (absolute)
 *   reading a body      last activity + --idle-timeout
 *   writing             the write's start + --idle-timeout
 *   lingering           the last answer + LINGER_MAX
 *
 * and never past the grace deadline of a shutdown.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "response.h"
#include "server.h"

/* How long a closing connection reads what its peer still sends. */
#define LINGER_MAX (2 * EVFUT_SEC)

static void
start_read(struct conn *c)
{
	c->state = CONN_READ;
	c->in_pos = 0;
	c->in_len = 0;
	evfut_read_init(&c->op, &c->io, c->in, sizeof(c->in));
}

static void
start_write(struct conn *c, evfut_nsec now)
{
	c->state = CONN_WRITE;
	c->last_active = now;
	evfut_write_all_init(&c->op, &c->io, c->out, c->out_len);
}

/*
 * After the last answer: send FIN, then read and discard until the peer
 * closes. Closing at once with unread input would send a reset, and a
 * reset can destroy the answer in the peer's buffer before it reads it.
 */
static void
start_linger(struct conn *c, evfut_nsec now)
{
	evfut_io_shutdown(&c->io, SHUT_WR);
	start_read(c);
	c->state = CONN_LINGER;
	c->last_active = now;
}

/* [answer] */
/* Queues the answer to @p req; room for it was checked by the caller. */
static void
answer(struct conn *c, const struct http_request *req)
{
	unsigned close = req->close || c->server->draining;
	unsigned flags = 0;

	if (close)
		flags |= HTTP_RESPONSE_CLOSE;
	else if (req->keep_alive_10)
		flags |= HTTP_RESPONSE_KEEP_ALIVE;
	if (req->head)
		flags |= HTTP_RESPONSE_NO_BODY;
	if (req->http09)
		flags |= HTTP_RESPONSE_BODY_ONLY;
	c->out_len += http_response_format(
	        c->out + c->out_len, sizeof(c->out) - c->out_len, req->status,
	        flags, &c->server->date);
	c->closing = close;
}

/*
 * Parses what was read and queues one answer per request, in order, so
 * that pipelined requests are answered by one write. A head that expects
 * 100-continue gets its interim answer at once, before its body is read
 * (RFC 9110 10.1.1). Stops early when the answers fill the output buffer
 * (the rest is parsed after the write) or when the connection is to close.
 */
static void
parse(struct conn *c)
{
	enum http_read read;
	size_t used;

	http_date_update(&c->server->date);
	while (c->in_pos < c->in_len && !c->closing &&
	       sizeof(c->out) - c->out_len >= HTTP_RESPONSE_MAX) {
		read = http_reader_feed(&c->reader, c->in + c->in_pos,
		                        c->in_len - c->in_pos, &used);
		c->in_pos += used;
		if (read == HTTP_READ_MORE)
			break;
		if (read == HTTP_READ_CONTINUE) {
			c->out_len += http_response_continue(
			        c->out + c->out_len,
			        sizeof(c->out) - c->out_len);
			continue;
		}
		c->head_start = 0;
		answer(c, &c->reader.request);
	}
}
/* [answer] */

/* Parses the input left, then writes the answers or reads on. */
static void
after_input(struct conn *c, evfut_nsec now)
{
	parse(c);
	if (c->reader.phase != HTTP_PHASE_IDLE && c->head_start == 0)
		c->head_start = now;
	if (c->out_len > 0)
		start_write(c, now);
	else
		start_read(c);
}

/* [step] */
/* The operation of @p c completed; @return 1 when the task is done. */
static int
step(struct conn *c, evfut_nsec now)
{
	ssize_t result = c->op.result;

	switch (c->state) {
	case CONN_READ:
		if (result <= 0) /* end of file, or an error */
			return 1;
		c->in_len = (size_t)result;
		c->last_active = now;
		after_input(c, now);
		return 0;
	case CONN_WRITE:
		if (result < 0)
			return 1;
		c->out_len = 0;
		if (c->closing)
			start_linger(c, now);
		else
			after_input(c, now);
		return 0;
	default: /* CONN_LINGER: discard until end of file */
		if (result <= 0)
			return 1;
		start_read(c);
		c->state = CONN_LINGER;
		return 0;
	}
}
/* [step] */

/* [deadline] */
/* When the current wait of @p c ends; see the table at the top. */
static evfut_nsec
deadline_of(const struct conn *c)
{
	const struct server *s = c->server;
	evfut_nsec want;

	if (c->state == CONN_READ && c->reader.phase == HTTP_PHASE_HEAD)
		want = c->head_start + s->options->header_timeout;
	else if (c->state == CONN_READ && c->reader.phase == HTTP_PHASE_IDLE)
		want = s->draining ? 0
		                   : c->last_active + s->options->idle_timeout;
	else if (c->state == CONN_LINGER)
		want = c->last_active + LINGER_MAX;
	else
		want = c->last_active + s->options->idle_timeout;
	if (s->draining && s->grace_deadline < want)
		want = s->grace_deadline;
	return want;
}

/*
 * The deadline passed: a request half read gets 408 and the connection
 * closes after it; anything else closes now. @return 1 when done.
 */
static int
expired(struct conn *c, evfut_nsec now)
{
	struct http_request timeout = {.status = 408, .close = 1};

	evfut_future_drop(&c->op.base);
	if (c->state != CONN_READ || c->reader.phase == HTTP_PHASE_IDLE)
		return 1;
	if (c->server->draining && now >= c->server->grace_deadline)
		return 1;
	http_date_update(&c->server->date);
	answer(c, &timeout);
	start_write(c, now);
	return 0;
}
/* [deadline] */

/* The first poll, in the task's copy: the registration must not move. */
static int
start(struct conn *c, struct evfut_context *cx)
{
	struct server *s = c->server;

	if (evfut_io_register(&c->io, cx->runtime, c->fd) < 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	evfut_tcp_set_nodelay(&c->io, 1);
	c->waker = evfut_waker_clone(cx->waker);
	c->next = s->conns;
	if (s->conns != NULL)
		s->conns->prev = c;
	s->conns = c;
	http_reader_init(&c->reader);
	c->last_active = evfut_runtime_now(cx->runtime);
	start_read(c);
	return 0;
}

/* [poll] */
static enum evfut_poll
conn_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct conn *c = evfut_container_of(self, struct conn, base);

	if (c->state == CONN_START && start(c, cx) < 0)
		return EVFUT_READY;
	for (;;) {
		/* Later than before (most often): a field write. */
		evfut_io_set_deadline(&c->io, deadline_of(c));
		if (evfut_future_poll(&c->op.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		if (c->op.result == -ETIMEDOUT) {
			if (expired(c, evfut_runtime_now(cx->runtime)))
				return EVFUT_READY;
		} else if (step(c, evfut_runtime_now(cx->runtime))) {
			return EVFUT_READY;
		}
	}
}

/* Runs when the task completes or is cancelled. */
static void
conn_drop(struct evfut_future *self)
{
	struct conn *c = evfut_container_of(self, struct conn, base);
	struct server *s = c->server;

	if (c->state != CONN_START) {
		evfut_future_drop(&c->op.base);
		evfut_io_close(&c->io); /* and its deadline */
		if (c->prev != NULL)
			c->prev->next = c->next;
		else
			s->conns = c->next;
		if (c->next != NULL)
			c->next->prev = c->prev;
		evfut_waker_drop(&c->waker);
	} else if (c->fd >= 0) {
		close(c->fd);
	}
	server_forget(s);
}
/* [poll] */

int
conn_spawn(struct server *s, int fd, struct evfut_context *cx)
{
	struct conn c = {
	        .base = EVFUT_FUTURE_INIT(conn_poll, conn_drop),
	        .server = s,
	        .fd = fd,
	        .state = CONN_START,
	};
	int rc;

	rc = evfut_task_spawn(cx->runtime, &c.base, sizeof(c));
	if (rc < 0) {
		close(fd);
		return rc;
	}
	s->live++;
	return 0;
}

void
conn_wake(struct conn *c)
{
	evfut_waker_wake_by_ref(&c->waker);
}
