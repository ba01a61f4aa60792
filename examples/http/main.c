/*
 * evfut-http: an HTTP/1.1 server on evfut, one task per connection.
 *
 * Run: ./build/examples/http/evfut-http [--port PORT] [--host ADDR]
 *        [--threads N] [--max-connections N] [--idle-timeout SEC]
 *        [--header-timeout SEC] [--grace SEC]
 *      then: curl http://127.0.0.1:8080/
 *
 * It answers GET / with "Hello, World!" and other paths with 404, keeps
 * connections alive by HTTP/1.1's rules and answers pipelined requests in
 * order. It prints "listening on HOST:PORT" once ready (--port 0 picks a
 * free port). SIGINT or SIGTERM stops it gracefully: no new connections,
 * requests in flight finish within --grace seconds, exit status 0.
 *
 * --threads N runs N independent runtimes on N threads, each with its own
 * listener on the same port (SO_REUSEPORT); see docs/scaling.md.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <evfut.h>

#include "options.h"
#include "server.h"

/* [worker] */
/* One runtime, its server, and the thread that runs them. */
struct worker {
	struct evfut_runtime *rt;
	struct server server;
	pthread_t thread;
	int rc;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;

	w->rc = evfut_runtime_block_on(w->rt, &w->server.base);
	return NULL;
}

/* Each runtime gets a listener of its own; the kernel spreads the
 * connections over them (SO_REUSEPORT). */
static int
worker_init(struct worker *w, const struct http_options *o, uint16_t port)
{
	int rc;

	rc = evfut_runtime_create(&w->rt, NULL);
	if (rc < 0)
		return rc;
	rc = server_init(&w->server, w->rt, o, port, o->threads > 1);
	if (rc < 0) {
		evfut_runtime_destroy(w->rt);
		w->rt = NULL;
	}
	return rc;
}
/* [worker] */

static void
worker_finish(struct worker *w)
{
	if (w->rt == NULL)
		return;
	server_finish(&w->server);
	evfut_runtime_destroy(w->rt);
	w->rt = NULL;
}

/* Room for --max-connections descriptors, as far as the hard limit goes. */
static void
raise_fd_limit(const struct http_options *o)
{
	rlim_t want = (rlim_t)o->max_connections + 64 + 8 * o->threads;
	struct rlimit lim;

	if (getrlimit(RLIMIT_NOFILE, &lim) < 0 || lim.rlim_cur >= want)
		return;
	lim.rlim_cur = lim.rlim_max < want ? lim.rlim_max : want;
	setrlimit(RLIMIT_NOFILE, &lim);
}

/* Creates the runtimes and their listeners, all on the first one's port. */
static int
setup(struct worker *workers, struct server **servers,
      const struct http_options *o)
{
	uint16_t port = o->port;
	unsigned i;
	int rc;

	for (i = 0; i < o->threads; i++) {
		rc = worker_init(&workers[i], o, port);
		if (rc < 0)
			return rc;
		servers[i] = &workers[i].server;
		port = (uint16_t)server_port(&workers[0].server);
	}
	return server_watch_signals(servers[0], servers, o->threads);
}

/* [run] */
/* Runs the first runtime on this thread and the others on new threads. */
static int
run(struct worker *workers, unsigned n)
{
	unsigned i, started;
	int rc = 0;

	for (started = 1; started < n; started++) {
		rc = -pthread_create(&workers[started].thread, NULL, worker_run,
		                     &workers[started]);
		if (rc < 0) {
			for (i = 0; i < started; i++)
				server_stop(&workers[i].server);
			break;
		}
	}
	worker_run(&workers[0]);
	for (i = 1; i < started; i++)
		pthread_join(workers[i].thread, NULL);
	for (i = 0; i < started && rc == 0; i++)
		rc = workers[i].rc;
	return rc;
}
/* [run] */

int
main(int argc, char **argv)
{
	struct http_options o;
	struct worker *workers;
	struct server **servers;
	unsigned i;
	int rc;

	rc = http_options_parse(&o, argc, argv);
	if (rc != 0)
		return rc == 1 ? 0 : rc;
	raise_fd_limit(&o);
	workers = calloc(o.threads, sizeof(*workers));
	servers = calloc(o.threads, sizeof(*servers));
	rc = workers == NULL || servers == NULL ? -ENOMEM : 0;
	if (rc == 0)
		rc = setup(workers, servers, &o);
	if (rc == 0) {
		printf("listening on %s:%d\n", o.host,
		       server_port(&workers[0].server));
		fflush(stdout);
		rc = run(workers, o.threads);
	}
	for (i = 0; workers != NULL && i < o.threads; i++)
		worker_finish(&workers[i]);
	free(servers);
	free(workers);
	if (rc == 0)
		return 0;
	fprintf(stderr, "evfut-http: %s\n", strerror(-rc));
	return 1;
}
