/*
 * Sockets: listeners and connections for TCP, UDP and Unix-domain streams,
 * created non-blocking and close-on-exec and registered at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "evfut/io.h"

#include "sockets.h"

/* Fills @addr from a numeric IPv4 or IPv6 address; NULL is 127.0.0.1. */
static int
parse_address(struct sockaddr_storage *addr, socklen_t *len, const char *host,
              uint16_t port)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;

	memset(addr, 0, sizeof(*addr));
	if (host == NULL)
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

static int
new_socket(int family, int type)
{
	int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

/* A socket of @type for @host:@port, with the address in @addr. */
static int
inet_socket(struct sockaddr_storage *addr, socklen_t *len, const char *host,
            uint16_t port, int type)
{
	int rc = parse_address(addr, len, host, port);

	return rc < 0 ? rc : new_socket(addr->ss_family, type);
}

/* A Unix-domain stream socket for the file @path, its address in @addr. */
static int
unix_socket(struct sockaddr_un *addr, socklen_t *len, const char *path)
{
	int rc = evfut__unix_address(addr, len, path, false);

	return rc < 0 ? rc : new_socket(AF_UNIX, SOCK_STREAM);
}

/* Registers @fd in @io, closing it on failure. */
static int
adopt(struct evfut_io *io, struct evfut_runtime *rt, int fd)
{
	int rc = evfut_io_register(io, rt, fd);

	if (rc < 0)
		close(fd);
	return rc;
}

static int
set_flag(int fd, int level, int name)
{
	int on = 1;

	return setsockopt(fd, level, name, &on, sizeof(on)) < 0 ? -errno : 0;
}

/* Binds, listens if @backlog >= 0, and registers; closes @fd on failure. */
static int
bind_and_adopt(struct evfut_io *io, struct evfut_runtime *rt, int fd,
               const struct sockaddr *addr, socklen_t len, int backlog)
{
	if (bind(fd, addr, len) < 0 ||
	    (backlog >= 0 && listen(fd, backlog) < 0)) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return adopt(io, rt, fd);
}

int
evfut_tcp_listen(struct evfut_io *io, struct evfut_runtime *rt,
                 const char *host, uint16_t port, int backlog, unsigned flags)
{
	struct sockaddr_storage addr;
	socklen_t len;
	int fd;
	int rc;

	if (io == NULL || rt == NULL || backlog < 0 ||
	    (flags & ~EVFUT_REUSEPORT))
		return -EINVAL;
	rc = parse_address(&addr, &len, host, port);
	if (rc < 0)
		return rc;
	fd = new_socket(addr.ss_family, SOCK_STREAM);
	if (fd < 0)
		return fd;
	rc = set_flag(fd, SOL_SOCKET, SO_REUSEADDR);
	if (rc == 0 && (flags & EVFUT_REUSEPORT))
		rc = set_flag(fd, SOL_SOCKET, SO_REUSEPORT);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return bind_and_adopt(io, rt, fd, (struct sockaddr *)&addr, len,
	                      backlog);
}

int
evfut_io_local_port(const struct evfut_io *io)
{
	struct sockaddr_storage addr;
	socklen_t len = sizeof(addr);

	if (io == NULL || io->event == NULL)
		return -EBADF;
	if (getsockname(io->fd, (struct sockaddr *)&addr, &len) < 0)
		return -errno;
	if (addr.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&addr)->sin_port);
	if (addr.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
	return -EAFNOSUPPORT;
}

/* Starts connecting @fd, new, and registers it; closes @fd on failure. */
static int
connect_and_adopt(struct evfut_io *io, struct evfut_runtime *rt, int fd,
                  const struct sockaddr *addr, socklen_t len)
{
	int rc = evfut__connect_start(io, rt, fd, O_RDWR | O_NONBLOCK, addr,
	                              len);

	if (rc < 0)
		close(fd);
	return rc;
}

int
evfut_tcp_connect_start(struct evfut_io *io, struct evfut_runtime *rt,
                        const char *host, uint16_t port)
{
	struct sockaddr_storage addr;
	socklen_t len;
	int fd;

	if (io == NULL || rt == NULL)
		return -EINVAL;
	fd = inet_socket(&addr, &len, host, port, SOCK_STREAM);
	if (fd < 0)
		return fd;
	return connect_and_adopt(io, rt, fd, (struct sockaddr *)&addr, len);
}

int
evfut_tcp_set_nodelay(struct evfut_io *io, int on)
{
	if (io == NULL || io->event == NULL)
		return -EBADF;
	if (setsockopt(io->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) < 0)
		return -errno;
	return 0;
}

int
evfut_udp_bind(struct evfut_io *io, struct evfut_runtime *rt, const char *host,
               uint16_t port)
{
	struct sockaddr_storage addr;
	socklen_t len;
	int fd;

	if (io == NULL || rt == NULL)
		return -EINVAL;
	fd = inet_socket(&addr, &len, host, port, SOCK_DGRAM);
	if (fd < 0)
		return fd;
	return bind_and_adopt(io, rt, fd, (struct sockaddr *)&addr, len, -1);
}

int
evfut_unix_listen(struct evfut_io *io, struct evfut_runtime *rt,
                  const char *path, int backlog)
{
	struct sockaddr_un addr;
	socklen_t len;
	int fd;

	if (io == NULL || rt == NULL || backlog < 0)
		return -EINVAL;
	fd = unix_socket(&addr, &len, path);
	if (fd < 0)
		return fd;
	return bind_and_adopt(io, rt, fd, (struct sockaddr *)&addr, len,
	                      backlog);
}

int
evfut_unix_connect_start(struct evfut_io *io, struct evfut_runtime *rt,
                         const char *path)
{
	struct sockaddr_un addr;
	socklen_t len;
	int fd;

	if (io == NULL || rt == NULL)
		return -EINVAL;
	fd = unix_socket(&addr, &len, path);
	if (fd < 0)
		return fd;
	return connect_and_adopt(io, rt, fd, (struct sockaddr *)&addr, len);
}
