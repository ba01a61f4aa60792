/*
 * chat-load: the load generator of the fanout workload, and the checker of
 * a chat server's delivery (docs/chat.md has the protocol).
 *
 * Run: ./build/rel/bench/chat/chat-load --port PORT | --unix PATH
 *      [--clients 200] [--rooms 10] [--window 16] [--seconds 10]
 *      [--messages K] [--rate R] [--server-pid PID] [--verify]
 *      [--label NAME]
 *      against evfut-chat or libuv-chat-server (bench/run-fanout runs
 *      both, each pinned to its own core).
 *
 * Client i joins room "r<i mod rooms>" and, once every client is in its
 * room, sends "MSG <i>:<seq>" with seq counting from 0. A message is
 * outstanding until every other member of the room has received it; each
 * client keeps at most --window outstanding (a closed loop, so the server
 * is the bottleneck), or sends at --rate messages a second within that
 * window. Sending stops after --seconds or --messages per client, then the
 * run drains. Every line received is checked: a message from a client of
 * another room, out of the sender's order, duplicated, an ERR, an early
 * close, or no progress for 10 s ends the run with exit status 1. With
 * --verify it then waits for strays, sends QUIT and awaits every close.
 * It prints one JSON line:
 *
 *   {"workload":"fanout","n":SENT,"clients":200,"rooms":10,"window":16,
 *    "deliveries":D,"seconds":S,"deliveries_per_s":...,
 *    "server_cpu_ns_per_delivery":...,"load_cpu_s":...,"server":"NAME"}
 *
 * The server's CPU is utime+stime of /proc/PID/stat (--server-pid) read
 * when sending starts and when the last delivery arrived; null without it.
 * "load_cpu_s" is chat-load's own CPU time over the same span: near
 * "seconds", it saturated its core, and the server was not the bottleneck.
 * Plain level-triggered epoll, no evfut: it measures both servers the same.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define IN_SIZE    65536
#define OUT_SIZE   8192
#define STALL_NS   10000000000.0
#define STRAY_NS   200000000.0 /* --verify: how long strays are awaited */

struct options {
	const char *host;
	uint16_t port;
	const char *unix_path;
	unsigned clients, rooms, window;
	double seconds, rate;
	uint64_t messages; /* per client; 0: until --seconds */
	long server_pid;   /* 0: none */
	int verify;
	const char *label;
};

enum state { WAIT_HELLO, WAIT_OK, JOINED, QUITTING, CLOSED };

struct client {
	int fd;
	enum state state;
	unsigned room;
	unsigned long id; /* the server's, from HELLO */
	uint64_t sent;    /* messages sent: the next seq */
	uint64_t acked;   /* messages every other member received */
	uint32_t *ring;   /* --window delivery counts, by seq */
	double due_ns;    /* --rate: when the next message may go */
	size_t in_len;    /* bytes buffered in in[] */
	size_t out_off;   /* out[out_off..out_len) is unsent */
	size_t out_len;
	int watching_out; /* EPOLLOUT is on */
	int to_refill;    /* on the refill list */
	struct client *refill_next;
	char in[IN_SIZE];
	char out[OUT_SIZE];
};

static struct options opt;
static struct client *clients;
static uint32_t *expected; /* [receiver * clients + sender]: the next seq */
static unsigned *room_size;
static unsigned joined, closed;
static uint64_t deliveries;
static uint64_t total_sent, total_acked;
static struct client *refills; /* clients whose window opened */
static double last_progress;
static int epfd;

/* chat-load's own user+system time, in seconds. */
static double
own_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static _Noreturn void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("chat-load: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* utime + stime of --server-pid, in clock ticks; the command name (field
 * 2) may hold spaces, so fields are counted after its ')'. */
static long long
server_ticks(void)
{
	char path[64], buf[1024], *p;
	unsigned long long utime, stime;
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "/proc/%ld/stat", opt.server_pid);
	f = fopen(path, "r");
	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 2,
	                        "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	                        "%llu %llu",
	                        &utime, &stime) != 2)
		die("%s: unexpected format", path);
	return (long long)(utime + stime);
}

static void
watch_out(struct client *c, int on)
{
	struct epoll_event ev = {
	        .events = EPOLLIN | (on ? EPOLLOUT : 0),
	        .data.ptr = c,
	};

	if (c->watching_out == on)
		return;
	c->watching_out = on;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
}

static void
flush_out(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
		                 c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			watch_out(c, 1);
			return;
		}
		if (n < 0)
			die("client %td: send: %s", c - clients,
			    strerror(errno));
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	watch_out(c, 0);
}

static void
queue_line(struct client *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	va_start(ap, fmt);
	n = vsnprintf(c->out + c->out_len, OUT_SIZE - c->out_len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= OUT_SIZE - c->out_len)
		die("client %td: output buffer full", c - clients);
	c->out_len += (size_t)n;
}

/* Counts a delivery of @seq of @s; acknowledges what all members have. */
static void
count_delivery(struct client *s, uint64_t seq)
{
	unsigned others = room_size[s->room] - 1;

	if (seq < s->acked || seq >= s->sent)
		die("client %td: seq %llu delivered, outstanding [%llu, %llu)",
		    s - clients, (unsigned long long)seq,
		    (unsigned long long)s->acked, (unsigned long long)s->sent);
	s->ring[seq % opt.window]++;
	while (s->acked < s->sent && s->ring[s->acked % opt.window] == others) {
		s->ring[s->acked % opt.window] = 0;
		s->acked++;
		total_acked++;
		if (!s->to_refill) {
			s->to_refill = 1;
			s->refill_next = refills;
			refills = s;
		}
	}
}

/* A decimal number at *p, up to @stop; advances *p. -1 when none. */
static int
parse_number(const char **p, char stop, unsigned long long *out)
{
	const char *q = *p;
	unsigned long long v = 0;

	if (*q < '0' || *q > '9')
		return -1;
	while (*q >= '0' && *q <= '9')
		v = v * 10 + (unsigned)(*q++ - '0');
	if (*q != stop)
		return -1;
	*p = q + 1;
	*out = v;
	return 0;
}

/* "<sender-id> <client>:<seq>", received by @r. Parsed by hand: at
 * millions of lines a second, sscanf() would make chat-load the
 * bottleneck. */
static void
on_message(struct client *r, const char *line)
{
	unsigned long long sid, sender, seq;
	const char *p = line;
	uint32_t *next;

	if (parse_number(&p, ' ', &sid) < 0 ||
	    parse_number(&p, ':', &sender) < 0 ||
	    parse_number(&p, '\0', &seq) < 0 || sender >= opt.clients)
		die("client %td: unexpected line: %s", r - clients, line);
	if (clients[sender].id != sid)
		die("client %td: message of client %llu under id %llu, not %lu",
		    r - clients, sender, sid, clients[sender].id);
	if (&clients[sender] == r)
		die("client %td: received its own message", r - clients);
	if (clients[sender].room != r->room)
		die("client %td (room %u): message from client %llu (room %u)",
		    r - clients, r->room, sender, clients[sender].room);
	next = &expected[(size_t)(r - clients) * opt.clients + sender];
	if (seq != *next)
		die("client %td: from client %llu seq %llu, expected %u (%s)",
		    r - clients, sender, seq, *next,
		    seq < *next ? "duplicate" : "lost or out of order");
	(*next)++;
	count_delivery(&clients[sender], seq);
	deliveries++;
}

static void
on_line(struct client *c, char *line)
{
	if (strncmp(line, "ERR", 3) == 0)
		die("client %td: server said: %s", c - clients, line);
	switch (c->state) {
	case WAIT_HELLO:
		if (sscanf(line, "HELLO %lu", &c->id) != 1)
			die("client %td: no HELLO: %s", c - clients, line);
		c->state = WAIT_OK;
		queue_line(c, "JOIN r%u\n", c->room);
		flush_out(c);
		break;
	case WAIT_OK:
		if (strcmp(line, "OK") != 0)
			die("client %td: no OK to JOIN: %s", c - clients, line);
		c->state = JOINED;
		joined++;
		break;
	default:
		on_message(c, line);
	}
}

static void
on_readable(struct client *c)
{
	char *line, *nl, *end;
	ssize_t n;

	n = recv(c->fd, c->in + c->in_len, IN_SIZE - c->in_len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 && c->state == QUITTING) {
		c->state = CLOSED;
		closed++;
		epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
		return;
	}
	if (n <= 0)
		die("client %td: %s", c - clients,
		    n == 0 ? "closed by the server" : strerror(errno));
	c->in_len += (size_t)n;
	end = c->in + c->in_len;
	for (line = c->in; (nl = memchr(line, '\n', end - line));
	     line = nl + 1) {
		*nl = '\0';
		on_line(c, line);
	}
	if (line == c->in && c->in_len == IN_SIZE)
		die("client %td: a line longer than %d bytes", c - clients,
		    IN_SIZE);
	c->in_len = (size_t)(end - line);
	memmove(c->in, line, c->in_len);
	last_progress = now_ns();
}

/* Queues the messages @c may send now. */
static void
refill(struct client *c, double now)
{
	while (c->sent - c->acked < opt.window &&
	       (opt.messages == 0 || c->sent < opt.messages)) {
		if (opt.rate > 0) {
			if (c->due_ns > now)
				break;
			c->due_ns += 1e9 / opt.rate;
		}
		queue_line(c, "MSG %td:%llu\n", c - clients,
		           (unsigned long long)c->sent);
		/* Alone in its room, a message is delivered to all at once. */
		if (room_size[c->room] == 1)
			c->acked++, total_acked++;
		c->sent++;
		total_sent++;
	}
	if (c->out_len > c->out_off)
		flush_out(c);
}

/* One epoll_wait and its events; waits at most @timeout_ms. */
static void
turn(int timeout_ms)
{
	struct epoll_event events[MAX_EVENTS];
	int i, n;

	n = epoll_wait(epfd, events, MAX_EVENTS, timeout_ms);
	if (n < 0 && errno != EINTR)
		die("epoll_wait: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		struct client *c = events[i].data.ptr;

		if (events[i].events & EPOLLOUT)
			flush_out(c);
		if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			on_readable(c);
	}
}

static int
connect_one(void)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd, one = 1;

	if (opt.unix_path != NULL) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;

		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof sun->sun_path, "%s",
		         opt.unix_path);
		len = sizeof *sun;
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(opt.port);
		if (inet_pton(AF_INET, opt.host, &sin->sin_addr) != 1)
			die("bad --host %s", opt.host);
		len = sizeof *sin;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0)
		die("connect: %s", strerror(errno));
	if (opt.unix_path == NULL)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static void
open_clients(void)
{
	unsigned i;

	clients = calloc(opt.clients, sizeof *clients);
	expected = calloc((size_t)opt.clients * opt.clients, sizeof *expected);
	room_size = calloc(opt.rooms, sizeof *room_size);
	if (clients == NULL || expected == NULL || room_size == NULL)
		die("out of memory");
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1: %s", strerror(errno));
	for (i = 0; i < opt.clients; i++) {
		struct client *c = &clients[i];
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};

		c->fd = connect_one();
		c->room = i % opt.rooms;
		room_size[c->room]++;
		c->ring = calloc(opt.window, sizeof *c->ring);
		if (c->ring == NULL)
			die("out of memory");
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
			die("epoll_ctl: %s", strerror(errno));
		/* Accepted one by one: a burst of 200 can overflow a small
		 * backlog, and the HELLOs are read meanwhile. */
		turn(0);
	}
}

static int
all_acked(void)
{
	return total_acked == total_sent;
}

static int
all_sent(void)
{
	return total_sent == (uint64_t)opt.clients * opt.messages;
}

/* Queues what each client may send: every client at the start and at
 * --rate, else those whose window opened since. */
static void
refill_all(double now, int everyone)
{
	struct client *c;
	unsigned i;

	if (everyone || opt.rate > 0) {
		for (i = 0; i < opt.clients; i++)
			refill(&clients[i], now);
		return;
	}
	while ((c = refills) != NULL) {
		refills = c->refill_next;
		c->to_refill = 0;
		refill(c, now);
	}
}

static void
await_progress(const char *what)
{
	if (now_ns() - last_progress > STALL_NS)
		die("no progress for %.0f s while %s (%llu deliveries)",
		    STALL_NS / 1e9, what, (unsigned long long)deliveries);
	turn(opt.rate > 0 ? 1 : 100);
}

/* --verify: no stray line in STRAY_NS, then QUIT closes every client. */
static void
quit_all(void)
{
	double until = now_ns() + STRAY_NS;
	unsigned i;

	while (now_ns() < until)
		turn(10);
	for (i = 0; i < opt.clients; i++) {
		clients[i].state = QUITTING;
		queue_line(&clients[i], "QUIT\n");
		flush_out(&clients[i]);
	}
	last_progress = now_ns();
	while (closed < opt.clients)
		await_progress("awaiting the closes after QUIT");
}

static int
usage(const char *why)
{
	fprintf(stderr,
	        "chat-load: %s\n"
	        "usage: chat-load [--host ADDR] --port PORT | --unix PATH\n"
	        "                 [--clients N] [--rooms M] [--window W]\n"
	        "                 [--seconds S] [--messages K] [--rate R]\n"
	        "                 [--server-pid PID] [--verify] [--label S]\n",
	        why);
	return 2;
}

static int
parse_options(int argc, char **argv)
{
	int i;

	opt = (struct options){.host = "127.0.0.1",
	                       .clients = 200,
	                       .rooms = 10,
	                       .window = 16,
	                       .seconds = 10,
	                       .label = "server"};
	for (i = 1; i < argc; i++) {
		const char *name = argv[i],
		           *v = i + 1 < argc ? argv[i + 1] : "";

		if (strcmp(name, "--verify") == 0) {
			opt.verify = 1;
			continue;
		}
		if (i + 1 == argc)
			return usage("an option without a value");
		i++;
		if (strcmp(name, "--host") == 0)
			opt.host = v;
		else if (strcmp(name, "--port") == 0)
			opt.port = (uint16_t)atoi(v);
		else if (strcmp(name, "--unix") == 0)
			opt.unix_path = v;
		else if (strcmp(name, "--clients") == 0)
			opt.clients = (unsigned)atoi(v);
		else if (strcmp(name, "--rooms") == 0)
			opt.rooms = (unsigned)atoi(v);
		else if (strcmp(name, "--window") == 0)
			opt.window = (unsigned)atoi(v);
		else if (strcmp(name, "--seconds") == 0)
			opt.seconds = atof(v);
		else if (strcmp(name, "--messages") == 0)
			opt.messages = strtoull(v, NULL, 10);
		else if (strcmp(name, "--rate") == 0)
			opt.rate = atof(v);
		else if (strcmp(name, "--server-pid") == 0)
			opt.server_pid = atol(v);
		else if (strcmp(name, "--label") == 0)
			opt.label = v;
		else
			return usage("unknown option");
	}
	if ((opt.port == 0) == (opt.unix_path == NULL))
		return usage("give one of --port and --unix");
	if (opt.clients < 1 || opt.clients > 100000 || opt.rooms < 1 ||
	    opt.rooms > opt.clients || opt.window < 1 || opt.window > 256 ||
	    opt.seconds <= 0 || opt.rate < 0)
		return usage("a value out of range");
	return -1;
}

int
main(int argc, char **argv)
{
	double start, stop, elapsed, now, cpu;
	long long ticks = 0;
	unsigned i;
	int rc, sending = 1, first = 1;

	rc = parse_options(argc, argv);
	if (rc >= 0)
		return rc;
	open_clients();
	last_progress = now_ns();
	while (joined < opt.clients)
		await_progress("joining");
	if (opt.server_pid != 0)
		ticks = server_ticks();
	cpu = own_cpu_s();
	start = last_progress = now_ns();
	for (i = 0; i < opt.clients; i++)
		clients[i].due_ns = start;
	while (sending || !all_acked()) {
		now = now_ns();
		if (sending && now - start >= opt.seconds * 1e9)
			sending = 0;
		if (sending) {
			refill_all(now, first);
			first = 0;
			sending = opt.messages == 0 || !all_sent();
		}
		if (sending || !all_acked())
			await_progress(sending ? "sending" : "draining");
	}
	stop = now_ns();
	cpu = own_cpu_s() - cpu;
	if (opt.server_pid != 0)
		ticks = server_ticks() - ticks;
	if (opt.verify)
		quit_all();
	elapsed = (stop - start) / 1e9;
	printf("{\"workload\":\"fanout\",\"n\":%llu,\"clients\":%u,"
	       "\"rooms\":%u,\"window\":%u,\"deliveries\":%llu,"
	       "\"seconds\":%.3f,\"deliveries_per_s\":%.1f,"
	       "\"server_cpu_ns_per_delivery\":",
	       (unsigned long long)total_sent, opt.clients, opt.rooms,
	       opt.window, (unsigned long long)deliveries, elapsed,
	       (double)deliveries / elapsed);
	if (opt.server_pid != 0 && deliveries > 0)
		printf("%.1f", (double)ticks * 1e9 / sysconf(_SC_CLK_TCK) /
		                       (double)deliveries);
	else
		printf("null");
	printf(",\"load_cpu_s\":%.3f,\"server\":\"%s\"}\n", cpu, opt.label);
	return 0;
}
