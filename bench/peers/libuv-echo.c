/*
 * libuv-echo-server: the echo workload's server (shared/bench/WORKLOADS.md)
 * on libuv, for bench/run beside bench/run-echo's evfut and libevent
 * servers; the same client (bench/echo/echo-client) drives it.
 *
 * Run: ./build/bench/bench/peers/libuv-echo-server --port 0
 *      It prints "listening on 127.0.0.1:PORT"; SIGINT/SIGTERM stop it.
 *
 * What a libuv expert writes: a uv_tcp_t per connection with its own 8 KiB
 * buffer handed out by the alloc callback (no allocation per read), the
 * echo sent with uv_try_write() (one send(2), no request, no callback)
 * and only what the kernel did not take queued with uv_write(), reading
 * stopped until it is out. TCP_NODELAY, as the evfut and libevent servers.
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <uv.h>

#define BUF_SIZE 8192

struct connection {
	uv_tcp_t tcp;
	uv_write_t write;
	char buf[BUF_SIZE];
};

static void
on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	struct connection *c = (struct connection *)handle;

	(void)suggested;
	*buf = uv_buf_init(c->buf, sizeof c->buf);
}

static void
on_close(uv_handle_t *handle)
{
	free(handle);
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf);

static void
on_written(uv_write_t *req, int status)
{
	struct connection *c = req->data;

	if (status < 0) {
		uv_close((uv_handle_t *)&c->tcp, on_close);
		return;
	}
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void
on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
	struct connection *c = (struct connection *)stream;
	uv_buf_t rest;
	int sent;

	if (n == 0) /* EAGAIN */
		return;
	if (n < 0) {
		uv_close((uv_handle_t *)stream, on_close);
		return;
	}
	rest = uv_buf_init(buf->base, (unsigned)n);
	sent = uv_try_write(stream, &rest, 1);
	if (sent == n)
		return;
	if (sent < 0 && sent != UV_EAGAIN) {
		uv_close((uv_handle_t *)stream, on_close);
		return;
	}
	if (sent > 0)
		rest = uv_buf_init(buf->base + sent, (unsigned)(n - sent));
	uv_read_stop(stream);
	c->write.data = c;
	if (uv_write(&c->write, stream, &rest, 1, on_written) < 0)
		uv_close((uv_handle_t *)stream, on_close);
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct connection *c;

	if (status < 0)
		return;
	c = malloc(sizeof(*c));
	if (c == NULL)
		return;
	uv_tcp_init(server->loop, &c->tcp);
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
		uv_close((uv_handle_t *)&c->tcp, on_close);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void
on_signal(uv_signal_t *sig, int signum)
{
	(void)signum;
	uv_stop(sig->loop);
}

int
main(int argc, char **argv)
{
	uv_loop_t *loop = uv_default_loop();
	struct sockaddr_in addr;
	struct sockaddr_storage bound;
	int len = sizeof(bound);
	uv_signal_t sigint, sigterm;
	uv_tcp_t server;
	int port = 7007;
	int rc;

	if (argc == 3 && strcmp(argv[1], "--port") == 0)
		port = atoi(argv[2]);
	else if (argc != 1) {
		fprintf(stderr, "usage: libuv-echo-server [--port PORT]\n");
		return 2;
	}
	uv_ip4_addr("127.0.0.1", port, &addr);
	uv_tcp_init(loop, &server);
	rc = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&server, 1024, on_connection);
	if (rc == 0)
		rc = uv_tcp_getsockname(&server, (struct sockaddr *)&bound,
		                        &len);
	if (rc < 0) {
		fprintf(stderr, "libuv-echo-server: %s\n", uv_strerror(rc));
		return 1;
	}
	uv_signal_init(loop, &sigint);
	uv_signal_start(&sigint, on_signal, SIGINT);
	uv_signal_init(loop, &sigterm);
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	printf("listening on 127.0.0.1:%d\n",
	       ntohs(((struct sockaddr_in *)&bound)->sin_port));
	fflush(stdout);
	uv_run(loop, UV_RUN_DEFAULT);
	return 0;
}
