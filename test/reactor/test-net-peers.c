/*
 * Suite "reactor": deadlines, connecting by name and Unix listeners as a
 * user of tokio (timeout, TcpStream::connect, lookup_host, UnixListener)
 * and of libuv would test them.
 *
 * Deadlines: one set before any operation, moved earlier while an
 * operation waits, then later again; one in the past before any
 * operation; 10,000 registrations whose deadline moves later at every
 * operation (the timer store never grows); a registration closed from
 * inside its own deadline's wake; deregistered and registered again with
 * a new deadline; the real clock (never before). Connecting: the runtime
 * destroyed with a connect_host pending in each phase (queued on the pool,
 * resolving, connecting after resolution); "localhost" where one family
 * listens; a lookup dropped while the pool runs it and the runtime
 * destroyed at once; a pool given after the runtime made its own. Unix:
 * close twice, unopened, after another process took the path; abstract
 * names; peer credentials of what is not a Unix socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reactor-util.h"
#include "runtime.h"
#include "store.h"

/* A guard against a lost wakeup, not a timing assertion. */
#define GUARD_S 10

static void
virtual_setup(void)
{
	struct evfut_runtime_options opts = {.clock = EVFUT_CLOCK_VIRTUAL};

	harness_setup();
	harness_runtime_replace(&opts);
}

/* The runtime's pool threads stop before the teardown counts. */
static void
pool_teardown(void)
{
	harness_runtime_replace(NULL);
	harness_teardown();
}

static evfut_nsec
now(void)
{
	return evfut_runtime_now(harness_rt);
}

static uint64_t
fired(void)
{
	return harness_stats(harness_rt).timers_fired;
}

/* White-box: timers in harness_rt's store. */
static size_t
stored(void)
{
	return harness_rt->timers.store.impl.count;
}

static enum evfut_poll
poll_with(struct evfut_future *f, const struct evfut_waker *waker)
{
	struct evfut_context cx = counter_context(waker);

	return evfut_future_poll(f, &cx);
}

/* --- deadlines -------------------------------------------------------- */

/* Set before any operation (the timer is armed then), moved earlier while
 * a read waits (re-armed earlier), then later (a field write): the early
 * timer fires without waking the read, re-arms once, and the read fails
 * at the last deadline, never before. */
START_TEST(test_net_peers_deadline_before_op_then_earlier_then_later)
{
	struct harness_counter c;
	struct evfut_waker w;
	struct evfut_io io;
	struct evfut_io_op op;
	evfut_nsec t0 = now();
	uint64_t f0 = fired();
	char buf[8];
	int fds[2];

	harness_counter_init(&c);
	w = harness_counter_waker(&c);
	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	ck_assert_int_eq(evfut_io_set_deadline(&io, t0 + 10 * EVFUT_SEC), 0);
	ck_assert_uint_eq(io.timer_at, t0 + 10 * EVFUT_SEC);
	evfut_read_init(&op, &io, buf, sizeof buf);
	ck_assert_int_eq(poll_with(&op.base, &w), EVFUT_PENDING);
	ck_assert_int_eq(evfut_io_set_deadline(&io, t0 + 5 * EVFUT_SEC), 0);
	ck_assert_uint_eq(io.timer_at, t0 + 5 * EVFUT_SEC);
	ck_assert_uint_eq(stored(), 1);
	ck_assert_int_eq(evfut_io_set_deadline(&io, t0 + 20 * EVFUT_SEC), 0);
	ck_assert_uint_eq(io.timer_at, t0 + 5 * EVFUT_SEC);
	ck_assert_int_eq(evfut_runtime_advance(harness_rt, 5 * EVFUT_SEC), 0);
	ck_assert_uint_eq(fired(), f0 + 1);
	ck_assert_int_eq(atomic_load(&c.wakes), 0);
	ck_assert_uint_eq(io.timer_at, t0 + 20 * EVFUT_SEC);
	ck_assert_int_eq(evfut_runtime_advance(harness_rt, 15 * EVFUT_SEC - 1),
	                 0);
	ck_assert_int_eq(atomic_load(&c.wakes), 0);
	ck_assert_int_eq(poll_with(&op.base, &w), EVFUT_PENDING);
	ck_assert_int_eq(evfut_runtime_advance(harness_rt, 1), 0);
	ck_assert_int_eq(atomic_load(&c.wakes), 1);
	ck_assert_int_eq(poll_with(&op.base, &w), EVFUT_READY);
	ck_assert_int_eq(op.result, -ETIMEDOUT);
	ck_assert_uint_ge(now(), t0 + 20 * EVFUT_SEC);
	ck_assert_uint_eq(fired(), f0 + 2);
	ck_assert_uint_eq(stored(), 0);
	evfut_future_drop(&op.base);
	evfut_io_deregister(&io);
	close(fds[0]);
	close(fds[1]);
	evfut_waker_drop(&w);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

/* A deadline in the past, set before any operation: nothing is armed, the
 * read fails at once with the bytes left in the socket, and lifting the
 * deadline lets the next read take them. */
START_TEST(test_net_peers_deadline_in_the_past_before_any_op)
{
	struct evfut_io io;
	struct evfut_io_op op;
	char buf[8];
	int fds[2];

	make_socketpair(fds);
	ck_assert_int_eq(write(fds[1], "abc", 3), 3);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	ck_assert_int_eq(evfut_runtime_advance(harness_rt, EVFUT_SEC), 0);
	ck_assert_int_eq(evfut_io_set_deadline(&io, now() - 1), 0);
	ck_assert_uint_eq(stored(), 0);
	ck_assert_uint_eq(evfut_io_deadline(&io), now() - 1);
	evfut_read_init(&op, &io, buf, sizeof buf);
	await(&op.base);
	ck_assert_int_eq(op.result, -ETIMEDOUT);
	ck_assert_int_eq(recv(fds[0], buf, sizeof buf, MSG_PEEK), 3);
	ck_assert_int_eq(evfut_io_set_deadline(&io, 0), 0); /* far past */
	evfut_read_init(&op, &io, buf, sizeof buf);
	await(&op.base);
	ck_assert_int_eq(op.result, -ETIMEDOUT);
	ck_assert_int_eq(evfut_io_set_deadline(&io, EVFUT_NO_DEADLINE), 0);
	evfut_read_init(&op, &io, buf, sizeof buf);
	await(&op.base);
	ck_assert_int_eq(op.result, 3);
	evfut_io_deregister(&io);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

#define MANY   10000
#define ROUNDS 12

/* An idle timeout refreshed at every operation, on 10,000 registrations
 * (of one descriptor, so that select's FD_SETSIZE holds): the store holds
 * one timer per registration whatever the number of refreshes, each fires
 * about once per timeout and re-arms, and no operation ever times out. */
START_TEST(test_net_peers_many_refreshed_deadlines_keep_the_store_flat)
{
	struct evfut_waker noop = evfut_waker_noop();
	struct evfut_io *ios = calloc(MANY, sizeof(*ios));
	struct evfut_io_op *ops = calloc(MANY, sizeof(*ops));
	size_t base = stored();
	uint64_t f0 = fired();
	int fds[2];

	ck_assert_ptr_nonnull(ios);
	ck_assert_ptr_nonnull(ops);
	make_socketpair(fds);
	for (int i = 0; i < MANY; i++) {
		ck_assert_int_eq(evfut_io_register(&ios[i], harness_rt, fds[0]),
		                 0);
		ck_assert_int_eq(
		        evfut_io_set_deadline(&ios[i], now() + 10 * EVFUT_SEC),
		        0);
		evfut_writable_init(&ops[i], &ios[i]);
		ck_assert_int_eq(poll_with(&ops[i].base, &noop), EVFUT_PENDING);
	}
	ck_assert_uint_eq(stored(), base + MANY);
	loop_once(false); /* the first writability edge of each */
	for (int r = 0; r < ROUNDS; r++) {
		ck_assert_int_eq(evfut_runtime_advance(harness_rt, EVFUT_SEC),
		                 0);
		for (int i = 0; i < MANY; i++) {
			ck_assert_int_eq(poll_with(&ops[i].base, &noop),
			                 EVFUT_READY);
			ck_assert_int_eq(ops[i].result, 0);
			ck_assert_int_eq(
			        evfut_io_set_deadline(&ios[i],
			                              now() + 10 * EVFUT_SEC),
			        0);
			evfut_writable_init(&ops[i], &ios[i]);
		}
		ck_assert_uint_eq(stored(), base + MANY);
	}
	ck_assert_uint_le(fired() - f0, (uint64_t)MANY * (ROUNDS / 10 + 1));
	for (int i = 0; i < MANY; i++)
		evfut_io_deregister(&ios[i]);
	ck_assert_uint_eq(stored(), base);
	close(fds[0]);
	close(fds[1]);
	free(ios);
	free(ops);
}
END_TEST

/* A waker that closes the registration when woken, as a callback-style
 * wrapper would: on the deadline's wake, from inside the timer driver. */
struct closer {
	struct evfut_io *io;
	int wakes;
	int rc;
};

static struct evfut_waker closer_clone(const void *data);

static void
closer_wake(const void *data)
{
	struct closer *c = (struct closer *)(uintptr_t)data;

	c->wakes++;
	c->rc = evfut_io_close(c->io);
}

static void
closer_drop(const void *data)
{
	(void)data;
}

static const struct evfut_waker_vtable closer_vtable = {
        closer_clone, closer_wake, closer_wake, closer_drop};

static struct evfut_waker
closer_clone(const void *data)
{
	struct evfut_waker w = {data, &closer_vtable};

	return w;
}

/* Closed from inside its own deadline's wake, whether the closing waiter
 * is woken first or last: every other waiter is woken exactly once, they
 * all see -EBADF, the descriptor is closed, the timer left the store. */
START_TEST(test_net_peers_deadline_wake_closes_the_registration)
{
	for (int closer_first = 0; closer_first < 2; closer_first++) {
		struct harness_counter cb, cw;
		struct evfut_waker wb, ww;
		struct evfut_io io;
		struct closer cl = {&io, 0, 1};
		struct evfut_waker wa = closer_clone(&cl);
		struct evfut_io_op a, b;
		struct evfut_context cx;
		char buf[2][8];
		int fds[2];

		harness_counter_init(&cb);
		harness_counter_init(&cw);
		wb = harness_counter_waker(&cb);
		ww = harness_counter_waker(&cw);
		make_socketpair(fds);
		ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
		ck_assert_int_eq(
		        evfut_io_set_deadline(&io, now() + 5 * EVFUT_SEC), 0);
		evfut_read_init(&a, &io, buf[0], sizeof buf[0]);
		evfut_read_init(&b, &io, buf[1], sizeof buf[1]);
		/* The last queued is woken first. */
		if (closer_first) {
			ck_assert_int_eq(poll_with(&b.base, &wb),
			                 EVFUT_PENDING);
			ck_assert_int_eq(poll_with(&a.base, &wa),
			                 EVFUT_PENDING);
		} else {
			ck_assert_int_eq(poll_with(&a.base, &wa),
			                 EVFUT_PENDING);
			ck_assert_int_eq(poll_with(&b.base, &wb),
			                 EVFUT_PENDING);
		}
		cx = counter_context(&ww);
		ck_assert_int_eq(evfut_io_poll_ready(&io, EVFUT_WRITABLE, &cx),
		                 0);
		ck_assert_int_eq(
		        evfut_runtime_advance(harness_rt, 5 * EVFUT_SEC), 0);
		ck_assert_int_eq(cl.wakes, 1);
		ck_assert_int_eq(cl.rc, 0);
		ck_assert_int_eq(atomic_load(&cb.wakes), 1);
		ck_assert_int_eq(atomic_load(&cw.wakes), 1);
		ck_assert_int_eq(fcntl(fds[0], F_GETFD), -1);
		ck_assert_uint_eq(stored(), 0);
		ck_assert_int_eq(poll_with(&a.base, &wa), EVFUT_READY);
		ck_assert_int_eq(a.result, -EBADF);
		ck_assert_int_eq(poll_with(&b.base, &wb), EVFUT_READY);
		ck_assert_int_eq(b.result, -EBADF);
		evfut_future_drop(&a.base);
		evfut_future_drop(&b.base);
		ck_assert_int_eq(
		        evfut_runtime_advance(harness_rt, 3600 * EVFUT_SEC), 0);
		ck_assert_int_eq(cl.wakes, 1);
		evfut_waker_drop(&wb);
		evfut_waker_drop(&ww);
		ck_assert_int_eq(atomic_load(&cb.live), 0);
		ck_assert_int_eq(atomic_load(&cw.live), 0);
		close(fds[1]);
	}
}
END_TEST

/* Deregistered with a deadline armed, then registered again (the same
 * struct, the same descriptor) with a new one: the old timer never fires,
 * the new one fails the new read, never before. */
START_TEST(test_net_peers_deadline_after_deregister_and_register_again)
{
	struct harness_counter c;
	struct evfut_waker w;
	struct evfut_io io;
	struct evfut_io_op op;
	evfut_nsec t0 = now();
	uint64_t f0 = fired();
	char buf[8];
	int fds[2];

	harness_counter_init(&c);
	w = harness_counter_waker(&c);
	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	ck_assert_int_eq(evfut_io_set_deadline(&io, t0 + 5 * EVFUT_SEC), 0);
	evfut_read_init(&op, &io, buf, sizeof buf);
	ck_assert_int_eq(poll_with(&op.base, &w), EVFUT_PENDING);
	evfut_io_deregister(&io);
	ck_assert_int_eq(atomic_load(&c.wakes), 1);
	ck_assert_int_eq(poll_with(&op.base, &w), EVFUT_READY);
	ck_assert_int_eq(op.result, -EBADF);
	ck_assert_uint_eq(stored(), 0);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	ck_assert_uint_eq(evfut_io_deadline(&io), EVFUT_NO_DEADLINE);
	ck_assert_int_eq(evfut_io_set_deadline(&io, t0 + 8 * EVFUT_SEC), 0);
	evfut_read_init(&op, &io, buf, sizeof buf);
	ck_assert_int_eq(poll_with(&op.base, &w), EVFUT_PENDING);
	ck_assert_int_eq(evfut_runtime_advance(harness_rt, 8 * EVFUT_SEC - 1),
	                 0);
	ck_assert_uint_eq(fired(), f0); /* the old 5 s timer is gone */
	ck_assert_int_eq(atomic_load(&c.wakes), 1);
	ck_assert_int_eq(evfut_runtime_advance(harness_rt, 1), 0);
	ck_assert_uint_eq(fired(), f0 + 1);
	ck_assert_int_eq(atomic_load(&c.wakes), 2);
	ck_assert_int_eq(poll_with(&op.base, &w), EVFUT_READY);
	ck_assert_int_eq(op.result, -ETIMEDOUT);
	evfut_future_drop(&op.base);
	evfut_io_deregister(&io);
	close(fds[0]);
	close(fds[1]);
	evfut_waker_drop(&w);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

/* On the real clock, as tokio's timeout tests with a paused clock cannot:
 * a deadline moved later once the timer is armed (the timer fires early
 * and re-arms), then one moved earlier (re-armed earlier); each read
 * fails, never before its deadline. No upper bound is asserted. */
START_TEST(test_net_peers_deadline_real_clock_later_then_earlier)
{
	struct evfut_io io;
	struct evfut_io_op op;
	evfut_nsec deadline;
	char buf[8];
	int fds[2];

	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	ck_assert_int_eq(evfut_io_set_deadline(&io, now() + 10 * EVFUT_MSEC),
	                 0);
	deadline = now() + 30 * EVFUT_MSEC;
	ck_assert_int_eq(evfut_io_set_deadline(&io, deadline), 0);
	evfut_read_init(&op, &io, buf, sizeof buf);
	await_or_fail(&op.base, GUARD_S);
	ck_assert_int_eq(op.result, -ETIMEDOUT);
	ck_assert_uint_ge(now(), deadline);
	ck_assert_int_eq(evfut_io_set_deadline(&io, now() + 3600 * EVFUT_SEC),
	                 0);
	deadline = now() + 10 * EVFUT_MSEC;
	ck_assert_int_eq(evfut_io_set_deadline(&io, deadline), 0);
	evfut_read_init(&op, &io, buf, sizeof buf);
	await_or_fail(&op.base, GUARD_S);
	ck_assert_int_eq(op.result, -ETIMEDOUT);
	ck_assert_uint_ge(now(), deadline);
	evfut_io_deregister(&io);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

/* --- connecting ------------------------------------------------------- */

/* Polls a connect_host it does not own the memory of, and records what
 * it saw; its drop drops the operation (as a task's cancellation does). */
struct watch {
	struct evfut_future base;
	struct evfut_connect_host *op;
	unsigned attempts;
	struct evfut_waker *notify; /* woken when attempts changes */
};

static enum evfut_poll
watch_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct watch *w = evfut_container_of(self, struct watch, base);
	enum evfut_poll r = evfut_future_poll(&w->op->base, cx);

	if (w->op->attempts != w->attempts) {
		w->attempts = w->op->attempts;
		evfut_waker_wake(w->notify);
	}
	return r;
}

static void
watch_drop(struct evfut_future *self)
{
	struct watch *w = evfut_container_of(self, struct watch, base);

	evfut_future_drop(&w->op->base);
}

/* Completes once the operation made its first attempt. */
struct attempted {
	struct evfut_future base;
	const struct evfut_connect_host *op;
	struct evfut_waker *slot;
};

static enum evfut_poll
attempted_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct attempted *a = evfut_container_of(self, struct attempted, base);

	if (a->op->attempts > 0)
		return EVFUT_READY;
	evfut_waker_store(a->slot, cx->waker);
	return EVFUT_PENDING;
}

/* A TCP listener on 127.0.0.1, not registered; returns its port. */
static int
raw_listener(int family, uint16_t *port)
{
	struct sockaddr_storage ss = {0};
	socklen_t len = sizeof(ss);
	int one = 1;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		((struct sockaddr_in *)&ss)->sin_addr.s_addr =
		        htonl(INADDR_LOOPBACK);
		len = sizeof(struct sockaddr_in);
	} else {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
		len = sizeof(struct sockaddr_in6);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 16) < 0) {
		close(fd);
		return -1;
	}
	len = sizeof(ss);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*port = ntohs(family == AF_INET
	                      ? ((struct sockaddr_in *)&ss)->sin_port
	                      : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

/* A blocking job that holds its pool thread until a byte comes. */
static intptr_t
wait_for_pipe(void *arg)
{
	char c;

	return read(*(int *)arg, &c, 1);
}

/* The runtime destroyed while its task's connect_host is queued on a pool
 * whose only thread is busy: the drop hands the request to the pool,
 * which frees it when it gets there; nothing leaks. */
START_TEST(test_net_peers_destroy_with_connect_queued_on_the_pool)
{
	struct evfut_runtime *rt;
	struct evfut_pool *pool;
	struct evfut_blocking blocker;
	struct evfut_connect_host op;
	struct evfut_io io;
	struct evfut_yield y;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	harness_alloc_fail_at(0);
	ck_assert_int_eq(evfut_runtime_create(&rt, NULL), 0);
	ck_assert_int_eq(evfut_pool_create(&pool, 1), 0);
	ck_assert_int_eq(evfut_runtime_set_blocking_pool(rt, pool), 0);
	ck_assert_int_eq(
	        evfut_blocking_init(&blocker, pool, wait_for_pipe, &p[0]), 0);
	ck_assert_int_eq(evfut_task_spawn(rt, &blocker.base, sizeof blocker),
	                 0);
	ck_assert_int_eq(evfut_connect_host_init(&op, &io, "localhost", "1",
	                                         SOCK_STREAM),
	                 0);
	ck_assert_int_eq(evfut_task_spawn(rt, &op.base, sizeof op), 0);
	evfut_yield_init(&y);
	ck_assert_int_eq(evfut_runtime_block_on(rt, &y.base), 0);
	evfut_runtime_destroy(rt); /* both tasks cancelled */
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	evfut_pool_destroy(pool);
	ck_assert_int_eq(harness_alloc_live(), 0);
	harness_alloc_restore();
	close(p[0]);
	close(p[1]);
}
END_TEST

/* Destroyed right after its task started resolving on the runtime's own
 * pool: getaddrinfo queued, running or done; the pool is destroyed with
 * the runtime and nothing leaks. */
START_TEST(test_net_peers_destroy_with_connect_resolving)
{
	int fds = harness_count_fds();

	harness_alloc_fail_at(0);
	for (int i = 0; i < 30; i++) {
		struct evfut_runtime *rt;
		struct evfut_connect_host op;
		struct evfut_io io;
		struct evfut_yield y;

		ck_assert_int_eq(evfut_runtime_create(&rt, NULL), 0);
		ck_assert_int_eq(evfut_connect_host_init(&op, &io, "localhost",
		                                         "1", SOCK_STREAM),
		                 0);
		ck_assert_int_eq(evfut_task_spawn(rt, &op.base, sizeof op), 0);
		evfut_yield_init(&y);
		ck_assert_int_eq(evfut_runtime_block_on(rt, &y.base), 0);
		evfut_runtime_destroy(rt);
	}
	ck_assert_int_eq(harness_alloc_live(), 0);
	harness_alloc_restore();
	ck_assert_int_eq(harness_count_fds(), fds);
}
END_TEST

/* Destroyed once the name resolved and the first attempt's socket is
 * registered, before the connection completes: the drop closes it. */
START_TEST(test_net_peers_destroy_with_connect_connecting)
{
	uint16_t port;
	int lfd = raw_listener(AF_INET, &port);
	int fds = harness_count_fds();
	char service[8];

	ck_assert_int_ge(lfd, 0);
	snprintf(service, sizeof service, "%u", port);
	for (int i = 0; i < 10; i++) {
		struct evfut_runtime *rt;
		struct evfut_connect_host op;
		struct evfut_io io;
		struct evfut_waker slot = EVFUT_WAKER_EMPTY;
		struct watch w = {{watch_poll, watch_drop}, &op, 0, &slot};
		struct attempted a = {{attempted_poll, NULL}, &op, &slot};

		ck_assert_int_eq(evfut_runtime_create(&rt, NULL), 0);
		ck_assert_int_eq(evfut_connect_host_init(&op, &io,
		                                         i % 2 ? "127.0.0.1"
		                                               : "localhost",
		                                         service, SOCK_STREAM),
		                 0);
		/* The task's copy of the watch points at op and slot. */
		ck_assert_int_eq(evfut_task_spawn(rt, &w.base, sizeof w), 0);
		ck_assert_int_eq(evfut_runtime_block_on(rt, &a.base), 0);
		ck_assert_uint_ge(op.attempts, 1);
		ck_assert_int_ge(evfut_io_fd(&io), 0); /* still connecting */
		evfut_runtime_destroy(rt);
		ck_assert_int_eq(evfut_io_fd(&io), -1);
		ck_assert_int_eq(harness_count_fds(), fds);
		evfut_waker_drop(&slot);
	}
	close(lfd);
}
END_TEST

/* "localhost" with one family listening: connect_host reaches it if the
 * name resolves to that family (trying the others first, refused), and
 * fails with the last address's -ECONNREFUSED if it does not. */
START_TEST(test_net_peers_localhost_where_one_family_listens)
{
	static const int families[] = {AF_INET, AF_INET6};
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
	struct evfut_lookup_host lookup;
	int tested = 0;

	ck_assert_int_eq(
	        evfut_lookup_host_init(&lookup, "localhost", "1", &hints), 0);
	await(&lookup.base);
	ck_assert_int_eq(lookup.result, 0);
	for (size_t f = 0; f < 2; f++) {
		struct evfut_connect_host op;
		struct evfut_io io;
		unsigned total = 0;
		int resolved = 0, lfd, c;
		uint16_t port;
		char service[8];

		for (const struct addrinfo *a = lookup.addrs; a;
		     a = a->ai_next) {
			total++;
			resolved |= a->ai_family == families[f];
		}
		lfd = raw_listener(families[f], &port);
		if (lfd < 0)
			continue; /* no such family here */
		tested++;
		snprintf(service, sizeof service, "%u", port);
		ck_assert_int_eq(evfut_connect_host_init(&op, &io, "localhost",
		                                         service, SOCK_STREAM),
		                 0);
		await_or_fail(&op.base, GUARD_S);
		if (resolved) {
			ck_assert_int_eq(op.result, 0);
			c = accept(lfd, NULL, NULL);
			ck_assert_int_ge(c, 0);
			close(c);
			evfut_io_close(&io);
		} else {
			ck_assert_int_eq(op.result, -ECONNREFUSED);
			ck_assert_uint_eq(op.attempts, total);
			ck_assert_int_eq(evfut_io_fd(&io), -1);
		}
		close(lfd);
	}
	ck_assert_int_ge(tested, 1);
	evfut_future_drop(&lookup.base);
}
END_TEST

/* The list of a lookup with no hints, as a resolver returns it: each
 * address once per socket type (stream, datagram, raw). Handed to
 * evfut_connect_addrs_init() to reach a TCP port that refuses, it must
 * fail as TcpStream::connect does, not "connect" the datagram entry. */
START_TEST(test_net_peers_connect_addrs_of_an_untyped_lookup_stays_tcp)
{
	struct evfut_lookup_host lookup;
	struct evfut_connect_host op;
	struct evfut_io io;
	uint16_t port;
	int lfd = raw_listener(AF_INET, &port);
	int type = 0, c;
	socklen_t len = sizeof type;
	char service[8];

	ck_assert_int_ge(lfd, 0);
	snprintf(service, sizeof service, "%u", port);
	ck_assert_int_eq(
	        evfut_lookup_host_init(&lookup, "127.0.0.1", service, NULL), 0);
	await(&lookup.base);
	ck_assert_int_eq(lookup.result, 0);
	ck_assert_int_eq(lookup.addrs->ai_socktype, SOCK_STREAM);
	ck_assert_ptr_nonnull(lookup.addrs->ai_next); /* and the others */
	/* Listening: the connection is a stream. */
	ck_assert_int_eq(evfut_connect_addrs_init(&op, &io, lookup.addrs), 0);
	await_or_fail(&op.base, GUARD_S);
	ck_assert_int_eq(op.result, 0);
	ck_assert_int_eq(
	        getsockopt(evfut_io_fd(&io), SOL_SOCKET, SO_TYPE, &type, &len),
	        0);
	ck_assert_int_eq(type, SOCK_STREAM);
	c = accept(lfd, NULL, NULL);
	ck_assert_int_ge(c, 0);
	close(c);
	evfut_io_close(&io);
	/* Refusing: refused, with no other type tried. */
	close(lfd);
	ck_assert_int_eq(evfut_connect_addrs_init(&op, &io, lookup.addrs), 0);
	await_or_fail(&op.base, GUARD_S);
	ck_assert_int_eq(op.result, -ECONNREFUSED);
	ck_assert_uint_eq(op.attempts, 1);
	ck_assert_int_eq(evfut_io_fd(&io), -1);
	evfut_future_drop(&lookup.base);
}
END_TEST

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

/* A connect_host polled by hand (not in a task), still connecting when
 * its runtime is destroyed, dropped afterwards: as a sleep or a lookup
 * may be. The destroy removes the registration (its event belongs to the
 * base that goes), and the drop then closes the socket touching nothing
 * of the runtime. The same holds for any registration left behind. */
START_TEST(test_net_peers_connect_by_hand_dropped_after_its_runtime)
{
	struct evfut_runtime *rt;
	struct evfut_connect_host op;
	struct evfut_io io, left;
	struct poll_once p = {{poll_once_poll, NULL}, &op.base, 0};
	uint16_t port;
	int lfd = raw_listener(AF_INET, &port);
	int fds = harness_count_fds();
	int pair[2];
	char service[8];

	ck_assert_int_ge(lfd, 0);
	snprintf(service, sizeof service, "%u", port);
	ck_assert_int_eq(evfut_runtime_create(&rt, NULL), 0);
	ck_assert_int_eq(evfut_connect_host_init(&op, &io, "127.0.0.1", service,
	                                         SOCK_STREAM),
	                 0);
	ck_assert_int_eq(evfut_runtime_block_on(rt, &p.base), 0);
	ck_assert_int_eq(p.got, EVFUT_PENDING);
	ck_assert_int_ge(evfut_io_fd(&io), 0);
	make_socketpair(pair);
	ck_assert_int_eq(evfut_io_register(&left, rt, pair[0]), 0);
	evfut_runtime_destroy(rt);
	ck_assert_int_eq(evfut_io_fd(&io), -1);
	ck_assert_int_eq(evfut_io_fd(&left), -1);
	evfut_future_drop(&op.base);
	ck_assert_int_eq(evfut_io_close(&left), 0); /* still closes it */
	ck_assert_int_eq(fcntl(pair[0], F_GETFD), -1);
	close(pair[1]);
	ck_assert_int_eq(harness_count_fds(), fds);
	close(lfd);
}
END_TEST

/* tokio's lookup_host dropped mid-flight, then the runtime gone at once:
 * the pool thread finishes getaddrinfo after the future and the runtime
 * are gone, frees the request and the list, and touches neither. */
START_TEST(test_net_peers_lookup_dropped_then_runtime_destroyed)
{
	harness_alloc_fail_at(0);
	for (int i = 0; i < 50; i++) {
		struct evfut_runtime *rt;
		struct evfut_lookup_host op;
		struct poll_once p = {{poll_once_poll, NULL}, &op.base, 0};

		ck_assert_int_eq(evfut_runtime_create(&rt, NULL), 0);
		ck_assert_int_eq(
		        evfut_lookup_host_init(&op, "localhost", "80", NULL),
		        0);
		ck_assert_int_eq(evfut_runtime_block_on(rt, &p.base), 0);
		ck_assert_int_eq(p.got, EVFUT_PENDING);
		evfut_future_drop(&op.base);
		evfut_runtime_destroy(rt);
	}
	ck_assert_int_eq(harness_alloc_live(), 0);
	harness_alloc_restore();
}
END_TEST

static intptr_t
seven(void *arg)
{
	(void)arg;
	return 7;
}

/* A pool given after the runtime made its own is refused (-EBUSY): the
 * runtime keeps its own, and the refused pool stays the caller's, usable
 * without any runtime after the runtime is gone. */
START_TEST(test_net_peers_set_pool_after_the_runtime_made_its_own)
{
	struct evfut_pool *own, *mine, *got;
	struct evfut_blocking job;
	struct evfut_lookup_host op;

	ck_assert_int_eq(evfut_runtime_blocking_pool(harness_rt, &own), 0);
	ck_assert_int_eq(evfut_pool_create(&mine, 1), 0);
	ck_assert_int_eq(evfut_runtime_set_blocking_pool(harness_rt, mine),
	                 -EBUSY);
	ck_assert_int_eq(evfut_runtime_blocking_pool(harness_rt, &got), 0);
	ck_assert_ptr_eq(got, own);
	ck_assert_int_eq(evfut_lookup_host_init(&op, "localhost", "80", NULL),
	                 0);
	await(&op.base);
	ck_assert_int_eq(op.result, 0);
	evfut_future_drop(&op.base);
	ck_assert_uint_eq(evfut_pool_threads(mine), 0);
	harness_runtime_replace(NULL);
	/* A given pool is borrowed: the runtime's end leaves it working. */
	ck_assert_int_eq(evfut_runtime_set_blocking_pool(harness_rt, mine), 0);
	ck_assert_int_eq(evfut_runtime_set_blocking_pool(harness_rt, mine),
	                 -EBUSY);
	harness_runtime_replace(NULL);
	ck_assert_int_eq(evfut_blocking_init(&job, mine, seven, NULL), 0);
	ck_assert_int_eq(evfut_block_on(&job.base), 0);
	ck_assert_int_eq(job.value, 7);
	evfut_future_drop(&job.base);
	evfut_pool_destroy(mine);
}
END_TEST

/* --- Unix ------------------------------------------------------------- */

static char dir[64];
static char path[128];

static void
unix_setup(void)
{
	harness_setup();
	strcpy(dir, "/tmp/evfut-peers-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/socket", dir);
}

static void
unix_teardown(void)
{
	unlink(path);
	ck_assert_int_eq(rmdir(dir), 0);
	harness_teardown();
}

static bool
exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

static int
connect_path(const char *p)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc;

	ck_assert_int_ge(fd, 0);
	strcpy(a.sun_path, p);
	rc = connect(fd, (struct sockaddr *)&a, sizeof a);
	close(fd);
	return rc < 0 ? -errno : 0;
}

/* Closed twice, or never opened (zeroed): 0 each time, and the second
 * close leaves alone a file another server put there after the first. */
START_TEST(test_net_peers_unix_close_twice_and_unopened)
{
	struct evfut_unix_listener l, other, never;

	memset(&never, 0, sizeof never);
	ck_assert_int_eq(evfut_unix_listener_close(&never), 0);
	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, path, 8,
	                                          EVFUT_UNIX_UNLINK),
	                 0);
	ck_assert_int_eq(evfut_unix_listener_close(&l), 0);
	ck_assert(!exists(path));
	ck_assert_int_eq(evfut_unix_listener_open(&other, harness_rt, path, 8,
	                                          EVFUT_UNIX_UNLINK),
	                 0);
	ck_assert_int_eq(evfut_unix_listener_close(&l), 0);
	ck_assert(exists(path));
	ck_assert_int_eq(connect_path(path), 0);
	ck_assert_int_eq(evfut_unix_listener_close(&other), 0);
	ck_assert_int_eq(evfut_unix_listener_close(&other), 0);
	ck_assert(!exists(path));
}
END_TEST

/* Another process removed the file and listens at the path now: the close
 * leaves its socket file, and it still accepts. */
START_TEST(test_net_peers_unix_close_after_another_process_took_the_path)
{
	struct evfut_unix_listener l;
	int ready[2], quit[2];
	pid_t pid;
	char c;

	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, path, 8,
	                                          EVFUT_UNIX_UNLINK),
	                 0);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(quit), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		strcpy(a.sun_path, path);
		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
		    listen(fd, 8) < 0)
			_exit(1);
		if (write(ready[1], "r", 1) != 1 || read(quit[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	ck_assert_int_eq(evfut_unix_listener_close(&l), 0);
	ck_assert(exists(path));
	ck_assert_int_eq(connect_path(path), 0);
	ck_assert_int_eq(write(quit[1], "q", 1), 1);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	close(ready[0]);
	close(ready[1]);
	close(quit[0]);
	close(quit[1]);
}
END_TEST

/* An abstract name held by a socket that is bound but does not listen
 * (what would be "stale" for a file): EVFUT_UNIX_UNLINK cannot free it, so
 * -EADDRINUSE, the holder keeps it, and a file named "@..." in the working
 * directory is never touched. */
START_TEST(test_net_peers_unix_abstract_name_held_by_a_bound_socket)
{
	struct evfut_unix_listener l;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char name[64], cwd[256];
	socklen_t len;
	int holder, file;

	snprintf(name, sizeof name, "@evfut-peers-%d", (int)getpid());
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	                  strlen(name));
	memcpy(a.sun_path, name, strlen(name));
	a.sun_path[0] = '\0';
	holder = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(holder, 0);
	ck_assert_int_eq(bind(holder, (struct sockaddr *)&a, len), 0);
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
	ck_assert_int_eq(chdir(dir), 0);
	file = open(name, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(file, 0);
	close(file);
	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, name, 8,
	                                          EVFUT_UNIX_UNLINK),
	                 -EADDRINUSE);
	ck_assert(exists(name));
	ck_assert_int_eq(unlink(name), 0);
	ck_assert_int_eq(chdir(cwd), 0);
	close(holder);
	/* Free now: opened, and closed with nothing to unlink. */
	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, name, 8,
	                                          EVFUT_UNIX_UNLINK),
	                 0);
	ck_assert_int_eq(evfut_unix_listener_close(&l), 0);
}
END_TEST

/* Peer credentials are a Unix socket's: a connected TCP socket and a UDP
 * one give -EAFNOSUPPORT (tokio has no peer_cred on TcpStream), what is
 * not a socket at all -ENOTSOCK, as evfut_io_connect_start() says. */
START_TEST(test_net_peers_unix_peer_cred_of_other_sockets)
{
	struct evfut_io tcp, udp, pipe_io;
	pid_t pid = 1;
	int fds[2], p[2];

	tcp_socket_pair(fds);
	ck_assert_int_eq(evfut_io_register(&tcp, harness_rt, fds[0]), 0);
	ck_assert_int_eq(evfut_unix_peer_cred(&tcp, &pid, NULL, NULL),
	                 -EAFNOSUPPORT);
	ck_assert_int_eq(pid, 1); /* untouched on failure */
	evfut_io_close(&tcp);
	close(fds[1]);
	ck_assert_int_eq(evfut_udp_bind(&udp, harness_rt, "127.0.0.1", 0), 0);
	ck_assert_int_eq(evfut_unix_peer_cred(&udp, NULL, NULL, NULL),
	                 -EAFNOSUPPORT);
	evfut_io_close(&udp);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(evfut_io_register(&pipe_io, harness_rt, p[0]), 0);
	ck_assert_int_eq(evfut_unix_peer_cred(&pipe_io, NULL, NULL, NULL),
	                 -ENOTSOCK);
	evfut_io_close(&pipe_io);
	close(p[1]);
}
END_TEST

static Suite *
net_peers_suite(void)
{
	Suite *s = suite_create("net-peers");
	TCase *tc;

	tc = tcase_create("deadline");
	tcase_add_checked_fixture(tc, virtual_setup, harness_teardown);
	tcase_add_test(
	        tc, test_net_peers_deadline_before_op_then_earlier_then_later);
	tcase_add_test(tc, test_net_peers_deadline_in_the_past_before_any_op);
	tcase_add_test(
	        tc,
	        test_net_peers_many_refreshed_deadlines_keep_the_store_flat);
	tcase_add_test(tc,
	               test_net_peers_deadline_wake_closes_the_registration);
	tcase_add_test(
	        tc,
	        test_net_peers_deadline_after_deregister_and_register_again);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);

	tc = tcase_create("deadline-real");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc,
	               test_net_peers_deadline_real_clock_later_then_earlier);
	suite_add_tcase(s, tc);

	tc = tcase_create("connect");
	tcase_add_checked_fixture(tc, harness_setup, pool_teardown);
	tcase_add_test(tc,
	               test_net_peers_destroy_with_connect_queued_on_the_pool);
	tcase_add_test(tc, test_net_peers_destroy_with_connect_resolving);
	tcase_add_test(tc, test_net_peers_destroy_with_connect_connecting);
	tcase_add_test(tc, test_net_peers_localhost_where_one_family_listens);
	tcase_add_test(
	        tc,
	        test_net_peers_connect_addrs_of_an_untyped_lookup_stays_tcp);
	tcase_add_test(tc,
	               test_net_peers_lookup_dropped_then_runtime_destroyed);
	tcase_add_test(
	        tc, test_net_peers_connect_by_hand_dropped_after_its_runtime);
	tcase_add_test(tc,
	               test_net_peers_set_pool_after_the_runtime_made_its_own);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);

	tc = tcase_create("unix");
	tcase_add_checked_fixture(tc, unix_setup, unix_teardown);
	tcase_add_test(tc, test_net_peers_unix_close_twice_and_unopened);
	tcase_add_test(
	        tc,
	        test_net_peers_unix_close_after_another_process_took_the_path);
	tcase_add_test(
	        tc, test_net_peers_unix_abstract_name_held_by_a_bound_socket);
	tcase_add_test(tc, test_net_peers_unix_peer_cred_of_other_sockets);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(net_peers_suite());
}
