/*
 * Private: the runtime's pool of task blocks.
 *
 * A spawned task is one block: its header, its future and, for a joinable
 * task, its join waker. Blocks come in classes of 16-byte steps up to
 * EVFUT__POOL_MAX bytes, carved from chunks the pool allocates through
 * the allocator hook, and a freed block goes onto its class's free list
 * for the next spawn of that size. So a block costs its size and nothing
 * more (malloc adds 8 bytes and rounds up to 16), a spawn and a free cost
 * a few stores, and a million tasks freed in any order cost no
 * coalescing. The price: memory freed by tasks stays in the pool, for
 * tasks of the same class, until the runtime is freed or trimmed
 * (evfut_runtime_trim(), when no task is held).
 *
 * The runtime's thread allocates and frees. Another thread that releases
 * the last reference to a task hands its block over under the remote lock
 * (evfut__pool_free_remote); the runtime's thread takes such blocks back
 * when a class runs dry.
 */
#ifndef EVFUT_RUNTIME_POOL_H
#define EVFUT_RUNTIME_POOL_H

#include <pthread.h>
#include <stddef.h>

#define EVFUT__POOL_GRAIN   16
#define EVFUT__POOL_CLASSES 64 /* blocks of 16 to 1024 bytes */
#define EVFUT__POOL_MAX     (EVFUT__POOL_GRAIN * EVFUT__POOL_CLASSES)

struct evfut__pool_block;
struct evfut__pool_chunk;

struct evfut__pool {
	/* By class; class 0 means "from malloc" and has no list. */
	struct evfut__pool_block *free[EVFUT__POOL_CLASSES + 1];
	char *bump; /* the newest chunk's unused part */
	char *end;
	struct evfut__pool_chunk *chunks;
	size_t chunk_size; /* of the next chunk: doubles up to a maximum */
	size_t bytes;      /* of all chunks */
	struct evfut__pool_block *remote; /* under the remote lock */
};

void evfut__pool_init(struct evfut__pool *pool);
/* Frees every chunk: no block may be in use any more. */
void evfut__pool_finish(struct evfut__pool *pool);

/* The class of a block of @size bytes; 0: too large, use malloc. */
static inline unsigned
evfut__pool_class(size_t size)
{
	return size <= EVFUT__POOL_MAX
	               ? (unsigned)((size + EVFUT__POOL_GRAIN - 1) /
	                            EVFUT__POOL_GRAIN)
	               : 0;
}

/* A block of class @cls (nonzero), 16-byte aligned; NULL: out of memory.
 * Takes @lock when the class is empty and other threads returned blocks. */
void *evfut__pool_alloc(struct evfut__pool *pool, unsigned cls,
                        pthread_mutex_t *lock);
/* Gives back a block of class @cls, on the runtime's thread. */
void evfut__pool_free(struct evfut__pool *pool, void *block, unsigned cls);
/* The same from another thread, with the remote lock held. */
void evfut__pool_free_remote(struct evfut__pool *pool, void *block,
                             unsigned cls);

#endif
