/*
 * evfut-timer: the declarations the program's files share. Each .c file
 * has one job: cli.c reads the command line, duration.c reads and prints
 * durations, log.c stamps lines, logging-waker.c and thread-timer.c are the
 * classic example's parts, classic.c, many.c and interval.c are the three
 * modes, progress.c draws the progress bar, histogram.c the lateness
 * summary, and trace.c writes the Chrome trace.
 */
#ifndef EVFUT_TIMER_CLI_H
#define EVFUT_TIMER_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <evfut/future.h>
#include <evfut/runtime.h>
#include <evfut/timer.h>
#include <evfut/waker.h>

#define ET_NAME "evfut-timer"

/* Exit statuses: 0 success, 1 a failure while running, 2 bad usage. */
#define ET_EXIT_OK      0
#define ET_EXIT_FAILURE 1
#define ET_EXIT_USAGE   2

/* What the command line asks for. */
enum et_program {
	ET_CLASSIC,  /* one task awaits one timer */
	ET_MANY,     /* --count: many timers and a lateness summary */
	ET_INTERVAL, /* --interval: the missed-tick policies */
};

enum et_timer_kind {
	ET_TIMERFD, /* the runtime's timers (evfut_sleep) */
	ET_THREAD,  /* the classic thread-per-timer TimerFuture */
};

struct et_options {
	enum et_program program;
	enum et_timer_kind kind;
	bool virtual_clock;
	bool json;
	evfut_nsec duration; /* classic */
	uint64_t count;      /* many */
	const char *count_arg;
	evfut_nsec spread;
	evfut_nsec period; /* interval */
	uint64_t ticks;
	enum evfut_missed_tick missed;
	evfut_nsec stall; /* 0: none */
	uint64_t stall_after;
	const char *trace_path; /* NULL: no trace */
};

/* cli.c: fills @opts from the command line. Returns -1 to run, or the
 * exit status to leave with (0 after --help, 2 after an error, which it
 * has printed on one line). */
int et_cli_parse(struct et_options *opts, int argc, char **argv);

/* duration.c: "1.5s", "250ms", ... into nanoseconds. 0, or -EINVAL with
 * *why set to what is wrong, or -ERANGE. */
int et_duration_parse(const char *text, evfut_nsec *out, const char **why);
/* Prints @ns in the largest unit that keeps it readable ("1.5 s"). */
void et_duration_format(char *buf, size_t size, evfut_nsec ns);
/* A decimal integer in [min, max] (digits only): 0, or -EINVAL. */
int et_uint_parse(const char *text, unsigned long min, unsigned long max,
                  unsigned long *out);

/* log.c: the clock every line is stamped with, seconds since the start. */
void et_log_start(struct evfut_runtime *virtual_rt);
/* Before the runtime is destroyed: the stamps stop at its last time. */
void et_log_detach(void);
evfut_nsec et_log_elapsed(void);
void et_log(const char *who, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 2, 3)))
#endif
        ;

/* logging-waker.c: a waker that logs each vtable call and forwards it to
 * the waker it wraps. Creates one owned waker around a clone of @inner. */
int et_logging_waker_create(const struct evfut_waker *inner,
                            struct evfut_waker *out);
bool et_logging_waker_wraps(const struct evfut_waker *logging,
                            const struct evfut_waker *inner);

/* thread-timer.c: the classic TimerFuture, a thread per timer. */
struct et_thread_timer;
int et_thread_timer_create(struct et_thread_timer **out, evfut_nsec duration);
struct evfut_future *et_thread_timer_future(struct et_thread_timer *timer);
void et_thread_timer_destroy(struct et_thread_timer *timer);

/* trace.c: the runtime's trace hook, feeding the classic mode's log
 * and/or a Chrome trace file. */
struct et_trace;
int et_trace_open(struct et_trace **out, const char *path, bool log);
void et_trace_attach(struct et_trace *trace, struct evfut_runtime *rt);
/* After the runtime is destroyed: 0, or -errno of a write. */
int et_trace_close(struct et_trace *trace);

/* histogram.c: lateness percentiles and the terminal histogram. */
struct et_lateness {
	uint64_t n;
	int64_t min, p50, p90, p99, max; /* nanoseconds */
};
void et_lateness_summarise(int64_t *late, uint64_t n, struct et_lateness *out);
void et_histogram_print(FILE *out, const int64_t *sorted, uint64_t n,
                        bool unicode);
void et_histogram_json(FILE *out, const int64_t *sorted, uint64_t n);

/* progress.c: a progress bar on stderr, when it is a terminal. */
struct et_progress {
	bool enabled;
	uint64_t total;
	evfut_nsec last_draw;
};
void et_progress_init(struct et_progress *p, uint64_t total);
void et_progress_draw(struct et_progress *p, const char *what, uint64_t done,
                      bool force);
void et_progress_clear(struct et_progress *p);

/* The modes: each destroys @rt before it returns (the many-timers mode
 * must free its tasks after the runtime), and returns an exit status. */
int et_classic_run(const struct et_options *opts, struct evfut_runtime *rt);
int et_many_run(const struct et_options *opts, struct evfut_runtime *rt);
int et_interval_run(const struct et_options *opts, struct evfut_runtime *rt);

#endif
