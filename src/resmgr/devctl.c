/*
 * devctl(), devctlv(), posix_devctl() and _devctl() (<devctl.h>), as QNX's C library has them:
 * an _IO_DEVCTL message on the descriptor (a coid, or a resource manager's descriptor, which
 * the library binds to a connection on first use), the data to the device after the header
 * and the data back after the reply's.  On any other descriptor the command is a Linux
 * ioctl(), its direction bits swapped (QNX's and Linux's are the other way round).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <sys/neutrino.h>
#include <sys/iomsg.h>
#include <devctl.h>

int __libneutrino_fd_reaches(int fd);
unsigned long __libneutrino_dcmd_to_ioctl(int dcmd);

/* Parts of the caller's own, beside the headers, kept on the stack. */
#define STACK_PARTS 8

static size_t total(const struct iovec *v, int parts)
{
    size_t n = 0;
    for (int i = 0; i < parts; i++)
        n += v[i].iov_len;
    return n;
}

/* The message: -1 with errno, or 0 with the resource manager's ret_val in *ret_val. */
static int send_devctl(int fd, int dcmd, int sparts, int rparts, const struct iovec *sv,
                       const struct iovec *rv, size_t nbytes, unsigned flags, int *ret_val)
{
    struct iovec stack[2 * (STACK_PARTS + 1)];
    struct iovec *iov = stack;
    if (sparts > STACK_PARTS || rparts > STACK_PARTS) {
        iov = malloc(sizeof *iov * ((size_t)sparts + (size_t)rparts + 2));
        if (iov == NULL)
            return -1;
    }
    struct iovec *siov = iov, *riov = iov + sparts + 1;
    io_devctl_t msg;
    memset(&msg, 0, sizeof msg);
    msg.i.type = _IO_DEVCTL;
    msg.i.combine_len = sizeof msg.i;
    msg.i.dcmd = dcmd;
    msg.i.nbytes = (_Uint32t)nbytes;
    SETIOV(siov, &msg.i, sizeof msg.i);
    if (sparts > 0)
        memcpy(siov + 1, sv, sizeof *sv * (size_t)sparts);
    SETIOV(riov, &msg.o, sizeof msg.o);
    if (rparts > 0)
        memcpy(riov + 1, rv, sizeof *rv * (size_t)rparts);
    long r = (flags & _DEVCTL_FLAG_NOCANCEL) ? MsgSendvnc(fd, siov, sparts + 1, riov, rparts + 1)
                                              : MsgSendv(fd, siov, sparts + 1, riov, rparts + 1);
    int e = errno;
    if (iov != stack)
        free(iov);
    if (r == -1) {
        errno = (flags & _DEVCTL_FLAG_NOTTY) && e == ENOSYS ? ENOTTY : e;
        return -1;
    }
    *ret_val = msg.o.ret_val;
    return 0;
}

/* The ioctl() a command is on a descriptor that is not a resource manager's. */
static int ioctl_devctl(int fd, int dcmd, void *data, int *ret_val)
{
    int r = ioctl(fd, __libneutrino_dcmd_to_ioctl(dcmd), data);
    if (r == -1)
        return -1;
    *ret_val = r;
    return 0;
}

/* -1 with errno, or 0 with the command's ret_val in *ret_val. */
static int devctl_ret(int fd, int dcmd, void *data, size_t nbytes, unsigned flags, int *ret_val)
{
    if (nbytes > SSIZE_MAX - sizeof(io_devctl_t)) {
        errno = EOVERFLOW;
        return -1;
    }
    int reaches = __libneutrino_fd_reaches(fd);
    if (reaches == -1)
        return -1;
    if (!reaches)
        return ioctl_devctl(fd, dcmd, data, ret_val);
    struct iovec sv = { data, (dcmd & DEVDIR_TO) ? nbytes : 0 };
    struct iovec rv = { data, (dcmd & DEVDIR_FROM) ? nbytes : 0 };
    return send_devctl(fd, dcmd, 1, 1, &sv, &rv, nbytes, flags, ret_val);
}

int _devctl(int fd, int dcmd, void *data_ptr, size_t nbytes, unsigned flags)
{
    int ret_val;
    if (devctl_ret(fd, dcmd, data_ptr, nbytes, flags, &ret_val) == -1)
        return -1;
    return (flags & _DEVCTL_FLAG_NORETVAL) ? 0 : ret_val;
}

int devctl(int fd, int dcmd, void *dev_data_ptr, size_t nbytes, int *dev_info_ptr)
{
    int saved = errno, ret_val;
    if (devctl_ret(fd, dcmd, dev_data_ptr, nbytes, 0, &ret_val) == -1) {
        int e = errno;
        errno = saved;
        return e;
    }
    if (dev_info_ptr != NULL)
        *dev_info_ptr = ret_val;
    return EOK;
}

int posix_devctl(int fd, int dcmd, void *__restrict dev_data_ptr, size_t nbytes, int *__restrict dev_info_ptr)
{
    return devctl(fd, dcmd, dev_data_ptr, nbytes, dev_info_ptr);
}

/* devctlv() on a plain descriptor: the ioctl gets one buffer, gathered from sv and
 * scattered back into rv, no smaller than the size the command carries. */
static int ioctl_devctlv(int fd, int dcmd, int sparts, int rparts, const struct iovec *sv,
                         const struct iovec *rv, int *ret_val)
{
    size_t in = total(sv, sparts), out = total(rv, rparts);
    size_t len = in > out ? in : out, size = ((unsigned)dcmd >> 16) & 0x3FFF;
    char *buf = calloc(len > size ? len : size, 1);
    if (buf == NULL)
        return -1;
    size_t at = 0;
    for (int i = 0; i < sparts; at += sv[i].iov_len, i++)
        memcpy(buf + at, sv[i].iov_base, sv[i].iov_len);
    int r = ioctl_devctl(fd, dcmd, buf, ret_val);
    at = 0;
    for (int i = 0; r == 0 && i < rparts; at += rv[i].iov_len, i++)
        memcpy(rv[i].iov_base, buf + at, rv[i].iov_len);
    int e = errno;
    free(buf);
    errno = e;
    return r;
}

int devctlv(int fd, int dcmd, int sparts, int rparts, const struct iovec *sv, const struct iovec *rv,
            int *dev_info_ptr)
{
    if (sparts < 0 || rparts < 0 || (sparts > 0 && sv == NULL) || (rparts > 0 && rv == NULL))
        return EINVAL;
    if (sparts > UIO_MAXIOV || rparts > UIO_MAXIOV)
        return EOVERFLOW;
    int saved = errno, ret_val, r;
    size_t in = total(sv, sparts), out = total(rv, rparts);
    int reaches = __libneutrino_fd_reaches(fd);
    if (reaches == -1)
        r = -1;
    else if (!reaches)
        r = ioctl_devctlv(fd, dcmd, sparts, rparts, sv, rv, &ret_val);
    else
        r = send_devctl(fd, dcmd, sparts, rparts, sv, rv, in > out ? in : out, 0, &ret_val);
    if (r == -1) {
        int e = errno;
        errno = saved;
        return e;
    }
    if (dev_info_ptr != NULL)
        *dev_info_ptr = ret_val;
    return EOK;
}
