/*
 * timers: a sleep, a timeout around a future that never completes, and the
 * same code tested on the virtual clock, where a minute passes at once.
 *
 * Run: ./build/gcc/docs/examples/timers
 */
#include <errno.h>
#include <stdio.h>

#include <evfut.h>

/* [forever] */
/* A future that never completes, to be cut short by a timeout. */
struct forever {
	struct evfut_future base;
	struct evfut_waker waker;
	int dropped;
};

static enum evfut_poll
forever_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct forever *f = evfut_container_of(self, struct forever, base);

	evfut_waker_store(&f->waker, cx->waker);
	return EVFUT_PENDING;
}

static void
forever_drop(struct evfut_future *self)
{
	struct forever *f = evfut_container_of(self, struct forever, base);

	evfut_waker_drop(&f->waker);
	f->dropped = 1;
}
/* [forever] */

/* [virtual-clock] */
static int
wait_a_minute(void)
{
	struct evfut_runtime_options options = {.clock = EVFUT_CLOCK_VIRTUAL};
	struct forever never = {
	        .base = EVFUT_FUTURE_INIT(forever_poll, forever_drop),
	};
	struct evfut_timeout timeout;
	struct evfut_runtime *rt;
	int rc = evfut_runtime_create(&rt, &options);

	if (rc < 0)
		return rc;
	evfut_timeout_init(&timeout, &never.base, 60 * EVFUT_SEC);
	/* Every task is idle: the clock jumps to the deadline at once. */
	rc = evfut_runtime_block_on(rt, &timeout.base);
	if (rc == 0 && (timeout.result != -ETIMEDOUT || !never.dropped ||
	                evfut_runtime_now(rt) != 60 * EVFUT_SEC))
		rc = -EPROTO;
	evfut_future_drop(&timeout.base);
	evfut_runtime_destroy(rt);
	return rc;
}
/* [virtual-clock] */

/* [sleep] */
static int
sleep_briefly(void)
{
	struct evfut_runtime *rt;
	struct evfut_sleep nap;
	evfut_nsec start;
	int rc = evfut_runtime_create(&rt, NULL);

	if (rc < 0)
		return rc;
	start = evfut_runtime_now(rt);
	evfut_sleep_init(&nap, 2 * EVFUT_MSEC);
	rc = evfut_runtime_block_on(rt, &nap.base);
	/* Never before the deadline. */
	if (rc == 0 && (evfut_sleep_result(&nap) != 0 ||
	                evfut_runtime_now(rt) < start + 2 * EVFUT_MSEC))
		rc = -EPROTO;
	evfut_future_drop(&nap.base);
	evfut_runtime_destroy(rt);
	return rc;
}
/* [sleep] */

int
main(void)
{
	int rc = sleep_briefly();

	if (rc == 0)
		rc = wait_a_minute();
	printf("timers: %s\n", rc == 0 ? "ok" : "failed");
	return rc == 0 ? 0 : 1;
}
