/*
 * Private: what wakes the loop at the earliest deadline. One small
 * platform file implements it: source-timerfd.c (a timerfd armed with an
 * absolute deadline, registered as a plain read event, so it keeps its
 * precision whatever flags the base was given) or source-libevent.c (one
 * libevent timeout, where there is no timerfd).
 */
#ifndef EVFUT_TIMERS_SOURCE_H
#define EVFUT_TIMERS_SOURCE_H

#include <stdint.h>

struct event;
struct event_base;

struct evfut__timer_source {
	int fd;              /* the timerfd, or -1 */
	int clock_id;        /* CLOCK_MONOTONIC or CLOCK_BOOTTIME */
	struct event *event; /* its read event, or the libevent timeout */
};

/* 0; -EINVAL (no such clock); -EMFILE, -ENFILE, -ENOMEM. */
int evfut__timer_source_open(struct evfut__timer_source *src,
                             struct event_base *base, int clock_id,
                             void (*on_fire)(int, short, void *), void *arg);
void evfut__timer_source_close(struct evfut__timer_source *src);
/* Arms at @deadline (absolute); UINT64_MAX disarms. 0 or -errno. */
int evfut__timer_source_arm(struct evfut__timer_source *src, uint64_t deadline,
                            uint64_t now);
/* Clears the fired state after the source woke the loop. */
void evfut__timer_source_consume(struct evfut__timer_source *src);

#endif
