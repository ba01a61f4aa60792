/*
 * evhttp-server: the `http` workload's baseline on libevent's own HTTP
 * server (evhttp): GET / answers 200 "Hello, World!" (text/plain), other
 * paths 404, keep-alive by evhttp's rules, one thread.
 *
 * Run: ./build/bench/http/evhttp-server [PORT]   (default 8081; 0: any)
 *      It prints "listening on 127.0.0.1:PORT"; SIGINT/SIGTERM stop it.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct evbuffer *body = arg;
	const char *uri = evhttp_request_get_uri(req);

	if (strcmp(uri, "/") != 0) {
		evhttp_send_error(req, HTTP_NOTFOUND, NULL);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	                  "Content-Type", "text/plain");
	/* evhttp drains the buffer it sends: hand it a fresh copy. */
	evbuffer_add_reference(body, "Hello, World!", 13, NULL, NULL);
	evhttp_send_reply(req, HTTP_OK, "OK", body);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopexit(arg, NULL);
}

int
main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 8081;
	struct event_base *base = event_base_new();
	struct evhttp *http = base != NULL ? evhttp_new(base) : NULL;
	struct evbuffer *body = evbuffer_new();
	struct evhttp_bound_socket *bound;
	struct event *sigint, *sigterm;
	struct sockaddr_storage ss;
	ev_socklen_t len = sizeof(ss);

	if (http == NULL || body == NULL) {
		fprintf(stderr, "evhttp-server: out of memory\n");
		return 1;
	}
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(http, on_request, body);
	bound = evhttp_bind_socket_with_handle(http, "127.0.0.1",
	                                       (ev_uint16_t)port);
	if (bound == NULL) {
		fprintf(stderr, "evhttp-server: cannot bind port %d\n", port);
		return 1;
	}
	getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss,
	            &len);
	printf("listening on 127.0.0.1:%d\n",
	       ntohs(((struct sockaddr_in *)&ss)->sin_port));
	fflush(stdout);
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	evsignal_add(sigint, NULL);
	evsignal_add(sigterm, NULL);
	event_base_dispatch(base);
	event_free(sigint);
	event_free(sigterm);
	evbuffer_free(body);
	evhttp_free(http);
	event_base_free(base);
	return 0;
}
