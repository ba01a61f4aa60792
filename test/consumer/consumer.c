/*
 * consumer: a program built against evfut pulled in as a meson subproject
 * through a wrap file (test/consumer/run.sh) and against an installed evfut
 * (test/install/run.sh). It sleeps on a timer in a spawned task and checks
 * that the task ran.
 *
 * Run: test/consumer/run.sh static build/consumer
 */
#include <stdio.h>

#include <evfut.h>

struct nap {
	struct evfut_future base;
	struct evfut_sleep sleep;
	int *done;
};

static enum evfut_poll
nap_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct nap *n = evfut_container_of(self, struct nap, base);

	if (evfut_future_poll(&n->sleep.base, cx) == EVFUT_PENDING)
		return EVFUT_PENDING;
	*n->done = evfut_sleep_result(&n->sleep) == 0;
	return EVFUT_READY;
}

static void
nap_drop(struct evfut_future *self)
{
	struct nap *n = evfut_container_of(self, struct nap, base);

	evfut_future_drop(&n->sleep.base);
}

int
main(void)
{
	struct evfut_runtime *rt;
	int done = 0;
	struct nap nap = {.base = EVFUT_FUTURE_INIT(nap_poll, nap_drop),
	                  .done = &done};

	evfut_sleep_init(&nap.sleep, EVFUT_MSEC);
	if (evfut_runtime_create(&rt, NULL) < 0)
		return 1;
	if (evfut_task_spawn(rt, &nap.base, sizeof nap) < 0 ||
	    evfut_runtime_run(rt) < 0) {
		evfut_runtime_destroy(rt);
		return 1;
	}
	evfut_runtime_destroy(rt);
	printf("evfut %s: the task slept and finished: %s\n", EVFUT_VERSION,
	       done ? "yes" : "no");
	return done ? 0 : 1;
}
