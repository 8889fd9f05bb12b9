//! QNX sigevents on glibc's `struct sigevent` (see `include/sys/siginfo.h` for the layout),
//! their validation and their delivery in the process that receives them.

use super::errno::{Errno, KResult};
use super::{client, pulse, thread};
use std::os::raw::c_void;

// glibc's own notify types, and QNX's others at the values QNX uses on 64-bit targets.
pub const SIGEV_SIGNAL: u32 = 0;
pub const SIGEV_NONE: u32 = 1;
pub const SIGEV_THREAD: u32 = 2;
pub const SIGEV_SIGNAL_CODE: u32 = 0x82;
pub const SIGEV_SIGNAL_THREAD: u32 = 0x83;
pub const SIGEV_PULSE: u32 = 0x84;
pub const SIGEV_UNBLOCK: u32 = 0x85;
pub const SIGEV_INTR: u32 = 0x86;
const TYPE_MASK: u32 = 0xff;
pub const FLAG_UPDATEABLE: u32 = 0x400;
pub const FLAG_HANDLE: u32 = 0x2000;
pub const FLAG_CODE_UPDATEABLE: u32 = 0x4000;

/// `struct sigevent` as glibc lays it out, with QNX's members in the tail of its padding.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawEvent {
    pub value: u64,
    pub signo: i32,
    pub notify: u32,
    pub function: usize,
    pub attributes: usize,
    pad: [i32; 4],
    pub coid: i32,
    pub priority: i32,
    pub code: i32,
    pub handle: u32,
}
const _: () = assert!(std::mem::size_of::<RawEvent>() == std::mem::size_of::<libc::sigevent>());

/// What an event asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    None,
    /// A signal to the process; `code` for `SIGEV_SIGNAL_CODE`.
    Signal {
        code: Option<i32>,
    },
    /// A signal to the thread the event is for.
    SignalThread,
    Pulse,
    Unblock,
    Intr,
    Thread,
}

impl RawEvent {
    /// Reads a caller's event; NULL is `EFAULT`.
    pub fn read(ev: *const libc::sigevent) -> KResult<RawEvent> {
        if ev.is_null() {
            return Err(Errno::EFAULT);
        }
        // SAFETY: a non-NULL event is readable, as the QNX API requires of callers.
        Ok(unsafe { std::ptr::read_unaligned(ev as *const RawEvent) })
    }

    /// Writes the event back into a caller's struct.
    pub fn write(&self, ev: *mut libc::sigevent) {
        // SAFETY: the caller passed a writable event (checked non-NULL by `read`).
        unsafe { std::ptr::write_unaligned(ev as *mut RawEvent, *self) };
    }

    /// The event as it travels in a link request.
    pub fn to_words(&self) -> [u64; 8] {
        // SAFETY: both are 64 bytes of plain data.
        unsafe { std::mem::transmute(*self) }
    }

    pub fn from_words(words: [u64; 8]) -> RawEvent {
        // SAFETY: as above; any bit pattern is a RawEvent.
        unsafe { std::mem::transmute(words) }
    }

    pub fn flags(&self) -> u32 {
        self.notify & !TYPE_MASK
    }

    /// The notify type, checked as QNX's kernel does: `EINVAL` for an unknown type, a signal
    /// number out of range, or a signal code above `SI_USER`.
    pub fn kind(&self) -> KResult<Kind> {
        let signal = || (1..=libc::SIGRTMAX()).contains(&self.signo);
        let code_ok = || self.code <= libc::SI_USER;
        match self.notify & TYPE_MASK {
            SIGEV_NONE => Ok(Kind::None),
            SIGEV_SIGNAL if signal() => Ok(Kind::Signal { code: None }),
            SIGEV_SIGNAL_CODE if signal() && code_ok() => Ok(Kind::Signal { code: Some(self.code) }),
            SIGEV_SIGNAL_THREAD if signal() && code_ok() => Ok(Kind::SignalThread),
            SIGEV_PULSE => Ok(Kind::Pulse),
            SIGEV_UNBLOCK => Ok(Kind::Unblock),
            SIGEV_INTR => Ok(Kind::Intr),
            SIGEV_THREAD if self.function != 0 => Ok(Kind::Thread),
            _ => Err(Errno::EINVAL),
        }
    }
}

/// Who sends an event, for the `siginfo` of a signal.
#[derive(Clone, Copy, Debug)]
pub struct Sender {
    pub pid: libc::pid_t,
    pub uid: libc::uid_t,
}

/// Checks that `ev` could be delivered in this process to thread `tid`, without delivering it.
pub fn verify_here(ev: &RawEvent, tid: Option<i32>) -> KResult<()> {
    match ev.kind()? {
        Kind::Pulse => {
            let conn = client::lookup(super::process::current(), ev.coid).map_err(|_| Errno::ESRCH)?;
            if conn.is_dead() {
                return Err(Errno::EBADF);
            }
            pulse_priority(ev.priority).map(drop)
        }
        Kind::SignalThread | Kind::Unblock if tid.is_none() => Err(Errno::ESRCH),
        Kind::Intr => Err(Errno::ENOSYS),
        _ => Ok(()),
    }
}

/// Delivers `ev` in this process; `tid` is the thread it is for (thread-directed kinds fail
/// with `ESRCH` without one).
pub fn deliver_here(ev: &RawEvent, tid: Option<i32>, from: Sender) -> KResult<()> {
    verify_here(ev, tid)?;
    match ev.kind()? {
        Kind::None => Ok(()),
        Kind::Signal { code } => queue_signal(ev, None, code.unwrap_or(libc::SI_USER), from),
        Kind::SignalThread => queue_signal(ev, tid, ev.code, from),
        Kind::Pulse => {
            let conn = client::lookup(super::process::current(), ev.coid).map_err(|_| Errno::ESRCH)?;
            conn.send_pulse_nowait(pulse_priority(ev.priority)?, ev.code as i8, ev.value)
        }
        Kind::Unblock => thread::unblock(tid.unwrap_or(0)),
        Kind::Intr => Err(Errno::ENOSYS),
        Kind::Thread => start_thread(ev),
    }
}

/// A pulse event's priority: -1 (`SIGEV_PULSE_PRIO_INHERIT`) is the receiving process's
/// base priority; otherwise as `MsgSendPulse` reads it.
fn pulse_priority(priority: i32) -> KResult<u8> {
    match priority {
        -1 => Ok(thread::DEFAULT_PRIORITY as u8),
        p => pulse::priority(p),
    }
}

/// Queues signal `ev.sigev_signo` with the event's value to this process, or to thread `tid`.
fn queue_signal(ev: &RawEvent, tid: Option<i32>, code: i32, from: Sender) -> KResult<()> {
    // siginfo_t for a queued signal: signo, errno, code, then pid, uid and the value.
    // Linux lets a thread other than the main one queue only negative codes other than
    // SI_TKILL, even to its own process: those (QNX's SI_USER, 0, among them) arrive as
    // SI_QUEUE.
    const SI_TKILL: i32 = -6;
    let code = if code >= 0 || code == SI_TKILL { libc::SI_QUEUE } else { code };
    let mut info = [0u32; 32];
    info[0] = ev.signo as u32;
    info[2] = code as u32;
    info[4] = from.pid as u32;
    info[5] = from.uid;
    info[6] = ev.value as u32;
    info[7] = (ev.value >> 32) as u32;
    // SAFETY: plain syscalls; info is a 128-byte siginfo_t.
    let r = unsafe {
        let pid = libc::getpid();
        match tid {
            Some(t) => libc::syscall(libc::SYS_rt_tgsigqueueinfo, pid, t, ev.signo, info.as_ptr()),
            None => libc::syscall(libc::SYS_rt_sigqueueinfo, pid, ev.signo, info.as_ptr()),
        }
    };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

extern "C" {
    fn neutrino_sigev_thread(function: usize, attributes: usize, value: *mut c_void) -> i32;
}

/// `SIGEV_THREAD`: runs the function in a new detached thread made with the event's
/// attributes.
fn start_thread(ev: &RawEvent) -> KResult<()> {
    // SAFETY: the function and attributes are the receiving process's own, as the event's
    // owner set them.
    match unsafe { neutrino_sigev_thread(ev.function, ev.attributes, ev.value as usize as *mut c_void) } {
        0 => Ok(()),
        _ => Err(Errno::EAGAIN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(notify: u32, signo: i32, code: i32) -> RawEvent {
        RawEvent { notify, signo, code, ..Default::default() }
    }

    #[test]
    fn kinds_are_validated_as_qnx_does() {
        assert_eq!(ev(SIGEV_NONE, 0, 0).kind(), Ok(Kind::None));
        assert_eq!(ev(SIGEV_SIGNAL | 0x800, libc::SIGUSR1, 0).kind(), Ok(Kind::Signal { code: None }));
        assert_eq!(ev(SIGEV_SIGNAL, 0, 0).kind(), Err(Errno::EINVAL));
        assert_eq!(ev(SIGEV_SIGNAL, 65, 0).kind(), Err(Errno::EINVAL));
        assert_eq!(ev(SIGEV_SIGNAL_CODE, libc::SIGUSR1, -70).kind(), Ok(Kind::Signal { code: Some(-70) }));
        assert_eq!(ev(SIGEV_SIGNAL_CODE, libc::SIGUSR1, 1).kind(), Err(Errno::EINVAL));
        assert_eq!(ev(SIGEV_SIGNAL_THREAD, libc::SIGUSR1, 1).kind(), Err(Errno::EINVAL));
        assert_eq!(ev(SIGEV_PULSE, 0, 5).kind(), Ok(Kind::Pulse));
        assert_eq!(ev(SIGEV_THREAD, 0, 0).kind(), Err(Errno::EINVAL));
        assert_eq!(ev(0x7f, 0, 0).kind(), Err(Errno::EINVAL));
    }
}
