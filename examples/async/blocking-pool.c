/*
 * blocking-pool: blocking work (here, a slow checksum standing in for a
 * synchronous read or a DNS lookup) moved off the runtime's thread onto a
 * pool of 4 threads; 16 tasks await their results while the runtime stays
 * free to run other tasks.
 *
 * Run: ./build/gcc/examples/async/blocking-pool
 * Exits 0 when every checksum is right.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <evfut.h>

#define TASKS 16

/* [work] */
/* Blocking work: runs on a pool thread, never on the runtime's. */
static intptr_t
slow_checksum(void *arg)
{
	uintptr_t n = (uintptr_t)arg, sum = 0;
	struct timespec ms = {0, 1000000};

	nanosleep(&ms, NULL); /* pretend to wait for a disk */
	for (uintptr_t i = 1; i <= n; i++)
		sum += i;
	return (intptr_t)sum;
}
/* [work] */

static intptr_t results[TASKS];

/* [task] */
struct summer {
	struct evfut_future base;
	unsigned resume;
	struct evfut_pool *pool;
	int id;
	struct evfut_blocking job;
};

static enum evfut_poll
summer_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct summer *s = evfut_container_of(self, struct summer, base);

	EVFUT_ASYNC_BEGIN(s->resume);
	evfut_blocking_init(&s->job, s->pool, slow_checksum,
	                    (void *)(uintptr_t)(1000 * s->id));
	EVFUT_AWAIT(&s->job.base, cx); /* woken from the pool thread */
	results[s->id] = s->job.result == 0 ? s->job.value : -1;
	EVFUT_ASYNC_END();
}

static void
summer_drop(struct evfut_future *self)
{
	struct summer *s = evfut_container_of(self, struct summer, base);

	evfut_future_drop(&s->job.base); /* cancels work not yet finished */
}
/* [task] */

int
main(void)
{
	struct evfut_runtime *rt;
	struct evfut_pool *pool;
	int ok = 1;

	/* [pool] */
	if (evfut_runtime_create(&rt, NULL) < 0)
		return 1;
	if (evfut_pool_create(&pool, 4) < 0) /* no thread started yet */
		return 1;
	for (int id = 0; id < TASKS; id++) {
		struct summer s = {
		        .base = EVFUT_FUTURE_INIT(summer_poll, summer_drop),
		        .pool = pool,
		        .id = id};

		evfut_task_spawn(rt, &s.base, sizeof s);
	}
	evfut_runtime_run(rt);     /* until every task is done */
	evfut_runtime_destroy(rt); /* drops tasks left: none */
	evfut_pool_destroy(pool);  /* joins the threads */
	/* [pool] */
	for (int id = 0; id < TASKS; id++) {
		intptr_t n = 1000 * id;

		ok &= results[id] == n * (n + 1) / 2;
	}
	printf("%d checksums computed on the pool: %s\n", TASKS,
	       ok ? "ok" : "WRONG");
	return ok ? 0 : 1;
}
