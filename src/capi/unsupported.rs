//! Calls `<sys/neutrino.h>` declares that libneutrino does not support yet. Each fails with
//! `ENOSYS` (the `_r` form returns `-ENOSYS`) and is listed as "not yet" in the README's
//! compatibility table, so a port learns at once what is missing.
#![allow(non_snake_case, unused_variables)]

use super::{or_errno, or_neg};
use crate::kernel::abi::{_itimer, nto_channel_config, rcvid_t};
use crate::kernel::errno::{Errno, KResult};
use libc::{c_int, c_uint, clockid_t, sigevent, timer_t};

fn not_yet() -> KResult<c_int> {
    Err(Errno::ENOSYS)
}

#[no_mangle]
pub extern "C" fn ChannelCreatePulsePool(flags: c_uint, config: *const nto_channel_config) -> c_int {
    or_errno(not_yet)
}

#[no_mangle]
pub extern "C" fn ChannelCreatePulsePool_r(flags: c_uint, config: *const nto_channel_config) -> c_int {
    or_neg(not_yet)
}

#[no_mangle]
pub extern "C" fn MsgDeliverEvent(rcvid: rcvid_t, event: *const sigevent) -> c_int {
    or_errno(not_yet)
}

#[no_mangle]
pub extern "C" fn MsgDeliverEvent_r(rcvid: rcvid_t, event: *const sigevent) -> c_int {
    or_neg(not_yet)
}

#[no_mangle]
pub extern "C" fn MsgVerifyEvent(rcvid: rcvid_t, event: *const sigevent) -> c_int {
    or_errno(not_yet)
}

#[no_mangle]
pub extern "C" fn MsgVerifyEvent_r(rcvid: rcvid_t, event: *const sigevent) -> c_int {
    or_neg(not_yet)
}

#[no_mangle]
pub extern "C" fn MsgRegisterEvent(event: *mut sigevent, coid: c_int) -> c_int {
    or_errno(not_yet)
}

#[no_mangle]
pub extern "C" fn MsgRegisterEvent_r(event: *mut sigevent, coid: c_int) -> c_int {
    or_neg(not_yet)
}

#[no_mangle]
pub extern "C" fn MsgUnregisterEvent(event: *const sigevent) -> c_int {
    or_errno(not_yet)
}

#[no_mangle]
pub extern "C" fn MsgUnregisterEvent_r(event: *const sigevent) -> c_int {
    or_neg(not_yet)
}

#[no_mangle]
pub extern "C" fn TimerTimeout(
    id: clockid_t,
    flags: c_int,
    notify: *const sigevent,
    ntime: *const u64,
    otime: *mut u64,
) -> c_int {
    or_errno(not_yet)
}

#[no_mangle]
pub extern "C" fn TimerTimeout_r(
    id: clockid_t,
    flags: c_int,
    notify: *const sigevent,
    ntime: *const u64,
    otime: *mut u64,
) -> c_int {
    or_neg(not_yet)
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
