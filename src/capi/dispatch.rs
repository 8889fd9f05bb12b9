//! `<sys/dispatch.h>`: the name service and the dispatch handles it needs.
#![allow(non_camel_case_types)]

use super::{or_errno, or_null};
use crate::kernel::errno::{Errno, KResult};
use crate::kernel::names::{self, NameAttach};
use libc::{c_char, c_int, c_uint};
use std::ffi::CStr;

/// The opaque `dispatch_t` of C.
pub struct dispatch_t {
    _opaque: [u8; 0],
}

pub type name_attach_t = NameAttach;

/// # Safety
/// `s` is NULL or a NUL-terminated string.
unsafe fn bytes<'a>(s: *const c_char) -> KResult<&'a [u8]> {
    if s.is_null() {
        return Err(Errno::EINVAL);
    }
    // SAFETY: the caller's contract.
    Ok(unsafe { CStr::from_ptr(s) }.to_bytes())
}

/// A dispatch handle whose channel `name_attach` creates.
#[no_mangle]
pub extern "C" fn dispatch_create() -> *mut dispatch_t {
    or_null(|| Ok(names::dispatch_create(-1) as *mut dispatch_t))
}

/// A dispatch handle for the application's channel `chid` (-1: created on first use).
#[no_mangle]
pub extern "C" fn dispatch_create_channel(chid: c_int, _flags: c_uint) -> *mut dispatch_t {
    or_null(|| Ok(names::dispatch_create(chid) as *mut dispatch_t))
}

/// Destroys the handle, its channel and the names it serves.
#[no_mangle]
pub extern "C" fn dispatch_destroy(dpp: *mut dispatch_t) -> c_int {
    or_errno(|| names::dispatch_destroy(dpp as usize).map(|_| 0))
}

/// For the dispatch layer in C (src/resmgr/dispatch.c): the channel of `dpp`,
/// made on first use when `create` is non-zero; -1 and `EINVAL` for a pointer not from
/// `dispatch_create*` or, without `create`, a handle that has no channel yet.
#[no_mangle]
pub extern "C" fn __libneutrino_dispatch_chid(dpp: *mut dispatch_t, create: c_int) -> c_int {
    or_errno(|| names::dispatch_chid(dpp as usize, create != 0))
}

/// Takes the name `path`; NULL `dpp` makes a dispatch handle.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn name_attach(
    dpp: *mut dispatch_t,
    path: *const c_char,
    flags: c_uint,
) -> *mut name_attach_t {
    // SAFETY: the caller's contract.
    or_null(|| names::attach(dpp as usize, unsafe { bytes(path)? }, flags).map(|a| a as *mut name_attach_t))
}

/// Gives the name up and frees `attach`; NULL is a no-op, as in QNX.
#[no_mangle]
pub extern "C" fn name_detach(attach: *mut name_attach_t, flags: c_uint) -> c_int {
    if attach.is_null() {
        return 0;
    }
    or_errno(|| names::detach(attach as usize, flags).map(|_| 0))
}

/// A side-channel coid to the server of `name`.
///
/// # Safety
/// `name` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn name_open(name: *const c_char, flags: c_int) -> c_int {
    // SAFETY: the caller's contract.
    or_errno(|| names::open(unsafe { bytes(name)? }, flags))
}

#[no_mangle]
pub extern "C" fn name_close(fd: c_int) -> c_int {
    or_errno(|| names::close(fd).map(|_| 0))
}
