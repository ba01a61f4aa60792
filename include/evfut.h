/*
 * evfut.h: futures, wakers, an executor and a reactor for C, on libevent.
 *
 * Include this header for the whole API, or one evfut/<module>.h for a part.
 */
#ifndef EVFUT_H
#define EVFUT_H

#include "evfut/version.h"
#include "evfut/common.h"
#include "evfut/alloc.h"
#include "evfut/waker.h"
#include "evfut/future.h"
#include "evfut/task.h"
#include "evfut/handle.h"
#include "evfut/runtime.h"
#include "evfut/timer.h"
#include "evfut/async.h"
#include "evfut/join.h"
#include "evfut/sync.h"
#include "evfut/channel.h"
#include "evfut/blocking.h"
#include "evfut/io.h"
#include "evfut/net.h"
#include "evfut/signal.h"
#include "evfut/stream.h"

#endif /* EVFUT_H */
