/*
 * A reader over a fuzz input: each call takes the next bytes, and an
 * exhausted input reads as zeros, so every input decodes to something.
 */
#ifndef EVFUT_FUZZ_INPUT_H
#define EVFUT_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct fuzz_input {
	const uint8_t *data;
	size_t size;
	size_t pos;
};

static inline int
fuzz_more(const struct fuzz_input *in)
{
	return in->pos < in->size;
}

static inline uint8_t
fuzz_u8(struct fuzz_input *in)
{
	return in->pos < in->size ? in->data[in->pos++] : 0;
}

static inline uint64_t
fuzz_bytes(struct fuzz_input *in, unsigned n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | fuzz_u8(in);
	return v;
}

#endif
