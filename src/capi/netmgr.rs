//! `<sys/netmgr.h>`: node descriptors and their names, answered by the node's gateway.

use super::or_errno;
use crate::kernel::errno::Errno;
use crate::kernel::net;
use libc::{c_char, c_int, c_uint, size_t};
use std::ffi::CStr;

/// The node descriptor of the node `nodename` names; `*endstr` (if not NULL) points past
/// the name (at `nodename` itself on failure).
///
/// # Safety
/// `nodename` is a NUL-terminated string; `endstr` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn netmgr_strtond(nodename: *const c_char, endstr: *mut *mut c_char) -> c_int {
    let r = if nodename.is_null() {
        Err(Errno::EINVAL)
    } else {
        // SAFETY: the caller's contract.
        net::strtond(unsafe { CStr::from_ptr(nodename) }.to_bytes())
    };
    if !endstr.is_null() {
        let used = r.as_ref().map_or(0, |(_, used)| *used);
        // SAFETY: endstr is writable; the offset stays within the caller's string.
        unsafe { *endstr = (nodename as *mut c_char).wrapping_add(used) };
    }
    or_errno(|| r.map(|(nd, _)| nd))
}

/// Writes the name of node `nd` (the parts `flags` selects) to `buf`, truncated to
/// `maxbuf` and NUL-terminated; returns the full length with the NUL.
///
/// # Safety
/// `buf` is writable for `maxbuf` bytes (or NULL with 0).
#[no_mangle]
pub unsafe extern "C" fn netmgr_ndtostr(flags: c_uint, nd: c_int, buf: *mut c_char, maxbuf: size_t) -> c_int {
    let mut local = [0u8; 0];
    let out: &mut [u8] = if maxbuf == 0 {
        &mut local
    } else if buf.is_null() {
        return or_errno(|| Err::<c_int, _>(Errno::EFAULT));
    } else {
        // SAFETY: the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(buf as *mut u8, maxbuf) }
    };
    or_errno(|| {
        let len = net::ndtostr(flags, nd, out)?;
        if let Some(last) = out.len().checked_sub(1) {
            let end = (len - 1).min(last);
            out[end] = 0;
        }
        Ok(len as c_int)
    })
}

/// The node descriptor by which node `remote_nd` knows the node this one calls `local_nd`.
#[no_mangle]
pub extern "C" fn netmgr_remote_nd(remote_nd: c_int, local_nd: c_int) -> c_int {
    or_errno(|| net::remote_nd(remote_nd, local_nd))
}
