/*
 * request.c: the glue between libhttp-parser's callbacks and a
 * connection. The parser keeps no copy of the request: the reader keeps
 * only what the answer depends on (method, the start of the path, the Host
 * header, the keep-alive rules) and lets the parser discard bodies.
 */
#define _POSIX_C_SOURCE 200809L

#include <string.h>
#include <strings.h>

#include "request.h"

static struct http_reader *
reader_of(http_parser *parser)
{
	return parser->data;
}

static int
on_message_begin(http_parser *parser)
{
	struct http_reader *r = reader_of(parser);

	r->phase = HTTP_PHASE_HEAD;
	r->error = 0;
	r->hosts = 0;
	r->in_value = 0;
	r->url_len = 0;
	r->field_len = 0;
	return 0;
}

/* The URL may come in pieces: keep its first bytes and its length. */
static int
on_url(http_parser *parser, const char *at, size_t len)
{
	struct http_reader *r = reader_of(parser);
	size_t room;

	if (r->url_len < sizeof(r->url)) {
		room = sizeof(r->url) - r->url_len;
		memcpy(r->url + r->url_len, at, len < room ? len : room);
	}
	r->url_len += len;
	return 0;
}

/* A header name may come in pieces too; a value ends the name. */
static int
on_header_field(http_parser *parser, const char *at, size_t len)
{
	struct http_reader *r = reader_of(parser);

	if (r->in_value) {
		r->in_value = 0;
		r->field_len = 0;
	}
	if (r->field_len < sizeof(r->field))
		memcpy(r->field + r->field_len, at,
		       len < sizeof(r->field) - r->field_len
		               ? len
		               : sizeof(r->field) - r->field_len);
	r->field_len += len;
	return 0;
}

static int
on_header_value(http_parser *parser, const char *at, size_t len)
{
	struct http_reader *r = reader_of(parser);

	(void)at;
	(void)len;
	if (!r->in_value && r->field_len == 4 &&
	    strncasecmp(r->field, "host", 4) == 0)
		r->hosts++;
	r->in_value = 1;
	return 0;
}

static int
is_root(const struct http_reader *r)
{
	return r->url_len >= 1 && r->url[0] == '/' &&
	       (r->url_len == 1 || r->url[1] == '?');
}

/* The answer's status, from what the head said. */
static int
route(const struct http_reader *r)
{
	unsigned method = r->parser.method;

	if (!is_root(r))
		return 404;
	return method == HTTP_GET || method == HTTP_HEAD ? 200 : 405;
}

/* [headers] */
/*
 * Refusals that depend on the whole head. A non-zero return stops the
 * parser (HPE_CB_headers_complete), and the reader answers r->error.
 */
static int
on_headers_complete(http_parser *parser)
{
	struct http_reader *r = reader_of(parser);
	unsigned method = parser->method;
	int has_length = (parser->flags & (F_CHUNKED | F_CONTENTLENGTH)) != 0;

	r->phase = HTTP_PHASE_BODY;
	/* RFC 9112, 3.2: exactly one Host in an HTTP/1.1 request. */
	if ((parser->http_major == 1 && parser->http_minor >= 1 &&
	     r->hosts == 0) ||
	    r->hosts > 1)
		r->error = 400;
	/* RFC 9112, 6.3: a transfer coding other than a final chunked. */
	else if (parser->uses_transfer_encoding && !(parser->flags & F_CHUNKED))
		r->error = 400;
	else if ((method == HTTP_POST || method == HTTP_PUT) && !has_length)
		r->error = 411;
	return r->error != 0 ? -1 : 0;
}

/* Pausing makes http_parser_execute() return right after this request. */
static int
on_message_complete(http_parser *parser)
{
	struct http_reader *r = reader_of(parser);

	r->phase = HTTP_PHASE_IDLE;
	r->request.status = route(r);
	r->request.head = parser->method == HTTP_HEAD;
	r->request.close = !http_should_keep_alive(parser) || parser->upgrade;
	r->request.keep_alive_10 = !r->request.close && parser->http_minor == 0;
	http_parser_pause(parser, 1);
	return 0;
}
/* [headers] */

static const http_parser_settings settings = {
        .on_message_begin = on_message_begin,
        .on_url = on_url,
        .on_header_field = on_header_field,
        .on_header_value = on_header_value,
        .on_headers_complete = on_headers_complete,
        .on_message_complete = on_message_complete,
};

void
http_reader_setup(void)
{
	http_parser_set_max_header_size(HTTP_HEAD_MAX);
}

void
http_reader_init(struct http_reader *r)
{
	memset(r, 0, sizeof(*r));
	http_parser_init(&r->parser, HTTP_REQUEST);
	r->parser.data = r;
}

static enum http_read
fail(struct http_reader *r, int status)
{
	r->request.status = status;
	r->request.close = 1;
	r->request.keep_alive_10 = 0;
	r->request.head = 0;
	return HTTP_READ_ERROR;
}

enum http_read
http_reader_feed(struct http_reader *r, const char *data, size_t len,
                 size_t *used)
{
	enum http_errno error;

	*used = http_parser_execute(&r->parser, &settings, data, len);
	error = HTTP_PARSER_ERRNO(&r->parser);
	if (error == HPE_PAUSED) {
		http_parser_pause(&r->parser, 0);
		return HTTP_READ_REQUEST;
	}
	if (error == HPE_HEADER_OVERFLOW)
		return fail(r, 431);
	if (error != HPE_OK)
		return fail(r, r->error != 0 ? r->error : 400);
	/* The parser stopped early without a reason: do not guess. */
	if (*used != len)
		return fail(r, 400);
	return HTTP_READ_MORE;
}
