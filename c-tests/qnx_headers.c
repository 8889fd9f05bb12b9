/*
 * qnx_headers.c - what QNX programs take from QNX's headers without including anything
 * else: the names <sys/neutrino.h>, <sys/dispatch.h> and <sys/iomsg.h> bring with them,
 * union sigval's sival_long whichever system header comes first, <atomic.h>, and every
 * SIGEV_*_INIT macro of <sys/siginfo.h>.
 *
 * Compiled and run as C (gnu11) and as C++ (gnu++17), with -Wall -Wextra -Werror, by
 * run.sh; no feature-test macro is defined, as in most QNX programs.  Prints
 * `<program>: N passed, N failed`.
 */
#include <signal.h> /* glibc's union sigval first: it must still have sival_long */
#include <sys/dispatch.h>
#include <sys/iofunc.h>
#include <sys/siginfo.h>
#include <atomic.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
#define SA(cond, msg) static_assert(cond, msg)
#else
#define SA(cond, msg) _Static_assert(cond, msg)
#endif

/* union sigval: glibc's size and alignment, all three members the same word. */
SA(sizeof(union sigval) == 8, "union sigval stays 8 bytes");
SA(__alignof__(union sigval) == 8, "union sigval stays 8-aligned");
SA(offsetof(union sigval, sival_long) == 0, "sival_long overlays sival_ptr");
SA(sizeof(((struct _pulse *)0)->value.sival_long) == sizeof(long), "_pulse value has sival_long");
SA(sizeof(struct _pulse) == 24, "struct _pulse unchanged");
SA(sizeof(struct _msg_info64) == sizeof(struct _msg_info), "_msg_info64 is _msg_info");

/* Names QNX's <sys/neutrino.h> (<limits.h>, <sched.h>), <sys/dispatch.h> (<fcntl.h>,
 * hence <unistd.h> and <sys/stat.h>) and <sys/iomsg.h> (<sys/statvfs.h>, <utime.h>) bring. */
SA(INT_MAX > 0 && PATH_MAX > 0, "<limits.h> came with <sys/neutrino.h>");
SA(sizeof(struct sched_param) > 0, "<sched.h> came with <sys/neutrino.h>");
SA(STDOUT_FILENO == 1, "<unistd.h> came with <sys/dispatch.h>");
SA(sizeof(struct stat) > 0 && sizeof(struct statvfs) > 0 && sizeof(struct utimbuf) > 0,
   "<sys/stat.h>, <sys/statvfs.h> and <utime.h> came with <sys/iomsg.h>");
SA(sizeof(io_pulse_t) == sizeof(struct _pulse), "<sys/resmgr.h>'s io_pulse_t");

#include "cxx_harness.h"

static struct sigevent fresh(void)
{
    struct sigevent ev;
    memset(&ev, 0x5a, sizeof ev);
    return ev;
}

static void t_sival_long(void)
{
    struct _pulse p;
    memset(&p, 0, sizeof p);
    p.value.sival_long = -2L;
    RCHECK(p.value.sival_long == -2L);
    RCHECK(p.value.sival_ptr == (void *)(intptr_t)-2);
    p.value.sival_int = 7;
    RCHECK((int)p.value.sival_long == 7);
}

static void t_sigev_none_unblock_intr(void)
{
    struct sigevent ev = fresh();
    SIGEV_NONE_INIT(&ev);
    RCHECK(ev.sigev_notify == SIGEV_NONE);
    SIGEV_UNBLOCK_INIT(&ev);
    RCHECK(ev.sigev_notify == SIGEV_UNBLOCK);
    SIGEV_INTR_INIT(&ev);
    RCHECK(ev.sigev_notify == SIGEV_INTR);
}

static void t_sigev_signal(void)
{
    int x = 0;
    struct sigevent ev = fresh();
    SIGEV_SIGNAL_INIT(&ev, SIGUSR1);
    RCHECK(ev.sigev_notify == SIGEV_SIGNAL && ev.sigev_signo == SIGUSR1);
    ev = fresh();
    SIGEV_SIGNAL_VALUE_INIT(&ev, SIGUSR2, &x);
    RCHECK(ev.sigev_notify == SIGEV_SIGNAL && ev.sigev_signo == SIGUSR2);
    RCHECK(ev.sigev_value.sival_ptr == &x);
    ev = fresh();
    SIGEV_SIGNAL_VALUE_PTR_INIT(&ev, SIGUSR2, &x);
    RCHECK(ev.sigev_value.sival_ptr == &x);
    ev = fresh();
    SIGEV_SIGNAL_VALUE_INT_INIT(&ev, SIGUSR1, -5);
    RCHECK(ev.sigev_notify == (SIGEV_SIGNAL | SIGEV_FLAG_SIVAL_INT));
    RCHECK(SIGEV_GET_TYPE(&ev) == SIGEV_SIGNAL && ev.sigev_value.sival_int == -5);
}

static void t_sigev_signal_code_thread(void)
{
    int x = 0;
    struct sigevent ev = fresh();
    SIGEV_SIGNAL_CODE_INIT(&ev, SIGUSR1, &x, 3);
    RCHECK(ev.sigev_notify == SIGEV_SIGNAL_CODE && ev.sigev_signo == SIGUSR1);
    RCHECK(ev.sigev_value.sival_ptr == &x && ev.sigev_code == 3);
    ev = fresh();
    SIGEV_SIGNAL_CODE_PTR_INIT(&ev, SIGUSR1, &x, 4);
    RCHECK(ev.sigev_value.sival_ptr == &x && ev.sigev_code == 4);
    ev = fresh();
    SIGEV_SIGNAL_CODE_INT_INIT(&ev, SIGUSR2, 9, 5);
    RCHECK(ev.sigev_notify == (SIGEV_SIGNAL_CODE | SIGEV_FLAG_SIVAL_INT));
    RCHECK(ev.sigev_value.sival_int == 9 && ev.sigev_code == 5 && ev.sigev_signo == SIGUSR2);
    ev = fresh();
    SIGEV_SIGNAL_THREAD_INIT(&ev, SIGUSR1, 0, 6);
    RCHECK(ev.sigev_notify == SIGEV_SIGNAL_THREAD && ev.sigev_value.sival_ptr == NULL);
    RCHECK(ev.sigev_code == 6 && ev.sigev_signo == SIGUSR1);
}

static void t_sigev_pulse(void)
{
    int x = 0;
    struct sigevent ev = fresh();
    SIGEV_PULSE_INIT(&ev, 3, SIGEV_PULSE_PRIO_INHERIT, _PULSE_CODE_MINAVAIL, &x);
    RCHECK(ev.sigev_notify == SIGEV_PULSE && ev.sigev_coid == 3);
    RCHECK(ev.sigev_priority == SIGEV_PULSE_PRIO_INHERIT && ev.sigev_code == _PULSE_CODE_MINAVAIL);
    RCHECK(ev.sigev_value.sival_ptr == &x);
    ev = fresh();
    SIGEV_PULSE_PTR_INIT(&ev, 4, 10, 1, &x);
    RCHECK(ev.sigev_coid == 4 && ev.sigev_priority == 10 && ev.sigev_value.sival_ptr == &x);
    ev = fresh();
    SIGEV_PULSE_INT_INIT(&ev, 5, 11, 2, 1234);
    RCHECK(ev.sigev_notify == (SIGEV_PULSE | SIGEV_FLAG_SIVAL_INT) && ev.sigev_coid == 5);
    RCHECK(ev.sigev_value.sival_int == 1234 && ev.sigev_code == 2 && ev.sigev_priority == 11);
}

static void notify_fn(union sigval v)
{
    (void)v;
}

static void t_sigev_thread(void)
{
    int x = 0;
    pthread_attr_t attr;
    struct sigevent ev = fresh();
    SIGEV_THREAD_INIT(&ev, notify_fn, &x, &attr);
    RCHECK(ev.sigev_notify == SIGEV_THREAD && ev.sigev_notify_function == notify_fn);
    RCHECK(ev.sigev_value.sival_ptr == &x && ev.sigev_notify_attributes == &attr);
    ev = fresh();
    SIGEV_THREAD_INIT(&ev, notify_fn, 0, NULL);
    RCHECK(ev.sigev_value.sival_ptr == NULL && ev.sigev_notify_attributes == NULL);
}

static void t_sigev_flags(void)
{
    struct sigevent ev = fresh();
    SIGEV_UNBLOCK_INIT(&ev);
    SIGEV_MAKE_UPDATEABLE(&ev);
    SIGEV_MAKE_CRITICAL(&ev);
    RCHECK(SIGEV_GET_TYPE(&ev) == SIGEV_UNBLOCK);
    RCHECK((ev.sigev_notify & (SIGEV_FLAG_UPDATEABLE | SIGEV_FLAG_CRITICAL)) ==
           (SIGEV_FLAG_UPDATEABLE | SIGEV_FLAG_CRITICAL));
    SIGEV_CLEAR_UPDATEABLE(&ev);
    SIGEV_CLEAR_CRITICAL(&ev);
    RCHECK(ev.sigev_notify == SIGEV_UNBLOCK);
}

static void t_atomics(void)
{
    volatile unsigned v = 10;
    atomic_add(&v, 5);
    RCHECK(v == 15);
    atomic_sub(&v, 3);
    RCHECK(v == 12);
    atomic_set(&v, 0x100);
    RCHECK(v == 0x10c);
    atomic_clr(&v, 0x104);
    RCHECK(v == 0x8);
    atomic_toggle(&v, 0x9);
    RCHECK(v == 0x1);
    /* The _value forms return the value before the operation. */
    RCHECK(atomic_add_value(&v, 4) == 1 && v == 5);
    RCHECK(atomic_sub_value(&v, 6) == 5 && v == 0xffffffffu); /* wraps as unsigned */
    RCHECK(atomic_clr_value(&v, 0xffff0000u) == 0xffffffffu && v == 0xffff);
    RCHECK(atomic_set_value(&v, 0x10000) == 0xffff && v == 0x1ffff);
    RCHECK(atomic_toggle_value(&v, 0x3) == 0x1ffff && v == 0x1fffc);
}

int main(int argc, char **argv)
{
    (void)argc;
    run("qnx_headers_sival_long", t_sival_long);
    run("qnx_headers_sigev_none_unblock_intr_init", t_sigev_none_unblock_intr);
    run("qnx_headers_sigev_signal_inits", t_sigev_signal);
    run("qnx_headers_sigev_signal_code_and_thread_inits", t_sigev_signal_code_thread);
    run("qnx_headers_sigev_pulse_inits", t_sigev_pulse);
    run("qnx_headers_sigev_thread_init", t_sigev_thread);
    run("qnx_headers_sigev_flag_macros", t_sigev_flags);
    run("qnx_headers_atomics", t_atomics);
    return summary(argv[0]);
}
