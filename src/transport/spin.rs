//! Bounded adaptive spinning before sleeping on a futex.
//!
//! A futex wake of a sleeping vCPU costs tens of microseconds on the machines we measured,
//! while the peer usually answers within a microsecond; so a waiter spins briefly first, but
//! only when more than one CPU is usable (on one CPU spinning only delays the peer). The bound
//! is `NEUTRINO_SPIN_US` microseconds (default 50; 0 turns spinning off).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
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

/// The CPUs the process may use: its main thread's (a thread pinned to one CPU does not make
/// spinning useless for the others; a wait on a peer on the same CPU never spins).
fn usable_cpus() -> usize {
    // SAFETY: cpu_set_t is plain data filled by the kernel.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: set is valid for the call; getpid() is the main thread's id.
    let r =
        unsafe { libc::sched_getaffinity(libc::getpid(), std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
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
///
/// A caller that may finish without sleeping (its peer answers while it spins) only watches
/// at first ([`SignalHold::watching`]): signals are let through, and the handlers that run
/// are counted (`src/c/signals.c`), so no system call is made unless the caller goes on to
/// hold them; a handler that ran meanwhile counts then as a signal that arrived.
pub struct SignalHold {
    /// The caller's mask, restored at release (or drop).
    old: Option<KSet>,
    /// The signals still held while the caller sleeps ([`SignalHold::release_keeping_fatal`]).
    kept: Option<KSet>,
    /// The handlers counted when the caller began to watch (not held yet) or let signals
    /// through at release: a count that moved since means one ran while nothing was held.
    since: Option<libc::c_ulong>,
}

extern "C" {
    fn neutrino_signals_handled() -> libc::c_ulong;
    fn neutrino_signals_adopt();
}

/// The signal handlers that have run on the calling thread.
fn handled() -> libc::c_ulong {
    // SAFETY: reads a thread-local counter.
    unsafe { neutrino_signals_handled() }
}

impl SignalHold {
    /// Holds signals.
    pub fn new() -> SignalHold {
        SignalHold { old: Some(hold_signals()), kept: None, since: None }
    }

    /// Watches for signal handlers without holding signals: no system call.
    pub fn watching() -> SignalHold {
        static ADOPTED: OnceLock<()> = OnceLock::new();
        // SAFETY: plain C call, once per process.
        ADOPTED.get_or_init(|| unsafe { neutrino_signals_adopt() });
        SignalHold { old: None, kept: None, since: Some(handled()) }
    }

    /// Holds signals if they are not held; returns whether a handler ran while they were not.
    pub fn hold(&mut self) -> bool {
        if self.old.is_none() {
            self.old = Some(hold_signals());
        }
        self.since.take().is_some_and(|since| handled() != since)
    }

    /// Whether a handler ran since signals were let through (no system call).
    pub fn ran(&self) -> bool {
        self.since.is_some_and(|since| handled() != since)
    }

    /// Lets signals through again; returns whether one arrived that has a handler.
    pub fn release(&mut self) -> bool {
        let ran = self.hold();
        self.kept = None;
        let old = self.old.take().expect("held");
        let arrived = handled_pending(sigpending() & !old);
        set_mask(old);
        self.since = Some(handled());
        arrived || ran
    }

    /// Lets through the signals that have a handler or are ignored, but keeps held until
    /// the drop those whose default action ends the process (and that the caller had not
    /// blocked): a thread REPLY-blocked on an `_NTO_CHF_UNBLOCK` channel stays blocked until
    /// the server lets it go, and such a signal acts after (QNX). Default stop signals are
    /// let through: they stop the process without unblocking the call, as on QNX. Returns
    /// whether a signal arrived that must interrupt the wait: one with a handler, or a kept
    /// one.
    pub fn release_keeping_fatal(&mut self) -> bool {
        if self.kept.is_some() {
            return false;
        }
        let ran = self.hold();
        let old = self.old.expect("held");
        let fatal = fatal_signals(old);
        let pending = sigpending() & !old;
        let arrived = handled_pending(pending & !fatal);
        set_mask(old | fatal);
        self.kept = Some(fatal);
        self.since = Some(handled());
        self.kept_arrived(pending) || arrived || ran
    }

    /// For a caller that goes on running instead of sleeping (kept busy by its peer): holds
    /// every signal again if some were let through, so that none arriving from now on is
    /// lost, and returns whether one with a handler is pending (its handler runs at release)
    /// or ran while signals were let through.
    pub fn held_arrived(&mut self) -> bool {
        if self.kept.take().is_some() {
            hold_signals();
        }
        let ran = self.hold();
        let old = self.old.expect("held");
        handled_pending(sigpending() & !old) || ran
    }

    /// Puts the caller's mask back for a thread leaving by cancellation, whose unwinding
    /// does not run the drop.
    pub fn restore(&self) {
        if let Some(old) = self.old {
            set_mask(old);
        }
    }

    /// Whether signals are kept held while the caller sleeps: they cannot interrupt its
    /// wait, so it naps and asks [`SignalHold::fatal_arrived`].
    pub fn keeps_fatal(&self) -> bool {
        self.kept.is_some_and(|k| k != 0)
    }

    /// Whether a kept signal is pending (one system call when none is).
    pub fn fatal_arrived(&mut self) -> bool {
        self.kept_arrived(sigpending())
    }

    /// Whether a kept signal is among `pending`. One whose disposition changed since it was
    /// last looked at (now caught or ignored) is let through instead; a caught one counts.
    fn kept_arrived(&mut self, pending: KSet) -> bool {
        let (Some(old), Some(kept)) = (self.old, self.kept) else { return false };
        let mut still = kept;
        let mut arrived = false;
        for s in signals(pending & kept) {
            match action(s) {
                Action::End => arrived = true,
                other => {
                    ENDS.fetch_and(!bit(s), Ordering::Relaxed);
                    still &= !bit(s);
                    arrived |= other == Action::Handle;
                }
            }
        }
        if still != kept {
            // A caught one's handler runs as the mask changes.
            set_mask(old | still);
            self.kept = Some(still);
        }
        arrived
    }
}

impl Default for SignalHold {
    fn default() -> Self {
        SignalHold::new()
    }
}

impl Drop for SignalHold {
    /// Restores the mask without asking what arrived: the call is over, and a signal that
    /// arrived meanwhile is simply handled after it (a kept one acts now).
    fn drop(&mut self) {
        if let Some(old) = self.old.take() {
            set_mask(old);
        }
    }
}

/// Raw kernel signal sets: glibc's wrappers refuse to hold its own cancellation signal,
/// which must be noticed like any other.
type KSet = u64;

fn bit(s: i32) -> KSet {
    1u64 << (s - 1)
}

/// The signals in `set`.
fn signals(set: KSet) -> impl Iterator<Item = i32> {
    (1..=64).filter(move |&s| set & bit(s) != 0)
}

/// The signals a fault raises: never held, since a fault with them held kills the process.
const FAULTS: KSet = (1 << (libc::SIGSEGV - 1))
    | (1 << (libc::SIGBUS - 1))
    | (1 << (libc::SIGFPE - 1))
    | (1 << (libc::SIGILL - 1))
    | (1 << (libc::SIGTRAP - 1));

/// The signals [`fatal_signals`] never keeps held: the faults, those that cannot be
/// blocked, and those whose default action is not to end the process.
const NEVER_KEPT: KSet = FAULTS
    | (1 << (libc::SIGKILL - 1))
    | (1 << (libc::SIGSTOP - 1))
    | (1 << (libc::SIGTSTP - 1))
    | (1 << (libc::SIGTTIN - 1))
    | (1 << (libc::SIGTTOU - 1))
    | (1 << (libc::SIGCHLD - 1))
    | (1 << (libc::SIGCONT - 1))
    | (1 << (libc::SIGURG - 1))
    | (1 << (libc::SIGWINCH - 1));

fn hold_signals() -> KSet {
    let hold: KSet = !FAULTS;
    let mut old: KSet = 0;
    // SAFETY: rt_sigprocmask with 8-byte kernel sets, both valid for the call.
    unsafe { libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_BLOCK, &hold, &mut old, 8) };
    old
}

fn set_mask(mask: KSet) {
    // SAFETY: as above; sets the mask to one derived from the mask hold_signals saved.
    unsafe {
        libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_SETMASK, &mask, std::ptr::null_mut::<KSet>(), 8)
    };
}

/// The signals pending for the calling thread or its process.
fn sigpending() -> KSet {
    let mut pending: KSet = 0;
    // SAFETY: rt_sigpending into an 8-byte kernel set.
    unsafe { libc::syscall(libc::SYS_rt_sigpending, &mut pending, 8) };
    pending
}

/// Whether one of the signals in `pending` has a handler.
fn handled_pending(pending: KSet) -> bool {
    signals(pending).any(|s| action(s) == Action::Handle)
}

/// The signals that ended the process by default when last looked at (SIG_DFL), among those
/// [`fatal_signals`] may keep; [`UNKNOWN`] until first needed.
static ENDS: AtomicU64 = AtomicU64::new(UNKNOWN);
const UNKNOWN: KSet = !0;

/// The signals outside `blocked` whose disposition is the default action and that action
/// ends the process. Not the C library's own signals (below SIGRTMIN): it installs their
/// handlers when it first needs them, and may wait for every thread to handle one.
///
/// Reading a disposition is a system call, so the answer is kept for the process and only
/// the signals that were caught or ignored (few) are looked at again: one of those back to
/// its default would otherwise end the process at once. One caught or ignored since it was
/// last looked at is still kept; if it comes, `kept_arrived` finds out and lets it through.
fn fatal_signals(blocked: KSet) -> KSet {
    let libc_own = (32..libc::SIGRTMIN()).fold(0, |m, s| m | bit(s));
    let may_keep = !(NEVER_KEPT | libc_own);
    let ends = match ENDS.load(Ordering::Relaxed) {
        UNKNOWN => {
            let ends = signals(may_keep).filter(|&s| action(s) == Action::End).fold(0, |m, s| m | bit(s));
            ENDS.store(ends, Ordering::Relaxed);
            ends
        }
        known => {
            let back = signals(may_keep & !known & !blocked)
                .filter(|&s| action(s) == Action::End)
                .fold(0, |m, s| m | bit(s));
            if back != 0 {
                ENDS.fetch_or(back, Ordering::Relaxed);
            }
            known | back
        }
    };
    ends & !blocked
}

/// What delivering a signal does now.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    /// Nothing: SIG_IGN, or SIG_DFL of a signal whose default is to be ignored.
    Ignore,
    /// Runs a handler.
    Handle,
    /// Stops the process (SIG_DFL of a stop signal).
    Stop,
    /// Ends the process (SIG_DFL of any other signal).
    End,
}

fn action(s: i32) -> Action {
    // The kernel's struct sigaction: handler, flags, restorer, mask.
    let mut act = [0u64; 4];
    // SAFETY: rt_sigaction with a NULL new action only reads the disposition into `act`.
    let r = unsafe { libc::syscall(libc::SYS_rt_sigaction, s, std::ptr::null::<u64>(), act.as_mut_ptr(), 8) };
    if r != 0 {
        return Action::Handle;
    }
    match act[0] as libc::sighandler_t {
        libc::SIG_IGN => Action::Ignore,
        libc::SIG_DFL => match s {
            libc::SIGCHLD | libc::SIGCONT | libc::SIGURG | libc::SIGWINCH => Action::Ignore,
            libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU => Action::Stop,
            _ => Action::End,
        },
        _ => Action::Handle,
    }
}

/// Tries to take a lock this many times, yielding between tries, before giving up: long
/// enough for a thread that holds it a moment (a receiver), bounded when the holder is the
/// thread a signal handler interrupted, which cannot go on until the handler returns.
const BRIEF_TRIES: u32 = 64;

/// `lock` if it comes free within [`BRIEF_TRIES`] tries; never sleeps on it.
pub fn try_lock_briefly<T>(lock: &super::lock::Mutex<T>) -> Option<super::lock::MutexGuard<'_, T>> {
    for _ in 0..BRIEF_TRIES {
        if let Some(g) = lock.try_lock() {
            return Some(g);
        }
        std::thread::yield_now();
    }
    None
}
