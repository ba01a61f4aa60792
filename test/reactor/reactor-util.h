/*
 * Futures and helpers shared by the reactor suites: an echo connection, a
 * server that accepts and spawns echo connections, a client that connects,
 * writes and reads at once and verifies every byte, and small socket
 * helpers.
 */
#ifndef EVFUT_TEST_REACTOR_UTIL_H
#define EVFUT_TEST_REACTOR_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

/* Totals over every echo connection of a test. */
struct echo_stats {
	unsigned long finished; /* connections that saw EOF or an error */
	unsigned long errors;   /* of which with a negative result */
	uint64_t bytes;         /* echoed */
};

/*
 * Echoes what it reads on @fd until end of file, then closes it. Register
 * happens at the first poll, in the task's copy; a nonzero @bufsize sets the
 * socket buffers to that many bytes first.
 */
struct echo_conn {
	struct evfut_future base;
	int fd;
	int bufsize; /* socket buffer bytes; 0 leaves the default */
	struct echo_stats *stats;
	/* private */
	bool registered;
	bool writing;
	struct evfut_io io;
	struct evfut_io_op op;
	char buf[8192];
};

void echo_conn_init(struct echo_conn *c, int fd, int bufsize,
                    struct echo_stats *stats);

/*
 * Accepts on @listener (registered by the caller, at an address that
 * outlives the task) and spawns an echo connection per accepted
 * descriptor; finishes after @max connections, closing the listener.
 * @accepted counts them and @waiter (if not empty) is woken at each.
 */
struct server_shared {
	struct evfut_io listener;
	unsigned long accepted;
	unsigned long max;
	int bufsize; /* the echo connections' socket buffers */
	bool stop;
	struct evfut_waker waiter;
	struct echo_stats echo;
};

struct server {
	struct evfut_future base;
	struct server_shared *shared;
	/* private */
	bool started;
	struct evfut_io_op accept;
};

void server_init(struct server *s, struct server_shared *shared);

/* How a client reaches its peer. */
enum client_kind {
	CLIENT_FD,   /* an existing descriptor */
	CLIENT_TCP,  /* 127.0.0.1:port */
	CLIENT_UNIX, /* a Unix-domain path */
};

/* What a client reports; lives outside the task. */
struct client_result {
	int status;      /* 0 when every byte came back and EOF followed */
	size_t verified; /* bytes that came back equal */
	unsigned polls;
	bool done;
};

/*
 * Connects, then writes @len pattern bytes (seeded by @seed) while reading
 * them back, verifies them, shuts down its side, waits for end of file and
 * closes.
 */
struct client {
	struct evfut_future base;
	enum client_kind kind;
	int fd;
	uint16_t port;
	const char *path;
	size_t len;
	unsigned seed;
	int bufsize; /* socket buffer bytes; 0 leaves the default */
	struct client_result *result;
	/* private */
	int state;
	bool registered;
	bool wrote;
	bool read;
	unsigned char *out;
	unsigned char *in;
	struct evfut_io io;
	struct evfut_io_op wr;
	struct evfut_io_op rd;
};

void client_init(struct client *c, enum client_kind kind, size_t len,
                 unsigned seed, struct client_result *result);

/* The pattern byte @i of seed @seed. */
unsigned char pattern_byte(unsigned seed, size_t i);
void pattern_fill(unsigned char *buf, size_t len, unsigned seed);

/* Sets SO_SNDBUF and SO_RCVBUF to @bytes (the kernel raises them to its
 * minimum, and doubles them for bookkeeping). */
void set_buffers(int fd, int bytes);
/* The smallest buffers the kernel allows. */
#define shrink_buffers(fd) set_buffers((fd), 1)

/* A connected AF_UNIX stream pair. */
void make_socketpair(int fds[2]);
/* A connected loopback TCP pair: @fds[0] accepted, @fds[1] the client. */
void tcp_socket_pair(int fds[2]);
/* Closes @fd with SO_LINGER 0: the peer gets a reset. */
void close_with_reset(int fd);

/* A context on harness_rt with @waker (borrowed), for polling by hand. */
struct evfut_context counter_context(const struct evfut_waker *waker);
/* One pass of harness_rt's event_base, waiting for an event if @block. */
void loop_once(bool block);

/*
 * Events added to @base that watch a descriptor or a signal. Timeouts are
 * left out: with -Dtimer_fallback=true the timer driver's source is a
 * libevent timeout, which may stay armed (early) after its last timer went.
 */
int added_events(struct event_base *base);

/* libevent events per registration on harness_rt's backend: 1 with edges
 * (epoll), 2 on a level-triggered one (poll, select). */
int events_per_io(void);
/* Whether harness_rt's backend is @method ("epoll", "poll", "select"). */
bool backend_is(const char *method);

/* Runs @future to completion on harness_rt and asserts that it did. */
void await(struct evfut_future *future);

/*
 * Runs @future on harness_rt under a timeout of @seconds, a guard against
 * hanging on a lost wakeup (not a timing assertion), then drops it.
 */
void await_or_fail(struct evfut_future *future, unsigned seconds);

/* A future that completes once a counter reaches a target. */
struct wait_count {
	struct evfut_future base;
	const unsigned long *counter;
	unsigned long target;
	struct evfut_waker *slot;
};

void wait_count_init(struct wait_count *w, const unsigned long *counter,
                     unsigned long target, struct evfut_waker *slot);

#endif
