/*
 * streams: a line protocol over a socketpair with the buffered reader and
 * writer. The server answers "OK <line>" to each line and closes after
 * "ERR line too long"; the client writes with backpressure, flushes, and
 * reads the answers line by line to end of file.
 *
 * Run: ./build/gcc/docs/examples/streams
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <evfut.h>

#define MAX_LINE 64

/* [connection] */
/* One connection: a reader and a writer over one registration, and the
 * two futures its task keeps polling, the next line and the drive. They
 * are set up at the first poll, in the task's own copy of the struct. */
struct connection {
	struct evfut_future base;
	struct evfut_io *io;
	int started;
	int closing; /* flushing the last answer, then done */
	struct evfut_reader reader;
	struct evfut_writer writer;
	struct evfut_read_op line;
	struct evfut_write_op drive;
};

static int
connection_start(struct connection *c)
{
	int rc = evfut_reader_init(&c->reader, c->io, 4096);

	if (rc < 0)
		return rc;
	/* Stop reading while more than 64 KiB wait for a slow client. */
	evfut_writer_init(&c->writer, c->io, 16 * 1024, 64 * 1024);
	evfut_read_line_init(&c->line, &c->reader, MAX_LINE);
	evfut_writer_drive_init(&c->drive, &c->writer);
	c->started = 1;
	return 0;
}
/* [connection] */

/* [answer] */
/* Handles one finished read_line: 1 to go on, 0 to close. */
static int
answer(struct connection *c)
{
	ssize_t n = c->line.result;

	if (n == -EMSGSIZE) {
		evfut_writer_push(&c->writer, "ERR line too long\n", 18);
		return 0;
	}
	if (n <= 0) /* end of file, or an error */
		return 0;
	evfut_writer_push(&c->writer, "OK ", 3);
	evfut_writer_push(&c->writer, c->line.data, (size_t)n);
	return 1;
}

static enum evfut_poll
connection_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct connection *c =
	        evfut_container_of(self, struct connection, base);

	if (!c->started && connection_start(c) < 0)
		return EVFUT_READY;
	if (c->closing) /* the drive became a flush of the rest */
		return evfut_future_poll(&c->drive.base, cx);
	/* The drive completes only when a write failed. */
	if (evfut_future_poll(&c->drive.base, cx) == EVFUT_READY)
		return EVFUT_READY;
	/* Backpressure: no new line while the peer is slow to read. */
	while (evfut_writer_unsent(&c->writer) <= 64 * 1024 &&
	       evfut_future_poll(&c->line.base, cx) == EVFUT_READY) {
		if (!answer(c)) {
			c->closing = 1;
			evfut_future_drop(&c->drive.base);
			evfut_writer_flush_init(&c->drive, &c->writer);
			return connection_poll(self, cx);
		}
		evfut_read_line_init(&c->line, &c->reader, MAX_LINE);
	}
	return EVFUT_PENDING;
}

/* Runs when the task finishes or is cancelled: the futures go first,
 * then what they used. */
static void
connection_drop(struct evfut_future *self)
{
	struct connection *c =
	        evfut_container_of(self, struct connection, base);

	if (c->started) {
		evfut_future_drop(&c->line.base);
		evfut_future_drop(&c->drive.base);
		evfut_reader_destroy(&c->reader);
		evfut_writer_destroy(&c->writer);
	}
	evfut_io_close(c->io);
}
/* [answer] */

/* [client] */
/* Writes its lines (each write waits while the writer is past its high
 * watermark), flushes, then reads every answer until end of file. */
struct client {
	struct evfut_future base;
	struct evfut_reader reader;
	struct evfut_writer writer;
	struct evfut_write_op write;
	struct evfut_read_op read;
	const char *const *lines;
	int step;
	int answers; /* lines read back */
	int ok;      /* every answer was the expected one */
};

static enum evfut_poll
client_poll(struct evfut_future *self, struct evfut_context *cx)
{
	static const char *const expected[] = {"OK hello\n", "OK streams\n",
	                                       "ERR line too long\n"};
	struct client *c = evfut_container_of(self, struct client, base);
	const char *want;

	for (;;) {
		switch (c->step) {
		case 0: /* the next line, or the flush after the last */
			if (*c->lines != NULL)
				evfut_writer_write_init(&c->write, &c->writer,
				                        *c->lines,
				                        strlen(*c->lines));
			else
				evfut_writer_flush_init(&c->write, &c->writer);
			c->step = *c->lines++ != NULL ? 1 : 2;
			break;
		case 1:
		case 2:
			if (evfut_future_poll(&c->write.base, cx) ==
			    EVFUT_PENDING)
				return EVFUT_PENDING;
			c->ok &= c->write.result >= 0;
			if (c->step++ == 1) {
				c->step = 0;
				break;
			}
			evfut_read_line_init(&c->read, &c->reader, MAX_LINE);
			break;
		default:
			if (evfut_future_poll(&c->read.base, cx) ==
			    EVFUT_PENDING)
				return EVFUT_PENDING;
			if (c->read.result <= 0 || c->answers == 3) {
				c->ok &= c->read.result == 0 && c->answers == 3;
				return EVFUT_READY;
			}
			want = expected[c->answers++];
			c->ok &= (size_t)c->read.result == strlen(want) &&
			         memcmp(c->read.data, want, strlen(want)) == 0;
			evfut_read_line_init(&c->read, &c->reader, MAX_LINE);
		}
	}
}
/* [client] */

int
main(void)
{
	static const char *const lines[] = {
	        "hello\n", "streams\n",
	        "a line far longer than the sixty-four bytes the server "
	        "allows for one\n",
	        "never answered\n", NULL};
	struct evfut_io ends[2];
	struct evfut_runtime *rt;
	struct connection conn = {
	        .base = EVFUT_FUTURE_INIT(connection_poll, connection_drop),
	        .io = &ends[1]};
	struct client client = {.base = EVFUT_FUTURE_INIT(client_poll, NULL),
	                        .lines = lines,
	                        .ok = 1};
	int fds[2];
	int ok;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0 ||
	    evfut_runtime_create(&rt, NULL) < 0)
		return 1;
	if (evfut_io_register(&ends[0], rt, fds[0]) < 0 ||
	    evfut_io_register(&ends[1], rt, fds[1]) < 0 ||
	    evfut_reader_init(&client.reader, &ends[0], 4096) < 0 ||
	    evfut_writer_init(&client.writer, &ends[0], 0, 1024) < 0)
		return 1;
	evfut_task_spawn(rt, &conn.base, sizeof conn);
	evfut_runtime_block_on(rt, &client.base);
	ok = client.ok;
	/* The client's end closes: the connection sees end of file. */
	evfut_reader_destroy(&client.reader);
	evfut_writer_destroy(&client.writer);
	evfut_io_close(&ends[0]);
	evfut_runtime_run(rt);
	evfut_runtime_destroy(rt);
	return ok ? 0 : 1;
}
