/*
 * styles: the same future written twice, as a hand-written state machine
 * and with the async/await macros: tick three times, 1 ms apart, then
 * report how many ticks it saw.
 *
 * Run: ./build/gcc/examples/async/styles
 * Exits 0 when both versions agree.
 */
#include <stdio.h>

#include <evfut.h>

/* [by-hand] */
struct ticker_by_hand {
	struct evfut_future base;
	enum { START, SLEEPING, DONE } state;
	int ticks;
	struct evfut_sleep sleep;
};

static enum evfut_poll
ticker_by_hand_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct ticker_by_hand *t =
	        evfut_container_of(self, struct ticker_by_hand, base);

	for (;;) {
		switch (t->state) {
		case START:
			evfut_sleep_init(&t->sleep, EVFUT_MSEC);
			t->state = SLEEPING;
			break;
		case SLEEPING:
			if (evfut_future_poll(&t->sleep.base, cx) ==
			    EVFUT_PENDING)
				return EVFUT_PENDING;
			t->state = ++t->ticks < 3 ? START : DONE;
			break;
		case DONE:
			return EVFUT_READY;
		}
	}
}
/* [by-hand] */

/* [with-macros] */
struct ticker {
	struct evfut_future base;
	unsigned resume;
	int ticks;
	struct evfut_sleep sleep;
};

static enum evfut_poll
ticker_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct ticker *t = evfut_container_of(self, struct ticker, base);

	EVFUT_ASYNC_BEGIN(t->resume);
	for (t->ticks = 0; t->ticks < 3; t->ticks++) {
		evfut_sleep_init(&t->sleep, EVFUT_MSEC);
		EVFUT_AWAIT(&t->sleep.base, cx);
	}
	EVFUT_ASYNC_END();
}
/* [with-macros] */

static void
ticker_by_hand_drop(struct evfut_future *self)
{
	struct ticker_by_hand *t =
	        evfut_container_of(self, struct ticker_by_hand, base);

	if (t->state == SLEEPING)
		evfut_future_drop(&t->sleep.base);
}

/* [drop] */
static void
ticker_drop(struct evfut_future *self)
{
	struct ticker *t = evfut_container_of(self, struct ticker, base);

	/* The body's only await is the sleep: pending means it is armed. */
	if (t->resume != 0 && !EVFUT_ASYNC_IS_DONE(t->resume))
		evfut_future_drop(&t->sleep.base);
}
/* [drop] */

int
main(void)
{
	struct evfut_runtime *rt;
	struct ticker_by_hand a = {
	        .base = EVFUT_FUTURE_INIT(ticker_by_hand_poll,
	                                  ticker_by_hand_drop)};
	struct ticker b = {.base = EVFUT_FUTURE_INIT(ticker_poll, ticker_drop)};
	int ok;

	if (evfut_runtime_create(&rt, NULL) < 0)
		return 1;
	ok = evfut_runtime_block_on(rt, &a.base) == 0 &&
	     evfut_runtime_block_on(rt, &b.base) == 0 && a.ticks == 3 &&
	     b.ticks == 3;
	evfut_future_drop(&a.base);
	evfut_future_drop(&b.base);
	evfut_runtime_destroy(rt);
	printf("by hand: %d ticks, with the macros: %d ticks\n", a.ticks,
	       b.ticks);
	return ok ? 0 : 1;
}
