//! Channels: the queue of SEND-blocked messages in priority order, and receiving from it.

use super::abi::_msg_info;
use super::errno::{Errno, KResult};
use super::process::{current, Process};
use super::server::{self, Received, ServerConn};
use crate::transport::copy::{self, Dir, Seg};
use crate::transport::futex;
use crate::transport::region::{state, Bell, INLINE, MAX_CHANNEL_CONNS, SLOTS};
use crate::transport::shm::Region;
use crate::transport::spin;
use parking_lot::Mutex;
use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::os::fd::OwnedFd;
use std::sync::atomic::Ordering;
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
}

pub struct ChannelState {
    queue: BinaryHeap<Entry>,
    /// Server connections by their bit in the bell.
    pub conns: Vec<Option<Arc<ServerConn>>>,
    pub destroyed: bool,
    last_scan: Instant,
}

/// A SEND-blocked message in the queue.
struct Entry {
    priority: u8,
    ticket: u64,
    conn: Arc<ServerConn>,
    slot: usize,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == CmpOrdering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    /// Highest priority first, then oldest ticket (the heap pops the greatest).
    fn cmp(&self, o: &Self) -> CmpOrdering {
        self.priority
            .cmp(&o.priority)
            .then(o.ticket.cmp(&self.ticket))
    }
}

impl ChannelState {
    /// Takes a free bit in the bell for a new connection.
    pub fn add_conn(&mut self, conn: Arc<ServerConn>) -> KResult<()> {
        let bit = conn.bit as usize;
        if bit >= self.conns.len() {
            self.conns.resize(bit + 1, None);
        }
        self.conns[bit] = Some(conn);
        Ok(())
    }

    pub fn free_bit(&self) -> KResult<u32> {
        let i = self
            .conns
            .iter()
            .position(Option::is_none)
            .unwrap_or(self.conns.len());
        if i >= MAX_CHANNEL_CONNS {
            return Err(Errno::EAGAIN);
        }
        Ok(i as u32)
    }
}

/// `ChannelCreate`.
pub fn create(flags: u32) -> KResult<i32> {
    let p = current();
    let (server_part, server_fd) =
        Region::create("neutrino-bell", crate::transport::region::BELL_SERVER_LEN)?;
    Region::seal_read_only(&server_fd)?;
    let (clients_part, clients_fd) = Region::create(
        "neutrino-bell-rw",
        crate::transport::region::BELL_CLIENTS_LEN,
    )?;
    p.service().listen()?;
    let bell = Bell::new(server_part, clients_part);
    let chid = p.channels.lock().insert_with(i32::MAX as usize, |chid| {
        Arc::new(Channel {
            chid: chid as i32,
            flags,
            bell,
            bell_fds: (server_fd, clients_fd),
            state: Mutex::new(ChannelState {
                queue: BinaryHeap::new(),
                conns: Vec::new(),
                destroyed: false,
                last_scan: Instant::now(),
            }),
        })
    });
    Ok(chid.ok_or(Errno::EAGAIN)? as i32)
}

/// `ChannelDestroy`: fails every blocked client with `ESRCH`, wakes every receiver (which
/// then fail with `ESRCH` too) and drops every server connection.
pub fn destroy(chid: i32) -> KResult<()> {
    let p = current();
    let ch = match chid {
        c if c > 0 => p.channels.lock().remove(c as usize),
        _ => None,
    }
    .ok_or(Errno::EINVAL)?;
    let conns: Vec<Arc<ServerConn>> = {
        let mut st = ch.state.lock();
        st.destroyed = true;
        ch.bell.server().dead.store(1, Ordering::SeqCst);
        st.queue.clear();
        st.conns.drain(..).flatten().collect()
    };
    for conn in conns {
        server::forget(p, &conn, Errno::ESRCH);
    }
    let seq = &ch.bell.clients().seq;
    seq.fetch_add(1, Ordering::SeqCst);
    futex::wake(seq, i32::MAX);
    Ok(())
}

impl Channel {
    /// Moves newly posted messages of the connections the bell names into the queue.
    fn drain(&self, st: &mut ChannelState) {
        let full = st.last_scan.elapsed() >= RESCAN;
        let mut bits = Vec::new();
        if full {
            st.last_scan = Instant::now();
            bits.extend(0..st.conns.len() as u32);
        }
        self.bell.drain(|bit| bits.push(bit));
        for bit in bits {
            let Some(Some(conn)) = st.conns.get(bit as usize).cloned() else {
                continue;
            };
            let posted = conn.region.layout().header.posted.swap(0, Ordering::SeqCst);
            for s in (0..SLOTS).filter(|s| posted & (1 << s) != 0) {
                let slot = conn.region.slot(s);
                let queued = &conn.slots[s].queued;
                if queued.load(Ordering::Relaxed) {
                    continue;
                }
                match slot.state.load(Ordering::Acquire) {
                    state::SENT => {
                        queued.store(true, Ordering::Relaxed);
                        st.queue.push(Entry {
                            priority: slot.priority.load(Ordering::Relaxed).min(255) as u8,
                            ticket: slot.ticket.load(Ordering::Relaxed),
                            conn: conn.clone(),
                            slot: s,
                        });
                    }
                    state::ABORTED => {
                        let _ = slot.state.compare_exchange(
                            state::ABORTED,
                            state::FREE,
                            Ordering::AcqRel,
                            Ordering::Relaxed,
                        );
                    }
                    _ => {}
                }
            }
        }
    }

    /// Takes the head of the queue: a message now REPLY-blocked on us.
    fn pop(&self, st: &mut ChannelState) -> Option<(Arc<ServerConn>, usize)> {
        while let Some(e) = st.queue.pop() {
            e.conn.slots[e.slot].queued.store(false, Ordering::Relaxed);
            if e.conn.is_dead() {
                continue;
            }
            let slot = e.conn.region.slot(e.slot);
            match slot.state.compare_exchange(
                state::SENT,
                state::RECEIVED,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some((e.conn, e.slot)),
                Err(state::ABORTED) => {
                    let _ = slot.state.compare_exchange(
                        state::ABORTED,
                        state::FREE,
                        Ordering::AcqRel,
                        Ordering::Relaxed,
                    );
                }
                Err(_) => {}
            }
        }
        None
    }

    /// `MsgReceive*`: the next message, as an rcvid, with its data copied into `segs`.
    pub fn receive(
        &self,
        p: &Process,
        segs: &[Seg],
        mut info: Option<&mut _msg_info>,
    ) -> KResult<i64> {
        let recv_len = copy::total(segs)?;
        let seq = &self.bell.clients().seq;
        loop {
            let observed = seq.load(Ordering::SeqCst);
            let popped = {
                let mut st = self.state.lock();
                if st.destroyed {
                    return Err(Errno::ESRCH);
                }
                self.drain(&mut st);
                let got = self.pop(&mut st);
                if got.is_some()
                    && !st.queue.is_empty()
                    && self.bell.server().sleepers.load(Ordering::SeqCst) != 0
                {
                    futex::wake(seq, 1); // more work: another receiver may take it
                }
                got
            };
            if let Some((conn, s)) = popped {
                match self.deliver(p, &conn, s, segs, recv_len, info.as_deref_mut()) {
                    Ok(rcvid) => return Ok(rcvid),
                    Err(e) if e == Errno::EFAULT => return Err(e),
                    Err(_) => continue, // the client faulted or died: take the next one
                }
            }
            self.wait(observed)?;
        }
    }

    /// Waits until something may have been posted since `observed`.
    fn wait(&self, observed: u32) -> KResult<()> {
        let seq = &self.bell.clients().seq;
        if spin::until(|| seq.load(Ordering::Relaxed) != observed) {
            return Ok(());
        }
        let sleepers = &self.bell.server().sleepers;
        sleepers.fetch_add(1, Ordering::SeqCst);
        let r = if seq.load(Ordering::SeqCst) == observed {
            futex::wait(seq, observed, Some(RESCAN))
        } else {
            Ok(())
        };
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
                let own = copy::vm_copy(p.pid, segs, segs, 0, Dir::Read).is_err();
                if own {
                    // Our buffer is bad: the client goes back to the queue untouched.
                    conn.requeue(s);
                    self.bell.ring(conn.bit);
                    return Err(Errno::EFAULT);
                }
                conn.fail_held(
                    s,
                    if e == Errno::EFAULT {
                        Errno::EFAULT
                    } else {
                        Errno::ESRCH
                    },
                );
                return Err(Errno::ESRCH);
            }
        };
        conn.set_msglen(s, n);
        if let Some(info) = info {
            conn.fill_info(
                &Received {
                    msglen: n as u64,
                    ..rcv
                },
                self.chid,
                info,
            );
        }
        Ok(server::rcvid(conn, s, rcv.gen))
    }
}
