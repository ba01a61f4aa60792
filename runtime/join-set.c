/*
 * Task sets: tasks spawned into a set are awaited in the order they
 * finish, and aborted together. Each member carries the set's links
 * before its header, so the set allocates nothing: a doubly linked list of
 * the tasks still running (a finished one leaves it in O(1)) and a FIFO of
 * the finished ones, each holding the set's reference until a next future
 * takes it.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "evfut/handle.h"

#include "runtime.h"

static struct evfut__set_link *
link_of(struct evfut_task *task)
{
	return evfut__task_set_link(task);
}

static void
running_unlink(struct evfut_join_set *set, struct evfut_task *task)
{
	struct evfut__set_link *l = link_of(task);

	if (l->prev != NULL)
		link_of(l->prev)->next = l->next;
	else
		set->running = l->next;
	if (l->next != NULL)
		link_of(l->next)->prev = l->prev;
}

void
evfut_join_set_init(struct evfut_join_set *set)
{
	struct evfut_waker empty = EVFUT_WAKER_EMPTY;

	memset(set, 0, sizeof(*set));
	set->waker = empty;
}

int
evfut_join_set_spawn_at(struct evfut_join_set *set, struct evfut_runtime *rt,
                        const struct evfut_future *future, size_t size,
                        const char *where)
{
	struct evfut__set_link *l;
	struct evfut_task *task;
	int rc;

	if (set == NULL)
		return -EINVAL;
	rc = evfut__task_spawn_copy(rt, future, size, 0, EVFUT__TASK_IN_SET,
	                            &task);
	if (rc < 0)
		return rc;
	l = link_of(task);
	l->set = set;
	l->prev = NULL;
	l->next = set->running;
	if (set->running != NULL)
		link_of(set->running)->prev = task;
	set->running = task;
	set->len++;
	evfut__task_launch(rt, task, where);
	task->refs++; /* the set's */
	task->holders++;
	return 0;
}

void
evfut__join_set_finished(struct evfut_task *task)
{
	struct evfut__set_link *l = link_of(task);
	struct evfut_join_set *set = l->set;

	if (set == NULL)
		return;
	running_unlink(set, task);
	l->next = NULL;
	if (set->done_tail != NULL)
		link_of(set->done_tail)->next = task;
	else
		set->done_head = task;
	set->done_tail = task;
	evfut_waker_wake_by_ref(&set->waker);
}

size_t
evfut_join_set_len(const struct evfut_join_set *set)
{
	return set != NULL ? set->len : 0;
}

/* The first member still running that is not aborted yet, or NULL. */
static struct evfut_task *
first_to_abort(struct evfut_join_set *set)
{
	struct evfut_task *task = set->running;

	while (task != NULL && (task->flags & EVFUT__TASK_ABORTED))
		task = link_of(task)->next;
	return task;
}

void
evfut_join_set_abort_all(struct evfut_join_set *set)
{
	struct evfut_task *task;

	if (set == NULL)
		return;
	/* An abort unlinks the task, and its drop may end other members. */
	while ((task = first_to_abort(set)) != NULL)
		evfut__task_abort(task);
}

/* Gives up the set's reference to @task, which left its lists. */
static void
let_go(struct evfut_task *task)
{
	link_of(task)->set = NULL;
	task->holders--;
	evfut__task_unref(task);
}

void
evfut_join_set_finish(struct evfut_join_set *set)
{
	struct evfut_task *task;

	if (set == NULL)
		return;
	evfut_join_set_abort_all(set);
	/* Running still: the caller's own task, which ends after its poll. */
	while ((task = set->running) != NULL) {
		running_unlink(set, task);
		let_go(task);
	}
	while ((task = set->done_head) != NULL) {
		set->done_head = link_of(task)->next;
		let_go(task);
	}
	set->done_tail = NULL;
	set->len = 0;
	evfut_waker_drop(&set->waker);
}

static enum evfut_poll
next_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_join_set_next *next =
	        evfut_container_of(self, struct evfut_join_set_next, base);
	struct evfut_join_set *set = next->set;
	struct evfut_task *task;

	if (next->task != NULL || set == NULL)
		return EVFUT_READY;
	task = set->done_head;
	if (task == NULL) {
		if (set->len == 0) {
			next->result = -ENOENT;
			next->set = NULL;
			return EVFUT_READY;
		}
		evfut_waker_store(&set->waker, cx->waker);
		next->waiting = 1;
		return EVFUT_PENDING;
	}
	set->done_head = link_of(task)->next;
	if (set->done_head == NULL)
		set->done_tail = NULL;
	set->len--;
	link_of(task)->set = NULL;
	next->task = task;
	next->result = task->flags & EVFUT__TASK_CANCELLED ? -ECANCELED : 0;
	if (next->waiting)
		evfut_waker_drop(&set->waker);
	next->waiting = 0;
	next->set = NULL;
	return EVFUT_READY;
}

static void
next_drop(struct evfut_future *self)
{
	struct evfut_join_set_next *next =
	        evfut_container_of(self, struct evfut_join_set_next, base);
	struct evfut_task *task = next->task;

	/* Dropped while waiting: the finished tasks stay in the set. */
	if (next->waiting && next->set != NULL)
		evfut_waker_drop(&next->set->waker);
	next->waiting = 0;
	next->set = NULL;
	next->task = NULL;
	if (task != NULL) {
		task->holders--;
		evfut__task_unref(task);
	}
}

int
evfut_join_set_next_init(struct evfut_join_set_next *next,
                         struct evfut_join_set *set)
{
	if (next == NULL || set == NULL)
		return -EINVAL;
	memset(next, 0, sizeof(*next));
	next->base.poll = next_poll;
	next->base.drop = next_drop;
	next->set = set;
	return 0;
}

const struct evfut_future *
evfut_join_set_next_output(const struct evfut_join_set_next *next)
{
	if (next == NULL || next->task == NULL || next->result != 0)
		return NULL;
	return evfut__task_future(next->task);
}
