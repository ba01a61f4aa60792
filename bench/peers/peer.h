/*
 * What every peer benchmark shares: the clocks, the random numbers and the
 * JSON lines of shared/bench/WORKLOADS.md, and the command line
 *
 *   PEER [--variant NAME] [WORKLOAD [N]]
 *
 * Each peer defines its workloads as a table of struct peer_workload and
 * calls peer_main(). Every line carries "lib" (and "variant" when the
 * library is measured more than one way) besides the workload's fields.
 */
#ifndef EVFUT_BENCH_PEER_H
#define EVFUT_BENCH_PEER_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* The library's name in the JSON lines; "--variant X" makes it "LIB-X". */
static char peer_lib[64];

static inline int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static inline long
maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* The random numbers of WORKLOADS.md: xorshift64 seeded with 42. */
static inline uint64_t
xorshift64(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* The deadline of timer @i, in ms after the start: [1, 1000]. Drawn in
 * index order, as evfut-bench does. */
static inline uint64_t *
draw_delays_ms(uint64_t n)
{
	uint64_t *ms = malloc(n * sizeof(*ms));
	uint64_t x = 42;
	uint64_t i;

	if (ms == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		ms[i] = 1 + xorshift64(&x) % 1000;
	return ms;
}

static inline int
peer_fail(const char *what)
{
	fprintf(stderr, "%s-bench: %s failed\n", peer_lib, what);
	return 1;
}

static inline int
compare_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a;
	int64_t y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static inline double
percentile_us(const int64_t *sorted, uint64_t n, double p)
{
	uint64_t i = (uint64_t)(p * (double)(n - 1) + 0.5);

	return (double)sorted[i] / 1e3;
}

static inline void
print_ns_per_op(const char *workload, uint64_t n, double elapsed_ns)
{
	printf("{\"workload\":\"%s\",\"lib\":\"%s\",\"n\":%llu,"
	       "\"ns_per_op\":%.1f}\n",
	       workload, peer_lib, (unsigned long long)n,
	       elapsed_ns / (double)n);
	fflush(stdout);
}

/* Sorts @lateness (ns, firing time minus deadline) and prints the line of
 * timers_fire (@cpu >= 0: with its cost) or timers_light. A library that
 * fires early shows a negative lateness: it is reported as measured. */
static inline void
print_timers(const char *workload, uint64_t n, int64_t *lateness, double cpu)
{
	qsort(lateness, n, sizeof(*lateness), compare_i64);
	printf("{\"workload\":\"%s\",\"lib\":\"%s\",\"n\":%llu", workload,
	       peer_lib, (unsigned long long)n);
	if (cpu >= 0)
		printf(",\"cpu_s\":%.3f,\"maxrss_kb\":%ld", cpu, maxrss_kb());
	printf(",\"late_p50_us\":%.1f,\"late_p99_us\":%.1f,"
	       "\"late_max_us\":%.1f,\"late_min_us\":%.1f}\n",
	       percentile_us(lateness, n, 0.50),
	       percentile_us(lateness, n, 0.99),
	       percentile_us(lateness, n, 1.0), percentile_us(lateness, n, 0));
	fflush(stdout);
}

static inline void
print_idle_memory(uint64_t n, long before_kb, long after_kb)
{
	printf("{\"workload\":\"idle_memory\",\"lib\":\"%s\",\"n\":%llu,"
	       "\"bytes_per_task\":%.1f}\n",
	       peer_lib, (unsigned long long)n,
	       (double)(after_kb - before_kb) * 1024.0 / (double)n);
	fflush(stdout);
}

struct peer_workload {
	const char *name;
	int (*run)(uint64_t n);
	uint64_t n;
};

/* The sizes of WORKLOADS.md. */
#define N_SPAWN         1000000
#define N_PINGPONG      10000000
#define N_TIMERS_FIRE   1000000
#define N_TIMERS_LIGHT  10000
#define N_TIMERS_CANCEL 1000000
#define CANCEL_WINDOW   10000
#define N_IDLE_MEMORY   1000000

static inline int
peer_usage(const char *lib, const struct peer_workload *w, size_t count)
{
	size_t i;

	fprintf(stderr,
	        "usage: %s-bench [--variant NAME] [WORKLOAD [N]]\n"
	        "workloads:",
	        lib);
	for (i = 0; i < count; i++)
		fprintf(stderr, " %s", w[i].name);
	fprintf(stderr, "\n");
	return 2;
}

/* @variants: the names "--variant" accepts, NULL-terminated; the chosen
 * one is in peer_lib ("LIB-NAME") for the workloads to read. */
static inline int
peer_main(int argc, char **argv, const char *lib, const char *const *variants,
          const struct peer_workload *w, size_t count)
{
	const char *variant = NULL;
	uint64_t n;
	char *end;
	size_t i;
	int rc = 0;

	snprintf(peer_lib, sizeof peer_lib, "%s", lib);
	if (argc >= 3 && strcmp(argv[1], "--variant") == 0) {
		for (i = 0; variants != NULL && variants[i] != NULL; i++)
			if (strcmp(argv[2], variants[i]) == 0)
				variant = variants[i];
		if (variant == NULL)
			return peer_usage(lib, w, count);
		snprintf(peer_lib, sizeof peer_lib, "%s-%s", lib, variant);
		argc -= 2;
		argv += 2;
	}
	if (argc == 1) {
		for (i = 0; i < count; i++)
			rc |= w[i].run(w[i].n);
		return rc;
	}
	for (i = 0; i < count; i++) {
		if (strcmp(argv[1], w[i].name) != 0)
			continue;
		if (argc > 3)
			return peer_usage(lib, w, count);
		n = w[i].n;
		if (argc == 3) {
			errno = 0;
			n = strtoull(argv[2], &end, 10);
			if (errno != 0 || *end != '\0' || n == 0 ||
			    argv[2][0] == '-')
				return peer_usage(lib, w, count);
		}
		return w[i].run(n);
	}
	return peer_usage(lib, w, count);
}

#endif
