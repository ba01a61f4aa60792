/*
 * The wait set: a poll over up to 64 borrowed children that reports the
 * completed ones and keeps the rest.
 *
 * Two words of bits say everything: armed (polled by the set) and done
 * (completed since it was armed, not handed out yet). A child is polled
 * only when armed and not done, since a completed future must not be
 * polled again. Nothing points into the struct, so it may be copied into
 * a task before its first poll.
 */
#include <errno.h>
#include <string.h>

#include "evfut/join.h"

static enum evfut_poll wait_set_poll(struct evfut_future *self,
                                     struct evfut_context *cx);

static uint64_t
bit(size_t index)
{
	return UINT64_C(1) << index;
}

int
evfut_wait_set_init(struct evfut_wait_set *set,
                    struct evfut_future *const *children, size_t count)
{
	if (set == NULL || children == NULL || count == 0 ||
	    count > EVFUT_WAIT_SET_MAX)
		return -EINVAL;
	for (size_t i = 0; i < count; i++) {
		if (children[i] == NULL || children[i]->poll == NULL)
			return -EINVAL;
	}
	memset(set, 0, sizeof(*set));
	set->base.poll = wait_set_poll;
	set->children = children;
	set->count = count;
	set->armed = count == 64 ? UINT64_MAX : bit(count) - 1;
	return 0;
}

static enum evfut_poll
wait_set_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_wait_set *set =
	        evfut_container_of(self, struct evfut_wait_set, base);
	uint64_t todo = set->armed & ~set->done;

	/* Each child once, lowest first: a child that wakes itself on every
	 * poll makes the task run again, not this loop spin. */
	while (todo != 0) {
		size_t i = (size_t)__builtin_ctzll(todo);

		todo &= todo - 1;
		if (evfut_future_poll(set->children[i], cx) == EVFUT_READY)
			set->done |= bit(i);
	}
	/* Nothing armed would be a wait forever: complete with nothing. */
	if (set->done != 0 || set->armed == 0)
		return EVFUT_READY;
	return EVFUT_PENDING;
}

int
evfut_wait_set_next(struct evfut_wait_set *set)
{
	size_t i;

	if (set == NULL || set->done == 0)
		return -1;
	i = (size_t)__builtin_ctzll(set->done);
	set->done &= ~bit(i);
	set->armed &= ~bit(i);
	return (int)i;
}

int
evfut_wait_set_arm(struct evfut_wait_set *set, size_t index)
{
	if (set == NULL || index >= set->count)
		return -EINVAL;
	set->armed |= bit(index);
	set->done &= ~bit(index);
	return 0;
}

int
evfut_wait_set_disarm(struct evfut_wait_set *set, size_t index)
{
	if (set == NULL || index >= set->count)
		return -EINVAL;
	set->armed &= ~bit(index);
	set->done &= ~bit(index);
	return 0;
}

int
evfut_wait_set_is_armed(const struct evfut_wait_set *set, size_t index)
{
	if (set == NULL || index >= set->count)
		return 0;
	return (set->armed & bit(index)) != 0;
}
