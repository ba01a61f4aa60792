/*
 * fuzz-http-model.c: a model of RFC 9112 request framing, written apart
 * from evfut-http's reader and unlike it: it sees the whole input at
 * once, cuts it into CRLF lines and checks each line against the grammar
 * as a whole, where the reader is a byte machine over arbitrary splits.
 * It follows the same rules (docs/server.md), so the two must agree on
 * every complete request: where it ends, and what it is answered.
 */
#include <string.h>
#include <strings.h>

#include "fuzz-http-model.h"

#define HEAD_MAX   8192
#define KEEP_MAX   256
#define LENGTH_MAX ((uint64_t)1 << 60)

static const char tchars[] = "!#$%&'*+-.^_`|~0123456789"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "abcdefghijklmnopqrstuvwxyz";

static size_t
span_tchar(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && s[i] != '\0' && strchr(tchars, s[i]) != NULL)
		i++;
	return i;
}

static int
vchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

static int
field_byte(unsigned char c)
{
	return vchar(c) || c >= 0x80 || c == ' ' || c == '\t';
}

enum line { LINE_OK, LINE_OPEN, LINE_BAD };

/* The line at @p pos: its length before CRLF, and where the next starts. */
static enum line
line_at(const char *s, size_t len, size_t pos, size_t *n, size_t *next)
{
	size_t i = pos;

	while (i < len && s[i] != '\r' && s[i] != '\n')
		i++;
	*n = i - pos;
	if (i + 1 >= len)
		return i < len && s[i] == '\n' ? LINE_BAD : LINE_OPEN;
	if (s[i] != '\r' || s[i + 1] != '\n')
		return LINE_BAD;
	*next = i + 2;
	return LINE_OK;
}

static int
same_word(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && strncasecmp(s, word, len) == 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* uri-host [":" port], RFC 3986 3.2.2, read by a different route: the
 * port first, from the right, then the host. */
static int
host_ok(const char *s, size_t len)
{
	size_t end = len, i;
	int in_brackets;

	while (end > 0 && s[end - 1] >= '0' && s[end - 1] <= '9')
		end--;
	if (end > 0 && s[end - 1] == ':' &&
	    (end == 1 || s[0] != '[' || s[end - 2] == ']'))
		end--;
	else
		end = len;
	in_brackets = end > 0 && s[0] == '[';
	if (in_brackets && (end < 3 || s[end - 1] != ']'))
		return 0;
	for (i = in_brackets; i < end - (size_t)in_brackets; i++) {
		if (s[i] == '%') {
			if (i + 2 >= end - (size_t)in_brackets ||
			    hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
				return 0;
			i += 2;
		} else if (!(s[i] != '\0' &&
		             (strchr("-._~!$&'()*+,;=", s[i]) != NULL ||
		              (s[i] >= '0' && s[i] <= '9') ||
		              ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') ||
		              (in_brackets && s[i] == ':')))) {
			return 0;
		}
	}
	return 1;
}

struct head {
	int method; /* 0 unknown, else an index in methods[] */
	int major, minor;
	int root, target_ok;
	unsigned hosts, lengths, codings, chunked, last_chunked;
	int close, keep_alive, expect, bad;
	uint64_t length;
};

static const char *const methods[] = {
        "",       "GET",     "HEAD",    "POST",  "PUT",
        "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
};
enum { GET = 1, HEAD = 2, POST = 3, PUT = 4, CONNECT = 6, OPTIONS = 7 };

/* Where the path of the target starts, or -1 (RFC 9112 3.2). */
static long
path_of(const char *t, size_t n)
{
	const char *sep, *auth;
	size_t i, alen;

	if (n > 0 && t[0] == '/')
		return 0;
	sep = memchr(t, ':', n);
	if (sep == NULL || sep == t || (size_t)(t + n - sep) < 3 ||
	    sep[1] != '/' || sep[2] != '/')
		return -1;
	for (i = 0; t + i < sep; i++)
		if (!(((t[i] | 0x20) >= 'a' && (t[i] | 0x20) <= 'z') ||
		      (i > 0 && ((t[i] >= '0' && t[i] <= '9') || t[i] == '+' ||
		                 t[i] == '-' || t[i] == '.'))))
			return -1;
	auth = sep + 3;
	for (alen = 0; auth + alen < t + n && auth[alen] != '/' &&
	               auth[alen] != '?' && auth[alen] != '#';
	     alen++)
		;
	/* a long target: the authority and two more bytes must be kept */
	if (n > KEEP_MAX && (size_t)(auth - t) + alen + 2 > KEEP_MAX)
		return -1;
	if (alen == 0 || !host_ok(auth, alen))
		return -1;
	return (long)(auth - t + (long)alen);
}

static void
target(struct head *h, const char *t, size_t n)
{
	long p;

	h->target_ok = 1;
	h->root = 0;
	if (h->method == CONNECT)
		return;
	if (n == 1 && t[0] == '*') {
		h->target_ok = h->root = h->method == OPTIONS;
		return;
	}
	p = path_of(t, n);
	if (p < 0) {
		h->target_ok = 0;
		return;
	}
	t += p;
	n -= (size_t)p;
	h->root = n == 0 || t[0] == '?' ||
	          (t[0] == '/' && (n == 1 || t[1] == '?'));
}

/* The elements of a #list, trimmed, empty ones skipped. */
static void
list(struct head *h, const char *s, size_t n,
     void (*each)(struct head *, const char *, size_t))
{
	while (n > 0) {
		const char *comma = memchr(s, ',', n);
		size_t len = comma != NULL ? (size_t)(comma - s) : n;
		size_t a = 0, b = len;

		while (a < b && (s[a] == ' ' || s[a] == '\t'))
			a++;
		while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
			b--;
		if (b > a)
			each(h, s + a, b - a);
		if (comma == NULL)
			break;
		n -= len + 1;
		s += len + 1;
	}
}

static void
coding(struct head *h, const char *s, size_t n)
{
	size_t t = span_tchar(s, n);

	if (t == 0 || (t < n && s[t] != ' ' && s[t] != '\t' && s[t] != ';'))
		h->bad = 1;
	h->codings++;
	h->last_chunked = same_word(s, n, "chunked");
	h->chunked += (unsigned)h->last_chunked;
}

static void
option(struct head *h, const char *s, size_t n)
{
	h->close |= same_word(s, n, "close");
	h->keep_alive |= same_word(s, n, "keep-alive");
}

static void
expectation(struct head *h, const char *s, size_t n)
{
	h->expect |= same_word(s, n, "100-continue");
}

static void
field(struct head *h, const char *name, size_t nlen, const char *v, size_t n)
{
	size_t i;
	unsigned before = h->codings;

	if (same_word(name, nlen, "host")) {
		h->bad |= ++h->hosts > 1 || !host_ok(v, n);
	} else if (same_word(name, nlen, "content-length")) {
		h->bad |= ++h->lengths > 1 || n == 0;
		for (i = 0; i < n && !h->bad; i++) {
			if (v[i] < '0' || v[i] > '9' ||
			    h->length >
			            (LENGTH_MAX - (uint64_t)(v[i] - '0')) / 10)
				h->bad = 1;
			else
				h->length =
				        h->length * 10 + (uint64_t)(v[i] - '0');
		}
	} else if (same_word(name, nlen, "transfer-encoding")) {
		list(h, v, n, coding);
		h->bad |= h->codings == before;
	} else if (same_word(name, nlen, "connection")) {
		list(h, v, n, option);
	} else if (same_word(name, nlen, "expect")) {
		list(h, v, n, expectation);
	}
}

/* A field line: name ":" OWS value OWS; @return 0 when it is not one. */
static int
field_line(struct head *h, const char *s, size_t n, int keep)
{
	size_t name = span_tchar(s, n), a, b, i;

	if (name == 0 || name == n || s[name] != ':')
		return 0;
	for (i = name + 1; i < n; i++)
		if (!field_byte((unsigned char)s[i]))
			return 0;
	a = name + 1;
	while (a < n && (s[a] == ' ' || s[a] == '\t'))
		a++;
	b = n;
	while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
		b--;
	if (!keep)
		return 1;
	if (same_word(s, name, "host") ||
	    same_word(s, name, "content-length") ||
	    same_word(s, name, "transfer-encoding") ||
	    same_word(s, name, "connection") || same_word(s, name, "expect")) {
		if (n - a > KEEP_MAX)
			return 0;
		field(h, s, name, s + a, b - a);
	}
	return 1;
}

static int
method_of(const char *s, size_t n)
{
	int m;

	for (m = 1; m < (int)(sizeof(methods) / sizeof(methods[0])); m++)
		if (strlen(methods[m]) == n && memcmp(methods[m], s, n) == 0)
			return m;
	return 0;
}

static int
route(const struct head *h)
{
	if (h->method == CONNECT)
		return 405;
	if (!h->root)
		return 404;
	return h->method == GET || h->method == HEAD ? 200 : 405;
}

/* The request line; @return 0 when it is refused. */
static int
request_line(struct head *h, const char *s, size_t n, struct http_request *q,
             int *http09)
{
	size_t m = span_tchar(s, n), t = 0;

	if (m == 0 || m == n || s[m] != ' ')
		return 0;
	while (m + 1 + t < n && vchar((unsigned char)s[m + 1 + t]))
		t++;
	if (t == 0)
		return 0;
	h->method = method_of(s, m);
	target(h, s + m + 1, t);
	if (m + 1 + t == n) { /* HTTP/0.9 */
		*http09 = 1;
		q->status = h->method == GET && h->target_ok ? route(h) : 400;
		q->close = q->http09 = 1;
		return 1;
	}
	s += m + 1 + t;
	n -= m + 1 + t;
	if (n != 9 || memcmp(s, " HTTP/", 6) != 0 || s[7] != '.' ||
	    s[6] < '0' || s[6] > '9' || s[8] < '0' || s[8] > '9')
		return 0;
	h->major = s[6] - '0';
	h->minor = s[8] - '0';
	return h->major == 1 && h->method != 0 && h->target_ok;
}

/* The head's verdict, as RFC 9112 6 and 3.2 have it: 0 to refuse. */
static int
head_ok(const struct head *h)
{
	if (h->bad || (h->minor >= 1 && h->hosts == 0))
		return 0;
	if (h->codings > 0)
		return h->minor >= 1 && h->lengths == 0 && h->chunked == 1 &&
		       h->last_chunked && h->codings == 1;
	return h->lengths > 0 || (h->method != POST && h->method != PUT);
}

/* A chunked body from @p pos; @return where it ends, or 0 (*v set). */
static size_t
chunks(const char *s, size_t len, size_t pos, enum model_verdict *v)
{
	size_t n, next, i, ws, start;
	uint64_t size;

	for (;;) {
		if (line_at(s, len, pos, &n, &next) != LINE_OK) {
			*v = line_at(s, len, pos, &n, &next) == LINE_BAD
			             ? MODEL_ERROR
			             : MODEL_OPEN;
			return 0;
		}
		size = 0;
		for (i = 0; i < n && hexval(s[pos + i]) >= 0; i++) {
			if (size >
			    (LENGTH_MAX - (uint64_t)hexval(s[pos + i])) / 16)
				break;
			size = size * 16 + (uint64_t)hexval(s[pos + i]);
		}
		if (i == 0 || next - pos > HEAD_MAX ||
		    (i < n && hexval(s[pos + i]) >= 0)) {
			*v = MODEL_ERROR;
			return 0;
		}
		ws = i;
		while (i < n && (s[pos + i] == ' ' || s[pos + i] == '\t'))
			i++;
		if ((i < n && s[pos + i] != ';') || (i > ws && i == n)) {
			*v = MODEL_ERROR;
			return 0;
		}
		for (; i < n; i++)
			if (!field_byte((unsigned char)s[pos + i])) {
				*v = MODEL_ERROR;
				return 0;
			}
		pos = next;
		if (size == 0)
			break;
		if (len - pos < size + 2) {
			*v = MODEL_OPEN;
			return 0;
		}
		pos += size;
		if (s[pos] != '\r' || s[pos + 1] != '\n') {
			*v = MODEL_ERROR;
			return 0;
		}
		pos += 2;
	}
	/* the trailer section */
	for (start = pos;; pos = next) {
		enum line l = line_at(s, len, pos, &n, &next);

		if (l != LINE_OK) {
			*v = l == LINE_BAD ? MODEL_ERROR : MODEL_OPEN;
			return 0;
		}
		if (next - start > HEAD_MAX ||
		    (n > 0 && !field_line(NULL, s + pos, n, 0))) {
			*v = MODEL_ERROR;
			return 0;
		}
		if (n == 0)
			return next;
	}
}

/* One request from @p pos. */
static enum model_verdict
one(const char *s, size_t len, size_t pos, struct model_request *out)
{
	struct head h = {0};
	struct http_request *q = &out->request;
	size_t start = pos, n, next;
	enum line l;
	int http09 = 0, first = 1;
	enum model_verdict v = MODEL_OPEN;

	memset(out, 0, sizeof(*out));
	for (;; pos = next) {
		l = line_at(s, len, pos, &n, &next);
		if (l == LINE_OPEN)
			return MODEL_OPEN;
		if (l == LINE_BAD || next - start > HEAD_MAX)
			return MODEL_ERROR;
		if (first && n == 0)
			continue; /* a blank line before the request line */
		if (first) {
			first = 0;
			if (!request_line(&h, s + pos, n, q, &http09))
				return MODEL_ERROR;
			if (http09) {
				out->end = next;
				return MODEL_REQUEST;
			}
			continue;
		}
		if (n == 0)
			break;
		if (!field_line(&h, s + pos, n, 1))
			return MODEL_ERROR;
	}
	if (!head_ok(&h))
		return MODEL_ERROR;
	q->status = route(&h);
	q->head = h.method == HEAD;
	q->close = (h.minor == 0 ? h.close || !h.keep_alive : h.close) ||
	           h.method == CONNECT;
	q->keep_alive_10 = h.minor == 0 && !q->close;
	if (h.codings > 0) {
		out->end = chunks(s, len, next, &v);
		return out->end != 0 ? MODEL_REQUEST : v;
	}
	if (len - next < h.length)
		return MODEL_OPEN;
	out->end = next + (size_t)h.length;
	return MODEL_REQUEST;
}

size_t
model_run(const char *s, size_t len, struct model_request *out, size_t max)
{
	size_t count = 0, pos = 0;

	while (count < max && pos < len) {
		out[count].verdict = one(s, len, pos, &out[count]);
		if (out[count].verdict != MODEL_REQUEST)
			return count + 1;
		pos = out[count].end;
		if (out[count++].request.close)
			break;
	}
	return count;
}
