//! Events and kernel timeouts of `<sys/neutrino.h>`: `MsgDeliverEvent`, `MsgVerifyEvent`,
//! `MsgRegisterEvent`, `MsgUnregisterEvent`, `TimerTimeout`, and `<time.h>`'s
//! `timer_timeout`.
#![allow(non_snake_case)]

use super::{or_errno, or_neg};
use crate::kernel::abi::rcvid_t;
use crate::kernel::errno::KResult;
use crate::kernel::event::RawEvent;
use crate::kernel::{notify, thread, timer};
use libc::{c_int, clockid_t, sigevent, timespec};

fn deliver(rcvid: rcvid_t, event: *const sigevent, verify: bool) -> KResult<c_int> {
    notify::deliver(rcvid, &RawEvent::read(event)?, verify).map(|_| 0)
}

/// Delivers `event` to the client `rcvid` names (0: the calling thread).
#[no_mangle]
pub extern "C" fn MsgDeliverEvent(rcvid: rcvid_t, event: *const sigevent) -> c_int {
    or_errno(|| deliver(rcvid, event, false))
}

#[no_mangle]
pub extern "C" fn MsgDeliverEvent_r(rcvid: rcvid_t, event: *const sigevent) -> c_int {
    or_neg(|| deliver(rcvid, event, false))
}

/// Checks that `event` could be delivered to the client `rcvid` names.
#[no_mangle]
pub extern "C" fn MsgVerifyEvent(rcvid: rcvid_t, event: *const sigevent) -> c_int {
    or_errno(|| deliver(rcvid, event, true))
}

#[no_mangle]
pub extern "C" fn MsgVerifyEvent_r(rcvid: rcvid_t, event: *const sigevent) -> c_int {
    or_neg(|| deliver(rcvid, event, true))
}

fn register(event: *mut sigevent, coid: c_int) -> KResult<c_int> {
    let mut ev = RawEvent::read(event)?;
    notify::register(&mut ev, coid)?;
    ev.write(event);
    Ok(0)
}

/// Registers `event` for delivery by the server of `coid` (-1: any) and turns it into a
/// handle to give that server.
#[no_mangle]
pub extern "C" fn MsgRegisterEvent(event: *mut sigevent, coid: c_int) -> c_int {
    or_errno(|| register(event, coid))
}

#[no_mangle]
pub extern "C" fn MsgRegisterEvent_r(event: *mut sigevent, coid: c_int) -> c_int {
    or_neg(|| register(event, coid))
}

fn unregister(event: *const sigevent) -> KResult<c_int> {
    notify::unregister(&RawEvent::read(event)?).map(|_| 0)
}

#[no_mangle]
pub extern "C" fn MsgUnregisterEvent(event: *const sigevent) -> c_int {
    or_errno(|| unregister(event))
}

#[no_mangle]
pub extern "C" fn MsgUnregisterEvent_r(event: *const sigevent) -> c_int {
    or_neg(|| unregister(event))
}

/// `TimerTimeout` and `timer_timeout` with the times in nanoseconds.
fn timeout(
    id: clockid_t,
    flags: c_int,
    notify: *const sigevent,
    ntime: Option<u64>,
    otime: impl FnOnce(u64),
) -> KResult<c_int> {
    let notify = if notify.is_null() { None } else { Some(RawEvent::read(notify)?) };
    let (old, left) = thread::timer_timeout(id, flags as u32, notify, ntime)?;
    otime(left);
    Ok(old as c_int)
}

/// `TimerTimeout`'s nanosecond pointers.
fn timeout_ns(
    id: clockid_t,
    flags: c_int,
    notify: *const sigevent,
    ntime: *const u64,
    otime: *mut u64,
) -> KResult<c_int> {
    // SAFETY: non-NULL pointers are the caller's valid u64s.
    let ntime = unsafe { ntime.as_ref() }.copied();
    timeout(id, flags, notify, ntime, |left| {
        // SAFETY: as above.
        if let Some(o) = unsafe { otime.as_mut() } {
            *o = left;
        }
    })
}

/// Arms a timeout for the calling thread's next blocking call in the states `flags` names.
#[no_mangle]
pub extern "C" fn TimerTimeout(
    id: clockid_t,
    flags: c_int,
    notify: *const sigevent,
    ntime: *const u64,
    otime: *mut u64,
) -> c_int {
    or_errno(|| timeout_ns(id, flags, notify, ntime, otime))
}

#[no_mangle]
pub extern "C" fn TimerTimeout_r(
    id: clockid_t,
    flags: c_int,
    notify: *const sigevent,
    ntime: *const u64,
    otime: *mut u64,
) -> c_int {
    or_neg(|| timeout_ns(id, flags, notify, ntime, otime))
}

fn timeout_ts(
    id: clockid_t,
    flags: c_int,
    notify: *const sigevent,
    ntime: *const timespec,
    otime: *mut timespec,
) -> KResult<c_int> {
    // SAFETY: non-NULL pointers are the caller's valid timespecs.
    let ntime = unsafe { ntime.as_ref() }.map(timer::from_timespec).transpose()?;
    timeout(id, flags, notify, ntime, |left| {
        // SAFETY: as above.
        if let Some(o) = unsafe { otime.as_mut() } {
            *o = timer::to_timespec(left);
        }
    })
}

/// `TimerTimeout` with `timespec`s.
#[no_mangle]
pub extern "C" fn timer_timeout(
    id: clockid_t,
    flags: c_int,
    notify: *const sigevent,
    ntime: *const timespec,
    otime: *mut timespec,
) -> c_int {
    or_errno(|| timeout_ts(id, flags, notify, ntime, otime))
}
