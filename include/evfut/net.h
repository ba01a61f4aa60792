/*
 * evfut/net.h: connecting by name, sockets the caller configured, and Unix
 * listeners.
 *
 * evfut_lookup_host resolves a name with getaddrinfo() on the runtime's
 * blocking pool (a numeric address is parsed at once, with no thread);
 * evfut_connect_host resolves and then connects to each address in turn
 * until one accepts. evfut_io_connect_start() and evfut_io_listen() take a
 * socket the caller created and configured (buffer sizes, a source
 * address, SO_REUSEPORT) and drive it through evfut. A Unix listener can
 * remove a stale socket file and, when closed, the file it made; the peer
 * of a Unix connection can be asked who it is.
 *
 * Name resolution errors are negative errno values (docs/connecting.md):
 * -ENOENT for EAI_NONAME, EAI_SERVICE, EAI_NODATA and EAI_ADDRFAMILY (no
 * such name or service, or no address for it); -EAGAIN for EAI_AGAIN (a
 * temporary failure: try again); -EIO for EAI_FAIL (the name server failed
 * for good) and any code not listed; -ENOMEM for EAI_MEMORY;
 * -EAFNOSUPPORT for EAI_FAMILY; -ESOCKTNOSUPPORT for EAI_SOCKTYPE; -EINVAL
 * for EAI_BADFLAGS; -EOVERFLOW for EAI_OVERFLOW; and for EAI_SYSTEM, the
 * errno of the call that failed (-EIO if none).
 */
#ifndef EVFUT_NET_H
#define EVFUT_NET_H

#include <netdb.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "blocking.h"
#include "common.h"
#include "future.h"
#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

struct evfut_runtime;
struct evfut__lookup;

/**
 * A name resolution: getaddrinfo() on the blocking pool of the runtime
 * that polls it (see evfut_runtime_blocking_pool()). A host that is a
 * numeric address (or NULL) with a numeric service is parsed at the first
 * poll, on the runtime's thread, without the pool or a runtime.
 *
 * Dropping it at any point is safe and never waits: a getaddrinfo() in
 * flight finishes on its pool thread, which frees what it made.
 */
struct evfut_lookup_host {
	/* public */
	struct evfut_future base; /**< Poll and drop through this. */
	/* read-only */
	int result; /**< 0, or a negative errno (see the table above);
	                 -EINVAL: a name polled outside a runtime;
	                 -ECANCELED: the pool was destroyed before it ran
	                 (a pool the caller gave the runtime). */
	struct addrinfo *addrs; /**< Once result is 0: the addresses, in
	                             getaddrinfo()'s order, owned by the
	                             future until its drop frees them. */
	/* private */
	struct evfut__lookup *request;
	struct evfut_blocking job;
	unsigned state;
};

/**
 * Initialises @p op to resolve @p host (a name, a numeric address, or NULL
 * for the loopback address, or the wildcard one with AI_PASSIVE) and
 * @p service (a port number or a service name, or NULL) with @p hints
 * (NULL: any family, any socket type, AI_ADDRCONFIG).
 *
 * @p host and @p service are copied; @p hints is read now. Drop @p op
 * even if it is never polled: it holds the copies.
 *
 * @return 0; -EINVAL if @p op is NULL or both names are NULL; -ENOMEM.
 * Any thread; poll it on the runtime's thread.
 */
EVFUT_API int evfut_lookup_host_init(struct evfut_lookup_host *op,
                                     const char *host, const char *service,
                                     const struct addrinfo *hints);

/**
 * Connects to a list of addresses, trying each in turn, optionally after
 * resolving a name (evfut_connect_host_init()).
 *
 * Each attempt is a new non-blocking socket of the address's family, type
 * and protocol, registered in the caller's registration while it connects;
 * a failed one is closed before the next. On success the connected socket
 * stays registered there: the caller owns it and closes it with
 * evfut_io_close(). Dropping the operation at any point closes the socket
 * of the attempt in progress and frees the resolved list.
 *
 * There is no timeout per address: wrap the operation in a timeout (or an
 * I/O deadline on each attempt's registration) when a peer may never
 * answer.
 */
struct evfut_connect_host {
	/* public */
	struct evfut_future base; /**< Poll and drop through this. */
	/* read-only */
	int result;        /**< 0: connected, the socket registered in the
	                        caller's registration; or the negative errno of
	                        the resolution or of the last address tried
	                        (-ECONNREFUSED...); -EINVAL: polled outside a
	                        runtime. */
	unsigned attempts; /**< Addresses tried so far. */
	/* private */
	struct evfut_io *io;
	const struct addrinfo *next;
	struct evfut_lookup_host lookup;
	struct evfut_io_op connect;
	unsigned state;
	int socktype; /* the addresses tried are of this type */
};

/**
 * Initialises @p op to resolve @p host:@p service (as
 * evfut_lookup_host_init(), with socket type @p socktype: SOCK_STREAM, or
 * SOCK_DGRAM, whose connect only fixes the peer) and connect to each
 * address in turn; the socket is registered in @p io (retained until the
 * operation completes or is dropped) with the runtime that polls it.
 *
 * @return 0; -EINVAL if @p op or @p io is NULL, @p host or @p service is
 * NULL or @p socktype is neither SOCK_STREAM nor SOCK_DGRAM; -ENOMEM. Drop @p
 * op even if it is never polled. Any thread; poll it on the runtime's thread.
 */
EVFUT_API int evfut_connect_host_init(struct evfut_connect_host *op,
                                      struct evfut_io *io, const char *host,
                                      const char *service, int socktype);

/**
 * Initialises @p op to connect to each address of @p addrs in turn (a
 * list from evfut_lookup_host, a resolver of the caller's, or built by
 * hand; borrowed until the operation completes or is dropped) and
 * register the socket in @p io, as evfut_connect_host_init() does. Only
 * the entries of the first entry's socket type are tried (a lookup with
 * no hints lists each address once per type, stream first: the datagram
 * and raw entries are skipped, not counted in attempts).
 *
 * @return 0; -EINVAL if an argument is NULL. Any thread.
 */
EVFUT_API int evfut_connect_addrs_init(struct evfut_connect_host *op,
                                       struct evfut_io *io,
                                       const struct addrinfo *addrs);

/**
 * Starts connecting @p fd, a socket the caller created and configured
 * (socket options, a bind() to a source address), to @p to, and registers
 * it in @p io with @p rt: await the result with evfut_connect_init(). The
 * socket is made non-blocking; it may be of any family and type.
 *
 * Ownership: on success @p fd is registered in @p io, still open, and the
 * caller closes it with evfut_io_close() (or evfut_io_deregister() and
 * close(2)). On failure nothing is registered, @p fd is left open and the
 * caller's, with its file status flags restored; after a refused connect
 * the socket may not be connected again (POSIX leaves its state
 * unspecified): close it.
 *
 * @return 0; -EINVAL if @p io, @p rt or @p to is NULL, @p len is 0 or
 * larger than a sockaddr_storage, or @p fd is listening; -EBADF if @p fd
 * is not an open descriptor; -ENOTSOCK if it is not a socket; an error of
 * evfut_io_register(); an error of connect(2) known at once (-EISCONN,
 * -ECONNREFUSED for a Unix path nobody listens on, -ENOENT, -EAGAIN for a
 * full Unix backlog, -EAFNOSUPPORT...). The runtime's thread.
 */
EVFUT_API int evfut_io_connect_start(struct evfut_io *io,
                                     struct evfut_runtime *rt, int fd,
                                     const struct sockaddr *to, socklen_t len);

/**
 * Makes @p fd, a stream socket the caller created, configured and bound
 * (SO_REUSEPORT, IPV6_V6ONLY, a Unix path...), listen with @p backlog,
 * and registers it in @p io with @p rt, non-blocking: accept on it with
 * evfut_accept_init(). A socket that listens already is adopted as it is,
 * with its backlog set to @p backlog.
 *
 * Ownership: as evfut_io_connect_start(); on failure @p fd is the
 * caller's, not listening unless it was, its flags restored.
 *
 * @return 0; -EINVAL if @p io or @p rt is NULL or @p backlog is negative;
 * -EBADF; -ENOTSOCK; an error of evfut_io_register(); an error of
 * listen(2) (-EOPNOTSUPP for a datagram socket, -EADDRINUSE...). The
 * runtime's thread.
 */
EVFUT_API int evfut_io_listen(struct evfut_io *io, struct evfut_runtime *rt,
                              int fd, int backlog);

/** evfut_unix_listener_open() flag: unlink a stale socket file at the
 *  path first, and the path when the listener is closed. */
#define EVFUT_UNIX_UNLINK 1u

/**
 * A Unix-domain stream listener; accept on its io. Embed it where it
 * lives: it is retained from open to close.
 */
struct evfut_unix_listener {
	/* public */
	struct evfut_io io; /**< The listening registration. */
	/* private */
	struct sockaddr_un addr;
	socklen_t addr_len;
	unsigned flags;
	dev_t dev; /* the socket file made, for close to recognise it */
	ino_t ino;
};

/**
 * Creates a Unix-domain stream socket, binds it to @p path, listens with
 * @p backlog and registers it in @p l->io with @p rt.
 *
 * @p path is a file name, or on Linux an abstract name: a leading '@'
 * stands for the leading NUL byte (as ss(8) prints them), so "@evfut" is
 * the abstract "\0evfut" (use "./@name" for a file whose name starts
 * with '@'). An abstract name leaves no file behind, so EVFUT_UNIX_UNLINK
 * does nothing for it.
 *
 * With EVFUT_UNIX_UNLINK, a socket file found at @p path is unlinked if
 * nothing accepts on it (a connect to it is refused: its server exited),
 * and the bind is tried once more; a file that is not a socket is never
 * unlinked. evfut_unix_listener_close() then unlinks the path if it is
 * still the socket file this call made. A relative @p path is looked up
 * again at close, from the working directory of then.
 *
 * @return 0; -EINVAL if @p l, @p rt or @p path is NULL, @p path is empty
 * or "@", @p backlog is negative or @p flags has an unknown bit;
 * -ENAMETOOLONG if @p path does not fit a sockaddr_un; -ENOTSUP for an
 * abstract name off Linux; -EADDRINUSE if something is at @p path: a
 * listener that accepts (a live server), a file that is not a socket, or,
 * without EVFUT_UNIX_UNLINK, a stale socket file; another error of
 * socket(2), bind(2) (-EACCES, -ENOENT for a missing directory...),
 * listen(2), unlink(2) or evfut_io_register(). On failure no descriptor is
 * left open and no file is left behind. The runtime's thread.
 */
EVFUT_API int evfut_unix_listener_open(struct evfut_unix_listener *l,
                                       struct evfut_runtime *rt,
                                       const char *path, int backlog,
                                       unsigned flags);

/**
 * Closes the listener opened by evfut_unix_listener_open(). With
 * EVFUT_UNIX_UNLINK, its path is unlinked first if it is still the socket
 * file the open made (same device and inode): a file another server put
 * there since is left alone.
 *
 * @return 0; the negative errno of unlink(2) (other than -ENOENT: gone
 * already) or of close(2); the listener is closed either way. NULL and a
 * listener closed already are allowed (0). The runtime's thread.
 */
EVFUT_API int evfut_unix_listener_close(struct evfut_unix_listener *l);

/**
 * The credentials of the process at the other end of the connected Unix
 * socket registered in @p io, as the kernel recorded them when the
 * connection was made (SO_PEERCRED): its process id, user id and group id.
 * Any of @p pid, @p uid, @p gid may be NULL. The pid is 0 if the peer is in
 * a pid namespace this process cannot see.
 *
 * @return 0; -EINVAL if @p io is NULL; -EBADF if it is deregistered;
 * -ENOTSOCK if it is not a socket (a pipe); -EAFNOSUPPORT if it is a
 * socket of another family (TCP, UDP); -ENOTCONN if it has no peer (a
 * listener, or not connected); -ENOTSUP off Linux. The runtime's thread.
 */
EVFUT_API int evfut_unix_peer_cred(const struct evfut_io *io, pid_t *pid,
                                   uid_t *uid, gid_t *gid);

#ifdef __cplusplus
}
#endif

#endif /* EVFUT_NET_H */
