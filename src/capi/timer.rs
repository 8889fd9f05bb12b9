//! The timer kernel calls of `<sys/neutrino.h>`: `TimerCreate`, `TimerDestroy`,
//! `TimerSettime`, `TimerInfo` and `TimerAlarm`. Ids of timers that `timer_create` left to
//! glibc (its own notify types) work too: `TimerSettime` and `TimerDestroy` pass them on.
#![allow(non_snake_case)]

use super::{or_errno, or_neg};
use crate::kernel::abi::_itimer;
use crate::kernel::abi::_timer_info;
use crate::kernel::errno::{check, Errno, KResult};
use crate::kernel::event::RawEvent;
use crate::kernel::timer;
use libc::{c_int, clockid_t, pid_t, sigevent, timer_t};

fn create(id: clockid_t, notify: *const sigevent) -> KResult<c_int> {
    let event = if notify.is_null() { None } else { Some(RawEvent::read(notify)?) };
    timer::create(id, event)
}

/// Creates a disarmed timer on clock `id` that delivers `notify` (NULL: `SIGALRM`); returns
/// its id.
#[no_mangle]
pub extern "C" fn TimerCreate(id: clockid_t, notify: *const sigevent) -> c_int {
    or_errno(|| create(id, notify))
}

#[no_mangle]
pub extern "C" fn TimerCreate_r(id: clockid_t, notify: *const sigevent) -> c_int {
    or_neg(|| create(id, notify))
}

fn destroy(id: timer_t) -> KResult<c_int> {
    if timer::is_ours(id as isize) {
        return timer::delete(id as isize).map(|_| 0);
    }
    // SAFETY: glibc checks the id it is given.
    check(unsafe { libc::timer_delete(id) } as libc::c_long).map(|_| 0)
}

#[no_mangle]
pub extern "C" fn TimerDestroy(id: timer_t) -> c_int {
    or_errno(|| destroy(id))
}

#[no_mangle]
pub extern "C" fn TimerDestroy_r(id: timer_t) -> c_int {
    or_neg(|| destroy(id))
}

fn settime(id: timer_t, flags: c_int, itime: *const _itimer, oitime: *mut _itimer) -> KResult<c_int> {
    let tolerance = timer::sets_tolerance(flags as u32)?;
    // SAFETY: non-NULL pointers are the caller's valid _itimers.
    let (new, out) = unsafe { (itime.as_ref(), oitime.as_mut()) };
    // Setting a tolerance needs no value.
    let new = match new {
        Some(n) => *n,
        None if tolerance => _itimer::default(),
        None => return Err(Errno::EFAULT),
    };
    let old = if timer::is_ours(id as isize) {
        timer::settime(id as isize, flags as u32, &new)?
    } else if tolerance {
        glibc_tolerance(id)?
    } else {
        glibc_settime(id, flags as u32, &new)?
    };
    if let Some(o) = out {
        *o = old;
    }
    Ok(0)
}

/// `TIMER_TOLERANCE` on a timer glibc runs: the id is checked, nothing is armed, and the
/// tolerance reported is 0 (see `timer::sets_tolerance`).
pub(crate) fn glibc_tolerance(id: timer_t) -> KResult<_itimer> {
    let mut cur = libc::itimerspec { it_value: timer::to_timespec(0), it_interval: timer::to_timespec(0) };
    // SAFETY: cur is valid for the call; glibc checks the id.
    check(unsafe { libc::timer_gettime(id, &mut cur) } as libc::c_long)?;
    Ok(_itimer::default())
}

/// `TimerSettime` on a timer glibc runs.
fn glibc_settime(id: timer_t, flags: u32, new: &_itimer) -> KResult<_itimer> {
    let ts = timer::to_timespec;
    let new = libc::itimerspec { it_value: ts(new.nsec), it_interval: ts(new.interval_nsec) };
    let mut old = libc::itimerspec { it_value: ts(0), it_interval: ts(0) };
    let abs = if timer::is_absolute(flags) { libc::TIMER_ABSTIME } else { 0 };
    // SAFETY: both itimerspecs are valid for the call; glibc checks the id.
    check(unsafe { libc::timer_settime(id, abs, &new, &mut old) } as libc::c_long)?;
    let ns = |t: &libc::timespec| timer::from_timespec(t).unwrap_or(0);
    Ok(_itimer { nsec: ns(&old.it_value), interval_nsec: ns(&old.it_interval) })
}

/// Arms timer `id` (`itime->nsec` 0 disarms it; `TIMER_ABSTIME` in QNX's or Linux's value
/// for an absolute time); `oitime` receives what was left of the previous setting. With
/// `TIMER_TOLERANCE` it sets the timer's tolerance instead (`itime` may be NULL).
#[no_mangle]
pub extern "C" fn TimerSettime(
    id: timer_t,
    flags: c_int,
    itime: *const _itimer,
    oitime: *mut _itimer,
) -> c_int {
    or_errno(|| settime(id, flags, itime, oitime))
}

#[no_mangle]
pub extern "C" fn TimerSettime_r(
    id: timer_t,
    flags: c_int,
    itime: *const _itimer,
    oitime: *mut _itimer,
) -> c_int {
    or_neg(|| settime(id, flags, itime, oitime))
}

fn describe(pid: pid_t, id: timer_t, flags: c_int, info: *mut _timer_info) -> KResult<c_int> {
    let id = i32::try_from(id as isize).map_err(|_| Errno::EINVAL)?;
    // SAFETY: a non-NULL info is the caller's writable _timer_info.
    timer::info(pid, id, flags as u32, unsafe { info.as_mut() })
}

/// Describes timer `id` of the calling process (pid 0 or its own) and returns its id; with
/// `_NTO_TIMER_SEARCH`, the first timer from `id` on.
#[no_mangle]
pub extern "C" fn TimerInfo(pid: pid_t, id: timer_t, flags: c_int, info: *mut _timer_info) -> c_int {
    or_errno(|| describe(pid, id, flags, info))
}

#[no_mangle]
pub extern "C" fn TimerInfo_r(pid: pid_t, id: timer_t, flags: c_int, info: *mut _timer_info) -> c_int {
    or_neg(|| describe(pid, id, flags, info))
}

fn alarm(id: clockid_t, itime: *const _itimer, otime: *mut _itimer) -> KResult<c_int> {
    // SAFETY: non-NULL pointers are the caller's valid _itimers.
    let (new, out) = unsafe { (itime.as_ref(), otime.as_mut()) };
    let old = timer::alarm(id, new)?;
    if let Some(o) = out {
        *o = old;
    }
    Ok(0)
}

/// The process's alarm: `SIGALRM` after `itime->nsec`, then every `itime->interval_nsec`
/// (`nsec` 0 cancels it; NULL `itime` only reads the time left into `otime`).
#[no_mangle]
pub extern "C" fn TimerAlarm(id: clockid_t, itime: *const _itimer, otime: *mut _itimer) -> c_int {
    or_errno(|| alarm(id, itime, otime))
}

#[no_mangle]
pub extern "C" fn TimerAlarm_r(id: clockid_t, itime: *const _itimer, otime: *mut _itimer) -> c_int {
    or_neg(|| alarm(id, itime, otime))
}
