/*
 * wait-loop: one connection task that waits on its reader, its writer, an
 * idle deadline and a shutdown notice at once with an evfut_wait_set, and
 * handles whichever is ready while the others keep their state. On a
 * virtual clock, so the idle timeout takes no time.
 *
 * Run: ./build/gcc/docs/examples/wait-loop
 * Exits 0 when every check holds.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <evfut.h>

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
			        __LINE__, #cond);                              \
			return 1;                                              \
		}                                                              \
	} while (0)

#define IDLE_TIMEOUT (30 * EVFUT_SEC)

/* [wait-loop] */
enum { READ, OUTBOX, WRITE, IDLE, STOP, N_CHILDREN };

struct conn {
	struct evfut_future base;
	unsigned resume;
	struct evfut_io *io;
	struct evfut_mpsc *outbox;   /* messages for the peer, char[16] */
	struct evfut_notify *stop;   /* the server's shutdown */
	struct evfut_io_op read;     /* READ: bytes from the peer */
	struct evfut_mpsc_recv recv; /* OUTBOX: the next message to send */
	struct evfut_io_op write;    /* WRITE: sending it */
	struct evfut_sleep idle;     /* IDLE: no byte from the peer for long */
	struct evfut_notified stopped; /* STOP */
	struct evfut_future *children[N_CHILDREN];
	struct evfut_wait_set set;
	char in[64];
	char out[16];
	size_t received;
	const char *why; /* why the loop ended */
	int i;
};

/* Handles child i, which completed: NULL to go on, or why to stop. */
static const char *
handle(struct conn *c, int i, struct evfut_runtime *rt)
{
	switch (i) {
	case READ:
		if (c->read.result <= 0)
			return "closed";
		c->received += (size_t)c->read.result;
		evfut_read_init(&c->read, c->io, c->in, sizeof c->in);
		evfut_wait_set_arm(&c->set, READ);
		/* Traffic: the idle deadline moves, even if it fired in this
		 * same round (arming it again forgets that). */
		evfut_sleep_reset(&c->idle,
		                  evfut_runtime_now(rt) + IDLE_TIMEOUT);
		evfut_wait_set_arm(&c->set, IDLE);
		return NULL;
	case OUTBOX:
		if (c->recv.result < 0)
			return "outbox closed";
		/* One write at a time: OUTBOX stays disarmed until it is done,
		 * which is the backpressure. */
		evfut_write_all_init(&c->write, c->io, c->out, strlen(c->out));
		evfut_wait_set_arm(&c->set, WRITE);
		return NULL;
	case WRITE:
		if (c->write.result < 0)
			return "write failed";
		evfut_mpsc_recv_init(&c->recv, c->outbox, c->out);
		evfut_wait_set_arm(&c->set, OUTBOX);
		return NULL;
	case IDLE:
		return "idle";
	default:
		return "shutdown";
	}
}

static enum evfut_poll
conn_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct conn *c = evfut_container_of(self, struct conn, base);

	EVFUT_ASYNC_BEGIN(c->resume);
	evfut_read_init(&c->read, c->io, c->in, sizeof c->in);
	evfut_mpsc_recv_init(&c->recv, c->outbox, c->out);
	evfut_sleep_init(&c->idle, IDLE_TIMEOUT);
	evfut_notified_init(&c->stopped, c->stop);
	c->children[READ] = &c->read.base;
	c->children[OUTBOX] = &c->recv.base;
	c->children[WRITE] = &c->write.base;
	c->children[IDLE] = &c->idle.base;
	c->children[STOP] = &c->stopped.base;
	evfut_write_all_init(&c->write, c->io, "", 0);
	evfut_wait_set_init(&c->set, c->children, N_CHILDREN);
	evfut_wait_set_disarm(&c->set, WRITE); /* nothing to write yet */
	while (c->why == NULL) {
		EVFUT_AWAIT(&c->set.base, cx);
		while (c->why == NULL &&
		       (c->i = evfut_wait_set_next(&c->set)) >= 0)
			c->why = handle(c, c->i, cx->runtime);
	}
	EVFUT_ASYNC_END();
}

/* The set owns none of them: the connection drops every child. */
static void
conn_drop(struct evfut_future *self)
{
	struct conn *c = evfut_container_of(self, struct conn, base);

	for (int i = 0; i < N_CHILDREN; i++)
		evfut_future_drop(c->children[i]);
}
/* [wait-loop] */

/* Runs one connection over a socketpair; @stop_first notifies the
 * shutdown before the first poll. */
static int
run(struct evfut_runtime *rt, int stop_first, const char *want_why)
{
	struct evfut_mpsc outbox;
	struct evfut_notify stop;
	struct evfut_io io;
	struct conn c = {.base = EVFUT_FUTURE_INIT(conn_poll, conn_drop)};
	char welcome[16] = "welcome\n", got[16] = {0};
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(evfut_io_register(&io, rt, sv[0]) == 0);
	CHECK(evfut_mpsc_init_local(&outbox, 4, sizeof welcome, NULL) == 0);
	evfut_notify_init_local(&stop);
	CHECK(evfut_mpsc_try_send(&outbox, welcome) == 0);
	CHECK(write(sv[1], "hi", 2) == 2);
	if (stop_first)
		evfut_notify_one(&stop);
	c.io = &io;
	c.outbox = &outbox;
	c.stop = &stop;
	CHECK(evfut_runtime_block_on(rt, &c.base) == 0);
	CHECK(strcmp(c.why, want_why) == 0);
	if (!stop_first) { /* all went through before the idle timeout */
		CHECK(c.received == 2);
		CHECK(read(sv[1], got, sizeof got) == 8 &&
		      memcmp(got, "welcome\n", 8) == 0);
	}
	evfut_future_drop(&c.base);
	evfut_notify_finish(&stop);
	evfut_mpsc_finish(&outbox);
	CHECK(evfut_io_close(&io) == 0);
	close(sv[1]);
	return 0;
}

int
main(void)
{
	struct evfut_runtime_options options = {.clock = EVFUT_CLOCK_VIRTUAL};
	struct evfut_runtime *rt;
	evfut_nsec start;
	int rc;

	CHECK(evfut_runtime_create(&rt, &options) == 0);
	start = evfut_runtime_now(rt);
	rc = run(rt, 0, "idle");
	if (rc == 0) /* the timeout counted from the last read, not before */
		CHECK(evfut_runtime_now(rt) >= start + IDLE_TIMEOUT);
	if (rc == 0)
		rc = run(rt, 1, "shutdown");
	evfut_runtime_destroy(rt);
	return rc;
}
