/* Must compile: the body the compile-fail files get wrong. */
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

	EVFUT_ASYNC_BEGIN(f->resume);
	EVFUT_AWAIT(f->inner, cx);
	EVFUT_AWAIT(f->inner, cx);
	EVFUT_ASYNC_END();
}
