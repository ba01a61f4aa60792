/*
 * Suite "net": the socket calls of the reactor. TCP echo on loopback, a
 * thousand concurrent connections to one server, 1 MiB through minimal
 * buffers, TCP_NODELAY and half-close, refused connections and bad
 * addresses; UDP datagrams; Unix-domain streams; and accept's back-off
 * when the process runs out of descriptors.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "reactor-util.h"

#define MIB (1024 * 1024)

/* The soft RLIMIT_NOFILE of the process before the test changed it. */
static struct rlimit saved_nofile;

static void
limits_setup(void)
{
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved_nofile), 0);
	harness_setup();
}

static void
limits_teardown(void)
{
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved_nofile), 0);
	harness_teardown();
}

static uint16_t
listen_tcp(struct evfut_io *io, int backlog)
{
	int port;

	ck_assert_int_eq(evfut_tcp_listen(io, harness_rt, NULL, 0, backlog, 0),
	                 0);
	port = evfut_io_local_port(io);
	ck_assert_int_gt(port, 0);
	return (uint16_t)port;
}

static void
spawn_server(struct server_shared *sh, unsigned long max)
{
	struct server s;

	sh->max = max;
	server_init(&s, sh);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &s.base, sizeof(s)), 0);
}

/* tcp */

START_TEST(test_reactor_tcp_echo_over_loopback_returns_every_byte)
{
	static struct server_shared sh;
	struct client_result result;
	struct client client;

	memset(&sh, 0, sizeof(sh));
	client_init(&client, CLIENT_TCP, 200000, 1, &result);
	client.port = listen_tcp(&sh.listener, 8);
	spawn_server(&sh, 1);
	ck_assert_int_eq(
	        evfut_task_spawn(harness_rt, &client.base, sizeof(client)), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(result.status, 0);
	ck_assert_uint_eq(result.verified, 200000);
	ck_assert_uint_eq(sh.echo.finished, 1);
	ck_assert_uint_eq(sh.echo.errors, 0);
	ck_assert_uint_eq(sh.echo.bytes, 200000);
}
END_TEST

#define CONNS 1000

START_TEST(test_reactor_tcp_thousand_concurrent_connections_echo)
{
	static struct server_shared sh;
	static struct client_result results[CONNS];
	size_t need = 2 * CONNS + 64;
	uint64_t expected = 0;
	struct rlimit lim = saved_nofile;
	struct client client;
	uint16_t port;
	int i;

	if (backend_is("select")) {
		fprintf(stderr, "# SKIP %s: select watches no fd >= %d\n",
		        __func__, FD_SETSIZE);
		return;
	}
	if (lim.rlim_cur < need) {
		if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < need) {
			fprintf(stderr,
			        "# SKIP %s: RLIMIT_NOFILE hard limit %llu < "
			        "%zu\n",
			        __func__, (unsigned long long)lim.rlim_max,
			        need);
			return;
		}
		lim.rlim_cur = lim.rlim_max;
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &lim), 0);
	}
	memset(&sh, 0, sizeof(sh));
	port = listen_tcp(&sh.listener, 2 * CONNS);
	spawn_server(&sh, CONNS);
	for (i = 0; i < CONNS; i++) {
		client_init(&client, CLIENT_TCP, 1000 + (size_t)i, (unsigned)i,
		            &results[i]);
		client.port = port;
		expected += client.len;
		ck_assert_int_eq(evfut_task_spawn(harness_rt, &client.base,
		                                  sizeof(client)),
		                 0);
	}
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	for (i = 0; i < CONNS; i++) {
		ck_assert_msg(results[i].status == 0, "client %d: %s", i,
		              strerror(-results[i].status));
		ck_assert_uint_eq(results[i].verified, 1000 + (size_t)i);
	}
	ck_assert_uint_eq(sh.accepted, CONNS);
	ck_assert_uint_eq(sh.echo.finished, CONNS);
	ck_assert_uint_eq(sh.echo.errors, 0);
	ck_assert_uint_eq(sh.echo.bytes, expected);
}
END_TEST

/*
 * TCP with the minimal buffers (a window under one segment) is the
 * kernel's slow path: 1 MiB takes about a minute of persist-timer probes,
 * with plain blocking sockets too (16 KiB still stalls for seconds).
 * 32 KiB keeps the writes and reads partial (the socketpair tests use the
 * minimum) without the stalls.
 */
#define TCP_SMALL_BUFFERS 32768

START_TEST(test_reactor_tcp_small_buffers_echo_one_mib)
{
	static struct server_shared sh;
	struct client_result result;
	struct client client;

	memset(&sh, 0, sizeof(sh));
	sh.bufsize = TCP_SMALL_BUFFERS;
	client_init(&client, CLIENT_TCP, MIB, 9, &result);
	client.port = listen_tcp(&sh.listener, 8);
	client.bufsize = TCP_SMALL_BUFFERS;
	spawn_server(&sh, 1);
	ck_assert_int_eq(
	        evfut_task_spawn(harness_rt, &client.base, sizeof(client)), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(result.status, 0);
	ck_assert_uint_eq(result.verified, MIB);
	ck_assert_uint_eq(sh.echo.bytes, MIB);
	ck_assert_uint_gt(result.polls, 16);
}
END_TEST

/* A connected TCP pair: @client connected with evfut, @server accepted. */
static void
tcp_pair(struct evfut_io *listener, struct evfut_io *client,
         struct evfut_io *server)
{
	uint16_t port = listen_tcp(listener, 8);
	struct evfut_io_op op;

	ck_assert_int_eq(
	        evfut_tcp_connect_start(client, harness_rt, "127.0.0.1", port),
	        0);
	evfut_accept_init(&op, listener, NULL, NULL);
	await_or_fail(&op.base, 5);
	ck_assert_int_ge(op.result, 0);
	ck_assert_int_eq(evfut_io_register(server, harness_rt, (int)op.result),
	                 0);
	evfut_connect_init(&op, client);
	await_or_fail(&op.base, 5);
	ck_assert_int_eq(op.result, 0);
}

START_TEST(test_reactor_tcp_nodelay_and_shutdown_write_give_peer_eof)
{
	struct evfut_io listener;
	struct evfut_io a;
	struct evfut_io b;
	struct evfut_io_op op;
	char buf[8];
	int on = -1;
	socklen_t len = sizeof(on);

	tcp_pair(&listener, &a, &b);
	ck_assert_int_eq(evfut_tcp_set_nodelay(&a, 1), 0);
	ck_assert_int_eq(getsockopt(evfut_io_fd(&a), IPPROTO_TCP, TCP_NODELAY,
	                            &on, &len),
	                 0);
	ck_assert_int_ne(on, 0);
	ck_assert_int_eq(evfut_tcp_set_nodelay(&a, 0), 0);
	ck_assert_int_eq(getsockopt(evfut_io_fd(&a), IPPROTO_TCP, TCP_NODELAY,
	                            &on, &len),
	                 0);
	ck_assert_int_eq(on, 0);
	/* Data, then the half-close: the peer reads the data, then EOF. */
	evfut_write_all_init(&op, &a, "bye", 3);
	await_or_fail(&op.base, 5);
	ck_assert_int_eq(op.result, 3);
	ck_assert_int_eq(evfut_io_shutdown(&a, SHUT_WR), 0);
	evfut_read_exact_init(&op, &b, buf, 3);
	await_or_fail(&op.base, 5);
	ck_assert_int_eq(op.result, 3);
	ck_assert(memcmp(buf, "bye", 3) == 0);
	evfut_read_init(&op, &b, buf, sizeof(buf));
	await_or_fail(&op.base, 5);
	ck_assert_int_eq(op.result, 0);
	/* The other direction still works after the half-close. */
	evfut_write_all_init(&op, &b, "ok", 2);
	await_or_fail(&op.base, 5);
	ck_assert_int_eq(op.result, 2);
	evfut_read_exact_init(&op, &a, buf, 2);
	await_or_fail(&op.base, 5);
	ck_assert_int_eq(op.result, 2);
	ck_assert_int_eq(evfut_io_shutdown(&a, 12345), -EINVAL);
	ck_assert_int_eq(evfut_io_close(&a), 0);
	ck_assert_int_eq(evfut_io_close(&b), 0);
	ck_assert_int_eq(evfut_io_close(&listener), 0);
}
END_TEST

START_TEST(test_reactor_tcp_connect_to_closed_port_is_econnrefused)
{
	struct evfut_io listener;
	struct evfut_io io;
	struct evfut_io_op op;
	uint16_t port = listen_tcp(&listener, 8);
	int rc;

	/* Nobody listens on the port once the listener is closed. */
	ck_assert_int_eq(evfut_io_close(&listener), 0);
	rc = evfut_tcp_connect_start(&io, harness_rt, "127.0.0.1", port);
	if (rc == 0) {
		evfut_connect_init(&op, &io);
		await_or_fail(&op.base, 5);
		rc = (int)op.result;
		ck_assert_int_eq(evfut_io_close(&io), 0);
	}
	ck_assert_int_eq(rc, -ECONNREFUSED);
}
END_TEST

START_TEST(test_reactor_tcp_bad_host_is_einval)
{
	static const char *const bad[] = {"",      "localhost", "256.0.0.1",
	                                  "1.2.3", "::g",       "127.0.0.1:80"};
	struct evfut_io io;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(
		        evfut_tcp_listen(&io, harness_rt, bad[i], 0, 8, 0),
		        -EINVAL);
		ck_assert_int_eq(
		        evfut_tcp_connect_start(&io, harness_rt, bad[i], 80),
		        -EINVAL);
		ck_assert_int_eq(evfut_udp_bind(&io, harness_rt, bad[i], 0),
		                 -EINVAL);
	}
}
END_TEST

START_TEST(test_reactor_tcp_listen_on_a_used_port_is_eaddrinuse)
{
	struct evfut_io first;
	struct evfut_io second;
	uint16_t port = listen_tcp(&first, 8);

	ck_assert_int_eq(
	        evfut_tcp_listen(&second, harness_rt, "127.0.0.1", port, 8, 0),
	        -EADDRINUSE);
	ck_assert_int_eq(evfut_io_close(&first), 0);
}
END_TEST

/* udp */

struct datagram {
	struct evfut_future base;
	struct evfut_io *rx;
	struct evfut_io *tx;
	struct sockaddr_in to;
	struct sockaddr_in from;
	socklen_t from_len;
	char buf[64];
	struct evfut_io_op recv;
	struct evfut_io_op send;
	int polls;
	bool sent;
};

/* Receives first (Pending), then sends: the datagram wakes the receive. */
static enum evfut_poll
datagram_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct datagram *d = evfut_container_of(self, struct datagram, base);

	if (d->polls++ == 0) {
		evfut_recv_from_init(&d->recv, d->rx, d->buf, sizeof(d->buf),
		                     (struct sockaddr *)&d->from, &d->from_len);
		ck_assert_int_eq(evfut_future_poll(&d->recv.base, cx),
		                 EVFUT_PENDING);
		evfut_send_to_init(&d->send, d->tx, "datagram", 8,
		                   (const struct sockaddr *)&d->to,
		                   sizeof(d->to));
	}
	if (!d->sent) {
		if (evfut_future_poll(&d->send.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		ck_assert_int_eq(d->send.result, 8);
		d->sent = true;
	}
	return evfut_future_poll(&d->recv.base, cx);
}

static void
loopback(struct sockaddr_in *sin, uint16_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

START_TEST(test_reactor_udp_send_to_and_recv_from_on_loopback)
{
	struct evfut_io a;
	struct evfut_io b;
	struct datagram d;
	int port_a;
	int port_b;

	memset(&d, 0, sizeof(d));
	d.base.poll = datagram_poll;
	ck_assert_int_eq(evfut_udp_bind(&a, harness_rt, NULL, 0), 0);
	ck_assert_int_eq(evfut_udp_bind(&b, harness_rt, "127.0.0.1", 0), 0);
	port_a = evfut_io_local_port(&a);
	port_b = evfut_io_local_port(&b);
	ck_assert_int_gt(port_a, 0);
	ck_assert_int_gt(port_b, 0);
	d.rx = &b;
	d.tx = &a;
	d.from_len = sizeof(d.from);
	loopback(&d.to, (uint16_t)port_b);
	await_or_fail(&d.base, 5);
	ck_assert_int_eq(d.recv.result, 8);
	ck_assert(memcmp(d.buf, "datagram", 8) == 0);
	ck_assert_int_eq(d.from.sin_family, AF_INET);
	ck_assert_int_eq(ntohs(d.from.sin_port), port_a);
	/* Pending first, then woken by the datagram. */
	ck_assert_int_ge(d.polls, 2);
	/* And back, with from and from_len NULL; an empty datagram too. */
	loopback(&d.to, (uint16_t)port_a);
	evfut_send_to_init(&d.send, &b, "", 0, (struct sockaddr *)&d.to,
	                   sizeof(d.to));
	await_or_fail(&d.send.base, 5);
	ck_assert_int_eq(d.send.result, 0);
	evfut_recv_from_init(&d.recv, &a, d.buf, sizeof(d.buf), NULL, NULL);
	await_or_fail(&d.recv.base, 5);
	ck_assert_int_eq(d.recv.result, 0);
	/* A bad destination is the send's error. */
	evfut_send_to_init(&d.send, &a, "x", 1, (struct sockaddr *)&d.to, 1);
	await_or_fail(&d.send.base, 5);
	ck_assert_int_eq(d.send.result, -EINVAL);
	ck_assert_int_eq(evfut_io_close(&a), 0);
	ck_assert_int_eq(evfut_io_close(&b), 0);
}
END_TEST

/* unix */

static char unix_dir[64];
static char unix_path[128];

static void
unix_setup(void)
{
	harness_setup();
	strcpy(unix_dir, "/tmp/evfut-reactor-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(unix_dir));
	snprintf(unix_path, sizeof(unix_path), "%s/socket", unix_dir);
}

static void
unix_teardown(void)
{
	unlink(unix_path);
	ck_assert_int_eq(rmdir(unix_dir), 0);
	harness_teardown();
}

START_TEST(test_reactor_unix_listener_accepts_and_echoes)
{
	static struct server_shared sh;
	struct client_result result;
	struct client client;

	memset(&sh, 0, sizeof(sh));
	ck_assert_int_eq(
	        evfut_unix_listen(&sh.listener, harness_rt, unix_path, 8), 0);
	/* Not an internet socket: no port. */
	ck_assert_int_lt(evfut_io_local_port(&sh.listener), 0);
	spawn_server(&sh, 1);
	client_init(&client, CLIENT_UNIX, 300000, 4, &result);
	client.path = unix_path;
	ck_assert_int_eq(
	        evfut_task_spawn(harness_rt, &client.base, sizeof(client)), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(result.status, 0);
	ck_assert_uint_eq(result.verified, 300000);
	ck_assert_uint_eq(sh.echo.bytes, 300000);
	ck_assert_uint_eq(sh.echo.finished, 1);
}
END_TEST

START_TEST(test_reactor_unix_path_too_long_is_enametoolong)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
	struct evfut_io io;

	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	ck_assert_int_eq(evfut_unix_listen(&io, harness_rt, path, 8),
	                 -ENAMETOOLONG);
	ck_assert_int_eq(evfut_unix_connect_start(&io, harness_rt, path),
	                 -ENAMETOOLONG);
	/* Exactly sun_path bytes leaves no room for the terminator. */
	path[sizeof(((struct sockaddr_un *)0)->sun_path)] = '\0';
	ck_assert_int_eq(evfut_unix_listen(&io, harness_rt, path, 8),
	                 -ENAMETOOLONG);
	ck_assert_int_eq(evfut_unix_connect_start(&io, harness_rt, path),
	                 -ENAMETOOLONG);
	/* A path nobody listens on. */
	ck_assert_int_eq(evfut_unix_connect_start(&io, harness_rt, unix_path),
	                 -ENOENT);
	/* A path that exists already. */
	ck_assert_int_eq(evfut_unix_listen(&io, harness_rt, unix_path, 8), 0);
	{
		struct evfut_io again;

		ck_assert_int_eq(
		        evfut_unix_listen(&again, harness_rt, unix_path, 8),
		        -EADDRINUSE);
	}
	ck_assert_int_eq(evfut_io_close(&io), 0);
}
END_TEST

/*
 * A listener with backlog 0 holds one pending connection; a second
 * non-blocking connect fails with EAGAIN (for Unix-domain sockets that is
 * not "in progress": the socket is not connected). It must not be
 * reported as connected.
 */
START_TEST(test_reactor_unix_connect_to_full_backlog_is_not_connected)
{
	struct evfut_io listener;
	struct evfut_io first;
	struct evfut_io second;
	struct evfut_io_op op;
	struct sockaddr_un peer;
	socklen_t len = sizeof(peer);
	int peer_error = 0;
	int rc;

	ck_assert_int_eq(evfut_unix_listen(&listener, harness_rt, unix_path, 0),
	                 0);
	ck_assert_int_eq(
	        evfut_unix_connect_start(&first, harness_rt, unix_path), 0);
	evfut_connect_init(&op, &first);
	await_or_fail(&op.base, 5);
	ck_assert_int_eq(op.result, 0);
	rc = evfut_unix_connect_start(&second, harness_rt, unix_path);
	if (rc == 0) {
		evfut_connect_init(&op, &second);
		await_or_fail(&op.base, 5);
		rc = (int)op.result;
		/* Reported connected: it must really be. */
		if (rc == 0 && getpeername(evfut_io_fd(&second),
		                           (struct sockaddr *)&peer, &len) < 0)
			peer_error = errno;
		ck_assert_int_eq(evfut_io_close(&second), 0);
	}
	ck_assert_int_eq(evfut_io_close(&first), 0);
	ck_assert_int_eq(evfut_io_close(&listener), 0);
	ck_assert_msg(peer_error == 0,
	              "connect reported success on a socket that is not "
	              "connected (getpeername: %s)",
	              strerror(peer_error));
	ck_assert_msg(rc == 0 || rc == -EAGAIN || rc == -ECONNREFUSED,
	              "unexpected: %d", rc);
}
END_TEST

/* emfile */

/*
 * Valgrind checks the descriptors that syscalls return against its own
 * copy of the limit: accept4() dequeues the connection, valgrind closes
 * the new descriptor and reports EMFILE, so the queued connection is gone
 * and the test's premise with it.
 */
static bool
skip_under_valgrind(const char *test)
{
	const char *preload = getenv("LD_PRELOAD");

	if (preload == NULL || strstr(preload, "vgpreload") == NULL)
		return false;
	fprintf(stderr, "# SKIP %s: valgrind emulates RLIMIT_NOFILE\n", test);
	return true;
}

/* The lowest descriptor number not in use. */
static int
lowest_free_fd(void)
{
	int fd = 0;

	while (fcntl(fd, F_GETFD) >= 0)
		fd++;
	return fd;
}

/* Leaves no free descriptor below the soft limit. */
static void
exhaust_fds(void)
{
	struct rlimit lim = saved_nofile;

	lim.rlim_cur = (rlim_t)lowest_free_fd();
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &lim), 0);
	ck_assert_int_eq(open("/dev/null", O_RDONLY) < 0 ? errno : 0, EMFILE);
}

static void
restore_fds(void)
{
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved_nofile), 0);
}

/* A blocking connect: on loopback the kernel completes it from the
 * listener's backlog, without an accept. */
static int
raw_connect(int fd, uint16_t port)
{
	struct sockaddr_in sin;

	loopback(&sin, port);
	return connect(fd, (struct sockaddr *)&sin, sizeof(sin));
}

static void
echo_roundtrip(struct evfut_io *io, const char *msg)
{
	size_t len = strlen(msg);
	struct evfut_io_op op;
	char buf[32];

	evfut_write_all_init(&op, io, msg, len);
	await_or_fail(&op.base, 10);
	ck_assert_int_eq(op.result, (ssize_t)len);
	evfut_read_exact_init(&op, io, buf, len);
	await_or_fail(&op.base, 10);
	ck_assert_int_eq(op.result, (ssize_t)len);
	ck_assert(memcmp(buf, msg, len) == 0);
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

START_TEST(test_reactor_accept_backs_off_on_emfile_and_recovers)
{
	static struct server_shared sh;
	struct evfut_io c1;
	struct evfut_io c2;
	struct evfut_stats s0;
	struct evfut_stats s1;
	struct wait_count wait;
	uint16_t port;
	int fd1;
	int fd2;
	int spare;

	if (skip_under_valgrind(__func__))
		return;
	memset(&sh, 0, sizeof(sh));
	port = listen_tcp(&sh.listener, 8);
	spawn_server(&sh, 2);
	/* The first connection is accepted and echoes. */
	fd1 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd1, 0);
	ck_assert_int_eq(raw_connect(fd1, port), 0);
	ck_assert_int_eq(evfut_io_register(&c1, harness_rt, fd1), 0);
	wait_count_init(&wait, &sh.accepted, 1, &sh.waiter);
	await_or_fail(&wait.base, 10);
	echo_roundtrip(&c1, "ping");
	/* Out of descriptors, with a second connection queued. */
	fd2 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd2, 0);
	spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(spare, 0);
	exhaust_fds();
	ck_assert_int_eq(raw_connect(fd2, port), 0);
	s0 = harness_stats(harness_rt);
	/* The existing connection is still served. */
	echo_roundtrip(&c1, "pong");
	sleep_ms(100);
	echo_roundtrip(&c1, "still here");
	s1 = harness_stats(harness_rt);
	ck_assert_uint_eq(sh.accepted, 1);
	ck_assert_uint_ge(s1.accept_backoffs, s0.accept_backoffs + 1);
	/* Backing off, not spinning: 1, 2, 4, ... ms is a handful of tries
	 * in 100 ms. A spinning loop would make hundreds of thousands. */
	ck_assert_uint_le(s1.accept_backoffs - s0.accept_backoffs, 100);
	ck_assert_uint_le(s1.polls - s0.polls, 500);
	ck_assert_uint_le(s1.loop_iterations - s0.loop_iterations, 500);
	/* A descriptor frees up: the queued connection is accepted. */
	ck_assert_int_eq(close(spare), 0);
	wait_count_init(&wait, &sh.accepted, 2, &sh.waiter);
	await_or_fail(&wait.base, 10);
	restore_fds();
	ck_assert_int_eq(evfut_io_register(&c2, harness_rt, fd2), 0);
	echo_roundtrip(&c2, "recovered");
	echo_roundtrip(&c1, "both");
	ck_assert_int_eq(evfut_io_close(&c1), 0);
	ck_assert_int_eq(evfut_io_close(&c2), 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_uint_eq(sh.echo.finished, 2);
	ck_assert_uint_eq(sh.echo.errors, 0);
}
END_TEST

/*
 * The runtime is destroyed while accept backs off: the back-off's timer
 * owns a waker (and through it the task). Nothing evfut allocated may
 * outlive the runtime.
 */
START_TEST(test_reactor_destroy_during_accept_backoff_leaks_nothing)
{
	static struct server_shared sh;
	struct evfut_runtime *rt;
	uint16_t port;
	int fd;

	if (skip_under_valgrind(__func__))
		return;
	rt = harness_runtime_take();
	evfut_runtime_destroy(rt);
	harness_alloc_fail_at(0); /* count from here */
	ck_assert_int_eq(evfut_runtime_create(&harness_rt, NULL), 0);
	memset(&sh, 0, sizeof(sh));
	port = listen_tcp(&sh.listener, 8);
	spawn_server(&sh, 1);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	exhaust_fds();
	ck_assert_int_eq(raw_connect(fd, port), 0);
	sleep_ms(20);
	ck_assert_uint_ge(harness_stats(harness_rt).accept_backoffs, 1);
	ck_assert_uint_eq(sh.accepted, 0);
	restore_fds();
	/* The server task is cancelled with its back-off pending. */
	ck_assert_int_eq(evfut_io_close(&sh.listener), 0);
	rt = harness_runtime_take();
	evfut_runtime_destroy(rt);
	close(fd);
	ck_assert_msg(harness_alloc_live() == 0,
	              "%ld evfut allocations outlive the runtime",
	              harness_alloc_live());
}
END_TEST

static Suite *
net_suite(void)
{
	Suite *s = suite_create("net");
	TCase *tc;

	tc = tcase_create("tcp");
	tcase_add_checked_fixture(tc, limits_setup, limits_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc,
	               test_reactor_tcp_echo_over_loopback_returns_every_byte);
	tcase_add_test(tc,
	               test_reactor_tcp_thousand_concurrent_connections_echo);
	tcase_add_test(tc, test_reactor_tcp_small_buffers_echo_one_mib);
	tcase_add_test(
	        tc, test_reactor_tcp_nodelay_and_shutdown_write_give_peer_eof);
	tcase_add_test(tc,
	               test_reactor_tcp_connect_to_closed_port_is_econnrefused);
	tcase_add_test(tc, test_reactor_tcp_bad_host_is_einval);
	tcase_add_test(tc,
	               test_reactor_tcp_listen_on_a_used_port_is_eaddrinuse);
	suite_add_tcase(s, tc);

	tc = tcase_create("udp");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_reactor_udp_send_to_and_recv_from_on_loopback);
	suite_add_tcase(s, tc);

	tc = tcase_create("unix");
	tcase_add_checked_fixture(tc, unix_setup, unix_teardown);
	tcase_add_test(tc, test_reactor_unix_listener_accepts_and_echoes);
	tcase_add_test(tc, test_reactor_unix_path_too_long_is_enametoolong);
	tcase_add_test(
	        tc, test_reactor_unix_connect_to_full_backlog_is_not_connected);
	suite_add_tcase(s, tc);

	tc = tcase_create("emfile");
	tcase_add_checked_fixture(tc, limits_setup, limits_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc,
	               test_reactor_accept_backs_off_on_emfile_and_recovers);
	tcase_add_test(
	        tc, test_reactor_destroy_during_accept_backoff_leaks_nothing);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return harness_main(net_suite());
}
