//! What the nodes may have this gateway do for them at once. Each remote call holds one of
//! our threads until its server answers, with its message and a reply buffer as large as
//! the client asked for, and another node's gateway decides how many calls it sends and
//! how large: so each node gets a share. Past its share a node's calls wait their turn, as
//! they would for a busy server, and past a bound on waiting they fail with `EAGAIN`;
//! whatever one node does, the others' calls, and every node's requests that do not block
//! (unblocks, pulses, news of connections), still get threads.
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
/// Threads left for requests that do not wait for a server.
pub const SPARE_THREADS: usize = 256;
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
}

/// A call's place: held while it is in progress.
pub struct Admitted {
    budget: Arc<Budget>,
    node: String,
    _permits: [OwnedSemaphorePermit; 3],
}

impl Budget {
    pub fn new() -> Arc<Budget> {
        Arc::new(Budget { shares: Mutex::new(Shares::default()), calls: Arc::new(Semaphore::new(CALLS)) })
    }

    /// A place for a call of node `node` with a message of `msg` bytes and a reply buffer
    /// of `reply`, if one is free now.
    pub fn admit_now(self: &Arc<Self>, node: &str, msg: usize, reply: usize) -> Option<Admitted> {
        let (calls, kib) = self.join(node, None).ok()?;
        let permits = (|| {
            let call = calls.try_acquire_owned().ok()?;
            let kib = kib.try_acquire_many_owned(cost(msg + reply)).ok()?;
            Some([call, kib, self.calls.clone().try_acquire_owned().ok()?])
        })();
        match permits {
            Some(p) => Some(Admitted { budget: self.clone(), node: node.to_owned(), _permits: p }),
            None => {
                self.leave(node);
                None
            }
        }
    }

    /// A place for such a call once one is free; `EAGAIN` when too much waits already.
    pub async fn admit(self: &Arc<Self>, node: &str, msg: usize, reply: usize) -> Result<Admitted, i32> {
        let held = msg.div_ceil(1024);
        let (calls, kib) = self.join(node, Some(held))?;
        // The permits are taken in one order everywhere, so waiters never hold each other up.
        // (The future is never dropped before it ends: a waiting call waits its turn.)
        let call = calls.acquire_owned().await.expect(NEVER_CLOSED);
        let kib = kib.acquire_many_owned(cost(msg + reply)).await.expect(NEVER_CLOSED);
        let all = self.calls.clone().acquire_owned().await.expect(NEVER_CLOSED);
        let mut shares = self.shares.lock().unwrap();
        shares.waiting.sub(held);
        if let Some(s) = shares.by_node.get_mut(node) {
            s.waiting.sub(held);
        }
        Ok(Admitted { budget: self.clone(), node: node.to_owned(), _permits: [call, kib, all] })
    }

    /// Node `node`'s share, which one more call now uses; `waits`: it waits, holding a
    /// message of that many KiB.
    fn join(&self, node: &str, waits: Option<usize>) -> Result<(Arc<Semaphore>, Arc<Semaphore>), i32> {
        let mut shares = self.shares.lock().unwrap();
        let all = shares.waiting;
        let share = shares.by_node.entry(node.to_owned()).or_insert_with(|| Share {
            calls: Arc::new(Semaphore::new(CALLS_PER_NODE)),
            kib: Arc::new(Semaphore::new(KIB_PER_NODE)),
            waiting: Waiting::default(),
            users: 0,
        });
        if let Some(kib) = waits {
            if !share.waiting.fits(kib, WAITING_PER_NODE) || !all.fits(kib, WAITING) {
                if share.users == 0 {
                    shares.by_node.remove(node);
                }
                return Err(libc::EAGAIN);
            }
            share.waiting.add(kib);
        }
        share.users += 1;
        let got = (share.calls.clone(), share.kib.clone());
        if let Some(kib) = waits {
            shares.waiting.add(kib);
        }
        Ok(got)
    }

    /// One call of node `node` is done with its share.
    fn leave(&self, node: &str) {
        let mut shares = self.shares.lock().unwrap();
        let Some(share) = shares.by_node.get_mut(node) else { return };
        share.users -= 1;
        if share.users == 0 {
            shares.by_node.remove(node);
        }
    }
}

/// What `bytes` cost of a node's share, in KiB: never more than all of it.
fn cost(bytes: usize) -> u32 {
    bytes.div_ceil(1024).min(KIB_PER_NODE) as u32
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.budget.leave(&self.node);
    }
}
