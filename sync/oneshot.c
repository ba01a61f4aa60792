/*
 * The oneshot channel: one value, from any thread, to one receiving future.
 *
 * The state word and the receiver's waker are guarded by the oneshot's
 * spin lock; the receiver's waker is moved out under the lock and woken
 * after it, so a receiver dropped on the runtime's thread right after a
 * send on another thread never has its memory touched by the sender.
 */
#include <errno.h>
#include <string.h>

#include "evfut/channel.h"
#include "evfut/handle.h"

#include "waitlist.h"

#define SENT       1u
#define TX_DROPPED 2u
#define RX_DROPPED 4u /* or a receiver completed */

static enum evfut_poll recv_poll(struct evfut_future *self,
                                 struct evfut_context *cx);
static void recv_drop(struct evfut_future *self);

void
evfut_oneshot_init(struct evfut_oneshot *oneshot)
{
	memset(oneshot, 0, sizeof(*oneshot));
}

void
evfut_oneshot_init_local(struct evfut_oneshot *oneshot)
{
	evfut_oneshot_init(oneshot);
	oneshot->local = 1;
}

static struct evfut_waker
take_waker(struct evfut_oneshot *oneshot)
{
	struct evfut_waker waker = oneshot->waker;

	oneshot->waker.data = NULL;
	oneshot->waker.vtable = NULL;
	return waker;
}

int
evfut_oneshot_send(struct evfut_oneshot *oneshot, void *value)
{
	struct evfut_waker waker;

	if (oneshot == NULL)
		return -EINVAL;
	evfut__lock(&oneshot->lock, oneshot->local);
	if (oneshot->state & (SENT | TX_DROPPED)) {
		evfut__unlock(&oneshot->lock, oneshot->local);
		return -EINVAL;
	}
	if (oneshot->state & RX_DROPPED) {
		evfut__unlock(&oneshot->lock, oneshot->local);
		return -EPIPE;
	}
	oneshot->value = value;
	oneshot->state |= SENT;
	waker = take_waker(oneshot);
	evfut__unlock(&oneshot->lock, oneshot->local);
	evfut_waker_wake(&waker);
	return 0;
}

int
evfut_oneshot_drop_sender(struct evfut_oneshot *oneshot)
{
	struct evfut_waker waker = EVFUT_WAKER_EMPTY;

	if (oneshot == NULL)
		return -EINVAL;
	evfut__lock(&oneshot->lock, oneshot->local);
	if (!(oneshot->state & (SENT | TX_DROPPED))) {
		oneshot->state |= TX_DROPPED;
		waker = take_waker(oneshot);
	}
	evfut__unlock(&oneshot->lock, oneshot->local);
	evfut_waker_wake(&waker);
	return 0;
}

void *
evfut_oneshot_finish(struct evfut_oneshot *oneshot)
{
	struct evfut_waker waker;
	void *value = NULL;

	if (oneshot == NULL)
		return NULL;
	evfut__lock(&oneshot->lock, oneshot->local);
	if ((oneshot->state & SENT) && oneshot->value != NULL) {
		value = oneshot->value;
		oneshot->value = NULL;
	}
	oneshot->state |= TX_DROPPED | RX_DROPPED;
	waker = take_waker(oneshot);
	evfut__unlock(&oneshot->lock, oneshot->local);
	evfut_waker_drop(&waker);
	return value;
}

int
evfut_oneshot_recv_init(struct evfut_oneshot_recv *recv,
                        struct evfut_oneshot *oneshot)
{
	if (recv == NULL || oneshot == NULL)
		return -EINVAL;
	memset(recv, 0, sizeof(*recv));
	recv->base.poll = recv_poll;
	recv->base.drop = recv_drop;
	recv->oneshot = oneshot;
	return 0;
}

/* Under the lock: whether @recv completes now, with its result set. */
static bool
recv_ready_locked(struct evfut_oneshot_recv *recv)
{
	struct evfut_oneshot *oneshot = recv->oneshot;

	if (oneshot->state & RX_DROPPED) {
		recv->result = -EPIPE;
	} else if (oneshot->state & SENT) {
		recv->value = oneshot->value;
		oneshot->value = NULL;
		recv->result = 0;
	} else if (oneshot->state & TX_DROPPED) {
		recv->result = -EPIPE;
	} else {
		return false;
	}
	oneshot->state |= RX_DROPPED;
	return true;
}

static enum evfut_poll
recv_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_oneshot_recv *recv =
	        evfut_container_of(self, struct evfut_oneshot_recv, base);
	struct evfut_oneshot *oneshot = recv->oneshot;
	struct evfut_waker old = EVFUT_WAKER_EMPTY;
	enum evfut_poll poll = EVFUT_PENDING;

	if (recv->done)
		return EVFUT_READY;
	if (!evfut_coop_proceed(cx))
		return EVFUT_PENDING;
	evfut__lock(&oneshot->lock, oneshot->local);
	if (recv_ready_locked(recv)) {
		recv->done = 1;
		old = take_waker(oneshot);
		poll = EVFUT_READY;
	} else if (!evfut_waker_will_wake(&oneshot->waker, cx->waker)) {
		old = oneshot->waker;
		oneshot->waker = evfut_waker_clone(cx->waker);
	}
	evfut__unlock(&oneshot->lock, oneshot->local);
	evfut_waker_drop(&old);
	return poll;
}

static void
recv_drop(struct evfut_future *self)
{
	struct evfut_oneshot_recv *recv =
	        evfut_container_of(self, struct evfut_oneshot_recv, base);
	struct evfut_oneshot *oneshot = recv->oneshot;
	struct evfut_waker old;

	if (oneshot == NULL || recv->done)
		return;
	recv->done = 1;
	evfut__lock(&oneshot->lock, oneshot->local);
	oneshot->state |= RX_DROPPED;
	old = take_waker(oneshot);
	evfut__unlock(&oneshot->lock, oneshot->local);
	evfut_waker_drop(&old);
}
