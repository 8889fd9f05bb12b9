//! Remote nodes: the library's side of the network gateway (`neutrino-netd`, in `net/`).
//!
//! The library carries no network engine. A per-node gateway process holds the local name
//! [`GATEWAY_NAME`] (found like any `name_open` name, so only a root process or one of our
//! own user is believed to be it). A remote `ConnectAttach(nd, pid, chid)` is a connection
//! of its own (never shared) to the gateway, announced by one [`NetReq`] with
//! [`NET_ATTACH`]; from then on the coid is an ordinary local coid and every `MsgSend*` and
//! pulse on it reaches the gateway, which forwards it to node `nd`. The local fast path is
//! untouched: nothing in it asks whether a coid is remote.
//!
//! The `netmgr_*` calls are [`NetReq`]s too, on a connection made for the call.
//!
//! An event a local server delivers to a remote client reaches the gateway, the server's
//! client here: the gateway takes those of its connections held for remote nodes through
//! [`set_event_hook`] and forwards them to the client's node.
//!
//! On the server's node, the gateway's connection for a remote client claims to stand for
//! it ([`Behalf`]); the server believes the claim of that gateway only ([`vouch`]), and
//! then shows the remote client in `_msg_info` and `ConnectClientInfo`.

use super::abi::{_NTO_COF_NOSHARE, _NTO_SIDE_CHANNEL};
use super::client;
use super::errno::{Errno, KResult};
use super::event::RawEvent;
use super::names::trusted;
use super::server::{Creds, Shown};
use crate::transport::copy::Seg;
use crate::transport::link::PeerCred;
use crate::transport::names as sockets;
use crate::transport::region::Slot;
use crate::transport::rendezvous;
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// The local name the gateway holds.
pub const GATEWAY_NAME: &[u8] = b"neutrino/netmgr";

/// The first word of every request to the gateway (that is not forwarded traffic).
pub const NET_MAGIC: u32 = u32::from_le_bytes(*b"QNET");
/// `ConnectAttach(nd, pid, chid)`: this connection now stands for that remote channel.
pub const NET_ATTACH: u32 = 1;
/// `netmgr_strtond`: the name follows the request; the status is the nd, the reply the
/// number of bytes the name took (u32).
pub const NET_STRTOND: u32 = 2;
/// `netmgr_ndtostr(flags, nd)`: the status is the full length, the reply the string.
pub const NET_NDTOSTR: u32 = 3;
/// `netmgr_remote_nd(nd = remote_nd, pid = local_nd)`: the status is the nd.
pub const NET_REMOTE_ND: u32 = 4;
/// `name_attach(..., NAME_FLAG_ATTACH_GLOBAL)`: the global name that follows is served by
/// the sender's channel `chid` for as long as this connection lasts.
pub const NET_NAME_ATTACH: u32 = 5;
/// `name_open(..., NAME_FLAG_ATTACH_GLOBAL)`: who holds the global name that follows; the
/// status is the nd, the reply the pid and chid (i32 each).
pub const NET_NAME_OPEN: u32 = 6;

/// What the gateway does with an event a server delivers on the gateway's connection `coid`
/// (for the server's thread `tid` the rcvid named; `verify`: `MsgVerifyEvent`): `None` when
/// the connection is none it holds for a remote node (the event is the gateway's own).
pub type EventHook = fn(coid: i32, ev: &RawEvent, tid: Option<i32>, verify: bool) -> Option<KResult<()>>;

static EVENT_HOOK: OnceLock<EventHook> = OnceLock::new();

/// Installs the gateway's [`EventHook`], once per process; `false` if one was already there.
pub fn set_event_hook(hook: EventHook) -> bool {
    EVENT_HOOK.set(hook).is_ok()
}

/// The process's [`EventHook`]: only a gateway has one.
pub(crate) fn event_hook() -> Option<EventHook> {
    EVENT_HOOK.get().copied()
}

static TRACKING: AtomicBool = AtomicBool::new(false);

thread_local! {
    static EXTENT: Cell<u64> = const { Cell::new(0) };
}

/// From now on this process's messages ask their servers how far they wrote into the reply
/// buffers, and [`reply_extent`] tells it: the gateway forwards only that much of a reply,
/// so the remote client keeps the rest of its buffer as QNX leaves it. Other processes never
/// call it and pay one test per message.
pub fn track_replies() {
    TRACKING.store(true, Ordering::Relaxed);
}

pub(crate) fn tracking() -> bool {
    TRACKING.load(Ordering::Relaxed)
}

/// The calling thread's message in `slot` was answered with data: what its server wrote
/// is noted for [`reply_extent`].
#[inline]
pub(crate) fn replied(slot: &Slot) {
    if tracking() {
        EXTENT.set(slot.reply_extent.load(Ordering::Relaxed));
    }
}

/// After [`track_replies`]: how far the server of the calling thread's last answered message
/// wrote into its reply buffers (`MsgWrite`s and `MsgReply`), as that server says: bytes
/// past it were not written. The caller bounds it by its buffers.
pub fn reply_extent() -> u64 {
    EXTENT.get()
}

static DEQUEUES: AtomicBool = AtomicBool::new(false);

thread_local! {
    static DEQUEUED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// From now on each channel of this process numbers what its receivers take off its queue,
/// 1, 2, ... in the order they take it, and [`take_dequeued`] tells a receiver its numbers:
/// the gateway hands what its threads received to the network in that order. Other
/// processes never call it and pay one test per receive.
pub fn track_dequeues() {
    DEQUEUES.store(true, Ordering::Relaxed);
}

pub(crate) fn tracking_dequeues() -> bool {
    DEQUEUES.load(Ordering::Relaxed)
}

pub(crate) fn dequeued_clear() {
    DEQUEUED.with(|d| d.borrow_mut().clear());
}

/// The calling thread's receive took the item numbered `n` off its channel's queue.
pub(crate) fn dequeued(n: u64) {
    DEQUEUED.with(|d| d.borrow_mut().push(n));
}

/// After [`track_dequeues`]: the numbers of what the calling thread's last `MsgReceive*`
/// took off its channel's queue, in `out` (cleared first). The last is what it returned,
/// if it returned something; the others (a message whose client died or faulted before it
/// was copied, one our buffer could not take) were given up. Usually one number, never
/// fewer than the items returned.
pub fn take_dequeued(out: &mut Vec<u64>) {
    out.clear();
    DEQUEUED.with(|d| out.extend(d.borrow_mut().drain(..)));
}

/// Supplementary groups a remote client's credentials carry (QNX's `NGROUPS_MAX` is 8;
/// what fits beside the rest of [`Behalf`] in an attach request).
pub const BEHALF_GROUPS: usize = 6;

/// The remote client a connection of the node's gateway stands for, as the gateway's
/// attach request carries it to the server (in the request's event words): the nd by
/// which this node names the client's node (never 0), the nd by which the client's node
/// names this one, the client's pid and credentials. The server believes it only of the
/// gateway it would reach itself (see [`vouch`]).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Behalf {
    pub nd: u32,
    pub srcnd: u32,
    pub pid: libc::pid_t,
    pub uids: [u32; 3],
    pub gids: [u32; 3],
    pub ngroups: u32,
    pub groups: [u32; BEHALF_GROUPS],
}

const _: () = assert!(std::mem::size_of::<Behalf>() == 64);

impl Behalf {
    pub fn to_words(self) -> [u64; 8] {
        // SAFETY: both are 64 bytes of plain data.
        unsafe { std::mem::transmute(self) }
    }

    pub fn from_words(w: [u64; 8]) -> Behalf {
        // SAFETY: both are 64 bytes of plain data; every bit pattern is a valid Behalf.
        unsafe { std::mem::transmute(w) }
    }
}

/// What a server believes of an attach request that claims to stand for remote client
/// `claim`, made through a link whose process the kernel says is `peer` (whose own
/// credentials are `own`): the claim's nd, srcnd and pid, with the client's credentials,
/// if `peer` is the gateway this process would reach itself (the holder of
/// [`GATEWAY_NAME`], root or of our effective uid, as `name_open` accepts it); `None` (the
/// connection is seen as made by `peer` itself) otherwise. A gateway running as root
/// passes remote credentials through (as Qnet does; its `--mapany`/`--maproot` map them);
/// any other presents its remote clients as its own user, so that no node can act as a
/// user the gateway is not. Paid once per attach: a look at the kernel's credentials,
/// then non-blocking connects to the name's listeners, never a wait on a peer.
pub fn vouch(peer: &PeerCred, claim: &Behalf, own: &Creds) -> Option<(Shown, Creds)> {
    if claim.nd & 0xffff == 0 || !trusted(peer) {
        return None;
    }
    let is_peer = |holder: &PeerCred| holder.pid == peer.pid && trusted(holder);
    sockets::held_by(GATEWAY_NAME, &is_peer).then_some(())?;
    let creds = if peer.uid == 0 {
        let n = (claim.ngroups as usize).min(BEHALF_GROUPS);
        Creds { uids: claim.uids, gids: claim.gids, groups: claim.groups[..n].to_vec(), sid: 0 }
    } else {
        Creds { sid: 0, ..own.clone() }
    };
    Some((Shown { pid: claim.pid, nd: claim.nd, srcnd: claim.srcnd }, creds))
}

/// A request to the gateway, in native byte order (it never leaves the node).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct NetReq {
    pub magic: u32,
    pub op: u32,
    pub nd: u32,
    pub pid: i32,
    pub chid: i32,
    pub flags: u32,
}

impl NetReq {
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: plain data without padding (six 4-byte fields).
        unsafe {
            std::slice::from_raw_parts(self as *const NetReq as *const u8, std::mem::size_of::<NetReq>())
        }
    }

    /// The request at the start of `b`, if `b` holds one.
    pub fn parse(b: &[u8]) -> Option<NetReq> {
        if b.len() < std::mem::size_of::<NetReq>() {
            return None;
        }
        // SAFETY: long enough; every bit pattern is a valid NetReq; read_unaligned.
        let r = unsafe { std::ptr::read_unaligned(b.as_ptr() as *const NetReq) };
        (r.magic == NET_MAGIC).then_some(r)
    }
}

/// A connection of our own to the gateway: `ENOENT` when none runs.
fn gateway(index: u32, flags: i32) -> KResult<i32> {
    let deadline = rendezvous::deadline();
    let (pid, answer) = sockets::lookup(GATEWAY_NAME, &trusted, deadline)?;
    client::attach_by(pid, answer.chid, index, flags | _NTO_COF_NOSHARE as i32, deadline).map_err(|e| {
        if e == Errno::ESRCH {
            Errno(libc::ENOENT)
        } else {
            e
        }
    })
}

/// Sends `req` (and `extra`) to the gateway on a connection made for it; as QNX's library
/// does, no gateway is `ENOTSUP`.
pub fn ask(req: NetReq, extra: &[u8], reply: &mut [u8]) -> KResult<i64> {
    let coid =
        gateway(_NTO_SIDE_CHANNEL, 0)
            .map_err(|e| if e.0 == libc::ENOENT { Errno(libc::ENOTSUP) } else { e })?;
    let smsg = [seg(req.as_bytes()), seg(extra)];
    let rmsg = [Seg { base: reply.as_mut_ptr() as usize, len: reply.len() }];
    let r = super::message::send(coid, &smsg, &rmsg, false);
    let _ = client::detach(coid);
    r
}

/// Announces the global name `path` of this process's channel `chid` through the gateway:
/// the connection that stands for the announcement (detaching it, or the process's death,
/// withdraws it). No gateway is `ENOTSUP`, as a global `name_attach` fails on QNX without
/// `gns`.
pub fn announce(path: &[u8], chid: i32) -> KResult<i32> {
    let coid =
        gateway(_NTO_SIDE_CHANNEL, 0)
            .map_err(|e| if e.0 == libc::ENOENT { Errno(libc::ENOTSUP) } else { e })?;
    let req = NetReq { magic: NET_MAGIC, op: NET_NAME_ATTACH, chid, ..Default::default() };
    match super::message::send(coid, &[seg(req.as_bytes()), seg(path)], &[], false) {
        Ok(_) => Ok(coid),
        Err(e) => {
            let _ = client::detach(coid);
            Err(e)
        }
    }
}

/// The node, pid and chid of the holder of global name `path`; none, or no gateway, is
/// `ENOENT` (nothing is found under QNX's `/dev/name/global` without `gns`).
pub fn find_name(path: &[u8]) -> KResult<(u32, libc::pid_t, i32)> {
    let req = NetReq { magic: NET_MAGIC, op: NET_NAME_OPEN, ..Default::default() };
    let mut at = [0u8; 8];
    let nd =
        ask(req, path, &mut at).map_err(|e| if e.0 == libc::ENOTSUP { Errno(libc::ENOENT) } else { e })?;
    let word = |i: usize| i32::from_ne_bytes(at[i..i + 4].try_into().unwrap());
    Ok((nd as u32, word(0), word(4)))
}

fn seg(b: &[u8]) -> Seg {
    Seg { base: b.as_ptr() as usize, len: b.len() }
}

/// `ConnectAttach` with a remote `nd`: without a gateway, `ENOREMOTE` as before any
/// network existed; the gateway's own refusal (unknown node `ESRCH`, ...) otherwise.
pub fn attach(nd: u32, pid: libc::pid_t, chid: i32, index: u32, flags: i32) -> KResult<i32> {
    let coid = gateway(index, flags).map_err(|e| if e.0 == libc::ENOENT { Errno::ENOREMOTE } else { e })?;
    let req = NetReq { magic: NET_MAGIC, op: NET_ATTACH, nd, pid, chid, flags: flags as u32 };
    match super::message::send(coid, &[seg(req.as_bytes())], &[], false) {
        Ok(_) => Ok(coid),
        Err(e) => {
            let _ = client::detach(coid);
            Err(e)
        }
    }
}

pub const ND2S_DIR_SHOW: u32 = 0x0001;
pub const ND2S_DIR_HIDE: u32 = 0x0002;
pub const ND2S_QOS_SHOW: u32 = 0x0004;
pub const ND2S_QOS_HIDE: u32 = 0x0008;
pub const ND2S_NAME_SHOW: u32 = 0x0010;
pub const ND2S_NAME_HIDE: u32 = 0x0020;
pub const ND2S_DOMAIN_SHOW: u32 = 0x0040;
pub const ND2S_DOMAIN_HIDE: u32 = 0x0080;
pub const ND2S_LOCAL_STR: u32 = 0x1000;
pub const ND2S_SEP_FORCE: u32 = 0x2000;

/// The node's host and domain names (Linux says "(none)" for no domain).
fn host_domain() -> (Vec<u8>, Vec<u8>) {
    let mut u: libc::utsname = unsafe_zeroed();
    // SAFETY: u is a writable utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return (Vec::new(), Vec::new());
    }
    let field =
        |f: &[libc::c_char]| -> Vec<u8> { f.iter().take_while(|c| **c != 0).map(|c| *c as u8).collect() };
    let domain = field(&u.domainname);
    (field(&u.nodename), if domain == b"(none)" { Vec::new() } else { domain })
}

fn unsafe_zeroed() -> libc::utsname {
    // SAFETY: utsname is plain character arrays; all zeros is valid.
    unsafe { std::mem::zeroed() }
}

/// `netmgr_ndtostr` of `ND_LOCAL_NODE` on a node without a network manager, as QNX's
/// library builds it from the host and domain names: the string, without its NUL.
pub fn local_ndtostr(mut flags: u32) -> Vec<u8> {
    let mut s = Vec::new();
    let shows = ND2S_DIR_SHOW | ND2S_NAME_SHOW | ND2S_DOMAIN_SHOW | ND2S_QOS_SHOW;
    if flags & (ND2S_LOCAL_STR | shows) == ND2S_LOCAL_STR | ND2S_DIR_SHOW {
        s.push(b'/');
        return s;
    }
    if flags & (ND2S_DIR_SHOW | ND2S_NAME_HIDE | ND2S_DOMAIN_SHOW | ND2S_QOS_SHOW) == 0 {
        flags |= ND2S_NAME_SHOW;
    }
    if flags & shows != ND2S_DIR_SHOW {
        if flags & (ND2S_DIR_HIDE | ND2S_NAME_HIDE | ND2S_DOMAIN_HIDE | ND2S_QOS_HIDE) == 0 {
            flags |= ND2S_NAME_SHOW;
        }
        if flags & (ND2S_LOCAL_STR | ND2S_NAME_HIDE | ND2S_DOMAIN_HIDE | ND2S_DOMAIN_SHOW) == 0 {
            flags |= ND2S_DOMAIN_SHOW;
        }
    }
    if flags & (ND2S_DIR_SHOW | ND2S_NAME_HIDE | ND2S_DOMAIN_SHOW) == ND2S_DIR_SHOW | ND2S_DOMAIN_SHOW {
        flags |= ND2S_NAME_SHOW;
    }
    let (host, domain) = host_domain();
    if flags & ND2S_DIR_SHOW != 0 {
        s.push(b'/');
    }
    if flags & ND2S_NAME_SHOW != 0 {
        s.extend_from_slice(&host);
    }
    if flags & ND2S_DOMAIN_SHOW != 0 {
        if domain.is_empty() {
            flags &= !ND2S_DOMAIN_SHOW;
        } else {
            if flags & (ND2S_DIR_SHOW | ND2S_NAME_SHOW | ND2S_SEP_FORCE) != 0 {
                s.push(b'.');
            }
            s.extend_from_slice(&domain);
        }
    }
    if flags & ND2S_DIR_SHOW != 0 && flags & (ND2S_DOMAIN_SHOW | ND2S_NAME_SHOW) != 0 {
        s.extend_from_slice(b"/../");
    }
    s
}

/// `netmgr_strtond`: the nd of the node `name` starts with and how many bytes its name took.
pub fn strtond(name: &[u8]) -> KResult<(i32, usize)> {
    let req = NetReq { magic: NET_MAGIC, op: NET_STRTOND, ..Default::default() };
    let mut used = [0u8; 4];
    let nd = ask(req, name, &mut used)?;
    Ok((nd as i32, (u32::from_ne_bytes(used) as usize).min(name.len())))
}

/// `netmgr_ndtostr`: the string, without its NUL, and its full length as QNX counts it
/// (the NUL included).
pub fn ndtostr(flags: u32, nd: i32, buf: &mut [u8]) -> KResult<usize> {
    let req = NetReq { magic: NET_MAGIC, op: NET_NDTOSTR, nd: nd as u32, flags, ..Default::default() };
    match ask(req, &[], buf) {
        Ok(len) => Ok(len as usize),
        Err(e) if e.0 == libc::ENOTSUP && nd & 0xffff == 0 => {
            let s = local_ndtostr(flags);
            let n = s.len().min(buf.len());
            buf[..n].copy_from_slice(&s[..n]);
            Ok(s.len() + 1)
        }
        Err(e) => Err(e),
    }
}

/// `netmgr_remote_nd`: the nd by which node `remote_nd` names the node this one calls
/// `local_nd`.
pub fn remote_nd(remote_nd: i32, local_nd: i32) -> KResult<i32> {
    if remote_nd & 0xffff == 0 {
        return Ok(local_nd);
    }
    if (remote_nd ^ local_nd) & 0xffff == 0 {
        return Ok(0);
    }
    let req = NetReq {
        magic: NET_MAGIC,
        op: NET_REMOTE_ND,
        nd: remote_nd as u32,
        pid: local_nd,
        ..Default::default()
    };
    ask(req, &[], &mut []).map(|nd| nd as i32)
}
