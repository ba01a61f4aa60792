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
 * answers a request, say). The mpsc channel is for the tasks of one
 * runtime: all its calls and the polls of its futures on that runtime's
 * thread (or, with no runtime, on one thread at a time).
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
	unsigned state;
	void *value;
	struct evfut_waker waker; /* the receiver's */
};

/** Initialises @p oneshot: nothing sent, both ends open. Any thread. */
EVFUT_API void evfut_oneshot_init(struct evfut_oneshot *oneshot);

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
 * sends are served in the order they started waiting, and a receive that
 * frees a slot moves the longest-waiting send's item in at once.
 *
 * Closing (evfut_mpsc_close(), from either side) completes every waiting
 * send and receive with -EPIPE; the items already in the channel can still
 * be received, then receives complete with -EPIPE.
 */
struct evfut_mpsc {
	/* private */
	unsigned char *buffer;
	size_t item_size;
	size_t capacity;
	size_t head; /* index of the oldest item */
	size_t len;
	unsigned flags;
	struct evfut_waitlist senders;
	struct evfut_waitlist receivers;
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
 * channel is not in use yet).
 */
EVFUT_API int evfut_mpsc_init(struct evfut_mpsc *ch, size_t capacity,
                              size_t item_size, void *buffer);

/**
 * Closes @p ch (if open), then frees the buffer if evfut_mpsc_init()
 * allocated it. Futures still waiting complete with -EPIPE and no longer
 * refer to @p ch. NULL is allowed. The channel's thread.
 */
EVFUT_API void evfut_mpsc_finish(struct evfut_mpsc *ch);

/**
 * Closes @p ch: every waiting send and receive completes with -EPIPE (their
 * tasks are woken), and every later send fails with -EPIPE; receives get
 * the items left, then -EPIPE. Closing twice does nothing.
 *
 * @return 0; -EINVAL if @p ch is NULL. The channel's thread.
 */
EVFUT_API int evfut_mpsc_close(struct evfut_mpsc *ch);

/**
 * Sends a copy of @p item (borrowed for the call) if there is room and no
 * send is waiting, waking a waiting receive.
 *
 * @return 0; -EAGAIN if the channel is full; -EPIPE if it is closed;
 * -EINVAL if an argument is NULL. The channel's thread.
 */
EVFUT_API int evfut_mpsc_try_send(struct evfut_mpsc *ch, const void *item);

/**
 * Receives the oldest item into @p out, if there is one.
 *
 * @return 0; -EAGAIN if the channel is empty; -EPIPE if it is empty and
 * closed; -EINVAL if an argument is NULL. The channel's thread.
 */
EVFUT_API int evfut_mpsc_try_recv(struct evfut_mpsc *ch, void *out);

/** The number of items in @p ch (0 for NULL). The channel's thread. */
EVFUT_API size_t evfut_mpsc_len(const struct evfut_mpsc *ch);

/**
 * A future that sends one item, waiting for room. Completes with 0 once the
 * item is in the channel (or handed to a receive), or with -EPIPE if the
 * channel is closed first. Dropping it while it waits withdraws the item.
 */
struct evfut_mpsc_send {
	/* public */
	struct evfut_future base; /**< Poll and drop through this. */
	/* read-only */
	int result; /**< 0: sent; -EPIPE: the channel was closed. */
	/* private */
	struct evfut_mpsc *ch;
	const void *item;
	struct evfut_waiter node;
	unsigned state;
};

/**
 * Initialises @p send to send a copy of @p item on @p ch. Both are
 * retained until @p send completes or is dropped: @p item is read when the
 * channel takes it, not at init.
 *
 * @return 0; -EINVAL if an argument is NULL. The channel's thread.
 */
EVFUT_API int evfut_mpsc_send_init(struct evfut_mpsc_send *send,
                                   struct evfut_mpsc *ch, const void *item);

/**
 * A future that receives one item, waiting while the channel is empty.
 * Completes with 0 and the item copied out, or with -EPIPE once the channel
 * is closed and empty. Dropping it while it waits leaves the line; no item
 * is lost.
 */
struct evfut_mpsc_recv {
	/* public */
	struct evfut_future base; /**< Poll and drop through this. */
	/* read-only */
	int result; /**< 0: the item is in *out; -EPIPE: closed and empty. */
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
 * @return 0; -EINVAL if an argument is NULL. The channel's thread.
 */
EVFUT_API int evfut_mpsc_recv_init(struct evfut_mpsc_recv *recv,
                                   struct evfut_mpsc *ch, void *out);

#ifdef __cplusplus
}
#endif

#endif /* EVFUT_CHANNEL_H */
