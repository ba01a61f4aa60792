/*
 * listener.c: see listener.h.
 */
#include <stdio.h>

#include "listener.h"

#define BACKLOG 1024

int
listener_open(struct listener *l, struct evfut_runtime *rt, const char *host,
              uint16_t port, const char *unix_path)
{
	int rc;

	if (unix_path == NULL) {
		l->io = &l->tcp;
		rc = evfut_tcp_listen(&l->tcp, rt, host, port, BACKLOG, 0);
		if (rc == 0)
			printf("listening on %s:%d\n", host,
			       evfut_io_local_port(&l->tcp));
		return rc;
	}
	l->io = &l->unix_socket.io;
	rc = evfut_unix_listener_open(&l->unix_socket, rt, unix_path, BACKLOG,
	                              EVFUT_UNIX_UNLINK);
	if (rc == 0)
		printf("listening on %s\n", unix_path);
	return rc;
}

void
listener_close(struct listener *l)
{
	if (l->io == &l->unix_socket.io)
		evfut_unix_listener_close(&l->unix_socket);
	else
		evfut_io_close(&l->tcp);
}
