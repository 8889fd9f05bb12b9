/*
 * devctl()/devctlv() (<devctl.h>): not built yet, ENOSYS as README lists.  They will send
 * _IO_DEVCTL to a resource manager's descriptor, or fall back to ioctl() on any other.
 */
#include <errno.h>
#include <stddef.h>
#include <devctl.h>

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
