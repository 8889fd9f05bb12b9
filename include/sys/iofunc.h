/*
 * <sys/iofunc.h> for libneutrino: QNX 7.1's POSIX layer of the resource-manager library:
 * the attribute, OCB and mount structures, with the define-before-include overrides
 * (IOFUNC_ATTR_T, IOFUNC_OCB_T, IOFUNC_MOUNT_T, RESMGR_HANDLE_T, RESMGR_OCB_T), and the
 * iofunc_*() helpers and default handlers.
 *
 * Members have QNX 7.1's order and the C types of their names; where the Linux type
 * differs in size from QNX's (nlink_t and dev_t are 64-bit here, 32-bit on QNX;
 * pthread_mutex_t is 40 bytes here, 8 on QNX), the Linux type is kept so that values the
 * program computes with them (makedev(), stat's st_nlink) fit, and layout.c pins the
 * result.  Not confirmed against 7.1's header: whether time_t is 64-bit there (QNX made
 * it so everywhere in 8.0) and the mtime_ns/atime_ns/ctime_ns members (7.0 and 8.0's
 * "Getting Started" show them).
 *
 * The helpers work as QNX documents, except the defaults README lists as ENOSYS
 * (fdinfo, lock, mmap, power: "Resource managers").
 */
#ifndef _NEUTRINO_SYS_IOFUNC_H
#define _NEUTRINO_SYS_IOFUNC_H

#include <inttypes.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <pthread.h>

struct _iofunc_attr;
struct _iofunc_ocb;

/* The resource-manager tables take the program's types (or ours) as handle and OCB. */
#ifndef RESMGR_HANDLE_T
#ifndef IOFUNC_ATTR_T
#define RESMGR_HANDLE_T struct _iofunc_attr
#else
#define RESMGR_HANDLE_T IOFUNC_ATTR_T
#endif
#endif

#ifndef RESMGR_OCB_T
#ifndef IOFUNC_OCB_T
#define RESMGR_OCB_T struct _iofunc_ocb
#else
#define RESMGR_OCB_T IOFUNC_OCB_T
#endif
#endif

#include <sys/resmgr.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _iofunc_funcs iofunc_funcs_t;

/* Per-mountpoint data (optional: attr->mount may be NULL). */
typedef struct _iofunc_mount {
    uint32_t flags; /* ST_RDONLY, ... (IOFUNC_MOUNT_FLAGS) */
    uint32_t conf;  /* IOFUNC_PC_* */
    dev_t dev;
    int32_t blocksize;
    iofunc_funcs_t *funcs; /* NULL: the library's OCB allocation and attribute locking */
    void *power;
} iofunc_mount_t;

#ifndef IOFUNC_MOUNT_T
#define IOFUNC_MOUNT_T iofunc_mount_t
#endif

#define IOFUNC_MOUNT_FLAGS 0x000000FF
#define IOFUNC_MOUNT_32BIT 0x00000100
#define IOFUNC_MOUNT_FLAGS_PRIVATE 0xFFFFF000

#define IOFUNC_PC_CHOWN_RESTRICTED 0x00000001
#define IOFUNC_PC_NO_TRUNC 0x00000002
#define IOFUNC_PC_SYNC_IO 0x00000004
#define IOFUNC_PC_LINK_DIR 0x00000008

/* Per-name attributes (QNX 7.1 order). */
typedef struct _iofunc_attr {
    IOFUNC_MOUNT_T *mount;
    struct _iofunc_mmap_list *mmap_list;
    struct _iofunc_lock_list *lock_list;
    void *acl;
    union {
        void *lockobj;
        pthread_mutex_t lock; /* iofunc_attr_lock() */
    };
    uint32_t flags; /* IOFUNC_ATTR_* */
    uint16_t count;  /* opens */
    uint16_t rcount; /* opens for reading */
    uint16_t wcount; /* opens for writing */
    uint16_t rlocks;
    uint16_t wlocks;
    uint16_t reserved;
    off_t nbytes;
    ino_t inode;
    uid_t uid;
    gid_t gid;
    time_t mtime;
    time_t atime;
    time_t ctime;
    mode_t mode;
    nlink_t nlink;
    dev_t rdev;
    unsigned mtime_ns;
    unsigned atime_ns;
    unsigned ctime_ns;
} iofunc_attr_t;

#ifndef IOFUNC_ATTR_T
#define IOFUNC_ATTR_T iofunc_attr_t
#endif

#define IOFUNC_ATTR_RSVD 0x0000FFFF
#define IOFUNC_ATTR_PRIVATE 0xFFFF0000
#define IOFUNC_ATTR_SYNTHETIC 0x00008000 /* may change even on a read-only mount */
#define IOFUNC_ATTR_MTIME 0x00000001     /* mtime is to be set to "now" */
#define IOFUNC_ATTR_ATIME 0x00000002
#define IOFUNC_ATTR_CTIME 0x00000004
#define IOFUNC_ATTR_DIRTY_MASK 0x00000FF0
#define IOFUNC_ATTR_DIRTY_SIZE 0x00000010
#define IOFUNC_ATTR_DIRTY_OWNER 0x00000020
#define IOFUNC_ATTR_DIRTY_TIME 0x00000040
#define IOFUNC_ATTR_DIRTY_MODE 0x00000080
#define IOFUNC_ATTR_DIRTY_NLINK 0x00000100
#define IOFUNC_ATTR_DIRTY_RDEV 0x00000200

/* Per-open data. */
typedef struct _iofunc_ocb {
    IOFUNC_ATTR_T *attr;
    int32_t ioflag; /* open()'s flags with the access mode as _IO_FLAG_RD/_IO_FLAG_WR */
    off_t offset;
    uint16_t sflag;
    uint16_t flags; /* IOFUNC_OCB_* */
    void *reserved;
} iofunc_ocb_t;

#ifndef IOFUNC_OCB_T
#define IOFUNC_OCB_T iofunc_ocb_t
#endif

#define IOFUNC_OCB_PRIVILEGED 0x0001
#define IOFUNC_OCB_MMAP 0x0002
#define IOFUNC_OCB_FLAGS_PRIVATE 0xF000

/* A mount's own OCB allocation and attribute locking, used instead of the library's. */
struct _iofunc_funcs {
    unsigned nfuncs;
    IOFUNC_OCB_T *(*ocb_calloc)(resmgr_context_t *ctp, IOFUNC_ATTR_T *attr);
    void (*ocb_free)(IOFUNC_OCB_T *ocb);
    int (*attr_lock)(IOFUNC_ATTR_T *attr);
    int (*attr_unlock)(IOFUNC_ATTR_T *attr);
    int (*attr_trylock)(IOFUNC_ATTR_T *attr);
};
#define _IOFUNC_NFUNCS ((sizeof(iofunc_funcs_t) - sizeof(unsigned)) / sizeof(void *))

typedef struct _iofunc_mmap_list iofunc_mmap_list_t;
typedef struct _iofunc_lock_list iofunc_lock_list_t;

/* What iofunc_ocb_detach() returns. */
#define IOFUNC_OCB_LAST_INUSE 0x0001
#define IOFUNC_OCB_LAST_READER 0x0002
#define IOFUNC_OCB_LAST_WRITER 0x0004
#define IOFUNC_OCB_LAST_RDLOCK 0x0008
#define IOFUNC_OCB_LAST_WRLOCK 0x0010

/* Fills the handler tables with the iofunc_*_default handlers. */
void iofunc_func_init(unsigned nconnect, resmgr_connect_funcs_t *connect, unsigned nio, resmgr_io_funcs_t *io);

/* Notification (select/poll/ionotify): a resource manager keeps an array of three of these
 * (input, output, out-of-band) and passes it to iofunc_notify() from its io_notify
 * handler, iofunc_notify_trigger() when a condition starts to hold, and
 * iofunc_notify_remove() when a client closes. */
typedef struct _iofunc_notify_event {
    struct _iofunc_notify_event *next;
    int rcvid;
    int scoid;
    int cnt;
    struct sigevent event;
    unsigned flags;
    int coid;
} iofunc_notify_event_t;

typedef struct _iofunc_notify {
    int cnt; /* the smallest count an armed event waits for (INT_MAX: none) */
    struct _iofunc_notify_event *list;
} iofunc_notify_t;

#define IOFUNC_NOTIFY_INPUT 0
#define IOFUNC_NOTIFY_OUTPUT 1
#define IOFUNC_NOTIFY_OBAND 2

/* Whether iofunc_notify_trigger() has anything to do for `cnt` (`tran`: a transition). */
#define IOFUNC_NOTIFY_INPUT_CHECK(__nop, __cnt, __tran) \
    ((__nop)[IOFUNC_NOTIFY_INPUT].cnt <= (__cnt) && ((__nop)[IOFUNC_NOTIFY_INPUT].cnt || (__tran)))
#define IOFUNC_NOTIFY_OUTPUT_CHECK(__nop, __cnt) ((__nop)[IOFUNC_NOTIFY_OUTPUT].cnt <= (__cnt))
#define IOFUNC_NOTIFY_OBAND_CHECK(__nop, __cnt, __tran) \
    ((__nop)[IOFUNC_NOTIFY_OBAND].cnt <= (__cnt) && ((__nop)[IOFUNC_NOTIFY_OBAND].cnt || (__tran)))
#define IOFUNC_NOTIFY_DISARM(__nop, __index) ((__nop)[__index].cnt = (int)((~0u) >> 1))
#define IOFUNC_NOTIFY_INIT(__nop)                                                              \
    ((__nop)[0].cnt = (__nop)[1].cnt = (__nop)[2].cnt = (int)((~0u) >> 1), (__nop)[0].list = \
         (__nop)[1].list = (__nop)[2].list = NULL)

/* `trig`: the _NOTIFY_COND_* conditions that hold now; `notifycnts`: per condition, the
 * count an armed event waits for (NULL: 1 each); `armed` (may be NULL): set if it armed.
 * Returns what the io_notify handler returns: the reply (the conditions that hold), or
 * for _NOTIFY_ACTION_CONDARM with none holding, EAGAIN (armed). */
int iofunc_notify(resmgr_context_t *ctp, io_notify_t *msg, iofunc_notify_t *nop, int trig, const int *notifycnts,
                  int *armed);
/* Delivers (once) the events armed on nop[index] that wait for at most `cnt`. */
void iofunc_notify_trigger(iofunc_notify_t *nop, int cnt, int index);
/* Forgets the events ctp's connection armed on the three conditions. */
void iofunc_notify_remove(resmgr_context_t *ctp, iofunc_notify_t *nop);

/* Default handlers; fdinfo, lock, mmap and power return ENOSYS (README). */
int iofunc_open_default(resmgr_context_t *ctp, io_open_t *msg, iofunc_attr_t *attr, void *extra);
int iofunc_read_default(resmgr_context_t *ctp, io_read_t *msg, iofunc_ocb_t *ocb);
int iofunc_write_default(resmgr_context_t *ctp, io_write_t *msg, iofunc_ocb_t *ocb);
int iofunc_close_ocb_default(resmgr_context_t *ctp, void *reserved, iofunc_ocb_t *ocb);
int iofunc_stat_default(resmgr_context_t *ctp, io_stat_t *msg, iofunc_ocb_t *ocb);
int iofunc_devctl_default(resmgr_context_t *ctp, io_devctl_t *msg, iofunc_ocb_t *ocb);
int iofunc_pathconf_default(resmgr_context_t *ctp, io_pathconf_t *msg, iofunc_ocb_t *ocb);
int iofunc_lseek_default(resmgr_context_t *ctp, io_lseek_t *msg, iofunc_ocb_t *ocb);
int iofunc_chmod_default(resmgr_context_t *ctp, io_chmod_t *msg, iofunc_ocb_t *ocb);
int iofunc_chown_default(resmgr_context_t *ctp, io_chown_t *msg, iofunc_ocb_t *ocb);
int iofunc_utime_default(resmgr_context_t *ctp, io_utime_t *msg, iofunc_ocb_t *ocb);
int iofunc_sync_default(resmgr_context_t *ctp, io_sync_t *msg, iofunc_ocb_t *ocb);
int iofunc_lock_ocb_default(resmgr_context_t *ctp, void *reserved, iofunc_ocb_t *ocb);
int iofunc_unlock_ocb_default(resmgr_context_t *ctp, void *reserved, iofunc_ocb_t *ocb);
int iofunc_unblock_default(resmgr_context_t *ctp, io_pulse_t *msg, iofunc_ocb_t *ocb);
int iofunc_close_dup_default(resmgr_context_t *ctp, io_close_t *msg, iofunc_ocb_t *ocb);
int iofunc_openfd_default(resmgr_context_t *ctp, io_openfd_t *msg, iofunc_ocb_t *ocb);
int iofunc_fdinfo_default(resmgr_context_t *ctp, io_fdinfo_t *msg, iofunc_ocb_t *ocb);
int iofunc_lock_default(resmgr_context_t *ctp, io_lock_t *msg, iofunc_ocb_t *ocb);
int iofunc_mmap_default(resmgr_context_t *ctp, io_mmap_t *msg, iofunc_ocb_t *ocb);
int iofunc_power_default(resmgr_context_t *ctp, io_power_t *msg, iofunc_ocb_t *ocb);

/* Attribute locking (attr->lock, or the mount's own functions). */
int iofunc_attr_lock(iofunc_attr_t *attr);
int iofunc_attr_trylock(iofunc_attr_t *attr);
int iofunc_attr_unlock(iofunc_attr_t *attr);

IOFUNC_OCB_T *iofunc_ocb_calloc(resmgr_context_t *ctp, IOFUNC_ATTR_T *attr);
void iofunc_ocb_free(IOFUNC_OCB_T *ocb);

void iofunc_attr_init_sized(iofunc_attr_t *attr, mode_t mode, iofunc_attr_t *dattr, struct _client_info *info,
                            size_t size);
#define iofunc_attr_init(_attr, _mode, _dattr, _info) \
    iofunc_attr_init_sized((_attr), (_mode), (_dattr), (_info), sizeof(iofunc_attr_t))
int iofunc_check_access(resmgr_context_t *ctp, const iofunc_attr_t *attr, mode_t checkmode,
                        const struct _client_info *info);
int iofunc_client_info(resmgr_context_t *ctp, int ioflag, struct _client_info *info);
int iofunc_ocb_attach(resmgr_context_t *ctp, io_open_t *msg, iofunc_ocb_t *ocb, iofunc_attr_t *attr,
                      const resmgr_io_funcs_t *io_funcs);
int iofunc_ocb_detach(resmgr_context_t *ctp, iofunc_ocb_t *ocb);
int iofunc_open(resmgr_context_t *ctp, io_open_t *msg, iofunc_attr_t *attr, iofunc_attr_t *dattr,
                struct _client_info *info);
int iofunc_read_verify(resmgr_context_t *ctp, io_read_t *msg, iofunc_ocb_t *ocb, int *nonblock);
int iofunc_write_verify(resmgr_context_t *ctp, io_write_t *msg, iofunc_ocb_t *ocb, int *nonblock);
int iofunc_sync_verify(resmgr_context_t *ctp, io_sync_t *msg, iofunc_ocb_t *ocb);
int iofunc_chmod(resmgr_context_t *ctp, io_chmod_t *msg, iofunc_ocb_t *ocb, iofunc_attr_t *attr);
int iofunc_chown(resmgr_context_t *ctp, io_chown_t *msg, iofunc_ocb_t *ocb, iofunc_attr_t *attr);
int iofunc_utime(resmgr_context_t *ctp, io_utime_t *msg, iofunc_ocb_t *ocb, iofunc_attr_t *attr);
int iofunc_lseek(resmgr_context_t *ctp, io_lseek_t *msg, iofunc_ocb_t *ocb, iofunc_attr_t *attr);
int iofunc_stat(resmgr_context_t *ctp, iofunc_attr_t *attr, struct stat *stat);
int iofunc_time_update(iofunc_attr_t *attr);

#ifdef __cplusplus
}
#endif

#endif /* _NEUTRINO_SYS_IOFUNC_H */
