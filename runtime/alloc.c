/*
 * The process-wide allocator hook.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evfut/alloc.h"

#include "alloc.h"

static struct evfut_allocator allocator = {malloc, realloc, free};

int
evfut_allocator_set(const struct evfut_allocator *replacement)
{
	static const struct evfut_allocator libc = {malloc, realloc, free};

	if (replacement == NULL) {
		allocator = libc;
		return 0;
	}
	if (replacement->malloc == NULL || replacement->realloc == NULL ||
	    replacement->free == NULL)
		return -EINVAL;
	allocator = *replacement;
	return 0;
}

void *
evfut__malloc(size_t size)
{
	return allocator.malloc(size);
}

void *
evfut__calloc(size_t count, size_t size)
{
	void *ptr;

	if (size != 0 && count > SIZE_MAX / size)
		return NULL;
	ptr = allocator.malloc(count * size);
	if (ptr != NULL)
		memset(ptr, 0, count * size);
	return ptr;
}

void *
evfut__realloc(void *ptr, size_t size)
{
	return allocator.realloc(ptr, size);
}

void
evfut__free(void *ptr)
{
	allocator.free(ptr);
}
