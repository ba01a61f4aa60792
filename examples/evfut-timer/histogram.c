/*
 * Lateness: exact percentiles from the sorted samples (nearest rank), and
 * a histogram with log-scale buckets in 1-2-5 steps (under 1 us, 1-2 us,
 * 2-5 us, 5-10 us, ... ), bars scaled to the fullest bucket.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "evfut-timer.h"

#define BAR_WIDTH   40
#define MAX_BUCKETS 64

static int
compare(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a;
	int64_t y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The nearest-rank percentile @pct of @n sorted samples. */
static int64_t
rank(const int64_t *sorted, uint64_t n, unsigned pct)
{
	uint64_t r = (n * pct + 99) / 100;

	return sorted[r > 0 ? r - 1 : 0];
}

void
et_lateness_summarise(int64_t *late, uint64_t n, struct et_lateness *out)
{
	memset(out, 0, sizeof(*out));
	out->n = n;
	if (n == 0)
		return;
	qsort(late, (size_t)n, sizeof(*late), compare);
	out->min = late[0];
	out->p50 = rank(late, n, 50);
	out->p90 = rank(late, n, 90);
	out->p99 = rank(late, n, 99);
	out->max = late[n - 1];
}

/* The upper bound of bucket @i in ns: 1 us, 2 us, 5 us, 10 us, ... */
static int64_t
bucket_top(unsigned i)
{
	static const int64_t steps[3] = {1, 2, 5};
	int64_t top = 1000 * steps[i % 3];
	unsigned d;

	for (d = 0; d < i / 3; d++) {
		if (top > INT64_MAX / 10)
			return INT64_MAX;
		top *= 10;
	}
	return top;
}

/* Counts the sorted samples into buckets; returns how many buckets. */
static unsigned
fill(const int64_t *sorted, uint64_t n, uint64_t counts[MAX_BUCKETS])
{
	unsigned b = 0;
	uint64_t i;

	memset(counts, 0, MAX_BUCKETS * sizeof(counts[0]));
	for (i = 0; i < n; i++) {
		while (sorted[i] >= bucket_top(b) && b < MAX_BUCKETS - 1)
			b++;
		counts[b]++;
	}
	return n > 0 ? b + 1 : 0;
}

/* "500 us", "1 ms", "20 s": bucket bounds are whole 1-2-5 values. */
static void
format_bound(char *buf, size_t size, int64_t ns)
{
	if (ns < 1000000)
		snprintf(buf, size, "%lld us", (long long)(ns / 1000));
	else if (ns < 1000000000)
		snprintf(buf, size, "%lld ms", (long long)(ns / 1000000));
	else
		snprintf(buf, size, "%lld s", (long long)(ns / 1000000000));
}

static void
print_bar(FILE *out, uint64_t count, uint64_t fullest, bool unicode)
{
	uint64_t cells = (count * BAR_WIDTH + fullest - 1) / fullest;
	uint64_t i;

	for (i = 0; i < BAR_WIDTH; i++) {
		if (i < cells)
			fputs(unicode ? "\xe2\x96\x88" : "#", out); /* U+2588 */
		else
			fputc(' ', out);
	}
}

void
et_histogram_print(FILE *out, const int64_t *sorted, uint64_t n, bool unicode)
{
	uint64_t counts[MAX_BUCKETS];
	uint64_t fullest = 0;
	unsigned used = fill(sorted, n, counts);
	unsigned first = 0;
	unsigned i;
	char lo[24];
	char hi[24];

	for (i = 0; i < used; i++)
		fullest = counts[i] > fullest ? counts[i] : fullest;
	while (first < used && counts[first] == 0)
		first++;
	fprintf(out,
	        "lateness histogram (log-scale buckets, %" PRIu64 " timers)\n",
	        n);
	for (i = first; i < used; i++) {
		format_bound(hi, sizeof(hi), bucket_top(i));
		if (i == 0)
			snprintf(lo, sizeof(lo), "0");
		else
			format_bound(lo, sizeof(lo), bucket_top(i - 1));
		fprintf(out, "  %7s .. %-7s |", lo, hi);
		print_bar(out, counts[i], fullest, unicode);
		fprintf(out, "| %9" PRIu64 " %5.1f%%\n", counts[i],
		        100.0 * (double)counts[i] / (double)n);
	}
}

void
et_histogram_json(FILE *out, const int64_t *sorted, uint64_t n)
{
	uint64_t counts[MAX_BUCKETS];
	unsigned used = fill(sorted, n, counts);
	unsigned i;

	fputs("[", out);
	for (i = 0; i < used; i++)
		fprintf(out,
		        "%s{\"lo_ns\":%lld,\"hi_ns\":%lld,\"count\":%" PRIu64
		        "}",
		        i > 0 ? "," : "",
		        i > 0 ? (long long)bucket_top(i - 1) : 0LL,
		        (long long)bucket_top(i), counts[i]);
	fputs("]", out);
}
