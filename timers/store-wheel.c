/*
 * The timer store as a hierarchical timing wheel: 8 levels of 256 slots,
 * 8 bits of the deadline a level, at 1 ns resolution, so the levels cover
 * the whole uint64_t range and UINT64_MAX ("never") needs no special case.
 *
 * Unlike tokio's and Linux's wheels, slots do not rotate. Every node sits
 * exactly where an insert at the current cursor (elapsed) would put it: at
 * the level of the highest 8-bit digit in which its deadline differs from
 * elapsed, in the slot named by that digit. So all nodes of a level share
 * elapsed's higher digits, every level-k node is earlier than every
 * level-(k+1) node, and the first set bit of the occupied bitmaps, laid
 * out level after level, is the earliest slot: a summary word with a bit a
 * bitmap word finds it with two find-first-set instructions. Nothing wraps,
 * which is the bug class that hung tokio's timers after ~12 days: a deadline
 * years ahead is just a high digit.
 *
 * A level-0 slot holds one deadline (1 ns), and nodes enter each list in arm
 * order and leave it in list order, so equal deadlines stay FIFO and the
 * head of the lowest level-0 slot is exactly the next deadline. Reaching a
 * higher slot "cascades" it: elapsed moves to the slot's start and its
 * nodes are re-placed one level or more lower. Each node cascades at most
 * once a level, so reaching a timer costs O(levels).
 *
 * A cascade reads every node of the slot, and the nodes live in their
 * futures all over memory: a slot reached long after its timers were armed
 * costs a cache miss a node, and that is most of the wheel's time when a
 * million tasks sleep. Hence 8 bits a level rather than 6 (a deadline 1 s
 * ahead starts at level 3, not 4 or 5: one or two cold passes fewer, for
 * 32 KiB of slot heads instead of 11), and the walk from the tail in
 * cascade(), which keeps two misses in flight instead of one.
 *
 * The cursor only moves in pop, and never past the now given to it: a
 * cursor run ahead to the head (as this wheel once did, in next_deadline)
 * makes every arm between now and the head a rewind, which sent the timers
 * near the head back up to be cascaded again, O(n) an arm in the worst
 * case. So next_deadline does not cascade: when the earliest slot is above
 * level 0 and holds more than SCAN_MAX nodes, it answers with the slot's
 * start, a lower bound later than the cursor. The driver's timerfd fires
 * there, pop at that time cascades the slot, and the next answer comes
 * from a lower level: exact within levels - 1 rounds, a few at most in
 * practice, since the slots near now are fine ones.
 *
 * A deadline earlier than the cursor (earlier than a now already given to
 * pop, which the driver never arms: sleep completes it instead) goes to a
 * separate overdue list sorted by deadline, equal ones in arm order, every
 * entry of which is earlier than all the wheel. Arming one costs O(overdue
 * timers later than it), usually none; the wheel's other timers are not
 * disturbed.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>

#include "store.h"

#define BITS   EVFUT__TIMER_WHEEL_BITS
#define SLOTS  EVFUT__TIMER_WHEEL_SLOTS
#define LEVELS EVFUT__TIMER_WHEEL_LEVELS

/* next_deadline scans a slot of up to this many nodes for its minimum. */
#define SCAN_MAX 8

/* The occupied bitmap: 64 slots a word, WORDS words a level. */
#define WORDS (SLOTS / 64)

_Static_assert(BITS *LEVELS >= 64, "the levels must cover 64 bits");
_Static_assert(SLOTS % 64 == 0 && LEVELS * WORDS <= 32,
               "the summary word has a bit a bitmap word");

#define node_of(link)                                                          \
	((struct evfut_timer_node *)(void *)((char *)(link)-offsetof(          \
	        struct evfut_timer_node, u.wheel)))

/*
 * The walk from the tail in cascade() only reads; a prefetch of what it
 * read is a use the compiler keeps, where it would drop the bare loads.
 */
#if defined(__GNUC__)
#define prefetch(p) __builtin_prefetch(p)
#else
#define prefetch(p) ((void)(p))
#endif

static unsigned
highest_bit(uint64_t x)
{
#if defined(__GNUC__)
	return 63 - (unsigned)__builtin_clzll(x);
#else
	unsigned bit = 0;

	while (x >>= 1)
		bit++;
	return bit;
#endif
}

static unsigned
lowest_bit(uint64_t x)
{
#if defined(__GNUC__)
	return (unsigned)__builtin_ctzll(x);
#else
	unsigned bit = 0;

	while (!(x & 1)) {
		x >>= 1;
		bit++;
	}
	return bit;
#endif
}

/* The level of the highest digit in which @a and @b differ, 0 if none. */
static unsigned
level_for(uint64_t a, uint64_t b)
{
	return highest_bit((a ^ b) | (SLOTS - 1)) / BITS;
}

static unsigned
digit(uint64_t t, unsigned level)
{
	return (unsigned)(t >> (level * BITS)) & (SLOTS - 1);
}

/* The first instant of slot @slot of @level, given the higher digits of @t. */
static uint64_t
slot_start(uint64_t t, unsigned level, unsigned slot)
{
	unsigned low_bits = (level + 1) * BITS;
	uint64_t low =
	        low_bits >= 64 ? UINT64_MAX : (UINT64_C(1) << low_bits) - 1;

	return (t & ~low) | ((uint64_t)slot << (level * BITS));
}

static void
append(struct evfut_timer_link *head, struct evfut_timer_link *l)
{
	l->next = head;
	l->prev = head->prev;
	head->prev->next = l;
	head->prev = l;
}

/* Marks slot @i (level * SLOTS + slot) occupied, or empty. */
static void
mark(struct evfut__timer_wheel *w, size_t i)
{
	w->occupied[i / 64] |= UINT64_C(1) << (i % 64);
	w->nonempty |= UINT32_C(1) << (i / 64);
}

static void
unmark(struct evfut__timer_wheel *w, size_t i)
{
	w->occupied[i / 64] &= ~(UINT64_C(1) << (i % 64));
	if (w->occupied[i / 64] == 0)
		w->nonempty &= ~(UINT32_C(1) << (i / 64));
}

static void
place(struct evfut__timer_wheel *w, struct evfut_timer_node *n)
{
	unsigned level = level_for(w->elapsed, n->deadline);
	size_t i = level * SLOTS + digit(n->deadline, level);

	append(&w->slots[i], &n->u.wheel);
	mark(w, i);
}

/* Moves elapsed to the start of slot @i and spreads its nodes lower. */
static void
cascade(struct evfut__timer_wheel *w, size_t i)
{
	struct evfut_timer_link *head = &w->slots[i];
	struct evfut_timer_link *l = head->next;
	struct evfut_timer_link *last = head->prev;
	struct evfut_timer_link *back = last;
	struct evfut_timer_link *next;

	head->next = head->prev = head;
	unmark(w, i);
	w->elapsed = slot_start(w->elapsed, (unsigned)(i / SLOTS),
	                        (unsigned)(i % SLOTS));
	/* In list order, so that equal deadlines keep their arm order. */
	for (;;) {
		next = l->next;
		/*
		 * A second walk, from the tail, reads the links not placed yet
		 * and stops where it meets this one: two misses in flight
		 * instead of one, and the second half is warm when this walk
		 * gets there.
		 */
		if (back != l && back != next) {
			back = back->prev;
			prefetch(back);
		}
		place(w, node_of(l));
		if (l == last)
			break;
		l = next;
	}
}

/*
 * The earliest non-empty slot, as level * SLOTS + slot: the lowest set bit
 * of the lowest non-zero bitmap word, found from the summary word. 0 if
 * there is one, -1 if the wheel (not counting the overdue list) is empty.
 */
static int
earliest(const struct evfut__timer_wheel *w, size_t *i)
{
	unsigned word;

	if (w->nonempty == 0)
		return -1;
	word = lowest_bit(w->nonempty);
	*i = (size_t)word * 64 + lowest_bit(w->occupied[word]);
	return 0;
}

/*
 * Moves the cursor forward to @now, which is no later than any armed
 * deadline. Every slot then holds the same nodes as if they had been
 * placed from @now, since each slot's start is later than @now: the digits
 * above a node's level are shared by elapsed and the slot start, hence by
 * @now between them.
 */
static void
catch_up(struct evfut__timer_wheel *w, uint64_t now)
{
	if (now > w->elapsed)
		w->elapsed = now;
}

/*
 * Files @n, whose deadline is earlier than the cursor, in the overdue list,
 * kept sorted by deadline. The walk starts at the tail and stops at the
 * first deadline not later than @n's, so @n follows the equal ones armed
 * before it; a deadline armed after the others (the usual order) stops at
 * once.
 */
static void
file_overdue(struct evfut__timer_wheel *w, struct evfut_timer_node *n)
{
	struct evfut_timer_link *at = w->overdue.prev;

	while (at != &w->overdue && node_of(at)->deadline > n->deadline)
		at = at->prev;
	append(at->next, &n->u.wheel);
}

int
evfut__timer_wheel_init(struct evfut__timer_wheel *w, uint64_t now)
{
	w->elapsed = now;
	w->count = 0;
	w->nonempty = 0;
	w->overdue.next = w->overdue.prev = &w->overdue;
	for (unsigned k = 0; k < LEVELS * WORDS; k++)
		w->occupied[k] = 0;
	for (unsigned k = 0; k < LEVELS * SLOTS; k++)
		w->slots[k].next = w->slots[k].prev = &w->slots[k];
	return 0;
}

void
evfut__timer_wheel_finish(struct evfut__timer_wheel *w)
{
	/* The wheel owns no memory; its nodes belong to their futures. */
	(void)w;
}

int
evfut__timer_wheel_insert(struct evfut__timer_wheel *w,
                          struct evfut_timer_node *n, uint64_t deadline)
{
	if (n->u.wheel.next != NULL)
		return -EINVAL;
	n->deadline = deadline;
	/*
	 * Only a deadline earlier than a time already given to pop can be
	 * behind the cursor; the driver never arms one (it fires it instead).
	 */
	if (deadline < w->elapsed)
		file_overdue(w, n);
	else
		place(w, n);
	w->count++;
	return 0;
}

void
evfut__timer_wheel_remove(struct evfut__timer_wheel *w,
                          struct evfut_timer_node *n)
{
	struct evfut_timer_link *l = &n->u.wheel;
	struct evfut_timer_link *prev = l->prev;
	struct evfut_timer_link *next = l->next;

	assert(next != NULL && w->count > 0);
	prev->next = next;
	next->prev = prev;
	/*
	 * Both neighbours are the same link only when the list is now empty,
	 * and then that link is the list's head: a slot's, whose index names
	 * the bit, or the overdue list's.
	 */
	if (prev == next && prev != &w->overdue) {
		size_t i = (size_t)(prev - w->slots);

		assert(i < LEVELS * SLOTS);
		unmark(w, i);
	}
	l->next = l->prev = NULL;
	w->count--;
}

int
evfut__timer_wheel_armed(const struct evfut_timer_node *n)
{
	return n->u.wheel.next != NULL;
}

uint64_t
evfut__timer_wheel_next_deadline(struct evfut__timer_wheel *w)
{
	const struct evfut_timer_link *head, *l;
	unsigned k;
	size_t i;
	uint64_t min = UINT64_MAX;

	if (w->overdue.next != &w->overdue)
		return node_of(w->overdue.next)->deadline;
	if (earliest(w, &i) < 0)
		return UINT64_MAX;
	head = &w->slots[i];
	if (i < SLOTS)
		return node_of(head->next)->deadline;
	/*
	 * A higher slot mixes deadlines. Few nodes are worth a scan for the
	 * exact answer (then a timerfd fires once); more would make the call
	 * O(n), so the slot's start, later than the cursor, is returned
	 * instead: popping at it cascades the slot a level lower or more.
	 */
	for (l = head->next, k = 0; l != head; l = l->next, k++) {
		if (k == SCAN_MAX)
			return slot_start(w->elapsed, (unsigned)(i / SLOTS),
			                  (unsigned)(i % SLOTS));
		if (node_of(l)->deadline < min)
			min = node_of(l)->deadline;
	}
	return min;
}

struct evfut_timer_node *
evfut__timer_wheel_pop(struct evfut__timer_wheel *w, uint64_t now)
{
	struct evfut_timer_node *n;
	size_t i;

	/* Overdue nodes are earlier than the cursor, hence than the rest. */
	if (w->overdue.next != &w->overdue) {
		n = node_of(w->overdue.next);
		if (n->deadline > now)
			return NULL;
		evfut__timer_wheel_remove(w, n);
		return n;
	}
	for (;;) {
		if (earliest(w, &i) < 0) {
			catch_up(w, now);
			return NULL;
		}
		if (i < SLOTS) {
			n = node_of(w->slots[i].next);
			if (n->deadline > now) {
				catch_up(w, now);
				return NULL;
			}
			evfut__timer_wheel_remove(w, n);
			return n;
		}
		/* The cursor never passes @now, so arming after now is O(1). */
		if (slot_start(w->elapsed, (unsigned)(i / SLOTS),
		               (unsigned)(i % SLOTS)) > now) {
			catch_up(w, now);
			return NULL;
		}
		cascade(w, i);
	}
}

size_t
evfut__timer_wheel_count(const struct evfut__timer_wheel *w)
{
	return w->count;
}
