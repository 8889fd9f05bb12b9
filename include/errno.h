/* <errno.h> overlay for libneutrino: the system's errno.h plus QNX's EOK and the QNX-only
 * error numbers (values as on QNX; they do not collide with Linux's). */
#if defined(__GNUC__)
#pragma GCC system_header /* #include_next is an extension -pedantic would flag */
#endif
#include_next <errno.h>

#ifndef _NEUTRINO_ERRNO_H
#define _NEUTRINO_ERRNO_H

#ifndef EOK
#define EOK 0
#endif
#define ENOREMOTE 300
#define EBADFSYS 302
#define EMORE 309
#define ESRVRFAULT 312

#endif /* _NEUTRINO_ERRNO_H */
