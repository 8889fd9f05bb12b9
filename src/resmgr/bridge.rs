//! The path bridge: what makes a path given to `resmgr_attach` reachable by open(). Each
//! attached path is a FUSE mount (see `mount`); threads of the resource manager's process
//! read /dev/fuse and turn each request into the QNX messages QNX's C library would send
//! (see `mapping`), which they `MsgSend` on the dispatch channel. The application's own
//! threads receive and answer them, exactly as they would on QNX.
//!
//! Threads follow libfuse's multithreaded model: several read /dev/fuse, each sends its
//! request itself; when none is left idle another starts, up to [`MAX_THREADS`].
//! A FUSE open makes a connection to the channel in the name of the process that opened
//! (`client::attach_as`): `msg_info.pid` and `ConnectClientInfo` name it. A FUSE interrupt
//! (the caller was signalled) unblocks the thread's `MsgSend` as `SIGEV_UNBLOCK` would: the
//! server gets `_PULSE_CODE_UNBLOCK` for the rcvid, and its unblock handler answers.

use super::devctl::linux_to_qnx;
use super::fuse::{self, Attr, AttrOut, EntryOut, InHeader, IoctlIn, IoctlOut, OutHeader, Pod};
use super::mapping::{self, Connect, STAT_REPLY};
use super::mount::{self, Mounted};
use crate::kernel::client;
use crate::kernel::errno::{Errno, KResult};
use crate::kernel::fdbind::{NeutrinoBind, NEUTRINO_IOC_BIND};
use crate::kernel::server::{creds_of, Creds};
use crate::kernel::status::{self, NameShown};
use crate::kernel::thread::Waker;
use crate::transport::copy::Seg;
use crate::transport::lock::{Condvar, Mutex};
use libc::{c_char, c_int, c_uint};
use std::collections::{HashMap, HashSet};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `_RESMGR_FLAG_DIR`.
const RESMGR_FLAG_DIR: c_uint = 0x0100;
/// Bridge threads of one mount, at most; and idle ones kept.
const MAX_THREADS: usize = 64;
const KEEP_IDLE: usize = 2;
/// The largest write the kernel sends (and read we ask for): 32 pages.
const MAX_WRITE: u32 = 128 * 1024;
/// A request buffer: the largest write and its headers.
const BUF: usize = MAX_WRITE as usize + 4096;
/// How long an interrupt whose request no thread has registered yet waits for it before
/// it is answered EAGAIN (the kernel then sends it again, or drops it if the request has
/// been answered meanwhile).
const INTERRUPT_WAIT: Duration = Duration::from_millis(10);
// SAFETY: #[repr(C)] of six 4-byte integers, no padding.
unsafe impl Pod for NeutrinoBind {}

/// How long a binding allowance (`NEUTRINO_IOC_BIND`) stays good.
const BIND_LIFE: Duration = Duration::from_secs(5);
/// Allowances kept per open file: a caller asking in a loop replaces its oldest instead of
/// growing the list every `_IO_DUP` searches.
const BIND_MAX: usize = 8;

/// One attached path.
struct Session {
    chid: i32,
    /// The attachment id, the `handle` of every `_IO_CONNECT`.
    id: u32,
    dir: bool,
    mounted: Mounted,
    /// Written to end every thread's wait.
    stopfd: OwnedFd,
    stop: AtomicBool,
    pool: Mutex<Pool>,
    gone: Condvar,
    nodes: Mutex<Nodes>,
    handles: Mutex<HashMap<u64, Arc<Handle>>>,
    next_fh: AtomicU64,
    inflight: Mutex<Inflight>,
    registered: Condvar,
    /// Requests answered so far.
    answered: AtomicU64,
    /// The path as `pidin names` shows it.
    _shown: NameShown,
    /// Where the resource manager's poll events come back (see [`Poller`]), made on the
    /// first `poll()` of one of its files.
    poller: std::sync::OnceLock<KResult<Poller>>,
}

/// A channel of this process whose pulses, the events a resource manager's
/// `iofunc_notify_trigger()` delivers to a `poll()` the bridge armed, a thread of the bridge
/// turns into the FUSE wake-ups the kernel's poll waits for (the pulse value is its handle).
struct Poller {
    chid: i32,
    coid: i32,
}

/// The poll events' pulse code.
const POLL_CODE: i8 = crate::kernel::abi::_PULSE_CODE_MINAVAIL as i8;

extern "C" {
    fn __libneutrino_notify_msg(
        buf: *mut u8,
        action: c_int,
        conds: c_int,
        coid: c_int,
        code: c_int,
        value: u64,
    ) -> usize;
    fn __libneutrino_notify_reply_flags(buf: *const u8) -> c_uint;
}

const NOTIFY_MSG_MAX: usize = 256;
const NOTIFY_ACTION_POLL: c_int = 2;
const NOTIFY_ACTION_POLLARM: c_int = 3;
const NOTIFY_COND_OBAND: u32 = 0x4000_0000;
const NOTIFY_COND_OUTPUT: u32 = 0x2000_0000;
const NOTIFY_COND_INPUT: u32 = 0x1000_0000;

/// poll(2) events as QNX's notify conditions, and back.
const POLL_CONDS: [(i16, u32); 3] = [
    (libc::POLLIN | libc::POLLRDNORM, NOTIFY_COND_INPUT),
    (libc::POLLOUT | libc::POLLWRNORM, NOTIFY_COND_OUTPUT),
    (libc::POLLPRI | libc::POLLRDBAND, NOTIFY_COND_OBAND),
];

#[derive(Default)]
struct Pool {
    total: usize,
    idle: usize,
}

/// Requests being sent, and interrupts that came before their request was registered.
#[derive(Default)]
struct Inflight {
    running: HashMap<u64, Arc<Waker>>,
    early: HashSet<u64>,
}

/// Node ids and the paths (relative to the attached one) they name.
struct Nodes {
    paths: HashMap<u64, (String, u64)>,
    ids: HashMap<String, u64>,
    next: u64,
}

/// An open file: the connection its open made, where its next sequential read starts, and
/// a number no other open of this process has had (so a client tells a file opened again
/// from the one it replaced, whatever numbers their connections reuse).
struct Handle {
    coid: i32,
    next: Mutex<u64>,
    serial: u32,
}

/// The last [`Handle::serial`] given (0 is never one).
static SERIALS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

fn next_serial() -> u32 {
    loop {
        let s = SERIALS.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        if s != 0 {
            return s;
        }
    }
}

static SESSIONS: Mutex<Vec<Arc<Session>>> = Mutex::new(Vec::new());

/// One-use permissions to share a bridge connection's OCB (`NEUTRINO_IOC_BIND`).
struct Allowance {
    scoid: i32,
    coid: i32,
    pid: libc::pid_t,
    key: u32,
    until: Instant,
}

static ALLOWANCES: Mutex<Vec<Allowance>> = Mutex::new(Vec::new());

/// Makes `path` the attachment `id` of the dispatch channel `chid` (a directory with
/// `_RESMGR_FLAG_DIR` in `flags`, a file otherwise): 0, or -1 with errno.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn __libneutrino_resmgr_mount(
    chid: c_int,
    id: c_int,
    path: *const c_char,
    flags: c_uint,
) -> c_int {
    if path.is_null() || id < 0 {
        return fail(Errno::EINVAL);
    }
    // SAFETY: the caller passes a NUL-terminated path.
    let path = unsafe { std::ffi::CStr::from_ptr(path) };
    let Ok(path) = path.to_str() else {
        return fail(Errno::EINVAL);
    };
    match start(chid, id as u32, path, flags & RESMGR_FLAG_DIR != 0) {
        Ok(()) => 0,
        Err(e) => fail(e),
    }
}

/// Ends the path of attachment `id` of channel `chid`: 0, or -1 with errno.
#[no_mangle]
pub extern "C" fn __libneutrino_resmgr_unmount(chid: c_int, id: c_int) -> c_int {
    let s = {
        let mut all = SESSIONS.lock();
        let Some(i) = all.iter().position(|s| s.chid == chid && s.id == id as u32) else {
            return fail(Errno::EINVAL);
        };
        all.swap_remove(i)
    };
    s.end();
    0
}

/// Whether process `pid` may share the OCB bound to the bridge's connection
/// (`scoid`, `coid`), as the bridge allowed it once with `key`: 1 or 0.
#[no_mangle]
pub extern "C" fn __libneutrino_resmgr_dup_allowed(
    scoid: c_int,
    coid: c_int,
    pid: libc::pid_t,
    key: c_uint,
) -> c_int {
    let now = Instant::now();
    let mut all = ALLOWANCES.lock();
    all.retain(|a| a.until > now);
    match all.iter().position(|a| a.scoid == scoid && a.coid == coid && a.pid == pid && a.key == key) {
        Some(i) => {
            all.remove(i);
            1
        }
        None => 0,
    }
}

fn fail(e: Errno) -> c_int {
    // SAFETY: errno is thread-local.
    unsafe { *libc::__errno_location() = e.0 };
    -1
}

/// fork(): the bridge's tables are held across it. The child has a copy of the parent's
/// sessions but none of its threads, and its channels are new (a chid may come again): it
/// forgets them, and closes its copies of their descriptors, so it neither keeps the
/// parent's mounts nor takes their requests; nor the parent's allowances, which name the
/// parent's connections.
extern "C" fn fork_prepare() {
    std::mem::forget(SESSIONS.lock());
    std::mem::forget(ALLOWANCES.lock());
    super::overmount::fork_prepare();
}

extern "C" fn fork_parent() {
    super::overmount::fork_parent();
    // SAFETY: fork_prepare locked both in this thread.
    unsafe {
        ALLOWANCES.force_unlock();
        SESSIONS.force_unlock();
    }
}

extern "C" fn fork_child() {
    super::overmount::fork_child();
    // SAFETY: fork_prepare locked it; this is the child's only thread. The sessions are
    // kept, never dropped (their descriptors are closed here), where nothing looks.
    unsafe {
        let all = &mut *SESSIONS.data_ptr();
        for s in all.iter() {
            libc::close(s.mounted.fd.as_raw_fd());
            libc::close(s.stopfd.as_raw_fd());
        }
        ABANDONED.lock().append(all);
        SESSIONS.force_unlock();
        (*ALLOWANCES.data_ptr()).clear();
        ALLOWANCES.force_unlock();
    }
}

/// A fork child's copies of its parent's sessions.
static ABANDONED: Mutex<Vec<Arc<Session>>> = Mutex::new(Vec::new());

fn start(chid: i32, id: u32, path: &str, dir: bool) -> KResult<()> {
    crate::kernel::process::current().channel(chid)?;
    static ATFORK: std::sync::Once = std::sync::Once::new();
    // SAFETY: registering plain functions.
    ATFORK.call_once(|| unsafe {
        libc::pthread_atfork(Some(fork_prepare), Some(fork_parent), Some(fork_child));
    });
    if SESSIONS.lock().iter().any(|s| s.chid == chid && s.id == id) {
        return Err(Errno::EBUSY);
    }
    let mounted = mount::mount(path, dir)?;
    // SAFETY: plain syscalls on our own descriptors.
    let stopfd = unsafe {
        let fl = libc::fcntl(mounted.fd.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(mounted.fd.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
        libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK)
    };
    if stopfd < 0 {
        let e = Errno::last();
        mount::unmount(&mounted);
        return Err(e);
    }
    let mut nodes = Nodes { paths: HashMap::new(), ids: HashMap::new(), next: fuse::ROOT_ID + 1 };
    nodes.paths.insert(fuse::ROOT_ID, (String::new(), 1));
    nodes.ids.insert(String::new(), fuse::ROOT_ID);
    let s = Arc::new(Session {
        chid,
        id,
        dir,
        mounted,
        // SAFETY: just made.
        stopfd: unsafe { OwnedFd::from_raw_fd(stopfd) },
        stop: AtomicBool::new(false),
        pool: Mutex::new(Pool::default()),
        gone: Condvar::new(),
        nodes: Mutex::new(nodes),
        handles: Mutex::new(HashMap::new()),
        next_fh: AtomicU64::new(1),
        inflight: Mutex::new(Inflight::default()),
        registered: Condvar::new(),
        answered: AtomicU64::new(0),
        _shown: NameShown::new(status::NAME_PATH, chid, path.as_bytes()),
        poller: std::sync::OnceLock::new(),
    });
    for _ in 0..KEEP_IDLE {
        s.spawn();
    }
    SESSIONS.lock().push(s);
    Ok(())
}

/// A reply: an error, or the bytes after the header.
type Reply = Result<Vec<u8>, Errno>;

fn ok<T: Pod>(v: &T) -> Reply {
    Ok(v.bytes().to_vec())
}

/// Who a FUSE request is from.
#[derive(Clone, Copy)]
struct Who {
    pid: libc::pid_t,
    uid: u32,
    gid: u32,
}

impl Who {
    /// The caller: FUSE names the thread, QNX the process.
    fn of(h: &InHeader) -> Who {
        Who { pid: process_of(h.pid as libc::pid_t), uid: h.uid, gid: h.gid }
    }

    /// The credentials a connection made for it carries: the ids the kernel gave the
    /// request (the caller's fsuid and fsgid) as effective ones, the rest from /proc.
    fn creds(&self) -> Creds {
        let mut c = creds_of(self.pid).unwrap_or_else(|_| Creds {
            uids: [self.uid; 3],
            gids: [self.gid; 3],
            ..Default::default()
        });
        c.uids[1] = self.uid;
        c.gids[1] = self.gid;
        c
    }
}

/// The process thread `tid` belongs to (itself when /proc does not say).
fn process_of(tid: libc::pid_t) -> libc::pid_t {
    std::fs::read_to_string(format!("/proc/{tid}/status"))
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Tgid:")).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(tid)
}

/// A connection made for one request or one open file, detached when dropped.
struct Conn(i32);

impl Conn {
    fn new(s: &Session, who: Who) -> KResult<Conn> {
        Conn::with(s, who.pid, who.creds())
    }

    fn with(s: &Session, pid: libc::pid_t, creds: Creds) -> KResult<Conn> {
        client::attach_as(s.chid, pid, creds).map(Conn)
    }

    fn keep(self) -> i32 {
        let c = self.0;
        std::mem::forget(self);
        c
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let _ = client::detach(self.0);
    }
}

fn seg(b: &[u8]) -> Seg {
    Seg { base: b.as_ptr() as usize, len: b.len() }
}

fn seg_mut(b: &mut [u8]) -> Seg {
    Seg { base: b.as_mut_ptr() as usize, len: b.len() }
}

impl Session {
    fn fd(&self) -> i32 {
        self.mounted.fd.as_raw_fd()
    }

    fn spawn(self: &Arc<Session>) {
        {
            let mut p = self.pool.lock();
            if p.total >= MAX_THREADS {
                return;
            }
            p.total += 1;
            p.idle += 1;
        }
        let s = self.clone();
        let r = std::thread::Builder::new().name("neutrino-fuse".into()).spawn(move || s.run());
        if r.is_err() {
            let mut p = self.pool.lock();
            p.total -= 1;
            p.idle -= 1;
        }
    }

    /// A bridge thread: reads requests and answers them until the mount ends, or until
    /// enough others are idle.
    fn run(self: Arc<Session>) {
        // Signals are the application's threads' business.
        // SAFETY: set is plain data filled by sigfillset; the mask is this thread's.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut set);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        }
        let mut buf = vec![0u8; BUF];
        while let Some(n) = self.next(&mut buf) {
            let spawn = {
                let mut p = self.pool.lock();
                p.idle -= 1;
                p.idle == 0
            };
            if spawn {
                self.spawn();
            }
            self.serve(&buf[..n]);
            self.answered.fetch_add(1, Ordering::Release);
            let mut p = self.pool.lock();
            p.idle += 1;
            if p.idle > KEEP_IDLE {
                break;
            }
        }
        let mut p = self.pool.lock();
        p.idle -= 1;
        p.total -= 1;
        self.gone.notify_all();
    }

    /// The next request, or `None` when the mount has ended.
    fn next(&self, buf: &mut [u8]) -> Option<usize> {
        loop {
            if self.stop.load(Ordering::Acquire) {
                return None;
            }
            // SAFETY: buf is valid for its length.
            let n = unsafe { libc::read(self.fd(), buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
            if n >= std::mem::size_of::<InHeader>() as isize {
                return Some(n as usize);
            }
            match Errno::last().0 {
                // Another thread took it, or it was interrupted before anyone read it.
                libc::EAGAIN | libc::EINTR | libc::ENOENT => {}
                _ if n >= 0 => {}
                // ENODEV: unmounted.
                _ => return None,
            }
            let mut fds = [
                libc::pollfd { fd: self.fd(), events: libc::POLLIN, revents: 0 },
                libc::pollfd { fd: self.stopfd.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            ];
            // SAFETY: fds is valid for the call.
            unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
            if fds[0].revents & (libc::POLLERR | libc::POLLHUP) != 0 {
                return None;
            }
        }
    }

    fn send_reply(&self, unique: u64, r: Reply) {
        let (error, body) = match r {
            Ok(b) => (0, b),
            Err(e) => (-e.0, Vec::new()),
        };
        let h = OutHeader { len: (16 + body.len()) as u32, error, unique };
        let iov = [seg(h.bytes()), seg(&body)];
        // SAFETY: both segments are live buffers (Seg is iovec's layout). A failure means
        // the caller is gone (ENOENT) or the mount is: nothing to do.
        unsafe { libc::writev(self.fd(), iov.as_ptr() as *const libc::iovec, 2) };
    }

    /// Answers one request.
    fn serve(self: &Arc<Session>, req: &[u8]) {
        let h = InHeader::read(req);
        let body =
            req.get(std::mem::size_of::<InHeader>()..req.len().min(h.len as usize)).unwrap_or_default();
        let r = match h.opcode {
            fuse::INIT => self.init(body),
            fuse::FORGET => return self.forget(h.nodeid, u64::read(body)),
            fuse::BATCH_FORGET => {
                // fuse_batch_forget_in (count, dummy), then (nodeid, nlookup) pairs.
                let count = u32::read(body) as usize;
                for pair in body.get(8..).unwrap_or_default().chunks_exact(16).take(count) {
                    self.forget(u64::read(pair), u64::read(&pair[8..]));
                }
                return;
            }
            fuse::INTERRUPT => return self.interrupt(h.unique, fuse::InterruptIn::read(body).unique),
            fuse::LOOKUP => self.lookup(&h, body),
            fuse::GETATTR => self.getattr(&h, fuse::GetattrIn::read(body)),
            fuse::SETATTR => self.setattr(&h, fuse::SetattrIn::read(body)),
            fuse::OPEN | fuse::OPENDIR => self.open(&h, fuse::OpenIn::read(body)),
            fuse::READ => self.read(&h, fuse::ReadIn::read(body)),
            fuse::READDIR => self.readdir(&h, fuse::ReadIn::read(body)),
            fuse::WRITE => self.write(&h, body),
            fuse::RELEASE | fuse::RELEASEDIR => self.release(fuse::ReleaseIn::read(body).fh),
            fuse::FLUSH => Ok(Vec::new()),
            fuse::ACCESS => self.access(&h, fuse::AccessIn::read(body)),
            fuse::FSYNC | fuse::FSYNCDIR => self.fsync(&h, fuse::FsyncIn::read(body)),
            fuse::IOCTL => self.ioctl(&h, body),
            fuse::POLL => self.poll(&h, fuse::PollIn::read(body)),
            fuse::STATFS => {
                ok(&fuse::Kstatfs { bsize: 512, frsize: 512, namelen: 255, ..Default::default() })
            }
            fuse::DESTROY => Ok(Vec::new()),
            _ => Err(Errno::ENOSYS),
        };
        self.send_reply(h.unique, r);
    }

    fn init(&self, body: &[u8]) -> Reply {
        let i = fuse::InitIn::read(body);
        if i.major < fuse::KERNEL_VERSION {
            return Err(Errno::EPROTO);
        }
        let want = fuse::ASYNC_READ | fuse::ATOMIC_O_TRUNC | fuse::BIG_WRITES | fuse::MAX_PAGES;
        ok(&fuse::InitOut {
            major: fuse::KERNEL_VERSION,
            minor: fuse::KERNEL_MINOR_VERSION,
            max_readahead: i.max_readahead,
            flags: i.flags & want,
            max_background: 16,
            congestion_threshold: 12,
            max_write: MAX_WRITE,
            time_gran: 1,
            max_pages: (MAX_WRITE / 4096) as u16,
            ..Default::default()
        })
    }

    /// `MsgSend` for the request `unique`: a FUSE interrupt for it unblocks the call.
    fn call(&self, unique: u64, coid: i32, smsg: &[Seg], rmsg: &[Seg]) -> KResult<i64> {
        let waker = Waker::new();
        {
            let mut f = self.inflight.lock();
            if f.early.remove(&unique) {
                waker.unblock();
                self.registered.notify_all();
            }
            f.running.insert(unique, waker.clone());
        }
        let r = client::send_with(coid, smsg, rmsg, waker.clone());
        self.inflight.lock().running.remove(&unique);
        // Unblocked before the server received it: the caller was interrupted.
        r.map_err(|e| if e == Errno::ETIMEDOUT { Errno::EINTR } else { e })
    }

    /// FUSE_INTERRUPT of request `target`: unblocks its `MsgSend`. One whose request no
    /// thread has registered yet (read by one thread, its interrupt by another) waits a
    /// little for it, then is answered EAGAIN: the kernel sends it again while the request
    /// is pending and drops it once the request is answered.
    fn interrupt(&self, unique: u64, target: u64) {
        let mut f = self.inflight.lock();
        if let Some(w) = f.running.get(&target) {
            w.unblock();
            return;
        }
        f.early.insert(target);
        let until = Instant::now() + INTERRUPT_WAIT;
        while f.early.contains(&target) && !self.registered.wait_until(&mut f, until).timed_out() {}
        if f.early.remove(&target) {
            drop(f);
            self.send_reply(unique, Err(Errno::EAGAIN));
        }
    }

    fn path_of(&self, node: u64) -> KResult<String> {
        self.nodes.lock().paths.get(&node).map(|(p, _)| p.clone()).ok_or(Errno::ENOENT)
    }

    fn forget(&self, node: u64, n: u64) {
        let mut nodes = self.nodes.lock();
        let Some((path, count)) = nodes.paths.get_mut(&node) else { return };
        *count = count.saturating_sub(n);
        if *count == 0 && node != fuse::ROOT_ID {
            let path = path.clone();
            nodes.paths.remove(&node);
            nodes.ids.remove(&path);
        }
    }

    /// A path-based message combined with `io` as QNX's stat(), chmod(), ... send it: an
    /// `_IO_CONNECT_COMBINE_CLOSE` on a new connection of the caller's.
    fn by_path(&self, h: &InHeader, path: &str, io: &[u8], reply: &mut [u8]) -> KResult<i64> {
        let who = Who::of(h);
        self.by_path_as(h, who.pid, who.creds(), path, io, reply)
    }

    /// `by_path` on a connection of process `pid` with `creds`.
    fn by_path_as(
        &self,
        h: &InHeader,
        pid: libc::pid_t,
        creds: Creds,
        path: &str,
        io: &[u8],
        reply: &mut [u8],
    ) -> KResult<i64> {
        let conn = Conn::with(self, pid, creds)?;
        let c = Connect { handle: self.id, path, ioflag: 0, mode: 0, reply_max: reply.len() as u16 };
        let m = mapping::connect(mapping::IO_CONNECT_COMBINE_CLOSE, &c, io);
        self.call(h.unique, conn.0, &[seg(&m)], &[seg_mut(reply)])
    }

    fn stat_path(&self, h: &InHeader, node: u64, path: &str) -> KResult<Attr> {
        let mut st = [0u8; STAT_REPLY];
        self.by_path(h, path, &mapping::stat(), &mut st)?;
        Ok(self.attr(&st, node))
    }

    /// access(2), `test -w` and chdir(): the node's attributes, as stat() gets them (one
    /// message), against the caller's ids and groups. Answering ENOSYS instead would make
    /// the kernel grant every later access() on the mount, fusermount3's check whether a
    /// user may mount over it included.
    fn access(&self, h: &InHeader, a: fuse::AccessIn) -> Reply {
        let path = self.path_of(h.nodeid)?;
        let who = Who::of(h);
        let creds = who.creds();
        let (uid, gid, groups) = (creds.uids[1], creds.gids[1], creds.groups.clone());
        let mut st = [0u8; STAT_REPLY];
        self.by_path_as(h, who.pid, creds, &path, &mapping::stat(), &mut st)?;
        let attr = self.attr(&st, h.nodeid);
        if mapping::permits(&attr, uid, gid, &groups, a.mask) {
            Ok(Vec::new())
        } else {
            Err(Errno::EACCES)
        }
    }

    fn attr(&self, st: &[u8], node: u64) -> Attr {
        let mut a = mapping::attr(st, node);
        // The mount's root keeps the type it was mounted with.
        if node == fuse::ROOT_ID {
            let kind = if self.dir { libc::S_IFDIR } else { libc::S_IFREG };
            a.mode = kind | (a.mode & 0o7777);
        }
        a
    }

    fn lookup(&self, h: &InHeader, body: &[u8]) -> Reply {
        let name = body.split(|&b| b == 0).next().unwrap_or_default();
        let name = std::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
        let path = mapping::child(&self.path_of(h.nodeid)?, name)?;
        let mut attr = self.stat_path(h, 0, &path)?;
        let node = {
            let mut nodes = self.nodes.lock();
            let id = match nodes.ids.get(&path) {
                Some(&id) => id,
                None => {
                    let id = nodes.next;
                    nodes.next += 1;
                    nodes.ids.insert(path.clone(), id);
                    nodes.paths.insert(id, (path, 0));
                    id
                }
            };
            nodes.paths.get_mut(&id).expect("just made").1 += 1;
            id
        };
        attr.ino = if attr.ino == 0 { node } else { attr.ino };
        // TTLs of 0: a device's state is the resource manager's, and may change at any time.
        ok(&EntryOut { nodeid: node, attr, ..Default::default() })
    }

    fn handle(&self, fh: u64) -> KResult<Arc<Handle>> {
        self.handles.lock().get(&fh).cloned().ok_or(Errno::EBADF)
    }

    fn getattr(&self, h: &InHeader, g: fuse::GetattrIn) -> Reply {
        let attr = match self.handle(g.fh) {
            Ok(f) if g.getattr_flags & fuse::GETATTR_FH != 0 => {
                let mut st = [0u8; STAT_REPLY];
                self.call(h.unique, f.coid, &[seg(&mapping::stat())], &[seg_mut(&mut st)])?;
                self.attr(&st, h.nodeid)
            }
            _ => self.stat_path(h, h.nodeid, &self.path_of(h.nodeid)?)?,
        };
        ok(&AttrOut { attr: Attr { ino: attr.ino.max(1), ..attr }, ..Default::default() })
    }

    /// chmod, chown and utimes, on the open file when FUSE names one, else by path.
    fn setattr(&self, h: &InHeader, a: fuse::SetattrIn) -> Reply {
        // truncate(): QNX's is `_IO_SPACE` with F_FREESP, which our headers do not name.
        if a.valid & fuse::FATTR_SIZE != 0 {
            return Err(Errno::EINVAL);
        }
        let file = if a.valid & fuse::FATTR_FH != 0 { self.handle(a.fh).ok() } else { None };
        let path = self.path_of(h.nodeid)?;
        let send = |io: &[u8]| -> KResult<i64> {
            match &file {
                Some(f) => self.call(h.unique, f.coid, &[seg(io)], &[]),
                None => self.by_path(h, &path, io, &mut []),
            }
        };
        if a.valid & fuse::FATTR_MODE != 0 {
            send(&mapping::chmod(a.mode & 0o7777))?;
        }
        if a.valid & (fuse::FATTR_UID | fuse::FATTR_GID) != 0 {
            let uid = if a.valid & fuse::FATTR_UID != 0 { a.uid as i32 } else { -1 };
            let gid = if a.valid & fuse::FATTR_GID != 0 { a.gid as i32 } else { -1 };
            send(&mapping::chown(uid, gid))?;
        }
        let times = fuse::FATTR_ATIME | fuse::FATTR_MTIME;
        if a.valid & times != 0 {
            let now = fuse::FATTR_ATIME_NOW | fuse::FATTR_MTIME_NOW;
            let msg = if a.valid & now == now {
                mapping::utime(None)
            } else {
                // QNX's utime sets both: the one not given keeps its value.
                let cur = self.stat_path(h, h.nodeid, &path)?;
                let now_s = || {
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs()) as i64
                };
                let pick = |set: u32, now_bit: u32, given: u64, old: u64| match () {
                    _ if a.valid & now_bit != 0 => now_s(),
                    _ if a.valid & set != 0 => given as i64,
                    _ => old as i64,
                };
                mapping::utime(Some((
                    pick(fuse::FATTR_ATIME, fuse::FATTR_ATIME_NOW, a.atime, cur.atime),
                    pick(fuse::FATTR_MTIME, fuse::FATTR_MTIME_NOW, a.mtime, cur.mtime),
                )))
            };
            send(&msg)?;
        }
        self.getattr(
            h,
            fuse::GetattrIn {
                getattr_flags: if file.is_some() { fuse::GETATTR_FH } else { 0 },
                fh: a.fh,
                ..Default::default()
            },
        )
    }

    fn open(&self, h: &InHeader, o: fuse::OpenIn) -> Reply {
        let path = self.path_of(h.nodeid)?;
        let conn = Conn::new(self, Who::of(h))?;
        let c =
            Connect { handle: self.id, path: &path, ioflag: mapping::ioflag(o.flags), mode: 0, reply_max: 0 };
        let m = mapping::connect(mapping::IO_CONNECT_OPEN, &c, &[]);
        self.call(h.unique, conn.0, &[seg(&m)], &[])?;
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        self.handles
            .lock()
            .insert(fh, Arc::new(Handle { coid: conn.keep(), next: Mutex::new(0), serial: next_serial() }));
        // direct_io: every read reaches the resource manager, whatever size it reports.
        let open_flags = if h.opcode == fuse::OPEN { fuse::FOPEN_DIRECT_IO } else { 0 };
        ok(&fuse::OpenOut { fh, open_flags, padding: 0 })
    }

    fn release(&self, fh: u64) -> Reply {
        let f = self.handles.lock().remove(&fh).ok_or(Errno::EBADF)?;
        // Not interruptible: the caller has gone on.
        let _ = client::send_with(f.coid, &[seg(&mapping::close())], &[], Waker::new());
        self.end_binding(f.coid);
        let _ = client::detach(f.coid);
        Ok(Vec::new())
    }

    /// Allowances made for a connection that ends go with it.
    fn end_binding(&self, coid: i32) {
        ALLOWANCES.lock().retain(|a| a.coid != coid);
    }

    fn read(&self, h: &InHeader, r: fuse::ReadIn) -> Reply {
        let f = self.handle(r.fh)?;
        let mut next = f.next.lock();
        // A read where the last one ended is QNX's read(), at the OCB's offset; any other
        // (after lseek(), or pread()) names its offset.
        let at = (r.offset != *next).then_some(r.offset);
        let mut data = vec![0u8; r.size.min(MAX_WRITE) as usize];
        let n = self.call(
            h.unique,
            f.coid,
            &[seg(&mapping::read(data.len() as u32, at))],
            &[seg_mut(&mut data)],
        )?;
        let n = (n.max(0) as usize).min(data.len());
        data.truncate(n);
        // As the OCB's offset: moved by a read at it, not by one that names its own.
        if at.is_none() {
            *next += n as u64;
        }
        Ok(data)
    }

    fn write(&self, h: &InHeader, body: &[u8]) -> Reply {
        let w = fuse::ReadIn::read(body);
        let data = &body[std::mem::size_of::<fuse::ReadIn>().min(body.len())..];
        let data = &data[..(w.size as usize).min(data.len())];
        let f = self.handle(w.fh)?;
        let mut next = f.next.lock();
        let at = (w.offset != *next).then_some(w.offset);
        let hdr = mapping::write(data.len() as u32, at);
        let n = self.call(h.unique, f.coid, &[seg(&hdr), seg(data)], &[])?;
        let n = (n.max(0) as u32).min(data.len() as u32);
        if at.is_none() {
            *next += n as u64;
        }
        ok(&fuse::WriteOut { size: n, padding: 0 })
    }

    fn readdir(&self, h: &InHeader, r: fuse::ReadIn) -> Reply {
        let f = self.handle(r.fh)?;
        let mut next = f.next.lock();
        // Offsets are entry counts: anywhere else than where the last read ended (a
        // rewinddir(), or entries that did not fit) is an lseek() first.
        if r.offset != *next {
            self.call(h.unique, f.coid, &[seg(&mapping::lseek_set(r.offset))], &[])?;
        }
        let room = r.size as usize;
        let mut data = vec![0u8; room];
        let n =
            self.call(h.unique, f.coid, &[seg(&mapping::read(room as u32, None))], &[seg_mut(&mut data)])?;
        let n = (n.max(0) as usize).min(room);
        let mut out = Vec::with_capacity(room);
        let mut off = r.offset;
        let entries = mapping::dirents(&data[..n]);
        for e in &entries {
            if !mapping::push_dirent(&mut out, room, e, off + 1) {
                break;
            }
            off += 1;
        }
        *next = off;
        if off - r.offset < entries.len() as u64 {
            // The server's offset went past what we return: the next read seeks back.
            *next = u64::MAX;
        }
        Ok(out)
    }

    fn fsync(&self, h: &InHeader, s: fuse::FsyncIn) -> Reply {
        let f = self.handle(s.fh)?;
        let msg = mapping::sync(s.fsync_flags & fuse::FSYNC_FDATASYNC != 0);
        self.call(h.unique, f.coid, &[seg(&msg)], &[])?;
        Ok(Vec::new())
    }

    /// ioctl() is `_IO_DEVCTL` with the direction bits swapped; the kernel gives us what
    /// the command's size and direction say (a restricted FUSE ioctl), nothing more.
    /// `poll()`/`select()` of an open file: `_IO_NOTIFY` to the resource manager, armed with
    /// a pulse to our [`Poller`] when the kernel will wait. A resource manager without an
    /// io_notify handler answers ENOSYS, and the kernel then takes its files as always
    /// ready, as for any FUSE file system that does not poll.
    fn poll(self: &Arc<Session>, h: &InHeader, p: fuse::PollIn) -> Reply {
        let f = self.handle(p.fh)?;
        let events =
            if p.events == 0 { (libc::POLLIN | libc::POLLOUT | libc::POLLPRI) as u32 } else { p.events };
        let conds = POLL_CONDS.iter().filter(|(e, _)| events & *e as u32 != 0).fold(0, |c, (_, q)| c | q);
        let arm = p.flags & fuse::POLL_SCHEDULE_NOTIFY != 0;
        let coid = if arm { self.poller()? } else { 0 };
        let mut msg = [0u8; NOTIFY_MSG_MAX];
        let action = if arm { NOTIFY_ACTION_POLLARM } else { NOTIFY_ACTION_POLL };
        // SAFETY: msg holds NOTIFY_MSG_MAX bytes, as the C side asserts it needs.
        let n = unsafe {
            __libneutrino_notify_msg(msg.as_mut_ptr(), action, conds as c_int, coid, POLL_CODE as c_int, p.kh)
        };
        let mut reply = [0u8; NOTIFY_MSG_MAX];
        self.call(h.unique, f.coid, &[seg(&msg[..n])], &[seg_mut(&mut reply)])?;
        // SAFETY: reply is an io_notify_t's room, filled (or zeroed) by the call.
        let holds = unsafe { __libneutrino_notify_reply_flags(reply.as_ptr()) };
        let revents = POLL_CONDS.iter().filter(|(_, q)| holds & q != 0).fold(0u32, |r, (e, _)| r | *e as u32);
        ok(&fuse::PollOut { revents: revents & events, padding: 0 })
    }

    /// The coid our poll events are pulses on, its channel and thread made on first use.
    fn poller(self: &Arc<Session>) -> KResult<i32> {
        let made = self.poller.get_or_init(|| {
            use crate::capi::neutrino::{ChannelCreate, ChannelDestroy, ConnectAttach};
            let chid = ChannelCreate(0);
            if chid == -1 {
                return Err(Errno::last());
            }
            let coid = ConnectAttach(0, 0, chid, crate::kernel::abi::_NTO_SIDE_CHANNEL, 0);
            let s = self.clone();
            let spawned = coid != -1
                && std::thread::Builder::new()
                    .name("neutrino-fuse-poll".into())
                    .spawn(move || s.wake_polls(chid))
                    .is_ok();
            if !spawned {
                let e = Errno::last();
                ChannelDestroy(chid);
                return Err(e);
            }
            Ok(Poller { chid, coid })
        });
        made.as_ref().map(|p| p.coid).map_err(|e| *e)
    }

    /// The [`Poller`]'s thread: each pulse is a wake-up of the kernel's poll handle it
    /// carries, until the channel is destroyed at the end of the mount.
    fn wake_polls(&self, chid: i32) {
        // SAFETY: set is plain data filled by sigfillset; the mask is this thread's.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut set);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        }
        let mut pulse = [0u8; 32];
        loop {
            // SAFETY: pulse has room for a struct _pulse.
            let r = unsafe {
                crate::capi::neutrino::MsgReceivePulse(
                    chid,
                    pulse.as_mut_ptr() as *mut libc::c_void,
                    pulse.len(),
                    std::ptr::null_mut(),
                )
            };
            if r == -1 {
                if Errno::last() == Errno::EINTR {
                    continue;
                }
                return; // the channel is gone: the mount has ended
            }
            // struct _pulse: type, subtype (u16 each), code (i8) at 4, value at 8.
            if pulse[4] as i8 != POLL_CODE || self.stop.load(Ordering::Acquire) {
                continue;
            }
            let kh = u64::read(&pulse[8..16]);
            let h = OutHeader { len: 24, error: fuse::NOTIFY_POLL, unique: 0 };
            let w = fuse::PollWakeup { kh };
            let iov = [seg(h.bytes()), seg(w.bytes())];
            // SAFETY: both segments are live buffers (Seg is iovec's layout). A failure means
            // the poll is over or the mount is: nothing to do.
            unsafe { libc::writev(self.fd(), iov.as_ptr() as *const libc::iovec, 2) };
        }
    }

    fn ioctl(&self, h: &InHeader, body: &[u8]) -> Reply {
        let i = IoctlIn::read(body);
        if i.flags & fuse::IOCTL_UNRESTRICTED != 0 {
            return Err(Errno::ENOSYS);
        }
        let f = self.handle(i.fh)?;
        if i.cmd == NEUTRINO_IOC_BIND {
            return self.bind(h, &f, i.out_size);
        }
        let input = &body[std::mem::size_of::<IoctlIn>().min(body.len())..];
        let input = &input[..(i.in_size as usize).min(input.len())];
        let nbytes = i.in_size.max(i.out_size);
        let hdr = mapping::devctl(linux_to_qnx(i.cmd), nbytes);
        let mut rhdr = [0u8; mapping::DEVCTL_REPLY];
        let mut out = vec![0u8; i.out_size as usize];
        self.call(h.unique, f.coid, &[seg(&hdr), seg(input)], &[seg_mut(&mut rhdr), seg_mut(&mut out)])?;
        let (ret, _) = mapping::devctl_reply(&rhdr);
        let mut r = IoctlOut { result: ret, ..Default::default() }.bytes().to_vec();
        r.extend_from_slice(&out);
        Ok(r)
    }

    /// `NEUTRINO_IOC_BIND`: tells the caller how to reach this open file's OCB by message,
    /// and lets it, once, within [`BIND_LIFE`].
    fn bind(&self, h: &InHeader, f: &Handle, out_size: u32) -> Reply {
        if (out_size as usize) < std::mem::size_of::<NeutrinoBind>() {
            return Err(Errno::EINVAL);
        }
        // Only the caller's process may redeem it (its pid is the kernel's, in both FUSE's
        // request and the `_IO_DUP`'s msg_info). FUSE names no pid for a caller outside our
        // pid namespace, where every such process would look the same: refused.
        let pid = process_of(h.pid as libc::pid_t);
        if pid <= 0 {
            return Err(Errno::EPERM);
        }
        let scoid = client::scoid_of(f.coid)?;
        let mut key = 0u32;
        while key == 0 {
            // SAFETY: key is valid for 4 bytes.
            unsafe { libc::getrandom(&mut key as *mut u32 as *mut libc::c_void, 4, 0) };
        }
        let now = Instant::now();
        let mut all = ALLOWANCES.lock();
        all.retain(|a| a.until > now);
        if all.iter().filter(|a| a.coid == f.coid).count() >= BIND_MAX {
            let oldest = all.iter().position(|a| a.coid == f.coid).expect("counted");
            all.remove(oldest);
        }
        all.push(Allowance { scoid, coid: f.coid, pid, key, until: now + BIND_LIFE });
        drop(all);
        let mut r = IoctlOut::default().bytes().to_vec();
        let answer = NeutrinoBind {
            // SAFETY: plain syscall.
            pid: unsafe { libc::getpid() },
            chid: self.chid,
            scoid,
            coid: f.coid,
            key,
            open: f.serial,
        };
        r.extend_from_slice(answer.bytes());
        Ok(r)
    }

    /// Unmounts, stops the threads, and closes what the mount's files still hold open.
    fn end(self: Arc<Session>) {
        self.stop.store(true, Ordering::Release);
        // Answers already given (a handler that replied, then detached, as a "quit" does)
        // reach their callers before the abort fails what is pending: while threads are
        // busy and some finished in the last 10 ms, wait (200 ms at most). Those left are
        // blocked on the server, maybe on the very thread that detaches.
        let until = Instant::now() + Duration::from_millis(200);
        let mut seen = self.answered.load(Ordering::Acquire);
        let mut quiet = 0;
        while Instant::now() < until && quiet < 10 {
            let busy = {
                let p = self.pool.lock();
                p.total - p.idle
            };
            if busy == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
            let now = self.answered.load(Ordering::Acquire);
            quiet = if now == seen { quiet + 1 } else { 0 };
            seen = now;
        }
        mount::unmount(&self.mounted);
        if let Some(Ok(p)) = self.poller.get() {
            crate::capi::neutrino::ChannelDestroy(p.chid); // ends the poll thread
        }
        // SAFETY: an eventfd write of 8 bytes.
        unsafe { libc::write(self.stopfd.as_raw_fd(), &1u64 as *const u64 as *const libc::c_void, 8) };
        for w in self.inflight.lock().running.values() {
            w.unblock();
        }
        // Threads waiting on a server that is the caller itself cannot finish: don't wait
        // for them long.
        let until = Instant::now() + Duration::from_millis(500);
        let mut p = self.pool.lock();
        while p.total > 0 && !self.gone.wait_until(&mut p, until).timed_out() {}
        drop(p);
        let handles: Vec<_> = self.handles.lock().drain().map(|(_, f)| f).collect();
        for f in handles {
            self.end_binding(f.coid);
            let _ = client::detach(f.coid);
        }
    }
}
