/*
 * Suite "reactor": the buffered streams against their peers' semantics.
 * tokio's io_read_line, io_read_until, io_lines, io_buf_reader,
 * io_buf_writer and io_write_all cases, and libevent's bufferevent
 * watermark tests, translated: end of file exactly at a delimiter, CRLF
 * lines, a delimiter as the last byte of a full buffer, a line that
 * arrives a byte at a time with a drop in the middle, -EMSGSIZE then
 * consume, read_exact of nothing, end of file in the report of the last
 * data (pipe and socket), reads after a reset, the registration's
 * deadline and its removal under a waiting operation, a flush with
 * pushes arriving while it waits, a drive over a closed peer and a
 * closed pipe, many small pushes in bounded memory, more chunks than one
 * writev takes, equal watermarks, dropping before destroying, and a
 * random mix of every read operation over 1- to 9-byte buffers. Run on
 * every libevent backend.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reactor-util.h"

/* fds[0] registered (read or written), fds[1] the peer, used by hand. */
static int fds[2];
static struct evfut_io io;
static struct evfut_reader reader;
static struct evfut_writer writer;
static struct harness_counter counter;
static struct evfut_waker waker;
static struct evfut_context cx;

static void
open_fd(int fd, int peer)
{
	/* A SIGPIPE would end the test: nothing may ignore it for us. */
	signal(SIGPIPE, SIG_DFL);
	fds[0] = fd;
	fds[1] = peer;
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fd), 0);
	harness_counter_init(&counter);
	waker = harness_counter_waker(&counter);
	cx = counter_context(&waker);
}

static void
open_reader(size_t capacity)
{
	int pair[2];

	make_socketpair(pair);
	open_fd(pair[0], pair[1]);
	ck_assert_int_eq(evfut_reader_init(&reader, &io, capacity), 0);
}

static void
open_writer(size_t low, size_t high)
{
	int pair[2];

	make_socketpair(pair);
	open_fd(pair[0], pair[1]);
	ck_assert_int_eq(evfut_writer_init(&writer, &io, low, high), 0);
}

/* The read end of a pipe registered, the write end the peer's. */
static void
open_pipe_reader(size_t capacity)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	open_fd(p[0], p[1]);
	ck_assert_int_eq(evfut_reader_init(&reader, &io, capacity), 0);
}

static void
close_all(void)
{
	evfut_reader_destroy(&reader);
	evfut_writer_destroy(&writer);
	memset(&reader, 0, sizeof(reader));
	memset(&writer, 0, sizeof(writer));
	evfut_io_close(&io);
	if (fds[1] >= 0)
		close(fds[1]);
	evfut_waker_drop(&waker);
	ck_assert_int_eq(atomic_load(&counter.live), 0);
}

static void
peer_send(const char *s)
{
	ck_assert_int_eq(write(fds[1], s, strlen(s)), (ssize_t)strlen(s));
}

static void
peer_close(void)
{
	close(fds[1]);
	fds[1] = -1;
}

static size_t peer_drain(void);

/* Polls @f by hand until it completes, running the loop between polls
 * (and, if @drain, having the writer's peer read what came). */
static void
poll_loop(struct evfut_future *f, bool drain)
{
	int passes;

	for (passes = 0; evfut_future_poll(f, &cx) == EVFUT_PENDING; passes++) {
		ck_assert_int_lt(passes, 1000000);
		if (drain)
			peer_drain();
		loop_once(!drain);
	}
}

static void
poll_to_end(struct evfut_future *f)
{
	poll_loop(f, false);
}

/* Polls @f until it waits for the peer: a pending poll after which a
 * pass of the loop woke nothing. */
static void
assert_waits(struct evfut_future *f)
{
	int passes;

	for (passes = 0; passes < 1000; passes++) {
		long wakes = atomic_load(&counter.wakes);

		ck_assert_int_eq(evfut_future_poll(f, &cx), EVFUT_PENDING);
		loop_once(false);
		if (atomic_load(&counter.wakes) == wakes)
			return;
	}
	ck_abort_msg("the future never settled");
}

/* Runs read_until(@delim, @max) to completion; asserts result @want and,
 * for a positive one, the bytes @s; drops the future. */
static void
expect_until(int delim, size_t max, ssize_t want, const char *s)
{
	struct evfut_read_op op;

	evfut_read_until_init(&op, &reader, delim, max);
	poll_to_end(&op.base);
	ck_assert_int_eq(op.result, want);
	if (want > 0)
		ck_assert_mem_eq(op.data, s, (size_t)want);
	evfut_future_drop(&op.base);
}

static void
expect_line(size_t max, const char *s)
{
	expect_until('\n', max, (ssize_t)strlen(s), s);
}

/* tokio's read_line: end of file right after a newline gives no empty
 * last line, only 0, and 0 again. */
START_TEST(test_stream_peers_eof_exactly_at_a_delimiter)
{
	open_reader(64);
	peer_send("one\ntwo\n");
	peer_close();
	expect_line(64, "one\n");
	expect_line(64, "two\n");
	expect_until('\n', 64, 0, NULL);
	expect_until('\n', 64, 0, NULL);
	close_all();
}
END_TEST

/* A CRLF line keeps its CR: the delimiter is one byte, as in tokio. */
START_TEST(test_stream_peers_crlf_lines_keep_their_cr)
{
	open_reader(64);
	peer_send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	expect_line(64, "GET / HTTP/1.1\r\n");
	expect_line(64, "Host: a\r\n");
	expect_line(64, "\r\n");
	close_all();
}
END_TEST

/* max == capacity: a line that fills the buffer exactly, its delimiter
 * the last byte, also after a short line moved the start (compaction). */
START_TEST(test_stream_peers_line_exactly_filling_the_buffer)
{
	open_reader(8);
	peer_send("1234567\n");
	expect_line(8, "1234567\n");
	peer_send("ab\ncdefghi\n");
	expect_line(8, "ab\n");
	expect_line(8, "cdefghi\n");
	/* One byte more is over-long, and consumes nothing. */
	peer_send("123456789\n");
	expect_until('\n', 8, -EMSGSIZE, NULL);
	ck_assert_uint_eq(evfut_reader_buffered(&reader), 8);
	close_all();
}
END_TEST

/* A line one byte per poll; the future dropped halfway and a new one
 * resumes: the line comes whole, once, byte for byte. */
START_TEST(test_stream_peers_line_byte_at_a_time_with_a_drop)
{
	static const char text[] = "hello, world\nnext\n";
	struct evfut_read_op op;
	size_t i;

	open_reader(32);
	evfut_read_line_init(&op, &reader, 32);
	for (i = 0; i < 6; i++) {
		assert_waits(&op.base);
		ck_assert_int_eq(write(fds[1], text + i, 1), 1);
		loop_once(true);
	}
	assert_waits(&op.base);
	evfut_future_drop(&op.base);
	ck_assert_uint_eq(evfut_reader_buffered(&reader), 6);
	evfut_read_line_init(&op, &reader, 32);
	for (; text[i - 1] != '\n'; i++) {
		assert_waits(&op.base);
		ck_assert_int_eq(write(fds[1], text + i, 1), 1);
		loop_once(true);
	}
	poll_to_end(&op.base);
	ck_assert_int_eq(op.result, 13);
	ck_assert_mem_eq(op.data, text, 13);
	evfut_future_drop(&op.base);
	peer_send(text + 13);
	expect_line(32, "next\n");
	close_all();
}
END_TEST

/* -EMSGSIZE, then consume what was refused and go on with the line. */
START_TEST(test_stream_peers_emsgsize_then_consume_and_continue)
{
	struct evfut_read_op op;

	open_reader(8);
	peer_send("0123456789abc\nok\n");
	evfut_read_line_init(&op, &reader, 8);
	poll_to_end(&op.base);
	ck_assert_int_eq(op.result, -EMSGSIZE);
	ck_assert_mem_eq(op.data, "01234567", 8);
	evfut_future_drop(&op.base);
	ck_assert_int_eq(evfut_reader_consume(&reader, 8), 0);
	expect_line(8, "89abc\n");
	expect_line(8, "ok\n");
	close_all();
}
END_TEST

/* tokio's read_exact of an empty buffer: 0 at once, no wait, no read;
 * a NULL buffer is allowed for it. */
START_TEST(test_stream_peers_read_exact_of_nothing)
{
	struct evfut_read_op op;
	char buf[1];

	open_reader(16);
	evfut_reader_read_exact_init(&op, &reader, NULL, 0);
	ck_assert_int_eq(evfut_future_poll(&op.base, &cx), EVFUT_READY);
	ck_assert_int_eq(op.result, 0);
	evfut_future_drop(&op.base);
	evfut_reader_read_exact_init(&op, &reader, buf, 0);
	ck_assert_int_eq(evfut_future_poll(&op.base, &cx), EVFUT_READY);
	ck_assert_int_eq(op.result, 0);
	evfut_future_drop(&op.base);
	peer_send("x\n");
	expect_line(16, "x\n");
	close_all();
}
END_TEST

/* The peer writes its last bytes and exits before the first poll: the
 * data and the hang-up in one report, for read_until and read_exact (in
 * the buffer and straight into the caller's) over a pipe and a socket. */
static void
last_data_then_eof(bool over_pipe)
{
	struct evfut_read_op op;
	char out[64];

	if (over_pipe)
		open_pipe_reader(16);
	else
		open_reader(16);
	peer_send("a;tail");
	peer_close();
	loop_once(false);
	expect_until(';', 16, 2, "a;");
	expect_until(';', 16, 4, "tail");
	expect_until(';', 16, 0, NULL);
	close_all();

	if (over_pipe)
		open_pipe_reader(16);
	else
		open_reader(16);
	peer_send("12345");
	peer_close();
	evfut_reader_read_exact_init(&op, &reader, out, 10);
	poll_to_end(&op.base);
	ck_assert_int_eq(op.result, 5);
	ck_assert_mem_eq(out, "12345", 5);
	evfut_future_drop(&op.base);
	close_all();

	if (over_pipe)
		open_pipe_reader(16);
	else
		open_reader(16);
	memset(out, 'z', sizeof(out));
	ck_assert_int_eq(write(fds[1], out, 40), 40);
	peer_close();
	evfut_reader_read_exact_init(&op, &reader, out, sizeof(out));
	poll_to_end(&op.base);
	ck_assert_int_eq(op.result, 40);
	evfut_future_drop(&op.base);
	evfut_reader_read_exact_init(&op, &reader, out, sizeof(out));
	poll_to_end(&op.base);
	ck_assert_int_eq(op.result, 0);
	evfut_future_drop(&op.base);
	close_all();
}

START_TEST(test_stream_peers_last_data_and_eof_in_one_report_pipe)
{
	last_data_then_eof(true);
}
END_TEST

START_TEST(test_stream_peers_last_data_and_eof_in_one_report_socket)
{
	last_data_then_eof(false);
}
END_TEST

/* After -ECONNRESET the kernel reports end of file: the reset is one
 * operation's result, and every later one says 0, nothing cached. */
START_TEST(test_stream_peers_reads_after_a_reset)
{
	struct evfut_read_op op;
	char buf[8];
	int pair[2];

	tcp_socket_pair(pair);
	open_fd(pair[0], pair[1]);
	ck_assert_int_eq(evfut_reader_init(&reader, &io, 16), 0);
	evfut_reader_read_exact_init(&op, &reader, buf, sizeof(buf));
	assert_waits(&op.base);
	close_with_reset(fds[1]);
	fds[1] = -1;
	poll_to_end(&op.base);
	ck_assert_int_eq(op.result, -ECONNRESET);
	evfut_future_drop(&op.base);
	evfut_reader_read_exact_init(&op, &reader, buf, sizeof(buf));
	poll_to_end(&op.base);
	ck_assert_int_eq(op.result, 0);
	evfut_future_drop(&op.base);
	evfut_reader_read_init(&op, &reader, buf, sizeof(buf));
	poll_to_end(&op.base);
	ck_assert_int_eq(op.result, 0);
	evfut_future_drop(&op.base);
	expect_until('\n', 16, 0, NULL);
	close_all();
}
END_TEST

/* The deadline passes while read_line waits on half a line; the line's
 * bytes stay, and once the deadline is lifted the line completes whole. */
START_TEST(test_stream_peers_deadline_while_read_line_waits_then_lifted)
{
	struct evfut_read_op op;

	open_reader(32);
	peer_send("par");
	evfut_read_line_init(&op, &reader, 32);
	assert_waits(&op.base);
	ck_assert_int_eq(
	        evfut_io_set_deadline(&io, evfut_runtime_now(harness_rt)), 0);
	poll_to_end(&op.base);
	ck_assert_int_eq(op.result, -ETIMEDOUT);
	ck_assert_uint_eq(evfut_reader_buffered(&reader), 3);
	evfut_future_drop(&op.base);
	ck_assert_int_eq(evfut_io_set_deadline(&io, EVFUT_NO_DEADLINE), 0);
	evfut_read_line_init(&op, &reader, 32);
	assert_waits(&op.base);
	peer_send("tial\n");
	poll_to_end(&op.base);
	ck_assert_int_eq(op.result, 8);
	ck_assert_mem_eq(op.data, "partial\n", 8);
	evfut_future_drop(&op.base);
	close_all();
}
END_TEST

/* Deregistered under a waiting read_line: woken, -EBADF, bytes kept;
 * then what the docs allow: drop the future, then destroy the reader. */
START_TEST(test_stream_peers_deregister_under_read_line_then_drop_destroy)
{
	struct evfut_read_op op;
	long wakes;

	open_reader(32);
	peer_send("half");
	evfut_read_line_init(&op, &reader, 32);
	assert_waits(&op.base);
	wakes = atomic_load(&counter.wakes);
	evfut_io_deregister(&io);
	ck_assert_int_gt(atomic_load(&counter.wakes), wakes);
	ck_assert_int_eq(evfut_future_poll(&op.base, &cx), EVFUT_READY);
	ck_assert_int_eq(op.result, -EBADF);
	ck_assert_uint_eq(evfut_reader_buffered(&reader), 4);
	evfut_future_drop(&op.base);
	evfut_reader_destroy(&reader);
	close(fds[0]);
	close_all();
}
END_TEST

/* A pending large read_exact (straight into the caller's buffer) is
 * dropped, then the reader destroyed: nothing leaks or is touched. */
START_TEST(test_stream_peers_drop_pending_read_exact_then_destroy)
{
	struct evfut_read_op op;
	char big[100];

	open_reader(16);
	peer_send("0123456789");
	evfut_reader_read_exact_init(&op, &reader, big, sizeof(big));
	assert_waits(&op.base);
	evfut_future_drop(&op.base);
	ck_assert_uint_eq(evfut_reader_buffered(&reader), 10);
	evfut_reader_destroy(&reader);
	ck_assert_ptr_null(evfut_reader_peek(&reader, NULL));
	close_all();
}
END_TEST

/* The writer's pattern stream: @sent bytes handed over, @got verified. */
static size_t sent;
static size_t got;

static void
push_pattern(size_t len)
{
	unsigned char buf[8192];
	size_t part;

	while (len > 0) {
		part = len < sizeof(buf) ? len : sizeof(buf);
		for (size_t i = 0; i < part; i++)
			buf[i] = pattern_byte(9, sent + i);
		if (evfut_writer_push(&writer, buf, part) != 0)
			ck_abort_msg("push of %zu bytes failed", part);
		sent += part;
		len -= part;
	}
}

/* The peer reads what is there and checks each byte against the stream. */
static size_t
peer_drain(void)
{
	unsigned char buf[16384];
	size_t total = 0;
	ssize_t n;

	while ((n = recv(fds[1], buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		size_t bad = 0;

		ck_assert_uint_le(got + (size_t)n, sent);
		/* One assertion per read: each is a write to Check's pipe. */
		for (ssize_t i = 0; i < n; i++)
			bad += buf[i] != pattern_byte(9, got + i);
		ck_assert_uint_eq(bad, 0);
		got += (size_t)n;
		total += (size_t)n;
	}
	return total;
}

/* poll_to_end() with the peer reading what came between polls. */
static void
poll_reading(struct evfut_future *f)
{
	poll_loop(f, true);
}

static void
open_pattern_writer(size_t low, size_t high)
{
	open_writer(low, high);
	sent = got = 0;
}

/* tokio's flush of an empty BufWriter: done at once, no system call. */
START_TEST(test_stream_peers_flush_and_ready_on_an_empty_queue_are_immediate)
{
	struct evfut_write_op op;

	open_pattern_writer(0, 0);
	evfut_writer_flush_init(&op, &writer);
	ck_assert_int_eq(evfut_future_poll(&op.base, &cx), EVFUT_READY);
	ck_assert_int_eq(op.result, 0);
	evfut_future_drop(&op.base);
	evfut_writer_ready_init(&op, &writer);
	ck_assert_int_eq(evfut_future_poll(&op.base, &cx), EVFUT_READY);
	ck_assert_int_eq(op.result, 0);
	evfut_future_drop(&op.base);
	ck_assert_uint_eq(evfut_writer_write_calls(&writer), 0);
	close_all();
}
END_TEST

/* Pushes (another task's) while a flush waits for room: the flush
 * completes only when they are written too, every byte once, in order. */
START_TEST(test_stream_peers_pushes_while_a_flush_waits)
{
	struct evfut_write_op op;
	int i;

	open_pattern_writer(0, 1 << 20);
	shrink_buffers(fds[0]);
	shrink_buffers(fds[1]);
	push_pattern(100000);
	evfut_writer_flush_init(&op, &writer);
	assert_waits(&op.base);
	for (i = 0; i < 20; i++) {
		push_pattern(1000);
		ck_assert_int_eq(evfut_future_poll(&op.base, &cx),
		                 EVFUT_PENDING);
		peer_drain();
		loop_once(false);
	}
	poll_reading(&op.base);
	ck_assert_int_eq(op.result, 0);
	evfut_future_drop(&op.base);
	ck_assert_uint_eq(evfut_writer_unsent(&writer), 0);
	while (got < sent)
		peer_drain();
	ck_assert_uint_eq(got, 120000);
	close_all();
}
END_TEST

/* A drive idle on an empty queue, the peer gone: the next push wakes it
 * and it fails with -EPIPE, without SIGPIPE; the error is sticky for
 * pushes and for every later operation. */
static void
drive_after_the_peer_closed(void)
{
	struct evfut_write_op op;
	long wakes;
	sigset_t pending;

	evfut_writer_drive_init(&op, &writer);
	assert_waits(&op.base);
	peer_close();
	wakes = atomic_load(&counter.wakes);
	ck_assert_int_eq(evfut_writer_push(&writer, "bye\n", 4), 0);
	ck_assert_int_gt(atomic_load(&counter.wakes), wakes);
	poll_to_end(&op.base);
	ck_assert_int_eq(op.result, -EPIPE);
	evfut_future_drop(&op.base);
	ck_assert_int_eq(evfut_writer_error(&writer), -EPIPE);
	ck_assert_int_eq(evfut_writer_push(&writer, "x", 1), -EPIPE);
	ck_assert_uint_eq(evfut_writer_unsent(&writer), 4);
	evfut_writer_drive_init(&op, &writer);
	ck_assert_int_eq(evfut_future_poll(&op.base, &cx), EVFUT_READY);
	ck_assert_int_eq(op.result, -EPIPE);
	evfut_future_drop(&op.base);
	evfut_writer_flush_init(&op, &writer);
	ck_assert_int_eq(evfut_future_poll(&op.base, &cx), EVFUT_READY);
	ck_assert_int_eq(op.result, -EPIPE);
	evfut_future_drop(&op.base);
	sigemptyset(&pending);
	sigpending(&pending);
	ck_assert(!sigismember(&pending, SIGPIPE));
	close_all();
}

START_TEST(test_stream_peers_drive_after_the_peer_closed_socket)
{
	open_pattern_writer(0, 1 << 20);
	drive_after_the_peer_closed();
}
END_TEST

START_TEST(test_stream_peers_drive_after_the_peer_closed_pipe)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	open_fd(p[1], p[0]);
	ck_assert_int_eq(evfut_writer_init(&writer, &io, 0, 1 << 20), 0);
	drive_after_the_peer_closed();
}
END_TEST

/* 100k small pushes: with a peer that keeps reading, one chunk is reused
 * throughout; with one that reads nothing, memory follows what is
 * unsent (one 4 KiB chunk per 4 KiB or so), and comes back once it is
 * written. */
START_TEST(test_stream_peers_many_small_pushes_in_bounded_memory)
{
	struct evfut_write_op drive;
	long base;
	int i;

	open_pattern_writer(0, 1 << 30);
	harness_alloc_fail_at(0);
	base = harness_alloc_live();
	evfut_writer_drive_init(&drive, &writer);
	for (i = 0; i < 100000; i++) {
		push_pattern(7);
		if (evfut_future_poll(&drive.base, &cx) != EVFUT_PENDING ||
		    harness_alloc_live() - base > 2)
			ck_abort_msg("push %d: the drive ended or memory grew",
			             i);
		if (i % 64 == 0) {
			peer_drain();
			loop_once(false);
		}
	}
	ck_assert_uint_le(harness_alloc_calls(), 4);
	evfut_future_drop(&drive.base);
	for (i = 0; i < 100000; i++)
		push_pattern(10);
	ck_assert_int_le(harness_alloc_live() - base,
	                 (long)(evfut_writer_unsent(&writer) / 4000) + 2);
	evfut_writer_flush_init(&drive, &writer);
	poll_reading(&drive.base);
	ck_assert_int_eq(drive.result, 0);
	evfut_future_drop(&drive.base);
	while (got < sent)
		peer_drain();
	ck_assert_int_le(harness_alloc_live() - base, 2);
	close_all();
	ck_assert_int_eq(harness_alloc_live() - base, 0);
}
END_TEST

/* A room fanning out to a member being torn down pushes onto a destroyed
 * writer: -EPIPE, and nothing is allocated that nobody would free. */
START_TEST(test_stream_peers_push_after_destroy_is_epipe)
{
	struct evfut_write_op flush;
	long base;

	open_pattern_writer(0, 1 << 20);
	evfut_writer_destroy(&writer);
	harness_alloc_fail_at(0);
	base = harness_alloc_live();
	ck_assert_int_eq(evfut_writer_push(&writer, "late\n", 5), -EPIPE);
	ck_assert_int_eq(harness_alloc_live() - base, 0);
	ck_assert_uint_eq(evfut_writer_unsent(&writer), 0);
	evfut_writer_flush_init(&flush, &writer);
	ck_assert_int_eq(evfut_future_poll(&flush.base, &cx), EVFUT_READY);
	ck_assert_int_eq(flush.result, -EPIPE);
	evfut_future_drop(&flush.base);
	close_all();
}
END_TEST

/* More chunks than one writev takes (and than IOV_MAX): all written, in
 * order, in several calls. */
START_TEST(test_stream_peers_more_chunks_than_iov_max)
{
	struct evfut_write_op op;
	int i;

	open_pattern_writer(0, 1 << 30);
	for (i = 0; i < 1100; i++)
		push_pattern(4100); /* each a chunk of its own */
	evfut_writer_flush_init(&op, &writer);
	poll_reading(&op.base);
	ck_assert_int_eq(op.result, 0);
	evfut_future_drop(&op.base);
	while (got < sent)
		peer_drain();
	ck_assert_uint_eq(got, 1100 * 4100);
	ck_assert_uint_ge(evfut_writer_write_calls(&writer), 1100 / 64);
	close_all();
}
END_TEST

/* libevent's watermark tests with low == high: write and ready complete
 * exactly when unsent falls to the one mark, never above it. */
START_TEST(test_stream_peers_equal_watermarks)
{
	static char msg[40000];
	struct evfut_write_op wr;
	struct evfut_write_op ready;
	const size_t mark = 64 * 1024;
	int passes;

	open_pattern_writer(mark, mark);
	shrink_buffers(fds[0]);
	shrink_buffers(fds[1]);
	memset(msg, 'w', sizeof(msg));
	for (passes = 0; passes < 2; passes++) {
		evfut_writer_write_init(&wr, &writer, msg, sizeof(msg));
		ck_assert_int_eq(evfut_future_poll(&wr.base, &cx), EVFUT_READY);
		ck_assert_int_eq(wr.result, (ssize_t)sizeof(msg));
		evfut_future_drop(&wr.base);
	}
	evfut_writer_write_init(&wr, &writer, msg, sizeof(msg));
	evfut_writer_ready_init(&ready, &writer);
	assert_waits(&wr.base);
	assert_waits(&ready.base);
	ck_assert_uint_gt(evfut_writer_unsent(&writer), mark);
	for (passes = 0;; passes++) {
		char sink[512];

		ck_assert_int_lt(passes, 100000);
		if (evfut_future_poll(&ready.base, &cx) == EVFUT_READY)
			break;
		ck_assert_uint_gt(evfut_writer_unsent(&writer), mark);
		ck_assert_int_eq(evfut_future_poll(&wr.base, &cx),
		                 EVFUT_PENDING);
		(void)recv(fds[1], sink, sizeof(sink), MSG_DONTWAIT);
		loop_once(false);
	}
	ck_assert_int_eq(ready.result, 0);
	ck_assert_uint_le(evfut_writer_unsent(&writer), mark);
	ck_assert_int_eq(evfut_future_poll(&wr.base, &cx), EVFUT_READY);
	ck_assert_int_eq(wr.result, (ssize_t)sizeof(msg));
	evfut_future_drop(&ready.base);
	evfut_future_drop(&wr.base);
	close_all();
}
END_TEST

/* The registration removed while a drive waits: for room it is woken and
 * fails with -EBADF; idle on an empty queue it fails with -EBADF at its
 * next poll (io.h: every operation after evfut_io_deregister()). */
START_TEST(test_stream_peers_deregister_while_a_drive_waits)
{
	struct evfut_write_op op;
	long wakes;

	open_pattern_writer(0, 1 << 30);
	evfut_writer_drive_init(&op, &writer);
	assert_waits(&op.base);
	evfut_io_deregister(&io);
	ck_assert_int_eq(evfut_future_poll(&op.base, &cx), EVFUT_READY);
	ck_assert_int_eq(op.result, -EBADF);
	evfut_future_drop(&op.base);
	ck_assert_int_eq(evfut_writer_error(&writer), 0);
	close(fds[0]);
	close_all();

	open_pattern_writer(0, 1 << 30);
	shrink_buffers(fds[0]);
	shrink_buffers(fds[1]);
	push_pattern(200000);
	evfut_writer_drive_init(&op, &writer);
	assert_waits(&op.base);
	wakes = atomic_load(&counter.wakes);
	evfut_io_deregister(&io);
	ck_assert_int_gt(atomic_load(&counter.wakes), wakes);
	ck_assert_int_eq(evfut_future_poll(&op.base, &cx), EVFUT_READY);
	ck_assert_int_eq(op.result, -EBADF);
	evfut_future_drop(&op.base);
	close(fds[0]);
	close_all();
}
END_TEST

/* The deadline passes while a flush waits for room: -ETIMEDOUT, not
 * sticky, the queue kept; lifted, a new flush writes the rest, every
 * byte once. An idle drive is left alone until it has bytes to write. */
START_TEST(test_stream_peers_deadline_while_a_flush_waits_then_lifted)
{
	struct evfut_write_op op;

	open_pattern_writer(0, 1 << 30);
	shrink_buffers(fds[0]);
	shrink_buffers(fds[1]);
	push_pattern(200000);
	evfut_writer_flush_init(&op, &writer);
	assert_waits(&op.base);
	ck_assert_int_eq(
	        evfut_io_set_deadline(&io, evfut_runtime_now(harness_rt)), 0);
	poll_to_end(&op.base);
	ck_assert_int_eq(op.result, -ETIMEDOUT);
	evfut_future_drop(&op.base);
	ck_assert_int_eq(evfut_writer_error(&writer), 0);
	ck_assert_uint_gt(evfut_writer_unsent(&writer), 0);
	ck_assert_int_eq(evfut_writer_push(&writer, "", 0), 0);
	ck_assert_int_eq(evfut_io_set_deadline(&io, EVFUT_NO_DEADLINE), 0);
	evfut_writer_flush_init(&op, &writer);
	poll_reading(&op.base);
	ck_assert_int_eq(op.result, 0);
	evfut_future_drop(&op.base);
	while (got < sent)
		peer_drain();
	ck_assert_int_eq(
	        evfut_io_set_deadline(&io, evfut_runtime_now(harness_rt)), 0);
	/* An idle drive does not wait on the descriptor: the deadline does
	 * not end it; the push that gives it bytes to write does. */
	evfut_writer_drive_init(&op, &writer);
	assert_waits(&op.base);
	push_pattern(10);
	ck_assert_int_eq(evfut_future_poll(&op.base, &cx), EVFUT_READY);
	ck_assert_int_eq(op.result, -ETIMEDOUT);
	evfut_future_drop(&op.base);
	ck_assert_uint_eq(evfut_writer_unsent(&writer), 10);
	close_all();
}
END_TEST

/* What the docs allow: drop the pending operations, then destroy. A
 * drive idle in the writer's list and a flush waiting for room, both
 * with bytes queued; nothing leaks or is touched after (ASan). */
START_TEST(test_stream_peers_drop_pending_writer_ops_then_destroy)
{
	struct evfut_write_op drive;
	struct evfut_write_op flush;

	open_pattern_writer(0, 1 << 30);
	evfut_writer_drive_init(&drive, &writer);
	assert_waits(&drive.base);
	evfut_future_drop(&drive.base);
	evfut_writer_destroy(&writer);
	ck_assert_uint_eq(evfut_writer_unsent(&writer), 0);
	close_all();

	open_pattern_writer(0, 1 << 30);
	shrink_buffers(fds[0]);
	shrink_buffers(fds[1]);
	push_pattern(200000);
	evfut_writer_drive_init(&drive, &writer);
	evfut_writer_flush_init(&flush, &writer);
	assert_waits(&drive.base);
	assert_waits(&flush.base);
	evfut_future_drop(&flush.base);
	evfut_future_drop(&drive.base);
	evfut_writer_destroy(&writer);
	close_all();
}
END_TEST

/* The wrong order, destroy then drop, with a large read_exact that has
 * moved bytes into the caller's buffer: the drop must not give them back
 * into the freed buffer. */
START_TEST(test_stream_peers_destroy_before_dropping_a_large_read_exact)
{
	struct evfut_read_op op;
	char big[100];

	open_reader(16);
	peer_send("0123456789");
	evfut_reader_read_exact_init(&op, &reader, big, sizeof(big));
	assert_waits(&op.base);
	evfut_reader_destroy(&reader);
	evfut_future_drop(&op.base);
	ck_assert_uint_eq(evfut_reader_buffered(&reader), 0);
	close_all();
}
END_TEST

/* A line already buffered when the deadline has passed is returned: the
 * deadline ends what waits on the descriptor, and the next read does. */
START_TEST(test_stream_peers_deadline_passed_with_a_line_buffered)
{
	open_reader(32);
	peer_send("one\ntwo\n");
	expect_line(32, "one\n");
	ck_assert_uint_eq(evfut_reader_buffered(&reader), 4);
	ck_assert_int_eq(
	        evfut_io_set_deadline(&io, evfut_runtime_now(harness_rt)), 0);
	expect_line(32, "two\n");
	peer_send("three\n");
	expect_until('\n', 32, -ETIMEDOUT, NULL);
	ck_assert_int_eq(evfut_io_set_deadline(&io, EVFUT_NO_DEADLINE), 0);
	expect_line(32, "three\n");
	close_all();
}
END_TEST

/* A small deterministic generator for the mixed-operation run. */
static unsigned long mix_state;

static unsigned
mix_next(unsigned bound)
{
	mix_state = mix_state * 6364136223846793005ul + 1442695040888963407ul;
	return (unsigned)(mix_state >> 33) % bound;
}

/* One operation of the mixed run, checked against what it may return;
 * its bytes appended to @out. Drops it after @drop_after pending polls
 * (and starts it again) when that is not 0. */
static void
mixed_op(size_t capacity, char *out, size_t *taken, const char *in, size_t *fed,
         size_t total, unsigned drop_after)
{
	struct evfut_read_op op;
	char buf[64];
	unsigned kind = mix_next(4);
	size_t len = 1 + mix_next((unsigned)capacity);
	int delim = kind == 1 ? ';' : '\n';
	unsigned polls = 0;
	unsigned long guard = 0;

	if (kind >= 2)
		len = mix_next((unsigned)(2 * capacity + 1));
	for (;;) {
		bool dropped = false;

		if (kind <= 1)
			evfut_read_until_init(&op, &reader, delim, len);
		else if (kind == 2)
			evfut_reader_read_exact_init(&op, &reader, buf, len);
		else
			evfut_reader_read_init(&op, &reader, buf, len);
		while (!dropped &&
		       evfut_future_poll(&op.base, &cx) == EVFUT_PENDING) {
			size_t piece = 1 + mix_next(7);

			if (*fed == total) {
				if (fds[1] >= 0)
					peer_close();
			} else {
				if (piece > total - *fed)
					piece = total - *fed;
				ck_assert_int_eq(
				        write(fds[1], in + *fed, piece),
				        (ssize_t)piece);
				*fed += piece;
			}
			loop_once(false);
			if (++guard > 100000)
				ck_abort_msg("stuck: cap %zu kind %u len %zu "
				             "fed %zu "
				             "taken %zu buffered %zu peer %d",
				             capacity, kind, len, *fed, *taken,
				             evfut_reader_buffered(&reader),
				             fds[1]);
			dropped = drop_after != 0 && ++polls % drop_after == 0;
		}
		if (!dropped)
			break;
		evfut_future_drop(&op.base); /* the drop under test */
		/* What read_exact could not give back stays in buf. */
		memcpy(out + *taken, buf, op.copied);
		*taken += op.copied;
		if (kind == 2 && op.copied > 0)
			len -= op.copied;
	}
	if (kind <= 1 && op.result == -EMSGSIZE) {
		ck_assert_ptr_null(memchr(op.data, delim, len));
		memcpy(out + *taken, op.data, len);
		*taken += len;
		ck_assert_int_eq(evfut_reader_consume(&reader, len), 0);
	} else if (kind <= 1 && op.result > 0) {
		ck_assert_uint_le((size_t)op.result, len);
		ck_assert_ptr_eq(memchr(op.data, delim, (size_t)op.result),
		                 op.data[op.result - 1] == delim
		                         ? op.data + op.result - 1
		                         : NULL);
		memcpy(out + *taken, op.data, (size_t)op.result);
		*taken += (size_t)op.result;
	} else if (kind >= 2 && op.result > 0) {
		if (kind == 2 && fds[1] >= 0)
			ck_assert_int_eq(op.result, (ssize_t)len);
		memcpy(out + *taken, buf, (size_t)op.result);
		*taken += (size_t)op.result;
	} else {
		ck_assert_int_ge(op.result, 0);
	}
	evfut_future_drop(&op.base);
}

/* Lines, delimited pieces, exact and plain reads, mixed at random over
 * small buffers (1 to 9 bytes: every compaction and straddle), the
 * stream arriving in pieces of 1 to 7 bytes, every operation dropped
 * and restarted now and then: what comes out is the stream, exactly. */
START_TEST(test_stream_peers_mixed_operations_over_small_buffers)
{
	static const char alphabet[] = "ab\n;";
	static char in[3000];
	static char out[3000];
	size_t capacity;
	size_t fed;
	size_t taken;
	size_t i;
	unsigned drop;

	for (capacity = 1; capacity <= 9; capacity++) {
		for (drop = 0; drop <= 3; drop++) {
			mix_state = capacity * 31 + drop;
			for (i = 0; i < sizeof(in); i++)
				in[i] = alphabet[mix_next(4)];
			open_reader(capacity);
			fed = taken = 0;
			while (fds[1] >= 0 || taken < fed)
				mixed_op(capacity, out, &taken, in, &fed,
				         sizeof(in), drop);
			ck_assert_uint_eq(taken, sizeof(in));
			ck_assert_int_eq(memcmp(out, in, sizeof(in)), 0);
			close_all();
		}
	}
}
END_TEST

static Suite *
peers_suite(void)
{
	Suite *s = suite_create("stream-peers");
	TCase *tc = tcase_create("peers");

	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_stream_peers_eof_exactly_at_a_delimiter);
	tcase_add_test(tc, test_stream_peers_crlf_lines_keep_their_cr);
	tcase_add_test(tc, test_stream_peers_line_exactly_filling_the_buffer);
	tcase_add_test(tc, test_stream_peers_line_byte_at_a_time_with_a_drop);
	tcase_add_test(tc,
	               test_stream_peers_emsgsize_then_consume_and_continue);
	tcase_add_test(tc, test_stream_peers_read_exact_of_nothing);
	tcase_add_test(tc,
	               test_stream_peers_last_data_and_eof_in_one_report_pipe);
	tcase_add_test(
	        tc, test_stream_peers_last_data_and_eof_in_one_report_socket);
	tcase_add_test(tc, test_stream_peers_reads_after_a_reset);
	tcase_add_test(
	        tc,
	        test_stream_peers_deadline_while_read_line_waits_then_lifted);
	tcase_add_test(
	        tc,
	        test_stream_peers_deregister_under_read_line_then_drop_destroy);
	tcase_add_test(tc,
	               test_stream_peers_drop_pending_read_exact_then_destroy);
	tcase_add_test(
	        tc,
	        test_stream_peers_flush_and_ready_on_an_empty_queue_are_immediate);
	tcase_add_test(tc, test_stream_peers_pushes_while_a_flush_waits);
	tcase_add_test(tc,
	               test_stream_peers_drive_after_the_peer_closed_socket);
	tcase_add_test(tc, test_stream_peers_drive_after_the_peer_closed_pipe);
	tcase_add_test(tc,
	               test_stream_peers_many_small_pushes_in_bounded_memory);
	tcase_add_test(tc, test_stream_peers_more_chunks_than_iov_max);
	tcase_add_test(tc, test_stream_peers_equal_watermarks);
	tcase_add_test(tc, test_stream_peers_deregister_while_a_drive_waits);
	tcase_add_test(
	        tc, test_stream_peers_deadline_while_a_flush_waits_then_lifted);
	tcase_add_test(tc,
	               test_stream_peers_drop_pending_writer_ops_then_destroy);
	tcase_add_test(
	        tc,
	        test_stream_peers_destroy_before_dropping_a_large_read_exact);
	tcase_add_test(tc,
	               test_stream_peers_deadline_passed_with_a_line_buffered);
	tcase_add_test(tc,
	               test_stream_peers_mixed_operations_over_small_buffers);
	tcase_add_test(tc, test_stream_peers_push_after_destroy_is_epipe);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(peers_suite());
}
