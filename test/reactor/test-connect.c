/*
 * Suite "reactor": connecting by name and sockets the caller configured.
 * Resolving (numeric addresses at once, names on the blocking pool, every
 * getaddrinfo error as an errno), dropping a lookup before, while and
 * after the pool runs it (nothing leaks, nothing is touched after the
 * drop), connecting to each address in turn (a refused one, then one that
 * accepts; refused everywhere; a name that does not exist), dropping a
 * connect while it resolves or connects (no descriptor left), and
 * adopting sockets with options set (SO_RCVBUF, a source address,
 * SO_REUSEPORT) for connect and listen, with every error leaving the
 * caller's descriptor as it was. Cases after tokio's tcp_connect.rs and
 * net_lookup_host.rs and libuv's test-getaddrinfo.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "reactor-util.h"
#include "resolve.h"

/* A guard against a lost wakeup, not a timing assertion. */
#define GUARD_S 10

/* Polls @child once from a task, then completes: the caller drops it. */
struct poll_once {
	struct evfut_future base;
	struct evfut_future *child;
	enum evfut_poll got;
};

static enum evfut_poll
poll_once_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct poll_once *p = evfut_container_of(self, struct poll_once, base);

	p->got = evfut_future_poll(p->child, cx);
	return EVFUT_READY;
}

static enum evfut_poll
poll_child_once_on(struct evfut_runtime *rt, struct evfut_future *child)
{
	struct poll_once p = {.base = {poll_once_poll, NULL}, .child = child};

	ck_assert_int_eq(evfut_runtime_block_on(rt, &p.base), 0);
	return p.got;
}

static enum evfut_poll
poll_child_once(struct evfut_future *child)
{
	return poll_child_once_on(harness_rt, child);
}

/* A TCP listener on 127.0.0.1, any port; returns the port. */
static uint16_t
listen_local(struct evfut_io *listener)
{
	int port;

	ck_assert_int_eq(
	        evfut_tcp_listen(listener, harness_rt, "127.0.0.1", 0, 16, 0),
	        0);
	port = evfut_io_local_port(listener);
	ck_assert_int_gt(port, 0);
	return (uint16_t)port;
}

/* A port on @family's loopback that refuses: bound, not listening (the
 * descriptor keeps it reserved until the caller closes it). */
static int
refusing_port(int family, uint16_t *port)
{
	struct sockaddr_storage ss = {0};
	socklen_t len = sizeof(ss);
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr =
		        htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss,
	                      family == AF_INET ? sizeof(struct sockaddr_in)
	                                        : sizeof(struct sockaddr_in6)),
	                 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*port = ntohs(family == AF_INET
	                      ? ((struct sockaddr_in *)&ss)->sin_port
	                      : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

/* One element of a hand-built address list. */
struct addr_node {
	struct addrinfo ai;
	struct sockaddr_storage ss;
};

static void
addr_node_set(struct addr_node *n, const char *ip, uint16_t port,
              struct addr_node *next)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)&n->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&n->ss;

	memset(n, 0, sizeof(*n));
	n->ai.ai_socktype = SOCK_STREAM;
	n->ai.ai_addr = (struct sockaddr *)&n->ss;
	n->ai.ai_next = next != NULL ? &next->ai : NULL;
	if (inet_pton(AF_INET, ip, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		n->ai.ai_family = AF_INET;
		n->ai.ai_addrlen = sizeof(*in4);
		return;
	}
	ck_assert_int_eq(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	n->ai.ai_family = AF_INET6;
	n->ai.ai_addrlen = sizeof(*in6);
}

/* Accepts one connection on @listener; returns its peer's IPv4 address. */
static uint32_t
accept_peer(struct evfut_io *listener)
{
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);
	struct evfut_io_op op;

	evfut_accept_init(&op, listener, (struct sockaddr *)&peer, &len);
	await_or_fail(&op.base, GUARD_S);
	ck_assert_int_ge(op.result, 0);
	close((int)op.result);
	ck_assert_int_eq(peer.sin_family, AF_INET);
	return ntohl(peer.sin_addr.s_addr);
}

static void
lookup(struct evfut_lookup_host *op, const char *host, const char *service,
       const struct addrinfo *hints)
{
	ck_assert_int_eq(evfut_lookup_host_init(op, host, service, hints), 0);
	await(&op->base); /* not dropped: the list is read after */
}

static uint16_t
port_of(const struct addrinfo *ai)
{
	if (ai->ai_family == AF_INET)
		return ntohs(((struct sockaddr_in *)ai->ai_addr)->sin_port);
	return ntohs(((struct sockaddr_in6 *)ai->ai_addr)->sin6_port);
}

/*
 * The teardown restores the allocator: the runtime's pool threads, which
 * may still be releasing a finished job, are stopped first.
 */
static void
connect_teardown(void)
{
	harness_runtime_replace(NULL);
	harness_teardown();
}

/* --- lookup --------------------------------------------------------- */

START_TEST(test_connect_lookup_numeric_needs_no_pool_thread)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
	struct evfut_lookup_host op;
	struct evfut_pool *pool;

	/* The runtime's pool: a numeric address starts no thread of it. */
	ck_assert_int_eq(evfut_pool_create(&pool, 1), 0);
	ck_assert_int_eq(evfut_runtime_set_blocking_pool(harness_rt, pool), 0);
	lookup(&op, "127.0.0.1", "8080", &hints);
	ck_assert_int_eq(op.result, 0);
	ck_assert_ptr_nonnull(op.addrs);
	ck_assert_int_eq(op.addrs->ai_family, AF_INET);
	ck_assert_uint_eq(port_of(op.addrs), 8080);
	evfut_future_drop(&op.base);
	ck_assert_ptr_null(op.addrs);
	lookup(&op, "::1", "80", &hints);
	ck_assert_int_eq(op.result, 0);
	ck_assert_int_eq(op.addrs->ai_family, AF_INET6);
	evfut_future_drop(&op.base);
	ck_assert_uint_eq(evfut_pool_threads(pool), 0);
	harness_runtime_replace(NULL); /* before the pool it borrows */
	evfut_pool_destroy(pool);
}
END_TEST

START_TEST(test_connect_lookup_numeric_works_without_runtime)
{
	struct evfut_lookup_host op;

	ck_assert_int_eq(evfut_lookup_host_init(&op, "127.0.0.1", "1", NULL),
	                 0);
	ck_assert_int_eq(evfut_block_on(&op.base), 0);
	ck_assert_int_eq(op.result, 0);
	evfut_future_drop(&op.base);
	/* A name needs a runtime's pool: refused, not crashed. */
	ck_assert_int_eq(evfut_lookup_host_init(&op, "localhost", "1", NULL),
	                 0);
	ck_assert_int_eq(evfut_block_on(&op.base), 0);
	ck_assert_int_eq(op.result, -EINVAL);
	evfut_future_drop(&op.base);
}
END_TEST

START_TEST(test_connect_lookup_localhost_on_the_pool)
{
	struct addrinfo hints = {.ai_family = AF_INET,
	                         .ai_socktype = SOCK_STREAM};
	struct evfut_lookup_host op;
	struct evfut_pool *pool;

	lookup(&op, "localhost", "4242", &hints);
	ck_assert_int_eq(op.result, 0);
	ck_assert_int_eq(op.addrs->ai_family, AF_INET);
	ck_assert_uint_eq(ntohl(((struct sockaddr_in *)op.addrs->ai_addr)
	                                ->sin_addr.s_addr),
	                  INADDR_LOOPBACK);
	ck_assert_uint_eq(port_of(op.addrs), 4242);
	evfut_future_drop(&op.base);
	ck_assert_int_eq(evfut_runtime_blocking_pool(harness_rt, &pool), 0);
	ck_assert_uint_eq(evfut_pool_threads(pool), 1);
	/* A service name is looked up too. */
	lookup(&op, "127.0.0.1", "http", &hints);
	ck_assert_int_eq(op.result, 0);
	ck_assert_uint_eq(port_of(op.addrs), 80);
	evfut_future_drop(&op.base);
}
END_TEST

START_TEST(test_connect_lookup_errors_are_errnos)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
	struct evfut_lookup_host op;

	lookup(&op, "nonexistent.invalid", "80", &hints);
	ck_assert_msg(op.result == -ENOENT || op.result == -EAGAIN, "%d",
	              op.result);
	ck_assert_ptr_null(op.addrs);
	evfut_future_drop(&op.base);
	lookup(&op, "127.0.0.1", "no-such-service", &hints);
	ck_assert_int_eq(op.result, -ENOENT);
	evfut_future_drop(&op.base);
	hints.ai_socktype = 12345;
	lookup(&op, "127.0.0.1", "80", &hints);
	ck_assert_int_eq(op.result, -ESOCKTNOSUPPORT);
	evfut_future_drop(&op.base);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = 12345;
	lookup(&op, "127.0.0.1", "80", &hints);
	ck_assert_int_eq(op.result, -EAFNOSUPPORT);
	evfut_future_drop(&op.base);
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = 0x10000;
	lookup(&op, "localhost", "80", &hints);
	ck_assert_int_eq(op.result, -EINVAL);
	evfut_future_drop(&op.base);
}
END_TEST

START_TEST(test_connect_lookup_error_table)
{
	ck_assert_int_eq(evfut__gai_errno(0, 0), 0);
	ck_assert_int_eq(evfut__gai_errno(EAI_NONAME, 0), -ENOENT);
	ck_assert_int_eq(evfut__gai_errno(EAI_SERVICE, 0), -ENOENT);
#ifdef EAI_NODATA
	ck_assert_int_eq(evfut__gai_errno(EAI_NODATA, 0), -ENOENT);
#endif
#ifdef EAI_ADDRFAMILY
	ck_assert_int_eq(evfut__gai_errno(EAI_ADDRFAMILY, 0), -ENOENT);
#endif
	ck_assert_int_eq(evfut__gai_errno(EAI_AGAIN, 0), -EAGAIN);
	ck_assert_int_eq(evfut__gai_errno(EAI_FAIL, 0), -EIO);
	ck_assert_int_eq(evfut__gai_errno(EAI_MEMORY, 0), -ENOMEM);
	ck_assert_int_eq(evfut__gai_errno(EAI_FAMILY, 0), -EAFNOSUPPORT);
	ck_assert_int_eq(evfut__gai_errno(EAI_SOCKTYPE, 0), -ESOCKTNOSUPPORT);
	ck_assert_int_eq(evfut__gai_errno(EAI_BADFLAGS, 0), -EINVAL);
	ck_assert_int_eq(evfut__gai_errno(EAI_OVERFLOW, 0), -EOVERFLOW);
	ck_assert_int_eq(evfut__gai_errno(EAI_SYSTEM, EMFILE), -EMFILE);
	ck_assert_int_eq(evfut__gai_errno(EAI_SYSTEM, 0), -EIO);
	ck_assert_int_eq(evfut__gai_errno(-12345, 0), -EIO);
}
END_TEST

START_TEST(test_connect_lookup_init_errors)
{
	struct evfut_lookup_host op;

	ck_assert_int_eq(evfut_lookup_host_init(NULL, "a", "1", NULL), -EINVAL);
	ck_assert_int_eq(evfut_lookup_host_init(&op, NULL, NULL, NULL),
	                 -EINVAL);
	evfut_future_drop(&op.base); /* harmless after a failed init */
	harness_alloc_fail_at(1);
	ck_assert_int_eq(evfut_lookup_host_init(&op, "localhost", "1", NULL),
	                 -ENOMEM);
	evfut_future_drop(&op.base);
	ck_assert_int_eq(harness_alloc_live(), 0);
}
END_TEST

/* A blocking job that waits until its pipe is written. */
static intptr_t
wait_for_pipe(void *arg)
{
	char c;

	return read(*(int *)arg, &c, 1);
}

/*
 * Dropped before its first poll, while queued behind a job that holds the
 * pool's only thread, and (many times, wherever the pool thread is) right
 * after it was handed over: once the pool is gone, every record the
 * lookups allocated is freed.
 */
START_TEST(test_connect_lookup_drop_at_every_point_frees_everything)
{
	struct evfut_lookup_host op;
	struct evfut_blocking blocker;
	struct evfut_runtime *rt;
	struct evfut_pool *pool;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	/* Everything below is allocated after the count starts. */
	harness_alloc_fail_at(0);
	ck_assert_int_eq(evfut_runtime_create(&rt, NULL), 0);
	ck_assert_int_eq(evfut_pool_create(&pool, 1), 0);
	ck_assert_int_eq(evfut_runtime_set_blocking_pool(rt, pool), 0);
	/* Never polled. */
	ck_assert_int_eq(evfut_lookup_host_init(&op, "localhost", "1", NULL),
	                 0);
	evfut_future_drop(&op.base);
	/* Queued behind the blocker, which holds the only thread. */
	ck_assert_int_eq(
	        evfut_blocking_init(&blocker, pool, wait_for_pipe, &p[0]), 0);
	ck_assert_int_eq(poll_child_once_on(rt, &blocker.base), EVFUT_PENDING);
	ck_assert_int_eq(evfut_lookup_host_init(&op, "localhost", "1", NULL),
	                 0);
	ck_assert_int_eq(poll_child_once_on(rt, &op.base), EVFUT_PENDING);
	evfut_future_drop(&op.base);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	ck_assert_int_eq(evfut_runtime_block_on(rt, &blocker.base), 0);
	ck_assert_int_eq(blocker.value, 1);
	/* Queued, running or finished: wherever the thread is. */
	for (int i = 0; i < 50; i++) {
		ck_assert_int_eq(
		        evfut_lookup_host_init(&op, "localhost", "1", NULL), 0);
		ck_assert_int_eq(poll_child_once_on(rt, &op.base),
		                 EVFUT_PENDING);
		evfut_future_drop(&op.base);
	}
	evfut_runtime_destroy(rt); /* before the pool it borrows */
	evfut_pool_destroy(pool);  /* waits for the last getaddrinfo */
	close(p[0]);
	close(p[1]);
	ck_assert_int_eq(harness_alloc_live(), 0);
}
END_TEST

/* --- connect -------------------------------------------------------- */

START_TEST(test_connect_host_numeric)
{
	struct evfut_io listener, io;
	struct evfut_connect_host op;
	char port[8];

	snprintf(port, sizeof(port), "%u", listen_local(&listener));
	ck_assert_int_eq(evfut_connect_host_init(&op, &io, "127.0.0.1", port,
	                                         SOCK_STREAM),
	                 0);
	await_or_fail(&op.base, GUARD_S);
	ck_assert_int_eq(op.result, 0);
	ck_assert_uint_eq(op.attempts, 1);
	ck_assert_uint_eq(accept_peer(&listener), INADDR_LOOPBACK);
	ck_assert_int_ge(evfut_io_fd(&io), 0);
	ck_assert_int_eq(evfut_io_close(&io), 0);
	evfut_io_close(&listener);
}
END_TEST

START_TEST(test_connect_host_localhost_by_name)
{
	struct evfut_io listener, io;
	struct evfut_connect_host op;
	char port[8];
	const char msg[] = "hello";
	struct evfut_io_op wr;

	snprintf(port, sizeof(port), "%u", listen_local(&listener));
	ck_assert_int_eq(evfut_connect_host_init(&op, &io, "localhost", port,
	                                         SOCK_STREAM),
	                 0);
	await_or_fail(&op.base, GUARD_S);
	ck_assert_int_eq(op.result, 0);
	ck_assert_uint_ge(op.attempts, 1);
	ck_assert_uint_eq(accept_peer(&listener), INADDR_LOOPBACK);
	/* The registration is an ordinary one: I/O works on it. */
	evfut_write_all_init(&wr, &io, msg, sizeof(msg));
	await_or_fail(&wr.base, GUARD_S);
	ck_assert_int_eq(wr.result, sizeof(msg));
	evfut_io_close(&io);
	evfut_io_close(&listener);
}
END_TEST

/* The first address refuses (::1, where nothing listens on the port; or
 * no IPv6 at all), the second accepts (127.0.0.1). */
START_TEST(test_connect_addrs_first_refused_second_accepts)
{
	struct evfut_io listener, io;
	struct evfut_connect_host op;
	struct addr_node v6, v4;
	uint16_t port = listen_local(&listener);

	addr_node_set(&v4, "127.0.0.1", port, NULL);
	addr_node_set(&v6, "::1", port, &v4);
	ck_assert_int_eq(evfut_connect_addrs_init(&op, &io, &v6.ai), 0);
	await_or_fail(&op.base, GUARD_S);
	ck_assert_int_eq(op.result, 0);
	ck_assert_uint_eq(op.attempts, 2);
	ck_assert_uint_eq(accept_peer(&listener), INADDR_LOOPBACK);
	evfut_io_close(&io);
	evfut_io_close(&listener);
}
END_TEST

START_TEST(test_connect_addrs_refused_everywhere_gives_last_error)
{
	struct evfut_io io;
	struct evfut_connect_host op;
	struct addr_node a, b;
	uint16_t pa, pb;
	int fa = refusing_port(AF_INET, &pa);
	int fb = refusing_port(AF_INET, &pb);
	int fds = harness_count_fds();

	addr_node_set(&b, "127.0.0.1", pb, NULL);
	addr_node_set(&a, "127.0.0.1", pa, &b);
	ck_assert_int_eq(evfut_connect_addrs_init(&op, &io, &a.ai), 0);
	await_or_fail(&op.base, GUARD_S);
	ck_assert_int_eq(op.result, -ECONNREFUSED);
	ck_assert_uint_eq(op.attempts, 2);
	ck_assert_int_eq(evfut_io_fd(&io), -1);
	ck_assert_int_eq(harness_count_fds(), fds); /* each attempt closed */
	close(fa);
	close(fb);
}
END_TEST

START_TEST(test_connect_host_name_that_does_not_exist)
{
	struct evfut_io io;
	struct evfut_connect_host op;

	ck_assert_int_eq(evfut_connect_host_init(&op, &io,
	                                         "nonexistent.invalid", "80",
	                                         SOCK_STREAM),
	                 0);
	await_or_fail(&op.base, GUARD_S);
	ck_assert_msg(op.result == -ENOENT || op.result == -EAGAIN, "%d",
	              op.result);
	ck_assert_uint_eq(op.attempts, 0);
}
END_TEST

START_TEST(test_connect_host_udp_fixes_the_peer)
{
	struct evfut_io server, io;
	struct evfut_connect_host op;
	struct evfut_io_op wr, rd;
	char port[8], buf[8];

	ck_assert_int_eq(evfut_udp_bind(&server, harness_rt, "127.0.0.1", 0),
	                 0);
	snprintf(port, sizeof(port), "%d", evfut_io_local_port(&server));
	ck_assert_int_eq(evfut_connect_host_init(&op, &io, "127.0.0.1", port,
	                                         SOCK_DGRAM),
	                 0);
	await_or_fail(&op.base, GUARD_S);
	ck_assert_int_eq(op.result, 0);
	evfut_write_all_init(&wr, &io, "ping", 4);
	await_or_fail(&wr.base, GUARD_S);
	evfut_recv_from_init(&rd, &server, buf, sizeof(buf), NULL, NULL);
	await_or_fail(&rd.base, GUARD_S);
	ck_assert_int_eq(rd.result, 4);
	evfut_io_close(&io);
	evfut_io_close(&server);
}
END_TEST

START_TEST(test_connect_host_drop_while_resolving)
{
	struct evfut_io io;
	struct evfut_connect_host op;

	/* A getaddrinfo in flight may hold a descriptor of its own: the
	 * teardown counts them once the runtime's pool has stopped. */
	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(evfut_connect_host_init(&op, &io, "localhost",
		                                         "1", SOCK_STREAM),
		                 0);
		ck_assert_int_eq(poll_child_once(&op.base), EVFUT_PENDING);
		ck_assert_uint_eq(op.attempts, 0);
		evfut_future_drop(&op.base);
	}
}
END_TEST

START_TEST(test_connect_host_drop_while_connecting_closes_the_socket)
{
	struct evfut_io listener, io;
	struct evfut_connect_host op;
	char port[8];
	int fds;

	snprintf(port, sizeof(port), "%u", listen_local(&listener));
	ck_assert_int_eq(evfut_connect_host_init(&op, &io, "127.0.0.1", port,
	                                         SOCK_STREAM),
	                 0);
	fds = harness_count_fds();
	/* A fresh registration is never ready at its first poll. */
	ck_assert_int_eq(poll_child_once(&op.base), EVFUT_PENDING);
	ck_assert_uint_eq(op.attempts, 1);
	ck_assert_int_eq(harness_count_fds(), fds + 1);
	evfut_future_drop(&op.base);
	ck_assert_int_eq(harness_count_fds(), fds);
	ck_assert_int_eq(evfut_io_fd(&io), -1);
	evfut_io_close(&listener);
}
END_TEST

START_TEST(test_connect_host_bad_arguments)
{
	struct evfut_io io;
	struct evfut_connect_host op;
	struct addr_node a;

	ck_assert_int_eq(
	        evfut_connect_host_init(NULL, &io, "h", "1", SOCK_STREAM),
	        -EINVAL);
	ck_assert_int_eq(
	        evfut_connect_host_init(&op, NULL, "h", "1", SOCK_STREAM),
	        -EINVAL);
	ck_assert_int_eq(
	        evfut_connect_host_init(&op, &io, NULL, "1", SOCK_STREAM),
	        -EINVAL);
	ck_assert_int_eq(
	        evfut_connect_host_init(&op, &io, "h", NULL, SOCK_STREAM),
	        -EINVAL);
	ck_assert_int_eq(evfut_connect_host_init(&op, &io, "h", "1", SOCK_RAW),
	                 -EINVAL);
	evfut_future_drop(&op.base); /* harmless after a failed init */
	ck_assert_int_eq(evfut_connect_addrs_init(&op, &io, NULL), -EINVAL);
	ck_assert_int_eq(evfut_connect_addrs_init(NULL, &io, &a.ai), -EINVAL);
	harness_alloc_fail_at(1);
	ck_assert_int_eq(
	        evfut_connect_host_init(&op, &io, "h", "1", SOCK_STREAM),
	        -ENOMEM);
	evfut_future_drop(&op.base);
	harness_alloc_restore();
	/* Outside a runtime there is nothing to register with. */
	addr_node_set(&a, "127.0.0.1", 1, NULL);
	ck_assert_int_eq(evfut_connect_addrs_init(&op, &io, &a.ai), 0);
	ck_assert_int_eq(evfut_block_on(&op.base), 0);
	ck_assert_int_eq(op.result, -EINVAL);
	ck_assert_uint_eq(op.attempts, 0);
}
END_TEST

/* --- adopting configured sockets ------------------------------------ */

static int
tcp_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	return fd;
}

static struct sockaddr_in
loopback(const char *ip, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};

	ck_assert_int_eq(inet_pton(AF_INET, ip, &a.sin_addr), 1);
	return a;
}

static void
await_connect(struct evfut_io *io)
{
	struct evfut_io_op op;

	evfut_connect_init(&op, io);
	await_or_fail(&op.base, GUARD_S);
	ck_assert_int_eq(op.result, 0);
}

START_TEST(test_connect_adopt_keeps_options_and_source_address)
{
	struct evfut_io listener, io;
	struct sockaddr_in src = loopback("127.0.0.2", 0);
	struct sockaddr_in to = loopback("127.0.0.1", listen_local(&listener));
	int fd = tcp_socket(), size = 16384, got, got_after;
	socklen_t len = sizeof(got);

	ck_assert_int_eq(
	        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)), 0);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
	ck_assert_int_eq(evfut_io_connect_start(&io, harness_rt, fd,
	                                        (struct sockaddr *)&to,
	                                        sizeof(to)),
	                 0);
	ck_assert_int_ne(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	await_connect(&io);
	/* The listener sees the source address the caller bound. */
	ck_assert_uint_eq(accept_peer(&listener), 0x7f000002u);
	len = sizeof(got_after);
	ck_assert_int_eq(
	        getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got_after, &len), 0);
	ck_assert_int_eq(got_after, got);
	ck_assert_int_eq(evfut_io_close(&io), 0); /* closes fd */
	evfut_io_close(&listener);
}
END_TEST

START_TEST(test_connect_adopt_two_reuseport_listeners_on_one_port)
{
	struct evfut_io a, b, io;
	struct sockaddr_in addr = loopback("127.0.0.1", 0);
	socklen_t len = sizeof(addr);
	int fa = tcp_socket(), fb = tcp_socket(), on = 1;

	ck_assert_int_eq(
	        setsockopt(fa, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)), 0);
	ck_assert_int_eq(
	        setsockopt(fb, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)), 0);
	ck_assert_int_eq(bind(fa, (struct sockaddr *)&addr, sizeof(addr)), 0);
	ck_assert_int_eq(getsockname(fa, (struct sockaddr *)&addr, &len), 0);
	ck_assert_int_eq(bind(fb, (struct sockaddr *)&addr, sizeof(addr)), 0);
	ck_assert_int_eq(evfut_io_listen(&a, harness_rt, fa, 8), 0);
	ck_assert_int_eq(evfut_io_listen(&b, harness_rt, fb, 8), 0);
	ck_assert_int_eq(evfut_io_local_port(&a), evfut_io_local_port(&b));
	ck_assert_int_eq(evfut_tcp_connect_start(&io, harness_rt, "127.0.0.1",
	                                         ntohs(addr.sin_port)),
	                 0);
	await_connect(&io);
	evfut_io_close(&io);
	/* A listening socket is adopted as it is, the backlog reset. */
	ck_assert_int_eq(evfut_io_close(&b), 0);
	fb = tcp_socket();
	ck_assert_int_eq(
	        setsockopt(fb, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)), 0);
	ck_assert_int_eq(bind(fb, (struct sockaddr *)&addr, sizeof(addr)), 0);
	ck_assert_int_eq(listen(fb, 1), 0);
	ck_assert_int_eq(evfut_io_listen(&b, harness_rt, fb, 8), 0);
	evfut_io_close(&a);
	evfut_io_close(&b);
}
END_TEST

/* On failure the descriptor is the caller's, open, its flags as before. */
static void
assert_untouched(int fd, int flags)
{
	ck_assert_int_eq(fcntl(fd, F_GETFL), flags);
}

START_TEST(test_connect_adopt_errors_leave_the_descriptor)
{
	struct evfut_io io;
	struct sockaddr_in to = loopback("127.0.0.1", 1);
	struct sockaddr_un path = {.sun_family = AF_UNIX,
	                           .sun_path = "/nonexistent/evfut.sock"};
	const struct sockaddr *sa = (struct sockaddr *)&to;
	int p[2], fd = tcp_socket(), flags = fcntl(fd, F_GETFL), ux, ud;
	int pipe_flags;

	ck_assert_int_eq(pipe(p), 0);
	pipe_flags = fcntl(p[0], F_GETFL);
	ck_assert_int_eq(
	        evfut_io_connect_start(&io, harness_rt, p[0], sa, sizeof(to)),
	        -ENOTSOCK);
	ck_assert_int_eq(evfut_io_listen(&io, harness_rt, p[0], 1), -ENOTSOCK);
	assert_untouched(p[0], pipe_flags);
	ck_assert_int_eq(
	        evfut_io_connect_start(&io, harness_rt, -1, sa, sizeof(to)),
	        -EBADF);
	ck_assert_int_eq(evfut_io_listen(&io, harness_rt, 9999, 1), -EBADF);
	ck_assert_int_eq(
	        evfut_io_connect_start(NULL, harness_rt, fd, sa, sizeof(to)),
	        -EINVAL);
	ck_assert_int_eq(evfut_io_connect_start(&io, NULL, fd, sa, sizeof(to)),
	                 -EINVAL);
	ck_assert_int_eq(evfut_io_connect_start(&io, harness_rt, fd, NULL, 1),
	                 -EINVAL);
	ck_assert_int_eq(evfut_io_connect_start(&io, harness_rt, fd, sa, 0),
	                 -EINVAL);
	ck_assert_int_eq(evfut_io_listen(&io, harness_rt, fd, -1), -EINVAL);
	assert_untouched(fd, flags);
	/* A listening socket cannot connect. */
	ck_assert_int_eq(listen(fd, 1), 0);
	ck_assert_int_eq(
	        evfut_io_connect_start(&io, harness_rt, fd, sa, sizeof(to)),
	        -EINVAL);
	assert_untouched(fd, flags);
	/* An error connect(2) knows at once: undone, flags restored. */
	ux = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	flags = fcntl(ux, F_GETFL);
	ck_assert_int_eq(evfut_io_connect_start(&io, harness_rt, ux,
	                                        (struct sockaddr *)&path,
	                                        sizeof(path)),
	                 -ENOENT);
	assert_untouched(ux, flags);
	ck_assert_int_eq(evfut_io_fd(&io), -1);
	/* listen(2) refuses a datagram socket: undone too. */
	ud = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	flags = fcntl(ud, F_GETFL);
	ck_assert_int_eq(evfut_io_listen(&io, harness_rt, ud, 1), -EOPNOTSUPP);
	assert_untouched(ud, flags);
	close(ud);
	close(ux);
	close(fd);
	close(p[0]);
	close(p[1]);
}
END_TEST

static Suite *
connect_suite(void)
{
	Suite *s = suite_create("reactor-connect");
	TCase *tc = tcase_create("lookup");

	tcase_add_checked_fixture(tc, harness_setup, connect_teardown);
	tcase_add_test(tc, test_connect_lookup_numeric_needs_no_pool_thread);
	tcase_add_test(tc, test_connect_lookup_numeric_works_without_runtime);
	tcase_add_test(tc, test_connect_lookup_localhost_on_the_pool);
	tcase_add_test(tc, test_connect_lookup_errors_are_errnos);
	tcase_add_test(tc, test_connect_lookup_error_table);
	tcase_add_test(tc, test_connect_lookup_init_errors);
	tcase_add_test(
	        tc, test_connect_lookup_drop_at_every_point_frees_everything);
	suite_add_tcase(s, tc);
	tc = tcase_create("connect");
	tcase_add_checked_fixture(tc, harness_setup, connect_teardown);
	tcase_add_test(tc, test_connect_host_numeric);
	tcase_add_test(tc, test_connect_host_localhost_by_name);
	tcase_add_test(tc, test_connect_addrs_first_refused_second_accepts);
	tcase_add_test(tc,
	               test_connect_addrs_refused_everywhere_gives_last_error);
	tcase_add_test(tc, test_connect_host_name_that_does_not_exist);
	tcase_add_test(tc, test_connect_host_udp_fixes_the_peer);
	tcase_add_test(tc, test_connect_host_drop_while_resolving);
	tcase_add_test(
	        tc, test_connect_host_drop_while_connecting_closes_the_socket);
	tcase_add_test(tc, test_connect_host_bad_arguments);
	suite_add_tcase(s, tc);
	tc = tcase_create("adopt");
	tcase_add_checked_fixture(tc, harness_setup, connect_teardown);
	tcase_add_test(tc, test_connect_adopt_keeps_options_and_source_address);
	tcase_add_test(tc,
	               test_connect_adopt_two_reuseport_listeners_on_one_port);
	tcase_add_test(tc, test_connect_adopt_errors_leave_the_descriptor);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	/* A ".invalid" name goes to the name server (RFC 6761 lets it answer
	 * at once): NXDOMAIN is -ENOENT, and an unreachable server must give
	 * -EAGAIN well within the guard rather than after glibc's default
	 * 5 s a try, twice. */
	setenv("RES_OPTIONS", "timeout:1 attempts:1", 1);
	return harness_main(connect_suite());
}
