/*
 * Futures and helpers shared by the reactor suites; see reactor-util.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "reactor-util.h"

/* echo_conn */

static enum evfut_poll
echo_conn_finish(struct echo_conn *c, ssize_t result)
{
	c->stats->finished++;
	if (result < 0)
		c->stats->errors++;
	evfut_io_close(&c->io);
	c->registered = false;
	c->fd = -1;
	return EVFUT_READY;
}

static enum evfut_poll
echo_conn_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct echo_conn *c = evfut_container_of(self, struct echo_conn, base);

	if (!c->registered) {
		if (c->bufsize != 0)
			set_buffers(c->fd, c->bufsize);
		ck_assert_int_eq(evfut_io_register(&c->io, cx->runtime, c->fd),
		                 0);
		c->registered = true;
		evfut_read_init(&c->op, &c->io, c->buf, sizeof(c->buf));
	}
	for (;;) {
		if (evfut_future_poll(&c->op.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		if (c->op.result <= 0)
			return echo_conn_finish(c, c->op.result);
		if (c->writing) {
			c->stats->bytes += (uint64_t)c->op.result;
			evfut_read_init(&c->op, &c->io, c->buf, sizeof(c->buf));
		} else {
			evfut_write_all_init(&c->op, &c->io, c->buf,
			                     (size_t)c->op.result);
		}
		c->writing = !c->writing;
	}
}

/* Cancellation: the runtime was destroyed with the connection open. */
static void
echo_conn_drop(struct evfut_future *self)
{
	struct echo_conn *c = evfut_container_of(self, struct echo_conn, base);

	if (c->registered) {
		evfut_future_drop(&c->op.base);
		evfut_io_close(&c->io);
	} else if (c->fd >= 0) {
		close(c->fd);
	}
}

void
echo_conn_init(struct echo_conn *c, int fd, int bufsize,
               struct echo_stats *stats)
{
	memset(c, 0, sizeof(*c));
	c->base.poll = echo_conn_poll;
	c->base.drop = echo_conn_drop;
	c->fd = fd;
	c->bufsize = bufsize;
	c->stats = stats;
}

/* server */

static enum evfut_poll
server_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct server *s = evfut_container_of(self, struct server, base);
	struct server_shared *sh = s->shared;
	struct echo_conn c;

	for (;;) {
		if (sh->stop || sh->accepted >= sh->max) {
			evfut_future_drop(&s->accept.base);
			evfut_io_close(&sh->listener);
			return EVFUT_READY;
		}
		if (!s->started) {
			evfut_accept_init(&s->accept, &sh->listener, NULL,
			                  NULL);
			s->started = true;
		}
		if (evfut_future_poll(&s->accept.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		s->started = false;
		ck_assert_msg(s->accept.result >= 0, "accept: %s",
		              strerror((int)-s->accept.result));
		echo_conn_init(&c, (int)s->accept.result, sh->bufsize,
		               &sh->echo);
		ck_assert_int_eq(
		        evfut_task_spawn(cx->runtime, &c.base, sizeof(c)), 0);
		sh->accepted++;
		evfut_waker_wake_by_ref(&sh->waiter);
	}
}

static void
server_drop(struct evfut_future *self)
{
	struct server *s = evfut_container_of(self, struct server, base);

	if (s->started)
		evfut_future_drop(&s->accept.base);
}

void
server_init(struct server *s, struct server_shared *shared)
{
	memset(s, 0, sizeof(*s));
	s->base.poll = server_poll;
	s->base.drop = server_drop;
	s->shared = shared;
}

/* client */

enum {
	CLIENT_START,
	CLIENT_CONNECTING,
	CLIENT_TRANSFER,
	CLIENT_EOF,
	CLIENT_DONE,
};

static enum evfut_poll
client_finish(struct client *c, int status)
{
	c->result->status = status;
	c->result->done = true;
	if (c->registered) {
		evfut_future_drop(&c->wr.base);
		evfut_future_drop(&c->rd.base);
		evfut_io_close(&c->io);
		c->registered = false;
	}
	free(c->out);
	free(c->in);
	c->out = NULL;
	c->in = NULL;
	c->state = CLIENT_DONE;
	return EVFUT_READY;
}

static int
client_start(struct client *c, struct evfut_runtime *rt)
{
	switch (c->kind) {
	case CLIENT_FD:
		return evfut_io_register(&c->io, rt, c->fd);
	case CLIENT_TCP:
		return evfut_tcp_connect_start(&c->io, rt, "127.0.0.1",
		                               c->port);
	default:
		return evfut_unix_connect_start(&c->io, rt, c->path);
	}
}

/* Writes and reads at once, so that neither side's buffer fills up. */
static enum evfut_poll
client_transfer(struct client *c, struct evfut_context *cx)
{
	if (!c->wrote && evfut_future_poll(&c->wr.base, cx) == EVFUT_READY) {
		c->wrote = true;
		if (c->wr.result != (ssize_t)c->len)
			return client_finish(c, (int)c->wr.result);
	}
	if (!c->read && evfut_future_poll(&c->rd.base, cx) == EVFUT_READY) {
		c->read = true;
		if (c->rd.result != (ssize_t)c->len)
			return client_finish(
			        c, c->rd.result < 0 ? (int)c->rd.result : -EIO);
	}
	if (!c->wrote || !c->read)
		return EVFUT_PENDING;
	if (memcmp(c->in, c->out, c->len) != 0)
		return client_finish(c, -EILSEQ);
	c->result->verified = c->len;
	ck_assert_int_eq(evfut_io_shutdown(&c->io, SHUT_WR), 0);
	evfut_read_init(&c->rd, &c->io, c->in, 1);
	c->state = CLIENT_EOF;
	return EVFUT_READY;
}

static enum evfut_poll
client_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct client *c = evfut_container_of(self, struct client, base);
	int rc;

	c->result->polls++;
	switch (c->state) {
	case CLIENT_START:
		rc = client_start(c, cx->runtime);
		if (rc < 0)
			return client_finish(c, rc);
		c->registered = true;
		if (c->bufsize != 0)
			set_buffers(evfut_io_fd(&c->io), c->bufsize);
		c->out = malloc(c->len);
		c->in = malloc(c->len + 1);
		ck_assert(c->out != NULL && c->in != NULL);
		pattern_fill(c->out, c->len, c->seed);
		evfut_connect_init(&c->wr, &c->io);
		c->state = CLIENT_CONNECTING;
		/* fall through */
	case CLIENT_CONNECTING:
		if (evfut_future_poll(&c->wr.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		if (c->wr.result < 0)
			return client_finish(c, (int)c->wr.result);
		evfut_write_all_init(&c->wr, &c->io, c->out, c->len);
		evfut_read_exact_init(&c->rd, &c->io, c->in, c->len);
		c->state = CLIENT_TRANSFER;
		/* fall through */
	case CLIENT_TRANSFER:
		if (client_transfer(c, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		if (c->state != CLIENT_EOF)
			return EVFUT_READY;
		/* fall through */
	case CLIENT_EOF:
		if (evfut_future_poll(&c->rd.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		return client_finish(c, c->rd.result == 0
		                                ? 0
		                                : (c->rd.result < 0
		                                           ? (int)c->rd.result
		                                           : -EPROTO));
	default:
		return EVFUT_READY;
	}
}

static void
client_drop(struct evfut_future *self)
{
	struct client *c = evfut_container_of(self, struct client, base);

	if (c->state != CLIENT_DONE && c->state != CLIENT_START)
		client_finish(c, -ECANCELED);
}

void
client_init(struct client *c, enum client_kind kind, size_t len, unsigned seed,
            struct client_result *result)
{
	memset(c, 0, sizeof(*c));
	memset(result, 0, sizeof(*result));
	c->base.poll = client_poll;
	c->base.drop = client_drop;
	c->kind = kind;
	c->fd = -1;
	c->len = len;
	c->seed = seed;
	c->result = result;
	result->status = -EINPROGRESS;
}

/* helpers */

unsigned char
pattern_byte(unsigned seed, size_t i)
{
	uint32_t x = (uint32_t)(i * 2654435761u) ^ (seed * 40503u + 17u);

	return (unsigned char)(x ^ (x >> 13) ^ (x >> 24));
}

void
pattern_fill(unsigned char *buf, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pattern_byte(seed, i);
}

void
set_buffers(int fd, int bytes)
{
	ck_assert_int_eq(
	        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes)),
	        0);
	ck_assert_int_eq(
	        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)),
	        0);
}

void
make_socketpair(int fds[2])
{
	ck_assert_int_eq(
	        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
}

/* A connected loopback TCP pair: @fds[0] accepted, @fds[1] the client. */
void
tcp_socket_pair(int fds[2])
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	socklen_t len = sizeof(addr);
	int listener = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(listener, 0);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(listener, (struct sockaddr *)&addr, len), 0);
	ck_assert_int_eq(listen(listener, 1), 0);
	ck_assert_int_eq(getsockname(listener, (struct sockaddr *)&addr, &len),
	                 0);
	fds[1] = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(fds[1], (struct sockaddr *)&addr, len), 0);
	fds[0] = accept(listener, NULL, NULL);
	ck_assert_int_ge(fds[0], 0);
	close(listener);
}

/* Closes @fd with SO_LINGER 0: the peer gets a reset. */
void
close_with_reset(int fd)
{
	struct linger lg = {1, 0};

	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)),
	                 0);
	close(fd);
}

struct evfut_context
counter_context(const struct evfut_waker *waker)
{
	struct evfut_context cx = {waker, harness_rt};

	return cx;
}

void
loop_once(bool block)
{
	ck_assert_int_ge(
	        event_base_loop(evfut_runtime_event_base(harness_rt),
	                        EVLOOP_ONCE | (block ? 0 : EVLOOP_NONBLOCK)),
	        0);
}

static int
count_timeouts(const struct event_base *base, const struct event *ev, void *arg)
{
	(void)base;
	if (!(event_get_events(ev) & (EV_READ | EV_WRITE | EV_SIGNAL)))
		++*(int *)arg;
	return 0;
}

int
events_per_io(void)
{
	return event_base_get_features(evfut_runtime_event_base(harness_rt)) &
	                       EV_FEATURE_ET
	               ? 1
	               : 2;
}

bool
backend_is(const char *method)
{
	return strcmp(event_base_get_method(
	                      evfut_runtime_event_base(harness_rt)),
	              method) == 0;
}

int
added_events(struct event_base *base)
{
	int timeouts = 0;

	/* The foreach sees libevent's internal events too; the count not. */
	ck_assert_int_eq(
	        event_base_foreach_event(base, count_timeouts, &timeouts), 0);
	return event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED) -
	       timeouts;
}

void
await(struct evfut_future *future)
{
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, future), 0);
}

void
await_or_fail(struct evfut_future *future, unsigned seconds)
{
	struct evfut_timeout timeout;

	ck_assert_int_eq(evfut_timeout_init(&timeout, future,
	                                    (evfut_nsec)seconds * EVFUT_SEC),
	                 0);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &timeout.base), 0);
	evfut_future_drop(&timeout.base);
	ck_assert_msg(timeout.result == 0,
	              "the future did not complete within %u s: a lost "
	              "wakeup? (%d)",
	              seconds, timeout.result);
}

static enum evfut_poll
wait_count_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct wait_count *w =
	        evfut_container_of(self, struct wait_count, base);

	if (*w->counter >= w->target) {
		evfut_waker_drop(w->slot);
		return EVFUT_READY;
	}
	evfut_waker_store(w->slot, cx->waker);
	return EVFUT_PENDING;
}

void
wait_count_init(struct wait_count *w, const unsigned long *counter,
                unsigned long target, struct evfut_waker *slot)
{
	w->base.poll = wait_count_poll;
	w->base.drop = NULL;
	w->counter = counter;
	w->target = target;
	w->slot = slot;
}
