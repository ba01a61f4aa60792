/*
 * Suite "mpsc-threads": the thread-safe mpsc channel with producers on
 * other threads (a thread parked in evfut_block_on(), a thread spinning on
 * try_send), the receiver a task, and the end seen when the last sender
 * is dropped; the receive is raced against a yield in a select, so that
 * receives are dropped at every point while producers run. Runs in the
 * 'threads' meson suite, which CI also runs under ThreadSanitizer.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "common.h"

enum { PRODUCERS = 4, PER_PRODUCER = 5000, CAPACITY = 16 };

struct producer_arg {
	struct evfut_mpsc *ch;
	int id;
};

static void *
produce(void *arg)
{
	struct producer_arg *p = arg;
	struct evfut_mpsc_send send;
	int v;

	for (int i = 0; i < PER_PRODUCER; i++) {
		v = p->id * PER_PRODUCER + i;
		if (i % 2 == 0) {
			int rc;

			while ((rc = evfut_mpsc_try_send(p->ch, &v)) == -EAGAIN)
				sched_yield();
			ck_assert_int_eq(rc, 0);
			continue;
		}
		ck_assert_int_eq(evfut_mpsc_send_init(&send, p->ch, &v), 0);
		ck_assert_int_eq(evfut_block_on(&send.base), 0);
		ck_assert_int_eq(send.result, 0);
		evfut_future_drop(&send.base);
	}
	ck_assert_int_eq(evfut_mpsc_sender_drop(p->ch), 0);
	return NULL;
}

/* Receives until the end, each receive raced against a yield or not. */
struct consumer {
	struct evfut_future base;
	struct evfut_mpsc *ch;
	int race;
	int armed;
	int out;
	int received;
	int lost_races; /* receives dropped by the select */
	int next[PRODUCERS];
	struct evfut_mpsc_recv recv;
	struct evfut_yield yield;
	struct evfut_select select;
	struct evfut_future *children[2];
};

static void
consumer_arm(struct consumer *k)
{
	evfut_mpsc_recv_init(&k->recv, k->ch, &k->out);
	if (k->race) {
		evfut_yield_init(&k->yield);
		k->children[0] = &k->recv.base;
		k->children[1] = &k->yield.base;
		evfut_select_init(&k->select, k->children, 2);
	}
	k->armed = 1;
}

static enum evfut_poll
consumer_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct consumer *k = evfut_container_of(self, struct consumer, base);
	struct evfut_future *f;
	int producer;

	for (;;) {
		if (!k->armed)
			consumer_arm(k);
		f = k->race ? &k->select.base : &k->recv.base;
		if (evfut_future_poll(f, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		evfut_future_drop(f);
		k->armed = 0;
		if (k->race && k->select.index == 1) {
			/* The receive lost: it took nothing. */
			ck_assert_int_eq(k->recv.result, -EAGAIN);
			k->lost_races++;
			continue;
		}
		if (k->recv.result == -EPIPE)
			return EVFUT_READY;
		ck_assert_int_eq(k->recv.result, 0);
		producer = k->out / PER_PRODUCER;
		ck_assert_int_ge(producer, 0);
		ck_assert_int_lt(producer, PRODUCERS);
		/* Each producer's items arrive once, in order. */
		ck_assert_int_eq(k->out % PER_PRODUCER, k->next[producer]);
		k->next[producer]++;
		k->received++;
	}
}

static void
run_producers(int race)
{
	struct producer_arg args[PRODUCERS];
	pthread_t threads[PRODUCERS];
	struct evfut_mpsc ch;
	struct consumer k;

	ck_assert_int_eq(evfut_mpsc_init(&ch, CAPACITY, sizeof(int), NULL), 0);
	memset(&k, 0, sizeof(k));
	k.base.poll = consumer_poll;
	k.ch = &ch;
	k.race = race;
	for (int i = 0; i < PRODUCERS; i++) {
		args[i].ch = &ch;
		args[i].id = i;
		ck_assert_int_eq(evfut_mpsc_sender_add(&ch), 0);
		ck_assert_int_eq(
		        pthread_create(&threads[i], NULL, produce, &args[i]),
		        0);
	}
	/* The sender init counted is this thread's: gone, the producers
	   hold the channel open. */
	ck_assert_int_eq(evfut_mpsc_sender_drop(&ch), 0);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &k.base), 0);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(threads[i], NULL);
	ck_assert_int_eq(k.received, PRODUCERS * PER_PRODUCER);
	for (int i = 0; i < PRODUCERS; i++)
		ck_assert_int_eq(k.next[i], PER_PRODUCER);
	ck_assert_int_eq(evfut_mpsc_is_closed(&ch), 1);
	evfut_mpsc_finish(&ch);
}

START_TEST(test_mpsc_threads_producers_on_threads_end_at_the_last_drop)
{
	run_producers(0);
}
END_TEST

START_TEST(test_mpsc_threads_receives_dropped_by_select_lose_nothing)
{
	run_producers(1);
}
END_TEST

/* tokio's test_rx_is_closed_when_dropping_all_senders, and the errors. */
START_TEST(test_mpsc_threads_sender_counting)
{
	struct harness_counter c;
	struct evfut_mpsc ch;
	struct evfut_mpsc_recv recv;
	int one = 1, v = 0;

	harness_counter_init(&c);
	ck_assert_int_eq(evfut_mpsc_init(&ch, 2, sizeof(int), NULL), 0);
	ck_assert_int_eq(evfut_mpsc_sender_add(&ch), 0); /* two senders */
	ck_assert_int_eq(evfut_mpsc_try_send(&ch, &one), 0);
	evfut_mpsc_recv_init(&recv, &ch, &v);
	ck_assert_int_eq(poll_with(&recv.base, &c, NULL), EVFUT_READY);
	evfut_future_drop(&recv.base);
	evfut_mpsc_recv_init(&recv, &ch, &v);
	ck_assert_int_eq(poll_with(&recv.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(evfut_mpsc_sender_drop(&ch), 0);
	ck_assert_int_eq(evfut_mpsc_is_closed(&ch), 0);
	ck_assert_int_eq(atomic_load(&c.wakes), 0);
	ck_assert_int_eq(evfut_mpsc_try_send(&ch, &one), 0);
	ck_assert_int_eq(evfut_mpsc_sender_drop(&ch), 0); /* the last */
	ck_assert_int_eq(evfut_mpsc_is_closed(&ch), 1);
	/* The item sent before the end is still received, then the end. */
	ck_assert_int_eq(poll_with(&recv.base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(recv.result, 0);
	evfut_future_drop(&recv.base);
	evfut_mpsc_recv_init(&recv, &ch, &v);
	ck_assert_int_eq(poll_with(&recv.base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(recv.result, -EPIPE);
	evfut_future_drop(&recv.base);
	ck_assert_int_eq(evfut_mpsc_try_send(&ch, &one), -EPIPE);
	ck_assert_int_eq(evfut_mpsc_sender_add(&ch), -EPIPE);
	ck_assert_int_eq(evfut_mpsc_sender_drop(&ch), -EINVAL);
	ck_assert_int_eq(evfut_mpsc_sender_add(NULL), -EINVAL);
	ck_assert_int_eq(evfut_mpsc_sender_drop(NULL), -EINVAL);
	ck_assert_int_eq(evfut_mpsc_is_closed(NULL), -EINVAL);
	ck_assert_int_eq(atomic_load(&c.live), 0);
	evfut_mpsc_finish(&ch);
}
END_TEST

static Suite *
mpsc_threads_suite(void)
{
	Suite *s = suite_create("mpsc-threads");
	TCase *tc = tcase_create("producers");

	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(
	        tc,
	        test_mpsc_threads_producers_on_threads_end_at_the_last_drop);
	tcase_add_test(
	        tc, test_mpsc_threads_receives_dropped_by_select_lose_nothing);
	tcase_add_test(tc, test_mpsc_threads_sender_counting);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(mpsc_threads_suite());
}
