//! Bounded adaptive spinning before sleeping on a futex.
//!
//! A futex wake of a sleeping vCPU costs tens of microseconds on the machines we measured,
//! while the peer usually answers within a microsecond; so a waiter spins briefly first, but
//! only when more than one CPU is usable (on one CPU spinning only delays the peer). The bound
//! is `NEUTRINO_SPIN_US` microseconds (default 50; 0 turns spinning off).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

const DEFAULT_SPIN_US: u64 = 50;

/// The spin budget for this process, decided once.
pub fn budget() -> Duration {
    static BUDGET: OnceLock<Duration> = OnceLock::new();
    *BUDGET.get_or_init(|| {
        if usable_cpus() < 2 {
            return Duration::ZERO;
        }
        let us = std::env::var("NEUTRINO_SPIN_US")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(DEFAULT_SPIN_US);
        Duration::from_micros(us)
    })
}

fn usable_cpus() -> usize {
    // SAFETY: cpu_set_t is plain data filled by the kernel.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: set is valid for the call.
    let r = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if r != 0 {
        return 1;
    }
    // SAFETY: set was filled above.
    unsafe { libc::CPU_COUNT(&set) as usize }
}

/// Spins until `done()` holds or the budget runs out; returns whether it holds.
#[inline]
pub fn until(mut done: impl FnMut() -> bool) -> bool {
    if done() {
        return true;
    }
    let budget = budget();
    if budget.is_zero() {
        return false;
    }
    let start = Instant::now();
    loop {
        for _ in 0..64 {
            std::hint::spin_loop();
            if done() {
                return true;
            }
        }
        if start.elapsed() >= budget {
            return done();
        }
    }
}
