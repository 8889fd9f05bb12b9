//! What the kernel reports about the calling thread: its tid and its QNX priority.

use std::cell::Cell;

thread_local! {
    static TID: Cell<i32> = const { Cell::new(0) };
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

/// The calling thread's QNX priority: real-time threads (SCHED_FIFO, SCHED_RR) their own
/// priority, every other thread the QNX default, 10.
pub fn priority() -> i32 {
    // SAFETY: plain syscalls on the calling thread.
    let policy = unsafe { libc::sched_getscheduler(0) };
    if policy == libc::SCHED_FIFO || policy == libc::SCHED_RR {
        let mut p = libc::sched_param { sched_priority: 0 };
        // SAFETY: p is valid for the call.
        if unsafe { libc::sched_getparam(0, &mut p) } == 0 {
            return p.sched_priority;
        }
    }
    DEFAULT_PRIORITY
}

extern "C" {
    fn pthread_testcancel();
}

/// Acts on a pending deferred cancellation of the calling thread.
pub fn test_cancel() {
    // SAFETY: plain libc call.
    unsafe { pthread_testcancel() };
}
