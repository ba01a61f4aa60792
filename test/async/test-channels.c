/*
 * Suite "channels": the oneshot and mpsc channels on one thread: ordering,
 * backpressure, closing while futures wait, dropping a waiting future or a
 * channel end, and the error paths. The counting waker proves that every
 * stored waker is released.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* oneshot */

START_TEST(test_channels_oneshot_value_reaches_a_waiting_receiver)
{
	struct harness_counter c;
	struct evfut_oneshot os;
	struct evfut_oneshot_recv rx;
	int value = 42;

	harness_counter_init(&c);
	evfut_oneshot_init(&os);
	ck_assert_int_eq(evfut_oneshot_recv_init(&rx, &os), 0);
	ck_assert_int_eq(poll_with(&rx.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(poll_with(&rx.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(atomic_load(&c.live), 1); /* the latest, once */
	ck_assert_int_eq(evfut_oneshot_send(&os, &value), 0);
	ck_assert_int_eq(atomic_load(&c.wakes), 1);
	ck_assert_int_eq(poll_with(&rx.base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(rx.result, 0);
	ck_assert_ptr_eq(rx.value, &value);
	evfut_future_drop(&rx.base);
	ck_assert_ptr_null(evfut_oneshot_finish(&os));
	ck_assert_int_eq(atomic_load(&c.live), 0);

	/* Sent before the receiver polls: ready at once. */
	evfut_oneshot_init(&os);
	ck_assert_int_eq(evfut_oneshot_send(&os, &value), 0);
	ck_assert_int_eq(evfut_oneshot_recv_init(&rx, &os), 0);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &rx.base), 0);
	ck_assert_ptr_eq(rx.value, &value);
	evfut_future_drop(&rx.base);
}
END_TEST

START_TEST(test_channels_oneshot_dropped_sender_completes_with_epipe)
{
	struct harness_counter c;
	struct evfut_oneshot os;
	struct evfut_oneshot_recv rx;

	harness_counter_init(&c);
	evfut_oneshot_init(&os);
	ck_assert_int_eq(evfut_oneshot_recv_init(&rx, &os), 0);
	ck_assert_int_eq(poll_with(&rx.base, &c, NULL), EVFUT_PENDING);
	ck_assert_int_eq(evfut_oneshot_drop_sender(&os), 0);
	ck_assert_int_eq(atomic_load(&c.wakes), 1);
	ck_assert_int_eq(poll_with(&rx.base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(rx.result, -EPIPE);
	ck_assert_int_eq(evfut_oneshot_drop_sender(&os), 0); /* twice: no-op */
	ck_assert_int_eq(evfut_oneshot_send(&os, NULL), -EINVAL);
	evfut_future_drop(&rx.base);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

START_TEST(test_channels_oneshot_dropped_receiver_fails_the_send)
{
	struct harness_counter c;
	struct evfut_oneshot os;
	struct evfut_oneshot_recv rx;
	int value = 1;

	harness_counter_init(&c);
	evfut_oneshot_init(&os);
	ck_assert_int_eq(evfut_oneshot_recv_init(&rx, &os), 0);
	ck_assert_int_eq(poll_with(&rx.base, &c, NULL), EVFUT_PENDING);
	evfut_future_drop(&rx.base);
	ck_assert_int_eq(atomic_load(&c.live), 0);
	ck_assert_int_eq(evfut_oneshot_send(&os, &value), -EPIPE);

	/* Sent, then the receiver dropped unpolled: finish hands it back. */
	evfut_oneshot_init(&os);
	ck_assert_int_eq(evfut_oneshot_recv_init(&rx, &os), 0);
	ck_assert_int_eq(evfut_oneshot_send(&os, &value), 0);
	ck_assert_int_eq(evfut_oneshot_send(&os, &value), -EINVAL);
	evfut_future_drop(&rx.base);
	ck_assert_ptr_eq(evfut_oneshot_finish(&os), &value);

	/* A second receiver finds the value taken. */
	evfut_oneshot_init(&os);
	ck_assert_int_eq(evfut_oneshot_send(&os, &value), 0);
	ck_assert_int_eq(evfut_oneshot_recv_init(&rx, &os), 0);
	ck_assert_int_eq(poll_with(&rx.base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(evfut_oneshot_recv_init(&rx, &os), 0);
	ck_assert_int_eq(poll_with(&rx.base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(rx.result, -EPIPE);
}
END_TEST

START_TEST(test_channels_oneshot_rejects_bad_arguments)
{
	struct evfut_oneshot_recv rx;
	struct evfut_oneshot os;

	ck_assert_int_eq(evfut_oneshot_send(NULL, NULL), -EINVAL);
	ck_assert_int_eq(evfut_oneshot_drop_sender(NULL), -EINVAL);
	ck_assert_ptr_null(evfut_oneshot_finish(NULL));
	ck_assert_int_eq(evfut_oneshot_recv_init(NULL, &os), -EINVAL);
	ck_assert_int_eq(evfut_oneshot_recv_init(&rx, NULL), -EINVAL);
}
END_TEST

/* mpsc: ordering and backpressure */

START_TEST(test_channels_mpsc_is_fifo_and_bounded)
{
	struct evfut_mpsc ch;
	int buf[4], v;

	harness_alloc_fail_at(0);
	ck_assert_int_eq(evfut_mpsc_init(&ch, 4, sizeof(int), buf), 0);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 4; i++)
			ck_assert_int_eq(evfut_mpsc_try_send(&ch, &i), 0);
		ck_assert_int_eq(evfut_mpsc_try_send(&ch, &v), -EAGAIN);
		ck_assert_uint_eq(evfut_mpsc_len(&ch), 4);
		for (int i = 0; i < 4; i++) {
			ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &v), 0);
			ck_assert_int_eq(v, i);
		}
		ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &v), -EAGAIN);
		/* Wrap the ring around. */
		ck_assert_int_eq(evfut_mpsc_try_send(&ch, &round), 0);
		ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &v), 0);
		ck_assert_int_eq(v, round);
	}
	evfut_mpsc_finish(&ch);
	/* With the caller's buffer, nothing was allocated. */
	ck_assert_uint_eq(harness_alloc_calls(), 0);
}
END_TEST

START_TEST(test_channels_mpsc_waiting_senders_are_served_in_order)
{
	struct harness_counter c;
	struct evfut_mpsc ch;
	struct evfut_mpsc_send send[3];
	struct evfut_mpsc_recv recv;
	int items[3] = {10, 11, 12}, first = 1, v;

	harness_counter_init(&c);
	ck_assert_int_eq(evfut_mpsc_init(&ch, 1, sizeof(int), NULL), 0);
	ck_assert_int_eq(evfut_mpsc_try_send(&ch, &first), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(evfut_mpsc_send_init(&send[i], &ch, &items[i]),
		                 0);
		ck_assert_int_eq(poll_with(&send[i].base, &c, NULL),
		                 EVFUT_PENDING);
	}
	ck_assert_int_eq(atomic_load(&c.live), 3);
	/* A try_send cannot pass the waiting line. */
	ck_assert_int_eq(evfut_mpsc_try_send(&ch, &first), -EAGAIN);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(evfut_mpsc_recv_init(&recv, &ch, &v), 0);
		ck_assert_int_eq(poll_with(&recv.base, &c, NULL), EVFUT_READY);
		ck_assert_int_eq(recv.result, 0);
		ck_assert_int_eq(v, i == 0 ? 1 : items[i - 1]);
		/* Each receive woke exactly one waiting send, for its slot. */
		ck_assert_int_eq(atomic_load(&c.wakes), i < 3 ? i + 1 : 3);
		evfut_future_drop(&recv.base);
		if (i == 3)
			break;
		/* A try_send cannot take the slot reserved for it. */
		ck_assert_int_eq(evfut_mpsc_try_send(&ch, &first), -EAGAIN);
		ck_assert_int_eq(poll_with(&send[i].base, &c, NULL),
		                 EVFUT_READY);
		ck_assert_int_eq(send[i].result, 0);
		evfut_future_drop(&send[i].base);
	}
	ck_assert_int_eq(atomic_load(&c.live), 0);
	evfut_mpsc_finish(&ch);
}
END_TEST

/* A producer and a consumer task, written with the macros. */
struct producer {
	struct evfut_future base;
	unsigned resume;
	struct evfut_mpsc *ch;
	int i, n;
	int pending_sends; /* sends that had to wait */
	struct evfut_mpsc_send send;
};

static enum evfut_poll
producer_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct producer *p = evfut_container_of(self, struct producer, base);

	EVFUT_ASYNC_BEGIN(p->resume);
	for (p->i = 0; p->i < p->n; p->i++) {
		evfut_mpsc_send_init(&p->send, p->ch, &p->i);
		if (evfut_future_poll(&p->send.base, cx) == EVFUT_PENDING) {
			p->pending_sends++;
			EVFUT_AWAIT(&p->send.base, cx);
		}
		ck_assert_int_eq(p->send.result, 0);
	}
	evfut_mpsc_close(p->ch);
	EVFUT_ASYNC_END();
}

struct consumer {
	struct evfut_future base;
	unsigned resume;
	struct evfut_mpsc *ch;
	int item, received, max_len;
	struct evfut_mpsc_recv recv;
};

static enum evfut_poll
consumer_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct consumer *c = evfut_container_of(self, struct consumer, base);

	EVFUT_ASYNC_BEGIN(c->resume);
	for (;;) {
		if ((int)evfut_mpsc_len(c->ch) > c->max_len)
			c->max_len = (int)evfut_mpsc_len(c->ch);
		evfut_mpsc_recv_init(&c->recv, c->ch, &c->item);
		EVFUT_AWAIT(&c->recv.base, cx);
		if (c->recv.result == -EPIPE)
			break;
		ck_assert_int_eq(c->item, c->received);
		c->received++;
		if (c->received % 7 == 0)
			EVFUT_YIELD(cx); /* a slow consumer, now and then */
	}
	EVFUT_ASYNC_END();
}

START_TEST(test_channels_mpsc_backpressure_between_tasks)
{
	struct evfut_mpsc ch;
	struct producer p = {0};
	struct consumer c = {0};
	struct evfut_future *both[2] = {&p.base, &c.base};
	struct evfut_join join;

	ck_assert_int_eq(evfut_mpsc_init(&ch, 3, sizeof(int), NULL), 0);
	p.base.poll = producer_poll;
	p.ch = &ch;
	p.n = 1000;
	c.base.poll = consumer_poll;
	c.ch = &ch;
	ck_assert_int_eq(evfut_join_init(&join, both, 2), 0);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &join.base), 0);
	ck_assert_int_eq(c.received, 1000);
	ck_assert_int_le(c.max_len, 3);
	ck_assert_int_gt(p.pending_sends, 0); /* the producer was held back */
	evfut_future_drop(&join.base);
	evfut_mpsc_finish(&ch);
}
END_TEST

/* mpsc: closing and dropping */

START_TEST(test_channels_mpsc_close_completes_waiting_senders)
{
	struct harness_counter c;
	struct evfut_mpsc ch;
	struct evfut_mpsc_send send[2];
	struct evfut_mpsc_recv recv;
	int items[2] = {1, 2}, v = 0;

	harness_counter_init(&c);
	ck_assert_int_eq(evfut_mpsc_init(&ch, 1, sizeof(int), NULL), 0);
	ck_assert_int_eq(evfut_mpsc_try_send(&ch, &v), 0);
	for (int i = 0; i < 2; i++) {
		evfut_mpsc_send_init(&send[i], &ch, &items[i]);
		ck_assert_int_eq(poll_with(&send[i].base, &c, NULL),
		                 EVFUT_PENDING);
	}
	ck_assert_int_eq(evfut_mpsc_close(&ch), 0);
	ck_assert_int_eq(atomic_load(&c.wakes), 2);
	ck_assert_int_eq(atomic_load(&c.live), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(poll_with(&send[i].base, &c, NULL),
		                 EVFUT_READY);
		ck_assert_int_eq(send[i].result, -EPIPE);
		evfut_future_drop(&send[i].base);
	}
	/* The item already in drains, then the channel reports the close. */
	evfut_mpsc_recv_init(&recv, &ch, &v);
	ck_assert_int_eq(poll_with(&recv.base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(recv.result, 0);
	evfut_mpsc_recv_init(&recv, &ch, &v);
	ck_assert_int_eq(poll_with(&recv.base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(recv.result, -EPIPE);
	ck_assert_int_eq(evfut_mpsc_try_send(&ch, &v), -EPIPE);
	ck_assert_int_eq(evfut_mpsc_close(&ch), 0);
	evfut_mpsc_finish(&ch);
}
END_TEST

START_TEST(test_channels_mpsc_close_completes_waiting_receivers)
{
	struct harness_counter c;
	struct evfut_mpsc ch;
	struct evfut_mpsc_recv recv[3];
	int out[3];

	harness_counter_init(&c);
	ck_assert_int_eq(evfut_mpsc_init(&ch, 2, sizeof(int), NULL), 0);
	for (int i = 0; i < 3; i++) {
		evfut_mpsc_recv_init(&recv[i], &ch, &out[i]);
		ck_assert_int_eq(poll_with(&recv[i].base, &c, NULL),
		                 EVFUT_PENDING);
	}
	/* A send hands its item to the first waiting receive. */
	out[1] = 7;
	ck_assert_int_eq(evfut_mpsc_try_send(&ch, &out[1]), 0);
	ck_assert_int_eq(atomic_load(&c.wakes), 1);
	ck_assert_int_eq(poll_with(&recv[0].base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(out[0], 7);
	/* Finishing the channel with receives waiting completes them. */
	evfut_mpsc_finish(&ch);
	ck_assert_int_eq(atomic_load(&c.wakes), 3);
	for (int i = 1; i < 3; i++) {
		ck_assert_int_eq(poll_with(&recv[i].base, &c, NULL),
		                 EVFUT_READY);
		ck_assert_int_eq(recv[i].result, -EPIPE);
	}
	for (int i = 0; i < 3; i++)
		evfut_future_drop(&recv[i].base);
	ck_assert_int_eq(atomic_load(&c.live), 0);
}
END_TEST

START_TEST(test_channels_mpsc_dropped_waiters_leave_the_line)
{
	struct harness_counter c;
	struct evfut_mpsc ch;
	struct evfut_mpsc_send send[3];
	struct evfut_mpsc_recv recv[2];
	int items[3] = {1, 2, 3}, v = 0, out[2];

	harness_counter_init(&c);
	ck_assert_int_eq(evfut_mpsc_init(&ch, 1, sizeof(int), NULL), 0);
	/* Receives: the first is dropped, the second gets the item. */
	for (int i = 0; i < 2; i++) {
		evfut_mpsc_recv_init(&recv[i], &ch, &out[i]);
		ck_assert_int_eq(poll_with(&recv[i].base, &c, NULL),
		                 EVFUT_PENDING);
	}
	evfut_future_drop(&recv[0].base);
	ck_assert_int_eq(atomic_load(&c.live), 1);
	ck_assert_int_eq(evfut_mpsc_try_send(&ch, &items[0]), 0);
	ck_assert_int_eq(poll_with(&recv[1].base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(out[1], 1);
	evfut_future_drop(&recv[1].base);

	/* Sends: the middle one is dropped; its item never arrives. */
	ck_assert_int_eq(evfut_mpsc_try_send(&ch, &v), 0);
	for (int i = 0; i < 3; i++) {
		evfut_mpsc_send_init(&send[i], &ch, &items[i]);
		ck_assert_int_eq(poll_with(&send[i].base, &c, NULL),
		                 EVFUT_PENDING);
	}
	evfut_future_drop(&send[1].base);
	ck_assert_int_eq(atomic_load(&c.live), 2);
	/* Each receive wakes the next send, whose poll puts its item in. */
	ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(poll_with(&send[0].base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &v), 0);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(poll_with(&send[2].base, &c, NULL), EVFUT_READY);
	ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &v), 0);
	ck_assert_int_eq(v, 3);
	ck_assert_int_eq(evfut_mpsc_try_recv(&ch, &v), -EAGAIN);
	ck_assert_int_eq(send[1].result, -EAGAIN); /* never sent */
	evfut_future_drop(&send[0].base);
	evfut_future_drop(&send[2].base);
	ck_assert_int_eq(atomic_load(&c.live), 0);
	evfut_mpsc_finish(&ch);
}
END_TEST

START_TEST(test_channels_mpsc_rejects_bad_arguments)
{
	struct evfut_mpsc ch;
	struct evfut_mpsc_send send;
	struct evfut_mpsc_recv recv;
	int v;

	ck_assert_int_eq(evfut_mpsc_init(NULL, 1, 1, NULL), -EINVAL);
	ck_assert_int_eq(evfut_mpsc_init(&ch, 0, 1, NULL), -EINVAL);
	ck_assert_int_eq(evfut_mpsc_init(&ch, 1, 0, NULL), -EINVAL);
	ck_assert_int_eq(evfut_mpsc_init(&ch, SIZE_MAX / 2, 4, NULL), -EINVAL);
	harness_alloc_fail_at(1);
	ck_assert_int_eq(evfut_mpsc_init(&ch, 16, 8, NULL), -ENOMEM);
	harness_alloc_restore();
	ck_assert_int_eq(evfut_mpsc_init(&ch, 1, sizeof(int), NULL), 0);
	ck_assert_int_eq(evfut_mpsc_send_init(NULL, &ch, &v), -EINVAL);
	ck_assert_int_eq(evfut_mpsc_send_init(&send, NULL, &v), -EINVAL);
	ck_assert_int_eq(evfut_mpsc_send_init(&send, &ch, NULL), -EINVAL);
	ck_assert_int_eq(evfut_mpsc_recv_init(NULL, &ch, &v), -EINVAL);
	ck_assert_int_eq(evfut_mpsc_recv_init(&recv, NULL, &v), -EINVAL);
	ck_assert_int_eq(evfut_mpsc_recv_init(&recv, &ch, NULL), -EINVAL);
	ck_assert_int_eq(evfut_mpsc_try_send(NULL, &v), -EINVAL);
	ck_assert_int_eq(evfut_mpsc_try_send(&ch, NULL), -EINVAL);
	ck_assert_int_eq(evfut_mpsc_try_recv(NULL, &v), -EINVAL);
	ck_assert_int_eq(evfut_mpsc_try_recv(&ch, NULL), -EINVAL);
	ck_assert_int_eq(evfut_mpsc_close(NULL), -EINVAL);
	ck_assert_uint_eq(evfut_mpsc_len(NULL), 0);
	evfut_mpsc_finish(NULL);
	evfut_mpsc_finish(&ch);
}
END_TEST

static Suite *
channels_suite(void)
{
	Suite *s = suite_create("channels");
	TCase *tc;

	tc = tcase_create("oneshot");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc,
	               test_channels_oneshot_value_reaches_a_waiting_receiver);
	tcase_add_test(
	        tc, test_channels_oneshot_dropped_sender_completes_with_epipe);
	tcase_add_test(tc,
	               test_channels_oneshot_dropped_receiver_fails_the_send);
	tcase_add_test(tc, test_channels_oneshot_rejects_bad_arguments);
	suite_add_tcase(s, tc);

	tc = tcase_create("mpsc");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_channels_mpsc_is_fifo_and_bounded);
	tcase_add_test(tc,
	               test_channels_mpsc_waiting_senders_are_served_in_order);
	tcase_add_test(tc, test_channels_mpsc_backpressure_between_tasks);
	tcase_add_test(tc, test_channels_mpsc_close_completes_waiting_senders);
	tcase_add_test(tc,
	               test_channels_mpsc_close_completes_waiting_receivers);
	tcase_add_test(tc, test_channels_mpsc_dropped_waiters_leave_the_line);
	tcase_add_test(tc, test_channels_mpsc_rejects_bad_arguments);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return harness_main(channels_suite());
}
