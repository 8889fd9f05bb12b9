//! Shared memory objects as QNX's `<sys/mman.h>` extends them: `shm_open(SHM_ANON, ...)`
//! makes a new unnamed object on every call, `shm_ctl` sizes (and seals) one.
//!
//! An anonymous object is a memfd. Its permission bits are always 0600, whatever mode the
//! caller gives: an unnamed object is reached only through descriptors, and there group or
//! other permissions would only let another user who holds a read-only descriptor reopen it
//! writable through `/proc/self/fd`.

use super::errno::{check, Errno, KResult};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// `SHM_ANON`: `(char *)-1` in the header.
pub const SHM_ANON: usize = usize::MAX;

pub const SHMCTL_ANON: i32 = 0x1;
pub const SHMCTL_PHYS: i32 = 0x2;
pub const SHMCTL_SEAL: i32 = 0x4;
pub const SHMCTL_REVOCABLE: i32 = 0x8;
pub const SHMCTL_REPEAT: i32 = 0x800;
pub const SHMCTL_TYMEM: i32 = 0x2000;
pub const SHMCTL_GET_FLAGS: i32 = 0x4000;
pub const SHMCTL_HAS_SPECIAL: i32 = 0x8000;
pub const SHMCTL_FLAG_MASK: i32 = 0xffff;
/// Flags that need physical or typed memory, revocation or a query: nothing on Linux
/// provides them to a process.
const SHMCTL_UNSUPPORTED: i32 =
    SHMCTL_PHYS | SHMCTL_REVOCABLE | SHMCTL_REPEAT | SHMCTL_TYMEM | SHMCTL_GET_FLAGS | SHMCTL_HAS_SPECIAL;

/// Rights as a bit set (1 read, 2 write) of an `O_ACCMODE` value; `None` for the invalid 3.
pub fn rights(accmode: i32) -> Option<u32> {
    match accmode {
        libc::O_RDONLY => Some(1),
        libc::O_WRONLY => Some(2),
        libc::O_RDWR => Some(3),
        _ => None,
    }
}

/// The access mode of descriptor `fd`, which must be a regular file (a shared memory object
/// or a file) that can be mapped: `EBADF` for a closed or `O_PATH` descriptor, `EINVAL` for
/// anything else that is not a regular file.
pub fn object_access(fd: RawFd) -> KResult<i32> {
    // SAFETY: plain syscall; an invalid descriptor is reported as EBADF.
    let fl = check(unsafe { libc::fcntl(fd, libc::F_GETFL) } as libc::c_long)? as i32;
    if fl & libc::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    // SAFETY: `st` is plain data filled by the kernel.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    check(unsafe { libc::fstat(fd, &mut st) } as libc::c_long)?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(Errno::EINVAL);
    }
    Ok(fl & libc::O_ACCMODE)
}

/// A new descriptor for the object behind `fd` with access `accmode`: a fresh open of it
/// (its own file offset and status flags), as the object's permission bits allow.
pub fn reopen(fd: RawFd, accmode: i32) -> KResult<OwnedFd> {
    let path = std::ffi::CString::new(format!("/proc/self/fd/{fd}")).map_err(|_| Errno::EINVAL)?;
    // SAFETY: a valid C string; the descriptor returned is ours.
    let new = unsafe { libc::open(path.as_ptr(), accmode | libc::O_CLOEXEC) };
    check(new as libc::c_long)?;
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// `shm_open(SHM_ANON, oflag, mode)`: a new anonymous object, opened with `oflag`'s access.
/// `O_CREAT`, `O_EXCL` and `O_TRUNC` make no difference to an object nobody else can name.
pub fn open_anon(oflag: i32) -> KResult<OwnedFd> {
    let known = libc::O_ACCMODE | libc::O_CREAT | libc::O_EXCL | libc::O_TRUNC | libc::O_CLOEXEC;
    let accmode = oflag & libc::O_ACCMODE;
    if oflag & !known != 0 || rights(accmode).is_none() {
        return Err(Errno::EINVAL);
    }
    // Sealable, so that shm_ctl(SHMCTL_SEAL) can fix its size.
    // SAFETY: a valid C string; the descriptor returned is ours.
    let fd = unsafe { libc::memfd_create(c"shm_anon".as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    check(fd as libc::c_long)?;
    // SAFETY: a fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: plain syscall on our descriptor.
    check(unsafe { libc::fchmod(fd.as_raw_fd(), 0o600) } as libc::c_long)?;
    if accmode == libc::O_RDWR {
        Ok(fd)
    } else {
        reopen(fd.as_raw_fd(), accmode)
    }
}

/// `shm_ctl`: `SHMCTL_ANON` gives the object `size` bytes of (lazily allocated) memory;
/// `SHMCTL_SEAL` fixes its size for good (memfd seals: the creator cannot resize it either);
/// the hints (`SHMCTL_LAZY`, `_SHMCTL_GLOBAL`, ...) change nothing; physical, typed and
/// revocable memory and flag queries are `ENOTSUP`.
pub fn ctl(fd: RawFd, flags: i32, size: u64) -> KResult<()> {
    if flags & !SHMCTL_FLAG_MASK != 0 {
        return Err(Errno::EINVAL);
    }
    let accmode = object_access(fd)?;
    if flags & SHMCTL_UNSUPPORTED != 0 {
        return Err(Errno(libc::ENOTSUP));
    }
    if flags & (SHMCTL_ANON | SHMCTL_SEAL) == 0 {
        return Err(Errno::EINVAL);
    }
    if flags & SHMCTL_ANON != 0 {
        if accmode == libc::O_RDONLY {
            return Err(Errno(libc::EACCES));
        }
        let size = libc::off_t::try_from(size).map_err(|_| Errno::EINVAL)?;
        // SAFETY: plain syscall.
        check(unsafe { libc::ftruncate(fd, size) } as libc::c_long)?;
    }
    if flags & SHMCTL_SEAL != 0 {
        let seals = libc::F_SEAL_GROW | libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL;
        // SAFETY: plain syscalls. A named object or a file has no seals (EINVAL), a memfd
        // made without sealing only F_SEAL_SEAL: neither can be sealed.
        let have = unsafe { libc::fcntl(fd, libc::F_GET_SEALS) };
        if have == -1 || (have & libc::F_SEAL_SEAL != 0 && have & seals != seals) {
            return Err(Errno(libc::ENOTSUP));
        }
        if have & seals == seals {
            return Ok(());
        }
        // SAFETY: as above.
        check(unsafe { libc::fcntl(fd, libc::F_ADD_SEALS, seals) } as libc::c_long)?;
    }
    Ok(())
}
