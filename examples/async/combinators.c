/*
 * combinators: join, select and yield_now on a runtime with a virtual
 * clock, so the program runs instantly and its order is exact.
 *
 * Run: ./build/gcc/examples/async/combinators
 * Exits 0 when every check holds.
 */
#include <stdio.h>

#include <evfut.h>

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
			        __LINE__, #cond);                              \
			return 1;                                              \
		}                                                              \
	} while (0)

static int
join_three_sleeps(struct evfut_runtime *rt)
{
	/* [join] */
	struct evfut_sleep a, b, c;
	struct evfut_future *all[] = {&a.base, &b.base, &c.base};
	struct evfut_join join;

	evfut_sleep_init(&a, 30 * EVFUT_MSEC);
	evfut_sleep_init(&b, 10 * EVFUT_MSEC);
	evfut_sleep_init(&c, 20 * EVFUT_MSEC);
	evfut_join_init(&join, all, 3);         /* allocates nothing */
	evfut_runtime_block_on(rt, &join.base); /* all three done */
	/* Each keeps its own result. */
	CHECK(evfut_sleep_result(&a) == 0 && evfut_sleep_result(&b) == 0 &&
	      evfut_sleep_result(&c) == 0);
	evfut_future_drop(&join.base); /* drops a, b and c */
	/* [join] */
	return 0;
}

static int
race_reply_against_deadline(struct evfut_runtime *rt)
{
	/* [select] */
	struct evfut_oneshot reply;
	struct evfut_oneshot_recv recv;
	struct evfut_sleep deadline;
	struct evfut_future *race[] = {&recv.base, &deadline.base};
	struct evfut_select select;

	evfut_oneshot_init(&reply);
	evfut_oneshot_recv_init(&recv, &reply);
	evfut_sleep_init(&deadline, EVFUT_SEC);
	evfut_select_init(&select, race, 2);
	evfut_oneshot_send(&reply, "pong"); /* the reply arrives first */
	evfut_runtime_block_on(rt, &select.base);
	CHECK(select.index == 0);        /* the receive won... */
	CHECK(recv.result == 0);         /* ...with the value */
	evfut_future_drop(&select.base); /* the deadline was disarmed already */
	/* [select] */
	return 0;
}

/* [yield] */
/* A long computation that lets other tasks run every 1000 steps. */
struct crunch {
	struct evfut_future base;
	unsigned resume;
	long i;
	long sum;
	struct evfut_yield yield;
};

static enum evfut_poll
crunch_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct crunch *c = evfut_container_of(self, struct crunch, base);

	EVFUT_ASYNC_BEGIN(c->resume);
	for (c->i = 0; c->i < 100000; c->i++) {
		c->sum += c->i;
		if (c->i % 1000 == 999) {
			evfut_yield_init(&c->yield);
			EVFUT_AWAIT(&c->yield.base, cx);
		}
	}
	EVFUT_ASYNC_END();
}
/* [yield] */

int
main(void)
{
	struct evfut_runtime_options opts = {.clock = EVFUT_CLOCK_VIRTUAL};
	struct evfut_runtime *rt;
	struct crunch crunch = {.base = EVFUT_FUTURE_INIT(crunch_poll, NULL)};
	struct evfut_stats stats;

	if (evfut_runtime_create(&rt, &opts) < 0)
		return 1;
	if (join_three_sleeps(rt) || race_reply_against_deadline(rt))
		return 1;
	CHECK(evfut_runtime_block_on(rt, &crunch.base) == 0);
	CHECK(crunch.sum == 100000L * 99999 / 2);
	CHECK(evfut_runtime_stats(rt, &stats) == 0);
	printf("join, select and %llu polls of yield_now: ok\n",
	       (unsigned long long)stats.polls);
	evfut_runtime_destroy(rt);
	return 0;
}
