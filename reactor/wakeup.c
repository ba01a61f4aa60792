/*
 * The loop's wake-up descriptor. Reads and writes retry on EINTR; EAGAIN
 * means "already signalled" on write and "already consumed" on read.
 */
#if defined(__linux__) && !defined(EVFUT_WAKEUP_PIPE)
#define EVFUT_HAVE_EVENTFD 1
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>
#ifdef EVFUT_HAVE_EVENTFD
#include <sys/eventfd.h>
#endif

#include "wakeup.h"

static int
errno_or(int fallback)
{
	return errno > 0 ? -errno : -fallback;
}

#ifdef EVFUT_HAVE_EVENTFD
int
evfut__wakeup_open(struct evfut__wakeup *w)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	if (fd < 0)
		return errno_or(ENOMEM);
	w->read_fd = fd;
	w->write_fd = fd;
	return 0;
}

void
evfut__wakeup_close(struct evfut__wakeup *w)
{
	close(w->read_fd);
	w->read_fd = -1;
	w->write_fd = -1;
}

void
evfut__wakeup_signal(struct evfut__wakeup *w)
{
	uint64_t one = 1;

	while (write(w->write_fd, &one, sizeof one) < 0 && errno == EINTR)
		;
}

void
evfut__wakeup_consume(struct evfut__wakeup *w)
{
	uint64_t count;

	while (read(w->read_fd, &count, sizeof count) < 0 && errno == EINTR)
		;
}
#else
int
evfut__wakeup_open(struct evfut__wakeup *w)
{
	int fds[2];

	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
		return errno_or(ENOMEM);
	w->read_fd = fds[0];
	w->write_fd = fds[1];
	return 0;
}

void
evfut__wakeup_close(struct evfut__wakeup *w)
{
	close(w->read_fd);
	close(w->write_fd);
	w->read_fd = -1;
	w->write_fd = -1;
}

void
evfut__wakeup_signal(struct evfut__wakeup *w)
{
	char byte = 1;

	/* A full pipe is a pending signal already: EAGAIN is fine. */
	while (write(w->write_fd, &byte, 1) < 0 && errno == EINTR)
		;
}

void
evfut__wakeup_consume(struct evfut__wakeup *w)
{
	char buf[64];
	ssize_t n;

	do
		n = read(w->read_fd, buf, sizeof buf);
	while (n > 0 || (n < 0 && errno == EINTR));
}
#endif
