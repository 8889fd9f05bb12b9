/* <unistd.h> overlay for libneutrino: the system's unistd.h plus QNX's delay(), eaccess()
 * declared as QNX declares it (glibc has it, declared under _GNU_SOURCE only), and
 * <process.h> (the spawn*() family), which QNX's <unistd.h> includes. */
#if defined(__GNUC__)
#pragma GCC system_header /* #include_next is an extension -pedantic would flag */
#endif
#include_next <unistd.h>

#ifndef _NEUTRINO_UNISTD_H
#define _NEUTRINO_UNISTD_H

#ifdef __cplusplus
extern "C" {
#endif

/* Suspends the calling thread for `duration` milliseconds.  Returns 0, or the milliseconds
 * left (rounded up) when a signal handler interrupted the sleep.  A cancellation point. */
unsigned int delay(unsigned int duration);

struct sigevent;
/* QNX's ionotify(): asks the resource manager behind `fd` (a descriptor of a path served by
 * libneutrino, or a coid) which of the _NOTIFY_COND_* `flags` hold, and with a *ARM action
 * to deliver `event` when one starts to.  Returns the conditions that hold, or -1 and
 * errno. */
int ionotify(int fd, int action, int flags, const struct sigevent *event);

#if defined(__USE_MISC) && !defined(__USE_GNU)
/* access() with the effective user and group ids. */
extern int eaccess(const char *__name, int __type) __THROW __nonnull((1));
#endif

#ifdef __cplusplus
}
#endif

#include <process.h>

#endif /* _NEUTRINO_UNISTD_H */
