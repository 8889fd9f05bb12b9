//! Channels: the queue of SEND-blocked messages and pending pulses in priority order, and
//! receiving from it.

use super::abi::{_msg_info, _NTO_CHF_COID_DISCONNECT, _NTO_CHF_FIXED_PRIORITY, _NTO_CHF_THREAD_DEATH};
use super::errno::{Errno, KResult};
use super::event::{self, RawEvent, Sender};
use super::inherit;
use super::process::{current, Process};
use super::pulse::{self, Pulse};
use super::queue::{PrioQueue, Rank};
use super::server::{self, Received, ServerConn};
use super::status;
use super::thread::{self, Blocked, Timeout, Waker};
use super::timer;
use crate::transport::copy::{self, Dir, Seg};
use crate::transport::futex;
use crate::transport::lock::{Mutex, MutexGuard};
use crate::transport::region::{
    state, Bell, BELL_CLIENTS_LEN, BELL_SERVER_LEN, INLINE, MAX_CHANNEL_CONNS, PULSES_POSTED, SLOTS,
    WAITING_RECEIVE,
};
use crate::transport::shm::Region;
use crate::transport::spin::{self, SignalHold};
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a receiver sleeps before it looks at every connection again, whatever the bell
/// said: a hostile client can clear other clients' bits in the shared bell, which may delay
/// their messages by this much but never strands them.
const RESCAN: Duration = Duration::from_millis(100);

/// Pulses one client connection may have queued in the server (besides the [`PULSE_RING`]
/// records its ring holds): QNX's kernel queues pulses until memory runs out, and here a
/// client sending in a loop to a server that does not receive would grow the server without
/// bound. Past it, `MsgSendPulse` fails with `EAGAIN` (QNX's error when the kernel cannot
/// queue a pulse) and the ring's records wait there for room. About 120 KB per connection.
pub const PENDING_PULSES: u32 = 2048;

pub struct Channel {
    pub chid: i32,
    pub flags: u32,
    pub bell: Arc<Bell>,
    /// The descriptors of the bell's two parts, handed to every client that attaches.
    pub bell_fds: (OwnedFd, OwnedFd),
    pub state: Mutex<ChannelState>,
    /// What exhausting the pulse pool does, for a channel with one.
    pub pool: Option<PoolPolicy>,
    /// The CPU the client of the last message received ran on (see `spin::deadline_for`).
    last_client_cpu: AtomicU32,
    /// Its record in the process's status, if one was free.
    shown: Option<usize>,
}

/// `ChannelCreatePulsePool`: the pool, counted here in the server's own memory (its size is
/// also in the bell, read-only to clients), and what its exhaustion does.
pub struct PoolPolicy {
    pub size: u32,
    /// Entries taken by queued pulses; changed under the channel lock.
    used: AtomicU32,
    /// `_NTO_CHO_CUSTOM_EVENT`'s event; `None`: the owner process is killed.
    pub event: Option<RawEvent>,
    pub rearm_threshold: u32,
    armed: AtomicBool,
}

impl PoolPolicy {
    pub fn new(size: u32, event: Option<RawEvent>, rearm_threshold: u32) -> PoolPolicy {
        PoolPolicy { size, used: AtomicU32::new(0), event, rearm_threshold, armed: AtomicBool::new(true) }
    }
}

/// A SEND-blocked message: slot `slot` of `conn`.
pub struct MsgRef {
    conn: Arc<ServerConn>,
    slot: usize,
}

pub struct ChannelState {
    messages: PrioQueue<MsgRef>,
    pulses: PrioQueue<Pulse>,
    /// Server connections by their bit in the bell.
    pub conns: Vec<Option<Arc<ServerConn>>>,
    pub destroyed: bool,
    last_scan: Instant,
    /// The current drain pass (see `queue`): the server's own count.
    seq: u64,
    /// Pulses queued per client connection (by serial), for [`PENDING_PULSES`].
    pending: HashMap<u64, u32>,
    /// Connections whose ring holds pulses that found no room, retried at each pass.
    backlog: Vec<Arc<ServerConn>>,
    /// How many items receivers took off the queue, counted for the gateway only (see
    /// `net::track_dequeues`).
    dequeued: u64,
}

/// What a receiver takes off the queue: a message, or a pulse and its priority.
enum Taken {
    Message(Arc<ServerConn>, usize),
    Pulse(Pulse, u8),
}

impl ChannelState {
    pub fn add_conn(&mut self, conn: Arc<ServerConn>) {
        let bit = conn.bit as usize;
        if bit >= self.conns.len() {
            self.conns.resize(bit + 1, None);
        }
        self.conns[bit] = Some(conn);
    }

    /// A free bit in the bell for a new connection.
    pub fn free_bit(&self) -> KResult<u32> {
        let i = self.conns.iter().position(Option::is_none).unwrap_or(self.conns.len());
        if i >= MAX_CHANNEL_CONNS {
            return Err(Errno::EAGAIN);
        }
        Ok(i as u32)
    }

    /// Queues a pulse the kernel generates, behind everything found so far.
    pub fn push_pulse(&mut self, priority: u8, p: Pulse) {
        let rank = self.next_rank(priority);
        self.pulses.push(rank, p);
    }

    /// A rank behind everything queued so far.
    pub fn next_rank(&mut self, priority: u8) -> Rank {
        self.seq += 1;
        Rank { priority, seq: self.seq, ticket: 0 }
    }

    /// Queues a client's pulse, counted against its connection's [`PENDING_PULSES`].
    fn push_client_pulse(&mut self, rank: Rank, p: Pulse) {
        *self.pending.entry(p.from).or_default() += 1;
        self.pulses.push(rank, p);
    }

    /// Room for more pulses from connection `serial`.
    fn pulse_room(&self, serial: u64) -> bool {
        self.pending.get(&serial).copied().unwrap_or(0) < PENDING_PULSES
    }

    /// A pulse left the queue: its connection has room for one more.
    fn pulse_left(&mut self, p: &Pulse) {
        if let Some(n) = self.pending.get_mut(&p.from) {
            *n -= 1;
            if *n == 0 {
                self.pending.remove(&p.from);
            }
        }
    }

    /// Drops the queued pulses `gone` selects.
    pub fn remove_pulses(&mut self, gone: impl FnMut(&Pulse) -> bool) {
        self.pulses.remove_if(gone);
    }

    /// Pops messages whose sender has left until the head is a live one.
    fn clean_messages(&mut self) {
        while let Some((_, m)) = self.messages.peek() {
            let slot = m.conn.region.slot(m.slot);
            let st = slot.state.load(Ordering::Acquire);
            if !m.conn.is_dead() && st == state::SENT {
                return;
            }
            if st == state::ABORTED {
                let _ = slot.state.compare_exchange(
                    state::ABORTED,
                    state::FREE,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                );
            }
            let (_, m) = self.messages.pop().expect("peeked");
            m.conn.slots[m.slot].queued.store(false, Ordering::Relaxed);
        }
    }

    /// Takes the head of the queue: a pulse, or a message now REPLY-blocked on us. With
    /// `pulses_only`, messages stay queued.
    fn take(&mut self, pulses_only: bool) -> Option<Taken> {
        loop {
            self.clean_messages();
            let msg = if pulses_only { None } else { self.messages.peek().map(|(r, _)| r) };
            let pulse = self.pulses.peek().map(|(r, _)| r);
            match (msg, pulse) {
                (None, None) => return None,
                (Some(m), Some(p)) if p > m => return self.pop_pulse(),
                (None, Some(_)) => return self.pop_pulse(),
                _ => {}
            }
            let (_, m) = self.messages.pop().expect("peeked");
            m.conn.slots[m.slot].queued.store(false, Ordering::Relaxed);
            let slot = m.conn.region.slot(m.slot);
            m.conn.taking(m.slot);
            if slot
                .state
                .compare_exchange(state::SENT, state::RECEIVED, Ordering::SeqCst, Ordering::Acquire)
                .is_ok()
            {
                if slot.client_waiting.load(Ordering::SeqCst) == WAITING_RECEIVE {
                    futex::wake(&slot.state, 1);
                }
                return Some(Taken::Message(m.conn, m.slot));
            }
        }
    }

    fn pop_pulse(&mut self) -> Option<Taken> {
        let (rank, p) = self.pulses.pop()?;
        self.pulse_left(&p);
        Some(Taken::Pulse(p, rank.priority))
    }

    fn has_work(&self) -> bool {
        !self.messages.is_empty() || !self.pulses.is_empty()
    }
}

/// `ChannelCreate`; with `pool`, `ChannelCreatePulsePool`.
pub fn create(flags: u32, pool: Option<PoolPolicy>) -> KResult<i32> {
    let p = current();
    let (server_part, server_fd) = Region::create("neutrino-bell", BELL_SERVER_LEN)?;
    Region::seal_read_only(&server_fd)?;
    let (clients_part, clients_fd) = Region::create("neutrino-bell-rw", BELL_CLIENTS_LEN)?;
    p.service().listen()?;
    let bell = Bell::new(server_part, clients_part);
    bell.server().pool_size.store(pool.as_ref().map_or(0, |p| p.size), Ordering::Relaxed);
    bell.server().cpu.store(u32::MAX, Ordering::Relaxed);
    let mut channels = p.channels.lock();
    // One death channel per process.
    let death = _NTO_CHF_THREAD_DEATH | _NTO_CHF_COID_DISCONNECT;
    if flags & death != 0 && channels.iter().any(|(_, c)| c.flags & death != 0) {
        return Err(Errno::EBUSY);
    }
    let chid = p.ids.lock().take().ok_or(Errno::EAGAIN)?;
    let shown = status::with(|s| s.channel_set(chid as i32, flags)).flatten();
    channels.insert_at(
        chid,
        Arc::new(Channel {
            chid: chid as i32,
            flags,
            bell,
            bell_fds: (server_fd, clients_fd),
            state: Mutex::new(ChannelState {
                messages: PrioQueue::default(),
                pulses: PrioQueue::default(),
                conns: Vec::new(),
                destroyed: false,
                last_scan: Instant::now(),
                seq: 0,
                dequeued: 0,
                pending: HashMap::new(),
                backlog: Vec::new(),
            }),
            pool,
            last_client_cpu: AtomicU32::new(u32::MAX),
            shown,
        }),
    );
    Ok(chid as i32)
}

/// `ChannelDestroy`: fails every blocked client with `ESRCH`, discards queued pulses, wakes
/// every receiver (which then fail with `ESRCH` too) and drops every server connection.
pub fn destroy(chid: i32) -> KResult<()> {
    let p = current();
    let ch = match chid {
        c if c > 0 => p.channels.lock().remove(c as usize),
        _ => None,
    }
    .ok_or(Errno::EINVAL)?;
    p.ids.lock().give_back(chid as usize);
    status::with(|s| s.channel_clear(chid));
    let conns: Vec<Arc<ServerConn>> = {
        let mut st = ch.state.lock();
        st.destroyed = true;
        ch.bell.server().dead.store(1, Ordering::SeqCst);
        st.messages.clear();
        st.pulses.clear();
        st.conns.drain(..).flatten().collect()
    };
    for conn in conns {
        server::end(p, &conn, server::End::ChannelGone);
    }
    ch.wake_all();
    Ok(())
}

impl Channel {
    /// Tells `pidin` how many pulses are queued.
    fn show_pulses(&self, st: &ChannelState) {
        status::with(|s| s.channel_pulses(self.shown, st.pulses.len()));
    }

    /// `_NTO_CHF_FIXED_PRIORITY`: receiving never changes the receiver's priority.
    pub fn fixed_priority(&self) -> bool {
        self.flags & _NTO_CHF_FIXED_PRIORITY != 0
    }

    /// Rouses the receivers: `n` of them.
    fn wake(&self, n: i32) {
        let seq = &self.bell.clients().seq;
        seq.fetch_add(1, Ordering::SeqCst);
        if self.bell.server().sleepers.load(Ordering::SeqCst) != 0 {
            futex::wake(seq, n);
        }
    }

    fn wake_all(&self) {
        let seq = &self.bell.clients().seq;
        seq.fetch_add(1, Ordering::SeqCst);
        futex::wake(seq, i32::MAX);
    }

    /// Queues a pulse generated in this process (by the kernel or a local sender), behind
    /// what clients have posted so far.
    pub fn enqueue_pulse(&self, priority: u8, p: Pulse) -> KResult<()> {
        {
            let mut st = self.state.lock();
            if st.destroyed {
                return Err(Errno::EBADF);
            }
            self.drain(&mut st);
            st.push_pulse(priority, p);
            self.show_pulses(&st);
        }
        self.wake(1);
        Ok(())
    }

    /// Admits an application pulse: takes an entry of the channel's pulse pool (the pulse
    /// is then `pooled`); `EAGAIN` when the pool is exhausted, and the caller applies the
    /// pool's policy once it holds no lock (the event may be a pulse to this channel).
    /// Decided on the server's own count only.
    fn admit_pulse(&self) -> KResult<bool> {
        let Some(pool) = &self.pool else { return Ok(false) };
        pool.used
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |u| (u < pool.size).then_some(u + 1))
            .map(|_| true)
            .map_err(|_| Errno::EAGAIN)
    }

    /// The pulse pool ran out: by default the process that owns the channel is killed; with
    /// a custom event, the event is delivered, once until the pool is re-armed.
    pub fn pool_exhausted(&self) {
        let Some(pool) = &self.pool else { return };
        match pool.event {
            // SAFETY: plain syscalls.
            None => unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            },
            Some(ev) if pool.armed.swap(false, Ordering::AcqRel) => {
                // SAFETY: plain syscalls.
                let me = Sender { pid: unsafe { libc::getpid() }, uid: unsafe { libc::getuid() } };
                let _ = event::deliver_here(&ev, None, me);
            }
            Some(_) => {}
        }
    }

    /// A pulse left the queue: its pool entry is free again, which may re-arm the event.
    fn pulse_taken(&self, p: &Pulse) {
        if p.pooled {
            self.give_pool_entry();
        }
    }

    fn give_pool_entry(&self) {
        let Some(pool) = &self.pool else { return };
        let before =
            pool.used.fetch_update(Ordering::AcqRel, Ordering::Relaxed, |u| u.checked_sub(1)).unwrap_or(0);
        if pool.size.saturating_sub(before.saturating_sub(1)) > pool.rearm_threshold {
            pool.armed.store(true, Ordering::Release);
        }
    }

    /// Queues a pulse that a client sent over its link (its ring was full, or the channel
    /// has a pool): after what the connections have posted, which is older. The client waits
    /// for the answer, so `MsgSendPulse` returns 0 only for a pulse queued, and `EAGAIN`
    /// when the connection has [`PENDING_PULSES`] queued or the pool is exhausted.
    pub fn enqueue_overflow_pulse(
        &self,
        conn: &Arc<ServerConn>,
        priority: u8,
        code: i8,
        value: u64,
        ticket: u64,
    ) -> KResult<()> {
        self.overflow_pulse(self.state.lock(), conn, priority, code, value, ticket)
    }

    /// `enqueue_overflow_pulse` for a connection of this process, whose sender may be a
    /// signal handler: `EAGAIN` also when another thread (or the one the handler
    /// interrupted) holds the queue.
    pub fn try_enqueue_overflow_pulse(
        &self,
        conn: &Arc<ServerConn>,
        priority: u8,
        code: i8,
        value: u64,
        ticket: u64,
    ) -> KResult<()> {
        let st = spin::try_lock_briefly(&self.state).ok_or(Errno::EAGAIN)?;
        self.overflow_pulse(st, conn, priority, code, value, ticket)
    }

    fn overflow_pulse(
        &self,
        mut st: MutexGuard<'_, ChannelState>,
        conn: &Arc<ServerConn>,
        priority: u8,
        code: i8,
        value: u64,
        ticket: u64,
    ) -> KResult<()> {
        if st.destroyed {
            return Err(Errno::EBADF);
        }
        self.drain(&mut st);
        // Pulses left in the ring are older: this one waits behind them, so it fails.
        if conn.backlogged() || !st.pulse_room(conn.serial) {
            return Err(Errno::EAGAIN);
        }
        let Ok(pooled) = self.admit_pulse() else {
            drop(st);
            self.pool_exhausted();
            return Err(Errno::EAGAIN);
        };
        let rank = Rank { priority: conn.honoured_priority(priority as u32), seq: st.seq, ticket };
        st.push_client_pulse(rank, Pulse { code, value, scoid: conn.scoid, pooled, from: conn.serial });
        drop(st);
        self.wake(1);
        Ok(())
    }

    /// Moves what the connections the bell names have posted into the queues: one pass.
    pub fn drain(&self, st: &mut ChannelState) {
        st.seq += 1;
        for conn in std::mem::take(&mut st.backlog) {
            conn.backlog.store(false, Ordering::Relaxed);
            self.drain_pulses(st, &conn);
        }
        let one = |st: &mut ChannelState, bit: usize| {
            if let Some(Some(conn)) = st.conns.get(bit).cloned() {
                self.drain_conn(st, &conn);
            }
        };
        if st.last_scan.elapsed() >= RESCAN {
            st.last_scan = Instant::now();
            for bit in 0..st.conns.len() {
                one(st, bit);
            }
        }
        // Only the words that can name a connection: bits past the table name nobody.
        self.bell.drain(st.conns.len(), |bit| one(st, bit as usize));
    }

    /// Moves what one connection has posted into the queues.
    pub fn drain_conn(&self, st: &mut ChannelState, conn: &Arc<ServerConn>) {
        let posted = conn.region.layout().header.posted.swap(0, Ordering::SeqCst);
        if posted & PULSES_POSTED != 0 {
            self.drain_pulses(st, conn);
        }
        for s in (0..SLOTS).filter(|s| posted & (1u64 << s) != 0) {
            let slot = conn.region.slot(s);
            let queued = &conn.slots[s].queued;
            if queued.load(Ordering::Relaxed) {
                continue;
            }
            match slot.state.load(Ordering::Acquire) {
                state::SENT => {
                    queued.store(true, Ordering::Relaxed);
                    let rank = Rank {
                        priority: conn.honoured_priority(slot.priority.load(Ordering::Relaxed)),
                        seq: st.seq,
                        ticket: slot.ticket.load(Ordering::Relaxed),
                    };
                    st.messages.push(rank, MsgRef { conn: conn.clone(), slot: s });
                }
                state::ABORTED => {
                    let _ = slot.state.compare_exchange(
                        state::ABORTED,
                        state::FREE,
                        Ordering::AcqRel,
                        Ordering::Relaxed,
                    );
                }
                state::RECEIVED => conn.note_unblock_request(st, s),
                _ => {}
            }
        }
    }

    /// Takes the pulses in a connection's ring, as many as it has room for (in the pool and
    /// under [`PENDING_PULSES`]); the others stay in the ring, and the connection is retried
    /// at each pass.
    fn drain_pulses(&self, st: &mut ChannelState, conn: &Arc<ServerConn>) {
        if conn.backlogged() {
            return; // already waiting for room; retried at the next pass
        }
        let seq = st.seq;
        let left = pulse::drain_ring(conn, |rp| {
            if !st.pulse_room(conn.serial) {
                return false;
            }
            let Ok(pooled) = self.admit_pulse() else { return false };
            let rank = Rank { priority: conn.honoured_priority(rp.priority as u32), seq, ticket: rp.ticket };
            let p = Pulse { code: rp.code, value: rp.value, scoid: conn.scoid, pooled, from: conn.serial };
            st.push_client_pulse(rank, p);
            true
        });
        if left && !conn.backlog.swap(true, Ordering::Relaxed) {
            st.backlog.push(conn.clone());
        }
    }

    /// `MsgReceive*` (or, with `pulses_only`, `MsgReceivePulse*`): the next message as an
    /// rcvid with its data copied into `segs`, or 0 for a pulse written there.
    pub fn receive(
        &self,
        p: &Process,
        segs: &[Seg],
        mut info: Option<&mut _msg_info>,
        pulses_only: bool,
    ) -> KResult<i64> {
        let mut timeout = thread::take_timeout();
        if super::net::tracking_dequeues() {
            super::net::dequeued_clear();
        }
        let recv_len = copy::total(segs)?;
        let _shown = status::receiving(self.chid);
        let seq = &self.bell.clients().seq;
        let waker = thread::waker();
        // Watched once the queue was found empty: from then on the caller is about to be
        // RECEIVE-blocked, and a signal must interrupt it (signals are held before it
        // sleeps; a handler that ran before counts).
        let mut hold: Option<SignalHold> = None;
        loop {
            let observed = seq.load(Ordering::SeqCst);
            let (taken, more, rescan_in) = {
                let mut st = self.state.lock();
                if st.destroyed {
                    return Err(Errno::ESRCH);
                }
                self.drain(&mut st);
                let taken = st.take(pulses_only);
                if taken.is_some() && super::net::tracking_dequeues() {
                    st.dequeued += 1;
                    super::net::dequeued(st.dequeued);
                }
                self.show_pulses(&st);
                if let Some(Taken::Pulse(pl, _)) = &taken {
                    self.pulse_taken(pl);
                }
                // A pulse-only receiver leaves messages to the others; more work, to anyone.
                let more = if taken.is_none() { pulses_only && st.has_work() } else { st.has_work() };
                // A sleeper wakes when the next rescan is due, not a whole period later.
                let rescan_in = RESCAN.saturating_sub(st.last_scan.elapsed()).max(Duration::from_millis(1));
                (taken, more, rescan_in)
            };
            if more && pulses_only && taken.is_none() {
                // Only messages, which this receiver leaves: rouse the others, without
                // marking anything new (which would rouse this one again at once).
                if self.bell.server().sleepers.load(Ordering::SeqCst) != 0 {
                    futex::wake(seq, i32::MAX);
                }
            } else if more {
                self.wake(1);
            }
            match taken {
                Some(Taken::Pulse(pl, prio)) => {
                    inherit::received(&self.bell, self.fixed_priority(), inherit::by_pulse(prio));
                    return pulse::deliver(&pl, segs).map(|_| 0);
                }
                Some(Taken::Message(conn, s)) => {
                    match self.deliver(p, &conn, s, segs, recv_len, info.as_deref_mut()) {
                        Ok(rcvid) => return Ok(rcvid),
                        Err(e) if e == Errno::EFAULT => return Err(e),
                        Err(_) => continue, // the client faulted or died: take the next one
                    }
                }
                None => match hold.take() {
                    None => {
                        inherit::idle();
                        hold = Some(SignalHold::watching())
                    }
                    Some(_) if waker.take_unblock() || Timeout::expired(&mut timeout, Blocked::Receive) => {
                        return Err(Errno::ETIMEDOUT)
                    }
                    Some(h) => {
                        let nap = Timeout::sleep(&timeout, Blocked::Receive, rescan_in);
                        self.wait(observed, h, nap, &waker)?
                    }
                },
            }
        }
    }

    /// Waits until something may have been posted since `observed`.
    fn wait(&self, observed: u32, mut hold: SignalHold, nap: Duration, waker: &Waker) -> KResult<()> {
        let seq = &self.bell.clients().seq;
        let client_cpu = self.last_client_cpu.load(Ordering::Relaxed);
        if spin::until_by(spin::deadline_for(client_cpu), || seq.load(Ordering::Relaxed) != observed) {
            // Something came: a signal that arrived meanwhile is handled after the call.
            return Ok(());
        }
        // A pulse timer of this process due on this channel: the receiver wakes itself at
        // its expiry rather than wait for the timer thread to wake it.
        let mut watch = timer::watch(self.chid);
        let nap = watch.as_ref().map_or(nap, |w| nap.min(w.due_in()));
        if hold.release() {
            return Err(Errno::EINTR);
        }
        let sleepers = &self.bell.server().sleepers;
        sleepers.fetch_add(1, Ordering::SeqCst);
        waker.sleeping_on(Some(seq));
        let r = if seq.load(Ordering::SeqCst) == observed && !waker.unblock_pending() {
            futex::wait_cancellable(seq, observed, nap, &mut || {
                waker.sleeping_on(None);
                sleepers.fetch_sub(1, Ordering::SeqCst);
                if let Some(w) = watch.as_mut() {
                    w.end();
                    w.release();
                }
            })
        } else {
            Ok(())
        };
        waker.sleeping_on(None);
        sleepers.fetch_sub(1, Ordering::SeqCst);
        if let Some(w) = watch {
            w.done();
        }
        // A handler that ran between the release and the sleep interrupted nothing.
        if r.is_ok() && hold.ran() {
            return Err(Errno::EINTR);
        }
        r
    }

    /// Copies a just-received message into the server's buffers and fills `info`.
    fn deliver(
        &self,
        p: &Process,
        conn: &Arc<ServerConn>,
        s: usize,
        segs: &[Seg],
        recv_len: usize,
        info: Option<&mut _msg_info>,
    ) -> KResult<i64> {
        let rcv = conn.take(s);
        inherit::received(&self.bell, self.fixed_priority(), inherit::by_message(rcv.policy, rcv.priority));
        self.last_client_cpu.store(conn.region.slot(s).cpu.load(Ordering::Relaxed), Ordering::Relaxed);
        self.bell.server().cpu.store(spin::cpu(), Ordering::Relaxed);
        self.bell
            .server()
            .served
            .store(conn.region.slot(s).ticket.load(Ordering::Relaxed), Ordering::Relaxed);
        let copied = if rcv.send_len <= INLINE as u64 {
            conn.recheck_image().map(|_| {
                let n = recv_len.min(rcv.send_len as usize);
                // SAFETY: the inline buffer holds INLINE bytes; `segs` were checked by the
                // caller to be this process's buffers.
                unsafe { copy::scatter(conn.region.send_data(s), n, segs, 0) };
                n
            })
        } else {
            conn.begin_copy(s, rcv.gen).and_then(|held| {
                let res = conn.transfer(&held, &rcv, 0, segs, Dir::Read);
                held.finish(state::RECEIVED, 0);
                res
            })
        };
        let n = match copied {
            Ok(n) => n,
            Err(e) => {
                if copy::writable(p.pid, segs).is_err() {
                    // Our buffer is bad: the client goes back to the queue untouched.
                    conn.requeue(s);
                    self.bell.ring(conn.bit);
                    return Err(Errno::EFAULT);
                }
                conn.fail_held(s, rcv.gen, if e == Errno::EFAULT { Errno::EFAULT } else { Errno::ESRCH });
                return Err(Errno::ESRCH);
            }
        };
        conn.set_msglen(s, n);
        if let Some(info) = info {
            conn.fill_info(s, &Received { msglen: n as u64, ..rcv }, self.chid, info);
        }
        Ok(server::rcvid(conn, s, rcv.gen))
    }
}
