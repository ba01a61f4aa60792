/*
 * Private: the store of pending timer deadlines, used by the timer driver.
 *
 * The store is intrusive: a struct evfut_timer_node lives inside each timer
 * future, and the store only links nodes together, so arming a timer
 * allocates nothing per timer. Nodes pop in deadline order, and equal
 * deadlines in the order they were armed, as libuv's timers do: the heap
 * keeps an arm sequence number in the node for that, the wheel keeps its
 * lists in arm order.
 *
 * Two designs sit behind one interface, and both are always compiled (with
 * distinct names) so that the test and the benchmark can run them side by
 * side:
 *
 * - evfut__timer_heap_*: a 4-ary min-heap of {deadline, node} entries (the
 *   deadline cached beside the pointer, as in libev). O(log n) arm, cancel
 *   and pop, O(1) next_deadline, always exact; its array (16 bytes a timer)
 *   grows by doubling, the only allocation.
 * - evfut__timer_wheel_*: a hierarchical timing wheel of 8 levels of 256
 *   slots at 1 ns resolution, covering the whole uint64_t range without
 *   wrapping. O(1) arm and cancel, O(1) next_deadline (a lower bound when
 *   the earliest timers share a coarse slot, see below), and O(levels) a
 *   timer to reach it. Its cursor never runs past the now given to pop.
 *   Allocates nothing at all, but the store itself is about 32 KiB.
 *
 * The build picks one with EVFUT_TIMER_STORE_HEAP or EVFUT_TIMER_STORE_WHEEL;
 * the generic evfut__timer_store_* names below map to it. Without either,
 * the wheel is chosen: see the comment at the selection below for why.
 *
 * Deadlines are nanoseconds on the runtime's clock (CLOCK_MONOTONIC, or a
 * virtual clock in tests). None of these calls is
 * thread-safe: the store belongs to the runtime's loop thread.
 */
#ifndef EVFUT_TIMERS_STORE_H
#define EVFUT_TIMERS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "evfut/timer.h"

/*
 * The node, struct evfut_timer_node, is declared in the public evfut/timer.h
 * because evfut_sleep, which users embed, embeds it; its union is private
 * to this store while the node is armed. It is 24 bytes on LP64: deadline,
 * and a union of the heap's {position (1-based, 0: not armed), seq} and the
 * wheel's list links (next NULL: not armed), so a zero-initialised node is
 * not armed and a zero-initialised future needs no call before its first
 * arm. The store writes the union only from insert until the node is
 * popped or removed, and leaves its first word 0 then; the rest is free
 * for the node's owner while it is not armed (evfut_sleep keeps its state
 * there, see timers/driver.h).
 */

/* A heap entry: the node's deadline, cached beside it. */
struct evfut__timer_heap_entry {
	uint64_t deadline;
	struct evfut_timer_node *node;
};

struct evfut__timer_heap {
	/* private */
	struct evfut__timer_heap_entry *entries; /* inside raw, line-aligned */
	void *raw;                               /* what was allocated */
	size_t count;
	size_t capacity;
	uint64_t next_seq;
};

#define EVFUT__TIMER_WHEEL_BITS   8
#define EVFUT__TIMER_WHEEL_SLOTS  256
#define EVFUT__TIMER_WHEEL_LEVELS 8 /* 64 / EVFUT__TIMER_WHEEL_BITS */

struct evfut__timer_wheel {
	/* private */
	uint64_t elapsed; /* the cursor: at most the latest now given to pop */
	size_t count;
	struct evfut_timer_link overdue; /* deadlines < elapsed, in order */
	uint32_t nonempty;               /* bit k: occupied[k] != 0 */
	/* bit s of word k: slot 64 * k + s, in level * SLOTS + slot order */
	uint64_t occupied[EVFUT__TIMER_WHEEL_LEVELS * EVFUT__TIMER_WHEEL_SLOTS /
	                  64];
	struct evfut_timer_link
	        slots[EVFUT__TIMER_WHEEL_LEVELS * EVFUT__TIMER_WHEEL_SLOTS];
};

/*
 * The contract is the same for both designs; it is written once, for the
 * heap.
 *
 * init: @now is the current time; it only seeds the wheel's cursor (an
 * earlier one is correct, but places the first timers in coarser slots).
 * @return 0, or -ENOMEM (the heap allocates its first array here, so that
 * the common case of a few timers never allocates on arm).
 *
 * finish: frees the store's own memory; accepts NULL. Nodes still in the
 * store are not touched and must not be given to it again.
 *
 * insert: arms @n (borrowed until it is popped or removed) at @deadline,
 * which may be in the past: it then pops before every later deadline (the
 * wheel keeps deadlines earlier than the last pop's now in a sorted list:
 * O(1) when armed in order, O(such timers) at worst; the driver arms none).
 * @return 0; -EINVAL if @n is already armed; -ENOMEM if the heap could not
 * grow. On error nothing changed.
 *
 * remove: disarms @n, which must be armed in this store.
 *
 * node_armed: nonzero while @n sits in a store.
 *
 * next_deadline: UINT64_MAX when the store is empty; else the earliest
 * armed deadline, or a lower bound of it. The heap is always exact. The
 * wheel is exact when the earliest timer sits in its finest level or in a
 * slot of a few timers, and otherwise answers with the start of that
 * slot, so that no call has to sort the timers of a coarse slot. A caller
 * that waits for the answer and pops at it converges:
 *  - a node that pop(a) returns, for an answer a, has deadline a exactly
 *    (a is no later than any deadline);
 *  - if pop(t) returned NULL and nothing with a deadline <= t was armed
 *    since, the next answer is later than t, so a timer armed at it never
 *    fires twice at the same time;
 *  - each pop at a lower bound moves the earliest timer a level down, so
 *    the exact deadline comes within EVFUT__TIMER_WHEEL_LEVELS - 1 lower
 *    bounds (in practice one or two: the slots near now are fine).
 * So the driver's timerfd may fire early and find nothing due, then is
 * re-armed later; a virtual clock that jumps to the answer may take a few
 * jumps, never one past a deadline. Non-const for the wheel's sake.
 *
 * pop: detaches and returns the earliest node if its deadline is <= @now,
 * else NULL. The node reads as not armed afterwards.
 *
 * count: the number of armed nodes.
 */
int evfut__timer_heap_init(struct evfut__timer_heap *h, uint64_t now);
void evfut__timer_heap_finish(struct evfut__timer_heap *h);
int evfut__timer_heap_insert(struct evfut__timer_heap *h,
                             struct evfut_timer_node *n, uint64_t deadline);
void evfut__timer_heap_remove(struct evfut__timer_heap *h,
                              struct evfut_timer_node *n);
int evfut__timer_heap_armed(const struct evfut_timer_node *n);
uint64_t evfut__timer_heap_next_deadline(struct evfut__timer_heap *h);
struct evfut_timer_node *evfut__timer_heap_pop(struct evfut__timer_heap *h,
                                               uint64_t now);
size_t evfut__timer_heap_count(const struct evfut__timer_heap *h);

int evfut__timer_wheel_init(struct evfut__timer_wheel *w, uint64_t now);
void evfut__timer_wheel_finish(struct evfut__timer_wheel *w);
int evfut__timer_wheel_insert(struct evfut__timer_wheel *w,
                              struct evfut_timer_node *n, uint64_t deadline);
void evfut__timer_wheel_remove(struct evfut__timer_wheel *w,
                               struct evfut_timer_node *n);
int evfut__timer_wheel_armed(const struct evfut_timer_node *n);
uint64_t evfut__timer_wheel_next_deadline(struct evfut__timer_wheel *w);
struct evfut_timer_node *evfut__timer_wheel_pop(struct evfut__timer_wheel *w,
                                                uint64_t now);
size_t evfut__timer_wheel_count(const struct evfut__timer_wheel *w);

/*
 * The wheel is the default, by measurement (bench/bench-timer-store.c,
 * -O2, ns an operation, medians, heap / wheel): store_cancel (arm + cancel
 * + next among 10,000) 27 / 7.6; store_fire (arm and fire a million, per
 * timer) 279 / 78; store_fire_spread (the same with a node every 192
 * bytes, cold as in tasks) 323 / 137; store_mixed (a server's resets and
 * short timers) 17 / 10.5; store_rewind (arming just before a high digit
 * boundary the head sits behind) 31 / 8.7; store_past (arming behind the
 * last pop's now) 30 / 6.6. The wheel also costs nothing a timer, where
 * the heap's array costs 16 bytes (up to 32 just after doubling), which
 * matters at a million idle timers. The wheel's worst cases are gone: its
 * cursor used to run ahead to the head in next_deadline, so an arm between
 * now and the head rewound it and cascaded the timers near the head again
 * (~30 us an arm among 10,000); now the cursor stops at pop's now and
 * next_deadline may answer with a lower bound, at the price of a spurious
 * timerfd wake-up now and then. Against it: the store is 32 KiB even when
 * idle (the heap: 40 bytes and a 1 KiB array), once per runtime. Build
 * with EVFUT_TIMER_STORE_HEAP for a store whose next_deadline is always
 * exact.
 *
 * The wheel has 8 bits a level, and cascades walk each list from both
 * ends, since a cascade is a cache miss a node (see store-wheel.c). Against
 * 6 bits (11 levels of 64 slots, 11 KiB) and one walk, alternating runs
 * pinned with taskset -c 1, medians of 11: evfut-bench timers_fire
 * 0.725 -> 0.581 s CPU, late p99 80.2 -> 78.9 ms; timers_cancel 20.9 ->
 * 20.6 ns; timers_light p50 29.4 -> 29.0 us; bench-timer-store store_fire
 * 133 -> 78 ns, store_fire_spread 267 -> 137, store_cancel 8.2 -> 7.6,
 * store_past 6.2 -> 6.6. The walk gives most of it: 6 bits with the walk
 * took 0.654 s against 0.633 s. The 21 KiB more a runtime buy the rest.
 */
#if defined(EVFUT_TIMER_STORE_HEAP) && defined(EVFUT_TIMER_STORE_WHEEL)
#error "define at most one of EVFUT_TIMER_STORE_HEAP, EVFUT_TIMER_STORE_WHEEL"
#endif
#if !defined(EVFUT_TIMER_STORE_HEAP) && !defined(EVFUT_TIMER_STORE_WHEEL)
#define EVFUT_TIMER_STORE_WHEEL 1
#endif

#ifdef EVFUT_TIMER_STORE_HEAP
#define EVFUT__TIMER_STORE_IMPL  struct evfut__timer_heap
#define EVFUT__TIMER_STORE(verb) evfut__timer_heap_##verb
#define EVFUT__TIMER_STORE_NAME  "heap"
#else
#define EVFUT__TIMER_STORE_IMPL  struct evfut__timer_wheel
#define EVFUT__TIMER_STORE(verb) evfut__timer_wheel_##verb
#define EVFUT__TIMER_STORE_NAME  "wheel"
#endif

/* A complete type, embedded in the runtime. */
struct evfut__timer_store {
	/* private */
	EVFUT__TIMER_STORE_IMPL impl;
};

static inline int
evfut__timer_store_init(struct evfut__timer_store *s, uint64_t now)
{
	return EVFUT__TIMER_STORE(init)(&s->impl, now);
}

static inline void
evfut__timer_store_finish(struct evfut__timer_store *s)
{
	if (s != NULL)
		EVFUT__TIMER_STORE(finish)(&s->impl);
}

static inline int
evfut__timer_store_insert(struct evfut__timer_store *s,
                          struct evfut_timer_node *n, uint64_t deadline)
{
	return EVFUT__TIMER_STORE(insert)(&s->impl, n, deadline);
}

static inline void
evfut__timer_store_remove(struct evfut__timer_store *s,
                          struct evfut_timer_node *n)
{
	EVFUT__TIMER_STORE(remove)(&s->impl, n);
}

/* Inline, unlike the designs' own: every poll and drop of a sleep asks. */
static inline int
evfut__timer_node_armed(const struct evfut_timer_node *n)
{
#ifdef EVFUT_TIMER_STORE_HEAP
	return n->u.heap.pos != 0;
#else
	return n->u.wheel.next != NULL;
#endif
}

static inline uint64_t
evfut__timer_store_next_deadline(struct evfut__timer_store *s)
{
	return EVFUT__TIMER_STORE(next_deadline)(&s->impl);
}

static inline struct evfut_timer_node *
evfut__timer_store_pop(struct evfut__timer_store *s, uint64_t now)
{
	return EVFUT__TIMER_STORE(pop)(&s->impl, now);
}

static inline size_t
evfut__timer_store_count(const struct evfut__timer_store *s)
{
	return EVFUT__TIMER_STORE(count)(&s->impl);
}

#endif /* EVFUT_TIMERS_STORE_H */
