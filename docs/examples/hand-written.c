/*
 * hand-written: a future written by hand, and a waker kind of our own that
 * polls it with no executor at all.
 *
 * Run: ./build/docs/examples/hand-written   (or: meson test -C build --suite
 * docs)
 *
 * The future receives one value from a one-shot slot. Its poll keeps the
 * latest waker in the slot; the sender wakes it. main() plays the executor:
 * it builds wakers of a "counting" kind and checks what the future did with
 * them. Exits 0 when every check holds.
 */
#include <stdbool.h>
#include <stdio.h>

#include <evfut.h>

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
			        __LINE__, #cond);                              \
			return 1;                                              \
		}                                                              \
	} while (0)

/* [oneshot-future] */
/* A one-shot slot: one sender, one receiving future, one thread. */
struct oneshot {
	bool sent;
	int value;
	struct evfut_waker waker; /* the receiver's latest waker */
};

struct recv_future {
	struct evfut_future base;
	struct oneshot *slot; /* borrowed */
	int value;            /* the result, once ready */
};

static enum evfut_poll
recv_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct recv_future *f =
	        evfut_container_of(self, struct recv_future, base);

	if (f->slot->sent) {
		f->value = f->slot->value;
		return EVFUT_READY;
	}
	/* The waker of this poll, not of the first: the future may move. */
	evfut_waker_store(&f->slot->waker, cx->waker);
	return EVFUT_PENDING;
}

static void
recv_drop(struct evfut_future *self)
{
	struct recv_future *f =
	        evfut_container_of(self, struct recv_future, base);

	/* Cancelled or done: nobody is to be woken for this future. */
	evfut_waker_drop(&f->slot->waker);
}

static void
recv_future_init(struct recv_future *f, struct oneshot *slot)
{
	struct recv_future init = {
	        .base = EVFUT_FUTURE_INIT(recv_poll, recv_drop),
	        .slot = slot,
	};

	*f = init;
}

static void
oneshot_send(struct oneshot *slot, int value)
{
	slot->value = value;
	slot->sent = true;
	/* Wake consumes the stored waker: the slot is empty afterwards. */
	evfut_waker_wake(&slot->waker);
}
/* [oneshot-future] */

/* [counting-waker] */
/* A waker kind for one thread: data points to a pair of counters. */
struct counter {
	unsigned refs;  /* owned wakers alive */
	unsigned wakes; /* wake and wake_by_ref calls */
};

static struct evfut_waker counting_clone(const void *data);
static void counting_wake(const void *data);
static void counting_wake_by_ref(const void *data);
static void counting_drop(const void *data);

/* One static const vtable per kind, so that will_wake sees equal wakers. */
static const struct evfut_waker_vtable counting_vtable = {
        .clone = counting_clone,
        .wake = counting_wake,
        .wake_by_ref = counting_wake_by_ref,
        .drop = counting_drop,
};

/* Returns a new owned waker for @c. */
static struct evfut_waker
counting_waker(struct counter *c)
{
	struct evfut_waker waker = {.data = c, .vtable = &counting_vtable};

	c->refs++;
	return waker;
}

static struct evfut_waker
counting_clone(const void *data)
{
	return counting_waker((struct counter *)data);
}

static void
counting_wake_by_ref(const void *data)
{
	struct counter *c = (struct counter *)data;

	c->wakes++;
}

static void
counting_drop(const void *data)
{
	struct counter *c = (struct counter *)data;

	c->refs--;
}

static void
counting_wake(const void *data)
{
	counting_wake_by_ref(data);
	counting_drop(data);
}
/* [counting-waker] */

/* [poll-by-hand] */
static int
poll_by_hand(void)
{
	struct counter a = {0, 0};
	struct evfut_waker waker = counting_waker(&a);
	struct evfut_context cx = {.waker = &waker, .runtime = NULL};
	struct oneshot slot = {.waker = EVFUT_WAKER_EMPTY};
	struct recv_future f;

	recv_future_init(&f, &slot);
	CHECK(evfut_future_poll(&f.base, &cx) == EVFUT_PENDING);
	CHECK(a.refs == 2); /* ours, and the clone the slot keeps */
	CHECK(evfut_future_poll(&f.base, &cx) == EVFUT_PENDING);
	CHECK(a.refs == 2); /* the same waker: will_wake skipped the clone */
	oneshot_send(&slot, 42);
	CHECK(a.wakes == 1 && a.refs == 1);
	CHECK(evfut_future_poll(&f.base, &cx) == EVFUT_READY);
	CHECK(f.value == 42);
	evfut_future_drop(&f.base);
	evfut_waker_drop(&waker);
	CHECK(a.refs == 0 && evfut_waker_is_empty(&waker));
	return 0;
}
/* [poll-by-hand] */

/* [latest-waker] */
static int
latest_waker(void)
{
	struct counter a = {0, 0}, b = {0, 0};
	struct evfut_waker wa = counting_waker(&a), wb = counting_waker(&b);
	struct evfut_context cx = {.waker = &wa, .runtime = NULL};
	struct oneshot slot = {.waker = EVFUT_WAKER_EMPTY};
	struct recv_future f;

	recv_future_init(&f, &slot);
	CHECK(evfut_future_poll(&f.base, &cx) == EVFUT_PENDING);
	/* The future moved to another task: the next poll brings b. */
	cx.waker = &wb;
	CHECK(evfut_future_poll(&f.base, &cx) == EVFUT_PENDING);
	CHECK(a.refs == 1 && b.refs == 2); /* a's clone was dropped */
	oneshot_send(&slot, 7);
	CHECK(a.wakes == 0 && b.wakes == 1);
	CHECK(evfut_future_poll(&f.base, &cx) == EVFUT_READY);
	evfut_future_drop(&f.base);
	evfut_waker_drop(&wa);
	evfut_waker_drop(&wb);
	CHECK(a.refs == 0 && b.refs == 0);
	return 0;
}
/* [latest-waker] */

/* [cancel-by-drop] */
static int
cancel_by_drop(void)
{
	struct counter a = {0, 0};
	struct evfut_waker waker = counting_waker(&a);
	struct evfut_context cx = {.waker = &waker, .runtime = NULL};
	struct oneshot slot = {.waker = EVFUT_WAKER_EMPTY};
	struct recv_future f;

	recv_future_init(&f, &slot);
	CHECK(evfut_future_poll(&f.base, &cx) == EVFUT_PENDING);
	evfut_future_drop(&f.base); /* cancel: the stored clone goes */
	CHECK(a.refs == 1);
	oneshot_send(&slot, 1); /* the slot is empty: nobody is woken */
	CHECK(a.wakes == 0);
	evfut_waker_drop(&waker);
	return 0;
}
/* [cancel-by-drop] */

/* [empty-and-noop] */
static int
empty_and_noop(void)
{
	struct evfut_waker empty = EVFUT_WAKER_EMPTY;
	struct evfut_waker noop = evfut_waker_noop();
	struct evfut_waker copy = evfut_waker_clone(&noop);
	struct evfut_waker none = evfut_waker_clone(&empty);

	CHECK(evfut_waker_is_empty(&none)); /* cloning empty gives empty */
	CHECK(evfut_waker_will_wake(&noop, &copy));
	CHECK(!evfut_waker_will_wake(&noop, &empty));
	evfut_waker_wake_by_ref(&noop); /* does nothing */
	evfut_waker_wake(&copy);        /* does nothing, consumes copy */
	CHECK(evfut_waker_is_empty(&copy));
	evfut_waker_drop(&empty); /* dropping the empty waker is fine */
	evfut_waker_drop(&noop);
	return 0;
}
/* [empty-and-noop] */

int
main(void)
{
	if (poll_by_hand() != 0 || latest_waker() != 0 ||
	    cancel_by_drop() != 0 || empty_and_noop() != 0)
		return 1;
	puts("hand-written: ok");
	return 0;
}
