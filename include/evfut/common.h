/*
 * evfut/common.h: the export macro and helpers shared by every public header.
 */
#ifndef EVFUT_COMMON_H
#define EVFUT_COMMON_H

#include <stddef.h>

/** Marks a declaration exported from the library; the rest is hidden. */
#if defined(_WIN32)
#define EVFUT_API __declspec(dllexport)
#elif defined(__GNUC__)
#define EVFUT_API __attribute__((visibility("default")))
#else
#define EVFUT_API
#endif

/**
 * evfut_container_of() - the struct that embeds @p ptr as its @p member.
 *
 * Poll and drop functions receive the embedded `struct evfut_future`; an
 * implementation reaches its own struct with this macro.
 */
#define evfut_container_of(ptr, type, member)                                  \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#define EVFUT__STR2(x) #x
#define EVFUT__STR(x)  EVFUT__STR2(x)

/** The source location as a string literal, recorded where tasks spawn. */
#define EVFUT_HERE __FILE__ ":" EVFUT__STR(__LINE__)

#endif /* EVFUT_COMMON_H */
