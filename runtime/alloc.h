/*
 * Private: every allocation of the library goes through these, so that an
 * embedding program can bring its own allocator and tests can make any
 * allocation fail.
 */
#ifndef EVFUT_RUNTIME_ALLOC_H
#define EVFUT_RUNTIME_ALLOC_H

#include <stddef.h>

void *evfut__malloc(size_t size);
void *evfut__calloc(size_t count, size_t size);
void *evfut__realloc(void *ptr, size_t size);
void evfut__free(void *ptr);

#endif
