/*
 * The POSIX layer of QNX's resource-manager library (<sys/iofunc.h>): the helpers that
 * work on the attribute, OCB and mount structures alone.  Written in C because every one
 * of them is QNX structure and macro work on types the program may extend
 * (IOFUNC_ATTR_T/IOFUNC_OCB_T), with nothing of the kernel's rules in it; the message
 * loop that calls them belongs to the resource-manager layer above the dispatch layer (dispatch.c).
 *
 * Handlers return a status as QNX's do: an errno value (EOK), _RESMGR_NPARTS(n) or
 * _RESMGR_DEFAULT.  The credentials a rule needs come from a struct _client_info, passed
 * in or read from the connection with iofunc_client_info().
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>
#include <sys/neutrino.h>
#include <sys/iofunc.h>
#include <devctl.h>

/* ---- attributes ---------------------------------------------------------------------- */

void iofunc_attr_init_sized(iofunc_attr_t *attr, mode_t mode, iofunc_attr_t *dattr, struct _client_info *info,
                            size_t size)
{
    (void)size; /* the program's extension beyond iofunc_attr_t is its own to set */
    pthread_mutexattr_t recursive;
    memset(attr, 0, sizeof(*attr));
    /* Recursive, as QNX's attribute lock: a handler may take it while the library holds
     * it around the handler (lock_ocb). */
    pthread_mutexattr_init(&recursive);
    pthread_mutexattr_settype(&recursive, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&attr->lock, &recursive);
    pthread_mutexattr_destroy(&recursive);
    attr->mode = mode;
    attr->nlink = 1;
    if (dattr != NULL) {
        attr->mount = dattr->mount;
        attr->uid = dattr->uid;
        attr->gid = dattr->gid;
    }
    if (info != NULL) {
        attr->uid = info->cred.euid;
        attr->gid = info->cred.egid;
    }
    /* The three times become "now" at the first iofunc_time_update(). */
    attr->flags = IOFUNC_ATTR_ATIME | IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME;
}

int iofunc_time_update(iofunc_attr_t *attr)
{
    struct timespec now;
    uint32_t marks = attr->flags & (IOFUNC_ATTR_ATIME | IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME);
    if (marks == 0)
        return EOK;
    clock_gettime(CLOCK_REALTIME, &now);
    if (marks & IOFUNC_ATTR_ATIME) {
        attr->atime = now.tv_sec;
        attr->atime_ns = (unsigned)now.tv_nsec;
    }
    if (marks & IOFUNC_ATTR_MTIME) {
        attr->mtime = now.tv_sec;
        attr->mtime_ns = (unsigned)now.tv_nsec;
    }
    if (marks & IOFUNC_ATTR_CTIME) {
        attr->ctime = now.tv_sec;
        attr->ctime_ns = (unsigned)now.tv_nsec;
    }
    attr->flags = (attr->flags & ~marks) | IOFUNC_ATTR_DIRTY_TIME;
    return EOK;
}

int iofunc_attr_lock(iofunc_attr_t *attr)
{
    if (attr->mount != NULL && attr->mount->funcs != NULL && attr->mount->funcs->attr_lock != NULL)
        return attr->mount->funcs->attr_lock(attr);
    return pthread_mutex_lock(&attr->lock);
}

int iofunc_attr_trylock(iofunc_attr_t *attr)
{
    if (attr->mount != NULL && attr->mount->funcs != NULL && attr->mount->funcs->attr_trylock != NULL)
        return attr->mount->funcs->attr_trylock(attr);
    return pthread_mutex_trylock(&attr->lock);
}

int iofunc_attr_unlock(iofunc_attr_t *attr)
{
    if (attr->mount != NULL && attr->mount->funcs != NULL && attr->mount->funcs->attr_unlock != NULL)
        return attr->mount->funcs->attr_unlock(attr);
    return pthread_mutex_unlock(&attr->lock);
}

int iofunc_stat(resmgr_context_t *ctp, iofunc_attr_t *attr, struct stat *st)
{
    (void)ctp;
    iofunc_time_update(attr);
    memset(st, 0, sizeof(*st));
    st->st_ino = attr->inode;
    st->st_size = attr->nbytes;
    st->st_uid = attr->uid;
    st->st_gid = attr->gid;
    st->st_mode = attr->mode;
    st->st_nlink = attr->nlink;
    st->st_rdev = attr->rdev;
    st->st_atim.tv_sec = attr->atime;
    st->st_atim.tv_nsec = attr->atime_ns;
    st->st_mtim.tv_sec = attr->mtime;
    st->st_mtim.tv_nsec = attr->mtime_ns;
    st->st_ctim.tv_sec = attr->ctime;
    st->st_ctim.tv_nsec = attr->ctime_ns;
    st->st_blksize = attr->mount != NULL && attr->mount->blocksize > 0 ? attr->mount->blocksize : 512;
    st->st_blocks = (attr->nbytes + 511) / 512;
    if (attr->mount != NULL)
        st->st_dev = attr->mount->dev;
    return EOK;
}

/* ---- credentials --------------------------------------------------------------------- */

int iofunc_client_info(resmgr_context_t *ctp, int ioflag, struct _client_info *info)
{
    (void)ioflag;
    if (ConnectClientInfo(ctp->info.scoid, info, sizeof(info->cred.grouplist) / sizeof(gid_t)) == -1)
        return errno;
    return EOK;
}

static int in_group(const struct _client_info *info, gid_t gid)
{
    if (info->cred.egid == gid)
        return 1;
    for (uint32_t i = 0; i < info->cred.ngroups && i < sizeof(info->cred.grouplist) / sizeof(gid_t); i++)
        if (info->cred.grouplist[i] == gid)
            return 1;
    return 0;
}

/* S_ISUID: be the owner; S_ISGID: be in the group (either one suffices, else EPERM);
 * S_IREAD/S_IWRITE/S_IEXEC: the owner, group or other bits that apply (else EACCES).
 * An effective uid of 0 may do everything. */
int iofunc_check_access(resmgr_context_t *ctp, const iofunc_attr_t *attr, mode_t checkmode,
                        const struct _client_info *info)
{
    mode_t granted;
    (void)ctp;
    if (info == NULL)
        return EINVAL;
    if (info->cred.euid == 0)
        return EOK;
    if ((checkmode & S_ISUID) && info->cred.euid == attr->uid)
        return EOK;
    if ((checkmode & S_ISGID) && in_group(info, attr->gid))
        return EOK;
    checkmode &= S_IRWXU;
    if (checkmode == 0)
        return EPERM;
    if (info->cred.euid == attr->uid)
        granted = attr->mode & S_IRWXU;
    else if (in_group(info, attr->gid))
        granted = (attr->mode << 3) & S_IRWXU;
    else
        granted = (attr->mode << 6) & S_IRWXU;
    return (granted & checkmode) == checkmode ? EOK : EACCES;
}

/* The caller's credentials for a rule: the connection's, read once per call. */
static int caller(resmgr_context_t *ctp, iofunc_ocb_t *ocb, struct _client_info *info)
{
    return iofunc_client_info(ctp, ocb->ioflag, info);
}

static int read_only(const iofunc_attr_t *attr)
{
    return attr->mount != NULL && (attr->mount->flags & ST_RDONLY) && !(attr->flags & IOFUNC_ATTR_SYNTHETIC);
}

/* ---- open and OCBs ------------------------------------------------------------------- */

int iofunc_open(resmgr_context_t *ctp, io_open_t *msg, iofunc_attr_t *attr, iofunc_attr_t *dattr,
                struct _client_info *info)
{
    struct _client_info own;
    uint32_t ioflag = msg->connect.ioflag;
    mode_t check = 0;
    int rc;
    if (info == NULL) {
        if ((rc = iofunc_client_info(ctp, (int)ioflag, &own)) != EOK)
            return rc;
        info = &own;
    }
    if (attr == NULL) {
        /* Nothing by that name: creating it needs O_CREAT and write and search rights
         * in the directory; the caller then makes the attribute. */
        if (!(ioflag & O_CREAT) || dattr == NULL)
            return ENOENT;
        if (read_only(dattr))
            return EROFS;
        return iofunc_check_access(ctp, dattr, S_IWRITE | S_IEXEC, info);
    }
    if ((ioflag & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
        return EEXIST;
    if (ioflag & _IO_FLAG_RD)
        check |= S_IREAD;
    if (ioflag & _IO_FLAG_WR) {
        if (S_ISDIR(attr->mode))
            return EISDIR;
        if (read_only(attr))
            return EROFS;
        check |= S_IWRITE;
    }
    return check != 0 ? iofunc_check_access(ctp, attr, check, info) : EOK;
}

IOFUNC_OCB_T *iofunc_ocb_calloc(resmgr_context_t *ctp, IOFUNC_ATTR_T *attr)
{
    if (attr->mount != NULL && attr->mount->funcs != NULL && attr->mount->funcs->ocb_calloc != NULL)
        return attr->mount->funcs->ocb_calloc(ctp, attr);
    return calloc(1, sizeof(iofunc_ocb_t));
}

void iofunc_ocb_free(IOFUNC_OCB_T *ocb)
{
    iofunc_attr_t *attr = ocb->attr;
    if (attr != NULL && attr->mount != NULL && attr->mount->funcs != NULL && attr->mount->funcs->ocb_free != NULL)
        attr->mount->funcs->ocb_free(ocb);
    else
        free(ocb);
}

/* Binds the OCB (allocated here when NULL, with the mount's ocb_calloc if it has one) to
 * the client's connection, with io_funcs or, when NULL, the attachment's I/O table. */
int iofunc_ocb_attach(resmgr_context_t *ctp, io_open_t *msg, iofunc_ocb_t *ocb, iofunc_attr_t *attr,
                      const resmgr_io_funcs_t *io_funcs)
{
    int allocated = ocb == NULL, rc;
    if (allocated && (ocb = iofunc_ocb_calloc(ctp, attr)) == NULL)
        return ENOMEM;
    ocb->attr = attr;
    ocb->ioflag = (int32_t)msg->connect.ioflag;
    ocb->sflag = msg->connect.sflag;
    ocb->flags = 0;
    ocb->offset = 0;
    if (resmgr_open_bind(ctp, ocb, io_funcs) == -1) {
        rc = errno;
        if (allocated)
            iofunc_ocb_free(ocb);
        return rc;
    }
    attr->count++;
    if (ocb->ioflag & _IO_FLAG_RD)
        attr->rcount++;
    if (ocb->ioflag & _IO_FLAG_WR)
        attr->wcount++;
    return EOK;
}

int iofunc_ocb_detach(resmgr_context_t *ctp, iofunc_ocb_t *ocb)
{
    iofunc_attr_t *attr = ocb->attr;
    int last = 0;
    (void)ctp;
    iofunc_time_update(attr); /* as QNX: the times are current when the last close comes */
    if ((ocb->ioflag & _IO_FLAG_RD) && attr->rcount > 0 && --attr->rcount == 0)
        last |= IOFUNC_OCB_LAST_READER;
    if ((ocb->ioflag & _IO_FLAG_WR) && attr->wcount > 0 && --attr->wcount == 0)
        last |= IOFUNC_OCB_LAST_WRITER;
    if (attr->count > 0 && --attr->count == 0)
        last |= IOFUNC_OCB_LAST_INUSE;
    return last;
}

/* ---- verification -------------------------------------------------------------------- */

/* The per-message _IO_XFLAG_BLOCK/_NONBLOCK win over the open's O_NONBLOCK. */
static void nonblocking(uint32_t xtype, int32_t ioflag, int *nonblock)
{
    if (nonblock == NULL)
        return;
    if (xtype & _IO_XFLAG_BLOCK)
        *nonblock = 0;
    else if (xtype & _IO_XFLAG_NONBLOCK)
        *nonblock = 1;
    else
        *nonblock = (ioflag & O_NONBLOCK) != 0;
}

int iofunc_read_verify(resmgr_context_t *ctp, io_read_t *msg, iofunc_ocb_t *ocb, int *nonblock)
{
    (void)ctp;
    if (!(ocb->ioflag & _IO_FLAG_RD))
        return EBADF;
    nonblocking(msg->i.xtype, ocb->ioflag, nonblock);
    return EOK;
}

int iofunc_write_verify(resmgr_context_t *ctp, io_write_t *msg, iofunc_ocb_t *ocb, int *nonblock)
{
    (void)ctp;
    if (!(ocb->ioflag & _IO_FLAG_WR))
        return EBADF;
    nonblocking(msg->i.xtype, ocb->ioflag, nonblock);
    return EOK;
}

int iofunc_sync_verify(resmgr_context_t *ctp, io_sync_t *msg, iofunc_ocb_t *ocb)
{
    (void)ctp;
    (void)msg;
    return (ocb->ioflag & _IO_FLAG_WR) ? EOK : EBADF;
}

/* ---- changes of the attribute -------------------------------------------------------- */

int iofunc_chmod(resmgr_context_t *ctp, io_chmod_t *msg, iofunc_ocb_t *ocb, iofunc_attr_t *attr)
{
    struct _client_info info;
    mode_t mode = msg->i.mode & ~S_IFMT;
    int rc;
    if ((rc = caller(ctp, ocb, &info)) != EOK)
        return rc;
    if (info.cred.euid != 0 && info.cred.euid != attr->uid)
        return EPERM;
    if (read_only(attr))
        return EROFS;
    /* Only a member of the file's group (or root) may set its set-group-id bit. */
    if (info.cred.euid != 0 && !in_group(&info, attr->gid))
        mode &= ~(mode_t)S_ISGID;
    attr->mode = (attr->mode & S_IFMT) | mode;
    attr->flags |= IOFUNC_ATTR_CTIME | IOFUNC_ATTR_DIRTY_MODE;
    return EOK;
}

int iofunc_chown(resmgr_context_t *ctp, io_chown_t *msg, iofunc_ocb_t *ocb, iofunc_attr_t *attr)
{
    struct _client_info info;
    uid_t uid = msg->i.uid == -1 ? attr->uid : (uid_t)msg->i.uid;
    gid_t gid = msg->i.gid == -1 ? attr->gid : (gid_t)msg->i.gid;
    int rc;
    if ((rc = caller(ctp, ocb, &info)) != EOK)
        return rc;
    if (read_only(attr))
        return EROFS;
    if (info.cred.euid != 0) {
        /* _POSIX_CHOWN_RESTRICTED (the mount's IOFUNC_PC_CHOWN_RESTRICTED, the default
         * without a mount): the owner may only change the group, to one of its own. */
        int restricted = attr->mount == NULL || (attr->mount->conf & IOFUNC_PC_CHOWN_RESTRICTED);
        if (info.cred.euid != attr->uid)
            return EPERM;
        if (restricted && (uid != attr->uid || (gid != attr->gid && !in_group(&info, gid))))
            return EPERM;
        attr->mode &= ~(mode_t)(S_ISUID | S_ISGID);
    }
    attr->uid = uid;
    attr->gid = gid;
    attr->flags |= IOFUNC_ATTR_CTIME | IOFUNC_ATTR_DIRTY_OWNER;
    return EOK;
}

int iofunc_utime(resmgr_context_t *ctp, io_utime_t *msg, iofunc_ocb_t *ocb, iofunc_attr_t *attr)
{
    struct _client_info info;
    int rc;
    if ((rc = caller(ctp, ocb, &info)) != EOK)
        return rc;
    if (read_only(attr))
        return EROFS;
    if (msg->i.cur_flag) {
        /* "Now": the owner, root or anyone who may write. */
        if (info.cred.euid != 0 && info.cred.euid != attr->uid &&
            (rc = iofunc_check_access(ctp, attr, S_IWRITE, &info)) != EOK)
            return rc;
        attr->flags |= IOFUNC_ATTR_ATIME | IOFUNC_ATTR_MTIME;
    } else {
        if (info.cred.euid != 0 && info.cred.euid != attr->uid)
            return EPERM;
        attr->atime = msg->i.times.actime;
        attr->mtime = msg->i.times.modtime;
        attr->atime_ns = attr->mtime_ns = 0;
        attr->flags &= ~(uint32_t)(IOFUNC_ATTR_ATIME | IOFUNC_ATTR_MTIME);
    }
    attr->flags |= IOFUNC_ATTR_CTIME | IOFUNC_ATTR_DIRTY_TIME;
    return EOK;
}

int iofunc_lseek(resmgr_context_t *ctp, io_lseek_t *msg, iofunc_ocb_t *ocb, iofunc_attr_t *attr)
{
    off_t base, offset = (off_t)msg->i.offset;
    (void)ctp;
    switch (msg->i.whence) {
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = ocb->offset;
        break;
    case SEEK_END:
        base = attr->nbytes;
        break;
    default:
        return EINVAL;
    }
    if ((offset < 0 && base + offset < 0) || (offset > 0 && base > INT64_MAX - offset))
        return offset < 0 ? EINVAL : EOVERFLOW;
    ocb->offset = base + offset;
    return EOK;
}

/* ---- default handlers ---------------------------------------------------------------- */

int iofunc_open_default(resmgr_context_t *ctp, io_open_t *msg, iofunc_attr_t *attr, void *extra)
{
    int rc;
    (void)extra;
    iofunc_attr_lock(attr);
    if ((rc = iofunc_open(ctp, msg, attr, NULL, NULL)) == EOK)
        rc = iofunc_ocb_attach(ctp, msg, NULL, attr, NULL);
    iofunc_attr_unlock(attr);
    return rc;
}

int iofunc_read_default(resmgr_context_t *ctp, io_read_t *msg, iofunc_ocb_t *ocb)
{
    int rc;
    if ((rc = iofunc_read_verify(ctp, msg, ocb, NULL)) != EOK)
        return rc;
    if ((msg->i.xtype & _IO_XTYPE_MASK) != _IO_XTYPE_NONE)
        return ENOSYS;
    /* Nothing to read: end of file. */
    _IO_SET_READ_NBYTES(ctp, 0);
    return _RESMGR_NPARTS(0);
}

int iofunc_write_default(resmgr_context_t *ctp, io_write_t *msg, iofunc_ocb_t *ocb)
{
    int rc;
    if ((rc = iofunc_write_verify(ctp, msg, ocb, NULL)) != EOK)
        return rc;
    if ((msg->i.xtype & _IO_XTYPE_MASK) != _IO_XTYPE_NONE)
        return ENOSYS;
    /* Everything is taken and dropped, like /dev/null. */
    if (_IO_SET_WRITE_NBYTES(ctp, msg->i.nbytes) != 0)
        ocb->attr->flags |= IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME;
    return EOK;
}

int iofunc_close_ocb_default(resmgr_context_t *ctp, void *reserved, iofunc_ocb_t *ocb)
{
    (void)reserved;
    iofunc_ocb_detach(ctp, ocb);
    iofunc_ocb_free(ocb);
    return EOK;
}

int iofunc_stat_default(resmgr_context_t *ctp, io_stat_t *msg, iofunc_ocb_t *ocb)
{
    iofunc_stat(ctp, ocb->attr, &msg->o);
    return _RESMGR_PTR(ctp, &msg->o, sizeof(msg->o));
}

int iofunc_devctl_default(resmgr_context_t *ctp, io_devctl_t *msg, iofunc_ocb_t *ocb)
{
    int *data = (int *)_DEVCTL_DATA(msg->i);
    switch (msg->i.dcmd) {
    case DCMD_ALL_GETFLAGS:
        *data = (ocb->ioflag & ~O_ACCMODE) | ((ocb->ioflag - 1) & O_ACCMODE);
        memset(&msg->o, 0, sizeof(msg->o));
        msg->o.nbytes = sizeof(int);
        return _RESMGR_PTR(ctp, &msg->o, sizeof(msg->o) + sizeof(int));
    case DCMD_ALL_SETFLAGS: {
        /* Only the flags fcntl(F_SETFL) may change. */
        const int settable = O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | O_RSYNC;
        ocb->ioflag = (ocb->ioflag & ~settable) | (*data & settable);
        return EOK;
    }
    default:
        return _RESMGR_DEFAULT;
    }
}

int iofunc_pathconf_default(resmgr_context_t *ctp, io_pathconf_t *msg, iofunc_ocb_t *ocb)
{
    uint32_t conf = ocb->attr->mount != NULL ? ocb->attr->mount->conf : IOFUNC_PC_CHOWN_RESTRICTED;
    long value;
    switch (msg->i.name) {
    case _PC_LINK_MAX:
        value = 1;
        break;
    case _PC_NAME_MAX:
        value = NAME_MAX;
        break;
    case _PC_PATH_MAX:
        value = PATH_MAX;
        break;
    case _PC_CHOWN_RESTRICTED:
        value = (conf & IOFUNC_PC_CHOWN_RESTRICTED) != 0;
        break;
    case _PC_NO_TRUNC:
        value = (conf & IOFUNC_PC_NO_TRUNC) != 0;
        break;
    case _PC_SYNC_IO:
        value = (conf & IOFUNC_PC_SYNC_IO) != 0;
        break;
    default:
        return EINVAL;
    }
    _IO_SET_PATHCONF_VALUE(ctp, value);
    return EOK;
}

int iofunc_lseek_default(resmgr_context_t *ctp, io_lseek_t *msg, iofunc_ocb_t *ocb)
{
    int rc = iofunc_lseek(ctp, msg, ocb, ocb->attr);
    if (rc != EOK)
        return rc;
    msg->o = (_Uint64t)ocb->offset;
    return _RESMGR_PTR(ctp, &msg->o, sizeof(msg->o));
}

int iofunc_chmod_default(resmgr_context_t *ctp, io_chmod_t *msg, iofunc_ocb_t *ocb)
{
    return iofunc_chmod(ctp, msg, ocb, ocb->attr);
}

int iofunc_chown_default(resmgr_context_t *ctp, io_chown_t *msg, iofunc_ocb_t *ocb)
{
    return iofunc_chown(ctp, msg, ocb, ocb->attr);
}

int iofunc_utime_default(resmgr_context_t *ctp, io_utime_t *msg, iofunc_ocb_t *ocb)
{
    return iofunc_utime(ctp, msg, ocb, ocb->attr);
}

int iofunc_sync_default(resmgr_context_t *ctp, io_sync_t *msg, iofunc_ocb_t *ocb)
{
    /* Nothing is buffered: a verified sync is done. */
    return iofunc_sync_verify(ctp, msg, ocb);
}

int iofunc_lock_ocb_default(resmgr_context_t *ctp, void *reserved, iofunc_ocb_t *ocb)
{
    (void)ctp;
    (void)reserved;
    return iofunc_attr_lock(ocb->attr);
}

int iofunc_unlock_ocb_default(resmgr_context_t *ctp, void *reserved, iofunc_ocb_t *ocb)
{
    (void)ctp;
    (void)reserved;
    return iofunc_attr_unlock(ocb->attr);
}

/* QNX's replies EINTR to a client it holds blocked on a byte-range lock.  We hold none
 * (iofunc_lock_default is ENOSYS), so the client asking to unblock is one the program's
 * handler holds (_RESMGR_NOREPLY): it gets EINTR, so that an interrupted Linux caller
 * (FUSE_INTERRUPT) is never left waiting on a reply that may not come.  A handler that
 * replies later then gets ESRCH from MsgReply(), as for any client gone. */
int iofunc_unblock_default(resmgr_context_t *ctp, io_pulse_t *msg, iofunc_ocb_t *ocb)
{
    struct _msg_info info;
    (void)msg, (void)ocb;
    if (MsgInfo(ctp->rcvid, &info) == -1 || !(info.flags & _NTO_MI_UNBLOCK_REQ))
        return _RESMGR_DEFAULT;
    MsgError(ctp->rcvid, EINTR);
    return _RESMGR_NOREPLY;
}

/* QNX's releases the byte-range locks the closing client holds; there are none here. */
int iofunc_close_dup_default(resmgr_context_t *ctp, io_close_t *msg, iofunc_ocb_t *ocb)
{
    (void)ctp, (void)msg, (void)ocb;
    return EOK;
}

/* A new OCB on the same attribute for this connection, with no more access than the
 * original open had (as QNX's iofunc_openfd). */
int iofunc_openfd_default(resmgr_context_t *ctp, io_openfd_t *msg, iofunc_ocb_t *ocb)
{
    io_open_t open;
    uint32_t want = msg->i.ioflag & _IO_FLAG_MASK;
    memset(&open, 0, sizeof open);
    open.connect.ioflag = msg->i.ioflag & (_IO_FLAG_MASK | O_TRUNC);
    open.connect.sflag = msg->i.sflag;
    if ((want & (uint32_t)ocb->ioflag) != want)
        return EACCES;
    return iofunc_ocb_attach(ctp, &open, NULL, ocb->attr, NULL);
}

/* Not supported (ENOSYS, README): _IO_FDINFO's reply (struct _fdinfo) is not declared,
 * byte-range locks (_IO_LOCK) need the attribute's lock lists, _IO_MMAP a memory object
 * for the file, and _IO_POWER QNX's power-management framework. */
int iofunc_fdinfo_default(resmgr_context_t *ctp, io_fdinfo_t *msg, iofunc_ocb_t *ocb)
{
    (void)ctp, (void)msg, (void)ocb;
    return ENOSYS;
}

int iofunc_lock_default(resmgr_context_t *ctp, io_lock_t *msg, iofunc_ocb_t *ocb)
{
    (void)ctp, (void)msg, (void)ocb;
    return ENOSYS;
}

int iofunc_mmap_default(resmgr_context_t *ctp, io_mmap_t *msg, iofunc_ocb_t *ocb)
{
    (void)ctp, (void)msg, (void)ocb;
    return ENOSYS;
}

int iofunc_power_default(resmgr_context_t *ctp, io_power_t *msg, iofunc_ocb_t *ocb)
{
    (void)ctp, (void)msg, (void)ocb;
    return ENOSYS;
}

/* ---- the tables ---------------------------------------------------------------------- */

void iofunc_func_init(unsigned nconnect, resmgr_connect_funcs_t *connect, unsigned nio, resmgr_io_funcs_t *io)
{
    if (connect != NULL && nconnect != 0) {
        memset(connect, 0, sizeof(*connect));
        connect->nfuncs = nconnect < _RESMGR_CONNECT_NFUNCS ? nconnect : (unsigned)_RESMGR_CONNECT_NFUNCS;
        connect->open = iofunc_open_default;
    }
    if (io != NULL && nio != 0) {
        memset(io, 0, sizeof(*io));
        io->nfuncs = nio < _RESMGR_IO_NFUNCS ? nio : (unsigned)_RESMGR_IO_NFUNCS;
        io->read = iofunc_read_default;
        io->write = iofunc_write_default;
        io->close_ocb = iofunc_close_ocb_default;
        io->stat = iofunc_stat_default;
        io->devctl = iofunc_devctl_default;
        io->unblock = iofunc_unblock_default;
        io->pathconf = iofunc_pathconf_default;
        io->lseek = iofunc_lseek_default;
        io->chmod = iofunc_chmod_default;
        io->chown = iofunc_chown_default;
        io->utime = iofunc_utime_default;
        io->openfd = iofunc_openfd_default;
        io->fdinfo = iofunc_fdinfo_default;
        io->lock = iofunc_lock_default;
        io->mmap = iofunc_mmap_default;
        io->close_dup = iofunc_close_dup_default;
        io->lock_ocb = iofunc_lock_ocb_default;
        io->unlock_ocb = iofunc_unlock_ocb_default;
        io->sync = iofunc_sync_default;
        io->power = iofunc_power_default;
    }
}
