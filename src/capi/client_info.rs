//! `<sys/neutrino.h>`: what a server learns about its clients and a client about its
//! connections.
#![allow(non_snake_case)]

use super::{or_errno, or_neg};
use crate::kernel::abi::{_client_info, _msg_info};
use crate::kernel::errno::{Errno, KResult};
use crate::kernel::{client, server};
use libc::{c_int, c_uint, gid_t, pid_t};

/// # Safety
/// `info` points at a `_client_info` whose `grouplist` has room for `ngroups` entries (at
/// least its declared 8 when `ngroups` is larger).
unsafe fn client_info(scoid: c_int, info: *mut _client_info, ngroups: c_int) -> KResult<c_int> {
    if info.is_null() {
        return Err(Errno::EFAULT);
    }
    let room = ngroups.max(0) as usize;
    // SAFETY: the caller's contract: grouplist (the last member) extends to `ngroups`.
    let groups: &mut [gid_t] = unsafe {
        std::slice::from_raw_parts_mut(std::ptr::addr_of_mut!((*info).cred.grouplist) as *mut gid_t, room)
    };
    // SAFETY: checked non-NULL; the caller's contract.
    server::client_info(scoid, unsafe { &mut *info }, groups).map(|_| 0)
}

/// Fills `info` with the credentials of the client behind `scoid` (-1: the caller).
///
/// # Safety
/// `info` points at a `_client_info` with room for `ngroups` groups.
#[no_mangle]
pub unsafe extern "C" fn ConnectClientInfo(scoid: c_int, info: *mut _client_info, ngroups: c_int) -> c_int {
    // SAFETY: forwarded caller contract.
    or_errno(|| unsafe { client_info(scoid, info, ngroups) })
}

/// # Safety
/// As `ConnectClientInfo`.
#[no_mangle]
pub unsafe extern "C" fn ConnectClientInfo_r(scoid: c_int, info: *mut _client_info, ngroups: c_int) -> c_int {
    // SAFETY: forwarded caller contract.
    or_neg(|| unsafe { client_info(scoid, info, ngroups) })
}

/// Iterates the caller's client connections: the first at or above `coid`.
///
/// # Safety
/// `info` is NULL or points at a writable `_msg_info` (`struct _server_info`).
#[no_mangle]
pub unsafe extern "C" fn ConnectServerInfo(pid: pid_t, coid: c_int, info: *mut _msg_info) -> c_int {
    // SAFETY: the caller's contract.
    or_errno(|| client::server_info(pid, coid, unsafe { info.as_mut() }))
}

/// # Safety
/// As `ConnectServerInfo`.
#[no_mangle]
pub unsafe extern "C" fn ConnectServerInfo_r(pid: pid_t, coid: c_int, info: *mut _msg_info) -> c_int {
    // SAFETY: the caller's contract.
    or_neg(|| client::server_info(pid, coid, unsafe { info.as_mut() }))
}

/// Changes the `_NTO_COF_CLOEXEC` flag of `coid`; returns the previous flags.
#[no_mangle]
pub extern "C" fn ConnectFlags(pid: pid_t, coid: c_int, mask: c_uint, bits: c_uint) -> c_int {
    or_errno(|| client::set_flags(pid, coid, mask, bits).map(|f| f as c_int))
}

#[no_mangle]
pub extern "C" fn ConnectFlags_r(pid: pid_t, coid: c_int, mask: c_uint, bits: c_uint) -> c_int {
    or_neg(|| client::set_flags(pid, coid, mask, bits).map(|f| f as c_int))
}
