/*
 * echo-client: the load generator of the echo workload (bench/WORKLOADS.md).
 *
 * Run: ./build/release/bench/echo/echo-client --port 7007 [--connections 100]
 *      [--size 64] [--seconds 10] [--label NAME]
 *      against evfut-echo-server or libevent-echo-server (bench/run-echo
 *      runs both, pinned to one core each).
 *
 * Each connection to 127.0.0.1 sends --size bytes and waits for all of
 * them to come back before it sends again, for --seconds; every echoed
 * byte is compared with what was sent, and a mismatch, a surplus byte, an
 * early close or a stalled server ends the run with exit status 1. It then
 * prints one JSON line:
 *
 *   {"workload":"echo","n":ROUND_TRIPS,"rtt_per_s":...,"connections":100,
 *    "size":64,"seconds":10.000,"client_cpu_s":...,"server":"NAME"}
 *
 * Why epoll directly, not evfut or libevent: on a 2-core machine the client
 * gets one core and saturates it before the server does, so every cycle it
 * spends is a cycle of measurement headroom lost; and a client built on the
 * library under test would move with that library's speed, hiding a change
 * in the server. Plain level-triggered epoll with one read and one write per
 * round trip, batches of events per epoll_wait, and no interest change
 * unless a send blocks, is the cheapest loop Linux offers without io_uring.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The payloads are windows into one table of random bytes. */
#define PATTERN_SIZE 65536u
#define MAX_EVENTS   256
/* A server that echoes nothing for this long has hung: fail, don't wait. */
#define STALL_NS 5000000000.0

struct options {
	uint16_t port;
	unsigned connections;
	size_t size;
	double seconds;
	const char *label;
};

struct connection {
	int fd;
	unsigned index;
	size_t sent;     /* bytes of the current message sent */
	size_t got;      /* bytes of it echoed */
	uint64_t rounds; /* completed round trips */
	uint32_t offset; /* where the current message starts in the table */
	int writing;     /* EPOLLOUT is on: a send blocked */
	char *buf;       /* size + 1 bytes: room to notice a surplus */
};

static unsigned char *pattern; /* PATTERN_SIZE + size random bytes */
static int epfd;

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void
die(const char *what)
{
	fprintf(stderr, "echo-client: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* WORKLOADS.md's generator: xorshift64 seeded with 42, one call a value. */
static int
make_pattern(size_t size)
{
	uint64_t x = 42;
	size_t i;

	pattern = malloc(PATTERN_SIZE + size);
	if (pattern == NULL)
		return -1;
	for (i = 0; i < PATTERN_SIZE + size; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		pattern[i] = (unsigned char)(x % 256);
	}
	return 0;
}

/* A different window per connection and round, so a mixed-up echo shows. */
static uint32_t
message_offset(const struct connection *c)
{
	return (uint32_t)((c->index * 4099u + c->rounds * 67u) % PATTERN_SIZE);
}

static void
set_interest(struct connection *c, int writing)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};

	if (writing)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		die("epoll_ctl");
	c->writing = writing;
}

/* Sends what is left of the current message; waits for EPOLLOUT if full. */
static void
send_rest(struct connection *c, size_t size)
{
	ssize_t n;

	while (c->sent < size) {
		n = send(c->fd, pattern + c->offset + c->sent, size - c->sent,
		         MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!c->writing)
				set_interest(c, 1);
			return;
		}
		if (n < 0)
			die("send");
		c->sent += (size_t)n;
	}
	if (c->writing)
		set_interest(c, 0);
}

static void
start_message(struct connection *c, size_t size)
{
	c->offset = message_offset(c);
	c->sent = 0;
	c->got = 0;
	send_rest(c, size);
}

static void
mismatch(const struct connection *c, size_t size)
{
	const unsigned char *want = pattern + c->offset;
	size_t i;

	for (i = 0; i < size && (unsigned char)c->buf[i] == want[i]; i++)
		;
	fprintf(stderr,
	        "echo-client: MISMATCH on connection %u, round trip %llu, "
	        "byte %zu of %zu: sent 0x%02x, got back 0x%02x\n",
	        c->index, (unsigned long long)c->rounds, i, size, want[i],
	        (unsigned char)c->buf[i]);
	exit(1);
}

/* Reads what arrived; returns 1 when a round trip completed. */
static int
receive(struct connection *c, size_t size)
{
	ssize_t n;

	n = read(c->fd, c->buf + c->got, size + 1 - c->got);
	if (n < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n < 0)
		die("read");
	if (n == 0) {
		fprintf(stderr,
		        "echo-client: server closed connection %u after %llu "
		        "round trips\n",
		        c->index, (unsigned long long)c->rounds);
		exit(1);
	}
	c->got += (size_t)n;
	if (c->got > size || c->got > c->sent) {
		fprintf(stderr,
		        "echo-client: connection %u got %zu bytes back for "
		        "%zu sent\n",
		        c->index, c->got, c->sent);
		exit(1);
	}
	if (c->got < size)
		return 0;
	if (memcmp(c->buf, pattern + c->offset, size) != 0)
		mismatch(c, size);
	c->rounds++;
	return 1;
}

static struct connection *
open_connections(const struct options *opt)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	struct connection *conns = calloc(opt->connections, sizeof(*conns));
	struct epoll_event ev = {.events = EPOLLIN};
	int on = 1;
	unsigned i;

	if (conns == NULL)
		die("calloc");
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons(opt->port);
	for (i = 0; i < opt->connections; i++) {
		struct connection *c = &conns[i];

		c->index = i;
		c->buf = malloc(opt->size + 1);
		c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->buf == NULL || c->fd < 0)
			die("socket");
		if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
			die("connect");
		if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &on,
		               sizeof(on)) < 0 ||
		    fcntl(c->fd, F_SETFL, O_NONBLOCK) < 0)
			die("setsockopt");
		ev.data.ptr = c;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
			die("epoll_ctl");
	}
	return conns;
}

/*
 * Runs the round trips until the deadline. Time is read once per batch of
 * events: the batch that crosses the deadline is counted, and starts
 * nothing new. Returns the round trips and the elapsed time.
 */
static uint64_t
run(struct connection *conns, const struct options *opt, double *elapsed_ns)
{
	struct epoll_event events[MAX_EVENTS];
	double start = now_ns();
	double deadline = start + opt->seconds * 1e9;
	double last_progress = start;
	double now = start;
	uint64_t n = 0;
	int ready;
	int i;
	unsigned k;

	for (k = 0; k < opt->connections; k++)
		start_message(&conns[k], opt->size);
	while (now < deadline) {
		ready = epoll_wait(epfd, events, MAX_EVENTS, 100);
		if (ready < 0 && errno != EINTR)
			die("epoll_wait");
		now = now_ns();
		if (ready > 0)
			last_progress = now;
		else if (now - last_progress > STALL_NS)
			break;
		for (i = 0; i < ready; i++) {
			struct connection *c = events[i].data.ptr;

			if ((events[i].events & EPOLLOUT) && c->writing)
				send_rest(c, opt->size);
			if (!(events[i].events &
			      (EPOLLIN | EPOLLERR | EPOLLHUP)))
				continue;
			if (receive(c, opt->size)) {
				n++;
				if (now < deadline)
					start_message(c, opt->size);
			}
		}
	}
	if (now - last_progress > STALL_NS) {
		fprintf(stderr,
		        "echo-client: the server stalled: no echo in "
		        "%.0f s\n",
		        STALL_NS / 1e9);
		exit(1);
	}
	*elapsed_ns = now - start;
	return n;
}

static int
usage(void)
{
	fprintf(stderr, "usage: echo-client --port PORT [--connections N] "
	                "[--size BYTES] [--seconds S] [--label NAME]\n");
	return 2;
}

/* The label goes into JSON unescaped, so keep it to safe characters. */
static int
valid_label(const char *s)
{
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                 "0123456789._-") == strlen(s);
}

static int
parse_args(int argc, char **argv, struct options *opt)
{
	char *end;
	double v;
	int i;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--label") == 0) {
			opt->label = argv[i + 1];
			if (!valid_label(opt->label))
				return usage();
			continue;
		}
		v = strtod(argv[i + 1], &end);
		if (*end != '\0' || v <= 0)
			return usage();
		if (strcmp(argv[i], "--port") == 0 && v <= 65535)
			opt->port = (uint16_t)v;
		else if (strcmp(argv[i], "--connections") == 0 && v <= 100000)
			opt->connections = (unsigned)v;
		else if (strcmp(argv[i], "--size") == 0 && v <= 1 << 24)
			opt->size = (size_t)v;
		else if (strcmp(argv[i], "--seconds") == 0)
			opt->seconds = v;
		else
			return usage();
	}
	if (i != argc || opt->port == 0 || opt->connections == 0 ||
	    opt->size == 0)
		return usage();
	return 0;
}

int
main(int argc, char **argv)
{
	struct options opt = {0, 100, 64, 10.0, "unknown"};
	struct connection *conns;
	struct rusage ru;
	double elapsed_ns;
	uint64_t n;
	unsigned k;
	int rc;

	rc = parse_args(argc, argv, &opt);
	if (rc != 0)
		return rc;
	if (make_pattern(opt.size) < 0)
		die("malloc");
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1");
	conns = open_connections(&opt);
	n = run(conns, &opt, &elapsed_ns);
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"workload\":\"echo\",\"n\":%llu,\"rtt_per_s\":%.1f,"
	       "\"connections\":%u,\"size\":%zu,\"seconds\":%.3f,"
	       "\"client_cpu_s\":%.3f,\"server\":\"%s\"}\n",
	       (unsigned long long)n, (double)n * 1e9 / elapsed_ns,
	       opt.connections, opt.size, elapsed_ns / 1e9,
	       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	               (double)ru.ru_stime.tv_sec +
	               (double)ru.ru_stime.tv_usec / 1e6,
	       opt.label);
	for (k = 0; k < opt.connections; k++) {
		close(conns[k].fd);
		free(conns[k].buf);
	}
	free(conns);
	free(pattern);
	close(epfd);
	return 0;
}
