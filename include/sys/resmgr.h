/*
 * <sys/resmgr.h> for libneutrino: QNX 7.1's resource-manager layer: the context a handler
 * gets, the connect and I/O handler tables, the reply macros and the resmgr_attach()
 * flags.  Layouts are QNX 7.1's 64-bit ones (resmgr_context_t with size_t/long members as
 * in 7.x; 6.x had int/unsigned).
 *
 * What works and what fails with ENOSYS is listed in README ("Resource managers").
 */
#ifndef _NEUTRINO_SYS_RESMGR_H
#define _NEUTRINO_SYS_RESMGR_H

#include <pthread.h>
#include <sys/iomsg.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A pulse as the resource-manager callbacks receive it. */
typedef struct _pulse io_pulse_t;

/* A dispatch handle: opaque; name_attach() creates its channel on first use. */
typedef struct _dispatch dispatch_t;

/* Every message a resource manager may receive, overlaid. */
typedef union _resmgr_iomsgs {
    unsigned short type;
    io_pulse_t pulse;
    struct _io_connect connect;
    io_open_t open;
    io_unlink_t unlink;
    io_rename_t rename;
    io_mknod_t mknod;
    io_readlink_t readlink;
    io_link_t link;
    io_mount_t mount;
    struct _io_combine combine;
    io_close_t close;
    io_write_t write;
    io_read_t read;
    io_stat_t stat;
    io_notify_t notify;
    io_devctl_t devctl;
    io_pathconf_t pathconf;
    io_lseek_t lseek;
    io_chmod_t chmod;
    io_chown_t chown;
    io_utime_t utime;
    io_openfd_t openfd;
    io_fdinfo_t fdinfo;
    io_lock_t lock;
    io_space_t space;
    io_shutdown_t shutdown;
    io_msg_t msg;
    io_mmap_t mmap;
    io_dup_t dup;
    io_sync_t sync;
    io_power_t power;
} resmgr_iomsgs_t;

struct _xendian_context {
    _Uint16t type;
    _Uint16t mode;
    _Uint32t hint;
};

struct _extended_context {
    size_t length;
    struct _xendian_context xendian;
};

/* 7.x: msg_max_size, offset and size are size_t and status a long (the 7.0 "Getting
 * Started" layout; the 7.1 library reference page was not available to confirm that
 * `extra` still sits between id and msg_max_size: it is kept there as in 6.5/6.6). */
typedef struct _resmgr_context {
    int rcvid;
    struct _msg_info info;
    resmgr_iomsgs_t *msg;
    dispatch_t *dpp;
    int id;
    struct _extended_context *extra;
    size_t msg_max_size;
    long status;
    size_t offset;
    size_t size;
    iov_t iov[1]; /* nparts_max entries in a context the library allocates */
} resmgr_context_t;

/* The define-before-include overrides: <sys/iofunc.h> sets these to its attribute and OCB
 * types (or the program's IOFUNC_ATTR_T/IOFUNC_OCB_T) before including this header. */
#ifndef RESMGR_HANDLE_T
#define RESMGR_HANDLE_T void
#endif
#ifndef RESMGR_OCB_T
#define RESMGR_OCB_T void
#endif

typedef int (*_resmgr_func_t)(resmgr_context_t *ctp, resmgr_iomsgs_t *msg, void *ocb);

typedef struct _resmgr_connect_funcs {
    unsigned nfuncs;
    int (*open)(resmgr_context_t *ctp, io_open_t *msg, RESMGR_HANDLE_T *handle, void *extra);
    int (*unlink)(resmgr_context_t *ctp, io_unlink_t *msg, RESMGR_HANDLE_T *handle, void *reserved);
    int (*rename)(resmgr_context_t *ctp, io_rename_t *msg, RESMGR_HANDLE_T *handle, io_rename_extra_t *extra);
    int (*mknod)(resmgr_context_t *ctp, io_mknod_t *msg, RESMGR_HANDLE_T *handle, void *reserved);
    int (*readlink)(resmgr_context_t *ctp, io_readlink_t *msg, RESMGR_HANDLE_T *handle, void *reserved);
    int (*link)(resmgr_context_t *ctp, io_link_t *msg, RESMGR_HANDLE_T *handle, io_link_extra_t *extra);
    int (*unblock)(resmgr_context_t *ctp, io_pulse_t *msg, RESMGR_HANDLE_T *handle, void *reserved);
    int (*mount)(resmgr_context_t *ctp, io_mount_t *msg, RESMGR_HANDLE_T *handle, io_mount_extra_t *extra);
} resmgr_connect_funcs_t;
#define _RESMGR_CONNECT_NFUNCS ((sizeof(resmgr_connect_funcs_t) - sizeof(unsigned)) / sizeof(void *))

typedef struct _resmgr_io_funcs {
    unsigned nfuncs;
    int (*read)(resmgr_context_t *ctp, io_read_t *msg, RESMGR_OCB_T *ocb);
    int (*write)(resmgr_context_t *ctp, io_write_t *msg, RESMGR_OCB_T *ocb);
    int (*close_ocb)(resmgr_context_t *ctp, void *reserved, RESMGR_OCB_T *ocb);
    int (*stat)(resmgr_context_t *ctp, io_stat_t *msg, RESMGR_OCB_T *ocb);
    int (*notify)(resmgr_context_t *ctp, io_notify_t *msg, RESMGR_OCB_T *ocb);
    int (*devctl)(resmgr_context_t *ctp, io_devctl_t *msg, RESMGR_OCB_T *ocb);
    int (*unblock)(resmgr_context_t *ctp, io_pulse_t *msg, RESMGR_OCB_T *ocb);
    int (*pathconf)(resmgr_context_t *ctp, io_pathconf_t *msg, RESMGR_OCB_T *ocb);
    int (*lseek)(resmgr_context_t *ctp, io_lseek_t *msg, RESMGR_OCB_T *ocb);
    int (*chmod)(resmgr_context_t *ctp, io_chmod_t *msg, RESMGR_OCB_T *ocb);
    int (*chown)(resmgr_context_t *ctp, io_chown_t *msg, RESMGR_OCB_T *ocb);
    int (*utime)(resmgr_context_t *ctp, io_utime_t *msg, RESMGR_OCB_T *ocb);
    int (*openfd)(resmgr_context_t *ctp, io_openfd_t *msg, RESMGR_OCB_T *ocb);
    int (*fdinfo)(resmgr_context_t *ctp, io_fdinfo_t *msg, RESMGR_OCB_T *ocb);
    int (*lock)(resmgr_context_t *ctp, io_lock_t *msg, RESMGR_OCB_T *ocb);
    int (*space)(resmgr_context_t *ctp, io_space_t *msg, RESMGR_OCB_T *ocb);
    int (*shutdown)(resmgr_context_t *ctp, io_shutdown_t *msg, RESMGR_OCB_T *ocb);
    int (*mmap)(resmgr_context_t *ctp, io_mmap_t *msg, RESMGR_OCB_T *ocb);
    int (*msg)(resmgr_context_t *ctp, io_msg_t *msg, RESMGR_OCB_T *ocb);
    int (*reserved)(resmgr_context_t *ctp, void *msg, RESMGR_OCB_T *ocb);
    int (*dup)(resmgr_context_t *ctp, io_dup_t *msg, RESMGR_OCB_T *ocb);
    int (*close_dup)(resmgr_context_t *ctp, io_close_t *msg, RESMGR_OCB_T *ocb);
    int (*lock_ocb)(resmgr_context_t *ctp, void *reserved, RESMGR_OCB_T *ocb);
    int (*unlock_ocb)(resmgr_context_t *ctp, void *reserved, RESMGR_OCB_T *ocb);
    int (*sync)(resmgr_context_t *ctp, io_sync_t *msg, RESMGR_OCB_T *ocb);
    int (*power)(resmgr_context_t *ctp, io_power_t *msg, RESMGR_OCB_T *ocb);
} resmgr_io_funcs_t;
#define _RESMGR_IO_NFUNCS ((sizeof(resmgr_io_funcs_t) - sizeof(unsigned)) / sizeof(void *))

/* What a handler returns: an errno (EOK included) as the reply status, -n to reply with
 * the first n entries of ctp->iov, or one of the two codes with the top bit set. */
#define _RESMGR_NOREPLY ((int)(~0u ^ (~0u >> 1)))       /* the handler replies itself */
#define _RESMGR_DEFAULT ((int)((~0u ^ (~0u >> 1)) | 1)) /* the library's default action */
#define _RESMGR_NPARTS(_num) (-(_num))
#define _RESMGR_ERRNO(_err) (_err)
#define _RESMGR_PTR(_ctp, _p, _n) (SETIOV((_ctp)->iov + 0, (_p), (_n)), _RESMGR_NPARTS(1))
#define _RESMGR_STATUS(_ctp, _s) ((_ctp)->status = (_s))

/* resmgr_attach() flags. */
#define _RESMGR_FLAG_BEFORE 0x0001    /* resolved before others at the same mountpoint */
#define _RESMGR_FLAG_AFTER 0x0002     /* ... after them */
#define _RESMGR_FLAG_OPAQUE 0x0004    /* no fall-through to shorter matches */
#define _RESMGR_FLAG_FTYPEONLY 0x0008 /* only at "/", matching the file type only */
#define _RESMGR_FLAG_FTYPEALL 0x0010  /* matching all file types */
#define _RESMGR_FLAG_DIR 0x0100       /* a directory: longer pathnames resolve here */
#define _RESMGR_FLAG_SELF 0x0200      /* names may resolve to the resource manager itself */
#define _RESMGR_FLAG_MASK 0x031f

/* resmgr_detach() flags. */
#define _RESMGR_DETACH_ALL 0x0000
#define _RESMGR_DETACH_PATHNAME 0x0001
#define _RESMGR_DETACH_CLOSE 0x8000

#define _RESMGR_PATHNAME_LOCALPATH 0x0001

/* A thread pool of resource-manager contexts unless the program says otherwise. */
#ifndef THREAD_POOL_PARAM_T
#define THREAD_POOL_PARAM_T resmgr_context_t
#endif
#ifndef THREAD_POOL_HANDLE_T
#define THREAD_POOL_HANDLE_T dispatch_t
#endif

/* Message transfer from a handler, on ctp->rcvid: reads at ctp->offset + offset, writes
 * at offset, replies with ctp->status.  The ssize_t/size_t forms are 7.x's (6.x used
 * int); not confirmed against 7.1's header. */
ssize_t resmgr_msgread(resmgr_context_t *ctp, void *msg, size_t size, size_t offset);
ssize_t resmgr_msgreadv(resmgr_context_t *ctp, iov_t *rmsg, int rparts, size_t offset);
ssize_t resmgr_msgget(resmgr_context_t *ctp, void *msg, size_t size, size_t offset);
ssize_t resmgr_msgwrite(resmgr_context_t *ctp, const void *msg, size_t size, size_t offset);
ssize_t resmgr_msgwritev(resmgr_context_t *ctp, const iov_t *smsg, int sparts, size_t offset);
int resmgr_msgreply(resmgr_context_t *ctp, void *ptr, size_t len);
int resmgr_msgreplyv(resmgr_context_t *ctp, iov_t *iov, int parts);
/* OCB bindings of the client connection in ctp->info (ctp->id's attachment). */
int resmgr_open_bind(resmgr_context_t *ctp, RESMGR_OCB_T *ocb, const resmgr_io_funcs_t *iofuncs);
int resmgr_unbind(resmgr_context_t *ctp);
int resmgr_pathname(int id, unsigned flags, char *path, int maxbuf);

#ifdef __cplusplus
}
#endif

#endif /* _NEUTRINO_SYS_RESMGR_H */
