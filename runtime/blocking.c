/*
 * The blocking pool: threads started on demand up to a maximum, a FIFO of
 * jobs, and a counted job record shared by a future and a pool thread.
 *
 * The job record is what makes dropping safe: the future and the pool each
 * hold a reference, and the job's state (under the job's own lock) says
 * whether the future is still there. A pool thread that finishes the work
 * of a dropped future only drops its reference; it never writes into the
 * future, whose memory may be gone. Because the future only ever talks to
 * its job after the first poll, a finished future does not need the pool.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>

#include "evfut/blocking.h"

#include "alloc.h"
#include "runtime.h"
#include "waitlist.h"

enum {
	JOB_QUEUED = 0,
	JOB_RUNNING = 1,
	JOB_FINISHED = 2, /* result (and value) set */
	JOB_DROPPED = 3,  /* the future is gone */
};

struct evfut__job {
	struct evfut__job *next; /* the pool's queue, under its lock */
	evfut_blocking_fn fn;
	evfut_blocking_discard_fn discard;
	void *arg;
	unsigned lock; /* guards what follows */
	unsigned state;
	bool ran; /* fn returned value, whether or not the future saw it */
	int result;
	intptr_t value;
	struct evfut_waker waker;
	unsigned refs;              /* atomic: the future's and the pool's */
	struct evfut_runtime *held; /* its virtual clock, until seen done */
};

struct evfut_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct evfut__job *head, *tail;
	unsigned queued; /* jobs in the queue, not yet taken by a thread */
	unsigned max_threads;
	unsigned threads; /* started */
	unsigned idle;    /* waiting for work */
	bool shutdown;
	pthread_t *ids;
};

static enum evfut_poll blocking_poll(struct evfut_future *self,
                                     struct evfut_context *cx);
static void blocking_drop(struct evfut_future *self);

/* The last reference releases, for a dropped future, what it left. */
static void
job_unref(struct evfut__job *job)
{
	if (__atomic_fetch_sub(&job->refs, 1, __ATOMIC_ACQ_REL) != 1)
		return;
	if (job->state == JOB_DROPPED && job->discard != NULL)
		job->discard(job->arg, job->ran ? job->value : 0, job->ran);
	evfut__free(job);
}

static struct evfut_waker
job_take_waker(struct evfut__job *job)
{
	struct evfut_waker waker = job->waker;

	job->waker.data = NULL;
	job->waker.vtable = NULL;
	return waker;
}

/* Completes @job with @result unless its future was dropped, then wakes. */
static void
job_finish(struct evfut__job *job, unsigned from, int result, intptr_t value)
{
	struct evfut_waker waker = EVFUT_WAKER_EMPTY;

	evfut__spin_lock(&job->lock);
	if (from == JOB_RUNNING) {
		job->ran = true;
		job->value = value;
	}
	if (job->state == from) {
		job->state = JOB_FINISHED;
		job->result = result;
		job->value = value;
		waker = job_take_waker(job);
	}
	evfut__spin_unlock(&job->lock);
	evfut_waker_wake(&waker);
	job_unref(job);
}

static void
job_run(struct evfut__job *job)
{
	bool run;

	evfut__spin_lock(&job->lock);
	run = job->state == JOB_QUEUED;
	if (run)
		job->state = JOB_RUNNING;
	evfut__spin_unlock(&job->lock);
	if (!run) {
		job_unref(job);
		return;
	}
	job_finish(job, JOB_RUNNING, 0, job->fn(job->arg));
}

static void *
worker_main(void *arg)
{
	struct evfut_pool *pool = arg;
	struct evfut__job *job;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (pool->head == NULL && !pool->shutdown) {
			pool->idle++;
			pthread_cond_wait(&pool->cond, &pool->lock);
			pool->idle--;
		}
		job = pool->head;
		if (job == NULL)
			break;
		pool->head = job->next;
		if (pool->head == NULL)
			pool->tail = NULL;
		pool->queued--;
		pthread_mutex_unlock(&pool->lock);
		job_run(job);
		pthread_mutex_lock(&pool->lock);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

int
evfut_pool_create(struct evfut_pool **out, unsigned max_threads)
{
	struct evfut_pool *pool;
	int rc;

	if (out == NULL || max_threads == 0)
		return -EINVAL;
	pool = evfut__calloc(1, sizeof(*pool));
	if (pool == NULL)
		return -ENOMEM;
	pool->ids = evfut__calloc(max_threads, sizeof(*pool->ids));
	if (pool->ids == NULL) {
		rc = -ENOMEM;
		goto fail_ids;
	}
	rc = -pthread_mutex_init(&pool->lock, NULL);
	if (rc < 0)
		goto fail_lock;
	rc = -pthread_cond_init(&pool->cond, NULL);
	if (rc < 0)
		goto fail_cond;
	pool->max_threads = max_threads;
	*out = pool;
	return 0;

fail_cond:
	pthread_mutex_destroy(&pool->lock);
fail_lock:
	evfut__free(pool->ids);
fail_ids:
	evfut__free(pool);
	return rc;
}

/*
 * Under the pool's lock: starts one more thread, with every signal blocked
 * so that signals keep going to the threads that expect them.
 */
static int
start_thread(struct evfut_pool *pool)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&pool->ids[pool->threads], NULL, worker_main, pool);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -rc;
	pool->threads++;
	return 0;
}

/*
 * Queues @job, starting a thread unless an idle one is left for it: the
 * jobs queued before it already claim as many idle threads, whether or
 * not those have woken up yet.
 */
static int
submit(struct evfut_pool *pool, struct evfut__job *job)
{
	int rc = 0;

	pthread_mutex_lock(&pool->lock);
	if (pool->shutdown) {
		rc = -ECANCELED;
		goto out;
	}
	if (pool->queued >= pool->idle && pool->threads < pool->max_threads) {
		rc = start_thread(pool);
		/* With a thread already running, the job just waits. */
		if (rc < 0 && pool->threads > 0)
			rc = 0;
		if (rc < 0)
			goto out;
	}
	job->next = NULL;
	if (pool->tail != NULL)
		pool->tail->next = job;
	else
		pool->head = job;
	pool->tail = job;
	pool->queued++;
	pthread_cond_signal(&pool->cond);
out:
	pthread_mutex_unlock(&pool->lock);
	return rc;
}

void
evfut_pool_destroy(struct evfut_pool *pool)
{
	struct evfut__job *job, *next;
	unsigned threads;

	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->shutdown = true;
	job = pool->head;
	pool->head = pool->tail = NULL;
	pool->queued = 0;
	threads = pool->threads;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	for (; job != NULL; job = next) {
		next = job->next;
		job_finish(job, JOB_QUEUED, -ECANCELED, 0);
	}
	for (unsigned i = 0; i < threads; i++)
		pthread_join(pool->ids[i], NULL);
	pthread_cond_destroy(&pool->cond);
	pthread_mutex_destroy(&pool->lock);
	evfut__free(pool->ids);
	evfut__free(pool);
}

unsigned
evfut_pool_threads(struct evfut_pool *pool)
{
	unsigned threads;

	if (pool == NULL)
		return 0;
	pthread_mutex_lock(&pool->lock);
	threads = pool->threads;
	pthread_mutex_unlock(&pool->lock);
	return threads;
}

int
evfut_blocking_init(struct evfut_blocking *blocking, struct evfut_pool *pool,
                    evfut_blocking_fn fn, void *arg)
{
	if (blocking == NULL || pool == NULL || fn == NULL)
		return -EINVAL;
	memset(blocking, 0, sizeof(*blocking));
	blocking->base.poll = blocking_poll;
	blocking->base.drop = blocking_drop;
	blocking->pool = pool;
	blocking->fn = fn;
	blocking->arg = arg;
	return 0;
}

int
evfut_blocking_set_discard(struct evfut_blocking *blocking,
                           evfut_blocking_discard_fn discard)
{
	if (blocking == NULL || blocking->job != NULL || blocking->done)
		return -EINVAL;
	blocking->discard = discard;
	return 0;
}

static enum evfut_poll
complete(struct evfut_blocking *blocking, int result, intptr_t value)
{
	blocking->result = result;
	blocking->value = value;
	blocking->done = 1;
	return EVFUT_READY;
}

/* The first poll: a job record, with the waker in it before anyone runs. */
static enum evfut_poll
start(struct evfut_blocking *blocking, struct evfut_context *cx)
{
	struct evfut__job *job = evfut__calloc(1, sizeof(*job));
	int rc;

	if (job == NULL)
		return complete(blocking, -ENOMEM, 0);
	job->fn = blocking->fn;
	job->discard = blocking->discard;
	job->arg = blocking->arg;
	job->state = JOB_QUEUED;
	job->refs = 2;
	job->waker = evfut_waker_clone(cx->waker);
	rc = submit(blocking->pool, job);
	if (rc < 0) {
		evfut_waker_drop(&job->waker);
		evfut__free(job);
		return complete(blocking, rc, 0);
	}
	blocking->job = job;
	evfut__runtime_hold(job->held = cx->runtime);
	return EVFUT_PENDING;
}

static enum evfut_poll
blocking_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_blocking *blocking =
	        evfut_container_of(self, struct evfut_blocking, base);
	struct evfut__job *job = blocking->job;
	struct evfut_waker old = EVFUT_WAKER_EMPTY;

	if (blocking->done)
		return EVFUT_READY;
	if (job == NULL)
		return start(blocking, cx);
	evfut__spin_lock(&job->lock);
	if (job->state == JOB_FINISHED) {
		evfut__spin_unlock(&job->lock);
		evfut__runtime_release(job->held);
		blocking->job = NULL;
		complete(blocking, job->result, job->value);
		job_unref(job);
		return EVFUT_READY;
	}
	if (!evfut_waker_will_wake(&job->waker, cx->waker)) {
		old = job->waker;
		job->waker = evfut_waker_clone(cx->waker);
	}
	evfut__spin_unlock(&job->lock);
	evfut_waker_drop(&old);
	return EVFUT_PENDING;
}

static void
blocking_drop(struct evfut_future *self)
{
	struct evfut_blocking *blocking =
	        evfut_container_of(self, struct evfut_blocking, base);
	struct evfut__job *job = blocking->job;
	struct evfut_waker old;

	if (job == NULL) {
		/* Never started: the work and its argument are dropped here. */
		if (!blocking->done && blocking->discard != NULL)
			blocking->discard(blocking->arg, 0, 0);
		blocking->done = 1;
		return;
	}
	blocking->job = NULL;
	blocking->done = 1;
	evfut__runtime_release(job->held);
	evfut__spin_lock(&job->lock);
	job->state = JOB_DROPPED;
	old = job_take_waker(job);
	evfut__spin_unlock(&job->lock);
	evfut_waker_drop(&old);
	job_unref(job);
}

int
evfut_runtime_blocking_pool(struct evfut_runtime *rt, struct evfut_pool **out)
{
	int rc;

	if (rt == NULL || out == NULL)
		return -EINVAL;
	if (rt->blocking == NULL) {
		rc = evfut_pool_create(&rt->blocking,
		                       EVFUT_DEFAULT_BLOCKING_THREADS);
		if (rc < 0)
			return rc;
	}
	*out = rt->blocking;
	return 0;
}

int
evfut_runtime_set_blocking_pool(struct evfut_runtime *rt,
                                struct evfut_pool *pool)
{
	if (rt == NULL || pool == NULL)
		return -EINVAL;
	if (rt->blocking != NULL)
		return -EBUSY;
	rt->blocking = pool;
	rt->blocking_borrowed = true;
	return 0;
}

void
evfut__runtime_pool_finish(struct evfut_runtime *rt)
{
	if (!rt->blocking_borrowed)
		evfut_pool_destroy(rt->blocking);
	rt->blocking = NULL;
}
