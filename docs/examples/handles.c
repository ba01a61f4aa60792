/*
 * handles: a joinable task whose result is read through its join, a
 * task aborted while it sleeps, one aborted from another thread while its
 * join is awaited, and a task set stopped gracefully.
 *
 * Run: ./build/gcc/docs/examples/handles
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include <evfut.h>

/* [parse-task] */
/* A task's future keeps its result in its own fields, as any future. */
struct parse {
	struct evfut_future base;
	const char *text;
	int value;
	int result; /* 0, or a negative errno */
};

static enum evfut_poll
parse_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct parse *p = evfut_container_of(self, struct parse, base);

	(void)cx;
	p->result = sscanf(p->text, "%d", &p->value) == 1 ? 0 : -EINVAL;
	return EVFUT_READY;
}
/* [parse-task] */

/* [join] */
static int
parse_in_a_task(struct evfut_runtime *rt, const char *text, int *value)
{
	struct parse p = {.base = EVFUT_FUTURE_INIT(parse_poll, NULL),
	                  .text = text};
	struct evfut_join_handle handle;
	struct evfut_task_join join;
	const struct parse *done;
	int rc = evfut_task_spawn_joinable(rt, &p.base, sizeof p, &handle);

	if (rc < 0)
		return rc;
	evfut_task_join_init(&join, &handle);
	rc = evfut_runtime_block_on(rt, &join.base);
	if (rc == 0)
		rc = join.result; /* -ECANCELED if it was aborted */
	if (rc == 0) {
		/* The task's copy of the future, readable until the drop. */
		done = (const struct parse *)(const void *)
		        evfut_task_join_output(&join);
		rc = done->result;
		*value = done->value;
	}
	evfut_future_drop(&join.base);
	return rc;
}
/* [join] */

/* [abort] */
static int
abort_a_sleeper(struct evfut_runtime *rt)
{
	struct evfut_sleep nap;
	struct evfut_join_handle handle;
	struct evfut_task_join join;
	int rc;

	evfut_sleep_init(&nap, 3600 * EVFUT_SEC);
	rc = evfut_task_spawn_joinable(rt, &nap.base, sizeof nap, &handle);
	if (rc < 0)
		return rc;
	/* Queued, never polled: its future is dropped within the call. */
	evfut_task_abort(&handle);
	evfut_task_join_init(&join, &handle);
	rc = evfut_runtime_block_on(rt, &join.base);
	if (rc == 0)
		rc = join.result == -ECANCELED ? 0 : -EPROTO;
	evfut_future_drop(&join.base);
	return rc;
}
/* [abort] */

/* [abort-handle] */
static void *
stop_from_elsewhere(void *arg)
{
	struct evfut_abort_handle *abort = arg;

	evfut_abort_handle_abort(abort); /* any thread */
	evfut_abort_handle_drop(abort);
	return NULL;
}

static int
abort_from_another_thread(struct evfut_runtime *rt)
{
	struct evfut_sleep nap;
	struct evfut_join_handle handle;
	struct evfut_abort_handle abort;
	struct evfut_task_join join;
	pthread_t thread;
	int started, rc;

	evfut_sleep_init(&nap, 3600 * EVFUT_SEC);
	rc = evfut_task_spawn_joinable(rt, &nap.base, sizeof nap, &handle);
	if (rc < 0)
		return rc;
	/* Before the join takes the handle over. */
	evfut_task_abort_handle(&handle, &abort);
	evfut_task_join_init(&join, &handle);
	started =
	        pthread_create(&thread, NULL, stop_from_elsewhere, &abort) == 0;
	if (!started) {
		evfut_abort_handle_abort(&abort);
		evfut_abort_handle_drop(&abort);
	}
	/* The join waits until the abort lands. */
	rc = evfut_runtime_block_on(rt, &join.base);
	/* The thread may still be in the abort after its wake: @abort lives
	 * on this stack until the thread is done with it. */
	if (started)
		pthread_join(thread, NULL);
	if (rc == 0)
		rc = join.result == -ECANCELED ? 0 : -EPROTO;
	evfut_future_drop(&join.base);
	return rc;
}
/* [abort-handle] */

/* [join-set] */
/* A server's shutdown: wait for the first connection handler to finish,
 * then stop the rest and release them all. */
static int
stop_gracefully(struct evfut_runtime *rt)
{
	struct evfut_join_set set;
	struct evfut_join_set_next next;
	struct evfut_sleep handler;
	int i, rc = 0;

	evfut_join_set_init(&set);
	for (i = 0; i < 3 && rc == 0; i++) {
		evfut_sleep_init(&handler, (evfut_nsec)(i + 1) * EVFUT_MSEC);
		rc = evfut_join_set_spawn(&set, rt, &handler.base,
		                          sizeof handler);
	}
	evfut_join_set_next_init(&next, &set);
	if (rc == 0)
		rc = evfut_runtime_block_on(rt, &next.base);
	if (rc == 0)
		rc = next.result; /* 0: the 1 ms handler completed */
	evfut_future_drop(&next.base);
	/* Aborts the two still running and releases every task. */
	evfut_join_set_finish(&set);
	return rc;
}
/* [join-set] */

int
main(void)
{
	struct evfut_runtime *rt;
	int value = 0;
	int rc = evfut_runtime_create(&rt, NULL);

	if (rc == 0)
		rc = parse_in_a_task(rt, "42", &value);
	if (rc == 0 && value != 42)
		rc = -EPROTO;
	if (rc == 0 && parse_in_a_task(rt, "forty-two", &value) != -EINVAL)
		rc = -EPROTO;
	if (rc == 0)
		rc = abort_a_sleeper(rt);
	if (rc == 0)
		rc = abort_from_another_thread(rt);
	if (rc == 0)
		rc = stop_gracefully(rt);
	evfut_runtime_destroy(rt);
	printf("handles: %s\n", rc == 0 ? "ok" : "failed");
	return rc == 0 ? 0 : 1;
}
