/*
 * Suite "reactor": the buffered writer. Pushes coalesced into one writev
 * (counted, and seen as one record on a SOCK_SEQPACKET pair), a push from
 * another task waking the owner's drive, a peer that never reads (the
 * queue stops at the high watermark, write waits, ready completes only
 * below the low one), partial writes of 1 MiB through minimal buffers,
 * -EPIPE and -ECONNRESET as sticky errors without SIGPIPE (sockets and
 * pipes), every operation dropped after k polls for every k, and every -E
 * path. Run on every libevent backend.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reactor-util.h"

/* A guard against a lost wakeup, not a timing assertion. */
#define GUARD_S    10
#define STREAM_LEN (256 * 1024)

/* fds[0] registered and written, fds[1] the peer, read by hand. */
static int fds[2];
static struct evfut_io io;
static struct evfut_writer writer;
static struct harness_counter counter;
static struct evfut_waker waker;
static struct evfut_context cx;
/* The bytes written are the pattern stream, in order. */
static unsigned char stream[STREAM_LEN];
static size_t queued;   /* stream bytes handed to the writer */
static size_t received; /* stream bytes the peer has read and checked */

static void
open_writer(int fd, size_t low, size_t high)
{
	/* A SIGPIPE would end the test: nothing may ignore it for us. */
	signal(SIGPIPE, SIG_DFL);
	pattern_fill(stream, sizeof(stream), 5);
	queued = received = 0;
	fds[0] = fd;
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fd), 0);
	ck_assert_int_eq(evfut_writer_init(&writer, &io, low, high), 0);
	harness_counter_init(&counter);
	waker = harness_counter_waker(&counter);
	cx = counter_context(&waker);
}

static void
open_pair(int type, size_t low, size_t high)
{
	int pair[2];

	ck_assert_int_eq(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, pair), 0);
	fds[1] = pair[1];
	open_writer(pair[0], low, high);
}

static void
close_all(void)
{
	evfut_writer_destroy(&writer);
	evfut_io_close(&io);
	if (fds[1] >= 0)
		close(fds[1]);
	evfut_waker_drop(&waker);
	ck_assert_int_eq(atomic_load(&counter.live), 0);
}

static void
peer_close(void)
{
	close(fds[1]);
	fds[1] = -1;
}

/* Pushes the next @len stream bytes. */
static void
push_stream(size_t len)
{
	ck_assert_int_eq(evfut_writer_push(&writer, stream + queued, len), 0);
	queued += len;
}

/* The peer reads what is there (at most @max bytes) and checks it. */
static size_t
peer_read(size_t max)
{
	unsigned char buf[8192];
	ssize_t n;

	if (max > sizeof(buf))
		max = sizeof(buf);
	n = recv(fds[1], buf, max, MSG_DONTWAIT);
	if (n < 0) {
		ck_assert_int_eq(errno, EAGAIN);
		return 0;
	}
	ck_assert_uint_le(received + (size_t)n, queued);
	ck_assert_int_eq(memcmp(buf, stream + received, (size_t)n), 0);
	received += (size_t)n;
	return (size_t)n;
}

static enum evfut_poll
poll_op(struct evfut_write_op *op)
{
	return evfut_future_poll(&op->base, &cx);
}

/* Polls @op to completion by hand, the peer reading between polls. */
static ssize_t
run_reading(struct evfut_write_op *op)
{
	int passes;

	for (passes = 0; poll_op(op) == EVFUT_PENDING; passes++) {
		ck_assert_int_lt(passes, 1000000);
		peer_read(4096);
		loop_once(false);
	}
	return op->result;
}

/* Flushes and has the peer read everything; asserts it all came. */
static void
flush_and_check(void)
{
	struct evfut_write_op op;

	evfut_writer_flush_init(&op, &writer);
	ck_assert_int_eq(run_reading(&op), 0);
	while (received < queued) {
		ck_assert_uint_gt(peer_read(8192), 0);
	}
	ck_assert_uint_eq(evfut_writer_unsent(&writer), 0);
}

START_TEST(test_stream_writer_push_then_flush_writes_everything)
{
	open_pair(SOCK_STREAM, 0, 1024);
	push_stream(5);
	push_stream(7);
	ck_assert_uint_eq(evfut_writer_unsent(&writer), 12);
	flush_and_check();
	ck_assert_uint_eq(received, 12);
	close_all();
}
END_TEST

/* 100 pushes of 10 bytes, then one flush: one system call, one record on
 * a SOCK_SEQPACKET pair (a write per push would make 100 records). */
START_TEST(test_stream_writer_coalesces_small_pushes_into_one_write)
{
	unsigned char record[4096];
	struct evfut_write_op op;
	int i;

	open_pair(SOCK_SEQPACKET, 0, 1 << 20);
	for (i = 0; i < 100; i++)
		push_stream(10);
	evfut_writer_flush_init(&op, &writer);
	await_or_fail(&op.base, GUARD_S);
	ck_assert_int_eq(op.result, 0);
	ck_assert_uint_eq(evfut_writer_write_calls(&writer), 1);
	ck_assert_int_eq(recv(fds[1], record, sizeof(record), MSG_DONTWAIT),
	                 1000);
	ck_assert_int_eq(memcmp(record, stream, 1000), 0);
	close_all();
}
END_TEST

/* The owner's task: a drive, until it fails. The task holds a pointer
 * to it, so that it stays with the test. */
struct owner {
	struct evfut_future base;
	struct evfut_write_op drive;
	bool started;
	bool pending; /* the drive has been polled and waits */
	unsigned long finished;
	ssize_t result;
	struct evfut_waker *waiter;
};

struct owner_task {
	struct evfut_future base;
	struct owner *owner;
};

static enum evfut_poll
owner_poll(struct evfut_future *self, struct evfut_context *c)
{
	struct owner *o =
	        evfut_container_of(self, struct owner_task, base)->owner;

	if (!o->started) {
		evfut_writer_drive_init(&o->drive, &writer);
		o->started = true;
	}
	if (evfut_future_poll(&o->drive.base, c) == EVFUT_PENDING) {
		o->pending = true;
		return EVFUT_PENDING;
	}
	o->result = o->drive.result;
	o->finished++;
	evfut_waker_wake(o->waiter);
	return EVFUT_READY;
}

static void
owner_task_drop(struct evfut_future *self)
{
	struct owner *o =
	        evfut_container_of(self, struct owner_task, base)->owner;

	evfut_future_drop(&o->drive.base);
}

/* Another task: once the drive waits, pushes 50 messages in one poll,
 * then reads them at the peer. Only the woken drive can write them. */
struct pusher {
	struct evfut_future base;
	const struct owner *owner;
	bool pushed;
	struct evfut_io peer;
	struct evfut_io_op read;
	unsigned char got[500];
};

static enum evfut_poll
pusher_poll(struct evfut_future *self, struct evfut_context *c)
{
	struct pusher *p = evfut_container_of(self, struct pusher, base);
	int i;

	if (!p->owner->pending) {
		evfut_waker_wake_by_ref(c->waker); /* yield to the owner */
		return EVFUT_PENDING;
	}
	if (!p->pushed) {
		for (i = 0; i < 50; i++)
			push_stream(10);
		p->pushed = true;
		evfut_read_exact_init(&p->read, &p->peer, p->got,
		                      sizeof(p->got));
	}
	if (evfut_future_poll(&p->read.base, c) == EVFUT_PENDING)
		return EVFUT_PENDING;
	ck_assert_int_eq(p->read.result, 500);
	ck_assert_int_eq(memcmp(p->got, stream, 500), 0);
	return EVFUT_READY;
}

START_TEST(test_stream_writer_push_from_another_task_wakes_the_drive)
{
	struct owner o = {0};
	struct owner_task task = {{owner_poll, owner_task_drop}, &o};
	struct pusher p = {.base = {pusher_poll, NULL}, .owner = &o};
	struct evfut_waker slot = EVFUT_WAKER_EMPTY;
	struct wait_count done;

	open_pair(SOCK_SEQPACKET, 0, 1 << 20);
	o.waiter = &slot;
	ck_assert_int_eq(evfut_io_register(&p.peer, harness_rt, fds[1]), 0);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &task.base, sizeof(task)),
	                 0);
	await_or_fail(&p.base, GUARD_S);
	/* Fifty pushes before the owner ran: one write. */
	ck_assert_uint_eq(evfut_writer_write_calls(&writer), 1);
	evfut_io_deregister(&p.peer);
	/* A failed write ends the drive, and its task. */
	peer_close();
	push_stream(1);
	wait_count_init(&done, &o.finished, 1, &slot);
	await_or_fail(&done.base, GUARD_S);
	ck_assert_int_eq(o.result, -EPIPE);
	ck_assert_int_eq(evfut_writer_error(&writer), -EPIPE);
	close_all();
}
END_TEST

/* Polls @op until it waits for the peer: a nonblocking pass of the loop
 * after a pending poll woke nothing. */
static enum evfut_poll
poll_until_stuck(struct evfut_write_op *op)
{
	int passes;

	for (passes = 0; passes < 1000; passes++) {
		long wakes = atomic_load(&counter.wakes);

		if (poll_op(op) == EVFUT_READY)
			return EVFUT_READY;
		loop_once(false);
		if (atomic_load(&counter.wakes) == wakes)
			return EVFUT_PENDING;
	}
	ck_abort_msg("the writer never settled");
	return EVFUT_PENDING;
}

/*
 * A peer that never reads: the writes complete until the queue passes the
 * high watermark, then a write waits, and the queue holds at most the
 * watermark plus one message. ready() waits while the peer reads a
 * little, and completes only once the queue is at the low watermark.
 */
START_TEST(test_stream_writer_peer_that_never_reads_stops_at_the_watermark)
{
	const size_t low = 4096, high = 16384, msg = 2048;
	struct evfut_write_op wr;
	struct evfut_write_op ready;
	bool written = false; /* wr completed */
	enum evfut_poll p;
	int passes;

	open_pair(SOCK_STREAM, low, high);
	shrink_buffers(fds[0]);
	shrink_buffers(fds[1]);
	for (;;) {
		evfut_writer_write_init(&wr, &writer, stream + queued, msg);
		if (poll_until_stuck(&wr) == EVFUT_PENDING)
			break;
		ck_assert_int_eq(wr.result, (ssize_t)msg);
		queued += msg;
		ck_assert_uint_lt(queued, STREAM_LEN / 2);
	}
	ck_assert_uint_gt(evfut_writer_unsent(&writer), high);
	ck_assert_uint_le(evfut_writer_unsent(&writer), high + msg);
	evfut_writer_ready_init(&ready, &writer);
	ck_assert_int_eq(poll_until_stuck(&ready), EVFUT_PENDING);
	/* The peer reads in small bites: ready waits until low. */
	for (passes = 0;; passes++) {
		ck_assert_int_lt(passes, 100000);
		peer_read(256);
		loop_once(false);
		p = poll_op(&ready);
		if (p == EVFUT_READY)
			break;
		ck_assert_uint_gt(evfut_writer_unsent(&writer), low);
		/* The waiting write goes in once there is room. */
		if (!written && poll_op(&wr) == EVFUT_READY) {
			ck_assert_int_eq(wr.result, (ssize_t)msg);
			queued += msg;
			written = true;
		}
	}
	ck_assert_int_eq(ready.result, 0);
	ck_assert_uint_le(evfut_writer_unsent(&writer), low);
	if (!written) {
		ck_assert_int_eq(run_reading(&wr), (ssize_t)msg);
		queued += msg;
	}
	flush_and_check();
	close_all();
}
END_TEST

/* Reads @fd (registered at the first poll) to end of file, checking the
 * stream. */
struct drain {
	struct evfut_future base;
	int fd;
	bool registered;
	unsigned long done;
	struct evfut_waker *waiter;
	struct evfut_io io;
	struct evfut_io_op op;
	unsigned char buf[4096];
};

struct drain_task {
	struct evfut_future base;
	struct drain *drain;
};

static enum evfut_poll
drain_poll(struct evfut_future *self, struct evfut_context *c)
{
	struct drain *d =
	        evfut_container_of(self, struct drain_task, base)->drain;

	if (!d->registered) {
		ck_assert_int_eq(evfut_io_register(&d->io, c->runtime, d->fd),
		                 0);
		d->registered = true;
		evfut_read_init(&d->op, &d->io, d->buf, sizeof(d->buf));
	}
	for (;;) {
		if (evfut_future_poll(&d->op.base, c) == EVFUT_PENDING)
			return EVFUT_PENDING;
		ck_assert_int_ge(d->op.result, 0);
		if (d->op.result == 0)
			break;
		ck_assert_int_eq(
		        memcmp(d->buf, stream + received, (size_t)d->op.result),
		        0);
		received += (size_t)d->op.result;
		evfut_read_init(&d->op, &d->io, d->buf, sizeof(d->buf));
	}
	evfut_io_close(&d->io);
	d->done = 1;
	evfut_waker_wake(d->waiter);
	return EVFUT_READY;
}

/* 256 KiB in one push through minimal buffers: many partial writes, each
 * followed by the rest, every byte in order. */
START_TEST(test_stream_writer_partial_writes_deliver_every_byte)
{
	struct evfut_waker slot = EVFUT_WAKER_EMPTY;
	struct drain d = {.waiter = &slot};
	struct drain_task task = {{drain_poll, NULL}, &d};
	struct evfut_write_op op;
	struct wait_count done;

	open_pair(SOCK_STREAM, 0, 1024);
	shrink_buffers(fds[0]);
	shrink_buffers(fds[1]);
	d.fd = fds[1];
	fds[1] = -1;
	push_stream(STREAM_LEN);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &task.base, sizeof(task)),
	                 0);
	evfut_writer_flush_init(&op, &writer);
	await_or_fail(&op.base, GUARD_S);
	ck_assert_int_eq(op.result, 0);
	ck_assert_uint_gt(evfut_writer_write_calls(&writer), 1);
	ck_assert_int_eq(evfut_io_shutdown(&io, SHUT_WR), 0);
	wait_count_init(&done, &d.done, 1, &slot);
	await_or_fail(&done.base, GUARD_S);
	ck_assert_uint_eq(received, STREAM_LEN);
	close_all();
}
END_TEST

/* A large push gets a chunk of its own, freed once written; the last
 * standard chunk stays for the next pushes: no allocation per push. */
START_TEST(test_stream_writer_keeps_one_standard_chunk_and_frees_large_ones)
{
	struct evfut_write_op op;

	open_pair(SOCK_STREAM, 0, 1 << 20);
	harness_alloc_fail_at(0); /* counts */
	push_stream(100000);
	ck_assert_int_eq(harness_alloc_live(), 1);
	evfut_writer_flush_init(&op, &writer);
	await_or_fail(&op.base, GUARD_S);
	ck_assert_int_eq(op.result, 0);
	ck_assert_int_eq(harness_alloc_live(), 0);
	push_stream(10);
	ck_assert_int_eq(harness_alloc_live(), 1);
	evfut_writer_flush_init(&op, &writer);
	await_or_fail(&op.base, GUARD_S);
	push_stream(10);
	push_stream(10);
	ck_assert_int_eq(harness_alloc_live(), 1);
	flush_and_check();
	ck_assert_int_eq(harness_alloc_live(), 1);
	close_all();
	ck_assert_int_eq(harness_alloc_live(), 0);
}
END_TEST

/* Every operation reports the sticky error once a write failed. */
static void
assert_sticky(int error)
{
	struct evfut_write_op op;
	size_t unsent = evfut_writer_unsent(&writer);

	ck_assert_int_eq(evfut_writer_error(&writer), error);
	ck_assert_int_eq(evfut_writer_push(&writer, "x", 1), error);
	ck_assert_uint_eq(evfut_writer_unsent(&writer), unsent);
	evfut_writer_write_init(&op, &writer, "x", 1);
	ck_assert_int_eq(run_reading(&op), error);
	evfut_writer_flush_init(&op, &writer);
	ck_assert_int_eq(run_reading(&op), error);
	evfut_writer_ready_init(&op, &writer);
	ck_assert_int_eq(run_reading(&op), error);
	evfut_writer_drive_init(&op, &writer);
	ck_assert_int_eq(run_reading(&op), error);
	ck_assert_uint_eq(evfut_writer_unsent(&writer), unsent);
}

START_TEST(test_stream_writer_closed_peer_is_a_sticky_epipe_without_sigpipe)
{
	struct evfut_write_op op;

	open_pair(SOCK_STREAM, 0, 1024);
	peer_close();
	push_stream(100);
	evfut_writer_flush_init(&op, &writer);
	await_or_fail(&op.base, GUARD_S);
	ck_assert_int_eq(op.result, -EPIPE);
	ck_assert_uint_eq(evfut_writer_unsent(&writer), 100);
	assert_sticky(-EPIPE);
	close_all();
}
END_TEST

START_TEST(test_stream_writer_reset_peer_is_a_sticky_error)
{
	struct evfut_write_op op;
	int pair[2];
	int error;

	tcp_socket_pair(pair);
	fds[1] = pair[1];
	open_writer(pair[0], 0, 1024);
	close_with_reset(fds[1]);
	fds[1] = -1;
	push_stream(100);
	evfut_writer_flush_init(&op, &writer);
	await_or_fail(&op.base, GUARD_S);
	/* The reset, or (once it was taken) the closed connection. */
	error = (int)op.result;
	ck_assert(error == -ECONNRESET || error == -EPIPE);
	assert_sticky(error);
	close_all();
}
END_TEST

/* A pipe is no socket: writev, with SIGPIPE held back and taken back. */
START_TEST(test_stream_writer_pipe_writes_and_reports_epipe_without_sigpipe)
{
	struct evfut_write_op op;
	char buf[16];
	sigset_t pending;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	fds[1] = p[0];
	open_writer(p[1], 0, 1024);
	push_stream(10);
	evfut_writer_flush_init(&op, &writer);
	await_or_fail(&op.base, GUARD_S);
	ck_assert_int_eq(op.result, 0);
	ck_assert_int_eq(read(fds[1], buf, sizeof(buf)), 10);
	ck_assert_int_eq(memcmp(buf, stream, 10), 0);
	peer_close();
	push_stream(10);
	evfut_writer_flush_init(&op, &writer);
	await_or_fail(&op.base, GUARD_S);
	ck_assert_int_eq(op.result, -EPIPE);
	ck_assert_int_eq(sigpending(&pending), 0);
	ck_assert(!sigismember(&pending, SIGPIPE));
	assert_sticky(-EPIPE);
	close_all();
}
END_TEST

/*
 * Cancellation at every await point: each operation is dropped after k
 * polls, for every k, and made again; through minimal buffers, the peer
 * reading a little between polls. A dropped write queued nothing (the
 * next takes its place in the stream); dropped flush, ready and drive
 * lose nothing queued. The peer must get exactly the stream.
 */
static void
init_op(struct evfut_write_op *op, int kind)
{
	switch (kind) {
	case 0:
		evfut_writer_write_init(op, &writer, stream + queued, 1500);
		break;
	case 1:
		evfut_writer_flush_init(op, &writer);
		break;
	case 2:
		evfut_writer_ready_init(op, &writer);
		break;
	default:
		evfut_writer_drive_init(op, &writer);
		break;
	}
}

static void
drop_after_k_polls(int kind, unsigned k)
{
	struct evfut_write_op op;
	int msg;

	open_pair(SOCK_STREAM, 1024, 4096);
	shrink_buffers(fds[0]);
	shrink_buffers(fds[1]);
	for (msg = 0; msg < 30; msg++) {
		unsigned polls = 0;
		bool dropped = false;
		int passes;

		if (kind != 0)
			push_stream(1500);
		init_op(&op, kind);
		for (passes = 0;; passes++) {
			ck_assert_int_lt(passes, 1000000);
			if (!dropped && polls == k) {
				size_t unsent = evfut_writer_unsent(&writer);

				evfut_future_drop(&op.base);
				ck_assert_uint_eq(evfut_writer_unsent(&writer),
				                  unsent);
				init_op(&op, kind);
				dropped = true;
			}
			polls++;
			if (poll_op(&op) == EVFUT_READY)
				break;
			if (kind == 3 && evfut_writer_unsent(&writer) == 0)
				break;
			peer_read(700);
			loop_once(false);
		}
		evfut_future_drop(&op.base);
		if (kind == 0) {
			ck_assert_int_eq(op.result, 1500);
			queued += 1500;
		} else if (kind != 3) {
			ck_assert_int_eq(op.result, 0);
		}
	}
	flush_and_check();
	ck_assert_uint_eq(received, 30 * 1500);
	close_all();
}

START_TEST(test_stream_writer_dropping_any_op_at_any_poll_loses_nothing)
{
	unsigned k;
	int kind;

	for (k = 0; k < 10; k++)
		for (kind = 0; kind < 4; kind++)
			drop_after_k_polls(kind, k);
}
END_TEST

/* A write that waits for room, dropped: nothing of it is queued. */
START_TEST(test_stream_writer_dropped_waiting_write_queued_nothing)
{
	struct evfut_write_op op;
	size_t unsent;

	open_pair(SOCK_STREAM, 0, 100);
	shrink_buffers(fds[0]);
	shrink_buffers(fds[1]);
	push_stream(200000);
	evfut_writer_write_init(&op, &writer, "never", 5);
	ck_assert_int_eq(poll_until_stuck(&op), EVFUT_PENDING);
	unsent = evfut_writer_unsent(&writer);
	ck_assert_uint_gt(unsent, 100);
	evfut_future_drop(&op.base);
	ck_assert_uint_eq(evfut_writer_unsent(&writer), unsent);
	flush_and_check();
	ck_assert_uint_eq(received, 200000);
	close_all();
}
END_TEST

START_TEST(test_stream_writer_errors)
{
	struct evfut_write_op op;
	struct evfut_writer w;

	open_pair(SOCK_STREAM, 0, 100);
	ck_assert_int_eq(evfut_writer_init(NULL, &io, 0, 1), -EINVAL);
	ck_assert_int_eq(evfut_writer_init(&w, NULL, 0, 1), -EINVAL);
	ck_assert_int_eq(evfut_writer_init(&w, &io, 2, 1), -EINVAL);
	evfut_writer_destroy(NULL);
	ck_assert_int_eq(evfut_writer_push(NULL, "x", 1), -EINVAL);
	ck_assert_int_eq(evfut_writer_push(&writer, NULL, 1), -EINVAL);
	ck_assert_int_eq(evfut_writer_push(&writer, NULL, 0), 0);
	evfut_writer_write_init(&op, &writer, NULL, 1);
	ck_assert_int_eq(run_reading(&op), -EINVAL);
	ck_assert_uint_eq(evfut_writer_unsent(NULL), 0);
	ck_assert_uint_eq(evfut_writer_write_calls(NULL), 0);
	ck_assert_int_eq(evfut_writer_error(NULL), -EINVAL);
	evfut_writer_flush_init(&op, NULL);
	ck_assert_int_eq(run_reading(&op), -EINVAL);
	evfut_writer_drive_init(&op, NULL);
	ck_assert_int_eq(run_reading(&op), -EINVAL);
	/* No memory: nothing queued, and the writer goes on. */
	harness_alloc_fail_at(1);
	ck_assert_int_eq(evfut_writer_push(&writer, stream, 10), -ENOMEM);
	ck_assert_uint_eq(evfut_writer_unsent(&writer), 0);
	harness_alloc_restore();
	push_stream(4000);
	harness_alloc_fail_at(1);
	ck_assert_int_eq(evfut_writer_push(&writer, stream + queued, 200),
	                 -ENOMEM);
	harness_alloc_restore();
	ck_assert_uint_eq(evfut_writer_unsent(&writer), 4000);
	ck_assert_int_eq(evfut_writer_error(&writer), 0);
	flush_and_check();
	ck_assert_uint_eq(received, 4000);
	close_all();
}
END_TEST

/* The registration removed under a waiting write: -EBADF, not sticky. */
START_TEST(test_stream_writer_deregistered_io_is_ebadf)
{
	struct evfut_write_op op;

	open_pair(SOCK_STREAM, 0, 100);
	shrink_buffers(fds[0]);
	shrink_buffers(fds[1]);
	push_stream(200000);
	evfut_writer_flush_init(&op, &writer);
	ck_assert_int_eq(poll_until_stuck(&op), EVFUT_PENDING);
	evfut_io_deregister(&io);
	ck_assert_int_eq(poll_op(&op), EVFUT_READY);
	ck_assert_int_eq(op.result, -EBADF);
	ck_assert_int_eq(evfut_writer_error(&writer), 0);
	close(fds[0]);
	close_all();
}
END_TEST

static Suite *
writer_suite(void)
{
	Suite *s = suite_create("stream-writer");
	TCase *tc = tcase_create("writer");

	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc,
	               test_stream_writer_push_then_flush_writes_everything);
	tcase_add_test(
	        tc, test_stream_writer_coalesces_small_pushes_into_one_write);
	tcase_add_test(
	        tc, test_stream_writer_push_from_another_task_wakes_the_drive);
	tcase_add_test(
	        tc,
	        test_stream_writer_peer_that_never_reads_stops_at_the_watermark);
	tcase_add_test(tc,
	               test_stream_writer_partial_writes_deliver_every_byte);
	tcase_add_test(
	        tc,
	        test_stream_writer_keeps_one_standard_chunk_and_frees_large_ones);
	tcase_add_test(
	        tc,
	        test_stream_writer_closed_peer_is_a_sticky_epipe_without_sigpipe);
	tcase_add_test(tc, test_stream_writer_reset_peer_is_a_sticky_error);
	tcase_add_test(
	        tc,
	        test_stream_writer_pipe_writes_and_reports_epipe_without_sigpipe);
	tcase_add_test(
	        tc,
	        test_stream_writer_dropping_any_op_at_any_poll_loses_nothing);
	tcase_add_test(tc,
	               test_stream_writer_dropped_waiting_write_queued_nothing);
	tcase_add_test(tc, test_stream_writer_errors);
	tcase_add_test(tc, test_stream_writer_deregistered_io_is_ebadf);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(writer_suite());
}
