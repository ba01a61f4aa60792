/*
 * connecting: a listener configured by hand (SO_REUSEPORT) adopted with
 * evfut_io_listen(), a client that connects to it by name ("localhost",
 * resolved on the runtime's blocking pool), and a Unix listener that
 * removes a stale socket file and, when closed, its own; the server asks
 * the Unix peer who it is.
 *
 * Run: ./build/gcc/docs/examples/connecting
 */
#define _DEFAULT_SOURCE /* SO_REUSEPORT, mkdtemp */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <evfut.h>

/* [listen-configured] */
/* A TCP listener on 127.0.0.1 with options set before listen(). */
static int
listen_reuseport(struct evfut_io *io, struct evfut_runtime *rt)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int on = 1;
	int rc;

	if (fd < 0)
		return -errno;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) < 0 ||
	    bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	rc = evfut_io_listen(io, rt, fd, 128); /* non-blocking, registered */
	if (rc < 0)
		close(fd); /* a failed call leaves the socket to its caller */
	return rc;
}
/* [listen-configured] */

/* [connect-by-name] */
/* Connects to localhost:port, by name, and says hello. */
struct greeter {
	struct evfut_future base;
	unsigned resume;
	char port[8];
	int result;
	struct evfut_io io;
	struct evfut_connect_host connect;
	struct evfut_io_op write;
};

static enum evfut_poll
greeter_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct greeter *g = evfut_container_of(self, struct greeter, base);

	EVFUT_ASYNC_BEGIN(g->resume);
	g->result = evfut_connect_host_init(&g->connect, &g->io, "localhost",
	                                    g->port, SOCK_STREAM);
	if (g->result < 0)
		EVFUT_ASYNC_RETURN();
	/* Resolves on a pool thread, then tries each address in turn. */
	EVFUT_AWAIT(&g->connect.base, cx);
	g->result = g->connect.result;
	if (g->result < 0)
		EVFUT_ASYNC_RETURN();
	evfut_write_all_init(&g->write, &g->io, "hello", 5);
	EVFUT_AWAIT(&g->write.base, cx);
	g->result = g->write.result == 5 ? 0 : (int)g->write.result;
	evfut_io_close(&g->io); /* the connected socket is the caller's */
	EVFUT_ASYNC_END();
}

static void
greeter_drop(struct evfut_future *self)
{
	struct greeter *g = evfut_container_of(self, struct greeter, base);

	/* Closes the socket of an attempt in progress, frees the list. */
	evfut_future_drop(&g->connect.base);
	evfut_future_drop(&g->write.base);
}
/* [connect-by-name] */

/* Accepts one connection on @listener and reads five bytes from it. */
static int
accept_hello(struct evfut_runtime *rt, struct evfut_io *listener)
{
	struct evfut_io_op op;
	struct evfut_io conn;
	char buf[5];
	int rc;

	evfut_accept_init(&op, listener, NULL, NULL);
	if (evfut_runtime_block_on(rt, &op.base) < 0 || op.result < 0)
		return -1;
	if (evfut_io_register(&conn, rt, (int)op.result) < 0)
		return -1;
	evfut_read_exact_init(&op, &conn, buf, sizeof buf);
	rc = evfut_runtime_block_on(rt, &op.base) == 0 && op.result == 5 &&
	                     memcmp(buf, "hello", 5) == 0
	             ? 0
	             : -1;
	evfut_io_close(&conn);
	return rc;
}

/* [unix-listener] */
/* A Unix listener at @path that replaces a stale socket file; the
 * accepted peer is asked who it is. */
static int
serve_unix_once(struct evfut_runtime *rt, const char *path)
{
	struct evfut_unix_listener l;
	struct evfut_io_op accept;
	struct evfut_io client, conn;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	int rc;

	rc = evfut_unix_listener_open(&l, rt, path, 16, EVFUT_UNIX_UNLINK);
	if (rc < 0)
		return rc; /* -EADDRINUSE: a live server, or not a socket */
	rc = evfut_unix_connect_start(&client, rt, path);
	evfut_accept_init(&accept, &l.io, NULL, NULL);
	if (rc == 0 && evfut_runtime_block_on(rt, &accept.base) == 0 &&
	    accept.result >= 0 &&
	    evfut_io_register(&conn, rt, (int)accept.result) == 0) {
		rc = evfut_unix_peer_cred(&conn, &pid, &uid, &gid);
		if (rc == 0 && pid != getpid())
			rc = -1;
		evfut_io_close(&conn);
	}
	evfut_io_close(&client);
	evfut_unix_listener_close(&l); /* unlinks the file it made */
	return rc;
}
/* [unix-listener] */

int
main(void)
{
	struct evfut_runtime *rt;
	struct evfut_io listener;
	char dir[] = "/tmp/evfut-connecting-XXXXXX", path[64];
	struct greeter g = {
	        .base = EVFUT_FUTURE_INIT(greeter_poll, greeter_drop)};
	int ok;

	if (evfut_runtime_create(&rt, NULL) < 0 ||
	    listen_reuseport(&listener, rt) < 0)
		return 1;
	snprintf(g.port, sizeof g.port, "%d", evfut_io_local_port(&listener));
	ok = evfut_runtime_block_on(rt, &g.base) == 0 && g.result == 0 &&
	     accept_hello(rt, &listener) == 0;
	evfut_future_drop(&g.base);
	evfut_io_close(&listener);
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof path, "%s/socket", dir);
	/* A socket file left behind by a server that exited. */
	{
		struct evfut_io stale;

		if (evfut_unix_listen(&stale, rt, path, 1) < 0)
			return 1;
		evfut_io_close(&stale);
	}
	ok = ok && serve_unix_once(rt, path) == 0;
	ok = ok && rmdir(dir) == 0; /* empty: the listener removed its file */
	evfut_runtime_destroy(rt);
	printf("connecting: %s\n", ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}
