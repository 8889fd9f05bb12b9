//! Calls `<sys/neutrino.h>` declares that libneutrino does not support yet. Each fails with
//! `ENOSYS` (the `_r` form returns `-ENOSYS`) and is listed as "not yet" in the README's
//! compatibility table, so a port learns at once what is missing.
#![allow(non_snake_case, unused_variables)]

use super::{or_errno, or_neg};
use crate::kernel::abi::_itimer;
use crate::kernel::errno::{Errno, KResult};
use libc::{c_int, clockid_t, sigevent, timer_t};

fn not_yet() -> KResult<c_int> {
    Err(Errno::ENOSYS)
}

#[no_mangle]
pub extern "C" fn TimerCreate(id: clockid_t, notify: *const sigevent) -> c_int {
    or_errno(not_yet)
}

#[no_mangle]
pub extern "C" fn TimerCreate_r(id: clockid_t, notify: *const sigevent) -> c_int {
    or_neg(not_yet)
}

#[no_mangle]
pub extern "C" fn TimerDestroy(id: timer_t) -> c_int {
    or_errno(not_yet)
}

#[no_mangle]
pub extern "C" fn TimerDestroy_r(id: timer_t) -> c_int {
    or_neg(not_yet)
}

#[no_mangle]
pub extern "C" fn TimerSettime(
    id: timer_t,
    flags: c_int,
    itime: *const _itimer,
    oitime: *mut _itimer,
) -> c_int {
    or_errno(not_yet)
}

#[no_mangle]
pub extern "C" fn TimerSettime_r(
    id: timer_t,
    flags: c_int,
    itime: *const _itimer,
    oitime: *mut _itimer,
) -> c_int {
    or_neg(not_yet)
}

#[no_mangle]
pub extern "C" fn TimerAlarm(id: clockid_t, itime: *const _itimer, otime: *mut _itimer) -> c_int {
    or_errno(not_yet)
}

#[no_mangle]
pub extern "C" fn TimerAlarm_r(id: clockid_t, itime: *const _itimer, otime: *mut _itimer) -> c_int {
    or_neg(not_yet)
}
