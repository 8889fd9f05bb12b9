//! Timers whose expiries deliver QNX events: pulses above all, and the other QNX notify
//! types (`SIGEV_SIGNAL_CODE`, `SIGEV_SIGNAL_THREAD`, ...) glibc's timers do not know.
//!
//! Each timer is a `timerfd`; one library thread per process (started with the first timer,
//! every signal blocked) waits on all of them with epoll and delivers each expiry's event
//! with `deliver_here`, which never blocks on another process. A timer's id is the id of a
//! kernel POSIX timer (a `SIGEV_NONE` one) it holds for its life, so no timer glibc creates
//! can have the same id while it exists. Timers glibc runs (the POSIX notify types of
//! `timer_create`) are passed to glibc by the callers of this module.
//!
//! A pulse through the timer thread costs a second wake-up (the thread's, then the
//! receiver's): a receiver of this process about to sleep on the channel a timer pulses
//! ([`watch`]) sleeps only until the timer's next expiry and queues the pulse itself, with
//! no timer slack, so that it is as late as a plain `timerfd` read. The timer thread still
//! delivers whatever no receiver took first.

use super::abi::{
    _itimer, _timer_info, _NTO_TIMER_RESET_OVERRUNS, _NTO_TIMER_SEARCH, _NTO_TI_ABSOLUTE, _NTO_TI_ACTIVE,
    _NTO_TI_EXPIRED, _NTO_TI_REPORT_TOLERANCE, _NTO_TI_TARGET_PROCESS, _NTO_TI_TOD_BASED,
};
use super::errno::{check, Errno, KResult};
use super::event::{self, Kind, RawEvent, Sender, SIGEV_SIGNAL, SIGEV_SIGNAL_CODE};
use super::{client, process, thread};
use crate::transport::fdreg::Tracked;
use crate::transport::lock::Mutex;
use crate::transport::region::PULSE_RING;
use crate::transport::spin::SignalHold;
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// `TIMER_ABSTIME` as QNX spells it; Linux's (1) is accepted as well.
const QNX_ABSTIME: u32 = 0x8000_0000;
const NS: u64 = 1_000_000_000;

/// QNX's `TIMER_TOLERANCE`: the call sets how late the timer may fire instead of arming it.
pub const TIMER_TOLERANCE: u32 = 0x4000_0000;

/// Whether timer flags set a tolerance rather than arm the timer (`EINVAL` together with
/// `TIMER_ABSTIME`, as on QNX). Timers here fire as early as Linux can, which is within any
/// tolerance: a tolerance is accepted, and the one reported is 0, as `TimerInfo` reports.
/// (QNX's `TIMER_PRECISE`, no tolerance, is what every timer has: the bit is ignored.)
pub fn sets_tolerance(flags: u32) -> KResult<bool> {
    match (flags & TIMER_TOLERANCE != 0, is_absolute(flags)) {
        (true, true) => Err(Errno::EINVAL),
        (tolerance, _) => Ok(tolerance),
    }
}

/// Whether timer flags ask for an absolute time (QNX's bit or Linux's).
pub fn is_absolute(flags: u32) -> bool {
    flags & (QNX_ABSTIME | libc::TIMER_ABSTIME as u32) != 0
}

/// The Linux clock behind a clock QNX timers and timeouts run on: `CLOCK_REALTIME`,
/// `CLOCK_MONOTONIC` or QNX's `CLOCK_SOFTTIME` (the realtime clock); else `EINVAL`.
pub fn timer_clock(clock: libc::clockid_t) -> KResult<libc::clockid_t> {
    match super::clock::linux_clock(clock) {
        c @ (libc::CLOCK_REALTIME | libc::CLOCK_MONOTONIC) => Ok(c),
        _ => Err(Errno::EINVAL),
    }
}

/// Nanoseconds on `clock` now; `EINVAL` for a clock a timer cannot use.
pub fn clock_now(clock: libc::clockid_t) -> KResult<u64> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is valid for the call.
    unsafe { libc::clock_gettime(timer_clock(clock)?, &mut ts) };
    Ok(ts.tv_sec as u64 * NS + ts.tv_nsec as u64)
}

/// A `timespec` as nanoseconds; `EINVAL` if it is negative or not normalised.
pub fn from_timespec(ts: &libc::timespec) -> KResult<u64> {
    if ts.tv_sec < 0 || !(0..NS as libc::c_long).contains(&ts.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    Ok((ts.tv_sec as u64).saturating_mul(NS).saturating_add(ts.tv_nsec as u64))
}

pub fn to_timespec(ns: u64) -> libc::timespec {
    libc::timespec { tv_sec: (ns / NS) as libc::time_t, tv_nsec: (ns % NS) as libc::c_long }
}

fn to_itimerspec(it: &_itimer) -> libc::itimerspec {
    libc::itimerspec { it_value: to_timespec(it.nsec), it_interval: to_timespec(it.interval_nsec) }
}

fn from_itimerspec(its: &libc::itimerspec) -> _itimer {
    // The kernel hands back normalised values.
    _itimer {
        nsec: from_timespec(&its.it_value).unwrap_or(0),
        interval_nsec: from_timespec(&its.it_interval).unwrap_or(0),
    }
}

/// The process's event timers, by id.
#[derive(Default)]
pub struct Timers {
    table: Mutex<BTreeMap<i32, Arc<Timer>>>,
    /// The delivering thread's epoll descriptor, once it runs.
    epoll: Mutex<Option<Arc<Tracked>>>,
    /// Timers whose pulses go to a channel of this process (receivers look for them).
    local: AtomicUsize,
}

struct Timer {
    id: i32,
    clock: libc::clockid_t,
    /// glibc's handle of the kernel timer whose id this timer uses.
    reserved: libc::timer_t,
    fd: Tracked,
    /// The timer thread's epoll descriptor, which polls `fd` (no lock to reach it: a signal
    /// handler may call `timer_settime` while its thread changes what is polled).
    epoll: Arc<Tracked>,
    /// The channel of this process the timer's pulse connection named when it was created:
    /// its receivers [`watch`] the timer (a hint; delivery looks the coid up each time).
    target: Option<i32>,
    /// The next expiry not yet taken, in ns on the timer's clock; 0 when none is due.
    due: AtomicU64,
    /// The expiry a receiver sleeps until (its [`Watch`]); 0 when none does.
    watched: AtomicU64,
    state: Mutex<State>,
}

// SAFETY: `reserved` is an opaque handle glibc accepts from any thread.
unsafe impl Send for Timer {}
// SAFETY: as above.
unsafe impl Sync for Timer {}

struct State {
    event: RawEvent,
    /// The thread that armed the timer: a thread-directed event is for it (QNX's rule).
    tid: i32,
    flags: u32,
    /// The absolute expiry time and the interval of the last `settime` (QNX's `itime`).
    itime: _itimer,
    overruns: u32,
    deleted: bool,
}

/// The timer `id` names, if it is one of this process's event timers.
fn lookup(id: i32) -> Option<Arc<Timer>> {
    process::current().timers.table.lock().get(&id).cloned()
}

/// Whether `id` (a `timer_t`'s value) names one of this module's timers.
pub fn is_ours(id: isize) -> bool {
    i32::try_from(id).ok().and_then(lookup).is_some()
}

fn ours(id: isize) -> KResult<Arc<Timer>> {
    i32::try_from(id).ok().and_then(lookup).ok_or(Errno::EINVAL)
}

/// `TimerCreate`, and `timer_create` for the notify types glibc does not know: a disarmed
/// timer on `clock` that will deliver `event` (`None`: `SIGALRM` with the timer's id as
/// value). As QNX's kernel does, a `SIGEV_SIGNAL` event is sent as `SIGEV_SIGNAL_CODE` with
/// `SI_TIMER`; a pulse event needs a live connection of this process (`EBADF`) whose server
/// lets us pulse it (`EPERM`).
pub fn create(clock: libc::clockid_t, event: Option<RawEvent>) -> KResult<i32> {
    let linux = timer_clock(clock)?;
    let mut ev = event.unwrap_or_else(|| {
        let mut alarm = RawEvent::default();
        alarm.signo = libc::SIGALRM;
        alarm.notify = SIGEV_SIGNAL;
        alarm
    });
    if ev.notify & 0xff == SIGEV_SIGNAL {
        ev.notify = ev.flags() | SIGEV_SIGNAL_CODE;
        ev.code = libc::SI_TIMER;
    }
    let mut target = None;
    if ev.kind()? == Kind::Pulse {
        let conn = client::lookup(process::current(), ev.coid)?;
        if conn.is_dead() {
            return Err(Errno::EBADF);
        }
        if !conn.may_pulse {
            return Err(Errno::EPERM);
        }
        target = (conn.server_pid == process::current().pid).then_some(conn.chid);
    }
    event::verify_here(&ev, Some(thread::tid()))?;

    // SAFETY: plain syscall.
    let fd = unsafe { libc::timerfd_create(linux, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC) };
    check(fd as libc::c_long)?;
    // SAFETY: a fresh descriptor we own.
    let fd = Tracked::new(unsafe { OwnedFd::from_raw_fd(fd) });
    let reserved = reserve_id(linux)?;
    let id = reserved as isize as i32;
    if event.is_none() {
        ev.value = id as u64;
    }
    let flags = match ev.kind()? {
        Kind::SignalThread | Kind::Unblock => 0,
        _ => _NTO_TI_TARGET_PROCESS,
    };
    let timers = &process::current().timers;
    let made = timers.start().and_then(|epoll| {
        let timer = Arc::new(Timer {
            id,
            clock,
            reserved,
            fd,
            epoll,
            target,
            due: AtomicU64::new(0),
            watched: AtomicU64::new(0),
            state: Mutex::new(State {
                event: ev,
                tid: thread::tid(),
                flags,
                itime: _itimer::default(),
                overruns: 0,
                deleted: false,
            }),
        });
        poll_on(&timer).map(|_| timer)
    });
    let timer = match made {
        Ok(timer) => timer,
        Err(e) => {
            // SAFETY: the handle glibc just gave us, deleted once.
            unsafe { libc::timer_delete(reserved) };
            return Err(e);
        }
    };
    if target.is_some() {
        timers.local.fetch_add(1, Ordering::Relaxed);
    }
    timers.table.lock().insert(id, timer);
    Ok(id)
}

/// A kernel timer that never fires, held for its id.
fn reserve_id(clock: libc::clockid_t) -> KResult<libc::timer_t> {
    // SAFETY: sigevent is plain data; all-zero then SIGEV_NONE is a valid event.
    let mut none: libc::sigevent = unsafe { std::mem::zeroed() };
    none.sigev_notify = libc::SIGEV_NONE;
    let mut t: libc::timer_t = std::ptr::null_mut();
    // SAFETY: both pointers are valid for the call.
    check(unsafe { libc::timer_create(clock, &mut none, &mut t) } as libc::c_long)?;
    Ok(t)
}

fn poll_on(timer: &Timer) -> KResult<()> {
    let mut ev = libc::epoll_event { events: libc::EPOLLIN as u32, u64: timer.id as u64 };
    let (ep, fd) = (timer.epoll.as_raw_fd(), timer.fd.as_raw_fd());
    // SAFETY: ev is valid for the call.
    check(unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut ev) } as libc::c_long)?;
    Ok(())
}

/// `TimerDestroy`/`timer_delete`: no event of the timer is delivered once it returns.
pub fn delete(id: isize) -> KResult<()> {
    let timer = ours(id)?;
    let timers = &process::current().timers;
    if timers.table.lock().remove(&timer.id).is_none() {
        return Err(Errno::EINVAL); // another thread deleted it meanwhile
    }
    if timer.target.is_some() {
        timers.local.fetch_sub(1, Ordering::Relaxed);
    }
    let mut st = timer.state.lock();
    let pending = timer.take(&mut st);
    st.deleted = true;
    timer.due.store(0, Ordering::Relaxed);
    drop(st);
    // Outside the lock: a signal handler that runs meanwhile may use the timer calls.
    pending.deliver();
    // SAFETY: plain syscall; the descriptor is closed right after anyway.
    unsafe {
        libc::epoll_ctl(
            timer.epoll.as_raw_fd(),
            libc::EPOLL_CTL_DEL,
            timer.fd.as_raw_fd(),
            std::ptr::null_mut(),
        )
    };
    // SAFETY: the timer's own reservation, deleted once (the timer is out of the table).
    unsafe { libc::timer_delete(timer.reserved) };
    Ok(())
}

/// `TimerSettime`/`timer_settime`: arms the timer (`new.nsec` 0 disarms it) and returns
/// what was left of the previous setting; with `TIMER_TOLERANCE`, only reports the tolerance.
pub fn settime(id: isize, flags: u32, new: &_itimer) -> KResult<_itimer> {
    let timer = ours(id)?;
    if sets_tolerance(flags)? {
        return Ok(_itimer::default());
    }
    let absolute = is_absolute(flags);
    let mut st = timer.state.lock();
    // Expiries not delivered yet happened under the old setting: timerfd_settime would
    // forget them.
    let pending = timer.take(&mut st);
    let mut old = libc::itimerspec { it_value: to_timespec(0), it_interval: to_timespec(0) };
    let tfd_flags = if absolute { libc::TFD_TIMER_ABSTIME } else { 0 };
    // SAFETY: both itimerspecs are valid for the call.
    check(unsafe { libc::timerfd_settime(timer.fd.as_raw_fd(), tfd_flags, &to_itimerspec(new), &mut old) }
        as libc::c_long)?;
    st.flags &= _NTO_TI_TARGET_PROCESS;
    if new.nsec != 0 {
        st.tid = thread::tid();
        st.flags |= _NTO_TI_ACTIVE;
        if absolute {
            st.flags |= _NTO_TI_ABSOLUTE;
            if timer_clock(timer.clock)? != libc::CLOCK_MONOTONIC {
                st.flags |= _NTO_TI_TOD_BASED;
            }
        }
        let start = if absolute { 0 } else { clock_now(timer.clock)? };
        st.itime = _itimer { nsec: start.saturating_add(new.nsec), interval_nsec: new.interval_nsec };
    }
    timer.resync();
    // A receiver may be watching the old setting: the timer thread watches the new one.
    timer.watched.store(0, Ordering::SeqCst);
    timer.poll(true);
    drop(st);
    let lost = pending.deliver();
    if lost != 0 {
        timer.state.lock().lost(lost);
    }
    Ok(from_itimerspec(&old))
}

/// `timer_gettime`: the time left and the interval.
pub fn gettime(id: isize) -> KResult<_itimer> {
    ours(id)?.remaining()
}

/// `TimerInfo` for this process (pid 0 or its own; `ESRCH` for others): fills `info` and
/// returns the id of the timer described (the next one from `id` with `_NTO_TIMER_SEARCH`).
pub fn info(pid: libc::pid_t, id: i32, flags: u32, info: Option<&mut _timer_info>) -> KResult<i32> {
    let p = process::current();
    if pid != 0 && pid != p.pid {
        return Err(Errno::ESRCH);
    }
    let timer = {
        let table = p.timers.table.lock();
        match table.range(id..).next() {
            Some((&found, t)) if found == id || flags & _NTO_TIMER_SEARCH != 0 => t.clone(),
            _ => return Err(Errno::EINVAL),
        }
    };
    let mut st = timer.state.lock();
    if let Some(info) = info {
        let mut otime = timer.remaining()?;
        if flags & _NTO_TI_REPORT_TOLERANCE != 0 {
            // No tolerance: the timer fires as close to its time as Linux manages.
            otime.interval_nsec = 0;
        }
        let active = if otime.nsec != 0 { _NTO_TI_ACTIVE } else { 0 };
        info.itime = st.itime;
        info.otime = otime;
        info.flags = (st.flags & !_NTO_TI_ACTIVE) | active;
        info.tid = if st.flags & _NTO_TI_TARGET_PROCESS != 0 { 0 } else { st.tid };
        info.notify = st.event.notify as i32;
        info.clockid = timer.clock;
        info.overruns = st.overruns;
        st.event.write(&mut info.event);
    }
    if flags & _NTO_TIMER_RESET_OVERRUNS != 0 {
        st.overruns = 0;
    }
    Ok(timer.id)
}

/// `timer_getoverrun`: the overrun count, which reading resets (as QNX's libc does it).
pub fn overruns(id: isize) -> KResult<i32> {
    let timer = ours(id)?;
    let mut st = timer.state.lock();
    Ok(std::mem::take(&mut st.overruns).min(i32::MAX as u32) as i32)
}

impl Timer {
    fn remaining(&self) -> KResult<_itimer> {
        let mut cur = libc::itimerspec { it_value: to_timespec(0), it_interval: to_timespec(0) };
        // SAFETY: cur is valid for the call.
        check(unsafe { libc::timerfd_gettime(self.fd.as_raw_fd(), &mut cur) } as libc::c_long)?;
        Ok(from_itimerspec(&cur))
    }

    /// Takes the expiries the timerfd counted since the last look, to be delivered.
    fn take(&self, st: &mut State) -> Expiries {
        let mut count = 0u64;
        // SAFETY: reads 8 bytes into `count`; the descriptor is non-blocking.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), &mut count as *mut u64 as *mut libc::c_void, 8) };
        if n != 8 || st.deleted {
            count = 0;
        }
        if count != 0 {
            st.flags |= _NTO_TI_EXPIRED;
        }
        // timerfd's expiries keep to the setting's grid: no system call to learn the next
        // one, unless it is unknown (then, or after a miss, it is read back).
        match (self.due.load(Ordering::Relaxed), st.itime.interval_nsec) {
            (_, _) if count == 0 => self.resync(),
            (0, _) => self.resync(),
            (_, 0) => self.due.store(0, Ordering::Relaxed),
            (due, every) => {
                self.due.store(due.saturating_add(every.saturating_mul(count)), Ordering::Relaxed)
            }
        }
        Expiries { event: st.event, tid: st.tid, count }
    }

    /// Takes and delivers the expiries the timerfd counted; whether there were any.
    fn fire(&self) -> bool {
        let mut st = self.state.lock();
        let expiries = self.take(&mut st);
        let lost = expiries.deliver();
        st.lost(lost);
        expiries.count != 0
    }

    /// Reads the next expiry back from the timerfd (under the timer's lock): the kernel's
    /// own time, which no clock change can make us misread for long.
    fn resync(&self) {
        let due = match self.remaining() {
            Ok(left) if left.nsec != 0 => {
                clock_now(self.clock).map_or(0, |now| now.saturating_add(left.nsec))
            }
            _ => 0,
        };
        self.due.store(due, Ordering::SeqCst);
    }

    /// Whether the timer thread wakes at the timer's expiries (not while a receiver
    /// watches them).
    fn poll(&self, on: bool) {
        let events = if on { libc::EPOLLIN as u32 } else { 0 };
        let mut ev = libc::epoll_event { events, u64: self.id as u64 };
        // SAFETY: ev is valid for the call; a deleted timer's descriptor is no longer
        // registered (ENOENT), which changes nothing.
        unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_MOD, self.fd.as_raw_fd(), &mut ev) };
    }
}

/// A claim on an expiry that nobody took this long after it was due is stale (its receiver
/// left its wait without ending it: a signal handler jumped out): another receiver takes
/// it over and delivers what the timerfd counted meanwhile.
const STALE_NS: u64 = 10_000_000;

/// A receiver's claim on the next expiry of a timer that pulses its channel: it sleeps no
/// later than the expiry ([`Watch::due_in`]), with no timer slack, and then [`Watch::done`]
/// queues the pulse. Meanwhile the timer thread does not wake for the timer: two threads
/// woken at once on 2 CPUs make the receiver about 15 µs later. Only one receiver watches
/// an expiry, so that a pool of receivers does not all wake at each one.
pub struct Watch {
    timer: Arc<Timer>,
    due: u64,
    due_in: Duration,
    /// The thread's timer slack, put back at the end.
    slack: libc::c_ulong,
    ended: bool,
}

/// Claims the pulse timer of this process that next expires on channel `chid`, for a
/// receiver about to sleep on it; `None` when there is none (at the cost of one load when
/// the process has no such timer).
pub fn watch(chid: i32) -> Option<Watch> {
    let timers = &process::current().timers;
    if timers.local.load(Ordering::Relaxed) == 0 {
        return None;
    }
    // The free expiry due first: (timer, its claim as seen, due time, ns until then).
    let (timer, claimed, due, due_in) = {
        let table = timers.table.lock();
        table
            .values()
            .filter(|t| t.target == Some(chid))
            .filter_map(|t| {
                let due = t.due.load(Ordering::Relaxed);
                let now = clock_now(t.clock).ok()?;
                let claimed = t.watched.load(Ordering::Relaxed);
                let free = claimed < due || (claimed == due && now > due.saturating_add(STALE_NS));
                (due != 0 && free).then(|| (t.clone(), claimed, due, due.saturating_sub(now)))
            })
            .min_by_key(|c| c.3)?
    };
    timer.watched.compare_exchange(claimed, due, Ordering::SeqCst, Ordering::Relaxed).ok()?;
    timer.poll(false);
    // A `settime` meanwhile (it sets the next expiry, drops the claim, then lets the timer
    // thread poll): the timer thread polls.
    if timer.watched.load(Ordering::SeqCst) != due || timer.due.load(Ordering::SeqCst) != due {
        timer.poll(true);
        return None;
    }
    // A SCHED_OTHER thread's timed sleep may end up to its timer slack (50 µs by default)
    // late; a timerfd expiry is not. Real-time threads have none.
    // SAFETY: plain syscalls on the calling thread.
    let slack = unsafe { libc::prctl(libc::PR_GET_TIMERSLACK) } as libc::c_ulong;
    // SAFETY: as above.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
    Some(Watch { timer, due, due_in: Duration::from_nanos(due_in), slack, ended: false })
}

impl Watch {
    /// How long the receiver may sleep before the expiry.
    pub fn due_in(&self) -> Duration {
        self.due_in
    }

    /// The receiver woke: if the expiry is due, queues its pulse (with signals held: a
    /// handler may use the timer calls, which take the timer's lock). An expiry due that the
    /// timerfd has not counted yet (its timer runs on the other CPU) is left to the timer
    /// thread, and stays claimed so that no receiver comes back for it at once.
    pub fn done(mut self) {
        let due = clock_now(self.timer.clock).is_ok_and(|now| now >= self.due);
        let missed = due && {
            let _hold = SignalHold::new();
            !self.timer.fire()
        };
        self.end();
        if !missed {
            self.release();
        }
    }

    /// Hands the timer back to the timer thread and puts the thread's timer slack back;
    /// also for a receiver leaving by cancellation.
    pub fn end(&mut self) {
        if !std::mem::replace(&mut self.ended, true) {
            self.timer.poll(true);
            // SAFETY: plain syscall on the calling thread.
            unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, self.slack) };
        }
    }

    /// Gives the claim up (unless another receiver's claim replaced it).
    pub fn release(&self) {
        let _ = self.timer.watched.compare_exchange(self.due, 0, Ordering::AcqRel, Ordering::Relaxed);
    }
}

impl Drop for Watch {
    /// A receiver that left before waking (a signal came).
    fn drop(&mut self) {
        if !self.ended {
            self.end();
            self.release();
        }
    }
}

/// Expiries taken from a timer: its event, to deliver `count` times.
struct Expiries {
    event: RawEvent,
    tid: i32,
    count: u64,
}

impl Expiries {
    /// Delivers each expiry as one event, as QNX does; returns how many could not be: an
    /// event that cannot be queued (the connection's pulse ring or the channel's pulse pool
    /// is full), and expiries beyond `PULSE_RING` at one time, are overruns instead.
    fn deliver(&self) -> u32 {
        if self.count == 0 {
            return 0;
        }
        // SAFETY: plain syscall.
        let from = Sender { pid: process::current().pid, uid: unsafe { libc::getuid() } };
        let n = self.count.min(PULSE_RING as u64);
        let mut lost = self.count - n;
        for _ in 0..n {
            // Thread-directed kinds are for the arming thread; the others ignore it.
            if event::deliver_here(&self.event, Some(self.tid), from) == Err(Errno::EAGAIN) {
                lost += 1;
            }
        }
        lost.min(u32::MAX as u64) as u32
    }
}

impl State {
    fn lost(&mut self, n: u32) {
        self.overruns = self.overruns.saturating_add(n);
    }
}

impl Timers {
    /// Starts the delivering thread on first use; its epoll descriptor.
    fn start(&'static self) -> KResult<Arc<Tracked>> {
        let mut ep = self.epoll.lock();
        if let Some(ep) = ep.as_ref() {
            return Ok(ep.clone());
        }
        // SAFETY: plain syscall.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        check(fd as libc::c_long)?;
        // SAFETY: a fresh descriptor we own.
        let fd = Arc::new(Tracked::new(unsafe { OwnedFd::from_raw_fd(fd) }));
        let watched = fd.clone();
        crate::transport::link::spawn_quiet("neutrino-timer", move || self.run(&watched))?;
        *ep = Some(fd.clone());
        Ok(fd)
    }

    fn run(&self, ep: &Tracked) {
        const ZERO: libc::epoll_event = libc::epoll_event { events: 0, u64: 0 };
        let mut ready = [ZERO; 32];
        loop {
            // SAFETY: `ready` holds 32 events.
            let n = unsafe { libc::epoll_wait(ep.as_raw_fd(), ready.as_mut_ptr(), 32, -1) };
            for ev in &ready[..n.max(0) as usize] {
                let timer = self.table.lock().get(&(ev.u64 as i32)).cloned();
                if let Some(t) = timer {
                    // Under the timer's lock, so that none is delivered once it is deleted.
                    t.fire();
                }
            }
        }
    }
}

/// `TimerAlarm`: the process's alarm (`SIGALRM`), which `alarm()` and `setitimer()` share,
/// as QNX's `alarm()` is `TimerAlarm`. `itime` `None` only reports the time left.
pub fn alarm(clock: libc::clockid_t, itime: Option<&_itimer>) -> KResult<_itimer> {
    timer_clock(clock)?;
    let tv = |ns: u64| libc::timeval { tv_sec: (ns / NS) as libc::time_t, tv_usec: ((ns % NS) / 1000) as _ };
    let ns = |t: &libc::timeval| t.tv_sec as u64 * NS + t.tv_usec as u64 * 1000;
    let mut old = libc::itimerval { it_interval: tv(0), it_value: tv(0) };
    match itime {
        // SAFETY: `old` is valid for the call.
        None => check(unsafe { libc::getitimer(libc::ITIMER_REAL, &mut old) } as libc::c_long)?,
        Some(it) => {
            // Round sub-microsecond times up, so that a non-zero time stays armed.
            let up = |v: u64| if v % 1000 != 0 { v + (1000 - v % 1000) } else { v };
            let new = libc::itimerval { it_interval: tv(up(it.interval_nsec)), it_value: tv(up(it.nsec)) };
            // SAFETY: both itimervals are valid for the call.
            check(unsafe { libc::setitimer(libc::ITIMER_REAL, &new, &mut old) } as libc::c_long)?
        }
    };
    Ok(_itimer { nsec: ns(&old.it_value), interval_nsec: ns(&old.it_interval) })
}
