/*
 * The timer driver. The source is armed at a deadline no later than the
 * earliest pending one, and re-armed only when an earlier deadline arrives
 * or after it fired: cancelling the earliest timer leaves the source armed
 * early, since one spurious wake-up is cheaper than a syscall per cancel
 * (the per-request timeout that never fires is the common case).
 */
#include <errno.h>
#include <time.h>

#include "driver.h"
#include "runtime.h"

static void
on_source_fire(int fd, short what, void *arg)
{
	struct evfut__timers *t = arg;
	struct evfut_runtime *outer = evfut__current;

	(void)fd;
	(void)what;
	evfut__timer_source_consume(&t->source);
	t->armed = UINT64_MAX;
	/* A host's loop may run this: wakes from here are local. */
	evfut__current = t->runtime;
	evfut__timers_fire(t, evfut__timers_now(t));
	evfut__current = outer;
}

int
evfut__timers_init(struct evfut__timers *t, struct evfut_runtime *rt,
                   enum evfut_clock clock)
{
	int clock_id;
	int rc;

	t->runtime = rt;
	t->armed = UINT64_MAX;
	t->deferred.next = t->deferred.prev = &t->deferred;
	t->virtual_now = 0;
	t->fired = 0;
	t->arms = 0;
	t->trace = NULL;
	t->virtual_clock = clock == EVFUT_CLOCK_VIRTUAL;
	switch (clock) {
	case EVFUT_CLOCK_MONOTONIC:
	case EVFUT_CLOCK_VIRTUAL:
		clock_id = CLOCK_MONOTONIC;
		break;
#ifdef CLOCK_BOOTTIME
	case EVFUT_CLOCK_BOOTTIME:
		clock_id = CLOCK_BOOTTIME;
		break;
#endif
	default:
		return -EINVAL;
	}
	t->source.clock_id = clock_id;
	rc = evfut__timer_store_init(&t->store, evfut__timers_now(t));
	if (rc < 0)
		return rc;
	t->source.event = NULL;
	if (!t->virtual_clock) {
		rc = evfut__timer_source_open(&t->source, rt->base, clock_id,
		                              on_source_fire, t);
		if (rc < 0)
			evfut__timer_store_finish(&t->store);
	}
	return rc;
}

/*
 * Leaves every sleep still armed on @t (one that is not in a task, such as
 * block_on's future or a future polled by hand) disarmed and pending, with
 * its waker, so that dropping it later touches nothing of the runtime.
 */
void
evfut__timers_finish(struct evfut__timers *t)
{
	struct evfut_timer_node *node;
	struct evfut_sleep *sleep;

	while ((node = evfut__timer_store_pop(&t->store, UINT64_MAX)) != NULL) {
		sleep = evfut_container_of(node, struct evfut_sleep, node);
		evfut__sleep_set_idle(sleep, EVFUT__SLEEP_HAS_DEADLINE, 0);
		sleep->runtime = NULL;
	}
	while (t->deferred.next != &t->deferred) {
		node = evfut_container_of(t->deferred.next,
		                          struct evfut_timer_node, u.wheel);
		sleep = evfut_container_of(node, struct evfut_sleep, node);
		evfut__timers_undefer(node);
		evfut__sleep_set_idle(sleep, 0, 0);
		sleep->runtime = NULL;
	}
	if (!t->virtual_clock)
		evfut__timer_source_close(&t->source);
	evfut__timer_store_finish(&t->store);
}

uint64_t
evfut__clock_ns(int clock_id)
{
	struct timespec ts;

	clock_gettime(clock_id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
evfut__timers_now(struct evfut__timers *t)
{
	if (t->virtual_clock)
		t->seen = t->virtual_now;
	else
		t->seen = evfut__clock_ns(t->source.clock_id);
	return t->seen;
}

/* Arms the source at @deadline if that is earlier than where it is. */
static void
arm_source(struct evfut__timers *t, uint64_t deadline)
{
	if (t->virtual_clock || deadline >= t->armed)
		return;
	/* A failed arm leaves t->armed unchanged: the next arm retries. */
	if (evfut__timer_source_arm(&t->source, deadline,
	                            evfut__timers_now(t)) == 0) {
		t->armed = deadline;
		t->arms++;
	}
}

int
evfut__timers_arm(struct evfut__timers *t, struct evfut_timer_node *node,
                  uint64_t deadline)
{
	int rc = evfut__timer_store_insert(&t->store, node, deadline);

	if (rc == 0)
		arm_source(t, deadline);
	return rc;
}

void
evfut__timers_flush_deferred(struct evfut__timers *t)
{
	uint64_t now = evfut__timers_now(t);
	struct evfut_timer_node *node;
	struct evfut_sleep *sleep;
	int rc;

	while (t->deferred.next != &t->deferred) {
		node = evfut_container_of(t->deferred.next,
		                          struct evfut_timer_node, u.wheel);
		sleep = evfut_container_of(node, struct evfut_sleep, node);
		evfut__timers_undefer(node);
		node->deadline = evfut__nsec_add(now, node->deadline);
		evfut__sleep_set_idle(sleep, EVFUT__SLEEP_HAS_DEADLINE, 0);
		sleep->runtime = t->runtime;
		if (node->deadline == EVFUT_NEVER)
			continue; /* nothing to arm, whatever the clock does */
		rc = evfut__timers_arm(t, node, node->deadline);
		if (rc < 0) {
			/* Its task polls it and reads the error. */
			evfut__sleep_set_idle(sleep,
			                      EVFUT__SLEEP_HAS_DEADLINE |
			                              EVFUT__SLEEP_FIRED,
			                      rc);
			evfut_waker_wake_by_ref(&sleep->waker);
		}
	}
}

static void
trace_fire(struct evfut__timers *t, uint64_t deadline, uint64_t now)
{
	struct evfut_trace_record record = {EVFUT_TRACE_TIMER_FIRE,
	                                    evfut__clock_ns(CLOCK_MONOTONIC),
	                                    0,
	                                    NULL,
	                                    0,
	                                    0,
	                                    deadline,
	                                    now};

	t->trace(&record, t->trace_arg);
}

/*
 * Wakes the timers due at @now one by one, each taken out of the store
 * before its waker runs: a timer dropped by an earlier wake is gone, and
 * never woken. A timer armed meanwhile is later than the clock read for
 * @now, so the loop ends.
 */
void
evfut__timers_fire(struct evfut__timers *t, uint64_t now)
{
	struct evfut_waker empty = EVFUT_WAKER_EMPTY;
	struct evfut_timer_node *node;
	struct evfut_sleep *sleep;
	struct evfut_waker waker;

	if (t->virtual_clock && now > t->virtual_now)
		t->virtual_now = now;
	while ((node = evfut__timer_store_pop(&t->store, now)) != NULL) {
		sleep = evfut_container_of(node, struct evfut_sleep, node);
		evfut__sleep_set_idle(
		        sleep, EVFUT__SLEEP_HAS_DEADLINE | EVFUT__SLEEP_FIRED,
		        0);
		if (t->trace != NULL)
			trace_fire(t, node->deadline, now);
		waker = sleep->waker;
		sleep->waker = empty;
		t->fired++;
		evfut_waker_wake(&waker);
	}
	arm_source(t, evfut__timer_store_next_deadline(&t->store));
}

uint64_t
evfut__timers_next(struct evfut__timers *t)
{
	return evfut__timer_store_next_deadline(&t->store);
}
