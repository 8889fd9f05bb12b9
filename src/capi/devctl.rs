//! What devctl() and devctlv() (C, src/resmgr/devctl.c) ask of the library.

use super::or_errno;
use crate::kernel::fdbind;
use crate::resmgr::devctl::qnx_to_linux;
use libc::{c_int, c_ulong};

/// Whether messages reach descriptor `fd`: 1 for a coid or a resource manager's descriptor
/// (bound to it now), 0 for any other file (devctl() is an ioctl() there), -1 and `EBADF`
/// for a closed one.
#[no_mangle]
pub extern "C" fn __libneutrino_fd_reaches(fd: c_int) -> c_int {
    or_errno(|| fdbind::reaches(fd).map(c_int::from))
}

/// The Linux ioctl request QNX devctl command `dcmd` is.
#[no_mangle]
pub extern "C" fn __libneutrino_dcmd_to_ioctl(dcmd: c_int) -> c_ulong {
    qnx_to_linux(dcmd as u32) as c_ulong
}
