//! `<sys/syspage.h>`: the one part of QNX's system page that ordinary programs read — the
//! `qtime` entry (`cycles_per_sec` for `ClockCycles`, the time-of-day adjustment, the boot
//! time) — plus `num_cpu`. The header's `_syspage_ptr` calls `__libneutrino_syspage()`, which
//! refreshes the time fields and returns this process's page. The page is read-only, as on
//! QNX. Layouts are QNX 7.1's; the header is hand-written and `c-tests/test_clock.c` pins it.
#![allow(non_camel_case_types)]

use super::clock;
use std::mem::{offset_of, size_of};
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, Ordering::Relaxed};

#[repr(C)]
pub struct syspage_entry_info {
    pub entry_off: u16,
    pub entry_size: u16,
}

/// The head of QNX's `struct syspage_entry` with only the `qtime` section.
#[repr(C)]
pub struct syspage_entry {
    pub size: u16,
    pub total_size: u16,
    pub type_: u16,
    pub num_cpu: AtomicU16,
    pub qtime: syspage_entry_info,
}

#[repr(C)]
pub struct _clockadjust {
    pub tick_count: u32,
    pub tick_nsec_inc: i32,
}

#[repr(C)]
pub struct qtime_entry {
    pub cycles_per_sec: AtomicU64,
    pub nsec_tod_adjust: AtomicU64,
    pub nsec: AtomicU64,
    pub nsec_inc: AtomicU32,
    pub boot_time: AtomicU32,
    pub adjust: _clockadjust,
    pub timer_rate: u32,
    pub timer_scale: i32,
    pub timer_load: u32,
    pub intr: i32,
    pub epoch: u32,
    pub flags: u32,
    pub rr_interval_mul: u32,
    pub spare0: u32,
    pub nsec_stable: AtomicU64,
    pub spare: [u32; 4],
}

const _: () = assert!(size_of::<qtime_entry>() == 96 && offset_of!(qtime_entry, adjust) == 32);
const _: () = assert!(offset_of!(qtime_entry, nsec_stable) == 72 && size_of::<syspage_entry>() == 12);

/// `ClockCycles()` agrees on every CPU (the only sources used are).
const QTIME_FLAG_GLOBAL_CLOCKCYCLES: u32 = 0x8;
const SYSPAGE_TYPE: u16 = if cfg!(target_arch = "aarch64") { 0x101 } else { 0x100 };

#[repr(C)]
struct Page {
    head: syspage_entry,
    qtime: qtime_entry,
}

static PAGE: Page = Page {
    head: syspage_entry {
        size: size_of::<syspage_entry>() as u16,
        total_size: size_of::<Page>() as u16,
        type_: SYSPAGE_TYPE,
        num_cpu: AtomicU16::new(0),
        qtime: syspage_entry_info {
            entry_off: offset_of!(Page, qtime) as u16,
            entry_size: size_of::<qtime_entry>() as u16,
        },
    },
    qtime: qtime_entry {
        cycles_per_sec: AtomicU64::new(0),
        nsec_tod_adjust: AtomicU64::new(0),
        nsec: AtomicU64::new(0),
        nsec_inc: AtomicU32::new(0),
        boot_time: AtomicU32::new(0),
        adjust: _clockadjust { tick_count: 0, tick_nsec_inc: 0 },
        timer_rate: 0,
        timer_scale: 0,
        timer_load: 0,
        intr: -1,
        epoch: 1970,
        flags: QTIME_FLAG_GLOBAL_CLOCKCYCLES,
        rr_interval_mul: 4,
        spare0: 0,
        nsec_stable: AtomicU64::new(0),
        spare: [0; 4],
    },
};

/// This process's system page, its times refreshed: `nsec` is `CLOCK_MONOTONIC`,
/// `nsec + nsec_tod_adjust` is `CLOCK_REALTIME` (as on QNX) and `boot_time` the UTC second
/// the machine booted. The first call measures `cycles_per_sec` (see `clock`).
#[no_mangle]
pub extern "C" fn __libneutrino_syspage() -> *mut syspage_entry {
    let q = &PAGE.qtime;
    if q.cycles_per_sec.load(Relaxed) == 0 {
        // SAFETY: sysconf has no preconditions.
        let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) }.clamp(1, u16::MAX as libc::c_long);
        PAGE.head.num_cpu.store(cpus as u16, Relaxed);
        q.nsec_inc.store(clock::tick_ns(libc::CLOCK_REALTIME).unwrap_or(1), Relaxed);
        q.cycles_per_sec.store(clock::cycles_per_sec(), Relaxed);
    }
    let read = |id| crate::kernel::clock::now_ns(id).unwrap_or(0);
    let (mono, real, boot) =
        (read(libc::CLOCK_MONOTONIC), read(libc::CLOCK_REALTIME), read(libc::CLOCK_BOOTTIME));
    q.nsec.store(mono, Relaxed);
    q.nsec_stable.store(mono, Relaxed);
    q.nsec_tod_adjust.store(real.wrapping_sub(mono), Relaxed);
    q.boot_time.store((real.wrapping_sub(boot) / 1_000_000_000) as u32, Relaxed);
    &PAGE.head as *const syspage_entry as *mut syspage_entry
}
