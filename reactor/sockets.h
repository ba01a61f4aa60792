/*
 * Private: what the socket files share.
 */
#ifndef EVFUT_REACTOR_SOCKETS_H
#define EVFUT_REACTOR_SOCKETS_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>

struct evfut_io;
struct evfut_runtime;

/*
 * Registers @fd (whose file status flags are @flags) in @io and starts
 * connecting it to @to; on failure nothing is registered, the flags are
 * restored and @fd is left open.
 */
int evfut__connect_start(struct evfut_io *io, struct evfut_runtime *rt, int fd,
                         int flags, const struct sockaddr *to, socklen_t len);

/*
 * Fills @addr and @len for @path; with @abstract, a leading '@' names the
 * Linux abstract namespace. 0, -EINVAL, -ENAMETOOLONG, -ENOTSUP.
 */
int evfut__unix_address(struct sockaddr_un *addr, socklen_t *len,
                        const char *path, bool abstract);

#endif
