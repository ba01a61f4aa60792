/*
 * chars.h: the byte classes of HTTP's grammar (RFC 9110 5.1, 5.5, 5.6.2;
 * RFC 9112 3), looked up in one table.
 */
#ifndef HTTP_CHARS_H
#define HTTP_CHARS_H

#define HTTP_TCHAR  1u /* token: ALPHA DIGIT and !#$%&'*+-.^_`|~ */
#define HTTP_FIELD  2u /* in a field value: VCHAR obs-text SP HTAB */
#define HTTP_TARGET 4u /* in a request-target: VCHAR */
#define HTTP_HEXDIG 8u

extern const unsigned char http_chars[256];

static inline int
http_is_tchar(unsigned char c)
{
	return http_chars[c] & HTTP_TCHAR;
}

static inline int
http_is_field_char(unsigned char c)
{
	return http_chars[c] & HTTP_FIELD;
}

#endif /* HTTP_CHARS_H */
