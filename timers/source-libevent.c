/*
 * The timer source where there is no timerfd: one libevent timeout,
 * re-added with the time left until the earliest deadline. libevent
 * rounds it to its own clock, so a timer may be seen a little early: the
 * driver then finds nothing due and arms again, and never fires early.
 */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>

#include "source.h"

int
evfut__timer_source_open(struct evfut__timer_source *src,
                         struct event_base *base, int clock_id,
                         void (*on_fire)(int, short, void *), void *arg)
{
	struct timespec ts;

	if (clock_gettime(clock_id, &ts) < 0)
		return -EINVAL;
	src->fd = -1;
	src->clock_id = clock_id;
	src->event = evtimer_new(base, on_fire, arg);
	return src->event != NULL ? 0 : -ENOMEM;
}

void
evfut__timer_source_close(struct evfut__timer_source *src)
{
	event_free(src->event);
}

int
evfut__timer_source_arm(struct evfut__timer_source *src, uint64_t deadline,
                        uint64_t now)
{
	uint64_t left;
	struct timeval tv;

	if (deadline == UINT64_MAX)
		return event_del(src->event) < 0 ? -EIO : 0;
	left = deadline > now ? deadline - now : 0;
	/* Round up to libevent's microseconds: late rather than early. */
	left = (left + 999) / 1000;
	tv.tv_sec = (time_t)(left / 1000000u);
	tv.tv_usec = (suseconds_t)(left % 1000000u);
	return event_add(src->event, &tv) < 0 ? -EIO : 0;
}

void
evfut__timer_source_consume(struct evfut__timer_source *src)
{
	(void)src;
}
