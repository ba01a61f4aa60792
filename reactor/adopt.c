/*
 * Sockets the caller created and configured, connected or listening
 * through evfut. Each call registers first and acts second, so that a
 * failure can be undone completely: the registration removed, the
 * descriptor's flags restored, the descriptor left to the caller.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>

#include "evfut/net.h"

#include "sockets.h"

/* The file status flags of @fd, a socket; whether it listens. */
static int
socket_flags(int fd, int *listening)
{
	socklen_t len = sizeof(*listening);
	int flags = fd < 0 ? -1 : fcntl(fd, F_GETFL);

	if (flags < 0)
		return -EBADF;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, listening, &len) < 0)
		return -errno;
	return flags;
}

/* Undoes evfut_io_register() on @fd, whose flags were @flags. */
static int
unregister(struct evfut_io *io, int fd, int flags, int rc)
{
	evfut_io_deregister(io);
	fcntl(fd, F_SETFL, flags);
	return rc;
}

int
evfut__connect_start(struct evfut_io *io, struct evfut_runtime *rt, int fd,
                     int flags, const struct sockaddr *to, socklen_t len)
{
	int rc = evfut_io_register(io, rt, fd);

	if (rc < 0)
		return rc;
	/* Non-blocking: the result comes with writability (SO_ERROR). */
	if (connect(fd, to, len) < 0 && errno != EINPROGRESS && errno != EINTR)
		return unregister(io, fd, flags, -errno);
	return 0;
}

int
evfut_io_connect_start(struct evfut_io *io, struct evfut_runtime *rt, int fd,
                       const struct sockaddr *to, socklen_t len)
{
	int listening;
	int flags;

	if (io == NULL || rt == NULL || to == NULL || len == 0 ||
	    len > sizeof(struct sockaddr_storage))
		return -EINVAL;
	flags = socket_flags(fd, &listening);
	if (flags < 0)
		return flags;
	if (listening)
		return -EINVAL;
	return evfut__connect_start(io, rt, fd, flags, to, len);
}

int
evfut_io_listen(struct evfut_io *io, struct evfut_runtime *rt, int fd,
                int backlog)
{
	int listening;
	int flags;
	int rc;

	if (io == NULL || rt == NULL || backlog < 0)
		return -EINVAL;
	flags = socket_flags(fd, &listening);
	if (flags < 0)
		return flags;
	rc = evfut_io_register(io, rt, fd);
	if (rc < 0)
		return rc;
	if (listen(fd, backlog) < 0)
		return unregister(io, fd, flags, -errno);
	return 0;
}
