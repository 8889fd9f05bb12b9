/*
 * layout.c - pins the ABI of the QNX headers: structure sizes and member offsets
 * (reference §2.1, §2.3 64-bit table, §2.4, §15), constant values (§1.1, §1.4, §2.3,
 * §4.1, §5.2, §6.2), the prototypes of the messaging calls (§5.1, §6.1, §6.3, §7), and the
 * SETIOV / GETIOVBASE / GETIOVLEN macros (§1.3).
 *
 * Compiles as C (gnu11 and later) and as C++ (gnu++17 and later).  Layout and values are
 * checked at compile time; the macros and the shape of the constant definitions at run
 * time.  Prints `<program>: N passed, N failed`.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <sys/neutrino.h>
#include <sys/netmgr.h>
#include <errno.h>
#include <process.h>
#include <sys/iofunc.h>
#include <sys/dispatch.h>
#include <devctl.h>

#include "cxx_harness.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
#define SA(cond, msg) static_assert(cond, msg)
#define TYPEOF(x) __typeof__(x)
#else
#define SA(cond, msg) _Static_assert(cond, msg)
#define TYPEOF(x) __typeof__(x)
#endif

#define MEMBER(type, m) (((type *)0)->m)
#define MSIZE(type, m) sizeof(MEMBER(type, m))
/* (T)((T)0 - 1) > 0 holds exactly for unsigned T (written so -Wtype-limits stays quiet). */
#define MUNSIGNED(type, m)                                                      \
    ((TYPEOF(MEMBER(type, m)))((TYPEOF(MEMBER(type, m)))0 - 1) > (TYPEOF(MEMBER(type, m)))0)
#define MSIGNED(type, m) (!MUNSIGNED(type, m))
#define OFF(type, m, o) SA(offsetof(type, m) == (o), "offsetof(" #type ", " #m ") == " #o)

/* ---------------------------------------------------------------------------------- */
/* struct _pulse (§2.1, 64-bit column)                                                 */

SA(sizeof(struct _pulse) == 24, "sizeof(struct _pulse) == 24");
SA(__alignof__(struct _pulse) == 8, "alignof(struct _pulse) == 8");
OFF(struct _pulse, type, 0);
OFF(struct _pulse, subtype, 2);
OFF(struct _pulse, code, 4);
OFF(struct _pulse, zero, 5);
OFF(struct _pulse, value, 8);
OFF(struct _pulse, scoid, 16);
SA(MSIZE(struct _pulse, type) == 2 && MUNSIGNED(struct _pulse, type), "_pulse.type is _Uint16t");
SA(MSIZE(struct _pulse, subtype) == 2, "_pulse.subtype is 16 bits");
SA(MSIZE(struct _pulse, code) == 1 && MSIGNED(struct _pulse, code), "_pulse.code is _Int8t");
SA(MSIZE(struct _pulse, zero) == 3, "_pulse.zero[3]");
SA(MSIZE(struct _pulse, value) == 8, "_pulse.value is a 64-bit union sigval");
SA(MSIZE(struct _pulse, scoid) == 4 && MSIGNED(struct _pulse, scoid), "_pulse.scoid _Int32t");
SA(sizeof(union sigval) == 8, "sizeof(union sigval) == 8");

/* ---------------------------------------------------------------------------------- */
/* struct _msg_info = _msg_info64 (§2.3)                                                */

SA(sizeof(struct _msg_info) == 64, "sizeof(struct _msg_info) == 64");
SA(__alignof__(struct _msg_info) == 8, "alignof(struct _msg_info) == 8");
OFF(struct _msg_info, nd, 0);
OFF(struct _msg_info, srcnd, 4);
OFF(struct _msg_info, pid, 8);
OFF(struct _msg_info, tid, 12);
OFF(struct _msg_info, chid, 16);
OFF(struct _msg_info, scoid, 20);
OFF(struct _msg_info, coid, 24);
OFF(struct _msg_info, priority, 28);
OFF(struct _msg_info, flags, 30);
OFF(struct _msg_info, msglen, 32);
OFF(struct _msg_info, srcmsglen, 40);
OFF(struct _msg_info, dstmsglen, 48);
OFF(struct _msg_info, type_id, 56);
OFF(struct _msg_info, reserved, 60);
SA(MSIZE(struct _msg_info, nd) == 4 && MUNSIGNED(struct _msg_info, nd), "nd is _Uint32t");
SA(MSIZE(struct _msg_info, srcnd) == 4 && MUNSIGNED(struct _msg_info, srcnd), "srcnd _Uint32t");
SA(MSIZE(struct _msg_info, pid) == sizeof(pid_t), "pid is pid_t");
SA(MSIZE(struct _msg_info, tid) == 4 && MSIGNED(struct _msg_info, tid), "tid is _Int32t");
SA(MSIZE(struct _msg_info, chid) == 4 && MSIGNED(struct _msg_info, chid), "chid is _Int32t");
SA(MSIZE(struct _msg_info, scoid) == 4 && MSIGNED(struct _msg_info, scoid), "scoid _Int32t");
SA(MSIZE(struct _msg_info, coid) == 4 && MSIGNED(struct _msg_info, coid), "coid is _Int32t");
SA(MSIZE(struct _msg_info, priority) == 2 && MSIGNED(struct _msg_info, priority),
   "priority is _Int16t");
SA(MSIZE(struct _msg_info, flags) == 2 && MSIGNED(struct _msg_info, flags), "flags is _Int16t");
SA(MSIZE(struct _msg_info, msglen) == 8 && MSIGNED(struct _msg_info, msglen),
   "msglen is _Ssize64t");
SA(MSIZE(struct _msg_info, srcmsglen) == 8 && MSIGNED(struct _msg_info, srcmsglen),
   "srcmsglen is _Ssize64t");
SA(MSIZE(struct _msg_info, dstmsglen) == 8 && MSIGNED(struct _msg_info, dstmsglen),
   "dstmsglen is _Ssize64t");
SA(MSIZE(struct _msg_info, type_id) == 4, "type_id is _Uint32t");
SA(MSIZE(struct _msg_info, reserved) == 4, "reserved is _Uint32t");
#ifdef _server_info
SA(sizeof(struct _server_info) == sizeof(struct _msg_info), "_server_info is _msg_info");
#endif

/* ---------------------------------------------------------------------------------- */
/* struct _cred_info / struct _client_info (§2.4)                                       */

SA(sizeof(struct _cred_info) == 60, "sizeof(struct _cred_info) == 60");
OFF(struct _cred_info, ruid, 0);
OFF(struct _cred_info, euid, 4);
OFF(struct _cred_info, suid, 8);
OFF(struct _cred_info, rgid, 12);
OFF(struct _cred_info, egid, 16);
OFF(struct _cred_info, sgid, 20);
OFF(struct _cred_info, ngroups, 24);
OFF(struct _cred_info, grouplist, 28);
SA(MSIZE(struct _cred_info, grouplist) == 8 * sizeof(gid_t), "grouplist[__NGROUPS_MAX = 8]");

SA(sizeof(struct _client_info) == 76, "sizeof(struct _client_info) == 76");
OFF(struct _client_info, nd, 0);
OFF(struct _client_info, pid, 4);
OFF(struct _client_info, sid, 8);
OFF(struct _client_info, flags, 12);
OFF(struct _client_info, cred, 16);

/* ---------------------------------------------------------------------------------- */
/* iov_t and rcvid_t (§1.3, §0)                                                         */

SA(sizeof(iov_t) == 16, "sizeof(iov_t) == 16");
OFF(iov_t, iov_base, 0);
OFF(iov_t, iov_len, 8);
SA(sizeof(rcvid_t) == 8, "rcvid_t is 64 bits (8.0 profile)");
SA((rcvid_t)-1 < 0, "rcvid_t is signed");

/* ---------------------------------------------------------------------------------- */
/* Constants                                                                            */

SA(_NTO_SIDE_CHANNEL == 0x40000000, "_NTO_SIDE_CHANNEL");
SA(ND_LOCAL_NODE == 0, "ND_LOCAL_NODE");
SA(EOK == 0, "EOK");

/* _NTO_CHF_* (§5.2): the ones common to all versions, then per-profile bits. */
SA(_NTO_CHF_FIXED_PRIORITY == 0x0001, "_NTO_CHF_FIXED_PRIORITY");
SA(_NTO_CHF_UNBLOCK == 0x0002, "_NTO_CHF_UNBLOCK");
SA(_NTO_CHF_THREAD_DEATH == 0x0004, "_NTO_CHF_THREAD_DEATH");
SA(_NTO_CHF_DISCONNECT == 0x0008, "_NTO_CHF_DISCONNECT");
SA(_NTO_CHF_NET_MSG == 0x0010, "_NTO_CHF_NET_MSG");
SA(_NTO_CHF_SENDER_LEN == 0x0020, "_NTO_CHF_SENDER_LEN");
SA(_NTO_CHF_COID_DISCONNECT == 0x0040, "_NTO_CHF_COID_DISCONNECT");
SA(_NTO_CHF_REPLY_LEN == 0x0080, "_NTO_CHF_REPLY_LEN");
SA(_NTO_CHF_GLOBAL == 0x0800, "_NTO_CHF_GLOBAL");
SA(_NTO_CHF_PRIVATE == 0x1000, "_NTO_CHF_PRIVATE");
SA(_NTO_CHF_MSG_PAUSING == 0x2000, "_NTO_CHF_MSG_PAUSING");
SA(_NTO_CHF_UNBLOCK_TIMER == 0x8000, "_NTO_CHF_UNBLOCK_TIMER");
#ifdef _NTO_CHF_STICKY
SA(_NTO_CHF_STICKY == 0x0100, "_NTO_CHF_STICKY");
#endif
#ifdef _NTO_CHF_PULSE_POOL
SA(_NTO_CHF_PULSE_POOL == 0x0100, "_NTO_CHF_PULSE_POOL");
#endif
#ifdef _NTO_CHF_ASYNC_NONBLOCK
SA(_NTO_CHF_ASYNC_NONBLOCK == 0x0200, "_NTO_CHF_ASYNC_NONBLOCK");
#endif
#ifdef _NTO_CHF_ASYNC
SA(_NTO_CHF_ASYNC == 0x0400, "_NTO_CHF_ASYNC");
#endif
#ifdef _NTO_CHF_SIG_RESTART
SA(_NTO_CHF_SIG_RESTART == 0x4000, "_NTO_CHF_SIG_RESTART");
#endif
#ifdef _NTO_CHF_INHERIT_RUNMASK
SA(_NTO_CHF_INHERIT_RUNMASK == 0x4000, "_NTO_CHF_INHERIT_RUNMASK");
#endif

/* _NTO_COF_* (§6.2) */
SA(_NTO_COF_CLOEXEC == 0x0001, "_NTO_COF_CLOEXEC");
SA(_NTO_COF_DEAD == 0x0002, "_NTO_COF_DEAD");
SA(_NTO_COF_NOSHARE == 0x0040, "_NTO_COF_NOSHARE");
SA(_NTO_COF_NOEVENT == 0x0800, "_NTO_COF_NOEVENT");
#ifdef _NTO_COF_NOINHERIT
SA(_NTO_COF_NOINHERIT == 0x0004, "_NTO_COF_NOINHERIT");
#endif
#ifdef _NTO_COF_LOCAL
SA(_NTO_COF_LOCAL == 0x0008, "_NTO_COF_LOCAL");
#endif
#ifdef _NTO_COF_NETCON
SA(_NTO_COF_NETCON == 0x0080, "_NTO_COF_NETCON");
#endif
#ifdef _NTO_COF_ALLOWED
SA(_NTO_COF_ALLOWED == 0x0080, "_NTO_COF_ALLOWED");
#endif
#ifdef _NTO_COF_NONBLOCK
SA(_NTO_COF_NONBLOCK == 0x0100, "_NTO_COF_NONBLOCK");
#endif
#ifdef _NTO_COF_ASYNC
SA(_NTO_COF_ASYNC == 0x0200, "_NTO_COF_ASYNC");
#endif
#ifdef _NTO_COF_GLOBAL
SA(_NTO_COF_GLOBAL == 0x0400, "_NTO_COF_GLOBAL");
#endif
#ifdef _NTO_COF_PIPE
SA(_NTO_COF_PIPE == 0x0400, "_NTO_COF_PIPE");
#endif
#ifdef _NTO_COF_INSECURE
SA(_NTO_COF_INSECURE == 0x1000, "_NTO_COF_INSECURE");
#endif
#ifdef _NTO_COF_REG_EVENTS
SA(_NTO_COF_REG_EVENTS == 0x2000, "_NTO_COF_REG_EVENTS");
#endif
#ifdef _NTO_COF_UNREG_EVENTS
SA(_NTO_COF_UNREG_EVENTS == 0x4000, "_NTO_COF_UNREG_EVENTS");
#endif
#ifdef _NTO_COF_DUP2
SA(_NTO_COF_DUP2 == 0x8000, "_NTO_COF_DUP2");
#endif
#ifdef _NTO_COF_MASK
SA(_NTO_COF_MASK == 0xFFFF, "_NTO_COF_MASK");
#endif

/* _NTO_MI_* (§2.3) */
SA(_NTO_MI_ENDIAN_BIG == 0x1, "_NTO_MI_ENDIAN_BIG");
SA(_NTO_MI_ENDIAN_DIFF == 0x2, "_NTO_MI_ENDIAN_DIFF");
SA(_NTO_MI_UNBLOCK_REQ == 0x100, "_NTO_MI_UNBLOCK_REQ");
SA(_NTO_MI_NET_CRED_DIRTY == 0x200, "_NTO_MI_NET_CRED_DIRTY");
SA(_NTO_MI_CHROOT == 0x800, "_NTO_MI_CHROOT");
SA(_NTO_MI_BITS_64 == 0x1000, "_NTO_MI_BITS_64");
SA(_NTO_MI_BITS_DIFF == 0x2000, "_NTO_MI_BITS_DIFF");
#ifdef _NTO_MI_CONSTRAINED
SA(_NTO_MI_CONSTRAINED == 0x400, "_NTO_MI_CONSTRAINED");
#endif
#ifdef _NTO_MI_SANDBOX
SA(_NTO_MI_SANDBOX == 0x4000, "_NTO_MI_SANDBOX");
#endif

/* _NTO_CI_* (§2.4), where defined */
#ifdef _NTO_CI_ENDIAN_BIG
SA(_NTO_CI_ENDIAN_BIG == 0x1, "_NTO_CI_ENDIAN_BIG");
#endif
#ifdef _NTO_CI_BKGND_PGRP
SA(_NTO_CI_BKGND_PGRP == 0x4, "_NTO_CI_BKGND_PGRP");
#endif
#ifdef _NTO_CI_ORPHAN_PGRP
SA(_NTO_CI_ORPHAN_PGRP == 0x8, "_NTO_CI_ORPHAN_PGRP");
#endif
#ifdef _NTO_CI_STOPPED
SA(_NTO_CI_STOPPED == 0x80, "_NTO_CI_STOPPED");
#endif
#ifdef _NTO_CI_UNABLE
SA(_NTO_CI_UNABLE == 0x100, "_NTO_CI_UNABLE");
#endif
#ifdef _NTO_CI_TYPE_ID
SA(_NTO_CI_TYPE_ID == 0x200, "_NTO_CI_TYPE_ID");
#endif
#ifdef _NTO_CI_CHROOT
SA(_NTO_CI_CHROOT == 0x800, "_NTO_CI_CHROOT");
#endif
#ifdef _NTO_CI_BITS_64
SA(_NTO_CI_BITS_64 == 0x1000, "_NTO_CI_BITS_64");
#endif
#ifdef _NTO_CI_SANDBOX
SA(_NTO_CI_SANDBOX == 0x4000, "_NTO_CI_SANDBOX");
#endif
#ifdef _NTO_CI_LOADER
SA(_NTO_CI_LOADER == 0x8000, "_NTO_CI_LOADER");
#endif
#ifdef _NTO_CI_FULL_GROUPS
SA(_NTO_CI_FULL_GROUPS == 0x80000000u, "_NTO_CI_FULL_GROUPS");
#endif

/* Pulses (§4.1) */
SA(_PULSE_TYPE == 0, "_PULSE_TYPE");
SA(_PULSE_SUBTYPE == 0, "_PULSE_SUBTYPE");
SA(_PULSE_CODE_UNBLOCK == -32, "_PULSE_CODE_UNBLOCK");
SA(_PULSE_CODE_DISCONNECT == -33, "_PULSE_CODE_DISCONNECT");
SA(_PULSE_CODE_THREADDEATH == -34, "_PULSE_CODE_THREADDEATH");
SA(_PULSE_CODE_COIDDEATH == -35, "_PULSE_CODE_COIDDEATH");
SA(_PULSE_CODE_NET_ACK == -36, "_PULSE_CODE_NET_ACK");
SA(_PULSE_CODE_NET_UNBLOCK == -37, "_PULSE_CODE_NET_UNBLOCK");
SA(_PULSE_CODE_NET_DETACH == -38, "_PULSE_CODE_NET_DETACH");
SA(_PULSE_CODE_RESTART == -39, "_PULSE_CODE_RESTART");
SA(_PULSE_CODE_NORESTART == -40, "_PULSE_CODE_NORESTART");
SA(_PULSE_CODE_UNBLOCK_RESTART == -41, "_PULSE_CODE_UNBLOCK_RESTART");
SA(_PULSE_CODE_UNBLOCK_TIMER == -42, "_PULSE_CODE_UNBLOCK_TIMER");
SA(_PULSE_CODE_MINAVAIL == 0, "_PULSE_CODE_MINAVAIL");
SA(_PULSE_CODE_MAXAVAIL == 127, "_PULSE_CODE_MAXAVAIL");
#ifdef _PULSE_CODE_PIPE_INPUT
SA(_PULSE_CODE_PIPE_INPUT == -43, "_PULSE_CODE_PIPE_INPUT");
#endif
#ifdef _PULSE_CODE_PIPE_OUTPUT
SA(_PULSE_CODE_PIPE_OUTPUT == -44, "_PULSE_CODE_PIPE_OUTPUT");
#endif

/* Timeout flags (§1.4): 1 << STATE_xxx */
SA(_NTO_TIMEOUT_SEND == 0x10, "_NTO_TIMEOUT_SEND");
SA(_NTO_TIMEOUT_RECEIVE == 0x20, "_NTO_TIMEOUT_RECEIVE");
SA(_NTO_TIMEOUT_REPLY == 0x40, "_NTO_TIMEOUT_REPLY");
SA(_NTO_TIMEOUT_SIGSUSPEND == (1 << 10), "_NTO_TIMEOUT_SIGSUSPEND");
SA(_NTO_TIMEOUT_SIGWAITINFO == (1 << 11), "_NTO_TIMEOUT_SIGWAITINFO");
SA(_NTO_TIMEOUT_NANOSLEEP == (1 << 12), "_NTO_TIMEOUT_NANOSLEEP");
SA(_NTO_TIMEOUT_MUTEX == (1 << 13), "_NTO_TIMEOUT_MUTEX");
SA(_NTO_TIMEOUT_CONDVAR == (1 << 14), "_NTO_TIMEOUT_CONDVAR");
SA(_NTO_TIMEOUT_JOIN == (1 << 15), "_NTO_TIMEOUT_JOIN");
SA(_NTO_TIMEOUT_INTR == (1 << 16), "_NTO_TIMEOUT_INTR");
SA(_NTO_TIMEOUT_SEM == (1 << 17), "_NTO_TIMEOUT_SEM");
SA(_NTO_TIMEOUT_MASK == (1 << 24) - 1, "_NTO_TIMEOUT_MASK");
SA(_NTO_TIMEOUT_ACTIVE == (1 << 24), "_NTO_TIMEOUT_ACTIVE");
#ifdef _NTO_TIMEOUT_IMMEDIATE
SA(_NTO_TIMEOUT_IMMEDIATE == (1 << 25), "_NTO_TIMEOUT_IMMEDIATE");
#endif
#ifdef _NTO_TIMEOUT_NO_WAIT
SA(_NTO_TIMEOUT_NO_WAIT == (1 << 25), "_NTO_TIMEOUT_NO_WAIT");
#endif

/* Identifier constants (§1.1), where defined */
#ifdef _NTO_GLOBAL_CHANNEL
SA(_NTO_GLOBAL_CHANNEL == 0x40000000, "_NTO_GLOBAL_CHANNEL");
#endif
#ifdef _NTO_CONNECTION_SCOID
SA(_NTO_CONNECTION_SCOID == 0x00010000, "_NTO_CONNECTION_SCOID");
#endif
#ifdef SYSMGR_PID
SA(SYSMGR_PID == 1, "SYSMGR_PID");
#endif
#ifdef SYSMGR_CHID
SA(SYSMGR_CHID == 1, "SYSMGR_CHID");
#endif
#ifdef SYSMGR_COID
SA(SYSMGR_COID == _NTO_SIDE_CHANNEL, "SYSMGR_COID");
#endif
#ifdef SYSMGR_HANDLE
SA(SYSMGR_HANDLE == 0, "SYSMGR_HANDLE");
#endif

/* QNX-only errno values exist (values may be QNX's or the library's own). */
SA(ENOREMOTE > 0 && ESRVRFAULT > 0 && EBADFSYS > 0 && EMORE > 0, "QNX errnos defined");

/* ---------------------------------------------------------------------------------- */
/* Prototypes (§0 7.x/8.0 column): assigning to exact pointer types fails to compile on
 * any mismatch.                                                                       */

typedef long (*send_fn)(int, const void *, size_t, void *, size_t);
typedef long (*sendv_fn)(int, const iov_t *, size_t, const iov_t *, size_t);
typedef long (*sendvs_fn)(int, const iov_t *, size_t, void *, size_t);
typedef long (*sendsv_fn)(int, const void *, size_t, const iov_t *, size_t);
typedef rcvid_t (*receive_fn)(int, void *, size_t, struct _msg_info *);
typedef rcvid_t (*receivev_fn)(int, const iov_t *, size_t, struct _msg_info *);
typedef int (*reply_fn)(rcvid_t, long, const void *, size_t);
typedef int (*replyv_fn)(rcvid_t, long, const iov_t *, size_t);
typedef int (*error_fn)(rcvid_t, int);
typedef ssize_t (*read_fn)(rcvid_t, void *, size_t, size_t);
typedef ssize_t (*readv_fn)(rcvid_t, const iov_t *, size_t, size_t);
typedef ssize_t (*write_fn)(rcvid_t, const void *, size_t, size_t);
typedef ssize_t (*writev_fn)(rcvid_t, const iov_t *, size_t, size_t);
typedef int (*info_fn)(rcvid_t, struct _msg_info *);
typedef int (*chcreate_fn)(unsigned);
typedef int (*chdestroy_fn)(int);
typedef int (*attach_fn)(uint32_t, pid_t, int, unsigned, int);
typedef int (*detach_fn)(int);

struct api {
    chcreate_fn chcreate[2];
    chdestroy_fn chdestroy[2];
    attach_fn attach[2];
    detach_fn detach[2];
    send_fn send[4];
    sendv_fn sendv[4];
    sendvs_fn sendvs[4];
    sendsv_fn sendsv[4];
    receive_fn receive[2];
    receivev_fn receivev[2];
    reply_fn reply[2];
    replyv_fn replyv[2];
    error_fn error[2];
    read_fn read[2];
    readv_fn readv[2];
    write_fn write[2];
    writev_fn writev[2];
    info_fn info[2];
};

static const struct api the_api = {
    {ChannelCreate, ChannelCreate_r},
    {ChannelDestroy, ChannelDestroy_r},
    {ConnectAttach, ConnectAttach_r},
    {ConnectDetach, ConnectDetach_r},
    {MsgSend, MsgSend_r, MsgSendnc, MsgSendnc_r},
    {MsgSendv, MsgSendv_r, MsgSendvnc, MsgSendvnc_r},
    {MsgSendvs, MsgSendvs_r, MsgSendvsnc, MsgSendvsnc_r},
    {MsgSendsv, MsgSendsv_r, MsgSendsvnc, MsgSendsvnc_r},
    {MsgReceive, MsgReceive_r},
    {MsgReceivev, MsgReceivev_r},
    {MsgReply, MsgReply_r},
    {MsgReplyv, MsgReplyv_r},
    {MsgError, MsgError_r},
    {MsgRead, MsgRead_r},
    {MsgReadv, MsgReadv_r},
    {MsgWrite, MsgWrite_r},
    {MsgWritev, MsgWritev_r},
    {MsgInfo, MsgInfo_r},
};

/* ---------------------------------------------------------------------------------- */
/* Run-time part                                                                        */

/* Everything above this point is checked by the compiler: reaching here means it held. */
static void t_static_asserts(void) {}

static void t_setiov_getiov(void)
{
    char buf[32];
    iov_t iov;
    SETIOV(&iov, buf, sizeof buf);
    RCHECK(GETIOVBASE(&iov) == (void *)buf);
    RCHECK(GETIOVLEN(&iov) == sizeof buf);
    RCHECK(iov.iov_base == (void *)buf && iov.iov_len == 32);

    /* Works on array elements and pointer arithmetic, with a const source address and
     * a signed length expression. */
    iov_t v[3];
    const char *msg = "const data";
    int n = 4;
    SETIOV(&v[0], msg, n);
    SETIOV(v + 1, &buf[4], n * 2);
    SETIOV(&v[2], NULL, 0);
    RCHECK(GETIOVBASE(&v[0]) == (const void *)msg);
    RCHECK(GETIOVLEN(&v[0]) == 4);
    RCHECK((char *)GETIOVBASE(v + 1) == buf + 4);
    RCHECK(GETIOVLEN(v + 1) == 8);
    RCHECK(GETIOVBASE(&v[2]) == NULL && GETIOVLEN(&v[2]) == 0);

    /* SETIOV is an expression (QNX defines it as a comma expression). */
    size_t total = 0;
    int i;
    for (i = 0; i < 3; SETIOV(&v[i], buf + i, (size_t)i + 1), i++) {
    }
    for (i = 0; i < 3; i++)
        total += GETIOVLEN(&v[i]);
    RCHECK(total == 6);
    RCHECK((char *)GETIOVBASE(&v[2]) == buf + 2);
    size_t len = (SETIOV(&iov, buf, 7), GETIOVLEN(&iov));
    RCHECK(len == 7);

    /* GETIOVLEN/GETIOVBASE on a const iov. */
    const iov_t *cp = &v[1];
    RCHECK(GETIOVLEN(cp) == 2);
    RCHECK((char *)GETIOVBASE(cp) == buf + 1);

    /* iov_t is struct iovec: interchangeable with Linux's readv/writev arrays. */
    struct iovec *lp = &iov;
    RCHECK(lp->iov_len == 7);
}

/* A macro that expands to a negative number must be parenthesised, e.g. (-32), so that
 * expressions such as `x -_PULSE_CODE_UNBLOCK` or `sizeof _PULSE_CODE_UNBLOCK` parse as
 * they do with QNX's headers. */
#define STR2(x) #x
#define STR(x) STR2(x)

static void check_paren(const char *name, const char *expansion, long value)
{
    if (value < 0 && expansion[0] != '(') {
        fprintf(stderr, "    %s expands to '%s': a negative value needs parentheses\n", name,
                expansion);
        case_failed = 1;
    }
}

static void t_negative_macros_parenthesised(void)
{
#define P(m) check_paren(#m, STR(m), (long)(m))
    P(_PULSE_CODE_UNBLOCK);
    P(_PULSE_CODE_DISCONNECT);
    P(_PULSE_CODE_THREADDEATH);
    P(_PULSE_CODE_COIDDEATH);
    P(_PULSE_CODE_NET_ACK);
    P(_PULSE_CODE_NET_UNBLOCK);
    P(_PULSE_CODE_NET_DETACH);
    P(_PULSE_CODE_RESTART);
    P(_PULSE_CODE_NORESTART);
    P(_PULSE_CODE_UNBLOCK_RESTART);
    P(_PULSE_CODE_UNBLOCK_TIMER);
#undef P
}

static void t_pulse_codes_fit_in_code_field(void)
{
    struct _pulse p;
    memset(&p, 0, sizeof p);
    p.code = _PULSE_CODE_UNBLOCK;
    RCHECK(p.code == -32);
    p.code = _PULSE_CODE_MAXAVAIL;
    RCHECK(p.code == 127);
    p.value.sival_int = 0x12345678;
    RCHECK(p.value.sival_int == 0x12345678);
}

static void t_prototypes_linked(void)
{
    const void *const *p = (const void *const *)(const void *)&the_api;
    size_t n = sizeof the_api / sizeof(void (*)(void));
    for (size_t i = 0; i < n; i++)
        RCHECK(p[i] != NULL);
}

static void t_errno_names(void)
{
    int e = EOK;
    RCHECK(e == 0);
    RCHECK(ENOREMOTE != ESRVRFAULT && ENOREMOTE != EBADFSYS && ENOREMOTE != EMORE);
    RCHECK(ESRVRFAULT != EBADFSYS && ESRVRFAULT != EMORE && EBADFSYS != EMORE);
}

static void t_process_h(void)
{
    /* <process.h> provides getpid() and friends. */
    RCHECK(getpid() > 0);
    RCHECK(getppid() >= 0);
}

/* ---------------------------------------------------------------------------------- */
/* The resource-manager structures (QNX 7.1 member order; see <sys/iofunc.h> for the     */
/* members whose Linux types differ in size from QNX's: lock, nlink, rdev)               */

OFF(resmgr_context_t, rcvid, 0);
OFF(resmgr_context_t, info, 8);
OFF(resmgr_context_t, msg, 72);
OFF(resmgr_context_t, dpp, 80);
OFF(resmgr_context_t, id, 88);
OFF(resmgr_context_t, extra, 96);
OFF(resmgr_context_t, msg_max_size, 104);
OFF(resmgr_context_t, status, 112);
OFF(resmgr_context_t, offset, 120);
OFF(resmgr_context_t, size, 128);
OFF(resmgr_context_t, iov, 136);
SA(sizeof(resmgr_context_t) == 152, "sizeof(resmgr_context_t) == 152");
SA(MSIZE(resmgr_context_t, status) == 8 && MSIGNED(resmgr_context_t, status), "status is a long");

SA(sizeof(resmgr_connect_funcs_t) == 72 && _RESMGR_CONNECT_NFUNCS == 8, "8 connect handlers");
SA(sizeof(resmgr_io_funcs_t) == 216 && _RESMGR_IO_NFUNCS == 26, "26 I/O handlers");
OFF(resmgr_io_funcs_t, read, 8);
OFF(resmgr_io_funcs_t, devctl, 48);
OFF(resmgr_io_funcs_t, power, 208);

OFF(resmgr_attr_t, flags, 0);
OFF(resmgr_attr_t, nparts_max, 4);
OFF(resmgr_attr_t, msg_max_size, 8);
OFF(resmgr_attr_t, other_func, 16);
SA(sizeof(resmgr_attr_t) == 40, "sizeof(resmgr_attr_t) == 40");

OFF(iofunc_attr_t, mount, 0);
OFF(iofunc_attr_t, mmap_list, 8);
OFF(iofunc_attr_t, lock_list, 16);
OFF(iofunc_attr_t, acl, 24);
OFF(iofunc_attr_t, lockobj, 32);
OFF(iofunc_attr_t, lock, 32);
OFF(iofunc_attr_t, flags, 72);
OFF(iofunc_attr_t, count, 76);
OFF(iofunc_attr_t, rcount, 78);
OFF(iofunc_attr_t, wcount, 80);
OFF(iofunc_attr_t, rlocks, 82);
OFF(iofunc_attr_t, wlocks, 84);
OFF(iofunc_attr_t, nbytes, 88);
OFF(iofunc_attr_t, inode, 96);
OFF(iofunc_attr_t, uid, 104);
OFF(iofunc_attr_t, gid, 108);
OFF(iofunc_attr_t, mtime, 112);
OFF(iofunc_attr_t, atime, 120);
OFF(iofunc_attr_t, ctime, 128);
OFF(iofunc_attr_t, mode, 136);
OFF(iofunc_attr_t, nlink, 144);
OFF(iofunc_attr_t, rdev, 152);
OFF(iofunc_attr_t, mtime_ns, 160);
OFF(iofunc_attr_t, ctime_ns, 168);
SA(sizeof(iofunc_attr_t) == 176, "sizeof(iofunc_attr_t) == 176");
SA(MSIZE(iofunc_attr_t, nbytes) == 8 && MSIZE(iofunc_attr_t, inode) == 8, "64-bit nbytes and inode");
SA(MSIZE(iofunc_attr_t, count) == 2 && MUNSIGNED(iofunc_attr_t, count), "count is uint16_t");

OFF(iofunc_ocb_t, attr, 0);
OFF(iofunc_ocb_t, ioflag, 8);
OFF(iofunc_ocb_t, offset, 16);
OFF(iofunc_ocb_t, sflag, 24);
OFF(iofunc_ocb_t, flags, 26);
OFF(iofunc_ocb_t, reserved, 32);
SA(sizeof(iofunc_ocb_t) == 40, "sizeof(iofunc_ocb_t) == 40");

OFF(iofunc_mount_t, flags, 0);
OFF(iofunc_mount_t, conf, 4);
OFF(iofunc_mount_t, dev, 8);
OFF(iofunc_mount_t, blocksize, 16);
OFF(iofunc_mount_t, funcs, 24);
SA(sizeof(iofunc_mount_t) == 40, "sizeof(iofunc_mount_t) == 40");

/* The I/O messages: a 4-byte header (type, combine_len), then their own members. */
OFF(struct _io_read, nbytes, 4);
OFF(struct _io_read, xtype, 8);
SA(sizeof(struct _io_read) == 16 && sizeof(struct _io_write) == 16, "read/write headers are 16 bytes");
OFF(struct _io_devctl, dcmd, 4);
OFF(struct _io_devctl, nbytes, 8);
SA(sizeof(struct _io_devctl) == 16 && sizeof(struct _io_devctl_reply) == 16, "devctl headers are 16 bytes");
OFF(struct _io_devctl_reply, ret_val, 4);
OFF(struct _io_lseek, whence, 4);
OFF(struct _io_lseek, offset, 8);
OFF(struct _io_chmod, mode, 4);
OFF(struct _io_chown, gid, 4);
OFF(struct _io_chown, uid, 8);
OFF(struct _io_utime, cur_flag, 4);
OFF(struct _io_utime, times, 8);
OFF(struct _io_stat, zero, 4);
SA(sizeof(io_close_t) == 4, "sizeof(io_close_t) == 4");

/* Return codes and devctl commands. */
SA(_RESMGR_NOREPLY == INT_MIN && _RESMGR_DEFAULT == INT_MIN + 1, "_RESMGR_NOREPLY/_DEFAULT");
SA(_RESMGR_NPARTS(2) == -2 && _RESMGR_ERRNO(EIO) == EIO, "_RESMGR_NPARTS/_ERRNO");
SA(__DIOF(_DCMD_MISC, 1, int) == 0x40040501 && __DION(_DCMD_MISC, 2) == 0x0502, "__DIOF/__DION");
SA((unsigned)__DIOT(_DCMD_MISC, 1, int) == 0x80040501u, "__DIOT");
SA((unsigned)__DIOTF(_DCMD_MISC, 1, char[8]) == 0xC0080501u, "__DIOTF");
SA(_RESMGR_FLAG_DIR == 0x100 && _FTYPE_ANY == 0 && _IO_XTYPE_OFFSET == 5 && _IO_XTYPE_MASK == 0xff,
   "resmgr_attach flags, file types, xtypes");
SA(IOFUNC_ATTR_MTIME == 1 && IOFUNC_ATTR_ATIME == 2 && IOFUNC_ATTR_CTIME == 4 &&
       IOFUNC_ATTR_DIRTY_TIME == 0x40,
   "IOFUNC_ATTR_* flags");

static void t_resmgr_macros(void)
{
    resmgr_context_t ctp;
    io_devctl_t msg;
    char data[4];
    memset(&ctp, 0, sizeof ctp);
    RCHECK(_RESMGR_PTR(&ctp, data, sizeof data) == -1);
    RCHECK(GETIOVBASE(&ctp.iov[0]) == (void *)data && GETIOVLEN(&ctp.iov[0]) == sizeof data);
    _IO_SET_READ_NBYTES(&ctp, 12);
    RCHECK(ctp.status == 12);
    _IO_SET_WRITE_NBYTES(&ctp, 7);
    RCHECK(ctp.status == 7);
    RCHECK((char *)_DEVCTL_DATA(msg.i) == (char *)&msg + sizeof(struct _io_devctl));
    RCHECK(get_device_direction(__DIOF(_DCMD_MISC, 1, int)) == (int)DEVDIR_FROM);
    RCHECK(get_device_command(__DIOF(_DCMD_MISC, 1, int)) == 0x0501);
}

int main(int argc, char **argv)
{
    (void)argc;
    run("layout_static_asserts", t_static_asserts);
    run("layout_setiov_getiovbase_getiovlen", t_setiov_getiov);
    run("layout_negative_macros_parenthesised", t_negative_macros_parenthesised);
    run("layout_pulse_codes_fit_in_code_field", t_pulse_codes_fit_in_code_field);
    run("layout_prototypes_linked", t_prototypes_linked);
    run("layout_errno_names", t_errno_names);
    run("layout_process_h", t_process_h);
    run("layout_resmgr_macros", t_resmgr_macros);
    return summary(argv[0]);
}
