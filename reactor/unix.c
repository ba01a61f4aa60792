/*
 * Unix-domain listeners that clean up after themselves, and the
 * credentials of a Unix peer.
 *
 * A socket file outlives the server that bound it, and a second bind to
 * the path fails with EADDRINUSE. Whether the file is stale is asked of
 * the kernel, not guessed: a connect to it is refused only when nothing
 * listens there. The same care holds at close: the path is unlinked only
 * if it is still the file this listener made (its device and inode), so a
 * server that replaced it keeps its own.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "evfut/net.h"

#include "sockets.h"

int
evfut__unix_address(struct sockaddr_un *addr, socklen_t *len, const char *path,
                    bool abstract)
{
	size_t n;

	if (path == NULL || path[0] == '\0')
		return -EINVAL;
	n = strlen(path);
	if (n >= sizeof(addr->sun_path))
		return -ENAMETOOLONG;
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	memcpy(addr->sun_path, path, n);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	if (!abstract || path[0] != '@')
		return 0;
#ifdef __linux__
	if (n == 1)
		return -EINVAL;
	/* The name is the bytes after the NUL, without a terminator. */
	addr->sun_path[0] = '\0';
	*len -= 1;
	return 0;
#else
	return -ENOTSUP;
#endif
}

/* Whether @l names a file (not an abstract name). */
static bool
is_file(const struct evfut_unix_listener *l)
{
	return l->addr.sun_path[0] != '\0';
}

/* 1 if a connect to @l's path is refused (nothing accepts there), else 0. */
static int
nobody_listens(const struct evfut_unix_listener *l)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int refused;

	if (fd < 0)
		return -errno;
	refused = connect(fd, (const struct sockaddr *)&l->addr, l->addr_len) <
	                  0 &&
	          errno == ECONNREFUSED;
	close(fd);
	return refused;
}

/* Unlinks a stale socket file at @l's path: 0, -EADDRINUSE if the file is
 * not a socket or something accepts on it, or another negative errno. */
static int
remove_stale(const struct evfut_unix_listener *l)
{
	struct stat st;
	int rc;

	if (lstat(l->addr.sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EADDRINUSE;
	rc = nobody_listens(l);
	if (rc <= 0)
		return rc < 0 ? rc : -EADDRINUSE;
	if (unlink(l->addr.sun_path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int
bind_path(struct evfut_unix_listener *l, int fd, unsigned flags)
{
	const struct sockaddr *addr = (const struct sockaddr *)&l->addr;
	int rc;

	if (bind(fd, addr, l->addr_len) == 0)
		return 0;
	if (errno != EADDRINUSE || !(flags & EVFUT_UNIX_UNLINK) || !is_file(l))
		return -errno;
	rc = remove_stale(l);
	if (rc < 0)
		return rc;
	return bind(fd, addr, l->addr_len) < 0 ? -errno : 0;
}

/* Remembers which file the bind made, for close to recognise it. */
static int
note_file(struct evfut_unix_listener *l)
{
	struct stat st;

	if (!is_file(l))
		return 0;
	if (lstat(l->addr.sun_path, &st) < 0)
		return -errno;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	return 0;
}

int
evfut_unix_listener_open(struct evfut_unix_listener *l,
                         struct evfut_runtime *rt, const char *path,
                         int backlog, unsigned flags)
{
	int fd;
	int rc;

	if (l == NULL || rt == NULL || backlog < 0 ||
	    (flags & ~EVFUT_UNIX_UNLINK))
		return -EINVAL;
	memset(l, 0, sizeof(*l));
	rc = evfut__unix_address(&l->addr, &l->addr_len, path, true);
	if (rc < 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = bind_path(l, fd, flags);
	if (rc < 0)
		goto fail_fd;
	rc = note_file(l);
	if (rc == 0 && listen(fd, backlog) < 0)
		rc = -errno;
	if (rc == 0)
		rc = evfut_io_register(&l->io, rt, fd);
	if (rc < 0)
		goto fail_file;
	l->flags = flags;
	return 0;

fail_file:
	if (is_file(l))
		unlink(l->addr.sun_path);
fail_fd:
	close(fd);
	return rc;
}

/* Unlinks @l's path if it is still the file @l made. */
static int
unlink_own_file(const struct evfut_unix_listener *l)
{
	struct stat st;

	if (lstat(l->addr.sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode) || st.st_dev != l->dev || st.st_ino != l->ino)
		return 0;
	return unlink(l->addr.sun_path) < 0 && errno != ENOENT ? -errno : 0;
}

int
evfut_unix_listener_close(struct evfut_unix_listener *l)
{
	int unlinked = 0;
	int closed;

	if (l == NULL || evfut_io_fd(&l->io) < 0)
		return 0;
	/* Before the close: while it listens, no one takes the path. */
	if ((l->flags & EVFUT_UNIX_UNLINK) && is_file(l))
		unlinked = unlink_own_file(l);
	closed = evfut_io_close(&l->io);
	l->flags = 0;
	return unlinked < 0 ? unlinked : closed;
}

int
evfut_unix_peer_cred(const struct evfut_io *io, pid_t *pid, uid_t *uid,
                     gid_t *gid)
{
#ifdef SO_PEERCRED
	struct sockaddr_storage addr;
	socklen_t len = sizeof(addr);
	struct ucred cred;
	int fd;

	if (io == NULL)
		return -EINVAL;
	fd = evfut_io_fd(io);
	if (fd < 0)
		return -EBADF;
	if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
		return -errno;
	if (addr.ss_family != AF_UNIX)
		return -EAFNOSUPPORT;
	/* A listener has credentials too (its own): only a peer counts. */
	len = sizeof(addr);
	if (getpeername(fd, (struct sockaddr *)&addr, &len) < 0)
		return -errno;
	len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	if (pid != NULL)
		*pid = cred.pid;
	if (uid != NULL)
		*uid = cred.uid;
	if (gid != NULL)
		*gid = cred.gid;
	return 0;
#else
	(void)pid;
	(void)uid;
	(void)gid;
	return io == NULL ? -EINVAL : -ENOTSUP;
#endif
}
