/*
 * options.c: parses evfut-chat's command line.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "../evfut-timer/evfut-timer.h"
#include "chat.h"

static const char usage_text[] =
        "usage: evfut-chat [--host ADDR] [--port PORT] | [--unix PATH]\n"
        "                  [--idle-timeout DURATION] [--grace DURATION]\n"
        "                  [--high-water BYTES]\n"
        "defaults: --host 127.0.0.1 --port 7008 --idle-timeout 300s\n"
        "          --grace 5s --high-water 1048576\n";

static int
bad(const char *what, const char *value)
{
	fprintf(stderr, "evfut-chat: bad %s: %s\n%s", what, value, usage_text);
	return 2;
}

static int
parse_duration(const char *text, evfut_nsec *out)
{
	const char *why;

	return et_duration_parse(text, out, &why) < 0 || *out == 0 ? -EINVAL
	                                                           : 0;
}

static int
parse_one(struct chat_options *o, const char *name, const char *value, int *tcp)
{
	struct sockaddr_un sun;
	unsigned long n;

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
	} else if (strcmp(name, "--idle-timeout") == 0) {
		if (parse_duration(value, &o->idle_timeout) < 0)
			return bad("idle timeout (e.g. 60s, 500ms)", value);
	} else if (strcmp(name, "--grace") == 0) {
		if (parse_duration(value, &o->grace) < 0)
			return bad("grace period (e.g. 5s, 500ms)", value);
	} else if (strcmp(name, "--high-water") == 0) {
		/* At least a line, so that one message always fits. */
		if (et_uint_parse(value, CHAT_MAX_LINE, 1ul << 30, &n) < 0)
			return bad("high watermark (1024 to 2^30 bytes)",
			           value);
		o->high_water = n;
	} else {
		return bad("option", name);
	}
	return -1;
}

int
chat_options_parse(struct chat_options *o, int argc, char **argv)
{
	int i, rc, tcp = 0;

	*o = (struct chat_options){
	        .host = "127.0.0.1",
	        .port = 7008,
	        .idle_timeout = 300 * EVFUT_SEC,
	        .grace = 5 * EVFUT_SEC,
	        .high_water = 1u << 20,
	};
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
