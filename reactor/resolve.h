/*
 * Private: name resolution shared by the lookup and connect futures.
 */
#ifndef EVFUT_REACTOR_RESOLVE_H
#define EVFUT_REACTOR_RESOLVE_H

/* The negative errno for getaddrinfo()'s @eai; @saved_errno is the errno
 * it left, read for EAI_SYSTEM (see the table in evfut/net.h). */
int evfut__gai_errno(int eai, int saved_errno);

#endif
