/*
 * conn.h: the connection task. One task per accepted connection reads
 * requests, answers them in order, and enforces the limits: head size,
 * header deadline, idle timeout, and the grace period of a shutdown.
 */
#ifndef HTTP_CONN_H
#define HTTP_CONN_H

#include <evfut.h>

#include "request.h"

struct server;

/* The connection buffers: a read's worth of requests, and their answers. */
#define CONN_IN_SIZE  4096
#define CONN_OUT_SIZE 4096

/* What the connection waits for. */
enum conn_state {
	CONN_START,  /* spawned, not polled yet */
	CONN_READ,   /* reading requests */
	CONN_WRITE,  /* writing answers */
	CONN_LINGER, /* answered and closing: draining what the peer sends */
};

struct conn {
	struct evfut_future base;
	struct server *server;
	int fd; /* registered on the first poll, in the task's copy */
	enum conn_state state;
	unsigned closing; /* the last answer closes the connection */
	/* the server's list, to wake every connection at shutdown */
	struct conn *prev, *next;
	struct evfut_waker waker;
	struct evfut_io io;
	struct evfut_io_op op;
	evfut_nsec last_active; /* last read or write start */
	evfut_nsec head_start;  /* the first byte of the request being read */
	struct http_reader reader;
	size_t in_pos, in_len, out_len;
	char in[CONN_IN_SIZE];
	char out[CONN_OUT_SIZE];
};

/*
 * Spawns a connection task for @p fd (owned by the task from now on, or
 * closed on failure) on the runtime of @p cx.
 *
 * @return 0 or the negative errno of evfut_task_spawn().
 */
int conn_spawn(struct server *server, int fd, struct evfut_context *cx);

/* Wakes the task of @p c, so that it sees the server draining. */
void conn_wake(struct conn *c);

#endif /* HTTP_CONN_H */
