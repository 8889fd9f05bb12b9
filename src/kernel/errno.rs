//! The one error type of the kernel layer: a Linux errno value carrying a QNX meaning.

use std::fmt;

/// An errno value. QNX-only errnos (ENOREMOTE, ESRVRFAULT, ...) use the numbers the
/// `<errno.h>` overlay defines.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

pub type KResult<T> = Result<T, Errno>;

impl Errno {
    pub const EPERM: Errno = Errno(libc::EPERM);
    pub const ESRCH: Errno = Errno(libc::ESRCH);
    pub const EINTR: Errno = Errno(libc::EINTR);
    pub const EBADF: Errno = Errno(libc::EBADF);
    pub const EAGAIN: Errno = Errno(libc::EAGAIN);
    pub const ENOMEM: Errno = Errno(libc::ENOMEM);
    pub const EFAULT: Errno = Errno(libc::EFAULT);
    pub const EBUSY: Errno = Errno(libc::EBUSY);
    pub const EACCES: Errno = Errno(libc::EACCES);
    pub const EINVAL: Errno = Errno(libc::EINVAL);
    pub const EMFILE: Errno = Errno(libc::EMFILE);
    pub const ENOSYS: Errno = Errno(libc::ENOSYS);
    pub const ENOTTY: Errno = Errno(libc::ENOTTY);
    pub const EOVERFLOW: Errno = Errno(libc::EOVERFLOW);
    pub const ETIMEDOUT: Errno = Errno(libc::ETIMEDOUT);
    pub const ENXIO: Errno = Errno(libc::ENXIO);
    pub const EIO: Errno = Errno(libc::EIO);
    pub const ERESTART: Errno = Errno(libc::ERESTART);
    pub const ENOENT: Errno = Errno(libc::ENOENT);
    pub const EPROTO: Errno = Errno(libc::EPROTO);
    pub const EEXIST: Errno = Errno(libc::EEXIST);
    pub const ENODEV: Errno = Errno(libc::ENODEV);
    pub const ENOTCONN: Errno = Errno(libc::ENOTCONN);
    pub const ENAMETOOLONG: Errno = Errno(libc::ENAMETOOLONG);
    /// QNX: a remote node was named but there is no network manager.
    pub const ENOREMOTE: Errno = Errno(super::abi::ENOREMOTE);
    /// QNX: the server faulted on its own buffers during a transfer.
    pub const ESRVRFAULT: Errno = Errno(super::abi::ESRVRFAULT);

    /// The calling thread's current errno.
    pub fn last() -> Errno {
        Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO))
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Errno({})", self.0)
    }
}

/// Turns a libc return value of -1 into the thread's errno.
pub fn check(ret: libc::c_long) -> KResult<libc::c_long> {
    if ret == -1 {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
}
