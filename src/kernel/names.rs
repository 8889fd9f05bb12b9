//! The name service of `<sys/dispatch.h>`: `name_attach`, `name_detach`, `name_open`,
//! `name_close`, and the dispatch handles a name's channel belongs to.
//!
//! A name is held by its server process through `transport::names` (an abstract socket
//! address that disappears with the process); the service thread answers lookups with the
//! name's channel.
//!
//! Who is reached through a name: QNX 7 lets only processes with `PROCMGR_AID_PATHSPACE`
//! (by default, root's) add names, so a client only ever meets root's servers. Here any
//! user may attach a name, and a client is handed only to a holder whose uid (as the kernel
//! reports it) is root or the client's own effective uid: one user's servers and clients
//! find each other without privilege, every user reaches root's servers, and a name taken
//! by someone else is skipped as if nobody held it. `name_attach` fails with `EEXIST` only
//! for a holder the caller would accept; it takes the name beside any other holder. `name_open` only attaches a side-channel connection to it: for a
//! local name QNX's process manager answers the lookup itself with nd/pid/chid, and the
//! server is sent nothing.
//!
//! A global name (`NAME_FLAG_ATTACH_GLOBAL`) is held here as a local one is and announced to
//! the other nodes by the node's gateway (`kernel::net`), over a connection whose end (the
//! server's `name_detach` or death) withdraws it; `name_open` with the flag asks the gateway
//! who holds it, this node first.

use super::abi::{
    _NTO_CHF_COID_DISCONNECT, _NTO_CHF_DISCONNECT, _NTO_CHF_UNBLOCK, _NTO_COF_CLOEXEC, _NTO_COF_MASK,
    _NTO_SIDE_CHANNEL,
};
use super::errno::{Errno, KResult};
use super::ids::{IdSpace, IdTable};
use super::process::{current, Process};
use super::status::{self, NameShown};
use super::{channel, client};
use crate::transport::fdreg::Tracked;
use crate::transport::link::{NoCancel, PeerCred};
use crate::transport::names::{self as sockets, Answer};
use crate::transport::rendezvous;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, RawFd};

pub const NAME_FLAG_DETACH_SAVEDPP: u32 = 0x1;
pub const NAME_FLAG_ATTACH_GLOBAL: u32 = 0x2;
/// `name_open` flags carry `_NTO_COF_*` bits shifted left by this much.
const NAME_FLAG_COF_SHIFT: u32 = 4;

/// `name_attach_t`, as C reads it.
#[repr(C)]
pub struct NameAttach {
    pub dpp: usize,
    pub chid: i32,
    pub mntid: i32,
    pub zero: [i32; 2],
}

const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<NameAttach>() == 24);
    assert!(offset_of!(NameAttach, chid) == 8);
    assert!(offset_of!(NameAttach, mntid) == 12);
};

/// A dispatch handle: the channel its names share, made by the first `name_attach` (as
/// QNX's dispatch library makes it on first use); -1 until then.
struct Dispatch {
    chid: i32,
}

/// A name this process holds.
struct Name {
    listener: Tracked,
    chid: i32,
    dpp: usize,
    _shown: NameShown,
}

/// The `name_attach_t` handed to C, and the truth about it (C may scribble on its copy).
struct Attach {
    public: Box<NameAttach>,
    mntid: i32,
    dpp: usize,
    /// A global name's connection to the gateway, which announces it while it lasts.
    global: Option<i32>,
}

/// The process's dispatch handles, names and attach records. Handles and records are
/// known by the address C holds; anything else C passes is refused with `EINVAL`.
pub struct Names {
    dispatches: HashMap<usize, Box<Dispatch>>,
    attaches: HashMap<usize, Attach>,
    /// By mntid.
    names: IdTable<Name>,
    mntids: IdSpace,
}

impl Names {
    pub fn new() -> Names {
        Names {
            dispatches: HashMap::new(),
            attaches: HashMap::new(),
            names: IdTable::new(),
            mntids: IdSpace::new(),
        }
    }

    fn new_dispatch(&mut self, chid: i32) -> usize {
        let d = Box::new(Dispatch { chid });
        let key = &*d as *const Dispatch as usize;
        self.dispatches.insert(key, d);
        key
    }

    /// Forgets dispatch handle `dpp` and the names it serves; returns its channel.
    fn remove_dispatch(&mut self, dpp: usize) -> KResult<i32> {
        let d = self.dispatches.remove(&dpp).ok_or(Errno::EINVAL)?;
        let gone: Vec<usize> = self.names.iter().filter(|(_, n)| n.dpp == dpp).map(|(id, _)| id).collect();
        for id in gone {
            self.forget(id);
        }
        Ok(d.chid)
    }

    fn forget(&mut self, mntid: usize) {
        if self.names.remove(mntid).is_some() {
            self.mntids.give_back(mntid);
        }
    }

    /// The channel of `dpp`, created on first use with the flags QNX's dispatch library
    /// gives it: the COIDDEATH pulses too unless the process already has its death channel.
    fn channel_of(&mut self, dpp: usize) -> KResult<i32> {
        let d = self.dispatches.get_mut(&dpp).ok_or(Errno::EINVAL)?;
        if d.chid == -1 {
            let flags = _NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT;
            d.chid = match channel::create(flags | _NTO_CHF_COID_DISCONNECT, None) {
                Err(Errno::EBUSY) => channel::create(flags, None)?,
                r => r?,
            };
        }
        Ok(d.chid)
    }
}

impl Default for Names {
    fn default() -> Self {
        Names::new()
    }
}

/// `dispatch_create` (`chid` -1) and `dispatch_create_channel`.
pub fn dispatch_create(chid: i32) -> usize {
    current().names.lock().new_dispatch(chid)
}

/// The channel of `dpp` for the dispatch layer (src/resmgr/dispatch.c): made on first use when
/// `create` (as QNX's first `message_attach` makes it); a handle without one is `EINVAL`.
pub fn dispatch_chid(dpp: usize, create: bool) -> KResult<i32> {
    let mut names = current().names.lock();
    if create {
        return names.channel_of(dpp);
    }
    match names.dispatches.get(&dpp) {
        Some(d) if d.chid != -1 => Ok(d.chid),
        _ => Err(Errno::EINVAL),
    }
}

extern "C" {
    /// src/resmgr/dispatch.c: frees the dispatch layer's state (attached handlers) of `dpp`.
    fn neutrino_dispatch_forget(dpp: usize);
}

/// `dispatch_destroy`: destroys the handle's channel and drops the names it serves.
pub fn dispatch_destroy(dpp: usize) -> KResult<()> {
    let chid = current().names.lock().remove_dispatch(dpp)?;
    // SAFETY: takes any value; it only looks `dpp` up in its own table.
    unsafe { neutrino_dispatch_forget(dpp) };
    if chid != -1 {
        // A channel the application destroyed itself is no error here.
        let _ = channel::destroy(chid);
    }
    Ok(())
}

/// QNX's path rules, and one spelling per name: not empty, no leading `/`, no `..`
/// component; empty and `.` components are dropped, as the path manager would.
fn canonical(path: &[u8]) -> KResult<Vec<u8>> {
    if matches!(path.first(), None | Some(b'/')) {
        return Err(Errno::EINVAL);
    }
    let parts: Vec<&[u8]> = path.split(|b| *b == b'/').filter(|c| !c.is_empty() && *c != b".").collect();
    if parts.is_empty() || parts.iter().any(|c| *c == b"..") {
        return Err(Errno::EINVAL);
    }
    Ok(parts.join(&b'/'))
}

/// Whether a client of this process may be handed to name holder `holder`.
pub(crate) fn trusted(holder: &PeerCred) -> bool {
    // SAFETY: plain syscall.
    holder.uid == 0 || holder.uid == unsafe { libc::geteuid() }
}

/// `name_attach`: `dpp` 0 makes a dispatch handle, which `name_detach` destroys unless
/// told to save it. Returns the address of the `name_attach_t`. A global name is held here
/// as a local one is, and announced to other nodes by the node's gateway.
pub fn attach(dpp: usize, path: &[u8], flags: u32) -> KResult<usize> {
    let path = canonical(path)?;
    let key = attach_local(dpp, &path)?;
    if flags & NAME_FLAG_ATTACH_GLOBAL == 0 {
        return Ok(key);
    }
    let chid = current().names.lock().attaches.get(&key).map_or(-1, |a| a.public.chid);
    match super::net::announce(&path, chid) {
        Ok(coid) => {
            if let Some(a) = current().names.lock().attaches.get_mut(&key) {
                a.global = Some(coid);
            }
            Ok(key)
        }
        Err(e) => {
            let _ = detach(key, if dpp == 0 { 0 } else { NAME_FLAG_DETACH_SAVEDPP });
            Err(e)
        }
    }
}

fn attach_local(dpp: usize, path: &[u8]) -> KResult<usize> {
    let p = current();
    let mut names = p.names.lock();
    let made = dpp == 0;
    let dpp = if made { names.new_dispatch(-1) } else { dpp };
    match hold(p, &mut names, dpp, path) {
        Ok(key) => Ok(key),
        Err(e) => {
            let chid = if made { names.remove_dispatch(dpp).unwrap_or(-1) } else { -1 };
            drop(names);
            if chid != -1 {
                let _ = channel::destroy(chid);
            }
            Err(e)
        }
    }
}

fn hold(p: &'static Process, names: &mut Names, dpp: usize, path: &[u8]) -> KResult<usize> {
    let chid = names.channel_of(dpp)?;
    let listener = Tracked::new(sockets::listen(path, &trusted)?);
    let fd = listener.as_raw_fd();
    let mntid = names.mntids.take().ok_or(Errno::ENOMEM)?;
    let _shown = NameShown::new(status::NAME_LOCAL, chid, path);
    names.names.insert_at(mntid, Name { listener, chid, dpp, _shown });
    if let Err(e) = p.service().watch_name(fd) {
        names.forget(mntid);
        return Err(e);
    }
    let mntid = mntid as i32;
    let public = Box::new(NameAttach { dpp, chid, mntid, zero: [0; 2] });
    let key = &*public as *const NameAttach as usize;
    names.attaches.insert(key, Attach { public, mntid, dpp, global: None });
    Ok(key)
}

/// `name_detach`: gives the name up at once, destroys the dispatch handle unless
/// `NAME_FLAG_DETACH_SAVEDPP`, and frees the `name_attach_t`.
pub fn detach(attach: usize, flags: u32) -> KResult<()> {
    let mut names = current().names.lock();
    let a = names.attaches.remove(&attach).ok_or(Errno::EINVAL)?;
    drop(a.public);
    names.forget(a.mntid as usize);
    let destroy = flags & NAME_FLAG_DETACH_SAVEDPP == 0 && names.dispatches.contains_key(&a.dpp);
    drop(names);
    if let Some(coid) = a.global {
        let _ = client::detach(coid);
    }
    if destroy {
        dispatch_destroy(a.dpp)?;
    }
    Ok(())
}

/// The service thread: answers the processes looking up the name `listener` holds.
pub fn answer(p: &Process, listener: RawFd) {
    let names = p.names.lock();
    let found = names.names.iter().find(|(_, n)| n.listener.as_raw_fd() == listener);
    if let Some((_, name)) = found {
        sockets::answer_all(&p.service, listener, &Answer { chid: name.chid });
    }
}

/// `name_open`: a side-channel coid to the server of `name`. As QNX's library does for a
/// local name, it attaches and sends the server nothing (no `_IO_CONNECT`): the server need
/// not be receiving, and its answers to unknown messages do not matter.
pub fn open(name: &[u8], flags: i32) -> KResult<i32> {
    let path = canonical(name)?;
    let cof = (flags as u32 >> NAME_FLAG_COF_SHIFT) & _NTO_COF_MASK | _NTO_COF_CLOEXEC;
    let no_longer = |e: Errno| if e == Errno::ESRCH { Errno(libc::ENOENT) } else { e };
    if flags as u32 & NAME_FLAG_ATTACH_GLOBAL != 0 {
        // The gateway knows the global names; one held on this node is opened as a local
        // name is (below), under the same rules of whom a client may reach.
        let (nd, pid, chid) = super::net::find_name(&path)?;
        if nd != 0 {
            return client::attach(nd, pid, chid, _NTO_SIDE_CHANNEL, cof as i32).map_err(no_longer);
        }
    }
    let _hold = NoCancel::new();
    // The lookup and the attach share one bound: a holder that stops answering costs at
    // most that.
    let deadline = rendezvous::deadline();
    let (pid, answer) = sockets::lookup(&path, &trusted, deadline)?;
    // The server let go of the name meanwhile: it no longer resolves.
    client::attach_by(pid, answer.chid, _NTO_SIDE_CHANNEL, cof as i32, deadline).map_err(no_longer)
}

/// `name_close`.
pub fn close(coid: i32) -> KResult<()> {
    client::detach(coid)
}
