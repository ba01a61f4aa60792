/*
 * evfut/runtime.h: the runtime, a single-threaded executor on a libevent
 * event_base.
 *
 * The executor drains a FIFO ready queue of tasks, at most a budget of
 * polls at a time, and between two drains runs one libevent iteration:
 * non-blocking when work is ready, blocking otherwise. Wakes from other
 * threads go through a remote queue and one eventfd (a pipe where there is
 * none). Nothing is global: two runtimes on two threads share no state.
 */
#ifndef EVFUT_RUNTIME_H
#define EVFUT_RUNTIME_H

#include <stdint.h>

#include "common.h"
#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;
struct evfut_runtime;

/** Polls per drain of the ready queue when the options say 0. */
#define EVFUT_DEFAULT_BUDGET 128

/** The clock a runtime's timers run on. */
enum evfut_clock {
	/** CLOCK_MONOTONIC: stops while the machine is suspended. */
	EVFUT_CLOCK_MONOTONIC = 0,
	/** CLOCK_BOOTTIME: counts suspended time too (Linux). */
	EVFUT_CLOCK_BOOTTIME = 1,
	/** A paused clock for tests: it starts at 0, moves only by
	    evfut_runtime_advance(), and jumps to the next deadline whenever
	    every task is idle, no I/O is ready, no wake from another thread
	    is pending and no blocking-pool job started by one of its tasks
	    is in flight (as tokio holds auto-advance back during
	    spawn_blocking). Not on a borrowed base: see
	    evfut_runtime_create(). */
	EVFUT_CLOCK_VIRTUAL = 2,
};

/** Options for evfut_runtime_create(); all-zero means the defaults. */
struct evfut_runtime_options {
	/* public */
	/** Polls per drain before libevent runs once; 0 for the default. */
	unsigned budget;
	/** The clock of the runtime's timers. */
	enum evfut_clock clock;
	/**
	 * A host's event_base to borrow instead of creating one, or NULL.
	 * The host keeps running its own loop (event_base_dispatch() or
	 * event_base_loop()), which then drives the runtime too: the runtime
	 * drains its ready queue from an event on that base, at most a budget
	 * of polls per loop iteration, and evfut_runtime_run() and
	 * evfut_runtime_block_on() are refused. The base must outlive the
	 * runtime, which leaves it intact when destroyed.
	 */
	struct event_base *base;
	/**
	 * Nonzero: every spawned task is one call to the allocator, freed
	 * when the task is released, instead of a block of the runtime's
	 * pool (see evfut_runtime_trim()). Memory then goes back at once,
	 * and a memory debugger sees each task, at some cost a spawn.
	 */
	int unpooled_tasks;
};

/** Counters kept by every runtime; always on, read with evfut_runtime_stats().
 */
struct evfut_stats {
	uint64_t tasks_spawned; /**< Tasks spawned, block_on roots included. */
	uint64_t tasks_completed; /**< Tasks whose future returned ready. */
	uint64_t tasks_cancelled; /**< Tasks dropped before completing. */
	uint64_t tasks_live;      /**< Tasks spawned and not finished. */
	uint64_t polls;           /**< Polls of task futures. */
	uint64_t wakes_local;    /**< Tasks queued from the runtime's thread. */
	uint64_t wakes_remote;   /**< Tasks queued from other threads. */
	uint64_t remote_signals; /**< Writes to the wake-up eventfd. */
	uint64_t loop_iterations; /**< libevent loop iterations run. */
	uint64_t lost_wakeups;    /**< Reports of the lost-wakeup detector. */
	uint64_t timers_fired;    /**< Timers whose deadline passed. */
	uint64_t timer_arms;      /**< Re-arms of the timerfd (syscalls). */
	uint64_t accept_backoffs; /**< Accepts delayed for want of fds. */
	uint64_t tasks_held;      /**< Tasks whose memory is not released:
	                               live ones, and finished ones a waker or
	                               a join handle still refers to; and
	                               blocking-pool jobs in flight, whose
	                               future has not seen them finish. */
	uint64_t pool_bytes;      /**< Memory kept for spawned tasks, in use or
	                               free; see evfut_runtime_trim(). */
};

/**
 * Creates a runtime with its own event_base (epoll on Linux, kqueue on the
 * BSDs and macOS, as libevent chooses) and its wake-up eventfd.
 *
 * @param out receives the runtime, owned by the caller until
 * evfut_runtime_destroy(); untouched on failure.
 * @param options borrowed; NULL for the defaults.
 * @return 0; -EINVAL if @p out is NULL or the options name no clock, or a
 * clock the system lacks; -ENOMEM if memory or the event_base could not be
 * had (libevent reports no reason); -EMFILE or -ENFILE if no file
 * descriptor was left for the eventfd or the timerfd; -ENOTSUP if the
 * options borrow a host's base and ask for EVFUT_CLOCK_VIRTUAL (the host's
 * loop blocks where the runtime cannot see that every task is idle, so the
 * clock could never jump). Any thread.
 */
EVFUT_API int evfut_runtime_create(struct evfut_runtime **out,
                                   const struct evfut_runtime_options *options);

/**
 * Destroys @p rt: every task still alive is cancelled (its future dropped),
 * then the event_base and the eventfd are released. Wakers that outlive the
 * runtime stay safe to wake and drop, from any thread; the memory they refer
 * to is freed with the last of them. NULL is allowed.
 *
 * Not while the runtime is running: call it from the thread that ran it,
 * outside evfut_runtime_run() and evfut_runtime_block_on().
 */
EVFUT_API void evfut_runtime_destroy(struct evfut_runtime *rt);

/**
 * Runs @p rt until no task is left.
 *
 * @return 0; -EINVAL if @p rt is NULL or borrows a host's base (the host's
 * loop runs it); -EDEADLK if called while @p rt is already running on this
 * thread (from a task or a libevent callback of the
 * same base); -EIO if libevent's loop failed. The thread that runs the
 * runtime is its thread until the call returns.
 */
EVFUT_API int evfut_runtime_run(struct evfut_runtime *rt);

/**
 * Runs @p rt until @p future completes; other tasks make progress meanwhile
 * and may still be alive on return.
 *
 * @p future is borrowed: it is polled as the root task of this call, not
 * dropped, and on return holds its result in its own fields.
 *
 * @return 0 when the future completed; -EINVAL if @p rt or @p future is NULL,
 * the future has no poll function, or @p rt borrows a host's base; -ENOMEM if
 * the root task could not be allocated (the future was not polled); -EDEADLK if
 * called while @p rt is already running (block_on from inside a task or
 * callback of the same runtime); -EIO if libevent's loop failed.
 */
EVFUT_API int evfut_runtime_block_on(struct evfut_runtime *rt,
                                     struct evfut_future *future);

/**
 * The event_base under @p rt, borrowed for as long as the runtime lives:
 * add events to it to have libevent callbacks run between drains.
 *
 * @return the base, or NULL if @p rt is NULL.
 */
EVFUT_API struct event_base *evfut_runtime_event_base(struct evfut_runtime *rt);

/**
 * Gives the memory kept for spawned tasks back to the allocator.
 *
 * A spawned task is one block from the runtime's pool, and a finished
 * task's block stays there for the next task of its size, so the pool
 * holds what the most tasks alive at once needed. When no task is held
 * (tasks_held is 0), this frees all of it; the next spawn starts afresh.
 *
 * @return 0; -EBUSY if a task is held (nothing was freed); -EINVAL if
 * @p rt is NULL. The runtime's thread, outside evfut_runtime_run() and
 * evfut_runtime_block_on().
 */
EVFUT_API int evfut_runtime_trim(struct evfut_runtime *rt);

/**
 * Copies the counters of @p rt into @p out.
 *
 * @return 0; -EINVAL if an argument is NULL. The runtime's thread.
 */
EVFUT_API int evfut_runtime_stats(struct evfut_runtime *rt,
                                  struct evfut_stats *out);

/** What a trace record describes. */
enum evfut_trace_event {
	EVFUT_TRACE_SPAWN,      /**< A task was spawned. */
	EVFUT_TRACE_POLL_BEGIN, /**< A task's poll starts. */
	EVFUT_TRACE_POLL_END,   /**< It returned; see ready. */
	EVFUT_TRACE_WAKE,       /**< A task was put on the ready queue (a wake
	                             while it ran: when its poll ended). */
	EVFUT_TRACE_TIMER_FIRE, /**< A timer's deadline passed. */
};

/** One event of a runtime's life, handed to its trace function. */
struct evfut_trace_record {
	enum evfut_trace_event event; /**< What happened. */
	uint64_t time;                /**< When: CLOCK_MONOTONIC, in ns. */
	uint32_t task;                /**< The task's id (not for timers). */
	const char *where;            /**< Where the task was spawned. */
	int ready;         /**< POLL_END: 1 when the future completed. */
	int remote;        /**< WAKE: 1 when the wake came from another thread
	                        (traced when the loop takes it off the remote queue)
	                    */
	uint64_t deadline; /**< TIMER_FIRE: the timer's deadline. */
	uint64_t now;      /**< TIMER_FIRE: the clock when it fired. */
};

/** Receives trace records on the runtime's thread; must not re-enter it. */
typedef void (*evfut_trace_fn)(const struct evfut_trace_record *record,
                               void *arg);

/**
 * Has @p fn called with @p arg (borrowed) for every event of @p rt, from
 * now on; NULL stops tracing. Costs one branch per event when off.
 *
 * @return 0; -EINVAL if @p rt is NULL. The runtime's thread.
 */
EVFUT_API int evfut_runtime_set_trace(struct evfut_runtime *rt,
                                      evfut_trace_fn fn, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* EVFUT_RUNTIME_H */
