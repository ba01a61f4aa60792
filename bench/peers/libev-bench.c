/*
 * libev-bench: the workloads of shared/bench/WORKLOADS.md written on libev
 * directly, the way a libev user would. One JSON line per workload, with
 * "lib":"libev".
 *
 *   libev-bench [WORKLOAD [N]]
 *
 * The choices, workload by workload:
 *   spawn         ev_feed_event() of a malloc'd watcher per task: libev
 *                 queues it as pending and calls it in the same
 *                 ev_invoke_pending() (a stack, so the tasks run in
 *                 reverse order of spawning); the callback frees it.
 *   pingpong      two watchers that ev_feed_event() each other.
 *   timers_*      an ev_timer in the task's own struct; ev_timer_start()
 *                 with the delay from the loop's time (ev_now_update()
 *                 first); the task frees itself in its callback.
 *   timers_cancel ev_timer_stop() on the oldest, ev_timer_set() +
 *                 ev_timer_start() on the new one. (ev_timer_again() would
 *                 move one timer in the heap instead; the workload is a
 *                 cancel and an arm of two different requests.)
 *   idle_memory   one malloc'd ev_timer per task, started for 60 s.
 */
#define _POSIX_C_SOURCE 200809L

#include <ev.h>

#include "peer.h"

/* spawn */

struct spawn {
	ev_watcher root;
	uint64_t n;
	uint64_t done;
	int rc;
};

static struct spawn *spawning;

static void
spawn_task(struct ev_loop *loop, ev_watcher *w, int revents)
{
	(void)loop;
	(void)revents;
	spawning->done++;
	free(w);
}

static void
spawn_root(struct ev_loop *loop, ev_watcher *w, int revents)
{
	struct spawn *s = (struct spawn *)w;
	uint64_t i;

	(void)revents;
	for (i = 0; i < s->n; i++) {
		ev_watcher *task = malloc(sizeof(*task));

		if (task == NULL) {
			s->rc = -1;
			return;
		}
		ev_init(task, spawn_task);
		ev_feed_event(loop, task, EV_CUSTOM);
	}
}

static int
bench_spawn(uint64_t n)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct spawn s = {.n = n};
	int64_t start, elapsed;

	if (loop == NULL)
		return peer_fail("ev_loop_new");
	spawning = &s;
	start = now_ns();
	ev_init(&s.root, spawn_root);
	ev_feed_event(loop, &s.root, EV_CUSTOM);
	ev_run(loop, 0);
	elapsed = now_ns() - start;
	ev_loop_destroy(loop);
	if (s.rc < 0 || s.done != n)
		return peer_fail("spawn");
	print_ns_per_op("spawn", n, (double)elapsed);
	return 0;
}

/* pingpong */

struct court {
	ev_watcher player[2];
	uint64_t rounds;
	uint64_t target;
};

static struct court *playing;

static void
ping(struct ev_loop *loop, ev_watcher *w, int revents)
{
	(void)w;
	(void)revents;
	ev_feed_event(loop, &playing->player[1], EV_CUSTOM);
}

static void
pong(struct ev_loop *loop, ev_watcher *w, int revents)
{
	(void)w;
	(void)revents;
	if (++playing->rounds < playing->target)
		ev_feed_event(loop, &playing->player[0], EV_CUSTOM);
}

static int
bench_pingpong(uint64_t n)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct court c = {.target = n};
	int64_t start, elapsed;

	if (loop == NULL)
		return peer_fail("ev_loop_new");
	playing = &c;
	ev_init(&c.player[0], ping);
	ev_init(&c.player[1], pong);
	start = now_ns();
	ev_feed_event(loop, &c.player[0], EV_CUSTOM);
	ev_run(loop, 0);
	elapsed = now_ns() - start;
	ev_loop_destroy(loop);
	if (c.rounds != n)
		return peer_fail("pingpong");
	print_ns_per_op("pingpong", n, (double)elapsed);
	return 0;
}

/* timers_fire, timers_light */

struct sleeper {
	ev_timer timer;
	int64_t deadline;
	int64_t *lateness;
};

static void
sleeper_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sleeper *s = (struct sleeper *)w;

	(void)loop;
	(void)revents;
	*s->lateness = now_ns() - s->deadline;
	free(s);
}

static int
bench_timers(const char *name, uint64_t n, bool with_cost)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	uint64_t *ms = draw_delays_ms(n);
	int64_t *lateness = calloc(n, sizeof(*lateness));
	int64_t start;
	double cpu;
	uint64_t i;

	if (loop == NULL || ms == NULL || lateness == NULL)
		return peer_fail(name);
	cpu = cpu_seconds();
	/* The delays count from the loop's time: read it now. */
	ev_now_update(loop);
	start = now_ns();
	for (i = 0; i < n; i++) {
		struct sleeper *s = malloc(sizeof(*s));

		if (s == NULL)
			return peer_fail(name);
		s->deadline = start + (int64_t)ms[i] * 1000000;
		s->lateness = &lateness[i];
		ev_timer_init(&s->timer, sleeper_fire, (double)ms[i] / 1e3, 0.);
		ev_timer_start(loop, &s->timer);
	}
	ev_run(loop, 0);
	cpu = cpu_seconds() - cpu;
	ev_loop_destroy(loop);
	print_timers(name, n, lateness, with_cost ? cpu : -1);
	free(ms);
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

/* timers_cancel */

static void
never(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	fprintf(stderr, "libev-bench: a cancelled timer fired\n");
	exit(1);
}

static int
bench_timers_cancel(uint64_t n)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	ev_timer *window = calloc(CANCEL_WINDOW, sizeof(*window));
	int64_t start, elapsed;
	uint64_t i;

	if (loop == NULL || window == NULL)
		return peer_fail("timers_cancel");
	for (i = 0; i < CANCEL_WINDOW; i++) {
		ev_timer_init(&window[i], never, 10., 0.);
		ev_timer_start(loop, &window[i]);
	}
	start = now_ns();
	for (i = 0; i < n; i++) {
		ev_timer *t = &window[i % CANCEL_WINDOW];

		ev_timer_stop(loop, t);
		ev_timer_set(t, 10., 0.);
		ev_timer_start(loop, t);
	}
	elapsed = now_ns() - start;
	for (i = 0; i < CANCEL_WINDOW; i++)
		ev_timer_stop(loop, &window[i]);
	ev_loop_destroy(loop);
	free(window);
	print_ns_per_op("timers_cancel", n, (double)elapsed);
	return 0;
}

/* idle_memory */

static void
idle_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

static int
bench_idle_memory(uint64_t n)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	/* The program's own list of its tasks, resident before the first
	 * reading so that only the tasks are counted. */
	ev_timer **tasks = calloc(n, sizeof(*tasks));
	long before, after;
	uint64_t i;

	if (loop == NULL || tasks == NULL)
		return peer_fail("idle_memory");
	memset(tasks, 0, n * sizeof(*tasks));
	before = maxrss_kb();
	for (i = 0; i < n; i++) {
		tasks[i] = malloc(sizeof(ev_timer));
		if (tasks[i] == NULL)
			return peer_fail("idle_memory");
		ev_timer_init(tasks[i], idle_fire, 60., 0.);
		ev_timer_start(loop, tasks[i]);
	}
	ev_run(loop, EVRUN_NOWAIT);
	after = maxrss_kb();
	for (i = 0; i < n; i++) {
		ev_timer_stop(loop, tasks[i]);
		free(tasks[i]);
	}
	free(tasks);
	ev_loop_destroy(loop);
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
	return peer_main(argc, argv, "libev", NULL, workloads,
	                 sizeof workloads / sizeof workloads[0]);
}
