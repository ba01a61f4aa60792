/* Must not compile: two awaits on one line (a duplicate case label). */
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
	/* clang-format off */
	EVFUT_AWAIT(f->inner, cx); EVFUT_AWAIT(f->inner, cx);
	/* clang-format on */
	EVFUT_ASYNC_END();
}
