/*
 * response.c: status lines, headers and bodies, copied rather than
 * printf'd: formatting is on the path of every request.
 */
#define _POSIX_C_SOURCE 200809L

#include <string.h>
#include <time.h>

#include "response.h"

/* A string literal and its length. */
#define LIT(s) s, sizeof(s) - 1

struct answer {
	int status;
	const char *line; /* status line with its CRLF */
	size_t line_len;
	const char *body;
	size_t body_len;
	const char *length; /* the Content-Length value */
	size_t length_len;
	const char *extra; /* more headers, each with its CRLF */
	size_t extra_len;
};

static const struct answer answers[] = {
        {200, LIT("HTTP/1.1 200 OK\r\n"), LIT("Hello, World!"), LIT("13"),
         LIT("")},
        {400, LIT("HTTP/1.1 400 Bad Request\r\n"), LIT("Bad Request\n"),
         LIT("12"), LIT("")},
        {404, LIT("HTTP/1.1 404 Not Found\r\n"), LIT("Not Found\n"), LIT("10"),
         LIT("")},
        {405, LIT("HTTP/1.1 405 Method Not Allowed\r\n"),
         LIT("Method Not Allowed\n"), LIT("19"), LIT("Allow: GET, HEAD\r\n")},
        {408, LIT("HTTP/1.1 408 Request Timeout\r\n"), LIT("Request Timeout\n"),
         LIT("16"), LIT("")},
        {411, LIT("HTTP/1.1 411 Length Required\r\n"), LIT("Length Required\n"),
         LIT("16"), LIT("")},
        {431, LIT("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
         LIT("Request Header Fields Too Large\n"), LIT("32"), LIT("")},
        {501, LIT("HTTP/1.1 501 Not Implemented\r\n"), LIT("Not Implemented\n"),
         LIT("16"), LIT("")},
        {503, LIT("HTTP/1.1 503 Service Unavailable\r\n"),
         LIT("Service Unavailable\n"), LIT("20"), LIT("")},
        {505, LIT("HTTP/1.1 505 HTTP Version Not Supported\r\n"),
         LIT("HTTP Version Not Supported\n"), LIT("27"), LIT("")},
};

static const struct answer *
find_answer(int status)
{
	size_t i;

	for (i = 0; i < sizeof(answers) / sizeof(answers[0]); i++)
		if (answers[i].status == status)
			return &answers[i];
	return &answers[1]; /* 400: what we do not know how to say */
}

void
http_date_update(struct http_date *date)
{
	time_t now = time(NULL);
	struct tm tm;

	if (now == date->second && date->len != 0)
		return;
	date->second = now;
	gmtime_r(&now, &tm);
	date->len = strftime(date->text, sizeof(date->text),
	                     "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static char *
put(char *out, const char *text, size_t len)
{
	memcpy(out, text, len);
	return out + len;
}

size_t
http_response_format(char *out, size_t room, int status, unsigned flags,
                     const struct http_date *date)
{
	const struct answer *a = find_answer(status);
	char *p = out;

	if (room < HTTP_RESPONSE_MAX)
		return 0;
	if (flags & HTTP_RESPONSE_BODY_ONLY)
		return (size_t)(put(p, a->body, a->body_len) - out);
	p = put(p, a->line, a->line_len);
	p = put(p, LIT("Server: evfut-http\r\nDate: "));
	p = put(p, date->text, date->len);
	p = put(p, LIT("\r\nContent-Type: text/plain\r\nContent-Length: "));
	p = put(p, a->length, a->length_len);
	p = put(p, LIT("\r\n"));
	p = put(p, a->extra, a->extra_len);
	if (flags & HTTP_RESPONSE_CLOSE)
		p = put(p, LIT("Connection: close\r\n"));
	else if (flags & HTTP_RESPONSE_KEEP_ALIVE)
		p = put(p, LIT("Connection: keep-alive\r\n"));
	p = put(p, LIT("\r\n"));
	if (!(flags & HTTP_RESPONSE_NO_BODY))
		p = put(p, a->body, a->body_len);
	return (size_t)(p - out);
}

size_t
http_response_continue(char *out, size_t room)
{
	static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";

	if (room < sizeof(line) - 1)
		return 0;
	memcpy(out, line, sizeof(line) - 1);
	return sizeof(line) - 1;
}
