/*
 * request.c: the request reader, a byte machine over RFC 9112's grammar.
 * Every line ends with CRLF and nothing else; every byte is checked
 * against the class its place allows (chars.h); the first byte that does
 * not fit ends the request with an error, and the connection closes. The
 * reader keeps only what the answer depends on: the method, the version,
 * whether the path is "/", and the values fields.c checks.
 */
#define _POSIX_C_SOURCE 200809L

#include <string.h>

#include "chars.h"
#include "request.h"

enum state {
	S_START,    /* a method's first byte, or the CR of a blank line */
	S_BLANK_LF, /* the LF of a blank line before the request line */
	S_METHOD,
	S_TARGET_FIRST,
	S_TARGET,
	S_09_LF, /* CR right after the target: HTTP/0.9 */
	S_VERSION,
	S_LINE_CR,
	S_LINE_LF,
	S_FIELD, /* a field name's first byte, or the CR of the empty line */
	S_NAME,
	S_OWS, /* after the colon */
	S_VALUE,
	S_VALUE_LF,
	S_END_LF, /* the LF of the empty line: end of head or trailers */
	S_LENGTH, /* a Content-Length body */
	S_SIZE_FIRST,
	S_SIZE,
	S_SIZE_BWS, /* whitespace after a chunk size: ';' must follow */
	S_EXT,
	S_SIZE_LF,
	S_DATA,
	S_DATA_CR,
	S_DATA_LF,
};

/* The methods the server knows (RFC 9110 9.3, RFC 5789); others get 501. */
enum method {
	METHOD_UNKNOWN,
	METHOD_GET,
	METHOD_HEAD,
	METHOD_POST,
	METHOD_PUT,
	METHOD_DELETE,
	METHOD_CONNECT,
	METHOD_OPTIONS,
	METHOD_TRACE,
	METHOD_PATCH,
};

static const char *const method_names[] = {
        NULL,     "GET",     "HEAD",    "POST",  "PUT",
        "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
};

static unsigned
method_of(const char *name, size_t len)
{
	unsigned m;

	if (len == 3 && memcmp(name, "GET", 3) == 0) /* nearly always */
		return METHOD_GET;
	for (m = METHOD_HEAD; m <= METHOD_PATCH; m++)
		if (strlen(method_names[m]) == len &&
		    memcmp(method_names[m], name, len) == 0)
			return m;
	return METHOD_UNKNOWN;
}

void
http_reader_init(struct http_reader *r)
{
	memset(r, 0, sizeof(*r));
}

/* The first byte of a request: everything of the last one is forgotten. */
static void
begin(struct http_reader *r)
{
	memset(&r->fields, 0, sizeof(r->fields));
	r->phase = HTTP_PHASE_HEAD;
	r->state = S_START;
	r->trailer = 0;
	r->count = 0;
	r->name_len = 0;
	r->keep_len = 0;
	r->target_len = 0;
	r->version = 0;
}

static enum http_read
fail(struct http_reader *r, int status)
{
	r->request = (struct http_request){.status = status, .close = 1};
	return HTTP_READ_ERROR;
}

static enum http_read
complete(struct http_reader *r)
{
	r->phase = HTTP_PHASE_IDLE;
	r->state = S_START;
	return HTTP_READ_REQUEST;
}

/* The answer's status, from the method and the target. */
static int
route(const struct http_reader *r)
{
	if (r->method == METHOD_CONNECT)
		return 405;
	if (!r->root)
		return 404;
	return r->method == METHOD_GET || r->method == METHOD_HEAD ? 200 : 405;
}

/* Whether the target fits the method (RFC 9112 3.2); sets r->root. */
static int
target_valid(struct http_reader *r)
{
	long path;
	size_t left;

	r->root = 0;
	if (r->method == METHOD_CONNECT) /* authority-form: refused anyway */
		return 1;
	if (r->target_len == 1 && r->keep[0] == '*') /* the server itself */
		return r->root = r->method == METHOD_OPTIONS;
	path = http_target_path(r->keep, r->keep_len, r->target_len);
	if (path < 0)
		return 0;
	left = r->target_len - (size_t)path;
	/* absolute-form: an empty path is "/" (RFC 9110 4.2.3) */
	r->root = left == 0 || r->keep[path] == '?' ||
	          (r->keep[path] == '/' &&
	           (left == 1 || r->keep[path + 1] == '?'));
	return 1;
}

/* The request line is read: refuse what no field can make right. */
static enum http_read
request_line(struct http_reader *r)
{
	if (r->major != 1)
		return fail(r, 505);
	if (r->method == METHOD_UNKNOWN)
		return fail(r, 501);
	return target_valid(r) ? HTTP_READ_MORE : fail(r, 400);
}

/* A field line is read: its value is checked if the answer needs it. */
static enum http_read
field_line(struct http_reader *r)
{
	while (r->keep_len > 0 && (r->keep[r->keep_len - 1] == ' ' ||
	                           r->keep[r->keep_len - 1] == '\t'))
		r->keep_len--;
	if (r->name)
		http_field_value(&r->fields, r->name, r->keep, r->keep_len);
	return r->fields.error != 0 ? fail(r, r->fields.error) : HTTP_READ_MORE;
}

/* [head] */
/* The head is read: refuse what frames the body in doubt (RFC 9112 6). */
static enum http_read
head_done(struct http_reader *r)
{
	const struct http_fields *f = &r->fields;
	struct http_request *req = &r->request;

	if (r->minor >= 1 && f->hosts == 0) /* RFC 9112 3.2 */
		return fail(r, 400);
	if (f->codings > 0) {
		if (r->minor == 0 || f->lengths > 0 || f->chunked != 1 ||
		    !f->last_chunked) /* RFC 9112 6.1, 6.3 */
			return fail(r, 400);
		if (f->codings > 1) /* a coding before chunked: unknown */
			return fail(r, 501);
	} else if (f->lengths == 0 &&
	           (r->method == METHOD_POST || r->method == METHOD_PUT)) {
		return fail(r, 411);
	}
	*req = (struct http_request){
	        .status = route(r),
	        .head = r->method == METHOD_HEAD,
	        .close = r->minor == 0 ? f->conn_close || !f->conn_keep_alive
	                               : f->conn_close,
	};
	req->close |= r->method == METHOD_CONNECT;
	req->keep_alive_10 = r->minor == 0 && !req->close;
	r->phase = HTTP_PHASE_BODY;
	r->count = 0;
	if (f->codings > 0) {
		r->state = S_SIZE_FIRST;
	} else if (f->length > 0) {
		r->state = S_LENGTH;
		r->left = f->length;
	} else {
		return complete(r);
	}
	/* RFC 9110 10.1.1: ignored in HTTP/1.0 */
	return f->expect_continue && r->minor >= 1 ? HTTP_READ_CONTINUE
	                                           : HTTP_READ_MORE;
}
/* [head] */

/* Keeps a byte of the target or of a kept value; @return 0 when full. */
static int
keep(struct http_reader *r, char c)
{
	if (r->keep_len == sizeof(r->keep))
		return 0;
	r->keep[r->keep_len++] = c;
	return 1;
}

/* The request line and the fields, a byte at a time. */
static enum http_read
head_byte(struct http_reader *r, unsigned char c)
{
	static const char version[] = "HTTP/1.1";

	if (++r->count > HTTP_HEAD_MAX)
		return fail(r, 431);
	switch (r->state) {
	case S_START:
		if (c == '\r') {
			r->state = S_BLANK_LF;
			return HTTP_READ_MORE;
		}
		r->state = S_METHOD;
		/* fall through */
	case S_METHOD:
		if (c == ' ' && r->name_len > 0) {
			r->method = method_of(r->name_text, r->name_len);
			r->state = S_TARGET_FIRST;
		} else if (!http_is_tchar(c)) {
			return fail(r, 400);
		} else if (r->name_len++ < sizeof(r->name_text)) {
			r->name_text[r->name_len - 1] = (char)c;
		}
		return HTTP_READ_MORE;
	case S_BLANK_LF:
		r->state = S_START;
		return c == '\n' ? HTTP_READ_MORE : fail(r, 400);
	case S_TARGET_FIRST:
	case S_TARGET:
		if (c == ' ' && r->state == S_TARGET) {
			r->state = S_VERSION;
		} else if (c == '\r' && r->state == S_TARGET) {
			r->state = S_09_LF;
		} else if (!(http_chars[c] & HTTP_TARGET)) {
			return fail(r, 400);
		} else {
			r->state = S_TARGET;
			r->target_len++;
			keep(r, (char)c);
		}
		return HTTP_READ_MORE;
	case S_09_LF:
		if (c != '\n')
			return fail(r, 400);
		r->request = (struct http_request){
		        .status = r->method == METHOD_GET && target_valid(r)
		                          ? route(r)
		                          : 400,
		        .close = 1,
		        .http09 = 1,
		};
		return complete(r);
	case S_VERSION:
		/* "HTTP/" DIGIT "." DIGIT, matched against the shape of
		 * "HTTP/1.1" */
		if (version[r->version] >= '0' && version[r->version] <= '9') {
			if (c < '0' || c > '9')
				return fail(r, 400);
			if (r->version == 5)
				r->major = c - '0';
			else
				r->minor = c - '0';
		} else if (c != (unsigned char)version[r->version]) {
			return fail(r, 400);
		}
		if (++r->version == sizeof(version) - 1)
			r->state = S_LINE_CR;
		return HTTP_READ_MORE;
	case S_LINE_CR:
		r->state = S_LINE_LF;
		return c == '\r' ? HTTP_READ_MORE : fail(r, 400);
	case S_LINE_LF:
		r->state = S_FIELD;
		return c == '\n' ? request_line(r) : fail(r, 400);
	case S_FIELD:
		if (c == '\r') {
			r->state = S_END_LF;
			return HTTP_READ_MORE;
		}
		if (!http_is_tchar(c)) /* obs-fold, leading whitespace */
			return fail(r, 400);
		r->name_len = 0;
		r->state = S_NAME;
		/* fall through */
	case S_NAME:
		if (c == ':' && r->name_len > 0) {
			r->keep_len = 0;
			r->name = r->trailer ? HTTP_FIELD_OTHER
			                     : http_field_of(r->name_text,
			                                     r->name_len);
			r->state = S_OWS;
		} else if (!http_is_tchar(c)) { /* whitespace before ':' */
			return fail(r, 400);
		} else if (r->name_len++ < sizeof(r->name_text)) {
			r->name_text[r->name_len - 1] =
			        (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		return HTTP_READ_MORE;
	case S_OWS:
		if (c == ' ' || c == '\t')
			return HTTP_READ_MORE;
		r->state = S_VALUE;
		/* fall through */
	case S_VALUE:
		if (c == '\r') {
			r->state = S_VALUE_LF;
			return HTTP_READ_MORE;
		}
		if (!http_is_field_char(c))
			return fail(r, 400);
		if (r->name && !keep(r, (char)c))
			return fail(r, 431);
		return HTTP_READ_MORE;
	case S_VALUE_LF:
		r->state = S_FIELD;
		return c == '\n' ? field_line(r) : fail(r, 400);
	default: /* S_END_LF */
		if (c != '\n')
			return fail(r, 400);
		return r->trailer ? complete(r) : head_done(r);
	}
}

/* The value of a HEXDIG. */
static unsigned
hex(unsigned char c)
{
	return c <= '9' ? (unsigned)(c - '0')
	                : (unsigned)((c | 0x20) - 'a' + 10);
}

/* Chunk size lines and the CRLF after chunk data (RFC 9112 7.1). */
static enum http_read
chunk_byte(struct http_reader *r, unsigned char c)
{
	unsigned digit;

	if (++r->count > HTTP_HEAD_MAX) /* a size line with no end */
		return fail(r, 400);
	switch (r->state) {
	case S_SIZE_FIRST:
	case S_SIZE:
		if (http_chars[c] & HTTP_HEXDIG) {
			digit = hex(c);
			if (r->left > (HTTP_LENGTH_MAX - digit) / 16)
				return fail(r, 400);
			r->left = r->left * 16 + digit;
			r->state = S_SIZE;
			return HTTP_READ_MORE;
		}
		if (r->state == S_SIZE_FIRST)
			return fail(r, 400);
		/* fall through */
	case S_SIZE_BWS:
		if (c == ' ' || c == '\t')
			r->state = S_SIZE_BWS;
		else if (c == ';')
			r->state = S_EXT;
		else if (c == '\r' && r->state == S_SIZE)
			r->state = S_SIZE_LF;
		else
			return fail(r, 400);
		return HTTP_READ_MORE;
	case S_EXT:
		/* no CR, LF or other control byte: framing is all that matters
		 */
		if (c == '\r')
			r->state = S_SIZE_LF;
		else if (!http_is_field_char(c))
			return fail(r, 400);
		return HTTP_READ_MORE;
	case S_SIZE_LF:
		if (c != '\n')
			return fail(r, 400);
		if (r->left == 0) { /* the last chunk: the trailer section */
			r->trailer = 1;
			r->count = 0;
			r->state = S_FIELD;
		} else {
			r->state = S_DATA;
			r->count = 0;
		}
		return HTTP_READ_MORE;
	case S_DATA_CR:
		r->state = S_DATA_LF;
		return c == '\r' ? HTTP_READ_MORE : fail(r, 400);
	default: /* S_DATA_LF */
		r->state = S_SIZE_FIRST;
		r->count = 0;
		return c == '\n' ? HTTP_READ_MORE : fail(r, 400);
	}
}

/* Copies @p n bytes into @p dst, which holds *@p len of @p room bytes,
 * as far as they fit, lower-cased when @p lower. */
static void
copy(char *dst, size_t *len, size_t room, const unsigned char *p, size_t n,
     int lower)
{
	size_t i;

	for (i = 0; i < n && *len < room; i++)
		dst[(*len)++] =
		        (char)(lower && p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32
		                                                   : p[i]);
}

/*
 * Reads a run of bytes that need no decision one at a time: body bytes,
 * "GET " and "HTTP/1.x" CR, and the inside of a target, a field name or
 * a value, up to the first byte of another class, which head_byte() then
 * reads. Stops short of the
 * head limit and of a full kept value, so that head_byte() refuses them.
 * @return the bytes read.
 */
static size_t
run(struct http_reader *r, const unsigned char *p, size_t len)
{
	unsigned class;
	size_t n = 0;

	switch (r->state) {
	case S_START: /* the usual request line, in two steps */
		if (len < 4 || memcmp(p, "GET ", 4) != 0 ||
		    r->count + 4 > HTTP_HEAD_MAX)
			return 0;
		r->method = METHOD_GET;
		r->state = S_TARGET_FIRST;
		r->count += 4;
		return 4;
	case S_VERSION: /* up to the LF, which head_byte() reads */
		if (r->version != 0 || len < 9 ||
		    memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9' ||
		    p[8] != '\r' || r->count + 9 > HTTP_HEAD_MAX)
			return 0;
		r->major = 1;
		r->minor = p[7] - '0';
		r->version = 8;
		r->state = S_LINE_LF;
		r->count += 9;
		return 9;
	case S_SIZE_FIRST:
	case S_SIZE:
		/* stops short of an overflow, which chunk_byte() refuses */
		for (; n < len && r->count + n < HTTP_HEAD_MAX &&
		       (http_chars[p[n]] & HTTP_HEXDIG) &&
		       r->left <= (HTTP_LENGTH_MAX - hex(p[n])) / 16;
		     n++)
			r->left = r->left * 16 + hex(p[n]);
		if (n > 0)
			r->state = S_SIZE;
		r->count += n;
		return n;
	case S_DATA_CR:
		if (len < 2 || p[0] != '\r' || p[1] != '\n')
			return 0;
		r->state = S_SIZE_FIRST;
		r->count = 0;
		return 2;
	case S_LENGTH:
	case S_DATA:
		n = r->left < len ? (size_t)r->left : len;
		r->left -= n;
		if (r->left == 0)
			r->state = r->state == S_DATA ? S_DATA_CR : S_START;
		return n;
	case S_TARGET:
		class = HTTP_TARGET;
		break;
	case S_FIELD:
		if (!http_is_tchar(p[0]))
			return 0;
		r->name_len = 0;
		r->state = S_NAME;
		/* fall through */
	case S_NAME:
		class = HTTP_TCHAR;
		break;
	case S_OWS:
		while (n < len && r->count + n < HTTP_HEAD_MAX &&
		       (p[n] == ' ' || p[n] == '\t'))
			n++;
		if (n < len && http_is_field_char(p[n]))
			r->state = S_VALUE; /* not a space: the value's first */
		r->count += n;
		return n;
	case S_VALUE:
		class = HTTP_FIELD;
		if (r->name != HTTP_FIELD_OTHER &&
		    len > sizeof(r->keep) - r->keep_len)
			len = sizeof(r->keep) - r->keep_len;
		break;
	default:
		return 0;
	}
	if (len > HTTP_HEAD_MAX - r->count)
		len = HTTP_HEAD_MAX - r->count;
	while (n < len && (http_chars[p[n]] & class))
		n++;
	r->count += n;
	if (r->state == S_TARGET) {
		r->target_len += n;
		copy(r->keep, &r->keep_len, sizeof(r->keep), p, n, 0);
	} else if (r->state == S_NAME) {
		copy(r->name_text, &r->name_len, sizeof(r->name_text), p, n, 1);
	} else if (r->name != HTTP_FIELD_OTHER) {
		copy(r->keep, &r->keep_len, sizeof(r->keep), p, n, 0);
	}
	return n;
}

enum http_read
http_reader_feed(struct http_reader *r, const char *data, size_t len,
                 size_t *used)
{
	const unsigned char *p = (const unsigned char *)data;
	enum http_read result = HTTP_READ_MORE;
	size_t i = 0;

	while (i < len && result == HTTP_READ_MORE) {
		size_t n;

		if (r->phase == HTTP_PHASE_IDLE)
			begin(r);
		n = run(r, p + i, len - i);
		if (n > 0) {
			i += n;
			if (r->state == S_START && r->phase == HTTP_PHASE_BODY)
				result = complete(r);
			continue;
		}
		if (r->phase == HTTP_PHASE_HEAD || r->state < S_LENGTH)
			result = head_byte(r, p[i]);
		else
			result = chunk_byte(r, p[i]);
		i++;
	}
	*used = i;
	return result;
}
