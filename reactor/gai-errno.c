/*
 * getaddrinfo() errors as negative errno values, the table in evfut/net.h.
 */
#include <errno.h>
#include <netdb.h>

#include "resolve.h"

int
evfut__gai_errno(int eai, int saved_errno)
{
	switch (eai) {
	case 0:
		return 0;
	case EAI_NONAME:
	case EAI_SERVICE: /* glibc's answer to an unknown service name too */
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
	case EAI_ADDRFAMILY:
#endif
		return -ENOENT;
	case EAI_AGAIN:
		return -EAGAIN;
	case EAI_FAIL:
		return -EIO;
	case EAI_MEMORY:
		return -ENOMEM;
	case EAI_FAMILY:
		return -EAFNOSUPPORT;
	case EAI_SOCKTYPE:
		return -ESOCKTNOSUPPORT;
	case EAI_BADFLAGS:
		return -EINVAL;
	case EAI_OVERFLOW:
		return -EOVERFLOW;
	case EAI_SYSTEM:
		return saved_errno > 0 ? -saved_errno : -EIO;
	default:
		return -EIO;
	}
}
