/*
 * fields.c: the values evfut-http reads, checked to the letter of their
 * grammar: Host (RFC 9112 3.2, RFC 3986 3.2.2), Content-Length (RFC 9110
 * 8.6), Transfer-Encoding (RFC 9112 6.1), Connection (RFC 9110 7.6.1),
 * Expect (RFC 9110 10.1.1), and the absolute-form target (RFC 9112 3.2.2).
 * Values come with their surrounding whitespace already removed.
 */
#define _POSIX_C_SOURCE 200809L

#include <string.h>
#include <strings.h>

#include "chars.h"
#include "request.h"

static int
is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

/* RFC 3986: unreserved / sub-delims, the bytes of a reg-name but '%'. */
static int
is_reg_name(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("-._~!$&'()*+,;=", c) != NULL;
}

/* *( unreserved / pct-encoded / sub-delims ), and ':' within brackets. */
static size_t
host_span(const char *s, size_t len, int bracketed)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%' && i + 2 < len &&
		    is_hex((unsigned char)s[i + 1]) &&
		    is_hex((unsigned char)s[i + 2]))
			i += 3;
		else if (c != '\0' &&
		         (is_reg_name(c) || (bracketed && c == ':')))
			i++;
		else
			break;
	}
	return i;
}

int
http_host_valid(const char *s, size_t len)
{
	size_t i;

	if (len > 0 && s[0] == '[') {
		/* IP-literal: IPv6address or IPvFuture, never empty */
		i = 1 + host_span(s + 1, len - 1, 1);
		if (i == 1 || i >= len || s[i] != ']')
			return 0;
		i++;
	} else {
		i = host_span(s, len, 0);
	}
	if (i < len && s[i] == ':')
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
	return i == len;
}

/* 1*DIGIT, no sign, no list, at most HTTP_LENGTH_MAX. */
static void
content_length(struct http_fields *f, const char *s, size_t len)
{
	uint64_t n = 0;
	size_t i;

	if (++f->lengths > 1 || len == 0) {
		f->error = 400;
		return;
	}
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || n > HTTP_LENGTH_MAX / 10) {
			f->error = 400;
			return;
		}
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	f->length = n;
	if (n > HTTP_LENGTH_MAX)
		f->error = 400;
}

static int
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Calls @p each on every element of the #list @p s (RFC 9110 5.6.1),
 * trimmed; empty elements are skipped, as the RFC allows.
 */
static void
each_element(struct http_fields *f, const char *s, size_t len,
             void (*each)(struct http_fields *, const char *, size_t))
{
	size_t start = 0, end, i;

	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != ',')
			continue;
		end = i;
		while (start < end && is_ows(s[start]))
			start++;
		while (end > start && is_ows(s[end - 1]))
			end--;
		if (end > start)
			each(f, s + start, end - start);
		start = i + 1;
	}
}

static int
is_word(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && strncasecmp(s, word, len) == 0;
}

/* A transfer-coding: token *( OWS ";" OWS transfer-parameter ). Only a
 * bare "chunked" is known; parameters are checked as "no CTL". */
static void
coding(struct http_fields *f, const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && http_is_tchar((unsigned char)s[i]))
		i++;
	if (i == 0 || (i < len && !is_ows(s[i]) && s[i] != ';'))
		f->error = 400;
	for (; i < len; i++)
		if (!http_is_field_char((unsigned char)s[i]))
			f->error = 400;
	f->codings++;
	f->last_chunked = is_word(s, len, "chunked");
	f->chunked += f->last_chunked;
}

static void
connection_option(struct http_fields *f, const char *s, size_t len)
{
	if (is_word(s, len, "close"))
		f->conn_close = 1;
	else if (is_word(s, len, "keep-alive"))
		f->conn_keep_alive = 1;
}

static void
expectation(struct http_fields *f, const char *s, size_t len)
{
	if (is_word(s, len, "100-continue"))
		f->expect_continue = 1;
}

enum http_field
http_field_of(const char *name, size_t len)
{
	/* their lengths differ: one comparison at most */
	static const char *const names[] = {
	        [HTTP_FIELD_HOST] = "host",
	        [HTTP_FIELD_CONTENT_LENGTH] = "content-length",
	        [HTTP_FIELD_TRANSFER_ENCODING] = "transfer-encoding",
	        [HTTP_FIELD_CONNECTION] = "connection",
	        [HTTP_FIELD_EXPECT] = "expect",
	};
	enum http_field f;

	switch (len) {
	case 4:
		f = HTTP_FIELD_HOST;
		break;
	case 14:
		f = HTTP_FIELD_CONTENT_LENGTH;
		break;
	case 17:
		f = HTTP_FIELD_TRANSFER_ENCODING;
		break;
	case 10:
		f = HTTP_FIELD_CONNECTION;
		break;
	case 6:
		f = HTTP_FIELD_EXPECT;
		break;
	default:
		return HTTP_FIELD_OTHER;
	}
	return memcmp(name, names[f], len) == 0 ? f : HTTP_FIELD_OTHER;
}

void
http_field_value(struct http_fields *f, enum http_field field, const char *s,
                 size_t len)
{
	unsigned before = f->codings;

	switch (field) {
	case HTTP_FIELD_HOST:
		if (++f->hosts > 1 || !http_host_valid(s, len))
			f->error = 400;
		break;
	case HTTP_FIELD_CONTENT_LENGTH:
		content_length(f, s, len);
		break;
	case HTTP_FIELD_TRANSFER_ENCODING:
		each_element(f, s, len, coding);
		if (f->codings == before) /* an empty list */
			f->error = 400;
		break;
	case HTTP_FIELD_CONNECTION:
		each_element(f, s, len, connection_option);
		break;
	case HTTP_FIELD_EXPECT:
		each_element(f, s, len, expectation);
		break;
	default:
		break;
	}
}

long
http_target_path(const char *s, size_t len, size_t total)
{
	size_t i = 0, start;

	if (len > 0 && s[0] == '/')
		return 0;
	/* absolute-form: scheme "://" authority, then the path */
	while (i < len &&
	       ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
	        (i > 0 && ((s[i] >= '0' && s[i] <= '9') ||
	                   strchr("+-.", s[i]) != NULL))))
		i++;
	if (i == 0 || len - i < 3 || memcmp(s + i, "://", 3) != 0)
		return -1;
	start = i + 3;
	for (i = start; i < len && s[i] != '/' && s[i] != '?' && s[i] != '#';
	     i++)
		;
	/* the authority and the path's first two bytes must have been kept */
	if (i + 1 >= len && len < total)
		return -1;
	if (i == start || !http_host_valid(s + start, i - start))
		return -1;
	return (long)i;
}
