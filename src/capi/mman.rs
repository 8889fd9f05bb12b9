//! `<sys/mman.h>`: QNX's additions for shared memory: anonymous objects (`SHM_ANON`),
//! single-use handles, `shm_ctl`. The prototypes are hand-written in the header overlay
//! (include/sys/mman.h), which also redirects `shm_open` to [`__libneutrino_shm_open`].

use super::or_errno;
use crate::kernel::errno::{check, Errno, KResult};
use crate::kernel::{shm, shm_handles};
use libc::{c_char, c_int, c_uint, c_void, mode_t, off_t, pid_t, size_t};
use std::os::fd::IntoRawFd;

/// `shm_open` for code that includes the overlay (an asm label there): `SHM_ANON` makes a
/// new unnamed object; every other name goes to the C library's `shm_open`.
///
/// # Safety
/// `name` is `SHM_ANON`, NULL, or a valid C string.
#[no_mangle]
pub unsafe extern "C" fn __libneutrino_shm_open(name: *const c_char, oflag: c_int, mode: mode_t) -> c_int {
    or_errno(|| {
        if name as usize == shm::SHM_ANON {
            return Ok(shm::open_anon(oflag)?.into_raw_fd());
        }
        if name.is_null() {
            return Err(Errno::EFAULT);
        }
        // SAFETY: a C string, as the caller's contract says.
        Ok(check(unsafe { libc::shm_open(name, oflag, mode) } as libc::c_long)? as c_int)
    })
}

/// Creates a single-use handle through which process `pid` may open `fd`'s object.
///
/// # Safety
/// `handlep` is NULL or valid for writing a `shm_handle_t`.
#[no_mangle]
pub unsafe extern "C" fn shm_create_handle(
    fd: c_int,
    pid: pid_t,
    flags: c_int,
    handlep: *mut u64,
    options: c_uint,
) -> c_int {
    or_errno(|| {
        if handlep.is_null() {
            return Err(Errno::EFAULT);
        }
        let h = shm_handles::create(fd, pid, flags, options)?;
        // SAFETY: checked non-NULL; the caller's contract.
        unsafe { handlep.write_unaligned(h) };
        Ok(0)
    })
}

fn open_handle(handle: u64, flags: c_int, pid: Option<pid_t>) -> KResult<c_int> {
    if pid.is_some_and(|p| p != shm_handles::creator(handle)) {
        return Err(Errno::EBADF);
    }
    Ok(shm_handles::open(handle, flags, false)?.into_raw_fd())
}

/// Opens the object behind a handle made for the calling process.
#[no_mangle]
pub extern "C" fn shm_open_handle(handle: u64, flags: c_int) -> c_int {
    or_errno(|| open_handle(handle, flags, None))
}

/// As `shm_open_handle`, provided process `pid` made the handle.
#[no_mangle]
pub extern "C" fn shm_open_handle_pid(handle: u64, flags: c_int, pid: pid_t) -> c_int {
    or_errno(|| open_handle(handle, flags, Some(pid)))
}

/// Deletes a handle; its creator and its recipient may.
#[no_mangle]
pub extern "C" fn shm_delete_handle(handle: u64) -> c_int {
    or_errno(|| shm_handles::delete(handle).map(|_| 0))
}

/// # Safety
/// As `mmap` (`addr` matters only with `MAP_FIXED`, where the caller owns that range).
unsafe fn map_handle(
    addr: *mut c_void,
    len: size_t,
    prot: c_int,
    flags: c_int,
    handle: u64,
    pid: Option<pid_t>,
    off: off_t,
) -> KResult<*mut c_void> {
    if pid.is_some_and(|p| p != shm_handles::creator(handle)) {
        return Err(Errno::EBADF);
    }
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    // Only a shared writable mapping writes to the object; a private one copies.
    let shared = matches!(flags & libc::MAP_TYPE, libc::MAP_SHARED | libc::MAP_SHARED_VALIDATE);
    let accmode = if shared && prot & libc::PROT_WRITE != 0 { libc::O_RDWR } else { libc::O_RDONLY };
    let fd = shm_handles::open(handle, accmode, true)?;
    // SAFETY: the caller's contract, as for mmap; the descriptor is valid.
    let p = unsafe { libc::mmap(addr, len, prot, flags, std::os::fd::AsRawFd::as_raw_fd(&fd), off) };
    if p == libc::MAP_FAILED {
        return Err(Errno::last());
    }
    Ok(p)
}

/// Maps the object behind a handle made for the calling process (the handle is used up).
///
/// # Safety
/// As `mmap`.
#[no_mangle]
pub unsafe extern "C" fn mmap_handle(
    addr: *mut c_void,
    len: size_t,
    prot: c_int,
    flags: c_int,
    handle: u64,
    off: off_t,
) -> *mut c_void {
    // SAFETY: forwarded caller contract.
    or_errno(|| unsafe { map_handle(addr, len, prot, flags, handle, None, off) })
}

/// As `mmap_handle`, provided process `pid` made the handle.
///
/// # Safety
/// As `mmap`.
#[no_mangle]
pub unsafe extern "C" fn mmap_handle_pid(
    addr: *mut c_void,
    len: size_t,
    prot: c_int,
    flags: c_int,
    handle: u64,
    pid: pid_t,
    off: off_t,
) -> *mut c_void {
    // SAFETY: forwarded caller contract.
    or_errno(|| unsafe { map_handle(addr, len, prot, flags, handle, Some(pid), off) })
}

/// Gives an object memory (`SHMCTL_ANON`) or fixes its size (`SHMCTL_SEAL`).
#[no_mangle]
pub extern "C" fn shm_ctl(fd: c_int, flags: c_int, physical: u64, size: u64) -> c_int {
    let _ = physical; // only meaningful with SHMCTL_PHYS, which is not supported
    or_errno(|| shm::ctl(fd, flags, size).map(|_| 0))
}

// --- Declared for QNX code to compile; not supported (README) -----------------------------

fn not_supported() -> KResult<c_int> {
    Err(Errno::ENOSYS)
}

/// Subrange handles: `ENOSYS`.
#[no_mangle]
pub extern "C" fn shm_create_subrange_handle(
    _fd: c_int,
    _pid: pid_t,
    _flags: c_int,
    _handlep: *mut u64,
    _options: c_uint,
    _size: size_t,
    _offset: off_t,
) -> c_int {
    or_errno(not_supported)
}

/// Revocation (Linux cannot take a mapping away from a process): `ENOSYS`.
#[no_mangle]
pub extern "C" fn shm_revoke(_fd: c_int, _pid: pid_t) -> c_int {
    or_errno(not_supported)
}

/// Platform-specific memory attributes: `ENOSYS`.
#[no_mangle]
pub extern "C" fn shm_ctl_special(
    _fd: c_int,
    _flags: c_int,
    _physical: u64,
    _size: u64,
    _special: c_uint,
) -> c_int {
    or_errno(not_supported)
}
