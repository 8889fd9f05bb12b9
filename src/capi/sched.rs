//! Scheduling calls of `<sys/neutrino.h>` (`SchedGet`, `SchedSet`, `SchedInfo`,
//! `SchedYield`) and of QNX's `<sched.h>` (`getprio`, `setprio`). Priorities are QNX's:
//! see `kernel::sched` for what they change on Linux.
#![allow(non_snake_case)]

use super::{or_errno, or_neg};
use crate::kernel::abi::_sched_info;
use crate::kernel::errno::{Errno, KResult};
use crate::kernel::sched;
use libc::{c_int, pid_t, sched_param};

fn get(pid: pid_t, tid: c_int, param: *mut sched_param) -> KResult<c_int> {
    // SAFETY: a non-NULL param is the caller's writable struct.
    let param = unsafe { param.as_mut() }.ok_or(Errno::EFAULT)?;
    let (policy, prio) = sched::get(pid, tid)?;
    param.sched_priority = prio;
    Ok(policy)
}

/// The scheduling policy of thread `tid` (0: the calling thread) of process `pid` (0: the
/// calling process); `param->sched_priority` gets its priority.
#[no_mangle]
pub extern "C" fn SchedGet(pid: pid_t, tid: c_int, param: *mut sched_param) -> c_int {
    or_errno(|| get(pid, tid, param))
}

#[no_mangle]
pub extern "C" fn SchedGet_r(pid: pid_t, tid: c_int, param: *mut sched_param) -> c_int {
    or_neg(|| get(pid, tid, param))
}

fn set(pid: pid_t, tid: c_int, policy: c_int, param: *const sched_param) -> KResult<c_int> {
    // SAFETY: a non-NULL param is the caller's readable struct.
    let param = unsafe { param.as_ref() }.ok_or(Errno::EFAULT)?;
    sched::set(pid, tid, policy, param.sched_priority).map(|_| 0)
}

/// Gives thread `tid` of process `pid` the policy `policy` at priority
/// `param->sched_priority`.
#[no_mangle]
pub extern "C" fn SchedSet(pid: pid_t, tid: c_int, policy: c_int, param: *const sched_param) -> c_int {
    or_errno(|| set(pid, tid, policy, param))
}

#[no_mangle]
pub extern "C" fn SchedSet_r(pid: pid_t, tid: c_int, policy: c_int, param: *const sched_param) -> c_int {
    or_neg(|| set(pid, tid, policy, param))
}

fn sched_info(pid: pid_t, policy: c_int, out: *mut _sched_info) -> KResult<c_int> {
    // SAFETY: a non-NULL out is the caller's writable struct.
    let out = unsafe { out.as_mut() }.ok_or(Errno::EFAULT)?;
    *out = sched::info(pid, policy)?;
    Ok(0)
}

/// The priority range and round-robin interval of `policy` in process `pid`.
#[no_mangle]
pub extern "C" fn SchedInfo(pid: pid_t, policy: c_int, info: *mut _sched_info) -> c_int {
    or_errno(|| sched_info(pid, policy, info))
}

#[no_mangle]
pub extern "C" fn SchedInfo_r(pid: pid_t, policy: c_int, info: *mut _sched_info) -> c_int {
    or_neg(|| sched_info(pid, policy, info))
}

/// Lets other threads of the same priority run; always 0.
#[no_mangle]
pub extern "C" fn SchedYield() -> c_int {
    sched::yield_now();
    0
}

#[no_mangle]
pub extern "C" fn SchedYield_r() -> c_int {
    sched::yield_now();
    0
}

/// The priority of the calling thread (pid 0) or of process `pid`'s main thread (QNX 4
/// code: declared by the `<sched.h>` overlay, not generated).
#[no_mangle]
pub extern "C" fn getprio(pid: pid_t) -> c_int {
    or_errno(|| sched::get(pid, 0).map(|(_, prio)| prio))
}

/// Sets that thread's priority, keeping its policy; returns the previous priority.
#[no_mangle]
pub extern "C" fn setprio(pid: pid_t, prio: c_int) -> c_int {
    or_errno(|| {
        let (policy, old) = sched::get(pid, 0)?;
        sched::set(pid, 0, policy, prio)?;
        Ok(old)
    })
}
