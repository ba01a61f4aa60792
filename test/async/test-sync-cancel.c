/*
 * Suite "sync-cancel": every await point of every primitive, dropped by a
 * select whose other branch, a sleep, is ready first (tokio's
 * cancellation cases of sync_mpsc.rs, sync_notify.rs, sync_semaphore.rs
 * and sync_oneshot.rs, translated): before the first poll, while waiting,
 * and after the other side woke it but before its poll. Each case checks
 * that nothing was lost or duplicated, and that what the dropped future
 * was woken for went to the next one.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "common.h"

/* A select of [sleep, f]: the sleep, listed first, wins once ready. */
struct race {
	struct evfut_sleep sleep;
	struct evfut_select select;
	struct evfut_future *children[2];
	struct harness_counter c;
};

static void
race_init(struct race *r, struct evfut_future *f)
{
	harness_counter_init(&r->c);
	evfut_sleep_until_init(&r->sleep,
	                       evfut_runtime_now(harness_rt) + EVFUT_MSEC);
	r->children[0] = &r->sleep.base;
	r->children[1] = f;
	ck_assert_int_eq(evfut_select_init(&r->select, r->children, 2), 0);
}

static enum evfut_poll
race_poll(struct race *r)
{
	return poll_with(&r->select.base, &r->c, harness_rt);
}

/* The sleep becomes ready and wins: @f is dropped where it stands. */
static void
race_lose(struct race *r)
{
	ck_assert_int_eq(evfut_runtime_advance(harness_rt, EVFUT_MSEC), 0);
	ck_assert_int_eq(race_poll(r), EVFUT_READY);
	ck_assert_int_eq(r->select.index, 0);
	evfut_future_drop(&r->select.base);
	ck_assert_int_eq(atomic_load(&r->c.live), 0);
}

static void
setup(void)
{
	struct evfut_runtime_options opts = {.clock = EVFUT_CLOCK_VIRTUAL};

	harness_setup();
	harness_runtime_replace(&opts);
}

enum point { BEFORE_POLL, WAITING, WOKEN, POINTS };

START_TEST(test_sync_cancel_mpsc_recv)
{
	enum point at = (enum point)_i;
	struct harness_counter c;
	struct evfut_mpsc ch;
	struct evfut_mpsc_recv recv, next;
	struct race r;
	int item = 5, out = -1, v = -1;

	harness_counter_init(&c);
	ck_assert_int_eq(evfut_mpsc_init(&ch, 2, sizeof(int), NULL), 0);
	evfut_mpsc_recv_init(&recv, &ch, &out);
	evfut_mpsc_recv_init(&next, &ch, &v);
	race_init(&r, &recv.base);
	if (at != BEFORE_POLL) {
		ck_assert_int_eq(race_poll(&r), EVFUT_PENDING);
		ck_assert_int_eq(poll_with(&next.base, &c, NULL),
		                 EVFUT_PENDING);
	}
	if (at == WOKEN)
		ck_assert_int_eq(evfut_mpsc_try_send(&ch, &item), 0);
	race_lose(&r);
	ck_assert_int_eq(recv.result, -EAGAIN);
	ck_assert_int_eq(out, -1);
	if (at == WOKEN) {
		/* The wake went on to the next receive, which gets it. */
		ck_assert_int_eq(atomic_load(&c.wakes), 1);
		ck_assert_int_eq(poll_with(&next.base, &c, NULL), EVFUT_READY);
		ck_assert_int_eq(v, 5);
	} else {
		ck_assert_int_eq(evfut_mpsc_try_send(&ch, &item), 0);
		if (at == WAITING)
			ck_assert_int_eq(poll_with(&next.base, &c, NULL),
			                 EVFUT_READY);
		else
			ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &v), 0);
		ck_assert_int_eq(v, 5);
	}
	ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &v), -EAGAIN);
	evfut_future_drop(&next.base);
	ck_assert_int_eq(atomic_load(&c.live), 0);
	evfut_mpsc_finish(&ch);
}
END_TEST

START_TEST(test_sync_cancel_mpsc_send)
{
	enum point at = (enum point)_i;
	struct harness_counter c;
	struct evfut_mpsc ch;
	struct evfut_mpsc_send send, next;
	struct race r;
	int full = 1, mine = 2, theirs = 3, v = 0;

	harness_counter_init(&c);
	ck_assert_int_eq(evfut_mpsc_init(&ch, 1, sizeof(int), NULL), 0);
	ck_assert_int_eq(evfut_mpsc_try_send(&ch, &full), 0);
	evfut_mpsc_send_init(&send, &ch, &mine);
	evfut_mpsc_send_init(&next, &ch, &theirs);
	race_init(&r, &send.base);
	if (at != BEFORE_POLL) {
		ck_assert_int_eq(race_poll(&r), EVFUT_PENDING);
		ck_assert_int_eq(poll_with(&next.base, &c, NULL),
		                 EVFUT_PENDING);
	}
	if (at == WOKEN) {
		ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &v), 0); /* a slot */
		ck_assert_int_eq(v, 1);
	}
	race_lose(&r);
	ck_assert_int_eq(send.result, -EAGAIN); /* not sent */
	if (at == WOKEN) {
		/* Its reserved slot went on to the next send. */
		ck_assert_int_eq(atomic_load(&c.wakes), 1);
	} else {
		ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &v), 0);
		ck_assert_int_eq(v, 1);
		if (at == BEFORE_POLL)
			ck_assert_int_eq(poll_with(&next.base, &c, NULL),
			                 EVFUT_READY);
	}
	if (at != BEFORE_POLL)
		ck_assert_int_eq(poll_with(&next.base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(next.result, 0);
	/* Only the next send's item is there: none lost, none twice. */
	ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &v), 0);
	ck_assert_int_eq(v, 3);
	ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &v), -EAGAIN);
	evfut_future_drop(&next.base);
	ck_assert_int_eq(atomic_load(&c.live), 0);
	evfut_mpsc_finish(&ch);
}
END_TEST

START_TEST(test_sync_cancel_notified_one)
{
	enum point at = (enum point)_i;
	struct harness_counter c;
	struct evfut_notify n;
	struct evfut_notified notified, next;
	struct race r;

	harness_counter_init(&c);
	evfut_notify_init(&n);
	evfut_notified_init(&notified, &n);
	race_init(&r, &notified.base);
	if (at != BEFORE_POLL)
		ck_assert_int_eq(race_poll(&r), EVFUT_PENDING);
	if (at == WOKEN)
		ck_assert_int_eq(evfut_notify_one(&n), 0); /* chooses it */
	race_lose(&r);
	/* A notification it was chosen for is passed on (here: stored). */
	evfut_notified_init(&next, &n);
	ck_assert_int_eq(poll_with(&next.base, &c, NULL),
	                 at == WOKEN ? EVFUT_READY : EVFUT_PENDING);
	evfut_future_drop(&next.base);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

START_TEST(test_sync_cancel_notified_waiters)
{
	enum point at = (enum point)_i;
	struct harness_counter c;
	struct evfut_notify n;
	struct evfut_notified notified, other;
	struct race r;

	harness_counter_init(&c);
	evfut_notify_init(&n);
	evfut_notified_init(&notified, &n);
	evfut_notified_init(&other, &n);
	race_init(&r, &notified.base);
	if (at != BEFORE_POLL) {
		ck_assert_int_eq(race_poll(&r), EVFUT_PENDING);
		ck_assert_int_eq(poll_with(&other.base, &c, NULL),
		                 EVFUT_PENDING);
	}
	if (at == WOKEN)
		ck_assert_int_eq(evfut_notify_waiters(&n), 0);
	race_lose(&r);
	if (at != WOKEN)
		ck_assert_int_eq(evfut_notify_waiters(&n), 0);
	/* The other waiter is notified either way; no permit is left. */
	ck_assert_int_eq(poll_with(&other.base, &c, NULL), EVFUT_READY);
	evfut_future_drop(&other.base);
	evfut_notified_init(&other, &n);
	ck_assert_int_eq(poll_with(&other.base, &c, NULL), EVFUT_PENDING);
	evfut_future_drop(&other.base);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

START_TEST(test_sync_cancel_acquire)
{
	enum point at = (enum point)_i;
	struct harness_counter c;
	struct evfut_semaphore sem;
	struct evfut_acquire acquire, next;
	struct race r;

	harness_counter_init(&c);
	evfut_semaphore_init(&sem, 0);
	evfut_acquire_init(&acquire, &sem, 2);
	evfut_acquire_init(&next, &sem, 1);
	race_init(&r, &acquire.base);
	if (at != BEFORE_POLL) {
		ck_assert_int_eq(race_poll(&r), EVFUT_PENDING);
		ck_assert_int_eq(poll_with(&next.base, &c, NULL),
		                 EVFUT_PENDING);
	}
	if (at == WOKEN)
		ck_assert_int_eq(evfut_semaphore_release(&sem, 2), 0);
	race_lose(&r);
	if (at != WOKEN)
		ck_assert_int_eq(evfut_semaphore_release(&sem, 2), 0);
	/* The permits granted to the loser came back, and the waiter
	   behind it (blocked by FIFO order) got one of them. */
	if (at != BEFORE_POLL) {
		ck_assert_int_eq(atomic_load(&c.wakes), 1);
		ck_assert_int_eq(poll_with(&next.base, &c, NULL), EVFUT_READY);
		ck_assert_int_eq(next.result, 0);
		ck_assert_uint_eq(evfut_semaphore_available(&sem), 1);
	} else {
		ck_assert_uint_eq(evfut_semaphore_available(&sem), 2);
	}
	evfut_future_drop(&next.base);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

START_TEST(test_sync_cancel_oneshot_recv)
{
	enum point at = (enum point)_i;
	struct evfut_oneshot o;
	struct evfut_oneshot_recv recv;
	struct race r;
	int value = 9;

	evfut_oneshot_init(&o);
	evfut_oneshot_recv_init(&recv, &o);
	race_init(&r, &recv.base);
	if (at != BEFORE_POLL)
		ck_assert_int_eq(race_poll(&r), EVFUT_PENDING);
	if (at == WOKEN)
		ck_assert_int_eq(evfut_oneshot_send(&o, &value), 0);
	race_lose(&r);
	if (at == WOKEN) {
		/* Sent, never received: the value is handed back, once. */
		ck_assert_ptr_eq(evfut_oneshot_finish(&o), &value);
	} else {
		/* The receiver is gone: the send fails, ownership stays. */
		ck_assert_int_eq(evfut_oneshot_send(&o, &value), -EPIPE);
		ck_assert_ptr_null(evfut_oneshot_finish(&o));
	}
}
END_TEST

static intptr_t
answer(void *arg)
{
	(void)arg;
	return 42;
}

/* Blocking work: dropped before it was queued, queued or running, and
   finished but not polled: the pool thread never writes into it. */
START_TEST(test_sync_cancel_blocking)
{
	enum point at = (enum point)_i;
	struct evfut_pool *pool;
	struct evfut_blocking work;
	struct race r;

	ck_assert_int_eq(evfut_pool_create(&pool, 1), 0);
	evfut_blocking_init(&work, pool, answer, NULL);
	race_init(&r, &work.base);
	if (at != BEFORE_POLL)
		ck_assert_int_eq(race_poll(&r), EVFUT_PENDING);
	if (at == WOKEN) {
		while (atomic_load(&r.c.wakes) == 0)
			sched_yield(); /* the thread finished it */
	}
	race_lose(&r);
	ck_assert_int_eq(work.result, 0);
	ck_assert_int_eq(work.value, 0); /* never written */
	evfut_pool_destroy(pool);
}
END_TEST

/* A select dropped by a select: the inner losers are dropped once. */
START_TEST(test_sync_cancel_nested_select_and_join)
{
	enum point at = (enum point)_i;
	struct evfut_notify n;
	struct evfut_notified a, b;
	struct evfut_future *inner_children[2] = {&a.base, &b.base};
	struct evfut_join join;
	struct harness_counter c;
	struct race r;

	evfut_notify_init(&n);
	evfut_notified_init(&a, &n);
	evfut_notified_init(&b, &n);
	ck_assert_int_eq(evfut_join_init(&join, inner_children, 2), 0);
	race_init(&r, &join.base);
	if (at != BEFORE_POLL)
		ck_assert_int_eq(race_poll(&r), EVFUT_PENDING);
	if (at == WOKEN)
		ck_assert_int_eq(evfut_notify_one(&n), 0); /* chooses a */
	race_lose(&r);
	/* a's notification, passed to b as it left too, came back as the
	   permit. */
	harness_counter_init(&c);
	evfut_notified_init(&a, &n);
	ck_assert_int_eq(poll_with(&a.base, &c, NULL),
	                 at == WOKEN ? EVFUT_READY : EVFUT_PENDING);
	evfut_future_drop(&a.base);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

static Suite *
sync_cancel_suite(void)
{
	Suite *s = suite_create("sync-cancel");
	TCase *tc = tcase_create("select-against-a-ready-sleep");

	tcase_add_checked_fixture(tc, setup, harness_teardown);
	tcase_add_loop_test(tc, test_sync_cancel_mpsc_recv, 0, POINTS);
	tcase_add_loop_test(tc, test_sync_cancel_mpsc_send, 0, POINTS);
	tcase_add_loop_test(tc, test_sync_cancel_notified_one, 0, POINTS);
	tcase_add_loop_test(tc, test_sync_cancel_notified_waiters, 0, POINTS);
	tcase_add_loop_test(tc, test_sync_cancel_acquire, 0, POINTS);
	tcase_add_loop_test(tc, test_sync_cancel_oneshot_recv, 0, POINTS);
	tcase_add_loop_test(tc, test_sync_cancel_blocking, 0, POINTS);
	tcase_add_loop_test(tc, test_sync_cancel_nested_select_and_join, 0,
	                    POINTS);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(sync_cancel_suite());
}
