/*
 * <sys/iomsg.h> for libneutrino: the headers of QNX's I/O messages (QNX 7.1, 64-bit
 * layouts), as a name_attach() server or a resource manager's handlers see them.  Two
 * replies carry Linux structures where QNX's carry its own: io_stat_t.o is Linux's
 * struct stat and _io_utime.times Linux's struct utimbuf (the callers are Linux programs).  System I/O messages carry a 16-bit type
 * between _IO_BASE and _IO_MAX.  name_open() of a local name sends the server nothing (as
 * on QNX, where only the global name service forwards an _IO_CONNECT of type _FTYPE_NAME).
 * Application messages use types below _IO_BASE or above _IO_MAX.
 */
#ifndef _NEUTRINO_SYS_IOMSG_H
#define _NEUTRINO_SYS_IOMSG_H

/* What QNX's <sys/iomsg.h> brings with it. */
#include <stdint.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/neutrino.h>
#include <utime.h>
#include <sys/ftype.h>
#include <limits.h>
#include <signal.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The range of system I/O message types. */
enum _msg_bases {
    _IO_BASE = 0x100,
    _IO_MAX = 0x1FF
};

/* I/O message types; the RSVD entries are placeholders in QNX's resource-manager tables. */
enum _io__Uint16types {
    _IO_CONNECT = _IO_BASE,
    _IO_READ,                /* 0x101 */
    _IO_WRITE,               /* 0x102 */
    _IO_RSVD_CLOSE_OCB,      /* 0x103 */
    _IO_STAT,                /* 0x104 */
    _IO_NOTIFY,              /* 0x105 */
    _IO_DEVCTL,              /* 0x106 */
    _IO_RSVD_UNBLOCK,        /* 0x107 */
    _IO_PATHCONF,            /* 0x108 */
    _IO_LSEEK,               /* 0x109 */
    _IO_CHMOD,               /* 0x10A */
    _IO_CHOWN,               /* 0x10B */
    _IO_UTIME,               /* 0x10C */
    _IO_OPENFD,              /* 0x10D */
    _IO_FDINFO,              /* 0x10E */
    _IO_LOCK,                /* 0x10F */
    _IO_SPACE,               /* 0x110 */
    _IO_SHUTDOWN,            /* 0x111 */
    _IO_MMAP,                /* 0x112 */
    _IO_MSG,                 /* 0x113 */
    _IO_RSVD,                /* 0x114 */
    _IO_DUP,                 /* 0x115 */
    _IO_CLOSE,               /* 0x116 */
    _IO_RSVD_LOCK_OCB,       /* 0x117 */
    _IO_RSVD_UNLOCK_OCB,     /* 0x118 */
    _IO_SYNC,                /* 0x119 */
    _IO_POWER,               /* 0x11A */
    _IO_ACL,                 /* 0x11B */
    _IO_RSVD_PAUSE,          /* 0x11C */
    _IO_RSVD_UNPAUSE,        /* 0x11D */
    _IO_READ64,              /* 0x11E */
    _IO_WRITE64,             /* 0x11F */
    _IO_NOTIFY64,            /* 0x120 */
    _IO_UTIME64              /* 0x121 */
};

/* The xtype member of _IO_READ / _IO_WRITE. */
enum _io_msg_xtypes {
    _IO_XTYPE_NONE,
    _IO_XTYPE_READCOND,
    _IO_XTYPE_MQUEUE,
    _IO_XTYPE_TCPIP,
    _IO_XTYPE_TCPIP_MSG,
    _IO_XTYPE_OFFSET,
    _IO_XTYPE_REGISTRY,
    _IO_XTYPE_TCPIP_MSG2,
    _IO_XTYPE_TCPIP_MMSG,
    _IO_XTYPE_READDIR,
    _IO_XTYPE_MASK = 0x000000ff,
    _IO_XFLAG_DIR_EXTRA_HINT = 0x00000100,
    _IO_XFLAG_NONBLOCK = 0x00004000,
    _IO_XFLAG_BLOCK = 0x00008000
};

struct _xtype_readcond {
    _Int32t min;
    _Int32t time;
    _Int32t timeout;
};

struct _xtype_offset {
    _Int64t offset;
};

/* --- path-based messages: _IO_CONNECT ------------------------------------------------ */

struct _io_connect {
    _Uint16t type;          /* _IO_CONNECT */
    _Uint16t subtype;       /* _IO_CONNECT_* */
    _Uint32t file_type;     /* _FTYPE_* */
    _Uint16t reply_max;     /* size of the client's reply buffer */
    _Uint16t entry_max;     /* link entries the client accepts */
    _Uint32t key;
    _Uint32t handle;        /* the server's registration id (name_attach_t.mntid) */
    _Uint32t ioflag;        /* O_* with the access mode recoded as _IO_FLAG_* */
    _Uint32t mode;
    _Uint16t sflag;         /* SH_* share flags */
    _Uint16t access;
    _Uint16t dirfd;         /* 6.x: zero */
    _Uint16t path_len;      /* including the NUL */
    _Uint8t eflag;          /* _IO_CONNECT_EFLAG_* */
    _Uint8t extra_type;     /* _IO_CONNECT_EXTRA_* */
    _Uint16t extra_len;
    char path[];            /* path_len bytes, then padding and extra_len bytes */
};

enum _io_connect_subtypes {
    _IO_CONNECT_COMBINE,
    _IO_CONNECT_COMBINE_CLOSE,
    _IO_CONNECT_OPEN,
    _IO_CONNECT_UNLINK,
    _IO_CONNECT_RENAME,
    _IO_CONNECT_MKNOD,
    _IO_CONNECT_READLINK,
    _IO_CONNECT_LINK,
    _IO_CONNECT_RSVD_UNBLOCK,
    _IO_CONNECT_MOUNT
};

enum _io_connect_extra_type {
    _IO_CONNECT_EXTRA_NONE,
    _IO_CONNECT_EXTRA_LINK,
    _IO_CONNECT_EXTRA_SYMLINK,
    _IO_CONNECT_EXTRA_MQUEUE,
    _IO_CONNECT_EXTRA_PHOTON,
    _IO_CONNECT_EXTRA_SOCKET,
    _IO_CONNECT_EXTRA_SEM,
    _IO_CONNECT_EXTRA_RESMGR_LINK,
    _IO_CONNECT_EXTRA_PROC_SYMLINK,
    _IO_CONNECT_EXTRA_RENAME,
    _IO_CONNECT_EXTRA_MOUNT,
    _IO_CONNECT_EXTRA_MOUNT_OCB,
    _IO_CONNECT_EXTRA_TYMEM
};

/* ioflag access bits */
#define _IO_FLAG_RD 0x00000001
#define _IO_FLAG_WR 0x00000002
#define _IO_FLAG_EX 0x00000004
#define _IO_FLAG_MASK 0x00000007

/* eflag */
#define _IO_CONNECT_EFLAG_DIR 0x01
#define _IO_CONNECT_EFLAG_DOT 0x02
#define _IO_CONNECT_EFLAG_DOTDOT 0x04

/* Status bits of a connect reply that redirects the client (links; not used by names). */
#define _IO_CONNECT_RET_UMASK 0x00020000
#define _IO_CONNECT_RET_NOCTTY 0x00040000
#define _IO_CONNECT_RET_CHROOT 0x00080000
#define _IO_CONNECT_RET_MSG 0x00100000
#define _IO_CONNECT_RET_TYPE_MASK 0x0001e000
#define _IO_CONNECT_RET_FTYPE 0x00008000
#define _IO_CONNECT_RET_LINK 0x00010000
#define _IO_CONNECT_RET_FLAG 0x80000000

struct _io_connect_link_reply {
    _Uint32t reserved1;
    _Uint32t file_type;
    _Uint8t eflag;
    _Uint8t reserved2[1];
    _Uint16t chroot_len;
    _Uint32t umask;
    _Uint16t nentries;
    _Uint16t path_len;
};

struct _io_connect_ftype_reply {
    _Uint16t status;
    _Uint16t reserved;
    _Uint32t file_type;
};

struct _io_connect_entry {
    _Uint32t nd;
    _Int32t pid;
    _Int32t chid;
    _Uint32t handle;
    _Uint32t key;
    _Uint32t file_type;
    _Uint16t prefix_len;
    _Uint16t zero[3];
};

typedef union {
    struct _io_connect connect;
    struct _io_connect_link_reply link_reply;
    struct _io_connect_ftype_reply ftype_reply;
} io_open_t;

/* --- fd-based messages ----------------------------------------------------------------- */

/* The header every fd-based message starts with. */
struct _io_combine {
    _Uint16t type;
    _Uint16t combine_len;
};

#define _IO_COMBINE_FLAG 0x8000u

struct _io_close {
    _Uint16t type;
    _Uint16t combine_len;
};

typedef union {
    struct _io_close i;
} io_close_t;

struct _io_write {
    _Uint16t type;
    _Uint16t combine_len;
    _Uint32t nbytes;
    _Uint32t xtype;
    _Uint32t zero;
    /* nbytes of data follow */
};

typedef union {
    struct _io_write i;
} io_write_t;

struct _io_read {
    _Uint16t type;
    _Uint16t combine_len;
    _Uint32t nbytes;
    _Uint32t xtype;
    _Uint32t zero;
};

typedef union {
    struct _io_read i;
} io_read_t;

struct _io_stat {
    _Uint16t type;
    _Uint16t combine_len;
    union {
        _Uint32t zero;
        _Uint32t format;
    };
};

typedef union {
    struct _io_stat i;
    struct stat o; /* the reply: Linux's struct stat (the caller is a Linux program) */
} io_stat_t;

/* _IO_NOTIFY (select/poll/ionotify); the reply's event is QNX's sigevent. */
#define _NOTIFY_ACTION_TRANARM 0x0 /* arm for the next transition to the condition */
#define _NOTIFY_ACTION_CONDARM 0x1 /* arm unless a condition holds (then EAGAIN) */
#define _NOTIFY_ACTION_POLL 0x2    /* only report which conditions hold */
#define _NOTIFY_ACTION_POLLARM 0x3 /* report; arm if none holds */
#define _NOTIFY_ACTION_MASK 0x3
#define _NOTIFY_COND_MASK 0xf0000000
#define _NOTIFY_COND_EXTEN 0x80000000 /* the extended (_NOTIFY_CONDE_*) conditions */
#define _NOTIFY_COND_OBAND 0x40000000
#define _NOTIFY_COND_OUTPUT 0x20000000
#define _NOTIFY_COND_INPUT 0x10000000
#define _NOTIFY_DATA_MASK (~_NOTIFY_COND_MASK)
#define _NOTIFY_MAXCOND 15

struct _io_notify {
    _Uint16t type;
    _Uint16t combine_len;
    _Int32t action;
    _Int32t flags;
    struct sigevent event;
    _Int32t mgr[2];
    _Int32t flags_extra_mask;
    _Int32t flags_exten;
    _Int32t nfds;
    _Int32t fd_first;
    _Int32t nfds_ready;
    _Int64t timo;
};

struct _io_notify_reply {
    _Uint32t zero;
    _Uint32t flags;
    _Int32t flags2;
    struct sigevent event;
    _Int32t mgr[2];
    _Int32t flags_extra_mask;
    _Int32t flags_exten;
    _Int32t nfds;
    _Int32t fd_first;
    _Int32t nfds_ready;
    _Int64t timo;
};

typedef union {
    struct _io_notify i;
    struct _io_notify_reply o;
} io_notify_t;

struct _io_devctl {
    _Uint16t type;
    _Uint16t combine_len;
    _Int32t dcmd;
    _Uint32t nbytes;
    _Int32t zero;
    /* nbytes of data follow */
};

struct _io_devctl_reply {
    _Uint32t zero;
    _Int32t ret_val;
    _Uint32t nbytes;
    _Int32t zero2;
    /* nbytes of data follow */
};

typedef union {
    struct _io_devctl i;
    struct _io_devctl_reply o;
} io_devctl_t;

struct _io_pathconf {
    _Uint16t type;
    _Uint16t combine_len;
    short name;
    _Uint16t zero;
};

typedef union {
    struct _io_pathconf i;
} io_pathconf_t;

struct _io_lseek {
    _Uint16t type;
    _Uint16t combine_len;
    short whence;
    _Uint16t flags;
    _Uint64t offset;
};

typedef union {
    struct _io_lseek i;
    _Uint64t o;
} io_lseek_t;

struct _io_chown {
    _Uint16t type;
    _Uint16t combine_len;
    _Int32t gid;
    _Int32t uid;
};

typedef union {
    struct _io_chown i;
} io_chown_t;

struct _io_shutdown {
    _Uint16t type;
    _Uint16t combine_len;
};

struct _io_sync {
    _Uint16t type;
    _Uint16t combine_len;
    _Uint32t flag;
};

typedef union {
    struct _io_sync i;
} io_sync_t;

struct _io_chmod {
    _Uint16t type;
    _Uint16t combine_len;
    mode_t mode;
};

typedef union {
    struct _io_chmod i;
} io_chmod_t;

struct _io_utime {
    _Uint16t type;
    _Uint16t combine_len;
    _Int32t cur_flag; /* non-zero: set both times to "now", ignoring times */
    struct utimbuf times;
};

typedef union {
    struct _io_utime i;
} io_utime_t;

typedef union {
    struct _io_shutdown i;
} io_shutdown_t;

enum _io_openfd_xtypes {
    _IO_OPENFD_NONE,
    _IO_OPENFD_PIPE,
    _IO_OPENFD_KQUEUE,
    _IO_OPENFD_ACCEPT,
    _IO_OPENFD_SCTP_PEELOFF
};

struct _io_openfd {
    _Uint16t type;
    _Uint16t combine_len;
    _Uint32t ioflag;
    _Uint16t sflag;
    _Uint16t xtype;
    struct _msg_info info;
    _Uint32t reserved2;
    _Uint32t key;
};

typedef union {
    struct _io_openfd i;
} io_openfd_t;

/* The reply (struct _fdinfo and the path) is not declared: nothing answers _IO_FDINFO yet. */
struct _io_fdinfo {
    _Uint16t type;
    _Uint16t combine_len;
    _Uint32t flags;
    _Int32t path_len;
    _Uint32t reserved;
};

typedef union {
    struct _io_fdinfo i;
} io_fdinfo_t;

struct _io_lock {
    _Uint16t type;
    _Uint16t combine_len;
    _Uint32t subtype;
    _Int32t nbytes; /* a flock follows for F_*LK */
};

struct _io_lock_reply {
    _Uint32t zero[3];
};

typedef union {
    struct _io_lock i;
    struct _io_lock_reply o;
} io_lock_t;

struct _io_space {
    _Uint16t type;
    _Uint16t combine_len;
    _Uint16t subtype; /* F_ALLOCSP or F_FREESP */
    short whence;
    _Uint64t start;
    _Uint64t len;
};

typedef union {
    struct _io_space i;
    _Uint64t o;
} io_space_t;

struct _io_mmap {
    _Uint16t type;
    _Uint16t combine_len;
    _Uint32t prot;
    _Uint64t offset;
    struct _msg_info info;
    _Uint32t zero[6];
};

struct _io_mmap_reply {
    _Uint32t zero;
    _Uint32t flags;
    _Uint64t offset;
    _Int32t coid;
    _Int32t fd;
};

typedef union {
    struct _io_mmap i;
    struct _io_mmap_reply o;
} io_mmap_t;

struct _io_dup {
    _Uint16t type;
    _Uint16t combine_len;
    struct _msg_info info;
    _Uint32t reserved;
    _Uint32t key;
};

typedef union {
    struct _io_dup i;
} io_dup_t;

/* _IO_POWER: the request only (QNX's reply types come from its power-management headers). */
struct _io_power {
    _Uint16t type;
    _Uint16t combine_len;
    _Uint32t subtype;
    _Uint32t flags;
    _Int32t mode;
};

typedef union {
    struct _io_power i;
} io_power_t;

/* The path-based messages other than open: each is an _IO_CONNECT with its own subtype. */
typedef io_open_t io_unlink_t;
typedef io_open_t io_rename_t;
typedef io_open_t io_mknod_t;
typedef io_open_t io_readlink_t;
typedef io_open_t io_link_t;
typedef io_open_t io_mount_t;

/* What follows the path of a rename/link/mount connect; only the shapes the handler
 * tables need; the resource-manager layer passes them to the handlers as they arrive. */
typedef union {
    char path[1];
} io_rename_extra_t;

typedef union {
    struct _msg_info info;
    void *ocb;
    char path[1];
} io_link_extra_t;

typedef struct _io_mount_extra {
    _Uint32t flags;
    _Uint32t nbytes;
    _Uint32t datalen;
    _Uint32t zero[1];
    union {
        struct {
            struct _msg_info info;
        } cl;
        struct {
            void *ocb;
            void *data;
            char *type;
            char *special;
            void *zero[4];
        } srv;
    } extra;
} io_mount_extra_t;

/* A read or write handler's reply status is the byte count. */
#define _IO_SET_READ_NBYTES(_c, _s) _RESMGR_STATUS(_c, _s)
#define _IO_SET_WRITE_NBYTES(_c, _s) _RESMGR_STATUS(_c, _s)
#define _IO_SET_PATHCONF_VALUE(_c, _s) _RESMGR_STATUS(_c, _s)
#define _IO_SET_FDINFO_LEN(_c, _s) _RESMGR_STATUS(_c, _s)

/* _IO_MSG: a manager-specific message, told apart by mgrid and subtype. */
struct _io_msg {
    _Uint16t type;
    _Uint16t combine_len;
    _Uint16t mgrid;
    _Uint16t subtype;
};

typedef union {
    struct _io_msg i;
} io_msg_t;

#ifdef __cplusplus
}
#endif

#endif /* _NEUTRINO_SYS_IOMSG_H */
