/*
 * Private: the runtime's state, shared by the task, executor and runtime
 * files.
 */
#ifndef EVFUT_RUNTIME_RUNTIME_H
#define EVFUT_RUNTIME_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "evfut/runtime.h"
#include "evfut/task.h"

#include "pool.h"
#include "queue.h"
#include "driver.h"
#include "remote.h"

struct event;
struct event_base;

/* evfut_task.state, atomic: what other threads see and change. */
#define EVFUT__TASK_QUEUED 1u /* in the remote queue, which holds a ref */
#define EVFUT__TASK_DONE   2u /* finished: a remote wake does nothing */
#define EVFUT__TASK_ABORT  4u /* queued remotely to be aborted */

/* evfut_task.flags: the runtime thread's own, no atomics. Idle is none of
 * SCHEDULED, RUNNING and COMPLETE. */
#define EVFUT__TASK_OWNS_FUTURE    1u    /* drop the future when finished */
#define EVFUT__TASK_WOKEN_REMOTELY 2u    /* for the trace: a remote wake */
#define EVFUT__TASK_JOINABLE       4u    /* a join waker precedes the header */
#define EVFUT__TASK_ABORTED        8u    /* drop the future, do not poll */
#define EVFUT__TASK_CANCELLED      16u   /* finished without completing */
#define EVFUT__TASK_SCHEDULED      32u   /* in the ready queue */
#define EVFUT__TASK_RUNNING        64u   /* being polled */
#define EVFUT__TASK_NOTIFIED       128u  /* woken while running */
#define EVFUT__TASK_COMPLETE       256u  /* finished */
#define EVFUT__TASK_EXTERNAL       512u  /* future, release in fields */
#define EVFUT__TASK_ALIGNED        1024u /* block from alloc_aligned() */
#define EVFUT__TASK_IN_SET         2048u /* set links precede the header */

struct evfut_join_set;

/* A task set's links in its member, before the header. */
struct evfut__set_link {
	struct evfut_join_set *set; /* NULL once the set let go of it */
	struct evfut_task *next;    /* running: both; done: next only */
	struct evfut_task *prev;
	void *pad; /* keeps the header max-aligned */
};

struct evfut_runtime {
	struct event_base *base;
	struct event *wakeup_event; /* the remote queue's signal */
	unsigned budget;
	bool running;
	bool borrowed;             /* the base is a host's */
	bool stopped;              /* being destroyed: queue nothing */
	bool draining;             /* in on_drain: no need to kick */
	struct event *drain_event; /* borrowed: drains from the host's loop */
	struct evfut__queue ready; /* local FIFO, the runtime's thread only */
	struct evfut__remote remote;
	struct evfut_task *live; /* tasks not finished, for shutdown */
	uint64_t allocated;      /* tasks not yet released, with ... */
	uint64_t freed_local;    /* ... those released on its thread */
	uint32_t next_id;
	struct evfut__pool pool; /* spawned tasks' memory */
	bool pooled;             /* false: tasks come from malloc */
	struct evfut__timers timers;
	unsigned coop;                /* budget left to the task being polled */
	unsigned holds;               /* work in flight elsewhere: see below */
	struct evfut_task *debt_task; /* waker drops not yet counted ... */
	unsigned debt;                /* ... how many: see task.c */
	struct evfut_pool *blocking;  /* NULL until asked for */
	bool blocking_borrowed;       /* the caller's: not destroyed */
	evfut_trace_fn trace;         /* NULL unless tracing */
	void *trace_arg;
	struct evfut_stats stats; /* wakes_remote lives in remote */
};

/* The runtime running on this thread, if any: wakes from it go local. */
/*
 * Every wake reads it, so it must not cost a __tls_get_addr call: the
 * initial-exec model is a plain %fs-relative load. Its one constraint, on
 * dlopen() of the library after start-up, is a few bytes of the static TLS
 * surplus glibc keeps for this.
 */
#if defined(__GNUC__)
#define EVFUT__TLS __attribute__((tls_model("initial-exec")))
#else
#define EVFUT__TLS
#endif
extern _Thread_local struct evfut_runtime *evfut__current EVFUT__TLS;

void evfut__trace(struct evfut_runtime *rt, enum evfut_trace_event event,
                  struct evfut_task *task, int flag);
void evfut__task_poll(struct evfut_runtime *rt, struct evfut_task *task);
void evfut__task_take_remote(struct evfut_runtime *rt);
void evfut__task_cancel(struct evfut_runtime *rt, struct evfut_task *task);
void evfut__task_unref(struct evfut_task *task);
void evfut__task_wake_remote(struct evfut_task *task, unsigned bits);
void evfut__task_abort(struct evfut_task *task);
/* Counts the waker drops the runtime's thread deferred; that thread. */
void evfut__task_settle(struct evfut_runtime *rt);
void evfut__task_clear_ready(struct evfut_runtime *rt);
/* Copies @future into a new task of @flags (JOINABLE, IN_SET) whose
 * future starts @align-aligned (0: max_align_t); not launched yet. */
int evfut__task_spawn_copy(struct evfut_runtime *rt,
                           const struct evfut_future *future, size_t size,
                           size_t align, unsigned flags,
                           struct evfut_task **out);
void evfut__task_launch(struct evfut_runtime *rt, struct evfut_task *task,
                        const char *where);
struct evfut_future *evfut__task_future(struct evfut_task *task);
struct evfut_waker *evfut__task_join_waker(struct evfut_task *task);
struct evfut__set_link *evfut__task_set_link(struct evfut_task *task);
/* A member of a task set finished: the set moves it to its done list. */
void evfut__join_set_finished(struct evfut_task *task);
int evfut__task_root(struct evfut_runtime *rt, struct evfut_future *future,
                     struct evfut_task **out);
void evfut__runtime_free(struct evfut_runtime *rt);
void evfut__drain(struct evfut_runtime *rt);
void evfut__drain_later(struct evfut_runtime *rt);
int evfut__drain_init(struct evfut_runtime *rt);

/*
 * Work that runs on another thread on behalf of a task (a blocking-pool
 * job) holds the virtual clock back from its start until the runtime's
 * thread sees it finished or dropped: the clock must not jump to a
 * deadline while the job runs. Hold on the runtime's thread; release there
 * too, or on any thread after evfut_runtime_destroy(). NULL is allowed.
 */
void evfut__runtime_hold(struct evfut_runtime *rt);
void evfut__runtime_release(struct evfut_runtime *rt);

/* Destroys the pool evfut_runtime_blocking_pool() created, if any. */
void evfut__runtime_pool_finish(struct evfut_runtime *rt);

/* Whether every task @rt launched was released; the remote lock held. */
static inline bool
evfut__tasks_released_locked(const struct evfut_runtime *rt)
{
	return rt->allocated == rt->freed_local + rt->remote.freed;
}

/* In a borrowed base, nothing drains unless asked: ask on new work. */
static inline void
evfut__kick(struct evfut_runtime *rt)
{
	if (rt->borrowed && !rt->draining)
		evfut__drain_later(rt);
}

#endif
