/*
 * Suite "reactor": Unix listeners and peer credentials. A stale socket
 * file is unlinked only when asked, only if it is a socket and only if
 * nothing accepts on it; a live listener's path, a regular file and a
 * directory are never touched (-EADDRINUSE); close unlinks the path only
 * while it is still the file the listener made; abstract names; every
 * error leaves no descriptor and no file. Credentials of a socketpair, of
 * both ends of an accepted connection, and of a forked client. Cases
 * after libuv's test-pipe-bind-error.c, test-pipe-connect-error.c and
 * tokio's uds_stream.rs and uds_cred.rs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reactor-util.h"

/* A guard against a lost wakeup, not a timing assertion. */
#define GUARD_S 10

static char dir[64];
static char path[128];

static void
unix_setup(void)
{
	harness_setup();
	strcpy(dir, "/tmp/evfut-unix-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/socket", dir);
}

static void
unix_teardown(void)
{
	unlink(path);
	ck_assert_int_eq(rmdir(dir), 0); /* nothing else was left there */
	harness_teardown();
}

static bool
exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

/* A socket file at @p with nothing behind it: bound, then closed. */
static void
make_stale_socket(const char *p)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	strcpy(a.sun_path, p);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
	ck_assert(exists(p));
}

/* Connects a blocking client to @p (a file or an "@abstract" name). */
static int
connect_raw(const char *p)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	socklen_t len =
	        (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(p));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memcpy(a.sun_path, p, strlen(p));
	if (p[0] == '@')
		a.sun_path[0] = '\0';
	else
		len++;
	if (connect(fd, (struct sockaddr *)&a, len) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

/* Accepts one connection on @l; returns the descriptor. */
static int
accept_one(struct evfut_unix_listener *l)
{
	struct evfut_io_op op;

	evfut_accept_init(&op, &l->io, NULL, NULL);
	await_or_fail(&op.base, GUARD_S);
	ck_assert_int_ge(op.result, 0);
	return (int)op.result;
}

/* A client reaches @l, the accepted end reads what it wrote. */
static void
assert_accepts(struct evfut_unix_listener *l, const char *p)
{
	int c = connect_raw(p), s;
	char buf[4] = {0};

	ck_assert_int_ge(c, 0);
	s = accept_one(l);
	ck_assert_int_eq(write(c, "abc", 3), 3);
	ck_assert_int_eq(read(s, buf, 3), 3);
	ck_assert_str_eq(buf, "abc");
	close(s);
	close(c);
}

START_TEST(test_unix_listener_accepts_and_close_keeps_the_file_unless_asked)
{
	struct evfut_unix_listener l;

	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, path, 8, 0),
	                 0);
	assert_accepts(&l, path);
	ck_assert_int_eq(evfut_unix_listener_close(&l), 0);
	ck_assert(exists(path)); /* no EVFUT_UNIX_UNLINK: left */
	/* And without the flag a stale file is in the way. */
	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, path, 8, 0),
	                 -EADDRINUSE);
}
END_TEST

START_TEST(test_unix_listener_unlink_removes_its_file_at_close)
{
	struct evfut_unix_listener l;

	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, path, 8,
	                                          EVFUT_UNIX_UNLINK),
	                 0);
	ck_assert(exists(path));
	assert_accepts(&l, path);
	ck_assert_int_eq(evfut_unix_listener_close(&l), 0);
	ck_assert(!exists(path));
	ck_assert_int_eq(evfut_unix_listener_close(&l), 0); /* twice: fine */
	ck_assert_int_eq(evfut_unix_listener_close(NULL), 0);
}
END_TEST

START_TEST(test_unix_listener_replaces_a_stale_socket)
{
	struct evfut_unix_listener l;

	make_stale_socket(path);
	ck_assert_int_eq(connect_raw(path), -ECONNREFUSED);
	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, path, 8,
	                                          EVFUT_UNIX_UNLINK),
	                 0);
	/* Refused before, accepted now: a new socket at the path. */
	assert_accepts(&l, path);
	ck_assert_int_eq(evfut_unix_listener_close(&l), 0);
	ck_assert(!exists(path));
}
END_TEST

START_TEST(test_unix_listener_never_unlinks_a_live_listener)
{
	struct evfut_unix_listener live, second;

	ck_assert_int_eq(evfut_unix_listener_open(&live, harness_rt, path, 8,
	                                          EVFUT_UNIX_UNLINK),
	                 0);
	ck_assert_int_eq(evfut_unix_listener_open(&second, harness_rt, path, 8,
	                                          EVFUT_UNIX_UNLINK),
	                 -EADDRINUSE);
	ck_assert(exists(path));
	/* The live one still gets connections (and the probe's, which
	 * closed at once: read it away). */
	close(accept_one(&live));
	assert_accepts(&live, path);
	ck_assert_int_eq(evfut_unix_listener_close(&live), 0);
}
END_TEST

START_TEST(test_unix_listener_never_unlinks_what_is_not_a_socket)
{
	struct evfut_unix_listener l;
	char buf[8] = {0};
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "keep", 4), 4);
	close(fd);
	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, path, 8,
	                                          EVFUT_UNIX_UNLINK),
	                 -EADDRINUSE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 4);
	ck_assert_str_eq(buf, "keep");
	close(fd);
	unlink(path);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, path, 8,
	                                          EVFUT_UNIX_UNLINK),
	                 -EADDRINUSE);
	ck_assert_int_eq(rmdir(path), 0);
}
END_TEST

START_TEST(test_unix_listener_close_leaves_a_file_that_replaced_its_own)
{
	struct evfut_unix_listener l;
	int fd;

	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, path, 8,
	                                          EVFUT_UNIX_UNLINK),
	                 0);
	/* Another server removed ours and bound its own socket there. */
	ck_assert_int_eq(unlink(path), 0);
	make_stale_socket(path);
	ck_assert_int_eq(evfut_unix_listener_close(&l), 0);
	ck_assert(exists(path));
	ck_assert_int_eq(unlink(path), 0);
	/* Or removed it and put a regular file there. */
	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, path, 8,
	                                          EVFUT_UNIX_UNLINK),
	                 0);
	ck_assert_int_eq(unlink(path), 0);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	ck_assert_int_eq(evfut_unix_listener_close(&l), 0);
	ck_assert(exists(path));
	/* Or just removed it. */
	unlink(path);
	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, path, 8,
	                                          EVFUT_UNIX_UNLINK),
	                 0);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(evfut_unix_listener_close(&l), 0);
}
END_TEST

START_TEST(test_unix_listener_abstract_name)
{
	struct evfut_unix_listener l, again;
	char name[64];

	snprintf(name, sizeof(name), "@evfut-test-%d", (int)getpid());
	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, name, 8,
	                                          EVFUT_UNIX_UNLINK),
	                 0);
	ck_assert(!exists(name)); /* no file, not even one named "@..." */
	assert_accepts(&l, name);
	ck_assert_int_eq(evfut_unix_listener_open(&again, harness_rt, name, 8,
	                                          EVFUT_UNIX_UNLINK),
	                 -EADDRINUSE);
	ck_assert_int_eq(evfut_unix_listener_close(&l), 0);
	/* The name is free once the socket is closed. */
	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, name, 8, 0),
	                 0);
	ck_assert_int_eq(evfut_unix_listener_close(&l), 0);
}
END_TEST

START_TEST(test_unix_listener_errors)
{
	struct evfut_unix_listener l;
	char longpath[sizeof(l.addr.sun_path) + 1];
	char missing[160];

	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	snprintf(missing, sizeof(missing), "%s/no/such/dir/socket", dir);
	ck_assert_int_eq(evfut_unix_listener_open(NULL, harness_rt, path, 8, 0),
	                 -EINVAL);
	ck_assert_int_eq(evfut_unix_listener_open(&l, NULL, path, 8, 0),
	                 -EINVAL);
	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, NULL, 8, 0),
	                 -EINVAL);
	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, "", 8, 0),
	                 -EINVAL);
	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, "@", 8, 0),
	                 -EINVAL);
	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, path, -1, 0),
	                 -EINVAL);
	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, path, 8, 2),
	                 -EINVAL);
	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, longpath, 8,
	                                          EVFUT_UNIX_UNLINK),
	                 -ENAMETOOLONG);
	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, missing, 8,
	                                          EVFUT_UNIX_UNLINK),
	                 -ENOENT);
	ck_assert(!exists(path));
	/* A failed open can be closed: nothing happens. */
	ck_assert_int_eq(evfut_unix_listener_close(&l), 0);
}
END_TEST

/* libuv's test-pipe-connect-error.c: no file, and a file that is not a
 * socket; both known at once. */
START_TEST(test_unix_connect_errors_are_known_at_once)
{
	struct evfut_io io;
	int fd;

	ck_assert_int_eq(evfut_unix_connect_start(&io, harness_rt, path),
	                 -ENOENT);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(evfut_unix_connect_start(&io, harness_rt, path),
	                 -ECONNREFUSED);
}
END_TEST

/* --- credentials ---------------------------------------------------- */

static void
assert_cred_is(const struct evfut_io *io, pid_t want_pid)
{
	pid_t pid = -1;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	ck_assert_int_eq(evfut_unix_peer_cred(io, &pid, &uid, &gid), 0);
	ck_assert_int_eq(pid, want_pid);
	ck_assert_uint_eq(uid, geteuid());
	ck_assert_uint_eq(gid, getegid());
}

START_TEST(test_unix_peer_cred_of_a_socketpair)
{
	struct evfut_io a, b;
	int fds[2];
	uid_t uid;

	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(&a, harness_rt, fds[0]), 0);
	ck_assert_int_eq(evfut_io_register(&b, harness_rt, fds[1]), 0);
	assert_cred_is(&a, getpid());
	assert_cred_is(&b, getpid());
	/* Any output may be left out. */
	ck_assert_int_eq(evfut_unix_peer_cred(&a, NULL, &uid, NULL), 0);
	ck_assert_uint_eq(uid, geteuid());
	ck_assert_int_eq(evfut_unix_peer_cred(&a, NULL, NULL, NULL), 0);
	evfut_io_close(&a);
	evfut_io_close(&b);
}
END_TEST

START_TEST(test_unix_peer_cred_of_a_forked_client)
{
	struct evfut_unix_listener l;
	struct evfut_io io;
	char c;
	pid_t child;
	int status, fd;

	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, path, 8,
	                                          EVFUT_UNIX_UNLINK),
	                 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		fd = connect_raw(path);
		/* Stay connected until the parent has asked. */
		_exit(fd < 0 || read(fd, &c, 1) != 0 ? 1 : 0);
	}
	fd = accept_one(&l);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fd), 0);
	assert_cred_is(&io, child);
	ck_assert_int_eq(evfut_io_close(&io), 0); /* the child sees EOF */
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(evfut_unix_listener_close(&l), 0);
}
END_TEST

START_TEST(test_unix_peer_cred_errors)
{
	struct evfut_unix_listener l;
	struct evfut_io tcp, io;
	int fds[2];

	ck_assert_int_eq(evfut_unix_peer_cred(NULL, NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(evfut_unix_listener_open(&l, harness_rt, path, 8,
	                                          EVFUT_UNIX_UNLINK),
	                 0);
	ck_assert_int_eq(evfut_unix_peer_cred(&l.io, NULL, NULL, NULL),
	                 -ENOTCONN);
	ck_assert_int_eq(evfut_unix_listener_close(&l), 0);
	ck_assert_int_eq(
	        evfut_tcp_listen(&tcp, harness_rt, "127.0.0.1", 0, 8, 0), 0);
	ck_assert_int_eq(evfut_unix_peer_cred(&tcp, NULL, NULL, NULL),
	                 -EAFNOSUPPORT);
	evfut_io_close(&tcp);
	make_socketpair(fds);
	ck_assert_int_eq(evfut_io_register(&io, harness_rt, fds[0]), 0);
	evfut_io_deregister(&io);
	ck_assert_int_eq(evfut_unix_peer_cred(&io, NULL, NULL, NULL), -EBADF);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

static Suite *
unix_suite(void)
{
	Suite *s = suite_create("reactor-unix");
	TCase *tc = tcase_create("listener");

	tcase_add_checked_fixture(tc, unix_setup, unix_teardown);
	tcase_add_test(
	        tc,
	        test_unix_listener_accepts_and_close_keeps_the_file_unless_asked);
	tcase_add_test(tc, test_unix_listener_unlink_removes_its_file_at_close);
	tcase_add_test(tc, test_unix_listener_replaces_a_stale_socket);
	tcase_add_test(tc, test_unix_listener_never_unlinks_a_live_listener);
	tcase_add_test(tc,
	               test_unix_listener_never_unlinks_what_is_not_a_socket);
	tcase_add_test(
	        tc,
	        test_unix_listener_close_leaves_a_file_that_replaced_its_own);
	tcase_add_test(tc, test_unix_listener_abstract_name);
	tcase_add_test(tc, test_unix_listener_errors);
	tcase_add_test(tc, test_unix_connect_errors_are_known_at_once);
	suite_add_tcase(s, tc);
	tc = tcase_create("cred");
	tcase_add_checked_fixture(tc, unix_setup, unix_teardown);
	tcase_add_test(tc, test_unix_peer_cred_of_a_socketpair);
	tcase_add_test(tc, test_unix_peer_cred_of_a_forked_client);
	tcase_add_test(tc, test_unix_peer_cred_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(unix_suite());
}
