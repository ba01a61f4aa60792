/*
 * countdown: the README's example, a future that asks to be polled again
 * until its count runs out.
 *
 * Run: ./build/demo/examples/countdown
 */
#include <evfut.h>

/* [countdown] */
struct countdown {
	struct evfut_future base;
	int left;
};

static enum evfut_poll
countdown_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct countdown *c = evfut_container_of(self, struct countdown, base);

	if (c->left-- == 0)
		return EVFUT_READY;
	evfut_waker_wake_by_ref(cx->waker); /* poll me again soon */
	return EVFUT_PENDING;
}

int
main(void)
{
	struct evfut_runtime *rt;
	struct countdown c = {.base = EVFUT_FUTURE_INIT(countdown_poll, NULL),
	                      .left = 3};

	if (evfut_runtime_create(&rt, NULL) < 0)
		return 1;
	evfut_task_spawn(rt, &c.base, sizeof c); /* a copy runs as a task */
	evfut_runtime_run(rt);                   /* until no task is left */
	evfut_runtime_destroy(rt);
	return 0;
}
/* [countdown] */
