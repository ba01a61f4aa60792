/*
 * Suite "handle": join handles, abort at every state, runtime shutdown and
 * the cooperative budget.
 *
 * Run: meson test -C build --suite core
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "harness.h"

/* A future that finishes with an error code after @rounds yields. */
struct worker {
	struct evfut_future base;
	int rounds;
	int result;
	int *drops;
};

static enum evfut_poll
worker_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct worker *w = evfut_container_of(self, struct worker, base);

	if (w->rounds-- > 0) {
		evfut_waker_wake_by_ref(cx->waker);
		return EVFUT_PENDING;
	}
	w->result = -ENOENT;
	return EVFUT_READY;
}

static void
worker_drop(struct evfut_future *self)
{
	struct worker *w = evfut_container_of(self, struct worker, base);

	if (w->drops != NULL)
		(*w->drops)++;
}

static struct worker
worker(int rounds, int *drops)
{
	struct worker w = {.base = EVFUT_FUTURE_INIT(worker_poll, worker_drop),
	                   .rounds = rounds,
	                   .drops = drops};

	return w;
}

START_TEST(test_handle_join_reports_the_task_result)
{
	struct worker w = worker(3, NULL);
	struct evfut_join_handle handle;
	struct evfut_task_join join;
	const struct worker *out;

	ck_assert_int_eq(evfut_task_spawn_joinable(harness_rt, &w.base,
	                                           sizeof w, &handle),
	                 0);
	evfut_task_join_init(&join, &handle);
	ck_assert_ptr_null(handle.task);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &join.base), 0);
	ck_assert_int_eq(join.result, 0);
	out = (const struct worker *)(const void *)evfut_task_join_output(
	        &join);
	ck_assert_int_eq(out->result, -ENOENT);
	evfut_future_drop(&join.base);
}
END_TEST

/* A future pending forever on a waker it keeps, counting its drops. */
struct parked {
	struct evfut_future base;
	struct evfut_waker waker;
	int polls;
	int *drops;
};

static enum evfut_poll
parked_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct parked *p = evfut_container_of(self, struct parked, base);

	p->polls++;
	evfut_waker_store(&p->waker, cx->waker);
	return EVFUT_PENDING;
}

static void
parked_drop(struct evfut_future *self)
{
	struct parked *p = evfut_container_of(self, struct parked, base);

	evfut_waker_drop(&p->waker);
	(*p->drops)++;
}

/* Sleeps on a timer, counting its drops. */
struct napper {
	struct evfut_future base;
	struct evfut_sleep sleep;
	int *drops;
};

static enum evfut_poll
napper_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct napper *n = evfut_container_of(self, struct napper, base);

	return evfut_future_poll(&n->sleep.base, cx);
}

static void
napper_drop(struct evfut_future *self)
{
	struct napper *n = evfut_container_of(self, struct napper, base);

	evfut_future_drop(&n->sleep.base);
	(*n->drops)++;
}

/* Reads a socket that never has data, counting its drops. */
struct reader {
	struct evfut_future base;
	int fd;
	int registered;
	struct evfut_io io;
	struct evfut_io_op op;
	char buf[16];
	int *drops;
};

static enum evfut_poll
reader_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct reader *r = evfut_container_of(self, struct reader, base);

	if (!r->registered) {
		ck_assert_int_eq(evfut_io_register(&r->io, cx->runtime, r->fd),
		                 0);
		r->registered = 1;
		evfut_read_init(&r->op, &r->io, r->buf, sizeof r->buf);
	}
	return evfut_future_poll(&r->op.base, cx);
}

static void
reader_drop(struct evfut_future *self)
{
	struct reader *r = evfut_container_of(self, struct reader, base);

	if (r->registered) {
		evfut_future_drop(&r->op.base);
		evfut_io_deregister(&r->io);
	}
	(*r->drops)++;
}

/* Joins @handle with block_on and returns the join's result. */
static int
join_result(struct evfut_join_handle *handle)
{
	struct evfut_task_join join;
	int result;

	evfut_task_join_init(&join, handle);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &join.base), 0);
	result = join.result;
	evfut_future_drop(&join.base);
	return result;
}

/* Runs the loop once around, letting spawned tasks reach their wait. */
static void
settle(void)
{
	struct worker w = worker(2, NULL);

	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &w.base), 0);
}

START_TEST(test_handle_abort_before_the_first_poll)
{
	int drops = 0;
	struct parked p = {.base = EVFUT_FUTURE_INIT(parked_poll, parked_drop),
	                   .drops = &drops};
	struct evfut_join_handle handle;

	ck_assert_int_eq(evfut_task_spawn_joinable(harness_rt, &p.base,
	                                           sizeof p, &handle),
	                 0);
	evfut_task_abort(&handle);
	ck_assert_int_eq(join_result(&handle), -ECANCELED);
	ck_assert_int_eq(drops, 1);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_cancelled, 1);
	/* Never polled: the copy's poll count is still 0. */
	ck_assert_int_eq(p.polls, 0);
}
END_TEST

START_TEST(test_handle_abort_while_pending_on_a_timer)
{
	int drops = 0;
	struct napper n = {.base = EVFUT_FUTURE_INIT(napper_poll, napper_drop),
	                   .drops = &drops};
	struct evfut_join_handle handle;

	evfut_sleep_init(&n.sleep, 3600 * EVFUT_SEC);
	ck_assert_int_eq(evfut_task_spawn_joinable(harness_rt, &n.base,
	                                           sizeof n, &handle),
	                 0);
	settle();
	ck_assert(!evfut_task_finished(&handle));
	evfut_task_abort(&handle);
	ck_assert_int_eq(join_result(&handle), -ECANCELED);
	ck_assert_int_eq(drops, 1);
	/* The timer left the store with the future: nothing fires later. */
	ck_assert_uint_eq(harness_stats(harness_rt).timers_fired, 0);
}
END_TEST

START_TEST(test_handle_abort_while_pending_on_io)
{
	int drops = 0;
	int fds[2];
	struct reader r = {.base = EVFUT_FUTURE_INIT(reader_poll, reader_drop),
	                   .drops = &drops};
	struct evfut_join_handle handle;
	struct event_base *base = evfut_runtime_event_base(harness_rt);
	int events;

	ck_assert_int_eq(
	        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
	events = event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED);
	r.fd = fds[0];
	ck_assert_int_eq(evfut_task_spawn_joinable(harness_rt, &r.base,
	                                           sizeof r, &handle),
	                 0);
	settle();
	ck_assert_int_eq(
	        event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED),
	        events + 1);
	evfut_task_abort(&handle);
	ck_assert_int_eq(join_result(&handle), -ECANCELED);
	ck_assert_int_eq(drops, 1);
	/* Dropping deregistered the descriptor. */
	ck_assert_int_eq(
	        event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED),
	        events);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

START_TEST(test_handle_abort_after_completion_changes_nothing)
{
	int drops = 0;
	struct worker w = worker(0, &drops);
	struct evfut_join_handle handle;

	ck_assert_int_eq(evfut_task_spawn_joinable(harness_rt, &w.base,
	                                           sizeof w, &handle),
	                 0);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert(evfut_task_finished(&handle));
	evfut_task_abort(&handle);
	ck_assert_int_eq(join_result(&handle), 0);
	ck_assert_int_eq(drops, 1);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_cancelled, 0);
}
END_TEST

START_TEST(test_handle_detach_lets_the_task_finish)
{
	int drops = 0;
	struct worker w = worker(5, &drops);
	struct evfut_join_handle handle;

	ck_assert_int_eq(evfut_task_spawn_joinable(harness_rt, &w.base,
	                                           sizeof w, &handle),
	                 0);
	evfut_task_detach(&handle);
	ck_assert_ptr_null(handle.task);
	evfut_task_detach(&handle); /* an empty handle: nothing */
	evfut_task_detach(NULL);
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(drops, 1);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_completed, 1);
}
END_TEST

START_TEST(test_handle_errors)
{
	struct worker w = worker(0, NULL);
	struct evfut_join_handle handle = {NULL};
	struct evfut_task_join join;

	ck_assert_int_eq(
	        evfut_task_spawn_joinable(harness_rt, &w.base, sizeof w, NULL),
	        -EINVAL);
	ck_assert_int_eq(
	        evfut_task_spawn_joinable(NULL, &w.base, sizeof w, &handle),
	        -EINVAL);
	ck_assert_ptr_null(handle.task);
	harness_alloc_fail_at(1);
	ck_assert_int_eq(evfut_task_spawn_joinable(harness_rt, &w.base,
	                                           sizeof w, &handle),
	                 -ENOMEM);
	harness_alloc_restore();
	ck_assert_ptr_null(handle.task);
	/* A join of nothing completes with -EINVAL. */
	evfut_task_join_init(&join, &handle);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &join.base), 0);
	ck_assert_int_eq(join.result, -EINVAL);
	ck_assert_ptr_null(evfut_task_join_output(&join));
	evfut_future_drop(&join.base);
	ck_assert_int_eq(evfut_runtime_shutdown(NULL), -EINVAL);
	ck_assert(!evfut_task_finished(NULL));
	evfut_task_abort(NULL);
}
END_TEST

/* The root of a shutdown: spawns parked tasks, then shuts the runtime. */
struct stopper {
	struct evfut_future base;
	int *drops;
	int step;
};

static enum evfut_poll
stopper_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct stopper *s = evfut_container_of(self, struct stopper, base);
	struct parked p = {.base = EVFUT_FUTURE_INIT(parked_poll, parked_drop),
	                   .drops = s->drops};
	int i;

	if (s->step++ == 0) {
		for (i = 0; i < 10; i++)
			ck_assert_int_eq(evfut_task_spawn(cx->runtime, &p.base,
			                                  sizeof p),
			                 0);
		evfut_waker_wake_by_ref(cx->waker);
		return EVFUT_PENDING;
	}
	ck_assert_int_eq(evfut_runtime_shutdown(cx->runtime), 0);
	return EVFUT_READY;
}

START_TEST(test_handle_shutdown_drops_every_task)
{
	int drops = 0;
	struct stopper s = {.base = EVFUT_FUTURE_INIT(stopper_poll, NULL),
	                    .drops = &drops};

	ck_assert_int_eq(evfut_task_spawn(harness_rt, &s.base, sizeof s), 0);
	/* Without the shutdown, run would wait for the parked tasks. */
	ck_assert_int_eq(evfut_runtime_run(harness_rt), 0);
	ck_assert_int_eq(drops, 10);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_cancelled, 10);
	ck_assert_uint_eq(harness_stats(harness_rt).tasks_live, 0);
}
END_TEST

/*
 * The budget: a reader whose socket always has data keeps reading until
 * its budget is spent, then yields, so a second task still gets polled.
 */
struct greedy {
	struct evfut_future base;
	int fd;
	int registered;
	struct evfut_io io;
	struct evfut_io_op op;
	char buf[1];
	const int *stop;
	long *reads;
	long yields;
};

static enum evfut_poll
greedy_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct greedy *g = evfut_container_of(self, struct greedy, base);

	if (!g->registered) {
		ck_assert_int_eq(evfut_io_register(&g->io, cx->runtime, g->fd),
		                 0);
		g->registered = 1;
	}
	while (!*g->stop) {
		evfut_read_init(&g->op, &g->io, g->buf, sizeof g->buf);
		if (evfut_future_poll(&g->op.base, cx) == EVFUT_PENDING) {
			g->yields++;
			return EVFUT_PENDING;
		}
		ck_assert_int_eq(g->op.result, 1);
		(*g->reads)++;
	}
	evfut_io_deregister(&g->io);
	return EVFUT_READY;
}

/* Waits, yielding, until the reader has read, then tells it to stop. */
struct patient {
	struct evfut_future base;
	int *stop;
	const long *reads;
};

static enum evfut_poll
patient_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct patient *p = evfut_container_of(self, struct patient, base);

	if (*p->reads == 0) {
		evfut_waker_wake_by_ref(cx->waker);
		return EVFUT_PENDING;
	}
	*p->stop = 1;
	return EVFUT_READY;
}

START_TEST(test_handle_budget_makes_a_busy_reader_yield)
{
	static char lots[1 << 16];
	int stop = 0;
	long reads = 0;
	int fds[2];
	struct greedy g = {.base = EVFUT_FUTURE_INIT(greedy_poll, NULL),
	                   .stop = &stop,
	                   .reads = &reads};
	struct patient p = {.base = EVFUT_FUTURE_INIT(patient_poll, NULL),
	                    .stop = &stop,
	                    .reads = &reads};
	struct greedy *copy;
	struct evfut_join_handle handle;
	struct evfut_task_join join;

	ck_assert_int_eq(
	        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
	ck_assert_int_eq(write(fds[1], lots, sizeof lots),
	                 (ssize_t)sizeof lots);
	g.fd = fds[0];
	ck_assert_int_eq(evfut_task_spawn_joinable(harness_rt, &g.base,
	                                           sizeof g, &handle),
	                 0);
	ck_assert_int_eq(evfut_task_spawn(harness_rt, &p.base, sizeof p), 0);
	evfut_task_join_init(&join, &handle);
	ck_assert_int_eq(evfut_runtime_block_on(harness_rt, &join.base), 0);
	copy = (struct greedy *)(void *)(uintptr_t)evfut_task_join_output(
	        &join);
	/*
	 * With data left, it yielded after exactly one budget of reads, and
	 * the other task ran before it could read more.
	 */
	ck_assert_int_eq(reads, EVFUT_COOP_BUDGET);
	ck_assert_int_ge(copy->yields, 2);
	evfut_future_drop(&join.base);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

START_TEST(test_handle_budget_outside_a_runtime_always_proceeds)
{
	struct evfut_waker noop = evfut_waker_noop();
	struct evfut_context cx = {&noop, NULL};
	int i;

	for (i = 0; i < 2 * EVFUT_COOP_BUDGET; i++)
		ck_assert_int_eq(evfut_coop_proceed(&cx), 1);
}
END_TEST

static Suite *
handle_suite(void)
{
	Suite *s = suite_create("handle");
	TCase *tc;

	tc = tcase_create("join");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_handle_join_reports_the_task_result);
	tcase_add_test(tc, test_handle_detach_lets_the_task_finish);
	tcase_add_test(tc, test_handle_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("abort");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_handle_abort_before_the_first_poll);
	tcase_add_test(tc, test_handle_abort_while_pending_on_a_timer);
	tcase_add_test(tc, test_handle_abort_while_pending_on_io);
	tcase_add_test(tc, test_handle_abort_after_completion_changes_nothing);
	tcase_add_test(tc, test_handle_shutdown_drops_every_task);
	suite_add_tcase(s, tc);

	tc = tcase_create("budget");
	tcase_add_checked_fixture(tc, harness_setup, harness_teardown);
	tcase_add_test(tc, test_handle_budget_makes_a_busy_reader_yield);
	tcase_add_test(tc,
	               test_handle_budget_outside_a_runtime_always_proceeds);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return harness_main(handle_suite());
}
