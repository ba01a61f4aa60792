/*
 * Signal futures on libevent's signal events.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include <event2/event.h>

#include "evfut/signal.h"

#include "runtime.h"

static enum evfut_poll signal_poll(struct evfut_future *self,
                                   struct evfut_context *cx);
static void signal_drop(struct evfut_future *self);

static void
on_signal(evutil_socket_t signo, short what, void *arg)
{
	struct evfut_signal *sig = arg;
	struct evfut_runtime *outer = evfut__current;
	size_t i;

	(void)what;
	for (i = 0; i < sig->count; i++) {
		if (sig->signals[i] == signo)
			sig->arrived[i]++;
	}
	evfut__current = sig->runtime;
	evfut_waker_wake_by_ref(&sig->waker);
	evfut__current = outer;
}

static int
valid_signal(int signo)
{
	return signo > 0 && signo < NSIG && signo != SIGKILL &&
	       signo != SIGSTOP;
}

/* Whether @signo is among the first @n of @signals. */
static int
listed(const int *signals, size_t n, int signo)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (signals[i] == signo)
			return 1;
	}
	return 0;
}

int
evfut_signal_init(struct evfut_signal *sig, struct evfut_runtime *rt,
                  const int *signals, size_t count)
{
	size_t i;

	if (sig == NULL || rt == NULL || signals == NULL || count == 0 ||
	    count > EVFUT_SIGNAL_MAX)
		return -EINVAL;
	for (i = 0; i < count; i++) {
		if (!valid_signal(signals[i]) || listed(signals, i, signals[i]))
			return -EINVAL;
	}
	memset(sig, 0, sizeof(*sig));
	sig->base.poll = signal_poll;
	sig->base.drop = signal_drop;
	sig->runtime = rt;
	for (i = 0; i < count; i++) {
		sig->signals[i] = signals[i];
		sig->events[i] =
		        evsignal_new(rt->base, signals[i], on_signal, sig);
		if (sig->events[i] == NULL ||
		    evsignal_add(sig->events[i], NULL) < 0)
			break;
		sig->count = i + 1;
	}
	if (sig->count == count)
		return 0;
	if (sig->events[sig->count] != NULL)
		event_free(sig->events[sig->count]);
	signal_drop(&sig->base);
	return -ENOMEM;
}

static enum evfut_poll
signal_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct evfut_signal *sig =
	        evfut_container_of(self, struct evfut_signal, base);
	size_t i;

	for (i = 0; i < sig->count; i++) {
		if (sig->arrived[i] > 0) {
			sig->arrived[i]--;
			sig->result = sig->signals[i];
			return EVFUT_READY;
		}
	}
	evfut_waker_store(&sig->waker, cx->waker);
	return EVFUT_PENDING;
}

static void
signal_drop(struct evfut_future *self)
{
	struct evfut_signal *sig =
	        evfut_container_of(self, struct evfut_signal, base);
	size_t i;

	for (i = 0; i < sig->count; i++)
		event_free(sig->events[i]);
	sig->count = 0;
	evfut_waker_drop(&sig->waker);
}
