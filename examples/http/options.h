/*
 * options.h: evfut-http's command line.
 */
#ifndef HTTP_OPTIONS_H
#define HTTP_OPTIONS_H

#include <stdint.h>

#include <evfut.h>

/* What the command line sets; http_options_parse() fills in the defaults. */
struct http_options {
	const char *host;          /* numeric address to bind */
	uint16_t port;             /* 0: any free port */
	unsigned threads;          /* runtimes, one per thread */
	unsigned max_connections;  /* over all threads */
	evfut_nsec idle_timeout;   /* idle keep-alive connection */
	evfut_nsec header_timeout; /* from a request's first byte */
	evfut_nsec grace;          /* in-flight requests at shutdown */
};

/*
 * Parses argv into @p options.
 *
 * @return 0 to run; 1 when --help was printed (exit 0); 2 for a bad
 * argument, reported on stderr (exit 2).
 */
int http_options_parse(struct http_options *options, int argc, char **argv);

#endif /* HTTP_OPTIONS_H */
