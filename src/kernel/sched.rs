//! QNX priorities on Linux threads (`SchedGet`, `SchedSet`, `SchedInfo`, `getprio`,
//! `setprio`). A real-time thread (`SCHED_FIFO`, `SCHED_RR`) has its Linux priority; any other
//! thread is QNX's default, 10, unless the process gave it another priority that Linux could
//! not make real: an unprivileged thread asking for a real-time policy, or a `SCHED_OTHER`
//! thread asking for a priority. That priority is recorded for the thread (read back, carried
//! by its messages and its `-1`-priority pulses) and Linux's scheduling is left as it was.

use super::errno::{check, Errno, KResult};
use super::process;
use super::thread::{self, DEFAULT_PRIORITY};

/// The highest priority QNX gives an unprivileged thread by default.
pub const USER_MAX: i32 = 63;

/// The Linux tid of thread `tid` of process `pid`: pid 0 is the calling process, tid 0 the
/// calling thread (of another process: its main thread). `ESRCH` when there is no such
/// thread in that process.
fn target(pid: libc::pid_t, tid: i32) -> KResult<(i32, bool)> {
    // SAFETY: plain syscall.
    let me = unsafe { libc::getpid() };
    if pid < 0 || tid < 0 {
        return Err(Errno::ESRCH);
    }
    let pid = if pid == 0 { me } else { pid };
    let own = pid == me;
    let tid = match tid {
        0 if own => thread::tid(),
        0 => pid,
        t => t,
    };
    // Signal 0 checks that `tid` is a thread of `pid`; EPERM says it exists.
    // SAFETY: plain syscall, no signal is sent.
    let r = unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, 0) };
    match check(r) {
        Err(e) if e != Errno::EPERM => Err(Errno::ESRCH),
        _ => Ok((tid, own)),
    }
}

fn is_realtime(policy: i32) -> bool {
    policy == libc::SCHED_FIFO || policy == libc::SCHED_RR
}

/// The Linux policy of thread `tid` (`SCHED_RESET_ON_FORK` removed) and its real-time
/// priority (0 for others).
fn linux_sched(tid: i32) -> KResult<(i32, i32)> {
    // SAFETY: plain syscall.
    let policy = check(unsafe { libc::sched_getscheduler(tid) } as libc::c_long)? as i32 & !0x4000_0000;
    let mut p = libc::sched_param { sched_priority: 0 };
    if is_realtime(policy) {
        // SAFETY: p is valid for the call.
        check(unsafe { libc::sched_getparam(tid, &mut p) } as libc::c_long)?;
    }
    Ok((policy, p.sched_priority))
}

/// The QNX priority recorded for thread `tid` of this process, if any.
pub fn recorded(tid: i32) -> Option<i32> {
    process::existing()?.priorities.lock().get(&tid).copied()
}

/// Forgets what was recorded for thread `tid` (it ended, or is new).
pub fn forget(tid: i32) {
    if let Some(p) = process::existing() {
        p.priorities.lock().remove(&tid);
    }
}

/// `SchedGet`: the policy of the thread (`SCHED_OTHER` for every non-real-time Linux
/// policy) and its QNX priority.
pub fn get(pid: libc::pid_t, tid: i32) -> KResult<(i32, i32)> {
    let (tid, own) = target(pid, tid)?;
    let (policy, prio) = linux_sched(tid)?;
    if is_realtime(policy) {
        return Ok((policy, prio));
    }
    let prio = if own { recorded(tid) } else { None };
    Ok((libc::SCHED_OTHER, prio.unwrap_or(DEFAULT_PRIORITY)))
}

/// The priority range every policy accepts: Linux's real-time range.
pub fn range() -> (i32, i32) {
    // SAFETY: plain syscalls.
    unsafe {
        (libc::sched_get_priority_min(libc::SCHED_FIFO), libc::sched_get_priority_max(libc::SCHED_FIFO))
    }
}

const CAP_SYS_NICE: u32 = 23;

/// Whether the calling thread may give threads real-time priorities (`CAP_SYS_NICE`).
pub(super) fn privileged() -> bool {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    let mut hdr = Header { version: 0x2008_0522, pid: 0 };
    let mut data = [[0u32; 3]; 2];
    // SAFETY: capget with version 3 fills two data records, both valid for the call.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut hdr, data.as_mut_ptr()) };
    r == 0 && data[0][0] & (1 << CAP_SYS_NICE) != 0
}

/// `SchedSet`: gives thread `tid` of `pid` policy `policy` at QNX priority `prio`.
/// `SCHED_FIFO`/`SCHED_RR` become Linux's when Linux allows it; otherwise (no
/// `CAP_SYS_NICE`, no `RLIMIT_RTPRIO`) a thread of this process keeps its Linux scheduling
/// and the priority is recorded for it, up to [`USER_MAX`] (above: `EPERM`, as QNX says to
/// an unprivileged caller). `SCHED_OTHER` makes the thread Linux's `SCHED_OTHER` and
/// records the priority (a thread of another process: only the policy changes).
pub fn set(pid: libc::pid_t, tid: i32, policy: i32, prio: i32) -> KResult<()> {
    let (min, max) = range();
    if !(is_realtime(policy) || policy == libc::SCHED_OTHER) || !(min..=max).contains(&prio) {
        return Err(Errno::EINVAL);
    }
    let (tid, own) = target(pid, tid)?;
    let r = apply(tid, own, policy, prio);
    thread::sched_changed();
    r
}

fn apply(tid: i32, own: bool, policy: i32, prio: i32) -> KResult<()> {
    let record = |prio: i32| {
        let mut map = process::current().priorities.lock();
        if prio == DEFAULT_PRIORITY {
            map.remove(&tid);
        } else {
            map.insert(tid, prio);
        }
    };
    if is_realtime(policy) {
        let p = libc::sched_param { sched_priority: prio };
        // SAFETY: p is valid for the call.
        match check(unsafe { libc::sched_setscheduler(tid, policy, &p) } as libc::c_long) {
            Ok(_) => {
                if own {
                    record(DEFAULT_PRIORITY);
                }
                Ok(())
            }
            Err(e) if e == Errno::EPERM && own && prio <= USER_MAX => {
                record(prio);
                Ok(())
            }
            Err(e) => Err(e),
        }
    } else {
        if prio > USER_MAX && !privileged() {
            return Err(Errno::EPERM);
        }
        if is_realtime(linux_sched(tid)?.0) {
            let p = libc::sched_param { sched_priority: 0 };
            // SAFETY: p is valid for the call.
            check(unsafe { libc::sched_setscheduler(tid, libc::SCHED_OTHER, &p) } as libc::c_long)?;
        }
        if own {
            record(prio);
        }
        Ok(())
    }
}

/// `SchedInfo`: the priority range of `policy` and its round-robin interval, for process
/// `pid` (0: the calling process).
pub fn info(pid: libc::pid_t, policy: i32) -> KResult<super::abi::_sched_info> {
    if !(is_realtime(policy) || policy == libc::SCHED_OTHER) {
        return Err(Errno::EINVAL);
    }
    target(pid, 0)?;
    // Linux's SCHED_RR time slice (sched_rr_get_interval reports 0 for other threads).
    let slice_ms = std::fs::read_to_string("/proc/sys/kernel/sched_rr_timeslice_ms")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(100);
    let (min, max) = range();
    Ok(super::abi::_sched_info {
        priority_min: min,
        priority_max: max,
        interval: slice_ms * 1_000_000,
        priority_priv: USER_MAX,
        reserved: [0; 11],
    })
}

/// `SchedYield`.
pub fn yield_now() {
    // SAFETY: plain syscall.
    unsafe { libc::sched_yield() };
}
