//! What the `<time.h>` overlay redirects `timer_create`, `timer_settime`, `timer_gettime`,
//! `timer_getoverrun` and `timer_delete` to, for code compiled against libneutrino's
//! headers: timers with QNX's notify types (`SIGEV_PULSE`, `SIGEV_SIGNAL_CODE`,
//! `SIGEV_SIGNAL_THREAD`, `SIGEV_UNBLOCK`) are libneutrino's; glibc's own notify types
//! (`SIGEV_SIGNAL`, `SIGEV_NONE`, `SIGEV_THREAD`, `SIGEV_THREAD_ID`) and every other id go to
//! glibc unchanged, with QNX's flag bits (`SIGEV_FLAG_SIVAL_INT`, ...) taken off the copy
//! glibc sees. Timer ids never collide: each of libneutrino's holds a kernel timer id.

use super::or_errno;
use crate::kernel::abi::_itimer;
use crate::kernel::errno::{Errno, KResult};
use crate::kernel::event::{RawEvent, SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD};
use crate::kernel::{clock, timer};
use libc::{c_int, clockid_t, itimerspec, sigevent, timer_t};

/// glibc's notify types: glibc runs these timers.
fn glibc_kind(notify: u32) -> bool {
    matches!(notify & 0xff, SIGEV_SIGNAL | SIGEV_NONE | SIGEV_THREAD)
        || (notify & 0xff) as i32 == libc::SIGEV_THREAD_ID
}

fn ours(id: timer_t) -> Option<isize> {
    timer::is_ours(id as isize).then_some(id as isize)
}

/// # Safety
/// `evp` is NULL or a valid event; `timerid` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn __libneutrino_timer_create(
    clock: clockid_t,
    evp: *mut sigevent,
    timerid: *mut timer_t,
) -> c_int {
    let qnx = match (timerid.is_null(), evp.is_null()) {
        (true, _) => return or_errno(|| Err::<c_int, _>(Errno::EFAULT)),
        (false, true) => None,
        (false, false) => RawEvent::read(evp).ok().filter(|ev| !glibc_kind(ev.notify)),
    };
    let Some(ev) = qnx else {
        // SAFETY: evp is NULL or valid, as the caller guarantees.
        let mut plain = unsafe { evp.as_ref() }.copied();
        if let Some(e) = plain.as_mut() {
            e.sigev_notify &= 0xff;
        }
        let evp = plain.as_mut().map_or(std::ptr::null_mut(), |e| e as *mut sigevent);
        // SAFETY: as above; timerid was checked non-NULL.
        return unsafe { libc::timer_create(clock, evp, timerid) };
    };
    or_errno(|| {
        let id = timer::create(clock, Some(ev))?;
        // SAFETY: checked non-NULL; the caller's timer_t.
        unsafe { *timerid = id as isize as timer_t };
        Ok(0)
    })
}

/// `timer_settime` on one of libneutrino's timers, or `TIMER_TOLERANCE` on any timer.
fn settime(id: timer_t, flags: c_int, value: *const itimerspec, ovalue: *mut itimerspec) -> KResult<c_int> {
    let tolerance = timer::sets_tolerance(flags as u32)?;
    // SAFETY: non-NULL pointers are the caller's valid itimerspecs.
    let (new, out) = unsafe { (value.as_ref(), ovalue.as_mut()) };
    let new = match new {
        Some(v) => _itimer {
            nsec: timer::from_timespec(&v.it_value)?,
            interval_nsec: timer::from_timespec(&v.it_interval)?,
        },
        // Setting a tolerance needs no value.
        None if tolerance => _itimer::default(),
        None => return Err(Errno::EFAULT),
    };
    let old = match ours(id) {
        Some(id) => timer::settime(id, flags as u32, &new)?,
        None => super::timer::glibc_tolerance(id)?,
    };
    if let Some(o) = out {
        *o = itimerspec {
            it_value: timer::to_timespec(old.nsec),
            it_interval: timer::to_timespec(old.interval_nsec),
        };
    }
    Ok(0)
}

/// # Safety
/// As `timer_settime`.
#[no_mangle]
pub unsafe extern "C" fn __libneutrino_timer_settime(
    id: timer_t,
    flags: c_int,
    value: *const itimerspec,
    ovalue: *mut itimerspec,
) -> c_int {
    match ours(id) {
        // SAFETY: the caller's arguments, as glibc takes them.
        None if flags as u32 & timer::TIMER_TOLERANCE == 0 => unsafe {
            libc::timer_settime(id, flags, value, ovalue)
        },
        _ => or_errno(|| settime(id, flags, value, ovalue)),
    }
}

fn gettime(id: isize, value: *mut itimerspec) -> KResult<c_int> {
    // SAFETY: a non-NULL value is the caller's writable itimerspec.
    let out = unsafe { value.as_mut() }.ok_or(Errno::EFAULT)?;
    let cur = timer::gettime(id)?;
    *out = itimerspec {
        it_value: timer::to_timespec(cur.nsec),
        it_interval: timer::to_timespec(cur.interval_nsec),
    };
    Ok(0)
}

/// # Safety
/// As `timer_gettime`.
#[no_mangle]
pub unsafe extern "C" fn __libneutrino_timer_gettime(id: timer_t, value: *mut itimerspec) -> c_int {
    match ours(id) {
        Some(id) => or_errno(|| gettime(id, value)),
        // SAFETY: the caller's arguments, as glibc takes them.
        None => unsafe { libc::timer_gettime(id, value) },
    }
}

/// # Safety
/// As `timer_getoverrun`.
#[no_mangle]
pub unsafe extern "C" fn __libneutrino_timer_getoverrun(id: timer_t) -> c_int {
    match ours(id) {
        Some(id) => or_errno(|| timer::overruns(id)),
        // SAFETY: glibc checks the id it is given.
        None => unsafe { libc::timer_getoverrun(id) },
    }
}

/// # Safety
/// As `timer_delete`.
#[no_mangle]
pub unsafe extern "C" fn __libneutrino_timer_delete(id: timer_t) -> c_int {
    match ours(id) {
        Some(id) => or_errno(|| timer::delete(id).map(|_| 0)),
        // SAFETY: glibc checks the id it is given.
        None => unsafe { libc::timer_delete(id) },
    }
}

/// QNX 8.0's `clock_gettime_ns`: clock `id`'s time in nanoseconds into `now_ns`.
///
/// # Safety
/// `now_ns` is NULL (`EFAULT`) or writable.
#[no_mangle]
pub unsafe extern "C" fn __libneutrino_clock_gettime_ns(id: clockid_t, now_ns: *mut u64) -> c_int {
    or_errno(|| {
        // SAFETY: a non-NULL now_ns is the caller's writable u64.
        let out = unsafe { now_ns.as_mut() }.ok_or(Errno::EFAULT)?;
        *out = clock::now_ns(id)?;
        Ok(0)
    })
}

/// QNX 8.0's `clock_gettime_mon_ns`: `CLOCK_MONOTONIC` in nanoseconds (it cannot fail).
#[no_mangle]
pub extern "C" fn __libneutrino_clock_gettime_mon_ns() -> u64 {
    clock::now_ns(libc::CLOCK_MONOTONIC).unwrap_or(0)
}

/// QNX 8.0's `clock_gettime_rt_ns`: `CLOCK_REALTIME` in nanoseconds (it cannot fail).
#[no_mangle]
pub extern "C" fn __libneutrino_clock_gettime_rt_ns() -> u64 {
    clock::now_ns(libc::CLOCK_REALTIME).unwrap_or(0)
}
