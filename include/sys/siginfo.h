/*
 * <sys/siginfo.h> for libneutrino: QNX's sigevent notify types, flags and macros on top of
 * glibc's struct sigevent.
 *
 * glibc's struct (64 bytes) keeps its own members and values: SIGEV_SIGNAL, SIGEV_NONE and
 * SIGEV_THREAD are glibc's, so POSIX code (timer_create, mq_notify) is unaffected. QNX's
 * other notify types take the values QNX uses on 64-bit targets (0x80 | type), which glibc
 * never uses, and QNX's extra members live in the tail of glibc's padding, which glibc never
 * reads: sigev_coid/sigev_id, sigev_priority and sigev_code are ints there (QNX: two shorts),
 * so assignments and reads behave as on QNX.
 */
#ifndef _NEUTRINO_SYS_SIGINFO_H
#define _NEUTRINO_SYS_SIGINFO_H

#include <signal.h>
#include <stdint.h>

#define sigev_coid _sigev_un._pad[8]
#define sigev_id _sigev_un._pad[8]
#define sigev_priority _sigev_un._pad[9]
#define sigev_code _sigev_un._pad[10]
/* The registration a MsgRegisterEvent'ed event carries (with SIGEV_FLAG_HANDLE). */
#define __sigev_handle _sigev_un._pad[11]

#define SIGEV_64BIT 0x80
#define SIGEV_SIGNAL_CODE 0x82
#define SIGEV_SIGNAL_THREAD 0x83
#define SIGEV_PULSE 0x84
#define SIGEV_UNBLOCK 0x85
#define SIGEV_INTR 0x86

#define SIGEV_TYPE_MASK 0x000000ff
#define SIGEV_FLAG_CRITICAL 0x00000100
#define SIGEV_FLAG_OVERDRIVE 0x00000200
#define SIGEV_FLAG_UPDATEABLE 0x00000400
#define SIGEV_FLAG_SIVAL_INT 0x00000800
#define SIGEV_FLAG_NOQUEUE 0x00001000
#define SIGEV_FLAG_HANDLE 0x00002000
#define SIGEV_FLAG_CODE_UPDATEABLE 0x00004000
#define SIGEV_INVALID_HANDLE 0xffffffffu
#define SIGEV_PULSE_PRIO_INHERIT (-1)

#define SIGEV_GET_TYPE(__e) ((__e)->sigev_notify & SIGEV_TYPE_MASK)
#define SIGEV_SET_TYPE(__e, __t) \
    ((__e)->sigev_notify = ((__e)->sigev_notify & ~SIGEV_TYPE_MASK) | ((__t) & SIGEV_TYPE_MASK))
#define SIGEV_GET_SIZE(__e) ((void)(__e), sizeof(struct sigevent))
#define __SIGEV_SETFLAG(__e, __f) ((__e)->sigev_notify |= (__f))
#define __SIGEV_CLEARFLAG(__e, __f) ((__e)->sigev_notify &= ~(__f))
#define SIGEV_MAKE_UPDATEABLE(__e) __SIGEV_SETFLAG(__e, SIGEV_FLAG_UPDATEABLE)
#define SIGEV_CLEAR_UPDATEABLE(__e) __SIGEV_CLEARFLAG(__e, SIGEV_FLAG_UPDATEABLE)
#define SIGEV_MAKE_CODE_UPDATEABLE(__e) __SIGEV_SETFLAG(__e, SIGEV_FLAG_CODE_UPDATEABLE)
#define SIGEV_CLEAR_CODE_UPDATEABLE(__e) __SIGEV_CLEARFLAG(__e, SIGEV_FLAG_CODE_UPDATEABLE)
#define SIGEV_MAKE_NOQUEUE(__e) __SIGEV_SETFLAG(__e, SIGEV_FLAG_NOQUEUE)
#define SIGEV_CLEAR_NOQUEUE(__e) __SIGEV_CLEARFLAG(__e, SIGEV_FLAG_NOQUEUE)
#define SIGEV_MAKE_OVERDRIVE(__e) __SIGEV_SETFLAG(__e, SIGEV_FLAG_OVERDRIVE)
#define SIGEV_CLEAR_OVERDRIVE(__e) __SIGEV_CLEARFLAG(__e, SIGEV_FLAG_OVERDRIVE)
#define SIGEV_MAKE_CRITICAL(__e) __SIGEV_SETFLAG(__e, SIGEV_FLAG_CRITICAL)
#define SIGEV_CLEAR_CRITICAL(__e) __SIGEV_CLEARFLAG(__e, SIGEV_FLAG_CRITICAL)

/* Values travel as pointers (QNX 7 casts through _Uintptrt); the _INT_ forms store an int. */
#define __SIGEV_PTR(__v) ((void *)(uintptr_t)(__v))

#define SIGEV_NONE_INIT(__e) ((__e)->sigev_notify = SIGEV_NONE)
#define SIGEV_SIGNAL_INIT(__e, __s) ((__e)->sigev_notify = SIGEV_SIGNAL, (__e)->sigev_signo = (__s))
#define SIGEV_SIGNAL_VALUE_INIT(__e, __s, __v) \
    (SIGEV_SIGNAL_INIT(__e, __s), (__e)->sigev_value.sival_ptr = __SIGEV_PTR(__v))
#define SIGEV_SIGNAL_VALUE_PTR_INIT(__e, __s, __v) SIGEV_SIGNAL_VALUE_INIT(__e, __s, __v)
#define SIGEV_SIGNAL_VALUE_INT_INIT(__e, __s, __v) \
    ((__e)->sigev_notify = SIGEV_SIGNAL | SIGEV_FLAG_SIVAL_INT, (__e)->sigev_signo = (__s), \
     (__e)->sigev_value.sival_int = (__v))
#define SIGEV_SIGNAL_CODE_INIT(__e, __s, __v, __c) \
    ((__e)->sigev_notify = SIGEV_SIGNAL_CODE, (__e)->sigev_signo = (__s), \
     (__e)->sigev_value.sival_ptr = __SIGEV_PTR(__v), (__e)->sigev_code = (__c))
#define SIGEV_SIGNAL_CODE_PTR_INIT(__e, __s, __v, __c) SIGEV_SIGNAL_CODE_INIT(__e, __s, __v, __c)
#define SIGEV_SIGNAL_CODE_INT_INIT(__e, __s, __v, __c) \
    ((__e)->sigev_notify = SIGEV_SIGNAL_CODE | SIGEV_FLAG_SIVAL_INT, (__e)->sigev_signo = (__s), \
     (__e)->sigev_value.sival_int = (__v), (__e)->sigev_code = (__c))
#define SIGEV_SIGNAL_THREAD_INIT(__e, __s, __v, __c) \
    ((__e)->sigev_notify = SIGEV_SIGNAL_THREAD, (__e)->sigev_signo = (__s), \
     (__e)->sigev_value.sival_ptr = __SIGEV_PTR(__v), (__e)->sigev_code = (__c))
#define SIGEV_PULSE_INIT(__e, __f, __p, __c, __v) \
    ((__e)->sigev_notify = SIGEV_PULSE, (__e)->sigev_coid = (__f), \
     (__e)->sigev_value.sival_ptr = __SIGEV_PTR(__v), (__e)->sigev_code = (__c), \
     (__e)->sigev_priority = (__p))
#define SIGEV_PULSE_PTR_INIT(__e, __f, __p, __c, __v) SIGEV_PULSE_INIT(__e, __f, __p, __c, __v)
#define SIGEV_PULSE_INT_INIT(__e, __f, __p, __c, __v) \
    ((__e)->sigev_notify = SIGEV_PULSE | SIGEV_FLAG_SIVAL_INT, (__e)->sigev_coid = (__f), \
     (__e)->sigev_value.sival_int = (__v), (__e)->sigev_code = (__c), (__e)->sigev_priority = (__p))
#define SIGEV_UNBLOCK_INIT(__e) ((__e)->sigev_notify = SIGEV_UNBLOCK)
#define SIGEV_INTR_INIT(__e) ((__e)->sigev_notify = SIGEV_INTR)
#define SIGEV_THREAD_INIT(__e, __f, __v, __a) \
    ((__e)->sigev_notify = SIGEV_THREAD, (__e)->sigev_notify_function = (__f), \
     (__e)->sigev_value.sival_ptr = __SIGEV_PTR(__v), (__e)->sigev_notify_attributes = (__a))

#endif /* _NEUTRINO_SYS_SIGINFO_H */
