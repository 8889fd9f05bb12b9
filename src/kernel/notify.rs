//! Events a server delivers to its clients (`MsgDeliverEvent`, `MsgVerifyEvent`), and the
//! registrations by which a client says which server may deliver what
//! (`MsgRegisterEvent`). An event is always carried out in the client process, by its
//! service thread: a pulse event's coid is the client's, a signal is the client's to take.

use super::abi::{_NTO_COF_NOEVENT, _NTO_COF_REG_EVENTS};
use super::errno::{Errno, KResult};
use super::event::{self, RawEvent, Sender, FLAG_CODE_UPDATEABLE, FLAG_HANDLE, FLAG_UPDATEABLE};
use super::process::{current, Process};
use super::{client, server, thread};
use crate::transport::link::{Request, Wait, OP_EVENT};
use std::sync::atomic::{AtomicU32, Ordering};

/// `MsgRegisterEvent`'s `coid` for "any server" and (QNX 8) "this process only".
const ALLOW_ANY_SERVER: i32 = -1;
const ALLOW_SELF: i32 = -2;
/// `OP_EVENT` flag: check the event, do not deliver it.
pub const VERIFY_ONLY: u32 = 1;

/// A registered event and the server allowed to deliver it (`None`: any).
#[derive(Clone, Copy)]
pub struct Registration {
    event: RawEvent,
    server: Option<libc::pid_t>,
}

/// `MsgRegisterEvent`: records `ev` and rewrites it into a handle for the server.
pub fn register(ev: &mut RawEvent, coid: i32) -> KResult<()> {
    ev.kind()?;
    if ev.flags() & FLAG_HANDLE != 0 {
        return Err(Errno::EINVAL);
    }
    let p = current();
    let server = match coid {
        ALLOW_ANY_SERVER => None,
        ALLOW_SELF => Some(p.pid),
        c => Some(client::lookup(p, c)?.server_pid),
    };
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let handle = loop {
        let h = NEXT.fetch_add(1, Ordering::Relaxed);
        if h != 0 && h != u32::MAX {
            break h;
        }
    };
    p.events.lock().insert(handle, Registration { event: *ev, server });
    ev.notify |= FLAG_HANDLE;
    ev.handle = handle;
    Ok(())
}

/// `MsgUnregisterEvent`.
pub fn unregister(ev: &RawEvent) -> KResult<()> {
    if ev.flags() & FLAG_HANDLE == 0 {
        return Err(Errno::EINVAL);
    }
    current().events.lock().remove(&ev.handle).map(drop).ok_or(Errno::EINVAL)
}

/// `MsgDeliverEvent` (or, with `verify`, `MsgVerifyEvent`) to the client thread `rcvid`
/// names, replied to or not; rcvid 0 is the calling thread.
pub fn deliver(rcvid: i64, ev: &RawEvent, verify: bool) -> KResult<()> {
    deliver_for(rcvid, None, ev, verify)
}

/// [`deliver`] on connection `rcvid` for its client's thread `tid` (which the client checks
/// to be one that sent on the connection) rather than the thread `rcvid` names: how the
/// network gateway delivers a remote server's event to the thread of its client it names.
pub fn deliver_to(rcvid: i64, tid: i32, ev: &RawEvent) -> KResult<()> {
    deliver_for(rcvid, Some(tid), ev, false)
}

fn deliver_for(rcvid: i64, thread: Option<i32>, ev: &RawEvent, verify: bool) -> KResult<()> {
    let p = current();
    if rcvid == 0 {
        return receive(p, None, ev, Some(thread::tid()), verify);
    }
    let (conn, named) = server::client_of(p, rcvid)?;
    let tid = thread.or(named);
    if conn.link.is_none() {
        return receive(p, Some((me(p), conn.scoid)), ev, tid, verify);
    }
    let link = p.link(conn.peer.pid).map_err(|_| Errno::ESRCH)?;
    let req = Request {
        op: OP_EVENT,
        scoid: conn.scoid,
        flags: if verify { VERIFY_ONLY } else { 0 },
        tid: tid.unwrap_or(0),
        event: ev.to_words(),
        ..Default::default()
    };
    match link.request(&req, Wait::Event) {
        Ok((resp, _)) if resp.status == 0 => Ok(()),
        Ok((resp, _)) => Err(Errno(resp.status)),
        // The client's service thread did not answer in time (the client is stopped, say),
        // or still owes an earlier answer: the event is sent and it acts on it when it runs
        // again, as on QNX, where the kernel queues the event for the stopped client and
        // MsgDeliverEvent returns at once. A check that could not be made fails.
        Err(Errno::ETIMEDOUT) if verify => Err(Errno::EBUSY),
        Err(Errno::ETIMEDOUT) => Ok(()),
        // Not sent: the link stayed busy, or the client refuses us more links.
        Err(Errno::EAGAIN) => Err(Errno::EAGAIN),
        Err(_) => Err(Errno::ESRCH),
    }
}

fn me(p: &Process) -> Sender {
    // SAFETY: plain syscall.
    Sender { pid: p.pid, uid: unsafe { libc::getuid() } }
}

/// In the client: an event from the server at the other end of connection `scoid` (`None`:
/// the calling thread's own), for thread `tid`.
pub fn receive(
    p: &Process,
    from: Option<(Sender, i32)>,
    ev: &RawEvent,
    tid: Option<i32>,
    verify: bool,
) -> KResult<()> {
    let (sender, conn_flags) = match from {
        None => (me(p), 0),
        Some((s, scoid)) => (s, client::event_flags(p, s.pid, scoid).ok_or(Errno::ESRCH)?),
    };
    // In the gateway: the event may be for the remote client it holds this connection for.
    if let (Some(hook), Some((s, scoid))) = (super::net::event_hook(), from) {
        if let Some(done) = client::coid_of(p, s.pid, scoid).and_then(|coid| hook(coid, ev, tid, verify)) {
            return done;
        }
    }
    if conn_flags & _NTO_COF_NOEVENT != 0 {
        return Err(Errno::EACCES);
    }
    let registered = ev.flags() & FLAG_HANDLE != 0;
    let ev = if registered {
        let reg = p.events.lock().get(&ev.handle).copied().ok_or(Errno::EINVAL)?;
        if reg.server.is_some_and(|pid| pid != sender.pid) {
            return Err(Errno::EACCES);
        }
        let mut registered = reg.event;
        if registered.flags() & FLAG_UPDATEABLE != 0 {
            registered.value = ev.value;
        }
        if registered.flags() & FLAG_CODE_UPDATEABLE != 0 {
            registered.code = ev.code;
        }
        registered
    } else if conn_flags & _NTO_COF_REG_EVENTS != 0 {
        return Err(Errno::EACCES);
    } else {
        *ev
    };
    // The thread a server names is one its rcvid can name: one that sent it a message on
    // this connection. Any other is no client of its (QNX: a bad rcvid, ESRCH), and must not
    // have its blocking call ended or be signalled by that server.
    if let (Some((sender, scoid)), Some(t)) = (from, tid) {
        let aimed = matches!(ev.kind(), Ok(event::Kind::Unblock | event::Kind::SignalThread));
        if aimed && sender.pid != p.pid && !client::sent_by(p, sender.pid, scoid, t) {
            return Err(Errno::ESRCH);
        }
    }
    // Beyond QNX: another process's unregistered SIGEV_THREAD would run code at an address
    // (with attributes) the server chose. QNX's kernel makes that thread; a library cannot
    // tell a client's function from a server's guess, so only registered ones run.
    if !registered && sender.pid != p.pid && ev.kind() == Ok(event::Kind::Thread) {
        return Err(Errno::EACCES);
    }
    if verify {
        event::verify_here(&ev, tid)
    } else {
        event::deliver_here(&ev, tid, sender)
    }
}
