/*
 * Timestamped lines for the classic mode. On the virtual clock the stamp
 * is the runtime's own time, so a 3 s timer reads "3.000000 s" although
 * the run takes milliseconds; otherwise it is CLOCK_MONOTONIC, the clock
 * of the runtime's timers.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "evfut-timer.h"

/* Written once by et_log_start(), before any other thread exists. */
static struct evfut_runtime *virtual_runtime;
static evfut_nsec start;
static bool frozen; /* the virtual runtime is gone: its time stays */
static evfut_nsec frozen_at;

static evfut_nsec
monotonic_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (evfut_nsec)ts.tv_sec * EVFUT_SEC + (evfut_nsec)ts.tv_nsec;
}

/* Only the runtime's thread reads the virtual clock: the thread timer,
 * the one other thread that logs, is refused on the virtual clock. */
static evfut_nsec
now(void)
{
	if (frozen)
		return frozen_at;
	if (virtual_runtime != NULL)
		return evfut_runtime_now(virtual_runtime);
	return monotonic_now();
}

void
et_log_start(struct evfut_runtime *virtual_rt)
{
	virtual_runtime = virtual_rt;
	start = now();
}

void
et_log_detach(void)
{
	if (virtual_runtime == NULL)
		return;
	frozen_at = now();
	frozen = true;
	virtual_runtime = NULL;
}

evfut_nsec
et_log_elapsed(void)
{
	return now() - start;
}

void
et_log(const char *who, const char *fmt, ...)
{
	evfut_nsec t = et_log_elapsed();
	char line[512];
	va_list ap;
	int len;

	len = snprintf(line, sizeof(line), "[%4u.%06u s] %-8s ",
	               (unsigned)(t / EVFUT_SEC),
	               (unsigned)(t % EVFUT_SEC / 1000), who);

	va_start(ap, fmt);
	vsnprintf(line + len, sizeof(line) - (size_t)len, fmt, ap);
	va_end(ap);
	/* One locked stdio call per line keeps lines of two threads whole. */
	puts(line);
}
