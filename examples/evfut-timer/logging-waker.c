/*
 * A logging waker: the RawWaker model in action. It is a waker of its own
 * kind, with its own static const vtable, around the task's real waker.
 * Like Rust's Arc-based wakers, its data is a counted reference: clone
 * bumps the count and allocates nothing, wake and drop release one
 * reference, and the last release drops the wrapped task waker. Every
 * vtable call logs a line with a timestamp, then forwards: wake_by_ref to
 * the task waker's wake_by_ref (the task waker is shared by all the
 * references, so no single one may consume it), wake to a clone of it.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "evfut-timer.h"

struct logging_waker {
	atomic_uint refs;
	struct evfut_waker inner; /* an owned clone of the task's waker */
};

static struct evfut_waker logging_clone(const void *data);
static void logging_wake(const void *data);
static void logging_wake_by_ref(const void *data);
static void logging_drop(const void *data);

/* One vtable for the kind, so that will_wake compares correctly. */
static const struct evfut_waker_vtable logging_vtable = {
        logging_clone,
        logging_wake,
        logging_wake_by_ref,
        logging_drop,
};

static struct logging_waker *
from_data(const void *data)
{
	return (struct logging_waker *)(uintptr_t)data;
}

/* Releases one reference; returns the count left. */
static unsigned
release(struct logging_waker *lw)
{
	unsigned left = atomic_fetch_sub(&lw->refs, 1) - 1;

	if (left == 0) {
		evfut_waker_drop(&lw->inner);
		free(lw);
	}
	return left;
}

static struct evfut_waker
logging_clone(const void *data)
{
	struct logging_waker *lw = from_data(data);
	struct evfut_waker waker = {data, &logging_vtable};
	unsigned refs = atomic_fetch_add(&lw->refs, 1) + 1;

	et_log("waker", "clone: refs %u (a counted reference: no allocation)",
	       refs);
	return waker;
}

/*
 * The woken task may run at once on another thread and drop its own
 * reference: this one is released first, and the task woken through a
 * clone of its waker, so that the count is exact in every line and no
 * reference is touched after it went.
 */
static void
logging_wake(const void *data)
{
	struct logging_waker *lw = from_data(data);
	struct evfut_waker task = evfut_waker_clone(&lw->inner);
	unsigned left = release(lw);

	et_log("waker",
	       "wake: consumes this reference (refs %u after), "
	       "then wakes the task's waker",
	       left);
	if (left == 0)
		et_log("waker", "that was the last reference: "
		                "the task's waker is dropped");
	evfut_waker_wake(&task);
}

static void
logging_wake_by_ref(const void *data)
{
	struct logging_waker *lw = from_data(data);

	et_log("waker", "wake_by_ref: refs %u, forwards to the task's waker",
	       atomic_load(&lw->refs));
	evfut_waker_wake_by_ref(&lw->inner);
}

static void
logging_drop(const void *data)
{
	unsigned left = release(from_data(data));

	et_log("waker", "drop: refs %u%s", left,
	       left == 0 ? ", the last: drops the task's waker it wraps" : "");
}

int
et_logging_waker_create(const struct evfut_waker *inner,
                        struct evfut_waker *out)
{
	struct logging_waker *lw = malloc(sizeof(*lw));

	if (lw == NULL)
		return -ENOMEM;
	atomic_init(&lw->refs, 1);
	lw->inner = evfut_waker_clone(inner);
	out->data = lw;
	out->vtable = &logging_vtable;
	et_log("waker", "created: wraps a clone of the task's waker (refs 1)");
	return 0;
}

bool
et_logging_waker_wraps(const struct evfut_waker *logging,
                       const struct evfut_waker *inner)
{
	return logging->vtable == &logging_vtable &&
	       evfut_waker_will_wake(&from_data(logging->data)->inner, inner);
}
