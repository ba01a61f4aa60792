/*
 * evfut/async.h: stackless async/await for C, as protothread-style macros.
 *
 * A future's poll function becomes a function that reads top to bottom,
 * like the `async fn` it mirrors:
 *
 *     EVFUT_ASYNC_BEGIN(f->resume);
 *     for (f->i = 0; f->i < 3; f->i++) {
 *             evfut_sleep_init(&f->sleep, EVFUT_MSEC);
 *             EVFUT_AWAIT(&f->sleep.base, cx);
 *     }
 *     EVFUT_ASYNC_END();
 *
 * The macros are Duff's device on an `unsigned` resume point that lives in
 * the future's struct: EVFUT_AWAIT() records its line, returns
 * EVFUT_PENDING when the awaited future is pending, and the next poll jumps
 * straight back to that line through a `switch`. Since the function returns
 * between polls, its locals do not survive an await: every variable used
 * across an await lives in the struct. See docs/async.md for the rules.
 *
 * Mistakes the compiler catches: a BEGIN without an END (or the reverse)
 * leaves a brace unbalanced; an AWAIT, YIELD or RETURN outside BEGIN/END
 * names the undeclared variable evfut__resume (and a `case` outside a
 * `switch`); two awaits on one line repeat a case label. What it cannot
 * catch: an await inside a `switch` statement of the body (its case label
 * lands in the inner switch) and locals kept across an await.
 *
 * Only standard C11: the macros use nothing but `switch` and `__LINE__`.
 */
#ifndef EVFUT_ASYNC_H
#define EVFUT_ASYNC_H

#include <assert.h>
#include <limits.h>

#include "common.h"
#include "future.h"
#include "waker.h"

/* Marks a deliberate fall-through into a case label, for
 * -Wimplicit-fallthrough, where the compiler has the attribute. */
#if defined(__has_attribute)
#if __has_attribute(fallthrough)
#define EVFUT__FALLTHROUGH __attribute__((fallthrough))
#endif
#endif
#ifndef EVFUT__FALLTHROUGH
#define EVFUT__FALLTHROUGH ((void)0)
#endif

/**
 * The resume point of a body that has finished: it was never a line number,
 * and polling the body again returns EVFUT_READY at once.
 */
#define EVFUT_ASYNC_DONE UINT_MAX

/**
 * The resume point of a body that found a resume point it does not know:
 * an await inside a `switch` of the body, or a corrupted struct. Polling
 * such a body again returns EVFUT_READY at once; a debug build asserts.
 */
#define EVFUT_ASYNC_LOST (UINT_MAX - 1u)

/**
 * Whether the body whose resume point is @p resume has run to its end (or
 * to an EVFUT_ASYNC_RETURN()).
 */
#define EVFUT_ASYNC_IS_DONE(resume) ((resume) == EVFUT_ASYNC_DONE)

/**
 * Opens an async body. @p resume is an `unsigned` lvalue in the future's
 * struct, zero before the first poll (a zero-initialised struct starts at
 * the top). Must be closed by EVFUT_ASYNC_END() in the same function, at
 * the same block level.
 */
#define EVFUT_ASYNC_BEGIN(resume)                                              \
	{                                                                      \
		unsigned *const evfut__resume = &(resume);                     \
		switch (*evfut__resume) {                                      \
		case 0:

/**
 * Awaits @p future (a `struct evfut_future *`) with the context @p cx:
 * polls it, and if it is pending records this line and returns
 * EVFUT_PENDING from the poll function; the next poll resumes here and
 * polls @p future again. Once it is ready, execution continues below with
 * its result in its own fields. @p future is polled, never dropped: drop
 * it (or re-initialise it) yourself. One await per line.
 */
#define EVFUT_AWAIT(future, cx)                                                \
	do {                                                                   \
		*evfut__resume = __LINE__;                                     \
		EVFUT__FALLTHROUGH;                                            \
	case __LINE__:                                                         \
		if (evfut_future_poll((future), (cx)) == EVFUT_PENDING)        \
			return EVFUT_PENDING;                                  \
	} while (0)

/**
 * Yields to the executor once: wakes the task through @p cx and returns
 * EVFUT_PENDING; the next poll continues below. Lets other tasks and I/O
 * run during a long computation. One yield per line.
 */
#define EVFUT_YIELD(cx)                                                        \
	do {                                                                   \
		*evfut__resume = __LINE__;                                     \
		evfut_waker_wake_by_ref((cx)->waker);                          \
		return EVFUT_PENDING;                                          \
	case __LINE__:;                                                        \
	} while (0)

/**
 * Waits until @p cond is true, re-evaluated at each poll: returns
 * EVFUT_PENDING while it is false. Whoever makes @p cond true must wake
 * the task (the body stores the waker from @p cx where that code finds
 * it before this line). One wait per line.
 */
#define EVFUT_WAIT_UNTIL(cond)                                                 \
	do {                                                                   \
		*evfut__resume = __LINE__;                                     \
		EVFUT__FALLTHROUGH;                                            \
	case __LINE__:                                                         \
		if (!(cond))                                                   \
			return EVFUT_PENDING;                                  \
	} while (0)

/**
 * Finishes the body early: marks it done and returns EVFUT_READY. Set the
 * result fields first.
 */
#define EVFUT_ASYNC_RETURN()                                                   \
	do {                                                                   \
		*evfut__resume = EVFUT_ASYNC_DONE;                             \
		return EVFUT_READY;                                            \
	} while (0)

/**
 * Closes the body opened by EVFUT_ASYNC_BEGIN(): reaching it marks the body
 * done and returns EVFUT_READY. Any resume point that no await recorded
 * (an await inside a `switch` of the body) ends here too, as
 * EVFUT_ASYNC_LOST, after an assert in debug builds.
 */
/* clang-format off */
#define EVFUT_ASYNC_END()                                                      \
		EVFUT__FALLTHROUGH;                                            \
	case EVFUT_ASYNC_DONE:                                                 \
		break;                                                         \
	default:                                                               \
		evfut__async_lost(evfut__resume);                              \
		return EVFUT_READY;                                            \
	}                                                                      \
	*evfut__resume = EVFUT_ASYNC_DONE;                                     \
	return EVFUT_READY;                                                    \
	}
/* clang-format on */

/**
 * Private: called by EVFUT_ASYNC_END() when a body resumes at a point no
 * await recorded. Marks it EVFUT_ASYNC_LOST; asserts unless NDEBUG.
 */
static inline void
evfut__async_lost(unsigned *resume)
{
	assert(!"evfut: async body resumed at an unknown point (an await "
	        "inside a switch statement?)");
	*resume = EVFUT_ASYNC_LOST;
}

#endif /* EVFUT_ASYNC_H */
