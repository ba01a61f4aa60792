/*
 * evfut_timeout: the inner future, or -ETIMEDOUT and the inner future
 * dropped.
 */
#include <errno.h>
#include <string.h>

#include "driver.h"

static enum evfut_poll timeout_poll(struct evfut_future *self,
                                    struct evfut_context *cx);
static void timeout_drop(struct evfut_future *self);

int
evfut_timeout_init(struct evfut_timeout *timeout, struct evfut_future *inner,
                   evfut_nsec duration)
{
	if (timeout == NULL || inner == NULL || inner->poll == NULL)
		return -EINVAL;
	memset(timeout, 0, sizeof(*timeout));
	timeout->base.poll = timeout_poll;
	timeout->base.drop = timeout_drop;
	timeout->inner = inner;
	evfut_sleep_init(&timeout->sleep, duration);
	return 0;
}

static void
drop_inner(struct evfut_timeout *timeout)
{
	if (!timeout->inner_dropped) {
		timeout->inner_dropped = 1;
		evfut_future_drop(timeout->inner);
	}
}

static enum evfut_poll
timeout_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_timeout *timeout =
	        evfut_container_of(self, struct evfut_timeout, base);

	if (timeout->inner->poll(timeout->inner, cx) == EVFUT_READY) {
		/* The deadline no longer matters: free its slot now. */
		evfut_future_drop(&timeout->sleep.base);
		timeout->result = 0;
		return EVFUT_READY;
	}
	if (timeout->sleep.base.poll(&timeout->sleep.base, cx) == EVFUT_PENDING)
		return EVFUT_PENDING;
	timeout->result = evfut__sleep_result(&timeout->sleep);
	if (timeout->result == 0)
		timeout->result = -ETIMEDOUT;
	drop_inner(timeout);
	return EVFUT_READY;
}

static void
timeout_drop(struct evfut_future *self)
{
	struct evfut_timeout *timeout =
	        evfut_container_of(self, struct evfut_timeout, base);

	evfut_future_drop(&timeout->sleep.base);
	drop_inner(timeout);
}
