/*
 * Helpers shared by the async suites: a future that is ready on its n-th
 * poll, and manual polling with a counting waker.
 */
#ifndef EVFUT_TEST_ASYNC_COMMON_H
#define EVFUT_TEST_ASYNC_COMMON_H

#include "harness.h"

/*
 * Ready on poll number @ready_at; before that it wakes itself by reference
 * when @self_wake is set, and otherwise keeps a clone of the waker, which
 * step_kick() wakes. Counts its polls and drops, and fails the test if it
 * is polled after it completed or dropped twice.
 */
struct step {
	struct evfut_future base;
	int ready_at;
	int polls;
	int drops;
	int done;
	int self_wake;
	int *order; /* where to record completion: order[(*order_n)++] = id */
	int *order_n;
	int id;
	struct evfut_waker waker;
};

static enum evfut_poll
step_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct step *s = evfut_container_of(self, struct step, base);

	ck_assert_msg(!s->done, "step %d polled after it completed", s->id);
	ck_assert_int_eq(s->drops, 0);
	if (++s->polls >= s->ready_at) {
		s->done = 1;
		evfut_waker_drop(&s->waker);
		if (s->order != NULL)
			s->order[(*s->order_n)++] = s->id;
		return EVFUT_READY;
	}
	if (s->self_wake)
		evfut_waker_wake_by_ref(cx->waker);
	else
		evfut_waker_store(&s->waker, cx->waker);
	return EVFUT_PENDING;
}

static void
step_drop(struct evfut_future *self)
{
	struct step *s = evfut_container_of(self, struct step, base);

	ck_assert_int_eq(s->drops, 0);
	s->drops++;
	evfut_waker_drop(&s->waker);
}

static inline void
step_init(struct step *s, int id, int ready_at)
{
	struct step zero = {0};

	*s = zero;
	s->base.poll = step_poll;
	s->base.drop = step_drop;
	s->id = id;
	s->ready_at = ready_at;
	s->self_wake = 1;
}

/* Polls @f once with a waker of @counter and no runtime (or @rt). */
static inline enum evfut_poll
poll_with(struct evfut_future *f, struct harness_counter *counter,
          struct evfut_runtime *rt)
{
	struct evfut_waker waker = harness_counter_waker(counter);
	struct evfut_context cx = {&waker, rt};
	enum evfut_poll p = evfut_future_poll(f, &cx);

	evfut_waker_drop(&waker);
	return p;
}

#endif
