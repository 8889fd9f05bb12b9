/*
 * <sys/neutrino.h> for libneutrino: QNX Neutrino's native IPC on Linux (QNX 7.1, 64-bit).
 *
 * This file holds the hand-written parts: types and function-like macros. The constants,
 * structures and prototypes are generated from the library's Rust exports into
 * <sys/neutrino_api.h>, included at the end.
 */
#ifndef _NEUTRINO_SYS_NEUTRINO_H
#define _NEUTRINO_SYS_NEUTRINO_H

/* QNX's <sys/neutrino.h> brings <sys/types.h>, <signal.h>, <sched.h>, <time.h> and
 * <limits.h> with it; programs rely on that (INT_MAX, struct sched_param, ...). */
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <sched.h>
#include <sys/siginfo.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <errno.h>
#include <sys/netmgr.h>

#define _NTO_VERSION 710

/* QNX's fixed-width type names (from <sys/platform.h>/<sys/target_nto.h>). */
#ifndef _NEUTRINO_FIXED_TYPES
#define _NEUTRINO_FIXED_TYPES
typedef int8_t _Int8t;
typedef uint8_t _Uint8t;
typedef int16_t _Int16t;
typedef uint16_t _Uint16t;
typedef int32_t _Int32t;
typedef uint32_t _Uint32t;
typedef int64_t _Int64t;
typedef uint64_t _Uint64t;
typedef intptr_t _Intptrt;
typedef uintptr_t _Uintptrt;
typedef size_t _Sizet;
typedef ssize_t _Ssizet;
#endif

/* An IOV is Linux's struct iovec: the layouts are identical. */
typedef struct iovec iov_t;

#ifndef SETIOV
#define SETIOV(_iov, _addr, _len) \
    ((_iov)->iov_base = (void *)(_addr), (_iov)->iov_len = (size_t)(_len))
#endif
#ifndef GETIOVBASE
#define GETIOVBASE(_iov) ((_iov)->iov_base)
#endif
#ifndef GETIOVLEN
#define GETIOVLEN(_iov) ((_iov)->iov_len)
#endif

/* ConnectServerInfo reports a struct _server_info, which is a struct _msg_info; QNX 7.1 and
 * 8.0 spell the 64-bit layout _msg_info64 (their _msg_info is a macro for it there). */
#define _server_info _msg_info
#define _msg_info64 _msg_info

#include <sys/neutrino_api.h>

#endif /* _NEUTRINO_SYS_NEUTRINO_H */
