/*
 * libuv-chat-server: the fanout workload's chat server on libuv, the peer
 * of examples/chat (the same protocol, docs/chat.md), for bench/run-fanout;
 * bench/chat/chat-load drives both.
 *
 * Run: ./build/rel/bench/peers/libuv-chat-server [--port PORT | --unix PATH]
 *      It prints "listening on 127.0.0.1:PORT" (or "listening on PATH");
 *      SIGINT/SIGTERM close every connection and stop it (exit 0).
 *
 * What a libuv expert writes for throughput: one static read buffer for
 * the loop (lines are handled inside the read callback) and a
 * per-connection buffer only for a line split across reads; the MSG lines
 * of one read are formatted once, then appended to each other member's
 * output buffer, and every connection with output is flushed once per loop
 * iteration from a uv_check_t callback (redis's beforeSleep): uv_try_write()
 * first (one send(2), no request), and what the kernel did not take goes
 * out with uv_write(), the request owning the buffer. So a member gets the
 * messages of every sender of one iteration in one system call. A member
 * with more than HIGH_WATER bytes queued is disconnected. Rooms keep
 * intrusive member lists.
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <unistd.h>

#include <uv.h>

#define MAX_LINE   1024 /* bytes, the '\n' included */
#define MAX_ROOM   32
#define HIGH_WATER (1u << 20)
#define READ_SIZE  65536
#define N_BUCKETS  64

struct room {
	struct room *next; /* in its hash bucket */
	struct conn *members;
	char name[MAX_ROOM + 1];
};

struct conn {
	union {
		uv_stream_t stream;
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	} h;
	unsigned long id;
	struct room *room;
	struct conn *prev, *next; /* in the room's members */
	struct conn *all_prev, *all_next;
	struct conn *dirty_next; /* in the connections with output */
	int dirty;
	int closing;
	int close_when_sent; /* QUIT, or a line too long */
	char *out;           /* what the next flush sends */
	size_t out_len, out_cap;
	size_t line_len; /* bytes of a line split across reads */
	char line[MAX_LINE];
};

/* A write that owns its buffer. */
struct write_req {
	uv_write_t req;
	char *buf;
};

static char read_buf[READ_SIZE];
static char fanout[READ_SIZE]; /* the fanout of a read's MSG lines */
static size_t fanout_len;
static struct room *buckets[N_BUCKETS];
static struct conn *all_conns;
static struct conn *dirty; /* connections with output, to flush */
static unsigned long next_id = 1;
static union {
	uv_stream_t stream;
	uv_tcp_t tcp;
	uv_pipe_t pipe;
} server;
static uv_check_t flusher;
static int use_unix;

static void
on_close(uv_handle_t *handle)
{
	struct conn *c = (struct conn *)handle;

	free(c->out);
	free(c);
}

static void
leave_room(struct conn *c)
{
	if (c->room == NULL)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->room->members = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->room = NULL;
}

/* The handle is freed in the loop's closing phase, after the check phase
 * that walks the dirty list: a closing connection may still be on it. */
static void
close_conn(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	leave_room(c);
	if (c->all_prev != NULL)
		c->all_prev->all_next = c->all_next;
	else
		all_conns = c->all_next;
	if (c->all_next != NULL)
		c->all_next->all_prev = c->all_prev;
	uv_close((uv_handle_t *)&c->h, on_close);
}

static void
on_written(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct conn *c = (struct conn *)req->handle;

	free(w->buf);
	free(w);
	if (status < 0 ||
	    (c->close_when_sent && c->h.stream.write_queue_size == 0 &&
	     c->out_len == 0))
		close_conn(c);
}

/* Appends to c's output; the next check phase sends it. */
static void
append(struct conn *c, const char *data, size_t len)
{
	if (c->closing)
		return;
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *out;

		while (cap < c->out_len + len)
			cap *= 2;
		out = realloc(c->out, cap);
		if (out == NULL) {
			close_conn(c);
			return;
		}
		c->out = out;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	if (!c->dirty) {
		c->dirty = 1;
		c->dirty_next = dirty;
		dirty = c;
	}
}

/* Sends c's output: what uv_try_write() leaves is handed to uv_write(). */
static void
flush(struct conn *c)
{
	uv_buf_t b = uv_buf_init(c->out, (unsigned)c->out_len);
	struct write_req *w;
	int sent = UV_EAGAIN;

	if (c->h.stream.write_queue_size == 0)
		sent = uv_try_write(&c->h.stream, &b, 1);
	if (sent < 0 && sent != UV_EAGAIN) {
		close_conn(c);
		return;
	}
	if (sent == (int)c->out_len) {
		c->out_len = 0;
		if (c->close_when_sent)
			close_conn(c);
		return;
	}
	w = malloc(sizeof *w);
	if (w == NULL) {
		close_conn(c);
		return;
	}
	if (sent < 0)
		sent = 0;
	w->buf = c->out; /* the request owns it now */
	b = uv_buf_init(c->out + sent, (unsigned)(c->out_len - (size_t)sent));
	c->out = NULL;
	c->out_len = c->out_cap = 0;
	if (uv_write(&w->req, &c->h.stream, &b, 1, on_written) < 0) {
		free(w->buf);
		free(w);
		close_conn(c);
		return;
	}
	if (c->h.stream.write_queue_size > HIGH_WATER)
		close_conn(c); /* a slow reader: its queue is cancelled */
}

static void
on_check(uv_check_t *check)
{
	struct conn *c;

	(void)check;
	while ((c = dirty) != NULL) {
		dirty = c->dirty_next;
		c->dirty = 0;
		if (!c->closing)
			flush(c);
	}
}

static void
reply(struct conn *c, const char *text)
{
	append(c, text, strlen(text));
}

/* Appends what the MSG lines of this read formatted to the other members. */
static void
fan_out(struct conn *sender)
{
	struct conn *m;

	if (fanout_len == 0)
		return;
	for (m = sender->room->members; m != NULL; m = m->next)
		if (m != sender)
			append(m, fanout, fanout_len);
	fanout_len = 0;
}

static struct room *
find_room(const char *name, size_t len)
{
	unsigned h = 5381;
	struct room *r;
	size_t i;

	for (i = 0; i < len; i++)
		h = h * 33 + (unsigned char)name[i];
	for (r = buckets[h % N_BUCKETS]; r != NULL; r = r->next)
		if (strlen(r->name) == len && memcmp(r->name, name, len) == 0)
			return r;
	r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	memcpy(r->name, name, len);
	r->next = buckets[h % N_BUCKETS];
	buckets[h % N_BUCKETS] = r;
	return r;
}

static int
valid_room(const char *name, size_t len)
{
	size_t i;

	if (len < 1 || len > MAX_ROOM)
		return 0;
	for (i = 0; i < len; i++)
		if (name[i] == '\0' || !strchr("abcdefghijklmnopqrstuvwxyzABCDE"
		                               "FGHIJKLMNOPQRSTUVWXYZ"
		                               "0123456789_-",
		                               name[i]))
			return 0;
	return 1;
}

static void
join(struct conn *c, const char *name, size_t len)
{
	struct room *r;

	if (!valid_room(name, len)) {
		reply(c, "ERR bad room name\n");
		return;
	}
	r = find_room(name, len);
	if (r == NULL) {
		reply(c, "ERR out of memory\n");
		return;
	}
	leave_room(c);
	c->room = r;
	c->prev = NULL;
	c->next = r->members;
	if (r->members != NULL)
		r->members->prev = c;
	r->members = c;
	reply(c, "OK\n");
}

/* Sends what is queued, then closes; nothing more is read. */
static void
end_after(struct conn *c, const char *text)
{
	if (text != NULL)
		reply(c, text);
	c->close_when_sent = 1;
	uv_read_stop(&c->h.stream);
	if (c->out_len == 0 && c->h.stream.write_queue_size == 0)
		close_conn(c);
}

/* One line, its '\n' removed. Returns 0 to go on, -1 to stop reading. */
static int
on_line(struct conn *c, const char *line, size_t len)
{
	if (len >= 4 && memcmp(line, "MSG ", 4) == 0) {
		if (c->room == NULL) {
			reply(c, "ERR join a room first\n");
			return c->closing ? -1 : 0;
		}
		fanout_len += (size_t)snprintf(fanout + fanout_len,
		                               sizeof fanout - fanout_len,
		                               "%lu ", c->id);
		memcpy(fanout + fanout_len, line + 4, len - 4);
		fanout_len += len - 4;
		fanout[fanout_len++] = '\n';
		if (sizeof fanout - fanout_len < MAX_LINE + 32)
			fan_out(c);
		return 0;
	}
	if (c->room != NULL)
		fan_out(c); /* what came before goes first */
	if (len >= 5 && memcmp(line, "JOIN ", 5) == 0)
		join(c, line + 5, len - 5);
	else if (len == 4 && memcmp(line, "QUIT", 4) == 0)
		end_after(c, NULL);
	else
		reply(c, "ERR unknown command\n");
	return c->closing || c->close_when_sent ? -1 : 0;
}

static void
on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	(void)handle;
	(void)suggested;
	*buf = uv_buf_init(read_buf, sizeof read_buf);
}

/* Handles the lines of one read; a line split across reads waits in
 * c->line. */
static void
on_data(struct conn *c, const char *p, size_t n)
{
	const char *end = p + n, *nl;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || c->line_len > 0) {
			size_t take = nl != NULL ? (size_t)(nl - p) + 1
			                         : (size_t)(end - p);
			if (c->line_len + take > MAX_LINE) {
				end_after(c, "ERR line too long\n");
				return;
			}
			memcpy(c->line + c->line_len, p, take);
			c->line_len += take;
			p += take;
			if (nl == NULL)
				break;
			if (on_line(c, c->line, c->line_len - 1) < 0)
				break;
			c->line_len = 0;
			continue;
		}
		if ((size_t)(nl - p) + 1 > MAX_LINE) {
			end_after(c, "ERR line too long\n");
			return;
		}
		if (on_line(c, p, (size_t)(nl - p)) < 0)
			break;
		p = nl + 1;
	}
	if (c->room != NULL)
		fan_out(c);
}

static void
on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
	struct conn *c = (struct conn *)stream;

	if (n == UV_EOF) {
		/* A last line without its '\n' counts; what is queued for
		 * the client still goes out before the close. */
		if (c->line_len > 0 && on_line(c, c->line, c->line_len) == 0 &&
		    c->room != NULL)
			fan_out(c);
		if (!c->closing && !c->close_when_sent)
			end_after(c, NULL);
	} else if (n < 0) {
		close_conn(c);
	} else if (n > 0) {
		on_data(c, buf->base, (size_t)n);
	}
	fanout_len = 0; /* a sender that closed meanwhile sends nothing */
}

static void
on_connection(uv_stream_t *listener, int status)
{
	char hello[32];
	struct conn *c;

	if (status < 0)
		return;
	c = calloc(1, sizeof *c);
	if (c == NULL)
		return;
	if (use_unix)
		uv_pipe_init(listener->loop, &c->h.pipe, 0);
	else
		uv_tcp_init(listener->loop, &c->h.tcp);
	if (uv_accept(listener, &c->h.stream) < 0) {
		uv_close((uv_handle_t *)&c->h, on_close);
		return;
	}
	if (!use_unix)
		uv_tcp_nodelay(&c->h.tcp, 1);
	c->id = next_id++;
	c->all_next = all_conns;
	if (all_conns != NULL)
		all_conns->all_prev = c;
	all_conns = c;
	snprintf(hello, sizeof hello, "HELLO %lu\n", c->id);
	reply(c, hello);
	if (!c->closing)
		uv_read_start(&c->h.stream, on_alloc, on_read);
}

static void
on_signal(uv_signal_t *sig, int signum)
{
	(void)signum;
	while (all_conns != NULL)
		close_conn(all_conns);
	uv_close((uv_handle_t *)&server, NULL);
	uv_stop(sig->loop);
}

static int
listen_on(uv_loop_t *loop, const char *path, int port)
{
	struct sockaddr_storage bound;
	struct sockaddr_in addr;
	int len = sizeof bound, rc;

	if (path != NULL) {
		uv_pipe_init(loop, &server.pipe, 0);
		rc = uv_pipe_bind(&server.pipe, path);
		if (rc == 0)
			rc = uv_listen(&server.stream, 1024, on_connection);
		if (rc == 0)
			printf("listening on %s\n", path);
		return rc;
	}
	uv_ip4_addr("127.0.0.1", port, &addr);
	uv_tcp_init(loop, &server.tcp);
	rc = uv_tcp_bind(&server.tcp, (const struct sockaddr *)&addr, 0);
	if (rc == 0)
		rc = uv_listen(&server.stream, 1024, on_connection);
	if (rc == 0)
		rc = uv_tcp_getsockname(&server.tcp, (struct sockaddr *)&bound,
		                        &len);
	if (rc == 0)
		printf("listening on 127.0.0.1:%d\n",
		       ntohs(((struct sockaddr_in *)&bound)->sin_port));
	return rc;
}

int
main(int argc, char **argv)
{
	uv_loop_t *loop = uv_default_loop();
	uv_signal_t sigint, sigterm;
	const char *path = NULL;
	int port = 7008, rc;

	if (argc == 3 && strcmp(argv[1], "--port") == 0) {
		port = atoi(argv[2]);
	} else if (argc == 3 && strcmp(argv[1], "--unix") == 0) {
		path = argv[2];
		use_unix = 1;
	} else if (argc != 1) {
		fprintf(stderr, "usage: libuv-chat-server [--port PORT | "
		                "--unix PATH]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	rc = listen_on(loop, path, port);
	if (rc < 0) {
		fprintf(stderr, "libuv-chat-server: %s\n", uv_strerror(rc));
		return 1;
	}
	uv_check_init(loop, &flusher);
	uv_check_start(&flusher, on_check);
	uv_signal_init(loop, &sigint);
	uv_signal_start(&sigint, on_signal, SIGINT);
	uv_signal_init(loop, &sigterm);
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	fflush(stdout);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&flusher, NULL);
	uv_close((uv_handle_t *)&sigint, NULL);
	uv_close((uv_handle_t *)&sigterm, NULL);
	uv_run(loop, UV_RUN_DEFAULT); /* the close callbacks */
	if (path != NULL)
		unlink(path);
	return uv_loop_close(loop) == 0 ? 0 : 1;
}
