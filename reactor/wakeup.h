/*
 * Private: a file descriptor that another thread can make readable to wake
 * the event loop: an eventfd on Linux, a pipe elsewhere.
 */
#ifndef EVFUT_REACTOR_WAKEUP_H
#define EVFUT_REACTOR_WAKEUP_H

struct evfut__wakeup {
	int read_fd;  /* watched for readability by the loop */
	int write_fd; /* the same eventfd, or the pipe's write end */
};

/* 0, or -EMFILE/-ENFILE/-ENOMEM; both fds non-blocking and close-on-exec. */
int evfut__wakeup_open(struct evfut__wakeup *w);
void evfut__wakeup_close(struct evfut__wakeup *w);
/* Makes read_fd readable; async-signal-safe, any thread. */
void evfut__wakeup_signal(struct evfut__wakeup *w);
/* Makes read_fd unreadable again, whatever number of signals it had. */
void evfut__wakeup_consume(struct evfut__wakeup *w);

#endif
