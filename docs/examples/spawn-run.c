/*
 * spawn-run: spawning tasks on a runtime and running it until none is left.
 *
 * Run: ./build/docs/examples/spawn-run   (or: meson test -C build --suite docs)
 *
 * Two tasks are spawned by copy and one in caller memory; each logs a
 * letter per poll and yields by waking itself. The log shows the FIFO
 * order of the ready queue, the counters show the budget at work, and a
 * nested block_on is refused. Exits 0 when every check holds.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <evfut.h>

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
			        __LINE__, #cond);                              \
			return 1;                                              \
		}                                                              \
	} while (0)

/* [yield-future] */
/* Logs its letter on every poll; yields @yields times before it is done. */
struct yield_future {
	struct evfut_future base;
	char letter;
	unsigned yields;
	char *log; /* borrowed, long enough */
};

static enum evfut_poll
yield_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct yield_future *f =
	        evfut_container_of(self, struct yield_future, base);
	size_t n = strlen(f->log);

	f->log[n] = f->letter;
	f->log[n + 1] = '\0';
	if (f->yields == 0)
		return EVFUT_READY;
	f->yields--;
	/* Woken while running: polled again after the tasks queued now. */
	evfut_waker_wake_by_ref(cx->waker);
	return EVFUT_PENDING;
}
/* [yield-future] */

/* [caller-memory] */
/* A task and its future in memory the caller owns. */
struct job {
	struct evfut_task task;
	struct yield_future future;
	bool released;
};

/* Runs once the task finished and no waker refers to it any more. */
static void
job_release(struct evfut_task *task)
{
	struct job *job = evfut_container_of(task, struct job, task);

	job->released = true; /* a heap job would be freed here */
}
/* [caller-memory] */

/* [spawn-and-run] */
static int
spawn_and_run(void)
{
	struct evfut_runtime_options options = {.budget = 2};
	char log[16] = "";
	struct yield_future a = {
	        .base = EVFUT_FUTURE_INIT(yield_poll, NULL),
	        .letter = 'a',
	        .yields = 2,
	        .log = log,
	};
	struct yield_future b = a;
	struct job job = {.future = a};
	struct evfut_runtime *rt;
	struct evfut_stats stats;

	b.letter = 'b';
	job.future.letter = 'c';
	job.future.yields = 0;
	CHECK(evfut_runtime_create(&rt, &options) == 0);
	/* Copied into the task: a and b may go out of scope now. */
	CHECK(evfut_task_spawn(rt, &a.base, sizeof a) == 0);
	CHECK(evfut_task_spawn(rt, &b.base, sizeof b) == 0);
	/* Polled in place: job must stay put until job_release(). */
	CHECK(evfut_task_start(rt, &job.task, &job.future.base, job_release) ==
	      0);
	CHECK(evfut_runtime_run(rt) == 0);
	CHECK(strcmp(log, "abcabab") == 0);
	CHECK(job.released);
	CHECK(evfut_runtime_stats(rt, &stats) == 0);
	CHECK(stats.tasks_spawned == 3 && stats.tasks_completed == 3);
	CHECK(stats.tasks_live == 0 && stats.polls == 7);
	CHECK(stats.wakes_local == 4); /* the four yields */
	/* 7 polls, 2 per drain: 4 drains, one libevent iteration between. */
	CHECK(stats.loop_iterations == 3);
	evfut_runtime_destroy(rt);
	return 0;
}
/* [spawn-and-run] */

/* [nested] */
/* Tries to re-enter the runtime that polls it. */
struct nested_future {
	struct evfut_future base;
	int block_on_rc; /* results */
	int run_rc;
};

static enum evfut_poll
nested_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct nested_future *f =
	        evfut_container_of(self, struct nested_future, base);

	f->block_on_rc = evfut_runtime_block_on(cx->runtime, self);
	f->run_rc = evfut_runtime_run(cx->runtime);
	return EVFUT_READY;
}

static int
nested(void)
{
	struct nested_future f = {.base = EVFUT_FUTURE_INIT(nested_poll, NULL)};
	struct evfut_runtime *rt;

	CHECK(evfut_runtime_create(&rt, NULL) == 0);
	CHECK(evfut_runtime_block_on(rt, &f.base) == 0);
	CHECK(f.block_on_rc == -EDEADLK && f.run_rc == -EDEADLK);
	evfut_runtime_destroy(rt);
	return 0;
}
/* [nested] */

int
main(void)
{
	if (spawn_and_run() != 0 || nested() != 0)
		return 1;
	puts("spawn-run: ok");
	return 0;
}
