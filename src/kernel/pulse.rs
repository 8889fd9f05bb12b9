//! Pulses: small non-blocking messages, from clients (`MsgSendPulse`) and from the kernel
//! (disconnect, unblock, coid death), queued on a channel among its messages.

use super::abi::{
    _pulse, _NTO_CHF_COID_DISCONNECT, _PULSE_CODE_COIDDEATH, _PULSE_CODE_DISCONNECT, _PULSE_CODE_UNBLOCK,
};
use super::errno::{Errno, KResult};
use super::process::Process;
use super::queue::Rank;
use super::server::ServerConn;
use super::{client, thread};
use crate::transport::copy::Seg;
use crate::transport::region::PULSE_RING;
use std::sync::atomic::Ordering;

/// A queued pulse: what the receiver's `struct _pulse` will hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pulse {
    pub code: i8,
    pub value: u64,
    pub scoid: i32,
    /// It holds an entry of the channel's pulse pool (kernel pulses never do).
    pub pooled: bool,
}

impl Pulse {
    pub fn disconnect(scoid: i32) -> Pulse {
        Pulse { code: _PULSE_CODE_DISCONNECT as i8, value: 0, scoid, pooled: false }
    }

    pub fn unblock(scoid: i32, rcvid: i64) -> Pulse {
        Pulse { code: _PULSE_CODE_UNBLOCK as i8, value: rcvid as u64, scoid, pooled: false }
    }

    pub fn coid_death(coid: i32) -> Pulse {
        Pulse { code: _PULSE_CODE_COIDDEATH as i8, value: coid as i64 as u64, scoid: -1, pooled: false }
    }
}

/// A pulse's priority as QNX reads the argument: -1 is the caller's priority, 0 becomes 1.
pub fn priority(priority: i32) -> KResult<u8> {
    match priority {
        -1 => Ok(thread::priority().clamp(1, 255) as u8),
        0 => Ok(1),
        1..=255 => Ok(priority as u8),
        _ => Err(Errno::EINVAL),
    }
}

/// `MsgSendPulse`/`MsgSendPulsePtr`.
/// Async-signal-safe (QNX code sends pulses from signal handlers): the coid is looked up
/// without a lock, and the pulse goes through the connection's lock-free ring.
pub fn send(coid: i32, prio: i32, code: i32, value: u64) -> KResult<()> {
    let prio = priority(prio)?;
    let p = super::process::existing().ok_or(Errno::EBADF)?;
    client::with_conn(p, coid, |conn| conn.send_pulse(prio, code as i8, value))?
}

/// Writes `p` as a `struct _pulse` into the first buffer; a first buffer too small for one
/// is `EFAULT`, and the pulse is lost (QNX's rule).
pub fn deliver(p: &Pulse, segs: &[Seg]) -> KResult<()> {
    let first = segs.first().filter(|s| s.len >= std::mem::size_of::<_pulse>()).ok_or(Errno::EFAULT)?;
    let out = _pulse {
        r#type: 0,
        subtype: 0,
        code: p.code,
        zero: [0; 3],
        value: libc::sigval { sival_ptr: p.value as usize as *mut libc::c_void },
        scoid: p.scoid,
    };
    // SAFETY: the first buffer is this process's, checked non-NULL and large enough.
    unsafe { std::ptr::write_unaligned(first.base as *mut _pulse, out) };
    Ok(())
}

/// Takes the pulses a client wrote into its connection's ring: those ready in order from
/// the head, at most a ring's worth (a client rewriting its records cannot hold us longer).
/// `pooled`: the channel has a pulse pool, whose entries the senders took.
pub fn drain_ring(conn: &ServerConn, pooled: bool, mut push: impl FnMut(Rank, Pulse)) {
    let ring = &conn.region.layout().pulses;
    let head = conn.pulse_head.load(Ordering::Relaxed);
    let mut next = head;
    while next.wrapping_sub(head) < PULSE_RING as u64 {
        let rec = &ring.recs[(next % PULSE_RING as u64) as usize];
        if rec.seq.load(Ordering::Acquire) != next.wrapping_add(1) {
            break;
        }
        // A client the server refuses pulses to only hurts itself by writing some.
        if conn.may_pulse {
            let rank = Rank {
                priority: rec.priority.load(Ordering::Relaxed).clamp(1, 255) as u8,
                ticket: rec.ticket.load(Ordering::Relaxed),
            };
            let code = rec.code.load(Ordering::Relaxed) as i8;
            let value = rec.value.load(Ordering::Relaxed);
            push(rank, Pulse { code, value, scoid: conn.scoid, pooled });
        }
        next = next.wrapping_add(1);
    }
    conn.pulse_head.store(next, Ordering::Relaxed);
    ring.head.store(next, Ordering::Release);
}

/// Queues `_PULSE_CODE_COIDDEATH` for `coid` on this process's death channel, if it has one.
pub fn coid_death(p: &Process, coid: i32) {
    let death = p
        .channels
        .lock()
        .iter()
        .find(|(_, c)| c.flags & _NTO_CHF_COID_DISCONNECT != 0)
        .map(|(_, c)| c.clone());
    if let Some(ch) = death {
        let _ = ch.enqueue_pulse(thread::DEFAULT_PRIORITY as u8, Pulse::coid_death(coid));
    }
}
