/*
 * Durations on the command line: a decimal number and a unit, "250ms",
 * "1.5s", "2m". Parsed by hand in integers, so that "0.1s" is exactly
 * 100000000 ns and no input can overflow silently. Also the bounded
 * counts the example servers take (ports, limits).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evfut-timer.h"

struct unit {
	const char *name;
	evfut_nsec ns;
};

static const struct unit units[] = {
        {"ns", 1},         {"us", 1000},       {"ms", 1000000},
        {"s", 1000000000}, {"m", 60000000000},
};

static const struct unit *
find_unit(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(units[i].name, name) == 0)
			return &units[i];
	return NULL;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads the digits at *p into *value; -ERANGE past UINT64_MAX. */
static int
read_integer(const char **p, uint64_t *value)
{
	uint64_t v = 0;
	unsigned d;

	for (; is_digit(**p); (*p)++) {
		d = (unsigned)(**p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*value = v;
	return 0;
}

/* The fraction's digits at *p, in units of @unit nanoseconds; digits finer
 * than a nanosecond are dropped. */
static evfut_nsec
read_fraction(const char **p, evfut_nsec unit)
{
	evfut_nsec ns = 0;
	evfut_nsec place = unit;

	for (; is_digit(**p); (*p)++) {
		place /= 10;
		ns += (evfut_nsec)(**p - '0') * place;
	}
	return ns;
}

/* Multiplies and adds, refusing EVFUT_NEVER and above. */
static int
scale(uint64_t whole, evfut_nsec unit, evfut_nsec fraction, evfut_nsec *out)
{
	if (whole > (EVFUT_NEVER - 1) / unit)
		return -ERANGE;
	if (whole * unit > EVFUT_NEVER - 1 - fraction)
		return -ERANGE;
	*out = whole * unit + fraction;
	return 0;
}

int
et_duration_parse(const char *text, evfut_nsec *out, const char **why)
{
	const char *p = text;
	const char *frac_at;
	const struct unit *unit;
	uint64_t whole;

	*why = "expected a number and a unit (ns, us, ms, s, m)";
	if (*p == '-') {
		*why = "must not be negative";
		return -EINVAL;
	}
	if (!is_digit(*p) && !(*p == '.' && is_digit(p[1])))
		return -EINVAL;
	if (read_integer(&p, &whole) < 0) {
		*why = "too large";
		return -ERANGE;
	}
	frac_at = NULL;
	if (*p == '.') {
		frac_at = ++p;
		while (is_digit(*p))
			p++;
	}
	if (*p == '\0') {
		*why = "missing unit (ns, us, ms, s, m)";
		return -EINVAL;
	}
	unit = find_unit(p);
	if (unit == NULL) {
		*why = "unknown unit (use ns, us, ms, s or m)";
		return -EINVAL;
	}
	*why = "too large";
	return scale(whole, unit->ns,
	             frac_at != NULL ? read_fraction(&frac_at, unit->ns) : 0,
	             out);
}

void
et_duration_format(char *buf, size_t size, evfut_nsec ns)
{
	if (ns < 1000)
		snprintf(buf, size, "%u ns", (unsigned)ns);
	else if (ns < 1000000)
		snprintf(buf, size, "%.4g us", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, size, "%.4g ms", (double)ns / 1e6);
	else
		snprintf(buf, size, "%.4g s", (double)ns / 1e9);
}

int
et_uint_parse(const char *text, unsigned long min, unsigned long max,
              unsigned long *out)
{
	char *end;
	unsigned long value;

	if (text[0] < '0' || text[0] > '9')
		return -EINVAL;
	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || value < min || value > max)
		return -EINVAL;
	*out = value;
	return 0;
}
