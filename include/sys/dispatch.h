/*
 * <sys/dispatch.h> for libneutrino: QNX's name service (name_attach, name_detach,
 * name_open, name_close) and the dispatch handles it uses.  The rest of QNX's dispatch
 * and resource-manager library (message_attach, resmgr_attach, thread pools, ...) is not
 * provided.
 *
 * Names are local to the machine (QNX 8.0 semantics): no daemon is involved, a name lives
 * exactly as long as its server holds it, and NAME_FLAG_ATTACH_GLOBAL is refused.
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
#define NAME_FLAG_ATTACH_GLOBAL 0x00000002  /* global names: not supported */
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

#ifdef __cplusplus
}
#endif

#endif /* _NEUTRINO_SYS_DISPATCH_H */
