/*
 * evfut_block_on(): the executor of the classic walkthrough, with no
 * runtime. The calling thread parks on a condition variable between polls;
 * the waker, a counted reference to the parker, unparks it from any thread.
 * The parker is allocated because a waker may outlive the call.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>

#include "evfut/future.h"

#include "alloc.h"

struct parker {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool notified;
	unsigned refs; /* atomic */
};

static struct evfut_waker parker_clone(const void *data);
static void parker_wake(const void *data);
static void parker_wake_by_ref(const void *data);
static void parker_drop(const void *data);

static const struct evfut_waker_vtable parker_vtable = {
        parker_clone,
        parker_wake,
        parker_wake_by_ref,
        parker_drop,
};

static struct evfut_waker
parker_clone(const void *data)
{
	struct parker *p = (struct parker *)data;
	struct evfut_waker waker = {data, &parker_vtable};

	__atomic_fetch_add(&p->refs, 1, __ATOMIC_RELAXED);
	return waker;
}

static void
parker_wake_by_ref(const void *data)
{
	struct parker *p = (struct parker *)data;

	pthread_mutex_lock(&p->lock);
	p->notified = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void
parker_drop(const void *data)
{
	struct parker *p = (struct parker *)data;

	if (__atomic_fetch_sub(&p->refs, 1, __ATOMIC_ACQ_REL) != 1)
		return;
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	evfut__free(p);
}

static void
parker_wake(const void *data)
{
	parker_wake_by_ref(data);
	parker_drop(data);
}

static void
park(struct parker *p)
{
	pthread_mutex_lock(&p->lock);
	while (!p->notified)
		pthread_cond_wait(&p->cond, &p->lock);
	p->notified = false;
	pthread_mutex_unlock(&p->lock);
}

static int
parker_new(struct parker **out)
{
	struct parker *p = evfut__malloc(sizeof(*p));
	int rc;

	if (p == NULL)
		return -ENOMEM;
	rc = -pthread_mutex_init(&p->lock, NULL);
	if (rc < 0)
		goto fail_lock;
	rc = -pthread_cond_init(&p->cond, NULL);
	if (rc < 0)
		goto fail_cond;
	p->notified = false;
	p->refs = 1;
	*out = p;
	return 0;

fail_cond:
	pthread_mutex_destroy(&p->lock);
fail_lock:
	evfut__free(p);
	return rc;
}

int
evfut_block_on(struct evfut_future *future)
{
	struct evfut_waker waker;
	struct evfut_context cx;
	struct parker *p;
	int rc;

	if (future == NULL || future->poll == NULL)
		return -EINVAL;
	rc = parker_new(&p);
	if (rc < 0)
		return rc;
	waker.data = p;
	waker.vtable = &parker_vtable;
	cx.waker = &waker;
	cx.runtime = NULL;
	while (future->poll(future, &cx) == EVFUT_PENDING)
		park(p);
	parker_drop(p);
	return 0;
}
