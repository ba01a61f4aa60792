/*
 * conn.c: one task per client. It waits on three futures at once in one
 * wait set: the next line, the writer's background drive and a kick from
 * the server (shutdown, or too slow a reader). The idle timeout is the
 * registration's deadline, moved on at every line: no timer per read.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chat.h"

enum { CHILD_LINE, CHILD_DRIVE, CHILD_KICK };

/* What a handled event asks of the connection. */
enum next { GO_ON, FLUSH_AND_CLOSE, CLOSE };

/* How far conn_start() got: what conn_drop() releases. */
enum stage { NOTHING, REGISTERED, READER, WRITER, RUNNING };

#define READ_CAPACITY (2 * CHAT_MAX_LINE)

static void
reply(struct chat_conn *c, const char *text)
{
	/* An error is the writer's sticky one: the drive reports it. */
	(void)evfut_writer_push(&c->writer, text, strlen(text));
}

/* Sends the batch of messages to the others of the room. */
static void
send_batch(struct chat_conn *c)
{
	if (c->batch_len > 0 && c->room != NULL)
		chat_room_send(c, c->batch, c->batch_len);
	c->batch_len = 0;
}

/* "MSG <text>": "<id> <text>\n" to the others; @text ends with '\n'.
 * The messages of the lines already buffered go out together, as one
 * push into each member's queue: see conn_poll(). */
static void
send_message(struct chat_conn *c, const char *text, size_t len)
{
	if (c->room == NULL) {
		reply(c, "ERR join a room first\n");
		return;
	}
	if (c->batch_len + c->prefix_len + len > sizeof c->batch)
		send_batch(c);
	memcpy(c->batch + c->batch_len, c->prefix, c->prefix_len);
	memcpy(c->batch + c->batch_len + c->prefix_len, text, len);
	c->batch_len += c->prefix_len + len;
}

/* One line, @len bytes with its '\n' (none for the last line before the
 * end of file). */
static enum next
on_line(struct chat_conn *c, const char *line, size_t len)
{
	size_t bare = len > 0 && line[len - 1] == '\n' ? len - 1 : len;
	int rc;

	if (bare >= 4 && memcmp(line, "MSG ", 4) == 0) {
		if (bare == len) { /* a '\n' of our own for the last line */
			char copy[CHAT_MAX_LINE + 1];

			memcpy(copy, line + 4, bare - 4);
			copy[bare - 4] = '\n';
			send_message(c, copy, bare - 3);
		} else {
			send_message(c, line + 4, len - 4);
		}
	} else if (bare >= 5 && memcmp(line, "JOIN ", 5) == 0) {
		send_batch(c); /* to the room it leaves */
		rc = chat_room_join(c, line + 5, bare - 5);
		reply(c, rc == 0         ? "OK\n"
		         : rc == -EINVAL ? "ERR bad room name\n"
		                         : "ERR out of memory\n");
	} else if (bare == 4 && memcmp(line, "QUIT", 4) == 0) {
		return FLUSH_AND_CLOSE;
	} else {
		reply(c, "ERR unknown command\n");
	}
	return GO_ON;
}

/* [child] */
/* The child @index of the wait set completed. */
static enum next
on_child(struct chat_conn *c, int index)
{
	ssize_t n;
	enum next next;

	switch (index) {
	case CHILD_LINE:
		n = c->line.result;
		if (n == -EMSGSIZE) {
			reply(c, "ERR line too long\n");
			return FLUSH_AND_CLOSE;
		}
		if (n <= 0) /* end of file, idle (-ETIMEDOUT), an error */
			return n == 0 ? FLUSH_AND_CLOSE : CLOSE;
		next = on_line(c, c->line.data, (size_t)n);
		if (next != GO_ON)
			return next;
		c->lines_read = 1;
		evfut_read_line_init(&c->line, &c->reader, CHAT_MAX_LINE);
		evfut_wait_set_arm(&c->set, CHILD_LINE);
		return GO_ON;
	case CHILD_DRIVE: /* only a write error completes it */
		return CLOSE;
	default: /* the kick */
		if (c->dropped)
			return CLOSE;
		if (c->stopping)
			return FLUSH_AND_CLOSE;
		evfut_notified_init(&c->kicked, &c->kick);
		evfut_wait_set_arm(&c->set, CHILD_KICK);
		return GO_ON;
	}
}

/* [child] */

/* Registers the client and sets up its streams, in the task's copy. */
static int
conn_start(struct chat_conn *c, struct evfut_context *cx)
{
	const struct chat_options *o = c->server->options;
	char hello[32];
	int rc;

	rc = evfut_io_register(&c->io, cx->runtime, c->fd);
	if (rc < 0)
		return rc;
	c->stage = REGISTERED;
	if (o->unix_path == NULL) /* small messages must not wait for Nagle */
		evfut_tcp_set_nodelay(&c->io, 1);
	rc = evfut_reader_init(&c->reader, &c->io, READ_CAPACITY);
	if (rc < 0)
		return rc;
	c->stage = READER;
	rc = evfut_writer_init(&c->writer, &c->io, o->high_water / 2,
	                       o->high_water);
	if (rc < 0)
		return rc;
	c->stage = WRITER;
	evfut_notify_init(&c->kick);
	evfut_read_line_init(&c->line, &c->reader, CHAT_MAX_LINE);
	evfut_writer_drive_init(&c->drive, &c->writer);
	evfut_notified_init(&c->kicked, &c->kick);
	c->children[CHILD_LINE] = &c->line.base;
	c->children[CHILD_DRIVE] = &c->drive.base;
	c->children[CHILD_KICK] = &c->kicked.base;
	rc = evfut_wait_set_init(&c->set, c->children, 3);
	if (rc < 0)
		return rc; /* cannot happen: three children, none NULL */
	c->stage = RUNNING;
	chat_server_attach(c->server, c);
	if (c->server->stopping) { /* started after the stop walked the list */
		c->stopping = 1;
		evfut_notify_one(&c->kick);
	}
	evfut_io_set_deadline(&c->io,
	                      evfut_runtime_now(cx->runtime) + o->idle_timeout);
	snprintf(hello, sizeof hello, "HELLO %lu\n", c->id);
	reply(c, hello);
	return 0;
}

/* Stops reading and leaves the room; what is queued goes out within the
 * grace period. The drive is no longer polled: the flush writes. */
static void
start_flush(struct chat_conn *c, struct evfut_context *cx)
{
	chat_room_leave(c);
	evfut_io_set_deadline(&c->io, evfut_runtime_now(cx->runtime) +
	                                      c->server->options->grace);
	evfut_writer_flush_init(&c->flush, &c->writer);
	c->flushing = 1;
}

/* The poll read what it could: the batch goes out, and the idle
 * deadline moves on once for all the lines read (one clock reading). */
static void
end_turn(struct chat_conn *c, struct evfut_context *cx)
{
	send_batch(c);
	if (c->lines_read)
		evfut_io_set_deadline(&c->io,
		                      evfut_runtime_now(cx->runtime) +
		                              c->server->options->idle_timeout);
	c->lines_read = 0;
}

/* [loop] */
static enum evfut_poll
conn_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct chat_conn *c = evfut_container_of(self, struct chat_conn, base);
	enum next next = GO_ON;
	int index;

	if (c->stage == NOTHING && conn_start(c, cx) < 0)
		return EVFUT_READY;
	while (!c->flushing) {
		if (evfut_future_poll(&c->set.base, cx) == EVFUT_PENDING) {
			end_turn(c, cx); /* no more line is buffered */
			return EVFUT_PENDING;
		}
		while (next == GO_ON &&
		       (index = evfut_wait_set_next(&c->set)) >= 0)
			next = on_child(c, index);
		if (next == CLOSE) {
			send_batch(c);
			return EVFUT_READY;
		}
		if (next == FLUSH_AND_CLOSE) {
			send_batch(c);
			start_flush(c, cx);
		} else if (!evfut_coop_proceed(cx)) {
			end_turn(c, cx);
			return EVFUT_PENDING; /* it woke the task */
		}
	}
	return evfut_future_poll(&c->flush.base, cx);
}

/* [loop] */

/* Runs when the task finishes or is cancelled. */
static void
conn_drop(struct evfut_future *self)
{
	struct chat_conn *c = evfut_container_of(self, struct chat_conn, base);
	struct chat_server *s = c->server;

	if (c->stage == RUNNING) {
		chat_room_leave(c);
		chat_server_detach(c);
		evfut_future_drop(&c->set.base);
		evfut_future_drop(&c->line.base);
		evfut_future_drop(&c->drive.base);
		evfut_future_drop(&c->kicked.base);
		if (c->flushing)
			evfut_future_drop(&c->flush.base);
		evfut_notify_finish(&c->kick);
	}
	if (c->stage >= WRITER)
		evfut_writer_destroy(&c->writer);
	if (c->stage >= READER)
		evfut_reader_destroy(&c->reader);
	if (c->stage >= REGISTERED)
		evfut_io_close(&c->io);
	else
		close(c->fd);
	if (--s->live == 0 && s->stopping)
		evfut_notify_one(&s->all_gone);
}

void
chat_conn_spawn(struct chat_server *s, int fd, struct evfut_context *cx)
{
	struct chat_conn c = {
	        .base = EVFUT_FUTURE_INIT(conn_poll, conn_drop),
	        .server = s,
	        .fd = fd,
	};

	s->live++;
	if (evfut_task_spawn(cx->runtime, &c.base, sizeof c) < 0) {
		s->live--;
		close(fd);
	}
}
