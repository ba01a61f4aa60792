/*
 * echo.h: the parts of evfut-echo (main.c has the usage).
 */
#ifndef ECHO_H
#define ECHO_H

#include <stdint.h>

#include <evfut.h>

struct echo_options {
	const char *host;
	uint16_t port;
	const char *unix_path;   /* NULL: TCP */
	evfut_nsec idle_timeout; /* since the last byte read */
	unsigned max_connections;
};

/* options.c: fills @o from the command line. Returns -1 to run, or the
 * exit status to leave with (0 after --help, 2 after an error, which it
 * has printed). */
int echo_options_parse(struct echo_options *o, int argc, char **argv);

/* What the connections share with the accept loop; it outlives them. */
struct echo_limits {
	evfut_nsec idle_timeout;
	unsigned max_connections;
	unsigned live; /* connection tasks spawned and not dropped yet */
};

/* conn.c: spawns the task that echoes on @fd, or closes @fd at once when
 * the cap is reached or the spawn fails. */
void echo_conn_spawn(struct echo_limits *limits, int fd,
                     struct evfut_context *cx);

#endif /* ECHO_H */
