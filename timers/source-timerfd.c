/*
 * The timer source on Linux: a timerfd armed with TFD_TIMER_ABSTIME, so a
 * deadline is never rounded to libevent's millisecond timeouts.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "source.h"

int
evfut__timer_source_open(struct evfut__timer_source *src,
                         struct event_base *base, int clock_id,
                         void (*on_fire)(int, short, void *), void *arg)
{
	int rc;

	src->fd = timerfd_create(clock_id, TFD_NONBLOCK | TFD_CLOEXEC);
	if (src->fd < 0)
		return -errno;
	src->clock_id = clock_id;
	rc = -ENOMEM;
	src->event =
	        event_new(base, src->fd, EV_READ | EV_PERSIST, on_fire, arg);
	if (src->event == NULL)
		goto fail_event;
	if (event_add(src->event, NULL) < 0)
		goto fail_add;
	return 0;

fail_add:
	event_free(src->event);
fail_event:
	close(src->fd);
	return rc;
}

void
evfut__timer_source_close(struct evfut__timer_source *src)
{
	event_free(src->event);
	close(src->fd);
}

int
evfut__timer_source_arm(struct evfut__timer_source *src, uint64_t deadline,
                        uint64_t now)
{
	struct itimerspec spec = {{0, 0}, {0, 0}};

	(void)now;
	if (deadline != UINT64_MAX) {
		/* An all-zero it_value would disarm: 0 ns is 1 ns. */
		if (deadline == 0)
			deadline = 1;
		spec.it_value.tv_sec = (time_t)(deadline / 1000000000u);
		spec.it_value.tv_nsec = (long)(deadline % 1000000000u);
	}
	if (timerfd_settime(src->fd, TFD_TIMER_ABSTIME, &spec, NULL) < 0)
		return -errno;
	return 0;
}

void
evfut__timer_source_consume(struct evfut__timer_source *src)
{
	uint64_t expirations;

	/* EAGAIN: already consumed, or re-armed since it fired. */
	while (read(src->fd, &expirations, sizeof expirations) < 0 &&
	       errno == EINTR)
		;
}
