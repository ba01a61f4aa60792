/*
 * client-retry: an async client of a simulated service, written with the
 * async/await macros. The client sends a request over a bounded mpsc
 * channel to a server task, awaits the reply on a oneshot for at most
 * 50 ms (evfut_timeout), and tries up to three times with a backoff sleep
 * in between. The simulated server answers the first two attempts too late
 * (their replies are refused, since the client dropped their receivers)
 * and the third in time.
 *
 * Run: ./build/gcc/examples/async/client-retry
 * Exits 0 when the third attempt got the answer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include <evfut.h>

#define MAX_ATTEMPTS 3

/* How long the simulated server takes for each attempt. */
static const evfut_nsec latency[MAX_ATTEMPTS] = {
        200 * EVFUT_MSEC, 120 * EVFUT_MSEC, 5 * EVFUT_MSEC};

/* [request] */
/* What travels on the server's request channel. */
struct request {
	int attempt;
	int question;
	struct evfut_oneshot *reply; /* where the answer goes */
};
/* [request] */

/* [client-struct] */
struct client {
	struct evfut_future base;
	unsigned resume; /* the resume point of the body */
	/* arguments */
	struct evfut_mpsc *requests;
	int question;
	/* results */
	int result; /* 0, -ETIMEDOUT after the last attempt, or -EPIPE */
	int answer;
	/* the body's "locals": they must survive across awaits */
	int attempt;
	evfut_nsec backoff;
	struct request req;
	struct evfut_future *awaiting; /* what a drop must drop */
	/* one oneshot per attempt: a late reply finds its own, closed one */
	struct evfut_oneshot replies[MAX_ATTEMPTS];
	struct evfut_mpsc_send send;
	struct evfut_oneshot_recv recv;
	struct evfut_timeout timeout;
	struct evfut_sleep sleep;
};
/* [client-struct] */

/* [client-poll] */
static enum evfut_poll
client_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct client *c = evfut_container_of(self, struct client, base);

	EVFUT_ASYNC_BEGIN(c->resume);
	c->backoff = 10 * EVFUT_MSEC;
	for (c->attempt = 1; c->attempt <= MAX_ATTEMPTS; c->attempt++) {
		/* Send the request; this waits while the server is busy. */
		c->req.attempt = c->attempt;
		c->req.question = c->question;
		c->req.reply = &c->replies[c->attempt - 1];
		evfut_oneshot_init(c->req.reply);
		evfut_mpsc_send_init(&c->send, c->requests, &c->req);
		c->awaiting = &c->send.base;
		EVFUT_AWAIT(&c->send.base, cx);
		if (c->send.result < 0) {
			c->result = c->send.result; /* the server is gone */
			EVFUT_ASYNC_RETURN();
		}

		/* Await the reply for at most 50 ms. */
		evfut_oneshot_recv_init(&c->recv, c->req.reply);
		evfut_timeout_init(&c->timeout, &c->recv.base, 50 * EVFUT_MSEC);
		c->awaiting = &c->timeout.base;
		EVFUT_AWAIT(&c->timeout.base, cx);
		/* Dropping the timeout drops the receiver: a late reply to
		   this attempt is refused. */
		evfut_future_drop(&c->timeout.base);
		c->awaiting = NULL;
		if (c->timeout.result == 0 && c->recv.result == 0) {
			c->answer = (int)(intptr_t)c->recv.value;
			c->result = 0;
			EVFUT_ASYNC_RETURN();
		}
		printf("client: attempt %d: %s\n", c->attempt,
		       c->timeout.result == -ETIMEDOUT ? "timed out"
		                                       : "no reply");
		if (c->attempt == MAX_ATTEMPTS)
			break;

		/* Back off before trying again: 10 ms, then 20 ms. */
		evfut_sleep_init(&c->sleep, c->backoff);
		c->awaiting = &c->sleep.base;
		EVFUT_AWAIT(&c->sleep.base, cx);
		c->awaiting = NULL;
		c->backoff *= 2;
	}
	c->result = -ETIMEDOUT;
	EVFUT_ASYNC_END();
}

/* Cancellation: drop whatever the body was awaiting. */
static void
client_drop(struct evfut_future *self)
{
	struct client *c = evfut_container_of(self, struct client, base);

	evfut_future_drop(c->awaiting);
	c->awaiting = NULL;
}
/* [client-poll] */

/* One request being answered, as a task of its own. */
struct handler {
	struct evfut_future base;
	unsigned resume;
	struct request req;
	struct evfut_sleep sleep;
};

static enum evfut_poll
handler_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct handler *h = evfut_container_of(self, struct handler, base);

	EVFUT_ASYNC_BEGIN(h->resume);
	evfut_sleep_init(&h->sleep, latency[h->req.attempt - 1]);
	EVFUT_AWAIT(&h->sleep.base, cx);
	if (evfut_oneshot_send(h->req.reply,
	                       (void *)(intptr_t)(h->req.question + 1)) < 0)
		printf("server: reply to attempt %d refused: the client "
		       "gave up on it\n",
		       h->req.attempt);
	else
		printf("server: replied to attempt %d\n", h->req.attempt);
	EVFUT_ASYNC_END();
}

static void
handler_drop(struct evfut_future *self)
{
	struct handler *h = evfut_container_of(self, struct handler, base);

	evfut_future_drop(&h->sleep.base);
	evfut_oneshot_drop_sender(h->req.reply); /* no-op after a send */
}

/* [server] */
/* The server: takes requests off its channel, one task per request. */
struct server {
	struct evfut_future base;
	unsigned resume;
	struct evfut_mpsc *requests;
	struct request req;
	struct evfut_mpsc_recv recv;
};

static enum evfut_poll
server_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct server *s = evfut_container_of(self, struct server, base);
	struct handler h = {
	        .base = EVFUT_FUTURE_INIT(handler_poll, handler_drop)};

	EVFUT_ASYNC_BEGIN(s->resume);
	for (;;) {
		evfut_mpsc_recv_init(&s->recv, s->requests, &s->req);
		EVFUT_AWAIT(&s->recv.base, cx);
		if (s->recv.result == -EPIPE)
			break; /* closed: no client left */
		h.req = s->req;
		if (evfut_task_spawn(cx->runtime, &h.base, sizeof h) < 0)
			evfut_oneshot_drop_sender(s->req.reply);
	}
	EVFUT_ASYNC_END();
}
/* [server] */

static void
server_drop(struct evfut_future *self)
{
	struct server *s = evfut_container_of(self, struct server, base);

	evfut_future_drop(&s->recv.base);
}

int
main(void)
{
	struct evfut_runtime *rt;
	struct request slots[4];
	struct evfut_mpsc requests;
	struct server server = {
	        .base = EVFUT_FUTURE_INIT(server_poll, server_drop),
	        .requests = &requests};
	struct client client = {
	        .base = EVFUT_FUTURE_INIT(client_poll, client_drop),
	        .requests = &requests,
	        .question = 41};
	int rc;

	if (evfut_runtime_create(&rt, NULL) < 0)
		return 1;
	if (evfut_mpsc_init(&requests, 4, sizeof(struct request), slots) < 0)
		return 1;
	evfut_task_spawn(rt, &server.base, sizeof server);
	rc = evfut_runtime_block_on(rt, &client.base);
	evfut_future_drop(&client.base);
	printf("client: result %d, answer %d after %d attempts\n",
	       client.result, client.answer, client.attempt);
	/* Let the late handlers finish, then the server sees the close. */
	evfut_mpsc_close(&requests);
	evfut_runtime_run(rt);
	evfut_runtime_destroy(rt);
	evfut_mpsc_finish(&requests);
	return rc == 0 && client.result == 0 && client.answer == 42 &&
	                       client.attempt == 3
	               ? 0
	               : 1;
}
