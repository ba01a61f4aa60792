/*
 * Fuzzes evfut-http's request reader (examples/http/request.c) with
 * arbitrary bytes in arbitrary splits, against a model of RFC 9112
 * framing (fuzz-http-model.c).
 *
 * Input: the first byte says how many split points follow (0 to 15), each
 * one byte (a chunk length of 1 to 256); the rest is what a client sends.
 * The bytes are fed the way the connection task feeds them (conn.c's
 * parse(): one http_reader_feed() after another until a chunk is used up,
 * a request asks to close, or a request is bad), once in a single chunk
 * and once in the decoded chunks. The reader must never crash or loop, and
 * both runs must read the same requests (status, close, HEAD, HTTP/1.0
 * keep-alive, HTTP/0.9, and the byte each ends at) in the same order and
 * end in the same phase. The model reads the whole input at once: every
 * request it completes, the reader must complete at the same byte with
 * the same answer; every request it refuses, the reader must refuse; and
 * the reader may refuse the model's last, unfinished request early, but
 * never complete it. Any difference aborts.
 *
 * Build: test/fuzz/run (libFuzzer), or the meson 'fuzz' suite replays
 * test/fuzz/corpus/http-request/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-http-model.h"
#include "input.h"
#include "request.h"

#define MAX_REQUESTS 4096

struct seen {
	struct http_request request;
	enum http_read read; /* HTTP_READ_REQUEST or HTTP_READ_ERROR */
	size_t end;          /* the bytes consumed once it was read */
};

struct outcome {
	size_t count;
	int closed;      /* a request asked to close, or was bad */
	int phase;       /* where the reader stopped */
	size_t consumed; /* bytes consumed before closing */
	struct seen requests[MAX_REQUESTS];
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
		if (r == HTTP_READ_CONTINUE) {
			if (reader->phase != HTTP_PHASE_BODY)
				fail("100-continue outside a body");
			continue;
		}
		if (out->count < MAX_REQUESTS) {
			out->requests[out->count].request = reader->request;
			out->requests[out->count].read = r;
			out->requests[out->count].end = out->consumed;
		}
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
	       a->keep_alive_10 == b->keep_alive_10 && a->head == b->head &&
	       a->http09 == b->http09;
}

static int
same_seen(const struct seen *a, const struct seen *b)
{
	return same_request(&a->request, &b->request) && a->read == b->read &&
	       a->end == b->end;
}

/* The reader's requests of @p out against the model's of the same input. */
static void
check_model(const char *data, size_t len, const struct outcome *out)
{
	static struct model_request model[MAX_REQUESTS];
	size_t n = model_run(data, len, model, MAX_REQUESTS);
	size_t i;

	for (i = 0; i < n && i < MAX_REQUESTS; i++) {
		const struct seen *got = &out->requests[i];

		if (model[i].verdict == MODEL_OPEN) {
			if (i < out->count && got->read != HTTP_READ_ERROR)
				fail("the reader completed what the model did "
				     "not");
			return;
		}
		if (i >= out->count)
			fail("the model read a request the reader did not");
		if (model[i].verdict == MODEL_ERROR) {
			if (got->read != HTTP_READ_ERROR)
				fail("the reader accepted what the model "
				     "refused");
			return;
		}
		if (got->read != HTTP_READ_REQUEST)
			fail("the reader refused what the model accepted");
		if (!same_request(&got->request, &model[i].request))
			fail("the reader answers differently from the model");
		if (got->end != model[i].end)
			fail("the reader ends a request elsewhere than the "
			     "model");
	}
	if (out->count > n && n < MAX_REQUESTS)
		fail("the reader read more requests than the model");
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
		if (!same_seen(&whole.requests[i], &split.requests[i]))
			fail("a request read differently");
	}
	if (whole.closed != split.closed)
		fail("closed in one run only");
	if (whole.consumed != split.consumed)
		fail("a different number of bytes consumed");
	if (!whole.closed && whole.phase != split.phase)
		fail("a different phase at the end");
	check_model((const char *)data + in.pos, n, &whole);
	return 0;
}
