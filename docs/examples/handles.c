/*
 * handles: a joinable task whose result is read through its join, and a
 * task aborted while it sleeps.
 *
 * Run: ./build/gcc/docs/examples/handles
 */
#include <errno.h>
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
	/* Dropped at its next yield point: here, before its first poll. */
	evfut_task_abort(&handle);
	evfut_task_join_init(&join, &handle);
	rc = evfut_runtime_block_on(rt, &join.base);
	if (rc == 0)
		rc = join.result == -ECANCELED ? 0 : -EPROTO;
	evfut_future_drop(&join.base);
	return rc;
}
/* [abort] */

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
	evfut_runtime_destroy(rt);
	printf("handles: %s\n", rc == 0 ? "ok" : "failed");
	return rc == 0 ? 0 : 1;
}
