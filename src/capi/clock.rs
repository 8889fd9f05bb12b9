//! `<sys/neutrino.h>`: the clock calls QNX programs make beside IPC — `ClockTime`,
//! `ClockPeriod`, `ClockCycles` — on Linux's clocks.
//!
//! Clock ids are Linux's: a QNX program built against glibc's `<time.h>` passes glibc's
//! values for `CLOCK_REALTIME`, `CLOCK_MONOTONIC` and the CPU-time clocks. QNX's
//! `CLOCK_SOFTTIME` (the realtime clock that stops while the CPU sleeps) has no Linux twin;
//! it gets an id no Linux clock uses and means the realtime clock.
#![allow(non_snake_case, non_camel_case_types)]

use super::{or_errno, or_neg};
use crate::kernel::clock::{linux_clock, now_ns};
use crate::kernel::errno::{Errno, KResult};
use libc::{c_int, clockid_t};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

/// A clock's tick (`ClockPeriod`): `fract` is reserved for fractions of a nanosecond.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct _clockperiod {
    pub nsec: u32,
    pub fract: i32,
}

const _: () = assert!(std::mem::size_of::<_clockperiod>() == 8);

const NSEC_PER_SEC: u64 = 1_000_000_000;
/// QNX's bounds for a tick (`_NTO_TICKSIZE_MIN`, `_NTO_TICKSIZE_MAX` = `INT_MAX / 4`).
const TICK_MIN_NS: u32 = 10_000;
const TICK_MAX_NS: u32 = i32::MAX as u32 / 4;

/// The realtime clock and the clocks that share its time base.
fn is_realtime(id: clockid_t) -> bool {
    linux_clock(id) == libc::CLOCK_REALTIME
}

/// QNX's get-and-set shape of `ClockTime` and `ClockPeriod`: `new` is copied first (it may
/// be `old`); reading the current value validates `id` (`EINVAL`); only the realtime clock
/// takes a new value (`EINVAL`); `old` gets the value from before the change.
fn get_and_set<T: Copy>(
    id: clockid_t,
    new: *const T,
    old: *mut T,
    read: impl FnOnce(clockid_t) -> KResult<T>,
    set: impl FnOnce(T) -> KResult<()>,
) -> KResult<c_int> {
    // SAFETY: NULL or readable, the caller's contract.
    let new = unsafe { new.as_ref() }.copied();
    let current = read(id)?;
    if new.is_some() && !is_realtime(id) {
        return Err(Errno::EINVAL);
    }
    // SAFETY: NULL or writable, the caller's contract.
    if let Some(old) = unsafe { old.as_mut() } {
        *old = current;
    }
    new.map_or(Ok(()), set).map(|_| 0)
}

/// Sets the realtime clock. The kernel decides who may (`CAP_SYS_TIME`, else `EPERM`) and
/// which times it can hold (`EINVAL` past year 2232).
fn set_realtime(ns: u64) -> KResult<()> {
    let ts = libc::timespec {
        tv_sec: (ns / NSEC_PER_SEC) as libc::time_t,
        tv_nsec: (ns % NSEC_PER_SEC) as libc::c_long,
    };
    // SAFETY: `ts` is a valid timespec.
    if unsafe { libc::clock_settime(libc::CLOCK_REALTIME, &ts) } != 0 {
        return Err(Errno::last());
    }
    Ok(())
}

fn clock_time(id: clockid_t, new: *const u64, old: *mut u64) -> KResult<c_int> {
    get_and_set(id, new, old, now_ns, set_realtime)
}

/// Reads the clock `id` into `*old` (nanoseconds) and, if `new` is not NULL, sets the
/// realtime clock to `*new` (nanoseconds since 1970), which needs `CAP_SYS_TIME`.
///
/// # Safety
/// `new` is NULL or readable, `old` NULL or writable; they may be the same.
#[no_mangle]
pub unsafe extern "C" fn ClockTime(id: clockid_t, new: *const u64, old: *mut u64) -> c_int {
    or_errno(|| clock_time(id, new, old))
}

/// # Safety
/// As `ClockTime`.
#[no_mangle]
pub unsafe extern "C" fn ClockTime_r(id: clockid_t, new: *const u64, old: *mut u64) -> c_int {
    or_neg(|| clock_time(id, new, old))
}

/// The tick of the clock `id`: Linux's timers are high-resolution, so this is the clock's
/// real resolution (`clock_getres`), usually 1 ns.
pub(crate) fn tick_ns(id: clockid_t) -> KResult<u32> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec to write.
    if unsafe { libc::clock_getres(linux_clock(id), &mut ts) } != 0 {
        return Err(Errno::last());
    }
    let ns = ts.tv_sec as u64 * NSEC_PER_SEC + ts.tv_nsec as u64;
    Ok(ns.clamp(1, u32::MAX as u64) as u32)
}

/// Whether the caller may change the system's clocks: Linux's `CAP_SYS_TIME` in the
/// effective set, the ability that `clock_settime` itself requires.
fn may_set_clocks() -> bool {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Sets {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    const CAP_SYS_TIME: u32 = 25;
    let mut header = Header { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
    let mut sets = [Sets::default(); 2];
    // SAFETY: version 3 takes a header and two `Sets`, both valid for writing.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut header, sets.as_mut_ptr()) };
    r == 0 && sets[0].effective & (1 << CAP_SYS_TIME) != 0
}

/// A new tick, as QNX checks it. Accepted and left as it is: Linux has no tick to change,
/// and its timers are already at least as fine as any period QNX allows.
fn set_period(period: _clockperiod) -> KResult<()> {
    if !may_set_clocks() {
        return Err(Errno::EPERM);
    }
    if !(TICK_MIN_NS..=TICK_MAX_NS).contains(&period.nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

fn clock_period(id: clockid_t, new: *const _clockperiod, old: *mut _clockperiod) -> KResult<c_int> {
    let read = |id| tick_ns(id).map(|nsec| _clockperiod { nsec, fract: 0 });
    get_and_set(id, new, old, read, set_period)
}

/// Reads the tick of clock `id` into `*old`; a privileged caller (`CAP_SYS_TIME`) may pass
/// a `new` period of 10 µs to `INT_MAX / 4` ns for the realtime clock, which is accepted
/// and changes nothing (see `set_period`). `reserved` is ignored, as on QNX.
///
/// # Safety
/// `new` is NULL or readable, `old` NULL or writable; they may be the same.
#[no_mangle]
pub unsafe extern "C" fn ClockPeriod(
    id: clockid_t,
    new: *const _clockperiod,
    old: *mut _clockperiod,
    reserved: c_int,
) -> c_int {
    let _ = reserved;
    or_errno(|| clock_period(id, new, old))
}

/// # Safety
/// As `ClockPeriod`.
#[no_mangle]
pub unsafe extern "C" fn ClockPeriod_r(
    id: clockid_t,
    new: *const _clockperiod,
    old: *mut _clockperiod,
    reserved: c_int,
) -> c_int {
    let _ = reserved;
    or_neg(|| clock_period(id, new, old))
}

/// What `ClockCycles` counts, chosen once per process.
const SOURCE_UNKNOWN: u8 = 0;
const SOURCE_TSC: u8 = 1;
const SOURCE_RAW_NS: u8 = 2;
static SOURCE: AtomicU8 = AtomicU8::new(SOURCE_UNKNOWN);

/// The CPU's time-stamp counter when the kernel keeps its own time with it (then it is
/// invariant and synchronised between CPUs, as the kernel checked); else the nanoseconds of
/// `CLOCK_MONOTONIC_RAW`. Racing first callers compute the same answer, and nobody waits,
/// so a `fork()` can never leave the choice half made.
fn source() -> u8 {
    match SOURCE.load(Ordering::Relaxed) {
        SOURCE_UNKNOWN => {
            let tsc = cfg!(target_arch = "x86_64")
                && std::fs::read_to_string(
                    "/sys/devices/system/clocksource/clocksource0/current_clocksource",
                )
                .is_ok_and(|s| s.trim() == "tsc");
            let chosen = if tsc { SOURCE_TSC } else { SOURCE_RAW_NS };
            SOURCE.store(chosen, Ordering::Relaxed);
            chosen
        }
        known => known,
    }
}

fn raw_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec to write; CLOCK_MONOTONIC_RAW always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_RAW, &mut ts) };
    ts.tv_sec as u64 * NSEC_PER_SEC + ts.tv_nsec as u64
}

fn cycles(source: u8) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if source == SOURCE_TSC {
        // SAFETY: rdtsc exists on every x86_64 CPU and has no preconditions.
        return unsafe { core::arch::x86_64::_rdtsc() };
    }
    let _ = source;
    raw_ns()
}

/// A free-running 64-bit cycle counter; `SYSPAGE_ENTRY(qtime)->cycles_per_sec` is its rate.
#[no_mangle]
pub extern "C" fn ClockCycles() -> u64 {
    cycles(source())
}

static CYCLES_PER_SEC: AtomicU64 = AtomicU64::new(0);

/// The rate of `ClockCycles`, measured once per process (about 10 ms) for the TSC.
pub(crate) fn cycles_per_sec() -> u64 {
    let known = CYCLES_PER_SEC.load(Ordering::Relaxed);
    if known != 0 {
        return known;
    }
    let rate = match source() {
        SOURCE_TSC => calibrate(),
        _ => NSEC_PER_SEC,
    };
    // The first measurement wins, so every reader of this process sees one rate.
    match CYCLES_PER_SEC.compare_exchange(0, rate, Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => rate,
        Err(first) => first,
    }
}

/// The TSC's rate against `CLOCK_MONOTONIC_RAW` over at least 10 ms. Only the readings at
/// both ends matter, so a preemption in between costs nothing; each end keeps the reading
/// most tightly bracketed by two clock reads, which bounds its error to well under a
/// microsecond (a relative error far below 1e-4).
fn calibrate() -> u64 {
    fn pair() -> (u64, u64) {
        let mut best = (u64::MAX, 0, 0);
        for _ in 0..32 {
            let before = raw_ns();
            let c = cycles(SOURCE_TSC);
            let after = raw_ns();
            if after - before < best.0 {
                best = (after - before, c, before + (after - before) / 2);
            }
        }
        (best.1, best.2)
    }
    let (c0, t0) = pair();
    let mut pause = libc::timespec { tv_sec: 0, tv_nsec: 10_000_000 };
    // SAFETY: valid timespecs; an interrupted sleep continues with what is left.
    while unsafe { libc::nanosleep(&pause, &mut pause) } != 0 {}
    let (c1, t1) = pair();
    ((c1 - c0) as u128 * NSEC_PER_SEC as u128 / (t1 - t0).max(1) as u128) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_advance_at_the_calibrated_rate() {
        let rate = cycles_per_sec();
        assert!(rate >= 1_000_000, "{rate}");
        let (c0, t0) = (ClockCycles(), raw_ns());
        std::thread::sleep(std::time::Duration::from_millis(50));
        let (c1, t1) = (ClockCycles(), raw_ns());
        let seconds = (t1 - t0) as f64 / 1e9;
        let measured = (c1 - c0) as f64 / seconds;
        assert!((measured / rate as f64 - 1.0).abs() < 0.05, "{measured} vs {rate}");
    }
}
