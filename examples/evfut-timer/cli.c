/*
 * The command line. Every error is one line on stderr that names the
 * argument at fault, and exit status 2, so that scripts can tell a usage
 * error (2) from a run that failed (1).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <evfut/version.h>

#include "evfut-timer.h"

static const char usage_text[] =
        "Usage: " ET_NAME " [OPTIONS] [DURATION]\n"
        "       " ET_NAME " --count N [--spread DURATION] [--json]\n"
        "       " ET_NAME " --interval DURATION [--ticks N] "
        "[--missed burst|delay|skip]\n"
        "                   [--stall DURATION [--stall-after N]]\n"
        "\n"
        "The timer demo of evfut, a Future/Waker/Executor runtime for C.\n"
        "\n"
        "With a DURATION (default 3s), one task awaits one timer and every\n"
        "step of the waker's life is logged as it happens.\n"
        "  --mode timerfd|thread  the runtime's timers (timerfd, default) or\n"
        "                         the classic thread-per-timer TimerFuture\n"
        "  --virtual              run on the virtual clock: time jumps to the\n"
        "                         next deadline (not with --mode thread)\n"
        "\n"
        "Many timers:\n"
        "  --count N              arm N timers, one task each\n"
        "  --spread DURATION      deadlines spread uniformly over this window\n"
        "                         (default 1s)\n"
        "  --json                 print the summary as one JSON object\n"
        "\n"
        "Intervals:\n"
        "  --interval DURATION    the period of an evfut_interval\n"
        "  --ticks N              ticks to show (default 10)\n"
        "  --missed POLICY        burst (default), delay or skip\n"
        "  --stall DURATION       block the task once, inside its poll\n"
        "  --stall-after N        ... after tick N (default 3)\n"
        "\n"
        "All modes:\n"
        "  --trace FILE           write a Chrome trace-event JSON of polls,\n"
        "                         wakes and timer fires (Perfetto)\n"
        "  -h, --help             show this help and exit\n"
        "  --version              show the version and exit\n"
        "\n"
        "DURATION is a decimal number and a unit: ns, us, ms, s or m\n"
        "(250ms, 1.5s, 2m). Exit status: 0 on success, 1 if the run failed\n"
        "(out of memory included), 2 on bad usage.\n";

/* Prints "evfut-timer: MESSAGE" on one line; returns the usage status. */
static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs(ET_NAME ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return ET_EXIT_USAGE;
}

struct cursor {
	int argc;
	char **argv;
	int i;
	const char *name;  /* the option being read, without "=value" */
	char name_buf[32]; /* room for an option name given as --name=value */
	const char *value; /* its value once taken, for error messages */
	const char *inline_value;
};

/* Takes the option's value, from "--name=value" or the next argument. */
static int
take_value(struct cursor *c)
{
	if (c->inline_value != NULL) {
		c->value = c->inline_value;
		return 0;
	}
	if (c->i + 1 >= c->argc)
		return usage_error("%s: missing value", c->name);
	c->value = c->argv[++c->i];
	return 0;
}

static int
take_duration(struct cursor *c, evfut_nsec *out, bool positive)
{
	const char *why;
	int rc;

	if (take_value(c) != 0)
		return ET_EXIT_USAGE;
	rc = et_duration_parse(c->value, out, &why);
	if (rc < 0)
		return usage_error("%s %s: %s", c->name, c->value, why);
	if (positive && *out == 0)
		return usage_error("%s %s: must be more than 0", c->name,
		                   c->value);
	return 0;
}

static int
take_count(struct cursor *c, uint64_t *out, uint64_t min)
{
	const char *p;
	uint64_t v = 0;
	unsigned d;

	if (take_value(c) != 0)
		return ET_EXIT_USAGE;
	p = c->value;
	if (*p == '-')
		return usage_error("%s %s: must not be negative", c->name,
		                   c->value);
	if (*p == '\0')
		return usage_error("%s %s: not a number", c->name, c->value);
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return usage_error("%s %s: not a number", c->name,
			                   c->value);
		d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return usage_error("%s %s: too large", c->name,
			                   c->value);
		v = v * 10 + d;
	}
	if (v < min)
		return usage_error("%s %s: must be at least %u", c->name,
		                   c->value, (unsigned)min);
	*out = v;
	return 0;
}

static const char *const kinds[] = {"timerfd", "thread", NULL};
static const char *const policies[] = {"burst", "delay", "skip", NULL};

static int
take_choice(struct cursor *c, const char *const *choices, int *out)
{
	int i;

	if (take_value(c) != 0)
		return ET_EXIT_USAGE;
	for (i = 0; choices[i] != NULL; i++) {
		if (strcmp(c->value, choices[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return usage_error("%s %s: unknown choice (use %s)", c->name, c->value,
	                   choices == kinds ? "timerfd or thread"
	                                    : "burst, delay or skip");
}

/* Which options the command line gave, to reject the combinations that
 * mean nothing. */
struct seen {
	bool duration, mode, count, spread, json, interval, ticks, missed,
	        stall, stall_after;
};

static int
parse_option(struct cursor *c, struct et_options *o, struct seen *s)
{
	const char *n = c->name;
	int choice;
	int rc;

	if (strcmp(n, "--mode") == 0) {
		s->mode = true;
		rc = take_choice(c, kinds, &choice);
		o->kind = (enum et_timer_kind)choice;
	} else if (strcmp(n, "--count") == 0) {
		s->count = true;
		rc = take_count(c, &o->count, 1);
		o->count_arg = c->value;
	} else if (strcmp(n, "--spread") == 0) {
		s->spread = true;
		rc = take_duration(c, &o->spread, false);
	} else if (strcmp(n, "--interval") == 0) {
		s->interval = true;
		rc = take_duration(c, &o->period, true);
	} else if (strcmp(n, "--ticks") == 0) {
		s->ticks = true;
		rc = take_count(c, &o->ticks, 1);
	} else if (strcmp(n, "--missed") == 0) {
		s->missed = true;
		rc = take_choice(c, policies, &choice);
		o->missed = (enum evfut_missed_tick)choice;
	} else if (strcmp(n, "--stall") == 0) {
		s->stall = true;
		rc = take_duration(c, &o->stall, false);
	} else if (strcmp(n, "--stall-after") == 0) {
		s->stall_after = true;
		rc = take_count(c, &o->stall_after, 0);
	} else if (strcmp(n, "--trace") == 0) {
		rc = take_value(c);
		o->trace_path = c->value;
		if (rc == 0 && *c->value == '\0')
			rc = usage_error("--trace: empty file name");
	} else {
		rc = usage_error("%s: unknown option", c->argv[c->i]);
	}
	return rc;
}

/* Splits "--name=value"; the flags take no value. */
static int
parse_flag_or_option(struct cursor *c, struct et_options *o, struct seen *s)
{
	const char *arg = c->argv[c->i];
	const char *eq = strchr(arg, '=');
	size_t len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);

	if (len >= sizeof(c->name_buf))
		return usage_error("%s: unknown option", arg);
	memcpy(c->name_buf, arg, len);
	c->name_buf[len] = '\0';
	c->name = c->name_buf;
	c->inline_value = eq != NULL ? eq + 1 : NULL;
	c->value = NULL;
	if (strcmp(c->name, "--virtual") == 0 ||
	    strcmp(c->name, "--json") == 0) {
		if (eq != NULL)
			return usage_error("%s: takes no value", arg);
		if (c->name[2] == 'v')
			o->virtual_clock = true;
		else
			s->json = o->json = true;
		return 0;
	}
	return parse_option(c, o, s);
}

static int
parse_positional(struct cursor *c, struct et_options *o, struct seen *s)
{
	const char *arg = c->argv[c->i];
	const char *why;

	if (s->duration)
		return usage_error("%s: only one DURATION", arg);
	s->duration = true;
	if (et_duration_parse(arg, &o->duration, &why) < 0)
		return usage_error("%s: %s", arg, why);
	return 0;
}

/* Rejects the options that mean nothing together, naming one of them. */
static int
check_combinations(struct et_options *o, const struct seen *s)
{
	if (s->count && s->interval)
		return usage_error("--interval: not with --count");
	o->program = s->count      ? ET_MANY
	             : s->interval ? ET_INTERVAL
	                           : ET_CLASSIC;
	if (o->program != ET_CLASSIC && s->duration)
		return usage_error("DURATION: not with --count or --interval");
	if (o->program != ET_CLASSIC && s->mode)
		return usage_error("--mode: only for a single timer");
	if (o->program != ET_MANY && (s->spread || s->json))
		return usage_error("%s: only with --count",
		                   s->spread ? "--spread" : "--json");
	if (o->program != ET_INTERVAL &&
	    (s->ticks || s->missed || s->stall || s->stall_after))
		return usage_error("%s: only with --interval",
		                   s->ticks    ? "--ticks"
		                   : s->missed ? "--missed"
		                   : s->stall  ? "--stall"
		                               : "--stall-after");
	if (s->stall_after && !s->stall)
		return usage_error("--stall-after: only with --stall");
	if (o->kind == ET_THREAD && o->virtual_clock)
		return usage_error("--virtual: not with --mode thread "
		                   "(its thread sleeps in real time)");
	return -1;
}

static void
set_defaults(struct et_options *o)
{
	memset(o, 0, sizeof(*o));
	o->program = ET_CLASSIC;
	o->kind = ET_TIMERFD;
	o->duration = 3 * EVFUT_SEC;
	o->spread = EVFUT_SEC;
	o->ticks = 10;
	o->missed = EVFUT_MISSED_BURST;
	o->stall_after = 3;
}

int
et_cli_parse(struct et_options *opts, int argc, char **argv)
{
	struct cursor c = {.argc = argc, .argv = argv};
	struct seen s = {0};
	bool options_end = false;
	const char *arg;
	int rc;

	set_defaults(opts);
	for (c.i = 1; c.i < argc; c.i++) {
		arg = argv[c.i];
		if (!options_end && strcmp(arg, "--") == 0) {
			options_end = true;
			continue;
		}
		if (!options_end &&
		    (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)) {
			fputs(usage_text, stdout);
			return ET_EXIT_OK;
		}
		if (!options_end && strcmp(arg, "--version") == 0) {
			printf(ET_NAME " %s\n", EVFUT_VERSION);
			return ET_EXIT_OK;
		}
		if (!options_end && arg[0] == '-' && arg[1] == '-')
			rc = parse_flag_or_option(&c, opts, &s);
		else if (!options_end && arg[0] == '-' && arg[1] != '\0' &&
		         !(arg[1] >= '0' && arg[1] <= '9') && arg[1] != '.')
			rc = usage_error("%s: unknown option", arg);
		else
			rc = parse_positional(&c, opts, &s);
		if (rc != 0)
			return rc;
	}
	return check_combinations(opts, &s);
}
