/*
 * Private: the timer driver of a runtime. It owns the store of deadlines
 * and the source that wakes the loop at the earliest one, and wakes the
 * stored waker of each timer whose deadline passed.
 */
#ifndef EVFUT_TIMERS_DRIVER_H
#define EVFUT_TIMERS_DRIVER_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include "evfut/runtime.h"
#include "evfut/timer.h"

#include "source.h"
#include "store.h"

struct evfut_runtime;

/* A sleep's flags */
#define EVFUT__SLEEP_FIRED        1u /* the deadline passed */
#define EVFUT__SLEEP_HAS_DEADLINE 2u /* node.deadline is absolute */

/*
 * A sleep waiting in its runtime's deferred list (see evfut__timers_defer)
 * keeps the runtime in its runtime field with the low bit set.
 */
static inline bool
evfut__sleep_deferred(const struct evfut_sleep *sleep)
{
	return ((uintptr_t)sleep->runtime & 1u) != 0;
}

static inline struct evfut_runtime *
evfut__sleep_runtime(const struct evfut_sleep *sleep)
{
	return (struct evfut_runtime *)((uintptr_t)sleep->runtime &
	                                ~(uintptr_t)1u);
}

/*
 * A sleep's flags and result live in its node's union, over the store's
 * links, which keeps evfut_sleep at 64 bytes on LP64 (with the task header,
 * 128 a sleeping task). So they are stored only while the node is not
 * armed; an armed sleep has a deadline, has not fired, and its result is 0.
 * Whatever takes the node out of the store (pop, remove) overwrites them,
 * so it must call evfut__sleep_set_idle() right after.
 */
static inline unsigned
evfut__sleep_flags(const struct evfut_sleep *sleep)
{
	if (evfut__timer_node_armed(&sleep->node))
		return evfut__sleep_deferred(sleep) ? 0
		                                    : EVFUT__SLEEP_HAS_DEADLINE;
	return sleep->node.u.idle.flags;
}

static inline int
evfut__sleep_result(const struct evfut_sleep *sleep)
{
	if (evfut__timer_node_armed(&sleep->node))
		return 0;
	return sleep->node.u.idle.result;
}

/* Sets the state of @sleep, whose node is not armed. */
static inline void
evfut__sleep_set_idle(struct evfut_sleep *sleep, unsigned flags, int result)
{
	assert(!evfut__timer_node_armed(&sleep->node));
	sleep->node.u.idle.armed = NULL;
	sleep->node.u.idle.flags = flags;
	sleep->node.u.idle.result = result;
}

struct evfut__timers {
	struct evfut_runtime *runtime;
	struct evfut__timer_store store;
	struct evfut__timer_source source; /* unused on the virtual clock */
	uint64_t armed; /* the source's deadline; UINT64_MAX: none */
	/* Sleeps polled with a duration, whose deadline the next flush sets */
	struct evfut_timer_link deferred;
	bool virtual_clock;
	uint64_t virtual_now;
	/* The latest reading of the clock: now is never earlier */
	uint64_t seen;
	evfut_trace_fn trace; /* the runtime's, or NULL */
	void *trace_arg;
	uint64_t fired; /* counters */
	uint64_t arms;
};

/* 0; -EINVAL (unknown clock); -ENOMEM, -EMFILE, -ENFILE. */
int evfut__timers_init(struct evfut__timers *t, struct evfut_runtime *rt,
                       enum evfut_clock clock);
void evfut__timers_finish(struct evfut__timers *t);
uint64_t evfut__timers_now(struct evfut__timers *t);

/* A lower bound of now that reads no clock: the latest reading. */
static inline uint64_t
evfut__timers_seen(const struct evfut__timers *t)
{
	return t->virtual_clock ? t->virtual_now : t->seen;
}

/* The time on @clock_id, in nanoseconds. */
uint64_t evfut__clock_ns(int clock_id);

/* @a + @b, saturating at EVFUT_NEVER: huge durations never wrap. */
static inline evfut_nsec
evfut__nsec_add(evfut_nsec a, evfut_nsec b)
{
	return a > EVFUT_NEVER - b ? EVFUT_NEVER : a + b;
}

/*
 * A duration counts from no earlier than the sleep's init, so its deadline
 * needs the clock read after that: reading it at every first poll costs
 * more than the rest of an arm. Instead a sleep polled with a duration is
 * linked here (its node reads as armed, its runtime pointer tagged), and the
 * executor flushes the list after each task poll with one clock read for
 * all of them. Unlinking needs no list head.
 */
static inline void
evfut__timers_defer(struct evfut__timers *t, struct evfut_timer_node *node)
{
	struct evfut_timer_link *l = &node->u.wheel;

	l->next = &t->deferred;
	l->prev = t->deferred.prev;
	t->deferred.prev->next = l;
	t->deferred.prev = l;
}

static inline void
evfut__timers_undefer(struct evfut_timer_node *node)
{
	struct evfut_timer_link *l = &node->u.wheel;

	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->next = l->prev = NULL;
}

void evfut__timers_flush_deferred(struct evfut__timers *t);
/* evfut_sleep_reset() to @duration from now, or from the first poll. */
int evfut__sleep_reset_after(struct evfut_sleep *sleep, evfut_nsec duration);

/* Arms the deferred sleeps; the runtime's thread, as its current one. */
static inline void
evfut__timers_flush(struct evfut__timers *t)
{
	if (t->deferred.next != &t->deferred)
		evfut__timers_flush_deferred(t);
}

/* Arms @node at @deadline: 0, -ENOMEM (nothing changed). */
int evfut__timers_arm(struct evfut__timers *t, struct evfut_timer_node *node,
                      uint64_t deadline);
/* Disarms @node if it is armed. */
static inline void
evfut__timers_cancel(struct evfut__timers *t, struct evfut_timer_node *node)
{
	if (evfut__timer_node_armed(node))
		evfut__timer_store_remove(&t->store, node);
}
/* Fires every timer due at @now; the virtual clock moves to @now first. */
void evfut__timers_fire(struct evfut__timers *t, uint64_t now);
/* The earliest pending deadline, UINT64_MAX when there is none. */
uint64_t evfut__timers_next(struct evfut__timers *t);

#endif
