//! The server half of the message state machine: replying to, reading from and writing to
//! a REPLY-blocked client named by its rcvid.

use super::abi::_msg_info;
use super::channel::Channel;
use super::errno::{Errno, KResult};
use super::inherit;
use super::process::current;
use super::server::{lookup, Copying, ServerConn};
use super::{client, thread};
use crate::transport::copy::{self, Dir, Seg};
use crate::transport::region::{state, Slot, INLINE, REPLY_INLINE, REPLY_TRACK};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// `MsgSend*` on `coid`; `cancel`: the call is a cancellation point.
pub fn send(coid: i32, smsg: &[Seg], rmsg: &[Seg], cancel: bool) -> KResult<i64> {
    if cancel {
        thread::test_cancel();
    }
    client::send(current(), coid, smsg, rmsg, cancel)
}

/// `MsgReceive*` on `chid`; with `pulses_only`, `MsgReceivePulse*`.
pub fn receive(chid: i32, segs: &[Seg], info: Option<&mut _msg_info>, pulses_only: bool) -> KResult<i64> {
    let p = current();
    let ch: Arc<Channel> = p.channel(chid)?;
    let r = ch.receive(p, segs, info, pulses_only);
    // Receiving is a cancellation point: a cancel that interrupted the wait acts now.
    if r == Err(Errno::EINTR) {
        thread::test_cancel();
    }
    r
}

/// `MsgReply*`: copies min(reply, client's reply buffer) bytes and releases the client with
/// `status`.
pub fn reply(rcvid: i64, status: i64, segs: &[Seg]) -> KResult<()> {
    let len = copy::total(segs)?;
    let (conn, s, gen) = lookup(current(), rcvid)?;
    if conn.is_dead() {
        return Err(Errno::ESRCH);
    }
    let held = claim_to_release(&conn, s, gen)?;
    let r = conn.received(s);
    let n = len.min(r.reply_cap as usize);
    let slot = conn.region.slot(s);
    wrote(slot, n);
    let copied = if n <= INLINE && conn.send_area_free(&held) {
        // Over the message, which is done with (the rcvid was released above, and no read
        // of ours runs: we hold the slot): the client reads the lines it wrote, so they
        // change hands once less each way (64 KiB: ~2 µs).
        // SAFETY: segs are the server's checked buffers; the inline area holds INLINE bytes.
        unsafe { copy::gather(segs, 0, conn.region.send_data(s), n) };
        slot.reply_len.store(n as u64, Ordering::Relaxed);
        slot.reply_flags.store(REPLY_INLINE, Ordering::Relaxed);
        Ok(())
    } else {
        conn.transfer(&held, &r, 0, segs, Dir::Write).map(|_| ())
    };
    match copied {
        Ok(()) => held.answer(state::REPLIED, status as u64),
        Err(e) => {
            held.finish(state::FAILED, e.0 as u64);
            Err(e)
        }
    }
}

/// Claims the slot of rcvid `gen` for its one reply: once any copy another thread of ours
/// makes for it has ended, and the rcvid ends with it. `ESRCH` when another thread replied
/// first or the client has gone.
fn claim_to_release(conn: &ServerConn, s: usize, gen: u32) -> KResult<Copying<'_>> {
    let held = conn.begin_copy(s, gen)?;
    if let Err(e) = conn.release(s, gen) {
        held.finish(state::RECEIVED, 0);
        return Err(e);
    }
    Ok(held)
}

/// `MsgError`: releases the client with `error` (`EOK`: `MsgSend` returns 0).
pub fn error(rcvid: i64, error: i32) -> KResult<()> {
    let (conn, s, gen) = lookup(current(), rcvid)?;
    if conn.is_dead() {
        return Err(Errno::ESRCH);
    }
    let held = claim_to_release(&conn, s, gen)?;
    // -1: the error that made the client ask to be unblocked.
    let error = match error {
        -1 => conn.unblock_request(s).unwrap_or(Errno::EINTR).0,
        e => e,
    };
    if error == 0 {
        conn.region.slot(s).reply_flags.store(0, Ordering::Relaxed);
        held.answer(state::REPLIED, 0)
    } else {
        held.answer(state::FAILED, error as u64)
    }
}

/// `MsgRead*`: bytes of the client's message from `offset`.
pub fn read(rcvid: i64, segs: &[Seg], offset: usize) -> KResult<usize> {
    copy::total(segs)?;
    let (conn, s, gen) = lookup(current(), rcvid)?;
    conn.check_alive()?;
    let held = conn.begin_copy(s, gen)?;
    let r = conn.received(s);
    let res = if offset as u64 >= r.send_len {
        Ok(0)
    } else if r.send_len <= INLINE as u64 {
        // The message is in the slot, in this process's memory.
        let src = [Seg { base: conn.region.send_data(s) as usize, len: r.send_len as usize }];
        copy::vm_copy(current().pid, segs, &src, offset, Dir::Read)
    } else {
        conn.transfer(&held, &r, offset, segs, Dir::Read)
    };
    held.finish(state::RECEIVED, 0);
    res
}

/// `MsgWrite*`: bytes into the client's reply buffer at `offset`; the client stays blocked.
pub fn write(rcvid: i64, segs: &[Seg], offset: usize) -> KResult<usize> {
    copy::total(segs)?;
    let (conn, s, gen) = lookup(current(), rcvid)?;
    conn.check_alive()?;
    let held = conn.begin_copy(s, gen)?;
    let r = conn.received(s);
    let res = conn.transfer(&held, &r, offset, segs, Dir::Write);
    // A write of nothing (past the end of the buffers) writes nothing.
    if let Ok(n @ 1..) = res {
        wrote(conn.region.slot(s), offset + n);
    }
    // The client's image went: its connection ended, and the slot with it.
    let (to, status) = match res {
        Err(e) if conn.is_dead() => (state::FAILED, e.0 as u64),
        _ => (state::RECEIVED, 0),
    };
    held.finish(to, status);
    res
}

/// Records that the client's reply buffers are written up to `end`, for a client that asked
/// (the gateway, which forwards only that much: see `net::track_replies`). The flag shares
/// the slot's first line with `state`, so others pay nothing for it.
fn wrote(slot: &Slot, end: usize) {
    if slot.reply_flags.load(Ordering::Relaxed) & REPLY_TRACK != 0 {
        slot.reply_extent.fetch_max(end as u64, Ordering::Relaxed);
    }
}

/// `MsgInfo`.
pub fn info(rcvid: i64, info: &mut _msg_info) -> KResult<()> {
    let (conn, s, _) = lookup(current(), rcvid)?;
    conn.check_alive()?;
    let r = conn.received(s);
    conn.fill_info(s, &r, conn.chid, info);
    Ok(())
}

/// `MsgCurrent`: the calling thread takes on the priority of the client of `rcvid` (0: none),
/// as the thread that received the message did (see `inherit`), unless the channel has
/// `_NTO_CHF_FIXED_PRIORITY`; for a thread other than the receiver that goes on serving it.
pub fn make_current(rcvid: i64) -> KResult<()> {
    if rcvid != 0 {
        let (conn, s, _) = lookup(current(), rcvid)?;
        let r = conn.received(s);
        if conn.channel.upgrade().is_some_and(|ch| !ch.fixed_priority()) {
            inherit::lend(inherit::by_message(r.policy, r.priority));
        }
    }
    Ok(())
}
