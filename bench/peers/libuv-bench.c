/*
 * libuv-bench: the workloads of shared/bench/WORKLOADS.md written on libuv
 * directly, the way a libuv user would. One JSON line per workload, with
 * "lib":"libuv" (or "libuv-VARIANT").
 *
 *   libuv-bench [--variant timer0|idle|async] [WORKLOAD [N]]
 *
 * The choices, workload by workload:
 *   spawn         libuv has no "run this callback soon" call. Its idiom is
 *                 Node's setImmediate(): a queue of the program's own
 *                 (one allocation per task), drained by a uv_check_t after
 *                 each poll, with a uv_idle_t started while the queue is
 *                 not empty so that the poll does not block.
 *                 --variant timer0: one uv_timer_t per task, started with a
 *                 0 ms timeout and closed (uv_close) by its callback:
 *                 libuv's own machinery, the timer heap and the close queue.
 *   pingpong      the same setImmediate() queue: each side pushes the
 *                 other's (pre-allocated) entry. Like libevent's
 *                 event_active() and libev's ev_feed_event(), an entry
 *                 pushed during the drain runs in the same drain.
 *                 --variant idle: two uv_idle_t that stop themselves and
 *                 start the other: one loop iteration per wake, with the
 *                 epoll_wait(0) of each iteration (libuv's loop always
 *                 watches its signal pipe).
 *                 --variant async: two uv_async_t that uv_async_send() each
 *                 other, libuv's primitive for waking (an eventfd write, an
 *                 epoll_wait and a read per wake).
 *   timers_*      a uv_timer_t in the task's own struct; uv_timer_start()
 *                 with the delay in ms from the loop's time; the task is
 *                 closed with uv_close() and freed in its close callback.
 *   timers_cancel uv_timer_stop() on the oldest, uv_timer_start() on the
 *                 new one.
 *   idle_memory   one malloc'd uv_timer_t per task, started for 60 s.
 */
#define _POSIX_C_SOURCE 200809L

#include <uv.h>

#include "peer.h"

/* spawn: the setImmediate() queue. */

struct immediate {
	struct immediate *next;
	void (*run)(struct immediate *self, void *arg);
};

struct immediates {
	uv_check_t check;
	uv_idle_t idle; /* keeps the poll from blocking while work waits */
	struct immediate *head;
	struct immediate **tail;
	void *arg;
};

static void
idle_nothing(uv_idle_t *idle)
{
	(void)idle;
}

static void immediates_drain(uv_check_t *check);

static void
immediate_push(struct immediates *q, struct immediate *im)
{
	im->next = NULL;
	*q->tail = im;
	q->tail = &im->next;
	if (!uv_is_active((uv_handle_t *)&q->idle)) {
		uv_idle_start(&q->idle, idle_nothing);
		uv_check_start(&q->check, immediates_drain);
	}
}

static void
immediates_drain(uv_check_t *check)
{
	struct immediates *q = (struct immediates *)check;
	struct immediate *im;

	while ((im = q->head) != NULL) {
		q->head = im->next;
		if (q->head == NULL)
			q->tail = &q->head;
		im->run(im, q->arg);
	}
	uv_idle_stop(&q->idle);
	uv_check_stop(&q->check);
}

static void
immediates_init(uv_loop_t *loop, struct immediates *q, void *arg)
{
	uv_check_init(loop, &q->check);
	uv_idle_init(loop, &q->idle);
	q->head = NULL;
	q->tail = &q->head;
	q->arg = arg;
}

struct spawn {
	uv_loop_t *loop;
	struct immediates q;
	uint64_t n;
	uint64_t done;
	int rc;
};

static void
spawn_task(struct immediate *im, void *arg)
{
	struct spawn *s = arg;

	s->done++;
	free(im);
}

static void
spawn_root(struct immediate *im, void *arg)
{
	struct spawn *s = arg;
	uint64_t i;

	free(im);
	for (i = 0; i < s->n; i++) {
		struct immediate *task = malloc(sizeof(*task));

		if (task == NULL) {
			s->rc = -1;
			return;
		}
		task->run = spawn_task;
		immediate_push(&s->q, task);
	}
}

/* The timer0 variant. */

static void
free_handle(uv_handle_t *handle)
{
	free(handle);
}

static void
spawn_timer_task(uv_timer_t *timer)
{
	struct spawn *s = timer->loop->data;

	s->done++;
	uv_close((uv_handle_t *)timer, free_handle);
}

static void
spawn_timer_root(uv_timer_t *root)
{
	struct spawn *s = root->loop->data;
	uint64_t i;

	for (i = 0; i < s->n; i++) {
		uv_timer_t *task = malloc(sizeof(*task));

		if (task == NULL) {
			s->rc = -1;
			return;
		}
		uv_timer_init(s->loop, task);
		uv_timer_start(task, spawn_timer_task, 0, 0);
	}
	uv_close((uv_handle_t *)root, NULL);
}

static int
bench_spawn(uint64_t n)
{
	uv_loop_t loop;
	struct spawn s = {.loop = &loop, .n = n};
	uv_timer_t root_timer;
	int64_t start, elapsed;

	if (uv_loop_init(&loop) < 0)
		return peer_fail("uv_loop_init");
	loop.data = &s;
	start = now_ns();
	if (strcmp(peer_lib, "libuv-timer0") == 0) {
		uv_timer_init(&loop, &root_timer);
		uv_timer_start(&root_timer, spawn_timer_root, 0, 0);
	} else {
		struct immediate *root = malloc(sizeof(*root));

		if (root == NULL)
			return peer_fail("malloc");
		immediates_init(&loop, &s.q, &s);
		root->run = spawn_root;
		immediate_push(&s.q, root);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	elapsed = now_ns() - start;
	if (strcmp(peer_lib, "libuv-timer0") != 0) {
		uv_close((uv_handle_t *)&s.q.check, NULL);
		uv_close((uv_handle_t *)&s.q.idle, NULL);
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	uv_loop_close(&loop);
	if (s.rc < 0 || s.done != n)
		return peer_fail("spawn");
	print_ns_per_op("spawn", n, (double)elapsed);
	return 0;
}

/* pingpong */

struct court {
	union {
		uv_idle_t idle;
		uv_async_t async;
		struct immediate im;
	} player[2];
	struct immediates q;
	uint64_t rounds;
	uint64_t target;
};

static void im_pong(struct immediate *self, void *arg);

static void
im_ping(struct immediate *self, void *arg)
{
	struct court *c = arg;

	(void)self;
	c->player[1].im.run = im_pong;
	immediate_push(&c->q, &c->player[1].im);
}

static void
im_pong(struct immediate *self, void *arg)
{
	struct court *c = arg;

	(void)self;
	if (++c->rounds < c->target) {
		c->player[0].im.run = im_ping;
		immediate_push(&c->q, &c->player[0].im);
	}
}

static void idle_pong(uv_idle_t *me);

static void
idle_ping(uv_idle_t *me)
{
	struct court *c = me->loop->data;

	uv_idle_stop(me);
	uv_idle_start(&c->player[1].idle, idle_pong);
}

static void
idle_pong(uv_idle_t *me)
{
	struct court *c = me->loop->data;

	uv_idle_stop(me);
	if (++c->rounds < c->target)
		uv_idle_start(&c->player[0].idle, idle_ping);
}

static void
async_ping(uv_async_t *me)
{
	struct court *c = me->loop->data;

	uv_async_send(&c->player[1].async);
}

static void
async_pong(uv_async_t *me)
{
	struct court *c = me->loop->data;

	if (++c->rounds < c->target) {
		uv_async_send(&c->player[0].async);
		return;
	}
	uv_close((uv_handle_t *)&c->player[0].async, NULL);
	uv_close((uv_handle_t *)&c->player[1].async, NULL);
}

static int
bench_pingpong(uint64_t n)
{
	bool async = strcmp(peer_lib, "libuv-async") == 0;
	bool idle = strcmp(peer_lib, "libuv-idle") == 0;
	struct court c = {.target = n};
	uv_loop_t loop;
	int64_t start, elapsed;

	if (uv_loop_init(&loop) < 0)
		return peer_fail("uv_loop_init");
	loop.data = &c;
	if (async) {
		uv_async_init(&loop, &c.player[0].async, async_ping);
		uv_async_init(&loop, &c.player[1].async, async_pong);
	} else if (idle) {
		uv_idle_init(&loop, &c.player[0].idle);
		uv_idle_init(&loop, &c.player[1].idle);
	} else {
		immediates_init(&loop, &c.q, &c);
	}
	start = now_ns();
	if (async)
		uv_async_send(&c.player[0].async);
	else if (idle)
		uv_idle_start(&c.player[0].idle, idle_ping);
	else
		im_ping(NULL, &c);
	uv_run(&loop, UV_RUN_DEFAULT);
	elapsed = now_ns() - start;
	if (idle) {
		uv_close((uv_handle_t *)&c.player[0].idle, NULL);
		uv_close((uv_handle_t *)&c.player[1].idle, NULL);
	} else if (!async) {
		uv_close((uv_handle_t *)&c.q.check, NULL);
		uv_close((uv_handle_t *)&c.q.idle, NULL);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	if (c.rounds != n)
		return peer_fail("pingpong");
	print_ns_per_op("pingpong", n, (double)elapsed);
	return 0;
}

/* timers_fire, timers_light */

struct sleeper {
	uv_timer_t timer;
	int64_t deadline;
	int64_t *lateness;
};

static void
sleeper_fire(uv_timer_t *timer)
{
	struct sleeper *s = (struct sleeper *)timer;

	*s->lateness = now_ns() - s->deadline;
	uv_close((uv_handle_t *)timer, free_handle);
}

static int
bench_timers(const char *name, uint64_t n, bool with_cost)
{
	uint64_t *ms = draw_delays_ms(n);
	int64_t *lateness = calloc(n, sizeof(*lateness));
	uv_loop_t loop;
	int64_t start;
	double cpu;
	uint64_t i;

	if (ms == NULL || lateness == NULL || uv_loop_init(&loop) < 0)
		return peer_fail(name);
	cpu = cpu_seconds();
	/* The delays count from the loop's time: read it now. */
	uv_update_time(&loop);
	start = now_ns();
	for (i = 0; i < n; i++) {
		struct sleeper *s = malloc(sizeof(*s));

		if (s == NULL)
			return peer_fail(name);
		s->deadline = start + (int64_t)ms[i] * 1000000;
		s->lateness = &lateness[i];
		uv_timer_init(&loop, &s->timer);
		uv_timer_start(&s->timer, sleeper_fire, ms[i], 0);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	cpu = cpu_seconds() - cpu;
	uv_loop_close(&loop);
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
never(uv_timer_t *timer)
{
	(void)timer;
	fprintf(stderr, "libuv-bench: a cancelled timer fired\n");
	exit(1);
}

static int
bench_timers_cancel(uint64_t n)
{
	uv_timer_t *window = calloc(CANCEL_WINDOW, sizeof(*window));
	uv_loop_t loop;
	int64_t start, elapsed;
	uint64_t i;

	if (window == NULL || uv_loop_init(&loop) < 0)
		return peer_fail("timers_cancel");
	for (i = 0; i < CANCEL_WINDOW; i++) {
		uv_timer_init(&loop, &window[i]);
		uv_timer_start(&window[i], never, 10000, 0);
	}
	start = now_ns();
	for (i = 0; i < n; i++) {
		uv_timer_t *t = &window[i % CANCEL_WINDOW];

		uv_timer_stop(t);
		uv_timer_start(t, never, 10000, 0);
	}
	elapsed = now_ns() - start;
	for (i = 0; i < CANCEL_WINDOW; i++)
		uv_close((uv_handle_t *)&window[i], NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	free(window);
	print_ns_per_op("timers_cancel", n, (double)elapsed);
	return 0;
}

/* idle_memory */

static void
idle_fire(uv_timer_t *timer)
{
	(void)timer;
}

static int
bench_idle_memory(uint64_t n)
{
	/* The program's own list of its tasks, resident before the first
	 * reading so that only the tasks are counted. */
	uv_timer_t **tasks = calloc(n, sizeof(*tasks));
	uv_loop_t loop;
	long before, after;
	uint64_t i;

	if (tasks == NULL || uv_loop_init(&loop) < 0)
		return peer_fail("idle_memory");
	memset(tasks, 0, n * sizeof(*tasks));
	before = maxrss_kb();
	for (i = 0; i < n; i++) {
		tasks[i] = malloc(sizeof(uv_timer_t));
		if (tasks[i] == NULL)
			return peer_fail("idle_memory");
		uv_timer_init(&loop, tasks[i]);
		uv_timer_start(tasks[i], idle_fire, 60000, 0);
	}
	uv_run(&loop, UV_RUN_NOWAIT);
	after = maxrss_kb();
	for (i = 0; i < n; i++)
		uv_close((uv_handle_t *)tasks[i], free_handle);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	free(tasks);
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
	static const char *const variants[] = {"timer0", "idle", "async", NULL};

	return peer_main(argc, argv, "libuv", variants, workloads,
	                 sizeof workloads / sizeof workloads[0]);
}
