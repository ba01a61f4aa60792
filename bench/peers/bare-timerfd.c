/*
 * bare-timerfd: the reference of timers_light (and timers_fire) with no
 * library at all: one timerfd armed with TFD_TIMER_ABSTIME at the earliest
 * deadline of a binary heap, re-armed only when that deadline changes, and
 * an epoll_wait() loop on it, as an event loop would have. What is left of
 * the lateness here is the kernel's (timer slack, wake-up, scheduling).
 * One JSON line per workload, with "lib":"bare-timerfd".
 *
 *   bare-timerfd [timers_light|timers_fire [N]]
 */
#define _GNU_SOURCE

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "peer.h"

struct entry {
	int64_t deadline;
	uint64_t index; /* arm order: the tie-break, and the lateness slot */
};

struct heap {
	struct entry *e;
	uint64_t len;
};

static bool
before(const struct entry *a, const struct entry *b)
{
	return a->deadline < b->deadline ||
	       (a->deadline == b->deadline && a->index < b->index);
}

static void
heap_push(struct heap *h, struct entry x)
{
	uint64_t i = h->len++;

	while (i > 0 && before(&x, &h->e[(i - 1) / 2])) {
		h->e[i] = h->e[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->e[i] = x;
}

static struct entry
heap_pop(struct heap *h)
{
	struct entry top = h->e[0];
	struct entry last = h->e[--h->len];
	uint64_t i = 0;

	for (;;) {
		uint64_t c = 2 * i + 1;

		if (c >= h->len)
			break;
		if (c + 1 < h->len && before(&h->e[c + 1], &h->e[c]))
			c++;
		if (!before(&h->e[c], &last))
			break;
		h->e[i] = h->e[c];
		i = c;
	}
	if (h->len > 0)
		h->e[i] = last;
	return top;
}

static int
arm(int tfd, int64_t deadline)
{
	struct itimerspec spec = {
	        {0, 0}, {deadline / 1000000000, deadline % 1000000000}};

	return timerfd_settime(tfd, TFD_TIMER_ABSTIME, &spec, NULL);
}

static int
bench_timers(const char *name, uint64_t n, bool with_cost)
{
	uint64_t *ms = draw_delays_ms(n);
	int64_t *lateness = calloc(n, sizeof(*lateness));
	struct heap h = {malloc(n * sizeof(struct entry)), 0};
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN};
	int64_t start, armed = INT64_MAX;
	double cpu;
	uint64_t i;

	if (ms == NULL || lateness == NULL || h.e == NULL || tfd < 0 ||
	    ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) < 0)
		return peer_fail(name);
	cpu = cpu_seconds();
	start = now_ns();
	for (i = 0; i < n; i++) {
		heap_push(&h,
		          (struct entry){start + (int64_t)ms[i] * 1000000, i});
		if (h.e[0].deadline != armed) {
			armed = h.e[0].deadline;
			if (arm(tfd, armed) < 0)
				return peer_fail("timerfd_settime");
		}
	}
	while (h.len > 0) {
		struct epoll_event out;
		uint64_t expirations;
		int64_t now;

		if (epoll_wait(ep, &out, 1, -1) < 0)
			continue; /* EINTR */
		while (read(tfd, &expirations, sizeof expirations) < 0 &&
		       errno == EINTR)
			;
		now = now_ns();
		while (h.len > 0 && h.e[0].deadline <= now) {
			struct entry due = heap_pop(&h);

			lateness[due.index] = now_ns() - due.deadline;
		}
		if (h.len > 0 && h.e[0].deadline != armed) {
			armed = h.e[0].deadline;
			if (arm(tfd, armed) < 0)
				return peer_fail("timerfd_settime");
		}
	}
	cpu = cpu_seconds() - cpu;
	print_timers(name, n, lateness, with_cost ? cpu : -1);
	close(ep);
	close(tfd);
	free(h.e);
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

static const struct peer_workload workloads[] = {
        {"timers_light", bench_timers_light, N_TIMERS_LIGHT},
        {"timers_fire", bench_timers_fire, N_TIMERS_FIRE},
};

int
main(int argc, char **argv)
{
	return peer_main(argc, argv, "bare-timerfd", NULL, workloads,
	                 sizeof workloads / sizeof workloads[0]);
}
