/*
 * The parts of QNX's dispatch and resource-manager library that need the dispatch loop
 * (the message loop that receives on a resource manager's channel, keeps the bindings of
 * OCBs to client connections and replies for handlers) and the path bridge that brings
 * clients to it.  Neither exists yet: each call fails with ENOSYS, as README lists, the
 * way its prototype reports errors (errno and -1 or NULL; an error number for devctl();
 * the status ENOSYS for the default handlers, which is what the client would get).
 */
#include <errno.h>
#include <stddef.h>
#include <sys/dispatch.h>
#include <sys/iofunc.h>
#include <devctl.h>

#define FAIL_INT() \
    do {           \
        errno = ENOSYS; \
        return -1; \
    } while (0)
#define FAIL_PTR() \
    do {           \
        errno = ENOSYS; \
        return NULL; \
    } while (0)

int resmgr_attach(dispatch_t *dpp, resmgr_attr_t *attr, const char *path, enum _file_type file_type,
                  unsigned flags, const resmgr_connect_funcs_t *connect_funcs, const resmgr_io_funcs_t *io_funcs,
                  RESMGR_HANDLE_T *handle)
{
    (void)dpp, (void)attr, (void)path, (void)file_type, (void)flags, (void)connect_funcs, (void)io_funcs,
        (void)handle;
    FAIL_INT();
}

/* QNX 8.0's form with a security policy: the same attachment. */
int secpol_resmgr_attach(dispatch_t *dpp, resmgr_attr_t *attr, const char *path, enum _file_type file_type,
                         unsigned flags, const resmgr_connect_funcs_t *connect_funcs,
                         const resmgr_io_funcs_t *io_funcs, RESMGR_HANDLE_T *handle, void *secpol)
{
    (void)secpol;
    return resmgr_attach(dpp, attr, path, file_type, flags, connect_funcs, io_funcs, handle);
}

int resmgr_detach(dispatch_t *dpp, int id, unsigned flags)
{
    (void)dpp, (void)id, (void)flags;
    FAIL_INT();
}

resmgr_context_t *resmgr_context_alloc(dispatch_t *dpp)
{
    (void)dpp;
    FAIL_PTR();
}

void resmgr_context_free(resmgr_context_t *ctp)
{
    (void)ctp;
    errno = ENOSYS;
}

resmgr_context_t *resmgr_block(resmgr_context_t *ctp)
{
    (void)ctp;
    FAIL_PTR();
}

void resmgr_unblock(resmgr_context_t *ctp)
{
    (void)ctp;
    errno = ENOSYS;
}

int resmgr_handler(resmgr_context_t *ctp)
{
    (void)ctp;
    FAIL_INT();
}

ssize_t resmgr_msgread(resmgr_context_t *ctp, void *msg, size_t size, size_t offset)
{
    (void)ctp, (void)msg, (void)size, (void)offset;
    FAIL_INT();
}

ssize_t resmgr_msgreadv(resmgr_context_t *ctp, iov_t *rmsg, int rparts, size_t offset)
{
    (void)ctp, (void)rmsg, (void)rparts, (void)offset;
    FAIL_INT();
}

ssize_t resmgr_msgget(resmgr_context_t *ctp, void *msg, size_t size, size_t offset)
{
    (void)ctp, (void)msg, (void)size, (void)offset;
    FAIL_INT();
}

ssize_t resmgr_msgwrite(resmgr_context_t *ctp, const void *msg, size_t size, size_t offset)
{
    (void)ctp, (void)msg, (void)size, (void)offset;
    FAIL_INT();
}

ssize_t resmgr_msgwritev(resmgr_context_t *ctp, const iov_t *smsg, int sparts, size_t offset)
{
    (void)ctp, (void)smsg, (void)sparts, (void)offset;
    FAIL_INT();
}

int resmgr_msgreply(resmgr_context_t *ctp, void *ptr, size_t len)
{
    (void)ctp, (void)ptr, (void)len;
    FAIL_INT();
}

int resmgr_msgreplyv(resmgr_context_t *ctp, iov_t *iov, int parts)
{
    (void)ctp, (void)iov, (void)parts;
    FAIL_INT();
}

int resmgr_open_bind(resmgr_context_t *ctp, RESMGR_OCB_T *ocb, const resmgr_io_funcs_t *iofuncs)
{
    (void)ctp, (void)ocb, (void)iofuncs;
    FAIL_INT();
}

int resmgr_unbind(resmgr_context_t *ctp)
{
    (void)ctp;
    FAIL_INT();
}

int resmgr_pathname(int id, unsigned flags, char *path, int maxbuf)
{
    (void)id, (void)flags, (void)path, (void)maxbuf;
    FAIL_INT();
}

int message_attach(dispatch_t *dpp, message_attr_t *attr, int low, int high,
                   int (*func)(message_context_t *ctp, int code, unsigned flags, void *handle), void *handle)
{
    (void)dpp, (void)attr, (void)low, (void)high, (void)func, (void)handle;
    FAIL_INT();
}

int message_detach(dispatch_t *dpp, int low, int high, int flags)
{
    (void)dpp, (void)low, (void)high, (void)flags;
    FAIL_INT();
}

int message_connect(dispatch_t *dpp, int flags)
{
    (void)dpp, (void)flags;
    FAIL_INT();
}

int pulse_attach(dispatch_t *dpp, int flags, int code,
                 int (*func)(message_context_t *ctp, int code, unsigned flags, void *handle), void *handle)
{
    (void)dpp, (void)flags, (void)code, (void)func, (void)handle;
    FAIL_INT();
}

int pulse_detach(dispatch_t *dpp, int code, int flags)
{
    (void)dpp, (void)code, (void)flags;
    FAIL_INT();
}

int select_attach(void *dpp, select_attr_t *attr, int fd, unsigned flags,
                  int (*func)(select_context_t *ctp, int fd, unsigned flags, void *handle), void *handle)
{
    (void)dpp, (void)attr, (void)fd, (void)flags, (void)func, (void)handle;
    FAIL_INT();
}

int select_detach(void *dpp, int fd)
{
    (void)dpp, (void)fd;
    FAIL_INT();
}

dispatch_context_t *dispatch_context_alloc(dispatch_t *dpp)
{
    (void)dpp;
    FAIL_PTR();
}

void dispatch_context_free(dispatch_context_t *ctp)
{
    (void)ctp;
    errno = ENOSYS;
}

dispatch_context_t *dispatch_block(dispatch_context_t *ctp)
{
    (void)ctp;
    FAIL_PTR();
}

void dispatch_unblock(dispatch_context_t *ctp)
{
    (void)ctp;
    errno = ENOSYS;
}

int dispatch_handler(dispatch_context_t *ctp)
{
    (void)ctp;
    FAIL_INT();
}

int dispatch_timeout(dispatch_t *dpp, struct timespec *reltime)
{
    (void)dpp, (void)reltime;
    FAIL_INT();
}

thread_pool_t *thread_pool_create(thread_pool_attr_t *pool_attr, unsigned flags)
{
    (void)pool_attr, (void)flags;
    FAIL_PTR();
}

int thread_pool_start(void *pool)
{
    (void)pool;
    FAIL_INT();
}

int thread_pool_destroy(thread_pool_t *pool)
{
    (void)pool;
    FAIL_INT();
}

int devctl(int fd, int dcmd, void *dev_data_ptr, size_t nbytes, int *dev_info_ptr)
{
    (void)fd, (void)dcmd, (void)dev_data_ptr, (void)nbytes, (void)dev_info_ptr;
    return ENOSYS;
}

int devctlv(int fd, int dcmd, int sparts, int rparts, const struct iovec *sv, const struct iovec *rv,
            int *dev_info_ptr)
{
    (void)fd, (void)dcmd, (void)sparts, (void)rparts, (void)sv, (void)rv, (void)dev_info_ptr;
    return ENOSYS;
}

/* Default handlers: the status a client would receive. */
int iofunc_unblock_default(resmgr_context_t *ctp, io_pulse_t *msg, iofunc_ocb_t *ocb)
{
    (void)ctp, (void)msg, (void)ocb;
    return ENOSYS;
}

int iofunc_close_dup_default(resmgr_context_t *ctp, io_close_t *msg, iofunc_ocb_t *ocb)
{
    (void)ctp, (void)msg, (void)ocb;
    return ENOSYS;
}

int iofunc_openfd_default(resmgr_context_t *ctp, io_openfd_t *msg, iofunc_ocb_t *ocb)
{
    (void)ctp, (void)msg, (void)ocb;
    return ENOSYS;
}

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
