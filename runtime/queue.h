/*
 * Private: the intrusive FIFO of tasks, linked through evfut_task.next. A
 * task is in at most one queue at a time (its NOTIFIED bit says so), so one
 * link suffices and queueing never allocates.
 */
#ifndef EVFUT_RUNTIME_QUEUE_H
#define EVFUT_RUNTIME_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "evfut/task.h"

struct evfut__queue {
	struct evfut_task *head;
	struct evfut_task *tail;
};

static inline bool
evfut__queue_empty(const struct evfut__queue *q)
{
	return q->head == NULL;
}

static inline void
evfut__queue_push(struct evfut__queue *q, struct evfut_task *task)
{
	task->next = NULL;
	if (q->head == NULL)
		q->head = task;
	else
		q->tail->next = task;
	q->tail = task;
}

static inline struct evfut_task *
evfut__queue_pop(struct evfut__queue *q)
{
	struct evfut_task *task = q->head;

	if (task != NULL)
		q->head = task->next;
	return task;
}

/* Moves every task of @from to the end of @to, keeping their order. */
static inline void
evfut__queue_append(struct evfut__queue *to, struct evfut__queue *from)
{
	if (from->head == NULL)
		return;
	if (to->head == NULL)
		to->head = from->head;
	else
		to->tail->next = from->head;
	to->tail = from->tail;
	from->head = NULL;
	from->tail = NULL;
}

/* Unlinks @task if it is queued; O(n), for error paths only. */
static inline void
evfut__queue_remove(struct evfut__queue *q, struct evfut_task *task)
{
	struct evfut_task **link = &q->head;
	struct evfut_task *prev = NULL;

	while (*link != NULL && *link != task) {
		prev = *link;
		link = &prev->next;
	}
	if (*link == NULL)
		return;
	*link = task->next;
	if (q->tail == task)
		q->tail = prev;
}

#endif
