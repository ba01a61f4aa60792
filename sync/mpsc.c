/*
 * The bounded mpsc channel: a ring of fixed-size items and two FIFO lines
 * of waiting futures, for the tasks of one runtime (no lock).
 *
 * Hand-off keeps the lines short and FIFO: a send that finds a receive
 * waiting copies its item straight into the receive's buffer (the ring is
 * then empty), and a receive that frees a slot moves the longest-waiting
 * send's item into the ring. A waiting future is therefore completed by
 * the other side, result set, before its task is woken, and its next poll
 * only reads the result: nobody has to pass a wake along.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "evfut/channel.h"

#include "alloc.h"
#include "waitlist.h"

#define CLOSED      1u
#define OWNS_BUFFER 2u

enum {
	WAIT_INIT = 0,
	WAIT_LINKED = 1,
	WAIT_DONE = 2, /* result set */
};

static enum evfut_poll send_poll(struct evfut_future *self,
                                 struct evfut_context *cx);
static void send_drop(struct evfut_future *self);
static enum evfut_poll recv_poll(struct evfut_future *self,
                                 struct evfut_context *cx);
static void recv_drop(struct evfut_future *self);

int
evfut_mpsc_init(struct evfut_mpsc *ch, size_t capacity, size_t item_size,
                void *buffer)
{
	if (ch == NULL || capacity == 0 || item_size == 0 ||
	    capacity > SIZE_MAX / item_size)
		return -EINVAL;
	memset(ch, 0, sizeof(*ch));
	if (buffer == NULL) {
		buffer = evfut__malloc(capacity * item_size);
		if (buffer == NULL)
			return -ENOMEM;
		ch->flags = OWNS_BUFFER;
	}
	ch->buffer = buffer;
	ch->capacity = capacity;
	ch->item_size = item_size;
	return 0;
}

static struct evfut_mpsc_send *
send_of(struct evfut_waiter *w)
{
	return evfut_container_of(w, struct evfut_mpsc_send, node);
}

static struct evfut_mpsc_recv *
recv_of(struct evfut_waiter *w)
{
	return evfut_container_of(w, struct evfut_mpsc_recv, node);
}

/* Unlinks @w from @list and wakes its task; its result is set. */
static void
complete(struct evfut_waitlist *list, struct evfut_waiter *w, unsigned *state)
{
	struct evfut_waker waker;

	evfut__waitlist_remove(list, w);
	*state = WAIT_DONE;
	waker = evfut__waiter_take(w);
	evfut_waker_wake(&waker);
}

static void
ring_push(struct evfut_mpsc *ch, const void *item)
{
	size_t tail = ch->head + ch->len;

	if (tail >= ch->capacity)
		tail -= ch->capacity;
	memcpy(ch->buffer + tail * ch->item_size, item, ch->item_size);
	ch->len++;
}

static void
ring_pop(struct evfut_mpsc *ch, void *out)
{
	memcpy(out, ch->buffer + ch->head * ch->item_size, ch->item_size);
	if (++ch->head == ch->capacity)
		ch->head = 0;
	ch->len--;
}

int
evfut_mpsc_try_send(struct evfut_mpsc *ch, const void *item)
{
	struct evfut_waiter *w;
	struct evfut_mpsc_recv *recv;

	if (ch == NULL || item == NULL)
		return -EINVAL;
	if (ch->flags & CLOSED)
		return -EPIPE;
	w = ch->receivers.head;
	if (w != NULL) {
		/* A receive waits, so the ring is empty: hand it over. */
		recv = recv_of(w);
		memcpy(recv->out, item, ch->item_size);
		recv->result = 0;
		complete(&ch->receivers, w, &recv->state);
		return 0;
	}
	if (ch->len == ch->capacity || !evfut__waitlist_empty(&ch->senders))
		return -EAGAIN;
	ring_push(ch, item);
	return 0;
}

int
evfut_mpsc_try_recv(struct evfut_mpsc *ch, void *out)
{
	struct evfut_waiter *w;
	struct evfut_mpsc_send *send;

	if (ch == NULL || out == NULL)
		return -EINVAL;
	if (ch->len == 0)
		return (ch->flags & CLOSED) ? -EPIPE : -EAGAIN;
	ring_pop(ch, out);
	w = ch->senders.head;
	if (w != NULL) {
		/* The slot just freed goes to the longest-waiting send. */
		send = send_of(w);
		ring_push(ch, send->item);
		send->result = 0;
		complete(&ch->senders, w, &send->state);
	}
	return 0;
}

size_t
evfut_mpsc_len(const struct evfut_mpsc *ch)
{
	return ch != NULL ? ch->len : 0;
}

int
evfut_mpsc_close(struct evfut_mpsc *ch)
{
	struct evfut_waiter *w;

	if (ch == NULL)
		return -EINVAL;
	ch->flags |= CLOSED;
	while ((w = ch->senders.head) != NULL) {
		send_of(w)->result = -EPIPE;
		complete(&ch->senders, w, &send_of(w)->state);
	}
	while ((w = ch->receivers.head) != NULL) {
		recv_of(w)->result = -EPIPE;
		complete(&ch->receivers, w, &recv_of(w)->state);
	}
	return 0;
}

void
evfut_mpsc_finish(struct evfut_mpsc *ch)
{
	if (ch == NULL)
		return;
	evfut_mpsc_close(ch);
	if (ch->flags & OWNS_BUFFER)
		evfut__free(ch->buffer);
	ch->buffer = NULL;
	ch->flags &= ~OWNS_BUFFER;
	ch->len = 0;
}

int
evfut_mpsc_send_init(struct evfut_mpsc_send *send, struct evfut_mpsc *ch,
                     const void *item)
{
	if (send == NULL || ch == NULL || item == NULL)
		return -EINVAL;
	memset(send, 0, sizeof(*send));
	send->base.poll = send_poll;
	send->base.drop = send_drop;
	send->ch = ch;
	send->item = item;
	return 0;
}

static enum evfut_poll
send_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_mpsc_send *send =
	        evfut_container_of(self, struct evfut_mpsc_send, base);
	int rc;

	if (send->state == WAIT_INIT) {
		rc = evfut_mpsc_try_send(send->ch, send->item);
		if (rc != -EAGAIN) {
			send->result = rc;
			send->state = WAIT_DONE;
			return EVFUT_READY;
		}
		evfut__waitlist_push(&send->ch->senders, &send->node);
		send->state = WAIT_LINKED;
	}
	if (send->state == WAIT_DONE)
		return EVFUT_READY;
	evfut_waker_store(&send->node.waker, cx->waker);
	return EVFUT_PENDING;
}

static void
send_drop(struct evfut_future *self)
{
	struct evfut_mpsc_send *send =
	        evfut_container_of(self, struct evfut_mpsc_send, base);

	if (send->state == WAIT_LINKED)
		evfut__waitlist_remove(&send->ch->senders, &send->node);
	send->state = WAIT_DONE;
	evfut_waker_drop(&send->node.waker);
}

int
evfut_mpsc_recv_init(struct evfut_mpsc_recv *recv, struct evfut_mpsc *ch,
                     void *out)
{
	if (recv == NULL || ch == NULL || out == NULL)
		return -EINVAL;
	memset(recv, 0, sizeof(*recv));
	recv->base.poll = recv_poll;
	recv->base.drop = recv_drop;
	recv->ch = ch;
	recv->out = out;
	return 0;
}

static enum evfut_poll
recv_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_mpsc_recv *recv =
	        evfut_container_of(self, struct evfut_mpsc_recv, base);
	int rc;

	if (recv->state == WAIT_INIT) {
		rc = evfut_mpsc_try_recv(recv->ch, recv->out);
		if (rc != -EAGAIN) {
			recv->result = rc;
			recv->state = WAIT_DONE;
			return EVFUT_READY;
		}
		evfut__waitlist_push(&recv->ch->receivers, &recv->node);
		recv->state = WAIT_LINKED;
	}
	if (recv->state == WAIT_DONE)
		return EVFUT_READY;
	evfut_waker_store(&recv->node.waker, cx->waker);
	return EVFUT_PENDING;
}

static void
recv_drop(struct evfut_future *self)
{
	struct evfut_mpsc_recv *recv =
	        evfut_container_of(self, struct evfut_mpsc_recv, base);

	if (recv->state == WAIT_LINKED)
		evfut__waitlist_remove(&recv->ch->receivers, &recv->node);
	recv->state = WAIT_DONE;
	evfut_waker_drop(&recv->node.waker);
}
