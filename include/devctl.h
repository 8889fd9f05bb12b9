/*
 * <devctl.h> for libneutrino: QNX's device-control commands.  A command carries its
 * direction in the top two bits (_POSIX_DEVDIR_TO: data to the device, _FROM: data back),
 * the size of its data in bits 16-29 and class and number in the low 16 bits.
 *
 * devctl() sends an _IO_DEVCTL message on the descriptor: a coid, or the descriptor open()
 * gave for a resource manager's path.  On any other descriptor it is a Linux ioctl(), with
 * the direction bits swapped (README, "Resource managers").
 */
#ifndef _NEUTRINO_DEVCTL_H
#define _NEUTRINO_DEVCTL_H

#include <sys/types.h>
#include <sys/uio.h>
#include <limits.h>

#ifdef __cplusplus
extern "C" {
#endif

#define _POSIX_DEVDIR_NONE 0
#define _POSIX_DEVDIR_TO 0x80000000
#define _POSIX_DEVDIR_FROM 0x40000000
#define _POSIX_DEVDIR_TOFROM (_POSIX_DEVDIR_TO | _POSIX_DEVDIR_FROM)
#define _POSIX_DEVDIR_CMD_MASK 0x0000FFFF

#define DEVDIR_NONE _POSIX_DEVDIR_NONE
#define DEVDIR_TO _POSIX_DEVDIR_TO
#define DEVDIR_FROM _POSIX_DEVDIR_FROM
#define DEVDIR_TOFROM _POSIX_DEVDIR_TOFROM
#define DEVDIR_CMD_MASK _POSIX_DEVDIR_CMD_MASK

#define get_device_command(_cmd) ((_cmd) & DEVDIR_CMD_MASK)
#define get_device_direction(_cmd) ((_cmd) & DEVDIR_TOFROM)
#define set_device_direction(_cmd, _dir) ((_cmd) | (_dir))

/* Command classes */
#define _DCMD_ALL 0x01
#define _DCMD_FSYS 0x02
#define _DCMD_BLK _DCMD_FSYS
#define _DCMD_CHR 0x03
#define _DCMD_NET 0x04
#define _DCMD_MISC 0x05
#define _DCMD_IP 0x06
#define _DCMD_MIXER 0x07
#define _DCMD_PROC 0x08
#define _DCMD_MEM 0x09
#define _DCMD_INPUT 0x0A
#define _DCMD_PHOTON 0x0B
#define _DCMD_CAM 0x0C
#define _DCMD_USB 0x0D
#define _DCMD_MEDIA 0x0E
#define _DCMD_CAM_SIM 0x0F
#define _DCMD_MEMCLASS 0x10
#define _DCMD_PARTITION 0x11

/* The commands are ints (as devctl() takes them): the top bits make them negative. */
#define __DIOF(_class, _cmd, _data) \
    ((int)((sizeof(_data) << 16) + ((_class) << 8) + (_cmd) + _POSIX_DEVDIR_FROM))
#define __DIOT(_class, _cmd, _data) \
    ((int)((sizeof(_data) << 16) + ((_class) << 8) + (_cmd) + _POSIX_DEVDIR_TO))
#define __DIOTF(_class, _cmd, _data) \
    ((int)((sizeof(_data) << 16) + ((_class) << 8) + (_cmd) + _POSIX_DEVDIR_TOFROM))
#define __DION(_class, _cmd) ((int)(((_class) << 8) + (_cmd) + _POSIX_DEVDIR_NONE))

/* The data that follows a devctl message's header (msg is the header, not a pointer). */
#define _DEVCTL_DATA(_msg) ((void *)(sizeof(_msg) + (char *)(&(_msg))))

/* The commands every resource manager answers through iofunc_devctl_default(). */
#define DCMD_ALL_GETFLAGS __DIOF(_DCMD_ALL, 1, int)
#define DCMD_ALL_SETFLAGS __DIOT(_DCMD_ALL, 2, int)

#define _DEVCTL_FLAG_NORETVAL 0x00000001
#define _DEVCTL_FLAG_NOTTY 0x00000002
#define _DEVCTL_FLAG_NOCANCEL 0x00000004

/* Return EOK or an error number; errno is left alone. posix_devctl() is devctl(). */
int devctl(int fd, int dcmd, void *dev_data_ptr, size_t nbytes, int *dev_info_ptr);
int devctlv(int fd, int dcmd, int sparts, int rparts, const struct iovec *sv, const struct iovec *rv,
            int *dev_info_ptr);
int posix_devctl(int fd, int dcmd, void *__restrict dev_data_ptr, size_t nbytes, int *__restrict dev_info_ptr);

/* -1 with errno set, or the device's return value (0 with _DEVCTL_FLAG_NORETVAL). */
int _devctl(int fd, int dcmd, void *data_ptr, size_t nbytes, unsigned flags);

#ifdef __cplusplus
}
#endif

#endif /* _NEUTRINO_DEVCTL_H */
