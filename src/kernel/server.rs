//! Server connections (scoids): one per client process and channel, each with the shared
//! region its client posts messages into; and the service-thread events that create and
//! end them.

use super::abi::{_msg_info, _NTO_CONNECTION_SCOID, _NTO_MI_BITS_64, _NTO_SIDE_CHANNEL};
use super::channel::Channel;
use super::errno::{Errno, KResult};
use super::process::{current, Process};
use crate::transport::copy::{self, Dir, Seg};
use crate::transport::futex;
use crate::transport::link::{Handler, Link, LinkId, PeerCred, Request, Response};
use crate::transport::region::{
    state, ConnRegion, AGENT_READ, AGENT_WRITE, CONN_MAGIC, CONN_REGION_LEN, INLINE, SLOTS,
};
use crate::transport::shm::Region;
use parking_lot::Mutex;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// How long a server waits for a client thread to serve one agent copy. A live client
/// answers in microseconds; one stopped or hostile must not hold the server forever.
const AGENT_PATIENCE: Duration = Duration::from_secs(10);

/// Scoids are numbered below this (the low 16 bits of a scoid).
const MAX_SCOIDS: usize = 0x1_0000;
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
    pub coid: i32,
    pub send_len: u64,
    pub reply_cap: u64,
    /// Bytes copied into the receive buffer.
    pub msglen: u64,
    pub send_iov: u64,
    pub send_parts: u64,
    pub reply_iov: u64,
    pub reply_parts: u64,
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
}

pub struct ServerConn {
    pub scoid: i32,
    pub chid: i32,
    pub bit: u32,
    pub channel: Weak<Channel>,
    pub region: Arc<ConnRegion>,
    /// The client process, from the kernel's SO_PEERCRED (or this process).
    pub peer: PeerCred,
    /// The link the client attached through; 0 when the client is this process.
    pub link: LinkId,
    pub slots: [SlotPriv; SLOTS],
    dead: AtomicBool,
    /// The kernel refused `process_vm_*` towards this client (another user, or ptrace
    /// restrictions): copies go through the blocked client thread instead.
    vm_denied: AtomicBool,
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

fn next_gen() -> u32 {
    static GEN: AtomicU32 = AtomicU32::new(0);
    GEN.fetch_add(1, Ordering::Relaxed) % ((1 << GEN_BITS) - 1) + 1
}

impl ServerConn {
    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    /// Records slot `s` as received: takes the copy the server works from.
    pub fn take(&self, s: usize) -> Received {
        let slot = self.region.slot(s);
        let r = Received {
            gen: next_gen(),
            tid: slot.tid.load(Ordering::Relaxed) as i32,
            priority: slot.priority.load(Ordering::Relaxed).min(255) as i32,
            coid: slot.coid.load(Ordering::Relaxed) as i32,
            send_len: slot.send_len.load(Ordering::Relaxed),
            reply_cap: slot.reply_cap.load(Ordering::Relaxed),
            msglen: 0,
            send_iov: slot.send_iov.load(Ordering::Relaxed),
            send_parts: slot.send_parts.load(Ordering::Relaxed),
            reply_iov: slot.reply_iov.load(Ordering::Relaxed),
            reply_parts: slot.reply_parts.load(Ordering::Relaxed),
        };
        *self.slots[s].rcv.lock() = r;
        self.slots[s].held.store(r.gen, Ordering::Release);
        r
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
            .map(|_| ())
            .map_err(|_| Errno::ESRCH)
    }

    /// Claims slot `s` for a copy into the client's memory, so the client cannot leave
    /// while it runs. `ESRCH` when the client has already left.
    pub fn begin_copy(&self, s: usize) -> KResult<()> {
        let slot = self.region.slot(s);
        match slot.state.compare_exchange(
            state::RECEIVED,
            state::COPYING,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => Ok(()),
            Err(state::ABORTED) => {
                // The client left while REPLY-blocked: the slot is free again.
                let _ = slot.state.compare_exchange(
                    state::ABORTED,
                    state::FREE,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                );
                Err(Errno::ESRCH)
            }
            Err(_) => Err(Errno::ESRCH),
        }
    }

    /// Ends a copy: back to REPLY-blocked, or released with `to` (REPLIED or FAILED).
    pub fn finish(&self, s: usize, to: u32, status: u64) {
        let slot = self.region.slot(s);
        slot.status.store(status, Ordering::Relaxed);
        slot.state.store(to, Ordering::SeqCst);
        if to != state::COPYING && slot.client_waiting.load(Ordering::SeqCst) != 0 {
            futex::wake(&slot.state, 1);
        }
    }

    /// Releases a received client with an error.
    pub fn fail_held(&self, s: usize, e: Errno) {
        self.slots[s].held.store(0, Ordering::Release);
        if self.begin_copy(s).is_ok() {
            self.finish(s, state::FAILED, e.0 as u64);
        }
    }

    /// Puts a received message back: it is SEND-blocked again.
    pub fn requeue(&self, s: usize) {
        self.slots[s].held.store(0, Ordering::Release);
        let slot = self.region.slot(s);
        let _ = slot.state.compare_exchange(
            state::RECEIVED,
            state::SENT,
            Ordering::AcqRel,
            Ordering::Relaxed,
        );
        self.region
            .layout()
            .header
            .posted
            .fetch_or(1 << s, Ordering::SeqCst);
    }

    /// Copies the client's message from `offset` into `segs`: one copy between the two
    /// processes, or chunks through the slot when the kernel refuses that.
    pub fn read_client(
        &self,
        s: usize,
        r: &Received,
        offset: usize,
        segs: &[Seg],
    ) -> KResult<usize> {
        if !self.vm_denied.load(Ordering::Relaxed) {
            let res = copy::fetch_iovs(self.peer.pid, r.send_iov, r.send_parts)
                .and_then(|remote| copy::vm_copy(self.peer.pid, segs, &remote, offset, Dir::Read));
            if res != Err(Errno::EPERM) {
                return res;
            }
            self.vm_denied.store(true, Ordering::Relaxed);
        }
        self.begin_copy(s)?;
        let res = self.agent(s, AGENT_READ, offset, segs, r.send_len as usize);
        self.finish(s, state::RECEIVED, 0);
        res
    }

    /// Copies `segs` into the client's reply buffer at `offset`. The caller holds the slot
    /// in COPYING.
    pub fn write_client(
        &self,
        s: usize,
        r: &Received,
        offset: usize,
        segs: &[Seg],
    ) -> KResult<usize> {
        if !self.vm_denied.load(Ordering::Relaxed) {
            let res = copy::fetch_iovs(self.peer.pid, r.reply_iov, r.reply_parts)
                .and_then(|remote| copy::vm_copy(self.peer.pid, segs, &remote, offset, Dir::Write));
            if res != Err(Errno::EPERM) {
                return res;
            }
            self.vm_denied.store(true, Ordering::Relaxed);
        }
        self.agent(s, AGENT_WRITE, offset, segs, r.reply_cap as usize)
    }

    /// The fallback copy: the REPLY-blocked client thread copies chunk after chunk between
    /// its buffers and the slot (see `Conn::serve_agent`). `stream_len` is the length of
    /// the client's stream on that side.
    fn agent(
        &self,
        s: usize,
        dir: u32,
        offset: usize,
        segs: &[Seg],
        stream_len: usize,
    ) -> KResult<usize> {
        let slot = self.region.slot(s);
        let bounce = if dir == AGENT_READ {
            self.region.send_data(s)
        } else {
            self.region.reply_data(s)
        };
        let want = copy::total(segs)?.min(stream_len.saturating_sub(offset));
        let mut done = 0;
        while done < want {
            let chunk = (want - done).min(INLINE);
            if dir == AGENT_WRITE {
                // SAFETY: segs are this process's checked buffers; bounce holds INLINE bytes.
                unsafe { copy::gather(segs, done, bounce, chunk) };
            }
            slot.agent_dir.store(dir, Ordering::Relaxed);
            slot.agent_offset
                .store((offset + done) as u64, Ordering::Relaxed);
            slot.agent_len.store(chunk as u64, Ordering::Relaxed);
            slot.state.store(state::AGENT_REQ, Ordering::SeqCst);
            futex::wake(&slot.state, 1);
            let started = Instant::now();
            loop {
                let st = slot.state.load(Ordering::Acquire);
                if st == state::AGENT_DONE {
                    break;
                }
                if st != state::AGENT_REQ || self.is_dead() {
                    return Err(Errno::ESRCH);
                }
                if started.elapsed() > AGENT_PATIENCE {
                    slot.state.store(state::COPYING, Ordering::SeqCst);
                    return Err(Errno::EFAULT);
                }
                futex::wait(&slot.state, st, Some(Duration::from_millis(10))).ok();
            }
            slot.state.store(state::COPYING, Ordering::SeqCst);
            let got = slot.agent_result.load(Ordering::Relaxed) as i64;
            if got < 0 {
                return Err(Errno(-got as i32));
            }
            let got = (got as usize).min(chunk);
            if dir == AGENT_READ {
                // SAFETY: as above.
                unsafe { copy::scatter(bounce, got, segs, done) };
            }
            done += got;
            if got < chunk {
                break;
            }
        }
        Ok(done)
    }

    pub fn fill_info(&self, r: &Received, chid: i32, info: &mut _msg_info) {
        *info = _msg_info {
            nd: 0,
            srcnd: 0,
            pid: self.peer.pid,
            tid: r.tid,
            chid,
            scoid: self.scoid,
            coid: r.coid,
            priority: r.priority as i16,
            flags: _NTO_MI_BITS_64 as i16,
            msglen: r.msglen as i64,
            srcmsglen: r.send_len as i64,
            dstmsglen: r.reply_cap as i64,
            type_id: 0,
            reserved: 0,
        };
    }
}

/// Creates the server side of a new connection from `peer` to `ch`; returns it and the
/// descriptor of its region for the client to map.
pub fn new_conn(
    p: &Process,
    ch: &Arc<Channel>,
    peer: PeerCred,
    link: LinkId,
) -> KResult<(Arc<ServerConn>, OwnedFd)> {
    let (region, fd) = Region::create("neutrino-conn", CONN_REGION_LEN)?;
    let region = ConnRegion::new(region);
    region
        .layout()
        .header
        .magic
        .store(CONN_MAGIC, Ordering::Relaxed);
    let mut st = ch.state.lock();
    if st.destroyed {
        return Err(Errno::ESRCH);
    }
    let bit = st.free_bit()?;
    let mut conn = None;
    p.scoids.write().insert_with(MAX_SCOIDS, |index| {
        let c = Arc::new(ServerConn {
            scoid: (_NTO_SIDE_CHANNEL | _NTO_CONNECTION_SCOID | index as u32) as i32,
            chid: ch.chid,
            bit,
            channel: Arc::downgrade(ch),
            region,
            peer,
            link,
            slots: Default::default(),
            dead: AtomicBool::new(false),
            vm_denied: AtomicBool::new(false),
        });
        conn = Some(c.clone());
        c
    });
    let conn = conn.ok_or(Errno::EAGAIN)?;
    st.add_conn(conn.clone())?;
    Ok((conn, fd))
}

/// Ends a server connection: fails its blocked clients with `e`, frees its scoid and its bit.
pub fn forget(p: &Process, conn: &Arc<ServerConn>, e: Errno) {
    conn.dead.store(true, Ordering::Release);
    {
        let mut scoids = p.scoids.write();
        if scoids
            .get(index_of(conn.scoid))
            .is_some_and(|c| Arc::ptr_eq(c, conn))
        {
            scoids.remove(index_of(conn.scoid));
        }
    }
    if let Some(ch) = conn.channel.upgrade() {
        let mut st = ch.state.lock();
        if let Some(slot) = st.conns.get_mut(conn.bit as usize) {
            if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn)) {
                *slot = None;
            }
        }
    }
    for s in 0..SLOTS {
        conn.slots[s].held.store(0, Ordering::Release);
        fail_blocked(&conn.region, s, e, false);
    }
}

/// Fails a SEND- or REPLY-blocked client in slot `s` with `e`. With `force`, also one the
/// server was copying for (the server is gone and will never finish).
pub fn fail_blocked(region: &ConnRegion, s: usize, e: Errno, force: bool) {
    let slot = region.slot(s);
    loop {
        let st = slot.state.load(Ordering::Acquire);
        let copying = matches!(st, state::COPYING | state::AGENT_REQ | state::AGENT_DONE);
        let blocked = st == state::SENT || st == state::RECEIVED || (force && copying);
        if !blocked {
            return;
        }
        if slot
            .state
            .compare_exchange(st, state::COPYING, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
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
    fn attach(
        &self,
        link: LinkId,
        peer: PeerCred,
        req: &Request,
    ) -> KResult<(Response, Vec<OwnedFd>)> {
        let p = current();
        let ch = p.channel(req.chid)?;
        let (conn, region_fd) = new_conn(p, &ch, peer, link)?;
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
        };
        Ok((resp, fds))
    }

    fn detach(&self, link: LinkId, req: &Request) -> KResult<Response> {
        let p = current();
        let conn = p
            .scoids
            .read()
            .get(index_of(req.scoid))
            .cloned()
            .ok_or(Errno::ESRCH)?;
        // A client may only end its own connections.
        if conn.link != link || conn.scoid != req.scoid {
            return Err(Errno::ESRCH);
        }
        forget(p, &conn, Errno::EBADF);
        Ok(Response::default())
    }

    fn client_gone(&self, link: LinkId) {
        let p = current();
        let gone: Vec<Arc<ServerConn>> = p
            .scoids
            .read()
            .iter()
            .filter(|(_, c)| c.link == link)
            .map(|(_, c)| c.clone())
            .collect();
        for conn in gone {
            forget(p, &conn, Errno::ESRCH);
        }
    }

    fn server_gone(&self, link: &Arc<Link>) {
        super::client::server_gone(current(), link);
    }
}
