/*
 * The FUSE messages src/resmgr/fuse.rs mirrors, checked against the system's
 * <linux/fuse.h>: the same sizes and offsets that fuse.rs asserts of its own structs.
 * Compiled by build.rs; it makes no code.
 */
#include <linux/fuse.h>
#include <stddef.h>

#define SIZE(t, n) _Static_assert(sizeof(struct t) == (n), #t " has the size fuse.rs has")
#define AT(t, f, n) _Static_assert(offsetof(struct t, f) == (n), #t "." #f " is where fuse.rs has it")

SIZE(fuse_in_header, 40);
AT(fuse_in_header, opcode, 4);
AT(fuse_in_header, unique, 8);
AT(fuse_in_header, nodeid, 16);
AT(fuse_in_header, uid, 24);
AT(fuse_in_header, pid, 32);
SIZE(fuse_out_header, 16);
AT(fuse_out_header, error, 4);
AT(fuse_out_header, unique, 8);
/* The first 16 bytes of fuse_init_in are what every kernel sends. */
_Static_assert(FUSE_COMPAT_INIT_OUT_SIZE == 8, "the oldest init reply");
AT(fuse_init_in, flags, 12);
SIZE(fuse_init_out, 64);
AT(fuse_init_out, max_write, 20);
AT(fuse_init_out, max_pages, 28);
AT(fuse_init_out, flags2, 32);
SIZE(fuse_attr, 88);
AT(fuse_attr, atimensec, 48);
AT(fuse_attr, mode, 60);
AT(fuse_attr, nlink, 64);
AT(fuse_attr, rdev, 76);
AT(fuse_attr, blksize, 80);
SIZE(fuse_entry_out, 128);
AT(fuse_entry_out, entry_valid, 16);
AT(fuse_entry_out, attr_valid, 24);
AT(fuse_entry_out, attr, 40);
SIZE(fuse_attr_out, 104);
AT(fuse_attr_out, attr, 16);
SIZE(fuse_getattr_in, 16);
AT(fuse_getattr_in, fh, 8);
SIZE(fuse_setattr_in, 88);
AT(fuse_setattr_in, fh, 8);
AT(fuse_setattr_in, size, 16);
AT(fuse_setattr_in, atime, 32);
AT(fuse_setattr_in, mtime, 40);
AT(fuse_setattr_in, atimensec, 56);
AT(fuse_setattr_in, mode, 68);
AT(fuse_setattr_in, uid, 76);
AT(fuse_setattr_in, gid, 80);
SIZE(fuse_open_in, 8);
AT(fuse_open_in, open_flags, 4);
SIZE(fuse_open_out, 16);
AT(fuse_open_out, open_flags, 8);
SIZE(fuse_read_in, 40);
AT(fuse_read_in, offset, 8);
AT(fuse_read_in, size, 16);
AT(fuse_read_in, flags, 32);
SIZE(fuse_write_in, 40);
AT(fuse_write_in, offset, 8);
AT(fuse_write_in, size, 16);
AT(fuse_write_in, flags, 32);
SIZE(fuse_write_out, 8);
SIZE(fuse_release_in, 24);
AT(fuse_release_in, flags, 8);
AT(fuse_release_in, lock_owner, 16);
SIZE(fuse_fsync_in, 16);
AT(fuse_fsync_in, fsync_flags, 8);
SIZE(fuse_access_in, 8);
SIZE(fuse_interrupt_in, 8);
SIZE(fuse_ioctl_in, 32);
AT(fuse_ioctl_in, cmd, 12);
AT(fuse_ioctl_in, arg, 16);
AT(fuse_ioctl_in, in_size, 24);
AT(fuse_ioctl_in, out_size, 28);
SIZE(fuse_ioctl_out, 16);
AT(fuse_ioctl_out, flags, 4);
SIZE(fuse_kstatfs, 80);
AT(fuse_kstatfs, bsize, 40);
AT(fuse_kstatfs, namelen, 44);
AT(fuse_dirent, namelen, 16);
AT(fuse_dirent, type, 20);
_Static_assert(FUSE_NAME_OFFSET == 24, "a dirent's name follows 24 bytes");

_Static_assert(FUSE_LOOKUP == 1 && FUSE_FORGET == 2 && FUSE_GETATTR == 3 && FUSE_SETATTR == 4, "opcodes");
_Static_assert(FUSE_OPEN == 14 && FUSE_READ == 15 && FUSE_WRITE == 16 && FUSE_STATFS == 17, "opcodes");
_Static_assert(FUSE_RELEASE == 18 && FUSE_FSYNC == 20 && FUSE_FLUSH == 25 && FUSE_INIT == 26, "opcodes");
_Static_assert(FUSE_OPENDIR == 27 && FUSE_READDIR == 28 && FUSE_RELEASEDIR == 29, "opcodes");
_Static_assert(FUSE_FSYNCDIR == 30 && FUSE_ACCESS == 34 && FUSE_INTERRUPT == 36 && FUSE_DESTROY == 38, "opcodes");
_Static_assert(FUSE_IOCTL == 39 && FUSE_POLL == 40 && FUSE_BATCH_FORGET == 42, "opcodes");
SIZE(fuse_poll_in, 24);
AT(fuse_poll_in, kh, 8);
AT(fuse_poll_in, flags, 16);
AT(fuse_poll_in, events, 20);
SIZE(fuse_poll_out, 8);
SIZE(fuse_notify_poll_wakeup_out, 8);
_Static_assert(FUSE_NOTIFY_POLL == 1 && FUSE_POLL_SCHEDULE_NOTIFY == 1, "poll notifications");
_Static_assert(FUSE_ASYNC_READ == 1 && FUSE_ATOMIC_O_TRUNC == 8 && FUSE_BIG_WRITES == 32, "init flags");
_Static_assert(FUSE_MAX_PAGES == (1 << 22), "init flags");
_Static_assert(FOPEN_DIRECT_IO == 1 && FUSE_GETATTR_FH == 1 && FUSE_FSYNC_FDATASYNC == 1, "flags");
_Static_assert(FATTR_MODE == 1 && FATTR_UID == 2 && FATTR_GID == 4 && FATTR_SIZE == 8, "setattr");
_Static_assert(FATTR_ATIME == 16 && FATTR_MTIME == 32 && FATTR_FH == 64, "setattr");
_Static_assert(FATTR_ATIME_NOW == 128 && FATTR_MTIME_NOW == 256, "setattr");
_Static_assert(FUSE_IOCTL_UNRESTRICTED == 2, "ioctl flags");
