/*
 * join, select and yield_now.
 *
 * A join remembers which children completed in a bitmap, since a completed
 * future must not be polled again; the bitmap is a word inside the struct
 * for up to 64 children, so the common join allocates nothing. A pointer
 * to that word would not survive the struct being copied into a task, so
 * the inline word is used whenever bits is NULL.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "evfut/join.h"

#include "alloc.h"

static enum evfut_poll join_poll(struct evfut_future *self,
                                 struct evfut_context *cx);
static void join_drop(struct evfut_future *self);
static enum evfut_poll select_poll(struct evfut_future *self,
                                   struct evfut_context *cx);
static void select_drop(struct evfut_future *self);
static enum evfut_poll yield_poll(struct evfut_future *self,
                                  struct evfut_context *cx);

static bool
children_valid(struct evfut_future *const *children, size_t count)
{
	if (children == NULL)
		return count == 0;
	for (size_t i = 0; i < count; i++) {
		if (children[i] == NULL || children[i]->poll == NULL)
			return false;
	}
	return true;
}

int
evfut_join_init(struct evfut_join *join, struct evfut_future *const *children,
                size_t count)
{
	uint64_t *bits = NULL;

	if (join == NULL || !children_valid(children, count))
		return -EINVAL;
	if (count > 64) {
		bits = evfut__calloc((count + 63) / 64, sizeof(*bits));
		if (bits == NULL)
			return -ENOMEM;
	}
	memset(join, 0, sizeof(*join));
	join->base.poll = join_poll;
	join->base.drop = join_drop;
	join->children = children;
	join->count = count;
	join->bits = bits;
	return 0;
}

static uint64_t *
done_word(struct evfut_join *join, size_t i)
{
	return join->bits != NULL ? &join->bits[i / 64] : &join->small;
}

static enum evfut_poll
join_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_join *join =
	        evfut_container_of(self, struct evfut_join, base);
	uint64_t *word, bit;

	for (size_t i = 0; i < join->count && join->completed < join->count;
	     i++) {
		word = done_word(join, i);
		bit = UINT64_C(1) << (i % 64);
		if (*word & bit)
			continue;
		if (evfut_future_poll(join->children[i], cx) == EVFUT_READY) {
			*word |= bit;
			join->completed++;
		}
	}
	if (join->completed < join->count)
		return EVFUT_PENDING;
	/* Complete, it holds nothing (docs/async.md, rule 7). */
	evfut__free(join->bits);
	join->bits = NULL;
	return EVFUT_READY;
}

static void
join_drop(struct evfut_future *self)
{
	struct evfut_join *join =
	        evfut_container_of(self, struct evfut_join, base);

	if (join->dropped)
		return;
	join->dropped = 1;
	for (size_t i = 0; i < join->count; i++)
		evfut_future_drop(join->children[i]);
	evfut__free(join->bits);
	join->bits = NULL;
}

int
evfut_select_init(struct evfut_select *select,
                  struct evfut_future *const *children, size_t count)
{
	if (select == NULL || children == NULL || count == 0 ||
	    !children_valid(children, count))
		return -EINVAL;
	memset(select, 0, sizeof(*select));
	select->base.poll = select_poll;
	select->base.drop = select_drop;
	select->children = children;
	select->count = count;
	return 0;
}

static enum evfut_poll
select_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_select *select =
	        evfut_container_of(self, struct evfut_select, base);
	size_t i;

	if (select->done)
		return EVFUT_READY;
	for (i = 0; i < select->count; i++) {
		if (evfut_future_poll(select->children[i], cx) == EVFUT_READY)
			break;
	}
	if (i == select->count)
		return EVFUT_PENDING;
	select->done = 1;
	select->index = i;
	/* The losers leave now: their timers and registrations go with them. */
	for (size_t j = 0; j < select->count; j++) {
		if (j != i)
			evfut_future_drop(select->children[j]);
	}
	return EVFUT_READY;
}

static void
select_drop(struct evfut_future *self)
{
	struct evfut_select *select =
	        evfut_container_of(self, struct evfut_select, base);

	if (select->dropped)
		return;
	select->dropped = 1;
	for (size_t j = 0; j < select->count; j++) {
		if (!select->done || j == select->index)
			evfut_future_drop(select->children[j]);
	}
}

void
evfut_yield_init(struct evfut_yield *yield)
{
	memset(yield, 0, sizeof(*yield));
	yield->base.poll = yield_poll;
}

static enum evfut_poll
yield_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_yield *yield =
	        evfut_container_of(self, struct evfut_yield, base);

	if (yield->yielded)
		return EVFUT_READY;
	yield->yielded = 1;
	evfut_waker_wake_by_ref(cx->waker);
	return EVFUT_PENDING;
}
