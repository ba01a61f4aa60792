/*
 * evfut/alloc.h: the allocator evfut uses for everything it allocates.
 */
#ifndef EVFUT_ALLOC_H
#define EVFUT_ALLOC_H

#include <stddef.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The three calls evfut allocates through, with the C library's contract. */
struct evfut_allocator {
	/* public */
	void *(*malloc)(size_t size);             /**< Like malloc(). */
	void *(*realloc)(void *ptr, size_t size); /**< Like realloc(). */
	void (*free)(void *ptr);                  /**< Like free(). */
};

/**
 * Replaces the allocator, for the whole process (as uv_replace_allocator
 * does): an embedding program's arena, or a test that makes the k-th
 * allocation fail.
 *
 * @param allocator copied; NULL restores the C library's allocator.
 * @return 0; -EINVAL if a member is NULL. Call it while no evfut object is
 * alive, since memory must be freed by the allocator that gave it.
 */
EVFUT_API int evfut_allocator_set(const struct evfut_allocator *allocator);

#ifdef __cplusplus
}
#endif

#endif /* EVFUT_ALLOC_H */
