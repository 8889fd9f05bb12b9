//! Client-driven priority, QNX's "priority inheritance and messages": a thread that receives
//! a message runs at its sender's priority, and one that receives a pulse at the pulse's,
//! until its next receive; a client that becomes SEND-blocked raises the thread serving the
//! channel to its own priority; `_NTO_CHF_FIXED_PRIORITY` channels change nothing.
//!
//! On Linux a priority is only real for `SCHED_FIFO`/`SCHED_RR` threads, so:
//! - a message from a real-time thread lends the receiver that thread's priority (QNX 1–63
//!   are Linux's 1–99 unchanged) with the receiver's own real-time policy, or the sender's
//!   when the receiver has none (QNX lends the priority, not the policy; Linux needs one);
//!   a message from any other thread leaves (puts back) the receiver at its own scheduling;
//! - a pulse carries a priority only: above QNX's default, 10, it lends that priority as a
//!   message from a `SCHED_FIFO` thread would; 10 and below leave the receiver at its own;
//! - lending needs the right to the priority: `CAP_SYS_NICE`, or up to `RLIMIT_RTPRIO`
//!   (higher priorities are lent as that limit, as QNX boosts an unprivileged server to its
//!   highest unprivileged priority); without either, nothing changes and nothing fails;
//! - the receiver changes its scheduling only when it differs from what it runs at (the
//!   thread caches both), and goes back to its own when it finds nothing to receive;
//! - a SEND-blocked real-time client that finds no receiver waiting and the channel's last
//!   receiver (the thread serving it, published in the bell) below its priority gives that
//!   thread its own scheduling itself: Linux checks that the client may (`CAP_SYS_NICE`, or
//!   the server's user and within the server's `RLIMIT_RTPRIO`), so a client never raises a
//!   server thread beyond what the kernel lets it do. It then bumps the bell's `boosts`, and
//!   the thread it raised sees the count change and sets its scheduling again at its next
//!   receive: a boost ends there, as QNX's does, even if the client has died. (A thread that
//!   serves several channels watches the last one it received a message or pulse from: a
//!   boost from a channel it served before lasts until it receives from that one again.)

use super::thread::{self, Sched, SchedState, DEFAULT_PRIORITY};
use crate::transport::region::Bell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// The word a message carries (`Slot::priority`): the QNX priority in the low byte, and the
/// sender's real-time policy above it (0: none).
pub fn word(s: Sched) -> u32 {
    let policy = if s.is_realtime() { s.policy as u32 } else { 0 };
    s.priority.clamp(0, 255) as u32 | (policy & 3) << 8
}

/// The QNX priority in a message's word.
pub fn priority_of(word: u32) -> u32 {
    word & 0xFF
}

/// The real-time policy in a message's word, `SCHED_OTHER` for none (or nonsense).
pub fn policy_of(word: u32) -> i32 {
    match (word >> 8) & 3 {
        1 => libc::SCHED_FIFO,
        2 => libc::SCHED_RR,
        _ => libc::SCHED_OTHER,
    }
}

/// What a message from a thread of `policy` at QNX priority `prio` (both as honoured) lends
/// its receiver; `None`: the receiver's own scheduling.
pub fn by_message(policy: i32, prio: i32) -> Option<Sched> {
    let s = Sched::realtime(policy, prio);
    (s.is_realtime() && prio > 0).then_some(s)
}

/// What a pulse of priority `prio` lends its receiver.
pub fn by_pulse(prio: u8) -> Option<Sched> {
    (prio as i32 > DEFAULT_PRIORITY).then(|| Sched::realtime(libc::SCHED_FIFO, prio as i32))
}

/// The highest real-time priority this process may give its threads: Linux's highest with
/// `CAP_SYS_NICE`, else the soft `RLIMIT_RTPRIO`; 0: none. Read once (a process does not
/// gain either without an exec).
fn ceiling() -> i32 {
    static CEILING: OnceLock<i32> = OnceLock::new();
    *CEILING.get_or_init(|| {
        let (_, max) = super::sched::range();
        if super::sched::privileged() {
            return max;
        }
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: lim is valid for the call.
        if unsafe { libc::getrlimit(libc::RLIMIT_RTPRIO, &mut lim) } != 0 {
            return 0;
        }
        lim.rlim_cur.min(max as libc::rlim_t) as i32
    })
}

/// Set once Linux refused this process a priority within its ceiling (a control group
/// without real-time time, say): inheritance stops rather than fail every message.
static REFUSED: AtomicBool = AtomicBool::new(false);

/// What `want` becomes within this process's rights: its priority at most the ceiling;
/// `None` (own scheduling) when the process has no real-time rights at all.
fn within_rights(want: Option<Sched>) -> Option<Sched> {
    let w = want?;
    let top = ceiling();
    if top <= 0 || REFUSED.load(Ordering::Relaxed) {
        return None;
    }
    Some(Sched::realtime(w.policy, w.rt.min(top)))
}

/// Gives thread `tid` (0: the caller) scheduling `s`.
fn set_linux(tid: i32, s: Sched) -> bool {
    let p = libc::sched_param { sched_priority: s.rt };
    // SAFETY: p is valid for the call.
    unsafe { libc::sched_setscheduler(tid, s.policy, &p) == 0 }
}

/// Whether a client may have changed the calling thread's scheduling since it last looked:
/// its Linux scheduling is then set again, whatever the cache says. `serving`: the thread
/// serves the channel of that bell from now on.
fn boosted(st: &mut SchedState, serving: Option<&Arc<Bell>>) -> bool {
    let changed =
        st.served.as_ref().is_some_and(|(bell, seen)| bell.clients().boosts.load(Ordering::Acquire) != *seen);
    match (serving, &mut st.served) {
        (Some(bell), Some((last, seen))) if Arc::ptr_eq(bell, last) => {
            *seen = bell.clients().boosts.load(Ordering::Acquire)
        }
        (Some(bell), served) => *served = Some((bell.clone(), bell.clients().boosts.load(Ordering::Acquire))),
        (None, Some((last, seen))) if changed => *seen = last.clients().boosts.load(Ordering::Acquire),
        (None, _) => {}
    }
    changed
}

/// Runs the calling thread at `want` (`None`: its own scheduling), with a system call only
/// when that differs from what it runs at or a client may have changed it.
fn apply(st: &mut SchedState, want: Option<Sched>, force: bool) {
    let own = st.own;
    // A real-time thread keeps its policy; any other takes the sender's.
    let want = within_rights(want)
        .map(|w| if own.is_realtime() { Sched::realtime(own.policy, w.rt) } else { w })
        .filter(|w| *w != own);
    let target = want.unwrap_or(own);
    if target == st.lent.unwrap_or(own) && !force {
        st.lent = want;
        return;
    }
    if set_linux(0, target) {
        st.lent = want;
    } else if want.is_some() {
        REFUSED.store(true, Ordering::Relaxed);
        if set_linux(0, own) {
            st.lent = None;
        }
    }
}

/// The calling thread received, from the channel of `bell`, a message or pulse that lends
/// it `want` (`None`: its own scheduling); `fixed`: the channel has
/// `_NTO_CHF_FIXED_PRIORITY`. It is the thread serving the channel now.
pub fn received(bell: &Arc<Bell>, fixed: bool, want: Option<Sched>) {
    let now = thread::with_sched(|st| {
        if fixed {
            let force = boosted(st, None);
            apply(st, None, force);
            return None;
        }
        let force = boosted(st, Some(bell));
        apply(st, want, force);
        Some(st.lent.unwrap_or(st.own))
    });
    if let Some(now) = now {
        let srv = bell.server();
        srv.serving_tid.store(thread::tid() as u32, Ordering::Relaxed);
        srv.serving.store(word(now), Ordering::Release);
    }
}

/// `MsgCurrent`: the calling thread runs at `want` until its next receive.
pub fn lend(want: Option<Sched>) {
    thread::with_sched(|st| {
        let force = boosted(st, None);
        apply(st, want, force)
    });
}

/// The calling thread found nothing to receive: what a message lent it ends, before it
/// waits.
pub fn idle() {
    lend(None);
}

/// The calling thread's message waits SEND-blocked on the channel of `bell`, owned by process
/// `server`: a real-time sender raises the thread serving the channel when no receiver
/// waits and that thread runs below it.
pub fn boost(bell: &Bell, server: libc::pid_t) {
    let me = thread::sched();
    if !me.is_realtime() {
        return;
    }
    let srv = bell.server();
    if srv.sleepers.load(Ordering::SeqCst) != 0 {
        return;
    }
    let serving = srv.serving.load(Ordering::Acquire);
    let tid = srv.serving_tid.load(Ordering::Relaxed) as i32;
    if tid <= 0 || (policy_of(serving) != libc::SCHED_OTHER && priority_of(serving) as i32 >= me.rt) {
        return;
    }
    // The bell is the server's word: the thread must be one of its own (signal 0 only
    // checks; EPERM says it exists), not any thread it names.
    // SAFETY: plain syscall, no signal is sent.
    let r = unsafe { libc::syscall(libc::SYS_tgkill, server, tid, 0) };
    if r != 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EPERM) {
        return;
    }
    if set_linux(tid, me) {
        bell.clients().boosts.fetch_add(1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_carry_priority_and_policy() {
        let fifo = Sched::realtime(libc::SCHED_FIFO, 50);
        let rr = Sched::realtime(libc::SCHED_RR, 3);
        let other = Sched { policy: libc::SCHED_OTHER, rt: 0, priority: 10 };
        for s in [fifo, rr] {
            assert_eq!(by_message(policy_of(word(s)), priority_of(word(s)) as i32), Some(s));
        }
        assert_eq!(by_message(policy_of(word(other)), priority_of(word(other)) as i32), None);
        assert_eq!(policy_of(3 << 8), libc::SCHED_OTHER);
        assert_eq!(by_pulse(10), None);
        assert_eq!(by_pulse(11), Some(Sched::realtime(libc::SCHED_FIFO, 11)));
    }
}
