/*
 * Connecting by name: resolve, then try each address in turn until one
 * connects. Each attempt is a socket registered in the caller's
 * registration, closed before the next, so at most one descriptor is open
 * at a time and a drop closes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evfut/net.h"

#include "sockets.h"

enum {
	CONNECT_RESOLVING,
	CONNECT_NEXT,       /* about to try the next address */
	CONNECT_CONNECTING, /* an attempt's socket is in the registration */
	CONNECT_DONE,
};

static enum evfut_poll connect_poll(struct evfut_future *self,
                                    struct evfut_context *cx);
static void connect_drop(struct evfut_future *self);

static void
connect_setup(struct evfut_connect_host *op, struct evfut_io *io,
              unsigned state)
{
	memset(op, 0, sizeof(*op));
	op->base.poll = connect_poll;
	op->base.drop = connect_drop;
	op->io = io;
	op->state = state;
	op->result = -ENOENT; /* an empty list: no address to try */
}

int
evfut_connect_host_init(struct evfut_connect_host *op, struct evfut_io *io,
                        const char *host, const char *service, int socktype)
{
	struct addrinfo hints = {.ai_flags = AI_ADDRCONFIG,
	                         .ai_family = AF_UNSPEC,
	                         .ai_socktype = socktype};
	int rc;

	if (op == NULL)
		return -EINVAL;
	connect_setup(op, io, CONNECT_DONE);
	if (io == NULL || host == NULL || service == NULL ||
	    (socktype != SOCK_STREAM && socktype != SOCK_DGRAM))
		return -EINVAL;
	rc = evfut_lookup_host_init(&op->lookup, host, service, &hints);
	if (rc < 0)
		return rc;
	op->state = CONNECT_RESOLVING;
	return 0;
}

int
evfut_connect_addrs_init(struct evfut_connect_host *op, struct evfut_io *io,
                         const struct addrinfo *addrs)
{
	if (op == NULL || io == NULL || addrs == NULL)
		return -EINVAL;
	connect_setup(op, io, CONNECT_NEXT);
	op->lookup.base.drop = NULL; /* nothing to drop: no lookup */
	op->next = addrs;
	return 0;
}

/* Starts connecting to @a: 0 with the socket registered, or an error. */
static int
attempt(struct evfut_connect_host *op, struct evfut_runtime *rt,
        const struct addrinfo *a)
{
	int type = a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC;
	int fd = socket(a->ai_family, type, a->ai_protocol);
	int rc;

	if (fd < 0)
		return -errno;
	rc = evfut__connect_start(op->io, rt, fd, O_RDWR | O_NONBLOCK,
	                          a->ai_addr, a->ai_addrlen);
	if (rc < 0)
		close(fd);
	return rc;
}

static enum evfut_poll
finish(struct evfut_connect_host *op, int result)
{
	op->result = result;
	op->state = CONNECT_DONE;
	op->next = NULL;
	/* The list is not needed any more: free it now. */
	evfut_future_drop(&op->lookup.base);
	return EVFUT_READY;
}

static enum evfut_poll
connect_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_connect_host *op =
	        evfut_container_of(self, struct evfut_connect_host, base);
	const struct addrinfo *a;
	int rc;

	if (op->state == CONNECT_DONE)
		return EVFUT_READY;
	if (cx->runtime == NULL)
		return finish(op, -EINVAL);
	if (op->state == CONNECT_RESOLVING) {
		if (evfut_future_poll(&op->lookup.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		if (op->lookup.result < 0)
			return finish(op, op->lookup.result);
		op->next = op->lookup.addrs;
		op->state = CONNECT_NEXT;
	}
	for (;;) {
		if (op->state == CONNECT_CONNECTING) {
			if (evfut_future_poll(&op->connect.base, cx) ==
			    EVFUT_PENDING)
				return EVFUT_PENDING;
			if (op->connect.result == 0)
				return finish(op, 0);
			op->result = (int)op->connect.result;
			evfut_io_close(op->io);
			op->state = CONNECT_NEXT;
		}
		if ((a = op->next) == NULL)
			return finish(op, op->result);
		op->next = a->ai_next;
		op->attempts++;
		rc = attempt(op, cx->runtime, a);
		if (rc < 0) {
			op->result = rc;
			continue;
		}
		evfut_connect_init(&op->connect, op->io);
		op->state = CONNECT_CONNECTING;
	}
}

static void
connect_drop(struct evfut_future *self)
{
	struct evfut_connect_host *op =
	        evfut_container_of(self, struct evfut_connect_host, base);

	if (op->state == CONNECT_CONNECTING) {
		evfut_future_drop(&op->connect.base);
		evfut_io_close(op->io);
	}
	op->state = CONNECT_DONE;
	evfut_future_drop(&op->lookup.base);
}
