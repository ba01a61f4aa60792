/*
 * Suite "reactor": registrations and I/O futures on socketpairs (echo,
 * partial reads and writes of 1 MiB through minimal buffers), the latest
 * waker per registration, dropping and closing while a read waits, the
 * readiness race between EAGAIN and Pending, every -E path of the
 * registration calls, a borrowed host event_base, and signal futures.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <event2/event.h>

#include "reactor-util.h"

#define MIB (1024 * 1024)

static struct event_base *
rt_base(void)
{
	return evfut_runtime_event_base(harness_rt);
}

static void
sleep_ms(unsigned ms)
{
	struct evfut_sleep sleep;

	evfut_sleep_init(&sleep, ms * EVFUT_MSEC);
	await(&sleep.base);
	ck_assert_int_eq(evfut_sleep_result(&sleep), 0);
	evfut_future_drop(&sleep.base);
}

static void
write_byte(int fd, char byte)
{
	ck_assert_int_eq(write(fd, &byte, 1), 1);
}

/* echo */

START_TEST(test_reactor_echo_over_socketpair_returns_every_byte)
{
	struct echo_stats stats = {0};
	struct client_result result;
	struct echo_conn conn;
	struct client client;
	int fds[2];

	make_socketpair(fds);
	echo_conn_init(&conn, fds[1], 0, &stats);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &conn.base, sizeof(conn)),
	                 0);
	client_init(&client, CLIENT_FD, 100000, 7, &result);
	client.fd = fds[0];
	ck_assert_int_eq(
	        evfut_task_spawn(harness_rt, &client.base, sizeof(client)), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(result.status, 0);
	ck_assert_uint_eq(result.verified, 100000);
	ck_assert_uint_eq(stats.finished, 1);
	ck_assert_uint_eq(stats.errors, 0);
	ck_assert_uint_eq(stats.bytes, 100000);
}
END_TEST

START_TEST(test_reactor_tiny_buffers_echo_one_mib_in_pieces)
{
	struct echo_stats stats = {0};
	struct client_result result;
	struct echo_conn conn;
	struct client client;
	int fds[2];

	make_socketpair(fds);
	echo_conn_init(&conn, fds[1], 1, &stats);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &conn.base, sizeof(conn)),
	                 0);
	client_init(&client, CLIENT_FD, MIB, 11, &result);
	client.fd = fds[0];
	client.bufsize = 1;
	ck_assert_int_eq(
	        evfut_task_spawn(harness_rt, &client.base, sizeof(client)), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(result.status, 0);
	ck_assert_uint_eq(result.verified, MIB);
	ck_assert_uint_eq(stats.bytes, MIB);
	/* The minimal buffers hold a few KiB: the transfer took many polls. */
	ck_assert_uint_gt(result.polls, 16);
}
END_TEST

/* One direction: a writer task's write_all, a reader task's read_exact. */
struct oneway {
	struct evfut_future base;
	struct evfut_io_op op;
	bool started;
	bool writer;
	int fd;
	struct evfut_io io;
	unsigned char *buf;
	ssize_t *result;
	unsigned *polls;
};

static enum evfut_poll
oneway_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct oneway *w = evfut_container_of(self, struct oneway, base);

	(*w->polls)++;
	if (!w->started) {
		ck_assert_int_eq(evfut_io_register(&w->io, cx->runtime, w->fd),
		                 0);
		if (w->writer)
			evfut_write_all_init(&w->op, &w->io, w->buf, MIB);
		else
			evfut_read_exact_init(&w->op, &w->io, w->buf, MIB);
		w->started = true;
	}
	if (evfut_future_poll(&w->op.base, cx) == EVFUT_PENDING)
		return EVFUT_PENDING;
	*w->result = w->op.result;
	ck_assert_int_eq(evfut_io_close(&w->io), 0);
	return EVFUT_READY;
}

START_TEST(test_reactor_tiny_buffers_write_all_and_read_exact_one_mib)
{
	unsigned char *out = malloc(MIB);
	unsigned char *in = calloc(1, MIB);
	ssize_t wrote = 0;
	ssize_t read = 0;
	unsigned wpolls = 0;
	unsigned rpolls = 0;
	struct oneway w = {.base = EVFUT_FUTURE_INIT(oneway_poll, NULL),
	                   .writer = true,
	                   .buf = out,
	                   .result = &wrote,
	                   .polls = &wpolls};
	struct oneway r = {.base = EVFUT_FUTURE_INIT(oneway_poll, NULL),
	                   .buf = in,
	                   .result = &read,
	                   .polls = &rpolls};
	int fds[2];

	ck_assert(out != NULL && in != NULL);
	pattern_fill(out, MIB, 3);
	make_socketpair(fds);
	shrink_buffers(fds[0]);
	shrink_buffers(fds[1]);
	w.fd = fds[0];
	r.fd = fds[1];
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &w.base, sizeof(w)), 0);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &r.base, sizeof(r)), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(wrote, MIB);
	ck_assert_int_eq(read, MIB);
	ck_assert(memcmp(in, out, MIB) == 0);
	/* Partial writes and reads: both sides waited many times. */
	ck_assert_uint_gt(wpolls, 16);
	ck_assert_uint_gt(rpolls, 16);
	free(out);
	free(in);
}
END_TEST

/* wakers */

static struct moved {
	struct evfut_io io;
	struct evfut_io_op op;
	char buf[8];
	int peer;
	unsigned polls_a;
	unsigned polls_b;
	bool b_done;
} mv;

static void
moved_setup(void)
{
	int fds[2];

	memset(&mv, 0, sizeof(mv));
	make_socketpair(fds);
	mv.peer = fds[1];
	ck_assert_int_eq(evfut_io_register(&mv.io, harness_rt, fds[0]), 0);
	evfut_read_init(&mv.op, &mv.io, mv.buf, sizeof(mv.buf));
}

static void
moved_finish(void)
{
	evfut_future_drop(&mv.op.base);
	ck_assert_int_eq(evfut_io_close(&mv.io), 0);
	if (mv.peer >= 0)
		ck_assert_int_eq(close(mv.peer), 0);
}

/* Task A: polls the shared read once, then never expects a wake. */
static enum evfut_poll
task_a_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	if (mv.polls_a++ == 0)
		ck_assert_int_eq(evfut_future_poll(&mv.op.base, cx),
		                 EVFUT_PENDING);
	return EVFUT_PENDING;
}

static enum evfut_poll
writer_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	(void)cx;
	write_byte(mv.peer, 'x');
	return EVFUT_READY;
}

/* Task B (the root): takes the read over, then has the data written. */
static enum evfut_poll
task_b_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_future writer = EVFUT_FUTURE_INIT(writer_poll, NULL);

	(void)self;
	if (mv.polls_b++ == 0) {
		ck_assert_int_eq(evfut_future_poll(&mv.op.base, cx),
		                 EVFUT_PENDING);
		ck_assert_int_eq(
		        evfut_task_spawn(cx->runtime, &writer, sizeof(writer)),
		        0);
		return EVFUT_PENDING;
	}
	if (evfut_future_poll(&mv.op.base, cx) == EVFUT_PENDING)
		return EVFUT_PENDING;
	mv.b_done = true;
	return EVFUT_READY;
}

START_TEST(test_reactor_latest_waker_wins_when_a_read_moves_task)
{
	struct evfut_future a = EVFUT_FUTURE_INIT(task_a_poll, NULL);
	struct evfut_future b = EVFUT_FUTURE_INIT(task_b_poll, NULL);

	moved_setup();
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &a, sizeof(a)), 0);
	await_or_fail(&b, 5);
	ck_assert(mv.b_done);
	ck_assert_int_eq(mv.op.result, 1);
	ck_assert_int_eq(mv.buf[0], 'x');
	ck_assert_uint_eq(mv.polls_b, 2);
	/* A handed the read over: the data woke B only. */
	ck_assert_uint_eq(mv.polls_a, 1);
	harness_expect_live(1); /* A waits forever; destroy cancels it */
	moved_finish();
}
END_TEST

START_TEST(test_reactor_latest_waker_wins_counted)
{
	struct harness_counter ca;
	struct harness_counter cb;
	struct evfut_waker wa;
	struct evfut_waker wb;
	struct evfut_context cx;

	harness_counter_init(&ca);
	harness_counter_init(&cb);
	wa = harness_counter_waker(&ca);
	wb = harness_counter_waker(&cb);
	moved_setup();
	cx = counter_context(&wa);
	ck_assert_int_eq(evfut_future_poll(&mv.op.base, &cx), EVFUT_PENDING);
	ck_assert_int_eq(atomic_load(&ca.live), 2);
	cx = counter_context(&wb);
	ck_assert_int_eq(evfut_future_poll(&mv.op.base, &cx), EVFUT_PENDING);
	/* A's clone was dropped when B's was stored. */
	ck_assert_int_eq(atomic_load(&ca.live), 1);
	ck_assert_int_eq(atomic_load(&cb.live), 2);
	/* Polling again from B clones nothing (will_wake). */
	ck_assert_int_eq(evfut_future_poll(&mv.op.base, &cx), EVFUT_PENDING);
	ck_assert_int_eq(atomic_load(&cb.clones), 1);
	write_byte(mv.peer, 'x');
	loop_once(false);
	ck_assert_int_eq(atomic_load(&ca.wakes) + atomic_load(&ca.wake_by_refs),
	                 0);
	ck_assert_int_eq(atomic_load(&cb.wakes) + atomic_load(&cb.wake_by_refs),
	                 1);
	ck_assert_int_eq(evfut_future_poll(&mv.op.base, &cx), EVFUT_READY);
	ck_assert_int_eq(mv.op.result, 1);
	moved_finish();
	evfut_waker_drop(&wa);
	evfut_waker_drop(&wb);
	ck_assert_int_eq(atomic_load(&ca.live), 0);
	ck_assert_int_eq(atomic_load(&cb.live), 0);
}
END_TEST

START_TEST(test_reactor_dropped_read_removes_its_waker_and_close_its_event)
{
	struct harness_counter c;
	struct evfut_waker w;
	struct evfut_context cx;
	int before = added_events(rt_base());
	char byte;

	harness_counter_init(&c);
	w = harness_counter_waker(&c);
	cx = counter_context(&w);
	moved_setup();
	ck_assert_int_eq(added_events(rt_base()), before + events_per_io());
	/* Control: a pending read is woken by data. */
	ck_assert_int_eq(evfut_future_poll(&mv.op.base, &cx), EVFUT_PENDING);
	write_byte(mv.peer, 'a');
	loop_once(false);
	ck_assert_int_eq(atomic_load(&c.wakes) + atomic_load(&c.wake_by_refs),
	                 1);
	ck_assert_int_eq(evfut_future_poll(&mv.op.base, &cx), EVFUT_READY);
	ck_assert_int_eq(mv.op.result, 1);
	evfut_future_drop(&mv.op.base);
	/* A pending read that is dropped leaves no waker behind. */
	evfut_read_init(&mv.op, &mv.io, mv.buf, sizeof(mv.buf));
	ck_assert_int_eq(evfut_future_poll(&mv.op.base, &cx), EVFUT_PENDING);
	ck_assert_int_eq(atomic_load(&c.live), 2);
	evfut_future_drop(&mv.op.base);
	ck_assert_int_eq(atomic_load(&c.live), 1);
	write_byte(mv.peer, 'b');
	loop_once(false);
	ck_assert_int_eq(atomic_load(&c.wakes) + atomic_load(&c.wake_by_refs),
	                 1);
	/* The data is still there for the next reader. */
	ck_assert_int_eq(read(mv.io.fd, &byte, 1), 1);
	ck_assert_int_eq(byte, 'b');
	moved_finish();
	ck_assert_int_eq(added_events(rt_base()), before);
	evfut_waker_drop(&w);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

/*
 * A registration embedded in uninitialised memory starts with two empty
 * waker slots: both fields, since evfut_waker_will_wake() compares the data
 * pointer too (valgrind reports the uninitialised read otherwise).
 */
START_TEST(test_reactor_register_starts_with_empty_wakers)
{
	struct evfut_waker slots[2];
	struct evfut_io io;
	int fds[2];

	make_socketpair(fds);
	memset(&io, 0xa5, sizeof(io));

	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	memcpy(slots, io.waker, sizeof(slots));
	/* Cleaned up before asserting (the slots are not dropped: they hold
	 * no waker of the test's). */
	memset(io.waker, 0, sizeof(io.waker));
	ck_assert_int_eq(evfut_io_close(&io), 0);
	ck_assert_int_eq(close(fds[1]), 0);
	ck_assert_ptr_null(slots[0].vtable);
	ck_assert_ptr_null(slots[1].vtable);
	ck_assert_ptr_null(slots[0].data);
	ck_assert_ptr_null(slots[1].data);
}
END_TEST

START_TEST(test_reactor_deregister_leaves_no_event_on_the_base)
{
	struct evfut_io io;
	int before = added_events(rt_base());
	int fds[2];

	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	ck_assert_int_eq(added_events(rt_base()), before + events_per_io());
	evfut_io_deregister(&io);
	ck_assert_int_eq(added_events(rt_base()), before);
	ck_assert_int_eq(evfut_io_fd(&io), -1);
	/* The descriptor stayed open and is the caller's. */
	ck_assert_int_eq(write(fds[1], "z", 1), 1);
	ck_assert_int_eq(close(fds[0]), 0);
	ck_assert_int_eq(close(fds[1]), 0);
	/* Deregistering or closing again is allowed and does nothing. */
	evfut_io_deregister(&io);
	ck_assert_int_eq(evfut_io_close(&io), 0);
}
END_TEST

/*
 * The race: the read sees EAGAIN, then data arrives (written by the future
 * itself) before the poll returns Pending. Variant 0 uses the read future;
 * variant 1 writes between EAGAIN and clear_ready, by hand.
 */
static struct race {
	unsigned polls;
	bool read_it;
} race;

static enum evfut_poll
race_op_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	if (race.polls++ == 0) {
		evfut_read_init(&mv.op, &mv.io, mv.buf, sizeof(mv.buf));
		ck_assert_int_eq(evfut_future_poll(&mv.op.base, cx),
		                 EVFUT_PENDING);
		write_byte(mv.peer, 'y');
		return EVFUT_PENDING;
	}
	if (evfut_future_poll(&mv.op.base, cx) == EVFUT_PENDING)
		return EVFUT_PENDING;
	ck_assert_int_eq(mv.op.result, 1);
	ck_assert_int_eq(mv.buf[0], 'y');
	race.read_it = true;
	return EVFUT_READY;
}

static enum evfut_poll
race_manual_poll(struct evfut_future *self, struct evfut_context *cx)
{
	char byte;

	(void)self;
	if (race.polls++ == 0) {
		ck_assert_int_eq(
		        evfut_io_poll_ready(&mv.io, EVFUT_READABLE, cx), 1);
		ck_assert_int_eq(read(mv.io.fd, &byte, 1), -1);
		ck_assert_int_eq(errno, EAGAIN);
		write_byte(mv.peer, 'y');
		evfut_io_clear_ready(&mv.io, EVFUT_READABLE);
		ck_assert_int_eq(
		        evfut_io_poll_ready(&mv.io, EVFUT_READABLE, cx), 0);
		return EVFUT_PENDING;
	}
	if (evfut_io_poll_ready(&mv.io, EVFUT_READABLE, cx) == 0)
		return EVFUT_PENDING;
	ck_assert_int_eq(read(mv.io.fd, &byte, 1), 1);
	ck_assert_int_eq(byte, 'y');
	race.read_it = true;
	return EVFUT_READY;
}

START_TEST(test_reactor_readiness_between_eagain_and_pending_is_not_lost)
{
	struct evfut_future f = EVFUT_FUTURE_INIT(
	        _i == 0 ? race_op_poll : race_manual_poll, NULL);

	memset(&race, 0, sizeof(race));
	moved_setup();
	/* Make the registration readable, and consume the data with a read
	 * that fills its buffer (a short read on a stream would clear the
	 * readiness): the next read really runs and sees EAGAIN. */
	write_byte(mv.peer, 'x');
	evfut_read_init(&mv.op, &mv.io, mv.buf, 1);
	await_or_fail(&mv.op.base, 5);
	ck_assert_int_eq(mv.op.result, 1);
	ck_assert_uint_ne(mv.io.ready & EVFUT_READABLE, 0);
	await_or_fail(&f, 5);
	ck_assert(race.read_it);
	ck_assert_uint_eq(race.polls, 2);
	moved_finish();
}
END_TEST

/*
 * A short read drains a socket or a pipe, but not every descriptor that is
 * not a socket: a terminal in canonical mode returns one line per read and
 * keeps the rest, with no new edge to come. The second line must still be
 * read.
 */
START_TEST(test_reactor_short_read_on_a_terminal_keeps_the_next_line)
{
	static const char lines[] = "one\ntwo\n";
	struct evfut_io io;
	struct evfut_io_op op;
	char buf[64];
	struct termios tio;
	ssize_t first;
	ssize_t second;
	int queued = 0;
	int tries;
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	int slave;

	ck_assert_int_ge(master, 0);
	ck_assert_int_eq(grantpt(master), 0);
	ck_assert_int_eq(unlockpt(master), 0);
	slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(slave, 0);
	/* Canonical mode, no echo (nothing else wakes the terminal). */
	ck_assert_int_eq(tcgetattr(slave, &tio), 0);
	tio.c_lflag |= ICANON;
	tio.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	ck_assert_int_eq(tcsetattr(slave, TCSANOW, &tio), 0);
	ck_assert_int_eq(write(master, lines, sizeof(lines) - 1),
	                 (ssize_t)sizeof(lines) - 1);
	/* The terminal takes input from a worker: wait until both lines are
	 * in before the first read (a few ms at most). */
	for (tries = 0; tries < 1000; tries++) {
		ck_assert_int_eq(ioctl(slave, FIONREAD, &queued), 0);
		if (queued == (int)sizeof(lines) - 1)
			break;
		usleep(1000);
	}
	ck_assert_int_eq(queued, (int)sizeof(lines) - 1);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, slave), 0);
	evfut_read_init(&op, &io, buf, sizeof(buf));
	await_or_fail(&op.base, 5);
	first = op.result;
	evfut_read_init(&op, &io, buf + (first > 0 ? first : 0),
	                sizeof(buf) - 8);
	{
		struct evfut_timeout timeout;

		ck_assert_int_eq(
		        evfut_timeout_init(&timeout, &op.base, EVFUT_SEC), 0);
		ck_assert_int_eq(
		        evfut_runtime_block_on(harness_rt, &timeout.base), 0);
		evfut_future_drop(&timeout.base);
		second = timeout.result == 0 ? op.result : timeout.result;
	}
	ck_assert_int_eq(evfut_io_close(&io), 0);
	ck_assert_int_eq(close(master), 0);
	ck_assert_int_eq(first, 4);
	ck_assert_msg(second == 4,
	              "the second line was never read (%zd): the short read "
	              "of the first cleared the readiness",
	              second);
	ck_assert(memcmp(buf, lines, 8) == 0);
}
END_TEST

/* A read that waits while another task closes its registration. */
static struct closing {
	ssize_t result;
	bool reader_done;
	int how; /* 0: evfut_io_close; 1: evfut_io_deregister */
} closing;

static enum evfut_poll
closing_reader_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	if (evfut_future_poll(&mv.op.base, cx) == EVFUT_PENDING)
		return EVFUT_PENDING;
	closing.result = mv.op.result;
	closing.reader_done = true;
	return EVFUT_READY;
}

static enum evfut_poll
closer_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	(void)cx;
	ck_assert(!closing.reader_done);
	if (closing.how == 0) {
		ck_assert_int_eq(evfut_io_close(&mv.io), 0);
	} else {
		int fd = evfut_io_fd(&mv.io);

		evfut_io_deregister(&mv.io);
		ck_assert_int_eq(close(fd), 0);
	}
	return EVFUT_READY;
}

START_TEST(test_reactor_close_completes_a_waiting_read_with_ebadf)
{
	struct evfut_future reader =
	        EVFUT_FUTURE_INIT(closing_reader_poll, NULL);
	struct evfut_future closer = EVFUT_FUTURE_INIT(closer_poll, NULL);
	int before = added_events(rt_base());

	memset(&closing, 0, sizeof(closing));
	closing.how = _i;
	moved_setup();
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &reader, sizeof(reader)),
	                 0);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &closer, sizeof(closer)),
	                 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert(closing.reader_done);
	ck_assert_int_eq(closing.result, -EBADF);
	ck_assert_int_eq(added_events(rt_base()), before);
	/* Dropping the completed read after the close is safe. */
	evfut_future_drop(&mv.op.base);
	ck_assert_int_eq(close(mv.peer), 0);
}
END_TEST

/* errors */

START_TEST(test_reactor_register_rejects_bad_descriptors)
{
	struct evfut_io io;
	int before = added_events(rt_base());
	int fds[2];

	ck_assert_int_eq(evfut_io_register(&io, harness_rt, -1), -EBADF);
	ck_assert_int_eq(pipe(fds), 0);
	close(fds[0]);
	close(fds[1]);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), -EBADF);
	ck_assert_int_eq(added_events(rt_base()), before);
}
END_TEST

START_TEST(test_reactor_register_rejects_regular_file_with_eperm)
{
	struct evfut_io io;
	int before = added_events(rt_base());
	FILE *file = tmpfile();

	ck_assert_ptr_nonnull(file);
	if (events_per_io() == 2) {
		/* poll and select report a regular file always ready. */
		ck_assert_int_eq(
		        evfut_io_register(&io, harness_rt, fileno(file)), 0);
		evfut_io_deregister(&io);
		fclose(file);
		return;
	}
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fileno(file)),
	                 -EPERM);
	ck_assert_int_eq(added_events(rt_base()), before);
	/* A failed call has no side effect: the descriptor stays blocking. */
	ck_assert_int_eq(fcntl(fileno(file), F_GETFL) & O_NONBLOCK, 0);
	/* Nothing is registered: closing the registration closes nothing. */
	ck_assert_int_eq(evfut_io_fd(&io), -1);
	ck_assert_int_eq(evfut_io_close(&io), 0);
	/* The descriptor is still the caller's, and open. */
	ck_assert_int_eq(fclose(file), 0);
}
END_TEST

START_TEST(test_reactor_zeroed_registration_is_not_registered)
{
	struct evfut_io io;

	memset(&io, 0, sizeof(io));
	ck_assert_int_eq(evfut_io_fd(&io), -1);
	ck_assert_int_eq(evfut_io_shutdown(&io, SHUT_RDWR), -EBADF);
	evfut_io_deregister(&io);
	/* Not descriptor 0, which it never owned. */
	ck_assert_int_eq(evfut_io_close(&io), 0);
	ck_assert_int_ge(fcntl(0, F_GETFD), 0);
}
END_TEST

START_TEST(test_reactor_null_arguments_are_einval)
{
	static const int usr1 = SIGUSR1;
	struct evfut_io io;
	struct evfut_signal sig;
	struct evfut_waker noop = evfut_waker_noop();
	struct evfut_context cx = counter_context(&noop);
	int fds[2];

	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(NULL, harness_rt, fds[0]), -EINVAL);
	ck_assert_int_eq(evfut_io_register(&io, NULL, fds[0]), -EINVAL);
	ck_assert_int_eq(evfut_tcp_listen(NULL, harness_rt, NULL, 0, 8, 0),
	                 -EINVAL);
	ck_assert_int_eq(evfut_tcp_listen(&io, NULL, NULL, 0, 8, 0), -EINVAL);
	ck_assert_int_eq(evfut_tcp_listen(&io, harness_rt, NULL, 0, -1, 0),
	                 -EINVAL);
	ck_assert_int_eq(evfut_tcp_listen(&io, harness_rt, NULL, 0, 8, 0x100),
	                 -EINVAL);
	ck_assert_int_eq(evfut_tcp_connect_start(NULL, harness_rt, NULL, 1),
	                 -EINVAL);
	ck_assert_int_eq(evfut_tcp_connect_start(&io, NULL, NULL, 1), -EINVAL);
	ck_assert_int_eq(evfut_udp_bind(NULL, harness_rt, NULL, 0), -EINVAL);
	ck_assert_int_eq(evfut_udp_bind(&io, NULL, NULL, 0), -EINVAL);
	ck_assert_int_eq(evfut_unix_listen(&io, harness_rt, NULL, 8), -EINVAL);
	ck_assert_int_eq(evfut_unix_listen(NULL, harness_rt, "/tmp/x", 8),
	                 -EINVAL);
	ck_assert_int_eq(evfut_unix_listen(&io, harness_rt, "/tmp/x", -1),
	                 -EINVAL);
	ck_assert_int_eq(evfut_unix_connect_start(&io, harness_rt, NULL),
	                 -EINVAL);
	ck_assert_int_eq(evfut_unix_connect_start(&io, NULL, "/tmp/x"),
	                 -EINVAL);
	ck_assert_int_eq(evfut_signal_init(NULL, harness_rt, &usr1, 1),
	                 -EINVAL);
	ck_assert_int_eq(evfut_signal_init(&sig, NULL, &usr1, 1), -EINVAL);
	ck_assert_int_eq(evfut_signal_init(&sig, harness_rt, NULL, 1), -EINVAL);
	/* The poll_ready of hand-written futures. */
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	ck_assert_int_eq(evfut_io_poll_ready(NULL, EVFUT_READABLE, &cx),
	                 -EINVAL);
	ck_assert_int_eq(evfut_io_poll_ready(&io, EVFUT_READABLE, NULL),
	                 -EINVAL);
	ck_assert_int_eq(evfut_io_poll_ready(&io, 0, &cx), -EINVAL);
	ck_assert_int_eq(
	        evfut_io_poll_ready(&io, EVFUT_READABLE | EVFUT_WRITABLE, &cx),
	        -EINVAL);
	/* NULL is allowed where the header says so. */
	evfut_io_deregister(NULL);
	ck_assert_int_eq(evfut_io_close(NULL), 0);
	ck_assert_int_eq(evfut_io_fd(NULL), -1);
	evfut_io_clear_ready(NULL, EVFUT_READABLE);
	ck_assert_int_lt(evfut_io_local_port(NULL), 0);
	ck_assert_int_lt(evfut_io_shutdown(NULL, SHUT_WR), 0);
	ck_assert_int_lt(evfut_tcp_set_nodelay(NULL, 1), 0);
	ck_assert_int_eq(evfut_io_close(&io), 0);
	close(fds[1]);
}
END_TEST

START_TEST(test_reactor_deregistered_io_is_ebadf_everywhere)
{
	struct evfut_waker noop = evfut_waker_noop();
	struct evfut_context cx = counter_context(&noop);
	char byte;

	moved_setup();
	ck_assert_int_eq(evfut_io_close(&mv.io), 0);
	ck_assert_int_eq(evfut_io_fd(&mv.io), -1);
	ck_assert_int_eq(evfut_io_poll_ready(&mv.io, EVFUT_READABLE, &cx),
	                 -EBADF);
	ck_assert_int_eq(evfut_io_poll_ready(&mv.io, EVFUT_WRITABLE, &cx),
	                 -EBADF);
	ck_assert_int_eq(evfut_io_shutdown(&mv.io, SHUT_WR), -EBADF);
	ck_assert_int_eq(evfut_tcp_set_nodelay(&mv.io, 1), -EBADF);
	ck_assert_int_eq(evfut_io_local_port(&mv.io), -EBADF);
	await_or_fail(&mv.op.base, 5);
	ck_assert_int_eq(mv.op.result, -EBADF);
	evfut_write_all_init(&mv.op, &mv.io, "x", 1);
	await_or_fail(&mv.op.base, 5);
	ck_assert_int_eq(mv.op.result, -EBADF);
	/* The peer sees the close as end of file. */
	ck_assert_int_eq(read(mv.peer, &byte, 1), 0);
	moved_finish();
}
END_TEST

START_TEST(test_reactor_end_of_file_reads_zero)
{
	const char three[3] = {'a', 'b', 'c'};

	moved_setup();
	ck_assert_int_eq(write(mv.peer, three, sizeof(three)), 3);
	ck_assert_int_eq(close(mv.peer), 0);
	mv.peer = -1;
	/* read_exact: the bytes before end of file, fewer than asked. */
	evfut_read_exact_init(&mv.op, &mv.io, mv.buf, sizeof(mv.buf));
	await_or_fail(&mv.op.base, 5);
	ck_assert_int_eq(mv.op.result, 3);
	ck_assert(memcmp(mv.buf, three, 3) == 0);
	/* read: 0 at end of file, every time. */
	evfut_read_init(&mv.op, &mv.io, mv.buf, sizeof(mv.buf));
	await_or_fail(&mv.op.base, 5);
	ck_assert_int_eq(mv.op.result, 0);
	evfut_read_init(&mv.op, &mv.io, mv.buf, sizeof(mv.buf));
	await_or_fail(&mv.op.base, 5);
	ck_assert_int_eq(mv.op.result, 0);
	moved_finish();
}
END_TEST

START_TEST(test_reactor_end_of_file_wakes_a_waiting_read)
{
	struct harness_counter c;
	struct evfut_waker w;
	struct evfut_context cx;

	harness_counter_init(&c);
	w = harness_counter_waker(&c);
	cx = counter_context(&w);
	moved_setup();
	ck_assert_int_eq(evfut_future_poll(&mv.op.base, &cx), EVFUT_PENDING);
	ck_assert_int_eq(close(mv.peer), 0);
	mv.peer = -1;
	loop_once(false);
	ck_assert_int_eq(atomic_load(&c.wakes) + atomic_load(&c.wake_by_refs),
	                 1);
	ck_assert_int_eq(evfut_future_poll(&mv.op.base, &cx), EVFUT_READY);
	ck_assert_int_eq(mv.op.result, 0);
	moved_finish();
	evfut_waker_drop(&w);
}
END_TEST

/* Resets the connection from the peer's side while a write waits. */
static struct reset {
	struct evfut_io io;
	struct evfut_io_op op;
	unsigned char *buf;
	int peer;
	unsigned polls;
} rs;

#define RESET_LEN (8 * MIB)

static enum evfut_poll
reset_writer_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct linger abort_close = {1, 0};

	(void)self;
	if (rs.polls++ == 0) {
		evfut_write_all_init(&rs.op, &rs.io, rs.buf, RESET_LEN);
		ck_assert_int_eq(evfut_future_poll(&rs.op.base, cx),
		                 EVFUT_PENDING);
		ck_assert_int_eq(setsockopt(rs.peer, SOL_SOCKET, SO_LINGER,
		                            &abort_close, sizeof(abort_close)),
		                 0);
		ck_assert_int_eq(close(rs.peer), 0);
		return EVFUT_PENDING;
	}
	return evfut_future_poll(&rs.op.base, cx);
}

START_TEST(test_reactor_peer_reset_mid_write_is_econnreset_or_epipe)
{
	struct evfut_future writer = EVFUT_FUTURE_INIT(reset_writer_poll, NULL);
	struct evfut_io listener;
	struct evfut_io_op op;
	int port;

	memset(&rs, 0, sizeof(rs));
	rs.buf = calloc(1, RESET_LEN);
	ck_assert_ptr_nonnull(rs.buf);
	ck_assert_int_eq(evfut_tcp_listen(&listener, harness_rt, NULL, 0, 8, 0),
	                 0);
	port = evfut_io_local_port(&listener);
	ck_assert_int_gt(port, 0);
	ck_assert_int_eq(evfut_tcp_connect_start(&rs.io, harness_rt, NULL,
	                                         (uint16_t)port),
	                 0);
	shrink_buffers(rs.io.fd);
	evfut_accept_init(&op, &listener, NULL, NULL);
	await_or_fail(&op.base, 5);
	ck_assert_int_ge(op.result, 0);
	rs.peer = (int)op.result;
	shrink_buffers(rs.peer);
	evfut_connect_init(&op, &rs.io);
	await_or_fail(&op.base, 5);
	ck_assert_int_eq(op.result, 0);
	/* No SIGPIPE: the library sends with MSG_NOSIGNAL (the test does not
	 * ignore the signal, so a SIGPIPE would kill it). */
	await_or_fail(&writer, 5);
	ck_assert_uint_ge(rs.polls, 2);
	ck_assert_msg(rs.op.result == -ECONNRESET || rs.op.result == -EPIPE,
	              "write_all after a reset: %zd", rs.op.result);
	/* Writing again fails the same way, and still raises nothing. */
	evfut_write_all_init(&rs.op, &rs.io, rs.buf, 4096);
	await_or_fail(&rs.op.base, 5);
	ck_assert_msg(rs.op.result == -ECONNRESET || rs.op.result == -EPIPE,
	              "write_all after a reset: %zd", rs.op.result);
	ck_assert_int_eq(evfut_io_close(&rs.io), 0);
	ck_assert_int_eq(evfut_io_close(&listener), 0);
	free(rs.buf);
}
END_TEST

/* borrowed */

static struct host {
	struct event_base *base;
	int host_events;  /* the host's own, before the runtime */
	bool timer_fired; /* a host timer ran */
	bool sleep_done;  /* the runtime's sleep task completed */
	bool late_fired;  /* a host event after the runtime was destroyed */
	int checks;       /* the host's watchdog ticks */
	bool pipe_read;   /* the host's read event ran */
	unsigned spins;   /* polls of the self-waking task */
	unsigned spins_at_read;
} host;

static void
host_setup(void)
{
	struct evfut_runtime_options options = {0};

	harness_setup();
	memset(&host, 0, sizeof(host));
	host.base = event_base_new();
	ck_assert_ptr_nonnull(host.base);
	host.host_events = added_events(host.base);
	options.base = host.base;
	harness_runtime_replace(&options);
}

static void
host_teardown(void)
{
	struct evfut_runtime *rt = harness_runtime_take();
	struct event_base *base = host.base;

	/* The runtime goes first, then the host's base, then the fd check. */
	if (rt != NULL) {
		ck_assert_uint_eq(harness_stats(rt).tasks_live, 0);
		evfut_runtime_destroy(rt);
	}
	host.base = NULL;
	if (base != NULL) {
		ck_assert_int_eq(added_events(base), host.host_events);
		event_base_free(base);
	}
	harness_teardown();
}

static void
host_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	host.timer_fired = true;
}

/* The host's watchdog: stops its loop once the runtime has no task left
 * and its own timer ran; gives up (and fails) after ~10 s. */
static void
host_check_cb(evutil_socket_t fd, short what, void *arg)
{
	struct evfut_runtime *rt = arg;

	(void)fd;
	(void)what;
	if ((harness_stats(rt).tasks_live == 0 && host.timer_fired) ||
	    ++host.checks > 10000)
		event_base_loopbreak(host.base);
}

struct sleeper {
	struct evfut_future base;
	struct evfut_sleep sleep;
};

static enum evfut_poll
sleeper_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct sleeper *s = evfut_container_of(self, struct sleeper, base);

	if (evfut_future_poll(&s->sleep.base, cx) == EVFUT_PENDING)
		return EVFUT_PENDING;
	ck_assert_int_eq(evfut_sleep_result(&s->sleep), 0);
	host.sleep_done = true;
	return EVFUT_READY;
}

static void
sleeper_drop(struct evfut_future *self)
{
	struct sleeper *s = evfut_container_of(self, struct sleeper, base);

	evfut_future_drop(&s->sleep.base);
}

static enum evfut_poll
ready_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	(void)cx;
	return EVFUT_READY;
}

static void
late_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	host.late_fired = true;
}

START_TEST(test_reactor_borrowed_base_runs_tasks_and_host_events)
{
	static const struct timeval ms1 = {0, 1000};
	struct evfut_future ready = EVFUT_FUTURE_INIT(ready_poll, NULL);
	struct sleeper sleeper = {
	        .base = EVFUT_FUTURE_INIT(sleeper_poll, sleeper_drop)};
	struct echo_stats stats = {0};
	struct client_result result;
	struct echo_conn conn;
	struct client client;
	struct event *timer;
	struct event *check;
	struct evfut_runtime *rt;
	int fds[2];

	/* The host's loop runs the runtime: run and block_on are refused. */
	ck_assert_int_eq(evfut_runtime_run(harness_rt), -EINVAL);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &ready), -EINVAL);
	ck_assert_ptr_eq(evfut_runtime_event_base(harness_rt), host.base);
	evfut_sleep_init(&sleeper.sleep, 2 * EVFUT_MSEC);
	ck_assert_int_eq(
	        evfut_task_spawn(harness_rt, &sleeper.base, sizeof(sleeper)),
	        0);
	make_socketpair(fds);
	echo_conn_init(&conn, fds[1], 0, &stats);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &conn.base, sizeof(conn)),
	                 0);
	client_init(&client, CLIENT_FD, 65536, 5, &result);
	client.fd = fds[0];
	ck_assert_int_eq(
	        evfut_task_spawn(harness_rt, &client.base, sizeof(client)), 0);
	timer = evtimer_new(host.base, host_timer_cb, NULL);
	check = event_new(host.base, -1, EV_PERSIST, host_check_cb, harness_rt);
	ck_assert(timer != NULL && check != NULL);
	ck_assert_int_eq(evtimer_add(timer, &ms1), 0);
	ck_assert_int_eq(event_add(check, &ms1), 0);
	ck_assert_int_ge(event_base_dispatch(host.base), 0);
	ck_assert_int_le(host.checks, 10000);
	ck_assert(host.timer_fired);
	ck_assert(host.sleep_done);
	ck_assert_int_eq(result.status, 0);
	ck_assert_uint_eq(result.verified, 65536);
	ck_assert_uint_eq(stats.finished, 1);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_live, 0);
	event_free(check);
	event_free(timer);
	/* Destroying the runtime leaves the host's base as it was. */
	rt = harness_runtime_take();
	evfut_runtime_destroy(rt);
	ck_assert_int_eq(added_events(host.base), host.host_events);
	ck_assert_int_eq(
	        event_base_once(host.base, -1, EV_TIMEOUT, late_cb, NULL, &ms1),
	        0);
	ck_assert_int_ge(event_base_dispatch(host.base), 0);
	ck_assert(host.late_fired);
}
END_TEST

START_TEST(test_reactor_borrowed_destroy_with_live_tasks_leaves_host_intact)
{
	struct sleeper sleeper = {
	        .base = EVFUT_FUTURE_INIT(sleeper_poll, sleeper_drop)};
	static const struct timeval zero = {0, 0};
	struct evfut_io io;
	struct evfut_runtime *rt;
	int fds[2];

	evfut_sleep_init(&sleeper.sleep, 3600 * EVFUT_SEC);
	ck_assert_int_eq(
	        evfut_task_spawn(harness_rt, &sleeper.base, sizeof(sleeper)),
	        0);
	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	/* Let the host's loop poll the task once: the sleep is armed. */
	ck_assert_int_ge(event_base_loop(host.base, EVLOOP_NONBLOCK), 0);
	ck_assert_uint_eq(harness_stats(harness_rt).polls, 1);
	ck_assert_int_eq(evfut_io_close(&io), 0);
	close(fds[1]);
	rt = harness_runtime_take();
	evfut_runtime_destroy(rt);
	ck_assert(!host.sleep_done);
	ck_assert_int_eq(added_events(host.base), host.host_events);
	ck_assert_int_eq(event_base_once(host.base, -1, EV_TIMEOUT, late_cb,
	                                 NULL, &zero),
	                 0);
	ck_assert_int_ge(event_base_dispatch(host.base), 0);
	ck_assert(host.late_fired);
}
END_TEST

static void
host_pipe_cb(evutil_socket_t fd, short what, void *arg)
{
	char byte;

	(void)what;
	(void)arg;
	ck_assert_int_eq(read(fd, &byte, 1), 1);
	host.pipe_read = true;
	host.spins_at_read = host.spins;
}

/* The self-waking task writes the host's byte at this poll, when it has
 * been spinning through several drains already. */
#define SPINS_BEFORE_DATA (3 * EVFUT_DEFAULT_BUDGET + 5)

static int host_pipe[2];

/* Re-wakes itself until the host's read event ran (or gives up). */
static enum evfut_poll
spinner_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	if (host.pipe_read || host.spins >= 1000000) {
		event_base_loopbreak(evfut_runtime_event_base(cx->runtime));
		return EVFUT_READY;
	}
	if (++host.spins == SPINS_BEFORE_DATA)
		ck_assert_int_eq(write(host_pipe[1], "h", 1), 1);
	evfut_waker_wake_by_ref(cx->waker);
	return EVFUT_PENDING;
}

START_TEST(test_reactor_borrowed_self_waking_task_does_not_starve_host_io)
{
	struct evfut_future spinner = EVFUT_FUTURE_INIT(spinner_poll, NULL);
	struct event *ev;

	ck_assert_int_eq(pipe(host_pipe), 0);
	ev = event_new(host.base, host_pipe[0], EV_READ, host_pipe_cb, NULL);
	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(event_add(ev, NULL), 0);
	ck_assert_int_eq(
	        evfut_task_spawn(harness_rt, &spinner, sizeof(spinner)), 0);
	ck_assert_int_ge(event_base_loop(host.base, 0), 0);
	ck_assert_msg(host.pipe_read,
	              "the host's read event never ran: %u polls", host.spins);
	/* The data arrived while the task spun: the host's loop polled for
	 * I/O within a budget (128 polls) or two. */
	ck_assert_uint_ge(host.spins_at_read, SPINS_BEFORE_DATA);
	ck_assert_uint_le(host.spins_at_read,
	                  SPINS_BEFORE_DATA + 2 * EVFUT_DEFAULT_BUDGET);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_live, 0);
	event_free(ev);
	close(host_pipe[0]);
	close(host_pipe[1]);
}
END_TEST

/* signals */

static struct sigtest {
	struct evfut_signal sig;
	unsigned polls;
	int got[4];
	bool raised[4];
	int n;
	const int *to_raise;
	int raises;
} st;

/*
 * Waits for the signal future st.raises times; before each wait, raises
 * the next signal of st.to_raise from inside the poll, after the signal
 * future returned Pending.
 */
static enum evfut_poll
signal_root_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	st.polls++;
	while (st.n < st.raises) {
		if (evfut_future_poll(&st.sig.base, cx) == EVFUT_READY) {
			st.got[st.n++] = st.sig.result;
			continue;
		}
		if (!st.raised[st.n]) {
			st.raised[st.n] = true;
			ck_assert_int_eq(raise(st.to_raise[st.n]), 0);
		}
		return EVFUT_PENDING;
	}
	return EVFUT_READY;
}

static void
signal_await(const int *to_raise, int raises)
{
	struct evfut_future root = EVFUT_FUTURE_INIT(signal_root_poll, NULL);

	st.to_raise = to_raise;
	st.raises = raises;
	await_or_fail(&root, 5);
	ck_assert_int_eq(st.n, raises);
}

static bool
disposition_is_default(int signo)
{
	struct sigaction sa;

	ck_assert_int_eq(sigaction(signo, NULL, &sa), 0);
	return sa.sa_handler == SIG_DFL;
}

START_TEST(test_reactor_signal_completes_with_its_number)
{
	static const int set[] = {SIGUSR1};
	static const int raises[] = {SIGUSR1};
	int before = added_events(rt_base());

	memset(&st, 0, sizeof(st));
	ck_assert(disposition_is_default(SIGUSR1));
	ck_assert_int_eq(evfut_signal_init(&st.sig, harness_rt, set, 1), 0);
	ck_assert(!disposition_is_default(SIGUSR1));
	signal_await(raises, 1);
	ck_assert_int_eq(st.got[0], SIGUSR1);
	evfut_future_drop(&st.sig.base);
	ck_assert_int_eq(added_events(rt_base()), before);
}
END_TEST

START_TEST(test_reactor_signal_repeats_for_each_arrival)
{
	static const int set[] = {SIGUSR1};
	static const int raises[] = {SIGUSR1, SIGUSR1};

	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(evfut_signal_init(&st.sig, harness_rt, set, 1), 0);
	signal_await(raises, 2);
	ck_assert_int_eq(st.got[0], SIGUSR1);
	ck_assert_int_eq(st.got[1], SIGUSR1);
	/* Arrivals while nobody polls are counted, not lost. */
	ck_assert_int_eq(raise(SIGUSR1), 0);
	await_or_fail(&st.sig.base, 5);
	ck_assert_int_eq(st.sig.result, SIGUSR1);
	evfut_future_drop(&st.sig.base);
}
END_TEST

START_TEST(test_reactor_signal_set_reports_which_arrived)
{
	static const int set[] = {SIGUSR1, SIGUSR2};
	static const int raises[] = {SIGUSR2, SIGUSR1, SIGUSR2};

	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(evfut_signal_init(&st.sig, harness_rt, set, 2), 0);
	signal_await(raises, 3);
	ck_assert_int_eq(st.got[0], SIGUSR2);
	ck_assert_int_eq(st.got[1], SIGUSR1);
	ck_assert_int_eq(st.got[2], SIGUSR2);
	evfut_future_drop(&st.sig.base);
	ck_assert(disposition_is_default(SIGUSR1));
	ck_assert(disposition_is_default(SIGUSR2));
}
END_TEST

/*
 * A signal listed twice is still one signal: each arrival completes the
 * future once (or the set is refused with -EINVAL).
 */
START_TEST(test_reactor_signal_listed_twice_completes_once_per_arrival)
{
	static const int set[] = {SIGUSR1, SIGUSR1};
	static const int raises[] = {SIGUSR1};
	struct evfut_waker noop = evfut_waker_noop();
	struct evfut_context cx = counter_context(&noop);
	int before = added_events(rt_base());
	int completions = 1;
	int rc;

	memset(&st, 0, sizeof(st));
	rc = evfut_signal_init(&st.sig, harness_rt, set, 2);
	if (rc == -EINVAL) {
		ck_assert_int_eq(added_events(rt_base()), before);
		return;
	}
	ck_assert_int_eq(rc, 0);
	signal_await(raises, 1);
	ck_assert_int_eq(st.got[0], SIGUSR1);
	/* Let every callback of that one arrival run, then count. */
	sleep_ms(5);
	while (completions < 100 &&
	       evfut_future_poll(&st.sig.base, &cx) == EVFUT_READY)
		completions++;
	evfut_future_drop(&st.sig.base);
	ck_assert(disposition_is_default(SIGUSR1));
	ck_assert_msg(completions == 1,
	              "one SIGUSR1 completed the future %d times", completions);
}
END_TEST

START_TEST(test_reactor_signal_drop_restores_a_previous_handler)
{
	static const int set[] = {SIGUSR2};
	struct sigaction ignore = {.sa_handler = SIG_IGN};
	struct sigaction sa;

	ck_assert_int_eq(sigaction(SIGUSR2, &ignore, NULL), 0);
	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(evfut_signal_init(&st.sig, harness_rt, set, 1), 0);
	ck_assert_int_eq(sigaction(SIGUSR2, NULL, &sa), 0);
	ck_assert(sa.sa_handler != SIG_IGN);
	ck_assert_int_eq(raise(SIGUSR2), 0);
	await_or_fail(&st.sig.base, 5);
	ck_assert_int_eq(st.sig.result, SIGUSR2);
	evfut_future_drop(&st.sig.base);
	ck_assert_int_eq(sigaction(SIGUSR2, NULL, &sa), 0);
	ck_assert(sa.sa_handler == SIG_IGN);
	/* Ignored again: raising it now is harmless. */
	ck_assert_int_eq(raise(SIGUSR2), 0);
	sa.sa_handler = SIG_DFL;
	ck_assert_int_eq(sigaction(SIGUSR2, &sa, NULL), 0);
}
END_TEST

START_TEST(test_reactor_signal_rejects_bad_numbers)
{
	static const int bad[] = {0, SIGKILL, SIGSTOP, 99999, -1, NSIG};
	static const int nine[9] = {SIGUSR1, SIGUSR1, SIGUSR1, SIGUSR1, SIGUSR1,
	                            SIGUSR1, SIGUSR1, SIGUSR1, SIGUSR1};
	int before = added_events(rt_base());
	struct evfut_signal sig;
	int set[2];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(
		        evfut_signal_init(&sig, harness_rt, &bad[i], 1),
		        -EINVAL);
		/* A bad number after a good one: nothing is watched. */
		set[0] = SIGUSR1;
		set[1] = bad[i];
		ck_assert_int_eq(evfut_signal_init(&sig, harness_rt, set, 2),
		                 -EINVAL);
		ck_assert_int_eq(added_events(rt_base()), before);
		ck_assert(disposition_is_default(SIGUSR1));
	}
	ck_assert_int_eq(evfut_signal_init(&sig, harness_rt, nine, 0), -EINVAL);
	ck_assert_int_eq(evfut_signal_init(&sig, harness_rt, nine, 9), -EINVAL);
	ck_assert_int_eq(added_events(rt_base()), before);
}
END_TEST

START_TEST(test_reactor_signal_drop_restores_the_base_and_disposition)
{
	static const int set[] = {SIGUSR1, SIGUSR2};
	int before = added_events(rt_base());
	struct evfut_signal sig;
	struct harness_counter c;
	struct evfut_waker w;
	struct evfut_context cx;

	harness_counter_init(&c);
	w = harness_counter_waker(&c);
	cx = counter_context(&w);
	ck_assert_int_eq(evfut_signal_init(&sig, harness_rt, set, 2), 0);
	ck_assert_int_eq(added_events(rt_base()), before + 2);
	/* Dropped while pending: the events and the stored waker go. */
	ck_assert_int_eq(evfut_future_poll(&sig.base, &cx), EVFUT_PENDING);
	ck_assert_int_eq(atomic_load(&c.live), 2);
	evfut_future_drop(&sig.base);
	ck_assert_int_eq(atomic_load(&c.live), 1);
	ck_assert_int_eq(added_events(rt_base()), before);
	evfut_waker_drop(&w);
	/* With the default disposition back, SIGUSR1 would now kill. */
	ck_assert(disposition_is_default(SIGUSR1));
	ck_assert(disposition_is_default(SIGUSR2));
}
END_TEST

static Suite *
reactor_suite(void)
{
	Suite *s = suite_create("reactor");
	TCase *tc;

	tc = tcase_create("echo");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc,
	               test_reactor_echo_over_socketpair_returns_every_byte);
	tcase_add_test(tc, test_reactor_tiny_buffers_echo_one_mib_in_pieces);
	tcase_add_test(
	        tc, test_reactor_tiny_buffers_write_all_and_read_exact_one_mib);
	suite_add_tcase(s, tc);

	tc = tcase_create("wakers");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc,
	               test_reactor_latest_waker_wins_when_a_read_moves_task);
	tcase_add_test(tc, test_reactor_latest_waker_wins_counted);
	tcase_add_test(
	        tc,
	        test_reactor_dropped_read_removes_its_waker_and_close_its_event);
	tcase_add_test(tc, test_reactor_deregister_leaves_no_event_on_the_base);
	tcase_add_test(tc, test_reactor_register_starts_with_empty_wakers);
	tcase_add_loop_test(
	        tc,
	        test_reactor_readiness_between_eagain_and_pending_is_not_lost,
	        0, 2);
	tcase_add_test(
	        tc, test_reactor_short_read_on_a_terminal_keeps_the_next_line);
	tcase_add_loop_test(
	        tc, test_reactor_close_completes_a_waiting_read_with_ebadf, 0,
	        2);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_reactor_register_rejects_bad_descriptors);
	tcase_add_test(tc,
	               test_reactor_register_rejects_regular_file_with_eperm);
	tcase_add_test(tc, test_reactor_zeroed_registration_is_not_registered);
	tcase_add_test(tc, test_reactor_null_arguments_are_einval);
	tcase_add_test(tc, test_reactor_deregistered_io_is_ebadf_everywhere);
	tcase_add_test(tc, test_reactor_end_of_file_reads_zero);
	tcase_add_test(tc, test_reactor_end_of_file_wakes_a_waiting_read);
	tcase_add_test(
	        tc, test_reactor_peer_reset_mid_write_is_econnreset_or_epipe);
	suite_add_tcase(s, tc);

	tc = tcase_create("borrowed");
	tcase_add_checked_fixture(tc, host_setup, host_teardown);
	tcase_add_test(tc,
	               test_reactor_borrowed_base_runs_tasks_and_host_events);
	tcase_add_test(
	        tc,
	        test_reactor_borrowed_destroy_with_live_tasks_leaves_host_intact);
	tcase_add_test(
	        tc,
	        test_reactor_borrowed_self_waking_task_does_not_starve_host_io);
	suite_add_tcase(s, tc);

	tc = tcase_create("signals");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_reactor_signal_completes_with_its_number);
	tcase_add_test(tc, test_reactor_signal_repeats_for_each_arrival);
	tcase_add_test(tc, test_reactor_signal_set_reports_which_arrived);
	tcase_add_test(
	        tc,
	        test_reactor_signal_listed_twice_completes_once_per_arrival);
	tcase_add_test(tc,
	               test_reactor_signal_drop_restores_a_previous_handler);
	tcase_add_test(tc, test_reactor_signal_rejects_bad_numbers);
	tcase_add_test(
	        tc, test_reactor_signal_drop_restores_the_base_and_disposition);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return harness_main(reactor_suite());
}
