/*
 * <time.h> for libneutrino: the system's, with timer_create, timer_settime, timer_gettime,
 * timer_getoverrun and timer_delete redirected to libneutrino (asm labels, through glibc's
 * own __REDIRECT_NTH), so that they accept QNX's SIGEV_PULSE events and the other QNX
 * notify types. glibc's own notify types are passed to glibc unchanged; only code
 * compiled with this overlay is redirected, nothing is interposed process-wide.
 */
#if defined(__GNUC__)
#pragma GCC system_header /* #include_next is an extension -pedantic would flag */
#endif
#include_next <time.h>

#if !defined(_NEUTRINO_TIME_H) && defined(__USE_POSIX199309) && !defined(__USE_TIME_BITS64)
#define _NEUTRINO_TIME_H

__BEGIN_DECLS
extern int __REDIRECT_NTH(timer_create, (clockid_t __clock_id, struct sigevent *__restrict __evp,
                                         timer_t *__restrict __timerid),
                          __libneutrino_timer_create);
extern int __REDIRECT_NTH(timer_delete, (timer_t __timerid), __libneutrino_timer_delete);
extern int __REDIRECT_NTH(timer_settime, (timer_t __timerid, int __flags,
                                          const struct itimerspec *__restrict __value,
                                          struct itimerspec *__restrict __ovalue),
                          __libneutrino_timer_settime);
extern int __REDIRECT_NTH(timer_gettime, (timer_t __timerid, struct itimerspec *__value),
                          __libneutrino_timer_gettime);
extern int __REDIRECT_NTH(timer_getoverrun, (timer_t __timerid), __libneutrino_timer_getoverrun);
/* timer_settime() flags QNX adds (QNX's values): TIMER_TOLERANCE sets the lateness the
 * timer may have instead of arming it; TIMER_PRECISE asks for none.  Linux fires timers
 * as early as it can, so a tolerance is accepted and the tolerance reported is 0. */
#define TIMER_TOLERANCE 0x40000000
#define TIMER_PRECISE 0x20000000

/* QNX 8.0: a clock's time in nanoseconds (clock_gettime_ns: 0, or -1 and errno). */
extern int __REDIRECT_NTH(clock_gettime_ns, (clockid_t __clock_id, __uint64_t *__now_ns),
                          __libneutrino_clock_gettime_ns);
extern __uint64_t __REDIRECT_NTH(clock_gettime_mon_ns, (void), __libneutrino_clock_gettime_mon_ns);
extern __uint64_t __REDIRECT_NTH(clock_gettime_rt_ns, (void), __libneutrino_clock_gettime_rt_ns);

/* QNX declares the kernel timeout's timespec form here (also in <sys/neutrino.h>). */
extern int timer_timeout(clockid_t __id, int __flags, const struct sigevent *__notify,
                         const struct timespec *__ntime, struct timespec *__otime);
__END_DECLS

#endif /* _NEUTRINO_TIME_H */
