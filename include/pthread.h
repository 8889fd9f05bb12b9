/*
 * <pthread.h> for libneutrino: the system's, with some calls redirected (an asm label, as
 * glibc does for its own redirects, with its __REDIRECT macros) to wrappers in the library:
 * - pthread_create: each new thread becomes known to the library first, so that its death
 *   is reported to an _NTO_CHF_THREAD_DEATH channel as on QNX. Threads created by code
 *   compiled without this overlay are reported only if they made a blocking call of ours.
 *   The thread-id pointer may be NULL, as on QNX.
 * - pthread_setschedparam, pthread_setschedprio: the library caches each thread's priority
 *   (a message's priority is its sender's) and learns here that it may have changed.
 */
#if defined(__GNUC__)
#pragma GCC system_header /* #include_next is an extension -pedantic would flag */
#endif
/* glibc declares pthread_create's thread-id pointer non-null; QNX accepts NULL, and QNX code
 * passes it. glibc's declaration is made under another name, so the one below is the only
 * pthread_create and carries no such attribute. */
#define pthread_create __libneutrino_glibc_pthread_create
#include_next <pthread.h>
#undef pthread_create

#ifndef _NEUTRINO_PTHREAD_H
#define _NEUTRINO_PTHREAD_H

#ifdef __cplusplus
extern "C" {
#endif
extern int __REDIRECT_NTHNL(pthread_create,
                            (pthread_t *__restrict __newthread, const pthread_attr_t *__restrict __attr,
                             void *(*__start)(void *), void *__restrict __arg),
                            __libneutrino_pthread_create);
extern int __REDIRECT_NTH(pthread_setschedparam,
                          (pthread_t __target_thread, int __policy, const struct sched_param *__param),
                          __libneutrino_pthread_setschedparam);
extern int __REDIRECT_NTH(pthread_setschedprio, (pthread_t __target_thread, int __prio),
                          __libneutrino_pthread_setschedprio);
#ifdef __cplusplus
}
#endif

#endif /* _NEUTRINO_PTHREAD_H */
