/*
 * Allocation-failure injection, suite "oom".
 *
 * Each scenario runs with k = 1, 2, 3, ...: the k-th allocation evfut
 * makes through its allocator hook fails (test/harness.c's failing
 * allocator), until a run makes fewer than k allocations and so completes
 * with no failure. At every k the scenario must return 0 or -ENOMEM (a
 * failed call, or a future that completed with it), and must return
 * -ENOMEM whenever the failure hit; nothing may leak (the allocator's live
 * blocks, and ASan/LSan in the sanitizer build); no file descriptor may
 * leak; and the same runtime must then run the scenario again with no
 * failure. Each scenario runs twice: with the runtime created inside the
 * failing run ("whole"), and on a runtime created before it ("reuse").
 *
 * libevent's own allocations (event_base_new, event_new, its epoll
 * changelist) do not go through evfut's hook. The "libevent" tcase makes
 * them fail too, through event_set_mem_functions(), installed in main()
 * before libevent allocates anything: there any negative errno is
 * accepted (libevent reports no reason), but no crash, no leak of evfut
 * memory and no fd leak.
 *
 * This file builds twice: test-oom against the library as configured (the
 * wheel timer store by default, which allocates nothing), and
 * test-oom-heap against a copy built with -DEVFUT_TIMER_STORE_HEAP, whose
 * array grows while timers are armed (the macro is defined here too then,
 * as in a whole build with that store).
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "evfut.h"

#include "harness.h"

/* A scenario's work on a runtime: 0, or the first error it met. */
typedef int (*work_fn)(struct evfut_runtime *rt);

/* Cancels whatever a failed scenario left and lets the runtime drain. */
static void
cleanup(struct evfut_runtime *rt)
{
	evfut_runtime_shutdown(rt);
	evfut_runtime_run(rt);
}

/* A task that yields @n times, then counts itself done. */
struct yielder {
	struct evfut_future base;
	unsigned n;
	int *done;
};

static enum evfut_poll
yielder_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct yielder *y = evfut_container_of(self, struct yielder, base);

	if (y->n > 0) {
		y->n--;
		evfut_waker_wake_by_ref(cx->waker);
		return EVFUT_PENDING;
	}
	(*y->done)++;
	return EVFUT_READY;
}

/* --- spawn and run tasks --- */

struct join_root {
	struct evfut_future base;
	unsigned resume;
	struct evfut_task_join join;
};

static enum evfut_poll
join_root_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct join_root *r = evfut_container_of(self, struct join_root, base);

	EVFUT_ASYNC_BEGIN(r->resume);
	EVFUT_AWAIT(&r->join.base, cx);
	EVFUT_ASYNC_END();
}

static int
work_spawn(struct evfut_runtime *rt)
{
	int done = 0;
	struct yielder y = {{yielder_poll, NULL}, 3, &done};
	struct evfut_join_handle h = {NULL};
	struct join_root root;
	struct evfut_yield yf;
	int rc = 0;
	int run_rc;

	for (int i = 0; i < 8 && rc == 0; i++)
		rc = evfut_task_spawn(rt, &y.base, sizeof y);
	if (rc == 0)
		rc = evfut_task_spawn_joinable(rt, &y.base, sizeof y, &h);
	if (rc == 0) {
		memset(&root, 0, sizeof root);
		root.base.poll = join_root_poll;
		evfut_task_join_init(&root.join, &h);
		rc = evfut_runtime_block_on(rt, &root.base);
		if (rc == 0)
			ck_assert_int_eq(root.join.result, 0);
		evfut_future_drop(&root.join.base);
	}
	if (rc < 0)
		evfut_runtime_shutdown(rt);
	run_rc = evfut_runtime_run(rt);
	ck_assert_int_eq(run_rc, 0);
	evfut_task_detach(&h);
	if (rc == 0)
		ck_assert_int_eq(done, 9);
	/* evfut_block_on() allocates its parker. */
	if (rc == 0) {
		evfut_yield_init(&yf);
		rc = evfut_block_on(&yf.base);
	}
	return rc;
}

/* --- a listener serving a connection over loopback --- */

struct server {
	struct evfut_future base;
	unsigned resume;
	struct evfut_io *listener;
	int *result;
	int registered;
	struct evfut_io conn;
	struct evfut_io_op op;
	char buf[5];
};

static enum evfut_poll
server_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct server *s = evfut_container_of(self, struct server, base);
	int rc;

	EVFUT_ASYNC_BEGIN(s->resume);
	evfut_accept_init(&s->op, s->listener, NULL, NULL);
	EVFUT_AWAIT(&s->op.base, cx);
	if (s->op.result < 0) {
		*s->result = (int)s->op.result;
		EVFUT_ASYNC_RETURN();
	}
	rc = evfut_io_register(&s->conn, cx->runtime, (int)s->op.result);
	if (rc < 0) {
		close((int)s->op.result);
		*s->result = rc;
		EVFUT_ASYNC_RETURN();
	}
	s->registered = 1;
	evfut_read_exact_init(&s->op, &s->conn, s->buf, sizeof s->buf);
	EVFUT_AWAIT(&s->op.base, cx);
	if (s->op.result != (ssize_t)sizeof s->buf) {
		*s->result = s->op.result < 0 ? (int)s->op.result : -EPROTO;
		EVFUT_ASYNC_RETURN();
	}
	evfut_write_all_init(&s->op, &s->conn, s->buf, sizeof s->buf);
	EVFUT_AWAIT(&s->op.base, cx);
	*s->result = s->op.result < 0 ? (int)s->op.result : 0;
	EVFUT_ASYNC_END();
}

static void
server_drop(struct evfut_future *self)
{
	struct server *s = evfut_container_of(self, struct server, base);

	evfut_future_drop(&s->op.base);
	if (s->registered)
		evfut_io_close(&s->conn);
}

struct client {
	struct evfut_future base;
	unsigned resume;
	int port;
	int result;
	int registered;
	struct evfut_io io;
	struct evfut_io_op op;
	char buf[5];
};

static enum evfut_poll
client_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct client *c = evfut_container_of(self, struct client, base);
	int rc;

	EVFUT_ASYNC_BEGIN(c->resume);
	rc = evfut_tcp_connect_start(&c->io, cx->runtime, NULL,
	                             (uint16_t)c->port);
	if (rc < 0) {
		c->result = rc;
		EVFUT_ASYNC_RETURN();
	}
	c->registered = 1;
	evfut_connect_init(&c->op, &c->io);
	EVFUT_AWAIT(&c->op.base, cx);
	if (c->op.result < 0) {
		c->result = (int)c->op.result;
		EVFUT_ASYNC_RETURN();
	}
	evfut_write_all_init(&c->op, &c->io, "hello", 5);
	EVFUT_AWAIT(&c->op.base, cx);
	if (c->op.result != 5) {
		c->result = c->op.result < 0 ? (int)c->op.result : -EPROTO;
		EVFUT_ASYNC_RETURN();
	}
	evfut_read_exact_init(&c->op, &c->io, c->buf, sizeof c->buf);
	EVFUT_AWAIT(&c->op.base, cx);
	if (c->op.result < 0)
		c->result = (int)c->op.result;
	else if (c->op.result != 5 || memcmp(c->buf, "hello", 5) != 0)
		c->result = -EPROTO;
	EVFUT_ASYNC_END();
}

static int
work_tcp(struct evfut_runtime *rt)
{
	struct evfut_io listener;
	struct server s;
	struct client c;
	int server_result = 1;
	int rc;

	rc = evfut_tcp_listen(&listener, rt, NULL, 0, 16, 0);
	if (rc < 0)
		return rc;
	memset(&s, 0, sizeof s);
	s.base.poll = server_poll;
	s.base.drop = server_drop;
	s.listener = &listener;
	s.result = &server_result;
	memset(&c, 0, sizeof c);
	c.base.poll = client_poll;
	c.port = evfut_io_local_port(&listener);
	ck_assert_int_gt(c.port, 0);
	rc = evfut_task_spawn(rt, &s.base, sizeof s);
	if (rc == 0)
		rc = evfut_runtime_block_on(rt, &c.base);
	if (rc == 0)
		rc = c.result;
	if (rc == 0)
		rc = evfut_runtime_run(rt); /* the server finishes */
	if (rc == 0)
		rc = server_result;
	evfut_future_drop(&c.op.base);
	if (c.registered)
		evfut_io_close(&c.io);
	if (rc < 0)
		cleanup(rt);
	evfut_io_close(&listener);
	return rc;
}

/* --- many timers (the heap store grows) --- */

#define TIMERS 300

struct timers_root {
	struct evfut_future base;
	unsigned resume;
	int joined;
	int result;
	struct evfut_join join;
	struct evfut_sleep sleeps[TIMERS];
	struct evfut_future *children[TIMERS];
};

static enum evfut_poll
timers_root_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct timers_root *r =
	        evfut_container_of(self, struct timers_root, base);
	int rc;

	EVFUT_ASYNC_BEGIN(r->resume);
	for (size_t i = 0; i < TIMERS; i++) {
		/* Spread over a millisecond, in no particular order. */
		evfut_sleep_init(&r->sleeps[i], (i * 7919 % 1000 + 1) * 1000);
		r->children[i] = &r->sleeps[i].base;
	}
	rc = evfut_join_init(&r->join, r->children, TIMERS);
	if (rc < 0) {
		r->result = rc;
		EVFUT_ASYNC_RETURN();
	}
	r->joined = 1;
	EVFUT_AWAIT(&r->join.base, cx);
	for (size_t i = 0; i < TIMERS; i++) {
		int rc = evfut_sleep_result(&r->sleeps[i]);

		if (rc < 0 && r->result == 0)
			r->result = rc;
	}
	EVFUT_ASYNC_END();
}

static int
work_timers(struct evfut_runtime *rt)
{
	static struct timers_root r; /* 30 KiB: not on the stack */
	unsigned long calls = harness_alloc_calls();
	int rc;

	memset(&r, 0, sizeof r);
	r.base.poll = timers_root_poll;
	rc = evfut_runtime_block_on(rt, &r.base);
	if (rc == 0)
		rc = r.result;
	if (r.joined)
		evfut_future_drop(&r.join.base);
#ifndef EVFUT_TIMER_STORE_HEAP
	/* The wheel allocates nothing: the root task and the join's bitmap
	 * are all (when nothing failed). */
	if (rc == 0)
		ck_assert_uint_eq(harness_alloc_calls() - calls, 2);
#else
	(void)calls;
#endif
	if (rc < 0)
		cleanup(rt);
	return rc;
}

/* --- channels: an mpsc with an allocated buffer, a join of >64 --- */

#define PRODUCERS 3
#define ITEMS     10
#define CHILDREN  100

struct producer {
	struct evfut_future base;
	unsigned resume;
	struct evfut_mpsc *ch;
	int i;
	int value;
	struct evfut_mpsc_send send;
};

static enum evfut_poll
producer_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct producer *p = evfut_container_of(self, struct producer, base);

	EVFUT_ASYNC_BEGIN(p->resume);
	for (p->i = 0; p->i < ITEMS; p->i++) {
		p->value = p->i + 1;
		evfut_mpsc_send_init(&p->send, p->ch, &p->value);
		EVFUT_AWAIT(&p->send.base, cx);
		evfut_future_drop(&p->send.base);
		if (p->send.result < 0)
			EVFUT_ASYNC_RETURN();
	}
	EVFUT_ASYNC_END();
}

static void
producer_drop(struct evfut_future *self)
{
	struct producer *p = evfut_container_of(self, struct producer, base);

	if (p->resume != 0 && p->resume != EVFUT_ASYNC_DONE)
		evfut_future_drop(&p->send.base);
}

struct consumer {
	struct evfut_future base;
	unsigned resume;
	struct evfut_mpsc *ch;
	int n;
	int item;
	int sum;
	int result;
	int joined;
	struct evfut_mpsc_recv recv;
	struct evfut_join join;
	struct evfut_yield yields[CHILDREN];
	struct evfut_future *children[CHILDREN];
};

static enum evfut_poll
consumer_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct consumer *c = evfut_container_of(self, struct consumer, base);
	int rc;

	EVFUT_ASYNC_BEGIN(c->resume);
	for (c->n = 0; c->n < PRODUCERS * ITEMS; c->n++) {
		evfut_mpsc_recv_init(&c->recv, c->ch, &c->item);
		EVFUT_AWAIT(&c->recv.base, cx);
		evfut_future_drop(&c->recv.base);
		if (c->recv.result < 0) {
			c->result = c->recv.result;
			EVFUT_ASYNC_RETURN();
		}
		c->sum += c->item;
	}
	for (size_t i = 0; i < CHILDREN; i++) {
		evfut_yield_init(&c->yields[i]);
		c->children[i] = &c->yields[i].base;
	}
	rc = evfut_join_init(&c->join, c->children, CHILDREN);
	if (rc < 0) {
		c->result = rc;
		EVFUT_ASYNC_RETURN();
	}
	c->joined = 1;
	EVFUT_AWAIT(&c->join.base, cx);
	EVFUT_ASYNC_END();
}

static int
work_channels(struct evfut_runtime *rt)
{
	static struct consumer c;
	struct evfut_mpsc ch;
	struct producer p;
	int rc;

	rc = evfut_mpsc_init(&ch, 4, sizeof(int), NULL);
	if (rc < 0)
		return rc;
	memset(&p, 0, sizeof p);
	p.base.poll = producer_poll;
	p.base.drop = producer_drop;
	p.ch = &ch;
	for (int i = 0; i < PRODUCERS && rc == 0; i++)
		rc = evfut_task_spawn(rt, &p.base, sizeof p);
	memset(&c, 0, sizeof c);
	c.base.poll = consumer_poll;
	c.ch = &ch;
	if (rc == 0) {
		/* With a producer missing, close once the others are done. */
		rc = evfut_runtime_block_on(rt, &c.base);
	}
	if (rc == 0)
		rc = c.result;
	if (rc == 0) {
		ck_assert_int_eq(c.sum, PRODUCERS * ITEMS * (ITEMS + 1) / 2);
		ck_assert_uint_eq(c.join.completed, CHILDREN);
	}
	if (c.joined)
		evfut_future_drop(&c.join.base);
	if (rc < 0)
		cleanup(rt);
	evfut_mpsc_finish(&ch);
	return rc;
}

/* --- spawn_blocking: evfut_pool and evfut_blocking --- */

#define JOBS 4

static intptr_t
twice(void *arg)
{
	return (intptr_t)arg * 2;
}

struct blocking_root {
	struct evfut_future base;
	unsigned resume;
	struct evfut_join join;
	struct evfut_blocking jobs[JOBS];
	struct evfut_future *children[JOBS];
};

static enum evfut_poll
blocking_root_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct blocking_root *r =
	        evfut_container_of(self, struct blocking_root, base);

	EVFUT_ASYNC_BEGIN(r->resume);
	EVFUT_AWAIT(&r->join.base, cx);
	EVFUT_ASYNC_END();
}

static int
work_blocking(struct evfut_runtime *rt)
{
	struct evfut_pool *pool;
	struct blocking_root r;
	int rc;

	rc = evfut_pool_create(&pool, 2);
	if (rc < 0)
		return rc;
	memset(&r, 0, sizeof r);
	r.base.poll = blocking_root_poll;
	for (intptr_t i = 0; i < JOBS; i++) {
		ck_assert_int_eq(evfut_blocking_init(&r.jobs[i], pool, twice,
		                                     (void *)(i + 1)),
		                 0);
		r.children[i] = &r.jobs[i].base;
	}
	ck_assert_int_eq(evfut_join_init(&r.join, r.children, JOBS), 0);
	rc = evfut_runtime_block_on(rt, &r.base);
	for (intptr_t i = 0; rc == 0 && i < JOBS; i++) {
		rc = r.jobs[i].result;
		if (rc == 0)
			ck_assert_int_eq(r.jobs[i].value, 2 * (i + 1));
	}
	evfut_future_drop(&r.join.base);
	if (rc < 0)
		cleanup(rt);
	evfut_pool_destroy(pool);
	return rc;
}

/* --- a signal future --- */

struct signal_root {
	struct evfut_future base;
	unsigned resume;
	int watching;
	int result;
	struct evfut_signal sig;
};

static enum evfut_poll
signal_root_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct signal_root *r =
	        evfut_container_of(self, struct signal_root, base);
	static const int usr1[] = {SIGUSR1};
	int rc;

	EVFUT_ASYNC_BEGIN(r->resume);
	rc = evfut_signal_init(&r->sig, cx->runtime, usr1, 1);
	if (rc < 0) {
		r->result = rc;
		EVFUT_ASYNC_RETURN();
	}
	r->watching = 1;
	raise(SIGUSR1);
	EVFUT_AWAIT(&r->sig.base, cx);
	if (r->sig.result != SIGUSR1)
		r->result = -EPROTO;
	EVFUT_ASYNC_END();
}

static int
work_signal(struct evfut_runtime *rt)
{
	struct signal_root r;
	int rc;

	memset(&r, 0, sizeof r);
	r.base.poll = signal_root_poll;
	rc = evfut_runtime_block_on(rt, &r.base);
	if (rc == 0)
		rc = r.result;
	if (r.watching)
		evfut_future_drop(&r.sig.base);
	return rc;
}

/* --- the injection loops --- */

static const struct evfut_runtime_options *scenario_options;

/* Whole: the runtime is created inside the failing run. */
static int
run_whole(work_fn work)
{
	struct evfut_runtime *rt = NULL;
	int rc = evfut_runtime_create(&rt, scenario_options);

	if (rc < 0) {
		ck_assert_ptr_null(rt);
		return rc;
	}
	rc = work(rt);
	evfut_runtime_destroy(rt);
	return rc;
}

/*
 * Runs @work on @rt, then has @rt give its task pool back, so that the
 * next run allocates its tasks' memory again (and can fail to) and what
 * is left allocated is a leak.
 */
static int
work_trimmed(struct evfut_runtime *rt, work_fn work)
{
	int rc = work(rt);

	ck_assert_int_eq(evfut_runtime_trim(rt), 0);
	return rc;
}

/*
 * Runs @work with the k-th evfut allocation failing, for k = 1, 2, ...
 * until a run completes with no failure; on @rt if given (then checks
 * that @rt runs @work again afterwards), else in a runtime of its own.
 */
static unsigned long
inject_each(const char *name, work_fn work, struct evfut_runtime *rt)
{
	int fds = harness_count_fds();
	unsigned long k;

	for (k = 1;; k++) {
		unsigned long calls;
		long live;
		int rc;

		ck_assert_msg(k < 10000, "%s: no end in sight", name);
		harness_alloc_fail_at(k);
		rc = rt != NULL ? work_trimmed(rt, work) : run_whole(work);
		calls = harness_alloc_calls();
		live = harness_alloc_live();
		harness_alloc_restore();
		ck_assert_msg(live == 0, "%s: k=%lu: %ld blocks leaked", name,
		              k, live);
		ck_assert_msg(harness_count_fds() == fds,
		              "%s: k=%lu: %d fds leaked", name, k,
		              harness_count_fds() - fds);
		if (calls < k) {
			ck_assert_msg(rc == 0, "%s: no failure, returned %d",
			              name, rc);
			break;
		}
		ck_assert_msg(rc == -ENOMEM,
		              "%s: k=%lu of %lu failed: returned %d, not "
		              "-ENOMEM",
		              name, k, calls, rc);
		if (rt == NULL)
			continue;
		harness_alloc_fail_at(0);
		ck_assert_msg(work_trimmed(rt, work) == 0,
		              "%s: k=%lu: the runtime is not usable after the "
		              "failure",
		              name, k);
		ck_assert_int_eq(harness_alloc_live(), 0);
		harness_alloc_restore();
	}
	return k - 1;
}

static void
scenario(const char *name, work_fn work,
         const struct evfut_runtime_options *options)
{
	struct evfut_runtime *rt = NULL;
	int fds = harness_count_fds();
	unsigned long failures, reused;

	scenario_options = options;
	failures = inject_each(name, work, NULL);
	ck_assert_uint_gt(failures, 0);
	ck_assert_int_eq(evfut_runtime_create(&rt, options), 0);
	reused = inject_each(name, work, rt);
	fprintf(stderr,
	        "# %s: %lu allocations failed in turn (whole), %lu "
	        "(reused runtime)\n",
	        name, failures, reused);
	/* And once more, with nothing failing. */
	harness_alloc_fail_at(0);
	ck_assert_int_eq(work_trimmed(rt, work), 0);
	ck_assert_int_eq(harness_alloc_live(), 0);
	harness_alloc_restore();
	evfut_runtime_destroy(rt);
	ck_assert_int_eq(harness_count_fds(), fds);
}

static const struct evfut_runtime_options virtual_clock = {
        .clock = EVFUT_CLOCK_VIRTUAL};

START_TEST(test_oom_spawn)
{
	scenario("spawn", work_spawn, NULL);
}
END_TEST

START_TEST(test_oom_tcp)
{
	scenario("tcp", work_tcp, NULL);
}
END_TEST

START_TEST(test_oom_timers_virtual)
{
	scenario("timers (virtual clock)", work_timers, &virtual_clock);
}
END_TEST

START_TEST(test_oom_timers_monotonic)
{
	scenario("timers (monotonic)", work_timers, NULL);
}
END_TEST

START_TEST(test_oom_channels)
{
	scenario("channels", work_channels, NULL);
}
END_TEST

START_TEST(test_oom_signal)
{
	scenario("signal", work_signal, NULL);
}
END_TEST

START_TEST(test_oom_blocking)
{
	scenario("blocking", work_blocking, NULL);
}
END_TEST

/* --- libevent's allocations --- */

static atomic_ulong ev_calls;
static atomic_ulong ev_fail_at;
static atomic_long ev_live;

static int
ev_allowed(void)
{
	unsigned long k = atomic_fetch_add(&ev_calls, 1) + 1;

	return k != atomic_load(&ev_fail_at);
}

static void *
ev_malloc(size_t size)
{
	void *p;

	if (!ev_allowed())
		return NULL;
	p = malloc(size);
	if (p != NULL)
		atomic_fetch_add(&ev_live, 1);
	return p;
}

static void *
ev_realloc(void *ptr, size_t size)
{
	void *p;

	if (!ev_allowed())
		return NULL;
	p = realloc(ptr, size);
	if (ptr == NULL && p != NULL)
		atomic_fetch_add(&ev_live, 1);
	return p;
}

static void
ev_free(void *ptr)
{
	if (ptr != NULL)
		atomic_fetch_sub(&ev_live, 1);
	free(ptr);
}

/*
 * Makes the k-th libevent allocation fail, k = 1, 2, ...; any negative
 * errno is an acceptable answer, a crash, a leak or an fd leak is not.
 */
static void
libevent_scenario(const char *name, work_fn work,
                  const struct evfut_runtime_options *options)
{
	int fds = harness_count_fds();
	unsigned long k;
	long base;

	scenario_options = options;
	/* A first run allocates libevent's process-wide state, if any. */
	harness_alloc_fail_at(0);
	ck_assert_int_eq(run_whole(work), 0);
	harness_alloc_restore();
	base = atomic_load(&ev_live);
	for (k = 1;; k++) {
		unsigned long calls;
		int rc;

		ck_assert_msg(k < 10000, "%s: no end in sight", name);
		atomic_store(&ev_calls, 0);
		atomic_store(&ev_fail_at, k);
		harness_alloc_fail_at(0); /* counts evfut's blocks */
		rc = run_whole(work);
		calls = atomic_load(&ev_calls);
		atomic_store(&ev_fail_at, 0);
		ck_assert_msg(harness_alloc_live() == 0,
		              "%s: libevent k=%lu: %ld evfut blocks leaked",
		              name, k, harness_alloc_live());
		harness_alloc_restore();
		ck_assert_msg(atomic_load(&ev_live) == base,
		              "%s: libevent k=%lu: %ld libevent blocks leaked",
		              name, k, atomic_load(&ev_live) - base);
		ck_assert_msg(harness_count_fds() == fds,
		              "%s: libevent k=%lu: %d fds leaked", name, k,
		              harness_count_fds() - fds);
		if (calls < k) {
			ck_assert_int_eq(rc, 0);
			break;
		}
		ck_assert_msg(rc <= 0, "%s: returned %d", name, rc);
	}
	fprintf(stderr, "# %s: %lu libevent allocations failed in turn\n", name,
	        k - 1);
	/* Usable afterwards. */
	harness_alloc_fail_at(0);
	ck_assert_int_eq(run_whole(work), 0);
	harness_alloc_restore();
}

START_TEST(test_oom_libevent_spawn)
{
	libevent_scenario("spawn", work_spawn, NULL);
}
END_TEST

START_TEST(test_oom_libevent_tcp)
{
	libevent_scenario("tcp", work_tcp, NULL);
}
END_TEST

START_TEST(test_oom_libevent_timers)
{
	libevent_scenario("timers", work_timers, NULL);
}
END_TEST

START_TEST(test_oom_libevent_signal)
{
	libevent_scenario("signal", work_signal, NULL);
}
END_TEST

static Suite *
oom_suite(void)
{
	Suite *s = suite_create("oom");
	TCase *tc = tcase_create("evfut");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_oom_spawn);
	tcase_add_test(tc, test_oom_tcp);
	tcase_add_test(tc, test_oom_timers_virtual);
	tcase_add_test(tc, test_oom_timers_monotonic);
	tcase_add_test(tc, test_oom_channels);
	tcase_add_test(tc, test_oom_blocking);
	tcase_add_test(tc, test_oom_signal);
	suite_add_tcase(s, tc);
	tc = tcase_create("libevent");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_oom_libevent_spawn);
	tcase_add_test(tc, test_oom_libevent_tcp);
	tcase_add_test(tc, test_oom_libevent_timers);
	tcase_add_test(tc, test_oom_libevent_signal);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	/* Before libevent allocates anything: its blocks must be freed by
	 * the functions that allocated them. */
	event_set_mem_functions(ev_malloc, ev_realloc, ev_free);
	return harness_main(oom_suite());
}
