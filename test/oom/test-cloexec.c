/*
 * fd hygiene, suite "fd": every descriptor evfut opens is close-on-exec,
 * so a server that runs a child program does not leak its epoll, eventfd,
 * timerfd, listeners or connections into it.
 *
 * The test notes the descriptors open before, creates a runtime (libevent's
 * epoll fd, the wake-up eventfd, the timerfd), a TCP listener, a
 * connection (both ends: connect and accept), a UDP socket, a Unix-domain
 * listener and connection, a signal future (libevent's signal socketpair),
 * an armed timer and a blocking pool at work, then walks /proc/self/fd and
 * checks FD_CLOEXEC on every descriptor that was not open before.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dirent.h>

#include "evfut.h"

#include "harness.h"

#define MAX_FD 4096

/* Marks in @open the descriptors open now. */
static void
open_fds(unsigned char open[MAX_FD])
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;

	ck_assert_ptr_nonnull(dir);
	memset(open, 0, MAX_FD);
	while ((e = readdir(dir)) != NULL) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] != '.' && fd != dirfd(dir) && fd < MAX_FD)
			open[fd] = 1;
	}
	closedir(dir);
}

/* The number of new descriptors without FD_CLOEXEC, each reported. */
static int
check_new_fds(const unsigned char before[MAX_FD], int *new_count)
{
	unsigned char now[MAX_FD];
	char path[64], target[PATH_MAX];
	int bad = 0;

	open_fds(now);
	*new_count = 0;
	for (int fd = 0; fd < MAX_FD; fd++) {
		int flags;
		ssize_t n;

		if (!now[fd] || before[fd])
			continue;
		(*new_count)++;
		flags = fcntl(fd, F_GETFD);
		ck_assert_int_ge(flags, 0);
		if (flags & FD_CLOEXEC)
			continue;
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		n = readlink(path, target, sizeof target - 1);
		target[n < 0 ? 0 : n] = '\0';
		fprintf(stderr, "fd %d (%s) is not close-on-exec\n", fd,
		        target);
		bad++;
	}
	return bad;
}

static intptr_t
nap(void *arg)
{
	(void)arg;
	return 0;
}

START_TEST(test_fd_everything_is_cloexec)
{
	static const int usr2[] = {SIGUSR2};
	unsigned char before[MAX_FD];
	struct evfut_runtime *rt;
	struct evfut_io listener, client, server, udp, ulistener, uclient;
	struct evfut_io_op op;
	struct evfut_signal sig;
	struct evfut_sleep sleep;
	struct evfut_pool *pool;
	struct evfut_blocking job;
	char upath[64];
	int new_count;
	int port;

	open_fds(before);
	ck_assert_int_eq(evfut_runtime_create(&rt, NULL), 0);
	ck_assert_int_eq(evfut_tcp_listen(&listener, rt, NULL, 0, 4, 0), 0);
	port = evfut_io_local_port(&listener);
	ck_assert_int_gt(port, 0);
	ck_assert_int_eq(
	        evfut_tcp_connect_start(&client, rt, NULL, (uint16_t)port), 0);
	evfut_accept_init(&op, &listener, NULL, NULL);
	ck_assert_int_eq(evfut_runtime_block_on(rt, &op.base), 0);
	ck_assert_int_ge(op.result, 0);
	ck_assert_int_eq(evfut_io_register(&server, rt, (int)op.result), 0);
	ck_assert_int_eq(evfut_udp_bind(&udp, rt, NULL, 0), 0);
	snprintf(upath, sizeof upath, "/tmp/evfut-cloexec-%ld.sock",
	         (long)getpid());
	unlink(upath);
	ck_assert_int_eq(evfut_unix_listen(&ulistener, rt, upath, 4), 0);
	ck_assert_int_eq(evfut_unix_connect_start(&uclient, rt, upath), 0);
	ck_assert_int_eq(evfut_signal_init(&sig, rt, usr2, 1), 0);
	/* A timer, armed by a poll, and blocking work on a pool thread. */
	evfut_sleep_init(&sleep, EVFUT_SEC);
	ck_assert_int_eq(evfut_pool_create(&pool, 1), 0);
	ck_assert_int_eq(evfut_blocking_init(&job, pool, nap, NULL), 0);
	ck_assert_int_eq(evfut_runtime_block_on(rt, &job.base), 0);
	{
		struct evfut_waker noop = evfut_waker_noop();
		struct evfut_context cx = {&noop, rt};

		ck_assert_int_eq(evfut_future_poll(&sleep.base, &cx),
		                 EVFUT_PENDING);
	}

	ck_assert_int_eq(check_new_fds(before, &new_count), 0);
	/* epoll, eventfd, timerfd, 2 signal, 3 TCP, UDP, 2 Unix. */
	ck_assert_int_ge(new_count, 11);

	evfut_future_drop(&job.base);
	evfut_pool_destroy(pool);
	evfut_future_drop(&sleep.base);
	evfut_future_drop(&sig.base);
	evfut_io_close(&uclient);
	evfut_io_close(&ulistener);
	unlink(upath);
	evfut_io_close(&udp);
	evfut_io_close(&server);
	evfut_io_close(&client);
	evfut_io_close(&listener);
	evfut_runtime_destroy(rt);
}
END_TEST

/* The timer fallback and the accept path keep the flag too: a runtime on
 * CLOCK_BOOTTIME and one on the virtual clock. */
START_TEST(test_fd_other_clocks_are_cloexec)
{
	static const struct evfut_runtime_options boot = {
	        .clock = EVFUT_CLOCK_BOOTTIME};
	static const struct evfut_runtime_options virt = {
	        .clock = EVFUT_CLOCK_VIRTUAL};
	unsigned char before[MAX_FD];
	struct evfut_runtime *a, *b;
	int new_count;

	open_fds(before);
	ck_assert_int_eq(evfut_runtime_create(&a, &boot), 0);
	ck_assert_int_eq(evfut_runtime_create(&b, &virt), 0);
	ck_assert_int_eq(check_new_fds(before, &new_count), 0);
	ck_assert_int_ge(new_count, 4);
	evfut_runtime_destroy(b);
	evfut_runtime_destroy(a);
}
END_TEST

static Suite *
fd_suite(void)
{
	Suite *s = suite_create("fd");
	TCase *tc = tcase_create("cloexec");

	tcase_add_test(tc, test_fd_everything_is_cloexec);
	tcase_add_test(tc, test_fd_other_clocks_are_cloexec);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(fd_suite());
}
