/*
 * server.h: one runtime's server: its listener, its connections, and its
 * part in a graceful shutdown. With --threads N there are N servers, one
 * per runtime and thread, that share nothing but the port.
 */
#ifndef HTTP_SERVER_H
#define HTTP_SERVER_H

#include <stdint.h>

#include <evfut.h>

#include "options.h"
#include "response.h"

struct conn;

struct server {
	struct evfut_future base; /* the runtime's root future */
	struct evfut_runtime *rt;
	/* read by the connections */
	const struct http_options *options;
	unsigned draining;         /* shutting down: no new requests */
	evfut_nsec grace_deadline; /* when draining: the last moment */
	struct http_date date;     /* this runtime's Date header */
	/* the connections */
	unsigned live;     /* connection tasks alive */
	unsigned max_live; /* this runtime's share of --max-connections */
	struct conn *conns;
	/* accepting */
	struct evfut_io listener;
	struct evfut_io_op accept;
	/* stopping: a byte on the stop pipe, from any thread */
	int stop_pipe[2];
	struct evfut_io stop_io;
	struct evfut_io_op stop_op;
	struct evfut_signal signal; /* the first server only */
	unsigned watches_signals;
	struct server **peers; /* the servers the signal stops */
	unsigned npeers;
	/* draining */
	struct evfut_sleep backstop;
	struct evfut_waker waker; /* woken when the last connection goes */
};

/*
 * Listens on the options' host and @p port (with SO_REUSEPORT when
 * @p reuseport) on @p rt, and prepares @p s to run as block_on's root.
 *
 * @return 0 or a negative errno; on failure nothing is left open.
 */
int server_init(struct server *s, struct evfut_runtime *rt,
                const struct http_options *options, uint16_t port,
                unsigned reuseport);

/* The port @p s listens on, or a negative errno. */
int server_port(const struct server *s);

/*
 * Makes @p s watch SIGINT and SIGTERM, and stop the @p npeers servers of
 * @p peers (itself included) when one arrives. One server per process.
 *
 * @return 0 or a negative errno of evfut_signal_init().
 */
int server_watch_signals(struct server *s, struct server **peers,
                         unsigned npeers);

/* Asks @p s to shut down gracefully. Any thread. */
void server_stop(struct server *s);

/* Releases what @p s holds, before its runtime is destroyed (connections
 * the runtime still drops then find the server as it was left). */
void server_finish(struct server *s);

/* A connection task of @p s was dropped. */
void server_forget(struct server *s);

#endif /* HTTP_SERVER_H */
