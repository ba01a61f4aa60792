/*
 * chat.h: the parts of evfut-chat (main.c has the usage, docs/chat.md the
 * walk through).
 */
#ifndef CHAT_H
#define CHAT_H

#include <stddef.h>
#include <stdint.h>

#include <evfut.h>

#define CHAT_MAX_LINE 1024 /* bytes a line, its '\n' included */
#define CHAT_MAX_ROOM 32   /* bytes a room name */

struct chat_options {
	const char *host;
	uint16_t port;
	const char *unix_path;   /* NULL: TCP */
	evfut_nsec idle_timeout; /* since the last line read */
	evfut_nsec grace;        /* to flush what is queued at the end */
	size_t high_water; /* queued bytes past which a member is dropped */
};

/* options.c: fills @o from the command line. Returns -1 to run, or the
 * exit status to leave with (0 after --help, 2 after an error, which it
 * has printed). */
int chat_options_parse(struct chat_options *o, int argc, char **argv);

struct chat_room;
struct chat_server;

/* One client: the task's future (conn.c) and its links in the server's
 * lists (server.c). */
struct chat_conn {
	struct evfut_future base;
	struct chat_server *server;
	int fd;
	unsigned stage;    /* how far the first poll got (conn.c) */
	unsigned stopping; /* the server shuts down: flush, then close */
	unsigned dropped;  /* too slow a reader: close at once */
	unsigned flushing;
	unsigned lines_read; /* since the idle deadline last moved */
	unsigned long id;
	struct chat_room *room; /* NULL: in no room */
	struct chat_conn *room_prev, *room_next;
	struct chat_conn *prev, *next; /* in the server's connections */
	char prefix[24]; /* "<id> ", what its messages start with */
	size_t prefix_len;
	size_t batch_len;
	char batch[4096]; /* messages of the lines read in one poll */
	struct evfut_io io;
	struct evfut_reader reader;
	struct evfut_writer writer;
	struct evfut_notify kick; /* stopping or dropped was set */
	/* The children of the wait set: the next line, the writer's
	 * background drive (done only on a write error), the kick. */
	struct evfut_read_op line;
	struct evfut_write_op drive;
	struct evfut_notified kicked;
	struct evfut_future *children[3];
	struct evfut_wait_set set;
	struct evfut_write_op flush; /* the last: what is queued goes out */
};

/* What the connections share; it outlives them. */
struct chat_server {
	const struct chat_options *options;
	struct chat_room **buckets; /* the rooms by name, ROOM_BUCKETS */
	struct chat_conn *conns;
	unsigned long next_id;
	unsigned live;     /* connection tasks spawned and not dropped yet */
	unsigned stopping; /* set by chat_server_stop() */
	struct evfut_notify all_gone; /* the last connection was dropped */
};

/* server.c */
int chat_server_init(struct chat_server *s, const struct chat_options *o);
void chat_server_finish(struct chat_server *s);
/* Gives @c its id and links it; chat_server_detach() unlinks it. */
void chat_server_attach(struct chat_server *s, struct chat_conn *c);
void chat_server_detach(struct chat_conn *c);
/* Kicks every connection to flush and close. */
void chat_server_stop(struct chat_server *s);
/* Moves @c to the room @name (validated here). 0; -EINVAL for a bad
 * name; -ENOMEM. */
int chat_room_join(struct chat_conn *c, const char *name, size_t len);
void chat_room_leave(struct chat_conn *c);
/* Queues @line (@len bytes, '\n' ended) to every other member of @from's
 * room; a member above the high watermark is dropped instead. */
void chat_room_send(struct chat_conn *from, const char *line, size_t len);
/* Takes @c out of its room and kicks it to close at once. */
void chat_conn_drop(struct chat_conn *c);

/* conn.c: spawns the task of the client on @fd (closed on failure). */
void chat_conn_spawn(struct chat_server *s, int fd, struct evfut_context *cx);

#endif /* CHAT_H */
