/*
 * Suite "reactor": the end of a stream is never lost. The last data and
 * the hang-up or reset arrive in one report (a pipe whose writer exited,
 * also while another task keeps the runtime busy, a FIFO, TCP data then
 * RST or FIN), and a read after the short read must still see end of file
 * or the error; half-close both ways; a refused connect completes with its
 * error; two operations on one direction; a completed operation releases
 * its waker; an idle ready descriptor does not spin a level-triggered
 * loop. Run on every libevent backend (./dev sets EVENT_NOEPOLL,
 * EVENT_NOPOLL). Each case runs under a timeout of its own, far below
 * Check's.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "reactor-util.h"

/* A guard against a lost end of file, not a timing assertion. */
#define GUARD_S 5

/* Reads @fd (registered at the first poll) until end of file or an
 * error, in reads of at most 16 bytes. */
struct drain {
	struct evfut_future base;
	int fd;
	size_t bytes;
	ssize_t last; /* 0: end of file; < 0: the error */
	bool registered;
	struct evfut_io io;
	struct evfut_io_op op;
	char buf[16];
};

static enum evfut_poll
drain_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct drain *d = evfut_container_of(self, struct drain, base);

	if (!d->registered) {
		ck_assert_int_eq(evfut_io_register(&d->io, cx->runtime, d->fd),
		                 0);
		d->registered = true;
		evfut_read_init(&d->op, &d->io, d->buf, sizeof(d->buf));
	}
	for (;;) {
		if (evfut_future_poll(&d->op.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		d->last = d->op.result;
		if (d->last <= 0)
			return EVFUT_READY;
		d->bytes += (size_t)d->last;
		evfut_read_init(&d->op, &d->io, d->buf, sizeof(d->buf));
	}
}

static void
drain_drop(struct evfut_future *self)
{
	struct drain *d = evfut_container_of(self, struct drain, base);

	if (d->registered) {
		evfut_future_drop(&d->op.base);
		evfut_io_deregister(&d->io);
	}
}

/* Drains @fd under the guard; returns the last result, bytes in @bytes. */
static ssize_t
drain_fd(int fd, size_t *bytes)
{
	struct drain d = {.base = {drain_poll, drain_drop}, .fd = fd};

	await_or_fail(&d.base, GUARD_S);
	*bytes = d.bytes;
	return d.last;
}

static void
write_all_blocking(int fd, const char *s)
{
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

START_TEST(test_eof_pipe_data_and_hangup_in_one_report_give_eof)
{
	int p[2];
	size_t bytes;

	ck_assert_int_eq(pipe(p), 0);
	write_all_blocking(p[1], "last words");
	close(p[1]);
	ck_assert_int_eq(drain_fd(p[0], &bytes), 0);
	ck_assert_uint_eq(bytes, 10);
	close(p[0]);
}
END_TEST

START_TEST(test_eof_pipe_writer_exits_while_runtime_waits_gives_eof)
{
	int p[2];
	size_t bytes;
	pid_t pid;
	int status;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		write_all_blocking(p[1], "child");
		_exit(0);
	}
	close(p[1]);
	/* The writer is gone before the loop looks: one report for both. */
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(drain_fd(p[0], &bytes), 0);
	ck_assert_uint_eq(bytes, 5);
	close(p[0]);
}
END_TEST

/* Busy for one poll: once the drain is registered, forks a writer and
 * waits for it to exit, so its data and its exit land in one report. */
struct busy_writer {
	struct evfut_future base;
	const struct drain *drain; /* waits for it to be registered */
	int fd;                    /* the pipe's write end */
};

static enum evfut_poll
busy_writer_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct busy_writer *b =
	        evfut_container_of(self, struct busy_writer, base);
	int status;
	pid_t pid;

	if (!b->drain->registered) {
		evfut_waker_wake_by_ref(cx->waker); /* yield */
		return EVFUT_PENDING;
	}
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		write_all_blocking(b->fd, "busy");
		_exit(0);
	}
	close(b->fd);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return EVFUT_READY;
}

START_TEST(test_eof_pipe_writer_exits_while_runtime_is_busy_gives_eof)
{
	struct drain d = {.base = {drain_poll, drain_drop}};
	struct busy_writer b = {.base = {busy_writer_poll, NULL}, .drain = &d};
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	d.fd = p[0];
	b.fd = p[1];
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &b.base, sizeof(b)), 0);
	await_or_fail(&d.base, GUARD_S);
	ck_assert_int_eq(d.last, 0);
	ck_assert_uint_eq(d.bytes, 4);
	close(p[0]);
}
END_TEST

START_TEST(test_eof_fifo_data_and_close_give_eof)
{
	char path[64] = "/tmp/evfut-fifo-XXXXXX";
	size_t bytes;
	int rd;
	int wr;

	ck_assert_ptr_nonnull(mkdtemp(path));
	strcat(path, "/f");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	rd = open(path, O_RDONLY | O_NONBLOCK);
	wr = open(path, O_WRONLY);
	ck_assert_int_ge(rd, 0);
	ck_assert_int_ge(wr, 0);
	write_all_blocking(wr, "fifo data");
	close(wr);
	ck_assert_int_eq(drain_fd(rd, &bytes), 0);
	ck_assert_uint_eq(bytes, 9);
	close(rd);
	unlink(path);
	*strrchr(path, '/') = '\0';
	rmdir(path);
}
END_TEST

START_TEST(test_eof_tcp_data_then_reset_gives_the_data_then_econnreset)
{
	int fds[2];
	size_t bytes;

	tcp_socket_pair(fds);
	write_all_blocking(fds[1], "one line\n");
	close_with_reset(fds[1]);
	ck_assert_int_eq(drain_fd(fds[0], &bytes), -ECONNRESET);
	ck_assert_uint_eq(bytes, 9);
	close(fds[0]);
}
END_TEST

START_TEST(test_eof_tcp_data_then_fin_gives_the_data_then_eof)
{
	int fds[2];
	size_t bytes;

	tcp_socket_pair(fds);
	write_all_blocking(fds[1], "one line\n");
	close(fds[1]);
	ck_assert_int_eq(drain_fd(fds[0], &bytes), 0);
	ck_assert_uint_eq(bytes, 9);
	close(fds[0]);
}
END_TEST

START_TEST(test_eof_tcp_reset_with_nothing_pending_gives_econnreset)
{
	int fds[2];
	size_t bytes;

	tcp_socket_pair(fds);
	close_with_reset(fds[1]);
	ck_assert_int_eq(drain_fd(fds[0], &bytes), -ECONNRESET);
	ck_assert_uint_eq(bytes, 0);
	close(fds[0]);
}
END_TEST

/* The connect fails after it started: the error (EPOLLERR, or what poll
 * and select report) completes the pending connect, with the error. */
START_TEST(test_eof_connect_to_closed_port_gives_econnrefused)
{
	struct evfut_io listener, io;
	struct evfut_io_op op;
	uint16_t port;
	int rc;

	ck_assert_int_eq(evfut_tcp_listen(&listener, harness_rt, NULL, 0, 8, 0),
	                 0);
	port = (uint16_t)evfut_io_local_port(&listener);
	ck_assert_int_eq(evfut_io_close(&listener), 0);
	rc = evfut_tcp_connect_start(&io, harness_rt, "127.0.0.1", port);
	if (rc == -ECONNREFUSED) /* known at once: no report to read */
		return;
	ck_assert_int_eq(rc, 0);
	evfut_connect_init(&op, &io);
	await_or_fail(&op.base, GUARD_S);
	ck_assert_int_eq(op.result, -ECONNREFUSED);
	ck_assert_int_eq(evfut_io_close(&io), 0);
}
END_TEST

/* One side shuts down writing; the other reads the data and end of file,
 * then still writes back, and the first reads that and end of file. */
static void
half_close(int a, int b)
{
	size_t bytes;

	write_all_blocking(a, "ping");
	ck_assert_int_eq(shutdown(a, SHUT_WR), 0);
	ck_assert_int_eq(drain_fd(b, &bytes), 0);
	ck_assert_uint_eq(bytes, 4);
	write_all_blocking(b, "pong!");
	ck_assert_int_eq(shutdown(b, SHUT_WR), 0);
	ck_assert_int_eq(drain_fd(a, &bytes), 0);
	ck_assert_uint_eq(bytes, 5);
}

START_TEST(test_eof_tcp_half_close_both_ways)
{
	int fds[2];

	tcp_socket_pair(fds);
	half_close(fds[0], fds[1]);
	close(fds[0]);
	close(fds[1]);
	tcp_socket_pair(fds);
	half_close(fds[1], fds[0]);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

START_TEST(test_eof_unix_data_then_close_gives_eof)
{
	int fds[2];
	size_t bytes;

	make_socketpair(fds);
	write_all_blocking(fds[1], "unix");
	close(fds[1]);
	ck_assert_int_eq(drain_fd(fds[0], &bytes), 0);
	ck_assert_uint_eq(bytes, 4);
	close(fds[0]);
}
END_TEST

START_TEST(test_eof_dropping_one_of_two_ops_on_a_direction_keeps_the_other)
{
	struct harness_counter ca, cb;
	struct evfut_waker wa, wb;
	struct evfut_context cxa, cxb;
	struct evfut_io_op readable, rd;
	struct evfut_io io;
	char buf[8];
	int fds[2];

	harness_counter_init(&ca);
	harness_counter_init(&cb);
	wa = harness_counter_waker(&ca);
	wb = harness_counter_waker(&cb);
	cxa = counter_context(&wa);
	cxb = counter_context(&wb);
	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	loop_once(false);
	evfut_read_init(&rd, &io, buf, sizeof(buf));
	evfut_readable_init(&readable, &io);
	ck_assert_int_eq(evfut_future_poll(&rd.base, &cxb), EVFUT_PENDING);
	ck_assert_int_eq(evfut_future_poll(&readable.base, &cxa),
	                 EVFUT_PENDING);
	/* The readable op is cancelled (a select's other branch won). */
	evfut_future_drop(&readable.base);
	ck_assert_int_eq(write(fds[1], "x", 1), 1);
	loop_once(false);
	ck_assert_int_eq(atomic_load(&cb.wakes) + atomic_load(&cb.wake_by_refs),
	                 1);
	ck_assert_int_eq(evfut_future_poll(&rd.base, &cxb), EVFUT_READY);
	ck_assert_int_eq(rd.result, 1);
	evfut_future_drop(&rd.base);
	evfut_io_deregister(&io);
	evfut_waker_drop(&wa);
	evfut_waker_drop(&wb);
	ck_assert_int_eq(atomic_load(&ca.live), 0);
	ck_assert_int_eq(atomic_load(&cb.live), 0);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

START_TEST(test_eof_two_pending_reads_on_a_direction_both_wake)
{
	struct harness_counter ca, cb;
	struct evfut_waker wa, wb;
	struct evfut_context cxa, cxb;
	struct evfut_io_op a, b;
	struct evfut_io io;
	char bufa[8], bufb[8];
	int fds[2];

	harness_counter_init(&ca);
	harness_counter_init(&cb);
	wa = harness_counter_waker(&ca);
	wb = harness_counter_waker(&cb);
	cxa = counter_context(&wa);
	cxb = counter_context(&wb);
	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	loop_once(false);
	evfut_read_init(&a, &io, bufa, sizeof(bufa));
	evfut_read_init(&b, &io, bufb, sizeof(bufb));
	ck_assert_int_eq(evfut_future_poll(&a.base, &cxa), EVFUT_PENDING);
	ck_assert_int_eq(evfut_future_poll(&b.base, &cxb), EVFUT_PENDING);
	close(fds[1]);
	loop_once(false);
	/* End of file is for every reader. */
	ck_assert_int_eq(evfut_future_poll(&a.base, &cxa), EVFUT_READY);
	ck_assert_int_eq(evfut_future_poll(&b.base, &cxb), EVFUT_READY);
	ck_assert_int_eq(a.result, 0);
	ck_assert_int_eq(b.result, 0);
	evfut_future_drop(&a.base);
	evfut_future_drop(&b.base);
	evfut_io_deregister(&io);
	evfut_waker_drop(&wa);
	evfut_waker_drop(&wb);
	close(fds[0]);
}
END_TEST

START_TEST(test_eof_completed_op_releases_its_waker)
{
	struct harness_counter c;
	struct evfut_waker w;
	struct evfut_context cx;
	struct evfut_io_op rd;
	struct evfut_io io;
	char buf[8];
	int fds[2];

	harness_counter_init(&c);
	w = harness_counter_waker(&c);
	cx = counter_context(&w);
	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	loop_once(false);
	evfut_read_init(&rd, &io, buf, sizeof(buf));
	ck_assert_int_eq(evfut_future_poll(&rd.base, &cx), EVFUT_PENDING);
	ck_assert_int_eq(atomic_load(&c.live), 2);
	ck_assert_int_eq(write(fds[1], "x", 1), 1);
	loop_once(false);
	ck_assert_int_eq(evfut_future_poll(&rd.base, &cx), EVFUT_READY);
	/* Done: the registration keeps no reference to the task. */
	ck_assert_int_eq(atomic_load(&c.live), 1);
	evfut_future_drop(&rd.base);
	evfut_io_deregister(&io);
	evfut_waker_drop(&w);
	ck_assert_int_eq(atomic_load(&c.live), 0);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

START_TEST(test_eof_idle_ready_descriptor_does_not_spin_the_loop)
{
	struct evfut_sleep sleep;
	struct evfut_io io;
	uint64_t before;
	int fds[2];

	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	/* Readable and writable, and nobody reads or writes. */
	ck_assert_int_eq(write(fds[1], "x", 1), 1);
	before = harness_stats(harness_rt).loop_iterations;
	evfut_sleep_init(&sleep, 100 * EVFUT_MSEC);
	await_or_fail(&sleep.base, GUARD_S);
	/* A few passes: the reports, the timer. A spinning loop runs
	 * thousands. */
	ck_assert_uint_le(harness_stats(harness_rt).loop_iterations - before,
	                  20);
	evfut_io_deregister(&io);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

START_TEST(test_eof_select_refuses_a_descriptor_above_fd_setsize)
{
	struct evfut_io io;
	int fd;

	if (!backend_is("select"))
		return;
	fd = fcntl(0, F_DUPFD_CLOEXEC, FD_SETSIZE);
	if (fd < 0) {
		fprintf(stderr, "# SKIP %s: no descriptor %d\n", __func__,
		        FD_SETSIZE);
		return;
	}
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fd), -EMFILE);
	ck_assert_int_eq(evfut_io_close(&io), 0);
	close(fd);
}
END_TEST

static Suite *
eof_suite(void)
{
	Suite *s = suite_create("reactor-eof");
	TCase *tc = tcase_create("eof");

	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc,
	               test_eof_pipe_data_and_hangup_in_one_report_give_eof);
	tcase_add_test(
	        tc, test_eof_pipe_writer_exits_while_runtime_waits_gives_eof);
	tcase_add_test(
	        tc, test_eof_pipe_writer_exits_while_runtime_is_busy_gives_eof);
	tcase_add_test(tc, test_eof_fifo_data_and_close_give_eof);
	tcase_add_test(
	        tc,
	        test_eof_tcp_data_then_reset_gives_the_data_then_econnreset);
	tcase_add_test(tc, test_eof_tcp_data_then_fin_gives_the_data_then_eof);
	tcase_add_test(
	        tc, test_eof_tcp_reset_with_nothing_pending_gives_econnreset);
	tcase_add_test(tc, test_eof_connect_to_closed_port_gives_econnrefused);
	tcase_add_test(tc, test_eof_tcp_half_close_both_ways);
	tcase_add_test(tc, test_eof_unix_data_then_close_gives_eof);
	suite_add_tcase(s, tc);
	tc = tcase_create("ops");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(
	        tc,
	        test_eof_dropping_one_of_two_ops_on_a_direction_keeps_the_other);
	tcase_add_test(tc, test_eof_two_pending_reads_on_a_direction_both_wake);
	tcase_add_test(tc, test_eof_completed_op_releases_its_waker);
	tcase_add_test(tc,
	               test_eof_idle_ready_descriptor_does_not_spin_the_loop);
	tcase_add_test(tc,
	               test_eof_select_refuses_a_descriptor_above_fd_setsize);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(eof_suite());
}
