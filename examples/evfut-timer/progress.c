/*
 * A progress bar on stderr, redrawn at most ten times a second, and only
 * when stderr is a terminal: in a pipe or a log file it would be noise.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <time.h>
#include <unistd.h>

#include "evfut-timer.h"

#define WIDTH  30
#define PERIOD (100 * EVFUT_MSEC)

static evfut_nsec
monotonic_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (evfut_nsec)ts.tv_sec * EVFUT_SEC + (evfut_nsec)ts.tv_nsec;
}

void
et_progress_init(struct et_progress *p, uint64_t total)
{
	p->enabled = isatty(STDERR_FILENO) == 1;
	p->total = total;
	p->last_draw = 0;
}

void
et_progress_draw(struct et_progress *p, const char *what, uint64_t done,
                 bool force)
{
	evfut_nsec now;
	uint64_t cells;
	uint64_t i;

	if (!p->enabled || p->total == 0)
		return;
	now = monotonic_now();
	if (!force && now - p->last_draw < PERIOD)
		return;
	p->last_draw = now;
	cells = done * WIDTH / p->total;
	fputs("\r[", stderr);
	for (i = 0; i < WIDTH; i++)
		fputc(i < cells ? '#' : '.', stderr);
	fprintf(stderr, "] %3u%% %s %" PRIu64 "/%" PRIu64 "\033[K",
	        (unsigned)(done * 100 / p->total), what, done, p->total);
	fflush(stderr);
}

void
et_progress_clear(struct et_progress *p)
{
	if (!p->enabled)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
}
