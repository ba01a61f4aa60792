/*
 * evfut_interval: a sleep re-armed after each tick, by the missed-tick
 * policy when the task comes late.
 */
#include <errno.h>
#include <string.h>

#include "driver.h"
#include "runtime.h"

static enum evfut_poll interval_poll(struct evfut_future *self,
                                     struct evfut_context *cx);
static void interval_drop(struct evfut_future *self);

int
evfut_interval_init(struct evfut_interval *interval, evfut_nsec period,
                    enum evfut_missed_tick missed)
{
	if (interval == NULL || period == 0 || missed < EVFUT_MISSED_BURST ||
	    missed > EVFUT_MISSED_SKIP)
		return -EINVAL;
	memset(interval, 0, sizeof(*interval));
	interval->base.poll = interval_poll;
	interval->base.drop = interval_drop;
	interval->period = period;
	interval->missed = missed;
	evfut_sleep_init(&interval->sleep, period);
	return 0;
}

/* A tick seen later than this after it was due counts as missed, as in
 * tokio: below it, the wake-up's own delay would shift the schedule. */
#define MISSED_AFTER (5 * EVFUT_MSEC)

/* The tick after @scheduled, seen at @now. */
static evfut_nsec
next_tick(const struct evfut_interval *iv, evfut_nsec scheduled, evfut_nsec now)
{
	if (now <= evfut__nsec_add(scheduled, MISSED_AFTER) ||
	    iv->missed == EVFUT_MISSED_BURST)
		return evfut__nsec_add(scheduled, iv->period);
	if (iv->missed == EVFUT_MISSED_DELAY)
		return evfut__nsec_add(now, iv->period);
	/* Skip: the first tick of the original schedule after now. */
	return evfut__nsec_add(now,
	                       iv->period - (now - scheduled) % iv->period);
}

static enum evfut_poll
interval_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_interval *iv =
	        evfut_container_of(self, struct evfut_interval, base);
	evfut_nsec now;

	if (iv->sleep.base.poll(&iv->sleep.base, cx) == EVFUT_PENDING)
		return EVFUT_PENDING;
	iv->result = evfut__sleep_result(&iv->sleep);
	if (iv->result < 0)
		return EVFUT_READY;
	iv->ticks++;
	iv->scheduled = iv->sleep.node.deadline;
	now = evfut__timers_now(&cx->runtime->timers);
	/* Not armed yet: the next poll arms it, with the task's waker. */
	iv->sleep.node.deadline = next_tick(iv, iv->scheduled, now);
	evfut__sleep_set_idle(&iv->sleep, EVFUT__SLEEP_HAS_DEADLINE, 0);
	return EVFUT_READY;
}

static void
interval_drop(struct evfut_future *self)
{
	struct evfut_interval *iv =
	        evfut_container_of(self, struct evfut_interval, base);

	evfut_future_drop(&iv->sleep.base);
}

int
evfut_interval_reset(struct evfut_interval *interval)
{
	if (interval == NULL)
		return -EINVAL;
	return evfut__sleep_reset_after(&interval->sleep, interval->period);
}

int
evfut_interval_reset_after(struct evfut_interval *interval, evfut_nsec duration)
{
	if (interval == NULL)
		return -EINVAL;
	return evfut__sleep_reset_after(&interval->sleep, duration);
}

int
evfut_interval_reset_at(struct evfut_interval *interval, evfut_nsec deadline)
{
	if (interval == NULL)
		return -EINVAL;
	return evfut_sleep_reset(&interval->sleep, deadline);
}
