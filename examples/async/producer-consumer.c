/*
 * producer-consumer: a fast producer and a slow consumer over a bounded
 * mpsc channel of 4 items. The producer is held back whenever the channel
 * is full (backpressure) and closes the channel when it is done; the
 * consumer drains what is left, then sees the close.
 *
 * Run: ./build/gcc/examples/async/producer-consumer
 * Exits 0 when the consumer received 1..20 in order.
 */
#include <errno.h>
#include <stdio.h>

#include <evfut.h>

#define ITEMS 20

/* [producer] */
struct producer {
	struct evfut_future base;
	unsigned resume;
	struct evfut_mpsc *ch;
	int item;
	int waits; /* how often the channel was full */
	struct evfut_mpsc_send send;
};

static enum evfut_poll
producer_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct producer *p = evfut_container_of(self, struct producer, base);

	EVFUT_ASYNC_BEGIN(p->resume);
	for (p->item = 1; p->item <= ITEMS; p->item++) {
		if (evfut_mpsc_try_send(p->ch, &p->item) == 0)
			continue; /* there was room */
		p->waits++;
		evfut_mpsc_send_init(&p->send, p->ch, &p->item);
		EVFUT_AWAIT(&p->send.base, cx); /* full: wait for room */
		if (p->send.result < 0)
			EVFUT_ASYNC_RETURN(); /* the consumer closed it */
	}
	evfut_mpsc_close(p->ch); /* no more items */
	EVFUT_ASYNC_END();
}
/* [producer] */

/* [consumer] */
struct consumer {
	struct evfut_future base;
	unsigned resume;
	struct evfut_mpsc *ch;
	int item;
	int received;
	struct evfut_mpsc_recv recv;
	struct evfut_sleep work;
};

static enum evfut_poll
consumer_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct consumer *c = evfut_container_of(self, struct consumer, base);

	EVFUT_ASYNC_BEGIN(c->resume);
	for (;;) {
		evfut_mpsc_recv_init(&c->recv, c->ch, &c->item);
		EVFUT_AWAIT(&c->recv.base, cx);
		if (c->recv.result == -EPIPE)
			break; /* closed and drained */
		if (c->item != c->received + 1)
			EVFUT_ASYNC_RETURN(); /* out of order: main reports it
			                       */
		c->received = c->item;
		evfut_sleep_init(&c->work, EVFUT_MSEC); /* slow work */
		EVFUT_AWAIT(&c->work.base, cx);
	}
	EVFUT_ASYNC_END();
}
/* [consumer] */

int
main(void)
{
	struct evfut_runtime *rt;
	struct evfut_mpsc ch;
	struct producer p = {.base = EVFUT_FUTURE_INIT(producer_poll, NULL),
	                     .ch = &ch};
	struct consumer c = {.base = EVFUT_FUTURE_INIT(consumer_poll, NULL),
	                     .ch = &ch};
	struct evfut_future *both[] = {&p.base, &c.base};
	struct evfut_join join;

	/* [setup] */
	if (evfut_runtime_create(&rt, NULL) < 0)
		return 1;
	if (evfut_mpsc_init(&ch, 4, sizeof(int), NULL) < 0) /* one malloc */
		return 1;
	evfut_join_init(&join, both, 2);
	evfut_runtime_block_on(rt, &join.base); /* until both are done */
	evfut_future_drop(&join.base);
	evfut_mpsc_finish(&ch);
	evfut_runtime_destroy(rt);
	/* [setup] */
	printf("consumer received %d items; the producer waited %d times\n",
	       c.received, p.waits);
	return c.received == ITEMS && p.waits > 0 ? 0 : 1;
}
