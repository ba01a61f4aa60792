/*
 * Suite "wait-set": evfut_wait_set, the combinator that waits for any of
 * its children and keeps the rest. Cases translated from tokio's select!
 * tests (biased order, branches disabled by a precondition, a future kept
 * across loop iterations through `&mut fut`, 64 branches) and from
 * futures-util's FuturesUnordered tests (completions handed out as they
 * come, a self-waking child polled once per poll, an empty set).
 */
#include <errno.h>
#include <string.h>

#include "common.h"

/* Polls @set with a no-op waker and @rt. */
static enum evfut_poll
poll_set(struct evfut_wait_set *set, struct evfut_runtime *rt)
{
	struct evfut_waker noop = evfut_waker_noop();
	struct evfut_context cx = {&noop, rt};

	return evfut_future_poll(&set->base, &cx);
}

/* Only armed, not completed children are polled, lowest index first, and
 * the completed ones are handed out lowest first, each disarmed. */
START_TEST(test_wait_set_polls_in_order_and_hands_out_lowest_first)
{
	struct step s[4];
	struct evfut_future *children[4];
	struct evfut_wait_set set;
	int order[16], n = 0;

	for (int i = 0; i < 4; i++) {
		step_init(&s[i], i, i == 1 || i == 3 ? 2 : 100);
		s[i].order = order;
		s[i].order_n = &n;
		children[i] = &s[i].base;
	}
	ck_assert_int_eq(evfut_wait_set_init(&set, children, 4), 0);
	ck_assert_int_eq(poll_set(&set, NULL), EVFUT_PENDING);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(s[i].polls, 1);
	ck_assert_int_eq(evfut_wait_set_next(&set), -1);
	ck_assert_int_eq(poll_set(&set, NULL), EVFUT_READY);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(order[0], 1); /* index order */
	ck_assert_int_eq(order[1], 3);
	ck_assert_int_eq(evfut_wait_set_next(&set), 1);
	ck_assert_int_eq(evfut_wait_set_is_armed(&set, 1), 0);
	ck_assert_int_eq(evfut_wait_set_is_armed(&set, 3), 1);
	ck_assert_int_eq(evfut_wait_set_next(&set), 3);
	ck_assert_int_eq(evfut_wait_set_next(&set), -1);
	/* The two completed children are never polled again (step fails the
	 * test if they are); the two others are, once per poll. */
	ck_assert_int_eq(poll_set(&set, NULL), EVFUT_PENDING);
	ck_assert_int_eq(s[0].polls, 3);
	ck_assert_int_eq(s[2].polls, 3);
	ck_assert_int_eq(s[1].polls + s[3].polls, 4);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(s[i].drops, 0); /* the set drops nothing */
		evfut_future_drop(&s[i].base);
	}
}
END_TEST

/* A child that completes at its first poll completes the set at once. */
START_TEST(test_wait_set_child_ready_at_first_poll)
{
	struct step a, b;
	struct evfut_future *children[] = {&a.base, &b.base};
	struct evfut_wait_set set;

	step_init(&a, 0, 100);
	step_init(&b, 1, 1);
	ck_assert_int_eq(evfut_wait_set_init(&set, children, 2), 0);
	ck_assert_int_eq(poll_set(&set, NULL), EVFUT_READY);
	ck_assert_int_eq(a.polls, 1); /* polled before b, still pending */
	ck_assert_int_eq(evfut_wait_set_next(&set), 1);
	ck_assert_int_eq(evfut_wait_set_next(&set), -1);
	evfut_future_drop(&a.base);
	evfut_future_drop(&b.base);
}
END_TEST

/* Polled again before the completions were handed out, the set completes
 * again and keeps them; the pending children are polled once more. */
START_TEST(test_wait_set_repoll_keeps_completions)
{
	struct step a, b;
	struct evfut_future *children[] = {&a.base, &b.base};
	struct evfut_wait_set set;

	step_init(&a, 0, 1);
	step_init(&b, 1, 100);
	ck_assert_int_eq(evfut_wait_set_init(&set, children, 2), 0);
	ck_assert_int_eq(poll_set(&set, NULL), EVFUT_READY);
	ck_assert_int_eq(poll_set(&set, NULL), EVFUT_READY);
	ck_assert_int_eq(a.polls, 1);
	ck_assert_int_eq(b.polls, 2);
	ck_assert_int_eq(evfut_wait_set_next(&set), 0);
	ck_assert_int_eq(poll_set(&set, NULL), EVFUT_PENDING);
	evfut_future_drop(&a.base);
	evfut_future_drop(&b.base);
}
END_TEST

/* Re-initialised and re-armed, a child runs again; a disarmed pending
 * child is not polled until re-armed, and keeps its state meanwhile. */
START_TEST(test_wait_set_arm_after_reinit_and_disarm_pending)
{
	struct step a, b;
	struct evfut_future *children[] = {&a.base, &b.base};
	struct evfut_wait_set set;

	step_init(&a, 0, 1);
	step_init(&b, 1, 3);
	ck_assert_int_eq(evfut_wait_set_init(&set, children, 2), 0);
	ck_assert_int_eq(poll_set(&set, NULL), EVFUT_READY);
	ck_assert_int_eq(evfut_wait_set_next(&set), 0);
	ck_assert_int_eq(evfut_wait_set_disarm(&set, 1), 0);
	step_init(&a, 0, 2);
	ck_assert_int_eq(evfut_wait_set_arm(&set, 0), 0);
	ck_assert_int_eq(poll_set(&set, NULL), EVFUT_PENDING);
	ck_assert_int_eq(poll_set(&set, NULL), EVFUT_READY);
	ck_assert_int_eq(b.polls, 1); /* not polled while disarmed */
	ck_assert_int_eq(evfut_wait_set_next(&set), 0);
	ck_assert_int_eq(evfut_wait_set_arm(&set, 1), 0);
	ck_assert_int_eq(poll_set(&set, NULL), EVFUT_PENDING);
	ck_assert_int_eq(poll_set(&set, NULL), EVFUT_READY);
	ck_assert_int_eq(b.polls, 3);
	ck_assert_int_eq(evfut_wait_set_next(&set), 1);
	/* A completion disarmed before it was handed out is forgotten. */
	step_init(&a, 0, 1);
	ck_assert_int_eq(evfut_wait_set_arm(&set, 0), 0);
	ck_assert_int_eq(poll_set(&set, NULL), EVFUT_READY);
	ck_assert_int_eq(evfut_wait_set_disarm(&set, 0), 0);
	ck_assert_int_eq(evfut_wait_set_next(&set), -1);
	evfut_future_drop(&a.base);
	evfut_future_drop(&b.base);
}
END_TEST

/* tokio's biased select! with a precondition per branch and an `else`: four
 * always-ready branches run in order, one each round, and once all are
 * disabled (disarmed) the set completes with nothing, the `else`. */
START_TEST(test_wait_set_biased_rounds_then_empty_completes)
{
	struct step s[4];
	struct evfut_future *children[4];
	struct evfut_wait_set set;
	int count = 0, idx;

	for (int i = 0; i < 4; i++) {
		step_init(&s[i], i, 1);
		children[i] = &s[i].base;
	}
	ck_assert_int_eq(evfut_wait_set_init(&set, children, 4), 0);
	for (;;) {
		ck_assert_int_eq(poll_set(&set, NULL), EVFUT_READY);
		idx = evfut_wait_set_next(&set);
		if (idx < 0)
			break;                /* the else branch */
		ck_assert_int_eq(idx, count); /* biased: lowest first */
		count++;
	}
	ck_assert_int_eq(count, 4);
	ck_assert_int_eq(poll_set(&set, NULL), EVFUT_READY); /* stays so */
	ck_assert_int_eq(evfut_wait_set_next(&set), -1);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(s[i].polls, 1);
}
END_TEST

/* futures-util's spinning-future case: a child that wakes itself at every
 * poll is polled once per poll of the set, which returns Pending. */
START_TEST(test_wait_set_self_waking_child_polled_once_per_poll)
{
	struct harness_counter counter;
	struct step spin;
	struct evfut_future *children[] = {&spin.base};
	struct evfut_wait_set set;

	harness_counter_init(&counter);
	step_init(&spin, 0, 1000);
	ck_assert_int_eq(evfut_wait_set_init(&set, children, 1), 0);
	for (int i = 1; i <= 3; i++) {
		ck_assert_int_eq(poll_with(&set.base, &counter, NULL),
		                 EVFUT_PENDING);
		ck_assert_int_eq(spin.polls, i);
		ck_assert_int_eq(atomic_load(&counter.wake_by_refs), i);
	}
	evfut_future_drop(&spin.base);
}
END_TEST

/* futures-util's works_1: three oneshots, completed in any order, come out
 * as they complete (lowest first among those complete together). */
START_TEST(test_wait_set_oneshots_come_out_as_they_complete)
{
	struct evfut_oneshot ch[3];
	struct evfut_oneshot_recv rx[3];
	struct evfut_future *children[3];
	struct evfut_wait_set set;
	static int v[3] = {33, 99, 44};

	for (int i = 0; i < 3; i++) {
		evfut_oneshot_init(&ch[i]);
		ck_assert_int_eq(evfut_oneshot_recv_init(&rx[i], &ch[i]), 0);
		children[i] = &rx[i].base;
	}
	ck_assert_int_eq(evfut_wait_set_init(&set, children, 3), 0);
	ck_assert_int_eq(poll_set(&set, harness_rt), EVFUT_PENDING);
	ck_assert_int_eq(evfut_oneshot_send(&ch[1], &v[1]), 0);
	ck_assert_int_eq(poll_set(&set, harness_rt), EVFUT_READY);
	ck_assert_int_eq(evfut_wait_set_next(&set), 1);
	ck_assert_ptr_eq(rx[1].value, &v[1]);
	ck_assert_int_eq(evfut_wait_set_next(&set), -1);
	ck_assert_int_eq(evfut_oneshot_send(&ch[2], &v[2]), 0);
	ck_assert_int_eq(evfut_oneshot_send(&ch[0], &v[0]), 0);
	ck_assert_int_eq(poll_set(&set, harness_rt), EVFUT_READY);
	ck_assert_int_eq(evfut_wait_set_next(&set), 0);
	ck_assert_int_eq(evfut_wait_set_next(&set), 2);
	ck_assert_ptr_eq(rx[0].value, &v[0]);
	ck_assert_ptr_eq(rx[2].value, &v[2]);
	ck_assert_int_eq(poll_set(&set, harness_rt), EVFUT_READY); /* empty */
	for (int i = 0; i < 3; i++) {
		evfut_future_drop(&rx[i].base);
		evfut_oneshot_finish(&ch[i]);
	}
}
END_TEST

/* tokio's select! over `&mut sleep` in a loop: the sleep is kept across
 * iterations (not restarted) while a channel delivers five items, and it
 * fires at its own deadline, never before. */
struct keeper {
	struct evfut_future base;
	unsigned resume;
	struct evfut_mpsc *ch;
	struct evfut_sleep deadline;
	struct evfut_mpsc_recv recv;
	struct evfut_future *children[2];
	struct evfut_wait_set set;
	int item;
	int got;
	int idx;
	evfut_nsec fired_at;
};

static enum evfut_poll
keeper_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct keeper *k = evfut_container_of(self, struct keeper, base);

	EVFUT_ASYNC_BEGIN(k->resume);
	k->children[0] = &k->recv.base;
	k->children[1] = &k->deadline.base;
	evfut_sleep_init(&k->deadline, 10 * EVFUT_MSEC);
	evfut_mpsc_recv_init(&k->recv, k->ch, &k->item);
	evfut_wait_set_init(&k->set, k->children, 2);
	for (;;) {
		EVFUT_AWAIT(&k->set.base, cx);
		while ((k->idx = evfut_wait_set_next(&k->set)) >= 0) {
			if (k->idx == 1) {
				k->fired_at = evfut_runtime_now(cx->runtime);
				EVFUT_ASYNC_RETURN();
			}
			ck_assert_int_eq(k->recv.result, 0);
			ck_assert_int_eq(k->item, k->got);
			k->got++;
			evfut_mpsc_recv_init(&k->recv, k->ch, &k->item);
			evfut_wait_set_arm(&k->set, 0);
		}
	}
	EVFUT_ASYNC_END();
}

static void
keeper_drop(struct evfut_future *self)
{
	struct keeper *k = evfut_container_of(self, struct keeper, base);

	evfut_future_drop(&k->recv.base);
	evfut_future_drop(&k->deadline.base);
}

struct feeder {
	struct evfut_future base;
	unsigned resume;
	struct evfut_mpsc *ch;
	struct evfut_sleep gap;
	int i;
};

static enum evfut_poll
feeder_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct feeder *f = evfut_container_of(self, struct feeder, base);

	EVFUT_ASYNC_BEGIN(f->resume);
	for (f->i = 0; f->i < 5; f->i++) {
		evfut_sleep_init(&f->gap, EVFUT_MSEC);
		EVFUT_AWAIT(&f->gap.base, cx);
		ck_assert_int_eq(evfut_mpsc_try_send(f->ch, &f->i), 0);
	}
	EVFUT_ASYNC_END();
}

static void
feeder_drop(struct evfut_future *self)
{
	struct feeder *f = evfut_container_of(self, struct feeder, base);

	evfut_future_drop(&f->gap.base);
}

START_TEST(test_wait_set_keeps_a_sleep_across_iterations)
{
	struct evfut_runtime_options opts = {.clock = EVFUT_CLOCK_VIRTUAL};
	struct evfut_mpsc ch;
	struct keeper k = {0};
	struct feeder f = {0};
	struct evfut_join join;
	struct evfut_future *both[] = {&k.base, &f.base};
	evfut_nsec start;

	harness_runtime_replace(&opts);
	ck_assert_int_eq(evfut_mpsc_init_local(&ch, 8, sizeof(int), NULL), 0);
	k.base.poll = keeper_poll;
	k.base.drop = keeper_drop;
	k.ch = &ch;
	f.base.poll = feeder_poll;
	f.base.drop = feeder_drop;
	f.ch = &ch;
	ck_assert_int_eq(evfut_join_init(&join, both, 2), 0);
	start = evfut_runtime_now(harness_rt);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &join.base), 0);
	ck_assert_int_eq(k.got, 5);
	ck_assert_uint_ge(k.fired_at, start + 10 * EVFUT_MSEC);
	ck_assert_uint_eq(evfut_sleep_deadline(&k.deadline),
	                  start + 10 * EVFUT_MSEC);
	evfut_future_drop(&join.base);
	evfut_mpsc_finish(&ch);
}
END_TEST

/* tokio's many_branches: 64 children, the highest index completes. */
START_TEST(test_wait_set_sixty_four_children)
{
	struct step s[EVFUT_WAIT_SET_MAX];
	struct evfut_future *children[EVFUT_WAIT_SET_MAX + 1];
	struct evfut_wait_set set;

	for (int i = 0; i < EVFUT_WAIT_SET_MAX; i++) {
		step_init(&s[i], i, i == 63 ? 2 : 100);
		children[i] = &s[i].base;
	}
	children[64] = &s[0].base;
	ck_assert_int_eq(evfut_wait_set_init(&set, children, 65), -EINVAL);
	ck_assert_int_eq(evfut_wait_set_init(&set, children, 64), 0);
	ck_assert_int_eq(poll_set(&set, NULL), EVFUT_PENDING);
	ck_assert_int_eq(poll_set(&set, NULL), EVFUT_READY);
	ck_assert_int_eq(evfut_wait_set_next(&set), 63);
	ck_assert_int_eq(evfut_wait_set_is_armed(&set, 63), 0);
	ck_assert_int_eq(evfut_wait_set_is_armed(&set, 62), 1);
	ck_assert_int_eq(evfut_wait_set_arm(&set, 64), -EINVAL);
	for (int i = 0; i < EVFUT_WAIT_SET_MAX; i++)
		evfut_future_drop(&s[i].base);
}
END_TEST

/* Dropping the set while a channel receive is pending loses nothing: the
 * receive was woken for an item, the set goes away unpolled, the caller
 * drops the receive, and the item is still in the channel. */
START_TEST(test_wait_set_dropped_with_pending_recv_loses_nothing)
{
	struct evfut_mpsc ch;
	struct evfut_mpsc_recv recv;
	struct evfut_notify notify;
	struct evfut_notified notified;
	struct evfut_future *children[] = {&notified.base, &recv.base};
	struct evfut_wait_set set;
	int item = -1, one = 1, two = 2;

	ck_assert_int_eq(evfut_mpsc_init_local(&ch, 4, sizeof(int), NULL), 0);
	evfut_notify_init_local(&notify);
	ck_assert_int_eq(evfut_notified_init(&notified, &notify), 0);
	ck_assert_int_eq(evfut_mpsc_recv_init(&recv, &ch, &item), 0);
	ck_assert_int_eq(evfut_wait_set_init(&set, children, 2), 0);
	ck_assert_int_eq(poll_set(&set, harness_rt), EVFUT_PENDING);
	ck_assert_int_eq(evfut_mpsc_try_send(&ch, &one), 0);
	ck_assert_int_eq(evfut_mpsc_try_send(&ch, &two), 0);
	evfut_future_drop(&set.base); /* a no-op: the children stay */
	ck_assert_int_eq(recv.result, -EAGAIN);
	evfut_future_drop(&recv.base);
	evfut_future_drop(&notified.base);
	ck_assert_int_eq(item, -1);
	ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &item), 0);
	ck_assert_int_eq(item, 1);
	ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &item), 0);
	ck_assert_int_eq(item, 2);
	evfut_notify_finish(&notify);
	evfut_mpsc_finish(&ch);
}
END_TEST

/* A child kept after the set is dropped can go on in another set. */
START_TEST(test_wait_set_child_outlives_its_set)
{
	struct evfut_oneshot ch;
	struct evfut_oneshot_recv rx;
	struct evfut_future *children[] = {&rx.base};
	struct evfut_wait_set first, second;
	static int v = 7;

	evfut_oneshot_init(&ch);
	ck_assert_int_eq(evfut_oneshot_recv_init(&rx, &ch), 0);
	ck_assert_int_eq(evfut_wait_set_init(&first, children, 1), 0);
	ck_assert_int_eq(poll_set(&first, harness_rt), EVFUT_PENDING);
	evfut_future_drop(&first.base);
	ck_assert_int_eq(evfut_oneshot_send(&ch, &v), 0);
	ck_assert_int_eq(evfut_wait_set_init(&second, children, 1), 0);
	ck_assert_int_eq(poll_set(&second, harness_rt), EVFUT_READY);
	ck_assert_int_eq(evfut_wait_set_next(&second), 0);
	ck_assert_ptr_eq(rx.value, &v);
	evfut_future_drop(&rx.base);
	evfut_oneshot_finish(&ch);
}
END_TEST

START_TEST(test_wait_set_rejects_bad_arguments)
{
	struct step a;
	struct evfut_future *children[] = {&a.base};
	struct evfut_future *null_child[] = {NULL};
	struct evfut_future nopoll = {NULL, NULL};
	struct evfut_future *bad[] = {&nopoll};
	struct evfut_wait_set set;

	step_init(&a, 0, 1);
	memset(&set, 0xa5, sizeof(set));
	ck_assert_int_eq(evfut_wait_set_init(NULL, children, 1), -EINVAL);
	ck_assert_int_eq(evfut_wait_set_init(&set, NULL, 1), -EINVAL);
	ck_assert_int_eq(evfut_wait_set_init(&set, children, 0), -EINVAL);
	ck_assert_int_eq(evfut_wait_set_init(&set, null_child, 1), -EINVAL);
	ck_assert_int_eq(evfut_wait_set_init(&set, bad, 1), -EINVAL);
	ck_assert_int_eq(evfut_wait_set_next(NULL), -1);
	ck_assert_int_eq(evfut_wait_set_arm(NULL, 0), -EINVAL);
	ck_assert_int_eq(evfut_wait_set_disarm(NULL, 0), -EINVAL);
	ck_assert_int_eq(evfut_wait_set_is_armed(NULL, 0), 0);
	ck_assert_int_eq(evfut_wait_set_init(&set, children, 1), 0);
	ck_assert_int_eq(evfut_wait_set_arm(&set, 1), -EINVAL);
	ck_assert_int_eq(evfut_wait_set_disarm(&set, 1), -EINVAL);
	ck_assert_int_eq(evfut_wait_set_is_armed(&set, 1), 0);
	ck_assert_int_eq(evfut_wait_set_is_armed(&set, 0), 1);
}
END_TEST

static Suite *
wait_set_suite(void)
{
	Suite *s = suite_create("wait-set");
	TCase *tc;

	tc = tcase_create("order");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc,
	               test_wait_set_polls_in_order_and_hands_out_lowest_first);
	tcase_add_test(tc, test_wait_set_child_ready_at_first_poll);
	tcase_add_test(tc, test_wait_set_repoll_keeps_completions);
	tcase_add_test(tc, test_wait_set_biased_rounds_then_empty_completes);
	tcase_add_test(tc,
	               test_wait_set_self_waking_child_polled_once_per_poll);
	tcase_add_test(tc, test_wait_set_sixty_four_children);
	suite_add_tcase(s, tc);

	tc = tcase_create("keep");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_wait_set_arm_after_reinit_and_disarm_pending);
	tcase_add_test(tc, test_wait_set_oneshots_come_out_as_they_complete);
	tcase_add_test(tc, test_wait_set_keeps_a_sleep_across_iterations);
	tcase_add_test(tc, test_wait_set_child_outlives_its_set);
	suite_add_tcase(s, tc);

	tc = tcase_create("cancel");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc,
	               test_wait_set_dropped_with_pending_recv_loses_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_wait_set_rejects_bad_arguments);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(wait_set_suite());
}
