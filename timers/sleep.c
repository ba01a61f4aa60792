/*
 * evfut_sleep: a future that completes at a deadline.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "evfut/handle.h"

#include "driver.h"
#include "runtime.h"

/* A task asleep on one: its 64-byte header and this, 128 bytes in all. */
#if UINTPTR_MAX == UINT64_MAX
_Static_assert(sizeof(struct evfut_sleep) <= 64,
               "evfut_sleep grew past 64 bytes on LP64");
#endif

static enum evfut_poll sleep_poll(struct evfut_future *self,
                                  struct evfut_context *cx);
static void sleep_drop(struct evfut_future *self);

void
evfut_sleep_init(struct evfut_sleep *sleep, evfut_nsec duration)
{
	memset(sleep, 0, sizeof(*sleep));
	sleep->base.poll = sleep_poll;
	sleep->base.drop = sleep_drop;
	sleep->node.deadline = duration;
}

void
evfut_sleep_until_init(struct evfut_sleep *sleep, evfut_nsec deadline)
{
	evfut_sleep_init(sleep, deadline);
	evfut__sleep_set_idle(sleep, EVFUT__SLEEP_HAS_DEADLINE, 0);
}

/* Takes @sleep out of the store if it is there, leaving it pending. */
static void
disarm(struct evfut_sleep *sleep)
{
	if (!evfut__timer_node_armed(&sleep->node))
		return;
	if (evfut__sleep_deferred(sleep)) {
		evfut__timers_undefer(&sleep->node);
		evfut__sleep_set_idle(sleep, 0, 0); /* the duration stays */
		sleep->runtime = evfut__sleep_runtime(sleep);
		return;
	}
	evfut__timers_cancel(&sleep->runtime->timers, &sleep->node);
	evfut__sleep_set_idle(sleep, EVFUT__SLEEP_HAS_DEADLINE, 0);
}

/* Completes @sleep, which is not armed. */
static void
complete(struct evfut_sleep *sleep, int result)
{
	evfut__sleep_set_idle(
	        sleep, evfut__sleep_flags(sleep) | EVFUT__SLEEP_FIRED, result);
}

static enum evfut_poll
sleep_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_sleep *sleep =
	        evfut_container_of(self, struct evfut_sleep, base);
	int armed = evfut__timer_node_armed(&sleep->node);
	struct evfut__timers *timers;
	unsigned flags;
	int rc;

	if (!armed && (sleep->node.u.idle.flags & EVFUT__SLEEP_FIRED))
		return EVFUT_READY;
	if (cx->runtime == NULL) {
		disarm(sleep);
		complete(sleep, -EINVAL);
		return EVFUT_READY;
	}
	if (!armed) {
		timers = &cx->runtime->timers;
		flags = sleep->node.u.idle.flags;
		if (!(flags & EVFUT__SLEEP_HAS_DEADLINE)) {
			/* The virtual clock stands still while tasks run. */
			if (!timers->virtual_clock &&
			    sleep->node.deadline != 0) {
				sleep->runtime =
				        (struct evfut_runtime
				                 *)((uintptr_t)cx->runtime |
				                    1u);
				evfut__timers_defer(timers, &sleep->node);
				goto store;
			}
			sleep->node.deadline =
			        evfut__nsec_add(evfut__timers_now(timers),
			                        sleep->node.deadline);
			evfut__sleep_set_idle(sleep, EVFUT__SLEEP_HAS_DEADLINE,
			                      0);
		}
		/*
		 * Due by the latest clock reading: ready at once. A deadline
		 * between that reading and now is not read for (a clock read
		 * costs more than the arm): the timer source fires it at once.
		 */
		if (sleep->node.deadline <= evfut__timers_seen(timers)) {
			/* Ready at once: spend the budget, as tokio's coop. */
			if (!evfut_coop_proceed(cx))
				return EVFUT_PENDING;
			complete(sleep, 0);
			return EVFUT_READY;
		}
		sleep->runtime = cx->runtime;
		/* Never: nothing to arm, whatever the clock does. */
		if (sleep->node.deadline == EVFUT_NEVER)
			goto store;
		rc = evfut__timers_arm(timers, &sleep->node,
		                       sleep->node.deadline);
		if (rc < 0) {
			complete(sleep, rc);
			return EVFUT_READY;
		}
	}
store:
	evfut_waker_store(&sleep->waker, cx->waker);
	return EVFUT_PENDING;
}

static void
sleep_drop(struct evfut_future *self)
{
	struct evfut_sleep *sleep =
	        evfut_container_of(self, struct evfut_sleep, base);

	disarm(sleep);
	evfut_waker_drop(&sleep->waker);
}

int
evfut_sleep_reset(struct evfut_sleep *sleep, evfut_nsec deadline)
{
	struct evfut__timers *timers;
	int rc;

	if (sleep == NULL)
		return -EINVAL;
	disarm(sleep);
	sleep->node.deadline = deadline;
	evfut__sleep_set_idle(sleep, EVFUT__SLEEP_HAS_DEADLINE, 0);
	if (sleep->runtime == NULL)
		return 0; /* armed by the first poll */
	timers = &sleep->runtime->timers;
	if (deadline == EVFUT_NEVER)
		return 0;
	if (deadline <= evfut__timers_now(timers)) {
		/* Due already: let the task poll and complete. */
		evfut_waker_wake_by_ref(&sleep->waker);
		return 0;
	}
	rc = evfut__timers_arm(timers, &sleep->node, deadline);
	if (rc < 0)
		evfut_waker_wake_by_ref(&sleep->waker); /* the poll retries */
	return rc;
}

evfut_nsec
evfut_sleep_deadline(const struct evfut_sleep *sleep)
{
	/* Deferred: its deadline is set by the flush, which can come now. */
	if (sleep != NULL && evfut__sleep_deferred(sleep))
		evfut__timers_flush(&evfut__sleep_runtime(sleep)->timers);
	if (sleep == NULL ||
	    !(evfut__sleep_flags(sleep) & EVFUT__SLEEP_HAS_DEADLINE))
		return EVFUT_NEVER;
	return sleep->node.deadline;
}

int
evfut_sleep_elapsed(const struct evfut_sleep *sleep)
{
	if (sleep == NULL || evfut__timer_node_armed(&sleep->node))
		return 0;
	return (sleep->node.u.idle.flags & EVFUT__SLEEP_FIRED) &&
	       sleep->node.u.idle.result == 0;
}

/* Restarts @sleep to end @duration from now (from its first poll if it
 * was never polled). */
int
evfut__sleep_reset_after(struct evfut_sleep *sleep, evfut_nsec duration)
{
	if (evfut__sleep_deferred(sleep)) {
		/* Polled: its flush reads the clock after this call. */
		sleep->node.deadline = duration;
		return 0;
	}
	if (sleep->runtime != NULL)
		return evfut_sleep_reset(
		        sleep, evfut__nsec_add(evfut__timers_now(
		                                       &sleep->runtime->timers),
		                               duration));
	disarm(sleep);
	sleep->node.deadline = duration;
	evfut__sleep_set_idle(sleep, 0, 0);
	return 0;
}

int
evfut_sleep_result(const struct evfut_sleep *sleep)
{
	return sleep != NULL ? evfut__sleep_result(sleep) : -EINVAL;
}

evfut_nsec
evfut_runtime_now(struct evfut_runtime *rt)
{
	return rt != NULL ? evfut__timers_now(&rt->timers) : 0;
}

int
evfut_runtime_advance(struct evfut_runtime *rt, evfut_nsec duration)
{
	if (rt == NULL || !rt->timers.virtual_clock)
		return -EINVAL;
	evfut__timers_fire(&rt->timers,
	                   evfut__nsec_add(rt->timers.virtual_now, duration));
	return 0;
}
