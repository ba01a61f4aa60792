/*
 * The timer store as a 4-ary min-heap of node pointers keyed on
 * (deadline, seq), each node remembering its position so that cancel is
 * O(log n) without a search.
 *
 * Four children rather than two halve the depth, and the four sibling
 * pointers share a cache line, so a sift-down costs about half the cache
 * misses of a binary heap for the same comparisons. libuv's intrusive
 * pointer-tree heap allocates nothing, but needs three pointers a node and
 * walks the tree by pointer; an array of pointers keeps the node at 32 bytes
 * and the walk in contiguous memory, for 8 bytes a timer in the array.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>

#include "../runtime/alloc.h"
#include "store.h"

#define ARITY            4
#define INITIAL_CAPACITY 64

static int
earlier(const struct evfut_timer_node *a, const struct evfut_timer_node *b)
{
	if (a->deadline != b->deadline)
		return a->deadline < b->deadline;
	return a->seq < b->seq;
}

static void
put(struct evfut__timer_heap *h, size_t i, struct evfut_timer_node *n)
{
	h->nodes[i] = n;
	n->u.heap_pos = i + 1;
}

/* Moves the hole at @i up until @n fits, then puts @n there. */
static void
sift_up(struct evfut__timer_heap *h, size_t i, struct evfut_timer_node *n)
{
	while (i > 0) {
		size_t parent = (i - 1) / ARITY;

		if (!earlier(n, h->nodes[parent]))
			break;
		put(h, i, h->nodes[parent]);
		i = parent;
	}
	put(h, i, n);
}

/* Moves the hole at @i down until @n fits, then puts @n there. */
static void
sift_down(struct evfut__timer_heap *h, size_t i, struct evfut_timer_node *n)
{
	for (;;) {
		size_t first = i * ARITY + 1;
		size_t end = first + ARITY;
		size_t best = first;

		if (first >= h->count)
			break;
		if (end > h->count)
			end = h->count;
		for (size_t c = first + 1; c < end; c++) {
			if (earlier(h->nodes[c], h->nodes[best]))
				best = c;
		}
		if (!earlier(h->nodes[best], n))
			break;
		put(h, i, h->nodes[best]);
		i = best;
	}
	put(h, i, n);
}

static int
grow(struct evfut__timer_heap *h)
{
	struct evfut_timer_node **nodes;
	size_t capacity = h->capacity * 2;

	if (capacity < h->capacity || capacity > SIZE_MAX / sizeof(*nodes))
		return -ENOMEM;
	nodes = evfut__realloc(h->nodes, capacity * sizeof(*nodes));
	if (nodes == NULL)
		return -ENOMEM;
	h->nodes = nodes;
	h->capacity = capacity;
	return 0;
}

int
evfut__timer_heap_init(struct evfut__timer_heap *h, uint64_t now)
{
	(void)now;
	h->nodes = evfut__malloc(INITIAL_CAPACITY * sizeof(*h->nodes));
	if (h->nodes == NULL)
		return -ENOMEM;
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
	evfut__free(h->nodes);
	h->nodes = NULL;
	h->count = 0;
	h->capacity = 0;
}

int
evfut__timer_heap_insert(struct evfut__timer_heap *h,
                         struct evfut_timer_node *n, uint64_t deadline)
{
	int rc;

	if (n->u.heap_pos != 0)
		return -EINVAL;
	if (h->count == h->capacity) {
		rc = grow(h);
		if (rc < 0)
			return rc;
	}
	n->deadline = deadline;
	n->seq = h->next_seq++;
	h->count++;
	sift_up(h, h->count - 1, n);
	return 0;
}

void
evfut__timer_heap_remove(struct evfut__timer_heap *h,
                         struct evfut_timer_node *n)
{
	size_t i = n->u.heap_pos - 1;
	struct evfut_timer_node *last;

	assert(n->u.heap_pos != 0 && i < h->count && h->nodes[i] == n);
	n->u.heap_pos = 0;
	last = h->nodes[--h->count];
	if (last == n)
		return;
	/*
	 * The last node fills the hole; it may belong above it (it came from
	 * another subtree) or below it, never both.
	 */
	if (i > 0 && earlier(last, h->nodes[(i - 1) / ARITY]))
		sift_up(h, i, last);
	else
		sift_down(h, i, last);
}

int
evfut__timer_heap_armed(const struct evfut_timer_node *n)
{
	return n->u.heap_pos != 0;
}

uint64_t
evfut__timer_heap_next_deadline(struct evfut__timer_heap *h)
{
	return h->count > 0 ? h->nodes[0]->deadline : UINT64_MAX;
}

struct evfut_timer_node *
evfut__timer_heap_pop(struct evfut__timer_heap *h, uint64_t now)
{
	struct evfut_timer_node *n;

	if (h->count == 0 || h->nodes[0]->deadline > now)
		return NULL;
	n = h->nodes[0];
	evfut__timer_heap_remove(h, n);
	return n;
}

size_t
evfut__timer_heap_count(const struct evfut__timer_heap *h)
{
	return h->count;
}
