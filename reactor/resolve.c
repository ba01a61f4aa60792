/*
 * The lookup future: getaddrinfo() on the runtime's blocking pool, or at
 * once for a numeric address.
 *
 * The request record (the copied names, the hints, the result) belongs to
 * the future until it is handed to the pool; from then on the blocking
 * future holds it, and if the lookup is dropped while getaddrinfo() runs,
 * the pool thread frees it, and the list it made, when the call returns.
 */
#include <errno.h>
#include <string.h>

#include "evfut/net.h"

#include "alloc.h"
#include "resolve.h"

struct evfut__lookup {
	struct addrinfo hints;
	struct addrinfo *addrs;
	int error;
	const char *host; /* NULL or in names */
	const char *service;
	char names[];
};

enum {
	LOOKUP_IDLE, /* not polled: the request is the future's */
	LOOKUP_POOL, /* the blocking future holds the request */
	LOOKUP_DONE,
};

static enum evfut_poll lookup_poll(struct evfut_future *self,
                                   struct evfut_context *cx);
static void lookup_drop(struct evfut_future *self);

static void
request_free(struct evfut__lookup *req)
{
	if (req->addrs != NULL)
		freeaddrinfo(req->addrs);
	evfut__free(req);
}

/* Copies @s after the record; returns where it went (NULL for NULL). */
static const char *
copy_name(char **at, const char *s)
{
	char *copy = *at;
	size_t len;

	if (s == NULL)
		return NULL;
	len = strlen(s) + 1;
	memcpy(copy, s, len);
	*at += len;
	return copy;
}

int
evfut_lookup_host_init(struct evfut_lookup_host *op, const char *host,
                       const char *service, const struct addrinfo *hints)
{
	size_t size = 0;
	struct evfut__lookup *req;
	char *at;

	if (op == NULL)
		return -EINVAL;
	memset(op, 0, sizeof(*op));
	op->base.poll = lookup_poll;
	op->base.drop = lookup_drop;
	op->state = LOOKUP_DONE; /* dropping a failed init is harmless */
	if (host == NULL && service == NULL)
		return -EINVAL;
	size += host != NULL ? strlen(host) + 1 : 0;
	size += service != NULL ? strlen(service) + 1 : 0;
	req = evfut__calloc(1, sizeof(*req) + size);
	if (req == NULL)
		return -ENOMEM;
	if (hints != NULL) {
		req->hints.ai_flags = hints->ai_flags;
		req->hints.ai_family = hints->ai_family;
		req->hints.ai_socktype = hints->ai_socktype;
		req->hints.ai_protocol = hints->ai_protocol;
	} else {
		req->hints.ai_flags = AI_ADDRCONFIG;
		req->hints.ai_family = AF_UNSPEC;
	}
	at = req->names;
	req->host = copy_name(&at, host);
	req->service = copy_name(&at, service);
	op->request = req;
	op->state = LOOKUP_IDLE;
	return 0;
}

static int
resolve(struct evfut__lookup *req, const struct addrinfo *hints)
{
	int eai = getaddrinfo(req->host, req->service, hints, &req->addrs);

	if (eai != 0)
		req->addrs = NULL;
	return eai;
}

/* A numeric host and service need no thread: 1 done, 0 not numeric. */
static int
resolve_numeric(struct evfut__lookup *req)
{
	struct addrinfo hints = req->hints;
	int eai;

	hints.ai_flags |= AI_NUMERICHOST | AI_NUMERICSERV;
	eai = resolve(req, &hints);
	if (eai == EAI_NONAME)
		return 0;
	req->error = evfut__gai_errno(eai, errno);
	return 1;
}

/* On a pool thread. */
static intptr_t
run_lookup(void *arg)
{
	struct evfut__lookup *req = arg;
	int eai = resolve(req, &req->hints);

	req->error = evfut__gai_errno(eai, errno);
	return 0;
}

/* The lookup was dropped before it saw the result: on whichever thread
 * lets go of the request last. */
static void
discard_lookup(void *arg, intptr_t value, int ran)
{
	(void)value;
	(void)ran;
	request_free(arg);
}

static int
start_pool(struct evfut_lookup_host *op, struct evfut_context *cx)
{
	struct evfut_pool *pool;
	int rc;

	if (cx->runtime == NULL)
		return -EINVAL;
	rc = evfut_runtime_blocking_pool(cx->runtime, &pool);
	if (rc < 0)
		return rc;
	evfut_blocking_init(&op->job, pool, run_lookup, op->request);
	evfut_blocking_set_discard(&op->job, discard_lookup);
	op->state = LOOKUP_POOL;
	return 0;
}

static enum evfut_poll
finish(struct evfut_lookup_host *op, int result)
{
	struct evfut__lookup *req = op->request;

	op->result = result;
	if (result == 0) {
		op->addrs = req->addrs;
		req->addrs = NULL;
	}
	request_free(req);
	op->request = NULL;
	op->state = LOOKUP_DONE;
	return EVFUT_READY;
}

static enum evfut_poll
lookup_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_lookup_host *op =
	        evfut_container_of(self, struct evfut_lookup_host, base);
	int rc;

	if (op->state == LOOKUP_DONE)
		return EVFUT_READY;
	if (op->state == LOOKUP_IDLE) {
		if (resolve_numeric(op->request))
			return finish(op, op->request->error);
		rc = start_pool(op, cx);
		if (rc < 0)
			return finish(op, rc);
	}
	if (evfut_future_poll(&op->job.base, cx) == EVFUT_PENDING)
		return EVFUT_PENDING;
	/* Completed, whatever its result: the request is ours again. */
	return finish(op,
	              op->job.result < 0 ? op->job.result : op->request->error);
}

static void
lookup_drop(struct evfut_future *self)
{
	struct evfut_lookup_host *op =
	        evfut_container_of(self, struct evfut_lookup_host, base);

	if (op->state == LOOKUP_POOL)
		evfut_future_drop(&op->job.base); /* frees the request */
	else if (op->request != NULL)
		request_free(op->request);
	op->request = NULL;
	if (op->addrs != NULL)
		freeaddrinfo(op->addrs);
	op->addrs = NULL;
	op->state = LOOKUP_DONE;
}
