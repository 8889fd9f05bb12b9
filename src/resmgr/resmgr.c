/*
 * The parts of QNX's resource-manager library that need the resource-manager layer (the
 * _IO_* routing to connect/io function tables, the bindings of OCBs to client
 * connections) and the path bridge that brings clients to it.  Neither exists yet: each
 * call fails with ENOSYS, as README lists, the way its prototype reports errors (errno
 * and -1 or NULL; an error number for devctl(); the status ENOSYS for the default
 * handlers, which is what the client would get).  The dispatch layer below them is in
 * dispatch.c.
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
