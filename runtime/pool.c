/*
 * The runtime's pool of task blocks: free lists by size class over chunks
 * carved front to back. Under AddressSanitizer a free block is poisoned,
 * so a use after free of a task is caught as it would be with malloc.
 */
#include <errno.h>
#include <stdint.h>

#include "alloc.h"
#include "pool.h"

#if defined(__SANITIZE_ADDRESS__)
#define POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_ASAN 1
#endif
#endif

#ifdef POOL_ASAN
#include <sanitizer/asan_interface.h>
#define poison(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define poison(p, n)   ((void)(p), (void)(n))
#define unpoison(p, n) ((void)(p), (void)(n))
#endif

/* A free block, linked through its first bytes. */
struct evfut__pool_block {
	struct evfut__pool_block *next;
	unsigned cls; /* read when blocks come back from other threads */
};

/* Chunks are linked for the final free; the header keeps blocks aligned. */
struct evfut__pool_chunk {
	struct evfut__pool_chunk *next;
	size_t size;
};

_Static_assert(sizeof(struct evfut__pool_chunk) % EVFUT__POOL_GRAIN == 0,
               "blocks must start 16-byte aligned");

/*
 * The first chunk is small, for runtimes of a few tasks; each next one
 * doubles, up to just under a mebibyte with the allocator's own header,
 * so that a million tasks need a hundred-odd allocations.
 */
#define CHUNK_FIRST ((size_t)16 * 1024)
#define CHUNK_LAST  ((size_t)1024 * 1024 - 64)

void
evfut__pool_init(struct evfut__pool *pool)
{
	for (unsigned cls = 0; cls <= EVFUT__POOL_CLASSES; cls++)
		pool->free[cls] = NULL;
	pool->bump = pool->end = NULL;
	pool->chunks = NULL;
	pool->chunk_size = CHUNK_FIRST;
	pool->bytes = 0;
	pool->remote = NULL;
}

void
evfut__pool_finish(struct evfut__pool *pool)
{
	struct evfut__pool_chunk *chunk = pool->chunks;
	struct evfut__pool_chunk *next;

	for (; chunk != NULL; chunk = next) {
		next = chunk->next;
		unpoison(chunk, chunk->size);
		evfut__free(chunk);
	}
	evfut__pool_init(pool);
}

/* Links @b, poisoned, onto @list; the link alone is written. */
static void
push(struct evfut__pool_block **list, struct evfut__pool_block *b, unsigned cls)
{
	unpoison(b, sizeof(*b));
	b->next = *list;
	b->cls = cls;
	poison(b, sizeof(*b));
	*list = b;
}

static struct evfut__pool_block *
link_of(struct evfut__pool_block *b, unsigned *cls)
{
	struct evfut__pool_block *next;

	unpoison(b, sizeof(*b));
	next = b->next;
	if (cls != NULL)
		*cls = b->cls;
	poison(b, sizeof(*b));
	return next;
}

/* Sorts the blocks other threads gave back into their classes. */
static void
take_remote(struct evfut__pool *pool, pthread_mutex_t *lock)
{
	struct evfut__pool_block *b;
	struct evfut__pool_block *next;
	unsigned cls;

	pthread_mutex_lock(lock);
	b = pool->remote;
	__atomic_store_n(&pool->remote, NULL, __ATOMIC_RELAXED);
	pthread_mutex_unlock(lock);
	for (; b != NULL; b = next) {
		next = link_of(b, &cls);
		push(&pool->free[cls], b, cls);
	}
}

/* Starts a chunk; what was left of the last one (under a block) is lost. */
static int
grow(struct evfut__pool *pool)
{
	struct evfut__pool_chunk *chunk = evfut__malloc(pool->chunk_size);

	if (chunk == NULL)
		return -ENOMEM;
	chunk->next = pool->chunks;
	chunk->size = pool->chunk_size;
	pool->chunks = chunk;
	pool->bytes += chunk->size;
	pool->bump = (char *)(chunk + 1);
	pool->end = (char *)chunk + chunk->size;
	poison(pool->bump, (size_t)(pool->end - pool->bump));
	pool->chunk_size *= 2;
	if (pool->chunk_size > CHUNK_LAST)
		pool->chunk_size = CHUNK_LAST;
	return 0;
}

void *
evfut__pool_alloc(struct evfut__pool *pool, unsigned cls, pthread_mutex_t *lock)
{
	size_t size = (size_t)cls * EVFUT__POOL_GRAIN;
	struct evfut__pool_block *b = pool->free[cls];

	if (b == NULL && __atomic_load_n(&pool->remote, __ATOMIC_RELAXED)) {
		take_remote(pool, lock);
		b = pool->free[cls];
	}
	if (b != NULL) {
		pool->free[cls] = link_of(b, NULL);
	} else {
		if ((size_t)(pool->end - pool->bump) < size && grow(pool) < 0)
			return NULL;
		b = (struct evfut__pool_block *)(void *)pool->bump;
		pool->bump += size;
	}
	unpoison(b, size);
	return b;
}

void
evfut__pool_free(struct evfut__pool *pool, void *block, unsigned cls)
{
	poison(block, (size_t)cls * EVFUT__POOL_GRAIN);
	push(&pool->free[cls], block, cls);
}

void
evfut__pool_free_remote(struct evfut__pool *pool, void *block, unsigned cls)
{
	struct evfut__pool_block *head = pool->remote;

	poison(block, (size_t)cls * EVFUT__POOL_GRAIN);
	push(&head, block, cls);
	__atomic_store_n(&pool->remote, head, __ATOMIC_RELAXED);
}
