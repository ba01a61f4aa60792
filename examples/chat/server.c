/*
 * server.c: rooms, their members, and the list of connections that a
 * shutdown walks. Everything here runs on the runtime's thread, between
 * two polls: a member is linked, unlinked and written to by other
 * connections' tasks without a lock.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"

#define ROOM_BUCKETS 256

struct chat_room {
	struct chat_room *next; /* in its bucket */
	struct chat_conn *members;
	size_t len;
	char name[CHAT_MAX_ROOM];
};

int
chat_server_init(struct chat_server *s, const struct chat_options *o)
{
	*s = (struct chat_server){.options = o, .next_id = 1};
	s->buckets = calloc(ROOM_BUCKETS, sizeof *s->buckets);
	if (s->buckets == NULL)
		return -ENOMEM;
	evfut_notify_init(&s->all_gone);
	return 0;
}

/* Every connection is gone, so every room was freed with its last member. */
void
chat_server_finish(struct chat_server *s)
{
	free(s->buckets);
	evfut_notify_finish(&s->all_gone);
}

void
chat_server_attach(struct chat_server *s, struct chat_conn *c)
{
	c->server = s;
	c->id = s->next_id++;
	c->prefix_len =
	        (size_t)snprintf(c->prefix, sizeof c->prefix, "%lu ", c->id);
	c->prev = NULL;
	c->next = s->conns;
	if (s->conns != NULL)
		s->conns->prev = c;
	s->conns = c;
}

void
chat_server_detach(struct chat_conn *c)
{
	struct chat_server *s = c->server;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
}

void
chat_server_stop(struct chat_server *s)
{
	struct chat_conn *c;

	s->stopping = 1;
	for (c = s->conns; c != NULL; c = c->next) {
		c->stopping = 1;
		evfut_notify_one(&c->kick);
	}
}

static unsigned
hash(const char *name, size_t len)
{
	unsigned h = 2166136261u; /* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 16777619u;
	return h % ROOM_BUCKETS;
}

static int
valid_name(const char *name, size_t len)
{
	size_t i;

	if (len < 1 || len > CHAT_MAX_ROOM)
		return 0;
	for (i = 0; i < len; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

/* The room @name, created when missing; NULL when out of memory. */
static struct chat_room *
room_get(struct chat_server *s, const char *name, size_t len)
{
	struct chat_room **bucket = &s->buckets[hash(name, len)], *r;

	for (r = *bucket; r != NULL; r = r->next)
		if (r->len == len && memcmp(r->name, name, len) == 0)
			return r;
	r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	memcpy(r->name, name, len);
	r->len = len;
	r->next = *bucket;
	*bucket = r;
	return r;
}

/* Frees @r, which has no member left. */
static void
room_free(struct chat_server *s, struct chat_room *r)
{
	struct chat_room **p = &s->buckets[hash(r->name, r->len)];

	while (*p != r)
		p = &(*p)->next;
	*p = r->next;
	free(r);
}

int
chat_room_join(struct chat_conn *c, const char *name, size_t len)
{
	struct chat_room *r;

	if (!valid_name(name, len))
		return -EINVAL;
	r = room_get(c->server, name, len);
	if (r == NULL)
		return -ENOMEM;
	if (r == c->room)
		return 0;
	chat_room_leave(c);
	c->room = r;
	c->room_prev = NULL;
	c->room_next = r->members;
	if (r->members != NULL)
		r->members->room_prev = c;
	r->members = c;
	return 0;
}

void
chat_room_leave(struct chat_conn *c)
{
	struct chat_room *r = c->room;

	if (r == NULL)
		return;
	if (c->room_prev != NULL)
		c->room_prev->room_next = c->room_next;
	else
		r->members = c->room_next;
	if (c->room_next != NULL)
		c->room_next->room_prev = c->room_prev;
	c->room = NULL;
	if (r->members == NULL)
		room_free(c->server, r);
}

void
chat_conn_drop(struct chat_conn *c)
{
	chat_room_leave(c);
	c->dropped = 1;
	evfut_notify_one(&c->kick);
}

/* [fanout] */
/* The line is copied into each member's queue, and the push wakes that
 * member's task: it writes everything queued for it in one writev when it
 * runs, whoever queued it. */
void
chat_room_send(struct chat_conn *from, const char *line, size_t len)
{
	size_t high = from->server->options->high_water;
	struct chat_conn *m, *next;

	for (m = from->room->members; m != NULL; m = next) {
		next = m->room_next; /* chat_conn_drop() unlinks m */
		if (m == from)
			continue;
		if (evfut_writer_unsent(&m->writer) > high ||
		    evfut_writer_push(&m->writer, line, len) < 0)
			chat_conn_drop(m);
	}
}
/* [fanout] */
