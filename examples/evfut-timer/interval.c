/*
 * The interval mode: one task awaits an evfut_interval and prints each
 * tick's scheduled and actual time. With --stall, the task blocks once
 * inside its poll, after tick --stall-after, as a task doing too much
 * work would: the ticks it misses show the policy (burst fires them at
 * once, delay restarts the schedule from now, skip jumps to the next tick
 * of the original schedule). On the virtual clock the stall moves the
 * clock by the stall (evfut_runtime_advance), since sleeping the thread
 * would not move virtual time.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include <evfut/task.h>

#include "evfut-timer.h"

struct ticker {
	struct evfut_future base;
	struct evfut_interval interval;
	const struct et_options *opts;
	evfut_nsec start; /* on the runtime's clock */
	int result;
};

static const char *const policy_names[] = {"burst", "delay", "skip"};

static void
print_seconds(evfut_nsec ns)
{
	printf("  %4u.%06u", (unsigned)(ns / EVFUT_SEC),
	       (unsigned)(ns % EVFUT_SEC / 1000));
}

/* Blocks the task, and so the whole runtime, for the stall. */
static void
stall(struct ticker *t, struct evfut_runtime *rt)
{
	struct timespec ts = {(time_t)(t->opts->stall / EVFUT_SEC),
	                      (long)(t->opts->stall % EVFUT_SEC)};

	if (t->opts->virtual_clock) {
		evfut_runtime_advance(rt, t->opts->stall);
		return;
	}
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		continue;
}

static void
print_tick(struct ticker *t, evfut_nsec now)
{
	evfut_nsec scheduled = t->interval.scheduled - t->start;
	evfut_nsec actual = now - t->start;

	printf("%4" PRIu64, t->interval.ticks);
	print_seconds(scheduled);
	print_seconds(actual);
	print_seconds(actual - scheduled);
}

static enum evfut_poll
ticker_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct ticker *t = evfut_container_of(self, struct ticker, base);

	for (;;) {
		if (evfut_future_poll(&t->interval.base, cx) == EVFUT_PENDING)
			return EVFUT_PENDING;
		t->result = t->interval.result;
		if (t->result < 0)
			return EVFUT_READY;
		print_tick(t, evfut_runtime_now(cx->runtime));
		if (t->opts->stall > 0 &&
		    t->interval.ticks == t->opts->stall_after) {
			printf("  stall: the task blocks for %.6f s\n",
			       (double)t->opts->stall / 1e9);
			stall(t, cx->runtime);
		} else {
			fputc('\n', stdout);
		}
		if (t->interval.ticks >= t->opts->ticks)
			return EVFUT_READY;
	}
}

static void
print_header(const struct et_options *opts)
{
	char period[32], stall[32];

	et_duration_format(period, sizeof(period), opts->period);
	printf(ET_NAME ": interval %s, %" PRIu64 " ticks, missed ticks: %s",
	       period, opts->ticks, policy_names[opts->missed]);
	if (opts->stall > 0) {
		et_duration_format(stall, sizeof(stall), opts->stall);
		printf(", a %s stall after tick %" PRIu64, stall,
		       opts->stall_after);
	}
	printf(" (%s clock)\n", opts->virtual_clock ? "virtual" : "monotonic");
	printf("tick   scheduled      actual        late  (seconds)\n");
}

int
et_interval_run(const struct et_options *opts, struct evfut_runtime *rt)
{
	struct ticker t = {.base = EVFUT_FUTURE_INIT(ticker_poll, NULL),
	                   .opts = opts};
	int rc;

	print_header(opts);
	rc = evfut_interval_init(&t.interval, opts->period, opts->missed);
	t.start = evfut_runtime_now(rt);
	if (rc == 0)
		rc = evfut_runtime_block_on(rt, &t.base);
	if (rc == 0)
		rc = t.result;
	evfut_future_drop(&t.interval.base);
	evfut_runtime_destroy(rt);
	if (rc < 0) {
		fprintf(stderr, ET_NAME ": --interval: %s\n", strerror(-rc));
		return ET_EXIT_FAILURE;
	}
	return ET_EXIT_OK;
}
