/*
 * deadline.h: a connection's one timer, re-armed lazily.
 *
 * A keep-alive connection moves its deadline forward at every request.
 * Resetting the timer each time would re-arm the runtime's timerfd at
 * nearly every request (the connection idle the longest holds the earliest
 * deadline, and it is the next to be served). Instead the timer is only
 * ever moved earlier; when it fires at a deadline that has been pushed
 * back meanwhile, it is re-armed once at the new one.
 */
#ifndef HTTP_DEADLINE_H
#define HTTP_DEADLINE_H

#include <evfut.h>

struct deadline {
	struct evfut_sleep sleep;
	unsigned armed; /* the sleep was initialised */
	unsigned fired; /* the sleep completed and was not reset since */
};

/*
 * Whether the time @p want (on the runtime's clock) has come. When it has
 * not, the task of @p cx is woken at the latest when it comes. The
 * deadline must not move after its first poll.
 *
 * @return 1 when @p want has passed; 0 otherwise.
 */
int deadline_poll(struct deadline *d, evfut_nsec want,
                  struct evfut_context *cx);

/* Disarms @p d. */
void deadline_finish(struct deadline *d);

#endif /* HTTP_DEADLINE_H */
