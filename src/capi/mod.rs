//! The C exports, one module per QNX header. These functions check pointers, turn C
//! arguments into slices and convert the kernel's `Result` into the C convention once:
//! plain calls set `errno` and return -1, `_r` calls return `-errno` and leave `errno` alone.
//!
//! # Safety
//! Every export is `unsafe extern "C"`: callers pass pointers that are either NULL or valid
//! for the lengths they state, as the QNX documentation requires. NULL with a non-zero length
//! is reported as `EFAULT`; other invalid pointers are the caller's undefined behaviour, as in
//! any C library, except where the single copy between processes reports `EFAULT` itself.

pub mod client_info;
pub mod clock;
pub mod devctl;
pub mod dispatch;
pub mod event;
pub mod mman;
pub mod netmgr;
pub mod neutrino;
pub mod procmgr;
pub mod sched;
pub mod syspage;
pub mod time;
pub mod timer;
pub mod unistd;

use crate::kernel::errno::{Errno, KResult};
use crate::transport::copy::{self, Seg};

/// The integer types the exports return.
pub(crate) trait CInt: Copy {
    fn from_i32(v: i32) -> Self;
}
impl CInt for i32 {
    fn from_i32(v: i32) -> Self {
        v
    }
}
impl CInt for i64 {
    fn from_i32(v: i32) -> Self {
        v as i64
    }
}
impl CInt for isize {
    fn from_i32(v: i32) -> Self {
        v as isize
    }
}
/// A pointer result: -1 is `MAP_FAILED`.
impl CInt for *mut libc::c_void {
    fn from_i32(v: i32) -> Self {
        v as isize as *mut libc::c_void
    }
}

fn errno() -> i32 {
    // SAFETY: errno is the calling thread's.
    unsafe { *libc::__errno_location() }
}

fn set_errno(e: i32) {
    // SAFETY: errno is the calling thread's.
    unsafe { *libc::__errno_location() = e };
}

/// The plain convention: the value, or -1 with `errno` set. On success `errno` is left as
/// the caller had it, whatever the library's own system calls did.
pub(crate) fn or_errno<T: CInt>(call: impl FnOnce() -> KResult<T>) -> T {
    or_failed(call, T::from_i32(-1))
}

/// The pointer convention: the pointer, or NULL with `errno` set.
pub(crate) fn or_null<T>(call: impl FnOnce() -> KResult<*mut T>) -> *mut T {
    or_failed(call, std::ptr::null_mut())
}

fn or_failed<T>(call: impl FnOnce() -> KResult<T>, failed: T) -> T {
    let saved = errno();
    match call() {
        Ok(v) => {
            set_errno(saved);
            v
        }
        Err(e) => {
            set_errno(e.0);
            failed
        }
    }
}

/// The `_r` convention: the value, or `-errno`; `errno` is left alone.
pub(crate) fn or_neg<T: CInt>(call: impl FnOnce() -> KResult<T>) -> T {
    let saved = errno();
    let r = call();
    set_errno(saved);
    r.unwrap_or_else(|e| T::from_i32(-e.0))
}

/// A single buffer as one segment; NULL with a non-zero length is `EFAULT`.
pub(crate) fn buffer(ptr: *const libc::c_void, len: usize) -> KResult<[Seg; 1]> {
    if ptr.is_null() && len != 0 {
        return Err(Errno::EFAULT);
    }
    if len > isize::MAX as usize {
        return Err(Errno::EOVERFLOW);
    }
    Ok([Seg { base: ptr as usize, len }])
}

/// An IOV array as segments, borrowed in place (`Seg` has `iovec`'s layout).
///
/// # Safety
/// `iov` must be NULL or point at `parts` readable `iovec`s.
pub(crate) unsafe fn iovs<'a>(iov: *const libc::iovec, parts: usize) -> KResult<&'a [Seg]> {
    if parts == 0 {
        return Ok(&[]);
    }
    if parts > copy::MAX_PARTS {
        return Err(Errno::EOVERFLOW);
    }
    if iov.is_null() {
        return Err(Errno::EFAULT);
    }
    // SAFETY: the caller guarantees `parts` iovecs; Seg is repr(C) {usize, usize} like iovec.
    let segs = unsafe { std::slice::from_raw_parts(iov as *const Seg, parts) };
    if segs.iter().any(|s| s.base == 0 && s.len != 0) {
        return Err(Errno::EFAULT);
    }
    copy::total(segs)?;
    Ok(segs)
}
