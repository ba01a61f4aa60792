/*
 * channel-bench: throughput of a bounded mpsc channel of capacity 1024
 * between two tasks, and the round-trip time of a ping-pong between two
 * tasks through two Notify objects. Both sides use the futures (init,
 * await) for every message, as application code would.
 *
 * Run: ./build/rel/examples/async/channel-bench [MESSAGES]
 *      (a release build: meson setup build/rel --buildtype=release;
 *      MESSAGES defaults to 10000000, for both benchmarks)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <evfut.h>

static long messages = 10000000;

static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct producer {
	struct evfut_future base;
	unsigned resume;
	struct evfut_mpsc *ch;
	long i;
	struct evfut_mpsc_send send;
};

static enum evfut_poll
producer_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct producer *p = evfut_container_of(self, struct producer, base);

	EVFUT_ASYNC_BEGIN(p->resume);
	for (p->i = 0; p->i < messages; p->i++) {
		evfut_mpsc_send_init(&p->send, p->ch, &p->i);
		EVFUT_AWAIT(&p->send.base, cx);
	}
	evfut_mpsc_close(p->ch);
	EVFUT_ASYNC_END();
}

struct consumer {
	struct evfut_future base;
	unsigned resume;
	struct evfut_mpsc *ch;
	long item;
	long received;
	long sum;
	struct evfut_mpsc_recv recv;
};

static enum evfut_poll
consumer_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct consumer *c = evfut_container_of(self, struct consumer, base);

	EVFUT_ASYNC_BEGIN(c->resume);
	for (;;) {
		evfut_mpsc_recv_init(&c->recv, c->ch, &c->item);
		EVFUT_AWAIT(&c->recv.base, cx);
		if (c->recv.result < 0)
			break;
		c->received++;
		c->sum += c->item;
	}
	EVFUT_ASYNC_END();
}

static int
bench_mpsc(struct evfut_runtime *rt, int local)
{
	struct evfut_mpsc ch;
	struct producer p = {.base = EVFUT_FUTURE_INIT(producer_poll, NULL),
	                     .ch = &ch};
	struct consumer c = {.base = EVFUT_FUTURE_INIT(consumer_poll, NULL),
	                     .ch = &ch};
	struct evfut_future *both[] = {&p.base, &c.base};
	struct evfut_join join;
	double t0, t1;

	if ((local ? evfut_mpsc_init_local
	           : evfut_mpsc_init)(&ch, 1024, sizeof(long), NULL) < 0)
		return 1;
	evfut_join_init(&join, both, 2);
	t0 = now_sec();
	evfut_runtime_block_on(rt, &join.base);
	t1 = now_sec();
	evfut_future_drop(&join.base);
	evfut_mpsc_finish(&ch);
	printf("mpsc%s (capacity 1024): %ld messages in %.3f s: %.1f M "
	       "messages/s, %.1f ns/message\n",
	       local ? " local" : "", c.received, t1 - t0,
	       (double)c.received / (t1 - t0) / 1e6,
	       (t1 - t0) * 1e9 / (double)c.received);
	return c.received == messages && c.sum == messages * (messages - 1) / 2
	               ? 0
	               : 1;
}

/* Ping-pong: each side notifies the other and awaits its answer. */
struct player {
	struct evfut_future base;
	unsigned resume;
	struct evfut_notify *mine, *theirs;
	int serves; /* notifies first */
	long i;
	struct evfut_notified notified;
};

static enum evfut_poll
player_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct player *p = evfut_container_of(self, struct player, base);

	EVFUT_ASYNC_BEGIN(p->resume);
	for (p->i = 0; p->i < messages; p->i++) {
		if (p->serves)
			evfut_notify_one(p->theirs);
		evfut_notified_init(&p->notified, p->mine);
		EVFUT_AWAIT(&p->notified.base, cx);
		if (!p->serves)
			evfut_notify_one(p->theirs);
	}
	EVFUT_ASYNC_END();
}

static int
bench_notify(struct evfut_runtime *rt, int local)
{
	struct evfut_notify ping, pong;
	struct player a = {.base = EVFUT_FUTURE_INIT(player_poll, NULL),
	                   .mine = &pong,
	                   .theirs = &ping,
	                   .serves = 1};
	struct player b = {.base = EVFUT_FUTURE_INIT(player_poll, NULL),
	                   .mine = &ping,
	                   .theirs = &pong};
	struct evfut_future *both[] = {&a.base, &b.base};
	struct evfut_join join;
	double t0, t1;

	(local ? evfut_notify_init_local : evfut_notify_init)(&ping);
	(local ? evfut_notify_init_local : evfut_notify_init)(&pong);
	evfut_join_init(&join, both, 2);
	t0 = now_sec();
	evfut_runtime_block_on(rt, &join.base);
	t1 = now_sec();
	evfut_future_drop(&join.base);
	evfut_notify_finish(&ping);
	evfut_notify_finish(&pong);
	printf("Notify%s ping-pong: %ld round trips in %.3f s: %.1f ns per "
	       "round trip\n",
	       local ? " local" : "", a.i, t1 - t0,
	       (t1 - t0) * 1e9 / (double)a.i);
	return a.i == messages && b.i == messages ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct evfut_runtime *rt;
	int rc;

	if (argc > 1)
		messages = strtol(argv[1], NULL, 10);
	if (messages <= 0 || evfut_runtime_create(&rt, NULL) < 0)
		return 1;
	/* The thread-safe objects, then the local ones (one thread only). */
	rc = bench_mpsc(rt, 0) | bench_mpsc(rt, 1) | bench_notify(rt, 0) |
	     bench_notify(rt, 1);
	evfut_runtime_destroy(rt);
	return rc;
}
