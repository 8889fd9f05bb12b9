//! Shared (cross-process) futex wait and wake on a 32-bit word in shared memory.

use crate::kernel::errno::{Errno, KResult};
use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// Sleeps while `*word == expected`, at most `timeout`. Spurious returns are allowed: the
/// caller always re-checks its condition. Returns `EINTR` when a signal interrupted it.
pub fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> KResult<()> {
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: d.as_secs() as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    });
    let tsp = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` is a valid, aligned u32 for the duration of the call; the kernel only
    // reads it. A shared (not PRIVATE) futex keys on the page, so it works across processes.
    let r = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            tsp,
            std::ptr::null::<u32>(),
            0,
        )
    };
    if r == -1 {
        let e = Errno::last();
        if e == Errno::EINTR {
            return Err(e);
        }
        // EAGAIN (value changed) and ETIMEDOUT are ordinary wake-ups for our callers.
    }
    Ok(())
}

/// Wakes up to `n` waiters on `word`; whether it woke any.
pub fn wake(word: &AtomicU32, n: i32) -> bool {
    // SAFETY: FUTEX_WAKE only uses the address as a key; it never dereferences user data
    // beyond checking the mapping.
    let woken = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            n,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0,
        )
    };
    woken > 0
}

extern "C" {
    fn neutrino_cancellable_futex_wait(
        word: *const u32,
        expected: u32,
        timeout: *const libc::timespec,
        cleanup: extern "C" fn(*mut libc::c_void),
        arg: *mut libc::c_void,
    ) -> libc::c_int;
}

/// [`wait`] as a cancellation point: if the thread is cancelled while it sleeps,
/// `on_cancel` runs before the thread unwinds (and this never returns).
pub fn wait_cancellable(
    word: &AtomicU32,
    expected: u32,
    timeout: Duration,
    on_cancel: &mut dyn FnMut(),
) -> KResult<()> {
    extern "C" fn run(arg: *mut libc::c_void) {
        // SAFETY: `arg` is the `&mut &mut dyn FnMut()` passed below, alive for the call.
        let f = unsafe { &mut *(arg as *mut &mut dyn FnMut()) };
        f();
    }
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    let mut f: &mut dyn FnMut() = on_cancel;
    // SAFETY: word and ts outlive the call; `run` receives a pointer to `f`, which does too.
    let e = unsafe {
        neutrino_cancellable_futex_wait(
            word.as_ptr(),
            expected,
            &ts,
            run,
            &mut f as *mut _ as *mut libc::c_void,
        )
    };
    if e == libc::EINTR {
        return Err(Errno::EINTR);
    }
    Ok(())
}
