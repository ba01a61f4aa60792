/*
 * deadline: an idle timeout on a registration. A reader moves the
 * deadline of its registration 10 s past each read (a field write, no
 * timer re-insert); when the peer goes quiet, the pending read fails with
 * -ETIMEDOUT. On a virtual clock, so the 10 s take no time.
 *
 * Run: ./build/gcc/docs/examples/deadline
 * Exits 0 when every check holds.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
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

/* [idle-reader] */
#define IDLE_TIMEOUT (10 * EVFUT_SEC)

/* Reads until end of file, an error, or 10 s without a byte. */
struct idle_reader {
	struct evfut_future base;
	unsigned resume;
	struct evfut_io *io;
	struct evfut_io_op read;
	char buf[256];
	size_t bytes;
	ssize_t last; /* 0, or why it stopped: -ETIMEDOUT when idle */
	evfut_nsec last_read_at;
};

static enum evfut_poll
idle_reader_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct idle_reader *r =
	        evfut_container_of(self, struct idle_reader, base);

	EVFUT_ASYNC_BEGIN(r->resume);
	for (;;) {
		/* Later than the current deadline: only a field is written;
		 * the registration's one timer catches up when it fires. */
		r->last_read_at = evfut_runtime_now(cx->runtime);
		evfut_io_set_deadline(r->io, r->last_read_at + IDLE_TIMEOUT);
		evfut_read_init(&r->read, r->io, r->buf, sizeof r->buf);
		EVFUT_AWAIT(&r->read.base, cx);
		r->last = r->read.result;
		if (r->last <= 0)
			break;
		r->bytes += (size_t)r->last;
	}
	EVFUT_ASYNC_END();
}

static void
idle_reader_drop(struct evfut_future *self)
{
	struct idle_reader *r =
	        evfut_container_of(self, struct idle_reader, base);

	evfut_future_drop(&r->read.base);
}
/* [idle-reader] */

/* Writes to the peer's end at 1 s and 5 s, then goes quiet. */
struct talker {
	struct evfut_future base;
	unsigned resume;
	int fd;
	struct evfut_sleep pause;
};

static enum evfut_poll
talker_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct talker *t = evfut_container_of(self, struct talker, base);

	EVFUT_ASYNC_BEGIN(t->resume);
	evfut_sleep_init(&t->pause, EVFUT_SEC);
	EVFUT_AWAIT(&t->pause.base, cx);
	if (write(t->fd, "hello\n", 6) != 6)
		EVFUT_ASYNC_RETURN();
	evfut_sleep_init(&t->pause, 4 * EVFUT_SEC);
	EVFUT_AWAIT(&t->pause.base, cx);
	if (write(t->fd, "still here\n", 11) != 11)
		EVFUT_ASYNC_RETURN();
	EVFUT_ASYNC_END();
}

int
main(void)
{
	struct evfut_runtime_options options = {.clock = EVFUT_CLOCK_VIRTUAL};
	struct evfut_runtime *rt;
	struct evfut_io io;
	struct idle_reader reader = {
	        .base = EVFUT_FUTURE_INIT(idle_reader_poll, idle_reader_drop),
	        .io = &io};
	struct talker talker = {.base = EVFUT_FUTURE_INIT(talker_poll, NULL)};
	struct evfut_future *both[] = {&reader.base, &talker.base};
	struct evfut_join join;
	int sv[2];

	CHECK(evfut_runtime_create(&rt, &options) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(evfut_io_register(&io, rt, sv[0]) == 0);
	talker.fd = sv[1];
	CHECK(evfut_join_init(&join, both, 2) == 0);
	CHECK(evfut_runtime_block_on(rt, &join.base) == 0);
	CHECK(reader.last == -ETIMEDOUT);
	CHECK(reader.bytes == 17);
	/* Idle for the whole timeout after the last read, never less. */
	CHECK(evfut_runtime_now(rt) >= reader.last_read_at + IDLE_TIMEOUT);
	evfut_future_drop(&join.base);
	CHECK(evfut_io_close(&io) == 0); /* disarms the deadline's timer */
	close(sv[1]);
	evfut_runtime_destroy(rt);
	return 0;
}
