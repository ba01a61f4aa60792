/*
 * libevent-echo-server: the echo workload's server (bench/WORKLOADS.md)
 * written directly on libevent callbacks, the baseline evfut is measured
 * against.
 *
 * Run: ./build/release/bench/echo/libevent-echo-server --port 7007
 *      (--port 0 picks a free port), then bench/run-echo or
 *      ./build/release/bench/echo/echo-client --port 7007
 *
 * It prints "listening on 127.0.0.1:PORT" once it accepts connections;
 * SIGINT or SIGTERM stops it.
 *
 * Why raw events and not bufferevents: this is the fastest thing a libevent
 * expert writes for an echo server, so it is the fair bar. A bufferevent
 * costs more per message for nothing an echo needs: evbuffer_read() asks
 * the kernel for the readable byte count (ioctl FIONREAD) before each
 * read, data is copied into and out of evbuffer chains, and the read, write
 * and event callbacks are extra indirect calls (deferred ones, with
 * BEV_OPT_DEFER_CALLBACKS). Bufferevents pay off with TLS, rate limits or
 * protocol parsing, none of which is here.
 *
 * Behaviour matches evfut-echo-server: TCP_NODELAY on accepted sockets, one
 * read of at most 8 KiB, then that data written back in full before the
 * connection reads again. The read event is level-triggered and persistent
 * (added once); it is swapped for a write event only when the kernel's
 * send buffer is full, which 64-byte messages never cause.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#define BUF_SIZE 8192

struct connection {
	evutil_socket_t fd;
	struct event *read_event;  /* persistent, added while reading */
	struct event *write_event; /* persistent, added while a write waits */
	size_t len;                /* bytes read, to echo */
	size_t off;                /* bytes of them written */
	struct connection *prev;   /* all connections, to free at exit */
	struct connection *next;
	char buf[BUF_SIZE];
};

/* The live connections, so that the exit path frees them. */
static struct connection *connections;

static void
connection_close(struct connection *c)
{
	event_free(c->read_event);
	event_free(c->write_event);
	evutil_closesocket(c->fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		connections = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c);
}

/*
 * Writes what is left of the buffer. Returns 1 when all of it is out, 0
 * when the kernel's buffer is full (the write event then waits), -1 when
 * the connection is gone and freed.
 */
static int
flush(struct connection *c)
{
	ssize_t n;

	while (c->off < c->len) {
		n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0) {
			connection_close(c);
			return -1;
		}
		c->off += (size_t)n;
	}
	return 1;
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct connection *c = arg;
	ssize_t n;

	(void)what;
	n = read(fd, c->buf, sizeof c->buf);
	if (n < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) { /* end of file, or an error */
		connection_close(c);
		return;
	}
	c->len = (size_t)n;
	c->off = 0;
	if (flush(c) == 0) {
		/* Stop reading until the echo is out, as evfut's does. */
		event_del(c->read_event);
		event_add(c->write_event, NULL);
	}
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
	struct connection *c = arg;

	(void)fd;
	(void)what;
	if (flush(c) == 1) {
		event_del(c->write_event);
		event_add(c->read_event, NULL);
	}
}

static void
on_accept(struct evconnlistener *listener, evutil_socket_t fd,
          struct sockaddr *addr, int addrlen, void *arg)
{
	struct event_base *base = evconnlistener_get_base(listener);
	struct connection *c = malloc(sizeof(*c));
	int on = 1;

	(void)addr;
	(void)addrlen;
	(void)arg;
	if (c == NULL) {
		evutil_closesocket(fd);
		return;
	}
	/* The listener made @fd non-blocking and close-on-exec. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	c->fd = fd;
	c->len = 0;
	c->off = 0;
	/* Allocated once per connection, not per message; event_new keeps
	 * the program independent of struct event's layout. */
	c->read_event = event_new(base, fd, EV_READ | EV_PERSIST, on_read, c);
	c->write_event =
	        event_new(base, fd, EV_WRITE | EV_PERSIST, on_write, c);
	if (c->read_event == NULL || c->write_event == NULL) {
		if (c->read_event != NULL)
			event_free(c->read_event);
		if (c->write_event != NULL)
			event_free(c->write_event);
		free(c);
		evutil_closesocket(fd);
		return;
	}
	c->prev = NULL;
	c->next = connections;
	if (connections != NULL)
		connections->prev = c;
	connections = c;
	event_add(c->read_event, NULL);
}

static void
on_stop(evutil_socket_t signo, short what, void *arg)
{
	(void)signo;
	(void)what;
	event_base_loopexit(arg, NULL);
}

static int
parse_args(int argc, char **argv, uint16_t *port)
{
	char *end;
	long value;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") != 0 || i + 1 == argc)
			goto usage;
		value = strtol(argv[++i], &end, 10);
		if (*end != '\0' || value < 0 || value > 65535)
			goto usage;
		*port = (uint16_t)value;
	}
	return 0;

usage:
	fprintf(stderr, "usage: libevent-echo-server [--port PORT]\n");
	return 2;
}

static int
local_port(struct evconnlistener *listener)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);

	if (getsockname(evconnlistener_get_fd(listener),
	                (struct sockaddr *)&addr, &len) < 0)
		return -1;
	return ntohs(addr.sin_port);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in addr;
	struct evconnlistener *listener;
	struct event_base *base;
	struct event *stop_int;
	struct event *stop_term;
	uint16_t port = 7007;
	int rc = parse_args(argc, argv, &port);

	if (rc != 0)
		return rc;
	/* No evthread_use_pthreads(): one thread, so libevent takes no lock. */
	base = event_base_new();
	if (base == NULL) {
		fprintf(stderr,
		        "libevent-echo-server: event_base_new failed\n");
		return 1;
	}
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons(port);
	listener = evconnlistener_new_bind(
	        base, on_accept, NULL,
	        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
	                LEV_OPT_CLOSE_ON_EXEC,
	        1024, (struct sockaddr *)&addr, sizeof(addr));
	if (listener == NULL) {
		fprintf(stderr, "libevent-echo-server: listen: %s\n",
		        strerror(errno));
		event_base_free(base);
		return 1;
	}
	stop_int = evsignal_new(base, SIGINT, on_stop, base);
	stop_term = evsignal_new(base, SIGTERM, on_stop, base);
	if (stop_int == NULL || stop_term == NULL ||
	    evsignal_add(stop_int, NULL) < 0 ||
	    evsignal_add(stop_term, NULL) < 0) {
		fprintf(stderr, "libevent-echo-server: signals failed\n");
		rc = 1;
	} else {
		printf("listening on 127.0.0.1:%d\n", local_port(listener));
		fflush(stdout);
		rc = event_base_dispatch(base) < 0 ? 1 : 0;
	}
	while (connections != NULL)
		connection_close(connections);
	if (stop_int != NULL)
		event_free(stop_int);
	if (stop_term != NULL)
		event_free(stop_term);
	evconnlistener_free(listener);
	event_base_free(base);
	return rc;
}
