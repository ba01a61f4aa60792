/*
 * options.c: parses evfut-http's command line; see main.c for the usage.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../evfut-timer/evfut-timer.h"
#include "options.h"

static const char usage_text[] =
        "usage: evfut-http [--host ADDR] [--port PORT] [--threads N]\n"
        "                  [--max-connections N] [--idle-timeout SEC]\n"
        "                  [--header-timeout SEC] [--grace SEC]\n"
        "defaults: --host 127.0.0.1 --port 8080 --threads 1\n"
        "          --max-connections 10000 --idle-timeout 5\n"
        "          --header-timeout 10 --grace 5\n";

static int
bad(const char *what, const char *value)
{
	fprintf(stderr, "evfut-http: bad %s: %s\n%s", what, value, usage_text);
	return 2;
}

/* Seconds, fractions allowed, more than 0 and at most a day. */
static int
parse_seconds(const char *text, evfut_nsec *out)
{
	char *end;
	double value;

	errno = 0;
	value = strtod(text, &end);
	if (errno != 0 || *end != '\0' || end == text || !isfinite(value) ||
	    value <= 0 || value > 86400)
		return -EINVAL;
	*out = (evfut_nsec)(value * (double)EVFUT_SEC);
	return 0;
}

static int
parse_one(struct http_options *o, const char *name, const char *value)
{
	unsigned long n;

	if (strcmp(name, "--host") == 0) {
		o->host = value;
	} else if (strcmp(name, "--port") == 0) {
		if (et_uint_parse(value, 0, 65535, &n) < 0)
			return bad("port", value);
		o->port = (uint16_t)n;
	} else if (strcmp(name, "--threads") == 0) {
		if (et_uint_parse(value, 1, 1024, &n) < 0)
			return bad("thread count", value);
		o->threads = (unsigned)n;
	} else if (strcmp(name, "--max-connections") == 0) {
		if (et_uint_parse(value, 1, 10000000, &n) < 0)
			return bad("connection count", value);
		o->max_connections = (unsigned)n;
	} else if (strcmp(name, "--idle-timeout") == 0) {
		if (parse_seconds(value, &o->idle_timeout) < 0)
			return bad("idle timeout", value);
	} else if (strcmp(name, "--header-timeout") == 0) {
		if (parse_seconds(value, &o->header_timeout) < 0)
			return bad("header timeout", value);
	} else if (strcmp(name, "--grace") == 0) {
		if (parse_seconds(value, &o->grace) < 0)
			return bad("grace period", value);
	} else {
		return bad("option", name);
	}
	return 0;
}

int
http_options_parse(struct http_options *o, int argc, char **argv)
{
	int i, rc;

	o->host = "127.0.0.1";
	o->port = 8080;
	o->threads = 1;
	o->max_connections = 10000;
	o->idle_timeout = 5 * EVFUT_SEC;
	o->header_timeout = 10 * EVFUT_SEC;
	o->grace = 5 * EVFUT_SEC;
	/* Options come in pairs: --name value. */
	for (i = 1; i < argc; i += 2) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return 1;
		}
		if (i + 1 == argc)
			return bad("option (no value)", argv[i]);
		rc = parse_one(o, argv[i], argv[i + 1]);
		if (rc != 0)
			return rc;
	}
	return 0;
}
