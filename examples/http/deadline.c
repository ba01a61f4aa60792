/*
 * deadline.c: see deadline.h for why the timer is only moved earlier.
 */
#include "deadline.h"

/* [lazy] */
int
deadline_poll(struct deadline *d, evfut_nsec want, struct evfut_context *cx)
{
	if (!d->armed) {
		evfut_sleep_until_init(&d->sleep, want);
		d->armed = 1;
	} else if (d->fired || want < evfut_sleep_deadline(&d->sleep)) {
		evfut_sleep_reset(&d->sleep, want);
		d->fired = 0;
	}
	for (;;) {
		if (evfut_future_poll(&d->sleep.base, cx) == EVFUT_PENDING)
			return 0;
		/* A sleep that failed (-ENOMEM) counts as expired. */
		if (evfut_sleep_result(&d->sleep) < 0 ||
		    evfut_runtime_now(cx->runtime) >= want) {
			d->fired = 1;
			return 1;
		}
		/* It fired at a deadline that was pushed back since. */
		evfut_sleep_reset(&d->sleep, want);
	}
}
/* [lazy] */

void
deadline_finish(struct deadline *d)
{
	if (d->armed)
		evfut_future_drop(&d->sleep.base);
	d->armed = 0;
}
