//! What the kernel keeps of the calling thread: its tid, its QNX priority, the timeout armed
//! for its next blocking call, how other threads unblock it, and its death.

use super::abi::{
    _NTO_CHF_THREAD_DEATH, _NTO_TIMEOUT_MASK, _NTO_TIMEOUT_RECEIVE, _NTO_TIMEOUT_REPLY, _NTO_TIMEOUT_SEND,
    _PULSE_CODE_THREADDEATH,
};
use super::errno::{Errno, KResult};
use super::event::{self, Kind, RawEvent};
use super::process::{self, Process};
use super::pulse::Pulse;
use super::timer;
use crate::transport::region::Bell;
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

thread_local! {
    static TID: Cell<i32> = const { Cell::new(0) };
    static ARMED: Cell<Option<Timeout>> = const { Cell::new(None) };
    static ME: Registered = Registered::new();
}

/// The calling thread's id (the Linux tid; the main thread's equals the pid).
pub fn tid() -> i32 {
    TID.with(|t| {
        if t.get() == 0 {
            // SAFETY: plain syscall.
            t.set(unsafe { libc::gettid() });
        }
        t.get()
    })
}

/// Forgets the cached tid: a fork child's thread has a new one.
pub fn forget_tid() {
    TID.with(|t| t.set(0));
}

/// The QNX priority a default (SCHED_OTHER) thread has.
pub const DEFAULT_PRIORITY: i32 = 10;

/// Bumped whenever a thread's scheduling may have changed (the calls the `<pthread.h>` and
/// `<sched.h>` overlays redirect): priorities cached before are read again.
static SCHED_EPOCH: AtomicU64 = AtomicU64::new(1);

#[no_mangle]
pub extern "C" fn __libneutrino_sched_changed() {
    sched_changed();
}

/// A thread's scheduling may have changed: every thread reads its own again.
pub fn sched_changed() {
    SCHED_EPOCH.fetch_add(1, Ordering::Release);
}

/// A thread's Linux scheduling and the QNX priority it stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sched {
    /// Linux's policy, without `SCHED_RESET_ON_FORK`.
    pub policy: i32,
    /// Linux's real-time priority: 0 unless the policy is `SCHED_FIFO` or `SCHED_RR`.
    pub rt: i32,
    /// QNX's priority: `rt` for a real-time thread; otherwise the one `SchedSet` recorded for
    /// it, or the QNX default, 10 (see `sched`).
    pub priority: i32,
}

impl Sched {
    /// `SCHED_FIFO` or `SCHED_RR` (`policy`) at `prio`.
    pub fn realtime(policy: i32, prio: i32) -> Sched {
        Sched { policy, rt: prio, priority: prio }
    }

    pub fn is_realtime(&self) -> bool {
        self.policy == libc::SCHED_FIFO || self.policy == libc::SCHED_RR
    }
}

/// What the kernel keeps of the calling thread's scheduling, in one thread-local: a call
/// looks it up once (each lookup from a shared library is a `__tls_get_addr` call).
pub struct SchedState {
    /// The epoch `own` was read in (0: never).
    epoch: u64,
    /// The thread's own scheduling.
    pub own: Sched,
    /// The scheduling a message or pulse lent it while it serves it (see `inherit`).
    pub lent: Option<Sched>,
    /// The bell of the channel it last served, where clients may raise it, and the `boosts`
    /// count it saw there (see `inherit`). Held until it serves another channel or ends.
    pub served: Option<(Arc<Bell>, u32)>,
}

const UNREAD: Sched = Sched { policy: libc::SCHED_OTHER, rt: 0, priority: DEFAULT_PRIORITY };

thread_local! {
    static SCHED: RefCell<SchedState> =
        const { RefCell::new(SchedState { epoch: 0, own: UNREAD, lent: None, served: None }) };
}

/// Runs `f` on the calling thread's scheduling state, its own scheduling read again (two
/// system calls) only after a scheduling call through our headers. A change made then
/// while a message lent the thread its scheduling is the thread's own from then on, as
/// QNX's `SchedSet` sets the priority a server thread returns to.
pub fn with_sched<R>(f: impl FnOnce(&mut SchedState) -> R) -> R {
    let epoch = SCHED_EPOCH.load(Ordering::Acquire);
    let mut f = Some(f);
    let done = SCHED.try_with(|c| {
        let mut st = c.borrow_mut();
        if st.epoch != epoch {
            let now = read_sched();
            if st.lent != Some(now) {
                st.own = now;
                st.lent = None;
            }
            st.epoch = epoch;
        }
        f.take().map(|f| f(&mut st))
    });
    match (done, f) {
        (Ok(Some(r)), _) => r,
        // The thread is ending and its state is gone (the thread-death pulse asks for its
        // priority): what Linux says now.
        (_, Some(f)) => f(&mut SchedState { epoch, own: read_sched(), lent: None, served: None }),
        (_, None) => unreachable!("with_sched ran its closure and lost the result"),
    }
}

/// The calling thread's scheduling now.
pub fn sched() -> Sched {
    with_sched(|st| st.lent.unwrap_or(st.own))
}

/// The calling thread's QNX priority (see [`Sched::priority`]), what its messages and
/// `-1`-priority pulses carry. Cached until a scheduling call through our headers; a
/// change made by code compiled without them is seen by threads that had not yet read
/// theirs.
pub fn priority() -> i32 {
    sched().priority
}

fn read_sched() -> Sched {
    // SAFETY: plain syscall on the calling thread.
    let policy = unsafe { libc::sched_getscheduler(0) } & !libc::SCHED_RESET_ON_FORK;
    let mut p = libc::sched_param { sched_priority: 0 };
    let rt = Sched::realtime(policy, 0).is_realtime();
    // SAFETY: p is valid for the call.
    if rt && unsafe { libc::sched_getparam(0, &mut p) } == 0 {
        return Sched::realtime(policy, p.sched_priority);
    }
    let priority = super::sched::recorded(tid()).unwrap_or(DEFAULT_PRIORITY);
    Sched { policy: policy.max(0), rt: 0, priority }
}

extern "C" {
    fn pthread_testcancel();
}

/// Acts on a pending deferred cancellation of the calling thread.
pub fn test_cancel() {
    // SAFETY: plain libc call.
    unsafe { pthread_testcancel() };
}

/// How other threads reach a thread blocked in a call of ours (`SIGEV_UNBLOCK`).
#[derive(Default)]
pub struct Waker {
    unblocked: AtomicBool,
    /// The futex word the thread sleeps on, 0 when it does not.
    word: AtomicUsize,
}

/// A thread known to the process: registered on its first blocking call (or at its start,
/// for threads created through the `<pthread.h>` overlay), forgotten at its exit, which
/// `_NTO_CHF_THREAD_DEATH` reports.
struct Registered {
    tid: i32,
    process: &'static Process,
    waker: Arc<Waker>,
}

impl Registered {
    fn new() -> Registered {
        let process = process::current();
        let waker = Arc::new(Waker::default());
        process.threads.lock().insert(tid(), waker.clone());
        Registered { tid: tid(), process, waker }
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        // A fork child's copy of a parent thread's registration names nothing of the child's.
        if !process::is_current(self.process) {
            return;
        }
        self.process.threads.lock().remove(&self.tid);
        // A later thread may get the same tid.
        self.process.priorities.lock().remove(&self.tid);
        let death = self
            .process
            .channels
            .lock()
            .iter()
            .find(|(_, c)| c.flags & _NTO_CHF_THREAD_DEATH != 0)
            .map(|(_, c)| c.clone());
        if let Some(ch) = death {
            let p = Pulse {
                code: _PULSE_CODE_THREADDEATH as i8,
                value: self.tid as u64,
                scoid: -1,
                pooled: false,
                from: 0,
            };
            let _ = ch.enqueue_pulse(priority().clamp(1, 255) as u8, p);
        }
    }
}

/// Registers the calling thread (it will be reported when it dies); called first thing by
/// threads started through the `<pthread.h>` overlay.
#[no_mangle]
pub extern "C" fn __libneutrino_thread_register() {
    // What a dead thread with the same tid had recorded is not this one's.
    super::sched::forget(tid());
    ME.with(|_| ());
}

/// The calling thread's waker, with any unblock that arrived while it was not blocked
/// forgotten (QNX: `SIGEV_UNBLOCK` acts on a blocked thread only).
pub fn waker() -> Arc<Waker> {
    ME.with(|me| {
        me.waker.unblocked.store(false, Ordering::SeqCst);
        me.waker.clone()
    })
}

impl Waker {
    /// Whether another thread unblocked this one; takes the request.
    pub fn take_unblock(&self) -> bool {
        self.unblocked.swap(false, Ordering::SeqCst)
    }

    /// Whether an unblock waits to be taken.
    pub fn unblock_pending(&self) -> bool {
        self.unblocked.load(Ordering::SeqCst)
    }

    /// The thread is about to sleep on `word` (or, with `None`, has woken up).
    pub fn sleeping_on(&self, word: Option<&AtomicU32>) {
        self.word.store(word.map_or(0, |w| w.as_ptr() as usize), Ordering::SeqCst);
    }
}

/// `SIGEV_UNBLOCK` for thread `tid` of this process: its blocking call fails with
/// `ETIMEDOUT` (or asks an `_NTO_CHF_UNBLOCK` server to let it go).
pub fn unblock(tid: i32) -> KResult<()> {
    process::current().threads.lock().get(&tid).cloned().ok_or(Errno::ESRCH)?.unblock();
    Ok(())
}

impl Waker {
    /// A waker of one call rather than of a thread (see `client::send_with`): an unblock
    /// that comes before the call begins still ends it.
    pub fn new() -> Arc<Waker> {
        Arc::new(Waker::default())
    }

    /// What `SIGEV_UNBLOCK` does to the thread this waker reaches.
    pub fn unblock(&self) {
        self.unblocked.store(true, Ordering::SeqCst);
        let word = self.word.load(Ordering::SeqCst);
        if word != 0 {
            // Wakes everyone on the word: the others find nothing changed and sleep again. The
            // word may be gone by now, which FUTEX_WAKE reports harmlessly.
            // SAFETY: FUTEX_WAKE only uses the address as a key.
            unsafe {
                libc::syscall(libc::SYS_futex, word as *const u32, libc::FUTEX_WAKE, i32::MAX, 0, 0, 0)
            };
        }
    }
}

/// A kernel timeout (`TimerTimeout`) armed for the calling thread's next blocking call.
#[derive(Clone, Copy, Debug)]
pub struct Timeout {
    /// The `_NTO_TIMEOUT_*` states it applies to.
    pub states: u32,
    pub at: Instant,
    /// What expiry does; `None` is `SIGEV_UNBLOCK`.
    pub event: Option<RawEvent>,
}

/// Takes the timeout armed for this blocking call (every call of ours consumes it).
pub fn take_timeout() -> Option<Timeout> {
    ARMED.with(|a| a.take())
}

/// The state a blocking call is in, as `TimerTimeout` names them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    Send,
    Reply,
    Receive,
}

impl Blocked {
    fn flag(self) -> u32 {
        match self {
            Blocked::Send => _NTO_TIMEOUT_SEND,
            Blocked::Reply => _NTO_TIMEOUT_REPLY,
            Blocked::Receive => _NTO_TIMEOUT_RECEIVE,
        }
    }
}

impl Timeout {
    /// Whether the timeout ends a call blocked in `state` now. An expiry with an event other
    /// than `SIGEV_UNBLOCK` delivers it to the thread, once, and the call goes on.
    pub fn expired(this: &mut Option<Timeout>, state: Blocked) -> bool {
        let Some(t) = this.as_ref().filter(|t| t.states & state.flag() != 0 && Instant::now() >= t.at) else {
            return false;
        };
        match t.event {
            Some(ev) if ev.kind() != Ok(Kind::Unblock) => {
                // SAFETY: plain syscall.
                let from = event::Sender { pid: process::current().pid, uid: unsafe { libc::getuid() } };
                let _ = event::deliver_here(&ev, Some(tid()), from);
                *this = None;
                false
            }
            _ => true,
        }
    }

    /// Whether the timeout applies to `state`.
    pub fn applies(this: &Option<Timeout>, state: Blocked) -> bool {
        this.as_ref().is_some_and(|t| t.states & state.flag() != 0)
    }

    /// How long a call blocked in `state` may sleep before it looks at the timeout again.
    pub fn sleep(this: &Option<Timeout>, state: Blocked, most: Duration) -> Duration {
        match this.as_ref().filter(|t| t.states & state.flag() != 0) {
            Some(t) => most.min(t.at.saturating_duration_since(Instant::now())),
            None => most,
        }
    }
}

/// `TimerTimeout`: arms (states ≠ 0) or disarms the calling thread's kernel timeout, `ntime`
/// nanoseconds from now on `clock` (absolute with `TIMER_ABSTIME`, QNX's bit or Linux's;
/// `None`: do not block at all); `notify` `None` is `SIGEV_UNBLOCK`. Returns the states the
/// previous timeout applied to and the time it had left. With `TIMER_TOLERANCE` it only sets
/// the tolerance of the next timeout: nothing is armed (see `timer::sets_tolerance`).
pub fn timer_timeout(
    clock: libc::clockid_t,
    flags: u32,
    notify: Option<RawEvent>,
    ntime: Option<u64>,
) -> KResult<(u32, u64)> {
    let now = timer::clock_now(clock)?;
    if timer::sets_tolerance(flags)? {
        return Ok((0, 0));
    }
    if let Some(ev) = notify {
        ev.kind()?;
    }
    let states = flags & _NTO_TIMEOUT_MASK & !(libc::TIMER_ABSTIME as u32);
    let left = match ntime {
        None => 0,
        Some(ns) if timer::is_absolute(flags) => ns.saturating_sub(now),
        Some(ns) => ns,
    };
    let at = Instant::now() + Duration::from_nanos(left);
    let old = ARMED.with(|a| a.replace((states != 0).then_some(Timeout { states, at, event: notify })));
    let old_left = old.map_or(0, |o| o.at.saturating_duration_since(Instant::now()).as_nanos() as u64);
    Ok((old.map_or(0, |o| o.states), old_left))
}
