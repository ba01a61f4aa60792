/* Must not compile: EVFUT_ASYNC_END without EVFUT_ASYNC_BEGIN. */
#include "evfut/async.h"

struct f {
	struct evfut_future base;
	unsigned resume;
	struct evfut_future *inner;
};

enum evfut_poll
f_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct f *f = evfut_container_of(self, struct f, base);

	(void)cx;
	(void)f;
	EVFUT_ASYNC_END();
}
