/*
 * Fuzzes both timer stores (heap and wheel) against a reference model.
 *
 * The input decodes to a sequence of arm, cancel, reset, clock advance,
 * "advance to next_deadline", allocation failure and consistency-check
 * operations, applied to both stores, each beside its own model: an array
 * of (deadline, seq) per node in which the earliest is found by a linear
 * scan. After each advance both stores are popped until empty at the new
 * time; every node popped must be the model's earliest due node, never one
 * whose deadline is after the time given to pop, and the model must have
 * nothing due left when the store says so. next_deadline must be exact for
 * the heap and a lower bound for the wheel, converging within the levels
 * of the wheel. Any difference aborts.
 *
 * Build: test/fuzz/run (libFuzzer), or the meson 'fuzz' suite replays
 * test/fuzz/corpus/timer-store/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evfut/alloc.h"

#include "input.h"
#include "store.h"

#define NODES   150 /* more than the heap's first array (61) */
#define MAX_OPS 2048

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: %s: check failed: %s\n",       \
			        __FILE__, __LINE__, d->name, #cond);           \
			abort();                                               \
		}                                                              \
	} while (0)

/* One design under test: its store behind function pointers, its nodes
 * and its model. */
struct design {
	const char *name;
	void *store;
	int (*insert)(void *s, struct evfut_timer_node *n, uint64_t deadline);
	void (*remove)(void *s, struct evfut_timer_node *n);
	int (*armed)(const struct evfut_timer_node *n);
	uint64_t (*next)(void *s);
	struct evfut_timer_node *(*pop)(void *s, uint64_t now);
	size_t (*count)(const void *s);
	int exact; /* next_deadline is exact, not a lower bound */
	struct evfut_timer_node nodes[NODES];
	/* the model */
	int m_armed[NODES];
	uint64_t m_deadline[NODES];
	uint64_t m_seq[NODES];
	uint64_t m_next_seq;
	size_t m_count;
	/* armed at or before the last pop's now since that pop */
	int armed_behind;
	uint64_t last_pop_now;
	int popped_once;
	unsigned stalls; /* advances to next_deadline that fired nothing */
};

/* Thin adapters from the typed store calls to the table above. */
static int
heap_insert(void *s, struct evfut_timer_node *n, uint64_t d)
{
	return evfut__timer_heap_insert(s, n, d);
}
static void
heap_remove(void *s, struct evfut_timer_node *n)
{
	evfut__timer_heap_remove(s, n);
}
static uint64_t
heap_next(void *s)
{
	return evfut__timer_heap_next_deadline(s);
}
static struct evfut_timer_node *
heap_pop(void *s, uint64_t now)
{
	return evfut__timer_heap_pop(s, now);
}
static size_t
heap_count(const void *s)
{
	return evfut__timer_heap_count(s);
}
static int
wheel_insert(void *s, struct evfut_timer_node *n, uint64_t d)
{
	return evfut__timer_wheel_insert(s, n, d);
}
static void
wheel_remove(void *s, struct evfut_timer_node *n)
{
	evfut__timer_wheel_remove(s, n);
}
static uint64_t
wheel_next(void *s)
{
	return evfut__timer_wheel_next_deadline(s);
}
static struct evfut_timer_node *
wheel_pop(void *s, uint64_t now)
{
	return evfut__timer_wheel_pop(s, now);
}
static size_t
wheel_count(const void *s)
{
	return evfut__timer_wheel_count(s);
}

/* An allocator that fails the next call when asked to (heap growth). */
static int fail_next_alloc;

static void *
fuzz_malloc(size_t size)
{
	if (fail_next_alloc) {
		fail_next_alloc = 0;
		return NULL;
	}
	return malloc(size);
}

static void *
fuzz_realloc(void *ptr, size_t size)
{
	if (fail_next_alloc) {
		fail_next_alloc = 0;
		return NULL;
	}
	return realloc(ptr, size);
}

static const struct evfut_allocator fuzz_allocator = {fuzz_malloc, fuzz_realloc,
                                                      free};

static uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Decodes a deadline relative to @now (or to another node's). */
static uint64_t
read_deadline(struct fuzz_input *in, uint64_t now, const struct design *d)
{
	uint8_t kind = fuzz_u8(in);
	uint64_t v;

	switch (kind % 9) {
	case 0:
		return sat_add(now, fuzz_u8(in));
	case 1:
		return sat_add(now, fuzz_bytes(in, 2));
	case 2:
		return sat_add(now, fuzz_bytes(in, 4) << (fuzz_u8(in) % 32));
	case 3:
		return sat_add(now, fuzz_bytes(in, 8));
	case 4: /* in the past: allowed by the contract */
		v = fuzz_bytes(in, 2);
		return now > v ? now - v : 0;
	case 5:
		return UINT64_MAX - fuzz_u8(in);
	case 6:
		return fuzz_bytes(in, 8);
	case 7: /* the deadline of another node: equal deadlines */
		return d->m_deadline[fuzz_u8(in) % NODES];
	default: /* a power of two near now: digit boundaries */
		v = UINT64_C(1) << (fuzz_u8(in) % 64);
		return sat_add(now & ~(v - 1), v) - (fuzz_u8(in) % 3);
	}
}

/* The model's earliest armed node due at @now, or -1. */
static int
model_earliest(const struct design *d, uint64_t limit)
{
	int best = -1;

	for (int i = 0; i < NODES; i++) {
		if (!d->m_armed[i] || d->m_deadline[i] > limit)
			continue;
		if (best < 0 || d->m_deadline[i] < d->m_deadline[best] ||
		    (d->m_deadline[i] == d->m_deadline[best] &&
		     d->m_seq[i] < d->m_seq[best]))
			best = i;
	}
	return best;
}

static void
check_consistent(struct design *d)
{
	CHECK(d->count(d->store) == d->m_count);
	for (int i = 0; i < NODES; i++)
		CHECK(!d->armed(&d->nodes[i]) == !d->m_armed[i]);
}

static void
arm(struct design *d, int i, uint64_t deadline, uint64_t now)
{
	int rc = d->insert(d->store, &d->nodes[i], deadline);

	if (d->m_armed[i]) {
		CHECK(rc == -EINVAL);
		return;
	}
	CHECK(rc == 0 || rc == -ENOMEM);
	if (rc < 0) {
		CHECK(!d->armed(&d->nodes[i]));
		return;
	}
	CHECK(d->armed(&d->nodes[i]));
	d->m_armed[i] = 1;
	d->m_deadline[i] = deadline;
	d->m_seq[i] = d->m_next_seq++;
	d->m_count++;
	if (d->popped_once && deadline <= d->last_pop_now)
		d->armed_behind = 1;
	(void)now;
}

static void
cancel(struct design *d, int i)
{
	if (!d->m_armed[i])
		return;
	d->remove(d->store, &d->nodes[i]);
	CHECK(!d->armed(&d->nodes[i]));
	d->m_armed[i] = 0;
	d->m_count--;
}

/* Pops everything due at @now; @return the number of nodes popped. */
static unsigned
fire(struct design *d, uint64_t now)
{
	struct evfut_timer_node *n;
	unsigned popped = 0;
	int want;

	while ((n = d->pop(d->store, now)) != NULL) {
		int i = (int)(n - d->nodes);

		CHECK(i >= 0 && i < NODES);
		CHECK(n->deadline <= now); /* never before its deadline */
		want = model_earliest(d, now);
		CHECK(want == i); /* what fires, and in which order */
		CHECK(n->deadline == d->m_deadline[i]);
		CHECK(!d->armed(n));
		d->m_armed[i] = 0;
		d->m_count--;
		popped++;
	}
	CHECK(model_earliest(d, now) < 0); /* nothing due is left behind */
	d->last_pop_now = now;
	d->popped_once = 1;
	d->armed_behind = 0;
	return popped;
}

static void
check_next(struct design *d)
{
	uint64_t next = d->next(d->store);
	int e = model_earliest(d, UINT64_MAX);

	if (e < 0) {
		CHECK(next == UINT64_MAX);
		return;
	}
	CHECK(next <= d->m_deadline[e]);
	if (d->exact)
		CHECK(next == d->m_deadline[e]);
	/* After an empty pop at t, the answer is later than t. */
	if (d->popped_once && !d->armed_behind)
		CHECK(next > d->last_pop_now);
}

/* Advances to next_deadline, as the driver's timerfd and the virtual
 * clock do; the exact deadline must come within the wheel's levels. */
static uint64_t
advance_to_next(struct design *d, uint64_t now)
{
	uint64_t next = d->next(d->store);

	check_next(d);
	if (next == UINT64_MAX || next < now)
		return now;
	if (fire(d, next) == 0) {
		CHECK(++d->stalls < EVFUT__TIMER_WHEEL_LEVELS);
	} else {
		d->stalls = 0;
	}
	return next;
}

static void
run(struct design *designs[2], struct fuzz_input *in, uint64_t start)
{
	uint64_t now[2] = {start, start};
	unsigned ops = 0;

	while (fuzz_more(in) && ops++ < MAX_OPS) {
		uint8_t op = fuzz_u8(in);
		int i = fuzz_u8(in) % NODES;
		uint64_t deadline, delta;

		switch (op % 8) {
		case 0:
		case 1: /* arm, twice as likely */
			deadline = read_deadline(in, now[0], designs[0]);
			for (int k = 0; k < 2; k++)
				arm(designs[k], i, deadline, now[k]);
			break;
		case 2:
			for (int k = 0; k < 2; k++)
				cancel(designs[k], i);
			break;
		case 3: /* reset: cancel and re-arm, as evfut_sleep_reset */
			deadline = read_deadline(in, now[0], designs[0]);
			for (int k = 0; k < 2; k++) {
				cancel(designs[k], i);
				arm(designs[k], i, deadline, now[k]);
			}
			break;
		case 4: /* advance the clock by a decoded step */
			switch (i % 4) {
			case 0:
				delta = fuzz_u8(in);
				break;
			case 1:
				delta = fuzz_bytes(in, 2) << (fuzz_u8(in) % 48);
				break;
			case 2:
				delta = fuzz_bytes(in, 4);
				break;
			default:
				delta = fuzz_bytes(in, 8);
				break;
			}
			for (int k = 0; k < 2; k++) {
				now[k] = sat_add(now[k], delta);
				fire(designs[k], now[k]);
			}
			break;
		case 5: /* advance to the store's next deadline */
			for (int k = 0; k < 2; k++)
				now[k] = advance_to_next(designs[k], now[k]);
			/* Keep one clock: the later of the two. */
			if (now[0] != now[1]) {
				uint64_t t = now[0] > now[1] ? now[0] : now[1];

				for (int k = 0; k < 2; k++) {
					now[k] = t;
					fire(designs[k], t);
				}
			}
			break;
		case 6: /* the heap's next growth fails */
			fail_next_alloc = 1;
			break;
		default:
			for (int k = 0; k < 2; k++) {
				check_consistent(designs[k]);
				check_next(designs[k]);
			}
			break;
		}
		fail_next_alloc = 0;
	}
	for (int k = 0; k < 2; k++) {
		struct design *d = designs[k];

		check_consistent(d);
		check_next(d);
		/* Drain to the end of time: everything fires, in order. */
		fire(d, UINT64_MAX);
		CHECK(d->count(d->store) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct design heap, wheel;
	static struct evfut__timer_heap h;
	static struct evfut__timer_wheel w;
	struct design *designs[2] = {&heap, &wheel};
	struct fuzz_input in = {data, size, 0};
	uint64_t start;
	struct design *d = &heap;

	memset(&heap, 0, sizeof heap);
	heap.name = "heap";
	heap.store = &h;
	heap.insert = heap_insert;
	heap.remove = heap_remove;
	heap.armed = evfut__timer_heap_armed;
	heap.next = heap_next;
	heap.pop = heap_pop;
	heap.count = heap_count;
	heap.exact = 1;
	memset(&wheel, 0, sizeof wheel);
	wheel.name = "wheel";
	wheel.store = &w;
	wheel.insert = wheel_insert;
	wheel.remove = wheel_remove;
	wheel.armed = evfut__timer_wheel_armed;
	wheel.next = wheel_next;
	wheel.pop = wheel_pop;
	wheel.count = wheel_count;
	/* The start of the clock: 0, small, or anywhere. */
	switch (fuzz_u8(&in) % 4) {
	case 0:
		start = 0;
		break;
	case 1:
		start = fuzz_bytes(&in, 4);
		break;
	case 2:
		start = UINT64_MAX - fuzz_bytes(&in, 4);
		break;
	default:
		start = fuzz_bytes(&in, 8);
		break;
	}
	CHECK(evfut_allocator_set(&fuzz_allocator) == 0);
	CHECK(evfut__timer_heap_init(&h, start) == 0);
	CHECK(evfut__timer_wheel_init(&w, start) == 0);
	run(designs, &in, start);
	evfut__timer_heap_finish(&h);
	evfut__timer_wheel_finish(&w);
	return 0;
}
