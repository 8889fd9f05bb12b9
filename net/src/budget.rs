//! What the nodes may have this gateway do for them at once. Each remote call holds one of
//! our threads until its server answers, with its message and a reply buffer as large as
//! the client asked for, and another node's gateway decides how many calls it sends and
//! how large: so each node gets a share. Past its share a node's calls wait their turn, as
//! they would for a busy server, and past a bound on waiting they fail with `EAGAIN`;
//! whatever one node does, the others' calls, and every node's unblocks and news of
//! connections, still get threads. What keeps its order with a connection's calls (its
//! pulses, its detach, events) counts as calls do; attaches and name look-ups have places
//! of their own.
//!
//! Shares are by node name, which a node gives itself: one that takes a new name for each
//! call gets a share for each, up to the bounds on all nodes together. Keeping unknown
//! nodes out is Zenoh's access control's job (`-C`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Calls of one node in progress at once.
const CALLS_PER_NODE: usize = 256;
/// KiB of messages and reply buffers one node's calls in progress hold. A call larger than
/// that still runs, alone.
const KIB_PER_NODE: usize = 256 << 10;
/// Calls of all nodes in progress at once: with [`SPARE_THREADS`], the runtime's blocking
/// threads.
pub const CALLS: usize = 2048;
/// KiB their messages and reply buffers hold, all nodes together.
const KIB: usize = 1 << 20;
/// Threads left for requests that do not wait for a server.
pub const SPARE_THREADS: usize = 256;
/// Requests of all nodes that may wait, but not for a server (an attach waits for its
/// server's process), in progress at once: they leave room in [`SPARE_THREADS`] for the
/// others (unblocks, news of connections).
const REQUESTS: usize = 192;
/// Such requests waiting for a place; past that, `EAGAIN`.
const REQUESTS_WAITING: usize = 4096;
/// Calls waiting for their node's share, and the KiB of their messages: of one node, and
/// of all nodes. A node's first waiting call is let wait whatever its size.
const WAITING_PER_NODE: Waiting = Waiting { calls: 1024, kib: 256 << 10 };
const WAITING: Waiting = Waiting { calls: 8192, kib: 1 << 20 };

const NEVER_CLOSED: &str = "a budget's semaphores are never closed";

#[derive(Clone, Copy, Default)]
struct Waiting {
    calls: usize,
    kib: usize,
}

impl Waiting {
    fn fits(&self, more: usize, bound: Waiting) -> bool {
        self.calls == 0 || (self.calls < bound.calls && self.kib + more <= bound.kib)
    }
    fn add(&mut self, kib: usize) {
        self.calls += 1;
        self.kib += kib;
    }
    fn sub(&mut self, kib: usize) {
        self.calls -= 1;
        self.kib -= kib;
    }
}

struct Share {
    calls: Arc<Semaphore>,
    kib: Arc<Semaphore>,
    waiting: Waiting,
    /// Its calls waiting or in progress: the share goes with the last.
    users: usize,
}

#[derive(Default)]
struct Shares {
    by_node: HashMap<String, Share>,
    waiting: Waiting,
}

pub struct Budget {
    shares: Mutex<Shares>,
    calls: Arc<Semaphore>,
    kib: Arc<Semaphore>,
    requests: Arc<Semaphore>,
    requests_waiting: std::sync::atomic::AtomicUsize,
}

/// A call's place: held while it is in progress.
pub struct Admitted {
    budget: Arc<Budget>,
    node: String,
    _permits: [OwnedSemaphorePermit; 4],
}

impl Budget {
    pub fn new() -> Arc<Budget> {
        Arc::new(Budget {
            shares: Mutex::new(Shares::default()),
            calls: Arc::new(Semaphore::new(CALLS)),
            kib: Arc::new(Semaphore::new(KIB)),
            requests: Arc::new(Semaphore::new(REQUESTS)),
            requests_waiting: Default::default(),
        })
    }

    /// A place for a request that may wait, but not for a server, if one is free now.
    pub fn request_now(&self) -> Option<OwnedSemaphorePermit> {
        self.requests.clone().try_acquire_owned().ok()
    }

    /// Such a place once one is free; `EAGAIN` when too many wait already.
    pub async fn request(&self) -> Result<OwnedSemaphorePermit, i32> {
        use std::sync::atomic::Ordering::Relaxed;
        if self.requests_waiting.fetch_add(1, Relaxed) >= REQUESTS_WAITING {
            self.requests_waiting.fetch_sub(1, Relaxed);
            return Err(libc::EAGAIN);
        }
        let place = self.requests.clone().acquire_owned().await.expect(NEVER_CLOSED);
        self.requests_waiting.fetch_sub(1, Relaxed);
        Ok(place)
    }

    /// A call of node `node` with a message of `msg` bytes joins its node's share, waiting
    /// for a place; `EAGAIN` when too much waits already, if it is `refusable`. Taken as it
    /// arrives, before it waits for anything (its turn on its line included).
    pub fn queue(self: &Arc<Self>, node: &str, msg: usize, refusable: bool) -> Result<Queued, i32> {
        let held = msg.div_ceil(1024);
        let mut shares = self.shares.lock().unwrap();
        let all = shares.waiting;
        let share = shares.by_node.entry(node.to_owned()).or_insert_with(|| Share {
            calls: Arc::new(Semaphore::new(CALLS_PER_NODE)),
            kib: Arc::new(Semaphore::new(KIB_PER_NODE)),
            waiting: Waiting::default(),
            users: 0,
        });
        if refusable && (!share.waiting.fits(held, WAITING_PER_NODE) || !all.fits(held, WAITING)) {
            if share.users == 0 {
                shares.by_node.remove(node);
            }
            return Err(libc::EAGAIN);
        }
        share.waiting.add(held);
        share.users += 1;
        let (calls, kib) = (share.calls.clone(), share.kib.clone());
        shares.waiting.add(held);
        Ok(Queued { budget: self.clone(), node: node.to_owned(), held, msg, calls, kib, admitted: false })
    }

    /// One call of node `node` is done with its share (`waited`: it was still waiting,
    /// holding a message of that many KiB).
    fn leave(&self, node: &str, waited: Option<usize>) {
        let mut shares = self.shares.lock().unwrap();
        if let Some(held) = waited {
            shares.waiting.sub(held);
        }
        let Some(share) = shares.by_node.get_mut(node) else { return };
        if let Some(held) = waited {
            share.waiting.sub(held);
        }
        share.users -= 1;
        if share.users == 0 {
            shares.by_node.remove(node);
        }
    }

    /// It no longer waits: it has its place.
    fn placed(&self, node: &str, held: usize) {
        let mut shares = self.shares.lock().unwrap();
        shares.waiting.sub(held);
        if let Some(share) = shares.by_node.get_mut(node) {
            share.waiting.sub(held);
        }
    }
}

/// A call waiting for its place in its node's share (see [`Budget::queue`]).
pub struct Queued {
    budget: Arc<Budget>,
    node: String,
    held: usize,
    msg: usize,
    calls: Arc<Semaphore>,
    kib: Arc<Semaphore>,
    admitted: bool,
}

impl Queued {
    /// Its place, with a reply buffer of `reply` bytes, if one is free now.
    pub fn admit_now(self, reply: usize) -> Result<Admitted, Queued> {
        let cost = cost(self.msg + reply);
        let permits = (|| {
            let call = self.calls.clone().try_acquire_owned().ok()?;
            let kib = self.kib.clone().try_acquire_many_owned(cost).ok()?;
            let all = self.budget.calls.clone().try_acquire_owned().ok()?;
            Some([call, kib, all, self.budget.kib.clone().try_acquire_many_owned(cost).ok()?])
        })();
        match permits {
            Some(permits) => Ok(self.placed(permits)),
            None => Err(self),
        }
    }

    /// Its place, once one is free.
    pub async fn admit(self, reply: usize) -> Admitted {
        let cost = cost(self.msg + reply);
        // The permits are taken in one order everywhere, so waiters never hold each other up.
        // (The future is never dropped before it ends: a waiting call waits its turn.)
        let call = self.calls.clone().acquire_owned().await.expect(NEVER_CLOSED);
        let kib = self.kib.clone().acquire_many_owned(cost).await.expect(NEVER_CLOSED);
        let all = self.budget.calls.clone().acquire_owned().await.expect(NEVER_CLOSED);
        let all_kib = self.budget.kib.clone().acquire_many_owned(cost).await.expect(NEVER_CLOSED);
        self.placed([call, kib, all, all_kib])
    }

    fn placed(mut self, permits: [OwnedSemaphorePermit; 4]) -> Admitted {
        self.budget.placed(&self.node, self.held);
        self.admitted = true;
        Admitted { budget: self.budget.clone(), node: std::mem::take(&mut self.node), _permits: permits }
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        // Admitted: its place leaves the share when it is done.
        if !self.admitted {
            self.budget.leave(&self.node, Some(self.held));
        }
    }
}

/// What `bytes` cost of a node's share, in KiB: never more than all of it.
fn cost(bytes: usize) -> u32 {
    bytes.div_ceil(1024).min(KIB_PER_NODE) as u32
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.budget.leave(&self.node, None);
    }
}
