/*
 * listener.h: the listening socket of the example servers, TCP or a Unix
 * stream socket, announced on stdout ("listening on ...") once ready.
 */
#ifndef EXAMPLE_LISTENER_H
#define EXAMPLE_LISTENER_H

#include <stdint.h>

#include <evfut.h>

struct listener {
	struct evfut_io *io; /* what to accept on: &tcp or &unix_socket.io */
	struct evfut_io tcp;
	struct evfut_unix_listener unix_socket;
};

/*
 * Listens on @unix_path when it is not NULL, on @host:@port otherwise. A
 * stale socket file at @unix_path (no server behind it) is replaced; a
 * live server's, or any other file, is refused with -EADDRINUSE.
 *
 * @return 0, or the negative errno of the listen.
 */
int listener_open(struct listener *l, struct evfut_runtime *rt,
                  const char *host, uint16_t port, const char *unix_path);

/* Closes @l; a Unix socket's file goes with it. */
void listener_close(struct listener *l);

#endif /* EXAMPLE_LISTENER_H */
