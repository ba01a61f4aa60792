/*
 * evfut/signal.h: a future that completes when a signal arrives, for
 * graceful shutdown.
 *
 * Signals are delivered through libevent's signal events. With epoll, only
 * one event_base at a time receives signals in a process: a runtime that
 * borrows a host's base shares it with the host's own signal events.
 */
#ifndef EVFUT_SIGNAL_H
#define EVFUT_SIGNAL_H

#include <stddef.h>

#include "common.h"
#include "future.h"
#include "waker.h"

#ifdef __cplusplus
extern "C" {
#endif

struct event;
struct evfut_runtime;

/** The most signals one evfut_signal watches. */
#define EVFUT_SIGNAL_MAX 8

/**
 * A future that completes with the number of the next signal of its set
 * that arrives. It may be polled again after it completed: each ready is
 * one arrival, and arrivals while nobody polls are counted, not lost.
 */
struct evfut_signal {
	/* public */
	struct evfut_future base; /**< Poll and drop through this. */
	/* read-only */
	int result; /**< The signal that arrived. */
	/* private */
	size_t count;
	int signals[EVFUT_SIGNAL_MAX];
	unsigned arrived[EVFUT_SIGNAL_MAX];
	struct event *events[EVFUT_SIGNAL_MAX];
	struct evfut_waker waker;
	struct evfut_runtime *runtime;
};

/**
 * Starts watching the @p count signals of @p signals (copied) on @p rt; the
 * watch lasts until @p sig is dropped with evfut_future_drop(), which
 * restores the previous dispositions.
 *
 * @return 0; -EINVAL if an argument is NULL, @p count is 0 or above
 * EVFUT_SIGNAL_MAX, a signal number is invalid (SIGKILL and SIGSTOP
 * included) or listed twice; -ENOMEM. On failure nothing is watched.
 */
EVFUT_API int evfut_signal_init(struct evfut_signal *sig,
                                struct evfut_runtime *rt, const int *signals,
                                size_t count);

#ifdef __cplusplus
}
#endif

#endif /* EVFUT_SIGNAL_H */
