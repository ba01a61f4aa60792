/*
 * Many timers: --count N tasks, each sleeping until its own deadline, as
 * in the timers_fire workload of bench/WORKLOADS.md. Deadlines are drawn
 * with xorshift64 seeded with 42, one call per timer: start + (1 + x % k)
 * grains, where the grain is 1 ms when the spread is a whole number of
 * milliseconds (so --spread 1s draws from [1, 1000] ms exactly as the
 * workload does) and 1 ns otherwise, and k = spread / grain. A task's
 * lateness is the time it observes its completion minus its deadline.
 *
 * The tasks live in one array (evfut_task_start with caller memory), so a
 * count too large to allocate fails once, up front, with ENOMEM.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <evfut/task.h>

#include "evfut-timer.h"

struct shared {
	int64_t *late; /* per timer, in ns */
	uint64_t count;
	uint64_t completed;
	uint64_t due_at_first_poll; /* deadline passed before the first poll */
	uint64_t errors;
	int error;                  /* the first error of a timer */
	struct evfut_waker waiting; /* the progress task's, once it waits */
	struct et_progress bar;
};

struct timer_future {
	struct evfut_future base;
	struct evfut_sleep sleep;
	struct shared *shared;
	uint64_t index;
	unsigned polls;
};

struct timer_task {
	struct evfut_task task;
	struct timer_future future;
};

static uint64_t
xorshift64(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

static void
record(struct shared *s, struct timer_future *f, evfut_nsec now)
{
	evfut_nsec deadline = evfut_sleep_deadline(&f->sleep);

	s->late[f->index] = (int64_t)(now - deadline);
	if (f->polls == 1)
		s->due_at_first_poll++;
	if (evfut_sleep_result(&f->sleep) < 0) {
		s->errors++;
		if (s->error == 0)
			s->error = evfut_sleep_result(&f->sleep);
	}
	if (++s->completed == s->count)
		evfut_waker_wake_by_ref(&s->waiting);
}

static enum evfut_poll
timer_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct timer_future *f =
	        evfut_container_of(self, struct timer_future, base);

	f->polls++;
	if (evfut_future_poll(&f->sleep.base, cx) == EVFUT_PENDING)
		return EVFUT_PENDING;
	record(f->shared, f, evfut_runtime_now(cx->runtime));
	return EVFUT_READY;
}

static void
timer_drop(struct evfut_future *self)
{
	struct timer_future *f =
	        evfut_container_of(self, struct timer_future, base);

	evfut_future_drop(&f->sleep.base);
}

/* The tasks are in the caller's array, freed after the runtime. */
static void
release_nothing(struct evfut_task *task)
{
	(void)task;
}

/* The progress bar's task: redraws every 100 ms until all completed. */
struct progress_future {
	struct evfut_future base;
	struct evfut_interval tick;
	struct shared *shared;
};

static enum evfut_poll
progress_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct progress_future *p =
	        evfut_container_of(self, struct progress_future, base);
	struct shared *s = p->shared;

	while (s->completed < s->count) {
		/* Woken by the tick or by the last timer, whichever first. */
		evfut_waker_store(&s->waiting, cx->waker);
		if (evfut_future_poll(&p->tick.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		et_progress_draw(&s->bar, "fired", s->completed, false);
	}
	return EVFUT_READY;
}

static void
progress_drop(struct evfut_future *self)
{
	struct progress_future *p =
	        evfut_container_of(self, struct progress_future, base);

	evfut_future_drop(&p->tick.base);
	evfut_waker_drop(&p->shared->waiting);
}

static int
spawn_progress(struct evfut_runtime *rt, struct shared *s)
{
	struct progress_future p = {
	        .base = EVFUT_FUTURE_INIT(progress_poll, progress_drop),
	        .shared = s,
	};

	evfut_interval_init(&p.tick, 100 * EVFUT_MSEC, EVFUT_MISSED_SKIP);
	return evfut_task_spawn(rt, &p.base, sizeof(p));
}

/* Refuses, as the kernel would later, a count whose memory this machine
 * does not have: with overcommit the allocation itself might succeed and
 * the process be killed while it fills the array. */
static int
check_memory(uint64_t count, size_t *tasks_size, size_t *late_size)
{
	const uint64_t per_timer = sizeof(struct timer_task) + sizeof(int64_t);
	long pages = sysconf(_SC_PHYS_PAGES);
	long page_size = sysconf(_SC_PAGESIZE);

	if (count > SIZE_MAX / per_timer)
		return -ENOMEM;
	if (pages > 0 && page_size > 0 &&
	    count * per_timer > (uint64_t)pages * (uint64_t)page_size)
		return -ENOMEM;
	*tasks_size = (size_t)count * sizeof(struct timer_task);
	*late_size = (size_t)count * sizeof(int64_t);
	return 0;
}

/* Arms the timers: one task each, all polled when the runtime runs. */
static void
spawn_timers(const struct et_options *opts, struct evfut_runtime *rt,
             struct timer_task *tasks, struct shared *s)
{
	evfut_nsec grain =
	        opts->spread >= EVFUT_MSEC && opts->spread % EVFUT_MSEC == 0
	                ? EVFUT_MSEC
	                : 1;
	evfut_nsec k = opts->spread / grain;
	evfut_nsec start = evfut_runtime_now(rt);
	uint64_t rng = 42;
	evfut_nsec offset;
	uint64_t i;

	for (i = 0; i < s->count; i++) {
		offset = k > 0 ? (1 + xorshift64(&rng) % k) * grain : 0;
		tasks[i].future.base.poll = timer_poll;
		tasks[i].future.base.drop = timer_drop;
		tasks[i].future.shared = s;
		tasks[i].future.index = i;
		evfut_sleep_until_init(&tasks[i].future.sleep, start + offset);
		evfut_task_start(rt, &tasks[i].task, &tasks[i].future.base,
		                 release_nothing);
		if ((i & 0xffff) == 0)
			et_progress_draw(&s->bar, "armed", i, false);
	}
}

struct measures {
	double wall_s, user_s, sys_s;
	long maxrss_kb;
	struct et_lateness late;
};

static double
seconds(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static double
monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
measure_usage(struct measures *m)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	m->user_s = seconds(ru.ru_utime);
	m->sys_s = seconds(ru.ru_stime);
	m->maxrss_kb = ru.ru_maxrss; /* kilobytes on Linux */
}

static double
us(int64_t ns)
{
	return (double)ns / 1e3;
}

static void
print_json(const struct et_options *opts, const struct shared *s,
           const struct measures *m)
{
	printf("{\"workload\":\"timers\",\"n\":%" PRIu64 ",\"clock\":\"%s\","
	       "\"spread_ns\":%" PRIu64 ",\"fired\":%" PRIu64
	       ",\"errors\":%" PRIu64 ",\"due_at_first_poll\":%" PRIu64
	       ",\"wall_s\":%.6f,\"cpu_s\":%.6f,\"user_s\":%.6f,"
	       "\"sys_s\":%.6f,\"maxrss_kb\":%ld,",
	       s->count, opts->virtual_clock ? "virtual" : "monotonic",
	       opts->spread, s->completed - s->errors, s->errors,
	       s->due_at_first_poll, m->wall_s, m->user_s + m->sys_s, m->user_s,
	       m->sys_s, m->maxrss_kb);
	printf("\"late_min_us\":%.3f,\"late_p50_us\":%.3f,"
	       "\"late_p90_us\":%.3f,\"late_p99_us\":%.3f,"
	       "\"late_max_us\":%.3f,\"histogram\":",
	       us(m->late.min), us(m->late.p50), us(m->late.p90),
	       us(m->late.p99), us(m->late.max));
	et_histogram_json(stdout, s->late, s->count);
	printf("}\n");
}

/* Whether the terminal takes UTF-8, for the histogram's full blocks. */
static bool
utf8_locale(void)
{
	const char *names[] = {"LC_ALL", "LC_CTYPE", "LANG"};
	const char *v;
	size_t i;

	for (i = 0; i < 3; i++) {
		v = getenv(names[i]);
		if (v != NULL && *v != '\0')
			return strstr(v, "UTF-8") != NULL ||
			       strstr(v, "utf8") != NULL ||
			       strstr(v, "UTF8") != NULL ||
			       strstr(v, "utf-8") != NULL;
	}
	return false;
}

static void
print_text(const struct et_options *opts, const struct shared *s,
           const struct measures *m)
{
	char spread[32], p50[32], p90[32], p99[32], max[32];

	et_duration_format(spread, sizeof(spread), opts->spread);
	et_duration_format(p50, sizeof(p50), (evfut_nsec)m->late.p50);
	et_duration_format(p90, sizeof(p90), (evfut_nsec)m->late.p90);
	et_duration_format(p99, sizeof(p99), (evfut_nsec)m->late.p99);
	et_duration_format(max, sizeof(max), (evfut_nsec)m->late.max);
	printf(ET_NAME ": %" PRIu64 " timers over %s (%s clock)\n", s->count,
	       spread, opts->virtual_clock ? "virtual" : "monotonic");
	printf("  fired        %" PRIu64 " of %" PRIu64 " (%" PRIu64
	       " were due by their first poll)\n",
	       s->completed - s->errors, s->count, s->due_at_first_poll);
	printf("  wall time    %.3f s\n", m->wall_s);
	printf("  cpu time     %.3f s (user %.3f s, sys %.3f s)\n",
	       m->user_s + m->sys_s, m->user_s, m->sys_s);
	printf("  peak memory  %.1f MiB (ru_maxrss)\n",
	       (double)m->maxrss_kb / 1024.0);
	printf("  lateness     p50 %s, p90 %s, p99 %s, max %s\n\n", p50, p90,
	       p99, max);
	et_histogram_print(stdout, s->late, s->count, utf8_locale());
}

static int
run_timers(const struct et_options *opts, struct evfut_runtime *rt,
           struct timer_task *tasks, struct shared *s, struct measures *m)
{
	double t0 = monotonic_seconds();
	int rc;

	et_progress_init(&s->bar, s->count);
	spawn_timers(opts, rt, tasks, s);
	rc = s->bar.enabled ? spawn_progress(rt, s) : 0;
	if (rc == 0)
		rc = evfut_runtime_run(rt);
	et_progress_clear(&s->bar);
	m->wall_s = monotonic_seconds() - t0;
	measure_usage(m);
	return rc < 0 ? rc : s->error;
}

int
et_many_run(const struct et_options *opts, struct evfut_runtime *rt)
{
	struct shared s = {.count = opts->count};
	struct timer_task *tasks = NULL;
	struct measures m;
	size_t tasks_size, late_size;
	int rc;

	rc = check_memory(opts->count, &tasks_size, &late_size);
	if (rc == 0) {
		tasks = calloc(1, tasks_size);
		s.late = malloc(late_size);
		if (tasks == NULL || s.late == NULL)
			rc = -ENOMEM;
	}
	if (rc == 0)
		rc = run_timers(opts, rt, tasks, &s, &m);
	if (rc == 0) {
		et_lateness_summarise(s.late, s.count, &m.late);
		if (opts->json)
			print_json(opts, &s, &m);
		else
			print_text(opts, &s, &m);
	}
	/* The tasks must outlive the runtime's last reference to them. */
	evfut_runtime_destroy(rt);
	free(tasks);
	free(s.late);
	if (rc == 0)
		return ET_EXIT_OK;
	fprintf(stderr, ET_NAME ": --count %s: %s\n", opts->count_arg,
	        strerror(-rc));
	return ET_EXIT_FAILURE;
}
