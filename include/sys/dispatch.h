/*
 * <sys/dispatch.h> for libneutrino: QNX's name service (name_attach, name_detach,
 * name_open, name_close), the dispatch handles it uses, and QNX 7.1's declarations of the
 * dispatch layer (resmgr_attach, message_attach, pulse_attach, select_attach, dispatch
 * contexts, thread pools), all working (README, "Resource managers"; select_attach()
 * refuses SELECT_FLAG_SRVEXCEPT with ENOSYS).
 *
 * Names are local to the machine (QNX 8.0 semantics): no daemon is involved and a name lives
 * exactly as long as its server holds it. NAME_FLAG_ATTACH_GLOBAL names are announced to
 * every node by the node's gateway, neutrino-netd (README, "Across machines"); without one
 * a global name_attach() fails with ENOTSUP.
 */
#ifndef _NEUTRINO_SYS_DISPATCH_H
#define _NEUTRINO_SYS_DISPATCH_H

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <sys/neutrino.h>
#include <sys/resmgr.h> /* dispatch_t, and as QNX's <sys/dispatch.h> does */

#ifdef __cplusplus
extern "C" {
#endif

#define NAME_FLAG_DETACH_SAVEDPP 0x00000001 /* name_detach(): keep the dispatch handle */
#define NAME_FLAG_ATTACH_GLOBAL 0x00000002  /* a name every node finds (neutrino-netd) */
#define NAME_FLAG_CROSS_ENDIAN 0x00000008

/* name_open() flags: _NTO_COF_* connection flags shifted left by four bits. */
#define _NAME_FLAG_COF_SHIFT (4)
#define _NAME_FLAG_COF_CLOEXEC (_NTO_COF_CLOEXEC << _NAME_FLAG_COF_SHIFT)
#define _NAME_FLAG_COF_INSECURE (_NTO_COF_INSECURE << _NAME_FLAG_COF_SHIFT)
#define _NAME_FLAG_COF_NOEVENT (_NTO_COF_NOEVENT << _NAME_FLAG_COF_SHIFT)
#define _NAME_FLAG_COF_REG_EVENTS (_NTO_COF_REG_EVENTS << _NAME_FLAG_COF_SHIFT)
#define _NAME_FLAG_CALLER_FLAG_MASK (_NTO_COF_MASK << _NAME_FLAG_COF_SHIFT)

/* dispatch_create_channel() flags */
#define DISPATCH_FLAG_NOLOCK 0x00000001
#define DISPATCH_FLAG_CHANNEL_COIDDEATH 0x0

/* resmgr_attr_t.flags */
#define RESMGR_FLAG_NO_DEFAULT_FUNC 0x00000001
#define RESMGR_FLAG_ATTACH_LOCAL 0x00000002
#define RESMGR_FLAG_ATTACH_OTHERFUNC 0x00000004
#define RESMGR_FLAG_CROSS_ENDIAN 0x00000008

typedef struct _resmgr_attr {
    unsigned flags;
    unsigned nparts_max;   /* iov entries in each context */
    size_t msg_max_size;   /* receive buffer; 7.x made it a size_t (6.x: unsigned) */
    int (*other_func)(resmgr_context_t *ctp, void *msg);
    unsigned reserved[4];
} resmgr_attr_t;

/* message_attach() / pulse_attach() flags */
#define MSG_FLAG_TYPE_PULSE 0x00000001
#define MSG_FLAG_ALLOC_PULSE 0x00000002
#define MSG_FLAG_TYPE_SELECT 0x00000004
#define MSG_FLAG_TYPE_RESMGR 0x00000008
#define MSG_FLAG_DEFAULT_FUNC 0x00000100
#define MSG_FLAG_SIDE_CHANNEL 0x00000200
#define MSG_FLAG_CROSS_ENDIAN 0x00000400

typedef struct _resmgr_context message_context_t;

typedef struct _message_attr {
    unsigned flags;
    unsigned nparts_max;
    size_t msg_max_size;
    unsigned reserved[4];
} message_attr_t;

/* select_attach() flags: the _NOTIFY_COND_* conditions and these. */
#define SELECT_FLAG_READ 0x10000000   /* _NOTIFY_COND_INPUT */
#define SELECT_FLAG_WRITE 0x20000000  /* _NOTIFY_COND_OUTPUT */
#define SELECT_FLAG_EXCEPT 0x40000000 /* _NOTIFY_COND_OBAND */
#define SELECT_FLAG_REARM 0x00000001
#define SELECT_FLAG_SRVEXCEPT 0x00000002
#define SELECT_FLAG_NOREARM 0x00000004

typedef struct _select_context select_context_t;

typedef struct _select_attr {
    unsigned flags;
    unsigned reserved[3];
} select_attr_t;

struct _select_context {
    int rcvid;
    union {
        struct _msg_info msginfo;
        siginfo_t siginfo;
    } info;
    resmgr_iomsgs_t *msg;
    void *dpp;
    int fd;
    unsigned tid;
    unsigned reserved;
    int flags;
    int reserved2[2];
    iov_t iov[1];
};

typedef struct _sigwait_context sigwait_context_t;

struct _sigwait_context {
    int signo;
    union {
        struct _msg_info msginfo;
        siginfo_t siginfo;
    } info;
    resmgr_iomsgs_t *msg;
    void *dpp;
    int status;
    unsigned tid;
    sigset_t set;
    int reserved2[2];
    iov_t iov[1];
};

/* What dispatch_block() fills; its first member is the context of every kind. */
typedef union _dispatch_context {
    resmgr_context_t resmgr_context;
    message_context_t message_context;
    select_context_t select_context;
    sigwait_context_t sigwait_context;
} dispatch_context_t;

/* Thread pools */
#define POOL_FLAG_EXIT_SELF 0x00000001
#define POOL_FLAG_USE_SELF 0x00000002
#define POOL_FLAG_EXITING 0x00000004
#define POOL_FLAG_CHANGING 0x00000008
#define POOL_FLAG_RESERVE 0x00000010
#define POOL_FLAG_CONTROL 0x00000020

typedef struct _thread_pool thread_pool_t;

typedef struct _thread_pool_attr {
    THREAD_POOL_HANDLE_T *handle;
    THREAD_POOL_PARAM_T *(*block_func)(THREAD_POOL_PARAM_T *ctp);
    void (*unblock_func)(THREAD_POOL_PARAM_T *ctp);
    int (*handler_func)(THREAD_POOL_PARAM_T *ctp);
    THREAD_POOL_PARAM_T *(*context_alloc)(THREAD_POOL_HANDLE_T *handle);
    void (*context_free)(THREAD_POOL_PARAM_T *ctp);
    pthread_attr_t *attr;
    unsigned short lo_water;
    unsigned short increment;
    unsigned short hi_water;
    unsigned short maximum;
    unsigned reserved[8];
} thread_pool_attr_t;

typedef struct _name_attach {
    dispatch_t *dpp; /* the dispatch handle */
    int chid;        /* the channel to MsgReceive() on */
    int mntid;       /* the registration id, sent as _io_connect.handle */
    int zero[2];
} name_attach_t;

name_attach_t *name_attach(dispatch_t *dpp, const char *path, unsigned flags);
int name_detach(name_attach_t *attach, unsigned flags);
int name_open(const char *name, int flags);
int name_close(int fd);

dispatch_t *dispatch_create(void);
dispatch_t *dispatch_create_channel(int chid, unsigned flags);
int dispatch_destroy(dispatch_t *dpp);

/* The resource-manager layer: an attached path is reached through the path bridge
 * (README, "Resource managers"). */
int resmgr_attach(dispatch_t *dpp, resmgr_attr_t *attr, const char *path, enum _file_type file_type,
                  unsigned flags, const resmgr_connect_funcs_t *connect_funcs,
                  const resmgr_io_funcs_t *io_funcs, RESMGR_HANDLE_T *handle);
int secpol_resmgr_attach(dispatch_t *dpp, resmgr_attr_t *attr, const char *path, enum _file_type file_type,
                         unsigned flags, const resmgr_connect_funcs_t *connect_funcs,
                         const resmgr_io_funcs_t *io_funcs, RESMGR_HANDLE_T *handle, void *secpol);
int resmgr_detach(dispatch_t *dpp, int id, unsigned flags);
resmgr_context_t *resmgr_context_alloc(dispatch_t *dpp);
void resmgr_context_free(resmgr_context_t *ctp);
resmgr_context_t *resmgr_block(resmgr_context_t *ctp);
void resmgr_unblock(resmgr_context_t *ctp);
int resmgr_handler(resmgr_context_t *ctp);

/* The dispatch layer. */
int message_attach(dispatch_t *dpp, message_attr_t *attr, int low, int high,
                   int (*func)(message_context_t *ctp, int code, unsigned flags, void *handle), void *handle);
int message_detach(dispatch_t *dpp, int low, int high, int flags);
int message_connect(dispatch_t *dpp, int flags);
int pulse_attach(dispatch_t *dpp, int flags, int code,
                 int (*func)(message_context_t *ctp, int code, unsigned flags, void *handle), void *handle);
int pulse_detach(dispatch_t *dpp, int code, int flags);
/* Not yet supported (ENOSYS). */
int select_attach(void *dpp, select_attr_t *attr, int fd, unsigned flags,
                  int (*func)(select_context_t *ctp, int fd, unsigned flags, void *handle), void *handle);
int select_detach(void *dpp, int fd);

dispatch_context_t *dispatch_context_alloc(dispatch_t *dpp);
void dispatch_context_free(dispatch_context_t *ctp);
dispatch_context_t *dispatch_block(dispatch_context_t *ctp);
void dispatch_unblock(dispatch_context_t *ctp);
int dispatch_handler(dispatch_context_t *ctp);
int dispatch_timeout(dispatch_t *dpp, struct timespec *reltime);

thread_pool_t *thread_pool_create(thread_pool_attr_t *pool_attr, unsigned flags);
int thread_pool_start(void *pool);
int thread_pool_destroy(thread_pool_t *pool);

#ifdef __cplusplus
}
#endif

#endif /* _NEUTRINO_SYS_DISPATCH_H */
