/*
 * errors: negative errno values, failed calls without side effects, and
 * the allocator hook used to make allocations fail.
 *
 * Run: ./build/docs/examples/errors   (or: meson test -C build --suite docs)
 *
 * Exits 0 when every check holds.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <evfut.h>

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
			        __LINE__, #cond);                              \
			return 1;                                              \
		}                                                              \
	} while (0)

/* [failing-allocator] */
/* Counts what is live and fails the allocation numbered fail_at (from 1). */
static struct {
	unsigned calls;
	unsigned fail_at; /* 0: never */
	long live;
} heap;

static void *
failing_malloc(size_t size)
{
	void *ptr;

	if (++heap.calls == heap.fail_at)
		return NULL;
	ptr = malloc(size);
	heap.live += ptr != NULL;
	return ptr;
}

static void *
failing_realloc(void *ptr, size_t size)
{
	void *moved;

	if (ptr == NULL)
		return failing_malloc(size);
	if (++heap.calls == heap.fail_at)
		return NULL;
	moved = realloc(ptr, size);
	return moved;
}

static void
failing_free(void *ptr)
{
	heap.live -= ptr != NULL;
	free(ptr);
}

static const struct evfut_allocator failing = {
        .malloc = failing_malloc,
        .realloc = failing_realloc,
        .free = failing_free,
};

/* Makes the next evfut allocation fail. */
static void
fail_next(void)
{
	heap.fail_at = heap.calls + 1;
}
/* [failing-allocator] */

struct counted_future {
	struct evfut_future base;
	unsigned polls;
};

static enum evfut_poll
counted_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct counted_future *f =
	        evfut_container_of(self, struct counted_future, base);

	(void)cx;
	f->polls++;
	return EVFUT_READY;
}

/* [no-side-effect] */
static int
allocation_failures(void)
{
	struct counted_future f = {
	        .base = EVFUT_FUTURE_INIT(counted_poll, NULL)};
	struct evfut_runtime *rt = NULL;
	struct evfut_stats stats;

	fail_next();
	CHECK(evfut_runtime_create(&rt, NULL) == -ENOMEM);
	CHECK(rt == NULL); /* untouched */
	CHECK(evfut_runtime_create(&rt, NULL) == 0);

	fail_next();
	CHECK(evfut_task_spawn(rt, &f.base, sizeof f) == -ENOMEM);
	fail_next();
	CHECK(evfut_runtime_block_on(rt, &f.base) == -ENOMEM);
	fail_next();
	CHECK(evfut_block_on(&f.base) == -ENOMEM);
	CHECK(f.polls == 0); /* nothing was spawned or polled */
	CHECK(evfut_runtime_stats(rt, &stats) == 0);
	CHECK(stats.tasks_spawned == 0);

	CHECK(evfut_runtime_block_on(rt, &f.base) == 0 && f.polls == 1);
	evfut_runtime_destroy(rt);
	return 0;
}
/* [no-side-effect] */

/* [bad-arguments] */
static enum evfut_poll
never_polled(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	(void)cx;
	return EVFUT_PENDING;
}

static void
release_nothing(struct evfut_task *task)
{
	(void)task;
}

static int
bad_arguments(void)
{
	struct evfut_future no_poll = EVFUT_FUTURE_INIT(NULL, NULL);
	struct evfut_future f = EVFUT_FUTURE_INIT(never_polled, NULL);
	struct evfut_allocator half = {.malloc = malloc};
	struct evfut_task task;
	struct evfut_runtime *rt;

	CHECK(evfut_allocator_set(&half) == -EINVAL);
	CHECK(evfut_runtime_create(NULL, NULL) == -EINVAL);
	CHECK(evfut_runtime_create(&rt, NULL) == 0);
	CHECK(evfut_task_spawn(rt, &no_poll, sizeof no_poll) == -EINVAL);
	CHECK(evfut_task_spawn(rt, &f, sizeof f - 1) == -EINVAL);
	CHECK(evfut_task_start(rt, &task, &f, NULL) == -EINVAL);
	CHECK(evfut_task_start(rt, &task, &no_poll, release_nothing) ==
	      -EINVAL);
	CHECK(evfut_runtime_block_on(rt, NULL) == -EINVAL);
	CHECK(evfut_runtime_block_on(NULL, &f) == -EINVAL);
	CHECK(evfut_runtime_run(NULL) == -EINVAL);
	CHECK(evfut_runtime_stats(rt, NULL) == -EINVAL);
	CHECK(evfut_runtime_event_base(NULL) == NULL);
	CHECK(evfut_block_on(&no_poll) == -EINVAL);
	CHECK(evfut_runtime_run(rt) == 0); /* no task was spawned */
	evfut_runtime_destroy(rt);
	evfut_runtime_destroy(NULL); /* allowed */
	return 0;
}
/* [bad-arguments] */

/* [set-allocator] */
int
main(void)
{
	CHECK(evfut_allocator_set(&failing) == 0); /* before any evfut object */
	if (allocation_failures() != 0 || bad_arguments() != 0)
		return 1;
	CHECK(heap.live == 0); /* no leak, on the failure paths either */
	CHECK(evfut_allocator_set(NULL) == 0); /* back to malloc */
	puts("errors: ok");
	return 0;
}
/* [set-allocator] */
