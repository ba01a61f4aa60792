/*
 * The bounded mpsc channel: a ring of fixed-size items, a FIFO of waiting
 * sends and one of waiting receives, under the channel's spin lock (none
 * for a local channel, whose every call is on one thread).
 *
 * Nothing is handed to a future before its poll. A send puts its item in
 * the ring and wakes one waiting receive, whose poll takes an item from
 * the ring; a receive that frees a slot reserves it for the longest
 * waiting send and wakes it, whose poll puts its item in. A woken receive
 * dropped before its poll passes the wake on to the next one; a woken send
 * dropped before its poll passes its slot on. So dropping any future at
 * any point loses no item and duplicates none.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "evfut/channel.h"
#include "evfut/handle.h"

#include "alloc.h"
#include "waitlist.h"

#define CLOSED      1u
#define OWNS_BUFFER 2u

enum {
	WAIT_INIT = 0,
	WAIT_LINKED = 1, /* in senders or receivers */
	WAIT_WOKEN =
	        2, /* a send: a slot is reserved; a receive: an item came */
	WAIT_CLOSED = 3, /* taken out by close() */
	WAIT_DONE = 4,   /* result set; written by the future's thread only */
};

static enum evfut_poll send_poll(struct evfut_future *self,
                                 struct evfut_context *cx);
static void send_drop(struct evfut_future *self);
static enum evfut_poll recv_poll(struct evfut_future *self,
                                 struct evfut_context *cx);
static void recv_drop(struct evfut_future *self);

static void
lock(struct evfut_mpsc *ch)
{
	evfut__lock(&ch->lock, ch->local);
}

static void
unlock(struct evfut_mpsc *ch)
{
	evfut__unlock(&ch->lock, ch->local);
}

/*
 * Ends a poll or a drop: takes the next batch of decided waiters, unlocks,
 * then drops @old and wakes @wake and the batch, the call's last touches
 * of anything shared (a woken task may free @ch).
 */
static void
unlock_and_wake(struct evfut_mpsc *ch, struct evfut_waker *old,
                struct evfut_waker *wake)
{
	struct evfut__wake_batch batch;

	evfut__wake_batch_take(&batch, &ch->woken);
	unlock(ch);
	evfut_waker_drop(old);
	evfut_waker_wake(wake);
	evfut__wake_batch_run(&batch);
}

static int
init(struct evfut_mpsc *ch, size_t capacity, size_t item_size, void *buffer,
     unsigned local)
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
	ch->tx_count = 1;
	ch->local = local;
	return 0;
}

int
evfut_mpsc_init(struct evfut_mpsc *ch, size_t capacity, size_t item_size,
                void *buffer)
{
	return init(ch, capacity, item_size, buffer, 0);
}

int
evfut_mpsc_init_local(struct evfut_mpsc *ch, size_t capacity, size_t item_size,
                      void *buffer)
{
	return init(ch, capacity, item_size, buffer, 1);
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

/* Under the lock: wakes the next waiting receive, an item being there. */
static struct evfut_waker
wake_receive_locked(struct evfut_mpsc *ch)
{
	struct evfut_waker none = EVFUT_WAKER_EMPTY;
	struct evfut_waiter *w = evfut__waitlist_pop(&ch->receivers);

	if (w == NULL)
		return none;
	evfut__state_set(
	        &evfut_container_of(w, struct evfut_mpsc_recv, node)->state,
	        WAIT_WOKEN);
	return evfut__waiter_take(w);
}

/* Under the lock: reserves a free slot for the next waiting send. */
static struct evfut_waker
wake_send_locked(struct evfut_mpsc *ch)
{
	struct evfut_waker none = EVFUT_WAKER_EMPTY;
	struct evfut_waiter *w;

	if (ch->len + ch->reserved >= ch->capacity ||
	    (w = evfut__waitlist_pop(&ch->senders)) == NULL)
		return none;
	ch->reserved++;
	evfut__state_set(
	        &evfut_container_of(w, struct evfut_mpsc_send, node)->state,
	        WAIT_WOKEN);
	return evfut__waiter_take(w);
}

/* Under the lock: whether a new send may take a slot now. */
static bool
has_room_locked(const struct evfut_mpsc *ch)
{
	return ch->len + ch->reserved < ch->capacity &&
	       evfut__waitlist_empty(&ch->senders);
}

int
evfut_mpsc_try_send(struct evfut_mpsc *ch, const void *item)
{
	struct evfut_waker waker = EVFUT_WAKER_EMPTY;
	int rc = 0;

	if (ch == NULL || item == NULL)
		return -EINVAL;
	lock(ch);
	if (ch->flags & CLOSED) {
		rc = -EPIPE;
	} else if (!has_room_locked(ch)) {
		rc = -EAGAIN;
	} else {
		ring_push(ch, item);
		waker = wake_receive_locked(ch);
	}
	unlock(ch);
	evfut_waker_wake(&waker);
	return rc;
}

int
evfut_mpsc_try_recv(struct evfut_mpsc *ch, void *out)
{
	struct evfut_waker waker = EVFUT_WAKER_EMPTY;
	int rc = 0;

	if (ch == NULL || out == NULL)
		return -EINVAL;
	lock(ch);
	if (ch->len == 0) {
		rc = (ch->flags & CLOSED) ? -EPIPE : -EAGAIN;
	} else {
		ring_pop(ch, out);
		waker = wake_send_locked(ch);
	}
	unlock(ch);
	evfut_waker_wake(&waker);
	return rc;
}

size_t
evfut_mpsc_len(const struct evfut_mpsc *ch)
{
	struct evfut_mpsc *locked = (struct evfut_mpsc *)ch; /* the lock */
	size_t len;

	if (ch == NULL)
		return 0;
	lock(locked);
	len = ch->len;
	unlock(locked);
	return len;
}

/* Under the lock: closes @ch, moving every waiter to `woken`. */
static void
close_locked(struct evfut_mpsc *ch, struct evfut__wake_batch *batch)
{
	struct evfut_waiter *w;

	ch->flags |= CLOSED;
	while ((w = evfut__waitlist_pop(&ch->senders)) != NULL) {
		evfut__state_set(
		        &evfut_container_of(w, struct evfut_mpsc_send, node)
		                 ->state,
		        WAIT_CLOSED);
		evfut__waitlist_push(&ch->woken, w);
	}
	while ((w = evfut__waitlist_pop(&ch->receivers)) != NULL) {
		evfut__state_set(
		        &evfut_container_of(w, struct evfut_mpsc_recv, node)
		                 ->state,
		        WAIT_CLOSED);
		evfut__waitlist_push(&ch->woken, w);
	}
	evfut__wake_batch_take(batch, &ch->woken);
}

int
evfut_mpsc_close(struct evfut_mpsc *ch)
{
	struct evfut__wake_batch batch;

	if (ch == NULL)
		return -EINVAL;
	lock(ch);
	close_locked(ch, &batch);
	unlock(ch);
	evfut__wake_batch_run(&batch);
	return 0;
}

int
evfut_mpsc_sender_add(struct evfut_mpsc *ch)
{
	int rc = 0;

	if (ch == NULL)
		return -EINVAL;
	lock(ch);
	if (ch->flags & CLOSED)
		rc = -EPIPE;
	else
		ch->tx_count++;
	unlock(ch);
	return rc;
}

int
evfut_mpsc_sender_drop(struct evfut_mpsc *ch)
{
	struct evfut__wake_batch batch = {.n = 0};
	int rc = 0;

	if (ch == NULL)
		return -EINVAL;
	lock(ch);
	if (ch->tx_count == 0)
		rc = -EINVAL;
	else if (--ch->tx_count == 0)
		close_locked(ch, &batch);
	unlock(ch);
	evfut__wake_batch_run(&batch);
	return rc;
}

int
evfut_mpsc_is_closed(struct evfut_mpsc *ch)
{
	int closed;

	if (ch == NULL)
		return -EINVAL;
	lock(ch);
	closed = (ch->flags & CLOSED) != 0;
	unlock(ch);
	return closed;
}

void
evfut_mpsc_finish(struct evfut_mpsc *ch)
{
	if (ch == NULL)
		return;
	evfut_mpsc_close(ch);
	/* Only this thread uses @ch from here on. */
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
	send->result = -EAGAIN;
	send->ch = ch;
	send->item = item;
	return 0;
}

/* Under the lock: whether @send completes now, with its result set. */
static bool
send_ready_locked(struct evfut_mpsc_send *send, struct evfut_waker *wake)
{
	struct evfut_mpsc *ch = send->ch;
	bool closed = (ch->flags & CLOSED) != 0;

	if (send->state == WAIT_WOKEN)
		ch->reserved--; /* the slot reserved for this send */
	else if (!closed &&
	         (send->state == WAIT_LINKED || !has_room_locked(ch)))
		return false;
	if (closed) {
		send->result = -EPIPE;
		return true;
	}
	ring_push(ch, send->item);
	*wake = wake_receive_locked(ch);
	send->result = 0;
	return true;
}

static enum evfut_poll
send_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_mpsc_send *send =
	        evfut_container_of(self, struct evfut_mpsc_send, base);
	struct evfut_mpsc *ch = send->ch;
	struct evfut_waker old = EVFUT_WAKER_EMPTY, wake = EVFUT_WAKER_EMPTY;
	enum evfut_poll poll = EVFUT_READY;

	if (evfut__state_is(&send->state, WAIT_DONE))
		return EVFUT_READY;
	if (!evfut_coop_proceed(cx))
		return EVFUT_PENDING;
	lock(ch);
	if (send_ready_locked(send, &wake)) {
		evfut__waiter_unlink(&send->node);
		evfut__state_set(&send->state, WAIT_DONE);
		old = evfut__waiter_take(&send->node);
	} else {
		if (send->state == WAIT_INIT) {
			evfut__waitlist_push(&ch->senders, &send->node);
			evfut__state_set(&send->state, WAIT_LINKED);
		}
		evfut__waiter_store(&send->node, cx->waker, &old);
		poll = EVFUT_PENDING;
	}
	unlock_and_wake(ch, &old, &wake);
	return poll;
}

static void
send_drop(struct evfut_future *self)
{
	struct evfut_mpsc_send *send =
	        evfut_container_of(self, struct evfut_mpsc_send, base);
	struct evfut_mpsc *ch = send->ch;
	struct evfut_waker old, pass = EVFUT_WAKER_EMPTY;

	if (ch == NULL || evfut__state_is(&send->state, WAIT_DONE))
		return;
	lock(ch);
	evfut__waiter_unlink(&send->node);
	if (send->state == WAIT_WOKEN) {
		/* The reserved slot goes to the next send in line. */
		ch->reserved--;
		pass = wake_send_locked(ch);
	}
	evfut__state_set(&send->state, WAIT_DONE);
	old = evfut__waiter_take(&send->node);
	unlock_and_wake(ch, &old, &pass);
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
	recv->result = -EAGAIN;
	recv->ch = ch;
	recv->out = out;
	return 0;
}

/* Under the lock: whether @recv completes now, with its result set. */
static bool
recv_ready_locked(struct evfut_mpsc_recv *recv, struct evfut_waker *wake)
{
	struct evfut_mpsc *ch = recv->ch;

	if (ch->len > 0) {
		ring_pop(ch, recv->out);
		*wake = wake_send_locked(ch);
		recv->result = 0;
		return true;
	}
	if (ch->flags & CLOSED) {
		recv->result = -EPIPE;
		return true;
	}
	return false;
}

static enum evfut_poll
recv_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_mpsc_recv *recv =
	        evfut_container_of(self, struct evfut_mpsc_recv, base);
	struct evfut_mpsc *ch = recv->ch;
	struct evfut_waker old = EVFUT_WAKER_EMPTY, wake = EVFUT_WAKER_EMPTY;
	enum evfut_poll poll = EVFUT_READY;

	if (evfut__state_is(&recv->state, WAIT_DONE))
		return EVFUT_READY;
	if (!evfut_coop_proceed(cx))
		return EVFUT_PENDING;
	lock(ch);
	if (recv_ready_locked(recv, &wake)) {
		evfut__waiter_unlink(&recv->node);
		evfut__state_set(&recv->state, WAIT_DONE);
		old = evfut__waiter_take(&recv->node);
	} else {
		/* New, or woken for an item another receive took. */
		if (recv->state != WAIT_LINKED) {
			evfut__waiter_unlink(&recv->node);
			evfut__waitlist_push(&ch->receivers, &recv->node);
			evfut__state_set(&recv->state, WAIT_LINKED);
		}
		evfut__waiter_store(&recv->node, cx->waker, &old);
		poll = EVFUT_PENDING;
	}
	unlock_and_wake(ch, &old, &wake);
	return poll;
}

static void
recv_drop(struct evfut_future *self)
{
	struct evfut_mpsc_recv *recv =
	        evfut_container_of(self, struct evfut_mpsc_recv, base);
	struct evfut_mpsc *ch = recv->ch;
	struct evfut_waker old, pass = EVFUT_WAKER_EMPTY;

	if (ch == NULL || evfut__state_is(&recv->state, WAIT_DONE))
		return;
	lock(ch);
	evfut__waiter_unlink(&recv->node);
	/* The wake for an item still there goes to the next receive. */
	if (recv->state == WAIT_WOKEN && ch->len > 0)
		pass = wake_receive_locked(ch);
	evfut__state_set(&recv->state, WAIT_DONE);
	old = evfut__waiter_take(&recv->node);
	unlock_and_wake(ch, &old, &pass);
}
