/*
 * evfut-bench: the workloads of bench/WORKLOADS.md on evfut, one JSON line
 * each on stdout.
 *
 *   evfut-bench                  every workload
 *   evfut-bench spawn [N]        N tasks, each ready on its first poll
 *   evfut-bench pingpong [N]     N round trips between two tasks, through
 *                                evfut_notify (the runtime's notify, local
 *                                to its thread: evfut_notify_init_local)
 *   evfut-bench pingpong_shared [N]  the same through thread-safe Notify
 *                                objects (evfut_notify_init)
 *   evfut-bench pingpong_wakers [N]  the same through wakers the tasks
 *                                store for each other: the executor alone
 *   evfut-bench timers_fire [N]  N tasks sleep until [1, 1000] ms
 *   evfut-bench timers_light [N] the same with fewer tasks: precision
 *   evfut-bench timers_cancel [N] arm one, cancel the oldest of 10,000
 *   evfut-bench idle_memory [N]  bytes per task sleeping 60 s
 *   evfut-bench io_deadline_reset [N]  an idle timeout refreshed N times:
 *                                evfut_io_set_deadline() moving it later
 *   evfut-bench sleep_reset [N]  the same with a sleep: evfut_sleep_reset()
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

/* pingpong_wakers: two tasks wake each other through the wakers they
 * store, which measures the executor without a primitive between. */

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
	printf("{\"workload\":\"pingpong_wakers\",\"n\":%llu,"
	       "\"ns_per_op\":%.1f}\n",
	       (unsigned long long)n, elapsed / (double)n);
	return 0;
}

/* pingpong: each task notifies the other's Notify and awaits its own. */
struct notifier {
	struct evfut_future base;
	unsigned resume;
	struct evfut_notify *mine;
	struct evfut_notify *theirs;
	int serves; /* notifies first */
	uint64_t i;
	uint64_t n;
	struct evfut_notified notified;
};

static enum evfut_poll
notifier_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct notifier *p = evfut_container_of(self, struct notifier, base);

	EVFUT_ASYNC_BEGIN(p->resume);
	for (p->i = 0; p->i < p->n; p->i++) {
		if (p->serves)
			evfut_notify_one(p->theirs);
		evfut_notified_init(&p->notified, p->mine);
		EVFUT_AWAIT(&p->notified.base, cx);
		if (!p->serves)
			evfut_notify_one(p->theirs);
	}
	EVFUT_ASYNC_END();
}

static int
pingpong_notify(uint64_t n, bool local, const char *name)
{
	struct evfut_notify ping;
	struct evfut_notify pong;
	struct notifier a = {.base = EVFUT_FUTURE_INIT(notifier_poll, NULL),
	                     .mine = &ping,
	                     .theirs = &pong,
	                     .serves = 1,
	                     .n = n};
	struct notifier b = {.base = EVFUT_FUTURE_INIT(notifier_poll, NULL),
	                     .mine = &pong,
	                     .theirs = &ping,
	                     .n = n};
	struct evfut_runtime *rt;
	double start, elapsed;
	int rc;

	if (local) {
		evfut_notify_init_local(&ping);
		evfut_notify_init_local(&pong);
	} else {
		evfut_notify_init(&ping);
		evfut_notify_init(&pong);
	}
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
	evfut_notify_finish(&ping);
	evfut_notify_finish(&pong);
	evfut_runtime_destroy(rt);
	if (rc < 0)
		return fail(name, rc);
	printf("{\"workload\":\"%s\",\"n\":%llu,\"ns_per_op\":%.1f}\n", name,
	       (unsigned long long)n, elapsed / (double)n);
	return 0;
}

static int
bench_pingpong_notify(uint64_t n)
{
	return pingpong_notify(n, true, "pingpong");
}

static int
bench_pingpong_shared(uint64_t n)
{
	return pingpong_notify(n, false, "pingpong_shared");
}

/* The random numbers of WORKLOADS.md: xorshift64 seeded with 42. */
static uint64_t
xorshift64(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long
maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* timers_fire and timers_light: each task sleeps once, then records how
 * late it was woken (its poll's clock reading minus its deadline). */

struct sleeper {
	struct evfut_future base;
	struct evfut_sleep sleep;
	int64_t *lateness;
};

static enum evfut_poll
sleeper_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct sleeper *s = evfut_container_of(self, struct sleeper, base);

	if (evfut_future_poll(&s->sleep.base, cx) == EVFUT_PENDING)
		return EVFUT_PENDING;
	*s->lateness =
	        (int64_t)now_ns() - (int64_t)evfut_sleep_deadline(&s->sleep);
	if (evfut_sleep_result(&s->sleep) < 0)
		*s->lateness = INT64_MIN;
	return EVFUT_READY;
}

static void
sleeper_drop(struct evfut_future *self)
{
	struct sleeper *s = evfut_container_of(self, struct sleeper, base);

	evfut_future_drop(&s->sleep.base);
}

static int
spawn_sleepers(struct evfut_runtime *rt, uint64_t n, int64_t *lateness,
               evfut_nsec start, uint64_t min_ms, uint64_t range_ms)
{
	struct sleeper s = {
	        .base = EVFUT_FUTURE_INIT(sleeper_poll, sleeper_drop)};
	uint64_t x = 42;
	uint64_t i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		uint64_t ms = min_ms + xorshift64(&x) % range_ms;

		evfut_sleep_until_init(&s.sleep, start + ms * EVFUT_MSEC);
		s.lateness = &lateness[i];
		rc = evfut_task_spawn(rt, &s.base, sizeof s);
	}
	return rc;
}

static int
compare_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a;
	int64_t y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static double
percentile_us(const int64_t *sorted, uint64_t n, double p)
{
	uint64_t i = (uint64_t)(p * (double)(n - 1) + 0.5);

	return (double)sorted[i] / 1e3;
}

static int
bench_timers(const char *name, uint64_t n, bool with_cost)
{
	struct evfut_runtime *rt;
	int64_t *lateness = calloc(n, sizeof(*lateness));
	double cpu;
	int rc;

	if (lateness == NULL)
		return fail(name, -ENOMEM);
	rc = evfut_runtime_create(&rt, NULL);
	if (rc < 0) {
		free(lateness);
		return fail("runtime", rc);
	}
	cpu = cpu_seconds();
	rc = spawn_sleepers(rt, n, lateness, evfut_runtime_now(rt), 1, 1000);
	if (rc == 0)
		rc = evfut_runtime_run(rt);
	cpu = cpu_seconds() - cpu;
	evfut_runtime_destroy(rt);
	if (rc < 0) {
		free(lateness);
		return fail(name, rc);
	}
	qsort(lateness, n, sizeof(*lateness), compare_i64);
	if (lateness[0] < 0) {
		rc = lateness[0] == INT64_MIN ? -ENOMEM : -EPROTO;
		free(lateness);
		return fail(name, rc);
	}
	printf("{\"workload\":\"%s\",\"n\":%llu", name, (unsigned long long)n);
	if (with_cost)
		printf(",\"cpu_s\":%.3f,\"maxrss_kb\":%ld", cpu, maxrss_kb());
	printf(",\"late_p50_us\":%.1f,\"late_p99_us\":%.1f,"
	       "\"late_max_us\":%.1f}\n",
	       percentile_us(lateness, n, 0.50),
	       percentile_us(lateness, n, 0.99),
	       percentile_us(lateness, n, 1.0));
	free(lateness);
	return 0;
}

static int
bench_timers_fire(uint64_t n)
{
	return bench_timers("timers_fire", n, true);
}

static int
bench_timers_light(uint64_t n)
{
	return bench_timers("timers_light", n, false);
}

/* timers_cancel: a task keeps a window of W timers 10 s ahead; each step
 * arms a new one and cancels the oldest, as a per-request timeout that
 * never fires does. The deadlines count from one reading of the clock, as
 * the peers' count from their loop's time: a sleep given as a duration
 * would wait for its deadline until its task's poll ends, and so never
 * reach the timer store within this one poll. */

#define CANCEL_WINDOW 10000

struct canceller {
	struct evfut_future base;
	uint64_t n;
	double elapsed;
	int rc;
};

static enum evfut_poll
canceller_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct canceller *c = evfut_container_of(self, struct canceller, base);
	struct evfut_sleep *window = calloc(CANCEL_WINDOW, sizeof(*window));
	evfut_nsec deadline = evfut_runtime_now(cx->runtime) + 10 * EVFUT_SEC;
	double start;
	uint64_t i;

	if (window == NULL) {
		c->rc = -ENOMEM;
		return EVFUT_READY;
	}
	for (i = 0; i < CANCEL_WINDOW; i++) {
		evfut_sleep_until_init(&window[i], deadline);
		evfut_future_poll(&window[i].base, cx);
	}
	start = now_ns();
	for (i = 0; i < c->n; i++) {
		struct evfut_sleep *slot = &window[i % CANCEL_WINDOW];

		evfut_future_drop(&slot->base);
		evfut_sleep_until_init(slot, deadline);
		evfut_future_poll(&slot->base, cx);
	}
	c->elapsed = now_ns() - start;
	for (i = 0; i < CANCEL_WINDOW; i++) {
		if (evfut_sleep_result(&window[i]) < 0)
			c->rc = evfut_sleep_result(&window[i]);
		evfut_future_drop(&window[i].base);
	}
	free(window);
	return EVFUT_READY;
}

static int
bench_timers_cancel(uint64_t n)
{
	struct canceller c = {.base = EVFUT_FUTURE_INIT(canceller_poll, NULL),
	                      .n = n};
	struct evfut_runtime *rt;
	int rc;

	rc = evfut_runtime_create(&rt, NULL);
	if (rc < 0)
		return fail("runtime", rc);
	rc = evfut_runtime_block_on(rt, &c.base);
	evfut_runtime_destroy(rt);
	if (rc == 0)
		rc = c.rc;
	if (rc < 0)
		return fail("timers_cancel", rc);
	printf("{\"workload\":\"timers_cancel\",\"n\":%llu,\"ns_per_op\":%.1f}"
	       "\n",
	       (unsigned long long)n, c.elapsed / (double)n);
	return 0;
}

/* idle_memory: N tasks parked on a 60 s sleep. */

struct yield_once {
	struct evfut_future base;
	int yielded;
};

/* Ready on its second poll, which FIFO order puts after every task that
 * was queued before its first. */
static enum evfut_poll
yield_once_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct yield_once *y =
	        evfut_container_of(self, struct yield_once, base);

	if (y->yielded)
		return EVFUT_READY;
	y->yielded = 1;
	evfut_waker_wake_by_ref(cx->waker);
	return EVFUT_PENDING;
}

/* Each task is a 60 s sleep and nothing else: task and timer together. */
static int
bench_idle_memory(uint64_t n)
{
	struct evfut_sleep sleep;
	struct yield_once parked = {
	        .base = EVFUT_FUTURE_INIT(yield_once_poll, NULL)};
	struct evfut_runtime *rt;
	struct evfut_stats stats;
	long before;
	long after;
	uint64_t i;
	int rc;

	rc = evfut_runtime_create(&rt, NULL);
	if (rc < 0)
		return fail("runtime", rc);
	before = maxrss_kb();
	for (i = 0; i < n && rc == 0; i++) {
		evfut_sleep_init(&sleep, 60 * EVFUT_SEC);
		rc = evfut_task_spawn(rt, &sleep.base, sizeof sleep);
	}
	if (rc == 0)
		rc = evfut_runtime_block_on(rt, &parked.base);
	after = maxrss_kb();
	evfut_runtime_stats(rt, &stats);
	evfut_runtime_destroy(rt);
	if (rc < 0)
		return fail("idle_memory", rc);
	if (stats.tasks_live != n)
		return fail("idle_memory: tasks did not park", -EPROTO);
	printf("{\"workload\":\"idle_memory\",\"n\":%llu,"
	       "\"bytes_per_task\":%.1f}\n",
	       (unsigned long long)n,
	       (double)(after - before) * 1024.0 / (double)n);
	return 0;
}

/* io_deadline_reset and sleep_reset: an idle timeout refreshed at every
 * read, N times, 1 ns later each time, among CANCEL_WINDOW other timers
 * armed 10 s ahead (the other connections' timeouts). The deadlines count
 * from one clock reading, so only the reset itself is timed. */

struct refresher {
	struct evfut_future base;
	struct evfut_io *io; /* NULL: refresh a sleep instead */
	uint64_t n;
	double elapsed;
	int rc;
};

static enum evfut_poll
refresher_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct refresher *r = evfut_container_of(self, struct refresher, base);
	struct evfut_sleep *window = calloc(CANCEL_WINDOW + 1, sizeof(*window));
	struct evfut_sleep *idle = &window[CANCEL_WINDOW];
	evfut_nsec deadline = evfut_runtime_now(cx->runtime) + 10 * EVFUT_SEC;
	double start;
	uint64_t i;
	int rc = 0;

	if (window == NULL) {
		r->rc = -ENOMEM;
		return EVFUT_READY;
	}
	for (i = 0; i <= CANCEL_WINDOW; i++) {
		evfut_sleep_until_init(&window[i], deadline);
		evfut_future_poll(&window[i].base, cx);
	}
	if (r->io != NULL)
		rc = evfut_io_set_deadline(r->io, deadline);
	start = now_ns();
	for (i = 1; i <= r->n && rc == 0; i++) {
		if (r->io != NULL)
			rc = evfut_io_set_deadline(r->io, deadline + i);
		else
			rc = evfut_sleep_reset(idle, deadline + i);
	}
	r->elapsed = now_ns() - start;
	r->rc = rc;
	for (i = 0; i <= CANCEL_WINDOW; i++)
		evfut_future_drop(&window[i].base);
	free(window);
	return EVFUT_READY;
}

static int
bench_refresh(const char *name, uint64_t n, bool io_deadline)
{
	struct refresher r = {.base = EVFUT_FUTURE_INIT(refresher_poll, NULL),
	                      .n = n};
	struct evfut_runtime *rt;
	struct evfut_io io;
	int fds[2] = {-1, -1};
	int rc;

	rc = evfut_runtime_create(&rt, NULL);
	if (rc < 0)
		return fail("runtime", rc);
	if (io_deadline) {
		rc = socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0 ? -errno : 0;
		if (rc == 0)
			rc = evfut_io_register(&io, rt, fds[0]);
		r.io = &io;
	}
	if (rc == 0)
		rc = evfut_runtime_block_on(rt, &r.base);
	if (rc == 0)
		rc = r.rc;
	if (io_deadline && fds[0] >= 0) {
		evfut_io_deregister(&io);
		close(fds[0]);
		close(fds[1]);
	}
	evfut_runtime_destroy(rt);
	if (rc < 0)
		return fail(name, rc);
	printf("{\"workload\":\"%s\",\"n\":%llu,\"ns_per_op\":%.1f}\n", name,
	       (unsigned long long)n, r.elapsed / (double)n);
	return 0;
}

static int
bench_io_deadline_reset(uint64_t n)
{
	return bench_refresh("io_deadline_reset", n, true);
}

static int
bench_sleep_reset(uint64_t n)
{
	return bench_refresh("sleep_reset", n, false);
}

struct workload {
	const char *name;
	int (*run)(uint64_t n);
	uint64_t n;
};

static const struct workload workloads[] = {
        {"spawn", bench_spawn, 1000000},
        {"pingpong", bench_pingpong_notify, 10000000},
        {"pingpong_shared", bench_pingpong_shared, 10000000},
        {"pingpong_wakers", bench_pingpong, 10000000},
        {"timers_fire", bench_timers_fire, 1000000},
        {"timers_light", bench_timers_light, 10000},
        {"timers_cancel", bench_timers_cancel, 1000000},
        {"idle_memory", bench_idle_memory, 1000000},
        {"io_deadline_reset", bench_io_deadline_reset, 1000000},
        {"sleep_reset", bench_sleep_reset, 1000000},
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
