/*
 * Suite "reactor": the buffered reader. tokio's read_line, read_until,
 * read_exact and BufReader cases (lines, a stream that arrives in pieces,
 * end of file mid-line, an error mid-line), over-long lines, the data and
 * the hang-up in one report, reads straight into the caller's buffer,
 * dropping every operation after k polls for every k (no byte lost or
 * duplicated), and every -E path. Run on every libevent backend.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reactor-util.h"

/* A guard against a lost wakeup, not a timing assertion. */
#define GUARD_S 5

/* The socketpair under test: fds[0] registered and read, fds[1] the peer. */
static int fds[2];
static struct evfut_io io;
static struct evfut_reader reader;
static struct harness_counter counter;
static struct evfut_waker waker;
static struct evfut_context cx;

static void
open_reader(int fd, size_t capacity)
{
	fds[0] = fd;
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fd), 0);
	ck_assert_int_eq(evfut_reader_init(&reader, &io, capacity), 0);
	harness_counter_init(&counter);
	waker = harness_counter_waker(&counter);
	cx = counter_context(&waker);
}

static void
open_pair(size_t capacity)
{
	int pair[2];

	make_socketpair(pair);
	fds[1] = pair[1];
	open_reader(pair[0], capacity);
}

static void
close_all(void)
{
	evfut_reader_destroy(&reader);
	evfut_io_close(&io);
	if (fds[1] >= 0)
		close(fds[1]);
	evfut_waker_drop(&waker);
	ck_assert_int_eq(atomic_load(&counter.live), 0);
}

static void
peer_write(const void *buf, size_t len)
{
	ck_assert_int_eq(write(fds[1], buf, len), (ssize_t)len);
}

static void
peer_send(const char *s)
{
	peer_write(s, strlen(s));
}

static void
peer_close(void)
{
	close(fds[1]);
	fds[1] = -1;
}

/* Runs @op on the runtime under the guard; returns its result. */
static ssize_t
run(struct evfut_read_op *op)
{
	await_or_fail(&op->base, GUARD_S);
	return op->result;
}

static ssize_t
line(struct evfut_read_op *op, size_t max)
{
	evfut_read_line_init(op, &reader, max);
	return run(op);
}

static ssize_t
until(struct evfut_read_op *op, int delimiter, size_t max)
{
	evfut_read_until_init(op, &reader, delimiter, max);
	return run(op);
}

/* Asserts that @op completed with exactly the bytes @s. */
static void
assert_data(const struct evfut_read_op *op, const char *s)
{
	ck_assert_int_eq(op->result, (ssize_t)strlen(s));
	ck_assert_mem_eq(op->data, s, strlen(s));
}

/* Polls @op by hand once. */
static enum evfut_poll
poll_op(struct evfut_read_op *op)
{
	return evfut_future_poll(&op->base, &cx);
}

/* Runs the loop until the waker was woken (the peer did something). */
static void
wait_woken(long wakes)
{
	int passes;

	for (passes = 0; atomic_load(&counter.wakes) == wakes; passes++) {
		ck_assert_int_lt(passes, 1000);
		loop_once(true);
	}
}

/* Polls @op; when pending, sends @piece and waits for the wake. */
static enum evfut_poll
poll_then_send(struct evfut_read_op *op, const char *piece)
{
	long wakes = atomic_load(&counter.wakes);

	if (poll_op(op) == EVFUT_READY)
		return EVFUT_READY;
	if (piece == NULL)
		peer_close();
	else
		peer_send(piece);
	wait_woken(wakes);
	return EVFUT_PENDING;
}

/* tokio's read_line: lines, an empty one, then end of file. */
START_TEST(test_stream_reader_read_line_returns_each_line_then_zero)
{
	struct evfut_read_op op;

	open_pair(64);
	peer_send("hello\nworld\n\n");
	peer_close();
	ck_assert_int_eq(line(&op, 64), 6);
	assert_data(&op, "hello\n");
	ck_assert_int_eq(line(&op, 64), 6);
	assert_data(&op, "world\n");
	ck_assert_int_eq(line(&op, 64), 1);
	assert_data(&op, "\n");
	ck_assert_int_eq(line(&op, 64), 0);
	ck_assert_int_eq(line(&op, 64), 0);
	close_all();
}
END_TEST

/* tokio's read_until: the last piece has no delimiter. */
START_TEST(test_stream_reader_read_until_returns_a_last_unterminated_piece)
{
	struct evfut_read_op op;

	open_pair(64);
	peer_send("hello world");
	peer_close();
	ck_assert_int_eq(until(&op, ' ', 64), 6);
	assert_data(&op, "hello ");
	ck_assert_int_eq(until(&op, ' ', 64), 5);
	assert_data(&op, "world");
	ck_assert_int_eq(until(&op, ' ', 64), 0);
	close_all();
}
END_TEST

/* tokio's read_until_not_all_ready: the stream comes in pieces that cut
 * the records anywhere; each record is whole, binary bytes included. */
START_TEST(test_stream_reader_read_until_joins_pieces_that_arrive_apart)
{
	static const char *pieces[] = {"Hello Wor", "ld#Fizz\377Buz", "z#1#2",
	                               NULL};
	static const char *records[] = {"Hello World#", "Fizz\377Buzz#", "1#",
	                                "2", ""};
	struct evfut_read_op op;
	size_t next = 0;
	size_t i;

	open_pair(64);
	for (i = 0; i < 5; i++) {
		evfut_read_until_init(&op, &reader, '#', 64);
		while (poll_then_send(&op, next < 4 ? pieces[next] : "") ==
		       EVFUT_PENDING)
			next++;
		assert_data(&op, records[i]);
	}
	ck_assert_uint_eq(next, 4);
	close_all();
}
END_TEST

/* tokio's BufReader maybe_pending_buf_read: two bytes at a time. */
START_TEST(test_stream_reader_read_until_with_bytes_two_at_a_time)
{
	static const char *pieces[] = {"\0\1", "\2\3", "\1\0", NULL};
	static const int delimiters[] = {3, 1, 8, 9};
	static const char expect[][5] = {{0, 1, 2, 3}, {1}, {0}, {0}};
	static const ssize_t lengths[] = {4, 1, 1, 0};
	struct evfut_read_op op;
	size_t next = 0;
	size_t i;

	open_pair(8);
	for (i = 0; i < 4; i++) {
		evfut_read_until_init(&op, &reader, delimiters[i], 8);
		while (next < 4) {
			long wakes = atomic_load(&counter.wakes);

			if (poll_op(&op) == EVFUT_READY)
				break;
			if (pieces[next] == NULL)
				peer_close();
			else
				peer_write(pieces[next], 2);
			next++;
			wait_woken(wakes);
		}
		if (next == 4)
			await_or_fail(&op.base, GUARD_S);
		ck_assert_int_eq(op.result, lengths[i]);
		ck_assert_mem_eq(op.data, expect[i], (size_t)lengths[i]);
	}
	close_all();
}
END_TEST

/* The peer closes in the middle of a line: the piece, then 0. */
START_TEST(test_stream_reader_peer_closing_mid_line_gives_the_piece_then_eof)
{
	struct evfut_read_op op;

	open_pair(64);
	peer_send("one\ntwo and a ha");
	peer_close();
	ck_assert_int_eq(line(&op, 64), 4);
	ck_assert_int_eq(line(&op, 64), 12);
	assert_data(&op, "two and a ha");
	ck_assert_int_eq(line(&op, 64), 0);
	close_all();
}
END_TEST

/* tokio's read_line_fail: an error mid-line is returned, and the bytes of
 * the unfinished line are not lost: they stay buffered. After the reset
 * the kernel reports end of file, so they come out as the last line. */
START_TEST(test_stream_reader_reset_mid_line_keeps_the_piece)
{
	struct evfut_read_op op;
	int pair[2];

	tcp_socket_pair(pair);
	fds[1] = pair[1];
	open_reader(pair[0], 64);
	peer_send("Hello Wor");
	/* The piece is buffered before the reset arrives. */
	evfut_read_line_init(&op, &reader, 64);
	while (evfut_reader_buffered(&reader) == 0) {
		long wakes = atomic_load(&counter.wakes);

		ck_assert_int_eq(poll_op(&op), EVFUT_PENDING);
		if (evfut_reader_buffered(&reader) == 0)
			wait_woken(wakes);
	}
	close_with_reset(fds[1]);
	fds[1] = -1;
	ck_assert_int_eq(run(&op), -ECONNRESET);
	ck_assert_uint_eq(evfut_reader_buffered(&reader), 9);
	ck_assert_mem_eq(op.data, "Hello Wor", 9);
	ck_assert_int_eq(line(&op, 64), 9);
	assert_data(&op, "Hello Wor");
	ck_assert_int_eq(line(&op, 64), 0);
	close_all();
}
END_TEST

/* The last data and the hang-up in one report (a pipe whose writer has
 * gone): after the short read the reader must read again and see end of
 * file. Clearing readiness after a short read would hang here. */
START_TEST(test_stream_reader_pipe_data_and_hangup_in_one_report)
{
	struct evfut_read_op op;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "last\nwords", 10), 10);
	close(p[1]);
	fds[1] = -1;
	open_reader(p[0], 64);
	ck_assert_int_eq(line(&op, 64), 5);
	ck_assert_int_eq(line(&op, 64), 5);
	assert_data(&op, "words");
	ck_assert_int_eq(line(&op, 64), 0);
	close_all();
}
END_TEST

/* A line of exactly max bytes is fine; one more byte is -EMSGSIZE, which
 * consumes nothing: the bytes can be skipped, and the reader goes on. */
START_TEST(test_stream_reader_over_long_line_is_emsgsize_and_consumes_nothing)
{
	struct evfut_read_op op;
	const char *rest;
	size_t len;

	open_pair(16);
	peer_send("1234567\n12345678\nok\n");
	ck_assert_int_eq(line(&op, 8), 8);
	assert_data(&op, "1234567\n");
	ck_assert_int_eq(line(&op, 8), -EMSGSIZE);
	ck_assert_mem_eq(op.data, "12345678", 8);
	ck_assert_uint_ge(evfut_reader_buffered(&reader), 8);
	/* Again: the same answer, nothing consumed, nothing more read. */
	ck_assert_int_eq(line(&op, 8), -EMSGSIZE);
	rest = evfut_reader_peek(&reader, &len);
	ck_assert_mem_eq(rest, "12345678", 8);
	/* A larger maximum takes it; then the next line. */
	ck_assert_int_eq(line(&op, 16), 9);
	ck_assert_int_eq(line(&op, 8), 3);
	assert_data(&op, "ok\n");
	close_all();
}
END_TEST

/* A peer that sends an endless line: the reader holds at most its
 * capacity and refuses the line; the caller skips it piece by piece. */
START_TEST(test_stream_reader_endless_line_stays_within_the_buffer)
{
	char junk[4096];
	struct evfut_read_op op;
	size_t skipped = 0;

	memset(junk, 'x', sizeof(junk));
	open_pair(1024);
	peer_write(junk, sizeof(junk));
	peer_send("\nafter\n");
	for (;;) {
		ssize_t n = line(&op, 1024);

		ck_assert_uint_le(evfut_reader_buffered(&reader), 1024);
		if (n != -EMSGSIZE) {
			ck_assert_int_eq(n, 1);
			break;
		}
		skipped += evfut_reader_buffered(&reader);
		ck_assert_int_eq(
		        evfut_reader_consume(&reader,
		                             evfut_reader_buffered(&reader)),
		        0);
	}
	ck_assert_uint_eq(skipped, sizeof(junk));
	ck_assert_int_eq(line(&op, 1024), 6);
	assert_data(&op, "after\n");
	close_all();
}
END_TEST

/* Lines that straddle the end of a small buffer: compaction keeps them
 * whole and in order. */
START_TEST(test_stream_reader_compacts_lines_across_the_buffer_end)
{
	struct evfut_read_op op;
	char want[16];
	int i;

	open_pair(16);
	for (i = 0; i < 50; i++) {
		snprintf(want, sizeof(want), "line %04d\n", i);
		peer_send(want);
	}
	peer_close();
	for (i = 0; i < 50; i++) {
		snprintf(want, sizeof(want), "line %04d\n", i);
		ck_assert_int_eq(line(&op, 16), 10);
		assert_data(&op, want);
	}
	ck_assert_int_eq(line(&op, 16), 0);
	close_all();
}
END_TEST

/* tokio's read_exact, and end of file before the count. */
START_TEST(test_stream_reader_read_exact_small_and_short_at_eof)
{
	struct evfut_read_op op;
	char buf[8];

	open_pair(16);
	peer_send("hello world");
	peer_close();
	evfut_reader_read_exact_init(&op, &reader, buf, 8);
	ck_assert_int_eq(run(&op), 8);
	ck_assert_mem_eq(buf, "hello wo", 8);
	evfut_reader_read_exact_init(&op, &reader, buf, 8);
	ck_assert_int_eq(run(&op), 3);
	ck_assert_mem_eq(buf, "rld", 3);
	evfut_reader_read_exact_init(&op, &reader, buf, 8);
	ck_assert_int_eq(run(&op), 0);
	close_all();
}
END_TEST

/* Writes @len pattern bytes to @fd, registered at the first poll. */
struct feeder {
	struct evfut_future base;
	int fd;
	size_t len;
	unsigned char *buf;
	bool registered;
	struct evfut_io io;
	struct evfut_io_op op;
};

static enum evfut_poll
feeder_poll(struct evfut_future *self, struct evfut_context *c)
{
	struct feeder *f = evfut_container_of(self, struct feeder, base);

	if (!f->registered) {
		ck_assert_int_eq(evfut_io_register(&f->io, c->runtime, f->fd),
		                 0);
		f->registered = true;
		evfut_write_all_init(&f->op, &f->io, f->buf, f->len);
	}
	if (evfut_future_poll(&f->op.base, c) == EVFUT_PENDING)
		return EVFUT_PENDING;
	ck_assert_int_eq(f->op.result, (ssize_t)f->len);
	evfut_io_close(&f->io);
	f->registered = false;
	return EVFUT_READY;
}

/* One MiB through a 64-byte reader: after the buffered bytes, the rest
 * goes straight into the caller's buffer, through small socket buffers. */
START_TEST(test_stream_reader_read_exact_large_reads_into_the_callers_buffer)
{
	size_t len = 1 << 20;
	unsigned char *out = malloc(len);
	struct feeder f = {.base = {feeder_poll, NULL}, .len = len - 10};
	struct evfut_read_op op;
	char head[10];

	ck_assert_ptr_nonnull(out);
	f.buf = malloc(len);
	ck_assert_ptr_nonnull(f.buf);
	pattern_fill(f.buf, len, 3);
	open_pair(64);
	shrink_buffers(fds[0]);
	shrink_buffers(fds[1]);
	peer_write(f.buf, 10); /* the first 10 bytes, buffered by a read */
	evfut_reader_read_exact_init(&op, &reader, head, 4);
	ck_assert_int_eq(run(&op), 4);
	ck_assert_uint_eq(evfut_reader_buffered(&reader), 6);
	f.buf += 10;
	f.fd = fds[1];
	fds[1] = -1;
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &f.base, sizeof(f)), 0);
	evfut_reader_read_exact_init(&op, &reader, out, len - 4 - 16);
	ck_assert_int_eq(run(&op), (ssize_t)(len - 20));
	ck_assert_uint_eq(evfut_reader_buffered(&reader), 0);
	ck_assert_int_eq(memcmp(out, f.buf - 6, len - 20), 0);
	/* The last 16 bytes, then end of file: the writer closed. */
	evfut_reader_read_exact_init(&op, &reader, out, 16);
	ck_assert_int_eq(run(&op), 16);
	ck_assert_int_eq(memcmp(out, f.buf + len - 10 - 16, 16), 0);
	evfut_reader_read_exact_init(&op, &reader, out, 100);
	ck_assert_int_eq(run(&op), 0);
	free(f.buf - 10);
	free(out);
	close_all();
}
END_TEST

/* tokio's test_buffered_reader: reads of 3, 2, 1, 3, 3 bytes through a
 * 2-byte buffer; reads at least as large bypass the buffer. */
START_TEST(test_stream_reader_read_some_as_tokio_buffered_reader)
{
	static const unsigned char inner[] = {5, 6, 7, 0, 1, 2, 3, 4};
	static const size_t sizes[] = {3, 2, 1, 3, 3, 3};
	static const ssize_t got[] = {3, 2, 1, 1, 1, 0};
	static const size_t left[] = {0, 0, 1, 0, 0, 0};
	static const unsigned char first[] = {5, 0, 2, 3, 4};
	struct evfut_read_op op;
	unsigned char buf[3];
	size_t i;

	open_pair(2);
	peer_write(inner, sizeof(inner));
	peer_close();
	for (i = 0; i < 6; i++) {
		evfut_reader_read_init(&op, &reader, buf, sizes[i]);
		ck_assert_int_eq(run(&op), got[i]);
		ck_assert_uint_eq(evfut_reader_buffered(&reader), left[i]);
		if (i < 5)
			ck_assert_uint_eq(buf[0], first[i]);
	}
	evfut_reader_read_init(&op, &reader, buf, 0);
	ck_assert_int_eq(run(&op), 0);
	close_all();
}
END_TEST

/*
 * Cancellation at every await point: each operation of a stream is
 * dropped after k polls, for every k, then made again; the stream comes
 * in 3-byte pieces, one per pending poll. What the operations return,
 * joined, must be exactly what was sent.
 */
enum drop_kind { DROP_LINE, DROP_EXACT_SMALL, DROP_EXACT_LARGE, DROP_SOME };

static void
init_op(struct evfut_read_op *op, enum drop_kind kind, char *buf)
{
	switch (kind) {
	case DROP_LINE:
		evfut_read_line_init(op, &reader, 32);
		break;
	case DROP_EXACT_SMALL:
		evfut_reader_read_exact_init(op, &reader, buf, 7);
		break;
	case DROP_EXACT_LARGE:
		evfut_reader_read_exact_init(op, &reader, buf, 40);
		break;
	default:
		evfut_reader_read_init(op, &reader, buf, 5);
		break;
	}
}

static void
drop_after_k_polls(enum drop_kind kind, unsigned k)
{
	static const char stream[] = "first line\nsecond\n\nthe third line, "
	                             "rather longer\nlast one\nno newline";
	size_t sent = 0;
	char got[sizeof(stream)];
	size_t have = 0;
	char buf[64];
	struct evfut_read_op op;

	open_pair(32);
	for (;;) {
		unsigned polls = 0;
		enum evfut_poll p;

		init_op(&op, kind, buf);
		for (;;) {
			long wakes = atomic_load(&counter.wakes);

			if (polls++ == k) {
				evfut_future_drop(&op.base);
				/* Moved beyond what the reader can take back.
				 */
				memcpy(got + have, buf, op.copied);
				have += op.copied;
				init_op(&op, kind, buf);
			}
			p = poll_op(&op);
			if (p == EVFUT_READY)
				break;
			if (sent < sizeof(stream) - 1) {
				size_t n = sizeof(stream) - 1 - sent;

				peer_write(stream + sent, n < 3 ? n : 3);
				sent += n < 3 ? n : 3;
			} else if (fds[1] >= 0) {
				peer_close();
			}
			wait_woken(wakes);
		}
		evfut_future_drop(&op.base);
		ck_assert_int_ge(op.result, 0);
		if (op.result == 0)
			break;
		ck_assert_uint_eq(op.copied, 0);
		ck_assert_uint_le(have + (size_t)op.result, sizeof(got));
		memcpy(got + have, kind == DROP_LINE ? op.data : buf,
		       (size_t)op.result);
		have += (size_t)op.result;
	}
	ck_assert_uint_eq(have, sizeof(stream) - 1);
	ck_assert_mem_eq(got, stream, have);
	close_all();
}

START_TEST(test_stream_reader_dropping_any_op_at_any_poll_loses_nothing)
{
	unsigned k;

	for (k = 0; k < 12; k++) {
		drop_after_k_polls(DROP_LINE, k);
		drop_after_k_polls(DROP_EXACT_SMALL, k);
		drop_after_k_polls(DROP_EXACT_LARGE, k);
		drop_after_k_polls(DROP_SOME, k);
	}
}
END_TEST

/* A direct read_exact dropped after it moved what the reader can hold
 * gives it back: the next operation sees those bytes. */
START_TEST(test_stream_reader_dropped_large_read_exact_gives_bytes_back)
{
	char buf[64];
	struct evfut_read_op op;

	open_pair(16);
	peer_send("0123456789");
	evfut_reader_read_exact_init(&op, &reader, buf, 40);
	while (op.copied < 10) {
		long wakes = atomic_load(&counter.wakes);

		ck_assert_int_eq(poll_op(&op), EVFUT_PENDING);
		if (op.copied < 10)
			wait_woken(wakes);
	}
	evfut_future_drop(&op.base);
	ck_assert_uint_eq(op.copied, 0);
	ck_assert_uint_eq(evfut_reader_buffered(&reader), 10);
	peer_send("\n");
	ck_assert_int_eq(line(&op, 16), 11);
	assert_data(&op, "0123456789\n");
	close_all();
}
END_TEST

/* A direct read_exact dropped after it moved more than the reader holds:
 * the bytes stay in the caller's buffer, counted, and the stream goes on
 * after them. */
START_TEST(test_stream_reader_dropped_large_read_exact_reports_what_it_moved)
{
	char buf[64];
	char rest[8];
	struct evfut_read_op op;

	open_pair(8);
	peer_send("0123456789abcdef");
	evfut_reader_read_exact_init(&op, &reader, buf, 40);
	while (op.copied < 16) {
		long wakes = atomic_load(&counter.wakes);

		ck_assert_int_eq(poll_op(&op), EVFUT_PENDING);
		if (op.copied < 16)
			wait_woken(wakes);
	}
	evfut_future_drop(&op.base);
	ck_assert_uint_eq(op.copied, 16);
	ck_assert_mem_eq(buf, "0123456789abcdef", 16);
	peer_send("tail");
	evfut_reader_read_exact_init(&op, &reader, rest, 4);
	ck_assert_int_eq(run(&op), 4);
	ck_assert_mem_eq(rest, "tail", 4);
	close_all();
}
END_TEST

/* Every -E path of the reader. */
START_TEST(test_stream_reader_errors)
{
	struct evfut_read_op op;
	struct evfut_read_op other;
	struct evfut_reader r;
	char buf[4];

	open_pair(16);
	ck_assert_int_eq(evfut_reader_init(NULL, &io, 16), -EINVAL);
	ck_assert_int_eq(evfut_reader_init(&r, NULL, 16), -EINVAL);
	ck_assert_int_eq(evfut_reader_init(&r, &io, 0), -EINVAL);
	harness_alloc_fail_at(1);
	ck_assert_int_eq(evfut_reader_init(&r, &io, 16), -ENOMEM);
	harness_alloc_restore();
	evfut_reader_destroy(NULL);
	ck_assert_int_eq(evfut_reader_consume(NULL, 0), -EINVAL);
	ck_assert_int_eq(evfut_reader_consume(&reader, 1), -EINVAL);
	ck_assert_uint_eq(evfut_reader_buffered(NULL), 0);
	ck_assert_ptr_null(evfut_reader_peek(NULL, NULL));
	evfut_read_line_init(&op, NULL, 16);
	ck_assert_int_eq(run(&op), -EINVAL);
	evfut_reader_read_exact_init(&op, &reader, NULL, 4);
	ck_assert_int_eq(run(&op), -EINVAL);
	evfut_reader_read_init(&op, &reader, NULL, 4);
	ck_assert_int_eq(run(&op), -EINVAL);
	ck_assert_int_eq(line(&op, 0), -EINVAL);
	ck_assert_int_eq(line(&op, 17), -EINVAL);
	ck_assert_int_eq(until(&op, 256, 16), -EINVAL);
	ck_assert_int_eq(until(&op, -1, 16), -EINVAL);
	/* One operation at a time. */
	evfut_read_line_init(&op, &reader, 16);
	ck_assert_int_eq(poll_op(&op), EVFUT_PENDING);
	evfut_reader_read_init(&other, &reader, buf, sizeof(buf));
	ck_assert_int_eq(poll_op(&other), EVFUT_READY);
	ck_assert_int_eq(other.result, -EBUSY);
	ck_assert_int_eq(evfut_reader_consume(&reader, 0), -EBUSY);
	/* The registration removed under a pending operation. */
	evfut_io_deregister(&io);
	ck_assert_int_eq(run(&op), -EBADF);
	close(fds[0]);
	close_all();
}
END_TEST

static Suite *
reader_suite(void)
{
	Suite *s = suite_create("stream-reader");
	TCase *tc = tcase_create("reader");

	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(
	        tc, test_stream_reader_read_line_returns_each_line_then_zero);
	tcase_add_test(
	        tc,
	        test_stream_reader_read_until_returns_a_last_unterminated_piece);
	tcase_add_test(
	        tc,
	        test_stream_reader_read_until_joins_pieces_that_arrive_apart);
	tcase_add_test(tc,
	               test_stream_reader_read_until_with_bytes_two_at_a_time);
	tcase_add_test(
	        tc,
	        test_stream_reader_peer_closing_mid_line_gives_the_piece_then_eof);
	tcase_add_test(tc, test_stream_reader_reset_mid_line_keeps_the_piece);
	tcase_add_test(tc,
	               test_stream_reader_pipe_data_and_hangup_in_one_report);
	tcase_add_test(
	        tc,
	        test_stream_reader_over_long_line_is_emsgsize_and_consumes_nothing);
	tcase_add_test(tc,
	               test_stream_reader_endless_line_stays_within_the_buffer);
	tcase_add_test(tc,
	               test_stream_reader_compacts_lines_across_the_buffer_end);
	tcase_add_test(tc,
	               test_stream_reader_read_exact_small_and_short_at_eof);
	tcase_add_test(
	        tc,
	        test_stream_reader_read_exact_large_reads_into_the_callers_buffer);
	tcase_add_test(tc,
	               test_stream_reader_read_some_as_tokio_buffered_reader);
	tcase_add_test(
	        tc,
	        test_stream_reader_dropping_any_op_at_any_poll_loses_nothing);
	tcase_add_test(
	        tc,
	        test_stream_reader_dropped_large_read_exact_gives_bytes_back);
	tcase_add_test(
	        tc,
	        test_stream_reader_dropped_large_read_exact_reports_what_it_moved);
	tcase_add_test(tc, test_stream_reader_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(reader_suite());
}
