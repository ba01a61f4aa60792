/* Must not compile: an await outside EVFUT_ASYNC_BEGIN/END. */
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

	EVFUT_AWAIT(f->inner, cx);
	return EVFUT_READY;
}
