/*
 * evfut-bench: the workloads of bench/WORKLOADS.md on evfut, one JSON line
 * each on stdout.
 *
 *   evfut-bench                  every workload
 *   evfut-bench spawn [N]        N tasks, each ready on its first poll
 *   evfut-bench pingpong [N]     N round trips between two tasks
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <evfut.h>

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
fail(const char *what, int rc)
{
	fprintf(stderr, "evfut-bench: %s: %s\n", what, strerror(-rc));
	return 1;
}

/* spawn: a root task spawns N tasks that complete on their first poll. */

struct ready_future {
	struct evfut_future base;
};

static enum evfut_poll
ready_poll(struct evfut_future *self, struct evfut_context *cx)
{
	(void)self;
	(void)cx;
	return EVFUT_READY;
}

struct spawner {
	struct evfut_future base;
	uint64_t n;
	int rc;
};

static enum evfut_poll
spawner_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct spawner *s = evfut_container_of(self, struct spawner, base);
	struct ready_future child = {EVFUT_FUTURE_INIT(ready_poll, NULL)};
	uint64_t i;

	for (i = 0; i < s->n && s->rc == 0; i++)
		s->rc = evfut_task_spawn(cx->runtime, &child.base,
		                         sizeof child);
	return EVFUT_READY;
}

static int
bench_spawn(uint64_t n)
{
	struct evfut_runtime *rt;
	struct spawner root = {EVFUT_FUTURE_INIT(spawner_poll, NULL), n, 0};
	struct evfut_stats stats;
	double start, elapsed;
	int rc;

	rc = evfut_runtime_create(&rt, NULL);
	if (rc < 0)
		return fail("runtime", rc);
	start = now_ns();
	rc = evfut_runtime_block_on(rt, &root.base);
	if (rc == 0)
		rc = root.rc;
	if (rc == 0)
		rc = evfut_runtime_run(rt);
	elapsed = now_ns() - start;
	evfut_runtime_stats(rt, &stats);
	evfut_runtime_destroy(rt);
	if (rc < 0)
		return fail("spawn", rc);
	if (stats.tasks_completed != n + 1)
		return fail("spawn: not every task completed", -EPROTO);
	printf("{\"workload\":\"spawn\",\"n\":%llu,\"ns_per_op\":%.1f}\n",
	       (unsigned long long)n, elapsed / (double)n);
	return 0;
}

/* pingpong: two tasks wake each other through the wakers they store. */

struct court {
	struct evfut_waker waker[2]; /* the latest waker of each player */
	int turn;
	uint64_t rounds;
	uint64_t target;
};

struct player {
	struct evfut_future base;
	struct court *court;
	int me;
};

static enum evfut_poll
player_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct player *p = evfut_container_of(self, struct player, base);
	struct court *c = p->court;

	evfut_waker_store(&c->waker[p->me], cx->waker);
	if (c->rounds >= c->target) {
		evfut_waker_wake_by_ref(&c->waker[!p->me]);
		return EVFUT_READY;
	}
	if (c->turn != p->me)
		return EVFUT_PENDING;
	if (p->me == 1)
		c->rounds++;
	c->turn = !p->me;
	evfut_waker_wake_by_ref(&c->waker[!p->me]);
	return EVFUT_PENDING;
}

static int
bench_pingpong(uint64_t n)
{
	struct court court = {{EVFUT_WAKER_EMPTY, EVFUT_WAKER_EMPTY}, 0, 0, n};
	struct player a = {EVFUT_FUTURE_INIT(player_poll, NULL), &court, 0};
	struct player b = {EVFUT_FUTURE_INIT(player_poll, NULL), &court, 1};
	struct evfut_runtime *rt;
	double start, elapsed;
	int rc;

	rc = evfut_runtime_create(&rt, NULL);
	if (rc < 0)
		return fail("runtime", rc);
	rc = evfut_task_spawn(rt, &a.base, sizeof a);
	if (rc == 0)
		rc = evfut_task_spawn(rt, &b.base, sizeof b);
	start = now_ns();
	if (rc == 0)
		rc = evfut_runtime_run(rt);
	elapsed = now_ns() - start;
	evfut_waker_drop(&court.waker[0]);
	evfut_waker_drop(&court.waker[1]);
	evfut_runtime_destroy(rt);
	if (rc < 0)
		return fail("pingpong", rc);
	printf("{\"workload\":\"pingpong\",\"n\":%llu,\"ns_per_op\":%.1f}\n",
	       (unsigned long long)n, elapsed / (double)n);
	return 0;
}

struct workload {
	const char *name;
	int (*run)(uint64_t n);
	uint64_t n;
};

static const struct workload workloads[] = {
        {"spawn", bench_spawn, 1000000},
        {"pingpong", bench_pingpong, 10000000},
};

#define N_WORKLOADS (sizeof workloads / sizeof workloads[0])

static int
usage(void)
{
	size_t i;

	fprintf(stderr, "usage: evfut-bench [WORKLOAD [N]]\nworkloads:");
	for (i = 0; i < N_WORKLOADS; i++)
		fprintf(stderr, " %s", workloads[i].name);
	fprintf(stderr, "\n");
	return 2;
}

int
main(int argc, char **argv)
{
	uint64_t n;
	char *end;
	size_t i;
	int rc = 0;

	if (argc == 1) {
		for (i = 0; i < N_WORKLOADS; i++)
			rc |= workloads[i].run(workloads[i].n);
		return rc;
	}
	for (i = 0; i < N_WORKLOADS; i++) {
		if (strcmp(argv[1], workloads[i].name) != 0)
			continue;
		if (argc > 3)
			return usage();
		n = workloads[i].n;
		if (argc == 3) {
			errno = 0;
			n = strtoull(argv[2], &end, 10);
			if (errno != 0 || *end != '\0' || n == 0 ||
			    argv[2][0] == '-')
				return usage();
		}
		return workloads[i].run(n);
	}
	return usage();
}
