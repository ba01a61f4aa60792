/*
 * options.c: parses evfut-echo's command line.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "../evfut-timer/evfut-timer.h"
#include "echo.h"

static const char usage_text[] =
        "usage: evfut-echo [--host ADDR] [--port PORT] | [--unix PATH]\n"
        "                  [--idle-timeout DURATION] [--max-connections N]\n"
        "defaults: --host 127.0.0.1 --port 7007 --idle-timeout 60s\n"
        "          --max-connections 10000\n";

static int
bad(const char *what, const char *value)
{
	fprintf(stderr, "evfut-echo: bad %s: %s\n%s", what, value, usage_text);
	return 2;
}

static int
parse_one(struct echo_options *o, const char *name, const char *value, int *tcp)
{
	struct sockaddr_un sun;
	unsigned long n;
	const char *why;

	if (strcmp(name, "--host") == 0) {
		o->host = value;
		*tcp = 1;
	} else if (strcmp(name, "--port") == 0) {
		if (et_uint_parse(value, 0, 65535, &n) < 0)
			return bad("port", value);
		o->port = (uint16_t)n;
		*tcp = 1;
	} else if (strcmp(name, "--unix") == 0) {
		if (value[0] == '\0' || strlen(value) >= sizeof sun.sun_path)
			return bad("socket path (empty or too long)", value);
		o->unix_path = value;
	} else if (strcmp(name, "--max-connections") == 0) {
		if (et_uint_parse(value, 1, 10000000, &n) < 0)
			return bad("connection count", value);
		o->max_connections = (unsigned)n;
	} else if (strcmp(name, "--idle-timeout") == 0) {
		if (et_duration_parse(value, &o->idle_timeout, &why) < 0 ||
		    o->idle_timeout == 0)
			return bad("idle timeout (e.g. 60s, 500ms)", value);
	} else {
		return bad("option", name);
	}
	return -1;
}

int
echo_options_parse(struct echo_options *o, int argc, char **argv)
{
	int i, rc, tcp = 0;

	o->host = "127.0.0.1";
	o->port = 7007;
	o->unix_path = NULL;
	o->idle_timeout = 60 * EVFUT_SEC;
	o->max_connections = 10000;
	/* Options come in pairs: --name value. */
	for (i = 1; i < argc; i += 2) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (i + 1 == argc)
			return bad("option (no value)", argv[i]);
		rc = parse_one(o, argv[i], argv[i + 1], &tcp);
		if (rc >= 0)
			return rc;
	}
	if (tcp && o->unix_path != NULL)
		return bad("options (--unix excludes --host and --port)",
		           o->unix_path);
	return -1;
}
