//! A lock-free view of the coid table for the calls a signal handler may make
//! (`MsgSendPulse`): no lock that the interrupted thread may hold, no allocation.
//!
//! Writers (attach and detach, under the coid table's lock) set and clear entries; a
//! reader announces itself in the counter of the current epoch, and a writer that cleared
//! an entry moves to the next epoch and waits until the readers of the previous one have
//! left, so no reader is still using a connection when the table drops it. Readers never
//! wait for anything.

use super::client::Conn;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// Entries per chunk, and chunks per kind: coids up to `CHUNK * CHUNKS` (side-channel
/// index or descriptor number) are indexed; a larger one (a descriptor limit raised past
/// a million) is looked up under the table's lock.
const CHUNK: usize = 1024;
const CHUNKS: usize = 1024;
pub const CAPACITY: usize = CHUNK * CHUNKS;

type Chunk = [AtomicPtr<Conn>; CHUNK];

/// One kind of coid (side channels, descriptors), indexed by its number.
struct Dir {
    chunks: Box<[AtomicPtr<Chunk>]>,
}

impl Dir {
    fn new() -> Dir {
        Dir { chunks: (0..CHUNKS).map(|_| AtomicPtr::new(std::ptr::null_mut())).collect() }
    }

    fn entry(&self, n: usize) -> Option<&AtomicPtr<Conn>> {
        let chunk = self.chunks.get(n / CHUNK)?.load(Ordering::Acquire);
        // SAFETY: a published chunk is never freed before the Dir.
        unsafe { chunk.as_ref() }.map(|c| &c[n % CHUNK])
    }

    /// The entry for `n`, its chunk made on first use (writers only).
    fn entry_mut(&self, n: usize) -> Option<&AtomicPtr<Conn>> {
        let slot = self.chunks.get(n / CHUNK)?;
        if slot.load(Ordering::Acquire).is_null() {
            let fresh: Box<Chunk> = Box::new(std::array::from_fn(|_| AtomicPtr::new(std::ptr::null_mut())));
            slot.store(Box::into_raw(fresh), Ordering::Release);
        }
        self.entry(n)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        for c in self.chunks.iter() {
            let p = c.load(Ordering::Relaxed);
            if !p.is_null() {
                // SAFETY: made by Box::into_raw in entry_mut, and no reader is left.
                drop(unsafe { Box::from_raw(p) });
            }
        }
    }
}

pub struct CoidIndex {
    side: Dir,
    fds: Dir,
    epoch: AtomicUsize,
    readers: [AtomicUsize; 2],
}

/// Where coid `coid` lives: side channel or descriptor, and its number.
fn place(coid: i32) -> Option<(bool, usize)> {
    let side = super::abi::_NTO_SIDE_CHANNEL;
    (coid >= 0).then_some((coid as u32 & side != 0, (coid as u32 & !side) as usize))
}

impl CoidIndex {
    pub fn new() -> CoidIndex {
        CoidIndex {
            side: Dir::new(),
            fds: Dir::new(),
            epoch: AtomicUsize::new(0),
            readers: Default::default(),
        }
    }

    fn dir(&self, side: bool) -> &Dir {
        if side {
            &self.side
        } else {
            &self.fds
        }
    }

    /// Whether `coid` is beyond what the index holds.
    pub fn beyond(coid: i32) -> bool {
        place(coid).is_some_and(|(_, n)| n >= CAPACITY)
    }

    /// Records `coid` naming `conn`, which the caller's table keeps alive until `clear`.
    pub fn set(&self, coid: i32, conn: &Conn) {
        if let Some(e) = place(coid).and_then(|(side, n)| self.dir(side).entry_mut(n)) {
            e.store(conn as *const Conn as *mut Conn, Ordering::SeqCst);
        }
    }

    /// Forgets `coid`; on return no reader still uses the connection it named.
    pub fn clear(&self, coid: i32) {
        let Some(e) = place(coid).and_then(|(side, n)| self.dir(side).entry(n)) else { return };
        if e.swap(std::ptr::null_mut(), Ordering::SeqCst).is_null() {
            return;
        }
        let old = self.epoch.fetch_add(1, Ordering::SeqCst);
        while self.readers[old % 2].load(Ordering::SeqCst) != 0 {
            std::hint::spin_loop();
            std::thread::yield_now();
        }
    }

    /// Runs `f` on the connection `coid` names (`None`: no such coid), with no lock.
    pub fn with<R>(&self, coid: i32, f: impl FnOnce(&Conn) -> R) -> Option<R> {
        let (side, n) = place(coid)?;
        let e = loop {
            let e = self.epoch.load(Ordering::SeqCst);
            self.readers[e % 2].fetch_add(1, Ordering::SeqCst);
            if self.epoch.load(Ordering::SeqCst) == e {
                break e;
            }
            self.readers[e % 2].fetch_sub(1, Ordering::SeqCst);
        };
        let conn = self.dir(side).entry(n).map(|p| p.load(Ordering::SeqCst)).unwrap_or(std::ptr::null_mut());
        // SAFETY: a connection in the index lives until `clear` has waited for this reader.
        let r = unsafe { conn.as_ref() }.map(f);
        self.readers[e % 2].fetch_sub(1, Ordering::SeqCst);
        r
    }
}

impl Default for CoidIndex {
    fn default() -> Self {
        CoidIndex::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn place_splits_side_channels_from_descriptors() {
        let side = crate::kernel::abi::_NTO_SIDE_CHANNEL as i32;
        assert_eq!(place(-1), None);
        assert_eq!(place(5), Some((false, 5)));
        assert_eq!(place(side | 7), Some((true, 7)));
        assert!(CoidIndex::beyond(CAPACITY as i32));
        assert!(!CoidIndex::beyond(side | (CAPACITY as i32 - 1)));
    }

    #[test]
    fn unknown_coids_name_nothing() {
        let index = CoidIndex::new();
        assert_eq!(index.with(3, |_| ()), None);
        assert_eq!(index.with(-7, |_| ()), None);
        index.clear(3);
        assert_eq!(index.with(CAPACITY as i32 + 1, |_| ()), None);
    }
}
