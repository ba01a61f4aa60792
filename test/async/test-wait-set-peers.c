/*
 * Suite "async": the wait set as a user of tokio's select! over `&mut fut`
 * and of FuturesUnordered would test it. A completed child re-armed
 * without being re-initialised (the set does not guard: it is polled
 * again, as the header says); the set polled again after it completed,
 * with nothing re-armed (it completes at once and polls nothing) and with
 * a pending child left armed (a new wait); children woken from other
 * threads (a oneshot sent by a thread, a blocking-pool job), each handed
 * out exactly once while the others stay pending (run under TSan).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "common.h"

/* Polls @set once with a no-op waker on harness_rt. */
static enum evfut_poll
poll_set(struct evfut_wait_set *set)
{
	struct evfut_waker noop = evfut_waker_noop();
	struct evfut_context cx = {&noop, harness_rt};

	return evfut_future_poll(&set->base, &cx);
}

/* Ready at every poll; counts them, and the polls after the first. */
struct counted {
	struct evfut_future base;
	int polls;
	int polls_after_ready;
};

static enum evfut_poll
counted_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct counted *c = evfut_container_of(self, struct counted, base);

	(void)cx;
	if (c->polls++ > 0)
		c->polls_after_ready++;
	return EVFUT_READY;
}

static void
counted_init(struct counted *c)
{
	memset(c, 0, sizeof(*c));
	c->base.poll = counted_poll;
}

/* The header says a completed child must be re-initialised before it is
 * armed: the set keeps no guard of its own, so arming one that was not
 * polls the completed future again. Re-initialised, it is a new future. */
START_TEST(test_wait_set_peers_rearm_without_reinit_repolls_the_child)
{
	struct counted a;
	struct evfut_future *children[] = {&a.base};
	struct evfut_wait_set set;

	counted_init(&a);
	ck_assert_int_eq(evfut_wait_set_init(&set, children, 1), 0);
	ck_assert_int_eq(poll_set(&set), EVFUT_READY);
	ck_assert_int_eq(evfut_wait_set_next(&set), 0);
	ck_assert_int_eq(evfut_wait_set_is_armed(&set, 0), 0);
	/* The caller's mistake: armed again as it is. */
	ck_assert_int_eq(evfut_wait_set_arm(&set, 0), 0);
	ck_assert_int_eq(poll_set(&set), EVFUT_READY);
	ck_assert_int_eq(a.polls_after_ready, 1);
	ck_assert_int_eq(evfut_wait_set_next(&set), 0);
	/* Done right: re-initialised, then armed. */
	counted_init(&a);
	ck_assert_int_eq(evfut_wait_set_arm(&set, 0), 0);
	ck_assert_int_eq(poll_set(&set), EVFUT_READY);
	ck_assert_int_eq(a.polls_after_ready, 0);
	ck_assert_int_eq(evfut_wait_set_next(&set), 0);
}
END_TEST

/* Everything handed out and nothing re-armed: every later poll completes
 * at once, polls no child, and has nothing to hand out (select!'s else). */
START_TEST(test_wait_set_peers_polled_after_completion_nothing_rearmed)
{
	struct step a, b;
	struct evfut_future *children[] = {&a.base, &b.base};
	struct evfut_wait_set set;

	step_init(&a, 0, 1);
	step_init(&b, 1, 1);
	ck_assert_int_eq(evfut_wait_set_init(&set, children, 2), 0);
	ck_assert_int_eq(poll_set(&set), EVFUT_READY);
	ck_assert_int_eq(evfut_wait_set_next(&set), 0);
	ck_assert_int_eq(evfut_wait_set_next(&set), 1);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(poll_set(&set), EVFUT_READY);
		ck_assert_int_eq(evfut_wait_set_next(&set), -1);
	}
	ck_assert_int_eq(a.polls, 1); /* step fails if polled once done */
	ck_assert_int_eq(b.polls, 1);
	evfut_future_drop(&a.base);
	evfut_future_drop(&b.base);
}
END_TEST

/* One handed out, one still pending and armed: the next poll is a new
 * wait over the pending one alone, which completes it in its own time. */
START_TEST(test_wait_set_peers_polled_after_completion_waits_again)
{
	struct step a, b;
	struct evfut_future *children[] = {&a.base, &b.base};
	struct evfut_wait_set set;

	step_init(&a, 0, 1);
	step_init(&b, 1, 3);
	ck_assert_int_eq(evfut_wait_set_init(&set, children, 2), 0);
	ck_assert_int_eq(poll_set(&set), EVFUT_READY);
	ck_assert_int_eq(evfut_wait_set_next(&set), 0);
	ck_assert_int_eq(evfut_wait_set_next(&set), -1);
	ck_assert_int_eq(poll_set(&set), EVFUT_PENDING);
	ck_assert_int_eq(poll_set(&set), EVFUT_READY);
	ck_assert_int_eq(evfut_wait_set_next(&set), 1);
	ck_assert_int_eq(a.polls, 1);
	ck_assert_int_eq(b.polls, 3);
	evfut_future_drop(&a.base);
	evfut_future_drop(&b.base);
}
END_TEST

static void *
send_from_thread(void *arg)
{
	static int value = 42;

	ck_assert_int_eq(evfut_oneshot_send(arg, &value), 0);
	return NULL;
}

/* A child woken from another thread (tokio's select! over a oneshot sent
 * by a std::thread): the set, awaited by block_on, completes with it; the
 * sleep beside it is still pending and keeps its timer. */
START_TEST(test_wait_set_peers_child_woken_from_another_thread)
{
	for (int i = 0; i < 200; i++) {
		struct evfut_oneshot ch;
		struct evfut_oneshot_recv rx;
		struct evfut_sleep nap;
		struct evfut_future *children[] = {&rx.base, &nap.base};
		struct evfut_wait_set set;
		pthread_t t;

		evfut_oneshot_init(&ch);
		ck_assert_int_eq(evfut_oneshot_recv_init(&rx, &ch), 0);
		evfut_sleep_init(&nap, 3600 * EVFUT_SEC);
		ck_assert_int_eq(evfut_wait_set_init(&set, children, 2), 0);
		ck_assert_int_eq(
		        pthread_create(&t, NULL, send_from_thread, &ch), 0);
		ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &set.base),
		                 0);
		ck_assert_int_eq(evfut_wait_set_next(&set), 0);
		ck_assert_int_eq(evfut_wait_set_next(&set), -1);
		ck_assert_int_eq(rx.result, 0);
		ck_assert_int_eq(*(int *)rx.value, 42);
		ck_assert_int_eq(evfut_wait_set_is_armed(&set, 1), 1);
		pthread_join(t, NULL);
		evfut_future_drop(&rx.base);
		evfut_future_drop(&nap.base);
		ck_assert_ptr_null(evfut_oneshot_finish(&ch));
	}
}
END_TEST

static intptr_t
job(void *arg)
{
	return (intptr_t)arg;
}

/* Two blocking-pool jobs and a oneshot nobody sends on: each job is
 * handed out exactly once, whatever the order of the pool threads'
 * wakes, and the receive stays pending throughout. */
START_TEST(test_wait_set_peers_pool_jobs_handed_out_once_each)
{
	struct evfut_pool *pool;

	ck_assert_int_eq(evfut_runtime_blocking_pool(harness_rt, &pool), 0);
	for (int i = 0; i < 100; i++) {
		struct evfut_blocking j[2];
		struct evfut_oneshot ch;
		struct evfut_oneshot_recv rx;
		struct evfut_future *children[] = {&j[0].base, &j[1].base,
		                                   &rx.base};
		struct evfut_wait_set set;
		int seen[2] = {0, 0}, idx;

		evfut_oneshot_init(&ch);
		ck_assert_int_eq(evfut_oneshot_recv_init(&rx, &ch), 0);
		for (int k = 0; k < 2; k++)
			ck_assert_int_eq(
			        evfut_blocking_init(&j[k], pool, job,
			                            (void *)(intptr_t)(k + 10)),
			        0);
		ck_assert_int_eq(evfut_wait_set_init(&set, children, 3), 0);
		while (seen[0] + seen[1] < 2) {
			ck_assert_int_eq(
			        evfut_runtime_block_on(harness_rt, &set.base),
			        0);
			while ((idx = evfut_wait_set_next(&set)) >= 0) {
				ck_assert_int_lt(idx, 2);
				ck_assert_int_eq(j[idx].result, 0);
				ck_assert_int_eq(j[idx].value, idx + 10);
				seen[idx]++;
			}
		}
		ck_assert_int_eq(seen[0], 1);
		ck_assert_int_eq(seen[1], 1);
		ck_assert_int_eq(evfut_wait_set_is_armed(&set, 2), 1);
		ck_assert_int_eq(poll_set(&set), EVFUT_PENDING);
		for (int k = 0; k < 2; k++)
			evfut_future_drop(&j[k].base);
		evfut_future_drop(&rx.base);
		evfut_oneshot_finish(&ch);
	}
}
END_TEST

/* The runtime's pool threads stop before the teardown counts. */
static void
pool_teardown(void)
{
	harness_runtime_replace(NULL);
	harness_teardown();
}

static Suite *
wait_set_peers_suite(void)
{
	Suite *s = suite_create("wait-set-peers");
	TCase *tc;

	tc = tcase_create("rearm");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(
	        tc, test_wait_set_peers_rearm_without_reinit_repolls_the_child);
	tcase_add_test(
	        tc,
	        test_wait_set_peers_polled_after_completion_nothing_rearmed);
	tcase_add_test(tc,
	               test_wait_set_peers_polled_after_completion_waits_again);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_add_checked_fixture(tc, harness_setup, pool_teardown);
	tcase_add_test(tc, test_wait_set_peers_child_woken_from_another_thread);
	tcase_add_test(tc, test_wait_set_peers_pool_jobs_handed_out_once_each);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(wait_set_peers_suite());
}
