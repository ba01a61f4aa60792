/*
 * http-parse-bench: evfut-http's request reader against llhttp (when
 * built with it: the -Dllhttp_prefix sources, strict, as Node.js runs
 * it), on the same bytes: each request 64 times pipelined in one buffer,
 * fed as a connection feeds a read. Prints one JSON line per parser and
 * request:
 *   {"workload":"http_parse","parser":"evfut","request":"wrk",
 *    "n":...,"ns_per_req":...,"mb_per_s":...}
 * Run: build/bench/http/http-parse-bench [SECONDS per case, default 1]
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "request.h"
#ifdef HAVE_LLHTTP
#include <llhttp.h>
#endif

#define COPIES 64

static const struct {
	const char *name;
	const char *text;
} requests[] = {
        {"wrk", "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"},
        {"browser",
         "GET /index.html?q=1 HTTP/1.1\r\n"
         "Host: www.example.com\r\n"
         "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:109.0) "
         "Gecko/20100101 Firefox/115.0\r\n"
         "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,"
         "image/avif,image/webp,*/*;q=0.8\r\n"
         "Accept-Language: en-US,en;q=0.5\r\n"
         "Accept-Encoding: gzip, deflate, br\r\n"
         "Connection: keep-alive\r\n"
         "Cookie: session=0123456789abcdef0123456789abcdef; theme=dark\r\n"
         "Upgrade-Insecure-Requests: 1\r\n"
         "Sec-Fetch-Dest: document\r\n"
         "Sec-Fetch-Mode: navigate\r\n"
         "\r\n"},
        {"chunked", "POST /upload HTTP/1.1\r\nHost: a\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n"
                    "10\r\n0123456789abcdef\r\n"
                    "10;ext=1\r\n0123456789abcdef\r\n0\r\n\r\n"},
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One pass over @p buf with evfut's reader: @return the requests read. */
static size_t
evfut_pass(const char *buf, size_t len)
{
	static struct http_reader reader;
	size_t pos = 0, used, n = 0;
	enum http_read r;

	http_reader_init(&reader);
	while (pos < len) {
		r = http_reader_feed(&reader, buf + pos, len - pos, &used);
		pos += used;
		if (r == HTTP_READ_ERROR) {
			fprintf(stderr, "evfut: refused (%d)\n",
			        reader.request.status);
			exit(1);
		}
		n += r == HTTP_READ_REQUEST;
	}
	return n;
}

#ifdef HAVE_LLHTTP
static size_t llhttp_done;

static int
on_complete(llhttp_t *parser)
{
	(void)parser;
	llhttp_done++;
	return 0;
}

static size_t
llhttp_pass(const char *buf, size_t len)
{
	static llhttp_settings_t settings;
	llhttp_t parser;

	llhttp_settings_init(&settings);
	settings.on_message_complete = on_complete;
	llhttp_init(&parser, HTTP_REQUEST, &settings);
	llhttp_done = 0;
	if (llhttp_execute(&parser, buf, len) != HPE_OK) {
		fprintf(stderr, "llhttp: %s\n",
		        llhttp_get_error_reason(&parser));
		exit(1);
	}
	return llhttp_done;
}
#endif

static void
measure(const char *parser, const char *name, const char *buf, size_t len,
        size_t (*pass)(const char *, size_t), double secs)
{
	size_t n = 0;
	double start = now_s(), elapsed;

	do {
		for (int i = 0; i < 100; i++)
			if (pass(buf, len) != COPIES) {
				fprintf(stderr, "%s: wrong count\n", parser);
				exit(1);
			}
		n += 100 * COPIES;
		elapsed = now_s() - start;
	} while (elapsed < secs);
	printf("{\"workload\":\"http_parse\",\"parser\":\"%s\",\"request\":"
	       "\"%s\",\"n\":%zu,\"ns_per_req\":%.1f,\"mb_per_s\":%.0f}\n",
	       parser, name, n, elapsed * 1e9 / (double)n,
	       (double)n * (double)len / COPIES / elapsed / 1e6);
}

int
main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0;

	for (size_t r = 0; r < sizeof(requests) / sizeof(requests[0]); r++) {
		size_t one = strlen(requests[r].text), len = one * COPIES;
		char *buf = malloc(len);

		if (buf == NULL)
			return 1;
		for (int i = 0; i < COPIES; i++)
			memcpy(buf + (size_t)i * one, requests[r].text, one);
		measure("evfut", requests[r].name, buf, len, evfut_pass, secs);
#ifdef HAVE_LLHTTP
		measure("llhttp", requests[r].name, buf, len, llhttp_pass,
		        secs);
#endif
		free(buf);
	}
	return 0;
}
