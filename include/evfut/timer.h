/*
 * evfut/timer.h: sleeping until a deadline, intervals and timeouts.
 *
 * Every runtime has one timer driver: one timerfd (CLOCK_MONOTONIC,
 * absolute deadlines) armed at the earliest pending deadline, and an
 * intrusive store of deadlines, so arming a timer allocates nothing per
 * timer. Timers fire in deadline order, equal deadlines in the order they
 * were armed, and never before their deadline. Deadlines are nanoseconds on
 * the runtime's clock: CLOCK_MONOTONIC, which stops while the machine is
 * suspended, or the virtual clock of a runtime created with
 * EVFUT_CLOCK_VIRTUAL.
 *
 * Timer futures need a runtime: polled without one (evfut_block_on()), they
 * complete with -EINVAL.
 */
#ifndef EVFUT_TIMER_H
#define EVFUT_TIMER_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "future.h"
#include "waker.h"

#ifdef __cplusplus
extern "C" {
#endif

struct evfut_runtime;

/** A deadline or a duration in nanoseconds. */
typedef uint64_t evfut_nsec;

/** A deadline that never comes. */
#define EVFUT_NEVER UINT64_MAX

#define EVFUT_USEC ((evfut_nsec)1000)       /**< One microsecond. */
#define EVFUT_MSEC ((evfut_nsec)1000000)    /**< One millisecond. */
#define EVFUT_SEC  ((evfut_nsec)1000000000) /**< One second. */

/** Private: a timer's links in the runtime's timer store. */
struct evfut_timer_link {
	/* private */
	struct evfut_timer_link *next;
	struct evfut_timer_link *prev;
};

/**
 * Private: a timer's place in the runtime's timer store. The first word of
 * the union is 0 (NULL) whenever the timer is not armed.
 */
struct evfut_timer_node {
	/* private */
	uint64_t deadline;
	union {
		struct {
			size_t pos; /* 1-based; 0: not armed */
			uint64_t seq;
		} heap;
		struct evfut_timer_link wheel; /* next NULL: not armed */
		struct {
			void *armed; /* NULL */
			unsigned flags;
			int result;
		} idle; /* an evfut_sleep's state while not armed */
	} u;
};

/**
 * A future that completes at a deadline. Zero-initialise it or use
 * evfut_sleep_init()/evfut_sleep_until_init(); drop it with
 * evfut_future_drop(), which disarms it if it is pending. Its result is
 * read with evfut_sleep_result().
 */
struct evfut_sleep {
	/* public */
	struct evfut_future base; /**< Poll and drop through this. */
	/* private */
	/* node.deadline: the deadline once known, the duration before */
	struct evfut_timer_node node;
	struct evfut_waker waker;
	struct evfut_runtime *runtime; /* where it is armed */
};

/**
 * The result of @p sleep, read-only; the runtime's thread.
 *
 * @return 0 once the deadline passed, and 0 while it is pending; -EINVAL
 * if it was polled with no runtime (or @p sleep is NULL); -ENOMEM if the
 * timer store could not grow to arm it.
 */
EVFUT_API int evfut_sleep_result(const struct evfut_sleep *sleep);

/**
 * The deadline of @p sleep on its runtime's clock: known from
 * evfut_sleep_until_init() or evfut_sleep_reset(), or from the first poll
 * of a sleep initialised with a duration.
 *
 * @return the deadline, or EVFUT_NEVER while it is not known yet.
 */
EVFUT_API evfut_nsec evfut_sleep_deadline(const struct evfut_sleep *sleep);

/**
 * Initialises @p sleep to complete @p duration nanoseconds after its first
 * poll, and never before @p duration has passed since this call on the
 * runtime's clock, however long the poll that first polls it runs.
 * Durations too large to add to the clock saturate to EVFUT_NEVER. A sleep
 * ready at its first poll spends one unit of the task's cooperative budget
 * (see evfut_coop_proceed()); with the budget spent it yields first.
 */
EVFUT_API void evfut_sleep_init(struct evfut_sleep *sleep, evfut_nsec duration);

/**
 * Initialises @p sleep to complete at @p deadline on the runtime's clock
 * (see evfut_runtime_now()); a deadline at or before the runtime's latest
 * clock reading completes on the first poll, a later one that has passed
 * at the next loop iteration.
 */
EVFUT_API void evfut_sleep_until_init(struct evfut_sleep *sleep,
                                      evfut_nsec deadline);

/**
 * Moves the deadline of @p sleep, pending or not, to @p deadline: earlier
 * or later; a completed sleep becomes pending again. The runtime's thread.
 *
 * @return 0; -EINVAL if @p sleep is NULL; -ENOMEM if the timer store could
 * not grow (the sleep is then disarmed and its next poll retries).
 */
EVFUT_API int evfut_sleep_reset(struct evfut_sleep *sleep, evfut_nsec deadline);

/**
 * Whether the deadline of @p sleep has passed: the timer driver fired it,
 * or a poll found it due (tokio's Sleep::is_elapsed). A sleep moved by
 * evfut_sleep_reset() is pending again. The runtime's thread.
 *
 * @return 1 or 0; 0 also for NULL and for a sleep that failed (see
 * evfut_sleep_result()).
 */
EVFUT_API int evfut_sleep_elapsed(const struct evfut_sleep *sleep);

/**
 * What an interval does with ticks it missed because its task was late: a
 * tick seen more than 5 ms after it was due, as in tokio.
 */
enum evfut_missed_tick {
	/** Fire the missed ticks at once, one per poll, then keep the
	    original schedule (tokio's Burst, the default). */
	EVFUT_MISSED_BURST = 0,
	/** Fire once now, then schedule the next tick a period after now
	    (tokio's Delay). */
	EVFUT_MISSED_DELAY = 1,
	/** Fire once now, then skip to the next tick of the original
	    schedule that is still ahead (tokio's Skip). */
	EVFUT_MISSED_SKIP = 2,
};

/**
 * A future that completes once per period. Unlike other futures it may be
 * polled again after it returned EVFUT_READY: each ready is one tick, and
 * the next poll waits for the next tick. The first tick is at the first
 * poll plus the period.
 */
struct evfut_interval {
	/* public */
	struct evfut_future base; /**< Poll and drop through this. */
	/* read-only */
	int result;           /**< 0 after a tick, or the sleep's error. */
	uint64_t ticks;       /**< Ticks so far. */
	evfut_nsec scheduled; /**< When the last tick was due. */
	/* private */
	evfut_nsec period;
	enum evfut_missed_tick missed;
	struct evfut_sleep sleep;
};

/**
 * Initialises @p interval with @p period (at least 1 ns) and a policy for
 * missed ticks.
 *
 * @return 0; -EINVAL if @p interval is NULL, @p period is 0 or @p missed is
 * not a policy.
 */
EVFUT_API int evfut_interval_init(struct evfut_interval *interval,
                                  evfut_nsec period,
                                  enum evfut_missed_tick missed);

/**
 * Restarts the schedule of @p interval: its next tick is one period from
 * now (tokio's Interval::reset), and the ticks after it follow from there.
 * On an interval never polled, "now" is its first poll. The runtime's
 * thread.
 *
 * @return 0; -EINVAL if @p interval is NULL; -ENOMEM as evfut_sleep_reset().
 */
EVFUT_API int evfut_interval_reset(struct evfut_interval *interval);

/**
 * evfut_interval_reset() with the next tick @p duration from now (0: at
 * once, tokio's reset_immediately).
 *
 * @return as evfut_interval_reset().
 */
EVFUT_API int evfut_interval_reset_after(struct evfut_interval *interval,
                                         evfut_nsec duration);

/**
 * evfut_interval_reset() with the next tick at @p deadline on the
 * runtime's clock (in the past: at the next poll).
 *
 * @return as evfut_interval_reset().
 */
EVFUT_API int evfut_interval_reset_at(struct evfut_interval *interval,
                                      evfut_nsec deadline);

/**
 * A future that runs @p inner for at most a duration: it completes with the
 * inner future's completion (result 0) or, when the time runs out first,
 * with -ETIMEDOUT after dropping the inner future, which deregisters
 * whatever it waited on.
 */
struct evfut_timeout {
	/* public */
	struct evfut_future base; /**< Poll and drop through this. */
	/* read-only */
	int result; /**< 0: @p inner completed; -ETIMEDOUT; or the sleep's
	                 error. */
	/* private */
	struct evfut_future *inner;
	struct evfut_sleep sleep;
	unsigned inner_dropped;
};

/**
 * Initialises @p timeout around @p inner (retained until @p timeout is
 * dropped; the inner future is dropped by the timeout, either when time
 * runs out or when the timeout itself is dropped).
 *
 * @return 0; -EINVAL if an argument is NULL.
 */
EVFUT_API int evfut_timeout_init(struct evfut_timeout *timeout,
                                 struct evfut_future *inner,
                                 evfut_nsec duration);

/**
 * The current time on the clock of @p rt: CLOCK_MONOTONIC in nanoseconds,
 * or the virtual clock.
 *
 * @return the time; 0 if @p rt is NULL.
 */
EVFUT_API evfut_nsec evfut_runtime_now(struct evfut_runtime *rt);

/**
 * Moves the virtual clock of @p rt forward by @p duration, firing the
 * timers it passes (their tasks run at the next drain).
 *
 * @return 0; -EINVAL if @p rt is NULL or does not run on a virtual clock.
 * The runtime's thread.
 */
EVFUT_API int evfut_runtime_advance(struct evfut_runtime *rt,
                                    evfut_nsec duration);

#ifdef __cplusplus
}
#endif

#endif /* EVFUT_TIMER_H */
