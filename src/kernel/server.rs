//! Server connections (scoids): one per client process and channel, each with the shared
//! region its client posts messages into; and the service-thread events that create and
//! end them.

use super::abi::{
    _client_info, _msg_info, _NTO_CHF_DISCONNECT, _NTO_CI_BITS_64, _NTO_CONNECTION_SCOID, _NTO_MI_BITS_64,
    _NTO_MI_UNBLOCK_REQ, _NTO_SIDE_CHANNEL,
};
use super::channel::{Channel, ChannelState};
use super::errno::{Errno, KResult};
use super::event::{RawEvent, Sender};
use super::inherit;
use super::net::{self, Behalf};
use super::notify;
use super::process::{current, Process};
use super::pulse::Pulse;
use super::status;
use super::thread::DEFAULT_PRIORITY;
use crate::transport::copy::{self, Cell, Dir, Image, Seg};
use crate::transport::futex;
use crate::transport::link::{
    trusted_uid, Handler, IncomingLink, Link, LinkId, PeerCred, Request, Response, GRANT_PULSES,
    GRANT_REMOTE, NOTE_CHANNEL_GONE,
};
use crate::transport::lock::{Mutex, MutexGuard};
use crate::transport::region::{
    state, ConnRegion, AGENT_READ, AGENT_WRITE, CONN_MAGIC, CONN_REGION_LEN, INLINE, SLOTS, SLOT_SEGS,
};
use crate::transport::shm::Region;
use crate::transport::spin;
use std::borrow::Cow;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// The longest a server waits for the client thread to answer one agent copy request. A
/// client thread blocked in `MsgSend` answers within microseconds (it sleeps on the slot
/// and copies at most a slot's worth per request); only a stopped, starved or hostile
/// client takes longer, and its message then fails with `EFAULT` after holding a
/// receiving thread this long. 100 ms leaves a runnable client on a loaded machine
/// several scheduler periods, and is the delay the README allows a queued message.
const AGENT_PATIENCE: Duration = Duration::from_millis(100);
/// What each answered chunk adds to a message's time (never beyond `AGENT_PATIENCE` from
/// now): a client that answers every request just in time cannot hold the thread for
/// `AGENT_PATIENCE` per chunk. An honest client answers a chunk in tens of microseconds
/// (a 1 MiB message is 263 chunks); 10 ms leaves it over a hundred times that.
const AGENT_CHUNK_ALLOWANCE: Duration = Duration::from_millis(10);
/// How long a spinning client may take to notice a copy request (it looks every few
/// hundred nanoseconds): past this it is not spinning, and the server copies by itself.
const TAKE_WAIT: Duration = Duration::from_micros(10);
/// How long a client that took a request may copy its chunk before a read is abandoned:
/// 64 KiB take it 2-5 us here, so longer means it was preempted.
const COPY_WAIT: Duration = Duration::from_micros(25);
/// How long a spinning client may take to take its answer (~0.2 µs here): past this the
/// server asks the kernel whether it lives.
const ANSWER_TAKE_WAIT: Duration = Duration::from_micros(2);

const GEN_BITS: u32 = 10;
const INDEX_SHIFT: u32 = 5; // SLOTS == 32
const GEN_SHIFT: u32 = 21;
const _: () = assert!(SLOTS == 1 << INDEX_SHIFT);

/// What the server took from a slot when it received the message: the client may change
/// the shared slot afterwards, so the server works from this copy.
#[derive(Clone, Copy, Default)]
pub struct Received {
    pub gen: u32,
    pub tid: i32,
    pub priority: i32,
    /// The sender's real-time policy as honoured; `SCHED_OTHER` for none (see `inherit`).
    pub policy: i32,
    pub coid: i32,
    pub send_len: u64,
    pub reply_cap: u64,
    /// Bytes copied into the receive buffer.
    pub msglen: u64,
    pub send_iov: u64,
    pub send_parts: u64,
    pub reply_iov: u64,
    pub reply_parts: u64,
    /// The slot's copies of the IOVs' first entries.
    pub send_segs: [Seg; SLOT_SEGS],
    pub reply_segs: [Seg; SLOT_SEGS],
}

/// The IOV entries a slot carries.
fn slot_segs(segs: &[[AtomicU64; 2]; SLOT_SEGS]) -> [Seg; SLOT_SEGS] {
    std::array::from_fn(|i| Seg {
        base: segs[i][0].load(Ordering::Relaxed) as usize,
        len: segs[i][1].load(Ordering::Relaxed) as usize,
    })
}

/// Who a client was when it attached: what `ConnectClientInfo` reports for good.
#[derive(Clone, Debug, Default)]
pub struct Creds {
    pub uids: [u32; 3],
    pub gids: [u32; 3],
    pub groups: Vec<u32>,
    pub sid: libc::pid_t,
}

/// Whom a server is told a connection's client is, when not the process that attached: the
/// process whose request the path bridge carries (see `client::attach_as`), or the remote
/// client the node's gateway stands for (see `net::vouch`), with the nd by which this node
/// names the client's node and the nd by which that node names this one (0 for local).
#[derive(Clone, Copy, Debug, Default)]
pub struct Shown {
    pub pid: libc::pid_t,
    pub nd: u32,
    pub srcnd: u32,
}

/// The credentials of process `pid` now, from the kernel's view of it (/proc): `ESRCH` when
/// there is no such process, `EMFILE`/`ENFILE`/`ENOMEM` when we cannot even look (a server
/// out of descriptors must not tell a client that asks it that the client is gone).
pub fn creds_of(pid: libc::pid_t) -> KResult<Creds> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| match e.raw_os_error() {
            Some(n @ (libc::EMFILE | libc::ENFILE | libc::ENOMEM)) => Errno(n),
            _ => Errno::ESRCH,
        })?;
    let ids = |key: &str| -> Vec<u32> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|rest| rest.split_whitespace().filter_map(|v| v.parse().ok()).collect())
            .unwrap_or_default()
    };
    let (uids, gids) = (ids("Uid:"), ids("Gid:"));
    if uids.len() < 3 || gids.len() < 3 {
        return Err(Errno::ESRCH);
    }
    // SAFETY: plain syscall.
    let sid = unsafe { libc::getsid(pid) }.max(0);
    Ok(Creds {
        uids: [uids[0], uids[1], uids[2]],
        gids: [gids[0], gids[1], gids[2]],
        groups: ids("Groups:"),
        sid,
    })
}

/// The credentials of a client process attaching through a link made by `peer`. The pid
/// may run another program by now (an exec after the link was made): the effective ids
/// must be those the kernel recorded when the link was made (`SO_PEERCRED`). If /proc
/// shows others, the process changed them (or its program) since, and only the recorded
/// ones are trusted.
fn attach_creds(peer: &PeerCred) -> KResult<Creds> {
    let mut c = creds_of(peer.pid)?;
    if c.uids[1] != peer.uid {
        c.uids = [peer.uid; 3];
    }
    if c.gids[1] != peer.gid {
        c.gids = [peer.gid; 3];
    }
    Ok(c)
}

/// Whether this process may write into processes a client with `creds` could not: it is
/// or may become root, or may trace others (`CAP_SYS_PTRACE` permitted), and the client
/// is not root. Only then can a `process_vm_writev` aimed at a pid whose program changed
/// do harm the client could not do itself; the kernel refuses it to the others.
fn overpowers(creds: &Creds) -> bool {
    const CAP_SYS_PTRACE: u32 = 19; // <linux/capability.h>
    static PRIVILEGED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    // Computed once: a process can lose these powers but not gain them without an exec.
    let privileged = *PRIVILEGED.get_or_init(|| {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |key: &str| status.lines().find_map(|l| l.strip_prefix(key)).unwrap_or("").to_owned();
        let root = field("Uid:").split_whitespace().any(|u| u == "0");
        let caps = u64::from_str_radix(field("CapPrm:").trim(), 16).unwrap_or(u64::MAX);
        root || caps & (1 << CAP_SYS_PTRACE) != 0
    });
    privileged && creds.uids[1] != 0
}

/// How much inline traffic may pass before a client's image is looked at again (see
/// [`ServerConn::recheck_image`]): an exec is noticed within this, at one read of the
/// client's memory per connection and period.
const IMAGE_RECHECK: Duration = Duration::from_millis(100);

/// The monotonic clock in ms, at the coarse clock's cost (no system call, a few ns).
fn coarse_ms() -> u64 {
    // SAFETY: timespec is plain data filled by the call.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: ts is valid for the call.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

/// The client image behind `link`: opened at its first attach. `ESRCH` once it has gone
/// (its connections then end, and it makes no more).
fn attach_image(link: &IncomingLink, creds: &Creds) -> KResult<Arc<Image>> {
    let mut bound = link.image.lock();
    match &*bound {
        Some(image) if image.is_gone() => Err(Errno::ESRCH),
        Some(image) => Ok(image.clone()),
        None => Ok(bound.insert(Arc::new(Image::open(link.peer.pid, !overpowers(creds)))).clone()),
    }
}

/// The server's private state of one slot.
#[derive(Default)]
pub struct SlotPriv {
    /// In the channel queue (changed under the channel lock).
    pub queued: AtomicBool,
    /// The generation of the rcvid that names this slot while received and not yet
    /// replied; 0 otherwise.
    held: AtomicU32,
    rcv: Mutex<Received>,
    /// A `_PULSE_CODE_UNBLOCK` for the current rcvid was queued.
    unblock_sent: AtomicBool,
    /// Held by the one thread of ours that works on the received client (see
    /// [`ServerConn::begin_copy`]): kept here, not in the shared slot, which the client can
    /// write.
    serial: Mutex<()>,
    /// A read withdrew a chunk the client thread had taken (see `answered_soon`): its copy
    /// into the slot's send area may still be running, so no inline reply goes there.
    late_read: AtomicBool,
}

/// A received client's slot claimed by one thread of ours for copies or for its reply
/// (see [`ServerConn::begin_copy`]); [`Copying::finish`] lets it go.
#[must_use]
pub struct Copying<'a> {
    conn: &'a ServerConn,
    s: usize,
    _serial: MutexGuard<'a, ()>,
}

impl Copying<'_> {
    /// Ends the copy: the client is REPLY-blocked again (RECEIVED), or released with `to`
    /// (REPLIED or FAILED) and `status`.
    /// Returns whether it woke a thread of the client sleeping for the answer.
    pub fn finish(self, to: u32, status: u64) -> bool {
        let slot = self.conn.region.slot(self.s);
        slot.status.store(status, Ordering::Relaxed);
        slot.state.store(to, Ordering::SeqCst);
        slot.client_waiting.load(Ordering::SeqCst) != 0 && futex::wake(&slot.state, 1)
    }

    /// Releases the client with `to` (REPLIED or FAILED) and `status`: `ESRCH` when the
    /// client died without taking it (as QNX fails a dead client's reply). Asked after the
    /// release, so that a live client (the usual case) does not wait for us: a client that
    /// spins for its answer takes it within a cache-line hand-off, and then has it (no
    /// system call to ask whether it lives); one that took it and then ended had it too; a
    /// client thread the release woke was alive, asleep on the slot (only the client's
    /// process maps it), and goes on to take it.
    pub fn answer(self, to: u32, status: u64) -> KResult<()> {
        let (conn, slot) = (self.conn, self.conn.region.slot(self.s));
        let ticket = slot.ticket.load(Ordering::Relaxed);
        let spinning = slot.client_waiting.load(Ordering::SeqCst) == 0;
        if self.finish(to, status) {
            return Ok(());
        }
        let taken =
            || slot.state.load(Ordering::Acquire) != to || slot.ticket.load(Ordering::Relaxed) != ticket;
        // Only where the client can be spinning: on another CPU, with spinning on.
        let watch =
            spinning && conn.link.is_some() && spin::deadline_for(slot.cpu.load(Ordering::Relaxed)).is_some();
        if watch && spin::until_by(Some(Instant::now() + ANSWER_TAKE_WAIT), taken) {
            return Ok(());
        }
        if conn.check_alive().is_ok() || taken() {
            Ok(())
        } else {
            Err(Errno::ESRCH)
        }
    }
}

/// How far a copy through the slot went: all it could, or this far before the client was
/// found preempted and the request withdrawn.
enum Agent {
    Done(usize),
    Withdrawn(usize),
}

impl Agent {
    fn copied(self) -> usize {
        match self {
            Agent::Done(n) | Agent::Withdrawn(n) => n,
        }
    }
}

pub struct ServerConn {
    pub scoid: i32,
    pub chid: i32,
    pub bit: u32,
    pub channel: Weak<Channel>,
    pub region: Arc<ConnRegion>,
    /// The client process, from the kernel's SO_PEERCRED (or this process).
    pub peer: PeerCred,
    /// The pid `msg_info` and `ConnectClientInfo` report: the peer's, or the one [`Shown`]
    /// names.
    pub shown_pid: libc::pid_t,
    /// The client's node as this node names it, and this node as the client's names it: 0
    /// but for a remote client (see [`Shown`]).
    nd: u32,
    srcnd: u32,
    /// Its credentials when it attached.
    pub creds: Creds,
    /// Its process image; `None` when the client is this process.
    pub image: Option<Arc<Image>>,
    /// When an inline message last had the image looked at (coarse monotonic ms).
    image_checked: AtomicU64,
    /// The link the client attached through; `None` when the client is this process.
    pub link: Option<IncomingLink>,
    pub slots: [SlotPriv; SLOTS],
    dead: AtomicBool,
    /// The kernel refused `process_vm_*` towards this client (another user, or ptrace
    /// restrictions): copies go through the blocked client thread instead.
    vm_denied: AtomicBool,
    /// Whether the client may send pulses here (QNX's cross-user rule).
    pub may_pulse: bool,
    /// Pulses taken from the client's ring (the shared copy is only informative).
    pub pulse_head: AtomicU64,
    /// Names this connection among all of the process's, never reused: its queued pulses
    /// count against it (see `channel::PENDING_PULSES`).
    pub serial: u64,
    /// The highest priority honoured for the client's messages and pulses (see
    /// [`priority_cap`]).
    prio_cap: u8,
    /// The highest priority honoured as real-time (a real-time policy): what Linux lets the
    /// client's threads have.
    rt_cap: u8,
    /// Its ring holds pulses that found no room (changed under the channel lock).
    pub backlog: AtomicBool,
}

fn index_of(scoid: i32) -> usize {
    (scoid as u32 & 0xFFFF) as usize
}

/// The rcvid naming slot `s` of `conn` received with generation `gen`: positive, fits an int.
pub fn rcvid(conn: &ServerConn, s: usize, gen: u32) -> i64 {
    ((gen as i64) << GEN_SHIFT) | ((index_of(conn.scoid) as i64) << INDEX_SHIFT) | s as i64
}

/// The connection and slot a live rcvid names, or `ESRCH`.
pub fn lookup(p: &Process, rcvid: i64) -> KResult<(Arc<ServerConn>, usize, u32)> {
    if rcvid <= 0 || rcvid > i32::MAX as i64 {
        return Err(Errno::ESRCH);
    }
    let s = (rcvid & (SLOTS as i64 - 1)) as usize;
    let index = ((rcvid >> INDEX_SHIFT) & 0xFFFF) as usize;
    let gen = (rcvid >> GEN_SHIFT) as u32;
    let conn = p.scoids.read().get(index).cloned().ok_or(Errno::ESRCH)?;
    if gen == 0 || conn.slots[s].held.load(Ordering::Acquire) != gen {
        return Err(Errno::ESRCH);
    }
    Ok((conn, s, gen))
}

/// The client connection an rcvid names and, while the slot has not been reused, the
/// client thread: events may be delivered after the reply, until the client disconnects.
pub fn client_of(p: &Process, rcvid: i64) -> KResult<(Arc<ServerConn>, Option<i32>)> {
    if rcvid <= 0 || rcvid > i32::MAX as i64 || rcvid >> GEN_SHIFT == 0 {
        return Err(Errno::ESRCH);
    }
    let s = (rcvid & (SLOTS as i64 - 1)) as usize;
    let index = ((rcvid >> INDEX_SHIFT) & 0xFFFF) as usize;
    let conn = p.scoids.read().get(index).cloned().ok_or(Errno::ESRCH)?;
    conn.check_alive()?;
    let rcv = *conn.slots[s].rcv.lock();
    let tid = (rcv.gen as i64 == rcvid >> GEN_SHIFT).then_some(rcv.tid);
    Ok((conn, tid))
}

fn next_gen() -> u32 {
    static GEN: AtomicU32 = AtomicU32::new(0);
    GEN.fetch_add(1, Ordering::Relaxed) % ((1 << GEN_BITS) - 1) + 1
}

impl ServerConn {
    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    pub fn backlogged(&self) -> bool {
        self.backlog.load(Ordering::Relaxed)
    }

    /// The priority honoured for a priority the client wrote (with its policy, see
    /// `inherit::word`): at most its cap.
    pub fn honoured_priority(&self, claimed: u32) -> u8 {
        inherit::priority_of(claimed).min(self.prio_cap as u32) as u8
    }

    /// The real-time policy honoured for a message's word: the client's when it may have
    /// real-time priorities that high, `SCHED_OTHER` otherwise.
    fn honoured_policy(&self, claimed: u32) -> i32 {
        match self.honoured_priority(claimed) <= self.rt_cap {
            true => inherit::policy_of(claimed),
            false => libc::SCHED_OTHER,
        }
    }

    pub fn link_id(&self) -> Option<LinkId> {
        self.link.as_ref().map(|l| l.id)
    }

    /// `ESRCH` when the client process has died, even if the service thread has not yet
    /// caught up with its death.
    pub fn check_alive(&self) -> KResult<()> {
        if self.is_dead() || self.link.as_ref().is_some_and(|l| !l.alive()) {
            return Err(Errno::ESRCH);
        }
        Ok(())
    }

    /// `check_alive`, and the client's image still there (one read of its memory): the
    /// connection ends when the client has replaced its program.
    pub fn check_image(&self) -> KResult<()> {
        self.check_alive()?;
        match &self.image {
            Some(image) => {
                image.check(self.cell(&self.region.layout().header.nonce)).inspect_err(|_| self.image_lost())
            }
            None => Ok(()),
        }
    }

    /// `check_image` for a message that needs no copy, at most once per [`IMAGE_RECHECK`]:
    /// copies prove the image as they go, inline messages do not, so without this a forked
    /// helper of an image that has exec'd could post in its name for ever.
    pub fn recheck_image(&self) -> KResult<()> {
        if self.image.is_none() {
            return Ok(());
        }
        let now = coarse_ms();
        if now.saturating_sub(self.image_checked.load(Ordering::Relaxed)) < IMAGE_RECHECK.as_millis() as u64 {
            return Ok(());
        }
        self.image_checked.store(now, Ordering::Relaxed);
        self.check_image()
    }

    /// The client's image has gone (exec): its connections end as at its death.
    fn image_lost(&self) {
        if let Some(id) = self.link_id() {
            end_link(current(), id);
        }
    }

    /// A field of the region that holds our nonces for proving the client's image.
    fn cell<'a>(&self, ours: &'a AtomicU64) -> Cell<'a> {
        Cell { ours, theirs: self.region.client_addr(ours) }
    }

    /// Copies between `segs` and the client's stream of slot `s` received as `r` (its
    /// message, or its reply buffers for writes), in the client's image. `EPERM`: not
    /// allowed.
    fn copy_client(&self, s: usize, r: &Received, segs: &[Seg], offset: usize, dir: Dir) -> KResult<usize> {
        let (inline, iov, parts) = match dir {
            Dir::Read => (&r.send_segs, r.send_iov, r.send_parts),
            Dir::Write => (&r.reply_segs, r.reply_iov, r.reply_parts),
        };
        let copy = |local: &[Seg], remote: &[Seg], offset: usize, dir: Dir| match &self.image {
            // The slot's status is ours while we hold the slot (`begin_copy`): it holds the
            // nonces.
            Some(image) => image.copy(self.cell(&self.region.slot(s).status), local, remote, offset, dir),
            None => copy::vm_copy(self.peer.pid, local, remote, offset, dir),
        };
        let remote: Cow<'_, [Seg]> = match parts as usize {
            n if n <= SLOT_SEGS => Cow::Borrowed(&inline[..n]),
            _ => Cow::Owned(copy::fetch_iovs(iov, parts, |l, r| copy(l, r, 0, Dir::Read))?),
        };
        let res = copy(segs, &remote, offset, dir);
        if self.image.as_ref().is_some_and(|i| i.is_gone()) {
            self.image_lost();
        }
        res
    }

    /// Records slot `s` as received: takes the copy the server works from.
    pub fn take(&self, s: usize) -> Received {
        let slot = self.region.slot(s);
        let word = slot.priority.load(Ordering::Relaxed);
        let r = Received {
            gen: next_gen(),
            tid: slot.tid.load(Ordering::Relaxed) as i32,
            priority: self.honoured_priority(word) as i32,
            policy: self.honoured_policy(word),
            coid: slot.coid.load(Ordering::Relaxed) as i32,
            send_len: slot.send_len.load(Ordering::Relaxed),
            reply_cap: slot.reply_cap.load(Ordering::Relaxed),
            msglen: 0,
            send_iov: slot.send_iov.load(Ordering::Relaxed),
            send_parts: slot.send_parts.load(Ordering::Relaxed),
            reply_iov: slot.reply_iov.load(Ordering::Relaxed),
            reply_parts: slot.reply_parts.load(Ordering::Relaxed),
            send_segs: slot_segs(&slot.send_segs),
            reply_segs: slot_segs(&slot.reply_segs),
        };
        *self.slots[s].rcv.lock() = r;
        self.slots[s].late_read.store(false, Ordering::Relaxed);
        self.slots[s].held.store(r.gen, Ordering::Release);
        self.show_held(s, true);
        r
    }

    /// Tells `pidin` whether the client in slot `s` is REPLY-blocked.
    fn show_held(&self, s: usize, held: bool) {
        status::with(|st| st.held(index_of(self.scoid), s, held));
    }

    pub fn received(&self, s: usize) -> Received {
        *self.slots[s].rcv.lock()
    }

    pub fn set_msglen(&self, s: usize, n: usize) {
        self.slots[s].rcv.lock().msglen = n as u64;
    }

    /// Ends the rcvid `gen` of slot `s`: the one reply (or error) it may have. `ESRCH` when
    /// another thread replied first.
    pub fn release(&self, s: usize, gen: u32) -> KResult<()> {
        self.slots[s]
            .held
            .compare_exchange(gen, 0, Ordering::AcqRel, Ordering::Relaxed)
            .map_err(|_| Errno::ESRCH)?;
        self.show_held(s, false);
        // A server that replies never sees a stale unblock pulse for the rcvid.
        if self.slots[s].unblock_sent.swap(false, Ordering::AcqRel) {
            if let Some(ch) = self.channel.upgrade() {
                let stale = Pulse::unblock(self.scoid, rcvid(self, s, gen));
                ch.state.lock().remove_pulses(|p| *p == stale);
            }
        }
        Ok(())
    }

    /// The errno the client asked to be unblocked with (a signal: `EINTR`), if it asked.
    pub fn unblock_request(&self, s: usize) -> Option<Errno> {
        match self.region.slot(s).unblock.load(Ordering::Acquire) as i32 {
            0 => None,
            e => Some(Errno(e)),
        }
    }

    /// Queues `_PULSE_CODE_UNBLOCK` (value: the rcvid) once for a REPLY-blocked client in
    /// slot `s` that asked to be unblocked; called while the channel lock is held.
    pub fn note_unblock_request(&self, st: &mut ChannelState, s: usize) {
        let gen = self.slots[s].held.load(Ordering::Acquire);
        if gen == 0
            || self.unblock_request(s).is_none()
            || self.slots[s].unblock_sent.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let priority = self.received(s).priority.clamp(1, 255) as u8;
        st.push_pulse(priority, Pulse::unblock(self.scoid, rcvid(self, s, gen)));
    }

    /// Claims slot `s`, received as rcvid generation `gen`, for one thread of ours: for a
    /// copy from or into the client's memory (the client cannot leave while it runs), or
    /// for the reply. `ESRCH` when the client has left, or the rcvid no longer names the
    /// slot's message.
    ///
    /// Our threads take the slot one at a time, as QNX's kernel serializes a `MsgReply`
    /// with a `MsgRead` of the same message by another thread: the reply waits for the
    /// read, and the read that comes after the reply fails. Unserialized, a read that ran
    /// on after the reply released the client returned bytes of the client's next message,
    /// and its proofs of the client's image (nonces put in the slot's status word) landed
    /// over the reply's status, which the client then returned from `MsgSend`. The claim
    /// is made in our own memory; the shared state, which the client can write, only tells
    /// the client that a copy runs.
    pub fn begin_copy(&self, s: usize, gen: u32) -> KResult<Copying<'_>> {
        let serial = self.slots[s].serial.lock();
        let slot = self.region.slot(s);
        match slot.state.compare_exchange(
            state::RECEIVED,
            state::COPYING,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => {}
            Err(state::ABORTED) => {
                // The client left while REPLY-blocked: the slot is free again.
                let _ = slot.state.compare_exchange(
                    state::ABORTED,
                    state::FREE,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                );
                return Err(Errno::ESRCH);
            }
            Err(_) => return Err(Errno::ESRCH),
        }
        let held = Copying { conn: self, s, _serial: serial };
        // Looked at once the slot is ours: a client that left without a reply and sent its
        // next message in the same slot made it RECEIVED again, but that message's receipt
        // took the old rcvid's generation away first (see `taking`).
        if self.slots[s].held.load(Ordering::Acquire) != gen {
            held.finish(state::RECEIVED, 0);
            return Err(Errno::ESRCH);
        }
        Ok(held)
    }

    /// Whether the reply may be written over the message in the slot's send area, where
    /// the client reads an inline reply: not while a client thread preempted in a copy for
    /// a read still fills that area (it would write its message over the reply, which it
    /// reads once it has done), then the reply goes straight to the client's buffers.
    pub fn send_area_free(&self, held: &Copying) -> bool {
        !self.slots[held.s].late_read.load(Ordering::Relaxed)
    }

    /// Slot `s` is about to be received again (it was sent anew): an rcvid of its earlier
    /// message, whose client left without a reply, no longer names it.
    pub fn taking(&self, s: usize) {
        self.slots[s].held.store(0, Ordering::Release);
    }

    /// Releases a client received as rcvid generation `gen` with an error.
    pub fn fail_held(&self, s: usize, gen: u32, e: Errno) {
        let claimed = self.begin_copy(s, gen);
        let _ = self.release(s, gen);
        if let Ok(held) = claimed {
            held.finish(state::FAILED, e.0 as u64);
        }
    }

    /// Puts a received message back: it is SEND-blocked again.
    pub fn requeue(&self, s: usize) {
        self.slots[s].held.store(0, Ordering::Release);
        self.show_held(s, false);
        let slot = self.region.slot(s);
        let _ =
            slot.state.compare_exchange(state::RECEIVED, state::SENT, Ordering::AcqRel, Ordering::Relaxed);
        self.region.layout().header.posted.fetch_or(1u64 << s, Ordering::SeqCst);
    }

    /// Copies between `segs` and the client's message (`Dir::Read`) or reply buffers
    /// (`Dir::Write`) from `offset`, for the thread that holds the slot: through the slot
    /// while the client thread spins (see [`ServerConn::client_awake`]), else one copy
    /// between the two processes, or chunks through the slot when the kernel refuses that.
    pub fn transfer(
        &self,
        held: &Copying,
        r: &Received,
        offset: usize,
        segs: &[Seg],
        dir: Dir,
    ) -> KResult<usize> {
        let s = held.s;
        let (agent_dir, stream_len) = match dir {
            Dir::Read => (AGENT_READ, r.send_len as usize),
            Dir::Write => (AGENT_WRITE, r.reply_cap as usize),
        };
        if !self.vm_denied.load(Ordering::Relaxed) {
            let mut from = 0;
            if let Some(spin_end) = self.client_awake(s) {
                match self.agent(s, agent_dir, offset, segs, stream_len, Some(spin_end))? {
                    Agent::Done(n) => return Ok(n),
                    Agent::Withdrawn(n) => from = n,
                }
            }
            let res = self.copy_client(s, r, &copy::skip(segs, from), offset + from, dir);
            if res != Err(Errno::EPERM) {
                return res.map(|n| n + from);
            }
            self.vm_denied.store(true, Ordering::Relaxed);
        }
        self.agent(s, agent_dir, offset, segs, stream_len, None).map(Agent::copied)
    }

    /// When the client thread of slot `s` spins on another CPU (it is not asleep, and we may
    /// spin too), it copies faster than the kernel can: `process_vm_*` costs ~2.4 µs a call
    /// and ~0.4 µs a page here, a chunk through the slot two `memcpy`s (~1.5 µs per 64 KiB)
    /// and a cache-line hand-off. Returns how long to wait for its first answer; the image
    /// is looked at as for an inline message (the client's own thread copies, but a forked
    /// helper mapping the region could answer in its place).
    fn client_awake(&self, s: usize) -> Option<Instant> {
        let slot = self.region.slot(s);
        if slot.client_waiting.load(Ordering::SeqCst) != 0 || self.recheck_image().is_err() {
            return None;
        }
        spin::deadline_for(slot.cpu.load(Ordering::Relaxed))
    }

    /// The copy through the slot: the REPLY-blocked client thread copies chunk after chunk
    /// between its buffers and the slot (see `Conn::serve_agent`). `stream_len` is the length
    /// of the client's stream on that side. With `spin_end` (a client found spinning), we
    /// spin for each answer rather than sleep, and a client that has not answered by then
    /// (preempted) gets its request withdrawn: the caller copies the rest otherwise.
    fn agent(
        &self,
        s: usize,
        dir: u32,
        offset: usize,
        segs: &[Seg],
        stream_len: usize,
        mut spin_end: Option<Instant>,
    ) -> KResult<Agent> {
        let slot = self.region.slot(s);
        let bounce = if dir == AGENT_READ { self.region.send_data(s) } else { self.region.reply_data(s) };
        let want = copy::total(segs)?.min(stream_len.saturating_sub(offset));
        let fast = spin_end.is_some();
        let mut deadline = Instant::now() + AGENT_PATIENCE;
        let mut done = 0;
        while done < want {
            let chunk = (want - done).min(INLINE);
            if dir == AGENT_WRITE {
                // SAFETY: segs are this process's checked buffers; bounce holds INLINE bytes.
                unsafe { copy::gather(segs, done, bounce, chunk) };
            }
            slot.agent_dir.store(dir, Ordering::Relaxed);
            slot.agent_offset.store((offset + done) as u64, Ordering::Relaxed);
            slot.agent_len.store(chunk as u64, Ordering::Relaxed);
            slot.state.store(state::AGENT_REQ, Ordering::SeqCst);
            if !fast || slot.client_waiting.load(Ordering::SeqCst) != 0 {
                futex::wake(&slot.state, 1);
            }
            if fast && !self.answered_soon(s, dir, spin_end) {
                return Ok(Agent::Withdrawn(done));
            }
            loop {
                let st = slot.state.load(Ordering::Acquire);
                if st == state::AGENT_DONE {
                    break;
                }
                if !matches!(st, state::AGENT_REQ | state::AGENT_TAKEN) || self.is_dead() {
                    return Err(Errno::ESRCH);
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    slot.state.store(state::COPYING, Ordering::SeqCst);
                    return Err(Errno::EFAULT);
                }
                slot.server_waiting.store(1, Ordering::SeqCst);
                futex::wait(&slot.state, st, Some(left.min(Duration::from_millis(10)))).ok();
                slot.server_waiting.store(0, Ordering::Relaxed);
            }
            slot.state.store(state::COPYING, Ordering::SeqCst);
            // The client wrote the result: a count, or a failure whose errno is not its to
            // choose (its buffers failed: EFAULT).
            let got = slot.agent_result.load(Ordering::Relaxed) as i64;
            if got < 0 {
                return Err(Errno::EFAULT);
            }
            let got = (got as usize).min(chunk);
            if dir == AGENT_READ {
                // SAFETY: as above.
                unsafe { copy::scatter(bounce, got, segs, done) };
            }
            done += got;
            deadline = (deadline + AGENT_CHUNK_ALLOWANCE).min(Instant::now() + AGENT_PATIENCE);
            if fast {
                spin_end = spin::deadline();
            }
            if got < chunk {
                break;
            }
        }
        Ok(Agent::Done(done))
    }

    /// In a copy through the slot with a spinning client: whether it answers the request
    /// just made, spinning until `spin_end` at most. A client that has not taken it within
    /// [`TAKE_WAIT`] is not spinning (preempted): the request is withdrawn. A read it took but
    /// has not finished within [`COPY_WAIT`] (preempted as it copied) is abandoned too: its
    /// late copy only fills the slot's send area, where the reply is then not written (see
    /// [`ServerConn::send_area_free`]). A
    /// write is waited for, since its late copy would land in the client's buffers after
    /// ours. False: withdrawn, the slot is COPYING again.
    fn answered_soon(&self, s: usize, dir: u32, spin_end: Option<Instant>) -> bool {
        let st = &self.region.slot(s).state;
        let take_by = spin_end.map(|end| end.min(Instant::now() + TAKE_WAIT));
        let withdraw = |from: u32| {
            st.compare_exchange(from, state::COPYING, Ordering::AcqRel, Ordering::Acquire).is_err()
        };
        if !spin::until_by(take_by, || st.load(Ordering::Acquire) != state::AGENT_REQ) {
            return withdraw(state::AGENT_REQ);
        }
        let done = || st.load(Ordering::Acquire) != state::AGENT_TAKEN;
        if dir == AGENT_READ {
            let copied_by = spin_end.map(|end| end.min(Instant::now() + COPY_WAIT));
            if spin::until_by(copied_by, done) || withdraw(state::AGENT_TAKEN) {
                return true;
            }
            self.slots[s].late_read.store(true, Ordering::Relaxed);
            return false;
        }
        spin::until_by(spin_end, done);
        true
    }

    pub fn fill_info(&self, s: usize, r: &Received, chid: i32, info: &mut _msg_info) {
        let unblock = if self.unblock_request(s).is_some() { _NTO_MI_UNBLOCK_REQ } else { 0 };
        *info = _msg_info {
            nd: self.nd,
            srcnd: self.srcnd,
            pid: self.shown_pid,
            tid: r.tid,
            chid,
            scoid: self.scoid,
            coid: r.coid,
            priority: r.priority as i16,
            flags: (_NTO_MI_BITS_64 | unblock) as i16,
            msglen: r.msglen as i64,
            srcmsglen: r.send_len as i64,
            dstmsglen: r.reply_cap as i64,
            type_id: 0,
            reserved: 0,
        };
    }
}

/// QNX's rule for pulses across processes: the sender is root, or its user is ours (our
/// real or saved uid).
fn may_pulse(peer: &PeerCred) -> bool {
    trusted_uid(peer.uid)
}

/// Connections (scoids, each with its region mapped here) one client process of an
/// untrusted user may hold to this process, over all its channels: what a QNX client's
/// usual descriptor limit (1000) lets it hold, rounded up.
pub const CONNS_PER_PROCESS: usize = 1024;
/// The same for all the processes of one untrusted user: an eighth of what one channel can
/// hold (`MAX_CHANNEL_CONNS`, 32000), and 4096 of the mappings Linux allows a process
/// (`vm.max_map_count`, 65530 by default), so that one user leaves room for the others.
pub const CONNS_PER_USER: usize = 4096;

/// The highest priority honoured for a client's messages and pulses. On QNX the kernel knows
/// each sender's real priority; here a client writes its own. A client that is root or of the
/// server's own user (who may signal and trace the server anyway) is believed; any other is
/// honoured up to what Linux lets its threads really have: its `RLIMIT_RTPRIO` (read from
/// /proc as the connection is made), and at least QNX's default priority. Returns the cap and
/// the highest priority honoured as real-time (with a real-time policy).
fn priority_cap(peer: &PeerCred, trusted: bool) -> (u8, u8) {
    if trusted {
        return (u8::MAX, u8::MAX);
    }
    let rtprio = std::fs::read_to_string(format!("/proc/{}/limits", peer.pid))
        .ok()
        .and_then(|limits| rlimit_rtprio(&limits))
        .unwrap_or(0)
        .min(u8::MAX as u64) as u8;
    (rtprio.max(DEFAULT_PRIORITY as u8), rtprio)
}

/// The soft `RLIMIT_RTPRIO` in the text of /proc/<pid>/limits.
fn rlimit_rtprio(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max realtime priority"))?;
    match line["Max realtime priority".len()..].split_whitespace().next()? {
        "unlimited" => Some(u64::MAX),
        v => v.parse().ok(),
    }
}

static SERIAL: AtomicU64 = AtomicU64::new(1);

/// Creates the server side of a new connection from `peer` to `ch`; returns it and the
/// descriptor of its region for the client to map. `EAGAIN` (QNX: all kernel connection
/// objects are in use) when a client of another process is at its limits. `shown` is the
/// client the server is told of, when not the peer.
pub fn new_conn(
    p: &Process,
    ch: &Arc<Channel>,
    peer: PeerCred,
    link: Option<IncomingLink>,
    client: (Creds, Option<Arc<Image>>),
    shown: Option<Shown>,
) -> KResult<(Arc<ServerConn>, OwnedFd)> {
    let counted = link.is_some();
    if counted {
        p.conn_tally.lock().admit(&peer, CONNS_PER_PROCESS, CONNS_PER_USER)?;
    }
    let made = make_conn(p, ch, peer, link, client, shown);
    if counted && made.is_err() {
        p.conn_tally.lock().release(&peer);
    }
    made
}

fn make_conn(
    p: &Process,
    ch: &Arc<Channel>,
    peer: PeerCred,
    link: Option<IncomingLink>,
    client: (Creds, Option<Arc<Image>>),
    shown: Option<Shown>,
) -> KResult<(Arc<ServerConn>, OwnedFd)> {
    let (region, fd) = Region::create("neutrino-conn", CONN_REGION_LEN)?;
    let region = ConnRegion::new(region);
    region.layout().header.magic.store(CONN_MAGIC, Ordering::Relaxed);
    let mut st = ch.state.lock();
    if st.destroyed {
        return Err(Errno::ESRCH);
    }
    let bit = st.free_bit()?;
    let mut scoids = p.scoids.write();
    let index = p.ids.lock().take().ok_or(Errno::EAGAIN)?;
    let (prio_cap, rt_cap) = priority_cap(&peer, may_pulse(&peer));
    let conn = Arc::new(ServerConn {
        scoid: (_NTO_SIDE_CHANNEL | _NTO_CONNECTION_SCOID | index as u32) as i32,
        chid: ch.chid,
        bit,
        channel: Arc::downgrade(ch),
        region,
        peer,
        shown_pid: shown.map_or(peer.pid, |s| s.pid),
        nd: shown.map_or(0, |s| s.nd),
        srcnd: shown.map_or(0, |s| s.srcnd),
        creds: client.0,
        vm_denied: AtomicBool::new(client.1.as_ref().is_some_and(|i| !i.has_mem())),
        image: client.1,
        image_checked: AtomicU64::new(0),
        link,
        slots: Default::default(),
        dead: AtomicBool::new(false),
        may_pulse: may_pulse(&peer),
        pulse_head: AtomicU64::new(0),
        serial: SERIAL.fetch_add(1, Ordering::Relaxed),
        prio_cap,
        rt_cap,
        backlog: AtomicBool::new(false),
    });
    scoids.insert_at(index, conn.clone());
    drop(scoids);
    status::with(|s| s.conn_set(index, conn.scoid, conn.chid, conn.shown_pid));
    st.add_conn(conn.clone());
    Ok((conn, fd))
}

/// Why a server connection ends.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The client detached its last coid (from a thread of this priority).
    Detached(u8),
    /// The client process died.
    ClientDied,
    /// The channel was destroyed.
    ChannelGone,
}

/// Ends a server connection: fails its blocked clients, frees its bit in the bell, and
/// either frees its scoid or, when the channel has `_NTO_CHF_DISCONNECT` and the client
/// went away, keeps it until the server's `ConnectDetach(scoid)` and queues
/// `_PULSE_CODE_DISCONNECT`.
pub fn end(p: &Process, conn: &Arc<ServerConn>, why: End) {
    // Once only: a client that detached and then died left a zombie scoid, already reported.
    if conn.dead.swap(true, Ordering::AcqRel) {
        return;
    }
    let ch = conn.channel.upgrade();
    let disconnect =
        why != End::ChannelGone && ch.as_ref().is_some_and(|c| c.flags & _NTO_CHF_DISCONNECT != 0);
    if !disconnect {
        free_scoid(p, conn);
    }
    if let Some(ch) = &ch {
        let mut st = ch.state.lock();
        // Pulses the client sent before it went are queued, as the kernel had them.
        ch.drain_conn(&mut st, conn);
        if let Some(slot) = st.conns.get_mut(conn.bit as usize) {
            if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn)) {
                *slot = None;
            }
        }
    }
    if why == End::ChannelGone {
        // The client learns at once that its coids are dead (_PULSE_CODE_COIDDEATH).
        match &conn.link {
            Some(link) => {
                link.notify(&Response { note: NOTE_CHANNEL_GONE, scoid: conn.scoid, ..Default::default() })
            }
            None => super::client::channel_gone(p, None, conn.scoid),
        }
    }
    let e = if why == End::ChannelGone { Errno::ESRCH } else { Errno::EBADF };
    for s in 0..SLOTS {
        conn.slots[s].held.store(0, Ordering::Release);
        conn.show_held(s, false);
        fail_blocked(&conn.region, s, e, false);
    }
    if let (true, Some(ch)) = (disconnect, ch) {
        let priority = match why {
            End::Detached(prio) => prio,
            _ => DEFAULT_PRIORITY as u8,
        };
        let _ = ch.enqueue_pulse(priority, Pulse::disconnect(conn.scoid));
    }
}

fn free_scoid(p: &Process, conn: &Arc<ServerConn>) {
    let mut scoids = p.scoids.write();
    if scoids.get(index_of(conn.scoid)).is_some_and(|c| Arc::ptr_eq(c, conn)) {
        scoids.remove(index_of(conn.scoid));
        p.ids.lock().give_back(index_of(conn.scoid));
        status::with(|s| s.conn_clear(index_of(conn.scoid)));
        if conn.link.is_some() {
            p.conn_tally.lock().release(&conn.peer);
        }
    }
}

/// Ends connection `scoid` of the calling process as the destruction of its channel would
/// (its client's blocked calls fail with `ESRCH`, its coids die and each gets
/// `_PULSE_CODE_COIDDEATH`) while the channel lives on: how the network gateway tells a
/// client that the remote channel its connection stood for went with its node.
pub fn sever(scoid: i32) -> KResult<()> {
    let p = current();
    let conn =
        p.scoids.read().get(index_of(scoid)).cloned().filter(|c| c.scoid == scoid).ok_or(Errno::EINVAL)?;
    end(p, &conn, End::ChannelGone);
    Ok(())
}

/// The server's `ConnectDetach(scoid)`: frees a connection whose client has gone (after
/// `_PULSE_CODE_DISCONNECT`); `EINVAL` while the client is still connected.
pub fn detach_scoid(p: &Process, scoid: i32) -> KResult<()> {
    let conn =
        p.scoids.read().get(index_of(scoid)).cloned().filter(|c| c.scoid == scoid).ok_or(Errno::EINVAL)?;
    if !conn.is_dead() {
        return Err(Errno::EINVAL);
    }
    free_scoid(p, &conn);
    Ok(())
}

/// Ends the connections a client made through `link`: it died or replaced its program.
fn end_link(p: &Process, link: LinkId) {
    let gone: Vec<Arc<ServerConn>> =
        p.scoids.read().iter().filter(|(_, c)| c.link_id() == Some(link)).map(|(_, c)| c.clone()).collect();
    for conn in gone {
        end(p, &conn, End::ClientDied);
    }
}

/// Whether `coid` has the form of a scoid.
pub fn is_scoid(coid: i32) -> bool {
    let bits = _NTO_SIDE_CHANNEL | _NTO_CONNECTION_SCOID;
    coid > 0 && coid as u32 & bits == bits && coid as u32 & !(bits | 0xFFFF) == 0
}

/// How often `fail_blocked` tries to change a slot whose state keeps changing under it.
const FAIL_TRIES: usize = 64;

/// Fails a SEND- or REPLY-blocked client in slot `s` with `e`. With `force`, also one the
/// server was copying for (the server is gone and will never finish).
pub fn fail_blocked(region: &ConnRegion, s: usize, e: Errno, force: bool) {
    let slot = region.slot(s);
    // A peer that keeps changing the state (a hostile client, or a dead server's forked
    // child that still maps the region) must not keep us here: an honest thread blocked in
    // the slot notices the end by itself.
    for _ in 0..FAIL_TRIES {
        let st = slot.state.load(Ordering::Acquire);
        let copying =
            matches!(st, state::COPYING | state::AGENT_REQ | state::AGENT_TAKEN | state::AGENT_DONE);
        let blocked = st == state::SENT || st == state::RECEIVED || (force && copying);
        if !blocked {
            return;
        }
        if slot.state.compare_exchange(st, state::COPYING, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
            slot.status.store(e.0 as u64, Ordering::Relaxed);
            slot.state.store(state::FAILED, Ordering::SeqCst);
            futex::wake(&slot.state, 1);
            return;
        }
    }
}

/// The kernel's handling of the service thread's events.
pub struct KernelHandler;
pub static HANDLER: KernelHandler = KernelHandler;

impl Handler for KernelHandler {
    fn attach(&self, link: &IncomingLink, req: &Request) -> KResult<(Response, Vec<OwnedFd>)> {
        let p = current();
        let ch = p.channel(req.chid)?;
        let creds = attach_creds(&link.peer)?;
        // An image that has gone ends the connections it made, as death does.
        let image = attach_image(link, &creds).inspect_err(|_| end_link(p, link.id))?;
        // A claim to stand for a remote client counts only from the node's gateway.
        let claim = Behalf::from_words(req.event);
        let (shown, creds) = match net::vouch(&link.peer, &claim, &creds) {
            Some((shown, remote)) => (Some(shown), remote),
            None => (None, creds),
        };
        let (conn, region_fd) = new_conn(p, &ch, link.peer, Some(link.clone()), (creds, Some(image)), shown)?;
        let fds = vec![
            region_fd,
            ch.bell_fds.0.try_clone().map_err(|_| Errno::EMFILE)?,
            ch.bell_fds.1.try_clone().map_err(|_| Errno::EMFILE)?,
        ];
        let resp = Response {
            status: 0,
            scoid: conn.scoid,
            bit: conn.bit,
            chflags: ch.flags,
            grants: if conn.may_pulse { GRANT_PULSES } else { 0 }
                | if conn.nd != 0 { GRANT_REMOTE } else { 0 },
            ..Default::default()
        };
        Ok((resp, fds))
    }

    fn detach(&self, link: LinkId, req: &Request) -> KResult<Response> {
        let p = current();
        let conn = p.scoids.read().get(index_of(req.scoid)).cloned().ok_or(Errno::ESRCH)?;
        // A client may only end its own connections.
        if conn.link_id() != Some(link) || conn.scoid != req.scoid {
            return Err(Errno::ESRCH);
        }
        // The disconnect pulse's priority, capped as the client's own pulses are.
        end(p, &conn, End::Detached(conn.honoured_priority(req.priority.clamp(1, 255) as u32)));
        Ok(Response::default())
    }

    fn pulse(&self, link: LinkId, req: &Request) -> KResult<Response> {
        let p = current();
        let conn = p.scoids.read().get(index_of(req.scoid)).cloned();
        let conn = conn.filter(|c| c.link_id() == Some(link) && c.scoid == req.scoid).ok_or(Errno::EBADF)?;
        if !conn.may_pulse {
            return Err(Errno::EPERM);
        }
        let ch = conn.channel.upgrade().ok_or(Errno::EBADF)?;
        let priority = req.priority.clamp(1, 255) as u8;
        ch.enqueue_overflow_pulse(&conn, priority, req.code as i8, req.value, req.ticket)?;
        Ok(Response::default())
    }

    fn event(&self, link: &IncomingLink, req: &Request) -> KResult<Response> {
        let from = Sender { pid: link.peer.pid, uid: link.peer.uid };
        let tid = (req.tid != 0).then_some(req.tid);
        let ev = RawEvent::from_words(req.event);
        notify::receive(current(), Some((from, req.scoid)), &ev, tid, req.flags & notify::VERIFY_ONLY != 0)?;
        Ok(Response::default())
    }

    fn shm_handle(&self, peer: libc::pid_t, req: &Request) -> KResult<(Response, Vec<OwnedFd>)> {
        super::shm_handles::serve(peer, req)
    }

    fn client_gone(&self, link: LinkId) {
        end_link(current(), link);
    }

    fn note(&self, link: &Link, note: &Response) {
        if note.note == NOTE_CHANNEL_GONE {
            super::client::channel_gone(current(), Some(link.id), note.scoid);
        }
    }

    fn server_gone(&self, link: &Arc<Link>) {
        super::client::server_gone(current(), link);
    }

    fn name_lookup(&self, listener: std::os::fd::RawFd) {
        super::names::answer(current(), listener);
    }
}

/// `ConnectClientInfo`: who the client of `scoid` is (-1: this process): its credentials
/// when it attached, never those of whatever the pid runs later. Up to `ngroups`
/// supplementary groups are copied to `groups`; `ngroups` of 0 reports the real count.
pub fn client_info(scoid: i32, info: &mut _client_info, groups: &mut [libc::gid_t]) -> KResult<()> {
    let p = current();
    let (pid, nd, creds) = if scoid == -1 {
        (p.pid, 0, creds_of(p.pid).map_err(|_| Errno::EINVAL)?)
    } else {
        let conn = p
            .scoids
            .read()
            .get(index_of(scoid))
            .cloned()
            .filter(|c| c.scoid == scoid)
            .ok_or(Errno::EINVAL)?;
        conn.check_image().map_err(|_| Errno::EINVAL)?;
        (conn.shown_pid, conn.nd, conn.creds.clone())
    };
    let copied = groups.len().min(creds.groups.len());
    groups[..copied].copy_from_slice(&creds.groups[..copied]);
    info.nd = nd;
    info.pid = pid;
    info.sid = creds.sid;
    info.flags = _NTO_CI_BITS_64;
    [info.cred.ruid, info.cred.euid, info.cred.suid] = creds.uids;
    [info.cred.rgid, info.cred.egid, info.cred.sgid] = creds.gids;
    info.cred.ngroups = if groups.is_empty() { creds.groups.len() } else { copied } as u32;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rtprio_from_proc_limits() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max nice priority         0                    0\n\
                      Max realtime priority     20                   40\n";
        assert_eq!(rlimit_rtprio(limits), Some(20));
        assert_eq!(rlimit_rtprio("Max realtime priority     unlimited    unlimited\n"), Some(u64::MAX));
        assert_eq!(rlimit_rtprio("nothing"), None);
    }

    proptest! {
        #[test]
        fn any_limits_text_is_handled(text in ".*", rest in ".*") {
            let _ = rlimit_rtprio(&text);
            let _ = rlimit_rtprio(&format!("Max realtime priority{rest}"));
        }
    }
}
