/*
 * libevent-bench: the workloads of shared/bench/WORKLOADS.md written on
 * libevent 2.1 directly, the way a libevent user would. One JSON line per
 * workload, with "lib":"libevent" (or "libevent-VARIANT").
 *
 *   libevent-bench [--variant precise|prealloc] [WORKLOAD [N]]
 *
 * The choices, workload by workload:
 *   spawn         event_base_once() with no timeout: libevent activates the
 *                 event at once without touching the timer heap ("one idiom
 *                 for scheduling a callback", event.c); one allocation per
 *                 task, freed after its callback, as a spawned task is.
 *                 --variant prealloc: event_active() on events assigned
 *                 in one array (no allocation per task).
 *   pingpong      two events made with event_new(base, -1, 0, ...) that
 *                 event_active() each other.
 *   timers_*      evtimer_assign() on an event embedded in the task's own
 *                 struct, evtimer_add() with the relative delay. The tasks
 *                 are armed from a callback, so libevent's cached time is
 *                 the start for all of them.
 *                 --variant precise: the base has
 *                 EVENT_BASE_FLAG_PRECISE_TIMER (CLOCK_MONOTONIC instead
 *                 of CLOCK_MONOTONIC_COARSE).
 *   timers_cancel evtimer_del() on the oldest, evtimer_add() on the new one.
 *   idle_memory   event_new() + evtimer_add() of 60 s per task.
 */
#define _POSIX_C_SOURCE 200809L

#include <event2/event.h>
/* The struct itself, to embed an event in the task that owns it (one
 * allocation per task) instead of event_new() beside it. */
#include <event2/event_struct.h>

#include "peer.h"

static bool precise;

static struct event_base *
new_base(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	if (precise)
		event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

/* Runs @cb once from inside the loop, then the loop until no event is
 * left. Work done from a callback sees libevent's cached time. */
static int
run_from_callback(struct event_base *base, event_callback_fn cb, void *arg)
{
	if (event_base_once(base, -1, EV_TIMEOUT, cb, arg, NULL) < 0)
		return -1;
	return event_base_dispatch(base);
}

/* spawn */

struct spawn {
	struct event_base *base;
	struct event *events; /* the prealloc variant's */
	uint64_t n;
	uint64_t done;
	int rc;
};

static void
spawn_task(evutil_socket_t fd, short what, void *arg)
{
	struct spawn *s = arg;

	(void)fd;
	(void)what;
	s->done++;
}

static void
spawn_root(evutil_socket_t fd, short what, void *arg)
{
	struct spawn *s = arg;
	uint64_t i;

	(void)fd;
	(void)what;
	for (i = 0; i < s->n && s->rc == 0; i++)
		s->rc = event_base_once(s->base, -1, EV_TIMEOUT, spawn_task, s,
		                        NULL);
}

static void
spawn_root_prealloc(evutil_socket_t fd, short what, void *arg)
{
	struct spawn *s = arg;
	uint64_t i;

	(void)fd;
	(void)what;
	for (i = 0; i < s->n; i++) {
		event_assign(&s->events[i], s->base, -1, 0, spawn_task, s);
		event_active(&s->events[i], EV_TIMEOUT, 1);
	}
}

static int
bench_spawn(uint64_t n)
{
	bool prealloc = strcmp(peer_lib, "libevent-prealloc") == 0;
	struct spawn s = {new_base(), NULL, n, 0, 0};
	int64_t start, elapsed;

	if (s.base == NULL)
		return peer_fail("event_base_new");
	if (prealloc) {
		s.events = malloc(n * sizeof(*s.events));
		if (s.events == NULL)
			return peer_fail("malloc");
	}
	start = now_ns();
	if (run_from_callback(s.base,
	                      prealloc ? spawn_root_prealloc : spawn_root,
	                      &s) < 0)
		s.rc = -1;
	elapsed = now_ns() - start;
	free(s.events);
	event_base_free(s.base);
	if (s.rc < 0 || s.done != n)
		return peer_fail("spawn");
	print_ns_per_op("spawn", n, (double)elapsed);
	return 0;
}

/* pingpong */

struct court {
	struct event *player[2];
	uint64_t rounds;
	uint64_t target;
};

static void
ping(evutil_socket_t fd, short what, void *arg)
{
	struct court *c = arg;

	(void)fd;
	(void)what;
	event_active(c->player[1], EV_TIMEOUT, 1);
}

static void
pong(evutil_socket_t fd, short what, void *arg)
{
	struct court *c = arg;

	(void)fd;
	(void)what;
	if (++c->rounds < c->target)
		event_active(c->player[0], EV_TIMEOUT, 1);
}

static int
bench_pingpong(uint64_t n)
{
	struct event_base *base = new_base();
	struct court c = {{NULL, NULL}, 0, n};
	int64_t start, elapsed;

	if (base == NULL)
		return peer_fail("event_base_new");
	c.player[0] = event_new(base, -1, 0, ping, &c);
	c.player[1] = event_new(base, -1, 0, pong, &c);
	if (c.player[0] == NULL || c.player[1] == NULL)
		return peer_fail("event_new");
	start = now_ns();
	event_active(c.player[0], EV_TIMEOUT, 1);
	event_base_dispatch(base);
	elapsed = now_ns() - start;
	event_free(c.player[0]);
	event_free(c.player[1]);
	event_base_free(base);
	if (c.rounds != n)
		return peer_fail("pingpong");
	print_ns_per_op("pingpong", n, (double)elapsed);
	return 0;
}

/* timers_fire, timers_light */

struct sleeper {
	struct event ev;
	int64_t deadline;
	int64_t *lateness;
};

struct sleepers {
	struct event_base *base;
	uint64_t n;
	uint64_t *ms;
	int64_t *lateness;
	int rc;
};

static void
sleeper_fire(evutil_socket_t fd, short what, void *arg)
{
	struct sleeper *s = arg;

	(void)fd;
	(void)what;
	*s->lateness = now_ns() - s->deadline;
	free(s);
}

static void
arm_sleepers(evutil_socket_t fd, short what, void *arg)
{
	struct sleepers *all = arg;
	int64_t start = now_ns();
	uint64_t i;

	(void)fd;
	(void)what;
	for (i = 0; i < all->n; i++) {
		struct sleeper *s = malloc(sizeof(*s));
		struct timeval tv = {(time_t)(all->ms[i] / 1000),
		                     (suseconds_t)(all->ms[i] % 1000 * 1000)};

		if (s == NULL) {
			all->rc = -1;
			return;
		}
		s->deadline = start + (int64_t)all->ms[i] * 1000000;
		s->lateness = &all->lateness[i];
		evtimer_assign(&s->ev, all->base, sleeper_fire, s);
		evtimer_add(&s->ev, &tv);
	}
}

static int
bench_timers(const char *name, uint64_t n, bool with_cost)
{
	struct sleepers all = {new_base(), n, draw_delays_ms(n),
	                       calloc(n, sizeof(int64_t)), 0};
	double cpu;

	if (all.base == NULL || all.ms == NULL || all.lateness == NULL)
		return peer_fail(name);
	cpu = cpu_seconds();
	if (run_from_callback(all.base, arm_sleepers, &all) < 0)
		all.rc = -1;
	cpu = cpu_seconds() - cpu;
	event_base_free(all.base);
	if (all.rc < 0)
		return peer_fail(name);
	print_timers(name, n, all.lateness, with_cost ? cpu : -1);
	free(all.ms);
	free(all.lateness);
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

/* timers_cancel */

struct canceller {
	struct event_base *base;
	uint64_t n;
	int64_t elapsed;
};

static void
never(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	fprintf(stderr, "libevent-bench: a cancelled timer fired\n");
	exit(1);
}

static void
cancel_loop(evutil_socket_t fd, short what, void *arg)
{
	static const struct timeval ten = {10, 0};
	struct canceller *c = arg;
	struct event *window = malloc(CANCEL_WINDOW * sizeof(*window));
	int64_t start;
	uint64_t i;

	(void)fd;
	(void)what;
	if (window == NULL)
		return;
	for (i = 0; i < CANCEL_WINDOW; i++) {
		evtimer_assign(&window[i], c->base, never, NULL);
		evtimer_add(&window[i], &ten);
	}
	start = now_ns();
	for (i = 0; i < c->n; i++) {
		struct event *ev = &window[i % CANCEL_WINDOW];

		evtimer_del(ev);
		evtimer_add(ev, &ten);
	}
	c->elapsed = now_ns() - start;
	for (i = 0; i < CANCEL_WINDOW; i++)
		evtimer_del(&window[i]);
	free(window);
}

static int
bench_timers_cancel(uint64_t n)
{
	struct canceller c = {new_base(), n, -1};

	if (c.base == NULL)
		return peer_fail("event_base_new");
	run_from_callback(c.base, cancel_loop, &c);
	event_base_free(c.base);
	if (c.elapsed < 0)
		return peer_fail("timers_cancel");
	print_ns_per_op("timers_cancel", n, (double)c.elapsed);
	return 0;
}

/* idle_memory */

static void
idle_fire(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static int
bench_idle_memory(uint64_t n)
{
	static const struct timeval sixty = {60, 0};
	struct event_base *base = new_base();
	/* The program's own list of its tasks, resident before the first
	 * reading so that only the tasks are counted. */
	struct event **tasks = calloc(n, sizeof(*tasks));
	long before, after;
	uint64_t i;

	if (base == NULL || tasks == NULL)
		return peer_fail("idle_memory");
	memset(tasks, 0, n * sizeof(*tasks));
	before = maxrss_kb();
	for (i = 0; i < n; i++) {
		tasks[i] = event_new(base, -1, 0, idle_fire, NULL);
		if (tasks[i] == NULL || evtimer_add(tasks[i], &sixty) < 0)
			return peer_fail("idle_memory");
	}
	event_base_loop(base, EVLOOP_NONBLOCK);
	after = maxrss_kb();
	for (i = 0; i < n; i++)
		event_free(tasks[i]);
	free(tasks);
	event_base_free(base);
	print_idle_memory(n, before, after);
	return 0;
}

static const struct peer_workload workloads[] = {
        {"spawn", bench_spawn, N_SPAWN},
        {"pingpong", bench_pingpong, N_PINGPONG},
        {"timers_fire", bench_timers_fire, N_TIMERS_FIRE},
        {"timers_light", bench_timers_light, N_TIMERS_LIGHT},
        {"timers_cancel", bench_timers_cancel, N_TIMERS_CANCEL},
        {"idle_memory", bench_idle_memory, N_IDLE_MEMORY},
};

int
main(int argc, char **argv)
{
	static const char *const variants[] = {"precise", "prealloc", NULL};

	precise = argc >= 3 && strcmp(argv[1], "--variant") == 0 &&
	          strcmp(argv[2], "precise") == 0;
	return peer_main(argc, argv, "libevent", variants, workloads,
	                 sizeof workloads / sizeof workloads[0]);
}
