/*
 * <sched.h> for libneutrino: the system's, with sched_setscheduler and sched_setparam
 * redirected (asm labels) to wrappers that tell the library a thread's priority may have
 * changed: it caches each thread's priority, which its messages carry. Adds QNX's
 * getprio() and setprio() (QNX priorities, as SchedGet/SchedSet give them).
 */
#if defined(__GNUC__)
#pragma GCC system_header /* #include_next is an extension -pedantic would flag */
#endif
#include_next <sched.h>

#ifndef _NEUTRINO_SCHED_H
#define _NEUTRINO_SCHED_H

#ifdef __cplusplus
extern "C" {
#endif
extern int __REDIRECT_NTH(sched_setparam, (__pid_t __pid, const struct sched_param *__param),
                          __libneutrino_sched_setparam);
extern int __REDIRECT_NTH(sched_setscheduler,
                          (__pid_t __pid, int __policy, const struct sched_param *__param),
                          __libneutrino_sched_setscheduler);
extern int getprio(__pid_t __pid);
extern int setprio(__pid_t __pid, int __prio);
#ifdef __cplusplus
}
#endif

#endif /* _NEUTRINO_SCHED_H */
