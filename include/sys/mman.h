/* <sys/mman.h> overlay for libneutrino: the system's sys/mman.h plus QNX's additions for
 * shared memory (QNX 7.1/8.0): anonymous objects (SHM_ANON), single-use handles that pass
 * an object to one named process in a message, and shm_ctl.
 *
 * shm_open is redirected (an asm label, as glibc does for its own redirects) to the
 * library's version, which understands SHM_ANON and hands every other name to the C
 * library's shm_open; only code that includes this header is affected. */
#if defined(__GNUC__)
#pragma GCC system_header /* #include_next is an extension -pedantic would flag */
#endif
#include_next <sys/mman.h>

#ifndef _NEUTRINO_SYS_MMAN_H
#define _NEUTRINO_SYS_MMAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* shm_open(SHM_ANON, O_RDWR | O_CREAT, 0600): a new unnamed object on every call. */
#define SHM_ANON ((char *)-1)
extern int shm_open(const char *__name, int __oflag, mode_t __mode) __asm__("__libneutrino_shm_open");

/* shm_ctl flags. */
#define SHMCTL_ANON 0x00000001        /* give the object memory (of `size` bytes) */
#define SHMCTL_PHYS 0x00000002        /* physical memory: not supported */
#define SHMCTL_SEAL 0x00000004        /* fix the object's size */
#define SHMCTL_REVOCABLE 0x00000008   /* not supported */
#define _SHMCTL_GLOBAL 0x00000010     /* hint */
#define _SHMCTL_PRIV 0x00000020       /* hint */
#define _SHMCTL_LOWERPROT 0x00000040  /* hint */
#define _SHMCTL_LAZYWRITE 0x00000080  /* hint */
#define _SHMCTL_HIGHUSAGE 0x00000200  /* hint */
#define SHMCTL_LAZY 0x00000400        /* hint (memory is always allocated on first use) */
#define SHMCTL_REPEAT 0x00000800      /* not supported */
#define _SHMCTL_NODEFRAG 0x00001000   /* hint */
#define SHMCTL_TYMEM 0x00002000       /* typed memory: not supported */
#define SHMCTL_GET_FLAGS 0x00004000   /* not supported */
#define SHMCTL_HAS_SPECIAL 0x00008000 /* not supported */
#define SHMCTL_FLAG_MASK 0x0000ffff
/* The QNX 7.x names of the hints. */
#define SHMCTL_GLOBAL _SHMCTL_GLOBAL
#define SHMCTL_PRIV _SHMCTL_PRIV
#define SHMCTL_LOWERPROT _SHMCTL_LOWERPROT
#define SHMCTL_LAZYWRITE _SHMCTL_LAZYWRITE
#define SHMCTL_HIGHUSAGE _SHMCTL_HIGHUSAGE
#define SHMCTL_NODEFRAG _SHMCTL_NODEFRAG

extern int shm_ctl(int __fd, int __flags, uint64_t __physical, uint64_t __size);
extern int shm_ctl_special(int __fd, int __flags, uint64_t __physical, uint64_t __size,
                           unsigned __special);

/* Shared-memory handles: opaque, single use, redeemable only by the process named. */
typedef uint64_t shm_handle_t;

#define SHM_CREATE_HANDLE_OPT_NOFD 0x00000001U     /* only mmap_handle() may use it */
#define SHM_CREATE_HANDLE_OPT_SUBRANGE 0x00000002U /* shm_create_subrange_handle() */
#define SHM_CREATE_HANDLE_OPT_VALID_MASK 0x00000003U

extern int shm_create_handle(int __fd, pid_t __pid, int __flags, shm_handle_t *__handlep,
                             unsigned __options);
extern int shm_create_subrange_handle(int __fd, pid_t __pid, int __flags,
                                      shm_handle_t *__handlep, unsigned __options,
                                      size_t __size, off_t __offset);
extern int shm_open_handle(shm_handle_t __handle, int __flags);
extern int shm_open_handle_pid(shm_handle_t __handle, int __flags, pid_t __pid);
extern int shm_delete_handle(shm_handle_t __handle);
extern int shm_revoke(int __fd, pid_t __pid);
extern void *mmap_handle(void *__addr, size_t __len, int __prot, int __flags,
                         shm_handle_t __handle, off_t __off);
extern void *mmap_handle_pid(void *__addr, size_t __len, int __prot, int __flags,
                             shm_handle_t __handle, pid_t __pid, off_t __off);

#ifdef __cplusplus
}
#endif

#endif /* _NEUTRINO_SYS_MMAN_H */
