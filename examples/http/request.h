/*
 * request.h: evfut-http's strict HTTP/1.1 request reader (RFC 9112). It
 * consumes bytes as they come, keeps no copy of the request beyond what
 * the answer depends on, and stops after each complete request, so that a
 * connection answers pipelined requests one by one, in order. Anything
 * that could frame a message two ways is refused (docs/server.md has the
 * table).
 */
#ifndef HTTP_REQUEST_H
#define HTTP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

/* The most bytes a request head (blank lines before it, request line and
 * fields) may have; the trailer section of a chunked body too. */
#define HTTP_HEAD_MAX 8192

/* Content-Lengths and chunk sizes past this are refused. */
#define HTTP_LENGTH_MAX ((uint64_t)1 << 60)

/* The longest target prefix and Host, Content-Length, Transfer-Encoding,
 * Connection or Expect value kept to be checked. */
#define HTTP_KEEP_MAX 256

/* What a request asks of the connection, once it has been read. */
struct http_request {
	int status;     /* 200, 404, 405, or an error (docs/server.md) */
	unsigned close; /* the connection closes after the answer */
	unsigned keep_alive_10; /* HTTP/1.0 keep-alive: say so in the answer */
	unsigned head;          /* HEAD: no body in the answer */
	unsigned http09;        /* HTTP/0.9: the body alone */
};

/* Where the reader is in the current request. */
enum http_phase {
	HTTP_PHASE_IDLE, /* between requests: no byte of the next one yet */
	HTTP_PHASE_HEAD, /* reading blank lines, the request line and fields */
	HTTP_PHASE_BODY, /* head read, reading (and discarding) the body */
};

/* What http_reader_feed() found. */
enum http_read {
	HTTP_READ_MORE,     /* every byte consumed, the request goes on */
	HTTP_READ_CONTINUE, /* head read, Expect: 100-continue, body to come */
	HTTP_READ_REQUEST,  /* a request is complete: see reader.request */
	HTTP_READ_ERROR,    /* a bad request: answer reader.request, close */
};

/* What the fields of the head said; reset at each request. */
struct http_fields {
	unsigned hosts;           /* Host fields */
	unsigned lengths;         /* Content-Length fields */
	unsigned codings;         /* transfer codings listed, over all fields */
	unsigned chunked;         /* "chunked" among them */
	unsigned last_chunked;    /* the last one listed is "chunked" */
	unsigned conn_close;      /* Connection: close */
	unsigned conn_keep_alive; /* Connection: keep-alive */
	unsigned expect_continue; /* Expect: 100-continue */
	int error;                /* a status for a bad value, or 0 */
	uint64_t length;          /* the Content-Length */
};

/* One connection's request reader; all fields are the reader's. */
struct http_reader {
	enum http_phase phase;
	unsigned state;              /* the byte machine's state (request.c) */
	struct http_request request; /* the last request read */
	struct http_fields fields;
	unsigned method;       /* a METHOD_ of request.c */
	unsigned major, minor; /* the HTTP version */
	unsigned version;      /* bytes of "HTTP/x.y" matched */
	unsigned trailer;      /* reading the trailer section, not the head */
	unsigned name;         /* the field being read: a FIELD_ of request.c */
	size_t count;          /* bytes of the head or trailer section read */
	uint64_t left;         /* bytes of the body or chunk left */
	size_t name_len, keep_len, target_len;
	char name_text[20];
	char keep[HTTP_KEEP_MAX]; /* the target's start, then a field value */
	unsigned char root;       /* the target's path is "/" or "/?..." */
};

/* Prepares @p reader for a new connection. */
void http_reader_init(struct http_reader *reader);

/*
 * Feeds @p len bytes of @p data to @p reader, and stops at the end of the
 * first request that completes, right after a head that expects 100
 * Continue, or at the first byte in error. *@p used receives the bytes
 * consumed.
 */
enum http_read http_reader_feed(struct http_reader *reader, const char *data,
                                size_t len, size_t *used);

/* fields.c: the checks of the values the answer depends on. */

/* Whether @p text (@p len bytes) is uri-host [":" port] (RFC 3986). */
int http_host_valid(const char *text, size_t len);

/* The fields whose values the answer depends on; trailers have none. */
enum http_field {
	HTTP_FIELD_OTHER,
	HTTP_FIELD_HOST,
	HTTP_FIELD_CONTENT_LENGTH,
	HTTP_FIELD_TRANSFER_ENCODING,
	HTTP_FIELD_CONNECTION,
	HTTP_FIELD_EXPECT,
};

/* Which field @p name (lower case, @p len bytes) is. */
enum http_field http_field_of(const char *name, size_t len);

/* Takes in the value @p value (@p len bytes) of a field @p field into
 * @p f; an error goes to f->error. */
void http_field_value(struct http_fields *f, enum http_field field,
                      const char *value, size_t len);

/*
 * Where the path of the target @p text (@p len bytes kept of @p total)
 * starts: 0 for origin-form, past the authority for absolute-form.
 *
 * @return the offset, or -1 for a target that is neither (or whose
 * authority is invalid or was not kept whole).
 */
long http_target_path(const char *text, size_t len, size_t total);

#endif /* HTTP_REQUEST_H */
