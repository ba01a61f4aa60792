/*
 * Suite "sync-rules": the two rules every channel and synchronisation
 * primitive follows (docs/channels.md), each case a regression test of a
 * defect the old hand-off code had:
 *   (a) after a call's last wake it never touches the object again (a
 *       woken task may free it);
 *   (b) nothing completes another side's future before its poll: a send
 *       or release reserves and wakes, and the woken poll takes or gives,
 *       so a future dropped at any point loses and duplicates nothing;
 * and the cooperative budget that ready sync futures spend.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* A waker that runs a callback of the test when woken (once). */
static void (*on_wake)(void);

static struct evfut_waker hook_clone(const void *data);
static void hook_wake(const void *data);
static void hook_drop(const void *data);

static const struct evfut_waker_vtable hook_vtable = {hook_clone, hook_wake,
                                                      hook_wake, hook_drop};

static struct evfut_waker
hook_clone(const void *data)
{
	struct evfut_waker w = {data, &hook_vtable};

	return w;
}

static void
hook_wake(const void *data)
{
	void (*fn)(void) = on_wake;

	(void)data;
	on_wake = NULL;
	if (fn != NULL)
		fn();
}

static void
hook_drop(const void *data)
{
	(void)data;
}

static enum evfut_poll
poll_hooked(struct evfut_future *f)
{
	struct evfut_waker waker = {NULL, &hook_vtable};
	struct evfut_context cx = {&waker, NULL};

	return evfut_future_poll(f, &cx);
}

/* Defect 1: a woken receive dropped before its poll loses nothing. */
START_TEST(test_sync_rules_mpsc_dropped_woken_receive_keeps_the_item)
{
	struct harness_counter c;
	struct evfut_mpsc ch;
	struct evfut_mpsc_recv a, b;
	int out_a = -1, out_b = -1, item = 42, v = 0;

	harness_counter_init(&c);
	ck_assert_int_eq(evfut_mpsc_init(&ch, 4, sizeof(int), NULL), 0);
	evfut_mpsc_recv_init(&a, &ch, &out_a);
	evfut_mpsc_recv_init(&b, &ch, &out_b);
	ck_assert_int_eq(poll_with(&a.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(evfut_mpsc_try_send(&ch, &item), 0);
	ck_assert_int_eq(atomic_load(&c.wakes), 1);
	evfut_future_drop(&a.base); /* a select loser, say */
	ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &v), 0);
	ck_assert_int_eq(v, 42);
	/* Not completed by the send: its poll would have taken the item. */
	ck_assert_int_eq(a.result, -EAGAIN);
	ck_assert_int_eq(out_a, -1);

	/* With another receive waiting, the wake passes on to it. */
	ck_assert_int_eq(evfut_mpsc_recv_init(&a, &ch, &out_a), 0);
	ck_assert_int_eq(poll_with(&a.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(poll_with(&b.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(evfut_mpsc_try_send(&ch, &item), 0);
	ck_assert_int_eq(atomic_load(&c.wakes), 2);
	evfut_future_drop(&a.base);
	ck_assert_int_eq(atomic_load(&c.wakes), 3);
	ck_assert_int_eq(poll_with(&b.base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(b.result, 0);
	ck_assert_int_eq(out_b, 42);
	evfut_future_drop(&b.base);
	ck_assert_int_eq(atomic_load(&c.live), 0);
	evfut_mpsc_finish(&ch);
}
END_TEST

/* Defect 1, the other way: a woken send dropped sent nothing. */
START_TEST(test_sync_rules_mpsc_dropped_woken_send_sent_nothing)
{
	struct harness_counter c;
	struct evfut_mpsc ch;
	struct evfut_mpsc_send s, t;
	int first = 1, second = 2, third = 3, v = 0;

	harness_counter_init(&c);
	ck_assert_int_eq(evfut_mpsc_init(&ch, 1, sizeof(int), NULL), 0);
	ck_assert_int_eq(evfut_mpsc_try_send(&ch, &first), 0);
	evfut_mpsc_send_init(&s, &ch, &second);
	evfut_mpsc_send_init(&t, &ch, &third);
	ck_assert_int_eq(poll_with(&s.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(poll_with(&t.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &v), 0);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(atomic_load(&c.wakes), 1);
	evfut_future_drop(&s.base);
	/* Dropped before its poll: not sent, so a retry duplicates nothing;
	   its reserved slot went to the next send. */
	ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &v), -EAGAIN);
	ck_assert_int_eq(s.result, -EAGAIN);
	ck_assert_int_eq(atomic_load(&c.wakes), 2);
	ck_assert_int_eq(poll_with(&t.base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(t.result, 0);
	ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &v), 0);
	ck_assert_int_eq(v, 3);
	ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &v), -EAGAIN);
	evfut_future_drop(&t.base);

	/* With no send left in line, the slot is free again. */
	ck_assert_int_eq(evfut_mpsc_try_send(&ch, &first), 0);
	evfut_mpsc_send_init(&s, &ch, &second);
	ck_assert_int_eq(poll_with(&s.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &v), 0);
	evfut_future_drop(&s.base);
	ck_assert_int_eq(evfut_mpsc_try_send(&ch, &third), 0);
	ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &v), 0);
	ck_assert_int_eq(v, 3);
	ck_assert_int_eq(atomic_load(&c.live), 0);
	evfut_mpsc_finish(&ch);
}
END_TEST

/*
 * Defect 2: a release that wakes more than one batch of acquires. The
 * first woken task completes its acquire, drops the others and frees the
 * semaphore, as sem_post()/sem_destroy() allow: the release must not
 * touch it afterwards (AddressSanitizer sees a use after free if it does).
 */
enum { SEM_WAITERS = 40 };
static struct evfut_semaphore *doomed_sem;
static struct evfut_acquire doomed_acquires[SEM_WAITERS];

static void
finish_and_free_semaphore(void)
{
	ck_assert_int_eq(poll_hooked(&doomed_acquires[0].base), EVFUT_READY);
	for (int i = 0; i < SEM_WAITERS; i++)
		evfut_future_drop(&doomed_acquires[i].base);
	free(doomed_sem);
	doomed_sem = NULL;
}

START_TEST(test_sync_rules_semaphore_freed_by_a_woken_waiter)
{
	doomed_sem = malloc(sizeof(*doomed_sem));
	ck_assert_ptr_nonnull(doomed_sem);
	evfut_semaphore_init(doomed_sem, 0);
	for (int i = 0; i < SEM_WAITERS; i++) {
		evfut_acquire_init(&doomed_acquires[i], doomed_sem, 1);
		ck_assert_int_eq(poll_hooked(&doomed_acquires[i].base),
		                 EVFUT_PENDING);
	}
	on_wake = finish_and_free_semaphore;
	ck_assert_int_eq(evfut_semaphore_release(doomed_sem, SEM_WAITERS), 0);
	ck_assert_ptr_null(doomed_sem);
}
END_TEST

/* The same, through close. */
START_TEST(test_sync_rules_semaphore_freed_by_a_waiter_woken_by_close)
{
	doomed_sem = malloc(sizeof(*doomed_sem));
	ck_assert_ptr_nonnull(doomed_sem);
	evfut_semaphore_init(doomed_sem, 0);
	for (int i = 0; i < SEM_WAITERS; i++) {
		evfut_acquire_init(&doomed_acquires[i], doomed_sem, 1);
		ck_assert_int_eq(poll_hooked(&doomed_acquires[i].base),
		                 EVFUT_PENDING);
	}
	on_wake = finish_and_free_semaphore;
	ck_assert_int_eq(evfut_semaphore_close(doomed_sem), 0);
	ck_assert_ptr_null(doomed_sem);
	ck_assert_int_eq(doomed_acquires[0].result, -EPIPE);
}
END_TEST

/*
 * Defect 3: a notify_waiters() overlapped by a second one (made from a
 * wake of the first) and a future registered after both: the first call
 * must not wake it.
 */
enum { NOTIFY_WAITERS = 40 };
static struct evfut_notify overlapped;
static struct evfut_notified overlapped_late;
static struct harness_counter late_counter;

static void
notify_again_and_register(void)
{
	ck_assert_int_eq(evfut_notify_waiters(&overlapped), 0);
	evfut_notified_init(&overlapped_late, &overlapped);
	ck_assert_int_eq(poll_with(&overlapped_late.base, &late_counter, NULL),
	                 EVFUT_PENDING);
}

START_TEST(test_sync_rules_notify_waiters_skips_later_waiters)
{
	static struct evfut_notified w[NOTIFY_WAITERS];

	harness_counter_init(&late_counter);
	evfut_notify_init(&overlapped);
	for (int i = 0; i < NOTIFY_WAITERS; i++) {
		evfut_notified_init(&w[i], &overlapped);
		ck_assert_int_eq(poll_hooked(&w[i].base), EVFUT_PENDING);
	}
	on_wake = notify_again_and_register;
	ck_assert_int_eq(evfut_notify_waiters(&overlapped), 0);
	for (int i = 0; i < NOTIFY_WAITERS; i++) {
		ck_assert_int_eq(poll_hooked(&w[i].base), EVFUT_READY);
		evfut_future_drop(&w[i].base);
	}
	/* Registered after both calls: neither woke it. */
	ck_assert_int_eq(atomic_load(&late_counter.wakes), 0);
	ck_assert_int_eq(poll_with(&overlapped_late.base, &late_counter, NULL),
	                 EVFUT_PENDING);
	ck_assert_int_eq(evfut_notify_one(&overlapped), 0);
	ck_assert_int_eq(atomic_load(&late_counter.wakes), 1);
	ck_assert_int_eq(poll_with(&overlapped_late.base, &late_counter, NULL),
	                 EVFUT_READY);
	evfut_future_drop(&overlapped_late.base);
	ck_assert_int_eq(atomic_load(&late_counter.live), 0);
}
END_TEST

/* Defect 4: a granted acquire dropped cannot push past the maximum. */
START_TEST(test_sync_rules_dropped_grant_respects_the_maximum)
{
	struct harness_counter c;
	struct evfut_semaphore sem;
	struct evfut_acquire a;

	harness_counter_init(&c);
	evfut_semaphore_init(&sem, 0);
	evfut_acquire_init(&a, &sem, 1);
	ck_assert_int_eq(poll_with(&a.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(evfut_semaphore_release(&sem, 1), 0); /* granted */
	ck_assert_int_eq(
	        evfut_semaphore_release(&sem, EVFUT_SEMAPHORE_MAX_PERMITS), 0);
	evfut_future_drop(&a.base);
	ck_assert_uint_eq(evfut_semaphore_available(&sem),
	                  EVFUT_SEMAPHORE_MAX_PERMITS);
	ck_assert_int_eq(evfut_semaphore_release(&sem, 1), -EINVAL);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

/*
 * Defect 6: a loop of immediately ready sync futures yields once the
 * budget is spent, so that another task runs before the loop ends.
 */
enum { READY_LOOP = 20000 };

enum kind { KIND_ACQUIRE, KIND_RECV, KIND_NOTIFIED, KIND_ONESHOT };

struct greedy {
	struct evfut_future base;
	enum kind kind;
	int done, pendings;
	int *other_ran; /* the other task's mark, read at the end */
	int saw_other;
	struct evfut_semaphore *sem;
	struct evfut_mpsc *ch;
	struct evfut_notify *notify;
	union {
		struct evfut_acquire acquire;
		struct evfut_mpsc_recv recv;
		struct evfut_notified notified;
		struct evfut_oneshot_recv oneshot;
	} u;
	struct evfut_oneshot oneshot;
	int out;
	int armed;
};

static struct evfut_future *
greedy_arm(struct greedy *g)
{
	switch (g->kind) {
	case KIND_ACQUIRE:
		evfut_acquire_init(&g->u.acquire, g->sem, 1);
		return &g->u.acquire.base;
	case KIND_RECV:
		evfut_mpsc_recv_init(&g->u.recv, g->ch, &g->out);
		return &g->u.recv.base;
	case KIND_NOTIFIED:
		evfut_notify_one(g->notify);
		evfut_notified_init(&g->u.notified, g->notify);
		return &g->u.notified.base;
	default:
		evfut_oneshot_init(&g->oneshot);
		evfut_oneshot_send(&g->oneshot, &g->out);
		evfut_oneshot_recv_init(&g->u.oneshot, &g->oneshot);
		return &g->u.oneshot.base;
	}
}

static enum evfut_poll
greedy_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct greedy *g = evfut_container_of(self, struct greedy, base);
	struct evfut_future *f = &g->u.acquire.base; /* every member's base */

	while (g->done < READY_LOOP) {
		if (!g->armed) {
			f = greedy_arm(g);
			g->armed = 1;
		}
		if (evfut_future_poll(f, cx) == EVFUT_PENDING) {
			g->pendings++;
			return EVFUT_PENDING;
		}
		evfut_future_drop(f);
		g->armed = 0;
		g->done++;
		if (g->done == READY_LOOP / 2)
			g->saw_other = *g->other_ran;
	}
	return EVFUT_READY;
}

struct marker {
	struct evfut_future base;
	int *ran;
};

static enum evfut_poll
marker_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)cx;
	*evfut_container_of(self, struct marker, base)->ran = 1;
	return EVFUT_READY;
}

static void
run_greedy(enum kind kind)
{
	static struct greedy g;
	struct marker m = {{marker_poll, NULL}, NULL};
	struct evfut_semaphore sem;
	struct evfut_mpsc ch;
	struct evfut_notify notify;
	int other_ran = 0, one = 1;

	evfut_semaphore_init(&sem, READY_LOOP);
	ck_assert_int_eq(evfut_mpsc_init(&ch, READY_LOOP, sizeof(int), NULL),
	                 0);
	for (int i = 0; i < READY_LOOP; i++)
		ck_assert_int_eq(evfut_mpsc_try_send(&ch, &one), 0);
	evfut_notify_init(&notify);
	memset(&g, 0, sizeof(g));
	g.base.poll = greedy_poll;
	g.kind = kind;
	g.other_ran = &other_ran;
	g.sem = &sem;
	g.ch = &ch;
	g.notify = &notify;
	m.ran = &other_ran;
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &m.base, sizeof m), 0);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &g.base), 0);
	ck_assert_int_eq(g.done, READY_LOOP);
	/* Every budget's worth of ready polls, one Pending. */
	ck_assert_int_ge(g.pendings, READY_LOOP / EVFUT_COOP_BUDGET - 1);
	ck_assert_int_eq(g.saw_other, 1);
	evfut_mpsc_finish(&ch);
}

START_TEST(test_sync_rules_ready_acquires_spend_the_budget)
{
	run_greedy(KIND_ACQUIRE);
}
END_TEST

START_TEST(test_sync_rules_ready_receives_spend_the_budget)
{
	run_greedy(KIND_RECV);
}
END_TEST

START_TEST(test_sync_rules_ready_notifieds_spend_the_budget)
{
	run_greedy(KIND_NOTIFIED);
}
END_TEST

START_TEST(test_sync_rules_ready_oneshots_spend_the_budget)
{
	run_greedy(KIND_ONESHOT);
}
END_TEST

static Suite *
sync_rules_suite(void)
{
	Suite *s = suite_create("sync-rules");
	TCase *tc = tcase_create("rules");

	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(
	        tc, test_sync_rules_mpsc_dropped_woken_receive_keeps_the_item);
	tcase_add_test(tc,
	               test_sync_rules_mpsc_dropped_woken_send_sent_nothing);
	tcase_add_test(tc, test_sync_rules_semaphore_freed_by_a_woken_waiter);
	tcase_add_test(
	        tc, test_sync_rules_semaphore_freed_by_a_waiter_woken_by_close);
	tcase_add_test(tc, test_sync_rules_notify_waiters_skips_later_waiters);
	tcase_add_test(tc, test_sync_rules_dropped_grant_respects_the_maximum);
	tcase_add_test(tc, test_sync_rules_ready_acquires_spend_the_budget);
	tcase_add_test(tc, test_sync_rules_ready_receives_spend_the_budget);
	tcase_add_test(tc, test_sync_rules_ready_notifieds_spend_the_budget);
	tcase_add_test(tc, test_sync_rules_ready_oneshots_spend_the_budget);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(sync_rules_suite());
}
