/*
 * Suite "sync-local": the local variants (evfut_*_init_local(): one
 * thread, no lock), which follow the same rules as the thread-safe ones,
 * and the waker a local Notify keeps for its next waiter.
 */
#include <errno.h>
#include <string.h>

#include "common.h"

/* The waker given up by a waiter is kept, reused, and released. */
START_TEST(test_sync_local_notify_keeps_the_last_waker_until_finish)
{
	struct harness_counter c, d;
	struct evfut_notify n;
	struct evfut_notified w;

	harness_counter_init(&c);
	harness_counter_init(&d);
	evfut_notify_init_local(&n);
	for (int round = 0; round < 3; round++) {
		evfut_notified_init(&w, &n);
		ck_assert_int_eq(poll_with(&w.base, &c, NULL), EVFUT_PENDING);
		ck_assert_int_eq(evfut_notify_one(&n), 0);
		ck_assert_int_eq(atomic_load(&c.wakes) +
		                         atomic_load(&c.wake_by_refs),
		                 round + 1);
		ck_assert_int_eq(poll_with(&w.base, &c, NULL), EVFUT_READY);
		evfut_future_drop(&w.base);
		/* One clone, made in the first round, kept since. */
		ck_assert_int_eq(atomic_load(&c.clones), 1);
		ck_assert_int_eq(atomic_load(&c.live), 1);
	}
	/* Another task's waiter: the kept waker is not its own. */
	evfut_notified_init(&w, &n);
	ck_assert_int_eq(poll_with(&w.base, &d, NULL), EVFUT_PENDING);
	ck_assert_int_eq(atomic_load(&d.clones), 1);
	evfut_future_drop(&w.base);
	/* Its waker replaced the kept one. */
	ck_assert_int_eq(atomic_load(&c.live), 0);
	ck_assert_int_eq(atomic_load(&d.live), 1);
	evfut_notify_finish(&n);
	ck_assert_int_eq(atomic_load(&d.live), 0);
	evfut_notify_finish(&n); /* twice: nothing */
	evfut_notify_finish(NULL);
}
END_TEST

/* The rules hold for a local Notify: a chosen waiter passes it on. */
START_TEST(test_sync_local_notify_passes_a_dropped_choice_on)
{
	struct harness_counter c;
	struct evfut_notify n;
	struct evfut_notified a, b;

	harness_counter_init(&c);
	evfut_notify_init_local(&n);
	evfut_notified_init(&a, &n);
	evfut_notified_init(&b, &n);
	ck_assert_int_eq(poll_with(&a.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(poll_with(&b.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(evfut_notify_one(&n), 0);
	evfut_future_drop(&a.base);
	ck_assert_int_eq(poll_with(&b.base, &c, NULL), EVFUT_READY);
	evfut_future_drop(&b.base);
	evfut_notified_init(&a, &n);
	ck_assert_int_eq(poll_with(&a.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(evfut_notify_waiters(&n), 0);
	ck_assert_int_eq(poll_with(&a.base, &c, NULL), EVFUT_READY);
	evfut_future_drop(&a.base);
	evfut_notify_finish(&n);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

/* Two tasks ping-pong through local Notify objects on the runtime. */
enum { ROUNDS = 1000 };

struct player {
	struct evfut_future base;
	unsigned resume;
	struct evfut_notify *mine, *theirs;
	int serves;
	int i;
	struct evfut_notified notified;
};

static enum evfut_poll
player_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct player *p = evfut_container_of(self, struct player, base);

	EVFUT_ASYNC_BEGIN(p->resume);
	for (p->i = 0; p->i < ROUNDS; p->i++) {
		if (p->serves)
			evfut_notify_one(p->theirs);
		evfut_notified_init(&p->notified, p->mine);
		EVFUT_AWAIT(&p->notified.base, cx);
		evfut_future_drop(&p->notified.base);
		if (!p->serves)
			evfut_notify_one(p->theirs);
	}
	EVFUT_ASYNC_END();
}

START_TEST(test_sync_local_notify_ping_pong_between_tasks)
{
	struct evfut_notify ping, pong;
	struct player a = {.base = {player_poll, NULL},
	                   .mine = &pong,
	                   .theirs = &ping,
	                   .serves = 1};
	struct player b = {
	        .base = {player_poll, NULL}, .mine = &ping, .theirs = &pong};
	struct evfut_future *both[] = {&a.base, &b.base};
	struct evfut_join join;

	evfut_notify_init_local(&ping);
	evfut_notify_init_local(&pong);
	ck_assert_int_eq(evfut_join_init(&join, both, 2), 0);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &join.base), 0);
	ck_assert_int_eq(a.i, ROUNDS);
	ck_assert_int_eq(b.i, ROUNDS);
	evfut_future_drop(&join.base);
	evfut_notify_finish(&ping);
	evfut_notify_finish(&pong);
}
END_TEST

/* A local channel: the hand-off rules, without a lock. */
START_TEST(test_sync_local_mpsc_follows_the_rules)
{
	struct harness_counter c;
	struct evfut_mpsc ch;
	struct evfut_mpsc_recv recv;
	struct evfut_mpsc_send send;
	int buf[1], one = 1, two = 2, v = 0;

	harness_counter_init(&c);
	harness_alloc_fail_at(0);
	ck_assert_int_eq(evfut_mpsc_init_local(&ch, 1, sizeof(int), buf), 0);
	evfut_mpsc_recv_init(&recv, &ch, &v);
	ck_assert_int_eq(poll_with(&recv.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(evfut_mpsc_try_send(&ch, &one), 0);
	evfut_future_drop(&recv.base); /* woken, dropped: item kept */
	evfut_mpsc_send_init(&send, &ch, &two);
	ck_assert_int_eq(poll_with(&send.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &v), 0);
	ck_assert_int_eq(v, 1);
	evfut_future_drop(&send.base); /* woken, dropped: not sent */
	ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &v), -EAGAIN);
	ck_assert_int_eq(evfut_mpsc_sender_drop(&ch), 0);
	ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &v), -EPIPE);
	evfut_mpsc_finish(&ch);
	ck_assert_uint_eq(harness_alloc_calls(), 0);
	ck_assert_int_eq(atomic_load(&c.live), 0);
	ck_assert_int_eq(evfut_mpsc_init_local(NULL, 1, 1, NULL), -EINVAL);
}
END_TEST

START_TEST(test_sync_local_oneshot)
{
	struct harness_counter c;
	struct evfut_oneshot o;
	struct evfut_oneshot_recv recv;
	int value = 3;

	harness_counter_init(&c);
	evfut_oneshot_init_local(&o);
	evfut_oneshot_recv_init(&recv, &o);
	ck_assert_int_eq(poll_with(&recv.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(evfut_oneshot_send(&o, &value), 0);
	ck_assert_int_eq(atomic_load(&c.wakes), 1);
	ck_assert_int_eq(poll_with(&recv.base, &c, NULL), EVFUT_READY);
	ck_assert_ptr_eq(recv.value, &value);
	evfut_future_drop(&recv.base);
	ck_assert_ptr_null(evfut_oneshot_finish(&o));
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

static Suite *
sync_local_suite(void)
{
	Suite *s = suite_create("sync-local");
	TCase *tc = tcase_create("local");

	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(
	        tc, test_sync_local_notify_keeps_the_last_waker_until_finish);
	tcase_add_test(tc, test_sync_local_notify_passes_a_dropped_choice_on);
	tcase_add_test(tc, test_sync_local_notify_ping_pong_between_tasks);
	tcase_add_test(tc, test_sync_local_mpsc_follows_the_rules);
	tcase_add_test(tc, test_sync_local_oneshot);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(sync_local_suite());
}
