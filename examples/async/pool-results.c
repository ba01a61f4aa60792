/*
 * pool-results: blocking work on a pool of 4 threads streams its results
 * to a task through a thread-safe mpsc channel. Each job is a sender: it
 * blocks its pool thread while the channel is full (backpressure), and
 * drops its sender when done; the task sees the end of the stream when
 * the last job drops its sender.
 *
 * Run: ./build/gcc/examples/async/pool-results
 * Exits 0 when every result arrived once, each job's in order.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include <evfut.h>

#define JOBS    8
#define RESULTS 100 /* per job */

struct job {
	struct evfut_mpsc *results;
	int id;
};

/* [producer] */
/* On a pool thread: sends each result, waiting while the channel is full. */
static intptr_t
produce(void *arg)
{
	struct job *job = arg;
	struct evfut_mpsc_send send;
	int sent = 0;

	for (int i = 0; i < RESULTS; i++) {
		int result = job->id * RESULTS + i;

		evfut_mpsc_send_init(&send, job->results, &result);
		evfut_block_on(&send.base); /* parks this thread if full */
		sent += send.result == 0;
		evfut_future_drop(&send.base);
	}
	evfut_mpsc_sender_drop(job->results); /* the last one ends it */
	return sent;
}
/* [producer] */

/* The receiving task: every result until the end of the stream. */
struct collector {
	struct evfut_future base;
	unsigned resume;
	struct evfut_mpsc *results;
	int result;
	int received;
	int next[JOBS]; /* each job's results arrive in order */
	int in_order;
	struct evfut_mpsc_recv recv;
};

static enum evfut_poll
collector_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct collector *c = evfut_container_of(self, struct collector, base);

	EVFUT_ASYNC_BEGIN(c->resume);
	c->in_order = 1;
	for (;;) {
		evfut_mpsc_recv_init(&c->recv, c->results, &c->result);
		EVFUT_AWAIT(&c->recv.base, cx);
		if (c->recv.result == -EPIPE)
			break; /* every sender dropped, nothing left */
		c->in_order &=
		        c->result % RESULTS == c->next[c->result / RESULTS]++;
		c->received++;
	}
	EVFUT_ASYNC_END();
}

int
main(void)
{
	struct evfut_runtime *rt;
	struct evfut_pool *pool;
	struct evfut_mpsc results;
	struct job jobs[JOBS];
	struct evfut_blocking work[JOBS];
	struct collector c = {.base = EVFUT_FUTURE_INIT(collector_poll, NULL),
	                      .results = &results};
	struct evfut_future *all[JOBS + 1];
	struct evfut_join join;
	int ok;

	/* [setup] */
	if (evfut_runtime_create(&rt, NULL) < 0 ||
	    evfut_pool_create(&pool, 4) < 0 ||
	    evfut_mpsc_init(&results, 4, sizeof(int), NULL) < 0)
		return 1;
	for (int i = 0; i < JOBS; i++) {
		jobs[i].results = &results;
		jobs[i].id = i;
		evfut_mpsc_sender_add(&results); /* one sender per job */
		evfut_blocking_init(&work[i], pool, produce, &jobs[i]);
		all[i] = &work[i].base;
	}
	evfut_mpsc_sender_drop(&results); /* the one init counted */
	all[JOBS] = &c.base;
	evfut_join_init(&join, all, JOBS + 1);
	evfut_runtime_block_on(rt, &join.base); /* jobs and collector */
	evfut_future_drop(&join.base);
	evfut_mpsc_finish(&results);
	/* [setup] */
	ok = c.received == JOBS * RESULTS && c.in_order;
	for (int i = 0; i < JOBS; i++)
		ok &= work[i].result == 0 && work[i].value == RESULTS;
	evfut_pool_destroy(pool);
	evfut_runtime_destroy(rt);
	printf("%d results from %d pool jobs: %s\n", c.received, JOBS,
	       ok ? "ok" : "WRONG");
	return ok ? 0 : 1;
}
