/*
 * response.h: the answers evfut-http sends, formatted into a connection's
 * output buffer so that pipelined answers leave in one write.
 */
#ifndef HTTP_RESPONSE_H
#define HTTP_RESPONSE_H

#include <stddef.h>
#include <time.h>

/* The longest answer http_response_format() writes. */
#define HTTP_RESPONSE_MAX 256

/* http_response_format() flags. */
#define HTTP_RESPONSE_CLOSE      1u /* "Connection: close" */
#define HTTP_RESPONSE_KEEP_ALIVE 2u /* "Connection: keep-alive" (HTTP/1.0) */
#define HTTP_RESPONSE_NO_BODY    4u /* HEAD: headers only */
#define HTTP_RESPONSE_BODY_ONLY  8u /* HTTP/0.9: no status line, no headers */

/* The Date header's value, formatted once a second per runtime. */
struct http_date {
	time_t second;
	size_t len;
	char text[40];
};

/* Refreshes @p date if the second changed since the last call. */
void http_date_update(struct http_date *date);

/*
 * Writes the answer with @p status (200, 400, 404, 405, 408, 411, 431,
 * 501, 503 or 505) and @p flags into @p out, which has @p room bytes.
 *
 * @return the length written; 0 when fewer than HTTP_RESPONSE_MAX bytes of
 * room are left (nothing is written).
 */
size_t http_response_format(char *out, size_t room, int status, unsigned flags,
                            const struct http_date *date);

/*
 * Writes the interim "100 Continue" (RFC 9110 15.2.1) into @p out, which
 * has @p room bytes.
 *
 * @return the length written; 0 when it does not fit (nothing is written).
 */
size_t http_response_continue(char *out, size_t room);

#endif /* HTTP_RESPONSE_H */
