/*
 * evfut-embed: evfut inside a host program that runs its own libevent loop.
 *
 * Run: ./build/demo/examples/embed/evfut-embed
 *      then, with the ports it prints:
 *        curl http://127.0.0.1:HTTP_PORT/        (the host's evhttp)
 *        socat - TCP:127.0.0.1:ECHO_PORT         (evfut's echo service)
 *      and Ctrl-C to stop it.
 *      ./build/demo/examples/embed/evfut-embed --selftest
 *      runs for about 300 ms, checks both services from a second thread
 *      with plain sockets, and exits 0 (meson test --suite examples).
 *
 * The host owns the event_base and calls event_base_dispatch() itself. An
 * evhttp server answers GET / on that base; on the same base and the same
 * thread, an evfut runtime that borrows the base runs an echo service (one
 * task per connection, evfut I/O futures), a task that bumps a counter every
 * 100 ms (evfut_interval), which the HTTP handler reports, and a task that
 * stops the host's loop on SIGINT or SIGTERM.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include <evfut.h>

/* What the host shares with its evfut tasks: all on the loop's thread. */
struct host {
	struct event_base *base;
	struct evhttp *http;
	struct evfut_runtime *rt;
	unsigned long ticks; /* bumped by the ticker task */
	int http_port;
	int echo_port;
};

/*
 * The echo service: one task per connection, as in examples/echo/conn.c.
 * The connection registers its descriptor on its first poll, in the task's
 * own copy, since a registration must not move.
 */
struct connection {
	struct evfut_future base;
	int fd;
	int registered;
	int writing;
	struct evfut_io io;
	struct evfut_io_op op;
	char buf[4096];
};

static enum evfut_poll
connection_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct connection *c =
	        evfut_container_of(self, struct connection, base);

	if (!c->registered) {
		if (evfut_io_register(&c->io, cx->runtime, c->fd) < 0) {
			close(c->fd);
			return EVFUT_READY;
		}
		c->registered = 1;
		evfut_read_init(&c->op, &c->io, c->buf, sizeof c->buf);
	}
	for (;;) {
		if (evfut_future_poll(&c->op.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		if (c->op.result <= 0)
			return EVFUT_READY;
		if (c->writing)
			evfut_read_init(&c->op, &c->io, c->buf, sizeof c->buf);
		else
			evfut_write_all_init(&c->op, &c->io, c->buf,
			                     (size_t)c->op.result);
		c->writing = !c->writing;
	}
}

static void
connection_drop(struct evfut_future *self)
{
	struct connection *c =
	        evfut_container_of(self, struct connection, base);

	if (c->registered) {
		evfut_future_drop(&c->op.base);
		evfut_io_close(&c->io);
	}
}

/* The listener's task: accepts and spawns a connection task per client. */
struct echo_server {
	struct evfut_future base;
	struct evfut_task task;
	struct evfut_io listener;
	struct evfut_io_op accept;
};

static enum evfut_poll
echo_server_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct echo_server *s =
	        evfut_container_of(self, struct echo_server, base);
	struct connection c = {
	        .base = EVFUT_FUTURE_INIT(connection_poll, connection_drop),
	};

	for (;;) {
		if (evfut_future_poll(&s->accept.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		if (s->accept.result >= 0) {
			c.fd = (int)s->accept.result;
			if (evfut_task_spawn(cx->runtime, &c.base, sizeof c) <
			    0)
				close(c.fd);
		}
		evfut_accept_init(&s->accept, &s->listener, NULL, NULL);
	}
}

static void
echo_server_drop(struct evfut_future *self)
{
	struct echo_server *s =
	        evfut_container_of(self, struct echo_server, base);

	evfut_future_drop(&s->accept.base);
	evfut_io_close(&s->listener);
}

/* [ticker] */
/* Bumps the host's counter every 100 ms, for as long as the loop runs. */
struct ticker {
	struct evfut_future base;
	struct evfut_task task;
	struct evfut_interval interval;
	unsigned long *ticks; /* the host's, read by the HTTP handler */
};

static enum evfut_poll
ticker_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct ticker *t = evfut_container_of(self, struct ticker, base);

	for (;;) {
		if (evfut_future_poll(&t->interval.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		if (t->interval.result < 0)
			return EVFUT_READY;
		(*t->ticks)++;
	}
}

static void
ticker_drop(struct evfut_future *self)
{
	struct ticker *t = evfut_container_of(self, struct ticker, base);

	evfut_future_drop(&t->interval.base);
}
/* [ticker] */

/* [stopper] */
/*
 * Stops the host's loop on SIGINT or SIGTERM. The signal events live on
 * the host's base: with epoll, only one base per process gets signals.
 */
struct stopper {
	struct evfut_future base;
	struct evfut_task task;
	struct evfut_signal signal;
	struct event_base *loop;
};

static enum evfut_poll
stopper_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct stopper *s = evfut_container_of(self, struct stopper, base);

	if (evfut_future_poll(&s->signal.base, cx) == EVFUT_PENDING)
		return EVFUT_PENDING;
	event_base_loopexit(s->loop, NULL);
	return EVFUT_READY;
}

static void
stopper_drop(struct evfut_future *self)
{
	struct stopper *s = evfut_container_of(self, struct stopper, base);

	evfut_future_drop(&s->signal.base);
}
/* [stopper] */

/* [http-handler] */
/* A plain evhttp callback on the host's base; it reads the task's counter
 * directly, since tasks and callbacks share one thread. */
static void
on_http_root(struct evhttp_request *req, void *arg)
{
	struct host *host = arg;
	struct evbuffer *body = evbuffer_new();

	if (body == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evbuffer_add_printf(body, "hello from the host; evfut ticks: %lu\n",
	                    host->ticks);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	                  "Content-Type", "text/plain");
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
}
/* [http-handler] */

/*
 * --selftest: a second thread plays the client with blocking sockets (the
 * loop's thread must keep serving), then wakes an evfut task, which stops
 * the host's loop. A waker is the way in from another thread: the base has
 * no libevent locks, so the thread must not touch it.
 */
struct selftest {
	struct evfut_future base;
	struct evfut_task task;
	pthread_mutex_t lock;
	int finished;             /* under lock */
	struct evfut_waker waker; /* under lock: the waiting task's */
	struct event_base *loop;
	int echo_port;
	int http_port;
	const char *failure; /* NULL when every check passed */
	pthread_t thread;
};

/* [wake-from-thread] */
/* Runs on the loop's thread: completes once the checking thread is done. */
static enum evfut_poll
selftest_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct selftest *t = evfut_container_of(self, struct selftest, base);
	int finished;

	pthread_mutex_lock(&t->lock);
	finished = t->finished;
	if (!finished)
		evfut_waker_store(&t->waker, cx->waker);
	pthread_mutex_unlock(&t->lock);
	if (!finished)
		return EVFUT_PENDING;
	event_base_loopexit(t->loop, NULL);
	return EVFUT_READY;
}

/* Runs on the checking thread, as its last touch of the runtime. */
static void
selftest_finish(struct selftest *t)
{
	struct evfut_waker waker;

	pthread_mutex_lock(&t->lock);
	t->finished = 1;
	waker = t->waker;
	t->waker = (struct evfut_waker)EVFUT_WAKER_EMPTY;
	pthread_mutex_unlock(&t->lock);
	evfut_waker_wake(&waker); /* any thread: it goes through an eventfd */
}
/* [wake-from-thread] */

static void
selftest_drop(struct evfut_future *self)
{
	struct selftest *t = evfut_container_of(self, struct selftest, base);

	pthread_mutex_lock(&t->lock);
	evfut_waker_drop(&t->waker);
	pthread_mutex_unlock(&t->lock);
}

/* A blocking client socket to 127.0.0.1:@port that gives up after 5 s. */
static int
dial(int port)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	struct timeval limit = {5, 0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons((uint16_t)port);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit)) <
	            0 ||
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads until @len bytes or end of file; returns the count, -1 on error. */
static ssize_t
read_full(int fd, char *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = read(fd, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static const char *
check_echo(int port)
{
	static const char msg[] = "ping through evfut\n";
	char back[sizeof msg];
	int fd = dial(port);
	ssize_t n;

	if (fd < 0)
		return "echo: cannot connect";
	n = write(fd, msg, sizeof msg - 1);
	if (n == (ssize_t)(sizeof msg - 1))
		n = read_full(fd, back, sizeof msg - 1);
	close(fd);
	if (n != (ssize_t)(sizeof msg - 1) || memcmp(back, msg, (size_t)n))
		return "echo: the reply differs from the message";
	return NULL;
}

static const char *
check_http(int port)
{
	static const char request[] =
	        "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
	char reply[4096];
	const char *ticks;
	int fd = dial(port);
	ssize_t n;

	if (fd < 0)
		return "http: cannot connect";
	n = write(fd, request, sizeof request - 1);
	if (n == (ssize_t)(sizeof request - 1))
		n = read_full(fd, reply, sizeof reply - 1); /* until close */
	close(fd);
	if (n <= 0)
		return "http: no reply";
	reply[n] = '\0';
	if (strncmp(reply, "HTTP/1.", 7) != 0 || strncmp(reply + 8, " 200 ", 5))
		return "http: not 200 OK";
	ticks = strstr(reply, "evfut ticks: ");
	if (ticks == NULL || strtoul(ticks + 13, NULL, 10) == 0)
		return "http: the ticker's counter is not above 0";
	return NULL;
}

static void *
selftest_thread(void *arg)
{
	struct selftest *t = arg;
	struct timespec wait = {0, 300 * 1000 * 1000};

	nanosleep(&wait, NULL);
	t->failure = check_echo(t->echo_port);
	if (t->failure == NULL)
		t->failure = check_http(t->http_port);
	selftest_finish(t);
	return NULL;
}

/* The tasks below live in main()'s frame: nothing to free on release. */
static void
release_nothing(struct evfut_task *task)
{
	(void)task;
}

/* [host-setup] */
/* The host's part: its own base, and an HTTP server on it. */
static int
host_init(struct host *host)
{
	struct evhttp_bound_socket *bound;
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);

	host->base = event_base_new();
	if (host->base == NULL)
		return -ENOMEM;
	host->http = evhttp_new(host->base);
	if (host->http == NULL)
		return -ENOMEM;
	evhttp_set_allowed_methods(host->http, EVHTTP_REQ_GET);
	evhttp_set_cb(host->http, "/", on_http_root, host);
	bound = evhttp_bind_socket_with_handle(host->http, "127.0.0.1", 0);
	if (bound == NULL || getsockname(evhttp_bound_socket_get_fd(bound),
	                                 (struct sockaddr *)&addr, &len) < 0)
		return -EADDRNOTAVAIL;
	host->http_port = ntohs(addr.sin_port);
	return 0;
}

/* evfut's part: a runtime that borrows the host's base. */
static int
runtime_init(struct host *host)
{
	struct evfut_runtime_options options = {.base = host->base};

	return evfut_runtime_create(&host->rt, &options);
}
/* [host-setup] */

/* [start-tasks] */
/*
 * Tasks in the host's memory, started with evfut_task_start(): their
 * registrations and timers stay where they were set up. Nothing runs yet;
 * the host's loop drains them once it is dispatched.
 */
static int
start_tasks(struct host *host, struct echo_server *echo, struct ticker *ticker,
            struct stopper *stopper)
{
	static const int stop_signals[] = {SIGINT, SIGTERM};
	int rc;

	rc = evfut_tcp_listen(&echo->listener, host->rt, "127.0.0.1", 0, 64, 0);
	if (rc < 0)
		return rc;
	host->echo_port = evfut_io_local_port(&echo->listener);
	evfut_accept_init(&echo->accept, &echo->listener, NULL, NULL);
	evfut_task_start(host->rt, &echo->task, &echo->base, release_nothing);

	rc = evfut_interval_init(&ticker->interval, 100 * EVFUT_MSEC,
	                         EVFUT_MISSED_SKIP);
	if (rc < 0)
		return rc;
	ticker->ticks = &host->ticks;
	evfut_task_start(host->rt, &ticker->task, &ticker->base,
	                 release_nothing);

	rc = evfut_signal_init(&stopper->signal, host->rt, stop_signals, 2);
	if (rc < 0)
		return rc;
	stopper->loop = host->base;
	return evfut_task_start(host->rt, &stopper->task, &stopper->base,
	                        release_nothing);
}
/* [start-tasks] */

static int
start_selftest(struct host *host, struct selftest *t)
{
	t->loop = host->base;
	t->echo_port = host->echo_port;
	t->http_port = host->http_port;
	evfut_task_start(host->rt, &t->task, &t->base, release_nothing);
	return -pthread_create(&t->thread, NULL, selftest_thread, t);
}

/* [dispatch] */
/* The host runs its own loop; evfut's tasks run inside it. */
static int
run_host(struct host *host)
{
	int rc = event_base_dispatch(host->base) < 0 ? -EIO : 0;

	/* The runtime goes before the base: cancelling its tasks drops
	 * their registrations, which are events on the host's base. */
	evfut_runtime_destroy(host->rt);
	host->rt = NULL;
	evhttp_free(host->http);
	host->http = NULL;
	event_base_free(host->base);
	host->base = NULL;
	return rc;
}
/* [dispatch] */

/* After a failure before run_host(): undoes what was made, in reverse. */
static void
host_finish(struct host *host)
{
	evfut_runtime_destroy(host->rt);
	if (host->http != NULL)
		evhttp_free(host->http);
	if (host->base != NULL)
		event_base_free(host->base);
}

int
main(int argc, char **argv)
{
	struct host host = {0};
	struct echo_server echo = {
	        .base = EVFUT_FUTURE_INIT(echo_server_poll, echo_server_drop)};
	struct ticker ticker = {
	        .base = EVFUT_FUTURE_INIT(ticker_poll, ticker_drop)};
	struct stopper stopper = {
	        .base = EVFUT_FUTURE_INIT(stopper_poll, stopper_drop)};
	struct selftest selftest = {
	        .base = EVFUT_FUTURE_INIT(selftest_poll, selftest_drop),
	        .lock = PTHREAD_MUTEX_INITIALIZER};
	int want_selftest = argc == 2 && strcmp(argv[1], "--selftest") == 0;
	int thread_started = 0;
	int rc;

	if (argc > 1 && !want_selftest) {
		fprintf(stderr, "usage: evfut-embed [--selftest]\n");
		return 2;
	}
	rc = host_init(&host);
	if (rc == 0)
		rc = runtime_init(&host);
	if (rc == 0)
		rc = start_tasks(&host, &echo, &ticker, &stopper);
	if (rc == 0 && want_selftest) {
		rc = start_selftest(&host, &selftest);
		thread_started = rc == 0;
	}
	if (rc == 0) {
		printf("http on 127.0.0.1:%d, echo on 127.0.0.1:%d\n",
		       host.http_port, host.echo_port);
		fflush(stdout);
		rc = run_host(&host);
	}
	host_finish(&host);
	if (thread_started)
		pthread_join(selftest.thread, NULL);
	if (rc < 0) {
		fprintf(stderr, "evfut-embed: %s\n", strerror(-rc));
		return 1;
	}
	if (thread_started && selftest.failure != NULL) {
		fprintf(stderr, "evfut-embed: selftest: %s\n",
		        selftest.failure);
		return 1;
	}
	if (thread_started)
		printf("selftest: ok (%lu ticks)\n", host.ticks);
	return 0;
}
