/*
 * Suite "reactor": a registration's deadline (evfut_io_set_deadline). Every
 * kind of pending operation, and evfut_io_poll_ready(), completes with
 * -ETIMEDOUT when the deadline passes, never before; one polled after it
 * fails at once even with data there (Go's SetDeadline), and nothing is
 * consumed; moving the deadline later touches no timer, and the one timer
 * is re-armed once when it fires early, without waking anyone; moving it
 * earlier re-arms it; EVFUT_NO_DEADLINE disables it; deregistering
 * disarms it; a dropped operation is not woken. On a virtual clock, so
 * nothing depends on timing; run on every libevent backend (./dev sets
 * EVENT_NOEPOLL, EVENT_NOPOLL).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "reactor-util.h"

static void
virtual_setup(void)
{
	struct evfut_runtime_options opts = {.clock = EVFUT_CLOCK_VIRTUAL};

	harness_setup();
	harness_runtime_replace(&opts);
}

static struct evfut_context
context_of(const struct evfut_waker *waker)
{
	struct evfut_context cx = {waker, harness_rt};

	return cx;
}

static evfut_nsec
now(void)
{
	return evfut_runtime_now(harness_rt);
}

/* White-box: where the registration's timer is armed (EVFUT_NEVER: it is
 * not); the timers_fired counter confirms it against the store. */
#define timer_of(io) ((io)->timer_at)

static uint64_t
fired(void)
{
	return harness_stats(harness_rt).timers_fired;
}

/* Fills the send buffer of the registered, non-blocking @fd. */
static void
fill(int fd)
{
	static char junk[4096];

	shrink_buffers(fd);
	while (send(fd, junk, sizeof junk, MSG_NOSIGNAL | MSG_DONTWAIT) > 0)
		;
	ck_assert_int_eq(errno, EAGAIN);
}

/* Runs @op (pending) on harness_rt until the deadline of @io, 5 s from
 * now, fails it; asserts -ETIMEDOUT and that it was never before. */
static void
times_out(struct evfut_io *io, struct evfut_io_op *op)
{
	evfut_nsec deadline = now() + 5 * EVFUT_SEC;

	ck_assert_int_eq(evfut_io_set_deadline(io, deadline), 0);
	ck_assert_uint_eq(evfut_io_deadline(io), deadline);
	await(&op->base);
	ck_assert_int_eq(op->result, -ETIMEDOUT);
	ck_assert_uint_ge(now(), deadline);
	evfut_future_drop(&op->base);
}

/* read, read_exact (after some bytes), readable, write_all, writable and
 * connect (both wait for room) on a socketpair. */
START_TEST(test_deadline_fails_each_pending_stream_op)
{
	struct evfut_io io;
	struct evfut_io_op op;
	char buf[64] = {0};
	int fds[2];

	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	evfut_read_init(&op, &io, buf, sizeof buf);
	times_out(&io, &op);
	ck_assert_int_eq(write(fds[1], "abc", 3), 3);
	evfut_read_exact_init(&op, &io, buf, 8);
	times_out(&io, &op);
	evfut_readable_init(&op, &io);
	times_out(&io, &op); /* the 3 bytes were consumed by read_exact */
	fill(fds[0]);
	evfut_write_all_init(&op, &io, buf, sizeof buf);
	times_out(&io, &op);
	evfut_writable_init(&op, &io);
	times_out(&io, &op);
	evfut_connect_init(&op, &io);
	times_out(&io, &op);
	evfut_io_deregister(&io);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

/* accept on a listener, recv_from and send_to on datagram sockets. */
/* The buffered streams wait through the registration, so its deadline
 * reaches them: a pending read_line and a pending drive fail with
 * -ETIMEDOUT, the partial line stays buffered, the writer's queue stays
 * and its error is not sticky; with the deadline lifted both go on. */
START_TEST(test_deadline_reaches_the_buffered_streams)
{
	struct evfut_io io;
	struct evfut_reader reader;
	struct evfut_writer writer;
	struct evfut_read_op line;
	struct evfut_write_op drive;
	static char big[64 * 1024];
	char sink[4096];
	struct harness_counter counter;
	struct evfut_waker waker;
	struct evfut_context cx;
	int fds[2];

	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	ck_assert_int_eq(evfut_reader_init(&reader, &io, 256), 0);
	ck_assert_int_eq(evfut_writer_init(&writer, &io, 1024, 4096), 0);
	ck_assert_int_eq(write(fds[1], "half", 4), 4);
	evfut_read_line_init(&line, &reader, 256);
	ck_assert_int_eq(evfut_io_set_deadline(&io, now() + EVFUT_SEC), 0);
	await(&line.base);
	ck_assert_int_eq(line.result, -ETIMEDOUT);
	evfut_future_drop(&line.base);
	ck_assert_uint_eq(evfut_reader_buffered(&reader), 4);

	fill(fds[0]);
	ck_assert_int_eq(evfut_writer_push(&writer, big, sizeof big), 0);
	evfut_writer_drive_init(&drive, &writer);
	ck_assert_int_eq(evfut_io_set_deadline(&io, now() + EVFUT_SEC), 0);
	await(&drive.base);
	ck_assert_int_eq(drive.result, -ETIMEDOUT);
	evfut_future_drop(&drive.base);
	ck_assert_int_eq(evfut_writer_error(&writer), 0);
	ck_assert_uint_eq(evfut_writer_unsent(&writer), sizeof big);

	ck_assert_int_eq(evfut_io_set_deadline(&io, EVFUT_NO_DEADLINE), 0);
	ck_assert_int_eq(write(fds[1], " line\n", 6), 6);
	evfut_read_line_init(&line, &reader, 256);
	await(&line.base);
	ck_assert_int_eq(line.result, 10);
	ck_assert_int_eq(memcmp(line.data, "half line\n", 10), 0);
	evfut_future_drop(&line.base);
	/* The peer drains what fill() queued and the writer's bytes, polling
	 * the flush by hand between its reads. */
	ck_assert_int_eq(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
	evfut_writer_flush_init(&drive, &writer);
	harness_counter_init(&counter);
	waker = harness_counter_waker(&counter);
	cx = counter_context(&waker);
	while (evfut_future_poll(&drive.base, &cx) == EVFUT_PENDING) {
		while (read(fds[1], sink, sizeof sink) > 0)
			;
		loop_once(false);
	}
	ck_assert_int_eq(drive.result, 0);
	evfut_future_drop(&drive.base);
	evfut_waker_drop(&waker);
	evfut_writer_destroy(&writer);
	evfut_reader_destroy(&reader);
	evfut_io_close(&io);
	close(fds[1]);
}
END_TEST

START_TEST(test_deadline_fails_accept_and_datagram_ops)
{
	struct evfut_io listener, udp, dgram;
	struct evfut_io_op op;
	struct sockaddr_storage from;
	socklen_t from_len = sizeof from;
	char buf[256] = {0};
	int fds[2];

	ck_assert_int_eq(evfut_tcp_listen(&listener, harness_rt, NULL, 0, 8, 0),
	                 0);
	evfut_accept_init(&op, &listener, NULL, NULL);
	times_out(&listener, &op);
	ck_assert_int_eq(evfut_io_close(&listener), 0);

	ck_assert_int_eq(evfut_udp_bind(&udp, harness_rt, NULL, 0), 0);
	evfut_recv_from_init(&op, &udp, buf, sizeof buf, (void *)&from,
	                     &from_len);
	times_out(&udp, &op);
	ck_assert_int_eq(evfut_io_close(&udp), 0);

	/* A connected datagram pair whose peer never reads fills up. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds),
	                 0);
	ck_assert_int_eq(evfut_io_register(&dgram, harness_rt, fds[0]), 0);
	while (send(fds[0], buf, sizeof buf, MSG_DONTWAIT) > 0)
		;
	evfut_send_to_init(&op, &dgram, buf, sizeof buf, NULL, 0);
	times_out(&dgram, &op);
	evfut_io_deregister(&dgram);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

/* A hand-written future's evfut_io_poll_ready(): the stored waker is woken
 * at the deadline, and the poll then says -ETIMEDOUT; both directions'
 * waiters wake. */
START_TEST(test_deadline_wakes_poll_ready_waiters_of_both_directions)
{
	struct harness_counter cr, cw;
	struct evfut_waker wr, ww;
	struct evfut_context cxr, cxw;
	struct evfut_io io;
	int fds[2];

	harness_counter_init(&cr);
	harness_counter_init(&cw);
	wr = harness_counter_waker(&cr);
	ww = harness_counter_waker(&cw);
	cxr = context_of(&wr);
	cxw = context_of(&ww);
	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	fill(fds[0]);
	ck_assert_int_eq(evfut_io_set_deadline(&io, now() + EVFUT_SEC), 0);
	ck_assert_int_eq(evfut_io_poll_ready(&io, EVFUT_READABLE, &cxr), 0);
	ck_assert_int_eq(evfut_io_poll_ready(&io, EVFUT_WRITABLE, &cxw), 0);
	ck_assert_int_eq(evfut_runtime_advance(harness_rt, EVFUT_SEC - 1), 0);
	ck_assert_int_eq(atomic_load(&cr.wakes), 0); /* never before */
	ck_assert_int_eq(evfut_io_poll_ready(&io, EVFUT_READABLE, &cxr), 0);
	ck_assert_int_eq(evfut_runtime_advance(harness_rt, 1), 0);
	ck_assert_int_eq(atomic_load(&cr.wakes), 1);
	ck_assert_int_eq(atomic_load(&cw.wakes), 1);
	ck_assert_int_eq(evfut_io_poll_ready(&io, EVFUT_READABLE, &cxr),
	                 -ETIMEDOUT);
	ck_assert_int_eq(evfut_io_poll_ready(&io, EVFUT_WRITABLE, &cxw),
	                 -ETIMEDOUT);
	evfut_io_deregister(&io);
	evfut_waker_drop(&wr);
	evfut_waker_drop(&ww);
	ck_assert_int_eq(atomic_load(&cr.live), 0);
	ck_assert_int_eq(atomic_load(&cw.live), 0);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

/* Past the deadline, a read fails at once though data is there, and takes
 * none of it: a later deadline lets the next read have every byte. */
START_TEST(test_deadline_passed_fails_at_once_and_consumes_nothing)
{
	struct evfut_waker noop = evfut_waker_noop();
	struct evfut_context cx = context_of(&noop);
	struct evfut_io io;
	struct evfut_io_op op;
	char buf[16];
	int fds[2];

	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	ck_assert_int_eq(write(fds[1], "hello", 5), 5);
	evfut_read_init(&op, &io, buf, sizeof buf);
	await(&op.base); /* readiness is known now */
	ck_assert_int_eq(op.result, 5);
	ck_assert_int_eq(write(fds[1], "world", 5), 5);
	ck_assert_int_eq(evfut_io_set_deadline(&io, now()), 0);
	evfut_read_init(&op, &io, buf, sizeof buf);
	ck_assert_int_eq(evfut_future_poll(&op.base, &cx), EVFUT_READY);
	ck_assert_int_eq(op.result, -ETIMEDOUT);
	ck_assert_int_eq(evfut_io_poll_ready(&io, EVFUT_READABLE, &cx),
	                 -ETIMEDOUT);
	ck_assert_int_eq(evfut_io_set_deadline(&io, EVFUT_NO_DEADLINE), 0);
	evfut_read_init(&op, &io, buf, sizeof buf);
	ck_assert_int_eq(evfut_future_poll(&op.base, &cx), EVFUT_READY);
	ck_assert_int_eq(op.result, 5);
	ck_assert_mem_eq(buf, "world", 5);
	evfut_io_deregister(&io);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

/* A deadline set in the past while operations wait wakes them at once;
 * each completes at its own poll, not before. */
START_TEST(test_deadline_in_the_past_wakes_waiters_who_fail_at_their_poll)
{
	struct harness_counter c;
	struct evfut_waker w;
	struct evfut_context cx;
	struct evfut_io io;
	struct evfut_io_op a, b;
	char buf[8];
	int fds[2];

	harness_counter_init(&c);
	w = harness_counter_waker(&c);
	cx = context_of(&w);
	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	evfut_read_init(&a, &io, buf, sizeof buf);
	evfut_readable_init(&b, &io);
	ck_assert_int_eq(evfut_future_poll(&a.base, &cx), EVFUT_PENDING);
	ck_assert_int_eq(evfut_future_poll(&b.base, &cx), EVFUT_PENDING);
	ck_assert_int_eq(evfut_runtime_advance(harness_rt, EVFUT_SEC), 0);
	ck_assert_int_eq(evfut_io_set_deadline(&io, EVFUT_MSEC), 0);
	ck_assert_int_eq(atomic_load(&c.wakes), 2);
	ck_assert_int_eq(a.result, 0); /* not completed behind its back */
	ck_assert_int_eq(evfut_future_poll(&a.base, &cx), EVFUT_READY);
	ck_assert_int_eq(evfut_future_poll(&b.base, &cx), EVFUT_READY);
	ck_assert_int_eq(a.result, -ETIMEDOUT);
	ck_assert_int_eq(b.result, -ETIMEDOUT);
	evfut_io_deregister(&io);
	evfut_waker_drop(&w);
	ck_assert_int_eq(atomic_load(&c.live), 0);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

/* An idle timeout refreshed a thousand times touches no timer; when the
 * timer fires at the first deadline it is re-armed once at the last one,
 * without waking the pending read, which fails only then. */
START_TEST(test_deadline_moved_later_is_a_field_write_and_rearms_once)
{
	struct harness_counter c;
	struct evfut_waker w;
	struct evfut_context cx;
	struct evfut_io io;
	struct evfut_io_op op;
	evfut_nsec first = now() + EVFUT_SEC, last = first;
	uint64_t before;
	char buf[8];
	int fds[2];

	harness_counter_init(&c);
	w = harness_counter_waker(&c);
	cx = context_of(&w);
	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	ck_assert_uint_eq(timer_of(&io), EVFUT_NEVER);
	ck_assert_int_eq(evfut_io_set_deadline(&io, first), 0);
	ck_assert_uint_eq(timer_of(&io), first);
	evfut_read_init(&op, &io, buf, sizeof buf);
	ck_assert_int_eq(evfut_future_poll(&op.base, &cx), EVFUT_PENDING);
	for (int i = 1; i <= 1000; i++) {
		last = first + (evfut_nsec)i * EVFUT_MSEC;
		ck_assert_int_eq(evfut_io_set_deadline(&io, last), 0);
		ck_assert_uint_eq(timer_of(&io), first); /* not moved */
	}
	before = fired();
	ck_assert_int_eq(evfut_runtime_advance(harness_rt, EVFUT_SEC), 0);
	ck_assert_uint_eq(fired(), before + 1);
	ck_assert_uint_eq(timer_of(&io), last); /* re-armed once, at it */
	ck_assert_int_eq(atomic_load(&c.wakes), 0);
	ck_assert_int_eq(evfut_runtime_advance(harness_rt, last - now() - 1),
	                 0);
	ck_assert_int_eq(atomic_load(&c.wakes), 0);
	ck_assert_int_eq(evfut_runtime_advance(harness_rt, 1), 0);
	ck_assert_uint_eq(fired(), before + 2);
	ck_assert_int_eq(atomic_load(&c.wakes), 1);
	ck_assert_int_eq(evfut_future_poll(&op.base, &cx), EVFUT_READY);
	ck_assert_int_eq(op.result, -ETIMEDOUT);
	ck_assert_uint_eq(timer_of(&io), EVFUT_NEVER); /* nothing re-armed */
	evfut_io_deregister(&io);
	evfut_waker_drop(&w);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

/* Moved earlier, the timer follows: the read fails at the earlier one. */
START_TEST(test_deadline_moved_earlier_rearms_the_timer)
{
	struct evfut_io io;
	struct evfut_io_op op;
	evfut_nsec early = now() + EVFUT_SEC, late = now() + 60 * EVFUT_SEC;
	char buf[8];
	int fds[2];

	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	ck_assert_int_eq(evfut_io_set_deadline(&io, late), 0);
	ck_assert_int_eq(evfut_io_set_deadline(&io, early), 0);
	ck_assert_uint_eq(timer_of(&io), early);
	evfut_read_init(&op, &io, buf, sizeof buf);
	await(&op.base);
	ck_assert_int_eq(op.result, -ETIMEDOUT);
	ck_assert_uint_ge(now(), early);
	ck_assert_uint_lt(now(), late);
	evfut_io_deregister(&io);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

/* EVFUT_NO_DEADLINE: the armed timer fires and fails nothing, and is not
 * re-armed; the read then gets its data. */
START_TEST(test_deadline_disabled_fails_nothing)
{
	struct harness_counter c;
	struct evfut_waker w;
	struct evfut_context cx;
	struct evfut_io io;
	struct evfut_io_op op;
	char buf[8];
	int fds[2];

	harness_counter_init(&c);
	w = harness_counter_waker(&c);
	cx = context_of(&w);
	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	ck_assert_int_eq(evfut_io_set_deadline(&io, now() + EVFUT_SEC), 0);
	evfut_read_init(&op, &io, buf, sizeof buf);
	ck_assert_int_eq(evfut_future_poll(&op.base, &cx), EVFUT_PENDING);
	ck_assert_int_eq(evfut_io_set_deadline(&io, EVFUT_NO_DEADLINE), 0);
	ck_assert_uint_eq(evfut_io_deadline(&io), EVFUT_NO_DEADLINE);
	ck_assert_int_eq(evfut_runtime_advance(harness_rt, 2 * EVFUT_SEC), 0);
	ck_assert_int_eq(atomic_load(&c.wakes), 0);
	ck_assert_uint_eq(timer_of(&io), EVFUT_NEVER);
	ck_assert_int_eq(evfut_future_poll(&op.base, &cx), EVFUT_PENDING);
	evfut_future_drop(&op.base);
	ck_assert_int_eq(write(fds[1], "x", 1), 1);
	evfut_read_init(&op, &io, buf, sizeof buf);
	await(&op.base);
	ck_assert_int_eq(op.result, 1);
	evfut_io_deregister(&io);
	evfut_waker_drop(&w);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

/* A dropped operation is not woken by the deadline; deregistering and
 * closing disarm the timer, and the registration reads as without one. */
START_TEST(test_deadline_dropped_op_and_deregister_disarm)
{
	uint64_t before;
	struct harness_counter c;
	struct evfut_waker w;
	struct evfut_context cx;
	struct evfut_io io;
	struct evfut_io_op op;
	char buf[8];
	int fds[2];

	harness_counter_init(&c);
	w = harness_counter_waker(&c);
	cx = context_of(&w);
	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	ck_assert_int_eq(evfut_io_set_deadline(&io, now() + EVFUT_SEC), 0);
	evfut_read_init(&op, &io, buf, sizeof buf);
	ck_assert_int_eq(evfut_future_poll(&op.base, &cx), EVFUT_PENDING);
	evfut_future_drop(&op.base);
	ck_assert_int_eq(evfut_runtime_advance(harness_rt, EVFUT_SEC), 0);
	ck_assert_int_eq(atomic_load(&c.wakes), 0);
	ck_assert_int_eq(atomic_load(&c.live), 1); /* ours only */

	ck_assert_int_eq(evfut_io_set_deadline(&io, now() + EVFUT_SEC), 0);
	ck_assert_uint_ne(timer_of(&io), EVFUT_NEVER);
	evfut_io_deregister(&io);
	ck_assert_uint_eq(timer_of(&io), EVFUT_NEVER);
	ck_assert_uint_eq(evfut_io_deadline(&io), EVFUT_NO_DEADLINE);
	ck_assert_int_eq(evfut_io_set_deadline(&io, now()), -EBADF);

	/* Registered again: no deadline; closed: disarmed too. */
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	ck_assert_uint_eq(evfut_io_deadline(&io), EVFUT_NO_DEADLINE);
	ck_assert_int_eq(evfut_io_set_deadline(&io, now() + EVFUT_SEC), 0);
	ck_assert_int_eq(evfut_io_close(&io), 0);
	ck_assert_uint_eq(timer_of(&io), EVFUT_NEVER);
	before = fired();
	ck_assert_int_eq(evfut_runtime_advance(harness_rt, 2 * EVFUT_SEC), 0);
	ck_assert_uint_eq(fired(), before); /* it left the store */
	evfut_waker_drop(&w);
	close(fds[1]);
}
END_TEST

/* Deregistering beats the deadline: a pending op learns -EBADF. */
START_TEST(test_deadline_deregister_gives_ebadf_not_etimedout)
{
	struct evfut_waker noop = evfut_waker_noop();
	struct evfut_context cx = context_of(&noop);
	struct evfut_io io;
	struct evfut_io_op op;
	char buf[8];
	int fds[2];

	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	ck_assert_int_eq(evfut_io_set_deadline(&io, now() + EVFUT_SEC), 0);
	evfut_read_init(&op, &io, buf, sizeof buf);
	ck_assert_int_eq(evfut_future_poll(&op.base, &cx), EVFUT_PENDING);
	ck_assert_int_eq(evfut_runtime_advance(harness_rt, EVFUT_SEC), 0);
	evfut_io_deregister(&io);
	ck_assert_int_eq(evfut_future_poll(&op.base, &cx), EVFUT_READY);
	ck_assert_int_eq(op.result, -EBADF);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

/* An accept backing off for want of descriptors waits on its back-off
 * timer, not on readiness: the deadline must wake it all the same. */
START_TEST(test_deadline_wakes_an_accept_backing_off_on_emfile)
{
	struct harness_counter c;
	struct evfut_waker w;
	struct evfut_context cx;
	struct evfut_io listener;
	struct evfut_io_op op;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct rlimit saved, lim;
	long wakes;
	int fd, spare;

	if (getenv("LD_PRELOAD") != NULL &&
	    strstr(getenv("LD_PRELOAD"), "vgpreload") != NULL) {
		fprintf(stderr, "# SKIP: valgrind emulates RLIMIT_NOFILE\n");
		return;
	}
	harness_counter_init(&c);
	w = harness_counter_waker(&c);
	cx = context_of(&w);
	ck_assert_int_eq(evfut_tcp_listen(&listener, harness_rt, NULL, 0, 8, 0),
	                 0);
	sin.sin_port = htons((uint16_t)evfut_io_local_port(&listener));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(spare, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
	lim = saved;
	lim.rlim_cur = (rlim_t)spare; /* no descriptor free below it */
	close(spare);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &lim), 0);
	evfut_accept_init(&op, &listener, NULL, NULL);
	ck_assert_int_eq(evfut_future_poll(&op.base, &cx), EVFUT_PENDING);
	ck_assert_int_ge(event_base_loop(evfut_runtime_event_base(harness_rt),
	                                 EVLOOP_ONCE),
	                 0); /* the connection's report */
	ck_assert_int_eq(evfut_future_poll(&op.base, &cx), EVFUT_PENDING);
	ck_assert_uint_ge(harness_stats(harness_rt).accept_backoffs, 1);
	ck_assert_int_eq(evfut_io_set_deadline(&listener, now() + EVFUT_SEC),
	                 0);
	wakes = atomic_load(&c.wakes);
	ck_assert_int_eq(evfut_runtime_advance(harness_rt, EVFUT_SEC), 0);
	ck_assert_int_eq(atomic_load(&c.wakes), wakes + 1);
	ck_assert_int_eq(evfut_future_poll(&op.base, &cx), EVFUT_READY);
	ck_assert_int_eq(op.result, -ETIMEDOUT);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
	evfut_future_drop(&op.base);
	ck_assert_int_eq(evfut_io_close(&listener), 0);
	evfut_waker_drop(&w);
	ck_assert_int_eq(atomic_load(&c.live), 0);
	close(fd);
}
END_TEST

/* A task that holds a registration with a deadline and a pending read is
 * cancelled by the runtime's destruction: its drop closes the
 * registration, whose timer leaves a store that is still there. */
struct holder {
	struct evfut_future base;
	int fd;
	int registered;
	struct evfut_io io;
	struct evfut_io_op op;
	char buf[8];
};

static enum evfut_poll
holder_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct holder *h = evfut_container_of(self, struct holder, base);

	if (!h->registered) {
		ck_assert_int_eq(evfut_io_register(&h->io, cx->runtime, h->fd),
		                 0);
		h->registered = 1;
		ck_assert_int_eq(
		        evfut_io_set_deadline(&h->io,
		                              evfut_runtime_now(cx->runtime) +
		                                      3600 * EVFUT_SEC),
		        0);
		evfut_read_init(&h->op, &h->io, h->buf, sizeof h->buf);
	}
	return evfut_future_poll(&h->op.base, cx);
}

static void
holder_drop(struct evfut_future *self)
{
	struct holder *h = evfut_container_of(self, struct holder, base);

	if (h->registered) {
		evfut_future_drop(&h->op.base);
		evfut_io_close(&h->io);
	}
}

START_TEST(test_deadline_runtime_destroyed_with_a_deadline_armed)
{
	struct holder h = {.base = {holder_poll, holder_drop}};
	struct evfut_runtime *rt = harness_runtime_take();
	struct evfut_sleep nap;
	int fds[2];

	make_socketpair(fds);
	h.fd = fds[0];
	ck_assert_int_eq(evfut_task_spawn(rt, &h.base, sizeof h), 0);
	evfut_sleep_init(&nap, EVFUT_SEC);
	ck_assert_int_eq(evfut_runtime_block_on(rt, &nap.base), 0);
	evfut_future_drop(&nap.base);
	evfut_runtime_destroy(rt);                    /* cancels the holder */
	ck_assert_int_eq(fcntl(fds[0], F_GETFD), -1); /* closed by its drop */
	close(fds[1]);
}
END_TEST

/* The timer store cannot grow to arm the deadline's timer: -ENOMEM, and
 * the registration is as before (no deadline; its read still works). */
START_TEST(test_deadline_enomem_leaves_the_deadline_unchanged)
{
	static struct evfut_sleep filler[512];
	struct evfut_waker noop = evfut_waker_noop();
	struct evfut_context cx = context_of(&noop);
	struct evfut_io io;
	struct evfut_io_op op;
	char buf[8];
	int fds[2], full = 0, n;

	/* Arm timers until one needs the store to grow, and that fails. */
	for (n = 0; n < 512 && !full; n++) {
		harness_alloc_fail_at(1);
		evfut_sleep_until_init(&filler[n], now() + EVFUT_SEC);
		if (evfut_future_poll(&filler[n].base, &cx) == EVFUT_READY)
			full = evfut_sleep_result(&filler[n]) == -ENOMEM;
	}
	harness_alloc_restore();
	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	if (full) {
		harness_alloc_fail_at(1);
		ck_assert_int_eq(evfut_io_set_deadline(&io, now() + EVFUT_SEC),
		                 -ENOMEM);
		harness_alloc_restore();
		ck_assert_uint_eq(evfut_io_deadline(&io), EVFUT_NO_DEADLINE);
	} else {
		fprintf(stderr,
		        "# SKIP: this timer store never fails to arm\n");
	}
	ck_assert_int_eq(write(fds[1], "x", 1), 1);
	evfut_read_init(&op, &io, buf, sizeof buf);
	await(&op.base);
	ck_assert_int_eq(op.result, 1);
	for (int i = 0; i < n; i++)
		evfut_future_drop(&filler[i].base);
	evfut_io_deregister(&io);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

START_TEST(test_deadline_rejects_bad_arguments)
{
	struct evfut_io never = {0};

	ck_assert_int_eq(evfut_io_set_deadline(NULL, 0), -EINVAL);
	ck_assert_uint_eq(evfut_io_deadline(NULL), EVFUT_NO_DEADLINE);
	ck_assert_int_eq(evfut_io_set_deadline(&never, 0), -EBADF);
}
END_TEST

/* On the real clock: a read with a deadline 20 ms ahead fails, never
 * before the deadline (no upper bound is asserted). */
START_TEST(test_deadline_real_clock_never_before)
{
	struct evfut_io io;
	struct evfut_io_op op;
	evfut_nsec deadline;
	char buf[8];
	int fds[2];

	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	deadline = now() + 20 * EVFUT_MSEC;
	ck_assert_int_eq(evfut_io_set_deadline(&io, deadline), 0);
	evfut_read_init(&op, &io, buf, sizeof buf);
	await_or_fail(&op.base, 10);
	ck_assert_int_eq(op.result, -ETIMEDOUT);
	ck_assert_uint_ge(now(), deadline);
	evfut_io_deregister(&io);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

static Suite *
deadline_suite(void)
{
	Suite *s = suite_create("reactor-deadline");
	TCase *tc;

	tc = tcase_create("ops");
	tcase_add_checked_fixture(tc, virtual_setup, harness_teardown);
	tcase_add_test(tc, test_deadline_fails_each_pending_stream_op);
	tcase_add_test(tc, test_deadline_reaches_the_buffered_streams);
	tcase_add_test(tc, test_deadline_fails_accept_and_datagram_ops);
	tcase_add_test(
	        tc, test_deadline_wakes_poll_ready_waiters_of_both_directions);
	tcase_add_test(tc,
	               test_deadline_passed_fails_at_once_and_consumes_nothing);
	tcase_add_test(
	        tc,
	        test_deadline_in_the_past_wakes_waiters_who_fail_at_their_poll);
	suite_add_tcase(s, tc);

	tc = tcase_create("timer");
	tcase_add_checked_fixture(tc, virtual_setup, harness_teardown);
	tcase_add_test(
	        tc, test_deadline_moved_later_is_a_field_write_and_rearms_once);
	tcase_add_test(tc, test_deadline_moved_earlier_rearms_the_timer);
	tcase_add_test(tc, test_deadline_disabled_fails_nothing);
	tcase_add_test(tc, test_deadline_dropped_op_and_deregister_disarm);
	tcase_add_test(tc, test_deadline_deregister_gives_ebadf_not_etimedout);
	tcase_add_test(tc, test_deadline_wakes_an_accept_backing_off_on_emfile);
	tcase_add_test(tc,
	               test_deadline_runtime_destroyed_with_a_deadline_armed);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_deadline_rejects_bad_arguments);
	tcase_add_test(tc, test_deadline_enomem_leaves_the_deadline_unchanged);
	tcase_add_test(tc, test_deadline_real_clock_never_before);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(deadline_suite());
}
