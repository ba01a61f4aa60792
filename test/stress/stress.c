/*
 * evfut-stress: the stress tests of docs/reliability.md, run on demand by
 * test/stress/run (and, in their short form, by CI).
 *
 *   evfut-stress echo CONNECTIONS BYTES
 *       An evfut echo server, and a client in a forked process with its
 *       own runtime (each process needs one descriptor per connection,
 *       and the hard limit may not allow both in one). The client opens
 *       CONNECTIONS connections, keeps every one open until all are
 *       established, then sends BYTES bytes on each and verifies every
 *       byte echoed. RLIMIT_NOFILE is raised to its hard limit.
 *   evfut-stress wake-storm THREADS WAKES TASKS
 *       THREADS threads wake TASKS tasks, WAKES wakes each, from the
 *       threads at once; each task acknowledges a counter that the
 *       threads bump before each wake, and must see the final value: a
 *       lost wakeup hangs (an alarm fails the run).
 *   evfut-stress timers COUNT
 *       Arms COUNT timers (1 ms to 1 s) and cancels or resets them at
 *       random; every timer left must fire once, never before its
 *       deadline, in deadline order (equal deadlines in arm order), and no
 *       cancelled one may fire.
 *
 * Each prints its counts on stdout and exits non-zero on any failure.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "evfut.h"

#define FAIL(...)                                                              \
	do {                                                                   \
		fprintf(stderr, "evfut-stress: " __VA_ARGS__);                 \
		fputc('\n', stderr);                                           \
		exit(EXIT_FAILURE);                                            \
	} while (0)

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			FAIL("%s:%d: check failed: %s", __FILE__, __LINE__,    \
			     #cond);                                           \
	} while (0)

static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*: a fast reproducible generator. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717u;
}

/* ---------------------------------------------------------------- echo */

static unsigned char
pattern(unsigned id, size_t i)
{
	return (unsigned char)(id * 31u + i * 7u + (i >> 8));
}

/* The server's connection task: echo until end of file. */
struct echo_conn {
	struct evfut_future base;
	int fd;
	int registered;
	int writing;
	struct evfut_io io;
	struct evfut_io_op op;
	unsigned long *open, *max_open, *bytes;
	char buf[4096];
};

static enum evfut_poll
echo_conn_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct echo_conn *c = evfut_container_of(self, struct echo_conn, base);

	if (!c->registered) {
		if (evfut_io_register(&c->io, cx->runtime, c->fd) < 0)
			FAIL("server: cannot register a connection");
		c->registered = 1;
		if (++*c->open > *c->max_open)
			*c->max_open = *c->open;
		evfut_read_init(&c->op, &c->io, c->buf, sizeof c->buf);
	}
	for (;;) {
		if (evfut_future_poll(&c->op.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		if (c->op.result < 0 && c->op.result != -ECONNRESET)
			FAIL("server: I/O error %zd", c->op.result);
		if (c->op.result <= 0)
			return EVFUT_READY;
		if (c->writing) {
			evfut_read_init(&c->op, &c->io, c->buf, sizeof c->buf);
		} else {
			*c->bytes += (unsigned long)c->op.result;
			evfut_write_all_init(&c->op, &c->io, c->buf,
			                     (size_t)c->op.result);
		}
		c->writing = !c->writing;
	}
}

static void
echo_conn_drop(struct evfut_future *self)
{
	struct echo_conn *c = evfut_container_of(self, struct echo_conn, base);

	if (c->registered) {
		evfut_future_drop(&c->op.base);
		evfut_io_close(&c->io);
		--*c->open;
	}
}

/* The server's root: accept until CONNECTIONS were served, then stop. */
struct echo_server {
	struct evfut_future base;
	struct evfut_io listener;
	struct evfut_io_op accept;
	unsigned long target, accepted;
	unsigned long open, max_open, bytes;
};

static enum evfut_poll
echo_server_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct echo_server *s =
	        evfut_container_of(self, struct echo_server, base);
	struct echo_conn c;

	while (s->accepted < s->target) {
		if (evfut_future_poll(&s->accept.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		if (s->accept.result < 0)
			FAIL("server: accept: %s",
			     strerror((int)-s->accept.result));
		memset(&c, 0, sizeof c);
		c.base.poll = echo_conn_poll;
		c.base.drop = echo_conn_drop;
		c.fd = (int)s->accept.result;
		c.open = &s->open;
		c.max_open = &s->max_open;
		c.bytes = &s->bytes;
		CHECK(evfut_task_spawn(cx->runtime, &c.base, sizeof c) == 0);
		s->accepted++;
		evfut_accept_init(&s->accept, &s->listener, NULL, NULL);
	}
	return EVFUT_READY;
}

/* The client's connection task. */
struct client_shared {
	unsigned long target, established, verified, bytes;
	size_t size;
	uint16_t port;
	struct evfut_notify all_up;
};

struct echo_client {
	struct evfut_future base;
	unsigned resume;
	unsigned id;
	struct client_shared *sh;
	int registered;
	int waiting;
	struct evfut_io io;
	struct evfut_io_op op;
	struct evfut_notified up;
	size_t sent, got, n;
	unsigned char out[1024], in[1024];
};

static void
fill(struct echo_client *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		c->out[i] = pattern(c->id, c->sent + i);
}

static enum evfut_poll
echo_client_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct echo_client *c =
	        evfut_container_of(self, struct echo_client, base);
	struct client_shared *sh = c->sh;
	int rc;

	EVFUT_ASYNC_BEGIN(c->resume);
	rc = evfut_tcp_connect_start(&c->io, cx->runtime, NULL, sh->port);
	if (rc < 0)
		FAIL("client: connect: %s", strerror(-rc));
	c->registered = 1;
	evfut_connect_init(&c->op, &c->io);
	EVFUT_AWAIT(&c->op.base, cx);
	if (c->op.result < 0)
		FAIL("client: connect: %s", strerror((int)-c->op.result));
	/* Hold every connection open until all are up. */
	if (++sh->established == sh->target) {
		evfut_notify_waiters(&sh->all_up);
	} else {
		evfut_notified_init(&c->up, &sh->all_up);
		c->waiting = 1;
		EVFUT_AWAIT(&c->up.base, cx);
		evfut_future_drop(&c->up.base);
		c->waiting = 0;
	}
	while (c->got < sh->size) {
		c->n = sh->size - c->sent;
		if (c->n > sizeof c->out)
			c->n = sizeof c->out;
		fill(c, c->n);
		evfut_write_all_init(&c->op, &c->io, c->out, c->n);
		EVFUT_AWAIT(&c->op.base, cx);
		if (c->op.result != (ssize_t)c->n)
			FAIL("client: write: %zd", c->op.result);
		evfut_read_exact_init(&c->op, &c->io, c->in, c->n);
		EVFUT_AWAIT(&c->op.base, cx);
		if (c->op.result != (ssize_t)c->n)
			FAIL("client: read: %zd of %zu", c->op.result, c->n);
		for (size_t i = 0; i < c->n; i++) {
			if (c->in[i] != pattern(c->id, c->got + i))
				FAIL("client: connection %u: byte %zu differs",
				     c->id, c->got + i);
		}
		c->sent += c->n;
		c->got += c->n;
		sh->bytes += c->n;
	}
	sh->verified++;
	EVFUT_ASYNC_END();
}

static void
echo_client_drop(struct evfut_future *self)
{
	struct echo_client *c =
	        evfut_container_of(self, struct echo_client, base);

	if (c->waiting)
		evfut_future_drop(&c->up.base);
	if (c->registered) {
		evfut_future_drop(&c->op.base);
		evfut_io_close(&c->io);
	}
}

static void
raise_nofile(unsigned long want)
{
	struct rlimit rl;

	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	rl.rlim_cur = rl.rlim_max;
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	if (rl.rlim_cur < want)
		FAIL("RLIMIT_NOFILE's hard limit is %lu, %lu are needed",
		     (unsigned long)rl.rlim_max, want);
}

static void
run_client(unsigned long target, size_t size, uint16_t port, int report)
{
	static struct client_shared sh;
	struct evfut_runtime *rt;
	struct echo_client c;

	sh.target = target;
	sh.size = size;
	sh.port = port;
	evfut_notify_init(&sh.all_up);
	CHECK(evfut_runtime_create(&rt, NULL) == 0);
	memset(&c, 0, sizeof c);
	c.base.poll = echo_client_poll;
	c.base.drop = echo_client_drop;
	c.sh = &sh;
	for (unsigned long i = 0; i < target; i++) {
		c.id = (unsigned)i;
		CHECK(evfut_task_spawn(rt, &c.base, sizeof c) == 0);
	}
	CHECK(evfut_runtime_run(rt) == 0);
	evfut_runtime_destroy(rt);
	CHECK(sh.established == target && sh.verified == target);
	CHECK(write(report, &sh.bytes, sizeof sh.bytes) ==
	      (ssize_t)sizeof sh.bytes);
}

static int
stress_echo(unsigned long target, size_t size)
{
	static struct echo_server s;
	struct evfut_runtime *rt;
	unsigned long client_bytes = 0;
	int report[2], ports[2];
	double t0 = seconds();
	pid_t pid;
	int port, status;

	raise_nofile(target + 64);
	CHECK(pipe(report) == 0 && pipe(ports) == 0);
	/*
	 * Fork before any runtime exists: a forked child shares the parent's
	 * epoll instance, and freeing the parent's event_base in the child
	 * would remove the parent's registrations from it.
	 */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(report[0]);
		close(ports[1]);
		CHECK(read(ports[0], &port, sizeof port) == sizeof port);
		run_client(target, size, (uint16_t)port, report[1]);
		_exit(EXIT_SUCCESS);
	}
	close(report[1]);
	close(ports[0]);
	CHECK(evfut_runtime_create(&rt, NULL) == 0);
	memset(&s, 0, sizeof s);
	s.base.poll = echo_server_poll;
	s.target = target;
	CHECK(evfut_tcp_listen(&s.listener, rt, NULL, 0, 65535, 0) == 0);
	evfut_accept_init(&s.accept, &s.listener, NULL, NULL);
	port = evfut_io_local_port(&s.listener);
	CHECK(port > 0);
	CHECK(write(ports[1], &port, sizeof port) == sizeof port);
	close(ports[1]);
	/* The root accepts; the connection tasks finish after it. */
	CHECK(evfut_runtime_block_on(rt, &s.base) == 0);
	CHECK(evfut_runtime_run(rt) == 0);
	evfut_future_drop(&s.accept.base);
	evfut_io_close(&s.listener);
	evfut_runtime_destroy(rt);
	CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		FAIL("echo: the client failed");
	CHECK(read(report[0], &client_bytes, sizeof client_bytes) ==
	      (ssize_t)sizeof client_bytes);
	close(report[0]);
	CHECK(s.bytes == client_bytes && client_bytes == target * size);
	printf("echo: %lu connections, %lu concurrent at most (server), %lu "
	       "bytes echoed and verified, %.2f s\n",
	       s.accepted, s.max_open, client_bytes, seconds() - t0);
	return 0;
}

/* ---------------------------------------------------------- wake storm */

struct storm_task {
	struct evfut_future base;
	atomic_ulong sent; /* bumped by the threads before each wake */
	unsigned long seen;
	unsigned long expected;
	unsigned long polls;
	struct evfut_waker waker; /* a clone, for the threads */
	atomic_int ready;         /* the waker is stored */
};

static struct storm_task *storm;
static unsigned long storm_tasks, storm_wakes;

static enum evfut_poll
storm_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct storm_task *t =
	        evfut_container_of(self, struct storm_task, base);

	t->polls++;
	if (!atomic_load(&t->ready)) {
		t->waker = evfut_waker_clone(cx->waker);
		atomic_store(&t->ready, 1);
	}
	t->seen = atomic_load(&t->sent);
	return t->seen == t->expected ? EVFUT_READY : EVFUT_PENDING;
}

static void *
storm_thread(void *arg)
{
	unsigned long offset = (unsigned long)(uintptr_t)arg * 7919u;

	/* Round the tasks from a different start in each thread, so that
	 * every task gets the same number of wakes, interleaved. */
	for (unsigned long i = 0; i < storm_wakes; i++) {
		struct storm_task *t = &storm[(offset + i) % storm_tasks];

		atomic_fetch_add(&t->sent, 1);
		evfut_waker_wake_by_ref(&t->waker);
	}
	return NULL;
}

/* A task whose memory stays here, so the stats can be read after. */
static void
storm_release(struct evfut_task *task)
{
	(void)task;
}

static int
stress_wake_storm(unsigned threads, unsigned long wakes, unsigned long tasks)
{
	struct evfut_runtime *rt;
	struct evfut_task *handles;
	struct evfut_stats st;
	pthread_t *ids;
	double t0 = seconds();
	unsigned long total = 0, polls = 0;

	if (tasks == 0 || wakes % tasks != 0)
		FAIL("wake-storm: WAKES must be a multiple of TASKS");
	storm = calloc(tasks, sizeof *storm);
	handles = calloc(tasks, sizeof *handles);
	ids = calloc(threads, sizeof *ids);
	CHECK(storm != NULL && handles != NULL && ids != NULL);
	storm_tasks = tasks;
	storm_wakes = wakes;
	CHECK(evfut_runtime_create(&rt, NULL) == 0);
	for (unsigned long i = 0; i < tasks; i++) {
		storm[i].base.poll = storm_poll;
		atomic_init(&storm[i].sent, 0);
		atomic_init(&storm[i].ready, 0);
		storm[i].expected = threads * (wakes / tasks);
		CHECK(evfut_task_start(rt, &handles[i], &storm[i].base,
		                       storm_release) == 0);
	}
	/* Store every waker before the threads start. */
	{
		struct evfut_yield y;

		evfut_yield_init(&y);
		CHECK(evfut_runtime_block_on(rt, &y.base) == 0);
	}
	for (unsigned long i = 0; i < tasks; i++)
		CHECK(atomic_load(&storm[i].ready));
	/* The loop runs while the threads wake. */
	for (unsigned i = 0; i < threads; i++)
		CHECK(pthread_create(&ids[i], NULL, storm_thread,
		                     (void *)(uintptr_t)(i + 1)) == 0);
	CHECK(evfut_runtime_run(rt) == 0);
	for (unsigned i = 0; i < threads; i++)
		CHECK(pthread_join(ids[i], NULL) == 0);
	for (unsigned long i = 0; i < tasks; i++)
		total += atomic_load(&storm[i].sent);
	CHECK(evfut_runtime_stats(rt, &st) == 0);
	for (unsigned long i = 0; i < tasks; i++) {
		CHECK(storm[i].seen == storm[i].expected);
		polls += storm[i].polls;
		evfut_waker_drop(&storm[i].waker);
	}
	CHECK(total == threads * wakes);
	evfut_runtime_destroy(rt);
	printf("wake storm: %u threads, %lu wakes on %lu tasks, %lu polls, "
	       "%llu remote queue pushes, %llu eventfd signals, %.2f s\n",
	       threads, total, tasks, polls,
	       (unsigned long long)st.wakes_remote,
	       (unsigned long long)st.remote_signals, seconds() - t0);
	free(ids);
	free(handles);
	free(storm);
	return 0;
}

/* -------------------------------------------------------------- timers */

enum { T_IDLE, T_ARMED, T_CANCELLED, T_FIRED };

struct timer_set {
	struct evfut_future base;
	unsigned long count, armed, cancelled, resets, fired;
	struct evfut_sleep *sleeps;
	unsigned char *state;
	uint64_t *arm_seq; /* the order of the last arm of each */
	uint32_t *fired_list;
	unsigned long fired_len;
	struct evfut_waker root;
	evfut_nsec last_deadline;
	uint64_t last_seq;
	int started;
};

static struct timer_set *tset;

/* Each sleep's own waker: data is its index + 1. */
static struct evfut_waker tw_clone(const void *data);
static void tw_wake_by_ref(const void *data);
static void tw_wake(const void *data);
static void tw_drop(const void *data);

static const struct evfut_waker_vtable tw_vtable = {tw_clone, tw_wake,
                                                    tw_wake_by_ref, tw_drop};

static struct evfut_waker
tw_clone(const void *data)
{
	struct evfut_waker w = {data, &tw_vtable};

	return w;
}

static void
tw_wake_by_ref(const void *data)
{
	unsigned long i = (unsigned long)(uintptr_t)data - 1;

	tset->fired_list[tset->fired_len++] = (uint32_t)i;
	evfut_waker_wake_by_ref(&tset->root);
}

static void
tw_wake(const void *data)
{
	tw_wake_by_ref(data);
}

static void
tw_drop(const void *data)
{
	(void)data;
}

static void
poll_sleep(struct timer_set *s, unsigned long i, struct evfut_context *cx)
{
	struct evfut_waker w = {(const void *)(uintptr_t)(i + 1), &tw_vtable};
	struct evfut_context scx = {&w, cx->runtime};

	CHECK(evfut_future_poll(&s->sleeps[i].base, &scx) == EVFUT_PENDING);
}

static uint64_t arm_counter;

static void
arm_timers(struct timer_set *s, struct evfut_context *cx)
{
	for (unsigned long i = 0; i < s->count; i++) {
		/* 1 ms to 1 s, on a 1 ms grid so that deadlines collide. */
		evfut_sleep_init(&s->sleeps[i],
		                 (rng() % 1000 + 1) * EVFUT_MSEC);
		poll_sleep(s, i, cx);
		s->state[i] = T_ARMED;
		s->arm_seq[i] = arm_counter++;
		s->armed++;
		/* Now and then, cancel or reset one armed so far. */
		if (rng() % 4 == 0) {
			unsigned long j = rng() % (i + 1);

			if (s->state[j] != T_ARMED)
				continue;
			if (rng() % 2) {
				evfut_future_drop(&s->sleeps[j].base);
				s->state[j] = T_CANCELLED;
				s->cancelled++;
			} else {
				evfut_nsec d =
				        evfut_sleep_deadline(&s->sleeps[j]);

				CHECK(evfut_sleep_reset(
				              &s->sleeps[j],
				              d + (rng() % 500) * EVFUT_MSEC) ==
				      0);
				s->arm_seq[j] = arm_counter++;
				s->resets++;
			}
		}
	}
}

static enum evfut_poll
timer_set_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct timer_set *s = evfut_container_of(self, struct timer_set, base);
	evfut_nsec now = evfut_runtime_now(cx->runtime);

	evfut_waker_store(&s->root, cx->waker);
	if (!s->started) {
		s->started = 1;
		arm_timers(s, cx);
	}
	for (unsigned long k = 0; k < s->fired_len; k++) {
		unsigned long i = s->fired_list[k];
		evfut_nsec d = evfut_sleep_deadline(&s->sleeps[i]);

		CHECK(s->state[i] == T_ARMED); /* once, never cancelled */
		CHECK(d <= now);               /* never before the deadline */
		/* In deadline order; equal deadlines in arm order. */
		CHECK(d > s->last_deadline ||
		      (d == s->last_deadline && s->arm_seq[i] > s->last_seq) ||
		      s->fired == 0);
		s->last_deadline = d;
		s->last_seq = s->arm_seq[i];
		CHECK(evfut_future_poll(&s->sleeps[i].base, cx) == EVFUT_READY);
		CHECK(evfut_sleep_result(&s->sleeps[i]) == 0);
		s->state[i] = T_FIRED;
		s->fired++;
	}
	s->fired_len = 0;
	if (s->fired + s->cancelled == s->count)
		return EVFUT_READY;
	return EVFUT_PENDING;
}

static int
stress_timers(unsigned long count)
{
	struct evfut_runtime *rt;
	struct evfut_stats st;
	double t0 = seconds();

	tset = calloc(1, sizeof *tset);
	CHECK(tset != NULL);
	tset->base.poll = timer_set_poll;
	tset->count = count;
	tset->sleeps = calloc(count, sizeof *tset->sleeps);
	tset->state = calloc(count, 1);
	tset->arm_seq = calloc(count, sizeof *tset->arm_seq);
	tset->fired_list = calloc(count, sizeof *tset->fired_list);
	CHECK(tset->sleeps && tset->state && tset->arm_seq && tset->fired_list);
	CHECK(evfut_runtime_create(&rt, NULL) == 0);
	CHECK(evfut_runtime_block_on(rt, &tset->base) == 0);
	CHECK(evfut_runtime_stats(rt, &st) == 0);
	evfut_waker_drop(&tset->root);
	for (unsigned long i = 0; i < count; i++)
		evfut_future_drop(&tset->sleeps[i].base);
	evfut_runtime_destroy(rt);
	CHECK(tset->fired == tset->armed - tset->cancelled);
	printf("timers: %lu armed, %lu cancelled, %lu reset, %lu fired in "
	       "order and never early, %llu timerfd arms, %.2f s\n",
	       tset->armed, tset->cancelled, tset->resets, tset->fired,
	       (unsigned long long)st.timer_arms, seconds() - t0);
	free(tset->sleeps);
	free(tset->state);
	free(tset->arm_seq);
	free(tset->fired_list);
	free(tset);
	return 0;
}

static unsigned long
arg(char **argv, int i, int argc, unsigned long fallback)
{
	return i < argc ? strtoul(argv[i], NULL, 10) : fallback;
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	/* A lost wakeup hangs: fail instead. */
	alarm(300);
	if (argc >= 2 && strcmp(argv[1], "echo") == 0)
		return stress_echo(arg(argv, 2, argc, 10000),
		                   arg(argv, 3, argc, 4096));
	if (argc >= 2 && strcmp(argv[1], "wake-storm") == 0)
		return stress_wake_storm((unsigned)arg(argv, 2, argc, 16),
		                         arg(argv, 3, argc, 1000000),
		                         arg(argv, 4, argc, 1000));
	if (argc >= 2 && strcmp(argv[1], "timers") == 0)
		return stress_timers(arg(argv, 2, argc, 1000000));
	fprintf(stderr, "usage: evfut-stress echo [CONNECTIONS [BYTES]]\n"
	                "       evfut-stress wake-storm [THREADS [WAKES "
	                "[TASKS]]]\n"
	                "       evfut-stress timers [COUNT]\n");
	return 2;
}
