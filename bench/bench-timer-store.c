/*
 * Microbenchmark of the two timer store designs (timers/store.h), on a
 * virtual clock, printing one JSON line per workload and design.
 *
 * Build and run from the repository root:
 *
 *   cc -std=c11 -O2 -DNDEBUG -Iinclude -o /tmp/bench-timer-store \
 *       bench/bench-timer-store.c timers/store-heap.c timers/store-wheel.c \
 *       runtime/alloc.c
 *   /tmp/bench-timer-store
 *
 * store_cancel: a window of W live timers, each armed 10 s ahead of a
 *   virtual now that moves 1 us an operation; N times arm a new one, cancel
 *   the oldest, and ask for the next deadline, as the driver does when it
 *   cancels its head and must re-arm the timerfd. When now reaches the
 *   answer (a lower bound, for the wheel), pop at now, as the timerfd
 *   firing there would; nothing is due.
 * store_fire: arm N timers uniform in [1, 1000] ms, then advance the clock
 *   in 1 ms steps, popping everything due and asking for the next deadline
 *   once a step; the time is per timer, arm and pop together.
 * store_fire_spread: the same with a node every SPREAD bytes, as in
 *   spawned tasks (a 64-byte header, then the future), so that the nodes
 *   of a slot are cache misses, as they are in evfut-bench timers_fire.
 *
 * Two more, to weigh the designs beyond those:
 *
 * store_mixed: a server's shape. W idle timeouts 30 s ahead, one reset per
 *   iteration, and S short timers re-armed [0, 50) ms ahead each time they
 *   fire; the clock moves 2 us an iteration; the driver asks for the next
 *   deadline each iteration. Per iteration.
 * store_rewind: the old wheel's worst case. W timers just after a 2^36 ns
 *   boundary, where a wheel whose cursor ran ahead to the head parked it;
 *   an iteration arms a timer 1 ns before the boundary and cancels it,
 *   asking for the next deadline after each. The old wheel rewound on every
 *   arm and cascaded all W timers again on every cancel; the wheel whose
 *   cursor stays at the last pop's now does not, and the heap never cared.
 * store_past: what is left of it, which the driver never does (sleep
 *   completes a deadline that has passed instead of arming it): the same W
 *   timers, the clock at the boundary (popped there once), and an iteration
 *   arms a timer 1 ns before the boundary, in the past, then pops at the
 *   boundary, which fires it. Every such arm rewinds the wheel across the
 *   boundary, and the pop cascades the W timers again.
 *
 * Each figure is the median of RUNS runs. Nodes live in one array allocated
 * before the clock starts, as they would live inside futures.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../timers/store.h"

#define MS   UINT64_C(1000000)
#define SEC  (1000 * MS)
#define BOOT (UINT64_C(123456) * SEC + 789)

enum { N = 1000000, W = 10000, RUNS = 5, SPREAD = 192 };

/* Node @i of an array of nodes @stride bytes apart. */
#define NODE_AT(nodes, i, stride)                                              \
	((struct evfut_timer_node *)(void *)((char *)(nodes) +                 \
	                                     (size_t)(i) * (stride)))

static uint64_t
clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
xorshift64(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/*
 * The two workloads, written once as macros over a design's prefix so that
 * each design's calls are direct, as they are in the library. Each
 * evaluates to the elapsed ns, or to 0 if the store misbehaved.
 */
#define CANCEL_WORKLOAD(d, s, nodes)                                           \
	do {                                                                   \
		uint64_t now = BOOT, t0, sum = 0, next;                        \
		memset(nodes, 0, (W + 1) * sizeof(*nodes));                    \
		if (evfut__timer_##d##_init(&s, now) < 0)                      \
			return 0;                                              \
		for (int k = 0; k < W; k++, now += 1000)                       \
			evfut__timer_##d##_insert(&s, &nodes[k],               \
			                          now + 10 * SEC);             \
		t0 = clock_ns();                                               \
		for (int i = 0; i < N; i++, now += 1000) {                     \
			struct evfut_timer_node *fresh =                       \
			        &nodes[(i + W) % (W + 1)];                     \
			struct evfut_timer_node *oldest = &nodes[i % (W + 1)]; \
			if (evfut__timer_##d##_insert(&s, fresh,               \
			                              now + 10 * SEC) < 0)     \
				return 0;                                      \
			evfut__timer_##d##_remove(&s, oldest);                 \
			next = evfut__timer_##d##_next_deadline(&s);           \
			if (next <= now &&                                     \
			    evfut__timer_##d##_pop(&s, now) != NULL)           \
				return 0;                                      \
			sum += next;                                           \
		}                                                              \
		t0 = clock_ns() - t0;                                          \
		evfut__timer_##d##_finish(&s);                                 \
		return sum != 0 ? t0 : 0;                                      \
	} while (0)

#define FIRE_WORKLOAD(d, s, nodes, stride)                                     \
	do {                                                                   \
		uint64_t x = 42, now = BOOT, t0;                               \
		size_t popped = 0;                                             \
		for (int i = 0; i < N; i++)                                    \
			memset(NODE_AT(nodes, i, stride), 0, sizeof(*nodes));  \
		if (evfut__timer_##d##_init(&s, now) < 0)                      \
			return 0;                                              \
		t0 = clock_ns();                                               \
		for (int i = 0; i < N; i++) {                                  \
			uint64_t ms = xorshift64(&x) % 1000 + 1;               \
			if (evfut__timer_##d##_insert(                         \
			            &s, NODE_AT(nodes, i, stride),             \
			            now + ms * MS) < 0)                        \
				return 0;                                      \
		}                                                              \
		for (int step = 0; step < 1000; step++) {                      \
			now += MS;                                             \
			while (evfut__timer_##d##_pop(&s, now) != NULL)        \
				popped++;                                      \
			(void)evfut__timer_##d##_next_deadline(&s);            \
		}                                                              \
		t0 = clock_ns() - t0;                                          \
		evfut__timer_##d##_finish(&s);                                 \
		return popped == N ? t0 : 0;                                   \
	} while (0)

enum { S = 1000, MIXED_N = 1000000, REWIND_N = 20000 };

#define MIXED_WORKLOAD(d, s, nodes)                                            \
	do {                                                                   \
		struct evfut_timer_node *idle = nodes, *shorts = nodes + W;    \
		struct evfut_timer_node *n;                                    \
		uint64_t x = 42, now = BOOT, t0, fired = 0;                    \
		memset(nodes, 0, (W + S) * sizeof(*nodes));                    \
		if (evfut__timer_##d##_init(&s, now) < 0)                      \
			return 0;                                              \
		for (int k = 0; k < W; k++)                                    \
			evfut__timer_##d##_insert(&s, &idle[k],                \
			                          now + 30 * SEC + k * 1000u); \
		for (int k = 0; k < S; k++)                                    \
			evfut__timer_##d##_insert(&s, &shorts[k],              \
			                          now + xorshift64(&x) %       \
			                                          (50 * MS));  \
		t0 = clock_ns();                                               \
		for (int i = 0; i < MIXED_N; i++) {                            \
			now += 2000;                                           \
			n = &idle[i % W];                                      \
			evfut__timer_##d##_remove(&s, n);                      \
			evfut__timer_##d##_insert(&s, n, now + 30 * SEC);      \
			while ((n = evfut__timer_##d##_pop(&s, now)) !=        \
			       NULL) {                                         \
				fired++;                                       \
				if (evfut__timer_##d##_insert(                 \
				            &s, n,                             \
				            now + xorshift64(&x) %             \
				                            (50 * MS)) < 0)    \
					return 0;                              \
			}                                                      \
			(void)evfut__timer_##d##_next_deadline(&s);            \
		}                                                              \
		t0 = clock_ns() - t0;                                          \
		evfut__timer_##d##_finish(&s);                                 \
		return fired > 0 ? t0 : 0;                                     \
	} while (0)

#define REWIND_WORKLOAD(d, s, nodes)                                           \
	do {                                                                   \
		uint64_t edge = ((BOOT >> 36) + 1) << 36, t0, sum = 0;         \
		memset(nodes, 0, (W + 1) * sizeof(*nodes));                    \
		if (evfut__timer_##d##_init(&s, BOOT) < 0)                     \
			return 0;                                              \
		for (int k = 0; k < W; k++)                                    \
			evfut__timer_##d##_insert(&s, &nodes[k], edge + k);    \
		t0 = clock_ns();                                               \
		for (int i = 0; i < REWIND_N; i++) {                           \
			sum += evfut__timer_##d##_next_deadline(&s);           \
			if (evfut__timer_##d##_insert(&s, &nodes[W],           \
			                              edge - 1) < 0)           \
				return 0;                                      \
			sum += evfut__timer_##d##_next_deadline(&s);           \
			evfut__timer_##d##_remove(&s, &nodes[W]);              \
		}                                                              \
		t0 = clock_ns() - t0;                                          \
		evfut__timer_##d##_finish(&s);                                 \
		return sum != 0 ? t0 : 0;                                      \
	} while (0)

#define PAST_WORKLOAD(d, s, nodes)                                             \
	do {                                                                   \
		uint64_t edge = ((BOOT >> 36) + 1) << 36, t0, popped = 0;      \
		memset(nodes, 0, (W + 1) * sizeof(*nodes));                    \
		if (evfut__timer_##d##_init(&s, BOOT) < 0)                     \
			return 0;                                              \
		for (int k = 0; k < W; k++)                                    \
			evfut__timer_##d##_insert(&s, &nodes[k], edge + k);    \
		if (evfut__timer_##d##_pop(&s, edge) != &nodes[0])             \
			return 0;                                              \
		t0 = clock_ns();                                               \
		for (int i = 0; i < REWIND_N; i++) {                           \
			if (evfut__timer_##d##_insert(&s, &nodes[W],           \
			                              edge - 1) < 0)           \
				return 0;                                      \
			while (evfut__timer_##d##_pop(&s, edge) != NULL)       \
				popped++;                                      \
			(void)evfut__timer_##d##_next_deadline(&s);            \
		}                                                              \
		t0 = clock_ns() - t0;                                          \
		evfut__timer_##d##_finish(&s);                                 \
		return popped == REWIND_N ? t0 : 0;                            \
	} while (0)

static struct evfut__timer_heap heap;
static struct evfut__timer_wheel wheel;

static uint64_t
cancel_heap(struct evfut_timer_node *nodes)
{
	CANCEL_WORKLOAD(heap, heap, nodes);
}

static uint64_t
cancel_wheel(struct evfut_timer_node *nodes)
{
	CANCEL_WORKLOAD(wheel, wheel, nodes);
}

static uint64_t
fire_heap(struct evfut_timer_node *nodes)
{
	FIRE_WORKLOAD(heap, heap, nodes, sizeof(*nodes));
}

static uint64_t
fire_wheel(struct evfut_timer_node *nodes)
{
	FIRE_WORKLOAD(wheel, wheel, nodes, sizeof(*nodes));
}

static uint64_t
fire_spread_heap(struct evfut_timer_node *nodes)
{
	FIRE_WORKLOAD(heap, heap, nodes, SPREAD);
}

static uint64_t
fire_spread_wheel(struct evfut_timer_node *nodes)
{
	FIRE_WORKLOAD(wheel, wheel, nodes, SPREAD);
}

static uint64_t
mixed_heap(struct evfut_timer_node *nodes)
{
	MIXED_WORKLOAD(heap, heap, nodes);
}

static uint64_t
mixed_wheel(struct evfut_timer_node *nodes)
{
	MIXED_WORKLOAD(wheel, wheel, nodes);
}

static uint64_t
rewind_heap(struct evfut_timer_node *nodes)
{
	REWIND_WORKLOAD(heap, heap, nodes);
}

static uint64_t
rewind_wheel(struct evfut_timer_node *nodes)
{
	REWIND_WORKLOAD(wheel, wheel, nodes);
}

static uint64_t
past_heap(struct evfut_timer_node *nodes)
{
	PAST_WORKLOAD(heap, heap, nodes);
}

static uint64_t
past_wheel(struct evfut_timer_node *nodes)
{
	PAST_WORKLOAD(wheel, wheel, nodes);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Prints the median of RUNS runs of @n operations; returns -1 if any run
 * misbehaved.
 */
static int
report(const char *workload, const char *store,
       uint64_t (*run)(struct evfut_timer_node *),
       struct evfut_timer_node *nodes, int n)
{
	uint64_t ns[RUNS];

	for (int r = 0; r < RUNS; r++) {
		ns[r] = run(nodes);
		if (ns[r] == 0) {
			fprintf(stderr, "%s/%s: store misbehaved\n", workload,
			        store);
			return -1;
		}
	}
	qsort(ns, RUNS, sizeof(ns[0]), cmp_u64);
	printf("{\"workload\":\"%s\",\"store\":\"%s\",\"n\":%d,"
	       "\"ns_per_op\":%.1f}\n",
	       workload, store, n, (double)ns[RUNS / 2] / n);
	return 0;
}

int
main(void)
{
	struct evfut_timer_node *nodes = calloc(N, sizeof(*nodes));
	struct evfut_timer_node *spread = calloc(N, SPREAD);
	int rc = 0;

	if (nodes == NULL || spread == NULL)
		return 1;
	printf("{\"sizeof_node\":%zu,\"sizeof_heap_store\":%zu,"
	       "\"sizeof_wheel_store\":%zu,\"default\":\"%s\"}\n",
	       sizeof(struct evfut_timer_node),
	       sizeof(struct evfut__timer_heap),
	       sizeof(struct evfut__timer_wheel), EVFUT__TIMER_STORE_NAME);
	rc |= report("store_cancel", "heap", cancel_heap, nodes, N);
	rc |= report("store_cancel", "wheel", cancel_wheel, nodes, N);
	rc |= report("store_fire", "heap", fire_heap, nodes, N);
	rc |= report("store_fire", "wheel", fire_wheel, nodes, N);
	rc |= report("store_fire_spread", "heap", fire_spread_heap, spread, N);
	rc |= report("store_fire_spread", "wheel", fire_spread_wheel, spread,
	             N);
	rc |= report("store_mixed", "heap", mixed_heap, nodes, MIXED_N);
	rc |= report("store_mixed", "wheel", mixed_wheel, nodes, MIXED_N);
	rc |= report("store_rewind", "heap", rewind_heap, nodes, REWIND_N);
	rc |= report("store_rewind", "wheel", rewind_wheel, nodes, REWIND_N);
	rc |= report("store_past", "heap", past_heap, nodes, REWIND_N);
	rc |= report("store_past", "wheel", past_wheel, nodes, REWIND_N);
	free(spread);
	free(nodes);
	return rc == 0 ? 0 : 1;
}
