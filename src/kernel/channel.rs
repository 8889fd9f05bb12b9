//! Channels: the queue of SEND-blocked messages and pending pulses in priority order, and
//! receiving from it.

use super::abi::{_msg_info, _NTO_CHF_COID_DISCONNECT, _NTO_CHF_THREAD_DEATH};
use super::errno::{Errno, KResult};
use super::event::{self, RawEvent, Sender};
use super::process::{current, Process};
use super::pulse::{self, Pulse};
use super::queue::{PrioQueue, Rank};
use super::server::{self, Received, ServerConn};
use super::thread::{self, Blocked, Timeout, Waker};
use crate::transport::copy::{self, Seg};
use crate::transport::futex;
use crate::transport::region::{
    state, Bell, BELL_CLIENTS_LEN, BELL_SERVER_LEN, INLINE, MAX_CHANNEL_CONNS, PULSES_POSTED, SLOTS,
    WAITING_RECEIVE,
};
use crate::transport::shm::Region;
use crate::transport::spin::{self, SignalHold};
use parking_lot::Mutex;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a receiver sleeps before it looks at every connection again, whatever the bell
/// said: a hostile client can clear other clients' bits in the shared bell, which may delay
/// their messages by this much but never strands them.
const RESCAN: Duration = Duration::from_millis(100);

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
}

/// `ChannelCreatePulsePool`: the pool's size lives in the bell (senders take entries); what
/// its exhaustion does lives here.
pub struct PoolPolicy {
    /// `_NTO_CHO_CUSTOM_EVENT`'s event; `None`: the owner process is killed.
    pub event: Option<RawEvent>,
    pub rearm_threshold: u32,
    armed: AtomicBool,
}

impl PoolPolicy {
    pub fn new(event: Option<RawEvent>, rearm_threshold: u32) -> PoolPolicy {
        PoolPolicy { event, rearm_threshold, armed: AtomicBool::new(true) }
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
}

/// What a receiver takes off the queue.
enum Taken {
    Message(Arc<ServerConn>, usize),
    Pulse(Pulse),
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

    pub fn push_pulse(&mut self, rank: Rank, p: Pulse) {
        self.pulses.push(rank, p);
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
                (Some(m), Some(p)) if p > m => return self.pulses.pop().map(|(_, p)| Taken::Pulse(p)),
                (None, Some(_)) => return self.pulses.pop().map(|(_, p)| Taken::Pulse(p)),
                _ => {}
            }
            let (_, m) = self.messages.pop().expect("peeked");
            m.conn.slots[m.slot].queued.store(false, Ordering::Relaxed);
            let slot = m.conn.region.slot(m.slot);
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

    fn has_work(&self) -> bool {
        !self.messages.is_empty() || !self.pulses.is_empty()
    }
}

/// `ChannelCreate`; with `pool` (its size and policy), `ChannelCreatePulsePool`.
pub fn create(flags: u32, pool: Option<(u32, PoolPolicy)>) -> KResult<i32> {
    let p = current();
    let (server_part, server_fd) = Region::create("neutrino-bell", BELL_SERVER_LEN)?;
    Region::seal_read_only(&server_fd)?;
    let (clients_part, clients_fd) = Region::create("neutrino-bell-rw", BELL_CLIENTS_LEN)?;
    p.service().listen()?;
    let bell = Bell::new(server_part, clients_part);
    let (pool_size, pool) = pool.map_or((0, None), |(n, policy)| (n, Some(policy)));
    bell.server().pool_size.store(pool_size, Ordering::Relaxed);
    bell.server().cpu.store(u32::MAX, Ordering::Relaxed);
    let mut channels = p.channels.lock();
    // One death channel per process.
    let death = _NTO_CHF_THREAD_DEATH | _NTO_CHF_COID_DISCONNECT;
    if flags & death != 0 && channels.iter().any(|(_, c)| c.flags & death != 0) {
        return Err(Errno::EBUSY);
    }
    let chid = p.ids.lock().take().ok_or(Errno::EAGAIN)?;
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
            }),
            pool,
            last_client_cpu: AtomicU32::new(u32::MAX),
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

    /// Queues a pulse generated in this process (by the kernel or a local sender).
    pub fn enqueue_pulse(&self, priority: u8, p: Pulse) -> KResult<()> {
        {
            let mut st = self.state.lock();
            if st.destroyed {
                return Err(Errno::EBADF);
            }
            let ticket = self.bell.clients().tickets.fetch_add(1, Ordering::Relaxed);
            st.push_pulse(Rank { priority, ticket }, p);
        }
        self.wake(1);
        Ok(())
    }

    /// Admits an application pulse: takes an entry of the channel's pulse pool (the pulse
    /// is then `pooled`), or applies the pool's exhaustion policy and fails with `EAGAIN`.
    pub fn admit_pulse(&self) -> KResult<bool> {
        if self.pool.is_none() {
            return Ok(false);
        }
        if self.bell.take_pool_entry() {
            return Ok(true);
        }
        self.pool_exhausted();
        Err(Errno::EAGAIN)
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
        if let Some(pool) = self.pool.as_ref().filter(|_| p.pooled) {
            if self.bell.give_pool_entry() > pool.rearm_threshold {
                pool.armed.store(true, Ordering::Release);
            }
        }
    }

    /// Queues a pulse that a client sent over its link because its ring was full: after
    /// the ring's pulses, which are older. The client waits for this, so a pulse is queued
    /// when `MsgSendPulse` returns, whichever way it went.
    pub fn enqueue_overflow_pulse(&self, conn: &Arc<ServerConn>, rank: Rank, code: i8, value: u64) {
        {
            let mut st = self.state.lock();
            if st.destroyed {
                return;
            }
            self.drain_conn(&mut st, conn);
            st.push_pulse(rank, Pulse { code, value, scoid: conn.scoid, pooled: self.pool.is_some() });
        }
        self.wake(1);
    }

    /// A pulse of this process's connection `scoid` whose ring was full: queued after
    /// what the rings hold, or `EAGAIN` when another thread (or the one a signal handler
    /// interrupted) holds the queue.
    pub fn try_enqueue_overflow(&self, scoid: i32, rank: Rank, code: i8, value: u64) -> KResult<()> {
        {
            let mut st = crate::transport::spin::try_lock_briefly(&self.state).ok_or(Errno::EAGAIN)?;
            if st.destroyed {
                return Err(Errno::EBADF);
            }
            self.drain(&mut st);
            st.push_pulse(rank, Pulse { code, value, scoid, pooled: self.pool.is_some() });
        }
        self.wake(1);
        Ok(())
    }

    /// Moves what the connections the bell names have posted into the queues.
    pub fn drain(&self, st: &mut ChannelState) {
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
            pulse::drain_ring(conn, self.pool.is_some(), |rank, p| st.push_pulse(rank, p));
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
                        priority: slot.priority.load(Ordering::Relaxed).min(255) as u8,
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
                state::RECEIVED => conn.note_unblock_request(self, st, s),
                _ => {}
            }
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
        let recv_len = copy::total(segs)?;
        let seq = &self.bell.clients().seq;
        let waker = thread::waker();
        // Held once the queue was found empty: from then on the caller is about to be
        // RECEIVE-blocked, and a signal must interrupt it. The queue is looked at again with
        // signals held before sleeping.
        let mut hold: Option<SignalHold> = None;
        loop {
            let observed = seq.load(Ordering::SeqCst);
            let (taken, more) = {
                let mut st = self.state.lock();
                if st.destroyed {
                    return Err(Errno::ESRCH);
                }
                self.drain(&mut st);
                let taken = st.take(pulses_only);
                // A pulse-only receiver leaves messages to the others; more work, to anyone.
                let more = if taken.is_none() { pulses_only && st.has_work() } else { st.has_work() };
                (taken, more)
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
                Some(Taken::Pulse(pl)) => {
                    self.pulse_taken(&pl);
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
                    None => hold = Some(SignalHold::new()),
                    Some(_) if waker.take_unblock() || Timeout::expired(&mut timeout, Blocked::Receive) => {
                        return Err(Errno::ETIMEDOUT)
                    }
                    Some(h) => {
                        let nap = Timeout::sleep(&timeout, Blocked::Receive, RESCAN);
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
            })
        } else {
            Ok(())
        };
        waker.sleeping_on(None);
        sleepers.fetch_sub(1, Ordering::SeqCst);
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
        self.last_client_cpu.store(conn.region.slot(s).cpu.load(Ordering::Relaxed), Ordering::Relaxed);
        self.bell.server().cpu.store(spin::cpu(), Ordering::Relaxed);
        self.bell
            .server()
            .served
            .store(conn.region.slot(s).ticket.load(Ordering::Relaxed), Ordering::Relaxed);
        let copied = if rcv.send_len <= INLINE as u64 {
            let n = recv_len.min(rcv.send_len as usize);
            // SAFETY: the inline buffer holds INLINE bytes; `segs` were checked by the caller
            // to be this process's buffers.
            unsafe { copy::scatter(conn.region.send_data(s), n, segs, 0) };
            Ok(n)
        } else {
            conn.read_client(s, &rcv, 0, segs)
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
                conn.fail_held(s, if e == Errno::EFAULT { Errno::EFAULT } else { Errno::ESRCH });
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
