/*
 * <pthread.h> for libneutrino: the system's, with pthread_create redirected (an asm label,
 * as glibc does for its own redirects) to a wrapper that makes each new thread known to the
 * library first, so that its death is reported to an _NTO_CHF_THREAD_DEATH channel as on
 * QNX. Threads created by code compiled without this overlay are reported only if they
 * made a blocking call of the library.
 */
#if defined(__GNUC__)
#pragma GCC system_header /* #include_next is an extension -pedantic would flag */
#endif
#include_next <pthread.h>

#ifndef _NEUTRINO_PTHREAD_H
#define _NEUTRINO_PTHREAD_H

#ifdef __cplusplus
extern "C" {
#endif
extern int pthread_create(pthread_t *__restrict __newthread, const pthread_attr_t *__restrict __attr,
                          void *(*__start)(void *), void *__restrict __arg)
    __asm__("__libneutrino_pthread_create");
#ifdef __cplusplus
}
#endif

#endif /* _NEUTRINO_PTHREAD_H */
