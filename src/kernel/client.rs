//! Client connections (coids) and the client half of the message state machine: posting
//! a message into a slot and waiting, SEND- then REPLY-blocked, for the server's answer.

use super::abi::{
    _msg_info, _NTO_CHF_UNBLOCK, _NTO_COF_CLOEXEC, _NTO_COF_DEAD, _NTO_COF_MASK, _NTO_COF_NOEVENT,
    _NTO_COF_NOSHARE, _NTO_COF_REG_EVENTS, _NTO_SIDE_CHANNEL,
};
use super::channel::Channel;
use super::coid_index::CoidIndex;
use super::errno::{check, Errno, KResult};
use super::fdbind;
use super::ids::IdTable;
use super::inherit;
use super::net::Behalf;
use super::process::{current, Process};
use super::pulse;
use super::server::{self, fail_blocked, ServerConn};
use super::status;
use super::thread::{self, Blocked, Timeout, Waker};
use crate::transport::copy::{self, Seg};
use crate::transport::fdreg::Tracked;
use crate::transport::futex;
use crate::transport::link::{
    Link, LinkId, PeerCred, Request, Wait, GRANT_PULSES, GRANT_REMOTE, OP_ATTACH, OP_DETACH, OP_PULSE,
};
use crate::transport::region::{
    state, Bell, ConnRegion, AGENT_WRITE, BELL_CLIENTS_LEN, BELL_SERVER_LEN, CONN_MAGIC, CONN_REGION_LEN,
    INLINE, PULSES_POSTED, PULSE_RING, REPLY_INLINE, REPLY_TRACK, SLOTS, WAITING_RECEIVE, WAITING_REPLY,
};
use crate::transport::shm::Region;
use crate::transport::spin::{self, SignalHold};
use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The highest errno a server's failure may carry (Linux's `MAX_ERRNO`); any other value
/// fails the call with `EIO`.
const MAX_ERRNO: u64 = 4095;

/// A SEND-blocked client spins only while at most this many messages are ahead of it.
const QUEUED_SPIN_LIMIT: u64 = 2;

/// A thread sleeping with signals held (see `SignalHold::release_keeping_fatal`) looks for
/// them after this nap, then after naps twice as long each time, up to `POLL_MOST`: a signal
/// acts within the current nap, and a long wait costs few wake-ups. Not shorter: a sleep
/// whose timeout comes before the next scheduler tick costs each round trip ~2.5 µs more on
/// the VMs we measured (the timer is reprogrammed as it is armed and again as it is cancelled).
const POLL_FIRST: Duration = Duration::from_millis(5);
const POLL_MOST: Duration = Duration::from_millis(50);

/// How long a thread that must leave (signal, timeout, detach, death) still waits for a server
/// that holds its slot as copying into its buffers: an honest copy takes microseconds, and
/// leaving in the middle would let it write into buffers that are gone; a hostile server
/// holds the slot no longer than this.
const COPY_GRACE: Duration = Duration::from_millis(100);

/// A blocked thread looks at its slot at least this often, whether or not anything wakes it
/// (a hostile server may never wake it; death must still be noticed).
const NAP_MOST: Duration = Duration::from_secs(1);

/// A thread waiting for a free slot (all [`SLOTS`] in use) looks again at least this often
/// (a slot freed by a thread of ours wakes it at once; one freed otherwise, or the server's
/// death, is seen within this).
const CLAIM_NAP: Duration = Duration::from_millis(50);

/// Values of `Conn::owners`: who holds a slot, in this process's own memory.
const SLOT_FREE: u8 = 0;
const SLOT_BUSY: u8 = 1;
/// A slot its server left in a state it must not: never used again on this connection, so
/// that nothing the server does with it later reaches another thread.
const SLOT_QUARANTINED: u8 = 2;

/// The coid and thread of a slot's last message, in this process's own memory.
#[derive(Default)]
struct SentBy {
    coid: AtomicU32,
    tid: AtomicU32,
}

/// One connection to a channel, shared by every coid of this process that names it.
pub struct Conn {
    pub server_pid: libc::pid_t,
    pub chid: i32,
    pub scoid: i32,
    pub bit: u32,
    pub chflags: u32,
    pub region: Arc<ConnRegion>,
    pub bell: Arc<Bell>,
    /// The link to the server process; `None` when the server is this process.
    pub link: Option<Arc<Link>>,
    /// The channel, when the server is this process.
    local: Option<(Arc<Channel>, Arc<ServerConn>)>,
    /// Whether the server lets us send pulses (QNX's cross-user rule, decided by it).
    pub may_pulse: bool,
    /// Whether the server believes that the connection stands for a remote client (see
    /// [`attach_for`]): its messages then show the server the thread [`as_thread`] names.
    stands_for_remote: bool,
    /// `_NTO_COF_NOEVENT` and `_NTO_COF_REG_EVENTS` of any coid naming the connection.
    event_flags: AtomicU32,
    /// Places in the pulse ring reserved so far: each producer takes the next one.
    pulse_next: AtomicU64,
    /// Per slot, the errno its thread must leave with, set by another thread detaching
    /// the coid it sends on; 0 otherwise. Private to this process.
    kicks: [AtomicU32; SLOTS],
    /// Per slot, which thread of this process holds it ([`SLOT_FREE`]...): the shared state
    /// alone, which the server may rewrite, never gives one slot to two threads.
    owners: [AtomicU8; SLOTS],
    /// Per slot, what only this process knows of its last message (the server may rewrite
    /// the shared copies): the coid it was sent on and the thread that sent it.
    sent: [SentBy; SLOTS],
    /// Threads waiting in `claim` for a free slot, and the futex word they sleep on.
    claimers: AtomicU32,
    freed: AtomicU32,
    /// Threads inside `MsgSend*` on this connection.
    active: AtomicUsize,
    /// No coid names this connection any more.
    unnamed: AtomicBool,
    /// The server has been told the connection ended.
    ended: AtomicBool,
    /// Coids naming this connection (changed under the coid table's lock).
    refs: AtomicUsize,
    dead: AtomicBool,
}

impl Conn {
    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire) || self.bell.server().dead.load(Ordering::Acquire) != 0
    }
}

/// The process's coids.
pub struct Coids {
    side: IdTable<Arc<Conn>>,
    /// fd-range coids: each holds a real descriptor (a duplicate of /dev/null) with its
    /// number, so that no `open()` can be handed the same number.
    fds: HashMap<i32, (Arc<Conn>, Tracked)>,
    /// Shareable connections by (server pid, chid).
    shared: HashMap<(libc::pid_t, i32), Arc<Conn>>,
    /// The `_NTO_COF_CLOEXEC` flag of each coid that has it.
    cloexec: std::collections::HashSet<i32>,
}

impl Coids {
    pub fn new() -> Coids {
        Coids {
            side: IdTable::new(),
            fds: HashMap::new(),
            shared: HashMap::new(),
            cloexec: Default::default(),
        }
    }

    fn get(&self, coid: i32) -> Option<&Arc<Conn>> {
        if coid < 0 {
            return None;
        }
        if coid as u32 & _NTO_SIDE_CHANNEL != 0 {
            self.side.get((coid as u32 & !_NTO_SIDE_CHANNEL) as usize)
        } else {
            self.fds.get(&coid).map(|(c, _)| c)
        }
    }

    /// Every coid and the connection it names.
    fn iter(&self) -> impl Iterator<Item = (i32, &Arc<Conn>)> {
        let side = self.side.iter().map(|(n, c)| ((_NTO_SIDE_CHANNEL | n as u32) as i32, c));
        side.chain(self.fds.iter().map(|(fd, (c, _))| (*fd, c)))
    }

    fn conns(&self) -> impl Iterator<Item = &Arc<Conn>> {
        self.side.iter().map(|(_, c)| c).chain(self.fds.values().map(|(c, _)| c))
    }
}

impl Default for Coids {
    fn default() -> Self {
        Coids::new()
    }
}

/// The connection `coid` names, or `EBADF`.
pub fn lookup(p: &Process, coid: i32) -> KResult<Arc<Conn>> {
    p.coids.lock().get(coid).cloned().ok_or(Errno::EBADF)
}

/// Runs `f` on the connection `coid` names, taking no lock (what a signal handler may
/// do) unless the coid is beyond the lock-free index; `EBADF` if there is none.
pub fn with_conn<R>(p: &Process, coid: i32, f: impl FnOnce(&Conn) -> R) -> KResult<R> {
    if CoidIndex::beyond(coid) {
        return lookup(p, coid).map(|c| f(&c));
    }
    p.coid_index.with(coid, f).ok_or(Errno::EBADF)
}

/// `MsgSend*` on `coid`: while it runs, the connection lives on even if another thread
/// detaches the last coid. A descriptor that is no coid may be a resource manager's (the
/// miss costs the coids nothing).
pub fn send(p: &Process, coid: i32, smsg: &[Seg], rmsg: &[Seg], cancel: bool) -> KResult<i64> {
    let conn = {
        let coids = p.coids.lock();
        let Some(conn) = coids.get(coid).cloned() else {
            drop(coids);
            return if fdbind::is_fd(coid) {
                fdbind::send(p, coid, smsg, rmsg, cancel)
            } else {
                Err(Errno::EBADF)
            };
        };
        conn.active.fetch_add(1, Ordering::SeqCst);
        conn
    };
    let r = conn.send(coid, smsg, rmsg, cancel, thread::waker());
    if conn.active.fetch_sub(1, Ordering::SeqCst) == 1 && conn.unnamed.load(Ordering::SeqCst) {
        disconnect(p, &conn);
    }
    r
}

/// `MsgSend` on `coid` that `waker` unblocks as `SIGEV_UNBLOCK` would, even when it
/// unblocked it before the call began: the path bridge's calls, which a FUSE interrupt may
/// reach at any moment. Not a cancellation point.
pub fn send_with(coid: i32, smsg: &[Seg], rmsg: &[Seg], waker: Arc<Waker>) -> KResult<i64> {
    let p = current();
    let conn = {
        let coids = p.coids.lock();
        let conn = coids.get(coid).cloned().ok_or(Errno::EBADF)?;
        conn.active.fetch_add(1, Ordering::SeqCst);
        conn
    };
    let r = conn.send(coid, smsg, rmsg, false, waker);
    if conn.active.fetch_sub(1, Ordering::SeqCst) == 1 && conn.unnamed.load(Ordering::SeqCst) {
        disconnect(p, &conn);
    }
    r
}

/// A connection of this process to its own channel `chid` that the server sees as made by
/// process `pid` with credentials `creds`: `msg_info.pid` and `ConnectClientInfo` report
/// them, while copies still go to and from this process's memory. The path bridge makes one
/// per FUSE open, for the process that opened. A side-channel coid, never shared.
pub fn attach_as(chid: i32, pid: libc::pid_t, creds: server::Creds) -> KResult<i32> {
    let p = current();
    let n = p.ids.lock().take().ok_or(Errno::EAGAIN)?;
    let conn = match local_conn(p, chid, creds, Some(server::Shown { pid, ..Default::default() })) {
        Ok(c) => c,
        Err(e) => {
            p.ids.lock().give_back(n);
            return Err(e);
        }
    };
    let coid = (_NTO_SIDE_CHANNEL | n as u32) as i32;
    let mut coids = p.coids.lock();
    coids.side.insert_at(n, conn.clone());
    p.coid_index.set(coid, &conn);
    status::with(|s| s.coid_set(coid, conn.server_pid, conn.chid, conn.scoid));
    conn.refs.fetch_add(1, Ordering::Relaxed);
    Ok(coid)
}

/// Whether connection `coid` is dead (its server or channel gone), or no connection: how
/// the gateway tells a `_PULSE_CODE_COIDDEATH` from one for a coid detached and reused
/// since.
pub fn is_dead(coid: i32) -> bool {
    lookup(current(), coid).map_or(true, |c| c.is_dead())
}

/// The scoid the server sees for the connection `coid` names.
pub fn scoid_of(coid: i32) -> KResult<i32> {
    lookup(current(), coid).map(|c| c.scoid)
}

/// The event flags of this process's connection to server `pid`'s connection `scoid`, if
/// there is one.
pub fn event_flags(p: &Process, pid: libc::pid_t, scoid: i32) -> Option<u32> {
    let coids = p.coids.lock();
    let conn = coids.conns().find(|c| c.server_pid == pid && c.scoid == scoid && !c.is_dead())?;
    Some(conn.event_flags.load(Ordering::Relaxed))
}

/// This process's coid on its connection `scoid` to server `pid` (one of them, if shared).
pub fn coid_of(p: &Process, pid: libc::pid_t, scoid: i32) -> Option<i32> {
    let coids = p.coids.lock();
    let mut all = coids.iter();
    all.find(|(_, c)| c.server_pid == pid && c.scoid == scoid && !c.is_dead()).map(|(coid, _)| coid)
}

/// Whether thread `tid` sent the last message through one of the slots of this process's
/// connection `scoid` to server `pid`: the thread a server's rcvid may name. As on QNX, the
/// rcvid stays good after the reply, until another message takes its place (or the
/// connection ends).
pub fn sent_by(p: &Process, pid: libc::pid_t, scoid: i32, tid: i32) -> bool {
    let coids = p.coids.lock();
    let mut conns = coids.conns().filter(|c| c.server_pid == pid && c.scoid == scoid);
    conns.any(|c| c.sent.iter().any(|s| s.tid.load(Ordering::Relaxed) as i32 == tid))
}

/// `ConnectAttach`: a peer that does not answer within the rendezvous's patience is
/// `EAGAIN`; a signal during the wait, `EINTR`.
pub fn attach(nd: u32, pid: libc::pid_t, chid: i32, index: u32, flags: i32) -> KResult<i32> {
    if nd != 0 {
        return super::net::attach(nd, pid, chid, index, flags);
    }
    attach_by(pid, chid, index, flags, crate::transport::rendezvous::deadline())
}

/// The node's gateway: a side-channel connection (never shared) to local channel `chid` of
/// process `pid` that stands for remote client `claim`. The server believes the claim only
/// of the gateway it would reach itself (see `net::vouch`); otherwise the connection is an
/// ordinary one of this process.
pub fn attach_for(pid: libc::pid_t, chid: i32, flags: i32, claim: &Behalf) -> KResult<i32> {
    let flags = flags | _NTO_COF_NOSHARE as i32;
    attach_claiming(
        pid,
        chid,
        _NTO_SIDE_CHANNEL,
        flags,
        crate::transport::rendezvous::deadline(),
        Some(claim),
    )
}

thread_local! {
    /// The remote thread this thread sends for (see [`as_thread`]); 0: none.
    static SHOWN_TID: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
    /// What [`when_posted`] runs.
    static POSTED: std::cell::RefCell<Option<Box<dyn FnOnce()>>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f`, in which this thread's messages on connections that stand for a remote client
/// show their server thread `tid` of that client as the sender (`_msg_info.tid`): how the
/// gateway passes its remote clients' threads on.
pub fn as_thread<R>(tid: i32, f: impl FnOnce() -> R) -> R {
    let before = SHOWN_TID.with(|t| t.replace(tid));
    let r = f();
    SHOWN_TID.with(|t| t.set(before));
    r
}

/// Runs `f`, in which this thread's first message (in the gateway, which tracks replies)
/// runs `posted` once it is queued at its server (behind what was queued before it,
/// ahead of what is sent on the connection after), while the call waits for its reply; if
/// no message got that far, `posted` runs when `f` returns. How the gateway starts the
/// next thing a remote client sent on the connection only once this message is in line.
pub fn when_posted<R>(posted: impl FnOnce() + 'static, f: impl FnOnce() -> R) -> R {
    POSTED.with(|p| *p.borrow_mut() = Some(Box::new(posted)));
    let r = f();
    run_posted();
    r
}

fn run_posted() {
    if let Some(posted) = POSTED.with(|p| p.borrow_mut().take()) {
        posted();
    }
}

/// A local `ConnectAttach` whose wait for the server ends at `deadline`.
pub fn attach_by(pid: libc::pid_t, chid: i32, index: u32, flags: i32, deadline: Instant) -> KResult<i32> {
    attach_claiming(pid, chid, index, flags, deadline, None)
}

fn attach_claiming(
    pid: libc::pid_t,
    chid: i32,
    index: u32,
    flags: i32,
    deadline: Instant,
    claim: Option<&Behalf>,
) -> KResult<i32> {
    if flags as u32 & !_NTO_COF_MASK != 0 {
        return Err(Errno::EINVAL);
    }
    if pid < 0 || chid <= 0 {
        return Err(Errno::ESRCH);
    }
    let p = current();
    let target = if pid == 0 { p.pid } else { pid };
    let noshare = flags as u32 & _NTO_COF_NOSHARE != 0;
    let existing = if noshare {
        None
    } else {
        p.coids.lock().shared.get(&(target, chid)).filter(|c| !c.is_dead()).cloned()
    };
    // QNX numbers the coid before the scoid: ChannelCreate then a self-attach gives coid
    // 0x40000002 (and scoid 3).
    let side =
        if index & _NTO_SIDE_CHANNEL != 0 { Some(p.ids.lock().take().ok_or(Errno::EAGAIN)?) } else { None };
    let conn = match existing.map_or_else(|| connect(p, target, chid, deadline, claim), Ok) {
        Ok(c) => c,
        Err(e) => {
            if let Some(n) = side {
                p.ids.lock().give_back(n);
            }
            return Err(e);
        }
    };
    let mut coids = p.coids.lock();
    let coid = if let Some(n) = side {
        coids.side.insert_at(n, conn.clone());
        Ok((_NTO_SIDE_CHANNEL | n as u32) as i32)
    } else {
        reserve_fd(index).map(|fd| {
            let n = fd.as_raw_fd();
            coids.fds.insert(n, (conn.clone(), Tracked::new(fd)));
            n
        })
    };
    match coid {
        Ok(coid) => {
            p.coid_index.set(coid, &conn);
            status::with(|s| s.coid_set(coid, conn.server_pid, conn.chid, conn.scoid));
            conn.refs.fetch_add(1, Ordering::Relaxed);
            conn.event_flags
                .fetch_or(flags as u32 & (_NTO_COF_NOEVENT | _NTO_COF_REG_EVENTS), Ordering::Relaxed);
            if flags as u32 & _NTO_COF_CLOEXEC != 0 {
                coids.cloexec.insert(coid);
            }
            if !noshare {
                coids.shared.entry((target, chid)).or_insert_with(|| conn.clone());
            }
            Ok(coid)
        }
        Err(e) => {
            if conn.refs.load(Ordering::Relaxed) == 0 {
                drop(coids);
                disconnect(p, &conn);
            }
            Err(e)
        }
    }
}

/// The lowest free descriptor at or above `index`, as an fd-range coid.
fn reserve_fd(index: u32) -> KResult<OwnedFd> {
    static DEV_NULL: &std::ffi::CStr = c"/dev/null";
    // SAFETY: plain syscalls; the descriptors returned are ours.
    unsafe {
        let null = libc::open(DEV_NULL.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        check(null as libc::c_long)?;
        let fd = libc::fcntl(null, libc::F_DUPFD_CLOEXEC, index as libc::c_int);
        let e = Errno::last();
        libc::close(null);
        if fd < 0 {
            return Err(e);
        }
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// Makes a new connection to channel `chid` of process `target`.
fn connect(
    p: &'static Process,
    target: libc::pid_t,
    chid: i32,
    deadline: Instant,
    claim: Option<&Behalf>,
) -> KResult<Arc<Conn>> {
    if target == p.pid {
        return local_conn(p, chid, server::creds_of(p.pid)?, None);
    }
    let (scoid, bit, chflags, region, bell, link, grants, local) = {
        // Servers reach back through our own listener, to deliver events.
        p.service().listen()?;
        // A peer that listens and never answers (or whose address is squatted) must not
        // hold us: the search and the answer share one bound.
        let link = p.link_by(target, deadline)?;
        let (resp, fds) = link
            .request_until(
                &Request {
                    op: OP_ATTACH,
                    chid,
                    event: claim.map_or([0; 8], |c| c.to_words()),
                    ..Default::default()
                },
                Wait::Interruptible,
                deadline,
            )
            .map_err(|e| if e == Errno::ETIMEDOUT { Errno::EAGAIN } else { e })?;
        if resp.status != 0 {
            return Err(Errno(resp.status));
        }
        let [region, bell_server, bell_clients] = <[OwnedFd; 3]>::try_from(fds).map_err(|_| Errno::EIO)?;
        let region = ConnRegion::new(Region::map_received(region.as_raw_fd(), CONN_REGION_LEN, true)?);
        if region.layout().header.magic.load(Ordering::Relaxed) != CONN_MAGIC {
            return Err(Errno::EIO);
        }
        let base = region.layout() as *const _ as u64;
        region.layout().header.client_base.store(base, Ordering::Relaxed);
        let bell = Bell::new(
            Region::map_received(bell_server.as_raw_fd(), BELL_SERVER_LEN, false)?,
            Region::map_received(bell_clients.as_raw_fd(), BELL_CLIENTS_LEN, true)?,
        );
        (resp.scoid, resp.bit, resp.chflags, region, bell, Some(link), resp.grants, None)
    };
    Ok(new_conn(target, chid, scoid, bit, chflags, region, bell, link, local, grants))
}

/// A connection to this process's own channel `chid`, of a client with `creds` (shown as
/// `shown`, when not this process).
fn local_conn(
    p: &'static Process,
    chid: i32,
    creds: server::Creds,
    shown: Option<server::Shown>,
) -> KResult<Arc<Conn>> {
    let ch = p.channel(chid)?;
    // SAFETY: plain syscalls.
    let me = PeerCred { pid: p.pid, uid: unsafe { libc::getuid() }, gid: unsafe { libc::getgid() } };
    let (sc, _fd) = server::new_conn(p, &ch, me, None, (creds, None), shown)?;
    let (scoid, bit, region, bell) = (sc.scoid, sc.bit, sc.region.clone(), ch.bell.clone());
    let chflags = ch.flags;
    Ok(new_conn(p.pid, chid, scoid, bit, chflags, region, bell, None, Some((ch, sc)), GRANT_PULSES))
}

#[allow(clippy::too_many_arguments)]
fn new_conn(
    server_pid: libc::pid_t,
    chid: i32,
    scoid: i32,
    bit: u32,
    chflags: u32,
    region: Arc<ConnRegion>,
    bell: Arc<Bell>,
    link: Option<Arc<Link>>,
    local: Option<(Arc<Channel>, Arc<ServerConn>)>,
    grants: u32,
) -> Arc<Conn> {
    Arc::new(Conn {
        server_pid,
        chid,
        scoid,
        bit,
        chflags,
        region,
        bell,
        link,
        local,
        may_pulse: grants & GRANT_PULSES != 0,
        stands_for_remote: grants & GRANT_REMOTE != 0,
        event_flags: AtomicU32::new(0),
        pulse_next: AtomicU64::new(0),
        kicks: Default::default(),
        owners: Default::default(),
        sent: Default::default(),
        claimers: AtomicU32::new(0),
        freed: AtomicU32::new(0),
        active: AtomicUsize::new(0),
        unnamed: AtomicBool::new(false),
        ended: AtomicBool::new(false),
        refs: AtomicUsize::new(0),
        dead: AtomicBool::new(false),
    })
}

/// Ends a connection no coid names any more, once no thread is blocked on it either
/// (QNX: the last link is the last coid or the last blocked send, whichever goes last).
fn disconnect(p: &Process, conn: &Arc<Conn>) {
    conn.unnamed.store(true, Ordering::SeqCst);
    if conn.active.load(Ordering::SeqCst) != 0 || conn.ended.swap(true, Ordering::SeqCst) {
        return;
    }
    conn.dead.store(true, Ordering::Release);
    match &conn.link {
        Some(link) => {
            let _ = link.request(
                &Request {
                    op: OP_DETACH,
                    chid: conn.chid,
                    scoid: conn.scoid,
                    priority: thread::priority(),
                    ..Default::default()
                },
                Wait::Bounded,
            );
        }
        None => {
            let sc = p.scoids.read().get((conn.scoid as u32 & 0xFFFF) as usize).cloned();
            if let Some(sc) = sc.filter(|sc| sc.scoid == conn.scoid) {
                server::end(p, &sc, server::End::Detached(thread::priority().clamp(1, 255) as u8));
            }
        }
    }
}

/// `ConnectDetach` of a client coid.
pub fn detach(coid: i32) -> KResult<()> {
    let p = current();
    if server::is_scoid(coid) {
        return server::detach_scoid(p, coid);
    }
    let mut coids = p.coids.lock();
    let conn = if coid >= 0 && coid as u32 & _NTO_SIDE_CHANNEL != 0 {
        let n = (coid as u32 & !_NTO_SIDE_CHANNEL) as usize;
        let conn = coids.side.remove(n);
        if conn.is_some() {
            p.ids.lock().give_back(n);
        }
        conn
    } else {
        coids.fds.remove(&coid).map(|(c, _fd)| c)
    }
    .ok_or(Errno::EINVAL)?;
    p.coid_index.clear(coid);
    status::with(|s| s.coid_clear(coid));
    coids.cloexec.remove(&coid);
    conn.kick(coid, Errno::EBADF);
    if conn.refs.fetch_sub(1, Ordering::Relaxed) != 1 {
        return Ok(());
    }
    let key = (conn.server_pid, conn.chid);
    if coids.shared.get(&key).is_some_and(|c| Arc::ptr_eq(c, &conn)) {
        coids.shared.remove(&key);
    }
    drop(coids);
    disconnect(p, &conn);
    Ok(())
}

/// The channel behind connection `scoid` (through `link`; `None`: in this process) was
/// destroyed: its coids are dead, and each gets `_PULSE_CODE_COIDDEATH`.
pub fn channel_gone(p: &Process, link: Option<LinkId>, scoid: i32) {
    let named = |c: &Arc<Conn>| c.scoid == scoid && c.link.as_ref().map(|l| l.id) == link;
    let dead: Vec<i32> = {
        let coids = p.coids.lock();
        coids.conns().filter(|c| named(c)).for_each(|c| c.dead.store(true, Ordering::Release));
        coids.iter().filter(|(_, c)| named(c)).map(|(coid, _)| coid).collect()
    };
    for coid in dead {
        pulse::coid_death(p, coid);
    }
}

/// The server process at the other end of `link` has died: every connection through it is
/// dead and every thread blocked on one fails with `ESRCH`.
pub fn server_gone(p: &Process, link: &Arc<Link>) {
    // Nobody holds the table for long (connects are made outside it).
    p.links.lock().retain(|_, l| !Arc::ptr_eq(l, link));
    let through = |c: &Arc<Conn>| c.link.as_ref().is_some_and(|l| Arc::ptr_eq(l, link));
    let dead: Vec<i32> = {
        let coids = p.coids.lock();
        for conn in coids.conns().filter(|c| through(c)) {
            conn.dead.store(true, Ordering::Release);
            for s in 0..SLOTS {
                fail_blocked(&conn.region, s, Errno::ESRCH, true);
                // Whatever state the server left the slot in, its thread looks again now.
                futex::wake(&conn.region.slot(s).state, i32::MAX);
            }
            futex::wake(&conn.freed, i32::MAX);
        }
        coids.iter().filter(|(_, c)| through(c)).map(|(coid, _)| coid).collect()
    };
    for coid in dead {
        pulse::coid_death(p, coid);
    }
}

impl Conn {
    /// `MsgSendPulse`: never blocks. Through the connection's ring, or over the link when
    /// the ring is full (the server's service thread queues it), or straight into the
    /// channel when the server is this process.
    pub fn send_pulse(&self, priority: u8, code: i8, value: u64) -> KResult<()> {
        self.send_pulse_via(priority, code, value, true)
    }

    /// A pulse sent by the service thread (an event's): a full ring is `EAGAIN`, since
    /// waiting for another process's service thread could wait for ourselves.
    pub fn send_pulse_nowait(&self, priority: u8, code: i8, value: u64) -> KResult<()> {
        self.send_pulse_via(priority, code, value, false)
    }

    /// Async-signal-safe up to a full ring: no lock, no allocation (see `ring_put`).
    fn send_pulse_via(&self, priority: u8, code: i8, value: u64, may_wait: bool) -> KResult<()> {
        if self.is_dead() {
            return Err(Errno::EBADF);
        }
        if self.local.is_none() && !self.may_pulse {
            return Err(Errno::EPERM);
        }
        // The server counts a pulse pool in its own memory: to a channel with one, a sender
        // that may wait asks it (over the link, or the channel's queue in this process) and
        // learns, as on QNX, whether its pulse fit.
        let pool = self.bell.server().pool_size.load(Ordering::Relaxed) != 0;
        let ticket = self.bell.clients().tickets.fetch_add(1, Ordering::Relaxed);
        if (!pool || !may_wait) && self.ring_put(priority, code, value, ticket) {
            return Ok(());
        }
        match (&self.local, &self.link) {
            (Some((ch, sc)), _) => ch.try_enqueue_overflow_pulse(sc, priority, code, value, ticket),
            (None, Some(link)) if may_wait => {
                let req = Request {
                    priority: priority as i32,
                    code: code as i32,
                    value,
                    ticket,
                    ..self.pulse_request()
                };
                // A full ring takes the link only if it is free (a signal handler may have
                // interrupted its holder); a pool's answer is worth waiting for.
                let answer = if pool { link.request(&req, Wait::Bounded) } else { link.try_request(&req) };
                answer
                    .map_err(|e| match e {
                        Errno::ETIMEDOUT | Errno::EAGAIN => Errno::EAGAIN,
                        _ => Errno::EBADF,
                    })
                    .and_then(|(resp, _)| match resp.status {
                        0 => Ok(()),
                        e => Err(Errno(e)),
                    })
            }
            _ => Err(Errno::EAGAIN),
        }
    }

    /// Writes a pulse into the connection's ring, with no lock: reserves the next place in
    /// our private counter, fills its record and publishes it through its `seq`, in any
    /// order with the other producers (threads, and signal handlers that interrupted one
    /// midway: the server waits for a record it has not seen published, and takes the
    /// later ones once it is). False when the ring is full.
    fn ring_put(&self, priority: u8, code: i8, value: u64, ticket: u64) -> bool {
        let ring = &self.region.layout().pulses;
        let mut place = self.pulse_next.load(Ordering::Relaxed);
        loop {
            if place.wrapping_sub(ring.head.load(Ordering::Acquire)) >= PULSE_RING as u64 {
                return false;
            }
            match self.pulse_next.compare_exchange_weak(place, place + 1, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(now) => place = now,
            }
        }
        let rec = &ring.recs[(place % PULSE_RING as u64) as usize];
        rec.priority.store(priority as u32, Ordering::Relaxed);
        rec.code.store(code as u8 as u32, Ordering::Relaxed);
        rec.value.store(value, Ordering::Relaxed);
        rec.ticket.store(ticket, Ordering::Relaxed);
        rec.seq.store(place + 1, Ordering::Release);
        self.region.layout().header.posted.fetch_or(PULSES_POSTED, Ordering::SeqCst);
        self.bell.ring(self.bit);
        true
    }

    /// An `OP_PULSE` request about this connection.
    fn pulse_request(&self) -> Request {
        Request { op: OP_PULSE, chid: self.chid, scoid: self.scoid, ..Default::default() }
    }

    /// Takes a free slot; while all are in use the thread is SEND-blocked (as on QNX, where
    /// the server has not received its message): the server's death ends the wait with
    /// `ESRCH`, a kernel timeout or `SIGEV_UNBLOCK` with `ETIMEDOUT`, a signal with `EINTR`.
    fn claim(&self, b: &mut Blocking) -> KResult<usize> {
        let start = thread::tid() as usize % SLOTS;
        loop {
            let freed = self.freed.load(Ordering::SeqCst);
            for i in (0..SLOTS).map(|i| (start + i) % SLOTS) {
                let st = &self.region.slot(i).state;
                if st.load(Ordering::Relaxed) != state::FREE
                    || self.owners[i]
                        .compare_exchange(SLOT_FREE, SLOT_BUSY, Ordering::Acquire, Ordering::Relaxed)
                        .is_err()
                {
                    continue;
                }
                if st
                    .compare_exchange(state::FREE, state::CLAIMED, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return Ok(i);
                }
                self.owners[i].store(SLOT_FREE, Ordering::Release);
            }
            if self.is_dead() || self.owners.iter().all(|o| o.load(Ordering::Relaxed) == SLOT_QUARANTINED) {
                // Gone, or the server broke every slot: it will never answer.
                return Err(Errno::ESRCH);
            }
            if b.timed_out(Blocked::Send) {
                return Err(Errno::ETIMEDOUT);
            }
            // Signals held since the call began are let through while the thread sleeps.
            let mut r = if b.hold.release() { Err(Errno::EINTR) } else { Ok(()) };
            if r.is_ok() {
                self.claimers.fetch_add(1, Ordering::SeqCst);
                b.waker.sleeping_on(Some(&self.freed));
                let nap = Timeout::sleep(&b.timeout, Blocked::Send, CLAIM_NAP);
                if !b.waker.unblock_pending() {
                    r = if b.cancel {
                        futex::wait_cancellable(&self.freed, freed, nap, &mut || b.hold.restore())
                    } else {
                        futex::wait(&self.freed, freed, Some(nap))
                    };
                }
                b.waker.sleeping_on(None);
                self.claimers.fetch_sub(1, Ordering::SeqCst);
            }
            // Hold again: a signal from here until the next sleep must still end the call,
            // and so must one whose handler ran while they were let through (between the
            // look and the sleep, or after the wake-up).
            if r == Err(Errno::EINTR) || b.hold.hold() {
                if b.cancel {
                    thread::test_cancel();
                }
                return Err(Errno::EINTR);
            }
        }
    }

    /// `MsgSend*`: posts the message and waits for the reply; returns the reply status.
    /// `waker` is how others unblock the call: the thread's own, or one made for the call.
    pub fn send(
        &self,
        coid: i32,
        smsg: &[Seg],
        rmsg: &[Seg],
        cancel: bool,
        waker: Arc<Waker>,
    ) -> KResult<i64> {
        let timeout = thread::take_timeout();
        copy::total(smsg)?;
        copy::total(rmsg)?;
        if self.is_dead() {
            return Err(Errno::EBADF);
        }
        // From the moment the thread blocks, a signal must interrupt the call: signals are
        // watched until it sleeps. On an `_NTO_CHF_UNBLOCK` channel they are held from the
        // start, so that one whose default action ends the process waits for the reply
        // (see `SignalHold::release_keeping_fatal`).
        let hold =
            if self.chflags & _NTO_CHF_UNBLOCK != 0 { SignalHold::new() } else { SignalHold::watching() };
        let mut b = Blocking { cancel, hold, timeout, waker };
        let shown = status::sending(self.server_pid, coid);
        let s = self.claim(&mut b)?;
        shown.posted(self.scoid, s);
        let r = self.send_in(s, coid, smsg, rmsg, b);
        self.disown(s);
        r
    }

    /// Gives slot `s` back to the other threads, unless it is quarantined.
    fn disown(&self, s: usize) {
        let _ = self.owners[s].compare_exchange(SLOT_BUSY, SLOT_FREE, Ordering::Release, Ordering::Relaxed);
        if self.claimers.load(Ordering::SeqCst) != 0 {
            self.freed.fetch_add(1, Ordering::SeqCst);
            futex::wake(&self.freed, 1);
        }
    }

    /// Leaves slot `s`, which its server left in a state it must not, with `e`: the slot is
    /// never used again.
    fn forsake(&self, s: usize, e: Errno) -> KResult<i64> {
        self.owners[s].store(SLOT_QUARANTINED, Ordering::Release);
        Err(e)
    }

    /// Posts the message in slot `s` and waits for the answer.
    fn send_in(&self, s: usize, coid: i32, smsg: &[Seg], rmsg: &[Seg], b: Blocking) -> KResult<i64> {
        let (send_len, reply_cap) = (copy::total(smsg)?, copy::total(rmsg)?);
        let slot = self.region.slot(s);
        let tid = thread::tid();
        // The server sees the remote thread the gateway sends for; this process keeps its
        // own thread, which events for the message reach.
        let shown = if self.stands_for_remote { SHOWN_TID.with(|t| t.get()) } else { 0 };
        slot.tid.store(if shown != 0 { shown } else { tid } as u32, Ordering::Relaxed);
        self.sent[s].tid.store(tid as u32, Ordering::Relaxed);
        self.sent[s].coid.store(coid as u32, Ordering::Relaxed);
        slot.cpu.store(spin::cpu(), Ordering::Relaxed);
        slot.priority.store(inherit::word(thread::sched()), Ordering::Relaxed);
        slot.coid.store(coid as u32, Ordering::Relaxed);
        slot.send_len.store(send_len as u64, Ordering::Relaxed);
        slot.reply_cap.store(reply_cap as u64, Ordering::Relaxed);
        slot.send_iov.store(smsg.as_ptr() as u64, Ordering::Relaxed);
        slot.send_parts.store(smsg.len() as u64, Ordering::Relaxed);
        slot.reply_iov.store(rmsg.as_ptr() as u64, Ordering::Relaxed);
        slot.reply_parts.store(rmsg.len() as u64, Ordering::Relaxed);
        for (to, from) in [(&slot.send_segs, smsg), (&slot.reply_segs, rmsg)] {
            for (t, seg) in to.iter().zip(from) {
                t[0].store(seg.base as u64, Ordering::Relaxed);
                t[1].store(seg.len as u64, Ordering::Relaxed);
            }
        }
        // The gateway's own sends (only the gateway tracks replies).
        let gateway = super::net::tracking();
        if gateway {
            slot.reply_extent.store(0, Ordering::Relaxed);
            slot.reply_flags.store(REPLY_TRACK, Ordering::Relaxed);
        } else {
            slot.reply_flags.store(0, Ordering::Relaxed);
        }
        slot.unblock.store(0, Ordering::Relaxed);
        if send_len <= INLINE {
            // SAFETY: the segments are the caller's checked buffers; the inline area holds
            // INLINE bytes.
            unsafe { copy::gather(smsg, 0, self.region.send_data(s), send_len) };
        }
        self.kicks[s].store(0, Ordering::Relaxed);
        self.repost(s);
        // A channel destroyed or a server lost while we posted will never look at the slot.
        if self.is_dead() && self.abort(s, state::SENT) {
            return Err(Errno::ESRCH);
        }
        // Whether or not the server believes the connection stands for a remote client.
        if gateway {
            run_posted();
        }
        self.wait_reply(s, smsg, rmsg, b)
    }

    fn post(&self, s: usize) {
        self.region.layout().header.posted.fetch_or(1u64 << s, Ordering::SeqCst);
        self.bell.ring(self.bit);
    }

    /// Held REPLY-blocked by an `_NTO_CHF_UNBLOCK` channel: asks the server, once, to
    /// unblock us; it gets `_PULSE_CODE_UNBLOCK` and decides when to reply.
    fn request_unblock(&self, s: usize, e: Errno) {
        let slot = self.region.slot(s);
        if slot.unblock.swap(e.0 as u32, Ordering::SeqCst) == 0 {
            self.post(s);
        }
    }

    /// Leaves slot `s` that is in state `from`; false if the server moved it meanwhile.
    fn abort(&self, s: usize, from: u32) -> bool {
        let slot = self.region.slot(s);
        let left =
            slot.state.compare_exchange(from, state::ABORTED, Ordering::AcqRel, Ordering::Relaxed).is_ok();
        if left {
            self.post(s); // the server frees aborted slots
        }
        left
    }

    /// The thread in slot `s` is being cancelled: once the server is not copying into its
    /// buffers (which are about to go), the slot is given up whatever state it is in.
    fn leave_for_good(&self, s: usize) {
        let slot = self.region.slot(s);
        let since = Instant::now();
        loop {
            let st = slot.state.load(Ordering::Acquire);
            // A server that keeps changing the state (answering our aborts, asking for
            // copies) holds the thread no longer than a copy.
            let held = since.elapsed() >= COPY_GRACE;
            match st {
                _ if held || self.is_dead() => {
                    let _ = self.forsake(s, Errno::ESRCH);
                    return;
                }
                state::SENT | state::RECEIVED if self.abort(s, st) => return self.disown(s),
                state::REPLIED | state::FAILED => {
                    slot.state.store(state::FREE, Ordering::Release);
                    return self.disown(s);
                }
                state::AGENT_REQ => {
                    slot.agent_result.store(-(Errno::EINTR.0 as i64) as u64, Ordering::Relaxed);
                    // Unless the server withdrew the request meanwhile.
                    let _ = slot.state.compare_exchange(
                        state::AGENT_REQ,
                        state::AGENT_DONE,
                        Ordering::SeqCst,
                        Ordering::Relaxed,
                    );
                    futex::wake(&slot.state, 1);
                }
                state::COPYING | state::AGENT_TAKEN | state::AGENT_DONE | state::SENT | state::RECEIVED => {
                    std::thread::yield_now()
                }
                // A state the server must not leave us in.
                _ => {
                    let _ = self.forsake(s, Errno::ESRCH);
                    return;
                }
            }
        }
    }

    /// Posts slot `s` (again): SEND-blocked, behind what is queued now.
    fn repost(&self, s: usize) {
        let slot = self.region.slot(s);
        slot.ticket.store(self.bell.clients().tickets.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
        slot.state.store(state::SENT, Ordering::SeqCst);
        self.post(s);
    }

    /// Makes threads blocked on `coid` leave with `e` (another thread detached it).
    fn kick(&self, coid: i32, e: Errno) {
        for s in 0..SLOTS {
            let busy = self.owners[s].load(Ordering::Acquire) == SLOT_BUSY;
            if busy && self.sent[s].coid.load(Ordering::Relaxed) as i32 == coid {
                self.kicks[s].store(e.0 as u32, Ordering::Release);
                futex::wake(&self.region.slot(s).state, 1);
            }
        }
    }

    /// Copies one chunk for the server between our buffers and the slot, when the kernel
    /// does not let the server copy itself (see `ServerConn::agent`).
    fn serve_agent(&self, s: usize, smsg: &[Seg], rmsg: &[Seg]) {
        let slot = self.region.slot(s);
        // Taken, so the server can no longer withdraw it while we copy (a server that gave
        // up on us has moved the state on: nothing to do).
        if slot
            .state
            .compare_exchange(state::AGENT_REQ, state::AGENT_TAKEN, Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        let req = AgentReq::read(
            slot.agent_dir.load(Ordering::Relaxed),
            slot.agent_offset.load(Ordering::Relaxed),
            slot.agent_len.load(Ordering::Relaxed),
        );
        // SAFETY: smsg/rmsg are this thread's checked buffers, alive while it is blocked
        // (scatter and gather stay inside them whatever the offset); len ≤ INLINE, what the
        // slot areas hold.
        let n = unsafe {
            if req.write {
                copy::scatter(self.region.reply_data(s), req.len, rmsg, req.offset)
            } else {
                copy::gather(smsg, req.offset, self.region.send_data(s), req.len)
            }
        };
        slot.agent_result.store(n as u64, Ordering::Relaxed);
        if slot
            .state
            .compare_exchange(state::AGENT_TAKEN, state::AGENT_DONE, Ordering::SeqCst, Ordering::Relaxed)
            .is_ok()
            && slot.server_waiting.load(Ordering::SeqCst) != 0
        {
            futex::wake(&slot.state, 1);
        }
    }

    fn wait_reply(&self, s: usize, smsg: &[Seg], rmsg: &[Seg], mut b: Blocking) -> KResult<i64> {
        let slot = self.region.slot(s);
        let kick = &self.kicks[s];
        // One spin budget for the whole call: through SEND- and REPLY-blocked alike, so a
        // reply that takes the server a few microseconds costs no sleep and wake-up.
        let mut spin_end = spin::deadline_for(self.bell.server().cpu.load(Ordering::Relaxed));
        // Why this thread wants to leave: a signal (EINTR), a detach of its coid (EBADF), a
        // kernel timeout or SIGEV_UNBLOCK (ETIMEDOUT).
        let mut why: Option<Errno> = None;
        // The next nap while held signals are polled for.
        let mut poll = POLL_FIRST;
        // When the server was first found copying while this thread wanted to leave.
        let mut copy_held: Option<Instant> = None;
        // The server has had the thread run for it (copies, restarts): it may keep it running,
        // and a signal let through while it runs would interrupt nothing. From then on the
        // thread keeps signals held and polls for them as it naps.
        let mut churn = false;
        // Copy requests served in this call.
        let mut requests = 0u32;
        // Every reason to leave is looked at on every wake-up, whatever the slot says.
        loop {
            let st = slot.state.load(Ordering::Acquire);
            let blocked = if st == state::SENT { Blocked::Send } else { Blocked::Reply };
            let dead = self.is_dead();
            if dead {
                why = Some(Errno::ESRCH);
            }
            if why.is_none() && kick.load(Ordering::Acquire) != 0 {
                why = Some(Errno(kick.load(Ordering::Acquire) as i32));
            }
            if why.is_none() && b.timed_out(blocked) {
                why = Some(Errno::ETIMEDOUT);
            }
            match st {
                state::REPLIED => {
                    let n = inline_reply_len(
                        slot.reply_flags.load(Ordering::Relaxed),
                        slot.reply_len.load(Ordering::Relaxed),
                    );
                    // An inline reply is written over the message (see `message::reply`).
                    // SAFETY: n ≤ INLINE; rmsg are the caller's checked reply buffers.
                    unsafe { copy::scatter(self.region.send_data(s), n, rmsg, 0) };
                    super::net::replied(slot);
                    let status = slot.status.load(Ordering::Relaxed) as i64;
                    slot.state.store(state::FREE, Ordering::Release);
                    return Ok(status);
                }
                state::FAILED => {
                    let Some(e) = failure(slot.status.load(Ordering::Relaxed)) else {
                        // MsgError(rcvid, EOK): a reply of what MsgWrite put there.
                        super::net::replied(slot);
                        slot.state.store(state::FREE, Ordering::Release);
                        return Ok(0);
                    };
                    if e == Errno::ERESTART && b.hold.held_arrived() {
                        why.get_or_insert(Errno::EINTR);
                    }
                    if e == Errno::ERESTART && why.is_none() {
                        // MsgError(rcvid, ERESTART): the kernel sends the message again (a
                        // thread that has a reason to leave leaves with it instead: a server
                        // that restarts it for ever holds it no longer than one that never
                        // replies).
                        slot.unblock.store(0, Ordering::Relaxed);
                        self.repost(s);
                        churn = true;
                        continue;
                    }
                    slot.state.store(state::FREE, Ordering::Release);
                    return Err(why.filter(|_| e == Errno::ERESTART).unwrap_or(e));
                }
                // Copies for the server; one that keeps asking while the thread wants to
                // leave is held to the same grace as a copy.
                state::AGENT_REQ => {
                    // Signals are looked for at the first request and every 8th after (a
                    // system call each time; a 1 MiB message is 16 requests).
                    requests += 1;
                    if why.is_none() && requests % 8 == 1 && b.hold.held_arrived() {
                        why = Some(Errno::EINTR);
                    }
                    if let Some(e) = why {
                        if copy_held.get_or_insert_with(Instant::now).elapsed() >= COPY_GRACE {
                            return self.forsake(s, e);
                        }
                    }
                    self.serve_agent(s, smsg, rmsg);
                    churn = true;
                    // The server works with us: its next request comes within a chunk's copy.
                    if spin_end.is_some() {
                        spin_end = spin::deadline();
                    }
                    continue;
                }
                // SEND-blocked: leave at once. REPLY-blocked: leave unless the channel holds
                // its clients (_NTO_CHF_UNBLOCK); then ask the server to unblock us. While
                // the server copies into our buffers, wait for it to finish.
                state::SENT | state::RECEIVED if why.is_some() => {
                    let e = why.expect("checked");
                    if st == state::RECEIVED && self.chflags & _NTO_CHF_UNBLOCK != 0 && !dead {
                        self.request_unblock(s, e);
                    } else if self.abort(s, st) {
                        if b.cancel && e == Errno::EINTR {
                            thread::test_cancel();
                        }
                        return Err(if self.is_dead() { Errno::ESRCH } else { e });
                    } else {
                        continue;
                    }
                }
                state::SENT | state::RECEIVED => {}
                // The server is copying into our buffers: leaving would let it write into
                // buffers that are gone, so wait for it, but not forever.
                state::COPYING | state::AGENT_TAKEN | state::AGENT_DONE => {
                    if let Some(e) = why {
                        if copy_held.get_or_insert_with(Instant::now).elapsed() >= COPY_GRACE {
                            return self.forsake(s, e);
                        }
                    }
                }
                // FREE, CLAIMED, ABORTED or no state at all: the server is not following the
                // protocol. As with a server that never replies, the thread stays blocked
                // until it has a reason to leave.
                _ => {
                    if let Some(e) = why {
                        return self.forsake(s, e);
                    }
                }
            }
            let changed = || slot.state.load(Ordering::Relaxed) != st || kick.load(Ordering::Relaxed) != 0;
            // Queued behind several others: the answer is far off, sleep.
            let far = st == state::SENT
                && slot
                    .ticket
                    .load(Ordering::Relaxed)
                    .wrapping_sub(self.bell.server().served.load(Ordering::Relaxed))
                    > QUEUED_SPIN_LIMIT;
            if !far && spin::until_shared(spin_end, &self.bell.clients().spinners, changed) {
                continue;
            }
            if st == state::SENT {
                // SEND-blocked for good: raise the thread serving the channel if it is below us.
                inherit::boost(&self.bell, self.server_pid);
            }
            // On an _NTO_CHF_UNBLOCK channel a signal whose default action ends the process
            // stays held while we sleep: REPLY-blocked, we stay so until the server lets us
            // go, and it acts then. Held SEND-blocked too, since the server takes the
            // message without waking us.
            let arrived = if churn {
                b.hold.held_arrived()
            } else if self.chflags & _NTO_CHF_UNBLOCK != 0 {
                b.hold.release_keeping_fatal()
            } else {
                b.hold.release()
            };
            if arrived {
                why.get_or_insert(Errno::EINTR);
                continue;
            }
            let want = if st == state::SENT && Timeout::applies(&b.timeout, Blocked::Reply) {
                WAITING_RECEIVE
            } else {
                WAITING_REPLY
            };
            slot.client_waiting.store(want, Ordering::SeqCst);
            b.waker.sleeping_on(Some(&slot.state));
            // A held signal interrupts no wait: until we have asked to be let go, nap and look.
            let polling = why.is_none() && (churn || b.hold.keeps_fatal());
            // A timeout makes a caught signal end the wait with EINTR even under SA_RESTART,
            // as QNX's kernel calls do.
            let mut nap = Timeout::sleep(&b.timeout, blocked, NAP_MOST);
            if polling {
                nap = nap.min(poll);
                poll = (poll * 2).min(POLL_MOST);
            }
            if copy_held.is_some() {
                nap = POLL_FIRST;
            }
            // A thread held by _NTO_CHF_UNBLOCK is not cancelled until the server replies.
            let held = st != state::SENT && self.chflags & _NTO_CHF_UNBLOCK != 0;
            let r = if slot.state.load(Ordering::SeqCst) != st
                || kick.load(Ordering::SeqCst) != 0
                || b.waker.unblock_pending()
            {
                Ok(())
            } else if b.cancel && !held {
                futex::wait_cancellable(&slot.state, st, nap, &mut || {
                    self.leave_for_good(s);
                    b.hold.restore();
                })
            } else {
                futex::wait(&slot.state, st, Some(nap))
            };
            b.waker.sleeping_on(None);
            slot.client_waiting.store(0, Ordering::Relaxed);
            // After a nap that nothing ended (a state change goes round the loop, where the
            // call usually ends).
            let now = slot.state.load(Ordering::Relaxed);
            let napped = polling && now == st;
            if r == Err(Errno::EINTR) || (napped && b.hold.fatal_arrived()) {
                why.get_or_insert(Errno::EINTR);
            } else if now != state::REPLIED && now != state::FAILED && b.hold.held_arrived() {
                // Still blocked: signals are held again while we go round (one handled
                // while we ran would interrupt nothing), and let through at the next sleep.
                why.get_or_insert(Errno::EINTR);
            }
        }
    }
}

/// Bytes of inline reply data a slot marked REPLIED with `flags` and `len` carries: never
/// more than the slot holds.
fn inline_reply_len(flags: u32, len: u64) -> usize {
    if flags & REPLY_INLINE == 0 {
        return 0;
    }
    len.min(INLINE as u64) as usize
}

/// A server's request for an agent copy, as the client takes it: a direction (any value but
/// `AGENT_WRITE` reads), an offset in the client's stream (copies stay inside the client's
/// buffers whatever it is) and a length no longer than the slot's area.
#[derive(Debug, PartialEq)]
struct AgentReq {
    write: bool,
    offset: usize,
    len: usize,
}

impl AgentReq {
    fn read(dir: u32, offset: u64, len: u64) -> AgentReq {
        AgentReq {
            write: dir == AGENT_WRITE,
            offset: usize::try_from(offset).unwrap_or(usize::MAX),
            len: len.min(INLINE as u64) as usize,
        }
    }
}

/// The error of a slot marked FAILED with `status`; `None`: the call succeeds with 0. Only a
/// hostile server marks a failure without an error: MsgError's `EOK` (success, no data) is
/// what it can mean. A value that is no errno fails the call with `EIO`, never with a value
/// the caller could take for a status (the `_r` forms return `-errno`).
fn failure(status: u64) -> Option<Errno> {
    match status {
        0 => None,
        e @ 1..=MAX_ERRNO => Some(Errno(e as i32)),
        _ => Some(Errno::EIO),
    }
}

/// What a blocked `MsgSend*` answers to besides the server: cancellation (when it is a
/// cancellation point), signals held since the call began, a kernel timeout and
/// `SIGEV_UNBLOCK`.
struct Blocking {
    cancel: bool,
    hold: SignalHold,
    timeout: Option<Timeout>,
    waker: Arc<Waker>,
}

impl Blocking {
    /// Whether `SIGEV_UNBLOCK` or the kernel timeout ends a call blocked in `state` now.
    fn timed_out(&mut self, state: Blocked) -> bool {
        self.waker.take_unblock() || Timeout::expired(&mut self.timeout, state)
    }
}

/// `ConnectServerInfo` on this process: the first client connection at or above `coid`
/// (fd-range coids first, then side channels), skipping dead ones when `info` is `None`.
pub fn server_info(pid: libc::pid_t, coid: i32, info: Option<&mut _msg_info>) -> KResult<i32> {
    let p = current();
    if pid != 0 && pid != p.pid {
        // Another process's connection table is not ours to read.
        return Err(Errno::ESRCH);
    }
    let coids = p.coids.lock();
    let mut all: Vec<(i32, &Arc<Conn>)> = coids.iter().collect();
    // fd-range coids (no side-channel bit) sort before side channels.
    all.sort_by_key(|(c, _)| (*c as u32 & _NTO_SIDE_CHANNEL != 0, *c as u32 & !_NTO_SIDE_CHANNEL));
    let key = |c: i32| (c as u32 & _NTO_SIDE_CHANNEL != 0, c as u32 & !_NTO_SIDE_CHANNEL);
    let want_dead = info.is_some();
    let (found, conn) = all
        .into_iter()
        .find(|(c, conn)| key(*c) >= key(coid) && (want_dead || !conn.is_dead()))
        .ok_or(Errno::EINVAL)?;
    if let Some(info) = info {
        let mut flags = if conn.is_dead() { _NTO_COF_DEAD } else { 0 };
        if coids.cloexec.contains(&found) {
            flags |= _NTO_COF_CLOEXEC;
        }
        *info = _msg_info {
            pid: conn.server_pid,
            chid: conn.chid,
            scoid: conn.scoid,
            coid: found,
            flags: flags as i16,
            ..Default::default()
        };
    }
    Ok(found)
}

/// `ConnectFlags`: sets the `_NTO_COF_CLOEXEC` bit of `coid` as `mask`/`bits` say; returns
/// the previous flags.
pub fn set_flags(pid: libc::pid_t, coid: i32, mask: u32, bits: u32) -> KResult<u32> {
    let p = current();
    if pid != 0 && pid != p.pid {
        return Err(Errno::ESRCH);
    }
    let mut coids = p.coids.lock();
    coids.get(coid).ok_or(Errno::EBADF)?;
    let old = if coids.cloexec.contains(&coid) { _NTO_COF_CLOEXEC } else { 0 };
    // FD_CLOEXEC and _NTO_COF_CLOEXEC are both bit 0.
    let new = (old & !mask) | (bits & mask);
    if new & _NTO_COF_CLOEXEC != 0 {
        coids.cloexec.insert(coid);
    } else {
        coids.cloexec.remove(&coid);
    }
    Ok(old)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_failure_status_is_success_or_an_errno(status in any::<u64>()) {
            match failure(status) {
                None => prop_assert_eq!(status, 0),
                Some(e) => prop_assert!((1..=MAX_ERRNO as i32).contains(&e.0)),
            }
        }

        #[test]
        fn any_inline_reply_fits_the_slot(flags in any::<u32>(), len in any::<u64>()) {
            let n = inline_reply_len(flags, len);
            prop_assert!(n <= INLINE);
            if flags & REPLY_INLINE == 0 {
                prop_assert_eq!(n, 0);
            } else {
                prop_assert_eq!(n as u64, len.min(INLINE as u64));
            }
        }

        /// Whatever a server asks, an agent copy touches only the client's buffers: three
        /// uneven segments carved out of one guarded buffer, every byte outside them intact.
        #[test]
        fn any_agent_request_stays_inside_the_clients_buffers(
            dir in any::<u32>(),
            offset in prop_oneof![0u64..20_000, any::<u64>()],
            len in any::<u64>(),
            cuts in proptest::collection::vec(0usize..3000, 3),
        ) {
            const GUARD: u8 = 0xa5;
            let req = AgentReq::read(dir, offset, len);
            prop_assert!(req.len <= INLINE);
            prop_assert_eq!(req.write, dir == AGENT_WRITE);
            let mut client = vec![GUARD; 16_384];
            let base = client.as_mut_ptr() as usize;
            // Segment i starts at 4096 * (i + 1) + 1 and is cuts[i] bytes long; guards between.
            let segs: Vec<Seg> = cuts.iter().enumerate().map(|(i, &n)| Seg { base: base + 4096 * (i + 1) + 1, len: n }).collect();
            let inside = |at: usize| segs.iter().any(|s| at >= s.base - base && at < s.base - base + s.len);
            let mut area = vec![0x5au8; INLINE];
            // SAFETY: the segments lie inside `client`; `area` holds INLINE bytes.
            let n = unsafe {
                if req.write {
                    copy::scatter(area.as_ptr(), req.len, &segs, req.offset)
                } else {
                    copy::gather(&segs, req.offset, area.as_mut_ptr(), req.len)
                }
            };
            prop_assert!(n <= req.len);
            for (at, &b) in client.iter().enumerate() {
                if !inside(at) {
                    prop_assert_eq!(b, GUARD, "byte {} outside the segments", at);
                }
            }
            if !req.write {
                prop_assert!(area[n..].iter().all(|&b| b == 0x5a));
            }
        }
    }
}
