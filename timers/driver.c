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

/* Wakers are woken in batches, each detached entirely before waking. */
#define FIRE_BATCH 64

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
	evfut__timers_start_pass(t);
	evfut__timers_fire(t, t->pass_now);
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
	t->virtual_now = 0;
	t->fired = 0;
	t->arms = 0;
	t->trace = NULL;
	t->virtual_clock = clock == EVFUT_CLOCK_VIRTUAL;
	t->pass_now = 0;
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
	evfut__timers_start_pass(t);
	rc = evfut__timer_store_init(&t->store, t->pass_now);
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

void
evfut__timers_finish(struct evfut__timers *t)
{
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
evfut__timers_now(const struct evfut__timers *t)
{
	if (t->virtual_clock)
		return t->virtual_now;
	return evfut__clock_ns(t->source.clock_id);
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

/* Detaches up to FIRE_BATCH due timers, taking their wakers. */
static unsigned
detach_due(struct evfut__timers *t, uint64_t now,
           struct evfut_waker wakers[FIRE_BATCH])
{
	struct evfut_timer_node *node;
	struct evfut_sleep *sleep;
	unsigned n = 0;

	while (n < FIRE_BATCH &&
	       (node = evfut__timer_store_pop(&t->store, now)) != NULL) {
		sleep = evfut_container_of(node, struct evfut_sleep, node);
		evfut__sleep_set_idle(
		        sleep, EVFUT__SLEEP_HAS_DEADLINE | EVFUT__SLEEP_FIRED,
		        0);
		if (t->trace != NULL)
			trace_fire(t, node->deadline, now);
		wakers[n++] = sleep->waker;
		sleep->waker.data = NULL;
		sleep->waker.vtable = NULL;
	}
	return n;
}

void
evfut__timers_fire(struct evfut__timers *t, uint64_t now)
{
	struct evfut_waker wakers[FIRE_BATCH];
	unsigned n;
	unsigned i;

	if (t->virtual_clock && now > t->virtual_now)
		t->virtual_now = now;
	do {
		n = detach_due(t, now, wakers);
		t->fired += n;
		for (i = 0; i < n; i++)
			evfut_waker_wake(&wakers[i]);
	} while (n == FIRE_BATCH);
	arm_source(t, evfut__timer_store_next_deadline(&t->store));
}

uint64_t
evfut__timers_next(struct evfut__timers *t)
{
	return evfut__timer_store_next_deadline(&t->store);
}
