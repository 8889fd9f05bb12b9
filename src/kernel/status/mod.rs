//! What `pidin` shows of a process: the state of each thread inside our calls, its
//! connections, server connections, channels and names, kept in a memfd named
//! [`MEMFD_NAME`] that the process holds open.
//!
//! No daemon and no request: `pidin` finds the memfd among `/proc/<pid>/fd` and reads it,
//! which Linux allows exactly to those who may inspect the process (its own user, root),
//! and which works whatever the process is doing: stopped, wedged in a handler, or busy.
//! The process only ever writes plain stores into its own memory, a few per blocking call;
//! readers copy the file and trust nothing in it (a process may write anything there).
//!
//! SEND or REPLY: a client thread records which slot of which server connection carries
//! its message; the server records, per connection, the slots it has received and not yet
//! replied to. `pidin` puts the two together.

pub mod procfs;
pub mod view;

use super::errno::{Errno, KResult};
use super::process::{self, Process};
use crate::transport::fdreg::Tracked;
use crate::transport::lock::Mutex;
use crate::transport::shm::Region;
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

/// The memfd's name, as `/proc/<pid>/fd` shows it (`/memfd:neutrino-status (deleted)`).
pub const MEMFD_NAME: &str = "neutrino-status";
pub const MAGIC: u32 = 0x4E54_5331; // "NTS1"

pub const THREADS: usize = 1024;
/// One per scoid index: every server connection a process can have. Only the pages of the
/// records in use take memory.
pub const CONNS: usize = super::ids::LIMIT;
pub const COIDS: usize = 4096;
pub const CHANNELS: usize = 256;
pub const NAMES: usize = 64;
pub const NAME_BYTES: usize = 116;

/// Thread states ([`ThreadRec::state`]).
pub const ST_NONE: u32 = 0;
/// In `MsgReceive*` on channel `a`.
pub const ST_RECEIVE: u32 = 1;
/// In `MsgSend*` to process `a` on coid `b`, message in slot `c & 0xFF` of server
/// connection index `c >> 8` (slot [`NO_SLOT`]: waiting for a free slot, SEND-blocked).
pub const ST_MESSAGE: u32 = 2;
pub const NO_SLOT: u32 = 0xFF;

/// Kinds of [`NameRec`].
pub const NAME_LOCAL: u32 = 1;
pub const NAME_PATH: u32 = 2;

#[repr(C)]
#[derive(Default)]
pub struct Header {
    pub magic: AtomicU32,
    pub pid: AtomicU32,
    pub threads: AtomicU32,
    pub conns: AtomicU32,
    pub coids: AtomicU32,
    pub channels: AtomicU32,
    pub names: AtomicU32,
    /// Coids, channels or names that found no free record.
    pub untold: AtomicU32,
}

/// One thread. `seq` is odd while its thread changes `state`..`c`.
#[repr(C)]
#[derive(Default)]
pub struct ThreadRec {
    /// 0: a free record.
    pub tid: AtomicU32,
    pub seq: AtomicU32,
    pub state: AtomicU32,
    pub a: AtomicU32,
    pub b: AtomicU32,
    pub c: AtomicU32,
}

/// A server connection, by the index of its scoid.
#[repr(C)]
#[derive(Default)]
pub struct ConnRec {
    /// The scoid + 1; 0: none.
    pub scoid: AtomicU32,
    pub chid: AtomicU32,
    /// The client process.
    pub pid: AtomicU32,
    /// The slots received and not yet replied to, one bit each.
    pub held: AtomicU32,
}

/// A coid of this process.
#[repr(C)]
#[derive(Default)]
pub struct CoidRec {
    /// The coid + 1; 0: a free record.
    pub coid: AtomicU32,
    pub pid: AtomicU32,
    pub chid: AtomicU32,
    pub scoid: AtomicU32,
}

#[repr(C)]
#[derive(Default)]
pub struct ChannelRec {
    /// 0: a free record.
    pub chid: AtomicU32,
    pub flags: AtomicU32,
    /// Pulses queued in the channel (not those still in their senders' rings).
    pub pulses: AtomicU32,
    pub _pad: AtomicU32,
}

/// A name (`name_attach`) or a resource manager's path.
#[repr(C)]
pub struct NameRec {
    /// 0: a free record.
    pub kind: AtomicU32,
    pub chid: AtomicU32,
    pub len: AtomicU32,
    pub bytes: [AtomicU32; NAME_BYTES / 4],
}

#[repr(C)]
pub struct Layout {
    pub header: Header,
    pub threads: [ThreadRec; THREADS],
    pub conns: [ConnRec; CONNS],
    pub coids: [CoidRec; COIDS],
    pub channels: [ChannelRec; CHANNELS],
    pub names: [NameRec; NAMES],
}

pub const LEN: usize = std::mem::size_of::<Layout>();

impl NameRec {
    /// The name's bytes (at most [`NAME_BYTES`]).
    pub fn text(&self) -> Vec<u8> {
        let n = (self.len.load(Ordering::Relaxed) as usize).min(NAME_BYTES);
        let words: Vec<u8> =
            self.bytes.iter().flat_map(|w| w.load(Ordering::Relaxed).to_ne_bytes()).collect();
        words[..n].to_vec()
    }
}

/// The calling process's published status.
pub struct Status {
    region: Region,
    _fd: Tracked,
    /// Which thread records are taken (the shared copy is only informative).
    threads: Mutex<Vec<bool>>,
    /// Where each coid and channel is recorded.
    coids: Mutex<HashMap<i32, usize>>,
    channels: Mutex<HashMap<i32, usize>>,
    /// Taken while a name record is chosen.
    names: Mutex<()>,
}

impl Status {
    pub fn new() -> KResult<Status> {
        let (region, fd) = Region::create(MEMFD_NAME, LEN)?;
        let s = Status {
            region,
            _fd: Tracked::new(fd),
            threads: Mutex::new(vec![false; THREADS]),
            coids: Mutex::new(HashMap::new()),
            channels: Mutex::new(HashMap::new()),
            names: Mutex::new(()),
        };
        let h = &s.layout().header;
        // SAFETY: plain syscall.
        h.pid.store(unsafe { libc::getpid() } as u32, Ordering::Relaxed);
        for (field, n) in [
            (&h.threads, THREADS),
            (&h.conns, CONNS),
            (&h.coids, COIDS),
            (&h.channels, CHANNELS),
            (&h.names, NAMES),
        ] {
            field.store(n as u32, Ordering::Relaxed);
        }
        h.magic.store(MAGIC, Ordering::Release);
        Ok(s)
    }

    pub fn layout(&self) -> &Layout {
        // SAFETY: the region is LEN bytes of zero-initialised shared memory, mapped for the
        // life of `self`, and a Layout is atomics only (any bit pattern is valid).
        unsafe { &*(self.region.as_ptr() as *const Layout) }
    }

    fn untold(&self) {
        self.layout().header.untold.fetch_add(1, Ordering::Relaxed);
    }

    /// Coid `coid` names channel `chid` of process `pid` through server connection `scoid`.
    pub fn coid_set(&self, coid: i32, pid: libc::pid_t, chid: i32, scoid: i32) {
        let mut map = self.coids.lock();
        let recs = &self.layout().coids;
        let free =
            map.get(&coid).copied().or_else(|| recs.iter().position(|r| r.coid.load(Ordering::Relaxed) == 0));
        let Some(i) = free else { return self.untold() };
        let r = &recs[i];
        r.pid.store(pid as u32, Ordering::Relaxed);
        r.chid.store(chid as u32, Ordering::Relaxed);
        r.scoid.store(scoid as u32, Ordering::Relaxed);
        r.coid.store(coid as u32 + 1, Ordering::Release);
        map.insert(coid, i);
    }

    pub fn coid_clear(&self, coid: i32) {
        if let Some(i) = self.coids.lock().remove(&coid) {
            self.layout().coids[i].coid.store(0, Ordering::Release);
        }
    }

    /// Server connection `scoid` (its index `index`) from process `pid` to channel `chid`.
    pub fn conn_set(&self, index: usize, scoid: i32, chid: i32, pid: libc::pid_t) {
        let Some(r) = self.layout().conns.get(index) else { return };
        r.held.store(0, Ordering::Relaxed);
        r.chid.store(chid as u32, Ordering::Relaxed);
        r.pid.store(pid as u32, Ordering::Relaxed);
        r.scoid.store(scoid as u32 + 1, Ordering::Release);
    }

    pub fn conn_clear(&self, index: usize) {
        if let Some(r) = self.layout().conns.get(index) {
            r.scoid.store(0, Ordering::Release);
            r.held.store(0, Ordering::Relaxed);
        }
    }

    /// Slot `s` of server connection `index` is received and not yet replied to (`held`).
    pub fn held(&self, index: usize, s: usize, held: bool) {
        if let Some(r) = self.layout().conns.get(index) {
            if held {
                r.held.fetch_or(1 << s, Ordering::Relaxed);
            } else {
                r.held.fetch_and(!(1 << s), Ordering::Relaxed);
            }
        }
    }

    /// Channel `chid` was created with `flags`; returns its record, if one was free.
    pub fn channel_set(&self, chid: i32, flags: u32) -> Option<usize> {
        let mut map = self.channels.lock();
        let recs = &self.layout().channels;
        let Some(i) = recs.iter().position(|r| r.chid.load(Ordering::Relaxed) == 0) else {
            self.untold();
            return None;
        };
        recs[i].flags.store(flags, Ordering::Relaxed);
        recs[i].pulses.store(0, Ordering::Relaxed);
        recs[i].chid.store(chid as u32, Ordering::Release);
        map.insert(chid, i);
        Some(i)
    }

    pub fn channel_clear(&self, chid: i32) {
        if let Some(i) = self.channels.lock().remove(&chid) {
            self.layout().channels[i].chid.store(0, Ordering::Release);
        }
    }

    /// The channel recorded at `rec` has `n` pulses queued.
    pub fn channel_pulses(&self, rec: Option<usize>, n: usize) {
        if let Some(r) = rec.and_then(|i| self.layout().channels.get(i)) {
            r.pulses.store(n.min(u32::MAX as usize) as u32, Ordering::Relaxed);
        }
    }

    /// Records name `text` of kind `kind` served on `chid`; returns its record to clear.
    pub fn name_set(&self, kind: u32, chid: i32, text: &[u8]) -> Option<usize> {
        let _serial = self.names.lock();
        let recs = &self.layout().names;
        let Some(i) = recs.iter().position(|r| r.kind.load(Ordering::Relaxed) == 0) else {
            self.untold();
            return None;
        };
        let r = &recs[i];
        let text = &text[..text.len().min(NAME_BYTES)];
        for (w, chunk) in r.bytes.iter().zip(text.chunks(4)) {
            let mut b = [0u8; 4];
            b[..chunk.len()].copy_from_slice(chunk);
            w.store(u32::from_ne_bytes(b), Ordering::Relaxed);
        }
        r.len.store(text.len() as u32, Ordering::Relaxed);
        r.chid.store(chid as u32, Ordering::Relaxed);
        r.kind.store(kind, Ordering::Release);
        Some(i)
    }

    pub fn name_clear(&self, rec: Option<usize>) {
        if let Some(r) = rec.and_then(|i| self.layout().names.get(i)) {
            r.kind.store(0, Ordering::Release);
        }
    }

    fn take_thread(&self, tid: i32) -> Option<usize> {
        let mut taken = self.threads.lock();
        let i = taken.iter().position(|t| !t)?;
        taken[i] = true;
        let r = &self.layout().threads[i];
        r.state.store(ST_NONE, Ordering::Relaxed);
        r.tid.store(tid as u32, Ordering::Release);
        Some(i)
    }

    fn give_thread(&self, i: usize) {
        self.layout().threads[i].tid.store(0, Ordering::Release);
        self.threads.lock()[i] = false;
    }
}

/// The calling thread's record: the process it belongs to and its index (`usize::MAX`:
/// none free). Another process's (the parent's, in a fork child) is never written.
struct Mine {
    process: Cell<*const Process>,
    index: Cell<usize>,
}

impl Drop for Mine {
    fn drop(&mut self) {
        let p = self.process.get();
        if self.index.get() == usize::MAX || p.is_null() {
            return;
        }
        // SAFETY: Process values are leaked, never freed.
        let p = unsafe { &*p };
        if process::is_current(p) {
            if let Some(s) = &p.status {
                let _ = FAST.try_with(|f| f.set((std::ptr::null(), std::ptr::null())));
                s.give_thread(self.index.get());
            }
        }
    }
}

thread_local! {
    static MINE: Mine = const { Mine { process: Cell::new(std::ptr::null()), index: Cell::new(usize::MAX) } };
    /// `MINE`'s process and record again, for the calls: a thread-local without a
    /// destructor costs one load, not a registration check.
    static FAST: Cell<(*const Process, *const ThreadRec)> = const { Cell::new((std::ptr::null(), std::ptr::null())) };
}

/// The calling thread's record, taken on first use (`None`: none was free).
fn mine() -> Option<&'static ThreadRec> {
    let p: &'static Process = process::current();
    let (cached, rec) = FAST.get();
    if std::ptr::eq(cached, p) {
        // SAFETY: a record of a process's status, which lives as long as the (leaked) process.
        return unsafe { rec.as_ref() };
    }
    let i = MINE
        .try_with(|m| {
            if !std::ptr::eq(m.process.get(), p) {
                m.process.set(p);
                let taken = p.status.as_ref().and_then(|s| s.take_thread(super::thread::tid()));
                m.index.set(taken.unwrap_or(usize::MAX));
            }
            m.index.get()
        })
        .ok()?;
    let rec = p.status.as_ref().and_then(|s| s.layout().threads.get(i));
    FAST.set((p, rec.map_or(std::ptr::null(), |r| r as *const ThreadRec)));
    rec
}

/// The calling thread is in one of our blocking calls until this is dropped.
pub struct InCall(Option<&'static ThreadRec>);

impl InCall {
    fn enter(state: u32, a: u32, b: u32, c: u32) -> InCall {
        let r = mine();
        if let Some(r) = r {
            let seq = r.seq.load(Ordering::Relaxed);
            r.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
            std::sync::atomic::fence(Ordering::Release);
            r.a.store(a, Ordering::Relaxed);
            r.b.store(b, Ordering::Relaxed);
            r.c.store(c, Ordering::Relaxed);
            r.state.store(state, Ordering::Relaxed);
            r.seq.store(seq.wrapping_add(2), Ordering::Release);
        }
        InCall(r)
    }

    /// The message is in slot `s` of server connection `scoid`.
    pub fn posted(&self, scoid: i32, s: usize) {
        if let Some(r) = self.0 {
            r.c.store(((scoid as u32 & 0xFFFF) << 8) | s as u32, Ordering::Release);
        }
    }
}

impl Drop for InCall {
    fn drop(&mut self) {
        if let Some(r) = self.0 {
            r.state.store(ST_NONE, Ordering::Release);
        }
    }
}

/// The calling thread is in `MsgReceive*` on `chid`.
pub fn receiving(chid: i32) -> InCall {
    InCall::enter(ST_RECEIVE, chid as u32, 0, 0)
}

/// The calling thread is in `MsgSend*` to `pid` on `coid`; [`InCall::posted`] says where
/// its message went.
pub fn sending(pid: libc::pid_t, coid: i32) -> InCall {
    InCall::enter(ST_MESSAGE, pid as u32, coid as u32, NO_SLOT)
}

/// Runs `f` on the calling process's status, if it has one.
pub fn with<R>(f: impl FnOnce(&Status) -> R) -> Option<R> {
    process::current().status.as_ref().map(f)
}

/// A name recorded for as long as this lives.
pub struct NameShown(Option<usize>);

impl NameShown {
    pub fn new(kind: u32, chid: i32, text: &[u8]) -> NameShown {
        NameShown(with(|s| s.name_set(kind, chid, text)).flatten())
    }
}

impl Drop for NameShown {
    fn drop(&mut self) {
        with(|s| s.name_clear(self.0));
    }
}

/// A copy of another process's status, read from `fd` (its memfd through `/proc`).
pub struct Snapshot(Vec<u32>);

impl Snapshot {
    /// Reads the status at `fd`; `None` if it is not one (wrong size, magic or pid).
    pub fn read(fd: std::os::fd::RawFd, pid: libc::pid_t) -> KResult<Option<Snapshot>> {
        let mut words = vec![0u32; LEN / 4];
        // SAFETY: `words` is LEN writable bytes.
        let got = unsafe { libc::pread(fd, words.as_mut_ptr() as *mut libc::c_void, LEN, 0) };
        if got < 0 {
            return Err(Errno::last());
        }
        let snap = Snapshot(words);
        let h = &snap.layout().header;
        let ok = got as usize == LEN
            && h.magic.load(Ordering::Relaxed) == MAGIC
            && h.pid.load(Ordering::Relaxed) == pid as u32
            && h.threads.load(Ordering::Relaxed) == THREADS as u32
            && h.conns.load(Ordering::Relaxed) == CONNS as u32
            && h.coids.load(Ordering::Relaxed) == COIDS as u32
            && h.channels.load(Ordering::Relaxed) == CHANNELS as u32
            && h.names.load(Ordering::Relaxed) == NAMES as u32;
        Ok(ok.then_some(snap))
    }

    pub fn layout(&self) -> &Layout {
        // SAFETY: LEN bytes aligned for u32, the alignment of a Layout, which is atomics
        // only (any bit pattern is valid); borrowed for as long as `self`.
        unsafe { &*(self.0.as_ptr() as *const Layout) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_has_no_padding_a_reader_could_misplace() {
        assert_eq!(std::mem::size_of::<ThreadRec>(), 24);
        assert_eq!(std::mem::size_of::<NameRec>(), 12 + NAME_BYTES);
        assert_eq!(LEN % 4, 0);
    }

    #[test]
    fn a_name_reads_back_cut_to_its_room() {
        let s = Status::new().unwrap();
        let long = vec![b'x'; NAME_BYTES + 9];
        let i = s.name_set(NAME_PATH, 3, &long);
        let r = &s.layout().names[i.unwrap()];
        assert_eq!(r.text(), vec![b'x'; NAME_BYTES]);
        let j = s.name_set(NAME_LOCAL, 4, b"abcde").unwrap();
        assert_eq!(s.layout().names[j].text(), b"abcde");
        s.name_clear(i);
        assert_eq!(s.layout().names[i.unwrap()].kind.load(Ordering::Relaxed), 0);
    }
}
