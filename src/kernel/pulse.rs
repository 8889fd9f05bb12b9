//! Pulses: small non-blocking messages, from clients (`MsgSendPulse`) and from the kernel
//! (disconnect, unblock, coid death), queued on a channel among its messages.

use super::abi::{
    _pulse, _NTO_CHF_COID_DISCONNECT, _PULSE_CODE_COIDDEATH, _PULSE_CODE_DISCONNECT, _PULSE_CODE_UNBLOCK,
};
use super::errno::{Errno, KResult};
use super::process::Process;
use super::server::ServerConn;
use super::{client, thread};
use crate::transport::copy::Seg;
use crate::transport::region::{PulseRing, PULSE_RING};
use std::sync::atomic::Ordering;

/// A queued pulse: what the receiver's `struct _pulse` will hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pulse {
    pub code: i8,
    pub value: u64,
    pub scoid: i32,
    /// It holds an entry of the channel's pulse pool (kernel pulses never do).
    pub pooled: bool,
    /// The serial of the client connection that sent it (see `ServerConn::serial`), which
    /// counts its pending pulses; 0 for the kernel's and this process's own.
    pub from: u64,
}

impl Pulse {
    pub fn disconnect(scoid: i32) -> Pulse {
        Pulse { code: _PULSE_CODE_DISCONNECT as i8, value: 0, scoid, pooled: false, from: 0 }
    }

    pub fn unblock(scoid: i32, rcvid: i64) -> Pulse {
        Pulse { code: _PULSE_CODE_UNBLOCK as i8, value: rcvid as u64, scoid, pooled: false, from: 0 }
    }

    pub fn coid_death(coid: i32) -> Pulse {
        Pulse {
            code: _PULSE_CODE_COIDDEATH as i8,
            value: coid as i64 as u64,
            scoid: -1,
            pooled: false,
            from: 0,
        }
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

/// One record of a client's ring, as the server read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingPulse {
    pub priority: u8,
    pub code: i8,
    pub value: u64,
    pub ticket: u64,
}

/// Reads the records a client published in `ring` from `head` (the server's own count of
/// what it took), in order, offering each to `take` until it refuses one or the next is not
/// published yet; returns the new head. At most a ring's worth: a client rewriting its
/// records cannot hold us longer. Any bytes in the ring are handled; no index leaves it.
pub fn read_ring(ring: &PulseRing, head: u64, mut take: impl FnMut(RingPulse) -> bool) -> u64 {
    let mut next = head;
    while next.wrapping_sub(head) < PULSE_RING as u64 {
        let rec = &ring.recs[(next % PULSE_RING as u64) as usize];
        if rec.seq.load(Ordering::Acquire) != next.wrapping_add(1) {
            break;
        }
        let p = RingPulse {
            priority: rec.priority.load(Ordering::Relaxed).clamp(1, 255) as u8,
            code: rec.code.load(Ordering::Relaxed) as i8,
            value: rec.value.load(Ordering::Relaxed),
            ticket: rec.ticket.load(Ordering::Relaxed),
        };
        if !take(p) {
            break;
        }
        next = next.wrapping_add(1);
    }
    next
}

/// Takes the pulses a client wrote into its connection's ring, as many as `take` accepts;
/// the rest stay in the ring, where an honest client does not overwrite them (it reserves
/// places only up to the server's head). Returns whether some were left.
pub fn drain_ring(conn: &ServerConn, mut take: impl FnMut(RingPulse) -> bool) -> bool {
    let ring = &conn.region.layout().pulses;
    let head = conn.pulse_head.load(Ordering::Relaxed);
    let mut left = false;
    // A client refused pulses has its ring emptied unread.
    let new_head = read_ring(ring, head, |p| {
        left = conn.may_pulse && !take(p);
        !left
    });
    conn.pulse_head.store(new_head, Ordering::Relaxed);
    ring.head.store(new_head, Ordering::Release);
    left
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A ring holding exactly `bytes` (repeated to fill it).
    fn ring_of(bytes: &[u8]) -> Box<PulseRing> {
        // SAFETY: PulseRing is atomics and integers, valid for any bit pattern (all zeros here).
        let mut ring: Box<PulseRing> = Box::new(unsafe { std::mem::zeroed() });
        let len = std::mem::size_of::<PulseRing>();
        let p = &mut *ring as *mut PulseRing as *mut u8;
        for i in 0..len {
            // SAFETY: i < len, inside the box we own.
            unsafe { *p.add(i) = bytes[i % bytes.len()] };
        }
        ring
    }

    proptest! {
        /// Whatever a client wrote, the server reads at most a ring's worth, never outside
        /// it, priorities in 1..=255, only published records, in order, and stops where it
        /// was refused.
        #[test]
        fn any_ring_is_read_within_bounds(
            bytes in proptest::collection::vec(any::<u8>(), 1..512),
            head in any::<u64>(),
            published in 0u64..=PULSE_RING as u64,
            room in 0usize..200,
        ) {
            let ring = ring_of(&bytes);
            for k in 0..published {
                let place = head.wrapping_add(k);
                ring.recs[(place % PULSE_RING as u64) as usize].seq.store(place.wrapping_add(1), Ordering::Relaxed);
            }
            let mut taken = 0usize;
            let new_head = read_ring(&ring, head, |p| {
                assert!(p.priority >= 1);
                if taken == room {
                    return false;
                }
                taken += 1;
                true
            });
            prop_assert!(taken <= PULSE_RING);
            prop_assert_eq!(new_head, head.wrapping_add(taken as u64));
            let ready = published as usize;
            prop_assert!(taken >= ready.min(room));
        }
    }
}
