/*
 * evfut/channel.h: a oneshot channel and a bounded multi-producer,
 * single-consumer channel.
 *
 * Both are structs the caller embeds; once initialised they allocate
 * nothing per message: a waiting send or receive is a node embedded in its
 * own future, linked into the channel's FIFO of waiters, and dropping the
 * future unlinks it. The channel must outlive every future that refers to
 * it.
 *
 * Threads: every oneshot call may be made from any thread (a worker thread
 * answers a request, say). So may every call on an mpsc channel made with
 * evfut_mpsc_init(): senders on blocking-pool threads, user threads or
 * other runtimes, the receiver on its runtime. A channel made with
 * evfut_mpsc_init_local() takes no lock: all its calls and the polls of
 * its futures on one thread (its runtime's).
 *
 * No future is completed by the other side: a send or a close reserves
 * (an item in the ring, a free slot, the end) and wakes, and the woken
 * future's own poll takes or gives. Dropping a send, a receive or a
 * oneshot receiver at any point (a select that another branch won, a
 * timeout, an abort, a shutdown) loses no item and duplicates none; its
 * result field then says whether it completed.
 */
#ifndef EVFUT_CHANNEL_H
#define EVFUT_CHANNEL_H

#include <stddef.h>

#include "common.h"
#include "future.h"
#include "sync.h"
#include "waker.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A oneshot channel: one value (a pointer, whose ownership travels with
 * it) from one sender to one receiver. The receiver is an
 * evfut_oneshot_recv future. Dropping the sender
 * (evfut_oneshot_drop_sender()) before sending completes the receiver with
 * -EPIPE; dropping the receiver before it completed makes a later send fail
 * with -EPIPE. Zero-initialise it or use evfut_oneshot_init().
 */
struct evfut_oneshot {
	/* private */
	unsigned lock;
	unsigned local; /* evfut_oneshot_init_local(): no lock */
	unsigned state;
	void *value;
	struct evfut_waker waker; /* the receiver's */
};

/**
 * Initialises @p oneshot: nothing sent, both ends open; usable from any
 * thread. Any thread (it is not in use yet).
 */
EVFUT_API void evfut_oneshot_init(struct evfut_oneshot *oneshot);

/**
 * Initialises @p oneshot as evfut_oneshot_init() does, for use on one
 * thread only (the tasks of one runtime): send, drop_sender, finish and
 * the receiver's init, polls and drop, all on that thread. It then takes
 * no lock. Any thread (it is not in use yet).
 */
EVFUT_API void evfut_oneshot_init_local(struct evfut_oneshot *oneshot);

/**
 * Sends @p value (ownership transferred to the receiver on success) and
 * wakes the receiver.
 *
 * @return 0; -EPIPE if the receiver was dropped (ownership of @p value
 * stays with the caller); -EINVAL if @p oneshot is NULL, or the sender
 * already sent or was dropped. Any thread.
 */
EVFUT_API int evfut_oneshot_send(struct evfut_oneshot *oneshot, void *value);

/**
 * Drops the sending end: if nothing was sent, the receiver completes with
 * -EPIPE. Dropping after a send, or twice, does nothing.
 *
 * @return 0; -EINVAL if @p oneshot is NULL. Any thread.
 */
EVFUT_API int evfut_oneshot_drop_sender(struct evfut_oneshot *oneshot);

/**
 * Releases @p oneshot once both ends are done with it, and hands back a
 * value that was sent but never received (its receiver was dropped after
 * the send).
 *
 * @return the unreceived value, ownership transferred to the caller; NULL
 * if there is none, or @p oneshot is NULL. Any thread, once no other
 * thread uses @p oneshot.
 */
EVFUT_API void *evfut_oneshot_finish(struct evfut_oneshot *oneshot);

/**
 * The receiving end of a oneshot, as a future. Completes with the value, or
 * with -EPIPE when the sender was dropped without sending. Dropping it
 * before it completed closes the receiving end.
 */
struct evfut_oneshot_recv {
	/* public */
	struct evfut_future base; /**< Poll and drop through this. */
	/* read-only */
	int result;  /**< 0: @p value was received; -EPIPE: no value. */
	void *value; /**< The value, owned by the caller, once result is 0. */
	/* private */
	struct evfut_oneshot *oneshot;
	unsigned done;
};

/**
 * Initialises @p recv as the receiver of @p oneshot (retained until @p recv
 * completes or is dropped). A oneshot has one receiver: a second one
 * completes with -EPIPE once the first completed or was dropped.
 *
 * @return 0; -EINVAL if an argument is NULL. Any thread.
 */
EVFUT_API int evfut_oneshot_recv_init(struct evfut_oneshot_recv *recv,
                                      struct evfut_oneshot *oneshot);

/**
 * A bounded channel of fixed-size items, first in first out, with
 * backpressure: a send waits while the channel is full, a receive while it
 * is empty. Items are copied in and out (memcpy of the item size). Waiting
 * sends are served in the order they started waiting: a receive that frees
 * a slot reserves it for the longest-waiting send and wakes it.
 *
 * Senders are counted: the channel starts with one, evfut_mpsc_sender_add()
 * adds one per producer, and evfut_mpsc_sender_drop() of the last one
 * closes the channel, so the receiver sees the end (-EPIPE) once the items
 * left are received. Closing (evfut_mpsc_close(), from either side) wakes
 * every waiting send and receive: sends complete with -EPIPE; the items
 * already in the channel can still be received, then receives complete
 * with -EPIPE.
 */
struct evfut_mpsc {
	/* private */
	unsigned lock;
	unsigned local; /* evfut_mpsc_init_local(): no lock */
	unsigned flags;
	unsigned char *buffer;
	size_t item_size;
	size_t capacity;
	size_t head;     /* index of the oldest item */
	size_t len;      /* items in the ring */
	size_t reserved; /* free slots reserved for woken sends */
	size_t tx_count; /* senders not dropped */
	struct evfut_waitlist senders;
	struct evfut_waitlist receivers;
	struct evfut_waitlist woken; /* closed, still to wake */
};

/**
 * Initialises @p ch for @p capacity items of @p item_size bytes.
 *
 * @param ch the channel, retained until evfut_mpsc_finish().
 * @param capacity the most items it holds before senders wait.
 * @param item_size the size of one item, copied in and out.
 * @param buffer caller-given storage of @p capacity * @p item_size bytes,
 * retained until evfut_mpsc_finish(); or NULL to have it allocated here,
 * once.
 * @return 0; -EINVAL if @p ch is NULL, @p capacity or @p item_size is 0 or
 * their product overflows; -ENOMEM if @p buffer is NULL and the buffer
 * could not be allocated (@p ch is then not initialised). Any thread (the
 * channel is not in use yet); the channel is then usable from any thread,
 * with one sender counted.
 */
EVFUT_API int evfut_mpsc_init(struct evfut_mpsc *ch, size_t capacity,
                              size_t item_size, void *buffer);

/**
 * As evfut_mpsc_init(), for a channel whose every call and every poll of
 * whose futures happen on one thread (the tasks of one runtime): it takes
 * no lock. Pick it when producers and consumer are tasks of the same
 * runtime; pick evfut_mpsc_init() as soon as one producer is elsewhere.
 *
 * @return as evfut_mpsc_init(). Any thread (the channel is not in use
 * yet).
 */
EVFUT_API int evfut_mpsc_init_local(struct evfut_mpsc *ch, size_t capacity,
                                    size_t item_size, void *buffer);

/**
 * Counts one more sender of @p ch (a producer thread or task about to
 * start), to be matched by evfut_mpsc_sender_drop().
 *
 * @return 0; -EPIPE if @p ch is closed (the sender is not counted);
 * -EINVAL if @p ch is NULL. The channel's threads.
 */
EVFUT_API int evfut_mpsc_sender_add(struct evfut_mpsc *ch);

/**
 * Drops one sender of @p ch; dropping the last one closes @p ch (see
 * evfut_mpsc_close()), so that the receiver completes with -EPIPE once the
 * items left are received.
 *
 * @return 0; -EINVAL if @p ch is NULL or every sender was dropped already.
 * The channel's threads.
 */
EVFUT_API int evfut_mpsc_sender_drop(struct evfut_mpsc *ch);

/**
 * Whether @p ch is closed (by evfut_mpsc_close(), or by the drop of its
 * last sender).
 *
 * @return 1 if closed, 0 if open; -EINVAL if @p ch is NULL. The channel's
 * threads.
 */
EVFUT_API int evfut_mpsc_is_closed(struct evfut_mpsc *ch);

/**
 * Closes @p ch (if open), then frees the buffer if evfut_mpsc_init()
 * allocated it. No future may refer to @p ch any more: complete or drop
 * them first. NULL is allowed. Any thread, once no other uses @p ch.
 */
EVFUT_API void evfut_mpsc_finish(struct evfut_mpsc *ch);

/**
 * Closes @p ch: every waiting send and receive is woken; sends, waiting or
 * later, complete with -EPIPE; receives get the items left, then -EPIPE.
 * Closing twice does nothing.
 *
 * @return 0; -EINVAL if @p ch is NULL. The channel's threads.
 */
EVFUT_API int evfut_mpsc_close(struct evfut_mpsc *ch);

/**
 * Sends a copy of @p item (borrowed for the call) if there is room and no
 * send is waiting, waking a waiting receive.
 *
 * @return 0; -EAGAIN if the channel is full; -EPIPE if it is closed;
 * -EINVAL if an argument is NULL. The channel's threads.
 */
EVFUT_API int evfut_mpsc_try_send(struct evfut_mpsc *ch, const void *item);

/**
 * Receives the oldest item into @p out, if there is one, and wakes the
 * longest-waiting send for the slot it freed.
 *
 * @return 0; -EAGAIN if the channel is empty; -EPIPE if it is empty and
 * closed; -EINVAL if an argument is NULL. The channel's threads.
 */
EVFUT_API int evfut_mpsc_try_recv(struct evfut_mpsc *ch, void *out);

/** The number of items in @p ch (0 for NULL). The channel's threads. */
EVFUT_API size_t evfut_mpsc_len(const struct evfut_mpsc *ch);

/**
 * A future that sends one item, waiting for room. Its poll puts the item
 * in the channel and completes with 0, or completes with -EPIPE if the
 * channel is closed. Dropping it before it completed withdraws the item:
 * it was not sent, and a slot reserved for it goes to the next send.
 * Spends one unit of the task's cooperative budget per poll.
 */
struct evfut_mpsc_send {
	/* public */
	struct evfut_future base; /**< Poll and drop through this. */
	/* read-only */
	/** 0: sent; -EPIPE: the channel was closed; -EAGAIN: not completed
	 * (still pending, or dropped before: the item was not sent). */
	int result;
	/* private */
	struct evfut_mpsc *ch;
	const void *item;
	struct evfut_waiter node;
	unsigned state;
};

/**
 * Initialises @p send to send a copy of @p item on @p ch. Both are
 * retained until @p send completes or is dropped: @p item is read by the
 * poll that sends it, not at init.
 *
 * @return 0; -EINVAL if an argument is NULL. The channel's threads.
 */
EVFUT_API int evfut_mpsc_send_init(struct evfut_mpsc_send *send,
                                   struct evfut_mpsc *ch, const void *item);

/**
 * A future that receives one item, waiting while the channel is empty. Its
 * poll copies the oldest item out and completes with 0, or completes with
 * -EPIPE once the channel is closed and empty. Dropping it before it
 * completed takes nothing: the item it was woken for stays in the channel
 * for the next receive. Spends one unit of the task's cooperative budget
 * per poll.
 */
struct evfut_mpsc_recv {
	/* public */
	struct evfut_future base; /**< Poll and drop through this. */
	/* read-only */
	/** 0: the item is in *out; -EPIPE: closed and empty; -EAGAIN: not
	 * completed (still pending, or dropped before: nothing taken). */
	int result;
	/* private */
	struct evfut_mpsc *ch;
	void *out;
	struct evfut_waiter node;
	unsigned state;
};

/**
 * Initialises @p recv to receive one item of @p ch into @p out (item_size
 * bytes). Both are retained until @p recv completes or is dropped.
 *
 * @return 0; -EINVAL if an argument is NULL. The channel's threads.
 */
EVFUT_API int evfut_mpsc_recv_init(struct evfut_mpsc_recv *recv,
                                   struct evfut_mpsc *ch, void *out);

#ifdef __cplusplus
}
#endif

#endif /* EVFUT_CHANNEL_H */
