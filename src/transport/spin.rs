//! Bounded adaptive spinning before sleeping on a futex.
//!
//! A futex wake of a sleeping vCPU costs tens of microseconds on the machines we measured,
//! while the peer usually answers within a microsecond; so a waiter spins briefly first, but
//! only when more than one CPU is usable (on one CPU spinning only delays the peer). The bound
//! is `NEUTRINO_SPIN_US` microseconds (default 50; 0 turns spinning off).

use std::sync::atomic::{AtomicU32, Ordering};
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

/// [`until_by`] for one of many threads that may wait on the same peer: spins only while
/// fewer than the usable CPUs but one spin (`spinners` counts them), leaving a CPU to the
/// peer they wait for.
#[inline]
pub fn until_shared(end: Option<Instant>, spinners: &AtomicU32, done: impl FnMut() -> bool) -> bool {
    static MOST: OnceLock<u32> = OnceLock::new();
    let most = *MOST.get_or_init(|| (usable_cpus() as u32).saturating_sub(1).max(1));
    if end.is_none() || spinners.fetch_add(1, Ordering::Relaxed) >= most {
        if end.is_some() {
            spinners.fetch_sub(1, Ordering::Relaxed);
        }
        return until_by(None, done);
    }
    let r = until_by(end, done);
    spinners.fetch_sub(1, Ordering::Relaxed);
    r
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

/// When a spin that starts now must end; `None` when spinning is off.
pub fn deadline() -> Option<Instant> {
    let budget = budget();
    (!budget.is_zero()).then(|| Instant::now() + budget)
}

/// The CPU the calling thread runs on (glibc reads it from rseq: no system call).
pub fn cpu() -> u32 {
    // SAFETY: plain libc call.
    unsafe { libc::sched_getcpu() as u32 }
}

/// [`deadline`] for a wait on a peer last seen on `peer_cpu`: none when that is our own CPU,
/// where the peer cannot answer while we spin (another CPU is busy, or we are pinned together).
pub fn deadline_for(peer_cpu: u32) -> Option<Instant> {
    if budget().is_zero() || peer_cpu == cpu() {
        return None;
    }
    deadline()
}

/// Spins until `done()` holds or `end` passes (one budget shared by several waits of one
/// call); returns whether it holds.
#[inline]
pub fn until_by(end: Option<Instant>, mut done: impl FnMut() -> bool) -> bool {
    if done() {
        return true;
    }
    let Some(end) = end else { return false };
    loop {
        for _ in 0..64 {
            std::hint::spin_loop();
            if done() {
                return true;
            }
        }
        if Instant::now() >= end {
            return done();
        }
    }
}

/// Signals held while a caller gets ready to block. A signal handled while a thread runs
/// (spins, or goes from posting a message to its futex wait) interrupts no system call, so a
/// caller that must notice signals (QNX's blocking calls fail with EINTR) holds them from
/// before it commits to waiting until it is about to sleep; what arrived meanwhile is seen at
/// release, and its handler runs then.
pub struct SignalHold {
    old: Option<KSet>,
}

impl SignalHold {
    /// Holds signals.
    pub fn new() -> SignalHold {
        SignalHold { old: Some(hold_signals()) }
    }

    /// Lets signals through again; returns whether one arrived that has a handler.
    pub fn release(&mut self) -> bool {
        match self.old.take() {
            Some(old) => {
                let arrived = signal_arrived(&old);
                release_signals(&old);
                arrived
            }
            None => false,
        }
    }
}

impl Default for SignalHold {
    fn default() -> Self {
        SignalHold::new()
    }
}

impl Drop for SignalHold {
    /// Restores the mask without asking what arrived: the call is over, and a signal that
    /// arrived meanwhile is simply handled after it.
    fn drop(&mut self) {
        if let Some(old) = self.old.take() {
            release_signals(&old);
        }
    }
}

/// Raw kernel signal sets: glibc's wrappers refuse to hold its own cancellation signal,
/// which must be noticed like any other.
type KSet = u64;

fn hold_signals() -> KSet {
    // Never hold the signals a fault raises: a fault with them held kills the process.
    let faults = [libc::SIGSEGV, libc::SIGBUS, libc::SIGFPE, libc::SIGILL, libc::SIGTRAP];
    let mut hold: KSet = !0;
    for s in faults {
        hold &= !(1u64 << (s - 1));
    }
    let mut old: KSet = 0;
    // SAFETY: rt_sigprocmask with 8-byte kernel sets, both valid for the call.
    unsafe { libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_BLOCK, &hold, &mut old, 8) };
    old
}

fn release_signals(old: &KSet) {
    // SAFETY: as above; restores the mask saved by hold_signals.
    unsafe {
        libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_SETMASK, old, std::ptr::null_mut::<KSet>(), 8)
    };
}

/// Whether a signal that the caller had not blocked arrived, and will do something when
/// released (its disposition is not to ignore it).
fn signal_arrived(held: &KSet) -> bool {
    let mut pending: KSet = 0;
    // SAFETY: rt_sigpending into an 8-byte kernel set.
    unsafe { libc::syscall(libc::SYS_rt_sigpending, &mut pending, 8) };
    pending &= !held;
    (1..=64).filter(|s| pending & (1u64 << (s - 1)) != 0).any(|s| !ignored(s))
}

/// Whether signal `s` is discarded on delivery (SIG_IGN, or SIG_DFL of a signal whose
/// default is to be ignored).
fn ignored(s: i32) -> bool {
    // The kernel's struct sigaction: handler, flags, restorer, mask.
    let mut act = [0u64; 4];
    // SAFETY: rt_sigaction with a NULL new action only reads the disposition into `act`.
    let r = unsafe { libc::syscall(libc::SYS_rt_sigaction, s, std::ptr::null::<u64>(), act.as_mut_ptr(), 8) };
    if r != 0 {
        return false;
    }
    match act[0] as libc::sighandler_t {
        libc::SIG_IGN => true,
        libc::SIG_DFL => matches!(s, libc::SIGCHLD | libc::SIGCONT | libc::SIGURG | libc::SIGWINCH),
        _ => false,
    }
}
