/*
 * Suite "reactor": TCP cases translated from the peers' own suites, on
 * evfut's operations: libuv's test-tcp-close-accept (a cancelled accept
 * loses no connection), test-tcp-close-while-connecting, test-tcp-write-
 * after-connect, test-tcp-write-to-half-open-connection, test-tcp-
 * shutdown-after-write, test-tcp-bind-error (EADDRNOTAVAIL), and tokio's
 * tcp_accept (a backlog drained on one readiness report), tcp_into_split
 * (a reader task and a writer task on one registration) and tcp_shutdown.
 * Each runs on every libevent backend (./dev sets EVENT_NOEPOLL,
 * EVENT_NOPOLL), under a guard timeout far below Check's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reactor-util.h"

/* A guard against a lost wakeup, not a timing assertion. */
#define GUARD_S 5

/* Polls its child exactly once, then completes: whether the child was
 * ready is in @ready. */
struct poll_once {
	struct evfut_future base;
	struct evfut_future *child;
	bool ready;
};

static enum evfut_poll
poll_once_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct poll_once *p = evfut_container_of(self, struct poll_once, base);

	p->ready = evfut_future_poll(p->child, cx) == EVFUT_READY;
	return EVFUT_READY;
}

/* Polls @child once on harness_rt; whether it completed. */
static bool
poll_once(struct evfut_future *child)
{
	struct poll_once p = {EVFUT_FUTURE_INIT(poll_once_poll, NULL), child,
	                      false};

	await(&p.base);
	return p.ready;
}

/* A plain blocking connection to 127.0.0.1:@port. */
static int
plain_connect(uint16_t port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
	                          .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* A listener on 127.0.0.1, any port. */
static uint16_t
listen_any(struct evfut_io *listener)
{
	int port;

	ck_assert_int_eq(
	        evfut_tcp_listen(listener, harness_rt, NULL, 0, 128, 0), 0);
	port = evfut_io_local_port(listener);
	ck_assert_int_gt(port, 0);
	return (uint16_t)port;
}

/* Accepts one connection through evfut and registers it in @io. */
static void
accept_into(struct evfut_io *listener, struct evfut_io *io)
{
	struct evfut_io_op op;

	evfut_accept_init(&op, listener, NULL, NULL);
	await_or_fail(&op.base, GUARD_S);
	ck_assert_int_ge(op.result, 0);
	ck_assert_int_eq(evfut_io_register(io, harness_rt, (int)op.result), 0);
}

static void
send_all(int fd, const void *buf, size_t len)
{
	ck_assert_int_eq(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Reads exactly @len bytes from a registered @io. */
static void
read_exact(struct evfut_io *io, void *buf, size_t len)
{
	struct evfut_io_op op;

	evfut_read_exact_init(&op, io, buf, len);
	await_or_fail(&op.base, GUARD_S);
	ck_assert_int_eq(op.result, (ssize_t)len);
}

/* libuv's tcp_close_accept, tokio's accept cancellation: an accept
 * dropped while it waits takes nothing; the connection that arrives next
 * goes to the next accept. */
START_TEST(test_peers_dropped_accept_loses_no_connection)
{
	struct evfut_io listener, conn;
	struct evfut_io_op op;
	uint16_t port = listen_any(&listener);
	char byte = 0;
	int client;

	evfut_accept_init(&op, &listener, NULL, NULL);
	ck_assert(!poll_once(&op.base));
	evfut_future_drop(&op.base);
	client = plain_connect(port);
	send_all(client, "x", 1);
	accept_into(&listener, &conn);
	read_exact(&conn, &byte, 1);
	ck_assert_int_eq(byte, 'x');
	close(client);
	evfut_io_close(&conn);
	evfut_io_close(&listener);
}
END_TEST

/* tokio's tcp_accept: connections queued in the backlog before the first
 * accept are all accepted, each with no new readiness report of its own
 * (an edge-triggered backend reports the listener once). */
START_TEST(test_peers_backlog_is_drained_by_successive_accepts)
{
	enum { CLIENTS = 32 };
	struct evfut_io listener;
	struct evfut_io_op op;
	uint16_t port = listen_any(&listener);
	int clients[CLIENTS];
	int i;

	for (i = 0; i < CLIENTS; i++)
		clients[i] = plain_connect(port);
	for (i = 0; i < CLIENTS; i++) {
		evfut_accept_init(&op, &listener, NULL, NULL);
		await_or_fail(&op.base, GUARD_S);
		ck_assert_int_ge(op.result, 0);
		close((int)op.result);
	}
	/* The backlog is empty now: the next accept waits. */
	evfut_accept_init(&op, &listener, NULL, NULL);
	ck_assert(!poll_once(&op.base));
	evfut_future_drop(&op.base);
	for (i = 0; i < CLIENTS; i++)
		close(clients[i]);
	evfut_io_close(&listener);
}
END_TEST

/* libuv's tcp_close_while_connecting: a connect dropped while pending,
 * then the registration closed, leaves no descriptor and no event; the
 * listener's side sees the connection come and go. */
START_TEST(test_peers_connect_dropped_while_pending_leaks_nothing)
{
	struct evfut_io listener, io;
	struct evfut_io_op op;
	uint16_t port = listen_any(&listener);
	int fds = harness_count_fds();
	struct event_base *base = evfut_runtime_event_base(harness_rt);
	int events = added_events(base);
	bool ready;

	ck_assert_int_eq(
	        evfut_tcp_connect_start(&io, harness_rt, "127.0.0.1", port), 0);
	evfut_connect_init(&op, &io);
	/* Loopback may connect at once; pending or not, the drop is clean. */
	ready = poll_once(&op.base);
	ck_assert(!ready || op.result == 0);
	evfut_future_drop(&op.base);
	ck_assert_int_eq(evfut_io_close(&io), 0);
	ck_assert_int_eq(harness_count_fds(), fds);
	ck_assert_int_eq(added_events(base), events);
	evfut_io_close(&listener);
}
END_TEST

/* libuv's tcp_write_after_connect: a write started right after the
 * connect, before it completed, waits for the connection and is
 * delivered. */
START_TEST(test_peers_write_started_before_connect_completes_arrives)
{
	struct evfut_io listener, io, conn;
	struct evfut_io_op connect_op, write_op;
	uint16_t port = listen_any(&listener);
	char got[5] = {0};

	ck_assert_int_eq(
	        evfut_tcp_connect_start(&io, harness_rt, "127.0.0.1", port), 0);
	evfut_connect_init(&connect_op, &io);
	evfut_write_all_init(&write_op, &io, "hello", 5);
	await_or_fail(&write_op.base, GUARD_S);
	ck_assert_int_eq(write_op.result, 5);
	await_or_fail(&connect_op.base, GUARD_S);
	ck_assert_int_eq(connect_op.result, 0);
	accept_into(&listener, &conn);
	read_exact(&conn, got, 5);
	ck_assert_int_eq(memcmp(got, "hello", 5), 0);
	evfut_io_close(&conn);
	evfut_io_close(&io);
	evfut_io_close(&listener);
}
END_TEST

/* libuv's tcp_write_to_half_open_connection, tokio's tcp_shutdown: the
 * peer shut down its writing side; reads see end of file, and writes
 * still go through and are read. */
START_TEST(test_peers_half_open_connection_reads_eof_and_still_writes)
{
	struct evfut_io listener, conn;
	struct evfut_io_op op;
	uint16_t port = listen_any(&listener);
	int client = plain_connect(port);
	char buf[8];

	accept_into(&listener, &conn);
	ck_assert_int_eq(shutdown(client, SHUT_WR), 0);
	evfut_read_init(&op, &conn, buf, sizeof(buf));
	await_or_fail(&op.base, GUARD_S);
	ck_assert_int_eq(op.result, 0);
	evfut_write_all_init(&op, &conn, "late", 4);
	await_or_fail(&op.base, GUARD_S);
	ck_assert_int_eq(op.result, 4);
	ck_assert_int_eq(recv(client, buf, 4, MSG_WAITALL), 4);
	ck_assert_int_eq(memcmp(buf, "late", 4), 0);
	close(client);
	evfut_io_close(&conn);
	evfut_io_close(&listener);
}
END_TEST

/* libuv's tcp_shutdown_after_write: what was written before a shutdown of
 * the writing side all arrives, then end of file. The writer task writes
 * through a small send buffer while the peer's task reads, so the write waits
 * for room many times before the shutdown. */
struct write_then_shutdown {
	struct evfut_future base;
	struct evfut_io *io;
	const void *buf;
	size_t len;
	bool started;
	ssize_t result;
	struct evfut_io_op op;
};

static enum evfut_poll
write_then_shutdown_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct write_then_shutdown *w =
	        evfut_container_of(self, struct write_then_shutdown, base);

	if (!w->started) {
		evfut_write_all_init(&w->op, w->io, w->buf, w->len);
		w->started = true;
	}
	if (evfut_future_poll(&w->op.base, cx) == EVFUT_PENDING)
		return EVFUT_PENDING;
	w->result = w->op.result;
	ck_assert_int_eq(evfut_io_shutdown(w->io, SHUT_WR), 0);
	return EVFUT_READY;
}

/* Reads until end of file into a buffer of @cap bytes. */
struct read_to_eof {
	struct evfut_future base;
	struct evfut_io *io;
	unsigned char *buf;
	size_t cap;
	size_t got;
	ssize_t last;
	struct evfut_io_op op;
	bool started;
};

static enum evfut_poll
read_to_eof_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct read_to_eof *r =
	        evfut_container_of(self, struct read_to_eof, base);

	for (;;) {
		if (!r->started) {
			evfut_read_init(&r->op, r->io, r->buf + r->got,
			                r->cap - r->got);
			r->started = true;
		}
		if (evfut_future_poll(&r->op.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		r->started = false;
		r->last = r->op.result;
		if (r->last <= 0 || r->got + (size_t)r->last == r->cap)
			return EVFUT_READY;
		r->got += (size_t)r->last;
	}
}

START_TEST(test_peers_shutdown_after_write_delivers_then_eof)
{
	enum { LEN = 256 * 1024 };
	struct evfut_io listener, conn, client;
	uint16_t port = listen_any(&listener);
	unsigned char *out = malloc(LEN);
	unsigned char *in = malloc(LEN + 1);
	struct write_then_shutdown writer = {
	        .base = EVFUT_FUTURE_INIT(write_then_shutdown_poll, NULL),
	        .io = &conn,
	        .buf = out,
	        .len = LEN,
	};
	struct read_to_eof reader = {
	        .base = EVFUT_FUTURE_INIT(read_to_eof_poll, NULL),
	        .io = &client,
	        .buf = in,
	        .cap = LEN + 1,
	        .last = -1,
	};
	struct evfut_future *both[] = {&writer.base, &reader.base};
	struct evfut_join join;

	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(in);
	pattern_fill(out, LEN, 7);
	ck_assert_int_eq(
	        evfut_io_register(&client, harness_rt, plain_connect(port)), 0);
	accept_into(&listener, &conn);
	/* A small send buffer only: a tiny receive window on loopback makes
	 * the kernel stall in zero-window probes, which proves nothing. */
	shrink_buffers(evfut_io_fd(&conn));
	ck_assert_int_eq(evfut_join_init(&join, both, 2), 0);
	await_or_fail(&join.base, GUARD_S);
	ck_assert_int_eq(writer.result, LEN);
	ck_assert_int_eq(reader.last, 0);
	ck_assert_uint_eq(reader.got, LEN);
	ck_assert_int_eq(memcmp(in, out, LEN), 0);
	free(out);
	free(in);
	evfut_io_close(&client);
	evfut_io_close(&conn);
	evfut_io_close(&listener);
}
END_TEST

/* libuv's tcp_bind_error_addrnotavail: an address of no interface here. */
START_TEST(test_peers_listen_on_a_foreign_address_is_eaddrnotavail)
{
	struct evfut_io io;
	int fds = harness_count_fds();

	/* 192.0.2.0/24 is reserved for documentation (RFC 5737). */
	ck_assert_int_eq(
	        evfut_tcp_listen(&io, harness_rt, "192.0.2.1", 0, 16, 0),
	        -EADDRNOTAVAIL);
	ck_assert_int_eq(harness_count_fds(), fds);
}
END_TEST

/* tokio's tcp_into_split: one task reads while another writes on the same
 * registration; each direction wakes its own task. */
struct split_reader {
	struct evfut_future base;
	struct evfut_io *io;
	char *buf;
	size_t len;
	bool started;
	struct evfut_io_op op;
	ssize_t *result; /* outside the task */
};

static enum evfut_poll
split_reader_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct split_reader *r =
	        evfut_container_of(self, struct split_reader, base);

	if (!r->started) {
		evfut_read_exact_init(&r->op, r->io, r->buf, r->len);
		r->started = true;
	}
	if (evfut_future_poll(&r->op.base, cx) == EVFUT_PENDING)
		return EVFUT_PENDING;
	*r->result = r->op.result;
	return EVFUT_READY;
}

static void
split_reader_drop(struct evfut_future *self)
{
	struct split_reader *r =
	        evfut_container_of(self, struct split_reader, base);

	if (r->started)
		evfut_future_drop(&r->op.base);
}

START_TEST(test_peers_reader_and_writer_tasks_share_a_registration)
{
	enum { LEN = 64 * 1024 };
	struct evfut_io listener, conn;
	struct evfut_io_op write_op;
	uint16_t port = listen_any(&listener);
	int client = plain_connect(port);
	static char in[LEN], out[LEN], echo[LEN];
	ssize_t result = -1;
	struct split_reader reader = {
	        .base = EVFUT_FUTURE_INIT(split_reader_poll, split_reader_drop),
	        .buf = in,
	        .len = LEN,
	        .result = &result,
	};
	struct evfut_join_handle handle;
	struct evfut_task_join join;
	ssize_t n;
	size_t got = 0;

	accept_into(&listener, &conn);
	reader.io = &conn;
	pattern_fill((unsigned char *)out, LEN, 3);
	pattern_fill((unsigned char *)echo, LEN, 4);
	ck_assert_int_eq(evfut_task_spawn_joinable(harness_rt, &reader.base,
	                                           sizeof(reader), &handle),
	                 0);
	/* The reader task waits on the read direction; this task writes. */
	evfut_write_all_init(&write_op, &conn, out, LEN);
	await_or_fail(&write_op.base, GUARD_S);
	ck_assert_int_eq(write_op.result, LEN);
	while (got < LEN) {
		n = recv(client, echo + got, LEN - got, 0);
		ck_assert_int_gt(n, 0);
		got += (size_t)n;
	}
	ck_assert_int_eq(memcmp(echo, out, LEN), 0);
	send_all(client, out, LEN);
	evfut_task_join_init(&join, &handle);
	await_or_fail(&join.base, GUARD_S);
	ck_assert_int_eq(join.result, 0);
	ck_assert_int_eq(result, LEN);
	ck_assert_int_eq(memcmp(in, out, LEN), 0);
	close(client);
	evfut_io_close(&conn);
	evfut_io_close(&listener);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("reactor-peers");
	TCase *tc = tcase_create("tcp");

	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_peers_dropped_accept_loses_no_connection);
	tcase_add_test(tc, test_peers_backlog_is_drained_by_successive_accepts);
	tcase_add_test(tc,
	               test_peers_connect_dropped_while_pending_leaks_nothing);
	tcase_add_test(
	        tc, test_peers_write_started_before_connect_completes_arrives);
	tcase_add_test(
	        tc, test_peers_half_open_connection_reads_eof_and_still_writes);
	tcase_add_test(tc, test_peers_shutdown_after_write_delivers_then_eof);
	tcase_add_test(tc,
	               test_peers_listen_on_a_foreign_address_is_eaddrnotavail);
	tcase_add_test(tc,
	               test_peers_reader_and_writer_tasks_share_a_registration);
	suite_add_tcase(s, tc);
	return harness_main(s);
}
