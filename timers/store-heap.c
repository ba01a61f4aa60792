/*
 * The timer store as a 4-ary min-heap keyed on (deadline, seq), each node
 * remembering its position so that cancel is O(log n) without a search.
 *
 * The array holds {deadline, node} entries rather than node pointers, as
 * libev's 4-heap does: comparing two entries reads the array only, and the
 * node (a cache miss, since nodes live in futures all over memory) is read
 * for its seq only when two deadlines are equal. An entry is 16 bytes, so
 * the four siblings of a level fill one 64-byte line when the array is
 * 64-byte aligned and the root sits at index 3; the array keeps that
 * alignment by hand, since the allocator hook offers none. Four children
 * rather than two halve the depth, for twice the compares a level, which
 * the shared line makes cheap.
 *
 * libuv's intrusive pointer-tree heap allocates nothing, but needs three
 * pointers a node and walks the tree by pointer; the array costs 16 bytes a
 * timer (up to twice that just after it doubled) and keeps the node at 24:
 * its position and seq fill the node's union, beside the deadline.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "../runtime/alloc.h"
#include "store.h"

#define ARITY            4
#define INITIAL_CAPACITY 61 /* 64 entries with the 3 of padding */
#define LINE             64
#define PAD              3 /* entries before the root */

/* Index of the first child of @i, and of the parent of @i, with the pad. */
#define FIRST_CHILD(i) (ARITY * ((i)-PAD) + PAD + 1)
#define PARENT(i)      (((i)-PAD - 1) / ARITY + PAD)

typedef struct evfut__timer_heap_entry entry;

static int
earlier(const entry *a, const entry *b)
{
	if (a->deadline != b->deadline)
		return a->deadline < b->deadline;
	return a->node->u.heap.seq < b->node->u.heap.seq;
}

static void
put(struct evfut__timer_heap *h, size_t i, entry e)
{
	h->entries[i] = e;
	e.node->u.heap.pos = i - PAD + 1;
}

/* Moves the hole at @i up until @e fits, then puts @e there. */
static void
sift_up(struct evfut__timer_heap *h, size_t i, entry e)
{
	while (i > PAD) {
		size_t parent = PARENT(i);

		if (!earlier(&e, &h->entries[parent]))
			break;
		put(h, i, h->entries[parent]);
		i = parent;
	}
	put(h, i, e);
}

/* Moves the hole at @i down until @e fits, then puts @e there. */
static void
sift_down(struct evfut__timer_heap *h, size_t i, entry e)
{
	size_t end_all = h->count + PAD;

	for (;;) {
		size_t first = FIRST_CHILD(i);
		size_t end = first + ARITY;
		size_t best = first;

		if (first >= end_all)
			break;
		if (end > end_all)
			end = end_all;
		for (size_t c = first + 1; c < end; c++) {
			if (earlier(&h->entries[c], &h->entries[best]))
				best = c;
		}
		if (!earlier(&h->entries[best], &e))
			break;
		put(h, i, h->entries[best]);
		i = best;
	}
	put(h, i, e);
}

/*
 * Points h->entries into @raw at a LINE-aligned address; the first real
 * entry (index PAD) then ends a line, so siblings share one. After a
 * realloc the data may sit at another offset from the line: move it.
 */
static void
align_entries(struct evfut__timer_heap *h, void *raw, size_t old_offset,
              size_t used)
{
	uintptr_t at = (uintptr_t)raw;
	size_t offset = (size_t)((LINE - at % LINE) % LINE);

	if (offset != old_offset)
		memmove((char *)raw + offset, (char *)raw + old_offset, used);
	h->raw = raw;
	h->entries = (entry *)(void *)((char *)raw + offset);
}

static size_t
bytes_for(size_t capacity)
{
	return (capacity + PAD) * sizeof(entry) + LINE - sizeof(entry);
}

static int
grow(struct evfut__timer_heap *h)
{
	size_t capacity = h->capacity * 2;
	size_t offset = (size_t)((char *)h->entries - (char *)h->raw);
	void *raw;

	if (capacity < h->capacity ||
	    capacity > (SIZE_MAX - LINE) / sizeof(entry) - PAD)
		return -ENOMEM;
	raw = evfut__realloc(h->raw, bytes_for(capacity));
	if (raw == NULL)
		return -ENOMEM;
	align_entries(h, raw, offset, (h->count + PAD) * sizeof(entry));
	h->capacity = capacity;
	return 0;
}

int
evfut__timer_heap_init(struct evfut__timer_heap *h, uint64_t now)
{
	void *raw = evfut__malloc(bytes_for(INITIAL_CAPACITY));

	(void)now;
	if (raw == NULL)
		return -ENOMEM;
	align_entries(h, raw, 0, 0);
	h->count = 0;
	h->capacity = INITIAL_CAPACITY;
	h->next_seq = 0;
	return 0;
}

void
evfut__timer_heap_finish(struct evfut__timer_heap *h)
{
	if (h == NULL)
		return;
	evfut__free(h->raw);
	h->raw = NULL;
	h->entries = NULL;
	h->count = 0;
	h->capacity = 0;
}

int
evfut__timer_heap_insert(struct evfut__timer_heap *h,
                         struct evfut_timer_node *n, uint64_t deadline)
{
	int rc;

	if (n->u.heap.pos != 0)
		return -EINVAL;
	if (h->count == h->capacity) {
		rc = grow(h);
		if (rc < 0)
			return rc;
	}
	n->deadline = deadline;
	n->u.heap.seq = h->next_seq++;
	h->count++;
	sift_up(h, h->count - 1 + PAD, (entry){deadline, n});
	return 0;
}

void
evfut__timer_heap_remove(struct evfut__timer_heap *h,
                         struct evfut_timer_node *n)
{
	size_t i = n->u.heap.pos - 1 + PAD;
	entry last;

	assert(n->u.heap.pos != 0 && i < h->count + PAD &&
	       h->entries[i].node == n);
	n->u.heap.pos = 0;
	last = h->entries[--h->count + PAD];
	if (last.node == n)
		return;
	/*
	 * The last entry fills the hole; it may belong above it (it came from
	 * another subtree) or below it, never both.
	 */
	if (i > PAD && earlier(&last, &h->entries[PARENT(i)]))
		sift_up(h, i, last);
	else
		sift_down(h, i, last);
}

int
evfut__timer_heap_armed(const struct evfut_timer_node *n)
{
	return n->u.heap.pos != 0;
}

uint64_t
evfut__timer_heap_next_deadline(struct evfut__timer_heap *h)
{
	return h->count > 0 ? h->entries[PAD].deadline : UINT64_MAX;
}

struct evfut_timer_node *
evfut__timer_heap_pop(struct evfut__timer_heap *h, uint64_t now)
{
	struct evfut_timer_node *n;

	if (h->count == 0 || h->entries[PAD].deadline > now)
		return NULL;
	n = h->entries[PAD].node;
	evfut__timer_heap_remove(h, n);
	return n;
}

size_t
evfut__timer_heap_count(const struct evfut__timer_heap *h)
{
	return h->count;
}
