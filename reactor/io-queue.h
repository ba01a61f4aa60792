/*
 * Private: an I/O operation waits in its registration with its own waker,
 * one list per direction, so two operations on one direction both wake
 * and dropping one never silences the other.
 */
#ifndef EVFUT_REACTOR_IO_QUEUE_H
#define EVFUT_REACTOR_IO_QUEUE_H

#include "evfut/io.h"

/* Stores the waker of @cx in @op and queues @op in @direction (once). */
void evfut__io_queue(struct evfut_io_op *op, unsigned direction,
                     struct evfut_context *cx);
/* Takes @op out of its list; a no-op when it is not queued. */
void evfut__io_unqueue(struct evfut_io_op *op);

#endif
