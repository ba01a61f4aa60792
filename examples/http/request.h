/*
 * request.h: reading requests with libhttp-parser. The reader consumes
 * bytes as they come and stops after each complete request, so that a
 * connection answers pipelined requests one by one, in order.
 */
#ifndef HTTP_REQUEST_H
#define HTTP_REQUEST_H

#include <stddef.h>

#include <http_parser.h>

/* The most bytes a request head (request line and headers) may have. */
#define HTTP_HEAD_MAX 8192

/* What a request asks of the connection, once it has been read. */
struct http_request {
	int status;             /* 200, 404, 405, or an error: 400, 411, 431 */
	unsigned close;         /* the connection closes after the answer */
	unsigned keep_alive_10; /* HTTP/1.0 keep-alive: say so in the answer */
	unsigned head;          /* HEAD: no body in the answer */
};

/* Where the reader is in the current request. */
enum http_phase {
	HTTP_PHASE_IDLE, /* between requests: no byte of the next one yet */
	HTTP_PHASE_HEAD, /* reading the request line and headers */
	HTTP_PHASE_BODY, /* headers read, reading (and discarding) the body */
};

/* What http_reader_feed() found. */
enum http_read {
	HTTP_READ_MORE,    /* every byte consumed, the request goes on */
	HTTP_READ_REQUEST, /* a request is complete: see reader.request */
	HTTP_READ_ERROR,   /* a bad request: answer reader.request, close */
};

/* One connection's request reader; all fields are the reader's. */
struct http_reader {
	http_parser parser;
	enum http_phase phase;
	struct http_request request; /* the last request read */
	int error;                   /* a status found by a callback */
	unsigned hosts;              /* Host headers seen */
	unsigned in_value;           /* the last callback was a value */
	size_t url_len;
	size_t field_len;
	char url[2];   /* enough to tell "/" and "/?..." from the rest */
	char field[4]; /* enough to spot "Host" */
};

/* Sets the head limit of libhttp-parser, which is process-wide: once, in
 * main(), before any reader runs. */
void http_reader_setup(void);

/* Prepares @p reader for a new connection. */
void http_reader_init(struct http_reader *reader);

/*
 * Feeds @p len bytes of @p data to @p reader, and stops at the end of the
 * first request that completes. *@p used receives the bytes consumed.
 */
enum http_read http_reader_feed(struct http_reader *reader, const char *data,
                                size_t len, size_t *used);

#endif /* HTTP_REQUEST_H */
