/*
 * The no-op waker.
 */
#include "evfut/waker.h"

static struct evfut_waker noop_clone(const void *data);

static void
noop(const void *data)
{
	(void)data;
}

static const struct evfut_waker_vtable noop_vtable = {
        noop_clone,
        noop,
        noop,
        noop,
};

static struct evfut_waker
noop_clone(const void *data)
{
	struct evfut_waker waker = {data, &noop_vtable};

	return waker;
}

struct evfut_waker
evfut_waker_noop(void)
{
	return noop_clone(NULL);
}
