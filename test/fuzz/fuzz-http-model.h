/*
 * fuzz-http-model.h: a model of RFC 9112 request framing for
 * fuzz-http-request (see fuzz-http-model.c).
 */
#ifndef FUZZ_HTTP_MODEL_H
#define FUZZ_HTTP_MODEL_H

#include <stddef.h>

#include "request.h"

enum model_verdict {
	MODEL_REQUEST, /* a complete request, answered .request */
	MODEL_ERROR,   /* refused: the connection closes */
	MODEL_OPEN,    /* the input ends inside it, with no error so far */
};

struct model_request {
	enum model_verdict verdict;
	size_t end; /* MODEL_REQUEST: where the request ends */
	struct http_request request;
};

/*
 * Reads the requests of @p s (@p len bytes) as one input, into @p out (at
 * most @p max); stops after a request that closes, a refusal, or an open
 * request.
 *
 * @return the entries written.
 */
size_t model_run(const char *s, size_t len, struct model_request *out,
                 size_t max);

#endif
