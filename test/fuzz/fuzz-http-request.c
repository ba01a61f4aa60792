/*
 * Fuzzes evfut-http's request reader (examples/http/request.c, the glue
 * to libhttp-parser) with arbitrary bytes in arbitrary splits.
 *
 * Input: the first byte says how many split points follow (0 to 15), each
 * one byte (a chunk length of 1 to 256); the rest is what a client sends.
 * The bytes are fed the way the connection task feeds them (conn.c's
 * parse(): one http_reader_feed() after another until a chunk is used up,
 * a request asks to close, or a request is bad), once in a single chunk
 * and once in the decoded chunks. The reader must never crash or loop, and
 * both runs must read the same requests (status, close, HEAD, HTTP/1.0
 * keep-alive) in the same order and end in the same phase. Any difference
 * aborts.
 *
 * Build: test/fuzz/run (libFuzzer), or the meson 'fuzz' suite replays
 * test/fuzz/corpus/http-request/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "request.h"

#define MAX_REQUESTS 4096

struct outcome {
	size_t count;
	int closed;      /* a request asked to close, or was bad */
	int phase;       /* where the reader stopped */
	size_t consumed; /* bytes consumed before closing */
	struct http_request requests[MAX_REQUESTS];
};

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz-http-request: %s\n", what);
	abort();
}

/* Feeds one chunk as conn.c does; returns 1 once the connection closes. */
static int
feed_chunk(struct http_reader *reader, const char *data, size_t len,
           struct outcome *out)
{
	size_t pos = 0;
	size_t used;
	enum http_read r;

	while (pos < len) {
		r = http_reader_feed(reader, data + pos, len - pos, &used);
		if (used > len - pos)
			fail("used more bytes than given");
		if (r == HTTP_READ_MORE) {
			if (used != len - pos)
				fail("MORE without consuming the chunk");
			out->consumed += used;
			return 0;
		}
		pos += used;
		out->consumed += used;
		if (out->count < MAX_REQUESTS)
			out->requests[out->count] = reader->request;
		out->count++;
		if (r == HTTP_READ_ERROR || reader->request.close)
			return 1;
		/* A request that consumed nothing cannot be: it would loop. */
		if (used == 0)
			fail("a request read from no byte");
	}
	return 0;
}

static void
run(const char *data, size_t len, const uint8_t *splits, size_t nsplits,
    struct outcome *out)
{
	static struct http_reader reader;
	size_t pos = 0;
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	http_reader_init(&reader);
	while (pos < len && !out->closed) {
		size_t chunk = len - pos;

		if (i < nsplits && (size_t)splits[i] + 1 < chunk)
			chunk = (size_t)splits[i] + 1;
		i++;
		out->closed = feed_chunk(&reader, data + pos, chunk, out);
		pos += chunk;
	}
	out->phase = (int)reader.phase;
}

static int
same_request(const struct http_request *a, const struct http_request *b)
{
	return a->status == b->status && a->close == b->close &&
	       a->keep_alive_10 == b->keep_alive_10 && a->head == b->head;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;

	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct outcome whole, split;
	struct fuzz_input in = {data, size, 0};
	size_t nsplits = fuzz_u8(&in) % 16;
	const uint8_t *splits = data + in.pos;
	size_t n;

	if (nsplits > size - in.pos)
		nsplits = size - in.pos;
	in.pos += nsplits;
	n = size - in.pos;
	run((const char *)data + in.pos, n, NULL, 0, &whole);
	run((const char *)data + in.pos, n, splits, nsplits, &split);
	if (whole.count != split.count)
		fail("a different number of requests");
	for (size_t i = 0; i < whole.count && i < MAX_REQUESTS; i++) {
		if (!same_request(&whole.requests[i], &split.requests[i]))
			fail("a request read differently");
	}
	if (whole.closed != split.closed)
		fail("closed in one run only");
	if (whole.consumed != split.consumed)
		fail("a different number of bytes consumed");
	if (!whole.closed && whole.phase != split.phase)
		fail("a different phase at the end");
	return 0;
}
